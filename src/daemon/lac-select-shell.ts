/**
 * `[tunnel_select]` + `[[pppoe]] tunnel_select = true`: LAC switching with per-subscriber tunnel
 * selection in the daemon. One `LacSelect` (src/access/lac-select.ts: `LacSwitch` + `TunnelSelector`)
 * on its own IPv4 socket and engine, driven by one Pump; `[radius]` is asked per subscriber when
 * `radius = true` (the answer re-enters through the pump). A subscriber whose realm maps to `local`
 * is handed to the access server with its PPPoE lower layer (LCP starts over there).
 */
import type { RandomSource } from '../base/index.js';
import { LacSelect, TunnelSelector, type Authorization, type ChosenDestination, type LacSelectEvent, type SessionLower, type TunnelDestination, type TunnelProfile } from '../access/index.js';
import type { EngineConfig, L2tpEngineApi, L2tpEvent, Transmit, TunnelSettings } from '../l2tp/index.js';
import type { AuthRequest } from '../ppp/index.js';
import { type Clock, Pump, type TimerDriver, type UdpEndpoint } from '../io/index.js';
import type { TunnelSelectSection } from './config.js';
import type { SelectionDestinationView } from './control-protocol.js';
import type { Logger } from './logger.js';
import { LacSources, extraSource, sourceVia } from './lac-sources.js';
import type { PppoeTarget } from './pppoe-shell.js';

/** What the selection shell needs from the daemon. */
export interface LacSelectShellOptions {
  readonly config: TunnelSelectSection;
  /** Tunnel settings of `[l2tp]` (tuning, vendor) for our host name, without a secret. */
  readonly base: TunnelSettings;
  readonly log: Logger;
  readonly clock: Clock;
  readonly timers: TimerDriver;
  readonly random: RandomSource;
  readonly createEngine: (c: EngineConfig) => L2tpEngineApi;
  /** `route`: the endpoint's hook for transmits with `via` (the extra source sockets, lac-sources.ts). */
  readonly openEndpoint: (engine: L2tpEngineApi, address: string, port: number, route?: (t: Transmit) => boolean) => Promise<UdpEndpoint>;
  /** `radius = true`: the Access-Request of one subscriber. */
  readonly authorize?: (request: AuthRequest) => Promise<Authorization>;
  /** Local termination (`local` realms), when the daemon terminates PPP. */
  readonly local?: PppoeTarget;
}

/** A lower layer whose inbound sink can be moved (switch -> access server on local termination). */
interface Movable {
  readonly lower: SessionLower;
  sink: Parameters<SessionLower['bind']>[1] | undefined;
}

function movable(inner: SessionLower, onClose: () => void): Movable {
  const m: Movable = {
    sink: undefined,
    lower: {
      headroom: inner.headroom,
      addressControl: inner.addressControl,
      maxMru: inner.maxMru,
      info: inner.info,
      send: (now, f, free) => inner.send(now, f, free),
      close: (now, how) => {
        inner.close(now, how);
        onClose();
      },
      bind: (now, sink) => {
        const first = m.sink === undefined;
        m.sink = sink;
        if (first) inner.bind(now, { handleData: (at, f) => m.sink?.handleData(at, f) });
      },
    },
  };
  return m;
}

/** Handles the PPPoE shell holds: a call of the switch, or a session handed to the access server. */
type Handle = { readonly kind: 'switch'; readonly key: number; readonly m: Movable; readonly callingNumber: string } | { readonly kind: 'local'; readonly id: number };

/** Selection outcomes since start (metrics): per outcome, and failovers / dead marks per cause. */
export interface SelectionCounters {
  /** `tunnel`, `local`, or the refusal reason (`domain-rejected`, `radius-reject`, `no-destination`, ...). */
  readonly outcomes: Record<string, number>;
  /** Sessions moved to another destination after their tunnel failed, by the failure's cause. */
  readonly failovers: Record<string, number>;
  /** Destinations marked dead, by cause (`sccrq-timeout`, `stopccn`, `unreachable`). */
  readonly deadMarks: Record<string, number>;
}

const bump = (m: Record<string, number>, k: string): void => {
  m[k] = (m[k] ?? 0) + 1;
};

/** The selecting LAC of the daemon. */
export class LacSelectShell {
  /** Outcomes since start. */
  readonly counters: SelectionCounters = { outcomes: {}, failovers: {}, deadMarks: {} };
  /** The cause of the last dead mark per LNS address (a failover's cause). */
  private readonly lastCause = new Map<string, string>();
  /** The close reason of the tunnel whose event is being handled. */
  private closing: { readonly by: string; readonly result: { readonly result: number; readonly error?: number; readonly message?: string } } | undefined;
  /** The LNS each call was last routed to (the failed one, when it is routed again). */
  private readonly routedFrom = new Map<number, string>();
  private readonly pump: Pump<Transmit, LacSelectEvent>;
  private readonly unfollow: () => void;
  private readonly handles = new Map<number, Handle>();
  private readonly byKey = new Map<number, number>();
  private nextHandle = 1;
  private closed = false;

  private constructor(
    private readonly opts: LacSelectShellOptions,
    readonly endpoint: UdpEndpoint,
    private readonly sel: LacSelect,
    private readonly selector: TunnelSelector,
    /** The sockets of source addresses other than the default's (Tunnel-Client-Endpoint, local_address). */
    private readonly sources: LacSources,
  ) {
    const ep = endpoint;
    this.pump = new Pump<Transmit, LacSelectEvent>(sel, {
      clock: opts.clock,
      timers: opts.timers,
      transmit: (t) => {
        ep.send(t);
      },
      event: (e) => {
        this.onEvent(e);
      },
      onError: (e) => {
        opts.log.error({ err: e }, 'LAC tunnel selection failed');
      },
      // SCCRQ, ICRQ or CDN queued in the engine come with an event of the switch: drain the engine.
      after: (_t, events) => {
        if (events > 0) ep.kick();
      },
    });
    this.unfollow = ep.follow(this.pump);
  }

  /** Open the socket and build the selector (the config was validated by the parser). */
  static async open(o: LacSelectShellOptions): Promise<LacSelectShell> {
    const c = o.config;
    const engine = o.createEngine({ acceptTunnels: false, accept: o.base, acceptIncomingCalls: false, acceptOutgoingCalls: false });
    const holder: { self?: LacSelectShell; ep?: UdpEndpoint } = {};
    const sources = new LacSources({
      log: o.log, now: () => o.clock.now(), defaultAddress: c.localAddress,
      // A datagram on an extra source socket enters the one engine (its `via` names the socket), then the default endpoint drains.
      receive: (data, from) => holder.ep?.run((now) => engine.handleDatagram(now, data, from)),
    });
    const ep = await o.openEndpoint(engine, c.localAddress, 0, (t) => sources.route(t));
    holder.ep = ep;
    // The profiles' local_address sockets now; one the host lacks is dropped (logged): those tunnels use the default socket.
    const profiles: Record<string, TunnelProfile> = {};
    for (const [name, p] of Object.entries(c.selector.profiles)) profiles[name] = { ...p, destinations: await Promise.all(p.destinations.map((d) => usableSource(sources, d, ep.local.address))) };
    const made = TunnelSelector.create({ ...c.selector, profiles });
    if (!made.ok) throw new Error(`[tunnel_select] profile "${made.error.profile}": ${made.error.error.kind}`);
    const selector = made.value;
    const via = (d: ChosenDestination): string | undefined => {
      const a = extraSource(d.localAddress, ep.local.address);
      return a !== undefined && sources.usable(a) ? sourceVia(a) : undefined;
    };
    const settings = (d: ChosenDestination): TunnelSettings => ({
      ...o.base,
      hostName: d.localHostname ?? c.hostName,
      ...(d.secret !== undefined ? { secret: new TextEncoder().encode(d.secret) } : {}),
      ...(d.remoteHostname !== undefined ? { allowedHostNames: [d.remoteHostname] } : {}),
      ...(c.idleDisconnect !== undefined ? { idleDisconnect: c.idleDisconnect } : {}),
      tuning: { ...o.base.tuning, retriesNotEstablished: c.sccrqRetries },
    });
    const sel = ep.run(
      (_now, eng) =>
        new LacSelect(eng, {
          random: o.random,
          selector,
          settings,
          via,
          transmit: (t) => {
            ep.send(t);
          },
          ...(o.authorize !== undefined ? { authorize: (call) => holder.self?.authorize(call.key, call.auth) } : {}),
        }),
    );
    const self = new LacSelectShell(o, ep, sel, selector, sources);
    holder.self = self;
    o.log.info({ address: ep.local.address, port: ep.local.port, profiles: Object.keys(c.selector.profiles), radius: c.radius }, `LAC tunnel selection on ${ep.local.address}:${ep.local.port} (${Object.keys(c.selector.profiles).length} profile(s)${c.radius ? ', RADIUS tunnel attributes' : ''})`);
    return self;
  }

  /** The sessions of an AC switched through the selection. */
  target(): PppoeTarget {
    return {
      what: 'LAC call',
      open: (lower, callingNumber, speed) => {
        const h = this.nextHandle++;
        // The access server ending a handed-over session closes the lower itself (our PADT): forget it.
        const m = movable(lower, () => {
          if (this.handles.get(h)?.kind === 'local') this.handles.delete(h);
        });
        const key = this.pump.run((now) => this.sel.open(now, m.lower, callingNumber, speed));
        // The call may have ended already: then no handle is kept (gone() finds nothing).
        if (this.sel.call(key) === undefined) return h;
        this.handles.set(h, { kind: 'switch', key, m, callingNumber });
        this.byKey.set(key, h);
        return h;
      },
      gone: (h) => {
        const x = this.handles.get(h);
        this.handles.delete(h);
        if (x?.kind === 'switch') {
          this.byKey.delete(x.key);
          this.pump.run((now) => this.sel.lowerGone(now, x.key));
        } else if (x?.kind === 'local') this.opts.local?.gone(x.id);
      },
      afterFrames: () => {
        this.pump.drain();
        this.opts.local?.afterFrames();
      },
    };
  }

  /** One engine event of the daemon (other endpoints are ignored). */
  onL2tpEvent(ep: UdpEndpoint, e: L2tpEvent): void {
    if (ep !== this.endpoint) return;
    // A destination marked dead by this close says what the LNS answered (StopCCN result and message).
    this.closing = e.type === 'tunnel-closing' || e.type === 'tunnel-closed' ? e.reason : undefined;
    try {
      this.pump.run((now) => {
        this.sel.handleL2tpEvent(now, e);
      });
    } finally {
      this.closing = undefined;
    }
  }

  /** Calls, tunnels and selector slots (show commands, tests). */
  counts(): { readonly calls: number; readonly tunnels: number; readonly tickets: number } {
    return { calls: this.sel.size, tunnels: this.sel.tunnelCount, tickets: this.sel.ticketCount };
  }

  /** The selector's destinations for `show destinations` (times relative to now). */
  destinations(): { readonly localAddress: string; readonly destinations: SelectionDestinationView[] } {
    const now = this.opts.clock.now();
    const list = this.selector.destinations(now).map((d): SelectionDestinationView => ({
      address: d.address, port: d.port, state: d.state,
      ...(d.deadUntil !== undefined ? { deadForSeconds: Math.ceil((d.deadUntil - now) / 1000) } : {}),
      sessions: d.sessions, tunnels: d.tunnels, failures: d.failures,
      ...(d.lastFailure !== undefined ? { lastFailure: { cause: d.lastFailure.cause, secondsAgo: Math.max(0, Math.floor((now - d.lastFailure.at) / 1000)) } } : {}),
      profiles: d.profiles,
    }));
    return { localAddress: this.endpoint.local.address, destinations: list };
  }

  /** Stop driving the switch. */
  close(): void {
    this.closed = true;
    this.unfollow();
    this.pump.close();
    void this.sources.close();
  }

  private authorize(key: number, request: AuthRequest): void {
    const ask = this.opts.authorize;
    if (ask === undefined) return;
    void ask(request)
      .catch((): Authorization => ({ kind: 'no-answer' }))
      .then((a) => this.withSources(a))
      .then((a) => {
        if (this.closed) return;
        this.pump.run((now) => {
          this.sel.authorized(now, key, a, request.username);
        });
        this.endpoint.kick();
      });
  }

  /**
   * The Access-Accept with each Tunnel-Client-Endpoint checked: its socket opened, or (the default
   * socket's own address, or one the host lacks: logged by LacSources) dropped, so the tunnel leaves
   * from the default socket and shares (Tunnel-Assignment-Id) with the other default-source tunnels.
   */
  private async withSources(a: Authorization): Promise<Authorization> {
    if (a.kind !== 'accept' || !a.tunnels.some((g) => g.clientEndpoint !== undefined)) return a;
    const tunnels = await Promise.all(
      a.tunnels.map(async (g) => {
        const want = extraSource(g.clientEndpoint, this.endpoint.local.address);
        if (g.clientEndpoint === undefined || (want !== undefined && (await this.sources.ensure(want)))) return g;
        const { clientEndpoint: _drop, ...rest } = g;
        return rest;
      }),
    );
    return { ...a, tunnels };
  }

  /** Local termination: the access server takes the subscriber's lower layer over. */
  private handOver(key: number, username: string): void {
    const h = this.byKey.get(key);
    const x = h === undefined ? undefined : this.handles.get(h);
    const local = this.opts.local;
    if (h === undefined || x?.kind !== 'switch' || local === undefined) return;
    this.byKey.delete(key);
    const id = local.open(x.m.lower, x.callingNumber);
    if (id === undefined) {
      this.handles.delete(h);
      x.m.lower.close(this.opts.clock.now(), { result: { result: 2, message: 'no local session available' } });
      return;
    }
    this.handles.set(h, { kind: 'local', id });
    this.opts.log.info({ key, user: username, session: id }, `LAC: ${username} terminated locally (PPP session ${id})`);
  }

  private onEvent(e: LacSelectEvent): void {
    const log = this.opts.log;
    switch (e.type) {
      case 'local':
        bump(this.counters.outcomes, 'local');
        this.handOver(e.key, e.username);
        return;
      case 'ended': {
        const h = this.byKey.get(e.key);
        this.routedFrom.delete(e.key);
        if (h !== undefined && e.cause !== 'released') {
          this.byKey.delete(e.key);
          this.handles.delete(h);
        }
        log.info({ key: e.key, user: e.username, tunnel: e.tunnel, session: e.session, by: e.by, cause: e.cause }, `LAC: call of ${e.username ?? '-'} ended by ${e.by} (${e.cause})`);
        return;
      }
      case 'routed':
        if (e.failover) bump(this.counters.failovers, this.lastCause.get(this.routedFrom.get(e.key) ?? '') ?? 'unknown');
        else bump(this.counters.outcomes, 'tunnel');
        this.routedFrom.set(e.key, e.address);
        log.info({ key: e.key, user: e.username, tunnel: e.tunnel, lns: e.address, source: e.source, failover: e.failover }, `LAC: ${e.username} -> LNS ${e.address} (${e.source}${e.failover ? ', failover' : ''}) tunnel ${e.tunnel}`);
        return;
      case 'tunnel-opened':
        log.info({ tunnel: e.tunnel, lns: e.address, port: e.port, source: e.source }, `LAC: SCCRQ to ${e.address}:${e.port} (tunnel ${e.tunnel}, ${e.source})`);
        return;
      case 'destination-dead':
        bump(this.counters.deadMarks, e.cause);
        this.lastCause.set(e.address, e.cause);
      {
        const r = this.closing?.by === 'peer' ? this.closing.result : undefined;
        const answer = r === undefined ? '' : `: the LNS answered StopCCN result ${r.result}${r.error !== undefined ? ` error ${r.error}` : ''}${r.message !== undefined && r.message !== '' ? ` "${r.message}"` : ''}`;
        log.warn(
          { lns: e.address, port: e.port, cause: e.cause, until: e.until, ...(r !== undefined ? { result: r.result, ...(r.error !== undefined ? { error: r.error } : {}), ...(r.message !== undefined ? { resultMessage: r.message } : {}) } : {}) },
          `LAC: LNS ${e.address}:${e.port} is dead (${e.cause}${answer}); skipped until its dead time ends`,
        );
      }
        return;
      case 'destination-alive':
        log.info({ lns: e.address, port: e.port }, `LAC: LNS ${e.address}:${e.port} is usable again`);
        return;
      case 'refused':
        bump(this.counters.outcomes, e.reason);
        log.warn({ key: e.key, user: e.username, reason: e.reason }, `LAC: ${e.username} refused (${e.reason})`);
        return;
      case 'switched':
        log.info({ key: e.key, user: e.username, tunnel: e.tunnel, session: e.session }, `LAC: ${e.username} switched into tunnel ${e.tunnel} session ${e.session}`);
        return;
      default:
        return;
    }
  }
}

/** A profile destination whose local_address has an open socket, or without it (default socket). */
async function usableSource(sources: LacSources, d: TunnelDestination, defaultAddress: string): Promise<TunnelDestination> {
  const want = extraSource(d.localAddress, defaultAddress);
  if (d.localAddress === undefined || (want !== undefined && (await sources.ensure(want)))) return d;
  const { localAddress: _drop, ...rest } = d;
  return rest;
}
