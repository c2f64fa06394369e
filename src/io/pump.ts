/**
 * The one way the I/O shell drives a sans-I/O core (docs/ARCHITECTURE.md "Sans-I/O cores"): every
 * core offers `handle…(now, input)` / `handleTimeout(now)` / `pollAt()` / `pollTransmit()` /
 * `pollEvent()`, and a `Pump` does the rest for any of them — the L2TP engine (udp-endpoint.ts), the
 * IPsec/L2TP gate (ipsec-transport.ts), the access server and clients (daemon), IKE cores next:
 *
 * - it registers the core with the shared `TimerDriver` (one host timer for all cores) and drains it
 *   after each of its timeouts;
 * - `drain()` sends every transmit, delivers every event (bounded per turn; the rest on the next
 *   turn), re-arms the timer, then drains the pumps chained behind it (cores fed by this one, such as
 *   the access server behind the engine, whose data sinks ran inside the engine's input);
 * - `run(op)` feeds the core input with the current instant, then drains.
 *
 * Errors thrown by the core or by the callbacks are reported to `onError`, never thrown to the socket.
 */
import type { Instant, Timed } from '../base/index.js';
import type { Clock } from './clock.js';
import type { TimerDriver } from './timer-driver.js';

/** A core as the pump sees it: timers plus the two output queues. */
export interface PolledCore<T, E> extends Timed {
  /** Next datagram / packet to send, or undefined when drained. */
  pollTransmit(): T | undefined;
  /** Next event, or undefined when drained. */
  pollEvent(): E | undefined;
}

/** Anything that can be drained after another pump (see `Pump.chain`). */
export interface Drainable {
  drain(): void;
}

/** Options of a pump. */
export interface PumpOptions<T, E> {
  readonly clock: Clock;
  readonly timers: TimerDriver;
  /** Send one transmit (called synchronously while draining). */
  readonly transmit: (t: T) => void;
  /** Deliver one event (called synchronously while draining). */
  readonly event: (e: E) => void;
  /** A thrown core or callback; default: ignored. */
  readonly onError?: (e: Error) => void;
  /** Called after each drain with the numbers of transmits and events moved (e.g. to kick another pump). */
  readonly after?: (transmits: number, events: number) => void;
  /** Most transmits and events moved per turn before yielding to the event loop (default 1024 each). */
  readonly maxDrain?: number;
}

/** Drives one core: timer, transmits, events, chained pumps. */
export class Pump<T, E> implements Drainable {
  private readonly maxDrain: number;
  private readonly removeTimer: () => void;
  private readonly chained = new Set<Drainable>();
  private draining = false;
  /** A drain was asked for while draining: run the queues once more. */
  private again = false;
  /** Transmits and events moved by the running drain, and whether a queue hit `maxDrain`. */
  private sent = 0;
  private delivered = 0;
  private more = false;
  private resumeScheduled = false;
  private kickQueued = false;
  private closed = false;

  /** Start driving `core` (its timer is armed at once). */
  constructor(
    readonly core: PolledCore<T, E>,
    private readonly options: PumpOptions<T, E>,
  ) {
    this.maxDrain = options.maxDrain ?? 1024;
    this.removeTimer = options.timers.add(core, () => {
      this.drain();
    });
  }

  /** The current instant of the pump's clock. */
  now(): Instant {
    return this.options.clock.now();
  }

  /** Feed the core (`op` gets the current instant), then drain it. Returns what `op` returns. */
  run<R>(op: (now: Instant) => R): R {
    try {
      return op(this.now());
    } finally {
      this.drain();
    }
  }

  /**
   * Drain now: transmits, events, timer, then the chained pumps (and once more what they caused here).
   * A call from inside a drain (an event handler feeding the core) is folded into the running one.
   */
  drain(): void {
    if (this.closed) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = true;
    this.sent = 0;
    this.delivered = 0;
    this.more = false;
    try {
      do {
        this.again = false;
        this.drainOnce();
      } while (this.again && !this.more);
      this.options.timers.touch(this.core);
      if (this.chained.size > 0) {
        for (const c of this.chained) c.drain();
        if (this.again && !this.more) {
          this.again = false;
          this.drainOnce();
          this.options.timers.touch(this.core);
        }
      }
    } finally {
      this.draining = false;
    }
    const { sent, delivered, more } = this;
    this.options.after?.(sent, delivered);
    if (more) this.resumeLater();
  }

  /** Drain in a microtask (coalesced): for cores that got input outside this pump's own `run`. */
  kick(): void {
    if (this.kickQueued || this.closed) return;
    this.kickQueued = true;
    queueMicrotask(() => {
      this.kickQueued = false;
      this.drain();
    });
  }

  /**
   * Drain `next` after each drain of this pump (a core this one feeds, e.g. through a data sink);
   * returns a function that undoes it. Chains go one way: output of `next` that needs this pump
   * drained again is folded in once, or signalled with `kick()`.
   */
  chain(next: Drainable): () => void {
    this.chained.add(next);
    return () => {
      this.chained.delete(next);
    };
  }

  /** Stop: drain one last time, remove the timer, forget the chained pumps. */
  close(): void {
    if (this.closed) return;
    this.drain();
    this.closed = true;
    this.chained.clear();
    this.removeTimer();
  }

  /** One pass over both queues, each bounded by `maxDrain`; counts into `sent` / `delivered`, sets `more`. */
  private drainOnce(): void {
    const o = this.options;
    for (let i = 0; ; i++) {
      if (i >= this.maxDrain) {
        this.more = true;
        break;
      }
      let t: T | undefined;
      try {
        t = this.core.pollTransmit();
        if (t === undefined) break;
        this.sent++;
        o.transmit(t);
      } catch (e) {
        this.failed(e);
        if (t === undefined) break;
      }
    }
    for (let i = 0; ; i++) {
      if (i >= this.maxDrain) {
        this.more = true;
        break;
      }
      let e: E | undefined;
      try {
        e = this.core.pollEvent();
        if (e === undefined) break;
        this.delivered++;
        o.event(e);
      } catch (error) {
        this.failed(error);
        if (e === undefined) break;
      }
    }
  }

  private resumeLater(): void {
    if (this.resumeScheduled) return;
    this.resumeScheduled = true;
    setImmediate(() => {
      this.resumeScheduled = false;
      this.drain();
    });
  }

  private failed(e: unknown): void {
    this.options.onError?.(e instanceof Error ? e : new Error(String(e)));
  }
}
