/**
 * CHAP packets (RFC 1994 §4), also carrying MS-CHAPv2 (RFC 2759 §3-§7).
 *
 * Challenge (1) / Response (2):
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |     Code      |  Identifier   |            Length             |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  Value-Size   |  Value ...
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  Name ...   (the rest, up to Length)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Success (3) / Failure (4):
 *  |     Code      |  Identifier   |            Length             |
 *  |  Message ...  (the rest)
 *
 * Other codes (MS-CHAPv2 Change-Password = 7) parse as `other` with their raw data.
 */
import { err, ok, put16, type Result, u16 } from '../../base/index.js';
import { type PppWireError, truncated } from './errors.js';

/** RFC 1994 §4 codes. */
export const ChapCode = { Challenge: 1, Response: 2, Success: 3, Failure: 4 } as const;

/** CHAP algorithm numbers in the LCP Authentication-Protocol option (RFC 1994 §3, RFC 2759 §2). */
export const ChapAlgorithm = { MD5: 0x05, MSCHAPv2: 0x81 } as const;

/** A parsed CHAP packet. */
export type ChapPacket =
  | { readonly code: 1 | 2; readonly identifier: number; readonly value: Uint8Array; readonly name: Uint8Array }
  | { readonly code: 3 | 4; readonly identifier: number; readonly message: Uint8Array }
  | { readonly code: number; readonly identifier: number; readonly data: Uint8Array; readonly other: true };

/** Parse a CHAP packet (the information field of protocol 0xc223). */
export function parseChapPacket(buf: Uint8Array): Result<ChapPacket, PppWireError> {
  if (buf.length < 4) return err(truncated('chap header', 4, buf.length));
  const code = buf[0] ?? 0;
  const identifier = buf[1] ?? 0;
  const length = u16(buf, 2);
  if (length < 4) return err({ kind: 'bad-length', what: 'chap', length });
  if (length > buf.length) return err(truncated('chap packet', length, buf.length));
  const d = buf.subarray(4, length);
  if (code === 1 || code === 2) {
    if (d.length < 1) return err(truncated('value-size', 5, length));
    const vLen = d[0] ?? 0;
    // RFC 1994 §4.1: the Value is one or more octets.
    if (vLen === 0) return err({ kind: 'bad-value', what: 'value-size', detail: '0' });
    if (d.length < 1 + vLen) return err(truncated('value', 5 + vLen, length));
    return ok({ code, identifier, value: d.subarray(1, 1 + vLen), name: d.subarray(1 + vLen) });
  }
  if (code === 3 || code === 4) return ok({ code, identifier, message: d });
  return ok({ code, identifier, data: d, other: true });
}

/** Bytes that `emitChapPacket` writes. */
export function chapPacketLength(p: ChapPacket): number {
  if ('other' in p) return 4 + p.data.length;
  if ('value' in p) return 4 + 1 + p.value.length + p.name.length;
  return 4 + p.message.length;
}

/** Write a CHAP packet; returns bytes written. A Value over 255 octets is a programmer error. */
export function emitChapPacket(p: ChapPacket, buf: Uint8Array, offset = 0): number {
  const len = chapPacketLength(p);
  buf[offset] = p.code;
  buf[offset + 1] = p.identifier & 0xff;
  put16(buf, offset + 2, len);
  const o = offset + 4;
  if ('other' in p) buf.set(p.data, o);
  else if ('value' in p) {
    if (p.value.length === 0 || p.value.length > 255) throw new RangeError('chap value size');
    buf[o] = p.value.length;
    buf.set(p.value, o + 1);
    buf.set(p.name, o + 1 + p.value.length);
  } else buf.set(p.message, o);
  return len;
}

/** Allocate and emit a CHAP packet. */
export function encodeChapPacket(p: ChapPacket): Uint8Array {
  const out = new Uint8Array(chapPacketLength(p));
  emitChapPacket(p, out);
  return out;
}
