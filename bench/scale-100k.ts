// Scale: N idle PPP sessions (L2TP + LCP + CHAP-MD5 + IPCP) held against one l2tpd LNS process (issue 15).
// The load client is bench/c/pppload.c (built here with the system cc): its own LAC and PPP peer,
// one UDP socket per tunnel (--tunnels tunnels, sessions round-robin over them, so 100k sessions
// = 500 per tunnel at the default 200), a binary heap for its timers, every LCP Echo-Request answered
// in the turn it is read, 4 MiB receive buffers. Topology: namespace h15c (client, 198.18.150.1/30)
// -- veth -- namespace h15l (l2tpd with default [ppp]/[daemon] settings, 198.18.150.2, pool
// 100.64.0.0/15, TUN h15t0, metrics on 127.0.0.1:9115 of that namespace).
// For each N of --sizes: dial all (at most --window negotiating), then hold --hold seconds
// (--hold-max for the largest N); in the middle of the hold one `show sessions` of all sessions and
// 20 metrics scrapes. Sampled once a second: the LNS's CPU (/proc/PID/stat), RSS, the UDP
// RcvbufErrors of its namespace (/proc/PID/net/snmp), and the event-loop lag seen from outside: a
// control-socket `ping` every 250 ms (its round trip, ~0.3 ms when the loop is free).
// Heap per session = (heapUsed after the hold - heapUsed before the dial) / N, both after 3 GCs
// (`status` with --expose-gc); RSS the same way. Sessions lost = up at the end of the dial and gone
// at the end of the hold, as the client saw it (CDN, StopCCN, LCP Terminate).
// Needs root and cc. Run: npm run bench -- scale [-- --sizes=10000,50000,100000 --hold=120 --hold-max=600]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cleanupAll, installHandlers, killPid, trackDir, trackNetns, trackPid, untrackNetns, untrackPid, watchdog } from './lib/cleanup.js';
import { machineLines, loadAverage } from './lib/machine.js';
import { isRoot, run } from './lib/netns.js';
import { flagArg, fmtNum, formatTable, numArg, percentile } from './lib/table.js';
import { controlRequest, renderAccessConfig, writeUsers } from './lib/ppp-lns.js';
import { spawnIn, type ManagedProcess } from '../test/interop/lib/process.js';
import { repoRoot, waitUntil } from '../test/interop/lib/host.js';

const SIZES = (process.argv.find((a) => a.startsWith('--sizes='))?.slice(8) ?? '10000,50000,100000').split(',').map(Number).filter((n) => n > 0);
const TUNNELS = Math.max(1, numArg('tunnels', 200));
const WINDOW = Math.max(1, numArg('window', 400));
const HOLD = numArg('hold', 120);
const HOLD_MAX = numArg('hold-max', 600);
const ECHO = numArg('echo', 30);
/** --prefix=P: names of what the bench creates (namespaces Pc/Pl, veths Pvc/Pvl, TUN Pt0, /tmp/P-prof-N), default h15. */
const PREFIX = process.argv.find((a) => a.startsWith('--prefix='))?.slice(9) ?? 'h15';
const CLI_NS = `${PREFIX}c`;
const LNS_NS = `${PREFIX}l`;
/** --snapshot-dir=DIR: the LNS writes a V8 heap snapshot there (SIGUSR2) before the dial and after the hold; diff with bench/lib/heap-diff.ts. */
const SNAPSHOT_DIR = process.argv.find((a) => a.startsWith('--snapshot-dir='))?.slice(15);
const CLI_IP = '198.18.150.1';
const LNS_IP = '198.18.150.2';
/** --metrics-port=N: the LNS's metrics port (127.0.0.1 of its namespace), default 9115. */
const METRICS = `127.0.0.1:${numArg('metrics-port', 9115)}`;
/** --lns-root=DIR: run the l2tpd of another built tree (an A/B against an older commit with the same client and bench). */
const LNS_ROOT = process.argv.find((a) => a.startsWith('--lns-root='))?.slice(11) ?? repoRoot();
const VERBOSE = flagArg('verbose');
/** --cpu-prof: the LNS runs with --cpu-prof; the profile goes to /tmp/<prefix>-prof-N/ (analyse the hold with bench/lib/cpu-profile.ts). */
const CPU_PROF = flagArg('cpu-prof');
/** --lns-flags=a,b: extra node flags of the LNS (e.g. --perf-basic-prof for `perf record -p`). */
const LNS_FLAGS = (process.argv.find((a) => a.startsWith('--lns-flags='))?.slice(12) ?? '').split(',').filter((f) => f !== '');

/** One second of samples. */
interface Sample {
  readonly t: number;
  readonly cpu: number; // fraction of one core over the last second
  readonly rss: number;
  readonly rcvbufErrors: number;
}

/** The figures of one N. */
interface Row {
  readonly n: number;
  readonly hold: number;
  readonly up: number;
  readonly dialSeconds: number;
  readonly p99: number;
  readonly dropsDial: number;
  readonly dropsHold: number;
  readonly heapPer: number;
  readonly rssPer: number;
  readonly cpuMedian: number;
  readonly cpuMax: number;
  readonly lagMax: number;
  readonly lagDuring: number;
  readonly lost: number;
  readonly failed: number;
  readonly showSessions: string;
  readonly scrapes: string;
  readonly echo: string;
  readonly clientDrops: number;
  /** The daemon's drop counters (status) and /proc/net/snmp at the end of the hold. */
  readonly reported: string;
}

function buildClient(dir: string): string {
  const out = join(dir, 'pppload');
  execFileSync('cc', ['-O2', '-Wall', '-o', out, join(repoRoot(), 'bench', 'c', 'pppload.c')], { stdio: 'inherit' });
  return out;
}

async function setupNetns(): Promise<void> {
  for (const ns of [CLI_NS, LNS_NS]) {
    await run('ip', ['netns', 'del', ns]).catch(() => '');
    trackNetns(ns);
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  await run('ip', ['link', 'add', `${PREFIX}vc`, 'netns', CLI_NS, 'type', 'veth', 'peer', 'name', `${PREFIX}vl`, 'netns', LNS_NS]);
  await run('ip', ['-n', CLI_NS, 'addr', 'add', `${CLI_IP}/30`, 'dev', `${PREFIX}vc`]);
  await run('ip', ['-n', LNS_NS, 'addr', 'add', `${LNS_IP}/30`, 'dev', `${PREFIX}vl`]);
  await run('ip', ['-n', CLI_NS, 'link', 'set', `${PREFIX}vc`, 'up']);
  await run('ip', ['-n', LNS_NS, 'link', 'set', `${PREFIX}vl`, 'up']);
}

async function teardownNetns(): Promise<void> {
  for (const ns of [CLI_NS, LNS_NS]) {
    await run('ip', ['netns', 'del', ns]).catch(() => '');
    untrackNetns(ns);
  }
}

function procCpu(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(parts[11]) + Number(parts[12])) / 100; // utime + stime, clock ticks of 10 ms
}
function procRss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) * 1024;
}
function rcvbufErrors(pid: number): number {
  const lines = readFileSync(`/proc/${pid}/net/snmp`, 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const h = (lines[0] ?? '').split(/\s+/);
  const v = (lines[1] ?? '').split(/\s+/);
  return Number(v[h.indexOf('RcvbufErrors')] ?? 0);
}

/** RcvbufErrors of namespace `ns` (/proc/net/snmp read inside it). */
async function nsRcvbufErrors(ns: string): Promise<number> {
  const lines = (await run('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp'])).split('\n').filter((l) => l.startsWith('Udp:'));
  const h = (lines[0] ?? '').split(/\s+/);
  const v = (lines[1] ?? '').split(/\s+/);
  return Number(v[h.indexOf('RcvbufErrors')] ?? 0);
}

/** `status` (3 GCs first: the LNS runs with --expose-gc) -> heapUsed, rss. */
async function memory(socket: string): Promise<{ heap: number; rss: number }> {
  const s = (await controlRequest(socket, { cmd: 'status' }, 120_000)) as { memory?: { heapUsed: number; rss: number } };
  return { heap: s.memory?.heapUsed ?? 0, rss: s.memory?.rss ?? 0 };
}

/** With --snapshot-dir: SIGUSR2 to the LNS (after `memory`'s GCs), then a ping, which returns once the snapshot is written. */
async function snapshot(socket: string, pid: number): Promise<void> {
  if (SNAPSHOT_DIR === undefined) return;
  process.kill(pid, 'SIGUSR2');
  await new Promise((r) => setTimeout(r, 200));
  await controlRequest(socket, { cmd: 'ping' }, 300_000);
}

/** One metrics scrape from inside the LNS namespace: seconds and bytes. */
async function scrape(): Promise<{ s: number; bytes: number }> {
  const out = await run('ip', ['netns', 'exec', LNS_NS, 'curl', '-s', '-o', '/dev/null', '-w', '%{time_total} %{size_download}', `http://${METRICS}/metrics`], 60_000);
  const [s, b] = out.trim().split(' ');
  return { s: Number(s), bytes: Number(b) };
}

/** The load client in its namespace: lines on stdout, PID tracked. */
function startClient(bin: string, n: number, hold: number): { pid: number; lines: string[]; wait: (re: RegExp, ms: number) => Promise<string>; stop: () => void } {
  const child = spawn('ip', ['netns', 'exec', CLI_NS, bin, LNS_IP, '1701', CLI_IP, String(Math.min(TUNNELS, n)), String(n), String(WINDOW), String(hold), String(4 << 20), String(ECHO)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const pid = child.pid ?? 0;
  trackPid(pid, 'pppload');
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push(l);
    if (VERBOSE) console.log(`  pppload: ${l}`);
    for (const w of waiters.splice(0)) {
      if (w.re.test(l)) w.resolve(l);
      else waiters.push(w);
    }
  });
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  return {
    pid,
    lines,
    wait: (re, ms) =>
      new Promise<string>((resolve, reject) => {
        const hit = lines.find((l) => re.test(l));
        if (hit !== undefined) return resolve(hit);
        const t = setTimeout(() => reject(new Error(`pppload: no ${String(re)} within ${ms} ms; last: ${lines.slice(-3).join(' | ')}`)), ms);
        waiters.push({ re, resolve: (l) => (clearTimeout(t), resolve(l)) });
        void exited.then(() => setTimeout(() => reject(new Error(`pppload exited; last: ${lines.slice(-3).join(' | ')}`)), 100));
      }),
    stop: () => {
      killPid(pid);
      untrackPid(pid);
    },
  };
}

const field = (line: string, k: string): number => Number(new RegExp(`\\b${k}=([-0-9.]+)`).exec(line)?.[1] ?? NaN);

/** Dial n, hold, measure. */
async function one(bin: string, n: number, hold: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}-scale-`));
  trackDir(dir);
  await setupNetns();
  const users = join(dir, 'users');
  writeUsers(users, n);
  const socket = join(dir, 'ctl.sock');
  const cfg = renderAccessConfig({ socket, listen: LNS_IP, pool: '100.64.0.0/15', localAddress: '100.65.255.254', usersFile: users, tunName: `${PREFIX}t0`, echoInterval: ECHO, helloInterval: 60, logLevel: 'warn', stateDir: join(dir, 'state') }).replace(
    '[daemon]\n',
    `[daemon]\nmetrics_listen = "${METRICS}"\n`,
  );
  const cfgFile = join(dir, 'l2tpd.toml');
  (await import('node:fs')).writeFileSync(cfgFile, cfg);
  const lns: ManagedProcess = spawnIn(LNS_NS, process.execPath, ['--expose-gc', ...LNS_FLAGS, ...(SNAPSHOT_DIR !== undefined ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${SNAPSHOT_DIR}`] : []), ...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=/tmp/${PREFIX}-prof-${n}`] : []), join(LNS_ROOT, 'bin', 'l2tpd.js'), '--config', cfgFile, '--socket', socket], { name: 'l2tpd', lifetimeMs: (hold + 900) * 1000, logFile: join(dir, 'l2tpd.log'), cwd: LNS_ROOT });
  try {
    await waitUntil('l2tpd control socket', async () => ((await controlRequest(socket, { cmd: 'ping' }, 2000).catch(() => undefined)) === 'pong' ? true : undefined), 20_000);
    const before = await memory(socket);
    await snapshot(socket, lns.pid);
    const samples: Sample[] = [];
    let lastCpu = procCpu(lns.pid);
    let lag = { max: 0, during: 0 };
    let inShow = false;
    const sampler = setInterval(() => {
      try {
        const c = procCpu(lns.pid);
        samples.push({ t: performance.now(), cpu: c - lastCpu, rss: procRss(lns.pid), rcvbufErrors: rcvbufErrors(lns.pid) });
        lastCpu = c;
      } catch {
        // exited
      }
    }, 1000);
    let pinging = true;
    const pinger = (async () => {
      while (pinging) {
        const t = performance.now();
        await controlRequest(socket, { cmd: 'ping' }, 30_000).catch(() => undefined);
        const d = performance.now() - t;
        if (inShow) lag.during = Math.max(lag.during, d);
        else lag.max = Math.max(lag.max, d);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const client = startClient(bin, n, hold);
    try {
      await client.wait(/^tunnels /, 120_000);
      const drops0 = rcvbufErrors(lns.pid);
      const dialed = await client.wait(/^dialed /, 900_000);
      const drops1 = rcvbufErrors(lns.pid);
      const holdStart = performance.now();
      lag = { max: 0, during: 0 };
      const cpuFrom = samples.length;
      // The middle of the hold: show sessions of all, then 20 scrapes.
      await new Promise((r) => setTimeout(r, (hold * 1000) / 2));
      inShow = true;
      const ts = performance.now();
      const sessions = (await controlRequest(socket, { cmd: 'show-sessions' }, 300_000)) as unknown[];
      const showS = (performance.now() - ts) / 1000;
      const sc: number[] = [];
      let bytes = 0;
      for (let i = 0; i < 20; i++) {
        const r = await scrape();
        sc.push(r.s);
        bytes = r.bytes;
      }
      inShow = false;
      const showEnd = performance.now();
      const final = await client.wait(/^final /, (hold + 120) * 1000);
      const drops2 = rcvbufErrors(lns.pid);
      const holdSamples = samples.slice(cpuFrom).filter((s) => s.t > holdStart + 2000 && (s.t < ts || s.t > showEnd + 2000));
      pinging = false;
      const after = await memory(socket);
      await snapshot(socket, lns.pid);
      // The daemon's own drop report (status -> kernel) beside /proc/PID/net/snmp read here.
      const st = (await controlRequest(socket, { cmd: 'status' }, 120_000)) as { kernel?: { sockets?: { drops?: number }[]; udp?: { rcvbufErrors: number } }; echo?: { misses: number; timeouts: number }; sessions?: number; tunnels?: number };
      // Why sessions ended, from the daemon itself: our echo-timeouts and the tunnels' close causes.
      const closes = await run('ip', ['netns', 'exec', LNS_NS, 'curl', '-s', `http://${METRICS}/metrics`], 60_000).then(
        (t) => t.split('\n').filter((l) => l.startsWith('l2tp_tunnels_closed_total{')).map((l) => l.replace('l2tp_tunnels_closed_total', '')).join(' ') || 'none',
        () => '?',
      );
      const reported = `daemon status: RcvbufErrors ${st.kernel?.udp?.rcvbufErrors ?? '?'}, socket drops ${(st.kernel?.sockets ?? []).map((x) => x.drops ?? '?').join('+')}; /proc/net/snmp RcvbufErrors ${rcvbufErrors(lns.pid)}; echo misses ${st.echo?.misses ?? '?'}, echo-timeouts ${st.echo?.timeouts ?? '?'}; tunnels closed ${closes}`;
      const up = field(dialed, 'up');
      const cpus = holdSamples.map((s) => s.cpu);
      return {
        n,
        hold,
        up,
        dialSeconds: field(dialed, 's'),
        p99: field(dialed, 'p99'),
        dropsDial: drops1 - drops0,
        dropsHold: drops2 - drops1,
        heapPer: (after.heap - before.heap) / n,
        rssPer: (after.rss - before.rss) / n,
        cpuMedian: percentile(cpus, 50) ?? NaN,
        cpuMax: Math.max(...cpus),
        lagMax: lag.max,
        lagDuring: lag.during,
        lost: field(final, 'lost'),
        failed: field(dialed, 'failed'),
        showSessions: `${fmtNum(sessions.length)} in ${showS.toFixed(2)} s`,
        scrapes: `${fmtNum(sc.length)}: median ${((percentile(sc, 50) ?? 0) * 1000).toFixed(0)} ms, max ${(Math.max(...sc) * 1000).toFixed(0)} ms, ${fmtNum(bytes)} B`,
        echo: `${fmtNum(field(final, 'echo'))} answered; per 100 ms max ${field(final, 'win_max')} / avg ${field(final, 'win_avg')}; longest gap ${fmtNum(field(final, 'gap_max_ms'))} ms`,
        clientDrops: await nsRcvbufErrors(CLI_NS),
        reported,
      };
    } finally {
      pinging = false;
      clearInterval(sampler);
      await pinger;
      client.stop();
    }
  } finally {
    await lns.stop(CPU_PROF ? 180_000 : 5000);
    await teardownNetns();
  }
}

async function main(): Promise<void> {
  if (!isRoot()) {
    console.log('SKIP: bench/scale-100k needs root (network namespaces)');
    return;
  }
  installHandlers();
  const total = SIZES.reduce((a, n) => a + (n === Math.max(...SIZES) ? HOLD_MAX : HOLD) + 300, 0);
  watchdog(total * 1000, 'scale-100k');
  console.log(machineLines().join('\n'));
  console.log(`load client bench/c/pppload.c: ${TUNNELS} tunnels (one UDP socket each), window ${WINDOW}; LNS echo_interval ${ECHO} s, hello_interval 60 s; 2 cores shared with other jobs`);
  const bin = buildClient(mkdtempSync(join(tmpdir(), `${PREFIX}-pppload-`)));
  const rows: Row[] = [];
  for (const n of SIZES) {
    const hold = n === Math.max(...SIZES) ? HOLD_MAX : HOLD;
    console.log(`\n--- ${fmtNum(n)} sessions, hold ${hold} s (load ${loadAverage()})`);
    try {
      const r = await one(bin, n, hold);
      rows.push(r);
      console.log(JSON.stringify(r));
    } catch (e) {
      console.log(`${fmtNum(n)}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const mb = (x: number): string => fmtNum(x);
  console.log(
    `\n${formatTable(
      ['sessions', 'hold', 'up', 'dial', 'set-up p99', 'LNS drops dial / hold', 'heap / RSS per session', 'idle CPU median, max', 'worst lag (idle / during show)', 'lost in hold'],
      rows.map((r) => [
        fmtNum(r.n),
        `${r.hold} s`,
        fmtNum(r.up),
        `${r.dialSeconds.toFixed(1)} s`,
        `${(r.p99 / 1000).toFixed(2)} s`,
        `${fmtNum(r.dropsDial)} / ${fmtNum(r.dropsHold)}`,
        `${mb(r.heapPer)} B / ${mb(r.rssPer)} B`,
        `${(r.cpuMedian * 100).toFixed(1)} %, ${(r.cpuMax * 100).toFixed(1)} %`,
        `${r.lagMax.toFixed(0)} ms / ${r.lagDuring.toFixed(0)} ms`,
        fmtNum(r.lost),
      ]),
    )}`,
  );
  for (const r of rows) console.log(`${fmtNum(r.n)}: show sessions ${r.showSessions}; metrics scrapes ${r.scrapes}; echo ${r.echo}; client socket drops ${r.clientDrops}; dial failures ${r.failed}; ${r.reported}`);
  console.log(`load at the end: ${loadAverage()}`);
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
