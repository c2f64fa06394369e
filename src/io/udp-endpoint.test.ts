import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { instant, type Instant } from '../base/time.js';
import type { L2tpEngineApi, L2tpEvent, PeerAddress, Transmit } from '../l2tp/api.js';
import type { TunnelId } from '../wire/l2tp/types.js';
import { systemClock } from './clock.js';
import { TimerDriver } from './timer-driver.js';
import { UdpEndpoint } from './udp-endpoint.js';

/** Echoes every datagram back to its sender (uppercased first byte), one event per datagram; a timer 20 ms later. */
class EchoEngine implements L2tpEngineApi {
  readonly tx: Transmit[] = [];
  readonly ev: L2tpEvent[] = [];
  timeouts = 0;
  deadline: Instant | undefined;
  throwOn: number | undefined;
  handleDatagram(now: Instant, data: Uint8Array, from: PeerAddress): void {
    if (data[0] === this.throwOn) throw new Error('engine bug');
    this.tx.push({ to: from, data: Uint8Array.from(data, (b, i) => (i === 0 ? b ^ 0x20 : b)) });
    this.ev.push({ type: 'bad-datagram', peer: from, detail: `len ${data.length}` });
    this.deadline = instant(now + 20);
  }
  handleTimeout(now: Instant): void {
    if (this.deadline !== undefined && now >= this.deadline) {
      this.deadline = undefined;
      this.timeouts++;
    }
  }
  pollAt(): Instant | undefined {
    return this.deadline;
  }
  pollTransmit(): Transmit | undefined {
    return this.tx.shift();
  }
  pollEvent(): L2tpEvent | undefined {
    return this.ev.shift();
  }
  openTunnel(): TunnelId {
    return 1 as TunnelId;
  }
  openSession(): undefined {
    return undefined;
  }
  closeSession(): void {}
  closeTunnel(): void {}
  sendData(): undefined {
    return undefined;
  }
  bindSession(): boolean {
    return false;
  }
  tunnels(): [] {
    return [];
  }
  countStates(): void {
    // no tunnels
  }
}

test('datagrams reach the engine; transmits go back to the sender port; events and timer flow', async () => {
  const engine = new EchoEngine();
  const timers = new TimerDriver({ now: systemClock.now });
  const events: L2tpEvent[] = [];
  const ep = await UdpEndpoint.open({ engine, address: '127.0.0.1', port: 0, clock: systemClock, timers, onEvent: (e) => events.push(e) });
  assert.ok(ep.local.port > 0);
  assert.equal(ep.family, 4);
  const client = createSocket('udp4');
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
  const got = once(client, 'message') as Promise<[Buffer]>;
  client.send(Buffer.from('hello'), ep.local.port, '127.0.0.1');
  const [reply] = await got;
  assert.equal(reply.toString(), 'Hello');
  assert.equal(events.length, 1);
  const e0 = events[0];
  assert.ok(e0 !== undefined && e0.type === 'bad-datagram');
  assert.equal(e0.peer.port, client.address().port);
  assert.ok(timers.armedAt !== undefined);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(engine.timeouts, 1);
  assert.equal(timers.armedAt, undefined);
  client.close();
  await ep.close();
  timers.close();
});

test('an engine exception and a send error are reported, not thrown; the socket keeps working', async () => {
  const engine = new EchoEngine();
  engine.throwOn = 0x21;
  const timers = new TimerDriver({ now: systemClock.now });
  const errors: Error[] = [];
  const ep = await UdpEndpoint.open({ engine, address: '127.0.0.1', port: 0, clock: systemClock, timers, onEvent: () => {}, onError: (e) => errors.push(e) });
  ep.send({ to: { address: '::1', port: 9, family: 6 }, data: new Uint8Array(4) });
  const client = createSocket('udp4');
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
  const got = once(client, 'message') as Promise<[Buffer]>;
  client.send(Buffer.from('!bad'), ep.local.port, '127.0.0.1');
  client.send(Buffer.from('ok'), ep.local.port, '127.0.0.1');
  const [reply] = await got;
  assert.equal(reply.toString(), 'Ok');
  assert.ok(errors.some((e) => e.message === 'engine bug'));
  assert.ok(ep.stats.sendErrors >= 1);
  assert.equal(ep.stats.engineErrors, 1);
  client.close();
  await ep.close();
  timers.close();
});

test('draining is bounded per turn and resumes on the next turn', async () => {
  const engine = new EchoEngine();
  const timers = new TimerDriver({ now: systemClock.now });
  let n = 0;
  const ep = await UdpEndpoint.open({ engine, address: '127.0.0.1', port: 0, clock: systemClock, timers, maxDrain: 10, onEvent: () => n++ });
  for (let i = 0; i < 35; i++) engine.ev.push({ type: 'keepalive-expired', tunnel: 1 as TunnelId });
  ep.drain();
  assert.equal(n, 10);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.equal(n, 35);
  await ep.close();
  timers.close();
});

test('open rejects a non-IP address and a port in use', async () => {
  const timers = new TimerDriver({ now: systemClock.now });
  await assert.rejects(UdpEndpoint.open({ engine: new EchoEngine(), address: 'localhost', clock: systemClock, timers, onEvent: () => {} }));
  const a = await UdpEndpoint.open({ engine: new EchoEngine(), address: '127.0.0.1', port: 0, clock: systemClock, timers, onEvent: () => {} });
  await assert.rejects(UdpEndpoint.open({ engine: new EchoEngine(), address: '127.0.0.1', port: a.local.port, clock: systemClock, timers, onEvent: () => {} }));
  await a.close();
  timers.close();
});

test('udp6 endpoint on ::1 answers the peer port', async (t) => {
  const timers = new TimerDriver({ now: systemClock.now });
  let ep: UdpEndpoint;
  try {
    ep = await UdpEndpoint.open({ engine: new EchoEngine(), address: '::1', port: 0, clock: systemClock, timers, onEvent: () => {} });
  } catch {
    timers.close();
    t.skip('no IPv6 loopback here');
    return;
  }
  assert.equal(ep.family, 6);
  assert.equal(ep.label, `[::1]:${ep.local.port}`);
  const client = createSocket('udp6');
  await new Promise<void>((r) => client.bind(0, '::1', r));
  const got = once(client, 'message') as Promise<[Buffer]>;
  client.send(Buffer.from('v6'), ep.local.port, '::1');
  const [reply] = await got;
  assert.equal(reply.toString(), 'V6');
  client.close();
  await ep.close();
  timers.close();
});

test('setBuffers sizes the socket and bufferSizes reads it back, for node:dgram and the native socket', async (t) => {
  const timers = new TimerDriver(systemClock);
  for (const kind of ['dgram', 'native'] as const) {
    let ep: UdpEndpoint;
    try {
      ep = await UdpEndpoint.open({ address: '127.0.0.1', port: 0, engine: new EchoEngine(), timers, clock: systemClock, onEvent: () => {}, socket: kind });
    } catch (e) {
      if (kind === 'native') {
        t.diagnostic(`SKIP native socket: ${e instanceof Error ? e.message : String(e)}`);
        continue;
      }
      throw e;
    }
    const small = ep.setBuffers(256 * 1024, 256 * 1024);
    assert.equal(small.error, undefined, kind);
    // Linux reports twice what it keeps (bookkeeping), so at least what was asked below rmem_max.
    assert.ok(small.receive >= 256 * 1024 && small.send >= 256 * 1024, `${kind}: ${small.receive} / ${small.send}`);
    assert.deepEqual(ep.bufferSizes(), { receive: small.receive, send: small.send }, kind);
    const before = ep.bufferSizes().receive;
    const bigger = ep.setBuffers(1024 * 1024, 0);
    assert.ok(bigger.receive >= before, `${kind}: ${bigger.receive} >= ${before}`);
    await ep.close();
    assert.deepEqual(ep.bufferSizes(), { receive: 0, send: 0 }, kind);
  }
  timers.close();
});
