/**
 * Small read-only checks on IP packets crossing a PPP session: source-address validation (an
 * RFC 2827/BCP 38 ingress filter per session), link-local and Router Solicitation recognition,
 * and Router Advertisement Prefix Information parsing for the client. Never throw.
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

/** RFC 4861 §4.1: Router Solicitation is ICMPv6 type 133 (hop limit 255). */
export const isRouterSolicitation = (p: Uint8Array): boolean => icmpv6Type(p) === 133 && p[7] === 255;

/** A Prefix Information option found in a Router Advertisement (RFC 4861 §4.6.2). */
export interface AdvertisedPrefix {
  readonly prefix: Uint8Array;
  readonly length: number;
  readonly autonomous: boolean;
  readonly validLifetime: number;
}

/** Prefixes of an RA (ICMPv6 134 from a link-local source, hop limit 255); undefined if not an RA. */
export function parseRouterAdvertisement(p: Uint8Array): { readonly prefixes: readonly AdvertisedPrefix[]; readonly mtu?: number } | undefined {
  if (icmpv6Type(p) !== 134 || p[7] !== 255 || !isLinkLocal(p, 8)) return undefined;
  const end = Math.min(p.length, 40 + (((p[4] ?? 0) << 8) | (p[5] ?? 0)));
  const prefixes: AdvertisedPrefix[] = [];
  let mtu: number | undefined;
  // Options start after the 16-octet RA body; each is type, length (units of 8 octets), data.
  for (let o = 56; o + 2 <= end; ) {
    const len = (p[o + 1] ?? 0) * 8;
    if (len === 0 || o + len > end) break; // §4.6: a zero-length option invalidates the rest
    const type = p[o];
    if (type === 3 && len === 32) {
      const dv = new DataView(p.buffer, p.byteOffset + o, len);
      prefixes.push({
        length: p[o + 2] ?? 0,
        autonomous: ((p[o + 3] ?? 0) & 0x40) !== 0,
        validLifetime: dv.getUint32(4),
        prefix: p.slice(o + 16, o + 32),
      });
    } else if (type === 5 && len === 8) {
      mtu = new DataView(p.buffer, p.byteOffset + o, len).getUint32(4);
    }
    o += len;
  }
  return mtu === undefined ? { prefixes } : { prefixes, mtu };
}
