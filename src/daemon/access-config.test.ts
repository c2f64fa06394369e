import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig, formatConfigError, parseConfig } from './config.js';
import { generateLogin as generateUser } from './setup/index.js';
import { seededRandom } from '../base/random.js';
import { parseIpv4, parseIpv4Prefix, type Ipv4Prefix } from '../base/index.js';

const ipv4 = (t: string): number => {
  const a = parseIpv4(t);
  assert.ok(a !== undefined);
  return a;
};
const prefix4 = (t: string): Ipv4Prefix => {
  const p = parseIpv4Prefix(t);
  assert.ok(p.ok);
  return p.value;
};

const errors = (src: string): string[] => {
  const r = parseConfig(src);
  assert.equal(r.ok, false);
  return r.ok ? [] : r.error.map(formatConfigError);
};

test('no config file = a ready remote-access LNS', () => {
  const c = defaultConfig();
  assert.equal(c.listen[0]?.port, 1701);
  assert.deepEqual(c.access, {
    auth: ['mschapv2', 'chap'],
    mru: 1400,
    echoInterval: 30000,
    echoFailure: 3,
    echoRate: 5000,
    // undefined = the host's resolvers and the default users file, resolved by src/daemon/setup.
    dns: undefined,
    nbns: [],
    forceLcpRenegotiation: false,
    allowInsecure: false,
    // Typed once by the schema (src/daemon/config/values.ts): the pool as a prefix, the address as a number.
    ipv4Pool: prefix4('100.64.0.0/24'),
    localAddress: ipv4('100.64.0.1'),
    ipv6Prefix: undefined,
    // After a crash the journalled leases stay held 120 s for their users (src/daemon/lease-journal.ts).
    leaseHold: 120000,
    local: true,
    usersFile: undefined,
    tunName: 'l2tp0',
    mtu: 1400,
    mssClamp: true,
    txqueuelen: 10_000,
    tunNetns: undefined,
    hostRoutes: false,
    routeProtocol: undefined,
  });
});

test('[pool] local = false: no local pool (addresses only from RADIUS), local_address required; [tun] host routes', () => {
  const r = parseConfig('[pool]\nlocal = false\nlocal_address = "198.18.96.1"\n[tun]\nhost_routes = true\nroute_protocol = 200\n');
  assert.ok(r.ok, r.ok ? '' : r.error.map(formatConfigError).join('\n'));
  // An empty /32 "pool" around the LNS's own address: nothing to hand out, the TUN gets local/32.
  assert.deepEqual(r.value.access?.ipv4Pool, prefix4('198.18.96.1/32'));
  assert.equal(r.value.access?.local, false);
  assert.equal(r.value.access?.localAddress, ipv4('198.18.96.1'));
  assert.equal(r.value.access?.hostRoutes, true);
  assert.equal(r.value.access?.routeProtocol, 200);
  assert.ok(errors('[pool]\nlocal = false\n').some((x) => x.includes('pool.local') && x.includes('needs local_address')));
  assert.ok(errors('[pool]\nlocal = false\nipv4 = "100.64.0.0/24"\nlocal_address = "100.64.0.1"\n').some((x) => x.includes('line 3: pool.ipv4') && x.includes('no local pool')));
  assert.ok(errors('[tun]\nroute_protocol = 256\n').some((x) => x.includes('tun.route_protocol')));
  // Named pools (RADIUS Framed-Pool) still work without the default pool.
  const named = parseConfig('[pool]\nlocal = false\nlocal_address = "198.18.96.1"\n[[pool.named]]\nname = "b"\nipv4 = "100.64.4.0/24"\n');
  assert.ok(named.ok, named.ok ? '' : named.error.map(formatConfigError).join('\n'));
});

test('a config file starts from the same secure defaults: PPP on for an LNS, off only with an explicit key (issue 11 #1, #2)', () => {
  const none = defaultConfig();
  // A file with only [users] (what the first-run output suggested) or only a listener: still PPP + IPsec.
  for (const src of ['', '[users]\nfile = "/etc/l2tpd/users"\n', '[[listen]]\naddress = "192.0.2.1"\n', '[[listen]]\n', '[ipsec]\npsk = "correct horse"\n']) {
    const r = parseConfig(src);
    assert.ok(r.ok, r.ok ? '' : r.error.map(formatConfigError).join('\n'));
    assert.ok(r.value.access !== undefined, `${JSON.stringify(src)}: PPP is on`);
    assert.deepEqual(r.value.access.auth, none.access?.auth);
    assert.ok(r.value.ipsec !== undefined && r.value.ipsec.requireIpsec, `${JSON.stringify(src)}: L2TP only inside IPsec`);
  }
  // [ipsec] with no PPP table (the old L2TP/IPsec example) used to leave PPP off silently.
  const ipsecOnly = parseConfig('[[listen]]\naddress = "0.0.0.0"\n[ipsec]\npsk = "a long random pre-shared key"\n');
  assert.ok(ipsecOnly.ok && ipsecOnly.value.access !== undefined);
  // Off needs the explicit key.
  const off = parseConfig('[ppp]\nenabled = false\n[[listen]]\naddress = "192.0.2.1"\n');
  assert.ok(off.ok);
  assert.equal(off.value.access, undefined);
  assert.ok(off.value.ipsec !== undefined, 'PPP off leaves IPsec on');
  // A pure LAC has no LNS role: nothing to terminate PPP on, no responder.
  const lac = parseConfig('[[lac]]\nlns = "198.18.0.4"\n');
  assert.ok(lac.ok && lac.value.access === undefined && lac.value.ipsec === undefined);
  assert.ok(errors('listen = []\n[pool]\nipv4 = "100.64.8.0/24"\n').some((x) => /line 2: pool: PPP is terminated on the first \[\[listen\]\] and there is none/.test(x)));
});

test('PPP keys are validated with key and line', () => {
  const r = parseConfig('[ppp]\nauth = ["pap"]\nmru = 1500\ndns = ["198.18.0.53"]\n[pool]\nipv4 = "100.64.8.0/22"\nipv6_prefix = "2001:db8:100::/56"\n[users]\nfile = "/etc/l2tpd/users"\n[tun]\nname = "ppp-lns"\nmss_clamp = false\n');
  assert.ok(r.ok, r.ok ? '' : r.error.map(formatConfigError).join('\n'));
  assert.equal(r.value.access?.localAddress, ipv4('100.64.8.1'));
  assert.equal(r.value.access?.mtu, 1500);
  assert.deepEqual(r.value.access?.auth, ['pap']);
  const e = errors('[ppp]\nauth = ["chap-md5"]\nmru = 10\n[pool]\nipv4 = "100.64.0.1/24"\nlocal_address = "198.18.0.1"\nipv6_prefix = "2001:db8::/96"\n[tun]\nname = "a/b"\nmtu = 9\n');
  assert.ok(e.some((x) => x.includes('line 2: ppp.auth')));
  assert.ok(e.some((x) => x.includes('line 3: ppp.mru')));
  assert.ok(e.some((x) => x.includes('line 5: pool.ipv4') && x.includes('host bits')));
  assert.ok(e.some((x) => x.includes('pool.ipv6_prefix')));
  assert.ok(e.some((x) => x.includes('tun.name')));
  assert.ok(e.some((x) => x.includes('tun.mtu')));
  assert.ok(errors('[pool]\nlocal_address = "198.18.0.1"\n').some((x) => x.includes('must be inside pool.ipv4')));
  assert.ok(errors('[tun]\nnmae = "x"\n').some((x) => x.includes('did you mean "name"')));
});

test('[[lac]] ppp client mode keys', () => {
  const r = parseConfig('[[lac]]\nlns = "198.18.0.4"\nppp = true\nusername = "alice"\npassword = "pw"\n');
  assert.ok(r.ok);
  assert.deepEqual(r.value.lac[0]?.ppp, { username: 'alice', password: 'pw', tun: 'l2tpc0', tunNetns: undefined });
  assert.ok(errors('[[lac]]\nlns = "198.18.0.4"\nppp = true\n').some((x) => x.includes('needs "username"')));
  assert.ok(errors('[[lac]]\nlns = "198.18.0.4"\nppp = true\nusername = "a"\nsessions = 2\n').some((x) => x.includes('sessions = 1')));
  assert.ok(errors('[[lac]]\nlns = "198.18.0.4"\nusername = "a"\n').some((x) => x.includes('only used with ppp = true')));
  assert.ok(errors('[daemon]\nuser = "nobody"\n[[lac]]\nlns = "198.18.0.4"\nppp = true\nusername = "a"\n').some((x) => x.includes('daemon.user')));
});

test('generated users are distinct and printable', () => {
  const r = seededRandom(4);
  const a = generateUser(r);
  const b = generateUser(r);
  assert.match(a.username, /^user-[a-z0-9]{4}$/);
  assert.match(a.password, /^[A-Za-z0-9]{16}$/);
  assert.notEqual(a.password, b.password);
});
