// L2TP/IPsec data through the LNS's native fast path (issue 16 item 3): ESP-in-UDP AES-128-GCM vs plain
// L2TPv2, 1400-byte IP packets, both directions, measured in the same run with interleaved rounds.
//
//   namespace h16e-bc (198.18.216.2)                       namespace h16e-bl (198.18.216.1)
//   client child (bench/lib/esp-peer-child.ts client):     LNS child (esp-peer-child.ts lns): the
//   the addon as an L2TP(/IPsec) client on TUN h16ebc,     addon's FastPath, TUN h16ebl 100.64.92.1/24,
//   seals what `dpgen udp` routes into it (ESP with        L2TP :1701, NAT-T :4500; session A plain
//   increasing sequence numbers, natively) or sends it     (client 100.64.92.2), session B in an ESP
//   as plain L2TP                                          flow (client 100.64.92.3)
//
// in  (client -> LNS): dpgen udp -> client TUN -> [ESP|L2TP] -> veth -> LNS: open + replay check + decrypt
//     (esp) -> L2TP/PPP -> TUN write -> `dpgen count` on 100.64.92.1:9000 in the LNS namespace.
// out (LNS -> client): `dpgen udp` in the LNS namespace toward 100.64.92.3 / .2 -> LNS TUN -> seal (esp)
//     -> sendmmsg -> `dpgen count` on the client's 4500 / 1701 (no client child then).
// The LNS child is pinned to CPU 0, everything else to CPU 1. Per measurement: --warm ms, then --ms ms
// counted; LNS CPU (utime + stime, /proc/<pid>/stat) over the window / packets delivered = us/packet,
// Gbit/s per LNS core = 1400 * 8 / us. Rounds rotate the order. Printed: medians [min..max], the ESP/plain
// ratio of the per-core rates, and the load average (4 helpers share 2 cores: noisy).
// Needs root and cc. Run: npx tsx bench/esp-fast-path.ts [--rounds=5] [--ms=1500] [--warm=400]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupAll, installHandlers, trackDir, trackNetns, watchdog } from './lib/cleanup.js';
import { loadAverage, machineLines } from './lib/machine.js';
import { isRoot } from './lib/netns.js';
import { fmtNum, formatTable, numArg, percentile } from './lib/table.js';
import { spawnIn, type ManagedProcess } from '../test/interop/lib/process.js';
import { repoRoot } from '../test/interop/lib/host.js';

const ROUNDS = Math.max(1, numArg('rounds', 5));
const MS = Math.max(200, numArg('ms', 1500));
const WARM = Math.max(100, numArg('warm', 400));
const SIZE = 1400;
const NS_C = 'h16e-bc';
const NS_L = 'h16e-bl';
const C_ADDR = '198.18.216.2';
const L_ADDR = '198.18.216.1';
const LNS_TUN = '100.64.92.1';
const SRC_A = '100.64.92.2';
const SRC_B = '100.64.92.3';
const CHILD = join(repoRoot(), 'dist', 'bench', 'lib', 'esp-peer-child.js');

type Mode = 'esp' | 'l2tp';
type Dir = 'in' | 'out';
interface Sample {
  readonly us: number;
  readonly pps: number;
}

const sh = (cmd: string, args: readonly string[]): string => execFileSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });

function plumb(): void {
  for (const ns of [NS_C, NS_L]) {
    sh('ip', ['netns', 'add', ns]);
    trackNetns(ns);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  sh('ip', ['link', 'add', 'h16evc', 'netns', NS_C, 'type', 'veth', 'peer', 'name', 'h16evl', 'netns', NS_L]);
  sh('ip', ['-n', NS_C, 'addr', 'add', `${C_ADDR}/24`, 'dev', 'h16evc']);
  sh('ip', ['-n', NS_L, 'addr', 'add', `${L_ADDR}/24`, 'dev', 'h16evl']);
  sh('ip', ['-n', NS_C, 'link', 'set', 'h16evc', 'up']);
  sh('ip', ['-n', NS_L, 'link', 'set', 'h16evl', 'up']);
  for (const ns of [NS_C, NS_L]) sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0']);
}

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime, stime (fields 14, 15)
}
const TICK_US = 1e6 / Number(sh('getconf', ['CLK_TCK']).trim());

async function child(role: 'lns' | 'client', mode: Mode): Promise<ManagedProcess> {
  const ns = role === 'lns' ? NS_L : NS_C;
  const args = ['-c', role === 'lns' ? '0' : '1', process.execPath, CHILD, role, mode, role === 'lns' ? 'h16ebl' : 'h16ebc', role === 'lns' ? L_ADDR : C_ADDR, role === 'lns' ? C_ADDR : L_ADDR, LNS_TUN, SRC_A, SRC_B, '600'];
  const p = spawnIn(ns, 'taskset', args, { name: `esp-${role}`, lifetimeMs: 900_000 });
  await p.waitForOutput(/^ready$/m, 15_000);
  return p;
}

async function gen(ns: string, args: readonly string[], ms: number): Promise<string> {
  const p = spawnIn(ns, 'taskset', ['-c', '1', ...args], { name: `dpgen ${args[1] ?? ''}`, lifetimeMs: ms + 20_000 });
  const st = await p.exited;
  if (st.code !== 0) throw new Error(`${args.join(' ')}: exit ${String(st.code)}: ${p.output()}`);
  return p.output();
}

/** One measurement: the generator and the counter run at once; LNS CPU over the counted window. */
async function measure(tool: string, lns: ManagedProcess, mode: Mode, dir: Dir): Promise<Sample> {
  if (dir === 'in' && mode === 'esp') {
    const m = lns.mark();
    process.kill(lns.pid, 'SIGUSR2'); // a fresh inbound SA: the new client starts at sequence number 1
    await lns.waitForOutput(/^rekeyed$/m, 5000, m);
  }
  const client = dir === 'in' ? await child('client', mode) : undefined;
  try {
    const secs = String(Math.ceil((WARM + MS) / 1000) + 1);
    const count = dir === 'in'
      ? gen(NS_L, [tool, 'count', `bind:${LNS_TUN}:9000`, String(WARM), String(MS)], WARM + MS)
      : gen(NS_C, [tool, 'count', `bind:${C_ADDR}:${mode === 'esp' ? 4500 : 1701}`, String(WARM), String(MS)], WARM + MS);
    await new Promise((r) => setTimeout(r, 50));
    const send = dir === 'in' ? gen(NS_C, [tool, 'udp', LNS_TUN, '9000', String(SIZE), secs], 5000) : gen(NS_L, [tool, 'udp', mode === 'esp' ? SRC_B : SRC_A, '9000', String(SIZE), secs], 5000);
    await new Promise((r) => setTimeout(r, WARM - 50));
    const c0 = cpuTicks(lns.pid);
    await new Promise((r) => setTimeout(r, MS));
    const c1 = cpuTicks(lns.pid);
    const n = Number(/count (\d+)/.exec(await count)?.[1] ?? '0');
    await send;
    return { us: n > 0 ? ((c1 - c0) * TICK_US) / n : NaN, pps: (n * 1000) / MS };
  } finally {
    await client?.stop();
  }
}

async function main(): Promise<void> {
  if (!isRoot()) throw new Error('needs root (namespaces, TUN)');
  installHandlers();
  watchdog(20 * 60_000, 'esp-fast-path bench');
  const dir = mkdtempSync(join(tmpdir(), 'h16e-bench-'));
  trackDir(dir);
  const tool = join(dir, 'dpgen');
  sh('cc', ['-O2', '-Wall', '-o', tool, join(repoRoot(), 'bench', 'c', 'dpgen.c')]);
  plumb();
  const lns = await child('lns', 'esp');
  const results = new Map<string, Sample[]>();
  const load0 = loadAverage();
  const keys: [Mode, Dir][] = [['esp', 'in'], ['l2tp', 'in'], ['esp', 'out'], ['l2tp', 'out']];
  for (let r = 0; r < ROUNDS; r++) {
    const order = [...keys.slice(r % keys.length), ...keys.slice(0, r % keys.length)];
    for (const [mode, d] of order) {
      const s = await measure(tool, lns, mode, d);
      const k = `${mode}/${d}`;
      results.set(k, [...(results.get(k) ?? []), s]);
      process.stderr.write(`round ${r + 1} ${k}: ${s.us.toFixed(2)} us/pkt, ${fmtNum(s.pps)} pkt/s\n`);
    }
  }
  const final = await lns.stop();
  void final;
  const med = (k: string, f: (s: Sample) => number): { m: number; lo: number; hi: number } => {
    const v = (results.get(k) ?? []).map(f).filter((x) => Number.isFinite(x));
    return { m: percentile(v, 50) ?? NaN, lo: Math.min(...v), hi: Math.max(...v) };
  };
  const rows = keys.map(([mode, d]) => {
    const k = `${mode}/${d}`;
    const us = med(k, (s) => s.us);
    const pps = med(k, (s) => s.pps);
    const gbit = (SIZE * 8) / us.m / 1000;
    return [d === 'in' ? 'client -> LNS -> TUN' : 'TUN -> LNS -> client', mode === 'esp' ? 'ESP-in-UDP AES-128-GCM' : 'plain L2TPv2', `${us.m.toFixed(2)} [${us.lo.toFixed(2)}..${us.hi.toFixed(2)}]`, fmtNum(pps.m), gbit.toFixed(2)];
  });
  const ratio = (d: Dir): string => (med(`l2tp/${d}`, (s) => s.us).m / med(`esp/${d}`, (s) => s.us).m).toFixed(2);
  process.stdout.write(`${machineLines().join('\n')}\nload average before: ${load0}, after: ${loadAverage()}\n`);
  process.stdout.write(`${ROUNDS} interleaved rounds, ${MS} ms counted after ${WARM} ms warm-up, ${SIZE}-byte IP packets, LNS pinned to CPU 0, generators to CPU 1\n`);
  process.stdout.write(formatTable(['direction', 'encapsulation', 'LNS us/pkt median [min..max]', 'delivered pkt/s', 'Gbit/s per LNS core'], rows, ['left', 'left', 'right', 'right', 'right']));
  process.stdout.write(`\nESP per-core rate / plain L2TP per-core rate: in ${ratio('in')}x, out ${ratio('out')}x\n`);
}

main().then(
  () => {
    cleanupAll();
    process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`esp-fast-path: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    cleanupAll();
    process.exit(1);
  },
);
