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

/** XOR `data` in place with the §4.3 MD5 key stream. `encrypt` picks which side feeds the chain. */
function md5Chain(attribute: number, secret: Uint8Array, rv: Uint8Array, data: Uint8Array, encrypt: boolean): void {
  const type = new Uint8Array([(attribute >>> 8) & 0xff, attribute & 0xff]);
  let block = createHash('md5').update(type).update(secret).update(rv).digest();
  for (let off = 0; off < data.length; off += 16) {
    const end = Math.min(off + 16, data.length);
    // The chain always feeds the ciphertext chunk c(i-1) into the next MD5.
    const cipher = encrypt ? undefined : data.slice(off, end);
    for (let i = off; i < end; i++) data[i] = (data[i] ?? 0) ^ (block[i - off] ?? 0);
    if (end < data.length) {
      block = createHash('md5')
        .update(secret)
        .update(cipher ?? data.subarray(off, end))
        .digest();
    }
  }
}

/** Reveal a hidden value: returns the original value bytes, or a detail string if malformed. */
export function revealValue(
  attribute: number,
  secret: Uint8Array,
  rv: Uint8Array,
  hidden: Uint8Array,
): { readonly ok: true; readonly value: Uint8Array } | { readonly ok: false; readonly detail: string } {
  if (hidden.length < 2) return { ok: false, detail: `hidden value ${hidden.length} bytes < 2` };
  const plain = hidden.slice();
  md5Chain(attribute, secret, rv, plain, false);
  const origLen = ((plain[0] ?? 0) << 8) | (plain[1] ?? 0);
  if (origLen > plain.length - 2) return { ok: false, detail: `original length ${origLen} > ${plain.length - 2} (wrong secret?)` };
  return { ok: true, value: plain.subarray(2, 2 + origLen) };
}

/**
 * Hide in place: `buf` holds [original length (2) | value | padding] and is XORed into the hidden
 * form (the caller writes the subformat, this applies the key stream).
 */
export function hideInPlace(attribute: number, secret: Uint8Array, rv: Uint8Array, buf: Uint8Array): void {
  md5Chain(attribute, secret, rv, buf, true);
}
