/**
 * IPv4 address pools for PPP sessions (IPCP). Addresses are plain numbers internally; each lease
 * records its owner string so a session can never release or double-book another's address. One map
 * (address -> owner) per pool: the owner keeps its own address (`SessionAddressPool.address`) and
 * names it on release, so there is no owner -> address map per session (issue 15).
 */
import { err, formatIpv4, type Ipv4Prefix, ok, type Result } from '../base/index.js';

/** Why an allocation failed. */
export type PoolError = { readonly kind: 'exhausted' } | { readonly kind: 'in-use'; readonly address: string; readonly owner: string } | { readonly kind: 'outside-pool'; readonly address: string };

/**
 * A pool over a prefix. The network and broadcast addresses and any `reserved` addresses (e.g. the
 * LNS's own address) are never handed out. Allocation is first-free after the last allocation
 * (round robin), so a just-released address is not immediately reused.
 */
export class Ipv4Pool {
  private readonly first: number;
  private readonly last: number;
  private readonly byAddress = new Map<number, string>();
  private readonly reserved: ReadonlySet<number>;
  private cursor: number;

  /** Create a pool for `prefix`, skipping `reserved` addresses. */
  constructor(prefix: Ipv4Prefix, reserved: readonly number[] = []) {
    const size = 2 ** (32 - prefix.length);
    if (prefix.length >= 31) {
      this.first = prefix.network;
      this.last = prefix.network + size - 1;
    } else {
      this.first = prefix.network + 1;
      this.last = prefix.network + size - 2;
    }
    this.reserved = new Set(reserved);
    this.cursor = this.first;
  }

  /** Number of addresses the pool can hand out. */
  get capacity(): number {
    let n = this.last - this.first + 1;
    for (const r of this.reserved) if (r >= this.first && r <= this.last) n--;
    return n;
  }

  /** Number of addresses leased now. */
  get inUse(): number {
    return this.byAddress.size;
  }

  /** True if `addr` belongs to this pool's range. */
  contains(addr: number): boolean {
    return addr >= this.first && addr <= this.last;
  }

  /**
   * Lease a free address to `owner`. Every call leases another address: the owner keeps the one it
   * got (one lease per session is the caller's rule: `SessionAddressPool` asks once).
   */
  allocate(owner: string): Result<number, PoolError> {
    const span = this.last - this.first + 1;
    for (let i = 0; i < span; i++) {
      const a = this.first + ((this.cursor - this.first + i) % span);
      if (this.reserved.has(a) || this.byAddress.has(a)) continue;
      this.cursor = a + 1 > this.last ? this.first : a + 1;
      this.byAddress.set(a, owner);
      return ok(a);
    }
    return err({ kind: 'exhausted' });
  }

  /** Lease a specific address (a static per-user address, or the one a client asked for); idempotent for its owner. */
  allocateSpecific(owner: string, addr: number): Result<number, PoolError> {
    const holder = this.byAddress.get(addr);
    if (holder !== undefined && holder !== owner) return err({ kind: 'in-use', address: formatIpv4(addr), owner: holder });
    if (this.reserved.has(addr)) return err({ kind: 'in-use', address: formatIpv4(addr), owner: 'reserved' });
    this.byAddress.set(addr, owner);
    return ok(addr);
  }

  /** Return `owner`'s lease of `addr` to the pool; returns `addr` if `owner` held it (another's lease stays). */
  release(owner: string, addr: number): number | undefined {
    if (this.byAddress.get(addr) !== owner) return undefined;
    this.byAddress.delete(addr);
    return addr;
  }

  /** The owner of `addr`, if leased. */
  ownerOf(addr: number): string | undefined {
    return this.byAddress.get(addr);
  }
}

/**
 * The default pool and named pools (RFC 2869 §5.18 Framed-Pool picks one by name). Prefixes must not
 * overlap (the config checks it), so every address belongs to at most one pool.
 */
export class Ipv4PoolSet {
  private readonly byName: ReadonlyMap<string, Ipv4Pool>;

  /** `named` maps a pool name to its pool; the default pool has no name. */
  constructor(
    readonly defaultPool: Ipv4Pool,
    named: ReadonlyMap<string, Ipv4Pool> = new Map(),
  ) {
    this.byName = named;
  }

  /** The pool called `name`, if configured. */
  named(name: string): Ipv4Pool | undefined {
    return this.byName.get(name);
  }

  /** Names of the named pools. */
  get names(): readonly string[] {
    return [...this.byName.keys()];
  }

  /** Every pool, the default first. */
  get all(): readonly Ipv4Pool[] {
    return [this.defaultPool, ...this.byName.values()];
  }

  /** The pool whose range holds `addr`. */
  containing(addr: number): Ipv4Pool | undefined {
    for (const p of this.all) if (p.contains(addr)) return p;
    return undefined;
  }

  /** Addresses all pools can hand out. */
  get capacity(): number {
    let n = 0;
    for (const p of this.all) n += p.capacity;
    return n;
  }

  /** Addresses leased now over all pools. */
  get inUse(): number {
    let n = 0;
    for (const p of this.all) n += p.inUse;
    return n;
  }
}
