/**
 * The data fast path at the access level (docs/ARCHITECTURE.md "Data flows"): once a session is up,
 * an inbound PPP/IP data message goes engine -> session sink -> PPP link -> ingress filter / MSS clamp
 * -> TUN writer inside `handleDatagram`, and produces no event and no transmit anywhere; the same for
 * the dial-out client in the other direction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TunWriter } from '../../src/access/index.js';
import { AccessNet, clientOf, simServerConfig } from './access-harness.js';
import { parseIpv4 } from '../../src/base/index.js';

/** An IPv4 UDP packet from `src` to `dst` with `n` payload bytes (checksums zero). */
function udp4(src: string, dst: string, n: number, tag: number): Uint8Array {
  const q = (a: string): number[] => {
    const v = parseIpv4(a);
    assert.ok(v !== undefined);
    return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
  };
  const p = new Uint8Array(28 + n).fill(tag & 0xff);
  p.set([0x45, 0, 0, 28 + n, 0, 2, 0, 0, 64, 17, 0, 0, ...q(src), ...q(dst)]);
  p.set([0x30, 0x39, 0, 9, 0, 8 + n, 0, 0], 20);
  return p;
}

test('an inbound PPP/IP data packet reaches the TUN writer inside handleDatagram, with zero events and zero transmits', () => {
  const tun: Uint8Array[] = [];
  const writer: TunWriter = { writePacket: (p) => tun.push(p) };
  const net = new AccessNet(simServerConfig({ tun: writer, auth: ['chap-md5'] }));
  const c = net.dial(net.openTunnel(), { username: 'alice', password: 'wonderland', ipv6: false });
  net.advance(5000);
  const addr = clientOf(c, 'up')[0]?.address;
  assert.ok(addr !== undefined, 'PPP up');
  net.advance(10); // settle every queue
  const eventsBefore = net.lnsEvents.length + net.serverEvents.length;
  for (let i = 0; i < 100; i++) {
    const pkt = udp4(addr, '198.18.1.1', 64 + i, i);
    assert.ok(c.client.handleTunPacket(net.at, pkt));
    const dgram = c.client.pollTransmit();
    assert.ok(dgram, 'the client framed it');
    net.lns.handleDatagram(net.at, dgram.data, net.lacAddr);
    // Nothing came out of the LNS engine or the access server but the packet on the TUN.
    assert.equal(net.lns.pollEvent(), undefined, `no L2TP event for packet ${i}`);
    assert.equal(net.lns.pollTransmit(), undefined, `no L2TP transmit for packet ${i}`);
    assert.equal(net.server.pollEvent(), undefined, `no access event for packet ${i}`);
    assert.equal(net.server.pollTransmit(), undefined, `no access transmit for packet ${i}`);
    const got = tun[i];
    assert.ok(got, `packet ${i} on the TUN`);
    assert.deepEqual([...got], [...pkt]);
    assert.equal(got.buffer, dgram.data.buffer, 'written as a view of the received datagram (no copy)');
  }
  assert.equal(net.lnsEvents.length + net.serverEvents.length, eventsBefore);
  assert.equal(net.server.pollTunWrite(), undefined, 'with a writer bound nothing waits in the queue');
  const counters = net.server.snapshot()[0]?.counters;
  assert.equal(counters?.rxPackets, 100, 'counted in plain counters, read on show');
  assert.equal(net.lns.tunnels(net.at)[0]?.counters.dataRxPackets, net.lns.tunnels(net.at)[0]?.sessions[0]?.rxPackets);
});

test('dial-out client: an IP packet from the LNS reaches the client TUN with zero events on the LAC side', () => {
  const net = new AccessNet(simServerConfig({ auth: ['chap-md5'] }));
  const c = net.dial(net.openTunnel(), { username: 'alice', password: 'wonderland', ipv6: false });
  net.advance(5000);
  const addr = clientOf(c, 'up')[0]?.address;
  assert.ok(addr !== undefined, 'PPP up');
  net.advance(10);
  for (let i = 0; i < 50; i++) {
    const pkt = udp4('198.18.1.1', addr, 100, i);
    assert.ok(net.server.handleTunPacket(net.at, pkt));
    const dgram = net.server.pollTransmit();
    assert.ok(dgram);
    net.lac.handleDatagram(net.at, dgram.data, net.lnsAddr);
    assert.equal(net.lac.pollEvent(), undefined, `no L2TP event for packet ${i}`);
    assert.equal(net.lac.pollTransmit(), undefined);
    assert.equal(c.client.pollEvent(), undefined, `no client event for packet ${i}`);
    assert.equal(c.client.pollTransmit(), undefined);
    assert.deepEqual([...(c.client.pollTunWrite() ?? [])], [...pkt]);
  }
});
