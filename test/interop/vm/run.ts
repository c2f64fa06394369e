/**
 * Command line for the guest harness (manual runs and debugging):
 *
 *   npx tsx test/interop/vm/run.ts TEST [--env NAME=VALUE]... [--timeout S] [--mem MiB] [--smp N]
 *       [--netns NS [--bridge BR] --ip A.B.C.D/N] | [--segment A.B.C.D/N --ip A.B.C.D/N]
 *       [--scripts DIR] [--out DIR] [--qemu-arg ARG]... [--build]
 *
 * --segment creates a throw-away namespace with a bridge carrying that address (removed at the end);
 * --netns uses an existing one. --build runs build-image.sh first if the image is stale.
 * Prints the console, then the RESULT status, boot and wall time; exit 0 iff PASS.
 */
import { parseArgs } from 'node:util';
import { ensureImage, runGuest, type GuestOptions } from './guest.js';
import { createSegment, type Segment } from './segment.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    env: { type: 'string', multiple: true },
    timeout: { type: 'string' },
    mem: { type: 'string' },
    smp: { type: 'string' },
    netns: { type: 'string' },
    bridge: { type: 'string' },
    ip: { type: 'string' },
    segment: { type: 'string' },
    scripts: { type: 'string' },
    out: { type: 'string' },
    build: { type: 'boolean' },
    'qemu-arg': { type: 'string', multiple: true },
  },
});
const test = positionals[0];
if (test === undefined) {
  console.error('usage: run.ts TEST [--env K=V]... [--netns NS --ip A/N | --segment A/N --ip A/N] [--timeout S] [--build]');
  process.exit(2);
}
const env: Record<string, string> = {};
for (const kv of values.env ?? []) {
  const i = kv.indexOf('=');
  if (i <= 0) throw new TypeError(`--env ${kv}: NAME=VALUE expected`);
  env[kv.slice(0, i)] = kv.slice(i + 1);
}
if (values.build === true) {
  const b = await ensureImage({ onLine: (l) => console.log(l) });
  console.log(`image ${b.built ? `built in ${b.seconds.toFixed(0)} s` : 'current'}`);
}
let seg: Segment | undefined;
let netns = values.netns;
if (values.segment !== undefined) {
  seg = createSegment({ bridgeIp: values.segment });
  netns = seg.netns;
  console.log(`segment ${seg.netns} (bridge br0 ${values.segment})`);
}
try {
  const opts: GuestOptions = {
    test,
    env,
    onConsoleLine: (l) => console.log(l),
    ...(values.timeout !== undefined ? { timeoutSec: Number(values.timeout) } : {}),
    ...(values.mem !== undefined ? { memMiB: Number(values.mem) } : {}),
    ...(values.smp !== undefined ? { smp: Number(values.smp) } : {}),
    ...(values.scripts !== undefined ? { scriptsDir: values.scripts } : {}),
    ...(values.out !== undefined ? { outDir: values.out } : {}),
    ...(values['qemu-arg'] !== undefined ? { qemuArgs: values['qemu-arg'] } : {}),
    ...(netns !== undefined && values.ip !== undefined
      ? { network: { netns, ip: values.ip, ...(values.bridge !== undefined ? { bridge: values.bridge } : {}) } }
      : {}),
  };
  const r = await runGuest(opts);
  console.log(`== ${r.status}${r.timedOut ? ' (timed out)' : ''}: boot-to-test ${String(r.bootSec)} s, wall ${r.wallSec.toFixed(1)} s, out ${r.outDir}`);
  process.exitCode = r.ok ? 0 : 1;
} finally {
  seg?.destroy();
}
