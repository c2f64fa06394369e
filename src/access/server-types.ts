/**
 * The types of the remote-access LNS (`AccessServer`, server.ts): its settings, per-session
 * counters and views, and the typed events it hands up (STYLE §10).
 */
import type { Duration, Instant, Ipv4Prefix, Ipv6Prefix, RandomSource } from '../base/index.js';
import type { CloseReason, L2tpControlApi } from '../l2tp/index.js';
import type { SessionId, TunnelId } from '../wire/l2tp/index.js';
import type { AuthProtocol, AuthRequest, FsmConfig, PppEvent, PppPhase } from '../ppp/index.js';
import type { AccountingRecord, SessionAttributes } from '../aaa/radius/index.js';
import type { LeaseObserver, UserDirectory } from './directory.js';
import type { AccessEndReason } from './disconnect.js';
import type { TunWriter } from './tun-writer.js';
import type { FastPathTable } from './fast-path.js';
import type { PppoeLowerInfo } from './lower.js';
import type { AccessAaaConfig, AuthSource } from './aaa/index.js';

/** The part of the L2TP engine the access layer drives (outbound frames, CDN, the inbound data sink). */
export type AccessEngine = Pick<L2tpControlApi, 'sendData' | 'closeSession' | 'bindSession'>;

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
  /** At most this many LCP Echo-Requests per second over all sessions (0 = unpaced; default 5000). */
  readonly echoRate?: number;
  /** Ignore proxy LCP / proxy authentication from ICCN and negotiate afresh. */
  readonly forceLcpRenegotiation?: boolean;
  /** Clamp TCP MSS on SYNs both ways (default true). */
  readonly mssClamp?: boolean;
  /** Largest IP packet on the TUN side (caps the clamp MTU; default: the PPP MRUs alone). */
  readonly mtu?: number;
  /** A /32 `kernel-routes` entry for every session, also inside a pool (for a routing daemon to announce; default: only addresses outside every pool). */
  readonly hostRoutes?: boolean;
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
  /**
   * The native data fast path (fast-path.ts): sessions with IPCP up are installed there and their plain
   * IPv4 data bypasses this server; absent = every packet passes here (the reference path).
   */
  readonly fastPath?: FastPathTable;
  /** Named IPv4 pools (RADIUS Framed-Pool, RFC 2869 §5.18), by name; prefixes must not overlap. */
  readonly namedPools?: ReadonlyMap<string, Ipv4Prefix>;
  /**
   * AAA: RADIUS authentication through `auth-request` events answered by `authResult`, accounting
   * records as `accounting` events, session timers; absent = the users file decides, no accounting.
   */
  readonly aaa?: AccessAaaConfig;
  /** Told of every IPv4 lease and release (the daemon's lease journal). */
  readonly leaseObserver?: LeaseObserver;
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
  /** The part of `counters` the native fast path forwarded (the L2TP engine never saw these packets). */
  readonly fastPath?: Readonly<AccessCounters>;
  /** Unanswered LCP Echo-Requests in a row right now (absent = none). */
  readonly echoMisses?: number;
  /** RADIUS Acct-Session-Id (with AAA on). */
  readonly acctSessionId?: string;
  /** A PPPoE session (BRAS, tunnel 0): its interface, client MAC and SESSION_ID. */
  readonly pppoe?: PppoeLowerInfo;
}

/** Totals for show commands and metrics. */
export interface AccessStats {
  readonly sessions: number;
  readonly routes: number;
  readonly ipv4InUse: number;
  readonly ipv4Capacity: number;
  /** Of `ipv4InUse`: addresses held for a previous run's clients (`holdLeases`). */
  readonly ipv4Held: number;
  readonly ipv6InUse: number;
  readonly ipv6Capacity: number;
  /** LCP Echo-Requests that went unanswered, over all sessions since start (issue 15: loss before logout). */
  readonly echoMisses: number;
  /** Sessions whose last Echo-Request is unanswered right now (on their way to an echo-timeout). */
  readonly echoMissing: number;
  /** Sessions ended by our echo-timeout since start. */
  readonly echoTimeouts: number;
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
  | {
      readonly type: 'address-unavailable';
      readonly tunnel: TunnelId;
      readonly session: SessionId;
      readonly username: string | undefined;
      readonly family: 4 | 6;
      readonly reason: 'pool-exhausted' | 'static-in-use' | 'unknown-pool' | 'no-address';
      /** The pool asked for (RADIUS Framed-Pool). */
      readonly pool?: string;
    }
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
  | { readonly type: 'ppp'; readonly tunnel: TunnelId; readonly session: SessionId; readonly event: PppEvent }
  /** AAA on: decide this authentication (RADIUS / users file) and answer with `authResult`. */
  | {
      readonly type: 'auth-request';
      readonly tunnel: TunnelId;
      readonly session: SessionId;
      readonly request: AuthRequest;
      /** The session's RADIUS attributes (NAS-Port, stations, Acct-Session-Id, tunnel attributes). */
      readonly attributes: SessionAttributes | undefined;
    }
  /** Authentication succeeded with what the session gets (for one log line). */
  | {
      readonly type: 'authorized';
      readonly tunnel: TunnelId;
      readonly session: SessionId;
      readonly username: string;
      readonly source: AuthSource;
      readonly server: string | undefined;
      /** Reply attributes not honoured, with why. */
      readonly ignored: readonly string[];
    }
  /** An RFC 2866 record for the RADIUS accounting client. */
  | { readonly type: 'accounting'; readonly tunnel: TunnelId; readonly session: SessionId; readonly record: AccountingRecord }
  /**
   * Prefixes the kernel must route into the TUN for this session (Framed-Route, Delegated-IPv6-Prefix,
   * addresses outside every pool), and their removal at the end.
   */
  | { readonly type: 'kernel-routes'; readonly tunnel: TunnelId; readonly session: SessionId; readonly op: 'add' | 'remove'; readonly prefixes: readonly string[] }
  /** A Session-Timeout or Idle-Timeout ran out: the session is being closed. */
  | { readonly type: 'session-expired'; readonly tunnel: TunnelId; readonly session: SessionId; readonly reason: 'session-timeout' | 'idle-timeout' };

