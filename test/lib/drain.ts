/**
 * Drain a core's poll function at once: every value it yields until it says undefined (tests and
 * benchmarks look at a whole batch; the shells drain one at a time as they send).
 */
export function drain<T>(poll: () => T | undefined): T[] {
  const out: T[] = [];
  for (let x = poll(); x !== undefined; x = poll()) out.push(x);
  return out;
}
