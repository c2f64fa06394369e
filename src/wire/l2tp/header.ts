/**
 * RFC 2661 §3.1 L2TPv2 header codec (control and data), and the data-message codec. `L2tpHeaderView`
 * checks a header once and then reads its fields without further checks (the data fast path).
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
import { err, ok, type Result, u16 } from '../../base/index.js';
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

const EMPTY = new Uint8Array(0);

/**
 * A checked view of the §3.1 header of one L2TPv2 datagram (smoltcp's `Packet::new_checked`): `check`
 * validates the header once (version, the control-message flag rules, Length, the offset pad), and
 * afterwards every accessor reads a field that is known to be there: none can fail. One instance can be
 * re-pointed at datagram after datagram (the engine keeps one: no allocation per data packet); the
 * payload is a view into the datagram, not a copy.
 */
export class L2tpHeaderView {
  private bytes: Uint8Array = EMPTY;
  private flags = 0;
  private len = 0;
  private tid = 0;
  private sid = 0;
  private seqNs = 0;
  private seqNr = 0;
  private offset = 0;
  private hlen = 0;

  /** A fresh view of `buf`, or the error that `check` found. */
  static checked(buf: Uint8Array, maxOffset = Infinity): Result<L2tpHeaderView, WireError> {
    const v = new L2tpHeaderView();
    const e = v.check(buf, maxOffset);
    return e === undefined ? ok(v) : err(e);
  }

  /**
   * Point the view at `buf` and validate its header; undefined when the accessors are valid. Rejects
   * Ver≠2 (bad-version; Ver=3 is L2TPv3, RFC 3931) and control messages without T=1,L=1,S=1,O=0
   * (bad-flags). `maxOffset` bounds the Offset Size (offset-too-large). Never throws.
   */
  check(buf: Uint8Array, maxOffset = Infinity): WireError | undefined {
    const have = buf.length;
    if (have < 2) return { kind: 'truncated', need: 2, have };
    const flags = u16(buf, 0);
    const version = flags & VERSION_MASK;
    if (version !== L2TP_VERSION_2) return { kind: 'bad-version', version };
    const hasL = (flags & FLAG_L) !== 0;
    const hasS = (flags & FLAG_S) !== 0;
    const hasO = (flags & FLAG_O) !== 0;
    // §3.1: control messages MUST have L=1, S=1 and O=0.
    if ((flags & FLAG_T) !== 0) {
      if (!hasL) return { kind: 'bad-flags', detail: 'control message without L bit' };
      if (!hasS) return { kind: 'bad-flags', detail: 'control message without S bit' };
      if (hasO) return { kind: 'bad-flags', detail: 'control message with O bit' };
    }
    const fixed = 6 + (hasL ? 2 : 0) + (hasS ? 4 : 0) + (hasO ? 2 : 0);
    if (have < fixed) return { kind: 'truncated', need: fixed, have };
    let at = 2;
    let length = have;
    if (hasL) {
      length = u16(buf, at);
      at += 2;
      if (length > have) return { kind: 'truncated', need: length, have };
      if (length < fixed) return { kind: 'bad-length', field: 'header', detail: `Length ${length} < header ${fixed}` };
    }
    const tunnelId = u16(buf, at);
    const sessionId = u16(buf, at + 2);
    at += 4;
    let ns = 0;
    let nr = 0;
    if (hasS) {
      ns = u16(buf, at);
      nr = u16(buf, at + 2);
      at += 4;
    }
    let offsetSize = 0;
    if (hasO) {
      offsetSize = u16(buf, at);
      at += 2;
      if (offsetSize > maxOffset) return { kind: 'offset-too-large', offsetSize, max: maxOffset };
      at += offsetSize;
      if (at > length) {
        return hasL
          ? { kind: 'bad-length', field: 'offset', detail: `offset pad ends at ${at} > Length ${length}` }
          : { kind: 'truncated', need: at, have };
      }
    }
    this.bytes = buf;
    this.flags = flags;
    this.len = length;
    this.tid = tunnelId;
    this.sid = sessionId;
    this.seqNs = ns;
    this.seqNr = nr;
    this.offset = offsetSize;
    this.hlen = at;
    return undefined;
  }

  /** T bit: a control message. */
  get isControl(): boolean {
    return (this.flags & FLAG_T) !== 0;
  }
  /** Tunnel ID (the receiver's). */
  get tunnelId(): TunnelId {
    return this.tid as TunnelId;
  }
  /** Session ID (the receiver's). */
  get sessionId(): SessionId {
    return this.sid as SessionId;
  }
  /** S bit: Ns and Nr are present. */
  get sequenced(): boolean {
    return (this.flags & FLAG_S) !== 0;
  }
  /** Ns (0 without S). */
  get ns(): number {
    return this.seqNs;
  }
  /** Nr (0 without S). */
  get nr(): number {
    return this.seqNr;
  }
  /** O bit: an Offset Size field is present. */
  get hasOffset(): boolean {
    return (this.flags & FLAG_O) !== 0;
  }
  /** Offset Size (0 without O). */
  get offsetSize(): number {
    return this.offset;
  }
  /** P bit (data messages only). */
  get priority(): boolean {
    return (this.flags & FLAG_P) !== 0;
  }
  /** Bytes before the payload (fields and the offset pad). */
  get headerLength(): number {
    return this.hlen;
  }
  /** The message length: the Length field, or the datagram length without L. */
  get length(): number {
    return this.len;
  }
  /** The payload (after the offset pad, up to Length): a view into the datagram. */
  payload(): Uint8Array {
    return this.bytes.subarray(this.hlen, this.len);
  }

  /** The typed header value (the control codec and `parseHeader` hand this out). */
  header(): L2tpHeader {
    const base = { isControl: this.isControl, tunnelId: this.tunnelId, sessionId: this.sessionId, headerLength: this.hlen, length: this.len };
    const seq = this.sequenced ? { ns: this.seqNs, nr: this.seqNr } : {};
    if (this.isControl) return { ...base, ...seq };
    const off = this.hasOffset ? { offsetSize: this.offset } : {};
    return { ...base, ...seq, ...off, priority: this.priority };
  }

  /** The data message value (§3.1 T=0): Ns/Nr when sequenced, the payload as a view. */
  dataMessage(): DataMessage {
    const tunnelId = this.tunnelId;
    const sessionId = this.sessionId;
    const priority = this.priority;
    const payload = this.payload();
    if (this.sequenced) return { tunnelId, sessionId, ns: this.seqNs, nr: this.seqNr, priority, payload };
    return { tunnelId, sessionId, priority, payload };
  }
}

/** A DataView over exactly `buf`. */
export function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Shared view for the one-shot parse functions below (they copy out what they return). */
const shared = new L2tpHeaderView();

/**
 * Parse the §3.1 header of any L2TPv2 datagram. Rejects Ver≠2 (bad-version; Ver=3 is L2TPv3, handled
 * elsewhere) and control messages without T=1,L=1,S=1,O=0 (bad-flags). Never throws.
 */
export function parseHeader(buf: Uint8Array): Result<L2tpHeader, WireError> {
  const e = shared.check(buf);
  return e === undefined ? ok(shared.header()) : err(e);
}

/** Internal: header parse for the control codec (`dv` is its DataView over `buf`, kept for the signature). */
export function parseHeaderWithView(buf: Uint8Array, dv: DataView): Result<L2tpHeader, WireError> {
  void dv;
  return parseHeader(buf);
}

/**
 * Parse a data message (T=0). `payload` is a subarray view of `buf` from the end of the header (after
 * the offset pad) to Length (or the datagram end without L). Offset Size > `opts.maxOffset` gives
 * offset-too-large. Never throws.
 */
export function parseData(buf: Uint8Array, opts: ParseDataOptions): Result<DataMessage, WireError> {
  const e = shared.check(buf, opts.maxOffset);
  if (e !== undefined) return err(e);
  if (shared.isControl) return err({ kind: 'bad-flags', detail: 'control message on the data path' });
  return ok(shared.dataMessage());
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
