/**
 * Typed attributes: a dictionary row + a value, encoded to and decoded from the raw
 * `RadiusAttribute` with the row's RFC 2868 §3 tag rule and its encryption (RFC 2865 §5.2,
 * RFC 2868 §3.5, RFC 2548 §2.4). Decoding a packet never throws: unknown attributes are kept raw,
 * malformed ones are listed with their error.
 */
import { err, ok, type RandomSource, type Result } from '../../base/index.js';
import { RADIUS_MAX_VALUE_LENGTH, RADIUS_MAX_VSA_VALUE_LENGTH } from './constants.js';
import { hideUserPassword, saltDecrypt, saltEncrypt, unhideUserPassword, unhideUserPasswordRaw } from './crypto.js';
import { RADIUS_DICTIONARY, type AttributeDef, type RadiusDictionary } from './dictionary.js';
import type { RadiusWireError } from './errors.js';
import type { RadiusAttribute, RadiusPacket } from './packet.js';
import { VALUE_CODECS, type ValueCodec } from './values.js';

/** A decoded attribute: its row, its RFC 2868 tag (0 = none) and its plain value. */
export interface DecodedAttribute<T = unknown> {
  readonly def: AttributeDef<T>;
  readonly tag: number;
  readonly value: T;
}

/** What encrypting / decrypting needs: the shared secret and the Access-Request's Request Authenticator. */
export interface AttributeCrypto {
  readonly secret: Uint8Array;
  /** For User-Password the packet's own; for Tunnel-Password / MPPE keys the Access-Request's (RFC 2868 §3.5). */
  readonly requestAuthenticator: Uint8Array;
  /** A fresh salt with the high bit set, unique within the packet (see {@link saltSource}). */
  readonly salt?: () => number;
}

/** An RFC 2868 tag: 0 (none) or 1..31. */
export const MAX_TAG = 0x1f;

/**
 * A salt generator for one packet (RFC 2868 §3.5: "The most significant bit (leftmost) of the Salt
 * field MUST be set (1). The contents of each Salt field in a given Access-Accept packet MUST be unique").
 */
export function saltSource(random: RandomSource): () => number {
  const used = new Set<number>();
  return () => {
    for (;;) {
      const s = 0x8000 | (random.u32() & 0x7fff);
      if (!used.has(s) || used.size >= 0x8000) {
        used.add(s);
        return s;
      }
    }
  };
}

/** The codec of a row (type-erased, used only with values produced by that same codec). */
const codecOf = (def: AttributeDef): ValueCodec<unknown> => VALUE_CODECS[def.valueType];

const badValue = (def: AttributeDef, detail: string): RadiusWireError => ({ kind: 'bad-value', attribute: def.name, detail });

/** Plain value octets of a value (before tag and encryption). */
function plainOctets(def: AttributeDef, value: unknown): Result<Uint8Array, RadiusWireError> {
  const c = codecOf(def);
  const why = c.invalid(value);
  if (why !== undefined) return err(badValue(def, why));
  if (def.size !== undefined) {
    const n = c.length(value);
    if (n < def.size.min || n > def.size.max) return err(badValue(def, `${n} octets, want ${def.size.min}..${def.size.max}`));
  }
  const out = new Uint8Array(c.length(value));
  c.emit(value, out, 0);
  return ok(out);
}

/**
 * Encode `value` for row `def` with an optional RFC 2868 tag (1..31; rows without a tag rule take
 * none). Encrypted rows need `crypto`; salted ones also `crypto.salt`. Errors: value out of range or
 * too long for one attribute (no silent truncation).
 */
export function encodeAttribute<T>(def: AttributeDef<T>, value: T, opts: { readonly tag?: number; readonly crypto?: AttributeCrypto } = {}): Result<RadiusAttribute, RadiusWireError> {
  const tag = opts.tag ?? 0;
  if (!Number.isInteger(tag) || tag < 0 || tag > MAX_TAG) return err(badValue(def, `tag ${tag} outside 0..31`));
  if (tag !== 0 && def.tag === 'none') return err(badValue(def, 'this attribute takes no tag'));
  const plain = plainOctets(def, value);
  if (!plain.ok) return plain;
  let v = plain.value;
  // §3.1: a tagged integer has 24 bits of value.
  if (def.tag === 'integer' && v[0] !== 0) return err(badValue(def, 'a tagged integer holds 24 bits'));
  if (def.encrypt !== 'none') {
    const c = opts.crypto;
    if (c === undefined) return err(badValue(def, 'encryption needs the secret and Request Authenticator'));
    const enc = def.encrypt === 'user-password' ? hideUserPassword(v, c.secret, c.requestAuthenticator) : c.salt === undefined ? err(badValue(def, 'salt encryption needs a salt source')) : saltEncrypt(v, c.salt(), c.secret, c.requestAuthenticator);
    if (!enc.ok) return enc;
    v = enc.value;
  }
  v = applyTag(def, tag, v);
  const max = def.vendor === 0 ? RADIUS_MAX_VALUE_LENGTH : RADIUS_MAX_VSA_VALUE_LENGTH;
  if (v.length > max) return err({ kind: 'too-long', what: def.name, length: v.length, max });
  return ok({ type: def.type, vendor: def.vendor, value: v });
}

/** RFC 2868 §3: prepend or merge the tag octet. */
function applyTag(def: AttributeDef, tag: number, v: Uint8Array): Uint8Array {
  switch (def.tag) {
    case 'none':
      return v;
    case 'integer': {
      // §3.1: Tag(1) + Value(3); the high octet of the 32-bit value is replaced by the tag.
      const out = new Uint8Array(v);
      out[0] = tag;
      return out;
    }
    case 'always':
      return prepend(tag, v);
    case 'optional':
      // §3.3: a first octet above 0x1F is data; a string starting with 0x00-0x1F needs an explicit tag octet.
      return tag !== 0 || (v.length > 0 && (v[0] as number) <= MAX_TAG) ? prepend(tag, v) : v;
  }
}

function prepend(b: number, v: Uint8Array): Uint8Array {
  const out = new Uint8Array(v.length + 1);
  out[0] = b;
  out.set(v, 1);
  return out;
}

/** Decode one raw attribute with its row (the raw value is not changed). */
export function decodeAttribute<T>(def: AttributeDef<T>, raw: RadiusAttribute, crypto?: AttributeCrypto): Result<DecodedAttribute<T>, RadiusWireError> {
  let v = raw.value;
  let tag = 0;
  switch (def.tag) {
    case 'integer':
      if (v.length !== 4) return err(badValue(def, `length ${v.length}, want 4`));
      tag = v[0] as number;
      if (tag > MAX_TAG) return err(badValue(def, `tag ${tag} > 31`));
      v = Uint8Array.of(0, v[1] as number, v[2] as number, v[3] as number);
      break;
    case 'always':
      if (v.length < 1) return err(badValue(def, 'no tag octet'));
      tag = v[0] as number;
      if (tag > MAX_TAG) return err(badValue(def, `tag ${tag} > 31`));
      v = v.subarray(1);
      break;
    case 'optional':
      if (v.length > 0 && (v[0] as number) <= MAX_TAG) {
        tag = v[0] as number;
        v = v.subarray(1);
      }
      break;
    case 'none':
      break;
  }
  if (def.encrypt !== 'none') {
    if (crypto === undefined) return err(badValue(def, 'encrypted: needs the secret and Request Authenticator'));
    const dec =
      def.encrypt === 'salted'
        ? saltDecrypt(v, crypto.secret, crypto.requestAuthenticator)
        : def.size !== undefined
          ? unhideUserPasswordRaw(v, crypto.secret, crypto.requestAuthenticator)
          : unhideUserPassword(v, crypto.secret, crypto.requestAuthenticator);
    if (!dec.ok) return err(badValue(def, dec.error.kind === 'bad-value' ? dec.error.detail : 'cannot decrypt'));
    v = def.size !== undefined && def.encrypt === 'user-password' ? dec.value.subarray(0, def.size.max) : dec.value;
  }
  if (def.size !== undefined && (v.length < def.size.min || v.length > def.size.max)) {
    return err(badValue(def, `length ${v.length}, want ${def.size.min}..${def.size.max}`));
  }
  const parsed = codecOf(def).parse(v);
  if (!parsed.ok) return err(badValue(def, parsed.error));
  // The codec is the row's own (VALUE_CODECS[def.valueType]), so the value has the row's type.
  return ok({ def, tag, value: parsed.value as T });
}

/** A packet's attributes decoded with a dictionary. */
export interface DecodedAttributes {
  /** Known attributes, in packet order. */
  readonly attributes: readonly DecodedAttribute[];
  /** Attributes the dictionary does not know (kept raw, in order). */
  readonly unknown: readonly RadiusAttribute[];
  /** Known attributes whose value is malformed (RFC 6929 §2.8 "invalid attributes"). */
  readonly malformed: readonly { readonly raw: RadiusAttribute; readonly error: RadiusWireError }[];
}

/** Decode every attribute of `p` (never throws). */
export function decodeAttributes(p: RadiusPacket, crypto?: AttributeCrypto, dictionary: RadiusDictionary = RADIUS_DICTIONARY): DecodedAttributes {
  const attributes: DecodedAttribute[] = [];
  const unknown: RadiusAttribute[] = [];
  const malformed: { raw: RadiusAttribute; error: RadiusWireError }[] = [];
  for (const raw of p.attributes) {
    const def = dictionary.lookup(raw.vendor, raw.type);
    if (def === undefined) {
      unknown.push(raw);
      continue;
    }
    const d = decodeAttribute(def, raw, crypto);
    if (d.ok) attributes.push(d.value);
    else malformed.push({ raw, error: d.error });
  }
  return { attributes, unknown, malformed };
}

/** The first decoded attribute of row `def` (typed by the row), or undefined. */
export function findAttribute<T>(list: readonly DecodedAttribute[], def: AttributeDef<T>): DecodedAttribute<T> | undefined {
  for (const a of list) if (a.def === def) return a as DecodedAttribute<T>;
  return undefined;
}

/** The first value of row `def`, or undefined. */
export function attributeValue<T>(list: readonly DecodedAttribute[], def: AttributeDef<T>): T | undefined {
  return findAttribute(list, def)?.value;
}

/** Every decoded attribute of row `def`, in packet order. */
export function findAttributes<T>(list: readonly DecodedAttribute[], def: AttributeDef<T>): DecodedAttribute<T>[] {
  const out: DecodedAttribute<T>[] = [];
  for (const a of list) if (a.def === def) out.push(a as DecodedAttribute<T>);
  return out;
}

/** One attribute for a log line: `Name:tag = value`, credentials and keys as `<hidden>`. */
export function formatAttribute(a: DecodedAttribute): string {
  const name = a.tag !== 0 ? `${a.def.name}:${a.tag}` : a.def.name;
  if (a.def.secret) return `${name} = <hidden>`;
  const enumName = typeof a.value === 'number' ? a.def.values?.[a.value] : undefined;
  return `${name} = ${enumName ?? codecOf(a.def).format(a.value)}`;
}
