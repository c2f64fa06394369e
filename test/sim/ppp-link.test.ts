/**
 * Two PppLink objects wired back to back over an in-memory link on a virtual clock:
 * authenticator (LNS) <-> peer (client), through LCP, PAP / CHAP-MD5 / MS-CHAPv2, IPCP, IPV6CP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PppLink, type PppEvent, type PppLinkConfig, type PppLinkOwn, type AddressPool } from '../../src/ppp/index.js';
import { seededRandom } from '../../src/base/random.js';
import { instant, seconds, type Instant } from '../../src/base/time.js';
import { parsePppFrame, PppProtocol } from '../../src/wire/ppp/frame.js';
import { parseCpPacket, encodeCpOptionsForTest } from './ppp-helpers.js';
import { chapMd5Response } from '../../src/ppp/auth/mschapv2-crypto.js';

const users = { lookup: (u: string) => (u === 'alice' ? { password: 'wonderland' } : undefined) };

function pool(): AddressPool & { used: Set<string> } {
  const used = new Set<string>();
  return {
    used,
    allocate: () => {
      for (let i = 10; i < 20; i++) {
        const a = `100.64.0.${i}`;
        if (!used.has(a)) {
          used.add(a);
          return a;
        }
      }
      return undefined;
    },
    release: (a) => void used.delete(a),
  };
}

interface Sim {
  a: PppLink;
  b: PppLink;
  ev: { a: PppEvent[]; b: PppEvent[] };
  now: () => number;
  /** Deliver frames until both queues are empty; `drop` filters frames a->b / b->a. */
  pump: () => void;
  /** Run the clock to `t` at exact timer instants, pumping after each. */
  runUntil: (t: number) => void;
  dropAtoB: boolean;
  dropBtoA: boolean;
  /** Drop b->a frames of this PPP protocol only. */
  dropBtoAProtocol?: number;
  /** Every frame a sent towards b. */
  aSent: Uint8Array[];
}

function sim(aCfg: Partial<PppLinkConfig>, bCfg: Partial<PppLinkConfig>, external = false, shared?: { readonly cfg: PppLinkConfig; readonly own: PppLinkOwn }): Sim {
  const a = shared !== undefined ? new PppLink(shared.cfg, shared.own) : new PppLink({ role: 'authenticator', random: seededRandom(1), ...(external ? {} : { verifier: users }), ipcp: { localAddress: '100.64.0.1', dns: ['192.0.2.53', '192.0.2.54'] }, ...aCfg });
  const b = new PppLink({ role: 'peer', random: seededRandom(2), credentials: { username: 'alice', password: 'wonderland' }, ...bCfg });
  let now = 0;
  const s: Sim = {
    a,
    b,
    ev: { a: [], b: [] },
    now: () => now,
    dropAtoB: false,
    dropBtoA: false,
    aSent: [],
    pump: () => {
      for (let guard = 0; guard < 1000; guard++) {
        let moved = false;
        for (let f = a.pollTransmit(); f !== undefined; f = a.pollTransmit()) {
          moved = true;
          s.aSent.push(f);
          if (!s.dropAtoB) b.handleFrame(instant(now), f);
        }
        for (let f = b.pollTransmit(); f !== undefined; f = b.pollTransmit()) {
          moved = true;
          const proto = s.dropBtoAProtocol === undefined ? undefined : parsePppFrame(f);
          if (!s.dropBtoA && !(proto?.ok === true && proto.value.protocol === s.dropBtoAProtocol)) a.handleFrame(instant(now), f);
        }
        for (let e = a.pollEvent(); e !== undefined; e = a.pollEvent()) s.ev.a.push(e);
        for (let e = b.pollEvent(); e !== undefined; e = b.pollEvent()) s.ev.b.push(e);
        if (!moved) return;
      }
      throw new Error('pump did not settle');
    },
    runUntil: (t: number) => {
      s.pump();
      for (;;) {
        const next = [a.pollAt(), b.pollAt()].filter((x): x is Instant => x !== undefined).sort((x, y) => x - y)[0];
        if (next === undefined || next > t) break;
        now = next;
        a.handleTimeout(instant(now));
        b.handleTimeout(instant(now));
        s.pump();
      }
      now = t;
    },
  };
  return s;
}

const types = (evs: PppEvent[]): string[] => evs.map((e) => (e.type === 'phase' ? `phase:${e.phase}` : e.type));

for (const method of ['chap-md5', 'mschapv2', 'pap'] as const) {
  test(`sim: ${method} reaches Network, IPv4 + DNS, IPV6CP up, clean terminate`, () => {
    const p = pool();
    const s = sim({ auth: [method], pool: p }, {});
    s.a.open(instant(0));
    s.b.open(instant(0));
    s.pump();
    assert.equal(s.a.phase, 'network');
    assert.equal(s.b.phase, 'network');
    assert.ok(s.ev.a.some((e) => e.type === 'auth-success' && e.username === 'alice' && e.method === method));
    const ipA = s.ev.a.find((e) => e.type === 'ip-up');
    const ipB = s.ev.b.find((e) => e.type === 'ip-up');
    assert.deepEqual(ipA, { type: 'ip-up', local: '100.64.0.1', peer: '100.64.0.10', dns: ['192.0.2.53', '192.0.2.54'], nbns: [] });
    assert.deepEqual(ipB, { type: 'ip-up', local: '100.64.0.10', peer: '100.64.0.1', dns: ['192.0.2.53', '192.0.2.54'], nbns: [] });
    const v6a = s.ev.a.find((e) => e.type === 'ipv6-up');
    const v6b = s.ev.b.find((e) => e.type === 'ipv6-up');
    assert.ok(v6a?.type === 'ipv6-up' && v6b?.type === 'ipv6-up');
    assert.deepEqual(v6a.localInterfaceId, v6b.peerInterfaceId);
    assert.deepEqual(v6a.peerInterfaceId, v6b.localInterfaceId);
    assert.equal(s.a.lcpInfo.peerMru, 1400);
    assert.equal(s.b.lcpInfo.auth, method);
    // Data flows both ways.
    const pkt = Uint8Array.of(0x45, 0, 0, 20);
    const fr = s.b.sendIp(pkt, 4);
    assert.ok(fr);
    assert.deepEqual(s.a.handleFrame(instant(0), fr), { version: 4, packet: pkt });
    // Clean terminate from the client at t=1 s.
    s.runUntil(1000);
    s.b.close(instant(1000));
    s.runUntil(20_000);
    assert.deepEqual(s.ev.b.at(-1), { type: 'link-down', reason: 'admin-close' });
    assert.deepEqual(s.ev.a.at(-1), { type: 'link-down', reason: 'peer-terminated' });
    assert.equal(s.a.phase, 'dead');
    assert.equal(p.used.size, 0, 'pool address released');
    assert.ok(types(s.ev.a).includes('ip-down'));
  });
}

test('sim: links sharing one frozen config lease from their own pool (PppLinkOwn wins over cfg.pool) and release to it', () => {
  const cfgPool = pool();
  const cfg: PppLinkConfig = Object.freeze<PppLinkConfig>({ role: 'authenticator', random: seededRandom(1), verifier: users, auth: ['chap-md5'], pool: cfgPool, ipcp: { localAddress: '100.64.0.1' }, ipv6cp: false });
  const [p1, p2] = [pool(), pool()];
  p2.used.add('100.64.0.10'); // the second pool hands out .11 first
  const s1 = sim({}, { ipv6cp: false }, false, { cfg, own: { pool: p1 } });
  const s2 = sim({}, { ipv6cp: false }, false, { cfg, own: { pool: p2 } });
  assert.equal(s1.a.cfg, s2.a.cfg, 'one config object');
  for (const s of [s1, s2]) {
    s.a.open(instant(0));
    s.b.open(instant(0));
    s.pump();
    assert.equal(s.a.phase, 'network');
  }
  assert.equal((s1.ev.a.find((e) => e.type === 'ip-up') as { peer: string } | undefined)?.peer, '100.64.0.10');
  assert.equal((s2.ev.a.find((e) => e.type === 'ip-up') as { peer: string } | undefined)?.peer, '100.64.0.11');
  assert.deepEqual([...p1.used], ['100.64.0.10']);
  assert.deepEqual([...p2.used].sort(), ['100.64.0.10', '100.64.0.11']);
  assert.equal(cfgPool.used.size, 0, 'the config pool is not used when the link has its own');
  s1.b.close(instant(0));
  s1.runUntil(20_000);
  assert.equal(p1.used.size, 0, 'released to its own pool');
  assert.deepEqual([...p2.used].sort(), ['100.64.0.10', '100.64.0.11'], 'the other link keeps its lease');
  // A fresh link polls nothing (its queues exist only while they hold something).
  const idle = new PppLink(cfg, { pool: pool() });
  assert.equal(idle.pollTransmit(), undefined);
  assert.equal(idle.pollEvent(), undefined);
});

test('sim: peer Naks MS-CHAPv2, authenticator moves to CHAP-MD5', () => {
  const s = sim({ auth: ['mschapv2', 'chap-md5', 'pap'], pool: pool() }, { auth: ['chap-md5'] });
  s.a.open(instant(0));
  s.b.open(instant(0));
  s.pump();
  assert.equal(s.a.lcpInfo.auth, 'chap-md5');
  assert.equal(s.a.phase, 'network');
});

test('sim: peer refuses every protocol we allow -> auth-protocol-refused', () => {
  const s = sim({ auth: ['mschapv2'] }, { auth: ['pap'] });
  s.a.open(instant(0));
  s.b.open(instant(0));
  s.runUntil(60_000);
  assert.deepEqual(s.ev.a.at(-1), { type: 'link-down', reason: 'auth-protocol-refused' });
});

test('sim: wrong password -> MS-CHAPv2 Failure E=691, both links down with auth-failed', () => {
  const s = sim({ pool: pool() }, { credentials: { username: 'alice', password: 'nope' } });
  s.a.open(instant(0));
  s.b.open(instant(0));
  s.pump();
  const failure = s.aSent
    .map((f) => parsePppFrame(f))
    .find((r) => r.ok && r.value.protocol === PppProtocol.CHAP && r.value.info[0] === 4);
  assert.ok(failure?.ok);
  const msg = new TextDecoder().decode(failure.value.info.subarray(4));
  assert.match(msg, /^E=691 R=0 C=[0-9A-F]{32} V=3 M=Authentication failure$/);
  s.runUntil(30_000);
  assert.ok(s.ev.a.some((e) => e.type === 'auth-failure'));
  assert.ok(s.ev.b.some((e) => e.type === 'auth-failure'));
  assert.deepEqual(s.ev.a.at(-1), { type: 'link-down', reason: 'auth-failed' });
  assert.deepEqual(s.ev.b.at(-1), { type: 'link-down', reason: 'auth-failed' });
});

test('sim: the authenticator retransmits its Challenge on the link\'s restart timer, Max-Configure times (cfg.fsm), then auth-timeout', () => {
  const s = sim({ auth: ['chap-md5'], fsm: { restartTimer: seconds(1), maxConfigure: 3 } }, {});
  s.dropBtoAProtocol = PppProtocol.CHAP;
  s.a.open(instant(0));
  s.b.open(instant(0));
  const challengeTimes: number[] = [];
  const seen = (): number => s.aSent.filter((f) => { const r = parsePppFrame(f); return r.ok && r.value.protocol === PppProtocol.CHAP && r.value.info[0] === 1; }).length;
  for (let t = 0; t <= 5000; t += 250) {
    const before = seen();
    s.runUntil(t);
    if (seen() > before) challengeTimes.push(s.now());
  }
  assert.deepEqual(challengeTimes, [0, 1000, 2000], 'three Challenges, 1 s apart');
  assert.ok(s.ev.a.some((e) => e.type === 'auth-failure' && e.reason === 'timeout'));
  assert.deepEqual(s.ev.a.at(-1), { type: 'link-down', reason: 'auth-failed' });
});

test('sim: external decision (no verifier): auth-request, then authResult with Framed address', () => {
  const s = sim({ auth: ['chap-md5'], ipv6cp: false }, {}, true);
  s.a.open(instant(0));
  s.b.open(instant(0));
  s.pump();
  const req = s.ev.a.find((e) => e.type === 'auth-request');
  assert.ok(req?.type === 'auth-request' && req.request.method === 'chap-md5');
  assert.equal(s.a.phase, 'authenticate');
  if (req.request.method !== 'chap-md5') return;
  // The external decider (a RADIUS stand-in) checks the CHAP response itself.
  const good = chapMd5Response(req.request.identifier, new TextEncoder().encode('wonderland'), req.request.challenge);
  assert.deepEqual(good, req.request.response);
  s.a.authResult(instant(0), { ok: true, framedAddress: '100.64.7.7' });
  s.pump();
  assert.equal(s.a.phase, 'network');
  assert.ok(s.ev.a.some((e) => e.type === 'ip-up' && e.peer === '100.64.7.7'));
  assert.equal(s.b.ipv4?.local, '100.64.7.7');
});

test('sim: an external decision carries per-session DNS / NBNS into IPCP (RADIUS MS-DNS), over the configured ones', () => {
  const s = sim({ auth: ['chap-md5'], ipv6cp: false, ipcp: { localAddress: '100.64.0.1', dns: ['192.0.2.53'] } }, {}, true);
  s.a.open(instant(0));
  s.b.open(instant(0));
  s.pump();
  assert.ok(s.ev.a.some((e) => e.type === 'auth-request'));
  s.a.authResult(instant(0), { ok: true, framedAddress: '100.64.7.8', dns: ['203.0.113.53', '203.0.113.54'], nbns: ['203.0.113.137'] });
  s.pump();
  const up = s.ev.a.find((e) => e.type === 'ip-up');
  assert.ok(up?.type === 'ip-up');
  assert.deepEqual(up.dns, ['203.0.113.53', '203.0.113.54']);
  assert.deepEqual(up.nbns, ['203.0.113.137']);
  // The peer asked for DNS (RFC 1877) and got exactly the decision's servers, not 192.0.2.53.
  const peerUp = s.ev.b.find((e) => e.type === 'ip-up');
  assert.ok(peerUp?.type === 'ip-up');
  assert.deepEqual(peerUp.dns, ['203.0.113.53', '203.0.113.54']);
});

test('sim: per-user static address wins over the pool', () => {
  const p = pool();
  const s = sim({ auth: ['pap'], pool: p, staticAddresses: { alice: '100.64.9.9' } }, {});
  s.a.open(instant(0));
  s.b.open(instant(0));
  s.pump();
  assert.equal(s.b.ipv4?.local, '100.64.9.9');
  assert.equal(p.used.size, 0);
});

test('sim: LCP echo keepalive countdown at exact instants, then echo-timeout', () => {
  // Exact instants: no jitter, and a plain (not adaptive) keepalive.
  const s = sim({ auth: ['pap'], pool: pool(), echoInterval: seconds(10), echoFailure: 3, echoJitter: 0, echoAdaptive: false }, { echoInterval: seconds(0) });
  s.a.open(instant(0));
  s.b.open(instant(0));
  s.pump();
  assert.equal(s.a.phase, 'network');
  // Answered echoes keep the link up.
  s.runUntil(35_000);
  assert.ok(!s.ev.a.some((e) => e.type === 'echo-countdown'));
  // The client vanishes at 35 s: requests at 40 s (first unanswered), misses counted at 50, 60, 70 s.
  s.dropBtoA = true;
  const marks: [number, number][] = [];
  for (let t = 35_000; t <= 70_000; t += 1000) {
    const before = s.ev.a.length;
    s.runUntil(t);
    for (const e of s.ev.a.slice(before)) if (e.type === 'echo-countdown') marks.push([t, e.remaining]);
  }
  assert.deepEqual(marks, [
    [50_000, 2],
    [60_000, 1],
    [70_000, 0],
  ]);
  // Terminate-Requests at 70 s and 73 s, give up at 76 s.
  s.runUntil(75_999);
  assert.equal(s.a.phase, 'terminate');
  s.runUntil(76_000);
  assert.deepEqual(s.ev.a.at(-1), { type: 'link-down', reason: 'echo-timeout' });
});

test('sim: LCP Max-Configure with a silent peer -> lcp-timeout at 30 s', () => {
  const s = sim({}, {});
  s.dropAtoB = true;
  s.dropBtoA = true;
  s.a.open(instant(0));
  s.runUntil(29_999);
  assert.equal(s.a.phase, 'establish');
  s.runUntil(30_000);
  assert.deepEqual(s.ev.a.at(-1), { type: 'link-down', reason: 'lcp-timeout' });
});

test('sim: magic-number loop-back detection (link wired to itself)', () => {
  const a = new PppLink({ role: 'peer', random: seededRandom(3) });
  a.open(instant(0));
  const evs: PppEvent[] = [];
  for (let i = 0; i < 500; i++) {
    const f = a.pollTransmit();
    if (f === undefined) break;
    a.handleFrame(instant(0), f);
  }
  for (let t = 0; t < 20_000; t += 1000) {
    a.handleTimeout(instant(t));
    for (let f = a.pollTransmit(); f !== undefined; f = a.pollTransmit()) a.handleFrame(instant(t), f);
  }
  for (let e = a.pollEvent(); e !== undefined; e = a.pollEvent()) evs.push(e);
  assert.deepEqual(evs.at(-1), { type: 'link-down', reason: 'loopback' });
});

test('sim: IPV6CP disabled on the client -> Protocol-Reject closes only IPV6CP', () => {
  const s = sim({ auth: ['pap'], pool: pool() }, { ipv6cp: false });
  s.a.open(instant(0));
  s.b.open(instant(0));
  s.pump();
  assert.equal(s.a.ncpStates.ipcp, 'Opened');
  assert.equal(s.a.ncpStates.ipv6cp, 'Stopped');
  assert.equal(s.a.phase, 'network');
  assert.ok(!s.ev.a.some((e) => e.type === 'link-down'));
});

test('sim: proxy LCP + proxy CHAP from the LAC: LCP starts Opened, auth verified, NCPs start', () => {
  // What the LAC sent the client (MRU 1400, CHAP-MD5, magic) and what the client sent (MRU 1400, magic).
  const lastSent = encodeCpOptionsForTest([
    [1, [0x05, 0x78]],
    [3, [0xc2, 0x23, 0x05]],
    [5, [0x11, 0x22, 0x33, 0x44]],
  ]);
  const lastReceived = encodeCpOptionsForTest([
    [1, [0x05, 0x78]],
    [5, [0x55, 0x66, 0x77, 0x88]],
  ]);
  const challenge = Uint8Array.from({ length: 16 }, (_, i) => i);
  const response = chapMd5Response(42, new TextEncoder().encode('wonderland'), challenge);
  const mk = (force: boolean): PppLink =>
    new PppLink({
      role: 'authenticator',
      random: seededRandom(9),
      verifier: users,
      auth: ['chap-md5'],
      pool: pool(),
      ipcp: { localAddress: '100.64.0.1' },
      proxy: {
        lastSentLcpConfReq: lastSent,
        lastReceivedLcpConfReq: lastReceived,
        proxyAuthenType: 2,
        proxyAuthenName: 'alice',
        proxyAuthenId: 42,
        proxyAuthenChallenge: challenge,
        proxyAuthenResponse: response,
        forceLcpRenegotiation: force,
      },
    });
  const a = mk(false);
  a.open(instant(0));
  const evs: PppEvent[] = [];
  for (let e = a.pollEvent(); e !== undefined; e = a.pollEvent()) evs.push(e);
  assert.equal(a.lcpState, 'Opened');
  assert.ok(evs.some((e) => e.type === 'lcp-up' && e.proxied));
  assert.ok(evs.some((e) => e.type === 'auth-success' && e.username === 'alice'));
  assert.equal(a.phase, 'network');
  assert.equal(a.lcpInfo.peerMagic, 0x55667788);
  const frames: number[] = [];
  for (let f = a.pollTransmit(); f !== undefined; f = a.pollTransmit()) {
    const r = parsePppFrame(f);
    if (r.ok) frames.push(r.value.protocol);
  }
  // CHAP Success (id 42), then IPCP and IPV6CP Configure-Requests; no LCP at all.
  assert.deepEqual(frames, [PppProtocol.CHAP, PppProtocol.IPCP, PppProtocol.IPV6CP]);

  // The switch forces renegotiation: the first frame is an LCP Configure-Request.
  const b = mk(true);
  b.open(instant(0));
  const first = b.pollTransmit();
  assert.ok(first);
  const r = parsePppFrame(first);
  assert.ok(r.ok && r.value.protocol === PppProtocol.LCP);
  const p = parseCpPacket(r.value.info, true);
  assert.ok(p.ok && p.value.kind === 'configure' && p.value.code === 1);
  assert.equal(b.lcpState, 'Req-Sent');
});

test('sim: proxy LCP that we cannot accept (PAP when we demand CHAP) -> renegotiate', () => {
  const a = new PppLink({
    role: 'authenticator',
    random: seededRandom(9),
    verifier: users,
    auth: ['chap-md5'],
    proxy: {
      lastSentLcpConfReq: encodeCpOptionsForTest([[3, [0xc0, 0x23]]]),
      lastReceivedLcpConfReq: encodeCpOptionsForTest([]),
      proxyAuthenType: 3,
      proxyAuthenName: 'alice',
      proxyAuthenResponse: new TextEncoder().encode('wonderland'),
    },
  });
  a.open(instant(0));
  assert.equal(a.lcpState, 'Req-Sent');
});
