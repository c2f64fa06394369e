// ESP in the addon's data fast path with real packets (needs root; FAILS otherwise, like tun.test.ts): a TUN
// moved into namespace e16e-<pid>-<threads> (100.64.91.1/24), the addon's NAT-T and L2TP sockets on
// 127.0.0.1, and a stand-in L2TP/IPsec client whose ESP is the JS reference (EspSa, node:crypto) — once
// on the JS thread's ports and once with two native data threads (outbound ESP then sealed on their
// lanes). An ICMP echo request sent as ESP-in-UDP (AES-128-GCM) reaches the namespace's kernel without
// JS, and its echo reply comes back as ESP the client opens, without JS. Every exception class reaches
// the NAT-T socket's JS handler byte for byte: IKE (non-ESP marker), a NAT-T keepalive, an unknown SPI, a
// replayed and a corrupted ESP packet, an L2TP control message, LCP and an unknown session inside ESP,
// ESP from another NAT mapping — and the SA's one authority holds: what the addon handed over opens in
// JS through espOpen (control, LCP: the window had not moved), the replay is refused and counted once.
// DPD liveness (src/gate/offload-liveness.ts) sees the natively opened ESP through the SA counters.
// Clear L2TP data for the IPsec session on the L2TP socket goes to JS, too big packets toward the client
// go to JS, and once the flow is removed the session's data goes to JS and never leaves in the clear.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { EspSa, type EspSaParams } from '../ipsec/index.js';
import { EspVerdict, FastPathRole, loadNative, type NativeFastPath } from './native.js';
import { NativeUdpSocket } from './native-udp.js';
import { NativeEspSa } from './fast-path-esp.js';
import { OffloadLiveness } from '../gate/offload-liveness.js';
import { instant } from '../base/index.js';
import { cryptoRandom } from './random.js';
import { TunDevice } from './tun.js';
import { createNetns, deleteNetns, echoReplyFor, execInNetns, ICMP_ECHO_REQUEST, requireTunPrivileges, writeIcmpEcho } from '../../test/lib/tun-packets.js';

const LNS = '100.64.91.1';
const CLIENT = '100.64.91.2';
const CLIENT_N = 0x64405b02;
const OUR_T = 9;
const OUR_S = 11;
const HDR = [0x00, 0x02, 0x00, 0x05, 0x00, 0x07, 0xff, 0x03, 0x00, 0x21];
const PPP_IP = [0xff, 0x03, 0x00, 0x21];
/** Our inbound SPI (the client seals with it) and our outbound one (the client opens with it). */
const SPI_IN = 0x11110001;
const SPI_OUT = 0x22220002;
const FLOW = 1;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const gcm = (spi: number, seed: number): EspSaParams => ({
  spi, encryption: 'aes-gcm-16', integrity: 'none', encryptionKey: Uint8Array.from({ length: 20 }, (_, i) => (i * 13 + seed) & 0xff), integrityKey: new Uint8Array(0),
});

function l2tp(rest: readonly number[] | Uint8Array, session = OUR_S): Buffer {
  return Buffer.from([0x00, 0x02, 0, OUR_T, 0, session, ...rest]);
}

/** RFC 768 header 1701 -> 1701 (checksum 0, RFC 3948 §3.1.2) in front of an L2TP datagram. */
const udp1701 = (d: Uint8Array): Buffer => {
  const b = Buffer.alloc(8 + d.length);
  b.writeUInt16BE(1701, 0);
  b.writeUInt16BE(1701, 2);
  b.writeUInt16BE(b.length, 4);
  b.set(d, 8);
  return b;
};

function echoRequest(seq: number, size = 84): Buffer {
  const b = Buffer.alloc(size);
  writeIcmpEcho(b, 0, size, ICMP_ECHO_REQUEST, CLIENT, LNS, 0x4343, seq);
  return b;
}

for (const threads of [0, 2]) suite(threads);

function suite(threads: number): void {
  const NETNS = `e16e-${process.pid}-${threads}`;
  const IFNAME = `e16e${process.pid.toString(36)}${threads}`;
  describe(`ESP in the native fast path, ${threads === 0 ? 'on the JS thread' : `${threads} data threads`} (root, namespace e16e-*)`, { timeout: 60_000 }, () => {
    let tun: TunDevice;
    let natt: NativeUdpSocket;
    let l2tpSock: NativeUdpSocket;
    let client: Socket;
    let other: Socket;
    let fp: NativeFastPath;
    const jsEsp: Buffer[] = [];
    const jsL2tp: Buffer[] = [];
    const jsTun: Buffer[] = [];
    const atClient: Buffer[] = [];
    // The client's side of the SA pair: it seals with our inbound SA, opens with our outbound one.
    const seal = new EspSa(gcm(SPI_IN, 1), cryptoRandom);
    const open = new EspSa({ ...gcm(SPI_OUT, 2), replayWindow: 0 }, cryptoRandom);

    before(async () => {
      requireTunPrivileges();
      await createNetns(NETNS);
      tun = TunDevice.open({ name: IFNAME, queues: threads });
      await tun.moveToNetns(NETNS);
      await tun.configure({ netns: NETNS, address: `${LNS}/24`, mtu: 1500, up: true });
      natt = NativeUdpSocket.open('127.0.0.1', 0);
      natt.onDatagram((d) => jsEsp.push(d));
      l2tpSock = NativeUdpSocket.open('127.0.0.1', 0, threads > 0);
      l2tpSock.onDatagram((d) => jsL2tp.push(d));
      tun.onPackets((b) => {
        for (let i = 0; i < b.count; i++) jsTun.push(b.copy(i));
      });
      const bindLoop = async (s: Socket): Promise<void> => new Promise((r) => s.bind(0, '127.0.0.1', () => r()));
      client = createSocket('udp4');
      other = createSocket('udp4');
      await bindLoop(client);
      await bindLoop(other);
      client.on('message', (m) => atClient.push(m));
      fp = new (loadNative().FastPath)(threads);
      l2tpSock.setFastPath(fp, FastPathRole.udp);
      tun.setFastPath(fp, FastPathRole.tun);
      natt.setFastPath(fp, FastPathRole.esp);
      if (threads > 0) assert.equal(fp.start(l2tpSock.openSiblings(threads), tun.takeQueues()), threads);
      const cport = client.address().port;
      fp.espFlow(FLOW, 0, 0x7f000001, cport, 1701, 1701);
      const inb = gcm(SPI_IN, 1);
      const outb = gcm(SPI_OUT, 2);
      assert.equal(fp.espAddSa(SPI_IN, true, 0, inb.encryptionKey, 0, new Uint8Array(0), 128, FLOW), true);
      assert.equal(fp.espAddSa(SPI_OUT, false, 0, outb.encryptionKey, 0, new Uint8Array(0), 0, FLOW), true);
      assert.equal(fp.espFlow(FLOW, SPI_OUT, 0x7f000001, cport, 1701, 1701), true);
      assert.equal(fp.espBindNext(FLOW), true);
      assert.equal(fp.add(OUR_T, OUR_S, 0x7f000001, 1701, CLIENT_N, 1400, 0, Uint8Array.from(HDR)), true);
    });

    after(async () => {
      client?.close();
      other?.close();
      natt?.close();
      l2tpSock?.close();
      tun?.close();
      await deleteNetns(NETNS);
    });

    const toNatt = (s: Socket, b: Uint8Array): Promise<void> => new Promise((r) => s.send(b, natt.local.port, '127.0.0.1', () => r()));
    const esp = (d: Uint8Array): Uint8Array => {
      const r = seal.encrypt(udp1701(d), 17);
      assert.ok(r.ok);
      return r.value;
    };
    let first: Uint8Array | undefined;

    it('ESP-in-UDP data -> TUN and the echo reply TUN -> ESP, both natively', async () => {
      // What DPD reads (src/gate/offload-liveness.ts): the SA's native counter, before and after.
      const liveness = new OffloadLiveness();
      liveness.add(SPI_IN, new NativeEspSa(fp, gcm(SPI_IN, 1), true));
      assert.deepEqual(liveness.scan(instant(0)), [], 'no traffic yet');
      const req = echoRequest(1);
      first = esp(l2tp([...PPP_IP, ...req]));
      await toNatt(client, first);
      await waitFor(() => atClient.length >= 1, 3000, 'the echo reply as ESP');
      const got = atClient.shift() as Buffer;
      assert.equal(got.readUInt32BE(0), SPI_OUT);
      assert.equal(got.readUInt32BE(4), 1, 'sequence number 1 of our outbound SA');
      const o = open.decrypt(got);
      assert.ok(o.ok, `the client cannot open our packet: ${JSON.stringify(!o.ok && o.error)}`);
      const inner = Buffer.from(o.value.payload);
      assert.deepEqual([inner.readUInt16BE(0), inner.readUInt16BE(2), inner.readUInt16BE(4)], [1701, 1701, inner.length], 'UDP 1701 -> 1701, its length');
      assert.deepEqual([...inner.subarray(8, 8 + HDR.length)], HDR, 'L2TP + PPP header');
      const reply = inner.subarray(8 + HDR.length);
      assert.deepEqual([...reply.subarray(20)], [...echoReplyFor(req).subarray(20)], 'the echo reply');
      for (let i = 2; i <= 5; i++) await toNatt(client, esp(l2tp([0x21, ...echoRequest(i)])));
      await waitFor(() => atClient.length >= 4, 3000, 'four more replies');
      atClient.length = 0;
      assert.equal(jsEsp.length, 0, 'no ESP datagram reached JS');
      assert.equal(jsL2tp.length, 0, 'no L2TP datagram reached JS');
      assert.equal(jsTun.filter((p) => p[0]! >> 4 === 4).length, 0, 'no IPv4 TUN packet reached JS');
      const st = fp.espStats();
      assert.equal(st.espInFast, 5);
      assert.equal(st.espOutFast, 5);
      assert.deepEqual(fp.counters(OUR_T, OUR_S)?.slice(0, 4), [5, 5 * 84, 5, 5 * 84]);
      assert.deepEqual(fp.espCounters(SPI_IN, true)?.[6], 5, 'the window top is 5');
      assert.deepEqual(fp.espCounters(SPI_OUT, false)?.[6], 5, 'five sealed');
      assert.deepEqual(liveness.scan(instant(1000)), [SPI_IN], 'DPD sees the peer alive from ESP that never reached JS');
      assert.deepEqual(liveness.scan(instant(2000)), [], 'and silent when nothing more came');
    });

    it('every exception class reaches JS unchanged; the one SA authority opens or refuses it (espOpen)', async () => {
      const corrupt = Uint8Array.from(esp(l2tp([...PPP_IP, ...echoRequest(7)])));
      corrupt[corrupt.length - 3] = (corrupt[corrupt.length - 3] ?? 0) ^ 0x40;
      const unknownSpi = Uint8Array.from(esp(l2tp([...PPP_IP, ...echoRequest(8)])));
      unknownSpi.set([0x0b, 0xad, 0x0b, 0xad], 0);
      const cases: [string, Uint8Array, Socket, 'opens' | number | 'none'][] = [
        ['IKE (non-ESP marker)', Buffer.from([0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]), client, 'none'],
        ['NAT-T keepalive', Buffer.from([0xff]), client, 'none'],
        ['unknown SPI', unknownSpi, client, 'none'],
        ['replayed ESP', first as Uint8Array, client, EspVerdict.duplicate],
        ['ESP with a bad ICV', corrupt, client, EspVerdict.icv],
        ['L2TP control inside ESP', esp(Buffer.from([0xc8, 0x02, 0, 12, 0, OUR_T, 0, 0, 0, 0, 0, 0])), client, 'opens'],
        ['LCP inside ESP', esp(l2tp([0xff, 0x03, 0xc0, 0x21, 9, 1, 0, 8, 0, 0, 0, 0])), client, 'opens'],
        ['unknown session inside ESP', esp(l2tp([...PPP_IP, ...echoRequest(9)], 12)), client, 'opens'],
        ['ESP from another NAT mapping', esp(l2tp([...PPP_IP, ...echoRequest(10)])), other, 'opens'],
      ];
      for (const [what, b, from, verdict] of cases) {
        jsEsp.length = 0;
        await toNatt(from, b);
        await waitFor(() => jsEsp.length >= 1, 3000, what);
        assert.deepEqual([...(jsEsp[0] as Buffer)], [...b], `${what}: unchanged in JS`);
        if (verdict === 'none') continue;
        const r = fp.espOpen(SPI_IN, jsEsp[0] as Buffer);
        if (verdict === 'opens') assert.ok(typeof r !== 'number', `${what}: JS opens it through the addon (${String(r)})`);
        else assert.equal(r, verdict, `${what}: refused by the addon's window / ICV check`);
      }
      assert.equal(atClient.length, 0, 'nothing was answered for them');
      const c = fp.espCounters(SPI_IN, true) ?? [];
      assert.equal(c[2], 1, 'the replay counted once (by espOpen)');
      assert.equal(c[3], 1, 'the bad ICV counted once');
      const st = fp.espStats();
      assert.equal(st.espReplayToJs, 1);
      assert.equal(st.espIcvToJs, 1);
      assert.ok(st.espUnknownSpiToJs >= 1);
      // Clear L2TP data for the IPsec session on the L2TP socket: JS's (which refuses it), never the TUN.
      jsL2tp.length = 0;
      const clear = l2tp([...PPP_IP, ...echoRequest(11)]);
      await new Promise<void>((r) => client.send(clear, l2tpSock.local.port, '127.0.0.1', () => r()));
      await waitFor(() => jsL2tp.length >= 1, 3000, 'clear data in JS');
      assert.deepEqual([...(jsL2tp[0] as Buffer)], [...clear]);
      // Toward the client above its MTU (1400): JS's (ICMP / fragments), not sealed natively.
      void execInNetns(NETNS, 'ping', ['-c', '1', '-W', '1', '-M', 'dont', '-s', '1472', CLIENT], 3000);
      await waitFor(() => jsTun.some((p) => p.length === 1500), 3000, 'the 1500-byte packet in JS');
      assert.equal(atClient.length, 0);
    });

    it('a removed flow: the session\'s data goes to JS both ways and never leaves in the clear', async () => {
      await sleep(200);
      atClient.length = 0;
      jsEsp.length = 0;
      jsTun.length = 0;
      assert.equal(fp.espRemoveFlow(FLOW), true);
      const req = esp(l2tp([...PPP_IP, ...echoRequest(20)]));
      await toNatt(client, req);
      await waitFor(() => jsEsp.length >= 1, 3000, 'ESP of a removed flow in JS');
      void execInNetns(NETNS, 'ping', ['-c', '1', '-W', '1', CLIENT], 3000);
      await waitFor(() => jsTun.some((p) => p[0]! >> 4 === 4 && p.length === 84), 3000, 'the echo request toward the client in JS');
      await sleep(100);
      assert.equal(atClient.length, 0, 'nothing sent, in the clear or otherwise');
      assert.equal(fp.espStats().flows, 0);
    });
  });
}
