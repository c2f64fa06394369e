/**
 * A deterministic in-memory network for L2TP engines: a virtual clock, a datagram link with seeded
 * loss, duplication and reordering (random extra delay), and event capture per node. Every session
 * that comes up gets a recording data sink (`SimNode.data`): data messages are not events.
 */
import { seededRandom, type RandomSource } from '../../src/base/random.js';
import type { Instant } from '../../src/base/time.js';
import type { L2tpEngine, L2tpEvent, PeerAddress } from '../../src/l2tp/index.js';
import type { SessionId, TunnelId } from '../../src/wire/l2tp/types.js';

/** Link impairments. */
export interface LinkProfile {
  /** Probability a datagram is lost. */
  readonly loss: number;
  /** Probability a datagram is delivered twice. */
  readonly duplicate: number;
  /** Base one-way delay (ms). */
  readonly delay: number;
  /** Extra uniform random delay (ms) — causes reordering. */
  readonly jitter: number;
}

/** A perfect link: 1 ms, no loss. */
export const PERFECT: LinkProfile = { loss: 0, duplicate: 0, delay: 1, jitter: 0 };

/** One simulated host running an engine. */
export interface SimNode {
  readonly name: string;
  readonly addr: PeerAddress;
  readonly engine: L2tpEngine;
  /** Captured events (those not filtered out). */
  readonly events: L2tpEvent[];
  /** Every datagram this node sent (when recording). */
  readonly sent: { at: number; to: PeerAddress; data: Uint8Array }[];
  /** PPP frames its sessions received, through the data sinks the network binds at `session-established`. */
  readonly data: SimData[];
}

/** One PPP frame a session received (a copy). */
export interface SimData {
  readonly tunnel: TunnelId;
  readonly session: SessionId;
  readonly payload: Uint8Array;
}

interface InFlight {
  readonly at: number;
  readonly seq: number;
  readonly from: PeerAddress;
  readonly to: PeerAddress;
  readonly data: Uint8Array;
}

/** The network plus virtual clock. */
export class SimNet {
  now = 0;
  private readonly nodes = new Map<string, SimNode>();
  private inflight: InFlight[] = [];
  private seq = 0;
  private readonly rng: RandomSource;
  /** Drop these event types instead of recording them (keeps big runs light). */
  ignore = new Set<L2tpEvent['type']>();
  /** Record transmitted datagrams per node. */
  record = false;
  /** Bind a recording data sink to every session that comes up (off for big runs). */
  recordData = true;
  /** Datagram filter (return false to drop), applied before impairments. */
  filter: ((from: PeerAddress, to: PeerAddress, data: Uint8Array) => boolean) | undefined;
  delivered = 0;
  dropped = 0;

  /** Create a network with a seed and link profile. */
  constructor(
    seed: number,
    public profile: LinkProfile = PERFECT,
  ) {
    this.rng = seededRandom(seed);
  }

  /** A float in [0,1). */
  private rand(): number {
    return this.rng.u32() / 0x100000000;
  }

  /** Attach an engine at an address. */
  add(name: string, address: string, engine: L2tpEngine, port = 1701): SimNode {
    const node: SimNode = { name, addr: { address, port, family: 4 }, engine, events: [], sent: [], data: [] };
    this.nodes.set(`${address}|${port}`, node);
    return node;
  }

  /** Pull transmits and events out of every engine. */
  drain(): void {
    for (const n of this.nodes.values()) {
      for (let tx = n.engine.pollTransmit(); tx !== undefined; tx = n.engine.pollTransmit()) {
        if (this.record) n.sent.push({ at: this.now, to: tx.to, data: tx.data });
        this.send(n.addr, tx.to, tx.data);
      }
      for (let ev = n.engine.pollEvent(); ev !== undefined; ev = n.engine.pollEvent()) {
        if (!this.ignore.has(ev.type)) n.events.push(ev);
        if (ev.type === 'session-established' && this.recordData) {
          const { tunnel, session } = ev;
          n.engine.bindSession(this.now as Instant, tunnel, session, { handleData: (_now, f) => n.data.push({ tunnel, session, payload: Uint8Array.from(f) }) });
        }
      }
    }
  }

  /** Put a datagram on the link (subject to the profile). */
  send(from: PeerAddress, to: PeerAddress, data: Uint8Array): void {
    if (this.filter !== undefined && !this.filter(from, to, data)) {
      this.dropped++;
      return;
    }
    const p = this.profile;
    if (p.loss > 0 && this.rand() < p.loss) {
      this.dropped++;
      return;
    }
    const copies = p.duplicate > 0 && this.rand() < p.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const at = this.now + p.delay + (p.jitter > 0 ? Math.floor(this.rand() * p.jitter) : 0);
      this.inflight.push({ at, seq: this.seq++, from, to, data: data.slice() });
    }
  }

  /** Inject a raw datagram now (delivered after the base delay, no impairments). */
  inject(from: PeerAddress, to: PeerAddress, data: Uint8Array): void {
    this.inflight.push({ at: this.now + this.profile.delay, seq: this.seq++, from, to, data });
  }

  private nextPacketAt(): number | undefined {
    let best: number | undefined;
    for (const f of this.inflight) if (best === undefined || f.at < best) best = f.at;
    return best;
  }

  /** Advance the clock to `until`, delivering datagrams and firing timers in time order. */
  runUntil(until: number): void {
    this.drain();
    for (;;) {
      let next = this.nextPacketAt();
      for (const n of this.nodes.values()) {
        const at = n.engine.pollAt();
        if (at !== undefined && (next === undefined || at < next)) next = at;
      }
      if (next === undefined || next > until) break;
      if (next > this.now) this.now = next;
      const now = this.now as Instant;
      // Deliver every datagram due now, in (time, seq) order.
      const due = this.inflight.filter((f) => f.at <= this.now).sort((a, b) => a.at - b.at || a.seq - b.seq);
      if (due.length > 0) this.inflight = this.inflight.filter((f) => f.at > this.now);
      for (const f of due) {
        const node = this.nodes.get(`${f.to.address}|${f.to.port}`);
        if (node === undefined) continue;
        this.delivered++;
        node.engine.handleDatagram(now, f.data, f.from);
        this.drain();
      }
      for (const n of this.nodes.values()) {
        const at = n.engine.pollAt();
        if (at !== undefined && at <= this.now) n.engine.handleTimeout(now);
      }
      this.drain();
    }
    this.now = Math.max(this.now, until);
  }

  /** Advance by `ms`. */
  advance(ms: number): void {
    this.runUntil(this.now + ms);
  }

}

/** Events of one type captured at a node. */
export function eventsOf<T extends L2tpEvent['type']>(node: SimNode, type: T): Extract<L2tpEvent, { type: T }>[] {
  return node.events.filter((e): e is Extract<L2tpEvent, { type: T }> => e.type === type);
}
