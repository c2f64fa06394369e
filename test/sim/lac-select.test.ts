/**
 * LAC switching with tunnel selection on the virtual clock: PPPoE subscribers -> our AC ->
 * `LacSelect` (domain map / RADIUS tunnel groups -> `TunnelSelector`) -> the LAC engine -> the
 * in-memory link -> the LNS engine + `AccessServer`. The preferred LNS (198.18.0.3) drops
 * everything: its SCCRQ times out, it is marked dead, and the waiting call fails over to the next
 * preference (198.18.0.2, the harness's LNS) and gets an address there. Nothing leaks: no ticket,
 * tunnel or call is left once the subscribers hang up and the idle tunnel closes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../src/base/random.js';
import { seconds, type Instant } from '../../src/base/time.js';
import { PppLink } from '../../src/ppp/index.js';
import {
  BROADCAST_MAC, EtherType, PppoeCode, encodeDiscoveryFrame, encodeSessionFrame, formatMac, parseDiscoveryFrame, parseSessionFrame, parseMac, type DiscoveryTags, type MacAddress,
} from '../../src/wire/pppoe/index.js';
import { LacSelect, PppoeAccessConcentrator, TunnelSelector, pppoeLower, type Authorization, type ChosenDestination, type LacSelectEvent, type SelectorConfig, type SwitchCall } from '../../src/access/index.js';
import { AccessNet, simServerConfig, simSettings } from './access-harness.js';
import { emitControl, parseControl } from '../../src/wire/l2tp/index.js';
import { MessageType, sessionId, tunnelId } from '../../src/wire/l2tp/types.js';

const AC_MAC = parseMac('02:ac:00:00:00:01') as MacAddress;
const DEAD = '198.18.0.3';

const CONFIG: SelectorConfig = {
  domainMap: {
    entries: [
      { realm: 'isp-a.example', target: { kind: 'tunnel', profile: 'a' }, stripRealm: true },
      { realm: 'blocked.example', target: { kind: 'reject' } },
      { realm: 'local.example', target: { kind: 'local' }, stripRealm: true },
    ],
    default: { kind: 'reject' },
  },
  profiles: { a: { destinations: [{ address: DEAD, preference: 1 }, { address: '198.18.0.2', preference: 2 }], deadTime: seconds(120) } },
  radiusDefaults: {},
};

interface Sub {
  readonly mac: MacAddress;
  readonly link: PppLink;
  sid: number;
}

class Host {
  readonly ac: PppoeAccessConcentrator;
  readonly sel: LacSelect;
  readonly selector: TunnelSelector;
  readonly events: LacSelectEvent[] = [];
  readonly keys = new Map<number, number>();
  readonly wire: Uint8Array[] = [];
  readonly asked: SwitchCall[] = [];

  constructor(readonly net: AccessNet, radius: boolean, via?: (d: ChosenDestination) => string | undefined) {
    this.ac = new PppoeAccessConcentrator({ acName: 'lac', mac: AC_MAC, serviceNames: 'any', random: seededRandom(4), maxSessionsPerMac: 4 }, net.at);
    const r = TunnelSelector.create(CONFIG);
    assert.ok(r.ok);
    this.selector = r.value;
    this.sel = new LacSelect(net.lac, {
      random: seededRandom(6),
      selector: r.value,
      settings: (d) => {
        // Three SCCRQ retransmissions (1 + 2 + 4 + 8 s): the failover comes before the subscriber's PAP gives up.
        const st = simSettings(d.localHostname ?? 'lac');
        return { ...st, tuning: { ...st.tuning, retriesNotEstablished: 3 } };
      },
      ...(radius ? { authorize: (c: SwitchCall) => this.asked.push(c) } : {}),
      ...(via !== undefined ? { via } : {}),
    });
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

  drain(now: Instant): void {
    for (let moved = true; moved; ) {
      moved = false;
      for (let f = this.ac.pollTransmit(); f !== undefined; f = this.ac.pollTransmit(), moved = true) this.wire.push(f);
      for (let e = this.ac.pollEvent(); e !== undefined; e = this.ac.pollEvent(), moved = true) {
        if (e.type === 'session-up') {
          const lower = pppoeLower(this.port, { kind: 'pppoe', interface: 'eth0', mac: formatMac(e.mac), sessionId: e.sessionId, serviceName: e.serviceName }, e.maxPayload);
          this.keys.set(e.sessionId, this.sel.open(now, lower, formatMac(e.mac)));
        } else if (e.cause !== 'closed') {
          const key = this.keys.get(e.sessionId);
          if (key !== undefined) this.sel.lowerGone(now, key);
        }
      }
      for (let t = this.sel.pollTransmit(); t !== undefined; t = this.sel.pollTransmit(), moved = true) this.net.inject(this.net.lacAddr, t.to, t.data);
      for (let e = this.sel.pollEvent(); e !== undefined; e = this.sel.pollEvent(), moved = true) this.events.push(e);
    }
  }

  frame(f: Uint8Array): void {
    this.ac.handleFrame(this.net.at, f);
    this.drain(this.net.at);
  }
}

function discovery(code: number, mac: MacAddress, tags: DiscoveryTags, sid = 0): Uint8Array {
  return encodeDiscoveryFrame({
    ethernet: { destination: code === PppoeCode.PADI ? BROADCAST_MAC : AC_MAC, source: mac, vlans: [], ethertype: EtherType.pppoeDiscovery },
    packet: { code: code as 0x09, sessionId: sid, tags },
  });
}

function world(radius = false, via?: (d: ChosenDestination) => string | undefined): { net: AccessNet; host: Host; subs: Sub[]; dial: (user: string, password: string) => Sub; pump: (ms: number) => void; toDead: () => number } {
  const net = new AccessNet(simServerConfig({ auth: ['chap-md5', 'pap'] }));
  const host = new Host(net, radius, via);
  let toDead = 0;
  // The preferred LNS is down: whatever is sent to it is lost.
  net.filter = (_from, _data, to) => {
    if (to.address !== DEAD) return true;
    toDead++;
    return false;
  };
  net.onLacEvent = (e) => host.sel.handleL2tpEvent(net.at, e);
  net.afterDrain = () => host.drain(net.at);
  net.timers.push(host.sel, host.ac);
  const subs: Sub[] = [];
  const dial = (user: string, password: string): Sub => {
    const mac = parseMac(`02:00:00:00:01:${(subs.length + 16).toString(16)}`) as MacAddress;
    const reply = (code: number): ReturnType<typeof parseDiscoveryFrame> => {
      const i = host.wire.findIndex((w) => {
        const d = parseDiscoveryFrame(w);
        return d.ok && d.value.packet.code === code;
      });
      return parseDiscoveryFrame(host.wire.splice(i, 1)[0] ?? new Uint8Array());
    };
    host.frame(discovery(PppoeCode.PADI, mac, { serviceNames: [''] }));
    const pado = reply(PppoeCode.PADO);
    assert.ok(pado.ok);
    host.frame(discovery(PppoeCode.PADR, mac, { serviceNames: [''], ...(pado.value.packet.tags.acCookie ? { acCookie: pado.value.packet.tags.acCookie } : {}) }));
    const pads = reply(PppoeCode.PADS);
    assert.ok(pads.ok && pads.value.packet.code === PppoeCode.PADS);
    const link = new PppLink({ role: 'peer', random: seededRandom(9 + subs.length), credentials: { username: user, password }, auth: ['pap'], ipcp: {}, ipv6cp: false, addressControl: false });
    link.open(net.at);
    const s: Sub = { mac, link, sid: pads.value.packet.sessionId };
    subs.push(s);
    return s;
  };
  const pump = (ms: number): void => {
    const end = net.now + ms;
    while (net.now < end) {
      for (const s of subs) {
        for (let f = s.link.pollTransmit(); f !== undefined; f = s.link.pollTransmit()) {
          host.frame(encodeSessionFrame({ ethernet: { destination: AC_MAC, source: s.mac, vlans: [], ethertype: EtherType.pppoeSession }, sessionId: s.sid, payload: f }));
        }
      }
      for (const w of host.wire.splice(0)) {
        const p = parseSessionFrame(w);
        const s = p.ok ? subs.find((x) => x.sid === p.value.sessionId) : undefined;
        if (p.ok && s !== undefined) s.link.handleFrame(net.at, p.value.payload);
      }
      for (const s of subs) {
        const at = s.link.pollAt();
        if (at !== undefined && at <= net.now) s.link.handleTimeout(net.at);
      }
      net.advance(20);
    }
  };
  return { net, host, subs, dial, pump, toDead: () => toDead };
}

const ipUp = (s: Sub): string | undefined => {
  for (let e = s.link.pollEvent(); e !== undefined; e = s.link.pollEvent()) if (e.type === 'ip-up') return e.local;
  return undefined;
};

test('selection failover: the preferred LNS never answers (SCCRQ timeout) -> dead; the call lands on the next preference; realm stripped; later calls skip the dead one; nothing leaks', () => {
  const { net, host, dial, pump, toDead } = world();
  const a = dial('alice@isp-a.example', 'wonderland');
  pump(60_000);
  const types = host.events.map((e) => e.type);
  const routed = host.events.filter((e) => e.type === 'routed');
  assert.deepEqual(routed.map((e) => (e.type === 'routed' ? `${e.address}${e.failover ? ' failover' : ''}` : '')), [DEAD, '198.18.0.2 failover'], types.join(','));
  const dead = host.events.find((e) => e.type === 'destination-dead');
  assert.ok(dead?.type === 'destination-dead' && dead.address === DEAD && dead.cause === 'sccrq-timeout', JSON.stringify(dead));
  assert.ok(toDead() >= 2, `SCCRQ and its retransmissions went to ${DEAD} (${toDead()})`);
  assert.equal(ipUp(a), '100.64.0.2', `the subscriber got an address from the LNS that answered: ${JSON.stringify(host.events.slice(-4))} ${JSON.stringify(net.serverEvents.filter((e) => e.type !== 'ppp').slice(-5))}`);
  assert.equal(net.serverOf('login')[0]?.username, 'alice', 'strip_realm: the LNS saw "alice"');
  assert.equal(host.sel.tunnelCount, 1, 'only the live tunnel is tracked');
  assert.equal(net.lac.tunnels(net.at).length, 1, 'the failed tunnel is gone from the engine');
  // A second subscriber during the dead time goes straight to the live LNS, on the same tunnel.
  const sent = toDead();
  const b = dial('bob@isp-a.example', 'builder');
  pump(5_000);
  assert.equal(toDead(), sent, 'nothing sent to the dead LNS');
  assert.equal(ipUp(b), '100.64.0.200');
  assert.equal(host.events.filter((e) => e.type === 'tunnel-opened').length, 2, 'one tunnel per destination, shared by both calls');
  // Hang-ups: PADTs, then the idle tunnel closes; no ticket, call or tunnel left.
  for (const s of [a, b]) host.frame(discovery(PppoeCode.PADT, s.mac, {}, s.sid));
  pump(1_000);
  assert.equal(host.sel.size, 0);
  assert.equal(host.sel.ticketCount, 0);
  assert.equal(net.server.stats().ipv4InUse, 0);
});

test('selection: every destination dead -> the subscriber gets a PADT after both SCCRQs time out; a reject realm and an unknown realm are refused at once', () => {
  const { net, host, dial, pump } = world();
  net.filter = (from) => from.address !== net.lacAddr.address; // both LNSes are unreachable
  dial('alice@isp-a.example', 'wonderland');
  pump(120_000);
  const dead = host.events.filter((e) => e.type === 'destination-dead').map((e) => (e.type === 'destination-dead' ? e.address : ''));
  assert.deepEqual(dead, [DEAD, '198.18.0.2']);
  const end = host.events.find((e) => e.type === 'ended');
  assert.ok(end?.type === 'ended' && end.cause === 'tunnel retransmit-timeout', JSON.stringify(end));
  assert.equal(host.ac.sessionCount, 0, 'PADT sent');
  assert.equal(host.sel.ticketCount, 0);
  assert.equal(host.sel.tunnelCount, 0);
  assert.equal(net.lac.tunnels(net.at).length, 0);
  dial('mallory@blocked.example', 'x');
  dial('eve@nowhere.example', 'x');
  pump(3_000);
  const refused = host.events.filter((e) => e.type === 'refused').map((e) => (e.type === 'refused' ? `${e.username} ${e.reason}` : ''));
  assert.deepEqual(refused, ['mallory@blocked.example domain-rejected', 'eve@nowhere.example domain-rejected']);
  assert.equal(host.ac.sessionCount, 0);
  // A local realm: the call is released to the shell (which hands the lower layer to the access server), no PADT.
  dial('lou@local.example', 'x');
  pump(3_000);
  const local = host.events.find((e) => e.type === 'local');
  assert.ok(local?.type === 'local' && local.username === 'lou', JSON.stringify(local));
  const ended = host.events.filter((e) => e.type === 'ended').at(-1);
  assert.ok(ended?.type === 'ended' && ended.cause === 'released', JSON.stringify(host.events.slice(-4)));
  assert.equal(host.ac.sessionCount, 1, 'the PPPoE session lives on (no PADT)');
  assert.equal(host.sel.size, 0);
});

test('selection with RADIUS: the Access-Accept tunnel groups override the profile (preferred endpoint down -> the other one), a reject disconnects, no answer falls back to the domain map', () => {
  const { net, host, dial, pump } = world(true);
  const answer = (a: Authorization): void => {
    const c = host.asked.shift();
    assert.ok(c !== undefined, 'an Access-Request was asked for');
    host.sel.authorized(net.at, c.key, a, c.username);
    host.drain(net.at);
  };
  const a = dial('carol@isp-b.example', 'x');
  pump(2_000);
  answer({ kind: 'accept', tunnels: [{ tag: 1, tunnelType: 3, mediumType: 1, serverEndpoint: DEAD, preference: 1 }, { tag: 2, tunnelType: 3, mediumType: 1, serverEndpoint: '198.18.0.2', preference: 2, clientAuthId: 'lac-b' }] });
  pump(60_000);
  const routed = host.events.filter((e) => e.type === 'routed').map((e) => (e.type === 'routed' ? `${e.address} ${e.source}` : ''));
  assert.deepEqual(routed, [`${DEAD} radius`, '198.18.0.2 radius']);
  assert.equal(net.lnsEvents.find((e) => e.type === 'tunnel-established')?.type, 'tunnel-established');
  // carol is no users-file user at the LNS: it refuses her proxy auth; what matters here is where she went.
  assert.ok(net.serverOf('auth-failure').length + net.serverOf('login').length > 0, 'the call reached the LNS');
  dial('dave@isp-a.example', 'x');
  pump(2_000);
  answer({ kind: 'reject', message: 'no' });
  pump(1_000);
  assert.ok(host.events.some((e) => e.type === 'refused' && e.reason === 'radius-reject'));
  const c = dial('alice@isp-a.example', 'wonderland');
  pump(2_000);
  answer({ kind: 'no-answer' });
  pump(5_000);
  assert.equal(ipUp(c), '100.64.0.2', 'no RADIUS answer: the domain map (profile a, 198.18.0.2 while .3 is dead)');
  assert.ok(a.sid > 0);
});

test('selection failover on StopCCN: the preferred LNS answers the SCCRQ with a StopCCN -> dead (stopccn, its result kept) at once, no retransmission; the call lands on the next preference; show state says why', () => {
  const { net, host, dial, pump } = world();
  let refused = 0;
  // 198.18.0.3 is up but refuses every tunnel: StopCCN (RFC 2661 §4.4.2 result 2 "general error", error 6 "vendor specific").
  net.filter = (from, data, to) => {
    if (to.address !== DEAD) return true;
    const m = parseControl(data);
    if (m.ok && m.value.type === MessageType.SCCRQ && m.value.avps.assignedTunnelId !== undefined) {
      refused++;
      const stop = emitControl({
        tunnelId: m.value.avps.assignedTunnelId, sessionId: sessionId(0), ns: 0, nr: 1, type: MessageType.StopCCN,
        avps: { assignedTunnelId: tunnelId(77), resultCode: { result: 2, error: 6, message: 'No Authorization' } },
      });
      net.inject({ address: DEAD, port: 1701, family: 4 }, from, stop);
    }
    return false;
  };
  const t0 = net.now;
  const a = dial('alice@isp-a.example', 'wonderland');
  pump(8_000);
  const dead = host.events.find((e) => e.type === 'destination-dead');
  assert.ok(dead?.type === 'destination-dead' && dead.address === DEAD && dead.cause === 'stopccn', JSON.stringify(dead));
  assert.equal(refused, 1, 'one SCCRQ, answered by the StopCCN: no retransmission to the refusing LNS');
  const routed = host.events.filter((e) => e.type === 'routed').map((e) => (e.type === 'routed' ? `${e.address}${e.failover ? ' failover' : ''}` : ''));
  assert.deepEqual(routed, [DEAD, '198.18.0.2 failover']);
  assert.equal(ipUp(a), '100.64.0.2', 'the subscriber got its address from the next preference');
  const shown = host.selector.destinations(net.at);
  const d3 = shown.find((d) => d.address === DEAD);
  const d2 = shown.find((d) => d.address === '198.18.0.2');
  assert.equal(d3?.state, 'dead');
  assert.equal(d3?.lastFailure?.cause, 'stopccn');
  assert.ok(d3?.deadUntil !== undefined && d3.deadUntil > net.at && d3.deadUntil <= t0 + 8_000 + 120_000, 'dead for the profile dead time (120 s)');
  assert.deepEqual(d3.profiles, [{ source: 'a', preference: 1, level: 0, weight: 1 }]);
  assert.deepEqual({ state: d2?.state, sessions: d2?.sessions, tunnels: d2?.tunnels, failures: d2?.failures, profiles: d2?.profiles }, { state: 'alive', sessions: 1, tunnels: 1, failures: 0, profiles: [{ source: 'a', preference: 2, level: 1, weight: 1 }] });
  // After the dead time the refusing LNS is tried again (and refuses again).
  pump(125_000);
  assert.equal(host.selector.destinations(net.at).find((d) => d.address === DEAD)?.state, 'alive');
  assert.ok(host.events.some((e) => e.type === 'destination-alive' && e.address === DEAD));
  assert.equal(host.sel.ticketCount, 1);
});

test('selection -> source: the Access-Accept Tunnel-Client-Endpoint becomes the tunnel peer\'s via (the shell\'s socket on that address); the LNS answers come back through it; tunnels share only with the same source', () => {
  const seen: string[] = [];
  const { net, host, dial, pump } = world(true, (d) => (d.localAddress !== undefined ? `src:${d.localAddress}` : undefined));
  // The shell's socket on the source address tags what it receives with that via (lac-sources.ts): do the same here.
  const inner = net.lac.handleDatagram.bind(net.lac);
  let via: string | undefined;
  net.lac.handleDatagram = (now, data, from) => inner(now, data, via !== undefined && from.address === '198.18.0.2' ? { ...from, via } : from);
  const filter = net.filter;
  net.filter = (from, data, to) => {
    const m = parseControl(data);
    if (m.ok && m.value.type === MessageType.SCCRQ) seen.push(`${to.address} via ${to.via ?? '-'}`);
    return filter === undefined || filter(from, data, to);
  };
  const answer = (clientEndpoint: string | undefined): void => {
    const c = host.asked.shift();
    assert.ok(c !== undefined, 'an Access-Request was asked for');
    via = clientEndpoint === undefined ? undefined : `src:${clientEndpoint}`;
    host.sel.authorized(net.at, c.key, { kind: 'accept', tunnels: [{ tag: 1, tunnelType: 3, mediumType: 1, serverEndpoint: '198.18.0.2', assignmentId: 'red', ...(clientEndpoint !== undefined ? { clientEndpoint } : {}) }] }, c.username);
    host.drain(net.at);
  };
  const a = dial('alice@isp-a.example', 'wonderland');
  pump(2_000);
  answer('198.18.150.5');
  pump(5_000);
  assert.deepEqual(seen, ['198.18.0.2 via src:198.18.150.5'], 'the SCCRQ left through the Tunnel-Client-Endpoint socket');
  assert.equal(ipUp(a), '100.64.0.2', 'the session came up over the tunnel from that source');
  const b = dial('alice@isp-a.example', 'wonderland');
  pump(2_000);
  answer('198.18.150.5');
  pump(5_000);
  assert.equal(seen.length, 1, 'same Assignment-Id and source: the tunnel is shared (no second SCCRQ)');
  assert.equal(ipUp(b), '100.64.0.3');
  const opened = host.events.filter((e) => e.type === 'tunnel-opened').length;
  assert.equal(opened, 1);
  const tunnels = host.selector.tunnelList();
  assert.deepStrictEqual(tunnels.map((t) => [t.assignmentId, t.sessions]), [['red', 2]]);
});
