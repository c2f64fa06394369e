import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePapPacket, emitPapPacket, papPacketLength, type PapPacket } from './pap.js';
import { parseChapPacket, emitChapPacket, chapPacketLength, type ChapPacket } from './chap.js';
import {
  parseMsChapV2Response,
  encodeMsChapV2Response,
  parseMsChapV2Success,
  encodeMsChapV2Success,
  parseMsChapV2Failure,
  encodeMsChapV2Failure,
} from './mschapv2.js';
import { fromHex, toHex } from '../../base/index.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

const papReq = fromHex(
  '01' + // Code: Authenticate-Request
    '05' + // Identifier
    '000e' + // Length: 14
    '04' + // Peer-ID Length
    '75736572' + // Peer-Id "user"
    '04' + // Passwd-Length
    '70617373', // Password "pass"
);

test('pap: vectors, lenient empty Ack, truncations', () => {
  const r = parsePapPacket(papReq);
  assert.ok(r.ok && r.value.code === 1);
  if (r.value.code !== 1) return;
  assert.equal(new TextDecoder().decode(r.value.peerId), 'user');
  assert.equal(new TextDecoder().decode(r.value.password), 'pass');
  // Authenticate-Ack id 5, Msg-Length 2, "OK".
  const ack = parsePapPacket(fromHex('02 05 0007 02 4f4b'));
  assert.ok(ack.ok && ack.value.code === 2 && toHex(ack.value.message) === '4f4b');
  // Authenticate-Ack with no Msg-Length octet at all.
  const bare = parsePapPacket(fromHex('02 05 0004'));
  assert.ok(bare.ok && bare.value.code === 2 && bare.value.message.length === 0);
  for (let n = 0; n < papReq.length; n++) assert.equal(parsePapPacket(papReq.subarray(0, n)).ok, false, `prefix ${n}`);
  assert.equal(parsePapPacket(fromHex('09 05 0004')).ok, false);
});

const chapChallenge = fromHex(
  '01' + // Code: Challenge
    '2a' + // Identifier
    '0018' + // Length: 24
    '10' + // Value-Size: 16
    '000102030405060708090a0b0c0d0e0f' + // Value
    '6c6e73', // Name "lns"
);

test('chap: vectors and truncations', () => {
  const r = parseChapPacket(chapChallenge);
  assert.ok(r.ok && 'value' in r.value);
  if (!('value' in r.value)) return;
  assert.equal(r.value.value.length, 16);
  assert.equal(new TextDecoder().decode(r.value.name), 'lns');
  const s = parseChapPacket(fromHex('03 2a 0006 4f4b'));
  assert.ok(s.ok && 'message' in s.value && s.value.message.length === 2);
  const other = parseChapPacket(fromHex('07 2a 0005 00'));
  assert.ok(other.ok && 'other' in other.value);
  for (let n = 0; n < chapChallenge.length; n++) assert.equal(parseChapPacket(chapChallenge.subarray(0, n)).ok, false, `prefix ${n}`);
  assert.equal(parseChapPacket(fromHex('01 2a 0005 00')).ok, false); // Value-Size 0
});

test('mschapv2: response value, success and failure messages', () => {
  const pc = fromHex('21402324255E262A28295F2B3A337C7E');
  const nt = fromHex('82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF');
  const v = encodeMsChapV2Response({ peerChallenge: pc, ntResponse: nt, flags: 0 });
  assert.equal(v.length, 49);
  assert.deepEqual([...v.subarray(16, 24)], [0, 0, 0, 0, 0, 0, 0, 0]); // Reserved
  const back = parseMsChapV2Response(v);
  assert.ok(back.ok);
  assert.deepEqual(back.value.peerChallenge, pc);
  assert.deepEqual(back.value.ntResponse, nt);
  for (let n = 0; n < 49; n++) assert.equal(parseMsChapV2Response(v.subarray(0, n)).ok, false);

  const okMsg = ascii('S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Welcome');
  const s = parseMsChapV2Success(okMsg);
  assert.ok(s.ok);
  assert.equal(s.value.message, 'Welcome');
  assert.deepEqual(encodeMsChapV2Success(s.value), okMsg);
  assert.ok(parseMsChapV2Success(ascii('S=407A5589115FD0D6209F510FE9C04566932CDA56')).ok);
  assert.equal(parseMsChapV2Success(ascii('S=407A55')).ok, false);

  const failMsg = ascii('E=691 R=0 C=000102030405060708090A0B0C0D0E0F V=3 M=Authentication failure');
  const f = parseMsChapV2Failure(failMsg);
  assert.ok(f.ok);
  assert.equal(f.value.error, 691);
  assert.equal(f.value.retry, false);
  assert.equal(f.value.version, 3);
  assert.equal(f.value.message, 'Authentication failure');
  assert.deepEqual(encodeMsChapV2Failure(f.value), failMsg);
  assert.deepEqual(parseMsChapV2Failure(ascii('E=691 R=0 M=bad')), { ok: true, value: { error: 691, retry: false, message: 'bad' } });
  assert.equal(parseMsChapV2Failure(ascii('R=0 M=x')).ok, false);
});

const idArb = fc.integer({ min: 0, max: 255 });
const papArb: fc.Arbitrary<PapPacket> = fc.oneof(
  fc.record({ code: fc.constant(1 as const), identifier: idArb, peerId: fc.uint8Array({ maxLength: 20 }), password: fc.uint8Array({ maxLength: 20 }) }),
  fc.record({ code: fc.constantFrom(2 as const, 3 as const), identifier: idArb, message: fc.uint8Array({ maxLength: 20 }) }),
);
const chapArb: fc.Arbitrary<ChapPacket> = fc.oneof(
  fc.record({ code: fc.constantFrom(1 as const, 2 as const), identifier: idArb, value: fc.uint8Array({ minLength: 1, maxLength: 49 }), name: fc.uint8Array({ maxLength: 20 }) }),
  fc.record({ code: fc.constantFrom(3 as const, 4 as const), identifier: idArb, message: fc.uint8Array({ maxLength: 20 }) }),
  fc.record({ code: fc.integer({ min: 5, max: 255 }), identifier: idArb, data: fc.uint8Array({ maxLength: 20 }), other: fc.constant(true as const) }),
);

test('pap/chap: round-trip properties with 0xa5 canary', () => {
  fc.assert(
    fc.property(papArb, (p) => {
      const len = papPacketLength(p);
      const buf = new Uint8Array(len + 1).fill(0xa5);
      assert.equal(emitPapPacket(p, buf), len);
      assert.equal(buf[len], 0xa5);
      assert.deepEqual(parsePapPacket(buf.subarray(0, len)), { ok: true, value: { ...p } });
    }),
  );
  fc.assert(
    fc.property(chapArb, (p) => {
      const len = chapPacketLength(p);
      const buf = new Uint8Array(len + 1).fill(0xa5);
      assert.equal(emitChapPacket(p, buf), len);
      assert.equal(buf[len], 0xa5);
      assert.deepEqual(parseChapPacket(buf.subarray(0, len)), { ok: true, value: { ...p } });
    }),
  );
});

test('pap/chap/mschapv2: random bytes never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
      parsePapPacket(b);
      parseChapPacket(b);
      parseMsChapV2Response(b);
      parseMsChapV2Success(b);
      parseMsChapV2Failure(b);
    }),
  );
  fc.assert(fc.property(fc.string({ maxLength: 60 }), (s) => void parseMsChapV2Failure(ascii(s))));
});
