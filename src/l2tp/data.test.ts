import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../base/random.js';
import type { Instant } from '../base/time.js';
import { writeDataHeader } from '../wire/l2tp/index.js';
import type { SessionId, TunnelId } from '../wire/l2tp/types.js';
import { SimNet, eventsOf } from '../../test/sim/harness.js';
import { DATA_BACKLOG, type SessionDataSink } from './api.js';
import { L2tpEngine, defaultTunnelSettings } from './index.js';

const at = (ms: number): Instant => ms as Instant;

/** A LAC and an LNS with one established session; the LNS binds no sink yet. */
function established(): { net: SimNet; lac: L2tpEngine; lns: L2tpEngine; lacT: TunnelId; lacS: SessionId; lnsT: TunnelId; lnsS: SessionId } {
  const net = new SimNet(3);
  net.recordData = false;
  const mk = (host: string, seed: number): L2tpEngine =>
    new L2tpEngine({ acceptTunnels: true, accept: defaultTunnelSettings(host), acceptIncomingCalls: true, acceptOutgoingCalls: true }, { random: seededRandom(seed) });
  const lacNode = net.add('lac', '198.18.0.1', mk('lac', 1));
  const lnsNode = net.add('lns', '198.18.0.2', mk('lns', 2));
  const lacT = lacNode.engine.openTunnel(at(0), lnsNode.addr, defaultTunnelSettings('lac'));
  const lacS = lacNode.engine.openSession(at(0), lacT, { direction: 'incoming' });
  net.advance(1000);
  const up = eventsOf(lnsNode, 'session-established')[0];
  assert.ok(lacS !== undefined && up !== undefined);
  return { net, lac: lacNode.engine, lns: lnsNode.engine, lacT, lacS, lnsT: up.tunnel, lnsS: up.session };
}

const recorder = (): SessionDataSink & { readonly frames: Uint8Array[] } => {
  const frames: Uint8Array[] = [];
  return { frames, handleData: (_now, f) => frames.push(f) };
};

test('data fast path: every data message reaches the bound sink, and none produces an event or a transmit', () => {
  const { net, lac, lns, lacT, lacS, lnsT, lnsS } = established();
  const sink = recorder();
  assert.equal(lns.bindSession(at(net.now), lnsT, lnsS, sink), true);
  while (lns.pollEvent() !== undefined) {
    /* settle the set-up events */
  }
  const from = { address: '198.18.0.1', port: 1701, family: 4 } as const;
  for (let i = 0; i < 200; i++) {
    const frame = Uint8Array.of(0xff, 0x03, 0x00, 0x21, i & 0xff, 1, 2, 3);
    const tx = lac.sendData(at(net.now), lacT, lacS, frame);
    assert.ok(tx);
    lns.handleDatagram(at(net.now), tx.data, from);
    assert.equal(lns.pollEvent(), undefined, `no event for data message ${i}`);
    assert.equal(lns.pollTransmit(), undefined, `no transmit for data message ${i}`);
    const got = sink.frames[i];
    assert.ok(got);
    assert.deepEqual([...got], [...frame]);
    assert.equal(got.buffer, tx.data.buffer, 'the frame is a view into the datagram (no copy)');
  }
  const info = lns.tunnels(at(net.now))[0];
  assert.equal(info?.counters.dataRxPackets, 200, 'plain counters, read on show');
  assert.equal(info?.sessions[0]?.rxPackets, 200);
  assert.equal(info?.counters.dataDropped, 0);
});

test('frames that arrive before the sink is bound are held (at most DATA_BACKLOG) and delivered in order at bind', () => {
  const { net, lac, lns, lacT, lacS, lnsT, lnsS } = established();
  const from = { address: '198.18.0.1', port: 1701, family: 4 } as const;
  const sent: number[] = [];
  for (let i = 0; i < DATA_BACKLOG + 2; i++) {
    const tx = lac.sendData(at(net.now), lacT, lacS, Uint8Array.of(0xc0, 0x21, i));
    assert.ok(tx);
    const copy = Buffer.from(tx.data);
    lns.handleDatagram(at(net.now), copy, from);
    copy.fill(0); // the engine kept its own copies of held frames
    sent.push(i);
  }
  assert.equal(lns.tunnels(at(net.now))[0]?.counters.dataDropped, 2, 'beyond the backlog: dropped and counted');
  const sink = recorder();
  lns.bindSession(at(net.now), lnsT, lnsS, sink);
  assert.deepEqual(sink.frames.map((f) => f[2]), sent.slice(0, DATA_BACKLOG));
  // Unbinding stops delivery (frames are held again).
  lns.bindSession(at(net.now), lnsT, lnsS, undefined);
  const tx = lac.sendData(at(net.now), lacT, lacS, Uint8Array.of(0xc0, 0x21, 99));
  assert.ok(tx);
  lns.handleDatagram(at(net.now), tx.data, from);
  assert.equal(sink.frames.length, DATA_BACKLOG);
  assert.equal(lns.bindSession(at(net.now), lnsT, 0xbeef as SessionId, sink), false, 'no such session');
});

test('data for an unknown session, from another channel or with a too-long offset: dropped and counted, no event', () => {
  const { net, lns, lnsT, lnsS } = established();
  const sink = recorder();
  lns.bindSession(at(net.now), lnsT, lnsS, sink);
  while (lns.pollEvent() !== undefined) {
    /* settle */
  }
  const from = { address: '198.18.0.1', port: 1701, family: 4 } as const;
  const msg = (session: number, offsetSize?: number): Uint8Array => {
    const b = new Uint8Array(6 + (offsetSize !== undefined ? 2 + offsetSize : 0) + 4);
    writeDataHeader(b, 0, { tunnelId: lnsT, sessionId: session, ...(offsetSize !== undefined ? { offsetSize } : {}) }, b.length);
    return b;
  };
  lns.handleDatagram(at(net.now), msg(lnsS ^ 1), from);
  lns.handleDatagram(at(net.now), msg(lnsS), { ...from, via: 'ipsec:9' });
  lns.handleDatagram(at(net.now), msg(lnsS, 65), from); // default maxOffset 64
  lns.handleDatagram(at(net.now), msg(lnsS, 64), from);
  assert.equal(lns.pollEvent(), undefined);
  assert.equal(lns.tunnels(at(net.now))[0]?.counters.dataDropped, 3);
  assert.equal(sink.frames.length, 1, 'Offset Size 64 is accepted');
});

test('PPP frames that overtake the ICCN are held for the session, not dropped; the ICCN is acked at once', () => {
  const net = new SimNet(3);
  net.recordData = false;
  net.record = true;
  const mk = (host: string, seed: number): L2tpEngine =>
    new L2tpEngine({ acceptTunnels: true, accept: defaultTunnelSettings(host), acceptIncomingCalls: true, acceptOutgoingCalls: true }, { random: seededRandom(seed) });
  const lacNode = net.add('lac', '198.18.0.1', mk('lac', 1));
  const lnsNode = net.add('lns', '198.18.0.2', mk('lns', 2));
  // Hold back the LAC's ICCN (control, Message Type AVP value 12 at octets 18..19 of a header with L, S).
  let iccn: { from: typeof lacNode.addr; to: typeof lnsNode.addr; data: Uint8Array } | undefined;
  net.filter = (from, to, data) => {
    const control = ((data[0] ?? 0) & 0x80) !== 0;
    if (control && data.length >= 20 && data[18] === 0 && data[19] === 12 && iccn === undefined) {
      iccn = { from, to, data: data.slice() };
      return false;
    }
    return true;
  };
  const lacT = lacNode.engine.openTunnel(at(0), lnsNode.addr, defaultTunnelSettings('lac'));
  const lacS = lacNode.engine.openSession(at(0), lacT, { direction: 'incoming' });
  net.advance(1000);
  assert.ok(lacS !== undefined && iccn !== undefined, 'the ICCN was held back');
  assert.equal(eventsOf(lacNode, 'session-established').length, 1, 'up at the LAC');
  assert.equal(eventsOf(lnsNode, 'session-established').length, 0, 'not yet at the LNS');
  // The LAC's first LCP frames reach the LNS before its ICCN.
  for (let i = 0; i < 2; i++) {
    const tx = lacNode.engine.sendData(at(net.now), lacT, lacS, Uint8Array.of(0xc0, 0x21, 1, i));
    assert.ok(tx);
    lnsNode.engine.handleDatagram(at(net.now), tx.data, lacNode.addr);
  }
  const sentBefore = lnsNode.sent.length;
  net.inject(iccn.from, iccn.to, iccn.data);
  net.advance(1); // the base delay: the ICCN is delivered, nothing else is due
  const up = eventsOf(lnsNode, 'session-established')[0];
  assert.ok(up, 'up at the LNS after its ICCN');
  const zlb = lnsNode.sent.slice(sentBefore).find((s) => s.data.length === 12);
  assert.ok(zlb, 'the ICCN is acked by a ZLB at once (no reply message would carry the ack)');
  const sink = recorder();
  lnsNode.engine.bindSession(at(net.now), up.tunnel, up.session, sink);
  assert.deepEqual(sink.frames.map((f) => f[3]), [0, 1], 'the early frames, in order');
  assert.equal(lnsNode.engine.tunnels(at(net.now))[0]?.counters.dataDropped, 0);
});
