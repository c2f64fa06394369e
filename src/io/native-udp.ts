/**
 * An IPv4 UDP socket of the addon (`openUdp`, a `PacketPort` of kind udp): batched `recvmmsg()` reads
 * with one JS callback per batch, `sendto()` writes. It is the L2TP listener socket when the data
 * fast path is on (fast-path.ts): the addon then takes the data of installed sessions before JS sees
 * the batch. `UdpEndpoint` drives it through its `DatagramSocket` surface.
 */
import { closeSync } from 'node:fs';
import { formatIpv4, parseIpv4 } from '../base/index.js';
import { loadNative, NativeIoError, PortKind, toNativeIoError, type NativePacketPort } from './native.js';
import { PacketBatch, PacketReader } from './packet-port.js';

/** What `UdpEndpoint` needs of a datagram socket (node:dgram or the addon's). */
export interface DatagramSocket {
  /** The bound address and port. */
  readonly local: { readonly address: string; readonly port: number };
  /** Send one datagram; failures are reported to `onError` (synchronously or later), never thrown. */
  send(data: Uint8Array, port: number, address: string, onError: (e: Error) => void): void;
  /** Stop receiving and close. */
  close(): Promise<void>;
}

/** Largest datagram read; longer ones are dropped and counted in `truncated`. */
const MAX_DATAGRAM = 16384;
/** Datagrams per recvmmsg() batch. */
const BATCH = 64;
/** Receive (and send) buffer asked of the kernel (SO_RCVBUFFORCE as root). */
const SOCKET_BUFFER = 4 << 20;

/** Peer addresses remembered each way (text <-> number): an LNS talks to few LACs, each datagram would parse or format one. */
const ADDRESS_MEMO = 1024;

/** A bounded text <-> number memo of peer addresses (cleared when full). */
class AddressMemo {
  private readonly numbers = new Map<string, number>();
  private readonly texts = new Map<number, string>();

  /** `parseIpv4(text)`, remembered. */
  parse(text: string): number | undefined {
    let n = this.numbers.get(text);
    if (n === undefined) {
      n = parseIpv4(text);
      if (n === undefined) return undefined;
      if (this.numbers.size >= ADDRESS_MEMO) this.numbers.clear();
      this.numbers.set(text, n);
    }
    return n;
  }

  /** `formatIpv4(n)`, remembered. */
  format(n: number): string {
    let t = this.texts.get(n);
    if (t === undefined) {
      t = formatIpv4(n);
      if (this.texts.size >= ADDRESS_MEMO) this.texts.clear();
      this.texts.set(n, t);
    }
    return t;
  }
}

/** A bound IPv4 UDP socket of the addon. Create with `NativeUdpSocket.open`. */
export class NativeUdpSocket extends PacketReader<PacketBatch> {
  readonly local: { readonly address: string; readonly port: number };
  protected readonly readFailure = { what: 'recvmmsg on the L2TP socket', syscall: 'recvmmsg' };
  private readonly addresses = new AddressMemo();

  private constructor(port: NativePacketPort, address: string, bound: number) {
    super(port, new PacketBatch(port.slab, port.meta));
    this.local = { address, port: bound };
  }

  /**
   * Bind `address:port` (with `reusePort`, SO_REUSEPORT first: the fast path's data threads bind the
   * same port). Throws NativeUnavailableError without the addon, NativeIoError when bind fails.
   */
  static open(address: string, port: number, reusePort = false): NativeUdpSocket {
    const native = loadNative();
    let opened: { fd: number; port: number };
    try {
      opened = native.openUdp(address, port, SOCKET_BUFFER, reusePort);
    } catch (e: unknown) {
      throw e instanceof TypeError || e instanceof RangeError ? e : toNativeIoError(e);
    }
    let p: NativePacketPort;
    try {
      p = new native.PacketPort(opened.fd, PortKind.udp, BATCH, MAX_DATAGRAM);
    } catch (e: unknown) {
      closeSync(opened.fd);
      throw e;
    }
    return new NativeUdpSocket(p, address, opened.port);
  }

  /**
   * `n` more sockets on this one's address and port (SO_REUSEPORT, so this socket must have been opened
   * with `reusePort`), as bare fds for the fast path's data threads (which own and close them).
   */
  openSiblings(n: number): number[] {
    const native = loadNative();
    const fds: number[] = [];
    try {
      for (let i = 0; i < n; i++) fds.push(native.openUdp(this.local.address, this.local.port, SOCKET_BUFFER, true).fd);
    } catch (e: unknown) {
      for (const fd of fds) closeSync(fd);
      throw toNativeIoError(e);
    }
    return fds;
  }

  /** Set the kernel buffers where > 0 (SO_RCVBUFFORCE / SO_SNDBUFFORCE as root) and read them back. */
  buffers(receive = 0, send = 0): { receive: number; send: number } {
    try {
      return loadNative().socketBuffers(this.port.fd, receive, send);
    } catch (e: unknown) {
      throw toNativeIoError(e);
    }
  }

  /** The socket's fd (-1 once closed), e.g. to lend it to a benchmark's C tool while paused. */
  get fd(): number {
    return this.port.fd;
  }

  /** Datagrams dropped because they were longer than the receive slot. */
  get truncated(): number {
    return this.port.truncated;
  }

  /** Receive: `handler(data, address, port)` per datagram (a copy: the slab is reused). */
  onDatagram(handler: (data: Buffer, address: string, port: number) => void): this {
    return this.onPackets((batch) => {
      for (let i = 0; i < batch.count; i++) {
        const m = i * 4;
        handler(batch.copy(i), this.addresses.format(batch.meta[m + 2] ?? 0), batch.meta[m + 3] ?? 0);
      }
    });
  }

  /** Send one datagram; failures (full buffer included) go to `onError`, never thrown. */
  send(data: Uint8Array, port: number, address: string, onError: (e: Error) => void): void {
    const a = this.addresses.parse(address);
    if (this.isClosed || a === undefined) {
      onError(new NativeIoError(this.isClosed ? 'socket is closed' : `not an IPv4 address: ${address}`, this.isClosed ? 'EBADF' : 'EINVAL', 0, 'sendto'));
      return;
    }
    try {
      if (this.port.sendTo(data, a, port) === 0) onError(new NativeIoError('sendto: socket buffer full', 'ENOBUFS', 105, 'sendto'));
    } catch (e: unknown) {
      onError(toNativeIoError(e));
    }
  }

}
