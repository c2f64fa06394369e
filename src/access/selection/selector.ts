/**
 * LAC tunnel selection, sans-I/O on the injected clock. For each subscriber session:
 *
 *  1. The RADIUS tunnel groups of the Access-Accept, when one is usable, give the destinations
 *     (RFC 2868); else the domain map gives local termination, a reject, or a tunnel profile.
 *  2. Destinations are tried level by level (lowest preference value first). Within a level the live,
 *     not full, not yet tried destinations are picked round-robin, or weighted: the one with the
 *     lowest (sessions + 1) / maxSessions.
 *  3. A destination whose tunnel fails to come up (SCCRQ timeout, StopCCN) is dead for the profile's
 *     dead time for everyone; the sessions waiting on it move on: to the next level, or first to the
 *     other destinations of the same level with `failoverWithinPreference`. When only dead
 *     destinations are left, the one whose dead time ends first is tried anyway.
 *  4. Sessions with the same destination and Tunnel-Assignment-Id share a tunnel until it holds
 *     `maxSessionsPerTunnel`; then a new tunnel to the same destination is opened.
 *
 * The shell reports tunnel outcomes (`tunnelUp`, `tunnelFailed`, `tunnelDown`) and session ends
 * (`release`); `pollAt` / `handleTimeout` turn expired dead times into `destination-alive` events.
 */
import { err, Fifo, type Instant, ok, type Result, type Timed } from '../../base/index.js';
import { resolveDomain } from './domain-map.js';
import { resolveProfile, resolveRadius, type ProfileError, type ResolvedDestination, type ResolvedPlan } from './profile.js';
import type {
  Choice,
  DestinationInfo,
  Failover,
  RadiusTunnelGroup,
  RejectReason,
  Selection,
  SelectorConfig,
  SelectorEvent,
  SessionTicket,
  TunnelFailure,
  TunnelInfo,
  TunnelKey,
} from './types.js';

interface DestState {
  readonly address: string;
  readonly port: number;
  deadUntil: Instant | undefined;
  failures: number;
  lastFailure: { readonly cause: TunnelFailure; readonly at: Instant } | undefined;
  sessions: number;
  readonly tunnels: Set<TunnelKey>;
}

interface TunnelState {
  readonly key: TunnelKey;
  readonly dest: ResolvedDestination;
  readonly assignmentId: string | undefined;
  readonly limit: number | undefined;
  readonly plan: ResolvedPlan;
  state: 'connecting' | 'up';
  readonly tickets: Set<SessionTicket>;
}

interface TicketState {
  readonly ticket: SessionTicket;
  /** Dropped once the session is confirmed (no more failover). */
  plan: ResolvedPlan | undefined;
  readonly tried: Set<string>;
  readonly triedLevels: Set<number>;
  tunnel: TunnelKey | undefined;
}

/** A profile of the configuration that cannot be used. */
export interface SelectorConfigError {
  readonly profile: string;
  readonly error: ProfileError;
}

/** The session's selection request. */
export interface SelectRequest {
  /** The subscriber's name as authenticated (`user@realm`). */
  readonly username: string;
  /** RFC 2868 tunnel groups from the Access-Accept, if RADIUS authenticated the session. */
  readonly radius?: readonly RadiusTunnelGroup[];
}

/** Tunnel selection for one LAC. */
export class TunnelSelector implements Timed {
  private readonly dests = new Map<string, DestState>();
  private readonly tunnels = new Map<TunnelKey, TunnelState>();
  private readonly tickets = new Map<SessionTicket, TicketState>();
  private readonly rotation = new Map<string, number>();
  private readonly events = new Fifo<SelectorEvent>();
  private nextTunnel = 1;
  private nextTicket = 1;

  private constructor(
    readonly cfg: SelectorConfig,
    private readonly plans: ReadonlyMap<string, ResolvedPlan>,
  ) {}

  /** Build a selector; every profile must be valid (≤ 31 destinations on ≤ 8 levels). */
  static create(cfg: SelectorConfig): Result<TunnelSelector, SelectorConfigError> {
    const plans = new Map<string, ResolvedPlan>();
    for (const [name, p] of Object.entries(cfg.profiles)) {
      const r = resolveProfile(name, p);
      if (!r.ok) return err({ profile: name, error: r.error });
      plans.set(name, r.value);
    }
    return ok(new TunnelSelector(cfg, plans));
  }

  // ------------------------------------------------------------------ selection

  /** Decide where a session goes; a `tunnel` answer holds a slot until `release`. */
  select(now: Instant, req: SelectRequest): Selection {
    const d = resolveDomain(this.cfg.domainMap, req.username);
    const base = d.target.kind === 'tunnel' ? this.cfg.profiles[d.target.profile] : undefined;
    let plan = req.radius === undefined ? undefined : resolveRadius(req.radius, base ?? this.cfg.radiusDefaults);
    if (plan === undefined) {
      if (d.target.kind === 'local') return { kind: 'local', username: d.username, realm: d.realm };
      if (d.target.kind === 'reject') return { kind: 'reject', reason: 'domain-rejected', realm: d.realm };
      plan = this.plans.get(d.target.profile);
      if (plan === undefined) return { kind: 'reject', reason: 'unknown-profile', realm: d.realm };
    }
    const t: TicketState = { ticket: this.nextTicket++ as SessionTicket, plan, tried: new Set(), triedLevels: new Set(), tunnel: undefined };
    const choice = this.advance(now, t);
    if (choice === undefined) return { kind: 'reject', reason: this.whyNone(plan), realm: d.realm };
    this.tickets.set(t.ticket, t);
    return { kind: 'tunnel', ticket: t.ticket, username: d.username, realm: d.realm, choice };
  }

  private dest(d: ResolvedDestination): DestState {
    let s = this.dests.get(d.key);
    if (s === undefined) {
      s = { address: d.address, port: d.port, deadUntil: undefined, failures: 0, lastFailure: undefined, sessions: 0, tunnels: new Set() };
      this.dests.set(d.key, s);
    }
    return s;
  }

  private isDead(now: Instant, d: ResolvedDestination): boolean {
    const u = this.dests.get(d.key)?.deadUntil;
    return u !== undefined && now < u;
  }

  private isFull(d: ResolvedDestination): boolean {
    return d.maxSessions !== undefined && (this.dests.get(d.key)?.sessions ?? 0) >= d.maxSessions;
  }

  private whyNone(plan: ResolvedPlan): RejectReason {
    return plan.destinations.every((d) => this.isFull(d)) ? 'all-destinations-full' : 'no-destination';
  }

  /** Pick among the candidates of one level: round-robin from the level's position, or weighted. */
  private pick(plan: ResolvedPlan, level: number, ok: (d: ResolvedDestination) => boolean): ResolvedDestination | undefined {
    const members = plan.destinations.filter((d) => d.level === level);
    const rk = `${plan.rotationKey}#${level}`;
    const start = this.rotation.get(rk) ?? 0;
    let best: { d: ResolvedDestination; pos: number; load: number } | undefined;
    for (let i = 0; i < members.length; i++) {
      const pos = (start + i) % members.length;
      const d = members[pos];
      if (d === undefined || !ok(d)) continue;
      if (plan.loadBalancing === 'round-robin') {
        best = { d, pos, load: 0 };
        break;
      }
      const load = ((this.dests.get(d.key)?.sessions ?? 0) + 1) / d.weight;
      if (best === undefined || load < best.load) best = { d, pos, load };
    }
    if (best !== undefined) this.rotation.set(rk, best.pos + 1);
    return best?.d;
  }

  /** The ticket's next destination and tunnel, or undefined when nothing is left to try. */
  private advance(now: Instant, t: TicketState): Choice | undefined {
    const plan = t.plan;
    if (plan === undefined) return undefined;
    const untried = (d: ResolvedDestination): boolean => !t.tried.has(d.key) && !this.isFull(d);
    const levels = [...new Set(plan.destinations.map((d) => d.level))];
    for (const level of levels) {
      if (!plan.failoverWithinPreference && t.triedLevels.has(level)) continue;
      const d = this.pick(plan, level, (x) => untried(x) && !this.isDead(now, x));
      if (d !== undefined) {
        t.triedLevels.add(level);
        return this.attach(t, plan, d);
      }
    }
    // Only dead destinations left: the one that comes back first is better than nothing.
    const dead = plan.destinations.filter((d) => untried(d) && this.isDead(now, d));
    dead.sort((a, b) => (this.dests.get(a.key)?.deadUntil ?? 0) - (this.dests.get(b.key)?.deadUntil ?? 0));
    const last = dead[0];
    return last === undefined ? undefined : this.attach(t, plan, last);
  }

  /** Put the ticket on a tunnel to `d`: a shared one with room (same Assignment-Id and source address), else a new one. */
  private attach(t: TicketState, plan: ResolvedPlan, d: ResolvedDestination): Choice {
    t.tried.add(d.key);
    const ds = this.dest(d);
    let tunnel: TunnelState | undefined;
    for (const k of ds.tunnels) {
      const x = this.tunnels.get(k);
      if (x === undefined || x.assignmentId !== d.assignmentId || x.dest.localAddress !== d.localAddress || (x.limit !== undefined && x.tickets.size >= x.limit)) continue;
      if (tunnel === undefined || (x.state === 'up' && tunnel.state !== 'up')) tunnel = x;
    }
    const newTunnel = tunnel === undefined;
    if (tunnel === undefined) {
      tunnel = { key: this.nextTunnel++ as TunnelKey, dest: d, assignmentId: d.assignmentId, limit: plan.maxSessionsPerTunnel, plan, state: 'connecting', tickets: new Set() };
      this.tunnels.set(tunnel.key, tunnel);
      ds.tunnels.add(tunnel.key);
    }
    tunnel.tickets.add(t.ticket);
    ds.sessions++;
    t.tunnel = tunnel.key;
    const { key: _k, weight: _w, maxSessions: _m, ...destination } = d;
    return { tunnel: tunnel.key, newTunnel, destination, source: plan.source };
  }

  private detach(t: TicketState): void {
    if (t.tunnel === undefined) return;
    const x = this.tunnels.get(t.tunnel);
    if (x !== undefined) {
      x.tickets.delete(t.ticket);
      const ds = this.dests.get(x.dest.key);
      if (ds !== undefined) ds.sessions--;
    }
    t.tunnel = undefined;
  }

  // ------------------------------------------------------------------ outcomes

  /** The tunnel is established (SCCRP/SCCCN): its destination is alive. */
  tunnelUp(_now: Instant, key: TunnelKey): void {
    const x = this.tunnels.get(key);
    if (x === undefined) return;
    x.state = 'up';
    const ds = this.dests.get(x.dest.key);
    if (ds?.deadUntil !== undefined) {
      ds.deadUntil = undefined;
      this.events.push({ type: 'destination-alive', address: ds.address, port: ds.port });
    }
  }

  /**
   * The tunnel could not be established: the destination is dead for the dead time, and every session
   * waiting on the tunnel gets its next choice (undefined = all tried; that ticket is gone).
   */
  tunnelFailed(now: Instant, key: TunnelKey, cause: TunnelFailure): Failover[] {
    const x = this.tunnels.get(key);
    if (x === undefined) return [];
    const ds = this.dest(x.dest);
    ds.failures++;
    ds.lastFailure = { cause, at: now };
    ds.deadUntil = (now + x.plan.deadTime) as Instant;
    this.events.push({ type: 'destination-dead', address: ds.address, port: ds.port, until: ds.deadUntil, cause });
    const out: Failover[] = [];
    for (const ticket of this.removeTunnel(x)) {
      const t = this.tickets.get(ticket);
      if (t === undefined) continue;
      const next = this.advance(now, t);
      if (next === undefined) this.tickets.delete(ticket);
      out.push({ ticket, next });
    }
    return out;
  }

  /** An established tunnel is gone (StopCCN, idle close): its sessions' tickets end with it. */
  tunnelDown(_now: Instant, key: TunnelKey): SessionTicket[] {
    const x = this.tunnels.get(key);
    if (x === undefined) return [];
    const gone = this.removeTunnel(x);
    for (const t of gone) this.tickets.delete(t);
    return gone;
  }

  private removeTunnel(x: TunnelState): SessionTicket[] {
    const tickets = [...x.tickets];
    for (const ticket of tickets) {
      const t = this.tickets.get(ticket);
      if (t !== undefined) this.detach(t);
    }
    this.tunnels.delete(x.key);
    this.dests.get(x.dest.key)?.tunnels.delete(x.key);
    return tickets;
  }

  /** The session is up on its tunnel (ICCN sent): no more failover for it. */
  confirm(ticket: SessionTicket): void {
    const t = this.tickets.get(ticket);
    if (t !== undefined) t.plan = undefined;
  }

  /** The session ended (or gave up): its slot is free. */
  release(ticket: SessionTicket): void {
    const t = this.tickets.get(ticket);
    if (t === undefined) return;
    this.detach(t);
    this.tickets.delete(ticket);
  }

  // ------------------------------------------------------------------ timers, events, show

  /** When the next dead destination comes back. */
  pollAt(): Instant | undefined {
    let at: Instant | undefined;
    for (const d of this.dests.values()) if (d.deadUntil !== undefined && (at === undefined || d.deadUntil < at)) at = d.deadUntil;
    return at;
  }

  /** Dead times that ended become `destination-alive` events. */
  handleTimeout(now: Instant): void {
    for (const d of this.dests.values()) {
      if (d.deadUntil !== undefined && now >= d.deadUntil) {
        d.deadUntil = undefined;
        this.events.push({ type: 'destination-alive', address: d.address, port: d.port });
      }
    }
  }

  /** The next event, or undefined. */
  pollEvent(): SelectorEvent | undefined {
    return this.events.shift();
  }

  /**
   * Every destination: those of the configured profiles (seen or not yet) and those RADIUS named,
   * with the profiles that list each one (preference, level, weight).
   */
  destinations(now: Instant): DestinationInfo[] {
    const listed = new Map<string, { address: string; port: number; profiles: DestinationInfo['profiles'][number][] }>();
    for (const plan of this.plans.values()) {
      for (const d of plan.destinations) {
        let e = listed.get(d.key);
        if (e === undefined) listed.set(d.key, (e = { address: d.address, port: d.port, profiles: [] }));
        e.profiles.push({ source: plan.source, preference: d.preference, level: d.level, weight: d.weight, ...(d.maxSessions !== undefined ? { maxSessions: d.maxSessions } : {}) });
      }
    }
    for (const [key, d] of this.dests) if (!listed.has(key)) listed.set(key, { address: d.address, port: d.port, profiles: [] });
    return [...listed].map(([key, e]) => {
      const d = this.dests.get(key);
      const dead = d?.deadUntil !== undefined && now < d.deadUntil;
      return {
        address: e.address, port: e.port, state: dead ? 'dead' : 'alive', deadUntil: dead ? d?.deadUntil : undefined,
        sessions: d?.sessions ?? 0, tunnels: d?.tunnels.size ?? 0, failures: d?.failures ?? 0, lastFailure: d?.lastFailure, profiles: e.profiles,
      };
    });
  }

  /** Every tunnel the selector placed sessions on. */
  tunnelList(): TunnelInfo[] {
    return [...this.tunnels.values()].map((x) => ({ tunnel: x.key, address: x.dest.address, port: x.dest.port, assignmentId: x.assignmentId, state: x.state, sessions: x.tickets.size }));
  }
}
