import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IkeInitiator, type IkeInitiatorConfig } from './ike-initiator.js';
import { IkeResponder, type IkeResponderConfig } from './ike-responder.js';
import type { IkeDatagram, IkeEvent } from './ike-types.js';
import { EspSa } from './esp.js';
import { addDuration, instant, millis, seconds, type Instant } from '../base/time.js';
import { seededRandom } from '../base/random.js';
import type { Endpoint } from './addr.js';
import { drain } from '../../test/lib/drain.js';

const PSK = new TextEncoder().encode('l2tpkit initiator psk');
const SERVER = '192.0.2.1';
const T0 = instant(5_000_000);

type ChildUp = Extract<IkeEvent, { type: 'child-sa-up' }>;

/**
 * Initiator and responder over an in-memory path with an optional NAPT in front of the initiator
 * (private 198.18.0.2 -> public 203.0.113.5, port p -> 40000 + p). `drop` filters datagrams.
 */
class Net {
  readonly init: IkeInitiator;
  readonly resp: IkeResponder;
  readonly iev: IkeEvent[] = [];
  readonly rev: IkeEvent[] = [];
  readonly log: { dir: 'i2r' | 'r2i'; d: IkeDatagram }[] = [];
  drop: (dir: 'i2r' | 'r2i', d: IkeDatagram) => boolean = () => false;
  now: Instant = T0;

  constructor(readonly nat: boolean, icfg: Partial<IkeInitiatorConfig> = {}, rcfg: Partial<IkeResponderConfig> = {}, seed = 1) {
    const local = nat ? { address: '198.18.0.2', port: 500 } : { address: '198.51.100.7', port: 500 };
    this.init = new IkeInitiator({ psk: PSK, local, remote: { address: SERVER, port: 500 }, ...icfg }, seededRandom(seed));
    this.resp = new IkeResponder({ psk: () => PSK, ...rcfg }, seededRandom(seed + 1000));
  }

  private outward(ep: Endpoint): Endpoint {
    return this.nat ? { address: '203.0.113.5', port: 40000 + ep.port } : ep;
  }

  private inward(ep: Endpoint): Endpoint {
    return this.nat ? { address: '198.18.0.2', port: ep.port - 40000 } : ep;
  }

  /** Move datagrams until both sides are quiet. */
  pump(): void {
    for (let i = 0; i < 50; i++) {
      const a = drain(() => this.init.pollTransmit());
      const b = drain(() => this.resp.pollTransmit());
      this.iev.push(...drain(() => this.init.pollEvent()));
      this.rev.push(...drain(() => this.resp.pollEvent()));
      if (a.length === 0 && b.length === 0) return;
      for (const d of a) {
        this.log.push({ dir: 'i2r', d });
        if (this.drop('i2r', d)) continue;
        this.resp.handle(this.now, { local: d.remote, remote: this.outward(d.local), data: d.data });
      }
      for (const d of b) {
        this.log.push({ dir: 'r2i', d });
        if (this.drop('r2i', d)) continue;
        this.init.handle(this.now, { local: this.inward(d.remote), remote: d.local, data: d.data });
      }
    }
    throw new Error('no quiescence');
  }

  /** Advance the clock to `t`, firing both sides' timers in order. */
  advance(t: Instant): void {
    for (;;) {
      const next = [this.init.pollAt(), this.resp.pollAt()].filter((x): x is Instant => x !== undefined && x <= t).sort((x, y) => x - y)[0];
      if (next === undefined) break;
      this.now = next;
      this.init.handleTimeout(next);
      this.resp.handleTimeout(next);
      this.pump();
    }
    this.now = t;
  }

  ups(side: 'i' | 'r'): ChildUp[] {
    return (side === 'i' ? this.iev : this.rev).filter((e): e is ChildUp => e.type === 'child-sa-up');
  }
}

/** Both sides' child SA keys are crossed copies and ESP works both ways. */
function checkEsp(net: Net, i: ChildUp, r: ChildUp): void {
  assert.deepEqual(i.inbound, r.outbound);
  assert.deepEqual(i.outbound, r.inbound);
  const rnd = seededRandom(3);
  const iOut = new EspSa(i.outbound, rnd);
  const rIn = new EspSa(r.inbound, rnd);
  const rOut = new EspSa(r.outbound, rnd);
  const iIn = new EspSa(i.inbound, rnd);
  const msg = new TextEncoder().encode('\x06\xa5\x06\xa5 l2tp');
  for (const [enc, dec] of [[iOut, rIn], [rOut, iIn]] as const) {
    const c = enc.encrypt(msg);
    assert.ok(c.ok);
    const p = c.ok ? dec.decrypt(c.value) : undefined;
    assert.ok(p?.ok);
    if (p?.ok) assert.deepEqual(Buffer.from(p.value.payload), Buffer.from(msg));
  }
  void net;
}

test('Main Mode + Quick Mode without NAT: transport mode, identical keys, ESP both ways', () => {
  const net = new Net(false);
  net.init.connect(net.now);
  net.pump();
  assert.equal(net.init.state, 'established');
  const [i] = net.ups('i');
  const [r] = net.ups('r');
  assert.ok(i && r);
  assert.equal(i.encapsulation, 'transport');
  assert.equal(r.encapsulation, 'transport');
  assert.deepEqual(net.init.endpoints.remote, { address: SERVER, port: 500 }, 'no float without NAT');
  const iUp = net.iev.find((e) => e.type === 'ike-sa-up');
  assert.ok(iUp && iUp.type === 'ike-sa-up');
  assert.deepEqual(iUp.natT, { variant: 'rfc3947', localBehindNat: false, remoteBehindNat: false });
  // MM1, MM3, MM5, QM1, QM3 from us; MM2, MM4, MM6, QM2 from the server: nothing else.
  assert.deepEqual(net.log.map((x) => x.dir).join(','), 'i2r,r2i,i2r,r2i,i2r,r2i,i2r,r2i,i2r');
  checkEsp(net, i, r);
});

test('behind a NAPT: NAT-D finds it, both float to 4500, UDP-encapsulated transport, NAT-OA', () => {
  const net = new Net(true);
  net.init.connect(net.now);
  net.pump();
  const [i] = net.ups('i');
  const [r] = net.ups('r');
  assert.ok(i && r);
  assert.equal(i.encapsulation, 'udp-transport');
  assert.equal(r.encapsulation, 'udp-transport');
  assert.deepEqual(r.remote, { address: '203.0.113.5', port: 44500 }, 'the server sees the mapped NAT-T port');
  assert.deepEqual(i.local, { address: '198.18.0.2', port: 4500 });
  assert.equal(r.natOa.initiator, '198.18.0.2', 'NAT-OAi carries our private address');
  const up = net.iev.find((e) => e.type === 'ike-sa-up');
  assert.ok(up && up.type === 'ike-sa-up' && up.natT.localBehindNat && !up.natT.remoteBehindNat);
  // From MM5 on every IKE message travels on 4500 with the non-ESP marker.
  const late = net.log.slice(4);
  assert.ok(late.every((x) => x.d.local.port === 4500 && x.d.data.subarray(0, 4).every((b) => b === 0)));
  checkEsp(net, i, r);
  // NAT keepalive after 20 s idle, one 0xFF byte from 4500.
  net.advance(addDuration(net.now, seconds(20)));
  assert.ok(net.log.some((x) => x.dir === 'i2r' && x.d.data.length === 1 && x.d.data[0] === 0xff && x.d.local.port === 4500));
});

test('forceEncapsulation without a NAT still gets ESP in UDP 4500', () => {
  const net = new Net(false, { forceEncapsulation: true });
  net.init.connect(net.now);
  net.pump();
  const [i] = net.ups('i');
  const [r] = net.ups('r');
  assert.ok(i && r);
  assert.equal(r.encapsulation, 'udp-transport');
  assert.deepEqual(r.remote, { address: '198.51.100.7', port: 4500 });
  checkEsp(net, i, r);
});

test('every offered transform suite is accepted by our responder (phase 1 and ESP)', () => {
  const p1 = [
    { encryption: 'aes128', hash: 'sha1', group: 2 },
    { encryption: '3des', hash: 'sha256', group: 14 },
    { encryption: 'aes256', hash: 'sha384', group: 19 },
  ] as const;
  const p2 = [{ encryption: 'aes128-gcm16' }, { encryption: '3des-cbc', integrity: 'hmac-sha256-128' }, { encryption: 'aes256-cbc', integrity: 'hmac-sha512-256' }] as const;
  let seed = 10;
  for (const a of p1) {
    for (const b of p2) {
      const net = new Net(seed % 2 === 0, { proposals: { phase1: [a], phase2: [b] }, pfsGroup: seed % 3 === 0 ? 14 : undefined } as Partial<IkeInitiatorConfig>, {}, seed++);
      net.init.connect(net.now);
      net.pump();
      const [i] = net.ups('i');
      const [r] = net.ups('r');
      assert.ok(i && r, `${a.encryption}/${a.hash}/${a.group} + ${b.encryption}`);
      checkEsp(net, i, r);
    }
  }
});

test('lost messages: MM3 and QM1 are retransmitted after 2 s; a repeated QM2 gets QM3 again', () => {
  const net = new Net(false);
  const seen = { mm3: 0, qm1: 0 };
  net.drop = (dir, d) => {
    // Drop our first MM3 (first payload KE) and our first QM1 (exchange type 32, first payload HASH then SA).
    if (dir !== 'i2r') return false;
    if (d.data[18] === 2 && d.data[16] === 4) return seen.mm3++ === 0;
    if (d.data[18] === 32 && d.data.length > 100) return seen.qm1++ === 0;
    return false;
  };
  net.init.connect(net.now);
  net.pump();
  assert.equal(net.init.state, 'mm-i2-sent');
  assert.equal(net.init.pollAt(), addDuration(T0, millis(2000)), 'no retransmit before 2 s');
  net.advance(addDuration(T0, millis(1999)));
  assert.equal(net.init.state, 'mm-i2-sent');
  net.advance(addDuration(T0, millis(2000)));
  assert.equal(net.init.state, 'established');
  assert.equal(net.ups('r').length, 0, 'QM1 lost');
  net.advance(addDuration(T0, millis(4000)));
  assert.equal(net.ups('r').length, 1);
  assert.equal(net.ups('i').length, 1);
  // Drop QM3 on its way: the responder retransmits QM2; we answer with QM3 again.
  const net2 = new Net(false, {}, {}, 9);
  let qm3 = 0;
  net2.drop = (dir, d) => dir === 'i2r' && d.data[18] === 32 && d.data.length < 100 && qm3++ === 0;
  net2.init.connect(net2.now);
  net2.pump();
  assert.equal(net2.ups('i').length, 1);
  assert.equal(net2.ups('r').length, 0);
  net2.advance(addDuration(T0, millis(2000)));
  assert.equal(net2.ups('r').length, 1);
  checkEsp(net2, net2.ups('i')[0] as ChildUp, net2.ups('r')[0] as ChildUp);
});

test('wrong PSK: the responder refuses MM5; we retransmit and give up with half-open-timeout', () => {
  const net = new Net(false, {}, { psk: () => new TextEncoder().encode('another key') });
  net.init.connect(net.now);
  net.pump();
  assert.ok(net.rev.some((e) => e.type === 'exchange-failed' && e.reason === 'auth-failed'));
  net.advance(addDuration(T0, seconds(200)));
  assert.equal(net.init.state, 'deleted');
  assert.ok(net.iev.some((e) => e.type === 'exchange-failed' && e.reason === 'timeout'));
  assert.ok(net.iev.some((e) => e.type === 'sa-deleted' && e.kind === 'ike' && e.reason === 'half-open-timeout'));
  assert.equal(net.init.pollAt(), undefined);
});

test('rekey: a new child at 90 % of the lifetime on both sides, the old one deleted 2 s later', () => {
  const net = new Net(true, { childLifetimeSeconds: 100 });
  net.init.connect(net.now);
  net.pump();
  const [i1] = net.ups('i');
  assert.ok(i1);
  net.advance(addDuration(T0, millis(89_999)));
  assert.equal(net.ups('i').length, 1);
  net.advance(addDuration(T0, seconds(90)));
  assert.equal(net.ups('i').length, 2);
  assert.equal(net.ups('r').length, 2);
  const [, i2] = net.ups('i');
  const [, r2] = net.ups('r');
  assert.ok(i2 && r2);
  assert.notEqual(i2.inbound.spi, i1.inbound.spi);
  checkEsp(net, i2, r2);
  assert.equal(net.rev.filter((e) => e.type === 'sa-deleted').length, 0, 'old child still there during the overlap');
  net.advance(addDuration(T0, seconds(92)));
  const del = net.rev.filter((e) => e.type === 'sa-deleted');
  assert.deepEqual(del.map((e) => e.type === 'sa-deleted' && [e.kind, e.outboundSpi, e.reason]), [['child', i1.inbound.spi, 'peer-delete']]);
  assert.deepEqual(net.init.childSpis.map((c) => c.inbound), [i2.inbound.spi]);
});

test('DPD: we answer the server\'s R-U-THERE; our own probes find a dead server', () => {
  const net = new Net(false, { dpd: { interval: seconds(30), timeout: seconds(10) } }, { dpd: { interval: seconds(15), timeout: seconds(10) } });
  net.init.connect(net.now);
  net.pump();
  net.advance(addDuration(T0, seconds(16)));
  assert.ok(!net.rev.some((e) => e.type === 'dpd-failed'), 'ACK kept the server happy');
  // Server goes silent: nothing from it reaches us any more.
  net.drop = (dir) => dir === 'r2i';
  net.advance(addDuration(T0, seconds(120)));
  assert.ok(net.iev.some((e) => e.type === 'dpd-failed'));
  assert.equal(net.init.state, 'deleted');
  assert.ok(net.iev.some((e) => e.type === 'sa-deleted' && e.kind === 'child' && e.reason === 'ike-sa-gone'));
});

test('close: D(ESP) and D(ISAKMP) reach the server; a server delete ends our side', () => {
  const net = new Net(true);
  net.init.connect(net.now);
  net.pump();
  net.init.close(net.now);
  net.pump();
  assert.ok(net.rev.some((e) => e.type === 'sa-deleted' && e.kind === 'ike' && e.reason === 'peer-delete'));
  assert.ok(net.iev.some((e) => e.type === 'sa-deleted' && e.kind === 'ike' && e.reason === 'local'));
  const net2 = new Net(false, {}, {}, 4);
  net2.init.connect(net2.now);
  net2.pump();
  const up = net2.rev.find((e) => e.type === 'ike-sa-up');
  assert.ok(up && up.type === 'ike-sa-up');
  net2.resp.deleteIkeSa(net2.now, up.ikeSaId);
  net2.pump();
  assert.equal(net2.init.state, 'deleted');
  assert.deepEqual(net2.iev.filter((e) => e.type === 'sa-deleted').map((e) => e.type === 'sa-deleted' && `${e.kind}:${e.reason}`), ['child:peer-delete', 'ike:peer-delete']);
  // And we can connect again.
  net2.init.connect(net2.now);
  net2.pump();
  assert.equal(net2.init.state, 'established');
});
