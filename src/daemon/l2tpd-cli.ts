/**
 * l2tpd command line: `l2tpd [--config FILE] [--socket PATH] [--state-dir DIR] [--debug]
 * [--log-format pretty|json] [--check-config] [--print-config] [--version] [--help]`. Loads the
 * config and what it refers to (src/daemon/setup), starts the daemon and turns SIGTERM/SIGINT
 * into a graceful shutdown.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { configWarnings, lineOf, locateKeys, defaultConfig, formatConfigError, formatIpv4, loadConfigFile, printConfig, type ConfigError, type DaemonConfig } from './config.js';
import { Daemon, VERSION, type EngineFactory } from './daemon.js';
import { createLogger, type LogFormat } from './logger.js';
import { formatHostPort } from '../io/index.js';
import { prepare, type Prepared } from './setup/index.js';
import { formatIpv4Prefix, formatIpv6Prefix } from '../base/index.js';

/** Usage text. */
export const L2TPD_USAGE = `usage: l2tpd [options]
  --config FILE          TOML configuration (docs/CONFIG.md); none = the same secure defaults as an empty file:
                         L2TP/IPsec remote-access LNS on 0.0.0.0 (pool 100.64.0.0/24, TUN l2tp0), PSK and
                         login generated once and kept in the state directory
  --socket PATH          control socket for l2tpctl (overrides daemon.control_socket)
  --state-dir DIR        where generated credentials live (overrides daemon.state_dir, default /var/lib/l2tpd)
  --debug                AVP-level log of every control message (like log_level = "debug")
  --log-format FORMAT    pretty (default on a terminal: a person reads it, the credentials are shown once)
                         or json (default otherwise: no secrets, "l2tpctl credentials show" prints them)
  --check-config         load everything the start loads (users file, state file, DNS) and exit (0 ok, 1 errors)
  --print-config         print the effective configuration (secrets masked) and exit
  -V, --version          print the version
  -h, --help             this text`;

/** Command-line options after parsing. */
export interface L2tpdArgs {
  readonly config?: string;
  readonly socket?: string;
  readonly stateDir?: string;
  readonly debug: boolean;
  readonly logFormat: LogFormat;
  readonly checkConfig: boolean;
  readonly printConfig: boolean;
  readonly version: boolean;
  readonly help: boolean;
}

/** Parse l2tpd's argv (without node and script); `tty` = stdout is a terminal (picks the default log format). */
export function parseL2tpdArgs(argv: readonly string[], env: { readonly tty: boolean } = { tty: false }): L2tpdArgs | string {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string', short: 'c' },
        socket: { type: 'string' },
        'state-dir': { type: 'string' },
        debug: { type: 'boolean', default: false },
        'log-format': { type: 'string' },
        'check-config': { type: 'boolean', default: false },
        'print-config': { type: 'boolean', default: false },
        version: { type: 'boolean', short: 'V', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    const fmt = values['log-format'] ?? (env.tty ? 'pretty' : 'json');
    if (fmt !== 'json' && fmt !== 'pretty') return `--log-format must be json or pretty, not "${fmt}"`;
    return {
      ...(values.config !== undefined ? { config: values.config } : {}),
      ...(values.socket !== undefined ? { socket: values.socket } : {}),
      ...(values['state-dir'] !== undefined ? { stateDir: values['state-dir'] } : {}),
      debug: values.debug === true,
      logFormat: fmt,
      checkConfig: values['check-config'] === true,
      printConfig: values['print-config'] === true,
      version: values.version === true,
      help: values.help === true,
    };
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** One-paragraph summary of a config (for --check-config). */
export function describeConfig(c: DaemonConfig): string {
  const d = c.daemon;
  const lines = [`control socket ${d.controlSocket}${d.controlGroup !== undefined ? ` (group ${d.controlGroup})` : ''}${d.showGroup !== undefined ? `, read-only socket for group ${d.showGroup}` : ''}, log level ${d.logLevel}, state ${d.stateDir}`];
  for (const l of c.listen) {
    lines.push(`LNS on ${formatHostPort(l.address, l.port)} (${l.secret !== undefined ? 'tunnel auth' : 'no tunnel auth'}, ${l.allowedHosts.length > 0 ? l.allowedHosts.join(',') : 'any host'})`);
  }
  for (const l of c.lac) lines.push(`LAC ${l.name} -> ${formatHostPort(l.lns, l.port)}, ${l.sessions} session(s)${l.redial ? ', redial' : ''}${l.ppp !== undefined ? `, PPP client ${l.ppp.username} on TUN ${l.ppp.tun}` : ''}${l.ipsec !== undefined ? `, L2TP/IPsec (IKE ${l.ipsec.lnsIkePort}${l.ipsec.forceEncapsulation ? ', forced UDP encapsulation' : ''})` : ''}`);
  const ips = c.ipsec;
  if (ips !== undefined) {
    lines.push(
      `L2TP/IPsec on the first IPv4 listener: IKE ${ips.ikePort}, NAT-T ${ips.nattPort}, raw ESP ${ips.rawEsp ? 'on' : 'off'}, ` +
        `${ips.requireIpsec ? 'L2TP only inside IPsec' : 'L2TP also in the clear'}, ${ips.peers.length} peer PSK(s)` +
        `${ips.pskGenerated === true ? ' + generated PSK' : ips.psk !== undefined ? ' + default PSK' : ''}, ` +
        `proposals ${ips.ikeProposals !== undefined || ips.espProposals !== undefined ? 'configured' : 'default'}`,
    );
  } else if (c.listen.length > 0) lines.push('IPsec off: L2TP in the clear');
  const a = c.access;
  if (a !== undefined) {
    const v6 = a.ipv6Prefix !== undefined ? `, IPv6 ${formatIpv6Prefix(a.ipv6Prefix)}` : '';
    lines.push(
      `PPP on the first listener: TUN ${a.tunName} (mtu ${a.mtu}), pool ${a.local ? formatIpv4Prefix(a.ipv4Pool) : 'none (RADIUS)'}, LNS ${formatIpv4(a.localAddress)}${v6}, ` +
        `auth ${a.auth.join(',') || 'none'}, DNS ${a.dns === undefined ? "the host's" : a.dns.join(',') || 'none'}, users ${a.usersFile ?? '(a generated login, in memory)'}`,
    );
  } else if (c.listen.length > 0) lines.push('PPP off: sessions carry plain L2TP');
  return lines.join('\n');
}

/** `--check-config` / `--print-config`: the config loaded like a start would, nothing written. */
async function checkOrPrint(args: L2tpdArgs, config: DaemonConfig): Promise<number> {
  const what = args.config ?? '(no config file)';
  const r = await prepare(config, { mode: 'check' });
  if (!r.ok) return reportErrors(args.config ?? what, r.error);
  const p = r.value;
  if (args.printConfig) {
    process.stdout.write(`# effective configuration of ${what}, secrets masked (l2tpd ${VERSION})\n${p.notes.map((n) => `# ${n.message}\n`).join('')}${printConfig(p.config)}`);
    return 0;
  }
  const out = [`${what}: OK`, describeConfig(p.config), ...p.notes.map((n) => `${n.level === 'warn' ? 'warning' : 'note'}: ${n.message}`)];
  for (const w of configWarnings(p.config)) out.push(`warning: ${w.key}: ${w.message}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

function reportErrors(what: string, errors: readonly ConfigError[]): number {
  for (const e of withLines(errors, what)) process.stderr.write(`${what}: ${formatConfigError(e)}\n`);
  return 1;
}

/** Errors of the setup (users file, state) get the line of their key in the config file, like parse errors. */
function withLines(errors: readonly ConfigError[], file: string | undefined): readonly ConfigError[] {
  if (file === undefined || errors.every((e) => e.line !== undefined)) return errors;
  let lines: Map<string, number>;
  try {
    lines = locateKeys(readFileSync(file, 'utf8'));
  } catch {
    return errors;
  }
  return errors.map((e) => {
    const line = e.line ?? lineOf(lines, e.key);
    return line === undefined ? e : { ...e, line };
  });
}

/** Run l2tpd until a signal stops it; resolves to the process exit code. */
export async function runL2tpd(argv: readonly string[], createEngine: EngineFactory): Promise<number> {
  const args = parseL2tpdArgs(argv, { tty: process.stdout.isTTY === true });
  if (typeof args === 'string') {
    process.stderr.write(`l2tpd: ${args}\n${L2TPD_USAGE}\n`);
    return 1;
  }
  if (args.help || args.version) {
    process.stdout.write(args.help ? `l2tpd ${VERSION}\n${L2TPD_USAGE}\n` : `l2tpd ${VERSION}\n`);
    return 0;
  }
  let config: DaemonConfig;
  if (args.config === undefined) {
    config = defaultConfig();
  } else {
    const r = await loadConfigFile(args.config);
    if (!r.ok) return reportErrors(args.config, r.error);
    config = r.value;
  }
  if (args.stateDir !== undefined) config = { ...config, daemon: { ...config.daemon, stateDir: args.stateDir } };
  if (args.checkConfig || args.printConfig) return checkOrPrint(args, config);
  const log = createLogger({ level: args.debug ? 'debug' : config.daemon.logLevel, format: args.logFormat });
  // Handlers first: without a listener a SIGTERM during startup would kill the process outright.
  let signalled: NodeJS.Signals | undefined;
  let wake: (() => void) | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled !== undefined) {
      log.warn(`${sig} again: exiting now`);
      process.exit(1);
    }
    signalled = sig;
    wake?.();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const p = await prepare(config, { mode: 'start' });
  if (!p.ok) {
    for (const e of withLines(p.error, args.config)) log.error({ key: e.key }, `l2tpd failed to start: ${formatConfigError(e)}`);
    return 1;
  }
  const prepared: Prepared = p.value;
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({
      config: prepared.config, prepared, log, createEngine,
      ...(args.socket !== undefined ? { controlSocket: args.socket } : {}),
      // A person at a terminal gets the "how to connect" block with the credentials, once; the JSON log never does.
      ...(args.logFormat === 'pretty' ? { console: { write: (t: string) => process.stdout.write(t) } } : {}),
    });
  } catch (e) {
    log.error({ err: e instanceof Error ? e.message : String(e) }, `l2tpd failed to start: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  // SIGHUP re-reads the users file; a broken file keeps the old users and logs every bad line.
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading users');
    void daemon.reloadUsers();
  });
  if (signalled === undefined) {
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
  }
  log.info(`${signalled ?? 'signal'}: shutting down`);
  try {
    await daemon.shutdown(2000);
  } catch (e) {
    log.error({ err: String(e) }, 'shutdown failed');
    return 1;
  }
  return 0;
}
