/**
 * The LAC side of the set-up benchmarks: our `L2tpEngine` on a real UDP socket (io shell:
 * UdpEndpoint + TimerDriver), opening tunnels and sessions towards one LNS with a bounded number
 * in flight, and timing them. A set-up is counted when the LAC's `session-established` event fires
 * (ICRP received, ICCN sent, RFC 2661 §7.4.1); the ICCN being acknowledged by the peer (a later
 * Nr covering it) is tracked separately.
 */
import { performance } from 'node:perf_hooks';
import { L2tpEngine, Results, defaultTunnelSettings, seqLt } from '../../src/l2tp/index.js';
import type { ChannelTuning, L2tpEvent, PeerAddress, TunnelSettings } from '../../src/l2tp/index.js';
import { UdpEndpoint } from '../../src/io/udp-endpoint.js';
import { TimerDriver } from '../../src/io/timer-driver.js';
import { systemClock } from '../../src/io/clock.js';
import { cryptoRandom } from '../../src/io/random.js';
import { MessageType, type SessionId, type TunnelId } from '../../src/wire/l2tp/types.js';
import { percentile } from './table.js';

/** Outcome of one set-up run. */
export interface SetupResult {
  /** Set-ups attempted. */
  readonly attempted: number;
  /** LAC `session-established` events for them. */
  readonly established: number;
  /** ICCNs acknowledged by the peer. */
  readonly iccnAcked: number;
  /** Tunnels/sessions that closed or failed before establishment. */
  readonly failed: number;
  /** Seconds from the first open to the last `session-established`. */
  readonly seconds: number;
  /** Seconds from the first open to the last ICCN acknowledgement. */
  readonly ackSeconds: number;
  /** The run hit its deadline before every set-up finished. */
  readonly timedOut: boolean;
  /** Set-up latency percentiles (ms), open to `session-established`. */
  readonly p50: number | undefined;
  readonly p99: number | undefined;
  /** Sessions the peer cleared (CDN) after establishment during the run. */
  readonly peerCdns: number;
  /** Control retransmissions by the LAC during the run. */
  readonly retransmits: number;
}

/** Established set-ups per second (attempted over the first-open..last-established span). */
export function rate(r: SetupResult | undefined): number | undefined {
  if (r === undefined || r.established === 0 || r.seconds <= 0) return undefined;
  return r.established / r.seconds;
}

type Listener = (e: L2tpEvent) => void;

/** Per-tunnel bookkeeping for ICCN acknowledgement tracking. */
interface IccnWait {
  /** Ns values of ICCNs sent and not yet covered by a received Nr. */
  readonly pending: number[];
}

/** A LAC engine bound to a UDP socket, with event fan-out and ICCN-ack tracking. */
export class Lac {
  private listener: Listener | undefined;
  private readonly iccn = new Map<number, IccnWait>();
  /** ICCNs acknowledged so far, and when the last was. */
  iccnAcked = 0;
  lastAckAt = 0;
  /** Retransmissions per local tunnel id since the last reset. */
  private readonly rexmit = new Map<number, number>();
  /** Sees every engine event before the load logic does (e.g. to tally close reasons). */
  tap: Listener | undefined;

  private constructor(
    readonly endpoint: UdpEndpoint,
    readonly timers: TimerDriver,
    readonly settings: TunnelSettings,
  ) {}

  /** Bind a LAC on `address` (ephemeral port); `tuning` overrides the defaults (§5.8 budgets, timers). */
  static async open(address: string, hostName = 'bench-lac', tuning: Partial<ChannelTuning> = {}): Promise<Lac> {
    const base = defaultTunnelSettings(hostName);
    const settings = { ...base, tuning: { ...base.tuning, ...tuning } };
    const engine = new L2tpEngine(
      { acceptTunnels: false, accept: settings, acceptIncomingCalls: false, acceptOutgoingCalls: false },
      { random: cryptoRandom },
    );
    const timers = new TimerDriver({ now: systemClock.now, unref: true });
    const box: { lac?: Lac } = {};
    const endpoint = await UdpEndpoint.open({
      engine,
      address,
      port: 0,
      clock: systemClock,
      timers,
      onEvent: (e) => box.lac?.onEvent(e),
      onError: (e) => {
        console.error(`lac socket error: ${e.message}`);
      },
    });
    const lac = new Lac(endpoint, timers, settings);
    box.lac = lac;
    return lac;
  }

  private onEvent(e: L2tpEvent): void {
    if (e.type === 'control-tx' && e.messageType === MessageType.ICCN) {
      let w = this.iccn.get(e.tunnel);
      if (w === undefined) {
        w = { pending: [] };
        this.iccn.set(e.tunnel, w);
      }
      if (!w.pending.includes(e.ns)) w.pending.push(e.ns);
    } else if (e.type === 'control-rx') {
      const w = this.iccn.get(e.tunnel);
      if (w !== undefined && w.pending.length > 0) {
        const before = w.pending.length;
        for (let i = w.pending.length - 1; i >= 0; i--) {
          if (seqLt(w.pending[i] as number, e.nr)) w.pending.splice(i, 1);
        }
        if (w.pending.length < before) {
          this.iccnAcked += before - w.pending.length;
          this.lastAckAt = performance.now();
        }
      }
    } else if (e.type === 'retransmit') {
      this.rexmit.set(e.tunnel, (this.rexmit.get(e.tunnel) ?? 0) + 1);
    }
    this.tap?.(e);
    this.listener?.(e);
  }

  /** ICCNs still waiting for an acknowledgement. */
  get iccnPending(): number {
    let n = 0;
    for (const w of this.iccn.values()) n += w.pending.length;
    return n;
  }

  /** Reset ack counters between runs. */
  private resetAcks(): void {
    this.iccn.clear();
    this.iccnAcked = 0;
    this.lastAckAt = 0;
    this.rexmit.clear();
  }

  /** Retransmissions on these tunnels since the last reset. */
  private retransmitsOn(tunnels: Iterable<number>): number {
    let n = 0;
    for (const t of tunnels) n += this.rexmit.get(t) ?? 0;
    return n;
  }

  /**
   * Open `count` tunnels to `peer`, each with one incoming call (ICRQ/ICRP/ICCN), at most `window`
   * in flight, bounded by `timeoutMs`. Leaves the tunnels open (see `closeAll`).
   */
  async tunnelSetups(peer: PeerAddress, count: number, window: number, timeoutMs: number): Promise<{ result: SetupResult; tunnels: TunnelId[] }> {
    this.resetAcks();
    const started = new Map<number, { t0: number; done: boolean }>();
    const tunnels: TunnelId[] = [];
    const latencies: number[] = [];
    let inflight = 0;
    let established = 0;
    let failed = 0;
    let peerCdns = 0;
    let lastEst = 0;
    const t0 = performance.now();
    const deadline = t0 + timeoutMs;
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((r) => {
      finish = r;
    });
    const pump = (): void => {
      if (established + failed >= count) {
        finish();
        return;
      }
      while (inflight < window && tunnels.length < count && performance.now() < deadline) {
        this.endpoint.run((now, engine) => {
          const tid = engine.openTunnel(now, peer, this.settings);
          tunnels.push(tid);
          started.set(tid, { t0: performance.now(), done: false });
          inflight++;
          if (engine.openSession(now, tid, { direction: 'incoming', callingNumber: `bench-${tunnels.length}` }) === undefined) {
            failed++;
            inflight--;
            started.delete(tid);
          }
        });
      }
    };
    let pumpQueued = false;
    const schedulePump = (): void => {
      if (pumpQueued) return;
      pumpQueued = true;
      queueMicrotask(() => {
        pumpQueued = false;
        pump();
      });
    };
    this.listener = (e) => {
      if (e.type === 'session-established') {
        const s = started.get(e.tunnel);
        if (s === undefined || s.done) return;
        s.done = true;
        const t = performance.now();
        latencies.push(t - s.t0);
        lastEst = t;
        established++;
        inflight--;
        schedulePump();
      } else if (e.type === 'tunnel-closed' || e.type === 'session-closed') {
        const s = started.get(e.tunnel);
        if (s === undefined) return;
        if (s.done) {
          if (e.type === 'session-closed' && e.reason.by === 'peer') peerCdns++;
          return;
        }
        s.done = true;
        failed++;
        inflight--;
        schedulePump();
      }
    };
    pump();
    const timer = setTimeout(finish, Math.max(0, deadline - performance.now()));
    await finished;
    clearTimeout(timer);
    await this.waitAcks(Math.min(2000, Math.max(0, deadline + 2000 - performance.now())));
    this.listener = undefined;
    const result: SetupResult = {
      attempted: count,
      established,
      iccnAcked: this.iccnAcked,
      failed,
      seconds: (lastEst - t0) / 1000,
      ackSeconds: (this.lastAckAt - t0) / 1000,
      timedOut: established + failed < count,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      peerCdns,
      retransmits: this.retransmitsOn(tunnels),
    };
    return { result, tunnels };
  }

  /** Open one tunnel to `peer` and wait (bounded) for it to be established. */
  async openTunnel(peer: PeerAddress, timeoutMs: number): Promise<TunnelId | undefined> {
    let tid: TunnelId | undefined;
    const up = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.listener = (e) => {
        if (e.type === 'tunnel-established' && e.tunnel === tid) {
          clearTimeout(timer);
          resolve(true);
        } else if (e.type === 'tunnel-closed' && e.tunnel === tid) {
          clearTimeout(timer);
          resolve(false);
        }
      };
      tid = this.endpoint.run((now, engine) => engine.openTunnel(now, peer, this.settings));
    });
    const ok = await up;
    this.listener = undefined;
    return ok ? tid : undefined;
  }

  /**
   * Place `count` incoming calls on one established tunnel, at most `window` in flight, bounded by
   * `timeoutMs`. Sessions stay up (closed with the tunnel).
   */
  async sessionSetups(tunnel: TunnelId, count: number, window: number, timeoutMs: number): Promise<SetupResult> {
    this.resetAcks();
    const started = new Map<number, { t0: number; done: boolean }>();
    const latencies: number[] = [];
    let opened = 0;
    let inflight = 0;
    let established = 0;
    let failed = 0;
    let peerCdns = 0;
    let lastEst = 0;
    let tunnelGone = false;
    const t0 = performance.now();
    const deadline = t0 + timeoutMs;
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((r) => {
      finish = r;
    });
    const pump = (): void => {
      if (established + failed >= count || tunnelGone) {
        finish();
        return;
      }
      while (inflight < window && opened < count && performance.now() < deadline) {
        opened++;
        const sid = this.endpoint.run((now, engine) => engine.openSession(now, tunnel, { direction: 'incoming', callingNumber: `bench-${opened}` }));
        if (sid === undefined) {
          failed++;
          continue;
        }
        started.set(sid, { t0: performance.now(), done: false });
        inflight++;
      }
    };
    let pumpQueued = false;
    const schedulePump = (): void => {
      if (pumpQueued) return;
      pumpQueued = true;
      queueMicrotask(() => {
        pumpQueued = false;
        pump();
      });
    };
    const settle = (sid: SessionId, ok: boolean): void => {
      const s = started.get(sid);
      if (s === undefined || s.done) return;
      s.done = true;
      inflight--;
      if (ok) {
        const t = performance.now();
        latencies.push(t - s.t0);
        lastEst = t;
        established++;
      } else {
        failed++;
      }
      schedulePump();
    };
    this.listener = (e) => {
      if (e.type === 'session-established' && e.tunnel === tunnel) settle(e.session, true);
      else if (e.type === 'session-closed' && e.tunnel === tunnel) {
        const s = started.get(e.session);
        if (s?.done === true) {
          if (e.reason.by === 'peer') peerCdns++;
        } else settle(e.session, false);
      } else if (e.type === 'tunnel-closed' && e.tunnel === tunnel) {
        tunnelGone = true;
        finish();
      }
    };
    pump();
    const timer = setTimeout(finish, Math.max(0, deadline - performance.now()));
    await finished;
    clearTimeout(timer);
    await this.waitAcks(Math.min(2000, Math.max(0, deadline + 2000 - performance.now())));
    this.listener = undefined;
    return {
      attempted: count,
      established,
      iccnAcked: this.iccnAcked,
      failed,
      seconds: (lastEst - t0) / 1000,
      ackSeconds: (this.lastAckAt - t0) / 1000,
      timedOut: !tunnelGone && established + failed < count,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      peerCdns,
      retransmits: this.retransmitsOn([tunnel]),
    };
  }

  /** Wait until every ICCN sent is acknowledged, or `ms` elapse. */
  private async waitAcks(ms: number): Promise<void> {
    const until = performance.now() + ms;
    while (this.iccnPending > 0 && performance.now() < until) await sleep(10);
  }

  /**
   * StopCCN every tunnel given, in batches of 25 (a burst of hundreds overflows a default socket
   * receive buffer), then wait `settleMs` for the acknowledgements.
   */
  async closeAll(tunnels: readonly TunnelId[], settleMs = 500): Promise<void> {
    for (let i = 0; i < tunnels.length; i += 25) {
      const batch = tunnels.slice(i, i + 25);
      this.endpoint.run((now, engine) => {
        for (const t of batch) engine.closeTunnel(now, t, Results.stopClear);
      });
      await sleep(10);
    }
    await sleep(settleMs);
  }

  /** Close the socket and timers. */
  async close(): Promise<void> {
    await this.endpoint.close();
    this.timers.close();
  }
}

/** Sleep `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
