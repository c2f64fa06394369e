/**
 * Loader for the l2tpkit native addon (`native/l2tpkit_native.cc`, built by `binding.gyp` into
 * `build/Release/l2tpkit_native.node` during `npm ci`). It provides what Node cannot: TUN/TAP devices and
 * raw IPv4 sockets (ESP, L2TPv3-over-IP) with batched, event-driven reads. Loading is lazy and cached; a
 * missing or unloadable addon is a typed {@link NativeUnavailableError} naming the path tried and why.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, parse as parsePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { err, ok, type Result } from '../base/index.js';

/** Kind codes understood by the native `PacketPort` constructor. */
export const PortKind = { tun: 0, raw: 1, udp: 2 } as const;
/** A `PortKind` value. */
export type PortKind = (typeof PortKind)[keyof typeof PortKind];

/** Stride of the per-packet metadata array: [offset, length, sourceAddr (host order), ipHeaderLength | UDP source port]. */
export const META_STRIDE = 4;

/** One fd (TUN/TAP or raw socket) with a libuv poll handle; see native/l2tpkit_native.cc. */
export interface NativePacketPort {
  /** Start (or restart) polling; `cb(count, errno)` runs once per batch of `count` packets. */
  start(cb: (count: number, errno: number) => void): void;
  /** Stop polling (the fd stays open). */
  stop(): void;
  /** Read one batch synchronously; returns the count. */
  readNow(): number;
  /** One packet; bytes written, 0 when the kernel queue is full. */
  write(buf: Uint8Array): number;
  /** One write() per packet; returns the number written. */
  writeBatch(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number;
  /** Raw/UDP socket: send a payload to an IPv4 address (host-order number) and UDP port; bytes, 0 when queue full. */
  sendTo(buf: Uint8Array, addr: number, port?: number): number;
  /** Raw socket: one datagram gathered from 1..8 parts with sendmsg(); bytes, 0 when queue full. */
  sendToV(parts: readonly Uint8Array[], addr: number): number;
  /** Raw socket: sendmmsg() batch; returns the number sent. */
  sendBatch(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, addrs: Uint32Array, count: number): number;
  /** Whether an active poll keeps the Node event loop alive. */
  setRef(ref: boolean): void;
  /** Stop polling and close the fd; idempotent. */
  close(): void;
  /** Offer every received packet to `fp` first (role 0 = the L2TP UDP socket, 1 = the TUN); null detaches. */
  setFastPath(fp: NativeFastPath | null, role?: FastPathRole): void;
  /** Offer every received packet to the L2TPv3 fast path `v3` first (role 0 = its UDP / raw socket, 1 = the TAP of `session`); null detaches. */
  setV3Fast(v3: NativeV3Fast | null, role?: V3FastRole, session?: number): void;
  /** The receive slab (valid during the batch callback only). */
  readonly slab: ArrayBuffer;
  /** Per-packet metadata, {@link META_STRIDE} entries per packet. */
  readonly meta: Uint32Array;
  /** The fd, -1 once closed. */
  readonly fd: number;
  /** errno of the last failed read or write (0 if none). */
  readonly lastErrno: number;
  /** Raw receive: packets dropped because they exceeded maxPacketSize or had a bad IP header. */
  readonly truncated: number;
}

/** Role of a port in a {@link NativeFastPath}. */
export const FastPathRole = { udp: 0, tun: 1, esp: 2 } as const;
/** A `FastPathRole` value. */
export type FastPathRole = (typeof FastPathRole)[keyof typeof FastPathRole];

/** Global counters of a {@link NativeFastPath}. */
export interface NativeFastPathStats {
  readonly sessions: number;
  /** L2TP datagrams written to the TUN natively / handed to JS. */
  readonly udpFast: number;
  readonly udpToJs: number;
  /** TUN packets sent as L2TP natively / handed to JS. */
  readonly tunFast: number;
  readonly tunToJs: number;
  readonly tunWriteErrors: number;
  readonly sendErrors: number;
  readonly mssClamped: number;
  /** Data of an installed session from a source other than its address (handed to JS). */
  readonly badSource: number;
  /** Packets toward a client above its MTU (handed to JS). */
  readonly tooBig: number;
  /** Packets a data thread could not hand to JS (its queue was full). */
  readonly handoffDrops: number;
  /** Data threads running (0 = the data moves on the JS thread's ports). */
  readonly threads: number;
  /** The same counters per thread: [0] = the JS thread's ports, [i] = data thread i. */
  readonly perThread: readonly Omit<NativeFastPathStats, 'sessions' | 'threads' | 'perThread' | 'udpSteering' | 'tunSteering' | 'tunIo' | 'tunIoBatches' | 'tunIoOps' | 'udpGso' | 'udpGsoSends' | 'udpGsoPackets'>[];
  /** How datagrams / TUN packets are spread over the threads ('none' without threads). */
  readonly udpSteering: string;
  readonly tunSteering: string;
  /** LCP keepalive offload (src/io/fast-path.ts adds it when on). */
  readonly keepalive?: NativeKeepaliveStats;
  /**
   * How the data threads do their TUN I/O: 'io_uring writes' (the default: a recvmmsg batch's TUN
   * writes per io_uring_enter, native/tun_batch.cc; reads by read()), 'io_uring' (reads too:
   * L2TPKIT_TUN_IO=io_uring), 'syscall' (one read()/write() per packet: L2TPKIT_TUN_IO=syscall),
   * 'syscall (why)' when io_uring was refused, 'none' without threads. Absent from an older addon.
   */
  readonly tunIo?: string;
  /** io_uring_enter calls of the data threads' TUN rings [writes, reads] (a lone write goes by write(): not counted). */
  readonly tunIoBatches?: readonly [number, number];
  /** The ops they carried [writes, reads] (reads include those that found the queue empty). */
  readonly tunIoOps?: readonly [number, number];
  /** Whether the data threads send runs of one session's equal-size datagrams as UDP GSO ('off': L2TPKIT_UDP_GSO=off or refused; 'none' without threads). */
  readonly udpGso?: string;
  /** GSO sends of the data threads and the datagrams they carried. */
  readonly udpGsoSends?: number;
  readonly udpGsoPackets?: number;
}

/** Fields of one row of {@link NativeFastPath.counters}, in order. */
export const FAST_SESSION_FIELDS = ['rxPackets', 'rxOctets', 'txPackets', 'txOctets', 'badSource', 'tooBig', 'toJs', 'tunWriteErrors', 'sendErrors'] as const;

/** The addon's L2TPv2 data fast path (native/fast_path.cc): a session table; ports attach with setFastPath. */
export interface NativeFastPath {
  /**
   * Install a session, or update one with the same ids in place (its counters stay): addresses host
   * order (clientAddr 0 = no IPv4), header = L2TP data header + PPP header for IPv4; the /64 as two
   * host-order words and the IPv6 MSS clamp when IPV6CP is up.
   */
  add(tunnel: number, session: number, peerAddr: number, peerPort: number, clientAddr: number, mtu: number, mss: number, header: Uint8Array, prefixHi?: number, prefixLo?: number, mss6?: number): boolean;
  /** Remove: [rxPackets, rxOctets, txPackets, txOctets] since the last take, undefined if absent. */
  remove(tunnel: number, session: number): [number, number, number, number] | undefined;
  /** The counters since the last take (then zeroed), undefined if absent. */
  take(tunnel: number, session: number): [number, number, number, number] | undefined;
  /** Totals since install over every thread, {@link FAST_SESSION_FIELDS} in order; undefined if absent. */
  counters(tunnel: number, session: number): number[] | undefined;
  /** Every session: rows of tunnel, session, then the {@link FAST_SESSION_FIELDS}. */
  sessions(): Float64Array;
  /** take() of every session in one call: rows of tunnel, session, rx/tx packets/octets since the last take, only the sessions whose counters moved (older addons lack it). */
  takeAll?(fromBucket?: number, buckets?: number): Float64Array;
  /** sessions() summed per tunnel: rows of tunnel, then the {@link FAST_SESSION_FIELDS} summed (older addons lack it). */
  tunnelSums?(fromBucket?: number, buckets?: number): Float64Array;
  /** The session table's hash buckets: takeAll / tunnelSums walk only [fromBucket, fromBucket + buckets) when given them. */
  tableBuckets?(): number;
  stats(): NativeFastPathStats;
  size(): number;
  clear(): void;
  /**
   * Run one data thread per (udp, tun) fd pair (SO_REUSEPORT sockets of the attached UDP port's group,
   * detached queues of the attached TUN); takes ownership of the fds. Returns the number started.
   */
  start(udpFds: readonly number[], tunFds: readonly number[]): number;
  /** Stop the data threads (closing their fds); the JS thread's ports carry the data again. */
  stop(): void;
  /**
   * ESP (native/esp.cc). One direction of an SA: cipher 0 = AES-GCM-16 (key + 4-byte salt), 1 = AES-CBC;
   * integ 0 = none (GCM), 1 = HMAC-SHA1-96, 2 = HMAC-SHA256-128; window 0 = no replay check; an inbound
   * SA belongs to flow `flowId` (create it with espFlow first). Throws RangeError on sizes it cannot run.
   */
  espAddSa(spi: number, inbound: boolean, cipher: number, key: Uint8Array, integ: number, authKey: Uint8Array, window: number, flowId: number): boolean;
  espRemoveSa(spi: number, inbound: boolean): boolean;
  /** Create or update a flow: its newest outbound SA (0 or unknown = none: data to JS), outer destination, inner ports. */
  espFlow(flowId: number, outSpi: number, remoteAddr: number, remotePort: number, innerPort: number, l2tpPort: number): boolean;
  /** Remove a flow: sessions bound to it hand everything to JS. */
  espRemoveFlow(flowId: number): boolean;
  /** The next `add` of a new session binds it to this flow (its data only inside that flow). */
  espBindNext(flowId: number): boolean;
  /** Seal a transport-mode payload (the parts concatenated): the ESP packet, or an {@link EspVerdict}. */
  espSeal(spi: number, nextHeader: number, parts: readonly Uint8Array[]): Uint8Array | number;
  /** Verify, replay-check and decrypt (moving the window): [seq, nextHeader, payload], or an {@link EspVerdict} (counted). */
  espOpen(spi: number, packet: Uint8Array): [number, number, Uint8Array] | number;
  /** [packets, octets, replayDrops, authFailures, malformed, padErrors, last sequence number], undefined if absent. */
  espCounters(spi: number, inbound: boolean): number[] | undefined;
  espStats(): NativeEspStats;
  /**
   * LCP keepalive offload (native/keepalive.cc; absent in an older addon): the data thread owning the
   * session runs its Echo (RFC 1661 §5.8) from `firstDueMs` on; false without data threads / per-session
   * steering or for an unknown session.
   */
  keepalive?(tunnel: number, session: number, magic: number, intervalMs: number, failure: number, jitter: number, adaptive: boolean, firstDueMs: number, addressControl: boolean, misses: number, outstanding: boolean, echoId: number): boolean;
  /** [sent, replied, answered, misses, missTotal, outstanding 0/1] of an offloaded keepalive, undefined if none. */
  keepaliveCounters?(tunnel: number, session: number): number[] | undefined;
  /** Misses in a row now of an offloaded keepalive (one atomic read, no lock), undefined if none. */
  keepaliveMisses?(tunnel: number, session: number): number | undefined;
  keepaliveStats?(): NativeKeepaliveStats;
  /** `fn` hears sessions whose keepalive gave up: (tunnel, session, misses) triples; null = nobody. */
  keepaliveListener?(fn: ((reports: Uint32Array) => void) | null): void;
}

/** Totals of the keepalive offload: sessions offloaded now, of them with an unanswered request, and counters since start. */
export interface NativeKeepaliveStats {
  readonly sessions: number;
  readonly missing: number;
  readonly echoSent: number;
  readonly echoReplied: number;
  readonly echoAnswered: number;
  readonly echoMisses: number;
  readonly echoDead: number;
}

/** What espOpen / espSeal return instead of a packet (native/esp.h EspVerdict). */
export const EspVerdict = { duplicate: 1, tooOld: 2, zero: 3, icv: 4, malformed: 5, padding: 6, unknownSpi: 7, seqExhausted: 8 } as const;

/** ESP counters of a {@link NativeFastPath}, summed over its lanes. */
export interface NativeEspStats {
  /** ESP datagrams opened and written to the TUN natively / handed to JS (with why, for three reasons). */
  readonly espInFast: number;
  readonly espInToJs: number;
  readonly espReplayToJs: number;
  readonly espIcvToJs: number;
  readonly espUnknownSpiToJs: number;
  /** TUN packets sealed and sent natively / handed to JS; sendmmsg failures. */
  readonly espOutFast: number;
  readonly espOutToJs: number;
  readonly espSendErrors: number;
  readonly inboundSas: number;
  readonly outboundSas: number;
  readonly flows: number;
}

/** Role of a port in a {@link NativeV3Fast}. */
export const V3FastRole = { net: 0, tap: 1 } as const;
/** A `V3FastRole` value. */
export type V3FastRole = (typeof V3FastRole)[keyof typeof V3FastRole];

/** Global counters of a {@link NativeV3Fast}: datagrams/frames taken natively and handed to JS each way. */
export interface NativeV3FastStats {
  readonly netFast: number;
  readonly netToJs: number;
  readonly tapFast: number;
  readonly tapToJs: number;
  readonly sendErrors: number;
  readonly tapWriteErrors: number;
  readonly pseudowires: number;
}

/** Fields of {@link NativeV3Fast.counters}, in order. */
export const V3_FAST_FIELDS = ['rxPackets', 'rxOctets', 'txPackets', 'txOctets', 'tapWriteErrors', 'sendErrors', 'badSource', 'toJs'] as const;

/** The addon's L2TPv3 Ethernet pseudowire fast path (native/v3_fast.cc); ports attach with setV3Fast. */
export interface NativeV3Fast {
  /** Install (or update in place) a pseudowire by our Session ID; peer address host order; true when new. */
  add(localSession: number, peerSession: number, rxCookie: Uint8Array, txCookie: Uint8Array, sublayer: boolean, peerAddr: number, peerPort: number): boolean;
  /** Remove: its final counters ({@link V3_FAST_FIELDS}), undefined if absent. */
  remove(localSession: number): number[] | undefined;
  /** Totals since add ({@link V3_FAST_FIELDS}), undefined if absent. */
  counters(localSession: number): number[] | undefined;
  stats(): NativeV3FastStats;
  size(): number;
  clear(): void;
}

/** Constructor of {@link NativePacketPort}. */
export interface NativePacketPortCtor {
  new (fd: number, kind: PortKind, maxPackets: number, maxPacketSize: number): NativePacketPort;
}

/** The typed surface of the addon. */
export interface NativeBinding {
  /** Open /dev/net/tun with IFF_TUN|IFF_NO_PI (or IFF_TAP); '' lets the kernel choose the name. */
  openTun(name: string, tap: boolean, blocking?: boolean, queues?: number): { fd: number; name: string; queues: number[] };
  /** socket(AF_INET, SOCK_RAW, proto), optionally bound; returns the fd. */
  openRaw(proto: number, bindAddr: string | null, rcvbuf: number): number;
  /** A non-blocking IPv4 UDP socket bound to addr:port (0 = any); `port` is the bound one. */
  openUdp(addr: string, port: number, rcvbuf: number, reusePort?: boolean): { fd: number; port: number };
  /** Set SO_RCVBUF / SO_SNDBUF of `fd` where > 0 (FORCE as root) and read back what the kernel reports. */
  socketBuffers(fd: number, rcvbuf: number, sndbuf: number): { receive: number; send: number };
  /** The data fast path's session table. */
  FastPath: new (threads?: number) => NativeFastPath;
  /** The L2TPv3 pseudowire fast path (encap 0 = UDP, 1 = IP); absent in an older addon. */
  V3Fast?: new (encap: number) => NativeV3Fast;
  /** "EACCES (Permission denied)" for 13. */
  errnoName(errno: number): string;
  /** Batched packet I/O on an fd. */
  PacketPort: NativePacketPortCtor;
  /** Version of this JS/native contract. */
  abiVersion: number;
}

/** The JS/native contract version this loader expects. */
export const NATIVE_ABI_VERSION = 6;

/** The addon is missing or cannot be loaded; `path` is where it was looked for. */
export class NativeUnavailableError extends Error {
  /** Discriminant for callers that switch on errors. */
  readonly kind = 'native-unavailable' as const;
  constructor(
    /** The .node file tried. */
    readonly path: string,
    /** Why it could not be used. */
    readonly reason: string,
  ) {
    super(`l2tpkit native addon unavailable at ${path}: ${reason}`);
    this.name = 'NativeUnavailableError';
  }
}

/** A system call in the addon failed: `code` is the errno name ("EACCES"), `syscall` the call. */
export class NativeIoError extends Error {
  /** Discriminant for callers that switch on errors. */
  readonly kind = 'native-io' as const;
  constructor(
    message: string,
    /** errno name such as "EACCES", or "EINVAL" for argument errors. */
    readonly code: string,
    /** errno number, 0 if not from a system call. */
    readonly errno: number,
    /** The failing call, e.g. "open" or "ioctl(TUNSETIFF)". */
    readonly syscall: string,
  ) {
    super(message);
    this.name = 'NativeIoError';
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Convert whatever the addon threw into a {@link NativeIoError}. */
export function toNativeIoError(e: unknown): NativeIoError {
  if (e instanceof NativeIoError) return e;
  if (e instanceof Error) {
    const r: Record<string, unknown> = isRecord(e) ? e : {};
    const code = typeof r['code'] === 'string' ? r['code'] : 'EINVAL';
    const errno = typeof r['errno'] === 'number' ? r['errno'] : 0;
    const syscall = typeof r['syscall'] === 'string' ? r['syscall'] : '';
    return new NativeIoError(e.message, code, errno, syscall);
  }
  return new NativeIoError(String(e), 'EINVAL', 0, '');
}

const ADDON_FILE = 'l2tpkit_native.node';

/** Where the addon is looked for: $L2TPKIT_NATIVE_PATH, else build/{Release,Debug} under the package root. */
export function nativeCandidatePaths(): string[] {
  const fromEnv = process.env['L2TPKIT_NATIVE_PATH'];
  if (fromEnv !== undefined && fromEnv !== '') return [fromEnv];
  // Works from src/io (tsx) and dist/src/io (compiled): walk up to the directory holding package.json.
  let dir = dirname(fileURLToPath(import.meta.url));
  const root = parsePath(dir).root;
  while (dir !== root && !existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return [join(dir, 'build', 'Release', ADDON_FILE), join(dir, 'build', 'Debug', ADDON_FILE)];
}

const requireNative = createRequire(import.meta.url);

/** Load the addon from one path; never throws. */
export function loadNativeFrom(path: string): Result<NativeBinding, NativeUnavailableError> {
  if (process.platform !== 'linux') return err(new NativeUnavailableError(path, `unsupported platform ${process.platform}`));
  if (!existsSync(path)) {
    return err(
      new NativeUnavailableError(
        path,
        'file not found; build it with `npm ci` or `npx node-gyp rebuild` (needs g++, make, python3 and Node headers)',
      ),
    );
  }
  let mod: unknown;
  try {
    mod = requireNative(path);
  } catch (e: unknown) {
    return err(new NativeUnavailableError(path, `cannot load: ${e instanceof Error ? e.message : String(e)}`));
  }
  if (!isRecord(mod) || typeof mod['openTun'] !== 'function' || typeof mod['PacketPort'] !== 'function') {
    return err(new NativeUnavailableError(path, 'not the l2tpkit addon (missing openTun/PacketPort)'));
  }
  if (mod['abiVersion'] !== NATIVE_ABI_VERSION) {
    return err(
      new NativeUnavailableError(path, `ABI ${String(mod['abiVersion'])} != expected ${NATIVE_ABI_VERSION}; rebuild it`),
    );
  }
  // Shape checked above; the declared interface documents native/l2tpkit_native.cc.
  return ok(mod as unknown as NativeBinding);
}

let cached: Result<NativeBinding, NativeUnavailableError> | undefined;

/** Load the addon once (cached, including failure); never throws. */
export function tryLoadNative(): Result<NativeBinding, NativeUnavailableError> {
  if (cached !== undefined) return cached;
  const paths = nativeCandidatePaths();
  let failure: NativeUnavailableError | undefined;
  for (const p of paths) {
    const r = loadNativeFrom(p);
    if (r.ok) return (cached = r);
    // Prefer the reason of a file that exists (a load error) over "not found".
    if (failure === undefined || (existsSync(p) && !existsSync(failure.path))) failure = r.error;
  }
  cached = err(failure ?? new NativeUnavailableError('(no candidate path)', 'no path to try'));
  return cached;
}

/** Load the addon or throw {@link NativeUnavailableError}. */
export function loadNative(): NativeBinding {
  const r = tryLoadNative();
  if (!r.ok) throw r.error;
  return r.value;
}
