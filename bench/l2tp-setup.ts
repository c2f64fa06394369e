// L2TPv2 control-plane set-up rate (RFC 2661): tunnel+session set-ups per second and sessions per
// second, LAC -> LNS over real UDP, with our engines driven by the io shell (UdpEndpoint + TimerDriver).
//
// Targets, measured one after another in the same run, always with OUR LAC (this process):
//   1. our LNS in this process, over loopback 127.0.0.1 (ephemeral ports; LAC and LNS share one thread)
//   2. our LNS in a child process inside a network namespace, reached over a veth pair
//      (198.18.200.1/30 host side, 198.18.200.2/30 in the namespace)
//   3. xl2tpd (Debian package) as the LNS in the same namespace behind the same veth, with a stand-in
//      pppd that just sleeps (bind-mounted over /usr/sbin/pppd in a private mount namespace)
// 2 and 3 are the like-for-like pair: separate process, same veth, same LAC load.
//
// Loads: (a) N tunnels each with one incoming call (SCCRQ/SCCRP/SCCCN + ICRQ/ICRP/ICCN), at most W
// in flight; (b) one tunnel, S incoming calls on it, at most W in flight (S = 2,000 in process;
// 900 for both veth targets, because xl2tpd 1.3.18 select()s on one pty per call and aborts with
// "bit out of range 0 - FD_SETSIZE" at ~1,020 calls). Best of --rounds rounds, veth rounds alternating.
// A set-up counts when OUR LAC's session-established event fires (ICRP received, ICCN sent); whether
// the peer then acknowledged the ICCN is reported separately.
//
// Needs root for 2 and 3 (netns, veth, mount); without root or xl2tpd it says so and prints 1 only.
// Run: npx tsx --expose-gc bench/l2tp-setup.ts [--tunnels=200] [--sessions=2000] [--window=50] [--timeout=60]
//      [--peer-sessions=900] [--rounds=2] [--warmup=20] [--targets=loopback,ours,xl2tpd] [--loopback-only] [--verbose]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerAddress } from '../src/l2tp/index.js';
import { trackDir, watchdog, cleanupAll } from './lib/cleanup.js';
import { Lac, rate, sleep, type SetupResult } from './lib/l2tp-load.js';
import { startLns } from './lib/lns.js';
import { machineLines } from './lib/machine.js';
import { createVethNetns, deleteNetns, isRoot, which } from './lib/netns.js';
import { startOurLnsChild, startXl2tpd, xl2tpdVersion, type PeerProcess } from './lib/peers.js';
import { flagArg, fmtNum, fmtRatio, formatTable, numArg } from './lib/table.js';

const TUNNELS = numArg('tunnels', 200);
const SESSIONS = numArg('sessions', 2000);
const WINDOW = numArg('window', 50);
const TIMEOUT_MS = numArg('timeout', 60) * 1000;
const WARMUP = numArg('warmup', 20);
const ROUNDS = Math.max(1, numArg('rounds', 2));
/** Calls on one tunnel for the veth targets: xl2tpd 1.3.18 aborts past ~1,020 calls (FD_SETSIZE). */
const PEER_SESSIONS = numArg('peer-sessions', Math.min(SESSIONS, 900));
const TARGETS = (process.argv.find((a) => a.startsWith('--targets='))?.slice(10) ?? 'loopback,ours,xl2tpd').split(',');
const HOST_ADDR = '198.18.200.1';
const NS_ADDR = '198.18.200.2';

/** One run of both loads against one target. */
interface TargetRun {
  readonly tunnels?: SetupResult;
  readonly sessions?: SetupResult;
  readonly note?: string;
}

/** Every round of one target. */
interface Target {
  readonly target: string;
  readonly path: string;
  /** Calls placed on the one tunnel of the sessions-only load. */
  readonly calls: number;
  readonly runs: TargetRun[];
}

/** Run both loads against `peer` with a fresh LAC bound on `lacAddress`. */
async function measure(lacAddress: string, peer: PeerAddress, calls: number): Promise<TargetRun> {
  const lac = await Lac.open(lacAddress);
  try {
    if (WARMUP > 0) {
      const w = await lac.tunnelSetups(peer, WARMUP, Math.min(WINDOW, WARMUP), 10_000);
      await lac.closeAll(w.tunnels);
    }
    const t = await lac.tunnelSetups(peer, TUNNELS, WINDOW, TIMEOUT_MS);
    await lac.closeAll(t.tunnels);
    const tid = await lac.openTunnel(peer, 5000);
    if (tid === undefined) return { tunnels: t.result, note: 'sessions: tunnel did not come up' };
    const rws = lac.endpoint.engine.tunnels(lac.endpoint.now()).find((x) => x.localTunnelId === tid)?.peerReceiveWindow;
    const s = await lac.sessionSetups(tid, calls, WINDOW, TIMEOUT_MS);
    await lac.closeAll([tid], 1000);
    return { tunnels: t.result, sessions: s, note: `peer Receive Window Size ${rws ?? '?'}` };
  } finally {
    await lac.close();
  }
}

/** A short status for a run: failures, timeouts, peer CDNs, ICCN acks. */
function status(r: SetupResult | undefined): string {
  if (r === undefined) return 'not run';
  const parts = [`${r.established}/${r.attempted} up`, `${r.iccnAcked} ICCN acked`];
  if (r.failed > 0) parts.push(`${r.failed} failed`);
  if (r.timedOut) parts.push('TIMED OUT');
  if (r.peerCdns > 0) parts.push(`${r.peerCdns} CDN from peer`);
  if (r.retransmits > 0) parts.push(`${r.retransmits} rexmit`);
  return parts.join(', ');
}

/** The run with the highest rate for `pick`, if any run has one. */
function best(t: Target | undefined, pick: (r: TargetRun) => SetupResult | undefined): SetupResult | undefined {
  let b: SetupResult | undefined;
  for (const r of t?.runs ?? []) {
    const x = pick(r);
    if (rate(x) !== undefined && (b === undefined || (rate(x) ?? 0) > (rate(b) ?? 0))) b = x;
  }
  return b;
}

/** Latency "p50 / p99". */
const lat = (r: SetupResult | undefined): string =>
  r === undefined || r.p50 === undefined ? '-' : `${fmtNum(r.p50, 0)} / ${fmtNum(r.p99, 0)}`;

async function main(): Promise<void> {
  watchdog(Math.max(420_000, TIMEOUT_MS * 6 * ROUNDS), 'l2tp-setup benchmark took too long');
  console.log('L2TPv2 control plane: set-up rate, our LAC -> LNS over real UDP');
  for (const l of machineLines()) console.log(`  ${l}`);
  console.log(
    `  load: ${TUNNELS} tunnels x 1 session, window ${WINDOW}; 1 tunnel x N calls, window ${WINDOW}; warm-up ${WARMUP} tunnels per run; best of ${ROUNDS} rounds`,
  );
  console.log('');

  const targets: Target[] = [];
  const absent: string[] = [];

  // 1. In-process loopback.
  if (TARGETS.includes('loopback')) {
    const t: Target = { target: 'l2tpkit LNS', path: 'in-process, 127.0.0.1', calls: SESSIONS, runs: [] };
    targets.push(t);
    for (let r = 0; r < ROUNDS; r++) {
      const lns = await startLns('127.0.0.1', 0);
      try {
        t.runs.push(await measure('127.0.0.1', { address: '127.0.0.1', port: lns.endpoint.local.port, family: 4 }, SESSIONS));
      } finally {
        await lns.close();
      }
    }
  }

  // 2 + 3. A separate process behind a veth in a namespace, rounds alternating ours / xl2tpd.
  let peerName = 'xl2tpd';
  const why = flagArg('loopback-only')
    ? '--loopback-only given'
    : !isRoot()
      ? 'not root: cannot create a network namespace/veth'
      : which('xl2tpd') === undefined
        ? 'xl2tpd is not installed (apt-get install -y xl2tpd)'
        : which('unshare') === undefined
          ? 'unshare (util-linux) missing: cannot give xl2tpd a stand-in pppd'
          : undefined;
  if (why !== undefined) {
    absent.push(`xl2tpd comparison NOT RUN: ${why}. Only our in-process loopback numbers are shown.`);
  } else {
    peerName = await xl2tpdVersion();
    const tag = process.pid.toString();
    const ns = `l2kb-${tag}`;
    const dir = mkdtempSync(join(tmpdir(), 'l2kb-'));
    trackDir(dir);
    const ours: Target = { target: 'l2tpkit LNS', path: 'own process, netns via veth', calls: PEER_SESSIONS, runs: [] };
    const theirs: Target = { target: peerName, path: 'own process, netns via veth', calls: PEER_SESSIONS, runs: [] };
    try {
      await createVethNetns(ns, `l2kb${tag}h`.slice(0, 15), `l2kb${tag}n`.slice(0, 15), HOST_ADDR, NS_ADDR);
      const peer: PeerAddress = { address: NS_ADDR, port: 1701, family: 4 };
      const runPeer = async (t: Target, start: () => Promise<PeerProcess>): Promise<void> => {
        let p: PeerProcess | undefined;
        try {
          p = await start();
          await sleep(200);
          t.runs.push(await measure(HOST_ADDR, peer, t.calls));
        } catch (e) {
          absent.push(`${t.target} round NOT MEASURED: ${e instanceof Error ? e.message : String(e)}`);
        } finally {
          const tail = p === undefined ? '' : await p.stop();
          if (flagArg('verbose')) console.log(`--- ${t.target} output tail\n${tail.split('\n').slice(-40).join('\n')}`);
        }
      };
      if (TARGETS.includes('ours')) targets.push(ours);
      if (TARGETS.includes('xl2tpd')) targets.push(theirs);
      else absent.push('xl2tpd NOT MEASURED: not in --targets');
      for (let r = 0; r < ROUNDS; r++) {
        if (TARGETS.includes('ours')) await runPeer(ours, () => startOurLnsChild(ns, NS_ADDR));
        if (TARGETS.includes('xl2tpd')) await runPeer(theirs, () => startXl2tpd(ns, NS_ADDR, dir));
      }
    } catch (e) {
      absent.push(`namespace set-up failed, xl2tpd comparison NOT RUN: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      await deleteNetns(ns);
    }
  }

  const ref = targets.find((t) => t.target === peerName);
  const refT = rate(best(ref, (r) => r.tunnels));
  const refS = rate(best(ref, (r) => r.sessions));
  const rows = targets.map((t) => {
    const bt = best(t, (r) => r.tunnels);
    const bs = best(t, (r) => r.sessions);
    const isOursVeth = t.target.startsWith('l2tpkit') && t.path.startsWith('own process');
    return [
      t.target,
      t.path,
      fmtNum(rate(bt), 0),
      fmtNum(rate(bs), 0),
      fmtNum(t.calls),
      isOursVeth ? `${fmtRatio(rate(bt), refT)} / ${fmtRatio(rate(bs), refS)}` : t === ref ? 'reference' : '-',
      lat(bt),
      lat(bs),
    ];
  });
  console.log(
    formatTable(
      ['target (LNS)', 'path', 'tunnels/s', 'sessions/s', 'calls', 'ours/xl2tpd (tun / sess)', 'tunnel p50/p99 ms', 'session p50/p99 ms'],
      rows,
      ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  );
  console.log('');
  console.log(`tunnels/s  = tunnel+session set-ups per second: ${TUNNELS} x (SCCRQ/SCCRP/SCCCN + ICRQ/ICRP/ICCN), first open to last set-up`);
  console.log("sessions/s = incoming calls (ICRQ/ICRP/ICCN) per second on one established tunnel; 'calls' = how many");
  console.log(`best of ${ROUNDS} rounds (the machine is shared); latencies are of the best round, open -> set-up`);
  console.log("A set-up counts when our LAC's session-established event fires (ICRP received, ICCN sent); ICCN acks per round:");
  for (const t of targets) {
    t.runs.forEach((r, i) => {
      const rates = `${fmtNum(rate(r.tunnels), 0)} tun/s, ${fmtNum(rate(r.sessions), 0)} sess/s`;
      console.log(`  ${t.target} (${t.path}) round ${i + 1}: ${rates}; tunnels: ${status(r.tunnels)}; sessions: ${status(r.sessions)}${r.note !== undefined ? `; ${r.note}` : ''}`);
    });
  }
  if (ref !== undefined) {
    console.log(`  ${peerName} ran with a stand-in pppd (sleeps) so its calls stay up; without it xl2tpd clears each call (CDN) ~10 ms after ICCN.`);
    console.log(
      `  ${peerName} select()s on one pty per call and aborts past FD_SETSIZE (1024 fds, ~1,020 calls): veth runs use ${fmtNum(PEER_SESSIONS)} calls for both LNSes (--peer-sessions).`,
    );
  }
  for (const a of absent) console.log(`!! ${a}`);
}

try {
  await main();
} finally {
  cleanupAll();
}
process.exit(0);
