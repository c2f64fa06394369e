/**
 * Small allocation-light containers for the cores: a FIFO with O(1) shift and a min-heap of
 * timer deadlines keyed by number (one timer queue for thousands of tunnels or links, STYLE §1).
 */

/** A FIFO queue with amortised O(1) push and shift. */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  /** Number of queued items. */
  get length(): number {
    return this.items.length - this.head;
  }
  /** Append an item. */
  push(item: T): void {
    this.items.push(item);
  }
  /** Remove and return the oldest item. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/** A binary min-heap of `(at, key)` pairs; stale entries are skipped by the owner. */
export class DeadlineHeap {
  private ats: number[] = [];
  private keys: number[] = [];

  /** Number of entries (including stale ones). */
  get size(): number {
    return this.ats.length;
  }
  /** Earliest deadline, or undefined. */
  peekAt(): number | undefined {
    return this.ats[0];
  }
  /** Key of the earliest entry, or undefined. */
  peekKey(): number | undefined {
    return this.keys[0];
  }
  /** Insert an entry. */
  push(at: number, key: number): void {
    const ats = this.ats;
    const keys = this.keys;
    let i = ats.length;
    ats.push(at);
    keys.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pa = ats[p] as number;
      if (pa <= at) break;
      ats[i] = pa;
      keys[i] = keys[p] as number;
      i = p;
    }
    ats[i] = at;
    keys[i] = key;
  }
  /** Remove the earliest entry. */
  pop(): void {
    const ats = this.ats;
    const keys = this.keys;
    const lastAt = ats.pop();
    const lastKey = keys.pop();
    if (lastAt === undefined || lastKey === undefined || ats.length === 0) return;
    const n = ats.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && (ats[r] as number) < (ats[l] as number) ? r : l;
      if ((ats[c] as number) >= lastAt) break;
      ats[i] = ats[c] as number;
      keys[i] = keys[c] as number;
      i = c;
    }
    ats[i] = lastAt;
    keys[i] = lastKey;
  }
  /** Drop every entry. */
  clear(): void {
    this.ats = [];
    this.keys = [];
  }
}
