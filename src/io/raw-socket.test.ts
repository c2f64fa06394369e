// Raw IPv4 socket tests on loopback. They need root (CAP_NET_RAW; CI runs as root) and FAIL otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { loadNative, NativeIoError } from './native.js';
import { IPPROTO_ESP, IPPROTO_L2TP, RawIpSocket, type RawPacketBatch } from './raw-socket.js';
import { requireTunPrivileges } from '../../test/lib/tun-packets.js';
import { formatIpv4, parseIpv4 } from '../base/index.js';

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ipv4 helpers', () => {
  it('round-trips numbers and rejects junk', () => {
    assert.equal(parseIpv4('127.0.0.1'), 0x7f000001);
    assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
    for (const bad of ['', '1.2.3', '1.2.3.256', '1.2.3.4.5', 'a.b.c.d', '1.2.3.-1', ' 1.2.3.4']) {
      assert.equal(parseIpv4(bad), undefined, bad);
    }
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => parseIpv4(formatIpv4(n)) === n));
  });
});

describe('RawIpSocket (loopback)', () => {
  const sockets: RawIpSocket[] = [];
  let setupError: Error | undefined;
  const ready = (): void => {
    if (setupError !== undefined) throw setupError;
  };
  before(() => {
    try {
      requireTunPrivileges();
      loadNative();
    } catch (e: unknown) {
      setupError = e instanceof Error ? e : new Error(String(e));
    }
  });
  after(() => {
    for (const s of sockets) s.close();
  });

  it('sends L2TPv3-over-IP (proto 115) packets to 127.0.0.1 and receives them with source and payload offset', async () => {
    ready();
    const s = RawIpSocket.open({ protocol: IPPROTO_L2TP, bindAddress: '127.0.0.1' });
    sockets.push(s);
    // RFC 3931 §4.1.1.2: a data message starts with a nonzero 32-bit Session ID; ours is random so
    // concurrent users of protocol 115 on this host cannot be confused with us.
    const tag = randomBytes(8);
    const got: Buffer[] = [];
    const batchSizes: number[] = [];
    s.onPackets((batch: RawPacketBatch) => {
      batchSizes.push(batch.count);
      for (let i = 0; i < batch.count; i++) {
        const payload = batch.payload(i);
        if (payload.length < 12 || !payload.subarray(4, 12).equals(tag)) continue;
        assert.equal(batch.sourceAddress(i), '127.0.0.1');
        assert.equal(batch.headerLength(i), 20);
        const ip = batch.packet(i);
        assert.equal(ip[0], 0x45);
        assert.equal(ip[9], IPPROTO_L2TP);
        assert.equal(batch.payloadLength(i) + 20, batch.length(i));
        got.push(batch.copy(i).subarray(20));
      }
    });
    const N = 100;
    const SIZE = 200;
    const buf = Buffer.alloc(N * SIZE);
    const offsets = new Uint32Array(N);
    const lengths = new Uint32Array(N);
    const addrs = new Uint32Array(N).fill(0x7f000001);
    for (let i = 0; i < N; i++) {
      buf.writeUInt32BE(0x10000 + i, i * SIZE); // session id
      tag.copy(buf, i * SIZE + 4);
      offsets[i] = i * SIZE;
      lengths[i] = SIZE;
    }
    assert.equal(s.sendBatch(buf, offsets, lengths, addrs, N), N);
    const single = Buffer.alloc(50);
    single.writeUInt32BE(0xabcdef, 0);
    tag.copy(single, 4);
    assert.equal(s.send(single, '127.0.0.1'), true);
    await waitFor(() => got.length === N + 1, 3000, `${N + 1} packets (got ${got.length})`);
    for (let i = 0; i < N; i++) assert.ok(got[i]?.equals(buf.subarray(i * SIZE, (i + 1) * SIZE)), `packet ${i}`);
    assert.ok(got[N]?.equals(single));
    assert.ok(Math.max(...batchSizes) > 1, `expected batching, got ${batchSizes.join(',')}`);
  });

  it('carries ESP (proto 50) the same way', async () => {
    ready();
    const s = RawIpSocket.open({ protocol: IPPROTO_ESP, bindAddress: '127.0.0.1', maxPackets: 8, maxPacketSize: 2048 });
    sockets.push(s);
    // RFC 4303 §2: SPI (32) | Sequence Number (32) | payload...
    const esp = Buffer.concat([Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1]), randomBytes(64)]);
    let seen: Buffer | undefined;
    s.onPackets((batch) => {
      for (let i = 0; i < batch.count; i++) if (batch.payload(i).equals(esp)) seen = batch.copy(i);
    });
    assert.equal(s.send(esp, '127.0.0.1'), true);
    await waitFor(() => seen !== undefined, 3000, 'the ESP packet');
    assert.equal(seen?.[9], IPPROTO_ESP);
  });

  it('gathers one datagram from a list of parts (sendmsg iovec) and refuses 0 or more than 8 parts', async () => {
    ready();
    const s = RawIpSocket.open({ protocol: IPPROTO_ESP, bindAddress: '127.0.0.1', maxPackets: 8, maxPacketSize: 2048 });
    sockets.push(s);
    // Header | ciphertext | ICV as the ESP encrypt path hands them over, with odd lengths and a part
    // that is a view into a larger buffer (byteOffset != 0).
    const big = randomBytes(600);
    const parts = [Buffer.from([0xfe, 0xed, 0xfa, 0xce, 0, 0, 0, 7]), big.subarray(13, 513), randomBytes(3), new Uint8Array(0)];
    const whole = Buffer.concat(parts);
    let seen: Buffer | undefined;
    s.onPackets((batch) => {
      for (let i = 0; i < batch.count; i++) if (batch.payload(i).equals(whole)) seen = batch.copy(i);
    });
    assert.equal(s.send(parts, '127.0.0.1'), true);
    await waitFor(() => seen !== undefined, 3000, 'the gathered packet');
    assert.equal(seen?.length, 20 + whole.length);
    assert.throws(() => s.send([], '127.0.0.1'), /1 to 8 parts/);
    assert.throws(() => s.send(Array.from({ length: 9 }, () => Buffer.alloc(1)), '127.0.0.1'), /1 to 8 parts/);
    assert.throws(() => s.send(parts, 'nope'), /not an IPv4 address/);
  });

  it('drops (and counts) packets larger than maxPacketSize', async () => {
    ready();
    const s = RawIpSocket.open({ protocol: IPPROTO_L2TP, bindAddress: '127.0.0.1', maxPacketSize: 128 });
    sockets.push(s);
    const tag = randomBytes(8);
    let small = 0;
    s.onPackets((batch) => {
      for (let i = 0; i < batch.count; i++) if (batch.payload(i).subarray(4, 12).equals(tag)) small++;
    });
    const big = Buffer.alloc(500);
    tag.copy(big, 4);
    const ok = Buffer.alloc(60);
    tag.copy(ok, 4);
    s.send(big, '127.0.0.1');
    s.send(ok, '127.0.0.1');
    await waitFor(() => small === 1, 3000, 'the small packet');
    assert.ok(s.truncated >= 1);
  });

  it('reports bind and argument errors clearly', () => {
    ready();
    assert.throws(
      () => RawIpSocket.open({ protocol: IPPROTO_L2TP, bindAddress: '192.0.2.1' }),
      (e: unknown) =>
        e instanceof NativeIoError &&
        e.code === 'EADDRNOTAVAIL' &&
        e.syscall === 'bind' &&
        e.message.startsWith('cannot bind raw socket to 192.0.2.1: EADDRNOTAVAIL'),
    );
    assert.throws(() => RawIpSocket.open({ protocol: 0 }), RangeError);
    assert.throws(() => RawIpSocket.open({ protocol: 115, bindAddress: 'localhost' }), TypeError);
    const s = RawIpSocket.open({ protocol: IPPROTO_L2TP });
    s.close();
    assert.throws(() => s.send(Buffer.alloc(4), '127.0.0.1'), (e: unknown) => e instanceof NativeIoError && e.code === 'EBADF');
    assert.throws(() => s.send(Buffer.alloc(4), '127.0.0'), TypeError);
    s.close();
  });
});
