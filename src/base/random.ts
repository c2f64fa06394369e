/**
 * Randomness is injected into cores (like time), so that simulations are reproducible.
 * The shell passes `cryptoRandom`; tests pass `seededRandom(seed)`.
 */
export interface RandomSource {
  /** Fill and return `n` random bytes. */
  bytes(n: number): Uint8Array;
  /** A random integer in [0, 2^32). */
  u32(): number;
}

/** A deterministic xorshift128+-like source for tests and simulations (not for keys). */
export function seededRandom(seed: number): RandomSource {
  let s0 = (seed >>> 0) || 0x9e3779b9;
  let s1 = ((seed * 2654435761) >>> 0) || 0x85ebca6b;
  const next = (): number => {
    let x = s0;
    const y = s1;
    s0 = y;
    x ^= x << 23;
    x ^= x >>> 17;
    x ^= y ^ (y >>> 26);
    s1 = x >>> 0;
    return (s0 + s1) >>> 0;
  };
  return {
    u32: next,
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = next() & 0xff;
      return out;
    },
  };
}
