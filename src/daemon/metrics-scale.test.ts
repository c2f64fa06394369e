import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instant } from '../base/index.js';
import type { TunnelInfo } from '../l2tp/index.js';
import { FAST_SESSION_FIELDS, tunnelSumsOf, type NativeFastPathStats, type UdpEndpoint } from '../io/index.js';
import { foldTakenRows, TAKEN_ROW, type AccessCounters } from '../access/index.js';
import { DataLedger } from './data-ledger.js';
import { DaemonMetrics, sumRowsByTunnel } from './metrics.js';
import { nextTurn, TurnSlicer } from './turn-slicer.js';
import { samplePayloadYielding, type ViewSources } from './views.js';
import { countTurns } from '../../test/lib/turns.js';

const SESSIONS = 100_000;
const PER_TUNNEL = 500;
const ROW = 2 + FAST_SESSION_FIELDS.length;

/** The addon's rows for SESSIONS sessions, PER_TUNNEL per tunnel: field j of session i = i * 10 + j. */
function rows(): Float64Array {
  const a = new Float64Array(SESSIONS * ROW);
  for (let i = 0; i < SESSIONS; i++) {
    a[i * ROW] = Math.floor(i / PER_TUNNEL) + 1;
    a[i * ROW + 1] = (i % PER_TUNNEL) + 1;
    for (let j = 0; j < FAST_SESSION_FIELDS.length; j++) a[i * ROW + 2 + j] = i * 10 + j;
  }
  return a;
}

test('sumRowsByTunnel: per-tunnel sums of the native rows equal the sums of the sessions, tunnels in first-seen order', () => {
  const a = rows();
  const sums = sumRowsByTunnel(a);
  assert.equal(sums.size, SESSIONS / PER_TUNNEL);
  assert.deepEqual([...sums.keys()].slice(0, 3), [1, 2, 3]);
  // Tunnel t holds sessions (t-1)*500 .. t*500-1: field j sums to 10 * sum(i) + 500 * j.
  for (const t of [1, 77, 200]) {
    const first = (t - 1) * PER_TUNNEL;
    const sumI = (PER_TUNNEL * (2 * first + PER_TUNNEL - 1)) / 2;
    assert.deepEqual([...(sums.get(t) ?? [])], FAST_SESSION_FIELDS.map((_, j) => 10 * sumI + PER_TUNNEL * j), `tunnel ${t}`);
  }
  // Interleaved tunnels (rows of two tunnels alternating) still sum per tunnel; a partial row is ignored.
  const mixed = new Float64Array([1, 1, ...FAST_SESSION_FIELDS.map(() => 1), 2, 1, ...FAST_SESSION_FIELDS.map(() => 5), 1, 2, ...FAST_SESSION_FIELDS.map(() => 2), 9]);
  assert.deepEqual([...(sumRowsByTunnel(mixed).get(1) ?? [])], FAST_SESSION_FIELDS.map(() => 3));
  assert.deepEqual([...(sumRowsByTunnel(mixed).get(2) ?? [])], FAST_SESSION_FIELDS.map(() => 5));
});

test('a scrape over 100k fast-path sessions: l2tp_fast_path_tunnel_total per tunnel from the rows (exposition as before)', async () => {
  const m = new DaemonMetrics(() => undefined);
  const a = rows();
  const stats = { perThread: [] } as unknown as NativeFastPathStats;
  m.addFastPath(() => ({ stats, tunnelSums: sumRowsByTunnel(a) }));
  const text = await m.text();
  const lines = text.split('\n').filter((l) => l.startsWith('l2tp_fast_path_tunnel_total{'));
  assert.equal(lines.length, (SESSIONS / PER_TUNNEL) * FAST_SESSION_FIELDS.length);
  const sumI = (PER_TUNNEL * (PER_TUNNEL - 1)) / 2;
  assert.equal(lines[0], `l2tp_fast_path_tunnel_total{tunnel="1",counter="rx_packets"} ${10 * sumI}`);
  assert.equal(lines[8], `l2tp_fast_path_tunnel_total{tunnel="1",counter="drop_send"} ${10 * sumI + PER_TUNNEL * 8}`);
});

/** One engine of 200 tunnels x 500 sessions with per-tunnel access, and an access server whose fast counters cost a little each. */
function payloadSources(bulk = true): { src: ViewSources; reads: () => number; syncs: () => { bulk: number; perSession: number } } {
  const tunnels = new Map<number, TunnelInfo>();
  for (let t = 1; t <= SESSIONS / PER_TUNNEL; t++) {
    const sessions = Array.from({ length: PER_TUNNEL }, (_, i) => ({ localSessionId: i + 1, rxPackets: 0, rxOctets: 0, txPackets: 0, txOctets: 0 }));
    tunnels.set(t, { localTunnelId: t, counters: { dataRxPackets: 1, dataRxOctets: 100, dataTxPackets: 2, dataTxOctets: 200 }, sessions } as unknown as TunnelInfo);
  }
  const engine = { tunnels: () => [...tunnels.values()], tunnelIds: () => [...tunnels.keys()], tunnelInfo: (id: number) => tunnels.get(id) };
  const endpoint = { engine, local: { address: '198.18.0.1', port: 1701 } } as unknown as UdpEndpoint;
  let reads = 0;
  const syncs = { bulk: 0, perSession: 0 };
  const access = {
    serves: (ep: UdpEndpoint) => ep === endpoint,
    // The access server's sync: one takeAll when the addon has it (bulk), else a native take per session read with sync.
    syncFastAll: () => {
      syncs.bulk++;
      return bulk;
    },
    fastCountersOf: (_t: number, _s: number, sync = true) => {
      reads++;
      if (sync) syncs.perSession++;
      return { rxPackets: 1, rxOctets: 10, txPackets: 1, txOctets: 20 };
    },
  };
  return { src: { endpoints: [endpoint], lacs: [], access: access as unknown as ViewSources['access'], ipsec: undefined, ledger: new DataLedger() }, reads: () => reads, syncs: () => syncs };
}

test('the payload sample of a scrape over 100k sessions yields to the loop while it reads every session, totals exact', async () => {
  const { src, reads, syncs } = payloadSources();
  const m = new DaemonMetrics(() => undefined);
  m.addPayload(async () => (await samplePayloadYielding(0 as Instant, src)) ?? { rxPackets: 0, rxOctets: 0, txPackets: 0, txOctets: 0 });
  const loop = countTurns();
  const text = await m.text();
  const turns = loop.stop();
  assert.equal(reads(), SESSIONS);
  // One bulk native read for the scrape, not one `take` per session (issue 15: ~0.4 s of CPU per scrape at 100k).
  assert.deepEqual(syncs(), { bulk: 1, perSession: 0 });
  assert.ok(turns >= SESSIONS / 2000 / 2, `event-loop turns during the scrape: ${turns}`);
  const tunnels = SESSIONS / PER_TUNNEL;
  assert.match(text, new RegExp(`l2tp_payload_packets_total\\{direction="rx"\\} ${tunnels + SESSIONS}\\n`));
  assert.match(text, new RegExp(`l2tp_payload_octets_total\\{direction="tx"\\} ${tunnels * 200 + SESSIONS * 20}\\n`));
});

test('TurnSlicer on a virtual clock: a turn after `chunk` items, or as soon as a slice took the budget however few items', async () => {
  let now = 0;
  const s = new TurnSlicer(100, 8, () => now);
  for (let i = 0; i < 99; i++) assert.equal(s.step(), undefined);
  const p = s.step();
  assert.ok(p !== undefined, 'the 100th item ends the slice');
  await p;
  // Costly items: 3 ms each; the third passes 8 ms and ends the slice after 3 items, not 100.
  let items = 0;
  for (;;) {
    now += 3;
    items++;
    const turn = s.step();
    if (turn !== undefined) {
      await turn;
      break;
    }
  }
  assert.equal(items, 3);
  assert.equal(s.turns, 2);
  // A turn really lets other work run: a setImmediate queued before resolves first.
  const order: string[] = [];
  setImmediate(() => order.push('other'));
  await nextTurn();
  order.push('after');
  assert.deepEqual(order, ['other', 'after']);
});

test('the payload sample with an addon without takeAll syncs per session (same totals)', async () => {
  const { src, syncs } = payloadSources(false);
  const d = await samplePayloadYielding(0 as Instant, src);
  assert.deepEqual(syncs(), { bulk: 1, perSession: SESSIONS });
  assert.equal(d?.rxPackets, SESSIONS / PER_TUNNEL + SESSIONS);
});

test('foldTakenRows: each takeAll row lands on its offloaded session (counters and fast share), others are skipped', () => {
  const mk = (offloaded: boolean) => ({ offloaded, counters: { rxPackets: 5, rxOctets: 50, txPackets: 0, txOctets: 0, dropped: 0 }, fastCounters: undefined as AccessCounters | undefined });
  const sessions = new Map([['1/1', mk(true)], ['1/2', mk(false)], ['2/1', mk(true)]]);
  const rows = new Float64Array([1, 1, 2, 200, 3, 300, 1, 2, 9, 9, 9, 9, 3, 3, 1, 1, 1, 1, 2, 1, 1, 10, 0, 0, 7]);
  assert.equal(TAKEN_ROW, 6);
  assert.equal(foldTakenRows(rows, (t, s) => sessions.get(`${t}/${s}`)), 2, 'the not-offloaded and the unknown session are skipped, the partial row ignored');
  assert.deepEqual(sessions.get('1/1')?.counters, { rxPackets: 7, rxOctets: 250, txPackets: 3, txOctets: 300, dropped: 0 });
  assert.deepEqual(sessions.get('1/1')?.fastCounters, { rxPackets: 2, rxOctets: 200, txPackets: 3, txOctets: 300, dropped: 0 });
  assert.equal(sessions.get('1/2')?.fastCounters, undefined);
  assert.deepEqual(sessions.get('2/1')?.fastCounters, { rxPackets: 1, rxOctets: 10, txPackets: 0, txOctets: 0, dropped: 0 });
});

test('tunnelSumsOf: the addon\'s per-tunnel rows read as sumRowsByTunnel gives them from the session rows', () => {
  const a = rows();
  const want = sumRowsByTunnel(a);
  const native = new Float64Array(want.size * (1 + FAST_SESSION_FIELDS.length));
  let i = 0;
  for (const [t, v] of want) {
    native[i++] = t;
    native.set(v, i);
    i += v.length;
  }
  assert.deepEqual(tunnelSumsOf(native), want);
});
