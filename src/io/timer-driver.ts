/**
 * One timer for many sans-I/O cores (STYLE §1): every `Timed` core says when it next wants to run
 * (`pollAt`), and the driver keeps a single `setTimeout` armed for the earliest of them.
 *
 * The shell calls `touch(core)` after it feeds a core input (its `pollAt` may have moved); the driver
 * caches each core's deadline so a wake-up only calls `handleTimeout` on cores that are due.
 */
import type { Instant, Timed } from '../base/index.js';

/** How the driver arms a host timer (injected so tests can use a virtual one). */
export interface TimerScheduler {
  /** Call `callback` once after `delayMs`; returns a handle for `clear`. */
  set(callback: () => void, delayMs: number): unknown;
  /** Cancel a pending timer. */
  clear(handle: unknown): void;
  /** Let the process exit while this timer is pending (optional). */
  unref?(handle: unknown): void;
}

/** Options of a TimerDriver. */
export interface TimerDriverOptions {
  /** The clock, e.g. `now` from clock.ts. */
  readonly now: () => Instant;
  /** Host timer; default: node setTimeout/clearTimeout. */
  readonly scheduler?: TimerScheduler;
  /** Do not keep the process alive just for this timer. */
  readonly unref?: boolean;
  /** Called when a core's handleTimeout (or its after-hook) throws; default rethrows asynchronously. */
  readonly onError?: (error: unknown) => void;
  /**
   * Wake at most once per this many ms: the host timer is armed for the end of the `coalesceMs`
   * window holding the earliest deadline, so every deadline of that window runs in one wake-up
   * (at most `coalesceMs` late). 0 (default) = wake at each deadline. At 100k sessions the echo
   * timers of one window then cost one wake-up instead of one each (issue 15: idle CPU).
   */
  readonly coalesceMs?: number;
}

/** Node's setTimeout as a TimerScheduler. */
export const nodeScheduler: TimerScheduler = {
  set: (callback, delayMs) => setTimeout(callback, delayMs),
  clear: (handle) => {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
  unref: (handle) => {
    (handle as ReturnType<typeof setTimeout>).unref();
  },
};

/** The longest delay setTimeout accepts (2^31-1 ms); later deadlines are re-armed in steps. */
const MAX_DELAY_MS = 0x7fffffff;

interface Entry {
  readonly core: Timed;
  readonly after: ((now: Instant) => void) | undefined;
  deadline: Instant | undefined;
}

/** Drives the timers of many cores with one host timer. */
export class TimerDriver {
  private readonly entries = new Map<Timed, Entry>();
  private readonly scheduler: TimerScheduler;
  private handle: unknown = undefined;
  private armed: Instant | undefined = undefined;
  private firing = false;
  private closed = false;
  /** Number of host-timer wake-ups so far (for tests and metrics). */
  wakeups = 0;

  /** Create a driver; it arms nothing until a core is added. */
  constructor(private readonly options: TimerDriverOptions) {
    this.scheduler = options.scheduler ?? nodeScheduler;
  }

  /**
   * Start driving `core`. `after` runs right after each `handleTimeout` of this core (the shell drains
   * the core's transmits and events there). Returns a function that removes the core.
   */
  add(core: Timed, after?: (now: Instant) => void): () => void {
    this.entries.set(core, { core, after, deadline: core.pollAt() });
    this.rearm();
    return () => {
      this.remove(core);
    };
  }

  /** Stop driving `core`. */
  remove(core: Timed): void {
    if (this.entries.delete(core)) this.rearm();
  }

  /**
   * Tell the driver that `core` got input and its `pollAt` may have changed; re-arms the timer. An
   * unchanged deadline costs one `pollAt` (the data path touches after every datagram).
   */
  touch(core: Timed): void {
    const e = this.entries.get(core);
    if (e === undefined) return;
    const at = e.core.pollAt();
    if (at === e.deadline && (at === undefined || this.handle !== undefined || this.firing)) return;
    e.deadline = at;
    this.rearm();
  }

  /** Re-read every core's `pollAt` and re-arm (use after changing several cores at once). */
  refresh(): void {
    for (const e of this.entries.values()) e.deadline = e.core.pollAt();
    this.rearm();
  }

  /** The instant the host timer is armed for, or undefined when idle. */
  get armedAt(): Instant | undefined {
    return this.armed;
  }

  /** The number of cores driven. */
  get size(): number {
    return this.entries.size;
  }

  /** The number of driven cores that want a wake-up now (`pollAt()` re-read, not cached). */
  get pending(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.core.pollAt() !== undefined) n++;
    return n;
  }

  /** Cancel the host timer and forget every core. */
  close(): void {
    this.closed = true;
    this.entries.clear();
    this.disarm();
  }

  /** Run every due core now (the host timer callback; also callable directly in tests). */
  fire(): void {
    if (this.closed) return;
    this.handle = undefined;
    this.armed = undefined;
    this.wakeups++;
    this.firing = true;
    try {
      const now = this.options.now();
      // Snapshot: a core's hook may add or remove cores.
      for (const e of [...this.entries.values()]) {
        if (e.deadline === undefined || e.deadline > now) continue;
        if (!this.entries.has(e.core)) continue;
        try {
          e.core.handleTimeout(now);
          e.after?.(now);
        } catch (error) {
          this.reportError(error);
        }
        e.deadline = e.core.pollAt();
      }
    } finally {
      this.firing = false;
    }
    this.rearm();
  }

  private rearm(): void {
    if (this.closed || this.firing) return;
    let min: Instant | undefined;
    for (const e of this.entries.values()) {
      if (e.deadline !== undefined && (min === undefined || e.deadline < min)) min = e.deadline;
    }
    const step = this.options.coalesceMs ?? 0;
    const at = min === undefined || step <= 0 ? min : ((Math.ceil(min / step) * step) as Instant);
    if (at === this.armed && (at === undefined || this.handle !== undefined)) return;
    // A deadline that moved later keeps the armed timer: its wake-up finds nothing due and arms the
    // new one. Under load deadlines move on every datagram (an ack timer replaced by a retransmit
    // timer...): this saves a clearTimeout + setTimeout pair each time.
    if (at !== undefined && this.handle !== undefined && this.armed !== undefined && at > this.armed) return;
    this.disarm();
    if (at === undefined) return;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, Math.ceil(at - this.options.now())));
    this.armed = at;
    this.handle = this.scheduler.set(() => {
      this.fire();
    }, delay);
    if (this.options.unref === true) this.scheduler.unref?.(this.handle);
  }

  private disarm(): void {
    if (this.handle !== undefined) this.scheduler.clear(this.handle);
    this.handle = undefined;
    this.armed = undefined;
  }

  private reportError(error: unknown): void {
    if (this.options.onError !== undefined) {
      this.options.onError(error);
      return;
    }
    queueMicrotask(() => {
      throw error;
    });
  }
}
