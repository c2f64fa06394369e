/**
 * Real-peer test (c) of the remote-access LNS at scale: our client dials our LNS.
 *
 *   lac netns (198.18.77.1)            lns netns (198.18.77.2)                 srv netns
 *   load child: 1 UDP socket,   L2TP   l2tpd: [[listen]] + [ppp] CHAP,   veth  203.0.113.10
 *   4 tunnels, 1,000 sessions  ------> pool 100.64.0.0/22, TUN l2tp0  --------  (routes the pool
 *   each with an AccessClient          (one TUN for all sessions),           via 203.0.113.1)
 *   (LCP, CHAP-MD5, IPCP)              ip_forward on, 203.0.113.1/24
 *
 * 1. 1,000 sessions come up (at most 64 negotiating at once), each with a distinct address: from
 *    the clients' `up` (IPCP ip-up) events AND from `l2tpctl show sessions --json`; the pool counts
 *    1,000 leases.
 * 2. For 20 sessions spread over the range: ICMP echo requests (IPv4 + ICMP built by hand) from the
 *    session's own address to 203.0.113.10; the kernel in srv answers, the reply is routed back
 *    into the TUN, and comes out of that very session at the client.
 * 3. The client hangs every session up (LCP Terminate-Request, then CDN) and sends StopCCN on every
 *    tunnel. The daemon's `status` must then show no tunnel, no PPP session, no leased address and
 *    no pending timer — nothing left behind.
 * The daemon runs with a short retransmission cycle (0.5 s .. 2 s) so closed tunnels linger ~10 s
 * (RFC 2661 §5.7), keeping the whole file under 5 minutes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createTopology, makeWorkDir, removeWorkDir, repoRoot, requireRoot, run, tail, trackNamespace, untrackNamespace, waitUntil, type ManagedProcess, type Topology } from './lib/index.js';
import { controlRequest, plumbServerBehindLns, startAccessLns, startLoadChild, writeUsers, type LoadChild } from '../../bench/lib/ppp-lns.js';
import type { DialResult, PingResult } from '../../bench/lib/ppp-load.js';
import type { SessionView, StatusView } from '../../src/daemon/control-protocol.js';

/** 1,000 (L2K_SCALE_SESSIONS overrides, for quick local runs). */
const SESSIONS = Number(process.env['L2K_SCALE_SESSIONS'] ?? 1000);
const TUNNELS = 4;
const WINDOW = 64;
const SAMPLE = 20;
const POOL = '100.64.0.0/22';
const LNS_ADDRESS = '100.64.0.1';
const LIFETIME_MS = 290_000;

let topo: Topology | undefined;
let srvNs: string | undefined;
let dir = '';
let lnsProc: ManagedProcess | undefined;
let load: LoadChild | undefined;
let socket = '';
let lacAddress = '';
let lnsAddress = '';
let serverAddress = '';

/** 100.64.0.0/22 membership (and never the LNS's own address). */
function inPool(a: string): boolean {
  const p = a.split('.').map(Number);
  return p.length === 4 && p[0] === 100 && p[1] === 64 && (p[2] ?? 99) <= 3 && a !== LNS_ADDRESS && a !== '100.64.0.0' && a !== '100.64.3.255';
}

const status = async (): Promise<StatusView> => (await controlRequest(socket, { cmd: 'status' })) as StatusView;
const daemonLog = (): string => tail(lnsProc?.output() ?? '', 40);

before(async () => {
  requireRoot();
  dir = makeWorkDir('lns-scale');
  topo = await createTopology(['lac', 'lns'], 77);
  lacAddress = topo.node('lac').address;
  lnsAddress = topo.node('lns').address;
  const lnsNs = topo.node('lns').ns;
  srvNs = `${topo.prefix}-srv`;
  trackNamespace(srvNs);
  await run('ip', ['netns', 'add', srvNs]);
  serverAddress = await plumbServerBehindLns(lnsNs, srvNs, POOL);

  const usersFile = join(dir, 'users');
  writeUsers(usersFile, SESSIONS);
  socket = join(dir, 'l2tpd.sock');
  const daemon = await startAccessLns(
    lnsNs,
    dir,
    { socket, listen: lnsAddress, pool: POOL, localAddress: LNS_ADDRESS, usersFile, tunName: 'l2tp0', auth: ['chap'], retransmitInitial: 0.5, retransmitCap: 2 },
    LIFETIME_MS,
  );
  lnsProc = daemon.proc;
  const root = repoRoot();
  load = await startLoadChild(topo.node('lac').ns, LIFETIME_MS, root);
  await load.request({ cmd: 'open', address: lacAddress, tuning: { retransmitInitial: 500, retransmitCap: 2000, helloInterval: 0 } }, 10_000);
});

after(async () => {
  await load?.stop().catch(() => undefined);
  await lnsProc?.stop(5000);
  await topo?.destroy();
  if (srvNs !== undefined) {
    await run('ip', ['netns', 'del', srvNs], { check: false, timeoutMs: 10_000 });
    untrackNamespace(srvNs);
  }
  if (dir !== '') removeWorkDir(dir);
});

test('1,000 PPP sessions up, traffic through the TUN, all torn down with nothing left behind', { timeout: 280_000 }, async () => {
  const client = load;
  assert.ok(client !== undefined);

  // 1. Set-up: L2TP (SCCRQ..ICCN) + LCP + CHAP-MD5 + IPCP for every session.
  const dial = await client.request<DialResult>(
    { cmd: 'dial', peer: lnsAddress, port: 1701, tunnels: TUNNELS, sessions: SESSIONS, window: WINDOW, timeoutMs: 150_000 },
    170_000,
  );
  assert.equal(dial.up, SESSIONS, `only ${dial.up} of ${SESSIONS} sessions came up (timed out: ${String(dial.timedOut)}); failures: ${dial.failures.join('; ')}\n${daemonLog()}`);
  const fromClients = dial.addresses.filter((a): a is string => a !== undefined);
  assert.equal(new Set(fromClients).size, SESSIONS, 'every client got a distinct address (IPCP ip-up)');
  for (const a of fromClients) assert.ok(inPool(a), `client address ${a} is a host of ${POOL} other than the LNS's own`);

  const shown = (await controlRequest(socket, { cmd: 'show-sessions' }, 30_000)) as SessionView[];
  const viaCli = JSON.parse((await run(process.execPath, [join(repoRoot(), 'bin', 'l2tpctl.js'), '--socket', socket, 'show', 'sessions', '--json'], { timeoutMs: 30_000 })).stdout) as SessionView[];
  assert.equal(viaCli.length, SESSIONS, 'l2tpctl show sessions --json lists every session');
  for (const list of [shown, viaCli]) {
    const addrs = list.map((s) => s.address).filter((a): a is string => a !== undefined);
    assert.equal(addrs.length, SESSIONS, 'the LNS shows an address for every session');
    assert.equal(new Set(addrs).size, SESSIONS, 'the LNS shows 1,000 distinct addresses');
    assert.deepEqual(new Set(addrs), new Set(fromClients), 'the LNS and the clients agree on the addresses');
    assert.ok(list.every((s) => s.state === 'established' && s.username !== undefined && /^u\d+$/.test(s.username)), 'every session is established and authenticated');
  }
  const up = await status();
  assert.deepEqual(up.pool && { sessions: up.pool.sessions, inUse: up.pool.inUse }, { sessions: SESSIONS, inUse: SESSIONS }, `status: 1,000 PPP sessions, 1,000 leases (${up.pool?.held ?? 0} held)\n${daemonLog()}`);
  assert.equal(up.tunnels.length, TUNNELS);
  process.stderr.write(`# ${SESSIONS} sessions up in ${dial.seconds.toFixed(1)} s (${(SESSIONS / dial.seconds).toFixed(0)}/s, p50 ${dial.p50?.toFixed(0)} ms, p99 ${dial.p99?.toFixed(0)} ms); pool ${up.pool?.inUse}/${up.pool?.capacity}\n`);

  // 2. Traffic through the TUN for a sample: session -> LNS -> TUN -> srv -> TUN -> LNS -> session.
  const sample = Array.from({ length: SAMPLE }, (_, k) => Math.floor(((k + 0.5) * SESSIONS) / SAMPLE));
  const pings = await client.request<PingResult[]>({ cmd: 'ping', indexes: sample, dst: serverAddress, count: 3, timeoutMs: 30_000 }, 40_000);
  for (const p of pings) {
    assert.ok(p.address !== undefined && inPool(p.address));
    assert.equal(p.received, 3, `session ${p.index} (${p.address}): ${p.received} of 3 echo replies came back through the session (${p.sent} requests sent)\n${daemonLog()}`);
  }
  const after1 = (await controlRequest(socket, { cmd: 'show-sessions' }, 30_000)) as SessionView[];
  const sampleAddrs = new Set(pings.map((p) => p.address));
  const carried = after1.filter((s) => s.address !== undefined && sampleAddrs.has(s.address));
  assert.equal(carried.length, SAMPLE);
  for (const s of carried) assert.ok(s.rxPackets >= 3 && s.txPackets >= 3, `LNS counted the echo traffic on session ${s.localTunnelId}/${s.localSessionId}: rx ${s.rxPackets} tx ${s.txPackets}`);

  // 3. Teardown: LCP Terminate + CDN per session, then StopCCN per tunnel.
  const hung = await client.request<{ down: number; left: number }>({ cmd: 'hangup', timeoutMs: 60_000 }, 70_000);
  assert.deepEqual(hung, { down: SESSIONS, left: 0 }, 'every client went down');
  const open = await client.request<{ open: number }>({ cmd: 'close-tunnels', timeoutMs: 20_000 }, 30_000);
  assert.equal(open.open, 0, 'every tunnel closed at the client');

  let last: StatusView | undefined;
  await waitUntil(
    'the LNS to have no tunnels, sessions, leases or timers left',
    async () => {
      const s = (last = await status());
      return s.tunnels.length === 0 && s.pool?.sessions === 0 && s.pool.inUse === 0 && s.timers === 0 ? true : undefined;
    },
    60_000,
    () => `last status: tunnels ${last?.tunnels.map((t) => `${t.localTunnelId}:${t.state}/${t.sessions.length}`).join(',')} pool ${JSON.stringify(last?.pool)} timers ${String(last?.timers)}\n${daemonLog()}`,
    500,
  );
  const sessionsLeft = (await controlRequest(socket, { cmd: 'show-sessions' })) as SessionView[];
  assert.equal(sessionsLeft.length, 0);
  assert.ok(lnsProc?.running(), 'the daemon is still running');
  const errors = (lnsProc?.output() ?? '').split('\n').filter((l) => /"level":(50|60)/.test(l));
  assert.deepEqual(errors, [], 'no error lines in the daemon log');
});
