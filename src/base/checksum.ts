/**
 * RFC 1071 Internet checksum: the 16-bit one's-complement of the one's-complement sum. `onesSum`
 * accumulates (for pseudo-headers, RFC 768 / RFC 8200 §8.1), `foldChecksum` finishes.
 */

/** Add the big-endian 16-bit words of buf[start, end) to `sum` (odd tail padded with zero); not folded. */
export function onesSum(buf: Uint8Array, start: number, end: number, sum = 0): number {
  let s = sum;
  let i = start;
  for (; i + 1 < end; i += 2) s += ((buf[i] as number) << 8) | (buf[i + 1] as number);
  if (i < end) s += (buf[i] as number) << 8;
  return s;
}

/** Fold a sum to 16 bits and complement it. */
export function foldChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** RFC 1071 checksum over buf[start, end). */
export function internetChecksum(buf: Uint8Array, start: number, end: number): number {
  return foldChecksum(onesSum(buf, start, end));
}
