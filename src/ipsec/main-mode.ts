/**
 * Main Mode pieces both roles share (RFC 2409 §5, pre-shared keys): reading KE and nonce (messages
 * 3 and 4), the phase-1 key schedule, and sealing / opening the authenticated messages 5 and 6
 * (ID + HASH_I / HASH_R over the ID payload body).
 */
import { encodePayloadChain } from '../wire/ike/codec.js';
import { ExchangeType, PayloadType } from '../wire/ike/constants.js';
import type { IdPayload, IkePayload } from '../wire/ike/types.js';
import { openBody, sealMessage, type SealedMessage } from './ike-crypto.js';
import { equalBytes } from './ike-exchange.js';
import type { IkeAlgorithms } from './ike-types.js';
import { deriveSkeyids, encryptionKey, phase1Iv, skeyidPsk, type SkeyidSet } from './keys.js';
import type { Phase1Choice } from './proposals.js';

/** RFC 2409 §5: a nonce is 8 to 256 bytes. */
const NONCE_MIN = 8;
const NONCE_MAX = 256;

/** KE and nonce of Main Mode message 3 or 4, or undefined when one is missing or the nonce has a bad size. */
export function readKeNonce(ps: readonly IkePayload[]): { readonly ke: Uint8Array; readonly nonce: Uint8Array } | undefined {
  const ke = ps.find((p) => p.kind === 'ke');
  const nonce = ps.find((p) => p.kind === 'nonce');
  if (!ke || ke.kind !== 'ke' || !nonce || nonce.kind !== 'nonce' || nonce.data.length < NONCE_MIN || nonce.data.length > NONCE_MAX) return undefined;
  return { ke: ke.data, nonce: nonce.data };
}

/** The phase-1 keys: SKEYID and its three children, the encryption key and the first IV. */
export interface Phase1Secrets {
  readonly keys: SkeyidSet;
  readonly encKey: Uint8Array;
  readonly iv: Uint8Array;
}

/** The exchange values the phase-1 key schedule takes (`gxi` and `ni` are always the initiator's). */
export interface Phase1Exchange {
  readonly icookie: Uint8Array;
  readonly rcookie: Uint8Array;
  readonly gxi: Uint8Array;
  readonly gxr: Uint8Array;
  readonly ni: Uint8Array;
  readonly nr: Uint8Array;
}

/** RFC 2409 §5 (SKEYID for PSK, SKEYID_d/a/e) and App. B (encryption key, first IV). */
export function derivePhase1(c: Phase1Choice, psk: Uint8Array, x: Phase1Exchange, gxy: Uint8Array): Phase1Secrets {
  const keys = deriveSkeyids(c.hash, skeyidPsk(c.hash, psk, x.ni, x.nr), gxy, x.icookie, x.rcookie);
  return { keys, encKey: encryptionKey(c.hash, keys.e, c.cipher.keyLen), iv: phase1Iv(c.hash, x.gxi, x.gxr, c.cipher.blockSize) };
}

/** IDii_b / IDir_b: the ID payload body that HASH_I / HASH_R cover (RFC 2409 §5). */
export const idBody = (id: IdPayload): Uint8Array => encodePayloadChain([id]).subarray(4);

/** Seal message 5 or 6: HDR*, ID, HASH(mac(ID body)) [, extra] (RFC 2409 §5). */
export function sealAuthenticated(
  c: Phase1Choice, s: { readonly icookie: Uint8Array; readonly rcookie: Uint8Array; readonly encKey: Uint8Array; readonly iv: Uint8Array },
  id: IdPayload, mac: (idB: Uint8Array) => Uint8Array, extra: readonly IkePayload[] = [],
): SealedMessage {
  const chain = encodePayloadChain([id, { kind: 'hash', data: mac(idBody(id)) }, ...extra]);
  return sealMessage(c.cipher, s.encKey, s.iv, { icookie: s.icookie, rcookie: s.rcookie, exchangeType: ExchangeType.IDENTITY_PROTECTION, flags: 0, messageId: 0 }, PayloadType.ID, chain);
}

/** A verified message 5 or 6: the peer's ID payload, all payloads, and the IV for what follows. */
export interface Authenticated {
  readonly id: IdPayload;
  readonly payloads: readonly IkePayload[];
  readonly nextIv: Uint8Array;
}

/**
 * Open message 5 or 6 and check its HASH against `expected(ID body)`. With a wrong PSK the
 * decryption yields garbage, so a malformed body and a bad hash both mean "not authenticated".
 */
export function openAuthenticated(
  c: Phase1Choice, encKey: Uint8Array, iv: Uint8Array, firstPayload: number, body: Uint8Array, expected: (idB: Uint8Array) => Uint8Array,
): Authenticated | undefined {
  const o = openBody(c.cipher, encKey, iv, firstPayload, body);
  if (!o.ok) return undefined;
  const id = o.value.payloads.find((p): p is IdPayload => p.kind === 'id');
  const hp = o.value.payloads.find((p) => p.kind === 'hash');
  const idRaw = o.value.raws.find((r) => r.type === PayloadType.ID);
  if (!id || !hp || hp.kind !== 'hash' || !idRaw || !equalBytes(hp.data, expected(idRaw.body))) return undefined;
  return { id, payloads: o.value.payloads, nextIv: o.value.nextIv };
}

/** The algorithms of an IKE SA as `ike-sa-up` reports them. */
export const algorithmsOf = (c: Phase1Choice): IkeAlgorithms => ({ encryption: c.cipher.name, hash: c.hash, group: c.group, lifetimeSeconds: c.lifetimeSeconds });
