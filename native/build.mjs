#!/usr/bin/env node
// `npm ci` / `npm install` hook: builds the native addon (binding.gyp -> build/Release/l2tpkit_native.node)
// with node-gyp, offline against the Node headers installed on this machine (/usr/include/node on Debian).
// A failed build is fatal when CI=true or L2TPKIT_REQUIRE_NATIVE=1; otherwise it only warns, so pure-TS
// users still install — TUN and raw sockets then fail at runtime with NativeUnavailableError.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const strict = process.env.CI === 'true' || process.env.L2TPKIT_REQUIRE_NATIVE === '1';

function fail(msg) {
  console.error(`\nl2tpkit: native addon NOT built: ${msg}`);
  console.error('l2tpkit: TUN/TAP and raw IP sockets will throw NativeUnavailableError until `npx node-gyp rebuild` succeeds.\n');
  process.exit(strict ? 1 : 0);
}

if (process.platform !== 'linux') fail(`platform ${process.platform} is not supported (Linux only)`);

let gyp;
try {
  gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
} catch {
  // devDependencies omitted: npm ships its own node-gyp and names it in npm_config_node_gyp.
  gyp = process.env.npm_config_node_gyp;
}
if (gyp === undefined || gyp === '' || !existsSync(gyp)) fail('node-gyp not found');

const args = [gyp, 'rebuild'];
// Without a nodedir node-gyp would download headers; use the local ones (the project's npmrc says /usr).
if (!process.env.npm_config_nodedir) {
  for (const dir of [dirname(dirname(process.execPath)), '/usr']) {
    if (existsSync(join(dir, 'include', 'node', 'node_api.h')) && existsSync(join(dir, 'include', 'node', 'common.gypi'))) {
      args.push(`--nodedir=${dir}`);
      break;
    }
  }
}
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) fail(`node-gyp exited with ${r.status ?? r.signal} (needs g++, make, python3 and Node headers)`);
if (!existsSync(join(root, 'build', 'Release', 'l2tpkit_native.node'))) fail('build/Release/l2tpkit_native.node missing after build');
