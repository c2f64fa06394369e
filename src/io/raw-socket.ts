/**
 * Raw IPv4 sockets through the native addon, for ESP (IP protocol 50, RFC 4303) and L2TPv3 over IP
 * (protocol 115, RFC 3931 §4.1.1): socket(AF_INET, SOCK_RAW, proto), optional bind, batched receive via
 * recvmmsg() with source addresses, sendto()/sendmmsg(). On receive the kernel includes the IPv4 header;
 * each packet's payload offset (after IHL*4 bytes) is given. On send the kernel builds the IP header.
 */
import { formatIpv4, parseIpv4 } from '../base/index.js';
import { closeSync } from 'node:fs';
import {
  loadNative,
  META_STRIDE,
  NativeIoError,
  PortKind,
  toNativeIoError,
  type NativePacketPort,
} from './native.js';
import { checkRange } from './tun.js';
import { PacketBatch, PacketReader } from './packet-port.js';

/** IANA protocol number of ESP (RFC 4303). */
export const IPPROTO_ESP = 50;
/** IANA protocol number of L2TPv3 over IP (RFC 3931 §4.1.1). */
export const IPPROTO_L2TP = 115;

/** Options for {@link RawIpSocket.open}. */
export interface RawSocketOptions {
  /** IP protocol number, 1..255 (e.g. {@link IPPROTO_ESP}, {@link IPPROTO_L2TP}). */
  readonly protocol: number;
  /** Local IPv4 address to bind (receives only packets sent to it); omitted: all addresses. */
  readonly bindAddress?: string;
  /** Most packets per receive batch (1..1024, default 64). */
  readonly maxPackets?: number;
  /** Receive slot size incl. IP header (64..65536, default 9216); larger packets are dropped and counted. */
  readonly maxPacketSize?: number;
  /** SO_RCVBUF in bytes (0 or omitted: kernel default). */
  readonly receiveBufferBytes?: number;
}

/**
 * A batch of raw IPv4 datagrams: `packet(i)` is the whole datagram including its IPv4 header,
 * `payload(i)` what follows the header. Reused between batches: valid during the callback only.
 */
export class RawPacketBatch extends PacketBatch {
  /** Source address of packet i as a host-order number. */
  sourceNumber(i: number): number {
    return this.meta[i * META_STRIDE + 2] ?? 0;
  }

  /** Source address of packet i, dotted-quad. */
  sourceAddress(i: number): string {
    return formatIpv4(this.sourceNumber(i));
  }

  /** IPv4 header length of packet i (IHL*4, RFC 791 §3.1). */
  headerLength(i: number): number {
    return this.meta[i * META_STRIDE + 3] ?? 0;
  }

  /** Offset of packet i's payload in {@link PacketBatch.buffer}. */
  payloadOffset(i: number): number {
    return this.offset(i) + this.headerLength(i);
  }

  /** Payload length of packet i. */
  payloadLength(i: number): number {
    return this.length(i) - this.headerLength(i);
  }

  /** Payload of packet i as a view (no copy). */
  payload(i: number): Buffer {
    const o = this.payloadOffset(i);
    return this.buffer.subarray(o, o + this.payloadLength(i));
  }
}

/** A raw IPv4 socket for one IP protocol. */
export class RawIpSocket extends PacketReader<RawPacketBatch> {
  /** IP protocol number. */
  readonly protocol: number;
  /** Bound address, if any. */
  readonly bindAddress: string | undefined;
  protected readonly readFailure = { what: 'raw receive', syscall: 'recvmmsg' } as const;

  private constructor(protocol: number, bindAddress: string | undefined, port: NativePacketPort) {
    super(port, new RawPacketBatch(port.slab, port.meta));
    this.protocol = protocol;
    this.bindAddress = bindAddress;
  }

  /**
   * Open the socket. Throws `NativeUnavailableError` if the addon is missing, `NativeIoError` if the
   * kernel refuses (EPERM without CAP_NET_RAW, EADDRNOTAVAIL for a foreign bind address).
   */
  static open(options: RawSocketOptions): RawIpSocket {
    const native = loadNative();
    const maxPackets = options.maxPackets ?? 64;
    const maxPacketSize = options.maxPacketSize ?? 9216;
    checkRange('protocol', options.protocol, 1, 255);
    checkRange('maxPackets', maxPackets, 1, 1024);
    checkRange('maxPacketSize', maxPacketSize, 64, 65536);
    if (options.bindAddress !== undefined && parseIpv4(options.bindAddress) === undefined) {
      throw new TypeError(`not an IPv4 address: '${options.bindAddress}'`);
    }
    let fd: number;
    try {
      fd = native.openRaw(options.protocol, options.bindAddress ?? null, options.receiveBufferBytes ?? 0);
    } catch (e: unknown) {
      // Argument mistakes stay TypeError/RangeError; kernel refusals become NativeIoError.
      throw e instanceof TypeError || e instanceof RangeError ? e : toNativeIoError(e);
    }
    let port: NativePacketPort;
    try {
      port = new native.PacketPort(fd, PortKind.raw, maxPackets, maxPacketSize);
    } catch (e: unknown) {
      closeSync(fd);
      throw e;
    }
    return new RawIpSocket(options.protocol, options.bindAddress, port);
  }

  /** Packets dropped on receive because they exceeded maxPacketSize. */
  get truncated(): number {
    return this.port.truncated;
  }

  /**
   * Send `payload` (no IP header) to `address`; false if the kernel queue was full. Throws
   * `NativeIoError`. A list of 1 to 8 parts (e.g. ESP header | ciphertext | ICV) is sent as one
   * datagram gathered by sendmsg(), without joining them.
   */
  send(payload: Uint8Array | readonly Uint8Array[], address: string): boolean {
    const a = parseIpv4(address);
    if (a === undefined) throw new TypeError(`not an IPv4 address: '${address}'`);
    return this.sendToNumber(payload, a);
  }

  /** Like {@link RawIpSocket.send} with a host-order address number. */
  sendToNumber(payload: Uint8Array | readonly Uint8Array[], address: number): boolean {
    const single = payload instanceof Uint8Array;
    if (this.isClosed) throw new NativeIoError('raw socket is closed', 'EBADF', 9, single ? 'sendto' : 'sendmsg');
    try {
      return (single ? this.port.sendTo(payload, address) : this.port.sendToV(payload, address)) > 0;
    } catch (e: unknown) {
      throw toNativeIoError(e);
    }
  }

  /**
   * Send `count` payloads at `offsets[i]`/`lengths[i]` in `buf` to `addresses[i]` (host-order numbers)
   * with sendmmsg(). Returns how many were sent; stops at a full queue, skips packets the kernel rejects.
   */
  sendBatch(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, addresses: Uint32Array, count: number): number {
    if (this.isClosed) throw new NativeIoError('raw socket is closed', 'EBADF', 9, 'sendmmsg');
    return this.port.sendBatch(buf, offsets, lengths, addresses, count);
  }
}
