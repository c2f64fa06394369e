/**
 * Prometheus metrics (prom-client, a private registry): tunnel/session gauges read from the engines'
 * snapshots at scrape time, and counters fed from engine events. Served over HTTP on
 * `metrics_listen` when set.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { L2tpEvent, TunnelInfo } from '../l2tp/api.js';
import { messageTypeName } from '../wire/l2tp/index.js';

/** The daemon's metrics. */
export class DaemonMetrics {
  /** The registry to expose. */
  readonly registry = new Registry();
  private readonly controlRx: Counter<'type'>;
  private readonly controlTx: Counter<'type'>;
  private readonly retransmits: Counter;
  private readonly badDatagrams: Counter;
  private readonly tunnelsClosed: Counter<'cause'>;
  private readonly authFailures: Counter;

  /** `snapshot` returns every tunnel of every engine at scrape time. */
  constructor(snapshot: () => readonly TunnelInfo[]) {
    const registers = [this.registry];
    new Gauge({
      name: 'l2tp_tunnels',
      help: 'L2TP tunnels by state',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const t of snapshot()) this.inc({ state: t.state });
      },
    });
    new Gauge({
      name: 'l2tp_sessions',
      help: 'L2TP sessions by state',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const t of snapshot()) for (const s of t.sessions) this.inc({ state: s.state });
      },
    });
    this.controlRx = new Counter({ name: 'l2tp_control_rx_total', help: 'Control messages received', labelNames: ['type'], registers });
    this.controlTx = new Counter({ name: 'l2tp_control_tx_total', help: 'Control messages sent (first transmissions)', labelNames: ['type'], registers });
    this.retransmits = new Counter({ name: 'l2tp_control_retransmits_total', help: 'Control message retransmissions', registers });
    this.badDatagrams = new Counter({ name: 'l2tp_bad_datagrams_total', help: 'Malformed or unexpected datagrams dropped', registers });
    this.tunnelsClosed = new Counter({ name: 'l2tp_tunnels_closed_total', help: 'Tunnels closed, by cause', labelNames: ['cause'], registers });
    this.authFailures = new Counter({ name: 'l2tp_tunnel_auth_failures_total', help: 'Tunnel authentication failures', registers });
  }

  /** Count one engine event. */
  observe(e: L2tpEvent): void {
    switch (e.type) {
      case 'control-rx':
        this.controlRx.inc({ type: messageTypeName(e.messageType) });
        return;
      case 'control-tx':
        this.controlTx.inc({ type: messageTypeName(e.messageType) });
        return;
      case 'retransmit':
        this.retransmits.inc();
        return;
      case 'bad-datagram':
        this.badDatagrams.inc();
        return;
      case 'tunnel-closed':
        this.tunnelsClosed.inc({ cause: e.reason.cause });
        return;
      case 'tunnel-auth-failed':
        this.authFailures.inc();
        return;
      default:
        return;
    }
  }

  /** The exposition text (what GET /metrics returns). */
  async text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Serve `GET /metrics` on host:port; resolves with the bound port. */
export async function serveMetrics(metrics: DaemonMetrics, host: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    metrics.text().then(
      (body) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body);
      },
      (e: unknown) => {
        res.writeHead(500).end(`${String(e)}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address();
  return { server, port: typeof a === 'object' && a !== null ? a.port : port };
}
