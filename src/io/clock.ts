/**
 * The process clock, read only in the shell (STYLE §1-2): cores get `now` passed in.
 * `performance.now()` is monotonic, so NTP steps never move timers.
 */
import { performance } from 'node:perf_hooks';
import type { Instant } from '../base/index.js';

/** Something that tells the current instant (the system clock, or a virtual one in tests). */
export interface Clock {
  /** The current instant on the monotonic timeline (a function property: safe to pass around). */
  readonly now: () => Instant;
}

/** The current monotonic instant in milliseconds (`performance.now()`). */
export function now(): Instant {
  return performance.now() as Instant;
}

/** The process' monotonic clock. */
export const systemClock: Clock = { now };
