/**
 * Host prerequisites for the interop suite: root, Debian packages, and a bounded command runner.
 * A missing prerequisite is a test FAILURE with a clear message, never a silent skip.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Outcome of one finished command. */
export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for {@link run}. */
export interface RunOptions {
  /** Kill the command (SIGKILL) after this long; default 60 s. */
  readonly timeoutMs?: number;
  /** Written to stdin, which is then closed; without it stdin is /dev/null (nothing waits for a terminal). */
  readonly input?: string;
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** Throw unless the exit code is 0 (default true). */
  readonly check?: boolean;
}

/** Runs a command to completion with a bounded lifetime; throws on a non-zero exit unless `check: false`. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], {
      stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => reject(new Error(`${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      const res: RunResult = { code, signal, stdout, stderr };
      if ((opts.check ?? true) && code !== 0) {
        const why = signal === 'SIGKILL' ? `killed after ${timeoutMs} ms` : `exit ${String(code)}`;
        reject(new Error(`command failed (${why}): ${cmd} ${args.join(' ')}\n${tail(stderr || stdout, 40)}`));
      } else resolve(res);
    });
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {
        // the command exited without reading its input; its exit status tells the story
      });
      child.stdin.end(opts.input);
    }
  });
}

/** Last `n` lines of a text, for failure messages. */
export function tail(text: string, n: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(Math.max(0, lines.length - n)).join('\n');
}

/** Fails (throws) unless the suite runs as root: namespaces, captures and package installs need it. */
export function requireRoot(): void {
  const uid = process.getuid?.();
  if (uid !== 0) {
    throw new Error(
      `the interop suite must run as root (uid is ${String(uid)}): it creates network namespaces, ` +
        'captures with tshark and installs Debian packages. Run `sudo npm run test:interop` (or .ci/run as root).',
    );
  }
}

/** True when dpkg reports the package as installed. */
export async function isDebianPackageInstalled(pkg: string): Promise<boolean> {
  const r = await run('dpkg-query', ['-W', '-f=${Status}', pkg], { check: false, timeoutMs: 20_000 });
  return r.code === 0 && r.stdout.includes('install ok installed');
}

let aptUpdated = false;

/**
 * Installs missing Debian packages (apt-get update once per process, non-interactive, no recommends).
 * tshark's debconf question (non-root capture) is preseeded to "false". Throws with apt's output on failure.
 */
export async function ensureDebianPackages(pkgs: readonly string[]): Promise<void> {
  if (!existsSync('/usr/bin/dpkg-query') || !existsSync('/usr/bin/apt-get')) {
    throw new Error('the interop suite needs a Debian-based host (dpkg-query and apt-get not found)');
  }
  const missing: string[] = [];
  for (const p of pkgs) if (!(await isDebianPackageInstalled(p))) missing.push(p);
  if (missing.length === 0) return;
  requireRoot();
  const env = { DEBIAN_FRONTEND: 'noninteractive', NEEDRESTART_MODE: 'a' };
  // Wait for another apt/dpkg run (e.g. a provisioning step) instead of failing on its lock.
  const lock = ['-o', 'DPkg::Lock::Timeout=600'];
  try {
    await run('debconf-set-selections', [], {
      input: 'wireshark-common wireshark-common/install-setuid boolean false\n',
      timeoutMs: 30_000,
      env,
    });
    if (!aptUpdated) {
      await run('apt-get', [...lock, 'update'], { timeoutMs: 600_000, env });
      aptUpdated = true;
    }
    await run('apt-get', [...lock, 'install', '-y', '--no-install-recommends', ...missing], {
      timeoutMs: 1_200_000,
      env,
    });
  } catch (e) {
    throw new Error(`could not install Debian packages ${missing.join(' ')}: ${(e as Error).message}`);
  }
  for (const p of missing) {
    if (!(await isDebianPackageInstalled(p))) throw new Error(`Debian package ${p} still not installed after apt-get`);
  }
}

/** The repository root (the directory whose package.json names l2tpkit), found from this file upwards. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      const name: unknown = (JSON.parse(readFileSync(pj, 'utf8')) as { name?: unknown }).name;
      if (name === 'l2tpkit') return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root (package.json of l2tpkit) not found');
    dir = up;
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` every `everyMs` until it returns a value other than undefined; throws `describe()` on timeout. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  describe: () => string = () => '',
  everyMs = 150,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) {
      const extra = describe();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${extra ? `\n${extra}` : ''}`);
    }
    await sleep(everyMs);
  }
}

/** A fresh artefact directory (configs, logs, pcaps) for one test file under the system temp dir. */
export function makeWorkDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `l2k-${process.pid}-${label}-`));
}

/** Removes a work directory unless L2K_KEEP_ARTIFACTS=1 (then prints where it is). */
export function removeWorkDir(dir: string): void {
  if (process.env['L2K_KEEP_ARTIFACTS'] === '1') {
    process.stderr.write(`interop artefacts kept in ${dir}\n`);
    return;
  }
  rmSync(dir, { recursive: true, force: true });
}
