// Fault campaign (issue 10), `npm run soak`: runs the soak scenarios and prints their numbers.
// Scenario 1, control-channel loss: N sessions through the UDP impairment proxy with 20 % loss,
// reordering and duplication on the control channel, then torn down (bench/soak/control-loss.ts).
// Needs root (a network namespace cw-soak-<pid> with a veth in 198.18.212.0/30) unless --loopback.
// Run: npm run soak -- [--sessions=1000] [--mode=tunnels|calls] [--window=100] [--loss=0.2]
//      [--reorder=0.2] [--duplicate=0.2] [--seed=1] [--timeout=300] [--loopback]
// Exits 1 when a session did not come up or state was left behind (the numbers say which).
import { cleanupAll, watchdog } from '../lib/cleanup.js';
import { isRoot } from '../lib/netns.js';
import { flagArg, numArg } from '../lib/table.js';
import { formatControlLoss, runControlLoss, type ControlLossOptions } from './control-loss.js';

const loopback = flagArg('loopback') || !isRoot();
if (!flagArg('loopback') && !isRoot()) console.log('SKIP namespace path: not root; running the LNS on loopback in this process instead');
const options: ControlLossOptions = {
  sessions: numArg('sessions', 1000),
  mode: process.argv.includes('--mode=calls') ? 'calls' : 'tunnels',
  window: numArg('window', 100),
  loss: numArg('loss', 0.2),
  reorder: numArg('reorder', 0.2),
  duplicate: numArg('duplicate', 0.2),
  seed: numArg('seed', 1),
  timeoutMs: numArg('timeout', 300) * 1000,
  loopback,
};
watchdog(options.timeoutMs + 240_000, 'soak took too long');
const started = Date.now();
const r = await runControlLoss(options);
for (const line of formatControlLoss(r)) console.log(line);
// All up at the LAC (after redials), at least as many at the LNS, and nothing left at either end.
const ok =
  r.setup.established === options.sessions &&
  r.lns.sessionsEstablished >= options.sessions &&
  r.lostAfterUp === 0 &&
  !r.setup.timedOut &&
  r.lacTunnelsLeft === 0 &&
  r.lns.tunnelsClosed === r.lns.tunnelsEstablished &&
  r.lns.sessionsClosed === r.lns.sessionsEstablished;
console.log(`${ok ? 'ok' : 'FAIL'}: control-loss soak in ${((Date.now() - started) / 1000).toFixed(1)} s`);
cleanupAll();
process.exit(ok ? 0 : 1);
