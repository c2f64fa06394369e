/** Peer profiles are data; overrides win; impossible combinations are refused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveV3Profile, V3_PEER_PROFILES } from './v3-profiles.js';

test('profiles: the families differ where the issue says', () => {
  assert.equal(V3_PEER_PROFILES.linux.pseudowire.sublayer, 'default');
  assert.equal(V3_PEER_PROFILES.cisco.pseudowire.sublayer, 'none');
  assert.equal(V3_PEER_PROFILES.cisco.pseudowire.cookieLength, 4);
  assert.deepEqual(V3_PEER_PROFILES.yamaha.encapsulations, ['udp']);
  assert.equal(V3_PEER_PROFILES.yamaha.udpPort, 1701);
  assert.equal(V3_PEER_PROFILES.yamaha.pseudowire.cookieLength, 0);
  assert.deepEqual(V3_PEER_PROFILES.yamaha.pwTypes, [5]);
});

test('profiles: every field can be overridden; refusals', () => {
  const r = resolveV3Profile('yamaha', { pseudowire: { cookieLength: 8 }, helloInterval: 5000 as never });
  assert.ok(r.ok);
  assert.equal(r.value.pseudowire.cookieLength, 8);
  assert.equal(r.value.pseudowire.sublayer, 'none');
  assert.equal(r.value.helloInterval, 5000);
  const bad = resolveV3Profile('cisco', { pseudowire: { sequencing: true } });
  assert.ok(!bad.ok && /sublayer/i.test(bad.error));
  const vlan = resolveV3Profile('yamaha', { pseudowire: { pwType: 4 } });
  assert.ok(!vlan.ok);
});
