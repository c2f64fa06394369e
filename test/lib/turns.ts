// Counting event-loop turns in tests: proof that long work yields to the loop.

/** Counts event-loop turns (a setImmediate chain) from now until `stop()`, which returns the count. */
export function countTurns(): { stop(): number } {
  let turns = 0;
  let done = false;
  const spin = (): void => {
    turns++;
    if (!done) setImmediate(spin);
  };
  setImmediate(spin);
  return {
    stop: () => {
      done = true;
      return turns;
    },
  };
}
