/**
 * Two of our daemons with mirrored `[[l2tpv3_static]]` over loopback (127.0.0.2 <-> 127.0.0.3):
 * one pseudowire over UDP (4-byte cookie one way, 8-byte the other, no sublayer) and one over IP
 * protocol 115 (8-byte cookie one way, none back, sequenced both ways). Ethernet frames go into a
 * TAP through an AF_PACKET socket and must come out of the far TAP; `l2tpctl show status` (JSON
 * and text) and the metrics show the ids, ports, cookie sizes (never the values) and the counters;
 * a datagram from a stranger is counted as a foreign-source drop; stop removes the TAPs and frees
 * the UDP port. Needs root for the TAPs and the raw socket: SKIPS loudly without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runIp } from '../io/index.js';
import { PacketSocket } from '../io/packet-socket.js';
import { forwardFrames as forward } from '../../test/lib/tap-frames.js';
import { daemonConfig as config, freeUdpPort as freePort } from '../../test/lib/daemon-config.js';
import type { StatusView } from './control-protocol.js';
import { Daemon } from './daemon.js';
import { createL2tpEngine } from './engine-factory.js';
import { runL2tpctl } from './l2tpctl-cli.js';
import type { L2tpv3StaticView } from './l2tpv3-static-shell.js';
import { createLogger } from './logger.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const ROOT = process.getuid?.() === 0;
const A = '127.0.0.2';
const B = '127.0.0.3';
const COOKIE_AB = 'a1b2c3d4';
const COOKIE_BA = '0102030405060708';
const COOKIE_IP = 'f0e1d2c3b4a59687';



const PLAIN = '[ppp]\nenabled = false\n[ipsec]\nenabled = false\n';

interface Side {
  readonly local: string;
  readonly remote: string;
  readonly sport: number;
  readonly dport: number;
  readonly tap: string;
  /** [ours, peer's] ids. */
  readonly tunnel: readonly [number, number];
  readonly session: readonly [number, number];
  readonly udpSession: readonly [number, number];
  readonly cookie: string;
  readonly peerCookie: string;
  readonly ipCookie: string;
  readonly ipPeerCookie: string;
}

const SIDE = (s: Side): string => `${PLAIN}
[[l2tpv3_static]]
name = "udp1"
tap = "${s.tap}1"
local = "${s.local}"
remote = "${s.remote}"
udp_sport = ${s.sport}
udp_dport = ${s.dport}
tunnel_id = ${s.tunnel[0]}
peer_tunnel_id = ${s.tunnel[1]}
session_id = ${s.udpSession[0]}
peer_session_id = ${s.udpSession[1]}
cookie = "${s.cookie}"
peer_cookie = "${s.peerCookie}"
l2spec_type = "none"
[[l2tpv3_static]]
name = "ip1"
tap = "${s.tap}2"
encap = "ip"
local = "${s.local}"
remote = "${s.remote}"
tunnel_id = ${s.tunnel[0] + 1}
peer_tunnel_id = ${s.tunnel[1] + 1}
session_id = ${s.session[0]}
peer_session_id = ${s.session[1]}
cookie = "${s.ipCookie}"
peer_cookie = "${s.ipPeerCookie}"
seq = "both"
`;

async function ctl(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runL2tpctl(argv, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

async function statics(sock: string): Promise<readonly L2tpv3StaticView[]> {
  const r = await ctl('--socket', sock, 'show', 'status', '--json');
  assert.equal(r.code, 0, r.err);
  return (JSON.parse(r.out) as StatusView).l2tpv3Static ?? [];
}


const linkExists = (name: string): Promise<boolean> => runIp(['link', 'show', 'dev', name]).then(() => true, () => false);

test('[[l2tpv3_static]] daemon <-> daemon over loopback (UDP and IP encap, different cookies each way): frames cross, status and metrics count them, stop removes the TAPs', { timeout: 60_000 }, async (t) => {
  if (!ROOT) {
    console.error('SKIP [[l2tpv3_static]] daemon loopback: needs root for the TAP devices and the raw IP socket');
    t.skip('needs root for the TAP devices and the raw IP socket');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'l2tpd-v3t-'));
  const logs: string[] = [];
  const log = createLogger({ level: 'info', format: 'json', sink: { write: (l) => logs.push(l) } });
  const [portA, portB] = [await freePort(A), await freePort(B)];
  const sockA = join(dir, 'a.sock');
  const sockB = join(dir, 'b.sock');
  const cfgA = SIDE({ local: A, remote: B, sport: portA, dport: portB, tap: 'v3tA', tunnel: [1000, 2000], udpSession: [3000, 4000], session: [3100, 4100], cookie: COOKIE_AB, peerCookie: COOKIE_BA, ipCookie: COOKIE_IP, ipPeerCookie: '' });
  const cfgB = SIDE({ local: B, remote: A, sport: portB, dport: portA, tap: 'v3tB', tunnel: [2000, 1000], udpSession: [4000, 3000], session: [4100, 3100], cookie: COOKIE_BA, peerCookie: COOKIE_AB, ipCookie: '', ipPeerCookie: COOKIE_IP });
  const daemons: Daemon[] = [];
  const packets: PacketSocket[] = [];
  const stranger = createSocket('udp4');
  try {
    const a = await Daemon.start({ config: config(cfgA), log: log.child({ d: 'a' }), createEngine: createL2tpEngine, controlSocket: sockA });
    daemons.push(a);
    const b = await Daemon.start({ config: config(cfgB), log: log.child({ d: 'b' }), createEngine: createL2tpEngine, controlSocket: sockB });
    daemons.push(b);
    for (const n of ['v3tA1', 'v3tA2', 'v3tB1', 'v3tB2']) assert.ok(await linkExists(n), `TAP ${n} exists`);

    const open = (n: string): PacketSocket => {
      const p = PacketSocket.open({ interface: n });
      packets.push(p);
      return p;
    };
    const [a1, b1, a2, b2] = [open('v3tA1'), open('v3tB1'), open('v3tA2'), open('v3tB2')];
    assert.equal(await forward(a1, b1, 0, 20), 20, 'UDP: frames cross A -> B');
    assert.equal(await forward(b1, a1, 100, 15), 15, 'UDP: frames cross B -> A');
    assert.equal(await forward(a2, b2, 200, 12), 12, 'IP: frames cross A -> B');
    assert.equal(await forward(b2, a2, 300, 10), 10, 'IP: frames cross B -> A');

    // A stranger's datagram at A's UDP socket is dropped as foreign source.
    await new Promise<void>((r) => stranger.send(Buffer.alloc(32), portA, A, () => r()));
    const end = Date.now() + 3000;
    let sa = await statics(sockA);
    while (Date.now() < end && (sa[0]?.drops.foreignSource ?? 0) < 1) {
      await sleep(50);
      sa = await statics(sockA);
    }
    const sb = await statics(sockB);
    const [ua, ia] = sa;
    const [ub, ib] = sb;
    assert.ok(ua !== undefined && ia !== undefined && ub !== undefined && ib !== undefined, JSON.stringify(sa));
    assert.deepEqual(
      [ua.name, ua.tap, ua.encap, ua.localAddress, ua.localPort, ua.remoteAddress, ua.remotePort, ua.tunnelId, ua.peerTunnelId, ua.sessionId, ua.peerSessionId, ua.cookieLength, ua.peerCookieLength, ua.l2specType],
      ['udp1', 'v3tA1', 'udp', A, portA, B, portB, 1000, 2000, 3000, 4000, 4, 8, 'none'],
    );
    assert.deepEqual([ia.encap, ia.localPort, ia.remotePort, ia.sessionId, ia.peerSessionId, ia.cookieLength, ia.peerCookieLength, ia.seq], ['ip', undefined, undefined, 3100, 4100, 8, 0, 'both']);
    // Frames crossed each way are counted at both ends (the TAPs may add their own frames, e.g. IPv6 RS).
    assert.ok(ua.txPackets >= 20 && ub.rxPackets >= 20 && ub.txPackets >= 15 && ua.rxPackets >= 15, `UDP counters ${JSON.stringify([ua, ub])}`);
    assert.ok(ia.txPackets >= 12 && ib.rxPackets >= 12 && ib.txPackets >= 10 && ia.rxPackets >= 10, `IP counters ${JSON.stringify([ia, ib])}`);
    assert.ok(ua.rxOctets >= 15 * 64 && ua.txOctets >= 20 * 64);
    assert.equal(ua.drops.foreignSource, 1, 'the stranger is a foreign source');
    assert.deepEqual([ub.drops.wrongCookie, ub.drops.tooShort, ib.drops.wrongCookie, ib.drops.sequence, ia.drops.sequence, ua.drops.wrongCookie], [0, 0, 0, 0, 0, 0], 'no frame of the peer dropped');

    // The text form: ids, addresses, ports, cookie sizes; never the cookies themselves.
    const text = await ctl('--socket', sockA, 'show', 'status');
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /L2TPv3 STATIC\[udp1\]:/);
    assert.match(text.out, new RegExp(`Local address: +${A.replaceAll('.', '\\.')}  port ${portA}`));
    assert.match(text.out, /Session ID \/ peer: +3000 \/ 4000/);
    assert.match(text.out, /Cookie sent \/ required: +4 \/ 8 bytes/);
    assert.match(text.out, /L2TPv3 STATIC\[ip1\]:\n +Encapsulation: +IP \(protocol 115\)/);
    assert.match(text.out, /Dropped: +0 wrong cookie, 0 too short, 0 sequence, \d+ unknown session, \d+ bad header, 1 foreign source/);
    const leaks = [text.out, JSON.stringify(sa), JSON.stringify(sb), ...logs].filter((x) => [COOKIE_AB, COOKIE_BA, COOKIE_IP].some((c) => x.includes(c)));
    assert.deepEqual(leaks, [], 'no cookie value in status or logs');

    const m = await a.metrics.text();
    assert.match(m, new RegExp(`l2tpv3_static_packets_total\\{pseudowire="udp1",direction="tx"\\} ${ua.txPackets}\\b`));
    assert.match(m, /l2tpv3_static_drops_total\{pseudowire="udp1",reason="foreignSource"\} 1\b/);
    assert.match(m, /l2tpv3_static_octets_total\{pseudowire="ip1",direction="rx"\} \d+/);
  } finally {
    for (const p of packets) p.close();
    stranger.close();
    await Promise.all(daemons.map((d) => d.shutdown(300)));
    await rm(dir, { recursive: true, force: true });
  }
  // Stop closed every TAP and socket: the TAPs are gone and the UDP port binds again.
  for (const n of ['v3tA1', 'v3tA2', 'v3tB1', 'v3tB2']) assert.equal(await linkExists(n), false, `TAP ${n} removed at stop`);
  const again = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    again.once('error', reject);
    again.bind(portA, A, resolve);
  });
  again.close();
});

test('[[l2tpv3_static]]: a pseudowire that cannot open fails the start and leaves no TAP behind', { timeout: 30_000 }, async (t) => {
  if (!ROOT) {
    console.error('SKIP [[l2tpv3_static]] failed start: needs root for the TAP devices');
    t.skip('needs root for the TAP devices');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'l2tpd-v3t-'));
  const taken = createSocket('udp4');
  await new Promise<void>((r) => taken.bind(0, A, r));
  const busy = taken.address().port;
  const free = await freePort(A);
  const log = createLogger({ level: 'error', format: 'json', sink: { write: () => undefined } });
  // The first pseudowire opens (TAP v3tF1); the second one's port is taken: the start fails, both are closed.
  const two = `${PLAIN}
[[l2tpv3_static]]\nname = "ok"\ntap = "v3tF1"\nlocal = "${A}"\nremote = "${B}"\nudp_sport = ${free}\ntunnel_id = 1\npeer_tunnel_id = 1\nsession_id = 1\npeer_session_id = 1
[[l2tpv3_static]]\nname = "busy"\ntap = "v3tF2"\nlocal = "${A}"\nremote = "${B}"\nudp_sport = ${busy}\ntunnel_id = 2\npeer_tunnel_id = 2\nsession_id = 2\npeer_session_id = 2
`;
  try {
    await assert.rejects(Daemon.start({ config: config(two), log, createEngine: createL2tpEngine, controlSocket: join(dir, 'f.sock') }), /EADDRINUSE|in use/i);
  } finally {
    taken.close();
    await rm(dir, { recursive: true, force: true });
  }
  for (const n of ['v3tF1', 'v3tF2']) assert.equal(await linkExists(n), false, `TAP ${n} not left behind`);
});
