/**
 * Our own daemon (`bin/l2tpd.js`) as a process in a namespace, configured through a generated TOML
 * file (docs/CONFIG.md) and observed through `bin/l2tpctl.js ... --json` (arrays of TunnelInfo, see
 * src/l2tp/api.ts) and its JSON-lines log on stdout.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, run, tail, waitUntil } from './host.js';
import { spawnIn, type ManagedProcess } from './process.js';

/** One `[[listen]]` table. */
export interface L2tpdListen {
  readonly address: string;
  readonly port?: number;
  readonly secret?: string;
  readonly hideAvps?: boolean;
  readonly allowedHosts?: readonly string[];
}

/** One `[[lac]]` table. */
export interface L2tpdLac {
  readonly name: string;
  readonly lns: string;
  readonly port?: number;
  readonly localAddress?: string;
  readonly secret?: string;
  readonly hideAvps?: boolean;
  readonly sessions?: number;
  readonly redial?: boolean;
  /** Client mode (`ppp = true`): our PPP credentials and local TUN (sessions must be 1). */
  readonly ppp?: { readonly username: string; readonly password: string; readonly tun?: string; readonly tunNetns?: string };
}

/** Options for {@link startL2tpd}. */
export interface L2tpdOptions {
  readonly ns: string;
  readonly dir: string;
  readonly hostName: string;
  readonly listen?: readonly L2tpdListen[];
  readonly lacs?: readonly L2tpdLac[];
  /** `[l2tp] hello_interval` in seconds (default: the daemon's). */
  readonly helloInterval?: number;
  /** `[l2tp] vendor_name` (default: the daemon's). */
  readonly vendorName?: string;
  /** `[l2tp] retransmit_initial` / `retransmit_cap` in seconds (default: the daemon's). */
  readonly retransmitInitial?: number;
  readonly retransmitCap?: number;
  /** Pass `--debug` (AVP-level logs). Default true. */
  readonly debug?: boolean;
  readonly lifetimeMs?: number;
  /** TOML appended verbatim (e.g. an `[l2tpv3]` section with its pseudowires). */
  readonly extraToml?: string;
}

/** A session as `l2tpctl show ... --json` prints it (only the fields the tests use). */
export interface ShownSession {
  readonly localSessionId: number;
  readonly remoteSessionId: number;
  readonly state: string;
}

/** A tunnel as `l2tpctl show tunnels --json` prints it (only the fields the tests use). */
export interface ShownTunnel {
  readonly localTunnelId: number;
  readonly remoteTunnelId: number;
  readonly state: string;
  readonly peerAddress: string | undefined;
  readonly remoteHostName: string | undefined;
  readonly sessions: readonly ShownSession[];
}

/** One parsed JSON log line (pino). */
export interface LogLine {
  readonly msg: string;
  readonly level: number | undefined;
  readonly raw: Readonly<Record<string, unknown>>;
}

/** A running daemon. */
export interface L2tpd {
  readonly proc: ManagedProcess;
  readonly socket: string;
  readonly configFile: string;
  /** Runs `l2tpctl --socket S ARGS...`; returns stdout (throws on a non-zero exit). */
  ctl(args: readonly string[]): Promise<string>;
  /** `show tunnels --json`, validated. */
  tunnels(): Promise<ShownTunnel[]>;
  /** Polls `show tunnels` until `pick` returns a value. */
  waitTunnels<T>(what: string, pick: (ts: ShownTunnel[]) => T | undefined, timeoutMs: number): Promise<T>;
  /** Parsed log lines so far (non-JSON lines are kept as `msg`). */
  log(): LogLine[];
  /** Waits for a log line whose msg matches. */
  waitLog(pattern: RegExp, timeoutMs: number): Promise<LogLine>;
  logTail(n?: number): string;
  stop(): Promise<void>;
}

const q = (s: string): string => JSON.stringify(s);

/** Renders the TOML configuration (docs/CONFIG.md). */
export function renderL2tpdConfig(o: L2tpdOptions, socket: string): string {
  const out: string[] = ['[daemon]', `control_socket = ${q(socket)}`, `log_level = ${q(o.debug === false ? 'info' : 'debug')}`, `state_dir = ${q(`${o.dir}/state`)}`, ''];
  // These peers speak plain L2TP to us (no PPP termination here): PPP and IPsec are on by default for an LNS.
  if ((o.listen ?? []).length > 0) out.push('[ppp]', 'enabled = false', '', '[ipsec]', 'enabled = false', '');
  out.push('[l2tp]', `host_name = ${q(o.hostName)}`);
  if (o.helloInterval !== undefined) out.push(`hello_interval = ${o.helloInterval}`);
  if (o.vendorName !== undefined) out.push(`vendor_name = ${q(o.vendorName)}`);
  if (o.retransmitInitial !== undefined) out.push(`retransmit_initial = ${o.retransmitInitial}`);
  if (o.retransmitCap !== undefined) out.push(`retransmit_cap = ${o.retransmitCap}`);
  out.push('');
  for (const l of o.listen ?? []) {
    out.push('[[listen]]', `address = ${q(l.address)}`, `port = ${l.port ?? 1701}`);
    if (l.secret !== undefined) out.push(`secret = ${q(l.secret)}`);
    if (l.hideAvps !== undefined) out.push(`hide_avps = ${String(l.hideAvps)}`);
    if (l.allowedHosts !== undefined) out.push(`allowed_hosts = [${l.allowedHosts.map(q).join(', ')}]`);
    out.push('');
  }
  for (const l of o.lacs ?? []) {
    out.push('[[lac]]', `name = ${q(l.name)}`, `lns = ${q(l.lns)}`, `port = ${l.port ?? 1701}`);
    if (l.localAddress !== undefined) out.push(`local_address = ${q(l.localAddress)}`);
    if (l.secret !== undefined) out.push(`secret = ${q(l.secret)}`);
    if (l.hideAvps !== undefined) out.push(`hide_avps = ${String(l.hideAvps)}`);
    out.push(`sessions = ${l.sessions ?? 1}`, `redial = ${String(l.redial ?? false)}`);
    if (l.ppp !== undefined) {
      out.push('ppp = true', `username = ${q(l.ppp.username)}`, `password = ${q(l.ppp.password)}`);
      if (l.ppp.tun !== undefined) out.push(`tun = ${q(l.ppp.tun)}`);
      if (l.ppp.tunNetns !== undefined) out.push(`tun_netns = ${q(l.ppp.tunNetns)}`);
    }
    out.push('');
  }
  if (o.extraToml !== undefined) out.push(o.extraToml);
  return out.join('\n');
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const int = (v: unknown, what: string): number => {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`l2tpctl JSON: ${what} is not an integer: ${JSON.stringify(v)}`);
  return v;
};
const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string') throw new Error(`l2tpctl JSON: ${what} is not a string: ${JSON.stringify(v)}`);
  return v;
};

/** Validates `l2tpctl show tunnels --json` output into {@link ShownTunnel}s (throws with the text). */
export function parseShownTunnels(text: string): ShownTunnel[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`l2tpctl did not print JSON:\n${tail(text, 20)}`);
  }
  if (!Array.isArray(v)) throw new Error(`l2tpctl JSON is not an array: ${tail(text, 20)}`);
  return v.map((t: unknown, i): ShownTunnel => {
    if (!isObj(t)) throw new Error(`l2tpctl JSON: tunnel ${i} is not an object`);
    const sessions = Array.isArray(t['sessions']) ? t['sessions'] : [];
    const peer = t['peer'];
    return {
      localTunnelId: int(t['localTunnelId'], 'localTunnelId'),
      remoteTunnelId: int(t['remoteTunnelId'], 'remoteTunnelId'),
      state: str(t['state'], 'state'),
      peerAddress: isObj(peer) && typeof peer['address'] === 'string' ? peer['address'] : typeof peer === 'string' ? peer : undefined,
      remoteHostName: typeof t['remoteHostName'] === 'string' ? t['remoteHostName'] : undefined,
      sessions: sessions.map((s: unknown, j): ShownSession => {
        if (!isObj(s)) throw new Error(`l2tpctl JSON: session ${j} of tunnel ${i} is not an object`);
        return {
          localSessionId: int(s['localSessionId'], 'localSessionId'),
          remoteSessionId: int(s['remoteSessionId'], 'remoteSessionId'),
          state: str(s['state'], 'session state'),
        };
      }),
    };
  });
}

/** Parses JSON log lines; other lines become `{ msg: line }`. */
export function parseLogLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v: unknown = JSON.parse(line);
      if (isObj(v)) {
        out.push({ msg: typeof v['msg'] === 'string' ? v['msg'] : '', level: typeof v['level'] === 'number' ? v['level'] : undefined, raw: v });
        continue;
      }
    } catch {
      // not JSON
    }
    out.push({ msg: line, level: undefined, raw: {} });
  }
  return out;
}

/** Paths of the daemon and the control tool in this checkout. */
export function daemonPaths(): { readonly root: string; readonly l2tpd: string; readonly l2tpctl: string } {
  const root = repoRoot();
  return { root, l2tpd: join(root, 'bin', 'l2tpd.js'), l2tpctl: join(root, 'bin', 'l2tpctl.js') };
}

/** Writes the config and starts `node bin/l2tpd.js --config F --socket S [--debug]` in the namespace. */
export async function startL2tpd(o: L2tpdOptions): Promise<L2tpd> {
  const { root, l2tpd, l2tpctl } = daemonPaths();
  if (!existsSync(l2tpd) || !existsSync(l2tpctl)) {
    throw new Error(`our daemon is missing: ${l2tpd} / ${l2tpctl} (run npm run build first)`);
  }
  mkdirSync(o.dir, { recursive: true });
  const socket = join(o.dir, 'l2tpd.sock');
  const configFile = join(o.dir, 'l2tpd.toml');
  writeFileSync(configFile, renderL2tpdConfig(o, socket));
  const args = [l2tpd, '--config', configFile, '--socket', socket, ...(o.debug === false ? [] : ['--debug'])];
  const proc = spawnIn(o.ns, process.execPath, args, {
    name: `l2tpd@${o.ns}`,
    lifetimeMs: o.lifetimeMs ?? 120_000,
    logFile: join(o.dir, 'l2tpd.log'),
    cwd: root,
  });
  const ctl = async (a: readonly string[]): Promise<string> =>
    (await run(process.execPath, [l2tpctl, '--socket', socket, ...a], { timeoutMs: 15_000 })).stdout;
  const tunnels = async (): Promise<ShownTunnel[]> => parseShownTunnels(await ctl(['show', 'tunnels', '--json']));
  const logTail = (n = 40): string => tail(proc.output(), n);
  await waitUntil(
    'l2tpd control socket',
    async () => {
      if (!proc.running()) throw new Error(`l2tpd exited at start:\n${logTail()}`);
      if (!existsSync(socket)) return undefined;
      try {
        await tunnels();
        return true;
      } catch {
        return undefined;
      }
    },
    15_000,
    () => `l2tpd output:\n${logTail()}`,
  );
  return {
    proc,
    socket,
    configFile,
    ctl,
    tunnels,
    waitTunnels: <T>(what: string, pick: (ts: ShownTunnel[]) => T | undefined, timeoutMs: number): Promise<T> => {
      let last: ShownTunnel[] = [];
      return waitUntil(
        `l2tpd: ${what}`,
        async () => pick((last = await tunnels())),
        timeoutMs,
        () => `last show tunnels: ${JSON.stringify(last)}\nl2tpd log:\n${logTail()}`,
        200,
      );
    },
    log: () => parseLogLines(proc.output()),
    waitLog: (pattern: RegExp, timeoutMs: number): Promise<LogLine> =>
      waitUntil(`l2tpd log ${String(pattern)}`, () => parseLogLines(proc.output()).find((l) => pattern.test(l.msg)), timeoutMs, () => logTail()),
    logTail,
    async stop(): Promise<void> {
      await proc.stop(5000);
    },
  };
}
