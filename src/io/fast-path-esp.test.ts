// ESP of the addon's fast path (native/esp.cc) against the JS reference (src/ipsec/esp.ts, node:crypto),
// without sockets: for AES-GCM-16 (128/256) and AES-CBC + HMAC-SHA1-96 / HMAC-SHA256-128, what the addon
// seals the JS EspSa opens and the reverse; GCM (whose IV is the sequence number) is byte-identical to
// the JS packet for the same keys; the RFC 4303 §3.4.3 replay window (duplicate, reordered inside the
// window, too old, sequence 0, a failed ICV does not move it) and the counters; NativeEspOffload /
// NativeEspSa refuse what the addon does not run and keep one sequence counter per SA.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EspSa, type EspSaParams } from '../ipsec/index.js';
import { cryptoRandom } from './random.js';
import { EspVerdict, loadNative, type NativeFastPath } from './native.js';
import { NativeEspOffload } from './fast-path-esp.js';

const FLOW = 1;
const key = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

interface Suite {
  readonly name: string;
  readonly encryption: EspSaParams['encryption'];
  readonly integrity: EspSaParams['integrity'];
  readonly keyLen: number;
  readonly authLen: number;
  readonly cipher: number;
  readonly integ: number;
}
const SUITES: readonly Suite[] = [
  { name: 'aes-128-gcm-16', encryption: 'aes-gcm-16', integrity: 'none', keyLen: 20, authLen: 0, cipher: 0, integ: 0 },
  { name: 'aes-256-gcm-16', encryption: 'aes-gcm-16', integrity: 'none', keyLen: 36, authLen: 0, cipher: 0, integ: 0 },
  { name: 'aes-128-cbc + hmac-sha1-96', encryption: 'aes-cbc', integrity: 'hmac-sha1-96', keyLen: 16, authLen: 20, cipher: 1, integ: 1 },
  { name: 'aes-256-cbc + hmac-sha256-128', encryption: 'aes-cbc', integrity: 'hmac-sha256-128', keyLen: 32, authLen: 32, cipher: 1, integ: 2 },
];

function params(s: Suite, spi: number): EspSaParams {
  return { spi, encryption: s.encryption, integrity: s.integrity, encryptionKey: key(s.keyLen, spi & 0xff), integrityKey: key(s.authLen, (spi >> 8) & 0xff) };
}

function table(s: Suite, spi: number): NativeFastPath {
  const fp = new (loadNative().FastPath)(0);
  const p = params(s, spi);
  fp.espFlow(FLOW, 0, 0x7f000001, 4500, 1701, 1701);
  fp.espAddSa(spi, true, s.cipher, p.encryptionKey, s.integ, p.integrityKey, 128, FLOW);
  fp.espAddSa(spi, false, s.cipher, p.encryptionKey, s.integ, p.integrityKey, 0, FLOW);
  return fp;
}

const sealed = (r: Uint8Array | number): Uint8Array => {
  assert.ok(typeof r !== 'number', `espSeal refused: ${String(r)}`);
  return r;
};

const payload = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i + seed * 31) & 0xff);

for (const s of SUITES) {
  test(`${s.name}: addon seal -> JS open and JS seal -> addon open, every length 0..70 and 1400`, () => {
    const spi = 0x1000 + s.cipher * 16 + s.integ;
    const fp = table(s, spi);
    const jsIn = new EspSa(params(s, spi), cryptoRandom);
    const jsOut = new EspSa(params(s, spi), cryptoRandom);
    const lens = [...Array.from({ length: 71 }, (_, i) => i), 1400];
    for (const n of lens) {
      const pt = payload(n, n);
      const udp = Uint8Array.of(0x06, 0xa5, 0x06, 0xa5, 0, 0, 0, 0);
      const c = sealed(fp.espSeal(spi, 17, [udp, pt]));
      assert.equal(c.length, jsOut.packetLength(n + 8));
      const o = jsIn.decrypt(c);
      assert.ok(o.ok, `JS refused the addon's packet of ${n} bytes: ${JSON.stringify(!o.ok && o.error)}`);
      assert.deepEqual([...o.value.payload], [...udp, ...pt]);
      assert.equal(o.value.nextHeader, 17);
      const j = jsOut.encrypt(pt, 17);
      assert.ok(j.ok);
      const back = fp.espOpen(spi, j.value);
      assert.ok(typeof back !== 'number', `the addon refused JS's packet of ${n} bytes: ${String(back)}`);
      assert.deepEqual([...back[2]], [...pt]);
      assert.equal(back[1], 17);
    }
    const [packets, , replay, auth] = fp.espCounters(spi, true) ?? [];
    assert.equal(packets, lens.length);
    assert.equal(replay, 0);
    assert.equal(auth, 0);
  });
}

test('aes-128-gcm-16: the addon\'s packet is byte-identical to the JS EspSa\'s for the same keys and sequence number', () => {
  const s = SUITES[0] as Suite;
  const fp = table(s, 0xabcd0001);
  const js = new EspSa(params(s, 0xabcd0001), cryptoRandom);
  for (let i = 1; i <= 5; i++) {
    const pt = payload(100 + i, i);
    const j = js.encrypt(pt, 17);
    assert.ok(j.ok);
    assert.deepEqual([...sealed(fp.espSeal(0xabcd0001, 17, [pt]))], [...j.value], `packet ${i}`);
  }
});

test('replay window (RFC 4303 §3.4.3): duplicate, reordered inside, too old, zero; a bad ICV is refused and does not move it', () => {
  const s = SUITES[0] as Suite;
  const spi = 0x2222;
  const fp = table(s, spi);
  const pkts = Array.from({ length: 300 }, (_, i) => sealed(fp.espSeal(spi, 17, [payload(64, i)])));
  const open = (i: number): number => {
    const r = fp.espOpen(spi, pkts[i] as Uint8Array);
    return typeof r === 'number' ? r : 0;
  };
  assert.equal(open(9), 0); // seq 10
  assert.equal(open(9), EspVerdict.duplicate);
  assert.equal(open(4), 0); // seq 5 < top, inside the window
  assert.equal(open(4), EspVerdict.duplicate);
  assert.equal(open(199), 0); // seq 200: seq 5 .. 72 now left of the 128 window
  assert.equal(open(5), EspVerdict.tooOld); // seq 6
  assert.equal(open(100), 0); // seq 101 inside
  const bad = Uint8Array.from(pkts[200] as Uint8Array);
  bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
  assert.equal(fp.espOpen(spi, bad), EspVerdict.icv);
  assert.equal(open(200), 0, 'the genuine packet with that sequence number still opens');
  const zero = Uint8Array.from(pkts[201] as Uint8Array);
  zero.set([0, 0, 0, 0], 4);
  assert.equal(fp.espOpen(spi, zero), EspVerdict.zero);
  const [packets, , replay, auth] = fp.espCounters(spi, true) ?? [];
  assert.deepEqual([packets, replay, auth], [5, 4, 1]);
  assert.equal(fp.espOpen(0x9999, pkts[0] as Uint8Array), EspVerdict.unknownSpi);
});

test('NativeEspOffload: takes GCM/CBC in UDP, refuses raw ESP, 3DES and byte lifetimes; one sequence counter per SA', () => {
  const fp = new (loadNative().FastPath)(0);
  const off = new NativeEspOffload(fp);
  const flow = { via: 'ipsec:1', remote: { address: '192.0.2.7', port: 4500 }, encapsulation: 'udp-transport' as const, innerPort: 1701, l2tpPort: 1701, outboundSpi: 0x302 };
  const g = SUITES[0] as Suite;
  assert.equal(off.install({ ...flow, encapsulation: 'transport' }, params(g, 0x301), params(g, 0x302)), undefined);
  assert.match(off.lastRefusal ?? '', /raw ESP/);
  const des: EspSaParams = { spi: 0x301, encryption: '3des-cbc', integrity: 'hmac-sha1-96', encryptionKey: key(24, 1), integrityKey: key(20, 2) };
  assert.equal(off.install(flow, des, des), undefined);
  assert.equal(off.install(flow, { ...params(g, 0x301), byteLimits: { soft: 1, hard: 2 } }, params(g, 0x302)), undefined);
  const pair = off.install(flow, params(g, 0x301), params(g, 0x302));
  assert.ok(pair !== undefined);
  assert.equal(off.flowIdOf('ipsec:1'), 1);
  const js = new EspSa(params(g, 0x302), cryptoRandom);
  const a = pair.outbound.encryptv(payload(40, 1));
  assert.ok(a.ok);
  const joined = Buffer.concat(a.value);
  const j1 = js.encrypt(payload(40, 1));
  assert.ok(j1.ok);
  assert.deepEqual([...joined], [...j1.value], 'sequence 1 from the native SA object');
  assert.equal(fp.espCounters(0x302, false)?.[6], 1, 'the addon holds the counter');
  const b = pair.outbound.encryptv(payload(40, 2));
  assert.ok(b.ok);
  assert.equal(Buffer.concat(b.value).readUInt32BE(4), 2);
  // Inbound through the SA object: a replay comes back as the EspError EspSa would give.
  const jsPeer = new EspSa(params(g, 0x301), cryptoRandom);
  const p1 = jsPeer.encrypt(payload(30, 3));
  assert.ok(p1.ok);
  const o1 = pair.inbound.decrypt(p1.value);
  assert.ok(o1.ok);
  const o2 = pair.inbound.decrypt(p1.value);
  assert.deepEqual(!o2.ok && o2.error, { kind: 'replay', seq: 1, verdict: 'duplicate' });
  assert.equal(pair.inbound.counters.replayDrops, 1);
  off.remove(0x301, 0x302);
  off.removeFlow('ipsec:1');
  assert.equal(off.flowIdOf('ipsec:1'), undefined);
  assert.deepEqual([fp.espStats().inboundSas, fp.espStats().outboundSas, fp.espStats().flows], [0, 0, 0]);
  assert.equal(pair.inbound.counters.replayDrops, 1, 'the last counters stay readable');
});
