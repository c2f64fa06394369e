/**
 * Prometheus metrics (prom-client, a private registry): tunnel/session gauges read from the engines'
 * snapshots at scrape time, and counters fed from engine events. Served over HTTP on
 * `metrics_listen` when set.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { L2tpEvent, TunnelInfo } from '../l2tp/api.js';
import { messageTypeName } from '../wire/l2tp/index.js';
import type { IpsecView } from './control-protocol.js';

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

  /**
   * `snapshot` returns every tunnel of every engine at scrape time; `ipsec`, when given, the
   * `show ipsec` view (SAs and gate counters) at scrape time.
   */
  constructor(snapshot: () => readonly TunnelInfo[], ipsec?: () => IpsecView) {
    const registers = [this.registry];
    /** A gauge that counts, at scrape time, the rows `rows()` yields, by their label values. */
    const rowCount = <L extends string>(name: string, help: string, labelNames: readonly L[], rows: () => Iterable<Record<L, string>>): void => {
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const labels of rows()) this.inc(labels);
        },
      });
    };
    rowCount('l2tp_tunnels', 'L2TP tunnels by state', ['state'], () => snapshot().map((t) => ({ state: t.state })));
    rowCount('l2tp_sessions', 'L2TP sessions by state', ['state'], () => snapshot().flatMap((t) => t.sessions.map((x) => ({ state: x.state }))));
    if (ipsec !== undefined) {
      rowCount('ipsec_ike_sas', 'IKE SAs by role and state', ['role', 'state'], () => ipsec().ikeSas.map((x) => ({ role: x.role, state: x.state })));
      rowCount(
        'ipsec_esp_sa_pairs',
        'ESP SA pairs by role and encapsulation (udp = ESP in UDP 4500, raw = IP protocol 50)',
        ['role', 'encapsulation'],
        () => ipsec().espSas.map((x) => ({ role: x.role, encapsulation: x.encapsulation })),
      );
      // Monotonic gate counters, read at scrape time (a Counter whose value is set in collect()).
      new Counter({
        name: 'ipsec_gate_drops_total',
        help: 'Packets refused or dropped at the IPsec gates, by reason (clear_l2tp_refused = L2TP outside IPsec at a listener that requires it)',
        labelNames: ['reason'],
        registers,
        collect() {
          this.reset();
          const c = ipsec().counters;
          this.inc({ reason: 'clear_l2tp_refused' }, c.clearL2tpRefused);
          this.inc({ reason: 'esp_unknown_spi' }, c.espUnknownSpi);
          this.inc({ reason: 'esp_dropped' }, c.espDropped);
          this.inc({ reason: 'inner_not_l2tp' }, c.innerNotL2tp);
          this.inc({ reason: 'tx_no_flow' }, c.txNoFlow);
          this.inc({ reason: 'tx_encrypt_refused' }, c.txEncryptFailed);
        },
      });
    }
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
