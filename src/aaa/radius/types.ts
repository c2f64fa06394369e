/**
 * The RADIUS client's contract with the access layer and the shell: server configuration, what an
 * authentication asks and what it answers (typed reply attributes), accounting records, events and
 * counters. Plain readonly data; IPv4 addresses are dotted-quad strings, IPv6 addresses octets.
 */
import type { Instant } from '../../base/index.js';
import type {
  DecodedAttribute,
  Ipv6Prefix,
  MsChap2Success,
  MsChapError,
  RadiusAttribute,
  RadiusWireError,
  TerminateCause,
} from '../../wire/radius/index.js';

/** Which service a server provides. */
export type RadiusServerKind = 'auth' | 'acct';

/** One configured RADIUS server (RFC 2865 §3 / RFC 2866 §3). */
export interface RadiusServerConfig {
  /** Unique name, for logs, metrics and `show radius`. */
  readonly name: string;
  /** IPv4 or IPv6 literal. */
  readonly address: string;
  /** UDP port; default 1812 (auth) / 1813 (acct). */
  readonly port?: number;
  /** The shared secret (never logged). */
  readonly secret: string | Uint8Array;
  /** Time to wait for an answer before retransmitting (ms, default 3000). */
  readonly timeoutMs?: number;
  /** Retransmissions after the first send before failing over (default 3). */
  readonly retries?: number;
  /** Lower is preferred (default 1). */
  readonly priority?: number;
  /** Share of requests among servers of the same priority (default 1). */
  readonly weight?: number;
  /** How long a server that timed out is skipped (ms, default 30000; 0 = never marked dead). */
  readonly deadTimeMs?: number;
  /** Local address to send from (the shell binds a socket to it). */
  readonly sourceAddress?: string;
  /**
   * Drop Access-Accept/-Reject/-Challenge without a valid Message-Authenticator (default true:
   * Blast-RADIUS, CVE-2024-3596). Only turn off for a server that cannot send one.
   */
  readonly requireMessageAuthenticator?: boolean;
  /** Probe a dead server with Status-Server (RFC 5997) and revive it only when it answers. */
  readonly statusServer?: boolean;
}

/** The NAS identity sent in every request (RFC 2865 §5.4, §5.32; RFC 3162 §2.1). */
export interface NasIdentity {
  readonly ipAddress?: string;
  readonly ipv6Address?: Uint8Array;
  readonly identifier?: string;
}

/** The tunnel a session came in on (RFC 2868 §3, RFC 2867 §4.1), as a LAC/LNS reports it. */
export interface TunnelAttributes {
  /** RFC 2868 tag (1..31) grouping the attributes of one tunnel; 0 = untagged. */
  readonly tag?: number;
  /** Tunnel-Type (RFC 2868 §3.1; L2TP = 3). */
  readonly type?: number;
  /** Tunnel-Medium-Type (§3.2; IPv4 = 1, IPv6 = 2). */
  readonly mediumType?: number;
  readonly clientEndpoint?: string;
  readonly serverEndpoint?: string;
  /** Acct-Tunnel-Connection (RFC 2867 §4.1; untagged), e.g. "tunnel-id/session-id". */
  readonly connectionId?: string;
  readonly assignmentId?: string;
  readonly clientAuthId?: string;
  readonly serverAuthId?: string;
  readonly preference?: number;
  readonly privateGroupId?: string;
}

/** Where a subscriber session sits on this NAS (shared by authentication and accounting). */
export interface SessionAttributes {
  readonly nasPort?: number;
  readonly nasPortId?: string;
  /** NAS-Port-Type (default Virtual, 5). */
  readonly nasPortType?: number;
  readonly callingStationId?: string;
  readonly calledStationId?: string;
  /** Acct-Session-Id (RFC 2866 §5.5), also sent in the Access-Request so both can be correlated. */
  readonly acctSessionId?: string;
  /** Service-Type (default Framed, 2). */
  readonly serviceType?: number;
  /** Framed-Protocol (default PPP, 1). */
  readonly framedProtocol?: number;
  /** The incoming tunnel (LNS: Junos-style 64, 65, 66, 67, 68, 82, 90, 91). */
  readonly tunnel?: readonly TunnelAttributes[];
}

/** Credentials by PPP authentication method (what `src/ppp/auth` hands out in `auth-request`). */
export type RadiusCredentials =
  | { readonly method: 'pap'; readonly password: string }
  | { readonly method: 'chap-md5'; readonly identifier: number; readonly challenge: Uint8Array; readonly response: Uint8Array }
  | {
      readonly method: 'mschapv2';
      readonly identifier: number;
      readonly authenticatorChallenge: Uint8Array;
      readonly peerChallenge: Uint8Array;
      readonly ntResponse: Uint8Array;
      /** RFC 2548 §2.3.2 Flags (default 0). */
      readonly flags?: number;
    };

/** One authentication to run. */
export interface RadiusAuthRequest {
  readonly username: string;
  readonly credentials: RadiusCredentials;
  readonly session?: SessionAttributes;
  /** State from an Access-Challenge being answered (RFC 2865 §5.24). */
  readonly state?: Uint8Array;
  /** Further attributes, already encoded (e.g. vendor ones from a dictionary). */
  readonly extra?: readonly RadiusAttribute[];
}

/** RFC 2868 §3: the tunnel attributes of one tag, as a LAC uses them to pick a tunnel. */
export interface TunnelGroup {
  readonly tag: number;
  readonly type?: number;
  readonly mediumType?: number;
  readonly clientEndpoint?: string;
  readonly serverEndpoint?: string;
  /** Decrypted Tunnel-Password (RFC 2868 §3.5). */
  readonly password?: string;
  readonly privateGroupId?: string;
  readonly assignmentId?: string;
  readonly preference?: number;
  readonly clientAuthId?: string;
  readonly serverAuthId?: string;
}

/** The attributes of an Access-Accept (or -Reject / -Challenge) the access server honours, typed. */
export interface RadiusReply {
  readonly serviceType?: number;
  readonly framedProtocol?: number;
  /** Framed-IP-Address (RFC 2865 §5.8) other than the two special values below. */
  readonly framedIpAddress?: string;
  /** 255.255.255.255: the user may choose; 255.255.255.254: the NAS picks (from Framed-Pool or its pool). */
  readonly framedIpAddressRule?: 'user-selects' | 'nas-selects';
  readonly framedIpNetmask?: string;
  /** Framed-Pool (RFC 2869 §5.18): the name of the pool to take an address from. */
  readonly framedPool?: string;
  /** Framed-Route values as sent (RFC 2865 §5.22: "prefix gateway metric ..."). */
  readonly framedRoutes: readonly string[];
  readonly framedIpv6Prefixes: readonly Ipv6Prefix[];
  readonly framedIpv6Routes: readonly string[];
  readonly framedIpv6Pool?: string;
  readonly framedInterfaceId?: Uint8Array;
  readonly delegatedIpv6Prefix?: Ipv6Prefix;
  readonly framedMtu?: number;
  readonly sessionTimeout?: number;
  readonly idleTimeout?: number;
  readonly acctInterimInterval?: number;
  /** Class values (RFC 2865 §5.25), to echo unchanged in every accounting record of the session. */
  readonly classes: readonly Uint8Array[];
  /** MS-Primary/Secondary-DNS-Server (RFC 2548 §2.2.9-10), in that order. */
  readonly dnsServers: readonly string[];
  /** MS-Primary/Secondary-NBNS-Server (RFC 2548 §2.2.11-12). */
  readonly nbnsServers: readonly string[];
  /** DNS-Server-IPv6-Address (RFC 6911 §3.2). */
  readonly ipv6DnsServers: readonly Uint8Array[];
  readonly filterIds: readonly string[];
  /** Reply-Message values (RFC 2865 §5.18), in order; shown in a PAP/CHAP failure. */
  readonly replyMessages: readonly string[];
  /** RFC 2868 tunnel attributes grouped by tag, ordered by tag. */
  readonly tunnels: readonly TunnelGroup[];
  /** MS-CHAP2-Success (RFC 2548 §2.3.3): goes back to the peer in the CHAP Success. */
  readonly msChap2Success?: MsChap2Success;
  /** MS-CHAP-Error (RFC 2548 §2.1.5) of a reject. */
  readonly msChapError?: MsChapError;
  /** MS-MPPE-Send-Key / -Recv-Key decrypted (RFC 2548 §2.4.2-3). */
  readonly mppeKeys?: { readonly send?: Uint8Array; readonly recv?: Uint8Array };
  /** State (RFC 2865 §5.24), for an Access-Challenge. */
  readonly state?: Uint8Array;
  /** Every decoded attribute, for anything not lifted above. */
  readonly attributes: readonly DecodedAttribute[];
  /** Attributes the dictionary does not know. */
  readonly unknown: readonly RadiusAttribute[];
}

/** How an authentication ended. */
export type RadiusAuthAnswer =
  | { readonly kind: 'accept'; readonly server: string; readonly reply: RadiusReply }
  | {
      readonly kind: 'reject';
      readonly server: string;
      readonly reply: RadiusReply;
      /**
       * `rejected`: Access-Reject. `malformed-accept`: an Accept with an invalid attribute, treated
       * as a reject (RFC 6929 §2.8). `no-ms-chap2-success`: an MS-CHAPv2 Accept the peer could not
       * verify (RFC 2548 §2.3.3 is missing or unparseable).
       */
      readonly reason: 'rejected' | 'malformed-accept' | 'no-ms-chap2-success';
    }
  | { readonly kind: 'challenge'; readonly server: string; readonly reply: RadiusReply }
  /** No server answered (each tried with its retries), or there is no auth server. */
  | { readonly kind: 'timeout'; readonly servers: readonly string[] }
  /** The request could not be encoded (a value too long, ...); nothing was sent. */
  | { readonly kind: 'error'; readonly error: RadiusWireError };

/** Branded id of one authentication, returned by `authenticate` and carried by its answer. */
export type RadiusRequestId = number & { readonly __brand: 'RadiusRequestId' };

/** RFC 2866 §5.1 status, by name. */
export type AcctStatus = 'start' | 'interim-update' | 'stop' | 'accounting-on' | 'accounting-off';

/** Traffic counters of a session (octets may exceed 2^32: Gigawords are derived, RFC 2869 §5.1-2). */
export interface AccountingCounters {
  readonly inputOctets: number;
  readonly outputOctets: number;
  readonly inputPackets: number;
  readonly outputPackets: number;
}

/**
 * One accounting record (RFC 2866). Its content is fixed when created: retries and replays after a
 * restart send the same attributes (only Acct-Delay-Time grows, RFC 2866 §5.2).
 */
export interface AccountingRecord {
  readonly status: AcctStatus;
  /** Acct-Session-Id (RFC 2866 §5.5), unique per session; On/Off records use their own id. */
  readonly sessionId: string;
  /** Wall-clock time of the event (unix ms): Event-Timestamp (RFC 2869 §5.3) and the base of Acct-Delay-Time. */
  readonly timestamp: number;
  readonly username?: string;
  readonly multiSessionId?: string;
  readonly session?: SessionAttributes;
  readonly framedIpAddress?: string;
  readonly framedIpv6Prefix?: Ipv6Prefix;
  readonly delegatedIpv6Prefix?: Ipv6Prefix;
  /** Interim and Stop: totals so far. */
  readonly counters?: AccountingCounters;
  /** Acct-Session-Time in seconds (RFC 2866 §5.7). */
  readonly sessionTime?: number;
  /** Stop: Acct-Terminate-Cause (RFC 2866 §5.10). */
  readonly terminateCause?: TerminateCause;
  /** Class values from the Access-Accept, echoed unchanged (RFC 2865 §5.25). */
  readonly classes?: readonly Uint8Array[];
  /** Acct-Authentic (RFC 2866 §5.6): 1 RADIUS, 2 local, 3 remote. */
  readonly authentic?: number;
}

/** Branded sequence number of an accounting record: the core keeps them in this order. */
export type AccountingSeq = number & { readonly __brand: 'AccountingSeq' };

/** A record with its sequence number, as the spool stores it. */
export interface SpooledRecord {
  readonly seq: AccountingSeq;
  readonly record: AccountingRecord;
}

/** Work for the shell's spool, in order: append new records, mark delivered ones. */
export type SpoolWork =
  | { readonly kind: 'append'; readonly records: readonly SpooledRecord[] }
  | { readonly kind: 'ack'; readonly seqs: readonly AccountingSeq[] };

/** A datagram for the shell to send. */
export interface RadiusTransmit {
  /** The server's name. */
  readonly server: string;
  readonly to: { readonly address: string; readonly port: number };
  /** Local address to send from (the server's `sourceAddress`), or undefined for any. */
  readonly from: string | undefined;
  readonly data: Uint8Array;
}

/** Why a received datagram was dropped (counted per server, RFC 2865 §3 "silently discarded"). */
export type RadiusDropReason =
  | 'unknown-source'
  | 'malformed'
  | 'no-pending-request'
  | 'bad-authenticator'
  | 'bad-message-authenticator'
  | 'missing-message-authenticator'
  | 'unexpected-code';

/** What happened, for logs, metrics and the access layer. */
export type RadiusClientEvent =
  | { readonly type: 'auth-answer'; readonly request: RadiusRequestId; readonly answer: RadiusAuthAnswer }
  | { readonly type: 'accounting-delivered'; readonly seq: AccountingSeq; readonly record: AccountingRecord; readonly server: string }
  /** Every accounting server failed this record this round; it stays queued and is retried at `retryAt`. */
  | { readonly type: 'accounting-deferred'; readonly seq: AccountingSeq; readonly retryAt: Instant }
  | { readonly type: 'server-down'; readonly server: string; readonly kind: RadiusServerKind; readonly until: Instant | undefined }
  | { readonly type: 'server-up'; readonly server: string; readonly kind: RadiusServerKind; readonly via: 'response' | 'status-server' | 'dead-time-over' }
  | { readonly type: 'datagram-dropped'; readonly server: string | undefined; readonly reason: RadiusDropReason };

/** Per-server counters (`show radius`, metrics). */
export interface RadiusServerStats {
  requests: number;
  retransmissions: number;
  accepts: number;
  rejects: number;
  challenges: number;
  accountingResponses: number;
  /** Requests that exhausted their retries on this server. */
  timeouts: number;
  malformed: number;
  badAuthenticators: number;
  badMessageAuthenticators: number;
  missingMessageAuthenticators: number;
  unexpectedCodes: number;
  /** Answers to nothing pending (late, duplicate or forged). */
  unmatched: number;
  statusProbes: number;
  /** Last round-trip time (ms) and a smoothed one (RFC 6298 style, 1/8). */
  lastRttMs: number | undefined;
  smoothedRttMs: number | undefined;
}

/** One server's state for `show radius`. */
export interface RadiusServerSnapshot {
  readonly name: string;
  readonly kind: RadiusServerKind;
  readonly address: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
  readonly state: 'alive' | 'dead';
  readonly deadUntil: Instant | undefined;
  readonly pending: number;
  readonly stats: Readonly<RadiusServerStats>;
}

/** The whole client for `show radius`. */
export interface RadiusClientSnapshot {
  readonly servers: readonly RadiusServerSnapshot[];
  readonly pendingAuth: number;
  readonly accountingQueued: number;
  readonly accountingInFlight: number;
  /** Records not yet confirmed written by the spool (durable mode). */
  readonly spoolUncommitted: number;
  /** Datagrams from addresses that are no server of ours. */
  readonly unknownSource: number;
}
