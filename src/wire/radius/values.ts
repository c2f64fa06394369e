/**
 * RADIUS value codecs, one per data type (RFC 8044 names; RFC 2865 §5 text/string/address/integer/
 * time, RFC 3162 §2 IPv6 address / interface id / prefix, RFC 6929 integer64). Each codec parses
 * exactly the value octets, says how many octets a value takes and writes exactly that many.
 */
import { err, formatIpv4, formatIpv6, ok, put32, type Result, toHex, u32 } from '../../base/index.js';
import { copyOf } from './packet.js';

/** RFC 3162 §2.3 / RFC 4818 §3: a prefix; `prefix` is 16 octets with the bits after `length` zero. */
export interface Ipv6Prefix {
  readonly length: number;
  readonly prefix: Uint8Array;
}

/** The TypeScript type of each RADIUS data type. */
export interface RadiusValueTypes {
  /** UTF-8 text (RFC 8044 §3.4). */
  readonly text: string;
  /** Opaque octets (RFC 8044 §3.5 "string"). */
  readonly octets: Uint8Array;
  /** 32-bit unsigned (RFC 8044 §3.1; enumerations too). */
  readonly integer: number;
  /** Seconds since 1970-01-01 UTC, 32-bit (RFC 8044 §3.3). */
  readonly date: number;
  /** IPv4 address as a 32-bit number (RFC 8044 §3.8). */
  readonly ipaddr: number;
  /** IPv6 address, 16 octets (RFC 3162 §2.1). */
  readonly ipv6addr: Uint8Array;
  /** IPv6 prefix (RFC 3162 §2.3). */
  readonly ipv6prefix: Ipv6Prefix;
  /** IPv6 interface identifier, 8 octets (RFC 3162 §2.2). */
  readonly ifid: Uint8Array;
  /** 64-bit unsigned (RFC 6929 §2.4). */
  readonly integer64: bigint;
  /** 8-bit unsigned (vendor dictionaries). */
  readonly byte: number;
  /** 16-bit unsigned (vendor dictionaries). */
  readonly short: number;
}

/** A RADIUS data type name. */
export type RadiusValueType = keyof RadiusValueTypes;

/** Parse / length / emit / format for one data type. */
export interface ValueCodec<T> {
  /** Decode exactly these octets; an error is a short detail string. */
  parse(v: Uint8Array): Result<T, string>;
  /** Octets `emit` writes. */
  length(value: T): number;
  /** Write exactly `length(value)` octets at `out[at]`. */
  emit(value: T, out: Uint8Array, at: number): void;
  /** A check before emitting (range, size), or undefined when the value is fine. */
  invalid(value: T): string | undefined;
  /** Log text. */
  format(value: T): string;
}

const utf8Dec = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const utf8Enc = new TextEncoder();

/** UTF-8 octets of a string (cached per call site is not worth it: values are short). */
export const utf8 = (s: string): Uint8Array => utf8Enc.encode(s);



const isU32 = (x: number): boolean => Number.isInteger(x) && x >= 0 && x <= 0xffffffff;

const textCodec: ValueCodec<string> = {
  parse: (v) => ok(utf8Dec.decode(v)),
  length: (s) => utf8Enc.encode(s).length,
  emit: (s, out, at) => {
    out.set(utf8Enc.encode(s), at);
  },
  invalid: () => undefined,
  format: (s) => JSON.stringify(s),
};

const octetsCodec: ValueCodec<Uint8Array> = {
  parse: (v) => ok(copyOf(v, 0, v.length)),
  length: (b) => b.length,
  emit: (b, out, at) => {
    out.set(b, at);
  },
  invalid: () => undefined,
  format: (b) => `0x${toHex(b)}`,
};

function fixedBytes(n: number): ValueCodec<Uint8Array> {
  return {
    parse: (v) => (v.length === n ? ok(copyOf(v, 0, n)) : err(`length ${v.length}, want ${n}`)),
    length: () => n,
    emit: (b, out, at) => {
      out.set(b, at);
    },
    invalid: (b) => (b.length === n ? undefined : `${b.length} octets, want ${n}`),
    format: (b) => `0x${toHex(b)}`,
  };
}

const integerCodec: ValueCodec<number> = {
  parse: (v) => (v.length === 4 ? ok(u32(v, 0)) : err(`length ${v.length}, want 4`)),
  length: () => 4,
  emit: (x, out, at) => {
    put32(out, at, x);
  },
  invalid: (x) => (isU32(x) ? undefined : `${x} is not a 32-bit unsigned integer`),
  format: (x) => String(x),
};

const ipaddrCodec: ValueCodec<number> = { ...integerCodec, format: (x) => formatIpv4(x) };

const integer64Codec: ValueCodec<bigint> = {
  parse: (v) => (v.length === 8 ? ok((BigInt(u32(v, 0)) << 32n) | BigInt(u32(v, 4))) : err(`length ${v.length}, want 8`)),
  length: () => 8,
  emit: (x, out, at) => {
    put32(out, at, Number(x >> 32n));
    put32(out, at + 4, Number(x & 0xffffffffn));
  },
  invalid: (x) => (x >= 0n && x < 1n << 64n ? undefined : 'not a 64-bit unsigned integer'),
  format: (x) => String(x),
};


const ipv6prefixCodec: ValueCodec<Ipv6Prefix> = {
  parse: (v) => {
    // RFC 3162 §2.3: Reserved(1) Prefix-Length(1) Prefix(0..16); Length 4..20 means 2..18 value octets.
    if (v.length < 2 || v.length > 18) return err(`length ${v.length}, want 2..18`);
    const length = v[1] as number;
    if (length > 128) return err(`Prefix-Length ${length} > 128`);
    if ((v.length - 2) * 8 < length) return err(`Prefix-Length ${length} needs ${Math.ceil(length / 8)} prefix octets, have ${v.length - 2}`);
    const prefix = new Uint8Array(16);
    prefix.set(v.subarray(2));
    maskPrefix(prefix, length);
    return ok({ length, prefix });
  },
  length: () => 18,
  emit: (p, out, at) => {
    out[at] = 0;
    out[at + 1] = p.length;
    const masked = new Uint8Array(p.prefix);
    maskPrefix(masked, p.length);
    out.set(masked, at + 2);
  },
  invalid: (p) => (Number.isInteger(p.length) && p.length >= 0 && p.length <= 128 && p.prefix.length === 16 ? undefined : 'want length 0..128 and 16 prefix octets'),
  format: (p) => `${formatIpv6(p.prefix)}/${p.length}`,
};

/** Zero the bits of `p` after the first `length` (RFC 3162 §2.3: "Bits outside of the Prefix-Length ... must be zero"). */
function maskPrefix(p: Uint8Array, length: number): void {
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, length - 8 * i));
    p[i] = (p[i] as number) & ((0xff00 >> keep) & 0xff);
  }
}

/** An n-octet unsigned integer (n = 1 or 2). */
function smallInteger(n: 1 | 2): ValueCodec<number> {
  const max = n === 1 ? 0xff : 0xffff;
  return {
    parse: (v) => (v.length === n ? ok(n === 1 ? (v[0] as number) : ((v[0] as number) << 8) | (v[1] as number)) : err(`length ${v.length}, want ${n}`)),
    length: () => n,
    emit: (x, out, at) => {
      if (n === 2) out[at++] = (x >>> 8) & 0xff;
      out[at] = x & 0xff;
    },
    invalid: (x) => (Number.isInteger(x) && x >= 0 && x <= max ? undefined : `${x} outside 0..${max}`),
    format: (x) => String(x),
  };
}

/** The codec of each data type. */
export const VALUE_CODECS: { readonly [K in RadiusValueType]: ValueCodec<RadiusValueTypes[K]> } = {
  text: textCodec,
  octets: octetsCodec,
  integer: integerCodec,
  date: { ...integerCodec, format: (x) => `${x} (unix)` },
  ipaddr: ipaddrCodec,
  ipv6addr: { ...fixedBytes(16), format: formatIpv6 },
  ipv6prefix: ipv6prefixCodec,
  ifid: fixedBytes(8),
  integer64: integer64Codec,
  byte: smallInteger(1),
  short: smallInteger(2),
};
