import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { seededRandom, type RandomSource } from '../../base/random.js';
import { CONTROL_VECTORS, hex } from '../../../test/vectors/l2tp-v2.js';
import {
  AVP_REGISTRY,
  HIDDEN_AVP_MIN_DATA,
  MESSAGE_SPECS,
  MessageType,
  emitControl,
  formatAvps,
  messageTypeName,
  parseControl,
  parseHeader,
  sessionId,
  tunnelId,
  wireErrorText,
  type AvpName,
  type ControlAvps,
  type ControlMessage,
  type ControlParseFailure,
  type EmitControlOptions,
  type UnknownAvp,
  type WireError,
} from './index.js';

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** A RandomSource whose bytes come from `f` (fixed vectors). */
const bytesFrom = (f: (n: number) => Uint8Array): RandomSource => ({ bytes: f, u32: () => f(4).reduce((a, x) => a * 256 + x, 0) >>> 0 });
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function parseFail(buf: Uint8Array, secret?: Uint8Array): ControlParseFailure {
  const r = parseControl(buf, secret === undefined ? undefined : { secret });
  assert.equal(r.ok, false, `expected failure for ${toHex(buf)}`);
  if (r.ok) throw new Error('unreachable');
  return r.error;
}

// ---------------------------------------------------------------- vectors

for (const v of CONTROL_VECTORS) {
  test(`vector ${v.name} (${v.source}): parse`, () => {
    assert.equal(((v.bytes[2] ?? 0) << 8) | (v.bytes[3] ?? 0), v.bytes.length, 'vector Length field');
    const r = parseControl(v.bytes);
    assert.ok(r.ok, r.ok ? '' : wireErrorText(r.error.error));
    assert.deepStrictEqual(r.value, v.value);
  });
  test(`vector ${v.name}: emit`, () => {
    const out = emitControl(v.value);
    if (v.canonical) assert.equal(toHex(out), toHex(v.bytes));
    const again = parseControl(out);
    assert.ok(again.ok);
    assert.deepStrictEqual(again.value, v.value);
  });
  test(`vector ${v.name}: every truncated prefix fails cleanly`, () => {
    for (let n = 0; n < v.bytes.length; n++) {
      const r = parseControl(v.bytes.subarray(0, n));
      assert.equal(r.ok, false, `prefix ${n}`);
    }
  });
}

test('every message type has a vector', () => {
  const covered = new Set(CONTROL_VECTORS.map((v) => v.value.type));
  for (const t of Object.values(MessageType)) assert.ok(covered.has(t), messageTypeName(t));
  assert.ok(covered.has(undefined), 'ZLB');
});

// ---------------------------------------------------------------- malformed (lab l2tp_craft.py packets 11-17)

const SCCRQ_LAB = CONTROL_VECTORS[0]?.bytes ?? new Uint8Array();

test('lab 11: Length larger than the datagram -> truncated', () => {
  const b = SCCRQ_LAB.slice();
  b[2] = 0x01;
  b[3] = 0x90; // Length 400
  const f = parseFail(b);
  assert.deepStrictEqual(f.error, { kind: 'truncated', need: 400, have: SCCRQ_LAB.length });
  assert.equal(f.header, undefined);
});

test('lab 12: AVP length 4 -> bad-length avp, header and message type filled', () => {
  const f = parseFail(hex('c802 001a 0000 0000 0000 0000', '8008 0000 0000 0001', '8004 0000 0007 7878'));
  assert.equal(f.error.kind, 'bad-length');
  assert.equal(f.messageType, MessageType.SCCRQ);
  assert.equal(f.header?.length, 26);
});

test('lab 13: AVP length runs past the end -> bad-length avp', () => {
  const f = parseFail(hex('c802 0019 0000 0000 0000 0000', '8008 0000 0000 0001', '803c 0000 0007 616263'));
  assert.equal(f.error.kind, 'bad-length');
  if (f.error.kind === 'bad-length') assert.equal(f.error.field, 'avp');
});

test('lab 14: 6-byte control header -> truncated', () => {
  assert.deepStrictEqual(parseFail(hex('c802 000c 0000')).error, { kind: 'truncated', need: 12, have: 6 });
});

test('lab 15: unknown mandatory AVP -> unknown-mandatory-avp with header and message type (§4.2)', () => {
  const body = SCCRQ_LAB.subarray(12);
  const extra = hex('8008 0000 03e7 0001'); // M=1, vendor 0, attribute 999
  const len = 12 + body.length + extra.length;
  const b = new Uint8Array(len);
  b.set(hex(`c802 ${len.toString(16).padStart(4, '0')} 0007 0000 0003 0004`));
  b.set(body, 12);
  b.set(extra, 12 + body.length);
  const f = parseFail(b);
  assert.deepStrictEqual(f.error, { kind: 'unknown-mandatory-avp', vendorId: 0, attribute: 999 });
  assert.equal(f.messageType, MessageType.SCCRQ);
  assert.equal(f.header?.tunnelId, 7);
  assert.equal(f.header?.ns, 3);
  assert.equal(f.header?.nr, 4);
});

test('lab 16: Message Type with a 1-byte value -> bad-avp-value attribute 0', () => {
  const f = parseFail(hex('c802 0013 0000 0000 0000 0000', '8007 0000 0000 01'));
  assert.equal(f.error.kind, 'bad-avp-value');
  if (f.error.kind === 'bad-avp-value') assert.equal(f.error.attribute, 0);
  assert.ok(f.header !== undefined);
});

test('lab 17: control message with L clear -> bad-flags', () => {
  assert.equal(parseFail(hex('8802 0000 0000 0000 0000', '8008 0000 0000 0006')).error.kind, 'bad-flags');
});

test('control header flag rules (§3.1): S clear, O set -> bad-flags; Ver 3 and 1 -> bad-version', () => {
  assert.equal(parseFail(hex('c002 000c 0000 0000 0000 0000')).error.kind, 'bad-flags');
  assert.equal(parseFail(hex('ca02 000c 0000 0000 0000 0000')).error.kind, 'bad-flags');
  assert.deepStrictEqual(parseFail(hex('c803 000c 0000 0000 0000 0000')).error, { kind: 'bad-version', version: 3 });
  assert.deepStrictEqual(parseFail(hex('c801 000c 0000 0000 0000 0000')).error, { kind: 'bad-version', version: 1 });
  // a data message on the control path
  const d = parseFail(hex('4002 0008 0001 0002'));
  assert.equal(d.error.kind, 'bad-flags');
  assert.equal(d.header?.isControl, false);
});

test('first AVP must be Message Type (§4.4.1)', () => {
  const f = parseFail(hex('c802 0014 0001 0000 0000 0000', '8008 0000 0009 0001'));
  assert.deepStrictEqual(f.error, { kind: 'first-avp-not-message-type' });
  assert.ok(f.header !== undefined);
  assert.equal(parseFail(hex('c802 0014 0001 0000 0000 0000', '8008 0009 0000 0001')).error.kind, 'first-avp-not-message-type');
  assert.equal(parseFail(hex('c802 000f 0001 0000 0000 0000', '800800')).error.kind, 'bad-length');
  assert.equal(parseFail(hex('c802 0014 0001 0000 0000 0000', 'c008 0000 0000 0006')).error.kind, 'bad-hidden');
});

test('unknown message type: M=1 and M=0 both reported with header and type', () => {
  const m1 = parseFail(hex('c802 0014 0001 0000 0005 0006', '8008 0000 0000 0063'));
  assert.deepStrictEqual(m1.error, { kind: 'unknown-message-type', messageType: 99, mandatory: true });
  assert.equal(m1.messageType, 99);
  assert.equal(m1.header?.ns, 5);
  const m0 = parseFail(hex('c802 0014 0001 0000 0005 0006', '0008 0000 0000 0005'));
  assert.deepStrictEqual(m0.error, { kind: 'unknown-message-type', messageType: 5, mandatory: false });
});

test('unknown M=0 AVPs land in avps.unknown and round-trip; reserved bits make an AVP unknown (§4.1)', () => {
  const b = hex(
    'c802 002e 0001 0000 0000 0000',
    '8008 0000 0000 0006', // HELLO
    '000a 0009 0001 deadbeef', // vendor 9, attribute 1, M=0
    '0008 0000 0063 0102', // vendor 0, attribute 99, M=0
    '0408 0000 0007 6869', // reserved bit set on Host Name: unrecognized, M=0
  );
  const r = parseControl(b);
  assert.ok(r.ok);
  const unknown: UnknownAvp[] = [
    { vendorId: 9, attribute: 1, mandatory: false, hidden: false, value: hex('deadbeef') },
    { vendorId: 0, attribute: 99, mandatory: false, hidden: false, value: hex('0102') },
    { vendorId: 0, attribute: 7, mandatory: false, hidden: false, value: hex('6869') },
  ];
  assert.deepStrictEqual(r.value.avps, { unknown });
  // the first two round-trip; reserved bits are not kept in UnknownAvp, so the third re-parses as Host Name
  const again = parseControl(emitControl(r.value));
  assert.ok(again.ok);
  assert.deepStrictEqual(again.value.avps, { unknown: unknown.slice(0, 2), hostName: 'hi' });
  const m1 = parseFail(hex('c802 001e 0001 0000 0000 0000', '8008 0000 0000 0006', '800a 0009 0001 deadbeef'));
  assert.deepStrictEqual(m1.error, { kind: 'unknown-mandatory-avp', vendorId: 9, attribute: 1 });
});

test('missing required AVP -> missing-avp with the name (§6)', () => {
  const f = parseFail(hex('c802 001c 0001 0000 0000 0000', '8008 0000 0000 000a', '8008 0000 000e 0003'));
  assert.deepStrictEqual(f.error, { kind: 'missing-avp', messageType: MessageType.ICRQ, attribute: 15, name: 'callSerialNumber' });
  assert.equal(f.messageType, MessageType.ICRQ);
});

test('duplicate known AVP -> duplicate-avp; second Message Type -> duplicate-avp', () => {
  const f = parseFail(hex('c802 0024 0001 0000 0000 0000', '8008 0000 0000 000b', '8008 0000 000e 0003', '8008 0000 000e 0004'));
  assert.deepStrictEqual(f.error, { kind: 'duplicate-avp', attribute: 14 });
  const g = parseFail(hex('c802 001c 0001 0000 0000 0000', '8008 0000 0000 0006', '8008 0000 0000 0006'));
  assert.deepStrictEqual(g.error, { kind: 'duplicate-avp', attribute: 0 });
});

test('known AVPs with a wrong value length -> bad-avp-value', () => {
  const cases: [string, number][] = [
    ['8009 0000 000e 000003', 14], // Assigned Session ID 3 bytes
    ['8009 0000 0001 000100', 1], // Result Code 3 bytes
    ['8007 0000 0027 00', 39], // Sequencing Required with a value
  ];
  for (const [avp, attribute] of cases) {
    const body = hex('8008 0000 0000 000b', avp);
    const b = new Uint8Array(12 + body.length);
    b.set(hex(`c802 ${(12 + body.length).toString(16).padStart(4, '0')} 0001 0000 0000 0000`));
    b.set(body, 12);
    const f = parseFail(b);
    assert.equal(f.error.kind, 'bad-avp-value', avp);
    if (f.error.kind === 'bad-avp-value') assert.equal(f.error.attribute, attribute);
  }
});

test('trailing bytes after Length are ignored; Length shorter than the datagram bounds the AVPs', () => {
  const hello = CONTROL_VECTORS.find((v) => v.name === 'HELLO');
  assert.ok(hello);
  const padded = new Uint8Array(hello.bytes.length + 5);
  padded.set(hello.bytes);
  const r = parseControl(padded);
  assert.ok(r.ok);
  assert.deepStrictEqual(r.value, hello.value);
});

// ---------------------------------------------------------------- hidden AVPs (§4.3), independent reference

const md5 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const u16 = (n: number): Uint8Array => new Uint8Array([n >> 8, n & 0xff]);
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
/** Reference hiding, written from the §4.3 text without looking at hidden.ts. */
function hideRef(attribute: number, secret: Uint8Array, rv: Uint8Array, value: Uint8Array, pad: Uint8Array): Uint8Array {
  const p = concat(u16(value.length), value, pad);
  const c = new Uint8Array(p.length);
  let b = md5(u16(attribute), secret, rv);
  for (let i = 0; i < p.length; i += 16) {
    for (let j = 0; j < 16 && i + j < p.length; j++) c[i + j] = (p[i + j] ?? 0) ^ (b[j] ?? 0);
    b = md5(secret, c.subarray(i, Math.min(i + 16, p.length)));
  }
  return c;
}
const avpBytes = (flags: number, attribute: number, value: Uint8Array): Uint8Array =>
  concat(u16(flags | (6 + value.length)), u16(0), u16(attribute), value);

test('hidden AVPs: fixed-random vector matches an independent MD5 implementation, and decodes', () => {
  const secret = enc('tunnel-secret');
  const rv = hex('0102030405060708090a0b0c0d0e0f10');
  const padByte = 0x13; // pad length 3
  const padFill = 0xee;
  const random = (n: number): Uint8Array => (n === 1 ? new Uint8Array([padByte]) : n === 16 ? rv.slice() : new Uint8Array(n).fill(padFill));
  const calling = 'a long calling number, more than 16 bytes: 0123456789';
  const msg: ControlMessage = {
    tunnelId: tunnelId(9),
    sessionId: sessionId(0),
    ns: 4,
    nr: 2,
    type: MessageType.ICRQ,
    avps: { assignedSessionId: sessionId(0x0102), callSerialNumber: 77, callingNumber: calling },
  };
  const out = emitControl(msg, { secret, random: bytesFrom(random), hide: new Set<AvpName>(['assignedSessionId', 'callingNumber', 'callSerialNumber']) });
  const pad = new Uint8Array(3).fill(padFill);
  // A 2-byte value is padded up to HIDDEN_AVP_MIN_DATA (8 = 2 + 2 + 4), whatever the random pad length.
  const pad4 = new Uint8Array(4).fill(padFill);
  const body = concat(
    avpBytes(0x8000, 0, u16(MessageType.ICRQ)),
    avpBytes(0x8000, 36, rv), // Random Vector before the first hidden AVP
    avpBytes(0xc000, 14, hideRef(14, secret, rv, u16(0x0102), pad4)), // hidden Assigned Session ID
    avpBytes(0x8000, 15, hex('0000004d')), // Call Serial Number MUST NOT be hidden: clear
    avpBytes(0xc000, 22, hideRef(22, secret, rv, enc(calling), pad)), // hidden Calling Number (4 MD5 blocks)
  );
  const expected = concat(hex(`c802 ${(12 + body.length).toString(16).padStart(4, '0')} 0009 0000 0004 0002`), body);
  assert.equal(toHex(out), toHex(expected));
  const r = parseControl(out, { secret });
  assert.ok(r.ok);
  assert.deepStrictEqual(r.value, msg);
  // a peer's hidden AVP built only by the reference (pad 0, value exactly 14 bytes + 2 = one block)
  const peer = concat(
    hex('c802 0000 0009 0000 0000 0000'),
    avpBytes(0x8000, 0, u16(MessageType.ICRQ)),
    avpBytes(0x8000, 36, hex('aa')),
    avpBytes(0xc000, 14, hideRef(14, secret, hex('aa'), u16(3), new Uint8Array(0))),
    avpBytes(0x8000, 15, hex('00000001')),
    avpBytes(0x4000, 30, hideRef(30, secret, hex('aa'), enc('fourteen bytes'), new Uint8Array(0))),
  );
  peer.set(u16(peer.length), 2);
  const pr = parseControl(peer, { secret });
  assert.ok(pr.ok, pr.ok ? '' : wireErrorText(pr.error.error));
  assert.deepStrictEqual(pr.value.avps, { assignedSessionId: 3, callSerialNumber: 1, proxyAuthenName: 'fourteen bytes' });
});

test('hidden AVPs: typed errors without secret, without Random Vector, with a wrong secret', () => {
  const secret = enc('s');
  const msg: ControlMessage = {
    tunnelId: tunnelId(1),
    sessionId: sessionId(0),
    ns: 0,
    nr: 0,
    type: MessageType.ICRP,
    avps: { assignedSessionId: sessionId(5) },
  };
  const out = emitControl(msg, { secret, hide: new Set<AvpName>(['assignedSessionId']), random: seededRandom(5) });
  const noSecret = parseFail(out);
  assert.deepStrictEqual(noSecret.error, { kind: 'hidden-without-secret', attribute: 14 });
  assert.equal(noSecret.messageType, MessageType.ICRP);
  const wrong = parseControl(out, { secret: enc('not the secret, longer') });
  if (!wrong.ok) assert.ok(['bad-hidden', 'bad-avp-value'].includes(wrong.error.error.kind));
  const noRv = hex('c802 001c 0001 0000 0000 0000', '8008 0000 0000 000b', 'c008 0000 000e 0003');
  assert.deepStrictEqual(parseFail(noRv, secret).error, { kind: 'hidden-without-random-vector', attribute: 14 });
  const shortHidden = hex('c802 0022 0001 0000 0000 0000', '8008 0000 0000 000b', '8007 0000 0024 aa', 'c007 0000 000e 01');
  assert.equal(parseFail(shortHidden, secret).error.kind, 'bad-hidden');
  const hiddenRv = hex('c802 001b 0001 0000 0000 0000', '8008 0000 0000 000b', 'c007 0000 0024 aa');
  assert.equal(parseFail(hiddenRv, secret).error.kind, 'bad-hidden');
});

test('hide: non-hidable AVPs stay clear and no Random Vector is sent; hide without secret throws', () => {
  const v = CONTROL_VECTORS.find((x) => x.name === 'StopCCN');
  assert.ok(v);
  const out = emitControl(v.value, { secret: enc('x'), hide: new Set<AvpName>(['resultCode', 'hostName']), random: seededRandom(1) });
  assert.equal(toHex(out), toHex(v.bytes));
  // Type-level the options need secret + random with hide; at run time a missing one is a RangeError.
  const noSecret = { hide: new Set<AvpName>(['assignedTunnelId']), random: seededRandom(1) } as unknown as EmitControlOptions;
  assert.throws(() => emitControl(CONTROL_VECTORS[2]!.value, noSecret), RangeError);
  const noRandom = { hide: new Set<AvpName>(['assignedTunnelId']), secret: enc('x') } as unknown as EmitControlOptions;
  assert.throws(() => emitControl(CONTROL_VECTORS[2]!.value, noRandom), RangeError);
});

// ---------------------------------------------------------------- registry and specs

test('AVP_REGISTRY: one row per ControlAvps key, attributes unique and ascending', () => {
  const names: AvpName[] = [
    'resultCode', 'protocolVersion', 'framingCapabilities', 'bearerCapabilities', 'tieBreaker', 'firmwareRevision',
    'hostName', 'vendorName', 'assignedTunnelId', 'receiveWindowSize', 'challenge', 'q931Cause', 'challengeResponse',
    'assignedSessionId', 'callSerialNumber', 'minimumBps', 'maximumBps', 'bearerType', 'framingType', 'calledNumber',
    'callingNumber', 'subAddress', 'txConnectSpeed', 'physicalChannelId', 'initialReceivedLcpConfReq',
    'lastSentLcpConfReq', 'lastReceivedLcpConfReq', 'proxyAuthenType', 'proxyAuthenName', 'proxyAuthenChallenge',
    'proxyAuthenId', 'proxyAuthenResponse', 'callErrors', 'accm', 'privateGroupId', 'rxConnectSpeed',
    'sequencingRequired', 'pppDisconnectCause',
  ];
  assert.deepStrictEqual(AVP_REGISTRY.map((r) => r.name).sort(), [...names].sort());
  for (let i = 1; i < AVP_REGISTRY.length; i++) assert.ok(AVP_REGISTRY[i - 1]!.attribute < AVP_REGISTRY[i]!.attribute);
  const byName = new Map(AVP_REGISTRY.map((r) => [r.name, r]));
  for (const spec of Object.values(MESSAGE_SPECS)) {
    for (const n of [...spec.required, ...spec.optional]) assert.ok(byName.has(n), `${spec.name}: ${n}`);
  }
  assert.equal(byName.get('pppDisconnectCause')?.mandatory, false);
  assert.equal(byName.get('resultCode')?.hidable, false);
});

test('MESSAGE_SPECS: RFC required AVPs', () => {
  assert.deepStrictEqual([...MESSAGE_SPECS[MessageType.SCCRQ].required].sort(), ['assignedTunnelId', 'framingCapabilities', 'hostName', 'protocolVersion']);
  assert.deepStrictEqual([...MESSAGE_SPECS[MessageType.ICRQ].required].sort(), ['assignedSessionId', 'callSerialNumber']);
  assert.deepStrictEqual([...MESSAGE_SPECS[MessageType.CDN].required].sort(), ['assignedSessionId', 'resultCode']);
  assert.deepStrictEqual([...MESSAGE_SPECS[MessageType.StopCCN].required].sort(), ['assignedTunnelId', 'resultCode']);
  assert.equal(MESSAGE_SPECS[MessageType.ICCN].sessionScoped, true);
  assert.equal(MESSAGE_SPECS[MessageType.HELLO].sessionScoped, false);
});

test('messageTypeName', () => {
  assert.equal(messageTypeName(1), 'SCCRQ');
  assert.equal(messageTypeName(MessageType.StopCCN), 'StopCCN');
  assert.equal(messageTypeName(undefined), 'ZLB');
  assert.equal(messageTypeName(13), 'Unknown(13)');
});

test('formatAvps: one line per AVP', () => {
  assert.deepStrictEqual(formatAvps({ hostName: 'lac1', resultCode: { result: 1, error: 0 } }), [
    'Result Code: 1 (General request to clear) error 0',
    'Host Name: "lac1"',
  ]);
  assert.deepStrictEqual(formatAvps({ resultCode: { result: 2, error: 8, message: 'x' } }, MessageType.CDN), [
    'Result Code: 2 (General error) error 8 (Unknown mandatory AVP) "x"',
  ]);
  for (const v of CONTROL_VECTORS) {
    const lines = formatAvps(v.value.avps, v.value.type);
    const count = Object.keys(v.value.avps).length;
    assert.equal(lines.length, count, v.name);
  }
  assert.deepStrictEqual(formatAvps({ unknown: [{ vendorId: 9, attribute: 1, mandatory: false, hidden: true, value: hex('ab') }] }), [
    'Unknown AVP vendor 9 attribute 1 H: 0xab (1 bytes)',
  ]);
});

test('wireErrorText covers every kind', () => {
  const all: WireError[] = [
    { kind: 'truncated', need: 2, have: 1 },
    { kind: 'bad-version', version: 3 },
    { kind: 'bad-length', field: 'avp', detail: 'd' },
    { kind: 'bad-flags', detail: 'd' },
    { kind: 'offset-too-large', offsetSize: 9, max: 8 },
    { kind: 'first-avp-not-message-type' },
    { kind: 'unknown-message-type', messageType: 99, mandatory: true },
    { kind: 'unknown-mandatory-avp', vendorId: 0, attribute: 999 },
    { kind: 'bad-avp-value', attribute: 1, detail: 'd' },
    { kind: 'duplicate-avp', attribute: 1 },
    { kind: 'missing-avp', messageType: MessageType.ICRQ, attribute: 15, name: 'callSerialNumber' },
    { kind: 'hidden-without-secret', attribute: 14 },
    { kind: 'hidden-without-random-vector', attribute: 14 },
    { kind: 'bad-hidden', attribute: 14, detail: 'd' },
    { kind: 'zero-assigned-id', messageType: MessageType.SCCRQ, attribute: 9, name: 'assignedTunnelId' },
  ];
  const texts = new Set(all.map(wireErrorText));
  assert.equal(texts.size, all.length);
  assert.equal(wireErrorText(all[10]!), 'ICRQ without required AVP callSerialNumber (15)');
  assert.equal(wireErrorText(all[14]!), 'SCCRQ with assignedTunnelId (9) 0, must be non-zero');
});

// ---------------------------------------------------------------- properties

const u16Arb = fc.integer({ min: 0, max: 0xffff });
const nonZeroU16 = fc.integer({ min: 1, max: 0xffff });
const u32Arb = fc.integer({ min: 0, max: 0xffffffff });
const u8Arb = fc.integer({ min: 0, max: 0xff });
const str = (min = 0): fc.Arbitrary<string> => fc.string({ unit: 'grapheme', minLength: min, maxLength: 24 });
/** fc.record without null prototypes (deepStrictEqual compares prototypes). */
const rec: typeof fc.record = ((model: never, opts?: never) => fc.record(model, { ...(opts ?? {}), noNullPrototype: true })) as typeof fc.record;
const bytes = (min = 0, max = 48): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: min, maxLength: max });

/** A value arbitrary per AVP, respecting each codec's domain. */
const AVP_ARBS: { [K in AvpName]-?: fc.Arbitrary<NonNullable<ControlAvps[K]>> } = {
  resultCode: fc.oneof(
    rec({ result: u16Arb }),
    rec({ result: u16Arb, error: u16Arb }),
    rec({ result: u16Arb, error: u16Arb, message: str(1) }), // an empty message is the same bytes as none
  ),
  protocolVersion: rec({ version: u8Arb, revision: u8Arb }),
  framingCapabilities: u32Arb,
  bearerCapabilities: u32Arb,
  tieBreaker: bytes(8, 8),
  firmwareRevision: u16Arb,
  hostName: str(1),
  vendorName: str(),
  assignedTunnelId: u16Arb.map(tunnelId),
  receiveWindowSize: u16Arb,
  challenge: bytes(1),
  q931Cause: rec({ cause: u16Arb, msg: u8Arb, advisory: str(1) }, { requiredKeys: ['cause', 'msg'] }),
  challengeResponse: bytes(16, 16),
  assignedSessionId: u16Arb.map(sessionId),
  callSerialNumber: u32Arb,
  minimumBps: u32Arb,
  maximumBps: u32Arb,
  bearerType: u32Arb,
  framingType: u32Arb,
  calledNumber: str(),
  callingNumber: str(),
  subAddress: str(),
  txConnectSpeed: u32Arb,
  physicalChannelId: u32Arb,
  initialReceivedLcpConfReq: bytes(),
  lastSentLcpConfReq: bytes(),
  lastReceivedLcpConfReq: bytes(),
  proxyAuthenType: u16Arb,
  proxyAuthenName: str(),
  proxyAuthenChallenge: bytes(),
  proxyAuthenId: u8Arb,
  proxyAuthenResponse: bytes(),
  callErrors: rec({
    crcErrors: u32Arb,
    framingErrors: u32Arb,
    hardwareOverruns: u32Arb,
    bufferOverruns: u32Arb,
    timeoutErrors: u32Arb,
    alignmentErrors: u32Arb,
  }),
  accm: rec({ send: u32Arb, recv: u32Arb }),
  privateGroupId: bytes(),
  rxConnectSpeed: u32Arb,
  sequencingRequired: fc.constant(true as const),
  pppDisconnectCause: rec({ code: u16Arb, protocol: u16Arb, direction: u8Arb, message: str(1) }, { requiredKeys: ['code', 'protocol', 'direction'] }),
};

const KNOWN_ATTRS = new Set([0, 36, ...AVP_REGISTRY.map((r) => r.attribute)]);
const unknownAvpArb: fc.Arbitrary<UnknownAvp> = rec({ vendorId: u16Arb, attribute: u16Arb, mandatory: fc.constant(false), hidden: fc.boolean(), value: bytes(0, 16) })
  .filter((u: UnknownAvp) => u.vendorId !== 0 || !KNOWN_ATTRS.has(u.attribute));

/** Arbitrary well-formed messages: every required AVP of the type, any other known AVPs, unknown M=0 AVPs. */
const messageArb: fc.Arbitrary<ControlMessage> = fc.oneof(
  {
    weight: 9,
    arbitrary: fc.constantFrom(...Object.values(MESSAGE_SPECS)).chain((spec) =>
      fc
        .tuple(
          rec(
            // §4.4.3 / §4.4.4: the message's Assigned IDs are non-zero where the spec says so.
            { ...AVP_ARBS, ...(spec.nonZero?.includes('assignedTunnelId') ? { assignedTunnelId: nonZeroU16.map(tunnelId) } : {}), ...(spec.nonZero?.includes('assignedSessionId') ? { assignedSessionId: nonZeroU16.map(sessionId) } : {}) },
            { requiredKeys: [...spec.required] },
          ),
          fc.array(unknownAvpArb, { maxLength: 3 }),
          u16Arb,
          u16Arb,
          u16Arb,
          u16Arb,
        )
        .map(([avps, unknown, t, s, ns, nr]): ControlMessage => ({
          tunnelId: tunnelId(t),
          sessionId: sessionId(s),
          ns,
          nr,
          type: spec.type,
          avps: unknown.length > 0 ? { ...(avps as ControlAvps), unknown } : (avps as ControlAvps),
        })),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(u16Arb, u16Arb, u16Arb, u16Arb).map(([t, s, ns, nr]): ControlMessage => ({
      tunnelId: tunnelId(t),
      sessionId: sessionId(s),
      ns,
      nr,
      type: undefined,
      avps: {},
    })),
  },
);

test('property: parseControl(emitControl(m)) == m, Length == bytes', () => {
  fc.assert(
    fc.property(messageArb, (m) => {
      const out = emitControl(m);
      assert.equal(((out[2] ?? 0) << 8) | (out[3] ?? 0), out.length);
      const h = parseHeader(out);
      assert.ok(h.ok && h.value.isControl);
      const r = parseControl(out);
      assert.ok(r.ok, r.ok ? '' : wireErrorText(r.error.error));
      assert.deepStrictEqual(r.value, m);
    }),
    { numRuns: 400 },
  );
});

const HIDABLE = AVP_REGISTRY.map((r) => r.name);
test('property: hidden round trip with any secret, hide set and random source', () => {
  fc.assert(
    fc.property(messageArb, bytes(1, 40), fc.subarray(HIDABLE), fc.integer(), (m, secret, hide, seed) => {
      let x = seed >>> 0 || 1;
      const random = (n: number): Uint8Array => {
        const b = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          b[i] = x & 0xff;
        }
        return b;
      };
      const out = emitControl(m, { secret, hide: new Set(hide), random: bytesFrom(random) });
      assert.equal(((out[2] ?? 0) << 8) | (out[3] ?? 0), out.length);
      // Every AVP we hid carries at least HIDDEN_AVP_MIN_DATA bytes (l2tpns rejects shorter ones);
      // unknown AVPs are re-sent as received.
      const ours = new Set(AVP_REGISTRY.map((a) => a.attribute));
      for (let at = 12; at + 6 <= out.length; ) {
        const fl = ((out[at] ?? 0) << 8) | (out[at + 1] ?? 0);
        const len = fl & 0x3ff;
        const vendor = ((out[at + 2] ?? 0) << 8) | (out[at + 3] ?? 0);
        const attr = ((out[at + 4] ?? 0) << 8) | (out[at + 5] ?? 0);
        if (fl & 0x4000 && vendor === 0 && ours.has(attr)) assert.ok(len - 6 >= HIDDEN_AVP_MIN_DATA, `hidden AVP ${attr}: data ${len - 6} bytes`);
        at += Math.max(len, 6);
      }
      const r = parseControl(out, { secret });
      assert.ok(r.ok, r.ok ? '' : wireErrorText(r.error.error));
      assert.deepStrictEqual(r.value, m);
    }),
    { numRuns: 300 },
  );
});

test('a second Random Vector applies to the hidden AVPs after it (§4.3)', () => {
  const secret = enc('k');
  const rv1 = hex('01');
  const rv2 = hex('0202');
  const b = concat(
    hex('c802 0000 0001 0000 0000 0000'),
    avpBytes(0x8000, 0, u16(MessageType.ICRQ)),
    avpBytes(0x8000, 36, rv1),
    avpBytes(0xc000, 14, hideRef(14, secret, rv1, u16(7), hex('99'))),
    avpBytes(0x8000, 36, rv2),
    avpBytes(0x8000, 15, hex('00000002')),
    avpBytes(0xc000, 22, hideRef(22, secret, rv2, enc('555'), new Uint8Array(0))),
  );
  b.set(u16(b.length), 2);
  const r = parseControl(b, { secret });
  assert.ok(r.ok, r.ok ? '' : wireErrorText(r.error.error));
  assert.deepStrictEqual(r.value.avps, { assignedSessionId: 7, callSerialNumber: 2, callingNumber: '555' });
});

test('emit limits: a value that just fits is hidden with padding clamped; one byte more throws', () => {
  const base: ControlMessage = { tunnelId: tunnelId(1), sessionId: sessionId(0), ns: 0, nr: 0, type: MessageType.HELLO, avps: {} };
  const big = 'v'.repeat(1015);
  const out = emitControl({ ...base, avps: { vendorName: big } }, { secret: enc('s'), hide: new Set<AvpName>(['vendorName']), random: bytesFrom((n) => new Uint8Array(n).fill(0xff)) });
  const r = parseControl(out, { secret: enc('s') });
  assert.ok(r.ok);
  assert.equal(r.value.avps.vendorName, big);
  assert.ok(parseControl(emitControl({ ...base, avps: { vendorName: 'v'.repeat(1017) } })).ok);
  assert.throws(() => emitControl({ ...base, avps: { vendorName: 'v'.repeat(1018) } }), RangeError);
  // a ZLB ignores AVPs
  assert.equal(emitControl({ ...base, type: undefined, avps: { vendorName: 'x' } }).length, 12);
});
