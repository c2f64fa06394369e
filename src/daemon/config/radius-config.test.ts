/**
 * `[radius]`, `[[radius.server]]`, `[radius.dae]`, `[[radius.dae.client]]` and `[[pool.named]]`:
 * computed defaults (server names, NAS identity, spool), defaults from the RADIUS cores, the
 * cross-field refusals, and print-config masking the shared secrets with a lossless round trip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RADIUS_SERVER_DEFAULTS, DAE_DEFAULTS } from '../../aaa/radius/index.js';
import { formatConfigError, parseConfig } from './parse.js';
import { printConfig } from './print.js';
import { RADIUS_SERVER, RADIUS_DAE } from './schema-radius.js';

const ok = (text: string) => {
  const r = parseConfig(text);
  assert.ok(r.ok, r.ok ? '' : r.error.map(formatConfigError).join('\n'));
  return r.value;
};
const errors = (text: string): string[] => {
  const r = parseConfig(text);
  assert.ok(!r.ok, 'should be refused');
  return r.error.map(formatConfigError);
};

const BASE = `[[listen]]
address = "198.18.0.1"
[ppp]
auth = ["pap"]
[pool]
ipv4 = "100.64.0.0/24"
[[pool.named]]
name = "gold"
ipv4 = "100.64.8.0/24"
`;

test('[radius]: servers, computed names and NAS identity, defaults from the cores, DAE clients', () => {
  const c = ok(`${BASE}[radius]
auth_order = ["radius", "local"]
fallback = ["timeout", "reject"]
interim_interval = 300
[[radius.server]]
address = "192.0.2.20"
secret = "s1"
[[radius.server]]
address = "192.0.2.21"
secret = "s2"
role = ["acct"]
priority = 2
timeout = 1.5
require_message_authenticator = false
[radius.dae]
listen = "198.18.0.1:3799"
[[radius.dae.client]]
address = "192.0.2.0/24"
secret = "dae"
`);
  const r = c.radius;
  assert.ok(r !== undefined);
  assert.deepEqual(r.authOrder, ['radius', 'local']);
  assert.deepEqual(r.fallback, ['timeout', 'reject']);
  assert.equal(r.interimInterval, 300_000);
  assert.deepEqual(r.nas, { identifier: 'l2tpkit', ipAddress: '198.18.0.1' });
  assert.equal(r.spool, undefined, 'the default: in the state directory');
  assert.deepEqual(r.servers.map((s) => [s.name, s.role, s.priority, s.timeout, s.requireMessageAuthenticator]), [
    ['192.0.2.20', ['auth', 'acct'], 1, RADIUS_SERVER_DEFAULTS.timeoutMs, true],
    ['192.0.2.21', ['acct'], 2, 1500, false],
  ]);
  assert.equal(RADIUS_SERVER.rows.deadTime.default, RADIUS_SERVER_DEFAULTS.deadTimeMs);
  assert.equal(RADIUS_DAE.rows.eventTimestampWindow.default, DAE_DEFAULTS.eventTimestampWindowSec);
  assert.deepEqual(r.dae?.listen, { host: '198.18.0.1', port: 3799 });
  assert.deepEqual(r.dae?.clients.map((x) => [x.name, x.address]), [['192.0.2.0/24', '192.0.2.0/24']]);
  assert.equal(c.access?.namedPools?.get('gold')?.length, 24);
  // [radius] require_message_authenticator = false reaches servers that do not say otherwise; spool "" = memory only.
  const m = ok(`${BASE}[radius]\nrequire_message_authenticator = false\nspool = ""\nnas_identifier = "lns-1"\n[[radius.server]]\naddress = "192.0.2.20"\nsecret = "s"\n`);
  assert.equal(m.radius?.servers[0]?.requireMessageAuthenticator, false);
  assert.equal(m.radius?.spool, null, 'spool = "": memory only');
  assert.equal(m.radius?.nas.identifier, 'lns-1');
  assert.equal(ok(`${BASE}[radius]\nenabled = false\n`).radius, undefined);
});

test('[radius] refusals: no PPP, no server, no auth server for auth_order, duplicate names, DAE without clients, overlapping pools', () => {
  const noPpp = errors('[ppp]\nenabled = false\n[radius]\n[[radius.server]]\naddress = "192.0.2.20"\nsecret = "s"\n');
  assert.ok(noPpp.some((m) => /radius: RADIUS serves PPP logins/.test(m)), noPpp.join('\n'));
  assert.ok(errors(`${BASE}[radius]\n`).some((m) => /at least one \[\[radius.server\]\]/.test(m)));
  assert.ok(errors(`${BASE}[radius]\n[[radius.server]]\naddress = "192.0.2.20"\nsecret = "s"\nrole = ["acct"]\n`).some((m) => /no \[\[radius.server\]\] has role "auth"/.test(m)));
  const dup = errors(`${BASE}[radius]\n[[radius.server]]\nname = "a"\naddress = "192.0.2.20"\nsecret = "s"\n[[radius.server]]\nname = "a"\naddress = "192.0.2.21"\nsecret = "s"\n`);
  assert.ok(dup.some((m) => /radius.server\[1\].name: duplicate server name "a"/.test(m)), dup.join('\n'));
  assert.ok(errors(`${BASE}[radius]\n[[radius.server]]\naddress = "192.0.2.20"\n`).some((m) => /missing key "secret"/.test(m)));
  assert.ok(errors(`${BASE}[radius]\n[[radius.server]]\naddress = "192.0.2.20"\nsecret = ""\n`).some((m) => /must not be empty/.test(m)));
  assert.ok(errors(`${BASE}[radius]\n[[radius.server]]\naddress = "192.0.2.20"\nsecret = "s"\n[radius.dae]\n`).some((m) => /radius.dae: needs at least one/.test(m)));
  assert.ok(errors(`${BASE}[radius]\n[[radius.server]]\naddress = "192.0.2.20"\nsecret = "s"\n[radius.dae]\n[[radius.dae.client]]\naddress = "nope"\nsecret = "x"\n`).some((m) => /radius.dae.client\[0\].address/.test(m)));
  const overlap = errors(`${BASE}[[pool.named]]\nname = "silver"\nipv4 = "100.64.8.128/25"\n[[pool.named]]\nname = "gold"\nipv4 = "100.64.0.0/28"\n`);
  assert.ok(overlap.some((m) => /pool.named\[1\].ipv4: 100.64.8.128\/25 overlaps pool "gold"/.test(m)), overlap.join('\n'));
  assert.ok(overlap.some((m) => /pool.named\[2\].name: duplicate pool name "gold"/.test(m)), overlap.join('\n'));
  assert.ok(overlap.some((m) => /pool.named\[2\].ipv4: 100.64.0.0\/28 overlaps \[pool\] ipv4/.test(m)), overlap.join('\n'));
  assert.ok(errors(`${BASE}[radius]\nauth_ordr = []\n`).some((m) => /did you mean "auth_order"/.test(m)));
});

test('print-config writes [radius] with the secrets masked; unmasked it parses back to the same config', () => {
  const c = ok(`${BASE}[radius]
nas_ipv6_address = "2001:db8::1"
[[radius.server]]
name = "primary"
address = "192.0.2.20"
secret = "radius-secret-1"
source_address = "198.18.0.1"
[radius.dae]
[[radius.dae.client]]
name = "portal"
address = "192.0.2.30"
secret = "dae-secret-2"
`);
  const masked = printConfig(c);
  assert.ok(!masked.includes('radius-secret-1') && !masked.includes('dae-secret-2'), masked);
  assert.match(masked, /^\[\[radius\.server\]\]$/m);
  const back = parseConfig(printConfig(c, { secrets: 'show' }));
  assert.ok(back.ok, back.ok ? '' : back.error.map(formatConfigError).join('\n'));
  assert.deepEqual(back.value, c);
});
