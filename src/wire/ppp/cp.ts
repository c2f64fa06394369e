/**
 * Control-protocol packets shared by LCP (RFC 1661 §5), IPCP (RFC 1332) and IPV6CP (RFC 5072).
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |     Code      |  Identifier   |            Length             |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |    Data ...
 *  +-+-+-+-+
 *
 * Configure-* data is a list of options (RFC 1661 §6):
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |     Type      |    Length     |    Data ...
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Protocol-Reject (§5.7): Rejected-Protocol (2 octets), Rejected-Information.
 * Echo-Request/Reply, Discard-Request (§5.8): Magic-Number (4 octets), Data.
 *
 * Octets beyond Length are padding and are ignored (§5); Length beyond the buffer is an error.
 * Codes 8..11 exist only in LCP; for an NCP they parse as `unknown` (answered with Code-Reject).
 */
import { err, ok, put16, put32, type Result, u16, u32 } from '../../base/index.js';
import { type PppWireError, truncated } from './errors.js';

/** RFC 1661 §5 packet codes. */
export const CpCode = {
  ConfigureRequest: 1,
  ConfigureAck: 2,
  ConfigureNak: 3,
  ConfigureReject: 4,
  TerminateRequest: 5,
  TerminateAck: 6,
  CodeReject: 7,
  ProtocolReject: 8,
  EchoRequest: 9,
  EchoReply: 10,
  DiscardRequest: 11,
} as const;

/** A configuration option (RFC 1661 §6): type and raw data (Length = data.length + 2). */
export interface CpOption {
  readonly type: number;
  readonly data: Uint8Array;
}

/** Configure-Request/Ack/Nak/Reject codes. */
export type ConfigureCode = 1 | 2 | 3 | 4;

/** A parsed control-protocol packet. */
export type CpPacket =
  | { readonly kind: 'configure'; readonly code: ConfigureCode; readonly identifier: number; readonly options: readonly CpOption[] }
  | { readonly kind: 'terminate'; readonly code: 5 | 6; readonly identifier: number; readonly data: Uint8Array }
  | { readonly kind: 'code-reject'; readonly code: 7; readonly identifier: number; readonly rejected: Uint8Array }
  | {
      readonly kind: 'protocol-reject';
      readonly code: 8;
      readonly identifier: number;
      readonly protocol: number;
      readonly rejected: Uint8Array;
    }
  | { readonly kind: 'echo'; readonly code: 9 | 10 | 11; readonly identifier: number; readonly magic: number; readonly data: Uint8Array }
  | { readonly kind: 'unknown'; readonly code: number; readonly identifier: number; readonly data: Uint8Array };

/** Parse options (RFC 1661 §6); a Length < 2 or past the end is an error. */
export function parseCpOptions(buf: Uint8Array): Result<readonly CpOption[], PppWireError> {
  const out: CpOption[] = [];
  let o = 0;
  while (o < buf.length) {
    if (buf.length - o < 2) return err(truncated('option header', o + 2, buf.length));
    const type = buf[o] ?? 0;
    const len = buf[o + 1] ?? 0;
    if (len < 2) return err({ kind: 'bad-option', type, detail: `length ${len} < 2` });
    if (o + len > buf.length) return err(truncated(`option ${type}`, o + len, buf.length));
    out.push({ type, data: buf.subarray(o + 2, o + len) });
    o += len;
  }
  return ok(out);
}

/** Bytes of an option list. */
export const cpOptionsLength = (opts: readonly CpOption[]): number => opts.reduce((n, x) => n + 2 + x.data.length, 0);

/** Write options at `buf[offset]`; returns bytes written. An option longer than 255 is a programmer error. */
export function emitCpOptions(opts: readonly CpOption[], buf: Uint8Array, offset = 0): number {
  let o = offset;
  for (const opt of opts) {
    if (opt.data.length > 253) throw new RangeError(`option ${opt.type} data too long`);
    buf[o] = opt.type;
    buf[o + 1] = opt.data.length + 2;
    buf.set(opt.data, o + 2);
    o += 2 + opt.data.length;
  }
  return o - offset;
}

/** Parse a packet of `lcp` (codes 8..11 known) or an NCP (codes 1..7 known). */
export function parseCpPacket(buf: Uint8Array, lcp: boolean): Result<CpPacket, PppWireError> {
  if (buf.length < 4) return err(truncated('cp header', 4, buf.length));
  const code = buf[0] ?? 0;
  const identifier = buf[1] ?? 0;
  const length = u16(buf, 2);
  if (length < 4) return err({ kind: 'bad-length', what: 'cp', length });
  if (length > buf.length) return err(truncated('cp packet', length, buf.length));
  const data = buf.subarray(4, length);
  switch (code) {
    case 1:
    case 2:
    case 3:
    case 4: {
      const opts = parseCpOptions(data);
      if (!opts.ok) return opts;
      return ok({ kind: 'configure', code, identifier, options: opts.value });
    }
    case 5:
    case 6:
      return ok({ kind: 'terminate', code, identifier, data });
    case 7:
      return ok({ kind: 'code-reject', code, identifier, rejected: data });
  }
  if (lcp) {
    switch (code) {
      case 8:
        if (data.length < 2) return err(truncated('rejected-protocol', 6, length));
        return ok({ kind: 'protocol-reject', code, identifier, protocol: u16(data, 0), rejected: data.subarray(2) });
      case 9:
      case 10:
      case 11:
        if (data.length < 4) return err(truncated('magic-number', 8, length));
        return ok({ kind: 'echo', code, identifier, magic: u32(data, 0), data: data.subarray(4) });
    }
  }
  return ok({ kind: 'unknown', code, identifier, data });
}

/** Bytes of the packet body after the 4-octet header. */
function bodyLength(p: CpPacket): number {
  switch (p.kind) {
    case 'configure':
      return cpOptionsLength(p.options);
    case 'terminate':
    case 'unknown':
      return p.data.length;
    case 'code-reject':
      return p.rejected.length;
    case 'protocol-reject':
      return 2 + p.rejected.length;
    case 'echo':
      return 4 + p.data.length;
  }
}

/** Bytes that `emitCpPacket` writes. */
export const cpPacketLength = (p: CpPacket): number => 4 + bodyLength(p);

/** Write the packet at `buf[offset]`; returns bytes written (= cpPacketLength). */
export function emitCpPacket(p: CpPacket, buf: Uint8Array, offset = 0): number {
  const len = cpPacketLength(p);
  buf[offset] = p.code;
  buf[offset + 1] = p.identifier & 0xff;
  put16(buf, offset + 2, len);
  const o = offset + 4;
  switch (p.kind) {
    case 'configure':
      emitCpOptions(p.options, buf, o);
      break;
    case 'terminate':
    case 'unknown':
      buf.set(p.data, o);
      break;
    case 'code-reject':
      buf.set(p.rejected, o);
      break;
    case 'protocol-reject':
      put16(buf, o, p.protocol);
      buf.set(p.rejected, o + 2);
      break;
    case 'echo':
      put32(buf, o, p.magic);
      buf.set(p.data, o + 4);
      break;
  }
  return len;
}

/** Allocate and emit a packet. */
export function encodeCpPacket(p: CpPacket): Uint8Array {
  const out = new Uint8Array(cpPacketLength(p));
  emitCpPacket(p, out);
  return out;
}
