/**
 * The per-session record of `AccessServer` (internal to src/access): the PPP link, leases, routes,
 * timers and AAA state of one L2TP session, and the tunnel a call came in on.
 */
import { formatIpv4, formatIpv6, prefix64Bytes, type Instant } from '../base/index.js';
import type { CloseReason, PeerAddress } from '../l2tp/index.js';
import type { SessionId, TunnelId } from '../wire/l2tp/index.js';
import { linkLocalAddress, type AuthProtocol, type PppLink } from '../ppp/index.js';
import type { SessionAddressPool } from './directory.js';
import type { AccessEndReason } from './disconnect.js';
import type { AccessCounters, AccessSessionInfo } from './server-types.js';
import type { AuthSource, SessionAuthorization } from './aaa/index.js';
import type { SessionExtras } from './extra-routes.js';
import type { SessionLower } from './lower.js';
import { mssForMtu } from '../dataplane/index.js';

/** One session. */
export interface Session {
  readonly key: number;
  readonly tunnel: TunnelId;
  readonly session: SessionId;
  /** The peer's Session ID (its data messages carry ours; ours to it carry this). */
  readonly remoteSession: SessionId;
  /** The L2TP or PPPoE session under the link. */
  readonly lower: SessionLower;
  readonly link: PppLink;
  /** The session's leases; `addr.owner` is the pool owner key of the session ("tunnel/session"). */
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
  /** Largest IP packet toward the client: the peer's MRU, capped by RADIUS Framed-MTU. */
  txMtu: number;
  /** AAA on: an `auth-request` is out and no `authResult` came yet. */
  authPending: boolean;
  authz: SessionAuthorization;
  authSource: AuthSource;
  extras: SessionExtras;
  /** Installed in the shell's native fast path (fast-path.ts): its counters are folded in on read. */
  offloaded: boolean;
  /** Its LCP keepalive runs in the fast path too (issue 15): the link's echo timer is suspended. */
  echoOffloaded: boolean;
  /** What the fast path forwarded (also in `counters`); undefined until it counted anything. */
  fastCounters: AccessCounters | undefined;
}

/** The tunnel a call came in on (for RADIUS tunnel attributes). */
export interface TunnelCall {
  readonly peer: PeerAddress;
  readonly remoteTunnel: TunnelId;
  readonly remoteHostName: string | undefined;
  /** Set at tunnel-closing: why the sessions that follow ended. */
  closing: CloseReason | undefined;
}

/**
 * The session's key: tunnel and session ID in one signed 32-bit integer, so it is a small integer (Smi) in
 * the record and the session maps, never a boxed heap number (tunnel IDs >= 0x8000 would make
 * `t * 0x10000 + s` one). `key >>> 0` is `t * 0x10000 + s` (the RADIUS NAS-Port).
 */
export const sessionKey = (t: number, s: number): number => (t << 16) | (s & 0xffff);
/** The session key of a RADIUS NAS-Port (`sessionKey(t, s) >>> 0`). */
export const keyOfNasPort = (nasPort: number): number => nasPort | 0;

/**
 * The inbound data sink of one session (what the L2TP engine keeps per session): two fields and a
 * prototype method instead of a closure, its context and a wrapper object (~100 B less per idle
 * session, issue 15). `to` is one function per server.
 */
export class SessionSink {
  constructor(
    private readonly to: (now: Instant, s: Session, frame: Uint8Array) => void,
    private readonly s: Session,
  ) {}
  /** One PPP frame of the session. */
  handleData(now: Instant, frame: Uint8Array): void {
    this.to(now, this.s, frame);
  }
}
/** Endings the client caused; an echo-timeout is our keepalive deciding the client is gone (ended by us). */
export const PEER_ENDINGS: ReadonlySet<AccessEndReason> = new Set(['peer-terminated', 'padt-received', 'lcp-rejected', 'auth-failed', 'auth-timeout']);


/** One session as `snapshot()` shows it. */
export function sessionInfo(s: Session, acctSessionId: string | undefined): AccessSessionInfo {
  return {
    tunnel: s.tunnel,
    session: s.session,
    phase: s.link.phase,
    startedAt: s.startedAt,
    counters: { ...s.counters },
    ...(s.username !== undefined ? { username: s.username } : {}),
    ...(s.method !== undefined ? { authMethod: s.method } : {}),
    ...(s.ipv4 !== undefined ? { ipv4: formatIpv4(s.ipv4) } : {}),
    ...(s.prefix64 !== undefined ? { ipv6Prefix: `${formatIpv6(prefix64Bytes(s.prefix64))}/64` } : {}),
    ...(s.iids !== undefined ? { ipv6LinkLocal: linkLocalAddress(s.iids.peer) } : {}),
    ...(s.loggedInAt !== undefined ? { loggedInAt: s.loggedInAt } : {}),
    ...(s.lower.info !== undefined ? { pppoe: s.lower.info } : {}),
    ...(s.fastCounters !== undefined ? { fastPath: { ...s.fastCounters } } : {}),
    ...(s.link.echoMisses > 0 ? { echoMisses: s.link.echoMisses } : {}),
    ...(acctSessionId !== undefined ? { acctSessionId } : {}),
  };
}

/** RADIUS Framed-MTU (RFC 2865 §5.12) caps what we send toward the client and the clamped MSS. */
export function capMtu(s: Pick<Session, 'txMtu' | 'mss4' | 'mss6'>, mtu: number): void {
  s.txMtu = Math.min(s.txMtu, mtu);
  s.mss4 = Math.min(s.mss4, mssForMtu(mtu, 4));
  s.mss6 = Math.min(s.mss6, mssForMtu(mtu, 6));
}

/** A /64 inside the configured IPv6 prefix (the kernel routes it to the TUN already). */
export function inIpv6Pool(p: { readonly network64: bigint; readonly length: number } | undefined, p64: bigint): boolean {
  if (p === undefined) return false;
  const shift = BigInt(64 - p.length);
  return p64 >> shift === p.network64 >> shift;
}
