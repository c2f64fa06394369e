/**
 * The dynamic L2TPv3 control connection (RFC 3931) on the virtual clock: two `L2tpV3Engine`s, an
 * initiator behind a NAT and a responder with no peer configured; handshake with Message Digest and
 * Challenge tunnel auth under loss / reorder / duplication; the NAT-learning rule (an unauthenticated
 * or replayed packet never moves the learned address); wrong secret; keepalive loss and always-on
 * redial with backoff; an unknown M=1 AVP in a session message clears only that session.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../src/base/random.js';
import type { Duration, Instant } from '../../src/base/time.js';
import { defaultTuning, L2tpV3Engine, type PeerAddress, type V3ConnectionSettings, type V3EngineConfig, type V3SessionRequest } from '../../src/l2tp/index.js';
import { emitV3Control, parseV3Control, V3MessageType, controlConnectionId, v3SessionId, digestSharedKey } from '../../src/wire/l2tpv3/index.js';
import type { LinkProfile } from './harness.js';
import { V3SimNet, v3EventsOf, type V3Node } from './v3-harness.js';

const INSIDE: PeerAddress = { address: '192.0.2.10', port: 1701, family: 4 };
const NAT: PeerAddress = { address: '203.0.113.1', port: 40001, family: 4 };
const PUBLIC: PeerAddress = { address: '198.51.100.1', port: 1701, family: 4 };
const ATTACKER: PeerAddress = { address: '198.51.100.66', port: 1701, family: 4 };
const SECRET = new TextEncoder().encode('pw-secret');

const u16 = (b: Uint8Array, at: number): number => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
/** Message Type of a v3 control message over UDP (the first AVP's value, offset 18), or undefined for a ZLB. */
const messageTypeOf = (b: Uint8Array): number | undefined => (b.length > 12 ? u16(b, 18) : undefined);

const PERFECT: LinkProfile = { loss: 0, duplicate: 0, delay: 5, jitter: 0 };
const LOSSY: LinkProfile = { loss: 0.2, duplicate: 0.15, delay: 5, jitter: 40 };

function settings(host: string, routerId: number, over: Partial<V3ConnectionSettings> = {}): V3ConnectionSettings {
  return {
    hostName: host,
    routerId,
    vendorName: 'l2tpkit',
    secret: SECRET,
    messageDigest: 'md5',
    challenge: true,
    pwCapabilities: [5, 4],
    tuning: { ...defaultTuning(), helloInterval: 10_000 as Duration, helloMissCount: 3, retriesNotEstablished: 8, retriesEstablished: 8 },
    ...over,
  };
}

const REQUEST: V3SessionRequest = { remoteEndId: 'lan1', pseudowire: { pwType: 5, cookieLength: 8, sublayer: 'default', sequencing: false } };

function responderConfig(over: Partial<V3ConnectionSettings> = {}): V3EngineConfig {
  return {
    encapsulation: 'udp',
    acceptConnections: true,
    accept: settings('public-side', 0xc6336401, { allowedPeers: [{ hostName: 'branch', routerId: 0xc000020a }], ...over }),
    acceptPseudowires: { remoteEndIds: ['lan1', 'lan2'], cookieLength: 4, pwTypes: [5, 4], sequencing: false },
  };
}

/** A NAT'ed initiator dialing always-on, a responder with no peer. */
function pair(seed: number, link: LinkProfile, init: Partial<V3ConnectionSettings> = {}, resp: Partial<V3ConnectionSettings> = {}, sessions = [REQUEST]): { net: V3SimNet; a: V3Node; b: V3Node; dialer: number } {
  const net = new V3SimNet(seed, link);
  const a = net.add('initiator', INSIDE, new L2tpV3Engine({ ...responderConfig(), acceptConnections: false }, { random: seededRandom(seed + 1) }));
  const b = net.add('responder', PUBLIC, new L2tpV3Engine(responderConfig(resp), { random: seededRandom(seed + 2) }));
  net.behindNat = 'initiator';
  net.natAddress = NAT;
  const dialer = a.engine.dial(0 as Instant, {
    peer: PUBLIC,
    settings: settings('branch', 0xc000020a, init),
    sessions,
    backoffInitial: 1000 as Duration,
    backoffMax: 8000 as Duration,
  });
  return { net, a, b, dialer };
}

describe('L2TPv3 dynamic control connection (sim)', () => {
  it('comes up with Message Digest + Challenge, the session bindings mirror each other, every message carries a valid digest', () => {
    const { net, a, b } = pair(1, PERFECT);
    net.run(2000);
    const ea = v3EventsOf(a, 'v3-session-established');
    const eb = v3EventsOf(b, 'v3-session-established');
    assert.equal(ea.length, 1);
    assert.equal(eb.length, 1);
    const x = (ea[0] as (typeof ea)[0]).binding;
    const y = (eb[0] as (typeof eb)[0]).binding;
    assert.equal(x.localSessionId, y.peerSessionId);
    assert.equal(x.peerSessionId, y.localSessionId);
    assert.deepEqual(x.txCookie, y.rxCookie);
    assert.deepEqual(x.rxCookie, y.txCookie);
    assert.equal(x.rxCookie.length, 8, 'the initiator assigns an 8-byte cookie');
    assert.equal(y.rxCookie.length, 4, 'the responder assigns a 4-byte cookie');
    assert.equal(x.sublayer, 'default');
    assert.equal(y.sublayer, 'default');
    assert.equal((eb[0] as (typeof eb)[0]).remoteEndId, 'lan1');
    // The responder learned the NAT'ed address; data for its session goes there.
    assert.deepEqual(b.engine.sessionPeer(y.localSessionId), NAT);
    const conn = b.engine.connections()[0];
    assert.equal(conn?.remoteHostName, 'branch');
    assert.equal(conn?.state, 'established');
    // §6.15: with authentication there is no ZLB: every datagram has a Message Type and a digest.
    for (const n of [a, b]) {
      for (const s of n.sent) {
        assert.ok(s.data.length > 12, `${n.name} sent a ZLB`);
        assert.equal(u16(s.data, 24), 59, `${n.name} sent a message without Message Digest right after Message Type`);
      }
    }
    assert.ok([...a.sent, ...b.sent].some((s) => messageTypeOf(s.data) === V3MessageType.ACK), 'the explicit ACK replaced the ZLB');
  });

  it('comes up under 20% loss, 15% duplication and reordering, for several seeds, with HMAC-SHA1', () => {
    for (const seed of [3, 7, 11, 19, 23]) {
      const { net, a, b } = pair(seed, LOSSY, { messageDigest: 'sha1' }, { messageDigest: 'sha1' }, [REQUEST, { ...REQUEST, remoteEndId: 'lan2' }]);
      net.run(120_000);
      assert.equal(v3EventsOf(a, 'v3-session-established').length >= 2, true, `seed ${seed}: initiator sessions`);
      assert.equal(v3EventsOf(b, 'v3-session-established').length >= 2, true, `seed ${seed}: responder sessions`);
      const ca = a.engine.connections().find((c) => c.state === 'established');
      const cb = b.engine.connections().find((c) => c.state === 'established');
      assert.ok(ca !== undefined && cb !== undefined, `seed ${seed}: both established`);
      assert.equal(ca.sessions.filter((s) => s.state === 'established').length, 2);
      assert.equal(cb.sessions.filter((s) => s.state === 'established').length, 2);
      assert.ok(ca.counters.retransmits + cb.counters.retransmits > 0, `seed ${seed}: the loss was felt`);
    }
  });

  it('NAT learning: an authenticated new message moves the address; forged, unauthenticated and replayed packets never do', () => {
    const { net, a, b } = pair(5, PERFECT);
    net.run(2000);
    const conn = () => b.engine.connections()[0];
    assert.deepEqual(conn()?.peer, NAT);
    // The NAT rebinds; the initiator's next HELLO comes from the new port.
    const rebound: PeerAddress = { ...NAT, port: 40777 };
    net.natAddress = rebound;
    net.run(14_000);
    assert.deepEqual(conn()?.peer, rebound, 'the authenticated HELLO moved the peer');
    assert.equal(conn()?.counters.peerMoves, 1);
    // Replay of an authenticated message the responder already received, from the attacker.
    const old = a.sent.find((s) => messageTypeOf(s.data) === V3MessageType.ICCN);
    assert.ok(old !== undefined);
    net.inject(ATTACKER, PUBLIC, old.data);
    // A forged HELLO with a wrong digest key, and one with no digest at all.
    const c = conn();
    assert.ok(c !== undefined);
    const hello = { connectionId: c.localId, ns: c.nr, nr: c.ns, type: V3MessageType.HELLO, avps: {} };
    net.inject(ATTACKER, PUBLIC, emitV3Control(hello, { encapsulation: 'udp', auth: { sharedKeys: [digestSharedKey(new TextEncoder().encode('guess'))], localNonce: new Uint8Array(16), remoteNonce: new Uint8Array(16) } }));
    net.inject(ATTACKER, PUBLIC, emitV3Control(hello, { encapsulation: 'udp' }));
    net.run(14_100);
    assert.deepEqual(conn()?.peer, rebound, 'nothing unauthenticated moved the peer');
    assert.equal(conn()?.counters.peerMoves, 1);
    assert.ok((conn()?.counters.authFailures ?? 0) >= 2, 'the forged ones were counted as auth failures');
    assert.ok((conn()?.counters.foreignSource ?? 0) >= 1, 'the replay was counted as foreign');
    assert.equal(conn()?.state, 'established');
    net.run(60_000);
    assert.equal(conn()?.state, 'established', 'the connection survived');
  });

  it('NAT learning without Message Digest: the address learned at SCCRQ never moves', () => {
    const { net, b } = pair(6, PERFECT, { messageDigest: undefined }, { messageDigest: undefined });
    net.run(2000);
    assert.equal(b.engine.connections()[0]?.state, 'established');
    net.natAddress = { ...NAT, port: 40999 };
    net.run(14_000);
    assert.deepEqual(b.engine.connections()[0]?.peer, NAT);
    assert.ok((b.engine.connections()[0]?.counters.foreignSource ?? 0) >= 1);
  });

  it('a wrong secret is refused: no connection at the responder, the initiator redials with doubling backoff', () => {
    const { net, a, b } = pair(8, PERFECT, { secret: new TextEncoder().encode('wrong') });
    net.run(200_000);
    assert.equal(v3EventsOf(b, 'v3-established').length, 0);
    assert.equal(v3EventsOf(a, 'v3-established').length, 0);
    assert.ok(v3EventsOf(b, 'v3-auth-failed').length > 0);
    assert.equal(b.engine.connectionCount, 0, 'an unauthenticated SCCRQ creates nothing');
    const redials = v3EventsOf(a, 'v3-redial');
    assert.ok(redials.length >= 2);
    assert.ok(redials.every((r, i) => r.attempt === i + 1));
  });

  it('a wrong Challenge secret (no digest) is refused with StopCCN 4', () => {
    const { net, a, b } = pair(9, PERFECT, { secret: new TextEncoder().encode('wrong'), messageDigest: undefined }, { messageDigest: undefined });
    net.run(5000);
    assert.equal(v3EventsOf(b, 'v3-established').length, 0);
    assert.equal(v3EventsOf(a, 'v3-established').length, 0);
    const stops = a.sent.map((s) => parseV3Control(s.data, { encapsulation: 'udp' })).filter((r) => r.ok && r.value.type === V3MessageType.StopCCN);
    assert.ok(stops.some((r) => r.ok && r.value.avps.resultCode?.result === 4), 'the initiator sent StopCCN 4');
    assert.ok(v3EventsOf(a, 'v3-auth-failed').some((e) => e.detail === 'bad-challenge-response'));
  });

  it('an identity that does not match is refused', () => {
    const { net, b } = pair(10, PERFECT, { hostName: 'stranger' });
    net.run(5000);
    assert.equal(v3EventsOf(b, 'v3-established').length, 0);
    assert.ok(v3EventsOf(b, 'v3-auth-failed').some((e) => e.detail === 'not-authorized'));
  });

  it('keepalive: a dead link is detected after interval x count, and always-on redials until it is back', () => {
    const { net, a, b } = pair(12, PERFECT);
    net.run(2000);
    assert.equal(v3EventsOf(a, 'v3-session-established').length, 1);
    net.down = true;
    const cut = net.now;
    net.run(cut + 60_000);
    const ka = v3EventsOf(a, 'v3-keepalive-expired');
    assert.ok(ka.length >= 1 || v3EventsOf(a, 'v3-closed').length >= 1, 'initiator noticed');
    assert.ok(v3EventsOf(b, 'v3-keepalive-expired').length >= 1 || v3EventsOf(b, 'v3-closed').length >= 1, 'responder noticed');
    assert.ok(v3EventsOf(a, 'v3-redial').length >= 1);
    net.down = false;
    net.run(cut + 200_000);
    assert.equal(v3EventsOf(a, 'v3-session-established').length, 2, 'the session came back');
    assert.ok(a.engine.connections().some((c) => c.state === 'established'));
  });

  it('an unknown M=1 AVP in a session message clears only that session (CDN), not the connection', () => {
    const { net, b } = pair(14, PERFECT, { messageDigest: undefined, challenge: false }, { messageDigest: undefined, challenge: false }, [REQUEST, { ...REQUEST, remoteEndId: 'lan2' }]);
    net.run(2000);
    const c = b.engine.connections()[0];
    assert.ok(c !== undefined && c.sessions.length === 2);
    const victim = c.sessions[0];
    assert.ok(victim !== undefined);
    const sli = {
      connectionId: controlConnectionId(c.localId),
      ns: c.nr,
      nr: c.ns,
      type: V3MessageType.SLI,
      avps: {
        localSessionId: v3SessionId(victim.remoteSessionId),
        remoteSessionId: v3SessionId(victim.localSessionId),
        unknown: [{ vendorId: 0, attribute: 999, mandatory: true, hidden: false, value: Uint8Array.of(1, 2) }],
      },
    };
    const before = b.sent.length;
    b.engine.handleDatagram(net.now as Instant, emitV3Control(sli, { encapsulation: 'udp' }), NAT);
    const after = b.engine.connections()[0];
    assert.equal(after?.state, 'established');
    assert.equal(after?.sessions.length, 1);
    const out: number[] = [];
    for (let t = b.engine.pollTransmit(); t !== undefined; t = b.engine.pollTransmit()) {
      const pr = parseV3Control(t.data, { encapsulation: 'udp' });
      if (pr.ok && pr.value.type !== undefined) out.push(pr.value.type);
      if (pr.ok && pr.value.type === V3MessageType.CDN) assert.deepEqual(pr.value.avps.resultCode, { result: 2, error: 8, message: 'unknown mandatory AVP' });
    }
    assert.deepEqual(out, [V3MessageType.CDN]);
    assert.equal(b.sent.length, before);
  });

  it('a burst of malformed control packets (truncations, bit flips, random bytes, bogus ids) is counted and leaves the pseudowire up', () => {
    const { net, a, b } = pair(16, PERFECT);
    net.run(2000);
    const rnd = seededRandom(99);
    let injected = 0;
    for (const s of a.sent.slice(0, 6)) {
      for (let n = 0; n < s.data.length; n += 3) {
        net.inject(NAT, PUBLIC, s.data.subarray(0, n));
        injected++;
      }
      for (let k = 0; k < 20; k++) {
        const flipped = new Uint8Array(s.data);
        const at = rnd.u32() % flipped.length;
        flipped[at] = (flipped[at] ?? 0) ^ (1 << (rnd.u32() % 8));
        net.inject(k % 2 === 0 ? NAT : ATTACKER, PUBLIC, flipped);
        injected++;
      }
    }
    for (let k = 0; k < 200; k++) {
      const junk = rnd.bytes(rnd.u32() % 120);
      if (junk.length > 1) junk[1] = 3; // mostly L2TPv3-looking
      net.inject(ATTACKER, PUBLIC, junk);
      injected++;
    }
    net.run(40_000);
    const c = b.engine.connections().find((x) => x.state === 'established');
    assert.ok(c !== undefined, 'the connection survived');
    assert.equal(c.sessions.filter((x) => x.state === 'established').length, 1, 'the session survived');
    assert.deepEqual(c.peer, NAT, 'nothing moved the peer');
    const counted = c.counters.authFailures + c.counters.foreignSource + v3EventsOf(b, 'v3-bad-datagram').length + v3EventsOf(b, 'v3-auth-failed').length;
    assert.ok(counted >= injected / 2, `counted ${counted} of ${injected}`);
    assert.equal(v3EventsOf(b, 'v3-session-closed').length, 0);
  });
});
