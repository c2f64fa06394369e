/**
 * The contract of the dynamic L2TPv3 control plane (RFC 3931 §3-§7, RFC 4719 Ethernet pseudowires) as
 * seen by the I/O shell and the daemon. Like the v2 engine it is sans-I/O: datagrams in, datagrams and
 * typed events out, time passed in. Data messages never reach it (RFC 3931 §4.1: they carry no control
 * connection id); the shell's pseudowire data plane demultiplexes them by Session ID. A session that
 * comes up is announced with the full pseudowire binding (`V3PseudowireBinding`), which the shell hands
 * to the data plane as it is.
 */
import type { Duration, Instant } from '../base/index.js';
import type { CircuitErrors, CircuitStatus, ControlConnectionId, V3ControlAvps, V3MessageType, V3ResultCode, V3SessionId } from '../wire/l2tpv3/index.js';
import type { ChannelTuning, PeerAddress, Transmit } from './api.js';

/** One peer identity a responder accepts (§5.4.3 Host Name, Router ID); absent fields match anything. */
export interface V3PeerIdentity {
  readonly hostName?: string;
  readonly routerId?: number;
}

/** Settings of one control connection (ours: accepted or originated). */
export interface V3ConnectionSettings {
  /** Our Host Name AVP (§5.4.3). */
  readonly hostName: string;
  /** Our Router ID AVP (§5.4.3, a 32-bit value, often our IPv4 address). */
  readonly routerId: number;
  /** Our Vendor Name AVP. */
  readonly vendorName?: string;
  /** Shared secret for Control Message Authentication (§4.3) and/or the Challenge tunnel auth. */
  readonly secret?: Uint8Array;
  /** §4.3 Message Digest on every message (needs `secret`); undefined = no digest. */
  readonly messageDigest?: 'md5' | 'sha1' | undefined;
  /** The RFC 2661-style Challenge / Challenge Response "tunnel auth" some vendors use (needs `secret`). */
  readonly challenge?: boolean;
  /** Responder: accept only peers matching one of these; empty or undefined = any peer. */
  readonly allowedPeers?: readonly V3PeerIdentity[];
  /** Pseudowire Capabilities List (§5.4.3): PW types we offer (default Ethernet 5 and Ethernet VLAN 4). */
  readonly pwCapabilities: readonly number[];
  /** Reliable delivery and HELLO keepalive (`helloInterval`, `helloMissCount`). */
  readonly tuning: ChannelTuning;
  /** Close the connection this long after its last session ended; undefined = never (`disconnect time off`). */
  readonly idleDisconnect?: Duration;
}

/** Pseudowire parameters one end chooses for a session (profiles in v3-profiles.ts). */
export interface V3PseudowireParams {
  /** RFC 4719 PW type: 5 Ethernet, 4 Ethernet VLAN. */
  readonly pwType: 4 | 5;
  /** Length of the cookie we assign (we require on receive): 0, 4 or 8. */
  readonly cookieLength: 0 | 4 | 8;
  /** L2-Specific Sublayer we propose or accept (§4.6). */
  readonly sublayer: 'none' | 'default';
  /** Ask the peer to sequence the data it sends (§5.4.4 Data Sequencing; needs the default sublayer). */
  readonly sequencing: boolean;
}

/**
 * Which exchange sets a session up (RFC 3931 §3.4.1 incoming: ICRQ -> ICRP -> ICCN, the originator
 * sends the last message; §3.4.2 outgoing: OCRQ -> OCRP -> OCCN, the recipient connects its
 * attachment circuit and confirms).
 */
export type V3CallType = 'incoming' | 'outgoing';

/** A session we place on a connection (ICRQ §6.6 or OCRQ §6.9). */
export interface V3SessionRequest {
  /** Remote End ID AVP (§5.4.4): names the pseudowire at the peer. */
  readonly remoteEndId: string;
  readonly pseudowire: V3PseudowireParams;
  /** Incoming call (ICRQ, the default) or outgoing call (OCRQ). */
  readonly call?: V3CallType;
}

/** How a responder judges ICRQs: the pseudowires it knows by Remote End ID and its own parameters. */
export interface V3AcceptPseudowires {
  /** Remote End IDs accepted; undefined = any. */
  readonly remoteEndIds?: readonly string[];
  /** Our side's parameters (cookie length we assign; the PW types we carry). */
  readonly cookieLength: 0 | 4 | 8;
  readonly pwTypes: readonly (4 | 5)[];
  /** Ask the peer to sequence (ICRP Data Sequencing). */
  readonly sequencing: boolean;
  /** Per Remote End ID overrides of the cookie length and sequencing. */
  readonly byRemoteEndId?: Readonly<Record<string, { readonly cookieLength: 0 | 4 | 8; readonly sequencing: boolean }>>;
}

/** Engine-wide configuration of one listener (one UDP socket or one IP-protocol-115 socket). */
export interface V3EngineConfig {
  /** Over UDP (§4.1.2) or IP (§4.1.1). */
  readonly encapsulation: 'udp' | 'ip';
  /** Accept incoming SCCRQ (the responder role, e.g. the public side with no peer configured). */
  readonly acceptConnections: boolean;
  /** Settings of connections peers open to us. */
  readonly accept: V3ConnectionSettings;
  /** How incoming sessions are judged. */
  readonly acceptPseudowires: V3AcceptPseudowires;
}

/**
 * Everything the data plane needs for one established session, named from our view. It is shaped
 * like the pseudowire data plane's settings (dataplane/pseudowire `PseudowireSettings`) so the shell
 * passes it through unchanged.
 */
export interface V3PseudowireBinding {
  readonly encapsulation: 'udp' | 'ip';
  readonly pwType: 4 | 5;
  /** Our Session ID: data we receive carries it. */
  readonly localSessionId: number;
  /** The peer's Session ID: data we send carries it. */
  readonly peerSessionId: number;
  /** The peer's Assigned Cookie (we send it). */
  readonly txCookie: Uint8Array;
  /** Our Assigned Cookie (we require it). */
  readonly rxCookie: Uint8Array;
  readonly sublayer: 'none' | 'default';
  /** The peer asked for sequenced data. */
  readonly sendSequence: boolean;
  /** We asked for sequenced data. */
  readonly requireSequence: boolean;
}

/** Control connection states (§7.2; `closing` lingers after a StopCCN, §5.7). */
export type V3ConnectionState = 'idle' | 'wait-ctl-reply' | 'wait-ctl-conn' | 'established' | 'closing' | 'closed';
/** Session states (§7.3 incoming, §7.4 outgoing calls; `wait-cs-answer` = OCRQ recipient connecting its circuit). */
export type V3SessionState = 'idle' | 'wait-tunnel' | 'wait-reply' | 'wait-connect' | 'wait-cs-answer' | 'established' | 'closed';

/** Why a connection or session ended. */
export interface V3CloseReason {
  readonly by: 'local' | 'peer';
  readonly result: V3ResultCode;
  /** 'stopccn', 'cdn', 'retransmit-timeout', 'hello-timeout', 'auth-failed', 'not-authorized', 'idle', 'admin', 'bad-message', ... */
  readonly cause: string;
}

/** A read-only snapshot of one session (fields of Yamaha `show status l2tp`). */
export interface V3SessionInfo {
  readonly localSessionId: V3SessionId;
  readonly remoteSessionId: V3SessionId;
  readonly state: V3SessionState;
  readonly remoteEndId: string;
  readonly originator: boolean;
  readonly call: V3CallType;
  readonly circuitLocal: CircuitStatus;
  readonly circuitRemote?: CircuitStatus;
  /** Set-Link-Info messages received / sent (§6.14). */
  readonly sliRx: number;
  readonly sliTx: number;
  /** WAN-Error-Notify messages received (§6.13) and the last Circuit Errors they carried. */
  readonly wenRx: number;
  readonly circuitErrors?: CircuitErrors;
  readonly binding?: V3PseudowireBinding;
  readonly establishedAt?: Instant;
}

/** Counters of one control connection. */
export interface V3ConnectionCounters {
  controlRx: number;
  controlTx: number;
  retransmits: number;
  duplicates: number;
  outOfWindow: number;
  acksTx: number;
  acksRx: number;
  /** Messages dropped because the Message Digest was missing or wrong (§4.3). */
  authFailures: number;
  /** Authenticated messages that moved the peer's address or port (NAT rebinding). */
  peerMoves: number;
  /** Unauthenticated messages from another address, which never move it. */
  foreignSource: number;
  unknownAvpsIgnored: number;
  /** In-order session messages naming a Session ID we do not have (dropped). */
  unknownSession: number;
  /** Messages the codec refused after the digest verified (bad AVPs, §5.2 / §7.1). */
  malformed: number;
  /** Set-Link-Info / WAN-Error-Notify received (§6.13, §6.14). */
  sliRx: number;
  wenRx: number;
}

/** Engine-wide counters of control datagrams that reached no connection (bad input, monotonic). */
export interface V3EngineCounters {
  /** The §3.2.1 header did not parse (length, version, flags). */
  badHeader: number;
  /** A Control Connection ID we do not have. */
  unknownConnection: number;
  /** Connection ID 0 but no SCCRQ, or an SCCRQ the codec refused. */
  badSccrq: number;
  /** SCCRQs whose digest did not verify. */
  authFailures: number;
  /** SCCRQs refused because we accept no connections. */
  rejected: number;
}

/** A read-only snapshot of one control connection. */
export interface V3ConnectionInfo {
  readonly localId: ControlConnectionId;
  readonly remoteId: ControlConnectionId;
  readonly state: V3ConnectionState;
  readonly peer: PeerAddress;
  readonly originator: boolean;
  readonly remoteHostName?: string;
  readonly remoteRouterId?: number;
  readonly remoteVendorName?: string;
  readonly ns: number;
  readonly nr: number;
  readonly establishedAt?: Instant;
  readonly counters: Readonly<V3ConnectionCounters>;
  readonly sessions: readonly V3SessionInfo[];
}

/** Every control datagram dropped as bad input since start (engine counters plus every connection's, gone ones included). */
export interface V3ControlDrops extends V3EngineCounters {
  /** Digest missing or wrong on an existing connection (§4.3). */
  readonly connectionAuthFailures: number;
  /** Refused by the codec after the digest verified (§5.2, §7.1). */
  readonly malformed: number;
  /** Session messages for a Session ID we do not have. */
  readonly unknownSession: number;
  /** Unauthenticated or replayed messages from another address (never move the peer). */
  readonly foreignSource: number;
}

/** Typed events, drained with `pollEvent()`; the daemon maps them to logs and metrics. */
export type L2tpV3Event =
  | { readonly type: 'v3-connecting'; readonly connection: ControlConnectionId; readonly peer: PeerAddress; readonly originator: boolean }
  | {
      readonly type: 'v3-established';
      readonly connection: ControlConnectionId;
      readonly remoteConnection: ControlConnectionId;
      readonly peer: PeerAddress;
      readonly remoteHostName?: string;
      readonly remoteRouterId?: number;
    }
  | { readonly type: 'v3-closed'; readonly connection: ControlConnectionId; readonly reason: V3CloseReason }
  | { readonly type: 'v3-auth-failed'; readonly connection?: ControlConnectionId; readonly peer: PeerAddress; readonly detail: string }
  | { readonly type: 'v3-rejected'; readonly peer: PeerAddress; readonly detail: string }
  | { readonly type: 'v3-peer-moved'; readonly connection: ControlConnectionId; readonly from: PeerAddress; readonly to: PeerAddress }
  | { readonly type: 'v3-retransmit'; readonly connection: ControlConnectionId; readonly ns: number; readonly attempt: number; readonly nextIn: Duration }
  | { readonly type: 'v3-keepalive-countdown'; readonly connection: ControlConnectionId; readonly remaining: number }
  | { readonly type: 'v3-keepalive-expired'; readonly connection: ControlConnectionId }
  | { readonly type: 'v3-redial'; readonly dialer: number; readonly at: Instant; readonly attempt: number }
  | { readonly type: 'v3-session-established'; readonly connection: ControlConnectionId; readonly session: V3SessionId; readonly peer: PeerAddress; readonly remoteEndId: string; readonly binding: V3PseudowireBinding }
  | { readonly type: 'v3-session-closed'; readonly connection: ControlConnectionId; readonly session: V3SessionId; readonly reason: V3CloseReason }
  | { readonly type: 'v3-circuit-status'; readonly connection: ControlConnectionId; readonly session: V3SessionId; readonly remoteEndId: string; readonly status: CircuitStatus }
  | { readonly type: 'v3-wan-error'; readonly connection: ControlConnectionId; readonly session: V3SessionId; readonly remoteEndId: string; readonly errors: CircuitErrors }
  | {
      readonly type: 'v3-control';
      readonly direction: 'rx' | 'tx';
      readonly connection: ControlConnectionId;
      readonly peer: PeerAddress;
      readonly ns: number;
      readonly nr: number;
      readonly messageType: V3MessageType | undefined;
      readonly avps: V3ControlAvps;
    }
  | { readonly type: 'v3-bad-datagram'; readonly peer: PeerAddress; readonly detail: string };

/** One always-on dial: the connection is re-opened forever with exponential backoff (Yamaha `always-on`). */
export interface V3DialSpec {
  readonly peer: PeerAddress;
  readonly settings: V3ConnectionSettings;
  readonly sessions: readonly V3SessionRequest[];
  /** First redial delay and its cap (doubling in between). */
  readonly backoffInitial: Duration;
  readonly backoffMax: Duration;
}

/** The engine surface the shell drives. Implemented by `L2tpV3Engine`. */
export interface L2tpV3EngineApi {
  /** Feed one received control datagram (UDP payload, or IP payload with the zero Session ID). Never throws. */
  handleDatagram(now: Instant, data: Uint8Array, from: PeerAddress): void;
  handleTimeout(now: Instant): void;
  pollAt(): Instant | undefined;
  pollTransmit(): Transmit | undefined;
  pollEvent(): L2tpV3Event | undefined;
  /** Open a connection (we send SCCRQ). */
  openConnection(now: Instant, peer: PeerAddress, settings: V3ConnectionSettings): ControlConnectionId;
  /** Place a session; waits until the connection is established. */
  openSession(now: Instant, connection: ControlConnectionId, request: V3SessionRequest): V3SessionId | undefined;
  closeSession(now: Instant, connection: ControlConnectionId, session: V3SessionId, result: V3ResultCode): void;
  closeConnection(now: Instant, connection: ControlConnectionId, result: V3ResultCode): void;
  /** Dial always-on: returns a dialer id. */
  dial(now: Instant, spec: V3DialSpec): number;
  /** Stop a dialer (its current connection is closed). */
  hangUp(now: Instant, dialer: number): void;
  /**
   * The local attachment circuit of `remoteEndId` went up or down (TAP carrier / admin state): every
   * session on it tells the peer with Set-Link-Info (§3.4.3, Circuit Status A bit, N = 0); sessions
   * placed later carry the state in their ICRQ/ICRP/OCRQ/OCRP.
   */
  setCircuitStatus(now: Instant, remoteEndId: string, active: boolean): void;
  /** Send WAN-Error-Notify (§6.13) with the circuit's error counts on a session. */
  wanErrorNotify(now: Instant, connection: ControlConnectionId, session: V3SessionId, errors: CircuitErrors): void;
  /** Bad-input counters that no connection owns. */
  readonly counters: Readonly<V3EngineCounters>;
  /** Bad-input totals: `counters` plus every connection's (monotonic). */
  controlDrops(): V3ControlDrops;
  connections(): readonly V3ConnectionInfo[];
  /** Where a session's data goes now (the connection's current peer), or undefined. */
  sessionPeer(localSessionId: number): PeerAddress | undefined;
}
