import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ipv6PrefixPool } from './ipv6.js';
import { formatIpv6, parseIpv6, parseIpv6Prefix, prefix64Bytes, prefix64Of } from '../base/index.js';

test('parseIpv6 / formatIpv6: RFC 5952 canonical forms', () => {
  const cases: [string, string][] = [
    ['2001:db8::1', '2001:db8::1'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::1:2:3:4', 'fe80::1:2:3:4'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3: first of equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2: a single zero group is not compressed
    ['::ffff:198.18.0.1', '::ffff:c612:1'],
  ];
  for (const [input, want] of cases) {
    const a = parseIpv6(input);
    assert.ok(a !== undefined, input);
    assert.equal(formatIpv6(a), want);
  }
  for (const bad of ['', ':', '1::2::3', '12345::', 'g::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '::1.2.3', '1:2:3:4:5:6:7::8:9']) assert.equal(parseIpv6(bad), undefined, bad);
});

test('formatIpv6 round-trips through parseIpv6', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (a) => {
      assert.deepEqual(parseIpv6(formatIpv6(a)), a);
    }),
  );
  fc.assert(fc.property(fc.string(), (s) => void parseIpv6(s)));
});

test('parseIpv6Prefix checks length and host bits', () => {
  const p = parseIpv6Prefix('2001:db8:100::/56');
  assert.ok(p.ok);
  assert.equal(p.value.length, 56);
  assert.equal(formatIpv6(prefix64Bytes(p.value.network64)), '2001:db8:100::');
  assert.equal(parseIpv6Prefix('2001:db8:100::1/56').ok, false);
  assert.equal(parseIpv6Prefix('2001:db8:100:1::/56').ok, false);
  assert.equal(parseIpv6Prefix('2001:db8::/80').ok, false);
  assert.equal(parseIpv6Prefix('2001:db8::').ok, false);
});

test('Ipv6PrefixPool hands out distinct /64s per owner, round-robin, and releases', () => {
  const p = parseIpv6Prefix('2001:db8:100::/62');
  assert.ok(p.ok);
  const pool = new Ipv6PrefixPool(p.value);
  assert.equal(pool.capacity, 4);
  const a = pool.allocate('a');
  assert.equal(pool.allocate('a'), a, 'idempotent');
  const got = [a, pool.allocate('b'), pool.allocate('c'), pool.allocate('d')];
  assert.equal(new Set(got).size, 4);
  assert.equal(pool.allocate('e'), undefined);
  assert.equal(pool.release('b'), got[1]);
  assert.equal(pool.release('b'), undefined);
  assert.equal(pool.allocate('e'), got[1]);
  assert.equal(formatIpv6(prefix64Bytes(got[3] ?? 0n)), '2001:db8:100:3::');
  assert.equal(prefix64Of(parseIpv6('2001:db8:100:3::9') ?? new Uint8Array(16)), got[3]);
  assert.equal(pool.inUse, 4);
});
