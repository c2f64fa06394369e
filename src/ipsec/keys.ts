/**
 * IKEv1 key derivation for pre-shared-key authentication (RFC 2409 §5, §5.5, Appendix B) and the
 * phase-1/phase-2 CBC IV rules. Pure functions over byte arrays; node:crypto for HMAC and hashes.
 */
import { createHash, createHmac } from 'node:crypto';

/** The negotiated IKE hash, named as node:crypto names it. The prf is always HMAC of it (RFC 2409 §4). */
export type IkeHashName = 'md5' | 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** HMAC output / hash length in bytes. */
export const hashLength = (h: IkeHashName): number =>
  ({ md5: 16, sha1: 20, sha256: 32, sha384: 48, sha512: 64 })[h];

/** prf(key, a | b | ...) = HMAC-hash (RFC 2409 §4 "the HMAC version of the negotiated hash"). */
export function prf(h: IkeHashName, key: Uint8Array, ...parts: readonly Uint8Array[]): Uint8Array {
  const m = createHmac(h, key);
  for (const p of parts) m.update(p);
  return new Uint8Array(m.digest());
}

/** hash(a | b | ...) with the negotiated hash function. */
export function hash(h: IkeHashName, ...parts: readonly Uint8Array[]): Uint8Array {
  const m = createHash(h);
  for (const p of parts) m.update(p);
  return new Uint8Array(m.digest());
}

const u8 = (n: number): Uint8Array => Uint8Array.of(n & 0xff);
/** 4-byte big-endian message id. */
export function messageIdBytes(id: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, id >>> 0);
  return b;
}

/** RFC 2409 §5: for pre-shared keys, SKEYID = prf(pre-shared-key, Ni_b | Nr_b). */
export function skeyidPsk(h: IkeHashName, psk: Uint8Array, niB: Uint8Array, nrB: Uint8Array): Uint8Array {
  return prf(h, psk, niB, nrB);
}

/** The three keys derived from SKEYID (RFC 2409 §5). */
export interface SkeyidSet {
  readonly skeyid: Uint8Array;
  /** Keying material for non-ISAKMP SAs (KEYMAT). */ readonly d: Uint8Array;
  /** Authentication key for ISAKMP messages. */ readonly a: Uint8Array;
  /** Encryption key material for ISAKMP messages. */ readonly e: Uint8Array;
}

/**
 * RFC 2409 §5:
 *   SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
 *   SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
 *   SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
 */
export function deriveSkeyids(h: IkeHashName, skeyid: Uint8Array, gxy: Uint8Array, ckyI: Uint8Array, ckyR: Uint8Array): SkeyidSet {
  const d = prf(h, skeyid, gxy, ckyI, ckyR, u8(0));
  const a = prf(h, skeyid, d, gxy, ckyI, ckyR, u8(1));
  const e = prf(h, skeyid, a, gxy, ckyI, ckyR, u8(2));
  return { skeyid, d, a, e };
}

/**
 * RFC 2409 Appendix B: when SKEYID_e is shorter than the cipher key, Ka = K1 | K2 | ... with
 * K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, K(n-1)); otherwise the leftmost bytes of SKEYID_e.
 */
export function encryptionKey(h: IkeHashName, skeyidE: Uint8Array, keyLen: number): Uint8Array {
  if (skeyidE.length >= keyLen) return skeyidE.slice(0, keyLen);
  const out = new Uint8Array(keyLen);
  let k = prf(h, skeyidE, u8(0));
  let off = 0;
  for (;;) {
    out.set(k.subarray(0, Math.min(k.length, keyLen - off)), off);
    off += k.length;
    if (off >= keyLen) return out;
    k = prf(h, skeyidE, k);
  }
}

/** RFC 2409 §5 / Appendix B: phase-1 IV = hash(g^xi | g^xr), truncated to the cipher block size. */
export function phase1Iv(h: IkeHashName, gxi: Uint8Array, gxr: Uint8Array, blockSize: number): Uint8Array {
  return hash(h, gxi, gxr).slice(0, blockSize);
}

/**
 * RFC 2409 Appendix B: the IV of a phase-2 (Quick Mode) or informational exchange is
 * hash(last phase-1 CBC output block | M-ID), truncated to the block size.
 */
export function phase2Iv(h: IkeHashName, lastPhase1Iv: Uint8Array, messageId: number, blockSize: number): Uint8Array {
  return hash(h, lastPhase1Iv, messageIdBytes(messageId)).slice(0, blockSize);
}

/** RFC 2409 §5: HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b). */
export function hashI(
  h: IkeHashName, skeyid: Uint8Array, gxi: Uint8Array, gxr: Uint8Array,
  ckyI: Uint8Array, ckyR: Uint8Array, saiB: Uint8Array, idiiB: Uint8Array,
): Uint8Array {
  return prf(h, skeyid, gxi, gxr, ckyI, ckyR, saiB, idiiB);
}

/** RFC 2409 §5: HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b). */
export function hashR(
  h: IkeHashName, skeyid: Uint8Array, gxi: Uint8Array, gxr: Uint8Array,
  ckyI: Uint8Array, ckyR: Uint8Array, saiB: Uint8Array, idirB: Uint8Array,
): Uint8Array {
  return prf(h, skeyid, gxr, gxi, ckyR, ckyI, saiB, idirB);
}

/**
 * RFC 2409 §5.5 HASH(1) = prf(SKEYID_a, M-ID | <payloads after HASH>); the same formula protects
 * informational exchanges (§5.7).
 */
export function qmHash1(h: IkeHashName, skeyidA: Uint8Array, messageId: number, after: Uint8Array): Uint8Array {
  return prf(h, skeyidA, messageIdBytes(messageId), after);
}

/** RFC 2409 §5.5 HASH(2) = prf(SKEYID_a, M-ID | Ni_b | <payloads after HASH>). */
export function qmHash2(h: IkeHashName, skeyidA: Uint8Array, messageId: number, niB: Uint8Array, after: Uint8Array): Uint8Array {
  return prf(h, skeyidA, messageIdBytes(messageId), niB, after);
}

/** RFC 2409 §5.5 HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b). */
export function qmHash3(h: IkeHashName, skeyidA: Uint8Array, messageId: number, niB: Uint8Array, nrB: Uint8Array): Uint8Array {
  return prf(h, skeyidA, u8(0), messageIdBytes(messageId), niB, nrB);
}

/**
 * RFC 2409 §5.5 KEYMAT = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b), expanded as
 * K1 | K2 | ... with Kn = prf(SKEYID_d, K(n-1) | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b).
 * `spi` is the SPI chosen by the receiving side of the SA the keys are for.
 */
export function keymat(
  h: IkeHashName, skeyidD: Uint8Array, protocol: number, spi: Uint8Array,
  niB: Uint8Array, nrB: Uint8Array, length: number, gxyQm?: Uint8Array,
): Uint8Array {
  const seed: Uint8Array[] = [];
  if (gxyQm !== undefined) seed.push(gxyQm);
  seed.push(u8(protocol), spi, niB, nrB);
  const out = new Uint8Array(length);
  let k = prf(h, skeyidD, ...seed);
  let off = 0;
  for (;;) {
    out.set(k.subarray(0, Math.min(k.length, length - off)), off);
    off += k.length;
    if (off >= length) return out;
    k = prf(h, skeyidD, k, ...seed);
  }
}
