/**
 * Explicit state tables of the IKEv1 responder (transcribed in docs/ipsec-ike.md, checked cell by
 * cell by `fsm-doc.test.ts`). `IkeResponder` judges a message first (decrypts, verifies hashes,
 * selects proposals) and then fires the matching event; the row's actions do the sending,
 * installing and dropping. Duplicated requests never reach the tables (RFC 2408 §5: they are
 * answered from the last response).
 */
import { row, transitionIndex, type CommonMainModeAction, type CommonQuickModeAction, type Transition } from './fsm.js';
import type { DeleteReason } from './ike-types.js';

/** Main Mode (RFC 2409 §5, Identity Protection) responder states of one IKE SA. */
export type MainModeState = 'mm-start' | 'mm-r1-sent' | 'mm-r2-sent' | 'established' | 'deleted';

/** Events on a responder IKE SA: received messages already judged, timers, local requests. */
export type MainModeEvent =
  | 'recv-mm1'
  | 'recv-mm3'
  | 'no-psk'
  | 'recv-mm5'
  | 'auth-failed'
  | 'retransmit-timeout'
  | 'give-up'
  | 'recv-error-notify'
  | 'recv-initial-contact'
  | 'lifetime-expired'
  | 'dpd-dead'
  | 'recv-delete'
  | 'local-delete'
  | 'initial-contact-replaced';

/** What a Main Mode row does (besides the actions both roles share). */
export type MainModeAction =
  | CommonMainModeAction
  /** HDR, SA (the chosen transform, unchanged), VID(NAT-T), VID(DPD). */
  | 'send-mm2'
  /** HDR, KE, Nr, NAT-D(peer), NAT-D(us). */
  | 'send-mm4'
  /** HDR*, IDir, HASH_R (from the endpoint MM5 came to). */
  | 'send-mm6'
  /** Drop the older IKE SAs of the same peer address and ID. */
  | 'initial-contact'
  /** Hand the child SAs to a newer IKE SA of the same peer (re-authentication), if there is one. */
  | 'adopt-children';

/** One responder Main Mode row. */
export type MainModeTransition = Transition<MainModeState, MainModeEvent, MainModeAction>;

const HALF_OPEN = ['mm-r1-sent', 'mm-r2-sent'] as const;

/** RFC 2409 §5 Main Mode responder with PSK, plus retransmission, lifetime, DPD and deletion rows. */
export const MAIN_MODE_TABLE: readonly MainModeTransition[] = [
  row('mm-start', 'recv-mm1', ['send-mm2'], 'mm-r1-sent', 'RFC 2409 §5 / §5.4'),
  row('mm-r1-sent', 'recv-mm3', ['send-mm4'], 'mm-r2-sent', 'RFC 2409 §5, RFC 3947 §3.2'),
  row('mm-r1-sent', 'no-psk', ['drop'], 'deleted', 'RFC 2409 §5.4'),
  row('mm-r2-sent', 'recv-mm5', ['send-mm6', 'ike-sa-up'], 'established', 'RFC 2409 §5.4'),
  row('mm-r2-sent', 'auth-failed', ['drop'], 'deleted', 'RFC 2409 §5'),
  ...HALF_OPEN.map((from) => row(from, 'retransmit-timeout', ['resend'], from, 'RFC 2408 §5')),
  ...HALF_OPEN.map((from) => row(from, 'give-up', ['drop'], 'deleted', 'RFC 2408 §5')),
  ...HALF_OPEN.map((from) => row(from, 'recv-error-notify', ['drop'], 'deleted', 'RFC 2408 §3.14')),
  row('established', 'recv-initial-contact', ['initial-contact'], 'established', 'RFC 2407 §4.6.3.3'),
  row('established', 'lifetime-expired', ['send-delete-ike', 'adopt-children', 'drop'], 'deleted', 'RFC 2407 §4.5'),
  row('established', 'dpd-dead', ['drop'], 'deleted', 'RFC 3706 §5.5'),
  row('established', 'recv-delete', ['adopt-children', 'drop'], 'deleted', 'RFC 2408 §3.15'),
  row('established', 'local-delete', ['send-delete-children', 'send-delete-ike', 'drop'], 'deleted', 'RFC 2408 §3.15'),
  row('established', 'initial-contact-replaced', ['drop'], 'deleted', 'RFC 2407 §4.6.3.3'),
];

/** The `sa-deleted` reason a `drop` reports, by the event that dropped the IKE SA. */
export const MAIN_MODE_DROP_REASON: Readonly<Partial<Record<MainModeEvent, DeleteReason>>> = {
  'no-psk': 'half-open-timeout',
  'auth-failed': 'half-open-timeout',
  'give-up': 'half-open-timeout',
  'recv-error-notify': 'peer-error',
  'lifetime-expired': 'expired',
  'dpd-dead': 'dpd',
  'recv-delete': 'peer-delete',
  'local-delete': 'local',
  'initial-contact-replaced': 'initial-contact',
};

/** Quick Mode (RFC 2409 §5.5) responder states of one exchange (one Message ID). */
export type QuickModeState = 'qm-start' | 'qm-r1-sent' | 'qm-done' | 'qm-failed';

/** Events on a responder Quick Mode exchange. */
export type QuickModeEvent = 'recv-qm1' | 'bad-qm1' | 'no-proposal' | 'bad-id' | 'recv-qm3' | 'retransmit-timeout' | 'give-up';

/** What a Quick Mode row does (besides the actions both roles share). */
export type QuickModeAction =
  | CommonQuickModeAction
  /** HDR*, HASH(2), SA, Nr, [KE], [IDci, IDcr], [NAT-OAi, NAT-OAr], [RESPONDER-LIFETIME]; arm retransmission. */
  | 'send-qm2'
  /** Protected N(NO-PROPOSAL-CHOSEN) about the initiator's SPI. */
  | 'notify-no-proposal-chosen'
  /** Protected N(INVALID-ID-INFORMATION) about the chosen proposal's SPI. */
  | 'notify-invalid-id';

/** One responder Quick Mode row. */
export type QuickModeTransition = Transition<QuickModeState, QuickModeEvent, QuickModeAction>;

/** RFC 2409 §5.5 Quick Mode responder. */
export const QUICK_MODE_TABLE: readonly QuickModeTransition[] = [
  row('qm-start', 'recv-qm1', ['send-qm2'], 'qm-r1-sent', 'RFC 2409 §5.5'),
  // Malformed QM1, or a PFS KE that does not compute: reported, not answered.
  row('qm-start', 'bad-qm1', [], 'qm-failed', 'RFC 2408 §5.3'),
  row('qm-start', 'no-proposal', ['notify-no-proposal-chosen'], 'qm-failed', 'RFC 2408 §5.3'),
  row('qm-start', 'bad-id', ['notify-invalid-id'], 'qm-failed', 'RFC 2408 §5.3, RFC 3193 §4'),
  row('qm-r1-sent', 'recv-qm3', ['install-child'], 'qm-done', 'RFC 2409 §5.5'),
  row('qm-r1-sent', 'retransmit-timeout', ['resend'], 'qm-r1-sent', 'RFC 2408 §5'),
  row('qm-r1-sent', 'give-up', ['forget'], 'qm-failed', 'RFC 2408 §5'),
];

/** The row for (state, event) of a responder IKE SA, or undefined. */
export const mainModeTransition = transitionIndex('responder Main Mode', MAIN_MODE_TABLE);
/** The row for (state, event) of a responder Quick Mode exchange, or undefined. */
export const quickModeTransition = transitionIndex('responder Quick Mode', QUICK_MODE_TABLE);
