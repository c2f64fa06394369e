/**
 * `l2tpctl client-profile` and `l2tpctl status-page`: the thin shells around the pure profile
 * generators (client-profile/) and the status page's control answer. Secrets come from the daemon
 * over the control socket (`client-credentials`, `status-page`) unless given on the command line;
 * a profile goes to stdout or, with `--out FILE`, to a new file with mode 0600.
 */
import { parseArgs } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { DEFAULT_CONTROL_SOCKET, type PppAuthName } from './config.js';
import type { ClientCredentialsView, ControlRequest, StatusPageInfo } from './control-protocol.js';
import { controlRequest } from './control-socket.js';
import { clientProfile, PROFILE_FORMATS, type ClientProfileInput, type WindowsNatRule } from './client-profile/index.js';

/** What the CLI writes (same shape as l2tpctl-cli.ts CliIo). */
interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** Usage lines of the commands in this file (appended to l2tpctl's usage). */
export const PROFILE_USAGE = `  client-profile --format mobileconfig|powershell|nmconnection --server HOST [--user NAME]
                 [--out FILE] [--name NAME] [--split-tunnel] [--windows-nat 0|1|2]
                 [--psk KEY --password PASS --auth mschapv2,chap,pap --mru N]  (without the daemon)
                               a client configuration for one user (docs/clients/); secrets from the daemon
  status-page                  the status page's URL with its token`;

const AUTHS: readonly PppAuthName[] = ['mschapv2', 'chap', 'pap'];

/** The first word that is not an option (`--socket PATH` skipped), i.e. the command. */
export function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--socket') i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/** The commands this file runs, by their word. */
export const PROFILE_COMMANDS: Readonly<Record<string, (argv: readonly string[], io: Io) => Promise<number>>> = {
  'client-profile': runClientProfile,
  'status-page': runStatusPage,
};

async function ask<T>(socket: string, req: ControlRequest, io: Io): Promise<T | number> {
  const r = await controlRequest(socket, req);
  if (!r.ok) {
    io.err(`l2tpctl: ${r.error.message}${r.error.kind === 'connect' ? ' (is l2tpd running? see --socket; or give --psk and --password)' : ''}`);
    return r.error.kind === 'connect' ? 2 : 1;
  }
  if (!r.value.ok) {
    io.err(`l2tpctl: ${r.value.error}`);
    return 1;
  }
  return r.value.result as T;
}

function parseAuth(s: string): PppAuthName[] | string {
  const out: PppAuthName[] = [];
  for (const a of s.split(',').map((x) => x.trim())) {
    const m = AUTHS.find((x) => x === a);
    if (m === undefined) return `--auth: unknown method "${a}" (mschapv2, chap, pap)`;
    out.push(m);
  }
  return out;
}

/** `l2tpctl client-profile ...`. */
export async function runClientProfile(argv: readonly string[], io: Io): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        socket: { type: 'string' }, format: { type: 'string' }, server: { type: 'string' }, user: { type: 'string' }, out: { type: 'string' },
        name: { type: 'string' }, 'split-tunnel': { type: 'boolean', default: false }, 'windows-nat': { type: 'string' },
        psk: { type: 'string' }, password: { type: 'string' }, auth: { type: 'string' }, mru: { type: 'string' },
      },
    }).values;
  } catch (e) {
    io.err(`l2tpctl client-profile: ${e instanceof Error ? e.message : String(e)}\n${PROFILE_USAGE}`);
    return 1;
  }
  const usage = (m: string): number => {
    io.err(`l2tpctl client-profile: ${m}\n${PROFILE_USAGE}`);
    return 1;
  };
  const format = PROFILE_FORMATS.find((f) => f === v.format);
  if (format === undefined) return usage(`--format must be one of ${PROFILE_FORMATS.join(', ')}`);
  const nat = v['windows-nat'];
  if (nat !== undefined && !['0', '1', '2'].includes(nat)) return usage('--windows-nat must be 0, 1 or 2');
  let creds: ClientCredentialsView;
  if (v.psk !== undefined) {
    // Everything from the command line: no daemon needed.
    if (v.user === undefined) return usage('--psk without the daemon needs --user');
    const auth = parseAuth(v.auth ?? 'mschapv2');
    if (typeof auth === 'string') return usage(auth);
    const mru = Number(v.mru ?? '1400');
    if (!Number.isInteger(mru) || mru < 576 || mru > 16384) return usage('--mru must be 576..16384');
    creds = { psk: v.psk, username: v.user, ...(v.password !== undefined ? { password: v.password } : {}), auth, mru };
  } else {
    const got = await ask<ClientCredentialsView>(v.socket ?? DEFAULT_CONTROL_SOCKET, { cmd: 'client-credentials', ...(v.user !== undefined ? { user: v.user } : {}) }, io);
    if (typeof got === 'number') return got;
    creds = { ...got, ...(v.password !== undefined ? { password: v.password } : {}) };
  }
  const server = v.server ?? creds.serverAddress;
  if (server === undefined) return usage('--server HOST is needed: the name or address clients reach this server at');
  if (creds.psk === undefined) return usage('IPsec is off on this daemon: the built-in clients of Windows, macOS, iOS and Android need L2TP/IPsec');
  const input: ClientProfileInput = {
    name: v.name ?? `l2tpkit ${server}`,
    server,
    psk: creds.psk,
    username: creds.username,
    ...(creds.password !== undefined ? { password: creds.password } : {}),
    auth: creds.auth.filter((a): a is PppAuthName => AUTHS.some((x) => x === a)),
    mru: creds.mru,
    fullTunnel: v['split-tunnel'] !== true,
  };
  const r = clientProfile(format, input, nat !== undefined ? { natRule: Number(nat) as WindowsNatRule } : {});
  if (!r.ok) {
    io.err(`l2tpctl client-profile: ${r.error}`);
    return 1;
  }
  if (v.out === undefined) {
    io.out(r.value.text.replace(/\r?\n$/, ''));
    return 0;
  }
  try {
    // 'wx': never overwrite, and the file is created 0600 (it holds the PSK and the password).
    await writeFile(v.out, r.value.text, { mode: r.value.mode, flag: 'wx' });
  } catch (e) {
    io.err(`l2tpctl client-profile: cannot write ${v.out}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    return 1;
  }
  io.err(`wrote ${v.out} (${format}, mode ${r.value.mode.toString(8)}): it holds the pre-shared key${input.password !== undefined ? ' and the password' : ''}`);
  return 0;
}

/** `l2tpctl status-page`: the URL (with the token) to open the page once. */
export async function runStatusPage(argv: readonly string[], io: Io): Promise<number> {
  let socket: string | undefined;
  try {
    socket = parseArgs({ args: [...argv], allowPositionals: true, options: { socket: { type: 'string' } } }).values.socket;
  } catch (e) {
    io.err(`l2tpctl status-page: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  const got = await ask<StatusPageInfo>(socket ?? DEFAULT_CONTROL_SOCKET, { cmd: 'status-page' }, io);
  if (typeof got === 'number') return got;
  io.out(`${got.url}/?token=${encodeURIComponent(got.token)}`);
  return 0;
}
