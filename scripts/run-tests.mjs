#!/usr/bin/env node
// Runs the compiled test files with node's built-in test runner.
//   unit    : dist/src/**/*.test.js and dist/test/{sim,vectors,fuzz,lib}/**/*.test.js
//   interop : dist/test/interop/**/*.test.js (needs root; installs its Debian packages)
//
// The interop suite runs in two lanes at once: the files that boot the qemu guest (they import
// ./vm/guest.js or live in interop/vm/) one after another in one lane, every other file one after
// another in the other. Every test builds its own namespaces (named by its PID), so the lanes share
// nothing but the CPU. L2TPKIT_INTEROP_LANES=1 runs everything in one lane, in file order. Each lane's
// TAP output goes to a file and is printed whole when the lane ends, so the two never interleave.
import { readdirSync, statSync, existsSync, readFileSync, createWriteStream, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn, spawnSync } from 'node:child_process';

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
if (process.argv[3] !== undefined) {
  const pick = process.argv.slice(3);
  files.splice(0, files.length, ...files.filter((f) => pick.some((p) => f.includes(p))));
}
if (files.length === 0) {
  console.error(`no test files found for suite '${suite}'`);
  process.exit(1);
}

if (suite !== 'interop') {
  const r = spawnSync(process.execPath, ['--test', '--test-timeout=300000', ...files], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const interopArgs = ['--test', '--test-concurrency=1', '--test-timeout=1800000'];
const usesGuest = (f) => f.includes(`${join('interop', 'vm')}/`) || /from ['"]\.\/vm\/guest\.js['"]/.test(readFileSync(f, 'utf8'));
const lanes = process.env.L2TPKIT_INTEROP_LANES === '1'
  ? [{ name: 'interop', files }]
  : [{ name: 'guest', files: files.filter(usesGuest) }, { name: 'host', files: files.filter((f) => !usesGuest(f)) }].filter((l) => l.files.length > 0);

const logDir = mkdtempSync(join(tmpdir(), 'l2k-interop-lanes-'));
const t0 = Date.now();
const runLane = (lane) => new Promise((resolve) => {
  const log = join(logDir, `${lane.name}.tap`);
  const out = createWriteStream(log);
  console.log(`# lane ${lane.name}: ${lane.files.length} files (${lane.files.map((f) => f.replace(/^dist\/test\/interop\//, '')).join(', ')})`);
  const child = spawn(process.execPath, [...interopArgs, ...lane.files], { stdio: ['ignore', 'pipe', 'pipe'] });
  let buf = '';
  child.stdout.on('data', (d) => {
    out.write(d);
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    // Live progress: the top-level result of each file's suites.
    for (const l of lines) if (/^(not )?ok \d+ - /.test(l)) console.log(`# [${lane.name} ${Math.round((Date.now() - t0) / 1000)} s] ${l}`);
  });
  child.stderr.on('data', (d) => out.write(d));
  child.on('close', (code, signal) => {
    out.end(() => resolve({ lane, code: code ?? (signal ? 1 : 0), log, seconds: Math.round((Date.now() - t0) / 1000) }));
  });
});

const results = await Promise.all(lanes.map(runLane));
let failed = false;
for (const r of results) {
  console.log(`\n# ===== lane ${r.lane.name}: exit ${r.code} after ${r.seconds} s =====`);
  process.stdout.write(readFileSync(r.log, 'utf8'));
  if (r.code !== 0) failed = true;
}
for (const r of results) console.log(`# lane ${r.lane.name}: ${r.code === 0 ? 'passed' : 'FAILED'} in ${r.seconds} s`);
process.exit(failed ? 1 : 0);
