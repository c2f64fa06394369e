/**
 * Inputs and outputs of LAC tunnel selection: domain maps, tunnel profiles (up to 31 destinations on
 * up to 8 preference levels), the RADIUS tunnel attribute groups of an Access-Accept (RFC 2868 §3,
 * tagged per RFC 2868 §3.1 "Tag"), and what `TunnelSelector` answers.
 */
import type { Duration, Instant } from '../../base/index.js';

/** What a realm maps to. */
export type DomainTarget =
  | { readonly kind: 'tunnel'; readonly profile: string }
  | { readonly kind: 'local' }
  | { readonly kind: 'reject' };

/** One domain map row: `user@realm` with this realm (case-insensitive) goes to `target`. */
export interface DomainMapEntry {
  readonly realm: string;
  readonly target: DomainTarget;
  /** Send `user` instead of `user@realm` to the LNS / the local authenticator. */
  readonly stripRealm?: boolean;
}

/** The domain map: rows, the target for realms without a row (or no realm), and the delimiter. */
export interface DomainMap {
  readonly entries: readonly DomainMapEntry[];
  /** Default: local termination. */
  readonly default?: DomainTarget;
  /** Realm delimiter (default `@`; the realm is what follows its last occurrence). */
  readonly delimiter?: string;
}

/** One LNS of a tunnel profile. */
export interface TunnelDestination {
  /** LNS address (IPv4 dotted quad, or a name the shell resolves). */
  readonly address: string;
  /** UDP port (default 1701). */
  readonly port?: number;
  /** Preference: lower is preferred (RFC 2868 §3.8 Tunnel-Preference). */
  readonly preference?: number;
  /** Most sessions at this destination; also its weight for weighted selection (default unlimited, weight 1). */
  readonly maxSessions?: number;
  /** Tunnel secret (RFC 2661 §5.1.1), overriding the profile's. */
  readonly secret?: string;
  /** Our host name in SCCRQ (Tunnel-Client-Auth-ID, RFC 2868 §3.9), overriding the profile's. */
  readonly localHostname?: string;
  /** The LNS host name we expect (Tunnel-Server-Auth-ID, §3.10). */
  readonly remoteHostname?: string;
  /** Our source address (Tunnel-Client-Endpoint, §3.3). */
  readonly localAddress?: string;
  /** Tunnel-Assignment-Id (§3.7): sessions with the same id share a tunnel. */
  readonly assignmentId?: string;
}

/** How a destination is picked among the live ones of one preference level. */
export type LoadBalancing = 'round-robin' | 'weighted';

/** A tunnel profile. */
export interface TunnelProfile {
  readonly destinations: readonly TunnelDestination[];
  /** Default round-robin. */
  readonly loadBalancing?: LoadBalancing;
  /** After a failure try the other destinations of the same level before the next level (default false). */
  readonly failoverWithinPreference?: boolean;
  /** How long a destination that failed is skipped (default 300 s). */
  readonly deadTime?: Duration;
  /** Sessions per tunnel; one more opens another tunnel to the same destination (default unlimited). */
  readonly maxSessionsPerTunnel?: number;
  readonly secret?: string;
  readonly localHostname?: string;
}

/**
 * One tagged group of RFC 2868 tunnel attributes from an Access-Accept (the RADIUS client decodes
 * them; Tunnel-Password already decrypted, §3.5).
 */
export interface RadiusTunnelGroup {
  /** RFC 2868 §3.1 Tag (0x01-0x1f; 0 = untagged). */
  readonly tag: number;
  /** Tunnel-Type (§3.1): 3 = L2TP. Groups of other types are ignored. */
  readonly tunnelType?: number;
  /** Tunnel-Medium-Type (§3.2): 1 = IPv4. Groups of other media are ignored. */
  readonly mediumType?: number;
  readonly serverEndpoint?: string;
  readonly clientEndpoint?: string;
  readonly password?: string;
  readonly assignmentId?: string;
  readonly preference?: number;
  readonly clientAuthId?: string;
  readonly serverAuthId?: string;
}

/** RFC 2868 §3.1 Tunnel-Type L2TP. */
export const TUNNEL_TYPE_L2TP = 3;
/** RFC 2868 §3.2 Tunnel-Medium-Type IPv4. */
export const TUNNEL_MEDIUM_IPV4 = 1;

/** Selector settings. */
export interface SelectorConfig {
  readonly domainMap: DomainMap;
  readonly profiles: Readonly<Record<string, TunnelProfile>>;
  /** Settings for destinations that come from RADIUS without a domain-mapped profile. */
  readonly radiusDefaults?: Omit<TunnelProfile, 'destinations'>;
}

/** A tunnel as the selector tracks it (the shell maps it to an L2TP tunnel id). */
export type TunnelKey = number & { readonly __brand: 'TunnelKey' };
/** One session's claim on a tunnel, from `select` until `release`. */
export type SessionTicket = number & { readonly __brand: 'SessionTicket' };

/** Everything the LAC needs to open (or find) the tunnel of a choice. */
export interface ChosenDestination {
  readonly address: string;
  readonly port: number;
  readonly preference: number;
  /** 0..7: the rank of `preference` among the profile's levels. */
  readonly level: number;
  readonly secret: string | undefined;
  readonly localHostname: string | undefined;
  readonly remoteHostname: string | undefined;
  readonly localAddress: string | undefined;
  readonly assignmentId: string | undefined;
}

/** Where one attempt of a session goes. */
export interface Choice {
  readonly tunnel: TunnelKey;
  /** True: open this tunnel (SCCRQ); false: it exists (maybe still connecting), add the session to it. */
  readonly newTunnel: boolean;
  readonly destination: ChosenDestination;
  /** The profile name, or `radius` when the Access-Accept supplied the destinations. */
  readonly source: string;
}

/** The answer to `select`. */
export type Selection =
  | { readonly kind: 'local'; readonly username: string; readonly realm: string | undefined }
  | { readonly kind: 'reject'; readonly reason: RejectReason; readonly realm: string | undefined }
  | { readonly kind: 'tunnel'; readonly ticket: SessionTicket; readonly username: string; readonly realm: string | undefined; readonly choice: Choice };

/** Why no tunnel (or local termination) was given. */
export type RejectReason = 'domain-rejected' | 'unknown-profile' | 'no-destination' | 'all-destinations-full';

/** Why a tunnel could not be established. */
export type TunnelFailure = 'sccrq-timeout' | 'stopccn' | 'unreachable';

/** What a tunnel failure did to one waiting session. */
export interface Failover {
  readonly ticket: SessionTicket;
  /** The next place to try, or undefined when every destination has been tried. */
  readonly next: Choice | undefined;
}

/** Events for logs and `show destinations`. */
export type SelectorEvent =
  | { readonly type: 'destination-dead'; readonly address: string; readonly port: number; readonly until: Instant; readonly cause: TunnelFailure }
  | { readonly type: 'destination-alive'; readonly address: string; readonly port: number };

/** One destination for `show destinations`. */
export interface DestinationInfo {
  readonly address: string;
  readonly port: number;
  readonly state: 'alive' | 'dead';
  readonly deadUntil: Instant | undefined;
  readonly sessions: number;
  readonly tunnels: number;
  readonly failures: number;
  /** The last failure to bring a tunnel up there (SCCRQ timeout, StopCCN, ...) and when. */
  readonly lastFailure: { readonly cause: TunnelFailure; readonly at: Instant } | undefined;
  /** The profiles listing it (empty: only RADIUS named it). */
  readonly profiles: readonly { readonly source: string; readonly preference: number; readonly level: number; readonly weight: number; readonly maxSessions?: number }[];
}

/** One tunnel for `show tunnels`. */
export interface TunnelInfo {
  readonly tunnel: TunnelKey;
  readonly address: string;
  readonly port: number;
  readonly assignmentId: string | undefined;
  readonly state: 'connecting' | 'up';
  readonly sessions: number;
}
