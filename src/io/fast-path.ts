/**
 * The native data fast path (issue 16 item 1) as the access server sees it: a session table
 * (`FastPathTable` of src/access/fast-path.ts) over the
 * addon's `FastPath`, attached to the L2TP listener's native UDP socket and to the LNS TUN. Once
 * attached, both ports offer every packet to the addon first; plain IPv4 data of installed sessions
 * is forwarded there (recvmmsg -> TUN write, TUN read -> sendmmsg) and never reaches JavaScript,
 * everything else arrives in the usual batches. `FastPathAttach.open` never throws: when the addon or
 * the socket cannot do it, it says why, and the caller runs the JS path.
 */
import { err, ok, type Result } from '../base/index.js';
import type { FastPathCounters, FastPathSession, FastPathTable } from '../access/index.js';
import type { SessionId, TunnelId } from '../wire/l2tp/index.js';
import { FastPathRole, type NativeFastPath, type NativeFastPathStats, tryLoadNative } from './native.js';
import type { TunDevice } from './tun.js';
import type { UdpEndpoint } from './udp-endpoint.js';

const countersOf = (a: readonly [number, number, number, number] | undefined): FastPathCounters | undefined =>
  a === undefined ? undefined : { rxPackets: a[0], rxOctets: a[1], txPackets: a[2], txOctets: a[3] };

/** The addon's fast path between one UDP endpoint and one TUN. */
export class FastPathAttach implements FastPathTable {
  private closed = false;

  private constructor(
    private readonly fp: NativeFastPath,
    private readonly ep: UdpEndpoint,
    private readonly tun: TunDevice,
  ) {}

  /**
   * Attach to `ep` (opened with `socket: 'native'`) and `tun`; an error string says why not (no
   * addon, an old addon without FastPath, a dgram endpoint, a TAP device).
   */
  static open(ep: UdpEndpoint, tun: TunDevice): Result<FastPathAttach, string> {
    const n = tryLoadNative();
    if (!n.ok) return err(n.error.message);
    if (typeof n.value.FastPath !== 'function') return err('the native addon has no FastPath (rebuild it: node native/build.mjs)');
    const sock = ep.nativeSocket;
    if (sock === undefined) return err(`listener ${ep.label} is not on the native UDP socket (IPv6 or dgram)`);
    if (tun.mode !== 'tun') return err(`${tun.name} is a TAP device`);
    const fp = new n.value.FastPath();
    try {
      sock.setFastPath(fp, FastPathRole.udp);
      tun.setFastPath(fp, FastPathRole.tun);
    } catch (e) {
      sock.setFastPath(null, FastPathRole.udp);
      return err(e instanceof Error ? e.message : String(e));
    }
    return ok(new FastPathAttach(fp, ep, tun));
  }

  /** Install or replace a session; false once detached. */
  install(e: FastPathSession): boolean {
    if (this.closed) return false;
    return this.fp.add(e.tunnel, e.session, e.peerAddress, e.peerPort, e.ipv4, e.mtu, e.mss, e.header);
  }

  /** Remove a session; its counters since the last read. */
  remove(tunnel: TunnelId, session: SessionId): FastPathCounters | undefined {
    return countersOf(this.fp.remove(tunnel, session));
  }

  /** A session's counters since the last read (then zeroed). */
  take(tunnel: TunnelId, session: SessionId): FastPathCounters | undefined {
    return countersOf(this.fp.take(tunnel, session));
  }

  /** Global counters (packets forwarded natively, handed to JS, errors). */
  stats(): NativeFastPathStats {
    return this.fp.stats();
  }

  /** Detach from both ports (every packet goes to JS again) and forget the sessions. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ep.nativeSocket?.setFastPath(null, FastPathRole.udp);
    this.tun.setFastPath(null, FastPathRole.tun);
    this.fp.clear();
  }
}
