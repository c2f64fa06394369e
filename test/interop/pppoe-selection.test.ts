/**
 * LAC tunnel selection against real peers (issue 14 item 4, interop c): FreeRADIUS 3.2 (Debian)
 * answers the LAC's Access-Requests with tagged RFC 2868 tunnel attributes (Tunnel-Type,
 * -Medium-Type, -Server-Endpoint, -Password, -Preference, -Assignment-Id, -Client-Auth-ID) naming
 * two LNS endpoints; the LNSes are our own l2tpd with PPP termination (proxy LCP / proxy PAP checked
 * against their users files, tunnel authentication with the Tunnel-Password secret). Subscribers
 * are our PPPoE load client (bench/lib/pppoe-load.ts) on a veth into the LAC's namespace.
 *
 *  a. `user@isp-b.example`: preference 1 is an address where nothing answers, preference 2 is LNS 1:
 *     the SCCRQs to the first time out (3 retransmissions), it is marked dead, the session lands on
 *     LNS 1 and gets an address from its pool.
 *  b. `v<i>@isp-c.example` (100 subscribers): both LNSes at the same preference, round-robin: the
 *     split is printed and must be 50 / 50, each LNS holding its 50 sessions.
 *  c. `carol@isp-d.example`: the Access-Accept's Tunnel-Client-Endpoint is a second address of the
 *     LAC (RFC 2868 §3.3): the LNS sees the SCCRQ and the tunnel from that address, not from the
 *     LAC's `local_address`, and the session comes up.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTopology, ensureDebianPackages, makeWorkDir, parseLogLines, removeWorkDir, requireRoot, run, tail, trackNamespace, untrackNamespace, waitUntil, type Topology } from './lib/index.js';
import { startFreeRadius, type FreeRadius, type FreeRadiusUser } from './lib/freeradius.js';
import { controlRequest, startAccessLns, type AccessLnsDaemon } from '../../bench/lib/ppp-lns.js';
import { PppoeLoad } from '../../bench/lib/pppoe-load.js';
import { spawnIn, type ManagedProcess } from './lib/process.js';
import { repoRoot } from './lib/host.js';

const RADIUS_SECRET = 'sel-radius-s3cret';
const TUNNEL_SECRET = 'sel-tunnel-s3cret';
const SPLIT = 100;
const LIFETIME_MS = 400_000;

let topo: Topology | undefined;
let cliNs = '';
let work = '';
let rad: FreeRadius | undefined;
const lns: (AccessLnsDaemon | undefined)[] = [undefined, undefined];
let lac: ManagedProcess | undefined;
let load: PppoeLoad | undefined;
let failed = true;

before(async () => {
  requireRoot();
  await ensureDebianPackages(['freeradius', 'freeradius-utils', 'iproute2']);
}, { timeout: 1_800_000 });

after(async () => {
  load?.close();
  await lac?.stop(5000).catch(() => undefined);
  for (const l of lns) await l?.stop();
  await rad?.stop();
  if (cliNs !== '') {
    await run('ip', ['netns', 'del', cliNs], { check: false });
    untrackNamespace(cliNs);
  }
  await topo?.destroy();
  if (work !== '') {
    if (failed) process.stderr.write(`pppoe-selection: artefacts kept in ${work}\n`);
    else removeWorkDir(work);
  }
});

/** Tagged RFC 2868 groups in FreeRADIUS users-file syntax. */
function tunnelReply(groups: readonly { readonly tag: number; readonly endpoint: string; readonly preference: number; readonly clientEndpoint?: string }[]): string[] {
  return groups.flatMap((g) => [
    ...(g.clientEndpoint !== undefined ? [`Tunnel-Client-Endpoint:${g.tag} := "${g.clientEndpoint}"`] : []),
    `Tunnel-Type:${g.tag} := L2TP`,
    `Tunnel-Medium-Type:${g.tag} := IPv4`,
    `Tunnel-Server-Endpoint:${g.tag} := "${g.endpoint}"`,
    `Tunnel-Password:${g.tag} := "${TUNNEL_SECRET}"`,
    `Tunnel-Preference:${g.tag} := ${g.preference}`,
    `Tunnel-Assignment-Id:${g.tag} := "sel-${g.endpoint}"`,
    `Tunnel-Client-Auth-Id:${g.tag} := "sel-lac"`,
  ]);
}

function lacConfig(dir: string, radiusAddr: string, lacAddr: string): string {
  return `[daemon]
control_socket = "${join(dir, 'l2tpd.sock')}"
state_dir = "${join(dir, 'state')}"
log_level = "info"

[l2tp]
host_name = "sel-lac"
retransmit_initial = 1

[ipsec]
enabled = false

[ppp]
enabled = false

[[pppoe]]
interface = "selpv1"
ac_name = "sel-lac"
tunnel_select = true
max_sessions_per_mac = 200
discovery_rate = 5000
discovery_rate_per_mac = 5000

[tunnel_select]
local_address = "${lacAddr}"
default = "reject"
radius = true
sccrq_retries = 3
dead_time = 300

[radius]
auth_order = ["radius"]

[[radius.server]]
name = "fr"
address = "${radiusAddr}"
secret = "${RADIUS_SECRET}"
role = ["auth"]
timeout = 3
`;
}

test('LAC tunnel selection with FreeRADIUS tunnel attributes: preferred LNS down -> the other; 100 sessions at equal preference split 50/50', { timeout: 380_000 }, async (t) => {
  work = makeWorkDir('pppoe-selection');
  topo = await createTopology(['lac', 'lns1', 'lns2', 'rad'], 91, 'sel');
  const tp = topo;
  const [lacN, l1, l2, radN] = [tp.node('lac'), tp.node('lns1'), tp.node('lns2'), tp.node('rad')];
  // An address on the LAN where nobody answers (no ARP reply): the preferred LNS that is down.
  const downAddr = lacN.address.replace(/\.\d+$/, '.200');
  // A second address of the LAC: carol's Tunnel-Client-Endpoint (c).
  const lacAddr2 = lacN.address.replace(/\.\d+$/, '.150');
  await run('ip', ['-n', lacN.ns, 'addr', 'add', `${lacAddr2}/24`, 'dev', lacN.iface]);
  // The subscribers' namespace and its veth into the LAC's.
  cliNs = `${tp.prefix}-cli`;
  trackNamespace(cliNs);
  await run('ip', ['netns', 'add', cliNs]);
  await run('ip', ['-n', lacN.ns, 'link', 'add', 'selpv1', 'type', 'veth', 'peer', 'name', 'selpv0', 'netns', cliNs]);
  await run('ip', ['-n', lacN.ns, 'link', 'set', 'selpv1', 'up']);
  await run('ip', ['-n', cliNs, 'link', 'set', 'selpv0', 'up']);

  const users: FreeRadiusUser[] = [
    { name: 'alice@isp-b.example', password: 'wonderland', replyItems: tunnelReply([{ tag: 1, endpoint: downAddr, preference: 1 }, { tag: 2, endpoint: l1.address, preference: 2 }]) },
    { name: 'carol@isp-d.example', password: 'c4rol', replyItems: tunnelReply([{ tag: 1, endpoint: l2.address, preference: 1, clientEndpoint: lacAddr2 }]) },
    ...Array.from({ length: SPLIT }, (_, i) => ({ name: `v${i}@isp-c.example`, password: `p${i}`, replyItems: tunnelReply([{ tag: 1, endpoint: l1.address, preference: 5 }, { tag: 2, endpoint: l2.address, preference: 5 }]) })),
  ];
  rad = await startFreeRadius({ ns: radN.ns, dir: join(work, 'freeradius'), clients: [{ address: lacN.address, secret: RADIUS_SECRET }], users, messageAuthenticatorInReplies: true, lifetimeMs: LIFETIME_MS, debug: false });

  // Both LNSes know every user (they check the proxy PAP) and the tunnel secret.
  const usersFile = join(work, 'lns-users');
  writeFileSync(usersFile, users.map((u) => `"${u.name}" "${u.password}"`).join('\n') + '\n', { mode: 0o600 });
  for (const [i, n] of [l1, l2].entries()) {
    const dir = join(work, `lns${i + 1}`);
    await run('mkdir', ['-p', dir]);
    lns[i] = await startAccessLns(n.ns, dir, {
      socket: join(dir, 'l2tpd.sock'), listen: n.address, pool: `100.64.${i * 4}.0/22`, localAddress: `100.64.${i * 4 + 3}.254`, usersFile, tunName: `selt${i}`, auth: ['pap', 'chap'], echoInterval: 0, tunnelSecret: TUNNEL_SECRET, logLevel: 'info',
    }, LIFETIME_MS);
  }

  const lacDir = join(work, 'lac');
  await run('mkdir', ['-p', lacDir]);
  const cfg = join(lacDir, 'l2tpd.toml');
  writeFileSync(cfg, lacConfig(lacDir, radN.address, lacN.address));
  const socket = join(lacDir, 'l2tpd.sock');
  lac = spawnIn(lacN.ns, process.execPath, [join(repoRoot(), 'bin', 'l2tpd.js'), '--config', cfg, '--socket', socket], { name: 'l2tpd (LAC)', lifetimeMs: LIFETIME_MS, logFile: join(lacDir, 'l2tpd.log'), cwd: repoRoot() });
  const lacProc = lac;
  await waitUntil('LAC control socket', async () => {
    if (!lacProc.running()) throw new Error(`LAC exited at start:\n${tail(lacProc.output(), 30)}`);
    return (await controlRequest(socket, { cmd: 'ping' }, 2000).catch(() => undefined)) === 'pong' ? true : undefined;
  }, 20_000, () => tail(lacProc.output(), 30));

  load = PppoeLoad.open({ netns: cliNs, interface: 'selpv0', auth: 'pap' });
  const logs = (): ReturnType<typeof parseLogLines> => parseLogLines(lacProc.output());
  const ctx = (): string => `LAC log:\n${tail(lacProc.output(), 40)}\nLNS1:\n${lns[0]?.logTail(15) ?? ''}\nFreeRADIUS:\n${rad?.logTail(15) ?? ''}`;

  await t.test('a: the preferred endpoint is down: SCCRQ timeout, marked dead, the session lands on the other LNS', async () => {
    const l = load;
    assert.ok(l !== undefined);
    const started = Date.now();
    const r = await l.dial(1, () => ({ username: 'alice@isp-b.example', password: 'wonderland' }), 60_000);
    const took = Date.now() - started;
    assert.equal(r.up, 1, `alice is up: ${r.failures.join('; ')}\n${ctx()}`);
    const addr = r.addresses[0] ?? '';
    assert.ok(addr.startsWith('100.64.0.') || addr.startsWith('100.64.1.') || addr.startsWith('100.64.2.') || addr.startsWith('100.64.3.'), `an address from LNS 1's pool: ${addr}`);
    const lines = logs();
    const dead = lines.find((x) => x.msg.includes(`LNS ${downAddr}:1701 is dead`));
    assert.ok(dead !== undefined && dead.raw['cause'] === 'sccrq-timeout', `the down endpoint was marked dead after SCCRQ timeout\n${ctx()}`);
    const routed = lines.filter((x) => x.msg.startsWith('LAC: alice@isp-b.example -> LNS')).map((x) => `${String(x.raw['lns'])}${x.raw['failover'] === true ? ' failover' : ''} (${String(x.raw['source'])})`);
    assert.deepEqual(routed, [`${downAddr} (radius)`, `${l1.address} failover (radius)`], ctx());
    const lnsTunnels = await controlRequest(lns[0]?.socket ?? '', { cmd: 'show-tunnels' }, 5000) as { remoteHostName?: string; sessions: unknown[] }[];
    assert.equal(lnsTunnels.length, 1, 'one tunnel at LNS 1');
    assert.equal(lnsTunnels[0]?.remoteHostName, 'sel-lac', 'our Host Name from Tunnel-Client-Auth-Id');
    process.stdout.write(`# a: alice@isp-b.example up on LNS 1 (${l1.address}) with ${addr} after ${took} ms (preferred ${downAddr} dead: sccrq-timeout)\n`);
    l.hangup();
  });

  await t.test(`b: ${SPLIT} sessions at equal preferences spread round-robin over both LNSes`, async () => {
    const l = load;
    assert.ok(l !== undefined);
    const r = await l.dial(SPLIT, (i) => ({ username: `v${i}@isp-c.example`, password: `p${i}` }), 240_000, 25);
    assert.equal(r.up, SPLIT, `all up: ${r.failures.slice(0, 5).join('; ')}\n${ctx()}`);
    const on = (pool: number): number => r.addresses.filter((a) => a !== undefined && Number(a.split('.')[2]) >> 2 === pool).length;
    const split = [on(0), on(1)];
    const count = async (d: AccessLnsDaemon | undefined): Promise<number> => ((await controlRequest(d?.socket ?? '', { cmd: 'show-tunnels' }, 5000)) as { sessions: unknown[] }[]).reduce((n, x) => n + x.sessions.length, 0);
    const atLns = [await count(lns[0]), await count(lns[1])];
    const median = r.setupMs[Math.floor(r.setupMs.length / 2)] ?? 0;
    process.stdout.write(`# b: split of ${SPLIT} sessions: LNS 1 (${l1.address}) ${split[0]}, LNS 2 (${l2.address}) ${split[1]}; sessions held at the LNSes ${atLns.join(' / ')}; all up in ${r.elapsedMs} ms, set-up median ${median} ms\n`);
    assert.deepEqual(split, [SPLIT / 2, SPLIT / 2], 'round-robin within the one preference level: 50 / 50');
    assert.deepEqual(atLns, [SPLIT / 2, SPLIT / 2]);
    l.hangup();
    await waitUntil('LNS sessions gone after the PADTs', async () => ((await count(lns[0])) + (await count(lns[1])) === 0 ? true : undefined), 30_000, ctx);
  });

  await t.test('c: Tunnel-Client-Endpoint = a second LAC address: the LNS sees the tunnel from that address', async () => {
    const l = load;
    assert.ok(l !== undefined);
    const r = await l.dial(1, () => ({ username: 'carol@isp-d.example', password: 'c4rol' }), 60_000);
    assert.equal(r.up, 1, `carol is up: ${r.failures.join('; ')}\n${ctx()}`);
    const addr = r.addresses[0] ?? '';
    assert.equal(Number(addr.split('.')[2]) >> 2, 1, `an address from LNS 2's pool: ${addr}`);
    const tunnels = (await controlRequest(lns[1]?.socket ?? '', { cmd: 'show-tunnels' }, 5000)) as { remoteAddress: string; sessions: unknown[] }[];
    const withCarol = tunnels.filter((x) => x.sessions.length > 0);
    assert.equal(withCarol.length, 1, `one tunnel with a session at LNS 2: ${JSON.stringify(tunnels)}`);
    assert.equal(withCarol[0]?.remoteAddress, lacAddr2, `the LNS's peer is the Tunnel-Client-Endpoint, not the LAC's local_address ${lacN.address}\n${ctx()}`);
    assert.equal(logs().filter((x) => x.msg.includes('is not used')).length, 0, 'no "not used" warning');
    process.stdout.write(`# c: carol@isp-d.example up on LNS 2 with ${addr}; LNS 2 sees the tunnel from ${lacAddr2} (Tunnel-Client-Endpoint; local_address ${lacN.address})\n`);
    l.hangup();
    await waitUntil('carol gone at LNS 2', async () => (((await controlRequest(lns[1]?.socket ?? '', { cmd: 'show-tunnels' }, 5000)) as { sessions: unknown[] }[]).every((x) => x.sessions.length === 0) ? true : undefined), 30_000, ctx);
  });
  failed = false;
});
