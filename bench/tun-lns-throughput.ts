// Remote-access data plane: packets per second through the LNS's TUN with 1400-byte IP packets,
// against a raw Node UDP echo measured in the same run over the same veth.
//
//   this process (root ns, 198.18.210.1)          namespace (198.18.210.2)
//   PppLoad: 1 tunnel, sessions A and B   L2TP   l2tpd: pool 100.64.8.0/24, TUN l2tp0,
//   A sends UDP 100.64.8.a -> 100.64.8.b ------> ip_forward=1: the kernel routes the packet
//   B counts what comes back             <------ back into the TUN, to session B
// Each packet: client PPP/L2TP/UDP -> our LNS -> TUN write -> kernel forward -> TUN read -> our LNS
// -> L2TP/UDP -> client. Baseline: `node -e` UDP echo server in the same namespace, the client
// here sends 1400-byte payloads over the same veth. Both with at most --window packets in flight
// (a stalled window is reset after 50 ms, the packets counted as lost), --seconds each after a
// warm-up, best of --rounds alternating rounds.
// Needs root. Run: npx tsx bench/tun-lns-throughput.ts [--seconds=3] [--window=64] [--rounds=2]
import dgram from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupAll, trackDir, watchdog } from './lib/cleanup.js';
import { machineLines } from './lib/machine.js';
import { createVethNetns, deleteNetns, isRoot } from './lib/netns.js';
import { fmtNum, fmtRatio, formatTable, numArg } from './lib/table.js';
import { PppLoad, udpPacket } from './lib/ppp-load.js';
import { pps, windowed as windowedFor, type Measured } from './lib/windowed.js';
import { controlRequest, sh, startAccessLns, writeUsers, type AccessLnsDaemon } from './lib/ppp-lns.js';
import { spawnIn, type ManagedProcess } from '../test/interop/lib/process.js';

const SECONDS = numArg('seconds', 3);
const WINDOW = numArg('window', 64);
const ROUNDS = Math.max(1, numArg('rounds', 2));
const SIZE = 1400;
const HOST = '198.18.210.1';
const NSADDR = '198.18.210.2';
const tag = process.pid.toString(36);
const NS = `l2k-tlns-${tag}`;

const windowed = (send: () => boolean, hook: (onReceive: () => void) => void): Promise<Measured> => windowedFor(send, hook, WINDOW, SECONDS);

/** Raw Node UDP echo (server in the namespace), same payload size and window. */
async function udpEcho(): Promise<Measured> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, HOST, r));
  const payload = Buffer.alloc(SIZE, 0xa5);
  try {
    return await windowed(
      () => {
        sock.send(payload, 7007, NSADDR);
        return true;
      },
      (onReceive) => sock.on('message', onReceive),
    );
  } finally {
    sock.close();
  }
}

/** Through the LNS: session A -> TUN -> kernel -> TUN -> session B. */
async function throughLns(load: PppLoad, a: number, b: number): Promise<Measured> {
  const src = load.addressOf(a);
  const dst = load.addressOf(b);
  if (src === undefined || dst === undefined) throw new Error('sessions are not up');
  const pkt = udpPacket(src, dst, 40000, 9, SIZE);
  try {
    return await windowed(
      () => load.sendIp(a, pkt),
      (onReceive) => load.onPacket(b, (p) => p.length === SIZE && onReceive()),
    );
  } finally {
    load.onPacket(b, undefined);
  }
}

async function main(): Promise<void> {
  watchdog(240_000, 'tun-lns-throughput took too long');
  console.log('PPP / remote access: packets/s through the LNS TUN, 1400-byte packets');
  for (const l of machineLines()) console.log(l);
  if (!isRoot()) {
    console.log('\nskipped: needs root (network namespace, veth, TUN). Run as root.');
    console.log('summary: tun-lns-throughput skipped (not root)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'l2k-tlns-'));
  trackDir(dir);
  await createVethNetns(NS, `tl${tag}h`.slice(0, 15), 'eth0', HOST, NSADDR);
  await sh('ip', ['netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
  let echo: ManagedProcess | undefined;
  let lns: AccessLnsDaemon | undefined;
  let load: PppLoad | undefined;
  try {
    echo = spawnIn(
      NS,
      process.execPath,
      ['-e', `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(m,r.port,r.address));s.bind(7007,'${NSADDR}',()=>console.log('ready'))`],
      { name: 'udp echo', lifetimeMs: 200_000 },
    );
    await echo.waitForOutput(/ready/, 10_000);
    const users = join(dir, 'users');
    writeUsers(users, 2);
    lns = await startAccessLns(
      NS,
      dir,
      { socket: join(dir, 'l2tpd.sock'), listen: NSADDR, pool: '100.64.8.0/24', localAddress: '100.64.8.1', usersFile: users, tunName: 'l2tp0', auth: ['chap'], mtu: 1500, echoInterval: 0 },
      200_000,
    );
    load = await PppLoad.open({ address: HOST });
    const tunnels = await load.openTunnels({ address: NSADDR, port: 1701, family: 4 }, 1, 10_000);
    const dial = await load.dial(tunnels, 2, 2, 20_000, (i) => ({ username: `u${i}`, password: `p${i}` }));
    if (dial.up !== 2) throw new Error(`sessions did not come up: ${dial.failures.join('; ')}\n${lns.logTail()}`);
    const base: Measured[] = [];
    const ours: Measured[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      base.push(await udpEcho());
      ours.push(await throughLns(load, 0, 1));
    }
    const best = (ms: Measured[]): Measured | undefined => [...ms].sort((x, y) => (pps(y) ?? 0) - (pps(x) ?? 0))[0];
    const b = best(base);
    const o = best(ours);
    const st = (await controlRequest(lns.socket, { cmd: 'show-sessions' })) as { rxPackets: number; txPackets: number; address?: string }[];
    const mbit = (m: Measured | undefined): number | undefined => (m === undefined ? undefined : (m.received * SIZE * 8) / m.seconds / 1e6);
    const loss = (m: Measured | undefined): string => (m === undefined || m.sent === 0 ? '-' : `${((100 * Math.max(0, m.sent - m.received)) / m.sent).toFixed(2)} %`);
    console.log(`\nwindow ${WINDOW}, ${SECONDS} s per round, best of ${ROUNDS} (all rounds, pkt/s: echo ${base.map((m) => fmtNum(pps(m))).join(', ')}; LNS ${ours.map((m) => fmtNum(pps(m))).join(', ')})\n`);
    console.log(
      formatTable(
        ['path (1400-byte packets)', 'pkt/s', 'Mbit/s', 'lost', 'vs UDP echo'],
        [
          ['raw Node UDP echo (client -> echo server -> client)', fmtNum(pps(b)), fmtNum(mbit(b), 1), loss(b), '1.00x'],
          ['PPP session A -> L2TP -> LNS -> TUN -> kernel -> TUN -> LNS -> L2TP -> session B', fmtNum(pps(o)), fmtNum(mbit(o), 1), loss(o), fmtRatio(pps(o), pps(b))],
        ],
        ['left', 'right', 'right', 'right', 'right'],
      ),
    );
    console.log(`\nLNS session counters: ${st.map((s) => `${s.address ?? '?'} rx ${fmtNum(s.rxPackets)} tx ${fmtNum(s.txPackets)}`).join('; ')}`);
    console.log(`summary: tun-lns-throughput ${fmtNum(pps(o))} pkt/s through the LNS TUN = ${fmtRatio(pps(o), pps(b))} of raw UDP echo (${fmtNum(pps(b))} pkt/s)`);
  } finally {
    await load?.close();
    await lns?.stop();
    await echo?.stop(1000);
    await deleteNetns(NS);
    cleanupAll();
  }
}

await main();
