import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { seededRandom, type RandomSource } from '../../base/random.js';
import { DISCOVERY_VECTORS, SESSION_VECTORS } from '../../../test/vectors/pppoe.js';
import {
  BBF_SUBOPTION_BY_TYPE,
  BBF_VENDOR_ID,
  BROADCAST_MAC,
  EtherType,
  PppoeCode,
  TAG_BY_TYPE,
  emitTagList,
  encodeDiscoveryFrame,
  encodeSessionFrame,
  parsePppoeFrame,
  parseTagList,
  tagListLength,
  type AccessLine,
  type DiscoveryCode,
  type DiscoveryFrame,
  type DiscoveryTags,
  type MacAddress,
  type RawTag,
  type VlanTag,
} from './index.js';

// ---------------------------------------------------------------- arbitraries

const unicastMac = fc.integer({ min: 0, max: 0xffff_ffff_ffff }).map((n) => (n - (Math.floor(n / 0x100_0000_0000) % 2) * 0x100_0000_0000) as MacAddress);
const vlan: fc.Arbitrary<VlanTag> = fc.record({
  tpid: fc.constantFrom(0x8100, 0x88a8, 0x9100),
  pcp: fc.integer({ min: 0, max: 7 }),
  dei: fc.boolean(),
  vid: fc.integer({ min: 0, max: 4095 }),
}, { noNullPrototype: true });
const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

const accessLine: fc.Arbitrary<AccessLine> = fc.record(
  {
    circuitId: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 63 }),
    remoteId: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 63 }),
    actualDataRateUpstream: u32,
    actualDataRateDownstream: u32,
    maximumInterleavingDelayDownstream: u32,
    accessLoopEncapsulation: fc.record({ dataLink: fc.integer({ min: 0, max: 255 }), encaps1: fc.integer({ min: 0, max: 255 }), encaps2: fc.integer({ min: 0, max: 255 }) }, { noNullPrototype: true }),
    iwfSession: fc.constant(true as const),
    unknown: fc.array(fc.record({ type: fc.integer({ min: 0, max: 255 }).filter((t) => !BBF_SUBOPTION_BY_TYPE.has(t)), value: bytes(8) }, { noNullPrototype: true }), { minLength: 1, maxLength: 2 }),
  },
  { requiredKeys: [], noNullPrototype: true },
);

const optionalTags = fc.record(
  {
    acName: text,
    hostUniq: bytes(16),
    acCookie: bytes(24),
    relaySessionId: bytes(12),
    pppMaxPayload: fc.integer({ min: 0, max: 0xffff }),
    accessLine,
    vendorSpecific: fc.array(fc.record({ vendorId: u32.filter((v) => v !== BBF_VENDOR_ID), data: bytes(8) }, { noNullPrototype: true }), { minLength: 1, maxLength: 2 }),
    genericError: text,
    unknown: fc.array(fc.record({ type: fc.integer({ min: 1, max: 0xffff }).filter((t) => !TAG_BY_TYPE.has(t)), value: bytes(8) }, { noNullPrototype: true }), { minLength: 1, maxLength: 2 }),
  },
  { requiredKeys: [], noNullPrototype: true },
);

/** A frame that satisfies its §5 rule (codes, session ids, required tags, destination). */
const validFrame: fc.Arbitrary<DiscoveryFrame> = fc
  .record({
    code: fc.constantFrom<DiscoveryCode>(PppoeCode.PADI, PppoeCode.PADO, PppoeCode.PADR, PppoeCode.PADS, PppoeCode.PADT),
    source: unicastMac,
    destination: unicastMac,
    vlans: fc.array(vlan, { maxLength: 2 }),
    sessionId: fc.integer({ min: 1, max: 0xfffe }),
    names: fc.array(text, { minLength: 1, maxLength: 3 }),
    acName: text,
    refuse: fc.boolean(),
    extra: optionalTags,
  }, { noNullPrototype: true })
  .map(({ code, source, destination, vlans, sessionId, names, acName, refuse, extra }): DiscoveryFrame => {
    let tags: DiscoveryTags = { ...extra };
    let sid = 0;
    if (code === PppoeCode.PADO) tags = { ...tags, acName, serviceNames: names };
    else if (code === PppoeCode.PADT) sid = sessionId;
    else tags = { ...tags, serviceNames: names.slice(0, 1) };
    if (code === PppoeCode.PADS) {
      if (refuse) tags = { ...tags, serviceNameError: acName };
      else sid = sessionId;
    }
    return {
      ethernet: { destination: code === PppoeCode.PADI ? BROADCAST_MAC : destination, source, vlans, ethertype: EtherType.pppoeDiscovery },
      packet: { code, sessionId: sid, tags },
    };
  });

// ---------------------------------------------------------------- properties

test('property: every frame that satisfies its §5 rule re-parses to the same value', () => {
  fc.assert(
    fc.property(validFrame, (f) => {
      const b = encodeDiscoveryFrame(f);
      const r = parsePppoeFrame(b);
      assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.error));
      assert.equal(r.value.stage, 'discovery');
      if (r.value.stage === 'discovery') assert.deepStrictEqual({ ethernet: r.value.ethernet, packet: r.value.packet }, f);
    }),
    { numRuns: 3000 },
  );
});

test('property: a raw tag list (End-Of-List excluded) re-parses byte for byte', () => {
  const raw = fc.array(fc.record({ type: fc.integer({ min: 1, max: 0xffff }), value: bytes(40) }, { noNullPrototype: true }), { maxLength: 8 });
  fc.assert(
    fc.property(raw, (tags: RawTag[]) => {
      const out = new Uint8Array(tagListLength(tags));
      assert.equal(emitTagList(tags, out, 0), out.length);
      const r = parseTagList(out);
      assert.ok(r.ok);
      assert.deepStrictEqual(r.value.map((t) => ({ type: t.type, value: Uint8Array.from(t.value) })), tags);
    }),
    { numRuns: 2000 },
  );
});

test('property: session frames carry any payload and session id', () => {
  fc.assert(
    fc.property(unicastMac, unicastMac, fc.array(vlan, { maxLength: 2 }), fc.integer({ min: 0, max: 0xffff }), bytes(200), (d, s, vlans, sessionId, payload) => {
      const ethernet = { destination: d, source: s, vlans, ethertype: EtherType.pppoeSession };
      const r = parsePppoeFrame(encodeSessionFrame({ ethernet, sessionId, payload }));
      assert.ok(r.ok && r.value.stage === 'session');
      if (r.value.stage === 'session') {
        assert.equal(r.value.sessionId, sessionId);
        assert.deepStrictEqual(Uint8Array.from(r.value.payload), payload);
        assert.deepStrictEqual(r.value.ethernet, ethernet);
      }
    }),
    { numRuns: 1000 },
  );
});

// ---------------------------------------------------------------- random input

/** Parse `b` as a Uint8Array, a Buffer and a Buffer view at an offset: never throws, never modifies. */
function check(b: Uint8Array): boolean {
  const big = Buffer.alloc(b.length + 5);
  big.set(b, 3);
  let parsed = false;
  for (const x of [b, Buffer.from(b), big.subarray(3, 3 + b.length)]) {
    const before = Buffer.from(x);
    const r = parsePppoeFrame(x);
    assert.ok(before.equals(x), 'input modified');
    if (r.ok && r.value.stage === 'discovery') {
      parsed = true;
      const again = parsePppoeFrame(encodeDiscoveryFrame(r.value));
      assert.ok(again.ok);
      assert.deepStrictEqual(again.value, r.value);
    }
  }
  return parsed;
}

function randomBytes(r: RandomSource, max: number): Uint8Array {
  return r.bytes(r.u32() % (max + 1));
}

const TAG_TYPES = [0x0101, 0x0102, 0x0103, 0x0104, 0x0105, 0x0110, 0x0120, 0x0201, 0x0202, 0x0203, 0x0000, 0x0106];

/** Service-Name then up to four tags of registry types with random values (sometimes a random byte run). */
function randomTags(r: RandomSource): number[] {
  if (r.u32() % 8 === 0) return [...randomBytes(r, 60)];
  const out = [0x01, 0x01, 0x00, 0x00];
  const n = r.u32() % 5;
  for (let i = 0; i < n; i++) {
    const t = TAG_TYPES[r.u32() % TAG_TYPES.length] ?? 0;
    const v = t === 0x0105 && r.u32() % 2 === 0 ? [0, 0, 0x0d, 0xe9, ...randomBytes(r, 10)] : [...randomBytes(r, 6)];
    out.push(t >> 8, t & 0xff, v.length >> 8, v.length & 0xff, ...v);
  }
  return out;
}

/** An Ethernet + PPPoE header that gets past the first checks, followed by random tags. */
function plausible(r: RandomSource): Uint8Array {
  const body = randomTags(r);
  const tagged = r.u32() % 4 === 0;
  const head = [...(r.u32() % 2 === 0 ? [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] : [2, 0, 0, 0, 0, 2]), 2, 0, 0, 0, 0, 1];
  if (tagged) head.push(0x81, 0x00, 0x00, r.u32() & 0xff);
  const codes = [0x09, 0x07, 0x19, 0x65, 0xa7, 0x00];
  head.push(0x88, r.u32() % 3 === 0 ? 0x64 : 0x63, 0x11, codes[r.u32() % codes.length] ?? 0, 0, r.u32() % 3, body.length >> 8, body.length & 0xff);
  return Uint8Array.from([...head, ...body]);
}

function mutate(r: RandomSource): Uint8Array {
  const all = [...DISCOVERY_VECTORS.map((v) => v.bytes), ...SESSION_VECTORS.map((v) => v.bytes)];
  const b = Uint8Array.from(all[r.u32() % all.length] ?? []);
  const n = 1 + (r.u32() % 4);
  for (let i = 0; i < n; i++) b[r.u32() % b.length] = r.u32() & 0xff;
  return r.u32() % 4 === 0 ? b.subarray(0, r.u32() % b.length) : b;
}

test('random bytes never throw and never modify their input (8,000 inputs x 3 shapes)', () => {
  const r = seededRandom(0x2516);
  for (let i = 0; i < 8000; i++) check(randomBytes(r, 80));
});

test('random tags behind a plausible header never throw (8,000 x 3); some parse', () => {
  const r = seededRandom(0x4638);
  let parsed = 0;
  for (let i = 0; i < 8000; i++) if (check(plausible(r))) parsed++;
  assert.ok(parsed > 50, `plausible frames should parse sometimes (${parsed})`);
});

test('mutated vectors never throw; successes re-emit to the same value (8,000 x 3)', () => {
  const r = seededRandom(0x0101);
  let parsed = 0;
  for (let i = 0; i < 8000; i++) if (check(mutate(r))) parsed++;
  assert.ok(parsed > 500, `mutations should still parse sometimes (${parsed})`);
});
