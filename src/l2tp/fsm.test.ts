import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tunnelTransition, TUNNEL_TRANSITIONS, type TunnelFsmEvent, type TunnelFsmState } from './tunnel-fsm.js';
import { sessionTransition, SESSION_TRANSITIONS, type SessionFsmEvent } from './session-fsm.js';
import type { SessionState } from './api.js';

test('tunnel table: lookups, and pairs the RFC leaves out are not valid', () => {
  const cases: [TunnelFsmState, TunnelFsmEvent, TunnelFsmState | undefined, string][] = [
    ['idle', 'local-open', 'wait-ctl-reply', 'send-sccrq'],
    ['idle', 'rx-sccrq-acceptable', 'wait-ctl-conn', 'send-sccrp'],
    ['wait-ctl-reply', 'rx-sccrp-acceptable', 'established', 'send-scccn,tunnel-open'],
    ['wait-ctl-reply', 'rx-sccrq-lose-tie', 'idle', 'cleanup,requeue-sccrq'],
    ['wait-ctl-reply', 'rx-sccrq-win-tie', 'wait-ctl-reply', 'discard-sccrq'],
    ['wait-ctl-conn', 'rx-scccn-acceptable', 'established', 'tunnel-open'],
    ['established', 'hello-timeout', 'idle', 'send-last-stopccn,cleanup'],
    ['established', 'rx-stopccn', 'idle', 'cleanup'],
    ['established', 'local-open', 'established', 'tunnel-open'],
    ['idle', 'admin-close', undefined, ''],
    ['established', 'rx-sccrp-acceptable', undefined, ''],
    ['wait-ctl-conn', 'hello-timeout', undefined, ''],
  ];
  for (const [from, ev, to, actions] of cases) {
    const row = tunnelTransition(from, ev);
    assert.equal(row?.to, to, `${from} / ${ev}`);
    if (row) assert.equal(row.actions.join(','), actions, `${from} / ${ev}`);
  }
  // Every StopCCN-sending row ends with clean-up (§5.7 linger follows).
  for (const r of TUNNEL_TRANSITIONS) if (r.actions.includes('send-stopccn')) assert.equal(r.actions.at(-1), 'cleanup');
});

test('session table: the four roles walk to established and every live state can be cleared', () => {
  const walks: [string, SessionFsmEvent[]][] = [
    ['ICRQ sender (LAC) §7.4.1', ['call-request', 'tunnel-open-incoming', 'rx-icrp-acceptable']],
    ['ICRQ recipient (LNS) §7.4.2', ['rx-icrq-acceptable', 'rx-iccn-acceptable']],
    ['OCRQ sender (LNS) §7.5.2', ['call-request', 'tunnel-open-outgoing', 'rx-ocrp-acceptable', 'rx-occn-acceptable']],
    ['OCRQ recipient (LAC) §7.5.1', ['rx-ocrq-acceptable', 'bearer-answer']],
  ];
  for (const [name, events] of walks) {
    let s: SessionState = 'idle';
    for (const ev of events) {
      const row = sessionTransition(s, ev);
      assert.ok(row, `${name}: ${s} / ${ev}`);
      s = row.to;
    }
    assert.equal(s, 'established', name);
  }
  const live: SessionState[] = ['wait-tunnel', 'wait-reply', 'wait-connect', 'wait-cs-answer', 'established'];
  for (const s of live) {
    assert.equal(sessionTransition(s, 'rx-cdn')?.to, 'closed');
    assert.equal(sessionTransition(s, 'local-close')?.to, 'closed');
    assert.equal(sessionTransition(s, 'tunnel-down')?.actions.includes('send-cdn'), false, 'StopCCN covers sessions');
  }
  assert.equal(sessionTransition('established', 'rx-icrp-acceptable'), undefined);
  assert.equal(sessionTransition('closed', 'rx-cdn'), undefined);
  assert.ok(SESSION_TRANSITIONS.every((r) => r.to !== 'idle'));
});
