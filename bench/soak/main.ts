// Fault campaign (issue 10), `npm run soak`: runs the soak scenarios and prints their numbers.
//   control-loss: N sessions through the UDP impairment proxy with 20 % loss, reordering and
//                 duplication on the control channel, then torn down (bench/soak/control-loss.ts);
//   churn:        10,000 connect/disconnect cycles (full L2TP + PPP) against one l2tpd process;
//                 tunnels, sessions, leases, routes, timers, fds and heap back at baseline (churn.ts).
// Needs root (network namespaces cw-soak-<pid> / cb-<pid>-*; control-loss falls back to loopback).
// Run: npm run soak -- [--scenario=control-loss,churn] [--sessions=1000] [--mode=tunnels|calls]
//      [--window=100] [--loss=0.2] [--reorder=0.2] [--duplicate=0.2] [--seed=1] [--timeout=300]
//      [--loopback] [--cycles=10000] [--batch=50]
// Exits 1 when a scenario failed (the numbers say which).
import { cleanupAll, watchdog } from '../lib/cleanup.js';
import { isRoot } from '../lib/netns.js';
import { flagArg, numArg } from '../lib/table.js';
import { formatControlLoss, runControlLoss, type ControlLossOptions } from './control-loss.js';
import { churnLeaks, formatChurn, runChurn } from './churn.js';

const ALL = ['control-loss', 'churn'] as const;
type Scenario = (typeof ALL)[number];
const arg = process.argv.find((a) => a.startsWith('--scenario='))?.slice('--scenario='.length);
const wanted = (arg === undefined ? [...ALL] : arg.split(',')) as Scenario[];
for (const w of wanted) if (!(ALL as readonly string[]).includes(w)) throw new Error(`unknown scenario ${w} (${ALL.join(', ')})`);
const timeoutS = numArg('timeout', 300);
watchdog(wanted.length * (timeoutS + 240) * 1000, 'soak took too long');

/** Scenario 1: control-channel loss. */
async function controlLoss(): Promise<boolean> {
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
    timeoutMs: timeoutS * 1000,
    loopback,
  };
  const r = await runControlLoss(options);
  for (const line of formatControlLoss(r)) console.log(line);
  // All up at the LAC (after redials), at least as many at the LNS, and nothing left at either end.
  return (
    r.setup.established === options.sessions &&
    r.lns.sessionsEstablished >= options.sessions &&
    r.lostAfterUp === 0 &&
    !r.setup.timedOut &&
    r.lacTunnelsLeft === 0 &&
    r.lns.tunnelsClosed === r.lns.tunnelsEstablished &&
    r.lns.sessionsClosed === r.lns.sessionsEstablished
  );
}

/** Scenario 2: connect/disconnect churn. */
async function churn(): Promise<boolean> {
  if (!isRoot()) {
    console.log('SKIP churn: needs root (network namespaces, TUN)');
    return true;
  }
  const r = await runChurn({ cycles: numArg('cycles', 10_000), batch: numArg('batch', 50), tunnels: 5, window: 25, timeoutMs: timeoutS * 1000 });
  for (const line of formatChurn(r)) console.log(line);
  const leaks = churnLeaks(r);
  if (leaks.length > 0) console.log(`  left behind: ${leaks.join('; ')}`);
  return !r.timedOut && r.failed === 0 && leaks.length === 0;
}

const RUN: Record<Scenario, () => Promise<boolean>> = { 'control-loss': controlLoss, churn };
let allOk = true;
for (const s of wanted) {
  const started = Date.now();
  const ok = await RUN[s]();
  allOk &&= ok;
  console.log(`${ok ? 'ok' : 'FAIL'}: ${s} soak in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
cleanupAll();
process.exit(allOk ? 0 : 1);
