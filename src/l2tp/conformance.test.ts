/**
 * RFC 2661 conformance of the engine against a scripted peer (issue 10 items 1, 3, 4, 6, 8): every
 * datagram our engine sends is decoded and checked, on a virtual clock.
 *
 * - §3.1: a refusal (StopCCN / CDN for an unknown M=1 AVP, §4.2) goes to the peer's Assigned Tunnel /
 *   Session ID read from the refused message, never to 0; the refused message is reported with the
 *   AVPs that could be read.
 * - §5.8: when retransmissions run out, one last StopCCN (where the peer gave us its tunnel id).
 * - §6.5: hello_miss_count takes effect with the default tuning; a HELLO is acked at once.
 * - §4.4.3 / §4.4.4: Assigned IDs must be non-zero; a StopCCN without a Result Code still closes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../base/random.js';
import type { Instant } from '../base/time.js';
import { emitControl, parseControl, type AvpName } from '../wire/l2tp/index.js';
import { MessageType, sessionId, tunnelId, type ControlAvps, type ControlMessage } from '../wire/l2tp/types.js';
import type { EngineConfig, L2tpEvent, PeerAddress } from './api.js';
import { L2tpEngine, challengeResponse, defaultTunnelSettings } from './index.js';

const at = (ms: number): Instant => ms as Instant;
const PEER: PeerAddress = { address: '198.18.0.9', port: 1701, family: 4 };
/** Unknown AVP, M=1: vendor 9, attribute 77, three octets. */
const UNKNOWN_M1 = new Uint8Array([0x80, 0x09, 0x00, 0x09, 0x00, 0x4d, 1, 2, 3]);

/** `wire` with `avp` inserted right after the Message Type AVP (before every other AVP), Length fixed. */
function withAvpFirst(wire: Uint8Array, avp: Uint8Array): Uint8Array {
  const out = new Uint8Array(wire.length + avp.length);
  out.set(wire.subarray(0, 20));
  out.set(avp, 20);
  out.set(wire.subarray(20), 20 + avp.length);
  out[2] = out.length >> 8;
  out[3] = out.length & 0xff;
  return out;
}

interface Sent {
  readonly at: number;
  readonly msg: ControlMessage;
}

/** A scripted peer (LAC or LNS) against one engine: it numbers its messages and records ours. */
class Script {
  readonly e: L2tpEngine;
  readonly sent: Sent[] = [];
  readonly events: L2tpEvent[] = [];
  ns = 0;
  nr = 0;
  /** Our (the script's) tunnel id, and the engine's once learnt. */
  readonly mine = tunnelId(77);
  theirs = tunnelId(0);

  constructor(
    cfg: Partial<EngineConfig> = {},
    readonly secret?: Uint8Array,
  ) {
    this.e = new L2tpEngine(
      { acceptTunnels: true, accept: defaultTunnelSettings('engine'), acceptIncomingCalls: true, acceptOutgoingCalls: true, ...cfg },
      { random: seededRandom(5) },
    );
  }

  /**
   * Emit one message from the script (optionally with raw bytes spliced in, or some AVPs hidden with
   * `secret`, handed over as a Node Buffer like the UDP shell does), numbered.
   */
  send(now: number, type: MessageType, avps: ControlAvps, o: { session?: number; tunnel?: number; splice?: Uint8Array; hide?: ReadonlySet<AvpName>; secret?: Uint8Array } = {}): Uint8Array {
    const m = { tunnelId: tunnelId(o.tunnel ?? this.theirs), sessionId: sessionId(o.session ?? 0), ns: this.ns, nr: this.nr, type, avps };
    let wire = o.hide !== undefined && o.secret !== undefined ? Buffer.from(emitControl(m, { hide: o.hide, secret: o.secret, random: seededRandom(this.ns + 100) })) : emitControl(m);
    if (o.splice !== undefined) wire = withAvpFirst(wire, o.splice);
    this.ns++;
    this.e.handleDatagram(at(now), wire, PEER);
    this.drain(now);
    return wire;
  }

  /** A ZLB ack from the script. */
  ack(now: number): void {
    this.e.handleDatagram(at(now), emitControl({ tunnelId: this.theirs, sessionId: sessionId(0), ns: this.ns, nr: this.nr, type: undefined, avps: {} }), PEER);
    this.drain(now);
  }

  /** Run the engine's timers up to `until` exactly at each deadline. */
  run(until: number): void {
    for (let next = this.e.pollAt(); next !== undefined && next <= until; next = this.e.pollAt()) {
      this.e.handleTimeout(next);
      this.drain(next);
    }
  }

  /** Collect what the engine sent (the script acknowledges nothing by itself). */
  drain(now: number): void {
    for (let tx = this.e.pollTransmit(); tx; tx = this.e.pollTransmit()) {
      const r = parseControl(tx.data, this.secret === undefined ? {} : { secret: this.secret });
      assert.ok(r.ok, 'the engine sends well-formed control messages');
      if (r.value.type !== undefined && r.value.ns === this.nr) this.nr = (this.nr + 1) & 0xffff;
      this.sent.push({ at: now, msg: r.value });
    }
    for (let ev = this.e.pollEvent(); ev; ev = this.e.pollEvent()) this.events.push(ev);
  }

  of(type: MessageType | undefined): Sent[] {
    return this.sent.filter((s) => s.msg.type === type);
  }
}

const SCCRQ: ControlAvps = { protocolVersion: { version: 1, revision: 0 }, hostName: 'peer', framingCapabilities: 3, assignedTunnelId: tunnelId(77) };
const SCCRP: ControlAvps = { protocolVersion: { version: 1, revision: 0 }, hostName: 'peer', framingCapabilities: 3, assignedTunnelId: tunnelId(77) };

/** The engine as LNS with an established tunnel from the script. */
function lnsEstablished(): Script {
  const p = new Script();
  p.send(0, MessageType.SCCRQ, SCCRQ, { tunnel: 0 });
  const sccrp = p.of(MessageType.SCCRP)[0];
  assert.ok(sccrp !== undefined);
  p.theirs = sccrp.msg.avps.assignedTunnelId ?? tunnelId(0);
  p.send(10, MessageType.SCCCN, {});
  return p;
}

/** The engine as LAC: it opened a tunnel to the script; returns after its SCCRQ. */
function lacOpening(): { p: Script; tid: number } {
  const p = new Script({ acceptTunnels: false });
  const tid = p.e.openTunnel(at(0), PEER, defaultTunnelSettings('lac'));
  p.drain(0);
  assert.equal(p.of(MessageType.SCCRQ).length, 1);
  p.theirs = tunnelId(tid);
  return { p, tid };
}

// ------------------------------------------------------------------ item 1: refusals addressed to the peer

test('ICRQ with an unknown M=1 AVP before its Assigned Session ID: CDN 2/8 to the peer session, refused message logged with its AVPs', () => {
  const p = lnsEstablished();
  p.send(20, MessageType.ICRQ, { assignedSessionId: sessionId(0x1234), callSerialNumber: 9, callingNumber: '0312' }, { splice: UNKNOWN_M1 });
  const cdn = p.of(MessageType.CDN)[0];
  assert.ok(cdn !== undefined, 'a CDN answers the refused ICRQ');
  assert.equal(cdn.msg.sessionId, 0x1234, '§3.1: header Session ID = the peer\'s Assigned Session ID, not 0');
  assert.equal(cdn.msg.tunnelId, 77);
  assert.deepStrictEqual(cdn.msg.avps.resultCode, { result: 2, error: 8, message: 'unknown mandatory AVP' });
  const rx = p.events.find((e) => e.type === 'control-rx' && e.messageType === MessageType.ICRQ);
  assert.ok(rx?.type === 'control-rx');
  assert.equal(rx.avps.assignedSessionId, 0x1234, 'the refused message is reported with the AVPs that were read');
  assert.equal(rx.avps.callingNumber, '0312');
  assert.deepStrictEqual(rx.refused?.error, { kind: 'unknown-mandatory-avp', vendorId: 9, attribute: 77 });
  assert.equal(p.e.tunnelCount, 1, 'only the call is refused (§4.2)');
});

test('SCCRP with an unknown M=1 AVP: our LAC sends StopCCN 2/8 to the peer\'s Assigned Tunnel ID, acked, no retransmissions', () => {
  const { p } = lacOpening();
  p.send(50, MessageType.SCCRP, SCCRP, { tunnel: p.theirs, splice: UNKNOWN_M1 });
  const stops = p.of(MessageType.StopCCN);
  assert.equal(stops.length, 1);
  assert.equal(stops[0]?.msg.tunnelId, 77, '§3.1: header Tunnel ID = the peer\'s Assigned Tunnel ID, not 0');
  assert.deepStrictEqual(stops[0]?.msg.avps.resultCode, { result: 2, error: 8, message: 'unknown mandatory AVP' });
  p.ack(60);
  p.run(200_000);
  assert.equal(p.of(MessageType.StopCCN).length, 1, 'the acked StopCCN is not retransmitted');
  assert.equal(p.e.tunnelCount, 0);
});

test('SCCRQ answered by a StopCCN (an LNS refusing us): the ZLB ack goes at once to the StopCCN\'s Assigned Tunnel ID, never to 0', () => {
  const { p } = lacOpening();
  const before = p.sent.length;
  p.send(50, MessageType.StopCCN, { assignedTunnelId: tunnelId(77), resultCode: { result: 2, error: 6, message: 'No Authorization' } }, { tunnel: p.theirs });
  const acks = p.sent.slice(before).filter((s) => s.msg.type === undefined);
  assert.equal(acks.length, 1, '§5.7: the StopCCN is acknowledged by a ZLB');
  assert.equal(acks[0]?.at, 50, 'at once (the peer retransmits it until acknowledged)');
  assert.equal(acks[0]?.msg.tunnelId, 77, '§3.1: header Tunnel ID = the StopCCN\'s Assigned Tunnel ID');
  assert.equal(acks[0]?.msg.nr, 1, 'the StopCCN\'s Ns is acknowledged');
  p.run(200_000);
  assert.equal(p.e.tunnelCount, 0);
});

test('ICRP with an unknown M=1 AVP: our LAC sends CDN 2/8 to the peer\'s Assigned Session ID', () => {
  const { p, tid } = lacOpening();
  const sid = p.e.openSession(at(0), tid as never, { direction: 'incoming' });
  p.send(50, MessageType.SCCRP, SCCRP, { tunnel: p.theirs });
  const icrq = p.of(MessageType.ICRQ)[0];
  assert.ok(icrq !== undefined && sid !== undefined);
  p.send(60, MessageType.ICRP, { assignedSessionId: sessionId(0x4444) }, { session: sid, splice: UNKNOWN_M1 });
  const cdn = p.of(MessageType.CDN)[0];
  assert.equal(cdn?.msg.sessionId, 0x4444, '§3.1: the CDN goes to the session the peer assigned');
  assert.deepStrictEqual(cdn?.msg.avps.resultCode, { result: 2, error: 8, message: 'unknown mandatory AVP' });
  assert.equal(cdn?.msg.avps.assignedSessionId, sid);
});

test('SCCRQ with an unknown M=1 AVP: StopCCN 2/8 to its Assigned Tunnel ID (no tunnel is set up); a retransmitted SCCRQ is only re-acked', () => {
  const p = new Script();
  p.send(0, MessageType.SCCRQ, SCCRQ, { tunnel: 0, splice: UNKNOWN_M1 });
  assert.equal(p.of(MessageType.SCCRP).length, 0);
  const stop = p.of(MessageType.StopCCN)[0];
  assert.equal(stop?.msg.tunnelId, 77);
  assert.equal(stop?.msg.nr, 1, 'the SCCRQ\'s Ns is consumed');
  assert.deepStrictEqual(stop?.msg.avps.resultCode, { result: 2, error: 8, message: 'unknown mandatory AVP' });
  // The peer did not get it and retransmits its SCCRQ (same Ns 0).
  p.ns = 0;
  p.send(1000, MessageType.SCCRQ, SCCRQ, { tunnel: 0, splice: UNKNOWN_M1 });
  p.run(1200);
  assert.equal(p.e.tunnelCount, 1, 'the retransmission reaches the lingering refusal, no second tunnel');
  assert.equal(p.of(MessageType.SCCRP).length, 0);
  assert.ok(p.sent.some((s) => s.at >= 1000 && s.msg.nr === 1), 'the retransmitted SCCRQ is acknowledged again');
  assert.ok(p.e.tunnels(at(1200)).every((t) => t.state === 'closing'));
});

// ------------------------------------------------------------------ item 6: zero ids, StopCCN without Result Code

test('SCCRQ with Assigned Tunnel ID 0: StopCCN 2/3 (header tunnel 0, our Assigned Tunnel ID), never an SCCRP', () => {
  const p = new Script();
  p.send(0, MessageType.SCCRQ, { ...SCCRQ, assignedTunnelId: tunnelId(0) }, { tunnel: 0 });
  assert.equal(p.of(MessageType.SCCRP).length, 0);
  const stop = p.of(MessageType.StopCCN)[0];
  assert.ok(stop !== undefined, 'the SCCRQ is refused, not ignored');
  assert.equal(stop.msg.tunnelId, 0, 'the peer gave no id: header tunnel 0');
  assert.notEqual(stop.msg.avps.assignedTunnelId, 0);
  assert.deepStrictEqual(stop.msg.avps.resultCode, { result: 2, error: 3, message: 'assigned id 0' });
  assert.ok(p.events.every((e) => e.type !== 'tunnel-established'));
});

test('StopCCN without a Result Code: acked at once (ZLB) and the tunnel closes', () => {
  const p = lnsEstablished();
  p.run(500);
  const before = p.sent.length;
  p.send(1000, MessageType.StopCCN, { assignedTunnelId: tunnelId(77) });
  p.run(1200);
  const after = p.sent.slice(before);
  const zlb = after.find((s) => s.msg.type === undefined);
  assert.ok(zlb !== undefined, 'the StopCCN is acknowledged');
  assert.equal(zlb.msg.nr, p.ns, 'the ack covers the StopCCN');
  const closing = p.events.find((e) => e.type === 'tunnel-closing');
  assert.ok(closing?.type === 'tunnel-closing');
  assert.equal(closing.reason.cause, 'stopccn');
  assert.equal(closing.reason.by, 'peer');
});

// ------------------------------------------------------------------ item 3: StopCCN when retransmissions run out

test('SCCRP never acknowledged: retransmitted at 1, 3, 7, 15, 31 s, then at 47 s one StopCCN to the peer\'s tunnel, then nothing', () => {
  const p = new Script();
  p.send(0, MessageType.SCCRQ, SCCRQ, { tunnel: 0 });
  p.run(46_999);
  assert.deepStrictEqual(p.of(MessageType.SCCRP).map((s) => s.at), [0, 1000, 3000, 7000, 15000, 31000]);
  assert.equal(p.of(MessageType.StopCCN).length, 0, 'no StopCCN before the retries run out');
  p.run(47_000);
  const stops = p.of(MessageType.StopCCN);
  assert.deepStrictEqual(stops.map((s) => s.at), [47_000]);
  assert.equal(stops[0]?.msg.tunnelId, 77);
  assert.equal(stops[0]?.msg.ns, 1, 'the StopCCN follows the SCCRP in sequence');
  assert.equal(p.e.tunnelCount, 0);
  p.run(500_000);
  assert.equal(p.sent.length, 7, 'the last StopCCN is not retransmitted');
  const closed = p.events.find((e) => e.type === 'tunnel-closed');
  assert.ok(closed?.type === 'tunnel-closed' && closed.reason.cause === 'retransmit-timeout');
});

test('SCCCN never acknowledged (our LAC): one StopCCN to the peer\'s tunnel when the retries run out', () => {
  const { p } = lacOpening();
  p.ack(10);
  p.send(50, MessageType.SCCRP, SCCRP, { tunnel: p.theirs });
  assert.deepStrictEqual(p.of(MessageType.SCCCN).map((s) => s.at), [50]);
  p.run(100_000);
  assert.deepStrictEqual(p.of(MessageType.SCCCN).map((s) => s.at), [50, 1050, 3050, 7050, 15050, 31050]);
  const stops = p.of(MessageType.StopCCN);
  assert.deepStrictEqual(stops.map((s) => s.at), [47_050]);
  assert.equal(stops[0]?.msg.tunnelId, 77);
  assert.equal(p.e.tunnelCount, 0);
});

test('SCCRQ never answered: no StopCCN (the peer gave no tunnel id to address it to, §3.1)', () => {
  const { p } = lacOpening();
  p.run(100_000);
  assert.deepStrictEqual(p.of(MessageType.SCCRQ).map((s) => s.at), [0, 1000, 3000, 7000, 15000, 31000]);
  assert.equal(p.of(MessageType.StopCCN).length, 0);
  assert.equal(p.e.tunnelCount, 0);
});

// ------------------------------------------------------------------ item 4: hello_miss_count with the default tuning

test('default tuning: a silent peer is declared dead by hello_miss_count (3 intervals), not by the retry budget; then one StopCCN', () => {
  const p = lnsEstablished();
  p.run(1000); // the SCCCN's ack
  // The first HELLO follows 60 s of silence less the tunnel's phase (0-10 % of the interval, issue 15).
  p.run(53_999);
  assert.equal(p.of(MessageType.HELLO).length, 0);
  p.run(60_010);
  const h0 = p.of(MessageType.HELLO)[0]?.at;
  assert.ok(h0 !== undefined && h0 >= 54_000 && h0 <= 60_010, `HELLO after 54-60 s of silence (at ${String(h0)})`);
  // Before: the HELLO's 5 retries ran out at +47 s and the tunnel vanished before a second interval.
  p.run(h0 + 59_000);
  assert.equal(p.e.tunnelCount, 1, 'still up after the HELLO retries of the default budget');
  assert.equal(p.of(MessageType.StopCCN).length, 0);
  p.run(h0 + 179_990);
  assert.equal(p.e.tunnelCount, 1);
  p.run(h0 + 180_010);
  const counts = p.events.filter((e) => e.type === 'keepalive-countdown').map((e) => (e.type === 'keepalive-countdown' ? e.remaining : -1));
  assert.deepStrictEqual(counts, [2, 1, 0]);
  assert.ok(p.events.some((e) => e.type === 'keepalive-expired'));
  const stops = p.of(MessageType.StopCCN);
  assert.equal(stops.length, 1);
  const stopAt = stops[0]?.at ?? 0;
  assert.ok(Math.abs(stopAt - (h0 + 180_000)) <= 10, `StopCCN three intervals after the first HELLO (at ${stopAt})`);
  assert.equal(stops[0]?.msg.tunnelId, 77);
  assert.equal(p.e.tunnelCount, 0);
  // The HELLO was retransmitted at the cap meanwhile (it never gave up on its own).
  assert.ok(p.of(MessageType.HELLO).length > 6);
});

// ------------------------------------------------------------------ item 8: immediate ZLB for HELLO

test('HELLO from the peer is acked by a ZLB at once, not after the delayed-ack timer', () => {
  const p = lnsEstablished();
  p.run(1000);
  const before = p.sent.length;
  p.send(5000, MessageType.HELLO, {});
  const now = p.sent.slice(before);
  assert.equal(now.length, 1, 'answered within the same datagram handling');
  assert.equal(now[0]?.msg.type, undefined);
  assert.equal(now[0]?.at, 5000);
  assert.equal(now[0]?.msg.nr, p.ns);
  p.run(6000);
  assert.equal(p.sent.length, before + 1, 'no second (delayed) ZLB');
});

// ------------------------------------------------------------------ item 2: hidden AVPs from a Node Buffer, end to end

const SECRET = new TextEncoder().encode('tunnel-secret');

test('our LAC against an LNS that hides Challenge, Challenge Response and a 150-octet Vendor Name, datagram as a Buffer: established, input untouched', () => {
  const p = new Script({ acceptTunnels: false }, SECRET);
  const tid = p.e.openTunnel(at(0), PEER, { ...defaultTunnelSettings('lac'), secret: SECRET });
  p.drain(0);
  p.theirs = tunnelId(tid);
  const ours = p.of(MessageType.SCCRQ)[0]?.msg.avps.challenge;
  assert.ok(ours !== undefined, 'our LAC challenges the LNS');
  const lnsChallenge = new Uint8Array(40).map((_, i) => (i * 37 + 11) & 0xff);
  const vendor = 'v'.repeat(100) + '-0123456789'.repeat(5);
  const hide = new Set<AvpName>(['challenge', 'challengeResponse', 'vendorName']);
  const wire = p.send(50, MessageType.SCCRP, { ...SCCRP, vendorName: vendor, challenge: lnsChallenge, challengeResponse: challengeResponse(MessageType.SCCRP, SECRET, ours) }, { hide, secret: SECRET, tunnel: p.theirs });
  assert.ok(Buffer.isBuffer(wire));
  const copy = Uint8Array.from(wire);
  assert.equal(p.of(MessageType.StopCCN).length, 0, 'the hidden Challenge Response was revealed correctly');
  const scccn = p.of(MessageType.SCCCN)[0];
  assert.ok(scccn !== undefined);
  assert.deepStrictEqual(scccn.msg.avps.challengeResponse, challengeResponse(MessageType.SCCCN, SECRET, lnsChallenge), 'the 40-octet hidden Challenge was revealed correctly');
  assert.equal(p.e.tunnels(at(60))[0]?.remoteVendorName, vendor);
  assert.deepStrictEqual(Uint8Array.from(wire), copy, 'the received datagram is not modified');
});

test('our LNS: ICRQ with hidden Calling / Called Numbers of 15..200 octets from a Buffer decodes exactly', () => {
  const p = new Script({ accept: { ...defaultTunnelSettings('lns'), secret: SECRET } }, SECRET);
  p.send(0, MessageType.SCCRQ, SCCRQ, { tunnel: 0 });
  const sccrp = p.of(MessageType.SCCRP)[0];
  assert.ok(sccrp !== undefined);
  p.theirs = sccrp.msg.avps.assignedTunnelId ?? tunnelId(0);
  const challenge = sccrp.msg.avps.challenge;
  assert.ok(challenge !== undefined);
  p.send(10, MessageType.SCCCN, { challengeResponse: challengeResponse(MessageType.SCCCN, SECRET, challenge) });
  assert.equal(p.e.tunnels(at(10))[0]?.state, 'established');
  for (const n of [15, 16, 17, 31, 33, 64, 127, 200]) {
    const calling = Array.from({ length: n }, (_, i) => String.fromCharCode(48 + ((i * 7 + n) % 43))).join('');
    const called = 'x'.repeat(n);
    const wire = p.send(20 + n, MessageType.ICRQ, { assignedSessionId: sessionId(1000 + n), callSerialNumber: n, callingNumber: calling, calledNumber: called }, { hide: new Set<AvpName>(['callingNumber', 'calledNumber']), secret: SECRET });
    const copy = Uint8Array.from(wire);
    const s = p.e.tunnels(at(30 + n))[0]?.sessions.find((x) => x.remoteSessionId === 1000 + n);
    assert.equal(s?.callingNumber, calling, `${n} octets`);
    assert.equal(s?.calledNumber, called, `${n} octets`);
    assert.deepStrictEqual(Uint8Array.from(wire), copy);
  }
});
