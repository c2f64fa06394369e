/**
 * PAP packets (RFC 1334 §2.2).
 *
 * Authenticate-Request (Code 1):
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |     Code      |  Identifier   |            Length             |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | Peer-ID Length|  Peer-Id ...
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | Passwd-Length |  Password ...
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Authenticate-Ack (2) / Authenticate-Nak (3):
 *  |     Code      |  Identifier   |            Length             |
 *  |  Msg-Length   |  Message  ...
 *
 * An Ack/Nak with Length 4 (no Msg-Length octet at all) is accepted as an empty message: some
 * peers send it that way.
 */
import { err, ok, put16, type Result, u16 } from '../../base/index.js';
import { type PppWireError, truncated } from './errors.js';

/** RFC 1334 §2.2 codes. */
export const PapCode = { AuthenticateRequest: 1, AuthenticateAck: 2, AuthenticateNak: 3 } as const;

/** A parsed PAP packet. */
export type PapPacket =
  | { readonly code: 1; readonly identifier: number; readonly peerId: Uint8Array; readonly password: Uint8Array }
  | { readonly code: 2 | 3; readonly identifier: number; readonly message: Uint8Array };

/** Parse a PAP packet (the information field of protocol 0xc023). */
export function parsePapPacket(buf: Uint8Array): Result<PapPacket, PppWireError> {
  if (buf.length < 4) return err(truncated('pap header', 4, buf.length));
  const code = buf[0] ?? 0;
  const identifier = buf[1] ?? 0;
  const length = u16(buf, 2);
  if (length < 4) return err({ kind: 'bad-length', what: 'pap', length });
  if (length > buf.length) return err(truncated('pap packet', length, buf.length));
  const d = buf.subarray(4, length);
  if (code === 1) {
    if (d.length < 1) return err(truncated('peer-id length', 5, length));
    const idLen = d[0] ?? 0;
    if (d.length < 1 + idLen + 1) return err(truncated('peer-id/passwd-length', 4 + 2 + idLen, length));
    const pwLen = d[1 + idLen] ?? 0;
    if (d.length < 2 + idLen + pwLen) return err(truncated('password', 4 + 2 + idLen + pwLen, length));
    return ok({ code, identifier, peerId: d.subarray(1, 1 + idLen), password: d.subarray(2 + idLen, 2 + idLen + pwLen) });
  }
  if (code === 2 || code === 3) {
    if (d.length === 0) return ok({ code, identifier, message: d });
    const mLen = d[0] ?? 0;
    if (d.length < 1 + mLen) return err(truncated('message', 5 + mLen, length));
    return ok({ code, identifier, message: d.subarray(1, 1 + mLen) });
  }
  return err({ kind: 'bad-value', what: 'pap code', detail: String(code) });
}

/** Bytes that `emitPapPacket` writes. */
export const papPacketLength = (p: PapPacket): number =>
  p.code === 1 ? 4 + 2 + p.peerId.length + p.password.length : 4 + 1 + p.message.length;

/** Write a PAP packet; returns bytes written. Fields over 255 octets are a programmer error. */
export function emitPapPacket(p: PapPacket, buf: Uint8Array, offset = 0): number {
  const len = papPacketLength(p);
  buf[offset] = p.code;
  buf[offset + 1] = p.identifier & 0xff;
  put16(buf, offset + 2, len);
  let o = offset + 4;
  if (p.code === 1) {
    if (p.peerId.length > 255 || p.password.length > 255) throw new RangeError('pap field too long');
    buf[o++] = p.peerId.length;
    buf.set(p.peerId, o);
    o += p.peerId.length;
    buf[o++] = p.password.length;
    buf.set(p.password, o);
  } else {
    if (p.message.length > 255) throw new RangeError('pap message too long');
    buf[o++] = p.message.length;
    buf.set(p.message, o);
  }
  return len;
}

/** Allocate and emit a PAP packet. */
export function encodePapPacket(p: PapPacket): Uint8Array {
  const out = new Uint8Array(papPacketLength(p));
  emitPapPacket(p, out);
  return out;
}
