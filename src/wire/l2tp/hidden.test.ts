/**
 * RFC 2661 §4.3 hidden AVPs decoded from every kind of buffer a socket hands us: a Node `Buffer`
 * (whose `slice()` is a view), a `Buffer` view at an offset into a larger pooled buffer, and a plain
 * `Uint8Array`. Decoding must give the original value and leave the input bytes unchanged; before the
 * fix, a Buffer input of a value over 14 octets came out wrong from the second MD5 block on (the
 * in-place XOR overwrote the saved ciphertext block c(i-1) that feeds the next block) and the
 * received datagram was overwritten.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { seededRandom, type RandomSource } from '../../base/random.js';
import { hex } from '../../../test/vectors/l2tp-v2.js';
import { revealValue } from './hidden.js';
import { MessageType, emitControl, parseControl, sessionId, tunnelId, wireErrorText, type AvpName, type ControlMessage } from './index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The same bytes as a Uint8Array, a Buffer, and a Buffer view at an odd offset into a pooled buffer. */
function inputForms(bytes: Uint8Array): ReadonlyArray<readonly [string, Uint8Array]> {
  const pool = Buffer.alloc(bytes.length + 2048, 0x77);
  pool.set(bytes, 1001);
  return [
    ['Uint8Array', Uint8Array.from(bytes)],
    ['Buffer', Buffer.from(bytes)],
    ['Buffer view at offset 1001', pool.subarray(1001, 1001 + bytes.length)],
  ];
}

// Independent vector, computed once with Python's hashlib (not with our code):
//   secret = b'conf-wire secret'; rv = bytes(range(0xa0, 0xb0))
//   value = b'l2tpkit hidden vendor name, longer than fourteen octets'   (55 octets)
//   p = len(value).to_bytes(2, 'big') + value + b'\x5a' * 5              (62 octets: 4 MD5 blocks)
//   b = md5((8).to_bytes(2, 'big') + secret + rv)                        (attribute 8, Vendor Name)
//   for each 16-octet chunk: c_i = p_i xor b; b = md5(secret + c_i)      (§4.3: previous *ciphertext*)
// The message: HELLO (Ns 3, Nr 1, tunnel 7) | Random Vector AVP | Vendor Name AVP with H=1 (M=0).
const VENDOR = 'l2tpkit hidden vendor name, longer than fourteen octets';
const SECRET = enc('conf-wire secret');
const RV = hex('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf');
const PYTHON_VECTOR = hex(
  'c802 006e 0007 0000 0003 0001', // control header, Length 110, tunnel 7, session 0, Ns 3, Nr 1
  '8008 0000 0000 0006', // Message Type HELLO
  '8016 0000 0024 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', // Random Vector (16 octets)
  '4044 0000 0008', // H=1, Length 68, Vendor Name
  '666d2c07f100e10ac662ad76d4547361', // c1
  'bfac3e64ced5908f504a31d4708b0d81', // c2 = p2 xor md5(secret + c1)
  '09f4ecc7c1eb18949b4ed94d68868b85', // c3
  '650cfe8036af6162531d9c768681', // c4 (14 octets)
);
const VECTOR_MSG: ControlMessage = { tunnelId: tunnelId(7), sessionId: sessionId(0), ns: 3, nr: 1, type: MessageType.HELLO, avps: { vendorName: VENDOR } };

for (const [form, input] of inputForms(PYTHON_VECTOR)) {
  test(`hidden Vendor Name of 55 octets (Python hashlib vector) decodes from a ${form}, input unchanged`, () => {
    const before = toHex(input);
    const r = parseControl(input, { secret: SECRET });
    assert.ok(r.ok, r.ok ? '' : wireErrorText(r.error.error));
    assert.deepStrictEqual(r.value, VECTOR_MSG);
    assert.equal(toHex(input), before, 'the received datagram must not change');
    // Parsing again gives the same answer (the first parse left nothing behind).
    assert.deepStrictEqual(parseControl(input, { secret: SECRET }), r);
  });
}

test('emitControl reproduces the Python vector byte for byte (pad length 5, pad 0x5a)', () => {
  const random: RandomSource = {
    bytes: (n) => (n === 1 ? Uint8Array.of(0x05) : n === 16 ? RV.slice() : new Uint8Array(n).fill(0x5a)),
    u32: () => 0,
  };
  const out = emitControl(VECTOR_MSG, { secret: SECRET, hide: new Set<AvpName>(['vendorName']), random });
  assert.equal(toHex(out), toHex(PYTHON_VECTOR));
});

test('revealValue only reads its input, for every buffer kind and every length 2..200', () => {
  for (let n = 2; n <= 200; n++) {
    const hidden = seededRandom(n).bytes(n);
    const want = revealValue(11, SECRET, RV, Uint8Array.from(hidden));
    for (const [form, input] of inputForms(hidden)) {
      const before = toHex(input);
      const got = revealValue(11, SECRET, RV, input);
      assert.equal(toHex(input), before, `${form}, ${n} octets`);
      assert.deepStrictEqual(got.ok ? toHex(got.value) : got.detail, want.ok ? toHex(want.value) : want.detail, `${form}, ${n} octets`);
    }
  }
});

test('property: hidden values of 1..200 octets decode from Buffer, Buffer views and Uint8Array; input unchanged, value not aliased', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 200 }),
      fc.uint8Array({ minLength: 1, maxLength: 32 }),
      fc.integer(),
      fc.constantFrom<AvpName>('challenge', 'proxyAuthenChallenge', 'proxyAuthenResponse', 'initialReceivedLcpConfReq'),
      (value, secret, seed, name) => {
        const msg: ControlMessage = { tunnelId: tunnelId(9), sessionId: sessionId(4), ns: 1, nr: 2, type: MessageType.ICCN, avps: { txConnectSpeed: 1, framingType: 1, [name]: value } };
        const wire = emitControl(msg, { secret, hide: new Set<AvpName>([name]), random: seededRandom(seed) });
        for (const [form, input] of inputForms(wire)) {
          const before = toHex(input);
          const r = parseControl(input, { secret });
          assert.ok(r.ok, `${form}: ${r.ok ? '' : wireErrorText(r.error.error)}`);
          assert.deepStrictEqual(r.value, msg, form);
          assert.equal(toHex(input), before, `${form}: input changed`);
          // The decoded value is a copy: scribbling over the datagram (a reused receive buffer) leaves it alone.
          input.fill(0xee);
          assert.deepStrictEqual(r.value, msg, `${form}: decoded value aliases the datagram`);
        }
      },
    ),
    { numRuns: 300 },
  );
});
