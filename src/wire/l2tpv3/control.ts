/**
 * RFC 3931 control message codec: the §3.2.1 header (over UDP, or over IP after the zero Session ID,
 * §4.1.1.2), then the AVP list (§5.1) with the Message Type AVP first, Message Digest AVP(s) right
 * after it (§5.4.1), validated against the §6 message specs.
 *
 * Decisions:
 * - Reserved AVP flag bits are ignored on receipt (§5.1), unlike RFC 2661 which made such AVPs unknown.
 * - A framing error (an AVP Length that does not fit) stops the parse. Any other error (unknown M=1
 *   AVP, M=1 AVP with a bad value, duplicate, hidden AVP that cannot be revealed) is recorded and the
 *   walk goes on, so the failure still carries the Local/Remote Session ID and Assigned Control
 *   Connection ID for addressing a CDN or StopCCN (§5.2, §5.4.4 reverse lookup).
 * - A known M=0 AVP with a bad value is ignored and kept in `avps.malformed` (§7.1).
 * - The digest is checked before any other error is reported (§5.4.1: "before utilizing any
 *   information"); a message that fails it is `authenticated: false` and carries no ids.
 * - A Message Digest without configured authentication is checked as the §4.3 integrity digest
 *   (empty secret, no nonces).
 */
import { err, ok, type Result, u16 as rd16 } from '../../base/index.js';
import {
  V3_ATTR_MESSAGE_DIGEST,
  V3_ATTR_MESSAGE_TYPE,
  V3_ATTR_RANDOM_VECTOR,
  V3_AVP_BY_ATTRIBUTE,
  V3_AVP_FLAG_H,
  V3_AVP_FLAG_M,
  V3_AVP_HEADER_LENGTH,
  V3_AVP_LENGTH_MASK,
  v3AvpSpec,
} from './avp-registry.js';
import { computeDigest, digestLength, digestsEqual, digestSharedKey, hidingSharedKey, revealV3 } from './crypto.js';
import { V3_CONTROL_HEADER_LENGTH, parseV3ControlHeader } from './header.js';
import { isV3MessageType, v3MessageSpec } from './message-specs.js';
import {
  DigestType,
  V3MessageType,
  type ParseV3ControlOptions,
  type V3AddressIds,
  type V3Authentication,
  type V3ControlHeader,
  type V3ControlMessage,
  type V3ControlParseFailure,
  type V3MalformedAvp,
  type V3UnknownAvp,
  type V3WireError,
} from './types.js';

export { emitV3Control, V3_RANDOM_VECTOR_LENGTH, V3_HIDDEN_AVP_MIN_DATA } from './control-emit.js';

type Failure = { readonly ok: false; readonly error: V3ControlParseFailure };

/** One Message Digest AVP found while walking: where its value starts and its Digest Type. */
interface DigestAt {
  readonly valueAt: number;
  readonly type: number;
  readonly length: number;
}

/** State of one AVP walk. */
interface Walk {
  readonly buf: Uint8Array;
  readonly header: V3ControlHeader;
  readonly end: number;
  readonly messageType: number;
  readonly opts: ParseV3ControlOptions;
  readonly avps: Record<string, unknown>;
  readonly ids: { -readonly [K in keyof V3AddressIds]: V3AddressIds[K] };
  readonly digests: DigestAt[];
  unknown: V3UnknownAvp[] | undefined;
  malformed: V3MalformedAvp[] | undefined;
  rv: Uint8Array | undefined;
  hidingKey: Uint8Array | undefined;
  /** First non-framing error. */
  firstError: V3WireError | undefined;
  /** Whether the previous AVP was Message Type or a Message Digest (a digest may follow, §5.4.1). */
  digestSlot: boolean;
}

function scopeOf(messageType: number | undefined): 'session' | 'connection' | 'none' {
  if (messageType === undefined) return 'none';
  const s = v3MessageSpec(messageType);
  if (s === undefined) return 'connection';
  return s.sessionScoped ? 'session' : 'connection';
}

function failWith(error: V3WireError, header?: V3ControlHeader, messageType?: number, ids: V3AddressIds = {}, authenticated = true): Failure {
  return err({
    error,
    ...(header !== undefined ? { header } : {}),
    ...(messageType !== undefined ? { messageType } : {}),
    ids,
    scope: scopeOf(messageType),
    authenticated,
  });
}

/**
 * Parse a v3 control message from a UDP payload or an IP payload (`opts.encapsulation`). A ZLB gives
 * `type: undefined` (refused when `opts.auth` is set, §6.15). Never throws; never writes into `buf`.
 */
export function parseV3Control(buf: Uint8Array, opts: ParseV3ControlOptions): Result<V3ControlMessage, V3ControlParseFailure> {
  const hr = parseV3ControlHeader(buf, opts.encapsulation);
  if (!hr.ok) return failWith(hr.error);
  const header = hr.value;
  const end = header.offset + header.length;
  let at = header.offset + V3_CONTROL_HEADER_LENGTH;
  const base = { connectionId: header.connectionId, ns: header.ns, nr: header.nr };
  if (at === end) {
    // §6.15: a ZLB serves as an ACK, but only without Control Message Authentication.
    if (opts.auth !== undefined) return failWith({ kind: 'zlb-with-authentication' }, header, undefined, {}, false);
    return ok({ ...base, type: undefined, avps: {} });
  }
  // §4.3: with authentication required, a message refused before its digest could be checked is as
  // good as one whose digest failed: nothing of it (not its Ns, not its ids) may be used.
  const early = (e: V3WireError, type?: number, ids: V3AddressIds = {}): Failure =>
    opts.auth !== undefined ? failWith(e, header, type, {}, false) : failWith(e, header, type, ids);
  // §5.4.1: the Message Type AVP comes first, 8 bytes, never hidden.
  if (end - at < V3_AVP_HEADER_LENGTH) return early({ kind: 'bad-length', field: 'avp', detail: `${end - at} bytes left < AVP header` });
  const word = rd16(buf, at);
  const len = word & V3_AVP_LENGTH_MASK;
  if (rd16(buf, at + 4) !== V3_ATTR_MESSAGE_TYPE) return early({ kind: 'first-avp-not-message-type' });
  if (len < V3_AVP_HEADER_LENGTH || at + len > end) return early({ kind: 'bad-length', field: 'avp', detail: `Message Type AVP Length ${len}` });
  if ((word & V3_AVP_FLAG_H) !== 0) return early({ kind: 'bad-hidden', attribute: 0, detail: 'Message Type must not be hidden' });
  if (len !== V3_AVP_HEADER_LENGTH + 2) return early({ kind: 'bad-avp-value', attribute: 0, detail: `length ${len}, want 8` });
  const messageType = rd16(buf, at + 6);
  const mandatory = (word & V3_AVP_FLAG_M) !== 0;
  // §5.4.1: a vendor Message Type (Vendor ID != 0) or an unknown one: M=1 clears the connection.
  if (rd16(buf, at + 2) !== 0 || !isV3MessageType(messageType)) {
    return early({ kind: 'unknown-message-type', messageType, mandatory }, messageType);
  }
  at += len;
  const w: Walk = {
    buf,
    header,
    end,
    messageType,
    opts,
    avps: {},
    ids: {},
    digests: [],
    unknown: undefined,
    malformed: undefined,
    rv: undefined,
    hidingKey: undefined,
    firstError: undefined,
    digestSlot: true,
  };
  const framing = walkAvps(w, at);
  if (framing !== undefined) return early(framing, messageType, w.ids);
  const auth = checkDigests(w);
  if (auth !== undefined) return failWith(auth, header, messageType, {}, false);
  if (w.firstError !== undefined) return failWith(w.firstError, header, messageType, w.ids);
  const mspec = v3MessageSpec(messageType);
  for (const name of mspec?.required ?? []) {
    if (w.avps[name] === undefined) {
      return failWith({ kind: 'missing-avp', messageType, attribute: v3AvpSpec(name).attribute, name }, header, messageType, w.ids);
    }
  }
  if (w.unknown !== undefined) w.avps['unknown'] = w.unknown;
  if (w.malformed !== undefined) w.avps['malformed'] = w.malformed;
  const first = w.digests[0];
  return ok({ ...base, type: messageType, avps: w.avps, ...(first !== undefined ? { digestType: first.type as DigestType } : {}) });
}

/** Walk the AVPs after Message Type; returns a framing error (fatal) or undefined. */
function walkAvps(w: Walk, start: number): V3WireError | undefined {
  const { buf, end } = w;
  let at = start;
  while (at < end) {
    if (end - at < V3_AVP_HEADER_LENGTH) return { kind: 'bad-length', field: 'avp', detail: `${end - at} trailing bytes < AVP header` };
    const word = rd16(buf, at);
    const len = word & V3_AVP_LENGTH_MASK;
    if (len < V3_AVP_HEADER_LENGTH) return { kind: 'bad-length', field: 'avp', detail: `AVP Length ${len} < 6` };
    if (at + len > end) return { kind: 'bad-length', field: 'avp', detail: `AVP at ${at} Length ${len} runs past ${end}` };
    const vendorId = rd16(buf, at + 2);
    const attribute = rd16(buf, at + 4);
    const value = buf.subarray(at + V3_AVP_HEADER_LENGTH, at + len);
    const isDigest = vendorId === 0 && attribute === V3_ATTR_MESSAGE_DIGEST;
    if (isDigest) {
      // §5.4.1: at most two, right after Message Type, the second right after the first.
      if (!w.digestSlot || w.digests.length >= 2) return { kind: 'bad-digest-position', detail: `Message Digest AVP at ${at}` };
      if ((word & V3_AVP_FLAG_H) !== 0) return { kind: 'bad-hidden', attribute, detail: 'Message Digest must not be hidden' };
      const type = value[0] ?? -1;
      const dl = digestLength(type);
      if (value.length < 1 || dl === undefined || value.length !== 1 + dl) {
        return { kind: 'bad-avp-value', attribute, detail: `Message Digest type ${type} with ${value.length - 1} digest bytes` };
      }
      w.digests.push({ valueAt: at + V3_AVP_HEADER_LENGTH + 1, type, length: dl });
    } else {
      w.digestSlot = false;
      takeAvp(w, word, vendorId, attribute, value);
    }
    at += len;
  }
  return undefined;
}

/** Record the first non-framing error. */
function note(w: Walk, e: V3WireError): void {
  w.firstError ??= e;
}

/** Decode one AVP (not Message Type, not Message Digest) into the walk. */
function takeAvp(w: Walk, word: number, vendorId: number, attribute: number, raw: Uint8Array): void {
  const mandatory = (word & V3_AVP_FLAG_M) !== 0;
  const hidden = (word & V3_AVP_FLAG_H) !== 0;
  if (vendorId === 0 && attribute === V3_ATTR_RANDOM_VECTOR) {
    // §5.3: applies to the hidden AVPs after it; never hidden itself.
    if (hidden) note(w, { kind: 'bad-hidden', attribute, detail: 'Random Vector must not be hidden' });
    else if (raw.length === 0) note(w, { kind: 'bad-avp-value', attribute, detail: 'empty Random Vector' });
    else w.rv = raw;
    return;
  }
  if (vendorId === 0 && attribute === V3_ATTR_MESSAGE_TYPE) {
    note(w, { kind: 'duplicate-avp', attribute });
    return;
  }
  const spec = vendorId === 0 ? V3_AVP_BY_ATTRIBUTE.get(attribute) : undefined;
  if (spec === undefined) {
    // §5.2: unknown M=1 -> the session (or connection) must be shut down; M=0 -> ignore.
    if (mandatory) note(w, { kind: 'unknown-mandatory-avp', vendorId, attribute });
    else (w.unknown ??= []).push({ vendorId, attribute, mandatory, hidden, value: new Uint8Array(raw) });
    return;
  }
  if (w.avps[spec.name] !== undefined) {
    note(w, { kind: 'duplicate-avp', attribute });
    return;
  }
  let value = raw;
  if (hidden) {
    const secret = w.opts.secret;
    if (secret === undefined) return note(w, { kind: 'hidden-without-secret', attribute });
    if (w.rv === undefined) return note(w, { kind: 'hidden-without-random-vector', attribute });
    w.hidingKey ??= hidingSharedKey(secret);
    const r = revealV3(attribute, w.hidingKey, w.rv, raw);
    if (!r.ok) return note(w, { kind: 'bad-hidden', attribute, detail: r.detail });
    value = r.value;
  }
  const pv = spec.codec.parse(value);
  if (!pv.ok) {
    // §7.1: a malformed M=0 AVP is ignored; with M=1 it is as bad as an unknown one.
    if (mandatory) note(w, { kind: 'bad-avp-value', attribute, detail: `${spec.title}: ${pv.error}` });
    else (w.malformed ??= []).push({ attribute, detail: `${spec.title}: ${pv.error}`, hidden, value: new Uint8Array(raw) });
    return;
  }
  w.avps[spec.name] = pv.value;
  if (spec.name === 'localSessionId' || spec.name === 'remoteSessionId' || spec.name === 'assignedConnectionId') {
    (w.ids as Record<string, unknown>)[spec.name] = pv.value;
  }
}

/**
 * §4.3 / §5.4.1 digest check: with `opts.auth` every message needs a valid digest; without it a
 * digest present is checked as the integrity digest. Returns an error or undefined.
 */
function checkDigests(w: Walk): V3WireError | undefined {
  const auth = w.opts.auth;
  if (w.digests.length === 0) return auth === undefined ? undefined : { kind: 'missing-digest' };
  const off = w.header.offset;
  // A copy, never a view: Buffer#slice would alias the caller's datagram.
  const zeroed = new Uint8Array(w.buf.subarray(off, w.end));
  for (const d of w.digests) zeroed.fill(0, d.valueAt - off, d.valueAt - off + d.length);
  const [first, second] = nonceOrder(w, auth);
  const keys = auth?.sharedKeys ?? [digestSharedKey(new Uint8Array(0))];
  for (const key of keys) {
    for (const d of w.digests) {
      const want = computeDigest(d.type as DigestType, key, zeroed, first, second);
      if (digestsEqual(want, w.buf.subarray(d.valueAt, d.valueAt + d.length))) return undefined;
    }
  }
  return { kind: 'bad-digest', digestType: w.digests[0]?.type ?? -1 };
}

/** Nonces in wire order for a received message: the sender's (the peer's) first, then ours (§5.4.1). */
function nonceOrder(w: Walk, auth: V3Authentication | undefined): [Uint8Array | undefined, Uint8Array | undefined] {
  if (auth === undefined || w.messageType === V3MessageType.SCCRQ) return [undefined, undefined];
  const peer = auth.remoteNonce ?? (w.avps['nonce'] as Uint8Array | undefined);
  return [peer, auth.localNonce];
}
