/**
 * The AC-Cookie key of `[[pppoe]]` sections without `cookie_secret`: 32 random bytes (hex) kept in
 * the state directory (`pppoe-cookie.key`, 0600), generated at the first start, read back after,
 * so the cookies a restarted AC issues are derived from the same key (src/access/pppoe/cookie.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex, type RandomSource } from '../../base/index.js';
import { PPPOE_COOKIE_FILE } from '../config/schema.js';
import { errorCode, writeFileAtomic } from './secrets.js';

/** The key's path in `stateDir`. */
export const pppoeCookiePath = (stateDir: string): string => join(stateDir, PPPOE_COOKIE_FILE);

/** Read the key; undefined when the file does not exist; an error text for a bad file. */
export async function readPppoeCookieKey(stateDir: string): Promise<{ readonly key: string | undefined } | { readonly error: string }> {
  let text: string;
  try {
    text = await readFile(pppoeCookiePath(stateDir), 'utf8');
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return { key: undefined };
    return { error: `cannot read ${pppoeCookiePath(stateDir)}: ${errorCode(e)}` };
  }
  const key = text.trim();
  return /^[0-9a-f]{64}$/.test(key) ? { key } : { error: `${pppoeCookiePath(stateDir)}: expected 64 hex digits (delete it to generate a new key)` };
}

/** A new key written to the state directory (0600). */
export async function generatePppoeCookieKey(stateDir: string, random: RandomSource): Promise<string> {
  const key = toHex(random.bytes(32));
  await writeFileAtomic(pppoeCookiePath(stateDir), `${key}\n`);
  return key;
}
