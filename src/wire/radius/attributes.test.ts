/**
 * Typed attributes: RFC 2868 §3 tag rules, encryption round trips (RFC 2865 §5.2, RFC 2868 §3.5,
 * RFC 2548 §2.4), value range checks, a fast-check round trip over every dictionary row, and that
 * logs never show a credential.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { seededRandom } from '../../base/random.js';
import {
  BUILTIN_ATTRIBUTES,
  MS_ATTR,
  RADIUS_ATTR,
  decodeAttribute,
  encodeAttribute,
  formatAttribute,
  saltDecrypt,
  saltEncrypt,
  saltSource,
  hideUserPassword,
  unhideUserPassword,
  type AttributeCrypto,
  type AttributeDef,
  type RadiusValueType,
} from './index.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const CRYPTO: AttributeCrypto = { secret: text('s3cret'), requestAuthenticator: Uint8Array.from({ length: 16 }, (_, i) => i * 7), salt: saltSource(seededRandom(1)) };

test('RFC 2868 §3.1: Tunnel-Type carries the tag in its high octet and 24 bits of value', () => {
  const a = encodeAttribute(RADIUS_ATTR.TunnelType, 3, { tag: 5 });
  assert.ok(a.ok);
  assert.deepEqual(a.value.value, Uint8Array.of(5, 0, 0, 3));
  const d = decodeAttribute(RADIUS_ATTR.TunnelType, a.value);
  assert.ok(d.ok);
  assert.deepEqual([d.value.tag, d.value.value], [5, 3]);
  assert.equal(encodeAttribute(RADIUS_ATTR.TunnelType, 0x1000000).ok, false);
  assert.equal(encodeAttribute(RADIUS_ATTR.TunnelType, 3, { tag: 32 }).ok, false);
  const badTag = decodeAttribute(RADIUS_ATTR.TunnelType, { type: 64, vendor: 0, value: Uint8Array.of(0x20, 0, 0, 3) });
  assert.equal(badTag.ok, false);
});

test('RFC 2868 §3.3: a tagged string has a tag octet when the tag is set or the text starts below 0x20', () => {
  const tagged = encodeAttribute(RADIUS_ATTR.TunnelServerEndpoint, '192.0.2.1', { tag: 1 });
  assert.ok(tagged.ok);
  assert.equal(tagged.value.value[0], 1);
  const untagged = encodeAttribute(RADIUS_ATTR.TunnelServerEndpoint, '192.0.2.1');
  assert.ok(untagged.ok);
  assert.equal(untagged.value.value.length, 9);
  const d = decodeAttribute(RADIUS_ATTR.TunnelServerEndpoint, untagged.value);
  assert.ok(d.ok && d.value.tag === 0 && d.value.value === '192.0.2.1');
  const ctl = encodeAttribute(RADIUS_ATTR.TunnelAssignmentId, '\u0001x');
  assert.ok(ctl.ok);
  assert.deepEqual(ctl.value.value, Uint8Array.of(0, 1, 0x78));
  const back = decodeAttribute(RADIUS_ATTR.TunnelAssignmentId, ctl.value);
  assert.ok(back.ok && back.value.tag === 0 && back.value.value === '\u0001x');
  // Untagged rows refuse a tag.
  assert.equal(encodeAttribute(RADIUS_ATTR.UserName, 'bob', { tag: 1 }).ok, false);
});

test('RFC 2868 §3.5: Tunnel-Password = Tag + Salt (high bit set) + ciphertext; unique salts per packet', () => {
  const salts = saltSource(seededRandom(7));
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const s = salts();
    assert.ok((s & 0x8000) !== 0);
    assert.ok(!seen.has(s));
    seen.add(s);
  }
  const a = encodeAttribute(RADIUS_ATTR.TunnelPassword, 'pw', { tag: 2, crypto: CRYPTO });
  assert.ok(a.ok);
  assert.equal(a.value.value[0], 2);
  assert.ok(((a.value.value[1] as number) & 0x80) !== 0);
  assert.equal(a.value.value.length, 1 + 2 + 16);
  const d = decodeAttribute(RADIUS_ATTR.TunnelPassword, a.value, CRYPTO);
  assert.ok(d.ok && d.value.tag === 2 && d.value.value === 'pw');
  // Another secret decrypts to garbage or fails; never throws.
  const wrong = decodeAttribute(RADIUS_ATTR.TunnelPassword, a.value, { ...CRYPTO, secret: text('other') });
  assert.ok(!wrong.ok || wrong.value.value !== 'pw');
  assert.equal(saltEncrypt(text('x'), 0x1234, CRYPTO.secret, CRYPTO.requestAuthenticator).ok, false);
  assert.equal(encodeAttribute(RADIUS_ATTR.TunnelPassword, 'pw', { tag: 2 }).ok, false);
});

test('property: salt encryption round-trips 0..239 octets; User-Password 0..128 octets (no trailing zeros)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 239 }), fc.integer({ min: 0x8000, max: 0xffff }), fc.uint8Array({ minLength: 1, maxLength: 32 }), (data, salt, secret) => {
      const e = saltEncrypt(data, salt, secret, CRYPTO.requestAuthenticator);
      assert.ok(e.ok);
      assert.equal((e.value.length - 2) % 16, 0);
      const d = saltDecrypt(e.value, secret, CRYPTO.requestAuthenticator);
      assert.ok(d.ok);
      assert.deepEqual(d.value, data);
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 128 }).map((b) => b.map((x) => x | 1)), (pw) => {
      const e = hideUserPassword(pw, CRYPTO.secret, CRYPTO.requestAuthenticator);
      assert.ok(e.ok);
      assert.equal(e.value.length, Math.max(16, Math.ceil(pw.length / 16) * 16));
      const d = unhideUserPassword(e.value, CRYPTO.secret, CRYPTO.requestAuthenticator);
      assert.ok(d.ok);
      assert.deepEqual(d.value, pw);
    }),
    { numRuns: 300 },
  );
  assert.equal(hideUserPassword(new Uint8Array(129), CRYPTO.secret, CRYPTO.requestAuthenticator).ok, false);
  assert.equal(unhideUserPassword(new Uint8Array(15), CRYPTO.secret, CRYPTO.requestAuthenticator).ok, false);
});

test('RFC 2548 §2.4.2: MS-MPPE-Send-Key round-trips a 16-octet key; MS-CHAP-MPPE-Keys keeps its 24 octets', () => {
  const key = Uint8Array.from({ length: 16 }, (_, i) => 255 - i);
  const a = encodeAttribute(MS_ATTR.MppeSendKey, key, { crypto: CRYPTO });
  assert.ok(a.ok);
  assert.equal(a.value.vendor, 311);
  const d = decodeAttribute(MS_ATTR.MppeSendKey, a.value, CRYPTO);
  assert.ok(d.ok);
  assert.deepEqual(d.value.value, key);
  const keys = new Uint8Array(24).fill(0);
  keys[23] = 0; // trailing zeros must survive a fixed-size value
  keys[0] = 9;
  const k = encodeAttribute(MS_ATTR.ChapMppeKeys, keys, { crypto: CRYPTO });
  assert.ok(k.ok);
  const kd = decodeAttribute(MS_ATTR.ChapMppeKeys, k.value, CRYPTO);
  assert.ok(kd.ok);
  assert.deepEqual(kd.value.value, keys);
});

test('values: integer range, IPv6 prefix length and masking (RFC 3162 §2.3), fixed sizes', () => {
  assert.equal(encodeAttribute(RADIUS_ATTR.NasPort, -1).ok, false);
  assert.equal(encodeAttribute(RADIUS_ATTR.NasPort, 2 ** 32).ok, false);
  assert.equal(encodeAttribute(RADIUS_ATTR.NasPort, 1.5).ok, false);
  const p = decodeAttribute(RADIUS_ATTR.FramedIpv6Prefix, { type: 97, vendor: 0, value: Uint8Array.of(0, 60, 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0xff, 0xff) });
  assert.ok(p.ok);
  // /60 keeps the high nibble of the 8th octet only.
  assert.deepEqual([...p.value.value.prefix.subarray(0, 9)], [0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0xff, 0xf0, 0]);
  assert.equal(decodeAttribute(RADIUS_ATTR.FramedIpv6Prefix, { type: 97, vendor: 0, value: Uint8Array.of(0, 129) }).ok, false);
  assert.equal(decodeAttribute(RADIUS_ATTR.FramedIpv6Prefix, { type: 97, vendor: 0, value: Uint8Array.of(0, 64, 1, 2) }).ok, false);
  assert.equal(decodeAttribute(RADIUS_ATTR.MessageAuthenticator, { type: 80, vendor: 0, value: new Uint8Array(15) }).ok, false);
  assert.equal(encodeAttribute(MS_ATTR.Chap2Response, new Uint8Array(49)).ok, false);
  assert.equal(encodeAttribute(RADIUS_ATTR.ReplyMessage, 'x'.repeat(254)).ok, false);
  assert.equal(encodeAttribute(RADIUS_ATTR.FramedIpAddress, 0xc0000201).ok, true);
});

/** A value generator for each data type (values that survive emit -> parse unchanged). */
const VALUE_ARBS: { readonly [K in RadiusValueType]: fc.Arbitrary<unknown> } = {
  text: fc.string({ unit: 'grapheme', maxLength: 30 }),
  octets: fc.uint8Array({ maxLength: 40 }),
  integer: fc.integer({ min: 0, max: 0xffffffff }),
  date: fc.integer({ min: 0, max: 0xffffffff }),
  ipaddr: fc.integer({ min: 0, max: 0xffffffff }),
  ipv6addr: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  ipv6prefix: fc.integer({ min: 0, max: 128 }).map((length) => {
    const prefix = new Uint8Array(16);
    for (let i = 0; i < Math.floor(length / 8); i++) prefix[i] = 0xab;
    return { length, prefix };
  }),
  ifid: fc.uint8Array({ minLength: 8, maxLength: 8 }),
  integer64: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  byte: fc.integer({ min: 0, max: 255 }),
  short: fc.integer({ min: 0, max: 0xffff }),
};

function arbFor(def: AttributeDef): fc.Arbitrary<unknown> {
  if (def.size !== undefined) return fc.uint8Array({ minLength: def.size.min, maxLength: def.size.max });
  if (def.tag === 'integer') return fc.integer({ min: 0, max: 0xffffff });
  if (def.valueType === 'text' && def.encrypt !== 'none') return fc.string({ unit: 'grapheme-ascii', maxLength: 30 }).map((s) => s.replace(/\0/g, 'x'));
  if (def.valueType === 'text' && def.tag === 'optional') return fc.string({ unit: 'grapheme', maxLength: 30 }).filter((s) => !s.startsWith('\0') || s.length > 1);
  return VALUE_ARBS[def.valueType];
}

test('property: every built-in row encodes and decodes back to the same tag and value', () => {
  const rows = BUILTIN_ATTRIBUTES;
  fc.assert(
    fc.property(
      fc.constantFrom(...rows).chain((def) => fc.tuple(fc.constant(def), arbFor(def), def.tag === 'none' ? fc.constant(0) : fc.integer({ min: 0, max: 31 }))),
      ([def, value, tag]) => {
        const e = encodeAttribute(def, value, { tag, crypto: CRYPTO });
        assert.ok(e.ok, `${def.name}: ${JSON.stringify(e)}`);
        const d = decodeAttribute(def, e.value, CRYPTO);
        assert.ok(d.ok, `${def.name}: ${JSON.stringify(d)}`);
        assert.equal(d.value.tag, tag);
        assert.deepStrictEqual(d.value.value, value);
      },
    ),
    { numRuns: 2000 },
  );
});

test('formatAttribute: credentials and keys are <hidden>, enumerations by name', () => {
  const pw = decodeAttribute(RADIUS_ATTR.UserPassword, (encodeAttribute(RADIUS_ATTR.UserPassword, 'hunter2', { crypto: CRYPTO }) as { ok: true; value: never }).value, CRYPTO);
  assert.ok(pw.ok);
  assert.equal(formatAttribute(pw.value), 'User-Password = <hidden>');
  const tt = decodeAttribute(RADIUS_ATTR.TunnelType, { type: 64, vendor: 0, value: Uint8Array.of(1, 0, 0, 3) });
  assert.ok(tt.ok);
  assert.equal(formatAttribute(tt.value), 'Tunnel-Type:1 = L2tp');
  for (const def of [RADIUS_ATTR.ChapPassword, RADIUS_ATTR.TunnelPassword, MS_ATTR.MppeSendKey, MS_ATTR.MppeRecvKey, MS_ATTR.Chap2Response, MS_ATTR.ChapMppeKeys]) {
    assert.equal(def.secret, true, def.name);
  }
});
