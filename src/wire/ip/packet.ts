/**
 * Small read-only checks on IP packets crossing a PPP session: source-address validation (an
 * RFC 2827/BCP 38 ingress filter per session) and address scopes. Never throw.
 */

/** IPv4 source address (bytes 12..15) as an unsigned number. */
export function ipv4Source(p: Uint8Array): number {
  return (((p[12] ?? 0) << 24) | ((p[13] ?? 0) << 16) | ((p[14] ?? 0) << 8) | (p[15] ?? 0)) >>> 0;
}

/** Upper 64 bits of the IPv6 source (bytes 8..15). */
export function ipv6Source64(p: Uint8Array): bigint {
  let hi = 0n;
  for (let i = 0; i < 8; i++) hi = (hi << 8n) | BigInt(p[8 + i] ?? 0);
  return hi;
}

/** True for fe80::/10 at `off` (a source or destination). */
export function isLinkLocal(p: Uint8Array, off: number): boolean {
  return p[off] === 0xfe && ((p[off + 1] ?? 0) & 0xc0) === 0x80;
}

/** True for a multicast address (ff00::/8) at `off`. */
export function isMulticast6(p: Uint8Array, off: number): boolean {
  return p[off] === 0xff;
}

/** A minimal version check: 4 or 6 with a plausible header length, else undefined. */
export function ipVersion(p: Uint8Array): 4 | 6 | undefined {
  const v = (p[0] ?? 0) >> 4;
  if (v === 4 && p.length >= 20) return 4;
  if (v === 6 && p.length >= 40) return 6;
  return undefined;
}

/** ICMPv6 type of a packet whose Next Header is 58 directly (no extension headers), else undefined. */
export function icmpv6Type(p: Uint8Array): number | undefined {
  if (p.length < 44 || p[6] !== 58) return undefined;
  return p[40];
}
