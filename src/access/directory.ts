/**
 * Who may log in, and which IPv4 address each session gets: a replaceable user table (the daemon
 * swaps it on SIGHUP) and the per-session adapter from the PPP core's `AddressPool` to the shared
 * `Ipv4Pool`, with leases keyed by session so every teardown path can release them by owner.
 */
import type { AddressPool, AuthVerifier } from '../ppp/index.js';
import { Ipv4PoolSet, type Ipv4Pool, type UserRecord } from '../aaa/index.js';
import { formatIpv4, parseIpv4 } from '../base/index.js';

/** A source of user records (the users file now; RADIUS would answer asynchronously instead). */
export interface UserDirectory {
  /** The record for `username`, or undefined for an unknown user. */
  lookup(username: string): UserRecord | undefined;
}

/** The local user table; `replace` swaps the whole set atomically (SIGHUP reload). */
export class UserTable implements UserDirectory, AuthVerifier {
  private users: ReadonlyMap<string, UserRecord>;

  /** Start with `users` (e.g. the value of `parseUsersFile`). */
  constructor(users: ReadonlyMap<string, UserRecord> = new Map()) {
    this.users = users;
  }
  /** Install a new set of users; sessions already up are not touched. */
  replace(users: ReadonlyMap<string, UserRecord>): void {
    this.users = users;
  }
  /** Number of users. */
  get size(): number {
    return this.users.size;
  }
  /** The record for `username`. */
  lookup(username: string): UserRecord | undefined {
    return this.users.get(username);
  }
}

/**
 * Told of every lease and release (the daemon's lease journal, so a restarted LNS knows which
 * addresses live clients may still use). `address` is host order.
 */
export interface LeaseObserver {
  leased(owner: string, address: number, username: string | undefined): void;
  released(owner: string, address: number): void;
  /** A held address (see {@link AddressBook.hold}) is free again, or was taken back by its user. */
  unheld(address: number): void;
}

/** An address a previous run leased and that must not be handed to anybody else for a while. */
export interface HeldLease {
  /** Host order. */
  readonly address: number;
  /** Who had it: that user may take it back. */
  readonly username: string | undefined;
}

/** The pool owner key of a held address (never a session key, which is `tunnel/session`). */
const heldOwner = (address: number): string => `held:${address}`;

/** Why no IPv4 address could be given to a session. */
export type AddressFailure = 'pool-exhausted' | 'static-in-use' | 'unknown-pool' | 'no-address';

/** What the session's authorization asks for (RADIUS Framed-IP-Address RFC 2865 §5.8, Framed-Pool RFC 2869 §5.18). */
export interface AddressHint {
  /** This address (host order), in a pool or outside every pool. */
  readonly address?: number;
  /** An address out of the named pool. */
  readonly pool?: string;
}

/**
 * The shared state behind every session's `SessionAddressPool`: the default and named pools, plus
 * static or RADIUS-given addresses outside every pool (which must not be given to two sessions either).
 */
export class AddressBook {
  private readonly outside = new Map<number, string>();
  /** Held addresses (a previous run's leases) by address, and the address each user may take back. */
  private readonly heldBy = new Map<number, string | undefined>();
  private readonly heldFor = new Map<string, number>();
  /** Every pool (`pools.defaultPool` is the one without a name). */
  readonly pools: Ipv4PoolSet;

  /** Wrap `pools` (or a single default pool); `users` supplies static addresses. */
  constructor(
    pools: Ipv4Pool | Ipv4PoolSet,
    private readonly users: UserDirectory,
    private readonly observer?: LeaseObserver,
  ) {
    this.pools = pools instanceof Ipv4PoolSet ? pools : new Ipv4PoolSet(pools);
  }

  /** Addresses held for a previous run's clients now. */
  get held(): number {
    return this.heldBy.size;
  }

  /**
   * Keep `h.address` from everybody but `h.username` (a lease of a previous run whose client may still
   * use it) until {@link unhold}. Returns false when the address is in no pool or already taken.
   */
  hold(h: HeldLease): boolean {
    const pool = this.pools.containing(h.address);
    if (pool === undefined || this.heldBy.has(h.address) || pool.ownerOf(h.address) !== undefined) return false;
    if (!pool.allocateSpecific(heldOwner(h.address), h.address).ok) return false;
    this.heldBy.set(h.address, h.username);
    if (h.username !== undefined && !this.heldFor.has(h.username)) this.heldFor.set(h.username, h.address);
    return true;
  }

  /** The hold on `address` ends (its time ran out); true when it was held. */
  unhold(address: number): boolean {
    if (!this.heldBy.has(address)) return false;
    const user = this.heldBy.get(address);
    this.heldBy.delete(address);
    if (user !== undefined && this.heldFor.get(user) === address) this.heldFor.delete(user);
    this.pools.containing(address)?.release(heldOwner(address), address);
    this.observer?.unheld(address);
    return true;
  }

  /** The default pool. */
  get pool(): Ipv4Pool {
    return this.pools.defaultPool;
  }

  /** Number of addresses leased (every pool + addresses outside the pools). */
  get inUse(): number {
    return this.pools.inUse + this.outside.size;
  }

  /** True when `addr` is leased outside every pool (it needs a route of its own toward the TUN). */
  isOutside(addr: number): boolean {
    return this.outside.has(addr);
  }

  /**
   * Lease an address for `owner` (a session key) and `username`: the hinted address, else the user's
   * static address, else one out of the hinted pool or the default pool.
   */
  lease(owner: string, username: string | undefined, hint: AddressHint = {}): { ok: true; address: number } | { ok: false; failure: AddressFailure } {
    const r = this.choose(owner, username, hint);
    if (r.ok) this.observer?.leased(owner, r.address, username);
    return r;
  }

  private choose(owner: string, username: string | undefined, hint: AddressHint): { ok: true; address: number } | { ok: false; failure: AddressFailure } {
    // The authorization's address or pool wins over the users file's static address.
    const fixed = hint.address ?? (username !== undefined && hint.pool === undefined ? this.users.lookup(username)?.staticAddress : undefined);
    // A user whose address is held (its lease of a previous run) takes it back from the same pool.
    const back = username !== undefined ? this.heldFor.get(username) : undefined;
    if (back !== undefined && (fixed === undefined || fixed === back)) {
      const wanted = hint.pool === undefined ? this.pools.defaultPool : this.pools.named(hint.pool);
      if (fixed === back || wanted?.contains(back) === true) {
        this.unhold(back);
        const pool = this.pools.containing(back);
        if (pool?.allocateSpecific(owner, back).ok === true) return { ok: true, address: back };
      }
    }
    if (fixed !== undefined) {
      const pool = this.pools.containing(fixed);
      if (pool !== undefined) {
        const r = pool.allocateSpecific(owner, fixed);
        if (!r.ok) return { ok: false, failure: 'static-in-use' };
        return { ok: true, address: r.value };
      }
      const holder = this.outside.get(fixed);
      if (holder !== undefined && holder !== owner) return { ok: false, failure: 'static-in-use' };
      this.outside.set(fixed, owner);
      return { ok: true, address: fixed };
    }
    const pool = hint.pool === undefined ? this.pools.defaultPool : this.pools.named(hint.pool);
    if (pool === undefined) return { ok: false, failure: 'unknown-pool' };
    // No local pool (capacity 0, a stateless node): the authorization had to name the address.
    if (pool.capacity === 0) return { ok: false, failure: 'no-address' };
    const r = pool.allocate(owner);
    if (!r.ok) return { ok: false, failure: 'pool-exhausted' };
    return { ok: true, address: r.value };
  }

  /**
   * Release `address`, the one lease `owner` holds (idempotent; nothing when another owner has it).
   * The pool is found from the address: no owner -> pool map per session.
   */
  release(owner: string, address: number | undefined): void {
    if (address === undefined) return;
    const pool = this.pools.containing(address);
    let gone: number | undefined;
    if (pool !== undefined) gone = pool.release(owner, address);
    else if (this.outside.get(address) === owner) {
      this.outside.delete(address);
      gone = address;
    }
    if (gone !== undefined) this.observer?.released(owner, gone);
  }
}

/** No address asked for. */
const NO_HINT: AddressHint = Object.freeze({});

/** The `AddressPool` one PppLink sees: leases for exactly one session, failures remembered. */
export class SessionAddressPool implements AddressPool {
  /** The leased address (number form), while held. */
  address: number | undefined;
  /** Set when a lease was refused. */
  failure: AddressFailure | undefined;
  /** What the authorization asks for (set before IPCP starts; shared empty until then). */
  hint: AddressHint = NO_HINT;

  /** An adapter for session `owner`. */
  constructor(
    private readonly book: AddressBook,
    readonly owner: string,
  ) {}

  /** PPP asks for the peer's address after authentication (RFC 1332 §3.3). */
  allocate(username: string | undefined): string | undefined {
    if (this.address !== undefined) return formatIpv4(this.address);
    const r = this.book.lease(this.owner, username, this.hint);
    if (!r.ok) {
      this.failure = r.failure;
      return undefined;
    }
    this.address = r.address;
    return formatIpv4(r.address);
  }

  /** PPP gives the address back when the link ends. */
  release(address: string): void {
    const a = parseIpv4(address);
    if (a !== undefined && a === this.address) this.releaseAll();
  }

  /** Release whatever this session holds (every teardown path calls this). */
  releaseAll(): void {
    this.book.release(this.owner, this.address);
    this.address = undefined;
  }
}
