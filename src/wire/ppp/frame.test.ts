import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePppFrame, emitPppFrame, pppFrameLength, PppProtocol, type PppFrame } from './frame.js';
import { fromHex } from '../../base/index.js';

test('frame: full Address/Control and 2-octet protocol', () => {
  const b = fromHex(
    'ff' + // Address: all-stations
      '03' + // Control: UI
      'c021' + // Protocol: LCP
      '0901000c' + // LCP info: Echo-Request id 1 len 12
      '01020304' + // magic
      'aabb' + // data
      '0000', // trailing padding (kept in info; LCP Length trims it)
  );
  const r = parsePppFrame(b);
  assert.ok(r.ok);
  assert.equal(r.value.protocol, PppProtocol.LCP);
  assert.deepEqual([...r.value.info.subarray(0, 4)], [0x09, 0x01, 0x00, 0x0c]);
});

test('frame: ACFC and PFC compressed forms are always accepted', () => {
  // No Address/Control, Protocol 0x21 compressed to one octet (IPv4), then 2 info octets.
  const r = parsePppFrame(fromHex('21 4500'));
  assert.ok(r.ok);
  assert.equal(r.value.protocol, 0x0021);
  assert.equal(r.value.info.length, 2);
  // Address/Control present, protocol compressed.
  const r2 = parsePppFrame(fromHex('ff03 57 60'));
  assert.ok(r2.ok);
  assert.equal(r2.value.protocol, PppProtocol.IPv6);
  // No Address/Control, 2-octet protocol.
  const r3 = parsePppFrame(fromHex('8021 0101 0004'));
  assert.ok(r3.ok);
  assert.equal(r3.value.protocol, PppProtocol.IPCP);
});

test('frame: bad control, even protocol, truncations', () => {
  assert.deepEqual(parsePppFrame(fromHex('ff05c021')), { ok: false, error: { kind: 'bad-value', what: 'control', detail: 'control 0x5 != 0x03' } });
  // 0x0200: low octet even -> invalid (RFC 1661 §2).
  const r = parsePppFrame(fromHex('0200'));
  assert.ok(!r.ok && r.error.kind === 'bad-protocol');
  const full = fromHex('ff03c021');
  for (let n = 0; n < full.length; n++) assert.equal(parsePppFrame(full.subarray(0, n)).ok, false, `prefix ${n}`);
});

test('frame: emit writes exactly pppFrameLength bytes (0xa5 canary)', () => {
  const f: PppFrame = { protocol: 0x0021, info: fromHex('4500') };
  for (const addressControl of [true, false])
    for (const pfc of [true, false]) {
      const opts = { addressControl, pfc };
      const len = pppFrameLength(f, opts);
      const buf = new Uint8Array(len + 4).fill(0xa5);
      assert.equal(emitPppFrame(f, opts, buf, 2), len);
      assert.equal(buf[0], 0xa5);
      assert.equal(buf[1], 0xa5);
      assert.equal(buf[len + 2], 0xa5);
      const back = parsePppFrame(buf.subarray(2, 2 + len));
      assert.ok(back.ok);
      assert.equal(back.value.protocol, 0x21);
    }
});

const protocolArb = fc.integer({ min: 0, max: 0xffff }).filter((p) => (p & 1) === 1 && (p & 0x100) === 0);

test('frame: round-trip property', () => {
  fc.assert(
    fc.property(protocolArb, fc.uint8Array({ maxLength: 40 }), fc.boolean(), fc.boolean(), (protocol, info, addressControl, pfc) => {
      const f = { protocol, info };
      const buf = new Uint8Array(pppFrameLength(f, { addressControl, pfc }));
      emitPppFrame(f, { addressControl, pfc }, buf);
      const r = parsePppFrame(buf);
      // A compressed frame starting with an info octet 0xff is ambiguous only without Address/Control
      // when the protocol is 0xff (never valid), so parsing must always give the frame back.
      assert.ok(r.ok);
      assert.equal(r.value.protocol, protocol);
      assert.deepEqual(r.value.info, info);
    }),
  );
});

test('frame: protocol 0x00ff is never compressed (its one octet would read as the Address field); fast-check seed 357195087', () => {
  for (const addressControl of [false, true]) {
    const f = { protocol: 0x00ff, info: new Uint8Array(0) };
    const buf = new Uint8Array(pppFrameLength(f, { addressControl, pfc: true }));
    emitPppFrame(f, { addressControl, pfc: true }, buf);
    assert.equal(buf.length, addressControl ? 4 : 2);
    const r = parsePppFrame(buf);
    assert.ok(r.ok);
    assert.equal(r.value.protocol, 0x00ff);
  }
});

test('frame: random bytes never throw', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => void parsePppFrame(b)));
});
