/**
 * Who may log in, and which IPv4 address each session gets: a replaceable user table (the daemon
 * swaps it on SIGHUP) and the per-session adapter from the PPP core's `AddressPool` to the shared
 * `Ipv4Pool`, with leases keyed by session so every teardown path can release them by owner.
 */
import type { AuthVerifier } from '../ppp/index.js';
import type { AddressPool } from '../ppp/index.js';
import { formatIpv4, parseIpv4, type Ipv4Pool, type UserRecord } from '../aaa/index.js';

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

/** Why no IPv4 address could be given to a session. */
export type AddressFailure = 'pool-exhausted' | 'static-in-use';

/**
 * The shared state behind every session's `SessionAddressPool`: the dynamic pool, plus static
 * per-user addresses outside the pool (which must not be given to two sessions either).
 */
export class AddressBook {
  private readonly outside = new Map<number, string>();

  /** Wrap `pool`; `users` supplies static addresses. */
  constructor(
    readonly pool: Ipv4Pool,
    private readonly users: UserDirectory,
  ) {}

  /** Number of addresses leased (pool + static outside the pool). */
  get inUse(): number {
    return this.pool.inUse + this.outside.size;
  }

  /** Lease an address for `owner` (a session key) and `username`. */
  lease(owner: string, username: string | undefined): { ok: true; address: number } | { ok: false; failure: AddressFailure } {
    const fixed = username !== undefined ? this.users.lookup(username)?.staticAddress : undefined;
    if (fixed !== undefined) {
      if (this.pool.contains(fixed)) {
        const r = this.pool.allocateSpecific(owner, fixed);
        return r.ok ? { ok: true, address: r.value } : { ok: false, failure: 'static-in-use' };
      }
      const holder = this.outside.get(fixed);
      if (holder !== undefined && holder !== owner) return { ok: false, failure: 'static-in-use' };
      this.outside.set(fixed, owner);
      return { ok: true, address: fixed };
    }
    const r = this.pool.allocate(owner);
    return r.ok ? { ok: true, address: r.value } : { ok: false, failure: 'pool-exhausted' };
  }

  /** Release everything `owner` holds (idempotent). */
  release(owner: string, address: number | undefined): void {
    this.pool.release(owner);
    if (address !== undefined && this.outside.get(address) === owner) this.outside.delete(address);
  }
}

/** The `AddressPool` one PppLink sees: leases for exactly one session, failures remembered. */
export class SessionAddressPool implements AddressPool {
  /** The leased address (number form), while held. */
  address: number | undefined;
  /** Set when a lease was refused. */
  failure: AddressFailure | undefined;

  /** An adapter for session `owner`. */
  constructor(
    private readonly book: AddressBook,
    readonly owner: string,
  ) {}

  /** PPP asks for the peer's address after authentication (RFC 1332 §3.3). */
  allocate(username: string | undefined): string | undefined {
    if (this.address !== undefined) return formatIpv4(this.address);
    const r = this.book.lease(this.owner, username);
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
