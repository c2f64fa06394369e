import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeCrypto from 'node:crypto';
import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { EspSa, byteLimitsFromKilobytes, type EspSaParams } from './esp.js';
import { ReplayWindow } from './replay.js';
import { seededRandom, type RandomSource } from '../base/random.js';
import { classifyUdp4500, frameIkeFor4500, NAT_KEEPALIVE, emitEspHeader, parseEspHeader } from '../wire/esp/codec.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+|#.*$/gm, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** A RandomSource that hands out a fixed IV (for known-answer tests). */
const fixedIv = (iv: Uint8Array): RandomSource => ({ bytes: (n) => iv.slice(0, n), u32: () => 0 });

test('RFC 3602 §4 Case #1 and #2: AES-128-CBC block vectors through node:crypto', () => {
  const c1 = createCipheriv('aes-128-cbc', hex('06a9214036b8a15b512e03d534120006'), hex('3dafba429d9eb430b422da802c9fac41')).setAutoPadding(false);
  assert.equal(Buffer.concat([c1.update('Single block msg'), c1.final()]).toString('hex'), 'e353779c1079aeb82708942dbe77181a');
  const c2 = createCipheriv('aes-128-cbc', hex('c286696d887c9aa0611bbb3e2025a45a'), hex('562e17996d093d28ddb3ba695a2e6f58')).setAutoPadding(false);
  const pt = Uint8Array.from({ length: 32 }, (_, i) => i);
  assert.equal(Buffer.concat([c2.update(pt), c2.final()]).toString('hex'), 'd296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1');
});

/*
 * ESP packet vectors computed independently with Python `cryptography` + hmac (docs/ipsec-esp.md).
 * Payload: a transport-mode UDP datagram 1701 -> 1701 (length 22, checksum 0) carrying the first
 * 14 bytes of an L2TP control header.
 */
const PAYLOAD = hex('06a5 06a5 0016 0000  c802 000e 0001 0000 0000 0000 8008');

const CBC_SHA1 = hex(`
  00004321                          # SPI 0x4321
  00000001                          # sequence number 1
  e96e8c08ab465763fd098d45dd3ff893  # IV (RFC 3602 case #5 IV)
  edb74d1934feff52fa161f26185c1b85 84df84a1afa8886b6da257ee0a2f4589  # 22 + 8 pad + 2 = 32 bytes ciphertext
  15063a864cca90ece81e01e3          # HMAC-SHA1-96 ICV
`);
const CBC_SHA1_PARAMS: EspSaParams = {
  spi: 0x4321,
  encryption: 'aes-cbc',
  encryptionKey: hex('90d382b410eeba7ad938c46cec1a82bf'),
  integrity: 'hmac-sha1-96',
  integrityKey: Uint8Array.from({ length: 20 }, (_, i) => 0x40 + i),
};

const TDES_SHA256 = hex(`
  11223344 00000007                 # SPI, seq 7
  0102030405060708                  # 8-byte IV
  206ce028812ce08570d9dfd14bd213e2dd8b617be29f86ed  # 22 + 0 pad + 2 = 24 bytes ciphertext
  7f644d975b539af80306a1b180281483  # HMAC-SHA256-128 ICV
`);
const TDES_PARAMS: EspSaParams = {
  spi: 0x11223344,
  encryption: '3des-cbc',
  encryptionKey: Uint8Array.from({ length: 24 }, (_, i) => i + 1),
  integrity: 'hmac-sha256-128',
  integrityKey: Uint8Array.from({ length: 32 }, (_, i) => 0x60 + i),
};

/** RFC 4106-style: key/salt/SPI/IV from draft-mcgrew-gcm-test-01 test case 1 inputs. */
const GCM_PARAMS: EspSaParams = {
  spi: 0xa5f8,
  encryption: 'aes-gcm-16',
  encryptionKey: hex('feffe9928665731c6d6a8f9467308308 cafebabe'), // key | salt (RFC 4106 §8.1)
  integrity: 'none',
  integrityKey: new Uint8Array(0),
};
const GCM_DRAFT_IV = hex(`
  0000a5f8 0000000a                 # SPI, seq 10 (the AAD, RFC 4106 §5)
  facedbaddecaf888                  # explicit 8-byte IV
  9d172a42d9e572c12629287c2b24f206650d887c b93e  # 22 + 0 pad + 2 = 24 bytes ciphertext
  532b41b8d231524e3759ddeccf58674f7002          # (last bytes) + 16-byte ICV
`);
const GCM_SEQ_IV = hex(`
  0000a5f8 00000001                 # SPI, seq 1
  0000000000000001                  # IV = 64-bit sequence counter (our sender's choice)
  8ae1ac3cf4587cb9ccb8b164e28061425fd2d49751c903272b0f11d09e140e4ef633170f46085908
`);

test('AES-CBC + HMAC-SHA1-96 known answer, both directions', () => {
  const out = new EspSa(CBC_SHA1_PARAMS, fixedIv(hex('e96e8c08ab465763fd098d45dd3ff893')));
  const p = out.encrypt(PAYLOAD);
  assert.ok(p.ok);
  if (p.ok) assert.equal(toHex(p.value), toHex(CBC_SHA1));
  const inb = new EspSa(CBC_SHA1_PARAMS, seededRandom(1));
  const d = inb.decrypt(CBC_SHA1);
  assert.ok(d.ok);
  if (d.ok) {
    assert.equal(d.value.nextHeader, 17);
    assert.deepEqual(new Uint8Array(d.value.payload), PAYLOAD);
  }
});

test('3DES-CBC + HMAC-SHA256-128 known answer', () => {
  const tx = new EspSa(TDES_PARAMS, fixedIv(hex('0102030405060708')));
  (tx as unknown as { seqOut: number }).seqOut = 6; // the vector is packet #7
  const p = tx.encrypt(PAYLOAD);
  assert.ok(p.ok && toHex(p.value) === toHex(TDES_SHA256));
  const d = new EspSa(TDES_PARAMS, seededRandom(1)).decrypt(TDES_SHA256);
  assert.ok(d.ok && toHex(d.value.payload) === toHex(PAYLOAD));
});

test('AES-GCM-16 (RFC 4106) known answers: foreign IV decrypts, our IV = counter', () => {
  const inb = new EspSa(GCM_PARAMS, seededRandom(1));
  const d = inb.decrypt(GCM_DRAFT_IV);
  assert.ok(d.ok);
  if (d.ok) assert.equal(toHex(d.value.payload), toHex(PAYLOAD));
  const out = new EspSa(GCM_PARAMS, seededRandom(1));
  const p = out.encrypt(PAYLOAD);
  assert.ok(p.ok && toHex(p.value) === toHex(GCM_SEQ_IV));
});

test('encryptv: header | IV, ciphertext and ICV segments of the known answers, prefix staged before the payload', () => {
  // The gate's path: the 8-byte UDP header as prefix, the L2TP datagram as payload, segments never joined.
  const udp = PAYLOAD.subarray(0, 8);
  const l2tp = PAYLOAD.subarray(8);
  const cases = [
    [new EspSa(CBC_SHA1_PARAMS, fixedIv(hex('e96e8c08ab465763fd098d45dd3ff893'))), CBC_SHA1, 8 + 16, 12],
    [new EspSa(GCM_PARAMS, seededRandom(1)), GCM_SEQ_IV, 8 + 8, 16],
  ] as const;
  for (const [sa, vector, headLen, icvLen] of cases) {
    const r = sa.encryptv(l2tp, 17, udp);
    assert.ok(r.ok);
    if (!r.ok) continue;
    const [head, body, icv] = r.value;
    assert.deepEqual([head.length, icv.length, head.length + body.length + icv.length], [headLen, icvLen, vector.length]);
    assert.equal(toHex(Buffer.concat(r.value)), toHex(vector));
    assert.equal(sa.counters.bytesOut, PAYLOAD.length);
  }
  // Without a prefix it is encrypt() in pieces; the segments are fresh buffers (a second packet leaves them alone).
  const tx = new EspSa(GCM_PARAMS, seededRandom(1));
  const a = tx.encryptv(PAYLOAD);
  assert.ok(a.ok);
  if (!a.ok) return;
  const first = toHex(Buffer.concat(a.value));
  assert.ok(tx.encryptv(new Uint8Array(PAYLOAD.length).fill(0xee)).ok);
  assert.equal(first, toHex(GCM_SEQ_IV));
  assert.equal(toHex(Buffer.concat(a.value)), first);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 1500 }), fc.constantFrom(CBC_SHA1_PARAMS, GCM_PARAMS, TDES_PARAMS), (pre, body, params) => {
      const r = new EspSa(params, seededRandom(7)).encryptv(body, 17, pre);
      if (!r.ok) return false;
      const d = new EspSa(params, seededRandom(1)).decrypt(Buffer.concat(r.value));
      return d.ok && toHex(d.value.payload) === toHex(pre) + toHex(body);
    }),
    { numRuns: 200 },
  );
});

test('tamper detection: any flipped bit is refused, counters move', () => {
  for (const [params, pkt] of [[CBC_SHA1_PARAMS, CBC_SHA1], [GCM_PARAMS, GCM_SEQ_IV], [TDES_PARAMS, TDES_SHA256]] as const) {
    for (let i = 0; i < pkt.length; i++) {
      const sa = new EspSa(params, seededRandom(1));
      const c = pkt.slice();
      c[i] = (c[i] ?? 0) ^ 0x01;
      const r = sa.decrypt(c);
      assert.equal(r.ok, false, `byte ${i}`);
      if (!r.ok && i >= 8) assert.equal(r.error.kind, 'icv-mismatch', `byte ${i}`);
      if (!r.ok && i < 4) assert.equal(r.error.kind, 'wrong-spi');
    }
    const sa = new EspSa(params, seededRandom(1));
    for (let n = 0; n < pkt.length; n++) assert.equal(sa.decrypt(pkt.subarray(0, n)).ok, false, `prefix ${n}`);
    assert.ok(sa.counters.malformed + sa.counters.authFailures > 0);
  }
});

test('bad padding is detected after a valid ICV', () => {
  // Build a packet whose padding bytes are wrong but whose ICV is valid: encrypt manually.
  const key = CBC_SHA1_PARAMS.encryptionKey;
  const iv = new Uint8Array(16);
  const body = new Uint8Array(32);
  body.set(PAYLOAD);
  body.fill(9, 22, 30); // padding should be 1..8
  body[30] = 8;
  body[31] = 17;
  const c = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
  const ct = Buffer.concat([c.update(body), c.final()]);
  const hdr = new Uint8Array(8);
  emitEspHeader({ spi: 0x4321, seq: 5 }, hdr);
  const noIcv = Buffer.concat([hdr, iv, ct]);
  const icv = nodeCrypto.createHmac('sha1', CBC_SHA1_PARAMS.integrityKey).update(noIcv).digest().subarray(0, 12);
  const sa = new EspSa(CBC_SHA1_PARAMS, seededRandom(1));
  const r = sa.decrypt(Buffer.concat([noIcv, icv]));
  assert.ok(!r.ok && r.error.kind === 'bad-padding');
  assert.equal(sa.counters.padErrors, 1);
  assert.equal(sa.lastSeqIn, 0, 'window does not move for refused packets');
});

test('round trip every cipher suite, duplicate rejected', () => {
  const rnd = seededRandom(42);
  const suites: EspSaParams[] = [
    CBC_SHA1_PARAMS,
    TDES_PARAMS,
    GCM_PARAMS,
    { ...CBC_SHA1_PARAMS, encryptionKey: rnd.bytes(32), integrity: 'hmac-sha256-128', integrityKey: rnd.bytes(32) },
    { ...CBC_SHA1_PARAMS, encryptionKey: rnd.bytes(32), integrity: 'hmac-sha512-256', integrityKey: rnd.bytes(64) },
    { ...GCM_PARAMS, encryptionKey: rnd.bytes(36) },
  ];
  for (const s of suites) {
    const tx = new EspSa(s, seededRandom(3));
    const rx = new EspSa(s, seededRandom(4));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (pl) => {
        const p = tx.encrypt(pl);
        assert.ok(p.ok);
        if (!p.ok) return;
        assert.equal(p.value.length, tx.packetLength(pl.length));
        const d = rx.decrypt(p.value);
        assert.ok(d.ok);
        if (d.ok) assert.deepEqual(new Uint8Array(d.value.payload), pl);
        const again = rx.decrypt(p.value);
        assert.ok(!again.ok && again.error.kind === 'replay');
      }),
      { numRuns: 50 },
    );
  }
});

test('random bytes never throw in decrypt', () => {
  const sa = new EspSa(CBC_SHA1_PARAMS, seededRandom(1));
  const g = new EspSa(GCM_PARAMS, seededRandom(1));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), (b) => {
      const c = b.slice();
      if (c.length >= 4) c.set([0, 0, 0x43, 0x21]);
      sa.decrypt(c);
      if (c.length >= 4) c.set([0, 0, 0xa5, 0xf8]);
      g.decrypt(c);
    }),
    { numRuns: 1000 },
  );
});

test('sequence numbers never cycle (RFC 4303 §3.3.3)', () => {
  const sa = new EspSa(GCM_PARAMS, seededRandom(1));
  (sa as unknown as { seqOut: number }).seqOut = 0xfffffffe;
  const last = sa.encrypt(PAYLOAD);
  assert.ok(last.ok);
  if (last.ok) assert.equal(parseEspHeader(last.value).ok && new DataView(last.value.buffer, last.value.byteOffset).getUint32(4), 0xffffffff);
  const r = sa.encrypt(PAYLOAD);
  assert.ok(!r.ok && r.error.kind === 'seq-exhausted');
});

test('anti-replay window edges (RFC 4303 §3.4.3)', () => {
  const w = new ReplayWindow(64);
  assert.equal(w.check(0), 'zero');
  assert.equal(w.check(1), 'ok');
  w.update(1);
  assert.equal(w.check(1), 'duplicate');
  w.update(100);
  // window covers 37..100
  assert.equal(w.check(36), 'too-old');
  assert.equal(w.check(37), 'ok');
  assert.equal(w.check(100), 'duplicate');
  w.update(37);
  assert.equal(w.check(37), 'duplicate');
  assert.equal(w.check(38), 'ok');
  // a far-ahead jump clears everything
  w.update(100 + 1000);
  assert.equal(w.check(1100), 'duplicate');
  assert.equal(w.check(1099), 'ok');
  assert.equal(w.check(1100 - 64), 'too-old');
  assert.equal(w.check(1100 - 63), 'ok');
  // jump of exactly window size - 1 keeps the top bit history consistent
  w.update(1100 + 63);
  assert.equal(w.check(1100), 'duplicate');
  assert.equal(w.check(1099), 'too-old');
  // near the 32-bit top
  const t = new ReplayWindow(128);
  t.update(0xffffffff - 1);
  t.update(0xffffffff);
  assert.equal(t.check(0xffffffff), 'duplicate');
  assert.equal(t.check(0xffffffff - 2), 'ok');
  assert.equal(t.check(0xffffffff - 128), 'too-old');
  assert.equal(t.size, 128);
});

test('replay window agrees with a naive model (fast-check)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 200 }), (seqs) => {
      const w = new ReplayWindow(64);
      const seen = new Set<number>();
      let top = 0;
      for (const s of seqs) {
        const expect = s > top ? 'ok' : top - s >= 64 ? 'too-old' : seen.has(s) ? 'duplicate' : 'ok';
        assert.equal(w.check(s), expect);
        if (expect === 'ok') {
          w.update(s);
          seen.add(s);
          top = Math.max(top, s);
        }
      }
    }),
  );
});

test('RFC 3948 UDP-4500 framing', () => {
  assert.deepEqual(classifyUdp4500(NAT_KEEPALIVE), { kind: 'keepalive' });
  const ike = hex('0011223344556677 0000000000000000 01100200 00000000 0000001c');
  const framed = frameIkeFor4500(ike);
  assert.equal(framed.length, ike.length + 4);
  const c = classifyUdp4500(framed);
  assert.ok(c.kind === 'ike' && toHex(c.ike) === toHex(ike));
  const e = classifyUdp4500(CBC_SHA1);
  assert.ok(e.kind === 'esp' && e.spi === 0x4321);
  assert.equal(classifyUdp4500(hex('0102')).kind, 'invalid');
  assert.equal(classifyUdp4500(hex('01020304')).kind, 'invalid');
  const buf = new Uint8Array(12).fill(0xa5);
  assert.equal(emitEspHeader({ spi: 1, seq: 2 }, buf, 2), 8);
  assert.equal(toHex(buf), 'a5a50000000100000002a5a5');
});

test('byte lifetime (RFC 2407 §4.5): soft once, hard once, then both directions refuse', () => {
  const limits = byteLimitsFromKilobytes(1, 0.5); // 1 KB = 1024 bytes, soft at 512
  assert.deepEqual(limits, { soft: 512, hard: 1024 });
  const params = { ...GCM_PARAMS, byteLimits: limits };
  const tx = new EspSa(params, seededRandom(1));
  const rx = new EspSa(params, seededRandom(2));
  const pkt = (n: number): Uint8Array => {
    const r = tx.encrypt(new Uint8Array(n));
    assert.ok(r.ok);
    return r.ok ? r.value : new Uint8Array(0);
  };
  const seen: (string | undefined)[] = [];
  // 500 bytes: below soft on both sides.
  assert.ok(rx.decrypt(pkt(500)).ok);
  seen.push(tx.takeLifetimeEvent(), rx.takeLifetimeEvent());
  // +12 = 512 reaches soft exactly (>= soft), reported once per SA.
  assert.ok(rx.decrypt(pkt(12)).ok);
  seen.push(tx.takeLifetimeEvent(), rx.takeLifetimeEvent(), tx.takeLifetimeEvent());
  assert.equal(tx.lifetimeState, 'soft');
  // +511 = 1023: still soft, nothing new.
  assert.ok(rx.decrypt(pkt(511)).ok);
  seen.push(tx.takeLifetimeEvent(), rx.takeLifetimeEvent());
  // +1 = 1024 reaches hard: the crossing packet itself still goes through.
  const last = pkt(1);
  assert.ok(rx.decrypt(last).ok);
  seen.push(tx.takeLifetimeEvent(), rx.takeLifetimeEvent());
  assert.deepEqual(seen, [undefined, undefined, 'soft', 'soft', undefined, undefined, undefined, 'hard', 'hard']);
  assert.equal(tx.bytesProcessed, 1024);
  assert.equal(rx.bytesProcessed, 1024);
  assert.equal(rx.lifetimeState, 'hard');
  // RFC 4301 §4.4.2.1: past the hard limit the SA is not used any more.
  const more = tx.encrypt(new Uint8Array(1));
  assert.ok(!more.ok && more.error.kind === 'lifetime-expired');
  // Inbound too: a valid packet for an SA past its hard limit is refused.
  const fresh = new EspSa(GCM_PARAMS, seededRandom(4));
  (fresh as unknown as { seqOut: number }).seqOut = 10;
  const r = fresh.encrypt(new Uint8Array(4));
  assert.ok(r.ok);
  if (r.ok) {
    const d = rx.decrypt(r.value);
    assert.ok(!d.ok && d.error.kind === 'lifetime-expired');
  }
  assert.equal(tx.takeLifetimeEvent(), undefined);
  assert.equal(rx.takeLifetimeEvent(), undefined);
});

test('byte lifetime: one packet crossing soft and hard reports hard; no limits = never', () => {
  const tx = new EspSa({ ...CBC_SHA1_PARAMS, byteLimits: { soft: 90, hard: 100 } }, seededRandom(1));
  assert.ok(tx.encrypt(new Uint8Array(150)).ok);
  assert.equal(tx.takeLifetimeEvent(), 'hard');
  assert.equal(tx.takeLifetimeEvent(), undefined);
  const free = new EspSa(CBC_SHA1_PARAMS, seededRandom(1));
  for (let i = 0; i < 50; i++) assert.ok(free.encrypt(new Uint8Array(1400)).ok);
  assert.equal(free.takeLifetimeEvent(), undefined);
  assert.equal(free.lifetimeState, 'ok');
  assert.equal(free.bytesProcessed, 70_000);
  // Refused packets (bad ICV) do not count.
  const rx = new EspSa({ ...CBC_SHA1_PARAMS, byteLimits: { soft: 10, hard: 20 } }, seededRandom(1));
  const bad = CBC_SHA1.slice();
  bad[20] = (bad[20] ?? 0) ^ 1;
  assert.equal(rx.decrypt(bad).ok, false);
  assert.equal(rx.bytesProcessed, 0);
  assert.ok(rx.decrypt(CBC_SHA1).ok);
  assert.equal(rx.bytesProcessed, 22);
  assert.equal(rx.takeLifetimeEvent(), 'hard');
});

test('CBC IVs come from a pooled block: one RandomSource call per 4 KiB, every IV different', () => {
  let calls = 0;
  const inner = seededRandom(9);
  const counting: RandomSource = { bytes: (n) => (calls++, inner.bytes(n)), u32: () => inner.u32() };
  const a = new EspSa(CBC_SHA1_PARAMS, counting);
  const b = new EspSa({ ...CBC_SHA1_PARAMS, spi: 0x9999 }, counting);
  const ivs = new Set<string>();
  for (let i = 0; i < 300; i++) {
    for (const sa of [a, b]) {
      const r = sa.encrypt(PAYLOAD);
      assert.ok(r.ok);
      if (r.ok) ivs.add(toHex(r.value.subarray(8, 24)));
    }
  }
  assert.equal(ivs.size, 600, 'no IV repeats');
  // 600 IVs x 16 bytes = 9,600 bytes: three 4 KiB pool fills shared by both SAs.
  assert.equal(calls, 3);
});
