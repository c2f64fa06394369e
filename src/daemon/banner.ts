/**
 * The start-up lines: version and mode, one line per listener and LAC, the PPP summary and, for
 * a generated login, how to connect.
 */
import { type IpsecL2tp, formatHostPort, type UdpEndpoint } from '../io/index.js';
import { formatIpv4, formatIpv4Prefix, formatIpv6Prefix, type AccessSection, type IpsecSection, type ListenConfig } from './config.js';
import type { LacShell } from './lac-shell.js';
import type { LnsAccess } from './access-shell.js';
import type { Logger } from './logger.js';

/** What the banner describes. */
export interface BannerFacts {
  readonly version: string;
  readonly listeners: readonly { readonly config: ListenConfig; readonly endpoint: UdpEndpoint }[];
  readonly lacs: readonly LacShell[];
  readonly controlPath: string | undefined;
  readonly metricsPort: number | undefined;
  readonly access: { readonly shell: LnsAccess; readonly config: AccessSection } | undefined;
  readonly ipsec: { readonly io: IpsecL2tp; readonly config: IpsecSection } | undefined;
}

/** Log the start-up lines. */
export function logBanner(log: Logger, f: BannerFacts): void {
  const parts: string[] = [];
  for (const l of f.listeners) {
    const auth = l.config.secret !== undefined ? 'tunnel auth' : 'no tunnel auth';
    const hosts = l.config.allowedHosts.length > 0 ? `hosts ${l.config.allowedHosts.join(',')}` : 'any LAC';
    parts.push(`LNS on ${l.endpoint.label} (${hosts}, ${auth})`);
  }
  for (const l of f.lacs) {
    const c = l.config;
    parts.push(`LAC ${c.name} -> ${formatHostPort(c.lns, c.port)} via ${l.endpoint.label} (${c.sessions} session(s)${c.redial ? ', redial' : ''}${l.ipsec !== undefined ? ', L2TP/IPsec' : ''})`);
  }
  const lns = f.listeners.length > 0;
  const lac = f.lacs.length > 0;
  const mode = lns && lac ? 'LNS+LAC' : lac ? 'LAC' : lns ? 'LNS' : 'idle';
  log.info(
    { version: f.version, mode, control: f.controlPath, metrics: f.metricsPort },
    `l2tpd ${f.version} started, mode ${mode}${f.controlPath !== undefined ? `, control ${f.controlPath}` : ''}${f.metricsPort !== undefined ? `, metrics :${f.metricsPort}/metrics` : ''}`,
  );
  for (const p of parts) log.info(p);
  const a = f.access;
  if (a === undefined) return;
  const ac = a.config;
  const pool = formatIpv4Prefix(ac.ipv4Pool);
  const local = formatIpv4(ac.localAddress);
  const ipv6 = ac.ipv6Prefix !== undefined ? formatIpv6Prefix(ac.ipv6Prefix) : undefined;
  log.info(
    { tun: a.shell.tunName, pool, local, ipv6, auth: ac.auth },
    `PPP: TUN ${a.shell.tunName}, pool ${pool}, LNS address ${local}${ipv6 !== undefined ? `, IPv6 ${ipv6} (/64 per session)` : ''}, auth ${ac.auth.join(',') || 'none'}`,
  );
  const g = a.shell.generated;
  if (g !== undefined) connectHelp(log, f, g, ac.auth, pool, local);
}

/** The "how to connect" lines for a generated login (and, with IPsec, the PSK). */
function connectHelp(log: Logger, f: BannerFacts, g: { readonly username: string; readonly password: string }, auth: readonly string[], pool: string, local: string): void {
  const port = f.listeners[0]?.endpoint.local.port ?? 1701;
  const ips = f.ipsec?.config;
  const io = f.ipsec?.io;
  const psk = ips?.psk;
  const login = `login "${g.username}" / password "${g.password}"`;
  const after =
    `The client gets an address from ${pool} and reaches this host at ${local}; to reach beyond it enable forwarding ` +
    `(sysctl net.ipv4.ip_forward=1) and NAT the pool. Set [users] file = "..." for real accounts.`;
  if (io !== undefined && ips !== undefined && psk !== undefined) {
    const generated = ips.pskGenerated === true ? 'generated ' : '';
    log.warn(
      { username: g.username, password: g.password, ...(ips.pskGenerated === true ? { psk } : {}) },
      `No users file: generated ${login}${ips.pskGenerated === true ? `, ${generated}IPsec pre-shared key "${psk}"` : ''}.`,
    );
    log.warn(
      `To connect: add a VPN of type "L2TP/IPsec PSK" (Android up to 11; Android 12+ dropped it), "L2TP" (iOS), ` +
        `"L2TP over IPsec" (macOS) or "L2TP/IPsec with pre-shared key" (Windows) with this host's address ` +
        `(${io.local.address === '0.0.0.0' ? 'as clients reach it' : io.local.address}), the pre-shared key and that login (${auth.join('/') || 'no auth'}). ` +
        `Open UDP ${io.local.ikePort} and ${io.local.nattPort}${io.rawEsp ? ' (and IP protocol 50 for clients not behind a NAT)' : ''} to this host. ` +
        `Windows needs the registry value AssumeUDPEncapsulationContextOnSendRule = 2 (DWORD under ` +
        `HKLM\\SYSTEM\\CurrentControlSet\\Services\\PolicyAgent, then reboot) only when this server is behind a NAT. ` +
        `${ips.requireIpsec ? `L2TP outside IPsec is refused ([ipsec] require_ipsec = false allows it on UDP ${port}). ` : ''}${after}`,
    );
    return;
  }
  log.warn(
    { username: g.username, password: g.password },
    `No users file: generated ${login}. To connect, point any L2TP client ` +
      `(xl2tpd + pppd, NetworkManager-l2tp with IPsec off, RouterOS, Yamaha RTX "l2tp" without IPsec) at UDP ` +
      `port ${port} of this host with that login (auth ${auth.join('/')}). ${after} ` +
      `WARNING: IPsec is off ([ipsec] psk = "..." turns it on): L2TP and PPP travel unencrypted, and ` +
      `Windows/macOS/iOS/Android built-in clients insist on L2TP/IPsec and will not connect.`,
  );
}
