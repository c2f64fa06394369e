/**
 * The daemon's one event queue. Every event a core hands up (L2TP engine events from the endpoints,
 * IPsec gate events) is pushed here and dispatched in arrival order, one at a time: a handler that
 * drives a core (an `endpoint.run`, a PPP flush that drains the engine) may make that core emit more
 * events, and those wait until the current handler has returned instead of being handled inside
 * it. This is what the old `queueMicrotask` deferrals papered over: a nested drain delivered the
 * next events to every handler while the first event was still half handled.
 */

/** A FIFO dispatched to one handler, never re-entered. */
export class EventQueue<E> {
  private readonly queue: E[] = [];
  private head = 0;
  private running = false;

  /** `handle` gets every event in order; `onError` what a handler threw (the queue goes on). */
  constructor(
    private readonly handle: (e: E) => void,
    private readonly onError: (error: unknown, e: E) => void,
  ) {}

  /** Queue `e`; dispatch now unless a dispatch is running (then it comes after the current handler). */
  push(e: E): void {
    this.queue.push(e);
    if (!this.running) this.run();
  }

  /** Whether a handler is running (events pushed now are handled after it returns). */
  get dispatching(): boolean {
    return this.running;
  }

  private run(): void {
    this.running = true;
    try {
      while (this.head < this.queue.length) {
        const e = this.queue[this.head++] as E;
        try {
          this.handle(e);
        } catch (error) {
          this.onError(error, e);
        }
      }
    } finally {
      this.queue.length = 0;
      this.head = 0;
      this.running = false;
    }
  }
}
