/**
 * l2tpctl: talks to a running l2tpd over its control socket.
 * Exit codes: 0 ok, 1 error (bad usage, no such tunnel...), 2 cannot connect to the daemon.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_CONTROL_SOCKET, showSocketFor } from './config.js';
import { READ_ONLY_COMMANDS, type ControlRequest, type CredentialsView, type IpsecView, type RadiusView, type SessionView, type StatusView, type TunnelView } from './control-protocol.js';
import { formatRadius } from './radius-format.js';
import { controlRequest } from './control-socket.js';
import { formatCredentials, formatIpsec, formatSessions, formatStatus, formatTunnels } from './control-format.js';
import { VERSION } from './version.js';
import { commandWord, PROFILE_COMMANDS, PROFILE_USAGE } from './l2tpctl-profile.js';
import { OPS_USAGE, opsClear, opsShow } from './l2tpctl-ops.js';
import { formatDestinations, formatSummary } from './ops-format.js';
import type { DestinationView, SummaryView } from './control-protocol.js';

/** Usage text. */
export const L2TPCTL_USAGE = `usage: l2tpctl [--socket PATH] COMMAND
  show tunnels [FILTER] [--json]   tunnels with peer, state, sessions, payload counters
  show sessions [FILTER] [--json]  sessions of every tunnel with counters
  show status [--json]         daemon, listeners, LACs and every tunnel in detail
  show ipsec [--json]          IKE SAs and ESP SAs (SPIs, algorithms, encapsulation, counters, lifetimes)
  show radius [--json]         RADIUS servers (requests, accepts, rejects, timeouts, RTT, state), accounting spool, DAE clients
  clear tunnel ID              send StopCCN and drop the tunnel
  clear session TUNNEL/SESSION send CDN for one session (or: clear session ID when unique)
${OPS_USAGE}
  dial NAME                    dial the [[lac]] NAME now (after a hangup, or instead of waiting for a redial)
  hangup NAME                  StopCCN on the [[lac]] NAME's tunnel; no redial until the next dial
  credentials [show]           the generated PSK and login, and where they are kept
  credentials rotate [psk|password]  replace the generated PSK and/or password (default both)
  user add NAME [--password P | --password-stdin]  add a login to the users file (password generated
                               when not given) and reload the users
${PROFILE_USAGE}
options:
  --socket PATH   control socket (default ${DEFAULT_CONTROL_SOCKET}; show commands fall back to
                  ${showSocketFor(DEFAULT_CONTROL_SOCKET)} when the control socket is not ours to use)
  --json          machine-readable output
  -V, --version   print the version
  -h, --help      this text
exit codes: 0 ok, 1 error, 2 cannot connect to l2tpd`;

/** What the CLI writes (injected for tests). */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const stdio: CliIo = {
  out: (t) => {
    process.stdout.write(`${t}\n`);
  },
  err: (t) => {
    process.stderr.write(`${t}\n`);
  },
};

const parseId = (s: string | undefined): number | undefined => {
  // 32 bits: L2TPv3 Control Connection and Session IDs (RFC 3931 §3.2.1, §4.1); v2 ids are 16-bit.
  if (s === undefined || !/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffffffff ? n : undefined;
};

/** Options some commands take (`user add --password`). */
export interface CommandOptions {
  readonly password?: string;
}

/** `credentials ...` and `user add ...`. */
function credentialCommand(words: readonly string[], o: CommandOptions): ControlRequest | string {
  const [verb, what, arg, extra] = words;
  if (verb === 'credentials') {
    if (arg !== undefined && what !== 'rotate') return `unexpected argument "${arg}"`;
    if (extra !== undefined) return `unexpected argument "${extra}"`;
    if (what === undefined || what === 'show') return { cmd: 'credentials' };
    if (what !== 'rotate') return 'credentials what? (show, rotate [psk|password])';
    if (arg === undefined) return { cmd: 'rotate-credentials', what: 'all' };
    return arg === 'psk' || arg === 'password' ? { cmd: 'rotate-credentials', what: arg } : 'credentials rotate takes psk or password (default: both)';
  }
  if (what !== 'add') return 'user what? (add NAME)';
  if (extra !== undefined) return `unexpected argument "${extra}"`;
  if (arg === undefined || arg === '') return 'user add needs a user name';
  return { cmd: 'user-add', username: arg, ...(o.password !== undefined ? { password: o.password } : {}) };
}

/** Turn positionals into a request, or a usage error message. */
export function commandToRequest(words: readonly string[], o: CommandOptions = {}): ControlRequest | string {
  if (words[0] === 'credentials' || words[0] === 'user') return credentialCommand(words, o);
  const ops = words[0] === 'show' ? opsShow(words[1], words.slice(2)) : words[0] === 'clear' ? opsClear(words[1], words.slice(2)) : undefined;
  if (ops !== undefined) return ops;
  const [verb, what, arg, extra] = words;
  if (extra !== undefined) return `unexpected argument "${extra}"`;
  if (verb === 'show') {
    if (arg !== undefined) return `unexpected argument "${arg}"`;
    if (what === 'status') return { cmd: 'status' };
    if (what === 'ipsec') return { cmd: 'show-ipsec' };
    if (what === 'radius') return { cmd: 'show-radius' };
    return 'show what? (tunnels, sessions, destinations, summary, status, ipsec, radius)';
  }
  if (verb === 'clear') {
    if (what === 'tunnel') {
      const id = parseId(arg);
      return id === undefined ? 'clear tunnel needs a tunnel id (0..65535, L2TPv3: 0..4294967295)' : { cmd: 'clear-tunnel', tunnel: id };
    }
    if (what === 'session') {
      const m = /^(\d+)\/(\d+)$/.exec(arg ?? '');
      if (m !== null) {
        const tunnel = parseId(m[1]);
        const session = parseId(m[2]);
        if (tunnel !== undefined && session !== undefined) return { cmd: 'clear-session', tunnel, session };
      }
      const session = parseId(arg);
      return session === undefined ? 'clear session needs TUNNEL/SESSION or a session id' : { cmd: 'clear-session', session };
    }
    return 'clear what? (tunnel ID, session TUNNEL/SESSION, destination PEER, statistics)';
  }
  if (verb === 'dial' || verb === 'hangup') {
    if (arg !== undefined) return `unexpected argument "${arg}"`;
    return what === undefined || what === '' ? `${verb} needs a [[lac]] name` : { cmd: verb, lac: what };
  }
  return verb === undefined ? 'missing command' : `unknown command "${verb}"`;
}

/** Run l2tpctl with `argv` (without node and script); resolves to the exit code. */
export async function runL2tpctl(argv: readonly string[], io: CliIo = stdio): Promise<number> {
  const word = commandWord(argv) ?? '';
  const extra = Object.hasOwn(PROFILE_COMMANDS, word) ? PROFILE_COMMANDS[word] : undefined;
  if (extra !== undefined && !argv.includes('--help') && !argv.includes('-h')) return extra(argv, io);
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        socket: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'V', default: false },
        password: { type: 'string' },
        'password-stdin': { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    io.err(`l2tpctl: ${e instanceof Error ? e.message : String(e)}\n${L2TPCTL_USAGE}`);
    return 1;
  }
  if (parsed.values.help === true) {
    io.out(L2TPCTL_USAGE);
    return 0;
  }
  if (parsed.values.version === true) {
    io.out(`l2tpctl ${VERSION}`);
    return 0;
  }
  const password = parsed.values['password-stdin'] === true ? await readPasswordLine(io) : parsed.values.password;
  const req = commandToRequest(parsed.positionals, password !== undefined ? { password } : {});
  if (typeof req === 'string') {
    io.err(`l2tpctl: ${req}\n${L2TPCTL_USAGE}`);
    return 1;
  }
  const path = parsed.values.socket ?? DEFAULT_CONTROL_SOCKET;
  let r = await controlRequest(path, req);
  // Not root nor in control_group: show commands go to the read-only socket of show_group beside it.
  if (!r.ok && r.error.code === 'EACCES' && READ_ONLY_COMMANDS.has(req.cmd)) {
    const ro = await controlRequest(showSocketFor(path), req);
    if (ro.ok || ro.error.code !== 'ENOENT') r = ro;
  }
  if (!r.ok) {
    const why = r.error.code === 'EACCES' ? ' (not allowed: root or [daemon] control_group; show commands also [daemon] show_group)' : r.error.kind === 'connect' ? ' (is l2tpd running? see --socket)' : '';
    io.err(`l2tpctl: ${r.error.message}${why}`);
    return r.error.kind === 'connect' ? 2 : 1;
  }
  const res = r.value;
  if (!res.ok) {
    io.err(`l2tpctl: ${res.error}`);
    return 1;
  }
  if (parsed.values.json === true) {
    io.out(JSON.stringify(res.result, null, 2));
    return 0;
  }
  printResult(req, res.result, io);
  return 0;
}

/** The text output of one answered request. */
function printResult(req: ControlRequest, result: unknown, io: CliIo): void {
  const res = { result };
  switch (req.cmd) {
    case 'show-tunnels':
      io.out(formatTunnels(res.result as TunnelView[]));
      break;
    case 'show-sessions':
      io.out(formatSessions(res.result as SessionView[]));
      break;
    case 'status':
      io.out(formatStatus(res.result as StatusView));
      break;
    case 'show-ipsec':
      io.out(formatIpsec(res.result as IpsecView));
      break;
    case 'show-radius':
      io.out(formatRadius(res.result as RadiusView));
      break;
    case 'show-destinations':
      io.out(formatDestinations(res.result as DestinationView[]));
      break;
    case 'show-summary':
      io.out(formatSummary(res.result as SummaryView));
      break;
    case 'clear-tunnel':
    case 'clear-session':
    case 'clear-destination':
    case 'clear-statistics':
      io.out(`cleared ${(res.result as { cleared?: string }).cleared ?? ''}`.trimEnd());
      break;
    case 'dial':
    case 'hangup': {
      const r = res.result as { lac?: string; was?: string; state?: string };
      io.out(`${req.cmd === 'dial' ? 'dialing' : 'hung up'} LAC ${r.lac ?? req.lac} (was ${r.was ?? '?'}, now ${r.state ?? '?'})`);
      break;
    }
    case 'ping':
      io.out(String(res.result));
      break;
    case 'credentials':
    case 'rotate-credentials':
      io.out(formatCredentials(res.result as CredentialsView));
      break;
    case 'user-add': {
      const u = res.result as { username: string; password: string; usersFile: string };
      io.out(`added ${u.username} to ${u.usersFile}; password: ${u.password}`);
      break;
    }
  }
}

/** One line from stdin (`--password-stdin`), without its newline. */
async function readPasswordLine(io: CliIo): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const line = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  if (line === '') io.err('l2tpctl: --password-stdin: no password on stdin');
  return line === '' ? undefined : line;
}
