/**
 * setup: what a start loads and keeps besides the config file — the state directory
 * (`credentials.json`: the generated PSK and which login was generated), the users file (checked
 * against the pool), the clients' DNS from the host's resolvers — shared by the start and
 * `--check-config`; and the running daemon's credential store behind `l2tpctl credentials` and
 * `l2tpctl user add`. The only part of the daemon besides the shells that touches files.
 */
export { prepare, type Prepared, type PrepareOptions, type GeneratedCredentials, type SetupNote } from './prepare.js';
export { CredentialStore, type CredentialsView, type RotateWhat, type CredentialStoreOptions } from './credential-store.js';
export { CREDENTIALS_FILE, USERS_FILE, credentialsPath, readCredentials, writeCredentials, type StoredCredentials } from './state-file.js';
export { loadUsers, checkStaticAddresses, appendUser, setPassword, userLine, checkUsername, type PoolFacts } from './users-file.js';
export { hostResolvers, parseResolvConf, RESOLV_CONF_PATHS, type HostDns, type ResolvConfServers } from './resolv.js';
export { randomToken, generateLogin, generatePassword, generatePskToken, writeFileAtomic } from './secrets.js';
export { groupId } from './groups.js';
export { pppoeCookiePath, readPppoeCookieKey, generatePppoeCookieKey } from './pppoe-cookie.js';
