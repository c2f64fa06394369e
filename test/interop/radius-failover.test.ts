/**
 * Real peers for our LNS's RADIUS failover and accounting guarantees (issue 13, "what it must
 * show" d): two FreeRADIUS 3.2 servers (Debian) in two namespaces, our daemon in a third, and the
 * PPP load client (bench/lib/ppp-load.ts, our L2TP LAC + PPP peers, CHAP-MD5) in a fourth.
 *  1. Failover: the primary (priority 1) stopped -> the logins of 5 sessions are answered by the
 *     secondary; `show radius` counts the primary's timeouts and shows it dead.
 *  2. 100 sessions authenticated by RADIUS, Interim-Updates every 2 s; then both servers stopped
 *     while the sessions live: interims go on into the durable spool, 50 sessions hang up (Stop),
 *     the daemon is restarted in the middle (SIGTERM: the other 50 end with Stop Admin-Reboot and
 *     Accounting-Off, all spooled; the new daemon reads the spool back and queues Accounting-On
 *     behind it); then both servers are started again.
 * Every record our daemon queued (its debug log: status, Acct-Session-Id, sequence number, over both
 * runs — the session log) must then be in the servers' detail files exactly once, each session's
 * records in the order queued (Start, Interims, Stop), none missing, none duplicated; the spool
 * ends empty.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTopology, ensureDebianPackages, makeWorkDir, parseLogLines, removeWorkDir, repoRoot, requireRoot, tail, waitUntil, type Topology } from './lib/index.js';
import { startFreeRadius, type DetailRecord, type FreeRadius, type FreeRadiusOptions } from './lib/freeradius.js';
import { STATUS_NAME, detailBySession, queuedRecords } from './lib/radius-lns.js';
import { controlRequest, startAccessLns, startLoadChild, type AccessLnsDaemon, type LoadChild } from '../../bench/lib/ppp-lns.js';
import type { DialResult } from '../../bench/lib/ppp-load.js';
import type { RadiusView } from '../../src/daemon/control-protocol.js';

const SECRET = 'failover-s3cret';
const SESSIONS = 100;
const POOL = '100.64.0.0/23';
const LIFETIME_MS = 400_000;

let topo: Topology | undefined;
let work = '';
const rad: (FreeRadius | undefined)[] = [undefined, undefined];
let lns: AccessLnsDaemon | undefined;
let load: LoadChild | undefined;
let failed = true;
const runs: string[] = [];

before(async () => {
  requireRoot();
  await ensureDebianPackages(['freeradius', 'freeradius-utils', 'iproute2']);
}, { timeout: 1_800_000 });

after(async () => {
  await load?.stop().catch(() => undefined);
  await lns?.stop();
  for (const r of rad) await r?.stop();
  await topo?.destroy();
  if (work !== '') {
    if (failed) process.stderr.write(`radius-failover: artefacts kept in ${work}\n`);
    else removeWorkDir(work);
  }
});

/** The order of one status within a session, for records that arrived in the same second. */
const RANK: Readonly<Record<string, number>> = { Start: 0, 'Interim-Update': 1, Stop: 2 };

/** Records of one session from both servers, in the order they were answered. */
function arrivalOrder(rs: readonly DetailRecord[]): DetailRecord[] {
  const key = (r: DetailRecord): [number, number, number] => [Number(r.get('Timestamp') ?? 0), RANK[r.get('Acct-Status-Type') ?? ''] ?? 9, Number(r.get('Acct-Session-Time') ?? 0)];
  return [...rs].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  });
}

test('failover to the secondary; 100 sessions through a total outage and a daemon restart: every record once, in order', { timeout: 380_000 }, async (t) => {
  work = makeWorkDir('radius-failover');
  topo = await createTopology(['lac', 'lns', 'rad1', 'rad2'], 83);
  const tp = topo;
  const lnsAddr = tp.node('lns').address;
  const users = [...Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, password: `q${i}` })), ...Array.from({ length: 5 + SESSIONS }, (_, i) => ({ name: `u${i}`, password: `p${i}` }))];
  // The load client numbers sessions across dials (the 5 failover logins are 0..4), so the 100 take u5..u104.
  const radOpts = (n: 0 | 1): FreeRadiusOptions => ({ ns: tp.node(`rad${n + 1}`).ns, dir: join(work, `freeradius${n + 1}`), clients: [{ address: lnsAddr, secret: SECRET }], users, messageAuthenticatorInReplies: true, lifetimeMs: LIFETIME_MS });
  const startRad = async (n: 0 | 1): Promise<void> => {
    rad[n] = await startFreeRadius(radOpts(n));
  };
  const stopRad = async (n: 0 | 1): Promise<void> => {
    await rad[n]?.stop();
    rad[n] = undefined;
  };
  await startRad(0);
  await startRad(1);
  const server = (n: 1 | 2, prio: number): string =>
    ['[[radius.server]]', `name = "rad${n}"`, `address = "${tp.node(`rad${n}`).address}"`, `secret = "${SECRET}"`, `priority = ${prio}`, 'timeout = 1', 'retries = 1', 'dead_time = 3', ''].join('\n');
  const socket = join(work, 'l2tpd.sock');
  const cfg = {
    socket, listen: lnsAddr, pool: POOL, localAddress: '100.64.0.1', usersFile: join(work, 'users-unused'), tunName: 'l2tp0', auth: ['chap'],
    retransmitInitial: 0.5, retransmitCap: 2, logLevel: 'debug' as const, stateDir: join(work, 'state'),
    extra: ['[radius]', 'interim_interval = 2', 'interim_minimum = 1', 'retry_interval = 1', '', server(1, 1), server(2, 2)].join('\n'),
  };
  writeFileSync(cfg.usersFile, '');
  const startLns = async (): Promise<AccessLnsDaemon> => startAccessLns(tp.node('lns').ns, work, cfg, LIFETIME_MS);
  lns = await startLns();
  load = await startLoadChild(tp.node('lac').ns, LIFETIME_MS, repoRoot());
  await load.request({ cmd: 'open', address: tp.node('lac').address, tuning: { retransmitInitial: 500, retransmitCap: 2000, helloInterval: 0 } }, 10_000);
  const view = async (): Promise<RadiusView> => (await controlRequest(socket, { cmd: 'show-radius' })) as RadiusView;
  const dlog = (): string => tail(lns?.proc.output() ?? '', 40);

  // ---- 1. failover: the primary is down, the secondary answers.
  await stopRad(0);
  const f = await load.request<DialResult>({ cmd: 'dial', peer: lnsAddr, port: 1701, tunnels: 1, sessions: 5, window: 5, timeoutMs: 60_000, userPrefix: 'f', password: 'q' }, 70_000);
  assert.equal(f.up, 5, `failover logins: ${f.failures.join('; ')}\n${dlog()}`);
  const r2 = rad[1];
  assert.ok(r2 !== undefined);
  await r2.waitReply('f0', 'Access-Accept', 10_000);
  const v1 = await view();
  const prim = v1.servers.find((s) => s.name === 'rad1' && s.role === 'auth');
  assert.ok(prim !== undefined && prim.timeouts >= 1, `rad1 timed out: ${JSON.stringify(prim)}`);
  assert.ok((v1.servers.find((s) => s.name === 'rad2' && s.role === 'auth')?.accepts ?? 0) >= 5, JSON.stringify(v1.servers));
  t.diagnostic(`failover: rad1 auth ${prim.state}, ${prim.timeouts} timeout(s); rad2 ${v1.servers.find((s) => s.name === 'rad2' && s.role === 'auth')?.accepts} accepts`);
  await load.request({ cmd: 'hangup', timeoutMs: 30_000 }, 40_000);
  await load.request({ cmd: 'close-tunnels', timeoutMs: 20_000 }, 30_000);
  await startRad(0);

  // ---- 2. 100 sessions, then a total outage with hang-ups and a daemon restart in it.
  const dial = await load.request<DialResult>({ cmd: 'dial', peer: lnsAddr, port: 1701, tunnels: 4, sessions: SESSIONS, window: 32, timeoutMs: 120_000 }, 130_000);
  assert.equal(dial.up, SESSIONS, `${dial.up} of ${SESSIONS} up: ${dial.failures.slice(0, 3).join('; ')}\n${dlog()}`);
  await new Promise((r) => setTimeout(r, 5000));
  await stopRad(0);
  await stopRad(1);
  const outageAt = Date.now();
  await new Promise((r) => setTimeout(r, 5000));
  const half = await load.request<{ down: number; left: number }>({ cmd: 'hangup', count: SESSIONS / 2, timeoutMs: 30_000 }, 40_000);
  assert.ok(half.down >= SESSIONS / 2, JSON.stringify(half));
  await new Promise((r) => setTimeout(r, 3000));
  const during = await view();
  assert.ok(during.accounting.spoolDepth > SESSIONS, `records wait in the spool during the outage: ${JSON.stringify(during.accounting)}`);
  const first = lns;
  await first.stop();
  runs.push(first.proc.output());
  lns = await startLns();
  const restarted = await view();
  assert.ok(restarted.accounting.queued > SESSIONS, `the new daemon read the spool back: ${JSON.stringify(restarted.accounting)}`);
  await new Promise((r) => setTimeout(r, 3000));
  await startRad(0);
  await startRad(1);
  let last: RadiusView | undefined;
  await waitUntil('every record answered', async () => {
    last = await view();
    return last.accounting.queued === 0 && last.accounting.spoolDepth === 0 ? true : undefined;
  }, 120_000, () => JSON.stringify(last?.accounting), 500);
  t.diagnostic(`outage ${((Date.now() - outageAt) / 1000).toFixed(0)} s; ${during.accounting.spoolDepth} records spooled before the restart, ${restarted.accounting.queued} read back`);
  await load.request({ cmd: 'close-tunnels', timeoutMs: 10_000 }, 20_000).catch(() => undefined);
  const second = lns;
  await second.stop();
  runs.push(second.proc.output());
  lns = undefined;

  // ---- the session log (both runs) against the detail files of both servers.
  const queued = runs.flatMap((o) => queuedRecords(parseLogLines(o)));
  const detail = [...(rad[0]?.detail() ?? []), ...(rad[1]?.detail() ?? [])];
  const byId = detailBySession(detail);
  const ours = new Map<string, string[]>();
  for (const q of queued) if (q.status !== 'accounting-on' && q.status !== 'accounting-off') ours.set(q.acctSessionId, [...(ours.get(q.acctSessionId) ?? []), STATUS_NAME[q.status] ?? q.status]);
  assert.equal(ours.size, 5 + SESSIONS, 'sessions in the session log');
  const problems: string[] = [];
  let total = 0;
  for (const [id, want] of ours) {
    const got = arrivalOrder(byId.get(id) ?? []);
    total += got.length;
    const seen = new Set(got.map((r) => `${r.get('Acct-Status-Type')}|${r.get('Event-Timestamp')}|${r.get('Acct-Session-Time')}`));
    if (seen.size !== got.length) problems.push(`${id}: duplicated records`);
    const gotStatuses = got.map((r) => r.get('Acct-Status-Type') ?? '?');
    if (gotStatuses.join(',') !== want.join(',')) problems.push(`${id}: queued ${want.join(',')} / arrived ${gotStatuses.join(',')}`);
    const times = got.map((r) => Number(r.get('Acct-Session-Time') ?? 0));
    if (times.some((x, i) => i > 0 && x < (times[i - 1] ?? 0))) problems.push(`${id}: out of order (${times.join(',')})`);
  }
  assert.deepEqual(problems.slice(0, 10), [], `${problems.length} session(s) differ`);
  const causes = new Map<string, number>();
  for (const [id] of ours) {
    const stop = (byId.get(id) ?? []).find((r) => r.get('Acct-Status-Type') === 'Stop');
    const c = stop?.get('Acct-Terminate-Cause') ?? 'none';
    causes.set(c, (causes.get(c) ?? 0) + 1);
  }
  assert.equal(causes.get('Admin-Reboot'), SESSIONS / 2, `the sessions our restart ended: ${JSON.stringify([...causes])}`);
  assert.equal(causes.get('User-Request'), 5 + SESSIONS / 2, `the sessions the clients hung up: ${JSON.stringify([...causes])}`);
  const onOff = detail.map((r) => r.get('Acct-Status-Type')).filter((s) => s === 'Accounting-On' || s === 'Accounting-Off');
  assert.ok(onOff.filter((s) => s === 'Accounting-On').length === 2 && onOff.filter((s) => s === 'Accounting-Off').length === 2, `Accounting-On/-Off per run: ${onOff.join(',')}`);
  assert.equal(queued.length, total + onOff.length, 'every queued record arrived exactly once');
  const interims = queued.filter((q) => q.status === 'interim-update').length;
  t.diagnostic(`${queued.length} records queued over two runs (${interims} interims), ${detail.length} in the detail files; Stop causes ${JSON.stringify([...causes])}`);
  failed = false;
});
