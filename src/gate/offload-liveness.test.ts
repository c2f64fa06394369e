/**
 * DPD and offloaded SAs (RFC 3706 §5.3: traffic is proof of liveness). The server gate hands its SA
 * pair to a fake data plane whose inbound packet counter the test moves, as the addon's counter moves
 * for ESP that never reaches JavaScript. With the client otherwise silent (the wire drops everything
 * after Quick Mode): while the counter grows the server sends no R-U-THERE and never declares the peer
 * dead; once it stops, DPD probes and fails on the RFC schedule. A control without the offload fails
 * after interval + timeout exactly. Virtual clock, raw ESP (no NAT keepalives).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addDuration, instant, millis, seconds, type Instant } from '../base/time.js';
import { seededRandom } from '../base/random.js';
import { L2tpEngine, defaultTunnelSettings } from '../l2tp/index.js';
import { EspSa, IkeInitiator, IkeResponder, type EspCounters, type EspSaParams } from '../ipsec/index.js';
import { IpsecL2tpGate, outerBytes, type EspOffload, type EspSaLike, type OuterPacket } from './index.js';
import { OffloadLiveness } from './offload-liveness.js';

const PSK = new TextEncoder().encode('dpd liveness psk');
const SERVER = '192.0.2.1';
const CLIENT = '198.51.100.9';
const T0 = instant(5_000_000);
const DPD = { interval: seconds(30), timeout: seconds(15) };

/** An inbound SA whose packet counter also counts `native` packets the gate never saw. */
class CountedSa implements EspSaLike {
  native = 0;
  constructor(private readonly sa: EspSa) {}
  get spi(): number {
    return this.sa.spi;
  }
  get encryption(): EspSa['encryption'] {
    return this.sa.encryption;
  }
  get integrity(): EspSa['integrity'] {
    return this.sa.integrity;
  }
  get counters(): EspCounters {
    return { ...this.sa.counters, packetsIn: this.sa.counters.packetsIn + this.native };
  }
  encryptv: EspSa['encryptv'] = (p, n, x) => this.sa.encryptv(p, n, x);
  decrypt: EspSa['decrypt'] = (p) => this.sa.decrypt(p);
  takeLifetimeEvent: EspSa['takeLifetimeEvent'] = () => this.sa.takeLifetimeEvent();
}

/** A data plane that takes every pair and keeps the inbound SA for the test. */
class FakeOffload implements EspOffload {
  inbound: CountedSa | undefined;
  install(_f: unknown, i: EspSaParams, o: EspSaParams): { inbound: EspSaLike; outbound: EspSaLike } {
    this.inbound = new CountedSa(new EspSa(i, seededRandom(21)));
    return { inbound: this.inbound, outbound: new EspSa(o, seededRandom(22)) };
  }
  updateFlow(): void {}
  remove(): void {}
  removeFlow(): void {}
}

/** Client and server gates (IKE only, no L2TP tunnel), with a wire that can go silent. */
class World {
  now: Instant = T0;
  silent = false;
  /** Outer packets the server tried to send while the wire was silent. */
  serverSentSilent = 0;
  readonly client: IpsecL2tpGate;
  readonly server: IpsecL2tpGate;
  readonly init: IkeInitiator;
  readonly wire: { from: 'c' | 's'; p: OuterPacket }[] = [];
  dpdFailedAt: Instant | undefined;

  constructor(offload: EspOffload | undefined) {
    const engine = (role: 'lac' | 'lns', seed: number): L2tpEngine =>
      new L2tpEngine({ acceptTunnels: role === 'lns', accept: defaultTunnelSettings(role), acceptIncomingCalls: true, acceptOutgoingCalls: true }, { random: seededRandom(seed) });
    this.init = new IkeInitiator({ psk: PSK, local: { address: CLIENT, port: 500 }, remote: { address: SERVER, port: 500 } }, seededRandom(4));
    const resp = new IkeResponder({ psk: () => PSK, dpd: DPD }, seededRandom(2));
    this.client = new IpsecL2tpGate({ engine: engine('lac', 3), ike: this.init, random: seededRandom(11) });
    this.server = new IpsecL2tpGate({ engine: engine('lns', 1), ike: resp, random: seededRandom(12) });
    if (offload) this.server.setEspOffload(offload);
  }

  pump(): void {
    for (let i = 0; i < 10_000; i++) {
      for (const [from, g] of [['c', this.client], ['s', this.server]] as const) {
        for (let t = g.pollTransmit(); t; t = g.pollTransmit()) {
          assert.notEqual(t.kind, 'l2tp', 'L2TP in the clear');
          if (t.kind === 'l2tp') continue;
          if (this.silent) {
            if (from === 's') this.serverSentSilent++;
          } else this.wire.push({ from, p: t });
        }
        for (let e = g.pollEvent(); e; e = g.pollEvent()) {
          if (from === 's' && e.type === 'ike' && e.event.type === 'dpd-failed') this.dpdFailedAt ??= this.now;
        }
      }
      const w = this.wire.shift();
      if (!w) return;
      const to = w.from === 'c' ? this.server : this.client;
      if (w.p.kind === 'udp') to.handleUdp(this.now, { local: w.p.remote, remote: w.p.local, data: outerBytes(w.p.data) });
      else to.handleRawEsp(this.now, w.from === 'c' ? CLIENT : SERVER, outerBytes(w.p.data));
    }
    throw new Error('no quiescence');
  }

  /** Run both gates' timers up to `t`, calling `each` at every whole second passed. */
  runUntil(t: Instant, each?: () => void): void {
    this.pump();
    let tick = this.now + 1000;
    for (;;) {
      const due = [this.client.pollAt(), this.server.pollAt(), each ? (tick as Instant) : undefined]
        .filter((x): x is Instant => x !== undefined && x <= t).sort((a, b) => a - b)[0];
      if (due === undefined) break;
      this.now = due > this.now ? due : this.now;
      if (each && this.now >= tick) {
        each();
        tick += 1000;
      }
      this.client.handleTimeout(this.now);
      this.server.handleTimeout(this.now);
      this.pump();
    }
    this.now = t;
  }

  up(): Instant {
    this.init.connect(this.now);
    this.client.flushIke(this.now);
    this.pump();
    assert.equal(this.server.flowInfo(this.now).length, 1, 'child SA up');
    this.silent = true;
    return this.now;
  }
}

test('control: an SA in JS with a silent peer -> DPD declares it dead at interval + timeout', () => {
  const w = new World(undefined);
  const up = w.up();
  w.runUntil(addDuration(up, seconds(120)));
  assert.ok(w.serverSentSilent > 0, 'R-U-THERE sent');
  assert.equal(w.dpdFailedAt, addDuration(up, seconds(45)));
});

test('offloaded SA: a growing data-plane counter keeps DPD quiet; once it stops, DPD probes and fails', () => {
  const off = new FakeOffload();
  const w = new World(off);
  const up = w.up();
  const sa = off.inbound;
  assert.ok(sa, 'the pair was offloaded');
  // 150 s of native-only traffic (10 packets a second): no R-U-THERE, no failure.
  w.runUntil(addDuration(up, seconds(150)), () => {
    sa.native += 10;
  });
  assert.equal(w.serverSentSilent, 0, 'no R-U-THERE to a busy peer');
  assert.equal(w.dpdFailedAt, undefined);
  // The traffic stops at `quiet`: DPD counts from the last read that saw it grow (at most one
  // interval late), probes, and fails a timeout later.
  const quiet = w.now;
  w.runUntil(addDuration(quiet, seconds(120)));
  assert.ok(w.serverSentSilent > 0, 'R-U-THERE sent once the peer is silent');
  const at = w.dpdFailedAt;
  assert.ok(at !== undefined, 'dead peer detected');
  assert.ok(at >= addDuration(quiet, seconds(45)) && at <= addDuration(quiet, seconds(75)), `dead at +${(at - quiet) / 1000} s`);
});

test('OffloadLiveness: growth is reported once per read, reads at most once per gap, removed SAs are not read', () => {
  let n = 0;
  const sa = { get counters(): EspCounters { return { packetsOut: 0, bytesOut: 0, packetsIn: n, bytesIn: 0, replayDrops: 0, authFailures: 0, malformed: 0, padErrors: 0 }; } };
  const l = new OffloadLiveness(millis(1000));
  l.add(7, sa);
  assert.deepEqual(l.scan(T0), [], 'nothing since add');
  n = 3;
  assert.deepEqual(l.scan(addDuration(T0, millis(999))), [], 'within the gap: no read');
  assert.deepEqual(l.scan(addDuration(T0, millis(1000))), [7]);
  assert.deepEqual(l.scan(addDuration(T0, millis(2000))), [], 'no growth');
  n = 4;
  l.remove(7);
  assert.equal(l.size, 0);
  assert.deepEqual(l.scan(addDuration(T0, millis(3000))), []);
});
