/**
 * The JSON views of `l2tpctl show ...` (control-protocol.ts), built from the engines' snapshots,
 * the PPP terminations and the LAC dialers at one instant.
 */
import type { L2tpv3View } from './l2tpv3-shell.js';
import { since, type Instant } from '../base/index.js';
import type { TunnelInfo } from '../l2tp/index.js';
import type { IpsecL2tp, UdpEndpoint } from '../io/index.js';
import type { IpsecSummaryView, IpsecView, SessionView, StatusView, TunnelView } from './control-protocol.js';
import { ipsecView, sumIpsecCounters } from './ipsec-shell.js';
import type { LacShell } from './lac-shell.js';
import type { LnsAccess } from './access-shell.js';

/** Everything the views read. */
export interface ViewSources {
  /** Every endpoint (listeners and LAC sockets), each once. */
  readonly endpoints: readonly UdpEndpoint[];
  readonly lacs: readonly LacShell[];
  readonly access: LnsAccess | undefined;
  /** The `[ipsec]` listener. */
  readonly ipsec: IpsecL2tp | undefined;
}

/** One tunnel with the endpoint whose engine holds it. */
export interface TunnelAt {
  readonly endpoint: UdpEndpoint;
  readonly info: TunnelInfo;
}

/** Every tunnel of every engine. */
export function allTunnels(now: Instant, src: ViewSources): TunnelAt[] {
  const out: TunnelAt[] = [];
  for (const ep of src.endpoints) for (const info of ep.engine.tunnels(now)) out.push({ endpoint: ep, info });
  return out;
}

/** Every tunnel as a JSON view. */
export function tunnelViews(now: Instant, src: ViewSources): TunnelView[] {
  return allTunnels(now, src).map(({ endpoint, info }) => tunnelView(now, src, endpoint, info));
}

type PppFields = Pick<SessionView, 'username' | 'authMethod' | 'address' | 'ipv6Prefix' | 'pppPhase' | 'acctSessionId'>;

const uptime = (now: Instant, at: Instant | undefined): { uptimeSeconds?: number } =>
  at === undefined ? {} : { uptimeSeconds: Math.max(0, Math.floor(since(now, at) / 1000)) };

/** One tunnel as a JSON view (with its sessions and their PPP fields). */
export function tunnelView(now: Instant, src: ViewSources, ep: UdpEndpoint, t: TunnelInfo): TunnelView {
  const lac = src.lacs.find((l) => l.owns(ep, t.localTunnelId));
  const ppp = src.access?.serves(ep) === true ? src.access.sessionInfo() : undefined;
  const client = lac?.ppp?.info;
  const pppView = (session: number): PppFields => {
    const i = ppp?.get(`${t.localTunnelId}/${session}`);
    if (i !== undefined) {
      return {
        pppPhase: i.phase,
        ...(i.username !== undefined ? { username: i.username } : {}),
        ...(i.authMethod !== undefined ? { authMethod: i.authMethod } : {}),
        ...(i.ipv4 !== undefined ? { address: i.ipv4 } : {}),
        ...(i.ipv6Prefix !== undefined ? { ipv6Prefix: i.ipv6Prefix } : {}),
        ...(i.acctSessionId !== undefined ? { acctSessionId: i.acctSessionId } : {}),
      };
    }
    if (client !== undefined && lac?.config.ppp !== undefined) {
      return { pppPhase: client.state, username: lac.config.ppp.username, ...(client.address !== undefined ? { address: client.address } : {}) };
    }
    return {};
  };
  const sessions: SessionView[] = t.sessions.map((s) => ({
    localTunnelId: t.localTunnelId,
    localSessionId: s.localSessionId,
    remoteSessionId: s.remoteSessionId,
    state: s.state,
    direction: s.direction,
    role: s.role,
    callSerialNumber: s.callSerialNumber,
    ...uptime(now, s.establishedAt),
    rxPackets: s.rxPackets,
    rxOctets: s.rxOctets,
    txPackets: s.txPackets,
    txOctets: s.txOctets,
    ...(s.callingNumber !== undefined ? { callingNumber: s.callingNumber } : {}),
    ...(s.calledNumber !== undefined ? { calledNumber: s.calledNumber } : {}),
    ...pppView(s.localSessionId),
  }));
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
    sessions,
  };
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
}

/** Daemon status for `l2tpctl show status`. */
export function statusView(now: Instant, src: ViewSources, x: StatusExtras): StatusView {
  const pool = src.access?.stats();
  const tooBig = src.access?.tooBig();
  return {
    version: x.version,
    pid: process.pid,
    uptimeSeconds: Math.floor(since(now, x.startedAt) / 1000),
    listeners: x.listeners.map((l) => ({ ...l.endpoint.local, auth: l.auth })),
    lacs: src.lacs.map((l) => {
      const i = l.info();
      return { name: l.config.name, lns: l.config.lns, port: l.config.port, state: i.state, ...(i.tunnel !== undefined ? { tunnel: i.tunnel } : {}) };
    }),
    tunnels: tunnelViews(now, src),
    ...(pool !== undefined ? { pool: { sessions: pool.sessions, inUse: pool.ipv4InUse, capacity: pool.ipv4Capacity } } : {}),
    ...(tooBig !== undefined ? { tooBig } : {}),
    timers: x.timers,
    ...(src.ipsec !== undefined || src.lacs.some((l) => l.ipsec !== undefined) ? { ipsec: ipsecSummary(now, src, x.requireIpsec) } : {}),
    ...(x.l2tpv3 !== undefined ? { l2tpv3: x.l2tpv3 } : {}),
  };
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
