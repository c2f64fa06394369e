/**
 * An L2TP engine that reports every datagram it is fed. The graceful shutdown waits for the peers'
 * ZLB acks of our StopCCNs, and an ack raises no engine event (§5.8: a ZLB only moves Nr), so the
 * shutdown re-checks its tunnels on input instead of polling a timer.
 */
import type { Instant } from '../base/index.js';
import type {
  CdnCauses, L2tpEngineApi, L2tpEvent, PeerAddress, SessionDataSink, SessionRequest, StateCounts, TunnelInfo, TunnelSettings, Transmit,
} from '../l2tp/index.js';
import type { ResultCode, SessionId, TunnelId } from '../wire/l2tp/index.js';

/** Delegates to `inner`; calls `onInput` (when set) after each `handleDatagram`. */
export class TappedEngine implements L2tpEngineApi {
  /** Called after every datagram; undefined = nobody listens (the usual case). */
  onInput: (() => void) | undefined = undefined;

  /** Wrap `inner`. */
  constructor(private readonly inner: L2tpEngineApi) {}

  /** As L2tpEngineApi.handleDatagram, then `onInput`. */
  handleDatagram(now: Instant, data: Uint8Array, from: PeerAddress): void {
    this.inner.handleDatagram(now, data, from);
    this.onInput?.();
  }
  /** As L2tpEngineApi. */
  handleTimeout(now: Instant): void {
    this.inner.handleTimeout(now);
  }
  /** As L2tpEngineApi. */
  pollAt(): Instant | undefined {
    return this.inner.pollAt();
  }
  /** As L2tpEngineApi. */
  pollTransmit(): Transmit | undefined {
    return this.inner.pollTransmit();
  }
  /** As L2tpEngineApi. */
  pollEvent(): L2tpEvent | undefined {
    return this.inner.pollEvent();
  }
  /** As L2tpEngineApi. */
  openTunnel(now: Instant, peer: PeerAddress, settings: TunnelSettings): TunnelId {
    return this.inner.openTunnel(now, peer, settings);
  }
  /** As L2tpEngineApi. */
  openSession(now: Instant, tunnel: TunnelId, request: SessionRequest): SessionId | undefined {
    return this.inner.openSession(now, tunnel, request);
  }
  /** As L2tpEngineApi. */
  closeSession(now: Instant, tunnel: TunnelId, session: SessionId, result: ResultCode, causes?: CdnCauses): void {
    this.inner.closeSession(now, tunnel, session, result, causes);
  }
  /** As L2tpEngineApi. */
  closeTunnel(now: Instant, tunnel: TunnelId, result: ResultCode): void {
    this.inner.closeTunnel(now, tunnel, result);
  }
  /** As L2tpEngineApi. */
  sendData(now: Instant, tunnel: TunnelId, session: SessionId, pppFrame: Uint8Array, headroomFree?: boolean): Transmit | undefined {
    return this.inner.sendData(now, tunnel, session, pppFrame, headroomFree);
  }
  /** As L2tpEngineApi. */
  bindSession(now: Instant, tunnel: TunnelId, session: SessionId, sink: SessionDataSink | undefined): boolean {
    return this.inner.bindSession(now, tunnel, session, sink);
  }
  /** As L2tpEngineApi. */
  tunnels(now: Instant): readonly TunnelInfo[] {
    return this.inner.tunnels(now);
  }
  /** As L2tpEngineApi. */
  countStates(into: StateCounts): void {
    this.inner.countStates(into);
  }
  /** As L2tpEngineApi. */
  tunnelIds(): TunnelId[] {
    return this.inner.tunnelIds?.() ?? this.inner.tunnels(0 as Instant).map((t) => t.localTunnelId);
  }
  /** As L2tpEngineApi. */
  tunnelInfo(tunnel: TunnelId): TunnelInfo | undefined {
    return this.inner.tunnelInfo?.(tunnel) ?? this.inner.tunnels(0 as Instant).find((t) => t.localTunnelId === tunnel);
  }
}
