/**
 * SA payloads of IKEv1 (RFC 2408 §3.4-3.6, attribute values of RFC 2409 App. A and RFC 2407 §4.5):
 * the initiator's offers for Main Mode and Quick Mode, the responder's echo of the transform it
 * accepted (RFC 2408 §4.2: returned unchanged), and the policy that accepts exactly what we offered.
 */
import { toHex } from '../base/index.js';
import { attr, DOI_IPSEC, EspAuth, EspTransformId, Ike1Attr, Ike1Auth, Ike1Encr, Ike1Hash, Ipsec2Attr, KEY_IKE, LifeType, type Proposal, ProtocolId, type SaAttribute, type SaPayload, SIT_IDENTITY_ONLY, type Transform } from '../wire/ike/index.js';
import type { DhGroupNumber } from './dh.js';
import type { EspIntegrity } from './esp.js';
import { spiBytes } from './ike-exchange.js';
import type { IkeHashName } from './keys.js';
import type { IkePolicy, Phase1Encryption, Phase2Encryption } from './proposals.js';

/** One phase-1 transform we offer. */
export interface Phase1Offer {
  readonly encryption: Phase1Encryption;
  readonly hash: IkeHashName;
  readonly group: DhGroupNumber;
}

/** One ESP transform we offer (integrity is ignored for GCM). */
export interface Phase2Offer {
  readonly encryption: Phase2Encryption;
  readonly integrity?: Exclude<EspIntegrity, 'none'>;
}

/** What the initiator proposes, in order of preference. */
export interface InitiatorProposals {
  readonly phase1: readonly Phase1Offer[];
  readonly phase2: readonly Phase2Offer[];
}

/** Proposals accepted by Windows, macOS, strongSwan and libreswan L2TP/IPsec servers. */
export const DEFAULT_INITIATOR_PROPOSALS: InitiatorProposals = {
  phase1: [
    { encryption: 'aes256', hash: 'sha256', group: 14 },
    { encryption: 'aes128', hash: 'sha1', group: 14 },
    { encryption: 'aes256', hash: 'sha1', group: 2 },
    { encryption: '3des', hash: 'sha1', group: 2 },
  ],
  phase2: [
    { encryption: 'aes256-cbc', integrity: 'hmac-sha1-96' },
    { encryption: 'aes128-cbc', integrity: 'hmac-sha1-96' },
    { encryption: 'aes128-gcm16' },
    { encryption: '3des-cbc', integrity: 'hmac-sha1-96' },
  ],
};

/** RFC 2409 App. A encryption algorithm and key length of each phase-1 cipher. */
const P1_ENCR: Record<Phase1Encryption, { id: number; bits?: number }> = {
  aes128: { id: Ike1Encr.AES_CBC, bits: 128 },
  aes256: { id: Ike1Encr.AES_CBC, bits: 256 },
  '3des': { id: Ike1Encr.TRIPLE_DES_CBC },
};
/** RFC 2409 App. A / RFC 4868 hash algorithm values. */
const P1_HASH: Record<IkeHashName, number> = {
  md5: Ike1Hash.MD5, sha1: Ike1Hash.SHA1, sha256: Ike1Hash.SHA2_256, sha384: Ike1Hash.SHA2_384, sha512: Ike1Hash.SHA2_512,
};
/** RFC 2407 §4.4.4 ESP transform ids (RFC 3602 AES-CBC, RFC 4106 GCM) and key lengths. */
const P2_ENCR: Record<Phase2Encryption, { id: number; bits?: number; gcm: boolean }> = {
  'aes128-cbc': { id: EspTransformId.AES_CBC, bits: 128, gcm: false },
  'aes256-cbc': { id: EspTransformId.AES_CBC, bits: 256, gcm: false },
  'aes128-gcm16': { id: EspTransformId.AES_GCM_16, bits: 128, gcm: true },
  'aes256-gcm16': { id: EspTransformId.AES_GCM_16, bits: 256, gcm: true },
  '3des-cbc': { id: EspTransformId.TRIPLE_DES, gcm: false },
};
/** RFC 2407 §4.5 authentication algorithm values (RFC 4868 for SHA-2). */
const P2_AUTH: Record<Exclude<EspIntegrity, 'none'>, number> = {
  'hmac-sha1-96': EspAuth.HMAC_SHA1,
  'hmac-sha256-128': EspAuth.HMAC_SHA2_256,
  // Same transform on the wire; only the ICV length differs (per-peer quirk).
  'hmac-sha256-96': EspAuth.HMAC_SHA2_256,
  'hmac-sha384-192': EspAuth.HMAC_SHA2_384,
  'hmac-sha512-256': EspAuth.HMAC_SHA2_512,
};

/** Main Mode SA: one ISAKMP proposal with a transform per offer, PSK, lifetime in seconds (RFC 2409 §5). */
export function phase1OfferSa(offers: readonly Phase1Offer[], lifetimeSeconds: number): SaPayload {
  const transforms: Transform[] = offers.map((o, i) => {
    const e = P1_ENCR[o.encryption];
    const a: SaAttribute[] = [attr(Ike1Attr.ENCRYPTION_ALGORITHM, e.id)];
    if (e.bits !== undefined) a.push(attr(Ike1Attr.KEY_LENGTH, e.bits));
    a.push(attr(Ike1Attr.HASH_ALGORITHM, P1_HASH[o.hash]), attr(Ike1Attr.AUTHENTICATION_METHOD, Ike1Auth.PSK), attr(Ike1Attr.GROUP_DESCRIPTION, o.group));
    a.push(attr(Ike1Attr.LIFE_TYPE, LifeType.SECONDS), attr(Ike1Attr.LIFE_DURATION, lifetimeSeconds));
    return { number: i + 1, id: KEY_IKE, attributes: a };
  });
  return { kind: 'sa', doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY, proposals: [{ number: 1, protocolId: ProtocolId.ISAKMP, spi: new Uint8Array(0), transforms }] };
}

/** What a Quick Mode offer carries besides the transforms. */
export interface Phase2OfferTerms {
  /** Our inbound SPI. */
  readonly spi: number;
  /** RFC 2407 §4.5 / RFC 3947 §5.1 encapsulation mode value. */
  readonly encapsulation: number;
  readonly lifetimeSeconds: number;
  readonly lifetimeKilobytes: number | undefined;
  readonly pfsGroup: DhGroupNumber | undefined;
}

/** Quick Mode SA: one ESP proposal with a transform per offer (RFC 2409 §5.5, RFC 2407 §4.5). */
export function phase2OfferSa(offers: readonly Phase2Offer[], terms: Phase2OfferTerms): SaPayload {
  const transforms: Transform[] = offers.map((o, i) => {
    const e = P2_ENCR[o.encryption];
    const a: SaAttribute[] = [attr(Ipsec2Attr.SA_LIFE_TYPE, LifeType.SECONDS), attr(Ipsec2Attr.SA_LIFE_DURATION, terms.lifetimeSeconds)];
    // RFC 2407 §4.5: a second (type, duration) pair for the byte lifetime.
    if (terms.lifetimeKilobytes !== undefined) a.push(attr(Ipsec2Attr.SA_LIFE_TYPE, LifeType.KILOBYTES), attr(Ipsec2Attr.SA_LIFE_DURATION, terms.lifetimeKilobytes));
    a.push(attr(Ipsec2Attr.ENCAPSULATION_MODE, terms.encapsulation));
    if (!e.gcm) a.push(attr(Ipsec2Attr.AUTH_ALGORITHM, P2_AUTH[o.integrity ?? 'hmac-sha1-96']));
    if (e.bits !== undefined) a.push(attr(Ipsec2Attr.KEY_LENGTH, e.bits));
    if (terms.pfsGroup !== undefined) a.push(attr(Ipsec2Attr.GROUP_DESCRIPTION, terms.pfsGroup));
    return { number: i + 1, id: e.id, attributes: a };
  });
  return { kind: 'sa', doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY, proposals: [{ number: 1, protocolId: ProtocolId.ESP, spi: spiBytes(terms.spi), transforms }] };
}

/** The responder's SA: the accepted proposal with only the accepted transform, and our SPI in phase 2 (RFC 2408 §4.2). */
export function acceptedSa(situation: number, proposal: Proposal, transform: Transform, spi?: number): SaPayload {
  return { kind: 'sa', doi: DOI_IPSEC, situation, proposals: [{ ...proposal, ...(spi !== undefined ? { spi: spiBytes(spi) } : {}), transforms: [transform] }] };
}

/** The policy that accepts exactly the algorithms we offered (to validate the responder's choice). */
export function offeredPolicy(p: InitiatorProposals, pfs: DhGroupNumber | undefined): IkePolicy {
  const uniq = <T>(xs: readonly T[]): T[] => [...new Set(xs)];
  const integ = p.phase2.flatMap((o) => (o.integrity ? [o.integrity] : []));
  return {
    phase1: {
      encryption: uniq(p.phase1.map((o) => o.encryption)),
      hash: uniq(p.phase1.map((o) => o.hash)),
      groups: uniq(p.phase1.map((o) => o.group)),
      maxLifetimeSeconds: 0x7fffffff,
    },
    phase2: {
      encryption: uniq(p.phase2.map((o) => o.encryption)),
      integrity: uniq(integ.map((i) => (i === 'hmac-sha256-96' ? 'hmac-sha256-128' : i))),
      pfsGroups: pfs === undefined ? [] : [pfs],
      maxLifetimeSeconds: 0x7fffffff,
      ...(integ.includes('hmac-sha256-96') ? { sha256Truncation: 96 as const } : {}),
    },
  };
}

/** Same transform id and attribute list (order-insensitive): recognises our own transform in a reply. */
export function sameTransform(a: Transform, b: Transform): boolean {
  if (a.id !== b.id || a.attributes.length !== b.attributes.length) return false;
  const key = (x: SaAttribute): string => `${x.type}:${x.tv ? x.value : toHex(x.value)}`;
  const ka = a.attributes.map(key).sort();
  const kb = b.attributes.map(key).sort();
  return ka.every((k, i) => k === kb[i]);
}
