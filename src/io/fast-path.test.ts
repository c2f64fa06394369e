// The addon's data fast path with real packets (needs root; FAILS otherwise, like tun.test.ts): a TUN
// moved into namespace nmt-fp-<pid>-<threads> (100.64.90.1/24, 2001:db8:90::1/64), the addon's UDP socket
// and a stand-in LAC on 127.0.0.1, once with the data on the JS thread's ports and once on two native
// data threads (SO_REUSEPORT sockets, TUN queues: then the JS thread's ports must not forward anything
// and the exceptions reach JS through the threads' hand-over). An ICMP echo request sent as L2TP data by the LAC reaches the namespace's kernel without
// JS, and its echo reply comes back out of the TUN as L2TP data with the session's header, again
// without JS; a SYN toward the client is MSS-clamped with a valid checksum. Every exception class
// (control, sequenced, unknown session, wrong peer port, LCP, IPv6, spoofed source, too big, unknown
// destination, removed session) reaches the JS handlers byte for byte. IPv6 of the session's /64 takes
// the same native path both ways; a link-local source goes to JS. Nothing is routed in the host
// namespace: the TUN's addresses exist only inside the test's namespace.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { FAST_SESSION_FIELDS, FastPathRole, loadNative, type NativeFastPath, type NativeFastPathStats } from './native.js';
import { sumRowsByTunnel, tunnelSumsOf } from './fast-path.js';
import { NativeUdpSocket } from './native-udp.js';
import { TunDevice } from './tun.js';
import { createNetns, deleteNetns, echoReplyFor, execInNetns, ICMP_ECHO_REQUEST, internetChecksum, requireTunPrivileges, writeIcmpEcho, writeUdp } from '../../test/lib/tun-packets.js';

const LNS = '100.64.90.1';
const LNS6 = '2001:db8:90::1';
/** The client's /64 (2001:db8:90::/64) as the two host-order words add() takes, and one address in it. */
const P64 = [0x20010db8, 0x00900000] as const;
const CLIENT6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const CLIENT = '100.64.90.2';
const CLIENT_N = 0x64405a02;
/** Our ids (in the LAC's data messages) and the LAC's (in ours). */
const OUR_T = 9;
const OUR_S = 11;
const HDR = [0x00, 0x02, 0x00, 0x05, 0x00, 0x07, 0xff, 0x03, 0x00, 0x21];
const PPP_IP = [0xff, 0x03, 0x00, 0x21];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** An L2TP data message to our session: `flags` word, then tunnel/session, then `rest`. */
function l2tp(rest: readonly number[] | Uint8Array, opts: { flags?: number; session?: number; extra?: readonly number[] } = {}): Buffer {
  const f = opts.flags ?? 0x0002;
  return Buffer.from([f >> 8, f & 0xff, ...(opts.extra ?? []), 0, OUR_T, 0, opts.session ?? OUR_S, ...rest]);
}

function echoRequest(src: string, seq: number, size = 84): Buffer {
  const b = Buffer.alloc(size);
  writeIcmpEcho(b, 0, size, ICMP_ECHO_REQUEST, src, LNS, 0x4242, seq);
  return b;
}

/** TCP checksum over the pseudo header (RFC 793 §3.1) of an IPv4 packet: 0 when valid. */
function tcpChecksumOk(ip: Buffer): boolean {
  const ihl = (ip[0]! & 0x0f) * 4;
  const len = ip.readUInt16BE(2) - ihl;
  const pseudo = Buffer.alloc(12 + len);
  ip.copy(pseudo, 0, 12, 20);
  pseudo[9] = 6;
  pseudo.writeUInt16BE(len, 10);
  ip.copy(pseudo, 12, ihl, ihl + len);
  return internetChecksum(pseudo, 0, pseudo.length) === 0;
}

/** The MSS option of a TCP SYN in an IPv4 packet, or undefined. */
function mssOf(ip: Buffer): number | undefined {
  const t = (ip[0]! & 0x0f) * 4;
  const end = t + (ip[t + 12]! >> 4) * 4;
  for (let p = t + 20; p < end; ) {
    if (ip[p] === 0) return undefined;
    if (ip[p] === 1) {
      p++;
      continue;
    }
    if (ip[p] === 2) return ip.readUInt16BE(p + 2);
    p += ip[p + 1]!;
  }
  return undefined;
}

/** An ICMPv6 echo request (RFC 4443 §4.1) from `src` to LNS6, checksum over the RFC 8200 §8.1 pseudo header. */
function echoRequest6(src: readonly number[], seq: number): Buffer {
  const b = Buffer.alloc(40 + 16);
  b[0] = 0x60;
  b.writeUInt16BE(16, 4);
  b[6] = 58;
  b[7] = 64;
  Buffer.from(src).copy(b, 8);
  Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]).copy(b, 24);
  b[40] = 128;
  b.writeUInt16BE(0x4242, 44);
  b.writeUInt16BE(seq, 46);
  const pseudo = Buffer.alloc(40 + 16);
  b.copy(pseudo, 0, 8, 40);
  pseudo.writeUInt32BE(16, 32);
  pseudo[39] = 58;
  b.copy(pseudo, 40, 40);
  b.writeUInt16BE(internetChecksum(pseudo, 0, pseudo.length), 42);
  return b;
}

for (const threads of [0, 2]) suite(threads);

function suite(threads: number): void {
const NETNS = `nmt-fp-${process.pid}-${threads}`;
const IFNAME = `nmtfp${process.pid.toString(36)}${threads}`;
describe(`native data fast path, ${threads === 0 ? 'on the JS thread' : `${threads} data threads`} (root, namespace nmt-fp-*)`, { timeout: 60_000 }, () => {
  let tun: TunDevice;
  let sock: NativeUdpSocket;
  let lac: Socket;
  let other: Socket;
  let fp: NativeFastPath;
  const jsUdp: Buffer[] = [];
  const jsTun: Buffer[] = [];
  const atLac: Buffer[] = [];

  before(async () => {
    requireTunPrivileges();
    await createNetns(NETNS);
    tun = TunDevice.open({ name: IFNAME, queues: threads });
    await tun.moveToNetns(NETNS);
    await tun.configure({ netns: NETNS, address: `${LNS}/24`, mtu: 1500, up: true });
    await execInNetns(NETNS, 'ip', ['-6', 'addr', 'add', `${LNS6}/64`, 'dev', IFNAME, 'nodad'], 5000);
    sock = NativeUdpSocket.open('127.0.0.1', 0, threads > 0);
    sock.onDatagram((d) => jsUdp.push(d));
    tun.onPackets((b) => {
      for (let i = 0; i < b.count; i++) jsTun.push(b.copy(i));
    });
    const bindLoop = async (s: Socket): Promise<void> => new Promise((r) => s.bind(0, '127.0.0.1', () => r()));
    lac = createSocket('udp4');
    other = createSocket('udp4');
    await bindLoop(lac);
    await bindLoop(other);
    lac.on('message', (m) => atLac.push(m));
    fp = new (loadNative().FastPath)(threads);
    sock.setFastPath(fp, FastPathRole.udp);
    tun.setFastPath(fp, FastPathRole.tun);
    if (threads > 0) assert.equal(fp.start(sock.openSiblings(threads), tun.takeQueues()), threads);
    assert.equal(fp.add(OUR_T, OUR_S, 0x7f000001, lac.address().port, CLIENT_N, 1400, 1360, Uint8Array.from(HDR), P64[0], P64[1], 1340), true);
  });

  /** With threads, the JS thread's ports forwarded nothing (the steering sends data to the threads). */
  const jsThreadIdle = (st: NativeFastPathStats): void => {
    if (threads === 0) return;
    assert.equal(st.threads, threads);
    assert.equal(st.udpSteering, 'cbpf-session');
    assert.equal(st.perThread[0]?.udpFast, 0, 'no datagram forwarded on the JS thread');
    if (st.tunSteering === 'ebpf-destination') assert.equal(st.perThread[0]?.tunFast, 0, 'no TUN packet forwarded on the JS thread');
  };

  after(async () => {
    lac?.close();
    other?.close();
    sock?.close();
    tun?.close();
    await deleteNetns(NETNS);
  });

  const send = (s: Socket, b: Buffer): Promise<void> => new Promise((r) => s.send(b, sock.local.port, '127.0.0.1', () => r()));

  it('L2TP data -> TUN and the echo reply TUN -> L2TP, both natively; the header is the session\'s', async () => {
    const req = echoRequest(CLIENT, 1);
    await send(lac, l2tp([...PPP_IP, ...req]));
    await waitFor(() => atLac.length >= 1, 3000, 'the echo reply as L2TP');
    const got = atLac.shift()!;
    assert.deepEqual([...got.subarray(0, HDR.length)], HDR, 'L2TP (peer ids) + PPP header');
    const reply = got.subarray(HDR.length);
    const want = echoReplyFor(req);
    assert.deepEqual([...reply.subarray(12, 20)], [...want.subarray(12, 20)], 'addresses swapped');
    assert.deepEqual([...reply.subarray(20)], [...want.subarray(20)], 'the ICMP echo reply the JS path would carry');
    // ACFC + PFC (a bare 0x21) is IPv4 too.
    await send(lac, l2tp([0x21, ...echoRequest(CLIENT, 2)]));
    await waitFor(() => atLac.length >= 1, 3000, 'the second reply');
    atLac.length = 0;
    assert.equal(jsUdp.length, 0, 'no datagram reached JS');
    // (IPv6 router/multicast listener solicitations of the fresh interface do reach JS: not IPv4.)
    assert.equal(jsTun.filter((p) => p[0]! >> 4 === 4).length, 0, 'no IPv4 TUN packet reached JS');
    const st = fp.stats();
    assert.equal(st.udpFast, 2);
    assert.equal(st.tunFast, 2);
    jsThreadIdle(st);
    assert.deepEqual(fp.take(OUR_T, OUR_S), [2, 168, 2, 168]);
    assert.deepEqual(fp.take(OUR_T, OUR_S), [0, 0, 0, 0], 'take zeroes');
    assert.deepEqual(fp.counters(OUR_T, OUR_S)?.slice(0, 4), [2, 168, 2, 168], 'counters are totals');
  });

  it('IPv6 of the session\'s /64 both ways natively (PPP 0x0057, RFC 5072); the header carries 0x0057', async () => {
    const before = fp.counters(OUR_T, OUR_S) ?? [];
    await send(lac, l2tp([0xff, 0x03, 0x00, 0x57, ...echoRequest6(CLIENT6, 1)]));
    await waitFor(() => atLac.length >= 1, 3000, 'the ICMPv6 echo reply as L2TP');
    const got = atLac.shift()!;
    assert.deepEqual([...got.subarray(0, HDR.length)], [...HDR.slice(0, -1), 0x57], 'L2TP + PPP header for IPv6');
    const reply = got.subarray(HDR.length);
    assert.equal(reply[0]! >> 4, 6);
    assert.equal(reply[40], 129, 'an echo reply');
    assert.deepEqual([...reply.subarray(24, 40)], CLIENT6, 'toward the client');
    assert.equal(jsUdp.length, 0, 'no datagram reached JS');
    const after = fp.counters(OUR_T, OUR_S) ?? [];
    assert.equal((after[0] ?? 0) - (before[0] ?? 0), 1);
    assert.equal((after[2] ?? 0) - (before[2] ?? 0), 1);
    jsThreadIdle(fp.stats());
    fp.take(OUR_T, OUR_S);
  });

  it('takeAll: one native call gives the take() of every session that moved; tunnelSums = sessions() summed per tunnel', async () => {
    // A second, idle session on another tunnel (its client address differs).
    assert.equal(fp.add(OUR_T + 1, 5, 0x7f000001, lac.address().port, CLIENT_N + 1, 1400, 1360, Uint8Array.from(HDR)), true);
    try {
      atLac.length = 0;
      await send(lac, l2tp([...PPP_IP, ...echoRequest(CLIENT, 21)]));
      await waitFor(() => atLac.length >= 1, 3000, 'one native round trip');
      atLac.length = 0;
      assert.deepEqual([...(fp.takeAll?.() ?? [])], [OUR_T, OUR_S, 1, 84, 1, 84], 'only the session that moved, its deltas');
      assert.equal(fp.takeAll?.().length, 0, 'the baselines moved');
      assert.deepEqual(fp.take(OUR_T, OUR_S), [0, 0, 0, 0], 'take and takeAll share the baseline');
      const sums = tunnelSumsOf(fp.tunnelSums?.() ?? new Float64Array(0));
      assert.deepEqual([...sums.keys()].sort((x, y) => x - y), [OUR_T, OUR_T + 1]);
      assert.deepEqual(sums, sumRowsByTunnel(fp.sessions()), 'the same sums and tunnel order as the rows give');
      assert.deepEqual([...(sums.get(OUR_T) ?? [])], fp.counters(OUR_T, OUR_S));
      assert.deepEqual([...(sums.get(OUR_T + 1) ?? [])], FAST_SESSION_FIELDS.map(() => 0));
      // The same walk a slice of hash buckets at a time (the scrape spreads it over turns): every session once.
      const buckets = fp.tableBuckets?.() ?? 0;
      assert.ok(buckets >= 2, `buckets ${buckets}`);
      await send(lac, l2tp([...PPP_IP, ...echoRequest(CLIENT, 22)]));
      await waitFor(() => atLac.length >= 1, 3000, 'another native round trip');
      const sliced: number[] = [];
      const bySlice = new Map<number, Float64Array>();
      for (let b = 0; b < buckets; b++) {
        sliced.push(...(fp.takeAll?.(b, 1) ?? []));
        for (const [t, v] of tunnelSumsOf(fp.tunnelSums?.(b, 1) ?? new Float64Array(0))) bySlice.set(t, v);
      }
      assert.deepEqual(sliced, [OUR_T, OUR_S, 1, 84, 1, 84], 'bucket by bucket: the moved session once');
      assert.deepEqual(bySlice, sumRowsByTunnel(fp.sessions()));
      assert.equal(fp.takeAll?.(buckets, 5).length, 0, 'past the last bucket: nothing');
    } finally {
      fp.remove(OUR_T + 1, 5);
    }
  });

  it('a SYN toward the client is MSS-clamped natively with a valid TCP checksum', async () => {
    // The namespace's kernel opens a TCP connection to the client: SYN with MSS 1460 (MTU 1500) into the TUN.
    // (timeout 0.3 s: the socket is gone before the kernel's first SYN retransmission at 1 s.)
    void execInNetns(NETNS, 'timeout', ['0.3', 'bash', '-c', `exec 3<>/dev/tcp/${CLIENT}/80`], 5000);
    await waitFor(() => atLac.some((m) => m[HDR.length + 9] === 6), 4000, 'the SYN as L2TP');
    const syn = atLac.find((m) => m[HDR.length + 9] === 6)!.subarray(HDR.length);
    assert.equal(mssOf(Buffer.from(syn)), 1360);
    assert.ok(tcpChecksumOk(Buffer.from(syn)), 'checksum fixed (RFC 1624)');
    assert.ok(fp.stats().mssClamped >= 1);
    atLac.length = 0;
  });

  it('every exception reaches JS unchanged', async () => {
    const spoofed = echoRequest('100.64.90.3', 3);
    const v6 = Buffer.alloc(40);
    v6[0] = 0x60;
    v6[8] = 0xfe;
    v6[9] = 0x80;
    const cases: [string, Buffer, Socket][] = [
      ['control (T bit)', Buffer.from([0xc8, 0x02, 0, 12, 0, OUR_T, 0, 0, 0, 0, 0, 0]), lac],
      ['sequenced data (S bit)', l2tp([0, 1, 0, 0, ...PPP_IP, ...echoRequest(CLIENT, 4)], { flags: 0x0802 }), lac],
      ['offset (O bit)', l2tp([0, 0, ...PPP_IP, ...echoRequest(CLIENT, 5)], { flags: 0x0202 }), lac],
      ['unknown session', l2tp([...PPP_IP, ...echoRequest(CLIENT, 6)], { session: 12 }), lac],
      ['LCP Echo-Request', l2tp([0xff, 0x03, 0xc0, 0x21, 9, 1, 0, 8, 0, 0, 0, 0]), lac],
      ['IPv6 from a link-local source', l2tp([0xff, 0x03, 0x00, 0x57, ...v6]), lac],
      ['IPv6 from outside the /64', l2tp([0xff, 0x03, 0x00, 0x57, ...echoRequest6([0x20, 0x01, 0x0d, 0xb8, 0, 0x91, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 2)]), lac],
      ['spoofed IPv4 source', l2tp([...PPP_IP, ...spoofed]), lac],
      ['another peer port', l2tp([...PPP_IP, ...echoRequest(CLIENT, 7)]), other],
    ];
    for (const [what, b, from] of cases) {
      jsUdp.length = 0;
      await send(from, b);
      await waitFor(() => jsUdp.length >= 1, 3000, what);
      assert.deepEqual([...jsUdp[0]!], [...b], `${what}: unchanged in JS`);
    }
    assert.equal(atLac.length, 0, 'nothing was forwarded for them');
    // TUN side: above the client's MTU (1400), and toward an address with no session.
    const udp = Buffer.alloc(1500);
    writeUdp(udp, 0, 1500, LNS, CLIENT, 5000, 9);
    void execInNetns(NETNS, 'ping', ['-c', '1', '-W', '1', '-M', 'dont', '-s', '1472', CLIENT], 3000);
    await waitFor(() => jsTun.some((p) => p.length === 1500), 3000, 'the 1500-byte packet in JS');
    void execInNetns(NETNS, 'ping', ['-c', '1', '-W', '1', '100.64.90.77'], 3000);
    await waitFor(() => jsTun.some((p) => p.subarray(16, 20).equals(Buffer.from([100, 64, 90, 77]))), 3000, 'the unknown destination in JS');
    assert.ok(fp.stats().tooBig >= 1);
    assert.equal(atLac.length, 0);
    const c = fp.counters(OUR_T, OUR_S) ?? [];
    assert.ok((c[4] ?? 0) >= 2, 'the spoofed sources counted per session (badSource)');
    assert.ok((c[5] ?? 0) >= 1, 'too big counted per session');
    assert.ok((c[6] ?? 0) >= 2, 'LCP and link-local IPv6 counted per session (other)');
    assert.equal(fp.stats().handoffDrops, 0);
  });

  it('after remove the session\'s data goes to JS; remove returns the last counters', async () => {
    await sleep(300); // the connect of the SYN test is over
    fp.take(OUR_T, OUR_S);
    atLac.length = 0;
    await send(lac, l2tp([...PPP_IP, ...echoRequest(CLIENT, 8)]));
    await waitFor(() => atLac.length >= 1, 3000, 'one more native round trip');
    assert.deepEqual(fp.remove(OUR_T, OUR_S), [1, 84, 1, 84]);
    assert.equal(fp.remove(OUR_T, OUR_S), undefined);
    jsUdp.length = 0;
    const b = l2tp([...PPP_IP, ...echoRequest(CLIENT, 9)]);
    await send(lac, b);
    await waitFor(() => jsUdp.length >= 1, 3000, 'the datagram in JS');
    assert.deepEqual([...jsUdp[0]!], [...b]);
    fp.stop();
    assert.equal(fp.stats().threads, 0, 'stopped');
    sock.setFastPath(null, FastPathRole.udp);
    tun.setFastPath(null, FastPathRole.tun);
  });
});
}
