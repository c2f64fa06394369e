import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateDh, type DhGroupNumber } from './dh.js';
import { seededRandom } from '../base/random.js';

test('MODP key pairs share one engine per group: interleaved use still agrees (groups 2, 5, 14)', () => {
  for (const g of [2, 5, 14] as DhGroupNumber[]) {
    const r = seededRandom(g);
    // Four live key pairs of the same group, used out of order.
    const a = generateDh(g, r);
    const b = generateDh(g, r);
    const c = generateDh(g, r);
    const d = generateDh(g, r);
    const ab = a.computeShared(b.publicValue);
    const cd = c.computeShared(d.publicValue);
    const ba = b.computeShared(a.publicValue);
    const dc = d.computeShared(c.publicValue);
    assert.ok(ab.ok && ba.ok && cd.ok && dc.ok);
    if (ab.ok && ba.ok && cd.ok && dc.ok) {
      assert.deepEqual(ab.value, ba.value, `group ${g}: a/b agree`);
      assert.deepEqual(cd.value, dc.value, `group ${g}: c/d agree`);
      assert.notDeepEqual(ab.value, cd.value);
    }
    // Same private value -> same public value, whatever ran in between.
    const again = generateDh(g, seededRandom(g));
    assert.deepEqual(again.publicValue, a.publicValue);
    assert.equal(a.computeShared(new Uint8Array(a.publicValue.length)).ok, false, 'zero is degenerate');
  }
});
