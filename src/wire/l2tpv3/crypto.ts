/**
 * RFC 3931 keyed computations: the derived keys of §5.3 (AVP hiding) and §5.4.1 (Message Digest),
 * the §5.3 MD5 key stream for hidden AVPs, and the §5.4.1 Message Digest itself.
 *
 *   hiding key  = HMAC_MD5(shared_secret, 0x01)                      (§5.3)
 *   digest key  = HMAC_MD5(shared_secret, 0x02)                      (§5.4.1)
 *   b_1 = MD5(Attribute Type (2) + key + RV)   c_1 = p_1 xor b_1     (§5.3)
 *   b_i = MD5(key + c_(i-1))                   c_i = p_i xor b_i
 *   Message Digest = HMAC_Hash(digest key, sender nonce + receiver nonce + control_message)
 *                    (SCCRQ: HMAC_Hash(digest key, control_message)), with every Message Digest
 *                    value zeroed; control_message starts at the T bit (after the zero Session ID
 *                    over IP).
 *
 * Unlike the RFC 2661 codec, hiding uses the derived key, and nothing here writes into a caller's
 * buffer: reveal works on a copy, hide only on the message being built.
 */
import { createHash, createHmac } from 'node:crypto';
import { DigestType } from './types.js';

/** §5.3 derived key for hiding and revealing AVPs. */
export function hidingSharedKey(secret: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('md5', secret).update(Uint8Array.of(1)).digest());
}

/** §5.4.1 derived key for the Message Digest. */
export function digestSharedKey(secret: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('md5', secret).update(Uint8Array.of(2)).digest());
}

/** Digest length of a Digest Type (16 for HMAC-MD5, 20 for HMAC-SHA-1), or undefined if unknown. */
export function digestLength(t: number): number | undefined {
  return t === DigestType.hmacMd5 ? 16 : t === DigestType.hmacSha1 ? 20 : undefined;
}

/**
 * XOR the §5.3 key stream into `out` (same length as `input`). `input` is only read; the chain feeds
 * the ciphertext block (the input when revealing, the output when hiding).
 */
function keyStream(attribute: number, key: Uint8Array, rv: Uint8Array, input: Uint8Array, out: Uint8Array, hiding: boolean): void {
  let block = createHash('md5').update(Uint8Array.of((attribute >>> 8) & 0xff, attribute & 0xff)).update(key).update(rv).digest();
  for (let off = 0; off < input.length; off += 16) {
    const end = Math.min(off + 16, input.length);
    for (let i = off; i < end; i++) out[i] = (input[i] ?? 0) ^ (block[i - off] ?? 0);
    if (end < input.length) {
      const cipher = hiding ? out.subarray(off, end) : input.subarray(off, end);
      block = createHash('md5').update(key).update(cipher).digest();
    }
  }
}

/** Reveal a hidden value (a fresh array, `hidden` untouched): the original value or a detail string. */
export function revealV3(
  attribute: number,
  hidingKey: Uint8Array,
  rv: Uint8Array,
  hidden: Uint8Array,
): { readonly ok: true; readonly value: Uint8Array } | { readonly ok: false; readonly detail: string } {
  if (hidden.length < 2) return { ok: false, detail: `hidden value ${hidden.length} bytes < 2` };
  const plain = new Uint8Array(hidden.length);
  keyStream(attribute, hidingKey, rv, hidden, plain, false);
  const origLen = ((plain[0] ?? 0) << 8) | (plain[1] ?? 0);
  if (origLen > plain.length - 2) return { ok: false, detail: `original length ${origLen} > ${plain.length - 2} (wrong secret?)` };
  return { ok: true, value: plain.subarray(2, 2 + origLen) };
}

/** Hide in place the [original length | value | padding] subformat the emitter just wrote into its own buffer. */
export function hideV3InPlace(attribute: number, hidingKey: Uint8Array, rv: Uint8Array, sub: Uint8Array): void {
  keyStream(attribute, hidingKey, rv, new Uint8Array(sub), sub, true);
}

/**
 * §5.4.1 Message Digest over `message` (from the T bit to Length) in which every Message Digest value
 * is already zero. `first` / `second` are the nonces in wire order: the sender's, then the receiver's
 * (both omitted for an SCCRQ and for the integrity-only digest of §4.3).
 */
export function computeDigest(type: DigestType, key: Uint8Array, message: Uint8Array, first?: Uint8Array, second?: Uint8Array): Uint8Array {
  const h = createHmac(type === DigestType.hmacSha1 ? 'sha1' : 'md5', key);
  if (first !== undefined) h.update(first);
  if (second !== undefined) h.update(second);
  return new Uint8Array(h.update(message).digest());
}

/** Constant-time equality of two digests. */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return d === 0;
}
