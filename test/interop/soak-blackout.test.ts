/**
 * Fault campaign, CI-sized (issue 10): a blackout of the link between our always-on LAC (l2tpd,
 * 3 `[[lac]]` tunnels x 2 sessions) and our LNS (l2tpd), through the UDP impairment proxy
 * (bench/soak/blackout.ts), with short HELLO timers:
 *  1. hello 2 s, retransmit 1..4 s (a HELLO budget of ~21 s), a 5 s blackout: the same tunnels
 *     survive at both ends;
 *  2. hello 1 s, retransmit 0.25..0.5 s (a budget of ~3.5 s), an 8 s blackout: both ends tear the
 *     tunnels down, the always-on LAC redials once the link is back, the LNS holds exactly the new ones.
 * Each time the LAC then stops and the LNS is back at its baseline (tunnels, sessions, timers, fds).
 * `npm run soak -- --scenario=blackout` runs the same with a 30 s blackout.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from './lib/index.js';
import { blackoutProblems, formatBlackout, runBlackout } from '../../bench/soak/blackout.js';

before(() => {
  requireRoot();
});

test('a 5 s blackout inside the HELLO budget: the same tunnels survive, nothing leaked', { timeout: 150_000 }, async (t) => {
  const r = await runBlackout({ blackoutMs: 5000, helloInterval: 2, retransmitInitial: 1, retransmitCap: 4, tunnels: 3, sessions: 2, expect: 'survive', comebackMs: 30_000 });
  for (const l of formatBlackout(r)) t.diagnostic(l);
  assert.deepEqual(blackoutProblems(r), [], formatBlackout(r).join('\n'));
  assert.ok(r.retransmits.lns + r.retransmits.lac > 0, 'the HELLOs in the blackout were retransmitted');
});

test('an 8 s blackout beyond the HELLO budget: torn down at both ends, the always-on LAC comes back, nothing leaked', { timeout: 150_000 }, async (t) => {
  const r = await runBlackout({ blackoutMs: 8000, helloInterval: 1, retransmitInitial: 0.25, retransmitCap: 0.5, tunnels: 3, sessions: 2, expect: 'teardown', comebackMs: 60_000 });
  for (const l of formatBlackout(r)) t.diagnostic(l);
  assert.deepEqual(blackoutProblems(r), [], formatBlackout(r).join('\n'));
});
