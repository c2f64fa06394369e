/**
 * The RADIUS shells on loopback sockets: the client shell against a scripted UDP server (auth with
 * the promise API, accounting through the durable spool, replay by a second shell after "restart"),
 * and the DAE socket answering a Disconnect-Request. Real sockets and timers, no namespaces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RadiusClient } from '../aaa/radius/client.js';
import { DaeServer } from '../aaa/radius/dae.js';
import { answer, seeRequest } from '../../test/lib/radius-client.js';
import { RADIUS_ATTR, RADIUS_CODE, encodeAttribute, encodeSignedPacket, parseRadiusPacket } from '../wire/radius/index.js';
import { systemClock } from './clock.js';
import { cryptoRandom } from './random.js';
import { RadiusClientShell } from './radius-client-socket.js';
import { DaeSocket } from './radius-dae-socket.js';
import { RadiusSpool } from './radius-spool.js';
import { TimerDriver } from './timer-driver.js';

const SECRET = 'loop-secret';
const secret = new TextEncoder().encode(SECRET);

/** A UDP RADIUS server on 127.0.0.1 answering Accept / Accounting-Response while `up`. */
async function fakeServer(): Promise<{ sock: Socket; port: number; seen: number; up: boolean; close: () => Promise<void> }> {
  const sock = createSocket('udp4');
  const s = { sock, port: 0, seen: 0, up: true, close: () => new Promise<void>((r) => sock.close(() => r())) };
  sock.on('message', (msg, rinfo) => {
    s.seen++;
    if (!s.up) return;
    const req = seeRequest(msg, secret).packet;
    const code = req.code === RADIUS_CODE.AccountingRequest ? RADIUS_CODE.AccountingResponse : RADIUS_CODE.AccessAccept;
    sock.send(answer(req, secret, code), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  s.port = sock.address().port;
  return s;
}

function makeClient(port: number, durable: boolean): RadiusClient {
  return new RadiusClient({
    authServers: [{ name: 'a', address: '127.0.0.1', port, secret: SECRET, timeoutMs: 200, retries: 1 }],
    accountingServers: [{ name: 'acct', address: '127.0.0.1', port, secret: SECRET, timeoutMs: 200, retries: 1, deadTimeMs: 300 }],
    nas: { identifier: 'loop' },
    random: cryptoRandom,
    wallClock: () => Date.now(),
    accounting: { durable, retryIntervalMs: 200 },
  });
}

const until = async (what: string, f: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('client shell: authenticate over UDP, accounting through the durable spool, replay after restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'l2k-radius-shell-'));
  const srv = await fakeServer();
  const timers = new TimerDriver({ now: systemClock.now });
  try {
    const { spool } = await RadiusSpool.open({ path: join(dir, 'spool') });
    const delivered: number[] = [];
    const shell = new RadiusClientShell({
      core: makeClient(srv.port, true),
      clock: systemClock,
      timers,
      spool,
      onEvent: (e) => {
        if (e.type === 'accounting-delivered') delivered.push(e.seq);
      },
    });
    const a = await shell.authenticate({ username: 'u', credentials: { method: 'pap', password: 'p' } });
    assert.equal(a.kind, 'accept');
    const r1 = shell.account({ status: 'start', sessionId: 'x1', timestamp: Date.now() });
    assert.ok(r1.ok);
    await until('delivery', () => delivered.length === 1);
    // Server goes silent: two more records stay pending on disk.
    srv.up = false;
    shell.account({ status: 'interim-update', sessionId: 'x1', timestamp: Date.now(), sessionTime: 1 });
    shell.account({ status: 'stop', sessionId: 'x1', timestamp: Date.now(), sessionTime: 2 });
    await until('retries', () => srv.seen >= 4);
    await shell.flushSpool();
    await shell.close();
    await spool.close();

    const reopened = await RadiusSpool.open({ path: join(dir, 'spool') });
    assert.deepEqual(reopened.records.map((r) => r.record.status), ['interim-update', 'stop']);
    srv.up = true;
    const again: string[] = [];
    const core2 = makeClient(srv.port, true);
    const shell2 = new RadiusClientShell({
      core: core2,
      clock: systemClock,
      timers,
      spool: reopened.spool,
      onEvent: (e) => {
        if (e.type === 'accounting-delivered') again.push(e.record.status);
      },
    });
    shell2.run((now, c) => c.restoreAccounting(now, reopened.records));
    await until('replay', () => again.length === 2);
    assert.deepEqual(again, ['interim-update', 'stop']);
    await shell2.flushSpool();
    await shell2.close();
    await reopened.spool.close();
    const last = await RadiusSpool.open({ path: join(dir, 'spool') });
    assert.deepEqual(last.records, []);
    await last.spool.close();
  } finally {
    timers.close();
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DAE socket: a Disconnect-Request over UDP gets a Disconnect-ACK from the bound port', async () => {
  const timers = new TimerDriver({ now: systemClock.now });
  const done: string[] = [];
  const core = new DaeServer<string>({
    clients: [{ name: 'c', address: '127.0.0.1', secret: SECRET }],
    sessions: {
      find: (q) => (q.acctSessionId === 's1' ? ['s1'] : []),
      disconnect: (_n, s) => (done.push(s), { ok: true }),
      change: () => ({ ok: true }),
    },
    nas: {},
    wallClock: () => Date.now(),
  });
  const dae = await DaeSocket.open({ core, address: '127.0.0.1', port: 0, clock: systemClock, timers });
  const cli = createSocket('udp4');
  try {
    const attr = encodeAttribute(RADIUS_ATTR.AcctSessionId, 's1');
    assert.ok(attr.ok);
    const req = encodeSignedPacket({ code: RADIUS_CODE.DisconnectRequest, identifier: 9, attributes: [attr.value] }, secret);
    assert.ok(req.ok);
    const got = new Promise<Buffer>((r) => cli.once('message', (m) => r(m)));
    cli.send(req.value, dae.local.port, '127.0.0.1');
    const reply = parseRadiusPacket(await got);
    assert.ok(reply.ok);
    assert.equal(reply.value.code, RADIUS_CODE.DisconnectAck);
    assert.deepEqual(done, ['s1']);
  } finally {
    cli.close();
    await dae.close();
    timers.close();
  }
});
