/**
 * l2tpd's first steps as a new user takes them (issue 11 "Why" #1, #5, #7, #8, #9), as real
 * processes (process-testing.ts):
 *  - `--check-config` loads what the start loads (users file missing / malformed / static address
 *    outside the pool fail; a refused combination fails with its reason) and prints notes;
 *  - `--print-config` shows the effective configuration with every secret masked;
 *  - the generated PSK and password never appear in the log at any level (`--debug`, JSON and
 *    pretty), and are shown once on the console in pretty mode;
 *  - a restart keeps them (state directory); l2tpctl shows and rotates them and adds users;
 *  - `--version` on both binaries; a failed start says why, with a hint, and no "stopped" first.
 * Needs root (a TUN for PPP) like the other daemon tests; the TUN gets a name of its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readRepoFile } from '../../test/lib/repo.js';
import { createNetns, deleteNetns, requireTunPrivileges } from '../../test/lib/tun-packets.js';
import { parseConfig } from './config.js';
import { ctl, loginThrough, runMain, startDaemon, stopDaemon, withTempDir } from '../../test/lib/l2tpd-process.js';

const withDir = (body: (dir: string) => Promise<void>): Promise<void> => withTempDir('l2tpd-first', body);

const tag = (process.pid % 10000).toString(36);

/** An LNS as the defaults make it, on loopback with free ports and a TUN of our own. */
const LNS = `[[listen]]\naddress = "127.0.0.1"\nport = 0\n[ipsec]\nike_port = 0\nnatt_port = 0\n[tun]\nname = "l2kf${tag}"\n`;

test('--check-config loads the users file like the start: missing, malformed, static outside the pool fail; refusals fail (issue 11 #7, #1)', { timeout: 30_000 }, async () => {
  await withDir(async (dir) => {
    const users = join(dir, 'users');
    const cfg = join(dir, 'l2tpd.toml');
    const st = ['--state-dir', join(dir, 'state')];
    await writeFile(cfg, `[users]\nfile = ${JSON.stringify(users)}\n[pool]\nipv4 = "100.64.0.0/24"\n`);
    const missing = await runMain('l2tpd-main', ['--check-config', '--config', cfg, ...st]);
    assert.equal(missing.code, 1, missing.stdout);
    assert.match(missing.stderr, /config: line 2: users\.file: cannot read .*users: ENOENT/);
    await writeFile(users, 'alice\n');
    const malformed = await runMain('l2tpd-main', ['--check-config', '--config', cfg, ...st]);
    assert.equal(malformed.code, 1);
    assert.match(malformed.stderr, /users: line 1: expected "username password \[static-ipv4\]", got 1 field/);
    await writeFile(users, 'alice wonderland 198.51.100.7\n');
    const outside = await runMain('l2tpd-main', ['--check-config', '--config', cfg, ...st]);
    assert.equal(outside.code, 1);
    assert.match(outside.stderr, /static address 198\.51\.100\.7 is outside the pool 100\.64\.0\.0\/24/);
    await writeFile(users, 'alice wonderland 100.64.0.7\n');
    const good = await runMain('l2tpd-main', ['--check-config', '--config', cfg, ...st]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /: OK\n/);
    assert.match(good.stdout, /L2TP\/IPsec on the first IPv4 listener: .*L2TP only inside IPsec.* \+ generated PSK/);
    assert.match(good.stdout, /PPP on the first listener: .* auth mschapv2,chap/);
    assert.match(good.stdout, /^note: no \[ipsec\] psk: one will be generated at the first start and kept in .*credentials\.json$/m);
    assert.equal(existsSync(join(dir, 'state')), false, '--check-config writes nothing');
    // A file that turns IPsec off on a network listener is refused, by check and by start alike.
    await writeFile(cfg, `[users]\nfile = ${JSON.stringify(users)}\n[ipsec]\nenabled = false\n`);
    for (const args of [['--check-config', '--config', cfg, ...st], ['--config', cfg, ...st, '--socket', join(dir, 's.sock')]]) {
      const r = await runMain('l2tpd-main', args);
      assert.equal(r.code, 1, `${args.join(' ')}\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout + r.stderr, /ipsec\.enabled: refused: MS-CHAPv2\/CHAP-MD5 logins would cross the network outside IPsec on 0\.0\.0\.0:1701/);
    }
    await writeFile(cfg, `[users]\nfile = ${JSON.stringify(users)}\n[ipsec]\nenabled = false\n[ppp]\nallow_insecure = true\n`);
    const warned = await runMain('l2tpd-main', ['--check-config', '--config', cfg, ...st]);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stdout, /^warning: ppp\.allow_insecure: MS-CHAPv2\/CHAP-MD5 logins cross the network outside IPsec/m);
  });
});

test('--print-config: the effective configuration with every secret masked', { timeout: 30_000 }, async () => {
  await withDir(async (dir) => {
    const cfg = join(dir, 'l2tpd.toml');
    await writeFile(
      cfg,
      '[[listen]]\naddress = "192.0.2.1"\nsecret = "tunnel-secret-1"\n[ipsec]\npsk = "ipsec-secret-2"\n[[ipsec.peer]]\naddress = "198.51.100.7"\npsk = "peer-secret-3"\n' +
        '[[lac]]\nlns = "198.18.0.4"\nppp = true\nusername = "alice"\npassword = "lac-secret-4"\n[ppp]\ndns = ["198.18.0.53"]\n',
    );
    const r = await runMain('l2tpd-main', ['--print-config', '--config', cfg, '--state-dir', join(dir, 'state')]);
    assert.equal(r.code, 0, r.stderr);
    for (const s of ['tunnel-secret-1', 'ipsec-secret-2', 'peer-secret-3', 'lac-secret-4']) assert.ok(!r.stdout.includes(s), `${s} is masked`);
    assert.equal(r.stdout.match(/= "\*{8}"$/gm)?.length, 4, r.stdout);
    // It is the effective configuration: defaults written out, parseable as a config file.
    assert.match(r.stdout, /^\[ipsec\]\nenabled = true\n/m);
    assert.match(r.stdout, /^\[ppp\]\nenabled = true\n/m);
    assert.match(r.stdout, /^require_ipsec = true$/m);
    assert.match(r.stdout, /^state_dir = ".*state"$/m);
    assert.match(r.stdout, /^file = ".*state\/users"$/m);
    assert.ok(parseConfig(r.stdout).ok, 'the masked output is a valid config');
  });
});

test('l2tpd --version and l2tpctl --version print the package version (issue 11 #8)', { timeout: 20_000 }, async () => {
  const version = (JSON.parse(readRepoFile('package.json')) as { version: string }).version;
  const [d, c] = await Promise.all([runMain('l2tpd-main', ['--version']), runMain('l2tpctl-main', ['--version'])]);
  assert.deepEqual([d.code, d.stdout], [0, `l2tpd ${version}\n`]);
  assert.deepEqual([c.code, c.stdout], [0, `l2tpctl ${version}\n`]);
});

test('generated credentials: never in the log at any level, once on the console, kept across a restart, shown/rotated/extended by l2tpctl (issue 11 #5)', { timeout: 120_000 }, async () => {
  requireTunPrivileges();
  const lan = `l2kf-lan-${tag}`;
  const cli = `l2kf-cli-${tag}`;
  await createNetns(lan);
  await createNetns(cli);
  try {
    await withDir(async (dir) => {
      const cfg = join(dir, 'l2tpd.toml');
      const state = join(dir, 'state');
      const sock = join(dir, 'c.sock');
      await writeFile(cfg, `${LNS}netns = "${lan}"\n[pool]\nipv4 = "100.64.201.0/24"\n`);
      const args = ['--config', cfg, '--socket', sock, '--state-dir', state];
      // 1. JSON log at debug level: the credentials are generated and kept.
      const first = await startDaemon([...args, '--debug', '--log-format', 'json']);
      const shown = JSON.parse(await ctl(sock, 'credentials', 'show', '--json')) as { psk: string; login: { username: string; password: string }; stateFile: string };
      const stored = JSON.parse(await readFile(join(state, 'credentials.json'), 'utf8')) as { psk: string; generatedUser: string };
      assert.equal(shown.psk, stored.psk);
      assert.equal(shown.login.username, stored.generatedUser);
      assert.ok((await readFile(join(state, 'users'), 'utf8')).includes(shown.login.password));
      // A client uses them (our own L2TP/IPsec LAC, MS-CHAPv2): IKE with the PSK and a PPP login, all at debug.
      const lac = await loginThrough({ dir, lnsSock: sock, netns: cli, psk: shown.psk, login: shown.login, tun: `l2kg${tag}` });
      const lacOut = await stopDaemon(lac);
      const out1 = await stopDaemon(first);
      const lines1 = out1.split('\n').filter((l) => l !== '');
      assert.ok(lines1.length > 20 && lines1.every((l) => l.startsWith('{')), 'JSON lines only');
      assert.ok(lines1.filter((l) => (JSON.parse(l) as { level: number }).level === 20).length > 10, 'debug lines were written (IKE, L2TP AVPs, PPP)');
      assert.ok(lines1.some((l) => / logged in, address 100\.64\.201\./.test(l)), 'the client logged in');
      for (const secret of [shown.psk, shown.login.password]) {
        assert.deepEqual(lines1.filter((l) => l.includes(secret)), [], 'no LNS log line holds a secret');
        assert.ok(!lacOut.includes(secret), 'no LAC log line holds a secret');
      }
      assert.ok(lines1.some((l) => /generated IPsec pre-shared key and login user-\w+, kept in .*credentials\.json .*l2tpctl credentials show.{1,2} prints them/.test(l)), out1);

      // 2. A restart, pretty (what a terminal gets): the same credentials, printed once in the block, in no log line.
      const second = await startDaemon([...args, '--debug', '--log-format', 'pretty']);
      const again = JSON.parse(await ctl(sock, 'credentials', '--json')) as typeof shown;
      assert.equal(again.psk, shown.psk);
      assert.deepEqual(again.login, shown.login);
      // 3. l2tpctl user add: written to the users file and reloaded; rotate writes the new key first.
      const added = await ctl(sock, 'user', 'add', 'bob');
      const bobPassword = /^added bob to .*users; password: (\S+)$/.exec(added.trim())?.[1];
      assert.ok(bobPassword !== undefined && bobPassword.length === 16, added);
      assert.match(await readFile(join(state, 'users'), 'utf8'), new RegExp(`^bob ${bobPassword}$`, 'm'));
      const rotated = JSON.parse(await ctl(sock, 'credentials', 'rotate', 'psk', '--json')) as typeof shown & { notes: string[] };
      assert.notEqual(rotated.psk, shown.psk);
      assert.equal((JSON.parse(await readFile(join(state, 'credentials.json'), 'utf8')) as { psk: string }).psk, rotated.psk);
      const out2 = await stopDaemon(second);
      const logLines = out2.split('\n').filter((l) => /^\d\d:\d\d:\d\d\.\d{3} (DEBUG|INFO|WARN|ERROR)/.test(l));
      assert.ok(logLines.length > 5);
      for (const secret of [shown.psk, shown.login.password, bobPassword, rotated.psk]) assert.deepEqual(logLines.filter((l) => l.includes(secret)), [], 'no log line holds a secret');
      assert.equal(out2.split(shown.psk).length - 1, 1, 'the PSK is shown once, in the connect block');
      assert.match(out2, new RegExp(`^ {4}Pre-shared key +${shown.psk}$`, 'm'));
      assert.match(out2, new RegExp(`^ {4}User name +${shown.login.username}$`, 'm'));
      assert.match(out2, /users reloaded from .*users: 2 user\(s\)/);
      assert.match(out2, /credentials rotated \(psk\) \(l2tpctl\)/);
    });
  } finally {
    await deleteNetns(lan);
    await deleteNetns(cli);
  }
});

test('a failed start says why with a hint (EADDRINUSE), and "stopped" is not printed first (issue 11 #9)', { timeout: 30_000 }, async () => {
  await withDir(async (dir) => {
    const taken = createSocket('udp4');
    await new Promise<void>((r) => taken.bind(0, '127.0.0.1', r));
    try {
      const cfg = join(dir, 'l2tpd.toml');
      await writeFile(cfg, `[[listen]]\naddress = "127.0.0.1"\nport = ${taken.address().port}\n[ppp]\nenabled = false\n[ipsec]\nenabled = false\n`);
      const r = await runMain('l2tpd-main', ['--config', cfg, '--socket', join(dir, 's.sock'), '--state-dir', join(dir, 'state'), '--log-format', 'pretty']);
      assert.equal(r.code, 1);
      assert.match(r.stdout, new RegExp(`l2tpd failed to start: bind EADDRINUSE 127\\.0\\.0\\.1:${taken.address().port}: 127\\.0\\.0\\.1:${taken.address().port} is already in use; see who: ss -ulpn 'sport = :${taken.address().port}'`));
      assert.doesNotMatch(r.stdout, /l2tpd stopped/);
    } finally {
      taken.close();
    }
  });
});
