/**
 * The raw packet codec: header rules (RFC 2865 §3), attribute lists (§5), Vendor-Specific (§5.26),
 * every truncated prefix, emit into a 0xa5-filled buffer, fast-check round trips, and random input
 * that never throws and never changes its input (Uint8Array and Buffer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { seededRandom } from '../../base/random.js';
import {
  RADIUS_CODE,
  checkRadiusPacket,
  decodeAttributes,
  emitRadiusPacket,
  encodeRadiusPacket,
  parseRadiusPacket,
  radiusPacketLength,
  type RadiusAttribute,
  type RadiusPacket,
} from './index.js';

const h = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

/** An Access-Request with an IETF attribute and a Microsoft VSA (RFC 2548 MS-CHAP-Challenge). */
const SAMPLE = h(`
  01 07 0034 00112233445566778899aabbccddeeff
  01 05 626f62
  1a 18 00000137 0b 12 000102030405060708090a0b0c0d0e0f
  05 03 09`);

test('header: code, identifier, authenticator and attributes; padding after Length is ignored (§3)', () => {
  const padded = new Uint8Array(SAMPLE.length + 7);
  padded.set(SAMPLE);
  padded.fill(0xee, SAMPLE.length);
  const r = parseRadiusPacket(padded);
  assert.ok(r.ok);
  assert.equal(r.value.code, RADIUS_CODE.AccessRequest);
  assert.equal(r.value.identifier, 7);
  assert.equal(Buffer.from(r.value.authenticator).toString('hex'), '00112233445566778899aabbccddeeff');
  assert.deepEqual(
    r.value.attributes.map((a) => [a.vendor, a.type, a.value.length]),
    [
      [0, 1, 3],
      [311, 11, 16],
      [0, 5, 1],
    ],
  );
  assert.deepEqual(encodeRadiusPacket(r.value), SAMPLE);
});

test('every truncated prefix fails cleanly with a typed error', () => {
  for (let n = 0; n < SAMPLE.length; n++) {
    const r = parseRadiusPacket(SAMPLE.subarray(0, n));
    assert.equal(r.ok, false, `prefix ${n}`);
    if (!r.ok) assert.equal(r.error.kind, 'truncated', `prefix ${n}: ${r.error.kind}`);
  }
  // A Length field that cuts an attribute in half: the attribute is truncated, not the packet.
  const cut = new Uint8Array(SAMPLE);
  cut[3] = 0x33;
  const r = parseRadiusPacket(cut);
  assert.ok(!r.ok && r.error.kind === 'truncated' && r.error.what === 'attribute 5');
});

test('bad header lengths and attribute lengths are typed errors (§3, §5)', () => {
  const withLength = (len: number): Uint8Array => {
    const b = new Uint8Array(SAMPLE);
    b[2] = len >>> 8;
    b[3] = len & 0xff;
    return b;
  };
  for (const len of [0, 19, 4097, 0xffff]) {
    const r = parseRadiusPacket(withLength(len));
    assert.ok(!r.ok && r.error.kind === 'bad-length', `Length ${len}`);
  }
  const zeroLen = h('01 00 0016 00000000000000000000000000000000 01 00');
  const r1 = parseRadiusPacket(zeroLen);
  assert.ok(!r1.ok && r1.error.kind === 'bad-attribute');
  // §5.26: a Vendor-Specific shorter than 7 octets cannot hold its Vendor-Id.
  const shortVsa = h('01 00 001a 00000000000000000000000000000000 1a 06 00000137');
  const r2 = parseRadiusPacket(shortVsa);
  assert.ok(!r2.ok && r2.error.kind === 'bad-attribute');
});

test('a VSA that does not split into sub-attributes is kept whole as type 26; several sub-attributes split', () => {
  // Vendor 9, payload 01 05 aa: the sub-attribute claims 5 octets but 3 remain.
  const odd = h('04 00 001d 00000000000000000000000000000000 1a 09 00000009 01 05 aa');
  const r = parseRadiusPacket(odd);
  assert.ok(r.ok);
  assert.deepEqual(r.value.attributes, [{ type: 26, vendor: 0, value: h('00000009 01 05 aa') }]);
  assert.deepEqual(encodeRadiusPacket(r.value), odd);
  // Two Microsoft sub-attributes in one VSA.
  const two = h('04 00 0024 00000000000000000000000000000000 1a 10 00000137 1c 06 cb007135 07 04 0001');
  const t = parseRadiusPacket(two);
  assert.ok(t.ok);
  assert.deepEqual(
    t.value.attributes.map((a) => [a.vendor, a.type]),
    [
      [311, 28],
      [311, 7],
    ],
  );
  // Vendor 0 in a VSA is not a vendor: kept whole.
  const v0 = parseRadiusPacket(h('04 00 001d 00000000000000000000000000000000 1a 09 00000000 01 03 aa'));
  assert.ok(v0.ok && v0.value.attributes[0]?.type === 26 && v0.value.attributes[0].vendor === 0);
});

test('emit writes exactly radiusPacketLength octets (0xa5-filled buffer) and refuses oversize', () => {
  const p = parseRadiusPacket(SAMPLE);
  assert.ok(p.ok);
  const out = new Uint8Array(radiusPacketLength(p.value) + 8).fill(0xa5);
  const end = emitRadiusPacket(p.value, out, 4);
  assert.equal(end, 4 + SAMPLE.length);
  assert.deepEqual(out.subarray(4, end), SAMPLE);
  assert.deepEqual([...out.subarray(0, 4), ...out.subarray(end)], new Array(8).fill(0xa5));
  const big: RadiusPacket = { code: 1, identifier: 0, authenticator: new Uint8Array(16), attributes: [{ type: 1, vendor: 0, value: new Uint8Array(254) }] };
  assert.equal(checkRadiusPacket(big)?.kind, 'too-long');
  assert.throws(() => encodeRadiusPacket(big), RangeError);
  const many: RadiusPacket = { code: 1, identifier: 0, authenticator: new Uint8Array(16), attributes: new Array<RadiusAttribute>(17).fill({ type: 25, vendor: 0, value: new Uint8Array(253) }) };
  assert.equal(checkRadiusPacket(many)?.kind, 'too-long');
  const vsa: RadiusPacket = { code: 1, identifier: 0, authenticator: new Uint8Array(16), attributes: [{ type: 1, vendor: 9, value: new Uint8Array(248) }] };
  assert.equal(checkRadiusPacket(vsa)?.kind, 'too-long');
});

const rawAttr: fc.Arbitrary<RadiusAttribute> = fc.oneof(
  fc.record({ type: fc.integer({ min: 0, max: 255 }).filter((t) => t !== 26), vendor: fc.constant(0), value: fc.uint8Array({ maxLength: 40 }) }, { noNullPrototype: true }),
  fc.record({ type: fc.integer({ min: 0, max: 255 }), vendor: fc.integer({ min: 1, max: 0xffffffff }), value: fc.uint8Array({ maxLength: 40 }) }, { noNullPrototype: true }),
);
const packetArb: fc.Arbitrary<RadiusPacket> = fc.record(
  {
    code: fc.integer({ min: 0, max: 255 }),
    identifier: fc.integer({ min: 0, max: 255 }),
    authenticator: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    attributes: fc.array(rawAttr, { maxLength: 12 }),
  },
  { noNullPrototype: true },
);

test('property: parse(emit(p)) == p and the encoded length is radiusPacketLength(p)', () => {
  fc.assert(
    fc.property(packetArb, (p) => {
      const b = encodeRadiusPacket(p);
      assert.equal(b.length, radiusPacketLength(p));
      const r = parseRadiusPacket(b);
      assert.ok(r.ok);
      assert.deepStrictEqual(r.value, p);
    }),
    { numRuns: 500 },
  );
});

/** Random datagrams, half of them behind a plausible header, as Uint8Array and as Buffer views. */
function randomDatagram(r: ReturnType<typeof seededRandom>): Uint8Array {
  const n = r.u32() % 96;
  const b = r.bytes(n);
  if ((r.u32() & 1) === 1 && n >= 20) {
    b[2] = 0;
    b[3] = 20 + (r.u32() % (n - 19));
  }
  return b;
}

test('random input never throws and is never changed (Uint8Array and Buffer, 20,000 inputs)', () => {
  const r = seededRandom(0x2865);
  let parsed = 0;
  for (let i = 0; i < 20_000; i++) {
    const raw = randomDatagram(r);
    // A Buffer view into a larger pool (what dgram hands us) and a plain Uint8Array.
    const pool = Buffer.alloc(raw.length + 16, 0x5a);
    pool.set(raw, 8);
    const views: Uint8Array[] = [raw, pool.subarray(8, 8 + raw.length)];
    for (const v of views) {
      const before = Buffer.from(v).toString('hex');
      const p = parseRadiusPacket(v);
      if (p.ok) {
        parsed++;
        decodeAttributes(p.value, { secret: new Uint8Array([1, 2, 3]), requestAuthenticator: new Uint8Array(16) });
        // Values are copies: changing one must not reach the input.
        p.value.attributes[0]?.value.fill(0xff);
      }
      assert.equal(Buffer.from(v).toString('hex'), before);
    }
  }
  assert.ok(parsed > 500, `some inputs should parse (${parsed})`);
});
