import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { foldChecksum, onesSum } from '../../base/checksum.js';
import { seededRandom } from '../../base/random.js';
import { EthernetPseudowire, PseudowireDemux, mssForPseudowire, pseudowireOverhead, type PseudowireSettings } from './index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** An Ethernet frame: dst, src, EtherType, payload. */
function frame(payload: Uint8Array, etherType = 0x0800, tag?: number): Uint8Array {
  const tagLen = tag === undefined ? 0 : 4;
  const f = new Uint8Array(14 + tagLen + payload.length);
  f.set(hex('02000000000a 02000000000b'));
  let p = 12;
  if (tag !== undefined) {
    f.set([0x81, 0x00, (tag >> 8) & 0x0f, tag & 0xff], 12);
    p = 16;
  }
  f[p] = etherType >> 8;
  f[p + 1] = etherType & 0xff;
  f.set(payload, p + 2);
  return f;
}

/** The two ends of one pseudowire: B mirrors A (session ids and cookies swapped). */
function pair(over: Partial<PseudowireSettings> = {}): { a: EthernetPseudowire; b: EthernetPseudowire } {
  const base: PseudowireSettings = {
    encapsulation: 'udp',
    localSessionId: 3000,
    peerSessionId: 4000,
    txCookie: hex('cafef00d'),
    rxCookie: hex('0102030405060708'),
    sublayer: 'default',
    ...over,
  };
  const mirror: PseudowireSettings = {
    ...base,
    localSessionId: base.peerSessionId,
    peerSessionId: base.localSessionId,
    txCookie: base.rxCookie,
    rxCookie: base.txCookie,
  };
  return { a: new EthernetPseudowire(base), b: new EthernetPseudowire(mirror) };
}

/** Send `f` from `from` through a demux holding `to`; returns the delivered frame. */
function cross(from: EthernetPseudowire, to: EthernetPseudowire, f: Uint8Array): Uint8Array | undefined {
  const d = new PseudowireDemux(to.settings.encapsulation);
  d.add(to);
  const wire = from.encapsulate(f, 0, f.length);
  assert.ok(wire !== undefined);
  const o = d.receive(new Uint8Array(wire));
  return o.kind === 'frame' ? o.frame : undefined;
}

test('wire layout matches Linux l2tp_eth: UDP, 4-byte cookie, default sublayer (RFC 3931 §4.1.2.1, §4.6)', () => {
  const pw = new EthernetPseudowire({ encapsulation: 'udp', localSessionId: 4000, peerSessionId: 3000, txCookie: hex('cafef00d'), rxCookie: new Uint8Array(0), sublayer: 'default' });
  const f = frame(hex('0001'), 0x0806);
  const out = pw.encapsulate(f, 0, f.length);
  assert.equal(toHex(out ?? new Uint8Array()), `0003000000000bb8cafef00d00000000${toHex(f)}`);
  const ip = new EthernetPseudowire({ encapsulation: 'ip', localSessionId: 1, peerSessionId: 0x01020304, txCookie: hex('0011223344556677'), rxCookie: new Uint8Array(0), sublayer: 'none' });
  assert.equal(toHex(ip.encapsulate(f, 0, f.length) ?? new Uint8Array()), `010203040011223344556677${toHex(f)}`);
});

test('matrix: UDP and IP, cookies 0/4/8 each way, sublayer none/default: frames cross both ways intact', () => {
  const cookies = [new Uint8Array(0), hex('a1a2a3a4'), hex('b1b2b3b4b5b6b7b8')];
  for (const encapsulation of ['udp', 'ip'] as const) {
    for (const tx of cookies) {
      for (const rx of cookies) {
        for (const sublayer of ['none', 'default'] as const) {
          const { a, b } = pair({ encapsulation, txCookie: tx, rxCookie: rx, sublayer });
          const f = frame(Uint8Array.from({ length: 60 }, (_, i) => i));
          assert.deepStrictEqual(cross(a, b, f), f, `${encapsulation} ${tx.length}/${rx.length} ${sublayer} a->b`);
          assert.deepStrictEqual(cross(b, a, f), f, 'b->a');
          assert.equal(a.headerLength, pseudowireOverhead({ encapsulation, cookieLength: tx.length, sublayer }) - 20 - (encapsulation === 'udp' ? 8 : 0));
        }
      }
    }
  }
});

test('headroom: the header goes in front of the frame in place; without headroom one copy', () => {
  const { a } = pair();
  const f = frame(new Uint8Array(46));
  const buf = new Uint8Array(a.headerLength + f.length);
  buf.set(f, a.headerLength);
  const inPlace = a.encapsulate(buf, a.headerLength, f.length);
  assert.ok(inPlace !== undefined);
  assert.equal(inPlace.buffer, buf.buffer, 'no copy');
  assert.equal(inPlace.byteOffset, 0);
  const copied = a.encapsulate(f, 0, f.length);
  assert.ok(copied !== undefined && copied.buffer !== f.buffer);
  assert.deepStrictEqual(copied, inPlace);
  assert.deepStrictEqual(f, frame(new Uint8Array(46)), 'source frame untouched when copied');
  assert.equal(a.encapsulate(f, 0, 13), undefined);
  assert.equal(a.counters.txDropped, 1);
  assert.equal(a.counters.txPackets, 2);
  assert.equal(a.counters.txOctets, 2 * f.length);
});

test('wrong cookie, unknown session, short, control and v2 datagrams are dropped and counted, never delivered', () => {
  const { a, b } = pair();
  const d = new PseudowireDemux('udp');
  d.add(b);
  const f = frame(new Uint8Array(46));
  const good = a.encapsulate(f, 0, f.length);
  assert.ok(good !== undefined);
  const wrong = new Uint8Array(good);
  wrong[9] = (wrong[9] ?? 0) ^ 0xff;
  assert.deepStrictEqual(d.receive(wrong), { kind: 'dropped', reason: 'session' });
  const other = new Uint8Array(good);
  other[7] = 0x99;
  assert.deepStrictEqual(d.receive(other), { kind: 'dropped', reason: 'unknown-session' });
  assert.deepStrictEqual(d.receive(good.subarray(0, 20)), { kind: 'dropped', reason: 'session' });
  assert.deepStrictEqual(d.receive(hex('c803 000c 00000001 0000 0000')), { kind: 'control' });
  assert.deepStrictEqual(d.receive(hex('0002 0001 0001')), { kind: 'dropped', reason: 'not-v3' });
  assert.deepStrictEqual(d.receive(hex('00')), { kind: 'dropped', reason: 'bad-header' });
  assert.deepStrictEqual(b.counters.drops, { wrongCookie: 1, tooShort: 1, unsequenced: 0, outOfOrder: 0 });
  assert.deepStrictEqual(d.counters, { unknownSession: 1, badHeader: 1, control: 1, notV3: 1 });
  assert.equal(b.counters.rxPackets, 0);
  const ipd = new PseudowireDemux('ip');
  assert.deepStrictEqual(ipd.receive(hex('00000000 c803')), { kind: 'control' });
  assert.throws(() => ipd.add(b), RangeError);
  assert.throws(() => d.add(b), RangeError);
});

test('sequencing (§4.6, Appendix C): in order, gaps, late and duplicate frames, 24-bit wrap', () => {
  const { a, b } = pair({ sendSequence: true, requireSequence: true });
  const d = new PseudowireDemux('udp');
  d.add(b);
  const f = frame(new Uint8Array(46));
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 6; i++) sent.push(new Uint8Array(a.encapsulate(f, 0, f.length) ?? new Uint8Array()));
  assert.equal(sent[3]?.[12], 0x40, 'S bit');
  assert.equal(sent[3]?.[15], 3, 'sequence 3');
  const kinds = [0, 1, 3, 2, 3, 5].map((i) => d.receive(sent[i] ?? new Uint8Array()).kind);
  assert.deepStrictEqual(kinds, ['frame', 'frame', 'frame', 'dropped', 'dropped', 'frame']);
  assert.equal(b.counters.drops.outOfOrder, 2);
  assert.equal(b.counters.sequenceLate, 2);
  assert.equal(b.counters.sequenceGaps, 2); // 2 skipped before 3, 4 skipped before 5
  // unsequenced frames are refused when sequencing is required
  const plain = pair({ sendSequence: false }).a;
  const u = plain.encapsulate(f, 0, f.length);
  assert.deepStrictEqual(d.receive(new Uint8Array(u ?? new Uint8Array())), { kind: 'dropped', reason: 'session' });
  assert.equal(b.counters.drops.unsequenced, 1);
  // without requireSequence a late frame is delivered but still counted
  const { a: a2, b: b2 } = pair({ sendSequence: true });
  const late = [0, 1, 2].map(() => new Uint8Array(a2.encapsulate(f, 0, f.length) ?? new Uint8Array()));
  for (const i of [0, 2, 1]) assert.ok(b2.decapsulate(late[i] ?? new Uint8Array(), 8) !== undefined);
  assert.equal(b2.counters.sequenceLate, 1);
  // the 24-bit counter wraps: 0xffffff is followed by 0 without a gap
  const w = new Uint8Array(late[0] ?? new Uint8Array());
  const { b: b3 } = pair({ requireSequence: true });
  const seqd = (n: number): Uint8Array => {
    const c = new Uint8Array(w);
    c.set([0x40, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff], 12);
    return c;
  };
  for (const n of [0xfffffe, 0xffffff, 0, 1]) assert.ok(b3.decapsulate(seqd(n), 8) !== undefined, `seq ${n}`);
  assert.equal(b3.decapsulate(seqd(0xffffff), 8), undefined);
  assert.equal(b3.counters.sequenceGaps, 0);
  assert.throws(() => pair({ sublayer: 'none', sendSequence: true }), RangeError);
});

/** TCP SYN with MSS 1460 in IPv4 or IPv6, checksum filled. */
function syn(family: 4 | 6): Uint8Array {
  const ipLen = family === 4 ? 20 : 40;
  const p = new Uint8Array(ipLen + 24);
  if (family === 4) p.set([0x45, 0, 0, 44, 0, 1, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 20, 192, 0, 2, 10]);
  else {
    p.set([0x60, 0, 0, 0, 0, 24, 6, 64]);
    p.set(hex('20010db8000000000000000000000014 20010db800000000000000000000000a'), 8);
  }
  p.set([0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 0x05, 0xb4], ipLen);
  p.set(tcpSum(p, family), ipLen + 16);
  return p;
}

function tcpSum(p: Uint8Array, family: 4 | 6): Uint8Array {
  const ipLen = family === 4 ? 20 : 40;
  const seg = p.length - ipLen;
  const q = new Uint8Array(p);
  q[ipLen + 16] = 0;
  q[ipLen + 17] = 0;
  let s = family === 4 ? onesSum(q, 12, 20) : onesSum(q, 8, 40);
  s += 6 + seg;
  const c = foldChecksum(onesSum(q, ipLen, q.length, s));
  return Uint8Array.of(c >> 8, c & 0xff);
}

test('MSS clamping inside bridged IPv4/IPv6 frames, untagged and 802.1Q-tagged, both directions', () => {
  const { a, b } = pair({ mssClamp: 1380 });
  for (const family of [4, 6] as const) {
    for (const tag of [undefined, 100]) {
      const f = frame(syn(family), family === 4 ? 0x0800 : 0x86dd, tag);
      const got = cross(a, b, f);
      assert.ok(got !== undefined);
      const l3 = 14 + (tag === undefined ? 0 : 4);
      const tcp = l3 + (family === 4 ? 20 : 40);
      assert.equal(((got[tcp + 22] ?? 0) << 8) | (got[tcp + 23] ?? 0), 1380, `family ${family} tag ${String(tag)}`);
      const ip = got.subarray(l3);
      assert.equal(toHex(tcpSum(ip, family)), toHex(ip.subarray(ip.length - 24 + 16, ip.length - 24 + 18)), 'checksum still valid');
    }
  }
  assert.equal(a.counters.mssClamped, 4);
  // a frame that is not TCP is left alone
  const arp = frame(new Uint8Array(28), 0x0806);
  assert.deepStrictEqual(cross(a, b, arp), arp);
  assert.equal(mssForPseudowire(1500, { encapsulation: 'udp', cookieLength: 4, sublayer: 'default' }, 4), 1500 - 44 - 14 - 40); // 20 IPv4 + 8 UDP + 8 session header + 4 cookie + 4 sublayer
});

test('bad-input burst: 10,000 malformed datagrams leave the pseudowire forwarding, all counted', () => {
  const { a, b } = pair({ sendSequence: true });
  const d = new PseudowireDemux('udp');
  d.add(b);
  const r = seededRandom(0xbad);
  const f = frame(Uint8Array.from({ length: 100 }, (_, i) => i & 0xff));
  const good = new Uint8Array(a.encapsulate(f, 0, f.length) ?? new Uint8Array());
  let delivered = 0;
  for (let i = 0; i < 10_000; i++) {
    const kind = i % 4;
    let m: Uint8Array;
    if (kind === 0) m = r.bytes(r.u32() % 40); // random junk, bad lengths
    else if (kind === 1) {
      m = new Uint8Array(good);
      m.set(r.bytes(4), 4); // bogus session id
      if (m[7] === 0xa0 && m[6] === 0x0f) m[5] = (m[5] ?? 0) ^ 1;
    } else if (kind === 2) {
      m = new Uint8Array(good);
      const at = 8 + (r.u32() % 4);
      m[at] = (m[at] ?? 0) ^ (1 + (r.u32() % 255)); // wrong cookie
    } else m = good.subarray(0, r.u32() % 30); // truncated
    const o = d.receive(m);
    if (o.kind === 'frame') delivered++;
    if (i % 1000 === 0) assert.deepStrictEqual(cross(a, b, f), f, 'still forwarding');
  }
  assert.equal(delivered, 0, 'no malformed datagram was bridged');
  const drops = b.counters.drops.wrongCookie + b.counters.drops.tooShort + d.counters.unknownSession + d.counters.badHeader + d.counters.notV3 + d.counters.control;
  assert.equal(drops, 10_000);
  assert.equal(b.counters.rxPackets, 10);
});

test('property: random frames cross unchanged; random datagrams never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 14, maxLength: 1600 }), fc.constantFrom<'udp' | 'ip'>('udp', 'ip'), fc.boolean(), (f, encapsulation, seq) => {
      const { a, b } = pair({ encapsulation, sendSequence: seq });
      assert.deepStrictEqual(cross(a, b, f), f);
    }),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), fc.constantFrom<'udp' | 'ip'>('udp', 'ip'), (m, encapsulation) => {
      const { b } = pair({ encapsulation, requireSequence: true });
      const d = new PseudowireDemux(encapsulation);
      d.add(b);
      const copy = new Uint8Array(m);
      d.receive(m);
      assert.deepStrictEqual(m, copy);
    }),
  );
});
