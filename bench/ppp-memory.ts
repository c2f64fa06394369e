// Remote-access memory: V8 heap bytes per idle PPP session on the LNS, with 10,000 sessions, in memory
// (no sockets): a LAC engine with one AccessClient per session (CHAP-MD5 peer, IPCP, no IPv6) and an
// LNS engine with an AccessServer (CHAP-MD5 authenticator, pool 100.64.0.0/18, no IPv6), over an
// in-memory lossless link on a virtual clock. Calls are placed in batches of --batch across
// --tunnels tunnels and run to IPCP up; "idle" = no traffic after that (no LCP echo is due yet).
//
// How client and server memory are split (all heapUsed after a full GC, --expose-gc):
//   base      = LNS engine + AccessServer + LAC engine, --tunnels tunnels established, no sessions
//               (the 10,000-user table is built before, so it is not counted)
//   full      = all sessions up, link queues drained, both sides alive
//   lnsOnly   = after dropping every reference to the client side (LAC engine, AccessClients, link),
//               so only the LNS engine + AccessServer are reachable
//   LNS per session    = (lnsOnly - base) / N   (includes the L2TP session in the LNS engine, the PPP
//                        link, the lease and the route; the dropped LAC engine's empty tunnels make
//                        this a few bytes per session too LOW, < 1 B/session at 10 tunnels)
//   client per session = (full - lnsOnly) / N   (LAC engine session + AccessClient)
// The same run also measures the plain L2TP session on the LNS (no AccessServer: the engine alone)
// so the PPP/access share = LNS per session - L2TP-only per session. Median of --rounds rounds after
// a small warm-up round.
// Run: npx tsx --expose-gc bench/ppp-memory.ts [--sessions=10000] [--tunnels=10] [--batch=200] [--rounds=3] [--idle=0]
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { seededRandom } from '../src/base/random.js';
import { instant, type Instant } from '../src/base/time.js';
import { L2tpEngine, defaultTunnelSettings, type L2tpEvent, type PeerAddress } from '../src/l2tp/index.js';
import { AccessClient, AccessServer, UserTable } from '../src/access/index.js';
import { dirtyOnData } from './lib/ppp-load.js';
import { parseUsersFile } from '../src/aaa/index.js';
import type { TunnelId } from '../src/wire/l2tp/types.js';
import { watchdog } from './lib/cleanup.js';
import { hasGc, snapshot } from './lib/gc.js';
import { machineLines } from './lib/machine.js';
import { fmtBytes, fmtNum, formatTable, numArg } from './lib/table.js';
import { parseIpv4, parseIpv4Prefix } from '../src/base/index.js';

const N = numArg('sessions', 10_000);
const TUNNELS = Math.max(1, numArg('tunnels', 10));
const BATCH = Math.max(1, numArg('batch', 200));
const ROUNDS = Math.max(1, numArg('rounds', 3));
/** Virtual seconds to stay idle after set-up before measuring (LCP echoes run meanwhile). */
const IDLE_S = numArg('idle', 0);
/** --heap-snapshot=DIR: write base.heapsnapshot and lns.heapsnapshot there (bench/lib/heap-diff.ts compares them). */
const SNAP_DIR = process.argv.find((a) => a.startsWith('--heap-snapshot='))?.slice(16);

const LAC: PeerAddress = { address: '198.18.202.1', port: 1701, family: 4 };
const LNS: PeerAddress = { address: '198.18.202.2', port: 1701, family: 4 };

/** Users u0..u(n-1) with password p<i>. */
function users(n: number): UserTable {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`u${i} p${i}`);
  const r = parseUsersFile(lines.join('\n'));
  if (!r.ok) throw new Error('users');
  return new UserTable(r.value);
}

/** Both hosts on an in-memory link; events are routed to clients through a map. */
class MemNet {
  now = 0;
  lac: L2tpEngine | undefined;
  readonly lns: L2tpEngine;
  server: AccessServer | undefined;
  clients = new Map<number, AccessClient>();
  private queue: { to: 'lac' | 'lns'; data: Uint8Array }[] = [];
  private dirty = new Set<AccessClient>();
  up = 0;
  l2tpUp = 0;
  failed = 0;

  constructor(table: UserTable | undefined, seed: number) {
    const mk = (host: string, s: number): L2tpEngine =>
      new L2tpEngine({ acceptTunnels: true, accept: defaultTunnelSettings(host), acceptIncomingCalls: true, acceptOutgoingCalls: true }, { random: seededRandom(s) });
    this.lac = mk('mem-lac', seed);
    this.lns = mk('mem-lns', seed + 1);
    if (table !== undefined) {
      const pool = parseIpv4Prefix('100.64.0.0/18');
      if (!pool.ok) throw new Error('pool');
      this.server = new AccessServer(this.lns, { random: seededRandom(seed + 2), users: table, ipv4Pool: pool.value, localAddress: parseIpv4('100.64.0.1') ?? 0, auth: ['chap-md5'] });
    }
  }

  get at(): Instant {
    return instant(this.now);
  }

  openTunnel(): TunnelId {
    const lac = this.lac as L2tpEngine;
    return lac.openTunnel(this.at, LNS, defaultTunnelSettings('mem-lac'));
  }

  /** Place call `i` on `tunnel`, with a PPP client when the LNS terminates PPP. */
  dial(i: number, tunnel: TunnelId): void {
    const lac = this.lac as L2tpEngine;
    const session = lac.openSession(this.at, tunnel, { direction: 'incoming' });
    if (session === undefined) throw new Error('openSession');
    if (this.server === undefined) return;
    const box: { c?: AccessClient } = {};
    const engine = dirtyOnData(lac, () => box.c !== undefined && this.dirty.add(box.c));
    const c = new AccessClient(engine, { random: seededRandom(1000 + i), tunnel, session, username: `u${i}`, password: `p${i}`, auth: ['chap-md5'], ipv6: false, requestDns: false });
    box.c = c;
    this.clients.set(tunnel * 0x10000 + session, c);
  }

  private lacEvent(e: L2tpEvent): void {
    if (e.type === 'session-established' && this.server === undefined) this.l2tpUp++;
    if (e.type !== 'session-established' && e.type !== 'session-closed') return;
    const c = this.clients.get(e.tunnel * 0x10000 + (e.session as number));
    if (c === undefined) return;
    c.handleL2tpEvent(this.at, e);
    this.dirty.add(c);
  }

  /** Deliver everything queued and drain every queue, until quiet. */
  pump(): void {
    for (let moved = true; moved; ) {
      moved = false;
      const lac = this.lac as L2tpEngine;
      const q = this.queue;
      this.queue = [];
      for (const d of q) {
        moved = true;
        if (d.to === 'lns') this.lns.handleDatagram(this.at, d.data, LAC);
        else lac.handleDatagram(this.at, d.data, LNS);
      }
      for (let t = lac.pollTransmit(); t !== undefined; t = lac.pollTransmit(), moved = true) this.queue.push({ to: 'lns', data: t.data });
      for (let t = this.lns.pollTransmit(); t !== undefined; t = this.lns.pollTransmit(), moved = true) this.queue.push({ to: 'lac', data: t.data });
      for (let e = lac.pollEvent(); e !== undefined; e = lac.pollEvent(), moved = true) this.lacEvent(e);
      for (let e = this.lns.pollEvent(); e !== undefined; e = this.lns.pollEvent(), moved = true) this.server?.handleL2tpEvent(this.at, e);
      const s = this.server;
      if (s !== undefined) {
        for (let t = s.pollTransmit(); t !== undefined; t = s.pollTransmit(), moved = true) this.queue.push({ to: 'lac', data: t.data });
        for (let p = s.pollTunWrite(); p !== undefined; p = s.pollTunWrite()) void p;
        for (let e = s.pollEvent(); e !== undefined; e = s.pollEvent()) void e;
      }
      const dirty = [...this.dirty];
      this.dirty.clear();
      for (const c of dirty) {
        for (let t = c.pollTransmit(); t !== undefined; t = c.pollTransmit(), moved = true) this.queue.push({ to: 'lns', data: t.data });
        for (let p = c.pollTunWrite(); p !== undefined; p = c.pollTunWrite()) void p;
        for (let e = c.pollEvent(); e !== undefined; e = c.pollEvent()) {
          if (e.type === 'up') this.up++;
          else if (e.type === 'down') this.failed++;
        }
      }
    }
  }

  /** Run until `done()` or `maxMs` of virtual time: deliver, then jump to the next timer. */
  runUntil(done: () => boolean, maxMs: number): void {
    const end = this.now + maxMs;
    for (;;) {
      this.pump();
      if (done()) return;
      let next: number | undefined;
      const take = (t: number | undefined): void => {
        if (t !== undefined && (next === undefined || t < next)) next = t;
      };
      take(this.lac?.pollAt());
      take(this.lns.pollAt());
      take(this.server?.pollAt());
      for (const c of this.clients.values()) take(c.pollAt());
      if (next === undefined || next > end) return;
      this.now = Math.max(this.now, next);
      const fire = (t: { pollAt(): Instant | undefined; handleTimeout(n: Instant): void } | undefined): void => {
        const a = t?.pollAt();
        if (t !== undefined && a !== undefined && a <= this.now) t.handleTimeout(this.at);
      };
      fire(this.lac);
      fire(this.lns);
      fire(this.server);
      for (const c of this.clients.values()) {
        const a = c.pollAt();
        if (a !== undefined && a <= this.now) {
          c.handleTimeout(this.at);
          this.dirty.add(c);
        }
      }
    }
  }

  /** Drop every reference to the client side. */
  dropClients(): void {
    this.clients = new Map();
    this.dirty = new Set();
    this.queue = [];
    this.lac = undefined;
  }
}

/** One measured round. */
interface Round {
  readonly ppp: boolean;
  readonly up: number;
  readonly lnsPerSession: number;
  readonly clientPerSession: number;
  readonly virtualMs: number;
  readonly lnsSessions: number;
}

function round(table: UserTable | undefined, n: number, seed: number): Round {
  let net: MemNet | undefined = new MemNet(table, seed);
  const tunnels: TunnelId[] = [];
  for (let t = 0; t < TUNNELS; t++) tunnels.push(net.openTunnel());
  const m0 = net;
  m0.runUntil(() => m0.lns.tunnels(m0.at).filter((t) => t.state === 'established').length === TUNNELS, 10_000);
  m0.runUntil(() => false, 1000); // flush delayed acks
  const base = snapshot().heapUsed;
  if (SNAP_DIR !== undefined && table !== undefined) writeHeapSnapshot(join(SNAP_DIR, 'base.heapsnapshot'));
  for (let i = 0; i < n; i += BATCH) {
    const upTo = Math.min(n, i + BATCH);
    for (let k = i; k < upTo; k++) m0.dial(k, tunnels[k % TUNNELS] as TunnelId);
    const target = upTo;
    m0.runUntil(() => (m0.server === undefined ? m0.l2tpUp : m0.up + m0.failed) >= target, 60_000);
  }
  m0.runUntil(() => false, 1000 + IDLE_S * 1000); // delayed acks (and --idle virtual seconds of LCP echoes)
  const up = m0.server === undefined ? m0.l2tpUp : m0.up;
  const virtualMs = m0.now;
  const full = snapshot().heapUsed;
  m0.dropClients();
  const lnsOnly = snapshot().heapUsed;
  if (SNAP_DIR !== undefined && table !== undefined) writeHeapSnapshot(join(SNAP_DIR, 'lns.heapsnapshot'));
  const lnsSessions = m0.lns.tunnels(m0.at).reduce((k, t) => k + t.sessions.length, 0);
  net = undefined;
  void net;
  return { ppp: table !== undefined, up, lnsPerSession: (lnsOnly - base) / n, clientPerSession: (full - lnsOnly) / n, virtualMs, lnsSessions };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

function main(): void {
  watchdog(600_000, 'ppp-memory took too long');
  console.log('PPP / remote access: heap per idle session (in memory, virtual clock)');
  for (const l of machineLines()) console.log(l);
  if (!hasGc()) console.log('WARNING: no --expose-gc: numbers include garbage (run with node --expose-gc)');
  console.log(`sessions ${fmtNum(N)} over ${TUNNELS} tunnels, batches of ${BATCH}, median of ${ROUNDS} round(s)\n`);
  const table = users(N);
  round(table, Math.min(N, 500), 1); // warm-up: JIT code and feedback vectors
  round(undefined, Math.min(N, 500), 2);
  const ppp: Round[] = [];
  const l2tp: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    ppp.push(round(table, N, 10 + r * 10));
    l2tp.push(round(undefined, N, 15 + r * 10));
  }
  const bad = [...ppp, ...l2tp].find((r) => r.up !== N || r.lnsSessions !== N);
  if (bad !== undefined) console.log(`WARNING: a round had ${bad.up} of ${N} sessions up (${bad.lnsSessions} on the LNS)`);
  const lnsPpp = median(ppp.map((r) => r.lnsPerSession));
  const lnsL2tp = median(l2tp.map((r) => r.lnsPerSession));
  const client = median(ppp.map((r) => r.clientPerSession));
  const clientL2tp = median(l2tp.map((r) => r.clientPerSession));
  console.log(
    formatTable(
      ['per idle session (heapUsed)', 'bytes', 'x 10,000'],
      [
        ['LNS: L2TP session + PPP link + lease + route', fmtNum(lnsPpp), fmtBytes(lnsPpp * 10_000)],
        ['LNS: L2TP session alone (no AccessServer)', fmtNum(lnsL2tp), fmtBytes(lnsL2tp * 10_000)],
        ['LNS: PPP / access share (difference)', fmtNum(lnsPpp - lnsL2tp), fmtBytes((lnsPpp - lnsL2tp) * 10_000)],
        ['client: LAC session + AccessClient', fmtNum(client), fmtBytes(client * 10_000)],
        ['client: LAC session alone', fmtNum(clientL2tp), fmtBytes(clientL2tp * 10_000)],
      ],
      ['left', 'right', 'right'],
    ),
  );
  console.log(`\nrounds (LNS B/session with PPP): ${ppp.map((r) => fmtNum(r.lnsPerSession)).join(', ')}; virtual set-up time ${fmtNum(median(ppp.map((r) => r.virtualMs)))} ms`);
  console.log(`summary: ppp-memory LNS ${fmtNum(lnsPpp)} B per idle PPP session (${fmtNum(lnsL2tp)} B of it the L2TP session), client ${fmtNum(client)} B, N=${fmtNum(N)}`);
}

main();
