/**
 * The local users file: one user a line, `username password [static-ipv4]`, `#` comments,
 * quoted fields for passwords with spaces. Parsing never throws; every bad line is reported with
 * its number so the daemon can refuse to load a broken file (and keep the old one on SIGHUP).
 */
import { err, ok, parseIpv4, type Result } from '../base/index.js';

/** One user record. */
export interface UserRecord {
  readonly username: string;
  readonly password: string;
  /** A fixed IPv4 address for this user (number form). */
  readonly staticAddress?: number;
}

/** A problem on one line of the users file. */
export interface UsersFileError {
  readonly line: number;
  readonly message: string;
}

/** Split a line into fields, honouring double quotes and backslash escapes inside them. */
function splitFields(line: string): Result<string[], string> {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') break;
    if (c === '"') {
      let s = '';
      i++;
      let closed = false;
      while (i < line.length) {
        const d = line[i];
        if (d === '\\' && i + 1 < line.length) {
          s += line[i + 1];
          i += 2;
          continue;
        }
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        s += d;
        i++;
      }
      if (!closed) return err('unterminated quote');
      out.push(s);
      continue;
    }
    let s = '';
    while (i < line.length && line[i] !== ' ' && line[i] !== '\t') {
      s += line[i];
      i++;
    }
    out.push(s);
  }
  return ok(out);
}

/** Parse a users file. Returns all records, or every error found (with line numbers). */
export function parseUsersFile(text: string): Result<Map<string, UserRecord>, UsersFileError[]> {
  const users = new Map<string, UserRecord>();
  const errors: UsersFileError[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    const fields = splitFields(raw);
    if (!fields.ok) {
      errors.push({ line, message: fields.error });
      return;
    }
    const f = fields.value;
    if (f.length === 0) return;
    if (f.length < 2 || f.length > 3) {
      errors.push({ line, message: `expected "username password [static-ipv4]", got ${f.length} field(s)` });
      return;
    }
    const [username, password, addr] = f as [string, string, string | undefined];
    if (users.has(username)) {
      errors.push({ line, message: `duplicate user "${username}"` });
      return;
    }
    if (addr !== undefined) {
      const a = parseIpv4(addr);
      if (a === undefined) {
        errors.push({ line, message: `bad static address "${addr}"` });
        return;
      }
      users.set(username, { username, password, staticAddress: a });
    } else {
      users.set(username, { username, password });
    }
  });
  return errors.length > 0 ? err(errors) : ok(users);
}
