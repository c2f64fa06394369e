// The addon's data fast path with real packets (needs root; FAILS otherwise, like tun.test.ts): a TUN
// moved into namespace cn-fp-<pid> (100.64.90.1/24), the addon's UDP socket and a stand-in LAC on
// 127.0.0.1. An ICMP echo request sent as L2TP data by the LAC reaches the namespace's kernel without
// JS, and its echo reply comes back out of the TUN as L2TP data with the session's header, again
// without JS; a SYN toward the client is MSS-clamped with a valid checksum. Every exception class
// (control, sequenced, unknown session, wrong peer port, LCP, IPv6, spoofed source, too big, unknown
// destination, removed session) reaches the JS handlers byte for byte. Nothing is routed in the host
// namespace: the TUN's addresses exist only inside cn-fp-<pid>.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { FastPathRole, loadNative, type NativeFastPath } from './native.js';
import { NativeUdpSocket } from './native-udp.js';
import { TunDevice } from './tun.js';
import { createNetns, deleteNetns, echoReplyFor, execInNetns, ICMP_ECHO_REQUEST, internetChecksum, requireTunPrivileges, writeIcmpEcho, writeUdp } from '../../test/lib/tun-packets.js';

const NETNS = `cn-fp-${process.pid}`;
const IFNAME = `cnfp${process.pid.toString(36)}`;
const LNS = '100.64.90.1';
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

describe('native data fast path (root, namespace cn-fp-*)', { timeout: 60_000 }, () => {
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
    tun = TunDevice.open({ name: IFNAME });
    await tun.moveToNetns(NETNS);
    await tun.configure({ netns: NETNS, address: `${LNS}/24`, mtu: 1500, up: true });
    sock = NativeUdpSocket.open('127.0.0.1', 0);
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
    fp = new (loadNative().FastPath)();
    sock.setFastPath(fp, FastPathRole.udp);
    tun.setFastPath(fp, FastPathRole.tun);
    assert.equal(fp.add(OUR_T, OUR_S, 0x7f000001, lac.address().port, CLIENT_N, 1400, 1360, Uint8Array.from(HDR)), true);
  });

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
    assert.deepEqual(fp.take(OUR_T, OUR_S), [2, 168, 2, 168]);
    assert.deepEqual(fp.take(OUR_T, OUR_S), [0, 0, 0, 0], 'take zeroes');
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
    const cases: [string, Buffer, Socket][] = [
      ['control (T bit)', Buffer.from([0xc8, 0x02, 0, 12, 0, OUR_T, 0, 0, 0, 0, 0, 0]), lac],
      ['sequenced data (S bit)', l2tp([0, 1, 0, 0, ...PPP_IP, ...echoRequest(CLIENT, 4)], { flags: 0x0802 }), lac],
      ['offset (O bit)', l2tp([0, 0, ...PPP_IP, ...echoRequest(CLIENT, 5)], { flags: 0x0202 }), lac],
      ['unknown session', l2tp([...PPP_IP, ...echoRequest(CLIENT, 6)], { session: 12 }), lac],
      ['LCP Echo-Request', l2tp([0xff, 0x03, 0xc0, 0x21, 9, 1, 0, 8, 0, 0, 0, 0]), lac],
      ['IPv6', l2tp([0xff, 0x03, 0x00, 0x57, ...v6]), lac],
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
    sock.setFastPath(null, FastPathRole.udp);
    tun.setFastPath(null, FastPathRole.tun);
  });
});
