/**
 * RADIUS packets and attribute lists, the raw level (RFC 2865 §3, §5, §5.26): a bounds-checked
 * parse into a typed readonly value and a symmetric `radiusPacketLength` / `emitRadiusPacket`.
 * Values stay as on the wire here (tagged, encrypted); `attributes.ts` gives them types.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Code      |  Identifier   |            Length             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * |                         Authenticator                         |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Attributes ...  Type(1) Length(1) Value(Length-2)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-
 *
 * Vendor-Specific (§5.26), in the recommended layout that every vendor we know uses:
 * | Type=26 | Length | Vendor-Id (4) | Vendor-Type | Vendor-Length | Value ...
 * A VSA may carry several sub-attributes; each becomes one `RadiusAttribute` with `vendor` set. A
 * VSA whose payload does not split into sub-attributes exactly is kept whole as IETF type 26.
 */
import { err, ok, type Result } from '../../base/index.js';
import {
  ATTR_VENDOR_SPECIFIC,
  RADIUS_AUTHENTICATOR_LENGTH,
  RADIUS_HEADER_LENGTH,
  RADIUS_MAX_PACKET_LENGTH,
  RADIUS_MAX_VALUE_LENGTH,
  RADIUS_MAX_VSA_VALUE_LENGTH,
  type RadiusCode,
} from './constants.js';
import { truncated, type RadiusWireError } from './errors.js';

/** One attribute as on the wire (value still tagged / encrypted). */
export interface RadiusAttribute {
  /** Attribute Type (vendor 0), or the Vendor-Type of a Vendor-Specific sub-attribute. */
  readonly type: number;
  /** 0 for IETF attributes; else the vendor's SMI Private Enterprise Code (§5.26). */
  readonly vendor: number;
  /** The value octets (a copy, never a view of the datagram). */
  readonly value: Uint8Array;
}

/** A whole RADIUS packet. */
export interface RadiusPacket {
  readonly code: RadiusCode;
  readonly identifier: number;
  /** Request or Response Authenticator (16 octets). */
  readonly authenticator: Uint8Array;
  /** Attributes in wire order (order matters for Reply-Message, Proxy-State, EAP-Message, §5). */
  readonly attributes: readonly RadiusAttribute[];
}

/** Octets one attribute takes on the wire (a vendor attribute gets its own Vendor-Specific wrapper). */
export function attributeWireLength(a: RadiusAttribute): number {
  return a.vendor === 0 ? 2 + a.value.length : 8 + a.value.length;
}

/** Octets `emitRadiusPacket` writes for `p`. */
export function radiusPacketLength(p: RadiusPacket): number {
  let n = RADIUS_HEADER_LENGTH;
  for (const a of p.attributes) n += attributeWireLength(a);
  return n;
}

/**
 * The reason `p` cannot be emitted (a value over 253 / 247 octets, a packet over 4096 octets, a
 * field out of range), or undefined when it can. Encoders call this before `emitRadiusPacket`.
 */
export function checkRadiusPacket(p: RadiusPacket): RadiusWireError | undefined {
  if (!isByte(p.code) || !isByte(p.identifier)) return { kind: 'bad-value', attribute: 'header', detail: 'code and identifier are octets' };
  if (p.authenticator.length !== RADIUS_AUTHENTICATOR_LENGTH) return { kind: 'bad-length', what: 'authenticator', length: p.authenticator.length };
  for (const a of p.attributes) {
    if (!isByte(a.type) || !Number.isInteger(a.vendor) || a.vendor < 0 || a.vendor > 0xffffffff) {
      return { kind: 'bad-attribute', type: a.type, vendor: a.vendor, detail: 'type is an octet, vendor a 32-bit number' };
    }
    const max = a.vendor === 0 ? RADIUS_MAX_VALUE_LENGTH : RADIUS_MAX_VSA_VALUE_LENGTH;
    if (a.value.length > max) return { kind: 'too-long', what: `attribute ${a.vendor}:${a.type}`, length: a.value.length, max };
  }
  const n = radiusPacketLength(p);
  if (n > RADIUS_MAX_PACKET_LENGTH) return { kind: 'too-long', what: 'packet', length: n, max: RADIUS_MAX_PACKET_LENGTH };
  return undefined;
}

/** A fresh copy of `b[start, end)` (a Buffer's `slice` is a view, so never use it for this). */
export const copyOf = (b: Uint8Array, start: number, end: number): Uint8Array => new Uint8Array(b.subarray(start, end));

const isByte = (x: number): boolean => Number.isInteger(x) && x >= 0 && x <= 0xff;

/** Write one attribute at `out[at]`; returns the offset after it. */
export function emitAttribute(a: RadiusAttribute, out: Uint8Array, at: number): number {
  const v = a.value;
  if (a.vendor === 0) {
    if (v.length > RADIUS_MAX_VALUE_LENGTH) throw new RangeError(`attribute ${a.type}: ${v.length} octets`);
    out[at] = a.type;
    out[at + 1] = v.length + 2;
    out.set(v, at + 2);
    return at + 2 + v.length;
  }
  if (v.length > RADIUS_MAX_VSA_VALUE_LENGTH) throw new RangeError(`vendor attribute ${a.vendor}:${a.type}: ${v.length} octets`);
  out[at] = ATTR_VENDOR_SPECIFIC;
  out[at + 1] = v.length + 8;
  out[at + 2] = (a.vendor >>> 24) & 0xff;
  out[at + 3] = (a.vendor >>> 16) & 0xff;
  out[at + 4] = (a.vendor >>> 8) & 0xff;
  out[at + 5] = a.vendor & 0xff;
  out[at + 6] = a.type;
  out[at + 7] = v.length + 2;
  out.set(v, at + 8);
  return at + 8 + v.length;
}

/**
 * Write `p` at `out[at]` (exactly `radiusPacketLength(p)` octets, Length field included); returns
 * the offset after it. Throws RangeError for a packet `checkRadiusPacket` rejects (programmer error).
 */
export function emitRadiusPacket(p: RadiusPacket, out: Uint8Array, at = 0): number {
  const len = radiusPacketLength(p);
  if (len > RADIUS_MAX_PACKET_LENGTH) throw new RangeError(`RADIUS packet of ${len} octets`);
  if (p.authenticator.length !== RADIUS_AUTHENTICATOR_LENGTH) throw new RangeError('authenticator must be 16 octets');
  out[at] = p.code;
  out[at + 1] = p.identifier;
  out[at + 2] = len >>> 8;
  out[at + 3] = len & 0xff;
  out.set(p.authenticator, at + 4);
  let o = at + RADIUS_HEADER_LENGTH;
  for (const a of p.attributes) o = emitAttribute(a, out, o);
  return o;
}

/** `emitRadiusPacket` into a fresh buffer. */
export function encodeRadiusPacket(p: RadiusPacket): Uint8Array {
  const out = new Uint8Array(radiusPacketLength(p));
  emitRadiusPacket(p, out, 0);
  return out;
}

/**
 * The Length field of a datagram after the header checks of §3 (at least 20, at most 4096, not
 * more than the datagram; octets after Length are padding and ignored), or an error.
 */
export function radiusLengthOf(buf: Uint8Array): Result<number, RadiusWireError> {
  if (buf.length < RADIUS_HEADER_LENGTH) return err(truncated('RADIUS header', RADIUS_HEADER_LENGTH, buf.length));
  const len = ((buf[2] as number) << 8) | (buf[3] as number);
  if (len < RADIUS_HEADER_LENGTH || len > RADIUS_MAX_PACKET_LENGTH) return err({ kind: 'bad-length', what: 'RADIUS packet', length: len });
  if (len > buf.length) return err(truncated('RADIUS packet', len, buf.length));
  return ok(len);
}

/** Split a Vendor-Specific value (vendor id first) into sub-attributes, or undefined if it does not tile. */
function splitVsa(v: Uint8Array, start: number, end: number, out: RadiusAttribute[]): boolean {
  const vendor = (((v[start] as number) << 24) | ((v[start + 1] as number) << 16) | ((v[start + 2] as number) << 8) | (v[start + 3] as number)) >>> 0;
  if (vendor === 0) return false;
  const subs: RadiusAttribute[] = [];
  let o = start + 4;
  if (o >= end) return false;
  while (o < end) {
    if (o + 2 > end) return false;
    const len = v[o + 1] as number;
    if (len < 2 || o + len > end) return false;
    subs.push({ type: v[o] as number, vendor, value: copyOf(v, o + 2, o + len) });
    o += len;
  }
  for (const s of subs) out.push(s);
  return true;
}

/** Parse the attribute list in `buf[start, end)` (§5): every Length at least 2 and inside the packet. */
export function parseAttributes(buf: Uint8Array, start: number, end: number): Result<RadiusAttribute[], RadiusWireError> {
  const out: RadiusAttribute[] = [];
  let o = start;
  while (o < end) {
    if (o + 2 > end) return err(truncated('attribute header', 2, end - o));
    const type = buf[o] as number;
    const len = buf[o + 1] as number;
    if (len < 2) return err({ kind: 'bad-attribute', type, vendor: 0, detail: `Length ${len} < 2` });
    if (o + len > end) return err(truncated(`attribute ${type}`, len, end - o));
    if (type === ATTR_VENDOR_SPECIFIC) {
      // §5.26: "Length >= 7"; a shorter Vendor-Specific cannot even hold its Vendor-Id.
      if (len < 7) return err({ kind: 'bad-attribute', type, vendor: 0, detail: `Vendor-Specific Length ${len} < 7` });
      if (!splitVsa(buf, o + 2, o + len, out)) out.push({ type, vendor: 0, value: copyOf(buf, o + 2, o + len) });
    } else {
      out.push({ type, vendor: 0, value: copyOf(buf, o + 2, o + len) });
    }
    o += len;
  }
  return ok(out);
}

/** Parse one datagram into a packet (a copy: the input is never kept nor changed). */
export function parseRadiusPacket(buf: Uint8Array): Result<RadiusPacket, RadiusWireError> {
  const len = radiusLengthOf(buf);
  if (!len.ok) return len;
  const attributes = parseAttributes(buf, RADIUS_HEADER_LENGTH, len.value);
  if (!attributes.ok) return attributes;
  return ok({
    code: buf[0] as number,
    identifier: buf[1] as number,
    authenticator: copyOf(buf, 4, 4 + RADIUS_AUTHENTICATOR_LENGTH),
    attributes: attributes.value,
  });
}

/** Offset of the first attribute of `type` (vendor 0) in a packet's octets, or -1. */
export function findAttributeOffset(buf: Uint8Array, type: number, end = buf.length): number {
  let o = RADIUS_HEADER_LENGTH;
  while (o + 2 <= end) {
    const len = buf[o + 1] as number;
    if (len < 2) return -1;
    if (buf[o] === type) return o;
    o += len;
  }
  return -1;
}
