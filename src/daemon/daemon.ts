/**
 * l2tpd's composition root: builds the sans-I/O cores and their shells from the configuration,
 * wires every core event into one event queue, and tears it all down again. What each part does
 * lives beside it: listeners and LAC sockets (src/io), LAC dialing (lac-shell.ts + the access
 * Dialer), PPP termination (access-shell.ts), IPsec (ipsec-shell.ts), the control API
 * (control-api.ts, control-socket.ts), views (views.ts), logs and metrics (event-log.ts,
 * metrics.ts), the banner (banner.ts) and the graceful shutdown (shutdown.ts). One TimerDriver
 * arms the next wake-up of every core.
 */
import type { Server } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { RandomSource, Duration, Instant } from '../base/index.js';
import { DEFAULT_REDIAL_BACKOFF } from '../access/index.js';
import type { IpsecGateEvent } from '../gate/index.js';
import type { EngineConfig, L2tpEngineApi, L2tpEvent, TunnelSettings } from '../l2tp/index.js';
import { systemClock, type Clock, cryptoRandom, TimerDriver, UdpEndpoint, ipFamily, type IpsecL2tp } from '../io/index.js';
import type { DaemonConfig, ListenConfig, TunnelDefaults } from './config.js';
import type { ControlRequest, ControlResponse, IpsecView, StatusView, TunnelView } from './control-protocol.js';
import { startControlServer, stopControlServer } from './control-socket.js';
import { handleControl } from './control-api.js';
import { TappedEngine } from './engine-tap.js';
import { EventQueue } from './event-queue.js';
import { logEvent } from './event-log.js';
import { openIpsecListener } from './ipsec-shell.js';
import { LacShell } from './lac-shell.js';
import type { Logger } from './logger.js';
import { DaemonMetrics, serveMetrics } from './metrics.js';
import { LnsAccess, dropPrivileges } from './access-shell.js';
import { logBanner } from './banner.js';
import { clientCredentials } from './client-credentials.js';
import { generateStatusToken, startStatusPage, type StatusPage } from './status-page/index.js';
import { daemonStatusSource } from './status-page/daemon-source.js';
import { allAcked, pendingCount, stopAllTunnels, waitUntil } from './shutdown.js';
import { allTunnels, ipsecViews, statusView, tunnelViews, type TunnelAt, type ViewSources } from './views.js';

export { SHUTDOWN_RESULT } from './shutdown.js';
export { CLEAR_TUNNEL_RESULT, CLEAR_SESSION_RESULT } from './control-api.js';

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
  /** LAC redial backoff: first delay and cap (default 1 s .. 60 s, doubling; src/access/dialer.ts). */
  readonly redialInitial?: Duration;
  readonly redialMax?: Duration;
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

/** An event a core handed up, with where it came from. */
type DaemonEvent =
  | { readonly kind: 'l2tp'; readonly endpoint: UdpEndpoint; readonly event: L2tpEvent }
  | { readonly kind: 'ipsec'; readonly lac: LacShell; readonly event: IpsecGateEvent };

/** One bound listener. */
interface Listener {
  readonly config: ListenConfig;
  readonly endpoint: UdpEndpoint;
}

/** The running daemon. */
export class Daemon {
  /** The shared timer driver (engines, PPP, dialers). */
  readonly timers: TimerDriver;
  /** Metrics, fed from events. */
  readonly metrics: DaemonMetrics;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly log: Logger;
  private readonly queue: EventQueue<DaemonEvent>;
  private readonly listeners: Listener[] = [];
  private readonly lacs: LacShell[] = [];
  /** Every endpoint, each once (listeners and LAC sockets). */
  private readonly endpoints: UdpEndpoint[] = [];
  private readonly taps: TappedEngine[] = [];
  /** Re-checks that want to run on every datagram and engine event (the shutdown's wait). */
  private readonly watchers = new Set<() => void>();
  /** The L2TP/IPsec listener when `[ipsec]` is configured. */
  private ipsec: IpsecL2tp | undefined;
  /** PPP termination + the shared TUN (undefined = plain L2TP). */
  private access: LnsAccess | undefined;
  private readonly startedAt: Instant;
  private controlServer: Server | undefined;
  private controlPath: string | undefined;
  private metricsServer: HttpServer | undefined;
  private metricsBound: number | undefined;
  /** `[status]`: the status page and its token. */
  private statusPage: { readonly page: StatusPage; readonly token: string } | undefined;
  private stopping = false;

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
    this.queue = new EventQueue<DaemonEvent>(
      (e) => {
        this.dispatch(e);
      },
      (err) => {
        this.log.error({ err }, 'event handler failed');
      },
    );
    this.metrics = new DaemonMetrics(
      () => this.allTunnels().map((x) => x.info),
      () => this.ipsecView(),
    );
    this.startedAt = this.clock.now();
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
    await this.openListeners(config);
    await this.openLacs(config);
    await this.openAccess(config);
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
    await this.openStatusPage(config);
    logBanner(this.log, {
      version: VERSION,
      listeners: this.listeners,
      lacs: this.lacs,
      controlPath: this.controlPath,
      metricsPort: this.metricsBound,
      access: this.access !== undefined && config.access !== undefined ? { shell: this.access, config: config.access } : undefined,
      ipsec: this.ipsec !== undefined && config.ipsec !== undefined ? { io: this.ipsec, config: config.ipsec } : undefined,
    });
    const user = config.daemon.user;
    if (user !== undefined) {
      // Everything privileged (TUN, port 1701, control socket) is open: give up root.
      const ids = dropPrivileges(user);
      this.log.info(ids, `dropped privileges to ${user} (uid ${ids.uid}, gid ${ids.gid})`);
    }
    for (const l of this.lacs) l.dial();
  }

  /** `[[listen]]`: one engine per socket; the first IPv4 listener carries `[ipsec]` (ipsec-shell.ts). */
  private async openListeners(config: DaemonConfig): Promise<void> {
    for (const lc of config.listen) {
      const engine = this.createEngine({ acceptTunnels: true, accept: tunnelSettings(config.l2tp, lc), acceptIncomingCalls: true, acceptOutgoingCalls: true });
      let endpoint: UdpEndpoint;
      if (config.ipsec !== undefined && this.ipsec === undefined && ipFamily(lc.address) === 4) {
        this.ipsec = await openIpsecListener({
          ipsec: config.ipsec, listen: lc, engine, log: this.log, clock: this.clock, timers: this.timers, random: this.random,
          onL2tpEvent: (event, ep) => {
            this.queue.push({ kind: 'l2tp', endpoint: ep, event });
          },
        });
        endpoint = this.ipsec.endpoint;
        this.endpoints.push(endpoint);
      } else {
        endpoint = await this.openEndpoint(engine, lc.address, lc.port);
      }
      this.listeners.push({ config: lc, endpoint });
    }
  }

  /** `[[lac]]`: sockets, IPsec initiators, PPP clients and dialers (dialed at the end of start). */
  private async openLacs(config: DaemonConfig): Promise<void> {
    const first = this.listeners[0];
    const backoff = { initial: this.options.redialInitial ?? DEFAULT_REDIAL_BACKOFF.initial, max: this.options.redialMax ?? DEFAULT_REDIAL_BACKOFF.max };
    for (const lc of config.lac) {
      const settings = tunnelSettings(config.l2tp, { secret: lc.secret, hideAvps: lc.hideAvps });
      const lac = await LacShell.open({
        config: lc, settings, log: this.log, clock: this.clock, timers: this.timers, random: this.random, backoff,
        shared: first !== undefined ? { endpoint: first.endpoint, address: first.config.address } : undefined,
        createEngine: () => this.createEngine({ acceptTunnels: false, accept: settings, acceptIncomingCalls: true, acceptOutgoingCalls: true }),
        openEndpoint: (engine, address, port) => this.openEndpoint(engine, address, port),
        onL2tpEvent: (event, ep) => {
          this.queue.push({ kind: 'l2tp', endpoint: ep, event });
        },
        onIpsecEvent: (l, event) => {
          this.queue.push({ kind: 'ipsec', lac: l, event });
        },
      });
      if (!this.endpoints.includes(lac.endpoint)) this.endpoints.push(lac.endpoint);
      this.lacs.push(lac);
    }
  }

  /** `[ppp]` & co: PPP termination on the first listener (not on our own LAC tunnels there). */
  private async openAccess(config: DaemonConfig): Promise<void> {
    const ac = config.access;
    const first = this.listeners[0];
    if (ac === undefined) return;
    if (first === undefined) {
      this.log.warn('[ppp] is configured but there is no [[listen]]: no PPP termination');
      return;
    }
    const access = await LnsAccess.open({ config: ac, log: this.log, clock: this.clock, random: this.random, timers: this.timers });
    this.access = access;
    const ep = first.endpoint;
    access.attach(ep, (tunnel) => !this.lacs.some((l) => l.owns(ep, tunnel)));
    if (this.listeners.length > 1) this.log.warn(`PPP is terminated on the first listener only (${ep.label}); other listeners carry plain L2TP`);
  }

  /** `[status]`: the read-only status page (status-page/); the token is generated when none is set. */
  private async openStatusPage(config: DaemonConfig): Promise<void> {
    const st = config.status;
    if (st === undefined) return;
    const token = st.token ?? generateStatusToken();
    const source = daemonStatusSource({ version: VERSION, startedAt: this.startedAt, now: () => this.clock.now(), sources: () => this.sources });
    const page = await startStatusPage({ host: st.listen.host, port: st.listen.port, token, maxRows: st.maxRows, source });
    this.statusPage = { page, token };
    this.log.info({ url: page.url }, `status page on ${page.url} (read-only; \`l2tpctl status-page\` prints the URL with its token)`);
  }

  /** The status page's URL, if it is on. */
  get statusPageUrl(): string | undefined {
    return this.statusPage?.page.url;
  }

  /** An engine from the factory, tapped for the shutdown's ack wait (engine-tap.ts). */
  private createEngine(config: EngineConfig): TappedEngine {
    const tap = new TappedEngine(this.options.createEngine(config, this.random));
    this.taps.push(tap);
    return tap;
  }

  private async openEndpoint(engine: L2tpEngineApi, address: string, port: number): Promise<UdpEndpoint> {
    const ep = await UdpEndpoint.open({
      engine,
      address,
      port,
      clock: this.clock,
      timers: this.timers,
      onEvent: (event, endpoint) => {
        this.queue.push({ kind: 'l2tp', endpoint, event });
      },
      onError: (e, endpoint) => {
        this.log.warn({ listener: endpoint.label, err: e.message }, `socket error on ${endpoint.label}: ${e.message}`);
      },
    });
    this.endpoints.push(ep);
    return ep;
  }

  /** One event, in queue order: log, metrics, PPP termination, LACs. */
  private dispatch(e: DaemonEvent): void {
    if (e.kind === 'ipsec') {
      e.lac.onIpsecEvent(e.event);
      return;
    }
    const { endpoint, event } = e;
    logEvent(this.log, event, endpoint.label);
    this.metrics.observe(event);
    if (this.access?.serves(endpoint) === true) this.access.onL2tpEvent(event);
    for (const l of this.lacs) l.onL2tpEvent(endpoint, event);
    for (const w of this.watchers) w();
  }

  /** Run `check` on every datagram and engine event until the returned function is called. */
  private watch(check: () => void): () => void {
    this.watchers.add(check);
    const all = (): void => {
      for (const w of this.watchers) w();
    };
    for (const t of this.taps) t.onInput = all;
    return () => {
      this.watchers.delete(check);
      if (this.watchers.size === 0) for (const t of this.taps) t.onInput = undefined;
    };
  }

  /** SIGHUP: reload the users file (a broken file keeps the old users). */
  async reloadUsers(): Promise<boolean> {
    return (await this.access?.reloadUsers()) ?? true;
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
  // Views and the control API (views.ts, control-api.ts)

  private get sources(): ViewSources {
    return { endpoints: this.endpoints, lacs: this.lacs, access: this.access, ipsec: this.ipsec };
  }

  private allTunnels(): TunnelAt[] {
    return allTunnels(this.clock.now(), this.sources);
  }

  /** Every tunnel as a JSON view. */
  tunnelViews(): TunnelView[] {
    return tunnelViews(this.clock.now(), this.sources);
  }

  /** `l2tpctl show ipsec`. */
  ipsecView(): IpsecView {
    return ipsecViews(this.clock.now(), this.sources);
  }

  /** Daemon status for `l2tpctl show status`. */
  status(): StatusView {
    return statusView(this.clock.now(), this.sources, {
      version: VERSION,
      startedAt: this.startedAt,
      listeners: this.listeners.map((l) => ({ endpoint: l.endpoint, auth: l.config.secret !== undefined })),
      timers: this.timers.pending,
    });
  }

  /** Answer one control request. */
  handleControl(req: ControlRequest): ControlResponse {
    return handleControl(
      {
        log: this.log, lacs: this.lacs, tunnels: () => this.allTunnels(), tunnelViews: () => this.tunnelViews(), status: () => this.status(), ipsecView: () => this.ipsecView(),
        clientCredentials: (user) => clientCredentials(this.options.config, this.access, user),
        statusPage: () =>
          this.statusPage === undefined
            ? { ok: false, error: 'the status page is off (set [status] listen = "127.0.0.1:8080")' }
            : { ok: true, result: { url: this.statusPage.page.url, token: this.statusPage.token } },
      },
      req,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Shutdown (shutdown.ts)

  /**
   * Close every tunnel with StopCCN (result 1, "administrative shutdown"), wait up to `graceMs` for
   * the peers' acks (a ZLB after our StopCCN, or the tunnel gone), then close every socket.
   */
  async shutdown(graceMs = 2000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const l of this.lacs) l.halt();
    const pending = stopAllTunnels(this.endpoints);
    const total = pendingCount(pending);
    if (total > 0) {
      this.log.info({ tunnels: total }, `shutting down: closing ${total} tunnel(s)`);
      await waitUntil(() => allAcked(pending), graceMs, (check) => this.watch(check));
    }
    // LAC SAs: tell the servers (D(ESP), D(ISAKMP)) before the sockets close.
    for (const l of this.lacs) l.deleteSas();
    for (const ep of this.endpoints) await ep.close();
    await this.ipsec?.close();
    for (const l of this.lacs) await l.close();
    this.access?.close();
    this.timers.close();
    if (this.controlServer !== undefined && this.controlPath !== undefined) await stopControlServer(this.controlServer, this.controlPath);
    await this.statusPage?.page.close();
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
}
