/**
 * The status page's view of the running daemon: the engines' tunnels, the PPP terminations, the
 * LAC dialers and the IPsec gates (the same sources as `l2tpctl show`, daemon/views.ts), turned
 * into the bounded page view with one traffic sample per second for the chart.
 */
import { since, type Instant } from '../../base/index.js';
import { allTunnelsYielding, ipsecViews, perSessionPpp, tunnelView, type ViewSources } from '../views.js';
import type { StatusPageSource } from './server.js';
import { statusPageView, trafficTotals, TrafficHistory } from './views.js';

/** What the source reads from the daemon. */
export interface DaemonStatusInputs {
  readonly version: string;
  readonly startedAt: Instant;
  now(): Instant;
  sources(): ViewSources;
}

/** A new traffic sample at most this often (the page polls once a second). */
const SAMPLE_MS = 900;

/** The page's source over a running daemon. */
export function daemonStatusSource(d: DaemonStatusInputs): StatusPageSource {
  const history = new TrafficHistory();
  return {
    // The tunnels' snapshots are taken a few thousand sessions per turn (100k sessions never stall the loop).
    async view(offset, limit) {
      const now = d.now();
      const src = d.sources();
      const infos = await allTunnelsYielding(now, src);
      const t = since(now, d.startedAt);
      const last = history.last;
      if (last === undefined || t - last.t >= SAMPLE_MS) history.push(trafficTotals(infos, t));
      const pool = src.access?.stats();
      return statusPageView(
        {
          version: d.version,
          uptimeSeconds: Math.floor(t / 1000),
          infos,
          // The shown rows' PPP fields session by session (a default snapshot would copy every session once per shown tunnel).
          toView: (x) => tunnelView(now, src, x.endpoint, x.info, perSessionPpp(src)),
          ipsec: src.ipsec !== undefined || src.lacs.some((l) => l.ipsec !== undefined) ? ipsecViews(now, src) : undefined,
          ...(pool !== undefined ? { pool: { sessions: pool.sessions, inUse: pool.ipv4InUse, capacity: pool.ipv4Capacity } } : {}),
          lacs: src.lacs.map((l) => {
            const i = l.info();
            return { name: l.config.name, lns: l.config.lns, port: l.config.port, state: i.state, ...(i.tunnel !== undefined ? { tunnel: i.tunnel } : {}) };
          }),
          history: history.all(),
        },
        offset,
        limit,
      );
    },
  };
}
