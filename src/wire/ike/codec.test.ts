import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  attr,
  attrValue,
  decodeAttributes,
  encodeAttributes,
  emitIsakmp,
  encodeIsakmp,
  isakmpMessageLength,
  parseIsakmp,
  parsePayloads,
  encodePayloadChain,
  type HeaderFields,
} from './codec.js';
import type { IkePayload, SaAttribute } from './types.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+|#.*$/gm, ''), 'hex'));

/**
 * Hand-built Main Mode message 1 as sent by a Windows / strongSwan style initiator
 * (RFC 2409 §5 HDR, SA, VID), one comment per field.
 */
const MM1 = hex(`
  0011223344556677   # initiator cookie
  0000000000000000   # responder cookie (zero in message 1)
  01                 # next payload: SA (1)
  10                 # version 1.0
  02                 # exchange type: Identity Protection (Main Mode)
  00                 # flags
  00000000           # message id
  0000006c           # length 108
  # --- SA payload (60 bytes)
  0d 00 003c         # next VID (13), reserved, length 60
  00000001           # DOI IPsec
  00000001           # situation SIT_IDENTITY_ONLY
  # --- proposal (48 bytes)
  00 00 0030         # last proposal, length 48
  01 01 00 01        # proposal #1, protocol ISAKMP, SPI size 0, 1 transform
  # --- transform (40 bytes)
  00 00 0028         # last transform, length 40
  01 01 0000         # transform #1, KEY_IKE, reserved2
  8001 0007          # TV encryption algorithm = AES-CBC
  800e 0100          # TV key length = 256
  8002 0002          # TV hash = SHA
  8004 000e          # TV group = MODP 2048 (14)
  8003 0001          # TV auth method = pre-shared key
  800b 0001          # TV life type = seconds
  000c 0004 00007080 # TLV life duration (4 bytes) = 28800
  # --- VID payload (20 bytes)
  00 00 0014         # last payload, length 20
  4a131c81070358455c5728f20e95452f  # MD5("RFC 3947")
`);

test('Main Mode message 1 vector parses field by field and re-encodes byte-exact', () => {
  const r = parseIsakmp(MM1);
  assert.ok(r.ok);
  const m = r.value;
  assert.equal(m.encrypted, false);
  if (m.encrypted) return;
  assert.equal(m.header.exchangeType, 2);
  assert.equal(m.header.length, 108);
  assert.equal(m.payloads.length, 2);
  const sa = m.payloads[0];
  assert.ok(sa && sa.kind === 'sa');
  assert.equal(sa.doi, 1);
  assert.equal(sa.situation, 1);
  const t = sa.proposals[0]?.transforms[0];
  assert.ok(t);
  assert.equal(t.id, 1);
  assert.deepEqual(t.attributes.map((a) => [a.type, attrValue(a)]), [
    [1, 7], [14, 256], [2, 2], [4, 14], [3, 1], [11, 1], [12, 28800],
  ]);
  const vid = m.payloads[1];
  assert.ok(vid && vid.kind === 'vid');
  assert.equal(Buffer.from(vid.data).toString('hex'), '4a131c81070358455c5728f20e95452f');
  // Raw SA body (for HASH_I's SAi_b) starts after the generic header at offset 28+4.
  assert.deepEqual(m.raws[0]?.body, MM1.subarray(32, 88));
  // emit into a 0xa5-filled buffer at an offset: exactly `length` bytes written, nothing else touched.
  const buf = new Uint8Array(120).fill(0xa5);
  const hdr: HeaderFields = { icookie: m.header.icookie, rcookie: m.header.rcookie, exchangeType: 2, flags: 0, messageId: 0 };
  const n = emitIsakmp(hdr, m.payloads, buf, 6);
  assert.equal(n, 108);
  assert.deepEqual(buf.subarray(6, 114), MM1);
  assert.ok(buf.subarray(0, 6).every((x) => x === 0xa5));
  assert.ok(buf.subarray(114).every((x) => x === 0xa5));
});

/** Informational with N(R-U-THERE) (RFC 3706 §5) and D (RFC 2408 §3.15); cleartext for codec test. */
const INFO = hex(`
  0011223344556677 8899aabbccddeeff  # cookies
  0b 10 05 00        # next N, v1.0, Informational, flags 0
  01020304           # message id
  00000050           # length 80
  0c 00 0020         # N: next D, length 32
  00000001           # DOI IPsec
  01 10 8d28         # protocol ISAKMP, SPI size 16, type R-U-THERE (36136)
  0011223344556677 8899aabbccddeeff  # SPI = the two cookies
  00000007           # DPD sequence number
  00 00 0014         # D: last, length 20
  00000001           # DOI IPsec
  03 04 0002         # protocol ESP, SPI size 4, 2 SPIs
  c0ffee01 c0ffee02  # SPIs
`);

test('notify + delete vector', () => {
  const r = parseIsakmp(INFO);
  assert.ok(r.ok && !r.value.encrypted);
  if (!r.ok || r.value.encrypted) return;
  const [n, d] = r.value.payloads;
  assert.ok(n && n.kind === 'n' && d && d.kind === 'd');
  assert.equal(n.notifyType, 36136);
  assert.equal(n.spi.length, 16);
  assert.equal(Buffer.from(n.data).readUInt32BE(0), 7);
  assert.equal(d.spis.length, 2);
  assert.equal(Buffer.from(d.spis[1] ?? []).toString('hex'), 'c0ffee02');
  const again = encodeIsakmp(
    { icookie: r.value.header.icookie, rcookie: r.value.header.rcookie, exchangeType: 5, flags: 0, messageId: 0x01020304 },
    r.value.payloads,
  );
  assert.deepEqual(again, INFO);
});

test('every truncated prefix fails cleanly', () => {
  for (const v of [MM1, INFO]) {
    for (let i = 0; i < v.length; i++) {
      const r = parseIsakmp(v.subarray(0, i));
      assert.equal(r.ok, false, `prefix ${i}`);
    }
    // Shrinking the length field instead cuts payloads: must also fail, never throw.
    for (let len = 28; len < v.length; len++) {
      const c = v.slice(0, len);
      new DataView(c.buffer).setUint32(24, len);
      assert.equal(parseIsakmp(c).ok, false, `length ${len}`);
    }
  }
});

test('bad version and short length are typed errors', () => {
  const c = MM1.slice();
  c[17] = 0x20;
  const r = parseIsakmp(c);
  assert.ok(!r.ok && r.error.kind === 'bad-version');
  const d = MM1.slice();
  new DataView(d.buffer).setUint32(24, 10);
  const r2 = parseIsakmp(d);
  assert.ok(!r2.ok && r2.error.kind === 'bad-length');
});

test('attr() picks TV or TLV (RFC 2408 §3.3)', () => {
  assert.deepEqual(attr(12, 3600), { type: 12, tv: true, value: 3600 });
  const big = attr(12, 86400);
  assert.equal(big.tv, false);
  assert.equal(attrValue(big), 86400);
});

// ---- properties ----
const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
const attrArb: fc.Arbitrary<SaAttribute> = fc.oneof(
  fc.record({ type: fc.integer({ min: 0, max: 0x7fff }), tv: fc.constant(true as const), value: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ type: fc.integer({ min: 0, max: 0x7fff }), tv: fc.constant(false as const), value: bytes(12) }),
);
const transformArb = fc.record({ number: fc.nat(255), id: fc.nat(255), attributes: fc.array(attrArb, { maxLength: 5 }) });
const proposalArb = fc.record({
  number: fc.nat(255),
  protocolId: fc.nat(255),
  spi: bytes(8),
  transforms: fc.array(transformArb, { maxLength: 3 }),
});
const KNOWN = new Set([0, 1, 4, 5, 8, 9, 10, 11, 12, 13, 20, 21, 130, 131]);
const payloadArb: fc.Arbitrary<IkePayload> = fc.oneof(
  fc.record({ kind: fc.constant('sa' as const), doi: fc.constant(1), situation: fc.nat(), proposals: fc.array(proposalArb, { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('ke' as const), data: bytes(64) }),
  fc.record({ kind: fc.constant('id' as const), idType: fc.nat(255), protocolId: fc.nat(255), port: fc.nat(0xffff), data: bytes(20) }),
  fc.record({ kind: fc.constant('hash' as const), data: bytes(32) }),
  fc.record({ kind: fc.constant('sig' as const), data: bytes(32) }),
  fc.record({ kind: fc.constant('nonce' as const), data: bytes(32) }),
  fc.record({ kind: fc.constant('n' as const), doi: fc.nat(), protocolId: fc.nat(255), notifyType: fc.nat(0xffff), spi: bytes(16), data: bytes(8) }),
  fc.integer({ min: 0, max: 8 }).chain((spiSize) =>
    fc.record({
      kind: fc.constant('d' as const),
      doi: fc.nat(),
      protocolId: fc.nat(255),
      spiSize: fc.constant(spiSize),
      spis: fc.array(fc.uint8Array({ minLength: spiSize, maxLength: spiSize }), { maxLength: spiSize === 0 ? 0 : 4 }),
    }),
  ),
  fc.record({ kind: fc.constant('vid' as const), data: bytes(20) }),
  fc.record({ kind: fc.constant('nat-d' as const), type: fc.constantFrom(20 as const, 130 as const), data: bytes(32) }),
  fc.record({ kind: fc.constant('nat-oa' as const), type: fc.constantFrom(21 as const, 131 as const), idType: fc.nat(255), address: bytes(16) }),
  fc.record({ kind: fc.constant('raw' as const), type: fc.integer({ min: 2, max: 255 }).filter((t) => !KNOWN.has(t)), data: bytes(16) }),
);

test('fast-check: encode -> parse round-trips every payload kind', () => {
  fc.assert(
    fc.property(fc.array(payloadArb, { maxLength: 6 }), fc.nat(), (ps, mid) => {
      const h: HeaderFields = { icookie: new Uint8Array(8).fill(1), rcookie: new Uint8Array(8).fill(2), exchangeType: 5, flags: 0, messageId: mid };
      const wire = encodeIsakmp(h, ps);
      assert.equal(wire.length, isakmpMessageLength(ps));
      const r = parseIsakmp(wire);
      assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
      if (!r.ok || r.value.encrypted) return;
      assert.deepEqual(r.value.payloads, structuredClone(ps));
      assert.equal(r.value.header.messageId, mid);
    }),
    { numRuns: 300 },
  );
});

test('attribute lists (notification data): RFC 2407 §4.6.3.1 RESPONDER-LIFETIME vector, round trip, truncation', () => {
  // SA Life Type = seconds (TV 0x8001 0001), SA Life Duration = 3600 (TV 0x8002 0e10),
  // then a kilobyte pair with a 4-byte TLV duration (type 2 = 0x0002, length 4, 100000 KB).
  const list = [attr(1, 1), attr(2, 3600), attr(1, 2), attr(2, 100000)];
  const wire = encodeAttributes(list);
  assert.equal(Buffer.from(wire).toString('hex'), '80010001' + '80020e10' + '80010002' + '00020004000186a0');
  const back = decodeAttributes(wire);
  assert.ok(back.ok);
  if (back.ok) assert.deepEqual(back.value.map(attrValue), [1, 3600, 2, 100000]);
  // Every truncated prefix: only those ending on an attribute boundary are whole lists.
  for (let n = 1; n < wire.length; n++) assert.equal(decodeAttributes(wire.subarray(0, n)).ok, [4, 8, 12].includes(n), `prefix ${n}`);
  fc.assert(fc.property(fc.array(attrArb, { maxLength: 6 }), (l) => {
    const r = decodeAttributes(encodeAttributes(l));
    return r.ok && Buffer.from(encodeAttributes(r.value)).equals(Buffer.from(encodeAttributes(l)));
  }));
  fc.assert(fc.property(bytes(64), (b) => {
    decodeAttributes(b);
    return true;
  }));
});

test('fast-check: random bytes never throw', () => {
  fc.assert(
    fc.property(bytes(200), (b) => {
      parseIsakmp(b);
      parsePayloads(1, b);
      parsePayloads(11, b);
    }),
    { numRuns: 2000 },
  );
  // Valid header + random body exercises payload decoders harder.
  fc.assert(
    fc.property(fc.constantFrom(1, 2, 3, 4, 5, 8, 11, 12, 20, 21, 130), bytes(120), (first, body) => {
      const m = new Uint8Array(28 + body.length);
      m.set(MM1.subarray(0, 28));
      m[16] = first;
      new DataView(m.buffer).setUint32(24, m.length);
      m.set(body, 28);
      parseIsakmp(m);
    }),
    { numRuns: 2000 },
  );
  // Mutations of a valid message.
  fc.assert(
    fc.property(fc.nat(MM1.length - 1), fc.nat(255), (i, v) => {
      const c = MM1.slice();
      c[i] = v;
      parseIsakmp(c);
    }),
  );
  assert.ok(encodePayloadChain([]).length === 0);
});

/**
 * Third-party vector from scapy's test suite (secdev/scapy test/scapy/layers/isakmp.uts): an
 * independent encoder's bytes for a two-notify message. (Its delete vector is not used: scapy
 * encodes "# of SPIs" in one byte where RFC 2408 §3.15 has two.)
 */
test('scapy isakmp.uts notify vector parses and re-encodes byte-exact', () => {
  const notif = hex(`
    0000000000000000 0000000000000000  # cookies (scapy defaults)
    0b 10 00 00 00000000 0000003a      # next N, v1.0, exchange 0, flags 0, mid 0, length 58
    0b 00 0012  00000000 01 00 0008 457272657572  # N: next N, len 18, DOI 0, ISAKMP, spi 0, INVALID-FLAGS, "Erreur"
    00 00 000c  00000000 01 00 0000               # N: last, len 12, type 0
  `);
  for (const v of [notif]) {
    const r = parseIsakmp(v);
    assert.ok(r.ok && !r.value.encrypted);
    if (!r.ok || r.value.encrypted) continue;
    const h = r.value.header;
    assert.deepEqual(encodeIsakmp({ icookie: h.icookie, rcookie: h.rcookie, exchangeType: h.exchangeType, flags: h.flags, messageId: h.messageId }, r.value.payloads), v);
  }
  const r = parseIsakmp(notif);
  assert.ok(r.ok && !r.value.encrypted && r.value.payloads[0]?.kind === 'n');
  if (r.ok && !r.value.encrypted && r.value.payloads[0]?.kind === 'n') {
    assert.equal(r.value.payloads[0].notifyType, 8);
    assert.equal(Buffer.from(r.value.payloads[0].data).toString(), 'Erreur');
  }
});
