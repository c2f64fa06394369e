/**
 * RFC 2661 §4.4 AVP registry (+ RFC 3145 attribute 46): one row per AVP with its attribute number,
 * ControlAvps key, the M bit we send, whether it MAY be hidden, its value codec and RFC section.
 *
 * Every AVP (§4.1):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |M|H| rsvd  |      Length       |           Vendor ID           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Attribute Type        |        Attribute Value...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *                     [until Length is reached]...                |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { copyBytes, err, ok, type Result, toHex } from '../../base/index.js';
import type {
  Accm,
  AvpName,
  CallErrors,
  ControlAvps,
  PppDisconnectCause,
  Q931Cause,
  ResultCode,
  SessionId,
  TunnelId,
} from './types.js';

/** M bit in the AVP flags/length word. */
export const AVP_FLAG_M = 0x8000;
/** H bit (hidden, §4.3). */
export const AVP_FLAG_H = 0x4000;
/** Reserved bits: an AVP with any set MUST be treated as unrecognized (§4.1). */
export const AVP_FLAG_RESERVED = 0x3c00;
/** Length mask (10 bits). */
export const AVP_LENGTH_MASK = 0x03ff;
/** AVP header: flags/length, Vendor ID, Attribute Type. */
export const AVP_HEADER_LENGTH = 6;
/** Largest AVP Length (10-bit field). */
export const AVP_MAX_LENGTH = 0x3ff;
/** IETF vendor id. */
export const IETF_VENDOR = 0;
/** §4.4.1 Message Type AVP attribute: first AVP, M=1, never hidden, 2-byte value. */
export const ATTR_MESSAGE_TYPE = 0;
/** §4.4.3 Random Vector AVP attribute: M=1, never hidden, ≥1 byte value. */
export const ATTR_RANDOM_VECTOR = 36;

/** A value codec: `parse` gets exactly the value bytes and returns a detail string on error. */
export interface AvpCodec<T> {
  /** Decode the value bytes (a view; codecs copy what they keep). */
  parse(v: Uint8Array, dv: DataView): Result<T, string>;
  /** Bytes `emit` writes for `value`. */
  length(value: T): number;
  /** Write exactly `length(value)` bytes at `out[at]`. */
  emit(value: T, out: Uint8Array, dv: DataView, at: number): void;
  /** Human text for the debug log. */
  format(value: T): string;
}

/** One registry row (type-erased value; `avpRow` ties the codec to the ControlAvps key). */
export interface AvpRegistryEntry {
  /** Attribute Type (vendor 0). */
  readonly attribute: number;
  /** ControlAvps key. */
  readonly name: AvpName;
  /** RFC name, for logs. */
  readonly title: string;
  /** M bit we send (the RFC's "MUST be set to ..."). */
  readonly mandatory: boolean;
  /** The RFC allows the H bit on this AVP. */
  readonly hidable: boolean;
  /** RFC section. */
  readonly section: string;
  /** Value codec. */
  readonly codec: AvpCodec<unknown>;
}

type AvpValue<K extends AvpName> = NonNullable<ControlAvps[K]>;

function avpRow<K extends AvpName>(
  attribute: number,
  name: K,
  title: string,
  mandatory: boolean,
  hidable: boolean,
  section: string,
  codec: AvpCodec<AvpValue<K>>,
): AvpRegistryEntry {
  return { attribute, name, title, mandatory, hidable, section, codec };
}

// ---------------------------------------------------------------- value codecs

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const utf8Enc = new TextEncoder();

/** Bytes of `s` in UTF-8 (cheap for the ASCII host/number strings L2TP carries). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function writeUtf8(s: string, out: Uint8Array, at: number): void {
  utf8Enc.encodeInto(s, out.subarray(at, at + utf8Length(s)));
}

const quote = (s: string): string => JSON.stringify(s);

/** 16-bit integer (§4.4: Assigned Tunnel/Session ID, Receive Window Size, ...). */
function u16Codec<T extends number>(): AvpCodec<T> {
  return {
    parse: (v, dv) => (v.length === 2 ? ok(dv.getUint16(0) as T) : err(`length ${v.length}, want 2`)),
    length: () => 2,
    emit: (x, _o, dv, at) => dv.setUint16(at, x),
    format: (x) => String(x),
  };
}

/** 32-bit integer (§4.4: capabilities, BPS, serial numbers, ...). */
function u32Codec(fmt: (x: number) => string = String): AvpCodec<number> {
  return {
    parse: (v, dv) => (v.length === 4 ? ok(dv.getUint32(0)) : err(`length ${v.length}, want 4`)),
    length: () => 4,
    emit: (x, _o, dv, at) => dv.setUint32(at, x >>> 0),
    format: fmt,
  };
}

/** Opaque string (§4.4: Host Name, Vendor Name, numbers, ...), decoded as UTF-8. */
function stringCodec(min: number): AvpCodec<string> {
  return {
    parse: (v) => (v.length >= min ? ok(utf8.decode(v)) : err(`length ${v.length} < ${min}`)),
    length: (s) => utf8Length(s),
    emit: (s, out, _dv, at) => writeUtf8(s, out, at),
    format: quote,
  };
}

/** Opaque bytes, copied out of the datagram; `exact` pins the length. */
function bytesCodec(min: number, exact?: number): AvpCodec<Uint8Array> {
  return {
    parse: (v) => {
      if (exact !== undefined && v.length !== exact) return err(`length ${v.length}, want ${exact}`);
      if (v.length < min) return err(`length ${v.length} < ${min}`);
      // A Buffer's slice() is a view: copy so the value never aliases the datagram.
      return ok(copyBytes(v));
    },
    length: (b) => b.length,
    emit: (b, out, _dv, at) => out.set(b, at),
    format: (b) => `0x${toHex(b)} (${b.length} bytes)`,
  };
}

/** Result code tables for StopCCN (§4.4.2) — the default — and CDN. */
export const STOPCCN_RESULT_TEXT: Readonly<Record<number, string>> = {
  0: 'Reserved',
  1: 'General request to clear',
  2: 'General error',
  3: 'Control channel already exists',
  4: 'Requester is not authorized',
  5: 'Protocol version not supported',
  6: 'Requester is being shut down',
  7: 'Finite State Machine error',
};
/** §4.4.2 CDN result codes. */
export const CDN_RESULT_TEXT: Readonly<Record<number, string>> = {
  0: 'Reserved',
  1: 'Lost carrier',
  2: 'General error',
  3: 'Administrative disconnect',
  4: 'Temporary lack of facilities',
  5: 'Permanent lack of facilities',
  6: 'Invalid destination',
  7: 'No carrier',
  8: 'Busy',
  9: 'No dial tone',
  10: 'Not established in time',
  11: 'No appropriate framing',
};
/** §4.4.2 General error codes. */
export const ERROR_CODE_TEXT: Readonly<Record<number, string>> = {
  0: 'No general error',
  1: 'No control connection exists yet',
  2: 'Length is wrong',
  3: 'Field value out of range or reserved field non-zero',
  4: 'Insufficient resources',
  5: 'Invalid Session ID',
  6: 'Vendor-specific error',
  7: 'Try another',
  8: 'Unknown mandatory AVP',
};

/** Format a Result Code AVP; `cdn` picks the CDN result table (§4.4.2). */
export function formatResultCode(r: ResultCode, cdn: boolean): string {
  const table = cdn ? CDN_RESULT_TEXT : STOPCCN_RESULT_TEXT;
  let s = `${r.result} (${table[r.result] ?? 'unknown'})`;
  if (r.error !== undefined) {
    s += ` error ${r.error}`;
    if (r.error !== 0) s += ` (${ERROR_CODE_TEXT[r.error] ?? 'unknown'})`;
  }
  if (r.message !== undefined) s += ` ${quote(r.message)}`;
  return s;
}

/**
 * §4.4.2 Result Code: Result (2), optional Error Code (2), optional Error Message (rest).
 * A message without an error code is sent with error 0 (the layout has no other way).
 */
const resultCodeCodec: AvpCodec<ResultCode> = {
  parse: (v, dv) => {
    if (v.length < 2 || v.length === 3) return err(`length ${v.length}, want 2 or >= 4`);
    const result = dv.getUint16(0);
    if (v.length === 2) return ok({ result });
    const error = dv.getUint16(2);
    if (v.length === 4) return ok({ result, error });
    return ok({ result, error, message: utf8.decode(v.subarray(4)) });
  },
  length: (r) => (r.message !== undefined ? 4 + utf8Length(r.message) : r.error !== undefined ? 4 : 2),
  emit: (r, out, dv, at) => {
    dv.setUint16(at, r.result);
    if (r.error === undefined && r.message === undefined) return;
    dv.setUint16(at + 2, r.error ?? 0);
    if (r.message !== undefined) writeUtf8(r.message, out, at + 4);
  },
  format: (r) => formatResultCode(r, false),
};

/** §4.4.3 Protocol Version: Ver (1), Rev (1). */
const protocolVersionCodec: AvpCodec<{ readonly version: number; readonly revision: number }> = {
  parse: (v) => (v.length === 2 ? ok({ version: v[0] ?? 0, revision: v[1] ?? 0 }) : err(`length ${v.length}, want 2`)),
  length: () => 2,
  emit: (x, _o, dv, at) => {
    dv.setUint8(at, x.version);
    dv.setUint8(at + 1, x.revision);
  },
  format: (x) => `${x.version}.${x.revision}`,
};

/** §4.4.5 Q.931 Cause Code: Cause Code (2), Cause Msg (1), Advisory Msg (rest). */
const q931Codec: AvpCodec<Q931Cause> = {
  parse: (v, dv) => {
    if (v.length < 3) return err(`length ${v.length} < 3`);
    const cause = dv.getUint16(0);
    const msg = dv.getUint8(2);
    return v.length > 3 ? ok({ cause, msg, advisory: utf8.decode(v.subarray(3)) }) : ok({ cause, msg });
  },
  length: (q) => 3 + (q.advisory !== undefined ? utf8Length(q.advisory) : 0),
  emit: (q, out, dv, at) => {
    dv.setUint16(at, q.cause);
    dv.setUint8(at + 2, q.msg);
    if (q.advisory !== undefined) writeUtf8(q.advisory, out, at + 3);
  },
  format: (q) => `cause ${q.cause} msg ${q.msg}${q.advisory !== undefined ? ` ${quote(q.advisory)}` : ''}`,
};

/** §4.4.6 Call Errors: Reserved (2), then six 32-bit counters. */
const callErrorsCodec: AvpCodec<CallErrors> = {
  parse: (v, dv) =>
    v.length === 26
      ? ok({
          crcErrors: dv.getUint32(2),
          framingErrors: dv.getUint32(6),
          hardwareOverruns: dv.getUint32(10),
          bufferOverruns: dv.getUint32(14),
          timeoutErrors: dv.getUint32(18),
          alignmentErrors: dv.getUint32(22),
        })
      : err(`length ${v.length}, want 26`),
  length: () => 26,
  emit: (c, _o, dv, at) => {
    dv.setUint16(at, 0);
    dv.setUint32(at + 2, c.crcErrors >>> 0);
    dv.setUint32(at + 6, c.framingErrors >>> 0);
    dv.setUint32(at + 10, c.hardwareOverruns >>> 0);
    dv.setUint32(at + 14, c.bufferOverruns >>> 0);
    dv.setUint32(at + 18, c.timeoutErrors >>> 0);
    dv.setUint32(at + 22, c.alignmentErrors >>> 0);
  },
  format: (c) =>
    `crc ${c.crcErrors} framing ${c.framingErrors} hw-overrun ${c.hardwareOverruns} buf-overrun ${c.bufferOverruns} timeout ${c.timeoutErrors} alignment ${c.alignmentErrors}`,
};

const hex32 = (x: number): string => `0x${(x >>> 0).toString(16).padStart(8, '0')}`;

/** §4.4.6 ACCM: Reserved (2), Send ACCM (4), Receive ACCM (4). */
const accmCodec: AvpCodec<Accm> = {
  parse: (v, dv) => (v.length === 10 ? ok({ send: dv.getUint32(2), recv: dv.getUint32(6) }) : err(`length ${v.length}, want 10`)),
  length: () => 10,
  emit: (a, _o, dv, at) => {
    dv.setUint16(at, 0);
    dv.setUint32(at + 2, a.send >>> 0);
    dv.setUint32(at + 6, a.recv >>> 0);
  },
  format: (a) => `send ${hex32(a.send)} recv ${hex32(a.recv)}`,
};

/** §4.4.5 Proxy Authen ID: Reserved (1), ID (1). */
const proxyAuthenIdCodec: AvpCodec<number> = {
  parse: (v) => (v.length === 2 ? ok(v[1] ?? 0) : err(`length ${v.length}, want 2`)),
  length: () => 2,
  emit: (x, _o, dv, at) => {
    dv.setUint8(at, 0);
    dv.setUint8(at + 1, x);
  },
  format: String,
};

/** §4.4.6 Sequencing Required: no value, presence only. */
const presenceCodec: AvpCodec<true> = {
  parse: (v) => (v.length === 0 ? ok(true as const) : err(`length ${v.length}, want 0`)),
  length: () => 0,
  emit: () => undefined,
  format: () => 'yes',
};

/** RFC 3145 §2 PPP Disconnect Cause Code: Code (2), Control Protocol (2), Direction (1), Message. */
const pppDisconnectCodec: AvpCodec<PppDisconnectCause> = {
  parse: (v, dv) => {
    if (v.length < 5) return err(`length ${v.length} < 5`);
    const code = dv.getUint16(0);
    const protocol = dv.getUint16(2);
    const direction = dv.getUint8(4);
    return v.length > 5 ? ok({ code, protocol, direction, message: utf8.decode(v.subarray(5)) }) : ok({ code, protocol, direction });
  },
  length: (p) => 5 + (p.message !== undefined ? utf8Length(p.message) : 0),
  emit: (p, out, dv, at) => {
    dv.setUint16(at, p.code);
    dv.setUint16(at + 2, p.protocol);
    dv.setUint8(at + 4, p.direction);
    if (p.message !== undefined) writeUtf8(p.message, out, at + 5);
  },
  format: (p) =>
    `code ${p.code} protocol 0x${p.protocol.toString(16).padStart(4, '0')} direction ${p.direction}${p.message !== undefined ? ` ${quote(p.message)}` : ''}`,
};

const framingText = (x: number): string => `${x} (${[x & 1 ? 'sync' : '', x & 2 ? 'async' : ''].filter(Boolean).join('+') || 'none'})`;
const bearerText = (x: number): string => `${x} (${[x & 1 ? 'digital' : '', x & 2 ? 'analog' : ''].filter(Boolean).join('+') || 'none'})`;
const PROXY_AUTHEN_TYPES: Readonly<Record<number, string>> = { 0: 'Reserved', 1: 'Textual', 2: 'PPP CHAP', 3: 'PPP PAP', 4: 'No Authentication', 5: 'MS-CHAPv1' };

/**
 * The registry, in attribute order (the order emitControl writes AVPs). M / H rules per §4.4.x:
 * "The M bit for this AVP MUST be ..." and "This AVP MAY / MUST NOT be hidden".
 */
export const AVP_REGISTRY: readonly AvpRegistryEntry[] = [
  avpRow(1, 'resultCode', 'Result Code', true, false, '4.4.2', resultCodeCodec),
  avpRow(2, 'protocolVersion', 'Protocol Version', true, false, '4.4.3', protocolVersionCodec),
  avpRow(3, 'framingCapabilities', 'Framing Capabilities', true, true, '4.4.3', u32Codec(framingText)),
  avpRow(4, 'bearerCapabilities', 'Bearer Capabilities', true, true, '4.4.3', u32Codec(bearerText)),
  avpRow(5, 'tieBreaker', 'Tie Breaker', false, false, '4.4.3', bytesCodec(8, 8)),
  avpRow(6, 'firmwareRevision', 'Firmware Revision', false, true, '4.4.3', u16Codec<number>()),
  avpRow(7, 'hostName', 'Host Name', true, false, '4.4.3', stringCodec(1)),
  avpRow(8, 'vendorName', 'Vendor Name', false, true, '4.4.3', stringCodec(0)),
  avpRow(9, 'assignedTunnelId', 'Assigned Tunnel ID', true, true, '4.4.3', u16Codec<TunnelId>()),
  avpRow(10, 'receiveWindowSize', 'Receive Window Size', true, false, '4.4.3', u16Codec<number>()),
  avpRow(11, 'challenge', 'Challenge', true, true, '4.4.3', bytesCodec(1)),
  avpRow(12, 'q931Cause', 'Q.931 Cause Code', true, false, '4.4.4', q931Codec),
  avpRow(13, 'challengeResponse', 'Challenge Response', true, true, '4.4.3', bytesCodec(16, 16)),
  avpRow(14, 'assignedSessionId', 'Assigned Session ID', true, true, '4.4.4', u16Codec<SessionId>()),
  avpRow(15, 'callSerialNumber', 'Call Serial Number', true, false, '4.4.4', u32Codec()),
  avpRow(16, 'minimumBps', 'Minimum BPS', true, true, '4.4.4', u32Codec()),
  avpRow(17, 'maximumBps', 'Maximum BPS', true, true, '4.4.4', u32Codec()),
  avpRow(18, 'bearerType', 'Bearer Type', true, true, '4.4.4', u32Codec(bearerText)),
  avpRow(19, 'framingType', 'Framing Type', true, true, '4.4.4', u32Codec(framingText)),
  avpRow(21, 'calledNumber', 'Called Number', true, true, '4.4.4', stringCodec(0)),
  avpRow(22, 'callingNumber', 'Calling Number', true, true, '4.4.4', stringCodec(0)),
  avpRow(23, 'subAddress', 'Sub-Address', true, true, '4.4.4', stringCodec(0)),
  avpRow(24, 'txConnectSpeed', '(Tx) Connect Speed', true, true, '4.4.4', u32Codec()),
  avpRow(25, 'physicalChannelId', 'Physical Channel ID', false, true, '4.4.4', u32Codec()),
  avpRow(26, 'initialReceivedLcpConfReq', 'Initial Received LCP CONFREQ', false, true, '4.4.5', bytesCodec(0)),
  avpRow(27, 'lastSentLcpConfReq', 'Last Sent LCP CONFREQ', false, true, '4.4.5', bytesCodec(0)),
  avpRow(28, 'lastReceivedLcpConfReq', 'Last Received LCP CONFREQ', false, true, '4.4.5', bytesCodec(0)),
  avpRow(29, 'proxyAuthenType', 'Proxy Authen Type', false, true, '4.4.5', {
    ...u16Codec<number>(),
    format: (x: number) => `${x} (${PROXY_AUTHEN_TYPES[x] ?? 'unknown'})`,
  }),
  avpRow(30, 'proxyAuthenName', 'Proxy Authen Name', false, true, '4.4.5', stringCodec(0)),
  avpRow(31, 'proxyAuthenChallenge', 'Proxy Authen Challenge', false, true, '4.4.5', bytesCodec(0)),
  avpRow(32, 'proxyAuthenId', 'Proxy Authen ID', false, true, '4.4.5', proxyAuthenIdCodec),
  avpRow(33, 'proxyAuthenResponse', 'Proxy Authen Response', false, true, '4.4.5', bytesCodec(0)),
  avpRow(34, 'callErrors', 'Call Errors', true, true, '4.4.6', callErrorsCodec),
  avpRow(35, 'accm', 'ACCM', true, true, '4.4.6', accmCodec),
  avpRow(37, 'privateGroupId', 'Private Group ID', false, true, '4.4.4', bytesCodec(0)),
  avpRow(38, 'rxConnectSpeed', 'Rx Connect Speed', false, true, '4.4.4', u32Codec()),
  avpRow(39, 'sequencingRequired', 'Sequencing Required', true, false, '4.4.4', presenceCodec),
  avpRow(46, 'pppDisconnectCause', 'PPP Disconnect Cause Code', false, true, 'RFC 3145 §2', pppDisconnectCodec),
];

/** Registry rows indexed by attribute number (vendor 0). */
export const AVP_BY_ATTRIBUTE: ReadonlyMap<number, AvpRegistryEntry> = new Map(AVP_REGISTRY.map((r) => [r.attribute, r]));
/** Registry rows by ControlAvps key. */
export const AVP_BY_NAME: ReadonlyMap<AvpName, AvpRegistryEntry> = new Map(AVP_REGISTRY.map((r) => [r.name, r]));

/** Registry row for a name (every AvpName has one). */
export function avpSpec(name: AvpName): AvpRegistryEntry {
  const r = AVP_BY_NAME.get(name);
  if (r === undefined) throw new Error(`no registry row for ${name}`);
  return r;
}
