/**
 * Token buckets on the injected clock (a flood must not cost more than the configured rate): one
 * bucket, and buckets by numeric key, swept of idle (full) buckets and bounded in size. Used for
 * PPPoE PADI/PADR rate limiting and the L2TP SCCRQ admission limit.
 */
import type { Instant } from './time.js';

/** A rate: `perSecond` tokens are added per second up to `burst`. */
export interface Rate {
  readonly perSecond: number;
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

function refill(b: Bucket, r: Rate, now: Instant): void {
  if (now > b.at) {
    b.tokens = Math.min(r.burst, b.tokens + ((now - b.at) * r.perSecond) / 1000);
    b.at = now;
  }
}

/** One token bucket (starts full). */
export class TokenBucket {
  private readonly b: Bucket;
  constructor(
    readonly rate: Rate,
    now: Instant,
  ) {
    this.b = { tokens: rate.burst, at: now };
  }

  /** Take one token if there is one. */
  take(now: Instant): boolean {
    refill(this.b, this.rate, now);
    if (this.b.tokens < 1) return false;
    this.b.tokens -= 1;
    return true;
  }
}

/** Token buckets by key (a MAC, an address); at most `maxKeys` are tracked, new keys beyond are refused. */
export class KeyedTokenBuckets<K = number> {
  private readonly buckets = new Map<K, Bucket>();

  constructor(
    readonly rate: Rate,
    readonly maxKeys: number,
  ) {}

  /** Keys currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  /** Take one token for `key`. */
  take(now: Instant, key: K): boolean {
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) return false;
      b = { tokens: this.rate.burst, at: now };
      this.buckets.set(key, b);
    }
    refill(b, this.rate, now);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forget buckets that have refilled completely (they behave exactly like new ones). */
  sweep(now: Instant): void {
    for (const [k, b] of this.buckets) {
      refill(b, this.rate, now);
      if (b.tokens >= this.rate.burst) this.buckets.delete(k);
    }
  }
}
