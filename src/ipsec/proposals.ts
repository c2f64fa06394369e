/**
 * Proposal policy and selection for IKEv1 phase 1 (RFC 2409 §5, App. A) and phase 2 ESP
 * (RFC 2407 §4.4.4, §4.5; RFC 4106; RFC 3947 §5.1 encapsulation modes). The responder walks the
 * initiator's proposals in order and takes the first one the policy accepts.
 */
import { attr, attrValue, decodeAttributes, DOI_IPSEC, EncapMode, encodeAttributes, EspAuth, EspTransformId, Ike1Attr, Ike1Auth, Ike1Hash, Ipsec2Attr, KEY_IKE, LifeType, type NotifyPayload, NotifyType, type Proposal, ProtocolId, type SaPayload, type Transform } from '../wire/ike/index.js';
import { ikeCipher, type IkeCipher } from './ike-crypto.js';
import type { IkeHashName } from './keys.js';
import { isSupportedGroup, type DhGroupNumber } from './dh.js';
import type { EspEncryption, EspIntegrity } from './esp.js';

/** Phase-1 cipher names in policy. */
export type Phase1Encryption = 'aes128' | 'aes256' | '3des';
/** Phase-2 cipher names in policy. */
export type Phase2Encryption = 'aes128-cbc' | 'aes256-cbc' | 'aes128-gcm16' | 'aes256-gcm16' | '3des-cbc';

/** One accepted phase-1 suite: any combination of its members (strongSwan `aes256-sha256-modp2048`). */
export interface Phase1Suite {
  readonly encryption: readonly Phase1Encryption[];
  readonly hash: readonly IkeHashName[];
  readonly groups: readonly DhGroupNumber[];
}

/** One accepted ESP suite (strongSwan `aes128-sha1`, `aes256gcm16-modp2048`); integrity is empty for GCM-only suites. */
export interface Phase2Suite {
  readonly encryption: readonly Phase2Encryption[];
  readonly integrity: readonly Exclude<EspIntegrity, 'none'>[];
  /** PFS groups; a Quick Mode without KE is accepted by every suite. */
  readonly pfsGroups: readonly DhGroupNumber[];
}

/** What the responder accepts. */
export interface IkePolicy {
  readonly phase1: {
    readonly encryption: readonly Phase1Encryption[];
    readonly hash: readonly IkeHashName[];
    readonly groups: readonly DhGroupNumber[];
    /** Upper bound on the IKE SA lifetime in seconds (the proposal's value is used if smaller). */
    readonly maxLifetimeSeconds: number;
    /** When present, a transform must also fit one of these suites (config `ike_proposals`). */
    readonly suites?: readonly Phase1Suite[];
  };
  readonly phase2: {
    readonly encryption: readonly Phase2Encryption[];
    readonly integrity: readonly Exclude<EspIntegrity, 'none'>[];
    /** PFS groups accepted in Quick Mode; a proposal without a group is always accepted. */
    readonly pfsGroups: readonly DhGroupNumber[];
    readonly maxLifetimeSeconds: number;
    /** Upper bound on the child SA byte lifetime in kilobytes (RFC 2407 §4.5 life type 2); absent = the initiator's value or none. */
    readonly maxLifetimeKilobytes?: number;
    /** When present, a transform must also fit one of these suites (config `esp_proposals`). */
    readonly suites?: readonly Phase2Suite[];
    /**
     * ICV length of HMAC-SHA-256 (transform auth 5): 128 bits (RFC 4868, default) or 96 bits, the
     * pre-RFC truncation older Android/Linux peers use (strongSwan `sha256_96`).
     */
    readonly sha256Truncation?: 96 | 128;
  };
}

/** A policy that accepts what Windows, macOS/iOS, Android and strongSwan/libreswan clients send. */
export const DEFAULT_POLICY: IkePolicy = {
  phase1: {
    encryption: ['aes256', 'aes128', '3des'],
    hash: ['sha256', 'sha1', 'sha384', 'sha512'],
    groups: [14, 19, 20, 5, 2],
    maxLifetimeSeconds: 86400,
  },
  phase2: {
    encryption: ['aes256-gcm16', 'aes128-gcm16', 'aes256-cbc', 'aes128-cbc', '3des-cbc'],
    integrity: ['hmac-sha256-128', 'hmac-sha1-96', 'hmac-sha384-192', 'hmac-sha512-256'],
    pfsGroups: [14, 19, 20, 5, 2],
    maxLifetimeSeconds: 28800,
  },
};

/** The algorithms of an accepted phase-1 transform. */
export interface Phase1Choice {
  readonly proposal: Proposal;
  readonly transform: Transform;
  readonly cipher: IkeCipher;
  readonly hash: IkeHashName;
  readonly group: DhGroupNumber;
  readonly lifetimeSeconds: number;
}

const HASHES: Record<number, IkeHashName | undefined> = {
  [Ike1Hash.MD5]: 'md5', [Ike1Hash.SHA1]: 'sha1', [Ike1Hash.SHA2_256]: 'sha256', [Ike1Hash.SHA2_384]: 'sha384', [Ike1Hash.SHA2_512]: 'sha512',
};

function attrs(t: Transform): Map<number, number | undefined> {
  const m = new Map<number, number | undefined>();
  for (const a of t.attributes) if (!m.has(a.type)) m.set(a.type, attrValue(a));
  return m;
}

/** Lifetime in seconds from (type, duration) pairs (RFC 2407 §4.5: a type is followed by its duration). */
function lifetimeSeconds(t: Transform, typeAttr: number, durAttr: number, lifeType: number = LifeType.SECONDS): number | undefined {
  let type: number | undefined;
  for (const a of t.attributes) {
    if (a.type === typeAttr) type = attrValue(a);
    else if (a.type === durAttr && type === lifeType) return attrValue(a);
  }
  return undefined;
}

/**
 * RFC 2407 §4.5: the phase-2 byte lifetime (SA Life Type 2 = kilobytes) of a transform, capped by
 * `max`; undefined when neither the transform nor the policy sets one (0 counts as unset).
 */
export function phase2LifetimeKilobytes(t: Transform, max: number | undefined): number | undefined {
  const kb = lifetimeSeconds(t, Ipsec2Attr.SA_LIFE_TYPE, Ipsec2Attr.SA_LIFE_DURATION, LifeType.KILOBYTES);
  const proposed = kb !== undefined && kb > 0 ? kb : undefined;
  const cap = max !== undefined && max > 0 ? max : undefined;
  if (proposed === undefined) return cap;
  return cap === undefined ? proposed : Math.min(proposed, cap);
}

/** Phase-2 lifetimes: seconds, and kilobytes when set. */
export interface Phase2Lifetimes {
  readonly seconds: number;
  readonly kilobytes: number | undefined;
}

/**
 * RFC 2407 §4.6.3.1 RESPONDER-LIFETIME, sent in Quick Mode message 2 when the responder chose a
 * shorter lifetime than the accepted transform carries (the transform itself is echoed unchanged,
 * RFC 2408 §4.2): Protocol ESP, SPI = our inbound SPI, data = the attribute list of our actual
 * lifetime(s). Undefined when nothing was shortened (an absent seconds lifetime means 28800 s,
 * RFC 2407 §4.5).
 */
export function responderLifetimeNotify(choice: Phase2Choice, ourSpi: Uint8Array): NotifyPayload | undefined {
  const t = choice.transform;
  const proposedSeconds = lifetimeSeconds(t, Ipsec2Attr.SA_LIFE_TYPE, Ipsec2Attr.SA_LIFE_DURATION) ?? 28800;
  const proposedKb = lifetimeSeconds(t, Ipsec2Attr.SA_LIFE_TYPE, Ipsec2Attr.SA_LIFE_DURATION, LifeType.KILOBYTES);
  const kb = choice.lifetimeKilobytes;
  const secondsShorter = choice.lifetimeSeconds < proposedSeconds;
  const kbShorter = kb !== undefined && (proposedKb === undefined || proposedKb === 0 || kb < proposedKb);
  if (!secondsShorter && !kbShorter) return undefined;
  const list = [attr(Ipsec2Attr.SA_LIFE_TYPE, LifeType.SECONDS), attr(Ipsec2Attr.SA_LIFE_DURATION, choice.lifetimeSeconds)];
  if (kb !== undefined) list.push(attr(Ipsec2Attr.SA_LIFE_TYPE, LifeType.KILOBYTES), attr(Ipsec2Attr.SA_LIFE_DURATION, kb));
  return { kind: 'n', doi: DOI_IPSEC, protocolId: ProtocolId.ESP, notifyType: NotifyType.RESPONDER_LIFETIME, spi: ourSpi, data: encodeAttributes(list) };
}

/**
 * The lifetimes a RESPONDER-LIFETIME notify (RFC 2407 §4.6.3.1) announces; undefined when the
 * payload is not one or its attribute list does not parse. Values of 0 count as unset.
 */
export function readResponderLifetime(n: NotifyPayload): Partial<Phase2Lifetimes> | undefined {
  if (n.notifyType !== NotifyType.RESPONDER_LIFETIME) return undefined;
  const attrs = decodeAttributes(n.data);
  if (!attrs.ok) return undefined;
  const t: Transform = { number: 1, id: 0, attributes: attrs.value };
  const sec = lifetimeSeconds(t, Ipsec2Attr.SA_LIFE_TYPE, Ipsec2Attr.SA_LIFE_DURATION);
  const kb = lifetimeSeconds(t, Ipsec2Attr.SA_LIFE_TYPE, Ipsec2Attr.SA_LIFE_DURATION, LifeType.KILOBYTES);
  return { ...(sec !== undefined && sec > 0 ? { seconds: sec } : {}), ...(kb !== undefined && kb > 0 ? { kilobytes: kb } : {}) };
}

const p1Name = (c: IkeCipher): Phase1Encryption => (c.name === 'des-ede3-cbc' ? '3des' : c.name === 'aes-256-cbc' ? 'aes256' : 'aes128');

/** RFC 2409 §5: pick the first acceptable PSK transform of the (single) ISAKMP proposal. */
export function selectPhase1(sa: SaPayload, policy: IkePolicy): Phase1Choice | undefined {
  for (const p of sa.proposals) {
    if (p.protocolId !== ProtocolId.ISAKMP) continue;
    for (const t of p.transforms) {
      if (t.id !== KEY_IKE) continue;
      const m = attrs(t);
      const cipher = ikeCipher(m.get(Ike1Attr.ENCRYPTION_ALGORITHM) ?? -1, m.get(Ike1Attr.KEY_LENGTH));
      const h = HASHES[m.get(Ike1Attr.HASH_ALGORITHM) ?? -1];
      const g = m.get(Ike1Attr.GROUP_DESCRIPTION) ?? -1;
      if (!cipher || cipher.name === 'aes-192-cbc' || !policy.phase1.encryption.includes(p1Name(cipher))) continue;
      if (!h || !policy.phase1.hash.includes(h)) continue;
      if (m.get(Ike1Attr.AUTHENTICATION_METHOD) !== Ike1Auth.PSK) continue;
      if (!isSupportedGroup(g) || !policy.phase1.groups.includes(g)) continue;
      const suites = policy.phase1.suites;
      const name = p1Name(cipher);
      if (suites && !suites.some((x) => x.encryption.includes(name) && x.hash.includes(h) && x.groups.includes(g))) continue;
      const life = lifetimeSeconds(t, Ike1Attr.LIFE_TYPE, Ike1Attr.LIFE_DURATION) ?? 28800;
      return { proposal: p, transform: t, cipher, hash: h, group: g, lifetimeSeconds: Math.min(life, policy.phase1.maxLifetimeSeconds) };
    }
  }
  return undefined;
}

/** How ESP is carried for a child SA (RFC 3947 §5.1). */
export type EspEncapsulation = 'transport' | 'udp-transport';

/** The algorithms of an accepted ESP transform. */
export interface Phase2Choice {
  readonly proposal: Proposal;
  readonly transform: Transform;
  readonly encryption: EspEncryption;
  readonly keyBits: number;
  readonly integrity: EspIntegrity;
  readonly pfsGroup: DhGroupNumber | undefined;
  readonly encapsulation: EspEncapsulation;
  readonly encapModeValue: number;
  readonly lifetimeSeconds: number;
  /** Byte lifetime in kilobytes (RFC 2407 §4.5), capped by the policy; undefined = none. */
  readonly lifetimeKilobytes: number | undefined;
  /** Initiator's SPI (its inbound SA = our outbound). */
  readonly peerSpi: number;
}

const INTEG: Record<number, Exclude<EspIntegrity, 'none'> | undefined> = {
  [EspAuth.HMAC_SHA1]: 'hmac-sha1-96', [EspAuth.HMAC_SHA2_256]: 'hmac-sha256-128',
  [EspAuth.HMAC_SHA2_384]: 'hmac-sha384-192', [EspAuth.HMAC_SHA2_512]: 'hmac-sha512-256',
};

function p2Encryption(id: number, bits: number | undefined): { enc: EspEncryption; bits: number; name: Phase2Encryption } | undefined {
  if (id === EspTransformId.TRIPLE_DES) return { enc: '3des-cbc', bits: 192, name: '3des-cbc' };
  if (id === EspTransformId.AES_CBC || id === EspTransformId.AES_GCM_16) {
    const b = bits ?? 128;
    if (b !== 128 && b !== 256) return undefined;
    const gcm = id === EspTransformId.AES_GCM_16;
    return { enc: gcm ? 'aes-gcm-16' : 'aes-cbc', bits: b, name: `aes${b}-${gcm ? 'gcm16' : 'cbc'}` as Phase2Encryption };
  }
  return undefined;
}

/**
 * RFC 2409 §5.5 / RFC 2407 §4.5: pick the first acceptable single-ESP proposal. RFC 3947 §5.1:
 * with a NAT on the path only UDP-Encapsulated-Transport (4, or the draft value 61444) works;
 * without one, plain transport is expected but UDP encapsulation is accepted when NAT-T was
 * negotiated (clients that force encapsulation).
 */
export function selectPhase2(sa: SaPayload, policy: IkePolicy, nat: { readonly detected: boolean; readonly negotiated: boolean }): Phase2Choice | undefined {
  // Proposals with the same number form one AND-ed suite (RFC 2408 §4.2); we accept only lone ESP.
  const counts = new Map<number, number>();
  for (const p of sa.proposals) counts.set(p.number, (counts.get(p.number) ?? 0) + 1);
  for (const p of sa.proposals) {
    if (p.protocolId !== ProtocolId.ESP || p.spi.length !== 4 || counts.get(p.number) !== 1) continue;
    const peerSpi = new DataView(p.spi.buffer, p.spi.byteOffset, 4).getUint32(0);
    for (const t of p.transforms) {
      const m = attrs(t);
      const e = p2Encryption(t.id, m.get(Ipsec2Attr.KEY_LENGTH));
      if (!e || !policy.phase2.encryption.includes(e.name)) continue;
      const authAttr = m.get(Ipsec2Attr.AUTH_ALGORITHM);
      let integrity: EspIntegrity = 'none';
      if (e.enc === 'aes-gcm-16') {
        if (authAttr !== undefined) continue; // RFC 4106 §8.2: no separate integrity
      } else {
        const i = INTEG[authAttr ?? -1];
        if (!i || !policy.phase2.integrity.includes(i)) continue;
        integrity = i;
      }
      const mode = m.get(Ipsec2Attr.ENCAPSULATION_MODE) ?? EncapMode.TRANSPORT;
      const udp = mode === EncapMode.UDP_TRANSPORT || mode === EncapMode.UDP_TRANSPORT_DRAFT;
      if (!(udp || mode === EncapMode.TRANSPORT)) continue; // L2TP/IPsec is transport mode only
      if (udp ? !nat.negotiated : nat.detected) continue;
      const g = m.get(Ipsec2Attr.GROUP_DESCRIPTION);
      if (g !== undefined && (!isSupportedGroup(g) || !policy.phase2.pfsGroups.includes(g))) continue;
      const suites = policy.phase2.suites;
      const integ = integrity;
      if (suites && !suites.some((x) => x.encryption.includes(e.name) && (integ === 'none' || x.integrity.includes(integ)) && (g === undefined || (x.pfsGroups as readonly number[]).includes(g)))) continue;
      // The 96-bit SHA-256 quirk is a per-peer interpretation of the same transform (auth 5).
      if (integrity === 'hmac-sha256-128' && policy.phase2.sha256Truncation === 96) integrity = 'hmac-sha256-96';
      const life = lifetimeSeconds(t, Ipsec2Attr.SA_LIFE_TYPE, Ipsec2Attr.SA_LIFE_DURATION) ?? 28800;
      return {
        proposal: p,
        transform: t,
        encryption: e.enc,
        keyBits: e.bits,
        integrity,
        pfsGroup: g,
        encapsulation: udp ? 'udp-transport' : 'transport',
        encapModeValue: mode,
        lifetimeSeconds: Math.min(life, policy.phase2.maxLifetimeSeconds),
        lifetimeKilobytes: phase2LifetimeKilobytes(t, policy.phase2.maxLifetimeKilobytes),
        peerSpi,
      };
    }
  }
  return undefined;
}
