/**
 * RFC 3931 §5.4 AVP registry (plus the RFC 2661 AVPs v3 peers reuse): one row per AVP with its
 * attribute number, V3ControlAvps key, the M bit we send ("SHOULD be set to ..."), whether it MAY be
 * hidden, its value codec and RFC section. Random Vector (36) and Message Digest (59) are handled by
 * the message codec itself.
 *
 * AVP format (§5.1):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |M|H| rsvd  |      Length       |           Vendor ID           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Attribute Type        |        Attribute Value ...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { err, ok, put16 as wr16, put32 as wr32, type Result, toHex, u16 as rd16, u32 as rd32 } from '../../base/index.js';
import type {
  CircuitErrors,
  CircuitStatus,
  ControlConnectionId,
  V3AvpName,
  V3ControlAvps,
  V3Q931Cause,
  V3ResultCode,
  V3SessionId,
} from './types.js';

/** M bit. */
export const V3_AVP_FLAG_M = 0x8000;
/** H bit (hidden, §5.3). */
export const V3_AVP_FLAG_H = 0x4000;
/** Reserved bits: MUST be 0 when sent and are ignored on receipt (§5.1). */
export const V3_AVP_FLAG_RESERVED = 0x3c00;
/** Length mask (10 bits). */
export const V3_AVP_LENGTH_MASK = 0x03ff;
/** AVP header: flags/Length, Vendor ID, Attribute Type. */
export const V3_AVP_HEADER_LENGTH = 6;
/** Largest AVP Length. */
export const V3_AVP_MAX_LENGTH = 0x3ff;
/** §5.4.1 Message Type: first AVP, never hidden, 2-byte value. */
export const V3_ATTR_MESSAGE_TYPE = 0;
/** §5.4.1 Random Vector. */
export const V3_ATTR_RANDOM_VECTOR = 36;
/** §5.4.1 Message Digest. */
export const V3_ATTR_MESSAGE_DIGEST = 59;
/** §5.1 Extended Vendor ID AVP (32-bit vendor ids; M MUST be 0): kept as an unknown AVP. */
export const V3_ATTR_EXTENDED_VENDOR = 58;

/** A value codec: `parse` gets exactly the value bytes (a view; codecs copy what they keep). */
export interface V3AvpCodec<T> {
  parse(v: Uint8Array): Result<T, string>;
  /** Bytes `emit` writes for `value`. */
  length(value: T): number;
  /** Write exactly `length(value)` bytes at `out[at]`. */
  emit(value: T, out: Uint8Array, at: number): void;
  /** Human text for the debug log. */
  format(value: T): string;
}

/** One registry row. */
export interface V3AvpRegistryEntry {
  readonly attribute: number;
  readonly name: V3AvpName;
  /** RFC name, for logs. */
  readonly title: string;
  /** M bit we send. */
  readonly mandatory: boolean;
  /** The RFC allows the H bit on this AVP. */
  readonly hidable: boolean;
  /** RFC section. */
  readonly section: string;
  readonly codec: V3AvpCodec<unknown>;
}

type AvpValue<K extends V3AvpName> = NonNullable<V3ControlAvps[K]>;

function row<K extends V3AvpName>(
  attribute: number,
  name: K,
  title: string,
  mandatory: boolean,
  hidable: boolean,
  section: string,
  codec: V3AvpCodec<AvpValue<K>>,
): V3AvpRegistryEntry {
  return { attribute, name, title, mandatory, hidable, section, codec: codec };
}

// ---------------------------------------------------------------- value codecs

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const utf8Enc = new TextEncoder();
const quote = (s: string): string => JSON.stringify(s);
/** Bytes of `s` in UTF-8. */
export function utf8Length(s: string): number {
  return utf8Enc.encode(s).length;
}

const lenErr = (have: number, want: string): { readonly ok: false; readonly error: string } => err(`length ${have}, want ${want}`);

/** 16-bit unsigned integer. */
function u16<T extends number>(fmt: (x: number) => string = String): V3AvpCodec<T> {
  return {
    parse: (v) => (v.length === 2 ? ok(rd16(v, 0) as T) : lenErr(v.length, '2')),
    length: () => 2,
    emit: (x, o, at) => wr16(o, at, x),
    format: fmt,
  };
}

/** 32-bit unsigned integer; `nonZero` for the ids §5.4.3/§5.4.4 require to be non-zero. */
function u32<T extends number>(nonZero = false, fmt: (x: number) => string = String): V3AvpCodec<T> {
  return {
    parse: (v) => {
      if (v.length !== 4) return lenErr(v.length, '4');
      const x = rd32(v, 0);
      if (nonZero && x === 0) return err('value 0 is reserved');
      return ok(x as T);
    },
    length: () => 4,
    emit: (x, o, at) => wr32(o, at, x >>> 0),
    format: fmt,
  };
}

/** 64-bit unsigned integer (§5.4.4 Tx/Rx Connect Speed). */
const u64: V3AvpCodec<bigint> = {
  parse: (v) => (v.length === 8 ? ok((BigInt(rd32(v, 0)) << 32n) | BigInt(rd32(v, 4))) : lenErr(v.length, '8')),
  length: () => 8,
  emit: (x, o, at) => {
    const y = BigInt.asUintN(64, x);
    wr32(o, at, Number(y >> 32n));
    wr32(o, at + 4, Number(y & 0xffffffffn));
  },
  format: (x) => `${x} bps`,
};

/** UTF-8 / US-ASCII string of at least `min` bytes. */
function str(min: number): V3AvpCodec<string> {
  return {
    parse: (v) => (v.length >= min ? ok(utf8.decode(v)) : err(`length ${v.length} < ${min}`)),
    length: (s) => utf8Length(s),
    emit: (s, o, at) => {
      o.set(utf8Enc.encode(s), at);
    },
    format: quote,
  };
}

/** Opaque bytes, copied out; `sizes` pins the allowed lengths. */
function bytes(min: number, sizes?: readonly number[]): V3AvpCodec<Uint8Array> {
  return {
    parse: (v) => {
      if (sizes !== undefined && !sizes.includes(v.length)) return lenErr(v.length, sizes.join(' or '));
      if (v.length < min) return err(`length ${v.length} < ${min}`);
      return ok(new Uint8Array(v)); // a copy (Buffer#slice is a view)
    },
    length: (b) => b.length,
    emit: (b, o, at) => o.set(b, at),
    format: (b) => `0x${toHex(b)} (${b.length} bytes)`,
  };
}

/** §5.4.2 StopCCN result codes. */
export const V3_STOPCCN_RESULT_TEXT: Readonly<Record<number, string>> = {
  0: 'Reserved',
  1: 'General request to clear control connection',
  2: 'General error',
  3: 'Control connection already exists',
  4: 'Requester is not authorized',
  5: 'Protocol version not supported',
  6: 'Requester is being shut down',
  7: 'Finite state machine error or timeout',
};
/** §5.4.2 CDN result codes. */
export const V3_CDN_RESULT_TEXT: Readonly<Record<number, string>> = {
  0: 'Reserved',
  1: 'Loss of carrier or circuit disconnect',
  2: 'General error',
  3: 'Administrative disconnect',
  4: 'Temporary lack of facilities',
  5: 'Permanent lack of facilities',
  13: 'Lost tie breaker',
  14: 'Unsupported PW type',
  15: 'Sequencing required without a valid L2-Specific Sublayer',
  16: 'Finite state machine error or timeout',
};
/** §5.4.2 General error codes. */
export const V3_ERROR_CODE_TEXT: Readonly<Record<number, string>> = {
  0: 'No general error',
  1: 'No control connection exists yet',
  2: 'Length is wrong',
  3: 'Field value out of range',
  4: 'Insufficient resources',
  5: 'Invalid Session ID',
  6: 'Vendor-specific error',
  7: 'Try another',
  8: 'Unknown mandatory AVP',
  9: 'Try another directed',
};

/** Format a Result Code; `cdn` picks the CDN result table (§5.4.2). */
export function formatV3ResultCode(r: V3ResultCode, cdn: boolean): string {
  const table = cdn ? V3_CDN_RESULT_TEXT : V3_STOPCCN_RESULT_TEXT;
  let s = `${r.result} (${table[r.result] ?? 'unknown'})`;
  if (r.error !== undefined) s += ` error ${r.error}${r.error !== 0 ? ` (${V3_ERROR_CODE_TEXT[r.error] ?? 'unknown'})` : ''}`;
  if (r.message !== undefined) s += ` ${quote(r.message)}`;
  return s;
}

/** §5.4.2 Result Code: Result (2), optional Error Code (2), optional Error Message (rest). */
const resultCode: V3AvpCodec<V3ResultCode> = {
  parse: (v) => {
    if (v.length < 2 || v.length === 3) return lenErr(v.length, '2 or >= 4');
    const result = rd16(v, 0);
    if (v.length === 2) return ok({ result });
    const error = rd16(v, 2);
    return v.length === 4 ? ok({ result, error }) : ok({ result, error, message: utf8.decode(v.subarray(4)) });
  },
  length: (r) => (r.message !== undefined ? 4 + utf8Length(r.message) : r.error !== undefined ? 4 : 2),
  emit: (r, o, at) => {
    wr16(o, at, r.result);
    if (r.error === undefined && r.message === undefined) return;
    wr16(o, at + 2, r.error ?? 0);
    if (r.message !== undefined) o.set(utf8Enc.encode(r.message), at + 4);
  },
  format: (r) => formatV3ResultCode(r, false),
};

/** RFC 2661 §4.4.4 Q.931 Cause Code: Cause Code (2), Cause Msg (1), Advisory Msg (rest). */
const q931: V3AvpCodec<V3Q931Cause> = {
  parse: (v) => {
    if (v.length < 3) return err(`length ${v.length} < 3`);
    const cause = rd16(v, 0);
    const msg = v[2] ?? 0;
    return v.length > 3 ? ok({ cause, msg, advisory: utf8.decode(v.subarray(3)) }) : ok({ cause, msg });
  },
  length: (q) => 3 + (q.advisory !== undefined ? utf8Length(q.advisory) : 0),
  emit: (q, o, at) => {
    wr16(o, at, q.cause);
    o[at + 2] = q.msg & 0xff;
    if (q.advisory !== undefined) o.set(utf8Enc.encode(q.advisory), at + 3);
  },
  format: (q) => `cause ${q.cause} msg ${q.msg}${q.advisory !== undefined ? ` ${quote(q.advisory)}` : ''}`,
};

/**
 * §5.4.5 Circuit Errors: Reserved (2), Hardware Overruns, Buffer Overruns, Timeout Errors, Alignment
 * Errors (4 each) = 18 bytes as in the figure. The RFC's text gives Length 32 (the RFC 2661 Call Errors
 * layout with CRC and Framing Errors first); that 26-byte form is accepted too. We send 18 bytes.
 */
const circuitErrors: V3AvpCodec<CircuitErrors> = {
  parse: (v) => {
    const base = v.length === 18 ? 2 : v.length === 26 ? 10 : -1;
    if (base < 0) return lenErr(v.length, '18 (or 26)');
    return ok({ hardwareOverruns: rd32(v, base), bufferOverruns: rd32(v, base + 4), timeoutErrors: rd32(v, base + 8), alignmentErrors: rd32(v, base + 12) });
  },
  length: () => 18,
  emit: (c, o, at) => {
    wr16(o, at, 0);
    wr32(o, at + 2, c.hardwareOverruns >>> 0);
    wr32(o, at + 6, c.bufferOverruns >>> 0);
    wr32(o, at + 10, c.timeoutErrors >>> 0);
    wr32(o, at + 14, c.alignmentErrors >>> 0);
  },
  format: (c) => `hw-overrun ${c.hardwareOverruns} buf-overrun ${c.bufferOverruns} timeout ${c.timeoutErrors} alignment ${c.alignmentErrors}`,
};

/** §5.4.5 Circuit Status: 14 reserved bits, N, A. */
const circuitStatus: V3AvpCodec<CircuitStatus> = {
  parse: (v) => (v.length === 2 ? ok({ active: ((v[1] ?? 0) & 1) !== 0, new: ((v[1] ?? 0) & 2) !== 0 }) : lenErr(v.length, '2')),
  length: () => 2,
  emit: (c, o, at) => wr16(o, at, (c.active ? 1 : 0) | (c.new ? 2 : 0)),
  format: (c) => `${c.active ? 'active' : 'inactive'}${c.new ? ', new' : ''}`,
};

/** §5.4.3 Pseudowire Capabilities List: one or more 2-byte PW types. */
const pwList: V3AvpCodec<readonly number[]> = {
  parse: (v) => {
    if (v.length < 2 || v.length % 2 !== 0) return lenErr(v.length, 'an even number >= 2');
    const out: number[] = [];
    for (let i = 0; i < v.length; i += 2) out.push(rd16(v, i));
    return ok(out);
  },
  length: (l) => 2 * l.length,
  emit: (l, o, at) => l.forEach((t, i) => wr16(o, at + 2 * i, t)),
  format: (l) => l.map(pwTypeText).join(', '),
};

/** RFC 3931 §10.6 / RFC 4719 names of a PW type. */
export function pwTypeText(t: number): string {
  const names: Readonly<Record<number, string>> = { 1: 'Frame Relay DLCI', 2: 'ATM AAL5', 3: 'ATM cell port', 4: 'Ethernet VLAN', 5: 'Ethernet', 6: 'HDLC', 7: 'PPP' };
  return `${t} (${names[t] ?? 'unknown'})`;
}

const printable = (b: Uint8Array): boolean => b.every((c) => c >= 0x20 && c < 0x7f);
const hex32 = (x: number): string => `0x${(x >>> 0).toString(16).padStart(8, '0')}`;
const sublayerText = (x: number): string => `${x} (${x === 0 ? 'none' : x === 1 ? 'default' : 'unknown'})`;
const seqText = (x: number): string => `${x} (${['none', 'non-IP', 'all'][x] ?? 'unknown'})`;
const ipText = (x: number): string => `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;

/**
 * The registry, in attribute order (the order emit writes AVPs after Message Type and Digest).
 * M / H per §5.4.x ("The M bit for this AVP SHOULD be set to ...", "This AVP MAY / MUST NOT be hidden");
 * RFC 2661 rules for the AVPs v3 reuses from it.
 */
export const V3_AVP_REGISTRY: readonly V3AvpRegistryEntry[] = [
  row(1, 'resultCode', 'Result Code', true, false, '5.4.2', resultCode),
  row(5, 'tieBreaker', 'Tie Breaker', true, false, '5.4.3', bytes(8, [8])),
  row(6, 'firmwareRevision', 'Firmware Revision', false, true, 'RFC 2661 4.4.3', u16<number>()),
  row(7, 'hostName', 'Host Name', true, false, '5.4.3', str(1)),
  row(8, 'vendorName', 'Vendor Name', false, true, '5.4.3', str(0)),
  row(10, 'receiveWindowSize', 'Receive Window Size', true, false, '5.4.3', u16<number>()),
  row(11, 'challenge', 'Challenge', true, true, 'RFC 2661 4.4.3', bytes(1)),
  row(12, 'q931Cause', 'Q.931 Cause Code', true, false, 'RFC 2661 4.4.4', q931),
  row(13, 'challengeResponse', 'Challenge Response', true, true, 'RFC 2661 4.4.3', bytes(16, [16])),
  row(15, 'serialNumber', 'Serial Number', false, true, '5.4.4', u32<number>()),
  row(21, 'calledNumber', 'Called Number', true, true, 'RFC 2661 4.4.4', str(0)),
  row(22, 'callingNumber', 'Calling Number', true, true, 'RFC 2661 4.4.4', str(0)),
  row(23, 'subAddress', 'Sub-Address', true, true, 'RFC 2661 4.4.4', str(0)),
  row(25, 'physicalChannelId', 'Physical Channel ID', false, true, '5.4.4', u32<number>()),
  row(34, 'circuitErrors', 'Circuit Errors', false, true, '5.4.5', circuitErrors),
  row(60, 'routerId', 'Router ID', true, false, '5.4.3', u32<number>(false, (x) => `${x} (${ipText(x)})`)),
  row(61, 'assignedConnectionId', 'Assigned Control Connection ID', true, true, '5.4.3', u32<ControlConnectionId>(true, hex32)),
  row(62, 'pwCapabilities', 'Pseudowire Capabilities List', true, true, '5.4.3', pwList),
  row(63, 'localSessionId', 'Local Session ID', true, true, '5.4.4', u32<V3SessionId>(true)),
  row(64, 'remoteSessionId', 'Remote Session ID', true, true, '5.4.4', u32<V3SessionId>(false)),
  row(65, 'assignedCookie', 'Assigned Cookie', true, true, '5.4.4', bytes(0, [0, 4, 8])),
  row(66, 'remoteEndId', 'Remote End ID', true, true, '5.4.4', {
    ...bytes(0),
    format: (b: Uint8Array) => (b.length > 0 && printable(b) ? quote(utf8.decode(b)) : `0x${toHex(b)}`),
  }),
  row(68, 'pwType', 'Pseudowire Type', true, true, '5.4.4', u16<number>(pwTypeText)),
  row(69, 'l2SpecificSublayer', 'L2-Specific Sublayer', true, true, '5.4.4', u16<number>(sublayerText)),
  row(70, 'dataSequencing', 'Data Sequencing', true, true, '5.4.4', u16<number>(seqText)),
  row(71, 'circuitStatus', 'Circuit Status', true, true, '5.4.5', circuitStatus),
  row(72, 'preferredLanguage', 'Preferred Language', false, true, '5.4.3', str(0)),
  row(73, 'nonce', 'Control Message Authentication Nonce', true, false, '5.4.1', bytes(1)),
  row(74, 'txConnectSpeed', 'Tx Connect Speed', false, true, '5.4.4', u64),
  row(75, 'rxConnectSpeed', 'Rx Connect Speed', false, true, '5.4.4', u64),
];

/** Registry rows by attribute number (vendor 0). */
export const V3_AVP_BY_ATTRIBUTE: ReadonlyMap<number, V3AvpRegistryEntry> = new Map(V3_AVP_REGISTRY.map((r) => [r.attribute, r]));
/** Registry rows by V3ControlAvps key. */
export const V3_AVP_BY_NAME: ReadonlyMap<V3AvpName, V3AvpRegistryEntry> = new Map(V3_AVP_REGISTRY.map((r) => [r.name, r]));

/** Registry row for a name (every V3AvpName has one). */
export function v3AvpSpec(name: V3AvpName): V3AvpRegistryEntry {
  const r = V3_AVP_BY_NAME.get(name);
  if (r === undefined) throw new Error(`no v3 registry row for ${name}`);
  return r;
}
