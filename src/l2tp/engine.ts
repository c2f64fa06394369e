/**
 * The L2TPv2 engine (RFC 2661): every control connection behind one UDP listener, sans-I/O. It only
 * demultiplexes and keeps time: a datagram's header is checked once (`L2tpHeaderView`), then
 *
 * - a data message goes to its tunnel and session (`Tunnel.receiveData`, the fast path: no event);
 * - a control message goes to its tunnel (`Tunnel.receiveControl`), or, addressed to tunnel 0, is an
 *   SCCRQ: a retransmission, a crossing SCCRQ (§4.4.3 tie breaker), or a new tunnel — admitted only
 *   within the half-open budget (per peer address and global) and the SCCRQ token bucket
 *   (`AdmissionLimits`); a refused SCCRQ (unknown M=1 AVP, Assigned Tunnel ID 0) gets a StopCCN;
 * - one heap entry per tunnel holds its next deadline (`pollAt` / `handleTimeout`);
 * - transmits and events of all tunnels leave through two FIFOs (`pollTransmit` / `pollEvent`).
 *
 * Tunnels implement `ControlConnection` (connection.ts); an L2TPv3 control connection is meant to be
 * a sibling demultiplexed here by the header's Ver field (3, RFC 3931 §3.2) — today Ver≠2 is refused.
 */
import { DeadlineHeap, Fifo, type Instant, type RandomSource, TokenBucket } from '../base/index.js';
import { type ControlMessage, type ControlParseFailure, L2tpHeaderView, MessageType, parseControl, type ResultCode, type SessionId, type TunnelId, tunnelId as asTunnelId, type WireError } from '../wire/l2tp/index.js';
import {
  DEFAULT_ADMISSION,
  type AdmissionLimit,
  type AdmissionLimits,
  type CdnCauses,
  type EngineConfig,
  type L2tpEngineApi,
  type L2tpEvent,
  type PeerAddress,
  type SessionDataSink,
  type SessionRequest,
  type Transmit,
  type StateCounts,
  type TunnelInfo,
  type TunnelSettings,
} from './api.js';
import type { ControlConnection } from './connection.js';
import { compareBytes } from './handshake.js';
import type { Session } from './session.js';
import { Tunnel, type TunnelHost } from './tunnel.js';
import type { TunnelFsmEvent } from './tunnel-fsm.js';
import { describeWireError } from './wire-errors.js';

/** Tie Breaker length (§4.4.3). */
const TIE_BREAKER_LENGTH = 8;

/** Peer identity: address, port and the channel (`via`, e.g. an IPsec flow) it used. */
const peerKey = (p: PeerAddress): string => `${p.address}|${p.port}|${p.via ?? ''}`;

/** Half-open budget key: the peer address and channel, any port (a flood from many ports is one peer). */
const halfOpenKey = (p: PeerAddress): string => `${p.address}|${p.via ?? ''}`;

/** A tunnel and the deadline it has in the heap. */
interface Entry {
  readonly tunnel: Tunnel;
  scheduledAt: Instant | undefined;
}

/** The L2TPv2 engine: implements the shell-facing contract of api.ts. */
export class L2tpEngine implements L2tpEngineApi, TunnelHost {
  readonly random: RandomSource;
  private readonly byId = new Map<number, Entry>();
  /** SCCRQ duplicates: `address|port|via|their tunnel id` → tunnel. */
  private readonly sccrqIndex = new Map<string, Tunnel>();
  /** Originator tunnels in wait-ctl-reply by peer address, for the §4.4.3 tie breaker. */
  private readonly opening = new Map<string, Set<Tunnel>>();
  private readonly heap = new DeadlineHeap();
  private readonly transmits = new Fifo<Transmit>();
  private readonly events = new Fifo<L2tpEvent>();
  /** The one header view, re-pointed at every datagram (no allocation on the data path). */
  private readonly view = new L2tpHeaderView();
  private callSerial: number;
  private readonly admission: AdmissionLimits;
  /** New-tunnel token bucket, created at the first SCCRQ (it needs the clock). */
  private sccrqBucket: TokenBucket | undefined;
  /** Half-open responder tunnels by peer address key, and their total. */
  private readonly halfOpen = new Map<string, number>();
  private halfOpenTotal = 0;

  /** Create an engine for one listener. */
  constructor(
    readonly config: EngineConfig,
    deps: { readonly random: RandomSource },
  ) {
    this.random = deps.random;
    this.admission = config.admission ?? DEFAULT_ADMISSION;
    this.callSerial = deps.random.u32() & 0xffff;
  }

  // ---------------------------------------------------------------- shell surface

  /** Feed one received datagram. Never throws on bad input. */
  handleDatagram(now: Instant, data: Uint8Array, from: PeerAddress): void {
    const v = this.view;
    const e = v.check(data);
    if (e !== undefined) {
      this.badDatagram(from, e);
      return;
    }
    const tunnel = v.tunnelId;
    if (!v.isControl) {
      // The data fast path: unknown tunnels are dropped silently, everything else is counted there.
      this.byId.get(tunnel)?.tunnel.receiveData(now, v, from);
      return;
    }
    if (tunnel === 0) {
      this.handleTunnelZero(now, data, from);
      return;
    }
    const entry = this.byId.get(tunnel);
    if (entry === undefined) {
      this.events.push({ type: 'bad-datagram', peer: from, detail: `control message for unknown tunnel ${tunnel}` });
      return;
    }
    entry.tunnel.receiveControl(now, data, v, from);
    this.touch(entry);
  }

  /** Run due timers of every tunnel. */
  handleTimeout(now: Instant): void {
    for (;;) {
      const at = this.heap.peekAt();
      const key = this.heap.peekKey();
      if (at === undefined || key === undefined || at > now) return;
      this.heap.pop();
      const entry = this.byId.get(key);
      if (entry === undefined || entry.scheduledAt !== at) continue;
      entry.scheduledAt = undefined;
      entry.tunnel.handleTimeout(now);
      this.touch(entry);
    }
  }

  /** Earliest instant a timer is due (stale heap entries are discarded; no allocation). */
  pollAt(): Instant | undefined {
    for (;;) {
      const at = this.heap.peekAt();
      const key = this.heap.peekKey();
      if (at === undefined || key === undefined) return undefined;
      const entry = this.byId.get(key);
      if (entry !== undefined && entry.scheduledAt === at) return at as Instant;
      this.heap.pop();
    }
  }

  /** Next datagram to send. */
  pollTransmit(): Transmit | undefined {
    return this.transmits.shift();
  }

  /** Next event. */
  pollEvent(): L2tpEvent | undefined {
    return this.events.shift();
  }

  /** Open a tunnel to `peer` (we are the originator, §7.2.1 "Local Open request"). */
  openTunnel(now: Instant, peer: PeerAddress, settings: TunnelSettings): TunnelId {
    const entry = this.createTunnel(now, peer, settings, true);
    const t = entry.tunnel;
    t.tieBreaker = this.random.bytes(TIE_BREAKER_LENGTH);
    this.events.push({ type: 'tunnel-connecting', tunnel: t.localId, peer, originator: true });
    t.step(now, 'local-open', { by: 'local', cause: 'open' });
    this.touch(entry);
    return t.localId;
  }

  /** Place a call; it waits in wait-tunnel until the tunnel is established (§7.4.1, §7.5.2). */
  openSession(now: Instant, tunnel: TunnelId, request: SessionRequest): SessionId | undefined {
    return this.with(tunnel, (t) => t.openSession(now, request));
  }

  /** Send CDN for a session (§7.4 "Local close request"). */
  closeSession(now: Instant, tunnel: TunnelId, session: SessionId, result: ResultCode, causes?: CdnCauses): void {
    this.with(tunnel, (t) => t.closeSession(now, session, result, causes));
  }

  /** Send StopCCN and clear all sessions (§7.2.1 "Administrative Tunnel Close"). */
  closeTunnel(now: Instant, tunnel: TunnelId, result: ResultCode): void {
    this.with(tunnel, (t) => t.close(now, result));
  }

  /** Encapsulate a PPP frame in a data message (§3.1) for an established session. */
  sendData(now: Instant, tunnel: TunnelId, session: SessionId, pppFrame: Uint8Array, headroomFree = false): Transmit | undefined {
    void now;
    return this.byId.get(tunnel)?.tunnel.sendData(session, pppFrame, headroomFree);
  }

  /** Bind a session's data sink (the data fast path; see api.ts). */
  bindSession(now: Instant, tunnel: TunnelId, session: SessionId, sink: SessionDataSink | undefined): boolean {
    return this.byId.get(tunnel)?.tunnel.bindSession(now, session, sink) ?? false;
  }

  /** Snapshot of every tunnel. */
  tunnels(now: Instant): readonly TunnelInfo[] {
    void now;
    const out: TunnelInfo[] = [];
    for (const e of this.byId.values()) out.push(e.tunnel.info());
    return out;
  }

  /** As L2tpControlApi.tunnelIds. */
  tunnelIds(): TunnelId[] {
    return [...this.byId.keys()] as TunnelId[];
  }

  /** As L2tpControlApi.tunnelInfo. */
  tunnelInfo(tunnel: TunnelId): TunnelInfo | undefined {
    return this.byId.get(tunnel)?.tunnel.info();
  }

  /** As L2tpControlApi.countStates. */
  countStates(into: StateCounts): void {
    for (const e of this.byId.values()) {
      const t = e.tunnel;
      into.tunnels.set(t.state, (into.tunnels.get(t.state) ?? 0) + 1);
      for (const s of t.calls.values()) into.sessions.set(s.state, (into.sessions.get(s.state) ?? 0) + 1);
    }
  }

  /** Number of tunnel objects alive (including lingering ones). */
  get tunnelCount(): number {
    return this.byId.size;
  }

  /** Number of half-open responder tunnels (SCCRQ answered, no SCCCN yet). */
  get halfOpenCount(): number {
    return this.halfOpenTotal;
  }

  // ---------------------------------------------------------------- TunnelHost

  /** Queue a datagram. */
  transmit(t: Transmit): void {
    this.transmits.push(t);
  }

  /** Queue an event. */
  event(e: L2tpEvent): void {
    this.events.push(e);
  }

  /** §4.4.5 Call Serial Number: one counter for the engine, starting at a random value. */
  nextCallSerial(): number {
    this.callSerial = (this.callSerial + 1) >>> 0;
    return this.callSerial;
  }

  /** A tunnel closed for good: out of the id map and the SCCRQ index. */
  released(c: ControlConnection<unknown>): void {
    const entry = this.byId.get(c.localId);
    if (entry === undefined || entry.tunnel !== c) return;
    this.byId.delete(c.localId);
    const key = entry.tunnel.sccrqKey;
    if (key !== undefined && this.sccrqIndex.get(key) === entry.tunnel) this.sccrqIndex.delete(key);
  }

  /** Keep the opening index in step with wait-ctl-reply originators. */
  trackOpening(t: Tunnel, opening: boolean): void {
    if (opening) {
      const key = (t.openingKey ??= `${t.peer.address}|${t.peer.via ?? ''}`);
      let set = this.opening.get(key);
      if (set === undefined) this.opening.set(key, (set = new Set()));
      set.add(t);
      return;
    }
    const key = t.openingKey;
    if (key === undefined) return;
    t.openingKey = undefined;
    const set = this.opening.get(key);
    if (set === undefined) return;
    set.delete(t);
    if (set.size === 0) this.opening.delete(key);
  }

  /** Create a responder tunnel for an SCCRQ and run it through the FSM (§7.2.1 idle rows). */
  acceptSccrq(now: Instant, msg: ControlMessage, from: PeerAddress, migrate: readonly Session[]): void {
    const entry = this.createTunnel(now, from, this.config.accept, false);
    const t = entry.tunnel;
    this.countHalfOpen(t);
    t.sccrqKey = `${peerKey(from)}|${msg.avps.assignedTunnelId ?? 0}`;
    this.sccrqIndex.set(t.sccrqKey, t);
    this.events.push({ type: 'tunnel-connecting', tunnel: t.localId, peer: from, originator: false });
    t.calls.adopt(migrate);
    t.deliver(now, { kind: 'ok', msg }, from);
    this.touch(entry);
  }

  // ---------------------------------------------------------------- demultiplexing

  private badDatagram(from: PeerAddress, e: WireError): void {
    this.events.push({ type: 'bad-datagram', peer: from, detail: describeWireError(e) });
  }

  /** SCCRQ (tunnel id 0): new tunnel, retransmission of a known SCCRQ, or a crossing SCCRQ (§4.4.3). */
  private handleTunnelZero(now: Instant, data: Uint8Array, from: PeerAddress): void {
    const secret = this.config.accept.secret;
    const pr = parseControl(data, secret === undefined ? {} : { secret });
    if (!pr.ok) {
      this.refusedAtZero(now, pr.error, from);
      return;
    }
    const msg = pr.value;
    if (msg.type !== MessageType.SCCRQ || msg.avps.assignedTunnelId === undefined) {
      this.events.push({ type: 'bad-datagram', peer: from, detail: 'control message to tunnel 0 that is not an SCCRQ' });
      return;
    }
    const dup = this.sccrqIndex.get(`${peerKey(from)}|${msg.avps.assignedTunnelId}`);
    if (dup !== undefined) {
      // A retransmitted SCCRQ: the channel sees Ns 0 again and re-acks it (§5.8).
      dup.deliver(now, { kind: 'ok', msg }, from);
      this.touchTunnel(dup);
      return;
    }
    // §4.4.3 tie breaker: an SCCRQ from a peer we are opening a tunnel to ourselves.
    for (const t of this.opening.get(`${from.address}|${from.via ?? ''}`) ?? []) {
      const ours = t.tieBreaker;
      const theirs = msg.avps.tieBreaker;
      if (ours === undefined && theirs === undefined) break; // two separate tunnels
      let verdict: TunnelFsmEvent;
      if (theirs === undefined) verdict = 'rx-sccrq-win-tie';
      else if (ours === undefined) verdict = 'rx-sccrq-lose-tie';
      else {
        const c = compareBytes(ours, theirs);
        verdict = c < 0 ? 'rx-sccrq-win-tie' : c > 0 ? 'rx-sccrq-lose-tie' : 'rx-sccrq-tie-equal';
      }
      // Only the loser hands its waiting calls over to the winner's tunnel.
      const base = { by: 'peer', cause: 'tie-breaker', msg, from } as const;
      t.step(now, verdict, verdict === 'rx-sccrq-lose-tie' ? { ...base, migrate: [] } : base);
      this.touchTunnel(t);
      return;
    }
    if (!this.config.acceptTunnels) {
      this.events.push({ type: 'tunnel-rejected', peer: from, detail: 'not accepting tunnels' });
      return;
    }
    if (!this.admit(now, from)) return;
    this.acceptSccrq(now, msg, from, []);
  }

  /**
   * Admission of a new responder tunnel: the half-open budget (global and per peer address) and the
   * SCCRQ token bucket. Refused SCCRQs get no answer at all (no amplification; the peer retransmits).
   */
  private admit(now: Instant, from: PeerAddress): boolean {
    const a = this.admission;
    let r: { readonly limit: AdmissionLimit; readonly detail: string } | undefined;
    if (this.halfOpenTotal >= a.maxHalfOpen) r = { limit: 'half-open', detail: `half-open tunnels at the limit (${a.maxHalfOpen})` };
    else if ((this.halfOpen.get(halfOpenKey(from)) ?? 0) >= a.maxHalfOpenPerPeer) r = { limit: 'half-open-per-peer', detail: `half-open tunnels from ${from.address} at the limit (${a.maxHalfOpenPerPeer})` };
    else if (!(this.sccrqBucket ??= new TokenBucket(a.sccrqRate, now)).take(now)) r = { limit: 'sccrq-rate', detail: `SCCRQ rate above ${a.sccrqRate.perSecond}/s` };
    if (r === undefined) return true;
    this.events.push({ type: 'tunnel-rejected', peer: from, ...r });
    return false;
  }

  /** A responder tunnel is half-open from its creation until `halfOpenEnded`. */
  private countHalfOpen(t: Tunnel): void {
    const key = halfOpenKey(t.peer);
    t.halfOpenKey = key;
    this.halfOpen.set(key, (this.halfOpen.get(key) ?? 0) + 1);
    this.halfOpenTotal++;
  }

  /** A half-open tunnel was established or ended. */
  halfOpenEnded(t: Tunnel): void {
    const key = t.halfOpenKey;
    if (key === undefined) return;
    t.halfOpenKey = undefined;
    this.halfOpenTotal--;
    const n = (this.halfOpen.get(key) ?? 1) - 1;
    if (n <= 0) this.halfOpen.delete(key);
    else this.halfOpen.set(key, n);
  }

  /**
   * A refused message to tunnel 0. An SCCRQ with an unknown M=1 AVP (§4.2) or an Assigned Tunnel ID 0
   * (§4.4.3 "non-zero") is answered with StopCCN 2/8 or 2/3 by a responder tunnel that consumes its Ns
   * and lingers to ack retransmissions; the StopCCN goes to the peer's Assigned Tunnel ID when the
   * codec could read it (§3.1), else to 0. Anything else is dropped.
   */
  private refusedAtZero(now: Instant, f: ControlParseFailure, from: PeerAddress): void {
    const e = f.error;
    const answerable = e.kind === 'unknown-mandatory-avp' || e.kind === 'zero-assigned-id';
    if (!answerable || f.header === undefined || f.messageType !== MessageType.SCCRQ || !this.config.acceptTunnels) {
      this.badDatagram(from, e);
      return;
    }
    const assigned = f.partial?.assignedTunnelId ?? 0;
    const dup = this.sccrqIndex.get(`${peerKey(from)}|${assigned}`);
    const input = { kind: 'refused', header: f.header, messageType: f.messageType, error: e, partial: f.partial } as const;
    if (dup !== undefined) {
      dup.deliver(now, input, from);
      this.touchTunnel(dup);
      return;
    }
    if (!this.admit(now, from)) return;
    const entry = this.createTunnel(now, from, this.config.accept, false);
    const t = entry.tunnel;
    this.countHalfOpen(t);
    t.sccrqKey = `${peerKey(from)}|${assigned}`;
    this.sccrqIndex.set(t.sccrqKey, t);
    this.events.push({ type: 'tunnel-connecting', tunnel: t.localId, peer: from, originator: false });
    t.deliver(now, input, from);
    this.touch(entry);
  }

  /** Run `op` on a live tunnel, then re-arm its deadline. */
  private with<T>(tunnel: TunnelId, op: (t: Tunnel) => T): T | undefined {
    const entry = this.byId.get(tunnel);
    if (entry === undefined) return undefined;
    const r = op(entry.tunnel);
    this.touch(entry);
    return r;
  }

  private createTunnel(now: Instant, peer: PeerAddress, settings: TunnelSettings, originator: boolean): Entry {
    const entry: Entry = { tunnel: new Tunnel(this, this.allocTunnelId(), now, peer, settings, originator), scheduledAt: undefined };
    this.byId.set(entry.tunnel.localId, entry);
    return entry;
  }

  private allocTunnelId(): TunnelId {
    for (;;) {
      const id = this.random.u32() & 0xffff;
      if (id !== 0 && !this.byId.has(id)) return asTunnelId(id);
    }
  }

  // ---------------------------------------------------------------- timer heap

  private touchTunnel(t: Tunnel): void {
    const entry = this.byId.get(t.localId);
    if (entry !== undefined && entry.tunnel === t) this.touch(entry);
  }

  /** Recompute a tunnel's next deadline and push it into the heap when it changed. */
  private touch(entry: Entry): void {
    if (entry.tunnel.released) return;
    const at = entry.tunnel.pollAt();
    if (at === entry.scheduledAt) return;
    entry.scheduledAt = at;
    if (at !== undefined) this.heap.push(at, entry.tunnel.localId);
    // Compact when stale entries dominate.
    if (this.heap.size > 4 * this.byId.size + 1024) this.rebuildHeap();
  }

  private rebuildHeap(): void {
    this.heap.clear();
    for (const e of this.byId.values()) if (e.scheduledAt !== undefined) this.heap.push(e.scheduledAt, e.tunnel.localId);
  }
}
