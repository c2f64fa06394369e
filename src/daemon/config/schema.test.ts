/**
 * The schema table itself: rows are well formed, defaults pass their own validation and come from
 * the cores, every key parses, secrets are marked, and docs/CONFIG.md holds exactly the generated
 * key reference (every key with type and default, nothing that does not exist).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { readRepoFile, repoRoot } from '../../../test/lib/repo.js';
import { defaultTuning, defaultTunnelSettings } from '../../l2tp/index.js';
import { ACCESS_SERVER_DEFAULTS } from '../../access/index.js';
import { DEFAULT_POLICY } from '../../ipsec/index.js';
import { L2TP_PORT } from '../../io/index.js';
import { DAEMON, DEFAULT_UDP_BUFFER, IPSEC, L2TP, LAC, LISTEN, PPP, SCHEMA, TUN } from './schema.js';
import { knownKeys, type KeyRow, type TableSpec } from './table.js';
import { REFERENCE_BEGIN, REFERENCE_END, configReference } from './reference.js';
import { parseConfig, formatConfigError } from './parse.js';
import { printConfig } from './print.js';
import type { DaemonConfig } from './types.js';

const allRows = (s: TableSpec): KeyRow<unknown>[] => [
  ...(s.enabled !== undefined ? [s.enabled] : []),
  ...Object.values(s.rows),
  ...Object.values(s.groups).flatMap((g) => [g.switch, ...Object.values(g.rows)]),
];

test('schema: keys are snake_case, unique per table, documented; tables are unique', () => {
  const paths = SCHEMA.map((s) => s.path);
  assert.equal(new Set(paths).size, paths.length);
  for (const s of SCHEMA) {
    const keys = knownKeys(s);
    assert.equal(new Set(keys).size, keys.length, `${s.path}: a key is defined twice`);
    assert.ok(s.doc.length > 10, `${s.path}: table doc`);
    for (const r of allRows(s)) {
      assert.match(r.key, /^[a-z][a-z0-9_]*$/, `${s.path}.${r.key}: snake_case`);
      assert.ok(r.doc.length > 5, `${s.path}.${r.key}: doc`);
      assert.ok(r.type.name.length > 0, `${s.path}.${r.key}: type name`);
    }
    for (const c of s.children ?? []) assert.ok(paths.includes(`${s.path}.${c}`), `${s.path}.${c}: a child table in the schema`);
  }
});

test('schema: every stated default passes its own validation (format -> TOML -> parse gives it back)', () => {
  for (const s of SCHEMA) {
    for (const r of allRows(s)) {
      const formatted = r.type.format(r.default);
      if (r.required !== undefined || r.computed !== undefined || formatted === undefined) continue;
      const text = `v = ${formatted}\n`;
      const back = r.type.parse(parse(text)['v']);
      assert.ok(back.ok, `${s.path}.${r.key}: default ${text.trim()} refused: ${back.ok ? '' : back.error}`);
      assert.deepEqual(back.value, r.default, `${s.path}.${r.key}: round trip`);
    }
  }
});

test('schema: defaults are the cores\' exported defaults (one place for each)', () => {
  const t = defaultTuning();
  const d = defaultTunnelSettings('l2tpkit');
  const l = L2TP.rows;
  assert.deepEqual(
    [l.receiveWindow.default, l.retransmitInitial.default, l.retransmitCap.default, l.retriesEstablished.default, l.retriesNotEstablished.default, l.helloInterval.default, l.helloMissCount.default],
    [t.receiveWindow, t.retransmitInitial, t.retransmitCap, t.retriesEstablished, t.retriesNotEstablished, t.helloInterval, t.helloMissCount],
  );
  assert.deepEqual([l.hostName.default, l.vendorName.default, l.maxOffset.default, l.dataSequencing.default], [d.hostName, d.vendorName, d.maxOffset, d.dataSequencing]);
  assert.equal(LISTEN.rows.port.default, L2TP_PORT);
  assert.equal(LAC.rows.port.default, L2TP_PORT);
  assert.deepEqual(PPP.rows.auth.default, ['mschapv2', 'chap'], 'ACCESS_SERVER_DEFAULTS.auth in config names');
  assert.deepEqual(ACCESS_SERVER_DEFAULTS.auth, ['mschapv2', 'chap-md5']);
  assert.deepEqual([PPP.rows.mru.default, PPP.rows.echoInterval.default, PPP.rows.echoFailure.default], [ACCESS_SERVER_DEFAULTS.mru, ACCESS_SERVER_DEFAULTS.echoInterval, ACCESS_SERVER_DEFAULTS.echoFailure]);
  assert.equal(TUN.rows.mssClamp.default, ACCESS_SERVER_DEFAULTS.mssClamp);
  assert.equal(PPP.rows.echoRate.default, ACCESS_SERVER_DEFAULTS.echoRate);
  assert.deepEqual([IPSEC.rows.ikeLifetime.default, IPSEC.rows.childLifetime.default], [DEFAULT_POLICY.phase1.maxLifetimeSeconds, DEFAULT_POLICY.phase2.maxLifetimeSeconds]);
  // The parsed empty config carries exactly those values.
  const c = parseConfig('');
  assert.ok(c.ok);
  assert.equal(c.value.l2tp.retriesEstablished, t.retriesEstablished);
  assert.equal(c.value.l2tp.ackDelay, t.ackDelay);
  assert.deepEqual(c.value.daemon, {
    controlSocket: DAEMON.rows.controlSocket.default, logLevel: 'info', metricsListen: undefined, user: undefined,
    stateDir: DAEMON.rows.stateDir.default, controlGroup: undefined, showGroup: undefined, showSocket: undefined,
    udpReceiveBuffer: DEFAULT_UDP_BUFFER, udpSendBuffer: DEFAULT_UDP_BUFFER,
  });
});

/** Values for the required keys in the all-defaults file. */
const REQUIRED_VALUES: Readonly<Record<string, string>> = {
  'lac.lns': '"192.0.2.9"',
  'ipsec.peer.psk': '"peer secret"',
  'ipsec.peer.address': '"198.51.100.7"',
  'pool.named.name': '"gold"',
  'pool.named.ipv4': '"100.64.8.0/24"',
  'radius.server.address': '"192.0.2.20"',
  'radius.server.secret': '"radius secret"',
  'radius.dae.client.address': '"192.0.2.21"',
  'radius.dae.client.secret': '"dae secret"',
  'pppoe.interface': '"eth1"',
  'l2tpv3.pseudowire.name': '"site-b"',
  'l2tpv3_static.name': '"static-b"',
  'l2tpv3_static.local': '"192.0.2.1"',
  'l2tpv3_static.remote': '"192.0.2.2"',
  'l2tpv3_static.tunnel_id': '1000',
  'l2tpv3_static.peer_tunnel_id': '2000',
  'l2tpv3_static.session_id': '3000',
  'l2tpv3_static.peer_session_id': '4000',
  'tunnel_select.domain.realm': '"isp.example"',
  'tunnel_select.domain.target': '"p"',
  'tunnel_select.profile.name': '"p"',
  'tunnel_select.destination.profile': '"p"',
  'tunnel_select.destination.address': '"192.0.2.30"',
};

test('schema: every key of every table is accepted with its documented default', () => {
  // One file that writes every non-required, non-computed key of every table at its default.
  const lines: string[] = [];
  for (const s of SCHEMA) {
    lines.push(s.array ? `[[${s.path}]]` : `[${s.path}]`);
    const rows = [...(s.enabled !== undefined ? [s.enabled] : []), ...Object.values(s.rows)];
    for (const r of rows) {
      const formatted = r.type.format(r.default);
      if (r.computed !== undefined || formatted === undefined) continue;
      if (r.required !== undefined) lines.push(`${r.key} = ${REQUIRED_VALUES[`${s.path}.${r.key}`] ?? '""'}`);
      else lines.push(`${r.key} = ${formatted}`);
    }
  }
  const src = lines.join('\n').replace('[ipsec]\n', '[ipsec]\npsk = "correct horse"\n').replace('[l2tpv3]\n', '[l2tpv3]\nsecret = "pw secret"\n').replace('listen = "0.0.0.0:1701"', 'listen = "192.0.2.1:1702"').replace('udp_sport = 1701', 'udp_sport = 1703');
  const r = parseConfig(src);
  assert.ok(r.ok, r.ok ? '' : `${r.error.map(formatConfigError).join('\n')}\n${src}`);
});

test('schema: secrets are marked (print-config masks exactly these)', () => {
  const secrets = SCHEMA.flatMap((s) => allRows(s).filter((r) => r.secret === true).map((r) => `${s.path}.${r.key}`));
  assert.deepEqual(secrets.sort(), ['ipsec.peer.psk', 'ipsec.psk', 'l2tpv3.psk', 'l2tpv3.secret', 'l2tpv3_static.cookie', 'l2tpv3_static.peer_cookie', 'lac.password', 'lac.psk', 'lac.secret', 'listen.secret', 'pppoe.cookie_secret', 'radius.dae.client.secret', 'radius.server.secret', 'status.token', 'tunnel_select.destination.secret', 'tunnel_select.profile.secret', 'tunnel_select.secret']);
});

test('schema: unknown keys anywhere get a suggestion from the table', () => {
  const r = parseConfig('[[lac]]\nlns = "192.0.2.1"\nipsec = true\npsk = "12345678"\nforce_encapsulaton = true\n[tun]\nms_clamp = false\n[ipsec]\npsk = "12345678"\n[[ipsec.peer]]\nadress = "x"\n');
  assert.ok(!r.ok);
  const msgs = r.error.map(formatConfigError);
  assert.ok(msgs.includes('config: line 5: lac[0].force_encapsulaton: unknown key (did you mean "force_encapsulation"?)'), msgs.join('\n'));
  assert.ok(msgs.includes('config: line 7: tun.ms_clamp: unknown key (did you mean "mss_clamp"?)'), msgs.join('\n'));
  assert.ok(msgs.includes('config: line 11: ipsec.peer[0].adress: unknown key (did you mean "address"?)'), msgs.join('\n'));
});

test('schema: values are typed once (prefixes, addresses, durations) and nothing else accepts text', () => {
  const r = parseConfig('[pool]\nipv4 = "100.64.8.0/22"\nlocal_address = "100.64.8.9"\nipv6_prefix = "2001:db8:100::/56"\n[ppp]\necho_interval = 2.5\n');
  assert.ok(r.ok, r.ok ? '' : r.error.map(formatConfigError).join('\n'));
  const a = r.value.access;
  assert.ok(a);
  assert.deepEqual(a.ipv4Pool, { network: 0x64400800, length: 22 });
  assert.equal(a.localAddress, 0x64400809);
  assert.deepEqual(a.ipv6Prefix, { network64: 0x20010db801000000n, length: 56 });
  assert.equal(a.echoInterval, 2500);
  const bad = parseConfig('[pool]\nipv4 = "100.64.8.0/31"\n');
  assert.ok(!bad.ok && bad.error.some((e) => e.key === 'pool.ipv4' && /\/30 or shorter/.test(e.message)));
});

test('print-config: the effective config as TOML, secrets masked; unmasked it parses back to the same config', () => {
  const src = `listen = []
[daemon]
log_level = "debug"
metrics_listen = "[::1]:9101"
[l2tp]
idle_disconnect = 30
retransmit_initial = 0.5
[[lac]]
name = "office"
lns = "203.0.113.10"
secret = "tunnel secret"
hide_avps = true
ppp = true
username = "alice"
password = "wonderland"
[[lac]]
lns = "198.18.0.4"
ipsec = true
psk = "server secret"
ike_proposals = ["aes128-sha256-modp2048", "3des-sha1-modp1024"]
esp_proposals = ["aes128gcm16-modp2048", "aes256-sha256-modp2048"]
sha256_96 = true
ike_port = 0
natt_port = 0
`;
  const ppp = `[ppp]
auth = ["pap"]
dns = ["198.18.0.53"]
[pool]
ipv4 = "100.64.8.0/22"
ipv6_prefix = "2001:db8:100::/56"
[tun]
netns = "lan"
`;
  const lnsBase = src.replace('listen = []\n', '');
  const withAccess = `${lnsBase}${ppp}[[listen]]\naddress = "127.0.0.1"\n[ipsec]\nenabled = false\n`;
  // require_ipsec = false lets L2TP in the clear reach PPP: refused without allow_insecure.
  const withIpsec = `${lnsBase}${ppp.replace('[ppp]\n', '[ppp]\nallow_insecure = true\n')}[[listen]]\naddress = "192.0.2.1"\n[ipsec]\nesp_proposals = ["aes256-sha1"]\nrequire_ipsec = false\n` +
    '[[ipsec.peer]]\naddress = "198.51.100.7"\npsk = "peer secret"\nsha256_96 = true\n[[ipsec.peer]]\naddress = "198.51.100.8"\npsk = "other secret"\n';
  const withStatus = '[status]\nlisten = "127.0.0.1:8080"\ntoken = "correct-horse-battery-staple"\nmax_rows = 50\n';
  for (const text of [src, withAccess, withIpsec, '', '[ppp]\nenabled = false\n[ipsec]\nenabled = false\n', '[ppp]\n[ipsec]\npsk = "correct horse"\n', withStatus]) {
    const c = parseConfig(text);
    assert.ok(c.ok, c.ok ? '' : c.error.map(formatConfigError).join('\n'));
    const shown = printConfig(c.value, { secrets: 'show' });
    const back = parseConfig(shown);
    assert.ok(back.ok, back.ok ? '' : `${back.error.map(formatConfigError).join('\n')}\n${shown}`);
    assert.deepEqual(back.value, c.value, shown);
    const masked = printConfig(c.value);
    for (const secret of ['tunnel secret', 'wonderland', 'server secret', 'peer secret', 'other secret', 'correct horse', 'correct-horse-battery-staple']) assert.ok(!masked.includes(secret), `${secret} masked`);
  }
  const masked = printConfig((parseConfig(withIpsec) as { value: DaemonConfig }).value);
  assert.match(masked, /^psk = "\*{8}"$/m);
  assert.match(masked, /^password = "\*{8}"$/m);
  assert.match(masked, /^secret = "\*{8}"$/m);
});

test('docs/CONFIG.md holds the generated key reference (every key, type and default; nothing else)', () => {
  const doc = readRepoFile('docs/CONFIG.md');
  const want = configReference();
  const a = doc.indexOf(REFERENCE_BEGIN);
  const b = doc.indexOf(REFERENCE_END);
  assert.ok(a >= 0 && b > a, 'docs/CONFIG.md has the reference markers');
  const have = doc.slice(a, b + REFERENCE_END.length);
  if (have !== want && process.env['L2TPKIT_WRITE_DOCS'] === '1') {
    writeFileSync(join(repoRoot(), 'docs/CONFIG.md'), doc.slice(0, a) + want + doc.slice(b + REFERENCE_END.length));
    return;
  }
  assert.equal(have, want, 'docs/CONFIG.md is stale: L2TPKIT_WRITE_DOCS=1 node --test dist/src/daemon/config/schema.test.js');
  // Every key of every table appears in its table's section, and every documented key exists.
  for (const s of SCHEMA) {
    const head = `### \`${s.array ? `[[${s.path}]]` : `[${s.path}]`}\``;
    const start = have.indexOf(head);
    assert.ok(start >= 0, `${s.path} documented`);
    const section = have.slice(start, have.indexOf('\n### ', start + 1) === -1 ? undefined : have.indexOf('\n### ', start + 1));
    const documented = [...section.matchAll(/^\| `([a-z0-9_]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual(documented, knownKeys(s).filter((k) => !(s.children ?? []).includes(k)), `${s.path}: documented keys`);
  }
});

test('docs/CONFIG.md: every key the TOML examples write (commented or not) exists in its table', () => {
  const doc = readRepoFile('docs/CONFIG.md');
  const known = new Map(SCHEMA.map((s) => [s.path, knownKeys(s)]));
  known.set('', SCHEMA.filter((s) => !s.path.includes('.')).map((s) => s.path));
  for (const block of doc.matchAll(/```toml\n([\s\S]*?)```/g)) {
    let table = '';
    for (const raw of (block[1] ?? '').split('\n')) {
      const line = raw.replace(/^#\s?/, '').trim();
      const h = /^\[\[?([a-z0-9_.]+)\]\]?/.exec(line);
      if (h?.[1] !== undefined) {
        table = h[1];
        assert.ok(known.has(table), `unknown table [${table}] in a docs example`);
        continue;
      }
      const k = /^([a-z0-9_]+)\s*=/.exec(line);
      if (k?.[1] === undefined) continue;
      assert.ok(known.get(table)?.includes(k[1]), `docs example: ${table === '' ? '' : `${table}.`}${k[1]} is not a key`);
    }
  }
});

test('[status]: off without listen; a non-loopback listen is refused unless allow_remote says so', () => {
  const off = parseConfig('[status]\nmax_rows = 20\n');
  assert.ok(off.ok && off.value.status === undefined);
  const on = parseConfig('[status]\nlisten = "[::1]:8080"\n');
  assert.ok(on.ok);
  assert.deepEqual(on.value.status, { listen: { host: '::1', port: 8080 }, token: undefined, allowRemote: false, maxRows: 200 });
  const remote = parseConfig('[status]\nlisten = "192.0.2.1:8080"\n');
  assert.ok(!remote.ok);
  assert.match(formatConfigError(remote.error[0] ?? { key: '', message: '' }), /line 2: status\.listen: 192\.0\.2\.1 is not a loopback address.*allow_remote = true/);
  assert.ok(parseConfig('[status]\nlisten = "0.0.0.0:8080"\nallow_remote = true\n').ok);
  const short = parseConfig('[status]\nlisten = "127.0.0.1:8080"\ntoken = "short"\n');
  assert.ok(!short.ok && short.error.some((e) => e.key === 'status.token'));
});
