/**
 * Prometheus metrics (prom-client, a private registry): tunnel/session gauges read from the engines'
 * snapshots at scrape time, and counters fed from engine events. Served over HTTP on
 * `metrics_listen` when set.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { type NativeEspStats, type NativeFastPathStats } from '../io/index.js';
export { sumRowsByTunnel } from '../io/index.js';
import type { L2tpEvent, StateCounts } from '../l2tp/index.js';
import { messageTypeName } from '../wire/l2tp/index.js';
import { nextTurn } from './turn-slicer.js';
import type { IpsecView, KernelDropsView, RadiusView, SelectionDestinationView, StatusView } from './control-protocol.js';
import type { DataCounters } from './data-ledger.js';
import type { L2tpv3StaticView } from './l2tpv3-static-shell.js';
import type { SelectionCounters } from './lac-select-shell.js';

/**
 * The O(sessions) reads of a scrape (state counts, the fast path's rows, the kernel/echo view): each
 * is taken at most once per scrape. {@link DaemonMetrics.text} takes each in a turn of its own
 * before prom-client collects (then every collect finds it ready); outside a scrape (or when it went
 * stale) a collect reads it itself, and a read older than 100 ms is taken again.
 */
class ScrapeReads {
  private readonly warmers: (() => void)[] = [];
  /** Scrapes begun; a read is fresh for the scrape it was taken in. */
  generation = 0;
  /** A scrape is between its warm-up and the end of its collects. */
  active = false;

  /** `read` shared by the collects of one scrape. */
  add<T>(read: () => T): () => T {
    let last: { at: number; gen: number; v: T } | undefined;
    const get = (): T => {
      const at = Date.now();
      const fresh = last !== undefined && last.gen === this.generation && (this.active || at - last.at <= 100);
      if (!fresh || last === undefined) {
        last = { at, gen: this.generation, v: read() };
        // Not kept past the scrape (2 s: longer than a scrape at 100k): a view can be O(sessions) (the fast path's per-session counters
        // were ~360 B per idle session held between scrapes; issue 15).
        const mine = last;
        setTimeout(() => {
          if (last === mine) last = undefined;
        }, 2000).unref();
      }
      return last.v;
    };
    this.warmers.push(() => get());
    return get;
  }

  /** Begin a scrape: every read in a turn of its own (a scrape at 100k sessions never holds the loop for all of them); a read that is a promise (sliced over turns) is awaited. */
  async warm(): Promise<void> {
    this.generation++;
    this.active = true;
    for (const w of this.warmers) {
      await nextTurn();
      await Promise.resolve(w());
    }
  }
}

/** What a scrape reads of the native fast path (undefined when it is off); `tunnelSums` summed per tunnel by the addon. */
type FastPathRead = { readonly stats: NativeFastPathStats; readonly tunnelSums: ReadonlyMap<number, Float64Array>; readonly esp?: NativeEspStats | undefined } | undefined;

/** The daemon's metrics. */
export class DaemonMetrics {
  /** The registry to expose. */
  readonly registry = new Registry();
  /** The O(sessions) reads, one per scrape, each in its own turn. */
  private readonly reads = new ScrapeReads();
  /** Control messages by type name, counted here per message and handed to the counters at scrape time (no label hashing per message). */
  private readonly controlRxCounts = new Map<number | undefined, number>();
  private readonly controlTxCounts = new Map<number | undefined, number>();
  private readonly retransmits: Counter;
  private readonly badDatagrams: Counter;
  private readonly tunnelsRejected: Counter;
  private readonly tunnelsClosed: Counter<'cause'>;
  private readonly authFailures: Counter;

  /**
   * `countStates` adds every engine's tunnels and sessions by state at scrape time (no snapshot: a
   * scrape at 100k sessions allocates nothing per session); `ipsec`, when given, the `show ipsec`
   * view (SAs and gate counters) at scrape time.
   */
  constructor(countStates: (into: StateCounts) => void, ipsec?: () => IpsecView) {
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
    // One count per scrape serves both gauges (prom-client collects them one after the other).
    const counts = this.reads.add((): StateCounts => {
      const c: StateCounts = { tunnels: new Map(), sessions: new Map() };
      countStates(c);
      return c;
    });
    const byState = (name: string, help: string, pick: (c: StateCounts) => ReadonlyMap<string, number>): void => {
      new Gauge<'state'>({
        name,
        help,
        labelNames: ['state'],
        registers,
        collect() {
          this.reset();
          for (const [state, n] of pick(counts())) this.set({ state }, n);
        },
      });
    };
    byState('l2tp_tunnels', 'L2TP tunnels by state', (c) => c.tunnels);
    byState('l2tp_sessions', 'L2TP sessions by state', (c) => c.sessions);
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
    const byType = (counts: ReadonlyMap<number | undefined, number>) =>
      function collect(this: Counter<'type'>): void {
        this.reset();
        for (const [t, n] of counts) this.inc({ type: messageTypeName(t) }, n);
      };
    new Counter({ name: 'l2tp_control_rx_total', help: 'Control messages received', labelNames: ['type'], registers, collect: byType(this.controlRxCounts) });
    new Counter({ name: 'l2tp_control_tx_total', help: 'Control messages sent (first transmissions)', labelNames: ['type'], registers, collect: byType(this.controlTxCounts) });
    this.retransmits = new Counter({ name: 'l2tp_control_retransmits_total', help: 'Control message retransmissions', registers });
    this.badDatagrams = new Counter({ name: 'l2tp_bad_datagrams_total', help: 'Malformed or unexpected datagrams dropped', registers });
    this.tunnelsRejected = new Counter({ name: 'l2tp_tunnels_rejected_total', help: 'SCCRQs refused without an answer, by limit ([l2tp.admission]) or "config"', labelNames: ['limit'], registers });
    this.tunnelsClosed = new Counter({ name: 'l2tp_tunnels_closed_total', help: 'Tunnels closed, by cause', labelNames: ['cause'], registers });
    this.authFailures = new Counter({ name: 'l2tp_tunnel_auth_failures_total', help: 'Tunnel authentication failures', registers });
  }

  /**
   * The native data fast path read at scrape time (`[dataplane] fast_path`): packets per direction and
   * thread (thread 0 = the JavaScript thread's ports), what went to JS or was dropped by reason, and
   * per tunnel (sessions summed: per-session rows are in `l2tpctl show`) packets, octets and drops.
   */
  addFastPath(readNow: () => FastPathRead | Promise<FastPathRead>): void {
    const registers = [this.registry];
    const read = this.reads.add(readNow);
    new Counter({
      name: 'l2tp_fast_path_esp_packets_total',
      help: 'ESP-in-UDP datagrams the fast path opened (in) or sealed (out) natively, or handed to JavaScript (to-js-*, with why), [dataplane] fast_path_esp',
      labelNames: ['direction'],
      registers,
      async collect() {
        const e = (await read())?.esp;
        this.reset();
        if (e === undefined) return;
        const rows: [string, number][] = [
          ['in', e.espInFast], ['out', e.espOutFast], ['to-js-in', e.espInToJs], ['to-js-out', e.espOutToJs], ['to-js-replay', e.espReplayToJs],
          ['to-js-icv', e.espIcvToJs], ['to-js-unknown-spi', e.espUnknownSpiToJs], ['send-error', e.espSendErrors],
        ];
        for (const [direction, v] of rows) this.inc({ direction }, v);
      },
    });
    new Counter({
      name: 'l2tp_fast_path_packets_total',
      help: 'Data packets the fast path forwarded natively (l2tp-tun, tun-l2tp) or handed to JavaScript (to-js-*), per data thread',
      labelNames: ['direction', 'thread'],
      registers,
      async collect() {
        const st = (await read())?.stats;
        this.reset();
        st?.perThread.forEach((t, i) => {
          const thread = String(i);
          this.inc({ direction: 'l2tp-tun', thread }, t.udpFast);
          this.inc({ direction: 'tun-l2tp', thread }, t.tunFast);
          this.inc({ direction: 'to-js-l2tp', thread }, t.udpToJs);
          this.inc({ direction: 'to-js-tun', thread }, t.tunToJs);
        });
      },
    });
    new Counter({
      name: 'l2tp_fast_path_tunnel_total',
      help: 'Fast-path counters of the sessions installed now, summed per tunnel: rx/tx packets and octets, to-JS by reason, drops by reason',
      labelNames: ['tunnel', 'counter'],
      registers,
      async collect() {
        const sums = (await read())?.tunnelSums ?? [];
        this.reset();
        // Summed per tunnel by the addon (FastPathAttach.tunnelSums: no row, no object per session): one labelled inc per tunnel and counter.
        const names = ['rx_packets', 'rx_octets', 'tx_packets', 'tx_octets', 'to_js_bad_source', 'to_js_too_big', 'to_js_other', 'drop_tun_write', 'drop_send'] as const;
        for (const [t, a] of sums) {
          const tunnel = String(t);
          names.forEach((counter, i) => this.inc({ tunnel, counter }, a[i] ?? 0));
        }
      },
    });
  }

  /**
   * Daemon-wide L2TP payload (data messages, the fast path's included) since start, closed tunnels
   * included (data-ledger.ts), read at scrape time: packets and octets by direction (rx = from peers).
   */
  addPayload(read: () => DataCounters | Promise<DataCounters>): void {
    const registers = [this.registry];
    // One read serves both counters of a scrape (a read may yield to the event loop: it is shared as a promise).
    let last: { at: number; v: Promise<DataCounters> } | undefined;
    const value = (): Promise<DataCounters> => {
      const at = Date.now();
      if (last === undefined || at - last.at > 100) last = { at, v: Promise.resolve(read()) };
      return last.v;
    };
    const counter = (name: string, help: string, rx: (d: DataCounters) => number, tx: (d: DataCounters) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ['direction'],
        registers,
        async collect() {
          const d = await value();
          this.reset();
          this.inc({ direction: 'rx' }, rx(d));
          this.inc({ direction: 'tx' }, tx(d));
        },
      });
    };
    counter('l2tp_payload_packets_total', 'L2TP data messages (PPP frames) carried, every tunnel since start, fast path included; rx = from peers', (d) => d.rxPackets, (d) => d.txPackets);
    counter('l2tp_payload_octets_total', 'octets of those frames (PPP frames through JavaScript, IP packets through the fast path); rx = from peers', (d) => d.rxOctets, (d) => d.txOctets);
  }

  /**
   * `[tunnel_select]` read at scrape time: selection outcomes (tunnel, local, refusal reasons),
   * failovers and dead marks by cause, and per destination whether it is usable and its sessions.
   */
  addSelection(read: () => { readonly counters: SelectionCounters; readonly destinations: readonly SelectionDestinationView[] }): void {
    const registers = [this.registry];
    const byLabel = (name: string, help: string, label: string, pick: (c: SelectionCounters) => Readonly<Record<string, number>>): void => {
      new Counter({
        name, help, labelNames: [label], registers,
        collect() {
          this.reset();
          for (const [k, v] of Object.entries(pick(read().counters))) this.inc({ [label]: k }, v);
        },
      });
    };
    byLabel('l2tp_lac_selections_total', 'LAC tunnel selection outcomes per subscriber: tunnel, local, or the refusal reason', 'outcome', (c) => c.outcomes);
    byLabel('l2tp_lac_failovers_total', 'subscriber sessions moved to another LNS after their tunnel failed to come up, by cause', 'cause', (c) => c.failovers);
    byLabel('l2tp_lac_destination_dead_total', 'LNS destinations marked dead (skipped for dead_time), by cause', 'cause', (c) => c.deadMarks);
    const perDest = (name: string, help: string, value: (d: SelectionDestinationView) => number): void => {
      new Gauge({
        name, help, labelNames: ['destination'], registers,
        collect() {
          this.reset();
          for (const d of read().destinations) this.set({ destination: `${d.address}:${d.port}` }, value(d));
        },
      });
    };
    perDest('l2tp_lac_destination_up', '1 = usable, 0 = dead (in its dead time)', (d) => (d.state === 'alive' ? 1 : 0));
    perDest('l2tp_lac_destination_sessions', 'sessions the selector placed on this LNS now', (d) => d.sessions);
  }

  /** `[l2tpv3]` counters read at scrape time (connections, sessions, auth failures, keepalive, redials, NAT moves, drops). */
  addL2tpv3(counters: () => Readonly<Record<string, number>>): void {
    const registers = [this.registry];
    new Counter({
      name: 'l2tpv3_events_total',
      help: 'L2TPv3 control plane events by kind (connections and sessions established/closed, auth failures, keepalive expiries, redials, authenticated peer moves, data drops)',
      labelNames: ['event'],
      registers,
      collect() {
        this.reset();
        for (const [k, v] of Object.entries(counters())) this.inc({ event: k }, v);
      },
    });
  }

  /** `[[l2tpv3_static]]` counters read at scrape time: frames and octets each way, drops by reason (label pseudowire). */
  addL2tpv3Static(view: () => readonly L2tpv3StaticView[]): void {
    const registers = [this.registry];
    const each = (name: string, help: string, rx: (p: L2tpv3StaticView) => number, tx: (p: L2tpv3StaticView) => number): void => {
      new Counter({
        name, help, labelNames: ['pseudowire', 'direction'], registers,
        collect() {
          this.reset();
          for (const p of view()) {
            this.inc({ pseudowire: p.name, direction: 'rx' }, rx(p));
            this.inc({ pseudowire: p.name, direction: 'tx' }, tx(p));
          }
        },
      });
    };
    each('l2tpv3_static_packets_total', 'Ethernet frames carried by a static L2TPv3 pseudowire; rx = from the peer to the TAP', (p) => p.rxPackets, (p) => p.txPackets);
    each('l2tpv3_static_octets_total', 'octets of those frames', (p) => p.rxOctets, (p) => p.txOctets);
    new Counter({
      name: 'l2tpv3_static_drops_total',
      help: 'datagrams and frames a static L2TPv3 pseudowire dropped, by reason (wrong cookie, too short, sequence, unknown session, bad header, foreign source, TAP write, send)',
      labelNames: ['pseudowire', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const p of view()) for (const [k, v] of Object.entries<number>({ ...p.drops })) this.inc({ pseudowire: p.name, reason: k }, v);
      },
    });
  }

  /**
   * Per-server RADIUS metrics read at scrape time from `show radius` (labels server and role):
   * requests, retransmissions, accepts, rejects, timeouts, dropped answers (counters), RTT and state
   * (gauges), the accounting queue and spool depth, DAE requests by client and result.
   */
  addRadius(view: () => RadiusView): void {
    const registers = [this.registry];
    const perServer = (name: string, help: string, value: (s: RadiusView['servers'][number]) => number | undefined, kind: 'counter' | 'gauge'): void => {
      const opts = { name, help, labelNames: ['server', 'role'] as const, registers };
      const collect = (m: { reset(): void; set?(l: Record<'server' | 'role', string>, v: number): void; inc?(l: Record<'server' | 'role', string>, v: number): void }): void => {
        m.reset();
        for (const s of view().servers) {
          const v = value(s);
          if (v === undefined) continue;
          if (m.set !== undefined) m.set({ server: s.name, role: s.role }, v);
          else m.inc?.({ server: s.name, role: s.role }, v);
        }
      };
      if (kind === 'counter') new Counter({ ...opts, collect() { collect(this); } });
      else new Gauge({ ...opts, collect() { collect(this); } });
    };
    perServer('radius_requests_total', 'RADIUS requests sent (first transmissions)', (s) => s.requests, 'counter');
    perServer('radius_retransmissions_total', 'RADIUS retransmissions', (s) => s.retransmissions, 'counter');
    perServer('radius_accepts_total', 'Access-Accepts', (s) => s.accepts, 'counter');
    perServer('radius_rejects_total', 'Access-Rejects', (s) => s.rejects, 'counter');
    perServer('radius_accounting_responses_total', 'Accounting-Responses', (s) => s.accountingResponses, 'counter');
    perServer('radius_timeouts_total', 'requests that exhausted their retries on the server', (s) => s.timeouts, 'counter');
    perServer('radius_dropped_total', 'answers dropped (malformed, bad authenticator or Message-Authenticator, unmatched)', (s) => s.dropped, 'counter');
    perServer('radius_rtt_milliseconds', 'smoothed round-trip time', (s) => s.smoothedRttMs, 'gauge');
    perServer('radius_server_up', '1 = alive, 0 = dead (skipped for dead_time)', (s) => (s.state === 'alive' ? 1 : 0), 'gauge');
    perServer('radius_pending_requests', 'Identifiers in use', (s) => s.pending, 'gauge');
    new Gauge({
      name: 'radius_accounting_queued',
      help: 'accounting records not yet answered (queue) and waiting in the on-disk spool',
      labelNames: ['where'],
      registers,
      collect() {
        this.reset();
        const a = view().accounting;
        this.set({ where: 'queue' }, a.queued);
        this.set({ where: 'spool' }, a.spoolDepth);
      },
    });
    new Counter({
      name: 'radius_dae_requests_total',
      help: 'Dynamic Authorization requests by client and result (RFC 5176)',
      labelNames: ['client', 'result'],
      registers,
      collect() {
        this.reset();
        for (const c of view().dae?.clients ?? []) {
          this.inc({ client: c.name, result: 'disconnect_ack' }, c.disconnectAcks);
          this.inc({ client: c.name, result: 'disconnect_nak' }, c.disconnectNaks);
          this.inc({ client: c.name, result: 'coa_ack' }, c.coaAcks);
          this.inc({ client: c.name, result: 'coa_nak' }, c.coaNaks);
          this.inc({ client: c.name, result: 'dropped' }, c.dropped);
        }
      },
    });
  }

  /**
   * Kernel-side loss read at scrape time (issue 15 item 3): each L2TP socket's drops, receive queue
   * and buffer sizes, the namespace's UDP errors, the TUN queue's drops; and LCP echo misses.
   */
  addKernel(viewNow: () => { readonly kernel: KernelDropsView; readonly echo?: StatusView['echo'] }): void {
    const registers = [this.registry];
    const view = this.reads.add(viewNow);
    const sock = (name: string, help: string, kind: 'counter' | 'gauge', value: (s: KernelDropsView['sockets'][number]) => number | undefined): void => {
      const opts = { name, help, labelNames: ['listener'] as const, registers };
      const fill = (m: { reset(): void }, put: (l: { listener: string }, v: number) => void): void => {
        m.reset();
        for (const s of view().kernel.sockets) {
          const v = value(s);
          if (v !== undefined) put({ listener: `${s.address}:${s.port}` }, v);
        }
      };
      if (kind === 'counter') new Counter({ ...opts, collect() { fill(this, (l, v) => this.inc(l, v)); } });
      else new Gauge({ ...opts, collect() { fill(this, (l, v) => this.set(l, v)); } });
    };
    sock('l2tp_socket_drops_total', 'datagrams the kernel dropped for this L2TP socket (/proc/net/udp drops: a full receive buffer)', 'counter', (s) => s.drops);
    sock('l2tp_socket_rx_queue_bytes', 'bytes waiting in the socket receive queue', 'gauge', (s) => s.rxQueue);
    sock('l2tp_socket_receive_buffer_bytes', 'SO_RCVBUF as the kernel reports it', 'gauge', (s) => s.receiveBuffer);
    sock('l2tp_socket_send_buffer_bytes', 'SO_SNDBUF as the kernel reports it', 'gauge', (s) => s.sendBuffer);
    new Counter({
      name: 'udp_errors_total',
      help: 'UDP errors of the whole network namespace (/proc/net/snmp), by kind',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        const u = view().kernel.udp;
        if (u === undefined) return;
        this.inc({ kind: 'rcvbuf' }, u.rcvbufErrors);
        this.inc({ kind: 'sndbuf' }, u.sndbufErrors);
        this.inc({ kind: 'in' }, u.inErrors);
      },
    });
    new Counter({
      name: 'tun_dropped_total',
      help: 'packets the TUN dropped (/sys/class/net/<tun>/statistics; tx = toward clients, the txqueue was full)',
      labelNames: ['direction'],
      registers,
      collect() {
        this.reset();
        const t = view().kernel.tun;
        if (t === undefined) return;
        this.inc({ direction: 'tx' }, t.txDropped);
        this.inc({ direction: 'rx' }, t.rxDropped);
      },
    });
    new Counter({
      name: 'ppp_echo_misses_total',
      help: 'LCP Echo-Requests that went unanswered (all sessions)',
      registers,
      collect() {
        this.reset();
        this.inc(view().echo?.misses ?? 0);
      },
    });
    new Counter({ name: 'ppp_echo_timeouts_total', help: 'sessions ended by our LCP echo-timeout', registers, collect() { this.reset(); this.inc(view().echo?.timeouts ?? 0); } });
    new Gauge({ name: 'ppp_sessions_echo_missing', help: 'sessions whose last Echo-Request is unanswered now', registers, collect() { this.set(view().echo?.missing ?? 0); } });
  }

  /** Count one engine event. */
  observe(e: L2tpEvent): void {
    switch (e.type) {
      case 'control-rx':
        this.controlRxCounts.set(e.messageType, (this.controlRxCounts.get(e.messageType) ?? 0) + 1);
        return;
      case 'control-tx':
        this.controlTxCounts.set(e.messageType, (this.controlTxCounts.get(e.messageType) ?? 0) + 1);
        return;
      case 'retransmit':
        this.retransmits.inc();
        return;
      case 'bad-datagram':
        this.badDatagrams.inc();
        return;
      case 'tunnel-rejected':
        this.tunnelsRejected.inc({ limit: e.limit ?? 'config' });
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
    await this.reads.warm();
    try {
      return await this.registry.metrics();
    } finally {
      this.reads.active = false;
    }
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
