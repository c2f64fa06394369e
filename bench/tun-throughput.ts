// Packets/s through a TUN device with 1400-byte IPv4 packets, three ways, in one run:
//   1. native batched reads (TunDevice.onPackets, one JS callback per batch) + writeBatch refills
//   2. baseline: a plain Node fs.read loop on a blocking TUN fd (one threadpool read per packet) + fs.writeSync
//   3. baseline: Node dgram UDP echo over loopback (127.0.0.1), same packet size
// Paths 1 and 2 loop packets through the kernel: JS writes UDP packets 198.18.98.x -> 198.18.98.y into the
// TUN, the kernel (ip_forward=1 inside a private netns) routes them back out of the same TUN, JS reads
// them. A window of in-flight packets keeps the kernel queue (txqueuelen 500) from overflowing.
// Needs root. Run: `npx tsx bench/tun-throughput.ts [--seconds=3] [--window=256]`.
import dgram from 'node:dgram';
import { read, writeSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { loadNative, PortKind } from '../src/io/native.js';
import { runIp, TunDevice } from '../src/io/tun.js';
import { createNetns, deleteNetns, execInNetns, requireTunPrivileges, writeUdp } from '../test/lib/tun-packets.js';

const arg = (name: string, dflt: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? dflt : Number(a.slice(name.length + 3));
};
const SECONDS = arg('seconds', 3);
const WINDOW = arg('window', 256);
const WARMUP_MS = 300;
const PKT = 1400;
const NETNS = `l2k-tunb-${process.pid}`;
const tag = process.pid.toString(36);

/** Result of one measured path. */
interface Measured {
  readonly name: string;
  readonly packets: number;
  readonly seconds: number;
  readonly callbacks: number;
}

const pps = (m: Measured): number => m.packets / m.seconds;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Measure `count()` growth over SECONDS after a warm-up. */
async function measure(
  name: string,
  counters: () => { packets: number; callbacks: number },
): Promise<Measured> {
  await sleep(WARMUP_MS);
  const a = counters();
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const b = counters();
  const seconds = (performance.now() - t0) / 1000;
  return { name, packets: b.packets - a.packets, callbacks: b.callbacks - a.callbacks, seconds };
}

/** Set up a TUN in NETNS: local `addr`/30, kernel forwards traffic for `via`/30 back out of it. */
async function plumb(ifname: string, addr: string, via: string): Promise<void> {
  await runIp(['link', 'set', 'dev', ifname, 'netns', NETNS]);
  await runIp(['-n', NETNS, 'link', 'set', 'dev', ifname, 'mtu', '1500']);
  await runIp(['-n', NETNS, 'addr', 'add', `${addr}/30`, 'dev', ifname]);
  await runIp(['-n', NETNS, 'link', 'set', 'dev', ifname, 'up']);
  await runIp(['-n', NETNS, 'route', 'add', `${via}/30`, 'dev', ifname]);
  const r = await execInNetns(NETNS, 'sysctl', ['-qw', `net.ipv4.conf.${ifname}.send_redirects=0`]);
  if (r.code !== 0) throw new Error(`sysctl failed: ${r.stderr}`);
}

/** 1024 copies of one UDP packet src -> dst, with offsets/lengths for writeBatch. */
function packetSlab(src: string, dst: string): { buf: Buffer; offsets: Uint32Array; lengths: Uint32Array } {
  const n = 1024;
  const buf = Buffer.alloc(n * PKT);
  const offsets = new Uint32Array(n);
  const lengths = new Uint32Array(n).fill(PKT);
  for (let i = 0; i < n; i++) {
    writeUdp(buf, i * PKT, PKT, src, dst, 40000, 9, i);
    offsets[i] = i * PKT;
  }
  return { buf, offsets, lengths };
}

/** Refill the window when the kernel dropped packets (no progress for one tick). */
function stallGuard(progress: () => number, refill: () => void): NodeJS.Timeout {
  let last = -1;
  return setInterval(() => {
    const p = progress();
    if (p === last) refill();
    last = p;
  }, 50);
}

async function benchBatched(): Promise<Measured> {
  const tun = TunDevice.open({ name: `l2kb${tag}a`, maxPackets: 64 });
  await plumb(tun.name, '198.18.98.1', '198.18.98.4');
  const { buf, offsets, lengths } = packetSlab('198.18.98.2', '198.18.98.6');
  let packets = 0;
  let callbacks = 0;
  let running = true;
  tun.onPackets((batch) => {
    callbacks++;
    packets += batch.count;
    if (running) tun.writeBatch(buf, offsets, lengths, batch.count);
  });
  const fill = (): void => {
    tun.writeBatch(buf, offsets, lengths, WINDOW);
  };
  fill();
  const guard = stallGuard(() => packets, fill);
  const m = await measure('native batched reads (TunDevice)', () => ({ packets, callbacks }));
  running = false;
  clearInterval(guard);
  tun.close();
  return m;
}

async function benchFsRead(): Promise<Measured> {
  const native = loadNative();
  const opened = native.openTun(`l2kb${tag}b`, false, true); // blocking fd, as fs.read expects
  // A PacketPort only owns (and finally closes) the fd here; reads and writes are plain node:fs.
  const owner = new native.PacketPort(opened.fd, PortKind.tun, 1, 64);
  await plumb(opened.name, '198.18.98.9', '198.18.98.12');
  const { buf } = packetSlab('198.18.98.10', '198.18.98.14');
  const pkt = buf.subarray(0, PKT);
  const rx = Buffer.alloc(65536);
  let packets = 0;
  let running = true;
  const loop = (): void => {
    read(opened.fd, rx, 0, rx.length, null, (e, n) => {
      if (e !== null || !running) return;
      if (n > 0) {
        packets++;
        writeSync(opened.fd, pkt);
      }
      loop();
    });
  };
  loop();
  const fill = (): void => {
    for (let i = 0; i < WINDOW; i++) writeSync(opened.fd, pkt);
  };
  fill();
  const guard = stallGuard(() => packets, fill);
  const m = await measure('fs.read loop on a TUN fd (baseline)', () => ({ packets, callbacks: packets }));
  running = false;
  clearInterval(guard);
  // The pending threadpool read returns with the next in-flight packet; only then close the fd.
  writeSync(opened.fd, pkt);
  await sleep(50);
  owner.close();
  return m;
}

async function benchUdpEcho(): Promise<Measured> {
  const server = dgram.createSocket('udp4');
  const client = dgram.createSocket('udp4');
  server.on('message', (msg, rinfo) => server.send(msg, rinfo.port, rinfo.address));
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
  const port = server.address().port;
  const payload = Buffer.alloc(PKT - 28); // IPv4 (20) + UDP (8) + payload = 1400
  let echoes = 0;
  client.on('message', () => {
    echoes++;
    client.send(payload, port, '127.0.0.1');
  });
  const fill = (): void => {
    for (let i = 0; i < WINDOW; i++) client.send(payload, port, '127.0.0.1');
  };
  fill();
  const guard = stallGuard(() => echoes, fill);
  // Every echo is two datagrams delivered to JS (server, then client).
  const m = await measure('Node dgram UDP echo on 127.0.0.1 (baseline)', () => ({ packets: echoes * 2, callbacks: echoes * 2 }));
  clearInterval(guard);
  client.close();
  server.close();
  return m;
}

async function main(): Promise<void> {
  requireTunPrivileges();
  await deleteNetns(NETNS);
  await createNetns(NETNS);
  const fwd = await execInNetns(NETNS, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0']);
  if (fwd.code !== 0) throw new Error(`sysctl failed: ${fwd.stderr}`);
  const results: Measured[] = [];
  try {
    results.push(await benchBatched());
    results.push(await benchFsRead());
    results.push(await benchUdpEcho());
  } finally {
    await deleteNetns(NETNS);
  }
  console.log(`\nTUN throughput, ${PKT}-byte packets, window ${WINDOW}, ${SECONDS} s each (packets delivered to JS)`);
  console.log(`  load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} (numbers are noisy on a busy machine)`);
  for (const m of results) {
    const perCb = m.callbacks > 0 ? (m.packets / m.callbacks).toFixed(1) : '-';
    console.log(
      `  ${m.name.padEnd(46)} ${Math.round(pps(m)).toLocaleString('en-US').padStart(10)} pkt/s` +
        `  ${((pps(m) * PKT * 8) / 1e9).toFixed(2)} Gbit/s  ${perCb} pkt/callback`,
    );
  }
  const [batched, fsread, udp] = results;
  if (batched !== undefined && fsread !== undefined && udp !== undefined) {
    console.log(`  ratio batched / fs.read   = ${(pps(batched) / pps(fsread)).toFixed(2)}x`);
    console.log(`  ratio batched / UDP echo  = ${(pps(batched) / pps(udp)).toFixed(2)}x`);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    void deleteNetns(NETNS).finally(() => process.exit(1));
  },
);
