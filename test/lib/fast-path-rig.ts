// The set-up the fast path's root tests with data threads share: a namespace holding a multi-queue TUN
// with the LNS address, the LNS's native UDP socket on loopback (what it hands to JS to a callback), a
// LAC-side node:dgram socket, and a FastPath wired to both (not started: a test starts it, e.g. with its
// own environment switches, and adds its sessions). `close` undoes it all in order.
import { createSocket, type Socket } from 'node:dgram';
import { FastPathRole, loadNative, type NativeFastPath } from '../../src/io/native.js';
import { NativeUdpSocket } from '../../src/io/native-udp.js';
import { TunDevice } from '../../src/io/tun.js';
import { createNetns, deleteNetns, requireTunPrivileges } from './tun-packets.js';

export interface FastPathRig {
  readonly tun: TunDevice;
  readonly sock: NativeUdpSocket;
  readonly lac: Socket;
  readonly fp: NativeFastPath;
}

export interface FastPathRigOptions {
  readonly netns: string;
  readonly ifname: string;
  /** The LNS's address on the TUN (a /24). */
  readonly lnsAddress: string;
  /** Data threads (TUN queues) to size for. */
  readonly threads: number;
  /** Every datagram the LAC socket receives. */
  readonly onLac: (m: Buffer) => void;
  /** Every datagram the fast path hands to JS on the LNS socket. */
  readonly onJs: (d: Buffer) => void;
}

export async function openFastPathRig(o: FastPathRigOptions): Promise<FastPathRig> {
  requireTunPrivileges();
  await createNetns(o.netns);
  const tun = TunDevice.open({ name: o.ifname, queues: o.threads });
  await tun.moveToNetns(o.netns);
  await tun.configure({ netns: o.netns, address: `${o.lnsAddress}/24`, mtu: 1500, up: true });
  const sock = NativeUdpSocket.open('127.0.0.1', 0, o.threads > 0);
  sock.onDatagram(o.onJs);
  tun.onPackets(() => undefined);
  const lac = createSocket('udp4');
  await new Promise<void>((r) => lac.bind(0, '127.0.0.1', () => r()));
  lac.on('message', o.onLac);
  const fp = new (loadNative().FastPath)(o.threads);
  sock.setFastPath(fp, FastPathRole.udp);
  tun.setFastPath(fp, FastPathRole.tun);
  return { tun, sock, lac, fp };
}

/** Stop the fast path and close what the rig opened (undefined: the set-up failed before it). */
export async function closeFastPathRig(r: FastPathRig | undefined, netns: string): Promise<void> {
  r?.fp.stop();
  r?.lac.close();
  r?.sock.close();
  r?.tun.close();
  await deleteNetns(netns);
}
