/**
 * Two of our daemons over loopback with `[l2tpv3]`: the public side accepts a pseudowire from a peer
 * it has no address for (matched by host name and the Message Digest / Challenge secret), the other
 * side dials it always-on. Observed only through the control socket (`l2tpctl show status --json`
 * and the text form). Needs root for the TAP devices (cvlb*): SKIPS loudly without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daemonConfig as config } from '../../test/lib/daemon-config.js';
import type { StatusView } from './control-protocol.js';
import { Daemon } from './daemon.js';
import { createL2tpEngine } from './engine-factory.js';
import { runL2tpctl } from './l2tpctl-cli.js';
import { createLogger } from './logger.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const ROOT = process.getuid?.() === 0;
const PORT_A = 21000 + (process.pid % 4000) * 2;
const PORT_B = PORT_A + 1;


const PLAIN = '[ppp]\nenabled = false\n[ipsec]\nenabled = false\n';

const PUBLIC = (secret: string): string => `[l2tp]\nhost_name = "public"\n${PLAIN}
[l2tpv3]
listen = "127.0.0.1:${PORT_A}"
secret = "${secret}"
challenge = true
keepalive_interval = 1
keepalive_count = 3
[[l2tpv3.pseudowire]]
name = "lan1"
peer_host_name = "site-b"
tap = "cvlbA"
cookie_length = 4
`;

const SITE_B = (secret: string): string => `[l2tp]\nhost_name = "site-b"\n${PLAIN}
[l2tpv3]
listen = "127.0.0.1:${PORT_B}"
secret = "${secret}"
message_digest = "sha1"
challenge = true
keepalive_interval = 1
keepalive_count = 3
redial_initial = 0.2
redial_max = 1
[[l2tpv3.pseudowire]]
name = "lan1"
peer = "127.0.0.1:${PORT_A}"
tap = "cvlbB"
cookie_length = 8
`;

async function ctl(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runL2tpctl(argv, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

async function status(sock: string): Promise<StatusView> {
  const r = await ctl('--socket', sock, 'show', 'status', '--json');
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as StatusView;
}

const up = (s: StatusView): boolean => s.l2tpv3?.connections.some((c) => c.state === 'established' && c.sessions.some((x) => x.state === 'established')) ?? false;

async function until(what: string, ms: number, sock: string, pred: (s: StatusView) => boolean): Promise<StatusView> {
  const end = Date.now() + ms;
  let last: StatusView | undefined;
  while (Date.now() < end) {
    last = await status(sock);
    if (pred(last)) return last;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(last?.l2tpv3)}`);
}

test('[l2tpv3] daemon <-> daemon over loopback: accepted without a peer address, shown, redialed after a restart', { timeout: 30_000 }, async (t) => {
  if (!ROOT) {
    console.error('SKIP [l2tpv3] daemon loopback: needs root for the TAP devices');
    t.skip('needs root for the TAP devices');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'l2tpd-v3-'));
  const logs: string[] = [];
  const log = createLogger({ level: 'info', format: 'json', sink: { write: (l) => logs.push(l) } });
  const sockA = join(dir, 'a.sock');
  const sockB = join(dir, 'b.sock');
  const startA = (secret = 'pw secret'): Promise<Daemon> => Daemon.start({ config: config(PUBLIC(secret)), log: log.child({ d: 'a' }), createEngine: createL2tpEngine, controlSocket: sockA });
  let a = await startA();
  let b: Daemon | undefined;
  try {
    b = await Daemon.start({ config: config(SITE_B('pw secret')), log: log.child({ d: 'b' }), createEngine: createL2tpEngine, controlSocket: sockB });
    const sa = await until('public side up', 8000, sockA, up);
    const sb = await until('site B up', 8000, sockB, up);
    const ca = sa.l2tpv3?.connections.find((c) => c.state === 'established');
    const cb = sb.l2tpv3?.connections.find((c) => c.state === 'established');
    assert.ok(ca !== undefined && cb !== undefined);
    assert.equal(ca.role, 'responder');
    assert.equal(cb.role, 'initiator');
    assert.equal(ca.version, 'L2TPv3');
    assert.equal(ca.remoteHostName, 'site-b');
    assert.equal(ca.remotePort, PORT_B, 'the public side learned the peer port');
    assert.equal(ca.remoteTunnelId, cb.localTunnelId);
    assert.equal(ca.sessions[0]?.remoteSessionId, cb.sessions[0]?.localSessionId);
    assert.equal(ca.sessions[0]?.tap, 'cvlbA');
    assert.equal(ca.sessions[0]?.circuitRemote, 'up (new)');
    assert.equal(sa.l2tpv3?.auth, 'Message Digest MD5 + Challenge');
    const text = await ctl('--socket', sockA, 'show', 'status');
    assert.match(text.out, /Version: +L2TPv3/);
    assert.match(text.out, /Remote host name: +site-b/);
    assert.match(text.out, /Session lan1: +established/);

    // clear session on the public side: CDN; the session goes, the connection stays.
    const cleared = await ctl('--socket', sockA, 'clear', 'session', String(ca.sessions[0]?.localSessionId ?? 0));
    assert.equal(cleared.code, 0, cleared.err);
    await until('session cleared at site B', 5000, sockB, (s) => s.l2tpv3?.connections.some((c) => c.state === 'established' && c.sessions.length === 0) ?? false);
    // clear tunnel on site B: StopCCN, then the always-on redial brings everything back.
    const ct = await ctl('--socket', sockB, 'clear', 'tunnel', String(cb.localTunnelId));
    assert.equal(ct.code, 0, ct.err);
    await until('site B redialed after clear', 10_000, sockB, (s) => up(s) && !(s.l2tpv3?.connections.some((c) => c.localTunnelId === cb.localTunnelId && c.state === 'established') ?? false));

    // The public side restarts: site B redials and the pseudowire comes back.
    await a.shutdown(500);
    await until('site B noticed', 8000, sockB, (s) => !up(s));
    a = await startA();
    await until('public side up again', 10_000, sockA, up);
    await until('site B up again', 10_000, sockB, up);
    assert.ok(logs.some((l) => l.includes('always-on: redial attempt')), 'redial logged');

    // A public side with another secret refuses site B.
    await a.shutdown(500);
    a = await startA('other secret');
    await sleep(3000);
    assert.ok(!up(await status(sockA)), 'the wrong secret got a pseudowire');
    assert.ok(logs.some((l) => l.includes('authentication failed')), 'auth failure logged');
  } finally {
    await Promise.all([a.shutdown(300), b?.shutdown(300)]);
    await rm(dir, { recursive: true, force: true });
  }
});

const P = PORT_A + 10_000;
const IPSEC_PUBLIC = `[l2tp]\nhost_name = "public"\n${PLAIN}
[l2tpv3]
listen = "127.0.0.1:${P}"
ipsec = true
psk = "loopback v3 psk"
raw_esp = false
ike_port = ${P + 2}
natt_port = ${P + 3}
[[l2tpv3.pseudowire]]
name = "lan1"
peer_host_name = "site-b"
tap = "cvlbC"
`;
const IPSEC_SITE_B = (ipsec: boolean): string => `[l2tp]\nhost_name = "site-b"\n${PLAIN}
[l2tpv3]
listen = "127.0.0.1:${P + 1}"
redial_initial = 0.2
redial_max = 1
${ipsec ? `ipsec = true\npsk = "loopback v3 psk"\nforce_encapsulation = true\nraw_esp = false\nike_port = ${P + 4}\nnatt_port = ${P + 5}\npeer_ike_port = ${P + 2}\npeer_natt_port = ${P + 3}` : ''}
[[l2tpv3.pseudowire]]
name = "lan1"
peer = "127.0.0.1:${P}"
tap = "cvlbD"
`;

test('[l2tpv3] ipsec = true, daemon <-> daemon over loopback: the pseudowire inside ESP-in-UDP, shown; a clear v3 peer refused', { timeout: 30_000 }, async (t) => {
  if (!ROOT) {
    console.error('SKIP [l2tpv3] ipsec daemon loopback: needs root for the TAP devices');
    t.skip('needs root for the TAP devices');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'l2tpd-v3s-'));
  const logs: string[] = [];
  const log = createLogger({ level: 'info', format: 'json', sink: { write: (l) => logs.push(l) } });
  const sockA = join(dir, 'a.sock');
  const sockB = join(dir, 'b.sock');
  const a = await Daemon.start({ config: config(IPSEC_PUBLIC), log: log.child({ d: 'a' }), createEngine: createL2tpEngine, controlSocket: sockA });
  let b: Daemon | undefined;
  try {
    b = await Daemon.start({ config: config(IPSEC_SITE_B(true)), log: log.child({ d: 'b' }), createEngine: createL2tpEngine, controlSocket: sockB });
    const sa = await until('public side up inside IPsec', 10_000, sockA, up);
    await until('site B up inside IPsec', 5000, sockB, up);
    const flow = sa.l2tpv3?.ipsec?.flows[0];
    assert.ok(flow !== undefined, JSON.stringify(sa.l2tpv3?.ipsec));
    assert.equal(flow.encapsulation, 'udp-transport');
    assert.equal(flow.remote.port, P + 5, 'ESP from site B\'s NAT-T port');
    assert.ok(flow.packetsIn >= 2 && flow.packetsOut >= 2, JSON.stringify(flow)); // SCCRQ, SCCCN, ICRQ, ICCN in; SCCRP, ICRP out
    assert.ok(logs.some((l) => l.includes('IPsec on 127.0.0.1') && l.includes('responder') && l.includes('only inside IPsec')), 'IPsec listener logged');
    assert.ok(!logs.some((l) => l.includes('loopback v3 psk')), 'the PSK never reaches a log');
    await b.shutdown(300);
    // The same site without IPsec: its clear SCCRQs are refused and counted, never answered.
    b = await Daemon.start({ config: config(IPSEC_SITE_B(false)), log: log.child({ d: 'b2' }), createEngine: createL2tpEngine, controlSocket: sockB });
    const refused = await until('clear v3 refused', 8000, sockA, (s) => (s.l2tpv3?.ipsec?.counters.clearRefused ?? 0) >= 2);
    assert.ok(!(refused.l2tpv3?.connections.some((c) => c.state === 'established') ?? false));
    assert.ok(!up(await status(sockB)), 'a clear peer got a pseudowire');
    assert.ok(logs.some((l) => l.includes('outside IPsec refused')), 'refusal logged');
  } finally {
    await Promise.all([a.shutdown(300), b?.shutdown(300)]);
    await rm(dir, { recursive: true, force: true });
  }
});
