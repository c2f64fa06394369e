import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hex } from '../../../test/vectors/l2tp-v3.js';
import {
  classifyUdp,
  cookieMatches,
  parseV3DataHeader,
  readDefaultSublayer,
  v3DataHeaderLength,
  writeDefaultSublayer,
  writeV3DataHeader,
  type V3Encapsulation,
} from './index.js';

/**
 * Linux kernel l2tp_eth (Debian 6.1, `ip l2tp add session ... cookie cafef00d l2spec_type default`),
 * toward the host in the lab: the 16 header bytes as recorded in LAB-NOTES (st-v3-host.pcap, UDP 1701 ->
 * 1701, session 3000 -> 4000); the Ethernet bytes after them are illustrative.
 */
const KERNEL_UDP = hex(
  '0003 0000', //    T=0, Ver 3, Reserved
  '00000fa0', //     Session ID 4000
  'cafef00d', //     Cookie (4 bytes)
  '00000000', //     Default L2-Specific Sublayer, S=0 (the kernel does not sequence by default)
  'ffffffffffff 5e2d9c1a0b02 0806', // Ethernet broadcast ARP (illustrative)
);

test('Linux kernel data packet over UDP (lab capture): session, cookie, sublayer', () => {
  assert.equal(classifyUdp(KERNEL_UDP), 'v3-data');
  const r = parseV3DataHeader(KERNEL_UDP, 'udp');
  assert.ok(r.ok);
  assert.equal(r.value.sessionId, 4000);
  assert.equal(r.value.cookieOffset, 8);
  assert.ok(cookieMatches(KERNEL_UDP, 8, hex('cafef00d')));
  assert.ok(!cookieMatches(KERNEL_UDP, 8, hex('cafef00e')));
  assert.equal(readDefaultSublayer(KERNEL_UDP, 12), -1);
  assert.equal(KERNEL_UDP[16], 0xff);
});

test('data header over IP (§4.1.1.1): Session ID first, 0 means control', () => {
  const ip = hex('00000fa0 0102030405060708 40000007');
  const r = parseV3DataHeader(ip, 'ip');
  assert.ok(r.ok);
  assert.deepStrictEqual(r.value, { sessionId: 4000, cookieOffset: 4 });
  assert.equal(readDefaultSublayer(ip, 12), 7); // S=1, sequence 7
  assert.equal(parseV3DataHeader(hex('00000000 c803'), 'ip').ok, false);
});

test('data header rules over UDP (§4.1.2.1): Ver first, T must be 0, reserved bits ignored', () => {
  assert.equal(classifyUdp(hex('c803')), 'v3-control');
  assert.equal(classifyUdp(hex('c802')), 'v2');
  assert.equal(classifyUdp(hex('0001')), 'other');
  assert.equal(classifyUdp(hex('00')), 'other');
  assert.deepStrictEqual(parseV3DataHeader(hex('0002 0000 00000001'), 'udp'), { ok: false, error: { kind: 'bad-version', version: 2 } });
  assert.equal(parseV3DataHeader(hex('8003 0000 00000001'), 'udp').ok, false);
  const reserved = parseV3DataHeader(hex('4bf3 ffff 00000001'), 'udp');
  assert.ok(reserved.ok && reserved.value.sessionId === 1);
  for (let n = 0; n < 8; n++) assert.equal(parseV3DataHeader(KERNEL_UDP.subarray(0, n), 'udp').ok, false, `prefix ${n}`);
  for (let n = 0; n < 4; n++) assert.equal(parseV3DataHeader(KERNEL_UDP.subarray(0, n), 'ip').ok, false, `prefix ${n}`);
});

test('writeV3DataHeader reproduces the kernel bytes and writes exactly its length (0xa5 fill)', () => {
  const out = new Uint8Array(2 + 16 + 2).fill(0xa5);
  const n = writeV3DataHeader(out, 2, 'udp', 4000, hex('cafef00d'));
  assert.equal(n, v3DataHeaderLength('udp', 4));
  writeDefaultSublayer(out, 2 + n, undefined);
  assert.equal(Buffer.from(out).toString('hex'), `a5a5${Buffer.from(KERNEL_UDP.subarray(0, 16)).toString('hex')}a5a5`);
  assert.throws(() => writeV3DataHeader(out, 0, 'udp', 1, hex('01')), RangeError);
  assert.throws(() => writeV3DataHeader(out, 18, 'udp', 1, hex('')), RangeError);
});

test('property: data header write/parse round trip and sublayer sequence (24 bits)', () => {
  fc.assert(
    fc.property(
      fc.constantFrom<V3Encapsulation>('udp', 'ip'),
      fc.integer({ min: 1, max: 0xffffffff }),
      fc.constantFrom(0, 4, 8).chain((k) => fc.uint8Array({ minLength: k, maxLength: k })),
      fc.option(fc.integer({ min: 0, max: 0xffffff }), { nil: undefined }),
      (encap, sid, cookie, seq) => {
        const out = new Uint8Array(v3DataHeaderLength(encap, cookie.length) + 4);
        const n = writeV3DataHeader(out, 0, encap, sid, cookie);
        writeDefaultSublayer(out, n, seq);
        const r = parseV3DataHeader(out, encap);
        assert.ok(r.ok);
        assert.equal(r.value.sessionId, sid);
        assert.ok(cookieMatches(out, r.value.cookieOffset, cookie));
        assert.equal(readDefaultSublayer(out, n), seq ?? -1);
      },
    ),
  );
});
