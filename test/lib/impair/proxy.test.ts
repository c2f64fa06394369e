/**
 * The impairment proxy on real loopback sockets: a client socket -> proxy -> an echo server, each
 * impairment measured against its configuration, per direction, and seeded determinism (one seed
 * and one arrival order give one set of decisions).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { UdpImpairProxy, type ImpairProxyOptions } from './proxy.js';

const LO = '127.0.0.1';

async function udp(onMessage?: (m: Buffer, s: Socket, from: { address: string; port: number }) => void): Promise<Socket> {
  const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  if (onMessage) s.on('message', (m, r) => onMessage(m, s, r));
  await new Promise<void>((r) => s.bind(0, LO, () => r()));
  return s;
}
const close = (s: Socket): Promise<void> => new Promise((r) => s.close(() => r()));

/** Send `n` numbered datagrams (with the send time) through a proxy; collect what comes back. */
async function exchange(opts: Omit<ImpairProxyOptions, 'listen' | 'target'>, n: number, echo: boolean): Promise<{ atServer: number[]; atClient: number[]; lagMs: number[]; proxy: ReturnType<UdpImpairProxy['counters']> }> {
  const atServer: number[] = [];
  const server = await udp((m, s, from) => {
    atServer.push(m.readUInt32BE(0));
    if (echo) s.send(m, from.port, from.address);
  });
  const proxy = await UdpImpairProxy.open({ ...opts, listen: { address: LO, port: 0 }, target: { address: LO, port: server.address().port } });
  const atClient: number[] = [];
  const lagMs: number[] = [];
  const client = await udp((m) => {
    atClient.push(m.readUInt32BE(0));
    lagMs.push(performance.now() - m.readDoubleBE(4));
  });
  for (let i = 0; i < n; i++) {
    const b = Buffer.alloc(12);
    b.writeUInt32BE(i, 0);
    b.writeDoubleBE(performance.now(), 4);
    client.send(b, proxy.address.port, LO);
    if (i % 50 === 49) await sleep(2); // pace: keep every socket buffer far from full
  }
  const until = performance.now() + 3000;
  let last = -1;
  // Wait until nothing has arrived for 300 ms (bounded).
  while (performance.now() < until) {
    await sleep(300);
    const now = atServer.length + atClient.length;
    if (now === last) break;
    last = now;
  }
  const counters = proxy.counters();
  await Promise.all([proxy.close(), close(server), close(client)]);
  return { atServer, atClient, lagMs, proxy: counters };
}

const within = (x: number, want: number, n: number, p: number): boolean => Math.abs(x - want) <= 4 * Math.sqrt(n * p * (1 - p)) + 2;

test('loss per direction: 20 % up, 10 % down, measured at the server and the client', async () => {
  const n = 3000;
  const r = await exchange({ seed: 1, up: { loss: 0.2 }, down: { loss: 0.1 } }, n, true);
  assert.equal(r.proxy.up.received, n);
  assert.equal(r.atServer.length, n - r.proxy.up.lost, 'every datagram the proxy kept reached the server');
  assert.ok(within(r.proxy.up.lost, 0.2 * n, n, 0.2), `up lost ${r.proxy.up.lost}`);
  const back = r.atServer.length;
  assert.equal(r.proxy.down.received, back);
  assert.equal(r.atClient.length, back - r.proxy.down.lost);
  assert.ok(within(r.proxy.down.lost, 0.1 * back, back, 0.1), `down lost ${r.proxy.down.lost}`);
});

test('duplication and reordering on real sockets, counted and observed', async () => {
  const n = 2000;
  const r = await exchange({ seed: 2, up: { duplicate: 0.1, reorder: 0.1, reorderMs: 15 } }, n, false);
  assert.equal(r.atServer.length, n + r.proxy.up.duplicated);
  assert.ok(within(r.proxy.up.duplicated, 0.1 * n, n, 0.1), `duplicated ${r.proxy.up.duplicated}`);
  assert.ok(within(r.proxy.up.reordered, 0.1 * n, n, 0.1), `reordered ${r.proxy.up.reordered}`);
  let late = 0;
  let max = -1;
  for (const id of r.atServer) {
    if (id < max) late++;
    max = Math.max(max, id);
  }
  // Datagrams go out 25 per ms or so: a 15 ms hold is overtaken almost always.
  assert.ok(late >= r.proxy.up.reordered * 0.8 && late <= r.proxy.up.reordered + r.proxy.up.duplicated, `late ${late}, reordered ${r.proxy.up.reordered}`);
});

test('delay: the round trip through a 25 ms + 25 ms proxy takes at least 50 ms', async () => {
  const r = await exchange({ seed: 3, up: { delayMs: 25 }, down: { delayMs: 25 } }, 200, true);
  assert.equal(r.atClient.length, 200);
  const min = Math.min(...r.lagMs);
  assert.ok(min >= 49, `min round trip ${min.toFixed(1)} ms`);
  const sorted = [...r.lagMs].sort((a, b) => a - b);
  assert.ok((sorted[100] ?? 0) < 150, `median ${sorted[100]} ms`);
});

test('seeded determinism on real sockets: same seed, same datagrams lost; other seed, others', async () => {
  const cfg = { up: { loss: 0.3 } };
  const a = await exchange({ seed: 77, ...cfg }, 500, false);
  const b = await exchange({ seed: 77, ...cfg }, 500, false);
  const c = await exchange({ seed: 78, ...cfg }, 500, false);
  assert.deepStrictEqual(a.atServer, b.atServer);
  assert.notDeepStrictEqual(a.atServer, c.atServer);
});

test('blackout: nothing crosses during the window, both directions; traffic resumes after it', async () => {
  let echoed = 0;
  const server = await udp((m, s, from) => {
    echoed++;
    s.send(m, from.port, from.address);
  });
  const proxy = await UdpImpairProxy.open({ seed: 4, listen: { address: LO, port: 0 }, target: { address: LO, port: server.address().port } });
  let got = 0;
  const client = await udp(() => got++);
  const ping = async (k: number): Promise<void> => {
    for (let i = 0; i < k; i++) client.send(Buffer.alloc(12), proxy.address.port, LO);
    await sleep(100);
  };
  await ping(10);
  assert.equal(got, 10);
  proxy.blackout(300);
  await ping(10);
  assert.equal(got, 10, 'nothing through during the blackout');
  assert.equal(echoed, 10);
  await sleep(300);
  await ping(10);
  assert.equal(got, 20);
  assert.equal(proxy.counters().up.blackedOut, 10);
  await Promise.all([proxy.close(), close(server), close(client)]);
});
