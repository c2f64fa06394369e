/**
 * The daemon's answer to `client-credentials` (l2tpctl client-profile): the pre-shared key (the
 * generated one of the credential store, else `[ipsec] psk`), one user's login from the users
 * table (the generated login when no user is named), and the PPP settings a client profile must
 * match.
 */
import type { DaemonConfig } from './config.js';
import type { ClientCredentialsView, ControlResponse } from './control-protocol.js';
import type { LnsAccess } from './access-shell.js';
import type { CredentialsView } from './setup/index.js';

/** Answer `client-credentials` for `user` (undefined = the generated login). */
export function clientCredentials(
  config: DaemonConfig,
  access: Pick<LnsAccess, 'users'> | undefined,
  generated: Pick<CredentialsView, 'psk' | 'login'>,
  user: string | undefined,
): ControlResponse {
  const ac = config.access;
  if (ac === undefined || access === undefined) return { ok: false, error: 'PPP termination is off: there is no login to put in a client profile' };
  const name = user ?? generated.login?.username;
  if (name === undefined) return { ok: false, error: `name the user (--user NAME): users come from ${ac.usersFile ?? 'the users file'}` };
  const rec = access.users.lookup(name);
  if (rec === undefined) return { ok: false, error: `no user "${name}" in ${ac.usersFile ?? 'the generated login'}` };
  const ips = config.ipsec;
  const psk = generated.psk ?? ips?.psk;
  const local = ips?.localAddress ?? config.listen.find((l) => l.address !== '0.0.0.0' && !l.address.includes(':'))?.address;
  const view: ClientCredentialsView = {
    ...(ips !== undefined && psk !== undefined ? { psk } : {}),
    username: rec.username,
    password: rec.password,
    auth: ac.auth,
    mru: ac.mru,
    ...(local !== undefined && local !== '0.0.0.0' ? { serverAddress: local } : {}),
  };
  return { ok: true, result: view };
}
