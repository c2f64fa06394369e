/**
 * IKEv1 message protection: CBC encryption of the payload chain after the ISAKMP header
 * (RFC 2408 §3.1 E flag, RFC 2409 §5.3 and Appendix B IV chaining), messages protected by a leading
 * HASH payload (Quick Mode and informational exchanges, RFC 2409 §5.5 / §5.7) and NAT-D hashes
 * (RFC 3947 §3.2).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { err, ipToBytes, ok, type Result } from '../base/index.js';
import { decodePayload, emitIsakmpHeader, encodePayloadChain, type IkePayload, ISAKMP_HEADER_LENGTH, type IsakmpHeader, parsePayloadChain, payloadTypeOf, type RawPayload } from '../wire/ike/index.js';
import { hash, phase2Iv, type IkeHashName, type SkeyidSet } from './keys.js';
import type { Phase1Choice } from './proposals.js';
import { type Endpoint } from './addr.js';

/** Phase-1 cipher: node:crypto name, key and block length. */
export interface IkeCipher {
  readonly name: 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc' | 'des-ede3-cbc';
  readonly keyLen: number;
  readonly blockSize: number;
}

/** Cipher for RFC 2409 App. A encryption algorithm value + key length (bits), if supported. */
export function ikeCipher(encr: number, keyBits: number | undefined): IkeCipher | undefined {
  if (encr === 5) return { name: 'des-ede3-cbc', keyLen: 24, blockSize: 8 };
  if (encr === 7) {
    // RFC 3602 §5 / RFC 2409 App. A: AES needs the Key Length attribute; 128 when absent (racoon default).
    const bits = keyBits ?? 128;
    if (bits === 128) return { name: 'aes-128-cbc', keyLen: 16, blockSize: 16 };
    if (bits === 192) return { name: 'aes-192-cbc', keyLen: 24, blockSize: 16 };
    if (bits === 256) return { name: 'aes-256-cbc', keyLen: 32, blockSize: 16 };
  }
  return undefined;
}

/** Decrypted message body: decoded payloads, raw views, and the chain's exact bytes for hashing. */
export interface OpenedBody {
  readonly payloads: readonly IkePayload[];
  readonly raws: readonly RawPayload[];
  /** Plaintext (payload chain followed by padding). */
  readonly plain: Uint8Array;
  /** End of the payload chain inside `plain` (padding starts here). */
  readonly chainEnd: number;
  /** Last ciphertext block: the IV for the next message of the exchange (RFC 2409 App. B). */
  readonly nextIv: Uint8Array;
}

/** Why an encrypted body did not open. */
export type OpenError = { readonly kind: 'bad-ciphertext-length'; readonly length: number } | { readonly kind: 'malformed'; readonly detail: string };

/** Decrypt and parse an E-flag body (everything after the header up to header.length). */
export function openBody(c: IkeCipher, key: Uint8Array, iv: Uint8Array, firstPayload: number, body: Uint8Array): Result<OpenedBody, OpenError> {
  if (body.length === 0 || body.length % c.blockSize !== 0) return err({ kind: 'bad-ciphertext-length', length: body.length });
  const d = createDecipheriv(c.name, key, iv);
  d.setAutoPadding(false);
  const plain = new Uint8Array(Buffer.concat([d.update(body), d.final()]));
  const chain = parsePayloadChain(firstPayload, plain);
  if (!chain.ok) return err({ kind: 'malformed', detail: chain.error.kind });
  const payloads: IkePayload[] = [];
  for (const raw of chain.value.payloads) {
    const p = decodePayload(raw);
    if (!p.ok) return err({ kind: 'malformed', detail: `${p.error.kind} in payload ${raw.type}` });
    payloads.push(p.value);
  }
  return ok({ payloads, raws: chain.value.payloads, plain, chainEnd: chain.value.end, nextIv: body.slice(body.length - c.blockSize) });
}

/** An encrypted message and the IV for the next message (its last cipher block). */
export interface SealedMessage {
  readonly bytes: Uint8Array;
  readonly nextIv: Uint8Array;
}

/**
 * Encrypt `chain` (an encoded payload chain whose first payload has type `firstPayload`), zero-padded
 * to the block size (RFC 2409 §5.3 padding), and prefix the header with the E flag set.
 */
export function sealMessage(
  c: IkeCipher, key: Uint8Array, iv: Uint8Array,
  h: Omit<IsakmpHeader, 'length' | 'nextPayload' | 'version'>, firstPayload: number, chain: Uint8Array,
): SealedMessage {
  const padded = new Uint8Array(Math.ceil(chain.length / c.blockSize) * c.blockSize || c.blockSize);
  padded.set(chain);
  const e = createCipheriv(c.name, key, iv);
  e.setAutoPadding(false);
  const ct = Buffer.concat([e.update(padded), e.final()]);
  const out = new Uint8Array(ISAKMP_HEADER_LENGTH + ct.length);
  emitIsakmpHeader({ ...h, version: 0x10, flags: h.flags | 0x01, nextPayload: firstPayload, length: out.length }, out, 0);
  out.set(ct, ISAKMP_HEADER_LENGTH);
  return { bytes: out, nextIv: new Uint8Array(ct.subarray(ct.length - c.blockSize)) };
}

/**
 * Encode `[HASH(prf(...)), ...rest]`: the hash is computed by `mac` over the encoded bytes of
 * `rest` (RFC 2409 §5.5: "the entire message that follows the HASH payload").
 */
export function chainWithHash(rest: readonly IkePayload[], mac: (after: Uint8Array) => Uint8Array): { first: number; chain: Uint8Array } {
  const after = encodePayloadChain(rest);
  const h = mac(after);
  const first = rest[0];
  const out = new Uint8Array(4 + h.length + after.length);
  out[0] = first === undefined ? 0 : payloadTypeOf(first);
  out[2] = (4 + h.length) >> 8;
  out[3] = (4 + h.length) & 0xff;
  out.set(h, 4);
  out.set(after, 4 + h.length);
  return { first: 8, chain: out };
}

/** RFC 3947 §3.2: NAT-D = HASH(CKY-I | CKY-R | IP | Port). */
export function natDHash(h: IkeHashName, ckyI: Uint8Array, ckyR: Uint8Array, ep: Endpoint): Uint8Array {
  const ip = ipToBytes(ep.address) ?? new Uint8Array(0);
  return hash(h, ckyI, ckyR, ip, Uint8Array.of((ep.port >> 8) & 0xff, ep.port & 0xff));
}

/** What protecting a message after Main Mode needs of an IKE SA (RFC 2409 §5.5, §5.7, App. B). */
export interface Phase1Keys {
  readonly icookie: Uint8Array;
  readonly rcookie: Uint8Array;
  readonly choice: Phase1Choice;
  readonly keys: SkeyidSet;
  readonly encKey: Uint8Array;
  /** The last phase-1 CBC block: the base of every phase-2 IV. */
  readonly iv: Uint8Array;
}

/** RFC 2409 App. B: the first IV of the exchange with Message ID `mid`. */
export const phase2IvOf = (p: Phase1Keys, mid: number): Uint8Array => phase2Iv(p.choice.hash, p.iv, mid, p.choice.cipher.blockSize);

/** A message whose first payload is HASH: the payloads, the hash value and the bytes it covers. */
export interface HashedBody {
  readonly opened: OpenedBody;
  readonly hash: Uint8Array;
  /** Everything after the HASH payload up to the padding ("the entire message that follows the HASH"). */
  readonly after: Uint8Array;
}

/** Why a hash-protected body did not open: it did not decrypt/parse, or its first payload is not HASH. */
export type HashedError = 'undecryptable' | 'no-hash';

/** Decrypt `body` with `iv` and split off its leading HASH payload (RFC 2409 §5.5, §5.7). */
export function openHashed(p: Phase1Keys, iv: Uint8Array, h: IsakmpHeader, body: Uint8Array): Result<HashedBody, HashedError> {
  const o = openBody(p.choice.cipher, p.encKey, iv, h.nextPayload, body);
  if (!o.ok) return err('undecryptable');
  const first = o.value.payloads[0];
  if (!first || first.kind !== 'hash') return err('no-hash');
  const second = o.value.raws[1];
  const after = second ? o.value.plain.subarray(second.offset, o.value.chainEnd) : new Uint8Array(0);
  return ok({ opened: o.value, hash: first.data, after });
}

/** Seal `HDR*, HASH(mac(rest)), rest` with `iv` on the IKE SA of `p` (Quick Mode, informational). */
export function sealHashed(
  p: Phase1Keys, iv: Uint8Array, exchangeType: number, messageId: number, rest: readonly IkePayload[], mac: (after: Uint8Array) => Uint8Array,
): SealedMessage {
  const { first, chain } = chainWithHash(rest, mac);
  return sealMessage(p.choice.cipher, p.encKey, iv, { icookie: p.icookie, rcookie: p.rcookie, exchangeType, flags: 0, messageId }, first, chain);
}
