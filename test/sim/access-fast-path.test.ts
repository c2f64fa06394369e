/**
 * The access server's side of the native data fast path (src/access/fast-path.ts) against a
 * recording table: a session is installed when IPCP comes up (with the peer's ids, address and port,
 * the client's address, MTU, MSS and the exact L2TP + PPP header), removed at ip-down and teardown,
 * and what the table counted is folded into the server's counters on every read (snapshot, logout);
 * a table that refuses leaves the JS path in charge; IPsec and IPv6 peers are never offloaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fastPathEntry, pppHeader4, type FastPathCounters, type FastPathSession, type FastPathTable } from '../../src/access/index.js';
import type { SessionId, TunnelId } from '../../src/wire/l2tp/types.js';
import { parseIpv4 } from '../../src/base/index.js';
import { AccessNet, clientOf, simServerConfig } from './access-harness.js';

/** A FastPathTable that records calls and hands out counters the test sets. */
class RecordingTable implements FastPathTable {
  readonly installed = new Map<string, FastPathSession>();
  readonly log: string[] = [];
  /** What the "native" side counted since the last read, per session. */
  readonly pending = new Map<string, FastPathCounters>();
  constructor(private readonly accept = true) {}
  install(e: FastPathSession): boolean {
    this.log.push(`install ${e.tunnel}/${e.session}`);
    if (!this.accept) return false;
    this.installed.set(`${e.tunnel}/${e.session}`, e);
    return true;
  }
  remove(t: TunnelId, s: SessionId): FastPathCounters | undefined {
    this.log.push(`remove ${t}/${s}`);
    const had = this.installed.delete(`${t}/${s}`);
    return had ? this.take(t, s) : undefined;
  }
  take(t: TunnelId, s: SessionId): FastPathCounters | undefined {
    if (!this.installed.has(`${t}/${s}`) && !this.log.includes(`remove ${t}/${s}`)) return undefined;
    const c = this.pending.get(`${t}/${s}`) ?? { rxPackets: 0, rxOctets: 0, txPackets: 0, txOctets: 0 };
    this.pending.delete(`${t}/${s}`);
    return c;
  }
}

function upWith(table: RecordingTable, over: Parameters<typeof simServerConfig>[0] = {}): { net: AccessNet; c: ReturnType<AccessNet['dial']>; addr: string } {
  const net = new AccessNet(simServerConfig({ fastPath: table, mtu: 1400, ...over }));
  const t = net.openTunnel();
  const c = net.dial(t, { username: 'alice', password: 'wonderland' });
  net.advance(5000);
  const addr = clientOf(c, 'up')[0]?.address;
  assert.ok(addr !== undefined, 'PPP came up');
  return { net, c, addr };
}

test('IPCP up installs the session with the peer ids, address/port, client address, MTU, MSS and header', () => {
  const table = new RecordingTable();
  const { net, c, addr } = upWith(table);
  assert.equal(table.installed.size, 1);
  const e = [...table.installed.values()][0];
  assert.ok(e !== undefined);
  // The LNS's own ids (what the LAC's data messages carry) ...
  const lnsTunnel = net.lns.tunnels(net.at)[0];
  assert.ok(lnsTunnel !== undefined);
  assert.equal(e.tunnel, lnsTunnel.localTunnelId);
  assert.equal(e.session, lnsTunnel.sessions[0]?.localSessionId);
  // ... and the peer's, in the prebuilt header: flags 0x0002, its tunnel id, its session id, then PPP.
  assert.deepEqual([...e.header.subarray(0, 6)], [0x00, 0x02, c.tunnel >> 8, c.tunnel & 0xff, c.session >> 8, c.session & 0xff]);
  assert.deepEqual([...e.header.subarray(6)], [...(pppHeader4({ sendIp: (p) => Uint8Array.from([0xff, 0x03, 0x00, 0x21, ...p]) }) ?? [])], 'ff 03 00 21 (our client negotiates no ACFC/PFC)');
  assert.equal(e.peerAddress, parseIpv4(net.lacAddr.address));
  assert.equal(e.peerPort, net.lacAddr.port);
  assert.equal(e.ipv4, parseIpv4(addr));
  assert.equal(e.mtu, 1400, 'the client MRU');
  assert.equal(e.mss, 1360, 'MSS for the 1400-byte MTU');
});

test('counters the table kept are folded into snapshot() and the logout record; hang-up removes the session', () => {
  const table = new RecordingTable();
  const { net, c } = upWith(table);
  const key = [...table.installed.keys()][0] ?? '';
  const before = net.server.snapshot()[0]?.counters;
  assert.ok(before !== undefined);
  table.pending.set(key, { rxPackets: 10, rxOctets: 1000, txPackets: 4, txOctets: 400 });
  const snap = net.server.snapshot()[0];
  assert.equal(snap?.counters.rxPackets, before.rxPackets + 10);
  assert.equal(snap?.counters.txOctets, before.txOctets + 400);
  assert.deepEqual(snap?.fastPath, { rxPackets: 10, rxOctets: 1000, txPackets: 4, txOctets: 400, dropped: 0 });
  // Read twice: the table's deltas are not counted twice.
  assert.equal(net.server.snapshot()[0]?.counters.rxPackets, before.rxPackets + 10);
  table.pending.set(key, { rxPackets: 1, rxOctets: 100, txPackets: 0, txOctets: 0 });
  c.client.close(net.at);
  net.advance(5000);
  assert.ok(table.log.includes(`remove ${key}`), 'removed when the session ends');
  assert.equal(table.installed.size, 0);
  const out = net.serverOf('logout')[0];
  assert.equal(out?.counters.rxPackets, before.rxPackets + 11, 'the last delta (taken at remove) is in the logout');
});

test('a table that refuses: the session stays on the JS path and nothing is taken from it', () => {
  const table = new RecordingTable(false);
  const { net, addr } = upWith(table);
  assert.equal(table.log.filter((l) => l.startsWith('install')).length, 1, 'install was tried');
  assert.equal(table.installed.size, 0);
  // The JS path carries the packet to the client and counts it.
  const udp = Uint8Array.from([0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 198, 18, 1, 1, ...addr.split('.').map(Number), 0x30, 0x39, 0, 53, 0, 8, 0, 0]);
  assert.ok(net.server.handleTunPacket(net.at, udp));
  assert.equal(net.server.snapshot()[0]?.counters.txPackets, 1);
  assert.equal(net.server.snapshot()[0]?.fastPath, undefined);
});

test('fastPathEntry refuses IPv6 and unknown peers, names the IPsec flow; PFC/ACFC headers come from the link', () => {
  const link = { sendIp: (p: Uint8Array) => Uint8Array.from([0x21, ...p]) };
  const base = { tunnel: 1 as TunnelId, session: 2 as SessionId, remoteTunnel: 3 as TunnelId, remoteSession: 4 as SessionId, ipv4: 0x64400002, txMtu: 1400, mss4: 1360, link };
  const peer = { address: '198.18.0.1', port: 1701, family: 4 as const };
  const e = fastPathEntry({ ...base, peer }, true);
  assert.deepEqual([...(e?.header ?? [])], [0, 2, 0, 3, 0, 4, 0x21], 'ACFC + PFC: one protocol byte');
  assert.equal(fastPathEntry({ ...base, peer }, false)?.mss, 0, 'mss_clamp off');
  // Inside IPsec: the entry names the flow; the table takes it only when the flow's SAs are in the data plane.
  const v = fastPathEntry({ ...base, peer: { ...peer, via: 'ipsec-1' } }, true);
  assert.equal(v?.via, 'ipsec-1', 'inside IPsec: bound to its flow');
  assert.equal(v?.peerPort, 1701);
  assert.equal(e?.via, undefined, 'a clear peer has no flow');
  assert.equal(fastPathEntry({ ...base, peer: { address: '2001:db8::1', port: 1701, family: 6 } }, true), undefined, 'IPv6 peer');
  assert.equal(fastPathEntry({ ...base, peer: undefined }, true), undefined, 'no tunnel-established seen');
  assert.equal(fastPathEntry({ ...base, peer, remoteTunnel: undefined }, true), undefined);
  assert.equal(fastPathEntry({ ...base, peer, link: { sendIp: () => undefined } }, true), undefined, 'IPCP not open');
});
