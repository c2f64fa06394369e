/**
 * Secure defaults, as rules over the typed configuration: PPP logins (PAP, CHAP-MD5, MS-CHAPv2)
 * must not cross the network outside IPsec. A configuration that would let them is refused with a
 * message that says why and what to change, unless `[ppp] allow_insecure = true` says so
 * explicitly; what is allowed but weak becomes a warning (`--check-config` prints them, the start
 * logs them). Pure: no I/O.
 */
import { isIP } from 'node:net';
import { formatHostPort } from '../../io/index.js';
import type { AccessSection, DaemonConfig, IpsecSection, ListenConfig } from './types.js';

/** A loopback literal (127.0.0.0/8, ::1, ::ffff:127.x): nothing crosses a network. */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase().replace(/^::ffff:/, '');
  if (isIP(a) === 4) return a.startsWith('127.');
  return a === '::1';
}

/** The listener `[ipsec]` runs on: the first IPv4 one. */
export const ipsecListenerOf = (listen: readonly ListenConfig[]): ListenConfig | undefined => listen.find((l) => isIP(l.address) === 4);

/** How PPP logins on the first listener (where PPP is terminated) can travel; undefined = inside IPsec only, or nothing to expose. */
interface Exposure {
  /** The config key to blame (its line is shown). */
  readonly key: string;
  readonly listener: string;
  /** Why L2TP reaches PPP outside IPsec. */
  readonly why: string;
  readonly auth: readonly string[];
}

const AUTH_NAMES: Readonly<Record<string, string>> = { pap: 'PAP', chap: 'CHAP-MD5', mschapv2: 'MS-CHAPv2' };

/** What the exposure rules read. */
interface Facts {
  readonly listen: readonly ListenConfig[];
  readonly access: AccessSection | undefined;
  readonly ipsec?: IpsecSection | undefined;
}

function exposure(c: Facts): Exposure | undefined {
  const first = c.listen[0];
  const a = c.access;
  if (first === undefined || a === undefined || a.auth.length === 0 || isLoopbackAddress(first.address)) return undefined;
  const ipsecHere = c.ipsec !== undefined && ipsecListenerOf(c.listen) === first;
  if (ipsecHere && c.ipsec.requireIpsec) return undefined;
  const listener = formatHostPort(first.address, first.port);
  const auth = a.auth.map((x) => AUTH_NAMES[x] ?? x);
  if (c.ipsec === undefined) return { key: 'ipsec.enabled', listener, auth, why: 'IPsec is off' };
  if (!ipsecHere) return { key: 'listen[0].address', listener, auth, why: 'IPsec runs on the first IPv4 listener, not on this one' };
  return { key: 'ipsec.require_ipsec', listener, auth, why: 'require_ipsec = false accepts L2TP outside IPsec' };
}

/**
 * Refuse PPP authentication over L2TP that is not confined to IPsec on a non-loopback listener,
 * unless `[ppp] allow_insecure = true`.
 */
export function checkExposure(c: Facts, fail: (key: string, message: string) => void): void {
  const x = exposure(c);
  if (x === undefined || c.access?.allowInsecure === true) return;
  fail(
    x.key,
    `refused: ${x.auth.join('/')} logins would cross the network outside IPsec on ${x.listener} (${x.why}). ` +
      'PAP sends the password as it is, and one captured CHAP-MD5 or MS-CHAPv2 login is enough to crack the password offline. ' +
      'Keep [ipsec] on (the default) with require_ipsec = true, listen on a loopback address, ' +
      'or set [ppp] allow_insecure = true if the path is protected another way',
  );
}

/** A configuration that starts but deserves a second look. */
export interface ConfigWarning {
  readonly key: string;
  readonly message: string;
}

/** Warnings about a valid configuration (printed by `--check-config`, logged at start). */
export function configWarnings(c: DaemonConfig): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  const x = exposure(c);
  if (x !== undefined) out.push({ key: 'ppp.allow_insecure', message: `${x.auth.join('/')} logins cross the network outside IPsec on ${x.listener} (${x.why}; allowed by [ppp] allow_insecure = true)` });
  const first = c.listen[0];
  if (c.access !== undefined && first !== undefined) {
    const at = formatHostPort(first.address, first.port);
    if (c.access.auth.length === 0 && !isLoopbackAddress(first.address)) out.push({ key: 'ppp.auth', message: `no PPP authentication ([ppp] auth = []): anyone who reaches ${at} gets an address from the pool` });
    if (c.listen.length > 1) out.push({ key: 'listen', message: `PPP is terminated on the first listener only (${at}); the other listeners carry plain L2TP` });
  }
  if (c.ipsec !== undefined && !c.ipsec.rawEsp) {
    out.push({ key: 'ipsec.raw_esp', message: 'raw ESP is off: clients that are not behind a NAT are told to put ESP in UDP 4500 (NAT-T), which every client built in to Windows, macOS, iOS and Android supports' });
  }
  return out;
}
