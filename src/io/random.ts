/**
 * The shell's RandomSource: node:crypto CSPRNG (tunnel ids, challenges, tie breakers, Random Vector).
 * Small requests are served from a pool refilled 4 KiB at a time (one `randomFillSync` per 4 KiB
 * instead of one per CHAP challenge or id); every byte is handed out once.
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import type { RandomSource } from '../base/index.js';

/** Pool size; requests above `POOL_MAX_REQUEST` bytes bypass it. */
const POOL_BYTES = 4096;
const POOL_MAX_REQUEST = 256;

const pool = new Uint8Array(POOL_BYTES);
/** Next unused byte of `pool` (POOL_BYTES = empty). */
let next = POOL_BYTES;

/** `n` unused pool bytes starting at the returned offset (refilled when too few are left). */
function take(n: number): number {
  if (next + n > POOL_BYTES) {
    randomFillSync(pool);
    next = 0;
  }
  const at = next;
  next += n;
  return at;
}

/** A RandomSource backed by node:crypto. */
export const cryptoRandom: RandomSource = {
  bytes(n: number): Uint8Array {
    if (n > POOL_MAX_REQUEST) {
      const b = randomBytes(n);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    }
    const at = take(n);
    return pool.slice(at, at + n); // a copy: the pool is refilled in place
  },
  u32(): number {
    const at = take(4);
    return ((pool[at] ?? 0) * 0x1000000 + (((pool[at + 1] ?? 0) << 16) | ((pool[at + 2] ?? 0) << 8) | (pool[at + 3] ?? 0))) >>> 0;
  },
};
