/**
 * RFC 3931 header codecs: the control message header over UDP (§3.2.1) and over IP (§4.1.1.2), the
 * data session headers over IP (§4.1.1.1) and UDP (§4.1.2.1), and the Default L2-Specific Sublayer
 * (§4.6). Integers are read byte by byte (no DataView per packet on the data path).
 *
 * Control message header (over IP it is preceded by 32 bits of zeros, the reserved Session ID 0):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |T|L|x|x|S|x|x|x|x|x|x|x|  Ver  |             Length            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Control Connection ID                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               Ns              |               Nr              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Data session header over UDP (over IP only the Session ID and Cookie):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |T|x|x|x|x|x|x|x|x|x|x|x|  Ver  |          Reserved             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           Session ID                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               Cookie (optional, maximum 64 bits)...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Default L2-Specific Sublayer:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |x|S|x|x|x|x|x|x|              Sequence Number                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { err, ok, put16 as wr16, put32 as wr32, type Result, u16 as rd16, u32 as rd32 } from '../../base/index.js';
import type { ControlConnectionId, V3ControlHeader, V3Encapsulation, V3SessionId, V3WireError } from './types.js';

/** T bit: control message (§3.2.1; must be 0 on UDP data, §4.1.2.1). */
export const V3_FLAG_T = 0x8000;
/** L bit: Length present (must be 1 on control). */
export const V3_FLAG_L = 0x4000;
/** S bit: Ns/Nr present (must be 1 on control). */
export const V3_FLAG_S = 0x0800;
/** Ver field mask. */
export const V3_VERSION_MASK = 0x000f;
/** Ver = 3 (§3.2.1). */
export const L2TP_VERSION_3 = 3;
/** Control header length from the T bit: flags/Ver, Length, Control Connection ID, Ns, Nr. */
export const V3_CONTROL_HEADER_LENGTH = 12;
/** The 32-bit zero Session ID that marks a control message over IP (§4.1.1.2). */
export const V3_IP_CONTROL_PREFIX = 4;
/** Data session header before the cookie: 8 over UDP (flags/Ver, Reserved, Session ID), 4 over IP. */
export const V3_UDP_DATA_HEADER = 8;
/** Over IP the session header is just the Session ID. */
export const V3_IP_DATA_HEADER = 4;
/** Default L2-Specific Sublayer length (§4.6). */
export const DEFAULT_SUBLAYER_LENGTH = 4;
/** S bit of the Default L2-Specific Sublayer (§4.6). */
export const SUBLAYER_FLAG_S = 0x40;
/** Sequence numbers are 24 bits (§4.6). */
export const SUBLAYER_SEQ_MASK = 0xffffff;

/** Where the control header starts for an encapsulation (after the zero Session ID over IP). */
export const controlOffset = (encap: V3Encapsulation): number => (encap === 'ip' ? V3_IP_CONTROL_PREFIX : 0);

/**
 * Parse the §3.2.1 control header of a datagram (IP payload or UDP payload). Over IP a non-zero first
 * word is a data message (`not-control`). Ver must be 3; T, L and S must be set (reserved bits are
 * ignored, §3.2.1). Length counts from the T bit and must fit the datagram. Never throws.
 */
export function parseV3ControlHeader(buf: Uint8Array, encap: V3Encapsulation): Result<V3ControlHeader, V3WireError> {
  const off = controlOffset(encap);
  const have = buf.length;
  if (have < off + 2) return err({ kind: 'truncated', need: off + 2, have });
  if (encap === 'ip') {
    const sid = rd32(buf, 0);
    if (sid !== 0) return err({ kind: 'not-control', sessionId: sid });
  }
  const flags = rd16(buf, off);
  const version = flags & V3_VERSION_MASK;
  if (version !== L2TP_VERSION_3) return err({ kind: 'bad-version', version });
  if ((flags & V3_FLAG_T) === 0) return err({ kind: 'bad-flags', detail: 'data message on the control path' });
  if ((flags & V3_FLAG_L) === 0) return err({ kind: 'bad-flags', detail: 'control message without L bit' });
  if ((flags & V3_FLAG_S) === 0) return err({ kind: 'bad-flags', detail: 'control message without S bit' });
  const need = off + V3_CONTROL_HEADER_LENGTH;
  if (have < need) return err({ kind: 'truncated', need, have });
  const length = rd16(buf, off + 2);
  if (length < V3_CONTROL_HEADER_LENGTH) {
    return err({ kind: 'bad-length', field: 'header', detail: `Length ${length} < header ${V3_CONTROL_HEADER_LENGTH}` });
  }
  if (off + length > have) return err({ kind: 'truncated', need: off + length, have });
  return ok({
    connectionId: rd32(buf, off + 4) as ControlConnectionId,
    ns: rd16(buf, off + 8),
    nr: rd16(buf, off + 10),
    length,
    offset: off,
  });
}

/** Write a control header (T=1, L=1, S=1, Ver=3) at `buf[at]`, and the zero Session ID before it over IP. */
export function writeV3ControlHeader(
  buf: Uint8Array,
  encap: V3Encapsulation,
  length: number,
  connectionId: number,
  ns: number,
  nr: number,
): void {
  const off = controlOffset(encap);
  if (encap === 'ip') wr32(buf, 0, 0);
  wr16(buf, off, V3_FLAG_T | V3_FLAG_L | V3_FLAG_S | L2TP_VERSION_3);
  wr16(buf, off + 2, length);
  wr32(buf, off + 4, connectionId);
  wr16(buf, off + 8, ns);
  wr16(buf, off + 10, nr);
}

/** What the first bytes of an L2TP UDP datagram are (§4.1.2.1: look at Ver before any flag). */
export type UdpKind = 'v3-control' | 'v3-data' | 'v2' | 'other';

/** Classify a UDP payload by its Ver field and T bit. */
export function classifyUdp(buf: Uint8Array): UdpKind {
  if (buf.length < 2) return 'other';
  const flags = rd16(buf, 0);
  const v = flags & V3_VERSION_MASK;
  if (v === 2) return 'v2';
  if (v !== L2TP_VERSION_3) return 'other';
  return (flags & V3_FLAG_T) !== 0 ? 'v3-control' : 'v3-data';
}

/** Bytes of the data session header (with cookie) for an encapsulation. */
export function v3DataHeaderLength(encap: V3Encapsulation, cookieLength: number): number {
  return (encap === 'udp' ? V3_UDP_DATA_HEADER : V3_IP_DATA_HEADER) + cookieLength;
}

/** A parsed data session header: the Session ID and where the cookie starts. */
export interface V3DataHeader {
  readonly sessionId: V3SessionId;
  /** Offset of the cookie (= end of the fixed session header). */
  readonly cookieOffset: number;
}

/**
 * Parse a data session header (§4.1.1.1 over IP, §4.1.2.1 over UDP). Over UDP the T bit must be 0 and
 * Ver 3 (reserved bits ignored); over IP a zero Session ID is a control message (`bad-flags`). The
 * cookie is checked by the session, which knows its length. Never throws.
 */
export function parseV3DataHeader(buf: Uint8Array, encap: V3Encapsulation): Result<V3DataHeader, V3WireError> {
  const have = buf.length;
  if (encap === 'udp') {
    if (have < V3_UDP_DATA_HEADER) return err({ kind: 'truncated', need: V3_UDP_DATA_HEADER, have });
    const flags = rd16(buf, 0);
    const version = flags & V3_VERSION_MASK;
    if (version !== L2TP_VERSION_3) return err({ kind: 'bad-version', version });
    if ((flags & V3_FLAG_T) !== 0) return err({ kind: 'bad-flags', detail: 'control message on the data path' });
    return ok({ sessionId: rd32(buf, 4) as V3SessionId, cookieOffset: V3_UDP_DATA_HEADER });
  }
  if (have < V3_IP_DATA_HEADER) return err({ kind: 'truncated', need: V3_IP_DATA_HEADER, have });
  const sid = rd32(buf, 0);
  if (sid === 0) return err({ kind: 'bad-flags', detail: 'Session ID 0 (control message) on the data path' });
  return ok({ sessionId: sid as V3SessionId, cookieOffset: V3_IP_DATA_HEADER });
}

/**
 * Write a data session header and cookie at `buf[at]`; returns the bytes written
 * (`v3DataHeaderLength`). Reserved fields are written as zero. Throws RangeError only on programmer
 * error (buffer too small, cookie not 0/4/8 bytes).
 */
export function writeV3DataHeader(buf: Uint8Array, at: number, encap: V3Encapsulation, sessionId: number, cookie: Uint8Array): number {
  const n = v3DataHeaderLength(encap, cookie.length);
  if (cookie.length !== 0 && cookie.length !== 4 && cookie.length !== 8) throw new RangeError(`cookie must be 0, 4 or 8 bytes, got ${cookie.length}`);
  if (at < 0 || at + n > buf.length) throw new RangeError(`data header needs ${n} bytes at ${at}, buffer has ${buf.length}`);
  let p = at;
  if (encap === 'udp') {
    wr16(buf, p, L2TP_VERSION_3);
    wr16(buf, p + 2, 0);
    p += 4;
  }
  wr32(buf, p, sessionId);
  buf.set(cookie, p + 4);
  return n;
}

/** True if `buf[at..at+cookie.length)` equals `cookie` (caller checked bounds). */
export function cookieMatches(buf: Uint8Array, at: number, cookie: Uint8Array): boolean {
  for (let i = 0; i < cookie.length; i++) if (buf[at + i] !== cookie[i]) return false;
  return true;
}

/** Write the Default L2-Specific Sublayer (§4.6): S=1 with `seq` (24 bits), or all zeros (S=0). */
export function writeDefaultSublayer(buf: Uint8Array, at: number, seq: number | undefined): void {
  if (seq === undefined) {
    wr32(buf, at, 0);
    return;
  }
  wr32(buf, at, (SUBLAYER_FLAG_S << 24) | (seq & SUBLAYER_SEQ_MASK));
}

/** Read the Default L2-Specific Sublayer: the sequence number when S=1, else -1 (§4.6: ignore it). */
export function readDefaultSublayer(buf: Uint8Array, at: number): number {
  if (((buf[at] ?? 0) & SUBLAYER_FLAG_S) === 0) return -1;
  return rd32(buf, at) & SUBLAYER_SEQ_MASK;
}
