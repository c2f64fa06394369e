/**
 * PPPoE session set-ups per second through our LAC (l2tpd, `[[pppoe]] tunnel_select = true`, the
 * domain map sending `@isp-a.example` to one profile of two LNSes at equal preference) into our LNS
 * (two l2tpd with PPP termination), with the PPPoE load client (bench/lib/pppoe-load.ts: PADI..PADS,
 * LCP, PAP, IPCP) on a veth; and the LAC's heap per switched session (its `status` memory, the LAC
 * started with --expose-gc so garbage is collected first). Rounds: dial N, measure, PADT all, wait
 * until both LNSes are empty. Prints each round and the medians. Root; namespaces `h14-...`.
 *
 * Relay: per round, RELAY 100-octet IPv4 packets per session upstream (the load client -> LAC -> LNS,
 * counted at the LNSes) and downstream (UDP from the LNS namespaces -> LAC -> the load client).
 * `--heap-sessions=N`: after the rounds, N sessions at once and the LAC heap per session.
 *
 * Run: node dist/bench/pppoe-lac-setup.js [--sessions=200] [--rounds=3] [--concurrency=25] [--relay=200] [--heap-sessions=10000]
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
const RELAY_PER_SESSION = arg('relay', 200);
const HEAP_SESSIONS = arg('heap-sessions', 0);
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const range = (xs: readonly number[], digits = 0): string => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;
const loadavg = async (): Promise<string> => (await run('cat', ['/proc/loadavg'])).stdout.split(' ').slice(0, 3).join(' ');

/** UDP from one namespace to each address, `n` packets each (the downstream L2TP -> PPPoE load). */
const BLAST = `const d=require('dgram').createSocket('udp4');const [n,...a]=process.argv.slice(1);const b=Buffer.alloc(72);let k=0;const N=Number(n)*a.length;
function go(){for(let j=0;j<256&&k<N;j++,k++)d.send(b,40000,a[k%a.length]);if(k<N)setImmediate(go);else setTimeout(()=>d.close(),200);}go();`;

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
interface = "h14b1"
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

/** Upstream: the load client sends on every session, the LNSes count; downstream: UDP from the LNSes to every client, the load client counts. Packets/s each. */
async function measureRelay(load: PppoeLoad, lns: readonly AccessLnsDaemon[], nodes: readonly { readonly ns: string }[], up: number): Promise<{ up: number; down: number }> {
  if (RELAY_PER_SESSION <= 0 || up === 0) return { up: 0, down: 0 };
  const rx = async (): Promise<number> => {
    let n = 0;
    for (const l of lns) n += ((await controlRequest(l.socket, { cmd: 'show-tunnels' }, 15_000)) as TunnelView[]).reduce((k, t) => k + t.data.rxPackets, 0);
    return n;
  };
  const r0 = await rx();
  const t0 = performance.now();
  await load.sendIp('203.0.113.1', RELAY_PER_SESSION);
  const sendMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 300));
  const upPps = ((await rx()) - r0) / (sendMs / 1000);
  const addrs = load.upAddresses();
  const mine = (i: number): string[] => addrs.filter((a) => (Number(a.split('.')[2]) >> 6) === i);
  const d0 = load.ipReceived;
  const t1 = performance.now();
  const jobs = nodes.flatMap((n, i) => (mine(i).length === 0 ? [] : [run('ip', ['netns', 'exec', n.ns, process.execPath, '-e', BLAST, String(RELAY_PER_SESSION), ...mine(i)], { timeoutMs: 120_000 })]));
  await Promise.all(jobs);
  const downMs = performance.now() - t1 - 200;
  await new Promise((r) => setTimeout(r, 300));
  return { up: upPps, down: (load.ipReceived - d0) / (Math.max(1, downMs) / 1000) };
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
    topo = await createTopology(['lac', 'lns1', 'lns2'], 142, 'h14');
    const [lacN, l1, l2] = [topo.node('lac'), topo.node('lns1'), topo.node('lns2')];
    cliNs = `${topo.prefix}-cli`;
    trackNamespace(cliNs);
    await run('ip', ['netns', 'add', cliNs]);
    await run('ip', ['-n', lacN.ns, 'link', 'add', 'h14b1', 'type', 'veth', 'peer', 'name', 'h14b0', 'netns', cliNs]);
    await run('ip', ['-n', lacN.ns, 'link', 'set', 'h14b1', 'up']);
    await run('ip', ['-n', cliNs, 'link', 'set', 'h14b0', 'up']);
    const usersFile = join(work, 'users');
    writeFileSync(usersFile, Array.from({ length: SESSIONS }, (_, i) => `"s${i}@isp-a.example" "p${i}"`).join('\n') + '\n', { mode: 0o600 });
    for (const [i, n] of [l1, l2].entries()) {
      const dir = join(work, `lns${i + 1}`);
      await run('mkdir', ['-p', dir]);
      lns.push(await startAccessLns(n.ns, dir, { socket: join(dir, 'l2tpd.sock'), listen: n.address, pool: `100.64.${i * 64}.0/18`, localAddress: `100.64.${i * 64 + 63}.254`, usersFile, tunName: `h14s${i}`, auth: ['pap'], echoInterval: 0 }, LIFETIME_MS));
    }
    const dir = join(work, 'lac');
    await run('mkdir', ['-p', dir]);
    const cfg = join(dir, 'l2tpd.toml');
    writeFileSync(cfg, lacConfig(dir, lacN.address, [l1.address, l2.address]));
    const socket = join(dir, 'l2tpd.sock');
    const proc = spawnIn(lacN.ns, process.execPath, ['--expose-gc', join(repoRoot(), 'bin', 'l2tpd.js'), '--config', cfg, '--socket', socket], { name: 'l2tpd (LAC)', lifetimeMs: LIFETIME_MS, logFile: join(dir, 'l2tpd.log'), cwd: repoRoot() });
    lac = proc;
    await waitUntil('LAC control socket', async () => ((await controlRequest(socket, { cmd: 'ping' }, 2000).catch(() => undefined)) === 'pong' ? true : undefined), 20_000, () => tail(proc.output(), 20));
    load = PppoeLoad.open({ netns: cliNs, interface: 'h14b0', auth: 'pap' });
    const heap = async (): Promise<number> => ((await controlRequest(socket, { cmd: 'status' }, 15_000)) as StatusView).memory?.heapUsed ?? 0;
    const held = async (): Promise<number> => {
      let n = 0;
      for (const l of lns) n += ((await controlRequest(l.socket, { cmd: 'show-tunnels' }, 15_000)) as TunnelView[]).reduce((k, t) => k + t.sessions.length, 0);
      return n;
    };
    const rates: number[] = [];
    const upRates: number[] = [];
    const downRates: number[] = [];
    const perSession: number[] = [];
    // Round 0 warms up (JIT, tunnels); it is printed but not in the medians.
    for (let round = 0; round <= ROUNDS; round++) {
      const before = await heap();
      const r = await load.dial(SESSIONS, (i) => ({ username: `s${i}@isp-a.example`, password: `p${i}` }), 240_000, CONCURRENCY);
      const during = await heap();
      const rate = (r.up / r.elapsedMs) * 1000;
      const relay = await measureRelay(load, lns, [l1, l2], r.up);
      upRates.push(relay.up);
      downRates.push(relay.down);
      const bytes = (during - before) / Math.max(1, r.up);
      process.stdout.write(`round ${round}${round === 0 ? ' (warm-up)' : ''}: ${r.up}/${SESSIONS} up in ${r.elapsedMs} ms = ${rate.toFixed(0)} set-ups/s (concurrency ${CONCURRENCY}), set-up median ${median(r.setupMs)} ms p95 ${r.setupMs[Math.floor(r.setupMs.length * 0.95)] ?? 0} ms; LAC heap +${(bytes / 1024).toFixed(1)} KiB per switched session; relayed ${upRates.at(-1)?.toFixed(0)} pkt/s PPPoE->L2TP, ${downRates.at(-1)?.toFixed(0)} pkt/s L2TP->PPPoE; load ${await loadavg()}\n`);
      if (r.failed > 0) process.stdout.write(`  failures: ${r.failures.slice(0, 3).join('; ')}\n`);
      if (round > 0) {
        rates.push(rate);
        perSession.push(bytes);
      }
      load.hangup();
      await waitUntil('LNS sessions gone', async () => ((await held()) === 0 ? true : undefined), 60_000, () => tail(proc.output(), 10));
    }
    const m = (k: number): string => range(perSession.map((b) => b / k), 1);
    process.stdout.write(`median (range) of ${ROUNDS} rounds of ${SESSIONS}: ${range(rates)} PPPoE set-ups/s through LAC -> LNS; relayed ${range(upRates)} pkt/s PPPoE->L2TP, ${range(downRates)} pkt/s L2TP->PPPoE (${RELAY_PER_SESSION} x 100-octet packets per session); LAC heap ${m(1024)} KiB per switched session; load ${await loadavg()} (2 shared cores; the LAC, both LNSes and the load client on the same machine)\n`);
    if (HEAP_SESSIONS > 0) {
      const before = await heap();
      const r = await load.dial(HEAP_SESSIONS, (i) => ({ username: `s${i % SESSIONS}@isp-a.example`, password: `p${i % SESSIONS}` }), 1_200_000, CONCURRENCY);
      const during = await heap();
      process.stdout.write(`heap at ${r.up}/${HEAP_SESSIONS} switched sessions: LAC heap +${((during - before) / Math.max(1, r.up) / 1024).toFixed(2)} KiB per session (${(during / 1048576).toFixed(1)} MiB used), set-ups ${((r.up / r.elapsedMs) * 1000).toFixed(0)}/s; load ${await loadavg()}\n`);
      load.hangup();
      await waitUntil('LNS sessions gone', async () => ((await held()) === 0 ? true : undefined), 300_000, () => tail(proc.output(), 10));
    }
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
