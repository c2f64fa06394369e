/**
 * The native L2TPv3 Ethernet pseudowire fast path (issue 16 item 4) as a pseudowire owner sees it: a
 * table over the addon's `V3Fast` (native/v3_fast.cc), attached to the v3 socket (the addon's UDP
 * socket or the raw IP-protocol-115 socket) and to each pseudowire's TAP. Once attached, both ports
 * offer every packet to the addon first: data frames of installed pseudowires move TAP <-> socket there
 * and never reach JavaScript; control messages, unknown sessions, wrong sources, wrong cookies,
 * sequenced or short frames arrive in the usual batches, unchanged, and the JS core counts them as
 * without the fast path. `V3FastAttach.open` never throws: when the addon cannot do it, it says why and
 * the caller keeps the JS path.
 */
import { err, ok, type Result } from '../base/index.js';
import { tryLoadNative, V3_FAST_FIELDS, V3FastRole, type NativeV3Fast, type NativeV3FastStats } from './native.js';

/** A port the fast path attaches to (a PacketReader: the addon's UDP socket, a raw socket, a TAP). */
export interface V3FastPort {
  setV3Fast(v3: NativeV3Fast | null, role: V3FastRole, session?: number): void;
}

/** What the fast path needs of one established pseudowire (RFC 3931 §4.1, RFC 4719). */
export interface V3FastPseudowire {
  /** Our Session ID (carried by what we receive) and the peer's (carried by what we send). */
  readonly localSessionId: number;
  readonly peerSessionId: number;
  /** The cookie we require on receive and the one we send: 0, 4 or 8 bytes. */
  readonly rxCookie: Uint8Array;
  readonly txCookie: Uint8Array;
  /** Whether the default L2-Specific Sublayer is in use (sent with S=0; S=1 frames go to JS). */
  readonly sublayer: boolean;
  /** The peer: IPv4 address as a host-order number, and its UDP port (ignored over IP). */
  readonly peerAddress: number;
  readonly peerPort: number;
}

/** One pseudowire's fast-path totals since it was installed. */
export type V3FastCounters = { readonly [K in (typeof V3_FAST_FIELDS)[number]]: number };

const countersOf = (a: readonly number[] | undefined): V3FastCounters | undefined => {
  if (a === undefined) return undefined;
  const out: Record<string, number> = {};
  V3_FAST_FIELDS.forEach((k, i) => (out[k] = a[i] ?? 0));
  return out as V3FastCounters;
};

/** The JS core's counters {@link V3FastAttach.foldInto} adds to. */
export interface V3FoldPseudowire {
  rxPackets: number;
  rxOctets: number;
  txPackets: number;
  txOctets: number;
}

/** The transport counters {@link V3FastAttach.foldInto} adds to. */
export interface V3FoldTransport {
  rxDatagrams: number;
  txDatagrams: number;
  sendErrors: number;
  tapWriteErrors: number;
}

/** Whether the environment forces the fast path off (L2TPKIT_FAST_PATH=off, as for L2TPv2). */
export const fastPathForcedOff = (): boolean => process.env['L2TPKIT_FAST_PATH'] === 'off';

/** The addon's v3 fast path on one socket and the TAPs of its pseudowires. */
export class V3FastAttach {
  private closed = false;
  private readonly taps = new Map<number, V3FastPort>();
  /** Totals already folded by {@link foldInto}, per pseudowire. */
  private readonly folded = new Map<number, V3FastCounters>();

  private constructor(
    private readonly v3: NativeV3Fast,
    private readonly net: V3FastPort,
  ) {}

  /** Attach to `net` (the addon's UDP socket for encap udp, the raw socket for ip); an error says why not. */
  static open(net: V3FastPort, encap: 'udp' | 'ip'): Result<V3FastAttach, string> {
    const n = tryLoadNative();
    if (!n.ok) return err(n.error.message);
    const ctor = n.value.V3Fast;
    if (typeof ctor !== 'function') return err('the native addon has no V3Fast (rebuild it: node native/build.mjs)');
    const v3 = new ctor(encap === 'ip' ? 1 : 0);
    try {
      net.setV3Fast(v3, V3FastRole.net);
    } catch (e) {
      return err(e instanceof Error ? e.message : String(e));
    }
    return ok(new V3FastAttach(v3, net));
  }

  /** Install (or update in place) a pseudowire and attach its TAP; false once closed. */
  install(pw: V3FastPseudowire, tap: V3FastPort): boolean {
    if (this.closed) return false;
    this.v3.add(pw.localSessionId, pw.peerSessionId, pw.rxCookie, pw.txCookie, pw.sublayer, pw.peerAddress, pw.peerPort);
    if (this.taps.get(pw.localSessionId) !== tap) {
      tap.setV3Fast(this.v3, V3FastRole.tap, pw.localSessionId);
      this.taps.set(pw.localSessionId, tap);
    }
    return true;
  }

  /**
   * Add what the native path counted for a pseudowire since the last call to the JS core's counters
   * (`pw`) and the transport's (`t`), so every read of them counts every frame.
   */
  foldInto(localSessionId: number, pw: V3FoldPseudowire, t: V3FoldTransport): void {
    const now = this.counters(localSessionId);
    if (now === undefined) return;
    const was = this.folded.get(localSessionId);
    const d = (k: (typeof V3_FAST_FIELDS)[number]): number => now[k] - (was?.[k] ?? 0);
    pw.rxPackets += d('rxPackets');
    pw.rxOctets += d('rxOctets');
    pw.txPackets += d('txPackets');
    pw.txOctets += d('txOctets');
    t.rxDatagrams += d('rxPackets') + d('tapWriteErrors');
    t.txDatagrams += d('txPackets');
    t.sendErrors += d('sendErrors');
    t.tapWriteErrors += d('tapWriteErrors');
    this.folded.set(localSessionId, now);
  }

  /** Remove a pseudowire (its TAP's packets go to JS again); its final counters. */
  remove(localSessionId: number): V3FastCounters | undefined {
    this.folded.delete(localSessionId);
    this.taps.get(localSessionId)?.setV3Fast(null, V3FastRole.tap);
    this.taps.delete(localSessionId);
    return countersOf(this.v3.remove(localSessionId));
  }

  /** A pseudowire's totals since install, undefined if absent. */
  counters(localSessionId: number): V3FastCounters | undefined {
    return countersOf(this.v3.counters(localSessionId));
  }

  /** Global counters (taken natively and handed to JS each way, errors). */
  stats(): NativeV3FastStats {
    return this.v3.stats();
  }

  /** Detach from every port (every packet goes to JS again) and forget the pseudowires. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const tap of this.taps.values()) tap.setV3Fast(null, V3FastRole.tap);
    this.taps.clear();
    this.net.setV3Fast(null, V3FastRole.net);
    this.v3.clear();
  }
}
