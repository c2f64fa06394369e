import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clampMss, mssForMtu } from './mss.js';

/** Full one's-complement checksum over the TCP pseudo header + segment (IPv4). */
function tcpChecksumOk(pkt: Uint8Array): boolean {
  const ihl = (pkt[0]! & 0x0f) * 4;
  const total = (pkt[2]! << 8) | pkt[3]!;
  const tcpLen = total - ihl;
  let sum = 0;
  const add16 = (hi: number, lo: number) => {
    sum += (hi << 8) | lo;
  };
  for (let i = 12; i < 20; i += 2) add16(pkt[i]!, pkt[i + 1]!);
  sum += 6 + tcpLen;
  for (let i = ihl; i < total; i += 2) add16(pkt[i]!, i + 1 < total ? pkt[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

function fillChecksum(pkt: Uint8Array): void {
  const ihl = (pkt[0]! & 0x0f) * 4;
  pkt[ihl + 16] = 0;
  pkt[ihl + 17] = 0;
  const total = (pkt[2]! << 8) | pkt[3]!;
  let sum = 0;
  for (let i = 12; i < 20; i += 2) sum += (pkt[i]! << 8) | pkt[i + 1]!;
  sum += 6 + (total - ihl);
  for (let i = ihl; i < total; i += 2) sum += (pkt[i]! << 8) | (i + 1 < total ? pkt[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  pkt[ihl + 16] = c >> 8;
  pkt[ihl + 17] = c & 0xff;
}

/** IPv4 TCP SYN 198.18.0.1:40000 -> 198.51.100.1:80 with options MSS, NOP, WS. */
function syn(mss: number, flags = 0x02): Uint8Array {
  const p = new Uint8Array(20 + 28);
  p.set([0x45, 0, 0, 48, 0, 1, 0x40, 0, 64, 6, 0, 0, 198, 18, 0, 1, 198, 51, 100, 1]);
  const t = 20;
  p.set([0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x70, flags, 0xff, 0xff, 0, 0, 0, 0], t);
  p.set([2, 4, mss >> 8, mss & 0xff, 1, 3, 3, 7], t + 20);
  fillChecksum(p);
  return p;
}

test('mssForMtu', () => {
  assert.equal(mssForMtu(1400, 4), 1360);
  assert.equal(mssForMtu(1400, 6), 1340);
});

test('a SYN with MSS 1460 is clamped to 1360 and its checksum stays valid', () => {
  const p = syn(1460);
  assert.ok(tcpChecksumOk(p));
  assert.equal(clampMss(p, 0, p.length, 1360), true);
  assert.equal((p[42]! << 8) | p[43]!, 1360);
  assert.ok(tcpChecksumOk(p));
});

test('a smaller MSS, a non-SYN, UDP and garbage are left alone', () => {
  const small = syn(1200);
  assert.equal(clampMss(small, 0, small.length, 1360), false);
  const ack = syn(1460, 0x10);
  assert.equal(clampMss(ack, 0, ack.length, 1360), false);
  const udp = syn(1460);
  udp[9] = 17;
  assert.equal(clampMss(udp, 0, udp.length, 1360), false);
  assert.equal(clampMss(new Uint8Array(3), 0, 3, 1360), false);
});

test('property: checksum stays valid for any MSS; random bytes never throw', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 500, max: 1460 }), (mss, limit) => {
      const p = syn(mss);
      const changed = clampMss(p, 0, p.length, limit);
      assert.equal(changed, mss > limit);
      assert.ok(tcpChecksumOk(p));
    }),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), fc.integer({ min: 0, max: 130 }), (b, len) => {
      clampMss(b, 0, len, 1000);
    }),
    { numRuns: 5000 },
  );
});
