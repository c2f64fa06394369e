/**
 * Fault campaign, CI-sized (issue 10): 500 connect/disconnect cycles (full L2TP + PPP set-up and
 * teardown, CHAP-MD5, IPCP) of the PPP load client against one l2tpd process; afterwards the daemon's
 * tunnels, PPP sessions, leases, routes, timers, file descriptors (/proc/PID/fd), kernel routes and
 * live heap are back at their baseline (bench/soak/churn.ts; `npm run soak -- --scenario=churn` runs
 * 10,000 cycles). L2K_SOAK_CYCLES overrides the count.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from './lib/index.js';
import { churnLeaks, formatChurn, runChurn } from '../../bench/soak/churn.js';

const CYCLES = Number(process.env['L2K_SOAK_CYCLES'] ?? 500);

before(() => {
  requireRoot();
});

test(`${CYCLES} connect/disconnect cycles against one LNS: everything back at its baseline`, { timeout: 400_000 }, async (t) => {
  const r = await runChurn({ cycles: CYCLES, batch: 50, tunnels: 5, window: 25, timeoutMs: 300_000 });
  const report = formatChurn(r).join('\n');
  for (const l of formatChurn(r)) t.diagnostic(l);
  assert.equal(r.timedOut, false, report);
  assert.equal(r.failed, 0, report);
  assert.ok(r.cycles >= CYCLES, report);
  assert.equal(r.baseline.sessions, 0, report);
  assert.deepEqual(churnLeaks(r), [], report);
});
