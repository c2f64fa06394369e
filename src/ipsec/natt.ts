/**
 * NAT traversal pieces of IKEv1 both roles share (RFC 3947 and the -02/-02\n/-03 drafts): what the
 * peer's vendor ids say (also DPD, RFC 3706 §6, and the Microsoft ones), NAT-D payloads and the
 * verdict they give (§3.2), and NAT-OA payloads (§5.2).
 */
import { bytesToIp, ipToBytes, toHex } from '../base/index.js';
import { IdType, type IkePayload, type NatDPayload, type NatOaPayload, VendorIds } from '../wire/ike/index.js';
import { type Endpoint } from './addr.js';
import { natDHash } from './ike-crypto.js';
import { equalBytes } from './ike-exchange.js';
import type { NatVariant } from './ike-types.js';
import type { IkeHashName } from './keys.js';

const NATT_DRAFTS = [VendorIds.NATT_DRAFT_02N, VendorIds.NATT_DRAFT_03, VendorIds.NATT_DRAFT_02] as const;

/** What the peer announced in its vendor ids (Main Mode message 1 or 2). */
export interface PeerVendorIds {
  readonly natt: NatVariant;
  /** The NAT-T vendor id to answer with (RFC 3947, or the draft the peer sent, preferring -02\n). */
  readonly nattVid: string | undefined;
  /** RFC 3706 §4: the peer does DPD. */
  readonly dpd: boolean;
  /** Microsoft "MS NT5 ISAKMPOAKLEY": a Windows peer. */
  readonly msNt5: boolean;
  /** Microsoft "Vid-Initial-Contact": Windows' way of saying INITIAL-CONTACT. */
  readonly msInitialContact: boolean;
}

/** Read the vendor ids among `ps`. */
export function readVendorIds(ps: readonly IkePayload[]): PeerVendorIds {
  const vids = new Set(ps.flatMap((p) => (p.kind === 'vid' ? [toHex(p.data)] : [])));
  const draft = NATT_DRAFTS.find((v) => vids.has(v));
  const natt: NatVariant = vids.has(VendorIds.RFC3947) ? 'rfc3947' : draft !== undefined ? 'draft' : 'none';
  return {
    natt,
    nattVid: natt === 'rfc3947' ? VendorIds.RFC3947 : draft,
    dpd: vids.has(VendorIds.DPD),
    msNt5: [...vids].some((v) => v.startsWith(VendorIds.MS_NT5_PREFIX)),
    msInitialContact: vids.has(VendorIds.MS_INITIAL_CONTACT),
  };
}

/** A vendor id payload from its hex. */
export const vidPayload = (vid: string): IkePayload => ({ kind: 'vid', data: Buffer.from(vid, 'hex') });

/** The NAT-T vendor id we announce for `variant` (drafts: -02\n, as Windows and macOS send). */
export const natVid = (variant: Exclude<NatVariant, 'none'>): string => (variant === 'rfc3947' ? VendorIds.RFC3947 : VendorIds.NATT_DRAFT_02N);

/**
 * RFC 3947 §3.2: NAT-D of the destination as the sender sees it, then of the sender's own
 * endpoint (`source` bytes instead of an endpoint fake a NAT, strongSwan `forceencaps`).
 */
export function natDPayloads(
  h: IkeHashName, sa: { readonly icookie: Uint8Array; readonly rcookie: Uint8Array }, variant: Exclude<NatVariant, 'none'>,
  destination: Endpoint, source: Endpoint | Uint8Array,
): IkePayload[] {
  const type: 20 | 130 = variant === 'rfc3947' ? 20 : 130;
  const mine = source instanceof Uint8Array ? source : natDHash(h, sa.icookie, sa.rcookie, source);
  return [{ kind: 'nat-d', type, data: natDHash(h, sa.icookie, sa.rcookie, destination) }, { kind: 'nat-d', type, data: mine }];
}

/** The NAT-D payloads among `ps`, in order. */
export const natDsOf = (ps: readonly IkePayload[]): NatDPayload[] => ps.filter((p): p is NatDPayload => p.kind === 'nat-d');

/**
 * RFC 3947 §3.2 verdict on the peer's NAT-D payloads (`natds` not empty): the first one is us as
 * the peer saw us (`us` as we know ourselves), the others are the peer's own endpoints (`them` as
 * we address it). A mismatch means a NAT on that side.
 */
export function judgeNatD(
  h: IkeHashName, sa: { readonly icookie: Uint8Array; readonly rcookie: Uint8Array }, natds: readonly NatDPayload[], us: Endpoint, them: Endpoint,
): { readonly localBehindNat: boolean; readonly remoteBehindNat: boolean } {
  const theirs = natDHash(h, sa.icookie, sa.rcookie, them);
  return {
    localBehindNat: !equalBytes(natds[0]?.data ?? new Uint8Array(0), natDHash(h, sa.icookie, sa.rcookie, us)),
    remoteBehindNat: !natds.slice(1).some((n) => equalBytes(n.data, theirs)),
  };
}

/** RFC 3947 §5.2: NAT-OAi, NAT-OAr (transport mode sends both original addresses). */
export function natOaPayloads(variant: Exclude<NatVariant, 'none'>, initiator: string, responder: string): IkePayload[] {
  const type: 21 | 131 = variant === 'rfc3947' ? 21 : 131;
  return [initiator, responder].map((a) => {
    const b = ipToBytes(a) ?? new Uint8Array(4);
    return { kind: 'nat-oa', type, idType: b.length === 16 ? IdType.IPV6_ADDR : IdType.IPV4_ADDR, address: b };
  });
}

/** The original addresses of NAT-OAi and NAT-OAr among `ps`, when present. */
export function readNatOa(ps: readonly IkePayload[]): { readonly initiator?: string; readonly responder?: string } {
  const [i, r] = ps.filter((p): p is NatOaPayload => p.kind === 'nat-oa');
  return { ...(i ? { initiator: bytesToIp(i.address) } : {}), ...(r ? { responder: bytesToIp(r.address) } : {}) };
}
