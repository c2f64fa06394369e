/**
 * examples/*.toml are valid as they stand: each goes through `l2tpd --check-config` (the real CLI
 * in a child process) with the paths under /etc/l2tpd/ pointed at a temporary copy of
 * examples/users.example. No address of the test networks appears, and every other address
 * literal (outside the client pools) sits on a line marked PLACEHOLDER.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readRepoFile, repoRoot } from '../../test/lib/repo.js';
import { parseConfig, formatConfigError } from './config.js';

const run = promisify(execFile);

async function examples(): Promise<string[]> {
  return (await readdir(join(repoRoot(), 'examples'))).filter((f) => f.endsWith('.toml')).sort();
}

test('examples: there is a road-warrior server, an LNS, a LAC, a LAC with tunnel selection, a BRAS, a scale-out node, both ends of a site-to-site link and a static L2TPv3 pseudowire', async () => {
  assert.deepEqual(await examples(), ['bras.toml', 'l2tpv3-static.toml', 'lac-selection.toml', 'lac.toml', 'lns.toml', 'road-warrior.toml', 'scale-out-node.toml', 'site-to-site-branch.toml', 'site-to-site-hq.toml']);
});

test('examples: each passes l2tpd --check-config as it stands (users file from users.example)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'l2k-examples-'));
  try {
    await copyFile(join(repoRoot(), 'examples', 'users.example'), join(dir, 'users'));
    for (const f of await examples()) {
      const text = readRepoFile(`examples/${f}`).replaceAll('/etc/l2tpd/', `${dir}/`);
      const parsed = parseConfig(text);
      assert.ok(parsed.ok, `${f}: ${parsed.ok ? '' : parsed.error.map(formatConfigError).join('\n')}`);
      const path = join(dir, f);
      await writeFile(path, text);
      const r = await run(process.execPath, [join(repoRoot(), 'bin', 'l2tpd.js'), '--check-config', '--config', path], { timeout: 30_000 }).catch((e: { stdout?: string; stderr?: string; code?: number }) => e);
      assert.ok('stdout' in r && typeof r.stdout === 'string' && r.stdout.includes(': OK'), `${f}: l2tpd --check-config failed:\n${'stderr' in r ? String(r.stderr) : ''}${'stdout' in r ? String(r.stdout) : ''}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('examples: no test-network address; other addresses are marked PLACEHOLDER; secrets are CHANGE-ME', async () => {
  for (const f of [...(await examples()), 'users.example']) {
    readRepoFile(`examples/${f}`).split('\n').forEach((line, i) => {
      const where = `examples/${f}:${i + 1}: ${line}`;
      assert.ok(!/\b198\.1[89]\.\d+\.\d+/.test(line), `test-network (198.18.0.0/15) address in ${where}`);
      for (const m of line.matchAll(/\b(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}\b/g)) {
        const pool = m[1] === '100' && Number(m[2]) >= 64 && Number(m[2]) <= 127; // 100.64.0.0/10 client pools
        const special = ['0.0.0.0', '127.0.0.1'].includes(m[0]);
        if (!pool && !special) assert.match(line, /PLACEHOLDER/, `unmarked address ${m[0]} in ${where}`);
      }
      for (const m of line.matchAll(/^\s*(psk|secret|password)\s*=\s*"([^"]*)"/g)) assert.match(m[2] ?? '', /^CHANGE-ME/, `secret without CHANGE-ME in ${where}`);
    });
  }
});
