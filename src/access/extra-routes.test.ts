import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionRoutes } from '../dataplane/index.js';
import { parseIpv4 } from '../base/index.js';
import { addIpv4Extras, addIpv6Extras, inExtras4, noExtras, removeExtras, type ExtrasHolder } from './extra-routes.js';

const ip = (s: string): number => parseIpv4(s) ?? 0;

test('extra routes: nothing to add keeps the one shared empty record (no object or arrays per idle session)', () => {
  const routes = new SessionRoutes<string>();
  const h: ExtrasHolder = { extras: noExtras() };
  const other: ExtrasHolder = { extras: noExtras() };
  const shared = h.extras;
  assert.equal(other.extras, shared, 'every session starts with the same record');
  assert.deepEqual(addIpv4Extras(routes, h, 's', [], ip('100.64.0.10'), false), []);
  assert.deepEqual(addIpv6Extras(routes, h, 's', [], undefined), []);
  assert.equal(h.extras, shared);
  assert.ok(Object.isFrozen(shared) && Object.isFrozen(shared.kernel));
  assert.deepEqual(removeExtras(routes, h), []);
  assert.equal(h.extras, shared);
});

test('extra routes: a host route alone goes to the kernel list; prefixes route and pass the ingress filter', () => {
  const routes = new SessionRoutes<string>();
  const h: ExtrasHolder = { extras: noExtras() };
  const other: ExtrasHolder = { extras: noExtras() };
  assert.deepEqual(addIpv4Extras(routes, h, 's', [], ip('198.51.100.7'), true), ['198.51.100.7/32']);
  assert.deepEqual(h.extras.v4, []);
  assert.deepEqual(h.extras.kernel, ['198.51.100.7/32']);
  assert.deepEqual(other.extras.kernel, [], 'the shared record is not written to');
  assert.deepEqual(addIpv4Extras(routes, h, 's', [{ network: ip('203.0.113.0'), length: 24 }], ip('198.51.100.7'), false), ['203.0.113.0/24']);
  assert.deepEqual(addIpv6Extras(routes, h, 's', [{ network64: 0x20010db800010000n, length: 48 }], undefined), ['2001:db8:1::/48']);
  assert.equal(h.extras.v4.length, 1);
  assert.equal(h.extras.v6.length, 1);
  assert.ok(inExtras4(h.extras, ip('203.0.113.9')));
  assert.ok(!inExtras4(h.extras, ip('203.0.112.9')));
  assert.deepEqual(h.extras.kernel, ['198.51.100.7/32', '203.0.113.0/24', '2001:db8:1::/48']);
  assert.deepEqual(removeExtras(routes, h), ['198.51.100.7/32', '203.0.113.0/24', '2001:db8:1::/48']);
  assert.deepEqual([h.extras.v4, h.extras.v6, h.extras.kernel], [[], [], []]);
  assert.equal(h.extras, other.extras, 'back to the shared record');
});
