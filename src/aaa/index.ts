/**
 * aaa: who may connect and what they get — the local users file and IPv4 address pools.
 * Pure (no I/O): the daemon reads the file and hands the text in. `Ipv4PoolSet` holds the default
 * pool and the named pools RADIUS Framed-Pool picks from. `radius` holds the RADIUS client
 * and Dynamic Authorization cores.
 */
export { parseUsersFile, type UserRecord, type UsersFileError } from './users.js';
export { Ipv4Pool, Ipv4PoolSet, type PoolError } from './pool.js';
export * as radius from './radius/index.js';
