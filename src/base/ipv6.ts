/**
 * IPv6 text forms (RFC 4291 §2.2, RFC 5952 §4), /64 prefix keys and prefixes no longer than /64,
 * shared by every layer. The one home of these conversions. Pure; never throws on bad text.
 */
import { err, ok, type Result } from './result.js';

/** Parse an IPv6 address (RFC 4291 §2.2 forms 1-3, including an embedded dotted quad) to 16 octets. */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length > 45) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] ?? '';
      if (i === parts.length - 1 && p.includes('.')) {
        const q = p.split('.');
        if (q.length !== 4 || !q.every((x) => /^\d{1,3}$/.test(x) && Number(x) <= 255)) return undefined;
        const n = q.map(Number) as [number, number, number, number];
        out.push((n[0] << 8) | n[1], (n[2] << 8) | n[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Format 16 octets in the RFC 5952 §4 canonical text form (lower case, longest zero run as "::"). */
export function formatIpv6(a: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(((a[2 * i] ?? 0) << 8) | (a[2 * i + 1] ?? 0));
  // §4.2.2/§4.2.3: compress the longest run of two or more zero groups, the first on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** The upper 64 bits of an address as a bigint (the key `SessionRoutes` uses for /64 routes). */
export function prefix64Of(a: Uint8Array): bigint {
  let hi = 0n;
  for (let i = 0; i < 8; i++) hi = (hi << 8n) | BigInt(a[i] ?? 0);
  return hi;
}

/** 16 octets for a /64 prefix key (lower half zero). */
export function prefix64Bytes(p: bigint): Uint8Array {
  const out = new Uint8Array(16);
  let v = p;
  for (let i = 7; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** A host address: the upper 64 bits of `prefix` and a 64-bit interface identifier (RFC 4291 §2.5.1). */
export function addressInPrefix64(prefix: Uint8Array, iid: Uint8Array): Uint8Array {
  const a = new Uint8Array(16);
  a.set(prefix.subarray(0, 8), 0);
  a.set(iid.subarray(0, 8), 8);
  return a;
}

/** A parsed IPv6 prefix no longer than /64. */
export interface Ipv6Prefix {
  /** Upper 64 bits of the network. */
  readonly network64: bigint;
  readonly length: number;
}

/** Parse "2001:db8:100::/56" (length 1..64, host bits zero). */
export function parseIpv6Prefix(text: string): Result<Ipv6Prefix, string> {
  const m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(text);
  if (!m) return err(`expected an IPv6 prefix like "2001:db8:100::/56", got "${text}"`);
  const a = parseIpv6(m[1] ?? '');
  const len = Number(m[2]);
  if (a === undefined) return err(`bad IPv6 address in "${text}"`);
  if (len < 1 || len > 64) return err(`prefix length must be 1..64 (one /64 per session), got ${len}`);
  if (a.subarray(8).some((b) => b !== 0)) return err(`"${text}" has bits set below /64`);
  const network64 = prefix64Of(a);
  const hostBits = BigInt(64 - len);
  if (hostBits > 0n && (network64 & ((1n << hostBits) - 1n)) !== 0n) return err(`"${text}" has host bits set`);
  return ok({ network64, length: len });
}

/** `2001:db8::/56` text of a prefix. */
export const formatIpv6Prefix = (p: Ipv6Prefix): string => `${formatIpv6(prefix64Bytes(p.network64))}/${p.length}`;

/** The eight groups in full, no zero compression (RFC 4291 §2.2 form 1; IKE identities in logs). */
export function formatIpv6Full(a: Uint8Array): string {
  const ws: string[] = [];
  for (let i = 0; i + 1 < a.length; i += 2) ws.push((((a[i] ?? 0) << 8) | (a[i + 1] ?? 0)).toString(16));
  return ws.join(':');
}
