/**
 * Two-peer simulation: a LAC engine and an LNS engine over an in-memory link with seeded loss,
 * duplication and reordering, on a virtual clock. 100 tunnels × 10 sessions come up, carry data,
 * and tear down cleanly with nothing left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../src/base/random.js';
import type { Instant } from '../../src/base/time.js';
import { L2tpEngine, defaultTunnelSettings, defaultTuning, type ChannelTuning, type TunnelSettings } from '../../src/l2tp/index.js';
import type { SessionId, TunnelId } from '../../src/wire/l2tp/types.js';
import { SimNet, type SimNode } from './harness.js';

const at = (ms: number): Instant => ms as Instant;
const TUNNELS = 100;
const SESSIONS = 10;

/** Retries raised for 20 % loss each way (a round trip succeeds 64 % of the time). */
const tuning: ChannelTuning = { ...defaultTuning(), retriesEstablished: 12, retriesNotEstablished: 12 };

function settings(host: string, secret?: Uint8Array): TunnelSettings {
  return { ...defaultTunnelSettings(host), tuning, ...(secret === undefined ? {} : { secret, hideAvps: true }) };
}

function run(seed: number, secret?: Uint8Array): void {
  const net = new SimNet(seed, { loss: 0.2, duplicate: 0.05, delay: 5, jitter: 40 });
  net.ignore = new Set(['control-rx', 'control-tx', 'retransmit', 'keepalive-countdown']);
  const mk = (host: string, s: number): L2tpEngine =>
    new L2tpEngine(
      { acceptTunnels: true, accept: settings(host, secret), acceptIncomingCalls: true, acceptOutgoingCalls: true },
      { random: seededRandom(s) },
    );
  const lac = net.add('lac', '198.18.0.1', mk('lac', seed + 1));
  const lns = net.add('lns', '198.18.0.2', mk('lns', seed + 2));

  const tunnels: TunnelId[] = [];
  const sessions = new Map<TunnelId, SessionId[]>();
  for (let i = 0; i < TUNNELS; i++) {
    const now = at(i * 10);
    net.runUntil(now);
    const tid = lac.engine.openTunnel(now, lns.addr, settings('lac', secret));
    tunnels.push(tid);
    const list: SessionId[] = [];
    for (let j = 0; j < SESSIONS; j++) {
      const sid = lac.engine.openSession(now, tid, { direction: 'incoming', callingNumber: `0${i}${j}` });
      assert.ok(sid !== undefined);
      list.push(sid);
    }
    sessions.set(tid, list);
  }
  net.runUntil(120_000);

  const count = (n: SimNode, type: string): number => n.events.filter((e) => e.type === type).length;
  assert.equal(count(lac, 'tunnel-established'), TUNNELS, 'LAC tunnels up');
  assert.equal(count(lns, 'tunnel-established'), TUNNELS, 'LNS tunnels up');
  assert.equal(count(lac, 'session-established'), TUNNELS * SESSIONS, 'LAC sessions up');
  assert.equal(count(lns, 'session-established'), TUNNELS * SESSIONS, 'LNS sessions up');
  assert.equal(count(lac, 'tunnel-closed') + count(lns, 'tunnel-closed'), 0);
  assert.ok(lac.engine.tunnels(at(net.now)).every((t) => t.state === 'established' && t.sessions.length === SESSIONS));
  assert.ok(
    lac.engine.tunnels(at(net.now)).reduce((n, t) => n + t.counters.retransmits, 0) > 0,
    'loss actually forced retransmissions',
  );

  // Data over every session (lossy link: most arrive, none are delivered twice per datagram).
  for (const tid of tunnels) {
    for (const sid of sessions.get(tid) ?? []) {
      const tx = lac.engine.sendData(at(net.now), tid, sid, new Uint8Array([0xc0, 0x21, 9]));
      assert.ok(tx);
      net.send(lac.addr, tx.to, tx.data);
    }
  }
  net.runUntil(net.now + 1000);
  const data = lns.engine.tunnels(at(net.now)).reduce((n, t) => n + t.counters.dataRxPackets, 0);
  assert.ok(data > TUNNELS * SESSIONS * 0.6 && data <= TUNNELS * SESSIONS * 1.1, `data delivered: ${data}`);

  // Tear down: half the sessions by CDN, then every tunnel by StopCCN.
  for (const tid of tunnels) {
    const list = sessions.get(tid) ?? [];
    for (const sid of list.slice(0, SESSIONS / 2)) lac.engine.closeSession(at(net.now), tid, sid, { result: 3 });
  }
  net.runUntil(net.now + 30_000);
  for (const tid of tunnels) lac.engine.closeTunnel(at(net.now), tid, { result: 1 });
  net.runUntil(net.now + 600_000);

  for (const n of [lac, lns]) {
    assert.equal(n.engine.tunnelCount, 0, `${n.name}: no tunnels left`);
    assert.equal(n.engine.pollAt(), undefined, `${n.name}: no timers left`);
    assert.equal(n.engine.pollTransmit(), undefined);
    assert.equal(count(n, 'tunnel-closed'), TUNNELS, `${n.name}: every tunnel closed once`);
    assert.equal(count(n, 'session-closed'), TUNNELS * SESSIONS, `${n.name}: every session closed once`);
    const causes = new Set(n.events.flatMap((e) => (e.type === 'tunnel-closed' ? [e.reason.cause] : [])));
    assert.deepEqual([...causes], [n === lac ? 'admin' : 'stopccn'], `${n.name}: clean causes`);
  }
}

test('100 tunnels × 10 sessions under 20% loss, reordering and duplication: up and cleanly down', () => {
  run(1);
});

test('same, with tunnel authentication and hidden AVPs', () => {
  run(2, new TextEncoder().encode('sim-secret'));
});
