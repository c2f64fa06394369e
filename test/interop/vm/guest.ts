/**
 * qemu/TCG guest harness for real-kernel interop peers (kernel L2TP/PPP/ESP, xl2tpd + pppd,
 * strongSwan, ip l2tp) — see README.md beside this file.
 *
 * One call boots the cached Debian guest (build-image.sh) with `init=` a tiny shell init that
 * runs one script from `guest/` (shared read-only over 9p) and powers off. The guest NIC is a tap
 * on a bridge inside a network namespace the caller gives; its output lands in a per-run
 * directory (shared writable over 9p); the script's `RESULT: PASS|FAIL name ...` line is parsed.
 * Every run is bounded in time; qemu is killed by PID and its tap removed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of `test/interop/vm` in the source tree (also when running from `dist/`). */
export const VM_DIR: string = findVmDir();

/** Directory shared into the guest as /mnt/guest (its scripts). */
export const GUEST_SCRIPTS_DIR: string = join(VM_DIR, 'guest');

/** The image cache: `$L2TPKIT_VM_CACHE`, default `/var/cache/l2tpkit/vm` (outside the repo). */
export function vmCacheDir(): string {
  return process.env['L2TPKIT_VM_CACHE'] ?? '/var/cache/l2tpkit/vm';
}

/** Paths of a built guest image. */
export interface VmImage {
  readonly cacheDir: string;
  /** `vmlinux` (uncompressed, PVH boot) if the build made one, else `vmlinuz`. */
  readonly kernel: string;
  readonly initrd: string;
  readonly rootfs: string;
}

/** What {@link ensureImage} did. */
export interface EnsureImageResult extends VmImage {
  /** True if the image had to be (re)built by this call. */
  readonly built: boolean;
  /** Wall time of this call in seconds. */
  readonly seconds: number;
}

/** Paths of the image in `cacheDir` (nothing is checked). */
export function imagePaths(cacheDir: string = vmCacheDir()): VmImage {
  return {
    cacheDir,
    kernel: existsSync(join(cacheDir, 'vmlinux')) ? join(cacheDir, 'vmlinux') : join(cacheDir, 'vmlinuz'),
    initrd: join(cacheDir, 'initrd.img'),
    rootfs: join(cacheDir, 'rootfs.img'),
  };
}

/** True if the cached image exists and was built by the current build-image.sh. */
export function imageIsCurrent(): boolean {
  const r = spawnSync('bash', [join(VM_DIR, 'build-image.sh'), '--check'], { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

/**
 * Builds the guest image unless it is current (build-image.sh, nice'd, a few minutes the first
 * time). Rejects with the build log's tail on failure or after `timeoutSec` (default 1800).
 */
export async function ensureImage(opts: { timeoutSec?: number; onLine?: (line: string) => void } = {}): Promise<EnsureImageResult> {
  const t0 = Date.now();
  const paths = imagePaths();
  if (imageIsCurrent()) return { ...paths, built: false, seconds: (Date.now() - t0) / 1000 };
  const timeoutSec = opts.timeoutSec ?? 1800;
  const lines: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('bash', [join(VM_DIR, 'build-image.sh')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, L2TPKIT_VM_BUILD_TIMEOUT: String(timeoutSec) },
    });
    const take = (chunk: string): void => {
      for (const l of chunk.split('\n')) {
        if (l === '') continue;
        lines.push(l);
        opts.onLine?.(l);
      }
    };
    child.stdout.setEncoding('utf8').on('data', take);
    child.stderr.setEncoding('utf8').on('data', take);
    // The script bounds itself (timeout(1)); this is the backstop.
    const timer = setTimeout(() => child.kill('SIGKILL'), (timeoutSec + 30) * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  if (code !== 0) {
    throw new Error(`build-image.sh failed (exit ${String(code)}):\n${lines.slice(-30).join('\n')}`);
  }
  return { ...paths, built: true, seconds: (Date.now() - t0) / 1000 };
}

/** Where the guest's NIC goes: a tap on `bridge` inside `netns`, with a static address. */
export interface GuestNetwork {
  /** Network namespace holding the bridge (the test's private L2 segment). */
  readonly netns: string;
  /** Bridge inside `netns` (default `br0`). */
  readonly bridge?: string;
  /** Guest eth0 address with prefix, e.g. `198.18.0.10/24`. */
  readonly ip: string;
  /** Optional default gateway for the guest. */
  readonly gateway?: string;
  /** NIC MAC (default 52:54:00 + 3 random octets). */
  readonly mac?: string;
}

/** Options of {@link startGuest} / {@link runGuest}. */
export interface GuestOptions {
  /** Script to run: `guest/<test>.sh` (name without `.sh`). */
  readonly test: string;
  /** Parameters for the script (kernel command line `l2k.env.NAME=VALUE`; no whitespace or quotes). */
  readonly env?: Readonly<Record<string, string>>;
  /** Host-side bound in seconds (default 300); qemu is killed after it. */
  readonly timeoutSec?: number;
  /** Bound of the script inside the guest (default timeoutSec - 45, at least 20). */
  readonly guestTimeoutSec?: number;
  /** NIC on the caller's bridge; omitted = no NIC. */
  readonly network?: GuestNetwork;
  /** Guest RAM in MiB (default 256). */
  readonly memMiB?: number;
  /** Guest vCPUs (default 1; TCG threads on the host). */
  readonly smp?: number;
  /**
   * Per-run output directory, never removed. Default: a fresh `l2kit-vm-<test>-*` under the OS
   * temp dir, removed after a PASS unless `L2TPKIT_VM_KEEP=1` (kept after anything else).
   */
  readonly outDir?: string;
  /** Directory shared as /mnt/guest (default {@link GUEST_SCRIPTS_DIR}). */
  readonly scriptsDir?: string;
  /** Image cache directory (default {@link vmCacheDir}). */
  readonly cacheDir?: string;
  /** Extra qemu arguments, appended last (e.g. a second NIC). */
  readonly qemuArgs?: readonly string[];
  /** Called for every console line (serial ttyS0), e.g. to watch for `READY`. */
  readonly onConsoleLine?: (line: string) => void;
}

/** One parsed `RESULT:` line. */
export interface GuestResultLine {
  readonly status: 'PASS' | 'FAIL';
  /** The test name (first word after the status). */
  readonly name: string;
  /** Everything after the name. */
  readonly detail: string;
}

/** Outcome of one guest run. */
export interface GuestRun {
  /** Status of the last RESULT line, or NONE if the guest printed none. */
  readonly status: 'PASS' | 'FAIL' | 'NONE';
  /** True iff status is PASS and the run did not time out. */
  readonly ok: boolean;
  /** Every RESULT line, in order. */
  readonly results: readonly GuestResultLine[];
  /** True if the host-side bound killed qemu. */
  readonly timedOut: boolean;
  /** qemu's exit code (null if killed by a signal). */
  readonly exitCode: number | null;
  /** The per-run directory: console.log, `<test>.log`, files the script wrote to /mnt/out (see GuestOptions.outDir). */
  readonly outDir: string;
  /** The script's own output (`<test>.log`), or the console if the script never started. */
  readonly log: string;
  /** The serial console (kernel + init + script). */
  readonly console: string;
  /** Host wall seconds from qemu start until the guest started the script (undefined if never). */
  readonly bootSec: number | undefined;
  /** Host wall seconds from qemu start until qemu exited. */
  readonly wallSec: number;
  /** The kernel command line used. */
  readonly cmdline: string;
}

/** A running guest. */
export interface GuestHandle {
  /** PID of the qemu process. */
  readonly pid: number | undefined;
  /** The per-run output directory. */
  readonly outDir: string;
  /** Resolves with the first console line matching `re`, or undefined after `timeoutSec` or exit. */
  waitForLine(re: RegExp, timeoutSec: number): Promise<string | undefined>;
  /** Asks a serving script to finish early (creates OUTDIR/STOP, seen by `serve_wait`). */
  requestStop(): void;
  /** Kills qemu now (SIGKILL); `done` still resolves. */
  kill(): void;
  /** Resolves when qemu has exited and the tap is removed. */
  readonly done: Promise<GuestRun>;
}

/** Longest kernel command line the x86 kernel accepts (COMMAND_LINE_SIZE) minus a margin. */
const MAX_CMDLINE = 2000;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_VALUE = /^[^\s"'\\]*$/;
const TEST_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Builds the guest kernel command line; throws TypeError on a name/value it cannot carry. */
export function kernelCmdline(opts: {
  test: string;
  guestTimeoutSec: number;
  env?: Readonly<Record<string, string>>;
  ip?: string;
  gateway?: string;
}): string {
  if (!TEST_NAME.test(opts.test)) throw new TypeError(`bad guest test name '${opts.test}'`);
  const parts = [
    'root=/dev/vda rw console=ttyS0 init=/sbin/l2k-boot net.ifnames=0',
    'quiet loglevel=4 mitigations=off panic=-1 tsc=reliable',
    `l2k.run=${opts.test} l2k.tmo=${Math.max(1, Math.round(opts.guestTimeoutSec))}`,
  ];
  if (opts.ip !== undefined) parts.push(`l2k.ip=${checkValue('ip', opts.ip)}`);
  if (opts.gateway !== undefined) parts.push(`l2k.gw=${checkValue('gateway', opts.gateway)}`);
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (!ENV_NAME.test(k)) throw new TypeError(`bad guest env name '${k}'`);
    parts.push(`l2k.env.${k}=${checkValue(k, v)}`);
  }
  const line = parts.join(' ');
  if (line.length > MAX_CMDLINE) throw new TypeError(`guest kernel command line too long (${line.length} > ${MAX_CMDLINE})`);
  return line;
}

function checkValue(name: string, v: string): string {
  if (!ENV_VALUE.test(v)) throw new TypeError(`guest env ${name}='${v}': no whitespace, quotes or backslashes allowed`);
  return v;
}

/** Parses every `RESULT: PASS|FAIL name detail...` line of `text`. */
export function parseResultLines(text: string): GuestResultLine[] {
  const out: GuestResultLine[] = [];
  for (const raw of text.split('\n')) {
    const m = /^RESULT: (PASS|FAIL) (\S+) ?(.*)$/.exec(raw.replace(/\r$/, ''));
    if (m === null) continue;
    out.push({ status: m[1] === 'PASS' ? 'PASS' : 'FAIL', name: m[2] ?? '', detail: m[3] ?? '' });
  }
  return out;
}

/** Boots a guest running `guest/<test>.sh`; see {@link GuestHandle}. Needs root (tap, netns). */
export function startGuest(opts: GuestOptions): GuestHandle {
  const timeoutSec = opts.timeoutSec ?? 300;
  const guestTimeoutSec = opts.guestTimeoutSec ?? Math.max(20, timeoutSec - 45);
  const img = imagePaths(opts.cacheDir ?? vmCacheDir());
  for (const f of [img.kernel, img.initrd, img.rootfs]) {
    if (!existsSync(f)) throw new Error(`guest image missing (${f}): run ensureImage() / build-image.sh`);
  }
  const scriptsDir = opts.scriptsDir ?? GUEST_SCRIPTS_DIR;
  if (!existsSync(join(scriptsDir, `${opts.test}.sh`))) throw new Error(`no guest script ${opts.test}.sh in ${scriptsDir}`);
  const outDir = opts.outDir ?? mkdtempSync(join(tmpdir(), `l2kit-vm-${opts.test}-`));
  mkdirSync(outDir, { recursive: true });
  const net = opts.network;
  const cmdline = kernelCmdline({
    test: opts.test,
    guestTimeoutSec,
    ...(opts.env !== undefined ? { env: opts.env } : {}),
    ...(net !== undefined ? { ip: net.ip } : {}),
    ...(net?.gateway !== undefined ? { gateway: net.gateway } : {}),
  });
  const consolePath = join(outDir, 'console.log');
  writeFileSync(consolePath, '');

  const qemu = [
    'qemu-system-x86_64',
    ...['-accel', 'tcg,thread=multi', '-cpu', 'max', '-m', String(opts.memMiB ?? 256), '-smp', String(opts.smp ?? 1)],
    ...['-nodefaults', '-no-user-config', '-no-reboot', '-display', 'none', '-serial', 'stdio', '-monitor', 'none'],
    ...['-kernel', img.kernel, '-initrd', img.initrd, '-append', cmdline],
    ...['-drive', `file=${img.rootfs},format=raw,if=virtio,snapshot=on`],
    ...['-virtfs', `local,path=${scriptsDir},mount_tag=l2kguest,security_model=none,readonly=on`],
    ...['-virtfs', `local,path=${outDir},mount_tag=out,security_model=none`],
    ...['-device', 'virtio-rng-pci'],
  ];
  let tap: string | undefined;
  let argv = qemu;
  if (net !== undefined) {
    tap = `l2kt${randomBytes(4).toString('hex')}`;
    const mac = net.mac ?? `52:54:00:${randomBytes(3).toString('hex').replace(/(..)(?!$)/g, '$1:')}`;
    ipOrThrow(['-n', net.netns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
    try {
      ipOrThrow(['-n', net.netns, 'link', 'set', tap, 'master', net.bridge ?? 'br0', 'up']);
    } catch (e) {
      spawnSync('ip', ['-n', net.netns, 'link', 'del', tap], { stdio: 'ignore' });
      throw e;
    }
    argv = ['ip', 'netns', 'exec', net.netns, ...qemu,
      '-netdev', `tap,id=n0,ifname=${tap},script=no,downscript=no`,
      '-device', `virtio-net-pci,netdev=n0,mac=${mac}`];
  } else {
    argv = [...qemu, '-nic', 'none'];
  }
  argv = [...argv, ...(opts.qemuArgs ?? [])];

  const t0 = Date.now();
  // `ip netns exec` execs qemu, so the child PID is qemu's own.
  const child = spawn(argv[0] ?? 'qemu-system-x86_64', argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) live.add(child.pid);
  let consoleText = '';
  let partial = '';
  let bootSec: number | undefined;
  const watchers = new Set<(line: string | undefined) => void>();
  const onLine = (line: string): void => {
    consoleText += `${line}\n`;
    appendFileSync(consolePath, `${line}\n`);
    if (bootSec === undefined && line.startsWith('l2k-init: running')) bootSec = (Date.now() - t0) / 1000;
    opts.onConsoleLine?.(line);
    for (const w of [...watchers]) w(line);
  };
  const take = (chunk: string): void => {
    const lines = (partial + chunk).replace(/\r/g, '').split('\n');
    partial = lines.pop() ?? '';
    lines.forEach(onLine);
  };
  child.stdout.setEncoding('utf8').on('data', take);
  child.stderr.setEncoding('utf8').on('data', take);

  let timedOut = false;
  const killNow = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
    setTimeout(killNow, 5000).unref();
  }, timeoutSec * 1000);

  const done = new Promise<GuestRun>((resolve) => {
    let finished = false;
    const finish = (code: number | null): void => {
      if (finished) return; // 'error' may be followed by 'close'
      finished = true;
      clearTimeout(timer);
      if (child.pid !== undefined) live.delete(child.pid);
      if (partial !== '') onLine(partial);
      partial = '';
      if (tap !== undefined && net !== undefined) spawnSync('ip', ['-n', net.netns, 'link', 'del', tap], { stdio: 'ignore' });
      for (const w of [...watchers]) w(undefined);
      const logPath = join(outDir, `${opts.test}.log`);
      const log = existsSync(logPath) ? readFileSync(logPath, 'utf8') : consoleText;
      let results = parseResultLines(log);
      if (results.length === 0) results = parseResultLines(consoleText);
      const last = results[results.length - 1];
      const status = last?.status ?? 'NONE';
      const removeOut = opts.outDir === undefined && status === 'PASS' && !timedOut && process.env['L2TPKIT_VM_KEEP'] !== '1';
      if (removeOut) rmSync(outDir, { recursive: true, force: true });
      resolve({
        status,
        ok: status === 'PASS' && !timedOut,
        results,
        timedOut,
        exitCode: code,
        outDir,
        log,
        console: consoleText,
        bootSec,
        wallSec: (Date.now() - t0) / 1000,
        cmdline,
      });
    };
    child.on('error', (e) => {
      onLine(`l2k-host: cannot start qemu: ${e.message}`);
      finish(null);
    });
    child.on('close', (code) => finish(code));
  });

  let exited = false;
  void done.then(() => (exited = true));
  return {
    pid: child.pid,
    outDir,
    done,
    kill: killNow,
    requestStop: () => writeFileSync(join(outDir, 'STOP'), ''),
    waitForLine: (re, waitSec) => {
      const seen = consoleText.split('\n').find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      if (exited) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        const w = (line: string | undefined): void => {
          if (line !== undefined && !re.test(line)) return;
          watchers.delete(w);
          clearTimeout(t);
          resolve(line);
        };
        const t = setTimeout(() => {
          watchers.delete(w);
          resolve(undefined);
        }, waitSec * 1000);
        watchers.add(w);
      });
    },
  };
}

/** Boots a guest, runs `guest/<test>.sh` to completion and returns its outcome. */
export function runGuest(opts: GuestOptions): Promise<GuestRun> {
  return startGuest(opts).done;
}

/** qemu PIDs still running; killed if this process exits first (no stray guests). */
const live = new Set<number>();
process.on('exit', () => {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function ipOrThrow(args: readonly string[]): void {
  const r = spawnSync('ip', [...args], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr.trim()}`);
}

function findVmDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && existsSync(join(dir, 'test', 'interop', 'vm', 'build-image.sh'))) {
      return join(dir, 'test', 'interop', 'vm');
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('test/interop/vm not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}
