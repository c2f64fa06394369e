/**
 * LAC switching with tunnel selection (issue 14 item 4): the `LacSwitch` of one LAC engine whose
 * calls go where the `TunnelSelector` says, per subscriber. Sans-I/O like both of them.
 *
 *   auth captured --> [authorize: RADIUS Access-Request] --> selector.select(user, tunnel groups)
 *     local  -> the call is released to the shell (`local` event: it hands the lower to the LNS side)
 *     reject -> the subscriber is disconnected
 *     tunnel -> an existing tunnel to that destination (Tunnel-Assignment-Id, per-tunnel limit) or a
 *               new one (SCCRQ); the ICRQ waits in the engine until the tunnel is up
 *   tunnel-closing before it was up (SCCRQ timeout = retransmit-timeout, StopCCN, anything else =
 *   unreachable) -> selector.tunnelFailed: the destination is dead for its dead time and every call
 *   waiting on the tunnel moves to its next choice (new tunnel or shared); nothing left -> PADT.
 *   established tunnel closing -> selector.tunnelDown; the calls end with it.
 *   call ended -> selector.release; session established -> selector.confirm.
 *
 * The shell feeds `open`, `lowerGone`, `authorized` (the RADIUS answer), `handleL2tpEvent`, runs
 * `handleTimeout` at `pollAt()`, sends `pollTransmit()` and drains `pollEvent()`.
 */
import { type Instant, type Timed, earliest } from '../base/index.js';
import type { L2tpControlApi, L2tpEvent, SessionRequest, Transmit, TunnelSettings } from '../l2tp/index.js';
import type { TunnelId } from '../wire/l2tp/index.js';
import { LacSwitch, type LacSwitchConfig, type LacSwitchEvent, type RouteAnswer, type SwitchCall } from './lac-switch.js';
import type { SessionLower } from './lower.js';
import type { ChosenDestination, Choice, RadiusTunnelGroup, RejectReason, SelectorEvent, SessionTicket, TunnelFailure, TunnelKey, TunnelSelector } from './selection/index.js';

/** The engine calls of a selecting LAC: the switch's and `openTunnel`. */
export type SelectEngine = Pick<L2tpControlApi, 'openSession' | 'closeSession' | 'sendData' | 'bindSession' | 'openTunnel'>;

/** Settings of the selecting switch. */
export interface LacSelectConfig extends Omit<LacSwitchConfig, 'route' | 'failover'> {
  readonly selector: TunnelSelector;
  /** Tunnel settings (host name, secret, expected LNS name) for a new tunnel to `d`. */
  readonly settings: (d: ChosenDestination) => TunnelSettings;
  /**
   * The channel (`PeerAddress.via`) of a new tunnel to `d`: the shell's socket on the destination's
   * `localAddress` (Tunnel-Client-Endpoint), so the SCCRQ leaves from that source and the LNS's
   * answers come back through it. Undefined (or no callback): the LAC's default socket.
   */
  readonly via?: (d: ChosenDestination) => string | undefined;
  /** Ask an authenticator (RADIUS) first; the answer comes back through `authorized`. */
  readonly authorize?: (call: SwitchCall) => void;
}

/** What the authenticator said. */
export type Authorization =
  | { readonly kind: 'accept'; readonly tunnels: readonly RadiusTunnelGroup[] }
  | { readonly kind: 'reject'; readonly message?: string }
  /** No server answered: the domain map decides. */
  | { readonly kind: 'no-answer' };

/** Events: the switch's, the selector's, and the routing decisions. */
export type LacSelectEvent =
  | LacSwitchEvent
  | SelectorEvent
  | { readonly type: 'tunnel-opened'; readonly tunnel: TunnelId; readonly address: string; readonly port: number; readonly source: string }
  | { readonly type: 'routed'; readonly key: number; readonly username: string; readonly tunnel: TunnelId; readonly address: string; readonly source: string; readonly failover: boolean }
  | { readonly type: 'refused'; readonly key: number; readonly username: string; readonly reason: RejectReason | 'radius-reject' | 'no-tunnel' }
  /** Local termination: the call was released, the shell gives the subscriber's lower layer to the LNS side. */
  | { readonly type: 'local'; readonly key: number; readonly username: string };

/** Cause of a tunnel that closed before it was established, for the selector. */
function failureOf(cause: string): TunnelFailure {
  if (cause === 'stopccn') return 'stopccn';
  if (cause === 'retransmit-timeout') return 'sccrq-timeout';
  return 'unreachable';
}

/** The switch of one LAC engine with per-subscriber tunnel selection. */
export class LacSelect implements Timed {
  private readonly sw: LacSwitch;
  private readonly ids = new Map<TunnelKey, TunnelId>();
  private readonly keys = new Map<TunnelId, TunnelKey>();
  private readonly up = new Set<TunnelId>();
  /** Call key -> its selector ticket, and back. */
  private readonly tickets = new Map<number, SessionTicket>();
  private readonly calls = new Map<SessionTicket, number>();
  /** Failover answers for the tunnel now closing (filled before the switch sees the event). */
  private readonly moves = new Map<number, TunnelId>();
  private readonly events: LacSelectEvent[] = [];

  constructor(
    private readonly engine: SelectEngine,
    private readonly cfg: LacSelectConfig,
  ) {
    this.sw = new LacSwitch(engine, {
      ...cfg,
      route: (call, now) => this.route(now, call),
      failover: (key) => this.moves.get(key),
    });
  }

  /** A subscriber session came up on `lower` (see `LacSwitch.open`). */
  open(now: Instant, lower: SessionLower, callingNumber?: string, connectSpeed?: SessionRequest['connectSpeed']): number {
    const key = this.sw.open(now, lower, callingNumber, connectSpeed);
    this.pull();
    return key;
  }

  /** The subscriber's PADT. */
  lowerGone(now: Instant, key: number): boolean {
    const r = this.sw.lowerGone(now, key);
    this.pull();
    return r;
  }

  /** The authenticator's answer for a call `authorize` was asked about (ignored when the call is gone). */
  authorized(now: Instant, key: number, a: Authorization, username: string): void {
    if (this.sw.call(key)?.phase !== 'routing') return;
    if (a.kind === 'reject') {
      this.events.push({ type: 'refused', key, username, reason: 'radius-reject' });
      this.sw.routed(now, key, undefined, a.message ?? 'rejected by RADIUS');
    } else {
      const [answer, why] = this.decide(now, key, username, a.kind === 'accept' ? a.tunnels : undefined);
      this.sw.routed(now, key, answer, why);
    }
    this.pull();
  }

  /** One event of the LAC engine. */
  handleL2tpEvent(now: Instant, ev: L2tpEvent): void {
    const key = 'tunnel' in ev ? this.keys.get(ev.tunnel) : undefined;
    if (key !== undefined && ev.type === 'tunnel-established') {
      this.up.add(ev.tunnel);
      this.cfg.selector.tunnelUp(now, key);
    } else if (key !== undefined && (ev.type === 'tunnel-closing' || ev.type === 'tunnel-closed')) {
      if (this.up.has(ev.tunnel)) for (const t of this.cfg.selector.tunnelDown(now, key)) this.forget(t);
      else this.failed(now, key, failureOf(ev.reason.cause));
      this.ids.delete(key);
      this.keys.delete(ev.tunnel);
      this.up.delete(ev.tunnel);
    }
    this.sw.handleL2tpEvent(now, ev);
    this.moves.clear();
    this.pull();
  }

  /** Earliest PPP timer or dead-time end. */
  pollAt(): Instant | undefined {
    return earliest(this.sw.pollAt(), this.cfg.selector.pollAt());
  }

  /** Run due PPP timers and dead-time ends. */
  handleTimeout(now: Instant): void {
    this.sw.handleTimeout(now);
    const at = this.cfg.selector.pollAt();
    if (at !== undefined && at <= now) this.cfg.selector.handleTimeout(now);
    this.pull();
  }

  /** Next L2TP data message to send. */
  pollTransmit(): Transmit | undefined {
    return this.sw.pollTransmit();
  }

  /** Next event (the switch's are pulled here too: subscriber frames reach it through its sink, not through us). */
  pollEvent(): LacSelectEvent | undefined {
    if (this.events.length === 0) this.pull();
    return this.events.shift();
  }

  /** Calls in progress or switched. */
  get size(): number {
    return this.sw.size;
  }

  /** Tunnels this LAC opened and still tracks. */
  get tunnelCount(): number {
    return this.ids.size;
  }

  /** Sessions holding a selector slot. */
  get ticketCount(): number {
    return this.tickets.size;
  }

  /** One call's state (see `LacSwitch.call`). */
  call(key: number): ReturnType<LacSwitch['call']> {
    return this.sw.call(key);
  }

  // ------------------------------------------------------------------ internals

  private route(now: Instant, call: SwitchCall): RouteAnswer {
    if (this.cfg.authorize !== undefined) {
      this.cfg.authorize(call);
      return 'pending';
    }
    return this.decide(now, call.key, call.username, undefined)[0];
  }

  /** The selector's answer as a route (and the refusal text). */
  private decide(now: Instant, key: number, username: string, radius: readonly RadiusTunnelGroup[] | undefined): [Exclude<RouteAnswer, 'pending'>, string] {
    const sel = this.cfg.selector.select(now, { username, ...(radius !== undefined ? { radius } : {}) });
    if (sel.kind === 'local') {
      this.events.push({ type: 'local', key, username: sel.username });
      return ['release', ''];
    }
    if (sel.kind === 'reject') {
      this.events.push({ type: 'refused', key, username, reason: sel.reason });
      return [undefined, `no tunnel for this user (${sel.reason})`];
    }
    this.tickets.set(key, sel.ticket);
    this.calls.set(sel.ticket, key);
    const tunnel = this.tunnelFor(now, key, username, sel.choice, false);
    if (tunnel === undefined) {
      this.forget(sel.ticket);
      this.cfg.selector.release(sel.ticket);
      return [undefined, 'no tunnel for this user'];
    }
    return [{ tunnel, username: sel.username }, ''];
  }

  /** The engine tunnel of a choice: the known one, or a new one (SCCRQ). */
  private tunnelFor(now: Instant, key: number, username: string, c: Choice, failover: boolean): TunnelId | undefined {
    let tunnel = c.newTunnel ? undefined : this.ids.get(c.tunnel);
    const d = c.destination;
    if (tunnel === undefined) {
      const via = this.cfg.via?.(d);
      tunnel = this.engine.openTunnel(now, { address: d.address, port: d.port, family: 4, ...(via !== undefined ? { via } : {}) }, this.cfg.settings(d));
      this.ids.set(c.tunnel, tunnel);
      this.keys.set(tunnel, c.tunnel);
      this.events.push({ type: 'tunnel-opened', tunnel, address: d.address, port: d.port, source: c.source });
    }
    this.events.push({ type: 'routed', key, username, tunnel, address: d.address, source: c.source, failover });
    return tunnel;
  }

  /** A tunnel failed before it was up: the waiting calls get their next tunnel (or none). */
  private failed(now: Instant, key: TunnelKey, cause: TunnelFailure): void {
    for (const f of this.cfg.selector.tunnelFailed(now, key, cause)) {
      const call = this.calls.get(f.ticket);
      if (call === undefined) {
        if (f.next !== undefined) this.cfg.selector.release(f.ticket);
        continue;
      }
      const tunnel = f.next === undefined ? undefined : this.tunnelFor(now, call, this.sw.call(call)?.username ?? '', f.next, true);
      if (tunnel !== undefined) this.moves.set(call, tunnel);
      else {
        if (f.next !== undefined) this.cfg.selector.release(f.ticket);
        this.forget(f.ticket);
      }
    }
  }

  private forget(ticket: SessionTicket): void {
    const call = this.calls.get(ticket);
    this.calls.delete(ticket);
    if (call !== undefined) this.tickets.delete(call);
  }

  /** Switch events out; an ended call frees its slot, an established one ends its failover. */
  private pull(): void {
    for (let e = this.sw.pollEvent(); e !== undefined; e = this.sw.pollEvent()) {
      const ticket = 'key' in e ? this.tickets.get(e.key) : undefined;
      if (ticket !== undefined && e.type === 'ended') {
        this.cfg.selector.release(ticket);
        this.forget(ticket);
      } else if (ticket !== undefined && e.type === 'switched') this.cfg.selector.confirm(ticket);
      this.events.push(e);
    }
    for (let e = this.cfg.selector.pollEvent(); e !== undefined; e = this.cfg.selector.pollEvent()) this.events.push(e);
  }
}
