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
 * (§4.1). Known AVPs not listed in the message's §6 spec are accepted.
 */
import { randomFillSync } from 'node:crypto';
import { err, ok, type Result } from '../../base/result.js';
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
  ParseControlOptions,
  UnknownAvp,
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

const fail = (error: WireError, header?: L2tpHeader, messageType?: number): { readonly ok: false; readonly error: ControlParseFailure } => {
  if (header === undefined) return err({ error });
  if (messageType === undefined) return err({ error, header });
  return err({ error, header, messageType });
};

/**
 * Parse a control message: header, AVPs, hidden AVPs (with `opts.secret`), §6 spec. A ZLB (no AVPs)
 * gives `type: undefined`. Failures carry the header (and message type) when those were readable, so
 * the control plane can still ack, and answer an unknown M=1 AVP with StopCCN / CDN result 2 error 8.
 * Never throws.
 */
export function parseControl(buf: Uint8Array, opts?: ParseControlOptions): Result<ControlMessage, ControlParseFailure> {
  const dv = viewOf(buf);
  const hr = parseHeaderWithView(buf, dv);
  if (!hr.ok) return fail(hr.error);
  const header = hr.value;
  if (!header.isControl) return fail({ kind: 'bad-flags', detail: 'data message on the control path' }, header);
  const base = { tunnelId: header.tunnelId, sessionId: header.sessionId, ns: header.ns ?? 0, nr: header.nr ?? 0 };
  const end = header.length;
  let at = header.headerLength;
  // §5.8: a ZLB is a header with no AVPs.
  if (at === end) return ok({ ...base, type: undefined, avps: {} });

  // §4.4.1: the Message Type AVP must come first, vendor 0, attribute 0, value 2 bytes, not hidden.
  if (end - at < AVP_HEADER_LENGTH) return fail({ kind: 'bad-length', field: 'avp', detail: `${end - at} bytes left < AVP header` }, header);
  const mtWord = dv.getUint16(at);
  const mtLen = mtWord & AVP_LENGTH_MASK;
  if (dv.getUint16(at + 2) !== 0 || dv.getUint16(at + 4) !== ATTR_MESSAGE_TYPE || (mtWord & AVP_FLAG_RESERVED) !== 0) {
    return fail({ kind: 'first-avp-not-message-type' }, header);
  }
  if (mtLen < AVP_HEADER_LENGTH || at + mtLen > end) return fail({ kind: 'bad-length', field: 'avp', detail: `Message Type AVP Length ${mtLen}` }, header);
  if ((mtWord & AVP_FLAG_H) !== 0) return fail({ kind: 'bad-hidden', attribute: ATTR_MESSAGE_TYPE, detail: 'Message Type must not be hidden' }, header);
  if (mtLen !== AVP_HEADER_LENGTH + 2) return fail({ kind: 'bad-avp-value', attribute: ATTR_MESSAGE_TYPE, detail: `length ${mtLen}, want 8` }, header);
  const messageType = dv.getUint16(at + 6);
  at += mtLen;
  if (!isMessageType(messageType)) {
    // §4.4.1: unknown type with M=1 → clear the tunnel; with M=0 → the message MAY be ignored.
    return fail({ kind: 'unknown-message-type', messageType, mandatory: (mtWord & AVP_FLAG_M) !== 0 }, header, messageType);
  }

  const avps: Record<string, unknown> = {};
  let unknown: UnknownAvp[] | undefined;
  let rv: Uint8Array | undefined;
  while (at < end) {
    if (end - at < AVP_HEADER_LENGTH) {
      return fail({ kind: 'bad-length', field: 'avp', detail: `${end - at} trailing bytes < AVP header` }, header, messageType);
    }
    const word = dv.getUint16(at);
    const len = word & AVP_LENGTH_MASK;
    if (len < AVP_HEADER_LENGTH) return fail({ kind: 'bad-length', field: 'avp', detail: `AVP Length ${len} < 6` }, header, messageType);
    if (at + len > end) return fail({ kind: 'bad-length', field: 'avp', detail: `AVP at ${at} Length ${len} runs past ${end}` }, header, messageType);
    const vendorId = dv.getUint16(at + 2);
    const attribute = dv.getUint16(at + 4);
    const mandatory = (word & AVP_FLAG_M) !== 0;
    const hidden = (word & AVP_FLAG_H) !== 0;
    const raw = buf.subarray(at + AVP_HEADER_LENGTH, at + len);
    at += len;
    const spec = vendorId === 0 && (word & AVP_FLAG_RESERVED) === 0 ? AVP_BY_ATTRIBUTE.get(attribute) : undefined;
    if (spec === undefined) {
      if (vendorId === 0 && attribute === ATTR_RANDOM_VECTOR && (word & AVP_FLAG_RESERVED) === 0) {
        // §4.3: a Random Vector applies to the hidden AVPs that follow it.
        if (hidden) return fail({ kind: 'bad-hidden', attribute, detail: 'Random Vector must not be hidden' }, header, messageType);
        if (raw.length === 0) return fail({ kind: 'bad-avp-value', attribute, detail: 'empty Random Vector' }, header, messageType);
        rv = raw;
        continue;
      }
      if (vendorId === 0 && attribute === ATTR_MESSAGE_TYPE && (word & AVP_FLAG_RESERVED) === 0) {
        return fail({ kind: 'duplicate-avp', attribute }, header, messageType);
      }
      // §4.1: unknown M=1 → the session / tunnel must be cleared; M=0 → ignore (kept for counters).
      if (mandatory) return fail({ kind: 'unknown-mandatory-avp', vendorId, attribute }, header, messageType);
      (unknown ??= []).push({ vendorId, attribute, mandatory, hidden, value: raw.slice() });
      continue;
    }
    if (avps[spec.name] !== undefined) return fail({ kind: 'duplicate-avp', attribute }, header, messageType);
    let value = raw;
    if (hidden) {
      // §4.3: the H bit needs the shared secret and a preceding Random Vector.
      if (opts?.secret === undefined) return fail({ kind: 'hidden-without-secret', attribute }, header, messageType);
      if (rv === undefined) return fail({ kind: 'hidden-without-random-vector', attribute }, header, messageType);
      const r = revealValue(attribute, opts.secret, rv, raw);
      if (!r.ok) return fail({ kind: 'bad-hidden', attribute, detail: r.detail }, header, messageType);
      value = r.value;
    }
    const pv = spec.codec.parse(value, viewOf(value));
    if (!pv.ok) return fail({ kind: 'bad-avp-value', attribute, detail: `${spec.title}: ${pv.error}` }, header, messageType);
    avps[spec.name] = pv.value;
  }
  if (unknown !== undefined) avps['unknown'] = unknown;
  const mspec = messageSpec(messageType);
  if (mspec !== undefined) {
    for (const name of mspec.required) {
      if (avps[name] === undefined) {
        return fail({ kind: 'missing-avp', messageType, attribute: avpSpec(name).attribute, name }, header, messageType);
      }
    }
  }
  return ok({ ...base, type: messageType, avps });
}

/** One AVP to write, planned before allocating. */
interface Planned {
  readonly spec: AvpRegistryEntry;
  readonly value: unknown;
  readonly valueLength: number;
  /** Padding bytes for a hidden AVP; -1 when not hidden. */
  readonly pad: number;
}

/** Default randomness when `opts.random` is not given. */
const cryptoRandom = (n: number): Uint8Array => randomFillSync(new Uint8Array(n));

/**
 * Emit a control message: the 12-byte header, the Message Type AVP (M=1) first, then every present
 * AVP in registry (attribute) order with the registry's M bit, then `avps.unknown` as received.
 * With `opts.hide` and `opts.secret`, hidable AVPs in the set are hidden (§4.3) after one Random
 * Vector AVP (16 bytes from `opts.random`) with 0..15 random padding bytes. Non-hidable AVPs are sent
 * in the clear. `type === undefined` emits a ZLB. Returns exactly Length bytes.
 * Throws RangeError only on programmer error (an AVP value over 1017 bytes, message over 65535, hide
 * without secret).
 */
export function emitControl(msg: ControlMessage, opts?: EmitControlOptions): Uint8Array {
  if (msg.type === undefined) {
    const out = new Uint8Array(CONTROL_HEADER_LENGTH);
    writeControlHeader(viewOf(out), 0, CONTROL_HEADER_LENGTH, msg.tunnelId, msg.sessionId, msg.ns, msg.nr);
    return out;
  }
  const random = opts?.random ?? cryptoRandom;
  const hide = opts?.hide;
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
      if (opts?.secret === undefined) throw new RangeError('emitControl: hide requires a secret');
      // §4.3 padding hides the value length: 0..15 random bytes, at least enough for
      // HIDDEN_AVP_MIN_DATA, clamped so the AVP still fits its 10-bit Length.
      const minPad = HIDDEN_AVP_MIN_DATA - 2 - valueLength;
      pad = Math.max(0, Math.min(Math.max((random(1)[0] ?? 0) & 0x0f, minPad), AVP_MAX_LENGTH - AVP_HEADER_LENGTH - 2 - valueLength));
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
    if (hidden && rv === undefined) {
      // §4.3: one Random Vector AVP (M=1, never hidden) precedes the first hidden AVP.
      rv = new Uint8Array(RANDOM_VECTOR_LENGTH);
      rv.set(random(RANDOM_VECTOR_LENGTH).subarray(0, RANDOM_VECTOR_LENGTH));
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
    if (hidden && rv !== undefined && opts?.secret !== undefined) {
      dv.setUint16(v, p.valueLength);
      p.spec.codec.emit(p.value, out, dv, v + 2);
      if (p.pad > 0) out.set(random(p.pad).subarray(0, p.pad), v + 2 + p.valueLength);
      hideInPlace(p.spec.attribute, opts.secret, rv, out.subarray(v, v + wire));
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
