/**
 * Scale-out across LNS nodes on existing engines (issue 16 item 6, docs/SCALE-OUT.md): two stateless
 * l2tpd nodes, one central address pool in FreeRADIUS `sqlippool` on PostgreSQL, subscriber /32s
 * announced to a core router by BGP from FRR. All on one 198.18.96.0/24 switch:
 *
 *   core  .1  FRR zebra + bgpd AS 64500: accepts 100.64.0.0/10 host routes from the nodes, installs them
 *   lnsa  .2  l2tpd ([pool] local = false, [tun] route_protocol = 200) + FRR AS 64601 (redistribute kernel)
 *   lnsb  .3  the same, AS 64602
 *   aaa   .4  FreeRADIUS 3.2: users file, sqlippool (allocate in post-auth, release on Stop)
 *   db    .5  PostgreSQL (initdb into a temp dir, FreeRADIUS's schemas, 1000 addresses in radippool)
 *   lac   .6  our PPP load clients (bench/lib/ppp-load.ts): L2TP + LCP + CHAP + IPCP per session
 *
 * 1. 200 sessions, 100 per node: unique addresses from the central pool — the clients' IPCP, both
 *    nodes' `l2tpctl show sessions --json` and PostgreSQL's leases (NAS = the node) agree; the
 *    core's BGP table holds exactly their 200 /32s with the right node as next hop; pings from
 *    sessions of each node to the core come back through those routes.
 * 2. A user whose Accept carries no Framed-IP-Address is refused cleanly (no local pool).
 * 3. 10 sessions hang up: Accounting Stop releases their leases in PostgreSQL, their routes leave the core.
 * 4. Node A dies (its switch port down, then l2tpd, zebra and bgpd SIGKILLed: no FIN reaches the
 *    core): the core drops its routes when the BGP hold time (9 s) runs out.
 * 5. A's 100 subscribers reconnect through node B: 190 live sessions, all unique, none on an address
 *    A's dead sessions still hold in the pool; the core routes all 190 via B; pings work.
 * 6. Node A comes back: its Accounting-On makes sqlippool free the leases of its dead sessions.
 * SKIPPED (loudly) without the Debian packages frr, postgresql, freeradius-postgresql.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createTopology, makeWorkDir, removeWorkDir, repoRoot, requireRoot, run, sysctlIn, waitUntil, type Topology } from './lib/index.js';
import { startFreeRadius, type FreeRadius, type FreeRadiusUser } from './lib/freeradius.js';
import { postgresBinDir, startPostgres, type Postgres } from './lib/postgres.js';
import { FRR_DIR, startFrr, type BgpPath, type FrrSpeaker } from './lib/frr.js';
import { createPoolDatabase, poolLeases, prepareSqlIppool, type PoolLease, type SqlIppoolSettings } from './lib/sqlippool.js';
import { ROUTE_PROTOCOL, SUBSCRIBER_POLICY, startNode, type LnsNode } from './lib/scale-out.js';
import { startLoadChild, type LoadChild } from '../../bench/lib/ppp-lns.js';
import type { DialResult, PingResult } from '../../bench/lib/ppp-load.js';
import type { SessionView } from '../../src/daemon/control-protocol.js';

const PER_NODE = 100;
const KEEPALIVE = 3;
const HOLD = 9;
const SECRET = 'scale-out-s3cret';
const LIFETIME_MS = 400_000;
const POOL: SqlIppoolSettings = { dbHost: '198.18.96.5', dbName: 'radius', dbUser: 'radius', poolName: 'subscribers', noPoolPrefix: 'nopool', leaseDuration: 3600 };
/** The central pool: 1000 addresses from 100.64.0.10 on. */
const POOL_FIRST = '100.64.0.10';
const POOL_SIZE = 1000;
const AS = { core: 64500, lnsa: 64601, lnsb: 64602 } as const;

/** Why this file cannot run here (printed loudly, the test is skipped), or undefined. */
function missing(): string | undefined {
  const need: [string, boolean][] = [
    ['frr (/usr/lib/frr/bgpd, zebra)', existsSync(join(FRR_DIR, 'bgpd')) && existsSync(join(FRR_DIR, 'zebra')) && existsSync('/usr/bin/vtysh')],
    ['postgresql (/usr/lib/postgresql/N/bin/postgres)', postgresBinDir() !== undefined],
    ['freeradius-postgresql (rlm_sql_postgresql.so)', existsSync('/usr/lib/freeradius/rlm_sql_postgresql.so')],
    ['freeradius', existsSync('/usr/sbin/freeradius')],
  ];
  const gone = need.filter(([, ok]) => !ok).map(([n]) => n);
  return gone.length === 0 ? undefined : `Debian packages missing: ${gone.join(', ')} (apt-get install frr postgresql freeradius-postgresql)`;
}
const skip = missing();
if (skip !== undefined) process.stderr.write(`\n#### SKIP scale-out.test: ${skip} ####\n\n`);

let topo: Topology | undefined;
let work = '';
let pg: Postgres | undefined;
let rad: FreeRadius | undefined;
const frr: Record<string, FrrSpeaker | undefined> = {};
const nodes: Record<string, LnsNode | undefined> = {};
const loads: LoadChild[] = [];
let failed = true;

after(async () => {
  for (const l of loads) await l.stop().catch(() => undefined);
  for (const n of Object.values(nodes)) await n?.proc.stop(5000);
  for (const f of Object.values(frr)) await f?.stop();
  await rad?.stop();
  await pg?.stop();
  await topo?.destroy();
  if (work !== '') {
    if (failed) process.stderr.write(`scale-out: artefacts kept in ${work}\n`);
    else removeWorkDir(work);
  }
});

const users = (): FreeRadiusUser[] => [
  ...Array.from({ length: PER_NODE }, (_, i) => ({ name: `a${i}`, password: `pa${i}` })),
  ...Array.from({ length: PER_NODE }, (_, i) => ({ name: `b${i}`, password: `pb${i}` })),
  { name: 'nopool0', password: 'pn0' },
];

/** `l2tpctl show sessions --json` of a node. */
async function shownSessions(n: LnsNode): Promise<SessionView[]> {
  const out = await run(process.execPath, [join(repoRoot(), 'bin', 'l2tpctl.js'), '--socket', n.socket, 'show', 'sessions', '--json'], { timeoutMs: 30_000 });
  return JSON.parse(out.stdout) as SessionView[];
}

/** The node's kernel routes with our protocol number. */
async function protoRoutes(ns: string): Promise<string[]> {
  const out = await run('ip', ['-n', ns, '-4', 'route', 'show', 'proto', String(ROUTE_PROTOCOL)]);
  return out.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => l.split(' ')[0] ?? '');
}

/** A load child in the LAC namespace, its socket open. */
async function loadClient(ns: string, address: string): Promise<LoadChild> {
  const l = await startLoadChild(ns, LIFETIME_MS, repoRoot());
  loads.push(l);
  await l.request({ cmd: 'open', address, tuning: { retransmitInitial: 500, retransmitCap: 2000, helloInterval: 0 } }, 10_000);
  return l;
}

const dialTo = (l: LoadChild, peer: string, n: number, prefix: string, password: string): Promise<DialResult> =>
  l.request<DialResult>({ cmd: 'dial', peer, port: 1701, tunnels: 2, sessions: n, window: 32, timeoutMs: 90_000, userPrefix: prefix, password }, 100_000);

/** The core's table as "prefix -> next hop". */
const asMap = (t: readonly BgpPath[]): Map<string, string> => new Map(t.map((p) => [p.prefix, p.nextHop]));

/** Waits until the core's BGP table is exactly `want` (prefix -> next hop); returns the ms it took. */
async function coreTableIs(core: FrrSpeaker, want: ReadonlyMap<string, string>, timeoutMs: number, what: string): Promise<number> {
  const t0 = Date.now();
  let last = new Map<string, string>();
  await waitUntil(
    `core BGP table: ${what}`,
    async () => {
      last = asMap(await core.bgpTable());
      return last.size === want.size && [...want].every(([p, nh]) => last.get(p) === nh) ? true : undefined;
    },
    timeoutMs,
    () => {
      const extra = [...last.keys()].filter((p) => !want.has(p));
      const lost = [...want.keys()].filter((p) => last.get(p) !== want.get(p));
      return `have ${last.size}, want ${want.size}; unexpected ${extra.slice(0, 5).join(' ')}; missing/wrong ${lost.slice(0, 5).map((p) => `${p}->${String(last.get(p))}`).join(' ')}\n${core.logTail(10)}`;
    },
    250,
  );
  return Date.now() - t0;
}

const up = (d: DialResult): string[] => d.addresses.filter((a): a is string => a !== undefined);
const active = (ls: readonly PoolLease[], nas: string): PoolLease[] => ls.filter((l) => l.active && l.nas === nas);

test('two stateless LNS nodes, one sqlippool on PostgreSQL, BGP to the core: 200 sessions, Stop releases, a node dies and its subscribers move', { timeout: 380_000, skip: skip ?? false }, async (t) => {
  requireRoot();
  work = makeWorkDir('scale-out');
  topo = await createTopology(['core', 'lnsa', 'lnsb', 'aaa', 'db', 'lac'], 96, 'clu');
  const tp = topo;
  const addr = (n: string): string => tp.node(n).address;
  const ns = (n: string): string => tp.node(n).ns;
  for (const n of ['lnsa', 'lnsb']) sysctlIn(ns(n), 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0');

  // ---- the engines: PostgreSQL with the pool, FreeRADIUS on it, FRR on the core and each node.
  const t0 = Date.now();
  pg = await startPostgres({ ns: ns('db'), listen: addr('db'), trustCidr: '198.18.96.0/24', lifetimeMs: LIFETIME_MS });
  const db = pg;
  await createPoolDatabase(db, POOL, POOL_FIRST, POOL_SIZE);
  const radiusDebug = process.env['L2K_SCALE_OUT_RADIUS_DEBUG'] === '1';
  rad = await startFreeRadius({ ns: ns('aaa'), dir: join(work, 'freeradius'), clients: [{ address: '198.18.96.0/24', secret: SECRET }], users: users(), debug: radiusDebug, messageAuthenticatorInReplies: true, lifetimeMs: LIFETIME_MS, prepare: (raddb) => prepareSqlIppool(raddb, POOL) });
  const startNodeFrr = async (n: 'lnsa' | 'lnsb'): Promise<FrrSpeaker> =>
    startFrr({
      ns: ns(n),
      lifetimeMs: LIFETIME_MS,
      bgpd: { hostname: n, as: AS[n], routerId: addr(n), keepalive: KEEPALIVE, hold: HOLD, policy: SUBSCRIBER_POLICY, redistributeKernel: 'SUBSCRIBERS', neighbors: [{ address: addr('core'), remoteAs: AS.core, routeMapIn: 'NOTHING', routeMapOut: 'SUBSCRIBERS' }] },
    });
  frr['core'] = await startFrr({
    ns: ns('core'),
    lifetimeMs: LIFETIME_MS,
    bgpd: {
      hostname: 'core', as: AS.core, routerId: addr('core'), keepalive: KEEPALIVE, hold: HOLD, policy: SUBSCRIBER_POLICY,
      neighbors: (['lnsa', 'lnsb'] as const).map((n) => ({ address: addr(n), remoteAs: AS[n], routeMapIn: 'SUBSCRIBERS', routeMapOut: 'NOTHING' })),
    },
  });
  const core = frr['core'];
  frr['lnsa'] = await startNodeFrr('lnsa');
  frr['lnsb'] = await startNodeFrr('lnsb');
  const startLns = async (n: 'lnsa' | 'lnsb', i: number): Promise<LnsNode> => {
    const dir = join(work, n);
    mkdirSync(dir, { recursive: true });
    return startNode(ns(n), { name: n, dir, listen: addr(n), localAddress: `100.127.255.${i}`, radius: addr('aaa'), secret: SECRET }, LIFETIME_MS);
  };
  nodes['lnsa'] = await startLns('lnsa', 1);
  nodes['lnsb'] = await startLns('lnsb', 2);
  for (const n of ['lnsa', 'lnsb']) await core.waitEstablished(addr(n), 30_000);
  t.diagnostic(`engines up in ${((Date.now() - t0) / 1000).toFixed(1)} s (PostgreSQL, FreeRADIUS sqlippool, FRR x3, l2tpd x2; BGP established)`);
  const [lnsA, lnsB] = [nodes['lnsa'], nodes['lnsb']];

  // ---- 1. 200 sessions, 100 per node.
  const la = await loadClient(ns('lac'), addr('lac'));
  const lb = await loadClient(ns('lac'), addr('lac'));
  const [da, dbb] = await Promise.all([dialTo(la, addr('lnsa'), PER_NODE, 'a', 'pa'), dialTo(lb, addr('lnsb'), PER_NODE, 'b', 'pb')]);
  assert.equal(da.up, PER_NODE, `node A: ${da.up} up; ${da.failures.slice(0, 3).join('; ')}\n${lnsA.logTail(15)}\n${rad.logTail(15)}`);
  assert.equal(dbb.up, PER_NODE, `node B: ${dbb.up} up; ${dbb.failures.slice(0, 3).join('; ')}\n${lnsB.logTail(15)}`);
  t.diagnostic(`200 sessions up: A ${da.seconds.toFixed(1)} s, B ${dbb.seconds.toFixed(1)} s (set-up p50 ${da.p50?.toFixed(0)} / ${dbb.p50?.toFixed(0)} ms)`);
  const onA = up(da);
  const onB = up(dbb);
  assert.equal(new Set([...onA, ...onB]).size, 2 * PER_NODE, 'every session of both nodes has its own address');
  for (const [n, list, d] of [[lnsA, onA, da], [lnsB, onB, dbb]] as const) {
    const shown = await shownSessions(n);
    assert.equal(shown.length, PER_NODE);
    assert.deepEqual(new Set(shown.map((s) => s.address)), new Set(list), 'the node shows the addresses its clients got');
    assert.ok(d.addresses.length === PER_NODE);
  }
  const leases1 = await poolLeases(db, POOL);
  assert.deepEqual(new Set(active(leases1, addr('lnsa')).map((l) => l.address)), new Set(onA), 'PostgreSQL: node A holds exactly the leases of its sessions');
  assert.deepEqual(new Set(active(leases1, addr('lnsb')).map((l) => l.address)), new Set(onB), 'PostgreSQL: node B likewise');
  assert.equal(leases1.filter((l) => l.active).length, 2 * PER_NODE, 'no other lease is active');
  assert.ok(active(leases1, addr('lnsa')).every((l) => /^a\d+$/.test(l.username)) && active(leases1, addr('lnsb')).every((l) => /^b\d+$/.test(l.username)), 'leases name the right users');
  assert.equal((await protoRoutes(ns('lnsa'))).length, PER_NODE, `node A: ${PER_NODE} routes proto ${ROUTE_PROTOCOL} on its TUN`);
  const want1 = new Map([...onA.map((a) => [`${a}/32`, addr('lnsa')] as const), ...onB.map((a) => [`${a}/32`, addr('lnsb')] as const)]);
  const conv = await coreTableIs(core, want1, 30_000, '200 /32s');
  t.diagnostic(`core BGP table = exactly the 200 /32s (${conv} ms after the last session came up)`);
  const sample = [0, 33, 66, 99];
  for (const [l, name] of [[la, 'A'], [lb, 'B']] as const) {
    const pings = await l.request<PingResult[]>({ cmd: 'ping', indexes: sample, dst: addr('core'), count: 2, timeoutMs: 20_000 }, 30_000);
    for (const p of pings) assert.equal(p.received, 2, `node ${name} session ${p.index} (${String(p.address)}): echo replies from the core came back over its BGP route`);
  }

  // ---- 2. An Accept without Framed-IP-Address on a node without a local pool: refused cleanly.
  const lx = await loadClient(ns('lac'), addr('lac'));
  const dx = await lx.request<DialResult>({ cmd: 'dial', peer: addr('lnsb'), port: 1701, tunnels: 1, sessions: 1, window: 1, timeoutMs: 20_000, userPrefix: 'nopool', password: 'pn' }, 30_000);
  assert.equal(dx.up, 0, 'no address, no session');
  await waitUntil('node B logs the refusal', () => (/nopool0 rejected by us \(no-address\)/.test(lnsB.proc.output()) ? true : undefined), 10_000, () => lnsB.logTail(10));
  assert.ok((await poolLeases(db, POOL)).every((l) => l.username !== 'nopool0'));

  // ---- 3. 10 of node B's sessions hang up: Stop releases their leases, their routes are withdrawn.
  const hung = await lb.request<{ down: number }>({ cmd: 'hangup', count: 10, timeoutMs: 30_000 }, 40_000);
  assert.equal(hung.down, 10);
  const gone = new Set(onB.slice(0, 10));
  const stillB = onB.filter((a) => !gone.has(a));
  await waitUntil(
    'sqlippool to release the 10 leases (Accounting Stop)',
    async () => {
      const ls = await poolLeases(db, POOL);
      return ls.filter((l) => gone.has(l.address)).every((l) => !l.active) && active(ls, addr('lnsb')).length === PER_NODE - 10 ? true : undefined;
    },
    15_000,
  );
  const want3 = new Map([...want1].filter(([p]) => !gone.has(p.replace('/32', ''))));
  await coreTableIs(core, want3, 15_000, '190 /32s after 10 hang-ups');
  assert.deepEqual(new Set(await protoRoutes(ns('lnsb'))), new Set(stillB.map((a) => `${a}`)), 'node B: the hung-up sessions\' routes left its TUN');

  // ---- 4. Node A dies: silent first (switch port down, so no FIN reaches the core), then killed.
  const killedAt = Date.now();
  await run('ip', ['-n', tp.bridgeNs, 'link', 'set', 'v2', 'down']);
  process.kill(lnsA.proc.pid, 'SIGKILL');
  frr['lnsa']?.kill();
  const deadA = new Map([...want3].filter(([, nh]) => nh !== addr('lnsa')));
  await coreTableIs(core, deadA, (HOLD + 6) * 1000, "node A's routes withdrawn");
  const withdrawnMs = Date.now() - killedAt;
  t.diagnostic(`node A's ${PER_NODE} routes withdrawn by the core ${(withdrawnMs / 1000).toFixed(1)} s after it went silent (hold time ${HOLD} s, keepalive ${KEEPALIVE} s)`);
  assert.ok(withdrawnMs <= HOLD * 1000 + 2000, `withdrawn within the hold time: ${withdrawnMs} ms`);
  assert.ok(withdrawnMs >= (HOLD - KEEPALIVE) * 1000 - 1500, `it was the hold timer (not a TCP close): ${withdrawnMs} ms`);
  await lnsA.proc.exited;
  nodes['lnsa'] = undefined;

  // ---- 5. A's subscribers reconnect through node B (their LAC fails over).
  await la.stop();
  const la2 = await loadClient(ns('lac'), addr('lac'));
  const dr = await dialTo(la2, addr('lnsb'), PER_NODE, 'a', 'pa');
  assert.equal(dr.up, PER_NODE, `reconnect via B: ${dr.up} up; ${dr.failures.slice(0, 3).join('; ')}\n${lnsB.logTail(15)}`);
  const moved = up(dr);
  const liveB = [...stillB, ...moved];
  assert.equal(new Set(liveB).size, liveB.length, 'all 190 live sessions have distinct addresses');
  const leases5 = await poolLeases(db, POOL);
  assert.deepEqual(new Set(active(leases5, addr('lnsb')).map((l) => l.address)), new Set(liveB), 'PostgreSQL: node B holds exactly its 190 live sessions');
  const staleA = active(leases5, addr('lnsa')).map((l) => l.address);
  assert.equal(staleA.length, PER_NODE, "node A's dead sessions still hold their leases (no Stop came; lease_duration or A's Accounting-On ends them)");
  assert.deepEqual(staleA.filter((a) => liveB.includes(a)), [], 'no address handed out twice: none of the moved subscribers got an address a dead session still holds');
  assert.deepEqual(new Set((await shownSessions(lnsB)).map((s) => s.address)), new Set(liveB), 'node B shows the 190');
  await coreTableIs(core, new Map(liveB.map((a) => [`${a}/32`, addr('lnsb')])), 30_000, '190 /32s, all via node B');
  const pings = await la2.request<PingResult[]>({ cmd: 'ping', indexes: sample, dst: addr('core'), count: 2, timeoutMs: 20_000 }, 30_000);
  for (const p of pings) assert.equal(p.received, 2, `moved session ${p.index} (${String(p.address)}) reaches the core through node B`);

  // ---- 6. Node A comes back: Accounting-On, and sqlippool frees what its dead sessions held.
  await run('ip', ['-n', tp.bridgeNs, 'link', 'set', 'v2', 'up']);
  frr['lnsa'] = await startNodeFrr('lnsa');
  nodes['lnsa'] = await startLns('lnsa', 1);
  await waitUntil('node A\'s stale leases freed by its Accounting-On', async () => (active(await poolLeases(db, POOL), addr('lnsa')).length === 0 ? true : undefined), 20_000, () => nodes['lnsa']?.logTail(10) ?? '');
  await core.waitEstablished(addr('lnsa'), 30_000);
  await coreTableIs(core, new Map(liveB.map((a) => [`${a}/32`, addr('lnsb')])), 10_000, 'still the 190 via B (A announces nothing)');
  const errors = lnsB.proc.output().split('\n').filter((l) => /"level":(50|60)/.test(l));
  assert.deepEqual(errors, [], 'no error lines in node B\'s log');
  failed = false;
});
