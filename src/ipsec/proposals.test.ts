import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attr } from '../wire/ike/codec.js';
import type { SaAttribute, SaPayload } from '../wire/ike/types.js';
import { DEFAULT_POLICY, selectPhase1, selectPhase2 } from './proposals.js';
import { bytesToIp, ipToBytes } from '../base/index.js';

const p1 = (transforms: SaAttribute[][]): SaPayload => ({
  kind: 'sa', doi: 1, situation: 1,
  proposals: [{ number: 1, protocolId: 1, spi: new Uint8Array(0), transforms: transforms.map((a, i) => ({ number: i + 1, id: 1, attributes: a })) }],
});
const ike = (encr: number, bits: number | undefined, hash: number, group: number, auth = 1, life = 28800): SaAttribute[] => [
  attr(1, encr), ...(bits ? [attr(14, bits)] : []), attr(2, hash), attr(3, auth), attr(4, group), attr(11, 1), attr(12, life),
];

test('phase 1: first acceptable transform in the initiator order wins (RFC 2409 §5)', () => {
  const sa = p1([ike(1, undefined, 2, 2), ike(7, 256, 1, 14), ike(7, 128, 2, 1), ike(7, 256, 4, 14, 65001), ike(7, 256, 4, 14)]);
  const c = selectPhase1(sa, DEFAULT_POLICY);
  assert.ok(c);
  assert.equal(c.transform.number, 5, 'DES, MD5, MODP768 and XAUTH transforms are skipped');
  assert.equal(c.cipher.name, 'aes-256-cbc');
  assert.equal(c.hash, 'sha256');
  assert.equal(c.group, 14);
  assert.equal(selectPhase1(p1([ike(7, 256, 2, 14, 1, 999999)]), DEFAULT_POLICY)?.lifetimeSeconds, 86400, 'lifetime capped');
  assert.equal(selectPhase1(p1([ike(7, 192, 2, 14)]), DEFAULT_POLICY), undefined, 'AES-192 not in policy');
  assert.equal(selectPhase1(p1([ike(5, undefined, 2, 2)]), { ...DEFAULT_POLICY, phase1: { ...DEFAULT_POLICY.phase1, groups: [14] } }), undefined);
});

const esp = (id: number, attrs: SaAttribute[], num = 1, proto = 3): SaPayload['proposals'][number] => ({
  number: num, protocolId: proto, spi: Uint8Array.of(0xca, 0xfe, 0, num), transforms: [{ number: 1, id, attributes: attrs }],
});

test('phase 2: ESP transport / UDP-transport by NAT state, AND-ed suites and AH skipped', () => {
  const cbc = (mode: number): SaAttribute[] => [attr(4, mode), attr(5, 2), attr(6, 128)];
  const sa: SaPayload = {
    kind: 'sa', doi: 1, situation: 1,
    proposals: [esp(2, [attr(4, 2), attr(5, 2)], 1, 2), esp(12, cbc(2), 1), esp(12, cbc(4), 2), esp(12, cbc(61444), 3), esp(12, cbc(2), 4)],
  };
  const noNat = selectPhase2(sa, DEFAULT_POLICY, { detected: false, negotiated: true });
  assert.equal(noNat?.proposal.number, 2, 'proposal 1 is AH+ESP (AND) and is skipped; forced UDP encap accepted');
  const plain = selectPhase2(sa, DEFAULT_POLICY, { detected: false, negotiated: false });
  assert.equal(plain?.proposal.number, 4);
  assert.equal(plain?.encapsulation, 'transport');
  const nat = selectPhase2(sa, DEFAULT_POLICY, { detected: true, negotiated: true });
  assert.equal(nat?.encapsulation, 'udp-transport');
  assert.equal(nat?.peerSpi, 0xcafe0002);
  // GCM must not carry an auth attribute (RFC 4106 §8.2); tunnel mode refused.
  const g: SaPayload = { kind: 'sa', doi: 1, situation: 1, proposals: [esp(20, [attr(4, 2), attr(5, 2), attr(6, 128)]), esp(12, [attr(4, 1), attr(5, 2), attr(6, 128)], 2), esp(20, [attr(4, 2), attr(6, 256), attr(3, 14)], 3)] };
  const gc = selectPhase2(g, DEFAULT_POLICY, { detected: false, negotiated: false });
  assert.equal(gc?.proposal.number, 3);
  assert.equal(gc?.encryption, 'aes-gcm-16');
  assert.equal(gc?.keyBits, 256);
  assert.equal(gc?.pfsGroup, 14);
});

test('addresses: IPv4/IPv6 text <-> bytes', () => {
  assert.deepEqual(ipToBytes('192.0.2.1'), Uint8Array.of(192, 0, 2, 1));
  assert.equal(bytesToIp(ipToBytes('2001:db8::1') ?? new Uint8Array(0)), '2001:db8:0:0:0:0:0:1');
  assert.equal(Buffer.from(ipToBytes('::ffff:192.0.2.1') ?? []).toString('hex'), '00000000000000000000ffffc0000201');
  for (const bad of ['1.2.3', '256.0.0.1', '1::2::3', 'x', '1:2:3:4:5:6:7:8:9']) assert.equal(ipToBytes(bad), undefined, bad);
});
