/**
 * What TUN/TAP devices and raw IP sockets share: a native packet port read in batches (one JS callback per
 * batch), pause/resume, error dispatch, ref/unref and close. The subclasses add opening and sending.
 */
import { type FastPathRole, loadNative, META_STRIDE, type NativeFastPath, NativeIoError, type NativePacketPort, type NativeV3Fast, type V3FastRole } from './native.js';

/**
 * One batch of received packets, a view onto the device's slab. It is reused: its contents are valid only
 * during the callback (copy with {@link PacketBatch.copy} to keep a packet).
 */
export class PacketBatch {
  /** Number of packets in this batch. */
  count = 0;
  /** The whole receive slab; packet i is `buffer.subarray(offset(i), offset(i) + length(i))`. */
  readonly buffer: Buffer;
  /** Per-packet metadata, {@link META_STRIDE} entries per packet. */
  readonly meta: Uint32Array;

  constructor(slab: ArrayBuffer, meta: Uint32Array) {
    this.buffer = Buffer.from(slab);
    this.meta = meta;
  }

  /** Byte offset of packet i in {@link PacketBatch.buffer}. */
  offset(i: number): number {
    return this.meta[i * META_STRIDE] ?? 0;
  }

  /** Length of packet i. */
  length(i: number): number {
    return this.meta[i * META_STRIDE + 1] ?? 0;
  }

  /** Packet i as a Buffer view (no copy; valid during the callback only). */
  packet(i: number): Buffer {
    const o = this.offset(i);
    return this.buffer.subarray(o, o + this.length(i));
  }

  /** Packet i copied into its own Buffer. */
  copy(i: number): Buffer {
    return Buffer.from(this.packet(i));
  }

  /** Iterate the packets as views. */
  *[Symbol.iterator](): IterableIterator<Buffer> {
    for (let i = 0; i < this.count; i++) yield this.packet(i);
  }
}

/** "EACCES" from "EACCES (Permission denied)". */
function codeOf(described: string): string {
  const sp = described.indexOf(' ');
  return sp < 0 ? described : described.slice(0, sp);
}

/** A native packet port read in batches; `B` is the batch view handed to the handler. */
export abstract class PacketReader<B extends PacketBatch> {
  protected readonly port: NativePacketPort;
  protected readonly batch: B;
  private packetHandler: ((batch: B) => void) | undefined;
  private errorHandler: ((e: NativeIoError) => void) | undefined;
  protected isClosed = false;

  protected constructor(port: NativePacketPort, batch: B) {
    this.port = port;
    this.batch = batch;
  }

  /** What a failed read is called in errors, e.g. `read from tun0` (with its syscall name). */
  protected abstract readonly readFailure: { readonly what: string; readonly syscall: string };

  /** Called with every batch before the handler (for counters). */
  protected received(count: number): void {
    void count;
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Register the batch handler and start reading; it runs once per batch (see {@link PacketBatch}). */
  onPackets(handler: (batch: B) => void): this {
    this.packetHandler = handler;
    this.resume();
    return this;
  }

  /** Register the read-error handler; without one a read error is thrown as an uncaught exception. */
  onError(handler: (e: NativeIoError) => void): this {
    this.errorHandler = handler;
    return this;
  }

  /** Stop reading (packets queue in the kernel, then drop). */
  pause(): void {
    if (!this.isClosed) this.port.stop();
  }

  /** Resume reading after pause(). */
  resume(): void {
    if (this.isClosed || this.packetHandler === undefined) return;
    this.port.start((count, errno) => this.dispatch(count, errno));
  }

  private dispatch(count: number, errno: number): void {
    if (errno !== 0) {
      const described = loadNative().errnoName(errno);
      const e = new NativeIoError(`${this.readFailure.what} failed: ${described}`, codeOf(described), errno, this.readFailure.syscall);
      if (this.errorHandler === undefined) throw e;
      this.errorHandler(e);
      return;
    }
    this.batch.count = count;
    this.received(count);
    this.packetHandler?.(this.batch);
  }

  /** errno of the last failed native read or write, 0 if none. */
  get lastErrno(): number {
    return this.port.lastErrno;
  }

  /** Whether an active port keeps the Node process alive (default true). */
  ref(): void {
    if (!this.isClosed) this.port.setRef(true);
  }

  /** Let the process exit even while the port is being read. */
  unref(): void {
    if (!this.isClosed) this.port.setRef(false);
  }

  /** Offer every received packet to the addon's data fast path first (fast-path.ts); null detaches. */
  setFastPath(fp: NativeFastPath | null, role: FastPathRole): void {
    if (!this.isClosed) this.port.setFastPath(fp, role);
  }

  /** Offer every received packet to the addon's L2TPv3 fast path first (v3-fast-path.ts); null detaches. */
  setV3Fast(v3: NativeV3Fast | null, role: V3FastRole, session = 0): void {
    if (!this.isClosed) this.port.setV3Fast(v3, role, session);
  }

  /** Close the port; idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.port.close();
    this.packetHandler = undefined;
  }
}
