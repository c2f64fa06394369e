/**
 * A start failure in words that say what to do: `bind EACCES` (a port below 1024 without the
 * capability), `bind EADDRINUSE` (another IKE or L2TP daemon on the port), `EADDRNOTAVAIL` (an
 * address this host does not have). The original message stays in front.
 */

/** The Node system-error fields a bind failure carries. */
interface SysError {
  readonly code?: string;
  readonly syscall?: string;
  readonly address?: string;
  readonly port?: number;
  /** fs errors (mkdir) name the path here. */
  readonly path?: string;
}

/** Which programs usually hold a port. */
const PORT_USERS: Readonly<Record<number, string>> = {
  500: 'strongSwan (charon), libreswan (pluto), racoon',
  4500: 'strongSwan (charon), libreswan (pluto), racoon',
  1701: 'xl2tpd, accel-ppp',
};

/** The hint for one system error, or undefined. */
export function hintFor(e: SysError): string | undefined {
  const port = e.port;
  const where = port !== undefined ? `${e.address !== undefined ? `${e.address}:` : ''}${port}` : (e.address ?? e.path ?? '');
  switch (e.code) {
    case 'EACCES':
    case 'EPERM':
      if (e.syscall === 'bind' && port !== undefined && port < 1024) return `binding port ${port} needs root or CAP_NET_BIND_SERVICE (contrib/l2tpd.service grants it)`;
      if (e.syscall === 'listen' || e.syscall === 'bind' || e.syscall === 'mkdir') return `no permission to create ${where || 'it'} (run as root, or --socket PATH / --state-dir DIR where the daemon may write)`;
      return undefined;
    case 'EADDRINUSE': {
      const users = port !== undefined ? PORT_USERS[port] : undefined;
      const probe = port !== undefined ? `; see who: ss -ulpn 'sport = :${port}'` : '';
      return `${where} is already in use${users !== undefined ? ` (another l2tpd, or ${users}?)` : ''}${probe}`;
    }
    case 'EADDRNOTAVAIL':
      return `${e.address ?? 'that address'} is not an address of this host (see [[listen]] address / [ipsec] local_address)`;
    default:
      return undefined;
  }
}

/** `e` with the hint appended to its message (a new Error; the code is kept). */
export function startupHint(e: unknown): Error {
  if (!(e instanceof Error)) return new Error(String(e));
  const hint = hintFor(e as SysError);
  if (hint === undefined) return e;
  const out = new Error(`${e.message}: ${hint}`, { cause: e });
  const code = (e as SysError).code;
  if (code !== undefined) Object.assign(out, { code });
  return out;
}
