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
  assert.equal(pool.release('s2', parseIpv4('100.64.0.3') ?? 0), undefined, 'not the lease of s2');
  assert.equal(pool.release('s2', parseIpv4('100.64.0.4') ?? 0), parseIpv4('100.64.0.4'));
  assert.equal(pool.release('s2', parseIpv4('100.64.0.4') ?? 0), undefined, 'released once');
  const again = pool.allocate('s5');
  assert.ok(again.ok);
  assert.equal(formatIpv4(again.value), '100.64.0.4');
  assert.equal(pool.inUse, 5);
});

test('allocateSpecific is idempotent for its owner and refuses another owner\'s address; release names owner and address', () => {
  const pool = new Ipv4Pool(prefix('100.64.0.0/24'), [parseIpv4('100.64.0.1') ?? 0]);
  const a = pool.allocate('x');
  assert.ok(a.ok);
  const clash = pool.allocateSpecific('y', a.value);
  assert.ok(!clash.ok && clash.error.kind === 'in-use' && clash.error.owner === 'x');
  const again = pool.allocateSpecific('x', a.value);
  assert.ok(again.ok && again.value === a.value);
  const reserved = pool.allocateSpecific('y', parseIpv4('100.64.0.1') ?? 0);
  assert.ok(!reserved.ok && reserved.error.kind === 'in-use' && reserved.error.owner === 'reserved');
  assert.equal(pool.inUse, 1);
  assert.equal(pool.release('y', a.value), undefined, 'another owner cannot release it');
  assert.equal(pool.ownerOf(a.value), 'x');
  assert.equal(pool.release('x', a.value), a.value);
  assert.equal(pool.ownerOf(a.value), undefined);
  assert.equal(pool.inUse, 0);
});

test('property: leases are unique and release frees everything', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 })), { maxLength: 300 }), (ops) => {
      const pool = new Ipv4Pool(prefix('100.64.1.0/27'));
      const held = new Map<string, number>();
      for (const [alloc, id] of ops) {
        const owner = `o${id}`;
        if (alloc) {
          if (held.has(owner)) continue; // one lease per owner: the caller's rule (SessionAddressPool)
          const r = pool.allocate(owner);
          if (r.ok) held.set(owner, r.value);
          else assert.equal(held.size, pool.capacity);
        } else {
          const a = held.get(owner);
          assert.equal(a === undefined ? undefined : pool.release(owner, a), a);
          held.delete(owner);
        }
        assert.equal(new Set(held.values()).size, held.size);
        assert.equal(pool.inUse, held.size);
      }
      for (const [o, a] of held) pool.release(o, a);
      assert.equal(pool.inUse, 0);
    }),
  );
});
