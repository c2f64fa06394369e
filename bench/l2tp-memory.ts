// L2TPv2 control plane memory (RFC 2661): V8 heap bytes per tunnel and per session, in memory (no
// sockets): a LAC engine and an LNS engine over the simulated link of test/sim/harness.ts on a
// virtual clock, perfect 1 ms link, default tuning.
//
// For each scenario (1,000 tunnels x 0 sessions, then 1,000 tunnels x 10 sessions = 10,000 sessions)
// in a fresh network: heapUsed after a full GC with the two empty engines, then with everything
// established (virtual time advanced 5 s so delayed acks are flushed; no HELLO is due yet), then
// again after dropping the LAC engine and the link so that only the LNS engine is reachable. So:
//   both engines  = established - empty (the two engines' state, link drained)
//   LNS alone     = (LNS only) - (an empty LNS engine), measured, not estimated
//   LAC           = both - LNS alone          (both / 2 is printed too, for reference)
// Per session = (scenario 10 sessions - scenario 0 sessions) / 10,000.
// One small warm-up round first (JIT code and feedback vectors live in the heap too), then the median
// of --rounds rounds. Buffers outside the V8 heap (arrayBuffers) are reported beside heapUsed.
// Run: npx tsx --expose-gc bench/l2tp-memory.ts [--tunnels=1000] [--sessions=10] [--rounds=5]
import { seededRandom } from '../src/base/random.js';
import type { Instant } from '../src/base/time.js';
import { L2tpEngine, defaultTunnelSettings, type L2tpEvent, type TunnelSettings } from '../src/l2tp/index.js';
import { SimNet } from '../test/sim/harness.js';
import { watchdog } from './lib/cleanup.js';
import { hasGc, snapshot, type MemorySnapshot } from './lib/gc.js';
import { machineLines } from './lib/machine.js';
import { fmtBytes, fmtNum, formatTable, numArg } from './lib/table.js';

const TUNNELS = numArg('tunnels', 1000);
const PER_TUNNEL = numArg('sessions', 10);
const ROUNDS = Math.max(1, numArg('rounds', 5));

/** Heap numbers of one scenario. */
interface Scenario {
  readonly sessionsPerTunnel: number;
  /** Both engines' state (bytes). */
  readonly both: number;
  /** LNS engine state alone (bytes). */
  readonly lns: number;
  /** Growth of ArrayBuffer memory outside the V8 heap, both engines (bytes). */
  readonly bothArrayBuffers: number;
  /** Tunnels / sessions established on the LNS. */
  readonly tunnelsUp: number;
  readonly sessionsUp: number;
  /** Snapshot with everything established. */
  readonly peak: MemorySnapshot;
  /** Virtual ms it took to establish. */
  readonly virtualMs: number;
}

/** Events we do not keep at all (the rest are cleared before measuring). */
const IGNORED: L2tpEvent['type'][] = ['control-rx', 'control-tx', 'retransmit', 'keepalive-countdown', 'session-connecting', 'tunnel-connecting'];

const settings = (host: string): TunnelSettings => defaultTunnelSettings(host);
const engine = (host: string, seed: number): L2tpEngine =>
  new L2tpEngine({ acceptTunnels: true, accept: settings(host), acceptIncomingCalls: true, acceptOutgoingCalls: true }, { random: seededRandom(seed) });

/** Heap of an empty LNS engine alone (the baseline for "LNS alone"). */
function emptyLnsHeap(): number {
  const before = snapshot().heapUsed;
  let e: L2tpEngine | undefined = engine('lns', 7);
  const with1 = snapshot().heapUsed;
  void e.pollAt();
  e = undefined;
  return with1 - before;
}

/** Build a fresh link, establish `TUNNELS` x `perTunnel`, measure both engines, then the LNS alone. */
function scenario(perTunnel: number, seed: number, tunnels = TUNNELS): Scenario {
  const base = snapshot().heapUsed;
  const emptyLns = emptyLnsHeap();
  let net: SimNet | undefined = new SimNet(seed);
  net.ignore = new Set(IGNORED);
  // No data flows here: no data sinks (they would be counted as engine memory).
  net.recordData = false;
  let lac: ReturnType<SimNet['add']> | undefined = net.add('lac', '198.18.201.1', engine('bench-lac', seed + 1));
  const lnsNode = net.add('lns', '198.18.201.2', engine('bench-lns', seed + 2));
  const lnsEngine = lnsNode.engine;
  const emptySnap = snapshot();
  const empty = emptySnap.heapUsed;

  for (let i = 0; i < tunnels; i++) {
    const now = net.now as Instant;
    const tid = lac.engine.openTunnel(now, lnsNode.addr, settings('bench-lac'));
    for (let j = 0; j < perTunnel; j++) lac.engine.openSession(now, tid, { direction: 'incoming', callingNumber: `${i}-${j}` });
  }
  // Bounded in virtual time: 5 s is plenty on a perfect 1 ms link (delayed acks are 100 ms).
  net.runUntil(5000);
  const virtualMs = net.now;
  let tunnelsUp = 0;
  let sessionsUp = 0;
  for (const t of lnsEngine.tunnels(net.now as Instant)) {
    if (t.state === 'established') tunnelsUp++;
    sessionsUp += t.sessions.filter((s) => s.state === 'established').length;
  }
  lac.events.length = 0;
  lnsNode.events.length = 0;
  const peak = snapshot();
  const both = peak.heapUsed - empty;

  // Drop the LAC engine and the link; keep only the LNS engine reachable.
  lac = undefined;
  net = undefined;
  const lnsOnly = snapshot().heapUsed;
  void lnsEngine.pollAt();
  return {
    sessionsPerTunnel: perTunnel,
    both,
    lns: lnsOnly - base - emptyLns,
    bothArrayBuffers: peak.arrayBuffers - emptySnap.arrayBuffers,
    tunnelsUp,
    sessionsUp,
    peak,
    virtualMs,
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function main(): void {
  watchdog(240_000, 'l2tp-memory benchmark took too long');
  console.log('L2TPv2 control plane: heap per tunnel and per session (in memory, LAC + LNS engines over the sim link)');
  for (const l of machineLines()) console.log(`  ${l}`);
  if (!hasGc()) {
    console.log('!! global.gc is not exposed: run with node --expose-gc (numbers below include garbage and are NOT reliable)');
  }
  const rss0 = process.memoryUsage().rss;
  scenario(PER_TUNNEL, 1, Math.min(100, TUNNELS)); // warm-up, discarded
  const zero: Scenario[] = [];
  const ten: Scenario[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    zero.push(scenario(0, 100 + r));
    ten.push(scenario(PER_TUNNEL, 200 + r));
  }
  const z = (f: (s: Scenario) => number): number => median(zero.map(f));
  const t = (f: (s: Scenario) => number): number => median(ten.map(f));
  const sessions = TUNNELS * PER_TUNNEL;
  const perTunnelBoth = z((s) => s.both) / TUNNELS;
  const perTunnelLns = z((s) => s.lns) / TUNNELS;
  const perSessionBoth = (t((s) => s.both) - z((s) => s.both)) / sessions;
  const perSessionLns = (t((s) => s.lns) - z((s) => s.lns)) / sessions;
  const last = ten[ten.length - 1];

  console.log(`  load: ${fmtNum(TUNNELS)} tunnels x 0 sessions, then ${fmtNum(TUNNELS)} tunnels x ${PER_TUNNEL} sessions = ${fmtNum(sessions)} sessions; median of ${ROUNDS} rounds`);
  const minOf = (xs: Scenario[], f: (s: Scenario) => number): number => Math.min(...xs.map(f));
  console.log(
    `  established on the LNS (fewest over rounds): ${minOf(zero, (s) => s.tunnelsUp)}/${TUNNELS} tunnels (x0); ${minOf(ten, (s) => s.tunnelsUp)}/${TUNNELS} tunnels, ${minOf(ten, (s) => s.sessionsUp)}/${sessions} sessions (x${PER_TUNNEL}), within ${last?.virtualMs ?? 0} virtual ms`,
  );
  console.log('');
  console.log(
    formatTable(
      ['measure', 'LNS engine (measured alone)', 'LAC engine (both - LNS)', 'both engines', 'both / 2'],
      [
        ['bytes per tunnel (0 sessions)', fmtNum(perTunnelLns), fmtNum(perTunnelBoth - perTunnelLns), fmtNum(perTunnelBoth), fmtNum(perTunnelBoth / 2)],
        ['bytes per session', fmtNum(perSessionLns), fmtNum(perSessionBoth - perSessionLns), fmtNum(perSessionBoth), fmtNum(perSessionBoth / 2)],
        [
          `heap for ${fmtNum(TUNNELS)} x ${PER_TUNNEL}`,
          fmtBytes(t((s) => s.lns)),
          fmtBytes(t((s) => s.both) - t((s) => s.lns)),
          fmtBytes(t((s) => s.both)),
          fmtBytes(t((s) => s.both) / 2),
        ],
      ],
      ['left', 'right', 'right', 'right', 'right'],
    ),
  );
  console.log('');
  const rounds = (xs: Scenario[]): string => xs.map((s) => `${fmtBytes(s.both)} both / ${fmtBytes(s.lns)} LNS`).join('; ');
  console.log(`  rounds x0:  ${rounds(zero)}`);
  console.log(`  rounds x${PER_TUNNEL}: ${rounds(ten)}`);
  console.log(
    `  outside the V8 heap (arrayBuffers growth, both engines): ${fmtBytes(z((s) => s.bothArrayBuffers))} for x0, ${fmtBytes(t((s) => s.bothArrayBuffers))} for x${PER_TUNNEL}`,
  );
  console.log(
    `  RSS: ${fmtBytes(rss0)} at start, ${fmtBytes(last?.peak.rss)} with ${fmtNum(sessions)} sessions on both engines (heapUsed ${fmtBytes(last?.peak.heapUsed)}, external ${fmtBytes(last?.peak.external)}); RSS does not shrink after GC`,
  );
  console.log('  heapUsed after a full GC (global.gc x4); the link is drained when measured; LNS alone = heap with only the LNS engine reachable minus an empty LNS engine.');
  console.log('  Rounds of the same load can differ by ~1.5-2 KiB per tunnel (V8 object shapes/array capacities depend on JIT state); the table takes the median.');
}

main();
process.exit(0);
