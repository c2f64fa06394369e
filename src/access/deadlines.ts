/**
 * One timer queue for thousands of PPP links (STYLE §1): a binary min-heap of `(at, key)` with lazy
 * deletion. The owner re-pushes when a link's `pollAt()` changes and skips entries whose `at` no
 * longer matches what it recorded for the key.
 */

/** A min-heap of deadlines keyed by number. */
export class Deadlines {
  private ats: number[] = [];
  private keys: number[] = [];

  /** Entries, stale ones included. */
  get size(): number {
    return this.ats.length;
  }
  /** Earliest deadline. */
  peekAt(): number | undefined {
    return this.ats[0];
  }
  /** Key of the earliest deadline. */
  peekKey(): number | undefined {
    return this.keys[0];
  }
  /** Insert. */
  push(at: number, key: number): void {
    const { ats, keys } = this;
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
  /** Remove the earliest. */
  pop(): void {
    const { ats, keys } = this;
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
}
