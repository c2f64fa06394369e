/**
 * The status page's JSON (GET /api/status): bounded whatever the daemon holds. Totals (tunnels,
 * sessions, SAs, summed session counters) walk every tunnel once with plain arithmetic; full
 * views (user, address, uptime, counters, IPsec SAs) are built for at most `limit` rows from
 * `offset`, so a 100k-session daemon answers with a few hundred rows and complete totals. A rate
 * history (one sample per poll, at most HISTORY_SAMPLES) feeds the chart.
 */
import type { TunnelInfo } from '../../l2tp/index.js';
import type { EspSaView, IkeSaView, IpsecView, SessionView, StatusView, TunnelView } from '../control-protocol.js';

/** Samples kept for the chart: 5 minutes at one poll a second. */
export const HISTORY_SAMPLES = 300;

/** Session traffic summed over every session, at one instant. */
export interface TrafficSample {
  /** Milliseconds since the daemon started. */
  readonly t: number;
  readonly rxPackets: number;
  readonly rxOctets: number;
  readonly txPackets: number;
  readonly txOctets: number;
}

/** A tunnel row without its sessions (they are paged separately). */
export type TunnelRow = Omit<TunnelView, 'sessions'> & { readonly sessionCount: number };

/** GET /api/status. */
export interface StatusPageView {
  readonly version: string;
  readonly uptimeSeconds: number;
  readonly totals: {
    readonly tunnels: number;
    readonly sessions: number;
    readonly ikeSas: number;
    readonly espSas: number;
  };
  /** Rows from `offset`, at most `limit` of each kind. */
  readonly offset: number;
  readonly limit: number;
  readonly tunnels: readonly TunnelRow[];
  readonly sessions: readonly SessionView[];
  readonly ikeSas: readonly IkeSaView[];
  readonly espSas: readonly EspSaView[];
  readonly pool?: StatusView['pool'];
  readonly lacs: StatusView['lacs'];
  /** Oldest first; the client derives rates from consecutive samples. */
  readonly history: readonly TrafficSample[];
}

/** Sum the session counters of every tunnel (no allocation per session). */
export function trafficTotals(infos: readonly { readonly info: TunnelInfo }[], t: number): TrafficSample {
  let rxPackets = 0;
  let rxOctets = 0;
  let txPackets = 0;
  let txOctets = 0;
  for (const { info } of infos) {
    for (const s of info.sessions) {
      rxPackets += s.rxPackets;
      rxOctets += s.rxOctets;
      txPackets += s.txPackets;
      txOctets += s.txOctets;
    }
  }
  return { t, rxPackets, rxOctets, txPackets, txOctets };
}

/** A bounded ring of samples. */
export class TrafficHistory {
  private readonly samples: TrafficSample[] = [];
  constructor(private readonly max: number = HISTORY_SAMPLES) {}
  /** The newest sample, if any. */
  get last(): TrafficSample | undefined {
    return this.samples[this.samples.length - 1];
  }
  /** Add one sample (dropping the oldest past `max`). */
  push(s: TrafficSample): void {
    this.samples.push(s);
    if (this.samples.length > this.max) this.samples.splice(0, this.samples.length - this.max);
  }
  /** Oldest first. */
  all(): readonly TrafficSample[] {
    return this.samples;
  }
}

/**
 * Rows `offset .. offset+limit` of the sessions of every tunnel (in tunnel order) and of the
 * tunnels, building a full view only for the tunnels that contribute a row.
 */
export function pageTunnels<T extends { readonly info: TunnelInfo }>(
  infos: readonly T[],
  toView: (t: T) => TunnelView,
  offset: number,
  limit: number,
): { tunnels: TunnelRow[]; sessions: SessionView[]; totalSessions: number } {
  const tunnels: TunnelRow[] = [];
  const sessions: SessionView[] = [];
  let seen = 0;
  infos.forEach((x, i) => {
    const n = x.info.sessions.length;
    const wantTunnel = i >= offset && tunnels.length < limit;
    // Sessions offset..offset+limit of the concatenation of every tunnel's sessions.
    const from = Math.max(0, offset - seen);
    const wantSessions = sessions.length < limit && from < n;
    seen += n;
    if (!wantTunnel && !wantSessions) return;
    const v = toView(x);
    if (wantTunnel) {
      const { sessions: s, ...row } = v;
      tunnels.push({ ...row, sessionCount: s.length });
    }
    if (wantSessions) for (const s of v.sessions.slice(from, from + limit - sessions.length)) sessions.push(s);
  });
  return { tunnels, sessions, totalSessions: seen };
}

/** Everything GET /api/status answers, from the daemon's state at one instant. */
export interface StatusPageInputs<T extends { readonly info: TunnelInfo }> {
  readonly version: string;
  readonly uptimeSeconds: number;
  readonly infos: readonly T[];
  readonly toView: (t: T) => TunnelView;
  readonly ipsec: IpsecView | undefined;
  readonly pool?: StatusView['pool'];
  readonly lacs: StatusView['lacs'];
  readonly history: readonly TrafficSample[];
}

/** The bounded view. */
export function statusPageView<T extends { readonly info: TunnelInfo }>(x: StatusPageInputs<T>, offset: number, limit: number): StatusPageView {
  const page = pageTunnels(x.infos, x.toView, offset, limit);
  const ike = x.ipsec?.ikeSas ?? [];
  const esp = x.ipsec?.espSas ?? [];
  return {
    version: x.version,
    uptimeSeconds: x.uptimeSeconds,
    totals: { tunnels: x.infos.length, sessions: page.totalSessions, ikeSas: ike.length, espSas: esp.length },
    offset,
    limit,
    tunnels: page.tunnels,
    sessions: page.sessions,
    ikeSas: ike.slice(offset, offset + limit),
    espSas: esp.slice(offset, offset + limit),
    ...(x.pool !== undefined ? { pool: x.pool } : {}),
    lacs: x.lacs.slice(0, limit),
    history: x.history,
  };
}

/** `offset` and `limit` from a query string, clamped to 0.. and 1..max. */
export function pageParams(query: URLSearchParams, max: number): { offset: number; limit: number } {
  const num = (k: string, d: number): number => {
    const v = query.get(k);
    const n = v === null || !/^\d{1,9}$/.test(v) ? d : Number(v);
    return n;
  };
  return { offset: num('offset', 0), limit: Math.min(Math.max(1, num('limit', max)), max) };
}
