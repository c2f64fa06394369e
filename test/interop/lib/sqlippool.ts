/**
 * The central address pool of the scale-out test (docs/SCALE-OUT.md): FreeRADIUS's `sql` module on
 * PostgreSQL and `sqlippool`, set up in the private copy of the FreeRADIUS configuration
 * (freeradius.ts `prepare`), the FreeRADIUS schemas loaded from the Debian package into the
 * database, and the pool's leases read back from `radippool`.
 */
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FREERADIUS_SYSTEM_DIR } from './freeradius.js';
import type { Postgres } from './postgres.js';

/** Where the central pool lives. */
export interface SqlIppoolSettings {
  /** PostgreSQL's address (TCP 5432). */
  readonly dbHost: string;
  readonly dbName: string;
  readonly dbUser: string;
  /** `control:Pool-Name` for every user whose name does not start with `noPoolPrefix`. */
  readonly poolName: string;
  /** Users with this name prefix get no Pool-Name: an Access-Accept without Framed-IP-Address. */
  readonly noPoolPrefix: string;
  /** `lease_duration` (s): a lease without a Stop (a dead NAS) expires after this. */
  readonly leaseDuration: number;
}

/** Replaces `from` (which must occur) in `text`; every occurrence when `all`. */
function edit(text: string, from: string | RegExp, to: string, what: string, all = false): string {
  const found = typeof from === 'string' ? text.includes(from) : from.test(text);
  if (!found) throw new Error(`sqlippool setup: ${what} not found in the FreeRADIUS configuration (a FreeRADIUS version this harness does not know?)`);
  if (typeof from === 'string') return all ? text.split(from).join(to) : text.replace(from, to);
  return text.replace(from, to);
}

const rewrite = (path: string, f: (t: string) => string): void => writeFileSync(path, f(readFileSync(path, 'utf8')));

/**
 * Edits a private raddb: the `sql` module on PostgreSQL, `sqlippool` on it (dialect postgresql,
 * SKIP LOCKED so concurrent Access-Requests never wait for and then lose the same row), both
 * enabled; the default site sets `control:Pool-Name`, allocates in post-auth and releases / refreshes
 * in accounting (Stop clears, Start/Interim extend, Accounting-On/Off clear the NAS's leases).
 */
export function prepareSqlIppool(raddb: string, s: SqlIppoolSettings): void {
  const mods = join(raddb, 'mods-available');
  rewrite(join(mods, 'sql'), (t) => {
    let x = edit(t, /^\tdialect = "sqlite"$/m, '\tdialect = "postgresql"', 'sql dialect');
    x = edit(x, /^\tdriver = "rlm_sql_null"$/m, '\tdriver = "rlm_sql_postgresql"', 'sql driver');
    return edit(x, /^\tradius_db = "radius"$/m, `\tradius_db = "host=${s.dbHost} port=5432 dbname=${s.dbName} user=${s.dbUser}"`, 'sql radius_db');
  });
  rewrite(join(mods, 'sqlippool'), (t) => {
    const x = edit(t, /^\tdialect = "mysql"$/m, '\tdialect = "postgresql"', 'sqlippool dialect');
    return edit(x, /^\tlease_duration = \d+$/m, `\tlease_duration = ${s.leaseDuration}`, 'sqlippool lease_duration');
  });
  rewrite(join(raddb, 'mods-config', 'sql', 'ippool', 'postgresql', 'queries.conf'), (t) => edit(t, /^skip_locked = ""$/m, 'skip_locked = "SKIP LOCKED"', 'ippool skip_locked'));
  for (const m of ['sql', 'sqlippool']) {
    const link = join(raddb, 'mods-enabled', m);
    if (!existsSync(link)) symlinkSync(`../mods-available/${m}`, link);
  }
  rewrite(join(raddb, 'sites-available', 'default'), (t) => {
    const pool = ['authorize {', `\tif (!(&User-Name =~ /^${s.noPoolPrefix}/)) {`, '\t\tupdate control {', `\t\t\t&Pool-Name := "${s.poolName}"`, '\t\t}', '\t}'].join('\n');
    const x = edit(t, /^authorize \{$/m, pool, 'authorize section');
    // The two commented-out sqlippool lines: accounting (release on Stop) and post-auth (allocate).
    return edit(x, '#\tsqlippool', '\tsqlippool', 'sqlippool in accounting / post-auth', true);
  });
}

/** The FreeRADIUS PostgreSQL schemas (main + ippool) of the Debian package, as text. */
export function freeRadiusSchemas(): string {
  const dir = join(FREERADIUS_SYSTEM_DIR, 'mods-config', 'sql');
  return [join(dir, 'main', 'postgresql', 'schema.sql'), join(dir, 'ippool', 'postgresql', 'schema.sql')].map((f) => readFileSync(f, 'utf8')).join('\n');
}

/**
 * Creates role and database, loads the schemas and fills pool `poolName` with `count` addresses
 * from `first` on (all free: expired an hour ago).
 */
export async function createPoolDatabase(pg: Postgres, s: SqlIppoolSettings, first: string, count: number): Promise<void> {
  await pg.psql(`CREATE ROLE ${s.dbUser} LOGIN`);
  await pg.psql(`CREATE DATABASE ${s.dbName} OWNER ${s.dbUser}`);
  await pg.psqlScript(freeRadiusSchemas(), s.dbName, s.dbUser);
  await pg.psql(
    `INSERT INTO radippool (pool_name, framedipaddress, expiry_time) SELECT '${s.poolName}', '${first}'::inet + g, now() - interval '1 hour' FROM generate_series(0, ${count - 1}) g`,
    s.dbName,
    s.dbUser,
  );
}

/** One row of `radippool`. */
export interface PoolLease {
  readonly address: string;
  readonly nas: string;
  readonly username: string;
  readonly poolKey: string;
  /** expiry_time is in the future: the address is leased. */
  readonly active: boolean;
}

/** Every row of the pool that was ever leased (a NAS set), sorted by address. */
export async function poolLeases(pg: Postgres, s: SqlIppoolSettings): Promise<PoolLease[]> {
  const out = await pg.psql(
    `SELECT host(framedipaddress), nasipaddress, username, pool_key, (expiry_time > now()::timestamp(0))::int FROM radippool WHERE pool_name = '${s.poolName}' AND nasipaddress <> '' ORDER BY framedipaddress`,
    s.dbName,
    s.dbUser,
  );
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [address = '', nas = '', username = '', poolKey = '', active = '0'] = l.split('|');
      return { address, nas, username, poolKey, active: active === '1' };
    });
}
