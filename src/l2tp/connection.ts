/**
 * The control-connection interface that `L2tpEngine` demultiplexes to, and what the engine lends each
 * connection. One object per control connection: an L2TPv2 tunnel (RFC 2661 §7, `Tunnel` in tunnel.ts)
 * today; an L2TPv3 control connection (RFC 3931 §3) is meant to be a sibling class implementing the
 * same interface, not a fork of the v2 code. What the versions share is already separate:
 *
 * - the reliable control channel (`ReliableChannel`, channel.ts: RFC 2661 §5.8 = RFC 3931 §4.2);
 * - the §7-style FSM tables (tunnel-fsm.ts, session-fsm.ts: RFC 3931 §7 keeps their shape);
 * - the data channel of a session (`DataChannel`, data.ts: sink binding, backlog, counters);
 * - the engine: version demultiplexing, the timer heap, the transmit and event FIFOs.
 *
 * What differs per version lives in the connection class: the header view `V` (v2: 16-bit Tunnel and
 * Session IDs, `L2tpHeaderView`; v3: 32-bit Control Connection ID, RFC 3931 §3.2.1), the AVPs and
 * message specs, the handshake (SCCRQ/SCCRP/SCCCN with v3's Assigned Control Connection ID and
 * Pseudowire Capabilities), and the data header (v3: 32-bit Session ID and optional cookie, §4.1.2.1).
 *
 * The engine finds a connection by `localId` for control messages. For v2 data messages it asks the
 * connection to find the session (`receiveData`); v3 data messages carry no connection id (RFC 3931
 * §4.1.2.1), so a v3 engine map goes from Session ID straight to the session's `DataChannel`.
 */
import type { Instant, RandomSource } from '../base/index.js';
import type { ResultCode, SessionId } from '../wire/l2tp/index.js';
import type { CdnCauses, EngineConfig, L2tpEvent, PeerAddress, SessionDataSink, SessionRequest, Transmit, TunnelInfo } from './api.js';

/**
 * One control connection as the engine drives it. `V` is the checked header view of its protocol
 * version; the engine has validated the header once and hands the view on (no second header parse).
 */
export interface ControlConnection<V> {
  /** Our id of the connection, the engine's demultiplexing key (v2 Tunnel ID; v3 Control Connection ID). */
  readonly localId: number;
  /** Where the peer is now: replies go to the address, port and channel (`via`) it last used. */
  readonly peer: PeerAddress;
  /** True once released for good; the engine drops it from its maps (`ConnectionHost.released`). */
  readonly released: boolean;
  /** A control message addressed to this connection, `datagram` checked as `view`. */
  receiveControl(now: Instant, datagram: Uint8Array, view: V, from: PeerAddress): void;
  /**
   * A data message for one of its sessions: the fast path. Finds the session, applies sequencing and
   * the offset bound, counts, and hands the frame to the session's sink. Never emits an event.
   */
  receiveData(now: Instant, view: V, from: PeerAddress): void;
  /** Run the connection's due timers (channel retransmits and acks, keepalive, idle, linger). */
  handleTimeout(now: Instant): void;
  /** The earliest of its deadlines, or undefined; the engine keeps one heap entry per connection. */
  pollAt(): Instant | undefined;
  /** Place a call (§7.4.1 / §7.5.2); undefined when the connection is closing. */
  openSession(now: Instant, request: SessionRequest): SessionId | undefined;
  /** Clear one session (CDN). */
  closeSession(now: Instant, session: SessionId, result: ResultCode, causes?: CdnCauses): void;
  /** Administrative close (StopCCN, §7.2.1). */
  close(now: Instant, result: ResultCode): void;
  /** Encapsulate one PPP frame of an established session (see `L2tpControlApi.sendData`). */
  sendData(session: SessionId, frame: Uint8Array, headroomFree: boolean): Transmit | undefined;
  /** Bind the data sink of a session (see `L2tpControlApi.bindSession`). */
  bindSession(now: Instant, session: SessionId, sink: SessionDataSink | undefined): boolean;
  /** A snapshot for show commands. */
  info(): TunnelInfo;
}

/** What the engine lends every connection: randomness, configuration and its shared output queues. */
export interface ConnectionHost {
  readonly random: RandomSource;
  readonly config: EngineConfig;
  /** Queue a datagram for `pollTransmit`. */
  transmit(t: Transmit): void;
  /** Queue an event for `pollEvent`. */
  event(e: L2tpEvent): void;
  /** The next Call Serial Number (§4.4.5), unique across the engine. */
  nextCallSerial(): number;
  /** The connection is gone for good: forget it in every index. */
  released(c: ControlConnection<unknown>): void;
}

/** A writable copy of a readonly record type (builders fill optional fields one by one). */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };
