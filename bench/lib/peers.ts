/**
 * Peers for the set-up benchmarks, each a separate process inside a namespace we created:
 * our LNS (lns-child) and xl2tpd 1.3.18 as an LNS with a stand-in pppd. PIDs are tracked by the
 * cleanup registry so every exit path stops them.
 */
import type { ChannelTuning } from '../../src/l2tp/index.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killPid, killPids, netnsPids, trackPid, untrackPid } from './cleanup.js';
import { sleep } from './l2tp-load.js';

/** A peer process we started. */
export interface PeerProcess {
  readonly label: string;
  readonly child: ChildProcess;
  /** Stop it (and, for xl2tpd, its stand-in pppds); returns its last output lines. */
  stop(): Promise<string>;
}

/** Wait until `test()` holds or `ms` elapse; true when it held. */
async function until(test: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (test()) return true;
    await sleep(25);
  }
  return test();
}

/**
 * Start our LNS (lns-child) inside namespace `ns` on `address:1701`, with the same Node flags and
 * loader as this process (so it works under tsx and from dist/).
 */
export async function startOurLnsChild(ns: string, address: string, tuning?: Partial<ChannelTuning>): Promise<PeerProcess> {
  const here = fileURLToPath(import.meta.url);
  const ext = here.endsWith('.ts') ? '.ts' : '.js';
  const script = join(here, '..', `lns-child${ext}`);
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...process.execArgv.filter((a) => a !== '--expose-gc'), script, address, '1701', ...(tuning !== undefined ? [JSON.stringify(tuning)] : [])], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  trackPid(child.pid, 'our LNS child');
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const ready = await until(() => out.includes('ready ') || child.exitCode !== null, 15_000);
  if (!ready || child.exitCode !== null) {
    killPid(child.pid ?? -1);
    throw new Error(`our LNS child did not start: ${out.trim()}`);
  }
  return {
    label: 'our LNS',
    child,
    stop: async () => {
      child.stdin.end();
      await until(() => child.exitCode !== null, 3000);
      if (child.pid !== undefined) {
        killPid(child.pid);
        untrackPid(child.pid);
      }
      return out.trim();
    },
  };
}

/** xl2tpd's version string from `xl2tpd -v` (it prints to stderr), or 'xl2tpd'. */
export async function xl2tpdVersion(): Promise<string> {
  try {
    const r = await new Promise<string>((resolve) => {
      const c = spawn('xl2tpd', ['-v'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let s = '';
      c.stdout.on('data', (d: Buffer) => (s += d.toString()));
      c.stderr.on('data', (d: Buffer) => (s += d.toString()));
      c.on('close', () => resolve(s));
      c.on('error', () => resolve(''));
      setTimeout(() => {
        c.kill();
      }, 3000).unref();
    });
    const m = /xl2tpd[- ]?version:?\s*(\S+)/i.exec(r) ?? /(\d+\.\d+\.\d+)/.exec(r);
    return m?.[1] !== undefined ? `xl2tpd ${m[1].replace(/^xl2tpd-/, '')}` : 'xl2tpd';
  } catch {
    return 'xl2tpd';
  }
}

/**
 * Start xl2tpd as an LNS in namespace `ns` on `address:1701`. Config, log and control pipe live in
 * `dir`. Its pppd is replaced, in a private mount namespace (`unshare -m`), by a script that only
 * sleeps, so calls stay up on a host without /dev/ppp. Debug logging is off.
 */
export async function startXl2tpd(ns: string, address: string, dir: string): Promise<PeerProcess> {
  const conf = join(dir, 'xl2tpd.conf');
  const secrets = join(dir, 'chap-secrets');
  const options = join(dir, 'options.xl2tpd');
  const standin = join(dir, 'pppd-standin.sh');
  const log = join(dir, 'xl2tpd.log');
  const pipe = join(dir, 'l2tp-control');
  writeFileSync(
    conf,
    [
      '[global]',
      `listen-addr = ${address}`,
      'port = 1701',
      'access control = no',
      `auth file = ${secrets}`,
      'max retries = 5',
      '',
      '[lns default]',
      // A pool large enough for every call of the run (xl2tpd refuses a call when its pool is empty).
      'ip range = 100.64.16.1-100.64.31.254',
      'local ip = 100.64.0.1',
      'require authentication = no',
      'hostname = xl2tpd-lns',
      `pppoptfile = ${options}`,
      'length bit = yes',
      '',
    ].join('\n'),
  );
  writeFileSync(secrets, '# none\n', { mode: 0o600 });
  writeFileSync(options, 'noauth\n');
  // The stand-in pppd: stays alive like a real pppd would, until xl2tpd kills it at call teardown.
  writeFileSync(standin, '#!/bin/sh\nexec sleep 900\n');
  chmodSync(standin, 0o755);
  const inner = `mount --bind "$1" /usr/sbin/pppd && exec xl2tpd -D -c "$2" -s "$3" -p "$4" -C "$5" >"$6" 2>&1 </dev/null`;
  const child = spawn(
    'ip',
    ['netns', 'exec', ns, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', inner, 'sh', standin, conf, secrets, join(dir, 'xl2tpd.pid'), pipe, log],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  trackPid(child.pid, 'xl2tpd');
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const readLog = (): string => (existsSync(log) ? readFileSync(log, 'utf8') : '');
  const ready = await until(() => existsSync(pipe) || child.exitCode !== null, 10_000);
  if (!ready || child.exitCode !== null) {
    killPid(child.pid ?? -1);
    throw new Error(`xl2tpd did not start: ${out.trim()} ${readLog().trim().split('\n').slice(-5).join(' / ')}`);
  }
  return {
    label: 'xl2tpd',
    child,
    stop: () => {
      if (child.pid !== undefined) {
        killPid(child.pid, 2000);
        untrackPid(child.pid);
      }
      // Stand-in pppds xl2tpd forked into our namespace (orphans when xl2tpd is killed).
      killPids(netnsPids(ns), 1000);
      return Promise.resolve(readLog().trim());
    },
  };
}
