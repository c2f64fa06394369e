/**
 * The RADIUS client core on a virtual clock, authentication side: request attributes (RFC 2865
 * §4.1, §5.2, §5.3, RFC 2548 §2.3.2), matching and Blast-RADIUS rules, the retransmission schedule
 * at exact instants, failover, dead-time, Status-Server probes (RFC 5997), weighted selection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../base/random.js';
import { instant, type Instant } from '../../base/time.js';
import {
  MS_ATTR,
  RADIUS_ATTR,
  RADIUS_CODE,
  attributeValue,
  encodeAttribute,
  saltSource,
  type RadiusAttribute,
} from '../../wire/radius/index.js';
import type { RadiusClient, RadiusClientOptions } from './client.js';
import { answer, seeRequest, takeEvents, takeTransmits, testClient } from '../../../test/lib/radius-client.js';
import type { RadiusAuthAnswer, RadiusServerConfig, RadiusTransmit } from './types.js';

const SECRET = 'test-secret';
const secret = new TextEncoder().encode(SECRET);
const t = (ms: number): Instant => instant(ms);

const server = (name: string, address: string, extra: Partial<RadiusServerConfig> = {}): RadiusServerConfig => ({ name, address, secret: SECRET, timeoutMs: 1000, retries: 2, deadTimeMs: 30_000, ...extra });

function client(o: Partial<RadiusClientOptions> = {}): RadiusClient {
  return testClient({
    seed: 42,
    authServers: [server('a', '192.0.2.1')],
    nas: { ipAddress: '198.51.100.1', identifier: 'l2tpkit-test' },
    ...o,
  });
}

const sent = takeTransmits;
const events = takeEvents;
const answers = (c: RadiusClient): RadiusAuthAnswer[] => events(c).flatMap((e) => (e.type === 'auth-answer' ? [e.answer] : []));
const attr = <T>(def: Parameters<typeof encodeAttribute<T>>[0], v: T, tag?: number, salt?: Uint8Array): RadiusAttribute => {
  const a = encodeAttribute(def, v, { ...(tag !== undefined ? { tag } : {}), ...(salt !== undefined ? { crypto: { secret, requestAuthenticator: salt, salt: saltSource(seededRandom(3)) } } : {}) });
  assert.ok(a.ok, JSON.stringify(a));
  return a.value;
};
const from = (address: string, port = 1812): { address: string; port: number } => ({ address, port });

const PAP = { username: 'alice', credentials: { method: 'pap', password: 'wonderland' } } as const;

test('PAP Access-Request: Message-Authenticator first and valid, password hidden under this server\'s secret, NAS and session attributes', () => {
  const c = client();
  c.authenticate(t(0), { ...PAP, session: { nasPort: 7, acctSessionId: 'sess-1', callingStationId: '203.0.113.9', tunnel: [{ tag: 1, type: 3, mediumType: 1, clientEndpoint: '203.0.113.9', serverEndpoint: '198.51.100.1', assignmentId: 'lac1', clientAuthId: 'lac', serverAuthId: 'lns', connectionId: '5/9' }] } });
  const [tx] = sent(c);
  assert.ok(tx !== undefined);
  assert.deepEqual(tx.to, { address: '192.0.2.1', port: 1812 });
  const seen = seeRequest(tx.data, secret);
  assert.equal(seen.packet.code, RADIUS_CODE.AccessRequest);
  assert.equal(seen.firstAttributeType, RADIUS_ATTR.MessageAuthenticator.type);
  assert.equal(seen.check.messageAuthenticatorOk, true);
  const a = seen.decoded.attributes;
  assert.equal(attributeValue(a, RADIUS_ATTR.UserPassword), 'wonderland');
  assert.equal(attributeValue(a, RADIUS_ATTR.NasIdentifier), 'l2tpkit-test');
  assert.equal(attributeValue(a, RADIUS_ATTR.NasIpAddress), 0xc6336401);
  assert.equal(attributeValue(a, RADIUS_ATTR.NasPortType), 5);
  assert.equal(attributeValue(a, RADIUS_ATTR.ServiceType), 2);
  assert.equal(attributeValue(a, RADIUS_ATTR.FramedProtocol), 1);
  assert.equal(attributeValue(a, RADIUS_ATTR.AcctSessionId), 'sess-1');
  const tt = a.find((x) => x.def === RADIUS_ATTR.TunnelType);
  assert.deepEqual([tt?.tag, tt?.value], [1, 3]);
  assert.equal(attributeValue(a, RADIUS_ATTR.AcctTunnelConnection), '5/9');
  assert.equal(a.find((x) => x.def === RADIUS_ATTR.TunnelServerAuthId)?.value, 'lns');
});

test('CHAP-MD5 and MS-CHAPv2 credentials become CHAP-Password + CHAP-Challenge and MS-CHAP-Challenge + MS-CHAP2-Response', () => {
  const c = client();
  const challenge = Uint8Array.from({ length: 16 }, (_, i) => i);
  c.authenticate(t(0), { username: 'bob', credentials: { method: 'chap-md5', identifier: 9, challenge, response: new Uint8Array(16).fill(7) } });
  c.authenticate(t(0), { username: 'carol', credentials: { method: 'mschapv2', identifier: 4, authenticatorChallenge: challenge, peerChallenge: new Uint8Array(16).fill(1), ntResponse: new Uint8Array(24).fill(2) } });
  const [chap, ms] = sent(c).map((x) => seeRequest(x.data, secret).decoded.attributes);
  assert.deepEqual(attributeValue(chap ?? [], RADIUS_ATTR.ChapPassword), Uint8Array.of(9, ...new Uint8Array(16).fill(7)));
  assert.deepEqual(attributeValue(chap ?? [], RADIUS_ATTR.ChapChallenge), challenge);
  assert.deepEqual(attributeValue(ms ?? [], MS_ATTR.ChapChallenge), challenge);
  const r = attributeValue(ms ?? [], MS_ATTR.Chap2Response);
  assert.deepEqual([r?.[0], r?.[1], r?.[2], r?.[26]], [4, 0, 1, 2]);
  // A CHAP response of the wrong size is an error answer, nothing is sent.
  c.authenticate(t(0), { username: 'x', credentials: { method: 'chap-md5', identifier: 1, challenge, response: new Uint8Array(15) } });
  assert.equal(sent(c).length, 0);
  assert.equal(answers(c).at(-1)?.kind, 'error');
});

test('Access-Accept: typed reply with tunnels grouped by tag, Tunnel-Password decrypted, Class, DNS, pool, routes', () => {
  const c = client();
  const id = c.authenticate(t(0), PAP);
  const [tx] = sent(c);
  const req = seeRequest((tx as RadiusTransmit).data, secret).packet;
  const ra = req.authenticator;
  const reply = [
    attr(RADIUS_ATTR.FramedIpAddress, 0x64400909),
    attr(RADIUS_ATTR.FramedPool, 'gold'),
    attr(RADIUS_ATTR.FramedRoute, '198.51.100.0/24 0.0.0.0 1'),
    attr(RADIUS_ATTR.SessionTimeout, 3600),
    attr(RADIUS_ATTR.IdleTimeout, 600),
    attr(RADIUS_ATTR.AcctInterimInterval, 300),
    attr(RADIUS_ATTR.Class, Uint8Array.of(1, 2, 3)),
    attr(RADIUS_ATTR.Class, Uint8Array.of(4)),
    attr(MS_ATTR.PrimaryDnsServer, 0xcb007135),
    attr(MS_ATTR.SecondaryDnsServer, 0xcb007136),
    attr(RADIUS_ATTR.TunnelType, 3, 2),
    attr(RADIUS_ATTR.TunnelServerEndpoint, '192.0.2.20', 2),
    attr(RADIUS_ATTR.TunnelPassword, 'tunnel-two', 2, ra),
    attr(RADIUS_ATTR.TunnelType, 3, 1),
    attr(RADIUS_ATTR.TunnelServerEndpoint, '192.0.2.10', 1),
    attr(RADIUS_ATTR.TunnelPreference, 1, 1),
    attr(RADIUS_ATTR.ReplyMessage, 'welcome'),
  ];
  c.handleDatagram(t(40), answer(req, secret, RADIUS_CODE.AccessAccept, reply), from('192.0.2.1'));
  const ev = events(c);
  const a = ev.find((e) => e.type === 'auth-answer');
  assert.ok(a?.type === 'auth-answer' && a.request === id && a.answer.kind === 'accept');
  const r = a.answer.reply;
  assert.equal(r.framedIpAddress, '100.64.9.9');
  assert.equal(r.framedPool, 'gold');
  assert.deepEqual(r.framedRoutes, ['198.51.100.0/24 0.0.0.0 1']);
  assert.deepEqual([r.sessionTimeout, r.idleTimeout, r.acctInterimInterval], [3600, 600, 300]);
  assert.deepEqual(r.classes, [Uint8Array.of(1, 2, 3), Uint8Array.of(4)]);
  assert.deepEqual(r.dnsServers, ['203.0.113.53', '203.0.113.54']);
  assert.deepEqual(r.replyMessages, ['welcome']);
  assert.deepEqual(r.tunnels, [
    { tag: 1, type: 3, serverEndpoint: '192.0.2.10', preference: 1 },
    { tag: 2, type: 3, serverEndpoint: '192.0.2.20', password: 'tunnel-two' },
  ]);
  const snap = c.snapshot().servers[0];
  assert.equal(snap?.stats.accepts, 1);
  assert.equal(snap?.stats.lastRttMs, 40);
  assert.equal(snap?.pending, 0);
});

test('Blast-RADIUS: an Accept without Message-Authenticator is dropped and counted; the request stays pending; the per-server knob allows it', () => {
  const c = client();
  c.authenticate(t(0), PAP);
  const req = seeRequest((sent(c)[0] as RadiusTransmit).data, secret).packet;
  c.handleDatagram(t(10), answer(req, secret, RADIUS_CODE.AccessAccept, [], { messageAuthenticator: false }), from('192.0.2.1'));
  assert.deepEqual(events(c), [{ type: 'datagram-dropped', server: 'a', reason: 'missing-message-authenticator' }]);
  assert.equal(c.snapshot().servers[0]?.stats.missingMessageAuthenticators, 1);
  assert.equal(c.snapshot().pendingAuth, 1);
  // A valid one still completes it.
  c.handleDatagram(t(20), answer(req, secret, RADIUS_CODE.AccessReject, [attr(RADIUS_ATTR.ReplyMessage, 'no')]), from('192.0.2.1'));
  const a = answers(c)[0];
  assert.ok(a?.kind === 'reject' && a.reason === 'rejected');
  assert.deepEqual(a.reply.replyMessages, ['no']);

  const lax = client({ authServers: [server('a', '192.0.2.1', { requireMessageAuthenticator: false })] });
  lax.authenticate(t(0), PAP);
  const r2 = seeRequest((sent(lax)[0] as RadiusTransmit).data, secret).packet;
  lax.handleDatagram(t(10), answer(r2, secret, RADIUS_CODE.AccessAccept, [], { messageAuthenticator: false }), from('192.0.2.1'));
  assert.equal(answers(lax)[0]?.kind, 'accept');
});

test('forged and stray answers never match: wrong secret, wrong Identifier, wrong source, bad Message-Authenticator, unexpected code', () => {
  const c = client();
  c.authenticate(t(0), PAP);
  const req = seeRequest((sent(c)[0] as RadiusTransmit).data, secret).packet;
  const other = new TextEncoder().encode('guess');
  c.handleDatagram(t(1), answer(req, other, RADIUS_CODE.AccessAccept), from('192.0.2.1'));
  c.handleDatagram(t(2), answer(req, secret, RADIUS_CODE.AccessAccept, [], { identifier: (req.identifier + 1) & 0xff }), from('192.0.2.1'));
  c.handleDatagram(t(3), answer(req, secret, RADIUS_CODE.AccessAccept), from('192.0.2.1', 1813));
  c.handleDatagram(t(4), answer(req, secret, RADIUS_CODE.AccessAccept), from('192.0.2.99'));
  const badMa = answer(req, secret, RADIUS_CODE.AccessAccept);
  badMa[22] = (badMa[22] as number) ^ 0xff; // inside the Message-Authenticator: breaks both checks
  c.handleDatagram(t(5), badMa, from('192.0.2.1'));
  c.handleDatagram(t(6), answer(req, secret, RADIUS_CODE.AccountingResponse), from('192.0.2.1'));
  c.handleDatagram(t(7), Uint8Array.of(2, req.identifier, 0, 4), from('192.0.2.1'));
  assert.deepEqual(
    events(c).map((e) => (e.type === 'datagram-dropped' ? e.reason : e.type)),
    ['bad-authenticator', 'no-pending-request', 'unknown-source', 'unknown-source', 'bad-authenticator', 'unexpected-code', 'malformed'],
  );
  const s = c.snapshot();
  assert.equal(s.servers[0]?.stats.badAuthenticators, 2);
  assert.equal(s.servers[0]?.stats.unmatched, 1);
  assert.equal(s.unknownSource, 2);
  assert.equal(s.pendingAuth, 1);
  c.handleDatagram(t(8), answer(req, secret, RADIUS_CODE.AccessAccept), from('192.0.2.1'));
  assert.equal(answers(c)[0]?.kind, 'accept');
  // The same answer again: nothing pending any more.
  c.handleDatagram(t(9), answer(req, secret, RADIUS_CODE.AccessAccept), from('192.0.2.1'));
  assert.deepEqual(events(c), [{ type: 'datagram-dropped', server: 'a', reason: 'no-pending-request' }]);
});

test('retransmission schedule: identical packet at exactly timeout, retries times; then failover to the next priority', () => {
  const c = client({ authServers: [server('a', '192.0.2.1'), server('b', '192.0.2.2', { priority: 2 })] });
  c.authenticate(t(0), PAP);
  const first = sent(c);
  assert.equal(first.length, 1);
  assert.equal(c.pollAt(), t(1000));
  c.handleTimeout(t(999));
  assert.equal(sent(c).length, 0, 'nothing at timeout - 1');
  c.handleTimeout(t(1000));
  const again = sent(c);
  assert.equal(again.length, 1);
  assert.deepEqual(again[0]?.data, first[0]?.data, 'RFC 5080 §2.2.1: same Identifier and authenticator');
  c.handleTimeout(t(2000));
  assert.equal(sent(c).length, 1);
  assert.equal(c.pollAt(), t(3000));
  c.handleTimeout(t(3000));
  const fo = sent(c);
  assert.deepEqual(fo.map((x) => x.server), ['b']);
  assert.deepEqual(events(c), [{ type: 'server-down', server: 'a', kind: 'auth', until: t(33_000) }]);
  const snapA = c.snapshot().servers[0];
  assert.deepEqual([snapA?.stats.requests, snapA?.stats.retransmissions, snapA?.stats.timeouts, snapA?.state], [1, 2, 1, 'dead']);
  // b answers; a stays dead; new requests go straight to b until the dead-time is over.
  const req = seeRequest((fo[0] as RadiusTransmit).data, secret).packet;
  c.handleDatagram(t(3100), answer(req, secret, RADIUS_CODE.AccessAccept), from('192.0.2.2'));
  assert.ok(answers(c)[0]?.kind === 'accept');
  c.authenticate(t(5000), PAP);
  assert.deepEqual(sent(c).map((x) => x.server), ['b']);
  assert.equal(c.pollAt(), t(6000));
  c.handleTimeout(t(33_000));
  assert.ok(events(c).some((e) => e.type === 'server-up' && e.server === 'a' && e.via === 'dead-time-over'));
  c.authenticate(t(33_001), PAP);
  assert.deepEqual(sent(c).map((x) => x.server).at(-1), 'a');
});

test('no server answers: timeout answer naming every server tried; with all dead, they are still tried', () => {
  const c = client({ authServers: [server('a', '192.0.2.1', { retries: 0 }), server('b', '192.0.2.2', { retries: 0, priority: 2 })] });
  c.authenticate(t(0), PAP);
  c.handleTimeout(t(1000));
  c.handleTimeout(t(2000));
  assert.deepEqual(sent(c).map((x) => x.server), ['a', 'b']);
  assert.deepEqual(answers(c), [{ kind: 'timeout', servers: ['a', 'b'] }]);
  // Both dead now: the next request still goes out (to the one whose dead-time ends first).
  c.authenticate(t(3000), PAP);
  assert.deepEqual(sent(c).map((x) => x.server), ['a']);
  const none = client({ authServers: [] });
  none.authenticate(t(0), PAP);
  assert.deepEqual(answers(none), [{ kind: 'timeout', servers: [] }]);
});

test('Status-Server (RFC 5997): a dead server is probed at the end of its dead-time and revived only when it answers', () => {
  const c = client({ authServers: [server('a', '192.0.2.1', { retries: 0, deadTimeMs: 5000, statusServer: true }), server('b', '192.0.2.2', { priority: 2 })] });
  c.authenticate(t(0), PAP);
  c.handleTimeout(t(1000));
  sent(c);
  events(c);
  assert.equal(c.pollAt(), t(2000)); // b's retransmission comes before a's probe at 6000
  c.handleTimeout(t(6000));
  const probe = sent(c).find((x) => x.server === 'a');
  assert.ok(probe !== undefined);
  const p = seeRequest(probe.data, secret);
  assert.equal(p.packet.code, RADIUS_CODE.StatusServer);
  assert.equal(p.check.messageAuthenticatorOk, true);
  // The probe times out: still dead, next probe after another dead-time.
  c.handleTimeout(t(7000));
  assert.equal(c.snapshot().servers[0]?.state, 'dead');
  c.handleTimeout(t(12_000));
  const probe2 = sent(c).find((x) => x.server === 'a');
  assert.ok(probe2 !== undefined);
  const p2 = seeRequest(probe2.data, secret).packet;
  c.handleDatagram(t(12_010), answer(p2, secret, RADIUS_CODE.AccessAccept, [], { messageAuthenticator: false }), from('192.0.2.1'));
  assert.ok(events(c).some((e) => e.type === 'server-up' && e.server === 'a' && e.via === 'status-server'));
  assert.equal(c.snapshot().servers[0]?.stats.statusProbes, 2);
});

test('weights share requests among servers of one priority (3:1 over 4000 requests, seeded)', () => {
  const c = client({ authServers: [server('a', '192.0.2.1', { weight: 3 }), server('b', '192.0.2.2', { weight: 1 }), server('c', '192.0.2.3', { priority: 5 })] });
  const count = new Map<string, number>();
  for (let i = 0; i < 4000; i++) {
    c.authenticate(t(0), PAP);
    for (const x of sent(c)) count.set(x.server, (count.get(x.server) ?? 0) + 1);
    c.cancel(i + 1 as never);
  }
  const a = count.get('a') ?? 0;
  assert.ok(a > 2800 && a < 3200, `a got ${a}`);
  assert.equal(count.get('c'), undefined);
  assert.equal(c.snapshot().servers[0]?.pending, 0, 'cancel frees the Identifiers');
});

test('MS-CHAPv2: an Accept without MS-CHAP2-Success is a reject; with it, the authenticator response is typed', () => {
  const c = client();
  const cred = { method: 'mschapv2', identifier: 1, authenticatorChallenge: new Uint8Array(16), peerChallenge: new Uint8Array(16), ntResponse: new Uint8Array(24) } as const;
  c.authenticate(t(0), { username: 'u', credentials: cred });
  c.authenticate(t(0), { username: 'u', credentials: cred });
  const [x, y] = sent(c).map((s) => seeRequest(s.data, secret).packet);
  c.handleDatagram(t(1), answer(x as never, secret, RADIUS_CODE.AccessAccept), from('192.0.2.1'));
  const success = Uint8Array.of(1, ...new TextEncoder().encode('S=407A5589115FD0D6209F510FE9C04566932CDA56'));
  c.handleDatagram(t(2), answer(y as never, secret, RADIUS_CODE.AccessAccept, [attr(MS_ATTR.Chap2Success, success)]), from('192.0.2.1'));
  const [a1, a2] = answers(c);
  assert.ok(a1?.kind === 'reject' && a1.reason === 'no-ms-chap2-success');
  assert.ok(a2?.kind === 'accept');
  assert.equal(Buffer.from(a2.reply.msChap2Success?.authenticatorResponse ?? []).toString('hex'), '407a5589115fd0d6209f510fe9c04566932cda56');
});

test('RFC 6929 §2.8: an Accept with a malformed attribute is not honoured', () => {
  const c = client();
  c.authenticate(t(0), PAP);
  const req = seeRequest((sent(c)[0] as RadiusTransmit).data, secret).packet;
  c.handleDatagram(t(1), answer(req, secret, RADIUS_CODE.AccessAccept, [{ type: 8, vendor: 0, value: Uint8Array.of(1, 2, 3) }]), from('192.0.2.1'));
  const a = answers(c)[0];
  assert.ok(a?.kind === 'reject' && a.reason === 'malformed-accept');
});
