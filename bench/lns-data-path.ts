// The LNS data path before and after a change, in one run: inbound (client -> L2TP -> LNS -> TUN)
// and outbound (TUN -> LNS -> L2TP -> client) packets per second, 1400-byte IP packets, through
// two l2tpd LNSes side by side — "before" built from a git ref (default `main`, bench/lib/baseline.ts)
// and "after" = this tree — measured in interleaved rounds (the order alternates every round).
//
//   this process (root ns, 198.18.212.1)             namespace (198.18.212.2)
//   PppLoad: one session on each LNS   --- L2TP --->  l2tpd before :1701, TUN l2kb0, 100.64.40.0/24
//                                                     l2tpd after  :1702, TUN l2ka0, 100.64.41.0/24
//   inbound:  session -> UDP to the LNS address (100.64.4x.1:9000) -> TUN -> helper socket, which
//             acks each packet over the veth (not through the LNS);
//   outbound: a trigger over the veth -> helper sends UDP to the session address (100.64.4x.2) ->
//             TUN -> LNS -> L2TP -> session, counted here.
// Each direction crosses the LNS once. At most --window packets in flight (a stalled window is reset
// after 50 ms), --seconds per measurement after a 300 ms warm-up, --rounds interleaved rounds; the
// table gives medians and ranges, and the after/before ratio of the medians and of the paired rounds.
// Besides packets/s (which the other work on a shared machine moves a lot), the LNS process's CPU
// time per packet over the measured interval (utime + stime from /proc/<pid>/stat): what the LNS
// spends on one packet, far less sensitive to the machine's load; before/after > 1 = after is cheaper.
// Needs root. Run: npx tsx bench/lns-data-path.ts [--baseline=main] [--seconds=3] [--window=64] [--rounds=5]
import dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupAll, trackDir, watchdog } from './lib/cleanup.js';
import { machineLines } from './lib/machine.js';
import { createVethNetns, deleteNetns, isRoot } from './lib/netns.js';
import { fmtNum, fmtRatio, formatTable, numArg } from './lib/table.js';
import { PppLoad, udpPacket } from './lib/ppp-load.js';
import { controlRequest, sh, startAccessLns, writeUsers, type AccessLnsDaemon } from './lib/ppp-lns.js';
import { buildRef } from './lib/baseline.js';
import { pps, windowed, type Interval, type Measured } from './lib/windowed.js';
import { readFileSync } from 'node:fs';
import { spawnIn, type ManagedProcess } from '../test/interop/lib/process.js';
import { repoRoot } from '../test/interop/lib/host.js';

const SECONDS = numArg('seconds', 3);
const WINDOW = numArg('window', 64);
const ROUNDS = Math.max(1, numArg('rounds', 5));
const SIZE = 1400;
const BASELINE = process.argv.find((a) => a.startsWith('--baseline='))?.slice('--baseline='.length) ?? 'main';
const HOST = '198.18.212.1';
const NSADDR = '198.18.212.2';
const tag = process.pid.toString(36);
const NS = `l2k-ldp-${tag}`;

/** One LNS under test. */
interface Target {
  readonly name: 'before' | 'after';
  readonly port: number;
  readonly local: string;
  lns?: AccessLnsDaemon;
  /** Session index in the load client, and its address. */
  index: number;
  address?: string | undefined;
  readonly inbound: Measured[];
  readonly outbound: Measured[];
  /** LNS CPU microseconds per packet received at the far end, per round. */
  readonly inboundCpu: number[];
  readonly outboundCpu: number[];
}

/** utime + stime of a process in clock ticks (/proc/<pid>/stat fields 14 and 15; the name may hold spaces). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}
/** Clock ticks per second (USER_HZ; 100 on Linux). */
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || '100');

/** Reads a process's CPU time at the start and end of the measured interval. */
function cpuOf(pid: number): Interval & { readonly us: () => number } {
  let t0 = 0;
  let t1 = 0;
  return {
    start: () => {
      t0 = cpuTicks(pid);
    },
    end: () => {
      t1 = cpuTicks(pid);
    },
    us: () => (t1 - t0) * TICK_US,
  };
}

/** The helper in the namespace: counts inbound packets (acking each over the veth) and sends outbound ones on request. */
const HELPER = `
const d = require('dgram');
const [host, ackPort, nsaddr, size] = process.argv.slice(1);
const sink = d.createSocket('udp4'), ctl = d.createSocket('udp4'), out = d.createSocket('udp4');
const ack = Buffer.alloc(1);
const pkt = Buffer.alloc(Number(size) - 28, 0xa5);
sink.on('message', () => ctl.send(ack, Number(ackPort), host));
ctl.on('message', (m) => out.send(pkt, 9, m.toString()));
sink.bind(9000, '0.0.0.0', () => ctl.bind(9001, nsaddr, () => out.bind(0, () => console.log('ready'))));
`;

const median = (xs: readonly number[]): number | undefined => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const range = (xs: readonly number[]): string => (xs.length === 0 ? '-' : `${fmtNum(Math.min(...xs))}-${fmtNum(Math.max(...xs))}`);

async function measure(load: PppLoad, ack: dgram.Socket, ctl: dgram.Socket, t: Target): Promise<void> {
  const a = t.address;
  if (a === undefined) throw new Error(`${t.name}: no session`);
  const pid = t.lns?.proc.pid;
  if (pid === undefined) throw new Error(`${t.name}: no LNS`);
  const pkt = udpPacket(a, t.local, 40000, 9000, SIZE);
  const cpuIn = cpuOf(pid);
  const mIn = await windowed(
    () => load.sendIp(t.index, pkt),
    (onReceive) => ack.on('message', onReceive),
    WINDOW,
    SECONDS,
    cpuIn,
  );
  t.inbound.push(mIn);
  t.inboundCpu.push(cpuIn.us() / Math.max(1, mIn.received));
  ack.removeAllListeners('message');
  const trigger = Buffer.from(a);
  const cpuOut = cpuOf(pid);
  const mOut = await windowed(
    () => {
      ctl.send(trigger, 9001, NSADDR);
      return true;
    },
    (onReceive) => load.onPacket(t.index, (p) => p.length === SIZE && onReceive()),
    WINDOW,
    SECONDS,
    cpuOut,
  );
  t.outbound.push(mOut);
  t.outboundCpu.push(cpuOut.us() / Math.max(1, mOut.received));
  load.onPacket(t.index, undefined);
}

function report(targets: readonly Target[], baselineSha: string): void {
  const [b, o] = targets;
  if (b === undefined || o === undefined) return;
  const rows: string[][] = [];
  const ratios: Record<'inbound' | 'outbound', { medians: string; paired: string }> = { inbound: { medians: '-', paired: '-' }, outbound: { medians: '-', paired: '-' } };
  for (const dir of ['inbound', 'outbound'] as const) {
    const rb = b[dir].map((m) => pps(m) ?? 0);
    const ro = o[dir].map((m) => pps(m) ?? 0);
    const paired = ro.map((v, i) => v / (rb[i] ?? NaN)).filter((x) => Number.isFinite(x));
    ratios[dir] = { medians: fmtRatio(median(ro), median(rb)), paired: `${(median(paired) ?? NaN).toFixed(2)}x (${paired.map((x) => x.toFixed(2)).join(', ')})` };
    rows.push([dir, `before (${BASELINE} ${baselineSha.slice(0, 9)})`, fmtNum(median(rb)), range(rb), rb.map((x) => fmtNum(x)).join(', '), '1.00x']);
    rows.push([dir, 'after (this tree)', fmtNum(median(ro)), range(ro), ro.map((x) => fmtNum(x)).join(', '), ratios[dir].medians]);
  }
  console.log(`\n${SIZE}-byte IP packets, window ${WINDOW}, ${SECONDS} s per measurement, ${ROUNDS} interleaved rounds\n`);
  console.log(formatTable(['direction', 'LNS build', 'median pkt/s', 'range', 'rounds', 'after/before'], rows, ['left', 'left', 'right', 'right', 'left', 'right']));
  console.log(`\npaired rounds, after/before: inbound ${ratios.inbound.paired}; outbound ${ratios.outbound.paired}`);
  const cpuRows: string[][] = [];
  const cpuRatio: Record<'inbound' | 'outbound', string> = { inbound: '-', outbound: '-' };
  for (const dir of ['inbound', 'outbound'] as const) {
    const key = dir === 'inbound' ? 'inboundCpu' : 'outboundCpu';
    const cb = median(b[key]);
    const co = median(o[key]);
    cpuRatio[dir] = cb !== undefined && co !== undefined ? `${(cb / co).toFixed(2)}x` : '-';
    const r1 = (xs: readonly number[]): string => (xs.length === 0 ? '-' : `${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)}`);
    cpuRows.push([dir, 'before', cb?.toFixed(1) ?? '-', r1(b[key]), '1.00x']);
    cpuRows.push([dir, 'after', co?.toFixed(1) ?? '-', r1(o[key]), cpuRatio[dir]]);
  }
  console.log(`\nLNS CPU time per packet (µs, utime+stime of the l2tpd process over the measured interval; USER_HZ resolution)\n`);
  console.log(formatTable(['direction', 'LNS build', 'median µs/pkt', 'range', 'before/after'], cpuRows, ['left', 'left', 'right', 'right', 'right']));
  console.log(`summary: lns-data-path after/before (median pkt/s) inbound ${ratios.inbound.medians}, outbound ${ratios.outbound.medians}; LNS CPU per packet before/after inbound ${cpuRatio.inbound}, outbound ${cpuRatio.outbound}`);
}

async function main(): Promise<void> {
  watchdog(900_000, 'lns-data-path took too long');
  console.log('LNS data path, before/after: packets/s through the LNS, each direction separately');
  for (const l of machineLines()) console.log(l);
  if (!isRoot()) {
    console.log('\nSKIP: needs root (network namespace, veth, TUN). Run as root.');
    console.log('summary: lns-data-path skipped (not root)');
    return;
  }
  const root = repoRoot();
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).trim() !== '';
  console.log(`building ${BASELINE} ...`);
  const base = await buildRef(BASELINE, root);
  console.log(`before: ${BASELINE} = ${base.sha} (${base.fresh ? 'built now' : 'cached'} in ${base.root})${base.nativeDiffers ? ' — WARNING: native/ differs, the addon is ours' : ''}`);
  console.log(`after:  this tree, HEAD ${head}${dirty ? ' + uncommitted changes' : ''}`);
  const dir = mkdtempSync(join(tmpdir(), 'l2k-ldp-'));
  trackDir(dir);
  await createVethNetns(NS, `ld${tag}h`.slice(0, 15), 'eth0', HOST, NSADDR);
  await sh('ip', ['netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
  const targets: Target[] = [
    { name: 'before', port: 1701, local: '100.64.40.1', index: 0, inbound: [], outbound: [], inboundCpu: [], outboundCpu: [] },
    { name: 'after', port: 1702, local: '100.64.41.1', index: 1, inbound: [], outbound: [], inboundCpu: [], outboundCpu: [] },
  ];
  let helper: ManagedProcess | undefined;
  let load: PppLoad | undefined;
  const ack = dgram.createSocket('udp4');
  const ctl = dgram.createSocket('udp4');
  try {
    await new Promise<void>((r) => ack.bind(0, HOST, r));
    await new Promise<void>((r) => ctl.bind(0, HOST, r));
    helper = spawnIn(NS, process.execPath, ['-e', HELPER, HOST, String(ack.address().port), NSADDR, String(SIZE)], { name: 'ns helper', lifetimeMs: 880_000 });
    await helper.waitForOutput(/ready/, 10_000);
    for (const [k, t] of targets.entries()) {
      const d = join(dir, t.name);
      mkdirSync(d);
      writeUsers(join(d, 'users'), 2);
      const pool = `100.64.${40 + k}.0/24`;
      t.lns = await startAccessLns(
        NS,
        d,
        { socket: join(d, 'l2tpd.sock'), listen: NSADDR, port: t.port, pool, localAddress: t.local, usersFile: join(d, 'users'), tunName: `l2k${t.name[0]}${tag}`.slice(0, 15), auth: ['chap'], mtu: 1500, echoInterval: 0 },
        880_000,
        t.name === 'before' ? base.root : root,
      );
    }
    load = await PppLoad.open({ address: HOST });
    for (const t of targets) {
      const tunnels = await load.openTunnels({ address: NSADDR, port: t.port, family: 4 }, 1, 10_000);
      const r = await load.dial(tunnels, 1, 1, 20_000, (i) => ({ username: `u${i}`, password: `p${i}` }));
      t.address = r.addresses[0];
      if (r.up !== 1 || t.address === undefined) throw new Error(`${t.name}: session did not come up: ${r.failures.join('; ')}\n${t.lns?.logTail() ?? ''}`);
    }
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) await measure(load, ack, ctl, t);
      console.log(
        `round ${r + 1}/${ROUNDS}: ${targets.map((t) => `${t.name} in ${fmtNum(pps(t.inbound[r]))} (${(t.inboundCpu[r] ?? 0).toFixed(1)} µs) out ${fmtNum(pps(t.outbound[r]))} (${(t.outboundCpu[r] ?? 0).toFixed(1)} µs)`).join('; ')}`,
      );
    }
    report(targets, base.sha);
    for (const t of targets) {
      if (t.lns === undefined) continue;
      const st = (await controlRequest(t.lns.socket, { cmd: 'show-sessions' })) as { rxPackets: number; txPackets: number }[];
      console.log(`${t.name} LNS session counters: ${st.map((s) => `rx ${fmtNum(s.rxPackets)} tx ${fmtNum(s.txPackets)}`).join('; ')}`);
    }
  } finally {
    ack.close();
    ctl.close();
    await load?.close();
    for (const t of targets) await t.lns?.stop();
    await helper?.stop(1000);
    await deleteNetns(NS);
    cleanupAll();
  }
}

await main();
