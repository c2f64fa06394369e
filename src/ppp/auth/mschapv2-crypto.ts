/**
 * MS-CHAPv2 algorithms (RFC 2759 §8) and the CHAP-MD5 response (RFC 1994 §2). The MPPE key
 * derivation (RFC 3079) is out of scope: we do not negotiate CCP/MPPE.
 */
import { createHash } from 'node:crypto';
import { md4 } from './md4.js';
import { desEncryptBlock, expandDesKey } from './des.js';

const sha1 = (...parts: readonly Uint8Array[]): Uint8Array => {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** RFC 1994 §2: Response = MD5(Identifier || secret || Challenge). */
export function chapMd5Response(identifier: number, secret: Uint8Array, challenge: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('md5').update(Uint8Array.of(identifier & 0xff)).update(secret).update(challenge).digest());
}

/** RFC 2759 §8.3 NtPasswordHash: MD4 of the password in UTF-16LE ("Unicode"). */
export function ntPasswordHash(password: string): Uint8Array {
  return md4(new Uint8Array(Buffer.from(password, 'utf16le')));
}

/** RFC 2759 §8.4 HashNtPasswordHash. */
export const hashNtPasswordHash = (passwordHash: Uint8Array): Uint8Array => md4(passwordHash);

/** RFC 2759 §8.2: the user name without any "DOMAIN\" prefix. */
export function stripDomain(userName: string): string {
  const i = userName.lastIndexOf('\\');
  return i >= 0 ? userName.slice(i + 1) : userName;
}

/** RFC 2759 §8.2 ChallengeHash: first 8 octets of SHA1(PeerChallenge || AuthenticatorChallenge || UserName). */
export function challengeHash(peerChallenge: Uint8Array, authenticatorChallenge: Uint8Array, userName: string): Uint8Array {
  return sha1(peerChallenge, authenticatorChallenge, ascii(stripDomain(userName))).subarray(0, 8);
}

/** RFC 2759 §8.5 ChallengeResponse: DES of the challenge under the three 7-octet thirds of the zero-padded hash. */
export function challengeResponse(challenge: Uint8Array, passwordHash: Uint8Array): Uint8Array {
  const z = new Uint8Array(21);
  z.set(passwordHash.subarray(0, 16));
  const out = new Uint8Array(24);
  for (let i = 0; i < 3; i++) out.set(desEncryptBlock(expandDesKey(z.subarray(7 * i, 7 * i + 7)), challenge), 8 * i);
  return out;
}

/** RFC 2759 §8.1 GenerateNTResponse. */
export function generateNtResponse(authenticatorChallenge: Uint8Array, peerChallenge: Uint8Array, userName: string, password: string): Uint8Array {
  return challengeResponse(challengeHash(peerChallenge, authenticatorChallenge, userName), ntPasswordHash(password));
}

/** RFC 2759 §8.7 Magic1 / Magic2. */
const MAGIC1 = ascii('Magic server to client signing constant');
const MAGIC2 = ascii('Pad to make it do more than one iteration');

/** RFC 2759 §8.7 GenerateAuthenticatorResponse from the password hash (20 octets; "S=" + hex on the wire). */
export function generateAuthenticatorResponseFromHash(
  passwordHash: Uint8Array,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  userName: string,
): Uint8Array {
  const digest = sha1(hashNtPasswordHash(passwordHash), ntResponse, MAGIC1);
  return sha1(digest, challengeHash(peerChallenge, authenticatorChallenge, userName), MAGIC2);
}

/** RFC 2759 §8.7 GenerateAuthenticatorResponse from the clear-text password. */
export function generateAuthenticatorResponse(
  password: string,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  userName: string,
): Uint8Array {
  return generateAuthenticatorResponseFromHash(ntPasswordHash(password), ntResponse, peerChallenge, authenticatorChallenge, userName);
}
