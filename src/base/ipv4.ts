/**
 * IPv4 text <-> number <-> octets and CIDR prefixes, shared by every layer (numbers are host-order,
 * unsigned). The one home of these conversions. Pure; never throws on bad text.
 */
import { err, ok, type Result } from './result.js';

/** Parse dotted-quad IPv4 (four parts of 1-3 ASCII digits, each <= 255) to a 32-bit unsigned number, or undefined. */
export function parseIpv4(text: string): number | undefined {
  // One pass over the characters (no split, no regex): this runs per lease, route and peer address.
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || part > 255 || ++dots > 3) return undefined;
      n = n * 256 + part;
      part = 0;
      digits = 0;
      continue;
    }
    if (c < 0x30 || c > 0x39 || ++digits > 3) return undefined;
    part = part * 10 + (c - 0x30);
  }
  if (dots !== 3 || digits === 0 || part > 255) return undefined;
  return (n * 256 + part) >>> 0;
}

/** Format a 32-bit number as dotted-quad IPv4. */
export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Dotted-quad to 4 octets; undefined if malformed (the rules of `parseIpv4`). */
export function ipv4Bytes(s: string): Uint8Array | undefined {
  const n = parseIpv4(s);
  if (n === undefined) return undefined;
  return Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}
/** 4 octets to dotted-quad. */
export const ipv4String = (b: Uint8Array): string => `${b[0] ?? 0}.${b[1] ?? 0}.${b[2] ?? 0}.${b[3] ?? 0}`;

/** A parsed CIDR prefix. */
export interface Ipv4Prefix {
  readonly network: number;
  readonly length: number;
}

/** Parse `a.b.c.d/len`; the host bits must be zero. */
export function parseIpv4Prefix(text: string): Result<Ipv4Prefix, string> {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  if (!m) return err(`expected a.b.c.d/len, got "${text}"`);
  const addr = parseIpv4(m[1] ?? '');
  const len = Number(m[2]);
  if (addr === undefined) return err(`bad IPv4 address in "${text}"`);
  if (len > 32) return err(`prefix length ${len} > 32 in "${text}"`);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  if ((addr & ~mask) >>> 0 !== 0) return err(`"${text}" has host bits set (network is ${formatIpv4((addr & mask) >>> 0)}/${len})`);
  return ok({ network: addr, length: len });
}

/** `a.b.c.d/len` text of a prefix. */
export const formatIpv4Prefix = (p: Ipv4Prefix): string => `${formatIpv4(p.network)}/${p.length}`;

/** Mask of a prefix length (host order). */
const maskOf = (length: number): number => (length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0);

/** True when the two prefixes share an address. */
export function ipv4PrefixesOverlap(a: Ipv4Prefix, b: Ipv4Prefix): boolean {
  const m = maskOf(Math.min(a.length, b.length));
  return ((a.network & m) >>> 0) === ((b.network & m) >>> 0);
}

/** True when `addr` is inside `p`. */
export function ipv4InPrefix(addr: number, p: Ipv4Prefix): boolean {
  return ((addr & maskOf(p.length)) >>> 0) === p.network;
}
