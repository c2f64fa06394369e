/** The L2TP-MIB mapping: rows from a fake view, index encoding, walk order, enumerations, wrap. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SessionView, TunnelView } from '../control-protocol.js';
import { agentxAddress, buildMibYielding, MIB_ROW_CHUNK, splitAgentxPdus } from './agentx.js';
import { authMethod, callType, compareOids, counter32, instanceOid, mibSnapshot, mibWalk, protocolVersionOctets, SESSION_STATS_TABLE, sessionState, TUNNEL_STATS_TABLE, tunnelState } from './l2tp-mib.js';
import { countTurns } from '../../../test/lib/turns.js';

const s = (t: number, id: number, o: Partial<SessionView> = {}): SessionView => ({
  localTunnelId: t, localSessionId: id, remoteSessionId: id + 7, state: 'established', direction: 'incoming', role: 'lns', callSerialNumber: 42,
  rxPackets: 0, rxOctets: 0, txPackets: 0, txOctets: 0, username: `u${id}`, authMethod: 'mschapv2', callingNumber: '198.51.100.7', ...o,
});
const t = (id: number, sessions: SessionView[], o: Partial<TunnelView> = {}): TunnelView => ({
  localTunnelId: id, remoteTunnelId: 900 + id, state: 'established', role: 'lns', localAddress: '192.0.2.1', localPort: 1701, remoteAddress: '198.51.100.7', remotePort: 1701,
  remoteHostName: 'lac1', remoteVendorName: 'xelerance.com', protocolVersion: '1.0', ns: 5, nr: 6, peerReceiveWindow: 8,
  counters: { controlRx: 12, controlTx: 11, retransmits: 2, duplicates: 0, outOfWindow: 1, zlbTx: 3, zlbRx: 4, unknownAvpsIgnored: 0, dataRxPackets: 0, dataRxOctets: 0, dataTxPackets: 0, dataTxOctets: 0, dataDropped: 0 },
  data: { rxPackets: 0, rxOctets: 0, txPackets: 0, txOctets: 0 }, sessions, ...o,
});

test('instance OIDs: table.1.column.ifIndex[.localSID] under 1.3.6.1.2.1.10.95.1', () => {
  assert.equal(instanceOid(TUNNEL_STATS_TABLE, 12, [300]), '1.3.6.1.2.1.10.95.1.5.1.12.300');
  assert.equal(instanceOid(SESSION_STATS_TABLE, 5, [300, 17]), '1.3.6.1.2.1.10.95.1.7.1.5.300.17');
});

test('rows from a view: one per tunnel and session, sorted by index; duplicate and 0 ids skipped', () => {
  const snap = mibSnapshot([t(300, [s(300, 17), s(300, 2)]), t(5, [s(5, 1, { state: 'wait-connect' })]), t(300, []), t(0, [])]);
  assert.deepEqual(snap.tunnels.map((r) => r.ifIndex), [5, 300]);
  assert.deepEqual(snap.sessions.map((r) => [r.tunnelIfIndex, r.s.localSessionId]), [[5, 1], [300, 2], [300, 17]]);
  assert.equal(snap.skipped, 2);
  const cols = (r: (typeof snap.tunnels)[number]): Record<string, unknown> => Object.fromEntries(TUNNEL_STATS_TABLE.columns.map((c) => [c.name, c.value(r)]));
  const row = snap.tunnels[1];
  assert.ok(row !== undefined);
  assert.deepEqual(cols(row), {
    l2tpTunnelStatsLocalTID: 300, l2tpTunnelStatsRemoteTID: 1200, l2tpTunnelStatsState: 3, l2tpTunnelStatsInitiated: 2, l2tpTunnelStatsRemoteHostName: 'lac1',
    l2tpTunnelStatsRemoteVendorName: 'xelerance.com', l2tpTunnelStatsRemoteProtocolVer: Uint8Array.of(1, 0), l2tpTunnelStatsControlRxPkts: 12, l2tpTunnelStatsControlRxZLB: 4,
    l2tpTunnelStatsControlOutOfWin: 1, l2tpTunnelStatsControlTxPkts: 11, l2tpTunnelStatsControlTxZLB: 3, l2tpTunnelStatsControlAckTO: 2, l2tpTunnelStatsCurrentRemoteRWS: 8,
    l2tpTunnelStatsTxSeq: 5, l2tpTunnelStatsRxSeq: 6, l2tpTunnelStatsActiveSessions: 2,
  });
  const first = snap.sessions[0];
  assert.ok(first !== undefined);
  assert.deepEqual(Object.fromEntries(SESSION_STATS_TABLE.columns.map((c) => [c.name, c.value(first)])), {
    l2tpSessionStatsRemoteSID: 8, l2tpSessionStatsUserName: 'u1', l2tpSessionStatsState: 2, l2tpSessionStatsCallType: 2, l2tpSessionStatsCallSerialNumber: 42,
    l2tpSessionStatsDNIS: '', l2tpSessionStatsCLID: '198.51.100.7', l2tpSessionStatsAuthMethod: 7,
  });
});

test('walk order is GetNext order (config, tunnel stats, session stats; column-major; numeric sub-identifiers)', () => {
  const walk = mibWalk(mibSnapshot([t(10, [s(10, 9)]), t(9, [])]));
  const oids = walk.map((c) => c.oid);
  assert.deepEqual([...oids].sort(compareOids), oids);
  assert.equal(oids[0], '1.3.6.1.2.1.10.95.1.4.1.13.9');
  assert.equal(oids[2], '1.3.6.1.2.1.10.95.1.5.1.1.9');
  assert.equal(oids.at(-1), '1.3.6.1.2.1.10.95.1.7.1.19.10.9');
  assert.equal(walk.length, 2 + 2 * TUNNEL_STATS_TABLE.columns.length + SESSION_STATS_TABLE.columns.length);
  assert.ok(compareOids('1.3.6.1.2.1.10.95.1.5.1.1.9', '1.3.6.1.2.1.10.95.1.5.1.1.10') < 0, '9 before 10, not text order');
});

test('enumerations and SMI ranges (RFC 3371 / RFC 2578)', () => {
  assert.deepEqual(['idle', 'wait-ctl-reply', 'wait-ctl-conn', 'established', 'closing', 'closed'].map(tunnelState), [1, 2, 2, 3, 4, 4]);
  assert.deepEqual(['idle', 'wait-tunnel', 'wait-reply', 'established', 'closed'].map(sessionState), [1, 2, 2, 3, 4]);
  assert.deepEqual([callType({ role: 'lac', direction: 'incoming' }), callType({ role: 'lns', direction: 'incoming' }), callType({ role: 'lac', direction: 'outgoing' }), callType({ role: 'lns', direction: 'outgoing' })], [1, 2, 3, 4]);
  assert.deepEqual([undefined, 'pap', 'chap-md5', 'mschapv2', 'eap', 'weird'].map(authMethod), [1, 4, 3, 7, 5, 8]);
  assert.equal(counter32(2 ** 32 + 5), 5);
  assert.deepEqual(protocolVersionOctets('1.0'), Uint8Array.of(1, 0));
  assert.deepEqual(protocolVersionOctets(undefined), Uint8Array.of(0, 0));
});

test('AgentX addresses: Unix socket paths and host:port', () => {
  assert.deepEqual(agentxAddress('/var/agentx/master'), { master: 'localhost', masterPort: '/var/agentx/master' });
  assert.deepEqual(agentxAddress('unix:/tmp/x.sock'), { master: 'localhost', masterPort: '/tmp/x.sock' });
  assert.deepEqual(agentxAddress('127.0.0.1:705'), { master: '127.0.0.1', masterPort: 705 });
  assert.deepEqual(agentxAddress('tcp:[::1]:705'), { master: '::1', masterPort: 705 });
});

test('AgentX framing: whole PDUs out of a stream, either byte order, the rest kept', () => {
  const pdu = (payload: number, big: boolean): Buffer => {
    const b = Buffer.alloc(20 + payload, 0xa5);
    b[0] = 1;
    b[1] = 18; // Response
    b[2] = big ? 0x10 : 0;
    if (big) b.writeUInt32BE(payload, 16);
    else b.writeUInt32LE(payload, 16);
    return b;
  };
  const a = pdu(8, true);
  const b = pdu(4, false);
  const all = Buffer.concat([a, b, pdu(12, true).subarray(0, 25)]);
  const r = splitAgentxPdus(all);
  assert.deepEqual(r.pdus.map((p) => p.length), [28, 24]);
  assert.equal(r.rest.length, 25);
  for (let cut = 0; cut < 20; cut++) assert.equal(splitAgentxPdus(a.subarray(0, cut)).pdus.length, 0, `a ${cut}-byte prefix is no PDU`);
  assert.equal(splitAgentxPdus(a.subarray(0, 27)).pdus.length, 0);
});

test('the MIB rows of 100k sessions are built in chunks with event-loop turns between, every row there', async () => {
  const tunnels = Array.from({ length: 200 }, (_, i) => t(i + 1, Array.from({ length: 500 }, (_, j) => s(i + 1, j + 1))));
  const snap = mibSnapshot(tunnels);
  const loop = countTurns();
  const mib = (await buildMibYielding(snap)) as unknown as { getTableCells(table: string, byRows: boolean): unknown[][] };
  const turns = loop.stop();
  assert.equal(snap.sessions.length, 100_000);
  assert.ok(turns >= (100_000 + 200) / MIB_ROW_CHUNK / 2, `event-loop turns while building: ${turns}`);
  assert.equal(mib.getTableCells(SESSION_STATS_TABLE.name, true).length, 100_000);
  assert.equal(mib.getTableCells(TUNNEL_STATS_TABLE.name, true).length, 200);
});
