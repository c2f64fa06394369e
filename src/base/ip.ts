/** Either family: text <-> 4 or 16 octets (IKE identities, NAT-D hashes, RADIUS attributes). */
import { ipv4Bytes, ipv4String } from './ipv4.js';
import { formatIpv6Full, parseIpv6 } from './ipv6.js';

/** A dotted IPv4 or RFC 4291 §2.2 IPv6 text address as 4 or 16 octets; undefined if neither. */
export function ipToBytes(text: string): Uint8Array | undefined {
  if (!text.includes(':')) return ipv4Bytes(text);
  return parseIpv6(text);
}

/** 4 octets as dotted quad, otherwise 16-bit words in full (IPv6 without zero compression). */
export function bytesToIp(b: Uint8Array): string {
  return b.length === 4 ? ipv4String(b) : formatIpv6Full(b);
}
