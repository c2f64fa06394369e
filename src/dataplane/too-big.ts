/**
 * What a router does with a packet larger than the next link's MTU (here: the PPP peer's MRU),
 * instead of dropping it silently (a PMTU black hole):
 * - IPv4 with DF set: ICMP Destination Unreachable, Fragmentation Needed, with the next-hop MTU
 *   (RFC 792, RFC 1191 §4, RFC 1812 §4.3.2.3/§5.2.7.1), sent back toward the source;
 * - IPv4 with DF clear: fragmented (RFC 791 §3.2, RFC 1812 §5.2.6);
 * - IPv6: ICMPv6 Packet Too Big with the MTU (RFC 4443 §3.2, RFC 8201); routers never fragment.
 * No ICMP error answers an ICMP error, a non-initial fragment, or a packet whose source is not a
 * unicast host (RFC 1122 §3.2.2, RFC 1812 §4.3.2.7, RFC 4443 §2.4(e)). Errors are rate limited
 * (RFC 1812 §4.3.2.8, RFC 4443 §2.4(f)) with a token bucket on the injected clock.
 * Pure functions over bytes; the access server decides where the results go.
 */
import { foldChecksum, type Instant, onesSum, put16, put32, since, u16 as get16, u32 as get32 } from '../base/index.js';

/** The verdict for one oversized packet. */
export type TooBig =
  | { readonly kind: 'icmp'; readonly packet: Uint8Array }
  | { readonly kind: 'fragments'; readonly packets: readonly Uint8Array[] }
  | { readonly kind: 'drop'; readonly reason: 'malformed' | 'no-icmp-for-this' | 'ipv4-options' | 'mtu-too-small' };

/** RFC 1812 §4.3.2.3: an ICMPv4 error carries as much of the original as fits in 576 bytes. */
const ICMP4_MAX = 576;
/** RFC 4443 §2.4(c): an ICMPv6 error must not exceed the minimum IPv6 MTU. */
const ICMP6_MAX = 1280;
const TTL = 64;

/** Whether an IPv4 source may receive an ICMP error: not 0/8, 127/8, class D/E, or the broadcast. */
function unicastSource4(a: number): boolean {
  const first = Math.floor(a / 0x1000000);
  return first !== 0 && first !== 127 && first < 224;
}

/** An oversized IPv4 packet toward a link of `mtu` bytes; `from` is our address (host order). */
export function tooBig4(pkt: Uint8Array, mtu: number, from: number): TooBig {
  if (pkt.length < 20 || (pkt[0] as number) >> 4 !== 4) return { kind: 'drop', reason: 'malformed' };
  const ihl = ((pkt[0] as number) & 0x0f) * 4;
  const total = get16(pkt, 2);
  if (ihl < 20 || total < ihl || total > pkt.length) return { kind: 'drop', reason: 'malformed' };
  const p = pkt.subarray(0, total);
  const flagsFrag = get16(p, 6);
  const df = (flagsFrag & 0x4000) !== 0;
  if (!df) return fragment4(p, ihl, mtu);
  const offset = flagsFrag & 0x1fff;
  const src = get32(p, 12);
  const dst = get32(p, 16);
  // RFC 1122 §3.2.2: not for an ICMP error, a non-initial fragment, or a non-unicast source/destination.
  const icmpError = p[9] === 1 && total >= ihl + 1 && [3, 4, 5, 11, 12].includes(p[ihl] as number);
  if (icmpError || offset !== 0 || !unicastSource4(src) || Math.floor(dst / 0x1000000) >= 224) return { kind: 'drop', reason: 'no-icmp-for-this' };
  const quoted = Math.min(total, ICMP4_MAX - 28);
  const out = new Uint8Array(28 + quoted);
  out[0] = 0x45;
  out[1] = 0xc0; // precedence: internetwork control (RFC 1812 §4.3.2.5)
  put16(out, 2, out.length);
  out[8] = TTL;
  out[9] = 1;
  put32(out, 12, from);
  put32(out, 16, src);
  put16(out, 10, foldChecksum(onesSum(out, 0, 20)));
  out[20] = 3; // Destination Unreachable
  out[21] = 4; // Fragmentation Needed and DF set
  put16(out, 26, Math.min(mtu, 0xffff)); // RFC 1191 §4: Next-Hop MTU in the low 16 bits
  out.set(p.subarray(0, quoted), 28);
  put16(out, 22, foldChecksum(onesSum(out, 20, out.length)));
  return { kind: 'icmp', packet: out };
}

/** RFC 791 §3.2 fragmentation of a DF-clear datagram (itself possibly a fragment) into `mtu`-sized pieces. */
function fragment4(p: Uint8Array, ihl: number, mtu: number): TooBig {
  // Options would need per-fragment copying rules (RFC 791 §3.1 "copied" flag); we do not fragment those.
  if (ihl !== 20) return { kind: 'drop', reason: 'ipv4-options' };
  const step = Math.floor((mtu - 20) / 8) * 8;
  if (step < 8) return { kind: 'drop', reason: 'mtu-too-small' };
  const flagsFrag = get16(p, 6);
  const baseOffset = (flagsFrag & 0x1fff) * 8;
  const lastMf = flagsFrag & 0x2000;
  const data = p.subarray(20);
  const packets: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += step) {
    const n = Math.min(step, data.length - at);
    const f = new Uint8Array(20 + n);
    f.set(p.subarray(0, 20), 0);
    put16(f, 2, f.length);
    const more = at + n < data.length ? 0x2000 : lastMf;
    put16(f, 6, (flagsFrag & 0x8000) | more | ((baseOffset + at) / 8));
    put16(f, 10, 0);
    put16(f, 10, foldChecksum(onesSum(f, 0, 20)));
    f.set(data.subarray(at, at + n), 20);
    packets.push(f);
  }
  return { kind: 'fragments', packets };
}

/** An oversized IPv6 packet toward a link of `mtu` bytes; `from` is our 16-byte source address. */
export function tooBig6(pkt: Uint8Array, mtu: number, from: Uint8Array): TooBig {
  if (pkt.length < 40 || (pkt[0] as number) >> 4 !== 6) return { kind: 'drop', reason: 'malformed' };
  const total = Math.min(pkt.length, 40 + get16(pkt, 4));
  const p = pkt.subarray(0, total);
  // RFC 4443 §2.4(e): never for an ICMPv6 error (type < 128; extension headers before it are not
  // walked — a conservative miss); the source must be a unicast, specified address.
  const icmpError = p[6] === 58 && total > 40 && (p[40] as number) < 128;
  const srcUnspecified = p.subarray(8, 24).every((x) => x === 0);
  if (icmpError || p[8] === 0xff || srcUnspecified) return { kind: 'drop', reason: 'no-icmp-for-this' };
  const quoted = Math.min(total, ICMP6_MAX - 48);
  const out = new Uint8Array(48 + quoted);
  out[0] = 0x60;
  put16(out, 4, 8 + quoted);
  out[6] = 58;
  out[7] = TTL;
  out.set(from.subarray(0, 16), 8);
  out.set(p.subarray(8, 24), 24);
  out[40] = 2; // Packet Too Big
  out[41] = 0;
  put32(out, 44, mtu);
  out.set(p.subarray(0, quoted), 48);
  // RFC 4443 §2.3: checksum over the pseudo-header (RFC 8200 §8.1) and the message.
  const len = 8 + quoted;
  let sum = onesSum(out, 8, 40);
  sum += Math.floor(len / 0x10000) + (len & 0xffff) + 58;
  put16(out, 42, foldChecksum(onesSum(out, 40, out.length, sum)));
  return { kind: 'icmp', packet: out };
}

/** RFC 1812 §4.3.2.8 / RFC 4443 §2.4(f): a token bucket for the ICMP errors we originate. */
export class IcmpRateLimiter {
  private tokens: number;
  private last: Instant | undefined;

  /** `perSecond` tokens refill each second, up to `burst`. */
  constructor(private readonly perSecond = 100, private readonly burst = 50) {
    this.tokens = burst;
  }

  /** Take a token if one is left at `now`. */
  allow(now: Instant): boolean {
    if (this.last !== undefined) this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, since(now, this.last)) * this.perSecond) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
