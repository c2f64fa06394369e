/**
 * L2TPv3 sessions beyond the incoming call, on the virtual clock (v3-harness.ts): outgoing calls
 * (RFC 3931 §3.4.2, OCRQ -> OCRP -> OCCN) placed by either end, under loss / reorder / duplication;
 * refusals; messages of the wrong call type; Set-Link-Info (§3.4.3) when an attachment circuit goes
 * down and up; WAN-Error-Notify (§6.13) received and counted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../src/base/random.js';
import type { Duration, Instant } from '../../src/base/time.js';
import { defaultTuning, L2tpV3Engine, type PeerAddress, type V3ConnectionInfo, type V3ConnectionSettings, type V3EngineConfig, type V3SessionRequest } from '../../src/l2tp/index.js';
import { controlConnectionId, emitV3Control, parseV3Control, V3MessageType, v3SessionId } from '../../src/wire/l2tpv3/index.js';
import type { LinkProfile } from './harness.js';
import { V3SimNet, v3EventsOf, type V3Node } from './v3-harness.js';

const A: PeerAddress = { address: '192.0.2.10', port: 1701, family: 4 };
const B: PeerAddress = { address: '198.51.100.1', port: 1701, family: 4 };
const SECRET = new TextEncoder().encode('calls-secret');
const PERFECT: LinkProfile = { loss: 0, duplicate: 0, delay: 5, jitter: 0 };
const LOSSY: LinkProfile = { loss: 0.2, duplicate: 0.15, delay: 5, jitter: 40 };

/** Message Type of a v3 control message over UDP (first AVP value at offset 18); undefined for a ZLB. */
const typeOf = (b: Uint8Array): number | undefined => (b.length > 12 ? ((b[18] ?? 0) << 8) | (b[19] ?? 0) : undefined);
const typesSent = (n: V3Node): number[] => n.sent.map((s) => typeOf(s.data)).filter((t): t is number => t !== undefined);

function settings(host: string, routerId: number, over: Partial<V3ConnectionSettings>): V3ConnectionSettings {
  return {
    hostName: host,
    routerId,
    secret: SECRET,
    messageDigest: 'md5',
    pwCapabilities: [5, 4],
    tuning: { ...defaultTuning(), helloInterval: 10_000 as Duration, helloMissCount: 3, retriesNotEstablished: 8, retriesEstablished: 8 },
    ...over,
  };
}

function config(host: string, routerId: number, accept: boolean, over: Partial<V3ConnectionSettings>): V3EngineConfig {
  return {
    encapsulation: 'udp',
    acceptConnections: accept,
    accept: settings(host, routerId, over),
    acceptPseudowires: { remoteEndIds: ['lan1', 'lan2', 'lan3'], cookieLength: 4, pwTypes: [5, 4], sequencing: false },
  };
}

const OUT: V3SessionRequest = { remoteEndId: 'lan1', call: 'outgoing', pseudowire: { pwType: 5, cookieLength: 8, sublayer: 'default', sequencing: true } };
const IN: V3SessionRequest = { remoteEndId: 'lan2', pseudowire: { pwType: 5, cookieLength: 0, sublayer: 'none', sequencing: false } };

/** A dials B always-on with `sessions`; both accept sessions. */
function pair(seed: number, link: LinkProfile, sessions: readonly V3SessionRequest[], over: Partial<V3ConnectionSettings> = {}): { net: V3SimNet; a: V3Node; b: V3Node } {
  const net = new V3SimNet(seed, link);
  const a = net.add('a', A, new L2tpV3Engine(config('a', 0xc000020a, false, over), { random: seededRandom(seed + 1) }));
  const b = net.add('b', B, new L2tpV3Engine(config('b', 0xc6336401, true, over), { random: seededRandom(seed + 2) }));
  a.engine.dial(0 as Instant, { peer: B, settings: settings('a', 0xc000020a, over), sessions, backoffInitial: 1000 as Duration, backoffMax: 8000 as Duration });
  return { net, a, b };
}

const live = (n: V3Node): V3ConnectionInfo => {
  const c = n.engine.connections().find((x) => x.state === 'established');
  assert.ok(c !== undefined, `${n.name}: no established connection`);
  return c;
};

describe('L2TPv3 outgoing calls (RFC 3931 §3.4.2)', () => {
  it('OCRQ -> OCRP -> OCCN: the sender waits in wait-connect, the recipient confirms; bindings mirror, cookies and sequencing per direction', () => {
    const { net, a, b } = pair(1, PERFECT, [OUT]);
    net.run(2000);
    const ea = v3EventsOf(a, 'v3-session-established');
    const eb = v3EventsOf(b, 'v3-session-established');
    assert.equal(ea.length, 1);
    assert.equal(eb.length, 1);
    const x = ea[0]?.binding;
    const y = eb[0]?.binding;
    assert.ok(x !== undefined && y !== undefined);
    assert.equal(x.localSessionId, y.peerSessionId);
    assert.equal(x.peerSessionId, y.localSessionId);
    assert.deepEqual(x.txCookie, y.rxCookie);
    assert.deepEqual(x.rxCookie, y.txCookie);
    assert.equal(x.rxCookie.length, 8, 'the OCRQ sender assigned its 8-byte cookie in the OCRQ');
    assert.equal(y.rxCookie.length, 4, 'the recipient assigned its 4-byte cookie in the OCRP');
    assert.equal(y.sendSequence, true, 'the OCRQ asked the recipient to sequence');
    assert.equal(x.requireSequence, true);
    // The exchange on the wire: OCRQ from a; OCRP then OCCN from b; no incoming-call message at all.
    const ta = typesSent(a);
    const tb = typesSent(b);
    assert.ok(ta.includes(V3MessageType.OCRQ));
    assert.ok(tb.indexOf(V3MessageType.OCRP) >= 0 && tb.indexOf(V3MessageType.OCRP) < tb.indexOf(V3MessageType.OCCN));
    for (const t of [V3MessageType.ICRQ, V3MessageType.ICRP, V3MessageType.ICCN, V3MessageType.CDN]) assert.ok(!ta.includes(t) && !tb.includes(t), `message ${t} sent`);
    const sa = live(a).sessions[0];
    const sb = live(b).sessions[0];
    assert.equal(sa?.call, 'outgoing');
    assert.equal(sb?.call, 'outgoing');
    assert.equal(sa?.originator, true);
    assert.equal(sb?.originator, false);
    assert.equal(sb?.remoteEndId, 'lan1');
    assert.deepEqual(sa?.circuitRemote, { active: true, new: true }, 'the OCRP carried the recipient circuit, N set');
  });

  it('the OCRQ sender waits in wait-connect until the OCCN arrives (first OCCN lost: retransmitted); the recipient is up at once', () => {
    const { net, a, b } = pair(2, PERFECT, [OUT]);
    let dropped = 0;
    net.drop = (n, d) => n === b && typeOf(d) === V3MessageType.OCCN && dropped++ === 0;
    net.run(500);
    assert.equal(dropped >= 1, true, 'the OCCN was sent');
    assert.equal(a.engine.connections()[0]?.sessions[0]?.state, 'wait-connect', 'OCRP seen, OCCN not yet');
    assert.equal(b.engine.connections()[0]?.sessions[0]?.state, 'established', 'the recipient connected its circuit and sent OCCN');
    assert.equal(v3EventsOf(a, 'v3-session-established').length, 0);
    net.run(10_000);
    assert.equal(a.engine.connections()[0]?.sessions[0]?.state, 'established');
    assert.equal(v3EventsOf(a, 'v3-session-established').length, 1);
    assert.ok((a.engine.connections()[0]?.counters.retransmits ?? 0) + (b.engine.connections()[0]?.counters.retransmits ?? 0) >= 1);
  });

  it('either end places calls, incoming and outgoing mixed, under 20% loss, 15% duplication and reordering', () => {
    for (const seed of [3, 7, 11, 19, 23]) {
      const { net, a, b } = pair(seed, LOSSY, [OUT, IN]);
      net.run(60_000);
      const cb = live(b);
      // b places an outgoing and an incoming call back on the same connection.
      const o = b.engine.openSession(net.now as Instant, cb.localId, { ...OUT, remoteEndId: 'lan3' });
      const i = b.engine.openSession(net.now as Instant, cb.localId, { ...IN, remoteEndId: 'lan2' });
      assert.ok(o !== undefined && i !== undefined);
      net.run(180_000);
      for (const n of [a, b]) {
        const c = live(n);
        const up = c.sessions.filter((s) => s.state === 'established');
        assert.equal(up.length, 4, `seed ${seed}: ${n.name} sessions ${JSON.stringify(c.sessions.map((s) => [s.remoteEndId, s.call, s.state]))}`);
        assert.equal(up.filter((s) => s.call === 'outgoing').length, 2, `seed ${seed}: ${n.name} outgoing`);
        assert.equal(up.filter((s) => s.originator).length, 2, `seed ${seed}: ${n.name} placed two`);
        assert.equal(v3EventsOf(n, 'v3-session-closed').length, 0, `seed ${seed}: ${n.name} closed a session`);
      }
      // Every session's ids match the peer's view.
      for (const s of live(a).sessions) assert.ok(live(b).sessions.some((t) => t.localSessionId === s.remoteSessionId && t.remoteSessionId === s.localSessionId && t.call === s.call));
      assert.ok(live(a).counters.retransmits + live(b).counters.retransmits > 0, `seed ${seed}: the loss was felt`);
    }
  });

  it('an OCRQ for an unknown Remote End ID is answered with CDN; the connection stays', () => {
    const { net, a, b } = pair(4, PERFECT, [{ ...OUT, remoteEndId: 'nowhere' }, IN]);
    net.run(3000);
    const closed = v3EventsOf(a, 'v3-session-closed');
    assert.equal(closed.length, 1);
    assert.equal(closed[0]?.reason.cause, 'cdn');
    assert.equal(closed[0]?.reason.result.result, 2);
    assert.equal(closed[0]?.reason.result.message, 'unknown Remote End ID');
    assert.equal(live(a).sessions.length, 1, 'the incoming call is up');
    assert.equal(live(b).sessions[0]?.state, 'established');
    assert.ok(!typesSent(b).includes(V3MessageType.OCRP), 'no OCRP for a refused call');
  });

  it('a message of the wrong call type (OCCN to an incoming call, ICCN to an outgoing call) clears that session with CDN 2/7', () => {
    const plain = { messageDigest: undefined };
    const { net, b } = pair(5, PERFECT, [OUT, IN], plain);
    net.run(2000);
    const c = live(b);
    assert.equal(c.sessions.length, 2);
    let ns = c.nr;
    for (const [call, wrong] of [
      ['incoming', V3MessageType.OCCN],
      ['outgoing', V3MessageType.ICCN],
    ] as const) {
      const s = live(b).sessions.find((x) => x.call === call);
      assert.ok(s !== undefined);
      const msg = { connectionId: controlConnectionId(c.localId), ns: ns++, nr: c.ns, type: wrong, avps: { localSessionId: v3SessionId(s.remoteSessionId), remoteSessionId: v3SessionId(s.localSessionId) } };
      b.engine.handleDatagram(net.now as Instant, emitV3Control(msg, { encapsulation: 'udp' }), A);
      const cdn: number[] = [];
      for (let t = b.engine.pollTransmit(); t !== undefined; t = b.engine.pollTransmit()) {
        const pr = parseV3Control(t.data, { encapsulation: 'udp' });
        if (pr.ok && pr.value.type === V3MessageType.CDN) {
          cdn.push(pr.value.avps.remoteSessionId ?? 0);
          assert.deepEqual(pr.value.avps.resultCode, { result: 2, error: 7, message: 'message not valid in session state' });
        }
      }
      assert.deepEqual(cdn, [s.remoteSessionId], `${call}: one CDN to the peer's session`);
    }
    assert.equal(live(b).sessions.length, 0);
    assert.equal(live(b).state, 'established');
  });
});

describe('L2TPv3 Set-Link-Info and WAN-Error-Notify (RFC 3931 §3.4.3, §6.13, §6.14)', () => {
  it('an attachment circuit going down and up is sent as SLI (A bit, N clear) on every session of it, delivered under loss', () => {
    for (const seed of [31, 37, 41]) {
      const { net, a, b } = pair(seed, LOSSY, [{ ...OUT, remoteEndId: 'lan1' }, { ...IN, remoteEndId: 'lan1' }, { ...IN, remoteEndId: 'lan2' }]);
      net.run(60_000);
      assert.equal(live(b).sessions.filter((s) => s.state === 'established').length, 3, `seed ${seed}`);
      for (const s of live(b).sessions) assert.deepEqual(s.circuitRemote, { active: true, new: true }, 'the call carried the circuit, N set');
      a.engine.setCircuitStatus(net.now as Instant, 'lan1', false);
      a.engine.setCircuitStatus(net.now as Instant, 'lan1', false); // no change: nothing more sent
      net.run(net.now + 60_000);
      const byEnd = (end: string): V3ConnectionInfo['sessions'] => live(b).sessions.filter((s) => s.remoteEndId === end);
      for (const s of byEnd('lan1')) assert.deepEqual(s.circuitRemote, { active: false, new: false }, `seed ${seed}: lan1 down at b`);
      for (const s of byEnd('lan2')) assert.deepEqual(s.circuitRemote, { active: true, new: true }, `seed ${seed}: lan2 untouched`);
      for (const s of live(a).sessions) assert.equal(s.circuitLocal.active, s.remoteEndId !== 'lan1');
      assert.equal(live(a).sessions.reduce((n, s) => n + s.sliTx, 0), 2, `seed ${seed}: one SLI per lan1 session`);
      const ev = v3EventsOf(b, 'v3-circuit-status');
      assert.equal(ev.length, 2);
      assert.ok(ev.every((e) => e.remoteEndId === 'lan1' && !e.status.active));
      a.engine.setCircuitStatus(net.now as Instant, 'lan1', true);
      net.run(net.now + 60_000);
      for (const s of byEnd('lan1')) assert.deepEqual(s.circuitRemote, { active: true, new: false }, `seed ${seed}: lan1 up again`);
      assert.equal(live(b).counters.sliRx, 4);
      assert.equal(live(b).sessions.reduce((n, s) => n + s.sliRx, 0), 4);
      // The sessions stayed up throughout: circuit status is information, not a teardown.
      assert.equal(v3EventsOf(a, 'v3-session-closed').length + v3EventsOf(b, 'v3-session-closed').length, 0);
    }
  });

  it('a circuit that is down when the call is placed is announced down in the ICRQ / OCRQ and the reply', () => {
    const { net, a, b } = pair(43, PERFECT, []);
    a.engine.setCircuitStatus(0 as Instant, 'lan1', false);
    b.engine.setCircuitStatus(0 as Instant, 'lan2', false);
    net.run(1000);
    const c = live(a);
    a.engine.openSession(net.now as Instant, c.localId, { ...OUT, remoteEndId: 'lan1' });
    a.engine.openSession(net.now as Instant, c.localId, { ...IN, remoteEndId: 'lan2' });
    net.run(3000);
    const atB = (end: string) => live(b).sessions.find((s) => s.remoteEndId === end);
    const atA = (end: string) => live(a).sessions.find((s) => s.remoteEndId === end);
    assert.deepEqual(atB('lan1')?.circuitRemote, { active: false, new: true }, 'OCRQ: A=0, N=1');
    assert.deepEqual(atA('lan2')?.circuitRemote, { active: false, new: true }, 'ICRP: A=0, N=1');
    assert.equal(atB('lan1')?.state, 'established', 'a down circuit does not refuse the call');
    assert.equal(live(a).counters.sliRx + live(b).counters.sliRx, 0, 'no SLI needed');
    // The circuit comes up after the call: one SLI.
    b.engine.setCircuitStatus(net.now as Instant, 'lan2', true);
    net.run(5000);
    assert.deepEqual(atA('lan2')?.circuitRemote, { active: true, new: false });
    assert.equal(live(a).counters.sliRx, 1);
  });

  it('WAN-Error-Notify is received, counted per session and connection, and reported with its Circuit Errors', () => {
    const { net, a, b } = pair(47, LOSSY, [OUT, IN]);
    net.run(60_000);
    const c = live(a);
    const s = c.sessions.find((x) => x.remoteEndId === 'lan2');
    assert.ok(s !== undefined);
    const errors = { hardwareOverruns: 1, bufferOverruns: 2, timeoutErrors: 3, alignmentErrors: 4 };
    a.engine.wanErrorNotify(net.now as Instant, c.localId, s.localSessionId, errors);
    a.engine.wanErrorNotify(net.now as Instant, c.localId, s.localSessionId, { ...errors, timeoutErrors: 9 });
    net.run(net.now + 60_000);
    const ev = v3EventsOf(b, 'v3-wan-error');
    assert.equal(ev.length, 2);
    assert.equal(ev[0]?.remoteEndId, 'lan2');
    assert.deepEqual(ev[0]?.errors, errors);
    const peer = live(b).sessions.find((x) => x.remoteEndId === 'lan2');
    assert.equal(peer?.wenRx, 2);
    assert.deepEqual(peer?.circuitErrors, { ...errors, timeoutErrors: 9 }, 'the last one is kept');
    assert.equal(live(b).counters.wenRx, 2);
    assert.equal(peer?.state, 'established', 'WEN is informational');
    assert.equal(live(b).sessions.find((x) => x.remoteEndId === 'lan1')?.wenRx, 0);
  });
});
