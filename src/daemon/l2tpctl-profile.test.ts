import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserTable } from '../access/index.js';
import { cryptoRandom } from '../io/index.js';
import { CredentialStore } from './setup/index.js';
import { parseConfig } from './config.js';
import { clientCredentials } from './client-credentials.js';
import { handleControl } from './control-api.js';
import { parseControlRequest, READ_ONLY_COMMANDS } from './control-protocol.js';
import { startControlServer, stopControlServer } from './control-socket.js';
import { createLogger } from './logger.js';
import { runL2tpctl } from './l2tpctl-cli.js';
import { commandWord } from './l2tpctl-profile.js';

const CONFIG = `
[[listen]]
address = "192.0.2.1"
[ppp]
auth = ["mschapv2", "chap"]
mru = 1380
[users]
file = "/nonexistent/users"
[ipsec]
psk = "the-Server-psk"
`;

function setup(): { config: ReturnType<typeof parseConfig>; access: { users: UserTable } } {
  const users = new UserTable(new Map([['alice', { username: 'alice', password: 'wonder"land' }]]));
  return { config: parseConfig(CONFIG), access: { users } };
}

function capture(): { io: { out: (t: string) => void; err: (t: string) => void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t) => out.push(t), err: (t) => err.push(t) }, out, err };
}

test('client-credentials: PSK, the user\'s password, PPP auth and MRU, the listener as server address; unknown user refused', () => {
  const { config, access } = setup();
  assert.ok(config.ok);
  const r = clientCredentials(config.value, access, {}, 'alice');
  assert.ok(r.ok);
  assert.deepEqual(r.result, { psk: 'the-Server-psk', username: 'alice', password: 'wonder"land', auth: ['mschapv2', 'chap'], mru: 1380, serverAddress: '192.0.2.1' });
  const bad = clientCredentials(config.value, access, {}, 'mallory');
  assert.ok(!bad.ok);
  assert.match(bad.error, /no user "mallory"/);
  const none = clientCredentials(config.value, access, {}, undefined);
  assert.ok(!none.ok);
  assert.match(none.error, /--user NAME/);
  assert.ok(!clientCredentials(config.value, undefined, {}, 'alice').ok, 'no PPP = no login');
  // A generated PSK and login (the no-config default and the state file) come first.
  const gen = clientCredentials(config.value, { users: new UserTable(new Map([['user-x', { username: 'user-x', password: 'pw-x' }]])) }, { psk: 'generated-psk', login: { username: 'user-x', password: 'pw-x' } }, undefined);
  assert.ok(gen.ok);
  assert.deepEqual(gen.result, { psk: 'generated-psk', username: 'user-x', password: 'pw-x', auth: ['mschapv2', 'chap'], mru: 1380, serverAddress: '192.0.2.1' });
});

test('control protocol: client-credentials and status-page parse, and stay off the read-only socket', () => {
  assert.deepEqual(parseControlRequest({ cmd: 'client-credentials', user: 'alice' }), { ok: true, value: { cmd: 'client-credentials', user: 'alice' } });
  assert.deepEqual(parseControlRequest({ cmd: 'client-credentials' }), { ok: true, value: { cmd: 'client-credentials' } });
  assert.ok(!parseControlRequest({ cmd: 'client-credentials', user: 7 }).ok);
  assert.ok(!READ_ONLY_COMMANDS.has('client-credentials') && !READ_ONLY_COMMANDS.has('status-page'), 'secret-bearing: never on the read-only show socket');
  assert.equal(commandWord(['--socket', 'client-profile', 'show', 'x']), 'show', '--socket takes a value');
  assert.equal(commandWord(['client-profile', '--format', 'x']), 'client-profile');
});

test('l2tpctl client-profile: secrets from the daemon over the control socket, written 0600, never over an existing file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'l2k-profile-'));
  const socket = join(dir, 'ctl.sock');
  const { config, access } = setup();
  assert.ok(config.ok);
  const log = createLogger({ level: 'error', format: 'json' });
  const server = await startControlServer(socket, (req) =>
    handleControl({ log, lacs: [], tunnels: () => [], tunnelViews: () => [], status: () => { throw new Error('unused'); }, ipsecView: () => { throw new Error('unused'); }, clientCredentials: (u) => clientCredentials(config.value, access, {}, u),
      credentials: new CredentialStore({ credentials: { stateDir: undefined, psk: undefined, login: undefined, fresh: false }, usersFile: undefined, random: cryptoRandom, reloadUsers: () => Promise.resolve(true) }) }, req),
  );
  try {
    const c = capture();
    assert.equal(await runL2tpctl(['--socket', socket, 'client-profile', '--user', 'alice', '--format', 'nmconnection', '--server', 'vpn.example.net'], c.io), 0, c.err.join('\n'));
    const text = c.out.join('\n');
    assert.match(text, /^gateway=vpn\.example\.net$/m);
    assert.match(text, /^ipsec-psk=the-Server-psk$/m);
    assert.match(text, /^password=wonder"land$/m);
    assert.match(text, /^mru=1380$/m);
    assert.match(text, /^refuse-pap=yes$/m);

    // No --server: the listener address the daemon reported.
    const c2 = capture();
    assert.equal(await runL2tpctl(['--socket', socket, 'client-profile', '--user', 'alice', '--format', 'mobileconfig'], c2.io), 0, c2.err.join('\n'));
    assert.match(c2.out.join('\n'), /<key>CommRemoteAddress<\/key>\s*<string>192\.0\.2\.1<\/string>/);

    const file = join(dir, 'alice.ps1');
    const c3 = capture();
    assert.equal(await runL2tpctl(['--socket', socket, 'client-profile', '--user', 'alice', '--format', 'powershell', '--server', 'vpn.example.net', '--windows-nat', '2', '--out', file], c3.io), 0, c3.err.join('\n'));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.match(await readFile(file, 'utf8'), /\$Psk = 'the-Server-psk'/);
    assert.match(await readFile(file, 'utf8'), /\$NatRule = 2,/);
    const c4 = capture();
    assert.equal(await runL2tpctl(['--socket', socket, 'client-profile', '--user', 'alice', '--format', 'powershell', '--server', 'x.example', '--out', file], c4.io), 1);
    assert.match(c4.err.join('\n'), /EEXIST/);

    const c5 = capture();
    assert.equal(await runL2tpctl(['--socket', socket, 'client-profile', '--user', 'bob', '--format', 'powershell', '--server', 'x.example'], c5.io), 1);
    assert.match(c5.err.join('\n'), /no user "bob"/);
  } finally {
    await stopControlServer(server, socket);
    await rm(dir, { recursive: true, force: true });
  }
});

test('l2tpctl client-profile without a daemon: --psk/--user/--password on the command line; usage errors', async () => {
  const c = capture();
  const args = ['--socket', '/nonexistent.sock', 'client-profile', '--format', 'nmconnection', '--server', '198.51.100.7', '--user', 'bob', '--psk', 'k', '--auth', 'pap'];
  assert.equal(await runL2tpctl(args, c.io), 0, c.err.join('\n'));
  assert.match(c.out.join('\n'), /^password-flags=2$/m);
  assert.match(c.out.join('\n'), /^refuse-pap=no$/m);
  const c2 = capture();
  assert.equal(await runL2tpctl(['client-profile', '--format', 'pdf'], c2.io), 1);
  assert.match(c2.err.join('\n'), /--format must be one of mobileconfig, powershell, nmconnection/);
  const c3 = capture();
  assert.equal(await runL2tpctl(['--socket', '/nonexistent.sock', 'client-profile', '--format', 'powershell', '--user', 'a'], c3.io), 2, 'no daemon and no --psk: cannot connect');
  const c4 = capture();
  assert.equal(await runL2tpctl([...args.slice(0, -2), '--auth', 'eap'], c4.io), 1);
  assert.match(c4.err.join('\n'), /unknown method "eap"/);
});
