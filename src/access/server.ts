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
import type { Duration, Instant, Timed } from '../base/time.js';
import { addDuration, earliest, seconds } from '../base/time.js';
import type { RandomSource } from '../base/random.js';
import type { L2tpControlApi, L2tpEvent, Transmit, CloseReason } from '../l2tp/index.js';
import { DATA_HEADROOM } from '../l2tp/index.js';
import type { SessionId, TunnelId } from '../wire/l2tp/types.js';
import { DEFAULT_LCP, PppLink, buildRouterAdvertisement, linkLocalAddress } from '../ppp/index.js';
import type { AuthProtocol, FsmConfig, PppEvent, PppPhase, ProxyLcp } from '../ppp/index.js';
import { Ipv4Pool, formatIpv4, parseIpv4, type Ipv4Prefix } from '../aaa/index.js';
import { IcmpRateLimiter, SessionRoutes, clampMss, mssForMtu, tooBig4, tooBig6 } from '../dataplane/index.js';
import { AddressBook, SessionAddressPool, type UserDirectory } from './users.js';
import { Ipv6PrefixPool, addressInPrefix64, formatIpv6, parseIpv6, prefix64Bytes, type Ipv6Prefix } from './ipv6.js';
import { cdnFor, type AccessEndReason } from './disconnect.js';
import { DeadlineHeap } from '../base/queue.js';
import { ipVersion, ipv4Source, ipv6Source64, isLinkLocal, isMulticast6, isRouterSolicitation } from './packets.js';
import { TunQueue, type TunWriter } from './tun-writer.js';

/** The part of the L2TP engine the access layer drives (outbound frames, CDN, the inbound data sink). */
export type AccessEngine = Pick<L2tpControlApi, 'sendData' | 'closeSession' | 'bindSession'>;

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
  mssClamp: true,
  raInterval: seconds(600),
  lcpStartDelay: seconds(1),
} as const;

/** LNS settings. Only `random`, `users`, `ipv4Pool` and `localAddress` are required. */
export interface AccessServerConfig {
  readonly random: RandomSource;
  /** Users (the users file); passwords for PAP/CHAP/MS-CHAPv2 and optional static addresses. */
  readonly users: UserDirectory;
  /** The IPv4 pool (e.g. 100.64.0.0/24); network, broadcast and `localAddress` are never leased. */
  readonly ipv4Pool: Ipv4Prefix;
  /** The LNS's own PPP address (IPCP IP-Address we send), host-order IPv4 (`parseIpv4`). */
  readonly localAddress: number;
  /** One /64 per session out of this prefix; absent = IPv6 off (IPV6CP is not offered). */
  readonly ipv6Prefix?: Ipv6Prefix;
  /** Authentication protocols demanded, in preference order (default mschapv2, chap-md5). */
  readonly auth?: readonly AuthProtocol[];
  /** MRU we announce (default 1400). */
  readonly mru?: number;
  /** DNS / NBNS servers handed out by IPCP (RFC 1877). */
  readonly dns?: readonly string[];
  readonly nbns?: readonly string[];
  /** IPv6 DNS servers for the RA RDNSS option (RFC 8106). */
  readonly dns6?: readonly string[];
  /** LCP keepalive (default 30 s, 3 misses). */
  readonly echoInterval?: Duration;
  readonly echoFailure?: number;
  /** Ignore proxy LCP / proxy authentication from ICCN and negotiate afresh. */
  readonly forceLcpRenegotiation?: boolean;
  /** Clamp TCP MSS on SYNs both ways (default true). */
  readonly mssClamp?: boolean;
  /** Largest IP packet on the TUN side (caps the clamp MTU; default: the PPP MRUs alone). */
  readonly mtu?: number;
  /** CHAP Name (default "l2tpkit"). */
  readonly name?: string;
  /** Unsolicited RA interval (RFC 4861 §6.2.1 MaxRtrAdvInterval; default 600 s). */
  readonly raInterval?: Duration;
  /**
   * Longest wait for the client's first PPP frame before we start LCP anyway (default 1 s). LAC-side
   * PPP (pppd under xl2tpd, Windows) often starts some milliseconds after ICCN, so a Configure-Request
   * sent at once is lost and costs a full restart interval; opening on the client's first frame avoids it.
   */
  readonly lcpStartDelay?: Duration;
  /** RFC 1661 §4.6 timers and counters. */
  readonly fsm?: Partial<FsmConfig>;
  /** Serve only sessions this accepts (default: all established sessions the engine reports). */
  readonly accept?: (tunnel: TunnelId, session: SessionId) => boolean;
  /** The TUN device's writer (the shell's); default: a queue read with `pollTunWrite()`. */
  readonly tun?: TunWriter;
}

/** Per-session IP counters (packets crossing between the TUN and the PPP session). */
export interface AccessCounters {
  /** From the client (PPP -> TUN). */
  rxPackets: number;
  rxOctets: number;
  /** To the client (TUN -> PPP). */
  txPackets: number;
  txOctets: number;
  /** Dropped: NCP not open, over MRU (answered with ICMP or not), spoofed source, no route. */
  dropped: number;
}

/**
 * Packets from the TUN larger than the client's MRU (server-wide): answered with ICMP
 * Fragmentation Needed / Packet Too Big, fragmented (IPv4 without DF), or dropped.
 */
export interface TooBigCounters {
  /** ICMP Fragmentation Needed / ICMPv6 Packet Too Big sent back toward the source. */
  icmpSent: number;
  /** IPv4 datagrams (DF clear) fragmented to the MRU. */
  fragmented: number;
  /** ICMP errors not sent because of the rate limit (RFC 1812 §4.3.2.8). */
  rateLimited: number;
  /** Dropped without an answer (ICMP errors, non-initial fragments, IPv4 options, no IPv6 address). */
  dropped: number;
}

/** One session for `l2tpctl show status`. */
export interface AccessSessionInfo {
  readonly tunnel: TunnelId;
  readonly session: SessionId;
  readonly phase: PppPhase;
  readonly username?: string;
  readonly authMethod?: AuthProtocol;
  readonly ipv4?: string;
  readonly ipv6Prefix?: string;
  readonly ipv6LinkLocal?: string;
  readonly startedAt: Instant;
  readonly loggedInAt?: Instant;
  readonly counters: Readonly<AccessCounters>;
}

/** Totals for show commands and metrics. */
export interface AccessStats {
  readonly sessions: number;
  readonly routes: number;
  readonly ipv4InUse: number;
  readonly ipv4Capacity: number;
  readonly ipv6InUse: number;
  readonly ipv6Capacity: number;
}

/** Typed events for the daemon (STYLE §10). */
export type AccessEvent =
  | { readonly type: 'ppp-start'; readonly tunnel: TunnelId; readonly session: SessionId; readonly proxied: boolean }
  | { readonly type: 'auth-failure'; readonly tunnel: TunnelId; readonly session: SessionId; readonly username: string; readonly method: AuthProtocol; readonly reason: string }
  | {
      readonly type: 'login';
      readonly tunnel: TunnelId;
      readonly session: SessionId;
      readonly username: string | undefined;
      readonly method: AuthProtocol | undefined;
      readonly address: string;
      readonly dns: readonly string[];
    }
  | { readonly type: 'ipv6-up'; readonly tunnel: TunnelId; readonly session: SessionId; readonly username: string | undefined; readonly prefix: string | undefined; readonly linkLocal: string }
  | { readonly type: 'ip-down' | 'ipv6-down'; readonly tunnel: TunnelId; readonly session: SessionId }
  | { readonly type: 'address-unavailable'; readonly tunnel: TunnelId; readonly session: SessionId; readonly username: string | undefined; readonly family: 4 | 6; readonly reason: 'pool-exhausted' | 'static-in-use' }
  | {
      readonly type: 'logout';
      readonly tunnel: TunnelId;
      readonly session: SessionId;
      readonly username: string | undefined;
      readonly address: string | undefined;
      readonly reason: AccessEndReason;
      /** Who ended it. */
      readonly by: 'local' | 'peer';
      /** The L2TP close reason when the tunnel/session went first. */
      readonly l2tp?: CloseReason;
      readonly loggedIn: boolean;
      readonly counters: Readonly<AccessCounters>;
    }
  | { readonly type: 'ppp'; readonly tunnel: TunnelId; readonly session: SessionId; readonly event: PppEvent };

interface Session {
  readonly key: number;
  readonly owner: string;
  readonly tunnel: TunnelId;
  readonly session: SessionId;
  readonly link: PppLink;
  readonly addr: SessionAddressPool;
  readonly startedAt: Instant;
  readonly counters: AccessCounters;
  username: string | undefined;
  method: AuthProtocol | undefined;
  loggedInAt: Instant | undefined;
  /** Routed IPv4 address (after ip-up). */
  ipv4: number | undefined;
  /** The last address IPCP agreed (for the logout event after the lease is gone). */
  lastIpv4: number | undefined;
  /** Leased /64 (after ipv6-up). */
  prefix64: bigint | undefined;
  routed6: boolean;
  iids: { readonly local: Uint8Array; readonly peer: Uint8Array } | undefined;
  nextRaAt: Instant | undefined;
  scheduled: number | undefined;
  /** When LCP starts if the client has said nothing yet; undefined once the link is open. */
  openAt: Instant | undefined;
  endReason: AccessEndReason | undefined;
  l2tpGone: CloseReason | undefined;
  mss4: number;
  mss6: number;
}

const sessionKey = (t: number, s: number): number => t * 0x10000 + s;
const PEER_ENDINGS: ReadonlySet<AccessEndReason> = new Set(['peer-terminated', 'lcp-rejected', 'auth-failed', 'auth-timeout', 'echo-timeout']);

/** The remote-access LNS over one L2TP engine. */
export class AccessServer implements Timed {
  private readonly sessions = new Map<number, Session>();
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
  private readonly icmpLimit = new IcmpRateLimiter();
  /** Oversized packets toward clients (see {@link TooBigCounters}). */
  readonly tooBig: TooBigCounters = { icmpSent: 0, fragmented: 0, rateLimited: 0, dropped: 0 };
  private readonly events: AccessEvent[] = [];
  private readonly dns6: Uint8Array[];
  private readonly raInterval: Duration;

  /** Build an LNS over `engine` with typed settings (nothing is parsed again here). */
  constructor(
    private readonly engine: AccessEngine,
    private readonly cfg: AccessServerConfig,
  ) {
    this.local4 = cfg.localAddress;
    this.localText = formatIpv4(cfg.localAddress);
    this.book = new AddressBook(new Ipv4Pool(cfg.ipv4Pool, [cfg.localAddress]), cfg.users);
    this.prefixes = cfg.ipv6Prefix !== undefined ? new Ipv6PrefixPool(cfg.ipv6Prefix) : undefined;
    this.dns6 = (cfg.dns6 ?? []).map(parseIpv6).filter((a): a is Uint8Array => a !== undefined);
    this.raInterval = cfg.raInterval ?? ACCESS_SERVER_DEFAULTS.raInterval;
    this.tunQueue = cfg.tun === undefined ? new TunQueue() : undefined;
    this.tun = cfg.tun ?? (this.tunQueue as TunQueue);
  }

  // ------------------------------------------------------------------ shell surface

  /** Feed one L2TP engine event; events of sessions this server does not serve are ignored. */
  handleL2tpEvent(now: Instant, ev: L2tpEvent): void {
    switch (ev.type) {
      case 'session-established':
        if (this.cfg.accept === undefined || this.cfg.accept(ev.tunnel, ev.session)) this.start(now, ev.tunnel, ev.session, ev.proxy);
        break;
      case 'session-closed': {
        const s = this.sessions.get(sessionKey(ev.tunnel, ev.session));
        if (s !== undefined) this.lowerDown(now, s, ev.reason);
        break;
      }
      case 'tunnel-closed':
        // The engine reports each session first; this catches any left (robustness).
        for (const s of [...this.sessions.values()]) if (s.tunnel === ev.tunnel) this.lowerDown(now, s, ev.reason);
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
    return this.toClient(now, s, pkt, v);
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

  /** Earliest timer of any session (PPP restart/echo/auth timers, periodic RAs). */
  pollAt(): Instant | undefined {
    for (;;) {
      const at = this.timers.peekAt();
      if (at === undefined) return undefined;
      const s = this.sessions.get(this.timers.peekKey() ?? -1);
      if (s !== undefined && s.scheduled === at) return at as Instant;
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
      if (s.nextRaAt !== undefined && s.nextRaAt <= now) this.sendRa(now, s);
      this.pump(now, s);
    }
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
    const out: AccessSessionInfo[] = [];
    for (const s of this.sessions.values()) {
      const info: {
        -readonly [K in keyof AccessSessionInfo]: AccessSessionInfo[K];
      } = { tunnel: s.tunnel, session: s.session, phase: s.link.phase, startedAt: s.startedAt, counters: { ...s.counters } };
      if (s.username !== undefined) info.username = s.username;
      if (s.method !== undefined) info.authMethod = s.method;
      if (s.ipv4 !== undefined) info.ipv4 = formatIpv4(s.ipv4);
      if (s.prefix64 !== undefined) info.ipv6Prefix = `${formatIpv6(prefix64Bytes(s.prefix64))}/64`;
      if (s.iids !== undefined) info.ipv6LinkLocal = linkLocalAddress(s.iids.peer);
      if (s.loggedInAt !== undefined) info.loggedInAt = s.loggedInAt;
      out.push(info);
    }
    return out;
  }

  /** Totals (the leak checks of the tests use these). */
  stats(): AccessStats {
    return {
      sessions: this.sessions.size,
      routes: this.routes.size,
      ipv4InUse: this.book.inUse,
      ipv4Capacity: this.book.pool.capacity,
      ipv6InUse: this.prefixes?.inUse ?? 0,
      ipv6Capacity: this.prefixes?.capacity ?? 0,
    };
  }

  // ------------------------------------------------------------------ session life

  private start(now: Instant, tunnel: TunnelId, session: SessionId, proxyAvps: ProxyLcp | undefined): void {
    const key = sessionKey(tunnel, session);
    if (this.sessions.has(key)) return;
    const owner = `${tunnel}/${session}`;
    const c = this.cfg;
    const addr = new SessionAddressPool(this.book, owner);
    const proxy: ProxyLcp | undefined =
      proxyAvps === undefined ? undefined : c.forceLcpRenegotiation === true ? { ...proxyAvps, forceLcpRenegotiation: true } : proxyAvps;
    const link = new PppLink({
      role: 'authenticator',
      random: c.random,
      verifier: c.users,
      pool: addr,
      ipcp: { localAddress: this.localText, ...(c.dns !== undefined ? { dns: c.dns } : {}), ...(c.nbns !== undefined ? { nbns: c.nbns } : {}) },
      ipv6cp: this.prefixes === undefined ? false : {},
      auth: c.auth ?? ACCESS_SERVER_DEFAULTS.auth,
      mru: c.mru ?? ACCESS_SERVER_DEFAULTS.mru,
      echoInterval: c.echoInterval ?? ACCESS_SERVER_DEFAULTS.echoInterval,
      echoFailure: c.echoFailure ?? ACCESS_SERVER_DEFAULTS.echoFailure,
      ...(c.name !== undefined ? { name: c.name } : {}),
      ...(c.fsm !== undefined ? { fsm: c.fsm } : {}),
      ...(proxy !== undefined ? { proxy } : {}),
    });
    const s: Session = {
      key,
      owner,
      tunnel,
      session,
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
    };
    this.sessions.set(key, s);
    const proxied = proxy !== undefined && proxy.forceLcpRenegotiation !== true;
    this.events.push({ type: 'ppp-start', tunnel, session, proxied });
    const delay = c.lcpStartDelay ?? ACCESS_SERVER_DEFAULTS.lcpStartDelay;
    if (proxied || delay <= 0) link.open(now);
    else s.openAt = addDuration(now, delay);
    this.pump(now, s);
    // The data fast path: from here on this session's PPP frames come straight from the engine.
    if (this.sessions.get(key) === s) this.engine.bindSession(now, tunnel, session, { handleData: (at, frame) => this.fromSession(at, s, frame) });
  }

  /** One PPP frame of a session (the engine's data sink): IP to the TUN, control to the link. */
  private fromSession(now: Instant, s: Session, frame: Uint8Array): void {
    if (!this.sessions.has(s.key)) return;
    this.openIfWaiting(now, s);
    const ip = s.link.handleFrame(now, frame);
    // An IP packet changes no PPP state: only control frames need the link drained.
    if (ip !== undefined) this.fromClient(now, s, ip.version, ip.packet);
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
    if (this.sessions.has(s.key)) this.teardown(s);
  }

  /** Drain one link: frames to the engine, events to routes/leases/teardown, then re-arm its timer. */
  private pump(now: Instant, s: Session): void {
    for (let f = s.link.pollTransmit(); f !== undefined; f = s.link.pollTransmit()) {
      if (s.l2tpGone !== undefined) continue;
      const t = this.engine.sendData(now, s.tunnel, s.session, f);
      if (t !== undefined) this.tx.push(t);
    }
    for (let e = s.link.pollEvent(); e !== undefined; e = s.link.pollEvent()) {
      this.events.push({ type: 'ppp', tunnel: s.tunnel, session: s.session, event: e });
      this.onPppEvent(now, s, e);
      if (!this.sessions.has(s.key)) return;
    }
    if (s.addr.failure !== undefined && s.endReason === undefined) {
      // IPCP had no address to give: tell the user why and end the call (Terminate, then CDN).
      s.endReason = s.addr.failure;
      this.events.push({ type: 'address-unavailable', tunnel: s.tunnel, session: s.session, username: s.username, family: 4, reason: s.addr.failure });
      s.link.close(now, 'admin-close');
      return this.pump(now, s);
    }
    this.schedule(s);
  }

  private onPppEvent(now: Instant, s: Session, e: PppEvent): void {
    switch (e.type) {
      case 'auth-success':
        s.username = e.username;
        s.method = e.method;
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
        this.events.push({ type: 'login', tunnel: s.tunnel, session: s.session, username: s.username, method: s.method, address: e.peer, dns: e.dns });
        break;
      }
      case 'ip-down':
        // RFC 1661 §3.7: an NCP Terminate closes only that NCP; the lease stays with the link.
        if (s.ipv4 !== undefined) this.routes.removeIpv4(s.ipv4);
        s.ipv4 = undefined;
        this.events.push({ type: 'ip-down', tunnel: s.tunnel, session: s.session });
        break;
      case 'ipv6-up': {
        s.iids = { local: e.localInterfaceId, peer: e.peerInterfaceId };
        s.prefix64 ??= this.prefixes?.allocate(s.owner);
        if (s.prefix64 === undefined) {
          this.events.push({ type: 'address-unavailable', tunnel: s.tunnel, session: s.session, username: s.username, family: 6, reason: 'pool-exhausted' });
        } else {
          this.routes.addIpv6Prefix(s.prefix64, s);
          s.routed6 = true;
          this.sendRa(now, s);
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
        break;
      }
      case 'ipv6-down':
        if (s.prefix64 !== undefined && s.routed6) this.routes.removeIpv6Prefix(s.prefix64);
        s.routed6 = false;
        s.iids = undefined;
        s.nextRaAt = undefined;
        this.events.push({ type: 'ipv6-down', tunnel: s.tunnel, session: s.session });
        break;
      case 'link-down': {
        s.endReason ??= e.reason === 'lower-down' ? 'l2tp-closed' : e.reason;
        if (s.l2tpGone === undefined) {
          const cdn = cdnFor(s.endReason, s.method);
          this.engine.closeSession(now, s.tunnel, s.session, cdn.result, cdn.causes);
        }
        this.teardown(s);
        break;
      }
      default:
        break;
    }
  }

  /** Remove routes, release the IPv4 lease and the /64, forget the session, report the logout. */
  private teardown(s: Session): void {
    if (!this.sessions.delete(s.key)) return;
    const address = s.lastIpv4;
    if (s.ipv4 !== undefined) this.routes.removeIpv4(s.ipv4);
    if (s.prefix64 !== undefined) {
      if (s.routed6) this.routes.removeIpv6Prefix(s.prefix64);
      this.prefixes?.release(s.owner);
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
  }

  private schedule(s: Session): void {
    if (!this.sessions.has(s.key)) return;
    const at = earliest(earliest(s.link.pollAt(), s.nextRaAt), s.openAt);
    if (at === s.scheduled) return;
    s.scheduled = at;
    if (at !== undefined) this.timers.push(at, s.key);
  }

  // ------------------------------------------------------------------ data plane

  /** A packet from the client: ingress filter (BCP 38), RS handling, MSS clamp, to the TUN. */
  private fromClient(now: Instant, s: Session, version: 4 | 6, pkt: Uint8Array): void {
    if (version === 4) {
      if (pkt.length < 20 || s.ipv4 === undefined || ipv4Source(pkt) !== s.ipv4) {
        s.counters.dropped++;
        return;
      }
    } else {
      if (pkt.length < 40) {
        s.counters.dropped++;
        return;
      }
      // Link-local traffic stays on the PPP link (RFC 4291 §2.5.6); answer Router Solicitations.
      if (isLinkLocal(pkt, 8) || isLinkLocal(pkt, 24) || isMulticast6(pkt, 24)) {
        if (isRouterSolicitation(pkt) && s.routed6) this.sendRa(now, s);
        return;
      }
      if (!s.routed6 || ipv6Source64(pkt) !== s.prefix64) {
        s.counters.dropped++;
        return;
      }
    }
    if (this.cfg.mssClamp ?? ACCESS_SERVER_DEFAULTS.mssClamp) clampMss(pkt, 0, pkt.length, version === 4 ? s.mss4 : s.mss6);
    s.counters.rxPackets++;
    s.counters.rxOctets += pkt.length;
    this.tun.writePacket(pkt);
  }

  private toClient(now: Instant, s: Session, pkt: Uint8Array, version: 4 | 6): boolean {
    const mru = s.link.lcpInfo.peerMru;
    if (pkt.length > mru) return this.oversized(now, s, pkt, version, mru);
    const frame = s.link.sendIp(pkt, version, DATA_HEADROOM);
    const t = frame === undefined ? undefined : this.engine.sendData(now, s.tunnel, s.session, frame, true);
    if (t === undefined) {
      s.counters.dropped++;
      return false;
    }
    s.counters.txPackets++;
    s.counters.txOctets += pkt.length;
    this.tx.push(t);
    return true;
  }

  /**
   * A packet above the client's MRU: no PMTU black hole. ICMP goes back into the TUN toward the
   * source (IPv4 from our local address, IPv6 from our address in the session's /64); IPv4 without
   * DF is fragmented to the MRU. See src/dataplane/too-big.ts.
   */
  private oversized(now: Instant, s: Session, pkt: Uint8Array, version: 4 | 6, mru: number): boolean {
    // IPv6: from our address in the session's /64 (prefix and our PPP interface identifier, RFC 5072).
    const from6 = version === 6 && s.prefix64 !== undefined && s.iids !== undefined ? addressInPrefix64(prefix64Bytes(s.prefix64), s.iids.local) : undefined;
    const r = version === 4 ? tooBig4(pkt, mru, this.local4) : from6 !== undefined ? tooBig6(pkt, mru, from6) : undefined;
    if (r?.kind === 'fragments') {
      this.tooBig.fragmented++;
      let sent = true;
      for (const f of r.packets) sent = this.toClient(now, s, f, 4) && sent;
      return sent;
    }
    s.counters.dropped++;
    if (r?.kind !== 'icmp') {
      this.tooBig.dropped++;
      return false;
    }
    if (!this.icmpLimit.allow(now)) {
      this.tooBig.rateLimited++;
      return false;
    }
    this.tooBig.icmpSent++;
    this.tun.writePacket(r.packet);
    return false;
  }

  /** RFC 4861 §6.2.4: an RA with the session's /64 (A and L flags), MTU and RDNSS. */
  private sendRa(now: Instant, s: Session): void {
    if (s.iids === undefined || s.prefix64 === undefined) return;
    const ra = buildRouterAdvertisement({
      localInterfaceId: s.iids.local,
      peerInterfaceId: s.iids.peer,
      prefix: prefix64Bytes(s.prefix64).subarray(0, 8),
      mtu: Math.min(s.link.lcpInfo.peerMru, this.cfg.mtu ?? Infinity),
      ...(this.dns6.length > 0 ? { dns: this.dns6 } : {}),
    });
    const frame = s.link.sendIp(ra, 6, DATA_HEADROOM);
    const t = frame === undefined ? undefined : this.engine.sendData(now, s.tunnel, s.session, frame, true);
    if (t !== undefined) this.tx.push(t);
    s.nextRaAt = addDuration(now, this.raInterval);
  }
}
