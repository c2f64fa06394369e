/**
 * Test helpers to reach files of the repository (docs/, fixtures) from a test module, whether it runs
 * from its source (`tsx`) or compiled under `dist/`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this module with a package.json named l2tpkit. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && readFileSync(pkg, 'utf8').includes('"name": "l2tpkit"')) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root (package.json of l2tpkit) not found');
    dir = up;
  }
}

/** Read a repository file by its path from the root, e.g. `readRepoFile('docs/l2tp-fsm.md')`. */
export function readRepoFile(relative: string): string {
  return readFileSync(join(repoRoot(), relative), 'utf8');
}
