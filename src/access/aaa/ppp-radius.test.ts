/**
 * The seam access/aaa composes: a PPP `auth-request` (src/ppp/auth) maps onto a RADIUS request
 * (src/aaa/radius) field for field, so the two sibling cores never import each other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instant } from '../../base/time.js';
import { RADIUS_ATTR, attributeValue } from '../../wire/radius/index.js';
import type { AuthRequest } from '../../ppp/index.js';
import type { RadiusAuthRequest, RadiusTransmit } from '../../aaa/radius/index.js';
import { seeRequest, takeTransmits, testClient } from '../../../test/lib/radius-client.js';

const SECRET = 'test-secret';

test('a PPP `auth-request` maps onto a RADIUS request field for field', () => {
  const fromPpp = (r: AuthRequest): RadiusAuthRequest => {
    const { username, ...credentials } = r;
    return { username, credentials };
  };
  const c = testClient({
    seed: 42,
    authServers: [{ name: 'a', address: '192.0.2.1', secret: SECRET, timeoutMs: 1000, retries: 2, deadTimeMs: 30_000 }],
    nas: { ipAddress: '198.51.100.1', identifier: 'l2tpkit-test' },
  });
  c.authenticate(instant(0), fromPpp({ method: 'pap', username: 'dora', password: 'explorer' }));
  const seen = seeRequest((takeTransmits(c)[0] as RadiusTransmit).data, new TextEncoder().encode(SECRET)).decoded.attributes;
  assert.equal(attributeValue(seen, RADIUS_ATTR.UserName), 'dora');
  assert.equal(attributeValue(seen, RADIUS_ATTR.UserPassword), 'explorer');
});
