// PPPoE discovery handshakes per second through our access concentrator core (src/access/pppoe),
// single-threaded, no sockets: each handshake is PADI -> PADO, PADR (the PADO's cookie copied in)
// -> PADS + session-up, then the client's PADT -> session-down, from a new client MAC every time.
//
// CODEC = the wire work no AC can avoid for the same handshake, measured in the same run: parse the
// PADI, emit a PADO, parse the PADR, emit a PADS, parse the PADT (src/wire/pppoe). The ratio
// OURS / CODEC shows what the core adds on top (two HMAC-SHA256 for the cookie, token buckets,
// session maps, random session ids, events). OURS and CODEC alternate in --slice ms slices (default
// 25), --pairs pairs per round; the table shows the median and range of the slice rates and the
// "paired ratio": the median over every adjacent OURS/CODEC pair, which load from other tenants of
// the machine moves least.
//
// SESSION IN / OUT = session-stage frames per second (64-byte LCP/IP payloads) demultiplexed by
// (MAC, SESSION_ID) to a bound FrameSink, and PPP frames framed with the header written into their
// headroom (`sendSession(..., true)`), over 1000 live sessions.
// Run: npx tsx bench/pppoe-discovery.ts [--rounds=5] [--pairs=16] [--slice=25]
import { seededRandom } from '../src/base/random.js';
import { instant, type Instant } from '../src/base/time.js';
import { PPPOE_HEADROOM, PppoeAccessConcentrator } from '../src/access/pppoe/index.js';
import {
  BROADCAST_MAC, EtherType, PppoeCode, encodeDiscoveryFrame, encodeSessionFrame, parseDiscoveryFrame, type DiscoveryFrame, type MacAddress,
} from '../src/wire/pppoe/index.js';
import { machineLines } from './lib/machine.js';
import { fmtNum, formatTable, numArg } from './lib/table.js';
import { put16 } from '../src/base/index.js';

const ROUNDS = Math.max(1, numArg('rounds', 5));
const PAIRS = Math.max(1, numArg('pairs', 16));
const SLICE_MS = numArg('slice', 25);
const AC_MAC = 0x02ac_0000_0001 as MacAddress;
const FAST = { perSecond: 1e12, burst: 1e12 };

const eth = (destination: MacAddress, source: MacAddress) => ({ destination, source, vlans: [], ethertype: EtherType.pppoeDiscovery });
const frame = (f: DiscoveryFrame): Uint8Array => encodeDiscoveryFrame(f);
const client = (i: number): MacAddress => (0x0200_0000_0000 + (i % 0xffffff)) as MacAddress;
const setMac = (b: Uint8Array, o: number, m: number): void => {
  const hi = Math.floor(m / 0x1_0000_0000);
  const lo = m % 0x1_0000_0000;
  b[o] = hi >>> 8;
  b[o + 1] = hi & 0xff;
  b[o + 2] = lo >>> 24;
  b[o + 3] = (lo >>> 16) & 0xff;
  b[o + 4] = (lo >>> 8) & 0xff;
  b[o + 5] = lo & 0xff;
};

// Templates: pppd's PADI and PADR (Service-Name "", Host-Uniq, the cookie slot) and a PADT.
const HU = Uint8Array.of(0xc5, 0, 0, 0);
const PADI = frame({ ethernet: eth(BROADCAST_MAC, client(0)), packet: { code: PppoeCode.PADI, sessionId: 0, tags: { serviceNames: [''], hostUniq: HU } } });
const PADR = frame({ ethernet: eth(AC_MAC, client(0)), packet: { code: PppoeCode.PADR, sessionId: 0, tags: { serviceNames: [''], hostUniq: HU, acCookie: new Uint8Array(17) } } });
const PADR_COOKIE = PADR.length - 17;
const PADT = frame({ ethernet: eth(AC_MAC, client(0)), packet: { code: PppoeCode.PADT, sessionId: 1, tags: {} } });

function newAc(now: Instant): PppoeAccessConcentrator {
  return new PppoeAccessConcentrator(
    { acName: 'bench-ac', mac: AC_MAC, serviceNames: ['isp-a'], random: seededRandom(1), discoveryRate: FAST, discoveryRatePerMac: FAST, maxSessionsPerMac: 1 },
    now,
  );
}

/** OURS: full handshakes until `ms` passed; returns the count. */
function ours(ac: PppoeAccessConcentrator, start: number, ms: number): number {
  const t0 = performance.now();
  let n = 0;
  const padi = Uint8Array.from(PADI);
  const padr = Uint8Array.from(PADR);
  const padt = Uint8Array.from(PADT);
  const now = instant(1000);
  while (performance.now() - t0 < ms) {
    for (let k = 0; k < 64; k++, n++) {
      const mac = client(start + n);
      setMac(padi, 6, mac);
      ac.handleFrame(now, padi);
      const pado = ac.pollTransmit();
      if (pado === undefined) throw new Error('no PADO');
      // Our PADO ends with AC-Cookie (17) then nothing else when there is no relay id.
      padr.set(pado.subarray(pado.length - 17), PADR_COOKIE);
      setMac(padr, 6, mac);
      ac.handleFrame(now, padr);
      const pads = ac.pollTransmit();
      if (pads === undefined) throw new Error('no PADS');
      setMac(padt, 6, mac);
      padt[16] = pads[16] ?? 0;
      padt[17] = pads[17] ?? 0;
      ac.handleFrame(now, padt);
      ac.pollEvent();
      ac.pollEvent();
    }
  }
  if (ac.sessionCount !== 0) throw new Error(`${ac.sessionCount} sessions left`);
  return n;
}

/** CODEC: the same five packets through the codec only. */
function codec(start: number, ms: number): number {
  const t0 = performance.now();
  let n = 0;
  const padi = Uint8Array.from(PADI);
  const cookie = new Uint8Array(17);
  while (performance.now() - t0 < ms) {
    for (let k = 0; k < 64; k++, n++) {
      const mac = client(start + n);
      setMac(padi, 6, mac);
      const a = parseDiscoveryFrame(padi);
      if (!a.ok) throw new Error('PADI');
      const t = a.value.packet.tags;
      frame({ ethernet: eth(mac, AC_MAC), packet: { code: PppoeCode.PADO, sessionId: 0, tags: { serviceNames: ['', 'isp-a'], acName: 'bench-ac', ...(t.hostUniq ? { hostUniq: t.hostUniq } : {}), acCookie: cookie } } });
      const r = parseDiscoveryFrame(PADR);
      if (!r.ok) throw new Error('PADR');
      frame({ ethernet: eth(mac, AC_MAC), packet: { code: PppoeCode.PADS, sessionId: 7, tags: { serviceNames: ['isp-a'], hostUniq: HU } } });
      if (!parseDiscoveryFrame(PADT).ok) throw new Error('PADT');
    }
  }
  return n;
}

/** Session frames in (demux + sink) and out (headroom framing) per second over `sessions` sessions. */
function sessionPath(sessions: number, ms: number): { inPerS: number; outPerS: number } {
  const ac = newAc(instant(0));
  const ids: number[] = [];
  for (let i = 0; i < sessions; i++) ids.push(ours1(ac, i));
  let delivered = 0;
  for (const id of ids) ac.bindSink(id, { deliver: (f) => void (delivered += f.length) }, instant(0));
  const frames = ids.map((id, i) => encodeSessionFrame({ ethernet: { destination: AC_MAC, source: client(i), vlans: [], ethertype: EtherType.pppoeSession }, sessionId: id, payload: new Uint8Array(64).fill(0x21) }));
  const now = instant(1);
  let t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) for (let k = 0; k < 256; k++, n++) ac.handleFrame(now, frames[n % frames.length] ?? new Uint8Array());
  const inPerS = (n * 1000) / (performance.now() - t0);
  const room = new Uint8Array(PPPOE_HEADROOM + 64);
  const ppp = room.subarray(PPPOE_HEADROOM);
  put16(ppp, 0, 0x0021);
  t0 = performance.now();
  n = 0;
  while (performance.now() - t0 < ms) for (let k = 0; k < 256; k++, n++) if (ac.sendSession(ids[n % ids.length] ?? 0, ppp, true) === undefined) throw new Error('send');
  if (delivered === 0) throw new Error('nothing delivered');
  return { inPerS, outPerS: (n * 1000) / (performance.now() - t0) };
}

/** One handshake without the PADT (the session stays). */
function ours1(ac: PppoeAccessConcentrator, i: number): number {
  const now = instant(0);
  const padi = Uint8Array.from(PADI);
  setMac(padi, 6, client(i));
  ac.handleFrame(now, padi);
  const pado = ac.pollTransmit() ?? new Uint8Array();
  const padr = Uint8Array.from(PADR);
  padr.set(pado.subarray(pado.length - 17), PADR_COOKIE);
  setMac(padr, 6, client(i));
  ac.handleFrame(now, padr);
  const pads = ac.pollTransmit() ?? new Uint8Array();
  ac.pollEvent();
  return ((pads[16] ?? 0) << 8) | (pads[17] ?? 0);
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};
const range = (xs: readonly number[]): string => `${fmtNum(Math.min(...xs))}..${fmtNum(Math.max(...xs))}`;

function main(): void {
  for (const l of machineLines()) console.log(l);
  const ac = newAc(instant(0));
  ours(ac, 0, 100);
  codec(0, 100);
  const o: number[] = [];
  const c: number[] = [];
  const ratio: number[] = [];
  let base = 1_000_000;
  for (let r = 0; r < ROUNDS * PAIRS; r++) {
    const a = (ours(ac, base, SLICE_MS) * 1000) / SLICE_MS;
    base += 1_000_000;
    const b = (codec(base, SLICE_MS) * 1000) / SLICE_MS;
    o.push(a);
    c.push(b);
    ratio.push(a / b);
  }
  const sp = Array.from({ length: ROUNDS }, () => sessionPath(1000, 200));
  console.log(`\n${ROUNDS * PAIRS} pairs of ${SLICE_MS} ms slices, OURS and CODEC alternating; session paths: ${ROUNDS} x 200 ms\n`);
  console.log(
    formatTable(
      ['path', 'median /s', 'range /s', 'paired ratio'],
      [
        ['OURS handshake (PADI..PADS + PADT)', fmtNum(median(o)), range(o), median(ratio).toFixed(2)],
        ['CODEC only (same five packets)', fmtNum(median(c)), range(c), '1.00'],
        ['session frames in (1000 sessions, demux to sink)', fmtNum(median(sp.map((x) => x.inPerS))), range(sp.map((x) => x.inPerS)), ''],
        ['session frames out (headroom framing)', fmtNum(median(sp.map((x) => x.outPerS))), range(sp.map((x) => x.outPerS)), ''],
      ],
      ['left', 'right', 'right', 'right'],
    ),
  );
}

main();
