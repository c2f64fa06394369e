/**
 * The daemon's small parts on their own: the event queue (no re-entrant dispatch), the shutdown
 * wait (event-driven, bounded), the tapped engine, and the l2tpctl dial / hangup requests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventQueue } from './event-queue.js';
import { waitUntil } from './shutdown.js';
import { TappedEngine } from './engine-tap.js';
import { commandToRequest } from './l2tpctl-cli.js';
import { parseControlRequest } from './control-protocol.js';
import type { L2tpEngineApi } from '../l2tp/index.js';
import { instant } from '../base/index.js';

test('event queue: events a handler causes are handled after it returns, in order; a throw does not stop the queue', () => {
  const seen: string[] = [];
  const errors: unknown[] = [];
  const q = new EventQueue<string>(
    (e) => {
      seen.push(`start ${e}`);
      if (e === 'a') {
        q.push('b');
        q.push('c');
        assert.equal(q.dispatching, true);
      }
      if (e === 'b') throw new Error('handler bug');
      seen.push(`end ${e}`);
    },
    (err) => errors.push(err),
  );
  q.push('a');
  assert.deepEqual(seen, ['start a', 'end a', 'start b', 'start c', 'end c']);
  assert.equal(errors.length, 1);
  assert.equal(q.dispatching, false);
  q.push('d');
  assert.deepEqual(seen.slice(-2), ['start d', 'end d']);
});

test('shutdown wait: resolves on the first notification after which the condition holds, without a polling timer', async () => {
  let done = false;
  let check: (() => void) | undefined;
  let unsubscribed = false;
  const t0 = Date.now();
  const p = waitUntil(() => done, 10_000, (c) => {
    check = c;
    return () => {
      unsubscribed = true;
    };
  });
  assert.ok(check !== undefined);
  check(); // nothing changed yet
  await new Promise((r) => setTimeout(r, 30));
  done = true;
  check();
  await p;
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(unsubscribed, true);
  // Already true: resolves at once, subscribes nothing.
  await waitUntil(() => true, 10_000, () => assert.fail('no subscription needed'));
});

test('shutdown wait: bounded by its deadline when no notification comes', async () => {
  const t0 = Date.now();
  let unsubscribed = false;
  await waitUntil(() => false, 120, () => () => {
    unsubscribed = true;
  });
  const took = Date.now() - t0;
  assert.ok(took >= 100 && took < 2000, `took ${took} ms`);
  assert.equal(unsubscribed, true);
});

test('tapped engine: forwards every call and reports datagrams only while someone listens', () => {
  const calls: string[] = [];
  const inner = new Proxy({} as L2tpEngineApi, {
    get: (_t, name) => (...args: unknown[]) => {
      calls.push(String(name));
      void args;
      return name === 'tunnels' ? [] : undefined;
    },
  });
  const tap = new TappedEngine(inner);
  const now = instant(0);
  let inputs = 0;
  tap.handleDatagram(now, new Uint8Array(1), { address: '192.0.2.1', port: 1701, family: 4 });
  tap.onInput = () => inputs++;
  tap.handleDatagram(now, new Uint8Array(1), { address: '192.0.2.1', port: 1701, family: 4 });
  tap.handleTimeout(now);
  tap.pollAt();
  tap.pollTransmit();
  tap.pollEvent();
  tap.tunnels(now);
  assert.equal(inputs, 1);
  assert.deepEqual(calls, ['handleDatagram', 'handleDatagram', 'handleTimeout', 'pollAt', 'pollTransmit', 'pollEvent', 'tunnels']);
});

test('l2tpctl dial / hangup NAME -> requests; validation', () => {
  assert.deepEqual(commandToRequest(['dial', 'isp1']), { cmd: 'dial', lac: 'isp1' });
  assert.deepEqual(commandToRequest(['hangup', 'isp1']), { cmd: 'hangup', lac: 'isp1' });
  assert.equal(typeof commandToRequest(['dial']), 'string');
  assert.equal(typeof commandToRequest(['hangup', 'a', 'b']), 'string');
  assert.deepEqual(parseControlRequest({ cmd: 'dial', lac: 'isp1' }), { ok: true, value: { cmd: 'dial', lac: 'isp1' } });
  assert.equal(parseControlRequest({ cmd: 'hangup' }).ok, false);
  assert.equal(parseControlRequest({ cmd: 'hangup', lac: 7 }).ok, false);
  assert.equal(parseControlRequest({ cmd: 'dial', lac: '' }).ok, false);
});
