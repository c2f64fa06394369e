/**
 * Processes the interop harness starts: always inside a network namespace, always with a bounded
 * lifetime, always stopped by PID (never by name). A process-exit hook kills whatever is left and
 * deletes the namespaces registered here, so an aborted run leaves nothing behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { tail } from './host.js';

const live = new Map<number, ChildProcess>();
const namespaces = new Set<string>();
let hooked = false;

/** Synchronous last-resort cleanup: SIGKILL every live child by PID, then delete our namespaces. */
export function cleanupNowSync(): void {
  for (const [pid, child] of live) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  live.clear();
  for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 10_000 });
  namespaces.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', cleanupNowSync);
  const onSignal = (sig: NodeJS.Signals, code: number): void => {
    cleanupNowSync();
    process.exit(128 + code);
  };
  process.once('SIGINT', () => onSignal('SIGINT', 2));
  process.once('SIGTERM', () => onSignal('SIGTERM', 15));
  process.once('SIGHUP', () => onSignal('SIGHUP', 1));
}

/** Remembers a namespace so the exit hook deletes it if the run is aborted. */
export function trackNamespace(ns: string): void {
  hookExit();
  namespaces.add(ns);
}

/** Forgets a namespace that was deleted normally. */
export function untrackNamespace(ns: string): void {
  namespaces.delete(ns);
}

/** How a managed process ended. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Options for {@link spawnIn}. */
export interface SpawnOptions {
  /** Label used in failure messages. */
  readonly name: string;
  /** Hard upper bound on the lifetime: SIGKILL after this long (default 120 s). */
  readonly lifetimeMs?: number;
  /** Also append the combined output to this file. */
  readonly logFile?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** A started process whose stdout+stderr are collected in order. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitStatus>;
  /** True until the process exited. */
  running(): boolean;
  /** Everything written so far (stdout and stderr interleaved). */
  output(): string;
  /** Current length of the output; pass it to `waitForOutput` to only look at what comes later. */
  mark(): number;
  /** Resolves with the first match of `pattern` in the output after `from`; rejects on timeout or exit. */
  waitForOutput(pattern: RegExp, timeoutMs: number, from?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 3 s); resolves when it is gone. */
  stop(graceMs?: number): Promise<ExitStatus>;
}

/**
 * Starts `cmd args` inside namespace `ns` (`ip netns exec`, which execs, so the PID is the program's own),
 * or in the current namespace when `ns` is undefined. stdin is /dev/null.
 */
export function spawnIn(ns: string | undefined, cmd: string, args: readonly string[], opts: SpawnOptions): ManagedProcess {
  hookExit();
  const argv = ns === undefined ? [cmd, ...args] : ['ip', 'netns', 'exec', ns, cmd, ...args];
  const [file, ...rest] = argv as [string, ...string[]];
  const child = spawn(file, rest, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
  });
  if (child.pid === undefined) throw new Error(`${opts.name}: could not start ${argv.join(' ')}`);
  const pid = child.pid;
  live.set(pid, child);
  let out = '';
  let log: WriteStream | undefined;
  if (opts.logFile !== undefined) log = createWriteStream(opts.logFile, { flags: 'a' });
  const waiters = new Set<() => void>();
  const onData = (d: string): void => {
    out += d;
    log?.write(d);
    for (const w of [...waiters]) w();
  };
  child.stdout?.setEncoding('utf8').on('data', onData);
  child.stderr?.setEncoding('utf8').on('data', onData);
  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.on('close', (code, signal) => {
      status = { code, signal };
      live.delete(pid);
      clearTimeout(killer);
      log?.end();
      for (const w of [...waiters]) w();
      resolve(status);
    });
    child.on('error', () => {
      // 'close' follows
    });
  });
  const lifetime = opts.lifetimeMs ?? 120_000;
  const killer = setTimeout(() => {
    if (status === undefined) {
      onData(`\n[harness] ${opts.name}: lifetime of ${lifetime} ms exceeded, SIGKILL\n`);
      child.kill('SIGKILL');
    }
  }, lifetime);
  killer.unref();

  const waitForOutput = (pattern: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = out.slice(from).match(pattern);
        if (m) {
          done();
          resolve(m);
          return true;
        }
        if (status !== undefined) {
          done();
          reject(new Error(`${opts.name} exited (${String(status.code ?? status.signal)}) before printing ${String(pattern)}\n${tail(out, 30)}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${opts.name}: no ${String(pattern)} within ${timeoutMs} ms\n${tail(out.slice(from), 30)}`));
      }, timeoutMs);
      const w = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(w);
      };
      waiters.add(w);
      check();
    });

  const stop = async (graceMs = 3000): Promise<ExitStatus> => {
    if (status !== undefined) return status;
    child.kill('SIGTERM');
    const t = setTimeout(() => {
      if (status === undefined) child.kill('SIGKILL');
    }, graceMs);
    const s = await exited;
    clearTimeout(t);
    return s;
  };

  return {
    name: opts.name,
    pid,
    exited,
    running: () => status === undefined,
    output: () => out,
    mark: () => out.length,
    waitForOutput,
    stop,
  };
}
