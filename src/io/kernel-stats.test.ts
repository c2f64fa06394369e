import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { parseProcNetUdp, parseSnmp6Udp, parseSnmpUdp, readDeviceDrops, readUdpSnmp, readUdpSocket } from './kernel-stats.js';

// Captured from this host's /proc/net/udp (x86-64: addresses are little-endian hex).
const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  412: 0100007F:06A5 00000000:0000 07 00000000:00000A80 00:00000000 00000000     0        0 4242 2 0000000000000000 17
 1000: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 99 2 0000000000000000 0
garbage line
`;

test('parseProcNetUdp: port, receive queue, inode and drops per socket; junk skipped', () => {
  assert.deepEqual(parseProcNetUdp(UDP), [
    { localPort: 1701, rxQueue: 0xa80, inode: 4242, drops: 17 },
    { localPort: 5353, rxQueue: 0, inode: 99, drops: 0 },
  ]);
  assert.deepEqual(parseProcNetUdp(''), []);
});

test('parseSnmpUdp / parseSnmp6Udp: the Udp error counters by name, not by position', () => {
  const snmp = 'Ip: Forwarding\nIp: 1\nUdp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\nUdp: 10 2 7 9 6 1\nUdpLite: InDatagrams\nUdpLite: 0\n';
  assert.deepEqual(parseSnmpUdp(snmp), { inErrors: 7, rcvbufErrors: 6, sndbufErrors: 1 });
  assert.equal(parseSnmpUdp('Ip: x\nIp: 1\n'), undefined);
  assert.deepEqual(parseSnmp6Udp('Udp6InDatagrams 5\nUdp6InErrors 3\nUdp6RcvbufErrors 2\nUdp6SndbufErrors 0\n'), { inErrors: 3, rcvbufErrors: 2, sndbufErrors: 0 });
  assert.equal(parseSnmp6Udp('Ip6InReceives 1\n'), undefined);
});

test('readUdpSocket finds our own socket by port and inode; snmp and device reads work here', { skip: process.platform !== 'linux' && 'SKIP: not Linux' }, async () => {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  try {
    const row = readUdpSocket(4, s.address().port);
    assert.ok(row !== undefined, 'our socket is listed');
    assert.equal(row.localPort, s.address().port);
    assert.ok(row.drops >= 0 && row.inode > 0);
    // A port we do not hold is not ours even if another process has it.
    assert.equal(readUdpSocket(4, s.address().port, new Set()), undefined);
    const snmp = readUdpSnmp(4);
    assert.ok(snmp !== undefined && snmp.rcvbufErrors >= 0);
    const lo = readDeviceDrops('lo');
    assert.ok(lo !== undefined && lo.txDropped >= 0);
    assert.equal(readDeviceDrops('../etc'), undefined, 'no path games');
  } finally {
    s.close();
  }
});
