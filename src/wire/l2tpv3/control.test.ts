import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DIGEST_VECTORS,
  EMPTY_DIGEST_KEY,
  HIDDEN_VECTOR,
  LAB_DIGEST_KEY,
  LAB_HIDING_KEY,
  LAB_SECRET,
  NONCE_A,
  NONCE_B,
  V3_CONTROL_VECTORS,
  hex,
} from '../../../test/vectors/l2tp-v3.js';
import {
  DigestType,
  V3MessageType,
  V3_AVP_REGISTRY,
  V3_MESSAGE_SPECS,
  controlConnectionId,
  digestSharedKey,
  emitV3Control,
  formatV3Avps,
  hidingSharedKey,
  parseV3Control,
  v3MessageTypeName,
  v3SessionId,
  v3WireErrorText,
  type V3Authentication,
  type V3AvpName,
  type V3ControlAvps,
  type V3ControlMessage,
  type V3ControlParseFailure,
  type V3Encapsulation,
} from './index.js';

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function parseFail(buf: Uint8Array, encapsulation: V3Encapsulation = 'udp', extra: { secret?: Uint8Array; auth?: V3Authentication } = {}): V3ControlParseFailure {
  const r = parseV3Control(buf, { encapsulation, ...extra });
  assert.equal(r.ok, false, `expected failure for ${toHex(buf)}`);
  if (r.ok) throw new Error('unreachable');
  return r.error;
}

/** Build a UDP control message from a body of AVP hex (Length computed). */
function udpMsg(ccid: string, ...avps: string[]): Uint8Array {
  const body = hex(...avps);
  const len = 12 + body.length;
  const out = new Uint8Array(len);
  out.set(hex(`c803 ${len.toString(16).padStart(4, '0')} ${ccid} 0001 0002`));
  out.set(body, 12);
  return out;
}

// ---------------------------------------------------------------- vectors

for (const v of V3_CONTROL_VECTORS) {
  const opts = { encapsulation: v.encapsulation };
  test(`vector ${v.name} (§${v.section}, ${v.source}): parse`, () => {
    const r = parseV3Control(v.bytes, opts);
    assert.ok(r.ok, r.ok ? '' : v3WireErrorText(r.error.error));
    assert.deepStrictEqual(r.value, v.value);
  });
  test(`vector ${v.name}: emit`, () => {
    const out = emitV3Control(v.value, opts);
    if (v.canonical) assert.equal(toHex(out), toHex(v.bytes));
    const again = parseV3Control(out, opts);
    assert.ok(again.ok);
    assert.deepStrictEqual(again.value, v.value);
  });
  test(`vector ${v.name}: every truncated prefix fails cleanly`, () => {
    for (let n = 0; n < v.bytes.length; n++) assert.equal(parseV3Control(v.bytes.subarray(0, n), opts).ok, false, `prefix ${n}`);
  });
}

test('every message type and every registry AVP has a vector', () => {
  const types = new Set(V3_CONTROL_VECTORS.map((v) => v.value.type));
  for (const t of Object.values(V3MessageType)) assert.ok(types.has(t), v3MessageTypeName(t));
  assert.ok(types.has(undefined), 'ZLB');
  const names = new Set(V3_CONTROL_VECTORS.flatMap((v) => Object.keys(v.value.avps)));
  for (const r of V3_AVP_REGISTRY) assert.ok(names.has(r.name), `no vector carries ${r.title} (${r.attribute})`);
  for (const s of Object.values(V3_MESSAGE_SPECS)) assert.match(s.section, /^6\.\d+$/);
});

test('debug log lines name every AVP', () => {
  const icrq = V3_CONTROL_VECTORS.find((v) => v.name === 'ICRQ');
  const lines = formatV3Avps(icrq?.value.avps ?? {});
  assert.ok(lines.includes('Pseudowire Type: 5 (Ethernet)'), lines.join('\n'));
  assert.ok(lines.includes('Assigned Cookie: 0xcafef00d (4 bytes)'));
  assert.ok(lines.includes('Remote End ID: "pw1"'));
  assert.deepStrictEqual(formatV3Avps({ resultCode: { result: 3 } }, V3MessageType.CDN), ['Result Code: 3 (Administrative disconnect)']);
});

// ---------------------------------------------------------------- Message Digest (§4.3, §5.4.1)

test('derived keys match OpenSSL (§5.3 value 1, §5.4.1 value 2)', () => {
  assert.equal(toHex(digestSharedKey(LAB_SECRET)), toHex(LAB_DIGEST_KEY));
  assert.equal(toHex(hidingSharedKey(LAB_SECRET)), toHex(LAB_HIDING_KEY));
  assert.equal(toHex(digestSharedKey(new Uint8Array(0))), toHex(EMPTY_DIGEST_KEY));
});

for (const v of DIGEST_VECTORS) {
  const senderNonce = v.sender === 'A' ? NONCE_A : NONCE_B;
  const receiverNonce = v.sender === 'A' ? NONCE_B : NONCE_A;
  const recvAuth: V3Authentication | undefined =
    v.integrity === true
      ? undefined
      : v.value.type === V3MessageType.SCCRP
        ? { sharedKeys: [LAB_DIGEST_KEY], localNonce: receiverNonce } // the peer's nonce comes from the SCCRP itself
        : { sharedKeys: [LAB_DIGEST_KEY], localNonce: receiverNonce, remoteNonce: senderNonce };
  const sendAuth: V3Authentication = { sharedKeys: [LAB_DIGEST_KEY], localNonce: senderNonce, remoteNonce: receiverNonce, digestType: v.digestType };
  const enc = { encapsulation: v.encapsulation };
  test(`digest ${v.name}: verifies`, () => {
    const r = parseV3Control(v.bytes, { ...enc, ...(recvAuth !== undefined ? { auth: recvAuth } : {}) });
    assert.ok(r.ok, r.ok ? '' : v3WireErrorText(r.error.error));
    assert.deepStrictEqual(r.value, { ...v.value, digestType: v.digestType });
  });
  test(`digest ${v.name}: emit reproduces the OpenSSL digest`, () => {
    const out = emitV3Control(v.value, v.integrity === true ? { ...enc, integrityDigest: true } : { ...enc, auth: sendAuth });
    assert.equal(toHex(out), toHex(v.bytes));
  });
  test(`digest ${v.name}: one flipped bit anywhere fails, the input is untouched`, () => {
    const copy = v.bytes.slice();
    const start = v.encapsulation === 'ip' ? 4 : 0;
    for (let i = start + 12; i < v.bytes.length; i++) {
      const b = v.bytes.slice();
      b[i] = (b[i] ?? 0) ^ 0x01;
      const r = parseV3Control(b, { ...enc, ...(recvAuth !== undefined ? { auth: recvAuth } : {}) });
      assert.equal(r.ok, false, `byte ${i}`);
      if (!r.ok && r.error.error.kind === 'bad-digest') {
        assert.equal(r.error.authenticated, false);
        assert.deepStrictEqual(r.error.ids, {});
      }
    }
    assert.deepStrictEqual(v.bytes, copy);
  });
}

test('digest: wrong secret, wrong nonce, missing digest, ZLB and two keys (§5.4.1, §6.15)', () => {
  const v = DIGEST_VECTORS[2];
  assert.ok(v !== undefined);
  const good: V3Authentication = { sharedKeys: [LAB_DIGEST_KEY], localNonce: NONCE_B, remoteNonce: NONCE_A };
  assert.equal(parseFail(v.bytes, 'udp', { auth: { ...good, sharedKeys: [digestSharedKey(hex('00'))] } }).error.kind, 'bad-digest');
  assert.equal(parseFail(v.bytes, 'udp', { auth: { ...good, localNonce: NONCE_A } }).error.kind, 'bad-digest');
  // a switchover: two configured keys, the second matches
  assert.ok(parseV3Control(v.bytes, { encapsulation: 'udp', auth: { ...good, sharedKeys: [EMPTY_DIGEST_KEY, LAB_DIGEST_KEY] } }).ok);
  assert.equal(parseFail(hex('c803 0014 00001234 0002 0001', '8008 0000 0000 0006'), 'udp', { auth: good }).error.kind, 'missing-digest');
  assert.equal(parseFail(hex('c803 000c 00001234 0002 0001'), 'udp', { auth: good }).error.kind, 'zlb-with-authentication');
  // without configured auth a digest is checked as the integrity digest: a keyed one fails
  assert.equal(parseFail(v.bytes).error.kind, 'bad-digest');
  // two digests on emit (two secrets), each verifies alone
  const two = emitV3Control(v.value, { encapsulation: 'udp', auth: { sharedKeys: [LAB_DIGEST_KEY, EMPTY_DIGEST_KEY], localNonce: NONCE_A, remoteNonce: NONCE_B } });
  for (const k of [LAB_DIGEST_KEY, EMPTY_DIGEST_KEY]) assert.ok(parseV3Control(two, { encapsulation: 'udp', auth: { ...good, sharedKeys: [k] } }).ok);
  assert.throws(() => emitV3Control({ ...v.value, type: undefined }, { encapsulation: 'udp', auth: good }), RangeError);
});

test('digest must sit right after Message Type (§5.4.1)', () => {
  const late = udpMsg('00001234', '8008 0000 0000 0006', '8008 0000 0047 0001', `8017 0000 003b 00 ${'00'.repeat(16)}`);
  assert.equal(parseFail(late).error.kind, 'bad-digest-position');
  const badLen = udpMsg('00001234', '8008 0000 0000 0006', `8015 0000 003b 00 ${'00'.repeat(14)}`);
  assert.equal(parseFail(badLen).error.kind, 'bad-avp-value');
});

// ---------------------------------------------------------------- hidden AVPs (§5.3)

test('hidden Local Session ID with the derived key (independent vector)', () => {
  const r = parseV3Control(HIDDEN_VECTOR.bytes, { encapsulation: 'udp', secret: LAB_SECRET });
  assert.ok(r.ok, r.ok ? '' : v3WireErrorText(r.error.error));
  assert.deepStrictEqual(r.value, HIDDEN_VECTOR.value);
  const f = parseFail(HIDDEN_VECTOR.bytes);
  assert.deepStrictEqual(f.error, { kind: 'hidden-without-secret', attribute: 63 });
  assert.equal(f.scope, 'session');
  assert.deepStrictEqual(f.ids, { remoteSessionId: v3SessionId(3000) });
  const w = parseFail(HIDDEN_VECTOR.bytes, 'udp', { secret: hex('00') });
  assert.equal(w.error.kind, 'bad-hidden');
});

test('hide + reveal round trip for every hidable AVP (random padding)', () => {
  const v = V3_CONTROL_VECTORS.find((x) => x.name === 'ICRQ');
  assert.ok(v !== undefined);
  const hide = new Set(V3_AVP_REGISTRY.filter((r) => r.hidable).map((r) => r.name));
  const out = emitV3Control(v.value, { encapsulation: 'udp', secret: LAB_SECRET, hide });
  const r = parseV3Control(out, { encapsulation: 'udp', secret: LAB_SECRET });
  assert.ok(r.ok, r.ok ? '' : v3WireErrorText(r.error.error));
  assert.deepStrictEqual(r.value, v.value);
  assert.ok(out.length > v.bytes.length + 22, 'Random Vector and padding were added');
});

// ---------------------------------------------------------------- errors keep what was read

test('unknown M=1 AVP in a session message: scope session, ids read after it too (§5.2)', () => {
  const b = udpMsg('00001234', '8008 0000 0000 000c', '8008 0000 0063 0000', '800a 0000 003f 00000fa0', '800a 0000 0040 00000bb8');
  const f = parseFail(b);
  assert.deepStrictEqual(f.error, { kind: 'unknown-mandatory-avp', vendorId: 0, attribute: 99 });
  assert.equal(f.scope, 'session');
  assert.equal(f.messageType, V3MessageType.ICCN);
  assert.deepStrictEqual(f.ids, { localSessionId: v3SessionId(4000), remoteSessionId: v3SessionId(3000) });
  assert.equal(f.header?.ns, 1);
  assert.equal(f.authenticated, true);
});

test('unknown M=1 vendor AVP in SCCRQ: scope connection with the Assigned Control Connection ID', () => {
  const b = udpMsg('00000000', '8008 0000 0000 0001', '800a 0009 0001 deadbeef', '800a 0000 003d 00000042');
  const f = parseFail(b);
  assert.deepStrictEqual(f.error, { kind: 'unknown-mandatory-avp', vendorId: 9, attribute: 1 });
  assert.equal(f.scope, 'connection');
  assert.deepStrictEqual(f.ids, { assignedConnectionId: controlConnectionId(0x42) });
});

test('M=0 unknown and malformed AVPs are ignored and kept; reserved flag bits are ignored (§5.1, §7.1)', () => {
  const b = udpMsg(
    '00001234',
    '8008 0000 0000 0006', // HELLO
    '000a 0009 0001 deadbeef', // vendor 9, M=0
    '000e 0000 003a 00000137 0001 cafe', // Extended Vendor ID AVP (58), M=0
    '000a 0000 004b 0000ffff', // Rx Connect Speed in 4 bytes, M=0 (the §7.1 example)
    '0408 0000 0048 656e', // Preferred Language with a reserved flag bit
  );
  const r = parseV3Control(b, { encapsulation: 'udp' });
  assert.ok(r.ok, r.ok ? '' : v3WireErrorText(r.error.error));
  assert.equal(r.value.avps.preferredLanguage, 'en');
  assert.equal(r.value.avps.unknown?.length, 2);
  assert.equal(r.value.avps.malformed?.[0]?.attribute, 75);
  assert.equal(r.value.avps.rxConnectSpeed, undefined);
  const again = parseV3Control(emitV3Control(r.value, { encapsulation: 'udp' }), { encapsulation: 'udp' });
  assert.ok(again.ok);
  assert.deepStrictEqual(again.value, r.value);
  // the same malformed AVP with M=1 is an error
  const m1 = udpMsg('00001234', '8008 0000 0000 0006', '800a 0000 004b 0000ffff');
  assert.equal(parseFail(m1).error.kind, 'bad-avp-value');
});

test('header, Message Type and spec errors (§3.2.1, §5.4.1, §6)', () => {
  assert.deepStrictEqual(parseFail(hex('c802 000c 00000000 0000 0000')).error, { kind: 'bad-version', version: 2 });
  assert.equal(parseFail(hex('8803 000c 00000000 0000 0000')).error.kind, 'bad-flags'); // no L
  assert.equal(parseFail(hex('c003 000c 00000000 0000 0000')).error.kind, 'bad-flags'); // no S
  assert.equal(parseFail(hex('4003 000c 00000000 0000 0000')).error.kind, 'bad-flags'); // data
  assert.deepStrictEqual(parseFail(hex('00000fa0 c803 000c 0000 0000 0000 0000'), 'ip').error, { kind: 'not-control', sessionId: 4000 });
  assert.equal(parseFail(hex('c803 0008 00000000 0000 0000')).error.kind, 'bad-length');
  assert.equal(parseFail(udpMsg('00000000', '8008 0000 0007 0001')).error.kind, 'first-avp-not-message-type');
  assert.deepStrictEqual(parseFail(udpMsg('00000000', '8008 0000 0000 0063')).error, { kind: 'unknown-message-type', messageType: 99, mandatory: true });
  assert.deepStrictEqual(parseFail(udpMsg('00000000', '8008 0009 0000 0001')).error, { kind: 'unknown-message-type', messageType: 1, mandatory: true });
  const missing = parseFail(udpMsg('00001234', '8008 0000 0000 000e', '8008 0000 0001 0001', '800a 0000 003f 00000fa0'));
  assert.deepStrictEqual(missing.error, { kind: 'missing-avp', messageType: V3MessageType.CDN, attribute: 64, name: 'remoteSessionId' });
  assert.equal(missing.scope, 'session');
  assert.deepStrictEqual(missing.ids, { localSessionId: v3SessionId(4000) });
  const dup = parseFail(udpMsg('00001234', '8008 0000 0000 0010', '800a 0000 003f 00000fa0', '800a 0000 003f 00000fa1', '800a 0000 0040 00000001'));
  assert.deepStrictEqual(dup.error, { kind: 'duplicate-avp', attribute: 63 });
  const zero = parseFail(udpMsg('00001234', '8008 0000 0000 0010', '800a 0000 003f 00000000', '800a 0000 0040 00000001'));
  assert.equal(zero.error.kind, 'bad-avp-value');
  assert.equal(parseFail(udpMsg('00001234', '8008 0000 0000 0006', '8004 0000 0007')).error.kind, 'bad-length');
  assert.equal(parseFail(udpMsg('00001234', '8008 0000 0000 0006', '8020 0000 0007 41')).error.kind, 'bad-length');
});

test('inputs are never written: Buffer, Buffer view at an offset, Uint8Array', () => {
  const all: readonly { readonly bytes: Uint8Array; readonly encapsulation: V3Encapsulation }[] = [...V3_CONTROL_VECTORS, { ...HIDDEN_VECTOR, encapsulation: 'udp' }];
  for (const v of all) {
    const slab = Buffer.alloc(v.bytes.length + 7, 0xa5);
    slab.set(v.bytes, 7);
    const view = slab.subarray(7);
    const enc = v.encapsulation;
    for (const input of [Buffer.from(v.bytes), view, v.bytes.slice()]) {
      const before = Buffer.from(input).toString('hex');
      const r = parseV3Control(input, { encapsulation: enc, secret: LAB_SECRET });
      assert.ok(r.ok);
      assert.equal(Buffer.from(input).toString('hex'), before);
    }
    assert.equal(slab.subarray(0, 7).toString('hex'), 'a5'.repeat(7));
  }
});

// ---------------------------------------------------------------- properties

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const nz32 = fc.integer({ min: 1, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const text = (min: number): fc.Arbitrary<string> => fc.string({ minLength: min, maxLength: 24 });
const bytesOf = (min: number, max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: min, maxLength: max });

/** A value arbitrary for every registry AVP. */
const AVP_ARBS: { readonly [K in V3AvpName]-?: fc.Arbitrary<NonNullable<V3ControlAvps[K]>> } = {
  resultCode: fc.oneof(
    fc.record({ result: u16 }, { noNullPrototype: true }),
    fc.record({ result: u16, error: u16 }, { noNullPrototype: true }),
    fc.record({ result: u16, error: u16, message: text(1) }, { noNullPrototype: true }),
  ),
  tieBreaker: bytesOf(8, 8),
  firmwareRevision: u16,
  hostName: text(1).filter((s) => Buffer.byteLength(s) >= 1),
  vendorName: text(0),
  receiveWindowSize: u16,
  challenge: bytesOf(1, 32),
  q931Cause: fc.oneof(fc.record({ cause: u16, msg: fc.integer({ min: 0, max: 255 }) }, { noNullPrototype: true }), fc.record({ cause: u16, msg: fc.integer({ min: 0, max: 255 }), advisory: text(1) }, { noNullPrototype: true })),
  challengeResponse: bytesOf(16, 16),
  serialNumber: u32,
  calledNumber: text(0),
  callingNumber: text(0),
  subAddress: text(0),
  physicalChannelId: u32,
  circuitErrors: fc.record({ hardwareOverruns: u32, bufferOverruns: u32, timeoutErrors: u32, alignmentErrors: u32 }, { noNullPrototype: true }),
  routerId: u32,
  assignedConnectionId: nz32.map(controlConnectionId),
  pwCapabilities: fc.array(u16, { minLength: 1, maxLength: 6 }),
  localSessionId: nz32.map(v3SessionId),
  remoteSessionId: u32.map(v3SessionId),
  assignedCookie: fc.constantFrom(0, 4, 8).chain((n) => bytesOf(n, n)),
  remoteEndId: bytesOf(0, 16),
  pwType: u16,
  l2SpecificSublayer: u16,
  dataSequencing: u16,
  circuitStatus: fc.record({ active: fc.boolean(), new: fc.boolean() }, { noNullPrototype: true }),
  preferredLanguage: text(0),
  nonce: bytesOf(1, 32),
  txConnectSpeed: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  rxConnectSpeed: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
};

const arbAvps: fc.Arbitrary<V3ControlAvps> = fc.record(AVP_ARBS, { requiredKeys: [], noNullPrototype: true });
const arbType = fc.constantFrom(...Object.values(V3MessageType));

/** Add the message's required AVPs (from the spec) so every generated message parses. */
const arbMessage: fc.Arbitrary<V3ControlMessage> = fc
  .tuple(arbType, arbAvps, u32, u16, u16, fc.record(AVP_ARBS, { noNullPrototype: true }))
  .map(([type, avps, ccid, ns, nr, full]) => {
    const withRequired: Record<string, unknown> = { ...avps };
    for (const name of V3_MESSAGE_SPECS[type].required) withRequired[name] ??= full[name];
    return { connectionId: controlConnectionId(ccid), ns, nr, type, avps: withRequired };
  });

test('property: emit then parse is the identity (UDP and IP, clear and hidden, with digest)', () => {
  const hidable = new Set(V3_AVP_REGISTRY.filter((r) => r.hidable).map((r) => r.name));
  fc.assert(
    fc.property(arbMessage, fc.constantFrom<V3Encapsulation>('udp', 'ip'), fc.boolean(), fc.boolean(), (m, encapsulation, hide, digest) => {
      const auth: V3Authentication = { sharedKeys: [LAB_DIGEST_KEY], localNonce: NONCE_A, remoteNonce: NONCE_B, digestType: DigestType.hmacSha1 };
      const out = emitV3Control(m, { encapsulation, ...(hide ? { secret: LAB_SECRET, hide: hidable } : {}), ...(digest ? { auth } : {}) });
      const peer: V3Authentication = { sharedKeys: [LAB_DIGEST_KEY], localNonce: NONCE_B, remoteNonce: NONCE_A };
      const r = parseV3Control(out, { encapsulation, secret: LAB_SECRET, ...(digest ? { auth: peer } : {}) });
      assert.ok(r.ok, r.ok ? '' : v3WireErrorText(r.error.error));
      assert.deepStrictEqual(r.value, digest ? { ...m, digestType: DigestType.hmacSha1 } : m);
    }),
    { numRuns: 400 },
  );
});

test('vectors: SLI (§6.14) with Circuit Status A=0 N=0 and WEN (§6.13) with Circuit Errors, field by field, round trip', () => {
  const sli = hex(
    'c803 0030 01020304 0005 0006' + // T L S Ver 3, Length 48, Control Connection ID, Ns 5, Nr 6
      '8008 0000 0000 0010' + // M, Length 8, Vendor 0, Message Type (0) = 16 SLI
      '800a 0000 003f 0a0b0c0d' + // M, Local Session ID (63)
      '800a 0000 0040 11223344' + // M, Remote Session ID (64)
      '8008 0000 0047 0000', // M, Circuit Status (71): reserved, N=0, A=0 (down, not new)
  );
  const wen = hex(
    'c803 0040 01020304 0007 0006' + // Length 64, Ns 7
      '8008 0000 0000 000f' + // Message Type 15 WEN
      '0018 0000 0022 0000' + // M=0, Length 24, Circuit Errors (34): reserved
      '00000001 00000002 00000003 00000004' + // hardware overruns, buffer overruns, timeout errors, alignment errors
      '800a 0000 003f 0a0b0c0d 800a 0000 0040 11223344', // Local / Remote Session ID
  );
  const ids = { localSessionId: v3SessionId(0x0a0b0c0d), remoteSessionId: v3SessionId(0x11223344) };
  const want: [Uint8Array, V3ControlMessage][] = [
    [sli, { connectionId: controlConnectionId(0x01020304), ns: 5, nr: 6, type: V3MessageType.SLI, avps: { ...ids, circuitStatus: { active: false, new: false } } }],
    [wen, { connectionId: controlConnectionId(0x01020304), ns: 7, nr: 6, type: V3MessageType.WEN, avps: { ...ids, circuitErrors: { hardwareOverruns: 1, bufferOverruns: 2, timeoutErrors: 3, alignmentErrors: 4 } } }],
  ];
  for (const [bytes, msg] of want) {
    const p = parseV3Control(bytes, { encapsulation: 'udp' });
    assert.ok(p.ok);
    assert.deepEqual(p.value, msg);
    assert.equal(toHex(emitV3Control(msg, { encapsulation: 'udp' })), toHex(bytes));
  }
  // Circuit Status bits (§5.4.5): A is the last bit, N the one before it.
  const ocrq = emitV3Control(
    { connectionId: controlConnectionId(1), ns: 1, nr: 1, type: V3MessageType.OCRQ, avps: { ...ids, remoteSessionId: v3SessionId(0), serialNumber: 1, pwType: 5, remoteEndId: new TextEncoder().encode('lan1'), circuitStatus: { active: true, new: true } } },
    { encapsulation: 'udp' },
  );
  assert.ok(toHex(ocrq).endsWith('8008000000440005' + '8008000000470003'), toHex(ocrq)); // PW Type 5, then Circuit Status N=1 A=1
  for (const type of [V3MessageType.OCRQ, V3MessageType.OCRP, V3MessageType.OCCN]) {
    const m: V3ControlMessage = { connectionId: controlConnectionId(9), ns: 2, nr: 3, type, avps: { ...ids, serialNumber: 7, pwType: 5, remoteEndId: new TextEncoder().encode('x'), circuitStatus: { active: true, new: false }, assignedCookie: Uint8Array.of(1, 2, 3, 4), l2SpecificSublayer: 1, dataSequencing: 2 } };
    const spec = V3_MESSAGE_SPECS[type];
    const allowed = new Set<string>([...spec.required, ...spec.optional]);
    const avps = Object.fromEntries(Object.entries(m.avps).filter(([k]) => allowed.has(k))) as V3ControlAvps;
    const msg = { ...m, avps };
    const p = parseV3Control(emitV3Control(msg, { encapsulation: 'ip' }), { encapsulation: 'ip' });
    assert.ok(p.ok, v3MessageTypeName(type));
    assert.deepEqual(p.value, msg, `${v3MessageTypeName(type)} round trip over IP`);
  }
});
