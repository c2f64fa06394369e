/**
 * Main Mode pieces both roles share (RFC 2409 §5, pre-shared keys): reading KE and nonce (messages
 * 3 and 4), the phase-1 key schedule, HASH_I / HASH_R, sealing / opening the authenticated
 * messages 5 and 6 (ID + hash over the ID payload body), and the `ike-sa-up` event.
 */
import { encodePayloadChain, ExchangeType, type IdPayload, type IkePayload, PayloadType } from '../wire/ike/index.js';
import { openBody, sealMessage, type SealedMessage } from './ike-crypto.js';
import { equalBytes } from './ike-exchange.js';
import type { IkeSaState, Keyed } from './ike-sa.js';
import type { IkeDatagram, IkeIdentity, IkeSaUp, NatVariant } from './ike-types.js';
import { deriveSkeyids, encryptionKey, hashI, hashR, phase1Iv, skeyidPsk } from './keys.js';
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

/**
 * RFC 2409 §5 (SKEYID for PSK, SKEYID_d/a/e) and App. B (encryption key, first IV) from the
 * exchanged values on `sa` and the DH shared secret.
 */
export function keyPhase1(sa: IkeSaState<unknown> & { readonly choice: Phase1Choice }, psk: Uint8Array, gxy: Uint8Array): void {
  const h = sa.choice.hash;
  sa.keys = deriveSkeyids(h, skeyidPsk(h, psk, sa.ni, sa.nr), gxy, sa.icookie, sa.rcookie);
  sa.encKey = encryptionKey(h, sa.keys.e, sa.choice.cipher.keyLen);
  sa.iv = phase1Iv(h, sa.gxi, sa.gxr, sa.choice.cipher.blockSize);
}

/**
 * RFC 2409 §5: HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b), HASH_R with the
 * DH values and cookies swapped; `sa` names the one the ID body is for.
 */
export function authHash(sa: Keyed<IkeSaState<unknown>>, of: 'initiator' | 'responder'): (idB: Uint8Array) => Uint8Array {
  const f = of === 'initiator' ? hashI : hashR;
  return (idB) => f(sa.choice.hash, sa.keys.skeyid, sa.gxi, sa.gxr, sa.icookie, sa.rcookie, sa.saiB, idB);
}

/** What a received Main Mode message hands to its row's actions. */
export interface MainModeInput {
  readonly d: IkeDatagram;
  readonly data: Uint8Array;
  /** MM5 / MM6: the peer's ID payload. */
  readonly id?: IdPayload;
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

/** The `ike-sa-up` event of an IKE SA whose Main Mode is done. */
export function ikeSaUp(sa: IkeSaState<unknown> & { readonly choice: Phase1Choice }, peerId: IkeIdentity, natt: NatVariant): IkeSaUp {
  const c = sa.choice;
  return {
    type: 'ike-sa-up',
    ikeSaId: sa.id,
    local: sa.local,
    remote: sa.remote,
    peerId,
    algorithms: { encryption: c.cipher.name, hash: c.hash, group: c.group, lifetimeSeconds: c.lifetimeSeconds },
    natT: { variant: natt, localBehindNat: sa.localBehindNat, remoteBehindNat: sa.remoteBehindNat },
  };
}
