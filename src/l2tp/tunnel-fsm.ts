/**
 * The control connection (tunnel) state machine of RFC 2661 §7.2.1 as an explicit table, plus
 * the local additions the RFC describes only in prose (tie-breaker win/equal §4.4.3, timers §5.5,
 * §5.8, administrative close before establishment). The transcription is in docs/l2tp-fsm.md and
 * a test checks this table against it cell by cell.
 *
 * "Clean up → idle" rows end the tunnel object; the engine keeps it in `closing` for one full
 * retransmission cycle when a StopCCN was sent or received (§5.7) and then drops it.
 */

/** FSM states as named in §7.2.1 (the engine adds `closing`/`closed` after clean-up). */
export type TunnelFsmState = 'idle' | 'wait-ctl-reply' | 'wait-ctl-conn' | 'established';

/** FSM events: received messages already judged acceptable or not, local requests, timers. */
export type TunnelFsmEvent =
  | 'local-open'
  | 'rx-sccrq-acceptable'
  | 'rx-sccrq-not-acceptable'
  | 'rx-sccrq-lose-tie'
  | 'rx-sccrq-win-tie'
  | 'rx-sccrq-tie-equal'
  | 'rx-sccrq'
  | 'rx-sccrp-acceptable'
  | 'rx-sccrp-not-acceptable'
  | 'rx-sccrp'
  | 'rx-scccn-acceptable'
  | 'rx-scccn-not-acceptable'
  | 'rx-scccn'
  | 'rx-stopccn'
  | 'admin-close'
  | 'retransmit-timeout'
  | 'hello-timeout'
  | 'idle-timeout';

/** Actions, named as in §7.2.1. */
export type TunnelFsmAction =
  | 'send-sccrq'
  | 'send-sccrp'
  | 'send-scccn'
  | 'send-stopccn'
  | 'send-last-stopccn'
  | 'tunnel-open'
  | 'cleanup'
  | 'requeue-sccrq'
  | 'discard-sccrq';

/** One row of the table. */
export interface TunnelTransition {
  readonly from: TunnelFsmState;
  readonly event: TunnelFsmEvent;
  readonly actions: readonly TunnelFsmAction[];
  readonly to: TunnelFsmState;
}

const row = (
  from: TunnelFsmState,
  event: TunnelFsmEvent,
  actions: readonly TunnelFsmAction[],
  to: TunnelFsmState,
): TunnelTransition => ({ from, event, actions, to });

/** RFC 2661 §7.2.1 "Control Connection States", one row per (state, event). */
export const TUNNEL_RFC_TRANSITIONS: readonly TunnelTransition[] = [
  row('idle', 'local-open', ['send-sccrq'], 'wait-ctl-reply'),
  row('idle', 'rx-sccrq-acceptable', ['send-sccrp'], 'wait-ctl-conn'),
  row('idle', 'rx-sccrq-not-acceptable', ['send-stopccn', 'cleanup'], 'idle'),
  row('idle', 'rx-sccrp', ['send-stopccn', 'cleanup'], 'idle'),
  row('idle', 'rx-scccn', ['cleanup'], 'idle'),
  row('wait-ctl-reply', 'rx-sccrp-acceptable', ['send-scccn', 'tunnel-open'], 'established'),
  row('wait-ctl-reply', 'rx-sccrp-not-acceptable', ['send-stopccn', 'cleanup'], 'idle'),
  row('wait-ctl-reply', 'rx-sccrq-lose-tie', ['cleanup', 'requeue-sccrq'], 'idle'),
  row('wait-ctl-reply', 'rx-scccn', ['send-stopccn', 'cleanup'], 'idle'),
  row('wait-ctl-conn', 'rx-scccn-acceptable', ['tunnel-open'], 'established'),
  row('wait-ctl-conn', 'rx-scccn-not-acceptable', ['send-stopccn', 'cleanup'], 'idle'),
  row('wait-ctl-conn', 'rx-sccrp', ['send-stopccn', 'cleanup'], 'idle'),
  row('wait-ctl-conn', 'rx-sccrq', ['send-stopccn', 'cleanup'], 'idle'),
  row('established', 'local-open', ['tunnel-open'], 'established'),
  row('established', 'admin-close', ['send-stopccn', 'cleanup'], 'idle'),
  row('established', 'rx-sccrq', ['send-stopccn', 'cleanup'], 'idle'),
  row('established', 'rx-sccrp', ['send-stopccn', 'cleanup'], 'idle'),
  row('established', 'rx-scccn', ['send-stopccn', 'cleanup'], 'idle'),
  row('idle', 'rx-stopccn', ['cleanup'], 'idle'),
  row('wait-ctl-reply', 'rx-stopccn', ['cleanup'], 'idle'),
  row('wait-ctl-conn', 'rx-stopccn', ['cleanup'], 'idle'),
  row('established', 'rx-stopccn', ['cleanup'], 'idle'),
];

/** Rows the RFC gives in prose: §4.4.3 tie-breaker, §5.5 keepalive, §5.8 retries, admin close. */
export const TUNNEL_LOCAL_TRANSITIONS: readonly TunnelTransition[] = [
  // §4.4.3: the winner ignores the peer's SCCRQ (the peer silently discards its own tunnel).
  row('wait-ctl-reply', 'rx-sccrq-win-tie', ['discard-sccrq'], 'wait-ctl-reply'),
  // §4.4.3: equal tie breakers → both sides discard their tunnels.
  row('wait-ctl-reply', 'rx-sccrq-tie-equal', ['discard-sccrq', 'cleanup'], 'idle'),
  row('wait-ctl-reply', 'admin-close', ['send-stopccn', 'cleanup'], 'idle'),
  row('wait-ctl-conn', 'admin-close', ['send-stopccn', 'cleanup'], 'idle'),
  // §5.8: retries exhausted → the peer is unreachable: one last StopCCN, not retransmitted, where we
  // know the peer's tunnel id (§3.1: not for our SCCRQ, the peer never gave one), then clean up.
  row('wait-ctl-reply', 'retransmit-timeout', ['cleanup'], 'idle'),
  row('wait-ctl-conn', 'retransmit-timeout', ['send-last-stopccn', 'cleanup'], 'idle'),
  row('established', 'retransmit-timeout', ['send-last-stopccn', 'cleanup'], 'idle'),
  // §5.5 keepalive: HELLOs unanswered for helloMissCount cycles (the peer is silent: same last StopCCN).
  row('established', 'hello-timeout', ['send-last-stopccn', 'cleanup'], 'idle'),
  // Idle disconnect after the last session ended (local policy).
  row('established', 'idle-timeout', ['send-stopccn', 'cleanup'], 'idle'),
];

/** Every row the engine follows. */
export const TUNNEL_TRANSITIONS: readonly TunnelTransition[] = [...TUNNEL_RFC_TRANSITIONS, ...TUNNEL_LOCAL_TRANSITIONS];

const index = new Map<string, TunnelTransition>();
for (const t of TUNNEL_TRANSITIONS) {
  const key = `${t.from}|${t.event}`;
  if (index.has(key)) throw new Error(`duplicate tunnel transition ${key}`);
  index.set(key, t);
}

/** Look up the row for (state, event); undefined = the event is not valid in this state. */
export function tunnelTransition(from: TunnelFsmState, event: TunnelFsmEvent): TunnelTransition | undefined {
  return index.get(`${from}|${event}`);
}
