/**
 * Graceful shutdown of the L2TP side: StopCCN (result 1, "administrative shutdown", RFC 2661
 * §4.4.2) on every live tunnel, then wait, bounded by a deadline, until every peer has acked it
 * (a ZLB after our StopCCN, or the tunnel gone). Event-driven: the wait re-checks when a datagram
 * arrives or an engine event is dispatched, and one timer bounds it.
 */
import type { ResultCode, TunnelId } from '../wire/l2tp/index.js';
import type { UdpEndpoint } from '../io/index.js';

/** StopCCN result sent on SIGTERM/SIGINT (§4.4.2 result 1). */
export const SHUTDOWN_RESULT: ResultCode = { result: 1, message: 'administrative shutdown' };

/** Tunnels we sent a StopCCN on, with the peer's ZLB count at that moment. */
type Pending = Map<UdpEndpoint, Map<TunnelId, number>>;

/** StopCCN on every live tunnel of `endpoints`; returns what to wait for (empty = nothing). */
export function stopAllTunnels(endpoints: readonly UdpEndpoint[]): Pending {
  const pending: Pending = new Map();
  for (const ep of endpoints) {
    const m = new Map<TunnelId, number>();
    ep.run((now, engine) => {
      for (const t of engine.tunnels(now)) {
        // Tunnels already closing (StopCCN sent or received) only linger to ack retransmissions.
        if (t.state === 'closed' || t.state === 'closing') continue;
        m.set(t.localTunnelId, t.counters.zlbRx);
        engine.closeTunnel(now, t.localTunnelId, SHUTDOWN_RESULT);
      }
    });
    if (m.size > 0) pending.set(ep, m);
  }
  return pending;
}

/** Number of tunnels in `pending`. */
export function pendingCount(pending: Pending): number {
  let n = 0;
  for (const m of pending.values()) n += m.size;
  return n;
}

/** True when every StopCCN in `pending` was acked (or its tunnel is gone). */
export function allAcked(pending: Pending): boolean {
  for (const [ep, m] of pending) {
    const live = new Map(ep.engine.tunnels(ep.now()).map((t) => [t.localTunnelId, t]));
    for (const [id, zlbBefore] of m) {
      const t = live.get(id);
      if (t === undefined || t.state === 'closed') continue;
      if (t.counters.zlbRx > zlbBefore) continue;
      return false;
    }
  }
  return true;
}

/**
 * Resolve once `done()` holds or after `graceMs`. `subscribe` registers the re-check (called on
 * every datagram and engine event) and returns how to unregister it.
 */
export function waitUntil(done: () => boolean, graceMs: number, subscribe: (check: () => void) => () => void): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      unsubscribe();
      resolve();
    };
    const timer = setTimeout(finish, graceMs);
    const unsubscribe = subscribe(() => {
      if (done()) finish();
    });
  });
}
