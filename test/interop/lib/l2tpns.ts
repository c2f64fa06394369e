/**
 * l2tpns 2.4 (Debian package "l2tpns": a userspace L2TPv2 LNS with PPP, RADIUS and a tun device) as a
 * real peer in a network namespace.
 *
 * l2tpns reads its IP pool from a compiled-in path (/etc/l2tpns/ip_pool), so each instance runs in a
 * private mount namespace (`unshare -m` inside `ip netns exec`) in which its own directory is
 * bind-mounted over /etc/l2tpns; the system files are never edited. The configuration follows what
 * is known to work on these hosts:
 * - `iftun_address` set (else it puts 1.1.1.1 on tun0), pool and DNS from documentation ranges (its
 *   defaults are 10.x);
 * - its cluster code is always on and multicasts heartbeats: `cluster_interface` is a private veth
 *   pair inside its namespace, so nothing reaches another namespace;
 * - because of the cluster master election it only answers L2TP ~15 s after start: start() waits for
 *   "I am declaring myself the master";
 * - SIGQUIT shuts tunnels down (StopCCN) and exits, but it keeps retrying StopCCN to peers that are
 *   gone and ignores SIGTERM meanwhile: stop() falls back to SIGKILL by PID after a grace period.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, sleep, tail, waitUntil } from './host.js';
import { spawnIn, type ManagedProcess } from './process.js';

/** Options for {@link startL2tpns}. */
export interface L2tpnsOptions {
  /** Namespace to run in (it must already have `bindAddress` on an interface). */
  readonly ns: string;
  /** Instance directory (created); bind-mounted over /etc/l2tpns inside l2tpns's mount namespace. */
  readonly dir: string;
  /** UDP 1701 is bound to this address. */
  readonly bindAddress: string;
  /** RADIUS server (authentication; accounting is off). */
  readonly radius: { readonly address: string; readonly secret: string; readonly port?: number };
  /** Address of tun0, also the PPP peer (IPCP) address; default 198.51.100.1. */
  readonly tunAddress?: string;
  /** IP pool lines (ip_pool file); default ['100.64.1.0/24']. */
  readonly pool?: readonly string[];
  /** DNS servers handed out in IPCP; default 203.0.113.53 / 203.0.113.54 (never contacted). */
  readonly dns?: readonly [string, string];
  /** `radius_authtypes`; default "chap,pap" (l2tpns asks the first in LCP). */
  readonly radiusAuthTypes?: string;
  /** `l2tp_secret`: tunnel authentication when the LAC sends a Challenge AVP. */
  readonly l2tpSecret?: string;
  /** `hostname` (Host Name AVP); default "l2tpns-interop". */
  readonly hostname?: string;
  /** `debug` level 0..5; default 3 (tunnel/session events, no per-packet dumps). */
  readonly debug?: number;
  /** `echo_timeout` (LCP echo interval, seconds); default 10. */
  readonly echoTimeout?: number;
  /** Further `set ...` lines appended verbatim. */
  readonly extraConfig?: readonly string[];
  /** Hard lifetime bound (default 300 s). */
  readonly lifetimeMs?: number;
  /** How long to wait for the cluster master line (default 45 s; it takes ~15 s). */
  readonly readyTimeoutMs?: number;
}

/** A running l2tpns. */
export interface L2tpns {
  readonly proc: ManagedProcess;
  readonly dir: string;
  /** l2tpns's own log file (`log_file`). */
  readonly logFile: string;
  readonly bindAddress: string;
  readonly tunAddress: string;
  /** The whole log so far. */
  log(): string;
  /** Current log length: pass it to `waitLog` to only look at what comes later. */
  mark(): number;
  /** Polls the log for `pattern` (after offset `from`); throws on timeout or when l2tpns exits. */
  waitLog(pattern: RegExp, timeoutMs: number, from?: number): Promise<RegExpMatchArray>;
  logTail(n?: number): string;
  /** SIGQUIT (StopCCN to every tunnel), then SIGKILL by PID after `graceMs` (default 3 s); idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** The log line l2tpns prints once it answers L2TP. */
export const L2TPNS_READY = /declaring myself the master/;

/** Renders startup-config (exported for tests and benchmarks). */
export function renderL2tpnsConfig(o: L2tpnsOptions, dir: string): string {
  const q = (s: string): string => `"${s.replace(/"/g, '')}"`;
  const tun = o.tunAddress ?? '198.51.100.1';
  const [dns1, dns2] = o.dns ?? ['203.0.113.53', '203.0.113.54'];
  const lines = [
    '# written by the l2tpkit interop harness',
    `set debug ${o.debug ?? 3}`,
    `set log_file ${q(join(dir, 'l2tpns.log'))}`,
    `set pid_file ${q(join(dir, 'l2tpns.pid'))}`,
    `set hostname ${q(o.hostname ?? 'l2tpns-interop')}`,
    `set bind_address ${o.bindAddress}`,
    `set iftun_address ${tun}`,
    `set peer_address ${tun}`,
    'set cli_bind_address 127.0.0.1',
    `set primary_dns ${dns1}`,
    `set secondary_dns ${dns2}`,
    `set primary_radius ${o.radius.address}`,
    `set primary_radius_port ${o.radius.port ?? 1812}`,
    `set radius_secret ${q(o.radius.secret)}`,
    `set radius_authtypes ${q(o.radiusAuthTypes ?? 'chap,pap')}`,
    'set radius_accounting no',
    'set cluster_interface "clu0"',
    `set echo_timeout ${o.echoTimeout ?? 10}`,
    'set idle_echo_timeout 240',
    'set ppp_keepalive yes',
    'set send_garp no',
  ];
  if (o.l2tpSecret !== undefined) lines.push(`set l2tp_secret ${q(o.l2tpSecret)}`);
  lines.push(...(o.extraConfig ?? []));
  return `${lines.join('\n')}\n`;
}

/**
 * Writes the instance directory, adds the private cluster veth (clu0/clu0p, 198.18.255.1/32) to the
 * namespace and starts l2tpns in the foreground in a private mount namespace; resolves once it is
 * cluster master (and so answers L2TP).
 */
export async function startL2tpns(o: L2tpnsOptions): Promise<L2tpns> {
  if (!existsSync('/usr/sbin/l2tpns')) throw new Error('/usr/sbin/l2tpns not found (Debian package l2tpns)');
  mkdirSync(o.dir, { recursive: true });
  const logFile = join(o.dir, 'l2tpns.log');
  writeFileSync(join(o.dir, 'startup-config'), renderL2tpnsConfig(o, o.dir));
  writeFileSync(join(o.dir, 'ip_pool'), `${(o.pool ?? ['100.64.1.0/24']).join('\n')}\n`);
  // CLI users (admin interface on 127.0.0.1:23 of its namespace): none.
  writeFileSync(join(o.dir, 'users'), '');
  writeFileSync(logFile, '');

  const ipn = (args: readonly string[]): Promise<unknown> => run('ip', ['-n', o.ns, ...args]);
  const have = await run('ip', ['-n', o.ns, 'link', 'show', 'clu0'], { check: false });
  if (have.code !== 0) await ipn(['link', 'add', 'clu0', 'type', 'veth', 'peer', 'name', 'clu0p']);
  await ipn(['addr', 'replace', '198.18.255.1/32', 'dev', 'clu0']);
  await ipn(['link', 'set', 'clu0', 'up']);
  await ipn(['link', 'set', 'clu0p', 'up']);

  const config = join(o.dir, 'startup-config');
  // The bind mount only exists in this private mount namespace; `exec` keeps the PID l2tpns's own.
  // setsid: l2tpns's SIGQUIT shutdown signals its whole process group (kill(0, ...)), which must not be
  // ours; setsid execs without forking here (the child is not a group leader), so the PID stays.
  const script = 'mount --bind "$1" /etc/l2tpns && exec /usr/sbin/l2tpns -c "$2"';
  const proc = spawnIn(o.ns, 'setsid', ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'l2tpns-wrapper', o.dir, config], {
    name: `l2tpns@${o.ns}`,
    lifetimeMs: o.lifetimeMs ?? 300_000,
    logFile: join(o.dir, 'stdout.log'),
  });
  const log = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const logTail = (n = 40): string => `${tail(log(), n)}${proc.output().trim() ? `\n-- stdout/stderr:\n${tail(proc.output(), 10)}` : ''}`;
  const waitLog = (pattern: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> =>
    waitUntil(
      `l2tpns log ${String(pattern)}`,
      () => {
        const m = log().slice(from).match(pattern);
        if (m) return m;
        if (!proc.running()) throw new Error(`l2tpns exited before logging ${String(pattern)}:\n${logTail()}`);
        return undefined;
      },
      timeoutMs,
      () => `l2tpns log:\n${logTail()}`,
      200,
    );
  let stopped: Promise<void> | undefined;
  const stop = (graceMs = 3000): Promise<void> => {
    stopped ??= (async () => {
      if (!proc.running()) return;
      try {
        process.kill(proc.pid, 'SIGQUIT');
      } catch {
        // already gone
      }
      const deadline = Date.now() + graceMs;
      while (proc.running() && Date.now() < deadline) await sleep(100);
      if (proc.running()) {
        try {
          process.kill(proc.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await proc.exited;
    })();
    return stopped;
  };
  try {
    await waitLog(L2TPNS_READY, o.readyTimeoutMs ?? 45_000);
  } catch (e) {
    await stop(0);
    throw e;
  }
  return {
    proc,
    dir: o.dir,
    logFile,
    bindAddress: o.bindAddress,
    tunAddress: o.tunAddress ?? '198.51.100.1',
    log,
    mark: () => log().length,
    waitLog,
    logTail,
    stop,
  };
}
