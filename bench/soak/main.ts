// Fault campaign (issue 10), `npm run soak`: runs the soak scenarios and prints their numbers.
//   control-loss: N sessions through the UDP impairment proxy with 20 % loss, reordering and
//                 duplication on the control channel, then torn down (bench/soak/control-loss.ts);
//   churn:        10,000 connect/disconnect cycles (full L2TP + PPP) against one l2tpd process;
//                 tunnels, sessions, leases, routes, timers, fds and heap back at baseline (churn.ts);
//   blackout:     a 30 s blackout between our always-on LAC and our LNS, inside and beyond the
//                 HELLO budget: survive / torn down and back, nothing leaked (blackout.ts);
//   flood:        SCCRQ + IKE Main Mode floods from many ports while 100 sessions carry ping: none
//                 lost, HELLO/DPD answered, a new tunnel admitted, nothing leaked (flood.ts).
// Needs root (network namespaces cb-soak-<pid> / cb-<pid>-*; control-loss falls back to loopback).
// Run: npm run soak -- [--scenario=control-loss,churn] [--sessions=1000] [--mode=tunnels|calls]
//      [--window=100] [--loss=0.2] [--reorder=0.2] [--duplicate=0.2] [--seed=1] [--retries=10] [--timeout=300]
//      [--loopback] [--cycles=10000] [--batch=50] [--blackout=30] [--flood=60]
// Exits 1 when a scenario failed (the numbers say which).
import { cleanupAll, watchdog } from '../lib/cleanup.js';
import { isRoot } from '../lib/netns.js';
import { flagArg, numArg } from '../lib/table.js';
import { formatControlLoss, runControlLoss, type ControlLossOptions } from './control-loss.js';
import { churnLeaks, formatChurn, runChurn } from './churn.js';
import { blackoutProblems, formatBlackout, runBlackout, type BlackoutOptions } from './blackout.js';
import { floodProblems, formatFlood, runFlood } from './flood.js';

const ALL = ['control-loss', 'churn', 'blackout', 'flood'] as const;
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
    retries: numArg('retries', 10),
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

/**
 * Scenario 3: a 30 s blackout (--blackout=S), twice: inside the HELLO budget (hello 10 s, retransmit
 * 1..16 s: a HELLO sent in the blackout is retransmitted until 31 s later) the tunnels survive;
 * beyond it (hello 5 s, retransmit 0.5..2 s: given up after ~9.5 s) they are torn down and the
 * always-on LAC comes back.
 */
async function blackout(): Promise<boolean> {
  if (!isRoot()) {
    console.log('SKIP blackout: needs root (network namespaces)');
    return true;
  }
  const ms = numArg('blackout', 30) * 1000;
  const runs: BlackoutOptions[] = [
    { blackoutMs: ms, helloInterval: 10, retransmitInitial: 1, retransmitCap: 16, tunnels: 5, sessions: 4, expect: 'survive', comebackMs: 60_000 },
    { blackoutMs: ms, helloInterval: 5, retransmitInitial: 0.5, retransmitCap: 2, tunnels: 5, sessions: 4, expect: 'teardown', comebackMs: 90_000 },
  ];
  let ok = true;
  for (const o of runs) {
    const r = await runBlackout(o);
    for (const line of formatBlackout(r)) console.log(line);
    const p = blackoutProblems(r);
    if (p.length > 0) console.log(`  problems: ${p.join('; ')}`);
    ok &&= p.length === 0;
  }
  return ok;
}

/** Scenario 4: SCCRQ + IKE Main Mode flood while 100 sessions carry ping (--flood=S, default 60). */
async function flood(): Promise<boolean> {
  if (!isRoot()) {
    console.log('SKIP flood: needs root (network namespaces, TUN)');
    return true;
  }
  const r = await runFlood({ sessions: 100, newSessions: 10, durationMs: numArg('flood', 60) * 1000, ports: 500, sccrqPerSecond: 200, ikePerSecond: 200 });
  for (const line of formatFlood(r)) console.log(line);
  const p = floodProblems(r);
  if (p.length > 0) console.log(`  problems: ${p.join('; ')}`);
  return p.length === 0;
}

const RUN: Record<Scenario, () => Promise<boolean>> = { 'control-loss': controlLoss, churn, blackout, flood };
let allOk = true;
for (const s of wanted) {
  const started = Date.now();
  const ok = await RUN[s]();
  allOk &&= ok;
  console.log(`${ok ? 'ok' : 'FAIL'}: ${s} soak in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
cleanupAll();
process.exit(allOk ? 0 : 1);
