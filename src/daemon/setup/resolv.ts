/**
 * DNS for PPP clients by default (IPCP, RFC 1877): the host's own IPv4 resolvers from
 * /etc/resolv.conf. A loopback resolver (systemd-resolved's 127.0.0.53, a local dnsmasq or
 * unbound on 127.0.0.1) only answers on this host, so a client cannot use it: then the upstream
 * list systemd-resolved keeps in /run/systemd/resolve/resolv.conf is used when it has one, and
 * otherwise no DNS is offered, with the reason. IPCP carries IPv4 servers only.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { isLoopbackAddress } from '../config.js';

/** The files read, in order: the host's, then systemd-resolved's upstream servers. */
export const RESOLV_CONF_PATHS: readonly string[] = ['/etc/resolv.conf', '/run/systemd/resolve/resolv.conf'];

/** `nameserver` lines of a resolv.conf, sorted into what a PPP client can use. */
export interface ResolvConfServers {
  /** IPv4, not loopback, not 0.0.0.0: usable by a client. */
  readonly usable: readonly string[];
  /** Loopback stubs (127.0.0.53, 127.0.0.1, ::1). */
  readonly loopback: readonly string[];
  /** IPv6 servers (IPCP cannot offer them). */
  readonly ipv6: readonly string[];
}

/** Parse resolv.conf text (`nameserver ADDR`, `#`/`;` comments). */
export function parseResolvConf(text: string): ResolvConfServers {
  const usable: string[] = [];
  const loopback: string[] = [];
  const ipv6: string[] = [];
  for (const raw of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(raw);
    const a = m?.[1]?.replace(/%.*$/, '');
    if (a === undefined || isIP(a) === 0) continue;
    if (isLoopbackAddress(a) || a === '0.0.0.0' || a === '::') loopback.push(a);
    else if (isIP(a) === 6) ipv6.push(a);
    else usable.push(a);
  }
  return { usable, loopback, ipv6 };
}

/** What the clients are offered. */
export interface HostDns {
  /** At most two IPv4 servers (IPCP primary / secondary). */
  readonly servers: readonly string[];
  /** One line for the log: where they came from, or why there are none. */
  readonly note: string;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The host's resolvers a client can reach (at most 2), and what the log says about them. */
export async function hostResolvers(paths: readonly string[] = RESOLV_CONF_PATHS): Promise<HostDns> {
  const [main, ...fallbacks] = paths;
  const text = main === undefined ? undefined : await readText(main);
  if (main === undefined || text === undefined) return { servers: [], note: `no DNS offered to clients: ${main ?? 'resolv.conf'} cannot be read (set [ppp] dns)` };
  const r = parseResolvConf(text);
  if (r.usable.length > 0) return { servers: r.usable.slice(0, 2), note: `DNS for clients: ${r.usable.slice(0, 2).join(', ')} (the host's resolvers in ${main})` };
  if (r.loopback.length > 0) {
    for (const f of fallbacks) {
      const up = parseResolvConf((await readText(f)) ?? '').usable;
      if (up.length > 0) return { servers: up.slice(0, 2), note: `DNS for clients: ${up.slice(0, 2).join(', ')} (${main} names the local stub ${r.loopback[0] ?? ''}; upstream servers from ${f})` };
    }
    return {
      servers: [],
      note: `no DNS offered to clients: ${main} names only ${r.loopback.join(', ')}, a resolver on this host that clients cannot reach (set [ppp] dns = [...])`,
    };
  }
  if (r.ipv6.length > 0) return { servers: [], note: `no DNS offered to clients: ${main} names only IPv6 servers, and IPCP offers IPv4 ones (set [ppp] dns = [...])` };
  return { servers: [], note: `no DNS offered to clients: ${main} names no server (set [ppp] dns = [...])` };
}
