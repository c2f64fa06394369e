/**
 * Per-tunnel payload counters that only go up, the daemon-wide payload totals, and the baselines of
 * `l2tpctl clear statistics` (issue 14 item 5, Junos `show services l2tp tunnel statistics` and
 * jnxL2tpTunnelStatsData*). Sans-I/O: the views feed it one sample per listing.
 *
 * A tunnel's payload = the engine's data counters (every packet that went through JavaScript) plus
 * the native fast path's share of its sessions. The fast-path share of a session leaves the sum when
 * the session ends; the ledger keeps such a drop as a carry, so a tunnel's totals never decrease. A
 * tunnel missing from a sample is gone: its totals move into the retired sum (daemon-wide totals).
 */

/** Payload packets and octets each way (rx = from the peer). */
export interface DataCounters {
  readonly rxPackets: number;
  readonly rxOctets: number;
  readonly txPackets: number;
  readonly txOctets: number;
}

/** All zero. */
export const ZERO_DATA: DataCounters = { rxPackets: 0, rxOctets: 0, txPackets: 0, txOctets: 0 };

const FIELDS = ['rxPackets', 'rxOctets', 'txPackets', 'txOctets'] as const;

/** `a + b` field by field. */
export const addData = (a: DataCounters, b: DataCounters): DataCounters => ({
  rxPackets: a.rxPackets + b.rxPackets,
  rxOctets: a.rxOctets + b.rxOctets,
  txPackets: a.txPackets + b.txPackets,
  txOctets: a.txOctets + b.txOctets,
});

/** `a - b` field by field, never below 0 (a baseline above the value means the counter restarted). */
export const subData = (a: DataCounters, b: DataCounters): DataCounters => ({
  rxPackets: Math.max(0, a.rxPackets - b.rxPackets),
  rxOctets: Math.max(0, a.rxOctets - b.rxOctets),
  txPackets: Math.max(0, a.txPackets - b.txPackets),
  txOctets: Math.max(0, a.txOctets - b.txOctets),
});

interface TunnelEntry {
  /** The last raw value and the carry of earlier drops. */
  last: DataCounters;
  carry: DataCounters;
  /** Sample generation that saw it last. */
  seen: number;
}

/** A tunnel at `clear statistics`: its payload and its control counters. */
export interface TunnelBaseline {
  readonly data: DataCounters;
  readonly counters: Readonly<Record<string, number>>;
}

/** What `clear statistics` remembered, by tunnel key and by session key. */
export interface Baselines {
  tunnel(key: string): TunnelBaseline | undefined;
  session(key: string): SessionBaseline | undefined;
  /** When it ran (ms of the daemon's clock), undefined = never. */
  readonly clearedAt: number | undefined;
}

/** A session's counters at `clear statistics` (the `show` views subtract it). */
export type SessionBaseline = DataCounters;

/** The ledger (one per daemon). */
export class DataLedger implements Baselines {
  private readonly tunnels = new Map<string, TunnelEntry>();
  private retired: DataCounters = ZERO_DATA;
  private generation = 0;
  private readonly tunnelBase = new Map<string, TunnelBaseline>();
  private readonly sessionBase = new Map<string, DataCounters>();
  /** When `clear statistics` ran last (ms of the injected clock), undefined = never. */
  clearedAt: number | undefined;

  /** Start a sample (one full listing); pass the number to {@link endSample}. */
  beginSample(): number {
    return ++this.generation;
  }

  /** One tunnel's raw payload counters in the sample `gen`: its monotone totals. */
  observe(gen: number, key: string, raw: DataCounters): DataCounters {
    let e = this.tunnels.get(key);
    if (e === undefined) {
      e = { last: raw, carry: ZERO_DATA, seen: gen };
      this.tunnels.set(key, e);
    }
    const carry: Record<(typeof FIELDS)[number], number> = { ...e.carry };
    for (const f of FIELDS) if (raw[f] < e.last[f]) carry[f] += e.last[f] - raw[f];
    e.carry = carry;
    e.last = raw;
    e.seen = Math.max(e.seen, gen);
    return addData(raw, carry);
  }

  /** End sample `gen`: tunnels it did not see are gone (their totals retire, their baselines go). */
  endSample(gen: number): void {
    for (const [key, e] of this.tunnels) {
      if (e.seen >= gen) continue;
      this.retired = addData(this.retired, addData(e.last, e.carry));
      this.tunnels.delete(key);
      this.tunnelBase.delete(key);
      for (const k of this.sessionBase.keys()) if (k.startsWith(`${key}/`)) this.sessionBase.delete(k);
    }
  }

  /** Daemon-wide payload since start: the tunnels of the last sample and every tunnel gone before. */
  totals(): DataCounters {
    let t = this.retired;
    for (const e of this.tunnels.values()) t = addData(t, addData(e.last, e.carry));
    return t;
  }

  /** Tunnels the ledger follows now. */
  get size(): number {
    return this.tunnels.size;
  }

  /** `clear statistics`: remember what every tunnel and session shows now (their `show` counters restart at 0). */
  clear(at: number, tunnels: readonly (TunnelBaseline & { readonly key: string; readonly sessions: readonly { readonly key: string; readonly data: DataCounters }[] })[]): void {
    this.tunnelBase.clear();
    this.sessionBase.clear();
    for (const t of tunnels) {
      this.tunnelBase.set(t.key, { data: t.data, counters: t.counters });
      for (const s of t.sessions) this.sessionBase.set(s.key, s.data);
    }
    this.clearedAt = at;
  }

  /** A tunnel's baseline, if cleared. */
  tunnel(key: string): TunnelBaseline | undefined {
    return this.tunnelBase.get(key);
  }

  /** A session's baseline, if cleared. */
  session(key: string): SessionBaseline | undefined {
    return this.sessionBase.get(key);
  }
}

/** The ledger key of a tunnel: its listener and local tunnel id. */
export const tunnelKey = (localAddress: string, localPort: number, tunnel: number): string => `${localAddress}:${localPort}/${tunnel}`;

/** The baseline key of a session. */
export const sessionKey = (tunnel: string, session: number): string => `${tunnel}/${session}`;
