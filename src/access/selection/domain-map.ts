/**
 * Domain maps (the Junos `domain-map` idea): the realm of `user@realm` picks a tunnel profile, local
 * termination or a reject; `stripRealm` hands the LNS only `user`. No row and no realm: the default.
 */
import type { DomainMap, DomainTarget } from './types.js';

/** What a user name resolves to. */
export interface DomainResolution {
  readonly target: DomainTarget;
  /** The realm (lower case), or undefined when the name has none. */
  readonly realm: string | undefined;
  /** The name to authenticate / send on: stripped of `@realm` when the row says so. */
  readonly username: string;
}

const LOCAL: DomainTarget = { kind: 'local' };

/** Split `user@realm` at the last delimiter; an empty realm counts as none. */
export function splitRealm(username: string, delimiter = '@'): { readonly user: string; readonly realm: string | undefined } {
  const i = username.lastIndexOf(delimiter);
  if (i < 0 || i + delimiter.length >= username.length) return { user: username, realm: undefined };
  return { user: username.slice(0, i), realm: username.slice(i + delimiter.length).toLowerCase() };
}

/** Resolve a user name through the map. */
export function resolveDomain(map: DomainMap, username: string): DomainResolution {
  const { user, realm } = splitRealm(username, map.delimiter);
  const row = realm === undefined ? undefined : map.entries.find((e) => e.realm.toLowerCase() === realm);
  if (row === undefined) return { target: map.default ?? LOCAL, realm, username };
  return { target: row.target, realm, username: row.stripRealm === true ? user : username };
}
