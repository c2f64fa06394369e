#!/usr/bin/env node
// Runs the compiled test files with node's built-in test runner.
//   unit    : dist/src/**/*.test.js and dist/test/{sim,vectors,fuzz,lib}/**/*.test.js
//   interop : dist/test/interop/**/*.test.js (needs root; installs its Debian packages)
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const suite = process.argv[2] ?? 'unit';
const roots = suite === 'interop' ? ['dist/test/interop'] : ['dist/src', 'dist/test/sim', 'dist/test/vectors', 'dist/test/fuzz', 'dist/test/lib'];
const files = [];
function walk(dir) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
}
roots.forEach(walk);
files.sort();
if (files.length === 0) {
  console.error(`no test files found for suite '${suite}'`);
  process.exit(1);
}
const extra = suite === 'interop' ? ['--test-concurrency=1', '--test-timeout=1800000'] : ['--test-timeout=300000'];
const r = spawnSync(process.execPath, ['--test', ...extra, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
