/**
 * The I/O shell around src/access: one shared TUN for every LNS PPP session (`LnsAccess`), one TUN
 * per dial-out client (`LacPppClient`), the users table (loaded by src/daemon/setup, reloaded on
 * SIGHUP), and dropping privileges. The sans-I/O cores get events, packets and instants from here.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIpv4, formatIpv4Prefix, formatIpv6Prefix, type Instant, type RandomSource } from '../base/index.js';
import { AccessClient, AccessServer, UserTable, type AccessAaaConfig, type AccessAuthResult, type AccessClientEvent, type AccessEvent, type AccessSessionInfo } from '../access/index.js';
import { type UserRecord } from '../aaa/index.js';
import type { DaeSessionTable } from '../aaa/radius/index.js';
import type { AuthProtocol } from '../ppp/index.js';
import type { L2tpEvent, Transmit } from '../l2tp/index.js';
import type { SessionId, TunnelId } from '../wire/l2tp/index.js';
import { type Clock, FastPathAttach, type IpsecL2tp, type NativeEspStats, type FastSessionCounters, type NativeFastPathStats, NativeIoError, NativeUnavailableError, type PacketBatch, type PolledCore, Pump, readDeviceDrops, runIp, type TimerDriver, TunDevice, type UdpEndpoint } from '../io/index.js';
import { type AccessSection, type LacPppConfig, type PppAuthName } from './config.js';
import type { Logger } from './logger.js';
import { loadUsers } from './setup/index.js';
import { LEASE_JOURNAL_FILE, LeaseJournal, type TimedHold } from './lease-journal.js';
import type { DataCounters } from './data-ledger.js';

/** Session endings that are the LNS refusing the client (RFC 3145 direction "at us"), not a logout. */
const REJECTED_BY_US: ReadonlySet<string> = new Set(['auth-failed', 'auth-timeout', 'auth-protocol-refused', 'pool-exhausted', 'static-in-use', 'no-address', 'address-mismatch']);

/**
 * How a session's end reads in the log: a refusal the LNS decided (the authenticator said no, no
 * address to give) is "rejected by us" whatever side closed the link last; else a logout by us or
 * by the client.
 */
export function logoutWords(e: Pick<Extract<AccessEvent, { type: 'logout' }>, 'username' | 'reason' | 'by' | 'loggedIn'>): { readonly text: string; readonly by: 'local' | 'peer' } {
  const user = e.username ?? '-';
  if (REJECTED_BY_US.has(e.reason)) return { text: `${user} rejected by us (${e.reason})`, by: 'local' };
  return { text: `${user} ${e.loggedIn ? 'logged out' : 'disconnected before login'} (${e.reason}, by ${e.by === 'local' ? 'us' : 'the client'})`, by: e.by };
}

/** `[tun] txqueuelen` (`ip link set dev TUN txqueuelen N`), logged once with what the kernel reports; a failure only warns. */
async function setTxqueuelen(tun: TunDevice, n: number, netns: string | undefined, log: Logger): Promise<void> {
  if (n <= 0) return;
  const ns = netns !== undefined ? ['-n', netns] : [];
  try {
    await runIp([...ns, 'link', 'set', 'dev', tun.name, 'txqueuelen', String(n)]);
  } catch (e) {
    log.warn({ tun: tun.name, txqueuelen: n, err: e instanceof Error ? e.message : String(e) }, `TUN ${tun.name}: cannot set txqueuelen ${n}; bursts toward clients may be dropped`);
    return;
  }
  const got = netns === undefined ? readDeviceDrops(tun.name)?.txqueuelen : n;
  log.info({ tun: tun.name, txqueuelen: got ?? n }, `TUN ${tun.name}: txqueuelen ${got ?? n}`);
}

/** The engine events `AccessServer.handleL2tpEvent` acts on (the others it ignores). */
const ACCESS_L2TP_EVENTS: ReadonlySet<L2tpEvent['type']> = new Set(['tunnel-established', 'tunnel-closing', 'session-established', 'session-closed', 'tunnel-closed']);

/** Config names to PPP core names. */
export const authProtocols = (names: readonly PppAuthName[]): AuthProtocol[] => names.map((n) => (n === 'chap' ? 'chap-md5' : n));

/** Open a TUN device with an error that says what to do. */
export function openTun(name: string, queues = 0): TunDevice {
  try {
    return TunDevice.open({ name, maxPackets: 64, queues });
  } catch (e) {
    if (e instanceof NativeUnavailableError) throw new Error(`cannot open TUN ${name}: the native addon is not built (${e.message}); run "npm ci" or "node native/build.mjs"`);
    if (e instanceof NativeIoError) {
      const hint =
        e.code === 'ENOENT' || e.code === 'ENODEV'
          ? '/dev/net/tun is missing (modprobe tun; in containers pass --device /dev/net/tun)'
          : e.code === 'EPERM' || e.code === 'EACCES'
            ? 'needs root or CAP_NET_ADMIN (see contrib/l2tpd.service)'
            : e.code === 'EBUSY'
              ? `an interface named ${name} is in use by another process`
              : e.message;
      throw new Error(`cannot open TUN ${name}: ${hint}`);
    }
    throw e;
  }
}

/**
 * setgid/setuid to `user` (looked up in /etc/passwd). Call only after every socket and the TUN are
 * open and configured: afterwards `ip` commands (client mode) and privileged binds are impossible.
 */
export function dropPrivileges(user: string): { uid: number; gid: number } {
  if (typeof process.setuid !== 'function' || typeof process.setgid !== 'function') throw new Error('dropping privileges is not supported on this platform');
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === user);
  const f = line?.split(':');
  const uid = Number(f?.[2]);
  const gid = Number(f?.[3]);
  if (f === undefined || !Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`no such user "${user}" in /etc/passwd`);
  process.setgroups?.([gid]);
  process.setgid(gid);
  process.setuid(uid);
  return { uid, gid };
}

/** Options of the LNS shell. */
export interface LnsAccessOptions {
  readonly config: AccessSection;
  /** `[dataplane] threads` as resolved (0 = none): the TUN gets that many more queues for them. */
  readonly fastThreads?: number;
  /** `[dataplane] keepalive_offload`: the LCP keepalive of fast-path sessions on their data thread. */
  readonly keepaliveOffload?: boolean;
  readonly log: Logger;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly timers: TimerDriver;
  /** RADIUS (radius-shell.ts): the access server's AAA part, and where its events go after logging. */
  readonly aaa?: AccessAaaConfig;
  readonly onAccessEvent?: (e: AccessEvent) => void;
  /** The users table as the setup loaded it (src/daemon/setup: users file checked against the pool, or a generated login). */
  readonly users: Map<string, UserRecord>;
  /** `[daemon] state_dir`: where the lease journal lives (`[pool] lease_hold`); null = no journal. */
  readonly stateDir?: string | null;
}

/** PPP termination for one listener: AccessServer + the shared TUN + the users table. */
export class LnsAccess {
  readonly users: UserTable;
  private server: AccessServer | undefined;
  private endpoint: UdpEndpoint | undefined;
  /** Drives the server (timer, transmits, events); drained after every drain of the endpoint. */
  private pump: Pump<Transmit, AccessEvent> | undefined;
  private unfollow: (() => void) | undefined;
  /** `ip route` commands for sessions run one after another. */
  private ipChain: Promise<void> = Promise.resolve();
  /** The addon's data fast path between the listener and the TUN, when on. */
  private fast: FastPathAttach | undefined;
  /** The lease journal and the timer of the next hold to end. */
  private journal: LeaseJournal | undefined;
  private holdTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly opts: LnsAccessOptions,
    private readonly tun: TunDevice,
  ) {
    this.users = new UserTable(opts.users);
  }

  /** Open and configure the TUN. Throws with a clear message on failure. */
  static async open(opts: LnsAccessOptions): Promise<LnsAccess> {
    const c = opts.config;
    const tun = openTun(c.tunName, opts.fastThreads ?? 0);
    try {
      if (c.tunNetns !== undefined) await tun.moveToNetns(c.tunNetns);
      const ns = c.tunNetns !== undefined ? { netns: c.tunNetns } : {};
      // The LNS address with the pool's prefix length: the kernel routes the whole pool into the TUN.
      await tun.configure({ address: `${formatIpv4(c.localAddress)}/${c.ipv4Pool.length}`, mtu: c.mtu, up: true, ...ns });
      if (c.ipv6Prefix !== undefined) await runIp([...(c.tunNetns !== undefined ? ['-n', c.tunNetns] : []), '-6', 'route', 'add', formatIpv6Prefix(c.ipv6Prefix), 'dev', tun.name]);
      // Named pools (RADIUS Framed-Pool) are routed into the TUN like the default pool.
      for (const p of c.namedPools?.values() ?? []) await runIp([...(c.tunNetns !== undefined ? ['-n', c.tunNetns] : []), 'route', 'add', formatIpv4Prefix(p), 'dev', tun.name]);
    } catch (e) {
      tun.close();
      throw new Error(`cannot configure TUN ${c.tunName}: ${e instanceof Error ? e.message : String(e)}`);
    }
    await setTxqueuelen(tun, c.txqueuelen, c.tunNetns, opts.log);
    // ICMP "fragmentation needed" for packets above a client's MRU comes from the LNS address.
    try {
      await tun.acceptLocalSource(c.tunNetns);
    } catch (e) {
      opts.log.warn(
        { tun: tun.name, err: e instanceof Error ? e.message : String(e) },
        `TUN ${tun.name}: cannot set accept_local; the kernel will drop our ICMP "fragmentation needed" (path MTU discovery to clients with a small MRU fails)`,
      );
    }
    return new LnsAccess(opts, tun);
  }

  /** The TUN's kernel queue drops (undefined when it lives in another network namespace). */
  tunDrops(): { readonly name: string; readonly txqueuelen?: number; readonly txDropped: number; readonly rxDropped: number } | undefined {
    if (this.opts.config.tunNetns !== undefined) return undefined;
    const d = readDeviceDrops(this.tun.name);
    if (d === undefined) return undefined;
    return { name: this.tun.name, ...(d.txqueuelen !== undefined ? { txqueuelen: d.txqueuelen } : {}), txDropped: d.txDropped, rxDropped: d.rxDropped };
  }

  /** The TUN name. */
  get tunName(): string {
    return this.tun.name;
  }

  /** Terminate PPP on sessions of `ep`'s engine that `accept` allows (not our own LAC tunnels). */
  attach(ep: UdpEndpoint, accept: (tunnel: TunnelId) => boolean, data: { readonly fastPath: boolean; readonly dataSequencing: boolean } = { fastPath: false, dataSequencing: false }): void {
    const c = this.opts.config;
    this.fast = data.fastPath ? this.openFastPath(ep, data.dataSequencing) : undefined;
    const journal = this.openJournal();
    const server = new AccessServer(ep.engine, {
      random: this.opts.random,
      users: this.users,
      ipv4Pool: c.ipv4Pool,
      localAddress: c.localAddress,
      ...(c.ipv6Prefix !== undefined ? { ipv6Prefix: c.ipv6Prefix } : {}),
      auth: authProtocols(c.auth),
      mru: c.mru,
      dns: c.dns ?? [],
      nbns: c.nbns,
      echoInterval: c.echoInterval,
      echoFailure: c.echoFailure,
      echoRate: c.echoRate,
      forceLcpRenegotiation: c.forceLcpRenegotiation,
      mssClamp: c.mssClamp,
      mtu: c.mtu,
      hostRoutes: c.hostRoutes,
      ...(c.namedPools !== undefined ? { namedPools: c.namedPools } : {}),
      ...(this.opts.aaa !== undefined ? { aaa: this.opts.aaa } : {}),
      accept: (tunnel) => accept(tunnel),
      // The data fast path ends here: inbound IP goes from the session sinks straight to the TUN.
      tun: this.tun,
      ...(this.fast !== undefined ? { fastPath: this.fast } : {}),
      ...(journal !== undefined ? { leaseObserver: journal.journal } : {}),
    });
    this.server = server;
    if (journal !== undefined) this.holdLeases(server, journal.holds);
    this.endpoint = ep;
    this.pump = accessPump(server, ep, this.opts, (e) => {
      this.logEvent(e);
      if (e.type === 'kernel-routes') this.kernelRoutes(e);
      this.opts.onAccessEvent?.(e);
    });
    this.unfollow = ep.follow(this.pump);
    this.fast?.onKeepaliveDead((tunnel, session, misses) => this.pump?.run((now) => server.keepaliveDead(now, tunnel, session, misses)));
    this.tun.onPackets((batch) => {
      this.fromTun(batch);
    });
    this.tun.onError((e) => {
      this.opts.log.warn({ tun: this.tun.name, err: e.message }, `TUN ${this.tun.name}: ${e.message}`);
    });
  }

  /** `[dataplane] fast_path`: attach the addon's fast path, or say (once, at start) why every packet stays in JS. */
  private openFastPath(ep: UdpEndpoint, dataSequencing: boolean): FastPathAttach | undefined {
    const log = this.opts.log;
    const r = dataSequencing ? { ok: false as const, error: '[l2tp] data_sequencing = true (sequenced data is the JavaScript path\'s)' } : FastPathAttach.open(ep, this.tun, this.opts.fastThreads ?? 0, this.opts.keepaliveOffload === true);
    if (!r.ok) {
      log.warn({ listener: ep.label, tun: this.tun.name, reason: r.error }, `data fast path off: ${r.error}; every data packet goes through JavaScript`);
      return undefined;
    }
    const st = r.value.stats();
    log.info({ listener: ep.label, tun: this.tun.name, threads: st.threads, udpSteering: st.udpSteering, tunSteering: st.tunSteering, keepaliveOffload: r.value.keepaliveOffload, ...(r.value.threadError !== undefined ? { threadError: r.value.threadError } : {}) },
      `data fast path on: IPv4/IPv6 data of established sessions moves natively between ${ep.label} and ${this.tun.name} (${st.threads === 0 ? 'on the JavaScript thread' : `${st.threads} data threads`})`);
    return r.value;
  }

  /**
   * ESP in the fast path (issue 16 item 3): the L2TP/IPsec listener's NAT-T socket joins the fast path
   * and its gate offers the SA pairs of new child SAs to it; said once at start either way.
   */
  attachEsp(io: Pick<IpsecL2tp, 'gate' | 'nattNative'>): void {
    const log = this.opts.log;
    const why = this.fast === undefined ? 'the data fast path is off' : io.nattNative === undefined ? 'the NAT-T socket is not the addon\'s' : undefined;
    const r = this.fast !== undefined && io.nattNative !== undefined ? this.fast.attachEsp(io.nattNative) : undefined;
    if (r === undefined || !r.ok) {
      const reason = r !== undefined && !r.ok ? r.error : (why ?? 'unknown');
      log.warn({ reason }, `ESP fast path off: ${reason}; L2TP/IPsec data goes through JavaScript`);
      return;
    }
    io.gate.setEspOffload(r.value);
    log.info({ nattPort: io.nattNative?.local.port }, 'ESP fast path on: ESP-in-UDP data of L2TP/IPsec sessions (AES-GCM-16, AES-CBC + HMAC-SHA1/SHA256) is opened and sealed natively');
  }

  /** ESP counters of the native fast path (undefined when it does not carry ESP). */
  fastPathEspStats(): NativeEspStats | undefined {
    return this.fast?.espStats();
  }

  /** Counters of the native fast path (undefined when off). */
  fastPathStats(): NativeFastPathStats | undefined {
    return this.fast?.stats();
  }

  /**
   * The fast path's totals of every installed session (packets/bytes each way, to JS and drops by
   * reason; every data thread summed), undefined when the fast path is off. For show commands and
   * metrics: one native call for all sessions.
   */
  fastPathSessions(): FastSessionCounters[] | undefined {
    return this.fast?.allSessionCounters();
  }

  /** The fast path's session counters summed per tunnel (FastPathAttach.tunnelSumsSliced: a slice of the table per turn), undefined when off. */
  async fastPathTunnelSums(): Promise<Map<number, Float64Array> | undefined> {
    return this.fast?.tunnelSumsSliced();
  }

  /** One session's fast-path totals (undefined when off or not offloaded). */
  fastPathSession(tunnel: TunnelId, session: SessionId): FastSessionCounters | undefined {
    return this.fast?.sessionCounters(tunnel, session);
  }

  /** Whether `ep` is the endpoint PPP is terminated on. */
  serves(ep: UdpEndpoint): boolean {
    return this.endpoint === ep;
  }

  /** One engine event of the served endpoint (control only: data reaches the server through its sinks). */
  onL2tpEvent(e: L2tpEvent): void {
    // Control messages, retransmits...: nothing for the server (AccessServer.handleL2tpEvent), no pump turn.
    if (!ACCESS_L2TP_EVENTS.has(e.type)) return;
    const s = this.server;
    this.pump?.run((now) => s?.handleL2tpEvent(now, e));
  }

  /** Per-session PPP info for show commands, by (tunnel, session). */
  sessionInfo(): Map<string, AccessSessionInfo> {
    const m = new Map<string, AccessSessionInfo>();
    for (const i of this.server?.snapshot() ?? []) m.set(`${i.tunnel}/${i.session}`, i);
    return m;
  }

  /** One session's PPP info (views built one tunnel at a time). */
  sessionInfoOf(tunnel: number, session: number, sync = true): AccessSessionInfo | undefined {
    return this.server?.sessionInfoOf(tunnel, session, sync);
  }

  /** One session's fast-path share (packets and octets each way) for the payload ledger, undefined if none. */
  fastCountersOf(tunnel: number, session: number, sync = true): DataCounters | undefined {
    return this.server?.fastCountersOf(tunnel, session, sync);
  }

  /**
   * Sync every offloaded session's fast-path counters with the addon's bulk take, a slice of its table
   * per event-loop turn (issue 15: not one native call per session); false when the addon cannot (then
   * {@link fastCountersOf} syncs per session).
   */
  async syncFastAll(): Promise<boolean> {
    if (this.fast === undefined) return true;
    const slices = this.fast.takeAllSlices();
    if (slices === undefined) return false;
    for await (const rows of slices) this.server?.foldFastRows(rows);
    return true;
  }

  /** Pool and session totals. */
  stats(): ReturnType<AccessServer['stats']> | undefined {
    return this.server?.stats();
  }

  /** Oversized packets toward clients (ICMP / fragments), since start. */
  tooBig(): AccessServer['tooBig'] | undefined {
    return this.server === undefined ? undefined : { ...this.server.tooBig };
  }

  /** Run `op` on the access server inside its pump (what it queues goes out after); undefined before `attach`. */
  run<T>(op: (now: Instant, server: AccessServer) => T): T | undefined {
    const s = this.server;
    const p = this.pump;
    return s === undefined || p === undefined ? undefined : p.run((now) => op(now, s));
  }

  /** Administrative disconnect (LCP Terminate, then CDN). */
  disconnect(tunnel: TunnelId, session: SessionId): boolean {
    const s = this.server;
    return this.pump?.run((now) => s?.disconnect(now, tunnel, session) ?? false) ?? false;
  }

  /** The decision for an `auth-request` (RADIUS shell). */
  authResult(tunnel: number, session: number, r: AccessAuthResult): void {
    const s = this.server;
    this.pump?.run((now) => s?.authResult(now, tunnel as TunnelId, session as SessionId, r));
  }

  /** The RFC 5176 session table, each operation run on this server's pump (its CDN and records go out after). */
  daeTable(): DaeSessionTable<number> {
    const run = <T>(op: (now: Instant, t: DaeSessionTable<number>) => T, none: T): T => {
      const t = this.server?.daeSessions;
      return t === undefined ? none : (this.pump?.run((now) => op(now, t)) ?? none);
    };
    return {
      find: (id) => this.server?.daeSessions.find(id) ?? [],
      disconnect: (_now, key) => run((now, t) => t.disconnect(now, key), { ok: false, errorCause: 503 }),
      change: (_now, key, c) => run((now, t) => t.change(now, key, c), { ok: false, errorCause: 503 }),
    };
  }

  /** Shutdown is starting: our StopCCNs end sessions with Acct-Terminate-Cause Admin-Reboot. */
  prepareShutdown(): void {
    this.server?.prepareShutdown();
  }

  /** Routes the kernel must send into the TUN (Framed-Route, Delegated-IPv6-Prefix, addresses outside the pools). */
  private kernelRoutes(e: Extract<AccessEvent, { type: 'kernel-routes' }>): void {
    const ns = this.opts.config.tunNetns !== undefined ? ['-n', this.opts.config.tunNetns] : [];
    for (const p of e.prefixes) {
      // `[tun] route_protocol`: a protocol number a routing daemon (FRR redistribute kernel) can tell our routes by.
      const proto = this.opts.config.routeProtocol !== undefined ? ['proto', String(this.opts.config.routeProtocol)] : [];
      const args = [...ns, ...(p.includes(':') ? ['-6'] : []), 'route', e.op === 'add' ? 'replace' : 'del', p, 'dev', this.tun.name, ...proto];
      this.ipChain = this.ipChain.then(() =>
        runIp(args).then(
          () => undefined,
          (err: unknown) => {
            this.opts.log.warn({ tunnel: e.tunnel, session: e.session, prefix: p, err: String(err) }, `PPP[${e.tunnel}/${e.session}] ip route ${e.op} ${p} failed: ${String(err)}`);
          },
        ),
      );
    }
  }

  /** SIGHUP: re-read the users file; a broken file keeps the old table and logs every bad line. */
  async reloadUsers(): Promise<boolean> {
    const path = this.opts.config.usersFile;
    if (path === undefined) return true;
    const r = await loadUsers(path, this.opts.config);
    if (!r.ok) {
      for (const e of r.error) this.opts.log.error(`users reload: ${e}`);
      this.opts.log.error(`users reload failed: keeping the previous ${this.users.size} user(s)`);
      return false;
    }
    this.users.replace(r.value);
    this.opts.log.info({ users: r.value.size }, `users reloaded from ${path}: ${r.value.size} user(s)`);
    return true;
  }

  /** The lease journal of `[pool] lease_hold` (none when 0 or without a state directory). */
  private openJournal(): { journal: LeaseJournal; holds: TimedHold[] } | undefined {
    const dir = this.opts.stateDir;
    const hold = this.opts.config.leaseHold;
    if (dir === undefined || dir === null || hold <= 0) return undefined;
    const log = this.opts.log;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const r = LeaseJournal.open(join(dir, LEASE_JOURNAL_FILE), hold, () => Date.now(), (e) => log.warn({ err: e.message }, `lease journal: ${e.message} (leases are no longer recorded)`));
      if (r.bad > 0) log.warn({ path: r.journal.path, bad: r.bad }, `lease journal ${r.journal.path}: ${r.bad} unreadable line(s) skipped`);
      this.journal = r.journal;
      return r;
    } catch (e) {
      log.warn({ err: e instanceof Error ? e.message : String(e) }, `lease journal: cannot open it in ${dir}: ${e instanceof Error ? e.message : String(e)}; a restart may re-hand addresses of live clients`);
      return undefined;
    }
  }

  /** Hold the previous run's leases for their users; each goes back to the pool at its time. */
  private holdLeases(server: AccessServer, holds: readonly TimedHold[]): void {
    if (holds.length === 0) return;
    const n = server.holdLeases(holds);
    this.opts.log.info({ held: n, until: new Date(holds.at(-1)?.until ?? 0).toISOString() }, `lease journal: ${n} address(es) of the previous run held for their users (lease_hold)`);
    let next = 0;
    const arm = (): void => {
      const h = holds[next];
      if (h === undefined) return;
      this.holdTimer = setTimeout(() => {
        const now = Date.now();
        this.pump?.run(() => {
          for (let x = holds[next]; x !== undefined && x.until <= now; x = holds[++next]) server.unholdLease(x.address);
        });
        arm();
      }, Math.max(0, h.until - Date.now()));
      this.holdTimer.unref();
    };
    arm();
  }

  /** Close the TUN. */
  close(): void {
    clearTimeout(this.holdTimer);
    this.journal?.close();
    this.unfollow?.();
    this.pump?.close();
    this.fast?.close();
    this.tun.close();
  }

  /** One batch read from the TUN: routed to sessions, encapsulated, sent (the outbound data path). */
  private fromTun(batch: PacketBatch): void {
    const s = this.server;
    if (s === undefined) return;
    this.pump?.run((now) => {
      for (let i = 0; i < batch.count; i++) s.handleTunPacket(now, batch.packet(i));
    });
  }

  private logEvent(e: AccessEvent): void {
    const log = this.opts.log;
    // Most events of a set-up log at debug or info: nothing is formatted for a level that is off.
    const level = accessEventLevel(e.type);
    if (level === undefined || !log.isLevelEnabled(level)) return;
    const id = `${e.tunnel}/${e.session}`;
    switch (e.type) {
      case 'login':
        log.info({ tunnel: e.tunnel, session: e.session, user: e.username, address: e.address, auth: e.method }, `PPP[${id}] ${e.username ?? '-'} logged in, address ${e.address}`);
        break;
      case 'ipv6-up':
        log.info({ tunnel: e.tunnel, session: e.session, user: e.username, prefix: e.prefix }, `PPP[${id}] IPv6 up, prefix ${e.prefix ?? 'none'}`);
        break;
      case 'logout': {
        const w = logoutWords(e);
        log.info({ tunnel: e.tunnel, session: e.session, user: e.username, address: e.address, reason: e.reason, by: w.by, ...e.counters }, `PPP[${id}] ${w.text}`);
        break;
      }
      case 'auth-failure':
        log.warn({ tunnel: e.tunnel, session: e.session, user: e.username, auth: e.method, reason: e.reason }, `PPP[${id}] authentication failed for ${e.username} (${e.method}: ${e.reason})`);
        break;
      case 'address-unavailable':
        log.warn({ tunnel: e.tunnel, session: e.session, user: e.username, reason: e.reason, pool: e.pool }, `PPP[${id}] no IPv${e.family} address for ${e.username ?? '-'}: ${e.reason}${e.pool !== undefined ? ` (pool "${e.pool}")` : ''}`);
        break;
      case 'session-expired':
        log.info({ tunnel: e.tunnel, session: e.session, reason: e.reason }, `PPP[${id}] ${e.reason === 'session-timeout' ? 'Session-Timeout' : 'Idle-Timeout'} reached: closing`);
        break;
      case 'auth-request':
      case 'accounting':
        break;
      case 'ppp':
        log.debug({ tunnel: e.tunnel, session: e.session, ppp: e.event.type }, `PPP[${id}] ${e.event.type}`);
        break;
      default:
        log.debug({ tunnel: e.tunnel, session: e.session }, `PPP[${id}] ${e.type}`);
    }
  }
}

/** The level `LnsAccess.logEvent` logs an access event at (undefined = never logged). */
function accessEventLevel(type: AccessEvent['type']): 'info' | 'warn' | 'debug' | undefined {
  switch (type) {
    case 'login':
    case 'ipv6-up':
    case 'logout':
    case 'session-expired':
      return 'info';
    case 'auth-failure':
    case 'address-unavailable':
      return 'warn';
    case 'auth-request':
    case 'accounting':
      return undefined;
    default:
      return 'debug';
  }
}

/** Options of one dial-out client. */
export interface LacPppClientOptions {
  readonly name: string;
  readonly config: LacPppConfig;
  readonly log: Logger;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly timers: TimerDriver;
}

/** `[[lac]] ppp = true`: an AccessClient per dialed session, bound to the LAC's TUN. */
export class LacPppClient {
  private client: AccessClient | undefined;
  private endpoint: UdpEndpoint | undefined;
  private pump: Pump<Transmit, AccessClientEvent> | undefined;
  private unfollow: (() => void) | undefined;
  /** `ip` commands run one after another (address after flush, ...). */
  private ipChain: Promise<void> = Promise.resolve();
  /** The last IPv4 address configured on the TUN. */
  address: string | undefined;

  private constructor(
    private readonly opts: LacPppClientOptions,
    private readonly tun: TunDevice,
  ) {
    tun.onPackets((batch) => {
      const c = this.client;
      if (c === undefined) return;
      this.pump?.run((now) => {
        for (let i = 0; i < batch.count; i++) c.handleTunPacket(now, batch.packet(i));
      });
    });
    tun.onError((e) => {
      this.opts.log.warn({ tun: tun.name, err: e.message }, `TUN ${tun.name}: ${e.message}`);
    });
  }

  /** Open the client's TUN (link up, no address until IPCP). */
  static async open(opts: LacPppClientOptions): Promise<LacPppClient> {
    const tun = openTun(opts.config.tun);
    try {
      if (opts.config.tunNetns !== undefined) await tun.moveToNetns(opts.config.tunNetns);
      await tun.configure({ up: true, ...(opts.config.tunNetns !== undefined ? { netns: opts.config.tunNetns } : {}) });
    } catch (e) {
      tun.close();
      throw e;
    }
    return new LacPppClient(opts, tun);
  }

  /** Start PPP on a freshly placed session. */
  attach(ep: UdpEndpoint, tunnel: TunnelId, session: SessionId): void {
    this.detach();
    const cfg = this.opts.config;
    const client = new AccessClient(ep.engine, { random: this.opts.random, tunnel, session, username: cfg.username, password: cfg.password, tun: this.tun });
    this.client = client;
    this.endpoint = ep;
    this.pump = accessPump(client, ep, this.opts, (e) => {
      this.onEvent(e);
    });
    this.unfollow = ep.follow(this.pump);
  }

  /** One engine event of the LAC's endpoint (control only: data reaches the client through its sink). */
  onL2tpEvent(ep: UdpEndpoint, e: L2tpEvent): void {
    const c = this.client;
    if (c === undefined || ep !== this.endpoint) return;
    this.pump?.run((now) => {
      c.handleL2tpEvent(now, e);
    });
  }

  /** State for show commands. */
  get info(): AccessClient['info'] | undefined {
    return this.client?.info;
  }

  /** Hang up (LCP Terminate then CDN). */
  hangup(now: Instant): void {
    const c = this.client;
    this.pump?.run(() => c?.close(now));
  }

  /** Close the TUN. */
  close(): void {
    this.detach();
    this.tun.close();
  }

  private detach(): void {
    this.unfollow?.();
    this.unfollow = undefined;
    this.pump?.close();
    this.pump = undefined;
    this.client = undefined;
  }

  private onEvent(e: AccessClientEvent): void {
    const { log, name } = this.opts;
    const ns = this.opts.config.tunNetns !== undefined ? ['-n', this.opts.config.tunNetns] : [];
    const ip = (args: string[]): void => {
      this.ipChain = this.ipChain.then(
        () =>
          runIp([...ns, ...args]).then(
            () => undefined,
            (err: unknown) => {
              log.warn({ lac: name, err: String(err) }, `LAC ${name}: ip ${args.join(' ')} failed: ${String(err)}`);
            },
          ),
      );
    };
    switch (e.type) {
      case 'up':
        this.address = e.address;
        log.info({ lac: name, address: e.address, peer: e.peer, dns: e.dns }, `LAC ${name}: PPP up, address ${e.address} peer ${e.peer}`);
        ip(['addr', 'flush', 'dev', this.tun.name]);
        ip(['link', 'set', 'dev', this.tun.name, 'mtu', String(e.mtu)]);
        ip(['addr', 'add', e.address, 'peer', e.peer, 'dev', this.tun.name]);
        break;
      case 'ipv6-address':
        log.info({ lac: name, address: e.address }, `LAC ${name}: IPv6 address ${e.address}`);
        ip(['-6', 'addr', 'add', `${e.address}/64`, 'dev', this.tun.name]);
        break;
      case 'auth-failure':
        log.warn({ lac: name, auth: e.method, reason: e.reason }, `LAC ${name}: PPP authentication failed (${e.method}: ${e.reason})`);
        break;
      case 'down':
        log.info({ lac: name, reason: e.reason, by: e.by }, `LAC ${name}: PPP down (${e.reason}, by ${e.by})`);
        this.address = undefined;
        ip(['addr', 'flush', 'dev', this.tun.name]);
        break;
      case 'ppp':
        log.debug({ lac: name, ppp: e.event.type }, `LAC ${name}: PPP ${e.event.type}`);
        break;
      default:
        break;
    }
  }
}

/**
 * The pump of an access core (server or dial-out client) on endpoint `ep`: its transmits go out of
 * `ep`, its events to `onEvent`, its timer on the shared driver; after it delivered events, the
 * engine is drained in a microtask (a CDN it queued there goes out).
 */
function accessPump<E>(
  core: PolledCore<Transmit, E>,
  ep: UdpEndpoint,
  o: { readonly clock: Clock; readonly timers: TimerDriver; readonly log: Logger },
  onEvent: (e: E) => void,
): Pump<Transmit, E> {
  return new Pump<Transmit, E>(core, {
    clock: o.clock,
    timers: o.timers,
    transmit: (t) => {
      ep.send(t);
    },
    event: onEvent,
    onError: (e) => {
      o.log.error({ err: e }, 'access handler failed');
    },
    // Data frames leave nothing in the engine; a CDN the core queued there always comes with an
    // event of the core (logout / down), so only then is the engine drained (in a microtask).
    after: (_transmits, events) => {
      if (events > 0) ep.kick();
    },
  });
}
