import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, getCiphers } from 'node:crypto';
import fc from 'fast-check';
import { md4 } from './md4.js';
import { desEncryptBlock, expandDesKey } from './des.js';
import {
  ntPasswordHash,
  hashNtPasswordHash,
  challengeHash,
  challengeResponse,
  generateNtResponse,
  generateAuthenticatorResponse,
  chapMd5Response,
} from './mschapv2-crypto.js';
import { fromHex, toHex } from '../../base/index.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

test('md4: RFC 1320 §A.5 test suite', () => {
  const v: [string, string][] = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  for (const [m, h] of v) assert.equal(toHex(md4(ascii(m))), h, JSON.stringify(m));
});

test('des: FIPS vectors', () => {
  // Classic worked example: key 133457799BBCDFF1, plaintext 0123456789ABCDEF.
  assert.equal(toHex(desEncryptBlock(fromHex('133457799BBCDFF1'), fromHex('0123456789ABCDEF'))), '85e813540f0ab405');
  // FIPS 81 appendix B: key 0123456789abcdef, "Now is t".
  assert.equal(toHex(desEncryptBlock(fromHex('0123456789abcdef'), ascii('Now is t'))), '3fa40e8a984d4815');
  // NBS SP 500-20 variable-plaintext first entry: key 0101010101010101, plaintext 8000000000000000.
  assert.equal(toHex(desEncryptBlock(fromHex('0101010101010101'), fromHex('8000000000000000'))), '95f8a5e5dd31d900');
});

test('des: agrees with OpenSSL 2-key EDE where K1 = K2 (E_K(D_K(E_K(x))) = E_K(x))', { skip: !getCiphers().includes('des-ede-ecb') }, () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.uint8Array({ minLength: 8, maxLength: 8 }), (key, block) => {
      const c = createCipheriv('des-ede-ecb', Buffer.concat([key, key]), null).setAutoPadding(false);
      const ref = Buffer.concat([c.update(block), c.final()]);
      assert.equal(toHex(desEncryptBlock(key, block)), ref.toString('hex'));
    }),
    { numRuns: 30 },
  );
});

test('des: 7-octet key expansion', () => {
  assert.equal(toHex(expandDesKey(fromHex('ffffffffffffff'))), 'fefefefefefefefe');
  assert.equal(toHex(expandDesKey(fromHex('80000000000000'))), '8000000000000000');
});

// RFC 2759 §9.2 hash example.
const userName = 'User';
const password = 'clientPass';
const authChallenge = fromHex('5B5D7C7D7B3F2F3E3C2C602132262628');
const peerChallenge = fromHex('21402324255E262A28295F2B3A337C7E');

test('mschapv2: RFC 2759 §9.2 vectors', () => {
  assert.equal(toHex(challengeHash(peerChallenge, authChallenge, userName)).toUpperCase(), 'D02E4386BCE91226');
  const pwHash = ntPasswordHash(password);
  assert.equal(toHex(pwHash).toUpperCase(), '44EBBA8D5312B8D611474411F56989AE');
  assert.equal(toHex(hashNtPasswordHash(pwHash)).toUpperCase(), '41C00C584BD2D91C4017A2A12FA59F3F');
  const nt = generateNtResponse(authChallenge, peerChallenge, userName, password);
  assert.equal(toHex(nt).toUpperCase(), '82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF');
  assert.deepEqual(challengeResponse(fromHex('D02E4386BCE91226'), pwHash), nt);
  const auth = generateAuthenticatorResponse(password, nt, peerChallenge, authChallenge, userName);
  assert.equal(toHex(auth).toUpperCase(), '407A5589115FD0D6209F510FE9C04566932CDA56');
  // A domain prefix is stripped before ChallengeHash (§8.2).
  assert.deepEqual(challengeHash(peerChallenge, authChallenge, 'CORP\\User'), challengeHash(peerChallenge, authChallenge, userName));
});

test('chap-md5: RFC 1994 response', () => {
  // MD5(0x01 || "secret" || 0x00..0x0f), checked against node:crypto independently.
  const r = chapMd5Response(1, ascii('secret'), fromHex('000102030405060708090a0b0c0d0e0f'));
  assert.equal(r.length, 16);
  assert.notDeepEqual(r, chapMd5Response(2, ascii('secret'), fromHex('000102030405060708090a0b0c0d0e0f')));
});
