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
// in flight; (b) one tunnel, S incoming calls on it, at most W in flight.
// A set-up counts when OUR LAC's session-established event fires (ICRP received, ICCN sent); whether
// the peer then acknowledged the ICCN is reported separately.
//
// Needs root for 2 and 3 (netns, veth, mount); without root or xl2tpd it says so and prints 1 only.
// Run: npx tsx --expose-gc bench/l2tp-setup.ts [--tunnels=200] [--sessions=2000] [--window=50] [--timeout=60]
//      [--warmup=20] [--loopback-only] [--verbose]
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
const HOST_ADDR = '198.18.200.1';
const NS_ADDR = '198.18.200.2';

/** One measured target. */
interface TargetResult {
  readonly target: string;
  readonly path: string;
  readonly tunnels?: SetupResult;
  readonly sessions?: SetupResult;
  readonly note?: string;
}

/** Run both loads against `peer` with a fresh LAC bound on `lacAddress`. */
async function measure(target: string, path: string, lacAddress: string, peer: PeerAddress): Promise<TargetResult> {
  const lac = await Lac.open(lacAddress);
  try {
    if (WARMUP > 0) {
      const w = await lac.tunnelSetups(peer, WARMUP, Math.min(WINDOW, WARMUP), 10_000);
      await lac.closeAll(w.tunnels);
    }
    const t = await lac.tunnelSetups(peer, TUNNELS, WINDOW, TIMEOUT_MS);
    await lac.closeAll(t.tunnels);
    const tid = await lac.openTunnel(peer, 5000);
    if (tid === undefined) return { target, path, tunnels: t.result, note: 'sessions: tunnel did not come up' };
    const s = await lac.sessionSetups(tid, SESSIONS, WINDOW, TIMEOUT_MS);
    await lac.closeAll([tid], 1000);
    return { target, path, tunnels: t.result, sessions: s };
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

/** Latency "p50 / p99 ms". */
const lat = (r: SetupResult | undefined): string =>
  r === undefined || r.p50 === undefined ? '-' : `${fmtNum(r.p50, 1)} / ${fmtNum(r.p99, 1)}`;

async function main(): Promise<void> {
  watchdog(Math.max(300_000, TIMEOUT_MS * 8), 'l2tp-setup benchmark took too long');
  console.log('L2TPv2 control plane: set-up rate, our LAC -> LNS over real UDP');
  for (const l of machineLines()) console.log(`  ${l}`);
  console.log(`  load: ${TUNNELS} tunnels x 1 session (window ${WINDOW}); 1 tunnel x ${SESSIONS} sessions (window ${WINDOW}); warm-up ${WARMUP} tunnels per target`);
  console.log('');

  const results: TargetResult[] = [];
  const absent: string[] = [];

  // 1. In-process loopback.
  const lns = await startLns('127.0.0.1', 0);
  try {
    const peer: PeerAddress = { address: '127.0.0.1', port: lns.endpoint.local.port, family: 4 };
    results.push(await measure('l2tpkit LNS', 'in-process, loopback', '127.0.0.1', peer));
  } finally {
    await lns.close();
  }

  // 2 + 3. Separate process behind a veth in a namespace.
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
    try {
      await createVethNetns(ns, `l2kb${tag}h`.slice(0, 15), `l2kb${tag}n`.slice(0, 15), HOST_ADDR, NS_ADDR);
      const peer: PeerAddress = { address: NS_ADDR, port: 1701, family: 4 };
      const runPeer = async (label: string, start: () => Promise<PeerProcess>): Promise<void> => {
        let p: PeerProcess | undefined;
        try {
          p = await start();
          await sleep(200);
          results.push(await measure(label, 'own process, netns via veth', HOST_ADDR, peer));
        } catch (e) {
          absent.push(`${label} NOT MEASURED: ${e instanceof Error ? e.message : String(e)}`);
        } finally {
          const tail = p === undefined ? '' : await p.stop();
          if (process.argv.includes('--verbose')) console.log(`--- ${label} output tail\n${tail.split('\n').slice(-15).join('\n')}`);
        }
      };
      await runPeer('l2tpkit LNS', () => startOurLnsChild(ns, NS_ADDR));
      await runPeer(peerName, () => startXl2tpd(ns, NS_ADDR, dir));
    } catch (e) {
      absent.push(`namespace set-up failed, xl2tpd comparison NOT RUN: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      await deleteNetns(ns);
    }
  }

  const ref = results.find((r) => r.target === peerName);
  const rows = results.map((r) => {
    const isOursVeth = r.target.startsWith('l2tpkit') && r.path.startsWith('own process');
    return [
      r.target,
      r.path,
      fmtNum(rate(r.tunnels), 0),
      fmtNum(rate(r.sessions), 0),
      isOursVeth ? `${fmtRatio(rate(r.tunnels), rate(ref?.tunnels))} / ${fmtRatio(rate(r.sessions), rate(ref?.sessions))}` : r === ref ? '1.00x (reference)' : '-',
      lat(r.tunnels),
      lat(r.sessions),
    ];
  });
  console.log(
    formatTable(
      ['target (LNS)', 'path', 'tunnels/s', 'sessions/s', 'ours/xl2tpd (tun / sess)', 'tunnel p50/p99 ms', 'session p50/p99 ms'],
      rows,
      ['left', 'left', 'right', 'right', 'right', 'right', 'right'],
    ),
  );
  console.log('');
  console.log('tunnels/s  = tunnel+session set-ups per second (SCCRQ..SCCCN + ICRQ..ICCN, one call per tunnel), first open to last set-up');
  console.log('sessions/s = incoming calls (ICRQ/ICRP/ICCN) per second on one established tunnel');
  console.log("A set-up counts when our LAC's session-established event fires (ICRP received, ICCN sent); ICCN acks below.");
  for (const r of results) {
    console.log(`  ${r.target} (${r.path}): tunnels: ${status(r.tunnels)}; sessions: ${status(r.sessions)}${r.note !== undefined ? `; ${r.note}` : ''}`);
  }
  if (ref !== undefined) console.log(`  ${peerName} ran with a stand-in pppd (sleeps) so its calls stay up; without it xl2tpd clears each call (CDN) ~10 ms after ICCN.`);
  for (const a of absent) console.log(`!! ${a}`);
}

try {
  await main();
} finally {
  cleanupAll();
}
process.exit(0);
