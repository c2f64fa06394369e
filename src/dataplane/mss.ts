/**
 * TCP MSS clamping on SYNs (Yamaha "ip tunnel tcp mss limit auto"): when a TCP SYN passes through a
 * session whose path MTU is smaller than the endpoints think, lower the MSS option in place and fix
 * the TCP checksum incrementally (RFC 1624, HC' = ~(~HC + ~m + m')). Never throws; returns whether
 * the packet was changed.
 */

/** The MSS that fits `mtu` for IPv4 (20 + 20 bytes of headers) and IPv6 (40 + 20). */
export function mssForMtu(mtu: number, family: 4 | 6): number {
  return mtu - (family === 4 ? 40 : 60);
}

/** One's-complement 16-bit add. */
function csumAdd(a: number, b: number): number {
  const s = a + b;
  return (s & 0xffff) + (s >>> 16);
}

/**
 * Clamp the MSS option of a TCP SYN in an IPv4 or IPv6 packet at `buf[off..off+len)` to at most
 * `maxMss`. Only unfragmented packets with TCP directly after the IP header (IPv6: no extension
 * headers) are touched.
 */
export function clampMss(buf: Uint8Array, off: number, len: number, maxMss: number): boolean {
  if (len < 20 || off < 0 || off + len > buf.length) return false;
  const version = (buf[off] ?? 0) >> 4;
  let tcp: number;
  let end: number;
  if (version === 4) {
    const ihl = ((buf[off] ?? 0) & 0x0f) * 4;
    if (ihl < 20 || len < ihl + 20) return false;
    if (buf[off + 9] !== 6) return false;
    // §RFC 791: fragment offset non-zero => not the first fragment, no TCP header here.
    const frag = (((buf[off + 6] ?? 0) & 0x1f) << 8) | (buf[off + 7] ?? 0);
    if (frag !== 0) return false;
    const total = ((buf[off + 2] ?? 0) << 8) | (buf[off + 3] ?? 0);
    tcp = off + ihl;
    end = off + Math.min(total, len);
  } else if (version === 6) {
    if (len < 60 || buf[off + 6] !== 6) return false;
    tcp = off + 40;
    end = off + len;
  } else {
    return false;
  }
  if (end - tcp < 20) return false;
  const flags = buf[tcp + 13] ?? 0;
  if ((flags & 0x02) === 0) return false; // SYN only
  const dataOff = ((buf[tcp + 12] ?? 0) >> 4) * 4;
  if (dataOff < 20 || tcp + dataOff > end) return false;
  let p = tcp + 20;
  const optEnd = tcp + dataOff;
  while (p < optEnd) {
    const kind = buf[p] ?? 0;
    if (kind === 0) return false; // End of option list
    if (kind === 1) {
      p++;
      continue;
    }
    const olen = buf[p + 1] ?? 0;
    if (olen < 2 || p + olen > optEnd) return false;
    if (kind === 2 && olen === 4) {
      const mss = ((buf[p + 2] ?? 0) << 8) | (buf[p + 3] ?? 0);
      if (mss <= maxMss) return false;
      const old = mss;
      buf[p + 2] = (maxMss >> 8) & 0xff;
      buf[p + 3] = maxMss & 0xff;
      const hc = ((buf[tcp + 16] ?? 0) << 8) | (buf[tcp + 17] ?? 0);
      // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')
      let s = csumAdd(~hc & 0xffff, ~old & 0xffff);
      s = csumAdd(s, maxMss & 0xffff);
      const nc = ~s & 0xffff;
      buf[tcp + 16] = nc >> 8;
      buf[tcp + 17] = nc & 0xff;
      return true;
    }
    p += olen;
  }
  return false;
}
