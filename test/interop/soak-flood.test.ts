/**
 * Fault campaign, CI-sized (issue 10): an SCCRQ flood and an IKE Main Mode flood (15 s, 100 source
 * ports, 100 SCCRQ/s + 100 MM1/s) against our l2tpd while 20 established PPP sessions carry ping
 * (bench/soak/flood.ts): no session lost, HELLOs (every 2 s both ways) and DPD R-U-THEREs answered,
 * a new legitimate tunnel with 5 sessions admitted during the flood, and the LNS back at its
 * baseline afterwards. `npm run soak -- --scenario=flood` runs 100 sessions for 60 s.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from './lib/index.js';
import { floodProblems, formatFlood, runFlood } from '../../bench/soak/flood.js';

before(() => {
  requireRoot();
});

test('SCCRQ + IKE flood: no established session lost, HELLO/DPD answered, a new tunnel admitted, nothing leaked', { timeout: 300_000 }, async (t) => {
  const r = await runFlood({ sessions: 20, newSessions: 5, durationMs: 15_000, ports: 100, sccrqPerSecond: 100, ikePerSecond: 100 });
  for (const l of formatFlood(r)) t.diagnostic(l);
  assert.deepEqual(floodProblems(r), [], formatFlood(r).join('\n'));
  assert.ok(r.pingReceived > 0 && r.pingRounds >= 2, formatFlood(r).join('\n'));
});
