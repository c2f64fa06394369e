/**
 * Who may use l2tpctl (issue 11 "What to build" #6): the control socket is root-only by default;
 * with `[daemon] show_group` a member of that group (not root) runs `l2tpctl show ...` through the
 * read-only socket beside it, and is refused everything else — credentials above all — with a
 * message that says why. As processes: the daemon as root, l2tpctl as nobody:nogroup (setpriv).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupId } from './setup/index.js';
import { ctl, runMain, startDaemon, stopDaemon } from '../../test/lib/l2tpd-process.js';

test('show_group: a member runs l2tpctl show through the read-only socket; control and credentials need root or control_group', { timeout: 60_000 }, async () => {
  assert.equal(process.getuid?.(), 0, 'needs root (setpriv to nobody)');
  const gid = await groupId('nogroup');
  assert.ok(gid !== undefined, 'the Debian group "nogroup" exists');
  const dir = await mkdtemp(join(tmpdir(), 'l2tpd-groups-'));
  try {
    await chmod(dir, 0o755);
    const sock = join(dir, 'l2tpd.sock');
    const cfg = join(dir, 'l2tpd.toml');
    await writeFile(cfg, '[daemon]\nshow_group = "nogroup"\n[[listen]]\naddress = "127.0.0.1"\nport = 0\n[ppp]\nenabled = false\n[ipsec]\nenabled = false\n');
    const d = await startDaemon(['--config', cfg, '--socket', sock, '--state-dir', join(dir, 'state'), '--log-format', 'json']);
    try {
      const main = await stat(sock);
      const show = await stat(join(dir, 'l2tpd-show.sock'));
      assert.deepEqual([main.mode & 0o777, main.gid], [0o600, 0], 'the control socket is root only');
      assert.deepEqual([show.mode & 0o777, show.gid], [0o660, gid], 'the show socket belongs to show_group');
      const asNobody = ['setpriv', `--reuid=65534`, `--regid=${gid}`, '--clear-groups', '--'];
      const st = await runMain('l2tpctl-main', ['--socket', sock, 'show', 'status'], { prefix: asNobody });
      assert.equal(st.code, 0, st.stderr);
      assert.match(st.stdout, /^l2tpd \d+\.\d+\.\d+ {2}pid \d+/);
      const creds = await runMain('l2tpctl-main', ['--socket', sock, 'credentials'], { prefix: asNobody });
      assert.equal(creds.code, 2);
      assert.match(creds.stderr, /EACCES \(not allowed: root or \[daemon\] control_group; show commands also \[daemon\] show_group\)/);
      const direct = await runMain('l2tpctl-main', ['--socket', join(dir, 'l2tpd-show.sock'), 'user', 'add', 'mallory'], { prefix: asNobody });
      assert.equal(direct.code, 1);
      assert.match(direct.stderr, /"user-add" is not available on the read-only socket .*l2tpd-show\.sock: it needs root or \[daemon\] control_group/);
      // root is not limited.
      assert.match(await ctl(sock, 'show', 'tunnels'), /no tunnels/);
    } finally {
      await stopDaemon(d);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
