import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom, type RandomSource } from '../base/random.js';
import { addDuration, instant, millis } from '../base/time.js';
import { encodeIsakmp } from '../wire/ike/codec.js';
import { ExchangeType } from '../wire/ike/constants.js';
import { IkeOutput, armRetransmit, freshMessageId, freshSpi, receiveIke, retransmitDue, runExchangeTimers, type Retransmit } from './ike-exchange.js';

const T0 = instant(50_000);
const L500 = { address: '192.0.2.1', port: 500 };
const L4500 = { address: '192.0.2.1', port: 4500 };
const PEER = { address: '198.51.100.7', port: 4500 };

test('RFC 2408 §5 retransmission: nothing at RTO-1, resend at RTO, doubling, give up after max', () => {
  const out = new IkeOutput(4500);
  const x = { lastOut: Uint8Array.of(1, 2, 3), rtx: armRetransmit(T0, millis(2000)) as Retransmit | undefined };
  assert.equal(retransmitDue(x.rtx, addDuration(T0, millis(1999)), 2), 'idle');
  let t = addDuration(T0, millis(2000));
  for (const gap of [4000, 8000]) {
    assert.equal(retransmitDue(x.rtx, t, 2), 'resend');
    out.resend(t, { local: L500, remote: PEER }, x);
    assert.deepEqual(out.pollTransmit(), { local: L500, remote: PEER, data: Uint8Array.of(1, 2, 3) });
    assert.equal(out.pollTransmit(), undefined);
    assert.equal(x.rtx?.at, addDuration(t, millis(gap)));
    t = addDuration(t, millis(gap));
  }
  assert.equal(retransmitDue(x.rtx, t, 2), 'give-up');
  assert.equal(retransmitDue(undefined, t, 2), 'idle');
});

test('runExchangeTimers fires per due exchange and forgets finished ones beyond the limit', () => {
  const ex = new Map<number, { rtx: Retransmit | undefined; state: string }>([
    [1, { rtx: armRetransmit(T0, millis(10)), state: 'qm-r1-sent' }],
    [2, { rtx: { at: T0, interval: millis(10), count: 3 }, state: 'qm-r1-sent' }],
    [3, { rtx: undefined, state: 'qm-done' }],
    [4, { rtx: undefined, state: 'qm-failed' }],
  ]);
  const fired: string[] = [];
  let gaveUp = 0;
  runExchangeTimers(ex, addDuration(T0, millis(10)), 3, 2, (x, e) => fired.push(`${x.state}:${e}`), () => gaveUp++);
  assert.deepEqual(fired, ['qm-r1-sent:retransmit-timeout', 'qm-r1-sent:give-up']);
  assert.equal(gaveUp, 1);
  assert.deepEqual([...ex.keys()], [1, 2], 'more than 2: finished exchanges forgotten');
});

test('fresh SPIs skip the reserved 0-255 and the taken ones; message ids are never 0', () => {
  const values = [0, 7, 255, 0x1234, 0x1235];
  const fixed = (): RandomSource => {
    const v = [...values];
    return { u32: () => v.shift() ?? 0x9999, bytes: (n) => new Uint8Array(n) };
  };
  assert.equal(freshSpi(fixed(), (s) => s === 0x1234), 0x1235);
  assert.equal(freshMessageId(fixed(), (m) => m === 7), 255);
  const r = seededRandom(1);
  for (let i = 0; i < 100; i++) assert.ok(freshSpi(r, () => false) >= 0x100);
});

test('NAT-T port: IKE goes out with the non-ESP marker and comes in without it; ESP and keepalives are not IKE', () => {
  const out = new IkeOutput(4500);
  const msg = encodeIsakmp({ icookie: new Uint8Array(8).fill(9), rcookie: new Uint8Array(8), exchangeType: ExchangeType.IDENTITY_PROTECTION, flags: 0, messageId: 0 }, []);
  assert.deepEqual(out.frame(L500, msg), msg);
  const framed = out.frame(L4500, msg);
  assert.deepEqual(framed.subarray(0, 4), new Uint8Array(4));
  const rx = receiveIke({ local: L4500, remote: PEER, data: framed }, 4500);
  assert.ok(rx?.message.ok);
  assert.deepEqual(rx.data, msg);
  assert.equal(receiveIke({ local: L4500, remote: PEER, data: Uint8Array.of(0xff) }, 4500), undefined, 'NAT-keepalive');
  assert.equal(receiveIke({ local: L4500, remote: PEER, data: Uint8Array.of(0, 0, 1, 0, 0, 0, 0, 1, 9) }, 4500), undefined, 'ESP');
  const bad = receiveIke({ local: L500, remote: PEER, data: Uint8Array.of(1, 2, 3) }, 4500);
  assert.ok(bad && !bad.message.ok, 'on 500 everything is IKE, and garbage fails to parse');
});
