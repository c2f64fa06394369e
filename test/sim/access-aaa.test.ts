/**
 * The LNS with AAA on, end to end on the virtual clock: a RADIUS stand-in answers every
 * `auth-request` (checking the credentials like a server would) with an authorization; the tests
 * check what the session gets (Framed-IP-Address inside and outside the pools, Framed-Pool,
 * Framed-Route, Framed-MTU, MS DNS into IPCP), the accounting records (Start / Interim / Stop with
 * the data-path counters, Session-Time, Terminate-Cause from the real ending, Class echoed), the
 * session timers (Session-Timeout, Idle-Timeout at exact instants), rejects with the Reply-Message,
 * and the RFC 5176 session table (find, disconnect, CoA).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_AUTHORIZATION, UserTable, type AccessAuthResult, type AccessEvent, type SessionAuthorization } from '../../src/access/index.js';
import { verifyLocally, type AuthProtocol, type AuthRequest } from '../../src/ppp/index.js';
import { TERMINATE_CAUSE } from '../../src/wire/radius/index.js';
import type { AccountingRecord } from '../../src/aaa/radius/index.js';
import { seconds, type Duration } from '../../src/base/time.js';
import { AccessNet, clientOf, simServerConfig, simUsers, type SimClient } from './access-harness.js';
import { parseIpv4, parseIpv4Prefix } from '../../src/base/index.js';

const ip = (s: string): number => {
  const n = parseIpv4(s);
  assert.ok(n !== undefined, s);
  return n;
};
const prefix = (s: string) => {
  const p = parseIpv4Prefix(s);
  assert.ok(p.ok, s);
  return p.value;
};
const auth = (over: Partial<SessionAuthorization> = {}): SessionAuthorization => ({ ...NO_AUTHORIZATION, ...over });

/** IPv4 UDP packet of `payload` octets. */
function udp4(src: string, dst: string, payload = 8): Uint8Array {
  const p = new Uint8Array(28 + payload);
  const a = ip(src);
  const b = ip(dst);
  p.set([0x45, 0, 0, 28 + payload, 0, 2, 0, 0, 64, 17, 0, 0, a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255, b >>> 24, (b >>> 16) & 255, (b >>> 8) & 255, b & 255]);
  p.set([0x30, 0x39, 0, 53, 0, 8 + payload, 0, 0], 20);
  return p;
}

/** The stand-in's answer for one user: accept with `authorization`, or reject with a Reply-Message. */
type Answer = { readonly authorization: SessionAuthorization } | { readonly reject: string } | { readonly hold: true };

/** An LNS with AAA and a RADIUS stand-in that checks the password of the users table. */
function aaaNet(answers: Readonly<Record<string, Answer>>, o: { interim?: Duration; interimMinimum?: Duration; named?: Record<string, string>; hello?: number; external?: boolean } = {}): AccessNet {
  const users: UserTable = simUsers();
  const net = new AccessNet(
    simServerConfig({
      auth: ['chap-md5', 'mschapv2', 'pap'],
      namedPools: new Map(Object.entries(o.named ?? { gold: '100.64.8.0/24' }).map(([k, v]) => [k, prefix(v)])),
      aaa: {
        external: o.external ?? true,
        accounting: true,
        sessionIdPrefix: 'feed0001-',
        wallClock: (now) => 1_700_000_000_000 + now,
        ...(o.interim !== undefined ? { interimInterval: o.interim } : {}),
        ...(o.interimMinimum !== undefined ? { interimMinimum: o.interimMinimum } : {}),
        tunnelServer: { endpoint: '198.18.0.2', hostName: 'lns' },
      },
    }),
    o.hello ?? 60,
  );
  net.onServerEvent = (e) => {
    if (e.type !== 'auth-request') return;
    const a = answers[e.request.username] ?? { reject: 'unknown user' };
    if ('hold' in a) return;
    const checked = verifyLocally(e.request, users);
    const r: AccessAuthResult =
      'reject' in a || !checked.ok
        ? { decision: { ok: false, message: 'reject' in a ? a.reject : 'wrong password' }, source: 'radius', server: 'rad1' }
        : { decision: { ...checked, ...(a.authorization.dns.length > 0 ? { dns: a.authorization.dns } : {}) }, source: 'radius', server: 'rad1', authorization: a.authorization };
    net.server.authResult(net.at, e.tunnel, e.session, r);
  };
  return net;
}

function up(net: AccessNet, username = 'alice', password = 'wonderland', method: AuthProtocol[] = ['chap-md5']): SimClient {
  const t = net.openTunnel();
  const c = net.dial(t, { username, password, auth: method, ipv6: false });
  net.advance(5000);
  return c;
}

const records = (net: AccessNet): AccountingRecord[] => net.serverOf('accounting').map((e) => e.record);

test('RADIUS accept: Framed-IP-Address outside the pools, MS DNS into IPCP, Class; Start and Stop with exact counters', () => {
  const cls = Uint8Array.of(1, 2, 3);
  const net = aaaNet({ alice: { authorization: auth({ framedAddress: ip('198.51.100.77'), dns: ['203.0.113.53', '203.0.113.54'], classes: [cls] }) } });
  const c = up(net);
  const upEv = clientOf(c, 'up')[0];
  assert.equal(upEv?.address, '198.51.100.77');
  assert.deepEqual(upEv?.dns, ['203.0.113.53', '203.0.113.54']);
  // The address is in no pool: the kernel must route it into the TUN, and stop again at the end.
  assert.deepEqual(net.serverOf('kernel-routes').map((e) => [e.op, e.prefixes]), [['add', ['198.51.100.77/32']]]);
  const req = net.serverOf('auth-request')[0];
  assert.ok(req !== undefined && req.attributes !== undefined);
  const a = req.attributes;
  assert.equal(a.nasPort, req.tunnel * 0x10000 + req.session);
  assert.equal(a.nasPortId, `${req.tunnel}/${req.session}`);
  assert.match(a.acctSessionId ?? '', /^feed0001-[0-9a-f]{8}$/);
  assert.deepEqual(a.tunnel?.[0], { type: 3, mediumType: 1, clientEndpoint: '198.18.0.1', serverEndpoint: '198.18.0.2', connectionId: `${req.tunnel}/${req.session}`, assignmentId: String(req.tunnel), clientAuthId: 'lac', serverAuthId: 'lns' });
  // Traffic both ways, counted by the data path.
  for (let i = 0; i < 3; i++) assert.ok(c.client.handleTunPacket(net.at, udp4('198.51.100.77', '198.18.1.1', 100 + i)));
  for (let i = 0; i < 2; i++) assert.ok(net.server.handleTunPacket(net.at, udp4('198.18.1.1', '198.51.100.77', 50)));
  net.advance(61_000);
  c.client.close(net.at);
  net.advance(5000);
  const logout = net.serverOf('logout')[0];
  assert.ok(logout !== undefined);
  const rs = records(net);
  assert.deepEqual(rs.map((r) => r.status), ['start', 'stop']);
  const [start, stop] = rs as [AccountingRecord, AccountingRecord];
  assert.equal(start.framedIpAddress, '198.51.100.77');
  assert.equal(start.username, 'alice');
  assert.equal(start.counters, undefined);
  assert.equal(start.authentic, 1);
  assert.deepEqual(start.classes, [cls]);
  assert.equal(stop.sessionId, start.sessionId);
  assert.deepEqual(stop.counters, { inputOctets: logout.counters.rxOctets, outputOctets: logout.counters.txOctets, inputPackets: 3, outputPackets: 2 });
  assert.equal(stop.counters?.inputOctets, 128 + 129 + 130);
  assert.equal(stop.counters?.outputOctets, 2 * 78);
  assert.equal(stop.terminateCause, TERMINATE_CAUSE.UserRequest);
  assert.ok((stop.sessionTime ?? 0) >= 61 && (stop.sessionTime ?? 0) <= 67, `session time ${stop.sessionTime}`);
  assert.deepEqual(stop.classes, [cls]);
  assert.deepEqual(net.serverOf('kernel-routes').map((e) => e.op), ['add', 'remove']);
});

test('Framed-Pool picks a named pool; an unknown pool ends the session (address-unavailable, CDN)', () => {
  const net = aaaNet({ alice: { authorization: auth({ framedPool: 'gold' }) }, bob: { authorization: auth({ framedPool: 'silver' }) } });
  const c = up(net);
  assert.match(clientOf(c, 'up')[0]?.address ?? '', /^100\.64\.8\.\d+$/);
  assert.deepEqual(net.serverOf('kernel-routes'), [], 'a named pool is routed by the shell at start, not per session');
  const b = up(net, 'bob', 'builder');
  net.advance(5000);
  assert.equal(clientOf(b, 'up').length, 0);
  const un = net.serverOf('address-unavailable')[0];
  assert.equal(un?.reason, 'unknown-pool');
  assert.equal(un?.pool, 'silver');
  assert.equal(net.serverOf('logout').find((e) => e.username === 'bob')?.reason, 'unknown-pool');
  assert.equal(records(net).filter((r) => r.username === 'bob').length, 0, 'no accounting for a session that never came up');
});

test('Access-Reject: the Reply-Message is the PPP failure text, CDN with RFC 3145 cause 16, no accounting', () => {
  const net = aaaNet({ alice: { reject: 'Your account is suspended' } });
  const wire: string[] = [];
  net.filter = (from, data) => {
    if (from.address === net.lnsAddr.address) wire.push(Buffer.from(data).toString('latin1'));
    return true;
  };
  const t = net.openTunnel();
  const c = net.dial(t, { username: 'alice', password: 'wonderland', auth: ['pap'], ipv6: false });
  net.advance(10_000);
  assert.equal(clientOf(c, 'up').length, 0);
  assert.ok(clientOf(c, 'auth-failure').length > 0);
  const cdn = net.lacEvents.find((e) => e.type === 'session-closed');
  assert.ok(cdn?.type === 'session-closed');
  assert.equal(cdn.reason.cdnCauses?.pppDisconnectCause?.code, 16);
  assert.equal(records(net).length, 0);
  // The PAP Authenticate-Nak carried the server's Reply-Message (RFC 1334 §2.2.2 Message).
  assert.ok(wire.some((d) => d.includes('Your account is suspended')), 'Reply-Message in the Nak');
});

test('Session-Timeout ends the session at exactly authorization + timeout (LCP Terminate, CDN, Stop Session-Timeout)', () => {
  const net = aaaNet({ alice: { authorization: auth({ sessionTimeout: seconds(30) }) } });
  const c = up(net);
  assert.equal(clientOf(c, 'up').length, 1);
  net.advance(20_000);
  assert.equal(net.serverOf('session-expired').length, 0, 'not before the timeout');
  net.advance(15_000);
  const x = net.serverOf('session-expired');
  assert.deepEqual(x.map((e) => e.reason), ['session-timeout']);
  assert.equal(net.serverOf('logout')[0]?.reason, 'session-timeout');
  const stop = records(net).at(-1);
  assert.equal(stop?.status, 'stop');
  assert.equal(stop?.terminateCause, TERMINATE_CAUSE.SessionTimeout);
  assert.ok((stop?.sessionTime ?? 0) >= 29 && (stop?.sessionTime ?? 0) <= 31, String(stop?.sessionTime));
  assert.equal(clientOf(c, 'down').length, 1);
});

test('Idle-Timeout: traffic keeps the session; silence ends it within one check step after the timeout', () => {
  const net = aaaNet({ alice: { authorization: auth({ idleTimeout: seconds(16) }) } });
  const c = up(net);
  const addr = clientOf(c, 'up')[0]?.address ?? '';
  for (let i = 0; i < 5; i++) {
    net.advance(10_000);
    assert.ok(c.client.handleTunPacket(net.at, udp4(addr, '198.18.1.1')));
  }
  assert.equal(net.serverOf('session-expired').length, 0, 'active for 50 s with a 16 s idle timeout');
  const lastPacket = net.now;
  net.advance(40_000);
  const x = net.serverOf('session-expired');
  assert.deepEqual(x.map((e) => e.reason), ['idle-timeout']);
  const stop = records(net).at(-1);
  assert.equal(stop?.terminateCause, TERMINATE_CAUSE.IdleTimeout);
  const endedAt = net.serverOf('logout').length > 0 ? (stop?.timestamp ?? 0) - 1_700_000_000_000 : 0;
  assert.ok(endedAt - lastPacket >= 16_000 && endedAt - lastPacket <= 16_000 + 2000 + 100, `idle end ${endedAt - lastPacket} ms after the last packet`);
});

test('Interim-Update: Acct-Interim-Interval with jitter, counters grow, minimum enforced', () => {
  const net = aaaNet({ alice: { authorization: auth({ interimInterval: seconds(10) }) } }, { interimMinimum: seconds(20) });
  const c = up(net);
  const addr = clientOf(c, 'up')[0]?.address ?? '';
  for (let i = 0; i < 10; i++) {
    net.advance(10_000);
    c.client.handleTunPacket(net.at, udp4(addr, '198.18.1.1'));
  }
  const interims = records(net).filter((r) => r.status === 'interim-update');
  assert.ok(interims.length >= 4 && interims.length <= 5, `${interims.length} interims in 100 s at 20 s (10 s raised to the minimum)`);
  const times = interims.map((r) => r.timestamp - 1_700_000_000_000);
  for (let i = 1; i < times.length; i++) {
    const gap = (times[i] ?? 0) - (times[i - 1] ?? 0);
    assert.ok(gap >= 20_000 && gap <= 22_000, `gap ${gap} ms (20 s + up to 10 % jitter)`);
  }
  const packets = interims.map((r) => r.counters?.inputPackets ?? -1);
  assert.deepEqual(packets, [...packets].sort((x, y) => x - y), 'counters never go back');
  assert.ok(interims.every((r) => r.sessionTime !== undefined));
});

test('a session that dies before the first interim still gets a Stop with its final counters', () => {
  const net = aaaNet({ alice: { authorization: auth() } }, { interim: seconds(300) });
  const c = up(net);
  const addr = clientOf(c, 'up')[0]?.address ?? '';
  for (let i = 0; i < 7; i++) c.client.handleTunPacket(net.at, udp4(addr, '198.18.1.1', 10));
  net.advance(100);
  net.lac.closeSession(net.at, c.tunnel, c.session, { result: 1 });
  net.advance(5000);
  const rs = records(net);
  assert.deepEqual(rs.map((r) => r.status), ['start', 'stop']);
  assert.equal(rs[1]?.counters?.inputPackets, 7);
  assert.equal(rs[1]?.counters?.inputOctets, 7 * 38);
  // CDN Result Code 1 from the LAC is "loss of carrier".
  assert.equal(rs[1]?.terminateCause, TERMINATE_CAUSE.LostCarrier);
});

test('RFC 5176 table: find by Acct-Session-Id / User-Name / Framed-IP-Address / NAS-Port; Disconnect -> Stop Admin-Reset; CoA Session-Timeout', () => {
  const net = aaaNet({ alice: { authorization: auth() }, bob: { authorization: auth() } });
  const a = up(net);
  const b = up(net, 'bob', 'builder');
  const snap = net.server.snapshot();
  const sa = snap.find((s) => s.username === 'alice');
  const sb = snap.find((s) => s.username === 'bob');
  assert.ok(sa?.acctSessionId !== undefined && sb?.acctSessionId !== undefined);
  const table = net.server.daeSessions;
  const loginA = net.serverOf('login').find((e) => e.username === 'alice');
  // The table's keys are the server's own (an int32 of tunnel and session); NAS-Port is tunnel * 0x10000 + session.
  const nasPortOfA = (loginA?.tunnel ?? 0) * 0x10000 + (loginA?.session ?? 0);
  const keyOfA = table.find({ acctSessionId: sa.acctSessionId })[0] ?? -1;
  assert.equal(keyOfA >>> 0, nasPortOfA);
  assert.deepEqual(table.find({ userName: 'alice' }), [keyOfA]);
  assert.deepEqual(table.find({ framedIpAddress: sa.ipv4 ?? '' }), [keyOfA]);
  assert.deepEqual(table.find({ nasPort: nasPortOfA }), [keyOfA]);
  assert.deepEqual(table.find({ acctSessionId: sa.acctSessionId, userName: 'bob' }), [], 'all given attributes must match');
  assert.deepEqual(table.find({ acctSessionId: 'nope' }), []);
  assert.equal(table.find({}).length, 2);
  // CoA: bob's Session-Timeout becomes 12 s from now.
  const loginB = net.serverOf('login').find((e) => e.username === 'bob');
  const keyOfB = table.find({ nasPort: (loginB?.tunnel ?? 0) * 0x10000 + (loginB?.session ?? 0) })[0] ?? -1;
  assert.deepEqual(table.find({ userName: 'bob' }), [keyOfB]);
  assert.deepEqual(table.change(net.at, keyOfB, { sessionTimeout: 12 }), { ok: true });
  net.advance(10_000);
  assert.equal(clientOf(b, 'down').length, 0);
  net.advance(3000);
  assert.equal(clientOf(b, 'down').length, 1, 'CoA Session-Timeout ended bob 12 s later');
  // Disconnect alice.
  assert.deepEqual(table.disconnect(net.at, keyOfA), { ok: true });
  net.advance(5000);
  assert.equal(clientOf(a, 'down').length, 1);
  const stops = records(net).filter((r) => r.status === 'stop');
  assert.deepEqual(stops.map((r) => [r.username, r.terminateCause]), [['bob', TERMINATE_CAUSE.SessionTimeout], ['alice', TERMINATE_CAUSE.AdminReset]]);
  assert.deepEqual(table.disconnect(net.at, keyOfA), { ok: false, errorCause: 503 });
  assert.deepEqual(table.change(net.at, keyOfA, { idleTimeout: 5 }), { ok: false, errorCause: 503 });
});

test('Interim-Updates reach the server events for sessions on tunnels from 0x8000 up too (the key is an int32, NAS-Port its unsigned value)', () => {
  const net = aaaNet({ alice: { authorization: auth() }, bob: { authorization: auth() } }, { interim: seconds(60) });
  up(net);
  up(net, 'bob', 'builder');
  const keys = net.server.daeSessions.find({});
  assert.ok(keys.some((k) => k < 0), 'one session is on a tunnel >= 0x8000 (its key is negative)');
  net.advance(61_000);
  const interims = records(net).filter((r) => r.status === 'interim-update');
  assert.deepEqual(interims.map((r) => r.username).sort(), ['alice', 'bob']);
  assert.deepEqual(net.serverOf('accounting').filter((e) => e.record.status === 'interim-update').map((e) => (e.tunnel * 0x10000 + e.session) === e.record.session?.nasPort), [true, true]);
});

test('Framed-Route prefixes are routed toward the session and pass its ingress filter; Framed-MTU caps the clamp', () => {
  const net = aaaNet({ alice: { authorization: auth({ routes: [prefix('198.51.100.0/28')], mtu: 1300 }) } });
  const c = up(net);
  const addr = clientOf(c, 'up')[0]?.address ?? '';
  assert.deepEqual(net.serverOf('kernel-routes').map((e) => e.prefixes), [['198.51.100.0/28']]);
  assert.ok(net.server.handleTunPacket(net.at, udp4('198.18.1.1', '198.51.100.5')), 'routed by the framed prefix');
  assert.equal(net.server.handleTunPacket(net.at, udp4('198.18.1.1', '198.51.100.17')), false, 'outside the prefix');
  net.advance(10);
  assert.equal(c.tun.length, 1);
  const before = net.serverTun.length;
  c.client.handleTunPacket(net.at, udp4('198.51.100.9', '198.18.1.1'));
  c.client.handleTunPacket(net.at, udp4('198.51.100.99', '198.18.1.1'));
  net.advance(10);
  assert.equal(net.serverTun.length, before + 1, 'a source inside the routed prefix passes, one outside is dropped');
  // Framed-MTU 1300: a 1350-octet packet toward the client is too big (ICMP back into the TUN).
  const big = udp4('198.18.1.1', addr, 1350 - 28);
  big[6] = 0x40; // DF
  assert.equal(net.server.handleTunPacket(net.at, big), false);
  assert.equal(net.server.tooBig.icmpSent, 1);
  c.client.close(net.at);
  net.advance(5000);
  assert.equal(net.server.stats().routes, 0);
});

test('Stop causes: HELLO timeout = Lost-Carrier; our shutdown = Admin-Reboot; local users with accounting = Acct-Authentic Local', () => {
  const dead = aaaNet({ alice: { authorization: auth() } }, { hello: 5 });
  const t = dead.openTunnel(5);
  dead.dial(t, { username: 'alice', password: 'wonderland', auth: ['chap-md5'], ipv6: false });
  dead.advance(5000);
  dead.filter = () => false;
  dead.advance(200_000);
  assert.equal(records(dead).at(-1)?.terminateCause, TERMINATE_CAUSE.LostCarrier);

  const down = aaaNet({ alice: { authorization: auth() } });
  const c = up(down);
  down.server.prepareShutdown();
  const lnsTunnel = down.serverOf('login')[0]?.tunnel;
  assert.ok(lnsTunnel !== undefined && c.tunnel !== undefined);
  down.lns.closeTunnel(down.at, lnsTunnel, { result: 6, message: 'shutdown' });
  down.advance(5000);
  assert.equal(records(down).at(-1)?.terminateCause, TERMINATE_CAUSE.AdminReboot);

  const local = aaaNet({}, { external: false });
  up(local);
  assert.equal(local.serverOf('auth-request').length, 0, 'the users file decides inline');
  const start = records(local)[0];
  assert.equal(start?.status, 'start');
  assert.equal(start?.authentic, 2);
});

test('a late answer (the session already gone) is ignored; events carry no secret', () => {
  const net = aaaNet({ alice: { hold: true } });
  const t = net.openTunnel();
  const c = net.dial(t, { username: 'alice', password: 'wonderland', auth: ['pap'], ipv6: false });
  net.advance(2000);
  const req = net.serverOf('auth-request')[0];
  assert.ok(req !== undefined);
  assert.equal((req.request as Extract<AuthRequest, { method: 'pap' }>).password, 'wonderland', 'the request carries the password to the shell only');
  net.lac.closeSession(net.at, c.tunnel, c.session, { result: 3 });
  net.advance(2000);
  assert.equal(net.server.authResult(net.at, req.tunnel, req.session, { decision: { ok: true }, source: 'radius', authorization: auth() }), false);
  const logged = JSON.stringify(net.serverEvents.filter((e: AccessEvent) => e.type !== 'auth-request' && e.type !== 'ppp'));
  assert.ok(!logged.includes('wonderland'));
});
