/**
 * The I/O shell of L2TPv3 over IPsec: the IKE, NAT-T and raw ESP sockets of ipsec-transport.ts
 * (`openOuter`) around one sans-I/O `V3IpsecGate` (src/gate/v3-gate.ts), on the timer driver of
 * the L2TPv3 shell that owns it (dynamic-pseudowire.ts). Decrypted L2TPv3 datagrams go to
 * `onInner` (the shell's one receive path), the shell's outbound datagrams come in through `send`
 * and leave sealed, never in the clear. Socket errors are reported, never thrown after open.
 */
import type { Instant } from '../base/index.js';
import type { PeerAddress } from '../l2tp/index.js';
import { type IkeCore, type IpsecGateEvent, type OuterPacket, type V3Inner, V3IpsecGate } from '../gate/index.js';
import { openOuter, type OuterSockets, type IpsecSocketStats } from './ipsec-transport.js';
import type { TimerDriver } from './timer-driver.js';
import { cryptoRandom } from './random.js';

/** How the L2TPv3 shell protects its traffic. */
export interface V3IpsecSettings {
  /** Build the IKE core once the local address (for NAT-D / IDs) and ports are known. */
  readonly ike: (local: { readonly address: string; readonly ikePort: number; readonly nattPort: number }) => IkeCore;
  /** Our address as peers see it when bound to 0.0.0.0 (NAT-D, IDs). */
  readonly localAddress?: string;
  /** IKE and NAT-T ports (500, 4500; 0 = any free port). */
  readonly ikePort?: number;
  readonly nattPort?: number;
  /** Open the raw ESP socket (default true); without it only UDP-encapsulated ESP works. */
  readonly rawEsp?: boolean;
  /** Refuse L2TPv3 that arrives outside IPsec (default true). */
  readonly requireIpsec?: boolean;
  /** Called once the gate is open, with the IKE core (the initiator connects here). */
  readonly start?: (now: Instant, ike: IkeCore) => void;
  readonly onEvent?: (e: IpsecGateEvent) => void;
}

/** The running L2TPv3/IPsec sockets; open with {@link V3Ipsec.open}. */
export class V3Ipsec {
  readonly requireIpsec: boolean;
  private closed = false;
  private untime: (() => void) | undefined;

  private constructor(
    readonly gate: V3IpsecGate,
    private readonly outer: OuterSockets,
    private readonly o: V3IpsecOpenOptions,
    /** Socket counters (IKE, ESP in UDP and raw, send errors). */
    readonly stats: IpsecSocketStats,
  ) {
    this.requireIpsec = o.settings.requireIpsec ?? true;
  }

  /** Bind the sockets, build the gate, start the IKE core. Rejects if a UDP bind fails. */
  static async open(o: V3IpsecOpenOptions): Promise<V3Ipsec> {
    const s = o.settings;
    const stats: IpsecSocketStats = { ikeRx: 0, ikeTx: 0, espUdpRx: 0, espRawRx: 0, espRawTx: 0, sendErrors: 0 };
    const report = (e: unknown): void => {
      stats.sendErrors++;
      o.onError(e instanceof Error ? e : new Error(String(e)));
    };
    const outer = await openOuter(
      { address: o.address, ...(s.localAddress !== undefined ? { localAddress: s.localAddress } : {}), ikePort: s.ikePort ?? 500, nattPort: s.nattPort ?? 4500, rawEsp: s.rawEsp ?? true, onError: o.onError },
      stats,
      report,
    );
    const ike = s.ike({ address: outer.localAddress, ikePort: outer.ikePort, nattPort: outer.nattPort });
    const gate = new V3IpsecGate({ ike, random: cryptoRandom, encapsulation: o.encapsulation, port: o.port, nattPort: outer.nattPort });
    const me = new V3Ipsec(gate, outer, o, stats);
    const onUdp = (localPort: number) => (msg: Buffer, r: { address: string; port: number }): void => {
      if (me.closed) return;
      me.stats.ikeRx++;
      me.deliver(gate.handleUdp(o.now(), { local: { address: outer.localAddress, port: localPort }, remote: { address: r.address, port: r.port }, data: msg }));
      me.flush();
    };
    outer.ike.on('message', onUdp(outer.ikePort));
    outer.onNatt(onUdp(outer.nattPort), report);
    outer.ike.on('error', report);
    outer.raw?.onError(report);
    outer.raw?.onPackets((b) => {
      if (me.closed) return;
      const now = o.now();
      // The batch buffer is reused: the SA decrypts into a fresh buffer before `deliver` runs.
      for (let i = 0; i < b.count; i++) {
        me.stats.espRawRx++;
        me.deliver(gate.handleRawEsp(now, b.sourceAddress(i), b.payload(i)));
      }
      me.flush();
    });
    me.untime = o.timers.add(gate, () => me.flush());
    s.start?.(o.now(), ike);
    gate.flushIke(o.now());
    me.flush();
    return me;
  }

  /** Whether the raw ESP socket is open. */
  get rawEsp(): boolean {
    return this.outer.raw !== undefined;
  }

  /** Bound ports and the local address used for NAT-D. */
  get local(): { readonly address: string; readonly ikePort: number; readonly nattPort: number } {
    return { address: this.outer.localAddress, ikePort: this.outer.ikePort, nattPort: this.outer.nattPort };
  }

  private deliver(inner: V3Inner | undefined): void {
    if (inner !== undefined) this.o.onInner(inner);
  }

  /** Send the gate's IKE packets and hand its events on; re-arm its timer. */
  private flush(): void {
    for (let p = this.gate.pollTransmit(); p !== undefined; p = this.gate.pollTransmit()) this.outer.send(p);
    for (let e = this.gate.pollEvent(); e !== undefined; e = this.gate.pollEvent()) this.o.settings.onEvent?.(e);
    this.o.timers.touch(this.gate);
  }

  /** Send what the IKE core queued after the caller drove it directly (`IkeInitiator.connect`). */
  kick(now: Instant): void {
    this.gate.flushIke(now);
    this.flush();
  }

  /** Seal and send an L2TPv3 datagram to `to`; false when there is no SA to it (dropped, counted). */
  send(data: Uint8Array, to: PeerAddress): boolean {
    if (this.closed) return false;
    const p: OuterPacket | undefined = this.gate.seal(to, data);
    if (p === undefined) return false;
    this.outer.send(p);
    return true;
  }

  /** L2TPv3 from the clear socket: refused (and reported once per peer) when IPsec is required. */
  admitClear(from: PeerAddress): boolean {
    if (!this.requireIpsec) return true;
    this.gate.refuseClear(from);
    this.flush();
    return false;
  }

  /** Close the sockets (the IKE core is not told: the caller deletes SAs first if it wants to). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.untime?.();
    await this.outer.close();
  }
}

/** Options of {@link V3Ipsec.open}. */
export interface V3IpsecOpenOptions {
  readonly settings: V3IpsecSettings;
  /** The address the L2TPv3 shell binds (IKE binds it too). */
  readonly address: string;
  readonly encapsulation: 'udp' | 'ip';
  /** The shell's L2TPv3 UDP port. */
  readonly port: number;
  readonly now: () => Instant;
  readonly timers: TimerDriver;
  readonly onInner: (inner: V3Inner) => void;
  readonly onError: (e: Error) => void;
}
