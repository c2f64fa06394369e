/**
 * The configured servers at run time: normalised settings, alive/dead state with dead-time, the
 * 256 Identifiers per server (RFC 2865 §3: the Identifier matches a reply to its request, per
 * source/destination pair) and the counters. Selection: lowest priority first, weighted random
 * among equals, dead servers skipped while another is usable; when all are dead, the one whose
 * dead-time ends first is used anyway, so a total outage never stops trying.
 */
import { addDuration, type Instant, millis, type RandomSource } from '../../base/index.js';
import { RADIUS_PORT } from '../../wire/radius/index.js';
import type { RadiusServerConfig, RadiusServerKind, RadiusServerSnapshot, RadiusServerStats } from './types.js';


/** Defaults of `RadiusServerConfig` (RFC 5080 §2.2.1 leaves them to us; FreeRADIUS's client uses the same). */
export const RADIUS_SERVER_DEFAULTS = {
  timeoutMs: 3000,
  retries: 3,
  priority: 1,
  weight: 1,
  deadTimeMs: 30_000,
  requireMessageAuthenticator: true,
  statusServer: false,
} as const;

/** One slot of a server's Identifier space: the transaction using it and the authenticator sent. */
export interface IdSlot<T> {
  readonly owner: T;
  readonly authenticator: Uint8Array;
}

const encoder = new TextEncoder();

/** A server at run time. `T` is the client's transaction type (owner of an Identifier). */
export class RadiusServer<T> {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly secret: Uint8Array;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly priority: number;
  readonly weight: number;
  readonly deadTimeMs: number;
  readonly sourceAddress: string | undefined;
  readonly requireMessageAuthenticator: boolean;
  readonly statusServer: boolean;
  state: 'alive' | 'dead' = 'alive';
  deadUntil: Instant | undefined = undefined;
  readonly stats: RadiusServerStats = {
    requests: 0,
    retransmissions: 0,
    accepts: 0,
    rejects: 0,
    challenges: 0,
    accountingResponses: 0,
    timeouts: 0,
    malformed: 0,
    badAuthenticators: 0,
    badMessageAuthenticators: 0,
    missingMessageAuthenticators: 0,
    unexpectedCodes: 0,
    unmatched: 0,
    statusProbes: 0,
    lastRttMs: undefined,
    smoothedRttMs: undefined,
  };
  private readonly slots: (IdSlot<T> | undefined)[] = new Array<IdSlot<T> | undefined>(256).fill(undefined);
  private used = 0;
  private nextId: number;

  constructor(
    readonly kind: RadiusServerKind,
    c: RadiusServerConfig,
    random: RandomSource,
  ) {
    this.name = c.name;
    this.address = c.address;
    this.port = c.port ?? (kind === 'auth' ? RADIUS_PORT.auth : RADIUS_PORT.acct);
    this.secret = typeof c.secret === 'string' ? encoder.encode(c.secret) : new Uint8Array(c.secret);
    const d = RADIUS_SERVER_DEFAULTS;
    this.timeoutMs = Math.max(1, c.timeoutMs ?? d.timeoutMs);
    this.retries = Math.max(0, Math.floor(c.retries ?? d.retries));
    this.priority = c.priority ?? d.priority;
    this.weight = Math.max(0, c.weight ?? d.weight);
    this.deadTimeMs = Math.max(0, c.deadTimeMs ?? d.deadTimeMs);
    this.sourceAddress = c.sourceAddress;
    this.requireMessageAuthenticator = c.requireMessageAuthenticator ?? d.requireMessageAuthenticator;
    this.statusServer = c.statusServer ?? d.statusServer;
    // RFC 2865 §3 leaves the choice open; a random start makes Identifiers hard to predict.
    this.nextId = random.u32() & 0xff;
  }

  /** Identifiers in use. */
  get pending(): number {
    return this.used;
  }

  /** Take a free Identifier for `owner`, or undefined when all 256 are in use. */
  allocateId(owner: T, authenticator: Uint8Array): number | undefined {
    if (this.used >= 256) return undefined;
    for (let i = 0; i < 256; i++) {
      const id = (this.nextId + i) & 0xff;
      if (this.slots[id] === undefined) {
        this.slots[id] = { owner, authenticator };
        this.used++;
        this.nextId = (id + 1) & 0xff;
        return id;
      }
    }
    return undefined;
  }

  /** Set the authenticator of an Identifier already held (it is known only after signing). */
  setAuthenticator(id: number, owner: T, authenticator: Uint8Array): void {
    if (this.slots[id]?.owner === owner) this.slots[id] = { owner, authenticator };
  }

  /** The holder of an Identifier. */
  slot(id: number): IdSlot<T> | undefined {
    return this.slots[id & 0xff];
  }

  /** Free an Identifier (only if `owner` holds it). */
  releaseId(id: number, owner: T): void {
    if (this.slots[id]?.owner !== owner) return;
    this.slots[id] = undefined;
    this.used--;
  }

  /** Usable now: alive, or dead-time over without Status-Server probing. */
  usable(now: Instant): boolean {
    return this.state === 'alive' || (!this.statusServer && this.deadUntil !== undefined && now >= this.deadUntil);
  }

  /** Mark dead for the dead-time; returns false when dead-time is 0 (never marked dead). */
  markDead(now: Instant): boolean {
    if (this.deadTimeMs === 0) return false;
    this.state = 'dead';
    this.deadUntil = addDuration(now, millis(this.deadTimeMs));
    return true;
  }

  /** Back to alive; returns true when it was dead. */
  markAlive(): boolean {
    const was = this.state === 'dead';
    this.state = 'alive';
    this.deadUntil = undefined;
    return was;
  }

  /** Record a round-trip time (smoothed with gain 1/8 as in RFC 6298). */
  recordRtt(ms: number): void {
    this.stats.lastRttMs = ms;
    this.stats.smoothedRttMs = this.stats.smoothedRttMs === undefined ? ms : this.stats.smoothedRttMs + (ms - this.stats.smoothedRttMs) / 8;
  }

  /** For `show radius`. */
  snapshot(): RadiusServerSnapshot {
    return {
      name: this.name,
      kind: this.kind,
      address: this.address,
      port: this.port,
      priority: this.priority,
      weight: this.weight,
      state: this.state,
      deadUntil: this.deadUntil,
      pending: this.used,
      stats: { ...this.stats },
    };
  }
}

/**
 * Pick the next server for a request that already tried `tried`: usable servers by priority, then
 * weighted random; with none usable, the dead one whose dead-time ends first; undefined when every
 * server was tried.
 */
export function selectServer<T>(servers: readonly RadiusServer<T>[], tried: ReadonlySet<RadiusServer<T>>, now: Instant, random: RandomSource): RadiusServer<T> | undefined {
  const left = servers.filter((s) => !tried.has(s));
  if (left.length === 0) return undefined;
  const usable = left.filter((s) => s.usable(now));
  if (usable.length === 0) {
    return left.reduce((best, s) => ((s.deadUntil ?? now) < (best.deadUntil ?? now) ? s : best));
  }
  const top = Math.min(...usable.map((s) => s.priority));
  const group = usable.filter((s) => s.priority === top);
  const total = group.reduce((n, s) => n + s.weight, 0);
  if (total <= 0) return group[0];
  let pick = (random.u32() / 0x100000000) * total;
  for (const s of group) {
    pick -= s.weight;
    if (pick < 0) return s;
  }
  return group[group.length - 1];
}
