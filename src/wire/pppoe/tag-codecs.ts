/**
 * Value codecs shared by the discovery tag registry (RFC 2516 Appendix A) and the Broadband Forum
 * sub-options (TR-101 §3.9.3): each parses exactly the value bytes, states the length it emits and
 * writes exactly that many bytes. Values are copied out of the frame.
 */
import { err, ok, type Result } from '../../base/index.js';

/** A value codec: `parse` gets exactly the value bytes and returns a detail string on error. */
export interface ValueCodec<T> {
  /** Decode the value bytes (a view; codecs copy what they keep). */
  parse(v: Uint8Array): Result<T, string>;
  /** Bytes `emit` writes for `value`. */
  length(value: T): number;
  /** Write exactly `length(value)` bytes at `out[at]`. */
  emit(value: T, out: Uint8Array, at: number): void;
}

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const encoder = new TextEncoder();

/** UTF-8 byte length of `s`: its length when ASCII (names nearly always are), else encoded. */
export function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return encoder.encode(s).length;
  return s.length;
}

/** Write `s` as UTF-8 at `out[at]` (exactly `utf8Length(s)` bytes). */
function writeUtf8(s: string, out: Uint8Array, at: number): void {
  const n = utf8Length(s);
  if (n !== s.length) {
    encoder.encodeInto(s, out.subarray(at, at + n));
    return;
  }
  for (let i = 0; i < n; i++) out[at + i] = s.charCodeAt(i);
}

/**
 * A UTF-8 string (RFC 2516 Appendix A: Service-Name, AC-Name and the error tags are "UTF-8 string[s]
 * ... NOT NULL terminated"). `strictUtf8` rejects invalid UTF-8 (names are echoed and compared);
 * otherwise invalid sequences decode to U+FFFD (error texts are only shown). `max` bounds the bytes.
 */
export function stringCodec(opts: { readonly strictUtf8: boolean; readonly min?: number; readonly max?: number }): ValueCodec<string> {
  const min = opts.min ?? 0;
  const max = opts.max ?? 0xffff;
  return {
    parse(v) {
      if (v.length < min) return err(`length ${v.length} < ${min}`);
      if (v.length > max) return err(`length ${v.length} > ${max}`);
      if (!opts.strictUtf8) return ok(lenient.decode(v));
      try {
        return ok(strict.decode(v));
      } catch {
        return err('not UTF-8');
      }
    },
    length: utf8Length,
    emit: writeUtf8,
  };
}

/** A copy of `v` as a plain Uint8Array (a Buffer's `slice()` is a view, not a copy). */
export const copyBytes = (v: Uint8Array): Uint8Array => new Uint8Array(v);

/** Opaque bytes (Host-Uniq, AC-Cookie, Relay-Session-Id), copied out; `max` bounds the length. */
export function bytesCodec(max = 0xffff): ValueCodec<Uint8Array> {
  return {
    parse: (v) => (v.length > max ? err(`length ${v.length} > ${max}`) : ok(copyBytes(v))),
    length: (b) => b.length,
    emit: (b, out, at) => out.set(b, at),
  };
}

/** A big-endian unsigned integer of exactly `width` bytes (1, 2 or 4). */
export function uintCodec(width: 1 | 2 | 4): ValueCodec<number> {
  return {
    parse(v) {
      if (v.length !== width) return err(`length ${v.length}, want ${width}`);
      let n = 0;
      for (const b of v) n = n * 256 + b;
      return ok(n);
    },
    length: () => width,
    emit(x, out, at) {
      for (let i = width - 1, n = x; i >= 0; i--, n = Math.floor(n / 256)) out[at + i] = n & 0xff;
    },
  };
}

/** A zero-length flag value (End-Of-List, IWF-Session). */
export const emptyCodec: ValueCodec<true> = {
  parse: (v) => (v.length === 0 ? ok(true) : err(`length ${v.length}, want 0`)),
  length: () => 0,
  emit: () => undefined,
};
