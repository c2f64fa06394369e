/**
 * `[[pppoe]]`: the schema's defaults reach the section, sessions need PPP termination or a switching
 * `[[lac]]`, interfaces and VLANs are unique; the AC-Cookie key is generated once into the state
 * directory (0600) and read back, a configured `cookie_secret` wins, check mode writes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '../../base/random.js';
import { parseConfig, formatConfigError } from '../config.js';
import { prepare } from '../setup/index.js';
import { withTempDir } from '../../../test/lib/l2tpd-process.js';

const BASE = '[[listen]]\naddress = "127.0.0.1"\n[ipsec]\nenabled = false\n';
const errors = (src: string): string[] => {
  const r = parseConfig(src);
  return r.ok ? [] : r.error.map(formatConfigError);
};

test('[[pppoe]] defaults, service names, limits', () => {
  const r = parseConfig(`${BASE}[[pppoe]]\ninterface = "eth1"\nservice_names = ["a", "b"]\nmax_sessions_per_mac = 1\n`);
  assert.ok(r.ok, r.ok ? '' : r.error.map(formatConfigError).join('\n'));
  const p = r.value.pppoe[0];
  assert.equal(p?.interface, 'eth1');
  assert.deepEqual(p?.serviceNames, ['a', 'b']);
  assert.equal(p?.acName, 'l2tpkit');
  assert.equal(p?.maxSessionsPerMac, 1);
  assert.equal(p?.cookieSecret, undefined);
  assert.equal(p?.lac, undefined);
  const none = parseConfig(BASE);
  assert.ok(none.ok && none.value.pppoe.length === 0, 'no [[pppoe]]: none');
});

test('[[pppoe]] refusals: no interface, no PPP termination and no lac, an unknown or PPP-running lac, the same interface twice', () => {
  assert.match(errors(`${BASE}[[pppoe]]\nac_name = "x"\n`).join('\n'), /pppoe\[0\]: missing key "interface"/);
  assert.match(errors(`${BASE}[ppp]\nenabled = false\n[[pppoe]]\ninterface = "eth1"\n`).join('\n'), /pppoe\[0\]: PPPoE sessions are terminated by the access server/);
  assert.match(errors(`${BASE}[[pppoe]]\ninterface = "eth1"\nlac = "nope"\n`).join('\n'), /pppoe\[0\]\.lac: no \[\[lac\]\] named "nope"/);
  assert.match(
    errors(`${BASE}[[lac]]\nname = "x"\nlns = "192.0.2.1"\nppp = true\nusername = "u"\npassword = "p"\n[[pppoe]]\ninterface = "eth1"\nlac = "x"\n`).join('\n'),
    /pppoe\[0\]\.lac: \[\[lac\]\] "x" runs its own PPP/,
  );
  assert.match(errors(`${BASE}[[pppoe]]\ninterface = "eth1"\n[[pppoe]]\ninterface = "eth1"\n`).join('\n'), /pppoe\[1\]\.interface: same interface and VLAN as pppoe\[0\]/);
  assert.deepEqual(errors(`${BASE}[[pppoe]]\ninterface = "eth1"\nvlan = 10\n[[pppoe]]\ninterface = "eth1"\nvlan = 20\n`), []);
  assert.deepEqual(errors(`listen = []\n[[lac]]\nname = "x"\nlns = "192.0.2.1"\nsessions = 0\n[[pppoe]]\ninterface = "eth1"\nlac = "x"\n`), [], 'a pure switching LAC needs no listener');
});

test('AC-Cookie key: generated once into the state directory (0600), read back; cookie_secret wins; check mode writes nothing', async () => {
  await withTempDir('l2tpd-pppoe', async (dir) => {
    await writeFile(join(dir, 'users'), 'alice wonderland\n', { mode: 0o600 });
    const src = `${BASE}[users]\nfile = ${JSON.stringify(join(dir, 'users'))}\n[[pppoe]]\ninterface = "eth1"\n[[pppoe]]\ninterface = "eth2"\ncookie_secret = "mine"\n`;
    const r = parseConfig(src);
    assert.ok(r.ok);
    const state = join(dir, 'state');
    const check = await prepare(r.value, { mode: 'check', stateDir: state, resolvConf: [] });
    assert.ok(check.ok, check.ok ? '' : check.error.map(formatConfigError).join('\n'));
    assert.equal(existsSync(join(state, 'pppoe-cookie.key')), false, 'check mode writes nothing');
    const first = await prepare(r.value, { mode: 'start', stateDir: state, resolvConf: [], random: seededRandom(3) });
    assert.ok(first.ok, first.ok ? '' : first.error.map(formatConfigError).join('\n'));
    const file = join(state, 'pppoe-cookie.key');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const key = (await readFile(file, 'utf8')).trim();
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.equal(first.value.config.pppoe[0]?.cookieSecret, key);
    assert.equal(first.value.config.pppoe[1]?.cookieSecret, 'mine');
    const again = await prepare(r.value, { mode: 'start', stateDir: state, resolvConf: [], random: seededRandom(4) });
    assert.ok(again.ok);
    assert.equal(again.value.config.pppoe[0]?.cookieSecret, key, 'read back, not generated again');
  });
});
