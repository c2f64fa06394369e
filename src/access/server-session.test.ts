import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { keyOfNasPort, sessionKey } from './server-session.js';

test('sessionKey: a signed 32-bit integer (never a boxed heap number), one per (tunnel, session), NAS-Port as before', () => {
  const seen = new Set<number>();
  for (const [t, s] of [[0, 1], [1, 0], [0x7fff, 0xffff], [0x8000, 0], [0xffff, 0xffff], [62025, 27169]] as const) {
    const k = sessionKey(t, s);
    assert.equal(k, k | 0, `${t}/${s} is an int32`);
    assert.equal(k >>> 0, t * 0x10000 + s, 'the unsigned value (RADIUS NAS-Port) is the old key');
    assert.equal(keyOfNasPort(t * 0x10000 + s), k, 'and the key comes back from the NAS-Port');
    assert.ok(!seen.has(k));
    seen.add(k);
  }
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), (t1, s1, t2, s2) => {
      assert.equal(sessionKey(t1, s1) === sessionKey(t2, s2), t1 === t2 && s1 === s2);
    }),
  );
});
