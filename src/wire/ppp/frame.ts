/**
 * PPP frame without HDLC byte stuffing or FCS (RFC 1661 §2, RFC 1662 §3.1), as carried in L2TP
 * data messages (RFC 2661 §5.4 hands the PPP frame over without the HDLC framing).
 *
 *  +----------+----------+----------+-------------+---------+
 *  | Address  | Control  | Protocol | Information | Padding |
 *  | 0xff     | 0x03     | 8/16 bits|      *      |    *    |
 *  +----------+----------+----------+-------------+---------+
 *   (optional: ACFC, RFC 1661 §6.6)  (PFC: 1 octet when odd, §6.5)
 *
 * Parsing always accepts compressed Address/Control and Protocol fields (RFC 1661 §6.5/§6.6:
 * "MUST be able to receive" once negotiated; being liberal costs nothing). Padding cannot be told
 * apart from information here; the protocol's own Length field (LCP/NCP) trims it.
 */
import { type Result, ok, err } from '../../base/index.js';
import { type PppWireError, truncated } from './errors.js';

/** Well-known PPP protocol numbers (RFC 1661 §2, assigned numbers). */
export const PppProtocol = {
  IPv4: 0x0021,
  IPv6: 0x0057,
  IPCP: 0x8021,
  IPV6CP: 0x8057,
  CCP: 0x80fd,
  LCP: 0xc021,
  PAP: 0xc023,
  LQR: 0xc025,
  CHAP: 0xc223,
} as const;

/** A parsed PPP frame: protocol number and the information field (a view, not a copy). */
export interface PppFrame {
  readonly protocol: number;
  readonly info: Uint8Array;
}

/** How to emit a frame. */
export interface PppFrameOptions {
  /** Include the 0xff 0x03 Address and Control fields (omit only when ACFC is agreed). */
  readonly addressControl: boolean;
  /** Send a protocol < 0x100 as one octet (only when PFC is agreed and not for LCP). */
  readonly pfc: boolean;
}

/** RFC 1661 §2: the protocol number's low octet is odd and the high octet is even. */
export const isValidProtocol = (p: number): boolean => p >= 0 && p <= 0xffff && (p & 0x0001) === 1 && (p & 0x0100) === 0;

/** Parse a PPP frame (with or without Address/Control, with a 1- or 2-octet Protocol). */
export function parsePppFrame(buf: Uint8Array): Result<PppFrame, PppWireError> {
  let o = 0;
  // RFC 1662 §3.2: 0xff 0x03 unless compressed (ACFC). A bare 0xff first octet cannot be a protocol.
  if (buf.length >= 1 && buf[0] === 0xff) {
    if (buf.length < 2) return err(truncated('address/control', 2, buf.length));
    if (buf[1] !== 0x03) return err({ kind: 'bad-value', what: 'control', detail: `control 0x${(buf[1] ?? 0).toString(16)} != 0x03` });
    o = 2;
  }
  if (buf.length < o + 1) return err(truncated('protocol', o + 1, buf.length));
  const first = buf[o] ?? 0;
  let protocol: number;
  if ((first & 1) === 1) {
    // RFC 1661 §6.5: an odd first octet is a compressed (1-octet) protocol field.
    protocol = first;
    o += 1;
  } else {
    if (buf.length < o + 2) return err(truncated('protocol', o + 2, buf.length));
    protocol = (first << 8) | (buf[o + 1] ?? 0);
    o += 2;
  }
  if (!isValidProtocol(protocol)) return err({ kind: 'bad-protocol', protocol });
  return ok({ protocol, info: buf.subarray(o) });
}

/**
 * Protocol-Field-Compression applies (RFC 1661 §6.5): a protocol below 0x100, except 0x00ff, whose one
 * octet 0xff would read as the Address field of an uncompressed frame (the value is reserved as
 * "compression inefficient"; it is sent in two octets).
 */
function compressed(f: PppFrame, opts: PppFrameOptions): boolean {
  return opts.pfc && f.protocol < 0x100 && f.protocol !== 0xff;
}

/** Bytes that `emitPppFrame` writes. */
export function pppFrameLength(f: PppFrame, opts: PppFrameOptions): number {
  return (opts.addressControl ? 2 : 0) + (compressed(f, opts) ? 1 : 2) + f.info.length;
}

/** Write the frame at `buf[offset]`; returns the number of bytes written (= pppFrameLength). */
export function emitPppFrame(f: PppFrame, opts: PppFrameOptions, buf: Uint8Array, offset = 0): number {
  let o = offset;
  if (opts.addressControl) {
    buf[o++] = 0xff;
    buf[o++] = 0x03;
  }
  if (!compressed(f, opts)) buf[o++] = (f.protocol >>> 8) & 0xff;
  buf[o++] = f.protocol & 0xff;
  buf.set(f.info, o);
  return o + f.info.length - offset;
}

/** Allocate and emit a frame. */
export function encodePppFrame(f: PppFrame, opts: PppFrameOptions): Uint8Array {
  const out = new Uint8Array(pppFrameLength(f, opts));
  emitPppFrame(f, opts, out);
  return out;
}
