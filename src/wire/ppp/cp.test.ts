import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseCpPacket, emitCpPacket, cpPacketLength, type CpPacket } from './cp.js';
import { parsePppFrame } from './frame.js';
import { fromHex } from '../../base/index.js';

// A pppd-style LCP Configure-Request as seen on an L2TP data channel (hand-built, field by field).
const lcpConfReqFrame = fromHex(
  'ff 03' + // Address, Control
    'c0 21' + // Protocol: LCP
    '01' + // Code: Configure-Request
    '01' + // Identifier: 1
    '00 17' + // Length: 23
    '01 04 05 78' + // MRU = 1400
    '03 05 c2 23 05' + // Authentication-Protocol = CHAP (c223), algorithm MD5 (05)
    '05 06 12 34 56 78' + // Magic-Number = 0x12345678
    '07 02' + // Protocol-Field-Compression
    '08 02', // Address-and-Control-Field-Compression
);

test('cp: LCP Configure-Request vector', () => {
  const f = parsePppFrame(lcpConfReqFrame);
  assert.ok(f.ok);
  const p = parseCpPacket(f.value.info, true);
  assert.ok(p.ok);
  assert.equal(p.value.kind, 'configure');
  if (p.value.kind !== 'configure') return;
  assert.equal(p.value.identifier, 1);
  assert.deepEqual(
    p.value.options.map((o) => [o.type, [...o.data]]),
    [
      [1, [0x05, 0x78]],
      [3, [0xc2, 0x23, 0x05]],
      [5, [0x12, 0x34, 0x56, 0x78]],
      [7, []],
      [8, []],
    ],
  );
  // Re-emit gives the same bytes.
  const buf = new Uint8Array(cpPacketLength(p.value));
  emitCpPacket(p.value, buf);
  assert.deepEqual(buf, lcpConfReqFrame.subarray(4));
});

test('cp: Echo-Request, Protocol-Reject, Code-Reject, padding, NCP unknown codes', () => {
  // Echo-Request id 7, magic 0xdeadbeef, no data, then 2 octets of padding beyond Length.
  const e = parseCpPacket(fromHex('09 07 0008 deadbeef 0000'), true);
  assert.deepEqual(e, { ok: true, value: { kind: 'echo', code: 9, identifier: 7, magic: 0xdeadbeef, data: new Uint8Array(0) } });
  // Protocol-Reject id 2 of protocol 0x8057 with 4 octets of the rejected packet.
  const pr = parseCpPacket(fromHex('08 02 000a 8057 01010004'), true);
  assert.ok(pr.ok && pr.value.kind === 'protocol-reject' && pr.value.protocol === 0x8057 && pr.value.rejected.length === 4);
  // Code-Reject carrying a rejected packet.
  const cr = parseCpPacket(fromHex('07 03 0008 0c010004'), true);
  assert.ok(cr.ok && cr.value.kind === 'code-reject' && cr.value.rejected.length === 4);
  // For an NCP, code 9 is unknown (RFC 1332 §2: only codes 1..7).
  const u = parseCpPacket(fromHex('09 07 0008 deadbeef'), false);
  assert.ok(u.ok && u.value.kind === 'unknown' && u.value.code === 9);
});

test('cp: malformed packets fail cleanly', () => {
  assert.equal(parseCpPacket(fromHex('01 01 0003'), true).ok, false); // Length < 4
  assert.equal(parseCpPacket(fromHex('01 01 0006 0101'), true).ok, false); // option length 1
  assert.equal(parseCpPacket(fromHex('01 01 0007 010405'), true).ok, false); // option runs past Length
  assert.equal(parseCpPacket(fromHex('09 01 0006 0102'), true).ok, false); // echo without full magic
  assert.equal(parseCpPacket(fromHex('08 01 0005 80'), true).ok, false); // protocol-reject without protocol
});

test('cp: every truncated prefix fails cleanly', () => {
  const info = lcpConfReqFrame.subarray(4);
  for (let n = 0; n < info.length; n++) assert.equal(parseCpPacket(info.subarray(0, n), true).ok, false, `prefix ${n}`);
});

const optArb = fc.record({ type: fc.integer({ min: 0, max: 255 }), data: fc.uint8Array({ maxLength: 12 }) });
const idArb = fc.integer({ min: 0, max: 255 });
const pktArb: fc.Arbitrary<CpPacket> = fc.oneof(
  fc.record({ kind: fc.constant('configure' as const), code: fc.constantFrom(1 as const, 2 as const, 3 as const, 4 as const), identifier: idArb, options: fc.array(optArb, { maxLength: 6 }) }),
  fc.record({ kind: fc.constant('terminate' as const), code: fc.constantFrom(5 as const, 6 as const), identifier: idArb, data: fc.uint8Array({ maxLength: 10 }) }),
  fc.record({ kind: fc.constant('code-reject' as const), code: fc.constant(7 as const), identifier: idArb, rejected: fc.uint8Array({ maxLength: 10 }) }),
  fc.record({ kind: fc.constant('protocol-reject' as const), code: fc.constant(8 as const), identifier: idArb, protocol: fc.integer({ min: 0, max: 0xffff }), rejected: fc.uint8Array({ maxLength: 10 }) }),
  fc.record({ kind: fc.constant('echo' as const), code: fc.constantFrom(9 as const, 10 as const, 11 as const), identifier: idArb, magic: fc.integer({ min: 0, max: 0xffffffff }), data: fc.uint8Array({ maxLength: 10 }) }),
  fc.record({ kind: fc.constant('unknown' as const), code: fc.integer({ min: 12, max: 255 }), identifier: idArb, data: fc.uint8Array({ maxLength: 10 }) }),
);

test('cp: round-trip property with 0xa5 canary', () => {
  fc.assert(
    fc.property(pktArb, (p) => {
      const len = cpPacketLength(p);
      const buf = new Uint8Array(len + 2).fill(0xa5);
      assert.equal(emitCpPacket(p, buf, 1), len);
      assert.equal(buf[0], 0xa5);
      assert.equal(buf[len + 1], 0xa5);
      const r = parseCpPacket(buf.subarray(1, 1 + len), true);
      assert.ok(r.ok);
      assert.deepEqual(r.value, structuredClone(p)); // fast-check records have a null prototype
    }),
  );
});

test('cp: random bytes never throw', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (b, lcp) => void parseCpPacket(b, lcp)));
});
