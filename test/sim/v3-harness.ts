/**
 * A deterministic in-memory network for L2TPv3 engines: a virtual clock, seeded loss, duplication
 * and reordering, and a NAT in front of the node named `behindNat` (its datagrams reach the others
 * from `natAddress`, which the test may rebind; replies to `natAddress` are translated back).
 */
import { seededRandom, type RandomSource } from '../../src/base/random.js';
import type { Instant } from '../../src/base/time.js';
import type { L2tpV3Engine, L2tpV3Event, PeerAddress } from '../../src/l2tp/index.js';
import type { LinkProfile } from './harness.js';

/** One simulated LCCE. */
export interface V3Node {
  readonly name: string;
  readonly addr: PeerAddress;
  readonly engine: L2tpV3Engine;
  readonly events: L2tpV3Event[];
  /** Datagrams it sent, as they left it (before the NAT). */
  readonly sent: { at: number; to: PeerAddress; data: Uint8Array }[];
}

interface InFlight {
  readonly at: number;
  readonly seq: number;
  readonly from: PeerAddress;
  readonly to: PeerAddress;
  readonly data: Uint8Array;
}

const same = (a: PeerAddress, b: PeerAddress): boolean => a.address === b.address && a.port === b.port;

/** The network and its clock. */
export class V3SimNet {
  now = 0;
  readonly nodes = new Map<string, V3Node>();
  private inflight: InFlight[] = [];
  private seq = 0;
  private readonly rng: RandomSource;
  /** The node behind the NAT and its current public mapping. */
  behindNat: string | undefined;
  natAddress: PeerAddress | undefined;
  /** Cut the link (every datagram lost) while true. */
  down = false;
  ignore = new Set<L2tpV3Event['type']>(['v3-control']);
  /** Drop a datagram as it leaves `n` when this returns true (targeted loss). */
  drop: ((n: V3Node, data: Uint8Array) => boolean) | undefined;

  constructor(
    seed: number,
    public profile: LinkProfile,
  ) {
    this.rng = seededRandom(seed);
  }

  private float(): number {
    return this.rng.u32() / 0x100000000;
  }

  add(name: string, addr: PeerAddress, engine: L2tpV3Engine): V3Node {
    const n: V3Node = { name, addr, engine, events: [], sent: [] };
    this.nodes.set(name, n);
    return n;
  }

  /** Put a datagram on the wire from `from` (used by tests to inject forged or replayed packets). */
  inject(from: PeerAddress, to: PeerAddress, data: Uint8Array): void {
    this.inflight.push({ at: this.now + this.profile.delay, seq: this.seq++, from, to, data });
  }

  /** Drain every node's transmits and events onto the wire. */
  private drain(): void {
    for (const n of this.nodes.values()) {
      for (let t = n.engine.pollTransmit(); t !== undefined; t = n.engine.pollTransmit()) {
        n.sent.push({ at: this.now, to: t.to, data: t.data });
        if (this.down || this.float() < this.profile.loss || this.drop?.(n, t.data) === true) continue;
        const from = n.name === this.behindNat && this.natAddress !== undefined ? this.natAddress : n.addr;
        const copies = this.float() < this.profile.duplicate ? 2 : 1;
        for (let i = 0; i < copies; i++) {
          const at = this.now + this.profile.delay + Math.floor(this.float() * this.profile.jitter);
          this.inflight.push({ at, seq: this.seq++, from, to: t.to, data: t.data });
        }
      }
      for (let e = n.engine.pollEvent(); e !== undefined; e = n.engine.pollEvent()) if (!this.ignore.has(e.type)) n.events.push(e);
    }
  }

  /** The node a datagram to `to` reaches (NAT translation back to the inside node). */
  private target(to: PeerAddress): V3Node | undefined {
    if (this.natAddress !== undefined && this.behindNat !== undefined && same(to, this.natAddress)) return this.nodes.get(this.behindNat);
    for (const n of this.nodes.values()) if (same(n.addr, to)) return n;
    return undefined;
  }

  /** Advance the clock to `until`, delivering datagrams and running timers in time order. */
  run(until: number): void {
    this.drain();
    for (;;) {
      this.inflight.sort((a, b) => a.at - b.at || a.seq - b.seq);
      let next = this.inflight[0]?.at ?? Infinity;
      for (const n of this.nodes.values()) {
        const t = n.engine.pollAt();
        if (t !== undefined && t < next) next = t;
      }
      if (next > until) break;
      this.now = Math.max(this.now, next);
      const now = this.now as Instant;
      while (this.inflight[0] !== undefined && this.inflight[0].at <= this.now) {
        const d = this.inflight.shift() as InFlight;
        this.target(d.to)?.engine.handleDatagram(now, d.data, d.from);
      }
      for (const n of this.nodes.values()) {
        const t = n.engine.pollAt();
        if (t !== undefined && t <= this.now) n.engine.handleTimeout(now);
      }
      this.drain();
    }
    this.now = until;
  }
}

/** Events of one type. */
export function v3EventsOf<T extends L2tpV3Event['type']>(n: V3Node, type: T): Extract<L2tpV3Event, { type: T }>[] {
  return n.events.filter((e): e is Extract<L2tpV3Event, { type: T }> => e.type === type);
}
