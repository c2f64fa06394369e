/**
 * The JSON views of `l2tpctl show ...` (control-protocol.ts), built from the engines' snapshots,
 * the PPP terminations and the LAC dialers at one instant.
 */
import type { L2tpv3View } from './l2tpv3-shell.js';
import type { L2tpv3StaticView } from './l2tpv3-static-shell.js';
import { since, type Instant } from '../base/index.js';
import type { TunnelInfo } from '../l2tp/index.js';
import type { AccessSessionInfo } from '../access/index.js';
import { ownSocketInodes, readUdpSnmp, type IpsecL2tp, type UdpEndpoint } from '../io/index.js';
import type { IpsecSummaryView, IpsecView, KernelDropsView, SessionView, StatusView, TunnelView } from './control-protocol.js';
import { ipsecView, sumIpsecCounters } from './ipsec-shell.js';
import type { LacShell } from './lac-shell.js';
import type { LnsAccess } from './access-shell.js';
import type { PppoeShell } from './pppoe-shell.js';
import { addData, tunnelKey, type DataCounters, type DataLedger } from './data-ledger.js';
import { SLICE_ITEMS, TurnSlicer } from './turn-slicer.js';

/** Everything the views read. */
export interface ViewSources {
  /** Every endpoint (listeners and LAC sockets), each once. */
  readonly endpoints: readonly UdpEndpoint[];
  readonly lacs: readonly LacShell[];
  readonly access: LnsAccess | undefined;
  /** The `[ipsec]` listener. */
  readonly ipsec: IpsecL2tp | undefined;
  /** `[[pppoe]]` access concentrators (BRAS). */
  readonly pppoe?: readonly PppoeShell[];
  /** Keeps tunnel payload counters monotone and daemon-wide totals (data-ledger.ts). */
  readonly ledger?: DataLedger;
}

/** One tunnel with the endpoint whose engine holds it. */
export interface TunnelAt {
  readonly endpoint: UdpEndpoint;
  readonly info: TunnelInfo;
}

/**
 * The tunnels of one engine one at a time: the ids first, each tunnel's snapshot when it is reached
 * (an engine without per-tunnel access gives its whole snapshot).
 */
function* eachTunnel(ep: UdpEndpoint, now: Instant): Generator<TunnelInfo> {
  const e = ep.engine;
  if (e.tunnelIds === undefined || e.tunnelInfo === undefined) {
    yield* e.tunnels(now);
    return;
  }
  for (const id of e.tunnelIds()) {
    const info = e.tunnelInfo(id);
    if (info !== undefined) yield info;
  }
}

/** Every tunnel of every engine. */
export function allTunnels(now: Instant, src: ViewSources): TunnelAt[] {
  const out: TunnelAt[] = [];
  for (const ep of src.endpoints) for (const info of ep.engine.tunnels(now)) out.push({ endpoint: ep, info });
  return out;
}

/** {@link allTunnels} one tunnel snapshot at a time, a `setImmediate` turn every `chunk` sessions (the status page at scale). */
export async function allTunnelsYielding(now: Instant, src: ViewSources, chunk = VIEW_CHUNK): Promise<TunnelAt[]> {
  const out: TunnelAt[] = [];
  const slicer = new TurnSlicer(chunk);
  for (const endpoint of src.endpoints) {
    for (const info of eachTunnel(endpoint, now)) {
      out.push({ endpoint, info });
      const turn = slicer.step(info.sessions.length + 1);
      if (turn !== undefined) await turn;
    }
  }
  return out;
}

/** Every tunnel as a JSON view. */
export function tunnelViews(now: Instant, src: ViewSources): TunnelView[] {
  // One snapshot of the PPP sessions for all tunnels (not one per tunnel: that was O(tunnels x sessions)).
  const ppp = lazyPpp(src);
  const gen = src.ledger?.beginSample();
  const out = allTunnels(now, src).map(({ endpoint, info }) => tunnelView(now, src, endpoint, info, ppp, gen));
  if (gen !== undefined) src.ledger?.endSample(gen);
  return out;
}

type PppFields = Pick<SessionView, 'username' | 'authMethod' | 'address' | 'ipv6Prefix' | 'pppPhase' | 'acctSessionId' | 'echoMisses'>;

/** The PPP part of a session view from the access server's snapshot (L2TP and PPPoE sessions alike). */
const pppFieldsOf = (i: AccessSessionInfo): PppFields => ({
  pppPhase: i.phase,
  ...(i.username !== undefined ? { username: i.username } : {}),
  ...(i.authMethod !== undefined ? { authMethod: i.authMethod } : {}),
  ...(i.ipv4 !== undefined ? { address: i.ipv4 } : {}),
  ...(i.ipv6Prefix !== undefined ? { ipv6Prefix: i.ipv6Prefix } : {}),
  ...(i.acctSessionId !== undefined ? { acctSessionId: i.acctSessionId } : {}),
  ...(i.echoMisses !== undefined ? { echoMisses: i.echoMisses } : {}),
});

/** The PPP info of one session (tunnel, session), undefined when the access server has none. */
export type PppSnapshot = (tunnel: number, session: number) => AccessSessionInfo | undefined;
/** The access server's session snapshot, taken at most once per view (the synchronous listings). */
const lazyPpp = (src: ViewSources): PppSnapshot => {
  let m: ReadonlyMap<string, AccessSessionInfo> | undefined;
  return (tunnel, session) => (m ??= src.access?.sessionInfo())?.get(`${tunnel}/${session}`);
};
/**
 * One session at a time (the yielding listings and the status page's rows: no snapshot of every session in one turn);
 * `sync` false when the listing synced every session's fast-path counters in one read before (LnsAccess.syncFastAll).
 */
export const perSessionPpp = (src: ViewSources, sync = true): PppSnapshot => (tunnel, session) => src.access?.sessionInfoOf(tunnel, session, sync);

const uptime = (now: Instant, at: Instant | undefined): { uptimeSeconds?: number } =>
  at === undefined ? {} : { uptimeSeconds: Math.max(0, Math.floor(since(now, at) / 1000)) };

/** Sessions turned into views between two yields to the event loop at most (see {@link tunnelViewsYielding}; a slice also ends after SLICE_BUDGET_MS). */
export const VIEW_CHUNK = SLICE_ITEMS;

/**
 * {@link tunnelViews} for `show sessions` / `show tunnels` at scale (issue 15 item 2): the views
 * are built in chunks of about `chunk` sessions with a `setImmediate` turn between chunks, so
 * datagrams and timers keep running while 100k sessions are listed.
 */
export async function tunnelViewsYielding(now: Instant, src: ViewSources, chunk = VIEW_CHUNK): Promise<TunnelView[]> {
  // One native read syncs every session's fast-path counters (not one `take` per session); an old addon syncs per session.
  const ppp = perSessionPpp(src, (await src.access?.syncFastAll()) === false);
  const out: TunnelView[] = [];
  const slicer = new TurnSlicer(chunk);
  const gen = src.ledger?.beginSample();
  // Tunnel by tunnel (ids first, each tunnel's info when its turn comes): one turn holds about `chunk` sessions or SLICE_BUDGET_MS.
  for (const endpoint of src.endpoints) {
    for (const info of eachTunnel(endpoint, now)) {
      out.push(tunnelView(now, src, endpoint, info, ppp, gen));
      const turn = slicer.step(info.sessions.length + 1);
      if (turn !== undefined) await turn;
    }
  }
  if (gen !== undefined) src.ledger?.endSample(gen);
  return out;
}

/**
 * {@link tunnelViewsYielding} as a stream (`show sessions` at 100k, issue 15): the views of about
 * `chunk` sessions per piece, each piece handed on (written out) before the next is built, so the
 * views of every session are never held at once (no 100k view objects to promote and mark-compact).
 * The ledger's sample ends only when the stream is read to its end.
 */
export async function* tunnelViewsStream(now: Instant, src: ViewSources, chunk = VIEW_CHUNK): AsyncGenerator<TunnelView[]> {
  const ppp = perSessionPpp(src, (await src.access?.syncFastAll()) === false);
  const slicer = new TurnSlicer(chunk);
  const gen = src.ledger?.beginSample();
  let piece: TunnelView[] = [];
  for (const endpoint of src.endpoints) {
    for (const info of eachTunnel(endpoint, now)) {
      piece.push(tunnelView(now, src, endpoint, info, ppp, gen));
      const turn = slicer.step(info.sessions.length + 1);
      if (turn === undefined) continue;
      yield piece;
      piece = [];
      await turn;
    }
  }
  if (piece.length > 0) yield piece;
  if (gen !== undefined) src.ledger?.endSample(gen);
}

/**
 * The payload ledger's sample for a metrics scrape: per tunnel the engine's data counters plus its
 * sessions' fast-path share (what `show tunnels` adds), without building views; yields every
 * `chunk` sessions. Then the ledger's daemon-wide totals.
 */
export async function samplePayloadYielding(now: Instant, src: ViewSources, chunk = VIEW_CHUNK): Promise<DataCounters | undefined> {
  const ledger = src.ledger;
  if (ledger === undefined) return undefined;
  const gen = ledger.beginSample();
  const slicer = new TurnSlicer(chunk);
  // One native read folds every session's fast-path counters in (issue 15: not one `take` per session); an old addon syncs per session.
  const perSession = (await src.access?.syncFastAll()) === false;
  for (const ep of src.endpoints) {
    const serves = src.access?.serves(ep) === true;
    for (const info of eachTunnel(ep, now)) {
      const fast = (session: number): DataCounters | undefined => (serves ? src.access?.fastCountersOf(info.localTunnelId, session, perSession) : undefined);
      tunnelData(src, gen, tunnelKey(ep.local.address, ep.local.port, info.localTunnelId), info, fast);
      const turn = slicer.step(info.sessions.length + 1);
      if (turn !== undefined) await turn;
    }
  }
  ledger.endSample(gen);
  return ledger.totals();
}

/** One tunnel as a JSON view (with its sessions and their PPP fields). */
export function tunnelView(now: Instant, src: ViewSources, ep: UdpEndpoint, t: TunnelInfo, snapshot: PppSnapshot = lazyPpp(src), gen?: number): TunnelView {
  const lac = src.lacs.find((l) => l.owns(ep, t.localTunnelId));
  const serves = src.access?.serves(ep) === true;
  const client = lac?.ppp?.info;
  const pppView = (i: AccessSessionInfo | undefined): PppFields => {
    if (i !== undefined) return pppFieldsOf(i);
    if (client !== undefined && lac?.config.ppp !== undefined) {
      return { pppPhase: client.state, username: lac.config.ppp.username, ...(client.address !== undefined ? { address: client.address } : {}) };
    }
    return {};
  };
  // Packets the native fast path forwarded never reached the engine's counters: add them (IP octets).
  const fastOf = new Map<number, AccessSessionInfo['fastPath']>();
  const sessions: SessionView[] = t.sessions.map((s) => {
    // One PPP lookup per session (a per-session lookup syncs the fast path).
    const i = serves ? snapshot(t.localTunnelId, s.localSessionId) : undefined;
    const f = i?.fastPath;
    if (f !== undefined) fastOf.set(s.localSessionId, f);
    return {
      localTunnelId: t.localTunnelId,
      localSessionId: s.localSessionId,
      remoteSessionId: s.remoteSessionId,
      state: s.state,
      direction: s.direction,
      role: s.role,
      callSerialNumber: s.callSerialNumber,
      ...uptime(now, s.establishedAt),
      rxPackets: s.rxPackets + (f?.rxPackets ?? 0),
      rxOctets: s.rxOctets + (f?.rxOctets ?? 0),
      txPackets: s.txPackets + (f?.txPackets ?? 0),
      txOctets: s.txOctets + (f?.txOctets ?? 0),
      ...(s.callingNumber !== undefined ? { callingNumber: s.callingNumber } : {}),
      ...(s.calledNumber !== undefined ? { calledNumber: s.calledNumber } : {}),
      ...pppView(i),
    };
  });
  const fast = (session: number): AccessSessionInfo['fastPath'] => fastOf.get(session);
  return {
    localTunnelId: t.localTunnelId,
    remoteTunnelId: t.remoteTunnelId,
    state: t.state,
    role: t.originator ? 'lac' : 'lns',
    ...(lac !== undefined ? { lac: lac.config.name } : {}),
    localAddress: ep.local.address,
    localPort: ep.local.port,
    remoteAddress: t.peer.address,
    remotePort: t.peer.port,
    ...(t.remoteHostName !== undefined ? { remoteHostName: t.remoteHostName } : {}),
    ...(t.remoteVendorName !== undefined ? { remoteVendorName: t.remoteVendorName } : {}),
    ...(t.protocolVersion !== undefined ? { protocolVersion: t.protocolVersion } : {}),
    ns: t.ns,
    nr: t.nr,
    peerReceiveWindow: t.peerReceiveWindow,
    ...uptime(now, t.establishedAt),
    counters: { ...t.counters },
    data: tunnelData(src, gen, tunnelKey(ep.local.address, ep.local.port, t.localTunnelId), t, (s) => fast(s)),
    sessions,
  };
}

/** A tunnel's payload: the engine's data counters plus its sessions' fast-path share, kept monotone by the ledger. */
function tunnelData(src: ViewSources, gen: number | undefined, key: string, t: TunnelInfo, fast: (session: number) => DataCounters | undefined): DataCounters {
  const c = t.counters;
  let raw: DataCounters = { rxPackets: c.dataRxPackets, rxOctets: c.dataRxOctets, txPackets: c.dataTxPackets, txOctets: c.dataTxOctets };
  for (const s of t.sessions) {
    const f = fast(s.localSessionId);
    if (f !== undefined) raw = addData(raw, f);
  }
  return gen === undefined || src.ledger === undefined ? raw : src.ledger.observe(gen, key, raw);
}

/**
 * PPPoE sessions terminated here (BRAS): tunnel 0, our session id, the PPPoE SESSION_ID as the
 * remote id, the client MAC (or TR-101 circuit id) as the calling number, the IP counters.
 */
export function pppoeSessionViews(now: Instant, src: ViewSources): SessionView[] {
  // No access concentrator, no PPPoE session: skip the snapshot of every (L2TP) session (100k in one turn).
  if (src.pppoe !== undefined && src.pppoe.length === 0) return [];
  const out: SessionView[] = [];
  for (const i of src.access?.sessionInfo().values() ?? []) {
    const p = i.pppoe;
    if (p === undefined) continue;
    out.push({
      localTunnelId: i.tunnel,
      localSessionId: i.session,
      remoteSessionId: p.sessionId,
      state: 'established',
      direction: 'pppoe',
      role: 'bras',
      callSerialNumber: 0,
      ...uptime(now, i.startedAt),
      rxPackets: i.counters.rxPackets,
      rxOctets: i.counters.rxOctets,
      txPackets: i.counters.txPackets,
      txOctets: i.counters.txOctets,
      callingNumber: p.circuitId ?? p.mac,
      ...pppFieldsOf(i),
      pppoe: { interface: p.interface, mac: p.mac, sessionId: p.sessionId, serviceName: p.serviceName, ...(p.vlan !== undefined ? { vlan: p.vlan } : {}) },
    });
  }
  return out;
}

/** What `status` shows besides the tunnels. */
export interface StatusExtras {
  readonly version: string;
  readonly startedAt: Instant;
  readonly listeners: readonly { readonly endpoint: UdpEndpoint; readonly auth: boolean }[];
  /** Driven cores with a timer pending. */
  readonly timers: number;
  /** `[ipsec] require_ipsec` of the listener. */
  readonly requireIpsec: boolean;
  /** `[l2tpv3]`'s view, when configured. */
  readonly l2tpv3?: L2tpv3View;
  /** `[[l2tpv3_static]]`'s view, when configured. */
  readonly l2tpv3Static?: readonly L2tpv3StaticView[];
}

/** Daemon status for `l2tpctl show status`; `tunnels` built beforehand by {@link tunnelViewsYielding} at scale. */
export function statusView(now: Instant, src: ViewSources, x: StatusExtras, tunnels: TunnelView[] = tunnelViews(now, src)): StatusView {
  const pool = src.access?.stats();
  const tooBig = src.access?.tooBig();
  const fastStats = src.access?.fastPathStats();
  const esp = src.access?.fastPathEspStats();
  const fastPath = fastStats === undefined ? undefined : { ...fastStats, ...(esp !== undefined ? { esp } : {}) };
  return {
    version: x.version,
    pid: process.pid,
    uptimeSeconds: Math.floor(since(now, x.startedAt) / 1000),
    listeners: x.listeners.map((l) => ({ ...l.endpoint.local, auth: l.auth })),
    lacs: src.lacs.map((l) => {
      const i = l.info();
      return { name: l.config.name, lns: l.config.lns, port: l.config.port, state: i.state, ...(i.tunnel !== undefined ? { tunnel: i.tunnel } : {}) };
    }),
    tunnels,
    ...(pool !== undefined ? { pool: { sessions: pool.sessions, inUse: pool.ipv4InUse, capacity: pool.ipv4Capacity, held: pool.ipv4Held, routes: pool.routes } } : {}),
    ...(tooBig !== undefined ? { tooBig } : {}),
    ...(fastPath !== undefined ? { fastPath } : {}),
    timers: x.timers,
    memory: memoryView(),
    ...(src.ipsec !== undefined || src.lacs.some((l) => l.ipsec !== undefined) ? { ipsec: ipsecSummary(now, src, x.requireIpsec) } : {}),
    kernel: kernelDrops(x.listeners.map((l) => l.endpoint), src.access),
    ...(pool !== undefined ? { echo: { misses: pool.echoMisses, missing: pool.echoMissing, timeouts: pool.echoTimeouts } } : {}),
    ...(x.l2tpv3 !== undefined ? { l2tpv3: x.l2tpv3 } : {}),
    ...(x.l2tpv3Static !== undefined ? { l2tpv3Static: x.l2tpv3Static } : {}),
  };
}

/** `status` memory; collects garbage first when the process runs with `--expose-gc` (tests, soak). */
function memoryView(): NonNullable<StatusView['memory']> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers };
}

/** `show status` / metrics: buffers and kernel drops of the listener sockets, the namespace's UDP errors, the TUN queue. */
export function kernelDrops(endpoints: readonly UdpEndpoint[], access: LnsAccess | undefined): KernelDropsView {
  const own = ownSocketInodes();
  const sockets = endpoints.map((ep) => {
    const b = ep.bufferSizes();
    const k = ep.kernelSocket(own);
    return { ...ep.local, receiveBuffer: b.receive, sendBuffer: b.send, ...(k !== undefined ? { drops: k.drops, rxQueue: k.rxQueue } : {}) };
  });
  const families = new Set(endpoints.map((ep) => ep.family));
  let udp: KernelDropsView['udp'];
  for (const f of families) {
    const u = readUdpSnmp(f);
    if (u === undefined) continue;
    udp = { rcvbufErrors: (udp?.rcvbufErrors ?? 0) + u.rcvbufErrors, sndbufErrors: (udp?.sndbufErrors ?? 0) + u.sndbufErrors, inErrors: (udp?.inErrors ?? 0) + u.inErrors };
  }
  const tun = access?.tunDrops();
  return { sockets, ...(udp !== undefined ? { udp } : {}), ...(tun !== undefined ? { tun } : {}) };
}

/** `show status`: the IPsec listener and SA counts by encapsulation. */
function ipsecSummary(now: Instant, src: ViewSources, requireIpsec: boolean): IpsecSummaryView {
  const v = ipsecViews(now, src);
  const c = v.counters;
  const l = src.ipsec;
  return {
    ...(l !== undefined ? { listener: { address: l.local.address, ikePort: l.local.ikePort, nattPort: l.local.nattPort, rawEsp: l.rawEsp, requireIpsec } } : {}),
    ikeSas: v.ikeSas.filter((s) => s.state === 'established').length,
    espSas: v.espSas.length,
    espRaw: v.espSas.filter((e) => e.encapsulation === 'raw').length,
    espUdp: v.espSas.filter((e) => e.encapsulation === 'udp').length,
    drops: c.clearL2tpRefused + c.espUnknownSpi + c.espDropped + c.innerNotL2tp + c.txNoFlow + c.txEncryptFailed,
  };
}

/** `l2tpctl show ipsec`: IKE and ESP SAs of the [ipsec] listener and of every IPsec LAC. */
export function ipsecViews(now: Instant, src: ViewSources): IpsecView {
  const parts: IpsecView[] = [];
  if (src.ipsec !== undefined) parts.push(ipsecView(src.ipsec.gate, now, { role: 'responder' }));
  for (const l of src.lacs) {
    if (l.ipsec !== undefined) parts.push(ipsecView(l.ipsec.io.gate, now, { role: 'initiator', lac: l.config.name, initiator: l.ipsec.initiator }));
  }
  return { ikeSas: parts.flatMap((p) => p.ikeSas), espSas: parts.flatMap((p) => p.espSas), counters: sumIpsecCounters(parts) };
}
