import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { PeerAddress } from '../l2tp/index.js';
import { createLogger } from './logger.js';
import { LacSources, extraSource, sourceVia } from './lac-sources.js';

test('extraSource: none, the default address and the wildcard mean the default socket', () => {
  assert.equal(extraSource(undefined, '198.18.150.1'), undefined);
  assert.equal(extraSource('198.18.150.1', '198.18.150.1'), undefined);
  assert.equal(extraSource('0.0.0.0', '198.18.150.1'), undefined);
  assert.equal(extraSource('198.18.150.5', '198.18.150.1'), '198.18.150.5');
  assert.equal(sourceVia('198.18.150.5'), 'src:198.18.150.5');
});

test('LacSources: a local address gets a socket (transmits with its via leave from it, answers come back tagged); a foreign one is logged and refused', async () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', format: 'json', sink: { write: (l) => lines.push(l) } });
  const got: { data: string; from: PeerAddress }[] = [];
  let now = 0;
  const src = new LacSources({ log, now: () => now, defaultAddress: '0.0.0.0', receive: (d, from) => got.push({ data: Buffer.from(d).toString(), from }) });
  const peer = createSocket('udp4');
  try {
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', r));
    const peerPort = peer.address().port;
    const seen = new Promise<{ msg: string; port: number; address: string }>((r) => peer.once('message', (m, ri) => r({ msg: m.toString(), port: ri.port, address: ri.address })));
    assert.equal(await src.ensure('127.0.0.1'), true);
    const port = src.port('127.0.0.1');
    assert.ok(port !== undefined && port > 0);
    assert.equal(src.route({ to: { address: '127.0.0.1', port: peerPort, family: 4, via: sourceVia('127.0.0.1') }, data: new TextEncoder().encode('sccrq') }), true);
    assert.equal(src.route({ to: { address: '127.0.0.1', port: peerPort, family: 4, via: 'ipsec:1' }, data: new Uint8Array(1) }), false, 'not our via');
    const s = await seen;
    assert.deepStrictEqual(s, { msg: 'sccrq', port, address: '127.0.0.1' }, 'left from the source socket');
    const back = new Promise<void>((r) => {
      const t = setInterval(() => {
        if (got.length > 0) {
          clearInterval(t);
          r();
        }
      }, 5);
    });
    peer.send('sccrp', port, '127.0.0.1');
    await Promise.race([back, new Promise((_r, rej) => setTimeout(() => rej(new Error('no answer in 2 s')), 2000))]);
    assert.deepStrictEqual(got[0], { data: 'sccrp', from: { address: '127.0.0.1', port: peerPort, family: 4, via: 'src:127.0.0.1' } });
    // 192.0.2.77 is on no interface of this host: bind fails, logged with the fallback; retried only after the window.
    assert.equal(await src.ensure('192.0.2.77'), false);
    assert.equal(src.usable('192.0.2.77'), false);
    const errs = lines.filter((l) => l.includes('cannot use source address 192.0.2.77'));
    assert.equal(errs.length, 1);
    assert.match(errs[0] ?? '', /leave from the default 0\.0\.0\.0/);
    assert.equal(await src.ensure('192.0.2.77'), false);
    assert.equal(lines.filter((l) => l.includes('cannot use source address 192.0.2.77')).length, 1, 'not retried within the window');
    now += 61_000;
    assert.equal(await src.ensure('192.0.2.77'), false);
    assert.equal(lines.filter((l) => l.includes('cannot use source address 192.0.2.77')).length, 2, 'retried after the window');
  } finally {
    peer.close();
    await src.close();
  }
});
