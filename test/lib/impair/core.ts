/**
 * The decision core of the UDP impairment proxy, sans-I/O (STYLE §1): given a datagram and the time
 * it arrived, it says when (if ever, and how many times) to deliver it. Seeded, so one seed and one
 * arrival sequence give one set of decisions. The proxy shell (proxy.ts) owns sockets and timers.
 *
 * Per datagram, in this order (only for datagrams the `match` predicate selects; the others get the
 * base delay only and are counted as `passed`):
 *   1. blackout: inside [blackout.fromMs, blackout.toMs) of the core's clock, dropped;
 *   2. loss: dropped with probability `loss`;
 *   3. delay: delivered after `delayMs` + uniform [0, jitterMs);
 *   4. reorder: with probability `reorder`, held back `reorderMs` more, so later datagrams overtake it;
 *   5. duplicate: with probability `duplicate`, a second copy `duplicateGapMs` after the first.
 */
import type { RandomSource } from '../../../src/base/random.js';

/** Impairments of one direction. Probabilities are in [0, 1]; times in ms. */
export interface ImpairmentConfig {
  readonly loss?: number;
  readonly duplicate?: number;
  readonly reorder?: number;
  /** Extra hold of a reordered datagram (default 20 ms). */
  readonly reorderMs?: number;
  readonly delayMs?: number;
  readonly jitterMs?: number;
  /** Gap between a datagram and its duplicate (default 1 ms). */
  readonly duplicateGapMs?: number;
  /** Drop everything selected in [fromMs, toMs) (times on the clock given to `decide`). */
  readonly blackout?: { readonly fromMs: number; readonly toMs: number };
  /** Which datagrams are impaired (default all); the others only get the base delay. */
  readonly match?: (data: Uint8Array) => boolean;
}

/** Counters of one direction. */
export interface ImpairmentCounters {
  /** Datagrams offered to the core. */
  received: number;
  /** Offered datagrams the `match` predicate selected. */
  matched: number;
  /** Not selected: delivered with the base delay only. */
  passed: number;
  /** Dropped by the loss probability. */
  lost: number;
  /** Dropped inside the blackout window. */
  blackedOut: number;
  /** Held back so that later datagrams overtake them. */
  reordered: number;
  /** Extra copies made. */
  duplicated: number;
  /** Deliveries scheduled (originals and copies). */
  delivered: number;
}

/** One delivery the shell must make at `at` (ms on the core's clock). */
export interface Delivery {
  readonly at: number;
  readonly data: Uint8Array;
}

/** L2TP control messages only (RFC 2661 §3.1: T bit set), for "impair the control channel". */
export const l2tpControlOnly = (d: Uint8Array): boolean => d.length > 0 && ((d[0] ?? 0) & 0x80) !== 0;

/** Fresh zero counters. */
export function zeroCounters(): ImpairmentCounters {
  return { received: 0, matched: 0, passed: 0, lost: 0, blackedOut: 0, reordered: 0, duplicated: 0, delivered: 0 };
}

/** The impairment decisions of one direction. */
export class ImpairmentCore {
  readonly counters: ImpairmentCounters = zeroCounters();
  private blackout: { readonly fromMs: number; readonly toMs: number } | undefined;

  constructor(
    private readonly config: ImpairmentConfig,
    private readonly random: RandomSource,
  ) {
    for (const k of ['loss', 'duplicate', 'reorder'] as const) {
      const p = config[k] ?? 0;
      if (!(p >= 0 && p <= 1)) throw new RangeError(`${k} ${p} not in [0, 1]`);
    }
    this.blackout = config.blackout;
  }

  /** Start (or replace) the blackout window: drop everything selected in [fromMs, toMs). */
  setBlackout(fromMs: number, toMs: number): void {
    this.blackout = { fromMs, toMs };
  }

  /** A uniform draw in [0, 1). */
  private draw(): number {
    return this.random.u32() / 0x1_0000_0000;
  }

  /** Decide the fate of `data` arriving at `now`: zero, one or two deliveries. */
  decide(now: number, data: Uint8Array): Delivery[] {
    const c = this.config;
    const n = this.counters;
    n.received++;
    const base = c.delayMs ?? 0;
    if (c.match !== undefined && !c.match(data)) {
      n.passed++;
      n.delivered++;
      return [{ at: now + base, data }];
    }
    n.matched++;
    // Draw every decision for every selected datagram, so one datagram's fate never shifts the
    // random stream of the next (seeded runs stay comparable when one knob changes).
    const lossDraw = this.draw();
    const jitter = this.draw() * (c.jitterMs ?? 0);
    const reorderDraw = this.draw();
    const dupDraw = this.draw();
    const b = this.blackout;
    if (b !== undefined && now >= b.fromMs && now < b.toMs) {
      n.blackedOut++;
      return [];
    }
    if (lossDraw < (c.loss ?? 0)) {
      n.lost++;
      return [];
    }
    let at = now + base + jitter;
    if (reorderDraw < (c.reorder ?? 0)) {
      n.reordered++;
      at += c.reorderMs ?? 20;
    }
    const out: Delivery[] = [{ at, data }];
    if (dupDraw < (c.duplicate ?? 0)) {
      n.duplicated++;
      out.push({ at: at + (c.duplicateGapMs ?? 1), data });
    }
    n.delivered += out.length;
    return out;
  }
}
