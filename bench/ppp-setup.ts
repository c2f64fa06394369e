// Remote-access set-up rate: full session set-ups per second (L2TP SCCRQ..ICCN + LCP + CHAP-MD5 +
// IPCP, counted at the client's IPCP up) from our load client to an LNS, against two LNSes in the
// same run, both in one network namespace behind one veth:
//   ours   : l2tpd (bin/l2tpd.js) remote access, users file, pool 100.64.16.0/20, TUN l2tp0,
//            listening on 198.18.211.2:1701
//   l2tpns : l2tpns 2.4 (Debian) on 198.18.211.9:1701, CHAP checked by FreeRADIUS 3.2 (Debian) on
//            127.0.0.1 of the same namespace, pool 100.64.32.0/20 (test/interop/lib/l2tpns.ts and
//            freeradius.ts write their configs; FreeRADIUS is then restarted in its normal threaded
//            mode `-f` instead of the harness's single-threaded debug mode `-X`)
// The load client (bench/lib/ppp-load.ts, this process, root namespace, 198.18.211.1) opens --tunnels
// tunnels, then dials --sessions sessions spread over them with at most --window negotiating at
// once; then hangs all up (LCP Terminate + CDN) and closes the tunnels. Rate = sessions up / (first
// ICRQ .. last IPCP up). After a --warmup round per target (not counted), rounds alternate between
// the targets; the best round of each is shown, every round is listed.
// If l2tpns or FreeRADIUS cannot run, the reason is printed along with our own numbers.
// Default load: 8 tunnels, 32 in flight (4 per tunnel). With more calls per tunnel than the peer's
// control Receive Window allows, the LAC's ICCN waits in its send queue while the first LCP frame
// (sent at session-established) overtakes it and is dropped by the LNS: a 3 s PPP restart shows up
// in p99 for either LNS (try --tunnels=4 --window=64).
// Needs root. Run: npx tsx bench/ppp-setup.ts [--sessions=1000] [--tunnels=8] [--window=32] [--rounds=2] [--warmup=100] [--verbose]
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupAll, trackDir, watchdog } from './lib/cleanup.js';
import { machineLines } from './lib/machine.js';
import { createVethNetns, deleteNetns, isRoot } from './lib/netns.js';
import { flagArg, fmtNum, fmtRatio, formatTable, numArg } from './lib/table.js';
import { PppLoad, type DialResult } from './lib/ppp-load.js';
import { sh, startAccessLns, writeUsers, type AccessLnsDaemon } from './lib/ppp-lns.js';
import { spawnIn, type ManagedProcess } from '../test/interop/lib/process.js';
import { startFreeRadius, type FreeRadiusUser } from '../test/interop/lib/freeradius.js';
import { startL2tpns, type L2tpns } from '../test/interop/lib/l2tpns.js';
import { waitUntil } from '../test/interop/lib/host.js';

const SESSIONS = numArg('sessions', 1000);
const TUNNELS = Math.max(1, numArg('tunnels', 8));
const WINDOW = Math.max(1, numArg('window', 32));
const ROUNDS = Math.max(1, numArg('rounds', 2));
const TIMEOUT_MS = numArg('timeout', 120) * 1000;
const VERBOSE = flagArg('verbose');
const WARMUP = numArg('warmup', 100);
const HOST = '198.18.211.1';
const OURS = '198.18.211.2';
const L2TPNS = '198.18.211.9';
const SECRET = 'bench-radius-s3cret';
const tag = process.pid.toString(36);
const NS = `l2k-psu-${tag}`;

/** One round against one target. */
interface Run {
  readonly dial?: DialResult;
  readonly error?: string;
}

/** Open tunnels, dial, hang up, close: one round against `address`. */
async function round(address: string, sessions = SESSIONS): Promise<Run> {
  const load = await PppLoad.open({ address: HOST, tuning: {} });
  try {
    const tunnels = await load.openTunnels({ address, port: 1701, family: 4 }, TUNNELS, 20_000);
    const dial = await load.dial(tunnels, sessions, WINDOW, TIMEOUT_MS, (i) => ({ username: `u${i}`, password: `p${i}` }));
    await load.hangupAll(30_000);
    await load.closeTunnels(10_000);
    return { dial };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  } finally {
    await load.close();
  }
}

/** FreeRADIUS (threaded, from the harness's config) + l2tpns, or the reason they cannot run. */
async function startPeer(dir: string, procs: ManagedProcess[]): Promise<{ l2tpns: L2tpns } | { why: string }> {
  if (!existsSync('/usr/sbin/l2tpns')) return { why: 'l2tpns is not installed (Debian package l2tpns)' };
  if (!existsSync('/usr/sbin/freeradius')) return { why: 'FreeRADIUS is not installed (Debian package freeradius)' };
  try {
    const users: FreeRadiusUser[] = Array.from({ length: SESSIONS }, (_, i) => ({ name: `u${i}`, password: `p${i}` }));
    const rad = await startFreeRadius({ ns: NS, dir: join(dir, 'freeradius'), clients: [{ address: L2TPNS, secret: SECRET }], users, lifetimeMs: 600_000 });
    // Same configuration, normal threaded mode (the harness runs -X: debug, single-threaded).
    await rad.stop();
    const fr = spawnIn(NS, 'freeradius', ['-f', '-d', rad.raddb], { name: 'freeradius -f', lifetimeMs: 600_000 });
    procs.push(fr);
    await waitUntil(
      'FreeRADIUS on UDP 1812',
      async () => {
        if (!fr.running()) throw new Error(`freeradius -f exited: ${fr.output().slice(-500)}`);
        const ss = await sh('ip', ['netns', 'exec', NS, 'ss', '-Hluna']);
        return /:1812\b/.test(ss) ? true : undefined;
      },
      20_000,
    );
    const l2tpns = await startL2tpns({
      ns: NS,
      dir: join(dir, 'l2tpns'),
      bindAddress: L2TPNS,
      radius: { address: '127.0.0.1', secret: SECRET },
      pool: ['100.64.32.0/20'],
      radiusAuthTypes: 'chap',
      debug: VERBOSE ? 4 : 1,
      echoTimeout: 30,
      lifetimeMs: 600_000,
    });
    return { l2tpns };
  } catch (e) {
    return { why: `l2tpns/FreeRADIUS could not start: ${e instanceof Error ? e.message.split('\n').slice(0, 6).join(' | ') : String(e)}` };
  }
}

const rate = (d: DialResult | undefined): number | undefined => (d === undefined || d.up === 0 || d.seconds <= 0 ? undefined : d.up / d.seconds);

async function main(): Promise<void> {
  watchdog(480_000, 'ppp-setup took too long');
  console.log('PPP / remote access: full session set-ups per second (L2TP + LCP + CHAP-MD5 + IPCP)');
  for (const l of machineLines()) console.log(l);
  if (!isRoot()) {
    console.log('\nskipped: needs root (network namespace, veth, TUN). Run as root.');
    console.log('summary: ppp-setup skipped (not root)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'l2k-psu-'));
  trackDir(dir);
  await createVethNetns(NS, `ps${tag}h`.slice(0, 15), 'eth0', HOST, OURS);
  await sh('ip', ['-n', NS, 'addr', 'add', `${L2TPNS}/32`, 'dev', 'eth0']);
  await sh('ip', ['route', 'add', `${L2TPNS}/32`, 'via', OURS]);
  const procs: ManagedProcess[] = [];
  let ours: AccessLnsDaemon | undefined;
  let peer: { l2tpns: L2tpns } | { why: string } | undefined;
  try {
    const users = join(dir, 'users');
    writeUsers(users, SESSIONS);
    ours = await startAccessLns(
      NS,
      dir,
      { socket: join(dir, 'l2tpd.sock'), listen: OURS, pool: '100.64.16.0/20', localAddress: '100.64.16.1', usersFile: users, tunName: 'l2tp0', auth: ['chap'] },
      460_000,
    );
    peer = await startPeer(dir, procs);
    const runs: { ours: Run[]; l2tpns: Run[] } = { ours: [], l2tpns: [] };
    if (WARMUP > 0) {
      // Warm-up (JIT of our daemon, caches of both): not counted.
      await round(OURS, Math.min(WARMUP, SESSIONS));
      if ('l2tpns' in peer) await round(L2TPNS, Math.min(WARMUP, SESSIONS));
    }
    for (let r = 0; r < ROUNDS; r++) {
      runs.ours.push(await round(OURS));
      if ('l2tpns' in peer) runs.l2tpns.push(await round(L2TPNS));
    }
    const best = (rs: Run[]): Run | undefined => [...rs].sort((a, b) => (rate(b.dial) ?? -1) - (rate(a.dial) ?? -1))[0];
    const bo = best(runs.ours);
    const bp = best(runs.l2tpns);
    const row = (name: string, r: Run | undefined, all: Run[]): string[] => {
      const d = r?.dial;
      return [
        name,
        d === undefined ? (r?.error ?? 'not run') : `${fmtNum(d.up)} / ${fmtNum(d.attempted)}${d.timedOut ? ' (timeout)' : ''}`,
        fmtNum(rate(d), 1),
        fmtNum(d?.p50),
        fmtNum(d?.p99),
        all.map((x) => fmtNum(rate(x.dial), 1)).join(', '),
      ];
    };
    console.log(`\n${fmtNum(SESSIONS)} sessions over ${TUNNELS} tunnels, window ${WINDOW}, best of ${ROUNDS} round(s), client in this process over a veth\n`);
    console.log(
      formatTable(
        ['LNS', 'sessions up', 'set-ups/s', 'p50 ms', 'p99 ms', 'all rounds /s'],
        [row('l2tpkit l2tpd (users file)', bo, runs.ours), row('l2tpns 2.4 + FreeRADIUS 3.2', bp, runs.l2tpns)],
        ['left', 'right', 'right', 'right', 'right', 'right'],
      ),
    );
    if ('why' in peer) console.log(`\nl2tpns not measured: ${peer.why}`);
    for (const [name, rs] of [['ours', runs.ours], ['l2tpns', runs.l2tpns]] as const) {
      rs.forEach((r, i) => {
        if (r.error !== undefined) console.log(`${name} round ${i + 1}: ${r.error}`);
        else if (r.dial !== undefined && r.dial.failures.length > 0) console.log(`${name} round ${i + 1}: failures (first ${r.dial.failures.length}): ${r.dial.failures.slice(0, 3).join('; ')}`);
      });
    }
    console.log(
      `summary: ppp-setup ours ${fmtNum(rate(bo?.dial), 1)} set-ups/s; l2tpns ${'why' in peer ? 'not run' : `${fmtNum(rate(bp?.dial), 1)} set-ups/s`}; ratio ours/l2tpns ${fmtRatio(rate(bo?.dial), rate(bp?.dial))}`,
    );
  } finally {
    if (VERBOSE && peer !== undefined && 'l2tpns' in peer) console.log(`\n-- l2tpns log:\n${peer.l2tpns.logTail(150)}`);
    if (peer !== undefined && 'l2tpns' in peer) await peer.l2tpns.stop(2000);
    for (const p of procs) await p.stop(2000);
    await ours?.stop();
    await sh('ip', ['route', 'del', `${L2TPNS}/32`]).catch(() => '');
    await deleteNetns(NS);
    cleanupAll();
  }
}

await main();
