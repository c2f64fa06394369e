import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addDuration, instant, millis, seconds } from '../base/time.js';
import { DpdState } from './dpd.js';

const T0 = instant(1_000_000);
const TIMING = { interval: seconds(30), timeout: seconds(10) };

test('RFC 3706: no probe at interval-1, a probe at the interval, the next number on every resend', () => {
  const d = new DpdState(T0, 100);
  assert.equal(d.due(TIMING), addDuration(T0, seconds(30)));
  assert.equal(d.tick(addDuration(T0, millis(29_999)), TIMING), undefined);
  const t1 = addDuration(T0, seconds(30));
  assert.equal(d.tick(t1, TIMING), 101);
  // Probes repeat every timeout/5 (2 s) until the timeout.
  assert.equal(d.due(TIMING), addDuration(t1, seconds(2)));
  assert.equal(d.tick(addDuration(t1, millis(1999)), TIMING), undefined);
  assert.equal(d.tick(addDuration(t1, seconds(2)), TIMING), 102);
  assert.equal(d.tick(addDuration(t1, seconds(4)), TIMING), 103);
});

test('RFC 3706 §6.1: an ACK of any number of the round ends it; a replayed older ACK does not', () => {
  const d = new DpdState(T0, 7);
  const t1 = addDuration(T0, seconds(30));
  assert.equal(d.tick(t1, TIMING), 8);
  assert.equal(d.tick(addDuration(t1, seconds(2)), TIMING), 9);
  d.ack(7); // before the round: a replay
  assert.equal(d.due(TIMING), addDuration(t1, seconds(4)), 'still probing');
  d.ack(8); // the first probe of the round
  assert.equal(d.due(TIMING), addDuration(T0, seconds(30)), 'back to idle: the round is over, lastHeard unchanged');
  d.heard(addDuration(t1, seconds(3)));
  assert.equal(d.due(TIMING), addDuration(t1, seconds(33)));
});

test('RFC 3706 §5.5: dead exactly at the timeout after the first probe; ESP traffic ends a round', () => {
  const d = new DpdState(T0, 0x7fffffff);
  const t1 = addDuration(T0, seconds(30));
  assert.equal(d.tick(t1, TIMING), 0, 'sequence numbers wrap within 31 bits');
  for (let s = 2; s < 10; s += 2) assert.equal(typeof d.tick(addDuration(t1, seconds(s)), TIMING), 'number');
  assert.equal(d.tick(addDuration(t1, millis(9999)), TIMING), undefined);
  assert.equal(d.tick(addDuration(t1, seconds(10)), TIMING), 'dead');
  const e = new DpdState(T0, 1);
  assert.equal(e.tick(t1, TIMING), 2);
  e.alive(addDuration(t1, seconds(1)));
  assert.equal(e.due(TIMING), addDuration(t1, seconds(31)));
  assert.equal(e.tick(addDuration(t1, seconds(10)), TIMING), undefined, 'not dead: traffic came');
});
