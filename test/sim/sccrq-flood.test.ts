/**
 * Issue 10 item 5: an SCCRQ flood against the LNS in the simulation. Before the admission budget,
 * 2,000 SCCRQs from one address got 2,000 tunnels and 12,000 SCCRPs back (each SCCRP retransmitted
 * five times): a 6x amplifier. Now a tunnel is half-open from the SCCRQ we answer until the SCCCN,
 * half-open tunnels are bounded per peer address and in total, new tunnels are rate limited by a token
 * bucket on the virtual clock, and an SCCRQ beyond the budget gets no answer at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../src/base/random.js';
import type { Instant } from '../../src/base/time.js';
import { DEFAULT_ADMISSION, L2tpEngine, defaultTunnelSettings, type AdmissionLimits, type PeerAddress } from '../../src/l2tp/index.js';
import { emitControl } from '../../src/wire/l2tp/index.js';
import { MessageType, sessionId, tunnelId } from '../../src/wire/l2tp/types.js';
import { SimNet, eventsOf } from './harness.js';

const at = (ms: number): Instant => ms as Instant;

function sccrq(assigned: number): Uint8Array {
  return emitControl({
    tunnelId: tunnelId(0),
    sessionId: sessionId(0),
    ns: 0,
    nr: 0,
    type: MessageType.SCCRQ,
    avps: { protocolVersion: { version: 1, revision: 0 }, hostName: `flood${assigned}`, framingCapabilities: 3, assignedTunnelId: tunnelId(assigned) },
  });
}

/** An LNS and a legitimate LAC on a simulated link; the flood is injected from addresses with no engine. */
function setup(admission?: AdmissionLimits): { net: SimNet; lns: ReturnType<SimNet['add']>; lac: ReturnType<SimNet['add']> } {
  const net = new SimNet(3);
  net.record = true;
  net.ignore = new Set(['control-rx', 'control-tx', 'retransmit']);
  const cfg = { acceptTunnels: true, accept: defaultTunnelSettings('lns'), acceptIncomingCalls: true, acceptOutgoingCalls: true, ...(admission === undefined ? {} : { admission }) };
  const lns = net.add('lns', '198.18.0.2', new L2tpEngine(cfg, { random: seededRandom(8) }));
  const lac = net.add('lac', '198.18.0.1', new L2tpEngine({ ...cfg, acceptTunnels: false, accept: defaultTunnelSettings('lac') }, { random: seededRandom(9) }));
  return { net, lns, lac };
}

/** Datagrams the LNS sent to addresses other than the legitimate LAC. */
const toFlood = (lns: ReturnType<SimNet['add']>, legit: string): number => lns.sent.filter((s) => s.to.address !== legit).length;

test('2,000 SCCRQs from one address (2,000 ports) with default limits: at most max_half_open_per_peer answered, fewer datagrams out than in; a legitimate LAC still gets in', () => {
  const { net, lns, lac } = setup();
  const N = 2000;
  for (let i = 0; i < N; i++) {
    const from: PeerAddress = { address: '198.18.0.66', port: 10000 + i, family: 4 };
    net.inject(from, lns.addr, sccrq(i + 1));
    if (i % 100 === 99) net.advance(50); // 2,000 SCCRQs within one second
  }
  lac.engine.openTunnel(at(net.now), lns.addr, defaultTunnelSettings('lac'));
  net.advance(2000);
  assert.equal(eventsOf(lac, 'tunnel-established').length, 1, 'the legitimate LAC is admitted during the flood');
  assert.equal(lns.engine.halfOpenCount, DEFAULT_ADMISSION.maxHalfOpenPerPeer, 'half-open tunnels from the flooding address are capped');
  const rejected = eventsOf(lns, 'tunnel-rejected').length;
  assert.equal(rejected, N - DEFAULT_ADMISSION.maxHalfOpenPerPeer);
  net.advance(200_000);
  const out = toFlood(lns, lac.addr.address);
  // Each admitted SCCRQ costs an SCCRP, five retransmissions and one last StopCCN.
  assert.ok(out <= DEFAULT_ADMISSION.maxHalfOpenPerPeer * 7, `datagrams to the flood: ${out}`);
  assert.ok(out < N, `no amplification: ${out} out for ${N} in`);
  assert.equal(lns.engine.halfOpenCount, 0, 'the half-open budget is returned once they time out');
  assert.equal(lns.engine.tunnelCount, 1, 'only the legitimate tunnel is left');
});

test('a flood from 2,000 addresses: the SCCRQ token bucket bounds new tunnels; the legitimate LAC retransmits into a refilled bucket', () => {
  const admission: AdmissionLimits = { maxHalfOpen: 1000, maxHalfOpenPerPeer: 10, sccrqRate: { perSecond: 20, burst: 40 } };
  const { net, lns, lac } = setup(admission);
  const N = 2000;
  for (let i = 0; i < N; i++) {
    const from: PeerAddress = { address: `198.18.${8 + (i >> 8)}.${i & 0xff}`, port: 1701, family: 4 };
    net.inject(from, lns.addr, sccrq(i + 1));
    if (i % 200 === 199 && i < N - 1) net.advance(100);
  }
  // The LAC's SCCRQ arrives right behind the last batch of the flood, with the bucket empty.
  lac.engine.openTunnel(at(net.now), lns.addr, defaultTunnelSettings('lac'));
  net.advance(100);
  assert.equal(eventsOf(lac, 'tunnel-established').length, 0);
  const admitted = N - eventsOf(lns, 'tunnel-rejected').filter((e) => e.peer.address !== lac.addr.address).length;
  // burst + rate x (1 s of flood) (+1 for rounding of the refill).
  assert.ok(admitted <= 40 + 20 * 1.1 + 1, `admitted ${admitted}`);
  assert.ok(admitted >= 40, `the burst is honoured (${admitted})`);
  net.advance(10_000);
  assert.equal(eventsOf(lac, 'tunnel-established').length, 1, 'admitted on a retransmission of its SCCRQ');
  net.advance(200_000);
  const out = toFlood(lns, lac.addr.address);
  assert.ok(out <= admitted * 7, `datagrams to the flood: ${out} for ${admitted} admitted`);
  assert.ok(out < N / 4, `no amplification: ${out} out for ${N} in`);
  assert.equal(lns.engine.halfOpenCount, 0);
});

test('max_half_open bounds the total across peers', () => {
  const admission: AdmissionLimits = { maxHalfOpen: 25, maxHalfOpenPerPeer: 10, sccrqRate: { perSecond: 1e6, burst: 1e6 } };
  const { net, lns } = setup(admission);
  for (let i = 0; i < 100; i++) net.inject({ address: `198.18.9.${i}`, port: 1701, family: 4 }, lns.addr, sccrq(i + 1));
  net.advance(10);
  assert.equal(lns.engine.halfOpenCount, 25);
  assert.equal(eventsOf(lns, 'tunnel-rejected').length, 75);
});
