/**
 * Test helpers: l2tpd and l2tpctl as real processes (the compiled mains under node, or the .ts
 * mains through tsx when the tests run from source), bounded in time, output collected.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const here = fileURLToPath(import.meta.url);
const fromSource = here.endsWith('.ts');
const mainOf = (name: string): string[] => {
  const main = join(here, '..', fromSource ? `${name}.ts` : `${name}.js`);
  return fromSource ? ['--import', 'tsx', main] : [main];
};

/** What a finished process left. */
export interface ProcessRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running l2tpd. */
export interface RunningProcess {
  /** Collected so far. */
  stdout(): string;
  stderr(): string;
  signal(sig: NodeJS.Signals): void;
  /** Resolves at exit. */
  readonly done: Promise<ProcessRun>;
}

/** Start `l2tpd-main` or `l2tpctl-main` with `args`; killed after `limitMs`. */
export function startMain(which: 'l2tpd-main' | 'l2tpctl-main', args: readonly string[], o: { readonly limitMs?: number; readonly stdin?: string } = {}): RunningProcess {
  const child = spawn(process.execPath, [...mainOf(which), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.stdin.end(o.stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), o.limitMs ?? 20_000);
  const done = new Promise<ProcessRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      // Let the pipes drain.
      setImmediate(() => resolve({ code, stdout, stderr }));
    });
  });
  return { stdout: () => stdout, stderr: () => stderr, signal: (sig) => child.kill(sig), done };
}

/** Run to completion. */
export function runMain(which: 'l2tpd-main' | 'l2tpctl-main', args: readonly string[], o: { readonly limitMs?: number; readonly stdin?: string } = {}): Promise<ProcessRun> {
  return startMain(which, args, o).done;
}

/** Poll `pred` every 50 ms until it holds; false after `ms`. */
export async function waitFor(pred: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return pred();
}
