/**
 * Soak scenario 1 (issue 10): N sessions set up through the UDP impairment proxy with loss,
 * reordering and duplication on the L2TP control channel (T bit set; data messages pass), then torn
 * down through it. Our LAC (bench/lib/l2tp-load.ts, this process) -> proxy (this process) -> our
 * LNS, either a child process in a namespace we create (`cb-soak-<pid>`, veth 198.18.212.0/30) or,
 * with `loopback`, in this process on 127.0.0.1. Reports how many came up at both ends, how many
 * were lost, the retransmission counters of both ends, the proxy's counters, and the times.
 */
import { performance } from 'node:perf_hooks';
import { defaultTuning, type ChannelTuning, type PeerAddress } from '../../src/l2tp/index.js';
import type { Duration } from '../../src/base/index.js';
import type { TunnelId } from '../../src/wire/l2tp/types.js';
import { Lac, sleep, type SetupResult } from '../lib/l2tp-load.js';
import { startLns, type LnsCounts } from '../lib/lns.js';
import { createVethNetns, deleteNetns } from '../lib/netns.js';
import { startOurLnsChild } from '../lib/peers.js';
import { l2tpControlOnly, type ImpairmentConfig } from '../../test/lib/impair/core.js';
import { UdpImpairProxy, type ImpairProxyCounters } from '../../test/lib/impair/proxy.js';

/** How to run the scenario. */
export interface ControlLossOptions {
  /** Sessions to set up. */
  readonly sessions: number;
  /** 'tunnels': one tunnel per session (SCCRQ..ICCN each); 'calls': all sessions on one tunnel. */
  readonly mode: 'tunnels' | 'calls';
  /** Set-ups in flight at most. */
  readonly window: number;
  /** Loss, reordering and duplication probabilities on the control channel, both directions. */
  readonly loss: number;
  readonly reorder: number;
  readonly duplicate: number;
  readonly seed: number;
  /** Bound of the set-up phase. */
  readonly timeoutMs: number;
  /** LNS in this process on loopback instead of a child in a namespace (no root needed). */
  readonly loopback: boolean;
  /**
   * §5.8 retransmissions before a tunnel gives up, at both ends (undefined = the RFC default 5).
   * At 20 % loss each way one try of a message acknowledged by a ZLB fails with p = 1 - 0.8² = 0.36,
   * all six with 0.36^6 ≈ 0.2 %: about 2 of 1,000 tunnels give up after their session is established.
   * With 10, 0.36^11 ≈ 1e-5.
   */
  readonly retries?: number;
  /** Longest retransmission interval at both ends (ms; default 16 s): shorter = shorter §5.7 linger, same give-up odds. */
  readonly retransmitCap?: number;
}

/** The tuning both ends run with. */
function tuningOf(o: ControlLossOptions): Partial<ChannelTuning> {
  return {
    ...(o.retries !== undefined ? { retriesEstablished: o.retries, retriesNotEstablished: o.retries } : {}),
    ...(o.retransmitCap !== undefined ? { retransmitCap: o.retransmitCap as Duration } : {}),
  };
}

/** What the scenario measured. */
export interface ControlLossResult {
  readonly options: ControlLossOptions;
  readonly where: string;
  readonly setup: SetupResult;
  /** LNS event counts after the teardown. */
  readonly lns: LnsCounts;
  /** LAC tunnels still open after the teardown phase (0 = nothing leaked on the LAC). */
  readonly lacTunnelsLeft: number;
  readonly teardownSeconds: number;
  readonly proxy: ImpairProxyCounters;
  /** LAC sessions that closed during the set-up phase after they were established (for any reason). */
  readonly lostAfterUp: number;
  /** Set-ups retried after a failed one (0 when every first attempt came up). */
  readonly redials: number;
  /** Why tunnels / sessions closed at the LAC during the set-up phase, with counts. */
  readonly setupCloses: Readonly<Record<string, number>>;
}

const HOST = '198.18.212.1';
const NS = '198.18.212.2';

/** The proxy's impairment of one direction for these options (control messages only). */
function impairment(o: ControlLossOptions): ImpairmentConfig {
  return { loss: o.loss, reorder: o.reorder, reorderMs: 30, duplicate: o.duplicate, delayMs: 1, jitterMs: 2, match: l2tpControlOnly };
}

/** The LNS of a run. */
interface Target {
  readonly where: string;
  readonly addr: { readonly address: string; readonly port: number };
  /** Local address for the proxy's back sockets. */
  readonly back: string;
  /** The LNS's latest counts (a child reports them every second). */
  counts(): LnsCounts | undefined;
  stop(): Promise<LnsCounts>;
}

/** An LNS for the run: a namespace child or in-process; `stop` returns its final counts. */
async function startTarget(o: ControlLossOptions): Promise<Target> {
  if (o.loopback) {
    const lns = await startLns('127.0.0.1', 0, 'l2tpkit-lns', tuningOf(o));
    const port = Number(lns.endpoint.label.split(':').at(-1));
    return {
      where: 'loopback, LNS in this process',
      addr: { address: '127.0.0.1', port },
      back: '127.0.0.1',
      counts: () => lns.counts,
      stop: async () => {
        const c = { ...lns.counts };
        await lns.close();
        return c;
      },
    };
  }
  const ns = `cb-soak-${process.pid}`.slice(0, 15);
  const tag = String(process.pid % 100000);
  await createVethNetns(ns, `cb${tag}h`, `cb${tag}n`, HOST, NS);
  try {
    const child = await startOurLnsChild(ns, NS, tuningOf(o));
    let latest: LnsCounts | undefined;
    let buf = '';
    child.child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const m = /^status (\{.*\})$/.exec(buf.slice(0, i));
        if (m?.[1] !== undefined) latest = JSON.parse(m[1]) as LnsCounts;
        buf = buf.slice(i + 1);
      }
    });
    return {
      counts: () => latest,
      where: `LNS child in namespace ${ns} (${NS}:1701, veth)`,
      addr: { address: NS, port: 1701 },
      back: HOST,
      stop: async () => {
        const out = await child.stop();
        await deleteNetns(ns);
        const m = /counts (\{.*\})/.exec(out);
        if (m?.[1] === undefined) throw new Error(`LNS child printed no counts: ${out}`);
        return JSON.parse(m[1]) as LnsCounts;
      },
    };
  } catch (e) {
    await deleteNetns(ns);
    throw e;
  }
}

/** Rounds of set-ups at most: the first, then redials of what failed (an always-on LAC redials). */
const MAX_ROUNDS = 3;

/**
 * Set up `o.sessions` sessions; a set-up that fails (e.g. a retransmission give-up after 5 retries,
 * RFC 2661 §5.8, which 20 % loss each way makes happen now and then) is redialled, as an always-on
 * LAC does, up to MAX_ROUNDS rounds. The result adds the rounds up; `redials` counts the retries.
 */
async function setUp(lac: Lac, peer: PeerAddress, o: ControlLossOptions): Promise<{ setup: SetupResult; tunnels: TunnelId[]; redials: number }> {
  const t0 = performance.now();
  const tunnels: TunnelId[] = [];
  let total: SetupResult | undefined;
  let redials = 0;
  let oneTunnel: TunnelId | undefined;
  for (let round = 0, want = o.sessions; round < MAX_ROUNDS && want > 0; round++) {
    if (round > 0) redials += want;
    let r: SetupResult;
    if (o.mode === 'tunnels') {
      const x = await lac.tunnelSetups(peer, want, o.window, o.timeoutMs);
      r = x.result;
      tunnels.push(...x.tunnels);
    } else {
      oneTunnel ??= await lac.openTunnel(peer, o.timeoutMs);
      if (oneTunnel === undefined) throw new Error('the one tunnel did not come up');
      if (!tunnels.includes(oneTunnel)) tunnels.push(oneTunnel);
      r = await lac.sessionSetups(oneTunnel, want, o.window, o.timeoutMs);
    }
    total = total === undefined ? r : { ...total, established: total.established + r.established, iccnAcked: total.iccnAcked + r.iccnAcked, failed: r.failed, timedOut: total.timedOut || r.timedOut, peerCdns: total.peerCdns + r.peerCdns, retransmits: total.retransmits + r.retransmits };
    want -= r.established;
  }
  if (total === undefined) throw new Error('no set-up round ran');
  const seconds = (performance.now() - t0) / 1000;
  return { setup: { ...total, attempted: o.sessions, seconds }, tunnels, redials };
}

/**
 * How long the teardown may take: a closed tunnel lingers one full retransmission cycle (§5.7:
 * 1 + 2 + 4 + ... s, capped per try at 16 s; 127 s with 10 retries), plus a StopCCN that needs its
 * retries, plus a minute.
 */
function lingerBound(o: ControlLossOptions): number {
  const t = { ...defaultTuning(), ...tuningOf(o) };
  let cycle = 0;
  for (let i = 0; i <= t.retriesEstablished; i++) cycle += Math.min(t.retransmitInitial * 2 ** i, t.retransmitCap);
  return 2 * cycle + 60_000;
}

/** Run the scenario once; every socket, child and namespace it made is gone when it returns. */
export async function runControlLoss(o: ControlLossOptions): Promise<ControlLossResult> {
  const target = await startTarget(o);
  let proxy: UdpImpairProxy | undefined;
  let lac: Lac | undefined;
  try {
    proxy = await UdpImpairProxy.open({ listen: { address: '127.0.0.1', port: 0 }, target: target.addr, backAddress: target.back, up: impairment(o), down: impairment(o), seed: o.seed });
    lac = await Lac.open('127.0.0.1', 'soak-lac', tuningOf(o));
    const setupCloses: Record<string, number> = {};
    const up = new Set<string>();
    let lostAfterUp = 0;
    lac.tap = (e) => {
      if (e.type === 'session-established') up.add(`${e.tunnel}/${e.session}`);
      if (e.type !== 'tunnel-closed' && e.type !== 'session-closed') return;
      const r = e.reason;
      const wasUp = e.type === 'session-closed' && up.delete(`${e.tunnel}/${e.session}`);
      if (wasUp) lostAfterUp++;
      const k = `${e.type}${wasUp ? ' (was established)' : ''} by ${r.by}: ${r.cause} (result ${r.result.result}${r.result.error !== undefined ? `/${r.result.error}` : ''})`;
      setupCloses[k] = (setupCloses[k] ?? 0) + 1;
    };
    const peer: PeerAddress = { address: '127.0.0.1', port: proxy.address.port, family: 4 };
    const { setup, tunnels, redials } = await setUp(lac, peer, o);
    // Teardown through the same impaired path: StopCCN each tunnel, then wait (bounded) until both
    // ends hold no tunnel (each lingers a full retransmission cycle, §5.7).
    lac.tap = undefined;
    const t0 = performance.now();
    await lac.closeAll(tunnels, 0);
    const l = lac;
    const left = (): number => l.endpoint.run((now, engine) => engine.tunnels(now).length);
    const lnsOpen = (): number => {
      const c = target.counts();
      return c === undefined ? 1 : c.tunnelsEstablished - c.tunnelsClosed;
    };
    while ((left() > 0 || lnsOpen() > 0) && performance.now() - t0 < lingerBound(o)) await sleep(250);
    const teardownSeconds = (performance.now() - t0) / 1000;
    const lacTunnelsLeft = left();
    const counters = proxy.counters();
    await lac.close();
    lac = undefined;
    await proxy.close();
    proxy = undefined;
    const lns = await target.stop();
    return { options: o, where: target.where, setup, lns, lacTunnelsLeft, teardownSeconds, proxy: counters, setupCloses, redials, lostAfterUp };
  } finally {
    await lac?.close();
    if (proxy !== undefined) {
      await proxy.close();
      await target.stop().catch(() => undefined);
    }
  }
}

/** The printed report of one run. */
export function formatControlLoss(r: ControlLossResult): string[] {
  const o = r.options;
  const s = r.setup;
  const pct = (x: number): string => `${Math.round(x * 100)} %`;
  const dir = (name: string, c: ImpairProxyCounters['up']): string =>
    `  proxy ${name}: ${c.received} datagrams, ${c.matched} control, ${c.lost} lost, ${c.reordered} reordered, ${c.duplicated} duplicated, ${c.passed} data passed`;
  return [
    `control-channel loss soak: ${o.sessions} sessions (${o.mode === 'tunnels' ? 'one tunnel each' : 'on one tunnel'}), window ${o.window}, seed ${o.seed}, ${o.retries ?? 5} retransmissions before giving up (interval cap ${((o.retransmitCap ?? 16000) / 1000).toFixed(0)} s)`,
    `  path: our LAC -> impairment proxy (control: ${pct(o.loss)} loss, ${pct(o.reorder)} reorder, ${pct(o.duplicate)} duplicate, each way) -> ${r.where}`,
    `  came up: LAC ${s.established} / ${s.attempted} sessions, LNS ${r.lns.sessionsEstablished} sessions, ${r.lns.tunnelsEstablished} tunnels; ${r.redials} redialled after a failed set-up${s.timedOut ? ', TIMED OUT' : ''}`,
    `  lost: ${s.attempted - s.established} never established, ${r.lostAfterUp} closed after establishment (${s.peerCdns} of them by the LNS)`,
    `  set-up time: ${s.seconds.toFixed(1)} s for all (with redials), first round latency p50 ${s.p50?.toFixed(0) ?? '-'} ms, p99 ${s.p99?.toFixed(0) ?? '-'} ms; ICCN acked ${s.iccnAcked}`,
    `  retransmissions: LAC ${s.retransmits} during set-up, LNS ${r.lns.retransmits} (set-up + teardown)`,
    `  teardown: ${r.teardownSeconds.toFixed(1)} s, LAC tunnels left ${r.lacTunnelsLeft}; LNS closed ${r.lns.tunnelsClosed} tunnels, ${r.lns.sessionsClosed} sessions`,
    dir('LAC->LNS', r.proxy.up),
    dir('LNS->LAC', r.proxy.down),
    ...Object.entries(r.setupCloses).map(([k, n]) => `  closed during set-up: ${n} x ${k}`),
  ];
}
