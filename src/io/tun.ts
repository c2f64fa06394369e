/**
 * TUN/TAP devices through the native addon: event-driven batched reads (one JS callback per batch of up to
 * `maxPackets` packets, all in one preallocated slab), single and batched writes, and interface
 * configuration through `ip` (child_process.execFile, never a shell).
 */
import { execFile } from 'node:child_process';
import { closeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import {
  loadNative,
  META_STRIDE,
  NativeIoError,
  PortKind,
  toNativeIoError,
  type NativePacketPort,
} from './native.js';
import { PacketBatch, PacketReader } from './packet-port.js';

export { PacketBatch };

/** Layer of the device: `tun` carries IP packets, `tap` Ethernet frames (for L2TPv3 bridging). */
export type TunMode = 'tun' | 'tap';

/** Options for {@link TunDevice.open}. */
export interface TunOpenOptions {
  /** Interface name (at most 15 bytes); omitted or '' lets the kernel choose (tun0, tap0, ...). */
  readonly name?: string;
  /** Default 'tun'. */
  readonly mode?: TunMode;
  /** Most packets read per batch (1..1024, default 64). */
  readonly maxPackets?: number;
  /** Largest packet accepted (64..65536, default 65535); larger ones are truncated by the kernel. */
  readonly maxPacketSize?: number;
  /**
   * More queues (IFF_MULTI_QUEUE, 0..16, default 0) for the data threads of the fast path; they stay
   * detached (no packet goes to them) until a thread attaches one (`takeQueues`).
   */
  readonly queues?: number;
}

/** Interface settings applied by {@link TunDevice.configure}. */
export interface TunConfig {
  /** Local address with prefix, e.g. "198.18.99.1/30" (or IPv6). */
  readonly address?: string;
  /** Point-to-point peer address (`ip addr add ADDR peer PEER`). */
  readonly peer?: string;
  /** Link MTU. */
  readonly mtu?: number;
  /** Bring the link up (true) or down (false). */
  readonly up?: boolean;
  /** Kernel queue toward the reader (`ip link set txqueuelen`; the kernel's TUN default is 500). */
  readonly txqueuelen?: number;
  /** Run the `ip` commands inside this network namespace (`ip -n NS`). */
  readonly netns?: string;
}

/** Receive counters of a device. */
export interface TunStats {
  /** Packets delivered to JS. */
  readonly rxPackets: number;
  /** Bytes delivered to JS. */
  readonly rxBytes: number;
  /** Batch callbacks made. */
  readonly rxBatches: number;
  /** Packets written. */
  readonly txPackets: number;
  /** Packets not written (queue full or error). */
  readonly txDropped: number;
}

/** An `ip` command failed. */
export class IpCommandError extends Error {
  /** Discriminant for callers that switch on errors. */
  readonly kind = 'ip-command' as const;
  constructor(
    /** Arguments given to `ip`. */
    readonly args: readonly string[],
    /** Its standard error, trimmed. */
    readonly stderr: string,
    /** Exit code, or null if it could not run. */
    readonly exitCode: number | null,
  ) {
    super(`ip ${args.join(' ')} failed${exitCode === null ? '' : ` (exit ${exitCode})`}: ${stderr}`);
    this.name = 'IpCommandError';
  }
}

/** Run `ip ARGS` (no shell); rejects with {@link IpCommandError}. Resolves to its standard output. */
export function runIp(args: readonly string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', [...args], { timeout: timeoutMs, encoding: 'utf8' }, (e, stdout, stderr) => {
      if (e === null) {
        resolve(stdout);
        return;
      }
      const code = typeof e.code === 'number' ? e.code : null;
      reject(new IpCommandError(args, (stderr || e.message).trim(), code));
    });
  });
}

const ADDRESS_RE = /^[0-9A-Fa-f:.]+(\/\d{1,3})?$/;
const NETNS_RE = /^[A-Za-z0-9_.-]{1,64}$/;

function checkArg(what: string, v: string, re: RegExp): void {
  if (!re.test(v)) throw new TypeError(`bad ${what}: '${v}'`);
}

/** Throw a RangeError unless `v` is an integer in [lo, hi] (programmer error). */
export function checkRange(what: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${what} must be an integer in ${lo}..${hi}, got ${v}`);
}

/** A TUN or TAP interface owned by this process; it disappears when closed. */
export class TunDevice extends PacketReader<PacketBatch> {
  /** Kernel interface name. */
  readonly name: string;
  /** tun (IP) or tap (Ethernet). */
  readonly mode: TunMode;
  protected readonly readFailure: { readonly what: string; readonly syscall: string };
  private rxPackets = 0;
  private rxBytes = 0;
  private rxBatches = 0;
  private txPackets = 0;
  private txDropped = 0;

  private constructor(name: string, mode: TunMode, port: NativePacketPort) {
    super(port, new PacketBatch(port.slab, port.meta));
    this.name = name;
    this.mode = mode;
    this.readFailure = { what: `read from ${name}`, syscall: 'read' };
  }

  /**
   * Open a device (IFF_NO_PI, non-blocking). Throws `NativeUnavailableError` if the addon is missing and
   * `NativeIoError` if the kernel refuses (e.g. EACCES without CAP_NET_ADMIN, EBUSY for a name in use).
   */
  static open(options: TunOpenOptions = {}): TunDevice {
    const native = loadNative();
    const mode = options.mode ?? 'tun';
    const maxPackets = options.maxPackets ?? 64;
    const maxPacketSize = options.maxPacketSize ?? 65535;
    checkRange('maxPackets', maxPackets, 1, 1024);
    checkRange('maxPacketSize', maxPacketSize, 64, 65536);
    let opened: { fd: number; name: string; queues?: number[] };
    try {
      opened = native.openTun(options.name ?? '', mode === 'tap', false, options.queues ?? 0);
    } catch (e: unknown) {
      // Argument mistakes stay TypeError/RangeError; kernel refusals become NativeIoError.
      throw e instanceof TypeError || e instanceof RangeError ? e : toNativeIoError(e);
    }
    let port: NativePacketPort;
    try {
      port = new native.PacketPort(opened.fd, PortKind.tun, maxPackets, maxPacketSize);
    } catch (e: unknown) {
      closeSync(opened.fd); // the port never took ownership of the fd
      for (const q of opened.queues ?? []) closeSync(q);
      throw e;
    }
    const dev = new TunDevice(opened.name, mode, port);
    dev.extraQueues = opened.queues ?? [];
    return dev;
  }

  /** The detached extra queue fds (`queues`), handed over once: the caller owns (and closes) them. */
  takeQueues(): number[] {
    const q = this.extraQueues;
    this.extraQueues = [];
    return q;
  }

  /** Queue fds not yet taken (closed with the device). */
  private extraQueues: number[] = [];

  /** Close the device and the queues not taken; idempotent. */
  override close(): void {
    for (const q of this.takeQueues()) closeSync(q);
    super.close();
  }

  /** The device fd (-1 once closed). */
  get fd(): number {
    return this.port.fd;
  }

  /** Counters since open. */
  get stats(): TunStats {
    return {
      rxPackets: this.rxPackets,
      rxBytes: this.rxBytes,
      rxBatches: this.rxBatches,
      txPackets: this.txPackets,
      txDropped: this.txDropped,
    };
  }

  protected override received(count: number): void {
    this.rxBatches++;
    this.rxPackets += count;
    const meta = this.batch.meta;
    for (let i = 0; i < count; i++) this.rxBytes += meta[i * META_STRIDE + 1] ?? 0;
  }

  /** Write one packet; false if the kernel queue was full (dropped). Throws `NativeIoError` on other errors. */
  write(packet: Uint8Array): boolean {
    if (this.isClosed) throw new NativeIoError(`${this.name} is closed`, 'EBADF', 9, 'write');
    let n: number;
    try {
      n = this.port.write(packet);
    } catch (e: unknown) {
      this.txDropped++;
      throw toNativeIoError(e);
    }
    if (n === 0) {
      this.txDropped++;
      return false;
    }
    this.txPackets++;
    return true;
  }

  /**
   * Write one packet, never throwing: a full queue or a kernel error is counted in `txDropped`. This is
   * the TUN writer of the data fast path (`TunWriter` in src/access), called once per inbound packet.
   */
  writePacket(packet: Uint8Array): void {
    try {
      this.write(packet);
    } catch {
      // counted in txDropped (a closed device throws before counting: nothing to write to)
    }
  }

  /**
   * Write `count` packets found at `offsets[i]`/`lengths[i]` in `buf` with one native call (one write()
   * each). Returns how many were written; it stops at a full queue and skips packets the kernel rejects.
   */
  writeBatch(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number {
    if (this.isClosed) throw new NativeIoError(`${this.name} is closed`, 'EBADF', 9, 'write');
    const n = this.port.writeBatch(buf, offsets, lengths, count);
    this.txPackets += n;
    this.txDropped += count - n;
    return n;
  }

  /** Write each packet; returns how many were written. */
  writePackets(packets: readonly Uint8Array[]): number {
    let n = 0;
    for (const p of packets) {
      try {
        if (this.write(p)) n++;
      } catch {
        // counted in txDropped; a batch keeps going like writeBatch does
      }
    }
    return n;
  }

  /** Move the interface into network namespace `netns` (`ip link set dev NAME netns NS`); the fd stays valid. */
  async moveToNetns(netns: string, fromNetns?: string): Promise<void> {
    checkArg('netns', netns, NETNS_RE);
    const prefix = fromNetns === undefined ? [] : ['-n', fromNetns];
    await runIp([...prefix, 'link', 'set', 'dev', this.name, 'netns', netns]);
  }

  /**
   * Let the kernel accept packets from this interface whose IPv4 source is one of its own addresses
   * (`net.ipv4.conf.NAME.accept_local = 1`). The access server answers oversized packets with ICMP
   * from the LNS address, which is configured on this very TUN; without this the kernel drops them
   * as martians. Only this interface is touched.
   */
  async acceptLocalSource(netns?: string): Promise<void> {
    if (netns === undefined) {
      await writeFile(`/proc/sys/net/ipv4/conf/${this.name}/accept_local`, '1\n');
      return;
    }
    checkArg('netns', netns, NETNS_RE);
    await runIp(['netns', 'exec', netns, 'sysctl', '-qw', `net.ipv4.conf.${this.name}.accept_local=1`]);
  }

  /** Configure the interface with `ip` (MTU, then address, then link state). */
  async configure(config: TunConfig): Promise<void> {
    const ns: string[] = [];
    if (config.netns !== undefined) {
      checkArg('netns', config.netns, NETNS_RE);
      ns.push('-n', config.netns);
    }
    if (config.mtu !== undefined) {
      if (!Number.isInteger(config.mtu) || config.mtu < 68 || config.mtu > 65535) {
        throw new RangeError(`bad MTU ${config.mtu}`);
      }
      await runIp([...ns, 'link', 'set', 'dev', this.name, 'mtu', String(config.mtu)]);
    }
    if (config.txqueuelen !== undefined) {
      checkRange('txqueuelen', config.txqueuelen, 1, 1_000_000);
      await runIp([...ns, 'link', 'set', 'dev', this.name, 'txqueuelen', String(config.txqueuelen)]);
    }
    if (config.address !== undefined) {
      checkArg('address', config.address, ADDRESS_RE);
      const args = [...ns, 'addr', 'add', config.address];
      if (config.peer !== undefined) {
        checkArg('peer', config.peer, ADDRESS_RE);
        args.push('peer', config.peer);
      }
      await runIp([...args, 'dev', this.name]);
    }
    if (config.up !== undefined) {
      await runIp([...ns, 'link', 'set', 'dev', this.name, config.up ? 'up' : 'down']);
    }
  }

}
