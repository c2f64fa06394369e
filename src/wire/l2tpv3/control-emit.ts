/**
 * RFC 3931 control message emitter: header (with the zero Session ID over IP, §4.1.1.2), Message Type
 * AVP (M=1), Message Digest AVP(s) right after it (§5.4.1), then every present AVP in registry order
 * with the registry's M bit (hidden ones after one Random Vector AVP, §5.3), then the unknown and
 * malformed AVPs as received. The digest is computed last over the finished message with the digest
 * values zeroed.
 */
import { randomFillSync } from 'node:crypto';
import {
  V3_ATTR_MESSAGE_DIGEST,
  V3_ATTR_MESSAGE_TYPE,
  V3_ATTR_RANDOM_VECTOR,
  V3_AVP_FLAG_H,
  V3_AVP_FLAG_M,
  V3_AVP_HEADER_LENGTH,
  V3_AVP_MAX_LENGTH,
  V3_AVP_REGISTRY,
  type V3AvpRegistryEntry,
} from './avp-registry.js';
import { computeDigest, digestLength, digestSharedKey, hideV3InPlace, hidingSharedKey } from './crypto.js';
import { V3_CONTROL_HEADER_LENGTH, controlOffset, writeV3ControlHeader } from './header.js';
import { put16 as wr16 } from '../../base/index.js';
import { DigestType, V3MessageType, type EmitV3ControlOptions, type V3ControlMessage } from './types.js';

/** Length of the Random Vector we send (§5.4.1 recommends at least 16 octets). */
export const V3_RANDOM_VECTOR_LENGTH = 16;
/** Smallest hidden subformat we emit (original length + value + padding), as the v2 codec does for l2tpns. */
export const V3_HIDDEN_AVP_MIN_DATA = 8;

const cryptoRandom = (n: number): Uint8Array => randomFillSync(new Uint8Array(n));

/** One AVP to write, planned before allocating. */
interface Planned {
  readonly spec: V3AvpRegistryEntry;
  readonly value: unknown;
  readonly valueLength: number;
  /** Padding of a hidden AVP; -1 when in the clear. */
  readonly pad: number;
}

/** One raw AVP re-emitted as received (unknown or malformed). */
interface Raw {
  readonly vendorId: number;
  readonly attribute: number;
  readonly mandatory: boolean;
  readonly hidden: boolean;
  readonly value: Uint8Array;
}

function plan(msg: V3ControlMessage, opts: EmitV3ControlOptions, random: (n: number) => Uint8Array): { planned: Planned[]; bytes: number; hidden: boolean } {
  const avps = msg.avps as Readonly<Record<string, unknown>>;
  const planned: Planned[] = [];
  let bytes = 0;
  let hidden = false;
  for (const spec of V3_AVP_REGISTRY) {
    const value = avps[spec.name];
    if (value === undefined) continue;
    const valueLength = spec.codec.length(value);
    let pad = -1;
    let wire = valueLength;
    if (spec.hidable && opts.hide?.has(spec.name) === true) {
      if (opts.secret === undefined) throw new RangeError('emitV3Control: hide requires a secret');
      // §5.3 padding hides the value length; clamped so the AVP fits its 10-bit Length.
      const minPad = V3_HIDDEN_AVP_MIN_DATA - 2 - valueLength;
      pad = Math.max(0, Math.min(Math.max((random(1)[0] ?? 0) & 0x0f, minPad), V3_AVP_MAX_LENGTH - V3_AVP_HEADER_LENGTH - 2 - valueLength));
      wire = 2 + valueLength + pad;
      if (!hidden) bytes += V3_AVP_HEADER_LENGTH + V3_RANDOM_VECTOR_LENGTH;
      hidden = true;
    }
    if (V3_AVP_HEADER_LENGTH + wire > V3_AVP_MAX_LENGTH) throw new RangeError(`emitV3Control: ${spec.title} value too long (${valueLength} bytes)`);
    bytes += V3_AVP_HEADER_LENGTH + wire;
    planned.push({ spec, value, valueLength, pad });
  }
  return { planned, bytes, hidden };
}

function rawAvps(msg: V3ControlMessage): Raw[] {
  const out: Raw[] = [...(msg.avps.unknown ?? [])];
  for (const m of msg.avps.malformed ?? []) out.push({ vendorId: 0, attribute: m.attribute, mandatory: false, hidden: m.hidden, value: m.value });
  for (const r of out) if (V3_AVP_HEADER_LENGTH + r.value.length > V3_AVP_MAX_LENGTH) throw new RangeError('emitV3Control: raw AVP value too long');
  return out;
}

function avpHeader(out: Uint8Array, at: number, flags: number, length: number, vendorId: number, attribute: number): void {
  wr16(out, at, flags | length);
  wr16(out, at + 2, vendorId);
  wr16(out, at + 4, attribute);
}

/**
 * Emit a control message; returns the whole datagram payload (4 + Length bytes over IP, Length over
 * UDP). `type === undefined` emits a ZLB. Throws RangeError only on programmer error (value over
 * 1017 bytes, message over 65535, hide without secret, a ZLB or more than two keys with `auth`).
 */
export function emitV3Control(msg: V3ControlMessage, opts: EmitV3ControlOptions): Uint8Array {
  const off = controlOffset(opts.encapsulation);
  if (msg.type === undefined) {
    if (opts.auth !== undefined) throw new RangeError('emitV3Control: ZLB with authentication; send an ACK (§6.15)');
    const out = new Uint8Array(off + V3_CONTROL_HEADER_LENGTH);
    writeV3ControlHeader(out, opts.encapsulation, V3_CONTROL_HEADER_LENGTH, msg.connectionId, msg.ns, msg.nr);
    return out;
  }
  const random = opts.random ?? cryptoRandom;
  const auth = opts.auth;
  const keys = auth !== undefined ? auth.sharedKeys : opts.integrityDigest === true ? [digestSharedKey(new Uint8Array(0))] : [];
  if (keys.length > 2 || (auth !== undefined && keys.length === 0)) throw new RangeError('emitV3Control: auth needs one or two shared keys');
  const digestType = auth?.digestType ?? DigestType.hmacMd5;
  const dlen = digestLength(digestType) ?? 16;
  const p = plan(msg, opts, random);
  const raws = rawAvps(msg);
  let length = V3_CONTROL_HEADER_LENGTH + V3_AVP_HEADER_LENGTH + 2 + keys.length * (V3_AVP_HEADER_LENGTH + 1 + dlen) + p.bytes;
  for (const r of raws) length += V3_AVP_HEADER_LENGTH + r.value.length;
  if (length > 0xffff) throw new RangeError(`emitV3Control: message length ${length} > 65535`);

  const out = new Uint8Array(off + length);
  writeV3ControlHeader(out, opts.encapsulation, length, msg.connectionId, msg.ns, msg.nr);
  let at = off + V3_CONTROL_HEADER_LENGTH;
  // §5.4.1 Message Type: M=1, never hidden.
  avpHeader(out, at, V3_AVP_FLAG_M, V3_AVP_HEADER_LENGTH + 2, 0, V3_ATTR_MESSAGE_TYPE);
  wr16(out, at + 6, msg.type);
  at += V3_AVP_HEADER_LENGTH + 2;
  const digestAt: number[] = [];
  for (let i = 0; i < keys.length; i++) {
    // §5.4.1 Message Digest: M=1 (SHOULD), Digest Type, value zero while the digest is computed.
    avpHeader(out, at, V3_AVP_FLAG_M, V3_AVP_HEADER_LENGTH + 1 + dlen, 0, V3_ATTR_MESSAGE_DIGEST);
    out[at + V3_AVP_HEADER_LENGTH] = digestType;
    digestAt.push(at + V3_AVP_HEADER_LENGTH + 1);
    at += V3_AVP_HEADER_LENGTH + 1 + dlen;
  }
  at = writeAvps(out, at, p.planned, opts, random);
  for (const r of raws) {
    avpHeader(out, at, (r.mandatory ? V3_AVP_FLAG_M : 0) | (r.hidden ? V3_AVP_FLAG_H : 0), V3_AVP_HEADER_LENGTH + r.value.length, r.vendorId, r.attribute);
    out.set(r.value, at + V3_AVP_HEADER_LENGTH);
    at += V3_AVP_HEADER_LENGTH + r.value.length;
  }
  if (keys.length > 0) {
    // §5.4.1: sender's nonce, then the receiver's; none for SCCRQ (and none for the integrity digest).
    const nonces = auth !== undefined && msg.type !== V3MessageType.SCCRQ;
    const body = out.subarray(off);
    const digests = keys.map((k) => computeDigest(digestType, k, body, nonces ? auth.localNonce : undefined, nonces ? auth.remoteNonce : undefined));
    digests.forEach((d, i) => out.set(d, digestAt[i] ?? 0));
  }
  return out;
}

/** Write the planned registry AVPs (hidden ones after one Random Vector); returns the next offset. */
function writeAvps(out: Uint8Array, start: number, planned: readonly Planned[], opts: EmitV3ControlOptions, random: (n: number) => Uint8Array): number {
  let at = start;
  let rv: Uint8Array | undefined;
  let key: Uint8Array | undefined;
  for (const p of planned) {
    const hidden = p.pad >= 0 && opts.secret !== undefined;
    if (hidden && rv === undefined) {
      // §5.3: a Random Vector AVP precedes the first hidden AVP.
      rv = new Uint8Array(random(V3_RANDOM_VECTOR_LENGTH).subarray(0, V3_RANDOM_VECTOR_LENGTH));
      avpHeader(out, at, V3_AVP_FLAG_M, V3_AVP_HEADER_LENGTH + V3_RANDOM_VECTOR_LENGTH, 0, V3_ATTR_RANDOM_VECTOR);
      out.set(rv, at + V3_AVP_HEADER_LENGTH);
      at += V3_AVP_HEADER_LENGTH + V3_RANDOM_VECTOR_LENGTH;
    }
    const wire = hidden ? 2 + p.valueLength + p.pad : p.valueLength;
    avpHeader(out, at, (p.spec.mandatory ? V3_AVP_FLAG_M : 0) | (hidden ? V3_AVP_FLAG_H : 0), V3_AVP_HEADER_LENGTH + wire, 0, p.spec.attribute);
    const v = at + V3_AVP_HEADER_LENGTH;
    if (hidden && rv !== undefined && opts.secret !== undefined) {
      wr16(out, v, p.valueLength);
      p.spec.codec.emit(p.value, out, v + 2);
      if (p.pad > 0) out.set(random(p.pad).subarray(0, p.pad), v + 2 + p.valueLength);
      key ??= hidingSharedKey(opts.secret);
      hideV3InPlace(p.spec.attribute, key, rv, out.subarray(v, v + wire));
    } else {
      p.spec.codec.emit(p.value, out, v);
    }
    at += V3_AVP_HEADER_LENGTH + wire;
  }
  return at;
}
