/**
 * Explicit state tables of the IKEv1 initiator (transcribed in docs/ipsec-ike.md, "Initiator").
 * `IkeInitiator` asks `nextState` before acting; an event with no row in the current state is ignored.
 */
import type { Transition } from './fsm.js';

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

const SENT = ['mm-i1-sent', 'mm-i2-sent', 'mm-i3-sent'] as const;

/** RFC 2409 §5 Main Mode initiator with PSK, plus retransmission and deletion arms. */
export const MAIN_MODE_INIT_TABLE: readonly Transition<MainModeInitState, MainModeInitEvent>[] = [
  { from: 'mm-idle', on: 'connect', to: 'mm-i1-sent', action: 'send HDR, SA, VID(NAT-T), VID(DPD)', rfc: 'RFC 2409 §5' },
  { from: 'deleted', on: 'connect', to: 'mm-i1-sent', action: 'new cookies; send HDR, SA, VID', rfc: 'RFC 2409 §5' },
  { from: 'mm-i1-sent', on: 'recv-mm2', to: 'mm-i2-sent', action: 'check chosen transform; send HDR, KE, Ni, NAT-D, NAT-D', rfc: 'RFC 2409 §5, RFC 3947 §3.2' },
  { from: 'mm-i1-sent', on: 'no-proposal', to: 'deleted', action: 'transform not offered: give up', rfc: 'RFC 2408 §5.3' },
  { from: 'mm-i2-sent', on: 'recv-mm4', to: 'mm-i3-sent', action: 'DH, SKEYID; NAT-D; float to 4500 if a NAT; send HDR*, IDii, HASH_I', rfc: 'RFC 2409 §5, RFC 3947 §4' },
  { from: 'mm-i3-sent', on: 'recv-mm6', to: 'established', action: 'verify HASH_R; start Quick Mode', rfc: 'RFC 2409 §5.4' },
  { from: 'mm-i3-sent', on: 'auth-failed', to: 'deleted', action: 'drop IKE SA', rfc: 'RFC 2409 §5' },
  ...SENT.map((from) => ({ from, on: 'retransmit-timeout' as const, to: from, action: 'resend last message', rfc: 'RFC 2408 §5' })),
  ...SENT.map((from) => ({ from, on: 'give-up' as const, to: 'deleted' as const, action: 'drop half-open SA', rfc: 'RFC 2408 §5' })),
  ...SENT.map((from) => ({ from, on: 'recv-error-notify' as const, to: 'deleted' as const, action: 'drop half-open SA', rfc: 'RFC 2408 §3.14' })),
  { from: 'established', on: 'lifetime-expired', to: 'deleted', action: 'send D(ESP...), D(ISAKMP)', rfc: 'RFC 2407 §4.5' },
  { from: 'established', on: 'reauth', to: 'mm-i1-sent', action: 're-authenticate before expiry: new cookies, keep the child SAs; send HDR, SA, VID', rfc: 'RFC 2409 §5, RFC 2407 §4.5' },
  { from: 'established', on: 'dpd-dead', to: 'deleted', action: 'drop IKE SA and children', rfc: 'RFC 3706 §5.5' },
  { from: 'established', on: 'recv-delete', to: 'deleted', action: 'drop IKE SA and children', rfc: 'RFC 2408 §3.15' },
  { from: 'established', on: 'local-delete', to: 'deleted', action: 'send D(ESP...), D(ISAKMP)', rfc: 'RFC 2408 §3.15' },
  ...SENT.map((from) => ({ from, on: 'local-delete' as const, to: 'deleted' as const, action: 'forget half-open SA', rfc: 'RFC 2408 §5' })),
];

/** Quick Mode (RFC 2409 §5.5) initiator states of one exchange (one Message ID). */
export type QuickModeInitState = 'qm-idle' | 'qm-i1-sent' | 'qm-done' | 'qm-failed';
/** Events on an initiator Quick Mode exchange. */
export type QuickModeInitEvent = 'start' | 'recv-qm2' | 'bad-qm2' | 'recv-notify' | 'retransmit-timeout' | 'give-up';

/** RFC 2409 §5.5 Quick Mode initiator. */
export const QUICK_MODE_INIT_TABLE: readonly Transition<QuickModeInitState, QuickModeInitEvent>[] = [
  { from: 'qm-idle', on: 'start', to: 'qm-i1-sent', action: 'send HDR*, HASH(1), SA, Ni, [KE], IDci, IDcr, [NAT-OAi, NAT-OAr]', rfc: 'RFC 2409 §5.5, RFC 3947 §5.2' },
  { from: 'qm-i1-sent', on: 'recv-qm2', to: 'qm-done', action: 'verify HASH(2); KEYMAT; send HDR*, HASH(3); install child SA', rfc: 'RFC 2409 §5.5' },
  { from: 'qm-i1-sent', on: 'bad-qm2', to: 'qm-failed', action: 'chosen transform or IDs not ours: give up', rfc: 'RFC 2408 §5.3' },
  { from: 'qm-i1-sent', on: 'recv-notify', to: 'qm-failed', action: 'peer refused (NO-PROPOSAL-CHOSEN, INVALID-ID-INFORMATION)', rfc: 'RFC 2408 §5.3' },
  { from: 'qm-i1-sent', on: 'retransmit-timeout', to: 'qm-i1-sent', action: 'resend QM1', rfc: 'RFC 2408 §5' },
  { from: 'qm-i1-sent', on: 'give-up', to: 'qm-failed', action: 'forget exchange', rfc: 'RFC 2408 §5' },
];
