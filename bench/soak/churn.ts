/**
 * Soak scenario 2 (issue 10): connect/disconnect churn against one LNS process. Our l2tpd (PPP
 * with CHAP-MD5, started with `--expose-gc`) in one namespace, the PPP load client
 * (bench/lib/ppp-load.ts) in another (namespaces `cb-<pid>-<seq>-*`, 198.18.89.0/24). Each round
 * opens `tunnels` tunnels, brings `batch` sessions up (SCCRQ..ICCN, LCP, CHAP, IPCP), hangs them all
 * up (LCP Terminate, CDN) and closes the tunnels (StopCCN); a cycle is one session's full set-up and
 * teardown. After a warm-up round and again after the last one (once the closed tunnels have
 * lingered out, RFC 2661 §5.7) the daemon is sampled: tunnels, PPP sessions, leases (and held
 * ones), routes, pending timers, open file descriptors (/proc/PID/fd), kernel routes on the TUN,
 * and the live heap (after a GC). Everything must be back at its baseline.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createTopology, makeWorkDir, removeWorkDir, repoRoot, tail, waitUntil, type Topology } from '../../test/interop/lib/index.js';
import { controlRequest, sh, startAccessLns, startLoadChild, writeUsers, type AccessLnsDaemon, type LoadChild } from '../lib/ppp-lns.js';
import type { DialResult } from '../lib/ppp-load.js';
import type { StatusView } from '../../src/daemon/control-protocol.js';

/** How to run the churn. */
export interface ChurnOptions {
  /** Session set-up + teardown cycles in all. */
  readonly cycles: number;
  /** Sessions per round (set up together, at most `window` negotiating at once). */
  readonly batch: number;
  /** Tunnels per round. */
  readonly tunnels: number;
  readonly window: number;
  /** Bound of the whole run. */
  readonly timeoutMs: number;
}

/** One look at the daemon. */
export interface ChurnSample {
  readonly tunnels: number;
  readonly sessions: number;
  readonly leases: number;
  readonly held: number;
  readonly routes: number;
  readonly timers: number;
  readonly fds: number;
  readonly kernelRoutes: number;
  readonly heapUsed: number;
  readonly rss: number;
}

/** What the churn measured. */
export interface ChurnResult {
  readonly options: ChurnOptions;
  readonly cycles: number;
  readonly rounds: number;
  /** Sessions that did not come up (summed over rounds). */
  readonly failed: number;
  readonly failures: readonly string[];
  readonly seconds: number;
  /** Round set-up latency (ms, p50 of each round's p50) and the slowest round's p99. */
  readonly p50: number | undefined;
  readonly p99: number | undefined;
  readonly baseline: ChurnSample;
  readonly end: ChurnSample;
  /** Samples every few rounds (for the heap trend). */
  readonly trend: readonly { readonly cycles: number; readonly heapUsed: number; readonly fds: number }[];
  readonly timedOut: boolean;
}

const POOL = '100.64.9.0/24';
const LNS_ADDRESS = '100.64.9.1';

/**
 * The daemon's open descriptors once the control connection of the request just answered is gone: the
 * daemon closes its end a loop turn after our client, so a read right after the answer can count it
 * (the same count three times 50 ms apart, at most 2 s).
 */
async function settledFds(pid: number): Promise<number> {
  let last = -1;
  let same = 0;
  for (let i = 0; i < 40; i++) {
    const n = readdirSync(`/proc/${pid}/fd`).length;
    same = n === last ? same + 1 : 0;
    last = n;
    if (same >= 2) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return last;
}

/** The daemon's numbers now. */
async function sample(lns: AccessLnsDaemon, ns: string): Promise<ChurnSample> {
  const s = (await controlRequest(lns.socket, { cmd: 'status' }, 30_000)) as StatusView;
  const fds = await settledFds(lns.proc.pid);
  const kr = (await sh('ip', ['-n', ns, 'route', 'show', 'dev', 'l2tp0'])).split('\n').filter((l) => l.trim() !== '').length;
  return {
    tunnels: s.tunnels.length,
    sessions: s.pool?.sessions ?? -1,
    leases: s.pool?.inUse ?? -1,
    held: s.pool?.held ?? -1,
    routes: s.pool?.routes ?? -1,
    timers: s.timers ?? -1,
    fds,
    kernelRoutes: kr,
    heapUsed: s.memory?.heapUsed ?? -1,
    rss: s.memory?.rss ?? -1,
  };
}

/** Wait (bounded) until the daemon holds no tunnel and no session (closed tunnels linger, §5.7). */
async function settle(lns: AccessLnsDaemon): Promise<void> {
  await waitUntil(
    'the daemon holds no tunnel',
    async () => {
      const s = (await controlRequest(lns.socket, { cmd: 'status' }, 30_000)) as StatusView;
      return s.tunnels.length === 0 && (s.pool?.sessions ?? 0) === 0 ? true : undefined;
    },
    60_000,
    () => lns.logTail(10),
    250,
  );
}

/** One round: up, down, tunnels closed. */
async function round(load: LoadChild, peer: string, o: ChurnOptions): Promise<DialResult> {
  const d = await load.request<DialResult>({ cmd: 'dial', peer, port: 1701, tunnels: o.tunnels, sessions: o.batch, window: o.window, timeoutMs: 60_000 }, 90_000);
  await load.request({ cmd: 'hangup', timeoutMs: 30_000 }, 40_000);
  await load.request({ cmd: 'close-tunnels', timeoutMs: 20_000 }, 30_000);
  return d;
}

/** Run the churn once; every process and namespace it made is gone when it returns. */
export async function runChurn(o: ChurnOptions): Promise<ChurnResult> {
  const work = makeWorkDir('soak-churn');
  let topo: Topology | undefined;
  let lns: AccessLnsDaemon | undefined;
  let load: LoadChild | undefined;
  try {
    topo = await createTopology(['lac', 'lns'], 89, 'cb');
    const lnsNode = topo.node('lns');
    const usersFile = join(work, 'users');
    writeUsers(usersFile, o.cycles + 2 * o.batch);
    const cfg = { socket: join(work, 'l2tpd.sock'), listen: lnsNode.address, pool: POOL, localAddress: LNS_ADDRESS, usersFile, tunName: 'l2tp0', auth: ['chap'], retransmitInitial: 0.5, retransmitCap: 2, stateDir: join(work, 'state') };
    lns = await startAccessLns(lnsNode.ns, work, cfg, o.timeoutMs + 120_000, repoRoot(), ['--expose-gc']);
    load = await startLoadChild(topo.node('lac').ns, o.timeoutMs + 120_000, repoRoot());
    await load.request({ cmd: 'open', address: topo.node('lac').address, tuning: { retransmitInitial: 500, retransmitCap: 2000, helloInterval: 0 } }, 10_000);
    // Warm-up: one round, then the baseline once everything has lingered out.
    const warm = await round(load, lnsNode.address, o);
    if (warm.up !== o.batch) throw new Error(`warm-up: ${warm.up} of ${o.batch} up: ${warm.failures.join('; ')}\n${lns.logTail(20)}`);
    await settle(lns);
    const baseline = await sample(lns, lnsNode.ns);
    const t0 = performance.now();
    const trend: { cycles: number; heapUsed: number; fds: number }[] = [];
    const p50s: number[] = [];
    let p99: number | undefined;
    let cycles = 0;
    let rounds = 0;
    let failed = 0;
    const failures: string[] = [];
    let timedOut = false;
    const every = Math.max(1, Math.round(o.cycles / o.batch / 10));
    while (cycles < o.cycles) {
      if (performance.now() - t0 > o.timeoutMs) {
        timedOut = true;
        break;
      }
      const d = await round(load, lnsNode.address, o);
      rounds++;
      cycles += d.up;
      failed += d.attempted - d.up;
      if (failures.length < 5) failures.push(...d.failures.slice(0, 5 - failures.length));
      if (d.p50 !== undefined) p50s.push(d.p50);
      if (d.p99 !== undefined) p99 = Math.max(p99 ?? 0, d.p99);
      if (rounds % every === 0) {
        const s = await sample(lns, lnsNode.ns);
        trend.push({ cycles, heapUsed: s.heapUsed, fds: s.fds });
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    await settle(lns);
    const end = await sample(lns, lnsNode.ns);
    p50s.sort((a, b) => a - b);
    return { options: o, cycles, rounds, failed, failures, seconds, p50: p50s[Math.floor(p50s.length / 2)], p99, baseline, end, trend, timedOut };
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${tail(lns?.proc.output() ?? '', 20)}`);
  } finally {
    await load?.stop().catch(() => undefined);
    await lns?.stop().catch(() => undefined);
    await topo?.destroy();
    removeWorkDir(work);
  }
}

/** Heap growth allowed over the run: 2 MiB plus 2 % of the baseline (GC noise, JIT code). */
export function heapBound(r: ChurnResult): number {
  return r.baseline.heapUsed + 2 * 1024 * 1024 + 0.02 * r.baseline.heapUsed;
}

/** What differs from the baseline (empty = nothing leaked). */
export function churnLeaks(r: ChurnResult): string[] {
  const out: string[] = [];
  const keys = ['tunnels', 'sessions', 'leases', 'held', 'routes', 'timers', 'fds', 'kernelRoutes'] as const;
  for (const k of keys) if (r.end[k] !== r.baseline[k]) out.push(`${k} ${r.baseline[k]} -> ${r.end[k]}`);
  if (r.end.heapUsed > heapBound(r)) out.push(`heap ${mib(r.baseline.heapUsed)} -> ${mib(r.end.heapUsed)} MiB (bound ${mib(heapBound(r))})`);
  return out;
}

const mib = (b: number): string => (b / 1024 / 1024).toFixed(2);

/** The printed report of one run. */
export function formatChurn(r: ChurnResult): string[] {
  const o = r.options;
  const b = r.baseline;
  const e = r.end;
  const row = (name: string, x: number, y: number): string => `  ${name.padEnd(14)} ${String(x).padStart(10)} ${String(y).padStart(10)}${x === y ? '' : '   <- differs'}`;
  return [
    `connect/disconnect churn: ${r.cycles} of ${o.cycles} cycles (full L2TP + PPP set-up and teardown) in ${r.rounds} rounds of ${o.batch} sessions on ${o.tunnels} tunnels, one LNS process${r.timedOut ? ', TIMED OUT' : ''}`,
    `  ${r.seconds.toFixed(1)} s (${(r.cycles / r.seconds).toFixed(1)} cycles/s); set-up latency p50 ${r.p50?.toFixed(0) ?? '-'} ms, worst round p99 ${r.p99?.toFixed(0) ?? '-'} ms; ${r.failed} set-ups failed${r.failures.length > 0 ? ` (${r.failures.join('; ')})` : ''}`,
    `  ${''.padEnd(14)} ${'baseline'.padStart(10)} ${'end'.padStart(10)}`,
    row('tunnels', b.tunnels, e.tunnels),
    row('PPP sessions', b.sessions, e.sessions),
    row('leases', b.leases, e.leases),
    row('held leases', b.held, e.held),
    row('routes', b.routes, e.routes),
    row('kernel routes', b.kernelRoutes, e.kernelRoutes),
    row('timers', b.timers, e.timers),
    row('open fds', b.fds, e.fds),
    `  ${'heap (MiB)'.padEnd(14)} ${mib(b.heapUsed).padStart(10)} ${mib(e.heapUsed).padStart(10)}   (after GC; bound ${mib(heapBound(r))}; rss ${mib(b.rss)} -> ${mib(e.rss)})`,
    `  heap trend (MiB at cycles): ${r.trend.map((t) => `${mib(t.heapUsed)}@${t.cycles}`).join(' ')}`,
  ];
}
