import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DISCOVERY_VECTORS, SESSION_VECTORS, hex } from '../../../test/vectors/pppoe.js';
import {
  BROADCAST_MAC,
  DISCOVERY_SPECS,
  EtherType,
  PppoeCode,
  TagType,
  emitDiscoveryFrame,
  emitTagList,
  encodeDiscoveryFrame,
  encodeSessionFrame,
  formatMac,
  isGroupMac,
  parseDiscoveryFrame,
  parseEthernet,
  parseMac,
  parsePppoeFrame,
  parseSessionFrame,
  parseTagList,
  pppoeWireErrorText,
  sessionHeaderLength,
  vlanTag,
  writeSessionHeader,
  type DiscoveryFrame,
  type DiscoveryTags,
  type MacAddress,
  type PppoeWireError,
} from './index.js';

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const HOST = parseMac('02:00:00:00:00:01') as MacAddress;
const AC = parseMac('02:00:00:00:00:02') as MacAddress;

/** The same bytes as a Uint8Array, a Buffer, and a Buffer view at an odd offset of a larger buffer. */
function shapes(b: Uint8Array): Uint8Array[] {
  const big = Buffer.alloc(b.length + 13, 0x5a);
  big.set(b, 7);
  return [Uint8Array.from(b), Buffer.from(b), big.subarray(7, 7 + b.length)];
}

function fails(b: Uint8Array): PppoeWireError {
  const r = parsePppoeFrame(b);
  assert.equal(r.ok, false, `expected failure for ${toHex(b)}`);
  if (r.ok) throw new Error('unreachable');
  return r.error;
}

function frame(code: number, sessionId: number, tags: DiscoveryTags, destination: MacAddress = AC): Uint8Array {
  return encodeDiscoveryFrame({
    ethernet: { destination, source: HOST, vlans: [], ethertype: EtherType.pppoeDiscovery },
    packet: { code: code as DiscoveryFrame['packet']['code'], sessionId, tags },
  });
}

// ---------------------------------------------------------------- vectors

for (const v of DISCOVERY_VECTORS) {
  test(`vector ${v.name} (${v.source}): parse from Uint8Array, Buffer and a Buffer view`, () => {
    for (const b of shapes(v.bytes)) {
      const before = toHex(b);
      const r = parseDiscoveryFrame(b);
      assert.ok(r.ok, r.ok ? '' : pppoeWireErrorText(r.error));
      assert.deepStrictEqual(r.value, v.value);
      assert.equal(toHex(b), before, 'input unchanged');
    }
  });
  test(`vector ${v.name}: emit`, () => {
    const out = encodeDiscoveryFrame(v.value);
    if (v.canonical) assert.equal(toHex(out), toHex(v.bytes));
    const again = parseDiscoveryFrame(out);
    assert.ok(again.ok);
    assert.deepStrictEqual(again.value, v.value);
    // emit writes exactly its length, at an offset, into a buffer pre-filled with 0xa5.
    const buf = new Uint8Array(out.length + 9).fill(0xa5);
    assert.equal(emitDiscoveryFrame(v.value, buf, 4), out.length);
    assert.equal(toHex(buf.subarray(4, 4 + out.length)), toHex(out));
    assert.ok(buf.subarray(0, 4).every((x) => x === 0xa5) && buf.subarray(4 + out.length).every((x) => x === 0xa5));
  });
  test(`vector ${v.name}: the raw tag list re-emits byte for byte`, () => {
    const e = parseEthernet(v.bytes);
    assert.ok(e.ok);
    const payload = v.bytes.subarray(e.value.payloadOffset + 6);
    const raw = parseTagList(payload);
    assert.ok(raw.ok);
    const out = new Uint8Array(payload.length);
    assert.equal(emitTagList(raw.value, out, 0), payload.length);
    assert.equal(toHex(out), toHex(payload));
  });
  test(`vector ${v.name}: every truncated prefix fails cleanly`, () => {
    for (let n = 0; n < v.bytes.length; n++) assert.equal(parsePppoeFrame(v.bytes.subarray(0, n)).ok, false, `prefix ${n}`);
  });
}

test('every discovery code has a captured vector', () => {
  for (const code of Object.keys(DISCOVERY_SPECS).map(Number)) {
    assert.ok(DISCOVERY_VECTORS.some((v) => v.source === 'capture' && v.value.packet.code === code), `code 0x${code.toString(16)}`);
  }
});

for (const v of SESSION_VECTORS) {
  test(`session vector ${v.name} (${v.source})`, () => {
    for (const b of shapes(v.bytes)) {
      const r = parseSessionFrame(b);
      assert.ok(r.ok, r.ok ? '' : pppoeWireErrorText(r.error));
      assert.deepStrictEqual({ ...r.value, payload: Uint8Array.from(r.value.payload) }, v.value);
      // The payload is a view into the frame (no copy on the data path).
      assert.equal(r.value.payload.buffer, b.buffer);
    }
    const out = encodeSessionFrame(v.value);
    assert.equal(toHex(out), toHex(v.bytes.subarray(0, out.length)), 'the re-emitted frame is the vector without padding');
    const need = sessionHeaderLength(0) + v.value.payload.length;
    for (let n = 0; n < v.bytes.length; n++) assert.equal(parseSessionFrame(v.bytes.subarray(0, n)).ok, n >= need, `prefix ${n}`);
  });
}

test('RFC 2516 §4 vector is a 60-octet padded frame whose padding is not payload', () => {
  const v = SESSION_VECTORS.find((x) => x.source === 'rfc');
  assert.equal(v?.bytes.length, 60);
});

// ---------------------------------------------------------------- Ethernet and VLANs

test('one 802.1Q tag: PCP/DEI/VID decoded and re-emitted', () => {
  const f: DiscoveryFrame = {
    ethernet: { destination: BROADCAST_MAC, source: HOST, vlans: [{ tpid: 0x8100, pcp: 5, dei: true, vid: 4094 }], ethertype: EtherType.pppoeDiscovery },
    packet: { code: PppoeCode.PADI, sessionId: 0, tags: { serviceNames: ['a'] } },
  };
  const b = encodeDiscoveryFrame(f);
  assert.equal(toHex(b.subarray(12, 18)), '8100bffe8863');
  const r = parseDiscoveryFrame(b);
  assert.ok(r.ok);
  assert.deepStrictEqual(r.value, f);
});

test('QinQ (0x88a8 outer + 0x8100 inner) parses; a third tag is refused', () => {
  const inner = hex('ffffffffffff 020000000001', '88a8 000a', '8100 0064', '8863 1109 0000 0004 0101 0000');
  const r = parseDiscoveryFrame(inner);
  assert.ok(r.ok);
  assert.deepStrictEqual(r.value.ethernet.vlans.map((v) => [v.tpid, v.vid]), [[0x88a8, 10], [0x8100, 100]]);
  assert.equal(toHex(encodeDiscoveryFrame(r.value)), toHex(inner));
  const three = hex('ffffffffffff 020000000001', '88a8 000a', '8100 0064', '8100 0065', '8863 1109 0000 0004 0101 0000');
  assert.deepStrictEqual(fails(three), { kind: 'too-many-vlans', count: 3 });
  assert.equal(fails(hex('ffffffffffff 020000000001 8100 00')).kind, 'truncated');
});

test('MAC helpers: text round trip, group bit, number range', () => {
  assert.equal(formatMac(HOST), '02:00:00:00:00:01');
  assert.equal(parseMac('FF-FF-FF-FF-FF-FF'), BROADCAST_MAC);
  for (const bad of ['', '02:00:00:00:00', '02:00:00:00:00:0g', '002:00:00:00:00:01']) assert.equal(parseMac(bad), undefined, bad);
  assert.equal(isGroupMac(BROADCAST_MAC), true);
  assert.equal(isGroupMac(parseMac('01:00:5e:00:00:01') as MacAddress), true);
  assert.equal(isGroupMac(HOST), false);
});

// ---------------------------------------------------------------- §5 rules

const cases: { name: string; bytes: Uint8Array; want: PppoeWireError }[] = [
  { name: 'PADI without Service-Name', bytes: frame(PppoeCode.PADI, 0, { hostUniq: hex('01') }, BROADCAST_MAC), want: { kind: 'missing-tag', code: 0x09, tag: TagType.serviceName } },
  { name: 'PADI with two Service-Names', bytes: frame(PppoeCode.PADI, 0, { serviceNames: ['a', 'b'] }, BROADCAST_MAC), want: { kind: 'duplicate-tag', tag: TagType.serviceName } },
  { name: 'PADI with a session id', bytes: frame(PppoeCode.PADI, 5, { serviceNames: [''] }, BROADCAST_MAC), want: { kind: 'bad-session-id', code: 0x09, sessionId: 5 } },
  { name: 'PADI to a unicast address', bytes: frame(PppoeCode.PADI, 0, { serviceNames: [''] }, AC), want: { kind: 'bad-destination', code: 0x09, detail: 'PADI not sent to the broadcast address' } },
  { name: 'PADR to the broadcast address', bytes: frame(PppoeCode.PADR, 0, { serviceNames: [''] }, BROADCAST_MAC), want: { kind: 'bad-destination', code: 0x19, detail: 'PADR sent to a group address' } },
  { name: 'PADO without AC-Name', bytes: frame(PppoeCode.PADO, 0, { serviceNames: [''] }), want: { kind: 'missing-tag', code: 0x07, tag: TagType.acName } },
  { name: 'PADO without Service-Name', bytes: frame(PppoeCode.PADO, 0, { acName: 'x' }), want: { kind: 'missing-tag', code: 0x07, tag: TagType.serviceName } },
  { name: 'PADS with session id 0', bytes: frame(PppoeCode.PADS, 0, { serviceNames: [''] }), want: { kind: 'bad-session-id', code: 0x65, sessionId: 0 } },
  { name: 'PADS with session id 0xffff', bytes: frame(PppoeCode.PADS, 0xffff, { serviceNames: [''] }), want: { kind: 'bad-session-id', code: 0x65, sessionId: 0xffff } },
  { name: 'refusing PADS with a session id', bytes: frame(PppoeCode.PADS, 3, { serviceNameError: 'no' }), want: { kind: 'bad-session-id', code: 0x65, sessionId: 3 } },
  { name: 'PADT with session id 0', bytes: frame(PppoeCode.PADT, 0, {}), want: { kind: 'bad-session-id', code: 0xa7, sessionId: 0 } },
  { name: 'PADI over 1484 octets', bytes: frame(PppoeCode.PADI, 0, { serviceNames: [''], hostUniq: new Uint8Array(1471) }, BROADCAST_MAC), want: { kind: 'too-long', code: 0x09, length: 1485, max: 1484 } },
];
for (const c of cases) {
  test(`§5 rule: ${c.name}`, () => assert.deepStrictEqual(fails(c.bytes), c.want));
}

test('§5.4 a refusing PADS (Service-Name-Error, SESSION_ID 0) is well formed', () => {
  const r = parseDiscoveryFrame(frame(PppoeCode.PADS, 0, { serviceNameError: 'unknown service' }));
  assert.ok(r.ok);
  assert.equal(r.value.packet.tags.serviceNameError, 'unknown service');
  assert.ok(parseDiscoveryFrame(frame(PppoeCode.PADI, 0, { serviceNames: [''], hostUniq: new Uint8Array(1470) }, BROADCAST_MAC)).ok, '1484 octets');
});

// ---------------------------------------------------------------- malformed headers and tags

const PADI = hex('ffffffffffff 020000000001 8863');
const bad: { name: string; body: string; want: PppoeWireError }[] = [
  { name: 'version 2', body: '21 09 0000 0004 0101 0000', want: { kind: 'bad-version', version: 2, type: 1 } },
  { name: 'type 0', body: '10 09 0000 0004 0101 0000', want: { kind: 'bad-version', version: 1, type: 0 } },
  { name: 'unknown discovery code', body: '11 0a 0000 0004 0101 0000', want: { kind: 'bad-code', code: 0x0a, ethertype: 0x8863 } },
  { name: 'session code on the discovery type', body: '11 00 0000 0004 0101 0000', want: { kind: 'bad-code', code: 0, ethertype: 0x8863 } },
  { name: 'LENGTH past the frame', body: '11 09 0000 0008 0101 0000', want: { kind: 'truncated', what: 'PPPoE payload', need: 14, have: 10 } },
  { name: 'tag header cut', body: '11 09 0000 0006 0101 0000 01', want: { kind: 'truncated', what: 'PPPoE payload', need: 12, have: 11 } },
  { name: 'two stray bytes after the tags', body: '11 09 0000 0006 0101 0000 0103', want: { kind: 'truncated', what: 'tag header', need: 8, have: 6 } },
  { name: 'tag value past LENGTH', body: '11 09 0000 0006 0101 0004 6162', want: { kind: 'truncated', what: 'Service-Name tag', need: 8, have: 6 } },
  { name: 'End-Of-List with a length', body: '11 09 0000 000a 0101 0000 0000 0002 0000', want: { kind: 'bad-tag', tag: 0, detail: 'End-Of-List with length 2' } },
  { name: 'PPP-Max-Payload of 3 bytes', body: '11 09 0000 000b 0101 0000 0120 0003 05dc00', want: { kind: 'bad-tag', tag: 0x0120, detail: 'length 3, want 2' } },
  { name: 'Service-Name not UTF-8', body: '11 09 0000 0006 0101 0002 c328', want: { kind: 'bad-tag', tag: 0x0101, detail: 'not UTF-8' } },
  { name: 'two Host-Uniq', body: '11 09 0000 0010 0101 0000 0103 0002 0102 0103 0002 0304', want: { kind: 'duplicate-tag', tag: 0x0103 } },
  { name: 'Vendor-Specific of 3 bytes', body: '11 09 0000 000b 0101 0000 0105 0003 000de9', want: { kind: 'bad-tag', tag: 0x0105, detail: 'length 3 < 4 (vendor id)' } },
  { name: 'Broadband Forum sub-option past the tag', body: '11 09 0000 000e 0101 0000 0105 0006 00000de9 0105', want: { kind: 'bad-tag', tag: 0x0105, detail: 'Broadband Forum: sub-option 0x1 length 5 runs past the tag' } },
  { name: 'Broadband Forum circuit id twice', body: '11 09 0000 0012 0101 0000 0105 000a 00000de9 010161 010162', want: { kind: 'bad-tag', tag: 0x0105, detail: 'Broadband Forum: sub-option Agent-Circuit-Id twice' } },
  { name: 'two Broadband Forum tags', body: '11 09 0000 0014 0101 0000 0105 0004 00000de9 0105 0004 00000de9', want: { kind: 'duplicate-tag', tag: 0x0105 } },
  { name: 'Agent-Circuit-Id of 64 bytes', body: `11 09 0000 004e 0101 0000 0105 0046 00000de9 0140 ${'61'.repeat(64)}`, want: { kind: 'bad-tag', tag: 0x0105, detail: 'Broadband Forum: Agent-Circuit-Id: length 64 > 63' } },
];
for (const c of bad) {
  test(`malformed: ${c.name}`, () => {
    const e = fails(hex(toHex(PADI), c.body));
    assert.deepStrictEqual(e, c.want);
    assert.ok(pppoeWireErrorText(e).length > 0);
  });
}

test('an unknown EtherType and a session frame with a non-zero CODE are refused', () => {
  assert.deepStrictEqual(fails(hex('020000000002 020000000001 0800 4500')), { kind: 'bad-ethertype', ethertype: 0x0800 });
  assert.deepStrictEqual(fails(hex('020000000002 020000000001 8864 11 09 0001 0000')), { kind: 'bad-code', code: 9, ethertype: 0x8864 });
  assert.equal(parseSessionFrame(DISCOVERY_VECTORS[0]?.bytes ?? new Uint8Array()).ok, false);
  assert.equal(parseDiscoveryFrame(SESSION_VECTORS[0]?.bytes ?? new Uint8Array()).ok, false);
});

test('End-Of-List ends the tag list: what follows is ignored (Appendix A)', () => {
  const r = parseDiscoveryFrame(hex(toHex(PADI), '11 09 0000 000c 0101 0000 0000 0000 ffff 0001'));
  assert.ok(r.ok);
  assert.deepStrictEqual(r.value.packet.tags, { serviceNames: [''] });
});

test('unknown tags and other vendors are kept and re-emitted; Credits (RFC 4938) is unknown here', () => {
  const r = parseDiscoveryFrame(hex(toHex(PADI), '11 09 0000 0016 0101 0000 0106 0004 00010002 0105 0006 00000009 abcd'));
  assert.ok(r.ok);
  const t = r.value.packet.tags;
  assert.deepStrictEqual(t.unknown, [{ type: 0x0106, value: hex('00010002') }]);
  assert.deepStrictEqual(t.vendorSpecific, [{ vendorId: 9, data: hex('abcd') }]);
  assert.deepStrictEqual(parseDiscoveryFrame(encodeDiscoveryFrame(r.value)).ok && parseDiscoveryFrame(encodeDiscoveryFrame(r.value)), r);
});

test('Broadband Forum: every known sub-option and an unknown one round-trip', () => {
  const accessLine = {
    circuitId: 'olt1 xpon 0/1/2:3.4',
    remoteId: 'r',
    actualDataRateUpstream: 1,
    actualDataRateDownstream: 2,
    minimumDataRateUpstream: 3,
    minimumDataRateDownstream: 4,
    attainableDataRateUpstream: 5,
    attainableDataRateDownstream: 6,
    maximumDataRateUpstream: 7,
    maximumDataRateDownstream: 8,
    minimumDataRateUpstreamLowPower: 9,
    minimumDataRateDownstreamLowPower: 10,
    maximumInterleavingDelayUpstream: 11,
    actualInterleavingDelayUpstream: 12,
    maximumInterleavingDelayDownstream: 13,
    actualInterleavingDelayDownstream: 0xffffffff,
    accessLoopEncapsulation: { dataLink: 0, encaps1: 2, encaps2: 5 },
    iwfSession: true,
    unknown: [{ type: 0x91, value: hex('00000005') }],
  } as const;
  const b = frame(PppoeCode.PADR, 0, { serviceNames: ['x'], accessLine });
  const r = parseDiscoveryFrame(b);
  assert.ok(r.ok);
  assert.deepStrictEqual(r.value.packet.tags.accessLine, accessLine);
});

// ---------------------------------------------------------------- session header with headroom

test('writeSessionHeader writes exactly its length in front of a payload (headroom use)', () => {
  const payload = hex('0021 4500001c');
  const ethernet = { destination: HOST, source: AC, vlans: [vlanTag(7)], ethertype: 0 };
  const h = sessionHeaderLength(1);
  assert.equal(h, 24);
  const buf = new Uint8Array(3 + h + payload.length).fill(0xa5);
  buf.set(payload, 3 + h);
  assert.equal(writeSessionHeader(buf, 3, ethernet, 0x2a, payload.length), h);
  assert.equal(buf[2], 0xa5);
  const r = parseSessionFrame(buf.subarray(3));
  assert.ok(r.ok);
  assert.equal(r.value.sessionId, 0x2a);
  assert.equal(r.value.ethernet.vlans[0]?.vid, 7);
  assert.equal(toHex(r.value.payload), toHex(payload));
});

test('emit refuses values that cannot be encoded', () => {
  assert.throws(() => frame(PppoeCode.PADI, 0, { serviceNames: [''], hostUniq: new Uint8Array(70000) }, BROADCAST_MAC), RangeError);
  assert.throws(() => frame(PppoeCode.PADI, 0, { serviceNames: [''], accessLine: { circuitId: 'x'.repeat(300) } }, BROADCAST_MAC), RangeError);
});
