import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../base/random.js';
import { instant, seconds, type Instant } from '../../base/time.js';
import {
  BROADCAST_MAC,
  EtherType,
  PppoeCode,
  encodeDiscoveryFrame,
  encodeSessionFrame,
  parseDiscoveryFrame,
  parseMac,
  parseSessionFrame,
  vlanTag,
  type DiscoveryFrame,
  type DiscoveryTags,
  type MacAddress,
  type VlanTag,
} from '../../wire/pppoe/index.js';
import { PPPOE_HEADROOM, PppoeAccessConcentrator, type FrameSink, type PppoeAcConfig, type PppoeAcEvent } from './index.js';

const AC_MAC = parseMac('02:ac:00:00:00:01') as MacAddress;
const mac = (n: number): MacAddress => (0x02_00_00_00_00_00 + n) as MacAddress;
const A = mac(0xa);
const B = mac(0xb);
const T0 = instant(1_000_000);
const at = (s: number): Instant => instant(T0 + s * 1000);

function makeAc(over: Partial<PppoeAcConfig> = {}): PppoeAccessConcentrator {
  return new PppoeAccessConcentrator({ acName: 'l2tpkit-ac', mac: AC_MAC, serviceNames: ['isp-a', 'isp-b'], random: seededRandom(7), ...over }, T0);
}

function discovery(code: number, src: MacAddress, tags: DiscoveryTags, opts: { dst?: MacAddress; sid?: number; vlans?: VlanTag[] } = {}): Uint8Array {
  return encodeDiscoveryFrame({
    ethernet: { destination: opts.dst ?? (code === PppoeCode.PADI ? BROADCAST_MAC : AC_MAC), source: src, vlans: opts.vlans ?? [], ethertype: EtherType.pppoeDiscovery },
    packet: { code: code as DiscoveryFrame['packet']['code'], sessionId: opts.sid ?? 0, tags },
  });
}

function drainTx(ac: PppoeAccessConcentrator): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let f = ac.pollTransmit(); f !== undefined; f = ac.pollTransmit()) out.push(f);
  return out;
}

function drainEvents(ac: PppoeAccessConcentrator): PppoeAcEvent[] {
  const out: PppoeAcEvent[] = [];
  for (let e = ac.pollEvent(); e !== undefined; e = ac.pollEvent()) out.push(e);
  return out;
}

function only(frames: Uint8Array[]): DiscoveryFrame {
  assert.equal(frames.length, 1, `one frame expected, got ${frames.length}`);
  const r = parseDiscoveryFrame(frames[0] ?? new Uint8Array());
  assert.ok(r.ok, 'we emit well-formed discovery frames');
  return r.value;
}

/** PADI -> PADO; returns the PADO. */
function padi(ac: PppoeAccessConcentrator, now: Instant, src: MacAddress, tags: DiscoveryTags = { serviceNames: [''] }, vlans: VlanTag[] = []): DiscoveryFrame {
  ac.handleFrame(now, discovery(PppoeCode.PADI, src, tags, { vlans }));
  return only(drainTx(ac));
}

/** A whole discovery; returns the session id. */
function connect(ac: PppoeAccessConcentrator, now: Instant, src: MacAddress, tags: DiscoveryTags = { serviceNames: [''] }, vlans: VlanTag[] = []): number {
  const pado = padi(ac, now, src, tags, vlans);
  ac.handleFrame(now, discovery(PppoeCode.PADR, src, { ...tags, ...(pado.packet.tags.acCookie !== undefined ? { acCookie: pado.packet.tags.acCookie } : {}) }, { vlans }));
  const pads = only(drainTx(ac));
  assert.equal(pads.packet.code, PppoeCode.PADS);
  assert.notEqual(pads.packet.sessionId, 0);
  return pads.packet.sessionId;
}

// ---------------------------------------------------------------- discovery

test('§5.2 PADI -> PADO: AC-Name, the asked service first, Host-Uniq and Relay-Session-Id echoed, a cookie', () => {
  const ac = makeAc();
  const pado = padi(ac, T0, A, { serviceNames: ['isp-b'], hostUniq: Uint8Array.of(1, 2, 3), relaySessionId: Uint8Array.of(9, 9) });
  assert.equal(pado.packet.code, PppoeCode.PADO);
  assert.equal(pado.packet.sessionId, 0);
  assert.equal(pado.ethernet.destination, A);
  assert.equal(pado.ethernet.source, AC_MAC);
  const t = pado.packet.tags;
  assert.deepStrictEqual(t.serviceNames, ['isp-b', 'isp-a']);
  assert.equal(t.acName, 'l2tpkit-ac');
  assert.deepStrictEqual(t.hostUniq, Uint8Array.of(1, 2, 3));
  assert.deepStrictEqual(t.relaySessionId, Uint8Array.of(9, 9));
  assert.equal(t.acCookie?.length, 17);
  assert.equal(t.pppMaxPayload, undefined);
  assert.equal(ac.counters.padiReceived, 1);
  assert.equal(ac.counters.padoSent, 1);
});

test('§5.2 a PADI for a service we do not offer gets no PADO; `any` serves every name', () => {
  const ac = makeAc();
  ac.handleFrame(T0, discovery(PppoeCode.PADI, A, { serviceNames: ['isp-z'] }));
  assert.equal(drainTx(ac).length, 0);
  assert.equal(ac.counters.dropped['service-unavailable'], 1);
  const any = makeAc({ serviceNames: 'any' });
  assert.deepStrictEqual(padi(any, T0, A, { serviceNames: ['whatever'] }).packet.tags.serviceNames, ['whatever']);
  assert.deepStrictEqual(padi(any, T0, B).packet.tags.serviceNames, ['']);
});

test('§5.4 PADR with our cookie -> PADS with a session id and session-up with the TR-101 line identification', () => {
  const ac = makeAc();
  const accessLine = { circuitId: 'dslam1 atm 1/1:0.35', remoteId: 'sub-17', actualDataRateDownstream: 16000 };
  const sid = connect(ac, T0, A, { serviceNames: [''], hostUniq: Uint8Array.of(7), accessLine });
  const [up] = drainEvents(ac);
  assert.deepStrictEqual(up, {
    type: 'session-up', mac: A, sessionId: sid, vlan: undefined, serviceName: 'isp-a', hostUniq: Uint8Array.of(7), relaySessionId: undefined,
    circuitId: 'dslam1 atm 1/1:0.35', remoteId: 'sub-17', accessLine, maxPayload: 1492,
  });
  assert.equal(ac.sessionCount, 1);
  assert.equal(ac.session(sid)?.serviceName, 'isp-a');
});

test('AC-Cookie: missing, forged, from another MAC or another VLAN -> dropped and counted, no PADS', () => {
  const ac = makeAc();
  const cookie = padi(ac, T0, A).packet.tags.acCookie ?? new Uint8Array();
  const forged = Uint8Array.from(cookie);
  forged[5] = (forged[5] ?? 0) ^ 1;
  ac.handleFrame(T0, discovery(PppoeCode.PADR, A, { serviceNames: [''] }));
  ac.handleFrame(T0, discovery(PppoeCode.PADR, A, { serviceNames: [''], acCookie: forged }));
  ac.handleFrame(T0, discovery(PppoeCode.PADR, B, { serviceNames: [''], acCookie: cookie }));
  ac.handleFrame(T0, discovery(PppoeCode.PADR, A, { serviceNames: [''], acCookie: cookie.subarray(0, 16) }));
  assert.equal(drainTx(ac).length, 0);
  assert.equal(ac.counters.dropped['bad-cookie'], 4);
  assert.equal(ac.sessionCount, 0);
  const tagged = makeAc({ vlan: 100 });
  const c100 = padi(tagged, T0, A, { serviceNames: [''] }, [vlanTag(100)]).packet.tags.acCookie ?? new Uint8Array();
  const other = makeAc({ vlan: 200, random: seededRandom(7) });
  other.handleFrame(T0, discovery(PppoeCode.PADR, A, { serviceNames: [''], acCookie: c100 }, { vlans: [vlanTag(200)] }));
  assert.equal(other.counters.dropped['bad-cookie'], 1, 'same secret, other VLAN: refused');
});

test('AC-Cookie rotation: valid across one rotation, refused after two', () => {
  const ac = makeAc({ cookieRotation: seconds(60) });
  const cookie = padi(ac, T0, A).packet.tags.acCookie ?? new Uint8Array();
  assert.equal(ac.pollAt(), at(10), 'the bucket sweep comes first');
  ac.handleTimeout(at(61));
  ac.handleFrame(at(61), discovery(PppoeCode.PADR, A, { serviceNames: [''], acCookie: cookie }));
  assert.equal(only(drainTx(ac)).packet.code, PppoeCode.PADS);
  const later = padi(ac, at(62), B).packet.tags.acCookie ?? new Uint8Array();
  ac.handleTimeout(at(181));
  ac.handleFrame(at(181), discovery(PppoeCode.PADR, B, { serviceNames: [''], acCookie: later }));
  assert.equal(drainTx(ac).length, 0);
  assert.equal(ac.counters.dropped['bad-cookie'], 1);
});

const payloadCases = [
  { name: 'both 1500', ours: 1500, asked: 1500, tag: 1500, session: 1500 },
  { name: 'we allow less', ours: 1496, asked: 1500, tag: 1496, session: 1496 },
  { name: 'we stay at 1492', ours: undefined, asked: 1500, tag: undefined, session: 1492 },
  { name: 'client asks nothing', ours: 1500, asked: undefined, tag: undefined, session: 1492 },
  { name: 'client asks below 1492', ours: 1500, asked: 1400, tag: undefined, session: 1492 },
];
for (const c of payloadCases) {
  test(`RFC 4638 PPP-Max-Payload: ${c.name}`, () => {
    const ac = makeAc(c.ours !== undefined ? { maxPayload: c.ours } : {});
    const tags: DiscoveryTags = { serviceNames: [''], ...(c.asked !== undefined ? { pppMaxPayload: c.asked } : {}) };
    assert.equal(padi(ac, T0, A, tags).packet.tags.pppMaxPayload, c.tag, 'PADO');
    const sid = connect(ac, T0, A, tags);
    assert.equal(ac.session(sid)?.maxPayload, c.session);
    // Protocol (2 octets) + an information field of exactly the payload fits; one more octet does not.
    assert.equal(ac.sendSession(sid, new Uint8Array(2 + c.session)) !== undefined, true);
    assert.equal(ac.sendSession(sid, new Uint8Array(2 + c.session + 1)), undefined);
    assert.equal(ac.counters.dropped['too-long'], 1);
  });
}

test('a repeated PADR for an unused session gets the same PADS, not a second session', () => {
  const ac = makeAc();
  const pado = padi(ac, T0, A, { serviceNames: [''], hostUniq: Uint8Array.of(1) });
  const padr = discovery(PppoeCode.PADR, A, { serviceNames: [''], hostUniq: Uint8Array.of(1), acCookie: pado.packet.tags.acCookie ?? new Uint8Array() });
  ac.handleFrame(T0, padr);
  const first = drainTx(ac);
  ac.handleFrame(at(3), padr);
  const again = drainTx(ac);
  assert.deepStrictEqual(again, first);
  assert.equal(ac.sessionCount, 1);
  assert.equal(ac.counters.padrRepeated, 1);
});

test('§5.4 refusals: an unknown service -> Service-Name-Error, the per-MAC and global limits -> AC-System-Error (SESSION_ID 0)', () => {
  const ac = makeAc({ maxSessionsPerMac: 2, maxSessions: 3 });
  const cookie = padi(ac, T0, A).packet.tags.acCookie ?? new Uint8Array();
  ac.handleFrame(T0, discovery(PppoeCode.PADR, A, { serviceNames: ['isp-z'], acCookie: cookie }));
  const sne = only(drainTx(ac));
  assert.equal(sne.packet.sessionId, 0);
  assert.equal(sne.packet.tags.serviceNameError, 'service "isp-z" not offered');
  connect(ac, T0, A, { serviceNames: [''], hostUniq: Uint8Array.of(1) });
  connect(ac, T0, A, { serviceNames: [''], hostUniq: Uint8Array.of(2) });
  const c3 = padi(ac, T0, A).packet.tags.acCookie ?? new Uint8Array();
  ac.handleFrame(T0, discovery(PppoeCode.PADR, A, { serviceNames: [''], hostUniq: Uint8Array.of(3), acCookie: c3 }));
  const lim = only(drainTx(ac));
  assert.equal(lim.packet.sessionId, 0);
  assert.equal(lim.packet.tags.acSystemError, 'session limit reached');
  connect(ac, T0, B);
  const cb = padi(ac, T0, mac(0xc)).packet.tags.acCookie ?? new Uint8Array();
  ac.handleFrame(T0, discovery(PppoeCode.PADR, mac(0xc), { serviceNames: [''], acCookie: cb }));
  assert.equal(only(drainTx(ac)).packet.tags.acSystemError, 'session limit reached', 'global limit');
  assert.equal(ac.sessionCount, 3);
  assert.equal(ac.counters.padsRefused, 3);
  assert.equal(ac.counters.dropped['session-limit'], 2);
});

test('discovery rate limits: per MAC burst then refill; the global bucket caps all clients', () => {
  const ac = makeAc({ discoveryRatePerMac: { perSecond: 1, burst: 3 }, discoveryRate: { perSecond: 10, burst: 5 } });
  for (let i = 0; i < 5; i++) ac.handleFrame(T0, discovery(PppoeCode.PADI, A, { serviceNames: [''] }));
  assert.equal(drainTx(ac).length, 3);
  assert.equal(ac.counters.dropped['rate-limited'], 2);
  ac.handleFrame(at(1), discovery(PppoeCode.PADI, A, { serviceNames: [''] }));
  assert.equal(drainTx(ac).length, 1, 'one token back after 1 s');
  // The global bucket had 5 - 4 = 1 token + 10 refilled (capped at 5): five more clients, then none.
  for (let i = 0; i < 8; i++) ac.handleFrame(at(1), discovery(PppoeCode.PADI, mac(0x100 + i), { serviceNames: [''] }));
  assert.equal(drainTx(ac).length, 4);
});

// ---------------------------------------------------------------- PADT

test('§5.5 PADT from the client ends its session; a spoofed PADT (other MAC) or an unknown session id does not', () => {
  const ac = makeAc();
  const sa = connect(ac, T0, A);
  const sb = connect(ac, T0, B);
  drainEvents(ac);
  ac.handleFrame(T0, discovery(PppoeCode.PADT, B, {}, { sid: sa }));
  ac.handleFrame(T0, discovery(PppoeCode.PADT, A, {}, { sid: 0x7777 === sa || 0x7777 === sb ? 0x7778 : 0x7777 }));
  ac.handleFrame(T0, discovery(PppoeCode.PADT, A, {}, { sid: sa, dst: mac(0x99) }));
  assert.equal(ac.sessionCount, 2);
  assert.deepStrictEqual(drainEvents(ac), []);
  assert.equal(ac.counters.dropped['spoofed-padt'], 1);
  assert.equal(ac.counters.dropped['unknown-session'], 1);
  assert.equal(ac.counters.dropped['not-for-us'], 1);
  ac.handleFrame(T0, discovery(PppoeCode.PADT, A, { genericError: 'bye' }, { sid: sa }));
  assert.deepStrictEqual(drainEvents(ac), [{ type: 'session-down', mac: A, sessionId: sa, cause: 'padt-received', detail: 'bye' }]);
  assert.equal(ac.sessionCount, 1);
  assert.equal(drainTx(ac).length, 0, 'no answer to a PADT');
});

test('close() sends PADT with Host-Uniq and Relay-Session-Id; shutdown() ends every session', () => {
  const ac = makeAc();
  const sid = connect(ac, T0, A, { serviceNames: [''], hostUniq: Uint8Array.of(4), relaySessionId: Uint8Array.of(5, 6) });
  connect(ac, T0, B);
  drainEvents(ac);
  assert.equal(ac.close(sid, 'LCP terminated'), true);
  assert.equal(ac.close(sid), false);
  const padt = only(drainTx(ac));
  assert.equal(padt.packet.code, PppoeCode.PADT);
  assert.equal(padt.packet.sessionId, sid);
  assert.deepStrictEqual(padt.packet.tags, { hostUniq: Uint8Array.of(4), relaySessionId: Uint8Array.of(5, 6), genericError: 'LCP terminated' });
  assert.deepStrictEqual(drainEvents(ac), [{ type: 'session-down', mac: A, sessionId: sid, cause: 'closed', detail: 'LCP terminated' }]);
  ac.shutdown();
  assert.equal(only(drainTx(ac)).ethernet.destination, B);
  assert.equal(drainEvents(ac)[0]?.type, 'session-down');
  assert.equal(ac.sessionCount, 0);
  assert.equal(ac.counters.padtSent, 2);
});

// ---------------------------------------------------------------- session stage

function sessionFrame(src: MacAddress, sid: number, ppp: Uint8Array, vlans: VlanTag[] = []): Uint8Array {
  return encodeSessionFrame({ ethernet: { destination: AC_MAC, source: src, vlans, ethertype: EtherType.pppoeSession }, sessionId: sid, payload: ppp });
}

class Recorder implements FrameSink {
  readonly frames: Uint8Array[] = [];
  deliver(frame: Uint8Array): void {
    this.frames.push(Uint8Array.from(frame));
  }
}

test('§6 session frames go to the bound sink by (MAC, SESSION_ID); frames before the bind are kept (bounded)', () => {
  const ac = makeAc({ pendingFrames: 2 });
  const sa = connect(ac, T0, A);
  const lcp = Uint8Array.of(0xc0, 0x21, 1, 1, 0, 4);
  ac.handleFrame(T0, sessionFrame(A, sa, lcp));
  ac.handleFrame(T0, sessionFrame(A, sa, lcp));
  ac.handleFrame(T0, sessionFrame(A, sa, lcp));
  assert.equal(ac.counters.dropped['no-sink'], 1);
  const sink = new Recorder();
  assert.equal(ac.bindSink(sa, sink, T0), true);
  assert.equal(ac.bindSink(sa, sink, T0), false, 'bound once');
  assert.equal(sink.frames.length, 2);
  ac.handleFrame(T0, sessionFrame(A, sa, Uint8Array.of(0x00, 0x21, 0x45)));
  assert.deepStrictEqual(sink.frames[2], Uint8Array.of(0x00, 0x21, 0x45));
  const info = ac.session(sa);
  assert.equal(info?.framesIn, 4);
  assert.equal(info?.sinkBound, true);
  // Ethernet padding (60-octet minimum) is not part of the PPP frame.
  const padded = new Uint8Array(60);
  padded.set(sessionFrame(A, sa, Uint8Array.of(0xc0, 0x21, 9, 1, 0, 8, 0, 0, 0, 0)));
  ac.handleFrame(T0, padded);
  assert.equal(sink.frames[3]?.length, 10);
});

test('session frames: another MAC with a live session id, another VLAN, not to our MAC -> dropped; an unknown id -> PADT to its source', () => {
  const ac = makeAc();
  const sa = connect(ac, T0, A);
  const sink = new Recorder();
  ac.bindSink(sa, sink, T0);
  ac.handleFrame(T0, sessionFrame(B, sa, Uint8Array.of(0xc0, 0x21)));
  ac.handleFrame(T0, sessionFrame(A, sa, Uint8Array.of(0xc0, 0x21), [vlanTag(5)]));
  const notUs = sessionFrame(A, sa, Uint8Array.of(0xc0, 0x21));
  notUs[5] = 0x77;
  ac.handleFrame(T0, notUs);
  assert.equal(sink.frames.length, 0);
  assert.equal(ac.counters.dropped['spoofed-session-frame'], 1);
  assert.equal(ac.counters.dropped['other-vlan'], 1);
  assert.equal(ac.counters.dropped['not-for-us'], 1);
  const stale = sa === 0x1234 ? 0x1235 : 0x1234;
  ac.handleFrame(T0, sessionFrame(B, stale, Uint8Array.of(0xc0, 0x21, 9, 1, 0, 8, 1, 2, 3, 4)));
  const padt = only(drainTx(ac));
  assert.equal(padt.packet.code, PppoeCode.PADT);
  assert.equal(padt.packet.sessionId, stale);
  assert.equal(padt.ethernet.destination, B);
  assert.equal(ac.sessionCount, 1);
});

test('sendSession writes the header into the headroom (no payload copy) or copies without it', () => {
  const ac = makeAc({ vlan: 42 });
  const sid = connect(ac, T0, A, { serviceNames: [''] }, [vlanTag(42, 2)]);
  const room = new Uint8Array(PPPOE_HEADROOM + 8);
  const ppp = room.subarray(PPPOE_HEADROOM);
  ppp.set([0x00, 0x21, 0x45, 0, 0, 1, 2, 3]);
  const inPlace = ac.sendSession(sid, ppp, true);
  assert.ok(inPlace !== undefined);
  assert.equal(inPlace.buffer, room.buffer, 'same buffer');
  assert.equal(inPlace.byteOffset + inPlace.length, room.length);
  const copied = ac.sendSession(sid, Uint8Array.from(ppp));
  assert.deepStrictEqual(copied, Uint8Array.from(inPlace));
  const r = parseSessionFrame(inPlace);
  assert.ok(r.ok);
  assert.equal(r.value.sessionId, sid);
  assert.equal(r.value.ethernet.destination, A);
  assert.equal(r.value.ethernet.source, AC_MAC);
  assert.deepStrictEqual(r.value.ethernet.vlans, [vlanTag(42, 2)]);
  assert.deepStrictEqual(Uint8Array.from(r.value.payload), Uint8Array.from(ppp));
  assert.equal(ac.sendSession(0x9999, ppp), undefined);
  assert.equal(ac.counters.sessionFramesOut, 2);
});

// ---------------------------------------------------------------- bad input

test('malformed frames, other VLANs and PADO/PADS from elsewhere are counted, never answered', () => {
  const ac = makeAc();
  const junk = [
    new Uint8Array(5),
    discovery(PppoeCode.PADI, A, { serviceNames: [''] }).subarray(0, 20),
    Uint8Array.from([...discovery(PppoeCode.PADI, A, { serviceNames: [''] })].map((b, i) => (i === 14 ? 0x21 : b))),
    discovery(PppoeCode.PADI, A, { hostUniq: Uint8Array.of(1) }),
    Uint8Array.of(...new Uint8Array(12), 0x08, 0x00, 0x45),
    Uint8Array.of(...new Uint8Array(12), 0x88, 0x64, 0x11, 0x00, 0x00, 0x01, 0x00, 0x10),
  ];
  for (const j of junk) ac.handleFrame(T0, j);
  ac.handleFrame(T0, discovery(PppoeCode.PADI, A, { serviceNames: [''] }, { vlans: [vlanTag(9)] }));
  ac.handleFrame(T0, discovery(PppoeCode.PADO, B, { serviceNames: [''], acName: 'rogue' }, { dst: A }));
  assert.equal(drainTx(ac).length, 0);
  const c = ac.counters;
  assert.equal(c.dropped.malformed, 6);
  assert.deepStrictEqual(c.malformed, { truncated: 3, 'bad-version': 1, 'missing-tag': 1, 'bad-ethertype': 1 });
  assert.equal(c.dropped['other-vlan'], 1);
  assert.equal(c.dropped['unexpected-code'], 1);
});

test('random frames into an AC with live sessions never throw and never end a session', () => {
  const ac = makeAc({ discoveryRatePerMac: { perSecond: 1000, burst: 1000 }, discoveryRate: { perSecond: 1e6, burst: 1e6 } });
  const sids = [connect(ac, T0, A), connect(ac, T0, B)];
  for (const s of sids) ac.bindSink(s, new Recorder(), T0);
  drainEvents(ac);
  const r = seededRandom(0x8863);
  for (let i = 0; i < 20_000; i++) {
    const f = r.bytes(14 + (r.u32() % 60));
    // Half of them look like ours: addressed to us, a PPPoE EtherType, VER/TYPE 1/1.
    if (i % 2 === 0) {
      f.set([0x02, 0xac, 0, 0, 0, 1], 0);
      f[12] = 0x88;
      f[13] = r.u32() % 2 === 0 ? 0x63 : 0x64;
      if (f.length > 14) f[14] = 0x11;
    }
    ac.handleFrame(at(i / 1000), f);
  }
  drainTx(ac);
  assert.deepStrictEqual(drainEvents(ac).filter((e) => e.type === 'session-down'), []);
  assert.equal(ac.sessionCount, 2);
});

test('session ids are unique, never 0 or 0xffff, over 3000 sessions', () => {
  const ac = makeAc({ maxSessionsPerMac: 1, discoveryRate: { perSecond: 1e6, burst: 1e6 } });
  const seen = new Set<number>();
  for (let i = 0; i < 3000; i++) {
    const sid = connect(ac, T0, mac(0x1000 + i));
    assert.ok(sid > 0 && sid < 0xffff);
    assert.ok(!seen.has(sid), `duplicate ${sid}`);
    seen.add(sid);
  }
  assert.equal(ac.sessionCount, 3000);
  assert.equal(drainEvents(ac).length, 3000);
});

test('handleTimeout sweeps idle per-MAC buckets and moves pollAt', () => {
  const ac = makeAc();
  padi(ac, T0, A);
  assert.equal(ac.pollAt(), at(10));
  ac.handleTimeout(at(10));
  assert.equal(ac.pollAt(), at(20));
});

test('AC-Cookie master key: two ACs with the same key accept each other\'s cookies, another key does not', () => {
  const key = new Uint8Array(32).fill(0x42);
  const a = makeAc({ cookieSecret: key, random: seededRandom(1) });
  const b = makeAc({ cookieSecret: key, random: seededRandom(2) });
  const c = makeAc({ cookieSecret: new Uint8Array(32).fill(0x43) });
  const cookie = padi(a, T0, A).packet.tags.acCookie;
  assert.ok(cookie);
  for (const [ac, ok] of [[b, true], [c, false]] as const) {
    ac.handleFrame(T0, discovery(PppoeCode.PADR, A, { serviceNames: [''], acCookie: cookie }));
    assert.equal(drainTx(ac).length, ok ? 1 : 0);
    assert.equal(ac.counters.dropped['bad-cookie'], ok ? 0 : 1);
  }
  // After a rotation the derived secrets still agree (period 1 on both).
  a.handleTimeout(at(301));
  b.handleTimeout(at(301));
  const later = padi(a, at(301), B).packet.tags.acCookie;
  assert.ok(later);
  b.handleFrame(at(301), discovery(PppoeCode.PADR, B, { serviceNames: [''], acCookie: later }));
  assert.equal(drainTx(b).length, 1);
});
