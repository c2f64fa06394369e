/**
 * Soak scenario 4 (issue 10): an SCCRQ flood and an IKE Main Mode flood while established
 * sessions carry ping. Our l2tpd LNS (PPP with CHAP, `[ipsec]` on with L2TP in the clear allowed,
 * HELLO every 2 s) in one namespace; the PPP load client (our LAC, HELLO every 2 s: its tunnels die
 * if the LNS stops answering) with `sessions` sessions in another; the flooder (flood-child.ts) in a
 * third (namespaces `cb-<pid>-<seq>-*`, 198.18.90.0/24): SCCRQs to 1701 and IKE MM1s to 500 from
 * `ports` source ports, plus one legitimate IKE SA sending DPD R-U-THEREs through the flood. During
 * the flood every session is pinged (ICMP to the LNS address through PPP) round after round, and
 * `newSessions` more are dialled on a new tunnel. Afterwards: no session lost (every one answers a
 * ping, the LNS still counts them), the DPD probes were answered, the new tunnel was admitted, and
 * once everything is hung up the LNS is back at its baseline.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createTopology, makeWorkDir, removeWorkDir, repoRoot, waitUntil, type Topology } from '../../test/interop/lib/index.js';
import { controlRequest, startAccessLns, startLoadChild, writeUsers, type AccessLnsDaemon, type LoadChild } from '../lib/ppp-lns.js';
import type { DialResult, PingResult } from '../lib/ppp-load.js';
import type { StatusView } from '../../src/daemon/control-protocol.js';
import type { FloodReport, FloodRequest } from './flood-child.js';

/** How to run the flood. */
export interface FloodOptions {
  readonly sessions: number;
  readonly newSessions: number;
  readonly durationMs: number;
  readonly ports: number;
  readonly sccrqPerSecond: number;
  readonly ikePerSecond: number;
}

/** What the flood run measured. */
export interface FloodResult {
  readonly options: FloodOptions;
  readonly flood: FloodReport;
  /** Ping rounds during the flood: echo requests sent / answered over all sessions. */
  readonly pingRounds: number;
  readonly pingSent: number;
  readonly pingReceived: number;
  /** Sessions that answered no ping after the flood. */
  readonly silentAfter: number;
  /** The dial during the flood. */
  readonly admitted: number;
  readonly admitSeconds: number;
  /** LNS PPP sessions right after the flood, and its tunnel count at the flood's end (half-open ones included). */
  readonly lnsSessionsAfter: number;
  readonly lnsTunnelsPeak: number;
  readonly baseline: { readonly tunnels: number; readonly sessions: number; readonly leases: number; readonly fds: number };
  readonly end: { readonly tunnels: number; readonly sessions: number; readonly leases: number; readonly fds: number };
}

const POOL = '100.64.12.0/22';
const LNS_ADDRESS = '100.64.12.1';
const PSK = 'flood-soak-psk';

/** Run the flooder child in `ns`. */
function runFlooder(ns: string, req: FloodRequest): Promise<FloodReport> {
  const here = fileURLToPath(import.meta.url);
  const ts = here.endsWith('.ts');
  const file = join(dirname(here), ts ? 'flood-child.ts' : 'flood-child.js');
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...(ts ? ['--import', 'tsx'] : []), file, JSON.stringify(req)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), req.durationMs + 60_000);
  return new Promise((resolve, reject) => {
    child.on('close', () => {
      clearTimeout(killer);
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as FloodReport);
      } catch {
        reject(new Error(`the flooder printed no report: ${out}${err}`));
      }
    });
  });
}

async function look(lns: AccessLnsDaemon): Promise<FloodResult['end']> {
  const s = (await controlRequest(lns.socket, { cmd: 'status' }, 30_000)) as StatusView;
  return { tunnels: s.tunnels.length, sessions: s.pool?.sessions ?? -1, leases: s.pool?.inUse ?? -1, fds: readdirSync(`/proc/${lns.proc.pid}/fd`).length };
}

const pingAll = (load: LoadChild, from: number, n: number): Promise<PingResult[]> =>
  load.request<PingResult[]>({ cmd: 'ping', indexes: Array.from({ length: n }, (_, i) => from + i), dst: LNS_ADDRESS, count: 1, timeoutMs: 5000 }, 20_000);

/** Run the flood once; every process and namespace it made is gone when it returns. */
export async function runFlood(o: FloodOptions): Promise<FloodResult> {
  const work = makeWorkDir('soak-flood');
  let topo: Topology | undefined;
  let lns: AccessLnsDaemon | undefined;
  let load: LoadChild | undefined;
  try {
    topo = await createTopology(['lac', 'lns', 'flood'], 90, 'cb');
    const lnsNode = topo.node('lns');
    const usersFile = join(work, 'users');
    writeUsers(usersFile, o.sessions + o.newSessions);
    const cfg = {
      socket: join(work, 'l2tpd.sock'), listen: lnsNode.address, pool: POOL, localAddress: LNS_ADDRESS, usersFile, tunName: 'l2tp0', auth: ['chap'],
      retransmitInitial: 0.5, retransmitCap: 2, helloInterval: 2, stateDir: join(work, 'state'), ipsecPsk: PSK,
    };
    const life = o.durationMs + 240_000;
    lns = await startAccessLns(lnsNode.ns, work, cfg, life);
    const baseline = await look(lns);
    load = await startLoadChild(topo.node('lac').ns, life, repoRoot());
    await load.request({ cmd: 'open', address: topo.node('lac').address, tuning: { retransmitInitial: 500, retransmitCap: 2000, helloInterval: 2000 } }, 10_000);
    const up = await load.request<DialResult>({ cmd: 'dial', peer: lnsNode.address, port: 1701, tunnels: 4, sessions: o.sessions, window: 25, timeoutMs: 60_000 }, 70_000);
    if (up.up !== o.sessions) throw new Error(`before the flood only ${up.up} of ${o.sessions} sessions came up: ${up.failures.join('; ')}`);
    const flooding = runFlooder(topo.node('flood').ns, {
      target: lnsNode.address, local: topo.node('flood').address, ports: o.ports, sccrqPerSecond: o.sccrqPerSecond, ikePerSecond: o.ikePerSecond, durationMs: o.durationMs, dpdPsk: PSK,
    });
    const t0 = performance.now();
    let pingRounds = 0;
    let pingSent = 0;
    let pingReceived = 0;
    let admitted = -1;
    let admitSeconds = 0;
    let lnsTunnelsPeak = 0;
    while (performance.now() - t0 < o.durationMs) {
      const r = await pingAll(load, 0, o.sessions);
      pingRounds++;
      for (const p of r) {
        pingSent += p.sent;
        pingReceived += p.received;
      }
      if (admitted < 0 && performance.now() - t0 > o.durationMs / 3) {
        const a0 = performance.now();
        const d = await load.request<DialResult>({ cmd: 'dial', peer: lnsNode.address, port: 1701, tunnels: 1, sessions: o.newSessions, window: o.newSessions, timeoutMs: 30_000 }, 40_000);
        admitted = d.up;
        admitSeconds = (performance.now() - a0) / 1000;
      }
      lnsTunnelsPeak = Math.max(lnsTunnelsPeak, (await look(lns)).tunnels);
    }
    const flood = await flooding;
    const after = await pingAll(load, 0, o.sessions + Math.max(0, admitted));
    const silentAfter = after.filter((p) => p.received === 0).length;
    const lnsSessionsAfter = (await look(lns)).sessions;
    await load.request({ cmd: 'hangup', timeoutMs: 30_000 }, 40_000);
    await load.request({ cmd: 'close-tunnels', timeoutMs: 20_000 }, 30_000);
    const l = lns;
    let end = await look(l);
    await waitUntil('the LNS is back at its baseline', async () => {
      end = await look(l);
      return end.tunnels === baseline.tunnels && end.sessions === baseline.sessions ? true : undefined;
    }, 90_000, () => JSON.stringify(end), 500).catch(() => undefined);
    return { options: o, flood, pingRounds, pingSent, pingReceived, silentAfter, admitted, admitSeconds, lnsSessionsAfter, lnsTunnelsPeak, baseline, end };
  } finally {
    await load?.stop().catch(() => undefined);
    await lns?.stop().catch(() => undefined);
    await topo?.destroy();
    removeWorkDir(work);
  }
}

/** What went wrong (empty = every guarantee held). */
export function floodProblems(r: FloodResult): string[] {
  const o = r.options;
  const out: string[] = [];
  if (r.silentAfter > 0) out.push(`${r.silentAfter} sessions answered no ping after the flood`);
  if (r.lnsSessionsAfter !== o.sessions + r.admitted) out.push(`the LNS counts ${r.lnsSessionsAfter} sessions, not ${o.sessions + r.admitted}`);
  if (r.admitted !== o.newSessions) out.push(`${r.admitted} of ${o.newSessions} new sessions admitted during the flood`);
  if (r.flood.dpd?.mainMode !== true) out.push('the legitimate IKE SA did not come up during the flood');
  else if (r.flood.dpd.acked < r.flood.dpd.sent - 1) out.push(`DPD: ${r.flood.dpd.acked} of ${r.flood.dpd.sent} R-U-THEREs answered`);
  if (r.flood.sccrqSent === 0 || r.flood.ikeSent === 0) out.push('nothing was flooded');
  for (const k of ['tunnels', 'sessions', 'leases', 'fds'] as const) if (r.end[k] !== r.baseline[k]) out.push(`LNS ${k} ${r.baseline[k]} -> ${r.end[k]}`);
  return out;
}

/** The printed report. */
export function formatFlood(r: FloodResult): string[] {
  const o = r.options;
  const f = r.flood;
  const pct = r.pingSent === 0 ? '-' : ((100 * r.pingReceived) / r.pingSent).toFixed(1);
  return [
    `SCCRQ + IKE Main Mode flood: ${(o.durationMs / 1000).toFixed(0)} s from ${o.ports} source ports, ${o.sccrqPerSecond} SCCRQ/s + ${o.ikePerSecond} MM1/s, while ${o.sessions} PPP sessions carry ping (HELLO every 2 s both ways)`,
    `  flooded: ${f.sccrqSent} SCCRQs (${f.l2tpAnswers} datagrams back), ${f.ikeSent} MM1s (${f.ikeAnswers} back), ${f.sendErrors} send errors; LNS tunnels at most ${r.lnsTunnelsPeak} (half-open included)`,
    `  ping during the flood: ${r.pingRounds} rounds, ${r.pingReceived} of ${r.pingSent} echo replies (${pct} %); after: ${r.silentAfter} sessions silent; LNS counts ${r.lnsSessionsAfter} sessions`,
    `  DPD through the flood: Main Mode ${f.dpd?.mainMode === true ? 'up' : 'FAILED'}, ${f.dpd?.acked ?? 0} of ${f.dpd?.sent ?? 0} R-U-THEREs acked`,
    `  new legitimate tunnel during the flood: ${r.admitted} of ${o.newSessions} sessions up in ${r.admitSeconds.toFixed(1)} s`,
    `  LNS baseline -> end: tunnels ${r.baseline.tunnels} -> ${r.end.tunnels}, sessions ${r.baseline.sessions} -> ${r.end.sessions}, leases ${r.baseline.leases} -> ${r.end.leases}, fds ${r.baseline.fds} -> ${r.end.fds}`,
  ];
}
