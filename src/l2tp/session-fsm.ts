/**
 * Session (call) state machines of RFC 2661 §7.3–7.5 as one explicit table covering the four
 * roles: ICRQ sender (LAC, §7.4.1), ICRQ recipient (LNS, §7.4.2), OCRQ sender (LNS, §7.5.2) and
 * OCRQ recipient (LAC, §7.5.1). The RFC's final "idle after clean up" is `closed` here.
 */
import type { SessionState } from './api.js';

/** Session FSM events: received messages judged acceptable or not, local requests. */
export type SessionFsmEvent =
  | 'call-request'
  | 'tunnel-open-incoming'
  | 'tunnel-open-outgoing'
  | 'rx-icrq-acceptable'
  | 'rx-icrq-not-acceptable'
  | 'rx-icrp-acceptable'
  | 'rx-icrp-not-acceptable'
  | 'rx-iccn-acceptable'
  | 'rx-iccn-not-acceptable'
  | 'rx-ocrq-acceptable'
  | 'rx-ocrq-not-acceptable'
  | 'rx-ocrp-acceptable'
  | 'rx-ocrp-not-acceptable'
  | 'rx-occn-acceptable'
  | 'rx-occn-not-acceptable'
  | 'bearer-answer'
  | 'rx-cdn'
  | 'rx-unexpected'
  | 'local-close'
  | 'tunnel-down';

/** Actions, named as in §7.3–7.5. */
export type SessionFsmAction =
  | 'send-icrq'
  | 'send-icrp'
  | 'send-iccn'
  | 'send-ocrq'
  | 'send-ocrp'
  | 'send-occn'
  | 'send-cdn'
  | 'open-tunnel'
  | 'session-up'
  | 'cleanup';

/** One row of the session table. */
export interface SessionTransition {
  readonly from: SessionState;
  readonly event: SessionFsmEvent;
  readonly actions: readonly SessionFsmAction[];
  readonly to: SessionState;
}

const row = (
  from: SessionState,
  event: SessionFsmEvent,
  actions: readonly SessionFsmAction[],
  to: SessionState,
): SessionTransition => ({ from, event, actions, to });

/** Local close / peer CDN / tunnel loss apply to every live state (§7.4, §7.5 "Clean up"). */
const LIVE: readonly SessionState[] = ['wait-tunnel', 'wait-reply', 'wait-connect', 'wait-cs-answer', 'established'];

/** RFC 2661 §7.4–7.5 session transitions for all four roles. */
export const SESSION_TRANSITIONS: readonly SessionTransition[] = [
  // §7.4.1 / §7.5.2 — call originator (LAC incoming call, LNS outgoing call).
  row('idle', 'call-request', ['open-tunnel'], 'wait-tunnel'),
  row('wait-tunnel', 'tunnel-open-incoming', ['send-icrq'], 'wait-reply'),
  row('wait-tunnel', 'tunnel-open-outgoing', ['send-ocrq'], 'wait-reply'),
  row('wait-reply', 'rx-icrp-acceptable', ['send-iccn', 'session-up'], 'established'),
  row('wait-reply', 'rx-icrp-not-acceptable', ['send-cdn', 'cleanup'], 'closed'),
  // §7.5.2: OCRP moves the LNS to wait-connect until OCCN arrives.
  row('wait-reply', 'rx-ocrp-acceptable', [], 'wait-connect'),
  row('wait-reply', 'rx-ocrp-not-acceptable', ['send-cdn', 'cleanup'], 'closed'),
  // §7.4.2 — ICRQ recipient (LNS).
  row('idle', 'rx-icrq-acceptable', ['send-icrp'], 'wait-connect'),
  row('idle', 'rx-icrq-not-acceptable', ['send-cdn', 'cleanup'], 'closed'),
  row('wait-connect', 'rx-iccn-acceptable', ['session-up'], 'established'),
  row('wait-connect', 'rx-iccn-not-acceptable', ['send-cdn', 'cleanup'], 'closed'),
  row('wait-connect', 'rx-occn-acceptable', ['session-up'], 'established'),
  row('wait-connect', 'rx-occn-not-acceptable', ['send-cdn', 'cleanup'], 'closed'),
  // §7.5.1 — OCRQ recipient (LAC): OCRP, place the call, OCCN once the bearer answers.
  row('idle', 'rx-ocrq-acceptable', ['send-ocrp'], 'wait-cs-answer'),
  row('idle', 'rx-ocrq-not-acceptable', ['send-cdn', 'cleanup'], 'closed'),
  row('wait-cs-answer', 'bearer-answer', ['send-occn', 'session-up'], 'established'),
  // Receive CDN → clean up; local close → send CDN, clean up; out-of-sequence message → CDN.
  ...LIVE.map((s) => row(s, 'rx-cdn', ['cleanup'], 'closed')),
  row('wait-tunnel', 'local-close', ['cleanup'], 'closed'),
  ...LIVE.filter((s) => s !== 'wait-tunnel').map((s) => row(s, 'local-close', ['send-cdn', 'cleanup'], 'closed')),
  ...LIVE.filter((s) => s !== 'wait-tunnel').map((s) => row(s, 'rx-unexpected', ['send-cdn', 'cleanup'], 'closed')),
  // The tunnel went away: sessions are cleaned up without CDN (StopCCN covers them, §5.7).
  ...LIVE.map((s) => row(s, 'tunnel-down', ['cleanup'], 'closed')),
];

const index = new Map<string, SessionTransition>();
for (const t of SESSION_TRANSITIONS) {
  const key = `${t.from}|${t.event}`;
  if (index.has(key)) throw new Error(`duplicate session transition ${key}`);
  index.set(key, t);
}

/** Look up the row for (state, event); undefined = not valid in this state. */
export function sessionTransition(from: SessionState, event: SessionFsmEvent): SessionTransition | undefined {
  return index.get(`${from}|${event}`);
}
