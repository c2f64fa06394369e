/**
 * Generated secrets and the files that keep them: random tokens without look-alike characters
 * (easy to type on a phone), and an atomic write (temporary file, fsync, rename) so a crash never
 * leaves a half-written credentials or users file.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { RandomSource } from '../../base/index.js';

/** Letters and digits without 0/O, 1/l/I. */
const ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** `n` characters of ALPHABET, unbiased (rejection sampling on random bytes). */
export function randomToken(random: RandomSource, n: number, alphabet: string = ALPHABET): string {
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < n) {
    for (const b of random.bytes(n)) {
      if (b < limit && out.length < n) out += alphabet[b % alphabet.length] ?? '';
    }
  }
  return out;
}

/** A generated pre-shared key: 20 characters, about 116 bits. */
export const generatePskToken = (random: RandomSource): string => randomToken(random, 20);

/** A generated password: 16 characters, about 93 bits. */
export const generatePassword = (random: RandomSource): string => randomToken(random, 16);

/** A generated login (`user-xxxx` and a password). */
export function generateLogin(random: RandomSource): { username: string; password: string } {
  return { username: `user-${randomToken(random, 4, 'abcdefghijkmnpqrstuvwxyz23456789')}`, password: generatePassword(random) };
}

/** Write `text` to `path` atomically with `mode` (a temporary file in the same directory, fsync, rename). */
export async function writeFileAtomic(path: string, text: string, mode = 0o600): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.chmod(mode);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** `EACCES`-style code of a file-system error, else its text. */
export const errorCode = (e: unknown): string => (e as NodeJS.ErrnoException | undefined)?.code ?? (e instanceof Error ? e.message : String(e));
