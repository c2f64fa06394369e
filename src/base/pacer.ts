/**
 * A send pacer shared by thousands of keepalive timers: at most `perSlot` sends start in each
 * `slot`-long window; a send that finds its window full is given the first later window with room
 * (FIFO, O(1) per call, no queue and no callbacks — the caller re-arms its own timer at the
 * returned instant and sends then without asking again).
 */
import type { Duration, Instant } from './time.js';

/** The one method a keepalive needs from a pacer. */
export interface SendPacer {
  /** Reserve a send: `now` when it may leave at once, else the later instant it is booked for. */
  admit(now: Instant): Instant;
}

/** Fixed windows of `slot` ms holding at most `perSlot` sends each (see module comment). */
export class SlotPacer implements SendPacer {
  /** Start of the latest window with bookings (may lie in the future when bookings queue up). */
  private frontier = Number.NEGATIVE_INFINITY;
  private used = 0;
  /** Sends that had to wait for a later window (for metrics). */
  deferred = 0;

  /** `slot` > 0, `perSlot` >= 1. */
  constructor(
    readonly slot: Duration,
    readonly perSlot: number,
  ) {
    if (!(slot > 0) || !(perSlot >= 1)) throw new RangeError('SlotPacer: slot > 0 and perSlot >= 1');
  }

  /** See {@link SendPacer.admit}. */
  admit(now: Instant): Instant {
    const current = Math.floor(now / this.slot) * this.slot;
    if (this.frontier < current) {
      this.frontier = current;
      this.used = 0;
    }
    if (this.used < this.perSlot) {
      this.used++;
      if (this.frontier <= now) return now;
      this.deferred++;
      return this.frontier as Instant;
    }
    this.frontier += this.slot;
    this.used = 1;
    this.deferred++;
    return this.frontier as Instant;
  }
}
