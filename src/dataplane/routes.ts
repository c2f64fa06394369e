/**
 * Routing from the shared TUN device to PPP sessions by destination address: an IPv4 host route
 * per session (its IPCP address) and an IPv6 /64 per session (its SLAAC prefix), plus prefix routes
 * toward a session (RADIUS Framed-Route RFC 2865 §5.22, Delegated-IPv6-Prefix RFC 4818), found by
 * longest match only when no host route matches. Lookups read the destination straight from the
 * packet bytes, without allocating.
 */

const mask4 = (length: number): number => (length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0);
const mask64 = (length: number): bigint => (length === 0 ? 0n : ((1n << BigInt(length)) - 1n) << BigInt(64 - length));

/** Prefix routes of one family: one map per prefix length, lengths kept longest first. */
class PrefixTable<K extends number | bigint, T> {
  private readonly byLength = new Map<number, Map<K, T>>();
  /** Lengths in use, longest first (the longest match is the first hit). */
  lengths: number[] = [];
  size = 0;

  constructor(private readonly maskOf: (length: number) => K, private readonly and: (a: K, b: K) => K) {}

  set(network: K, length: number, target: T): void {
    let m = this.byLength.get(length);
    if (m === undefined) {
      m = new Map();
      this.byLength.set(length, m);
      this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    }
    if (!m.has(network)) this.size++;
    m.set(network, target);
  }

  delete(network: K, length: number): void {
    const m = this.byLength.get(length);
    if (m === undefined || !m.delete(network)) return;
    this.size--;
    if (m.size === 0) {
      this.byLength.delete(length);
      this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    }
  }

  match(addr: K): T | undefined {
    for (const len of this.lengths) {
      const t = this.byLength.get(len)?.get(this.and(addr, this.maskOf(len)));
      if (t !== undefined) return t;
    }
    return undefined;
  }
}

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
  private readonly p4 = new PrefixTable<number, T>(mask4, (a, b) => (a & b) >>> 0);
  private readonly p6 = new PrefixTable<bigint, T>(mask64, (a, b) => a & b);

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

  /** Add or replace an IPv4 prefix route (network in host order, host bits zero). */
  addIpv4Prefix(network: number, length: number, target: T): void {
    this.p4.set(network >>> 0, length, target);
  }

  /** Remove an IPv4 prefix route. */
  removeIpv4Prefix(network: number, length: number): void {
    this.p4.delete(network >>> 0, length);
  }

  /** Add or replace an IPv6 prefix route of length 0..64 (`network64`: its upper 64 bits). */
  addIpv6Route(network64: bigint, length: number, target: T): void {
    this.p6.set(network64, length, target);
  }

  /** Remove an IPv6 prefix route. */
  removeIpv6Route(network64: bigint, length: number): void {
    this.p6.delete(network64, length);
  }

  /** Number of routes. */
  get size(): number {
    return this.v4.size + this.v6.size + this.p4.size + this.p6.size;
  }

  /** The session a packet read from the TUN belongs to, by its destination address. */
  lookup(pkt: Uint8Array, off = 0, len = pkt.length - off): T | undefined {
    if (len < 1) return undefined;
    const version = (pkt[off] ?? 0) >> 4;
    if (version === 4 && len >= 20) {
      const dst = ipv4Destination(pkt, off);
      const t = this.v4.get(dst);
      return t !== undefined || this.p4.size === 0 ? t : this.p4.match(dst);
    }
    if (version === 6 && len >= 40) {
      const dst = ipv6Destination64(pkt, off);
      const t = this.v6.get(dst);
      return t !== undefined || this.p6.size === 0 ? t : this.p6.match(dst);
    }
    return undefined;
  }
}
