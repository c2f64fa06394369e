/**
 * A build of another git ref of this repository, for before/after benchmarks in one run: `git
 * archive <ref>` unpacked into a temp dir (no worktree, no change to the repository), `node_modules`
 * linked to ours, the native addon copied from our build, then `tsc`. Cached by commit in
 * `$TMPDIR/l2tpkit-bench-<sha>` so repeated runs do not rebuild.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../test/interop/lib/host.js';

/** A built tree of one commit. */
export interface BaselineBuild {
  readonly ref: string;
  readonly sha: string;
  /** Package root: `bin/l2tpd.js` runs from here. */
  readonly root: string;
  /** True when it was built now (false: reused from the cache). */
  readonly fresh: boolean;
  /** True when `native/` differs between the ref and our tree (the copied addon may not match). */
  readonly nativeDiffers: boolean;
}

function sh(cmd: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { cwd, timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || stdout.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Build (or reuse) `ref` of the repository at `root`. Rejects when the ref is unknown or tsc fails. */
export async function buildRef(ref: string, root = repoRoot()): Promise<BaselineBuild> {
  const sha = (await sh('git', ['rev-parse', '--verify', `${ref}^{commit}`], root, 10_000)).trim();
  const dir = join(tmpdir(), `l2tpkit-bench-${sha.slice(0, 12)}`);
  const marker = join(dir, '.l2tpkit-bench-built');
  const nativeDiffers = await sh('git', ['diff', '--quiet', sha, '--', 'native', 'binding.gyp'], root, 10_000).then(
    () => false,
    () => true,
  );
  if (existsSync(marker)) return { ref, sha, root: dir, fresh: false, nativeDiffers };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await sh('sh', ['-c', `git archive --format=tar ${sha} | tar -x -C '${dir}'`], root, 120_000);
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
  copyFileSync(join(root, 'build', 'Release', 'l2tpkit_native.node'), join(dir, 'build', 'Release', 'l2tpkit_native.node'));
  await sh(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], dir, 900_000);
  writeFileSync(marker, `${sha}\n`);
  return { ref, sha, root: dir, fresh: true, nativeDiffers };
}
