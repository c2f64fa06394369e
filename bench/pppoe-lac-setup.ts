/**
 * PPPoE session set-ups per second through our LAC (l2tpd, `[[pppoe]] tunnel_select = true`, the
 * domain map sending `@isp-a.example` to one profile of two LNSes at equal preference) into our LNS
 * (two l2tpd with PPP termination), with the PPPoE load client (bench/lib/pppoe-load.ts: PADI..PADS,
 * LCP, PAP, IPCP) on a veth; and the LAC's heap per switched session (its `status` memory, the LAC
 * started with --expose-gc so garbage is collected first). Rounds: dial N, measure, PADT all, wait
 * until both LNSes are empty. Prints each round and the medians. Root; namespaces `sel-...`.
 *
 * Run: node dist/bench/pppoe-lac-setup.js [--sessions=200] [--rounds=3] [--concurrency=25]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTopology, makeWorkDir, removeWorkDir, requireRoot, run, tail, trackNamespace, untrackNamespace, waitUntil, type Topology } from '../test/interop/lib/index.js';
import { spawnIn, type ManagedProcess } from '../test/interop/lib/process.js';
import { repoRoot } from '../test/interop/lib/host.js';
import { controlRequest, startAccessLns, type AccessLnsDaemon } from './lib/ppp-lns.js';
import { PppoeLoad } from './lib/pppoe-load.js';
import type { StatusView, TunnelView } from '../src/daemon/control-protocol.js';

const arg = (name: string, def: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def);
const SESSIONS = arg('sessions', 200);
const ROUNDS = arg('rounds', 3);
const CONCURRENCY = arg('concurrency', 25);
const LIFETIME_MS = 600_000;
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

function lacConfig(dir: string, lacAddr: string, lns: readonly string[]): string {
  return `[daemon]
control_socket = "${join(dir, 'l2tpd.sock')}"
state_dir = "${join(dir, 'state')}"
log_level = "warn"

[l2tp]
host_name = "sel-lac"

[ipsec]
enabled = false

[ppp]
enabled = false

[[pppoe]]
interface = "selpv1"
ac_name = "sel-lac"
tunnel_select = true
max_sessions_per_mac = 65534
discovery_rate = 100000
discovery_rate_per_mac = 10000

[tunnel_select]
local_address = "${lacAddr}"
default = "reject"
idle_disconnect = 0

[[tunnel_select.domain]]
realm = "isp-a.example"
target = "a"

[[tunnel_select.profile]]
name = "a"
${lns.map((a) => `\n[[tunnel_select.destination]]\nprofile = "a"\naddress = "${a}"\npreference = 1\n`).join('')}`;
}

async function main(): Promise<void> {
  requireRoot();
  const work = makeWorkDir('pppoe-lac-setup');
  let topo: Topology | undefined;
  let cliNs = '';
  const lns: AccessLnsDaemon[] = [];
  let lac: ManagedProcess | undefined;
  let load: PppoeLoad | undefined;
  try {
    topo = await createTopology(['lac', 'lns1', 'lns2'], 92, 'sel');
    const [lacN, l1, l2] = [topo.node('lac'), topo.node('lns1'), topo.node('lns2')];
    cliNs = `${topo.prefix}-cli`;
    trackNamespace(cliNs);
    await run('ip', ['netns', 'add', cliNs]);
    await run('ip', ['-n', lacN.ns, 'link', 'add', 'selpv1', 'type', 'veth', 'peer', 'name', 'selpv0', 'netns', cliNs]);
    await run('ip', ['-n', lacN.ns, 'link', 'set', 'selpv1', 'up']);
    await run('ip', ['-n', cliNs, 'link', 'set', 'selpv0', 'up']);
    const usersFile = join(work, 'users');
    writeFileSync(usersFile, Array.from({ length: SESSIONS }, (_, i) => `"s${i}@isp-a.example" "p${i}"`).join('\n') + '\n', { mode: 0o600 });
    for (const [i, n] of [l1, l2].entries()) {
      const dir = join(work, `lns${i + 1}`);
      await run('mkdir', ['-p', dir]);
      lns.push(await startAccessLns(n.ns, dir, { socket: join(dir, 'l2tpd.sock'), listen: n.address, pool: `100.64.${i * 8}.0/21`, localAddress: `100.64.${i * 8 + 7}.254`, usersFile, tunName: `selt${i}`, auth: ['pap'], echoInterval: 0 }, LIFETIME_MS));
    }
    const dir = join(work, 'lac');
    await run('mkdir', ['-p', dir]);
    const cfg = join(dir, 'l2tpd.toml');
    writeFileSync(cfg, lacConfig(dir, lacN.address, [l1.address, l2.address]));
    const socket = join(dir, 'l2tpd.sock');
    const proc = spawnIn(lacN.ns, process.execPath, ['--expose-gc', join(repoRoot(), 'bin', 'l2tpd.js'), '--config', cfg, '--socket', socket], { name: 'l2tpd (LAC)', lifetimeMs: LIFETIME_MS, logFile: join(dir, 'l2tpd.log'), cwd: repoRoot() });
    lac = proc;
    await waitUntil('LAC control socket', async () => ((await controlRequest(socket, { cmd: 'ping' }, 2000).catch(() => undefined)) === 'pong' ? true : undefined), 20_000, () => tail(proc.output(), 20));
    load = PppoeLoad.open({ netns: cliNs, interface: 'selpv0', auth: 'pap' });
    const heap = async (): Promise<number> => ((await controlRequest(socket, { cmd: 'status' }, 15_000)) as StatusView).memory?.heapUsed ?? 0;
    const held = async (): Promise<number> => {
      let n = 0;
      for (const l of lns) n += ((await controlRequest(l.socket, { cmd: 'show-tunnels' }, 15_000)) as TunnelView[]).reduce((k, t) => k + t.sessions.length, 0);
      return n;
    };
    const rates: number[] = [];
    const perSession: number[] = [];
    // Round 0 warms up (JIT, tunnels); it is printed but not in the medians.
    for (let round = 0; round <= ROUNDS; round++) {
      const before = await heap();
      const r = await load.dial(SESSIONS, (i) => ({ username: `s${i}@isp-a.example`, password: `p${i}` }), 240_000, CONCURRENCY);
      const during = await heap();
      const rate = (r.up / r.elapsedMs) * 1000;
      const bytes = (during - before) / Math.max(1, r.up);
      process.stdout.write(`round ${round}${round === 0 ? ' (warm-up)' : ''}: ${r.up}/${SESSIONS} up in ${r.elapsedMs} ms = ${rate.toFixed(0)} set-ups/s (concurrency ${CONCURRENCY}), set-up median ${median(r.setupMs)} ms p95 ${r.setupMs[Math.floor(r.setupMs.length * 0.95)] ?? 0} ms; LAC heap +${(bytes / 1024).toFixed(1)} KiB per switched session\n`);
      if (r.failed > 0) process.stdout.write(`  failures: ${r.failures.slice(0, 3).join('; ')}\n`);
      if (round > 0) {
        rates.push(rate);
        perSession.push(bytes);
      }
      load.hangup();
      await waitUntil('LNS sessions gone', async () => ((await held()) === 0 ? true : undefined), 60_000, () => tail(proc.output(), 10));
    }
    process.stdout.write(`median of ${ROUNDS} rounds: ${median(rates).toFixed(0)} PPPoE set-ups/s through LAC -> LNS; LAC heap ${(median(perSession) / 1024).toFixed(1)} KiB per switched session (2 shared cores; the LAC, both LNSes and the load client on the same machine)\n`);
  } finally {
    load?.close();
    await lac?.stop(5000).catch(() => undefined);
    for (const l of lns) await l.stop();
    if (cliNs !== '') {
      await run('ip', ['netns', 'del', cliNs], { check: false });
      untrackNamespace(cliNs);
    }
    await topo?.destroy();
    removeWorkDir(work);
  }
}

await main();
