/**
 * Fault campaign, CI-sized (issue 10): 100 sessions, one tunnel each, set up and torn down through
 * the UDP impairment proxy with 20 % loss, 20 % reordering and 20 % duplication of every L2TP
 * control message in both directions. Our LAC (this process) -> proxy -> our LNS in a child process
 * inside namespace cb-soak-<pid> (veth 198.18.212.0/30). `npm run soak` runs the same scenario with
 * 1,000 sessions and prints the numbers. L2K_SOAK_SESSIONS overrides the count.
 *
 * Both ends give up after 10 retransmissions, not the RFC's default 5: at 20 % loss each way one
 * try of a message that only a ZLB acknowledges (the ICCN) fails with p = 1 - 0.8² = 0.36, all six
 * tries of the default budget with 0.36^6 ≈ 0.2 %, so about 2 of 1,000 tunnels (seed 2 of the soak:
 * exactly 2) gave up after their session was established — by the configured budget, not by a bug;
 * with 10 retries that is 0.36^11 ≈ 1e-5 per message. The retransmission interval is capped at 4 s
 * here (16 s in the soak): the same odds, a shorter linger after the StopCCNs (§5.7).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from './lib/index.js';
import { formatControlLoss, runControlLoss, type ControlLossResult } from '../../bench/soak/control-loss.js';

const SESSIONS = Number(process.env['L2K_SOAK_SESSIONS'] ?? 100);
let r: ControlLossResult | undefined;
let report = '';

before(async () => {
  requireRoot();
  r = await runControlLoss({ sessions: SESSIONS, mode: 'tunnels', window: 100, loss: 0.2, reorder: 0.2, duplicate: 0.2, seed: 10, timeoutMs: 180_000, loopback: false, retries: 10, retransmitCap: 4000 });
  report = formatControlLoss(r).join('\n');
  console.log(report);
}, { timeout: 600_000 });

test(`${SESSIONS} sessions through 20 % control loss, reordering and duplication all come up`, () => {
  assert.ok(r !== undefined);
  // All up at the LAC (a set-up that ran out of retransmissions is redialled, as an always-on LAC
  // does; at most 5 % redials), and the LNS saw at least as many.
  assert.equal(r.setup.established, SESSIONS, report);
  assert.ok(r.redials <= SESSIONS / 20, report);
  assert.ok(r.lns.sessionsEstablished >= SESSIONS, report);
  assert.equal(r.setup.timedOut, false, report);
  // The impairment really happened, and both ends recovered by retransmitting (RFC 2661 §5.8).
  assert.ok(r.proxy.up.lost > 0 && r.proxy.down.lost > 0 && r.proxy.up.duplicated > 0 && r.proxy.up.reordered > 0, report);
  assert.equal(r.proxy.up.matched, r.proxy.up.received, 'every LAC datagram was an L2TP control message');
  assert.ok(r.setup.retransmits > 0 && r.lns.retransmits > 0, report);
});

test('none lost after establishment, and after the StopCCNs neither end holds a tunnel', () => {
  assert.ok(r !== undefined);
  assert.equal(r.lostAfterUp, 0, report);
  assert.equal(r.setup.peerCdns, 0, report);
  assert.equal(r.lacTunnelsLeft, 0, report);
  assert.equal(r.lns.tunnelsClosed, r.lns.tunnelsEstablished, report);
  assert.equal(r.lns.sessionsClosed, r.lns.sessionsEstablished, report);
});
