/**
 * Explicit state tables of the IKEv1 initiator (transcribed in docs/ipsec-ike.md, "Initiator",
 * checked cell by cell by `fsm-doc.test.ts`). `IkeInitiator` judges a message first and then fires
 * the matching event; the row's actions do the sending, installing and dropping. An event with no
 * row in the current state is ignored.
 */
import { row, transitionIndex, type CommonMainModeAction, type CommonQuickModeAction, type Transition } from './fsm.js';
import type { DeleteReason } from './ike-types.js';

/** Main Mode (RFC 2409 §5, Identity Protection) initiator states of one IKE SA. */
export type MainModeInitState = 'mm-idle' | 'mm-i1-sent' | 'mm-i2-sent' | 'mm-i3-sent' | 'established' | 'deleted';

/** Events on the initiator's IKE SA. */
export type MainModeInitEvent =
  | 'connect'
  | 'recv-mm2'
  | 'recv-mm4'
  | 'recv-mm6'
  | 'auth-failed'
  | 'no-proposal'
  | 'retransmit-timeout'
  | 'give-up'
  | 'recv-error-notify'
  | 'lifetime-expired'
  | 'reauth'
  | 'dpd-dead'
  | 'recv-delete'
  | 'local-delete';

/** What an initiator Main Mode row does (besides the actions both roles share). */
export type MainModeInitAction =
  | CommonMainModeAction
  /** Remember the current IKE SA so that it can be deleted under its own keys once the new one is up. */
  | 'keep-previous'
  /** New cookies and a new IKE SA id; HDR, SA (our transforms), VID(NAT-T), VID(DPD). */
  | 'send-mm1'
  /** HDR, KE, Ni, NAT-D(server), NAT-D(us). */
  | 'send-mm3'
  /** HDR*, IDii, HASH_I [, N(INITIAL-CONTACT)] (from the NAT-T port after a float). */
  | 'send-mm5'
  /** After a re-authentication: the children move here, D(ISAKMP) of the previous IKE SA. */
  | 'delete-previous'
  /** Start Quick Mode when no child SA exists yet (and `autoChild`). */
  | 'start-child';

/** One initiator Main Mode row. */
export type MainModeInitTransition = Transition<MainModeInitState, MainModeInitEvent, MainModeInitAction>;

const SENT = ['mm-i1-sent', 'mm-i2-sent', 'mm-i3-sent'] as const;

/** RFC 2409 §5 Main Mode initiator with PSK, plus retransmission, re-authentication and deletion rows. */
export const MAIN_MODE_INIT_TABLE: readonly MainModeInitTransition[] = [
  row('mm-idle', 'connect', ['send-mm1'], 'mm-i1-sent', 'RFC 2409 §5'),
  row('deleted', 'connect', ['send-mm1'], 'mm-i1-sent', 'RFC 2409 §5'),
  row('mm-i1-sent', 'recv-mm2', ['send-mm3'], 'mm-i2-sent', 'RFC 2409 §5, RFC 3947 §3.2'),
  row('mm-i1-sent', 'no-proposal', ['drop'], 'deleted', 'RFC 2408 §5.3'),
  row('mm-i2-sent', 'recv-mm4', ['send-mm5'], 'mm-i3-sent', 'RFC 2409 §5, RFC 3947 §4'),
  row('mm-i3-sent', 'recv-mm6', ['ike-sa-up', 'delete-previous', 'start-child'], 'established', 'RFC 2409 §5.4'),
  row('mm-i3-sent', 'auth-failed', ['drop'], 'deleted', 'RFC 2409 §5'),
  ...SENT.map((from) => row(from, 'retransmit-timeout', ['resend'], from, 'RFC 2408 §5')),
  ...SENT.map((from) => row(from, 'give-up', ['drop'], 'deleted', 'RFC 2408 §5')),
  ...SENT.map((from) => row(from, 'recv-error-notify', ['drop'], 'deleted', 'RFC 2408 §3.14')),
  row('established', 'lifetime-expired', ['send-delete-children', 'send-delete-ike', 'drop'], 'deleted', 'RFC 2407 §4.5'),
  row('established', 'reauth', ['keep-previous', 'send-mm1'], 'mm-i1-sent', 'RFC 2409 §5, RFC 2407 §4.5'),
  row('established', 'dpd-dead', ['drop'], 'deleted', 'RFC 3706 §5.5'),
  row('established', 'recv-delete', ['drop'], 'deleted', 'RFC 2408 §3.15'),
  row('established', 'local-delete', ['send-delete-children', 'send-delete-ike', 'drop'], 'deleted', 'RFC 2408 §3.15'),
  ...SENT.map((from) => row(from, 'local-delete', ['drop'], 'deleted', 'RFC 2408 §5')),
];

/** The `sa-deleted` reason a `drop` reports, by the event that dropped the IKE SA. */
export const MAIN_MODE_INIT_DROP_REASON: Readonly<Partial<Record<MainModeInitEvent, DeleteReason>>> = {
  'no-proposal': 'peer-error',
  'auth-failed': 'peer-error',
  'give-up': 'half-open-timeout',
  'recv-error-notify': 'peer-error',
  'lifetime-expired': 'expired',
  'dpd-dead': 'dpd',
  'recv-delete': 'peer-delete',
  'local-delete': 'local',
};

/** Quick Mode (RFC 2409 §5.5) initiator states of one exchange (one Message ID). */
export type QuickModeInitState = 'qm-idle' | 'qm-i1-sent' | 'qm-done' | 'qm-failed';

/** Events on an initiator Quick Mode exchange. */
export type QuickModeInitEvent = 'start' | 'recv-qm2' | 'bad-qm2' | 'recv-notify' | 'retransmit-timeout' | 'give-up';

/** What an initiator Quick Mode row does (besides the actions both roles share). */
export type QuickModeInitAction =
  | CommonQuickModeAction
  /** HDR*, HASH(1), SA, Ni, [KE], IDci, IDcr, [NAT-OAi, NAT-OAr]; arm retransmission. */
  | 'send-qm1'
  /** HDR*, HASH(3). */
  | 'send-qm3';

/** One initiator Quick Mode row. */
export type QuickModeInitTransition = Transition<QuickModeInitState, QuickModeInitEvent, QuickModeInitAction>;

/** RFC 2409 §5.5 Quick Mode initiator. */
export const QUICK_MODE_INIT_TABLE: readonly QuickModeInitTransition[] = [
  row('qm-idle', 'start', ['send-qm1'], 'qm-i1-sent', 'RFC 2409 §5.5, RFC 3947 §5.2'),
  row('qm-i1-sent', 'recv-qm2', ['send-qm3', 'install-child'], 'qm-done', 'RFC 2409 §5.5'),
  // The chosen transform, mode or SPI is not one we offered, or the PFS KE does not compute.
  row('qm-i1-sent', 'bad-qm2', ['forget'], 'qm-failed', 'RFC 2408 §5.3'),
  // NO-PROPOSAL-CHOSEN, INVALID-ID-INFORMATION ... about our SPI.
  row('qm-i1-sent', 'recv-notify', ['forget'], 'qm-failed', 'RFC 2408 §5.3'),
  row('qm-i1-sent', 'retransmit-timeout', ['resend'], 'qm-i1-sent', 'RFC 2408 §5'),
  row('qm-i1-sent', 'give-up', ['forget'], 'qm-failed', 'RFC 2408 §5'),
];

/** The row for (state, event) of the initiator's IKE SA, or undefined. */
export const mainModeInitTransition = transitionIndex('initiator Main Mode', MAIN_MODE_INIT_TABLE);
/** The row for (state, event) of an initiator Quick Mode exchange, or undefined. */
export const quickModeInitTransition = transitionIndex('initiator Quick Mode', QUICK_MODE_INIT_TABLE);
