import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SessionRoutes } from './routes.js';

function v4(dst: [number, number, number, number]): Uint8Array {
  const p = new Uint8Array(28);
  p[0] = 0x45;
  p.set(dst, 16);
  return p;
}

test('IPv4 host routes and IPv6 /64 routes resolve to their session', () => {
  const r = new SessionRoutes<string>();
  r.addIpv4(0x64400002, 's1');
  r.addIpv6Prefix(0x20010db800000001n, 's2');
  assert.equal(r.lookup(v4([100, 64, 0, 2])), 's1');
  assert.equal(r.lookup(v4([100, 64, 0, 3])), undefined);
  const p6 = new Uint8Array(48);
  p6[0] = 0x60;
  p6.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 9, 9, 9, 9, 9, 9, 9, 9], 24);
  assert.equal(r.lookup(p6), 's2');
  r.removeIpv4(0x64400002);
  assert.equal(r.lookup(v4([100, 64, 0, 2])), undefined);
  assert.equal(r.size, 1);
});

test('lookup never throws on random bytes', () => {
  const r = new SessionRoutes<number>();
  r.addIpv4(1, 1);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
    r.lookup(b);
  }), { numRuns: 5000 });
});

test('prefix routes: longest match after a host-route miss; removal; IPv6 prefixes up to /64', () => {
  const r = new SessionRoutes<string>();
  r.addIpv4(0xc6336405, 'host'); // 198.51.100.5
  r.addIpv4Prefix(0xc6336400, 24, 'net24'); // 198.51.100.0/24
  r.addIpv4Prefix(0xc6336410, 28, 'net28'); // 198.51.100.16/28
  assert.equal(r.lookup(v4([198, 51, 100, 5])), 'host', 'a host route wins');
  assert.equal(r.lookup(v4([198, 51, 100, 17])), 'net28', 'the longer prefix wins');
  assert.equal(r.lookup(v4([198, 51, 100, 200])), 'net24');
  assert.equal(r.lookup(v4([198, 51, 101, 1])), undefined);
  assert.equal(r.size, 3);
  r.removeIpv4Prefix(0xc6336410, 28);
  assert.equal(r.lookup(v4([198, 51, 100, 17])), 'net24');
  r.removeIpv4Prefix(0xc6336400, 24);
  r.removeIpv4Prefix(0xc6336400, 24);
  assert.equal(r.lookup(v4([198, 51, 100, 17])), undefined);
  assert.equal(r.size, 1);
  const p6 = (hi: number[]): Uint8Array => {
    const p = new Uint8Array(48);
    p[0] = 0x60;
    p.set(hi, 24);
    return p;
  };
  r.addIpv6Route(0x20010db801000000n, 56, 'pd'); // 2001:db8:100::/56
  assert.equal(r.lookup(p6([0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0x00, 0x42])), 'pd');
  assert.equal(r.lookup(p6([0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0x01, 0x42])), undefined);
  r.removeIpv6Route(0x20010db801000000n, 56);
  assert.equal(r.size, 1);
});
