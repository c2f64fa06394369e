import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionRoutes } from '../dataplane/index.js';
import { parseIpv4 } from '../base/index.js';
import { addIpv4Extras, addIpv6Extras, inExtras4, noExtras, removeExtras } from './extra-routes.js';

const ip = (s: string): number => parseIpv4(s) ?? 0;

test('extra routes: nothing to add keeps the shared empty arrays (no arrays per idle session)', () => {
  const routes = new SessionRoutes<string>();
  const x = noExtras();
  const [v4, v6, kernel] = [x.v4, x.v6, x.kernel];
  assert.deepEqual(addIpv4Extras(routes, x, 's', [], ip('100.64.0.10'), false), []);
  assert.deepEqual(addIpv6Extras(routes, x, 's', [], undefined), []);
  assert.equal(x.v4, v4);
  assert.equal(x.v6, v6);
  assert.equal(x.kernel, kernel);
  assert.ok(Object.isFrozen(x.kernel));
  assert.deepEqual(removeExtras(routes, x), []);
});

test('extra routes: a host route alone goes to the kernel list; prefixes route and pass the ingress filter', () => {
  const routes = new SessionRoutes<string>();
  const x = noExtras();
  assert.deepEqual(addIpv4Extras(routes, x, 's', [], ip('198.51.100.7'), true), ['198.51.100.7/32']);
  assert.deepEqual(x.v4, []);
  assert.deepEqual(x.kernel, ['198.51.100.7/32']);
  assert.deepEqual(addIpv4Extras(routes, x, 's', [{ network: ip('203.0.113.0'), length: 24 }], ip('198.51.100.7'), false), ['203.0.113.0/24']);
  assert.equal(x.v4.length, 1);
  assert.ok(inExtras4(x, ip('203.0.113.9')));
  assert.ok(!inExtras4(x, ip('203.0.112.9')));
  assert.deepEqual(x.kernel, ['198.51.100.7/32', '203.0.113.0/24']);
  assert.deepEqual(removeExtras(routes, x), ['198.51.100.7/32', '203.0.113.0/24']);
  assert.deepEqual([x.v4, x.v6, x.kernel], [[], [], []]);
});
