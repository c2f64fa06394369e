/**
 * Time as a value (STYLE §2). Protocol cores never read a clock: the I/O shell passes `now` in.
 * An `Instant` is milliseconds on an arbitrary monotonic timeline; a `Duration` is milliseconds.
 */

/** A point on the monotonic timeline, in milliseconds. */
export type Instant = number & { readonly __brand: 'Instant' };
/** A span of time, in milliseconds. */
export type Duration = number & { readonly __brand: 'Duration' };

/** Make an Instant from milliseconds. */
export const instant = (ms: number): Instant => ms as Instant;
/** Make a Duration from milliseconds. */
export const millis = (ms: number): Duration => ms as Duration;
/** Make a Duration from seconds. */
export const seconds = (s: number): Duration => (s * 1000) as Duration;
/** `t + d`. */
export const addDuration = (t: Instant, d: Duration): Instant => (t + d) as Instant;
/** `a - b` as a Duration (may be negative if b is later). */
export const since = (a: Instant, b: Instant): Duration => (a - b) as Duration;
/** The earlier of two optional instants (undefined means "never"). */
export function earliest(a: Instant | undefined, b: Instant | undefined): Instant | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}

/**
 * Every sans-I/O core follows this shape: feed it input and timeouts with the current instant,
 * ask it when it next wants to run. The shell arms one timer for the earliest `pollAt()` of all cores.
 */
export interface Timed {
  /** The next instant at which `handleTimeout` must be called, or undefined for "no timer armed". */
  pollAt(): Instant | undefined;
  /** Run any timers that are due at `now`. Calling it early is harmless. */
  handleTimeout(now: Instant): void;
}
