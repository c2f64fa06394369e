/**
 * A guarded cleanup registry for benchmarks: it removes only what this process created — child
 * PIDs it spawned, network namespaces it added (processes still inside them are ours too: they were
 * started there by our children), and temporary directories — on every exit path (normal end,
 * exception, SIGINT/SIGTERM, watchdog). Everything here is synchronous so it also runs in 'exit'.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';

/** A process we started. */
interface TrackedPid {
  readonly pid: number;
  readonly label: string;
}

const pids = new Map<number, TrackedPid>();
const namespaces = new Set<string>();
const dirs = new Set<string>();
let installed = false;
let ran = false;

/** True when a process with this PID exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Busy-wait (bounded) until `pid` is gone; used only on the synchronous cleanup path. */
function waitGone(pid: number, ms: number): boolean {
  const until = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > until) return false;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
  return true;
}

/** Send SIGTERM, then SIGKILL after `graceMs` if the process is still there. */
export function killPid(pid: number, graceMs = 500): void {
  if (!alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (waitGone(pid, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  waitGone(pid, graceMs);
}

/** SIGTERM every PID at once, wait up to `graceMs` for all, then SIGKILL the rest. */
export function killPids(list: readonly number[], graceMs = 500): void {
  const live = list.filter(alive);
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  const until = Date.now() + graceMs;
  let left = live.filter(alive);
  while (left.length > 0 && Date.now() < until) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    left = left.filter(alive);
  }
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** The PIDs of every process inside network namespace `ns` (`ip netns pids`), [] when none. */
export function netnsPids(ns: string): number[] {
  try {
    const out = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    return out
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 1 && n !== process.pid);
  } catch {
    return [];
  }
}

/** Remember a child PID to kill at cleanup. */
export function trackPid(pid: number | undefined, label: string): void {
  if (pid === undefined) return;
  installHandlers();
  pids.set(pid, { pid, label });
}

/** Forget a PID that has exited on its own. */
export function untrackPid(pid: number | undefined): void {
  if (pid !== undefined) pids.delete(pid);
}

/** Remember a network namespace we created (deleted at cleanup, after its processes). */
export function trackNetns(name: string): void {
  installHandlers();
  namespaces.add(name);
}

/** Forget a namespace already deleted. */
export function untrackNetns(name: string): void {
  namespaces.delete(name);
}

/** Remember a temporary directory to remove at cleanup. */
export function trackDir(path: string): void {
  installHandlers();
  dirs.add(path);
}

/** Kill every tracked PID, then every process left in our namespaces, delete the namespaces and dirs. */
export function cleanupAll(): void {
  for (const p of [...pids.values()].reverse()) {
    killPid(p.pid);
    pids.delete(p.pid);
  }
  for (const ns of namespaces) {
    // Only processes inside a namespace this process created: children of our own children.
    killPids(netnsPids(ns), 500);
    try {
      execFileSync('ip', ['netns', 'del', ns], { timeout: 5000, stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
  namespaces.clear();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

/** Install exit/signal/exception handlers that run cleanupAll once (idempotent). */
export function installHandlers(): void {
  if (installed) return;
  installed = true;
  const once = (): void => {
    if (ran) return;
    ran = true;
    cleanupAll();
  };
  process.on('exit', once);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      console.error(`\n${sig}: cleaning up namespaces and child processes`);
      once();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (e) => {
    console.error('uncaught exception:', e);
    once();
    process.exit(1);
  });
  process.on('unhandledRejection', (e) => {
    console.error('unhandled rejection:', e);
    once();
    process.exit(1);
  });
}

/** Arm a watchdog: after `ms`, print `why`, clean up and exit 1 (bounds every benchmark in time). */
export function watchdog(ms: number, why: string): NodeJS.Timeout {
  installHandlers();
  const t = setTimeout(() => {
    console.error(`watchdog: ${why} (${Math.round(ms / 1000)} s) — cleaning up and exiting`);
    cleanupAll();
    process.exit(1);
  }, ms);
  t.unref();
  return t;
}
