import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readRepoFile } from '../../test/lib/repo.js';
import { parseConfig, formatConfigError, defaultConfig, locateKeys, suggest, loadConfigFile, type ConfigError } from './config.js';

const errorsOf = (src: string): readonly ConfigError[] => {
  const r = parseConfig(src);
  assert.equal(r.ok, false, 'expected errors');
  return r.ok ? [] : r.error;
};

test('defaults: no config = one LNS on 0.0.0.0:1701, any host, no tunnel auth', () => {
  const c = defaultConfig();
  // Inside the unit's RuntimeDirectory (ProtectSystem=strict leaves /run itself read-only).
  assert.equal(c.daemon.controlSocket, '/run/l2tpd/l2tpd.sock');
  assert.equal(c.daemon.stateDir, '/var/lib/l2tpd');
  assert.equal(c.daemon.logLevel, 'info');
  assert.equal(c.daemon.metricsListen, undefined);
  assert.deepEqual(c.listen, [{ address: '0.0.0.0', port: 1701, secret: undefined, hideAvps: false, allowedHosts: [] }]);
  assert.deepEqual(c.lac, []);
  assert.equal(c.l2tp.hostName, 'l2tpkit');
  assert.equal(c.l2tp.vendorName, 'l2tpkit');
  assert.equal(c.l2tp.receiveWindow, 16);
  assert.equal(c.l2tp.retransmitInitial, 1000);
  assert.equal(c.l2tp.retransmitCap, 16000);
  assert.equal(c.l2tp.retriesEstablished, 5);
  assert.equal(c.l2tp.retriesNotEstablished, 5);
  assert.equal(c.l2tp.helloInterval, 60000);
  assert.equal(c.l2tp.helloMissCount, 3);
  assert.equal(c.l2tp.idleDisconnect, undefined);
  assert.equal(c.l2tp.maxOffset, 64);
  assert.equal(c.l2tp.dataSequencing, false);
  assert.ok(c.l2tp.ackDelay < c.l2tp.retransmitInitial);
});

test('a full good config, including the example in docs/CONFIG.md', () => {
  const doc = readRepoFile('docs/CONFIG.md');
  const example = /```toml\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(example !== undefined);
  const r = parseConfig(example);
  assert.ok(r.ok, r.ok ? '' : r.error.map(formatConfigError).join('\n'));
  assert.equal(r.value.lac[0]?.name, 'isp1');

  const src = `
[daemon]
control_socket = "/tmp/x.sock"
log_level = "debug"
metrics_listen = "[::1]:9101"

[l2tp]
host_name = "lns1"
vendor_name = ""
retransmit_initial = 0.5
idle_disconnect = 30
hello_interval = 0

[[listen]]
address = "::"
port = 0
secret = "s3cret"
hide_avps = true
allowed_hosts = ["lac-a", "lac-b"]

[[listen]]
address = "127.0.0.1"

[[lac]]
name = "up"
lns = "198.18.0.4"
local_address = "198.18.0.1"
sessions = 3
redial = false

[ppp]
enabled = false

[ipsec]
enabled = false
`;
  const g = parseConfig(src);
  assert.ok(g.ok, g.ok ? '' : g.error.map(formatConfigError).join('\n'));
  const c = g.value;
  assert.deepEqual(c.daemon, {
    controlSocket: '/tmp/x.sock', logLevel: 'debug', metricsListen: { host: '::1', port: 9101 }, user: undefined,
    stateDir: '/var/lib/l2tpd', controlGroup: undefined, showGroup: undefined, showSocket: undefined,
    udpReceiveBuffer: 4 * 1024 * 1024, udpSendBuffer: 4 * 1024 * 1024,
  });
  assert.equal(c.l2tp.hostName, 'lns1');
  assert.equal(c.l2tp.vendorName, undefined);
  assert.equal(c.l2tp.retransmitInitial, 500);
  assert.equal(c.l2tp.idleDisconnect, 30000);
  assert.equal(c.l2tp.helloInterval, 0);
  assert.equal(c.listen.length, 2);
  assert.deepEqual(c.listen[0], { address: '::', port: 0, secret: 's3cret', hideAvps: true, allowedHosts: ['lac-a', 'lac-b'] });
  assert.deepEqual(c.listen[1], { address: '127.0.0.1', port: 1701, secret: undefined, hideAvps: false, allowedHosts: [] });
  assert.deepEqual(c.lac[0], {
    name: 'up',
    lns: '198.18.0.4',
    port: 1701,
    localAddress: '198.18.0.1',
    secret: undefined,
    hideAvps: false,
    sessions: 3,
    redial: false,
    ppp: undefined,
  });
  assert.equal(c.access, undefined, '[ppp] enabled = false: plain L2TP');
  assert.equal(c.ipsec, undefined, '[ipsec] enabled = false');
});

test('[[lac]] without [[listen]] means no listener (pure LAC on ephemeral sockets)', () => {
  const r = parseConfig('[[lac]]\nlns = "192.0.2.1"\n');
  assert.ok(r.ok);
  assert.deepEqual(r.value.listen, []);
  assert.equal(r.value.lac[0]?.name, 'lac0');
  const explicit = parseConfig('listen = []\n');
  assert.ok(explicit.ok);
  assert.deepEqual(explicit.value.listen, []);
});

test('each kind of error names the key and its line', () => {
  const src = [
    '[daemon]', // 1
    'log_level = "verbose"', // 2
    'metrics_listen = "localhost:80"', // 3
    '', // 4
    '[l2tp]', // 5
    'receive_window = 0', // 6
    'retransmit_initial = "1s"', // 7
    'hello_miss_count = 1.5', // 8
    'data_sequencing = "yes"', // 9
    'host_name = ""', // 10
    '', // 11
    '[[lac]]', // 12
    'lns = "isp.example"', // 13
    'port = 70000', // 14
    'hide_avps = true', // 15
    '', // 16
    '[[lac]]', // 17
    'name = "x"', // 18
    '', // 19
    '[[listen]]', // 20
    'address = "0.0.0.0"', // 21
    'allowed_hosts = "a"', // 22
  ].join('\n');
  const got = errorsOf(src).map(formatConfigError);
  assert.deepEqual(got, [
    'config: line 2: daemon.log_level: expected "info", "debug", "warn" or "error"',
    'config: line 3: daemon.metrics_listen: expected "ADDRESS:PORT" (e.g. "127.0.0.1:9101" or "[::1]:9101") or ""',
    'config: line 6: l2tp.receive_window: must be between 1 and 65535',
    'config: line 7: l2tp.retransmit_initial: expected a number',
    'config: line 8: l2tp.hello_miss_count: expected an integer',
    'config: line 9: l2tp.data_sequencing: expected true or false',
    'config: line 10: l2tp.host_name: must not be empty',
    'config: line 13: lac[0].lns: expected an IPv4 or IPv6 address',
    'config: line 14: lac[0].port: must be between 1 and 65535',
    'config: line 15: lac[0].hide_avps: needs a secret (hidden AVPs are encrypted with it)',
    'config: line 17: lac[1]: missing key "lns" (the address of the LNS)',
    'config: line 22: listen[0].allowed_hosts: expected an array of strings',
  ]);
});

test('cross-field errors: cap < initial, duplicate names, family mismatch, duplicate listeners', () => {
  const src = `[l2tp]
retransmit_initial = 4
retransmit_cap = 2
[[lac]]
name = "a"
lns = "192.0.2.1"
local_address = "::1"
[[lac]]
name = "a"
lns = "192.0.2.2"
[[listen]]
address = "127.0.0.1"
[[listen]]
address = "127.0.0.1"
`;
  const got = errorsOf(src).map((e) => `${e.line}:${e.key}:${e.message}`);
  assert.deepEqual(got, [
    '3:l2tp.retransmit_cap:must not be less than retransmit_initial',
    '7:lac[0].local_address:address family differs from lns (192.0.2.1)',
    '9:lac[1].name:duplicate name "a" (also lac[0])',
    '13:listen[1].port:same address and port as listen[0]',
  ]);
});

test('unknown keys are errors, with a suggestion when close', () => {
  const src = `[deamon]
log_level = "info"
[l2tp]
retransmit_intial = 2
hostname = "x"
frobnicate = 1
[[lac]]
lns = "192.0.2.1"
secrit = "s"
[[listen]]
adress = "::"
`;
  const got = errorsOf(src).map(formatConfigError);
  assert.deepEqual(got, [
    'config: line 1: deamon: unknown key (did you mean "daemon"?)',
    'config: line 4: l2tp.retransmit_intial: unknown key (did you mean "retransmit_initial"?)',
    'config: line 5: l2tp.hostname: unknown key (did you mean "host_name"?)',
    'config: line 6: l2tp.frobnicate: unknown key',
    'config: line 9: lac[0].secrit: unknown key (did you mean "secret"?)',
    'config: line 11: listen[0].adress: unknown key (did you mean "address"?)',
  ]);
});

test('wrong table shapes', () => {
  const got = errorsOf('daemon = 3\n[lac]\nlns = "192.0.2.1"\n').map(formatConfigError);
  assert.deepEqual(got, ['config: line 1: daemon: expected a table ([daemon])', 'config: line 2: lac: expected an array of tables ([[lac]])']);
});

test('TOML syntax errors carry line and column', () => {
  const e = errorsOf('[daemon]\nlog_level = "info\n');
  assert.equal(e.length, 1);
  assert.equal(e[0]?.key, '');
  assert.equal(e[0]?.line, 2);
  assert.ok(typeof e[0]?.column === 'number');
  assert.match(formatConfigError(e[0] ?? { key: '', message: '' }), /^config: line 2, column \d+: syntax error: /);
  const dup = errorsOf('[l2tp]\nhost_name = "a"\nhost_name = "b"\n');
  assert.equal(dup[0]?.line, 3);
});

test('key locator: headers, arrays of tables, dotted and quoted keys, multi-line strings', () => {
  const src = `top = 1
[daemon]
"log_level" = "x"
[[lac]]
name = """
[[lac]]
fake = 1
"""
[[lac]]
a.b = 2
`;
  const m = locateKeys(src);
  assert.equal(m.get('top'), 1);
  assert.equal(m.get('daemon'), 2);
  assert.equal(m.get('daemon.log_level'), 3);
  assert.equal(m.get('lac[0]'), 4);
  assert.equal(m.get('lac[0].name'), 5);
  assert.equal(m.get('lac[1]'), 9);
  assert.equal(m.get('lac[1].a.b'), 10);
  assert.equal(m.get('lac[1].a'), 10);
  assert.equal(m.get('lac[2]'), undefined);
});

test('suggest only plausible typos', () => {
  assert.equal(suggest('local_adress', ['lns', 'local_address']), 'local_address');
  assert.equal(suggest('zzz', ['lns', 'port']), undefined);
});

test('an unreadable file is a ConfigError, not a throw', async () => {
  const r = await loadConfigFile('/nonexistent/l2tpd.toml');
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(formatConfigError(r.error[0] ?? { key: '', message: '' }), 'config: cannot read /nonexistent/l2tpd.toml: ENOENT');
});

test('random garbage never throws', () => {
  for (let i = 0; i < 200; i++) {
    const s = Array.from({ length: 40 }, () => '[]="\'.= \nabc01_#'.charAt(Math.floor(Math.random() * 16))).join('');
    parseConfig(s);
  }
});

test('[dataplane] fast_path: on by default, false turns the native fast path off, a wrong type is refused', () => {
  const d = parseConfig('');
  assert.ok(d.ok);
  assert.equal(d.value.dataplane?.fastPath, true);
  const off = parseConfig('[dataplane]\nfast_path = false\n');
  assert.ok(off.ok);
  assert.equal(off.value.dataplane?.fastPath, false);
  const bad = parseConfig('[dataplane]\nfast_path = "yes"\n');
  assert.ok(!bad.ok);
  assert.ok(bad.error.some((e) => e.key === 'dataplane.fast_path'), JSON.stringify(bad.error));
  const unknown = parseConfig('[dataplane]\nfastpath = true\n');
  assert.ok(!unknown.ok, 'unknown keys in [dataplane] are refused');
});
