import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attr } from '../wire/ike/codec.js';
import type { SaAttribute, SaPayload } from '../wire/ike/types.js';
import { selectPhase1, selectPhase2 } from './proposals.js';
import {
  DEFAULT_ESP_PROPOSAL_NAMES, DEFAULT_IKE_PROPOSAL_NAMES, offersFromSuites, parseEspProposal, parseIkeProposal, parseProposalList, policyFromSuites,
} from './proposal-names.js';
import { EspSa } from './esp.js';
import { seededRandom } from '../base/random.js';

const must = <T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T => {
  if (!r.ok) assert.fail(JSON.stringify(r.error));
  return r.value;
};

// RFC 2409 App. A attributes: 1 encryption (7 AES, 5 3DES), 14 key length, 2 hash (2 SHA1, 4 SHA2-256),
// 3 auth (1 PSK), 4 group, 11/12 life type/duration.
const ike = (encr: number, bits: number | undefined, hash: number, group: number): SaAttribute[] => [
  attr(1, encr), ...(bits ? [attr(14, bits)] : []), attr(2, hash), attr(3, 1), attr(4, group), attr(11, 1), attr(12, 28800),
];
const p1 = (transforms: SaAttribute[][]): SaPayload => ({
  kind: 'sa', doi: 1, situation: 1,
  proposals: [{ number: 1, protocolId: 1, spi: new Uint8Array(0), transforms: transforms.map((a, i) => ({ number: i + 1, id: 1, attributes: a })) }],
});
// RFC 2407 §4.5 ESP attributes: 4 encapsulation mode (2 transport), 5 auth (2 SHA1, 5 SHA2-256), 6 key length, 3 group.
const esp2 = (id: number, attrs: SaAttribute[]): SaPayload => ({
  kind: 'sa', doi: 1, situation: 1, proposals: [{ number: 1, protocolId: 3, spi: Uint8Array.of(0xca, 0xfe, 0, 1), transforms: [{ number: 1, id, attributes: attrs }] }],
});

test('strongSwan names: phase 1 and ESP suites, aliases, errors name the token', () => {
  assert.deepEqual(must(parseIkeProposal('aes256-sha256-modp2048')), { encryption: ['aes256'], hash: ['sha256'], groups: [14] });
  assert.deepEqual(must(parseIkeProposal('AES128-3des-sha1-sha2_512-modp1024-ecp384')), { encryption: ['aes128', '3des'], hash: ['sha1', 'sha512'], groups: [2, 20] });
  assert.deepEqual(must(parseEspProposal('aes128gcm16')), { encryption: ['aes128-gcm16'], integrity: [], pfsGroups: [] });
  assert.deepEqual(must(parseEspProposal('aes256-sha1-modp2048')), { encryption: ['aes256-cbc'], integrity: ['hmac-sha1-96'], pfsGroups: [14] });
  const bad = parseIkeProposal('aes256-sha256-modp768');
  assert.ok(!bad.ok && /unknown algorithm "modp768"/.test(bad.error));
  const nogroup = parseIkeProposal('aes256-sha256');
  assert.ok(!nogroup.ok && /no DH group/.test(nogroup.error));
  const noint = parseEspProposal('aes256');
  assert.ok(!noint.ok && /needs an integrity/.test(noint.error));
  const list = parseProposalList(['3des-sha1', 'aes-md5'], parseEspProposal);
  assert.ok(!list.ok && list.error.index === 1 && /"md5"/.test(list.error.message));
  assert.ok(!parseProposalList([], parseEspProposal).ok);
  for (const n of DEFAULT_IKE_PROPOSAL_NAMES) must(parseIkeProposal(n));
  for (const n of DEFAULT_ESP_PROPOSAL_NAMES) must(parseEspProposal(n));
});

test('suites restrict combinations: aes256-sha256-modp2048 + 3des-sha1-modp1024 refuses aes256-sha1-modp2048', () => {
  const suites = [must(parseIkeProposal('aes256-sha256-modp2048')), must(parseIkeProposal('3des-sha1-modp1024'))];
  const policy = policyFromSuites(suites, undefined, { ikeLifetimeSeconds: 3600, childLifetimeSeconds: 3600 });
  assert.equal(selectPhase1(p1([ike(7, 256, 2, 14)]), policy), undefined, 'AES256/SHA1/MODP2048 crosses suites');
  assert.equal(selectPhase1(p1([ike(7, 256, 2, 14), ike(5, undefined, 2, 2)]), policy)?.transform.number, 2);
  assert.equal(selectPhase1(p1([ike(7, 256, 4, 14)]), policy)?.lifetimeSeconds, 3600);
  const p2 = policyFromSuites(undefined, [must(parseEspProposal('aes128gcm16')), must(parseEspProposal('3des-sha1'))], { ikeLifetimeSeconds: 1, childLifetimeSeconds: 1 });
  const nat = { detected: false, negotiated: false };
  assert.equal(selectPhase2(esp2(12, [attr(4, 2), attr(5, 2), attr(6, 128)]), p2, nat), undefined, 'AES-CBC not listed');
  assert.equal(selectPhase2(esp2(3, [attr(4, 2), attr(5, 2)]), p2, nat)?.encryption, '3des-cbc');
  assert.equal(selectPhase2(esp2(20, [attr(4, 2), attr(6, 128)]), p2, nat)?.encryption, 'aes-gcm-16');
});

test('Android quirk: SHA-256 truncated to 96 bits when the policy says so, and ESP works with it', () => {
  const sa = esp2(12, [attr(4, 2), attr(5, 5), attr(6, 128)]);
  const nat = { detected: false, negotiated: false };
  assert.equal(selectPhase2(sa, policyFromSuites(undefined, undefined, { ikeLifetimeSeconds: 1, childLifetimeSeconds: 1 }), nat)?.integrity, 'hmac-sha256-128');
  const quirk = policyFromSuites(undefined, undefined, { ikeLifetimeSeconds: 1, childLifetimeSeconds: 1, sha256Truncation: 96 });
  assert.equal(selectPhase2(sa, quirk, nat)?.integrity, 'hmac-sha256-96');
  const params = { spi: 0x1000, encryption: 'aes-cbc' as const, encryptionKey: new Uint8Array(16).fill(1), integrity: 'hmac-sha256-96' as const, integrityKey: new Uint8Array(32).fill(2) };
  const tx = new EspSa(params, seededRandom(1));
  const rx = new EspSa(params, seededRandom(2));
  const pkt = must(tx.encrypt(Uint8Array.of(1, 2, 3)));
  // 8 header + 16 IV + 16 ciphertext + 12-byte ICV.
  assert.equal(pkt.length, 8 + 16 + 16 + 12);
  assert.deepEqual([...must(rx.decrypt(pkt)).payload], [1, 2, 3]);
});

test('initiator offers: every combination in order, one PFS group, sha256_96 applied', () => {
  const o = must(offersFromSuites([must(parseIkeProposal('aes256-aes128-sha256-modp2048'))], [must(parseEspProposal('aes128gcm16-aes256-sha256-sha1'))], true));
  assert.deepEqual(o.proposals.phase1.map((x) => `${x.encryption}/${x.hash}/${x.group}`), ['aes256/sha256/14', 'aes128/sha256/14']);
  assert.deepEqual(o.proposals.phase2, [{ encryption: 'aes128-gcm16' }, { encryption: 'aes256-cbc', integrity: 'hmac-sha256-96' }, { encryption: 'aes256-cbc', integrity: 'hmac-sha1-96' }]);
  assert.equal(o.pfsGroup, undefined);
  const two = offersFromSuites([must(parseIkeProposal('aes256-sha1-modp2048'))], [must(parseEspProposal('aes256-sha1-modp2048')), must(parseEspProposal('aes128-sha1-ecp256'))]);
  assert.ok(!two.ok);
});
