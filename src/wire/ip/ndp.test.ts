/** Neighbor Discovery codec (RFC 4861 §4.2, §4.6): the RA a PPP router sends, and its parser. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex } from '../../base/index.js';
import { buildRouterAdvertisement, icmpv6Checksum, parseRouterAdvertisement } from './index.js';

test('ipv6-ra: Router Advertisement layout and checksum', () => {
  const pkt = buildRouterAdvertisement({
    localInterfaceId: fromHex('0000000000000001'),
    peerInterfaceId: fromHex('0200000000000002'),
    prefix: fromHex('20010db800010002'),
    mtu: 1400,
    dns: [fromHex('20010db8000000000000000000000053')],
  });
  assert.equal(pkt.length, 40 + 16 + 32 + 8 + 24);
  assert.equal(pkt[6], 58); // ICMPv6
  assert.equal(pkt[7], 255); // hop limit
  assert.equal(toHex(pkt.subarray(8, 24)), 'fe800000000000000000000000000001');
  assert.equal(toHex(pkt.subarray(24, 40)), 'fe800000000000000200000000000002');
  const m = pkt.subarray(40);
  assert.equal(m[0], 134);
  assert.equal(m[16], 3); // Prefix Information
  assert.equal(m[16 + 2], 64);
  assert.equal(m[16 + 3], 0xc0); // L|A
  assert.equal(toHex(m.subarray(16 + 16, 16 + 24)), '20010db800010002');
  assert.equal(m[48], 5); // MTU option
  assert.equal(m[56], 25); // RDNSS
  // Verifying: the checksum over the whole message including its checksum field is zero.
  const withSum = new Uint8Array(m);
  const sum = icmpv6Checksum(pkt.subarray(8, 24), pkt.subarray(24, 40), withSum);
  assert.equal(sum, 0);
});

test('parseRouterAdvertisement reads what buildRouterAdvertisement writes', () => {
  const ra = buildRouterAdvertisement({
    localInterfaceId: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
    peerInterfaceId: Uint8Array.of(8, 7, 6, 5, 4, 3, 2, 1),
    prefix: Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 1, 0, 0, 7),
    mtu: 1400,
    dns: [new Uint8Array(16)],
  });
  const r = parseRouterAdvertisement(ra);
  assert.ok(r !== undefined);
  assert.equal(r.mtu, 1400);
  assert.equal(r.prefixes.length, 1);
  assert.equal(r.prefixes[0]?.length, 64);
  assert.equal(r.prefixes[0]?.autonomous, true);
  assert.deepEqual([...(r.prefixes[0]?.prefix.subarray(0, 8) ?? [])], [0x20, 0x01, 0x0d, 0xb8, 1, 0, 0, 7]);
  for (let i = 0; i < ra.length; i++) parseRouterAdvertisement(ra.subarray(0, i));
});
