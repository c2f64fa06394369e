/**
 * contrib/l2tpd.service (issue 11 #3): `systemd-analyze verify` accepts it (and rejects a broken
 * copy, so the check can fail); its capabilities are exactly the three l2tpd needs and its
 * runtime/state directories are the daemon's defaults; and l2tpd run with exactly the unit's
 * capability sets (setpriv: bounding, inheritable, ambient, no-new-privs) opens the TUN, binds,
 * opens raw ESP and lets a client log in — and without CAP_NET_RAW says so in one line and still
 * serves (ESP in UDP). The strongSwan client against the same setup: test/interop/secure-defaults.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readRepoFile } from '../../test/lib/repo.js';
import { createNetns, deleteNetns, requireTunPrivileges } from '../../test/lib/tun-packets.js';
import { DEFAULT_CONTROL_SOCKET, DEFAULT_STATE_DIR } from './config.js';
import { ctl, loginThrough, serviceKeys, setprivArgs, startDaemon, stopDaemon, unitCapabilities } from '../../test/lib/l2tpd-process.js';

const UNIT = readRepoFile('contrib/l2tpd.service');
const keys = serviceKeys(UNIT);
const capsOf = (k: string): string[] => unitCapabilities(UNIT, k);

/** `systemd-analyze verify FILE`: exit code and what it said about this file (other units' warnings left out). */
function verify(path: string): { code: number | null; about: string[] } {
  const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8', timeout: 60_000 });
  const name = path.split('/').pop() ?? path;
  return { code: r.status, about: `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes(name)) };
}

test('systemd-analyze verify accepts contrib/l2tpd.service and rejects a broken copy', { timeout: 120_000 }, async (t: TestContext) => {
  if (spawnSync('systemd-analyze', ['--version'], { timeout: 10_000 }).status !== 0) {
    t.skip('SKIP: systemd-analyze is not installed (Debian package "systemd"; .ci/run installs it)');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'l2tpd-unit-'));
  try {
    const good = join(dir, 'l2tpd.service');
    await writeFile(good, UNIT);
    const ok = verify(good);
    assert.deepEqual([ok.code, ok.about], [0, []], ok.about.join('\n'));
    const broken = join(dir, 'l2tpd-broken.service');
    await writeFile(broken, UNIT.replace('ProtectSystem=strict', 'ProtectSystem=stricter').replace('Type=simple', 'Type=simpel'));
    const bad = verify(broken);
    assert.ok(bad.about.length >= 2, `the broken copy is reported:\n${bad.about.join('\n')}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the unit: exactly CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE; /run/l2tpd and /var/lib/l2tpd are the daemon defaults', () => {
  const want = ['CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'];
  assert.deepEqual(capsOf('CapabilityBoundingSet'), want);
  assert.deepEqual(capsOf('AmbientCapabilities'), want);
  assert.equal(keys.get('NoNewPrivileges')?.[0], 'yes');
  assert.equal(keys.get('ProtectSystem')?.[0], 'strict');
  // ProtectSystem=strict leaves only these writable: the control socket and the state must live there.
  assert.equal(`/run/${keys.get('RuntimeDirectory')?.[0] ?? ''}`, dirname(DEFAULT_CONTROL_SOCKET));
  assert.equal(`/var/lib/${keys.get('StateDirectory')?.[0] ?? ''}`, DEFAULT_STATE_DIR);
  assert.equal(keys.get('StateDirectoryMode')?.[0], '0700');
  assert.match(keys.get('ExecStart')?.[0] ?? '', /l2tpd --config \/etc\/l2tpd\/l2tpd\.toml$/);
  assert.match(keys.get('DeviceAllow')?.[0] ?? '', /^\/dev\/net\/tun rw$/);
  assert.ok(!(keys.get('ReadWritePaths') ?? []).some((p) => p === '/run' || p.startsWith('/run/l2tpd')), 'no ReadWritePaths workaround for the socket');
});

const setprivFor = (drop: readonly string[] = []): string[] => setprivArgs(UNIT, drop);

/** The capability bits of the unit's names (linux/capability.h). */
const CAP_BITS: Readonly<Record<string, number>> = { CAP_NET_BIND_SERVICE: 10, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13 };
const maskOf = (names: readonly string[]): bigint => names.reduce((m, n) => m | (1n << BigInt(CAP_BITS[n] ?? 63)), 0n);

test('l2tpd with exactly the unit capabilities serves a client; without CAP_NET_RAW one clear line and ESP in UDP', { timeout: 120_000 }, async () => {
  requireTunPrivileges();
  assert.equal(spawnSync('setpriv', ['--help'], { timeout: 10_000 }).status, 0, 'setpriv (util-linux) is needed');
  const tag = (process.pid % 10000).toString(36);
  const lan = `l2ku-lan-${tag}`;
  const cli = `l2ku-cli-${tag}`;
  const dir = await mkdtemp(join(tmpdir(), 'l2tpd-caps-'));
  await createNetns(lan);
  await createNetns(cli);
  try {
    for (const drop of [[], ['CAP_NET_RAW']]) {
      const sock = join(dir, 'c.sock');
      const cfg = join(dir, 'l2tpd.toml');
      // The daemon runs inside its own namespace (moving a TUN to another one needs CAP_SYS_ADMIN, which the unit does not grant).
      await writeFile(cfg, `[[listen]]\naddress = "127.0.0.1"\nport = 0\n[ipsec]\nike_port = 0\nnatt_port = 0\n[pool]\nipv4 = "100.64.202.0/24"\n[tun]\nname = "l2ku${tag}"\n`);
      const inLan = ['ip', 'netns', 'exec', lan];
      const lns = await startDaemon(['--config', cfg, '--socket', sock, '--state-dir', join(dir, 'state'), '--log-format', 'json'], { prefix: [...inLan, ...setprivFor(drop)] });
      const status = JSON.parse(await ctl(sock, 'show', 'status', '--json')) as { pid: number; ipsec?: { listener?: { rawEsp: boolean } } };
      const proc = await readFile(`/proc/${status.pid}/status`, 'utf8');
      const cap = (k: string): bigint => BigInt(`0x${new RegExp(`^${k}:\\s*([0-9a-f]+)$`, 'm').exec(proc)?.[1] ?? '0'}`);
      const want = maskOf(capsOf('AmbientCapabilities').filter((c) => !drop.includes(c)));
      assert.deepEqual([cap('CapEff'), cap('CapBnd'), cap('CapAmb')], [want, want, want], `the daemon has exactly the unit's capabilities${drop.length > 0 ? ` minus ${drop.join(',')}` : ''}`);
      assert.equal(status.ipsec?.listener?.rawEsp, drop.length === 0, 'raw ESP open exactly when CAP_NET_RAW is there');
      const creds = JSON.parse(await ctl(sock, 'credentials', '--json')) as { psk: string; login: { username: string; password: string } };
      const lac = await loginThrough({ dir: join(dir, `lac${drop.length}`), lnsSock: sock, netns: cli, tun: `l2kv${tag}`, psk: creds.psk, login: creds.login, prefix: inLan });
      await stopDaemon(lac);
      const out = await stopDaemon(lns);
      const degraded = out.split('\n').filter((l) => /raw ESP/.test(l) && /"level":40/.test(l));
      if (drop.length === 0) assert.deepEqual(degraded, [], 'no degraded-mode line with CAP_NET_RAW');
      else {
        assert.equal(degraded.length, 1, `one clear line for the degraded mode:\n${degraded.join('\n')}`);
        assert.match(degraded[0] ?? '', /raw ESP .*unavailable/);
      }
    }
  } finally {
    await deleteNetns(lan);
    await deleteNetns(cli);
    await rm(dir, { recursive: true, force: true });
  }
});
