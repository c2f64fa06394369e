/**
 * Byte helpers for codecs. A Node `Buffer` is a `Uint8Array` whose `slice()` returns a view, not a
 * copy (unlike `Uint8Array.prototype.slice`), so a decoder that "copies" with `.slice()` aliases the
 * datagram when it arrives as a Buffer, and one that then writes to that copy corrupts its input.
 * Big-endian readers/writers are bounds-checked by their callers. The one home of these helpers:
 * every codec, the data plane and ESP use them.
 */

/** A fresh `Uint8Array` with the bytes of `v`, whatever `v`'s class (Buffer, view or Uint8Array). */
export function copyBytes(v: Uint8Array): Uint8Array {
  return new Uint8Array(v);
}

/** Read a big-endian u16 at `o` (caller has checked bounds). */
export const u16 = (b: Uint8Array, o: number): number => ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
/** Read a big-endian u32 at `o` (caller has checked bounds). */
export const u32 = (b: Uint8Array, o: number): number =>
  (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
/** Write a big-endian u16 at `o`. */
export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
/** Write a big-endian u32 at `o`. */
export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
/** Byte-wise equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
/** Concatenate byte arrays. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
/** Parse a hex string (whitespace and `:` ignored) — for tests and vectors. */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/[\s:]/g, '');
  const out = new Uint8Array(clean.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}
/** Lower-case hex of bytes. */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
/** Equality whose time depends only on the lengths (challenge responses, digests, cookies). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] as number) ^ (b[i] as number);
  return d === 0;
}
