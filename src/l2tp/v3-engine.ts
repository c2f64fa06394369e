/**
 * The L2TPv3 engine (RFC 3931): every dynamic control connection behind one UDP socket or one
 * IP-protocol-115 socket, sans-I/O, the sibling of the v2 `L2tpEngine`. It demultiplexes control
 * messages by Control Connection ID (§3.2.1; 0 = a new SCCRQ, §6.1), keeps one heap entry per
 * connection for its next deadline, and runs always-on dialers (Yamaha `always-on`: redial forever with
 * exponential backoff, the sessions placed again on every new connection). Data messages never come
 * here: the shell's pseudowire data plane takes them by Session ID; `sessionPeer` tells it where a
 * session's data goes now (the connection's current, possibly NAT-learned, peer).
 */
import { DeadlineHeap, Fifo, type Duration, type Instant, type RandomSource } from '../base/index.js';
import {
  controlConnectionId,
  digestSharedKey,
  parseV3Control,
  parseV3ControlHeader,
  V3MessageType,
  v3SessionId,
  type CircuitErrors,
  type ControlConnectionId,
  type V3ResultCode,
  type V3SessionId,
} from '../wire/l2tpv3/index.js';
import type { PeerAddress, Transmit } from './api.js';
import type { L2tpV3EngineApi, L2tpV3Event, V3AcceptPseudowires, V3ConnectionInfo, V3ConnectionCounters, V3ConnectionSettings, V3ControlDrops, V3DialSpec, V3EngineConfig, V3EngineCounters, V3SessionRequest } from './v3-api.js';
import { V3Connection, V3StopResults, type V3ConnectionHost } from './v3-connection.js';

const peerKey = (p: PeerAddress): string => `${p.address}|${p.port}|${p.via ?? ''}`;

type DropTotals = { authFailures: number; malformed: number; unknownSession: number; foreignSource: number };
const addDrops = (t: DropTotals, c: Readonly<V3ConnectionCounters>): void => {
  t.authFailures += c.authFailures;
  t.malformed += c.malformed;
  t.unknownSession += c.unknownSession;
  t.foreignSource += c.foreignSource;
};

interface Entry {
  readonly c: V3Connection;
  scheduledAt: Instant | undefined;
}

/** One always-on dial. */
interface Dialer {
  readonly id: number;
  readonly spec: V3DialSpec;
  connection: ControlConnectionId | undefined;
  redialAt: Instant | undefined;
  attempt: number;
  backoff: Duration;
}

/** The L2TPv3 engine; see the file comment. */
export class L2tpV3Engine implements L2tpV3EngineApi, V3ConnectionHost {
  readonly random: RandomSource;
  private readonly byId = new Map<number, Entry>();
  private readonly sccrqIndex = new Map<string, V3Connection>();
  private readonly bySession = new Map<number, V3Connection>();
  private readonly dialers = new Map<number, Dialer>();
  private readonly heap = new DeadlineHeap();
  private readonly transmits = new Fifo<Transmit>();
  private readonly events = new Fifo<L2tpV3Event>();
  private nextDialer = 1;
  private readonly acceptKey: Uint8Array | undefined;
  /** Attachment circuits reported down (absent = up). */
  private readonly circuitsDown = new Set<string>();
  readonly counters: V3EngineCounters = { badHeader: 0, unknownConnection: 0, badSccrq: 0, authFailures: 0, rejected: 0 };
  /** Bad-input counters of connections already released. */
  private readonly retired = { authFailures: 0, malformed: 0, unknownSession: 0, foreignSource: 0 };

  constructor(
    readonly config: V3EngineConfig,
    deps: { readonly random: RandomSource },
  ) {
    this.random = deps.random;
    const a = config.accept;
    if (a.messageDigest !== undefined && a.secret !== undefined) this.acceptKey = digestSharedKey(a.secret);
  }

  get encapsulation(): 'udp' | 'ip' {
    return this.config.encapsulation;
  }
  get acceptPseudowires(): V3AcceptPseudowires {
    return this.config.acceptPseudowires;
  }

  // ---------------------------------------------------------------- shell surface

  /** One control datagram. Never throws on bad input. */
  handleDatagram(now: Instant, data: Uint8Array, from: PeerAddress): void {
    const h = parseV3ControlHeader(data, this.config.encapsulation);
    if (!h.ok) {
      this.counters.badHeader++;
      this.events.push({ type: 'v3-bad-datagram', peer: from, detail: h.error.kind });
      return;
    }
    const id = h.value.connectionId;
    if (id === 0) {
      this.handleConnectionZero(now, data, from);
      return;
    }
    const entry = this.byId.get(id);
    if (entry === undefined) {
      this.counters.unknownConnection++;
      this.events.push({ type: 'v3-bad-datagram', peer: from, detail: `control message for unknown connection ${id}` });
      return;
    }
    entry.c.receiveControl(now, data, from);
    this.touch(entry);
  }

  handleTimeout(now: Instant): void {
    for (;;) {
      const at = this.heap.peekAt();
      const key = this.heap.peekKey();
      if (at === undefined || key === undefined || at > now) break;
      this.heap.pop();
      const entry = this.byId.get(key);
      if (entry === undefined || entry.scheduledAt !== at) continue;
      entry.scheduledAt = undefined;
      entry.c.handleTimeout(now);
      this.touch(entry);
    }
    for (const d of this.dialers.values()) {
      if (d.redialAt !== undefined && d.redialAt <= now) this.redial(now, d);
    }
  }

  pollAt(): Instant | undefined {
    let at: Instant | undefined;
    for (;;) {
      const h = this.heap.peekAt();
      const key = this.heap.peekKey();
      if (h === undefined || key === undefined) break;
      const entry = this.byId.get(key);
      if (entry !== undefined && entry.scheduledAt === h) {
        at = h as Instant;
        break;
      }
      this.heap.pop();
    }
    for (const d of this.dialers.values()) if (d.redialAt !== undefined && (at === undefined || d.redialAt < at)) at = d.redialAt;
    return at;
  }

  pollTransmit(): Transmit | undefined {
    return this.transmits.shift();
  }

  pollEvent(): L2tpV3Event | undefined {
    return this.events.shift();
  }

  openConnection(now: Instant, peer: PeerAddress, settings: V3ConnectionSettings): ControlConnectionId {
    const entry = this.create(now, peer, settings, true);
    this.events.push({ type: 'v3-connecting', connection: entry.c.localId, peer, originator: true });
    entry.c.open0(now);
    this.touch(entry);
    return entry.c.localId;
  }

  openSession(now: Instant, connection: ControlConnectionId, request: V3SessionRequest): V3SessionId | undefined {
    return this.with(connection, (c) => c.openSession(now, request.remoteEndId, request.pseudowire, request.call));
  }

  setCircuitStatus(now: Instant, remoteEndId: string, active: boolean): void {
    if (active === !this.circuitsDown.has(remoteEndId)) return;
    if (active) this.circuitsDown.delete(remoteEndId);
    else this.circuitsDown.add(remoteEndId);
    for (const e of this.byId.values()) {
      e.c.circuitUpdate(now, remoteEndId);
      this.touch(e);
    }
  }

  wanErrorNotify(now: Instant, connection: ControlConnectionId, session: V3SessionId, errors: CircuitErrors): void {
    this.with(connection, (c) => c.sessions.get(session)?.wanErrorNotify(now, errors));
  }

  circuitActive(remoteEndId: string): boolean {
    return !this.circuitsDown.has(remoteEndId);
  }

  closeSession(now: Instant, connection: ControlConnectionId, session: V3SessionId, result: V3ResultCode): void {
    this.with(connection, (c) => c.closeSession(now, session, result));
  }

  closeConnection(now: Instant, connection: ControlConnectionId, result: V3ResultCode): void {
    this.with(connection, (c) => c.close(now, result));
  }

  /** Always-on: open now, and again after every close, with backoff (reset once established). */
  dial(now: Instant, spec: V3DialSpec): number {
    const d: Dialer = { id: this.nextDialer++, spec, connection: undefined, redialAt: undefined, attempt: 0, backoff: spec.backoffInitial };
    this.dialers.set(d.id, d);
    this.redial(now, d);
    return d.id;
  }

  hangUp(now: Instant, dialer: number): void {
    const d = this.dialers.get(dialer);
    if (d === undefined) return;
    this.dialers.delete(dialer);
    if (d.connection !== undefined) this.closeConnection(now, d.connection, V3StopResults.clear);
  }

  controlDrops(): V3ControlDrops {
    const t = { ...this.retired };
    for (const e of this.byId.values()) addDrops(t, e.c.counters);
    return { ...this.counters, connectionAuthFailures: t.authFailures, malformed: t.malformed, unknownSession: t.unknownSession, foreignSource: t.foreignSource };
  }

  connections(): readonly V3ConnectionInfo[] {
    return [...this.byId.values()].map((e) => e.c.info());
  }

  sessionPeer(localSessionId: number): PeerAddress | undefined {
    return this.bySession.get(localSessionId)?.peer;
  }

  /** Number of connection objects alive (including lingering ones). */
  get connectionCount(): number {
    return this.byId.size;
  }

  // ---------------------------------------------------------------- V3ConnectionHost

  transmit(t: Transmit): void {
    this.transmits.push(t);
  }

  event(e: L2tpV3Event): void {
    this.events.push(e);
    // Dialers learn of establishment and closure through the same events the shell sees.
    if (e.type === 'v3-established') {
      for (const d of this.dialers.values()) {
        if (d.connection === e.connection) {
          d.attempt = 0;
          d.backoff = d.spec.backoffInitial;
        }
      }
    }
  }

  allocSessionId(): V3SessionId {
    for (;;) {
      const id = this.random.u32() >>> 0;
      if (id !== 0 && !this.bySession.has(id)) return v3SessionId(id);
    }
  }

  sessionAdded(c: V3Connection, s: V3SessionId): void {
    this.bySession.set(s, c);
  }

  sessionRemoved(s: V3SessionId): void {
    this.bySession.delete(s);
  }

  released(c: V3Connection): void {
    const entry = this.byId.get(c.localId);
    if (entry === undefined || entry.c !== c) return;
    this.byId.delete(c.localId);
    addDrops(this.retired, c.counters);
    if (c.sccrqKey !== undefined && this.sccrqIndex.get(c.sccrqKey) === c) this.sccrqIndex.delete(c.sccrqKey);
  }

  /** A connection left the FSM (clean-up): its dialer, if any, arms the next attempt with backoff. */
  connectionDown(now: Instant, c: V3Connection): void {
    for (const d of this.dialers.values()) {
      if (d.connection !== c.localId) continue;
      d.connection = undefined;
      d.attempt++;
      d.redialAt = (now + d.backoff) as Instant;
      d.backoff = Math.min(d.backoff * 2, d.spec.backoffMax) as Duration;
      this.events.push({ type: 'v3-redial', dialer: d.id, at: d.redialAt, attempt: d.attempt });
    }
  }

  // ---------------------------------------------------------------- internals

  private redial(now: Instant, d: Dialer): void {
    d.redialAt = undefined;
    const entry = this.create(now, d.spec.peer, d.spec.settings, true);
    d.connection = entry.c.localId;
    this.events.push({ type: 'v3-connecting', connection: entry.c.localId, peer: d.spec.peer, originator: true });
    entry.c.open0(now);
    for (const s of d.spec.sessions) entry.c.openSession(now, s.remoteEndId, s.pseudowire, s.call);
    this.touch(entry);
  }

  /** SCCRQ (Control Connection ID 0): a retransmission, or a new connection if it passes authentication. */
  private handleConnectionZero(now: Instant, data: Uint8Array, from: PeerAddress): void {
    const a = this.config.accept;
    const pr = parseV3Control(data, {
      encapsulation: this.config.encapsulation,
      ...(a.secret !== undefined ? { secret: a.secret } : {}),
      ...(this.acceptKey !== undefined ? { auth: { sharedKeys: [this.acceptKey] } } : {}),
    });
    if (!pr.ok) {
      if (!pr.error.authenticated) {
        this.counters.authFailures++;
        this.events.push({ type: 'v3-auth-failed', peer: from, detail: `SCCRQ ${pr.error.error.kind}` });
      } else {
        this.counters.badSccrq++;
        this.events.push({ type: 'v3-bad-datagram', peer: from, detail: pr.error.error.kind });
      }
      return;
    }
    const msg = pr.value;
    if (msg.type !== V3MessageType.SCCRQ || msg.avps.assignedConnectionId === undefined) {
      this.counters.badSccrq++;
      this.events.push({ type: 'v3-bad-datagram', peer: from, detail: 'control message to connection 0 that is not an SCCRQ' });
      return;
    }
    const key = `${peerKey(from)}|${msg.avps.assignedConnectionId}`;
    const dup = this.sccrqIndex.get(key);
    if (dup !== undefined) {
      dup.acceptSccrq(now, msg, from);
      this.touchConnection(dup);
      return;
    }
    if (!this.config.acceptConnections) {
      this.counters.rejected++;
      this.events.push({ type: 'v3-rejected', peer: from, detail: 'not accepting connections' });
      return;
    }
    const entry = this.create(now, from, a, false);
    entry.c.sccrqKey = key;
    this.sccrqIndex.set(key, entry.c);
    this.events.push({ type: 'v3-connecting', connection: entry.c.localId, peer: from, originator: false });
    entry.c.acceptSccrq(now, msg, from);
    this.touch(entry);
  }

  private with<T>(id: ControlConnectionId, op: (c: V3Connection) => T): T | undefined {
    const entry = this.byId.get(id);
    if (entry === undefined) return undefined;
    const r = op(entry.c);
    this.touch(entry);
    return r;
  }

  private create(now: Instant, peer: PeerAddress, settings: V3ConnectionSettings, originator: boolean): Entry {
    const entry: Entry = { c: new V3Connection(this, this.allocConnectionId(), now, peer, settings, originator), scheduledAt: undefined };
    this.byId.set(entry.c.localId, entry);
    return entry;
  }

  private allocConnectionId(): ControlConnectionId {
    for (;;) {
      const id = this.random.u32() >>> 0;
      if (id !== 0 && !this.byId.has(id)) return controlConnectionId(id);
    }
  }

  private touchConnection(c: V3Connection): void {
    const entry = this.byId.get(c.localId);
    if (entry !== undefined && entry.c === c) this.touch(entry);
  }

  private touch(entry: Entry): void {
    if (entry.c.released) return;
    const at = entry.c.pollAt();
    if (at === entry.scheduledAt) return;
    entry.scheduledAt = at;
    if (at !== undefined) this.heap.push(at, entry.c.localId);
    if (this.heap.size > 4 * this.byId.size + 1024) {
      this.heap.clear();
      for (const e of this.byId.values()) if (e.scheduledAt !== undefined) this.heap.push(e.scheduledAt, e.c.localId);
    }
  }
}
