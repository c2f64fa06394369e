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

/** Main Mode actions both roles' tables use. */
export type CommonMainModeAction =
  /** Arm the IKE SA lifetime, NAT keepalives and DPD (initiator: and re-authentication); report `ike-sa-up`. */
  | 'ike-sa-up'
  /** Send the last message again and double the retransmission interval. */
  | 'resend'
  /** D(ESP) for every child SA (RFC 2408 §3.15). */
  | 'send-delete-children'
  /** D(ISAKMP) for this IKE SA. */
  | 'send-delete-ike'
  /** Forget the IKE SA and its remaining child SAs (`sa-deleted`, reason by event). */
  | 'drop';

/** Quick Mode actions both roles' tables use. */
export type CommonQuickModeAction =
  /** Install the child SA and report `child-sa-up`. */
  | 'install-child'
  /** Send our last message of the exchange again and double the retransmission interval. */
  | 'resend'
  /** Stop retransmitting (responder: and release the SPI it reserved). */
  | 'forget';
