/**
 * AF_PACKET sockets through the native addon (native/packet_socket.cc) for PPPoE (RFC 2516 §3):
 * whole Ethernet frames of EtherType 0x8863 and 0x8864 on one interface, optionally one inside a
 * network namespace. Receive is batched like the TUN and raw sockets (one callback per batch of
 * views into a slab, {@link PacketReader}); a VLAN tag the kernel stripped is put back in front of
 * the EtherType (or reported per frame). Frames we send are never received back.
 */
import { closeSync } from 'node:fs';
import { readMac, type MacAddress } from '../wire/pppoe/index.js';
import { loadNative, META_STRIDE, NativeIoError, NativeUnavailableError, toNativeIoError, type NativePacketPort } from './native.js';
import { PacketBatch, PacketReader } from './packet-port.js';
import { checkRange } from './tun.js';

/** What the addon's openPacket() returns. */
interface OpenedPacket {
  readonly fd: number;
  readonly ifindex: number;
  readonly mac: readonly number[];
  readonly mtu: number;
  readonly up: boolean;
}

/** The AF_PACKET part of the addon (ABI 3). */
interface PacketBinding {
  openPacket(ifname: string, netns: string | null, rcvbuf: number): OpenedPacket;
  FramePort: new (fd: number, ifindex: number, maxPackets: number, maxPacketSize: number, reinsertVlan: boolean) => NativePacketPort;
}

function packetBinding(): PacketBinding {
  const native: unknown = loadNative();
  const n = native as Record<string, unknown>;
  if (typeof n['openPacket'] !== 'function' || typeof n['FramePort'] !== 'function') {
    throw new NativeUnavailableError('(loaded addon)', 'no openPacket/FramePort: rebuild the addon (native/packet_socket.cc)');
  }
  // Shape checked above; the interface documents native/packet_socket.cc.
  return native as PacketBinding;
}

/** packet(7) sll_pkttype of a received frame. */
export const PacketType = { host: 0, broadcast: 1, multicast: 2, otherHost: 3, outgoing: 4 } as const;
/** A `PacketType` value. */
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

/** Options for {@link PacketSocket.open}. */
export interface PacketSocketOptions {
  /** The Ethernet interface (a VLAN sub-interface like `eth0.100` serves one VLAN). */
  readonly interface: string;
  /** Network namespace (name under /run/netns, or a path) the interface lives in; needs CAP_SYS_ADMIN. */
  readonly netns?: string;
  /** Most frames per receive batch (1..1024, default 64). */
  readonly maxPackets?: number;
  /** Receive slot size (64..65536, default 2048); larger frames are dropped and counted. */
  readonly maxPacketSize?: number;
  /** SO_RCVBUF in bytes (0 or omitted: kernel default). */
  readonly receiveBufferBytes?: number;
  /** Put a VLAN tag the kernel stripped back into the frame (default true). */
  readonly reinsertVlan?: boolean;
}

/** A batch of received Ethernet frames (views, valid during the callback only). */
export class FrameBatch extends PacketBatch {
  /** How the frame was addressed (packet(7) sll_pkttype). */
  packetType(i: number): number {
    return this.meta[i * META_STRIDE + 2] ?? 0;
  }

  /** A VLAN tag the kernel took off this frame (also when it was put back), or undefined. */
  strippedVlan(i: number): { readonly tpid: number; readonly tci: number } | undefined {
    const v = this.meta[i * META_STRIDE + 3] ?? 0;
    return v === 0 ? undefined : { tpid: v >>> 16, tci: v & 0xffff };
  }
}

/** An AF_PACKET socket bound to one interface for the two PPPoE EtherTypes. */
export class PacketSocket extends PacketReader<FrameBatch> {
  /** Interface name. */
  readonly interfaceName: string;
  /** Network namespace given at open, if any. */
  readonly netns: string | undefined;
  /** Interface index (in its namespace). */
  readonly ifindex: number;
  /** The interface's MAC address: the source of what we send. */
  readonly mac: MacAddress;
  /** The interface MTU at open time (the largest PPPoE packet: RFC 2516 §7, RFC 4638). */
  readonly mtu: number;
  /** Whether the interface was administratively up at open time. */
  readonly wasUp: boolean;
  protected readonly readFailure: { readonly what: string; readonly syscall: string };

  private constructor(opts: PacketSocketOptions, o: OpenedPacket, port: NativePacketPort) {
    super(port, new FrameBatch(port.slab, port.meta));
    this.interfaceName = opts.interface;
    this.netns = opts.netns;
    this.ifindex = o.ifindex;
    this.mac = readMac(Uint8Array.from(o.mac), 0);
    this.mtu = o.mtu;
    this.wasUp = o.up;
    this.readFailure = { what: `AF_PACKET receive on ${opts.interface}`, syscall: 'recvmmsg' };
  }

  /**
   * Open the socket. Throws `NativeUnavailableError` without the addon, `NativeIoError` when the
   * kernel refuses: EPERM without CAP_NET_RAW, ENODEV for a missing interface, ENOENT for a missing
   * namespace, EINVAL for a non-Ethernet interface (the message names the interface and a hint).
   */
  static open(opts: PacketSocketOptions): PacketSocket {
    const native = packetBinding();
    const maxPackets = opts.maxPackets ?? 64;
    const maxPacketSize = opts.maxPacketSize ?? 2048;
    checkRange('maxPackets', maxPackets, 1, 1024);
    checkRange('maxPacketSize', maxPacketSize, 64, 65536);
    let o: OpenedPacket;
    try {
      o = native.openPacket(opts.interface, opts.netns ?? null, opts.receiveBufferBytes ?? 0);
    } catch (e: unknown) {
      throw e instanceof TypeError || e instanceof RangeError ? e : toNativeIoError(e);
    }
    let port: NativePacketPort;
    try {
      port = new native.FramePort(o.fd, o.ifindex, maxPackets, maxPacketSize, opts.reinsertVlan ?? true);
    } catch (e: unknown) {
      closeSync(o.fd);
      throw e;
    }
    return new PacketSocket(opts, o, port);
  }

  /** Frames dropped on receive because they exceeded maxPacketSize. */
  get truncated(): number {
    return this.port.truncated;
  }

  /**
   * Send one whole Ethernet frame; false when the kernel queue was full. A list of 1 to 8 parts
   * (e.g. Ethernet + PPPoE header | PPP frame) is sent as one frame gathered by sendmsg().
   * Throws `NativeIoError` (EMSGSIZE above the MTU, ENETDOWN when the interface is down).
   */
  send(frame: Uint8Array | readonly Uint8Array[]): boolean {
    const single = frame instanceof Uint8Array;
    if (this.isClosed) throw new NativeIoError('AF_PACKET socket is closed', 'EBADF', 9, single ? 'send' : 'sendmsg');
    try {
      return (single ? this.port.write(frame) : this.port.sendToV(frame, 0)) > 0;
    } catch (e: unknown) {
      throw toNativeIoError(e);
    }
  }

  /** Send `count` frames at `offsets[i]`/`lengths[i]` of `buf` with sendmmsg(); returns how many were sent. */
  sendBatch(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number {
    if (this.isClosed) throw new NativeIoError('AF_PACKET socket is closed', 'EBADF', 9, 'sendmmsg');
    try {
      return this.port.writeBatch(buf, offsets, lengths, count);
    } catch (e: unknown) {
      throw e instanceof RangeError ? e : toNativeIoError(e);
    }
  }
}
