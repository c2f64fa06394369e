// The data threads' TUN I/O in batches (native/tun_batch.cc, io_uring) and their UDP GSO runs
// (native/udp_gso.cc) against the per-packet read()/write() and one datagram per message they replace,
// in three settings: the default (TUN writes through the ring, reads by read(), GSO), L2TPKIT_TUN_IO=
// io_uring (the reads through the ring too) and everything forced off (L2TPKIT_TUN_IO=syscall
// L2TPKIT_UDP_GSO=off), with real packets (needs root; FAILS otherwise,
// like tun.test.ts): a TUN in namespace nmt-tio-<pid>-<mode> (100.64.92.1/24), two data threads, a
// stand-in LAC on 127.0.0.1. A burst of ICMP echo requests (two sizes, sequence numbers 1..N) sent as
// L2TP data in one go reaches the namespace's kernel natively and every echo reply comes back out of
// the TUN as L2TP data: all N, in sequence order (order within a session is kept both ways), with the
// session's header, counted per session. With io_uring the burst must have gone through the ring in
// batches of more than one write (stats().tunIoOps > tunIoBatches) and the replies out in GSO runs of
// more than one datagram (udpGsoPackets > udpGsoSends; the sizes change within the burst, so runs end
// on a bigger and on a shorter datagram), so the batched paths are what was tested; with the switches
// forced off there is no ring and no GSO. Nothing is routed in the host namespace.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import type { NativeFastPath } from './native.js';
import type { NativeUdpSocket } from './native-udp.js';
import type { TunDevice } from './tun.js';
import { setTimeout as delay } from 'node:timers/promises';
import { ICMP_ECHO_REQUEST, writeIcmpEcho } from '../../test/lib/tun-packets.js';
import { closeFastPathRig, openFastPathRig, type FastPathRig } from '../../test/lib/fast-path-rig.js';
import { waitFor } from '../../test/lib/l2tpd-process.js';

const LNS = '100.64.92.1';
const CLIENT = '100.64.92.2';
const CLIENT_N = 0x64405c02;
const OUR_T = 21;
const OUR_S = 23;
const HDR = [0x00, 0x02, 0x00, 0x05, 0x00, 0x07, 0xff, 0x03, 0x00, 0x21];
const PPP_IP = [0xff, 0x03, 0x00, 0x21];
const BURST = 120;
const ICMP_ID = 0x4343;

/** Request `seq` of a burst: 84, then 1000, then 300 bytes (all under the session MTU of 1400). */
const sizeOf = (seq: number): number => (seq <= 60 ? 84 : seq <= 116 ? 1000 : 300);

function l2tpEcho(seq: number): Buffer {
  const ip = Buffer.alloc(sizeOf(seq));
  writeIcmpEcho(ip, 0, ip.length, ICMP_ECHO_REQUEST, CLIENT, LNS, ICMP_ID, seq);
  return Buffer.concat([Buffer.from([0x00, 0x02, 0, OUR_T, 0, OUR_S, ...PPP_IP]), ip]);
}

/** Whether this kernel lets a process use io_uring (0 = yes; absent on kernels before 6.6: yes). */
function ioUringAllowed(): boolean {
  try {
    return readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim() === '0';
  } catch {
    return true;
  }
}

type Mode = 'default' | 'io_uring' | 'syscall';
const TITLES: Record<Mode, string> = {
  default: 'the default (TUN writes in io_uring batches, UDP GSO)',
  io_uring: 'reads through the ring too (L2TPKIT_TUN_IO=io_uring)',
  syscall: 'forced to read()/write() and one datagram per message (L2TPKIT_TUN_IO=syscall L2TPKIT_UDP_GSO=off)',
};
for (const mode of ['default', 'io_uring', 'syscall'] as const) suite(mode);

function suite(mode: Mode): void {
  const NETNS = `nmt-tio-${process.pid}-${mode.slice(0, 1)}`;
  const IFNAME = `nmttio${process.pid.toString(36)}${mode.slice(0, 1)}`;
  describe(`fast-path data threads, TUN I/O: ${TITLES[mode]} (root, namespace nmt-tio-*)`, { timeout: 60_000 }, () => {
    let tun: TunDevice;
    let sock: NativeUdpSocket;
    let lac: Socket;
    let fp: NativeFastPath;
    let rig: FastPathRig | undefined;
    const jsUdp: Buffer[] = [];
    const atLac: Buffer[] = [];

    before(async () => {
      rig = await openFastPathRig({ netns: NETNS, ifname: IFNAME, lnsAddress: LNS, threads: 2, onJs: (d) => jsUdp.push(d), onLac: (m) => atLac.push(m) });
      ({ tun, sock, lac, fp } = rig);
      const saved = [process.env['L2TPKIT_TUN_IO'], process.env['L2TPKIT_UDP_GSO']] as const;
      const setEnv = (k: string, v: string | undefined): void => {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      };
      setEnv('L2TPKIT_TUN_IO', mode === 'default' ? undefined : mode);
      setEnv('L2TPKIT_UDP_GSO', mode === 'syscall' ? 'off' : undefined);
      try {
        assert.equal(fp.start(sock.openSiblings(2), tun.takeQueues()), 2);
      } finally {
        setEnv('L2TPKIT_TUN_IO', saved[0]);
        setEnv('L2TPKIT_UDP_GSO', saved[1]);
      }
      assert.equal(fp.add(OUR_T, OUR_S, 0x7f000001, lac.address().port, CLIENT_N, 1400, 0, Uint8Array.from(HDR)), true);
    });

    after(async () => {
      await closeFastPathRig(rig, NETNS);
    });

    it('says which TUN I/O its threads use', () => {
      const st = fp.stats();
      if (mode === 'syscall') assert.equal(st.tunIo, 'syscall');
      else if (ioUringAllowed()) assert.equal(st.tunIo, mode === 'io_uring' ? 'io_uring' : 'io_uring writes');
      else assert.match(st.tunIo ?? '', /^syscall \(/, 'io_uring refused: the per-packet path, with the reason');
      assert.equal(st.udpGso, mode === 'syscall' ? 'off' : 'on');
    });

    it(`a burst of ${BURST} echo requests both ways natively: every reply, in order, counted`, async () => {
      // Up to 3 bursts: with io_uring at least one must have reached a data thread as a multi-packet
      // batch (a burst sent in one event-loop turn nearly always does); order and counts hold for each.
      for (let attempt = 1; attempt <= 3; attempt++) {
        atLac.length = 0;
        const c0 = fp.counters(OUR_T, OUR_S) ?? [];
        const s0 = fp.stats();
        const sends: Promise<void>[] = [];
        for (let seq = 1; seq <= BURST; seq++) {
          const b = l2tpEcho(seq);
          sends.push(new Promise((r) => lac.send(b, sock.local.port, '127.0.0.1', () => r())));
        }
        await Promise.all(sends);
        assert.ok(await waitFor(() => atLac.length >= BURST, 10_000), `${BURST} echo replies as L2TP (got ${atLac.length})`);
        await delay(50);
        assert.equal(atLac.length, BURST, 'no duplicate');
        const seqs = atLac.map((m) => m.readUInt16BE(HDR.length + 26));
        assert.deepEqual(seqs, Array.from({ length: BURST }, (_, i) => i + 1), 'replies in the order of the requests');
        for (const m of atLac) {
          assert.deepEqual([...m.subarray(0, HDR.length)], HDR, 'L2TP (peer ids) + PPP header');
          assert.equal(m.readUInt16BE(HDR.length + 24), ICMP_ID);
          assert.equal(m[HDR.length + 20], 0, 'an echo reply');
          assert.equal(m.length - HDR.length, sizeOf(m.readUInt16BE(HDR.length + 26)));
        }
        const c1 = fp.counters(OUR_T, OUR_S) ?? [];
        let octets = 0;
        for (let seq = 1; seq <= BURST; seq++) octets += sizeOf(seq);
        const d = (i: number): number => (c1[i] ?? 0) - (c0[i] ?? 0);
        assert.deepEqual([d(0), d(1), d(2), d(3)], [BURST, octets, BURST, octets], 'rx and tx packets/octets of the session');
        assert.equal(d(7), 0, 'no TUN write error');
        assert.equal(d(8), 0, 'no send error');
        assert.equal(jsUdp.length, 0, 'no datagram reached JS');
        const s1 = fp.stats();
        const gsoPackets = (s1.udpGsoPackets ?? 0) - (s0.udpGsoPackets ?? 0);
        const gsoSends = (s1.udpGsoSends ?? 0) - (s0.udpGsoSends ?? 0);
        if (mode === 'syscall') {
          assert.deepEqual(s1.tunIoOps, [0, 0], 'no ring');
          assert.equal(s1.udpGsoSends, 0, 'no GSO');
          return;
        }
        const ring = ioUringAllowed();
        const ops = (s1.tunIoOps?.[0] ?? 0) - (s0.tunIoOps?.[0] ?? 0);
        const batches = (s1.tunIoBatches?.[0] ?? 0) - (s0.tunIoBatches?.[0] ?? 0);
        const ringReads = (s1.tunIoOps?.[1] ?? 0) - (s0.tunIoOps?.[1] ?? 0);
        if (ring && mode === 'io_uring') assert.ok(ringReads > 0, 'the replies were read through the ring');
        if (mode === 'default') assert.equal(ringReads, 0, 'the default reads by read()');
        if ((!ring || ops > batches) && gsoPackets > gsoSends) return;
        if (attempt === 3) assert.fail(`no multi-packet batch in 3 bursts: ${ops} TUN writes in ${batches} io_uring_enter calls, ${gsoPackets} datagrams in ${gsoSends} GSO sends`);
      }
    });
  });
}
