/**
 * Helpers for the remote-access scale test and benchmarks: the l2tpd TOML for a PPP-terminating LNS
 * (docs/CONFIG.md: [[listen]], [ppp], [pool], [users], [tun]), a users file of `u<i> p<i>` lines,
 * a one-shot client for the daemon's control socket (newline-delimited JSON), the load client
 * child process (bench/lib/ppp-load-child.ts) inside a namespace, and the 203.0.113.0/24 "server"
 * namespace behind the LNS's TUN. Every process is killed by PID, bounded in lifetime.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { repoRoot, tail, waitUntil } from '../../test/interop/lib/host.js';
import { spawnIn, type ManagedProcess } from '../../test/interop/lib/process.js';

/** The remote-access LNS configuration. */
export interface AccessLnsConfig {
  readonly socket: string;
  readonly listen: string;
  readonly port?: number;
  /** e.g. "100.64.0.0/22". */
  readonly pool: string;
  readonly localAddress: string;
  readonly usersFile: string;
  readonly tunName: string;
  /** PPP auth names as in the config ("chap", "pap", "mschapv2"). */
  readonly auth?: readonly string[];
  readonly mtu?: number;
  /** LCP echo interval (s); 0 = off. */
  readonly echoInterval?: number;
  /** [l2tp] retransmit_initial / retransmit_cap (s): a short cycle makes closed tunnels linger less (§5.7). */
  readonly retransmitInitial?: number;
  readonly retransmitCap?: number;
  readonly logLevel?: 'info' | 'debug' | 'warn' | 'error';
  /**
   * `[daemon] state_dir`. `startAccessLns` defaults it to `DIR/state` (never the daemon's own
   * /var/lib/l2tpd: a lease journal left there by one run would hold addresses in the next).
   */
  readonly stateDir?: string;
  /** `[pool] lease_hold` (s): how long a restart after a crash holds the journalled leases. */
  readonly leaseHold?: number;
  /** `[l2tp] hello_interval` (s; default 0 = off). */
  readonly helloInterval?: number;
  /** `[ipsec]` on with this PSK, L2TP in the clear still accepted (`require_ipsec = false`); default off. */
  readonly ipsecPsk?: string;
  /** More TOML appended as it is (e.g. `[radius]` sections). */
  readonly extra?: string;
  /** `[[listen]] secret`: tunnel authentication (RFC 2661 §4.4.3). */
  readonly tunnelSecret?: string;
}

/** The l2tpd TOML text for `c`. */
export function renderAccessConfig(c: AccessLnsConfig): string {
  const q = (s: string): string => JSON.stringify(s);
  return [
    '[daemon]',
    `control_socket = ${q(c.socket)}`,
    `log_level = ${q(c.logLevel ?? 'warn')}`,
    ...(c.stateDir !== undefined ? [`state_dir = ${q(c.stateDir)}`] : []),
    '',
    '[l2tp]',
    'host_name = "l2tpkit-lns"',
    `hello_interval = ${c.helloInterval ?? 0}`,
    `retransmit_initial = ${c.retransmitInitial ?? 1}`,
    `retransmit_cap = ${c.retransmitCap ?? 16}`,
    '',
    '[[listen]]',
    `address = ${q(c.listen)}`,
    `port = ${c.port ?? 1701}`,
    ...(c.tunnelSecret !== undefined ? [`secret = ${q(c.tunnelSecret)}`] : []),
    '',
    // Plain L2TP with PPP logins: IPsec is on by default, and PPP authentication outside it needs the explicit key.
    '[ipsec]',
    ...(c.ipsecPsk !== undefined ? ['enabled = true', `psk = ${q(c.ipsecPsk)}`, 'require_ipsec = false'] : ['enabled = false']),
    '',
    '[ppp]',
    'allow_insecure = true',
    `auth = [${(c.auth ?? ['chap']).map(q).join(', ')}]`,
    `echo_interval = ${c.echoInterval ?? 30}`,
    '',
    '[pool]',
    `ipv4 = ${q(c.pool)}`,
    `local_address = ${q(c.localAddress)}`,
    ...(c.leaseHold !== undefined ? [`lease_hold = ${c.leaseHold}`] : []),
    '',
    '[users]',
    `file = ${q(c.usersFile)}`,
    '',
    '[tun]',
    `name = ${q(c.tunName)}`,
    `mtu = ${c.mtu ?? 1400}`,
    '',
    ...(c.extra !== undefined ? [c.extra] : []),
  ].join('\n');
}

/** Write a users file with `u<i> p<i>` for i in [0, n) (the load client's default credentials). */
export function writeUsers(path: string, n: number, prefix = 'u', password = 'p'): void {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`${prefix}${i} ${password}${i}`);
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** One request on the daemon's control socket; resolves the `result` or rejects with the error. */
export function controlRequest(socket: string, req: Readonly<Record<string, unknown>>, timeoutMs = 15_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    // Chunks kept apart until the newline arrives (a 40 MB `show sessions` answer: `buf += d; buf.indexOf` is quadratic).
    const parts: string[] = [];
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`control ${socket}: no answer to ${JSON.stringify(req)} within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.setEncoding('utf8');
    conn.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    conn.on('connect', () => conn.write(`${JSON.stringify(req)}\n`));
    conn.on('data', (d: string) => {
      const i = d.indexOf('\n');
      if (i === -1) {
        parts.push(d);
        return;
      }
      parts.push(d.slice(0, i));
      clearTimeout(timer);
      conn.end();
      try {
        const v = JSON.parse(parts.join('')) as { ok: boolean; result?: unknown; error?: string };
        if (v.ok) resolve(v.result);
        else reject(new Error(`control: ${v.error ?? 'error'}`));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}

/** Run a command; rejects with its stderr. */
export function sh(cmd: string, args: readonly string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * A namespace `srvNs` (which must exist) joined to `lnsNs` by a veth pair: `lnsIf` 203.0.113.1/24
 * in the LNS namespace (forwarding on, rp_filter off), `eth0` 203.0.113.10/24 in the server
 * namespace, which routes `pool` back via 203.0.113.1. Returns the server address.
 */
export async function plumbServerBehindLns(lnsNs: string, srvNs: string, pool: string, lnsIf = 'srv0'): Promise<string> {
  await sh('ip', ['link', 'add', lnsIf, 'netns', lnsNs, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', srvNs]);
  await sh('ip', ['-n', lnsNs, 'addr', 'add', '203.0.113.1/24', 'dev', lnsIf]);
  await sh('ip', ['-n', lnsNs, 'link', 'set', lnsIf, 'up']);
  await sh('ip', ['-n', srvNs, 'link', 'set', 'lo', 'up']);
  await sh('ip', ['-n', srvNs, 'addr', 'add', '203.0.113.10/24', 'dev', 'eth0']);
  await sh('ip', ['-n', srvNs, 'link', 'set', 'eth0', 'up']);
  await sh('ip', ['-n', srvNs, 'route', 'add', pool, 'via', '203.0.113.1']);
  await sh('ip', ['netns', 'exec', lnsNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
  return '203.0.113.10';
}

const children = new Map<number, ChildProcess>();
let hooked = false;

/** SIGKILL every load child still running (by PID); also runs at process exit. */
export function killLoadChildren(): void {
  for (const [pid, c] of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  children.clear();
}

/** The load client child: request/response over its stdin/stdout. */
export interface LoadChild {
  readonly pid: number;
  /** Send one request and wait for its response (rejects on `ok:false`, exit or timeout). */
  request<T>(req: Readonly<Record<string, unknown>>, timeoutMs: number): Promise<T>;
  /** stderr collected so far. */
  stderr(): string;
  /** Ask it to exit; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** The child script next to this file: .ts under tsx, .js from dist. */
function childScript(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ts = here.endsWith('.ts');
  return { file: join(dirname(here), ts ? 'ppp-load-child.ts' : 'ppp-load-child.js'), execArgv: ts ? ['--import', 'tsx'] : [] };
}

/** Start the load child in namespace `ns` (undefined = here), killed after `lifetimeMs`. */
export async function startLoadChild(ns: string | undefined, lifetimeMs: number, cwd: string): Promise<LoadChild> {
  if (!hooked) {
    hooked = true;
    process.once('exit', killLoadChildren);
  }
  const { file, execArgv } = childScript();
  const argv = [...(ns !== undefined ? ['ip', 'netns', 'exec', ns] : []), process.execPath, ...execArgv, file];
  const [cmd, ...args] = argv as [string, ...string[]];
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd });
  const pid = child.pid;
  if (pid === undefined) throw new Error('cannot start the load child');
  children.set(pid, child);
  const killer = setTimeout(() => child.kill('SIGKILL'), lifetimeMs);
  killer.unref();
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  let readyResolve: (() => void) | undefined;
  const ready = new Promise<void>((r) => (readyResolve = r));
  let exited = false;
  const exitP = new Promise<void>((r) =>
    child.on('close', () => {
      exited = true;
      clearTimeout(killer);
      children.delete(pid);
      for (const w of waiting.splice(0)) w.reject(new Error(`load child exited\n${err.slice(-2000)}`));
      r();
    }),
  );
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      err += `${line}\n`;
      return;
    }
    const o = v as { ready?: boolean; ok?: boolean; result?: unknown; error?: string };
    if (o.ready === true) {
      readyResolve?.();
      return;
    }
    const w = waiting.shift();
    if (w === undefined) return;
    if (o.ok === true) w.resolve(o.result);
    else w.reject(new Error(`load child: ${o.error ?? 'error'}`));
  });
  await Promise.race([ready, exitP.then(() => Promise.reject(new Error(`load child exited at start:\n${err.slice(-2000)}`)))]);
  return {
    pid,
    request: <T>(req: Readonly<Record<string, unknown>>, timeoutMs: number): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        if (exited) {
          reject(new Error('load child is gone'));
          return;
        }
        const timer = setTimeout(() => reject(new Error(`load child: no answer to ${String(req['cmd'])} within ${timeoutMs} ms\n${err.slice(-2000)}`)), timeoutMs);
        waiting.push({
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        child.stdin?.write(`${JSON.stringify(req)}\n`);
      }),
    stderr: () => err,
    async stop(graceMs = 3000): Promise<void> {
      if (exited) return;
      child.stdin?.end();
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exitP;
      clearTimeout(t);
    },
  };
}

/** A running l2tpd remote-access LNS. */
export interface AccessLnsDaemon {
  readonly proc: ManagedProcess;
  readonly socket: string;
  /** Last lines of its output. */
  logTail(n?: number): string;
  stop(): Promise<void>;
}

/**
 * Write `cfg` (its `socket` is used) under `dir` and start `node bin/l2tpd.js` of the package at
 * `root` (default: this repository; bench/lib/baseline.ts builds other refs) in namespace `ns`;
 * resolves once the control socket answers.
 */
export async function startAccessLns(ns: string, dir: string, cfg: AccessLnsConfig, lifetimeMs: number, root = repoRoot(), nodeArgs: readonly string[] = [], env: Readonly<Record<string, string>> = {}): Promise<AccessLnsDaemon> {
  const config = join(dir, 'l2tpd.toml');
  writeFileSync(config, renderAccessConfig({ stateDir: join(dir, 'state'), ...cfg }));
  const proc = spawnIn(ns, process.execPath, [...nodeArgs, join(root, 'bin', 'l2tpd.js'), '--config', config, '--socket', cfg.socket], {
    name: 'l2tpd (LNS)',
    lifetimeMs,
    logFile: join(dir, 'l2tpd.log'),
    cwd: root,
    env,
  });
  const logTail = (n = 30): string => tail(proc.output(), n);
  await waitUntil(
    'l2tpd control socket',
    async () => {
      if (!proc.running()) throw new Error(`l2tpd exited at start:\n${logTail()}`);
      return (await controlRequest(cfg.socket, { cmd: 'ping' }, 2000).catch(() => undefined)) === 'pong' ? true : undefined;
    },
    20_000,
    logTail,
  );
  return {
    proc,
    socket: cfg.socket,
    logTail,
    stop: async () => {
      await proc.stop(5000);
    },
  };
}
