/**
 * LAC tunnel selection, failover on StopCCN against a real refusing LNS (issue 14 item 4): the
 * profile's preferred destination is xl2tpd 1.3 with `access control = yes` and a `lac =` list
 * without our address, so it answers our SCCRQ with a StopCCN ("No Authorization"); the next
 * preference is our own l2tpd terminating PPP. A subscriber of our PPPoE load client (a veth into
 * the LAC's namespace) lands there; the log says why the first was skipped, `l2tpctl show
 * destinations --json` shows the refusing LNS dead (last failure stopccn) and the other alive with
 * the session. A realm mapped to `local` is terminated by the LAC itself (its pool), and the address
 * is free again after the PADT. The capture of the tunnels' LAN is clean in tshark.
 *
 *   cli ns: h14v0 --veth-- h14v1 (LAC's AC) | LAC eth0 --br0-- xl2tpd (refuses), our LNS
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  analyzeCapture, createTopology, describeReport, ensureDebianPackages, makeWorkDir, parseLogLines, removeWorkDir, requireRoot, run, startCapture, tail, trackNamespace, untrackNamespace, waitUntil,
  type Capture, type Topology,
} from './lib/index.js';
import { startXl2tpd, type Xl2tpd } from './lib/xl2tpd.js';
import { controlRequest, startAccessLns, type AccessLnsDaemon } from '../../bench/lib/ppp-lns.js';
import { PppoeLoad } from '../../bench/lib/pppoe-load.js';
import { spawnIn, type ManagedProcess } from './lib/process.js';
import { repoRoot } from './lib/host.js';

const TUNNEL_SECRET = 'h14-tunnel-s3cret';
const LIFETIME_MS = 300_000;

let topo: Topology | undefined;
let cliNs = '';
let work = '';
let xl2: Xl2tpd | undefined;
let lns: AccessLnsDaemon | undefined;
let lac: ManagedProcess | undefined;
let load: PppoeLoad | undefined;
let capture: Capture | undefined;
let failed = true;

before(async () => {
  requireRoot();
  await ensureDebianPackages(['xl2tpd', 'tshark', 'iproute2']);
}, { timeout: 1_800_000 });

after(async () => {
  load?.close();
  await capture?.stop().catch(() => undefined);
  await lac?.stop(5000).catch(() => undefined);
  await lns?.stop();
  await xl2?.stop();
  if (cliNs !== '') {
    await run('ip', ['netns', 'del', cliNs], { check: false });
    untrackNamespace(cliNs);
  }
  await topo?.destroy();
  if (work !== '') {
    if (failed) process.stderr.write(`pppoe-select-stopccn: artefacts kept in ${work}\n`);
    else removeWorkDir(work);
  }
});

function lacConfig(dir: string, lacAddr: string, refusing: string, good: string, users: string): string {
  return `[daemon]
control_socket = "${join(dir, 'l2tpd.sock')}"
state_dir = "${join(dir, 'state')}"
log_level = "info"

[l2tp]
host_name = "h14-lac"
retransmit_initial = 1

[ipsec]
enabled = false

[[listen]]
address = "127.0.0.1"
port = 21401

[ppp]
auth = ["pap", "chap"]
echo_interval = 0
dns = []

[pool]
ipv4 = "100.64.140.0/24"
local_address = "100.64.140.1"

[users]
file = "${users}"

[tun]
name = "h14t0"

[[pppoe]]
interface = "h14v1"
ac_name = "h14-lac"
tunnel_select = true

[tunnel_select]
local_address = "${lacAddr}"
default = "reject"
sccrq_retries = 3

[[tunnel_select.domain]]
realm = "isp-s.example"
target = "isp-s"

[[tunnel_select.domain]]
realm = "local.example"
target = "local"

[[tunnel_select.profile]]
name = "isp-s"
dead_time = 300
secret = "${TUNNEL_SECRET}"

[[tunnel_select.destination]]
profile = "isp-s"
address = "${refusing}"
preference = 1

[[tunnel_select.destination]]
profile = "isp-s"
address = "${good}"
preference = 2
`;
}

interface SelDest {
  readonly remoteAddress: string;
  readonly tunnels: number;
  readonly tunnelsEstablished: number;
  readonly sessions: number;
  readonly selection?: { state: string; deadForSeconds?: number; sessions: number; failures: number; lastFailure?: { cause: string }; profiles: { preference: number; level: number }[] };
}

test('StopCCN from the preferred LNS (xl2tpd refusing) -> the next preference; show destinations; a local realm terminated at the LAC; clean capture', { timeout: 280_000 }, async (t) => {
  work = makeWorkDir('pppoe-select-stopccn');
  topo = await createTopology(['lac', 'lns', 'xl2'], 141, 'h14');
  const tp = topo;
  const [lacN, lnsN, xlN] = [tp.node('lac'), tp.node('lns'), tp.node('xl2')];
  cliNs = `${tp.prefix}-cli`;
  trackNamespace(cliNs);
  await run('ip', ['netns', 'add', cliNs]);
  await run('ip', ['-n', lacN.ns, 'link', 'add', 'h14v1', 'type', 'veth', 'peer', 'name', 'h14v0', 'netns', cliNs]);
  await run('ip', ['-n', lacN.ns, 'link', 'set', 'h14v1', 'up']);
  await run('ip', ['-n', cliNs, 'link', 'set', 'h14v0', 'up']);
  capture = await startCapture(tp.bridgeNs, 'br0', join(work, 'lan.pcap'), { filter: 'udp port 1701', maxSeconds: 240 });

  // xl2tpd lets only 198.18.141.250 in: our LAC gets a StopCCN.
  xl2 = await startXl2tpd({ ns: xlN.ns, dir: join(work, 'xl2tpd'), listenAddress: xlN.address, lns: { hostname: 'h14-xl2' }, secret: TUNNEL_SECRET, allowedLacs: ['198.18.141.250'], lifetimeMs: LIFETIME_MS });
  const users = join(work, 'users');
  writeFileSync(users, '"sam@isp-s.example" "s4m-pass"\n"lou@local.example" "l0u-pass"\n', { mode: 0o600 });
  const lnsDir = join(work, 'lns');
  await run('mkdir', ['-p', lnsDir]);
  lns = await startAccessLns(lnsN.ns, lnsDir, {
    socket: join(lnsDir, 'l2tpd.sock'), listen: lnsN.address, pool: '100.64.144.0/24', localAddress: '100.64.144.1', usersFile: users, tunName: 'h14t1', auth: ['pap', 'chap'], echoInterval: 0, tunnelSecret: TUNNEL_SECRET, logLevel: 'info',
  }, LIFETIME_MS);

  const lacDir = join(work, 'lac');
  await run('mkdir', ['-p', lacDir]);
  const cfg = join(lacDir, 'l2tpd.toml');
  writeFileSync(cfg, lacConfig(lacDir, lacN.address, xlN.address, lnsN.address, users));
  const socket = join(lacDir, 'l2tpd.sock');
  lac = spawnIn(lacN.ns, process.execPath, [join(repoRoot(), 'bin', 'l2tpd.js'), '--config', cfg, '--socket', socket], { name: 'l2tpd (LAC)', lifetimeMs: LIFETIME_MS, logFile: join(lacDir, 'l2tpd.log'), cwd: repoRoot() });
  const lacProc = lac;
  await waitUntil('LAC control socket', async () => {
    if (!lacProc.running()) throw new Error(`LAC exited at start:\n${tail(lacProc.output(), 30)}`);
    return (await controlRequest(socket, { cmd: 'ping' }, 2000).catch(() => undefined)) === 'pong' ? true : undefined;
  }, 20_000, () => tail(lacProc.output(), 30));
  const logs = (): ReturnType<typeof parseLogLines> => parseLogLines(lacProc.output());
  const ctx = (): string => `LAC log:\n${tail(lacProc.output(), 40)}\nxl2tpd:\n${xl2?.logTail(20) ?? ''}\nLNS:\n${lns?.logTail(15) ?? ''}`;
  load = PppoeLoad.open({ netns: cliNs, interface: 'h14v0', auth: 'pap' });

  await t.test('the refusing LNS answers StopCCN: dead at once (stopccn, the result logged), the session lands on the next preference', async () => {
    const l = load;
    assert.ok(l !== undefined);
    const started = Date.now();
    const r = await l.dial(1, () => ({ username: 'sam@isp-s.example', password: 's4m-pass' }), 40_000);
    const took = Date.now() - started;
    assert.equal(r.up, 1, `sam is up: ${r.failures.join('; ')}\n${ctx()}`);
    const addr = r.addresses[0] ?? '';
    assert.match(addr, /^100\.64\.144\./, 'an address from the LNS pool');
    const dead = logs().find((x) => x.msg.includes(`LNS ${xlN.address}:1701 is dead`));
    assert.ok(dead !== undefined, `dead mark logged\n${ctx()}`);
    assert.equal(dead.raw['cause'], 'stopccn', dead.msg);
    assert.equal(typeof dead.raw['result'], 'number', `the StopCCN result code is in the log: ${dead.msg}`);
    const routed = logs().filter((x) => x.msg.startsWith('LAC: sam@isp-s.example -> LNS')).map((x) => `${String(x.raw['lns'])}${x.raw['failover'] === true ? ' failover' : ''}`);
    assert.deepEqual(routed, [xlN.address, `${lnsN.address} failover`], ctx());
    const denied = /[Dd]enied|No Authorization|unauthorized/.test(xl2?.logTail(400) ?? '');
    assert.ok(denied, `xl2tpd says it refused us\n${xl2?.logTail(30) ?? ''}`);
    const dests = JSON.parse((await run(process.execPath, [join(repoRoot(), 'bin', 'l2tpctl.js'), '--socket', socket, 'show', 'destinations', '--json'], { timeoutMs: 15_000 })).stdout) as SelDest[];
    const x = dests.find((d) => d.remoteAddress === xlN.address);
    const g = dests.find((d) => d.remoteAddress === lnsN.address);
    assert.equal(x?.selection?.state, 'dead', JSON.stringify(dests));
    assert.equal(x.selection.lastFailure?.cause, 'stopccn');
    assert.ok((x.selection.deadForSeconds ?? 0) > 200, 'dead for dead_time 300 s');
    assert.equal(x.tunnelsEstablished, 0, 'no tunnel up to the refusing LNS');
    assert.deepEqual(x.selection.profiles.map((p) => [p.preference, p.level]), [[1, 0]]);
    assert.deepEqual({ state: g?.selection?.state, sessions: g?.selection?.sessions, tunnels: g?.tunnels, at: g?.sessions }, { state: 'alive', sessions: 1, tunnels: 1, at: 1 });
    const text = (await run(process.execPath, [join(repoRoot(), 'bin', 'l2tpctl.js'), '--socket', socket, 'show', 'destinations'], { timeoutMs: 15_000 })).stdout;
    t.diagnostic(`show destinations:\n${text}`);
    assert.match(text, new RegExp(`${xlN.address.replace(/\./g, '\\.')}:1701 +dead`));
    process.stdout.write(`# StopCCN failover: sam up on ${lnsN.address} with ${addr} after ${took} ms; ${dead.msg}\n`);
    l.hangup();
    await waitUntil('LNS session gone', async () => (((await controlRequest(lns?.socket ?? '', { cmd: 'show-sessions' }, 5000)) as unknown[]).length === 0 ? true : undefined), 20_000, ctx);
  });

  await t.test('a realm mapped to local: terminated by the LAC (its pool), no tunnel; address free after the PADT', async () => {
    const l = load;
    assert.ok(l !== undefined);
    const r = await l.dial(1, () => ({ username: 'lou@local.example', password: 'l0u-pass' }), 40_000);
    assert.equal(r.up, 1, `lou is up: ${r.failures.join('; ')}\n${ctx()}`);
    assert.match(r.addresses[0] ?? '', /^100\.64\.140\./, 'an address from the LAC pool');
    assert.ok(logs().some((x) => /LAC: lou@local\.example terminated locally/.test(x.msg)), ctx());
    const st = (await controlRequest(socket, { cmd: 'status' }, 5000)) as { pool?: { inUse: number } };
    assert.equal(st.pool?.inUse, 1);
    l.hangup();
    await waitUntil('LAC pool free', async () => (((await controlRequest(socket, { cmd: 'status' }, 5000)) as { pool?: { inUse: number } }).pool?.inUse === 0 ? true : undefined), 20_000, ctx);
  });

  const c = capture;
  capture = undefined;
  await c.stop();
  const report = await analyzeCapture(c.file);
  t.diagnostic(describeReport(report).split('\n')[0] ?? '');
  assert.ok(report.packets > 0);
  assert.equal(report.malformed, 0, describeReport(report));
  assert.equal(report.errors, 0, describeReport(report));
  assert.equal(report.warnings, 0, describeReport(report));
  const stops = (await run('tshark', ['-n', '-r', c.file, '-Y', `l2tp.avp.message_type == 4 && ip.src == ${xlN.address}`], { timeoutMs: 30_000 })).stdout.split('\n').filter((x) => x.trim() !== '').length;
  assert.ok(stops >= 1, 'the StopCCN from xl2tpd is in the capture');
  failed = false;
});
