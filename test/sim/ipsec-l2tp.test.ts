/**
 * L2TP/IPsec in memory on a virtual clock: our IKE initiator + L2TP LAC on each client, our IKE
 * responder + LNS on the server, joined by `IpsecL2tpGate` on both sides. Clients can sit behind
 * one NAPT (same public address, same inner port 1701). Every L2TP datagram on the wire is ESP.
 * The gates are drained like every core (`pollTransmit` / `pollEvent`); PPP frames reach the
 * sessions through the data sinks bound at `session-established` (no events).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../src/base/random.js';
import { addDuration, instant, millis, seconds, type Instant } from '../../src/base/time.js';
import { L2tpEngine, defaultTunnelSettings, type L2tpEvent, type PeerAddress } from '../../src/l2tp/index.js';
import type { SessionId, TunnelId } from '../../src/wire/l2tp/types.js';
import { IkeInitiator, type IkeInitiatorConfig } from '../../src/ipsec/ike-initiator.js';
import { IkeResponder } from '../../src/ipsec/ike-responder.js';
import type { IkeEvent } from '../../src/ipsec/ike-types.js';
import { IpsecL2tpGate, outerBytes, type IkeCore, type IpsecGateEvent, type OuterPacket } from '../../src/gate/index.js';
import type { Endpoint } from '../../src/ipsec/addr.js';
import { EspSa } from '../../src/ipsec/esp.js';
import { loadNative } from '../../src/io/native.js';
import { NativeEspOffload } from '../../src/io/fast-path-esp.js';

const PSK = new TextEncoder().encode('sim psk');
const SERVER = '192.0.2.1';
const NAT_PUBLIC = '203.0.113.5';
const T0 = instant(1_000_000);

interface Node {
  readonly name: string;
  readonly address: string;
  readonly gate: IpsecL2tpGate;
  readonly l2tp: L2tpEvent[];
  readonly ipsec: IpsecGateEvent[];
  /** PPP frames its sessions received (through their data sinks). */
  readonly data: { readonly tunnel: TunnelId; readonly session: SessionId; readonly payload: Uint8Array }[];
  readonly behindNat: boolean;
  readonly initiator?: IkeInitiator;
  tunnel?: TunnelId | undefined;
  session?: SessionId | undefined;
}

interface Wire {
  readonly from: string;
  readonly p: OuterPacket;
}

class World {
  now: Instant = T0;
  readonly nodes = new Map<string, Node>();
  readonly wire: Wire[] = [];
  /** Everything that crossed the wire, for assertions. */
  readonly seen: { from: string; p: OuterPacket }[] = [];
  private readonly natOut = new Map<string, number>();
  private readonly natIn = new Map<number, { node: string; port: number }>();
  drop: (w: Wire) => boolean = () => false;
  readonly server: Node;

  constructor() {
    const engine = new L2tpEngine(
      { acceptTunnels: true, accept: defaultTunnelSettings('lns'), acceptIncomingCalls: true, acceptOutgoingCalls: true },
      { random: seededRandom(1) },
    );
    const ike = new IkeResponder({ psk: () => PSK, dpd: { interval: seconds(30), timeout: seconds(15) } }, seededRandom(2));
    this.server = this.addNode('server', SERVER, false, engine, ike, undefined);
  }

  private addNode(name: string, address: string, behindNat: boolean, engine: L2tpEngine, ike: IkeResponder | IkeInitiator, initiator: IkeInitiator | undefined): Node {
    const gate = new IpsecL2tpGate({ engine, ike, random: seededRandom(name.length * 77) });
    const node: Node = { name, address, gate, l2tp: [], ipsec: [], data: [], behindNat, ...(initiator ? { initiator } : {}) };
    this.nodes.set(name, node);
    return node;
  }

  /** A client with its own IKE initiator and LAC engine. `engineSeed` equal for two clients = same tunnel ids. */
  client(name: string, address: string, behindNat: boolean, engineSeed: number, icfg: Partial<IkeInitiatorConfig> = {}): Node {
    const engine = new L2tpEngine(
      { acceptTunnels: false, accept: defaultTunnelSettings(name), acceptIncomingCalls: true, acceptOutgoingCalls: true },
      { random: seededRandom(engineSeed) },
    );
    const init = new IkeInitiator({ psk: PSK, local: { address, port: 500 }, remote: { address: SERVER, port: 500 }, ...icfg }, seededRandom(address.length * 1000 + this.nodes.size));
    return this.addNode(name, address, behindNat, engine, init, init);
  }

  /** NAPT: (client, port) -> a public port on NAT_PUBLIC. */
  private natMap(node: string, port: number): number {
    const k = `${node}|${port}`;
    let p = this.natOut.get(k);
    if (p === undefined) {
      p = 30000 + this.natOut.size;
      this.natOut.set(k, p);
      this.natIn.set(p, { node, port });
    }
    return p;
  }

  private deliver(w: Wire): void {
    const src = this.nodes.get(w.from);
    if (!src) return;
    const p = w.p;
    const to = p.kind === 'udp' ? p.remote.address : p.remote;
    if (to === SERVER) {
      if (p.kind === 'udp') {
        const remote: Endpoint = src.behindNat ? { address: NAT_PUBLIC, port: this.natMap(src.name, p.local.port) } : p.local;
        this.server.gate.handleUdp(this.now, { local: p.remote, remote, data: outerBytes(p.data) });
      } else {
        assert.ok(!src.behindNat, 'raw ESP does not cross a NAPT');
        this.server.gate.handleRawEsp(this.now, src.address, outerBytes(p.data));
      }
      return;
    }
    let dst: Node | undefined;
    let port = 0;
    if (to === NAT_PUBLIC && p.kind === 'udp') {
      const m = this.natIn.get(p.remote.port);
      dst = m && this.nodes.get(m.node);
      port = m?.port ?? 0;
    } else {
      dst = [...this.nodes.values()].find((n) => n.address === to && !n.behindNat);
      port = p.kind === 'udp' ? p.remote.port : 0;
    }
    if (!dst) return;
    if (p.kind === 'udp') dst.gate.handleUdp(this.now, { local: { address: dst.address, port }, remote: p.local, data: outerBytes(p.data) });
    else dst.gate.handleRawEsp(this.now, SERVER, outerBytes(p.data));
  }

  /** Drain every node and move packets until quiet. */
  pump(): void {
    for (let i = 0; i < 10_000; i++) {
      for (const n of this.nodes.values()) {
        const out: OuterPacket[] = [];
        drainGate(n.gate, out, n.name);
        for (const p of out) this.wire.push({ from: n.name, p });
        for (let e = n.gate.pollEvent(); e; e = n.gate.pollEvent()) {
          if (e.type !== 'l2tp') {
            n.ipsec.push(e);
            continue;
          }
          n.l2tp.push(e.event);
          if (e.event.type === 'session-established') {
            const { tunnel, session } = e.event;
            n.gate.bindSession(this.now, tunnel, session, { handleData: (_now, f) => n.data.push({ tunnel, session, payload: Uint8Array.from(f) }) });
          }
        }
      }
      const w = this.wire.shift();
      if (!w) return;
      this.seen.push(w);
      if (!this.drop(w)) this.deliver(w);
    }
    throw new Error('no quiescence');
  }

  /** Run timers up to `t`. */
  runUntil(t: Instant): void {
    this.pump();
    for (;;) {
      const due = [...this.nodes.values()].map((n) => n.gate.pollAt()).filter((x): x is Instant => x !== undefined && x <= t).sort((a, b) => a - b)[0];
      if (due === undefined) break;
      this.now = due > this.now ? due : this.now;
      for (const n of this.nodes.values()) n.gate.handleTimeout(this.now);
      this.pump();
    }
    this.now = t;
  }

  /** Connect a client's IKE, then open an L2TP tunnel + session through its flow. */
  dial(c: Node): void {
    assert.ok(c.initiator);
    c.initiator.connect(this.now);
    c.gate.handleTimeout(this.now); // moves the initiator's first datagram into the gate's queue
    this.pump();
    const up = c.ipsec.find((e): e is Extract<IpsecGateEvent, { type: 'flow-up' }> => e.type === 'flow-up');
    assert.ok(up, `${c.name}: IPsec flow up`);
    const peer = c.gate.peerFor(up.via);
    assert.ok(peer);
    c.tunnel = c.gate.openTunnel(this.now, peer, defaultTunnelSettings(c.name));
    c.session = c.gate.openSession(this.now, c.tunnel, { direction: 'incoming', callingNumber: c.name });
    this.pump();
  }

  /** Send one PPP frame on a client's session and let it cross. */
  sendFromClient(c: Node, text: string): void {
    assert.ok(c.tunnel !== undefined && c.session !== undefined);
    const t = c.gate.sendData(this.now, c.tunnel, c.session, new TextEncoder().encode(text));
    assert.ok(t, 'session up');
    assert.ok(t.to.via, 'data goes into the IPsec flow');
    assert.ok(c.gate.sendVia(t));
    this.pump();
  }
}

const events = <T extends L2tpEvent['type']>(n: Node, type: T): Extract<L2tpEvent, { type: T }>[] =>
  n.l2tp.filter((e): e is Extract<L2tpEvent, { type: T }> => e.type === type);
/** The PPP frames a node's sessions received. */
const dataOf = (n: Node): Node['data'] => n.data;

/** Drain a gate's transmits into `into`; L2TP must never come out in the clear. */
function drainGate(g: IpsecL2tpGate, into: OuterPacket[], who = 'gate'): void {
  for (let t = g.pollTransmit(); t; t = g.pollTransmit()) {
    if (t.kind === 'l2tp') assert.fail(`${who} sent L2TP in the clear to ${t.transmit.to.address}:${t.transmit.to.port}`);
    into.push(t);
  }
}
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

test('a tunnel and session come up through raw ESP (no NAT); data flows both ways; nothing in the clear', () => {
  const w = new World();
  const c = w.client('alice', '198.51.100.7', false, 11);
  w.dial(c);
  const est = events(w.server, 'tunnel-established');
  assert.equal(est.length, 1);
  assert.equal(est[0]?.peer.via, 'ipsec:1');
  assert.equal(est[0]?.peer.address, '198.51.100.7');
  assert.equal(events(c, 'session-established').length, 1);
  assert.equal(events(w.server, 'session-established').length, 1);
  w.sendFromClient(c, 'hello lns');
  assert.deepEqual(dataOf(w.server).map((e) => text(e.payload)), ['hello lns']);
  // LNS -> client: engine.sendData on the server, routed by via.
  const sTunnel = est[0]?.tunnel;
  const sSession = events(w.server, 'session-established')[0]?.session;
  assert.ok(sTunnel !== undefined && sSession !== undefined);
  const t = w.server.gate.sendData(w.now, sTunnel, sSession, new TextEncoder().encode('hello lac'));
  assert.ok(t && w.server.gate.sendVia(t));
  w.pump();
  assert.deepEqual(dataOf(c).map((e) => text(e.payload)), ['hello lac']);
  // After IKE, every packet was raw ESP (no UDP 1701 anywhere).
  const kinds = new Set(w.seen.map((x) => (x.p.kind === 'udp' ? `udp:${x.p.remote.port}` : 'esp')));
  assert.deepEqual([...kinds].sort(), ['esp', 'udp:500']);
  const flows = w.server.gate.flowInfo(w.now);
  assert.equal(flows.length, 1);
  assert.equal(flows[0]?.encapsulation, 'transport');
  assert.ok((flows[0]?.sas[0]?.inbound.packetsIn ?? 0) >= 4, 'SCCRQ, SCCCN, ICRQ, ICCN, data... decrypted');
});

test('two clients behind one NAPT, same inner port 1701 and same L2TP tunnel ids: two tunnels, data kept apart', () => {
  const w = new World();
  const a = w.client('alice', '198.18.0.2', true, 42);
  const b = w.client('bob', '198.18.0.3', true, 42);
  w.dial(a);
  w.dial(b);
  const est = events(w.server, 'tunnel-established');
  assert.equal(est.length, 2, 'both tunnels up at once');
  assert.deepEqual(est.map((e) => [e.peer.address, e.peer.port]), [[NAT_PUBLIC, 1701], [NAT_PUBLIC, 1701]], 'same outer address, same inner port');
  assert.notEqual(est[0]?.peer.via, est[1]?.peer.via);
  assert.equal(est[0]?.remoteTunnel, est[1]?.remoteTunnel, 'the clients even chose the same tunnel id');
  assert.equal(events(w.server, 'session-established').length, 2);
  w.sendFromClient(a, 'from alice');
  w.sendFromClient(b, 'from bob');
  const byTunnel = new Map(dataOf(w.server).map((e) => [e.tunnel, text(e.payload)]));
  assert.equal(byTunnel.get(est[0]?.tunnel as TunnelId), 'from alice');
  assert.equal(byTunnel.get(est[1]?.tunnel as TunnelId), 'from bob');
  // Server -> each client through its own flow.
  for (const [i, e] of est.entries()) {
    const s = events(w.server, 'session-established').find((x) => x.tunnel === e.tunnel);
    assert.ok(s);
    const t = w.server.gate.sendData(w.now, e.tunnel, s.session, new TextEncoder().encode(`to ${i}`));
    assert.ok(t && w.server.gate.sendVia(t));
  }
  w.pump();
  assert.deepEqual(dataOf(a).map((e) => text(e.payload)), ['to 0']);
  assert.deepEqual(dataOf(b).map((e) => text(e.payload)), ['to 1']);
  const flows = w.server.gate.flowInfo(w.now);
  assert.deepEqual(flows.map((f) => [f.encapsulation, f.remote.address, f.innerPort, f.tunnels.length]), [
    ['udp-transport', NAT_PUBLIC, 1701, 1],
    ['udp-transport', NAT_PUBLIC, 1701, 1],
  ]);
  assert.notEqual(flows[0]?.remote.port, flows[1]?.remote.port, 'told apart by the NAT-T port');
});

test('child SA rekey in the middle of traffic: outbound moves to the new SA, the tunnel never notices', () => {
  const w = new World();
  const c = w.client('carol', '198.18.0.9', true, 5, { childLifetimeSeconds: 120 });
  w.dial(c);
  const firstSpi = w.server.gate.flowInfo(w.now)[0]?.sas[0]?.inboundSpi;
  let sent = 0;
  for (let s = 1; s <= 200; s += 3) {
    w.runUntil(addDuration(T0, seconds(s)));
    w.sendFromClient(c, `m${sent++}`);
  }
  assert.equal(dataOf(w.server).length, sent, 'every frame arrived');
  assert.equal(events(w.server, 'tunnel-closing').length + events(c, 'tunnel-closing').length, 0);
  assert.ok(w.server.ipsec.some((e) => e.type === 'sa-switched'), 'server switched SA');
  assert.ok(c.ipsec.some((e) => e.type === 'sa-switched'), 'client switched SA');
  const flows = w.server.gate.flowInfo(w.now);
  assert.equal(flows.length, 1, 'still one flow (same via)');
  assert.equal(flows[0]?.sas.length, 1, 'old SA deleted after the overlap');
  assert.notEqual(flows[0]?.sas[0]?.inboundSpi, firstSpi);
  assert.equal(w.server.ipsec.filter((e) => e.type === 'flow-down').length, 0);
  // Keep-alives (HELLO) crossed the new SA too: the tunnel is established on both sides.
  assert.ok(w.server.gate.tunnels(w.now).every((t) => t.state === 'established'));
});

test('IKE delete from the client closes the server\'s L2TP tunnel of that flow only', () => {
  const w = new World();
  const a = w.client('alice', '198.18.0.2', true, 1);
  const b = w.client('bob', '198.18.0.3', true, 2);
  w.dial(a);
  w.dial(b);
  const [ta, tb] = events(w.server, 'tunnel-established');
  assert.ok(ta && tb);
  a.initiator?.close(w.now);
  a.gate.handleTimeout(w.now);
  w.pump();
  const down = w.server.ipsec.filter((e): e is Extract<IpsecGateEvent, { type: 'flow-down' }> => e.type === 'flow-down');
  assert.deepEqual(down.map((d) => [d.via, d.tunnelsClosed]), [[ta.peer.via, [ta.tunnel]]]);
  assert.deepEqual(events(w.server, 'tunnel-closing').map((e) => [e.tunnel, e.reason.result.message]), [[ta.tunnel, 'IPsec SA gone']]);
  w.runUntil(addDuration(w.now, seconds(5)));
  assert.deepEqual(w.server.gate.tunnels(w.now).filter((t) => t.state === 'established').map((t) => t.localTunnelId), [tb.tunnel]);
  w.sendFromClient(b, 'bob still here');
  assert.deepEqual(dataOf(w.server).map((e) => text(e.payload)), ['bob still here']);
});

test('DPD failure (client vanishes) closes its tunnel', () => {
  const w = new World();
  const c = w.client('dave', '198.51.100.20', false, 3);
  w.dial(c);
  w.drop = (x) => x.from === 'dave';
  w.runUntil(addDuration(w.now, seconds(90)));
  assert.ok(w.server.ipsec.some((e) => e.type === 'ike' && e.event.type === 'dpd-failed'));
  assert.ok(w.server.ipsec.some((e) => e.type === 'flow-down'));
  assert.ok(events(w.server, 'tunnel-closing').length >= 1);
});

test('L2TP tunnel closed by the client: the server deletes the child SA after the 5 s grace', () => {
  const w = new World();
  const c = w.client('erin', '198.18.0.4', true, 8);
  w.dial(c);
  assert.ok(c.tunnel !== undefined);
  const closedAt = w.now;
  c.gate.closeTunnel(w.now, c.tunnel, { result: 1 });
  w.pump();
  assert.equal(events(w.server, 'tunnel-closing').length, 1);
  w.runUntil(addDuration(closedAt, millis(4999)));
  assert.equal(w.server.gate.flowInfo(w.now).length, 1, 'SA kept during the grace');
  w.runUntil(addDuration(closedAt, millis(5001)));
  assert.ok(w.server.ipsec.some((e) => e.type === 'l2tp-closed-deleting-sa'));
  assert.equal(w.server.gate.flowInfo(w.now).length, 0);
  assert.ok(c.ipsec.some((e) => e.type === 'flow-down'), 'the client got D(ESP) and dropped the flow');
});

test('L2TP in the clear is refused under require_ipsec, counted and reported once per peer', () => {
  const w = new World();
  const clear = new L2tpEngine(
    { acceptTunnels: false, accept: defaultTunnelSettings('clear'), acceptIncomingCalls: true, acceptOutgoingCalls: true },
    { random: seededRandom(99) },
  );
  const server: PeerAddress = { address: SERVER, port: 1701, family: 4 };
  clear.openTunnel(w.now, server, defaultTunnelSettings('clear'));
  const from: PeerAddress = { address: '198.51.100.66', port: 1701, family: 4 };
  for (let i = 0; i < 3; i++) {
    const t = clear.pollTransmit() ?? { to: server, data: new Uint8Array(0) };
    w.server.gate.handleDatagram(w.now, t.data, from);
    clear.handleTimeout(addDuration(w.now, seconds(2 ** (i + 1))));
  }
  w.pump();
  assert.equal(w.server.gate.counters.clearRefused, 3);
  assert.equal(events(w.server, 'tunnel-rejected').length, 1);
  assert.match(events(w.server, 'tunnel-rejected')[0]?.detail ?? '', /outside IPsec/);
  assert.equal(w.server.gate.tunnels(w.now).length, 0);
  assert.deepEqual(w.server.ipsec.map((e) => e.type), ['clear-l2tp-refused']);
});

test('re-authentication: children-adopted moves the ESP pair to the new IKE SA in flowInfo (show ipsec), traffic untouched', () => {
  // A scripted IKE core: the events an IkeResponder emits across a strongSwan-style re-auth.
  const queued: IkeEvent[] = [];
  const ike: IkeCore = {
    handle: () => undefined,
    pollTransmit: () => undefined,
    pollEvent: () => queued.shift(),
    deleteChildSa: () => undefined,
    noteActivity: () => undefined,
    pollAt: () => undefined,
    handleTimeout: () => undefined,
  };
  const engine = new L2tpEngine({ acceptTunnels: true, accept: defaultTunnelSettings('lns'), acceptIncomingCalls: true, acceptOutgoingCalls: true }, { random: seededRandom(1) });
  const sent: OuterPacket[] = [];
  const gate = new IpsecL2tpGate({ engine, ike, random: seededRandom(3) });
  const local: Endpoint = { address: SERVER, port: 4500 };
  const remote: Endpoint = { address: NAT_PUBLIC, port: 4500 };
  const algorithms = { encryption: 'aes128', hash: 'sha256', group: 14, lifetimeSeconds: 28800 };
  const natT = { variant: 'rfc3947' as const, localBehindNat: false, remoteBehindNat: true };
  const peerId = { idType: 1, data: Uint8Array.of(198, 51, 100, 2) };
  const key = (b: number): Uint8Array => new Uint8Array(20).fill(b);
  const esp = (spi: number, b: number) => ({ spi, encryption: 'aes-gcm-16' as const, encryptionKey: key(b), integrity: 'none' as const, integrityKey: new Uint8Array(0) });
  queued.push(
    { type: 'ike-sa-up', ikeSaId: 1, local, remote, peerId, algorithms, natT },
    {
      type: 'child-sa-up', ikeSaId: 1, inbound: esp(0x1111, 1), outbound: esp(0x2222, 2), encapsulation: 'udp-transport', local, remote,
      localSelector: { address: SERVER, protocol: 17, port: 1701 }, remoteSelector: { address: '198.51.100.2', protocol: 17, port: 1701 }, natOa: {}, pfsGroup: undefined, lifetimeSeconds: 3600,
    },
    { type: 'ike-sa-up', ikeSaId: 2, local, remote, peerId, algorithms, natT },
    { type: 'children-adopted', ikeSaId: 2, fromIkeSaId: 1, inboundSpis: [0x1111] },
    { type: 'sa-deleted', ikeSaId: 1, kind: 'ike', reason: 'peer-delete' },
  );
  gate.handleTimeout(T0);
  const [flow] = gate.flowInfo(T0);
  assert.ok(flow);
  assert.deepEqual(flow.sas.map((s) => [s.ikeSaId, s.inboundSpi]), [[2, 0x1111]]);
  assert.deepEqual(gate.ikeSaInfo(T0).map((s) => s.ikeSaId), [2]);
  // The flow still carries L2TP out on the adopted pair.
  assert.equal(gate.sendVia({ to: { address: remote.address, port: 1701, family: 4, via: flow.via }, data: Uint8Array.of(0xc8, 2, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0) }), true);
  drainGate(gate, sent);
  assert.equal(sent.length, 1);
  const out = sent[0];
  assert.ok(out?.kind === 'udp');
  assert.equal(Buffer.from(outerBytes(out.data)).readUInt32BE(0), 0x2222, 'ESP with the outbound SPI');
});

test('ESP on a new SA that arrives before its QM3 is held, then delivered when the child SA is up (bounded, aged out)', () => {
  const queued: IkeEvent[] = [];
  const expected = new Set<number>();
  const ike: IkeCore = {
    handle: () => undefined,
    pollTransmit: () => undefined,
    pollEvent: () => queued.shift(),
    deleteChildSa: () => undefined,
    noteActivity: () => undefined,
    pollAt: () => undefined,
    handleTimeout: () => undefined,
    expectsInboundSpi: (spi) => expected.has(spi),
  };
  const engine = new L2tpEngine({ acceptTunnels: true, accept: defaultTunnelSettings('lns'), acceptIncomingCalls: true, acceptOutgoingCalls: true }, { random: seededRandom(1) });
  const sent: OuterPacket[] = [];
  const gate = new IpsecL2tpGate({ engine, ike, random: seededRandom(3) });
  const local: Endpoint = { address: SERVER, port: 4500 };
  const remote: Endpoint = { address: NAT_PUBLIC, port: 4500 };
  const esp = (spi: number, b: number) => ({ spi, encryption: 'aes-gcm-16' as const, encryptionKey: new Uint8Array(20).fill(b), integrity: 'none' as const, integrityKey: new Uint8Array(0) });
  const childUp = (inbound: number, outbound: number): IkeEvent => ({
    type: 'child-sa-up', ikeSaId: 1, inbound: esp(inbound, inbound & 0xff), outbound: esp(outbound, outbound & 0xff), encapsulation: 'udp-transport', local, remote,
    localSelector: { address: SERVER, protocol: 17, port: 1701 }, remoteSelector: { address: '198.51.100.2', protocol: 17, port: 1701 }, natOa: {}, pfsGroup: undefined, lifetimeSeconds: 3600,
  });
  queued.push(
    { type: 'ike-sa-up', ikeSaId: 1, local, remote, peerId: { idType: 1, data: Uint8Array.of(198, 51, 100, 2) }, algorithms: { encryption: 'aes128', hash: 'sha256', group: 14, lifetimeSeconds: 28800 }, natT: { variant: 'rfc3947', localBehindNat: false, remoteBehindNat: true } },
    childUp(0x1111, 0x2222),
  );
  gate.handleTimeout(T0);
  // The client's SCCRQ, sealed with the client's side of the NEW pair (our inbound SPI 0x3333).
  const lac = new L2tpEngine({ acceptTunnels: false, accept: defaultTunnelSettings('c'), acceptIncomingCalls: true, acceptOutgoingCalls: true }, { random: seededRandom(9) });
  lac.openTunnel(T0, { address: SERVER, port: 1701, family: 4 }, defaultTunnelSettings('c'));
  const sccrq = lac.pollTransmit();
  assert.ok(sccrq);
  const udp = Uint8Array.of(0x06, 0xa5, 0x06, 0xa5, 0, 8 + sccrq.data.length, 0, 0);
  const clientTx = new EspSa(esp(0x3333, 0x33), seededRandom(4));
  const sealed = (): Uint8Array => {
    const r = clientTx.encryptv(sccrq.data, 17, udp);
    assert.ok(r.ok);
    return outerBytes(r.ok ? r.value : []);
  };
  expected.add(0x3333);
  gate.handleUdp(T0, { local, remote, data: sealed() });
  drainGate(gate, sent);
  assert.equal(sent.length, 0, 'held, not answered yet');
  assert.equal(gate.counters.espUnknownSpi, 0);
  // QM3 done: the child SA is up, the held SCCRQ is delivered and answered on the newest pair.
  expected.delete(0x3333);
  queued.push(childUp(0x3333, 0x4444));
  gate.handleTimeout(addDuration(T0, millis(5)));
  drainGate(gate, sent);
  assert.equal(sent.length, 1, 'SCCRP sent');
  assert.equal(Buffer.from(outerBytes(sent[0]?.data ?? new Uint8Array(8))).readUInt32BE(0), 0x4444);
  assert.equal(gate.counters.espUnknownSpi, 0);
  // Held packets age out after 2 s (counted as unknown SPI); without a pending Quick Mode nothing is held.
  expected.add(0x5555);
  const other = new EspSa(esp(0x5555, 0x55), seededRandom(5));
  const r5 = other.encryptv(sccrq.data, 17, udp);
  assert.ok(r5.ok);
  gate.handleUdp(T0, { local, remote, data: outerBytes(r5.ok ? r5.value : []) });
  gate.handleTimeout(addDuration(T0, seconds(3)));
  assert.equal(gate.counters.espUnknownSpi, 1, 'the aged-out held packet');
  gate.handleUdp(addDuration(T0, seconds(3)), { local, remote, data: Uint8Array.of(0, 0, 0x77, 0x77, 0, 0, 0, 1, 9, 9, 9, 9) });
  assert.equal(gate.counters.espUnknownSpi, 2, 'an SPI no Quick Mode expects is dropped at once');
});

test('data fast path through the gate: decrypted ESP goes to the session sink inside handleRawEsp, no gate or L2TP event, nothing to send', () => {
  const w = new World();
  const c = w.client('frank', '198.51.100.8', false, 12);
  w.dial(c);
  w.sendFromClient(c, 'first');
  assert.deepEqual(dataOf(w.server).map((e) => text(e.payload)), ['first']);
  w.runUntil(addDuration(w.now, seconds(1))); // settle acks
  const before = { l2tp: w.server.l2tp.length, ipsec: w.server.ipsec.length };
  assert.ok(c.tunnel !== undefined && c.session !== undefined);
  for (let i = 0; i < 20; i++) {
    const t = c.gate.sendData(w.now, c.tunnel, c.session, new TextEncoder().encode(`frame ${i}`));
    assert.ok(t?.to.via);
    const esp = c.gate.sealTransmit(t);
    assert.ok(esp?.kind === 'esp', 'sealed at once, raw ESP without a NAT');
    w.server.gate.handleRawEsp(w.now, c.address, outerBytes(esp.data));
    assert.equal(w.server.gate.pollEvent(), undefined, `no event for frame ${i}`);
    assert.equal(w.server.gate.pollTransmit(), undefined, `nothing to send for frame ${i}`);
  }
  assert.deepEqual(dataOf(w.server).slice(1).map((e) => text(e.payload)), Array.from({ length: 20 }, (_, i) => `frame ${i}`));
  assert.deepEqual({ l2tp: w.server.l2tp.length, ipsec: w.server.ipsec.length }, before);
});

test('ESP offloaded to the addon (NativeEspOffload): control and data through espSeal/espOpen, rekey and delete keep the addon\'s table in step', () => {
  const fp = new (loadNative().FastPath)(0);
  const off = new NativeEspOffload(fp);
  const w = new World();
  w.server.gate.setEspOffload(off);
  const c = w.client('carol', '198.18.0.9', true, 5, { childLifetimeSeconds: 120 });
  w.dial(c);
  assert.equal(events(w.server, 'session-established').length, 1, 'L2TP control crossed the native SAs both ways');
  assert.deepEqual([fp.espStats().inboundSas, fp.espStats().outboundSas, fp.espStats().flows], [1, 1, 1]);
  const firstSpi = w.server.gate.flowInfo(w.now)[0]?.sas[0]?.inboundSpi as number;
  assert.ok((fp.espCounters(firstSpi, true)?.[0] ?? 0) > 0, 'the addon opened the control messages');
  let sent = 0;
  for (let s = 1; s <= 200; s += 3) {
    w.runUntil(addDuration(T0, seconds(s)));
    w.sendFromClient(c, `m${sent++}`);
  }
  assert.equal(dataOf(w.server).length, sent, 'every frame arrived across the rekey');
  assert.ok(w.server.ipsec.some((e) => e.type === 'sa-switched'));
  const sa = w.server.gate.flowInfo(w.now)[0]?.sas[0];
  assert.notEqual(sa?.inboundSpi, firstSpi);
  assert.deepEqual([fp.espStats().inboundSas, fp.espStats().outboundSas, fp.espStats().flows], [1, 1, 1], 'the old pair left the addon with its delete');
  assert.equal(fp.espCounters(firstSpi, true), undefined);
  assert.ok((sa?.inbound.packetsIn ?? 0) > 0, 'show ipsec reads the addon\'s counters');
  c.initiator?.close(w.now);
  c.gate.handleTimeout(w.now);
  w.pump();
  assert.deepEqual([fp.espStats().inboundSas, fp.espStats().outboundSas, fp.espStats().flows], [0, 0, 0], 'IKE delete: SAs and flow gone from the addon');
});
