/**
 * Child SA byte lifetimes (RFC 2407 §4.5, RFC 4301 §4.4.2.1 soft/hard) through `IpsecL2tpGate`: the
 * ESP SAs count the bytes of L2TP traffic, the IKE cores rekey at the soft limit and expire the SA at
 * the hard one, and the gate closes the L2TP tunnel of a flow whose last SA is gone. Virtual clock,
 * raw ESP (no NAT); the negotiation side is tested in src/ipsec/byte-lifetime.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addDuration, instant, seconds, type Instant } from '../base/time.js';
import { seededRandom } from '../base/random.js';
import { L2tpEngine, defaultTunnelSettings, type L2tpEvent } from '../l2tp/index.js';
import type { SessionId, TunnelId } from '../wire/l2tp/types.js';
import { IkeInitiator, IkeResponder, type IkeEvent, type IkeInitiatorConfig, type IkeResponderConfig } from '../ipsec/index.js';
import { IpsecL2tpGate, outerBytes, type IpsecGateEvent, type OuterPacket } from './index.js';

const PSK = new TextEncoder().encode('byte lifetime psk');
const SERVER = '192.0.2.1';
const CLIENT = '198.51.100.7';
const T0 = instant(7_000_000);

type Deleted = Extract<IkeEvent, { type: 'sa-deleted' }>;

interface Side {
  readonly gate: IpsecL2tpGate;
  readonly ipsec: IpsecGateEvent[];
  readonly l2tp: L2tpEvent[];
  /** PPP frames received through the session's data sink. */
  readonly data: Uint8Array[];
}

/** Client (initiator + LAC) and server (responder + LNS) gates, raw ESP (no NAT), virtual clock. */
class GateWorld {
  now: Instant = T0;
  readonly wire: { from: 'c' | 's'; p: OuterPacket }[] = [];
  readonly client: Side;
  readonly server: Side;
  readonly init: IkeInitiator;
  tunnel: TunnelId | undefined;
  session: SessionId | undefined;

  constructor(icfg: Partial<IkeInitiatorConfig>, rcfg: Partial<IkeResponderConfig>) {
    const lns = new L2tpEngine({ acceptTunnels: true, accept: defaultTunnelSettings('lns'), acceptIncomingCalls: true, acceptOutgoingCalls: true }, { random: seededRandom(1) });
    const lac = new L2tpEngine({ acceptTunnels: false, accept: defaultTunnelSettings('lac'), acceptIncomingCalls: true, acceptOutgoingCalls: true }, { random: seededRandom(3) });
    const resp = new IkeResponder({ psk: () => PSK, ...rcfg }, seededRandom(2));
    this.init = new IkeInitiator({ psk: PSK, local: { address: CLIENT, port: 500 }, remote: { address: SERVER, port: 500 }, ...icfg }, seededRandom(4));
    const side = (from: 'c' | 's', engine: L2tpEngine, ike: IkeInitiator | IkeResponder): Side => ({
      gate: new IpsecL2tpGate({ engine, ike, random: seededRandom(from === 'c' ? 11 : 12) }),
      ipsec: [],
      l2tp: [],
      data: [],
    });
    this.client = side('c', lac, this.init);
    this.server = side('s', lns, resp);
  }

  pump(): void {
    for (let i = 0; i < 10_000; i++) {
      for (const n of [this.client, this.server]) {
        const from = n === this.client ? 'c' : 's';
        for (let t = n.gate.pollTransmit(); t; t = n.gate.pollTransmit()) {
          if (t.kind === 'l2tp') assert.fail('L2TP in the clear');
          this.wire.push({ from, p: t });
        }
        for (let e = n.gate.pollEvent(); e; e = n.gate.pollEvent()) {
          if (e.type !== 'l2tp') {
            n.ipsec.push(e);
            continue;
          }
          n.l2tp.push(e.event);
          if (e.event.type === 'session-established') n.gate.bindSession(this.now, e.event.tunnel, e.event.session, { handleData: (_now, f) => n.data.push(Uint8Array.from(f)) });
        }
      }
      const w = this.wire.shift();
      if (!w) return;
      const to = w.from === 'c' ? this.server.gate : this.client.gate;
      const peer = w.from === 'c' ? CLIENT : SERVER;
      if (w.p.kind === 'udp') to.handleUdp(this.now, { local: w.p.remote, remote: w.p.local, data: outerBytes(w.p.data) });
      else to.handleRawEsp(this.now, peer, outerBytes(w.p.data));
    }
    throw new Error('no quiescence');
  }

  runUntil(t: Instant): void {
    this.pump();
    for (;;) {
      const due = [this.client.gate.pollAt(), this.server.gate.pollAt()].filter((x): x is Instant => x !== undefined && x <= t).sort((a, b) => a - b)[0];
      if (due === undefined) break;
      this.now = due > this.now ? due : this.now;
      this.client.gate.handleTimeout(this.now);
      this.server.gate.handleTimeout(this.now);
      this.pump();
    }
    this.now = t;
  }

  dial(): void {
    this.init.connect(this.now);
    this.client.gate.flushIke(this.now);
    this.pump();
    const up = this.client.ipsec.find((e): e is Extract<IpsecGateEvent, { type: 'flow-up' }> => e.type === 'flow-up');
    assert.ok(up, 'flow up');
    const peer = this.client.gate.peerFor(up.via);
    assert.ok(peer);
    this.tunnel = this.client.gate.openTunnel(this.now, peer, defaultTunnelSettings('lac'));
    this.session = this.client.gate.openSession(this.now, this.tunnel, { direction: 'incoming', callingNumber: 'c' });
    this.pump();
  }

  /** One PPP frame of `n` bytes from the client. */
  send(n: number): void {
    assert.ok(this.tunnel !== undefined && this.session !== undefined);
    const t = this.client.gate.sendData(this.now, this.tunnel, this.session, new Uint8Array(n).fill(0x21));
    assert.ok(t?.to.via);
    assert.ok(this.client.gate.sendVia(t));
    this.pump();
  }

  byteEvents(side: Side): Extract<IpsecGateEvent, { type: 'sa-byte-lifetime' }>[] {
    return side.ipsec.filter((e): e is Extract<IpsecGateEvent, { type: 'sa-byte-lifetime' }> => e.type === 'sa-byte-lifetime');
  }
}

test('through the gate: traffic crosses the soft limit -> rekey, data keeps flowing, old SA deleted', () => {
  const w = new GateWorld({ childLifetimeKilobytes: 40 }, {});
  w.dial();
  const sas0 = w.server.gate.flowInfo(w.now)[0]?.sas;
  assert.equal(sas0?.length, 1);
  const firstIn = sas0?.[0]?.inboundSpi;
  // 1,200-byte frames once a second (virtual): soft at 36 KiB = after ~30 frames.
  for (let s = 1; s <= 45; s++) {
    w.runUntil(addDuration(T0, seconds(s)));
    w.send(1200);
  }
  const data = w.server.data;
  assert.equal(data.length, 45, 'every frame arrived, across the rekey');
  const softs = w.byteEvents(w.client).filter((e) => e.level === 'soft');
  assert.ok(softs.length >= 1, 'the client saw its SA reach the soft limit');
  assert.ok(w.client.ipsec.some((e) => e.type === 'sa-switched'), 'client rekeyed and switched');
  assert.ok(w.server.ipsec.some((e) => e.type === 'sa-switched'), 'server switched');
  assert.equal(w.byteEvents(w.client).filter((e) => e.level === 'hard').length, 0, 'rekeyed before the hard limit');
  w.runUntil(addDuration(w.now, seconds(5)));
  const sas = w.server.gate.flowInfo(w.now)[0]?.sas ?? [];
  assert.equal(sas.length, 1, 'old SA deleted after the overlap');
  assert.notEqual(sas[0]?.inboundSpi, firstIn);
  assert.equal(w.server.ipsec.filter((e) => e.type === 'flow-down').length, 0);
});

test('through the gate: no rekey possible -> the hard limit expires the SA and closes the L2TP tunnel', () => {
  // rekeyFraction 1: soft = hard, so the hard event wins and no rekey runs first.
  const w = new GateWorld({ childLifetimeKilobytes: 8, rekeyFraction: 1 }, {});
  w.dial();
  for (let s = 1; s <= 10; s++) {
    w.runUntil(addDuration(T0, seconds(s)));
    if (w.client.gate.flowInfo(w.now).length === 0) break;
    w.send(1000);
  }
  const hard = w.byteEvents(w.client).filter((e) => e.level === 'hard');
  assert.equal(hard.length, 1);
  assert.equal(hard[0]?.direction, 'out');
  const ikeDeleted = (side: Side): Deleted[] =>
    side.ipsec.flatMap((e) => (e.type === 'ike' && e.event.type === 'sa-deleted' && e.event.kind === 'child' ? [e.event] : []));
  assert.deepEqual(ikeDeleted(w.client).map((d) => d.reason), ['expired']);
  // The server's inbound SA counted the same bytes and expired on the same packet (before the
  // client's delete notify arrived, which then finds nothing left to delete).
  assert.deepEqual(ikeDeleted(w.server).map((d) => d.reason), ['expired']);
  assert.equal(w.byteEvents(w.server).filter((e) => e.level === 'hard' && e.direction === 'in').length, 1);
  assert.ok(w.client.ipsec.some((e) => e.type === 'flow-down'));
  assert.ok(w.server.ipsec.some((e) => e.type === 'flow-down'), 'the server closed the flow and its tunnel');
  assert.equal(w.server.gate.flowInfo(w.now).length, 0);
});

