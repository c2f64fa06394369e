/**
 * Ethernet II header (IEEE 802.3 §3.2.6 type interpretation) with IEEE 802.1Q tags: one C-tag, or
 * an S-tag + C-tag pair (802.1ad QinQ) which is parsed and re-emitted but not otherwise interpreted.
 *
 *  +-------------+-------------+ [+--------+--------+ ...] +-----------+---------
 *  | Destination |   Source    |  |  TPID  |  TCI   |      | EtherType | payload
 *  |  6 octets   |  6 octets   |  | 0x8100 | PCP(3) |      |  0x8863   |
 *  |             |             |  | 0x88a8 | DEI(1) |      |  0x8864   |
 *  |             |             |  | 0x9100 | VID(12)|      |           |
 *  +-------------+-------------+ [+--------+--------+ ...] +-----------+---------
 */
import { err, ok, put16, type Result, u16 } from '../../base/index.js';
import { type PppoeWireError, truncated } from './errors.js';
import { readMac, writeMac, type MacAddress } from './mac.js';

/** EtherType values used here (IEEE registry; RFC 2516 §3 for PPPoE). */
export const EtherType = {
  /** PPPoE Discovery stage (RFC 2516 §3). */
  pppoeDiscovery: 0x8863,
  /** PPPoE Session stage (RFC 2516 §3). */
  pppoeSession: 0x8864,
  /** IEEE 802.1Q customer VLAN tag. */
  vlan: 0x8100,
  /** IEEE 802.1ad service VLAN tag (QinQ outer tag). */
  qinq: 0x88a8,
  /** Pre-standard QinQ outer tag still used by some switches. */
  qinqLegacy: 0x9100,
} as const;

/** One 802.1Q tag. */
export interface VlanTag {
  /** Tag protocol identifier: 0x8100, 0x88a8 or 0x9100. */
  readonly tpid: number;
  /** Priority code point (0..7). */
  readonly pcp: number;
  /** Drop eligible indicator. */
  readonly dei: boolean;
  /** VLAN id (0..4095; 0 = priority tag only). */
  readonly vid: number;
}

/** A parsed Ethernet header. */
export interface EthernetHeader {
  readonly destination: MacAddress;
  readonly source: MacAddress;
  /** Outermost first; empty for an untagged frame. */
  readonly vlans: readonly VlanTag[];
  /** The EtherType after the tags. */
  readonly ethertype: number;
}

/** Destination + source + EtherType. */
export const ETHERNET_HEADER_LENGTH = 14;
/** One 802.1Q tag. */
export const VLAN_TAG_LENGTH = 4;
/** Tags accepted on parse (one C-tag, or S-tag + C-tag). */
export const MAX_VLAN_TAGS = 2;

const NO_VLANS: readonly VlanTag[] = Object.freeze([]);

/** True for a TPID that starts an 802.1Q tag. */
export const isVlanTpid = (t: number): boolean => t === EtherType.vlan || t === EtherType.qinq || t === EtherType.qinqLegacy;

/** Bytes of an Ethernet header with `vlanCount` tags. */
export const ethernetHeaderLengthFor = (vlanCount: number): number => ETHERNET_HEADER_LENGTH + VLAN_TAG_LENGTH * vlanCount;

/** Bytes `emitEthernet` writes for `h`. */
export const ethernetHeaderLength = (h: EthernetHeader): number => ethernetHeaderLengthFor(h.vlans.length);

/** The innermost VLAN id (the customer VLAN), or undefined when untagged. */
export const innerVlanId = (h: EthernetHeader): number | undefined => h.vlans[h.vlans.length - 1]?.vid;

/** An Ethernet header and where its payload starts. */
export interface ParsedEthernet {
  readonly header: EthernetHeader;
  readonly payloadOffset: number;
}

/** Parse the Ethernet header at the start of `buf`. Never throws. */
export function parseEthernet(buf: Uint8Array): Result<ParsedEthernet, PppoeWireError> {
  if (buf.length < ETHERNET_HEADER_LENGTH) return err(truncated('ethernet header', ETHERNET_HEADER_LENGTH, buf.length));
  let o = 12;
  let type = u16(buf, o);
  let vlans = NO_VLANS;
  if (isVlanTpid(type)) {
    const tags: VlanTag[] = [];
    while (isVlanTpid(type)) {
      if (tags.length === MAX_VLAN_TAGS) return err({ kind: 'too-many-vlans', count: tags.length + 1 });
      if (buf.length < o + VLAN_TAG_LENGTH + 2) return err(truncated('802.1Q tag', o + VLAN_TAG_LENGTH + 2, buf.length));
      const tci = u16(buf, o + 2);
      tags.push({ tpid: type, pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff });
      o += VLAN_TAG_LENGTH;
      type = u16(buf, o);
    }
    vlans = tags;
  }
  return ok({ header: { destination: readMac(buf, 0), source: readMac(buf, 6), vlans, ethertype: type }, payloadOffset: o + 2 });
}

/** Write `h` (with `ethertype` instead of h.ethertype) at `buf[offset]`; returns the bytes written. */
export function emitEthernet(h: EthernetHeader, buf: Uint8Array, offset = 0, ethertype = h.ethertype): number {
  writeMac(buf, offset, h.destination);
  writeMac(buf, offset + 6, h.source);
  let o = offset + 12;
  for (const v of h.vlans) {
    put16(buf, o, v.tpid);
    put16(buf, o + 2, ((v.pcp & 7) << 13) | (v.dei ? 0x1000 : 0) | (v.vid & 0x0fff));
    o += VLAN_TAG_LENGTH;
  }
  put16(buf, o, ethertype);
  return o + 2 - offset;
}

/** A customer VLAN tag (TPID 0x8100, priority 0) for `vid`. */
export const vlanTag = (vid: number, pcp = 0): VlanTag => ({ tpid: EtherType.vlan, pcp, dei: false, vid });
