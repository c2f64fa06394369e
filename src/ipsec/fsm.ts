/**
 * The shape of the IKEv1 state tables (STYLE §6): one row per (state, event) with the actions the
 * core runs, in order, and the RFC section the row comes from. `responder-fsm.ts` and
 * `initiator-fsm.ts` hold the tables; docs/ipsec-ike.md transcribes them and `fsm-doc.test.ts`
 * checks the two cell by cell. An event with no row in the current state is ignored.
 */

/** One row: in `from`, `event` runs `actions` (in order) and leads to `to`. */
export interface Transition<S extends string, E extends string, A extends string> {
  readonly from: S;
  readonly event: E;
  readonly actions: readonly A[];
  readonly to: S;
  /** Where the row comes from (RFC section). */
  readonly rfc: string;
}

/** Build a row. */
export const row = <S extends string, E extends string, A extends string>(from: S, event: E, actions: readonly A[], to: S, rfc: string): Transition<S, E, A> => ({
  from, event, actions, to, rfc,
});

/** Index a table by (state, event); a duplicate row is a programming error found at load time. */
export function transitionIndex<S extends string, E extends string, A extends string>(
  name: string,
  table: readonly Transition<S, E, A>[],
): (from: S, event: E) => Transition<S, E, A> | undefined {
  const index = new Map<string, Transition<S, E, A>>();
  for (const t of table) {
    const key = `${t.from}|${t.event}`;
    if (index.has(key)) throw new Error(`${name}: duplicate transition ${key}`);
    index.set(key, t);
  }
  return (from, event) => index.get(`${from}|${event}`);
}
