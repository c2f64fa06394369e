/**
 * ISAKMP codec: header, generic payload chain, and each payload body (RFC 2408 §3, RFC 2407 §4.6,
 * RFC 3947). `parse*` never throws; `emit*` writes exactly `*Length` bytes.
 */
import { err, ok, type Result } from '../../base/index.js';
import { DOI_IPSEC, PayloadType } from './constants.js';
import type {
  DeletePayload,
  IdPayload,
  IkePayload,
  IkeWireError,
  IsakmpHeader,
  IsakmpMessage,
  NatOaPayload,
  NotifyPayload,
  Proposal,
  RawPayload,
  SaAttribute,
  SaPayload,
  Transform,
} from './types.js';

/*
 * RFC 2408 §3.1 ISAKMP Header
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                          Initiator Cookie (8)                 !
 * !                          Responder Cookie (8)                 !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !  Next Payload ! MjVer ! MnVer ! Exchange Type !     Flags     !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                          Message ID                           !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                            Length                             !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

/** Size of the fixed ISAKMP header. */
export const ISAKMP_HEADER_LENGTH = 28;
/** Size of the RFC 2408 §3.2 generic payload header. */
export const GENERIC_HEADER_LENGTH = 4;

const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
const trunc = (where: string, need: number, have: number): { ok: false; error: IkeWireError } =>
  err({ kind: 'truncated', where, need, have });
const bad = (payloadType: number, detail: string): { ok: false; error: IkeWireError } =>
  err({ kind: 'bad-payload', payloadType, detail });

/** Parse the fixed header; checks major version 1 and that `length` fits in `buf`. */
export function parseIsakmpHeader(buf: Uint8Array): Result<IsakmpHeader, IkeWireError> {
  if (buf.length < ISAKMP_HEADER_LENGTH) return trunc('header', ISAKMP_HEADER_LENGTH, buf.length);
  const v = dv(buf);
  const version = v.getUint8(17);
  // RFC 2408 §5.2: a major version above ours is INVALID-MAJOR-VERSION.
  if (version >> 4 !== 1) return err({ kind: 'bad-version', version });
  const length = v.getUint32(24);
  if (length < ISAKMP_HEADER_LENGTH) return err({ kind: 'bad-length', where: 'header', detail: `length ${length} < 28` });
  if (length > buf.length) return trunc('message', length, buf.length);
  return ok({
    icookie: buf.slice(0, 8),
    rcookie: buf.slice(8, 16),
    nextPayload: v.getUint8(16),
    version,
    exchangeType: v.getUint8(18),
    flags: v.getUint8(19),
    messageId: v.getUint32(20),
    length,
  });
}

/** Write the 28-byte header at `off`. */
export function emitIsakmpHeader(h: IsakmpHeader, buf: Uint8Array, off = 0): number {
  buf.set(h.icookie.subarray(0, 8), off);
  buf.set(h.rcookie.subarray(0, 8), off + 8);
  const v = dv(buf);
  v.setUint8(off + 16, h.nextPayload);
  v.setUint8(off + 17, h.version);
  v.setUint8(off + 18, h.exchangeType);
  v.setUint8(off + 19, h.flags);
  v.setUint32(off + 20, h.messageId >>> 0);
  v.setUint32(off + 24, h.length >>> 0);
  return ISAKMP_HEADER_LENGTH;
}

/*
 * RFC 2408 §3.2 Generic Payload Header
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

/**
 * Walk a payload chain starting with type `first` in `buf[start, end)`. Stops at Next Payload 0;
 * bytes after the last payload are allowed (encryption padding, RFC 2409 §5.3) and reported as `end`.
 */
export function parsePayloadChain(
  first: number,
  buf: Uint8Array,
  start = 0,
  end = buf.length,
): Result<{ readonly payloads: readonly RawPayload[]; readonly end: number }, IkeWireError> {
  const out: RawPayload[] = [];
  let type = first;
  let off = start;
  while (type !== PayloadType.NONE) {
    if (end - off < GENERIC_HEADER_LENGTH) return trunc('generic-header', GENERIC_HEADER_LENGTH, end - off);
    const next = buf[off] ?? 0;
    const len = ((buf[off + 2] ?? 0) << 8) | (buf[off + 3] ?? 0);
    if (len < GENERIC_HEADER_LENGTH) return err({ kind: 'bad-length', where: `payload ${type}`, detail: `length ${len} < 4` });
    if (len > end - off) return trunc(`payload ${type}`, len, end - off);
    out.push({ type, body: buf.subarray(off + GENERIC_HEADER_LENGTH, off + len), offset: off });
    off += len;
    type = next;
    if (out.length > 256) return err({ kind: 'bad-length', where: 'chain', detail: 'more than 256 payloads' });
  }
  return ok({ payloads: out, end: off });
}

/*
 * RFC 2408 §3.3 Data Attributes
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !A!       Attribute Type        !    AF=0  Attribute Length     !
 * !F!                             !    AF=1  Attribute Value      !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * .                   AF=0  Attribute Value                       .
 */

function parseAttributes(b: Uint8Array): Result<SaAttribute[], IkeWireError> {
  const out: SaAttribute[] = [];
  let off = 0;
  while (off < b.length) {
    if (b.length - off < 4) return trunc('attribute', 4, b.length - off);
    const t = ((b[off] ?? 0) << 8) | (b[off + 1] ?? 0);
    const lv = ((b[off + 2] ?? 0) << 8) | (b[off + 3] ?? 0);
    if (t & 0x8000) {
      out.push({ type: t & 0x7fff, tv: true, value: lv });
      off += 4;
    } else {
      if (b.length - off - 4 < lv) return trunc('attribute value', lv, b.length - off - 4);
      out.push({ type: t, tv: false, value: b.slice(off + 4, off + 4 + lv) });
      off += 4 + lv;
    }
  }
  return ok(out);
}

const attributeLength = (a: SaAttribute): number => (a.tv ? 4 : 4 + a.value.length);

function emitAttribute(a: SaAttribute, buf: Uint8Array, off: number): number {
  const v = dv(buf);
  if (a.tv) {
    v.setUint16(off, 0x8000 | (a.type & 0x7fff));
    v.setUint16(off + 2, a.value & 0xffff);
    return 4;
  }
  v.setUint16(off, a.type & 0x7fff);
  v.setUint16(off + 2, a.value.length);
  buf.set(a.value, off + 4);
  return 4 + a.value.length;
}

/**
 * A bare attribute list (RFC 2408 §3.3), as carried in notification data — e.g. RFC 2407 §4.6.3.1
 * RESPONDER-LIFETIME's "ISAKMP attribute list with the responder's actual SA lifetime(s)".
 */
export function encodeAttributes(list: readonly SaAttribute[]): Uint8Array {
  const out = new Uint8Array(list.reduce((n, a) => n + attributeLength(a), 0));
  let off = 0;
  for (const a of list) off += emitAttribute(a, out, off);
  return out;
}

/** Parse a bare attribute list (the inverse of {@link encodeAttributes}); never throws. */
export function decodeAttributes(b: Uint8Array): Result<SaAttribute[], IkeWireError> {
  return parseAttributes(b);
}

/** Build a basic attribute: TV when the value fits 16 bits, else a 4-byte TLV (RFC 2408 §3.3). */
export function attr(type: number, value: number): SaAttribute {
  if (value >= 0 && value < 0x10000) return { type, tv: true, value };
  const b = new Uint8Array(4);
  dv(b).setUint32(0, value >>> 0);
  return { type, tv: false, value: b };
}

/** Numeric value of an attribute (TV, or a TLV of at most 6 bytes); undefined if longer. */
export function attrValue(a: SaAttribute): number | undefined {
  if (a.tv) return a.value;
  if (a.value.length === 0 || a.value.length > 6) return undefined;
  let n = 0;
  for (const x of a.value) n = n * 256 + x;
  return n;
}

/*
 * RFC 2408 §3.6 Transform Payload
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * !  Transform #  !  Transform-Id !           RESERVED2           !
 * ~                        SA Attributes                          ~
 */

function parseTransform(b: Uint8Array): Result<Transform, IkeWireError> {
  if (b.length < 4) return trunc('transform', 4, b.length);
  const a = parseAttributes(b.subarray(4));
  if (!a.ok) return a;
  return ok({ number: b[0] ?? 0, id: b[1] ?? 0, attributes: a.value });
}

const transformLength = (t: Transform): number =>
  GENERIC_HEADER_LENGTH + 4 + t.attributes.reduce((s, a) => s + attributeLength(a), 0);

/*
 * RFC 2408 §3.5 Proposal Payload
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * !  Proposal #   !  Protocol-Id  !    SPI Size   !# of Transforms!
 * ~                        SPI (variable)                         ~
 */

function parseProposal(b: Uint8Array): Result<Proposal, IkeWireError> {
  if (b.length < 4) return trunc('proposal', 4, b.length);
  const spiSize = b[2] ?? 0;
  const count = b[3] ?? 0;
  if (b.length < 4 + spiSize) return trunc('proposal spi', 4 + spiSize, b.length);
  const chain = parsePayloadChain(count > 0 ? PayloadType.T : PayloadType.NONE, b, 4 + spiSize);
  if (!chain.ok) return chain;
  if (chain.value.end !== b.length) return bad(PayloadType.P, 'bytes after last transform');
  if (chain.value.payloads.length !== count) return bad(PayloadType.P, `# of transforms ${count} but found ${chain.value.payloads.length}`);
  const transforms: Transform[] = [];
  for (const raw of chain.value.payloads) {
    if (raw.type !== PayloadType.T && raw.type !== PayloadType.NONE) return bad(PayloadType.P, `non-transform payload ${raw.type}`);
    const t = parseTransform(raw.body);
    if (!t.ok) return t;
    transforms.push(t.value);
  }
  return ok({ number: b[0] ?? 0, protocolId: b[1] ?? 0, spi: b.slice(4, 4 + spiSize), transforms });
}

const proposalLength = (p: Proposal): number =>
  GENERIC_HEADER_LENGTH + 4 + p.spi.length + p.transforms.reduce((s, t) => s + transformLength(t), 0);

/*
 * RFC 2408 §3.4 + RFC 2407 §4.6.1 Security Association Payload
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * !              Domain of Interpretation  (IPSEC = 1)            !
 * !                  Situation (4 bytes for the IPsec DOI)        !
 * ~                   Proposal payloads                           ~
 */

function parseSa(b: Uint8Array): Result<SaPayload, IkeWireError> {
  if (b.length < 8) return trunc('sa', 8, b.length);
  const v = dv(b);
  const doi = v.getUint32(0);
  if (doi !== DOI_IPSEC) return err({ kind: 'unsupported-doi', doi });
  const situation = v.getUint32(4);
  const chain = parsePayloadChain(b.length > 8 ? PayloadType.P : PayloadType.NONE, b, 8);
  if (!chain.ok) return chain;
  if (chain.value.end !== b.length) return bad(PayloadType.SA, 'bytes after last proposal');
  const proposals: Proposal[] = [];
  for (const raw of chain.value.payloads) {
    if (raw.type !== PayloadType.P) return bad(PayloadType.SA, `non-proposal payload ${raw.type}`);
    const p = parseProposal(raw.body);
    if (!p.ok) return p;
    proposals.push(p.value);
  }
  return ok({ kind: 'sa', doi, situation, proposals });
}

/*
 * RFC 2407 §4.6.2 Identification Payload (IPsec DOI)
 * ! Next Payload  !   RESERVED    !        Payload Length         !
 * !   ID Type     !  Protocol ID  !             Port              !
 * ~                     Identification Data                       ~
 *
 * RFC 3947 §5.2 NAT-OA Payload
 * ! Next Payload  !   RESERVED    !        Payload Length         !
 * !   ID Type     !   RESERVED    !            RESERVED           !
 * ~           IPv4 (4 octets) or IPv6 address (16 octets)         ~
 *
 * RFC 2408 §3.14 Notification Payload
 * !              Domain of Interpretation  (DOI)                  !
 * !  Protocol-ID  !   SPI Size    !      Notify Message Type      !
 * ~                Security Parameter Index (SPI)                 ~
 * ~                       Notification Data                       ~
 *
 * RFC 2408 §3.15 Delete Payload
 * !              Domain of Interpretation  (DOI)                  !
 * !  Protocol-Id  !   SPI Size    !           # of SPIs           !
 * ~               Security Parameter Index(es) (SPI)              ~
 */

function parseBody(type: number, b: Uint8Array): Result<IkePayload, IkeWireError> {
  switch (type) {
    case PayloadType.SA:
      return parseSa(b);
    case PayloadType.KE:
      return ok({ kind: 'ke', data: b.slice() });
    case PayloadType.ID: {
      if (b.length < 4) return trunc('id', 4, b.length);
      const id: IdPayload = { kind: 'id', idType: b[0] ?? 0, protocolId: b[1] ?? 0, port: dv(b).getUint16(2), data: b.slice(4) };
      return ok(id);
    }
    case PayloadType.HASH:
      return ok({ kind: 'hash', data: b.slice() });
    case PayloadType.SIG:
      return ok({ kind: 'sig', data: b.slice() });
    case PayloadType.NONCE:
      return ok({ kind: 'nonce', data: b.slice() });
    case PayloadType.N: {
      if (b.length < 8) return trunc('notify', 8, b.length);
      const spiSize = b[5] ?? 0;
      if (b.length < 8 + spiSize) return trunc('notify spi', 8 + spiSize, b.length);
      const v = dv(b);
      const n: NotifyPayload = {
        kind: 'n',
        doi: v.getUint32(0),
        protocolId: b[4] ?? 0,
        notifyType: v.getUint16(6),
        spi: b.slice(8, 8 + spiSize),
        data: b.slice(8 + spiSize),
      };
      return ok(n);
    }
    case PayloadType.D: {
      if (b.length < 8) return trunc('delete', 8, b.length);
      const v = dv(b);
      const spiSize = b[5] ?? 0;
      const count = v.getUint16(6);
      if (b.length !== 8 + spiSize * count) return err({ kind: 'bad-length', where: 'delete', detail: `${count} SPIs of ${spiSize} in ${b.length - 8} bytes` });
      const spis: Uint8Array[] = [];
      for (let i = 0; i < count; i++) spis.push(b.slice(8 + i * spiSize, 8 + (i + 1) * spiSize));
      const d: DeletePayload = { kind: 'd', doi: v.getUint32(0), protocolId: b[4] ?? 0, spiSize, spis };
      return ok(d);
    }
    case PayloadType.VID:
      return ok({ kind: 'vid', data: b.slice() });
    case PayloadType.NAT_D:
    case PayloadType.NAT_D_DRAFT:
      return ok({ kind: 'nat-d', type: type === PayloadType.NAT_D ? 20 : 130, data: b.slice() });
    case PayloadType.NAT_OA:
    case PayloadType.NAT_OA_DRAFT: {
      if (b.length < 4) return trunc('nat-oa', 4, b.length);
      const oa: NatOaPayload = { kind: 'nat-oa', type: type === PayloadType.NAT_OA ? 21 : 131, idType: b[0] ?? 0, address: b.slice(4) };
      return ok(oa);
    }
    default:
      return ok({ kind: 'raw', type, data: b.slice() });
  }
}

/** Decode one payload body found by `parsePayloadChain`. */
export function decodePayload(raw: RawPayload): Result<IkePayload, IkeWireError> {
  return parseBody(raw.type, raw.body);
}

/** The Next Payload number of a payload value. */
export function payloadTypeOf(p: IkePayload): number {
  switch (p.kind) {
    case 'sa': return PayloadType.SA;
    case 'ke': return PayloadType.KE;
    case 'id': return PayloadType.ID;
    case 'hash': return PayloadType.HASH;
    case 'sig': return PayloadType.SIG;
    case 'nonce': return PayloadType.NONCE;
    case 'n': return PayloadType.N;
    case 'd': return PayloadType.D;
    case 'vid': return PayloadType.VID;
    case 'nat-d': return p.type;
    case 'nat-oa': return p.type;
    case 'raw': return p.type;
  }
}

/** Body length (without the generic header) of a payload value. */
function bodyLength(p: IkePayload): number {
  switch (p.kind) {
    case 'sa': return 8 + p.proposals.reduce((s, x) => s + proposalLength(x), 0);
    case 'id': return 4 + p.data.length;
    case 'n': return 8 + p.spi.length + p.data.length;
    case 'd': return 8 + p.spis.reduce((s, x) => s + x.length, 0);
    case 'nat-oa': return 4 + p.address.length;
    case 'ke': case 'hash': case 'sig': case 'nonce': case 'vid': case 'nat-d': case 'raw': return p.data.length;
  }
}

/** Length of a payload including its generic header. */
export function payloadLength(p: IkePayload): number {
  return GENERIC_HEADER_LENGTH + bodyLength(p);
}

function emitGeneric(next: number, len: number, buf: Uint8Array, off: number): void {
  buf[off] = next;
  buf[off + 1] = 0;
  buf[off + 2] = (len >> 8) & 0xff;
  buf[off + 3] = len & 0xff;
}

function emitSaBody(p: SaPayload, buf: Uint8Array, off: number): void {
  const v = dv(buf);
  v.setUint32(off, p.doi >>> 0);
  v.setUint32(off + 4, p.situation >>> 0);
  let o = off + 8;
  p.proposals.forEach((pr, i) => {
    const plen = proposalLength(pr);
    emitGeneric(i === p.proposals.length - 1 ? PayloadType.NONE : PayloadType.P, plen, buf, o);
    buf[o + 4] = pr.number;
    buf[o + 5] = pr.protocolId;
    buf[o + 6] = pr.spi.length;
    buf[o + 7] = pr.transforms.length;
    buf.set(pr.spi, o + 8);
    let t = o + 8 + pr.spi.length;
    pr.transforms.forEach((tr, j) => {
      const tlen = transformLength(tr);
      emitGeneric(j === pr.transforms.length - 1 ? PayloadType.NONE : PayloadType.T, tlen, buf, t);
      buf[t + 4] = tr.number;
      buf[t + 5] = tr.id;
      buf[t + 6] = 0;
      buf[t + 7] = 0;
      let a = t + 8;
      for (const at of tr.attributes) a += emitAttribute(at, buf, a);
      t += tlen;
    });
    o += plen;
  });
}

/** Write one payload (generic header with `next`, then body) at `off`; returns bytes written. */
export function emitPayload(p: IkePayload, next: number, buf: Uint8Array, off: number): number {
  const len = payloadLength(p);
  emitGeneric(next, len, buf, off);
  const b = off + GENERIC_HEADER_LENGTH;
  const v = dv(buf);
  switch (p.kind) {
    case 'sa':
      emitSaBody(p, buf, b);
      break;
    case 'id':
      buf[b] = p.idType;
      buf[b + 1] = p.protocolId;
      v.setUint16(b + 2, p.port);
      buf.set(p.data, b + 4);
      break;
    case 'n':
      v.setUint32(b, p.doi >>> 0);
      buf[b + 4] = p.protocolId;
      buf[b + 5] = p.spi.length;
      v.setUint16(b + 6, p.notifyType);
      buf.set(p.spi, b + 8);
      buf.set(p.data, b + 8 + p.spi.length);
      break;
    case 'd': {
      v.setUint32(b, p.doi >>> 0);
      buf[b + 4] = p.protocolId;
      buf[b + 5] = p.spiSize;
      v.setUint16(b + 6, p.spis.length);
      let o = b + 8;
      for (const s of p.spis) {
        buf.set(s, o);
        o += s.length;
      }
      break;
    }
    case 'nat-oa':
      buf[b] = p.idType;
      buf[b + 1] = 0;
      buf[b + 2] = 0;
      buf[b + 3] = 0;
      buf.set(p.address, b + 4);
      break;
    case 'ke': case 'hash': case 'sig': case 'nonce': case 'vid': case 'nat-d': case 'raw':
      buf.set(p.data, b);
      break;
  }
  return len;
}

/** Total length of a payload chain. */
export function payloadChainLength(ps: readonly IkePayload[]): number {
  return ps.reduce((s, p) => s + payloadLength(p), 0);
}

/** Write a payload chain (Next Payload fields linked, last = 0); returns bytes written. */
export function emitPayloadChain(ps: readonly IkePayload[], buf: Uint8Array, off = 0): number {
  let o = off;
  ps.forEach((p, i) => {
    const nx = ps[i + 1];
    o += emitPayload(p, nx === undefined ? PayloadType.NONE : payloadTypeOf(nx), buf, o);
  });
  return o - off;
}

/** Encode a payload chain into a fresh buffer. */
export function encodePayloadChain(ps: readonly IkePayload[]): Uint8Array {
  const out = new Uint8Array(payloadChainLength(ps));
  emitPayloadChain(ps, out, 0);
  return out;
}

/** Parse and decode a whole payload chain. */
export function parsePayloads(
  first: number,
  buf: Uint8Array,
): Result<{ readonly payloads: readonly IkePayload[]; readonly raws: readonly RawPayload[] }, IkeWireError> {
  const chain = parsePayloadChain(first, buf);
  if (!chain.ok) return chain;
  const payloads: IkePayload[] = [];
  for (const raw of chain.value.payloads) {
    const p = decodePayload(raw);
    if (!p.ok) return p;
    payloads.push(p.value);
  }
  return ok({ payloads, raws: chain.value.payloads });
}

/** Fields of a header that the encoder fills itself are omitted here. */
export type HeaderFields = Omit<IsakmpHeader, 'nextPayload' | 'length' | 'version'> & { readonly version?: number };

/** Length of an unencrypted message. */
export function isakmpMessageLength(ps: readonly IkePayload[]): number {
  return ISAKMP_HEADER_LENGTH + payloadChainLength(ps);
}

/** Encode an unencrypted message (header length and next payload filled in). */
export function encodeIsakmp(h: HeaderFields, ps: readonly IkePayload[]): Uint8Array {
  const len = isakmpMessageLength(ps);
  const out = new Uint8Array(len);
  emitIsakmp(h, ps, out, 0);
  return out;
}

/** Write an unencrypted message at `off`; writes exactly `isakmpMessageLength(ps)` bytes. */
export function emitIsakmp(h: HeaderFields, ps: readonly IkePayload[], buf: Uint8Array, off = 0): number {
  const first = ps[0];
  const len = isakmpMessageLength(ps);
  emitIsakmpHeader(
    { ...h, version: h.version ?? 0x10, nextPayload: first === undefined ? 0 : payloadTypeOf(first), length: len },
    buf,
    off,
  );
  emitPayloadChain(ps, buf, off + ISAKMP_HEADER_LENGTH);
  return len;
}

/** Parse a message; encrypted bodies (E flag) are returned undecoded for the IKE core to decrypt. */
export function parseIsakmp(buf: Uint8Array): Result<IsakmpMessage, IkeWireError> {
  const h = parseIsakmpHeader(buf);
  if (!h.ok) return h;
  const header = h.value;
  const body = buf.subarray(ISAKMP_HEADER_LENGTH, header.length);
  if (header.flags & 0x01) return ok({ header, encrypted: true, body });
  const p = parsePayloads(header.nextPayload, body);
  if (!p.ok) return p;
  return ok({ header, encrypted: false, payloads: p.value.payloads, raws: p.value.raws });
}
