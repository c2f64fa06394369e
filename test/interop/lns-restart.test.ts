/**
 * Fault campaign (issue 10, "kill -9 of the daemon and restart"): our LNS (l2tpd, PPP with CHAP,
 * pool 100.64.8.0/26) in one namespace, the PPP load client (bench/lib/ppp-load.ts: our LAC + PPP
 * peers) in another.
 *  1. 20 sessions come up (users u0..u19, addresses A).
 *  2. `kill -9` of l2tpd: no StopCCN, no CDN; the clients still think their sessions are up. The
 *     lease journal (state_dir/leases.journal) has the 20 leases.
 *  3. l2tpd starts again on the same state directory: it holds the 20 addresses for `lease_hold`
 *     (`status` pool.held = 20); the same client machine reconnects 20 sessions of other users
 *     (u20..u39): none gets an address of A; a new client reconnects u0..u9: each gets its own
 *     address back; every session pings the LNS through its address.
 *  4. The hold runs out (lease_hold = 30 s): the 10 addresses nobody took back return to the pool.
 *  5. A clean stop (SIGTERM: StopCCN to every client) and a start: nothing is held, and the journal
 *     holds no lease.
 * No address is ever handed to two live sessions: every address seen in steps 1 and 3 is distinct
 * except u0..u9 taking back their own.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTopology, makeWorkDir, removeWorkDir, repoRoot, requireRoot, tail, waitUntil, type Topology } from './lib/index.js';
import { controlRequest, startAccessLns, startLoadChild, writeUsers, type AccessLnsDaemon, type LoadChild } from '../../bench/lib/ppp-lns.js';
import type { DialResult, PingResult } from '../../bench/lib/ppp-load.js';
import type { StatusView } from '../../src/daemon/control-protocol.js';

const SESSIONS = 20;
const POOL = '100.64.8.0/26';
const LNS_ADDRESS = '100.64.8.1';
const LEASE_HOLD_S = 30;
const LIFETIME_MS = 240_000;

let topo: Topology | undefined;
let work = '';
let lns: AccessLnsDaemon | undefined;
const loads: LoadChild[] = [];
let failed = true;

before(() => {
  requireRoot();
});

after(async () => {
  for (const l of loads) await l.stop().catch(() => undefined);
  await lns?.stop();
  await topo?.destroy();
  if (work !== '') {
    if (failed) process.stderr.write(`lns-restart: artefacts kept in ${work}\n`);
    else removeWorkDir(work);
  }
});

/** Live leases in a journal's text (replayed: L minus R by the same owner). */
function journalLeases(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of text.split('\n')) {
    const f = l.split(' ');
    if (f[0] === 'L' && f.length === 5) m.set(f[1] ?? '', f[2] ?? '');
    if (f[0] === 'R' && m.get(f[1] ?? '') === f[2]) m.delete(f[1] ?? '');
  }
  return m;
}

test('kill -9 of l2tpd and restart: clients reconnect, held addresses go to nobody else, their users take them back', { timeout: 220_000 }, async (t) => {
  work = makeWorkDir('lns-restart');
  topo = await createTopology(['lac', 'lns'], 88, 'cb');
  const tp = topo;
  const lnsAddr = tp.node('lns').address;
  const usersFile = join(work, 'users');
  writeUsers(usersFile, 60);
  const socket = join(work, 'l2tpd.sock');
  const stateDir = join(work, 'state');
  const cfg = { socket, listen: lnsAddr, pool: POOL, localAddress: LNS_ADDRESS, usersFile, tunName: 'l2tp0', auth: ['chap'], retransmitInitial: 0.5, retransmitCap: 2, stateDir, leaseHold: LEASE_HOLD_S, logLevel: 'info' as const };
  const start = (): Promise<AccessLnsDaemon> => startAccessLns(tp.node('lns').ns, work, cfg, LIFETIME_MS);
  const status = async (): Promise<StatusView> => (await controlRequest(socket, { cmd: 'status' })) as StatusView;
  const dlog = (): string => tail(lns?.proc.output() ?? '', 30);
  const newLoad = async (): Promise<LoadChild> => {
    const l = await startLoadChild(tp.node('lac').ns, LIFETIME_MS, repoRoot());
    loads.push(l);
    await l.request({ cmd: 'open', address: tp.node('lac').address, tuning: { retransmitInitial: 500, retransmitCap: 2000, helloInterval: 0 } }, 10_000);
    return l;
  };
  const dial = async (l: LoadChild, n: number): Promise<string[]> => {
    const d = await l.request<DialResult>({ cmd: 'dial', peer: lnsAddr, port: 1701, tunnels: 2, sessions: n, window: 10, timeoutMs: 60_000 }, 70_000);
    assert.equal(d.up, n, `${d.up} of ${n} up: ${d.failures.slice(0, 3).join('; ')}\n${dlog()}`);
    return d.addresses.map((a) => a ?? '?');
  };
  const ping = async (l: LoadChild, from: number, n: number): Promise<void> => {
    const r = await l.request<PingResult[]>({ cmd: 'ping', indexes: Array.from({ length: n }, (_, i) => from + i), dst: LNS_ADDRESS, count: 2, timeoutMs: 15_000 }, 20_000);
    const bad = r.filter((p) => p.received === 0);
    assert.deepEqual(bad, [], 'every session pings the LNS');
  };

  // ---- 1. 20 sessions.
  lns = await start();
  const load1 = await newLoad();
  const a = await dial(load1, SESSIONS);
  assert.equal(new Set(a).size, SESSIONS, `distinct addresses: ${a.join(' ')}`);
  await ping(load1, 0, SESSIONS);
  const journal = join(stateDir, 'leases.journal');
  assert.equal(journalLeases(readFileSync(journal, 'utf8')).size, SESSIONS, 'the journal has every lease');

  // ---- 2. kill -9.
  const killed = lns;
  process.kill(killed.proc.pid, 'SIGKILL');
  const exit = await killed.proc.exited;
  assert.equal(exit.signal, 'SIGKILL');
  writeFileSync(join(work, 'run1.log'), killed.proc.output());
  assert.deepEqual([...journalLeases(readFileSync(journal, 'utf8')).keys()].sort(), [...a].sort(), 'after kill -9 the journal still has the 20 leases');

  // ---- 3. restart: held for their users only.
  lns = await start();
  const s0 = await status();
  assert.equal(s0.pool?.held, SESSIONS, `held after the restart: ${JSON.stringify(s0.pool)}\n${dlog()}`);
  assert.equal(s0.pool?.inUse, SESSIONS);
  const b = await dial(load1, SESSIONS); // u20..u39 from the same client machine
  const reused = b.filter((x) => a.includes(x));
  assert.deepEqual(reused, [], `other users got none of the held addresses (A: ${a.join(' ')}; B: ${b.join(' ')})`);
  assert.equal(new Set(b).size, SESSIONS);
  const load2 = await newLoad();
  const c = await dial(load2, SESSIONS / 2); // u0..u9 again
  assert.deepEqual(c, a.slice(0, SESSIONS / 2), 'u0..u9 got their own addresses back');
  await ping(load1, SESSIONS, SESSIONS);
  await ping(load2, 0, SESSIONS / 2);
  const s1 = await status();
  assert.equal(s1.pool?.sessions, SESSIONS + SESSIONS / 2);
  assert.equal(s1.pool?.held, SESSIONS / 2, JSON.stringify(s1.pool));
  assert.equal(s1.pool?.inUse, 2 * SESSIONS, JSON.stringify(s1.pool));
  t.diagnostic(`after kill -9 and restart: ${s0.pool?.held} held; ${SESSIONS} other users got ${SESSIONS} new addresses, none of the held; ${SESSIONS / 2} users took theirs back; pool ${s1.pool?.inUse} in use, ${s1.pool?.held} held`);

  // ---- 4. the hold runs out.
  let last: StatusView | undefined;
  await waitUntil('the hold runs out', async () => {
    last = await status();
    return last.pool?.held === 0 ? true : undefined;
  }, (LEASE_HOLD_S + 15) * 1000, () => JSON.stringify(last?.pool), 500);
  assert.equal(last?.pool?.inUse, SESSIONS + SESSIONS / 2);

  // ---- 5. a clean stop ends every session (StopCCN): the next start holds nothing.
  const second = lns;
  await second.stop();
  writeFileSync(join(work, 'run2.log'), second.proc.output());
  assert.equal(journalLeases(readFileSync(journal, 'utf8')).size, 0, `after a clean stop the journal holds no lease:\n${readFileSync(journal, 'utf8').slice(-500)}`);
  lns = await start();
  const s2 = await status();
  assert.equal(s2.pool?.held, 0, JSON.stringify(s2.pool));
  assert.equal(s2.pool?.inUse, 0);
  t.diagnostic(`hold ran out after ${LEASE_HOLD_S} s; clean stop + start: ${s2.pool?.held} held, ${s2.pool?.inUse} in use`);
  failed = false;
});
