/**
 * The shell's RandomSource: node:crypto CSPRNG (tunnel ids, challenges, tie breakers, Random Vector).
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { RandomSource } from '../base/index.js';

/** A RandomSource backed by node:crypto. */
export const cryptoRandom: RandomSource = {
  bytes(n: number): Uint8Array {
    const b = randomBytes(n);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  },
  u32(): number {
    // randomInt's range is limited to 2^48; two 16-bit halves keep it simple and uniform.
    return ((randomInt(0x10000) << 16) | randomInt(0x10000)) >>> 0;
  },
};
