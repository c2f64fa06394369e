import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statRandom } from './random.js';
import { ImpairmentCore, l2tpControlOnly, type Delivery, type ImpairmentConfig } from './core.js';

const N = 100_000;
/** 3-sigma-ish bound of a binomial proportion over n draws, plus a small floor. */
const tol = (p: number, n: number): number => 4 * Math.sqrt((p * (1 - p)) / n) + 1e-9;

/** Offer N numbered datagrams, one per ms; return every delivery in delivery order. */
function run(config: ImpairmentConfig, seed: number, n = N): { core: ImpairmentCore; out: Delivery[] } {
  const core = new ImpairmentCore(config, statRandom(seed));
  const out: Delivery[] = [];
  for (let i = 0; i < n; i++) {
    const d = new Uint8Array(4);
    new DataView(d.buffer).setUint32(0, i);
    out.push(...core.decide(i, d));
  }
  out.sort((a, b) => a.at - b.at);
  return { core, out };
}
const idOf = (d: Delivery): number => new DataView(d.data.buffer, d.data.byteOffset).getUint32(0);

test('seeded: the same seed gives the same decisions, another seed others', () => {
  const cfg: ImpairmentConfig = { loss: 0.2, duplicate: 0.1, reorder: 0.1, jitterMs: 5, delayMs: 3 };
  const a = run(cfg, 42, 5000).out.map((d) => `${idOf(d)}@${d.at}`);
  const b = run(cfg, 42, 5000).out.map((d) => `${idOf(d)}@${d.at}`);
  const c = run(cfg, 43, 5000).out.map((d) => `${idOf(d)}@${d.at}`);
  assert.deepStrictEqual(a, b);
  assert.notDeepStrictEqual(a, c);
});

test('loss: the dropped share matches the configured probability', () => {
  for (const loss of [0, 0.01, 0.2, 0.5, 1]) {
    const { core, out } = run({ loss }, 7);
    assert.equal(core.counters.lost + out.length, N);
    assert.ok(Math.abs(core.counters.lost / N - loss) <= tol(loss, N), `loss ${loss}: measured ${core.counters.lost / N}`);
  }
});

test('duplication: the extra copies match the probability; a copy follows its original by the gap', () => {
  const { core, out } = run({ duplicate: 0.2, duplicateGapMs: 2 }, 8);
  assert.equal(out.length, N + core.counters.duplicated);
  assert.ok(Math.abs(core.counters.duplicated / N - 0.2) <= tol(0.2, N), `measured ${core.counters.duplicated / N}`);
  const seen = new Map<number, number>();
  for (const d of out) {
    const first = seen.get(idOf(d));
    if (first !== undefined) assert.equal(d.at - first, 2);
    else seen.set(idOf(d), d.at);
  }
});

test('reordering: held-back datagrams are overtaken; the share of late arrivals matches the probability', () => {
  // One datagram per ms, held 5 ms: a held one arrives after the next 5 (an inversion).
  const { core, out } = run({ reorder: 0.1, reorderMs: 5 }, 9);
  let late = 0;
  let maxSeen = -1;
  for (const d of out) {
    const id = idOf(d);
    if (id < maxSeen) late++;
    maxSeen = Math.max(maxSeen, id);
  }
  assert.ok(Math.abs(core.counters.reordered / N - 0.1) <= tol(0.1, N));
  // A held datagram is late unless the next ones were held too; nearly all are.
  assert.ok(late <= core.counters.reordered && late >= core.counters.reordered * 0.9, `late ${late}, reordered ${core.counters.reordered}`);
});

test('delay and jitter: every delivery within [delay, delay + jitter), mean at the middle', () => {
  const { out } = run({ delayMs: 30, jitterMs: 10 }, 10);
  let sum = 0;
  for (const d of out) {
    const lag = d.at - idOf(d);
    assert.ok(lag >= 30 && lag < 40, `lag ${lag}`);
    sum += lag;
  }
  assert.ok(Math.abs(sum / out.length - 35) < 0.1, `mean ${sum / out.length}`);
});

test('blackout: everything in the window is dropped, nothing outside (also when set later)', () => {
  const { core, out } = run({ blackout: { fromMs: 1000, toMs: 3000 } }, 11, 5000);
  assert.equal(core.counters.blackedOut, 2000);
  assert.ok(out.every((d) => idOf(d) < 1000 || idOf(d) >= 3000));
  const later = new ImpairmentCore({}, statRandom(1));
  assert.equal(later.decide(0, new Uint8Array(1)).length, 1);
  later.setBlackout(10, 20);
  assert.equal(later.decide(15, new Uint8Array(1)).length, 0);
  assert.equal(later.decide(20, new Uint8Array(1)).length, 1);
});

test('match: only selected datagrams are impaired (L2TP control only: T bit)', () => {
  const core = new ImpairmentCore({ loss: 1, delayMs: 4, match: l2tpControlOnly }, statRandom(1));
  assert.deepStrictEqual(core.decide(0, Uint8Array.of(0xc8, 0x02)), []); // control: lost
  assert.deepStrictEqual(core.decide(0, Uint8Array.of(0x40, 0x02)).map((d) => d.at), [4]); // data: passed, base delay
  assert.equal(core.counters.passed, 1);
  assert.equal(core.counters.lost, 1);
  assert.throws(() => new ImpairmentCore({ loss: 1.5 }, statRandom(1)), RangeError);
});

test('statRandom is uniform enough to measure against (chi-square over 64 buckets, 4 seeds)', () => {
  for (const seed of [1, 2, 3, 4]) {
    const r = statRandom(seed);
    const buckets = new Array<number>(64).fill(0);
    const n = 256_000;
    for (let i = 0; i < n; i++) {
      const k = r.u32() >>> 26;
      buckets[k] = (buckets[k] ?? 0) + 1;
    }
    const e = n / 64;
    const chi = buckets.reduce((s, o) => s + ((o - e) * (o - e)) / e, 0);
    // 63 degrees of freedom: the 99.99th percentile is about 117.
    assert.ok(chi < 117, `seed ${seed}: chi-square ${chi.toFixed(1)}`);
  }
});
