// Frames/s through a static L2TPv3 Ethernet pseudowire (src/io/static-pseudowire.ts), TAP <-> UDP,
// per direction, for 64- and 1500-byte frames, with a raw Node UDP ceiling measured in the same run:
//   encap  : the bench writes frames into a generator TAP; a bridge in netns v3-bench-<pid> floods
//            them out of the pseudowire's TAP; the pseudowire reads, encapsulates and sends UDP to a
//            peer socket on 127.0.0.1, which counts them.
//   decap  : the peer socket sends prebuilt L2TPv3 data messages; the pseudowire decapsulates and
//            writes the frames into its TAP; the bridge floods them to the generator TAP, read here.
//   udp    : Node dgram -> dgram on 127.0.0.1 with a payload of the same size as the encapsulated frame
//            (the ceiling for one datagram per frame in this process).
//   core   : the same run also measures the sans-I/O data path per frame on one core, encapsulate +
//            decapsulate, for a dynamic L2TPv3 pseudowire (L2tpV3Engine binding -> EthernetPseudowire)
//            and for an L2TPv2 session (L2tpEngine sendData -> handleDatagram -> session sink), as the
//            ratio v3 / v2 (bench/lib/core-pair.ts).
// All share the process and the 2-core machine; rounds are interleaved and medians (min-max) are
// printed. Needs root (except --core-only). Run:
//   npx tsx bench/l2tpv3-throughput.ts [--seconds=1] [--rounds=5] [--window=128] [--core-only=1]
import dgram from 'node:dgram';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { StaticPseudowire, type StaticPseudowireSettings } from '../src/io/static-pseudowire.js';
import { runIp, TunDevice } from '../src/io/tun.js';
import { createNetns, deleteNetns, requireTunPrivileges } from '../test/lib/tun-packets.js';
import { fmtNum, formatTable } from './lib/table.js';
import { v2Pair, v3Pair } from './lib/core-pair.js';

const arg = (name: string, dflt: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? dflt : Number(a.slice(name.length + 3));
};
const SECONDS = arg('seconds', 1);
const ROUNDS = arg('rounds', 5);
const WINDOW = arg('window', 128);
const NETNS = `v3-bench-${process.pid}`;
const PW_PORT = 17901;
const PEER_PORT = 17902;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const SETTINGS: StaticPseudowireSettings = {
  encap: 'udp',
  local: '127.0.0.1',
  remote: '127.0.0.1',
  udpSourcePort: PW_PORT,
  udpDestinationPort: PEER_PORT,
  tunnelId: 1,
  peerTunnelId: 2,
  sessionId: 3000,
  peerSessionId: 4000,
  cookie: 'cafef00d',
  peerCookie: '0102030405060708',
  l2specType: 'default',
  tapName: 'v3bpw0',
};

/** A broadcast Ethernet frame of `size` bytes (EtherType 0x88b5, local experimental). */
function frameOf(size: number): Buffer {
  const f = Buffer.alloc(size, 0x5a);
  f.fill(0xff, 0, 6);
  Buffer.from('020000000b01', 'hex').copy(f, 6);
  f.writeUInt16BE(0x88b5, 12);
  return f;
}

/** The data message the peer sends: v3 UDP header, Session ID 3000, our rx cookie, sublayer, frame. */
function dataMessage(frame: Buffer): Buffer {
  return Buffer.concat([Buffer.from('0003000000000bb8' + '0102030405060708' + '00000000', 'hex'), frame]);
}

/** Measure `count()` growth over SECONDS after a short warm-up; returns per-second rate. */
async function rate(count: () => number): Promise<number> {
  await sleep(150);
  const a = count();
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  return (count() - a) / ((performance.now() - t0) / 1000);
}

/** Refill a window when nothing moved for a tick (the kernel dropped some). */
function guard(progress: () => number, refill: () => void): NodeJS.Timeout {
  let last = -1;
  return setInterval(() => {
    const p = progress();
    if (p === last) refill();
    last = p;
  }, 20);
}

interface Rig {
  readonly pw: StaticPseudowire;
  readonly gen: TunDevice;
  readonly peer: dgram.Socket;
}

async function rig(): Promise<Rig> {
  const r = await StaticPseudowire.open(SETTINGS, { configureTap: false });
  if (!r.ok) throw new Error(r.error.join('; '));
  const pw = r.value;
  const gen = TunDevice.open({ mode: 'tap', name: 'v3bgen0', maxPackets: 64 });
  await runIp(['-n', NETNS, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  for (const t of [pw.tap, gen]) {
    await t.moveToNetns(NETNS);
    await runIp(['-n', NETNS, 'link', 'set', t.name, 'mtu', '1500', 'master', 'br0', 'up']);
  }
  await runIp(['-n', NETNS, 'link', 'set', 'br0', 'up']);
  const peer = dgram.createSocket('udp4');
  await new Promise<void>((res) => peer.bind(PEER_PORT, '127.0.0.1', res));
  return { pw, gen, peer };
}

/** TAP -> UDP: frames written into the generator TAP come out of the peer socket. */
async function encap(r: Rig, size: number): Promise<number> {
  const f = frameOf(size);
  const n = WINDOW;
  const slab = Buffer.alloc(n * size);
  const offsets = new Uint32Array(n);
  const lengths = new Uint32Array(n).fill(size);
  for (let i = 0; i < n; i++) {
    f.copy(slab, i * size);
    offsets[i] = i * size;
  }
  let got = 0;
  let pending = 0;
  const onMsg = (): void => {
    got++;
    if (++pending >= 32) {
      r.gen.writeBatch(slab, offsets, lengths, pending);
      pending = 0;
    }
  };
  r.peer.on('message', onMsg);
  r.gen.writeBatch(slab, offsets, lengths, n);
  const g = guard(() => got, () => r.gen.writeBatch(slab, offsets, lengths, n));
  const v = await rate(() => got);
  clearInterval(g);
  r.peer.off('message', onMsg);
  await sleep(50);
  return v;
}

/** UDP -> TAP: data messages from the peer come out of the generator TAP. */
async function decap(r: Rig, size: number): Promise<number> {
  const d = dataMessage(frameOf(size));
  let got = 0;
  const send = (k: number): void => {
    for (let i = 0; i < k; i++) r.peer.send(d, PW_PORT, '127.0.0.1');
  };
  r.gen.onPackets((b) => {
    got += b.count;
    send(b.count);
  });
  send(WINDOW);
  const g = guard(() => got, () => send(WINDOW));
  const v = await rate(() => got);
  clearInterval(g);
  r.gen.onPackets(() => undefined);
  await sleep(50);
  return v;
}

/** Raw ceiling: dgram -> dgram on loopback, same datagram size as an encapsulated frame. */
async function udpCeiling(size: number): Promise<number> {
  const a = dgram.createSocket('udp4');
  const b = dgram.createSocket('udp4');
  await new Promise<void>((res) => a.bind(0, '127.0.0.1', res));
  await new Promise<void>((res) => b.bind(0, '127.0.0.1', res));
  const port = b.address().port;
  const payload = Buffer.alloc(size + 20);
  let got = 0;
  b.on('message', () => {
    got++;
    a.send(payload, port, '127.0.0.1');
  });
  for (let i = 0; i < WINDOW; i++) a.send(payload, port, '127.0.0.1');
  const g = guard(() => got, () => {
    for (let i = 0; i < WINDOW; i++) a.send(payload, port, '127.0.0.1');
  });
  const v = await rate(() => got);
  clearInterval(g);
  a.close();
  b.close();
  return v;
}

/** Frames/s of one sans-I/O pair for about 300 ms (checked: every frame delivered). */
function coreRate(p: { send(f: Uint8Array): void; delivered(): number }, size: number): number {
  const f = new Uint8Array(frameOf(size));
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 300) {
    for (let i = 0; i < 1000; i++) p.send(f);
    n += 1000;
  }
  const dt = (performance.now() - t0) / 1000;
  if (p.delivered() < n) throw new Error(`core pair delivered ${p.delivered()} of ${n}`);
  return n / dt;
}

/** The core comparison: v3 pseudowire vs v2 session, interleaved rounds. */
function coreTable(): void {
  const res = new Map<string, number[]>();
  const add = (k: string, v: number): void => void res.set(k, [...(res.get(k) ?? []), v]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const size of [64, 1500]) {
      const order = round % 2 === 0 ? ['v3', 'v2'] : ['v2', 'v3'];
      for (const which of order) add(`${which} ${size}`, coreRate(which === 'v3' ? v3Pair() : v2Pair(), size));
    }
  }
  const rows: string[][] = [];
  for (const size of [64, 1500]) {
    const v3 = res.get(`v3 ${size}`) ?? [];
    const v2 = res.get(`v2 ${size}`) ?? [];
    rows.push([String(size), fmtNum(median(v3)), range(v3), fmtNum(median(v2)), range(v2), (median(v3) / median(v2)).toFixed(2)]);
  }
  console.log(`\nsans-I/O data path, encapsulate + decapsulate per frame, one core; ${ROUNDS} interleaved rounds of 0.3 s`);
  console.log(formatTable(['frame bytes', 'L2TPv3 frames/s', 'range', 'L2TPv2 frames/s', 'range', 'v3 / v2'], rows, ['right', 'right', 'right', 'right', 'right', 'right']));
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const range = (xs: readonly number[]): string => `${fmtNum(Math.min(...xs))}-${fmtNum(Math.max(...xs))}`;

async function main(): Promise<void> {
  if (arg('core-only', 0) === 1) {
    coreTable();
    return;
  }
  requireTunPrivileges();
  await deleteNetns(NETNS);
  await createNetns(NETNS);
  const results = new Map<string, number[]>();
  const add = (k: string, v: number): void => {
    results.set(k, [...(results.get(k) ?? []), v]);
  };
  let r: Rig | undefined;
  try {
    r = await rig();
    for (let round = 0; round < ROUNDS; round++) {
      for (const size of [64, 1500]) {
        add(`encap ${size}`, await encap(r, size));
        add(`decap ${size}`, await decap(r, size));
        add(`udp ${size}`, await udpCeiling(size));
      }
    }
    const st = r.pw.status();
    console.log(`\nL2TPv3 static pseudowire, UDP, 4/8-byte cookies, default sublayer; ${ROUNDS} interleaved rounds of ${SECONDS} s, window ${WINDOW}`);
    console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}; drops ${JSON.stringify(st.pseudowire.drops)}, tap write errors ${st.transport.tapWriteErrors}`);
    const rows: string[][] = [];
    for (const size of [64, 1500]) {
      const u = median(results.get(`udp ${size}`) ?? []);
      for (const dir of ['encap', 'decap'] as const) {
        const xs = results.get(`${dir} ${size}`) ?? [];
        const m = median(xs);
        rows.push([`${dir === 'encap' ? 'TAP -> UDP' : 'UDP -> TAP'}`, String(size), fmtNum(m), range(xs), fmtNum(u), (m / u).toFixed(2)]);
      }
    }
    console.log(formatTable(['direction', 'frame bytes', 'frames/s (median)', 'range', 'raw UDP ceiling', 'ratio'], rows, ['left', 'right', 'right', 'right', 'right', 'right']));
    coreTable();
  } finally {
    r?.pw.close();
    r?.gen.close();
    r?.peer.close();
    await deleteNetns(NETNS);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
