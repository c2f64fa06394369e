/**
 * Routing from the shared TUN device to PPP sessions by destination address: an IPv4 host route
 * per session (its IPCP address) and an IPv6 /64 per session (its SLAAC prefix). Lookups read the
 * destination straight from the packet bytes, without allocating.
 */

/** Read the IPv4 destination (bytes 16..19) as an unsigned number. */
export function ipv4Destination(pkt: Uint8Array, off = 0): number {
  return (((pkt[off + 16] ?? 0) << 24) | ((pkt[off + 17] ?? 0) << 16) | ((pkt[off + 18] ?? 0) << 8) | (pkt[off + 19] ?? 0)) >>> 0;
}

/** Read the upper 64 bits of the IPv6 destination (bytes 24..31) as a bigint key. */
export function ipv6Destination64(pkt: Uint8Array, off = 0): bigint {
  let hi = 0n;
  for (let i = 0; i < 8; i++) hi = (hi << 8n) | BigInt(pkt[off + 24 + i] ?? 0);
  return hi;
}

/** A route table mapping session addresses to an opaque session handle `T`. */
export class SessionRoutes<T> {
  private readonly v4 = new Map<number, T>();
  private readonly v6 = new Map<bigint, T>();

  /** Add or replace the IPv4 host route for `addr`. */
  addIpv4(addr: number, target: T): void {
    this.v4.set(addr >>> 0, target);
  }

  /** Remove the IPv4 host route for `addr`. */
  removeIpv4(addr: number): void {
    this.v4.delete(addr >>> 0);
  }

  /** Add or replace the IPv6 /64 route whose upper 64 bits are `prefix64`. */
  addIpv6Prefix(prefix64: bigint, target: T): void {
    this.v6.set(prefix64, target);
  }

  /** Remove the IPv6 /64 route. */
  removeIpv6Prefix(prefix64: bigint): void {
    this.v6.delete(prefix64);
  }

  /** Number of routes. */
  get size(): number {
    return this.v4.size + this.v6.size;
  }

  /** The session a packet read from the TUN belongs to, by its destination address. */
  lookup(pkt: Uint8Array, off = 0, len = pkt.length - off): T | undefined {
    if (len < 1) return undefined;
    const version = (pkt[off] ?? 0) >> 4;
    if (version === 4 && len >= 20) return this.v4.get(ipv4Destination(pkt, off));
    if (version === 6 && len >= 40) return this.v6.get(ipv6Destination64(pkt, off));
    return undefined;
  }
}
