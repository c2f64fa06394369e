/**
 * Soak scenario 3 (issue 10): a blackout of the link. Our LNS (l2tpd, plain L2TP sessions) in
 * namespace `cb-bl-<pid>` (veth 198.18.215.0/30) and our always-on LAC (l2tpd, `[[lac]] redial =
 * true`, several sections, sessions each) in `cb-bc-<pid>` (veth 198.18.216.0/30); between them the
 * UDP impairment proxy in this process (front 198.18.216.1, back 198.18.215.1; both ends are local
 * veth addresses, nothing leaves the host). Once every tunnel is up the proxy drops everything, both
 * ways, for `blackoutMs`. What must happen depends on the configuration:
 *   - 'survive': the HELLO retransmission budget (RFC 2661 §5.8: hello_interval, then the
 *     retransmissions) outlasts the blackout: the same tunnels, same ids, at both ends afterwards;
 *   - 'teardown': it does not: both ends give up during the blackout (StopCCN into the void), and the
 *     always-on LAC redials once the link is back: the same number of tunnels, with new ids, and the
 *     LNS holds exactly those (nothing stale).
 * Then the LAC stops (StopCCN) and the LNS is back at its baseline: no tunnel, no session, the timers
 * and file descriptors it had before the LAC came.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { makeWorkDir, removeWorkDir, sleep, waitUntil } from '../../test/interop/lib/index.js';
import { startL2tpd, type L2tpd, type ShownTunnel } from '../../test/interop/lib/l2tpd.js';
import { UdpImpairProxy, type ImpairProxyCounters } from '../../test/lib/impair/proxy.js';
import { createVethNetns, deleteNetns } from '../lib/netns.js';
import { controlRequest } from '../lib/ppp-lns.js';
import type { StatusView } from '../../src/daemon/control-protocol.js';

/** How to run the blackout. */
export interface BlackoutOptions {
  readonly blackoutMs: number;
  /** `[l2tp]` of both daemons (seconds). */
  readonly helloInterval: number;
  readonly retransmitInitial: number;
  readonly retransmitCap: number;
  /** `[[lac]]` sections (one tunnel each) and sessions per tunnel. */
  readonly tunnels: number;
  readonly sessions: number;
  readonly expect: 'survive' | 'teardown';
  /** Bound of the wait for the LAC to come back after the blackout. */
  readonly comebackMs: number;
}

/** The LNS's leak-relevant numbers. */
export interface LnsLook {
  readonly tunnels: number;
  readonly sessions: number;
  readonly timers: number;
  readonly fds: number;
}

/** What the blackout run measured. */
export interface BlackoutResult {
  readonly options: BlackoutOptions;
  /** Tunnel ids (LNS side) before and after. */
  readonly before: readonly number[];
  readonly after: readonly number[];
  /** Fewest tunnels the LNS held during the blackout (0 = it tore them all down). */
  readonly lnsMinDuring: number;
  /** Sessions established at the LNS after the comeback. */
  readonly sessionsAfter: number;
  /** Blackout end to every tunnel up again with its sessions (ms). */
  readonly comebackMs: number | undefined;
  readonly retransmits: { readonly lns: number; readonly lac: number };
  readonly proxy: ImpairProxyCounters;
  readonly lnsBaseline: LnsLook;
  readonly lnsEnd: LnsLook;
}

async function look(d: L2tpd): Promise<LnsLook> {
  const s = (await controlRequest(d.socket, { cmd: 'status' }, 15_000)) as StatusView;
  return {
    tunnels: s.tunnels.length,
    sessions: s.tunnels.reduce((n, t) => n + t.sessions.length, 0),
    timers: s.timers ?? -1,
    fds: readdirSync(`/proc/${d.proc.pid}/fd`).length,
  };
}

/** Established tunnels with all their sessions established. */
const ready = (ts: readonly ShownTunnel[], sessions: number): ShownTunnel[] => ts.filter((t) => t.state === 'established' && t.sessions.filter((s) => s.state === 'established').length === sessions);

const retransmitsOf = async (d: L2tpd): Promise<number> => {
  const s = (await controlRequest(d.socket, { cmd: 'status' }, 15_000)) as StatusView;
  return s.tunnels.reduce((n, t) => n + (t.counters.retransmits ?? 0), 0);
};

/** Run the blackout once; every process, socket and namespace it made is gone when it returns. */
export async function runBlackout(o: BlackoutOptions): Promise<BlackoutResult> {
  const work = makeWorkDir('soak-blackout');
  const tag = String(process.pid % 100000);
  const lnsNs = `cb-bl-${tag}`;
  const lacNs = `cb-bc-${tag}`;
  let lns: L2tpd | undefined;
  let lac: L2tpd | undefined;
  let proxy: UdpImpairProxy | undefined;
  try {
    await createVethNetns(lnsNs, `cbl${tag}h`, `cbl${tag}n`, '198.18.215.1', '198.18.215.2');
    await createVethNetns(lacNs, `cbc${tag}h`, `cbc${tag}n`, '198.18.216.1', '198.18.216.2');
    const timers = { helloInterval: o.helloInterval, retransmitInitial: o.retransmitInitial, retransmitCap: o.retransmitCap };
    const life = o.blackoutMs + o.comebackMs + 120_000;
    lns = await startL2tpd({ ns: lnsNs, dir: join(work, 'lns'), hostName: 'soak-lns', listen: [{ address: '198.18.215.2' }], debug: false, lifetimeMs: life, ...timers });
    proxy = await UdpImpairProxy.open({ listen: { address: '198.18.216.1', port: 0 }, target: { address: '198.18.215.2', port: 1701 }, backAddress: '198.18.215.1', seed: 1 });
    const port = proxy.address.port;
    await sleep(500);
    const lnsBaseline = await look(lns);
    const lacs = Array.from({ length: o.tunnels }, (_, i) => ({ name: `up${i}`, lns: '198.18.216.1', port, localAddress: '198.18.216.2', sessions: o.sessions, redial: true }));
    lac = await startL2tpd({ ns: lacNs, dir: join(work, 'lac'), hostName: 'soak-lac', lacs, debug: false, lifetimeMs: life, ...timers });
    const l = lns;
    const all = async (): Promise<ShownTunnel[] | undefined> => {
      const r = ready(await l.tunnels(), o.sessions);
      return r.length === o.tunnels ? r : undefined;
    };
    const before = (await l.waitTunnels('every tunnel up', (ts) => (ready(ts, o.sessions).length === o.tunnels ? ready(ts, o.sessions) : undefined), 60_000)).map((t) => t.localTunnelId);
    // The blackout, watching the LNS's tunnel count.
    proxy.blackout(o.blackoutMs);
    const t0 = performance.now();
    let lnsMinDuring = before.length;
    while (performance.now() - t0 < o.blackoutMs) {
      lnsMinDuring = Math.min(lnsMinDuring, (await l.tunnels()).filter((t) => t.state === 'established').length);
      await sleep(250);
    }
    const end = performance.now();
    let comebackMs: number | undefined;
    let afterTs: ShownTunnel[] | undefined;
    try {
      afterTs = await waitUntil('every tunnel up again', all, o.comebackMs, () => l.logTail(10), 200);
      comebackMs = performance.now() - end;
    } catch {
      afterTs = ready(await l.tunnels(), o.sessions);
    }
    // Only the tunnels of the comeback: nothing stale beside them.
    const shown = await l.tunnels();
    const after = shown.map((t) => t.localTunnelId);
    const sessionsAfter = ready(shown, o.sessions).reduce((n, t) => n + t.sessions.length, 0);
    const retransmits = { lns: await retransmitsOf(l), lac: await retransmitsOf(lac) };
    const counters = proxy.counters();
    void afterTs;
    // The LAC goes away cleanly; the LNS must be back at its baseline.
    await lac.stop();
    lac = undefined;
    await waitUntil('the LNS holds no tunnel', async () => ((await l.tunnels()).length === 0 ? true : undefined), 60_000, () => l.logTail(10), 250);
    await sleep(300);
    const lnsEnd = await look(l);
    return { options: o, before, after, lnsMinDuring, sessionsAfter, comebackMs, retransmits, proxy: counters, lnsBaseline, lnsEnd };
  } finally {
    await lac?.stop().catch(() => undefined);
    await lns?.stop().catch(() => undefined);
    await proxy?.close();
    await deleteNetns(lacNs);
    await deleteNetns(lnsNs);
    removeWorkDir(work);
  }
}

/** What went wrong (empty = the run behaved as configured). */
export function blackoutProblems(r: BlackoutResult): string[] {
  const o = r.options;
  const out: string[] = [];
  if (r.comebackMs === undefined) out.push(`not every tunnel was up ${o.comebackMs} ms after the blackout`);
  if (r.after.length !== o.tunnels) out.push(`the LNS holds ${r.after.length} tunnels after the blackout, not ${o.tunnels}`);
  if (r.sessionsAfter !== o.tunnels * o.sessions) out.push(`${r.sessionsAfter} sessions after, not ${o.tunnels * o.sessions}`);
  const same = r.after.filter((id) => r.before.includes(id)).length;
  if (o.expect === 'survive') {
    if (same !== o.tunnels) out.push(`expected the same ${o.tunnels} tunnels to survive; ${same} did`);
    if (r.lnsMinDuring !== o.tunnels) out.push(`the LNS dropped to ${r.lnsMinDuring} tunnels during the blackout`);
  } else {
    if (same !== 0) out.push(`expected every tunnel torn down and redialled; ${same} kept their id`);
    if (r.lnsMinDuring !== 0) out.push(`the LNS still held ${r.lnsMinDuring} tunnels during the blackout`);
  }
  if (r.proxy.up.blackedOut + r.proxy.down.blackedOut === 0) out.push('the proxy dropped nothing');
  for (const k of ['tunnels', 'sessions', 'timers', 'fds'] as const) if (r.lnsEnd[k] !== r.lnsBaseline[k]) out.push(`LNS ${k} ${r.lnsBaseline[k]} -> ${r.lnsEnd[k]}`);
  return out;
}

/** The printed report of one run. */
export function formatBlackout(r: BlackoutResult): string[] {
  const o = r.options;
  const b = r.lnsBaseline;
  const e = r.lnsEnd;
  return [
    `link blackout: ${(o.blackoutMs / 1000).toFixed(1)} s, ${o.tunnels} always-on LAC tunnels x ${o.sessions} sessions; hello ${o.helloInterval} s, retransmit ${o.retransmitInitial}..${o.retransmitCap} s -> expected: ${o.expect}`,
    `  LNS tunnels: before [${r.before.join(' ')}], fewest during the blackout ${r.lnsMinDuring}, after [${r.after.join(' ')}] (${r.after.filter((id) => r.before.includes(id)).length} the same)`,
    `  comeback: ${r.comebackMs === undefined ? 'NOT within the bound' : `${(r.comebackMs / 1000).toFixed(1)} s after the blackout ended`}, ${r.sessionsAfter} sessions established`,
    `  retransmissions (tunnels shown after): LNS ${r.retransmits.lns}, LAC ${r.retransmits.lac}; proxy blacked out ${r.proxy.up.blackedOut} LAC->LNS, ${r.proxy.down.blackedOut} LNS->LAC datagrams`,
    `  LNS baseline -> end: tunnels ${b.tunnels} -> ${e.tunnels}, sessions ${b.sessions} -> ${e.sessions}, timers ${b.timers} -> ${e.timers}, fds ${b.fds} -> ${e.fds}`,
  ];
}
