/**
 * LCP keepalive at scale (issue 15 item 1): jittered echoes re-armed from their own due time,
 * adaptive echo (anything heard from the peer is liveness), and one shared pacer. The 100k-link
 * run drives real `Lcp` keepalives from one `DeadlineHeap` on a virtual 10 ms tick, the way the
 * access server does, with a forced 2 s stall of the loop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineHeap, instant, type Instant, millis, seconds, seededRandom, SlotPacer } from '../../src/base/index.js';
import { PppLink, type PppEvent, type PppLinkConfig } from '../../src/ppp/index.js';
import { DEFAULT_LCP, Lcp } from '../../src/ppp/lcp.js';
import { CpCode, type CpPacket, parseCpPacket, parsePppFrame, PppProtocol } from '../../src/wire/ppp/index.js';

const INTERVAL = 30_000;
const TICK = 10;

interface Fleet {
  readonly lcps: Lcp[];
  /** Send instants of every Echo-Request. */
  readonly sent: number[];
  /** Links that reported echo-timeout. */
  dead: number;
}

/** `n` opened keepalives, opened uniformly over the first interval (as a dial would), each answered at once. */
function fleet(n: number, pacer: SlotPacer | undefined, echoJitter = DEFAULT_LCP.echoJitter): Fleet {
  const f: Fleet = { lcps: [], sent: [], dead: 0 };
  const random = seededRandom(15);
  let current = 0;
  let now = 0;
  const reply: CpPacket = { kind: 'echo', code: CpCode.EchoReply, identifier: 0, magic: 0x1234_5678, data: new Uint8Array(0) };
  const answer = { i: -1 };
  for (let i = 0; i < n; i++) {
    const sink = {
      send: (): void => {
        f.sent.push(now);
        answer.i = current;
      },
      echoMissed: (): void => {},
      fatal: (): void => void f.dead++,
    };
    f.lcps.push(new Lcp({ ...DEFAULT_LCP, role: 'authenticator', auth: [], echoJitter }, random, sink, pacer));
  }
  return Object.assign(f, {
    setNow: (t: number, i: number): void => {
      now = t;
      current = i;
    },
    reply,
    answer,
  });
}

/** Drive `f` from one heap on a TICK grid until `end`, with no ticks in (stallFrom, stallTo). */
function drive(f: Fleet, end: number, stall: { from: number; to: number }): void {
  const heap = new DeadlineHeap();
  const ext = f as Fleet & { setNow: (t: number, i: number) => void; reply: CpPacket; answer: { i: number } };
  const n = f.lcps.length;
  for (let i = 0; i < n; i++) {
    const lcp = f.lcps[i] as Lcp;
    lcp.opened(instant(Math.floor((i * INTERVAL) / n)));
    heap.push(lcp.pollAt() as number, i);
  }
  for (let t = 0; t <= end; t += TICK) {
    if (t > stall.from && t < stall.to) continue;
    for (let at = heap.peekAt(); at !== undefined && at <= t; at = heap.peekAt()) {
      const i = heap.peekKey() as number;
      heap.pop();
      const lcp = f.lcps[i] as Lcp;
      ext.setNow(t, i);
      ext.answer.i = -1;
      lcp.handleTimeout(instant(t));
      // The peer answers within the tick (a healthy client).
      if (ext.answer.i === i) lcp.echoReplied(ext.reply);
      const next = lcp.pollAt();
      if (next !== undefined) heap.push(next, i);
    }
  }
}

/** Largest number of sends in any 100 ms window (aligned) within [from, to). */
function peak100ms(sent: readonly number[], from: number, to: number): number {
  const bins = new Map<number, number>();
  for (const t of sent) if (t >= from && t < to) bins.set(Math.floor(t / 100), (bins.get(Math.floor(t / 100)) ?? 0) + 1);
  return Math.max(0, ...bins.values());
}

const N = 100_000;
const STALL = { from: 100_000, to: 102_000 };
const average = (N / INTERVAL) * 100;

test('100k keepalives: after a forced 2 s stall the echoes are spread again within one interval (unpaced, no jitter)', () => {
  // No pacer and no jitter: only re-arming from each link's own due time can undo the cohort.
  const f = fleet(N, undefined, 0);
  drive(f, STALL.to + 2 * INTERVAL, STALL);
  assert.equal(f.dead, 0);
  // The stall's cohort goes out together at its end (nothing paces it here) ...
  const burst = f.sent.filter((t) => t === STALL.to).length;
  assert.ok(burst > (N * 2000) / INTERVAL / 2, `cohort at the stall end: ${burst}`);
  // ... but each was re-armed from its own due time, so one interval later no 100 ms window holds
  // more than twice the average (re-arming from `now` would send the whole cohort together again).
  const peak = peak100ms(f.sent, STALL.to + INTERVAL - 2000, STALL.to + 2 * INTERVAL);
  assert.ok(peak <= 2 * average, `peak ${peak} per 100 ms, average ${average.toFixed(0)}`);
});

test('100k keepalives with the shared pacer: even the stall cohort leaves at most the pacer bound per window', () => {
  const pacer = new SlotPacer(millis(10), 50); // 5000 echoes/s, the server default
  const f = fleet(N, pacer);
  drive(f, STALL.to + 2 * INTERVAL, STALL);
  assert.equal(f.dead, 0);
  const bound = 50 * (100 / 10);
  assert.ok(bound <= 2 * average * 1.001 + 1, 'the test bound itself is within 2x the average');
  const peakAll = peak100ms(f.sent, STALL.to, STALL.to + 2 * INTERVAL);
  assert.ok(peakAll <= bound, `peak ${peakAll} per 100 ms over both intervals, pacer bound ${bound}`);
  const peak = peak100ms(f.sent, STALL.to + INTERVAL - 2000, STALL.to + 2 * INTERVAL);
  assert.ok(peak <= 2 * average, `peak ${peak} per 100 ms, average ${average.toFixed(0)}`);
  assert.ok(pacer.deferred > 0, 'the stall cohort was deferred by the pacer');
  // Every link still sent one echo per interval on average (deferral does not drop echoes).
  const inSecond = f.sent.filter((t) => t >= STALL.to + INTERVAL && t < STALL.to + 2 * INTERVAL).length;
  assert.ok(Math.abs(inSecond - N) < N * 0.05, `echoes in the second interval: ${inSecond}`);
});

test('SlotPacer: at most perSlot per window, FIFO into later windows, O(1) bookkeeping', () => {
  const p = new SlotPacer(millis(10), 3);
  const got = Array.from({ length: 8 }, () => p.admit(instant(1005)));
  assert.deepEqual(got, [1005, 1005, 1005, 1010, 1010, 1010, 1020, 1020]);
  // A later caller queues behind the booked windows; once time passes them, windows are free again.
  assert.equal(p.admit(instant(1012)), 1020);
  assert.equal(p.admit(instant(1012)), 1030);
  assert.equal(p.admit(instant(1031)), 1031);
  assert.equal(p.deferred, 7);
});

// ---------------------------------------------------------------- two links, one of them talking

interface Pair {
  readonly a: PppLink;
  readonly b: PppLink;
  readonly evA: PppEvent[];
  /** Echo-Requests a sent. */
  echoesA: number;
  now: number;
}

/** a (LNS) and b (client) up; `dropLcpBtoA` drops b's LCP (so its echo replies) on the way to a. */
function pair(aCfg: Partial<PppLinkConfig>, dropLcpBtoA: () => boolean): Pair & { run: (until: number, dataEvery?: number) => void } {
  const a = new PppLink({ role: 'authenticator', random: seededRandom(1), auth: [], ipcp: { localAddress: '100.64.0.1' }, ipv6cp: false, pool: { allocate: () => '100.64.0.9', release: () => {} }, ...aCfg });
  const b = new PppLink({ role: 'peer', random: seededRandom(2), ipv6cp: false, echoInterval: seconds(0) });
  const p: Pair = { a, b, evA: [], echoesA: 0, now: 0 };
  const pump = (): void => {
    for (let guard = 0; guard < 100; guard++) {
      let moved = false;
      for (let f = a.pollTransmit(); f !== undefined; f = a.pollTransmit()) {
        moved = true;
        const fr = parsePppFrame(f);
        if (fr.ok && fr.value.protocol === PppProtocol.LCP) {
          const cp = parseCpPacket(fr.value.info, true);
          if (cp.ok && cp.value.kind === 'echo' && cp.value.code === CpCode.EchoRequest) p.echoesA++;
        }
        b.handleFrame(instant(p.now), f);
      }
      for (let f = b.pollTransmit(); f !== undefined; f = b.pollTransmit()) {
        moved = true;
        const fr = parsePppFrame(f);
        if (fr.ok && fr.value.protocol === PppProtocol.LCP && dropLcpBtoA()) continue;
        a.handleFrame(instant(p.now), f);
      }
      for (let e = a.pollEvent(); e !== undefined; e = a.pollEvent()) p.evA.push(e);
      while (b.pollEvent() !== undefined);
      if (!moved) return;
    }
    throw new Error('pump did not settle');
  };
  const ip = Uint8Array.from([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 100, 64, 0, 9, 198, 18, 0, 1]);
  const run = (until: number, dataEvery?: number): void => {
    pump();
    let nextData = dataEvery === undefined ? Infinity : p.now + dataEvery;
    for (let guard = 0; guard < 100_000; guard++) {
      const at = Math.min(a.pollAt() ?? Infinity, b.pollAt() ?? Infinity, nextData);
      if (at > until) break;
      p.now = at;
      if (at === nextData) {
        const f = b.sendIp(ip, 4);
        if (f !== undefined) a.handleFrame(instant(p.now), f);
        nextData += dataEvery ?? Infinity;
      }
      a.handleTimeout(instant(p.now));
      b.handleTimeout(instant(p.now));
      pump();
    }
    p.now = until;
  };
  a.open(instant(0));
  b.open(instant(0));
  return Object.assign(p, { run });
}

for (const adaptive of [true, false]) {
  test(`a session that receives data is never echo-killed, even when its echo replies are lost (adaptive ${String(adaptive)})`, () => {
    let dropLcp = false;
    const p = pair({ echoInterval: seconds(10), echoFailure: 3, echoAdaptive: adaptive }, () => dropLcp);
    p.run(5_000);
    assert.equal(p.a.phase, 'network');
    dropLcp = true; // from here on no Echo-Reply ever reaches a
    const before = p.echoesA;
    p.run(600_000, 4_000);
    assert.equal(p.a.phase, 'network');
    assert.ok(!p.evA.some((e) => e.type === 'link-down' || e.type === 'echo-countdown'));
    // Adaptive: a link that hears data sends no Echo-Request at all; plain: one per interval.
    if (adaptive) assert.equal(p.echoesA - before, 0);
    else assert.ok(p.echoesA - before >= 55, `echoes sent: ${p.echoesA - before}`);
    // The same link with the data stopped dies of echo-timeout: the test can tell the two apart.
    p.run(700_000);
    assert.ok(p.evA.some((e) => e.type === 'link-down' && e.reason === 'echo-timeout'));
  });
}

test('first echoes of links opened together spread over [interval/2, interval] (jitter on), not only jitter of it', () => {
  const times: number[] = [];
  const random = seededRandom(7);
  for (let i = 0; i < 2000; i++) {
    const lcp = new Lcp({ ...DEFAULT_LCP, role: 'authenticator', auth: [] }, random, { send: () => {}, echoMissed: () => {}, fatal: () => {} });
    lcp.opened(instant(0));
    times.push(lcp.pollAt() as Instant);
  }
  const lo = Math.min(...times);
  const hi = Math.max(...times);
  assert.ok(lo >= INTERVAL / 2 && hi <= INTERVAL, `${lo}..${hi}`);
  assert.ok(hi - lo > INTERVAL * 0.45, `spread ${hi - lo} ms`);
  // Uniform: a 100 ms window holds about 2,000 / (interval/2 / 100 ms) first echoes, never twice that.
  const perWindow = new Map<number, number>();
  for (const t of times) perWindow.set(Math.floor(t / 100), (perWindow.get(Math.floor(t / 100)) ?? 0) + 1);
  const avg = 2000 / (INTERVAL / 2 / 100);
  assert.ok(Math.max(...perWindow.values()) <= 4 * avg + 4, `busiest 100 ms window ${Math.max(...perWindow.values())}, average ${avg}`);
  assert.ok(new Set(times).size > 1900, 'per-link jitter, not one shared offset');
  // No jitter: exactly one interval, as pppd.
  const fixed = new Lcp({ ...DEFAULT_LCP, role: 'authenticator', auth: [], echoJitter: 0 }, random, { send: () => {}, echoMissed: () => {}, fatal: () => {} });
  fixed.opened(instant(0));
  assert.equal(fixed.pollAt(), INTERVAL);
});
