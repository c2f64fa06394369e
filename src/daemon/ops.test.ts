/**
 * Junos-style operations: the payload ledger (monotone, retired totals, clear baselines), filters,
 * destinations, summary, the request validation and l2tpctl's words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SessionView, TunnelView } from './control-protocol.js';
import { parseControlRequest } from './control-protocol.js';
import { DataLedger, ZERO_DATA } from './data-ledger.js';
import { applyBaselines, clearStatistics, destinationViews, filterPppoe, filterTunnels, summaryView } from './ops-views.js';
import { commandToRequest } from './l2tpctl-cli.js';
import { formatDestinations, formatSummary } from './ops-format.js';
import { DaemonMetrics } from './metrics.js';
import { handleOps } from './control-ops-api.js';
import { createLogger } from './logger.js';
import { L2tpSubagent } from './snmp/agentx.js';
import type { TunnelAt } from './views.js';

const d = (rxPackets: number, rxOctets: number, txPackets: number, txOctets: number): TunnelView['data'] => ({ rxPackets, rxOctets, txPackets, txOctets });

const session = (tunnel: number, id: number, user: string, rx = 0): SessionView => ({
  localTunnelId: tunnel, localSessionId: id, remoteSessionId: id + 100, state: 'established', direction: 'incoming', role: 'lns', callSerialNumber: id,
  rxPackets: rx, rxOctets: rx * 100, txPackets: rx, txOctets: rx * 50, username: user, pppPhase: 'network',
});

const tunnel = (id: number, local: string, peer: string, sessions: SessionView[], data = ZERO_DATA, state = 'established'): TunnelView => ({
  localTunnelId: id, remoteTunnelId: id + 1000, state, role: 'lns', localAddress: local, localPort: 1701, remoteAddress: peer, remotePort: 1701,
  remoteHostName: `lac-${peer}`, ns: 1, nr: 2, peerReceiveWindow: 4,
  counters: { controlRx: 10, controlTx: 8, retransmits: 0, duplicates: 0, outOfWindow: 0, zlbTx: 1, zlbRx: 1, unknownAvpsIgnored: 0, dataRxPackets: 0, dataRxOctets: 0, dataTxPackets: 0, dataTxOctets: 0, dataDropped: 0 },
  data, sessions,
});

const views = [
  tunnel(11, '192.0.2.1', '198.51.100.7', [session(11, 1, 'alice', 5), session(11, 2, 'bob', 1)], d(6, 600, 6, 300)),
  tunnel(12, '192.0.2.1', '198.51.100.7', [session(12, 3, 'carol')], d(1, 10, 2, 20), 'wait-ctl-conn'),
  tunnel(13, '192.0.2.2', '203.0.113.9', [session(13, 4, 'alice', 2)], d(2, 200, 2, 100)),
];

test('ledger: a drop in the raw counters is carried (monotone); a tunnel gone retires into the totals', () => {
  const l = new DataLedger();
  let g = l.beginSample();
  assert.deepEqual(l.observe(g, 'a', d(10, 1000, 5, 500)), d(10, 1000, 5, 500));
  l.observe(g, 'b', d(1, 1, 1, 1));
  l.endSample(g);
  g = l.beginSample();
  // A fast-path session of "a" ended: its share left the raw sum (10 -> 7 rx packets).
  assert.deepEqual(l.observe(g, 'a', d(7, 700, 6, 600)), d(10, 1000, 6, 600));
  l.endSample(g);
  // "b" was not in the second sample: gone, its totals retired.
  assert.equal(l.size, 1);
  assert.deepEqual(l.totals(), d(11, 1001, 7, 601));
  g = l.beginSample();
  assert.deepEqual(l.observe(g, 'a', d(8, 800, 6, 600)), d(11, 1100, 6, 600));
  l.endSample(g);
  assert.deepEqual(l.totals(), d(12, 1101, 7, 601));
});

test('ledger: overlapping samples do not retire what the newer one saw', () => {
  const l = new DataLedger();
  const a = l.beginSample();
  l.observe(a, 'x', d(1, 1, 1, 1));
  const b = l.beginSample();
  l.observe(b, 'y', d(2, 2, 2, 2));
  l.endSample(a);
  assert.equal(l.size, 2);
  l.endSample(b);
  assert.equal(l.size, 1, 'x was seen only by the older sample');
});

test('filters: local and peer gateway, tunnel id, user (sessions narrowed); PPPoE only by user', () => {
  assert.deepEqual(filterTunnels(views, { peerGateway: '198.51.100.7' }).map((t) => t.localTunnelId), [11, 12]);
  assert.deepEqual(filterTunnels(views, { localGateway: '192.0.2.2' }).map((t) => t.localTunnelId), [13]);
  assert.deepEqual(filterTunnels(views, { tunnel: 12 }).map((t) => t.localTunnelId), [12]);
  const alice = filterTunnels(views, { user: 'alice' });
  assert.deepEqual(alice.map((t) => [t.localTunnelId, t.sessions.map((s) => s.localSessionId)]), [[11, [1]], [13, [4]]]);
  assert.deepEqual(filterTunnels(views, { user: 'alice', peerGateway: '203.0.113.9' }).map((t) => t.localTunnelId), [13]);
  assert.deepEqual(filterTunnels(views, { user: 'nobody' }), []);
  assert.equal(filterTunnels(views, undefined).length, 3);
  const pppoe = [{ ...session(0, 9, 'dave'), direction: 'pppoe' }];
  assert.equal(filterPppoe(pppoe, { user: 'dave' }).length, 1);
  assert.equal(filterPppoe(pppoe, { user: 'dave', tunnel: 0 }).length, 0);
});

test('destinations: one row per (local, peer) with tunnel/session counts and summed payload', () => {
  const rows = destinationViews(views);
  assert.equal(rows.length, 2);
  const [a, b] = rows;
  assert.deepEqual(
    { ...a, data: a?.data },
    { localAddress: '192.0.2.1', remoteAddress: '198.51.100.7', remotePorts: [1701], tunnels: 2, tunnelsEstablished: 1, sessions: 3, sessionsEstablished: 3, remoteHostNames: ['lac-198.51.100.7'], data: d(7, 610, 8, 320), controlRx: 20, controlTx: 16 },
  );
  assert.equal(b?.tunnels, 1);
  assert.match(formatDestinations(rows), /198\.51\.100\.7\s+1701\s+lac-198\.51\.100\.7\s+2\s+1\s+3\s+3\s+7\s+610\s+8\s+320/);
  assert.equal(formatDestinations([]), 'no destinations');
});

test('summary: counts by state, payload now and since start', () => {
  const s = summaryView(views, [], { sinceStart: d(100, 1, 2, 3), clearedSecondsAgo: 5 });
  assert.equal(s.destinations, 2);
  assert.equal(s.tunnels, 3);
  assert.deepEqual(s.tunnelsByState, { established: 2, 'wait-ctl-conn': 1 });
  assert.equal(s.sessions, 4);
  assert.deepEqual(s.data, d(9, 810, 10, 420));
  assert.equal(s.controlRx, 30);
  const text = formatSummary(s);
  assert.match(text, /Tunnels: 3 \(established 2, wait-ctl-conn 1\)/);
  assert.match(text, /since clear statistics 5s ago/);
  assert.match(text, /Payload since start .*rx 100 packets/);
});

test('clear statistics: show counters restart from the baseline; tunnels without one stay raw', () => {
  const l = new DataLedger();
  assert.deepEqual(applyBaselines(views, l), views, 'never cleared: unchanged');
  assert.equal(clearStatistics(l, 1000, views.slice(0, 1)), 1);
  const later = views.map((t) => (t.localTunnelId === 11 ? { ...t, data: d(10, 1000, 9, 400), counters: { ...t.counters, controlRx: 13 }, sessions: [session(11, 1, 'alice', 8), session(11, 2, 'bob', 1)] } : t));
  const shown = applyBaselines(later, l);
  assert.deepEqual(shown[0]?.data, d(4, 400, 3, 100));
  assert.equal(shown[0]?.counters.controlRx, 3);
  assert.deepEqual(shown[0]?.sessions.map((s) => [s.rxPackets, s.rxOctets]), [[3, 300], [0, 0]]);
  assert.deepEqual(shown[2]?.data, d(2, 200, 2, 100), 'no baseline: raw');
  assert.equal(l.clearedAt, 1000);
});

test('requests: filters and the new commands validate; l2tpctl words map to them', () => {
  assert.deepEqual(parseControlRequest({ cmd: 'show-sessions', filter: { user: 'alice', tunnel: 3 } }), { ok: true, value: { cmd: 'show-sessions', filter: { user: 'alice', tunnel: 3 } } });
  assert.equal(parseControlRequest({ cmd: 'show-tunnels', filter: { bogus: 1 } }).ok, false);
  assert.equal(parseControlRequest({ cmd: 'show-tunnels', filter: { peerGateway: 'x;y' } }).ok, false);
  assert.equal(parseControlRequest({ cmd: 'clear-destination' }).ok, false);
  assert.deepEqual(parseControlRequest({ cmd: 'clear-destination', peer: '198.51.100.7' }), { ok: true, value: { cmd: 'clear-destination', peer: '198.51.100.7' } });
  assert.deepEqual(parseControlRequest({ cmd: 'show-summary' }), { ok: true, value: { cmd: 'show-summary' } });
  assert.deepEqual(commandToRequest(['show', 'sessions', 'user', 'alice', 'peer-gateway', '198.51.100.7']), { cmd: 'show-sessions', filter: { user: 'alice', peerGateway: '198.51.100.7' } });
  assert.deepEqual(commandToRequest(['show', 'destinations', 'local-gateway', '192.0.2.1']), { cmd: 'show-destinations', filter: { localGateway: '192.0.2.1' } });
  assert.deepEqual(commandToRequest(['show', 'tunnel', 'tunnel', '7']), { cmd: 'show-tunnels', filter: { tunnel: 7 } });
  assert.deepEqual(commandToRequest(['show', 'summary']), { cmd: 'show-summary' });
  assert.deepEqual(commandToRequest(['clear', 'statistics']), { cmd: 'clear-statistics' });
  assert.deepEqual(commandToRequest(['clear', 'destination', '198.51.100.7', 'local-gateway', '192.0.2.1']), { cmd: 'clear-destination', peer: '198.51.100.7', localGateway: '192.0.2.1' });
  for (const bad of [['show', 'sessions', 'user'], ['show', 'tunnels', 'peer-gateway', 'nope'], ['show', 'tunnels', 'tunnel', '-1'], ['clear', 'destination'], ['clear', 'destination', 'x'], ['show', 'summary', 'x'], ['clear', 'statistics', 'now']]) {
    assert.equal(typeof commandToRequest(bad), 'string', bad.join(' '));
  }
});

test('metrics: l2tp_payload_{packets,octets}_total by direction from the ledger totals', async () => {
  const m = new DaemonMetrics(() => undefined);
  m.addPayload(() => d(5, 500, 7, 700));
  const text = await m.text();
  assert.match(text, /^l2tp_payload_packets_total\{direction="rx"\} 5$/m);
  assert.match(text, /^l2tp_payload_packets_total\{direction="tx"\} 7$/m);
  assert.match(text, /^l2tp_payload_octets_total\{direction="tx"\} 700$/m);
});

test('clear destination: StopCCN to every live tunnel of that peer, none elsewhere; unknown peer is an error', async () => {
  const closed: number[] = [];
  const ep = (address: string): TunnelAt['endpoint'] =>
    ({ local: { address, port: 1701 }, run: (f: (now: unknown, engine: { closeTunnel(now: unknown, id: number): void }) => void) => f(0, { closeTunnel: (_n, id) => closed.push(id) }) }) as unknown as TunnelAt['endpoint'];
  const info = (id: number, peer: string, state = 'established'): TunnelAt['info'] => ({ localTunnelId: id, peer: { address: peer, port: 1701 }, state, sessions: [] }) as unknown as TunnelAt['info'];
  const at: TunnelAt[] = [
    { endpoint: ep('192.0.2.1'), info: info(1, '198.51.100.7') },
    { endpoint: ep('192.0.2.2'), info: info(2, '198.51.100.7') },
    { endpoint: ep('192.0.2.1'), info: info(3, '203.0.113.9') },
    { endpoint: ep('192.0.2.1'), info: info(4, '198.51.100.7', 'closed') },
  ];
  const lines: string[] = [];
  const t = { log: createLogger({ level: 'info', format: 'json', sink: { write: (l) => lines.push(l) } }), tunnels: () => at, tunnelViews: () => views };
  assert.deepEqual(await handleOps(t, { cmd: 'clear-destination', peer: '198.51.100.7', localGateway: '192.0.2.2' }), { ok: true, result: { cleared: 'destination 198.51.100.7 (1 tunnel)' } });
  assert.deepEqual(closed, [2]);
  assert.deepEqual(await handleOps(t, { cmd: 'clear-destination', peer: '198.51.100.7' }), { ok: true, result: { cleared: 'destination 198.51.100.7 (2 tunnels)' } });
  assert.deepEqual(closed, [2, 1, 2]);
  assert.equal((await handleOps(t, { cmd: 'clear-destination', peer: '192.0.2.99' })).ok, false);
  assert.equal((await handleOps(t, { cmd: 'clear-statistics' })).ok, false, 'no ledger: refused');
  assert.ok(lines.some((l) => l.includes('clear destination 198.51.100.7')));
});

test('SNMP subagent: a missing master agent is logged once, clearly, and retried', async () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', format: 'json', sink: { write: (l) => lines.push(l) } });
  const sa = new L2tpSubagent({ agentx: '/nonexistent/jun-agentx.sock', reconnectSeconds: 1, cacheMs: 0 }, log, () => []);
  sa.start();
  await new Promise((r) => setTimeout(r, 2500));
  await sa.close();
  const warn = lines.filter((l) => l.includes('AgentX master agent unreachable at /nonexistent/jun-agentx.sock'));
  assert.equal(warn.length, 1, 'one line per outage, not one per retry');
  assert.match(warn[0] ?? '', /ENOENT/);
  assert.equal(sa.registered, false);
});
