import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerAddress } from '../l2tp/api.js';
import type { SessionId, TunnelId } from '../wire/l2tp/types.js';
import { commandToRequest, runL2tpctl } from './l2tpctl-cli.js';
import { parseL2tpdArgs } from './l2tpd-cli.js';
import { parseControlRequest, type StatusView, type TunnelView } from './control-protocol.js';
import { controlRequest, startControlServer, stopControlServer } from './control-socket.js';
import { formatSessions, formatStatus, formatTunnels, formatUptime, table } from './control-format.js';
import { createLogger, prettyLine } from './logger.js';
import { logEvent } from './event-log.js';
import { DaemonMetrics, serveMetrics } from './metrics.js';

const tunnel: TunnelView = {
  localTunnelId: 7709,
  remoteTunnelId: 40751,
  state: 'established',
  role: 'lns',
  localAddress: '127.0.0.1',
  localPort: 1701,
  remoteAddress: '198.51.100.7',
  remotePort: 42838,
  remoteHostName: 'lac1',
  remoteVendorName: 'l2tpkit',
  protocolVersion: '1.0',
  ns: 3,
  nr: 6,
  peerReceiveWindow: 16,
  uptimeSeconds: 3725,
  counters: {
    controlRx: 6,
    controlTx: 4,
    retransmits: 0,
    duplicates: 0,
    outOfWindow: 0,
    zlbTx: 1,
    zlbRx: 0,
    unknownAvpsIgnored: 0,
    dataRxPackets: 0,
    dataRxOctets: 0,
    dataTxPackets: 0,
    dataTxOctets: 0,
    dataDropped: 0,
  },
  data: { rxPackets: 10, rxOctets: 1200, txPackets: 8, txOctets: 900 },
  sessions: [
    {
      localTunnelId: 7709,
      localSessionId: 54780,
      remoteSessionId: 60070,
      state: 'established',
      direction: 'incoming',
      role: 'lns',
      callSerialNumber: 1,
      uptimeSeconds: 61,
      rxPackets: 10,
      rxOctets: 1200,
      txPackets: 9,
      txOctets: 900,
    },
  ],
};

test('l2tpctl command words -> requests', () => {
  assert.deepEqual(commandToRequest(['show', 'tunnels']), { cmd: 'show-tunnels' });
  assert.deepEqual(commandToRequest(['show', 'sessions']), { cmd: 'show-sessions' });
  assert.deepEqual(commandToRequest(['show', 'status']), { cmd: 'status' });
  assert.deepEqual(commandToRequest(['clear', 'tunnel', '12']), { cmd: 'clear-tunnel', tunnel: 12 });
  assert.deepEqual(commandToRequest(['clear', 'session', '12/34']), { cmd: 'clear-session', tunnel: 12, session: 34 });
  assert.deepEqual(commandToRequest(['clear', 'session', '34']), { cmd: 'clear-session', session: 34 });
  // 32-bit ids (L2TPv3), nothing beyond.
  assert.equal(typeof commandToRequest(['clear', 'tunnel', '4294967296']), 'string');
  assert.deepEqual(commandToRequest(['clear', 'tunnel', '4294967295']), { cmd: 'clear-tunnel', tunnel: 4294967295 });
  assert.equal(typeof commandToRequest(['clear', 'tunnel', 'x']), 'string');
  assert.equal(typeof commandToRequest(['show']), 'string');
  assert.equal(typeof commandToRequest(['frob']), 'string');
  assert.equal(typeof commandToRequest([]), 'string');
  assert.equal(typeof commandToRequest(['show', 'tunnels', 'x']), 'string');
});

test('control request validation', () => {
  assert.deepEqual(parseControlRequest({ cmd: 'status' }), { ok: true, value: { cmd: 'status' } });
  assert.equal(parseControlRequest({ cmd: 'clear-tunnel' }).ok, false);
  assert.equal(parseControlRequest({ cmd: 'clear-tunnel', tunnel: 1.5 }).ok, false);
  assert.equal(parseControlRequest({ cmd: 'clear-session', session: 3, tunnel: -1 }).ok, false);
  assert.equal(parseControlRequest([1]).ok, false);
  assert.equal(parseControlRequest(null).ok, false);
  assert.equal(parseControlRequest({ cmd: 'rm -rf' }).ok, false);
});

test('l2tpd argument parsing', () => {
  const base = { debug: false, logFormat: 'json', checkConfig: false, printConfig: false, version: false, help: false };
  assert.deepEqual(parseL2tpdArgs(['--config', 'a.toml', '--debug', '--log-format', 'pretty']), { ...base, config: 'a.toml', debug: true, logFormat: 'pretty' });
  assert.equal(typeof parseL2tpdArgs(['--log-format', 'xml']), 'string');
  assert.equal(typeof parseL2tpdArgs(['--bogus']), 'string');
  assert.deepEqual(parseL2tpdArgs(['--check-config', '--socket', '/tmp/s']), { ...base, socket: '/tmp/s', checkConfig: true });
  assert.deepEqual(parseL2tpdArgs(['--print-config', '--state-dir', '/tmp/st']), { ...base, printConfig: true, stateDir: '/tmp/st' });
  assert.deepEqual(parseL2tpdArgs(['--version']), { ...base, version: true });
  assert.deepEqual(parseL2tpdArgs(['-V']), { ...base, version: true });
  // The log format follows the terminal (a person reads it) unless it is given.
  assert.equal((parseL2tpdArgs([], { tty: true }) as { logFormat: string }).logFormat, 'pretty');
  assert.equal((parseL2tpdArgs([], { tty: false }) as { logFormat: string }).logFormat, 'json');
  assert.equal((parseL2tpdArgs(['--log-format', 'json'], { tty: true }) as { logFormat: string }).logFormat, 'json');
  assert.equal(typeof parseL2tpdArgs(['--state-dir']), 'string', '--state-dir needs a value');
});

test('tables are aligned; uptime formats', () => {
  assert.equal(table([['A', 'BB'], ['ccc', 'd']]), 'A    BB\nccc  d');
  assert.equal(formatUptime(undefined), '-');
  assert.equal(formatUptime(59), '0:00:59');
  assert.equal(formatUptime(3725), '1:02:05');
  assert.equal(formatUptime(90061), '1d 1:01:01');
  const t = formatTunnels([tunnel]).split('\n');
  assert.equal(t[0], 'TUNNEL  REMOTE  STATE        ROLE  PEER                HOSTNAME  SESSIONS  UPTIME   RX-PKTS  RX-OCTETS  TX-PKTS  TX-OCTETS');
  assert.equal(t[1], '7709    40751   established  lns   198.51.100.7:42838  lac1      1         1:02:05  10       1200       8        900');
  assert.equal(formatTunnels([]), 'no tunnels');
  const s = formatSessions(tunnel.sessions).split('\n');
  assert.match(s[1] ?? '', /^7709 +54780 +60070 +established +incoming +0:01:01 +10 +1200 +9 +900$/);
  const status: StatusView = {
    version: '0.1.0',
    pid: 1,
    uptimeSeconds: 5,
    listeners: [{ address: '0.0.0.0', port: 1701, auth: false }],
    lacs: [{ name: 'isp1', lns: '192.0.2.1', port: 1701, state: 'established', tunnel: 9 }],
    tunnels: [tunnel],
  };
  const out = formatStatus(status);
  assert.match(out, /^TUNNEL\[7709\]:$/m);
  assert.match(out, /^ {2}Remote tunnel ID: +40751$/m);
  assert.match(out, /^ {2}Remote address: +198\.51\.100\.7 {2}port 42838$/m);
  assert.match(out, /^ {2}Ns \/ Nr: +3 \/ 6$/m);
  assert.match(out, /^LAC isp1 -> 192\.0\.2\.1:1701: established \(tunnel 9\)$/m);
  assert.match(out, /^ {4}54780 +60070 +established/m);
});

test('control socket: requests, bad lines, errors; l2tpctl exit codes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'l2tpctl-test-'));
  const path = join(dir, 'c.sock');
  const server = await startControlServer(path, (req) => {
    if (req.cmd === 'show-tunnels') return { ok: true, result: [tunnel] };
    if (req.cmd === 'clear-tunnel') return req.tunnel === 7709 ? { ok: true, result: { cleared: 'tunnel 7709' } } : { ok: false, error: `no such tunnel ${req.tunnel}` };
    if (req.cmd === 'status') throw new Error('boom');
    return { ok: true, result: 'pong' };
  });
  try {
    // A second server on a live socket is refused.
    await assert.rejects(startControlServer(path, () => ({ ok: true, result: null })), /in use/);
    const r = await controlRequest(path, { cmd: 'show-tunnels' });
    assert.ok(r.ok && r.value.ok);
    const boom = await controlRequest(path, { cmd: 'status' });
    assert.ok(boom.ok && !boom.value.ok && boom.value.error.includes('boom'));

    const io = { out: '', err: '' };
    const run = async (...a: string[]): Promise<number> => {
      io.out = '';
      io.err = '';
      return runL2tpctl(['--socket', path, ...a], { out: (t) => (io.out += t), err: (t) => (io.err += t) });
    };
    assert.equal(await run('show', 'tunnels'), 0);
    assert.match(io.out, /^TUNNEL +REMOTE/);
    assert.equal(await run('show', 'tunnels', '--json'), 0);
    assert.equal((JSON.parse(io.out) as TunnelView[])[0]?.localTunnelId, 7709);
    assert.equal(await run('clear', 'tunnel', '7709'), 0);
    assert.equal(io.out, 'cleared tunnel 7709');
    assert.equal(await run('clear', 'tunnel', '1'), 1);
    assert.equal(io.err, 'l2tpctl: no such tunnel 1');
    assert.equal(await run('bogus'), 1);
    assert.equal(await runL2tpctl(['--socket', join(dir, 'missing.sock'), 'show', 'status'], { out: () => {}, err: (t) => (io.err = t) }), 2);
    assert.match(io.err, /cannot connect to .*missing\.sock/);
    assert.equal(await runL2tpctl(['--help'], { out: (t) => (io.out = t), err: () => {} }), 0);
    assert.match(io.out, /^usage: l2tpctl/);
  } finally {
    await stopControlServer(server, path);
    await rm(dir, { recursive: true, force: true });
  }
  // A stale socket file (no server) is replaced.
  const dir2 = await mkdtemp(join(tmpdir(), 'l2tpctl-test-'));
  const { writeFile } = await import('node:fs/promises');
  const stale = join(dir2, 's.sock');
  await writeFile(stale, '');
  const s2 = await startControlServer(stale, () => ({ ok: true, result: 'pong' }));
  const pong = await controlRequest(stale, { cmd: 'ping' });
  assert.ok(pong.ok && pong.value.ok);
  await stopControlServer(s2, stale);
  await rm(dir2, { recursive: true, force: true });
});

test('event log wording (Yamaha seed 001) and the pretty format', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', format: 'json', sink: { write: (l) => lines.push(l) } });
  const peer: PeerAddress = { address: '198.51.100.7', port: 1701, family: 4 };
  const T = 5 as TunnelId;
  const S = 9 as SessionId;
  const reason = { by: 'peer' as const, cause: 'stopccn', result: { result: 1 } };
  logEvent(log, { type: 'tunnel-connecting', tunnel: T, peer, originator: false }, 'l');
  logEvent(log, { type: 'tunnel-established', tunnel: T, remoteTunnel: 7 as TunnelId, peer }, 'l');
  logEvent(log, { type: 'session-established', tunnel: T, session: S, remoteSession: 3 as SessionId }, 'l');
  logEvent(log, { type: 'keepalive-countdown', tunnel: T, remaining: 2 }, 'l');
  logEvent(log, { type: 'keepalive-expired', tunnel: T }, 'l');
  logEvent(log, { type: 'tunnel-auth-failed', tunnel: T, peer, detail: 'bad response' }, 'l');
  logEvent(log, { type: 'state-timer-expired', tunnel: T, state: 'wait-ctl-reply', retries: 5 }, 'l');
  logEvent(log, { type: 'tunnel-closing', tunnel: T, reason }, 'l');
  logEvent(log, { type: 'session-closed', tunnel: T, session: S, reason }, 'l');
  logEvent(log, { type: 'tunnel-closed', tunnel: T, reason }, 'l');
  logEvent(log, { type: 'control-rx', tunnel: T, peer, ns: 0, nr: 0, messageType: 1, avps: { hostName: 'lac1' } }, 'l');
  const recs = lines.map((l) => JSON.parse(l) as { msg: string; level: number; avps?: string[] });
  assert.deepEqual(
    recs.map((r) => r.msg),
    [
      'TUNNEL[5] connected from 198.51.100.7',
      'tunnel 5 established',
      'session 9 established',
      'keepalive countdown tunnel 5: 2 left',
      'keepalive timer expired tunnel 5',
      'authentication error tunnel 5',
      'state timer expired tunnel 5 (state wait-ctl-reply, retries 5)',
      'disconnecting tunnel 5',
      'disconnect session 9 complete',
      'disconnect tunnel 5 complete',
      'TUNNEL[5] RECV SCCRQ from 198.51.100.7 Ns=0 Nr=0',
    ],
  );
  assert.ok(recs.slice(0, 10).every((r) => r.level === 30));
  assert.equal(recs[10]?.level, 20);
  assert.deepEqual(recs[10]?.avps, ['Host Name: "lac1"']);
  const pretty = prettyLine(lines[10] ?? '');
  assert.match(pretty, /^\d\d:\d\d:\d\d\.\d{3} DEBUG TUNNEL\[5\] RECV SCCRQ from 198\.51\.100\.7 Ns=0 Nr=0 {2}tunnel=5 /);
  assert.match(pretty, /\n +Host Name: "lac1"\n$/);
  assert.equal(prettyLine('not json\n'), 'not json\n');
  // A refused message is logged with the AVPs the codec could read, the unreadable ones, and why.
  const refusedLines: string[] = [];
  const dbg = createLogger({ level: 'debug', format: 'json', sink: { write: (l) => refusedLines.push(l) } });
  const unknownM1 = { kind: 'unknown-mandatory-avp', vendorId: 9, attribute: 77 } as const;
  logEvent(dbg, {
    type: 'control-rx', tunnel: T, peer, ns: 3, nr: 2, messageType: 10,
    avps: { assignedSessionId: 0x1234 as SessionId, unknown: [{ vendorId: 9, attribute: 77, mandatory: true, hidden: false, value: Uint8Array.of(1) }] },
    refused: { error: unknownM1, unreadable: [{ attribute: 22, mandatory: true, hidden: true, error: { kind: 'hidden-without-secret', attribute: 22 } }], complete: true },
  }, 'l');
  const rr = JSON.parse(refusedLines[0] ?? '{}') as { msg: string; avps?: string[]; refused?: string };
  assert.equal(rr.msg, 'TUNNEL[5] RECV ICRQ from 198.51.100.7 Ns=3 Nr=2 refused: unknown mandatory AVP vendor 9 attribute 77');
  assert.ok(rr.avps?.some((l) => l.startsWith('Assigned Session ID: 4660')), JSON.stringify(rr.avps));
  assert.ok(rr.avps?.some((l) => l === 'AVP 22 M H: unreadable (hidden AVP 22 but no shared secret)'), JSON.stringify(rr.avps));
  // At info, control messages are not formatted at all.
  const quiet: string[] = [];
  const info = createLogger({ level: 'info', format: 'json', sink: { write: (l) => quiet.push(l) } });
  logEvent(info, { type: 'control-tx', tunnel: T, peer, ns: 0, nr: 0, messageType: 6, avps: {} }, 'l');
  assert.deepEqual(quiet, []);
});

test('metrics: gauges from snapshots, counters from events, served over HTTP', async () => {
  const m = new DaemonMetrics((into) => {
    into.tunnels.set('established', (into.tunnels.get('established') ?? 0) + 1);
    into.sessions.set('established', 1);
    into.sessions.set('wait-connect', 1);
  });
  const peer: PeerAddress = { address: '192.0.2.1', port: 1701, family: 4 };
  m.observe({ type: 'bad-datagram', peer, detail: 'x' });
  m.observe({ type: 'tunnel-rejected', peer, detail: 'x', limit: 'sccrq-rate' });
  m.observe({ type: 'tunnel-rejected', peer, detail: 'x', limit: 'sccrq-rate' });
  m.observe({ type: 'control-rx', tunnel: 1 as TunnelId, peer, ns: 0, nr: 0, messageType: 6, avps: {} });
  m.observe({ type: 'retransmit', tunnel: 1 as TunnelId, ns: 0, attempt: 1, nextIn: 1000 as never });
  const { server, port } = await serveMetrics(m, '127.0.0.1', 0);
  try {
    const body = await new Promise<string>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (b += c));
        res.on('end', () => resolve(b));
      }).on('error', reject);
    });
    assert.match(body, /^l2tp_tunnels\{state="established"\} 1$/m);
    assert.match(body, /^l2tp_sessions\{state="wait-connect"\} 1$/m);
    assert.match(body, /^l2tp_bad_datagrams_total 1$/m);
    assert.match(body, /^l2tp_tunnels_rejected_total\{limit="sccrq-rate"\} 2$/m);
    assert.match(body, /^l2tp_control_rx_total\{type="HELLO"\} 1$/m);
    assert.match(body, /^l2tp_control_retransmits_total 1$/m);
    // Control messages are counted outside prom-client and handed over per scrape: totals, not increments.
    m.observe({ type: 'control-rx', tunnel: 1 as TunnelId, peer, ns: 1, nr: 0, messageType: 6, avps: {} });
    m.observe({ type: 'control-tx', tunnel: 1 as TunnelId, peer, ns: 0, nr: 2, messageType: 10, avps: {} });
    const again = await m.text();
    assert.match(again, /^l2tp_control_rx_total\{type="HELLO"\} 2$/m);
    assert.match(again, /^l2tp_control_tx_total\{type="ICRQ"\} 1$/m);
    assert.match(await m.text(), /^l2tp_control_rx_total\{type="HELLO"\} 2$/m);
  } finally {
    server.close();
  }
});
