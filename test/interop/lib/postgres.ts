/**
 * PostgreSQL (Debian `postgresql`) as a throw-away server in a network namespace: `initdb` into a
 * temp directory of its own and `postgres` in the foreground, both as the `postgres` user through
 * `setpriv` (which execs, so the PID is the server's own), never the system cluster or its service.
 * Trust authentication from the topology's /24 and the local socket (a test only; docs/SCALE-OUT.md
 * shows a password); fsync off. `psql` runs as `postgres` over the socket in the data directory.
 */
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tail } from './host.js';
import { spawnIn, type ManagedProcess } from './process.js';

/** `/usr/lib/postgresql/<major>/bin`, the newest installed; undefined when PostgreSQL is not installed. */
export function postgresBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const majors = readdirSync(base).filter((d) => /^\d+$/.test(d) && existsSync(join(base, d, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a));
  const m = majors[0];
  return m === undefined ? undefined : join(base, m, 'bin');
}

/** Options of {@link startPostgres}. */
export interface PostgresOptions {
  readonly ns: string;
  /** The address to listen on (TCP 5432) inside the namespace. */
  readonly listen: string;
  /** Clients allowed without a password (pg_hba `host all all CIDR trust`). */
  readonly trustCidr: string;
  readonly lifetimeMs?: number;
}

/** A running server. */
export interface Postgres {
  readonly proc: ManagedProcess;
  /** The data directory (also the socket directory). */
  readonly dir: string;
  /** Runs SQL through psql (`-At`, stop on the first error) as `postgres` in database `db`; returns stdout. */
  psql(sql: string, db?: string, user?: string): Promise<string>;
  /** Runs a SQL script (several statements, given on stdin) as `user` in `db`. */
  psqlScript(sql: string, db: string, user: string): Promise<string>;
  logTail(n?: number): string;
  /** SIGINT (fast shutdown), SIGKILL after a grace period; removes the data directory. */
  stop(): Promise<void>;
}

/** uid and gid of the `postgres` user (from `id`). */
async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('no postgres user (Debian package postgresql)');
  return { uid, gid };
}

const asPostgres = ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', '--'] as const;

/** initdb + postgres in the foreground; resolves once it accepts connections. */
export async function startPostgres(o: PostgresOptions): Promise<Postgres> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error('PostgreSQL is not installed (Debian package postgresql)');
  const ids = await postgresIds();
  // Its own directory under /tmp (the harness work dirs are root-only 0700): owned by postgres.
  const dir = mkdtempSync('/tmp/l2k-clu-pg-');
  chownSync(dir, ids.uid, ids.gid);
  const data = join(dir, 'data');
  await run(asPostgres[0], [...asPostgres.slice(1), join(bin, 'initdb'), '-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], { timeoutMs: 60_000 });
  writeFileSync(join(data, 'pg_hba.conf'), ['# written by the l2tpkit interop harness', 'local all all trust', `host all all ${o.trustCidr} trust`, ''].join('\n'));
  const proc = spawnIn(
    o.ns,
    asPostgres[0],
    [...asPostgres.slice(1), join(bin, 'postgres'), '-D', data, '-c', `listen_addresses=${o.listen}`, '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off', '-c', 'max_connections=50', '-c', 'logging_collector=off'],
    { name: `postgres@${o.ns}`, lifetimeMs: o.lifetimeMs ?? 300_000 },
  );
  await proc.waitForOutput(/database system is ready to accept connections/, 30_000);
  const psqlArgs = (db: string, user: string): string[] => [...asPostgres.slice(1), join(bin, 'psql'), '-h', dir, '-U', user, '-d', db, '-v', 'ON_ERROR_STOP=1', '-At', '-q'];
  const psql = async (sql: string, db = 'postgres', user = 'postgres'): Promise<string> => (await run(asPostgres[0], [...psqlArgs(db, user), '-c', sql], { timeoutMs: 30_000 })).stdout;
  return {
    proc,
    dir,
    psql,
    psqlScript: async (sql, db, user) => (await run(asPostgres[0], [...psqlArgs(db, user), '-f', '-'], { input: sql, timeoutMs: 60_000 })).stdout,
    logTail: (n = 30) => tail(proc.output(), n),
    async stop(): Promise<void> {
      if (proc.running()) {
        try {
          process.kill(proc.pid, 'SIGINT');
        } catch {
          // gone
        }
        const t = setTimeout(() => void proc.stop(0), 10_000);
        await proc.exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
