/**
 * The daemon side of the Junos-style operations (control-ops.ts): filtered show commands with the
 * `clear statistics` baselines applied, destinations, the summary, `clear destination` (StopCCN to
 * every tunnel of a peer) and `clear statistics`.
 */
import type { ResultCode } from '../wire/l2tp/index.js';
import type { ControlResponse, SelectionDestinationView, SessionView, ShowFilter, TunnelView } from './control-protocol.js';
import type { OpsRequest } from './control-ops.js';
import type { DataLedger } from './data-ledger.js';
import type { Logger } from './logger.js';
import { applyBaselines, clearStatistics, destinationViews, filterPppoe, filterTunnels, summaryView, withSelection } from './ops-views.js';
import { TurnSlicer } from './turn-slicer.js';
import type { TunnelAt } from './views.js';

/** StopCCN result for `l2tpctl clear destination` (§4.4.2 StopCCN result 1: general request to clear). */
export const CLEAR_DESTINATION_RESULT: ResultCode = { result: 1, message: 'administrative clear (destination)' };

/** What the operations read and drive. */
export interface OpsTarget {
  readonly log: Logger;
  tunnels(): readonly TunnelAt[];
  tunnelViews(): TunnelView[];
  tunnelViewsYielding?(): Promise<TunnelView[]>;
  /** The same views as pieces of about a slice each, built as they are read (`show sessions` streams them). */
  tunnelViewsStream?(): AsyncIterable<TunnelView[]>;
  pppoeSessions?(): SessionView[];
  /** Monotone payload, totals and `clear statistics` baselines; absent = no baselines, no totals. */
  readonly ledger?: DataLedger;
  /** The daemon clock in ms (for `clear statistics`). */
  nowMs?(): number;
  /** `[tunnel_select]`: its address and its selector's destinations. */
  selection?(): { readonly localAddress: string; readonly destinations: readonly SelectionDestinationView[] } | undefined;
}

/** Every tunnel view with the baselines applied and `filter` kept. */
export async function shownTunnels(t: OpsTarget, filter: ShowFilter | undefined): Promise<TunnelView[]> {
  const views = t.tunnelViewsYielding !== undefined ? await t.tunnelViewsYielding() : t.tunnelViews();
  // Baselines and filter tunnel by tunnel, in bounded turns (both are O(sessions) at 100k).
  const out: TunnelView[] = [];
  const slicer = new TurnSlicer();
  for (const v of views) {
    for (const kept of filterTunnels(applyBaselines([v], t.ledger), filter)) out.push(kept);
    const turn = slicer.step(v.sessions.length + 1);
    if (turn !== undefined) await turn;
  }
  return out;
}

/** `show sessions`: the sessions of the kept tunnels, then the kept PPPoE sessions. */
export async function shownSessions(t: OpsTarget, filter: ShowFilter | undefined): Promise<SessionView[]> {
  const tunnels = await shownTunnels(t, filter);
  const out: SessionView[] = [];
  const slicer = new TurnSlicer();
  for (const x of tunnels) {
    for (const s of x.sessions) out.push(s);
    const turn = slicer.step(x.sessions.length + 1);
    if (turn !== undefined) await turn;
  }
  for (const s of filterPppoe(t.pppoeSessions?.() ?? [], filter)) out.push(s);
  return out;
}

/**
 * {@link shownSessions} as pieces (with {@link OpsTarget.tunnelViewsStream}): each piece of views gets
 * its baselines and filter and is handed on as sessions before the next is built (issue 15: the
 * sessions of a 100k `show sessions` are never all held); then the kept PPPoE sessions.
 */
export async function* shownSessionsStream(t: OpsTarget, filter: ShowFilter | undefined): AsyncGenerator<SessionView[]> {
  if (t.tunnelViewsStream === undefined) {
    yield await shownSessions(t, filter);
    return;
  }
  for await (const views of t.tunnelViewsStream()) {
    const out: SessionView[] = [];
    for (const kept of filterTunnels(applyBaselines(views, t.ledger), filter)) for (const s of kept.sessions) out.push(s);
    yield out;
  }
  const pppoe = filterPppoe(t.pppoeSessions?.() ?? [], filter);
  if (pppoe.length > 0) yield pppoe;
}

/** Answer one operations request. */
export async function handleOps(t: OpsTarget, req: OpsRequest): Promise<ControlResponse> {
  switch (req.cmd) {
    case 'show-destinations':
      return { ok: true, result: withSelection(destinationViews(await shownTunnels(t, req.filter)), t.selection?.(), req.filter) };
    case 'show-summary': {
      const views = await shownTunnels(t, undefined);
      const at = t.ledger?.clearedAt;
      const now = t.nowMs?.();
      return {
        ok: true,
        result: summaryView(views, t.pppoeSessions?.() ?? [], {
          ...(t.ledger !== undefined ? { sinceStart: t.ledger.totals() } : {}),
          ...(at !== undefined && now !== undefined ? { clearedSecondsAgo: Math.max(0, Math.floor((now - at) / 1000)) } : {}),
        }),
      };
    }
    case 'clear-statistics': {
      if (t.ledger === undefined || t.nowMs === undefined) return { ok: false, error: 'statistics cannot be cleared here' };
      const views = t.tunnelViewsYielding !== undefined ? await t.tunnelViewsYielding() : t.tunnelViews();
      const n = clearStatistics(t.ledger, t.nowMs(), views);
      t.log.info({ tunnels: n }, `clear statistics: show counters of ${n} tunnel(s) restart at 0 (metrics and SNMP keep counting) (l2tpctl)`);
      return { ok: true, result: { cleared: `statistics of ${n} tunnel(s)` } };
    }
    case 'clear-destination':
      return clearDestination(t, req.peer, req.localGateway);
  }
}

/** StopCCN to every live tunnel with `peer` (and from `local`, when given). */
function clearDestination(t: OpsTarget, peer: string, local: string | undefined): ControlResponse {
  const hits = t.tunnels().filter((x) => x.info.peer.address === peer && x.info.state !== 'closed' && (local === undefined || x.endpoint.local.address === local));
  if (hits.length === 0) return { ok: false, error: `no tunnel to destination ${peer}${local !== undefined ? ` from ${local}` : ''}` };
  t.log.info({ peer, tunnels: hits.length }, `clear destination ${peer}: ${hits.length} tunnel(s) (l2tpctl)`);
  for (const hit of hits) {
    hit.endpoint.run((now, engine) => {
      engine.closeTunnel(now, hit.info.localTunnelId, CLEAR_DESTINATION_RESULT);
    });
  }
  return { ok: true, result: { cleared: `destination ${peer} (${hits.length} tunnel${hits.length === 1 ? '' : 's'})` } };
}
