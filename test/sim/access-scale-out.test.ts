/**
 * A stateless LNS node (docs/SCALE-OUT.md) on the virtual clock: no local pool (`[pool] local =
 * false`, an empty /32 around the LNS address), every address from the RADIUS Access-Accept
 * (Framed-IP-Address, e.g. FreeRADIUS sqlippool), a /32 kernel route per session for FRR to
 * announce, the address in the Start and Stop records (sqlippool releases on Stop), and a clean
 * refusal when the Accept names no address. With a local pool, `hostRoutes` adds the /32 too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_AUTHORIZATION, type AccessAuthResult, type AccessServerConfig, type SessionAuthorization } from '../../src/access/index.js';
import { verifyLocally } from '../../src/ppp/index.js';
import { parseIpv4, parseIpv4Prefix } from '../../src/base/index.js';
import { AccessNet, clientOf, simServerConfig, simUsers, type SimClient } from './access-harness.js';

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

/** An LNS whose RADIUS stand-in accepts every user with a known password and `framed[user]` as Framed-IP-Address (or none). */
function node(framed: Readonly<Record<string, string | undefined>>, over: Partial<AccessServerConfig>): AccessNet {
  const users = simUsers();
  const net = new AccessNet(
    simServerConfig({ auth: ['chap-md5'], aaa: { external: true, accounting: true, sessionIdPrefix: 'n1-', wallClock: (now) => 1_700_000_000_000 + now }, ...over }),
    60,
  );
  net.onServerEvent = (e) => {
    if (e.type !== 'auth-request') return;
    const checked = verifyLocally(e.request, users);
    assert.ok(checked.ok);
    const a = framed[e.request.username];
    const authorization: SessionAuthorization = { ...NO_AUTHORIZATION, ...(a !== undefined ? { framedAddress: ip(a) } : {}) };
    const r: AccessAuthResult = { decision: checked, source: 'radius', server: 'rad1', authorization };
    net.server.authResult(net.at, e.tunnel, e.session, r);
  };
  return net;
}

function up(net: AccessNet, username: string, password: string): SimClient {
  const c = net.dial(net.openTunnel(), { username, password, auth: ['chap-md5'], ipv6: false });
  net.advance(5000);
  return c;
}

const NO_POOL = { ipv4Pool: prefix('198.18.96.1/32'), localAddress: ip('198.18.96.1') };

test('no local pool: the Accept address with a /32 kernel route, in Start and Stop; the route goes with the session', () => {
  const net = node({ alice: '100.64.33.7' }, NO_POOL);
  const c = up(net, 'alice', 'wonderland');
  assert.equal(clientOf(c, 'up')[0]?.address, '100.64.33.7');
  assert.equal(net.server.stats().ipv4Capacity, 0, 'nothing to lease locally');
  assert.deepEqual(net.serverOf('kernel-routes').map((e) => [e.op, e.prefixes]), [['add', ['100.64.33.7/32']]]);
  assert.equal(net.server.stats().ipv4InUse, 1);
  c.client.close(net.at);
  net.advance(5000);
  assert.deepEqual(net.serverOf('kernel-routes').map((e) => [e.op, e.prefixes]), [['add', ['100.64.33.7/32']], ['remove', ['100.64.33.7/32']]]);
  const rs = net.serverOf('accounting').map((e) => e.record);
  assert.deepEqual(rs.map((r) => [r.status, r.framedIpAddress]), [['start', '100.64.33.7'], ['stop', '100.64.33.7']], 'sqlippool finds the lease to release by it');
  assert.equal(net.server.stats().ipv4InUse, 0);
});

test('no local pool and no Framed-IP-Address: refused cleanly (no-address, CDN result 4, Stop never sent), nothing routed', () => {
  const net = node({ alice: undefined }, NO_POOL);
  const c = up(net, 'alice', 'wonderland');
  net.advance(5000);
  assert.equal(clientOf(c, 'up').length, 0, 'IPCP never came up');
  assert.equal(net.serverOf('address-unavailable')[0]?.reason, 'no-address');
  const out = net.serverOf('logout').find((e) => e.username === 'alice');
  assert.equal(out?.reason, 'no-address');
  assert.equal(out?.loggedIn, false);
  assert.ok(clientOf(c, 'down').length === 1, 'the client was told (LCP Terminate, then CDN)');
  assert.deepEqual(net.serverOf('kernel-routes'), []);
  assert.deepEqual(net.serverOf('accounting').map((e) => e.record.status), [], 'no Start, so no Stop either');
  assert.equal(net.server.stats().sessions, 0);
  // The LAC saw the CDN with result 4 ("temporary lack of resources", RFC 2661 §4.4.2).
  const cdn = net.lacEvents.find((e) => e.type === 'session-closed');
  assert.ok(cdn !== undefined && cdn.type === 'session-closed' && cdn.reason.cause === 'cdn' && cdn.reason.result.result === 4, JSON.stringify(cdn));
});

test('hostRoutes with a local pool: a /32 per session inside the pool too (FRR redistribute kernel)', () => {
  const net = node({ alice: '100.64.0.77' }, { hostRoutes: true });
  const a = up(net, 'alice', 'wonderland');
  assert.equal(clientOf(a, 'up')[0]?.address, '100.64.0.77');
  // bob's static address of the users file (inside the pool).
  const b = up(net, 'bob', 'builder');
  assert.equal(clientOf(b, 'up')[0]?.address, '100.64.0.200');
  assert.deepEqual(net.serverOf('kernel-routes').map((e) => [e.op, e.prefixes]), [['add', ['100.64.0.77/32']], ['add', ['100.64.0.200/32']]]);
  const plain = node({ alice: '100.64.0.77' }, {});
  up(plain, 'alice', 'wonderland');
  assert.deepEqual(plain.serverOf('kernel-routes'), [], 'without hostRoutes the pool route on the TUN covers it');
});
