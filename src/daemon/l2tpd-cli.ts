/**
 * l2tpd command line: `l2tpd [--config FILE] [--socket PATH] [--debug] [--log-format pretty|json]
 * [--check-config] [--help]`. Starts the daemon and turns SIGTERM/SIGINT into a graceful shutdown.
 */
import { parseArgs } from 'node:util';
import { defaultConfig, formatConfigError, formatIpv4, formatIpv4Prefix, formatIpv6Prefix, loadConfigFile, type DaemonConfig } from './config.js';
import { Daemon, VERSION, type EngineFactory } from './daemon.js';
import { createLogger, type LogFormat } from './logger.js';
import { formatHostPort } from '../io/udp-endpoint.js';

/** Usage text. */
export const L2TPD_USAGE = `usage: l2tpd [options]
  --config FILE          TOML configuration (docs/CONFIG.md); none = remote-access LNS on 0.0.0.0:1701
                         (pool 100.64.0.0/24, TUN l2tp0, a generated user printed at start)
  --socket PATH          control socket for l2tpctl (overrides daemon.control_socket)
  --debug                AVP-level log of every control message (like log_level = "debug")
  --log-format FORMAT    json (default) or pretty
  --check-config         validate the configuration and exit (0 ok, 1 errors)
  -h, --help             this text`;

/** Command-line options after parsing. */
export interface L2tpdArgs {
  readonly config?: string;
  readonly socket?: string;
  readonly debug: boolean;
  readonly logFormat: LogFormat;
  readonly checkConfig: boolean;
  readonly help: boolean;
}

/** Parse l2tpd's argv (without node and script). */
export function parseL2tpdArgs(argv: readonly string[]): L2tpdArgs | string {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string', short: 'c' },
        socket: { type: 'string' },
        debug: { type: 'boolean', default: false },
        'log-format': { type: 'string', default: 'json' },
        'check-config': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    const fmt = values['log-format'];
    if (fmt !== 'json' && fmt !== 'pretty') return `--log-format must be json or pretty, not "${String(fmt)}"`;
    return {
      ...(values.config !== undefined ? { config: values.config } : {}),
      ...(values.socket !== undefined ? { socket: values.socket } : {}),
      debug: values.debug === true,
      logFormat: fmt,
      checkConfig: values['check-config'] === true,
      help: values.help === true,
    };
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** One-paragraph summary of a config (for --check-config). */
export function describeConfig(c: DaemonConfig): string {
  const lines = [`control socket ${c.daemon.controlSocket}, log level ${c.daemon.logLevel}`];
  for (const l of c.listen) {
    lines.push(`LNS on ${formatHostPort(l.address, l.port)} (${l.secret !== undefined ? 'tunnel auth' : 'no tunnel auth'}, ${l.allowedHosts.length > 0 ? l.allowedHosts.join(',') : 'any host'})`);
  }
  for (const l of c.lac) lines.push(`LAC ${l.name} -> ${formatHostPort(l.lns, l.port)}, ${l.sessions} session(s)${l.redial ? ', redial' : ''}${l.ppp !== undefined ? `, PPP client ${l.ppp.username} on TUN ${l.ppp.tun}` : ''}${l.ipsec !== undefined ? `, L2TP/IPsec (IKE ${l.ipsec.lnsIkePort}${l.ipsec.forceEncapsulation ? ', forced UDP encapsulation' : ''})` : ''}`);
  const ips = c.ipsec;
  if (ips !== undefined) {
    lines.push(
      `L2TP/IPsec on the first IPv4 listener: IKE ${ips.ikePort}, NAT-T ${ips.nattPort}, raw ESP ${ips.rawEsp ? 'on' : 'off'}, ` +
        `${ips.requireIpsec ? 'L2TP only inside IPsec' : 'L2TP also in the clear'}, ${ips.peers.length} peer PSK(s)${ips.psk !== undefined ? ' + default PSK' : ''}, ` +
        `proposals ${ips.ikeProposals !== undefined || ips.espProposals !== undefined ? 'configured' : 'default'}`,
    );
  }
  const a = c.access;
  if (a !== undefined) {
    const v6 = a.ipv6Prefix !== undefined ? `, IPv6 ${formatIpv6Prefix(a.ipv6Prefix)}` : '';
    lines.push(`PPP on the first listener: TUN ${a.tunName} (mtu ${a.mtu}), pool ${formatIpv4Prefix(a.ipv4Pool)}, LNS ${formatIpv4(a.localAddress)}${v6}, auth ${a.auth.join(',') || 'none'}, users ${a.usersFile ?? '(generated)'}`);
  }
  return lines.join('\n');
}

/** Run l2tpd until a signal stops it; resolves to the process exit code. */
export async function runL2tpd(argv: readonly string[], createEngine: EngineFactory): Promise<number> {
  const args = parseL2tpdArgs(argv);
  if (typeof args === 'string') {
    process.stderr.write(`l2tpd: ${args}\n${L2TPD_USAGE}\n`);
    return 1;
  }
  if (args.help) {
    process.stdout.write(`l2tpd ${VERSION}\n${L2TPD_USAGE}\n`);
    return 0;
  }
  let config: DaemonConfig;
  if (args.config === undefined) {
    config = defaultConfig();
  } else {
    const r = await loadConfigFile(args.config);
    if (!r.ok) {
      for (const e of r.error) process.stderr.write(`${args.config}: ${formatConfigError(e)}\n`);
      return 1;
    }
    config = r.value;
  }
  if (args.checkConfig) {
    process.stdout.write(`${args.config ?? '(no config file)'}: OK\n${describeConfig(config)}\n`);
    return 0;
  }
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
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({ config, log, createEngine, ...(args.socket !== undefined ? { controlSocket: args.socket } : {}) });
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
