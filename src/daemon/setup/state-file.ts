/**
 * The state file `<state_dir>/credentials.json` (mode 0600, directory 0700): what l2tpd generated
 * and must keep across restarts — the IPsec pre-shared key (when the config sets none) and the
 * name of the generated login in the default users file. Read strictly: a damaged file is an
 * error that names the file, never silently replaced (clients would lose their key).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { err, ok, type Result } from '../../base/index.js';
import { errorCode, writeFileAtomic } from './secrets.js';

/** The file name inside the state directory. */
export const CREDENTIALS_FILE = 'credentials.json';

/** The default users file inside the state directory (when `[users] file` is not set). */
export const USERS_FILE = 'users';

/** What the state file holds. */
export interface StoredCredentials {
  /** The generated IPsec pre-shared key. */
  readonly psk?: string;
  /** The login l2tpd generated into the default users file (its password lives there). */
  readonly generatedUser?: string;
}

/** Path of the state file in `dir`. */
export const credentialsPath = (dir: string): string => join(dir, CREDENTIALS_FILE);

/** Check a parsed state file. */
function checkStored(v: unknown): Result<StoredCredentials, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return err('expected a JSON object');
  const o = v as Record<string, unknown>;
  const out: { psk?: string; generatedUser?: string } = {};
  for (const [k, x] of Object.entries(o)) {
    if (k === 'version') {
      if (x !== 1) return err(`unsupported version ${JSON.stringify(x)}`);
    } else if (k === 'psk' || k === 'generatedUser') {
      if (typeof x !== 'string' || x.length === 0) return err(`"${k}" must be a non-empty string`);
      out[k] = x;
    } else {
      return err(`unknown key "${k}"`);
    }
  }
  if (out.psk !== undefined && out.psk.length < 8) return err('"psk" needs at least 8 characters');
  return ok(out);
}

/** Read `<dir>/credentials.json`; ok(undefined) when there is none. */
export async function readCredentials(dir: string): Promise<Result<StoredCredentials | undefined, string>> {
  const path = credentialsPath(dir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = errorCode(e);
    return code === 'ENOENT' || code === 'ENOTDIR' ? ok(undefined) : err(`cannot read ${path}: ${code}${code === 'EACCES' ? ' (run as root, or choose another --state-dir)' : ''}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return err(`${path} is not valid JSON (remove it to generate new credentials; clients then need the new ones)`);
  }
  const r = checkStored(v);
  return r.ok ? r : err(`${path}: ${r.error} (remove it to generate new credentials)`);
}

/** Create the state directory (0700) if needed. */
export async function ensureStateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/** Write `<dir>/credentials.json` (0600, atomically). */
export async function writeCredentials(dir: string, c: StoredCredentials): Promise<void> {
  await writeFileAtomic(credentialsPath(dir), `${JSON.stringify({ version: 1, ...c }, null, 2)}\n`, 0o600);
}
