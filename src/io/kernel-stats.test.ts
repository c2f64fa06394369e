import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { parseProcNetUdp, parseSnmp6Udp, parseSnmpUdp, procHexOf, readDeviceDrops, readUdpSnmp, readUdpSocket, sumOwnRows } from './kernel-stats.js';

// Captured from this host's /proc/net/udp (x86-64: addresses are little-endian hex).
const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  412: 0100007F:06A5 00000000:0000 07 00000000:00000A80 00:00000000 00000000     0        0 4242 2 0000000000000000 17
 1000: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 99 2 0000000000000000 0
garbage line
`;

test('parseProcNetUdp: port, receive queue, inode and drops per socket; junk skipped', () => {
  assert.deepEqual(parseProcNetUdp(UDP), [
    { localPort: 1701, localHex: '0100007F', rxQueue: 0xa80, inode: 4242, drops: 17 },
    { localPort: 5353, localHex: '00000000', rxQueue: 0, inode: 99, drops: 0 },
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

// Captured from the data-plane bench's LNS namespace: the daemon's socket on 198.18.213.2:1701 and the two
// SO_REUSEPORT siblings of its data threads; only the third dropped. Reading one row (the first found) had
// reported 0 drops while the namespace counted 19,866 RcvbufErrors.
const SIBLINGS = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  438: 02D512C6:06A5 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1471528 2 00000000a1 0
  438: 02D512C6:06A5 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1471573 2 00000000a2 0
  438: 02D512C6:06A5 00000000:0000 07 00000000:006B1600 00:00000000 00000000     0        0 1471574 2 00000000a3 52666
  438: 0100007F:06A5 00000000:0000 07 00000000:00000100 00:00000000 00000000     0        0 1471600 2 00000000a4 7
  438: 02D512C6:06A5 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 999 2 00000000a5 40
`;

test('the drops of all our sibling sockets on one address and port are summed; other addresses and foreign inodes are not', () => {
  const rows = parseProcNetUdp(SIBLINGS);
  assert.equal(rows[0]?.localHex, '02D512C6');
  assert.equal(procHexOf(4, '198.18.213.2'), '02D512C6');
  assert.equal(procHexOf(4, '127.0.0.1'), '0100007F');
  assert.equal(procHexOf(6, '::1'), '00000000000000000000000001000000');
  assert.equal(procHexOf(4, 'nope'), undefined);
  const own = new Set([1471528, 1471573, 1471574, 1471600]);
  const one = sumOwnRows(rows, 1701, own, procHexOf(4, '198.18.213.2'));
  assert.deepEqual(one && { drops: one.drops, rxQueue: one.rxQueue, sockets: one.sockets }, { drops: 52666, rxQueue: 0x6b1600, sockets: 3 });
  const all = sumOwnRows(rows, 1701, own);
  assert.equal(all?.drops, 52673, 'without an address every own row of the port');
  assert.equal(all?.sockets, 4);
  assert.equal(sumOwnRows(rows, 1702, own), undefined);
});
