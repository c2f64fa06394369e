/**
 * Access layer end to end: a LAC running `AccessClient` (peer PPP) and an LNS running
 * `AccessServer` over two L2tpEngines on a virtual clock. Checks login, addresses, DNS, IPv6 RA,
 * packets both ways through the "TUN" sinks, MSS clamping, every teardown path leaving nothing
 * behind, 1,000 sessions, pool exhaustion and wrong passwords.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCESS_SERVER_DEFAULTS, type AccessEvent } from '../../src/access/index.js';
import type { AuthProtocol } from '../../src/ppp/index.js';
import { seconds } from '../../src/base/time.js';
import { AccessNet, clientOf, simServerConfig, simUsers, type SimClient } from './access-harness.js';
import { parseIpv4, parseIpv4Prefix, parseIpv6, parseIpv6Prefix } from '../../src/base/index.js';

const v4 = (s: string): number[] => {
  const n = parseIpv4(s);
  assert.ok(n !== undefined);
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
};

/** IPv4 + TCP SYN with an MSS option (checksums zero; the clamp fixes them incrementally). */
function syn4(src: string, dst: string, mss: number): Uint8Array {
  const p = new Uint8Array(44);
  p.set([0x45, 0, 0, 44, 0, 1, 0x40, 0, 64, 6, 0, 0, ...v4(src), ...v4(dst)]);
  // TCP: ports 40000 -> 80, seq 1, ack 0, data offset 6 words, flags SYN, window 65535.
  p.set([0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0, 2, 4, mss >> 8, mss & 255], 20);
  return p;
}

/** IPv4 UDP packet. */
function udp4(src: string, dst: string, payload = 8): Uint8Array {
  const p = new Uint8Array(28 + payload);
  p.set([0x45, 0, 0, 28 + payload, 0, 2, 0, 0, 64, 17, 0, 0, ...v4(src), ...v4(dst)]);
  p.set([0x30, 0x39, 0, 53, 0, 8 + payload, 0, 0], 20);
  return p;
}

/** IPv6 + TCP SYN with MSS. */
function syn6(src: Uint8Array, dst: Uint8Array, mss: number): Uint8Array {
  const p = new Uint8Array(64);
  p.set([0x60, 0, 0, 0, 0, 24, 6, 64]);
  p.set(src, 8);
  p.set(dst, 24);
  p.set([0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0, 2, 4, mss >> 8, mss & 255], 40);
  return p;
}

const mssOf = (p: Uint8Array, tcpOff: number): number => ((p[tcpOff + 22] ?? 0) << 8) | (p[tcpOff + 23] ?? 0);
const v6 = (s: string): Uint8Array => {
  const a = parseIpv6(s);
  assert.ok(a !== undefined, s);
  return a;
};

/** Nothing may be left behind: no access sessions, routes, leases, timers, L2TP sessions. */
function assertClean(net: AccessNet, clients: readonly SimClient[]): void {
  const st = net.server.stats();
  assert.equal(st.sessions, 0, 'access sessions');
  assert.equal(st.routes, 0, 'routes');
  assert.equal(st.ipv4InUse, 0, 'ipv4 leases');
  assert.equal(st.ipv6InUse, 0, 'ipv6 /64 leases');
  assert.equal(net.server.pollAt(), undefined, 'server timers');
  assert.equal(net.server.snapshot().length, 0);
  for (const c of clients) {
    assert.equal(c.client.state, 'down');
    assert.equal(c.client.pollAt(), undefined, 'client timers');
  }
  assert.equal(net.lnsSessionCount(), 0, 'LNS engine sessions');
}

const v6Cfg = (): ReturnType<typeof simServerConfig> => {
  const p = parseIpv6Prefix('2001:db8:100::/56');
  assert.ok(p.ok);
  return simServerConfig({ ipv6Prefix: p.value, dns6: ['2001:db8::53'], mtu: 1400 });
};

/** Bring one alice session up with `method` forced by the LNS. */
function upOne(method: AuthProtocol, hello = 60): { net: AccessNet; c: SimClient } {
  const net = new AccessNet({ ...v6Cfg(), auth: [method] }, hello);
  const t = net.openTunnel(hello);
  const c = net.dial(t, { username: 'alice', password: 'wonderland' });
  net.advance(5000);
  return { net, c };
}

for (const method of ['chap-md5', 'mschapv2', 'pap'] as const) {
  test(`${method}: login, IPv4 + DNS, IPv6 RA, packets both ways with MSS clamping, client hangs up`, () => {
    const { net, c } = upOne(method);
    const up = clientOf(c, 'up');
    assert.equal(up.length, 1);
    const addr = up[0]?.address ?? '';
    assert.match(addr, /^100\.64\.0\.\d+$/);
    assert.notEqual(addr, '100.64.0.1');
    assert.equal(up[0]?.peer, '100.64.0.1');
    assert.deepEqual(up[0]?.dns, ['198.18.0.53', '198.18.0.54']);
    const login = net.serverOf('login');
    assert.equal(login.length, 1);
    assert.equal(login[0]?.username, 'alice');
    assert.equal(login[0]?.method, method);
    assert.equal(login[0]?.address, addr);

    // IPv6: the RA gave the client a /64 out of 2001:db8:100::/56; its address is prefix + iid.
    const a6 = clientOf(c, 'ipv6-address');
    assert.equal(a6.length, 1);
    assert.match(a6[0]?.prefix ?? '', /^2001:db8:100:(?:[0-9a-f]{1,2}:)?:\/64$/);
    assert.equal(a6[0]?.mtu, 1400);
    const snap = net.server.snapshot();
    assert.equal(snap.length, 1);
    assert.equal(snap[0]?.username, 'alice');
    assert.equal(snap[0]?.ipv4, addr);
    assert.equal(snap[0]?.ipv6Prefix, a6[0]?.prefix);

    // Client -> LAN: a SYN with MSS 1460 leaves the LNS TUN clamped to 1400 - 40.
    assert.ok(c.client.handleTunPacket(net.at, syn4(addr, '198.18.1.1', 1460)));
    net.advance(10);
    assert.equal(net.serverTun.length, 1);
    assert.equal(mssOf(net.serverTun[0] ?? new Uint8Array(), 20), 1360);
    // LAN -> client, routed by destination.
    assert.ok(net.server.handleTunPacket(net.at, udp4('198.18.1.1', addr)));
    assert.ok(net.server.handleTunPacket(net.at, syn4('198.18.1.1', addr, 8960)));
    assert.equal(net.server.handleTunPacket(net.at, udp4('198.18.1.1', '100.64.0.99')), false, 'no route');
    net.advance(10);
    assert.equal(c.tun.length, 2);
    assert.deepEqual([...(c.tun[0] ?? [])], [...udp4('198.18.1.1', addr)]);
    assert.equal(mssOf(c.tun[1] ?? new Uint8Array(), 20), 1360);
    // A spoofed source from the client is dropped at the LNS.
    c.client.handleTunPacket(net.at, udp4('100.64.0.77', '198.18.1.1'));
    net.advance(10);
    assert.equal(net.serverTun.length, 1);
    assert.equal(net.server.snapshot()[0]?.counters.dropped, 1);

    // IPv6 both ways: LAN -> the client's SLAAC address, and back with MSS clamped to 1400 - 60.
    const mine = v6(a6[0]?.address ?? '');
    const lan6 = v6('2001:db8:ffff::1');
    assert.ok(net.server.handleTunPacket(net.at, syn6(lan6, mine, 1440)));
    assert.ok(c.client.handleTunPacket(net.at, syn6(mine, lan6, 1440)));
    net.advance(10);
    assert.equal(c.tun.length, 3);
    assert.equal(mssOf(c.tun[2] ?? new Uint8Array(), 40), 1340);
    assert.equal(net.serverTun.length, 2);
    assert.equal(mssOf(net.serverTun[1] ?? new Uint8Array(), 40), 1340);
    const counters = net.server.snapshot()[0]?.counters;
    assert.equal(counters?.rxPackets, 2);
    assert.equal(counters?.txPackets, 3);

    // The client hangs up: LCP Terminate, CDN; the LNS logs the user out.
    c.client.close(net.at);
    net.advance(10_000);
    const out = net.serverOf('logout');
    assert.equal(out.length, 1);
    assert.equal(out[0]?.username, 'alice');
    assert.equal(out[0]?.address, addr);
    assert.equal(out[0]?.by, 'peer');
    assert.equal(out[0]?.loggedIn, true);
    assert.equal(clientOf(c, 'down')[0]?.reason, 'admin-close');
    assertClean(net, [c]);
  });
}

test('LNS disconnects: Terminate-Request, then CDN with a PPP Disconnect Cause', () => {
  const { net, c } = upOne('chap-md5');
  const s = net.server.snapshot()[0];
  assert.ok(s !== undefined);
  assert.equal(net.server.disconnect(net.at, s.tunnel, (s.session + 1) as typeof s.session), false);
  assert.ok(net.server.disconnect(net.at, s.tunnel, s.session));
  net.advance(10_000);
  assert.equal(net.serverOf('logout')[0]?.reason, 'admin-close');
  assert.equal(clientOf(c, 'down')[0]?.reason, 'peer-terminated');
  const cdn = net.lacEvents.find((e) => e.type === 'session-closed');
  assert.ok(cdn?.type === 'session-closed');
  assert.equal(cdn.reason.result.result, 3);
  assert.deepEqual(cdn.reason.cdnCauses?.pppDisconnectCause, { code: 1, protocol: 0xc021, direction: 2, message: 'administrative disconnect' });
  assertClean(net, [c]);
});

test('LAC sends CDN: the LNS tears the PPP session down', () => {
  const { net, c } = upOne('mschapv2');
  net.lac.closeSession(net.at, c.tunnel, c.session, { result: 3 });
  net.advance(2000);
  const out = net.serverOf('logout')[0];
  assert.equal(out?.reason, 'l2tp-closed');
  assert.equal(out?.l2tp?.cause, 'cdn');
  assert.equal(out?.by, 'peer');
  assert.equal(clientOf(c, 'down')[0]?.reason, 'l2tp-closed');
  assertClean(net, [c]);
});

test('StopCCN from the LAC ends every session of the tunnel', () => {
  const net = new AccessNet(v6Cfg());
  const t = net.openTunnel();
  const cs = [0, 1, 2].map((i) => net.dial(t, { username: 'alice', password: 'wonderland' }, 10 + i));
  net.advance(5000);
  assert.equal(net.serverOf('login').length, 3);
  assert.equal(new Set(net.serverOf('login').map((e) => e.address)).size, 3);
  net.lac.closeTunnel(net.at, t, { result: 1 });
  net.advance(70_000);
  assert.equal(net.serverOf('logout').length, 3);
  for (const e of net.serverOf('logout')) assert.equal(e.reason, 'l2tp-closed');
  assertClean(net, cs);
  assert.equal(net.lns.tunnels(net.at).length, 0);
});

test('HELLO timeout: the link goes silent, the tunnel dies, nothing is left', () => {
  const net = new AccessNet({ ...v6Cfg(), echoInterval: seconds(0) }, 5);
  const t = net.openTunnel(5);
  const c = net.dial(t, { username: 'alice', password: 'wonderland', echoInterval: seconds(0) });
  net.advance(3000);
  assert.equal(net.serverOf('login').length, 1);
  net.filter = () => false;
  net.advance(200_000);
  const out = net.serverOf('logout')[0];
  assert.equal(out?.reason, 'l2tp-closed');
  // The session's logout carries its tunnel's reason (what ended it), not just "tunnel-closed".
  assert.match(out?.l2tp?.cause ?? '', /hello|retransmit/);
  const tc = net.lnsEvents.find((e) => e.type === 'tunnel-closed');
  assert.ok(tc?.type === 'tunnel-closed');
  assert.match(tc.reason.cause, /hello|retransmit/);
  assertClean(net, [c]);
});

test('PPP echo timeout ends the session with a CDN (LCP keepalive, RFC 3145 code 8)', () => {
  const net = new AccessNet({ ...v6Cfg(), auth: ['chap-md5'] }, 60);
  const c = net.dial(net.openTunnel(60), { username: 'alice', password: 'wonderland', echoInterval: seconds(0) });
  net.advance(5000);
  // Drop PPP data both ways: the L2TP control channel stays healthy (so the LNS's CDN arrives), and
  // the client (no keepalive of its own) never sees the Terminate-Request and cannot close first.
  net.filter = (_from, data) => ((data[0] ?? 0) & 0x80) !== 0;
  net.advance(200_000);
  const out = net.serverOf('logout')[0];
  assert.equal(out?.reason, 'echo-timeout');
  // Our keepalive decided: the logout is ours ("by us"), not the client's.
  assert.equal(out?.by, 'local');
  // The operator sees it coming: misses are counted before the logout, and the timeout itself.
  const st = net.server.stats();
  assert.equal(st.echoMisses, ACCESS_SERVER_DEFAULTS.echoFailure);
  assert.equal(st.echoTimeouts, 1);
  assert.equal(st.echoMissing, 0, 'the session is gone');
  const cdn = net.lacEvents.find((e) => e.type === 'session-closed');
  assert.ok(cdn?.type === 'session-closed');
  assert.equal(cdn.reason.by, 'peer');
  assert.equal(cdn.reason.cdnCauses?.pppDisconnectCause?.code, 8);
  assertClean(net, [c]);
});

test('wrong password: auth failure event, CDN, the lease is never taken', () => {
  const net = new AccessNet(simServerConfig({ auth: ['mschapv2'] }));
  const t = net.openTunnel();
  const c = net.dial(t, { username: 'alice', password: 'nope' });
  net.advance(10_000);
  const f = net.serverOf('auth-failure');
  assert.equal(f.length, 1);
  assert.equal(f[0]?.username, 'alice');
  assert.equal(net.serverOf('login').length, 0);
  assert.equal(net.maxLeases, 0, 'no address was ever leased');
  const out = net.serverOf('logout')[0];
  assert.equal(out?.reason, 'auth-failed');
  assert.equal(out?.loggedIn, false);
  // Both PPP ends give up; whichever CDN goes first ends the call.
  assert.equal(clientOf(c, 'auth-failure').length, 1);
  assert.ok(net.lacEvents.some((e) => e.type === 'session-closed'));
  assertClean(net, [c]);
});

test('pool exhaustion: a clear event, CDN result 4, the first session keeps its address', () => {
  const pool = parseIpv4Prefix('100.64.0.0/30'); // .1 is the LNS, .2 is the only lease
  assert.ok(pool.ok);
  const net = new AccessNet(simServerConfig({ ipv4Pool: pool.value }));
  const t = net.openTunnel();
  const a = net.dial(t, { username: 'alice', password: 'wonderland' }, 1);
  net.advance(3000);
  const b = net.dial(t, { username: 'alice', password: 'wonderland' }, 2);
  net.advance(10_000);
  assert.equal(clientOf(a, 'up')[0]?.address, '100.64.0.2');
  const ex = net.serverOf('address-unavailable');
  assert.equal(ex.length, 1);
  assert.equal(ex[0]?.reason, 'pool-exhausted');
  assert.equal(ex[0]?.session, net.serverOf('ppp-start')[1]?.session);
  const closed = net.lacEvents.find((e) => e.type === 'session-closed' && e.session === b.session);
  assert.ok(closed?.type === 'session-closed');
  assert.equal(closed.reason.result.result, 4);
  assert.equal(b.client.state, 'down');
  assert.equal(a.client.state, 'up');
  assert.deepEqual(net.server.stats().ipv4InUse, 1);
  net.lac.closeTunnel(net.at, t, { result: 1 });
  net.advance(70_000);
  assertClean(net, [a, b]);
});

test('static per-user address from the users file; a second login of that user is refused', () => {
  const net = new AccessNet(simServerConfig());
  const t = net.openTunnel();
  const a = net.dial(t, { username: 'bob', password: 'builder' }, 1);
  const b = net.dial(t, { username: 'bob', password: 'builder' }, 2);
  const q = net.dial(t, { username: 'carol space', password: 'pass word' }, 3);
  net.advance(10_000);
  assert.equal(clientOf(a, 'up')[0]?.address, '100.64.0.200');
  assert.equal(net.serverOf('address-unavailable')[0]?.reason, 'static-in-use');
  assert.equal(b.client.state, 'down');
  assert.equal(q.client.state, 'up');
  net.lac.closeTunnel(net.at, t, { result: 1 });
  net.advance(70_000);
  assertClean(net, [a, b, q]);
});

test('an IPCP Terminate closes only IPCP; IPv6 keeps working', () => {
  const { net, c } = upOne('chap-md5');
  // Feed the LNS an IPCP Terminate-Request as if from the client (protocol 0x8021, code 5).
  const sess = net.server.snapshot()[0];
  assert.ok(sess !== undefined);
  const ipcpTerm = Uint8Array.from([0xff, 0x03, 0x80, 0x21, 5, 0x77, 0, 4]);
  const tx = net.lac.sendData(net.at, c.tunnel, c.session, ipcpTerm);
  assert.ok(tx !== undefined);
  net.lns.handleDatagram(net.at, tx.data, net.lacAddr);
  net.drain();
  assert.equal(net.serverOf('ip-down').length, 1);
  assert.equal(net.server.stats().sessions, 1);
  assert.equal(net.server.stats().routes, 1, 'only the IPv6 /64 route remains');
  const mine = v6(clientOf(c, 'ipv6-address')[0]?.address ?? '');
  assert.ok(net.server.handleTunPacket(net.at, syn6(v6('2001:db8:ffff::1'), mine, 1000)));
  assert.equal(net.server.handleTunPacket(net.at, udp4('198.18.1.1', sess.ipv4 ?? '')), false);
  // The real client saw our Terminate-Ack and renegotiates IPCP (RFC 1661 §4.1 Opened+RTA): same lease.
  net.advance(10_000);
  assert.equal(net.serverOf('login').length, 2);
  assert.equal(net.serverOf('login')[1]?.address, sess.ipv4);
  assert.equal(net.server.stats().routes, 2);
  net.lac.closeTunnel(net.at, c.tunnel, { result: 1 });
  net.advance(70_000);
  assertClean(net, [c]);
});

test('forced LCP renegotiation and proxy data absent both work; ppp-start reports it', () => {
  const net = new AccessNet(simServerConfig({ forceLcpRenegotiation: true }));
  const t = net.openTunnel();
  const c = net.dial(t, { username: 'alice', password: 'wonderland' });
  net.advance(5000);
  assert.equal(net.serverOf('ppp-start')[0]?.proxied, false);
  assert.equal(c.client.state, 'up');
});

test('1,000 sessions over 4 tunnels get 1,000 distinct addresses, and all go away', () => {
  const pool = parseIpv4Prefix('100.64.0.0/22');
  assert.ok(pool.ok);
  const net = new AccessNet(simServerConfig({ ipv4Pool: pool.value, users: simUsers(1000), auth: ['chap-md5'], echoInterval: seconds(0) }));
  net.verbose = false;
  const tunnels = [0, 1, 2, 3].map(() => net.openTunnel());
  const clients: SimClient[] = [];
  for (let i = 0; i < 1000; i++) {
    const t = tunnels[i % 4];
    assert.ok(t !== undefined);
    clients.push(net.dial(t, { username: `u${i}`, password: `p${i}`, ipv6: false, echoInterval: seconds(0) }, 100 + i));
  }
  net.advance(60_000);
  const logins = net.serverOf('login');
  assert.equal(logins.length, 1000);
  assert.equal(new Set(logins.map((e: Extract<AccessEvent, { type: 'login' }>) => e.address)).size, 1000);
  assert.equal(clients.filter((c) => c.client.state === 'up').length, 1000);
  assert.equal(net.server.stats().ipv4InUse, 1000);
  assert.equal(net.server.stats().routes, 1000);
  for (const t of tunnels) net.lac.closeTunnel(net.at, t, { result: 1 });
  net.advance(70_000);
  assert.equal(net.serverOf('logout').length, 1000);
  assertClean(net, clients);
});

test('packets above the client MRU (1400): ICMP Fragmentation Needed / Packet Too Big back through the TUN, IPv4 without DF fragmented', () => {
  const { net, c } = upOne('chap-md5');
  const sess = net.server.snapshot()[0];
  assert.ok(sess?.ipv4 !== undefined);
  const addr = sess.ipv4;
  const big4 = (df: boolean): Uint8Array => {
    const p = udp4('198.18.1.1', addr, 1472); // 1500 bytes
    p[2] = 1500 >> 8; // the helper writes single-byte lengths
    p[3] = 1500 & 0xff;
    p[6] = df ? 0x40 : 0;
    return p;
  };
  net.serverTun.length = 0;
  c.tun.length = 0;
  // DF set: nothing reaches the client; the source gets ICMP 3/4 with MTU 1400 from 100.64.0.1.
  assert.equal(net.server.handleTunPacket(net.at, big4(true)), false);
  net.advance(10);
  assert.equal(c.tun.length, 0);
  const icmp = Buffer.from(net.serverTun.shift() ?? new Uint8Array(0));
  assert.deepEqual([icmp[9], icmp[20], icmp[21], icmp.readUInt16BE(26)], [1, 3, 4, 1400]);
  assert.deepEqual([...icmp.subarray(12, 16)], v4('100.64.0.1'));
  assert.deepEqual([...icmp.subarray(16, 20)], v4('198.18.1.1'));
  // DF clear: two fragments reach the client, each within the MRU.
  assert.equal(net.server.handleTunPacket(net.at, big4(false)), true);
  net.advance(10);
  assert.equal(c.tun.length, 2);
  assert.ok(c.tun.every((f) => f.length <= 1400));
  assert.equal(c.tun.reduce((n, f) => n + f.length - 20, 0), 1480);
  // IPv6: Packet Too Big from our address in the client's /64.
  const mine = v6(clientOf(c, 'ipv6-address')[0]?.address ?? '');
  const p6 = new Uint8Array(1500);
  p6.set(syn6(v6('2001:db8:ffff::1'), mine, 1000).subarray(0, 40));
  p6[4] = (1460 >> 8) & 0xff;
  p6[5] = 1460 & 0xff;
  p6[6] = 17;
  assert.equal(net.server.handleTunPacket(net.at, p6), false);
  net.advance(10);
  assert.equal(net.serverTun.length, 1);
  const ptb = Buffer.from(net.serverTun.shift() ?? new Uint8Array(0));
  assert.deepEqual([ptb[6], ptb[40], ptb.readUInt32BE(44)], [58, 2, 1400]);
  assert.ok(ptb.subarray(8, 16).equals(Buffer.from(mine.subarray(0, 8))), 'source in the client /64');
  assert.ok(ptb.subarray(24, 40).equals(Buffer.from(v6('2001:db8:ffff::1'))));
  assert.deepEqual(net.server.tooBig, { icmpSent: 2, fragmented: 1, rateLimited: 0, dropped: 0 });
  assert.equal(net.server.snapshot()[0]?.counters.dropped, 2);
  net.lac.closeTunnel(net.at, c.tunnel, { result: 1 });
  net.advance(70_000);
  assertClean(net, [c]);
});

test('LCP that never converges (nobody answers on the LAC side): CDN result 2 with error 6 and RFC 3145 cause 5, never error 0', () => {
  const net = new AccessNet();
  const tunnel = net.openTunnel();
  net.advance(1000);
  // A call with no PPP behind it: the LNS's Configure-Requests go unanswered until Max-Configure.
  const session = net.lac.openSession(net.at, tunnel, { direction: 'incoming' });
  assert.ok(session !== undefined);
  net.advance(60_000);
  assert.equal(net.serverOf('logout')[0]?.reason, 'lcp-timeout');
  const closed = net.lacEvents.find((e) => e.type === 'session-closed' && e.session === session);
  assert.ok(closed?.type === 'session-closed');
  assert.equal(closed.reason.cause, 'cdn');
  assert.deepStrictEqual(closed.reason.result, { result: 2, error: 6, message: 'LCP failed to converge' });
  assert.equal(closed.reason.cdnCauses?.pppDisconnectCause?.code, 5);
});
