import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { internetChecksum, onesSum, foldChecksum } from '../base/checksum.js';
import { instant } from '../base/time.js';
import { IcmpRateLimiter, tooBig4, tooBig6 } from './too-big.js';

const OUR4 = 0x64400001; // 100.64.0.1
const OUR6 = Uint8Array.from(Buffer.from('20010db8000000010000000000000001', 'hex'));

/** An IPv4 datagram 198.51.100.9 -> 100.64.0.7 of `total` bytes, protocol `proto`, flags/offset `ff`. */
function ipv4(total: number, ff: number, proto = 17, src = 0xc6336409, ihl = 20): Uint8Array {
  const p = new Uint8Array(total);
  p[0] = 0x40 | (ihl / 4);
  p[2] = total >> 8;
  p[3] = total & 0xff;
  p[4] = 0x12;
  p[5] = 0x34;
  p[6] = ff >> 8;
  p[7] = ff & 0xff;
  p[8] = 63;
  p[9] = proto;
  Buffer.from(p.buffer).writeUInt32BE(src >>> 0, 12);
  Buffer.from(p.buffer).writeUInt32BE(0x64400007, 16);
  for (let i = ihl; i < total; i++) p[i] = (i * 7) & 0xff;
  Buffer.from(p.buffer).writeUInt16BE(internetChecksum(p, 0, ihl), 10);
  return p;
}

test('IPv4 DF set: ICMP Fragmentation Needed (RFC 792 / RFC 1191 §4) back to the source, 576-byte cap, checksums valid', () => {
  const orig = ipv4(1500, 0x4000);
  const r = tooBig4(orig, 1400, OUR4);
  assert.equal(r.kind, 'icmp');
  if (r.kind !== 'icmp') return;
  const b = Buffer.from(r.packet);
  assert.equal(b.length, 576, 'RFC 1812 §4.3.2.3: as much of the original as fits in 576 bytes');
  assert.deepEqual([b[0], b.readUInt16BE(2), b[8], b[9]], [0x45, 576, 64, 1]);
  assert.equal(b.readUInt32BE(12), OUR4);
  assert.equal(b.readUInt32BE(16), 0xc6336409, 'to the original source');
  assert.equal(internetChecksum(b, 0, 20), 0, 'IPv4 header checksum');
  assert.deepEqual([b[20], b[21], b.readUInt16BE(24), b.readUInt16BE(26)], [3, 4, 0, 1400]);
  assert.equal(internetChecksum(b, 20, b.length), 0, 'ICMP checksum');
  assert.ok(b.subarray(28).equals(Buffer.from(orig.subarray(0, 548))), 'quotes the original header and data');
  // A short original is quoted whole.
  const small = tooBig4(ipv4(100, 0x4000), 60, OUR4);
  assert.ok(small.kind === 'icmp' && small.packet.length === 128);
});

test('IPv4: no ICMP error about ICMP errors, non-initial fragments, or non-unicast sources (RFC 1122 §3.2.2)', () => {
  const icmpErr = ipv4(1500, 0x4000, 1);
  icmpErr[20] = 3;
  assert.deepEqual(tooBig4(icmpErr, 1400, OUR4), { kind: 'drop', reason: 'no-icmp-for-this' });
  const echo = ipv4(1500, 0x4000, 1);
  echo[20] = 8; // an echo request does get one
  assert.equal(tooBig4(echo, 1400, OUR4).kind, 'icmp');
  assert.deepEqual(tooBig4(ipv4(1500, 0x4000 | 10), 1400, OUR4), { kind: 'drop', reason: 'no-icmp-for-this' });
  for (const src of [0, 0x7f000001, 0xe0000001, 0xffffffff]) assert.deepEqual(tooBig4(ipv4(1500, 0x4000, 17, src), 1400, OUR4), { kind: 'drop', reason: 'no-icmp-for-this' });
  assert.deepEqual(tooBig4(ipv4(1500, 0), 1400, OUR4).kind, 'fragments');
  assert.deepEqual(tooBig4(ipv4(1500, 0, 17, 0xc6336409, 24), 1400, OUR4), { kind: 'drop', reason: 'ipv4-options' });
  assert.deepEqual(tooBig4(ipv4(1500, 0), 20, OUR4), { kind: 'drop', reason: 'mtu-too-small' });
  assert.deepEqual(tooBig4(Uint8Array.of(0x45, 0, 0), 1400, OUR4), { kind: 'drop', reason: 'malformed' });
});

/** Reassemble RFC 791 fragments (checks offsets, MF and checksums on the way). */
function reassemble(frags: readonly Uint8Array[]): { header: Buffer; data: Buffer; lastMf: boolean } {
  const data: Buffer[] = [];
  let expect = -1;
  let lastMf = false;
  for (const f of frags) {
    const b = Buffer.from(f);
    assert.equal(internetChecksum(b, 0, 20), 0);
    assert.equal(b.readUInt16BE(2), b.length);
    const off = (b.readUInt16BE(6) & 0x1fff) * 8;
    if (expect >= 0) assert.equal(off, expect);
    expect = off + b.length - 20;
    lastMf = (b.readUInt16BE(6) & 0x2000) !== 0;
    data.push(b.subarray(20));
  }
  return { header: Buffer.from(frags[0] ?? new Uint8Array(20)).subarray(0, 20), data: Buffer.concat(data), lastMf };
}

test('IPv4 DF clear: fragments (RFC 791 §3.2) fit the MTU, carry 8-byte-aligned offsets, and reassemble; a fragment is refragmented', () => {
  fc.assert(
    fc.property(fc.integer({ min: 60, max: 3000 }), fc.integer({ min: 28, max: 1500 }), fc.boolean(), (total, mtu, moreAfter) => {
      const ff = moreAfter ? 0x2000 | 185 : 0; // a middle fragment at offset 1480
      const orig = ipv4(total, ff);
      const r = tooBig4(orig, mtu, OUR4);
      if (r.kind !== 'fragments') return false;
      for (const f of r.packets) if (f.length > mtu) return false;
      const { data, lastMf } = reassemble(r.packets);
      const firstOff = (Buffer.from(r.packets[0] ?? new Uint8Array(8)).readUInt16BE(6) & 0x1fff) * 8;
      return data.equals(Buffer.from(orig.subarray(20))) && lastMf === moreAfter && firstOff === (moreAfter ? 1480 : 0);
    }),
    { numRuns: 300 },
  );
});

/** An IPv6 packet 2001:db8:ff::9 -> 2001:db8:1::7 with `payload` bytes of next header `nh`. */
function ipv6(payload: number, nh = 17, src = '20010db800ff00000000000000000009'): Uint8Array {
  const p = new Uint8Array(40 + payload);
  p[0] = 0x60;
  p[4] = payload >> 8;
  p[5] = payload & 0xff;
  p[6] = nh;
  p[7] = 64;
  p.set(Buffer.from(src, 'hex'), 8);
  p.set(Buffer.from('20010db8000000010000000000000007', 'hex'), 24);
  for (let i = 40; i < p.length; i++) p[i] = i & 0xff;
  return p;
}

test('IPv6: ICMPv6 Packet Too Big (RFC 4443 §3.2) within 1280 bytes, checksum over the pseudo-header', () => {
  const orig = ipv6(1460);
  const r = tooBig6(orig, 1400, OUR6);
  assert.equal(r.kind, 'icmp');
  if (r.kind !== 'icmp') return;
  const b = Buffer.from(r.packet);
  assert.equal(b.length, 1280);
  assert.deepEqual([b[0], b.readUInt16BE(4), b[6], b[7]], [0x60, 1240, 58, 64]);
  assert.ok(b.subarray(8, 24).equals(Buffer.from(OUR6)));
  assert.ok(b.subarray(24, 40).equals(Buffer.from(orig.subarray(8, 24))), 'to the original source');
  assert.deepEqual([b[40], b[41], b.readUInt32BE(44)], [2, 0, 1400]);
  let sum = onesSum(b, 8, 40);
  sum += 1240 + 58;
  assert.equal(foldChecksum(onesSum(b, 40, b.length, sum)), 0, 'ICMPv6 checksum verifies');
  assert.ok(b.subarray(48).equals(Buffer.from(orig.subarray(0, 1232))));
  // Never about an ICMPv6 error, from a multicast or unspecified source; an echo request gets one.
  const err = ipv6(1460, 58);
  err[40] = 1;
  assert.deepEqual(tooBig6(err, 1400, OUR6), { kind: 'drop', reason: 'no-icmp-for-this' });
  const echo = ipv6(1460, 58);
  echo[40] = 128;
  assert.equal(tooBig6(echo, 1400, OUR6).kind, 'icmp');
  assert.deepEqual(tooBig6(ipv6(1460, 17, 'ff020000000000000000000000000001'), 1400, OUR6).kind, 'drop');
  assert.deepEqual(tooBig6(ipv6(1460, 17, '00000000000000000000000000000000'), 1400, OUR6).kind, 'drop');
  assert.deepEqual(tooBig6(new Uint8Array(39), 1400, OUR6), { kind: 'drop', reason: 'malformed' });
});

test('never throws on arbitrary bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1600 }), fc.integer({ min: 0, max: 70000 }), (b, mtu) => {
      tooBig4(b, mtu, OUR4);
      tooBig6(b, mtu, OUR6);
      return true;
    }),
    { numRuns: 2000 },
  );
});

test('rate limiter: burst, then the refill rate, on the virtual clock', () => {
  const l = new IcmpRateLimiter(10, 3);
  const t0 = instant(1000);
  assert.deepEqual([l.allow(t0), l.allow(t0), l.allow(t0), l.allow(t0)], [true, true, true, false]);
  assert.equal(l.allow(instant(1050)), false, 'half a token after 50 ms');
  assert.equal(l.allow(instant(1100)), true, 'one token after 100 ms at 10/s');
  assert.equal(l.allow(instant(1100)), false);
  assert.deepEqual([l.allow(instant(9000)), l.allow(instant(9000)), l.allow(instant(9000)), l.allow(instant(9000))], [true, true, true, false], 'refill capped at the burst');
});
