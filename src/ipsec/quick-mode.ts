/**
 * Quick Mode (RFC 2409 §5.5) builders and parsers both roles use: reading a QM1/QM2 payload list,
 * the QM1 the initiator sends and the QM2 the responder answers, the L2TP/IPsec traffic selectors
 * (RFC 3193 §4), and KEYMAT into the two directions' ESP parameters.
 */
import { type IdPayload, IdType, type IkePayload, ProtocolId, type SaPayload } from '../wire/ike/index.js';
import { type Endpoint } from './addr.js';
import { byteLimitsFromKilobytes, encryptionKeymatLength, integrityKeyLength, type EspSaParams } from './esp.js';
import { addressIdentity, spiBytes } from './ike-exchange.js';
import type { NatVariant, TrafficSelector } from './ike-types.js';
import { keymat, type IkeHashName } from './keys.js';
import { natOaPayloads } from './natt.js';
import { responderLifetimeNotify, type Phase2Choice } from './proposals.js';
import { acceptedSa, phase2OfferSa, type Phase2Offer, type Phase2OfferTerms } from './sa-payloads.js';
import { bytesToIp, ipToBytes } from '../base/index.js';

/** The payloads of a Quick Mode message after its HASH. */
export interface QuickModePayloads {
  readonly sa: SaPayload | undefined;
  readonly nonce: Uint8Array | undefined;
  readonly ke: Uint8Array | undefined;
  /** IDci, IDcr when present (RFC 2409 §5.5: both or none). */
  readonly ids: readonly IdPayload[];
  /** The initiator sent NAT-OA (RFC 3947 §5.2). */
  readonly natOa: boolean;
}

/** Pick the SA, nonce, KE, ID and NAT-OA payloads out of a Quick Mode message. */
export function readQuickMode(ps: readonly IkePayload[]): QuickModePayloads {
  let sa: SaPayload | undefined;
  let nonce: Uint8Array | undefined;
  let ke: Uint8Array | undefined;
  const ids: IdPayload[] = [];
  let natOa = false;
  for (const p of ps) {
    if (p.kind === 'sa') sa ??= p;
    else if (p.kind === 'nonce') nonce ??= p.data;
    else if (p.kind === 'ke') ke ??= p.data;
    else if (p.kind === 'id') ids.push(p);
    else if (p.kind === 'nat-oa') natOa = true;
  }
  return { sa, nonce, ke, ids, natOa };
}

/**
 * An ID payload for one host and port (RFC 2407 §4.6.2): protocol 17 with the L2TP port, or 115
 * (L2TPv3 over IP, RFC 3931 §4.1.1) with port 0 — the IP protocol has no ports.
 */
const hostId = (address: string, port: number, protocol: SelectorProtocol): IdPayload => ({ kind: 'id', ...addressIdentity(address), protocolId: protocol, port: protocol === 17 ? port : 0 });

/** The IP protocol an L2TP child SA protects: UDP (L2TPv2, L2TPv3 over UDP) or 115 (L2TPv3 over IP). */
export type SelectorProtocol = 17 | 115;

/** What the initiator's QM1 says. */
export interface Qm1Terms extends Phase2OfferTerms {
  readonly offers: readonly Phase2Offer[];
  readonly nonce: Uint8Array;
  /** Our PFS public value (RFC 2409 §5.5 KE), when PFS is on. */
  readonly ke: Uint8Array | undefined;
  /** IDci: our address and L2TP port; IDcr: the server's address and L2TP port (RFC 3193 §4). */
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** The protocol of IDci/IDcr (default 17). */
  readonly protocol?: SelectorProtocol;
  /** With UDP encapsulation: the NAT-T flavour for NAT-OAi/NAT-OAr (RFC 3947 §5.2). */
  readonly natOa: Exclude<NatVariant, 'none'> | undefined;
}

/** QM1 after HASH(1): SA, Ni, [KE], IDci, IDcr, [NAT-OAi, NAT-OAr]. */
export function qm1Payloads(t: Qm1Terms): IkePayload[] {
  const ps: IkePayload[] = [phase2OfferSa(t.offers, t), { kind: 'nonce', data: t.nonce }];
  if (t.ke) ps.push({ kind: 'ke', data: t.ke });
  ps.push(hostId(t.local.address, t.local.port, t.protocol ?? 17), hostId(t.remote.address, t.remote.port, t.protocol ?? 17));
  if (t.natOa !== undefined) ps.push(...natOaPayloads(t.natOa, t.local.address, t.remote.address));
  return ps;
}

/** What the responder's QM2 says. */
export interface Qm2Terms {
  readonly offer: SaPayload;
  readonly choice: Phase2Choice;
  readonly spi: number;
  readonly nonce: Uint8Array;
  readonly ke: Uint8Array | undefined;
  /** The initiator's IDci, IDcr, echoed. */
  readonly ids: readonly IdPayload[];
  /** Answer NAT-OA (the initiator sent it and ESP goes in UDP): flavour and the IKE endpoints. */
  readonly natOa: { readonly variant: Exclude<NatVariant, 'none'>; readonly initiator: string; readonly responder: string } | undefined;
}

/** QM2 after HASH(2): SA, Nr, [KE], [IDci, IDcr], [NAT-OAi, NAT-OAr], [N(RESPONDER-LIFETIME)]. */
export function qm2Payloads(t: Qm2Terms): IkePayload[] {
  const ps: IkePayload[] = [acceptedSa(t.offer.situation, t.choice.proposal, t.choice.transform, t.spi), { kind: 'nonce', data: t.nonce }];
  if (t.ke) ps.push({ kind: 'ke', data: t.ke });
  ps.push(...t.ids);
  // RFC 3947 §5.2: in transport mode both original addresses are exchanged.
  if (t.natOa !== undefined) ps.push(...natOaPayloads(t.natOa.variant, t.natOa.initiator, t.natOa.responder));
  // RFC 2407 §4.6.3.1: say so when our policy shortened the lifetime the initiator proposed.
  const life = responderLifetimeNotify(t.choice, spiBytes(t.spi));
  if (life) ps.push(life);
  return ps;
}

/** The host address an L2TP/IPsec ID names: a single IPv4/IPv6 address or an IPv4 /32 subnet. */
function hostOf(id: IdPayload): string | undefined {
  if (id.idType === IdType.IPV4_ADDR && id.data.length === 4) return bytesToIp(id.data);
  if (id.idType === IdType.IPV6_ADDR && id.data.length === 16) return bytesToIp(id.data);
  if (id.idType === IdType.IPV4_ADDR_SUBNET && id.data.length === 8 && id.data.subarray(4).every((x) => x === 0xff)) return bytesToIp(id.data.subarray(0, 4));
  return undefined;
}

/** Where the responder's IKE SA stands, for judging the initiator's selectors. */
export interface SelectorContext {
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** A NAT was found on either side (the client's inner address differs from its IKE address). */
  readonly nat: boolean;
  readonly localBehindNat: boolean;
  readonly l2tpPort: number;
  /** Also accept L2TPv3-over-IP selectors (protocol 115, ports 0; RFC 3931 §4.1.1). */
  readonly l2tpIp?: boolean;
}

/**
 * L2TP/IPsec selectors (RFC 3193 §4): IDci a single host (the client, any UDP port — clients
 * behind NAT use ephemeral ports), IDcr our address, UDP port 1701 or 0 (or, with `l2tpIp`, both protocol 115 and port 0). Without IDs the IKE
 * addresses are implied (RFC 2409 §5.5). Undefined = INVALID-ID-INFORMATION.
 */
export function l2tpSelectors(s: SelectorContext, ids: readonly IdPayload[]): { local: TrafficSelector; remote: TrafficSelector } | undefined {
  if (ids.length === 0) {
    return { remote: { address: s.remote.address, protocol: 0, port: 0 }, local: { address: s.local.address, protocol: 0, port: 0 } };
  }
  const [ci, cr] = ids;
  if (!ci || !cr) return undefined;
  const ca = hostOf(ci);
  const ra = hostOf(cr);
  if (!ca || !ra) return undefined;
  const ip = s.l2tpIp === true && ci.protocolId === 115;
  if (ci.protocolId !== 0 && ci.protocolId !== 17 && !ip) return undefined;
  if (cr.protocolId !== ci.protocolId) return undefined;
  if (ip ? ci.port !== 0 || cr.port !== 0 : cr.port !== 0 && cr.port !== s.l2tpPort) return undefined;
  const norm = (a: string): string => bytesToIp(ipToBytes(a) ?? new Uint8Array(0));
  if (!s.nat && ca !== norm(s.remote.address)) return undefined;
  if (!s.localBehindNat && !s.nat && ra !== norm(s.local.address)) return undefined;
  return { remote: { address: ca, protocol: ci.protocolId, port: ci.port }, local: { address: ra, protocol: cr.protocolId, port: cr.port } };
}

/** The values KEYMAT is computed from (RFC 2409 §5.5). */
export interface ChildKeying {
  readonly hash: IkeHashName;
  readonly skeyidD: Uint8Array;
  readonly choice: Phase2Choice;
  readonly ni: Uint8Array;
  readonly nr: Uint8Array;
  /** g(qm)^xy with PFS. */
  readonly gxy: Uint8Array | undefined;
  readonly inboundSpi: number;
  readonly outboundSpi: number;
  /** RFC 2407 §4.5 byte lifetime of each direction, and the fraction at which it is soft. */
  readonly kilobytes: number | undefined;
  readonly softFraction?: number;
}

/** RFC 2409 §5.5: KEYMAT per direction with the receiving side's SPI; encryption key first. */
export function childSaKeys(k: ChildKeying): { readonly inbound: EspSaParams; readonly outbound: EspSaParams } {
  const c = k.choice;
  const encLen = encryptionKeymatLength(c.encryption, c.keyBits);
  const intLen = integrityKeyLength(c.integrity);
  const kb = k.kilobytes;
  const params = (spi: number): EspSaParams => {
    const m = keymat(k.hash, k.skeyidD, ProtocolId.ESP, spiBytes(spi), k.ni, k.nr, encLen + intLen, k.gxy);
    return {
      spi, encryption: c.encryption, encryptionKey: m.slice(0, encLen), integrity: c.integrity, integrityKey: m.slice(encLen),
      ...(kb !== undefined ? { byteLimits: byteLimitsFromKilobytes(kb, k.softFraction) } : {}),
    };
  };
  return { inbound: params(k.inboundSpi), outbound: params(k.outboundSpi) };
}
