import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ipv4Pool } from './pool.js';
import { formatIpv4, parseIpv4, parseIpv4Prefix } from '../base/index.js';

const prefix = (s: string) => {
  const p = parseIpv4Prefix(s);
  assert.ok(p.ok, s);
  return p.value;
};

test('parseIpv4 / formatIpv4 round-trip and reject junk', () => {
  assert.equal(parseIpv4('100.64.0.1'), 0x64400001);
  assert.equal(formatIpv4(0x64400001), '100.64.0.1');
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', 'a.b.c.d', '1.2.3.-4', '01.2.3.4444']) {
    assert.equal(parseIpv4(bad), undefined, bad);
  }
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => parseIpv4(formatIpv4(n)) === n));
});

test('parseIpv4Prefix rejects host bits and bad lengths', () => {
  assert.deepEqual(prefix('100.64.0.0/24'), { network: 0x64400000, length: 24 });
  const r = parseIpv4Prefix('100.64.0.1/24');
  assert.ok(!r.ok && r.error.includes('host bits'));
  assert.ok(!parseIpv4Prefix('100.64.0.0/33').ok);
  assert.ok(!parseIpv4Prefix('100.64.0.0').ok);
});

test('a /29 hands out 6 addresses minus reserved, then is exhausted; release returns them', () => {
  const pool = new Ipv4Pool(prefix('100.64.0.0/29'), [parseIpv4('100.64.0.1') ?? 0]);
  assert.equal(pool.capacity, 5);
  const got: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = pool.allocate(`s${i}`);
    assert.ok(r.ok);
    got.push(formatIpv4(r.value));
  }
  assert.deepEqual(got, ['100.64.0.2', '100.64.0.3', '100.64.0.4', '100.64.0.5', '100.64.0.6']);
  const full = pool.allocate('s5');
  assert.ok(!full.ok && full.error.kind === 'exhausted');
  assert.equal(pool.release('s2'), parseIpv4('100.64.0.4'));
  const again = pool.allocate('s5');
  assert.ok(again.ok);
  assert.equal(formatIpv4(again.value), '100.64.0.4');
  assert.equal(pool.inUse, 5);
});

test('allocate is idempotent per owner; allocateSpecific refuses another owner\'s address', () => {
  const pool = new Ipv4Pool(prefix('100.64.0.0/24'));
  const a = pool.allocate('x');
  const b = pool.allocate('x');
  assert.ok(a.ok && b.ok && a.value === b.value);
  const clash = pool.allocateSpecific('y', a.value);
  assert.ok(!clash.ok && clash.error.kind === 'in-use');
  const mine = pool.allocateSpecific('x', (parseIpv4('100.64.0.77') ?? 0));
  assert.ok(mine.ok);
  assert.equal(pool.ownerOf(a.value), undefined, 'the old lease of x was released');
  assert.equal(pool.inUse, 1);
});

test('property: leases are unique and release frees everything', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 })), { maxLength: 300 }), (ops) => {
      const pool = new Ipv4Pool(prefix('100.64.1.0/27'));
      const held = new Map<string, number>();
      for (const [alloc, id] of ops) {
        const owner = `o${id}`;
        if (alloc) {
          const r = pool.allocate(owner);
          if (r.ok) held.set(owner, r.value);
          else assert.equal(held.size, pool.capacity);
        } else {
          pool.release(owner);
          held.delete(owner);
        }
        assert.equal(new Set(held.values()).size, held.size);
        assert.equal(pool.inUse, held.size);
      }
      for (const o of [...held.keys()]) pool.release(o);
      assert.equal(pool.inUse, 0);
    }),
  );
});
