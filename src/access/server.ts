/**
 * The remote-access LNS: one authenticator `PppLink` per L2TP session (RFC 2661 §1: the LNS
 * terminates PPP), one shared TUN device for every session's IP traffic, an IPv4 pool, a /64 per
 * session for IPv6 (RFC 4861 RA + RFC 4862 SLAAC over RFC 5072 IPV6CP).
 *
 * Sans-I/O. The shell:
 *   - forwards every `L2tpEngine` event to `handleL2tpEvent(now, ev)`;
 *   - gives every packet read from the TUN to `handleTunPacket(now, pkt)`;
 *   - binds its TUN device as `tun` (a `TunWriter`), or writes `pollTunWrite()` packets to it;
 *   - sends `pollTransmit()` datagrams on the engine's UDP socket;
 *   - calls `handleTimeout(now)` at `pollAt()`;
 *   - maps `pollEvent()` events to logs and metrics.
 * Inbound data never passes the shell: when a session starts, the server binds a data sink on the
 * engine (`bindSession`), and each PPP frame goes engine -> sink -> `PppLink` -> ingress filter and
 * MSS clamp -> `tun`, with no event. Control messages (CDN) that this object causes come out of the
 * engine's own `pollTransmit()`.
 *
 * Teardown is linked both ways: PPP link-down -> CDN (with RFC 3145 PPP Disconnect Cause); L2TP
 * session or tunnel gone -> PPP lower-down. Every path ends in `teardown`, which removes routes and
 * releases the IPv4 lease and the IPv6 /64.
 */
import { addDuration, DeadlineHeap, millis, SlotPacer, earliest, formatIpv4, formatIpv6, type Instant, parseIpv4, parseIpv6, prefix64Bytes, seconds, type Timed } from '../base/index.js';
import { type CloseReason, type L2tpEvent, type Transmit } from '../l2tp/index.js';
import type { SessionId, TunnelId } from '../wire/l2tp/index.js';
import { type AuthProtocol, DEFAULT_LCP, linkLocalAddress, type PppEvent, PppLink, type PppLinkConfig, type ProxyLcp } from '../ppp/index.js';
import { Ipv4Pool, Ipv4PoolSet } from '../aaa/index.js';
import type { AccountingRecord, CoaChanges, DaeActionResult, DaeSessionIdentity, DaeSessionTable } from '../aaa/radius/index.js';
import { SessionRoutes, clampMss, mssForMtu } from '../dataplane/index.js';
import { AddressBook, SessionAddressPool, type HeldLease } from './directory.js';
import { Ipv6PrefixPool } from './ipv6.js';
import { cdnFor, type AccessEndReason } from './disconnect.js';
import { TunQueue, type TunWriter } from './tun-writer.js';
import type { AccessCounters, AccessEngine, AccessEvent, AccessServerConfig, AccessSessionInfo, AccessStats, TooBigCounters } from './server-types.js';
import { AccessAaa, NO_AUTHORIZATION, type AccessAuthResult, type CallInfo } from './aaa/index.js';
import { l2tpLower, type SessionLower } from './lower.js';
import { addIpv4Extras, addIpv6Extras, noExtras, removeExtras } from './extra-routes.js';
import { capMtu, inIpv6Pool, keyOfNasPort, PEER_ENDINGS, SessionSink, sessionInfo, sessionKey, type Session, type TunnelCall } from './server-session.js';
import { addFastCounters, fastPathEntry, foldTakenRows, offloadKeepalive, showKeepaliveMisses, withdrawKeepalive } from './fast-path.js';
import { SessionDataPlane } from './session-data.js';
import { buildLinkConfig } from './link-config.js';
import { ipVersion } from '../wire/ip/index.js';

export type { AccessCounters, AccessEngine, AccessEvent, AccessServerConfig, AccessSessionInfo, AccessStats, TooBigCounters } from './server-types.js';

/** The tunnel of sessions that are not L2TP (PPPoE): 0 is never an L2TP Tunnel ID (RFC 2661 §3.1). */
export const LOWER_TUNNEL = 0 as TunnelId;

/**
 * Defaults of `AccessServerConfig`: the LNS demands MS-CHAPv2 then CHAP-MD5, LCP's MRU and echo
 * from RFC 1661 (`DEFAULT_LCP`), MSS clamping on, RFC 4861 §6.2.1 MaxRtrAdvInterval 600 s. The
 * daemon's config schema takes its defaults from here.
 */
export const ACCESS_SERVER_DEFAULTS = {
  auth: ['mschapv2', 'chap-md5'] as readonly AuthProtocol[],
  mru: DEFAULT_LCP.mru,
  echoInterval: DEFAULT_LCP.echoInterval,
  echoFailure: DEFAULT_LCP.echoFailure,
  echoRate: 5000,
  mssClamp: true,
  raInterval: seconds(600),
  lcpStartDelay: seconds(1),
} as const;

/** The remote-access LNS over one L2TP engine, and the BRAS over PPPoE sessions (`openLower`). */
export class AccessServer implements Timed {
  private readonly sessions = new Map<number, Session>();
  /** The IPCP settings every link shares (one object, not one per session). */
  private ipcpShared: { readonly localAddress: string; readonly dns?: readonly string[]; readonly nbns?: readonly string[] } | undefined;
  private readonly linkConfigs = new Map<string, PppLinkConfig>(); // shared per MRU and framing
  private readonly routes = new SessionRoutes<Session>();
  private readonly book: AddressBook;
  private readonly prefixes: Ipv6PrefixPool | undefined;
  private readonly timers = new DeadlineHeap();
  private readonly tx: Transmit[] = [];
  private txHead = 0;
  /** Packets for the TUN: the shell's writer, or our own queue (`pollTunWrite`). */
  private readonly tun: TunWriter;
  private readonly tunQueue: TunQueue | undefined;
  private readonly local4: number;
  /** `local4` as IPCP wants it. */
  private readonly localText: string;
  /** Per-packet work: ingress filter, MSS clamp, too-big, RA (session-data.ts). */
  private readonly data: SessionDataPlane;
  private readonly events: AccessEvent[] = [];
  private readonly tunnels = new Map<TunnelId, TunnelCall>();
  /** The AAA part (RADIUS identity, timers, accounting), when configured. */
  private readonly aaa: AccessAaa | undefined;
  private shuttingDown = false;
  /** Echo misses and echo-timeouts over all sessions since start (see {@link AccessStats}). */
  private echoMissTotal = 0;
  private echoTimeoutTotal = 0;
  /** One pacer for every session's LCP echo: 10 ms windows of `echoRate / 100` (undefined = unpaced). */
  readonly echoPacer: SlotPacer | undefined;
  /** The next id to try for a session over another lower layer (`openLower`). */
  private nextLowerId = 1;

  /** Oversized packets toward clients (see {@link TooBigCounters}). */
  get tooBig(): TooBigCounters {
    return this.data.tooBig;
  }

  /** Build an LNS over `engine` with typed settings (nothing is parsed again here). */
  constructor(
    private readonly engine: AccessEngine,
    private readonly cfg: AccessServerConfig,
  ) {
    this.local4 = cfg.localAddress;
    this.localText = formatIpv4(cfg.localAddress);
    const named = new Map([...(cfg.namedPools ?? [])].map(([name, p]) => [name, new Ipv4Pool(p, [cfg.localAddress])] as const));
    this.book = new AddressBook(new Ipv4PoolSet(new Ipv4Pool(cfg.ipv4Pool, [cfg.localAddress]), named), cfg.users, cfg.leaseObserver);
    this.aaa = cfg.aaa !== undefined ? new AccessAaa(cfg.aaa, cfg.random) : undefined;
    this.prefixes = cfg.ipv6Prefix !== undefined ? new Ipv6PrefixPool(cfg.ipv6Prefix) : undefined;
    this.tunQueue = cfg.tun === undefined ? new TunQueue() : undefined;
    this.tun = cfg.tun ?? (this.tunQueue as TunQueue);
    this.data = new SessionDataPlane({
      tun: this.tun,
      local4: cfg.localAddress,
      mssClamp: cfg.mssClamp ?? ACCESS_SERVER_DEFAULTS.mssClamp,
      mtu: cfg.mtu,
      dns6: (cfg.dns6 ?? []).map(parseIpv6).filter((a): a is Uint8Array => a !== undefined),
      raInterval: cfg.raInterval ?? ACCESS_SERVER_DEFAULTS.raInterval,
    });
    const rate = cfg.echoRate ?? ACCESS_SERVER_DEFAULTS.echoRate;
    this.echoPacer = rate > 0 ? new SlotPacer(millis(10), Math.max(1, Math.ceil(rate / 100))) : undefined;
  }

  // ------------------------------------------------------------------ shell surface

  /** Feed one L2TP engine event; events of sessions this server does not serve are ignored. */
  handleL2tpEvent(now: Instant, ev: L2tpEvent): void {
    switch (ev.type) {
      case 'tunnel-established':
        this.tunnels.set(ev.tunnel, { peer: ev.peer, remoteTunnel: ev.remoteTunnel, remoteHostName: ev.remoteHostName, closing: undefined });
        break;
      case 'tunnel-closing': {
        const t = this.tunnels.get(ev.tunnel);
        if (t !== undefined) t.closing = ev.reason;
        break;
      }
      case 'session-established':
        if (this.cfg.accept === undefined || this.cfg.accept(ev.tunnel, ev.session)) this.start(now, ev);
        break;
      case 'session-closed': {
        const s = this.sessions.get(sessionKey(ev.tunnel, ev.session));
        // A session closed with its tunnel carries the tunnel's reason (HELLO timeout, StopCCN, ...).
        const tunnelReason = ev.reason.cause === 'tunnel-closed' ? this.tunnels.get(ev.tunnel)?.closing : undefined;
        if (s !== undefined) this.lowerDown(now, s, tunnelReason ?? ev.reason);
        break;
      }
      case 'tunnel-closed':
        // The engine reports each session first; this catches any left (robustness).
        for (const s of [...this.sessions.values()]) if (s.tunnel === ev.tunnel) this.lowerDown(now, s, ev.reason);
        this.tunnels.delete(ev.tunnel);
        break;
      default:
        break;
    }
  }

  /** One IP packet read from the TUN: routed by destination to its session. Returns whether it was sent. */
  handleTunPacket(now: Instant, pkt: Uint8Array): boolean {
    const s = this.routes.lookup(pkt);
    if (s === undefined) return false;
    const v = ipVersion(pkt);
    if (v === undefined) return false;
    if (this.cfg.mssClamp ?? ACCESS_SERVER_DEFAULTS.mssClamp) clampMss(pkt, 0, pkt.length, v === 4 ? s.mss4 : s.mss6);
    return this.data.toClient(now, s, pkt, v);
  }

  /** Next UDP datagram (L2TP data message) to send. */
  pollTransmit(): Transmit | undefined {
    if (this.txHead >= this.tx.length) return undefined;
    const t = this.tx[this.txHead++];
    if (this.txHead === this.tx.length) {
      this.tx.length = 0;
      this.txHead = 0;
    }
    return t;
  }

  /** Next IP packet for the TUN device (only without a `tun` writer in the config). */
  pollTunWrite(): Uint8Array | undefined {
    return this.tunQueue?.poll();
  }

  /** Next event. */
  pollEvent(): AccessEvent | undefined {
    return this.events.shift();
  }

  /** Earliest timer of any session (PPP restart/echo/auth timers, periodic RAs, AAA timers). */
  pollAt(): Instant | undefined {
    const aaa = this.aaa?.pollAt();
    for (;;) {
      const at = this.timers.peekAt();
      if (at === undefined) return aaa;
      const s = this.sessions.get(this.timers.peekKey() ?? -1);
      if (s !== undefined && s.scheduled === at) return earliest(at as Instant, aaa);
      this.timers.pop();
    }
  }

  /** Run every session timer due at `now`. */
  handleTimeout(now: Instant): void {
    const due: Session[] = [];
    for (;;) {
      const at = this.timers.peekAt();
      if (at === undefined || at > now) break;
      const s = this.sessions.get(this.timers.peekKey() ?? -1);
      this.timers.pop();
      if (s === undefined || s.scheduled !== at) continue;
      s.scheduled = undefined;
      due.push(s);
    }
    for (const s of due) {
      if (!this.sessions.has(s.key)) continue;
      if (s.openAt !== undefined && s.openAt <= now) this.openIfWaiting(now, s);
      s.link.handleTimeout(now);
      if (s.nextRaAt !== undefined && s.nextRaAt <= now) this.data.sendRa(now, s);
      this.pump(now, s);
    }
    if (this.aaa !== undefined) this.aaaTimeout(now, this.aaa);
  }

  /** Interim-Update records, and sessions whose Session-Timeout / Idle-Timeout ran out (LCP Terminate, CDN). */
  private aaaTimeout(now: Instant, aaa: AccessAaa): void {
    const records: AccountingRecord[] = [];
    for (const s of this.sessions.values()) this.syncFast(s); // Interim octets and Idle-Timeout see the fast path's packets
    const expired = aaa.handleTimeout(now, records);
    for (const record of records) {
      const s = record.session?.nasPort !== undefined ? this.sessions.get(keyOfNasPort(record.session.nasPort)) : undefined;
      if (s !== undefined) this.events.push({ type: 'accounting', tunnel: s.tunnel, session: s.session, record });
    }
    for (const x of expired) {
      const s = this.sessions.get(x.key);
      if (s === undefined) continue;
      this.events.push({ type: 'session-expired', tunnel: s.tunnel, session: s.session, reason: x.reason });
      s.endReason ??= x.reason;
      s.link.close(now, 'admin-close');
      this.pump(now, s);
    }
  }

  /**
   * The decision for a session's `auth-request` (AAA on): PPP's answer (PAP Ack/Nak, CHAP
   * Success/Failure with the RADIUS Reply-Message, MS-CHAP2 authenticator response) and, on success,
   * the authorization (address hint for IPCP, DNS, routes, MTU, timers). False if nothing waits.
   */
  authResult(now: Instant, tunnel: TunnelId, session: SessionId, r: AccessAuthResult): boolean {
    const s = this.sessions.get(sessionKey(tunnel, session));
    if (s === undefined || !s.authPending) return false;
    s.authPending = false;
    const a = r.authorization;
    if (r.decision.ok && a !== undefined) {
      s.authz = a;
      s.authSource = r.source;
      s.addr.hint = { ...(a.framedAddress !== undefined ? { address: a.framedAddress } : {}), ...(a.framedPool !== undefined ? { pool: a.framedPool } : {}) };
      if (a.mtu !== undefined) capMtu(s, a.mtu);
    }
    s.link.authResult(now, r.decision);
    this.pump(now, s);
    return true;
  }

  /**
   * A session over another lower layer (a PPPoE session, BRAS mode): PPP, leases, routes and AAA
   * exactly as for an L2TP session. It is known as tunnel 0 (never an L2TP Tunnel ID, RFC 2661
   * §3.1) and the session id returned; undefined when all 65535 are in use.
   */
  openLower(now: Instant, lower: SessionLower, call: CallInfo): SessionId | undefined {
    for (let i = 0; i < 0xffff; i++) {
      const id = this.nextLowerId as SessionId;
      this.nextLowerId = id >= 0xffff ? 1 : id + 1;
      if (this.sessions.has(sessionKey(0, id))) continue;
      this.open(now, LOWER_TUNNEL, id, 0 as SessionId, lower, undefined, call);
      return id;
    }
    return undefined;
  }

  /** The lower layer of a session went away (the client's PADT): PPP stops at once, nothing is sent, the lease is freed. */
  lowerGone(now: Instant, tunnel: TunnelId, session: SessionId, reason: AccessEndReason = 'padt-received'): boolean {
    const s = this.sessions.get(sessionKey(tunnel, session));
    if (s === undefined) return false;
    s.endReason ??= reason;
    this.lowerDown(now, s, { by: 'peer', result: { result: 1 }, cause: reason });
    return true;
  }

  /** Daemon shutdown: the sessions our StopCCNs end are reported with Acct-Terminate-Cause Admin-Reboot. */
  prepareShutdown(): void {
    this.shuttingDown = true;
  }

  /** RFC 5176: the session table the Dynamic Authorization server acts on (handles are session keys). */
  get daeSessions(): DaeSessionTable<number> {
    return {
      find: (id: DaeSessionIdentity) => this.aaa?.find(id) ?? [],
      disconnect: (now: Instant, key: number): DaeActionResult => {
        const s = this.sessions.get(key);
        if (s === undefined) return { ok: false, errorCause: 503 };
        this.disconnect(now, s.tunnel, s.session);
        return { ok: true };
      },
      change: (now: Instant, key: number, c: CoaChanges): DaeActionResult => {
        const r = this.aaa?.change(now, key, c) ?? { ok: false, errorCause: 503 };
        const s = this.sessions.get(key);
        if (s !== undefined) this.schedule(s);
        return r;
      },
    };
  }

  /** Administrative disconnect: LCP Terminate-Request, then CDN. False if no such session. */
  disconnect(now: Instant, tunnel: TunnelId, session: SessionId): boolean {
    const s = this.sessions.get(sessionKey(tunnel, session));
    if (s === undefined) return false;
    s.endReason ??= 'admin-close';
    s.link.close(now, 'admin-close');
    this.pump(now, s);
    return true;
  }

  /** Sessions for show commands. */
  snapshot(): readonly AccessSessionInfo[] {
    for (const s of this.sessions.values()) {
      this.syncFast(s);
      showKeepaliveMisses(this.cfg.fastPath, s);
    }
    return [...this.sessions.values()].map((s) => sessionInfo(s, this.aaa?.acctSessionId(s.key)));
  }

  /** One session as `snapshot()` shows it (views built one tunnel at a time, issue 15 item 2); `sync` false after {@link foldFastRows}. */
  sessionInfoOf(tunnel: number, session: number, sync = true): AccessSessionInfo | undefined {
    const s = this.sessions.get(sessionKey(tunnel, session));
    if (s === undefined) return undefined;
    if (sync) this.syncFast(s);
    showKeepaliveMisses(this.cfg.fastPath, s);
    return sessionInfo(s, this.aaa?.acctSessionId(s.key));
  }

  /** One session's fast-path share now (synced unless `sync` is false; undefined if it never was offloaded): a metrics scrape allocates no view. */
  fastCountersOf(tunnel: number, session: number, sync = true): Readonly<AccessCounters> | undefined {
    const s = this.sessions.get(sessionKey(tunnel, session));
    if (sync && s !== undefined) this.syncFast(s);
    return s?.fastCounters;
  }

  /** Fold one slice of the fast path's bulk take (`FastPathAttach.takeAllSlices`, issue 15) into the sessions. */
  foldFastRows = (rows: Float64Array): number => foldTakenRows(rows, (t, s) => this.sessions.get(sessionKey(t, s)));

  /** Totals (the leak checks of the tests use these). */
  stats(): AccessStats {
    const ka = this.cfg.fastPath?.keepaliveTotals?.();
    return {
      sessions: this.sessions.size,
      routes: this.routes.size,
      ipv4InUse: this.book.inUse,
      ipv4Capacity: this.book.pools.capacity,
      ipv4Held: this.book.held,
      ipv6InUse: this.prefixes?.inUse ?? 0,
      ipv6Capacity: this.prefixes?.capacity ?? 0,
      echoMisses: this.echoMissTotal + (ka?.misses ?? 0),
      echoMissing: this.countEchoMissing() + (ka?.missing ?? 0),
      echoTimeouts: this.echoTimeoutTotal,
    };
  }

  /** Sessions whose last Echo-Request is unanswered (a count, no array of 100k sessions per scrape; offloaded ones: the table's). */
  private countEchoMissing(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (!s.echoOffloaded && s.link.echoMisses > 0) n++;
    return n;
  }

  /** Hold a previous run's leases (see `AddressBook.hold`); returns how many were taken. */
  holdLeases(held: readonly HeldLease[]): number {
    return held.filter((h) => this.book.hold(h)).length;
  }

  /** A hold ran out: the address goes back to the pool. */
  unholdLease(address: number): boolean {
    return this.book.unhold(address);
  }

  // ------------------------------------------------------------------ session life

  private start(now: Instant, ev: Extract<L2tpEvent, { type: 'session-established' }>): void {
    const { tunnel, session, remoteSession, proxy: proxyAvps } = ev;
    if (this.sessions.has(sessionKey(tunnel, session))) return;
    const proxy: ProxyLcp | undefined =
      proxyAvps === undefined ? undefined : this.cfg.forceLcpRenegotiation === true ? { ...proxyAvps, forceLcpRenegotiation: true } : proxyAvps;
    const t = this.tunnels.get(tunnel);
    this.open(now, tunnel, session, remoteSession, l2tpLower(this.engine, tunnel, session, this.tx), proxy, {
      ...(t !== undefined ? { peer: t.peer, ...(t.remoteHostName !== undefined ? { remoteHostName: t.remoteHostName } : {}) } : {}),
      ...(ev.callingNumber !== undefined ? { callingNumber: ev.callingNumber } : {}),
      ...(ev.calledNumber !== undefined ? { calledNumber: ev.calledNumber } : {}),
    });
  }

  /** One PPP session over `lower` (L2TP or PPPoE): link, record, AAA, LCP, the sink; `remoteSession` 0 for PPPoE (never offloaded). */
  private open(now: Instant, tunnel: TunnelId, session: SessionId, remoteSession: SessionId, lower: SessionLower, proxy: ProxyLcp | undefined, call: CallInfo): void {
    const key = sessionKey(tunnel, session);
    const owner = lower.info === undefined ? `${tunnel}/${session}` : `pppoe/${session}`;
    const c = this.cfg;
    const addr = new SessionAddressPool(this.book, owner);
    const link = new PppLink(this.linkConfig(lower), proxy !== undefined ? { pool: addr, proxy } : { pool: addr });
    const s: Session = {
      key,
      tunnel,
      session,
      remoteSession,
      lower,
      link,
      addr,
      startedAt: now,
      counters: { rxPackets: 0, rxOctets: 0, txPackets: 0, txOctets: 0, dropped: 0 },
      username: undefined,
      method: undefined,
      loggedInAt: undefined,
      ipv4: undefined,
      lastIpv4: undefined,
      prefix64: undefined,
      routed6: false,
      iids: undefined,
      nextRaAt: undefined,
      scheduled: undefined,
      openAt: undefined,
      endReason: undefined,
      l2tpGone: undefined,
      mss4: 0,
      mss6: 0,
      txMtu: 0,
      authPending: false,
      authz: NO_AUTHORIZATION,
      authSource: 'local',
      extras: noExtras(),
      offloaded: false,
      echoOffloaded: false,
      fastCounters: undefined,
    };
    this.sessions.set(key, s);
    this.aaa?.open(now, s, call);
    const proxied = proxy !== undefined && proxy.forceLcpRenegotiation !== true;
    this.events.push({ type: 'ppp-start', tunnel, session, proxied });
    const delay = c.lcpStartDelay ?? ACCESS_SERVER_DEFAULTS.lcpStartDelay;
    if (proxied || delay <= 0) link.open(now);
    else s.openAt = addDuration(now, delay);
    this.pump(now, s);
    // The data fast path: from here on this session's PPP frames come straight from the engine.
    if (this.sessions.get(key) === s) lower.bind(now, new SessionSink(this.toSession, s));
  }

  /** `fromSession` bound once per server: every session's {@link SessionSink} shares it. */
  private readonly toSession = (now: Instant, s: Session, frame: Uint8Array): void => {
    this.fromSession(now, s, frame);
  };

  /** The link settings of sessions over `lower`, shared per (MRU, Address/Control) (`buildLinkConfig`). */
  private linkConfig(lower: SessionLower): PppLinkConfig {
    const c = this.cfg;
    const mru = Math.min(c.mru ?? ACCESS_SERVER_DEFAULTS.mru, lower.maxMru ?? Number.MAX_SAFE_INTEGER);
    const key = `${mru}|${lower.addressControl}`;
    const hit = this.linkConfigs.get(key);
    if (hit !== undefined) return hit;
    const ipcp = (this.ipcpShared ??= { localAddress: this.localText, ...(c.dns !== undefined ? { dns: c.dns } : {}), ...(c.nbns !== undefined ? { nbns: c.nbns } : {}) });
    const cfg = buildLinkConfig(c, { mru, addressControl: lower.addressControl, ipcp, ipv6: this.prefixes !== undefined, echoPacer: this.echoPacer }, ACCESS_SERVER_DEFAULTS);
    this.linkConfigs.set(key, cfg);
    return cfg;
  }

  /** One PPP frame of a session (the engine's data sink): IP to the TUN, control to the link. */
  private fromSession(now: Instant, s: Session, frame: Uint8Array): void {
    if (!this.sessions.has(s.key)) return;
    this.openIfWaiting(now, s);
    const ip = s.link.handleFrame(now, frame);
    // An IP packet changes no PPP state: only control frames need the link drained.
    if (ip !== undefined) this.data.fromClient(now, s, ip.version, ip.packet);
    else this.pump(now, s);
  }

  /** Start LCP now if it was waiting for the client's first frame or the start delay. */
  private openIfWaiting(now: Instant, s: Session): void {
    if (s.openAt === undefined) return;
    s.openAt = undefined;
    s.link.open(now);
  }

  /** The L2TP session is gone: PPP stops at once, no CDN (RFC 2661 §7.3 clean-up). */
  private lowerDown(now: Instant, s: Session, reason: CloseReason): void {
    s.l2tpGone = reason;
    s.link.lowerDown(now);
    this.pump(now, s);
    if (this.sessions.has(s.key)) this.teardown(now, s);
  }

  /** Drain one link: frames to the engine, events to routes/leases/teardown, then re-arm its timer. */
  private pump(now: Instant, s: Session): void {
    for (let f = s.link.pollTransmit(); f !== undefined; f = s.link.pollTransmit()) {
      if (s.l2tpGone === undefined) s.lower.send(now, f, false);
    }
    for (let e = s.link.pollEvent(); e !== undefined; e = s.link.pollEvent()) {
      this.events.push({ type: 'ppp', tunnel: s.tunnel, session: s.session, event: e });
      if (e.type === 'echo-countdown') this.echoMissTotal++;
      else if (e.type === 'link-down' && e.reason === 'echo-timeout') this.echoTimeoutTotal++;
      this.onPppEvent(now, s, e);
      if (!this.sessions.has(s.key)) return;
    }
    if (s.addr.failure !== undefined && s.endReason === undefined) {
      // IPCP had no address to give: tell the user why and end the call (Terminate, then CDN).
      s.endReason = s.addr.failure;
      const pool = s.addr.hint.pool;
      this.events.push({ type: 'address-unavailable', tunnel: s.tunnel, session: s.session, username: s.username, family: 4, reason: s.addr.failure, ...(pool !== undefined ? { pool } : {}) });
      s.link.close(now, 'admin-close');
      return this.pump(now, s);
    }
    this.schedule(s);
  }

  private onPppEvent(now: Instant, s: Session, e: PppEvent): void {
    switch (e.type) {
      case 'auth-request':
        s.authPending = true;
        this.events.push({ type: 'auth-request', tunnel: s.tunnel, session: s.session, request: e.request, attributes: this.aaa?.attributes(s.key) });
        break;
      case 'auth-success':
        s.username = e.username;
        s.method = e.method;
        this.aaa?.authorize(now, s.key, s.authz, s.authSource);
        if (s.authz !== NO_AUTHORIZATION) {
          this.events.push({ type: 'authorized', tunnel: s.tunnel, session: s.session, username: e.username, source: s.authSource, server: undefined, ignored: s.authz.ignored });
        }
        break;
      case 'auth-failure':
        s.username ??= e.username;
        s.method = e.method;
        s.endReason ??= e.reason === 'timeout' ? 'auth-timeout' : 'auth-failed';
        this.events.push({ type: 'auth-failure', tunnel: s.tunnel, session: s.session, username: e.username, method: e.method, reason: e.reason });
        break;
      case 'lcp-up': {
        const mtu = Math.min(e.lcp.ourMru, e.lcp.peerMru, this.cfg.mtu ?? Infinity);
        s.mss4 = mssForMtu(mtu, 4);
        s.mss6 = mssForMtu(mtu, 6);
        s.txMtu = e.lcp.peerMru;
        if (s.authz.mtu !== undefined) capMtu(s, s.authz.mtu);
        break;
      }
      case 'ip-up': {
        const peer = parseIpv4(e.peer);
        // Route only the address this session leased (or its static one); anything else is a bug.
        if (peer === undefined || peer !== s.addr.address) {
          s.endReason ??= 'address-mismatch';
          s.link.close(now, 'admin-close');
          break;
        }
        s.ipv4 = peer;
        s.lastIpv4 = peer;
        s.loggedInAt ??= now;
        this.routes.addIpv4(peer, s);
        this.offload(s, peer, now);
        this.kernelRoutes(s, 'add', addIpv4Extras(this.routes, s, s, s.authz.routes, peer, this.cfg.hostRoutes === true || this.book.isOutside(peer)));
        this.events.push({ type: 'login', tunnel: s.tunnel, session: s.session, username: s.username, method: s.method, address: e.peer, dns: e.dns });
        this.accountStart(now, s);
        break;
      }
      case 'ip-down':
        // RFC 1661 §3.7: an NCP Terminate closes only that NCP; the lease stays with the link.
        this.unload(s, now);
        if (s.ipv4 !== undefined) this.routes.removeIpv4(s.ipv4);
        s.ipv4 = undefined;
        this.events.push({ type: 'ip-down', tunnel: s.tunnel, session: s.session });
        break;
      case 'ipv6-up': {
        s.iids = { local: e.localInterfaceId, peer: e.peerInterfaceId };
        // RADIUS Framed-IPv6-Prefix (a /64) replaces one from the pool (RFC 3162 §2.3).
        const radius64 = s.authz.ipv6Prefix64;
        s.prefix64 ??= radius64 ?? this.prefixes?.allocate(s.addr.owner);
        const d = s.authz.delegatedPrefix;
        if (s.extras.v6.length === 0) this.kernelRoutes(s, 'add', addIpv6Extras(this.routes, s, s, d !== undefined ? [d] : [], radius64 !== undefined && !inIpv6Pool(this.cfg.ipv6Prefix, radius64) ? radius64 : undefined));
        if (s.prefix64 === undefined) {
          this.events.push({ type: 'address-unavailable', tunnel: s.tunnel, session: s.session, username: s.username, family: 6, reason: 'pool-exhausted' });
        } else {
          this.routes.addIpv6Prefix(s.prefix64, s);
          s.routed6 = true;
          if (s.offloaded && s.ipv4 !== undefined) this.offload(s, s.ipv4, now); // the /64 joins the fast path
          this.data.sendRa(now, s);
        }
        s.loggedInAt ??= now;
        this.events.push({
          type: 'ipv6-up',
          tunnel: s.tunnel,
          session: s.session,
          username: s.username,
          prefix: s.prefix64 === undefined ? undefined : `${formatIpv6(prefix64Bytes(s.prefix64))}/64`,
          linkLocal: linkLocalAddress(e.peerInterfaceId),
        });
        this.accountStart(now, s);
        break;
      }
      case 'ipv6-down':
        if (s.prefix64 !== undefined && s.routed6) this.routes.removeIpv6Prefix(s.prefix64);
        s.routed6 = false;
        if (s.offloaded && s.ipv4 !== undefined) this.offload(s, s.ipv4, now); // the /64 leaves it
        s.iids = undefined;
        s.nextRaAt = undefined;
        this.events.push({ type: 'ipv6-down', tunnel: s.tunnel, session: s.session });
        break;
      case 'link-down': {
        s.endReason ??= e.reason === 'lower-down' ? 'l2tp-closed' : e.reason;
        if (s.l2tpGone === undefined) {
          s.lower.close(now, cdnFor(s.endReason, s.method));
        }
        this.teardown(now, s);
        break;
      }
      default:
        break;
    }
  }

  /** Remove routes, release the IPv4 lease and the /64, forget the session, report the logout (and its Stop record). */
  private teardown(now: Instant, s: Session): void {
    if (!this.sessions.delete(s.key)) return;
    this.unload(s, now);
    const address = s.lastIpv4;
    if (s.ipv4 !== undefined) this.routes.removeIpv4(s.ipv4);
    this.kernelRoutes(s, 'remove', removeExtras(this.routes, s));
    if (s.prefix64 !== undefined) {
      if (s.routed6) this.routes.removeIpv6Prefix(s.prefix64);
      this.prefixes?.release(s.addr.owner);
    }
    s.addr.releaseAll();
    s.scheduled = undefined;
    const reason = s.endReason ?? (s.l2tpGone !== undefined ? 'l2tp-closed' : 'lower-down');
    const by = s.l2tpGone !== undefined ? s.l2tpGone.by : PEER_ENDINGS.has(reason) ? 'peer' : 'local';
    this.events.push({
      type: 'logout',
      tunnel: s.tunnel,
      session: s.session,
      username: s.username,
      address: address === undefined ? undefined : formatIpv4(address),
      reason,
      by,
      ...(s.l2tpGone !== undefined ? { l2tp: s.l2tpGone } : {}),
      loggedIn: s.loggedInAt !== undefined,
      counters: { ...s.counters },
    });
    const stop = this.aaa?.close(now, s.key, reason, s.l2tpGone, this.shuttingDown);
    if (stop !== undefined) this.events.push({ type: 'accounting', tunnel: s.tunnel, session: s.session, record: stop });
  }

  /** The Start record at the first NCP up (AAA with accounting on). */
  private accountStart(now: Instant, s: Session): void {
    const record = this.aaa?.loggedIn(now, s.key);
    if (record !== undefined) this.events.push({ type: 'accounting', tunnel: s.tunnel, session: s.session, record });
  }

  private kernelRoutes(s: Session, op: 'add' | 'remove', prefixes: readonly string[]): void {
    if (prefixes.length > 0) this.events.push({ type: 'kernel-routes', tunnel: s.tunnel, session: s.session, op, prefixes });
  }

  /** Hand the session's plain IPv4 data to the shell's fast path (when there is one and it can carry it). */
  private offload(s: Session, ipv4: number, now: Instant): void {
    const t = this.tunnels.get(s.tunnel);
    const e = this.cfg.fastPath === undefined ? undefined : fastPathEntry({ ...s, remoteTunnel: t?.remoteTunnel, peer: t?.peer, ipv4 }, this.cfg.mssClamp ?? ACCESS_SERVER_DEFAULTS.mssClamp);
    s.offloaded = e !== undefined && this.cfg.fastPath?.install(e) === true;
    if (s.offloaded) offloadKeepalive(this.cfg.fastPath, s, now); // and its LCP keepalive (issue 15)
  }

  /** Take the session back from the fast path (ip-down, teardown), keeping what it counted. */
  private unload(s: Session, now: Instant): void {
    if (s.offloaded) addFastCounters(s, this.cfg.fastPath?.remove(s.tunnel, s.session));
    s.offloaded = false;
    withdrawKeepalive(s, now);
  }

  /** Fold in what the fast path counted since the last read. */
  private syncFast(s: Session): void {
    if (s.offloaded) addFastCounters(s, this.cfg.fastPath?.take(s.tunnel, s.session));
  }

  /** The fast path's keepalive of a session went unanswered `failure` times: it ends as by our own echo-timeout. */
  keepaliveDead(now: Instant, tunnel: number, session: number, misses: number): void {
    const s = this.sessions.get(sessionKey(tunnel, session));
    if (s === undefined || !s.echoOffloaded) return;
    s.link.offloadedEcho(misses, now);
    this.pump(now, s);
  }

  private schedule(s: Session): void {
    if (!this.sessions.has(s.key)) return;
    const at = earliest(earliest(s.link.pollAt(), s.nextRaAt), s.openAt);
    if (at === s.scheduled) return;
    s.scheduled = at;
    if (at !== undefined) this.timers.push(at, s.key);
  }
}
