/**
 * Router Advertisement (RFC 4861 §4.2) for a PPP session, so the client can SLAAC (RFC 4862) an
 * address from a /64 prefix. Over PPP, link-local addresses come from the IPV6CP interface
 * identifiers (RFC 5072 §5). Returns the complete IPv6 packet (send it as PPP protocol 0x0057).
 *
 *  IPv6 header: src fe80::<our iid>, dst fe80::<peer iid> (or ff02::1), hop limit 255, next header 58.
 *  ICMPv6 RA:   type 134, code 0, checksum, cur hop limit, M|O flags, router lifetime,
 *               reachable time, retrans timer, options:
 *    Prefix Information (3, length 4): prefix length, L|A, valid, preferred lifetime, prefix.
 *    MTU (5, length 1), RDNSS (25, RFC 8106) when given.
 */
import { foldChecksum, onesSum, put16, put32 } from '../../base/index.js';
import { icmpv6Type, isLinkLocal } from './packet.js';

/** Parameters of one Router Advertisement. */
export interface RouterAdvertisementParams {
  /** Our (router) interface identifier from IPV6CP. */
  readonly localInterfaceId: Uint8Array;
  /** The peer's interface identifier; omitted = send to all-nodes ff02::1. */
  readonly peerInterfaceId?: Uint8Array;
  /** The first 8 octets (a /64) of the session's prefix. */
  readonly prefix: Uint8Array;
  /** Seconds (defaults: router 1800, valid 86400, preferred 14400). */
  readonly routerLifetime?: number;
  readonly validLifetime?: number;
  readonly preferredLifetime?: number;
  /** MTU option when given. */
  readonly mtu?: number;
  /** RDNSS addresses (16 octets each), lifetime = router lifetime. */
  readonly dns?: readonly Uint8Array[];
  /** Other-config flag (O): stateless DHCPv6 for more options. */
  readonly otherConfig?: boolean;
}

const linkLocal = (iid: Uint8Array): Uint8Array => {
  const a = new Uint8Array(16);
  a[0] = 0xfe;
  a[1] = 0x80;
  a.set(iid.subarray(0, 8), 8);
  return a;
};

/** Build the IPv6 packet carrying the RA, with a correct ICMPv6 checksum (RFC 4443 §2.3). */
export function buildRouterAdvertisement(p: RouterAdvertisementParams): Uint8Array {
  if (p.localInterfaceId.length !== 8 || p.prefix.length < 8) throw new RangeError('ra: 8-octet iid and /64 prefix required');
  const routerLifetime = p.routerLifetime ?? 1800;
  const dns = p.dns ?? [];
  const icmpLen = 16 + 32 + (p.mtu !== undefined ? 8 : 0) + (dns.length > 0 ? 8 + 16 * dns.length : 0);
  const pkt = new Uint8Array(40 + icmpLen);
  // IPv6 header (RFC 8200 §3).
  pkt[0] = 0x60;
  put16(pkt, 4, icmpLen);
  pkt[6] = 58; // Next Header: ICMPv6
  pkt[7] = 255; // Hop Limit: RFC 4861 §4.2 requires 255
  pkt.set(linkLocal(p.localInterfaceId), 8);
  if (p.peerInterfaceId !== undefined) pkt.set(linkLocal(p.peerInterfaceId), 24);
  else pkt.set([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01], 24);
  const m = pkt.subarray(40);
  m[0] = 134; // Type: Router Advertisement
  m[4] = 64; // Cur Hop Limit
  m[5] = p.otherConfig === true ? 0x40 : 0x00; // M=0, O flag
  put16(m, 6, routerLifetime);
  // Reachable Time, Retrans Timer: 0 (unspecified).
  let o = 16;
  // Prefix Information (RFC 4861 §4.6.2).
  m[o] = 3;
  m[o + 1] = 4;
  m[o + 2] = 64;
  m[o + 3] = 0xc0; // L (on-link) and A (autonomous) flags
  put32(m, o + 4, p.validLifetime ?? 86400);
  put32(m, o + 8, p.preferredLifetime ?? 14400);
  m.set(p.prefix.subarray(0, 8), o + 16);
  o += 32;
  if (p.mtu !== undefined) {
    m[o] = 5;
    m[o + 1] = 1;
    put32(m, o + 4, p.mtu);
    o += 8;
  }
  if (dns.length > 0) {
    m[o] = 25;
    m[o + 1] = 1 + 2 * dns.length;
    put32(m, o + 4, routerLifetime);
    dns.forEach((d, i) => m.set(d.subarray(0, 16), o + 8 + 16 * i));
    o += 8 + 16 * dns.length;
  }
  put16(m, 2, icmpv6Checksum(pkt.subarray(8, 24), pkt.subarray(24, 40), m));
  return pkt;
}

/** RFC 4443 §2.3 checksum over the pseudo-header (RFC 8200 §8.1) and the message (checksum field zero). */
export function icmpv6Checksum(src: Uint8Array, dst: Uint8Array, msg: Uint8Array): number {
  let sum = onesSum(src, 0, src.length);
  sum = onesSum(dst, 0, dst.length, sum);
  sum += (msg.length >>> 16) + (msg.length & 0xffff) + 58;
  return foldChecksum(onesSum(msg, 0, msg.length, sum));
}

/** RFC 4861 §4.1: Router Solicitation is ICMPv6 type 133 (hop limit 255). */
export const isRouterSolicitation = (p: Uint8Array): boolean => icmpv6Type(p) === 133 && p[7] === 255;

/** A Prefix Information option found in a Router Advertisement (RFC 4861 §4.6.2). */
export interface AdvertisedPrefix {
  readonly prefix: Uint8Array;
  readonly length: number;
  readonly autonomous: boolean;
  readonly validLifetime: number;
}

/** Prefixes of an RA (ICMPv6 134 from a link-local source, hop limit 255); undefined if not an RA. */
export function parseRouterAdvertisement(p: Uint8Array): { readonly prefixes: readonly AdvertisedPrefix[]; readonly mtu?: number } | undefined {
  if (icmpv6Type(p) !== 134 || p[7] !== 255 || !isLinkLocal(p, 8)) return undefined;
  const end = Math.min(p.length, 40 + (((p[4] ?? 0) << 8) | (p[5] ?? 0)));
  const prefixes: AdvertisedPrefix[] = [];
  let mtu: number | undefined;
  // Options start after the 16-octet RA body; each is type, length (units of 8 octets), data.
  for (let o = 56; o + 2 <= end; ) {
    const len = (p[o + 1] ?? 0) * 8;
    if (len === 0 || o + len > end) break; // §4.6: a zero-length option invalidates the rest
    const type = p[o];
    if (type === 3 && len === 32) {
      const dv = new DataView(p.buffer, p.byteOffset + o, len);
      prefixes.push({
        length: p[o + 2] ?? 0,
        autonomous: ((p[o + 3] ?? 0) & 0x40) !== 0,
        validLifetime: dv.getUint32(4),
        prefix: p.slice(o + 16, o + 32),
      });
    } else if (type === 5 && len === 8) {
      mtu = new DataView(p.buffer, p.byteOffset + o, len).getUint32(4);
    }
    o += len;
  }
  return mtu === undefined ? { prefixes } : { prefixes, mtu };
}
