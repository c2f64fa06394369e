/**
 * Bounded turns for O(N) operator work (issue 15 item 2: `show sessions`, `show status`, metrics
 * scrapes, the status page over 100k sessions): the work counts what it did, and after `chunk`
 * items or `budgetMs` of wall time, whichever comes first, it gives the event loop one turn
 * (`setImmediate`: datagrams, timers and other requests run) before it goes on. The count makes
 * the slicing deterministic in tests; the time bound keeps a slice short however costly its items
 * are (a native counter read per session, a loaded machine).
 */

/** Items of one slice by default (sessions, tunnels count one each). */
export const SLICE_ITEMS = 2000;
/** Wall time of one slice by default, in milliseconds. */
export const SLICE_BUDGET_MS = 8;

/** One turn of the event loop (after the I/O the loop has waiting). */
export const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Counts work and says when to give the loop a turn. */
export class TurnSlicer {
  private done = 0;
  private since: number;
  /** Turns given so far. */
  turns = 0;

  /** `clock` in milliseconds (monotonic; `performance.now` by default). */
  constructor(
    private readonly chunk: number = SLICE_ITEMS,
    private readonly budgetMs: number = SLICE_BUDGET_MS,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.since = clock();
  }

  /**
   * Count `n` items done. When the slice is full, a promise that resolves after one turn of the loop
   * (await it); otherwise undefined (no await, no microtask per item).
   */
  step(n = 1): Promise<void> | undefined {
    this.done += n;
    if (this.done < this.chunk && this.clock() - this.since < this.budgetMs) return undefined;
    this.done = 0;
    this.turns++;
    return nextTurn().then(() => {
      this.since = this.clock();
    });
  }
}
