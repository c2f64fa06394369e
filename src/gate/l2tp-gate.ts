/**
 * L2TP/IPsec without I/O (RFC 3193): a composition of an IKE core (responder or initiator), the ESP
 * SAs it negotiates and an L2TP engine — above both src/ipsec and src/l2tp. It is driven like every
 * core: `handleUdp` / `handleRawEsp` / `handleDatagram` (now, input), `handleTimeout(now)`, `pollAt()`,
 * `pollTransmit()` (outer packets: IKE, keepalives, ESP, and clear L2TP for the 1701 socket) and
 * `pollEvent()` (gate events and the engine's L2TP events). It offers the engine's control surface
 * (`L2tpControlApi`) in front of it, so the layers above open tunnels and bind data sinks through it:
 *
 * - ESP in (UDP 4500 or IP protocol 50) -> SA by SPI -> decrypt -> inner UDP to port 1701 -> the
 *   engine, with `from.via` naming the IPsec *flow* (one per client: outer address, plus the NAT-T
 *   port when UDP-encapsulated). Two clients behind one NAT address with the same inner port stay
 *   two peers; a flow keeps its name across child-SA rekeys and NAT rebinding.
 * - Engine transmits to a peer with `via` are encrypted with the flow's newest outbound SA (UDP
 *   header 1701 -> client's port, checksum 0, RFC 3948 §3.1.2 / RFC 768) and come out of
 *   `pollTransmit`; data frames of the layers above are sealed at once by `sealTransmit` (one copy,
 *   no queue). They are never sent in the clear.
 * - Decrypted data messages reach the engine's session sinks inside `handleUdp` / `handleRawEsp`:
 *   the data fast path (no event).
 * - Policy `requireIpsec`: L2TP arriving in the clear is refused, counted and reported.
 * - Linked state: the last child SA of a flow gone (delete, expiry, DPD) -> its L2TP tunnels are
 *   closed; the last L2TP tunnel of a flow closed -> its child SAs are deleted after `closeGrace`.
 *
 * Time comes in as `now`. The only calls that drain the IKE core are in `drainIke`.
 */
import { addDuration, type Duration, earliest, Fifo, type Instant, millis, type RandomSource, seconds, since, type Timed } from '../base/index.js';
import type {
  CdnCauses, L2tpControlApi, L2tpEngineApi, L2tpEvent, PeerAddress, SessionDataSink, SessionRequest, StateCounts, TunnelInfo, TunnelSettings, Transmit,
} from '../l2tp/index.js';
import type { ResultCode, SessionId, TunnelId } from '../wire/l2tp/index.js';
import { classifyUdp4500 } from '../wire/esp/index.js';
import {
  EspSa, NEXT_HEADER_NONE, NEXT_HEADER_UDP,
  type Endpoint, type EspEncapsulation, type IkeDatagram, type IkeEvent,
} from '../ipsec/index.js';
import type { EspOffload, EspOffloadFlow, EspSaLike } from './esp-offload.js';
import type { IkeSaInfo, IpsecFlowInfo } from './gate-info.js';
import { OffloadLiveness, type ActivitySink } from './offload-liveness.js';

/** What the gate needs from an IKE core; `IkeResponder` and `IkeInitiator` both fit. */
export interface IkeCore extends Timed, ActivitySink {
  handle(now: Instant, d: IkeDatagram): void;
  pollTransmit(): IkeDatagram | undefined;
  pollEvent(): IkeEvent | undefined;
  deleteChildSa(now: Instant, inboundSpi: number): void;
  /** RFC 2407 §4.5: a child SA (by our inbound SPI) crossed its soft or hard byte lifetime. */
  byteLifetimeReached?(now: Instant, inboundSpi: number, level: 'soft' | 'hard'): void;
  /**
   * Whether `spi` is an inbound SPI this core handed out in a Quick Mode not yet finished (the
   * responder after QM2, before QM3). ESP on it is held briefly instead of dropped.
   */
  expectsInboundSpi?(spi: number): boolean;
}

/**
 * Drain an IKE core: its datagrams to `out` (UDP 500/4500), then one event at a time to `onEvent`
 * (an event handler may make the core send more, so the loop runs until both are empty).
 */
export function drainIkeCore(ike: IkeCore, out: { push(p: OuterPacket): unknown }, onEvent: (e: IkeEvent) => void): void {
  for (;;) {
    for (let d = ike.pollTransmit(); d; d = ike.pollTransmit()) out.push({ kind: 'udp', local: d.local, remote: d.remote, data: d.data });
    const e = ike.pollEvent();
    if (e === undefined) return;
    onEvent(e);
  }
}

/** ESP held for an SPI whose Quick Mode is still finishing (at most this many, this long). */
const EARLY_ESP_MAX = 16;
const EARLY_ESP_MS = 2000;

/** A packet for the I/O shell: a UDP payload (IKE, keepalive, ESP-in-UDP) or a raw ESP packet. */
export type OuterPacket =
  | { readonly kind: 'udp'; readonly local: Endpoint; readonly remote: Endpoint; readonly data: OuterData }
  | { readonly kind: 'esp'; readonly local: string; readonly remote: string; readonly data: OuterData };

/**
 * The bytes of an outer packet: one buffer (IKE, keepalives) or the segments of an ESP packet
 * (header | IV, ciphertext, ICV), which the sockets send gathered (dgram array / sendmsg iovec).
 */
export type OuterData = Uint8Array | readonly Uint8Array[];

/** What the gate sends: an outer packet, or clear L2TP for the 1701 socket (a peer without `via`). */
export type GateTransmit = OuterPacket | { readonly kind: 'l2tp'; readonly transmit: Transmit };

/** One contiguous copy of an outer packet's bytes (tests, captures); the data path never joins. */
export function outerBytes(d: OuterData): Uint8Array {
  return d instanceof Uint8Array ? d : Buffer.concat(d);
}

/** Gate events for logs and the daemon (IKE events are passed through unchanged). */
export type IpsecGateEvent =
  | { readonly type: 'ike'; readonly event: IkeEvent }
  | { readonly type: 'flow-up'; readonly via: string; readonly remote: Endpoint; readonly encapsulation: EspEncapsulation; readonly ikeSaId: number }
  | { readonly type: 'flow-down'; readonly via: string; readonly remote: Endpoint; readonly tunnelsClosed: readonly number[] }
  | { readonly type: 'sa-switched'; readonly via: string; readonly inboundSpi: number; readonly outboundSpi: number }
  | { readonly type: 'sa-byte-lifetime'; readonly via: string; readonly inboundSpi: number; readonly level: 'soft' | 'hard'; readonly direction: 'in' | 'out' }
  | { readonly type: 'clear-l2tp-refused'; readonly peer: PeerAddress }
  | { readonly type: 'l2tp-closed-deleting-sa'; readonly via: string; readonly inboundSpis: readonly number[] };

/** What `pollEvent` returns: a gate event, or an event of the L2TP engine behind the gate. */
export type GateEvent = IpsecGateEvent | { readonly type: 'l2tp'; readonly event: L2tpEvent };

/** Gate-wide counters. */
export interface IpsecGateCounters {
  clearRefused: number;
  espUnknownSpi: number;
  espDropped: number;
  innerNotL2tp: number;
  txNoFlow: number;
  txEncryptFailed: number;
}

export type { EspSaInfo, IpsecFlowInfo, IkeSaInfo } from './gate-info.js';

/** Options of the gate. */
export interface IpsecGateOptions {
  readonly engine: L2tpEngineApi;
  readonly ike: IkeCore;
  readonly random: RandomSource;
  /** Refuse L2TP that arrives outside IPsec (default true). */
  readonly requireIpsec?: boolean;
  /** Our local NAT-T port: UDP datagrams received on it are classified per RFC 3948 (default 4500). */
  readonly nattPort?: number;
  /** Our L2TP port inside ESP (default 1701). */
  readonly l2tpPort?: number;
  /** Delay between the last L2TP tunnel of a flow closing and deleting its child SAs (default 5 s). */
  readonly closeGrace?: Duration;
  /** Prefix of flow names (`via`), default `ipsec:`. */
  readonly viaPrefix?: string;
}

interface Pair {
  readonly inbound: EspSaLike;
  readonly outbound: EspSaLike;
  /** The IKE SA that owns the pair (changes when a re-authentication adopts it). */
  ikeSaId: number;
  readonly createdAt: Instant;
  readonly lifetimeSeconds: number;
  readonly keyBits: number;
}

interface Flow {
  readonly via: string;
  readonly key: string;
  local: Endpoint;
  remote: Endpoint;
  readonly encapsulation: EspEncapsulation;
  innerPort: number;
  /** Oldest first; the newest carries outbound traffic. */
  pairs: Pair[];
  readonly tunnels: Set<number>;
  deleteAt: Instant | undefined;
  /** An L2TP tunnel ever ran in this flow (grace deletion only applies then). */
  hadTunnel: boolean;
}

const UDP_HEADER_LENGTH = 8;
const IPSEC_GONE: ResultCode = { result: 2, error: 0, message: 'IPsec SA gone' };

/** The L2TP/IPsec gate: an IKE core, its ESP SAs and an L2TP engine, driven as one core. */
export class IpsecL2tpGate implements L2tpControlApi, Timed {
  /** Gate-wide counters. */
  readonly counters: IpsecGateCounters = { clearRefused: 0, espUnknownSpi: 0, espDropped: 0, innerNotL2tp: 0, txNoFlow: 0, txEncryptFailed: 0 };
  private readonly engine: L2tpEngineApi;
  private readonly ike: IkeCore;
  private readonly requireIpsec: boolean;
  private readonly nattPort: number;
  private readonly l2tpPort: number;
  private readonly closeGrace: Duration;
  private readonly prefix: string;
  private readonly flows = new Map<string, Flow>();
  private readonly flowByKey = new Map<string, Flow>();
  private readonly bySpi = new Map<number, { flow: Flow; pair: Pair }>();
  private readonly tunnelVia = new Map<number, string>();
  private readonly ikeSas = new Map<number, Omit<IkeSaInfo, 'ageSeconds'> & { upAt: Instant }>();
  /** Outer packets waiting for `pollTransmit` (IKE, keepalives, queued ESP). */
  private readonly out = new Fifo<GateTransmit>();
  /** Gate events (and our own L2TP events) waiting for `pollEvent`. */
  private readonly events = new Fifo<GateEvent>();
  private readonly refusedSeen = new Set<string>();
  /** ESP that arrived for an SPI whose Quick Mode was still finishing (see `handleEsp`). */
  private early: { readonly spi: number; readonly packet: Uint8Array; readonly from: Endpoint; readonly encapsulation: EspEncapsulation; readonly at: Instant }[] = [];
  private nextFlow = 1;
  private lastNow: Instant;
  /** The flow and pair of the packet `seal` returned last. */
  private sealedFlow: Flow | undefined;
  private sealedPair: Pair | undefined;
  /** Scratch UDP header for outbound L2TP (bytes 6-7, the checksum, stay 0). */
  private readonly udpHeader = new Uint8Array(UDP_HEADER_LENGTH);
  /** The data plane that may hold SA pairs (src/gate/esp-offload.ts); undefined = every SA in JS. */
  private espOffload: EspOffload | undefined;
  /** Offloaded inbound SAs whose data-plane counters stand in for ESP the gate never sees (DPD). */
  private readonly liveness = new OffloadLiveness();

  /** Wrap `engine` and `ike`; nothing happens until input arrives. */
  constructor(private readonly options: IpsecGateOptions) {
    this.engine = options.engine;
    this.ike = options.ike;
    this.requireIpsec = options.requireIpsec ?? true;
    this.nattPort = options.nattPort ?? 4500;
    this.l2tpPort = options.l2tpPort ?? 1701;
    this.closeGrace = options.closeGrace ?? seconds(5);
    this.prefix = options.viaPrefix ?? 'ipsec:';
    this.lastNow = 0 as Instant;
  }

  /** Offer the SA pairs of child SAs that come up from now on to `o` (undefined: keep new ones in JS). */
  setEspOffload(o: EspOffload | undefined): void {
    this.espOffload = o;
  }

  /** Tell the data plane what the flow looks like now. */
  private offloadFlow(f: Flow): void {
    this.espOffload?.updateFlow(this.offloadView(f));
  }

  private offloadView(f: Flow): EspOffloadFlow {
    const via = f.via, remote = f.remote, encapsulation = f.encapsulation, innerPort = f.innerPort;
    return { via, remote, encapsulation, innerPort, l2tpPort: this.l2tpPort, outboundSpi: f.pairs[f.pairs.length - 1]?.outbound.spi };
  }

  /** The wrapped IKE core (to call connect/close on an initiator). */
  get ikeCore(): IkeCore {
    return this.ike;
  }

  private emit(e: GateEvent): void {
    this.events.push(e);
  }

  /** Flush what the IKE core queued after driving it directly (e.g. `IkeInitiator.connect`/`close`). */
  flushIke(now: Instant): void {
    this.lastNow = now;
    this.drainIke(now);
  }

  // ---------------------------------------------------------------- outer input

  /** A UDP datagram on our IKE port (500) or NAT-T port (4500): IKE, keepalive or ESP-in-UDP. */
  handleUdp(now: Instant, d: IkeDatagram): void {
    this.lastNow = now;
    if (d.local.port === this.nattPort) {
      const c = classifyUdp4500(d.data);
      if (c.kind === 'keepalive' || c.kind === 'invalid') return;
      if (c.kind === 'esp') {
        this.handleEsp(now, c.packet, d.remote, 'udp-transport');
        return;
      }
    }
    this.ike.handle(now, d);
    this.drainIke(now);
  }

  /** A raw ESP packet (IP protocol 50, the payload after the IPv4 header) from `remoteAddress`. */
  handleRawEsp(now: Instant, remoteAddress: string, data: Uint8Array): void {
    this.lastNow = now;
    this.handleEsp(now, data, { address: remoteAddress, port: 0 }, 'transport');
  }

  private handleEsp(now: Instant, packet: Uint8Array, from: Endpoint, encapsulation: EspEncapsulation): void {
    const spi = packet.length >= 4 ? ((((packet[0] ?? 0) << 24) | ((packet[1] ?? 0) << 16) | ((packet[2] ?? 0) << 8) | (packet[3] ?? 0)) >>> 0) : 0;
    const hit = this.bySpi.get(spi);
    if (!hit && this.ike.expectsInboundSpi?.(spi) === true) {
      // IKEv1 race: the initiator installs the new SA and sends on it with QM3, which may arrive
      // after its first ESP packet. Hold such packets (bounded, copied: raw batches are reused)
      // until the child SA is up, instead of dropping them.
      this.holdEarly(now, spi, packet, from, encapsulation);
      return;
    }
    if (!hit || hit.flow.encapsulation !== encapsulation || (encapsulation === 'transport' && hit.flow.remote.address !== from.address)) {
      this.counters.espUnknownSpi++;
      return;
    }
    const { flow, pair } = hit;
    const r = pair.inbound.decrypt(packet);
    if (!r.ok || r.value.nextHeader === NEXT_HEADER_NONE) {
      this.counters.espDropped++;
      if (r.ok) this.checkByteLifetime(now, flow, pair, 'in');
      return;
    }
    this.checkByteLifetime(now, flow, pair, 'in');
    if (encapsulation === 'udp-transport' && (flow.remote.address !== from.address || flow.remote.port !== from.port)) {
      // RFC 3948 §3 / RFC 3947 §4: an authenticated packet from a new NAT mapping moves the flow.
      this.flowByKey.delete(flow.key);
      flow.remote = from;
      this.flowByKey.set(this.keyOf(from, encapsulation), flow);
      this.offloadFlow(flow);
    }
    this.ike.noteActivity(now, spi);
    const p = r.value.payload;
    // RFC 3193 §4: only UDP to our L2TP port is carried; the inner checksum is not checked (RFC 3948 §3.1.2).
    if (r.value.nextHeader !== NEXT_HEADER_UDP || p.length < UDP_HEADER_LENGTH) {
      this.counters.innerNotL2tp++;
      return;
    }
    const srcPort = ((p[0] ?? 0) << 8) | (p[1] ?? 0);
    const dstPort = ((p[2] ?? 0) << 8) | (p[3] ?? 0);
    const udpLen = ((p[4] ?? 0) << 8) | (p[5] ?? 0);
    if (dstPort !== this.l2tpPort || udpLen < UDP_HEADER_LENGTH || udpLen > p.length) {
      this.counters.innerNotL2tp++;
      return;
    }
    if (flow.innerPort !== srcPort) {
      flow.innerPort = srcPort;
      this.offloadFlow(flow);
    }
    this.engine.handleDatagram(now, p.subarray(UDP_HEADER_LENGTH, udpLen), this.peerOf(flow, srcPort));
  }

  private holdEarly(now: Instant, spi: number, packet: Uint8Array, from: Endpoint, encapsulation: EspEncapsulation): void {
    this.pruneEarly(now);
    if (this.early.length >= EARLY_ESP_MAX) {
      this.early.shift();
      this.counters.espUnknownSpi++;
    }
    this.early.push({ spi, packet: Uint8Array.from(packet), from, encapsulation, at: now });
  }

  /** Drop held packets older than {@link EARLY_ESP_MS} (counted as unknown SPI). */
  private pruneEarly(now: Instant): void {
    while (this.early.length > 0 && (this.early[0]?.at ?? now) + EARLY_ESP_MS < now) {
      this.early.shift();
      this.counters.espUnknownSpi++;
    }
  }

  /** The child SA for `spi` is up: feed it the packets held for it, in arrival order. */
  private releaseEarly(now: Instant, spi: number): void {
    this.pruneEarly(now);
    const mine = this.early.filter((e) => e.spi === spi);
    if (mine.length === 0) return;
    this.early = this.early.filter((e) => e.spi !== spi);
    for (const e of mine) this.handleEsp(now, e.packet, e.from, e.encapsulation);
  }

  private peerOf(flow: Flow, port: number): PeerAddress {
    return { address: flow.remote.address, port, family: flow.remote.address.includes(':') ? 6 : 4, via: flow.via };
  }

  /** The L2TP peer address of a flow (e.g. for a LAC to open its tunnel through the flow). */
  peerFor(via: string, port = this.l2tpPort): PeerAddress | undefined {
    const f = this.flows.get(via);
    return f ? this.peerOf(f, port) : undefined;
  }

  // ---------------------------------------------------------------- outbound L2TP

  /**
   * Encrypt a transmit for a peer inside IPsec and queue it for `pollTransmit`. True when `t.to.via`
   * names one of our flows (queued, or dropped and counted); false for a clear peer (`via` undefined).
   */
  sendVia(t: Transmit): boolean {
    if (t.to.via === undefined) return false;
    const p = this.seal(t);
    if (p !== undefined) {
      this.out.push(p);
      this.sealedLifetime();
    }
    return true;
  }

  /**
   * The outbound data fast path: the ESP packet for a transmit to a `via` peer, encrypted with the
   * flow's newest SA, for the shell to send at once; undefined when there is no such flow or the SA
   * refused (counted). IKE messages it causes (byte lifetime) are queued behind it.
   */
  sealTransmit(t: Transmit): OuterPacket | undefined {
    const p = this.seal(t);
    if (p !== undefined) this.sealedLifetime();
    return p;
  }

  /** Encrypt `t` for its flow; remembers the flow and pair for `sealedLifetime` (no allocation). */
  private seal(t: Transmit): OuterPacket | undefined {
    const via = t.to.via;
    const flow = via === undefined ? undefined : this.flows.get(via);
    const pair = flow?.pairs[flow.pairs.length - 1];
    if (!flow || !pair) {
      this.counters.txNoFlow++;
      return undefined;
    }
    const len = UDP_HEADER_LENGTH + t.data.length;
    // RFC 768 header; checksum 0 = none (allowed over IPv4; RFC 3948 §3.1.2 transport-mode NAT).
    // Written into a scratch header: the SA stages it with the datagram for the cipher (one copy).
    const udp = this.udpHeader;
    udp[0] = this.l2tpPort >> 8;
    udp[1] = this.l2tpPort & 0xff;
    udp[2] = t.to.port >> 8;
    udp[3] = t.to.port & 0xff;
    udp[4] = len >> 8;
    udp[5] = len & 0xff;
    const e = pair.outbound.encryptv(t.data, NEXT_HEADER_UDP, udp);
    if (!e.ok) {
      this.counters.txEncryptFailed++;
      return undefined;
    }
    this.sealedFlow = flow;
    this.sealedPair = pair;
    return flow.encapsulation === 'udp-transport'
      ? { kind: 'udp', local: flow.local, remote: flow.remote, data: e.value }
      : { kind: 'esp', local: flow.local.address, remote: flow.remote.address, data: e.value };
  }

  /** The byte-lifetime check of the pair that sealed the last packet (after that packet is on its way). */
  private sealedLifetime(): void {
    const flow = this.sealedFlow;
    const pair = this.sealedPair;
    this.sealedFlow = undefined;
    this.sealedPair = undefined;
    if (flow !== undefined && pair !== undefined) this.checkByteLifetime(this.lastNow, flow, pair, 'out');
  }

  /** RFC 2407 §4.5 byte lifetime: tell the IKE core when an SA of the pair crossed soft or hard. */
  private checkByteLifetime(now: Instant, flow: Flow, pair: Pair, direction: 'in' | 'out'): void {
    const level = (direction === 'in' ? pair.inbound : pair.outbound).takeLifetimeEvent();
    if (level === undefined) return;
    this.emit({ type: 'sa-byte-lifetime', via: flow.via, inboundSpi: pair.inbound.spi, level, direction });
    this.ike.byteLifetimeReached?.(now, pair.inbound.spi, level);
    this.drainIke(now);
  }

  // ---------------------------------------------------------------- drive

  /** Clear L2TP from the 1701 socket: refused under `requireIpsec`, else passed on. */
  handleDatagram(now: Instant, data: Uint8Array, from: PeerAddress): void {
    this.lastNow = now;
    if (from.via === undefined && this.requireIpsec) {
      this.counters.clearRefused++;
      const key = `${from.address}|${from.port}`;
      // Report each refused peer once (bounded), count every datagram.
      if (!this.refusedSeen.has(key) && this.refusedSeen.size < 4096) {
        this.refusedSeen.add(key);
        this.emit({ type: 'clear-l2tp-refused', peer: from });
        this.emit({ type: 'l2tp', event: { type: 'tunnel-rejected', peer: from, detail: 'L2TP outside IPsec refused (require_ipsec)' } });
      }
      return;
    }
    this.engine.handleDatagram(now, data, from);
  }

  /** Run the engine's, the IKE core's and the gate's timers. */
  handleTimeout(now: Instant): void {
    this.lastNow = now;
    this.pruneEarly(now);
    this.engine.handleTimeout(now);
    // Before IKE timers (DPD) run: offloaded SAs whose data-plane packet count grew are traffic from the peer.
    if ((this.ike.pollAt() ?? Infinity) <= now) this.liveness.report(now, this.ike);
    this.ike.handleTimeout(now);
    this.drainIke(now);
    for (const f of [...this.flows.values()]) {
      if (f.deleteAt === undefined || f.deleteAt > now) continue;
      f.deleteAt = undefined;
      const spis = f.pairs.map((p) => p.inbound.spi);
      this.emit({ type: 'l2tp-closed-deleting-sa', via: f.via, inboundSpis: spis });
      for (const s of spis) this.ike.deleteChildSa(now, s);
      this.drainIke(now);
    }
  }

  /** Earliest deadline of engine, IKE core and grace timers. */
  pollAt(): Instant | undefined {
    let t = earliest(this.engine.pollAt(), this.ike.pollAt());
    for (const f of this.flows.values()) t = earliest(t, f.deleteAt);
    const held = this.early[0];
    if (held !== undefined) t = earliest(t, addDuration(held.at, millis(EARLY_ESP_MS + 1)));
    return t;
  }

  /**
   * Next packet to send: queued outer packets first, then the engine's transmits — those to a peer in
   * a flow encrypted on the way (dropped and counted without one), clear ones for the 1701 socket.
   */
  pollTransmit(): GateTransmit | undefined {
    const queued = this.out.shift();
    if (queued !== undefined) return queued;
    for (;;) {
      const t = this.engine.pollTransmit();
      if (t === undefined) return this.out.shift();
      if (t.to.via === undefined) return { kind: 'l2tp', transmit: t };
      const p = this.sealTransmit(t);
      if (p !== undefined) return p;
    }
  }

  /** Next event: the gate's own first, then the engine's; the gate notes tunnel <-> flow links on the way. */
  pollEvent(): GateEvent | undefined {
    const own = this.events.shift();
    if (own !== undefined) return own;
    const e = this.engine.pollEvent();
    if (e === undefined) return undefined;
    this.noteL2tpEvent(e);
    return { type: 'l2tp', event: e };
  }

  // ---------------------------------------------------------------- L2tpControlApi

  /** As L2tpControlApi.openTunnel; a `peer.via` ties the tunnel to that flow. */
  openTunnel(now: Instant, peer: PeerAddress, settings: TunnelSettings): TunnelId {
    this.lastNow = now;
    return this.engine.openTunnel(now, peer, settings);
  }

  /** As L2tpControlApi.openSession. */
  openSession(now: Instant, tunnel: TunnelId, request: SessionRequest): SessionId | undefined {
    return this.engine.openSession(now, tunnel, request);
  }

  /** As L2tpControlApi.closeSession. */
  closeSession(now: Instant, tunnel: TunnelId, session: SessionId, result: ResultCode, causes?: CdnCauses): void {
    this.engine.closeSession(now, tunnel, session, result, causes);
  }

  /** As L2tpControlApi.closeTunnel. */
  closeTunnel(now: Instant, tunnel: TunnelId, result: ResultCode): void {
    this.engine.closeTunnel(now, tunnel, result);
  }

  /** As L2tpControlApi.sendData: a transmit with `to.via` must go through `sealTransmit` (UdpEndpoint routes it). */
  sendData(now: Instant, tunnel: TunnelId, session: SessionId, pppFrame: Uint8Array, headroomFree = false): Transmit | undefined {
    return this.engine.sendData(now, tunnel, session, pppFrame, headroomFree);
  }

  /** As L2tpControlApi.bindSession: decrypted data of the session reaches `sink` inside `handleUdp` / `handleRawEsp`. */
  bindSession(now: Instant, tunnel: TunnelId, session: SessionId, sink: SessionDataSink | undefined): boolean {
    return this.engine.bindSession(now, tunnel, session, sink);
  }

  /** As L2tpControlApi.tunnels. */
  tunnels(now: Instant): readonly TunnelInfo[] {
    return this.engine.tunnels(now);
  }

  /** As L2tpControlApi.countStates. */
  countStates(into: StateCounts): void {
    this.engine.countStates(into);
  }

  /** As L2tpControlApi.tunnelIds. */
  tunnelIds(): TunnelId[] {
    return this.engine.tunnelIds?.() ?? this.engine.tunnels(0 as Instant).map((t) => t.localTunnelId);
  }

  /** As L2tpControlApi.tunnelInfo. */
  tunnelInfo(tunnel: TunnelId): TunnelInfo | undefined {
    return this.engine.tunnelInfo?.(tunnel) ?? this.engine.tunnels(0 as Instant).find((t) => t.localTunnelId === tunnel);
  }

  // ---------------------------------------------------------------- show

  /** Flows with their ESP SAs and counters. */
  flowInfo(now: Instant): IpsecFlowInfo[] {
    return [...this.flows.values()].map((f) => ({
      via: f.via,
      local: f.local,
      remote: f.remote,
      encapsulation: f.encapsulation,
      innerPort: f.innerPort,
      tunnels: [...f.tunnels],
      sas: f.pairs.map((p) => ({
        inboundSpi: p.inbound.spi,
        outboundSpi: p.outbound.spi,
        ikeSaId: p.ikeSaId,
        encryption: p.inbound.encryption,
        keyBits: p.keyBits,
        integrity: p.inbound.integrity,
        encapsulation: f.encapsulation,
        lifetimeSeconds: p.lifetimeSeconds,
        ageSeconds: Math.floor(since(now, p.createdAt) / 1000),
        inbound: { ...p.inbound.counters },
        outbound: { ...p.outbound.counters },
      })),
    }));
  }

  /** IKE SAs that are up. */
  ikeSaInfo(now: Instant): IkeSaInfo[] {
    return [...this.ikeSas.values()].map(({ upAt, ...s }) => ({ ...s, ageSeconds: Math.floor(since(now, upAt) / 1000) }));
  }

  // ---------------------------------------------------------------- linked state

  private keyOf(remote: Endpoint, encapsulation: EspEncapsulation): string {
    return encapsulation === 'udp-transport' ? `udp|${remote.address}|${remote.port}` : `esp|${remote.address}`;
  }

  /** Move the IKE core's datagrams to our queue and act on its events: the one place that drains it. */
  private drainIke(now: Instant): void {
    drainIkeCore(this.ike, this.out, (e) => this.onIkeEvent(now, e));
  }

  private onIkeEvent(now: Instant, e: IkeEvent): void {
    this.emit({ type: 'ike', event: e });
    switch (e.type) {
      case 'ike-sa-up':
        this.ikeSas.set(e.ikeSaId, { ikeSaId: e.ikeSaId, local: e.local, remote: e.remote, peerId: e.peerId, algorithms: e.algorithms, natT: e.natT, upAt: now });
        return;
      case 'child-sa-up': {
        const key = this.keyOf(e.remote, e.encapsulation);
        let flow = this.flowByKey.get(key);
        const fresh = flow === undefined;
        if (!flow) {
          flow = {
            via: `${this.prefix}${this.nextFlow++}`, key, local: e.local, remote: e.remote, encapsulation: e.encapsulation,
            innerPort: e.remoteSelector.port, pairs: [], tunnels: new Set(), deleteAt: undefined, hadTunnel: false,
          };
          this.flows.set(flow.via, flow);
          this.flowByKey.set(key, flow);
        }
        flow.local = e.local;
        // Offloaded: the data plane's SA objects are the pair's only state (one sequence counter, one window).
        const view = { ...this.offloadView(flow), outboundSpi: e.outbound.spi };
        const off = this.espOffload?.install(view, e.inbound, e.outbound);
        const pair: Pair = {
          inbound: off?.inbound ?? new EspSa(e.inbound, this.options.random),
          outbound: off?.outbound ?? new EspSa(e.outbound, this.options.random),
          ikeSaId: e.ikeSaId,
          createdAt: now,
          lifetimeSeconds: e.lifetimeSeconds,
          // RFC 4106 §8.1: a GCM key carries a 4-byte salt after the AES key.
          keyBits: (e.inbound.encryptionKey.length - (e.inbound.encryption === 'aes-gcm-16' ? 4 : 0)) * 8,
        };
        flow.pairs.push(pair);
        if (off !== undefined) this.liveness.add(e.inbound.spi, off.inbound);
        this.bySpi.set(e.inbound.spi, { flow, pair });
        this.offloadFlow(flow);
        if (fresh) this.emit({ type: 'flow-up', via: flow.via, remote: flow.remote, encapsulation: flow.encapsulation, ikeSaId: e.ikeSaId });
        // Rekey: outbound traffic moves to the newest SA at once; the old one still decrypts until deleted.
        else this.emit({ type: 'sa-switched', via: flow.via, inboundSpi: e.inbound.spi, outboundSpi: e.outbound.spi });
        this.releaseEarly(now, e.inbound.spi);
        return;
      }
      case 'sa-deleted': {
        if (e.kind === 'ike') {
          this.ikeSas.delete(e.ikeSaId);
          return;
        }
        const hit = e.inboundSpi === undefined ? undefined : this.bySpi.get(e.inboundSpi);
        if (!hit) return;
        const { flow, pair } = hit;
        this.bySpi.delete(pair.inbound.spi);
        this.liveness.remove(pair.inbound.spi);
        flow.pairs = flow.pairs.filter((p) => p !== pair);
        this.espOffload?.remove(pair.inbound.spi, pair.outbound.spi);
        if (flow.pairs.length === 0) this.flowDown(now, flow);
        else this.offloadFlow(flow);
        return;
      }
      case 'endpoints-changed':
        for (const spi of e.inboundSpis) {
          const hit = this.bySpi.get(spi);
          if (!hit || hit.flow.encapsulation !== 'udp-transport') continue;
          this.flowByKey.delete(hit.flow.key);
          hit.flow.local = e.local;
          hit.flow.remote = e.remote;
          this.flowByKey.set(this.keyOf(e.remote, 'udp-transport'), hit.flow);
          this.offloadFlow(hit.flow);
        }
        return;
      case 'children-adopted':
        for (const spi of e.inboundSpis) {
          const hit = this.bySpi.get(spi);
          if (hit) hit.pair.ikeSaId = e.ikeSaId;
        }
        return;
      default:
        return;
    }
  }

  /** The last SA of a flow is gone: close its L2TP tunnels (they cannot talk any more). */
  private flowDown(now: Instant, flow: Flow): void {
    this.flows.delete(flow.via);
    if (this.flowByKey.get(flow.key) === flow) this.flowByKey.delete(flow.key);
    this.espOffload?.removeFlow(flow.via);
    const closed = [...flow.tunnels];
    for (const t of closed) this.engine.closeTunnel(now, t as TunnelId, IPSEC_GONE);
    this.emit({ type: 'flow-down', via: flow.via, remote: flow.remote, tunnelsClosed: closed });
  }

  private noteL2tpEvent(e: L2tpEvent): void {
    if (e.type === 'tunnel-connecting' && e.peer.via !== undefined) {
      const f = this.flows.get(e.peer.via);
      this.tunnelVia.set(e.tunnel, e.peer.via);
      if (f) {
        f.tunnels.add(e.tunnel);
        f.hadTunnel = true;
        f.deleteAt = undefined;
      }
    } else if (e.type === 'tunnel-closing' || e.type === 'tunnel-closed') {
      const via = this.tunnelVia.get(e.tunnel);
      if (via === undefined) return;
      if (e.type === 'tunnel-closed') this.tunnelVia.delete(e.tunnel);
      const f = this.flows.get(via);
      if (!f || !f.tunnels.delete(e.tunnel)) return;
      // The server never deletes first while L2TP runs; once the last tunnel is gone, after a grace.
      if (f.tunnels.size === 0 && f.hadTunnel) f.deleteAt = addDuration(this.lastNow, this.closeGrace);
    }
  }
}
