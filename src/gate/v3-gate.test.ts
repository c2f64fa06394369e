/**
 * `V3IpsecGate`: our IKEv1 initiator and responder cores over an in-memory wire (virtual clock, raw
 * ESP, no NAT) protecting L2TPv3 datagrams — over UDP (Quick Mode IDs UDP/1701, inner UDP header
 * 1701 -> peer port) and over IP protocol 115 (IDs protocol 115 / port 0, ESP next header 115).
 * Nothing leaves in the clear without an SA; clear input is counted and reported once per peer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addDuration, instant, millis, type Instant } from '../base/time.js';
import { seededRandom } from '../base/random.js';
import { IkeInitiator, IkeResponder, type IkeInitiatorConfig, type IkeResponderConfig } from '../ipsec/index.js';
import { outerBytes, V3IpsecGate, IP_PROTO_L2TPV3, type IpsecGateEvent, type V3Inner } from './index.js';

const PSK = new TextEncoder().encode('v3 gate test psk');
const SITE_A = '198.51.100.1';
const SITE_B = '198.51.100.2';
const T0 = instant(1_000_000);

interface Side {
  readonly gate: V3IpsecGate;
  readonly inner: V3Inner[];
  readonly events: IpsecGateEvent[];
}

/** Site A (initiator) and site B (responder) gates joined by a lossless wire. */
class World {
  now: Instant = T0;
  readonly a: Side;
  readonly b: Side;
  readonly init: IkeInitiator;

  constructor(encapsulation: 'udp' | 'ip', o: { icfg?: Partial<IkeInitiatorConfig>; rcfg?: Partial<IkeResponderConfig> } = {}) {
    this.init = new IkeInitiator(
      { psk: PSK, local: { address: SITE_A, port: 500 }, remote: { address: SITE_B, port: 500 }, selectorProtocol: encapsulation === 'ip' ? 115 : 17, remoteL2tpPort: encapsulation === 'ip' ? 0 : 1701, ...o.icfg },
      seededRandom(4),
    );
    const resp = new IkeResponder({ psk: () => PSK, l2tpIp: encapsulation === 'ip', ...o.rcfg }, seededRandom(2));
    const side = (ike: IkeInitiator | IkeResponder, seed: number): Side => ({ gate: new V3IpsecGate({ ike, random: seededRandom(seed), encapsulation, port: 1701 }), inner: [], events: [] });
    this.a = side(this.init, 11);
    this.b = side(resp, 12);
  }

  /** Deliver everything queued until both sides are quiet (bounded). */
  pump(): void {
    for (let i = 0; i < 1000; i++) {
      let moved = false;
      for (const [from, to, fromAddr] of [[this.a, this.b, SITE_A], [this.b, this.a, SITE_B]] as const) {
        for (let e = from.gate.pollEvent(); e; e = from.gate.pollEvent()) from.events.push(e);
        for (let p = from.gate.pollTransmit(); p; p = from.gate.pollTransmit()) {
          moved = true;
          this.deliver(to, fromAddr, p);
        }
      }
      if (!moved) return;
    }
    throw new Error('the wire never went quiet');
  }

  deliver(to: Side, fromAddr: string, p: NonNullable<ReturnType<V3IpsecGate['pollTransmit']>>): void {
    const r =
      p.kind === 'udp'
        ? to.gate.handleUdp(this.now, { local: p.remote, remote: p.local, data: outerBytes(p.data) })
        : to.gate.handleRawEsp(this.now, fromAddr, outerBytes(p.data));
    if (r !== undefined) to.inner.push(r);
  }

  up(): void {
    this.init.connect(this.now);
    this.a.gate.flushIke(this.now);
    for (let i = 0; i < 20 && !(this.a.gate.hasFlow(SITE_B) && this.b.gate.hasFlow(SITE_A)); i++) {
      this.pump();
      this.now = addDuration(this.now, millis(50));
      this.a.gate.handleTimeout(this.now);
      this.b.gate.handleTimeout(this.now);
    }
    this.pump();
  }
}

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
/** An L2TPv3 data header stand-in (UDP form, §4.1.2.1: T=0, Ver 3, reserved, Session ID). */
const DATAGRAM = bytes(0x00, 0x03, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0xaa, 0xbb);

test('L2TPv3 over UDP in ESP: the pseudowire port inside, the peer learned as outer address + inner source port', () => {
  const w = new World('udp');
  w.up();
  assert.ok(w.a.gate.hasFlow(SITE_B) && w.b.gate.hasFlow(SITE_A), 'IKE SA and child SA up on both sides');
  assert.ok(w.a.events.some((e) => e.type === 'flow-up') && w.b.events.some((e) => e.type === 'flow-up'));
  const up = w.b.events.find((e) => e.type === 'ike' && e.event.type === 'child-sa-up');
  assert.ok(up?.type === 'ike' && up.event.type === 'child-sa-up');
  assert.deepEqual([up.event.remoteSelector.protocol, up.event.localSelector.protocol, up.event.localSelector.port], [17, 17, 1701]);
  const p = w.a.gate.seal({ address: SITE_B, port: 1701, family: 4 }, DATAGRAM);
  assert.ok(p !== undefined && p.kind === 'esp', 'raw ESP without a NAT');
  w.deliver(w.b, SITE_A, p);
  assert.deepEqual(w.b.inner.map((x) => ({ from: x.from, data: Uint8Array.from(x.data) })), [{ from: { address: SITE_A, port: 1701, family: 4 }, data: DATAGRAM }]);
  const back = w.b.gate.seal({ address: SITE_A, port: 1701, family: 4 }, DATAGRAM.subarray(0, 8));
  assert.ok(back !== undefined);
  w.deliver(w.a, SITE_B, back);
  assert.deepEqual(w.a.inner.map((x) => [x.from.address, x.from.port, x.data.length]), [[SITE_B, 1701, 8]]);
  const info = w.b.gate.flowInfo(w.now);
  assert.equal(info.length, 1);
  assert.deepEqual([info[0]?.packetsIn, info[0]?.packetsOut, info[0]?.encapsulation], [1, 1, 'transport']);
});

test('L2TPv3 over IP protocol 115 in ESP: IDs protocol 115 / port 0, next header 115, peer port 0', () => {
  const w = new World('ip');
  w.up();
  const up = w.b.events.find((e) => e.type === 'ike' && e.event.type === 'child-sa-up');
  assert.ok(up?.type === 'ike' && up.event.type === 'child-sa-up');
  assert.deepEqual([up.event.remoteSelector.protocol, up.event.remoteSelector.port, up.event.localSelector.protocol, up.event.localSelector.port], [IP_PROTO_L2TPV3, 0, IP_PROTO_L2TPV3, 0]);
  const ctl = bytes(0, 0, 0, 0, 0xc8, 0x03, 0x00, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0);
  const p = w.a.gate.seal({ address: SITE_B, port: 0, family: 4 }, ctl);
  assert.ok(p !== undefined);
  w.deliver(w.b, SITE_A, p);
  assert.deepEqual(w.b.inner.map((x) => ({ from: x.from, data: Uint8Array.from(x.data) })), [{ from: { address: SITE_A, port: 0, family: 4 }, data: ctl }]);
});

test('a responder without l2tpIp refuses protocol-115 selectors: no child SA, nothing sealed', () => {
  const w = new World('ip', { rcfg: { l2tpIp: false } });
  w.up();
  assert.equal(w.b.gate.hasFlow(SITE_A), false);
  assert.equal(w.a.gate.hasFlow(SITE_B), false);
  assert.equal(w.a.gate.seal({ address: SITE_B, port: 0, family: 4 }, DATAGRAM), undefined);
  assert.equal(w.a.gate.counters.txNoFlow, 1);
});

test('a wrong PSK: no SA, the responder reports auth-failed, nothing is ever sealed', () => {
  const w = new World('udp', { rcfg: { psk: () => new TextEncoder().encode('another key') } });
  w.up();
  assert.equal(w.b.gate.hasFlow(SITE_A), false);
  assert.ok(w.b.events.some((e) => e.type === 'ike' && e.event.type === 'exchange-failed' && e.event.reason === 'auth-failed'), JSON.stringify(w.b.events.map((e) => e.type)));
  assert.equal(w.a.gate.seal({ address: SITE_B, port: 1701, family: 4 }, DATAGRAM), undefined);
});

test('inside ESP only our encapsulation and port count; tampered ESP and unknown SPIs are dropped; clear input is refused once per peer', () => {
  const w = new World('udp');
  w.up();
  const wrongPort = w.a.gate.seal({ address: SITE_B, port: 1701, family: 4 }, DATAGRAM);
  assert.ok(wrongPort !== undefined);
  // A gate without the SA (another responder on port 1702) cannot open it.
  const b2 = new V3IpsecGate({ ike: new IkeResponder({ psk: () => PSK }, seededRandom(9)), random: seededRandom(9), encapsulation: 'udp', port: 1702 });
  assert.equal(b2.handleRawEsp(w.now, SITE_A, outerBytes(wrongPort.data)), undefined);
  assert.equal(b2.counters.espUnknownSpi, 1, 'no SA in that gate');
  const good = w.a.gate.seal({ address: SITE_B, port: 1701, family: 4 }, DATAGRAM);
  assert.ok(good !== undefined);
  const t = Uint8Array.from(outerBytes(good.data));
  t[t.length - 1] = (t[t.length - 1] ?? 0) ^ 1;
  assert.equal(w.b.gate.handleRawEsp(w.now, SITE_A, t), undefined);
  assert.equal(w.b.gate.counters.espDropped, 1, 'ICV mismatch');
  assert.equal(w.b.gate.handleRawEsp(w.now, '203.0.113.9', outerBytes(good.data)), undefined, 'right SPI from another address');
  assert.equal(w.b.gate.counters.espUnknownSpi, 1);
  const otherPort = w.a.gate.seal({ address: SITE_B, port: 1999, family: 4 }, DATAGRAM);
  assert.ok(otherPort !== undefined);
  assert.equal(w.b.gate.handleRawEsp(w.now, SITE_A, outerBytes(otherPort.data)), undefined, 'UDP to another port than the pseudowire port');
  assert.equal(w.b.gate.counters.innerNotL2tp, 1);
  for (let i = 0; i < 3; i++) w.b.gate.refuseClear({ address: '203.0.113.9', port: 1701, family: 4 });
  w.pump();
  assert.equal(w.b.gate.counters.clearRefused, 3);
  assert.equal(w.b.events.filter((e) => e.type === 'clear-l2tp-refused').length, 1, 'reported once per peer');
});
