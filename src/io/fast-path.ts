/**
 * The native data fast path (issue 16 items 1, 2) as the access server sees it: a session table
 * (`FastPathTable` of src/access/fast-path.ts) over the addon's `FastPath`, attached to the L2TP
 * listener's native UDP socket and to the LNS TUN. Once attached, both ports offer every packet to
 * the addon first; plain IPv4 and IPv6 (the session's /64) data of installed sessions is forwarded there
 * (recvmmsg -> TUN write, TUN read -> sendmmsg) and never reaches JavaScript, everything else arrives
 * in the usual batches. With `threads` > 0 the data moves on native data threads (their own
 * SO_REUSEPORT sockets and TUN queues, sessions pinned by Session ID / destination); what they do not
 * consume is handed to the same JS batches, unchanged. `FastPathAttach.open` never throws: when the
 * addon or the socket cannot do it, it says why, and the caller runs the JS path.
 */
import { closeSync } from 'node:fs';
import { err, ok, type Result } from '../base/index.js';
import type { FastPathCounters, FastPathSession, FastPathTable } from '../access/index.js';
import type { LcpKeepalive } from '../ppp/index.js';
import type { SessionId, TunnelId } from '../wire/l2tp/index.js';
import { FAST_SESSION_FIELDS, FastPathRole, type NativeEspStats, type NativeFastPath, type NativeFastPathStats, type NativeKeepaliveStats, tryLoadNative } from './native.js';
import { NativeEspOffload } from './fast-path-esp.js';
import type { NativeUdpSocket } from './native-udp.js';
import type { TunDevice } from './tun.js';
import type { UdpEndpoint } from './udp-endpoint.js';

const countersOf = (a: readonly number[] | undefined): FastPathCounters | undefined =>
  a === undefined ? undefined : { rxPackets: a[0] ?? 0, rxOctets: a[1] ?? 0, txPackets: a[2] ?? 0, txOctets: a[3] ?? 0 };

/**
 * One session's fast-path totals since it was installed (all threads summed): IP packets/bytes each
 * way, what was handed to JS by reason and what was dropped by reason.
 */
export interface FastSessionCounters {
  readonly tunnel: TunnelId;
  readonly session: SessionId;
  /** From the client (L2TP -> TUN) and toward it (TUN -> L2TP). */
  readonly rxPackets: number;
  readonly rxOctets: number;
  readonly txPackets: number;
  readonly txOctets: number;
  /** Handed to JS: a source outside the session's address / /64, above the MTU, other PPP (LCP, NCP, link-local). */
  readonly toJs: { readonly badSource: number; readonly tooBig: number; readonly other: number };
  /** Dropped natively: the TUN write failed, the sendmmsg failed (full socket buffer). */
  readonly drops: { readonly tunWrite: number; readonly send: number };
}

function sessionCountersOf(tunnel: number, session: number, a: ArrayLike<number>, at = 0): FastSessionCounters {
  const f = (name: (typeof FAST_SESSION_FIELDS)[number]): number => a[at + FAST_SESSION_FIELDS.indexOf(name)] ?? 0;
  return {
    tunnel: tunnel as TunnelId,
    session: session as SessionId,
    rxPackets: f('rxPackets'),
    rxOctets: f('rxOctets'),
    txPackets: f('txPackets'),
    txOctets: f('txOctets'),
    toJs: { badSource: f('badSource'), tooBig: f('tooBig'), other: f('toJs') },
    drops: { tunWrite: f('tunWriteErrors'), send: f('sendErrors') },
  };
}

/**
 * The fast path's session rows (tunnel, session, then {@link FAST_SESSION_FIELDS}, as
 * `NativeFastPath.sessions()` gives them) summed per tunnel, tunnels in first-seen order: a pass over
 * one typed array, no object per session (a scrape at 100k sessions stays a few milliseconds).
 */
export function sumRowsByTunnel(rows: Float64Array): Map<number, Float64Array> {
  const width = FAST_SESSION_FIELDS.length;
  const row = 2 + width;
  const sums = new Map<number, Float64Array>();
  let lastTunnel = -1;
  let last: Float64Array | undefined;
  for (let r = 0; r + row <= rows.length; r += row) {
    const tunnel = rows[r] ?? 0;
    if (tunnel !== lastTunnel || last === undefined) {
      lastTunnel = tunnel;
      last = sums.get(tunnel);
      if (last === undefined) sums.set(tunnel, (last = new Float64Array(width)));
    }
    for (let j = 0; j < width; j++) last[j] = (last[j] ?? 0) + (rows[r + 2 + j] ?? 0);
  }
  return sums;
}

/** The addon's `tunnelSums()` rows (tunnel, then {@link FAST_SESSION_FIELDS} summed) as {@link sumRowsByTunnel} gives them. */
export function tunnelSumsOf(rows: Float64Array): Map<number, Float64Array> {
  return addTunnelSums(new Map(), rows);
}

/** Add the `tunnelSums()` rows of one slice of the table into `sums`. */
function addTunnelSums(sums: Map<number, Float64Array>, rows: Float64Array): Map<number, Float64Array> {
  const row = 1 + FAST_SESSION_FIELDS.length;
  for (let r = 0; r + row <= rows.length; r += row) {
    const t = rows[r] ?? 0;
    const into = sums.get(t);
    if (into === undefined) sums.set(t, rows.slice(r + 1, r + row));
    else for (let j = 0; j < row - 1; j++) into[j] = (into[j] ?? 0) + (rows[r + 1 + j] ?? 0);
  }
  return sums;
}

/** Hash buckets of the addon's session table walked per slice (about 3,000 sessions at 100k: a few ms cold). */
const SLICE_BUCKETS = 4096;
/** One event-loop turn. */
const oneTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** The high and low 32-bit words of a /64 (host order). */
const prefixWords = (p64: bigint): [number, number] => [Number((p64 >> 32n) & 0xffffffffn), Number(p64 & 0xffffffffn)];

/** The addon's fast path between one UDP endpoint and one TUN. */
export class FastPathAttach implements FastPathTable {
  private closed = false;
  /** ESP (fast-path-esp.ts): the NAT-T socket attached as role 2 and the gate's offload over it. */
  private esp: { readonly natt: NativeUdpSocket; readonly offload: NativeEspOffload } | undefined;

  private constructor(
    private readonly fp: NativeFastPath,
    private readonly ep: UdpEndpoint,
    private readonly tun: TunDevice,
    /** Why the data threads asked for did not start (the data then moves on the JS thread). */
    readonly threadError: string | undefined,
    /** `[dataplane] keepalive_offload`: LCP Echo of installed sessions on their data thread (needs threads and this addon). */
    private readonly keepaliveOn = false,
  ) {}

  /**
   * Attach to `ep` (opened with `socket: 'native'`, and `reusePort` for threads) and `tun` (opened with
   * `queues` >= threads for threads); an error string says why not (no addon, an old addon without
   * FastPath, a dgram endpoint, a TAP device). Threads that cannot start are not an error: the fast
   * path then runs on the JS thread and `threadError` says why.
   */
  static open(ep: UdpEndpoint, tun: TunDevice, threads = 0, keepalive = false): Result<FastPathAttach, string> {
    const n = tryLoadNative();
    if (!n.ok) return err(n.error.message);
    if (typeof n.value.FastPath !== 'function') return err('the native addon has no FastPath (rebuild it: node native/build.mjs)');
    const sock = ep.nativeSocket;
    if (sock === undefined) return err(`listener ${ep.label} is not on the native UDP socket (IPv6 or dgram)`);
    if (tun.mode !== 'tun') return err(`${tun.name} is a TAP device`);
    const fp = new n.value.FastPath(Math.min(16, Math.max(0, threads)));
    try {
      sock.setFastPath(fp, FastPathRole.udp);
      tun.setFastPath(fp, FastPathRole.tun);
    } catch (e) {
      sock.setFastPath(null, FastPathRole.udp);
      return err(e instanceof Error ? e.message : String(e));
    }
    const threadError = threads > 0 ? FastPathAttach.startThreads(fp, ep, tun, threads) : undefined;
    return ok(new FastPathAttach(fp, ep, tun, threadError, keepalive && threads > 0 && threadError === undefined && typeof fp.keepalive === 'function'));
  }

  /** Start `threads` data threads; undefined when they run, else why not. */
  private static startThreads(fp: NativeFastPath, ep: UdpEndpoint, tun: TunDevice, threads: number): string | undefined {
    const queues = tun.takeQueues();
    let udp: number[] = [];
    try {
      if (queues.length < threads) throw new Error(`the TUN has ${queues.length} spare queues, ${threads} asked (open it with queues)`);
      for (const q of queues.slice(threads)) closeSync(q);
      udp = ep.nativeSocket?.openSiblings(threads) ?? [];
      fp.start(udp, queues.slice(0, threads));
      return undefined;
    } catch (e) {
      for (const fd of [...udp, ...queues]) {
        try {
          closeSync(fd);
        } catch {
          // already closed
        }
      }
      return e instanceof Error ? e.message : String(e);
    }
  }

  /**
   * ESP in the fast path (issue 16 item 3): attach the L2TP/IPsec listener's NAT-T socket (the addon's
   * UDP socket on 4500) and return the offload to give the gate (`IpsecL2tpGate.setEspOffload`).
   */
  attachEsp(natt: NativeUdpSocket): Result<NativeEspOffload, string> {
    if (this.closed) return err('the fast path is closed');
    if (this.esp !== undefined) return ok(this.esp.offload);
    if (typeof this.fp.espAddSa !== 'function') return err('the native addon has no ESP (rebuild it: node native/build.mjs)');
    try {
      natt.setFastPath(this.fp, FastPathRole.esp);
    } catch (e) {
      return err(e instanceof Error ? e.message : String(e));
    }
    this.esp = { natt, offload: new NativeEspOffload(this.fp) };
    return ok(this.esp.offload);
  }

  /** ESP counters of the fast path (undefined without attachEsp). */
  espStats(): NativeEspStats | undefined {
    return this.esp === undefined ? undefined : this.fp.espStats();
  }

  /**
   * Install or update a session (in place: its counters stay); false once detached, and for a session
   * inside IPsec whose flow is not offloaded (its data then stays in JS, sealed there).
   */
  install(e: FastPathSession): boolean {
    if (this.closed) return false;
    if (e.via !== undefined) {
      const id = this.esp?.offload.flowIdOf(e.via);
      if (id === undefined) return false;
      // Bound in the same add: the session is never in the table without its flow (never sent in the clear).
      this.fp.espBindNext(id);
    }
    if (e.prefix64 === undefined) return this.fp.add(e.tunnel, e.session, e.peerAddress, e.peerPort, e.ipv4, e.mtu, e.mss, e.header);
    const [hi, lo] = prefixWords(e.prefix64);
    return this.fp.add(e.tunnel, e.session, e.peerAddress, e.peerPort, e.ipv4, e.mtu, e.mss, e.header, hi, lo, e.mss6 ?? 0);
  }

  /** Whether installed sessions' LCP keepalive runs on their data thread (the switch on, threads running, per-session steering). */
  get keepaliveOffload(): boolean {
    return this.keepaliveOn && !this.closed && this.fp.stats().udpSteering === 'cbpf-session';
  }

  /** LCP keepalive offload (issue 15): the session's data thread runs its Echo from where `k` stands; false when it cannot. */
  keepalive(tunnel: TunnelId, session: SessionId, k: LcpKeepalive): boolean {
    if (!this.keepaliveOn || this.closed || this.fp.keepalive === undefined) return false;
    return this.fp.keepalive(tunnel, session, k.magic, k.interval, k.failure, k.jitter, k.adaptive, k.firstDue, k.addressControl, k.misses, k.outstanding, k.echoId);
  }

  /** Unanswered Echo-Requests in a row now of an offloaded keepalive. */
  keepaliveMisses(tunnel: TunnelId, session: SessionId): number | undefined {
    return this.fp.keepaliveMisses?.(tunnel, session);
  }

  /** One offloaded keepalive's counters: Echo-Requests sent, Replies seen, peer Requests answered, misses now and in all. */
  keepaliveCounters(tunnel: TunnelId, session: SessionId): { readonly sent: number; readonly replied: number; readonly answered: number; readonly misses: number; readonly missTotal: number } | undefined {
    const a = this.fp.keepaliveCounters?.(tunnel, session);
    return a === undefined ? undefined : { sent: a[0] ?? 0, replied: a[1] ?? 0, answered: a[2] ?? 0, misses: a[3] ?? 0, missTotal: a[4] ?? 0 };
  }

  /** Totals of the keepalive offload (undefined with an addon without it). */
  keepaliveStats(): NativeKeepaliveStats | undefined {
    return this.fp.keepaliveStats?.();
  }

  /** For `FastPathTable`: misses since start and sessions with an unanswered request now. */
  keepaliveTotals(): { readonly misses: number; readonly missing: number } {
    const st = this.fp.keepaliveStats?.();
    return { misses: st?.echoMisses ?? 0, missing: st?.missing ?? 0 };
  }

  /** `fn(tunnel, session, misses)` for each session whose offloaded keepalive gave up (on the JS thread, on the data threads' wake). */
  onKeepaliveDead(fn: (tunnel: TunnelId, session: SessionId, misses: number) => void): void {
    this.fp.keepaliveListener?.((r) => {
      for (let i = 0; i + 2 < r.length; i += 3) fn((r[i] ?? 0) as TunnelId, (r[i + 1] ?? 0) as SessionId, r[i + 2] ?? 0);
    });
  }

  /** Remove a session; its counters since the last read. */
  remove(tunnel: TunnelId, session: SessionId): FastPathCounters | undefined {
    return countersOf(this.fp.remove(tunnel, session));
  }

  /** A session's counters since the last read. */
  take(tunnel: TunnelId, session: SessionId): FastPathCounters | undefined {
    return countersOf(this.fp.take(tunnel, session));
  }

  /**
   * {@link take} of every installed session, a slice of the table per event-loop turn (a metrics
   * scrape: not one native call per session, and no one call over 100k cold sessions): rows of
   * `TAKEN_ROW` (src/access/fast-path.ts) numbers for the sessions whose counters moved. Fold each
   * slice in the turn it comes (a session may be removed in the next). Undefined when the addon
   * predates it. A rehash between slices may skip a session: its counts come with the next take.
   */
  takeAllSlices(): AsyncGenerator<Float64Array> | undefined {
    const fp = this.fp;
    if (fp.takeAll === undefined) return undefined;
    const take = fp.takeAll.bind(fp);
    const closed = (): boolean => this.closed;
    return (async function* () {
      const n = fp.tableBuckets?.();
      if (n === undefined) {
        yield take();
        return;
      }
      for (let b = 0; b < n; b += SLICE_BUCKETS) {
        if (b > 0) await oneTurn();
        if (closed()) return;
        yield take(b, SLICE_BUCKETS);
      }
    })();
  }

  /**
   * {@link tunnelSums} a slice of the table per event-loop turn; the pass starts again when the table
   * rehashed between slices (a session would count twice), and after 3 such passes is read in one call.
   */
  async tunnelSumsSliced(): Promise<Map<number, Float64Array>> {
    const fp = this.fp;
    if (fp.tableBuckets === undefined || fp.tunnelSums === undefined) return this.tunnelSums();
    for (let pass = 0; pass < 3; pass++) {
      const n = fp.tableBuckets();
      const sums = new Map<number, Float64Array>();
      let rehashed = false;
      for (let b = 0; b < n && !rehashed; b += SLICE_BUCKETS) {
        if (b > 0) await oneTurn();
        if (this.closed) return sums;
        rehashed = fp.tableBuckets() !== n;
        if (!rehashed) addTunnelSums(sums, fp.tunnelSums(b, SLICE_BUCKETS));
      }
      if (!rehashed) return sums;
    }
    return this.tunnelSums();
  }

  /** One session's totals since install (every thread summed; reading does not reset), undefined if absent. */
  sessionCounters(tunnel: TunnelId, session: SessionId): FastSessionCounters | undefined {
    const a = this.fp.counters(tunnel, session);
    return a === undefined ? undefined : sessionCountersOf(tunnel, session, a);
  }

  /** Every installed session's totals as the addon's rows (tunnel, session, then FAST_SESSION_FIELDS): one native call, no object per session (metrics). */
  sessionRows(): Float64Array {
    return this.fp.sessions();
  }

  /**
   * {@link sessionRows} summed per tunnel ({@link sumRowsByTunnel}): by the addon in one call (a few
   * hundred rows at 100k sessions, not one of 11 numbers per session), or from the rows by an older addon.
   */
  tunnelSums(): Map<number, Float64Array> {
    return typeof this.fp.tunnelSums === 'function' ? tunnelSumsOf(this.fp.tunnelSums()) : sumRowsByTunnel(this.fp.sessions());
  }

  /** Every installed session's totals (for show commands and metrics: one native call). */
  allSessionCounters(): FastSessionCounters[] {
    const a = this.fp.sessions();
    const row = 2 + FAST_SESSION_FIELDS.length;
    const out: FastSessionCounters[] = [];
    for (let r = 0; r + row <= a.length; r += row) out.push(sessionCountersOf(a[r] ?? 0, a[r + 1] ?? 0, a, r + 2));
    return out;
  }

  /** Global counters (packets forwarded natively, handed to JS, errors), summed over threads and per thread. */
  stats(): NativeFastPathStats {
    const st = this.fp.stats();
    const ka = this.keepaliveOn ? this.fp.keepaliveStats?.() : undefined;
    return ka === undefined ? st : { ...st, keepalive: ka };
  }

  /** Stop the threads, detach from both ports (every packet goes to JS again) and forget the sessions. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.fp.stop();
    this.fp.keepaliveListener?.(null);
    this.esp?.natt.setFastPath(null, FastPathRole.esp);
    this.ep.nativeSocket?.setFastPath(null, FastPathRole.udp);
    this.tun.setFastPath(null, FastPathRole.tun);
    this.fp.clear();
  }
}
