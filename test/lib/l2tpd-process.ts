/**
 * Test helpers: l2tpd and l2tpctl as real processes (the compiled mains under node, or the .ts
 * mains through tsx when the tests run from source), bounded in time, output collected; and our
 * own L2TP/IPsec LAC process as a client that logs in.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const here = fileURLToPath(import.meta.url);
const fromSource = here.endsWith('.ts');
const mainOf = (name: string): string[] => {
  // This file is test/lib/l2tpd-process.(ts|js); the mains are src/daemon/<name>.(ts|js) of the same tree.
  const main = join(here, '..', '..', '..', 'src', 'daemon', fromSource ? `${name}.ts` : `${name}.js`);
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

/** How a main is started. */
export interface StartOptions {
  readonly limitMs?: number;
  readonly stdin?: string;
  /** Run it under this command (`setpriv ... --`, `ip netns exec NS`). */
  readonly prefix?: readonly string[];
}

/** Start `l2tpd-main` or `l2tpctl-main` with `args` (under `prefix`); killed after `limitMs`. */
export function startMain(which: 'l2tpd-main' | 'l2tpctl-main', args: readonly string[], o: StartOptions = {}): RunningProcess {
  const [cmd, ...rest] = [...(o.prefix ?? []), process.execPath, ...mainOf(which), ...args];
  const child = spawn(cmd ?? process.execPath, rest, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.stdin.on('error', () => undefined);
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
export function runMain(which: 'l2tpd-main' | 'l2tpctl-main', args: readonly string[], o: StartOptions = {}): Promise<ProcessRun> {
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

/** Start l2tpd and wait for its "started" line; throws with the output when it exits first. */
export async function startDaemon(args: readonly string[], o: { readonly prefix?: readonly string[] } = {}): Promise<RunningProcess> {
  const p = startMain('l2tpd-main', args, { limitMs: 60_000, ...(o.prefix !== undefined ? { prefix: o.prefix } : {}) });
  let exited = false;
  void p.done.then(() => (exited = true));
  await waitFor(() => exited || / started, mode /.test(p.stdout()), 15_000);
  if (exited || !/ started, mode /.test(p.stdout())) throw new Error(`l2tpd did not start:\n${p.stdout()}\n${p.stderr()}`);
  return p;
}

/** SIGTERM and wait; throws unless it exits 0. Resolves to everything it wrote. */
export async function stopDaemon(p: RunningProcess): Promise<string> {
  p.signal('SIGTERM');
  const r = await p.done;
  if (r.code !== 0) throw new Error(`l2tpd exited ${String(r.code)}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

/** `l2tpctl --socket S ARGS`; throws unless it exits 0. */
export async function ctl(sock: string, ...args: string[]): Promise<string> {
  const r = await runMain('l2tpctl-main', ['--socket', sock, ...args]);
  if (r.code !== 0) throw new Error(`l2tpctl ${args.join(' ')}: exit ${String(r.code)}: ${r.stderr}`);
  return r.stdout;
}

/** Options of {@link loginThrough}. */
export interface LoginThroughOptions {
  /** A scratch directory for the client's config and state. */
  readonly dir: string;
  /** The LNS's control socket. */
  readonly lnsSock: string;
  /** The network namespace of the client's TUN. */
  readonly netns: string;
  readonly tun: string;
  readonly psk: string;
  readonly login: { readonly username: string; readonly password: string };
  /** Run the client under this prefix (`ip netns exec NS`: the LNS's loopback is that namespace's). */
  readonly prefix?: readonly string[];
}

/**
 * Our own L2TP/IPsec LAC as a process (`[[lac]] ipsec = true`, PPP client mode, MS-CHAPv2, ESP in
 * UDP) logs in to the LNS on 127.0.0.1 behind `lnsSock`; resolves once the LNS shows the session
 * with its user, method and address. The caller stops it.
 */
export async function loginThrough(o: LoginThroughOptions): Promise<RunningProcess> {
  const st = JSON.parse(await ctl(o.lnsSock, 'show', 'status', '--json')) as { ipsec?: { listener?: { ikePort: number; nattPort: number } } };
  const l = st.ipsec?.listener;
  if (l === undefined) throw new Error(`the LNS has no IPsec listener: ${JSON.stringify(st)}`);
  await mkdir(o.dir, { recursive: true });
  const cfg = join(o.dir, 'lac.toml');
  const q = JSON.stringify;
  await writeFile(
    cfg,
    `listen = []\n[l2tp]\nhost_name = "test-lac"\n[[lac]]\nname = "vpn"\nlns = "127.0.0.1"\nlocal_address = "127.0.0.1"\n` +
      `ipsec = true\npsk = ${q(o.psk)}\nike_port = 0\nnatt_port = 0\nlns_ike_port = ${l.ikePort}\nlns_natt_port = ${l.nattPort}\nforce_encapsulation = true\n` +
      `ppp = true\nusername = ${q(o.login.username)}\npassword = ${q(o.login.password)}\ntun = ${q(o.tun)}\ntun_netns = ${q(o.netns)}\n`,
  );
  const lac = await startDaemon(['--config', cfg, '--socket', join(o.dir, 'lac.sock'), '--state-dir', join(o.dir, 'lacstate'), '--debug', '--log-format', 'json'], o.prefix === undefined ? {} : { prefix: o.prefix });
  const up = await waitFor(async () => {
    const sessions = JSON.parse(await ctl(o.lnsSock, 'show', 'sessions', '--json')) as { username?: string; authMethod?: string; address?: string }[];
    return sessions.some((x) => x.username === o.login.username && x.authMethod === 'mschapv2' && x.address !== undefined);
  }, 20_000);
  if (!up) {
    lac.signal('SIGKILL');
    throw new Error(`no PPP login through IPsec:\n${lac.stdout().slice(-3000)}`);
  }
  return lac;
}

/** The `Key=Value` lines of a unit's [Service] section (a key given twice keeps every value). */
export function serviceKeys(unit: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of unit.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || line === '') continue;
    const h = /^\[(\w+)\]$/.exec(line);
    if (h?.[1] !== undefined) {
      section = h[1];
      continue;
    }
    const m = /^(\w+)=(.*)$/.exec(line);
    if (section === 'Service' && m?.[1] !== undefined) out.set(m[1], [...(out.get(m[1]) ?? []), m[2] ?? '']);
  }
  return out;
}

/** The capability names of `key` (CapabilityBoundingSet, AmbientCapabilities), sorted. */
export function unitCapabilities(unit: string, key: string): string[] {
  return (serviceKeys(unit).get(key)?.[0] ?? '').split(/\s+/).filter((x) => x !== '').sort();
}

/**
 * setpriv(1) arguments that give a process exactly the unit's capability sets (bounding,
 * inheritable, ambient) and no-new-privs, `drop` left out; the command follows `--`.
 */
export function setprivArgs(unit: string, drop: readonly string[] = []): string[] {
  const names = (key: string): string => unitCapabilities(unit, key).filter((c) => !drop.includes(c)).map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`).join(',');
  const ambient = names('AmbientCapabilities');
  return ['setpriv', `--inh-caps=-all,${ambient}`, `--ambient-caps=-all,${ambient}`, `--bounding-set=-all,${names('CapabilityBoundingSet')}`, '--no-new-privs', '--'];
}

/** Run `body` with a fresh temporary directory (`prefix`-XXXXXX), removed afterwards. */
export async function withTempDir(prefix: string, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
