/**
 * L2TPv3 over IPsec without I/O (the Yamaha RTX / Cisco "L2TPv3/IPsec" mode): an IKE core
 * (responder or initiator) and the transport-mode ESP SAs it negotiates, protecting one L2TPv3
 * socket's traffic — UDP to/from the pseudowire port (RFC 3931 §4.1.2.1) or IP protocol 115
 * (§4.1.1). Unlike the L2TPv2 gate (l2tp-gate.ts) it owns no engine: control and data of the v3
 * shell pass through the same two calls, so the shell keeps its one datagram path:
 *
 * - `handleUdp` / `handleRawEsp` (outer input) return the decrypted inner L2TPv3 datagram with the
 *   peer it came from (outer address; inner UDP source port, or 0 over IP), or undefined;
 * - `seal(to, data)` returns the ESP packet for an inner datagram to a peer (the peer's flow by its
 *   outer address, newest SA), or undefined when there is none (counted — never sent in the clear);
 * - `refuseClear(from)` counts (and reports once per peer) L2TPv3 that arrived outside IPsec.
 *
 * One flow per peer address: a v3 peer is a router with one address (behind a NAT the NAT's), the
 * NAT-T port may move (RFC 3948 §3: an authenticated packet from a new mapping moves the flow).
 * Time comes in as `now`; the only calls that drain the IKE core are in `drainIke`.
 */
import { Fifo, type Instant, type RandomSource, since, type Timed } from '../base/index.js';
import type { PeerAddress } from '../l2tp/index.js';
import { classifyUdp4500 } from '../wire/esp/index.js';
import { EspSa, NEXT_HEADER_NONE, NEXT_HEADER_UDP, type Endpoint, type EspEncapsulation, type IkeDatagram, type IkeEvent } from '../ipsec/index.js';
import { drainIkeCore, type IkeCore, type IpsecGateEvent, type OuterPacket } from './l2tp-gate.js';

/** IP protocol number of L2TPv3 over IP (RFC 3931 §4.1.1, IANA). */
export const IP_PROTO_L2TPV3 = 115;
const UDP_HEADER_LENGTH = 8;

/** Options of {@link V3IpsecGate}. */
export interface V3IpsecGateOptions {
  readonly ike: IkeCore;
  readonly random: RandomSource;
  /** What the SAs carry: UDP to/from `port` (§4.1.2) or IP protocol 115 (§4.1.1). */
  readonly encapsulation: 'udp' | 'ip';
  /** Our L2TPv3 UDP port (1701); unused over IP. */
  readonly port: number;
  /** Our NAT-T port: UDP datagrams received on it are classified per RFC 3948 (default 4500). */
  readonly nattPort?: number;
}

/** Gate counters. */
export interface V3IpsecCounters {
  /** L2TPv3 that arrived in the clear and was refused. */
  clearRefused: number;
  espUnknownSpi: number;
  /** ESP that failed to decrypt or authenticate (or a dummy packet). */
  espDropped: number;
  /** Decrypted, but not L2TPv3 of our encapsulation and port. */
  innerNotL2tp: number;
  /** Outbound datagrams with no flow to the peer (dropped, never sent in the clear). */
  txNoFlow: number;
  txEncryptFailed: number;
}

/** One decrypted inner L2TPv3 datagram. */
export interface V3Inner {
  readonly from: PeerAddress;
  readonly data: Uint8Array;
}

/** One ESP flow (one peer), for show commands. */
export interface V3FlowInfo {
  readonly remote: Endpoint;
  readonly encapsulation: EspEncapsulation;
  readonly inboundSpi: number;
  readonly outboundSpi: number;
  readonly ageSeconds: number;
  readonly packetsIn: number;
  readonly packetsOut: number;
}

interface Pair {
  readonly inbound: EspSa;
  readonly outbound: EspSa;
  readonly createdAt: Instant;
}

interface Flow {
  local: Endpoint;
  remote: Endpoint;
  readonly encapsulation: EspEncapsulation;
  /** Oldest first; the newest carries outbound traffic. */
  pairs: Pair[];
}

/** L2TPv3/IPsec: an IKE core and its ESP SAs around a v3 shell's datagrams. */
export class V3IpsecGate implements Timed {
  readonly counters: V3IpsecCounters = { clearRefused: 0, espUnknownSpi: 0, espDropped: 0, innerNotL2tp: 0, txNoFlow: 0, txEncryptFailed: 0 };
  private readonly nattPort: number;
  /** Flows by the peer's outer address. */
  private readonly flows = new Map<string, Flow>();
  private readonly bySpi = new Map<number, { flow: Flow; pair: Pair }>();
  private readonly out = new Fifo<OuterPacket>();
  private readonly events = new Fifo<IpsecGateEvent>();
  private readonly refusedSeen = new Set<string>();
  private readonly udpHeader = new Uint8Array(UDP_HEADER_LENGTH);

  constructor(private readonly options: V3IpsecGateOptions) {
    this.nattPort = options.nattPort ?? 4500;
  }

  /** The wrapped IKE core (to call connect/close on an initiator). */
  get ikeCore(): IkeCore {
    return this.ike;
  }

  private get ike(): IkeCore {
    return this.options.ike;
  }

  /** Flush what the IKE core queued after driving it directly (`IkeInitiator.connect`/`close`). */
  flushIke(now: Instant): void {
    this.drainIke(now);
  }

  /** Whether a flow to the peer at `address` is up (the initiator dials once it is). */
  hasFlow(address: string): boolean {
    return (this.flows.get(address)?.pairs.length ?? 0) > 0;
  }

  /** A UDP datagram on our IKE or NAT-T port: IKE, keepalive or ESP-in-UDP. */
  handleUdp(now: Instant, d: IkeDatagram): V3Inner | undefined {
    if (d.local.port === this.nattPort) {
      const c = classifyUdp4500(d.data);
      if (c.kind === 'keepalive' || c.kind === 'invalid') return undefined;
      if (c.kind === 'esp') return this.handleEsp(now, c.packet, d.remote, 'udp-transport');
    }
    this.ike.handle(now, d);
    this.drainIke(now);
    return undefined;
  }

  /** A raw ESP packet (IP protocol 50, the payload after the IPv4 header) from `remoteAddress`. */
  handleRawEsp(now: Instant, remoteAddress: string, data: Uint8Array): V3Inner | undefined {
    return this.handleEsp(now, data, { address: remoteAddress, port: 0 }, 'transport');
  }

  private handleEsp(now: Instant, packet: Uint8Array, from: Endpoint, encapsulation: EspEncapsulation): V3Inner | undefined {
    const spi = packet.length >= 4 ? ((((packet[0] ?? 0) << 24) | ((packet[1] ?? 0) << 16) | ((packet[2] ?? 0) << 8) | (packet[3] ?? 0)) >>> 0) : 0;
    const hit = this.bySpi.get(spi);
    if (!hit || hit.flow.encapsulation !== encapsulation || hit.flow.remote.address !== from.address) {
      this.counters.espUnknownSpi++;
      return undefined;
    }
    const { flow, pair } = hit;
    const r = pair.inbound.decrypt(packet);
    if (!r.ok || r.value.nextHeader === NEXT_HEADER_NONE) {
      this.counters.espDropped++;
      return undefined;
    }
    // RFC 3948 §3: an authenticated packet from a new NAT mapping (port) moves the flow.
    if (encapsulation === 'udp-transport' && flow.remote.port !== from.port) flow.remote = from;
    this.ike.noteActivity(now, spi);
    return this.inner(flow, r.value.nextHeader, r.value.payload);
  }

  /** The L2TPv3 datagram inside: protocol 115 as is, or UDP to our port (checksum not checked, RFC 3948 §3.1.2). */
  private inner(flow: Flow, nextHeader: number, p: Uint8Array): V3Inner | undefined {
    const family = flow.remote.address.includes(':') ? 6 : 4;
    if (this.options.encapsulation === 'ip') {
      if (nextHeader !== IP_PROTO_L2TPV3) {
        this.counters.innerNotL2tp++;
        return undefined;
      }
      return { from: { address: flow.remote.address, port: 0, family }, data: p };
    }
    const dstPort = ((p[2] ?? 0) << 8) | (p[3] ?? 0);
    const udpLen = ((p[4] ?? 0) << 8) | (p[5] ?? 0);
    if (nextHeader !== NEXT_HEADER_UDP || p.length < UDP_HEADER_LENGTH || dstPort !== this.options.port || udpLen < UDP_HEADER_LENGTH || udpLen > p.length) {
      this.counters.innerNotL2tp++;
      return undefined;
    }
    const srcPort = ((p[0] ?? 0) << 8) | (p[1] ?? 0);
    return { from: { address: flow.remote.address, port: srcPort, family }, data: p.subarray(UDP_HEADER_LENGTH, udpLen) };
  }

  /**
   * The ESP packet carrying `data` to `to` (UDP from our port to `to.port`, or protocol 115),
   * sealed with the newest SA of the peer's flow; undefined (counted) when there is none.
   */
  seal(to: PeerAddress, data: Uint8Array): OuterPacket | undefined {
    const flow = this.flows.get(to.address);
    const pair = flow?.pairs[flow.pairs.length - 1];
    if (!flow || !pair) {
      this.counters.txNoFlow++;
      return undefined;
    }
    let e: ReturnType<EspSa['encryptv']>;
    if (this.options.encapsulation === 'ip') e = pair.outbound.encryptv(data, IP_PROTO_L2TPV3);
    else {
      // RFC 768 header, checksum 0 (none: allowed over IPv4, RFC 3948 §3.1.2); staged by the SA with the datagram.
      const len = UDP_HEADER_LENGTH + data.length;
      const u = this.udpHeader;
      u[0] = this.options.port >> 8;
      u[1] = this.options.port & 0xff;
      u[2] = to.port >> 8;
      u[3] = to.port & 0xff;
      u[4] = len >> 8;
      u[5] = len & 0xff;
      e = pair.outbound.encryptv(data, NEXT_HEADER_UDP, u);
    }
    if (!e.ok) {
      this.counters.txEncryptFailed++;
      return undefined;
    }
    return flow.encapsulation === 'udp-transport'
      ? { kind: 'udp', local: flow.local, remote: flow.remote, data: e.value }
      : { kind: 'esp', local: flow.local.address, remote: flow.remote.address, data: e.value };
  }

  /** L2TPv3 that arrived outside IPsec: counted, reported once per peer (bounded). */
  refuseClear(from: PeerAddress): void {
    this.counters.clearRefused++;
    const key = `${from.address}|${from.port}`;
    if (this.refusedSeen.has(key) || this.refusedSeen.size >= 4096) return;
    this.refusedSeen.add(key);
    this.events.push({ type: 'clear-l2tp-refused', peer: from });
  }

  /** Run the IKE core's timers. */
  handleTimeout(now: Instant): void {
    this.ike.handleTimeout(now);
    this.drainIke(now);
  }

  /** The IKE core's next deadline. */
  pollAt(): Instant | undefined {
    return this.ike.pollAt();
  }

  /** Next outer packet to send (IKE, keepalives). */
  pollTransmit(): OuterPacket | undefined {
    return this.out.shift();
  }

  /** Next gate event (IKE events passed through, flows up and down, clear traffic refused). */
  pollEvent(): IpsecGateEvent | undefined {
    return this.events.shift();
  }

  /** The flows with their newest SA, for show commands. */
  flowInfo(now: Instant): V3FlowInfo[] {
    const out: V3FlowInfo[] = [];
    for (const f of this.flows.values()) {
      const p = f.pairs[f.pairs.length - 1];
      if (p === undefined) continue;
      out.push({
        remote: f.remote, encapsulation: f.encapsulation, inboundSpi: p.inbound.spi, outboundSpi: p.outbound.spi,
        ageSeconds: Math.floor(since(now, p.createdAt) / 1000), packetsIn: p.inbound.counters.packetsIn, packetsOut: p.outbound.counters.packetsOut,
      });
    }
    return out;
  }

  private drainIke(now: Instant): void {
    drainIkeCore(this.ike, this.out, (e) => this.onIkeEvent(now, e));
  }

  private onIkeEvent(now: Instant, e: IkeEvent): void {
    this.events.push({ type: 'ike', event: e });
    if (e.type === 'child-sa-up') {
      let flow = this.flows.get(e.remote.address);
      const fresh = flow === undefined || flow.pairs.length === 0 || flow.encapsulation !== e.encapsulation;
      if (flow === undefined || flow.encapsulation !== e.encapsulation) {
        flow = { local: e.local, remote: e.remote, encapsulation: e.encapsulation, pairs: [] };
        this.flows.set(e.remote.address, flow);
      }
      flow.local = e.local;
      flow.remote = e.remote;
      const pair: Pair = { inbound: new EspSa(e.inbound, this.options.random), outbound: new EspSa(e.outbound, this.options.random), createdAt: now };
      flow.pairs.push(pair);
      this.bySpi.set(e.inbound.spi, { flow, pair });
      const via = `ipsec:${e.remote.address}`;
      if (fresh) this.events.push({ type: 'flow-up', via, remote: e.remote, encapsulation: e.encapsulation, ikeSaId: e.ikeSaId });
      else this.events.push({ type: 'sa-switched', via, inboundSpi: e.inbound.spi, outboundSpi: e.outbound.spi });
    } else if (e.type === 'sa-deleted' && e.kind !== 'ike' && e.inboundSpi !== undefined) {
      const hit = this.bySpi.get(e.inboundSpi);
      if (!hit) return;
      this.bySpi.delete(e.inboundSpi);
      hit.flow.pairs = hit.flow.pairs.filter((p) => p !== hit.pair);
      if (hit.flow.pairs.length === 0) {
        this.flows.delete(hit.flow.remote.address);
        this.events.push({ type: 'flow-down', via: `ipsec:${hit.flow.remote.address}`, remote: hit.flow.remote, tunnelsClosed: [] });
      }
    } else if (e.type === 'endpoints-changed') {
      for (const spi of e.inboundSpis) {
        const hit = this.bySpi.get(spi);
        if (hit === undefined || hit.flow.encapsulation !== 'udp-transport') continue;
        if (this.flows.get(hit.flow.remote.address) === hit.flow) this.flows.delete(hit.flow.remote.address);
        hit.flow.local = e.local;
        hit.flow.remote = e.remote;
        this.flows.set(e.remote.address, hit.flow);
      }
    }
  }
}
