/**
 * RFC 2661 control message codec: §3.1 header (T=1, L=1, S=1, O=0, 12 bytes), then the AVP list
 * (§4.1, §4.4) with the Message Type AVP first, validated against the §6 message specs.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |1|1|0|0|1|0|0|0|0|0|0|0|  Ver=2|            Length             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Tunnel ID           |           Session ID          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               Ns              |               Nr              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  AVPs ... (none: ZLB, §5.8)
 *
 * Decisions: a duplicate known AVP is an error (`duplicate-avp`), since §4.4 AVPs are single-valued;
 * several Random Vector AVPs are allowed (each applies to the hidden AVPs after it, §4.3). Unknown
 * AVPs are those with a vendor id ≠ 0, an attribute not in the registry, or a reserved flag bit set
 * (§4.1). Known AVPs not listed in the message's §6 spec are accepted. SCCRQ / SCCRP with Assigned
 * Tunnel ID 0 and ICRQ / ICRP / OCRQ / OCRP with Assigned Session ID 0 are refused (`zero-assigned-id`,
 * §4.4.3 / §4.4.4 "non-zero").
 *
 * Refusals: a failure after the Message Type AVP carries `partial` (types.ts `PartialControl`):
 *   { messageType, assignedTunnelId?, assignedSessionId?, avps, unreadable, complete }
 * The scan goes on past an AVP it cannot accept (unknown M=1, bad value, duplicate, hidden it cannot
 * reveal) and stops only where the AVP framing breaks, so the peer's Assigned Tunnel / Session ID is
 * known even when it follows the offending AVP, and the control plane can address its StopCCN / CDN
 * to it (§3.1: the header ID is that of the intended recipient). `error` is the first problem in
 * wire order; `header` (for the ack, §5.8) is there for every failure after the header parsed,
 * including a StopCCN that lacks its §6.4 Result Code (`missing-avp`).
 */
import { copyBytes, err, ok, type Result } from '../../base/index.js';
import {
  ATTR_MESSAGE_TYPE,
  ATTR_RANDOM_VECTOR,
  AVP_BY_ATTRIBUTE,
  AVP_FLAG_H,
  AVP_FLAG_M,
  AVP_FLAG_RESERVED,
  AVP_HEADER_LENGTH,
  AVP_LENGTH_MASK,
  AVP_MAX_LENGTH,
  AVP_REGISTRY,
  avpSpec,
  type AvpRegistryEntry,
} from './avp-registry.js';
import { CONTROL_HEADER_LENGTH, parseHeaderWithView, viewOf, writeControlHeader } from './header.js';
import { hideInPlace, revealValue } from './hidden.js';
import { isMessageType, messageSpec } from './message-specs.js';
import type {
  AvpName,
  ControlAvps,
  ControlMessage,
  ControlParseFailure,
  EmitControlOptions,
  L2tpHeader,
  MessageType,
  ParseControlOptions,
  PartialControl,
  UnknownAvp,
  UnreadableAvp,
  WireError,
} from './types.js';

/** Length of the Random Vector we send (§4.3 recommends at least 16 octets). */
export const RANDOM_VECTOR_LENGTH = 16;
/**
 * Smallest hidden AVP data we emit (Original Length + value + padding). §4.3 allows any padding, but
 * l2tpns (2.x) drops a hidden AVP whose data is under 8 bytes ("Short hidden AVP", Invalid mandatory
 * AVP -> StopCCN), so short values (2-byte ids, 4-byte numbers) always get enough padding.
 */
export const HIDDEN_AVP_MIN_DATA = 8;

/** A failure before the Message Type AVP was read (no partial message to report). */
const fail = (error: WireError, header?: L2tpHeader): { readonly ok: false; readonly error: ControlParseFailure } =>
  header === undefined ? err({ error }) : err({ error, header });

/** The state of one pass over the AVPs after the Message Type AVP. */
interface AvpScan {
  readonly avps: Record<string, unknown>;
  unknown: UnknownAvp[] | undefined;
  unreadable: UnreadableAvp[] | undefined;
  /** The first problem in wire order. */
  error: WireError | undefined;
  complete: boolean;
}

/**
 * Parse a control message: header, AVPs, hidden AVPs (with `opts.secret`), §6 spec. A ZLB (no AVPs)
 * gives `type: undefined`. Failures carry the header (and message type) when those were readable, so
 * the control plane can still ack, and once the Message Type was read, a `partial` with every AVP that
 * could be decoded (the peer's Assigned Tunnel / Session ID among them), so it can address its
 * StopCCN / CDN result 2 error 8 to the peer (§3.1, §4.2) and log the refused message.
 * Never throws, never writes to `buf`, and nothing returned aliases `buf`.
 */
export function parseControl(buf: Uint8Array, opts?: ParseControlOptions): Result<ControlMessage, ControlParseFailure> {
  const dv = viewOf(buf);
  const hr = parseHeaderWithView(buf, dv);
  if (!hr.ok) return fail(hr.error);
  const header = hr.value;
  if (!header.isControl) return fail({ kind: 'bad-flags', detail: 'data message on the control path' }, header);
  const base = { tunnelId: header.tunnelId, sessionId: header.sessionId, ns: header.ns ?? 0, nr: header.nr ?? 0 };
  const end = header.length;
  const at = header.headerLength;
  // §5.8: a ZLB is a header with no AVPs.
  if (at === end) return ok({ ...base, type: undefined, avps: {} });
  const mt = readMessageType(dv, at, end);
  if (!mt.ok) return fail(mt.error, header);
  const messageType = mt.value.messageType;
  const scan = scanAvps(buf, dv, at + AVP_HEADER_LENGTH + 2, end, opts?.secret);
  const refuse = (error: WireError): { readonly ok: false; readonly error: ControlParseFailure } =>
    err({ error, header, messageType, partial: partialOf(messageType, scan) });
  // §4.4.1: unknown type with M=1 → clear the tunnel; with M=0 → the message MAY be ignored.
  if (!isMessageType(messageType)) return refuse({ kind: 'unknown-message-type', messageType, mandatory: mt.value.mandatory });
  const error = scan.error ?? checkSpec(messageType, scan.avps);
  if (error !== undefined) return refuse(error);
  if (scan.unknown !== undefined) scan.avps['unknown'] = scan.unknown;
  return ok({ ...base, type: messageType, avps: scan.avps });
}

/** §4.4.1: the Message Type AVP must come first, vendor 0, attribute 0, value 2 bytes, not hidden. */
function readMessageType(dv: DataView, at: number, end: number): Result<{ readonly messageType: number; readonly mandatory: boolean }, WireError> {
  if (end - at < AVP_HEADER_LENGTH) return err({ kind: 'bad-length', field: 'avp', detail: `${end - at} bytes left < AVP header` });
  const word = dv.getUint16(at);
  const len = word & AVP_LENGTH_MASK;
  if (dv.getUint16(at + 2) !== 0 || dv.getUint16(at + 4) !== ATTR_MESSAGE_TYPE || (word & AVP_FLAG_RESERVED) !== 0) {
    return err({ kind: 'first-avp-not-message-type' });
  }
  if (len < AVP_HEADER_LENGTH || at + len > end) return err({ kind: 'bad-length', field: 'avp', detail: `Message Type AVP Length ${len}` });
  if ((word & AVP_FLAG_H) !== 0) return err({ kind: 'bad-hidden', attribute: ATTR_MESSAGE_TYPE, detail: 'Message Type must not be hidden' });
  if (len !== AVP_HEADER_LENGTH + 2) return err({ kind: 'bad-avp-value', attribute: ATTR_MESSAGE_TYPE, detail: `length ${len}, want 8` });
  return ok({ messageType: dv.getUint16(at + 6), mandatory: (word & AVP_FLAG_M) !== 0 });
}

/** Record the first problem; an AVP that could not be decoded is listed in `unreadable`. */
function note(scan: AvpScan, error: WireError, unreadable?: { readonly attribute: number; readonly mandatory: boolean; readonly hidden: boolean }): void {
  scan.error ??= error;
  if (unreadable !== undefined) (scan.unreadable ??= []).push({ ...unreadable, error });
}

/**
 * Read every AVP from `at` to `end`. An AVP whose framing is intact but which cannot be accepted is
 * noted and skipped, so the AVPs after it (the peer's Assigned ID among them) are still read; a broken
 * framing (`bad-length`) ends the scan, since nothing after it can be trusted.
 */
function scanAvps(buf: Uint8Array, dv: DataView, at: number, end: number, secret: Uint8Array | undefined): AvpScan {
  const scan: AvpScan = { avps: {}, unknown: undefined, unreadable: undefined, error: undefined, complete: true };
  let rv: Uint8Array | undefined;
  while (at < end) {
    if (end - at < AVP_HEADER_LENGTH) return broken(scan, `${end - at} trailing bytes < AVP header`);
    const word = dv.getUint16(at);
    const len = word & AVP_LENGTH_MASK;
    if (len < AVP_HEADER_LENGTH) return broken(scan, `AVP Length ${len} < 6`);
    if (at + len > end) return broken(scan, `AVP at ${at} Length ${len} runs past ${end}`);
    const vendorId = dv.getUint16(at + 2);
    const attribute = dv.getUint16(at + 4);
    const avp = { attribute, mandatory: (word & AVP_FLAG_M) !== 0, hidden: (word & AVP_FLAG_H) !== 0 };
    const raw = buf.subarray(at + AVP_HEADER_LENGTH, at + len);
    at += len;
    const ietf = vendorId === 0 && (word & AVP_FLAG_RESERVED) === 0;
    const spec = ietf ? AVP_BY_ATTRIBUTE.get(attribute) : undefined;
    if (spec === undefined) {
      if (ietf && attribute === ATTR_RANDOM_VECTOR) {
        // §4.3: a Random Vector applies to the hidden AVPs that follow it.
        if (avp.hidden) note(scan, { kind: 'bad-hidden', attribute, detail: 'Random Vector must not be hidden' }, avp);
        else if (raw.length === 0) note(scan, { kind: 'bad-avp-value', attribute, detail: 'empty Random Vector' }, avp);
        else rv = raw;
        continue;
      }
      if (ietf && attribute === ATTR_MESSAGE_TYPE) {
        note(scan, { kind: 'duplicate-avp', attribute }, avp);
        continue;
      }
      // §4.1: unknown M=1 → the session / tunnel must be cleared; M=0 → ignore (kept for counters).
      if (avp.mandatory) note(scan, { kind: 'unknown-mandatory-avp', vendorId, attribute });
      (scan.unknown ??= []).push({ vendorId, ...avp, value: copyBytes(raw) });
      continue;
    }
    if (scan.avps[spec.name] !== undefined) {
      note(scan, { kind: 'duplicate-avp', attribute }, avp);
      continue;
    }
    const v = readValue(spec, avp.hidden, raw, secret, rv);
    if (v.ok) scan.avps[spec.name] = v.value;
    else note(scan, v.error, avp);
  }
  return scan;
}

/** End the scan at a broken AVP framing (§4.1 Length). */
function broken(scan: AvpScan, detail: string): AvpScan {
  scan.error ??= { kind: 'bad-length', field: 'avp', detail };
  scan.complete = false;
  return scan;
}

/** Decode one known AVP's value, revealing it first when hidden (§4.3). `raw` is only read. */
function readValue(spec: AvpRegistryEntry, hidden: boolean, raw: Uint8Array, secret: Uint8Array | undefined, rv: Uint8Array | undefined): Result<unknown, WireError> {
  const attribute = spec.attribute;
  let value = raw;
  if (hidden) {
    // §4.3: the H bit needs the shared secret and a preceding Random Vector.
    if (secret === undefined) return err({ kind: 'hidden-without-secret', attribute });
    if (rv === undefined) return err({ kind: 'hidden-without-random-vector', attribute });
    const r = revealValue(attribute, secret, rv, raw);
    if (!r.ok) return err({ kind: 'bad-hidden', attribute, detail: r.detail });
    value = r.value;
  }
  const pv = spec.codec.parse(value, viewOf(value));
  return pv.ok ? pv : err({ kind: 'bad-avp-value', attribute, detail: `${spec.title}: ${pv.error}` });
}

/** §6 message rules: every must-AVP present (§6.x), Assigned IDs non-zero where required (§4.4.3, §4.4.4). */
function checkSpec(messageType: MessageType, avps: Readonly<Record<string, unknown>>): WireError | undefined {
  const mspec = messageSpec(messageType);
  if (mspec === undefined) return undefined;
  for (const name of mspec.required) {
    if (avps[name] === undefined) return { kind: 'missing-avp', messageType, attribute: avpSpec(name).attribute, name };
  }
  for (const name of mspec.nonZero ?? []) {
    if (avps[name] === 0) return { kind: 'zero-assigned-id', messageType, attribute: avpSpec(name).attribute, name };
  }
  return undefined;
}

/** The refused message as far as it was read. */
function partialOf(messageType: number, scan: AvpScan): PartialControl {
  const avps: ControlAvps = scan.unknown === undefined ? scan.avps : { ...scan.avps, unknown: scan.unknown };
  return {
    messageType,
    ...(avps.assignedTunnelId === undefined ? {} : { assignedTunnelId: avps.assignedTunnelId }),
    ...(avps.assignedSessionId === undefined ? {} : { assignedSessionId: avps.assignedSessionId }),
    avps,
    unreadable: scan.unreadable ?? [],
    complete: scan.complete,
  };
}

/** One AVP to write, planned before allocating. */
interface Planned {
  readonly spec: AvpRegistryEntry;
  readonly value: unknown;
  readonly valueLength: number;
  /** Padding bytes for a hidden AVP; -1 when not hidden. */
  readonly pad: number;
}

/**
 * Emit a control message: the 12-byte header, the Message Type AVP (M=1) first, then every present
 * AVP in registry (attribute) order with the registry's M bit, then `avps.unknown` as received.
 * With `opts.hide`, `opts.secret` and `opts.random` (the caller's injected source: the codec has no
 * randomness of its own), hidable AVPs in the set are hidden (§4.3) after one Random Vector AVP
 * (16 bytes from `opts.random`) with 0..15 random padding bytes. Non-hidable AVPs are sent
 * in the clear. `type === undefined` emits a ZLB. Returns exactly Length bytes.
 * Throws RangeError only on programmer error (an AVP value over 1017 bytes, message over 65535, hide
 * without secret or random source).
 */
export function emitControl(msg: ControlMessage, opts?: EmitControlOptions): Uint8Array {
  if (msg.type === undefined) {
    const out = new Uint8Array(CONTROL_HEADER_LENGTH);
    writeControlHeader(viewOf(out), 0, CONTROL_HEADER_LENGTH, msg.tunnelId, msg.sessionId, msg.ns, msg.nr);
    return out;
  }
  const hide = opts?.hide;
  const hider = hide !== undefined && opts?.secret !== undefined && opts.random !== undefined ? { secret: opts.secret, random: opts.random } : undefined;
  const avps = msg.avps as Readonly<Record<string, unknown>>;
  const plan: Planned[] = [];
  let total = CONTROL_HEADER_LENGTH + AVP_HEADER_LENGTH + 2;
  let anyHidden = false;
  for (const spec of AVP_REGISTRY) {
    const value = avps[spec.name];
    if (value === undefined) continue;
    const valueLength = spec.codec.length(value);
    const hideThis = spec.hidable && hide !== undefined && hide.has(spec.name);
    let pad = -1;
    let wire = valueLength;
    if (hideThis) {
      if (hider === undefined) throw new RangeError('emitControl: hide requires a secret and a random source');
      // §4.3 padding hides the value length: 0..15 random bytes, at least enough for
      // HIDDEN_AVP_MIN_DATA, clamped so the AVP still fits its 10-bit Length.
      const minPad = HIDDEN_AVP_MIN_DATA - 2 - valueLength;
      pad = Math.max(0, Math.min(Math.max((hider.random.bytes(1)[0] ?? 0) & 0x0f, minPad), AVP_MAX_LENGTH - AVP_HEADER_LENGTH - 2 - valueLength));
      wire = 2 + valueLength + pad;
      if (!anyHidden) total += AVP_HEADER_LENGTH + RANDOM_VECTOR_LENGTH;
      anyHidden = true;
    }
    if (AVP_HEADER_LENGTH + wire > AVP_MAX_LENGTH) throw new RangeError(`emitControl: ${spec.title} value too long (${valueLength} bytes)`);
    total += AVP_HEADER_LENGTH + wire;
    plan.push({ spec, value, valueLength, pad });
  }
  const unknown = msg.avps.unknown ?? [];
  for (const u of unknown) {
    if (AVP_HEADER_LENGTH + u.value.length > AVP_MAX_LENGTH) throw new RangeError('emitControl: unknown AVP value too long');
    total += AVP_HEADER_LENGTH + u.value.length;
  }
  if (total > 0xffff) throw new RangeError(`emitControl: message length ${total} > 65535`);

  const out = new Uint8Array(total);
  const dv = viewOf(out);
  writeControlHeader(dv, 0, total, msg.tunnelId, msg.sessionId, msg.ns, msg.nr);
  let at = CONTROL_HEADER_LENGTH;
  // §4.4.1 Message Type AVP: M=1, H=0, vendor 0, attribute 0.
  dv.setUint16(at, AVP_FLAG_M | (AVP_HEADER_LENGTH + 2));
  dv.setUint16(at + 2, 0);
  dv.setUint16(at + 4, ATTR_MESSAGE_TYPE);
  dv.setUint16(at + 6, msg.type);
  at += AVP_HEADER_LENGTH + 2;
  let rv: Uint8Array | undefined;
  for (const p of plan) {
    const hidden = p.pad >= 0;
    if (hidden && rv === undefined && hider !== undefined) {
      // §4.3: one Random Vector AVP (M=1, never hidden) precedes the first hidden AVP.
      rv = new Uint8Array(RANDOM_VECTOR_LENGTH);
      rv.set(hider.random.bytes(RANDOM_VECTOR_LENGTH).subarray(0, RANDOM_VECTOR_LENGTH));
      dv.setUint16(at, AVP_FLAG_M | (AVP_HEADER_LENGTH + RANDOM_VECTOR_LENGTH));
      dv.setUint16(at + 2, 0);
      dv.setUint16(at + 4, ATTR_RANDOM_VECTOR);
      out.set(rv, at + AVP_HEADER_LENGTH);
      at += AVP_HEADER_LENGTH + RANDOM_VECTOR_LENGTH;
    }
    const wire = hidden ? 2 + p.valueLength + p.pad : p.valueLength;
    const len = AVP_HEADER_LENGTH + wire;
    dv.setUint16(at, (p.spec.mandatory ? AVP_FLAG_M : 0) | (hidden ? AVP_FLAG_H : 0) | len);
    dv.setUint16(at + 2, 0);
    dv.setUint16(at + 4, p.spec.attribute);
    const v = at + AVP_HEADER_LENGTH;
    if (hidden && rv !== undefined && hider !== undefined) {
      dv.setUint16(v, p.valueLength);
      p.spec.codec.emit(p.value, out, dv, v + 2);
      if (p.pad > 0) out.set(hider.random.bytes(p.pad).subarray(0, p.pad), v + 2 + p.valueLength);
      hideInPlace(p.spec.attribute, hider.secret, rv, out.subarray(v, v + wire));
    } else {
      p.spec.codec.emit(p.value, out, dv, v);
    }
    at += len;
  }
  for (const u of unknown) {
    const len = AVP_HEADER_LENGTH + u.value.length;
    dv.setUint16(at, (u.mandatory ? AVP_FLAG_M : 0) | (u.hidden ? AVP_FLAG_H : 0) | len);
    dv.setUint16(at + 2, u.vendorId);
    dv.setUint16(at + 4, u.attribute);
    out.set(u.value, at + AVP_HEADER_LENGTH);
    at += len;
  }
  return out;
}

/** The AVP names of a message, in emit order (for tests and logs). */
export function presentAvps(avps: ControlAvps): AvpName[] {
  const r = avps as Readonly<Record<string, unknown>>;
  return AVP_REGISTRY.filter((s) => r[s.name] !== undefined).map((s) => s.name);
}
