/**
 * RFC 2661 §4.3 hiding of AVP attribute values.
 *
 * Hidden AVP subformat (before hiding):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        Length of Original Value       |   Original Attribute Value...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ...                          |             Padding...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Split into 16-byte chunks p1..pn (the last may be short):
 *   b1 = MD5(Attribute Type (2 bytes) + secret + Random Vector),  c1 = p1 xor b1
 *   bi = MD5(secret + c(i-1)),                                      ci = pi xor bi
 */
import { createHash } from 'node:crypto';

/**
 * Write `dst = src xor keystream` (§4.3). The chain feeds each ciphertext chunk c(i-1) into the next
 * MD5: when hiding that is `dst` (just written), when revealing it is `src`, which is only read, so
 * revealing never changes its input (`src` may be a view into the received datagram). `dst` may be
 * `src` when hiding in place; it must not alias `src` otherwise.
 */
function md5Chain(attribute: number, secret: Uint8Array, rv: Uint8Array, src: Uint8Array, dst: Uint8Array, hiding: boolean): void {
  const type = new Uint8Array([(attribute >>> 8) & 0xff, attribute & 0xff]);
  let block = createHash('md5').update(type).update(secret).update(rv).digest();
  const cipher = hiding ? dst : src;
  for (let off = 0; off < src.length; off += 16) {
    const end = Math.min(off + 16, src.length);
    for (let i = off; i < end; i++) dst[i] = (src[i] ?? 0) ^ (block[i - off] ?? 0);
    if (end < src.length) block = createHash('md5').update(secret).update(cipher.subarray(off, end)).digest();
  }
}

/**
 * Reveal a hidden value: returns the original value bytes (a fresh array, never a view of `hidden`),
 * or a detail string if malformed. `hidden` is only read.
 */
export function revealValue(
  attribute: number,
  secret: Uint8Array,
  rv: Uint8Array,
  hidden: Uint8Array,
): { readonly ok: true; readonly value: Uint8Array } | { readonly ok: false; readonly detail: string } {
  if (hidden.length < 2) return { ok: false, detail: `hidden value ${hidden.length} bytes < 2` };
  const plain = new Uint8Array(hidden.length);
  md5Chain(attribute, secret, rv, hidden, plain, false);
  const origLen = ((plain[0] ?? 0) << 8) | (plain[1] ?? 0);
  if (origLen > plain.length - 2) return { ok: false, detail: `original length ${origLen} > ${plain.length - 2} (wrong secret?)` };
  return { ok: true, value: plain.subarray(2, 2 + origLen) };
}

/**
 * Hide in place: `buf` holds [original length (2) | value | padding] and is XORed into the hidden
 * form (the caller writes the subformat into its own output buffer, this applies the key stream).
 */
export function hideInPlace(attribute: number, secret: Uint8Array, rv: Uint8Array, buf: Uint8Array): void {
  md5Chain(attribute, secret, rv, buf, buf, true);
}
