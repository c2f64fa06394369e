import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../base/random.js';
import { mutateVector, randomBytes, randomFramed } from '../../../test/fuzz/l2tp-mutate.js';
import { emitControl, parseControl, parseData, parseHeader } from './index.js';

const SECRET = new TextEncoder().encode('fuzz-secret');

/** Run all three parsers on `b`; they must return (never throw); a parsed control message must re-emit. */
function check(b: Uint8Array): void {
  parseHeader(b);
  parseData(b, { maxOffset: 16 });
  const c = parseControl(b, (b.length & 1) === 0 ? { secret: SECRET } : undefined);
  if (c.ok) {
    const again = parseControl(emitControl(c.value));
    assert.ok(again.ok);
    assert.deepStrictEqual(again.value, c.value);
  }
}

// 3 parsers x 36,000 inputs = 108,000 random cases.
test('random bytes never throw (12,000 inputs x 3 parsers)', () => {
  const r = seededRandom(0x2661);
  for (let i = 0; i < 12_000; i++) check(randomBytes(r, 48));
});

test('random bytes behind a plausible header never throw (12,000 x 3)', () => {
  const r = seededRandom(0x3145);
  for (let i = 0; i < 12_000; i++) check(randomFramed(r, 80));
});

test('mutated vectors never throw; successes re-emit to the same value (12,000 x 3)', () => {
  const r = seededRandom(0x1701);
  let parsed = 0;
  for (let i = 0; i < 12_000; i++) {
    const b = mutateVector(r);
    check(b);
    if (parseControl(b).ok) parsed++;
  }
  assert.ok(parsed > 100, `mutations should still parse sometimes (${parsed})`);
});
