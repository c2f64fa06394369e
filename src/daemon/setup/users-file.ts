/**
 * The users file as the start (and `--check-config`, SIGHUP, `l2tpctl user add`) loads it: parsed
 * by src/aaa, then checked against the pool — a static address must be a client address inside
 * `[pool] ipv4` (the TUN route covers only the pool, so replies to an address outside it never
 * reach the client; a stateless node without a local pool routes each address by a /32), not the
 * LNS's own address and not given twice. Edits rewrite the file
 * atomically and keep its mode.
 */
import { readFile, stat } from 'node:fs/promises';
import { err, formatIpv4, formatIpv4Prefix, type Ipv4Prefix, ok, type Result } from '../../base/index.js';
import { parseUsersFile, type UserRecord } from '../../aaa/index.js';
import { errorCode, writeFileAtomic } from './secrets.js';

/** What the static-address checks need from `[pool]`. */
export interface PoolFacts {
  readonly ipv4Pool: Ipv4Prefix;
  readonly localAddress: number;
  /** `[pool] local = false` (a stateless node): there is no pool, every session address gets a /32 on the TUN. */
  readonly local?: boolean;
}

/** Problems of static addresses (one message per user), empty when all are usable. */
export function checkStaticAddresses(users: ReadonlyMap<string, UserRecord>, pool: PoolFacts): string[] {
  const out: string[] = [];
  const p = pool.ipv4Pool;
  const mask = p.length === 0 ? 0 : (0xffffffff << (32 - p.length)) >>> 0;
  const broadcast = (p.network | (~mask >>> 0)) >>> 0;
  const holder = new Map<number, string>();
  for (const u of users.values()) {
    const a = u.staticAddress;
    if (a === undefined) continue;
    const text = `user "${u.username}": static address ${formatIpv4(a)}`;
    if (pool.local === false) {
      if (a === pool.localAddress) out.push(`${text} is the LNS's own PPP address`);
    } else if (((a & mask) >>> 0) !== p.network) {
      out.push(`${text} is outside the pool ${formatIpv4Prefix(p)}: the TUN route covers only the pool, so replies would not reach the client (widen [pool] ipv4 or pick an address inside it)`);
    } else if (a === pool.localAddress) out.push(`${text} is the LNS's own PPP address`);
    else if (p.length < 31 && (a === p.network || a === broadcast)) out.push(`${text} is the pool's ${a === p.network ? 'network' : 'broadcast'} address`);
    const other = holder.get(a);
    if (other !== undefined) out.push(`${text} is also given to user "${other}"`);
    holder.set(a, u.username);
  }
  return out;
}

/** Read, parse and check a users file; every problem is reported (`PATH: line N: ...`). */
export async function loadUsers(path: string, pool: PoolFacts): Promise<Result<Map<string, UserRecord>, string[]>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return err([`cannot read ${path}: ${errorCode(e)}`]);
  }
  const r = parseUsersFile(text);
  if (!r.ok) return err(r.error.map((x) => `${path}: line ${x.line}: ${x.message}`));
  const bad = checkStaticAddresses(r.value, pool);
  return bad.length > 0 ? err(bad.map((m) => `${path}: ${m}`)) : ok(r.value);
}

/** A field as the users file reads it back (quoted when it has spaces, quotes, `#` or is empty). */
function field(s: string): string {
  return /^[^\s"#\\]+$/.test(s) ? s : `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** One users-file line for `u`. */
export function userLine(u: UserRecord): string {
  return [field(u.username), field(u.password), ...(u.staticAddress !== undefined ? [formatIpv4(u.staticAddress)] : [])].join(' ');
}

/** A user name the users file and PPP can carry: 1-64 printable characters without spaces, quotes or `#`. */
export function checkUsername(name: string): string | undefined {
  return /^[^\s"#\\]{1,64}$/.test(name) ? undefined : 'a user name is 1-64 characters without spaces, quotes, "#" or "\\"';
}

async function modeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).mode & 0o777;
  } catch {
    return 0o600;
  }
}

/** Append `u` to the users file (created 0600 when missing); refuses a name that is already there. */
export async function appendUser(path: string, u: UserRecord): Promise<Result<void, string>> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (errorCode(e) !== 'ENOENT') return err(`cannot read ${path}: ${errorCode(e)}`);
  }
  const parsed = parseUsersFile(text);
  if (!parsed.ok) return err(`${path} has errors (line ${parsed.error[0]?.line ?? '?'}: ${parsed.error[0]?.message ?? ''}); fix it first`);
  if (parsed.value.has(u.username)) return err(`user "${u.username}" already exists in ${path}`);
  const body = text === '' || text.endsWith('\n') ? text : `${text}\n`;
  try {
    await writeFileAtomic(path, `${body}${userLine(u)}\n`, await modeOf(path));
  } catch (e) {
    return err(`cannot write ${path}: ${errorCode(e)}${errorCode(e) === 'EROFS' ? ' (read-only here: under contrib/l2tpd.service keep the users file in the state directory)' : ''}`);
  }
  return ok(undefined);
}

/** Replace the password of `username` in the users file (other lines, comments and the mode kept). */
export async function setPassword(path: string, username: string, password: string): Promise<Result<void, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return err(`cannot read ${path}: ${errorCode(e)}`);
  }
  const lines = text.split('\n');
  let found = false;
  const out = lines.map((line) => {
    const one = parseUsersFile(line);
    const rec = one.ok ? one.value.get(username) : undefined;
    if (rec === undefined) return line;
    found = true;
    return userLine({ ...rec, password });
  });
  if (!found) return err(`user "${username}" is not in ${path}`);
  try {
    await writeFileAtomic(path, out.join('\n'), await modeOf(path));
  } catch (e) {
    return err(`cannot write ${path}: ${errorCode(e)}`);
  }
  return ok(undefined);
}
