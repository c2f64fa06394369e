/**
 * L2TP HELLO at scale (issue 15 item 1): tunnels that come up (or are heard) in one turn do not
 * send their HELLOs in one turn; data from the peer counts as liveness (RFC 2661 §6.5).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../src/base/random.js';
import type { Duration, Instant } from '../../src/base/time.js';
import { DEFAULT_ADMISSION, L2tpEngine, defaultTunnelSettings, defaultTuning, type TunnelSettings } from '../../src/l2tp/index.js';
import { MessageType } from '../../src/wire/l2tp/index.js';
import { SimNet, eventsOf, type SimNode } from './harness.js';

const at = (ms: number): Instant => ms as Instant;
const HELLO = 60_000;

function settings(host: string, hello: number): TunnelSettings {
  return { ...defaultTunnelSettings(host), tuning: { ...defaultTuning(), helloInterval: hello as Duration, retriesEstablished: 50 } };
}

function setup(): { net: SimNet; lac: SimNode; lns: SimNode } {
  const net = new SimNet(1);
  net.ignore = new Set(['control-rx', 'retransmit']);
  const mk = (host: string, seed: number): L2tpEngine =>
    // 200 tunnels from one address at once: above the default half-open budget per peer (100), which is not what this tests.
    new L2tpEngine({ acceptTunnels: true, accept: settings(host, HELLO), acceptIncomingCalls: true, acceptOutgoingCalls: true, admission: { ...DEFAULT_ADMISSION, maxHalfOpenPerPeer: 1000 } }, { random: seededRandom(seed) });
  const lac = net.add('lac', '198.18.0.1', mk('lac', 11));
  const lns = net.add('lns', '198.18.0.2', mk('lns', 12));
  return { net, lac, lns };
}

/** Run to `until` in 10 ms steps; the instants at which `node` sent a HELLO. */
function helloTimes(net: SimNet, nodes: readonly SimNode[], until: number, each?: (now: number) => void): number[] {
  const times: number[] = [];
  const seen = nodes.map((n) => n.events.length);
  for (let t = net.now + 10; t <= until; t += 10) {
    each?.(t);
    net.runUntil(t);
    nodes.forEach((n, i) => {
      for (const e of n.events.slice(seen[i])) if (e.type === 'control-tx' && e.messageType === MessageType.HELLO) times.push(t);
      seen[i] = n.events.length;
    });
  }
  return times;
}

test('HELLOs of 200 tunnels established in one turn are spread by the per-tunnel phase', () => {
  const { net, lac, lns } = setup();
  for (let i = 0; i < 200; i++) lac.engine.openTunnel(at(0), lns.addr, settings('lac', HELLO));
  net.runUntil(1000);
  assert.equal(eventsOf(lac, 'tunnel-established').length, 200);
  const times = helloTimes(net, [lac, lns], 2 * HELLO + 10_000);
  assert.equal(eventsOf(lac, 'tunnel-closing').length, 0);
  const first = times.filter((t) => t < HELLO * 1.5);
  assert.ok(first.length >= 200, `first-round HELLOs: ${first.length}`);
  // All tunnels came up within a few ms: without a per-tunnel phase their HELLOs left together.
  const span = Math.max(...first) - Math.min(...first);
  assert.ok(span > HELLO * 0.05, `first-round HELLOs span ${span} ms`);
  const per100 = new Map<number, number>();
  for (const t of first) per100.set(Math.floor(t / 100), (per100.get(Math.floor(t / 100)) ?? 0) + 1);
  assert.ok(Math.max(...per100.values()) <= 20, `most HELLOs in one 100 ms window: ${Math.max(...per100.values())}`);
});

for (const data of [true, false]) {
  test(`data from the peer is liveness: the LNS sends ${data ? 'no HELLO while data flows' : 'a HELLO on a silent tunnel'}`, () => {
    const { net, lac, lns } = setup();
    // The LAC sends no HELLOs of its own, so only its data (or nothing) tells the LNS it is alive.
    const tid = lac.engine.openTunnel(at(0), lns.addr, settings('lac', 0));
    const sid = lac.engine.openSession(at(0), tid, { direction: 'incoming', callingNumber: '1' });
    assert.ok(sid !== undefined);
    net.runUntil(2000);
    assert.equal(eventsOf(lns, 'session-established').length, 1);
    const sent = helloTimes(net, [lns], 300_000, (t) => {
      if (!data || t % 5000 !== 0) return;
      const tx = lac.engine.sendData(at(t), tid, sid, new Uint8Array([0xc0, 0x21, 9, 1, 0, 8, 0, 0, 0, 0]));
      if (tx !== undefined) net.send(lac.addr, tx.to, tx.data);
    });
    assert.equal(eventsOf(lns, 'tunnel-closing').length, 0);
    if (data) assert.deepEqual(sent, []);
    else assert.ok(sent.length >= 4, `HELLOs on the silent tunnel: ${sent.length}`);
  });
}
