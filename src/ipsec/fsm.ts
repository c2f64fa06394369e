/**
 * Explicit state tables of the IKEv1 responder (transcribed in docs/ipsec-ike.md). The responder
 * code asks `nextState` before acting; an event with no row in the current state is ignored.
 */

/** Main Mode (RFC 2409 §5, Identity Protection) responder states of one IKE SA. */
export type MainModeState = 'mm-start' | 'mm-r1-sent' | 'mm-r2-sent' | 'established' | 'deleted';

/** Events on an IKE SA. */
export type MainModeEvent =
  | 'recv-mm1'
  | 'recv-mm3'
  | 'recv-mm5'
  | 'auth-failed'
  | 'retransmit-timeout'
  | 'give-up'
  | 'lifetime-expired'
  | 'dpd-dead'
  | 'recv-delete'
  | 'recv-error-notify'
  | 'local-delete'
  | 'initial-contact-replaced';

/** One table row: in `from`, `on` leads to `to`, doing `action` (RFC reference in `rfc`). */
export interface Transition<S extends string, E extends string> {
  readonly from: S;
  readonly on: E;
  readonly to: S;
  readonly action: string;
  readonly rfc: string;
}

const HALF_OPEN = ['mm-r1-sent', 'mm-r2-sent'] as const;

/** RFC 2409 §5 Main Mode responder with PSK, plus retransmission and deletion arms. */
export const MAIN_MODE_TABLE: readonly Transition<MainModeState, MainModeEvent>[] = [
  { from: 'mm-start', on: 'recv-mm1', to: 'mm-r1-sent', action: 'select proposal; send HDR, SA, VID', rfc: 'RFC 2409 §5 / §5.4' },
  { from: 'mm-r1-sent', on: 'recv-mm3', to: 'mm-r2-sent', action: 'DH, SKEYID; send HDR, KE, Nr, NAT-D', rfc: 'RFC 2409 §5, RFC 3947 §3.2' },
  { from: 'mm-r2-sent', on: 'recv-mm5', to: 'established', action: 'verify HASH_I; send HDR*, IDir, HASH_R', rfc: 'RFC 2409 §5.4' },
  { from: 'mm-r2-sent', on: 'auth-failed', to: 'deleted', action: 'drop half-open SA', rfc: 'RFC 2409 §5' },
  ...HALF_OPEN.map((from) => ({ from, on: 'retransmit-timeout' as const, to: from, action: 'resend last message', rfc: 'RFC 2408 §5' })),
  ...HALF_OPEN.map((from) => ({ from, on: 'give-up' as const, to: 'deleted' as const, action: 'drop half-open SA', rfc: 'RFC 2408 §5' })),
  ...HALF_OPEN.map((from) => ({ from, on: 'recv-error-notify' as const, to: 'deleted' as const, action: 'drop half-open SA', rfc: 'RFC 2408 §3.14' })),
  { from: 'established', on: 'lifetime-expired', to: 'deleted', action: 'send D(ISAKMP)', rfc: 'RFC 2407 §4.5' },
  { from: 'established', on: 'dpd-dead', to: 'deleted', action: 'delete IKE SA and children', rfc: 'RFC 3706 §5.5' },
  { from: 'established', on: 'recv-delete', to: 'deleted', action: 'delete IKE SA and children', rfc: 'RFC 2408 §3.15' },
  { from: 'established', on: 'local-delete', to: 'deleted', action: 'send D(ESP...), D(ISAKMP)', rfc: 'RFC 2408 §3.15' },
  { from: 'established', on: 'initial-contact-replaced', to: 'deleted', action: 'forget silently', rfc: 'RFC 2407 §4.6.3.3' },
];

/** Quick Mode (RFC 2409 §5.5) responder states of one exchange (one Message ID). */
export type QuickModeState = 'qm-start' | 'qm-r1-sent' | 'qm-done' | 'qm-failed';
/** Events on a Quick Mode exchange. */
export type QuickModeEvent = 'recv-qm1' | 'recv-qm3' | 'no-proposal' | 'bad-id' | 'retransmit-timeout' | 'give-up';

/** RFC 2409 §5.5 Quick Mode responder. */
export const QUICK_MODE_TABLE: readonly Transition<QuickModeState, QuickModeEvent>[] = [
  { from: 'qm-start', on: 'recv-qm1', to: 'qm-r1-sent', action: 'verify HASH(1); select ESP; send HASH(2), SA, Nr, [KE], [IDci, IDcr], [NAT-OA]', rfc: 'RFC 2409 §5.5' },
  { from: 'qm-start', on: 'no-proposal', to: 'qm-failed', action: 'send N(NO-PROPOSAL-CHOSEN)', rfc: 'RFC 2408 §5.3' },
  { from: 'qm-start', on: 'bad-id', to: 'qm-failed', action: 'send N(INVALID-ID-INFORMATION)', rfc: 'RFC 2408 §5.3' },
  { from: 'qm-r1-sent', on: 'recv-qm3', to: 'qm-done', action: 'verify HASH(3); install child SA', rfc: 'RFC 2409 §5.5' },
  { from: 'qm-r1-sent', on: 'retransmit-timeout', to: 'qm-r1-sent', action: 'resend QM2', rfc: 'RFC 2408 §5' },
  { from: 'qm-r1-sent', on: 'give-up', to: 'qm-failed', action: 'forget exchange', rfc: 'RFC 2408 §5' },
];

/** Look up the row for (state, event), or undefined when the event is not valid there. */
export function nextState<S extends string, E extends string>(table: readonly Transition<S, E>[], from: S, on: E): S | undefined {
  for (const r of table) if (r.from === from && r.on === on) return r.to;
  return undefined;
}
