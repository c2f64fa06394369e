/**
 * The Junos-style show views over the tunnel views (pure functions): filters, destinations (one row
 * per peer), the summary, and the `clear statistics` baselines subtracted from what `show` prints.
 */
import type { DestinationView, SelectionDestinationView, SessionView, ShowFilter, SummaryView, TunnelView } from './control-protocol.js';
import { addData, sessionKey, subData, tunnelKey, ZERO_DATA, type Baselines, type DataCounters, type DataLedger } from './data-ledger.js';

/** The ledger key of a tunnel view. */
export const keyOf = (t: TunnelView): string => tunnelKey(t.localAddress, t.localPort, t.localTunnelId);

/** The tunnels `f` keeps; with `user`, each keeps only that user's sessions (and tunnels without one go). */
export function filterTunnels(views: readonly TunnelView[], f: ShowFilter | undefined): TunnelView[] {
  if (f === undefined) return [...views];
  const out: TunnelView[] = [];
  for (const t of views) {
    if (f.localGateway !== undefined && t.localAddress !== f.localGateway) continue;
    if (f.peerGateway !== undefined && t.remoteAddress !== f.peerGateway) continue;
    if (f.tunnel !== undefined && t.localTunnelId !== f.tunnel) continue;
    if (f.user === undefined) {
      out.push(t);
      continue;
    }
    const sessions = t.sessions.filter((s) => s.username === f.user);
    if (sessions.length > 0) out.push({ ...t, sessions });
  }
  return out;
}

/** PPPoE sessions `f` keeps: they have no tunnel or gateway, so only a `user`-only filter keeps any. */
export function filterPppoe(sessions: readonly SessionView[], f: ShowFilter | undefined): SessionView[] {
  if (f === undefined) return [...sessions];
  if (f.localGateway !== undefined || f.peerGateway !== undefined || f.tunnel !== undefined) return [];
  return sessions.filter((s) => f.user === undefined || s.username === f.user);
}

const sessionData = (s: SessionView): DataCounters => ({ rxPackets: s.rxPackets, rxOctets: s.rxOctets, txPackets: s.txPackets, txOctets: s.txOctets });

/** What `show` prints after `clear statistics`: every counter minus its baseline (raw without one). */
export function applyBaselines(views: readonly TunnelView[], b: Baselines | undefined): TunnelView[] {
  if (b === undefined || b.clearedAt === undefined) return [...views];
  return views.map((t) => {
    const key = keyOf(t);
    const tb = b.tunnel(key);
    const counters = { ...t.counters };
    if (tb !== undefined) for (const k of Object.keys(counters) as (keyof typeof counters)[]) counters[k] = Math.max(0, counters[k] - (tb.counters[k] ?? 0));
    const sessions = t.sessions.map((s) => {
      const sb = b.session(sessionKey(key, s.localSessionId));
      return sb === undefined ? s : { ...s, ...subData(sessionData(s), sb) };
    });
    return { ...t, counters, data: tb === undefined ? t.data : subData(t.data, tb.data), sessions };
  });
}

/** `clear statistics`: remember what every tunnel and session counts now. */
export function clearStatistics(ledger: DataLedger, at: number, views: readonly TunnelView[]): number {
  ledger.clear(
    at,
    views.map((t) => {
      const key = keyOf(t);
      return { key, data: t.data, counters: { ...t.counters }, sessions: t.sessions.map((s) => ({ key: sessionKey(key, s.localSessionId), data: sessionData(s) })) };
    }),
  );
  return views.length;
}

/** One row per (local address, peer address), tunnels in first-seen order. */
export function destinationViews(views: readonly TunnelView[]): DestinationView[] {
  const rows = new Map<string, { -readonly [K in keyof DestinationView]: DestinationView[K] } & { ports: Set<number>; names: Set<string> }>();
  for (const t of views) {
    const k = `${t.localAddress}|${t.remoteAddress}`;
    let r = rows.get(k);
    if (r === undefined) {
      r = { localAddress: t.localAddress, remoteAddress: t.remoteAddress, remotePorts: [], tunnels: 0, tunnelsEstablished: 0, sessions: 0, sessionsEstablished: 0, remoteHostNames: [], data: ZERO_DATA, controlRx: 0, controlTx: 0, ports: new Set(), names: new Set() };
      rows.set(k, r);
    }
    r.tunnels++;
    if (t.state === 'established') r.tunnelsEstablished++;
    r.sessions += t.sessions.length;
    r.sessionsEstablished += t.sessions.filter((s) => s.state === 'established').length;
    r.ports.add(t.remotePort);
    if (t.remoteHostName !== undefined) r.names.add(t.remoteHostName);
    r.data = addData(r.data, t.data);
    r.controlRx += t.counters.controlRx;
    r.controlTx += t.counters.controlTx;
  }
  return [...rows.values()].map(({ ports, names, ...r }) => ({ ...r, remotePorts: [...ports].sort((a, b) => a - b), remoteHostNames: [...names].sort() }));
}

/**
 * `show destinations` with the selector's state: a row of a live peer gets its `selection`; a
 * selection destination without a tunnel now gets a row of its own (from the selector's address).
 * A `user` or `tunnel` filter keeps only rows with tunnels.
 */
export function withSelection(rows: readonly DestinationView[], sel: { readonly localAddress: string; readonly destinations: readonly SelectionDestinationView[] } | undefined, f: ShowFilter | undefined): DestinationView[] {
  if (sel === undefined) return [...rows];
  const byAddress = new Map(sel.destinations.map((d) => [d.address, d]));
  const out = rows.map((r) => {
    const d = r.localAddress === sel.localAddress || sel.localAddress === '0.0.0.0' ? byAddress.get(r.remoteAddress) : undefined;
    if (d !== undefined) byAddress.delete(r.remoteAddress);
    return d === undefined ? r : { ...r, selection: d };
  });
  if (f?.user !== undefined || f?.tunnel !== undefined || (f?.localGateway !== undefined && f.localGateway !== sel.localAddress)) return out;
  for (const d of byAddress.values()) {
    if (f?.peerGateway !== undefined && f.peerGateway !== d.address) continue;
    out.push({ localAddress: sel.localAddress, remoteAddress: d.address, remotePorts: [d.port], tunnels: 0, tunnelsEstablished: 0, sessions: 0, sessionsEstablished: 0, remoteHostNames: [], data: ZERO_DATA, controlRx: 0, controlTx: 0, selection: d });
  }
  return out;
}

const countBy = <T>(xs: readonly T[], key: (x: T) => string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
};

/** `show summary`. `sinceStart`: the ledger's totals; `clearedSecondsAgo` when statistics were cleared. */
export function summaryView(views: readonly TunnelView[], pppoe: readonly SessionView[], o: { readonly sinceStart?: DataCounters; readonly clearedSecondsAgo?: number } = {}): SummaryView {
  const sessions = views.flatMap((t) => t.sessions);
  let data = ZERO_DATA;
  let controlRx = 0;
  let controlTx = 0;
  for (const t of views) {
    data = addData(data, t.data);
    controlRx += t.counters.controlRx;
    controlTx += t.counters.controlTx;
  }
  return {
    destinations: new Set(views.map((t) => `${t.localAddress}|${t.remoteAddress}`)).size,
    tunnels: views.length,
    tunnelsByState: countBy(views, (t) => t.state),
    sessions: sessions.length,
    sessionsByState: countBy(sessions, (s) => s.state),
    pppoeSessions: pppoe.length,
    data,
    ...(o.sinceStart !== undefined ? { payloadSinceStart: o.sinceStart } : {}),
    controlRx,
    controlTx,
    ...(o.clearedSecondsAgo !== undefined ? { clearedSecondsAgo: o.clearedSecondsAgo } : {}),
  };
}
