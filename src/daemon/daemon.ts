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
import { availableParallelism } from 'node:os';
import type { Server as HttpServer } from 'node:http';
import type { RandomSource, Duration, Instant } from '../base/index.js';
import { DEFAULT_REDIAL_BACKOFF } from '../access/index.js';
import type { IpsecGateEvent } from '../gate/index.js';
import type { EngineConfig, L2tpEngineApi, L2tpEvent, Transmit, TunnelSettings } from '../l2tp/index.js';
import { systemClock, type Clock, cryptoRandom, TimerDriver, UdpEndpoint, ipFamily, type IpsecL2tp, NativeUnavailableError, type NativeFastPathStats } from '../io/index.js';
import { configWarnings, formatConfigError, showSocketFor, type DaemonConfig, type ListenConfig, type TunnelDefaults } from './config.js';
import { type ControlRequest, type ControlResponse, type IpsecView, READ_ONLY_COMMANDS, type StatusView, type TunnelView } from './control-protocol.js';
import { startControlServer, stopControlServer } from './control-socket.js';
import { handleControl } from './control-api.js';
import { TappedEngine } from './engine-tap.js';
import { EventQueue } from './event-queue.js';
import { logEvent } from './event-log.js';
import { openIpsecListener } from './ipsec-shell.js';
import { LacShell } from './lac-shell.js';
import type { Logger } from './logger.js';
import { DaemonMetrics, serveMetrics } from './metrics.js';
import { DataLedger } from './data-ledger.js';
import { L2tpSubagent } from './snmp/agentx.js';
import { LnsAccess, dropPrivileges } from './access-shell.js';
import { PppoeShell, terminateLocally, type PppoeTarget } from './pppoe-shell.js';
import { LacSwitchShell } from './lac-switch-shell.js';
import { LacSelectShell } from './lac-select-shell.js';
import { logBanner, type ConsoleSink } from './banner.js';
import { CredentialStore, groupId, prepare, type Prepared } from './setup/index.js';
import type { UserRecord } from '../aaa/index.js';
import { startupHint } from './startup-hints.js';
import { clientCredentials } from './client-credentials.js';
import { daemonStatusSource, generateStatusToken, startStatusPage, type StatusPage } from './status-page/index.js';
import { allAcked, pendingCount, stopAllTunnels, waitUntil } from './shutdown.js';
import { allTunnels, ipsecViews, kernelDrops, pppoeSessionViews, samplePayloadYielding, statusView, tunnelViews, tunnelViewsStream, tunnelViewsYielding, type TunnelAt, type ViewSources } from './views.js';
import { RadiusShell } from './radius-shell.js';
import { L2tpv3Shell } from './l2tpv3-shell.js';
import { L2tpv3StaticShell } from './l2tpv3-static-shell.js';

export { SHUTDOWN_RESULT } from './shutdown.js';
export { CLEAR_TUNNEL_RESULT, CLEAR_SESSION_RESULT } from './control-api.js';

import { VERSION } from './version.js';

export { VERSION } from './version.js';

/** Builds one engine per UDP socket (the real `L2tpEngine`, or a fake in tests). */
export type EngineFactory = (config: EngineConfig, random: RandomSource) => L2tpEngineApi;

/** Options of Daemon.start. */
export interface DaemonOptions {
  readonly config: DaemonConfig;
  /**
   * What the setup loaded for `config` (src/daemon/setup: state file, users file, DNS); l2tpd
   * passes it. Absent = prepared at start with nothing kept on disk (generated credentials in memory).
   */
  readonly prepared?: Prepared;
  /** Where the human "how to connect" block with generated credentials goes (a terminal); absent = only the log, without secrets. */
  readonly console?: ConsoleSink;
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

/**
 * `[dataplane] fast_path` (default true). L2TPKIT_FAST_PATH=off in the environment forces it off, so
 * a whole test run can take the JavaScript data path (`L2TPKIT_FAST_PATH=off npm test`).
 */
export function fastPathWanted(config: Pick<DaemonConfig, 'dataplane'>, env: NodeJS.ProcessEnv = process.env): boolean {
  return config.dataplane?.fastPath !== false && env['L2TPKIT_FAST_PATH'] !== 'off';
}

/** `[dataplane] threads`: the fast path's data threads (0 = one per core, at most 16); 0 when the fast path is off. */
export function fastPathThreads(config: Pick<DaemonConfig, 'dataplane'>, env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): number {
  if (!fastPathWanted(config, env)) return 0;
  const t = config.dataplane?.threads ?? 0;
  return t === 0 ? Math.min(16, Math.max(1, cores)) : t;
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
  /** `[[pppoe]]`: access concentrators whose sessions `access` terminates (BRAS). */
  private readonly pppoe: PppoeShell[] = [];
  /** LAC switching, one per `[[lac]]` that `[[pppoe]] lac` names. */
  private readonly switches = new Map<LacShell, LacSwitchShell>();
  /** `[tunnel_select]`: LAC switching with per-subscriber tunnel selection (lac-select-shell.ts). */
  private select: LacSelectShell | undefined;
  /** `[radius]`: the RADIUS client, accounting spool and DAE server (radius-shell.ts). */
  private radius: RadiusShell | undefined;
  /** `[l2tpv3]`: dynamic L2TPv3 pseudowires (l2tpv3-shell.ts). */
  private l2tpv3: L2tpv3Shell | undefined;
  /** `[[l2tpv3_static]]`: static L2TPv3 pseudowires (l2tpv3-static-shell.ts). */
  private l2tpv3Static: L2tpv3StaticShell | undefined;
  private readonly startedAt: Instant;
  private controlServer: Server | undefined;
  private controlPath: string | undefined;
  private metricsServer: HttpServer | undefined;
  private metricsBound: number | undefined;
  private showServer: Server | undefined;
  private showPath: string | undefined;
  /** `[status]`: the status page and its token. */
  private statusPage: { readonly page: StatusPage; readonly token: string } | undefined;
  private stopping = false;
  /** Generated credentials and the users file (`l2tpctl credentials`, `l2tpctl user add`). */
  private readonly credentials: CredentialStore;
  /** Monotone tunnel payload, daemon-wide totals, `clear statistics` baselines (data-ledger.ts). */
  private readonly ledger = new DataLedger();
  /** `[snmp]`: the AgentX subagent (snmp/agentx.ts). */
  private snmp: L2tpSubagent | undefined;

  private constructor(
    private readonly options: DaemonOptions & { readonly config: DaemonConfig },
    private readonly prepared: Prepared,
  ) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? cryptoRandom;
    this.log = options.log;
    this.timers = new TimerDriver({
      now: () => this.clock.now(),
      // One wake-up per 10 ms window for every due timer (the echo pacer's window): at 100k sessions the
      // LCP echoes cost ~100 wake-ups a second instead of ~3,000 (issue 15, idle CPU). Timers run <= 10 ms late.
      coalesceMs: 10,
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
      (into) => {
        for (const ep of this.endpoints) ep.engine.countStates(into);
      },
      () => this.ipsecView(),
    );
    this.startedAt = this.clock.now();
    this.credentials = new CredentialStore({
      credentials: prepared.credentials,
      usersFile: prepared.config.access?.usersFile,
      random: this.random,
      reloadUsers: () => this.reloadUsers(),
    });
  }

  /**
   * Load what the config refers to (unless `prepared` is given), bind every socket, open the
   * control sockets and metrics, dial LAC tunnels, print the banner. A failure closes what was
   * opened and rejects with a message that says what to do.
   */
  static async start(options: DaemonOptions): Promise<Daemon> {
    let prepared = options.prepared;
    if (prepared === undefined) {
      const r = await prepare(options.config, { mode: 'start', stateDir: null, ...(options.random !== undefined ? { random: options.random } : {}) });
      if (!r.ok) throw new Error(r.error.map(formatConfigError).join('; '));
      prepared = r.value;
    }
    const d = new Daemon({ ...options, config: prepared.config }, prepared);
    try {
      await d.bind();
    } catch (e) {
      await d.shutdown(0, { quiet: true });
      throw startupHint(e);
    }
    return d;
  }

  private async bind(): Promise<void> {
    const { config } = this.options;
    for (const n of this.prepared.notes) this.log[n.level](n.message);
    for (const w of configWarnings(config)) this.log.warn({ key: w.key }, `config: ${w.key}: ${w.message}`);
    await this.openListeners(config);
    await this.openLacs(config);
    await this.openAccess(config);
    this.metrics.addKernel(() => {
      const st = this.access?.stats();
      return {
        kernel: kernelDrops(this.listeners.map((l) => l.endpoint), this.access),
        ...(st !== undefined ? { echo: { misses: st.echoMisses, missing: st.echoMissing, timeouts: st.echoTimeouts } } : {}),
      };
    });
    this.metrics.addFastPath(async () => {
      const stats = this.access?.fastPathStats();
      return stats === undefined ? undefined : { stats, tunnelSums: (await this.access?.fastPathTunnelSums()) ?? new Map(), esp: this.access?.fastPathEspStats() };
    });
    // The ledger is fed tunnel by tunnel (no views), in chunks that yield, so a scrape at 100k sessions never stalls the loop.
    this.metrics.addPayload(async () => (await samplePayloadYielding(this.clock.now(), this.sources)) ?? this.ledger.totals());
    await this.openL2tpv3(config);
    if (config.l2tpv3Static !== undefined && config.l2tpv3Static.length > 0) {
      const st = (this.l2tpv3Static = await L2tpv3StaticShell.open(config.l2tpv3Static, this.log, fastPathWanted(config)));
      this.metrics.addL2tpv3Static(() => st.view());
    }
    await this.openTunnelSelect(config);
    this.openPppoe(config);
    await this.openControl(config);
    if (config.snmp !== undefined) (this.snmp = new L2tpSubagent(config.snmp, this.log, () => tunnelViewsYielding(this.clock.now(), this.sources))).start();
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
      credentials: this.credentials.view(),
      fresh: this.prepared.credentials.fresh,
      console: this.options.console,
    });
    const user = config.daemon.user;
    if (user !== undefined) {
      // Everything privileged (TUN, port 1701, control socket) is open: give up root.
      const ids = dropPrivileges(user);
      this.log.info(ids, `dropped privileges to ${user} (uid ${ids.uid}, gid ${ids.gid})`);
    }
    for (const l of this.lacs) l.dial();
  }

  /**
   * The control socket (mode 0600, or 0660 for `control_group`) and, with `show_group`, the
   * read-only show socket (0660, `l2tpctl show ...` only).
   */
  private async openControl(config: DaemonConfig): Promise<void> {
    const path = this.options.controlSocket === undefined ? config.daemon.controlSocket : this.options.controlSocket;
    if (path === null) return;
    const d = config.daemon;
    const gid = d.controlGroup === undefined ? undefined : await groupId(d.controlGroup);
    if (d.controlGroup !== undefined && gid === undefined) throw new Error(`[daemon] control_group: no group "${d.controlGroup}" in /etc/group`);
    this.controlServer = await startControlServer(path, (req) => this.handleControl(req), gid === undefined ? {} : { gid, mode: 0o660 });
    this.controlPath = path;
    if (d.showGroup === undefined) return;
    const showGid = await groupId(d.showGroup);
    if (showGid === undefined) throw new Error(`[daemon] show_group: no group "${d.showGroup}" in /etc/group`);
    const showPath = d.showSocket ?? showSocketFor(path);
    this.showServer = await startControlServer(
      showPath,
      (req) => (READ_ONLY_COMMANDS.has(req.cmd) ? this.handleControl(req) : { ok: false, error: `"${req.cmd}" is not available on the read-only socket ${showPath}: it needs root or [daemon] control_group (socket ${path})` }),
      { gid: showGid, mode: 0o660 },
    );
    this.showPath = showPath;
  }

  /** `[[listen]]`: one engine per socket; the first IPv4 listener carries `[ipsec]` (ipsec-shell.ts). */
  private async openListeners(config: DaemonConfig): Promise<void> {
    for (const [i, lc] of config.listen.entries()) {
      const engine = this.createEngine({ acceptTunnels: true, accept: tunnelSettings(config.l2tp, lc), acceptIncomingCalls: true, acceptOutgoingCalls: true, ...(config.admission === undefined ? {} : { admission: config.admission }) });
      let endpoint: UdpEndpoint;
      if (config.ipsec !== undefined && this.ipsec === undefined && ipFamily(lc.address) === 4) {
        this.ipsec = await openIpsecListener({
          ipsec: config.ipsec, listen: lc, engine, log: this.log, clock: this.clock, timers: this.timers, random: this.random,
          nativeSockets: i === 0 && config.access !== undefined && fastPathWanted(config) && config.dataplane?.fastPathEsp !== false,
          ...(config.ipsec.pskGenerated === true ? { psk: () => this.credentials.psk } : {}),
          onL2tpEvent: (event, ep) => {
            this.queue.push({ kind: 'l2tp', endpoint: ep, event });
          },
        });
        endpoint = this.ipsec.endpoint;
        this.endpoints.push(endpoint);
      } else {
        // PPP is terminated on the first listener: with the fast path on, it gets the addon's socket.
        const native = i === 0 && config.access !== undefined && fastPathWanted(config) && ipFamily(lc.address) === 4;
        endpoint = await this.openEndpoint(engine, lc.address, lc.port, native, native && fastPathThreads(config) > 0);
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
    if (first === undefined) return; // refused by the config (PPP needs a listener)
    const rc = config.radius;
    const local = first.endpoint.local.address;
    const radius =
      rc === undefined
        ? undefined
        : await RadiusShell.open({
            config: rc, log: this.log, clock: this.clock, timers: this.timers, random: this.random, stateDir: config.daemon.stateDir,
            tunnelServer: { ...(local !== '0.0.0.0' && local !== '::' ? { endpoint: local } : {}), hostName: config.l2tp.hostName },
          });
    this.radius = radius;
    const access = await LnsAccess.open({
      config: ac, log: this.log, clock: this.clock, random: this.random, timers: this.timers, users: this.prepared.users ?? new Map<string, UserRecord>(), stateDir: this.prepared.credentials.stateDir ?? null, fastThreads: first.endpoint.nativeSocket !== undefined ? fastPathThreads(config) : 0, keepaliveOffload: config.dataplane?.keepaliveOffload !== false,
      ...(radius !== undefined ? { aaa: radius.accessConfig, onAccessEvent: (e) => radius.onAccessEvent(e) } : {}),
    });
    this.access = access;
    const ep = first.endpoint;
    access.attach(ep, (tunnel) => !this.lacs.some((l) => l.owns(ep, tunnel)), { fastPath: fastPathWanted(config), dataSequencing: config.l2tp.dataSequencing });
    // L2TP/IPsec on this listener: ESP of its flows in the same fast path (`[dataplane] fast_path_esp`).
    if (this.ipsec !== undefined && this.ipsec.endpoint === ep && config.dataplane?.fastPathEsp !== false) access.attachEsp(this.ipsec);
    if (radius !== undefined) {
      await radius.attach(access);
      this.metrics.addRadius(() => radius.view());
    }
  }

  /** `[l2tpv3]`: its own socket, TAPs and always-on dials; counters into the metrics. */
  private async openL2tpv3(config: DaemonConfig): Promise<void> {
    const c = config.l2tpv3;
    if (c === undefined) return;
    const v3 = await L2tpv3Shell.open(c, this.log, () => this.clock.now(), fastPathWanted(config));
    this.l2tpv3 = v3;
    this.metrics.addL2tpv3(() => {
      return { ...v3.counters, ...v3.view().drops };
    });
  }

  /** `[tunnel_select]`: its socket and selector; RADIUS (`radius = true`) even without PPP termination. */
  private async openTunnelSelect(config: DaemonConfig): Promise<void> {
    const c = config.tunnelSelect;
    if (c === undefined) return;
    if (c.radius && this.radius === undefined && config.radius !== undefined) {
      this.radius = await RadiusShell.open({
        config: config.radius, log: this.log, clock: this.clock, timers: this.timers, random: this.random, stateDir: config.daemon.stateDir,
        tunnelServer: { hostName: config.l2tp.hostName },
      });
    }
    const radius = c.radius ? this.radius : undefined;
    this.select = await LacSelectShell.open({
      config: c, base: tunnelSettings({ ...config.l2tp, hostName: c.hostName }, { secret: undefined, hideAvps: false }), log: this.log, clock: this.clock, timers: this.timers, random: this.random,
      createEngine: (ec) => this.createEngine(ec),
      openEndpoint: (engine, address, port, route) => this.openEndpoint(engine, address, port, false, false, route),
      ...(radius !== undefined ? { authorize: (r) => radius.authorizeLac(r) } : {}),
      ...(this.access !== undefined ? { local: terminateLocally(this.access) } : {}),
    });
    const sel = this.select;
    this.metrics.addSelection(() => ({ counters: sel.counters, destinations: sel.destinations().destinations }));
  }

  /** `[[pppoe]]`: an AC per section, its sessions terminated by the access server or switched into a [[lac]]'s tunnel. */
  private openPppoe(config: DaemonConfig): void {
    for (const pc of config.pppoe) {
      let target: PppoeTarget | undefined;
      const lac = pc.lac === undefined ? undefined : this.lacs.find((l) => l.config.name === pc.lac);
      if (pc.tunnelSelect && this.select !== undefined) target = this.select.target();
      else if (lac !== undefined) {
        let sw = this.switches.get(lac);
        if (sw === undefined) {
          sw = new LacSwitchShell({ lac, log: this.log, clock: this.clock, timers: this.timers, random: this.random });
          this.switches.set(lac, sw);
        }
        target = sw.target();
      } else if (this.access !== undefined) target = terminateLocally(this.access);
      if (target === undefined) throw new Error(`[[pppoe]] ${pc.interface}: nothing to hand its sessions to (no PPP termination, no [[lac]] "${pc.lac ?? ''}")`);
      this.pppoe.push(PppoeShell.open({ config: pc, target, log: this.log, clock: this.clock, timers: this.timers }));
      const where = pc.tunnelSelect ? 'switched into the tunnel [tunnel_select] picks per subscriber' : lac !== undefined ? `switched into the tunnel of [[lac]] "${lac.config.name}"` : 'terminated here';
      this.log.info({ pppoe: pc.interface, acName: pc.acName }, `PPPoE access concentrator "${pc.acName}" on ${pc.interface}${pc.vlan !== undefined ? ` VLAN ${pc.vlan}` : ''}: sessions ${where}`);
    }
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

  private async openEndpoint(engine: L2tpEngineApi, address: string, port: number, native = false, reusePort = false, route?: (t: Transmit) => boolean): Promise<UdpEndpoint> {
    const opts = {
      engine,
      ...(route !== undefined ? { route } : {}),
      address,
      port,
      clock: this.clock,
      timers: this.timers,
      onEvent: (event: L2tpEvent, endpoint: UdpEndpoint) => {
        this.queue.push({ kind: 'l2tp', endpoint, event });
      },
      onError: (e: Error, endpoint: UdpEndpoint) => {
        this.log.warn({ listener: endpoint.label, err: e.message }, `socket error on ${endpoint.label}: ${e.message}`);
      },
    };
    let ep: UdpEndpoint | undefined;
    if (native) {
      try {
        ep = await UdpEndpoint.open({ ...opts, socket: 'native', reusePort });
      } catch (e) {
        if (!(e instanceof NativeUnavailableError)) throw e;
        this.log.warn({ err: e.message }, `data fast path off: ${e.message}; the listener uses node:dgram and every data packet goes through JavaScript`);
      }
    }
    ep ??= await UdpEndpoint.open(opts);
    this.endpoints.push(ep);
    this.sizeBuffers(ep);
    return ep;
  }

  /**
   * `[daemon] udp_receive_buffer` / `udp_send_buffer` on one socket, logged once with what the
   * kernel reports (Linux reports twice what it was given, capped by net.core.rmem_max / wmem_max).
   */
  private sizeBuffers(ep: UdpEndpoint): void {
    const d = this.options.config.daemon;
    if (d.udpReceiveBuffer <= 0 && d.udpSendBuffer <= 0) return;
    const got = ep.setBuffers(d.udpReceiveBuffer, d.udpSendBuffer);
    const fields = { listener: ep.label, receiveBuffer: got.receive, sendBuffer: got.send, wanted: { receive: d.udpReceiveBuffer, send: d.udpSendBuffer } };
    if (got.error !== undefined || got.receive < d.udpReceiveBuffer || got.send < d.udpSendBuffer) {
      this.log.warn(
        { ...fields, ...(got.error !== undefined ? { err: got.error } : {}) },
        `socket ${ep.label}: buffers ${got.receive} B receive / ${got.send} B send, less than asked (raise net.core.rmem_max / wmem_max); bursts may be dropped`,
      );
    } else this.log.info(fields, `socket ${ep.label}: buffers ${got.receive} B receive / ${got.send} B send`);
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
    for (const s of this.switches.values()) s.onL2tpEvent(endpoint, event);
    this.select?.onL2tpEvent(endpoint, event);
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

  /** Counters of the native data fast path ([dataplane] fast_path), undefined when it is off. */
  fastPathStats(): NativeFastPathStats | undefined {
    return this.access?.fastPathStats();
  }

  /** The port the metrics server is bound to, if any. */
  get metricsPort(): number | undefined {
    return this.metricsBound;
  }

  // -------------------------------------------------------------------------------------------
  // Views and the control API (views.ts, control-api.ts)

  private get sources(): ViewSources {
    return { endpoints: this.endpoints, lacs: this.lacs, access: this.access, ipsec: this.ipsec, pppoe: this.pppoe, ledger: this.ledger };
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

  /** Daemon status for `l2tpctl show status`; `tunnels` when already built (see {@link statusYielding}). */
  status(tunnels?: TunnelView[]): StatusView {
    return statusView(this.clock.now(), this.sources, {
      version: VERSION,
      startedAt: this.startedAt,
      listeners: this.listeners.map((l) => ({ endpoint: l.endpoint, auth: l.config.secret !== undefined })),
      timers: this.timers.pending,
      requireIpsec: this.options.config.ipsec?.requireIpsec ?? false,
      ...(this.l2tpv3 !== undefined ? { l2tpv3: this.l2tpv3.view() } : {}),
      ...(this.l2tpv3Static !== undefined ? { l2tpv3Static: this.l2tpv3Static.view() } : {}),
    }, tunnels);
  }

  /** {@link status} with the tunnel views built in chunks that yield to the event loop (issue 15 item 2). */
  async statusYielding(): Promise<StatusView> {
    return this.status(await tunnelViewsYielding(this.clock.now(), this.sources));
  }

  /** Answer one control request. */
  handleControl(req: ControlRequest): ControlResponse | Promise<ControlResponse> {
    return handleControl(
      {
        log: this.log, lacs: this.lacs, tunnels: () => this.allTunnels(), tunnelViews: () => this.tunnelViews(), tunnelViewsYielding: () => tunnelViewsYielding(this.clock.now(), this.sources),
        tunnelViewsStream: () => tunnelViewsStream(this.clock.now(), this.sources),
        pppoeSessions: () => pppoeSessionViews(this.clock.now(), this.sources), status: () => this.status(), statusYielding: () => this.statusYielding(), ipsecView: () => this.ipsecView(),
        radiusView: () => this.radius?.view(),
        ledger: this.ledger,
        nowMs: () => this.clock.now(),
        selection: () => this.select?.destinations(),
        ...(this.l2tpv3 !== undefined ? { clearL2tpv3: (kind: 'tunnel' | 'session', id: number) => this.l2tpv3?.clear(kind, id) ?? false } : {}),
        credentials: this.credentials,
        clientCredentials: (user) => clientCredentials(this.options.config, this.access, this.credentials.view(), user),
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
   * `quiet`: no "l2tpd stopped" line (the cleanup of a failed start).
   */
  async shutdown(graceMs = 2000, o: { readonly quiet?: boolean } = {}): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const l of this.lacs) l.halt();
    this.access?.prepareShutdown();
    // PPPoE clients get their PADT first (their sessions end with the access server's teardown).
    for (const p of this.pppoe) p.close();
    for (const s of this.switches.values()) s.close();
    this.select?.close();
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
    await this.l2tpv3?.close();
    this.l2tpv3Static?.close();
    for (const l of this.lacs) await l.close();
    // Every Stop is queued now: Accounting-Off, a bounded wait for the servers, the spool flushed.
    await this.radius?.close(Math.max(graceMs, 1000));
    this.access?.close();
    this.timers.close();
    await this.snmp?.close();
    if (this.controlServer !== undefined && this.controlPath !== undefined) await stopControlServer(this.controlServer, this.controlPath);
    if (this.showServer !== undefined && this.showPath !== undefined) await stopControlServer(this.showServer, this.showPath);
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
    // A start that failed says so itself ("failed to start"), not "stopped" first.
    if (o.quiet !== true) this.log.info('l2tpd stopped');
  }
}
