/**
 * l2tpd: UDP listeners (LNS), originated tunnels (LAC sections with redial), the control socket,
 * logs and metrics, around sans-I/O L2TP engines. One TimerDriver arms the next wake-up of every
 * engine and of the LAC redialer.
 */
import type { Server } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { RandomSource } from '../base/random.js';
import { addDuration, millis, seconds, since, type Duration, type Instant, type Timed } from '../base/time.js';
import type { EngineConfig, L2tpEngineApi, L2tpEvent, TunnelInfo, TunnelSettings } from '../l2tp/api.js';
import type { ResultCode, TunnelId } from '../wire/l2tp/types.js';
import { systemClock, type Clock } from '../io/clock.js';
import { cryptoRandom } from '../io/random.js';
import { TimerDriver } from '../io/timer-driver.js';
import { UdpEndpoint, formatHostPort, ipFamily } from '../io/udp-endpoint.js';
import type { IpsecL2tp } from '../io/ipsec-transport.js';
import { ipsecView, openIpsecListener, openLacIpsec, sumIpsecCounters, type LacIpsec } from './ipsec-shell.js';
import type { IpsecGateEvent } from '../gate/index.js';
import type { DaemonConfig, LacConfig, ListenConfig, TunnelDefaults } from './config.js';
import type { ControlRequest, ControlResponse, IpsecView, SessionView, StatusView, TunnelView } from './control-protocol.js';
import { startControlServer, stopControlServer } from './control-socket.js';
import { logEvent } from './event-log.js';
import type { Logger } from './logger.js';
import { DaemonMetrics, serveMetrics } from './metrics.js';
import { LacPppClient, LnsAccess, dropPrivileges } from './access-shell.js';

/** Package version shown in the banner and `status`. */
export const VERSION = '0.1.0';

/** Builds one engine per UDP socket (the real `L2tpEngine`, or a fake in tests). */
export type EngineFactory = (config: EngineConfig, random: RandomSource) => L2tpEngineApi;

/** Options of Daemon.start. */
export interface DaemonOptions {
  readonly config: DaemonConfig;
  readonly log: Logger;
  readonly createEngine: EngineFactory;
  readonly clock?: Clock;
  readonly random?: RandomSource;
  /** Override `daemon.control_socket` (CLI `--socket`); `null` = no control socket. */
  readonly controlSocket?: string | null;
  /** LAC redial backoff: first delay and cap (default 1 s .. 60 s, doubling). */
  readonly redialInitial?: Duration;
  readonly redialMax?: Duration;
}

/** StopCCN result sent on SIGTERM/SIGINT (§4.4.2 result 1). */
export const SHUTDOWN_RESULT: ResultCode = { result: 1, message: 'administrative shutdown' };
/** StopCCN result for `l2tpctl clear tunnel`. */
export const CLEAR_TUNNEL_RESULT: ResultCode = { result: 1, message: 'administrative clear' };
/** CDN result for `l2tpctl clear session` (§4.4.2 CDN result 3: administrative reasons). */
export const CLEAR_SESSION_RESULT: ResultCode = { result: 3, message: 'administrative clear' };

/** One bound listener. */
interface Listener {
  readonly config: ListenConfig;
  readonly endpoint: UdpEndpoint;
}

/** Where a LAC section stands. */
type LacState = 'connecting' | 'established' | 'waiting-redial' | 'stopped';

/** Runtime state of one [[lac]] section. */
interface Lac {
  readonly config: LacConfig;
  readonly endpoint: UdpEndpoint;
  /** True when the endpoint is this LAC's own ephemeral socket. */
  readonly ownsEndpoint: boolean;
  readonly settings: TunnelSettings;
  state: LacState;
  tunnel: TunnelId | undefined;
  redialAt: Instant | undefined;
  backoff: Duration;
  /** Client mode (`ppp = true`): PPP peer + local TUN. */
  readonly ppp: LacPppClient | undefined;
  /** `ipsec = true`: our IKE initiator and its sockets; the tunnel runs in flow `via`. */
  readonly ipsec: LacIpsec | undefined;
  via: string | undefined;
}

/** Build TunnelSettings from `[l2tp]` defaults plus one section's secret/hide/allowed hosts. */
export function tunnelSettings(
  d: TunnelDefaults,
  s: { readonly secret: string | undefined; readonly hideAvps: boolean; readonly allowedHosts?: readonly string[] },
): TunnelSettings {
  return {
    hostName: d.hostName,
    ...(d.vendorName !== undefined ? { vendorName: d.vendorName } : {}),
    ...(s.secret !== undefined ? { secret: new TextEncoder().encode(s.secret), hideAvps: s.hideAvps } : {}),
    ...(s.allowedHosts !== undefined && s.allowedHosts.length > 0 ? { allowedHostNames: s.allowedHosts } : {}),
    ...(d.idleDisconnect !== undefined ? { idleDisconnect: d.idleDisconnect } : {}),
    maxOffset: d.maxOffset,
    dataSequencing: d.dataSequencing,
    tuning: {
      receiveWindow: d.receiveWindow,
      retransmitInitial: d.retransmitInitial,
      retransmitCap: d.retransmitCap,
      retriesEstablished: d.retriesEstablished,
      retriesNotEstablished: d.retriesNotEstablished,
      ackDelay: d.ackDelay,
      helloInterval: d.helloInterval,
      helloMissCount: d.helloMissCount,
    },
  };
}

/** The running daemon. */
export class Daemon {
  /** The shared timer driver (engines + redialer). */
  readonly timers: TimerDriver;
  /** Metrics, fed from events. */
  readonly metrics: DaemonMetrics;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly log: Logger;
  private readonly listeners: Listener[] = [];
  private readonly lacs: Lac[] = [];
  private readonly endpoints: UdpEndpoint[] = [];
  /** The L2TP/IPsec listener when `[ipsec]` is configured. */
  private ipsec: IpsecL2tp | undefined;
  private readonly startedAt: Instant;
  private controlServer: Server | undefined;
  private controlPath: string | undefined;
  private metricsServer: HttpServer | undefined;
  private metricsBound: number | undefined;
  private stopping = false;
  private readonly redialer: Timed;
  /** PPP termination + the shared TUN (undefined = plain L2TP). */
  private access: LnsAccess | undefined;

  private constructor(private readonly options: DaemonOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? cryptoRandom;
    this.log = options.log;
    this.timers = new TimerDriver({
      now: () => this.clock.now(),
      onError: (e) => {
        this.log.error({ err: e }, 'timer handler failed');
      },
    });
    this.metrics = new DaemonMetrics(
      () => this.allTunnels().map((x) => x.info),
      () => this.ipsecView(),
    );
    this.startedAt = this.clock.now();
    this.redialer = {
      pollAt: () => {
        let min: Instant | undefined;
        for (const l of this.lacs) if (l.redialAt !== undefined && (min === undefined || l.redialAt < min)) min = l.redialAt;
        return min;
      },
      handleTimeout: (now) => {
        for (const l of this.lacs) {
          if (l.redialAt !== undefined && l.redialAt <= now) {
            l.redialAt = undefined;
            this.dial(l);
          }
        }
      },
    };
  }

  /** Bind every socket, open the control socket and metrics, dial LAC tunnels, print the banner. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const d = new Daemon(options);
    try {
      await d.bind();
    } catch (e) {
      await d.shutdown(0);
      throw e;
    }
    return d;
  }

  private async bind(): Promise<void> {
    const { config } = this.options;
    for (const lc of config.listen) {
      const engine = this.options.createEngine(
        {
          acceptTunnels: true,
          accept: tunnelSettings(config.l2tp, lc),
          acceptIncomingCalls: true,
          acceptOutgoingCalls: true,
        },
        this.random,
      );
      // [ipsec]: the first IPv4 listener becomes the L2TP/IPsec listener (src/daemon/ipsec-shell.ts).
      let endpoint: UdpEndpoint;
      if (config.ipsec !== undefined && this.ipsec === undefined && ipFamily(lc.address) === 4) {
        this.ipsec = await openIpsecListener({
          ipsec: config.ipsec, listen: lc, engine, log: this.log, clock: this.clock, timers: this.timers, random: this.random,
          onL2tpEvent: (e, ep) => {
            this.onEvent(e, ep);
          },
        });
        endpoint = this.ipsec.endpoint;
        this.endpoints.push(endpoint);
      } else {
        endpoint = await this.openEndpoint(engine, lc.address, lc.port);
      }
      this.listeners.push({ config: lc, endpoint });
    }
    for (const lc of config.lac) {
      const settings = tunnelSettings(config.l2tp, { secret: lc.secret, hideAvps: lc.hideAvps });
      const first = this.listeners[0];
      const family = ipFamily(lc.lns);
      let endpoint: UdpEndpoint;
      let owns = false;
      let ipsec: LacIpsec | undefined;
      const holder: { lac?: Lac } = {};
      if (lc.ipsec !== undefined) {
        // RFC 3193: IKE + ESP to the LNS first; L2TP only inside the ESP SA (own sockets and engine).
        const engine = this.options.createEngine(
          { acceptTunnels: false, accept: settings, acceptIncomingCalls: true, acceptOutgoingCalls: true },
          this.random,
        );
        ipsec = await openLacIpsec({
          lac: lc, ipsec: lc.ipsec, engine, log: this.log, clock: this.clock, timers: this.timers, random: this.random,
          onL2tpEvent: (e, ep) => {
            this.onEvent(e, ep);
          },
          onIpsecEvent: (e) => {
            if (holder.lac !== undefined) this.onLacIpsecEvent(holder.lac, e);
          },
        });
        endpoint = ipsec.io.endpoint;
        this.endpoints.push(endpoint);
        owns = true;
      } else if (
        first !== undefined &&
        first.endpoint.family === family &&
        (lc.localAddress === undefined || lc.localAddress === first.config.address)
      ) {
        endpoint = first.endpoint;
      } else {
        const engine = this.options.createEngine(
          { acceptTunnels: false, accept: settings, acceptIncomingCalls: true, acceptOutgoingCalls: true },
          this.random,
        );
        endpoint = await this.openEndpoint(engine, lc.localAddress ?? (family === 6 ? '::' : '0.0.0.0'), 0);
        owns = true;
      }
      const ppp =
        lc.ppp === undefined
          ? undefined
          : await LacPppClient.open({ name: lc.name, config: lc.ppp, log: this.log, clock: this.clock, random: this.random, timers: this.timers });
      const lac: Lac = {
        ppp,
        ipsec,
        via: undefined,
        config: lc,
        endpoint,
        ownsEndpoint: owns,
        settings,
        state: 'connecting',
        tunnel: undefined,
        redialAt: undefined,
        backoff: this.options.redialInitial ?? seconds(1),
      };
      holder.lac = lac;
      this.lacs.push(lac);
    }
    this.timers.add(this.redialer);

    const ac = config.access;
    const firstListener = this.listeners[0];
    if (ac !== undefined && firstListener !== undefined) {
      const access = await LnsAccess.open({ config: ac, log: this.log, clock: this.clock, random: this.random, timers: this.timers });
      this.access = access;
      const ep = firstListener.endpoint;
      access.attach(ep, (tunnel) => !this.lacs.some((l) => l.endpoint === ep && l.tunnel === tunnel));
      if (this.listeners.length > 1) this.log.warn(`PPP is terminated on the first listener only (${ep.label}); other listeners carry plain L2TP`);
    } else if (ac !== undefined) {
      this.log.warn('[ppp] is configured but there is no [[listen]]: no PPP termination');
    }

    const path = this.options.controlSocket === undefined ? config.daemon.controlSocket : this.options.controlSocket;
    if (path !== null) {
      this.controlServer = await startControlServer(path, (req) => this.handleControl(req));
      this.controlPath = path;
    }
    const m = config.daemon.metricsListen;
    if (m !== undefined) {
      const s = await serveMetrics(this.metrics, m.host, m.port);
      this.metricsServer = s.server;
      this.metricsBound = s.port;
    }
    this.banner();
    const user = config.daemon.user;
    if (user !== undefined) {
      // Everything privileged (TUN, port 1701, control socket) is open: give up root.
      const ids = dropPrivileges(user);
      this.log.info(ids, `dropped privileges to ${user} (uid ${ids.uid}, gid ${ids.gid})`);
    }
    for (const l of this.lacs) this.dial(l);
  }

  /** SIGHUP: reload the users file (a broken file keeps the old users). */
  async reloadUsers(): Promise<boolean> {
    return (await this.access?.reloadUsers()) ?? true;
  }

  private async openEndpoint(engine: L2tpEngineApi, address: string, port: number): Promise<UdpEndpoint> {
    const ep = await UdpEndpoint.open({
      engine,
      address,
      port,
      clock: this.clock,
      timers: this.timers,
      onEvent: (e, endpoint) => {
        this.onEvent(e, endpoint);
      },
      onError: (e, endpoint) => {
        this.log.warn({ listener: endpoint.label, err: e.message }, `socket error on ${endpoint.label}: ${e.message}`);
      },
    });
    this.endpoints.push(ep);
    return ep;
  }

  private banner(): void {
    const parts: string[] = [];
    for (const l of this.listeners) {
      const auth = l.config.secret !== undefined ? 'tunnel auth' : 'no tunnel auth';
      const hosts = l.config.allowedHosts.length > 0 ? `hosts ${l.config.allowedHosts.join(',')}` : 'any LAC';
      parts.push(`LNS on ${l.endpoint.label} (${hosts}, ${auth})`);
    }
    for (const l of this.lacs) {
      parts.push(`LAC ${l.config.name} -> ${formatHostPort(l.config.lns, l.config.port)} via ${l.endpoint.label} (${l.config.sessions} session(s)${l.config.redial ? ', redial' : ''}${l.ipsec !== undefined ? ', L2TP/IPsec' : ''})`);
    }
    const mode = this.listeners.length > 0 && this.lacs.length > 0 ? 'LNS+LAC' : this.lacs.length > 0 ? 'LAC' : this.listeners.length > 0 ? 'LNS' : 'idle';
    this.log.info(
      { version: VERSION, mode, control: this.controlPath, metrics: this.metricsBound },
      `l2tpd ${VERSION} started, mode ${mode}${this.controlPath !== undefined ? `, control ${this.controlPath}` : ''}${this.metricsBound !== undefined ? `, metrics :${this.metricsBound}/metrics` : ''}`,
    );
    for (const p of parts) this.log.info(p);
    const a = this.access;
    const ac = this.options.config.access;
    if (a !== undefined && ac !== undefined) {
      this.log.info(
        { tun: a.tunName, pool: ac.ipv4Pool, local: ac.localAddress, ipv6: ac.ipv6Prefix, auth: ac.auth },
        `PPP: TUN ${a.tunName}, pool ${ac.ipv4Pool}, LNS address ${ac.localAddress}${ac.ipv6Prefix !== undefined ? `, IPv6 ${ac.ipv6Prefix} (/64 per session)` : ''}, auth ${ac.auth.join(',') || 'none'}`,
      );
      const g = a.generated;
      if (g !== undefined) this.connectHelp(g, ac.auth, ac.ipv4Pool, ac.localAddress);
    }
  }

  /** The "how to connect" lines for a generated login (and, with IPsec, the PSK). */
  private connectHelp(g: { readonly username: string; readonly password: string }, auth: readonly string[], pool: string, local: string): void {
    const port = this.listeners[0]?.endpoint.local.port ?? 1701;
    const ips = this.options.config.ipsec;
    const io = this.ipsec;
    const psk = ips?.psk;
    const login = `login "${g.username}" / password "${g.password}"`;
    const after =
      `The client gets an address from ${pool} and reaches this host at ${local}; to reach beyond it enable forwarding ` +
      `(sysctl net.ipv4.ip_forward=1) and NAT the pool. Set [users] file = "..." for real accounts.`;
    if (io !== undefined && ips !== undefined && psk !== undefined) {
      const generated = ips.pskGenerated === true ? 'generated ' : '';
      this.log.warn(
        { username: g.username, password: g.password, ...(ips.pskGenerated === true ? { psk } : {}) },
        `No users file: generated ${login}${ips.pskGenerated === true ? `, ${generated}IPsec pre-shared key "${psk}"` : ''}.`,
      );
      this.log.warn(
        `To connect: add a VPN of type "L2TP/IPsec PSK" (Android up to 11; Android 12+ dropped it), "L2TP" (iOS), ` +
          `"L2TP over IPsec" (macOS) or "L2TP/IPsec with pre-shared key" (Windows) with this host's address ` +
          `(${io.local.address === '0.0.0.0' ? 'as clients reach it' : io.local.address}), the pre-shared key and that login (${auth.join('/') || 'no auth'}). ` +
          `Open UDP ${io.local.ikePort} and ${io.local.nattPort}${io.rawEsp ? ' (and IP protocol 50 for clients not behind a NAT)' : ''} to this host. ` +
          `Windows needs the registry value AssumeUDPEncapsulationContextOnSendRule = 2 (DWORD under ` +
          `HKLM\\SYSTEM\\CurrentControlSet\\Services\\PolicyAgent, then reboot) only when this server is behind a NAT. ` +
          `${ips.requireIpsec ? `L2TP outside IPsec is refused ([ipsec] require_ipsec = false allows it on UDP ${port}). ` : ''}${after}`,
      );
      return;
    }
    this.log.warn(
      { username: g.username, password: g.password },
      `No users file: generated ${login}. To connect, point any L2TP client ` +
        `(xl2tpd + pppd, NetworkManager-l2tp with IPsec off, RouterOS, Yamaha RTX "l2tp" without IPsec) at UDP ` +
        `port ${port} of this host with that login (auth ${auth.join('/')}). ${after} ` +
        `WARNING: IPsec is off ([ipsec] psk = "..." turns it on): L2TP and PPP travel unencrypted, and ` +
        `Windows/macOS/iOS/Android built-in clients insist on L2TP/IPsec and will not connect.`,
    );
  }

  /** The bound listeners (address/port), in config order. */
  get listenerAddresses(): readonly { readonly address: string; readonly port: number }[] {
    return this.listeners.map((l) => l.endpoint.local);
  }

  /** The [ipsec] listener's local address and bound IKE / NAT-T ports, if any. */
  get ipsecListener(): { readonly address: string; readonly ikePort: number; readonly nattPort: number; readonly l2tpPort: number } | undefined {
    return this.ipsec?.local;
  }

  /** The port the metrics server is bound to, if any. */
  get metricsPort(): number | undefined {
    return this.metricsBound;
  }

  // -------------------------------------------------------------------------------------------
  // Events

  private onEvent(e: L2tpEvent, ep: UdpEndpoint): void {
    logEvent(this.log, e, ep.label);
    this.metrics.observe(e);
    if (this.access?.serves(ep) === true) this.access.onL2tpEvent(e);
    for (const l of this.lacs) if (l.ppp !== undefined && l.endpoint === ep) l.ppp.onL2tpEvent(ep, e);
    if (e.type !== 'tunnel-established' && e.type !== 'tunnel-closed') return;
    const lac = this.lacs.find((l) => l.endpoint === ep && l.tunnel === e.tunnel);
    if (lac === undefined) return;
    // Engine calls are deferred: we are inside the endpoint's drain loop.
    queueMicrotask(() => {
      if (e.type === 'tunnel-established') this.lacEstablished(lac, e.tunnel);
      else this.lacClosed(lac);
    });
  }

  private lacEstablished(lac: Lac, tunnel: TunnelId): void {
    if (this.stopping || lac.tunnel !== tunnel) return;
    lac.state = 'established';
    lac.backoff = this.options.redialInitial ?? seconds(1);
    lac.endpoint.run((now, engine) => {
      for (let i = 0; i < lac.config.sessions; i++) {
        const session = engine.openSession(now, tunnel, { direction: 'incoming' });
        if (session !== undefined) lac.ppp?.attach(lac.endpoint, tunnel, session);
      }
    });
  }

  private lacClosed(lac: Lac): void {
    lac.tunnel = undefined;
    if (this.stopping || !lac.config.redial) {
      lac.state = 'stopped';
      // Tunnel closed for good: delete the IKE SA too (the gate already deletes the ESP SA).
      if (!this.stopping) this.closeLacIpsec(lac);
      return;
    }
    lac.state = 'waiting-redial';
    lac.redialAt = addDuration(this.clock.now(), lac.backoff);
    this.log.info({ lac: lac.config.name, inMs: lac.backoff }, `LAC ${lac.config.name}: redial in ${Math.round(lac.backoff / 100) / 10} s`);
    lac.backoff = millis(Math.min(lac.backoff * 2, this.options.redialMax ?? seconds(60)));
    this.timers.touch(this.redialer);
  }

  private dial(lac: Lac): void {
    if (this.stopping) return;
    const family = ipFamily(lac.config.lns) ?? 4;
    lac.state = 'connecting';
    const x = lac.ipsec;
    if (x !== undefined) {
      // RFC 3193 §4: the ESP SA first; the tunnel opens on `flow-up` (or now, if the flow is still up).
      if (lac.via !== undefined && x.io.gate.peerFor(lac.via) !== undefined) {
        this.openLacTunnel(lac);
        return;
      }
      lac.endpoint.run((now) => {
        if (x.initiator.state === 'established') x.initiator.startChild(now);
        else x.initiator.connect(now);
        x.io.gate.flushIke(now);
      });
      return;
    }
    lac.tunnel = lac.endpoint.run((now, engine) =>
      engine.openTunnel(now, { address: lac.config.lns, port: lac.config.port, family }, lac.settings),
    );
  }

  /** Open the LAC's tunnel through its IPsec flow (inner UDP to the LNS's L2TP port). */
  private openLacTunnel(lac: Lac): void {
    const x = lac.ipsec;
    const peer = x !== undefined && lac.via !== undefined ? x.io.gate.peerFor(lac.via, lac.config.port) : undefined;
    if (this.stopping || peer === undefined || lac.state !== 'connecting' || lac.tunnel !== undefined) return;
    lac.tunnel = lac.endpoint.run((now, engine) => engine.openTunnel(now, peer, lac.settings));
  }

  /**
   * Linked state of an `ipsec = true` LAC: flow up -> open the tunnel; flow down (ESP SA deleted,
   * expired, DPD, IKE SA gone) -> the gate closes the tunnel and we redial now instead of after the
   * StopCCN linger; IKE failing before a tunnel exists -> redial with backoff.
   */
  private onLacIpsecEvent(lac: Lac, e: IpsecGateEvent): void {
    // Deferred like L2TP events: we are inside the gate's IKE drain.
    const later = (f: () => void): void => {
      queueMicrotask(() => {
        if (!this.stopping) f();
      });
    };
    const waiting = (): boolean => lac.state === 'connecting' && lac.tunnel === undefined;
    if (e.type === 'flow-up') {
      lac.via = e.via;
      later(() => {
        if (waiting()) this.openLacTunnel(lac);
      });
    } else if (e.type === 'flow-down' && e.via === lac.via) {
      lac.via = undefined;
      later(() => {
        if (lac.state === 'connecting' || lac.state === 'established') this.lacClosed(lac);
      });
    } else if (e.type === 'ike' && e.event.type === 'sa-deleted' && e.event.kind === 'ike') {
      later(() => {
        if (waiting() && lac.via === undefined) this.lacClosed(lac);
      });
    } else if (e.type === 'ike' && e.event.type === 'exchange-failed') {
      // Quick Mode refused or timed out on an established IKE SA: start over with a fresh IKE SA.
      later(() => {
        if (waiting() && lac.via === undefined && lac.ipsec?.initiator.state === 'established') this.closeLacIpsec(lac);
      });
    }
  }

  /** Delete a LAC's SAs (D(ESP), D(ISAKMP)). */
  private closeLacIpsec(lac: Lac): void {
    const x = lac.ipsec;
    if (x === undefined) return;
    lac.endpoint.run((now) => {
      x.initiator.close(now);
      x.io.gate.flushIke(now);
    });
  }

  /** `l2tpctl show ipsec`: IKE and ESP SAs of the [ipsec] listener and of every IPsec LAC. */
  ipsecView(): IpsecView {
    const now = this.clock.now();
    const parts: IpsecView[] = [];
    if (this.ipsec !== undefined) parts.push(ipsecView(this.ipsec.gate, now, { role: 'responder' }));
    for (const l of this.lacs) {
      if (l.ipsec !== undefined) parts.push(ipsecView(l.ipsec.io.gate, now, { role: 'initiator', lac: l.config.name, initiator: l.ipsec.initiator }));
    }
    return { ikeSas: parts.flatMap((p) => p.ikeSas), espSas: parts.flatMap((p) => p.espSas), counters: sumIpsecCounters(parts) };
  }

  // -------------------------------------------------------------------------------------------
  // Snapshots and the control API

  private allTunnels(): { endpoint: UdpEndpoint; info: TunnelInfo }[] {
    const out: { endpoint: UdpEndpoint; info: TunnelInfo }[] = [];
    const now = this.clock.now();
    for (const ep of this.endpoints) for (const info of ep.engine.tunnels(now)) out.push({ endpoint: ep, info });
    return out;
  }

  /** Every tunnel as a JSON view. */
  tunnelViews(): TunnelView[] {
    const now = this.clock.now();
    return this.allTunnels().map(({ endpoint, info }) => this.view(now, endpoint, info));
  }

  private view(now: Instant, ep: UdpEndpoint, t: TunnelInfo): TunnelView {
    const lac = this.lacs.find((l) => l.endpoint === ep && l.tunnel === t.localTunnelId);
    const ppp = this.access?.serves(ep) === true ? this.access.sessionInfo() : undefined;
    const client = lac?.ppp?.info;
    const pppView = (session: number): Pick<SessionView, 'username' | 'address' | 'ipv6Prefix' | 'pppPhase'> => {
      const i = ppp?.get(`${t.localTunnelId}/${session}`);
      if (i !== undefined) {
        return {
          pppPhase: i.phase,
          ...(i.username !== undefined ? { username: i.username } : {}),
          ...(i.ipv4 !== undefined ? { address: i.ipv4 } : {}),
          ...(i.ipv6Prefix !== undefined ? { ipv6Prefix: i.ipv6Prefix } : {}),
        };
      }
      if (client !== undefined && lac?.config.ppp !== undefined) {
        return { pppPhase: client.state, username: lac.config.ppp.username, ...(client.address !== undefined ? { address: client.address } : {}) };
      }
      return {};
    };
    const uptime = (at: Instant | undefined): { uptimeSeconds?: number } =>
      at === undefined ? {} : { uptimeSeconds: Math.max(0, Math.floor(since(now, at) / 1000)) };
    const sessions: SessionView[] = t.sessions.map((s) => ({
      localTunnelId: t.localTunnelId,
      localSessionId: s.localSessionId,
      remoteSessionId: s.remoteSessionId,
      state: s.state,
      direction: s.direction,
      role: s.role,
      callSerialNumber: s.callSerialNumber,
      ...uptime(s.establishedAt),
      rxPackets: s.rxPackets,
      rxOctets: s.rxOctets,
      txPackets: s.txPackets,
      txOctets: s.txOctets,
      ...(s.callingNumber !== undefined ? { callingNumber: s.callingNumber } : {}),
      ...(s.calledNumber !== undefined ? { calledNumber: s.calledNumber } : {}),
      ...pppView(s.localSessionId),
    }));
    return {
      localTunnelId: t.localTunnelId,
      remoteTunnelId: t.remoteTunnelId,
      state: t.state,
      role: t.originator ? 'lac' : 'lns',
      ...(lac !== undefined ? { lac: lac.config.name } : {}),
      localAddress: ep.local.address,
      localPort: ep.local.port,
      remoteAddress: t.peer.address,
      remotePort: t.peer.port,
      ...(t.remoteHostName !== undefined ? { remoteHostName: t.remoteHostName } : {}),
      ...(t.remoteVendorName !== undefined ? { remoteVendorName: t.remoteVendorName } : {}),
      ...(t.protocolVersion !== undefined ? { protocolVersion: t.protocolVersion } : {}),
      ns: t.ns,
      nr: t.nr,
      peerReceiveWindow: t.peerReceiveWindow,
      ...uptime(t.establishedAt),
      counters: { ...t.counters },
      sessions,
    };
  }

  /** Daemon status for `l2tpctl show status`. */
  status(): StatusView {
    const pool = this.access?.stats();
    const tooBig = this.access?.tooBig();
    return {
      version: VERSION,
      pid: process.pid,
      uptimeSeconds: Math.floor(since(this.clock.now(), this.startedAt) / 1000),
      listeners: this.listeners.map((l) => ({ ...l.endpoint.local, auth: l.config.secret !== undefined })),
      lacs: this.lacs.map((l) => ({
        name: l.config.name,
        lns: l.config.lns,
        port: l.config.port,
        state: l.state,
        ...(l.tunnel !== undefined ? { tunnel: l.tunnel } : {}),
      })),
      tunnels: this.tunnelViews(),
      ...(pool !== undefined ? { pool: { sessions: pool.sessions, inUse: pool.ipv4InUse, capacity: pool.ipv4Capacity } } : {}),
      ...(tooBig !== undefined ? { tooBig } : {}),
      timers: this.timers.pending,
    };
  }

  /** Answer one control request. */
  handleControl(req: ControlRequest): ControlResponse {
    switch (req.cmd) {
      case 'ping':
        return { ok: true, result: 'pong' };
      case 'show-tunnels':
        return { ok: true, result: this.tunnelViews() };
      case 'show-sessions':
        return { ok: true, result: this.tunnelViews().flatMap((t) => t.sessions) };
      case 'status':
        return { ok: true, result: this.status() };
      case 'show-ipsec':
        return { ok: true, result: this.ipsecView() };
      case 'clear-tunnel': {
        const hits = this.allTunnels().filter((x) => x.info.localTunnelId === req.tunnel && x.info.state !== 'closed');
        if (hits.length === 0) return { ok: false, error: `no such tunnel ${req.tunnel}` };
        if (hits.length > 1) return { ok: false, error: `tunnel id ${req.tunnel} is ambiguous (${hits.length} listeners)` };
        const [hit] = hits;
        if (hit === undefined) return { ok: false, error: `no such tunnel ${req.tunnel}` };
        this.log.info({ tunnel: req.tunnel }, `clear tunnel ${req.tunnel} (l2tpctl)`);
        hit.endpoint.run((now, engine) => {
          engine.closeTunnel(now, hit.info.localTunnelId, CLEAR_TUNNEL_RESULT);
        });
        return { ok: true, result: { cleared: `tunnel ${req.tunnel}` } };
      }
      case 'clear-session': {
        const hits = this.allTunnels().flatMap((x) =>
          x.info.sessions
            .filter((s) => s.localSessionId === req.session && s.state !== 'closed')
            .filter(() => req.tunnel === undefined || x.info.localTunnelId === req.tunnel)
            .map((s) => ({ endpoint: x.endpoint, tunnel: x.info.localTunnelId, session: s.localSessionId })),
        );
        const name = req.tunnel === undefined ? `session ${req.session}` : `session ${req.tunnel}/${req.session}`;
        if (hits.length === 0) return { ok: false, error: `no such ${name}` };
        if (hits.length > 1) return { ok: false, error: `session id ${req.session} is not unique; use TUNNEL/SESSION` };
        const [hit] = hits;
        if (hit === undefined) return { ok: false, error: `no such ${name}` };
        this.log.info({ tunnel: hit.tunnel, session: hit.session }, `clear session ${hit.tunnel}/${hit.session} (l2tpctl)`);
        hit.endpoint.run((now, engine) => {
          engine.closeSession(now, hit.tunnel, hit.session, CLEAR_SESSION_RESULT);
        });
        return { ok: true, result: { cleared: `session ${hit.tunnel}/${hit.session}` } };
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Shutdown

  /**
   * Close every tunnel with StopCCN (result 1, "administrative shutdown"), wait up to `graceMs` for
   * the peers' acks (a ZLB after our StopCCN, or the tunnel gone), then close every socket.
   */
  async shutdown(graceMs = 2000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const l of this.lacs) l.redialAt = undefined;
    const pending = new Map<UdpEndpoint, Map<TunnelId, number>>();
    for (const ep of this.endpoints) {
      const m = new Map<TunnelId, number>();
      ep.run((now, engine) => {
        for (const t of engine.tunnels(now)) {
          // Tunnels already closing (StopCCN sent or received) only linger to ack retransmissions.
          if (t.state === 'closed' || t.state === 'closing') continue;
          m.set(t.localTunnelId, t.counters.zlbRx);
          engine.closeTunnel(now, t.localTunnelId, SHUTDOWN_RESULT);
        }
      });
      pending.set(ep, m);
    }
    const total = [...pending.values()].reduce((n, m) => n + m.size, 0);
    if (total > 0) this.log.info({ tunnels: total }, `shutting down: closing ${total} tunnel(s)`);
    const deadline = addDuration(this.clock.now(), millis(graceMs));
    while (total > 0 && this.clock.now() < deadline && !this.allAcked(pending)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    // LAC SAs: tell the servers (D(ESP), D(ISAKMP)) before the sockets close.
    for (const l of this.lacs) {
      const x = l.ipsec;
      if (x === undefined) continue;
      l.endpoint.run((now) => {
        x.initiator.close(now);
        x.io.gate.flushIke(now);
      });
    }
    for (const ep of this.endpoints) await ep.close();
    await this.ipsec?.close();
    for (const l of this.lacs) await l.ipsec?.io.close();
    this.access?.close();
    for (const l of this.lacs) l.ppp?.close();
    this.timers.close();
    if (this.controlServer !== undefined && this.controlPath !== undefined) await stopControlServer(this.controlServer, this.controlPath);
    if (this.metricsServer !== undefined) {
      const s = this.metricsServer;
      await new Promise<void>((r) => {
        s.close(() => {
          r();
        });
        s.closeAllConnections();
      });
    }
    this.log.info('l2tpd stopped');
  }

  private allAcked(pending: Map<UdpEndpoint, Map<TunnelId, number>>): boolean {
    const now = this.clock.now();
    for (const [ep, m] of pending) {
      if (m.size === 0) continue;
      const live = new Map(ep.engine.tunnels(now).map((t) => [t.localTunnelId, t]));
      for (const [id, zlbBefore] of m) {
        const t = live.get(id);
        if (t === undefined || t.state === 'closed') continue;
        if (t.counters.zlbRx > zlbBefore) continue;
        return false;
      }
    }
    return true;
  }
}
