/**
 * RFC 2661 §3.1 L2TPv2 header codec (control and data), and the data-message codec.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |T|L|x|x|S|x|O|P|x|x|x|x|  Ver  |          Length (opt)         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Tunnel ID           |           Session ID          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |             Ns (opt)          |             Nr (opt)          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      Offset Size (opt)        |    Offset pad... (opt)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { err, ok, type Result } from '../../base/result.js';
import type {
  DataHeaderFields,
  DataMessage,
  L2tpHeader,
  ParseDataOptions,
  SessionId,
  TunnelId,
  WireError,
} from './types.js';

/** T bit: control message. */
export const FLAG_T = 0x8000;
/** L bit: Length field present. */
export const FLAG_L = 0x4000;
/** S bit: Ns/Nr present. */
export const FLAG_S = 0x0800;
/** O bit: Offset Size present. */
export const FLAG_O = 0x0200;
/** P bit: priority (data only). */
export const FLAG_P = 0x0100;
/** Ver field mask (low 4 bits of the first word). */
export const VERSION_MASK = 0x000f;
/** Ver=2 is L2TPv2 (RFC 2661); 3 is L2TPv3 (RFC 3931), 1 is L2F. */
export const L2TP_VERSION_2 = 2;
/** A control header is always 12 bytes: flags, Length, Tunnel ID, Session ID, Ns, Nr (§3.1). */
export const CONTROL_HEADER_LENGTH = 12;

/** Scratch fields filled by `readHeader`; parse paths copy what they need (no per-call object). */
interface HeaderScratch {
  flags: number;
  length: number;
  tunnelId: number;
  sessionId: number;
  ns: number;
  nr: number;
  offsetSize: number;
  headerLength: number;
}
const scratch: HeaderScratch = { flags: 0, length: 0, tunnelId: 0, sessionId: 0, ns: 0, nr: 0, offsetSize: 0, headerLength: 0 };

/**
 * Read the §3.1 header into `scratch`. Returns an error or undefined. `maxOffset` bounds the Offset
 * Size (data path, ParseDataOptions); the header path passes Infinity.
 */
function readHeader(buf: Uint8Array, dv: DataView, maxOffset: number): WireError | undefined {
  const have = buf.length;
  if (have < 2) return { kind: 'truncated', need: 2, have };
  const flags = dv.getUint16(0);
  const version = flags & VERSION_MASK;
  if (version !== L2TP_VERSION_2) return { kind: 'bad-version', version };
  const isControl = (flags & FLAG_T) !== 0;
  // §3.1: control messages MUST have L=1, S=1 and O=0.
  if (isControl) {
    if ((flags & FLAG_L) === 0) return { kind: 'bad-flags', detail: 'control message without L bit' };
    if ((flags & FLAG_S) === 0) return { kind: 'bad-flags', detail: 'control message without S bit' };
    if ((flags & FLAG_O) !== 0) return { kind: 'bad-flags', detail: 'control message with O bit' };
  }
  const hasL = (flags & FLAG_L) !== 0;
  const hasS = (flags & FLAG_S) !== 0;
  const hasO = (flags & FLAG_O) !== 0;
  const fixed = 6 + (hasL ? 2 : 0) + (hasS ? 4 : 0) + (hasO ? 2 : 0);
  if (have < fixed) return { kind: 'truncated', need: fixed, have };
  let at = 2;
  let length = have;
  if (hasL) {
    length = dv.getUint16(at);
    at += 2;
    if (length > have) return { kind: 'truncated', need: length, have };
    if (length < fixed) return { kind: 'bad-length', field: 'header', detail: `Length ${length} < header ${fixed}` };
  }
  const tunnelId = dv.getUint16(at);
  const sessionId = dv.getUint16(at + 2);
  at += 4;
  let ns = 0;
  let nr = 0;
  if (hasS) {
    ns = dv.getUint16(at);
    nr = dv.getUint16(at + 2);
    at += 4;
  }
  let offsetSize = 0;
  if (hasO) {
    offsetSize = dv.getUint16(at);
    at += 2;
    if (offsetSize > maxOffset) return { kind: 'offset-too-large', offsetSize, max: maxOffset };
    at += offsetSize;
    if (at > length) {
      return hasL
        ? { kind: 'bad-length', field: 'offset', detail: `offset pad ends at ${at} > Length ${length}` }
        : { kind: 'truncated', need: at, have };
    }
  }
  scratch.flags = flags;
  scratch.length = length;
  scratch.tunnelId = tunnelId;
  scratch.sessionId = sessionId;
  scratch.ns = ns;
  scratch.nr = nr;
  scratch.offsetSize = offsetSize;
  scratch.headerLength = at;
  return undefined;
}

/** A DataView over exactly `buf`. */
export function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Build the typed header from `scratch` (only called after a successful `readHeader`). */
function headerFromScratch(): L2tpHeader {
  const s = scratch;
  const isControl = (s.flags & FLAG_T) !== 0;
  const base = {
    isControl,
    tunnelId: s.tunnelId as TunnelId,
    sessionId: s.sessionId as SessionId,
    headerLength: s.headerLength,
    length: s.length,
  };
  const seq = (s.flags & FLAG_S) !== 0 ? { ns: s.ns, nr: s.nr } : {};
  if (isControl) return { ...base, ...seq };
  const off = (s.flags & FLAG_O) !== 0 ? { offsetSize: s.offsetSize } : {};
  return { ...base, ...seq, ...off, priority: (s.flags & FLAG_P) !== 0 };
}

/**
 * Parse the §3.1 header of any L2TPv2 datagram. Rejects Ver≠2 (bad-version; Ver=3 is L2TPv3, handled
 * elsewhere) and control messages without T=1,L=1,S=1,O=0 (bad-flags). Never throws.
 */
export function parseHeader(buf: Uint8Array): Result<L2tpHeader, WireError> {
  const e = readHeader(buf, viewOf(buf), Infinity);
  return e === undefined ? ok(headerFromScratch()) : err(e);
}

/** Internal: header parse that also hands back the DataView (used by the control codec). */
export function parseHeaderWithView(buf: Uint8Array, dv: DataView): Result<L2tpHeader, WireError> {
  const e = readHeader(buf, dv, Infinity);
  return e === undefined ? ok(headerFromScratch()) : err(e);
}

/**
 * Parse a data message (T=0). `payload` is a subarray view of `buf` from the end of the header (after
 * the offset pad) to Length (or the datagram end without L). Offset Size > `opts.maxOffset` gives
 * offset-too-large. Never throws.
 */
export function parseData(buf: Uint8Array, opts: ParseDataOptions): Result<DataMessage, WireError> {
  const e = readHeader(buf, viewOf(buf), opts.maxOffset);
  if (e !== undefined) return err(e);
  const s = scratch;
  if ((s.flags & FLAG_T) !== 0) return err({ kind: 'bad-flags', detail: 'control message on the data path' });
  const payload = buf.subarray(s.headerLength, s.length);
  const priority = (s.flags & FLAG_P) !== 0;
  const tunnelId = s.tunnelId as TunnelId;
  const sessionId = s.sessionId as SessionId;
  if ((s.flags & FLAG_S) !== 0) return ok({ tunnelId, sessionId, ns: s.ns, nr: s.nr, priority, payload });
  return ok({ tunnelId, sessionId, priority, payload });
}

/**
 * Bytes of a data header with these options (§3.1): 6, +2 with L, +4 with S (Ns/Nr), +2+offsetSize
 * when `offsetSize` is given (O bit).
 */
export function dataHeaderLength(h: { readonly sequenced: boolean; readonly offsetSize?: number; readonly withLength?: boolean }): number {
  return 6 + (h.withLength === true ? 2 : 0) + (h.sequenced ? 4 : 0) + (h.offsetSize !== undefined ? 2 + h.offsetSize : 0);
}

/**
 * Write a data header at `buf[at]` (into headroom reserved in front of a PPP frame, no copies).
 * `totalLength` is the whole L2TP message length (header + payload), written when `withLength`.
 * Writes exactly `dataHeaderLength(...)` bytes; offset pad bytes are zero. S is set iff `ns` is given;
 * O iff `offsetSize` is given. Throws RangeError only on programmer error (buffer too small).
 */
export function writeDataHeader(buf: Uint8Array, at: number, h: DataHeaderFields, totalLength: number): void {
  const sequenced = h.ns !== undefined;
  const withLength = h.withLength === true;
  const len = dataHeaderLength({ sequenced, withLength, ...(h.offsetSize !== undefined ? { offsetSize: h.offsetSize } : {}) });
  if (at < 0 || at + len > buf.length) throw new RangeError(`data header needs ${len} bytes at ${at}, buffer has ${buf.length}`);
  const dv = new DataView(buf.buffer, buf.byteOffset + at, len);
  let flags = L2TP_VERSION_2;
  if (withLength) flags |= FLAG_L;
  if (sequenced) flags |= FLAG_S;
  if (h.offsetSize !== undefined) flags |= FLAG_O;
  if (h.priority === true) flags |= FLAG_P;
  dv.setUint16(0, flags);
  let p = 2;
  if (withLength) {
    dv.setUint16(p, totalLength);
    p += 2;
  }
  dv.setUint16(p, h.tunnelId);
  dv.setUint16(p + 2, h.sessionId);
  p += 4;
  if (sequenced) {
    dv.setUint16(p, h.ns ?? 0);
    dv.setUint16(p + 2, h.nr ?? 0);
    p += 4;
  }
  if (h.offsetSize !== undefined) {
    dv.setUint16(p, h.offsetSize);
    p += 2;
    buf.fill(0, at + p, at + p + h.offsetSize);
  }
}

/**
 * Write the 12-byte control header (§3.1: T=1, L=1, S=1, Ver=2) through `dv` at offset `at`.
 */
export function writeControlHeader(
  dv: DataView,
  at: number,
  length: number,
  tunnelId: number,
  sessionId: number,
  ns: number,
  nr: number,
): void {
  dv.setUint16(at, FLAG_T | FLAG_L | FLAG_S | L2TP_VERSION_2);
  dv.setUint16(at + 2, length);
  dv.setUint16(at + 4, tunnelId);
  dv.setUint16(at + 6, sessionId);
  dv.setUint16(at + 8, ns);
  dv.setUint16(at + 10, nr);
}
