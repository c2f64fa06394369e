import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom, type RandomSource } from '../../base/random.js';
import { DIGEST_VECTORS, LAB_DIGEST_KEY, LAB_SECRET, NONCE_A, NONCE_B, V3_CONTROL_VECTORS } from '../../../test/vectors/l2tp-v3.js';
import { emitV3Control, parseV3Control, parseV3ControlHeader, parseV3DataHeader, readDefaultSublayer, type V3Encapsulation } from './index.js';

const VECTORS = [...V3_CONTROL_VECTORS.map((v) => ({ bytes: v.bytes, encapsulation: v.encapsulation })), ...DIGEST_VECTORS];

/** Bytes plus the three input shapes the parsers must accept without writing: Uint8Array, Buffer, Buffer view at an offset. */
function shapes(b: Uint8Array, r: RandomSource): Uint8Array[] {
  const off = 1 + (r.u32() % 13);
  const slab = Buffer.alloc(b.length + off + 3, 0x5a);
  slab.set(b, off);
  return [b.slice(), Buffer.from(b), slab.subarray(off, off + b.length)];
}

/** Run every v3 parser on `b` in every shape: never throws, never writes; a parsed control message re-emits to itself. */
function check(b: Uint8Array, r: RandomSource): void {
  for (const input of shapes(b, r)) {
    const before = Buffer.from(input).toString('hex');
    for (const encapsulation of ['udp', 'ip'] as V3Encapsulation[]) {
      parseV3ControlHeader(input, encapsulation);
      parseV3DataHeader(input, encapsulation);
      if (input.length >= 4) readDefaultSublayer(input, 0);
      const useAuth = (r.u32() & 3) === 0;
      const c = parseV3Control(input, {
        encapsulation,
        secret: LAB_SECRET,
        ...(useAuth ? { auth: { sharedKeys: [LAB_DIGEST_KEY], localNonce: NONCE_B, remoteNonce: NONCE_A } } : {}),
      });
      if (c.ok && !useAuth) {
        const again = parseV3Control(emitV3Control(c.value, { encapsulation }), { encapsulation });
        assert.ok(again.ok);
        assert.deepStrictEqual(again.value, stripDigest(c.value));
      }
    }
    assert.equal(Buffer.from(input).toString('hex'), before, 'a parser wrote into its input');
  }
}

/** A re-emitted message has no digest (none was asked for). */
function stripDigest<T extends { readonly digestType?: unknown }>(m: T): Omit<T, 'digestType'> {
  const { digestType: _d, ...rest } = m;
  return rest;
}

function mutate(r: RandomSource): Uint8Array {
  const v = VECTORS[r.u32() % VECTORS.length];
  const b = (v?.bytes ?? new Uint8Array()).slice();
  const edits = 1 + (r.u32() % 4);
  for (let i = 0; i < edits && b.length > 0; i++) {
    const at = r.u32() % b.length;
    const kind = r.u32() % 3;
    if (kind === 0) b[at] = r.u32() & 0xff;
    else if (kind === 1) b[at] = (b[at] ?? 0) ^ (1 << (r.u32() % 8));
    else b[at] = (b[at] ?? 0) + 1;
  }
  return (r.u32() & 7) === 0 ? b.subarray(0, r.u32() % (b.length + 1)) : b;
}

test('random bytes never throw or write (4,000 inputs x 3 shapes x 2 encapsulations)', () => {
  const r = seededRandom(0x3931);
  for (let i = 0; i < 4000; i++) check(r.bytes(r.u32() % 64), r);
});

test('random bytes behind a plausible v3 header never throw or write (4,000 x 3 x 2)', () => {
  const r = seededRandom(0x4719);
  for (let i = 0; i < 4000; i++) {
    const body = r.bytes(r.u32() % 96);
    const len = 12 + body.length;
    const b = new Uint8Array(len);
    b.set([0xc8, 0x03, len >> 8, len & 0xff], 0);
    b.set(r.bytes(8), 4);
    b.set(body, 12);
    check(b, r);
  }
});

test('mutated vectors never throw or write; successes re-emit to the same value (6,000 x 3 x 2)', () => {
  const r = seededRandom(0x0115);
  let parsed = 0;
  for (let i = 0; i < 6000; i++) {
    const b = mutate(r);
    check(b, r);
    if (parseV3Control(b, { encapsulation: 'udp' }).ok) parsed++;
  }
  assert.ok(parsed > 100, `mutations should still parse sometimes (${parsed})`);
});

test('values parsed from a Buffer are copies, not views of the datagram', () => {
  const v = V3_CONTROL_VECTORS.find((x) => x.name === 'ICRQ');
  assert.ok(v !== undefined);
  const buf = Buffer.from(v.bytes);
  const r = parseV3Control(buf, { encapsulation: 'udp' });
  assert.ok(r.ok);
  buf.fill(0);
  assert.deepStrictEqual(r.value, v.value);
});

test('§4.3: with authentication required, a message refused before its digest is checked is unauthenticated and carries no ids', () => {
  const auth = { sharedKeys: [LAB_DIGEST_KEY], localNonce: NONCE_B, remoteNonce: NONCE_A };
  // HELLO (type 6) with a Local Session ID AVP whose Length (3) is shorter than an AVP header.
  const bad = Uint8Array.from([0xc8, 0x03, 0, 26, 0, 0, 0, 9, 0, 4, 0, 2, 0x80, 8, 0, 0, 0, 0, 0, 6, 0x80, 3, 0, 0, 0, 63]);
  // A vendor Message Type (M=1): §5.4.1 would clear the connection, but nothing proves the peer sent it.
  const vendor = Uint8Array.from([0xc8, 0x03, 0, 20, 0, 0, 0, 9, 0, 4, 0, 2, 0x80, 8, 0, 9, 0, 0, 0, 6]);
  for (const b of [bad, vendor]) {
    const withAuth = parseV3Control(b, { encapsulation: 'udp', auth });
    assert.ok(!withAuth.ok);
    assert.equal(withAuth.error.authenticated, false, withAuth.error.error.kind);
    assert.deepEqual(withAuth.error.ids, {});
    const plain = parseV3Control(b, { encapsulation: 'udp' });
    assert.ok(!plain.ok);
    assert.equal(plain.error.authenticated, true, 'without authentication the failure is usable (§5.2 answers)');
    assert.equal(plain.error.error.kind, withAuth.error.error.kind);
  }
});
