/**
 * Ethernet frame helpers for the pseudowire data plane (RFC 4719: frames without preamble and FCS):
 * find the IP packet behind zero, one or two 802.1Q / 802.1ad tags, clamp the TCP MSS inside it
 * (`src/dataplane/mss.ts`), and the encapsulation overhead arithmetic of RFC 3931 §4.1.
 */
import { clampMss } from '../mss.js';

/** Destination MAC, source MAC, EtherType. */
export const ETHERNET_HEADER = 14;
/** 802.1Q customer tag and 802.1ad service tag TPIDs. */
const TPID_8021Q = 0x8100;
const TPID_8021AD = 0x88a8;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;

/** Offset of the L3 header and its EtherType, skipping up to two VLAN tags; undefined if too short. */
export function ethernetPayload(frame: Uint8Array, off: number, len: number): { readonly at: number; readonly etherType: number } | undefined {
  let p = off + 12;
  const end = off + len;
  for (let tags = 0; tags <= 2; tags++) {
    if (p + 2 > end) return undefined;
    const t = ((frame[p] ?? 0) << 8) | (frame[p + 1] ?? 0);
    if ((t === TPID_8021Q || t === TPID_8021AD) && tags < 2) {
      p += 4; // TPID + TCI; the next EtherType follows
      continue;
    }
    return { at: p + 2, etherType: t };
  }
  return undefined;
}

/**
 * Clamp the MSS of a TCP SYN inside an Ethernet frame carrying IPv4 or IPv6 (tagged or not) to at
 * most `maxMss`, in place with an incremental checksum fix. Returns whether the frame changed.
 */
export function clampEthernetMss(frame: Uint8Array, off: number, len: number, maxMss: number): boolean {
  const l3 = ethernetPayload(frame, off, len);
  if (l3 === undefined) return false;
  if (l3.etherType !== ETHERTYPE_IPV4 && l3.etherType !== ETHERTYPE_IPV6) return false;
  return clampMss(frame, l3.at, off + len - l3.at, maxMss);
}

/** What sits in front of a frame: how it is encapsulated (RFC 3931 §4.1, §4.6). */
export interface PseudowireFraming {
  readonly encapsulation: 'ip' | 'udp';
  readonly cookieLength: number;
  readonly sublayer: 'none' | 'default';
}

/**
 * Bytes between the outer IPv4 header and the Ethernet frame: UDP (8) + the v3 UDP session header
 * (8), or the IP session header (4); + cookie; + the Default L2-Specific Sublayer (4).
 */
export function l2tpHeaderLength(f: PseudowireFraming): number {
  return (f.encapsulation === 'udp' ? 8 + 8 : 4) + f.cookieLength + (f.sublayer === 'default' ? 4 : 0);
}

/** Outer bytes per frame over IPv4: IPv4 header (20) + `l2tpHeaderLength`. */
export function pseudowireOverhead(f: PseudowireFraming): number {
  return 20 + l2tpHeaderLength(f);
}

/**
 * The MSS that keeps a bridged TCP segment (IPv4: 40 bytes of headers, IPv6: 60) from fragmenting
 * the outer packet on a path of `pathMtu`: pathMtu - overhead - Ethernet header (- 4 per VLAN tag).
 */
export function mssForPseudowire(pathMtu: number, f: PseudowireFraming, family: 4 | 6, vlanTags = 0): number {
  return pathMtu - pseudowireOverhead(f) - ETHERNET_HEADER - 4 * vlanTags - (family === 4 ? 40 : 60);
}
