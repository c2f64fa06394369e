#!/usr/bin/env node
// Runs every compiled benchmark (dist/bench/*.js, or the names given) one after another.
// Benchmarks print their numbers; they are not pass/fail tests.
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const dir = 'dist/bench';
// Names select benchmarks; arguments starting with -- are passed to each (`npm run bench -- scale -- --sizes=10000`).
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('--') && a !== '--');
if (!existsSync(dir)) {
  console.error('no dist/bench: run `npm run build` first');
  process.exit(1);
}
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.js') && !f.startsWith('lib'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
  .sort();
let failed = 0;
for (const f of files) {
  console.log(`\n=== bench/${f.replace(/\.js$/, '.ts')}`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(dir, f), ...flags], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
