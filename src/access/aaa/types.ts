/**
 * What the access layer knows about authorization and accounting, independent of where a decision
 * came from (the users file or RADIUS): the authorization of one session (RFC 2865 §5 reply
 * attributes, typed and checked), the result the shell hands back for an `auth-request`, and the
 * settings of the AAA part of the LNS.
 */
import type { Duration, Ipv4Prefix, Ipv6Prefix } from '../../base/index.js';
import type { AuthDecision } from '../../ppp/index.js';

/** An IPv6 route target: the upper 64 bits and a length 0..64 (the only ones `SessionRoutes` carries). */
export type Ipv6Route = Ipv6Prefix;

/**
 * The authorization of one session, from an Access-Accept (or nothing, for a users-file login).
 * Every field is optional; absent = the LNS's configuration applies.
 */
export interface SessionAuthorization {
  /** Framed-IP-Address (RFC 2865 §5.8), host order. */
  readonly framedAddress?: number;
  /** Framed-Pool (RFC 2869 §5.18): the named pool to lease from. */
  readonly framedPool?: string;
  /** Framed-IP-Netmask (RFC 2865 §5.9), kept for logs (a PPP link is point-to-point). */
  readonly framedNetmask?: number;
  /** Framed-Route prefixes (RFC 2865 §5.22) routed toward the session. */
  readonly routes: readonly Ipv4Prefix[];
  /** Framed-IPv6-Prefix (RFC 3162 §2.3) of length 64: the session's /64 instead of one from the pool. */
  readonly ipv6Prefix64?: bigint;
  /** Delegated-IPv6-Prefix (RFC 4818) routed toward the session. */
  readonly delegatedPrefix?: Ipv6Route;
  /** Framed-MTU (RFC 2865 §5.12): caps the session's MTU (MSS clamp, too-big). */
  readonly mtu?: number;
  /** Session-Timeout (RFC 2865 §5.27). */
  readonly sessionTimeout?: Duration;
  /** Idle-Timeout (RFC 2865 §5.28). */
  readonly idleTimeout?: Duration;
  /** Acct-Interim-Interval (RFC 2869 §5.16). */
  readonly interimInterval?: Duration;
  /** Class values to echo in accounting (RFC 2865 §5.25). */
  readonly classes: readonly Uint8Array[];
  /** DNS / NBNS servers for IPCP (RFC 2548 §2.2.9-12), dotted quads. */
  readonly dns: readonly string[];
  readonly nbns: readonly string[];
  /** Reply attributes we could not honour, with why (for one log line). */
  readonly ignored: readonly string[];
}

/** No authorization beyond the configuration. */
export const NO_AUTHORIZATION: SessionAuthorization = { routes: [], classes: [], dns: [], nbns: [], ignored: [] };

/** Who decided. */
export type AuthSource = 'radius' | 'local';

/** The answer the shell gives for one `auth-request` (`AccessServer.authResult`). */
export interface AccessAuthResult {
  /** What PPP sends (PAP Ack/Nak message, CHAP Success/Failure, MS-CHAP2 authenticator response). */
  readonly decision: AuthDecision;
  readonly source: AuthSource;
  /** The RADIUS server that answered, for logs. */
  readonly server?: string;
  /** On success: what the session gets. */
  readonly authorization?: SessionAuthorization;
}

/** The tunnel side of the NAS identity, for RADIUS tunnel attributes (RFC 2868 §3). */
export interface TunnelServerIdentity {
  /** Our address the LAC sends to (Tunnel-Server-Endpoint); absent = not sent. */
  readonly endpoint?: string;
  /** Our Host Name (Tunnel-Server-Auth-Id). */
  readonly hostName?: string;
}

/** Settings of the AAA part of the LNS (all optional: absent = users file only, no accounting). */
export interface AccessAaaConfig {
  /** Authentication goes out as `auth-request` events (RADIUS); false = the users file decides inline. */
  readonly external: boolean;
  /** Accounting records are produced (`accounting` events). */
  readonly accounting: boolean;
  /** Acct-Session-Id prefix, unique per daemon start (e.g. start time in hex). */
  readonly sessionIdPrefix: string;
  /** Wall-clock unix ms at monotonic `now` (Event-Timestamp). */
  readonly wallClock: (now: number) => number;
  /** Interim interval when RADIUS gives none (undefined / 0 = no interims). */
  readonly interimInterval?: Duration;
  /** Smallest interim interval honoured (RFC 2869 §5.16: SHOULD NOT be below 60 s); default 60 s. */
  readonly interimMinimum?: Duration;
  /** Interim jitter as a fraction of the interval (default 0.1). */
  readonly interimJitter?: number;
  readonly tunnelServer?: TunnelServerIdentity;
}
