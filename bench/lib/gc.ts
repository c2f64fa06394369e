/**
 * Heap measurement helpers: a full GC (needs `node --expose-gc`) and heap/RSS snapshots.
 */

/** Heap and resident-set numbers at one moment. */
export interface MemorySnapshot {
  /** V8 heap in use (bytes), after a full GC when available. */
  readonly heapUsed: number;
  /** Resident set size of the process (bytes). */
  readonly rss: number;
  /** Memory of ArrayBuffers / Buffers outside the V8 heap (bytes). */
  readonly arrayBuffers: number;
  /** C++ objects bound to JS objects (bytes). */
  readonly external: number;
}

/** True when `global.gc` is exposed (`--expose-gc`). */
export function hasGc(): boolean {
  return typeof globalThis.gc === 'function';
}

/** Run a full, repeated GC so that heapUsed is stable; a no-op without --expose-gc. */
export function fullGc(rounds = 4): void {
  const gc = globalThis.gc;
  if (typeof gc !== 'function') return;
  for (let i = 0; i < rounds; i++) gc();
}

/** Full GC, then a memory snapshot. */
export function snapshot(): MemorySnapshot {
  fullGc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss, arrayBuffers: m.arrayBuffers, external: m.external };
}
