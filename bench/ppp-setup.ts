// Remote-access set-up rate: full session set-ups per second (L2TP SCCRQ..ICCN + LCP + CHAP-MD5 +
// IPCP, counted at the client's IPCP up) from our load client to three LNSes in the same run, all in
// one network namespace behind one veth:
//   ours (users file) : l2tpd (bin/l2tpd.js), users file, pool 100.64.16.0/20, TUN l2tp0, 198.18.211.2
//   ours + RADIUS     : a second l2tpd with [radius] (authentication only) toward the FreeRADIUS below,
//                       pool 100.64.48.0/20, TUN l2tp1, 198.18.211.5
//   l2tpns + RADIUS   : l2tpns 2.4 (Debian) on 198.18.211.9, CHAP checked by the same FreeRADIUS,
//                       pool 100.64.32.0/20 (radius_accounting no)
// FreeRADIUS 3.2 (Debian) runs on 127.0.0.1 of the namespace with the users u<i>/p<i> in its `files`
// (test/interop/lib/freeradius.ts writes the config; it is then restarted in its normal threaded
// mode `-f` instead of the harness's single-threaded debug mode `-X`), with a Message-Authenticator
// in every answer (our client requires one, Blast-RADIUS).
// The load client (bench/lib/ppp-load.ts, this process, root namespace, 198.18.211.1) opens --tunnels
// tunnels, then dials --sessions sessions spread over them with at most --window negotiating at
// once; then hangs all up (LCP Terminate + CDN) and closes the tunnels. Rate = sessions up / (first
// ICRQ .. last IPCP up). After a --warmup round per target (not counted), rounds alternate between
// the targets; the median of each target's rounds is shown with its range, every round is listed,
// and the ratio ours/l2tpns with RADIUS is the ratio of the medians.
// If l2tpns or FreeRADIUS cannot run, the reason is printed along with the other numbers.
// LNS CPU per set-up = the LNS process's utime + stime (/proc/PID/stat, all its threads, 10 ms ticks)
// during the dial phase / sessions up; FreeRADIUS's CPU is not included for any target.
// Default load: 8 tunnels, 32 in flight (4 per tunnel). With more calls per tunnel than the peer's
// control Receive Window allows, the LAC's ICCN waits in its send queue while the first LCP frame
// (sent at session-established) overtakes it and is dropped by the LNS: a 3 s PPP restart shows up
// in p99 for either LNS (try --tunnels=4 --window=64).
// Needs root. Run: npx tsx bench/ppp-setup.ts [--sessions=1000] [--tunnels=8] [--window=32] [--rounds=3] [--warmup=100] [--cpu-prof=DIR] [--only=before,users,radius,l2tpns] [--baseline=REF] [--verbose]
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupAll, trackDir, watchdog } from './lib/cleanup.js';
import { machineLines } from './lib/machine.js';
import { createVethNetns, deleteNetns, isRoot } from './lib/netns.js';
import { flagArg, fmtNum, fmtRatio, formatTable, numArg, percentile } from './lib/table.js';
import { PppLoad, type DialResult } from './lib/ppp-load.js';
import { sh, startAccessLns, writeUsers, type AccessLnsDaemon } from './lib/ppp-lns.js';
import { spawnIn, type ManagedProcess } from '../test/interop/lib/process.js';
import { startFreeRadius, type FreeRadiusUser } from '../test/interop/lib/freeradius.js';
import { startL2tpns, type L2tpns } from '../test/interop/lib/l2tpns.js';
import { waitUntil } from '../test/interop/lib/host.js';
import { buildRef } from './lib/baseline.js';

const SESSIONS = numArg('sessions', 1000);
const TUNNELS = Math.max(1, numArg('tunnels', 8));
const WINDOW = Math.max(1, numArg('window', 32));
const ROUNDS = Math.max(1, numArg('rounds', 3));
const TIMEOUT_MS = numArg('timeout', 120) * 1000;
const VERBOSE = flagArg('verbose');
const WARMUP = numArg('warmup', 100);
/** --cpu-prof=DIR: our daemons run with `node --cpu-prof` and write their .cpuprofile into DIR at exit. */
/** --only=users,radius,l2tpns: measure only these targets (profiling runs). */
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const CPU_PROF = process.argv.find((a) => a.startsWith('--cpu-prof='))?.slice('--cpu-prof='.length);
const HOST = '198.18.211.1';
const OURS = '198.18.211.2';
const L2TPNS = '198.18.211.9';
const OURS_RADIUS = '198.18.211.5'; // outside the veth's /30 (.3 is its broadcast)
/** --baseline=REF: one more target, l2tpd (users file) built from that git ref (bench/lib/baseline.ts), for before/after in one run. */
const BASELINE = process.argv.find((a) => a.startsWith('--baseline='))?.slice('--baseline='.length);
const BEFORE = '198.18.211.6';
const SECRET = 'bench-radius-s3cret';
const tag = process.pid.toString(36);
const NS = `l2k-psu-${tag}`;

/** One round against one target. */
interface Run {
  readonly dial?: DialResult;
  /** LNS process CPU (user + system, ms) during the dial phase. */
  readonly cpuMs?: number;
  /** UDP datagrams sent in the LNS namespace during the dial phase (RADIUS on loopback included). */
  readonly udpOut?: number;
  readonly error?: string;
}

/** CPU time (user + system, ms) of process `pid` and all its threads so far; undefined if unreadable. */
function cpuMsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the parenthesised command: state is field 3, utime 14, stime 15 (proc(5)).
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(f[11]) + Number(f[12]);
    return Number.isFinite(ticks) ? ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU ms (user + system) of each thread name of process `pid` so far (/proc/PID/task/TID/stat). */
function threadCpuOf(pid: number | undefined): Map<string, number> {
  const m = new Map<string, number>();
  if (pid === undefined) return m;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      m.set(name, (m.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) * 10);
    }
  } catch {
    // the process is gone
  }
  return m;
}

/** UDP datagrams sent so far in the network namespace of process `pid` (/proc/PID/net/snmp, Udp OutDatagrams). */
function udpOutOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const lines = readFileSync(`/proc/${pid}/net/snmp`, 'utf8').split('\n').filter((l) => l.startsWith('Udp: '));
    const names = lines[0]?.split(' ') ?? [];
    const values = lines[1]?.split(' ') ?? [];
    const v = Number(values[names.indexOf('OutDatagrams')]);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Open tunnels, dial, hang up, close: one round against `address` (LNS process `pid`). */
async function round(address: string, pid: number | undefined, sessions = SESSIONS): Promise<Run> {
  const load = await PppLoad.open({ address: HOST, tuning: {} });
  try {
    const tunnels = await load.openTunnels({ address, port: 1701, family: 4 }, TUNNELS, 20_000);
    const cpu0 = cpuMsOf(pid);
    const out0 = udpOutOf(pid);
    const threads0 = VERBOSE ? threadCpuOf(pid) : undefined;
    const dial = await load.dial(tunnels, sessions, WINDOW, TIMEOUT_MS, (i) => ({ username: `u${i}`, password: `p${i}` }));
    const cpu1 = cpuMsOf(pid);
    const out1 = udpOutOf(pid);
    if (threads0 !== undefined) {
      const by = [...threadCpuOf(pid)].map(([n, ms]) => [n, ms - (threads0.get(n) ?? 0)] as const).filter(([, ms]) => ms > 0);
      console.log(`  ${address}: LNS CPU ms by thread during the dial: ${by.map(([n, ms]) => `${n} ${ms}`).join(', ')}`);
    }
    await load.hangupAll(30_000);
    await load.closeTunnels(10_000);
    return { dial, ...(cpu0 !== undefined && cpu1 !== undefined ? { cpuMs: cpu1 - cpu0 } : {}), ...(out0 !== undefined && out1 !== undefined ? { udpOut: out1 - out0 } : {}) };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  } finally {
    await load.close();
  }
}

/** FreeRADIUS (threaded, from the harness's config, users u<i>/p<i> in its `files`) on 127.0.0.1 of the namespace. */
async function startRadius(dir: string, procs: ManagedProcess[]): Promise<true | { why: string }> {
  if (!existsSync('/usr/sbin/freeradius')) return { why: 'FreeRADIUS is not installed (Debian package freeradius)' };
  try {
    const users: FreeRadiusUser[] = Array.from({ length: SESSIONS }, (_, i) => ({ name: `u${i}`, password: `p${i}` }));
    // A Message-Authenticator in every answer (Blast-RADIUS): our client requires one by default.
    const rad = await startFreeRadius({ ns: NS, dir: join(dir, 'freeradius'), clients: [{ address: L2TPNS, secret: SECRET }], users, messageAuthenticatorInReplies: true, lifetimeMs: 600_000 });
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
    return true;
  } catch (e) {
    return { why: `FreeRADIUS could not start: ${e instanceof Error ? e.message.split('\n').slice(0, 6).join(' | ') : String(e)}` };
  }
}

/** l2tpns with the same FreeRADIUS, or the reason it cannot run. */
async function startPeer(dir: string): Promise<{ l2tpns: L2tpns } | { why: string }> {
  if (!existsSync('/usr/sbin/l2tpns')) return { why: 'l2tpns is not installed (Debian package l2tpns)' };
  try {
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
    return { why: `l2tpns could not start: ${e instanceof Error ? e.message.split('\n').slice(0, 6).join(' | ') : String(e)}` };
  }
}

/** l2tpns's own PID (its pid_file; the managed process is a setsid/unshare wrapper). */
function l2tpnsPid(dir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(dir, 'l2tpns.pid'), 'utf8').trim(), 10);
    return Number.isFinite(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

const rate = (d: DialResult | undefined): number | undefined => (d === undefined || d.up === 0 || d.seconds <= 0 ? undefined : d.up / d.seconds);
const median = (xs: readonly number[]): number | undefined => percentile(xs, 50);

/** One target of the interleaved rounds. */
interface Target {
  readonly key: 'before' | 'users' | 'radius' | 'l2tpns';
  readonly name: string;
  readonly address: string;
  /** The LNS process (CPU per set-up). */
  readonly pid: number | undefined;
  readonly runs: Run[];
}

/** `[radius]` for our second daemon: the same FreeRADIUS as l2tpns, authentication only (l2tpns runs with radius_accounting no). */
const RADIUS_TOML = ['[radius]', '[[radius.server]]', 'name = "freeradius"', 'address = "127.0.0.1"', `secret = "${SECRET}"`, 'role = ["auth"]', ''].join('\n');

function report(targets: readonly Target[]): void {
  const row = (t: Target): string[] => {
    const rates = t.runs.map((x) => rate(x.dial)).filter((x): x is number => x !== undefined);
    const ok = t.runs.filter((x) => x.dial !== undefined);
    const p50s = ok.map((x) => x.dial?.p50).filter((x): x is number => x !== undefined);
    const p99s = ok.map((x) => x.dial?.p99).filter((x): x is number => x !== undefined);
    const up = ok.map((x) => x.dial?.up ?? 0);
    const cpu = ok.map((x) => (x.cpuMs !== undefined && x.dial !== undefined && x.dial.up > 0 ? x.cpuMs / x.dial.up : undefined)).filter((x): x is number => x !== undefined);
    return [
      t.name,
      ok.length === 0 ? (t.runs[0]?.error ?? 'not run') : `${fmtNum(Math.min(...up))}..${fmtNum(Math.max(...up))} / ${fmtNum(SESSIONS)}`,
      fmtNum(median(rates), 1),
      rates.length === 0 ? '-' : `${fmtNum(Math.min(...rates), 1)}..${fmtNum(Math.max(...rates), 1)}`,
      fmtNum(median(p50s)),
      fmtNum(median(p99s)),
      fmtNum(median(ok.map((x) => (x.udpOut !== undefined && x.dial !== undefined && x.dial.up > 0 ? x.udpOut / x.dial.up : undefined)).filter((x): x is number => x !== undefined)), 1),
      cpu.length === 0 ? '-' : `${fmtNum(median(cpu), 3)} (${fmtNum(Math.min(...cpu), 3)}..${fmtNum(Math.max(...cpu), 3)})`,
      t.runs.map((x) => fmtNum(rate(x.dial), 1)).join(', '),
    ];
  };
  console.log(`\n${fmtNum(SESSIONS)} sessions over ${TUNNELS} tunnels, window ${WINDOW}, medians of ${ROUNDS} interleaved round(s), client in this process over a veth\n`);
  console.log(
    formatTable(['LNS', 'sessions up', 'set-ups/s (median)', 'range', 'p50 ms', 'p99 ms', 'UDP out/set-up', 'LNS CPU ms/set-up (range)', 'all rounds /s'], targets.map(row), ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right']),
  );
  for (const t of targets) {
    t.runs.forEach((r, i) => {
      if (r.error !== undefined) console.log(`${t.key} round ${i + 1}: ${r.error}`);
      else if (r.dial !== undefined && r.dial.failures.length > 0) console.log(`${t.key} round ${i + 1}: failures (first ${r.dial.failures.length}): ${r.dial.failures.slice(0, 3).join('; ')}`);
    });
  }
}

async function main(): Promise<void> {
  watchdog(600_000, 'ppp-setup took too long');
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
  for (const a of [L2TPNS, OURS_RADIUS, BEFORE]) {
    await sh('ip', ['-n', NS, 'addr', 'add', `${a}/32`, 'dev', 'eth0']);
    await sh('ip', ['route', 'add', `${a}/32`, 'via', OURS]);
  }
  const procs: ManagedProcess[] = [];
  const daemons: AccessLnsDaemon[] = [];
  let peer: { l2tpns: L2tpns } | { why: string } | undefined;
  try {
    const users = join(dir, 'users.txt');
    writeUsers(users, SESSIONS);
    const mk = async (sub: string, listen: string, pool: string, local: string, tun: string, extra?: string, root?: string): Promise<void> => {
      const d = join(dir, sub);
      mkdirSync(d, { recursive: true });
      const cfg = { socket: join(d, 'l2tpd.sock'), listen, pool, localAddress: local, usersFile: users, tunName: tun, auth: ['chap'], stateDir: join(d, 'state'), ...(extra !== undefined ? { extra } : {}) };
      const nodeArgs = CPU_PROF !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`, `--cpu-prof-name=${sub}.cpuprofile`] : [];
      daemons.push(await startAccessLns(NS, d, cfg, 560_000, root, nodeArgs));
    };
    const base = BASELINE !== undefined ? await buildRef(BASELINE) : undefined;
    if (base !== undefined) await mk('before', BEFORE, '100.64.64.0/20', '100.64.64.1', 'l2tp2', undefined, base.root);
    const beforePid = daemons[0]?.proc.pid;
    await mk('users', OURS, '100.64.16.0/20', '100.64.16.1', 'l2tp0');
    const radius = await startRadius(dir, procs);
    if (radius === true) await mk('radius', OURS_RADIUS, '100.64.48.0/20', '100.64.48.1', 'l2tp1', RADIUS_TOML);
    peer = radius === true ? await startPeer(dir) : radius;
    const off = base !== undefined ? 1 : 0;
    const all: Target[] = [
      ...(base !== undefined ? [{ key: 'before' as const, name: `l2tpd ${BASELINE ?? ''} ${base.sha.slice(0, 7)} (users file)`, address: BEFORE, pid: beforePid, runs: [] }] : []),
      { key: 'users', name: 'l2tpkit l2tpd (users file)', address: OURS, pid: daemons[off]?.proc.pid, runs: [] },
      ...(radius === true ? [{ key: 'radius' as const, name: 'l2tpkit l2tpd + FreeRADIUS 3.2', address: OURS_RADIUS, pid: daemons[off + 1]?.proc.pid, runs: [] }] : []),
      ...('l2tpns' in peer ? [{ key: 'l2tpns' as const, name: 'l2tpns 2.4 + FreeRADIUS 3.2', address: L2TPNS, pid: l2tpnsPid(join(dir, 'l2tpns')), runs: [] }] : []),
    ];
    const targets = all.filter((t) => ONLY === undefined || ONLY.includes(t.key));
    // Warm-up (JIT of our daemons, caches of every peer): not counted.
    if (WARMUP > 0) for (const t of targets) await round(t.address, t.pid, Math.min(WARMUP, SESSIONS));
    for (let r = 0; r < ROUNDS; r++) for (const t of targets) t.runs.push(await round(t.address, t.pid));
    report(targets);
    if (radius !== true) console.log(`\nRADIUS not measured: ${radius.why}`);
    else if ('why' in peer) console.log(`\nl2tpns not measured: ${peer.why}`);
    const med = (k: Target['key']): number | undefined => median((targets.find((t) => t.key === k)?.runs ?? []).map((x) => rate(x.dial)).filter((x): x is number => x !== undefined));
    const cpu = (k: Target['key']): number | undefined =>
      median((targets.find((t) => t.key === k)?.runs ?? []).map((x) => (x.cpuMs !== undefined && x.dial !== undefined && x.dial.up > 0 ? x.cpuMs / x.dial.up : undefined)).filter((x): x is number => x !== undefined));
    console.log(
      `summary: ppp-setup ${base !== undefined ? `before (${BASELINE ?? ''}, users file) ${fmtNum(med('before'), 1)}/s, CPU ${fmtNum(cpu('before'), 3)} ms; ` : ''}ours (users file) ${fmtNum(med('users'), 1)}/s; ours + FreeRADIUS ${fmtNum(med('radius'), 1)}/s; l2tpns + FreeRADIUS ${fmtNum(med('l2tpns'), 1)}/s; ratio ours/l2tpns with RADIUS ${fmtRatio(med('radius'), med('l2tpns'))}; LNS CPU ms per set-up ${fmtNum(cpu('users'), 3)} / ${fmtNum(cpu('radius'), 3)} / ${fmtNum(cpu('l2tpns'), 3)} (medians of ${ROUNDS})`,
    );
  } finally {
    if (VERBOSE && peer !== undefined && 'l2tpns' in peer) console.log(`\n-- l2tpns log:\n${peer.l2tpns.logTail(150)}`);
    if (peer !== undefined && 'l2tpns' in peer) await peer.l2tpns.stop(2000);
    for (const p of procs) await p.stop(2000);
    for (const d of daemons) await d.stop();
    for (const a of [L2TPNS, OURS_RADIUS, BEFORE]) await sh('ip', ['route', 'del', `${a}/32`]).catch(() => '');
    await deleteNetns(NS);
    cleanupAll();
  }
}

await main();
