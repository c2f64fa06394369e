/**
 * `[radius]` in the running daemon, in-process over loopback with real TUN devices: an LNS daemon
 * whose PPP logins go to a scripted RADIUS server (it checks the PAP password and answers with
 * Framed-IP-Address, MS DNS, Class and Session-Timeout), and a LAC daemon in client mode. Checks:
 * the Access-Request attributes (NAS, port, tunnel attributes), the client's address and DNS, the
 * accounting sequence Accounting-On, Start, Stop with Class and counters, Accounting-Off;
 * `l2tpctl show radius`; a DAE Disconnect-Request (ACK, the client's PPP goes down, Stop with
 * Admin-Reset), an unknown session (NAK 503) and a wrong secret (dropped); the spool emptied; the
 * metrics. Needs root (TUN in network namespaces).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answer, seeRequest, type SeenRequest } from '../../test/lib/radius-client.js';
import {
  ERROR_CAUSE, MS_ATTR, RADIUS_ATTR, RADIUS_CODE, attributeValue, encodeAttribute, encodeSignedPacket, findAttributes, parseRadiusPacket, type AttributeDef, type RadiusAttribute,
} from '../wire/radius/index.js';
import { daemonConfig as config } from '../../test/lib/daemon-config.js';
import { Daemon } from './daemon.js';
import { createL2tpEngine } from './engine-factory.js';
import { createLogger } from './logger.js';
import { runL2tpctl } from './l2tpctl-cli.js';
import type { RadiusView, SessionView } from './control-protocol.js';
import { createNetns, deleteNetns, requireTunPrivileges } from '../../test/lib/tun-packets.js';
import { parseIpv4 } from '../base/index.js';

const SECRET = 'loop-radius-secret';
const DAE_SECRET = 'loop-dae-secret';
const enc = new TextEncoder();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


const attr = <T>(def: AttributeDef<T>, v: T): RadiusAttribute => {
  const a = encodeAttribute(def, v);
  if (!a.ok) throw new Error(JSON.stringify(a.error));
  return a.value;
};

/** A scripted RADIUS server on 127.0.0.1: accepts alice/wonderland, records every request. */
async function scriptedServer(): Promise<{ sock: Socket; port: number; seen: SeenRequest[]; close: () => Promise<void> }> {
  const sock = createSocket('udp4');
  const secret = enc.encode(SECRET);
  const seen: SeenRequest[] = [];
  sock.on('message', (msg, rinfo) => {
    const req = seeRequest(msg, secret);
    seen.push(req);
    const p = req.packet;
    if (p.code === RADIUS_CODE.AccountingRequest) {
      sock.send(answer(p, secret, RADIUS_CODE.AccountingResponse, [], { messageAuthenticator: false }), rinfo.port, rinfo.address);
      return;
    }
    const ok = attributeValue(req.decoded.attributes, RADIUS_ATTR.UserName) === 'alice' && attributeValue(req.decoded.attributes, RADIUS_ATTR.UserPassword) === 'wonderland';
    const reply = ok
      ? [
          attr(RADIUS_ATTR.FramedIpAddress, parseIpv4('100.64.7.77') ?? 0),
          attr(RADIUS_ATTR.Class, enc.encode('loop-class')),
          attr(RADIUS_ATTR.SessionTimeout, 3600),
          attr(MS_ATTR.PrimaryDnsServer, parseIpv4('203.0.113.53') ?? 0),
        ]
      : [attr(RADIUS_ATTR.ReplyMessage, 'go away')];
    sock.send(answer(p, secret, ok ? RADIUS_CODE.AccessAccept : RADIUS_CODE.AccessReject, reply), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return { sock, port: sock.address().port, seen, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

/** Send one DAE request (Disconnect 40 / CoA 43) and wait for the answer (undefined: none within 1.5 s). */
async function dae(port: number, code: number, attributes: RadiusAttribute[], secret = DAE_SECRET): Promise<{ code: number; errorCause: number | undefined } | undefined> {
  const pkt = encodeSignedPacket({ code, identifier: 7, attributes: [...attributes, attr(RADIUS_ATTR.EventTimestamp, Math.floor(Date.now() / 1000))] }, enc.encode(secret));
  if (!pkt.ok) throw new Error('encode');
  const sock = createSocket('udp4');
  try {
    return await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), 1500);
      sock.on('message', (msg) => {
        clearTimeout(timer);
        const p = parseRadiusPacket(msg);
        if (!p.ok) return resolve(undefined);
        const ec = p.value.attributes.find((a) => a.type === RADIUS_ATTR.ErrorCause.type);
        resolve({ code: p.value.code, errorCause: ec === undefined ? undefined : new DataView(ec.value.buffer, ec.value.byteOffset).getUint32(0) });
      });
      sock.send(pkt.value, port, '127.0.0.1');
    });
  } finally {
    sock.close();
  }
}

async function ctl<T>(sock: string, ...args: string[]): Promise<T> {
  let out = '';
  const code = await runL2tpctl(['--socket', sock, ...args, '--json'], { out: (t) => (out += t), err: (t) => (out += t) });
  assert.equal(code, 0, out);
  return JSON.parse(out) as T;
}

const statusOf = (s: SeenRequest): number | undefined => attributeValue(s.decoded.attributes, RADIUS_ATTR.AcctStatusType);

test('[radius] in the daemon: PAP via RADIUS, authorization, accounting On/Start/Stop/Off, show radius, DAE Disconnect', { timeout: 90_000 }, async () => {
  requireTunPrivileges();
  const tag = (process.pid % 10000).toString(36);
  const lan = `l2k-rl-${tag}`;
  const cli = `l2k-rc-${tag}`;
  const dir = await mkdtemp(join(tmpdir(), 'l2tpd-radius-'));
  const logs: string[] = [];
  const log = createLogger({ level: 'debug', format: 'json', sink: { write: (l) => logs.push(l) } });
  const rad = await scriptedServer();
  await createNetns(lan);
  await createNetns(cli);
  let lns: Daemon | undefined;
  let lac: Daemon | undefined;
  const spool = join(dir, 'state', 'acct.spool');
  try {
    lns = await Daemon.start({
      config: config(`[daemon]
metrics_listen = "127.0.0.1:0"
[[listen]]
address = "127.0.0.1"
port = 0
[ppp]
auth = ["pap"]
dns = ["198.18.0.53"]
[pool]
ipv4 = "100.64.7.0/24"
[tun]
name = "l2kr${tag}"
netns = "${lan}"
[ipsec]
enabled = false
[radius]
spool = "${spool}"
[[radius.server]]
name = "scripted"
address = "127.0.0.1"
auth_port = ${rad.port}
acct_port = ${rad.port}
secret = "${SECRET}"
timeout = 0.5
[radius.dae]
listen = "127.0.0.1:0"
[[radius.dae.client]]
name = "portal"
address = "127.0.0.1"
secret = "${DAE_SECRET}"
`),
      log: log.child({ d: 'lns' }),
      createEngine: createL2tpEngine,
      controlSocket: join(dir, 'lns.sock'),
    });
    const port = lns.listenerAddresses[0]?.port ?? 0;
    lac = await Daemon.start({
      config: config(`listen = []
[[lac]]
name = "up"
lns = "127.0.0.1"
port = ${port}
local_address = "127.0.0.1"
ppp = true
username = "alice"
password = "wonderland"
tun = "l2kq${tag}"
tun_netns = "${cli}"
`),
      log: log.child({ d: 'lac' }),
      createEngine: createL2tpEngine,
      controlSocket: join(dir, 'lac.sock'),
    });
    const lnsSock = join(dir, 'lns.sock');
    let sess: SessionView | undefined;
    for (let i = 0; i < 100 && sess?.address === undefined; i++) {
      await sleep(100);
      sess = (await ctl<SessionView[]>(lnsSock, 'show', 'sessions'))[0];
    }
    assert.equal(sess?.address, '100.64.7.77', `Framed-IP-Address honoured; logs:\n${logs.slice(-30).join('')}`);
    assert.equal(sess?.username, 'alice');

    // The Access-Request: PAP, NAS identity, port, the incoming tunnel (Junos-style attributes).
    const ar = rad.seen.find((s) => s.packet.code === RADIUS_CODE.AccessRequest);
    assert.ok(ar !== undefined);
    const a = ar.decoded.attributes;
    assert.equal(ar.firstAttributeType, RADIUS_ATTR.MessageAuthenticator.type, 'Message-Authenticator first (Blast-RADIUS)');
    assert.equal(attributeValue(a, RADIUS_ATTR.NasIpAddress), parseIpv4('127.0.0.1'));
    assert.equal(attributeValue(a, RADIUS_ATTR.NasIdentifier), 'l2tpkit');
    assert.equal(attributeValue(a, RADIUS_ATTR.NasPortType), 5);
    assert.equal(attributeValue(a, RADIUS_ATTR.ServiceType), 2);
    assert.equal(attributeValue(a, RADIUS_ATTR.FramedProtocol), 1);
    assert.equal(attributeValue(a, RADIUS_ATTR.TunnelType), 3);
    assert.equal(attributeValue(a, RADIUS_ATTR.TunnelMediumType), 1);
    assert.equal(attributeValue(a, RADIUS_ATTR.TunnelClientEndpoint), '127.0.0.1');
    assert.equal(attributeValue(a, RADIUS_ATTR.TunnelServerEndpoint), '127.0.0.1');
    assert.equal(attributeValue(a, RADIUS_ATTR.TunnelClientAuthId), 'l2tpkit');
    assert.equal(attributeValue(a, RADIUS_ATTR.TunnelServerAuthId), 'l2tpkit');
    const once: readonly AttributeDef[] = [RADIUS_ATTR.NasPort, RADIUS_ATTR.NasPortId, RADIUS_ATTR.AcctSessionId, RADIUS_ATTR.AcctTunnelConnection, RADIUS_ATTR.TunnelAssignmentId];
    for (const def of once) assert.ok(findAttributes(a, def).length === 1, `${def.name} present`);
    const acctId = attributeValue(a, RADIUS_ATTR.AcctSessionId);

    // Accounting-On, then Start with the session's Acct-Session-Id and the Class.
    await sleep(300);
    const acct = (): SeenRequest[] => rad.seen.filter((s) => s.packet.code === RADIUS_CODE.AccountingRequest);
    assert.deepEqual(acct().map(statusOf).slice(0, 2), [7, 1], 'Accounting-On, then Start');
    const start = acct()[1];
    assert.equal(attributeValue(start?.decoded.attributes ?? [], RADIUS_ATTR.AcctSessionId), acctId);
    assert.deepEqual([...(attributeValue(start?.decoded.attributes ?? [], RADIUS_ATTR.Class) ?? [])], [...enc.encode('loop-class')]);

    const view = await ctl<RadiusView>(lnsSock, 'show', 'radius');
    assert.deepEqual(view.servers.map((s) => [s.name, s.role, s.state]), [['scripted', 'auth', 'alive'], ['scripted', 'acct', 'alive']]);
    assert.equal(view.servers[0]?.accepts, 1);
    assert.ok((view.servers[1]?.accountingResponses ?? 0) >= 2);
    assert.equal(view.accounting.spoolPath, spool);
    let text = '';
    assert.equal(await runL2tpctl(['--socket', lnsSock, 'show', 'radius'], { out: (t) => (text += t), err: (t) => (text += t) }), 0);
    assert.match(text, /^scripted\s+auth\s+127\.0\.0\.1:\d+\s+1\s+alive\s+1\s+1\s+0/m);
    const metricsPort = lns.metricsPort ?? 0;
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /radius_accepts_total\{server="scripted",role="auth"\} 1/);
    assert.match(metrics, /radius_server_up\{server="scripted",role="acct"\} 1/);

    // DAE: wrong secret dropped; unknown session NAK 503; Disconnect by Acct-Session-Id ACKed.
    const daePort = view.dae?.listen.split(':').pop();
    assert.ok(daePort !== undefined);
    assert.equal(await dae(Number(daePort), RADIUS_CODE.DisconnectRequest, [attr(RADIUS_ATTR.AcctSessionId, acctId ?? '')], 'wrong-secret'), undefined, 'wrong secret: silently dropped');
    assert.deepEqual(await dae(Number(daePort), RADIUS_CODE.DisconnectRequest, [attr(RADIUS_ATTR.AcctSessionId, 'nope')]), { code: RADIUS_CODE.DisconnectNak, errorCause: ERROR_CAUSE.SessionContextNotFound });
    assert.deepEqual(await dae(Number(daePort), RADIUS_CODE.DisconnectRequest, [attr(RADIUS_ATTR.AcctSessionId, acctId ?? '')]), { code: RADIUS_CODE.DisconnectAck, errorCause: undefined });
    let gone = false;
    for (let i = 0; i < 50 && !gone; i++) {
      await sleep(100);
      gone = acct().some((s) => statusOf(s) === 2);
    }
    assert.ok(gone, 'Stop after the Disconnect');
    const stop = acct().find((s) => statusOf(s) === 2);
    assert.equal(attributeValue(stop?.decoded.attributes ?? [], RADIUS_ATTR.AcctTerminateCause), 6, 'Admin-Reset');
    assert.equal(attributeValue(stop?.decoded.attributes ?? [], RADIUS_ATTR.AcctSessionId), acctId);
    assert.ok(logs.some((l) => l.includes('RADIUS DAE disconnect from portal: ACK')));
    assert.ok(logs.some((l) => l.includes('dropped a request from 127.0.0.1 (bad-authenticator)')));
    const after = await ctl<RadiusView>(lnsSock, 'show', 'radius');
    assert.deepEqual([after.dae?.clients[0]?.disconnectAcks, after.dae?.clients[0]?.disconnectNaks, after.dae?.clients[0]?.dropped], [1, 1, 1]);
    assert.equal(after.accounting.spoolDepth, 0, 'every record answered');
    for (const s of [SECRET, DAE_SECRET, 'wonderland']) assert.ok(!logs.some((l) => l.includes(s)), `${s} never logged`);
  } finally {
    await lac?.shutdown(500);
    await lns?.shutdown(500);
    await rad.close().catch(() => undefined);
    await deleteNetns(lan);
    await deleteNetns(cli);
  }
  // Accounting-Off at the stop; the spool holds nothing unanswered.
  const statuses = rad.seen.filter((s) => s.packet.code === RADIUS_CODE.AccountingRequest).map(statusOf);
  assert.equal(statuses.at(-1), 8, `Accounting-Off last: ${statuses.join(',')}`);
  const left = await readFile(spool, 'utf8');
  assert.ok(!/^R /m.test(left) || /^A /m.test(left), 'records in the spool are acknowledged');
  await writeFile(join(dir, 'done'), '');
  await rm(dir, { recursive: true, force: true });
});
