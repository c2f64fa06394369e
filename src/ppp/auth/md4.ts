/**
 * MD4 message digest (RFC 1320), in TypeScript because OpenSSL 3's default provider no longer
 * offers it (`crypto.getHashes()` has no 'md4' on Node 20). Needed only by MS-CHAPv2's
 * NtPasswordHash (RFC 2759 §8.3); never use it for anything new.
 */

const rotl = (x: number, s: number): number => ((x << s) | (x >>> (32 - s))) >>> 0;

/** RFC 1320 §3.4 round 2 and 3 word orders. */
const R2 = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15] as const;
const R3 = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15] as const;
const S1 = [3, 7, 11, 19] as const;
const S2 = [3, 5, 9, 13] as const;
const S3 = [3, 9, 11, 15] as const;

/** The 16-octet MD4 digest of `msg`. */
export function md4(msg: Uint8Array): Uint8Array {
  // RFC 1320 §3.1-3.2: pad with 0x80 and zeros to 56 mod 64, then the bit length, little-endian.
  const total = (((msg.length + 8) >>> 6) + 1) << 6;
  const m = new Uint8Array(total);
  m.set(msg);
  m[msg.length] = 0x80;
  const bits = msg.length * 8;
  const dv = new DataView(m.buffer);
  dv.setUint32(total - 8, bits >>> 0, true);
  dv.setUint32(total - 4, Math.floor(bits / 0x100000000), true);
  // §3.3 initial buffer.
  let a = 0x67452301;
  let b = 0xefcdab89;
  let c = 0x98badcfe;
  let d = 0x10325476;
  const x = new Uint32Array(16);
  for (let off = 0; off < total; off += 64) {
    for (let i = 0; i < 16; i++) x[i] = dv.getUint32(off + 4 * i, true);
    const aa = a;
    const bb = b;
    const cc = c;
    const dd = d;
    const w = (i: number): number => x[i] ?? 0;
    // Round 1: F(X,Y,Z) = XY v not(X) Z.
    for (let i = 0; i < 16; i++) {
      const f = (b & c) | (~b & d);
      const t = rotl((a + f + w(i)) >>> 0, S1[i & 3] ?? 0);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    // Round 2: G(X,Y,Z) = XY v XZ v YZ, constant 0x5a827999.
    for (let i = 0; i < 16; i++) {
      const g = (b & c) | (b & d) | (c & d);
      const t = rotl((a + g + w(R2[i] ?? 0) + 0x5a827999) >>> 0, S2[i & 3] ?? 0);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    // Round 3: H(X,Y,Z) = X xor Y xor Z, constant 0x6ed9eba1.
    for (let i = 0; i < 16; i++) {
      const h = b ^ c ^ d;
      const t = rotl((a + h + w(R3[i] ?? 0) + 0x6ed9eba1) >>> 0, S3[i & 3] ?? 0);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    a = (a + aa) >>> 0;
    b = (b + bb) >>> 0;
    c = (c + cc) >>> 0;
    d = (d + dd) >>> 0;
  }
  const out = new Uint8Array(16);
  const ov = new DataView(out.buffer);
  ov.setUint32(0, a, true);
  ov.setUint32(4, b, true);
  ov.setUint32(8, c, true);
  ov.setUint32(12, d, true);
  return out;
}
