// Frames/s through a static L2TPv3 Ethernet pseudowire process, TAP <-> UDP, per direction, for 64- and
// 1500-byte frames, with the native fast path (native/v3_fast.cc) on and off, against a raw UDP ceiling
// and the L2TPv2 LNS data path in the same run:
//
//   namespace v3o-bl-<tag> (198.18.214.1)               namespace v3o-bp-<tag> (198.18.214.2)
//   static pseudowire process (src/io/static-            v3tap udpcount :1701 (tap->udp: counts the
//   pseudowire-main.ts, the StaticPseudowire of          L2TPv3 data messages the pseudowire sends)
//   l2tpd's code base, on CPU 0) holding TAP v3obt*      v3tap udpsend  :1701 -> .1:1701 (udp->tap:
//   v3tap ethsend / ethcount on the TAP (AF_PACKET)      prebuilt data messages, session 3000 + cookie)
//
//   tap->udp : `v3tap ethsend` transmits frames on the TAP (the kernel hands them to the process
//              holding it), the pseudowire encapsulates them to the peer, `v3tap udpcount` counts.
//   udp->tap : `v3tap udpsend` floods data messages, the pseudowire decapsulates and writes the frames
//              into the TAP, `v3tap ethcount` (AF_PACKET on the TAP) counts them.
//   udp      : the ceiling of this kernel path with no pseudowire: `v3tap udpsend` -> `v3tap udpcount`
//              across the same veth, the same datagram size as the encapsulated frame, both ways.
//   v2 LNS   : bench/data-plane.ts run as a child for one round between our rounds (its l2tpd with the
//              fast path and with every packet through JavaScript: L2TPv2 + PPP <-> TUN; its sizes are
//              IPv4 packets of 64 and 1400 bytes, the nearest to our 64- and 1500-byte frames).
// The pseudowire process is pinned to CPU 0, generators and counters to CPU 1. Per measurement: --warm
// ms of warm-up, then --ms ms counted; the process's CPU time over the window / frames = us/frame.
// Rounds interleave (the order of the measurements rotates, the pseudowire process is restarted with the
// fast path on and off in alternating order each round); medians with [min..max] are printed.
// Network safety: both namespaces have no default route; `ip route get` must name the veth.
// Needs root and cc. Run:
//   npx tsx bench/l2tpv3-tap.ts [--rounds=5] [--ms=1000] [--warm=300] [--v2=1] [--fast=1]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupAll, trackDir, trackNetns, trackPid, watchdog } from './lib/cleanup.js';
import { machineLines } from './lib/machine.js';
import { isRoot } from './lib/netns.js';
import { sh } from './lib/ppp-lns.js';
import { fmtNum, formatTable, numArg, percentile } from './lib/table.js';
import { spawnIn, type ManagedProcess } from '../test/interop/lib/process.js';
import { repoRoot } from '../test/interop/lib/host.js';

const ROUNDS = Math.max(1, numArg('rounds', 5));
const MS = Math.max(200, numArg('ms', 1000));
const WARM = Math.max(100, numArg('warm', 300));
const V2 = numArg('v2', 1) !== 0;
const FAST = numArg('fast', 1) !== 0;
const MODES: readonly Mode[] = FAST ? ['fast', 'js'] : ['js'];
type Mode = 'fast' | 'js';
const tag = process.pid.toString(36).slice(-5);
const NS_L = `v3o-bl-${tag}`;
const NS_P = `v3o-bp-${tag}`;
const VL = `v3obl${tag}`;
const VP = `v3obp${tag}`;
const TAP = `v3obt${tag}`;
const L_ADDR = '198.18.214.1';
const P_ADDR = '198.18.214.2';
const SIZES = [64, 1500] as const;
const DIRS = ['tap->udp', 'udp->tap'] as const;
type Dir = (typeof DIRS)[number];
/** What the peer puts before each frame: v3 UDP data header, Session ID 3000, the 8-byte cookie, default sublayer. */
const PREFIX = '0003000000000bb8' + '0102030405060708' + '00000000';
const PREFIX_LEN = PREFIX.length / 2;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** utime + stime of every thread of `pid`, in microseconds. */
function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / 100;
}

const inNs = (ns: string, argv: readonly string[], timeoutMs: number): Promise<string> => sh('ip', ['netns', 'exec', ns, 'taskset', '-c', '1', ...argv], timeoutMs);

async function plumb(): Promise<void> {
  for (const ns of [NS_L, NS_P]) {
    await sh('ip', ['netns', 'add', ns]);
    trackNetns(ns);
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  await sh('ip', ['link', 'add', VL, 'netns', NS_L, 'type', 'veth', 'peer', 'name', VP, 'netns', NS_P]);
  await sh('ip', ['-n', NS_L, 'addr', 'add', `${L_ADDR}/24`, 'dev', VL]);
  await sh('ip', ['-n', NS_P, 'addr', 'add', `${P_ADDR}/24`, 'dev', VP]);
  await sh('ip', ['-n', NS_L, 'link', 'set', VL, 'up']);
  await sh('ip', ['-n', NS_P, 'link', 'set', VP, 'up']);
  for (const [ns, dst, dev] of [
    [NS_L, P_ADDR, VL],
    [NS_P, L_ADDR, VP],
  ] as const) {
    if ((await sh('ip', ['-n', ns, 'route', 'show', 'default'])).trim() !== '') throw new Error(`refusing to start: ${ns} has a default route`);
    const r = await sh('ip', ['-n', ns, 'route', 'get', dst]);
    if (/\bvia\b/.test(r) || !r.includes(`dev ${dev}`)) throw new Error(`refusing to start: ${dst} from ${ns} is not on ${dev}: ${r}`);
  }
}

/** The static pseudowire process in NS_L on CPU 0. */
async function startPseudowire(mode: Mode): Promise<ManagedProcess> {
  const settings = {
    encap: 'udp',
    local: L_ADDR,
    remote: P_ADDR,
    udpSourcePort: 1701,
    udpDestinationPort: 1701,
    tunnelId: 1,
    peerTunnelId: 2,
    sessionId: 3000,
    peerSessionId: 4000,
    cookie: 'cafef00d',
    peerCookie: '0102030405060708',
    l2specType: 'default',
    tapName: TAP,
  };
  const main = join(repoRoot(), 'dist', 'src', 'io', 'static-pseudowire-main.js');
  const p = spawnIn(NS_L, 'taskset', ['-c', '0', process.execPath, main, JSON.stringify(settings), mode], { name: `static pseudowire (${mode})`, lifetimeMs: 1_800_000 });
  trackPid(p.pid, 'static pseudowire');
  const ready = await p.waitForOutput(/READY (.*)/, 10_000);
  if (mode === 'fast' && !(ready[1] ?? '').includes('"fastPath":true')) throw new Error(`the fast path did not start: ${ready[1] ?? ''}`);
  return p;
}

interface Sample {
  pps: number;
  us: number;
}

/** One measurement: a counter and a generator at once; frames counted inside the window. */
async function measure(tool: string, kind: Dir | 'udp l->p' | 'udp p->l', size: number, pid: number | undefined): Promise<Sample> {
  const secs = ((WARM + MS) / 1000 + 0.3).toFixed(2);
  const win = [String(WARM), String(MS)];
  const budget = WARM + MS + 10_000;
  const udpSize = String(size + PREFIX_LEN); // ceiling: the encapsulated frame's UDP payload, with no prefix
  let counted: Promise<string>;
  let flood: () => Promise<string>;
  switch (kind) {
    case 'tap->udp':
      counted = inNs(NS_P, [tool, 'udpcount', P_ADDR, '1701', ...win], budget);
      flood = () => inNs(NS_L, [tool, 'ethsend', TAP, String(size), secs], budget);
      break;
    case 'udp->tap':
      counted = inNs(NS_L, [tool, 'ethcount', TAP, ...win], budget);
      flood = () => inNs(NS_P, [tool, 'udpsend', P_ADDR, '1701', L_ADDR, '1701', PREFIX, String(size), secs], budget);
      break;
    case 'udp p->l':
      counted = inNs(NS_L, [tool, 'udpcount', L_ADDR, '9100', ...win], budget);
      flood = () => inNs(NS_P, [tool, 'udpsend', P_ADDR, '9101', L_ADDR, '9100', '-', udpSize, secs], budget);
      break;
    case 'udp l->p':
      counted = inNs(NS_P, [tool, 'udpcount', P_ADDR, '9100', ...win], budget);
      flood = () => inNs(NS_L, [tool, 'udpsend', L_ADDR, '9101', P_ADDR, '9100', '-', udpSize, secs], budget);
      break;
  }
  await sleep(40); // the counter binds first
  const flooded = flood();
  await sleep(WARM);
  const c0 = pid !== undefined ? cpuUs(pid) : 0;
  const w0 = Date.now();
  await sleep(MS);
  const c1 = pid !== undefined ? cpuUs(pid) : 0;
  const w1 = Date.now();
  const [out] = await Promise.all([counted, flooded]);
  const n = Number(/count (\d+)/.exec(out)?.[1] ?? NaN);
  if (!Number.isFinite(n) || n <= 0) return { pps: 0, us: NaN };
  return { pps: (n * 1000) / (w1 - w0), us: pid !== undefined ? (c1 - c0) / n : NaN };
}

/** One round of bench/data-plane.ts (fast and js l2tpd, l2tpns, C forwarder), parsed from its per-measurement lines. */
async function v2Round(): Promise<Map<string, Sample>> {
  const out = new Map<string, Sample>();
  const child = spawn('npx', ['tsx', join(repoRoot(), 'bench', 'data-plane.ts'), '--rounds=1', `--ms=${MS}`, `--warm=${WARM}`], { stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot() });
  trackPid(child.pid, 'data-plane bench');
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout.resume();
  await new Promise<void>((resolve) => child.on('close', () => resolve()));
  for (const m of err.matchAll(/^round \d+ (l2tp->tun|tun->l2tp) (\d+) (\w+): ([\d,]+) pkt\/s, ([\d.]+|NaN) us\/pkt$/gm)) {
    out.set(`${m[1]} ${m[2]} ${m[3]}`, { pps: Number((m[4] ?? '').replace(/,/g, '')), us: Number(m[5]) });
  }
  if (out.size === 0) process.stderr.write(`data-plane round gave no numbers:\n${err.slice(-2000)}\n`);
  return out;
}

const med = (xs: readonly number[]): number | undefined => percentile(xs.filter(Number.isFinite), 50);
const range = (xs: readonly number[], d = 0): string => {
  const f = xs.filter(Number.isFinite);
  return f.length === 0 ? '-' : `${fmtNum(Math.min(...f), d)}..${fmtNum(Math.max(...f), d)}`;
};
const cell = (xs: readonly number[], d = 0): string => `${fmtNum(med(xs), d)} [${range(xs, d)}]`;
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || b === 0 ? '-' : (a / b).toFixed(2));

async function main(): Promise<void> {
  if (!isRoot()) {
    console.log('SKIP: bench/l2tpv3-tap.ts needs root (namespaces, TAP, AF_PACKET, taskset)');
    return;
  }
  watchdog(1_800_000, 'l2tpv3-tap bench');
  const dir = mkdtempSync(join(tmpdir(), 'v3o-bench-'));
  trackDir(dir);
  const tool = join(dir, 'v3tap');
  execFileSync('cc', ['-O2', '-Wall', '-o', tool, join(repoRoot(), 'bench', 'c', 'v3tap.c')], { stdio: 'inherit' });
  await plumb();
  console.log(machineLines().join('\n'));
  console.log(`${ROUNDS} rounds, ${WARM} ms warm-up + ${MS} ms counted per measurement; pseudowire process on CPU 0, generators on CPU 1${V2 ? '; one bench/data-plane.ts round after each of ours' : ''}\n`);
  const res = new Map<string, Sample[]>();
  const add = (k: string, s: Sample): void => void res.set(k, [...(res.get(k) ?? []), s]);
  const pwJobs: { key: string; kind: Dir; size: number }[] = [];
  const ceilJobs: { key: string; kind: 'udp l->p' | 'udp p->l'; size: number }[] = [];
  for (const size of SIZES) {
    for (const d of DIRS) pwJobs.push({ key: `${d} ${size}`, kind: d, size });
    ceilJobs.push({ key: `udp l->p ${size}`, kind: 'udp l->p', size }, { key: `udp p->l ${size}`, kind: 'udp p->l', size });
  }
  const note = (round: number, key: string, s: Sample): void =>
    void process.stderr.write(`round ${round + 1} ${key}: ${fmtNum(s.pps)} frames/s${Number.isFinite(s.us) ? `, ${s.us.toFixed(2)} us/frame` : ''}\n`);
  const stats = new Map<Mode, string>();
  for (let round = 0; round < ROUNDS; round++) {
    const modes = round % 2 === 0 ? MODES : [...MODES].reverse();
    for (const [mi, mode] of modes.entries()) {
      const pw = await startPseudowire(mode);
      for (let i = 0; i < pwJobs.length; i++) {
        const j = pwJobs[(i + round) % pwJobs.length] as (typeof pwJobs)[number];
        const s = await measure(tool, j.kind, j.size, pw.pid);
        add(`${mode} ${j.key}`, s);
        note(round, `${mode} ${j.key}`, s);
      }
      const st = pw.mark();
      process.kill(pw.pid, 'SIGUSR1');
      const out = await pw.waitForOutput(/STATS (.*)/, 3000, st).catch(() => undefined);
      if (out !== undefined) stats.set(mode, out[1] ?? '');
      await pw.stop(2000);
      // the ceiling between the two modes, so every round has pw / ceiling / pw
      if (mi === 0) {
        for (let i = 0; i < ceilJobs.length; i++) {
          const j = ceilJobs[(i + round) % ceilJobs.length] as (typeof ceilJobs)[number];
          const s = await measure(tool, j.kind, j.size, undefined);
          add(j.key, s);
          note(round, j.key, s);
        }
      }
    }
    if (V2) for (const [k, s] of await v2Round()) add(`v2 ${k}`, s);
  }

  const pps = (k: string): number[] => (res.get(k) ?? []).map((s) => s.pps);
  const us = (k: string): number[] => (res.get(k) ?? []).map((s) => s.us);
  const rows: string[][] = [];
  for (const d of DIRS) {
    for (const size of SIZES) {
      const k = `${d} ${size}`;
      const ceil = `udp ${d === 'tap->udp' ? 'l->p' : 'p->l'} ${size}`;
      const v2dir = d === 'tap->udp' ? 'tun->l2tp' : 'l2tp->tun';
      const v2size = size === 64 ? 64 : 1400;
      const js = `v2 ${v2dir} ${v2size} js`;
      const fast = `v2 ${v2dir} ${v2size} fast`;
      const fk = `fast ${k}`;
      const jk = `js ${k}`;
      rows.push([
        d,
        String(size),
        FAST ? cell(pps(fk)) : 'off',
        FAST ? cell(us(fk), 2) : '-',
        cell(pps(jk)),
        cell(us(jk), 2),
        cell(pps(ceil)),
        FAST ? ratio(med(pps(fk)), med(pps(ceil))) : '-',
        ratio(med(pps(jk)), med(pps(ceil))),
        FAST ? ratio(med(pps(fk)), med(pps(jk))) : '-',
        V2 ? cell(pps(js)) : 'off',
        V2 ? cell(pps(fast)) : 'off',
        V2 && FAST ? ratio(med(pps(fk)), med(pps(fast))) : '-',
      ]);
    }
  }
  console.log(
    formatTable(
      ['direction', 'frame B', 'v3 fast frames/s', 'fast us/frame', 'v3 js frames/s', 'js us/frame', 'raw UDP ceiling pkts/s', 'fast / ceiling', 'js / ceiling', 'fast / js', 'v2 LNS js pkts/s', 'v2 LNS fast pkts/s', 'v3 fast / v2 fast'],
      rows,
      ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  );
  console.log('\nmedians [min..max] of the rounds; v2 rows: bench/data-plane.ts (L2TPv2 LNS, PPP inside; tun->l2tp ~ tap->udp, l2tp->tun ~ udp->tap; 1400-byte IPv4 packets against 1500-byte frames)');
  for (const [mode, s] of stats) console.log(`pseudowire process (${mode}) STATS of the last round: ${s}`);
}

main()
  .catch((e: unknown) => {
    console.error(e instanceof Error ? e.stack : String(e));
    process.exitCode = 1;
  })
  .finally(() => {
    cleanupAll();
  });
