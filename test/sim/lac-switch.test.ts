/**
 * LAC switching end to end on the virtual clock: a subscriber's PppLink (peer, no Address/Control)
 * over PPPoE session frames -> our access concentrator -> `LacSwitch` (LCP and CHAP/PAP with the
 * subscriber, ICRQ/ICCN with the proxy LCP and proxy authentication AVPs) -> the LAC engine ->
 * in-memory link -> the LNS engine -> our `AccessServer` as the LNS, which adopts the proxy LCP,
 * checks the proxy authentication, runs IPCP with the subscriber through the relay and gives an
 * address from its pool. Then PADT -> CDN with AVP 46 code 0, and CDN from the LNS -> PADT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../src/base/random.js';
import type { Instant } from '../../src/base/time.js';
import { PppLink, type AuthProtocol } from '../../src/ppp/index.js';
import {
  BROADCAST_MAC, EtherType, PppoeCode, encodeDiscoveryFrame, encodeSessionFrame, formatMac, parseDiscoveryFrame, parseMac, parseSessionFrame, type DiscoveryTags, type MacAddress,
} from '../../src/wire/pppoe/index.js';
import { LacSwitch, PppoeAccessConcentrator, pppoeLower, type LacSwitchEvent, type PppoeAcEvent } from '../../src/access/index.js';
import type { TunnelId } from '../../src/wire/l2tp/types.js';
import { AccessNet, simServerConfig } from './access-harness.js';

const AC_MAC = parseMac('02:ac:00:00:00:01') as MacAddress;
const SUB = parseMac('02:00:00:00:00:5a') as MacAddress;

/** The LAC host: the AC, the switch on the harness's LAC engine, and one subscriber. */
class LacHost {
  readonly ac: PppoeAccessConcentrator;
  readonly sw: LacSwitch;
  readonly swEvents: LacSwitchEvent[] = [];
  readonly acEvents: PppoeAcEvent[] = [];
  readonly keyBySid = new Map<number, number>();
  /** Frames the AC sent toward the subscriber. */
  readonly wire: Uint8Array[] = [];
  tunnel: TunnelId | undefined;

  constructor(readonly net: AccessNet) {
    this.ac = new PppoeAccessConcentrator({ acName: 'lac', mac: AC_MAC, serviceNames: 'any', random: seededRandom(4) }, net.at);
    this.sw = new LacSwitch(net.lac, { random: seededRandom(6), route: (c) => (c.username.endsWith('@isp-a.example') || c.username === 'alice' ? this.tunnel : undefined) });
  }

  private readonly port = {
    sendPpp: (sid: number, ppp: Uint8Array): boolean => {
      const f = this.ac.sendSession(sid, ppp);
      if (f !== undefined) this.wire.push(f);
      return f !== undefined;
    },
    closeSession: (sid: number, detail?: string): boolean => this.ac.close(sid, detail),
    bindSink: (sid: number, sink: Parameters<PppoeAccessConcentrator['bindSink']>[1], now: Instant): boolean => this.ac.bindSink(sid, sink, now),
  };

  /** Move AC and switch output (after every input, and inside the harness's drain). */
  drain(now: Instant): void {
    for (let moved = true; moved; ) {
      moved = false;
      for (let f = this.ac.pollTransmit(); f !== undefined; f = this.ac.pollTransmit(), moved = true) this.wire.push(f);
      for (let e = this.ac.pollEvent(); e !== undefined; e = this.ac.pollEvent(), moved = true) {
        this.acEvents.push(e);
        if (e.type === 'session-up') {
          const lower = pppoeLower(this.port, { kind: 'pppoe', interface: 'eth0', mac: formatMac(e.mac), sessionId: e.sessionId, serviceName: e.serviceName }, e.maxPayload);
          // As the daemon's shell does: TR-101 actual data rates (kbit/s) -> ICCN connect speeds (bit/s).
          const down = e.accessLine?.actualDataRateDownstream;
          const up = e.accessLine?.actualDataRateUpstream;
          const speed = down !== undefined ? { tx: down * 1000, ...(up !== undefined ? { rx: up * 1000 } : {}) } : undefined;
          this.keyBySid.set(e.sessionId, this.sw.open(now, lower, e.circuitId ?? formatMac(e.mac), speed));
        } else if (e.cause !== 'closed') {
          const key = this.keyBySid.get(e.sessionId);
          if (key !== undefined) this.sw.lowerGone(now, key);
        }
      }
      for (let t = this.sw.pollTransmit(); t !== undefined; t = this.sw.pollTransmit(), moved = true) this.net.inject(this.net.lacAddr, t.to, t.data);
      for (let e = this.sw.pollEvent(); e !== undefined; e = this.sw.pollEvent(), moved = true) this.swEvents.push(e);
    }
  }

  frame(f: Uint8Array): void {
    this.ac.handleFrame(this.net.at, f);
    this.drain(this.net.at);
  }
}

function discovery(code: number, tags: DiscoveryTags, sid = 0): Uint8Array {
  return encodeDiscoveryFrame({
    ethernet: { destination: code === PppoeCode.PADI ? BROADCAST_MAC : AC_MAC, source: SUB, vlans: [], ethertype: EtherType.pppoeDiscovery },
    packet: { code: code as 0x09, sessionId: sid, tags },
  });
}

/** A subscriber dialling `username` with `auth`; returns the net, the LAC host, the link and the SESSION_ID. */
function setup(username: string, password: string, auth: AuthProtocol, lns: Partial<Parameters<typeof simServerConfig>[0]> = {}): { net: AccessNet; lac: LacHost; sub: PppLink; sid: number; pump: (ms: number) => void } {
  // The LNS demands CHAP, then PAP (it judges the proxy LCP against this list).
  const net = new AccessNet(simServerConfig({ auth: ['chap-md5', 'pap'], ...lns }));
  const lac = new LacHost(net);
  net.onLacEvent = (e) => lac.sw.handleL2tpEvent(net.at, e);
  net.afterDrain = () => lac.drain(net.at);
  net.timers.push(lac.sw, lac.ac);
  lac.tunnel = net.openTunnel();
  net.advance(100);
  lac.frame(discovery(PppoeCode.PADI, { serviceNames: [''] }));
  const pado = parseDiscoveryFrame(lac.wire.shift() ?? new Uint8Array());
  assert.ok(pado.ok);
  lac.frame(discovery(PppoeCode.PADR, {
    serviceNames: [''],
    accessLine: { circuitId: 'olt1 eth 1/1/5:100', actualDataRateDownstream: 20_000, actualDataRateUpstream: 1_000 },
    ...(pado.value.packet.tags.acCookie ? { acCookie: pado.value.packet.tags.acCookie } : {}),
  }));
  const pads = parseDiscoveryFrame(lac.wire.shift() ?? new Uint8Array());
  assert.ok(pads.ok && pads.value.packet.code === PppoeCode.PADS);
  const sid = pads.value.packet.sessionId;
  const sub = new PppLink({ role: 'peer', random: seededRandom(9), credentials: { username, password }, auth: [auth], ipcp: {}, ipv6cp: false, addressControl: false });
  sub.open(net.at);
  // The subscriber is one more timed thing on the clock: its frames go in as PPPoE, the AC's come back.
  const pump = (ms: number): void => {
    const end = net.now + ms;
    while (net.now < end) {
      for (let f = sub.pollTransmit(); f !== undefined; f = sub.pollTransmit()) {
        lac.frame(encodeSessionFrame({ ethernet: { destination: AC_MAC, source: SUB, vlans: [], ethertype: EtherType.pppoeSession }, sessionId: sid, payload: f }));
      }
      for (const w of lac.wire.splice(0)) {
        const s = parseSessionFrame(w);
        if (s.ok) sub.handleFrame(net.at, s.value.payload);
      }
      const at = sub.pollAt();
      if (at !== undefined && at <= net.now) sub.handleTimeout(net.at);
      net.advance(5);
    }
  };
  return { net, lac, sub, sid, pump };
}

test('LAC switch, CHAP: proxy LCP + proxy auth in ICCN, the LNS adopts them and gives the subscriber an address through the relay; PADT -> CDN with AVP 46 code 0', () => {
  const { net, lac, sub, sid, pump } = setup('alice', 'wonderland', 'chap-md5');
  pump(3000);
  const evs: string[] = [];
  for (let e = sub.pollEvent(); e !== undefined; e = sub.pollEvent()) evs.push(e.type === 'ip-up' ? `ip-up ${e.local}` : e.type);
  assert.ok(evs.includes('ip-up 100.64.0.2'), `the subscriber got an address from the LNS pool: ${evs.join(', ')}`);
  assert.deepEqual(lac.swEvents.map((e) => e.type), ['auth-captured', 'call-placed', 'switched']);
  const start = net.serverOf('ppp-start')[0];
  assert.equal(start?.proxied, true, 'the LNS adopted the proxy LCP (no renegotiation)');
  const login = net.serverOf('login')[0];
  assert.equal(login?.username, 'alice');
  assert.equal(login?.method, 'chap-md5', 'proxy CHAP checked by the LNS');
  const iccn = net.lnsEvents.find((e) => e.type === 'session-established');
  assert.ok(iccn?.type === 'session-established' && iccn.proxy !== undefined);
  assert.equal(iccn.proxy.proxyAuthenType, 2);
  assert.equal(iccn.proxy.proxyAuthenName, 'alice');
  assert.equal(iccn.proxy.proxyAuthenChallenge?.length, 16);
  assert.equal(iccn.proxy.proxyAuthenResponse?.length, 16);
  assert.ok(iccn.proxy.initialReceivedLcpConfReq && iccn.proxy.lastSentLcpConfReq && iccn.proxy.lastReceivedLcpConfReq);
  assert.equal(iccn.proxy.initialReceivedLcpConfReq[0], 1, 'AVP 26 starts with the subscriber MRU option');
  assert.deepEqual(iccn.proxy.initialReceivedLcpConfReq.subarray(4, 6), Uint8Array.of(5, 6), "AVP 26 is the subscriber's request (MRU, Magic), not ours");
  assert.equal(iccn.callingNumber, 'olt1 eth 1/1/5:100', 'Calling Number = the TR-101 circuit id (the MAC without one)');
  const rx = net.lnsEvents.find((e) => e.type === 'control-rx' && e.messageType === 12);
  assert.ok(rx?.type === 'control-rx');
  assert.deepEqual([rx.avps.txConnectSpeed, rx.avps.rxConnectSpeed], [20_000_000, 1_000_000], 'ICCN connect speeds from the TR-101 actual data rates');
  // IP through both hops: subscriber -> LNS TUN.
  const ping = Uint8Array.from([0x45, 0, 0, 20, 0, 0, 0x40, 0, 64, 1, 0, 0, 100, 64, 0, 2, 198, 51, 100, 1]);
  const f = sub.sendIp(ping, 4);
  assert.ok(f);
  lac.frame(encodeSessionFrame({ ethernet: { destination: AC_MAC, source: SUB, vlans: [], ethertype: EtherType.pppoeSession }, sessionId: sid, payload: f }));
  net.advance(10);
  assert.ok(net.serverTun.some((p) => p.length === 20 && p[19] === 1), 'the packet reached the LNS TUN');
  // Hang-up: the subscriber's PADT -> CDN with AVP 46 code 0; the LNS frees the address.
  lac.frame(discovery(PppoeCode.PADT, {}, sid));
  net.advance(100);
  const closed = net.lnsEvents.find((e) => e.type === 'session-closed');
  assert.ok(closed?.type === 'session-closed');
  assert.equal(closed.reason.cause, 'cdn');
  assert.equal(closed.reason.cdnCauses?.pppDisconnectCause?.code, 0);
  assert.equal(net.server.stats().ipv4InUse, 0);
  assert.equal(lac.sw.size, 0);
  const end = lac.swEvents.at(-1);
  assert.equal(end?.type === 'ended' ? `${end.by}/${end.cause}/${end.username ?? ''}` : '', 'subscriber/padt-received/alice');
});

test('LAC switch, PAP: proxy PAP checked by the LNS; a CDN from the LNS ends the subscriber with a PADT', () => {
  const { net, lac, sid, pump } = setup('alice', 'wonderland', 'pap');
  pump(3000);
  assert.equal(net.serverOf('login')[0]?.method, 'pap', JSON.stringify({ sw: lac.swEvents, srv: net.serverEvents.filter((e) => e.type !== 'ppp' || e.event.type !== 'phase').map((e) => (e.type === 'ppp' ? e.event : e)) }));
  assert.equal(net.server.stats().ipv4InUse, 1);
  const info = net.server.snapshot()[0];
  assert.ok(info);
  net.server.disconnect(net.at, info.tunnel, info.session);
  pump(4000);
  assert.equal(net.server.stats().ipv4InUse, 0);
  assert.equal(lac.sw.size, 0, 'the switch forgot the call');
  assert.equal(lac.ac.sessionCount, 0, 'the PPPoE session is gone');
  assert.ok(lac.ac.counters.padtSent >= 1, 'PADT to the subscriber');
  const end = lac.swEvents.at(-1);
  assert.equal(end?.type === 'ended' ? `${end.by}/${end.cause}` : '', 'lns/cdn');
  assert.ok(sid > 0);
});

test('LAC switch: a user with no route is refused (PADT), nothing is tunnelled; wrong proxy credentials fail at the LNS', () => {
  const a = setup('mallory@elsewhere.example', 'x', 'chap-md5');
  a.pump(2000);
  assert.deepEqual(a.lac.swEvents.map((e) => (e.type === 'ended' ? `ended ${e.cause}` : e.type)), ['auth-captured', 'ended no-route']);
  assert.equal(a.net.lnsEvents.filter((e) => e.type === 'session-established').length, 0);
  assert.equal(a.lac.ac.sessionCount, 0);
  const b = setup('alice', 'not-her-password', 'chap-md5');
  b.pump(4000);
  assert.equal(b.net.serverOf('login').length, 0);
  assert.ok(b.net.serverOf('auth-failure').length > 0, 'the LNS refused the proxy CHAP response');
  assert.equal(b.lac.sw.size, 0);
  assert.equal(b.lac.ac.sessionCount, 0, 'the LNS CDN ended the PPPoE session');
});

test('LAC switch: an LNS that ignores the proxy LCP renegotiates LCP and authentication with the subscriber through the relay', () => {
  const { net, lac, sub, pump } = setup('alice', 'wonderland', 'chap-md5', { forceLcpRenegotiation: true });
  pump(8000);
  const evs: string[] = [];
  for (let e = sub.pollEvent(); e !== undefined; e = sub.pollEvent()) evs.push(e.type === 'ip-up' ? `ip-up ${e.local}` : e.type);
  assert.equal(net.serverOf('ppp-start')[0]?.proxied, false, 'the LNS did not adopt the proxy LCP');
  assert.equal(evs.filter((e) => e === 'lcp-up').length, 2, `LCP came up twice at the subscriber (with us, then with the LNS): ${evs.join(', ')}`);
  assert.ok(evs.includes('ip-up 100.64.0.2'), evs.join(', '));
  assert.equal(net.serverOf('login')[0]?.method, 'chap-md5', 'the LNS authenticated the subscriber itself');
  assert.deepEqual(lac.swEvents.map((e) => e.type), ['auth-captured', 'call-placed', 'switched']);
});
