// One side of bench/esp-fast-path.ts, run inside its namespace and pinned by the parent (taskset):
//   lns    : the LNS data plane — the addon's FastPath on its TUN (ADDR/24 routed into it), its L2TP socket
//            (:1701) and NAT-T socket (:4500), with two sessions: A plain L2TPv2 from PEER:1701 (client
//            address SRC_A), B inside an ESP-in-UDP AES-128-GCM flow to PEER:4500 (client address SRC_B).
//            Everything runs on the JS thread's ports (lane 0), as the daemon's ESP fast path does.
//   client : the generator's encapsulation — the same addon as an L2TP(/IPsec) client: what its TUN
//            gets toward DST is sent as session A's L2TP data (mode l2tp) or sealed with the SA the LNS
//            opens (mode esp): ESP with increasing sequence numbers, natively, at the rate the TUN feeds.
// Prints "ready" once programmed; exits on SIGTERM (the parent ends it) or after maxSeconds.
// argv: role mode tunName bindAddr peerAddr lnsTunAddr srcA srcB maxSeconds
import { loadNative, FastPathRole } from '../../src/io/native.js';
import { NativeUdpSocket } from '../../src/io/native-udp.js';
import { TunDevice } from '../../src/io/tun.js';
import { parseIpv4 } from '../../src/base/index.js';

const [role, mode, tunName, bind, peer, lnsTun, srcA, srcB, maxS] = process.argv.slice(2);
const ip = (s: string | undefined): number => {
  const n = s === undefined ? undefined : parseIpv4(s);
  if (n === undefined) throw new Error(`bad address ${String(s)}`);
  return n;
};
/** The GCM key + salt both sides use (a bench, not a secret). */
const KEY = Uint8Array.from({ length: 20 }, (_, i) => (i * 29 + 3) & 0xff);
const SPI = 0x4e535001;
const NONE = new Uint8Array(0);
/** L2TP data header with tunnel/session ids + PPP ff 03 00 21 (RFC 2661 §3.1, RFC 1661). */
const header = (t: number, s: number): Uint8Array => Uint8Array.of(0x00, 0x02, t >> 8, t & 0xff, s >> 8, s & 0xff, 0xff, 0x03, 0x00, 0x21);

const native = loadNative();
const fp = new native.FastPath(0);
const tun = TunDevice.open({ name: tunName ?? '' });
const l2tp = NativeUdpSocket.open(bind ?? '', 1701);
const natt = NativeUdpSocket.open(bind ?? '', 4500);
tun.onPackets(() => undefined);
l2tp.onDatagram(() => undefined);
natt.onDatagram(() => undefined);
l2tp.setFastPath(fp, FastPathRole.udp);
tun.setFastPath(fp, FastPathRole.tun);
natt.setFastPath(fp, FastPathRole.esp);
fp.espFlow(1, 0, ip(peer), 4500, 1701, 1701);
if (role === 'lns') {
  fp.espAddSa(SPI, true, 0, KEY, 0, NONE, 128, 1);
  fp.espAddSa(SPI + 1, false, 0, KEY, 0, NONE, 0, 1);
  fp.espFlow(1, SPI + 1, ip(peer), 4500, 1701, 1701);
  fp.add(1, 1, ip(peer), 1701, ip(srcA), 1500, 0, header(1, 1));
  fp.espBindNext(1);
  fp.add(2, 2, ip(peer), 1701, ip(srcB), 1500, 0, header(2, 2));
} else {
  // The client's "session" is the route toward the LNS's TUN address; the header carries the LNS's ids.
  if (mode === 'esp') {
    fp.espAddSa(SPI, false, 0, KEY, 0, NONE, 0, 1);
    fp.espFlow(1, SPI, ip(peer), 4500, 1701, 1701);
    fp.espBindNext(1);
  }
  fp.add(7, 7, ip(peer), 1701, ip(lnsTun), 1500, 0, mode === 'esp' ? header(2, 2) : header(1, 1));
}
// LNS: the pool /24 into the TUN; client: its own address in the same /24 (the source of what it sends).
await tun.configure({ address: `${role === 'lns' ? String(lnsTun) : mode === 'esp' ? String(srcB) : String(srcA)}/24`, mtu: 1500, up: true });
process.stdout.write('ready\n');
const stop = (): void => {
  process.stdout.write(`${JSON.stringify({ stats: fp.stats(), esp: fp.espStats() })}\n`);
  fp.stop();
  natt.close();
  l2tp.close();
  tun.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
// SIGUSR2 (LNS): the inbound SA again, with a fresh replay window — each client run starts at sequence 1
// (its packets would otherwise all be replays, refused as they must be).
process.on('SIGUSR2', () => {
  if (role === 'lns') fp.espAddSa(SPI, true, 0, KEY, 0, NONE, 128, 1);
  process.stdout.write('rekeyed\n');
});
setTimeout(stop, Number(maxS ?? 60) * 1000).unref();
