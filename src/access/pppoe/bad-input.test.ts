/**
 * Bad input against the access concentrator (issue 14 item 6): malformed discovery, PADR floods,
 * spoofed PADT and session frames are dropped, every one counted once, nothing is answered that
 * should not be, and no one else's session ever ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../base/random.js';
import { instant, type Instant } from '../../base/time.js';
import {
  BROADCAST_MAC, EtherType, PppoeCode, encodeDiscoveryFrame, encodeSessionFrame, parseDiscoveryFrame, parseMac, vlanTag, type DiscoveryFrame, type DiscoveryTags, type MacAddress, type VlanTag,
} from '../../wire/pppoe/index.js';
import { DROP_REASONS, PppoeAccessConcentrator, type PppoeAcConfig, type PppoeAcEvent } from './index.js';

const AC_MAC = parseMac('02:ac:00:00:00:01') as MacAddress;
const mac = (n: number): MacAddress => (0x02_00_00_00_00_00 + n) as MacAddress;
const A = mac(0xa);
const B = mac(0xb);
const T0 = instant(5_000_000);
const at = (s: number): Instant => instant(T0 + s * 1000);

function makeAc(over: Partial<PppoeAcConfig> = {}): PppoeAccessConcentrator {
  return new PppoeAccessConcentrator({ acName: 'bad-input', mac: AC_MAC, serviceNames: ['isp'], random: seededRandom(11), ...over }, T0);
}

function discovery(code: number, src: MacAddress, tags: DiscoveryTags, o: { dst?: MacAddress; sid?: number; vlans?: VlanTag[] } = {}): Uint8Array {
  return encodeDiscoveryFrame({
    ethernet: { destination: o.dst ?? (code === PppoeCode.PADI ? BROADCAST_MAC : AC_MAC), source: src, vlans: o.vlans ?? [], ethertype: EtherType.pppoeDiscovery },
    packet: { code: code as DiscoveryFrame['packet']['code'], sessionId: o.sid ?? 0, tags },
  });
}

function drain(ac: PppoeAccessConcentrator): { tx: DiscoveryFrame[]; events: PppoeAcEvent[] } {
  const tx: DiscoveryFrame[] = [];
  for (let f = ac.pollTransmit(); f !== undefined; f = ac.pollTransmit()) {
    const r = parseDiscoveryFrame(f);
    assert.ok(r.ok, 'we only ever send well-formed discovery here');
    tx.push(r.value);
  }
  const events: PppoeAcEvent[] = [];
  for (let e = ac.pollEvent(); e !== undefined; e = ac.pollEvent()) events.push(e);
  return { tx, events };
}

/** PADI -> the PADO's cookie. */
function cookieFor(ac: PppoeAccessConcentrator, now: Instant, src: MacAddress, vlans: VlanTag[] = []): Uint8Array {
  ac.handleFrame(now, discovery(PppoeCode.PADI, src, { serviceNames: ['isp'] }, { vlans }));
  const c = drain(ac).tx[0]?.packet.tags.acCookie;
  assert.ok(c, 'a PADO with a cookie');
  return c;
}

function connect(ac: PppoeAccessConcentrator, now: Instant, src: MacAddress, hostUniq?: Uint8Array, vlans: VlanTag[] = []): number {
  const acCookie = cookieFor(ac, now, src, vlans);
  ac.handleFrame(now, discovery(PppoeCode.PADR, src, { serviceNames: ['isp'], acCookie, ...(hostUniq !== undefined ? { hostUniq } : {}) }, { vlans }));
  const pads = drain(ac).tx[0];
  assert.ok(pads !== undefined && pads.packet.code === PppoeCode.PADS && pads.packet.sessionId !== 0);
  return pads.packet.sessionId;
}

const totalDrops = (ac: PppoeAccessConcentrator): number => DROP_REASONS.reduce((n, r) => n + ac.counters.dropped[r], 0);

test('every truncated prefix of a valid PADR and of a valid PADT is malformed: counted once each, no session made or ended, nothing sent', () => {
  const ac = makeAc({ discoveryRatePerMac: { perSecond: 1e6, burst: 1e6 } });
  const live = connect(ac, T0, B);
  drain(ac);
  const padr = discovery(PppoeCode.PADR, A, { serviceNames: ['isp'], acCookie: cookieFor(ac, T0, A), hostUniq: Uint8Array.of(1, 2, 3, 4) });
  const padt = discovery(PppoeCode.PADT, B, { genericError: 'bye' }, { sid: live });
  drain(ac);
  const before = totalDrops(ac);
  let frames = 0;
  for (const whole of [padr, padt]) {
    // Ethernet (14) + PPPoE header (6) + tags: cut anywhere before the end of the last tag.
    for (let n = 0; n < whole.length; n++) {
      ac.handleFrame(T0, whole.subarray(0, n));
      frames++;
    }
    // The PPPoE LENGTH field one beyond the frame.
    const long = Uint8Array.from(whole);
    long[19] = (long[19] ?? 0) + 1;
    ac.handleFrame(T0, long);
    frames++;
  }
  const { tx, events } = drain(ac);
  assert.equal(tx.length, 0, 'no PADS / PADT to a malformed frame');
  assert.deepEqual(events, []);
  assert.equal(ac.sessionCount, 1);
  assert.ok(ac.session(live), "B's session survived");
  assert.equal(totalDrops(ac) - before, frames, 'each frame counted exactly once');
  assert.ok(ac.counters.dropped.malformed >= frames - 2, `malformed ${ac.counters.dropped.malformed} of ${frames}`);
  // The whole frames still work afterwards.
  ac.handleFrame(T0, padr);
  assert.equal(drain(ac).tx[0]?.packet.code, PppoeCode.PADS);
});

test('malformed discovery: bad VER/TYPE, a non-zero SESSION_ID in PADI/PADR, 0 or 0xffff in PADT, a tag past the end -> dropped, counted by kind', () => {
  const ac = makeAc();
  const live = connect(ac, T0, A);
  drain(ac);
  const badVer = discovery(PppoeCode.PADI, B, { serviceNames: ['isp'] });
  badVer[14] = 0x21;
  const tagPastEnd = discovery(PppoeCode.PADI, B, { serviceNames: ['isp'] });
  tagPastEnd[23] = 0x40; // the Service-Name tag's length (after its type at 20..21, length at 22..23)
  const frames = [
    badVer,
    tagPastEnd,
    discovery(PppoeCode.PADI, B, { serviceNames: ['isp'] }, { sid: 7 }),
    discovery(PppoeCode.PADR, A, { serviceNames: ['isp'] }, { sid: live }),
    discovery(PppoeCode.PADT, A, {}, { sid: 0 }),
    discovery(PppoeCode.PADT, A, {}, { sid: 0xffff }),
  ];
  for (const f of frames) ac.handleFrame(T0, f);
  const { tx, events } = drain(ac);
  assert.equal(tx.length, 0);
  assert.deepEqual(events, []);
  assert.ok(ac.session(live), "A's session survived PADTs for SESSION_ID 0 and 0xffff");
  const c = ac.counters;
  assert.equal(c.dropped.malformed, frames.length);
  assert.equal(c.malformed['bad-version'], 1);
  assert.equal(c.malformed['bad-session-id'], 4);
  assert.equal((c.malformed['truncated'] ?? 0) + (c.malformed['bad-tag-length'] ?? 0) + (c.malformed['tag-overrun'] ?? 0), 1, JSON.stringify(c.malformed));
});

test('a PADR flood from 2000 spoofed MACs (forged, replayed and missing cookies) makes no session, costs a bounded number of answers, and a real client still gets in', () => {
  const ac = makeAc({ discoveryRate: { perSecond: 200, burst: 400 } });
  const live = connect(ac, T0, A);
  const good = cookieFor(ac, T0, B);
  drain(ac);
  const r = seededRandom(0x1919);
  const before = totalDrops(ac);
  const N = 2000;
  for (let i = 0; i < N; i++) {
    const src = mac(0x10000 + i);
    const kind = i % 3;
    const acCookie = kind === 0 ? good : kind === 1 ? r.bytes(17) : undefined;
    ac.handleFrame(at(i / 1000), discovery(PppoeCode.PADR, src, { serviceNames: ['isp'], ...(acCookie !== undefined ? { acCookie } : {}) }));
  }
  const { tx, events } = drain(ac);
  assert.equal(tx.length, 0, 'no PADS (not even a refusal) to a PADR without our cookie for its MAC');
  assert.deepEqual(events, []);
  assert.equal(ac.sessionCount, 1);
  assert.ok(ac.session(live), 'the existing session is untouched');
  const c = ac.counters;
  assert.equal(totalDrops(ac) - before, N, 'every PADR is counted once');
  assert.equal(c.dropped['bad-cookie'] + c.dropped['rate-limited'], N);
  // 400 burst + 200/s over 2 s: the cookie is checked at most ~800 times, the rest is refused by the bucket.
  assert.ok(c.dropped['rate-limited'] >= N - 800, `rate-limited ${c.dropped['rate-limited']}`);
  // B (who got a real PADO) gets its session once the bucket refills.
  ac.handleFrame(at(10), discovery(PppoeCode.PADR, B, { serviceNames: ['isp'], acCookie: good }));
  assert.equal(drain(ac).tx[0]?.packet.code, PppoeCode.PADS);
  assert.equal(ac.sessionCount, 2);
});

test('a PADR flood with a valid cookie from one MAC: repeats get the same PADS, new Host-Uniqs stop at the per-MAC limit and the rate limit', () => {
  const ac = makeAc({ maxSessionsPerMac: 2, discoveryRatePerMac: { perSecond: 2, burst: 8 } });
  const acCookie = cookieFor(ac, T0, A);
  drain(ac);
  const same = discovery(PppoeCode.PADR, A, { serviceNames: ['isp'], acCookie, hostUniq: Uint8Array.of(1) });
  for (let i = 0; i < 3; i++) ac.handleFrame(T0, same);
  let d = drain(ac);
  assert.equal(d.events.length, 1, 'one session for a repeated PADR');
  assert.deepEqual(new Set(d.tx.map((f) => f.packet.sessionId)).size, 1, 'the same PADS three times');
  assert.equal(ac.counters.padrRepeated, 2);
  for (let i = 2; i < 40; i++) ac.handleFrame(T0, discovery(PppoeCode.PADR, A, { serviceNames: ['isp'], acCookie, hostUniq: Uint8Array.of(i) }));
  d = drain(ac);
  assert.equal(ac.sessionCount, 2, 'at most max_sessions_per_mac');
  assert.equal(d.events.length, 1);
  // Burst 8 - 1 PADI - 3 above = 4 tokens: one more session, three AC-System-Error refusals, the rest rate-limited.
  assert.equal(d.tx.filter((f) => f.packet.tags.acSystemError !== undefined).length, 3);
  assert.equal(ac.counters.dropped['rate-limited'], 38 - 4);
});

test('spoofed PADT: wrong MAC, wrong id, other VLAN, not to our MAC -> dropped and counted; the right one ends exactly that session', () => {
  const ac = makeAc({ vlan: 100, maxSessionsPerMac: 4 });
  const v100 = [vlanTag(100)];
  const a1 = connect(ac, T0, A, Uint8Array.of(1), v100);
  const a2 = connect(ac, T0, A, Uint8Array.of(2), v100);
  const b1 = connect(ac, T0, B, undefined, v100);
  drain(ac);
  const spoofs: [Uint8Array, string][] = [
    [discovery(PppoeCode.PADT, B, {}, { sid: a1, vlans: v100 }), 'spoofed-padt'],
    [discovery(PppoeCode.PADT, A, {}, { sid: b1, vlans: v100 }), 'spoofed-padt'],
    [discovery(PppoeCode.PADT, mac(0x66), {}, { sid: a2, vlans: v100 }), 'spoofed-padt'],
    [discovery(PppoeCode.PADT, A, {}, { sid: [a1, a2, b1].includes(0x4242) ? 0x4243 : 0x4242, vlans: v100 }), 'unknown-session'],
    [discovery(PppoeCode.PADT, A, {}, { sid: a1, vlans: [vlanTag(200)] }), 'other-vlan'],
    [discovery(PppoeCode.PADT, A, {}, { sid: a1 }), 'other-vlan'],
    [discovery(PppoeCode.PADT, A, {}, { sid: a1, vlans: v100, dst: BROADCAST_MAC }), 'malformed'], // §5.5: a PADT is unicast
    [discovery(PppoeCode.PADT, A, {}, { sid: a1, vlans: v100, dst: mac(0x99) }), 'not-for-us'],
  ];
  const want: Record<string, number> = {};
  for (const [f, reason] of spoofs) {
    ac.handleFrame(T0, f);
    want[reason] = (want[reason] ?? 0) + 1;
  }
  const got = Object.fromEntries(Object.keys(want).map((r) => [r, ac.counters.dropped[r as (typeof DROP_REASONS)[number]]]));
  assert.deepEqual({ got, malformed: ac.counters.malformed }, { got: want, malformed: { 'bad-destination': 1 } });
  let d = drain(ac);
  assert.deepEqual(d.events, []);
  assert.equal(d.tx.length, 0, 'a PADT is never answered');
  assert.equal(ac.sessionCount, 3);
  ac.handleFrame(T0, discovery(PppoeCode.PADT, A, {}, { sid: a2, vlans: v100 }));
  d = drain(ac);
  assert.deepEqual(d.events.map((e) => [e.type, e.sessionId]), [['session-down', a2]]);
  assert.ok(ac.session(a1) && ac.session(b1), "A's other session and B's stay");
});

test('spoofed session frames: another MAC with a live SESSION_ID never reaches the session sink', () => {
  const ac = makeAc();
  const sa = connect(ac, T0, A);
  drain(ac);
  const got: number[] = [];
  ac.bindSink(sa, { deliver: (f) => got.push(f.length) }, T0);
  const lcp = Uint8Array.of(0xc0, 0x21, 0x05, 0x01, 0x00, 0x04); // LCP Terminate-Request
  ac.handleFrame(T0, encodeSessionFrame({ ethernet: { destination: AC_MAC, source: B, vlans: [], ethertype: EtherType.pppoeSession }, sessionId: sa, payload: lcp }));
  assert.deepEqual(got, []);
  assert.equal(ac.counters.dropped['spoofed-session-frame'], 1);
  ac.handleFrame(T0, encodeSessionFrame({ ethernet: { destination: AC_MAC, source: A, vlans: [], ethertype: EtherType.pppoeSession }, sessionId: sa, payload: lcp }));
  assert.deepEqual(got, [6], "the owner's frame goes through");
});
