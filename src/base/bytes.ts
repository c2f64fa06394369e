/**
 * Byte helpers for codecs. A Node `Buffer` is a `Uint8Array` whose `slice()` returns a view, not a
 * copy (unlike `Uint8Array.prototype.slice`), so a decoder that "copies" with `.slice()` aliases the
 * datagram when it arrives as a Buffer, and one that then writes to that copy corrupts its input.
 */

/** A fresh `Uint8Array` with the bytes of `v`, whatever `v`'s class (Buffer, view or Uint8Array). */
export function copyBytes(v: Uint8Array): Uint8Array {
  return new Uint8Array(v);
}
