/**
 * The setup a start shares with --check-config (issue 11 #3, #4, #7): the state directory keeps
 * the generated PSK and login across restarts (0700 / 0600), check mode writes nothing, the users
 * file is loaded and checked against the pool, a damaged state file is an error, an unwritable
 * state directory degrades to memory with one warning; DNS from the host's resolvers; the
 * credential store rotates and adds users.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseUsersFile } from '../../aaa/index.js';
import { seededRandom } from '../../base/random.js';
import { parseConfig, formatConfigError, type DaemonConfig } from '../config.js';
import { prepare, type Prepared } from './prepare.js';
import { CredentialStore } from './credential-store.js';
import { hostResolvers, parseResolvConf } from './resolv.js';
import { userLine } from './users-file.js';
import { randomToken } from './secrets.js';
import { withTempDir } from '../../../test/lib/l2tpd-process.js';

const cfg = (src: string): DaemonConfig => {
  const r = parseConfig(src);
  assert.ok(r.ok, r.ok ? '' : r.error.map(formatConfigError).join('\n'));
  return r.value;
};

const withDir = (body: (dir: string) => Promise<void>): Promise<void> => withTempDir('l2tpd-setup', body);

async function ready(config: DaemonConfig, o: Parameters<typeof prepare>[1]): Promise<Prepared> {
  const r = await prepare(config, o);
  assert.ok(r.ok, r.ok ? '' : r.error.map(formatConfigError).join('\n'));
  return r.value;
}

const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;

test('state directory: the first start generates and keeps the PSK and the login; a restart reads the same ones', async () => {
  await withDir(async (dir) => {
    const state = join(dir, 'state');
    const resolvConf = [join(dir, 'none')];
    const first = await ready(cfg(''), { mode: 'start', stateDir: state, resolvConf });
    const c = first.credentials;
    assert.equal(c.fresh, true);
    assert.equal(c.stateDir, state);
    assert.match(c.psk ?? '', /^[a-km-zA-HJ-NP-Z2-9]{20}$/);
    assert.match(c.login?.username ?? '', /^user-[a-z2-9]{4}$/);
    assert.equal(first.config.ipsec?.psk, c.psk, 'the responder gets the generated key');
    assert.equal(first.config.access?.usersFile, join(state, 'users'));
    assert.equal(first.users?.get(c.login?.username ?? '')?.password, c.login?.password);
    assert.equal(await mode(state), 0o700);
    assert.equal(await mode(join(state, 'credentials.json')), 0o600);
    assert.equal(await mode(join(state, 'users')), 0o600);
    const stored = JSON.parse(await readFile(join(state, 'credentials.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(stored, { version: 1, psk: c.psk, generatedUser: c.login?.username });
    assert.ok(!JSON.stringify(stored).includes(c.login?.password ?? '?'), 'the password lives in the users file only');

    const again = await ready(cfg(''), { mode: 'start', stateDir: state, resolvConf });
    assert.equal(again.credentials.fresh, false);
    assert.equal(again.credentials.psk, c.psk);
    assert.deepEqual(again.credentials.login, c.login);
    // [daemon] state_dir is read when no override is given.
    const viaKey = await ready(cfg(`[daemon]\nstate_dir = ${JSON.stringify(state)}\n`), { mode: 'start', resolvConf });
    assert.equal(viaKey.credentials.psk, c.psk);
  });
});

test('check mode reads and writes nothing; a configured users file and PSK need no state at all', async () => {
  await withDir(async (dir) => {
    const state = join(dir, 'state');
    const p = await ready(cfg(''), { mode: 'check', stateDir: state, resolvConf: [] });
    assert.equal(existsSync(state), false, '--check-config created nothing');
    assert.equal(p.config.ipsec?.psk, undefined, 'no key is made up: --print-config shows none, the first start generates it');
    assert.ok(p.notes.some((n) => /users will be created at the first start/.test(n.message)), JSON.stringify(p.notes));
    assert.ok(p.notes.some((n) => /one will be generated at the first start/.test(n.message)), JSON.stringify(p.notes));
    const users = join(dir, 'users');
    await writeFile(users, 'alice wonderland\n');
    const own = await ready(cfg(`[users]\nfile = ${JSON.stringify(users)}\n[ipsec]\npsk = "correct horse"\n`), { mode: 'start', stateDir: state, resolvConf: [] });
    assert.equal(existsSync(state), false, 'nothing generated, nothing written');
    assert.equal(own.credentials.psk, undefined);
    assert.equal(own.credentials.login, undefined);
    assert.equal(own.users?.get('alice')?.password, 'wonderland');
  });
});

test('the users file is loaded like the start loads it: missing, malformed, static addresses outside the pool (issue 11 #7)', async () => {
  await withDir(async (dir) => {
    const errorsOf = async (users: string | undefined, extra = ''): Promise<string[]> => {
      const path = join(dir, 'users');
      if (users !== undefined) await writeFile(path, users);
      else await rm(path, { force: true });
      const r = await prepare(cfg(`[users]\nfile = ${JSON.stringify(path)}\n[pool]\nipv4 = "100.64.0.0/24"\n${extra}`), { mode: 'check', stateDir: null, resolvConf: [] });
      return r.ok ? [] : r.error.map(formatConfigError);
    };
    assert.match((await errorsOf(undefined))[0] ?? '', /users\.file: cannot read .*users: ENOENT/);
    assert.match((await errorsOf('alice\n'))[0] ?? '', /users\.file: .*users: line 1: expected "username password \[static-ipv4\]"/);
    assert.match((await errorsOf('alice pw 198.51.100.9\n'))[0] ?? '', /user "alice": static address 198\.51\.100\.9 is outside the pool 100\.64\.0\.0\/24: the TUN route covers only the pool/);
    assert.match((await errorsOf('alice pw 100.64.0.1\n'))[0] ?? '', /100\.64\.0\.1 is the LNS's own PPP address/);
    assert.match((await errorsOf('alice pw 100.64.0.255\n'))[0] ?? '', /is the pool's broadcast address/);
    assert.match((await errorsOf('alice pw 100.64.0.9\nbob pw 100.64.0.9\n')).join('\n'), /user "bob": static address 100\.64\.0\.9 is also given to user "alice"/);
    assert.deepEqual(await errorsOf('alice pw 100.64.0.9\n"b o b" "p w"\n'), []);
    // A stateless node ([pool] local = false) has no pool: each address gets a /32, only its own address is refused.
    const stateless = async (users: string): Promise<string[]> => {
      const path = join(dir, 'users');
      await writeFile(path, users);
      const r = await prepare(cfg(`[users]\nfile = ${JSON.stringify(path)}\n[pool]\nlocal = false\nlocal_address = "100.127.255.1"\n`), { mode: 'check', stateDir: null, resolvConf: [] });
      return r.ok ? [] : r.error.map(formatConfigError);
    };
    assert.deepEqual(await stateless('alice pw 100.64.0.201\n'), []);
    assert.match((await stateless('alice pw 100.127.255.1\n'))[0] ?? '', /100\.127\.255\.1 is the LNS's own PPP address/);
  });
});

test('a damaged state file is an error naming it; an unwritable state directory degrades to memory with one warning', async () => {
  await withDir(async (dir) => {
    const state = join(dir, 'state');
    await ready(cfg(''), { mode: 'start', stateDir: state, resolvConf: [] });
    await writeFile(join(state, 'credentials.json'), '{"psk": 5}');
    const bad = await prepare(cfg(''), { mode: 'check', stateDir: state });
    assert.ok(!bad.ok && /daemon\.state_dir: .*credentials\.json: "psk" must be a non-empty string \(remove it to generate new credentials\)/.test(formatConfigError(bad.error[0] ?? { key: '', message: '' })));
    const blocked = join(dir, 'a-file');
    await writeFile(blocked, 'not a directory');
    const mem = await ready(cfg('[ppp]\ndns = []\n'), { mode: 'start', stateDir: join(blocked, 'state'), resolvConf: [] });
    assert.equal(mem.credentials.stateDir, undefined);
    assert.ok(mem.credentials.psk !== undefined && mem.credentials.login !== undefined, 'still a working default');
    assert.equal(mem.config.access?.usersFile, undefined);
    const warns = mem.notes.filter((n) => n.level === 'warn');
    assert.equal(warns.length, 1);
    assert.match(warns[0]?.message ?? '', /cannot keep generated credentials in .* \(ENOTDIR\): they change at every start/);
  });
});

test('DNS for clients: the host resolvers, loopback stubs skipped, systemd-resolved upstreams, else none with the reason (issue 11 #4)', async () => {
  assert.deepEqual(parseResolvConf('# x\nnameserver 192.0.2.53\nnameserver 127.0.0.53\nnameserver 2001:db8::53\noptions edns0\nnameserver 198.51.100.53\n'), {
    usable: ['192.0.2.53', '198.51.100.53'], loopback: ['127.0.0.53'], ipv6: ['2001:db8::53'],
  });
  await withDir(async (dir) => {
    const f = async (name: string, text: string): Promise<string> => {
      const p = join(dir, name);
      await writeFile(p, text);
      return p;
    };
    const host = await f('host', 'nameserver 192.0.2.53\nnameserver 192.0.2.54\nnameserver 192.0.2.55\n');
    assert.deepEqual((await hostResolvers([host])).servers, ['192.0.2.53', '192.0.2.54']);
    const stub = await f('stub', 'nameserver 127.0.0.53\noptions edns0 trust-ad\n');
    const upstream = await f('up', 'nameserver 203.0.113.53\n');
    const viaResolved = await hostResolvers([stub, upstream]);
    assert.deepEqual(viaResolved.servers, ['203.0.113.53']);
    assert.match(viaResolved.note, /names the local stub 127\.0\.0\.53; upstream servers from/);
    const none = await hostResolvers([stub, join(dir, 'missing')]);
    assert.deepEqual(none.servers, []);
    assert.match(none.note, /^no DNS offered to clients: .* names only 127\.0\.0\.53, a resolver on this host that clients cannot reach \(set \[ppp\] dns = \[\.\.\.\]\)$/);
    assert.match((await hostResolvers([await f('v6', 'nameserver 2001:db8::53\n')])).note, /only IPv6 servers, and IPCP offers IPv4 ones/);
    // The setup fills [ppp] dns from them, and leaves a configured list (even []) alone.
    const p = await ready(cfg(''), { mode: 'check', stateDir: null, resolvConf: [host] });
    assert.deepEqual(p.config.access?.dns, ['192.0.2.53', '192.0.2.54']);
    assert.deepEqual((await ready(cfg('[ppp]\ndns = []\n'), { mode: 'check', stateDir: null, resolvConf: [host] })).config.access?.dns, []);
  });
});

test('credential store: rotate writes first (state file, users file), then takes effect; user add appends and reloads', async () => {
  await withDir(async (dir) => {
    const state = join(dir, 'state');
    const p = await ready(cfg(''), { mode: 'start', stateDir: state, resolvConf: [] });
    let reloads = 0;
    const store = new CredentialStore({ credentials: p.credentials, usersFile: p.config.access?.usersFile, random: seededRandom(7), reloadUsers: () => Promise.resolve(++reloads > 0) });
    const before = store.view();
    assert.equal(before.psk, p.credentials.psk);
    assert.equal(before.stateFile, join(state, 'credentials.json'));
    const r1 = await store.rotate('psk');
    assert.ok(r1.ok);
    assert.notEqual(store.psk, before.psk);
    const kept = JSON.parse(await readFile(join(state, 'credentials.json'), 'utf8')) as { psk: string; generatedUser: string };
    assert.equal(kept.psk, store.psk);
    assert.equal(kept.generatedUser, before.login?.username);
    assert.equal(reloads, 0);
    const r2 = await store.rotate('password');
    assert.ok(r2.ok && r2.value.login?.password !== before.login?.password);
    assert.equal(reloads, 1);
    const users = parseUsersFile(await readFile(join(state, 'users'), 'utf8'));
    assert.ok(users.ok && users.value.get(before.login?.username ?? '')?.password === r2.value.login?.password);
    const added = await store.addUser('bob', undefined);
    assert.ok(added.ok && /^[A-Za-z2-9]{16}$/.test(added.value.password));
    const given = await store.addUser('carol', 'two words');
    assert.ok(given.ok);
    assert.equal(reloads, 3);
    const after = parseUsersFile(await readFile(join(state, 'users'), 'utf8'));
    assert.ok(after.ok);
    assert.deepEqual([...after.value.keys()].slice(1), ['bob', 'carol']);
    assert.equal(after.value.get('carol')?.password, 'two words');
    const dup = await store.addUser('bob', 'x');
    assert.ok(!dup.ok && /already exists/.test(dup.error));
    const badName = await store.addUser('has space', 'x');
    assert.ok(!badName.ok && /without spaces/.test(badName.error));
    assert.equal(await mode(join(state, 'users')), 0o600);
    // With a configured PSK there is nothing generated to rotate.
    const fixed = new CredentialStore({ credentials: { stateDir: undefined, psk: undefined, login: undefined, fresh: false }, usersFile: undefined, random: seededRandom(1), reloadUsers: () => Promise.resolve(true) });
    const no = await fixed.rotate('psk');
    assert.ok(!no.ok && /set in the config file/.test(no.error));
    const noFile = await fixed.addUser('dave', undefined);
    assert.ok(!noFile.ok && /no users file/.test(noFile.error));
  });
});

test('users-file lines read back as written; tokens are unbiased over the alphabet', () => {
  for (const [u, p] of [['alice', 'wonderland'], ['b o b', 'with "quotes" and \\ and #hash'], ['c', ' lead']] as const) {
    const r = parseUsersFile(userLine({ username: u, password: p, staticAddress: 0x64400009 }));
    assert.ok(r.ok);
    assert.deepEqual(r.value.get(u), { username: u, password: p, staticAddress: 0x64400009 });
  }
  const counts = new Map<string, number>();
  for (const ch of randomToken(seededRandom(3), 56_000, 'ab')) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  assert.ok(Math.abs((counts.get('a') ?? 0) - 28_000) < 1_000, JSON.stringify([...counts]));
});
