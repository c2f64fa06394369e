/**
 * `l2tpctl show radius` from the client core's snapshot, the spool and the DAE server: one row per
 * server and role (requests, accepts, rejects, timeouts, retransmissions, RTT, state), the
 * accounting queue and spool depth, the DAE clients' counters.
 */
import type { Instant } from '../base/index.js';
import type { DaeServer, RadiusClientSnapshot } from '../aaa/radius/index.js';
import type { RadiusSpool } from '../io/index.js';
import type { DaeClientView, RadiusServerView, RadiusView } from './control-protocol.js';

/** What the view reads besides the client snapshot. */
export interface RadiusViewSources {
  readonly spool: RadiusSpool | undefined;
  readonly spoolPath: string | undefined;
  readonly spoolErrors: number;
  readonly dae:
    | { readonly core: DaeServer<number>; readonly listen: { readonly address: string; readonly port: number }; readonly clients: readonly { readonly name: string; readonly address: string }[] }
    | undefined;
}

const hostPort = (a: { readonly address: string; readonly port: number }): string => (a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);

/** The `show radius` view at `now`. */
export function radiusView(now: Instant, snap: RadiusClientSnapshot, src: RadiusViewSources): RadiusView {
  const servers: RadiusServerView[] = snap.servers.map((s) => {
    const st = s.stats;
    const dropped = st.malformed + st.badAuthenticators + st.badMessageAuthenticators + st.missingMessageAuthenticators + st.unexpectedCodes + st.unmatched;
    return {
      name: s.name,
      role: s.kind,
      address: s.address,
      port: s.port,
      priority: s.priority,
      weight: s.weight,
      state: s.state,
      ...(s.state === 'dead' && s.deadUntil !== undefined ? { deadForSeconds: Math.max(0, Math.ceil((s.deadUntil - now) / 1000)) } : {}),
      pending: s.pending,
      requests: st.requests,
      retransmissions: st.retransmissions,
      accepts: st.accepts,
      rejects: st.rejects,
      challenges: st.challenges,
      accountingResponses: st.accountingResponses,
      timeouts: st.timeouts,
      dropped,
      ...(st.lastRttMs !== undefined ? { lastRttMs: Math.round(st.lastRttMs * 10) / 10 } : {}),
      ...(st.smoothedRttMs !== undefined ? { smoothedRttMs: Math.round(st.smoothedRttMs * 10) / 10 } : {}),
    };
  });
  const d = src.dae;
  const stats = d?.core.stats();
  const clients: DaeClientView[] = (d?.clients ?? []).map((c) => {
    const x = stats?.get(c.name);
    return {
      name: c.name,
      address: c.address,
      requests: x?.requests ?? 0,
      disconnectAcks: x?.disconnectAcks ?? 0,
      disconnectNaks: x?.disconnectNaks ?? 0,
      coaAcks: x?.coaAcks ?? 0,
      coaNaks: x?.coaNaks ?? 0,
      duplicates: x?.duplicates ?? 0,
      dropped: x?.dropped ?? 0,
    };
  });
  return {
    servers,
    pendingAuth: snap.pendingAuth,
    accounting: {
      queued: snap.accountingQueued,
      inFlight: snap.accountingInFlight,
      spoolDepth: src.spool?.pending ?? 0,
      spoolBytes: src.spool?.size ?? 0,
      ...(src.spoolPath !== undefined && src.spool !== undefined ? { spoolPath: src.spoolPath } : {}),
      spoolErrors: src.spoolErrors,
    },
    unknownSource: snap.unknownSource,
    ...(d !== undefined ? { dae: { listen: hostPort(d.listen), clients, unknownClients: d.core.unknownClients } } : {}),
  };
}
