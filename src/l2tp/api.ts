/**
 * The contract of the L2TPv2 control plane core (RFC 2661) as seen by the I/O shell and the daemon.
 * The engine is sans-I/O: datagrams in, datagrams and typed events out, time passed in. Data messages
 * are not events: each session's PPP frames go straight to the {@link SessionDataSink} bound to it.
 */
import type { Duration, Instant, Rate } from '../base/index.js';
import type { ResultCode, SessionId, TunnelId, ControlAvps, MessageType, UnreadableAvp, WireError } from '../wire/l2tp/index.js';

/** Bytes to reserve in front of a PPP frame so `sendData` can write any L2TPv2 data header in place (§3.1: 12 + offset field, rounded up). */
export const DATA_HEADROOM = 16;

/**
 * Where a datagram came from / goes to. `address|port|via` identifies a peer. `via` names the
 * channel the datagram used when that is not plain UDP — e.g. an IPsec flow (`ipsec:<n>`), so that
 * two clients behind one NAT address with the same inner port 1701 stay two peers. Transmits to
 * a peer with `via` must go back through that channel (never in the clear).
 */
export interface PeerAddress {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  readonly via?: string;
}

/** A datagram for the shell to send. `data` is owned by the receiver after polling. */
export interface Transmit {
  readonly to: PeerAddress;
  readonly data: Uint8Array;
}

/** Reliable-delivery and keepalive tuning (§5.8, Appendix A; seed 002 names in comments). */
export interface ChannelTuning {
  /** Our advertised Receive Window Size (default 16). */
  readonly receiveWindow: number;
  /** First retransmission interval (minimum-retransmission-interval, default 1 s). */
  readonly retransmitInitial: Duration;
  /** Backoff cap (default 16 s). */
  readonly retransmitCap: Duration;
  /** Retries before teardown once the tunnel is established (retransmission-count-established, default 5). */
  readonly retriesEstablished: number;
  /** Retries before teardown while not yet established (retransmission-count-not-established, default 5). */
  readonly retriesNotEstablished: number;
  /** Delay before a ZLB ack is sent if nothing piggybacks it (default 100 ms... must be < retransmitInitial). */
  readonly ackDelay: Duration;
  /** HELLO interval when the tunnel is idle (default 60 s; 0 disables). */
  readonly helloInterval: Duration;
  /** Consecutive unanswered HELLOs that end the tunnel (Yamaha "keepalive use on 60 3": 3). */
  readonly helloMissCount: number;
}

/** Per-tunnel settings, for accepted (LNS) and originated (LAC) tunnels. */
export interface TunnelSettings {
  /** Our Host Name AVP. */
  readonly hostName: string;
  /** Our Vendor Name AVP (optional). */
  readonly vendorName?: string;
  /** Shared secret for tunnel authentication (§4.4.3) and hidden AVPs; none = no tunnel auth. */
  readonly secret?: Uint8Array;
  /** Hide these AVPs when sending (needs secret). Typical: proxy auth, calling number. */
  readonly hideAvps?: boolean;
  /** Accept only these remote host names (LNS); empty/undefined = any (seed 000). */
  readonly allowedHostNames?: readonly string[];
  /** Close the tunnel this long after its last session ends (Yamaha "l2tp tunnel disconnect time"); undefined = never. */
  readonly idleDisconnect?: Duration;
  /** Largest data-message Offset Size accepted (seed 002); larger are dropped and counted. Default 64. */
  readonly maxOffset: number;
  /** Require sequencing on data messages (Sequencing Required AVP in ICCN/OCCN). */
  readonly dataSequencing: boolean;
  readonly tuning: ChannelTuning;
}

/** Engine-wide configuration for one listener. */
export interface EngineConfig {
  /** Accept incoming SCCRQ (LNS/LAC responder role). */
  readonly acceptTunnels: boolean;
  /** Settings for tunnels that peers open to us. */
  readonly accept: TunnelSettings;
  /** Accept incoming calls on tunnels (ICRQ as LNS) — default true. */
  readonly acceptIncomingCalls: boolean;
  /** Accept outgoing-call requests (OCRQ as LAC) — default true. */
  readonly acceptOutgoingCalls: boolean;
  /** Limits on tunnels peers open to us (SCCRQ flood defence); absent = {@link DEFAULT_ADMISSION}. */
  readonly admission?: AdmissionLimits;
}

/**
 * Admission of new tunnels (SCCRQ with tunnel id 0). A tunnel is half-open from the SCCRQ we answer
 * until the peer's SCCCN (or its end): each one costs an SCCRP and its retransmissions, so an SCCRQ
 * flood is bounded by these limits, and an SCCRQ beyond them is dropped without an answer (the
 * peer's retransmission tries again later; `tunnel-rejected` event).
 */
export interface AdmissionLimits {
  /** Half-open tunnels at once, all peers. */
  readonly maxHalfOpen: number;
  /** Half-open tunnels at once from one peer address (any port). */
  readonly maxHalfOpenPerPeer: number;
  /** New tunnels per second (token bucket, all peers) and the burst allowed. */
  readonly sccrqRate: Rate;
}

/** Which admission limit refused an SCCRQ. */
export type AdmissionLimit = 'half-open' | 'half-open-per-peer' | 'sccrq-rate';

/** Default admission limits. */
export const DEFAULT_ADMISSION: AdmissionLimits = { maxHalfOpen: 1000, maxHalfOpenPerPeer: 100, sccrqRate: { perSecond: 200, burst: 400 } };

/** Tunnel states (§7.2). */
export type TunnelState = 'idle' | 'wait-ctl-reply' | 'wait-ctl-conn' | 'established' | 'closing' | 'closed';
/** Session states (§7.3–7.5), merged for incoming/outgoing calls in both roles. */
export type SessionState =
  | 'idle'
  | 'wait-tunnel'
  | 'wait-reply'
  | 'wait-connect'
  | 'wait-cs-answer'
  | 'established'
  | 'closed';

/** Which side placed the call. */
export type CallDirection = 'incoming' | 'outgoing';

/** The proxy LCP and proxy authentication AVPs of an ICCN (§6.12, §4.4.5). */
export const PROXY_AVPS = [
  'initialReceivedLcpConfReq',
  'lastSentLcpConfReq',
  'lastReceivedLcpConfReq',
  'proxyAuthenType',
  'proxyAuthenName',
  'proxyAuthenChallenge',
  'proxyAuthenId',
  'proxyAuthenResponse',
] as const;

/** Options when we originate a session on a tunnel. */
export interface SessionRequest {
  /** incoming = we are LAC sending ICRQ; outgoing = we are LNS sending OCRQ. */
  readonly direction: CallDirection;
  readonly callingNumber?: string;
  readonly calledNumber?: string;
  /** Proxy LCP / proxy auth AVPs to put into ICCN (LAC). */
  readonly proxy?: Pick<ControlAvps, (typeof PROXY_AVPS)[number]>;
  /** ICCN Tx Connect Speed (AVP 24, toward the subscriber) and Rx Connect Speed (AVP 38), bits/s (§4.4.5); default 100 Mbit/s, no Rx. */
  readonly connectSpeed?: { readonly tx: number; readonly rx?: number };
}

/** Counters of one tunnel, for show commands and metrics. */
export interface TunnelCounters {
  controlRx: number;
  controlTx: number;
  retransmits: number;
  duplicates: number;
  outOfWindow: number;
  zlbTx: number;
  zlbRx: number;
  unknownAvpsIgnored: number;
  dataRxPackets: number;
  dataRxOctets: number;
  dataTxPackets: number;
  dataTxOctets: number;
  dataDropped: number;
}

/** A read-only snapshot of one session. */
export interface SessionInfo {
  readonly localSessionId: SessionId;
  readonly remoteSessionId: SessionId;
  readonly state: SessionState;
  readonly direction: CallDirection;
  readonly role: 'lac' | 'lns';
  readonly callSerialNumber: number;
  readonly establishedAt?: Instant;
  readonly rxPackets: number;
  readonly rxOctets: number;
  readonly txPackets: number;
  readonly txOctets: number;
  readonly callingNumber?: string;
  readonly calledNumber?: string;
}

/** A read-only snapshot of one tunnel (Yamaha "show status l2tp" fields). */
export interface TunnelInfo {
  readonly localTunnelId: TunnelId;
  readonly remoteTunnelId: TunnelId;
  readonly state: TunnelState;
  readonly peer: PeerAddress;
  readonly remoteHostName?: string;
  readonly remoteVendorName?: string;
  readonly protocolVersion?: string;
  readonly ns: number;
  readonly nr: number;
  readonly peerReceiveWindow: number;
  readonly congestionWindow: number;
  readonly establishedAt?: Instant;
  readonly originator: boolean;
  readonly counters: Readonly<TunnelCounters>;
  readonly sessions: readonly SessionInfo[];
}

/** Why a tunnel or session ended, for logs. */
export interface CloseReason {
  /** Who ended it. */
  readonly by: 'local' | 'peer';
  readonly result: ResultCode;
  /** Short cause: 'stopccn', 'cdn', 'retransmit-timeout', 'hello-timeout', 'auth-failed', 'idle', 'admin', 'bad-message', ... */
  readonly cause: string;
  /** Q.931 cause (AVP 12) and PPP Disconnect Cause (AVP 46, RFC 3145) carried by a CDN, when present. */
  readonly cdnCauses?: CdnCauses;
}

/** Why a received control message was refused (§4.2), for the log of the refused message. */
export interface RefusedInfo {
  readonly error: WireError;
  readonly unreadable: readonly UnreadableAvp[];
  /** false when the AVP framing broke and the rest of the message was not read. */
  readonly complete: boolean;
}

/** Extra CDN AVPs: Q.931 Cause Code (AVP 12) and PPP Disconnect Cause Code (AVP 46, RFC 3145). */
export type CdnCauses = Pick<ControlAvps, 'q931Cause' | 'pppDisconnectCause'>;

/**
 * Typed events, drained with `pollEvent()`. The daemon maps them to logs (Yamaha seed-001 wording),
 * metrics and show commands; tests assert on them.
 */
export type L2tpEvent =
  | { readonly type: 'tunnel-connecting'; readonly tunnel: TunnelId; readonly peer: PeerAddress; readonly originator: boolean }
  | { readonly type: 'tunnel-established'; readonly tunnel: TunnelId; readonly remoteTunnel: TunnelId; readonly peer: PeerAddress; readonly remoteHostName?: string }
  | { readonly type: 'tunnel-closing'; readonly tunnel: TunnelId; readonly reason: CloseReason }
  | { readonly type: 'tunnel-closed'; readonly tunnel: TunnelId; readonly reason: CloseReason }
  | { readonly type: 'tunnel-auth-failed'; readonly tunnel: TunnelId; readonly peer: PeerAddress; readonly detail: string }
  | {
      readonly type: 'tunnel-rejected';
      readonly peer: PeerAddress;
      readonly detail: string;
      /** Set when an admission limit refused the SCCRQ (one per SCCRQ of a flood: log it quietly). */
      readonly limit?: AdmissionLimit;
    }
  | { readonly type: 'state-timer-expired'; readonly tunnel: TunnelId; readonly state: TunnelState; readonly retries: number }
  | { readonly type: 'retransmit'; readonly tunnel: TunnelId; readonly ns: number; readonly attempt: number; readonly nextIn: Duration }
  | { readonly type: 'keepalive-countdown'; readonly tunnel: TunnelId; readonly remaining: number }
  | { readonly type: 'keepalive-expired'; readonly tunnel: TunnelId }
  | { readonly type: 'session-connecting'; readonly tunnel: TunnelId; readonly session: SessionId; readonly direction: CallDirection }
  | {
      readonly type: 'session-established';
      readonly tunnel: TunnelId;
      readonly session: SessionId;
      readonly remoteSession: SessionId;
      readonly proxy?: SessionRequest['proxy'];
      /** Calling / Called Number AVPs of the call (§4.4.5), e.g. for RADIUS Calling-/Called-Station-Id. */
      readonly callingNumber?: string;
      readonly calledNumber?: string;
    }
  | { readonly type: 'session-closed'; readonly tunnel: TunnelId; readonly session: SessionId; readonly reason: CloseReason }
  | { readonly type: 'wen'; readonly tunnel: TunnelId; readonly session: SessionId; readonly avps: ControlAvps }
  | { readonly type: 'sli'; readonly tunnel: TunnelId; readonly session: SessionId; readonly avps: ControlAvps }
  | {
      readonly type: 'control-rx';
      readonly tunnel: TunnelId;
      readonly peer: PeerAddress;
      readonly ns: number;
      readonly nr: number;
      readonly messageType: MessageType | undefined;
      /** The message's AVPs; for a refused one, every AVP the codec could read. */
      readonly avps: ControlAvps;
      /** Set when the message was refused (answered with StopCCN / CDN): why, and what could not be read. */
      readonly refused?: RefusedInfo;
    }
  | { readonly type: 'control-tx'; readonly tunnel: TunnelId; readonly peer: PeerAddress; readonly ns: number; readonly nr: number; readonly messageType: MessageType | undefined; readonly avps: ControlAvps }
  | { readonly type: 'bad-datagram'; readonly peer: PeerAddress; readonly detail: string }
  | { readonly type: 'unknown-avp-ignored'; readonly tunnel: TunnelId; readonly attribute: number; readonly vendorId: number };

/**
 * The receiving end of one session's data channel: the data fast path (§3.1 data messages). Bound once
 * with `bindSession` when the session is up, it is handed every PPP frame of that session by the engine
 * directly: no event, no queue, no copy. `frame` is a view into the received datagram, valid during the
 * call only (copy what you keep). Counters of the session and its tunnel are plain numbers in the
 * engine, read by `tunnels()`.
 */
export interface SessionDataSink {
  /** One PPP frame (the payload of a data message, after the offset pad). Must not throw. */
  handleData(now: Instant, frame: Uint8Array): void;
}

/**
 * Frames of an established session that arrived before a sink was bound (e.g. the client's first LCP
 * Configure-Request in the same receive batch as its ICCN) are held, at most this many per session,
 * and handed to the sink when it is bound; more are dropped and counted (`dataDropped`).
 */
export const DATA_BACKLOG = 4;

/**
 * What the layers above (access, daemon, gate) call on an engine: open and close tunnels and
 * sessions, encapsulate outbound PPP frames, bind inbound data sinks, take snapshots. The IPsec gate
 * offers the same surface in front of its engine.
 */
export interface L2tpControlApi {
  /** Open a tunnel to a peer (LAC or LNS originator). Returns our local tunnel id. */
  openTunnel(now: Instant, peer: PeerAddress, settings: TunnelSettings): TunnelId;
  /** Place a call on a tunnel; queued until the tunnel is established. Returns our local session id. */
  openSession(now: Instant, tunnel: TunnelId, request: SessionRequest): SessionId | undefined;
  /** Send CDN for a session (optionally with Q.931 / PPP disconnect causes). */
  closeSession(now: Instant, tunnel: TunnelId, session: SessionId, result: ResultCode, causes?: CdnCauses): void;
  /** Send StopCCN and tear down all sessions of a tunnel. */
  closeTunnel(now: Instant, tunnel: TunnelId, result: ResultCode): void;
  /**
   * Encapsulate a PPP frame for a session; returns the datagram to send, or undefined if the session is
   * not up. With `headroomFree`, the caller gives up the bytes of `pppFrame.buffer` in front of the frame
   * (at least {@link DATA_HEADROOM}) and the header is written there: no copy of the payload.
   */
  sendData(now: Instant, tunnel: TunnelId, session: SessionId, pppFrame: Uint8Array, headroomFree?: boolean): Transmit | undefined;
  /**
   * Bind (or with undefined, unbind) the sink of a session's inbound data. Frames held since the session
   * came up ({@link DATA_BACKLOG}) are delivered now. The binding ends with the session. False when there
   * is no such session.
   */
  bindSession(now: Instant, tunnel: TunnelId, session: SessionId, sink: SessionDataSink | undefined): boolean;
  /** Snapshot of every tunnel (for show commands). */
  tunnels(now: Instant): readonly TunnelInfo[];
  /** The ids of every tunnel now (listings that yield take one {@link tunnelInfo} at a time). */
  tunnelIds?(): TunnelId[];
  /** One tunnel's snapshot, undefined once it is gone. */
  tunnelInfo?(tunnel: TunnelId): TunnelInfo | undefined;
  /**
   * Adds the number of tunnels and sessions in each state to `into` without building a snapshot
   * (a metrics scrape at 100k sessions must not allocate per session; issue 15 item 2).
   */
  countStates(into: StateCounts): void;
}

/** Tunnels and sessions by state ({@link L2tpControlApi.countStates}). */
export interface StateCounts {
  readonly tunnels: Map<TunnelState, number>;
  readonly sessions: Map<SessionState, number>;
}

/** The engine surface the shell drives (`handle…` / `handleTimeout` / `pollAt` / `pollTransmit` / `pollEvent`). Implemented by `L2tpEngine`. */
export interface L2tpEngineApi extends L2tpControlApi {
  /** Feed one received UDP datagram (control or data). Never throws on bad input. */
  handleDatagram(now: Instant, data: Uint8Array, from: PeerAddress): void;
  /** Run due timers. */
  handleTimeout(now: Instant): void;
  /** Earliest instant a timer is due, or undefined. */
  pollAt(): Instant | undefined;
  /** Next datagram to send, or undefined when drained. */
  pollTransmit(): Transmit | undefined;
  /** Next event, or undefined when drained. */
  pollEvent(): L2tpEvent | undefined;
}
