/**
 * l2tpd as a real process: --check-config exit codes, banner, SIGTERM -> graceful exit 0.
 * Runs the compiled main with node (dist) or the .ts main through tsx (source): process-testing.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMain, startMain, waitFor, type ProcessRun } from '../../test/lib/l2tpd-process.js';

/** Run l2tpd; `onStdout` sees the output so far and may signal the process. */
async function l2tpd(args: string[], onStdout?: (text: string, kill: (sig: NodeJS.Signals) => void) => void): Promise<ProcessRun> {
  if (onStdout === undefined) return runMain('l2tpd-main', args, { limitMs: 12_000 });
  const p = startMain('l2tpd-main', args, { limitMs: 12_000 });
  let exited = false;
  void p.done.then(() => (exited = true));
  await waitFor(() => {
    onStdout(p.stdout(), (sig) => p.signal(sig));
    return exited;
  }, 12_000);
  return p.done;
}

test('l2tpd --check-config: 0 for a good file, 1 with key+line for a bad one', { timeout: 20000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'l2tpd-proc-'));
  try {
    const good = join(dir, 'good.toml');
    const bad = join(dir, 'bad.toml');
    await writeFile(good, '[[listen]]\naddress = "127.0.0.1"\nport = 0\n');
    await writeFile(bad, '[l2tp]\nreceive_window = "16"\n');
    const st = ['--state-dir', join(dir, 'state')];
    const [g, b] = await Promise.all([l2tpd(['--check-config', '--config', good, ...st]), l2tpd(['--check-config', '--config', bad, ...st])]);
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stdout, /OK/);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /config: line 2: l2tp\.receive_window: expected an integer/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('l2tpd prints a banner and exits 0 on SIGTERM', { timeout: 20000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'l2tpd-proc-'));
  try {
    const cfg = join(dir, 'l2tpd.toml');
    // Plain L2TP: PPP and IPsec are on by default and turned off by name.
    await writeFile(cfg, '[[listen]]\naddress = "127.0.0.1"\nport = 0\n[ppp]\nenabled = false\n[ipsec]\nenabled = false\n');
    let sent = false;
    const r = await l2tpd(['--config', cfg, '--socket', join(dir, 'c.sock'), '--state-dir', join(dir, 'state'), '--log-format', 'pretty'], (out, kill) => {
      if (!sent && out.includes('LNS on 127.0.0.1:')) {
        sent = true;
        kill('SIGTERM');
      }
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /INFO {2}l2tpd 0\.1\.0 started, mode LNS/);
    assert.match(r.stdout, /LNS on 127\.0\.0\.1:\d+ \(any LAC, no tunnel auth\)/);
    assert.match(r.stdout, /SIGTERM: shutting down/);
    assert.match(r.stdout, /l2tpd stopped/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
