import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DATA_VECTORS, hex } from '../../../test/vectors/l2tp-v2.js';
import { L2tpHeaderView, dataHeaderLength, parseData, parseHeader, writeDataHeader, type DataHeaderFields, type DataMessage } from './index.js';

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const OPTS = { maxOffset: 64 };

for (const v of DATA_VECTORS) {
  test(`data vector ${v.name} (${v.source}): parse, payload is a view`, () => {
    const r = parseData(v.bytes, OPTS);
    assert.ok(r.ok);
    assert.deepStrictEqual(r.value, v.value);
    assert.equal(r.value.payload.buffer, v.bytes.buffer, 'payload shares the datagram buffer');
    assert.equal(r.value.payload.byteOffset, v.bytes.byteOffset + v.bytes.length - v.value.payload.length);
    const h = parseHeader(v.bytes);
    assert.ok(h.ok);
    assert.equal(h.value.isControl, false);
    assert.equal(h.value.headerLength, v.bytes.length - v.value.payload.length);
    assert.equal(h.value.length, v.bytes.length);
  });
  test(`data vector ${v.name}: truncated prefixes`, () => {
    const headerLength = v.bytes.length - v.value.payload.length;
    for (let n = 0; n < v.bytes.length; n++) {
      const r = parseData(v.bytes.subarray(0, n), OPTS);
      // with L every prefix fails; without L only prefixes shorter than the header can
      if (v.withLength || n < headerLength) assert.equal(r.ok, false, `prefix ${n}`);
      else assert.ok(r.ok && r.value.payload.length === n - headerLength);
    }
  });
}

test('writeDataHeader reproduces the vector headers in a 0xa5 buffer, touching only its bytes', () => {
  const cases: [DataHeaderFields, number, string][] = [
    [{ tunnelId: 9, sessionId: 3, withLength: true }, 26, '4002001a00090003'],
    [{ tunnelId: 9, sessionId: 3, ns: 7, nr: 0, priority: true, offsetSize: 2, withLength: true }, 22, '4b02001600090003000700000002' + '0000'],
    [{ tunnelId: 9, sessionId: 3 }, 12, '000200090003'],
    [{ tunnelId: 0xffff, sessionId: 0xfffe, ns: 0x1234 }, 20, '0802fffffffe12340000'], // S, Nr defaults to 0
  ];
  for (const [fields, total, want] of cases) {
    const len = dataHeaderLength({
      sequenced: fields.ns !== undefined,
      ...(fields.offsetSize !== undefined ? { offsetSize: fields.offsetSize } : {}),
      ...(fields.withLength !== undefined ? { withLength: fields.withLength } : {}),
    });
    assert.equal(len * 2, want.length);
    const buf = new Uint8Array(len + 8).fill(0xa5);
    writeDataHeader(buf, 4, fields, total);
    assert.equal(toHex(buf.subarray(4, 4 + len)), want);
    assert.ok(buf.subarray(0, 4).every((b) => b === 0xa5));
    assert.ok(buf.subarray(4 + len).every((b) => b === 0xa5));
  }
  assert.throws(() => writeDataHeader(new Uint8Array(5), 0, { tunnelId: 1, sessionId: 1 }, 5), RangeError);
});

test('dataHeaderLength', () => {
  assert.equal(dataHeaderLength({ sequenced: false }), 6);
  assert.equal(dataHeaderLength({ sequenced: false, withLength: true }), 8);
  assert.equal(dataHeaderLength({ sequenced: true }), 10);
  assert.equal(dataHeaderLength({ sequenced: true, withLength: true, offsetSize: 0 }), 14);
  assert.equal(dataHeaderLength({ sequenced: true, withLength: true, offsetSize: 4 }), 18);
});

test('offset handling: offset-too-large, pad past Length, O without L past the datagram', () => {
  const v = DATA_VECTORS[1];
  assert.ok(v);
  assert.deepStrictEqual(parseData(v.bytes, { maxOffset: 1 }), { ok: false, error: { kind: 'offset-too-large', offsetSize: 2, max: 1 } });
  const r = parseData(hex('4a02 000e 0001 0002 0000 0000 0010'), OPTS); // Offset Size 16 > Length 14
  assert.equal(r.ok ? 'ok' : r.error.kind, 'bad-length');
  const t = parseData(hex('0202 0001 0002 0010 00'), OPTS); // no L, pad runs past the datagram
  assert.equal(t.ok ? 'ok' : t.error.kind, 'truncated');
  assert.ok(parseData(hex('0202 0001 0002 0000'), OPTS).ok, 'Offset Size 0');
});

test('data header errors: Length < header, control on the data path, versions', () => {
  assert.equal((r => (r.ok ? 'ok' : r.error.kind))(parseData(hex('4002 0004 0001 0002'), OPTS)), 'bad-length');
  assert.equal((r => (r.ok ? 'ok' : r.error.kind))(parseData(hex('c802 000c 0001 0000 0000 0000'), OPTS)), 'bad-flags');
  assert.deepStrictEqual(parseData(hex('0003 0000 0000 1234'), OPTS), { ok: false, error: { kind: 'bad-version', version: 3 } });
  assert.deepStrictEqual(parseData(new Uint8Array(1), OPTS), { ok: false, error: { kind: 'truncated', need: 2, have: 1 } });
  // reserved x bits are ignored on receipt (§3.1)
  const x = parseData(hex('34f2 0001 0002 aa'), OPTS);
  assert.ok(x.ok && x.value.payload.length === 1);
});

const fieldsArb: fc.Arbitrary<DataHeaderFields> = fc
  .record(
    {
      tunnelId: fc.integer({ min: 0, max: 0xffff }),
      sessionId: fc.integer({ min: 0, max: 0xffff }),
      ns: fc.integer({ min: 0, max: 0xffff }),
      nr: fc.integer({ min: 0, max: 0xffff }),
      priority: fc.boolean(),
      offsetSize: fc.integer({ min: 0, max: 64 }),
      withLength: fc.boolean(),
    },
    { requiredKeys: ['tunnelId', 'sessionId'], noNullPrototype: true },
  )
  // Nr is only sent with Ns
  .map((f) => (f.ns === undefined && f.nr !== undefined ? (({ nr: _nr, ...rest }) => rest)(f) : f));

test('property: writeDataHeader -> parseData round trip; headroom write is exact (0xa5 / 0x5a)', () => {
  fc.assert(
    fc.property(fieldsArb, fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 8 }), (f, payload, at) => {
      const h = dataHeaderLength({
        sequenced: f.ns !== undefined,
        ...(f.offsetSize !== undefined ? { offsetSize: f.offsetSize } : {}),
        ...(f.withLength !== undefined ? { withLength: f.withLength } : {}),
      });
      const total = h + payload.length;
      const a = new Uint8Array(at + total + 4).fill(0xa5);
      const b = new Uint8Array(at + total + 4).fill(0x5a);
      a.set(payload, at + h);
      b.set(payload, at + h);
      writeDataHeader(a, at, f, total);
      writeDataHeader(b, at, f, total);
      assert.equal(toHex(a.subarray(at, at + total)), toHex(b.subarray(at, at + total)), 'every header byte written');
      assert.ok(a.subarray(0, at).every((x) => x === 0xa5) && a.subarray(at + total).every((x) => x === 0xa5));
      const r = parseData(a.subarray(at, at + total), { maxOffset: 64 });
      assert.ok(r.ok);
      const want: DataMessage =
        f.ns !== undefined
          ? { tunnelId: f.tunnelId as never, sessionId: f.sessionId as never, ns: f.ns, nr: f.nr ?? 0, priority: f.priority === true, payload }
          : { tunnelId: f.tunnelId as never, sessionId: f.sessionId as never, priority: f.priority === true, payload };
      assert.deepStrictEqual(r.value, want);
      // with L, trailing datagram bytes beyond Length are not payload
      if (f.withLength === true) {
        const r2 = parseData(a.subarray(at), { maxOffset: 64 });
        assert.ok(r2.ok && r2.value.payload.length === payload.length);
      }
    }),
    { numRuns: 1000 },
  );
});

test('L2tpHeaderView: one check, then the same fields as parseHeader / parseData; re-pointing leaves no state behind', () => {
  const view = new L2tpHeaderView();
  for (const v of DATA_VECTORS) {
    assert.equal(view.check(v.bytes, 64), undefined, v.name);
    const h = parseHeader(v.bytes);
    assert.ok(h.ok);
    assert.deepStrictEqual(view.header(), h.value);
    assert.deepStrictEqual(view.dataMessage(), v.value);
    assert.equal(view.payload().buffer, v.bytes.buffer, 'the payload is a view into the datagram');
    assert.equal(view.sequenced, v.value.ns !== undefined);
  }
  // A failed check reports the same error as the parse functions.
  assert.deepStrictEqual(view.check(hex('0003 0000 0000 1234')), { kind: 'bad-version', version: 3 });
  assert.deepStrictEqual(L2tpHeaderView.checked(new Uint8Array(1)), { ok: false, error: { kind: 'truncated', need: 2, have: 1 } });
  const v1 = DATA_VECTORS[1];
  assert.ok(v1);
  assert.deepStrictEqual(view.check(v1.bytes, 1), { kind: 'offset-too-large', offsetSize: 2, max: 1 });
});

test('property: the view agrees with parseHeader/parseData on any bytes, never throws, never mutates (Buffer and Uint8Array)', () => {
  const view = new L2tpHeaderView();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.boolean(), fc.integer({ min: 0, max: 70 }), (raw, asBuffer, maxOffset) => {
      const bytes = asBuffer ? Buffer.from(raw) : Uint8Array.from(raw);
      if (bytes.length >= 2 && raw.length % 2 === 0) bytes[1] = ((bytes[1] ?? 0) & 0xf0) | 2; // mostly Ver=2
      const before = toHex(bytes);
      const e = view.check(bytes, maxOffset);
      const d = parseData(bytes, { maxOffset });
      if (e !== undefined) {
        assert.deepStrictEqual(d, { ok: false, error: e });
      } else {
        const h = parseHeader(bytes);
        assert.ok(h.ok);
        assert.deepStrictEqual(view.header(), h.value);
        if (view.isControl) assert.equal(d.ok, false);
        else assert.deepStrictEqual(d, { ok: true, value: view.dataMessage() });
        assert.ok(view.headerLength <= view.length && view.length <= bytes.length);
      }
      assert.equal(toHex(bytes), before, 'input untouched');
    }),
    { numRuns: 2000 },
  );
});
