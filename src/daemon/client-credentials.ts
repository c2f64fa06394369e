/**
 * The daemon's answer to `client-credentials` (l2tpctl client-profile): the `[ipsec]` pre-shared
 * key, one user's login from the users table (the generated user when none is named and no users
 * file is configured), and the PPP settings a client profile must match.
 */
import type { DaemonConfig } from './config.js';
import type { ClientCredentialsView, ControlResponse } from './control-protocol.js';
import type { LnsAccess } from './access-shell.js';

/** Answer `client-credentials` for `user` (undefined = the generated user). */
export function clientCredentials(config: DaemonConfig, access: Pick<LnsAccess, 'generated' | 'users'> | undefined, user: string | undefined): ControlResponse {
  const ac = config.access;
  if (ac === undefined || access === undefined) return { ok: false, error: 'PPP termination is off: there is no login to put in a client profile' };
  const name = user ?? access.generated?.username;
  if (name === undefined) return { ok: false, error: `name the user (--user NAME): users come from ${ac.usersFile ?? 'the users file'}` };
  const rec = access.users.lookup(name);
  if (rec === undefined) return { ok: false, error: `no user "${name}" in ${ac.usersFile ?? 'the generated login'}` };
  const ips = config.ipsec;
  const local = ips?.localAddress ?? config.listen.find((l) => l.address !== '0.0.0.0' && !l.address.includes(':'))?.address;
  const view: ClientCredentialsView = {
    ...(ips?.psk !== undefined ? { psk: ips.psk } : {}),
    username: rec.username,
    password: rec.password,
    auth: ac.auth,
    mru: ac.mru,
    ...(local !== undefined && local !== '0.0.0.0' ? { serverAddress: local } : {}),
  };
  return { ok: true, result: view };
}
