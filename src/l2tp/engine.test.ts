import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../base/random.js';
import type { Duration, Instant } from '../base/time.js';
import { emitControl, parseControl, parseData } from '../wire/l2tp/index.js';
import { MessageType, sessionId, tunnelId, type ControlAvps, type ControlMessage } from '../wire/l2tp/types.js';
import { SimNet, eventsOf, type SimNode } from '../../test/sim/harness.js';
import type { EngineConfig, L2tpEvent, PeerAddress, TunnelSettings } from './api.js';
import { DATA_HEADROOM, L2tpEngine, challengeResponse, defaultTunnelSettings, defaultTuning } from './index.js';

const at = (ms: number): Instant => ms as Instant;
const secretA = new TextEncoder().encode('s3cret');
const secretB = new TextEncoder().encode('other');

function config(name: string, over: Partial<TunnelSettings> = {}, cfg: Partial<EngineConfig> = {}): EngineConfig {
  return {
    acceptTunnels: true,
    accept: { ...defaultTunnelSettings(name), ...over },
    acceptIncomingCalls: true,
    acceptOutgoingCalls: true,
    ...cfg,
  };
}

const engine = (cfg: EngineConfig, seed: number): L2tpEngine => new L2tpEngine(cfg, { random: seededRandom(seed) });

function pair(
  lacOver: Partial<TunnelSettings> = {},
  lnsOver: Partial<TunnelSettings> = {},
  seeds: [number, number] = [11, 22],
): { net: SimNet; lac: SimNode; lns: SimNode; lacSettings: TunnelSettings } {
  const net = new SimNet(7);
  const lacSettings = { ...defaultTunnelSettings('lac'), ...lacOver };
  const lac = net.add('lac', '198.18.0.1', engine(config('lac', lacOver), seeds[0]));
  const lns = net.add('lns', '198.18.0.2', engine(config('lns', lnsOver), seeds[1]));
  return { net, lac, lns, lacSettings };
}

const of = eventsOf;
const types = (n: SimNode): string[] => n.events.map((e) => e.type);

test('LAC opens a tunnel and an incoming call; both ends establish', () => {
  const { net, lac, lns, lacSettings } = pair();
  const tid = lac.engine.openTunnel(at(0), lns.addr, lacSettings);
  const sid = lac.engine.openSession(at(0), tid, { direction: 'incoming', callingNumber: '0312345678' });
  assert.ok(sid !== undefined);
  net.advance(1000);
  assert.equal(of(lac, 'tunnel-established').length, 1);
  assert.equal(of(lns, 'tunnel-established').length, 1);
  assert.equal(of(lac, 'session-established')[0]?.session, sid);
  const lnsSession = of(lns, 'session-established')[0];
  assert.equal(lnsSession?.remoteSession, sid);
  const [ti] = lac.engine.tunnels(at(net.now));
  assert.equal(ti?.state, 'established');
  assert.equal(ti?.remoteHostName, 'lns');
  assert.equal(ti?.sessions[0]?.role, 'lac');
  assert.equal(lns.engine.tunnels(at(net.now))[0]?.sessions[0]?.callingNumber, '0312345678');
  // The daemon's AVP debug log gets typed AVPs.
  const sccrq = of(lns, 'control-rx').find((e) => e.messageType === MessageType.SCCRQ);
  assert.equal(sccrq?.avps.hostName, 'lac');
});

test('LNS places an outgoing call (OCRQ → OCRP → OCCN)', () => {
  const { net, lac, lns } = pair();
  const tid = lns.engine.openTunnel(at(0), lac.addr, defaultTunnelSettings('lns'));
  const sid = lns.engine.openSession(at(0), tid, { direction: 'outgoing', calledNumber: '117' });
  net.advance(1000);
  const sent = of(lns, 'control-tx').map((e) => e.messageType);
  assert.ok(sent.includes(MessageType.OCRQ));
  assert.ok(of(lac, 'control-tx').some((e) => e.messageType === MessageType.OCRP));
  assert.ok(of(lac, 'control-tx').some((e) => e.messageType === MessageType.OCCN));
  assert.equal(of(lns, 'session-established')[0]?.session, sid);
  assert.equal(lac.engine.tunnels(at(net.now))[0]?.sessions[0]?.role, 'lac');
  assert.equal(lns.engine.tunnels(at(net.now))[0]?.sessions[0]?.role, 'lns');
});

test('retransmission schedule at exact instants, then teardown (not established)', () => {
  const e = engine(config('lac'), 1);
  const peer: PeerAddress = { address: '198.18.0.9', port: 1701, family: 4 };
  const settings = { ...defaultTunnelSettings('lac'), tuning: { ...defaultTuning(), retriesNotEstablished: 6 } };
  const tid = e.openTunnel(at(0), peer, settings);
  const sends: number[] = [];
  const drain = (now: number): void => {
    while (e.pollTransmit() !== undefined) sends.push(now);
  };
  drain(0);
  for (const t of [1000, 3000, 7000, 15000, 31000, 47000]) {
    e.handleTimeout(at(t - 1));
    drain(t - 1);
    assert.equal(e.pollAt(), t);
    e.handleTimeout(at(t));
    drain(t);
  }
  assert.deepEqual(sends, [0, 1000, 3000, 7000, 15000, 31000, 47000]);
  const evs: L2tpEvent[] = [];
  for (let ev = e.pollEvent(); ev; ev = e.pollEvent()) evs.push(ev);
  assert.deepEqual(
    evs.filter((x) => x.type === 'retransmit').map((x) => (x.type === 'retransmit' ? x.nextIn : 0)),
    [2000, 4000, 8000, 16000, 16000, 16000],
  );
  e.handleTimeout(at(62999));
  assert.equal(e.tunnelCount, 1);
  e.handleTimeout(at(63000));
  assert.equal(e.tunnelCount, 0);
  const rest: L2tpEvent[] = [];
  for (let ev = e.pollEvent(); ev; ev = e.pollEvent()) rest.push(ev);
  assert.deepEqual(
    rest.map((x) => x.type),
    ['state-timer-expired', 'tunnel-closing', 'tunnel-closed'],
  );
  const closed = rest.at(-1);
  assert.ok(closed?.type === 'tunnel-closed' && closed.tunnel === tid && closed.reason.cause === 'retransmit-timeout');
});

test('established tunnel uses its own retry count before teardown', () => {
  const tuning = { ...defaultTuning(), retriesEstablished: 2, retriesNotEstablished: 9 };
  const { net, lac, lns, lacSettings } = pair({ tuning }, { tuning });
  const tid = lac.engine.openTunnel(at(0), lns.addr, lacSettings);
  net.advance(500);
  assert.equal(of(lac, 'tunnel-established').length, 1);
  // The LNS goes silent; the LAC places a call that is never acked.
  net.filter = (from) => from.address !== lns.addr.address;
  lac.engine.openSession(at(net.now), tid, { direction: 'incoming' });
  const t0 = net.now;
  net.advance(20_000);
  const closed = of(lac, 'tunnel-closed')[0];
  assert.equal(closed?.reason.cause, 'retransmit-timeout');
  // Retransmits at +1 s and +3 s, failure at +7 s.
  assert.deepEqual(of(lac, 'retransmit').map((r) => r.attempt), [1, 2]);
  assert.equal(of(lac, 'session-closed').length, 1);
  void t0;
});

test('tie breaker: crossing SCCRQs leave one tunnel; the lower value wins (§4.4.3)', () => {
  const { net, lac, lns } = pair({}, {}, [3, 4]);
  const a = lac.engine.openTunnel(at(0), lns.addr, defaultTunnelSettings('lac'));
  const b = lns.engine.openTunnel(at(0), lac.addr, defaultTunnelSettings('lns'));
  const sid = lac.engine.openSession(at(0), a, { direction: 'incoming' });
  net.advance(2000);
  const lacTb = of(lac, 'control-tx').find((e) => e.messageType === MessageType.SCCRQ)?.avps.tieBreaker;
  const lnsTb = of(lns, 'control-tx').find((e) => e.messageType === MessageType.SCCRQ)?.avps.tieBreaker;
  assert.ok(lacTb && lnsTb);
  const lacWins = Buffer.compare(Buffer.from(lacTb), Buffer.from(lnsTb)) < 0;
  const up = (n: SimNode) => n.engine.tunnels(at(net.now)).filter((t) => t.state === 'established');
  assert.equal(up(lac).length, 1);
  assert.equal(up(lns).length, 1);
  assert.equal(up(lac)[0]?.originator, lacWins);
  const loser = lacWins ? lns : lac;
  assert.equal(of(loser, 'tunnel-closed')[0]?.reason.cause, 'tie-breaker');
  assert.equal(of(loser, 'control-tx').filter((e) => e.messageType === MessageType.StopCCN).length, 0, 'silently discarded');
  // The call queued on the LAC's tunnel comes up either way (moved to the winner's tunnel if we lost).
  assert.equal(of(lac, 'session-established')[0]?.session, sid);
  void b;
});

test('tie breaker: equal values → both sides discard their tunnels', () => {
  // Same seed → same Tie Breaker on both sides.
  const { net, lac, lns } = pair({}, {}, [5, 5]);
  const a = lac.engine.openTunnel(at(0), lns.addr, defaultTunnelSettings('lac'));
  lac.engine.openSession(at(0), a, { direction: 'incoming' });
  lns.engine.openTunnel(at(0), lac.addr, defaultTunnelSettings('lns'));
  net.advance(200);
  assert.equal(lac.engine.tunnelCount, 0);
  assert.equal(lns.engine.tunnelCount, 0);
  assert.equal(of(lac, 'session-closed').length, 1, 'the waiting call is cleared, not leaked');
});

test('tunnel authentication succeeds both directions; hidden AVPs travel end to end', () => {
  const { net, lac, lns, lacSettings } = pair({ secret: secretA, hideAvps: true }, { secret: secretA, hideAvps: true });
  net.record = true;
  const tid = lac.engine.openTunnel(at(0), lns.addr, lacSettings);
  lac.engine.openSession(at(0), tid, { direction: 'incoming', callingNumber: 'HIDDEN-NUMBER-42' });
  net.advance(1000);
  assert.equal(of(lac, 'tunnel-established').length, 1);
  assert.equal(of(lns, 'session-established').length, 1);
  const sccrp = of(lac, 'control-rx').find((e) => e.messageType === MessageType.SCCRP);
  assert.ok(sccrp?.avps.challengeResponse && sccrp.avps.challenge);
  const scccn = of(lns, 'control-rx').find((e) => e.messageType === MessageType.SCCCN);
  assert.ok(scccn?.avps.challengeResponse);
  // The LNS decoded the hidden Calling Number; the plaintext never went on the wire.
  assert.equal(of(lns, 'control-rx').find((e) => e.messageType === MessageType.ICRQ)?.avps.callingNumber, 'HIDDEN-NUMBER-42');
  const plain = Buffer.from('HIDDEN-NUMBER-42');
  assert.ok(lac.sent.length > 0);
  for (const s of lac.sent) assert.equal(Buffer.from(s.data).indexOf(plain), -1);
});

test('tunnel auth failure detected by the LAC (wrong SCCRP response) → StopCCN result 4', () => {
  const { net, lac, lns, lacSettings } = pair({ secret: secretB }, { secret: secretA });
  lac.engine.openTunnel(at(0), lns.addr, lacSettings);
  net.advance(100_000);
  assert.equal(of(lac, 'tunnel-auth-failed')[0]?.detail, 'wrong challenge response');
  const stop = of(lac, 'control-tx').find((e) => e.messageType === MessageType.StopCCN);
  assert.equal(stop?.avps.resultCode?.result, 4);
  assert.equal(of(lns, 'tunnel-closed')[0]?.reason.result.result, 4);
  assert.equal(lac.engine.tunnelCount, 0);
  assert.equal(lns.engine.tunnelCount, 0);
});

/** A scripted peer talking to one engine: builds control messages and reads the engine's answers. */
class FakePeer {
  ns = 0;
  nr = 0;
  remote = tunnelId(0);
  readonly addr: PeerAddress;
  constructor(
    readonly e: L2tpEngine,
    port = 1701,
    readonly secret?: Uint8Array,
  ) {
    this.addr = { address: '198.51.100.7', port, family: 4 };
  }
  send(now: number, type: MessageType | undefined, avps: ControlAvps, session = 0): void {
    const msg: ControlMessage = { tunnelId: this.remote, sessionId: sessionId(session), ns: this.ns, nr: this.nr, type, avps };
    if (type !== undefined) this.ns = (this.ns + 1) & 0xffff;
    this.e.handleDatagram(at(now), emitControl(msg, this.secret ? { secret: this.secret } : {}), this.addr);
  }
  /** Everything the engine sent, parsed. Updates nr from non-ZLB messages. */
  recv(): { to: PeerAddress; msg: ControlMessage }[] {
    const out: { to: PeerAddress; msg: ControlMessage }[] = [];
    for (let tx = this.e.pollTransmit(); tx; tx = this.e.pollTransmit()) {
      const r = parseControl(tx.data, this.secret ? { secret: this.secret } : {});
      assert.ok(r.ok, 'engine emits parseable control messages');
      if (r.value.type !== undefined && r.value.ns === this.nr) this.nr = (this.nr + 1) & 0xffff;
      out.push({ to: tx.to, msg: r.value });
    }
    return out;
  }
  events(): L2tpEvent[] {
    const out: L2tpEvent[] = [];
    for (let ev = this.e.pollEvent(); ev; ev = this.e.pollEvent()) out.push(ev);
    return out;
  }
}

const sccrqAvps = (over: ControlAvps = {}): ControlAvps => ({
  protocolVersion: { version: 1, revision: 0 },
  hostName: 'fake',
  framingCapabilities: 3,
  assignedTunnelId: tunnelId(777),
  ...over,
});

/** Bring a fake LAC's tunnel to established against an engine. */
function fakeEstablish(e: L2tpEngine, over: ControlAvps = {}): { p: FakePeer; local: number } {
  const p = new FakePeer(e);
  p.send(0, MessageType.SCCRQ, sccrqAvps(over));
  const [sccrp] = p.recv();
  assert.equal(sccrp?.msg.type, MessageType.SCCRP);
  const local = sccrp?.msg.avps.assignedTunnelId ?? 0;
  p.remote = tunnelId(local);
  p.send(10, MessageType.SCCCN, {});
  e.handleTimeout(at(200));
  p.recv();
  return { p, local };
}

test('tunnel auth failure detected by the LNS: missing and wrong SCCCN responses', () => {
  for (const [label, response] of [
    ['missing challenge response', undefined],
    ['wrong challenge response', new Uint8Array(16)],
  ] as const) {
    const e = engine(config('lns', { secret: secretA }), 9);
    const p = new FakePeer(e);
    p.send(0, MessageType.SCCRQ, sccrqAvps());
    const [sccrp] = p.recv();
    assert.ok(sccrp?.msg.avps.challenge, 'LNS challenges the peer');
    p.remote = tunnelId(sccrp.msg.avps.assignedTunnelId ?? 0);
    p.send(10, MessageType.SCCCN, response === undefined ? {} : { challengeResponse: response });
    const out = p.recv();
    const stop = out.find((o) => o.msg.type === MessageType.StopCCN);
    assert.equal(stop?.msg.avps.resultCode?.result, 4, label);
    const evs = p.events();
    const fail = evs.find((x) => x.type === 'tunnel-auth-failed');
    assert.ok(fail?.type === 'tunnel-auth-failed' && fail.detail === label);
  }
});

test('a correct SCCCN response (MD5 of type 3 + secret + challenge) establishes', () => {
  const e = engine(config('lns', { secret: secretA }), 9);
  const p = new FakePeer(e);
  const c1 = new Uint8Array(16).fill(7);
  p.send(0, MessageType.SCCRQ, sccrqAvps({ challenge: c1 }));
  const [sccrp] = p.recv();
  assert.deepEqual(sccrp?.msg.avps.challengeResponse, challengeResponse(2, secretA, c1));
  p.remote = tunnelId(sccrp?.msg.avps.assignedTunnelId ?? 0);
  p.send(10, MessageType.SCCCN, { challengeResponse: challengeResponse(3, secretA, sccrp?.msg.avps.challenge ?? new Uint8Array()) });
  assert.ok(p.events().some((x) => x.type === 'tunnel-established'));
});

test('SCCRQ checks: protocol version, host name allow-list, duplicate SCCRQ, NAT reply port', () => {
  // Version 2.0 → StopCCN result 5 naming 1.0 as the highest supported.
  {
    const e = engine(config('lns'), 1);
    const p = new FakePeer(e);
    p.send(0, MessageType.SCCRQ, sccrqAvps({ protocolVersion: { version: 2, revision: 0 } }));
    const stop = p.recv().find((o) => o.msg.type === MessageType.StopCCN);
    assert.equal(stop?.msg.avps.resultCode?.result, 5);
    assert.equal(stop?.msg.avps.resultCode?.error, 0x0100);
    assert.equal(stop?.msg.tunnelId, 777);
  }
  // Host name not in allowedHostNames → StopCCN result 4.
  {
    const e = engine(config('lns', { allowedHostNames: ['good'] }), 1);
    const p = new FakePeer(e);
    p.send(0, MessageType.SCCRQ, sccrqAvps({ hostName: 'evil' }));
    assert.equal(p.recv().find((o) => o.msg.type === MessageType.StopCCN)?.msg.avps.resultCode?.result, 4);
    assert.ok(p.events().some((x) => x.type === 'tunnel-auth-failed'));
  }
  // Duplicate SCCRQ = retransmission: one tunnel, re-acked; replies go to the NATed source port.
  {
    const e = engine(config('lns'), 1);
    const p = new FakePeer(e, 40123);
    const bytes = emitControl({ tunnelId: tunnelId(0), sessionId: sessionId(0), ns: 0, nr: 0, type: MessageType.SCCRQ, avps: sccrqAvps() });
    e.handleDatagram(at(0), bytes, p.addr);
    e.handleDatagram(at(500), bytes, p.addr);
    assert.equal(e.tunnelCount, 1);
    e.handleTimeout(at(600));
    const out = p.recv();
    assert.deepEqual(
      out.map((o) => o.msg.type),
      [MessageType.SCCRP, undefined],
      'SCCRP once, then a ZLB for the duplicate',
    );
    for (const o of out) assert.equal(o.to.port, 40123);
  }
});

test('unknown M=1 AVP: tunnel message → StopCCN 2/8; session message → CDN 2/8 (§4.2)', () => {
  const weird = { vendorId: 0, attribute: 250, mandatory: true, hidden: false, value: new Uint8Array([1, 2]) };
  {
    const e = engine(config('lns'), 2);
    const { p } = fakeEstablish(e);
    p.send(1000, MessageType.HELLO, { unknown: [weird] });
    const stop = p.recv().find((o) => o.msg.type === MessageType.StopCCN);
    assert.deepEqual(
      { r: stop?.msg.avps.resultCode?.result, e: stop?.msg.avps.resultCode?.error },
      { r: 2, e: 8 },
    );
    // The offending message was consumed: StopCCN acknowledges it.
    assert.equal(stop?.msg.nr, 3);
  }
  {
    const e = engine(config('lns'), 2);
    const { p } = fakeEstablish(e);
    p.send(1000, MessageType.ICRQ, { assignedSessionId: sessionId(55), callSerialNumber: 1 });
    const icrp = p.recv().find((o) => o.msg.type === MessageType.ICRP);
    const ours = icrp?.msg.avps.assignedSessionId ?? 0;
    p.send(1010, MessageType.ICCN, { txConnectSpeed: 1, framingType: 1, unknown: [weird] }, ours);
    const cdn = p.recv().find((o) => o.msg.type === MessageType.CDN);
    assert.equal(cdn?.msg.sessionId, 55);
    assert.deepEqual({ r: cdn?.msg.avps.resultCode?.result, e: cdn?.msg.avps.resultCode?.error }, { r: 2, e: 8 });
    assert.equal(e.tunnels(at(2000))[0]?.state, 'established', 'the tunnel survives');
  }
});

test('unknown M=0 AVP is ignored and counted', () => {
  const e = engine(config('lns'), 2);
  const { p } = fakeEstablish(e);
  p.events();
  p.send(1000, MessageType.HELLO, { unknown: [{ vendorId: 9, attribute: 1, mandatory: false, hidden: false, value: new Uint8Array(1) }] });
  assert.ok(p.events().some((x) => x.type === 'unknown-avp-ignored' && x.vendorId === 9));
  assert.equal(e.tunnels(at(1000))[0]?.counters.unknownAvpsIgnored, 1);
});

test('out-of-order and duplicate control messages are delivered once, in order', () => {
  const e = engine(config('lns'), 3);
  const { p } = fakeEstablish(e);
  p.events();
  // Build ICRQ(ns=2) and ICRQ(ns=3), deliver 3 first, then 2, then 2 again.
  const mk = (ns: number, sid: number): Uint8Array =>
    emitControl({
      tunnelId: p.remote,
      sessionId: sessionId(0),
      ns,
      nr: p.nr,
      type: MessageType.ICRQ,
      avps: { assignedSessionId: sessionId(sid), callSerialNumber: sid },
    });
  e.handleDatagram(at(1000), mk(3, 200), p.addr);
  assert.equal(p.events().filter((x) => x.type === 'session-connecting').length, 0);
  e.handleDatagram(at(1001), mk(2, 100), p.addr);
  e.handleDatagram(at(1002), mk(2, 100), p.addr);
  const connecting = p.events().filter((x) => x.type === 'session-connecting');
  assert.equal(connecting.length, 2);
  const remotes = e.tunnels(at(1003))[0]?.sessions.map((s) => s.remoteSessionId);
  assert.deepEqual(remotes, [100, 200]);
  assert.equal(e.tunnels(at(1003))[0]?.counters.duplicates, 1);
});

test('HELLO keepalive: misses count down, then StopCCN and keepalive-expired', () => {
  const tuning = { ...defaultTuning(), retriesEstablished: 50, helloInterval: 60_000 as Duration, helloMissCount: 3 };
  const { net, lac, lns, lacSettings } = pair({ tuning }, { tuning });
  lac.engine.openTunnel(at(0), lns.addr, lacSettings);
  net.advance(1000);
  // Both directions stay quiet but acknowledged: a HELLO goes out after 60 s of silence.
  net.advance(61_000);
  const hellos = [...of(lac, 'control-tx'), ...of(lns, 'control-tx')].filter((e) => e.messageType === MessageType.HELLO);
  assert.equal(hellos.length, 1, 'one side sends a HELLO; it counts as traffic for the other');
  assert.equal(of(lac, 'keepalive-countdown').length, 0, 'answered HELLOs do not count');
  // Now the LNS vanishes.
  net.filter = (from) => from.address !== lns.addr.address;
  net.advance(300_000);
  assert.deepEqual(of(lac, 'keepalive-countdown').map((e) => e.remaining), [2, 1, 0]);
  assert.equal(of(lac, 'keepalive-expired').length, 1);
  const closing = of(lac, 'tunnel-closing')[0];
  assert.equal(closing?.reason.cause, 'hello-timeout');
  assert.ok(of(lac, 'control-tx').some((e) => e.messageType === MessageType.StopCCN));
});

test('StopCCN: the closed tunnel lingers one retransmission cycle and acks a late duplicate (§5.7)', () => {
  const { net, lac, lns, lacSettings } = pair();
  const tid = lac.engine.openTunnel(at(0), lns.addr, lacSettings);
  net.advance(1000);
  lac.engine.closeTunnel(at(net.now), tid, { result: 1, message: 'bye' });
  net.advance(1000);
  assert.equal(lns.engine.tunnels(at(net.now))[0]?.state, 'closing');
  assert.equal(of(lns, 'tunnel-closing')[0]?.reason.result.message, 'bye');
  assert.equal(of(lns, 'tunnel-closing')[0]?.reason.by, 'peer');
  net.advance(46_000);
  assert.equal(lns.engine.tunnelCount, 1, 'still lingering');
  net.advance(2000);
  assert.equal(lns.engine.tunnelCount, 0);
  assert.equal(lac.engine.tunnelCount, 0);
  assert.equal(lns.engine.pollAt(), undefined);
  assert.equal(lac.engine.pollAt(), undefined);
});

test('StopCCN lost once: the retransmitted StopCCN is still acknowledged by the lingering peer', () => {
  const { net, lac, lns, lacSettings } = pair();
  const tid = lac.engine.openTunnel(at(0), lns.addr, lacSettings);
  net.advance(1000);
  // Drop the LNS's ack(s) for a while so the LAC retransmits its StopCCN.
  net.filter = (from) => from.address !== lns.addr.address;
  lac.engine.closeTunnel(at(net.now), tid, { result: 6 });
  net.advance(1500);
  net.filter = undefined;
  net.advance(60_000);
  assert.ok(of(lac, 'retransmit').length >= 1);
  assert.ok(of(lns, 'control-rx').filter((e) => e.messageType === MessageType.StopCCN).length >= 2);
  assert.equal(of(lns, 'tunnel-closed').length, 1);
  assert.equal(lac.engine.tunnelCount + lns.engine.tunnelCount, 0);
});

test('CDN carries result, error and Q.931 cause; WEN and SLI surface as events', () => {
  const { net, lac, lns, lacSettings } = pair();
  const tid = lac.engine.openTunnel(at(0), lns.addr, lacSettings);
  const sid = lac.engine.openSession(at(0), tid, { direction: 'incoming' });
  net.advance(1000);
  assert.ok(sid !== undefined);
  const causes = { q931Cause: { cause: 16, msg: 0x5a, advisory: 'normal' }, pppDisconnectCause: { code: 3, protocol: 0xc021, direction: 1, message: 'lcp' } };
  lac.engine.closeSession(at(net.now), tid, sid, { result: 2, error: 6, message: 'vendor' }, causes);
  net.advance(1000);
  const closed = of(lns, 'session-closed')[0];
  assert.deepEqual(closed?.reason.result, { result: 2, error: 6, message: 'vendor' });
  assert.deepEqual(closed?.reason.cdnCauses, causes, 'Q.931 cause and AVP 46 reach the peer');
  assert.equal(closed?.reason.by, 'peer');
  assert.equal(of(lac, 'session-closed')[0]?.reason.by, 'local');

  const e = engine(config('lns'), 4);
  const { p } = fakeEstablish(e);
  p.send(1000, MessageType.ICRQ, { assignedSessionId: sessionId(9), callSerialNumber: 1 });
  const ours = p.recv().find((o) => o.msg.type === MessageType.ICRP)?.msg.avps.assignedSessionId ?? 0;
  p.send(1010, MessageType.ICCN, { txConnectSpeed: 1, framingType: 1 }, ours);
  p.send(1020, MessageType.WEN, { callErrors: { crcErrors: 1, framingErrors: 2, hardwareOverruns: 0, bufferOverruns: 0, timeoutErrors: 0, alignmentErrors: 0 } }, ours);
  p.send(1030, MessageType.SLI, { accm: { send: 0, recv: 0xffffffff } }, ours);
  p.send(1040, MessageType.CDN, { resultCode: { result: 1 }, assignedSessionId: sessionId(9), q931Cause: { cause: 16, msg: 0 } }, ours);
  const evs = p.events();
  const wen = evs.find((x) => x.type === 'wen');
  assert.ok(wen?.type === 'wen' && wen.avps.callErrors?.framingErrors === 2);
  assert.ok(evs.some((x) => x.type === 'sli'));
  const cl = evs.find((x) => x.type === 'session-closed');
  assert.ok(cl?.type === 'session-closed' && cl.reason.cause === 'cdn');
});

test('idle disconnect: StopCCN idleDisconnect after the last session ends', () => {
  const { net, lac, lns, lacSettings } = pair({ idleDisconnect: 5000 as Duration });
  const tid = lac.engine.openTunnel(at(0), lns.addr, lacSettings);
  const sid = lac.engine.openSession(at(0), tid, { direction: 'incoming' });
  net.advance(1000);
  assert.ok(sid !== undefined);
  lac.engine.closeSession(at(net.now), tid, sid, { result: 3 });
  const t0 = net.now;
  net.advance(4900);
  assert.equal(of(lac, 'tunnel-closing').length, 0);
  net.advance(200);
  assert.equal(of(lac, 'tunnel-closing')[0]?.reason.cause, 'idle');
  void t0;
});

test('data messages: both directions, sequencing, offset bound, malformed datagrams', () => {
  const { net, lac, lns, lacSettings } = pair({ dataSequencing: true }, { maxOffset: 8 });
  const tid = lac.engine.openTunnel(at(0), lns.addr, lacSettings);
  const sid = lac.engine.openSession(at(0), tid, { direction: 'incoming' });
  net.advance(1000);
  assert.ok(sid !== undefined);
  const frame = new Uint8Array([0xff, 0x03, 0xc0, 0x21, 1, 2, 3]);
  const tx = lac.engine.sendData(at(net.now), tid, sid, frame);
  assert.ok(tx);
  const parsed = parseData(tx.data, { maxOffset: 64 });
  assert.ok(parsed.ok && parsed.value.ns === 0, 'S bit set (Sequencing Required)');
  lns.engine.handleDatagram(at(net.now), tx.data, lac.addr);
  // A replayed (old Ns) data message is dropped.
  lns.engine.handleDatagram(at(net.now), tx.data, lac.addr);
  net.drain();
  const got = lns.data;
  assert.equal(got.length, 1);
  assert.deepEqual([...(got[0]?.payload ?? [])], [...frame]);
  // Reverse direction.
  const lnsT = lns.engine.tunnels(at(net.now))[0];
  const back = lns.engine.sendData(at(net.now), lnsT?.localTunnelId ?? tunnelId(0), lnsT?.sessions[0]?.localSessionId ?? sessionId(0), frame);
  assert.ok(back);
  lac.engine.handleDatagram(at(net.now), back.data, lns.addr);
  net.drain();
  assert.equal(lac.data.length, 1);
  // Offset pad over maxOffset (8): dropped and counted.
  const bad = new Uint8Array(6 + 2 + 16 + 2);
  const dv = new DataView(bad.buffer);
  dv.setUint16(0, 0x0202); // O bit, Ver 2
  dv.setUint16(2, lnsT?.localTunnelId ?? 0);
  dv.setUint16(4, lnsT?.sessions[0]?.localSessionId ?? 0);
  dv.setUint16(6, 16);
  lns.engine.handleDatagram(at(net.now), bad, lac.addr);
  assert.equal(lns.engine.tunnels(at(net.now))[0]?.counters.dataDropped, 2);
  // Garbage: bad-datagram, nothing else disturbed.
  lns.engine.handleDatagram(at(net.now), new Uint8Array([0xc8, 0x03, 0, 1]), lac.addr);
  net.drain();
  assert.ok(of(lns, 'bad-datagram').length >= 1);
  assert.equal(lns.engine.tunnels(at(net.now))[0]?.state, 'established');
  // No data for a session that is not up.
  assert.equal(lac.engine.sendData(at(net.now), tid, sessionId(1), frame), undefined);
});

test('engine never throws on random datagrams', () => {
  const e = engine(config('lns'), 5);
  const rnd = seededRandom(99);
  const from: PeerAddress = { address: '203.0.113.5', port: 1701, family: 4 };
  for (let i = 0; i < 3000; i++) {
    const b = rnd.bytes(rnd.u32() % 80);
    if (i % 3 === 0 && b.length >= 2) {
      b[0] = 0xc8;
      b[1] = 0x02;
    }
    e.handleDatagram(at(i), b, from);
    e.handleTimeout(at(i));
    while (e.pollTransmit()) {
      /* drain */
    }
    while (e.pollEvent()) {
      /* drain */
    }
  }
  assert.ok(true);
});

test('pollAt is stable with many tunnels and matches the earliest deadline', () => {
  const e = engine(config('lac'), 6);
  for (let i = 0; i < 2000; i++) e.openTunnel(at(i), { address: '198.18.1.1', port: 1701, family: 4 }, defaultTunnelSettings('x'));
  // The first SCCRQ went out at 0 ms; its retransmission (1 s) is the earliest of the 2,000 deadlines.
  assert.equal(e.pollAt(), 1000);
  // Asking again changes nothing (no state is consumed by pollAt; the deadline heap is only read).
  for (let i = 0; i < 1000; i++) assert.equal(e.pollAt(), 1000);
  void types;
});

/** Table-driven §7.2.1 arms against a live engine on a virtual clock (FakePeer is the LAC). */
test('tunnel FSM arms, table-driven (§7.2.1)', () => {
  interface Case {
    readonly name: string;
    readonly from: 'wait-ctl-conn' | 'established';
    readonly send: MessageType;
    readonly avps?: ControlAvps;
    readonly tx: readonly (MessageType | undefined)[];
    readonly result?: number;
    readonly state: 'closing' | 'established' | 'wait-ctl-conn';
  }
  const cases: readonly Case[] = [
    { name: 'wait-ctl-conn / SCCRP → StopCCN', from: 'wait-ctl-conn', send: MessageType.SCCRP, avps: sccrqAvps(), tx: [MessageType.StopCCN], result: 7, state: 'closing' },
    { name: 'wait-ctl-conn / SCCRQ → StopCCN', from: 'wait-ctl-conn', send: MessageType.SCCRQ, avps: sccrqAvps(), tx: [MessageType.StopCCN], result: 7, state: 'closing' },
    { name: 'wait-ctl-conn / StopCCN → clean up, ack', from: 'wait-ctl-conn', send: MessageType.StopCCN, avps: { resultCode: { result: 1 }, assignedTunnelId: tunnelId(777) }, tx: [undefined], state: 'closing' },
    { name: 'wait-ctl-conn / HELLO → ack only', from: 'wait-ctl-conn', send: MessageType.HELLO, tx: [undefined], state: 'wait-ctl-conn' },
    { name: 'established / SCCRQ → StopCCN', from: 'established', send: MessageType.SCCRQ, avps: sccrqAvps(), tx: [MessageType.StopCCN], result: 7, state: 'closing' },
    { name: 'established / SCCRP → StopCCN', from: 'established', send: MessageType.SCCRP, avps: sccrqAvps(), tx: [MessageType.StopCCN], result: 7, state: 'closing' },
    { name: 'established / SCCCN → StopCCN', from: 'established', send: MessageType.SCCCN, tx: [MessageType.StopCCN], result: 7, state: 'closing' },
    { name: 'established / StopCCN → clean up, ack', from: 'established', send: MessageType.StopCCN, avps: { resultCode: { result: 6 }, assignedTunnelId: tunnelId(777) }, tx: [undefined], state: 'closing' },
    { name: 'established / HELLO → ack only', from: 'established', send: MessageType.HELLO, tx: [undefined], state: 'established' },
  ];
  for (const c of cases) {
    const e = engine(config('lns'), 8);
    const p = new FakePeer(e);
    p.send(0, MessageType.SCCRQ, sccrqAvps());
    const [sccrp] = p.recv();
    p.remote = tunnelId(sccrp?.msg.avps.assignedTunnelId ?? 0);
    if (c.from === 'established') {
      p.send(10, MessageType.SCCCN, {});
      e.handleTimeout(at(200));
      p.recv();
    }
    assert.equal(e.tunnels(at(300))[0]?.state, c.from, c.name);
    p.send(1000, c.send, c.avps ?? {});
    e.handleTimeout(at(1200));
    const out = p.recv();
    assert.deepEqual(out.map((o) => o.msg.type), [...c.tx], c.name);
    if (c.result !== undefined) assert.equal(out[0]?.msg.avps.resultCode?.result, c.result, c.name);
    assert.equal(e.tunnels(at(1200))[0]?.state, c.state, c.name);
  }
});

test('LAC reports a session established only once its ICCN has left (peer window full: PPP must not overtake ICCN)', () => {
  // The LNS advertises a Receive Window of 1, so the LAC's ICCNs queue behind its other ICRQs.
  const { net, lac, lns, lacSettings } = pair({}, { tuning: { ...defaultTuning(), receiveWindow: 1 } });
  const tid = lac.engine.openTunnel(at(0), lns.addr, lacSettings);
  for (let i = 0; i < 5; i++) assert.ok(lac.engine.openSession(at(0), tid, { direction: 'incoming' }) !== undefined);
  net.advance(5000);
  assert.equal(of(lac, 'session-established').length, 5);
  assert.equal(of(lns, 'session-established').length, 5);
  let iccnSent = 0;
  let up = 0;
  for (const e of lac.events) {
    if (e.type === 'control-tx' && e.messageType === MessageType.ICCN) iccnSent++;
    if (e.type === 'session-established') {
      up++;
      assert.ok(iccnSent >= up, `session-established #${up} reported before its ICCN was sent (${iccnSent} sent)`);
    }
  }
});

test('sendData with headroom writes the header in front of the frame (no copy), same bytes as the copying path', () => {
  const { net, lac, lns, lacSettings } = pair();
  const tid = lac.engine.openTunnel(at(0), lns.addr, lacSettings);
  const sid = lac.engine.openSession(at(0), tid, { direction: 'incoming' });
  assert.ok(sid !== undefined);
  net.advance(1000);
  const payload = Uint8Array.from([0xff, 0x03, 0x00, 0x21, 0x45, 0, 0, 20]);
  const copied = lac.engine.sendData(at(net.now), tid, sid, payload);
  const room = new Uint8Array(DATA_HEADROOM + payload.length).fill(0xa5);
  room.set(payload, DATA_HEADROOM);
  const frame = room.subarray(DATA_HEADROOM);
  const inPlace = lac.engine.sendData(at(net.now), tid, sid, frame, true);
  assert.ok(copied !== undefined && inPlace !== undefined);
  assert.equal(inPlace.data.buffer, room.buffer, 'header written into the caller buffer');
  assert.deepEqual([...inPlace.data], [...copied.data]);
  // Without enough headroom the engine copies and leaves the caller's bytes alone.
  const tight = lac.engine.sendData(at(net.now), tid, sid, payload, true);
  assert.ok(tight !== undefined && tight.data.buffer !== payload.buffer);
  assert.deepEqual([...tight.data], [...copied.data]);
});
