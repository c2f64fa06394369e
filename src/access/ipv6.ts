/**
 * A pool of /64 prefixes carved out of a shorter
 * delegated prefix (one /64 per PPP session, announced by Router Advertisement, RFC 4861 §4.2).
 * The text forms and prefix helpers live in base (ipv6.ts).
 */
import type { Ipv6Prefix } from '../base/index.js';

/** Largest number of /64s a pool will track (a /32 has 2^32; more is never needed per LNS). */
const MAX_SUBNETS = 2 ** 32;

/**
 * /64 subnets of a prefix leased to owners (sessions). Round-robin like `Ipv4Pool`, so a just-freed
 * /64 is not handed to the next client at once (stale routes and neighbour caches age out first).
 */
export class Ipv6PrefixPool {
  private readonly count: number;
  private readonly byIndex = new Map<number, string>();
  private readonly byOwner = new Map<string, number>();
  private cursor = 0;

  /** A pool over `prefix`. */
  constructor(readonly prefix: Ipv6Prefix) {
    this.count = Math.min(MAX_SUBNETS, 2 ** (64 - prefix.length));
  }

  /** Number of /64s. */
  get capacity(): number {
    return this.count;
  }
  /** Number leased now. */
  get inUse(): number {
    return this.byOwner.size;
  }

  /** Lease a /64 to `owner` (idempotent); undefined when exhausted. Returns the /64 key. */
  allocate(owner: string): bigint | undefined {
    const have = this.byOwner.get(owner);
    if (have !== undefined) return this.key(have);
    for (let i = 0; i < this.count; i++) {
      const idx = (this.cursor + i) % this.count;
      if (this.byIndex.has(idx)) continue;
      this.cursor = (idx + 1) % this.count;
      this.byIndex.set(idx, owner);
      this.byOwner.set(owner, idx);
      return this.key(idx);
    }
    return undefined;
  }

  /** Give `owner`'s /64 back; returns it if there was one. */
  release(owner: string): bigint | undefined {
    const idx = this.byOwner.get(owner);
    if (idx === undefined) return undefined;
    this.byOwner.delete(owner);
    this.byIndex.delete(idx);
    return this.key(idx);
  }

  private key(idx: number): bigint {
    return this.prefix.network64 | BigInt(idx);
  }
}
