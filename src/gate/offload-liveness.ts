/**
 * DPD liveness of offloaded SAs (issue 16 item 3, RFC 3706 §5.3 "traffic from the peer is proof of
 * liveness"): ESP that the data plane opens never passes the gate, so the IKE core would think a busy
 * peer silent and probe it, or declare it dead. The gate keeps the inbound SAs it handed to the data
 * plane here; when an IKE timer is due (DPD ticks among them) it calls `scan`, which reads each SA's
 * packet counter — kept by the data plane, a cheap read — and reports the SAs whose count grew since
 * the last read as activity. Reads happen at most once per `minGap`, so the idle time DPD sees is at
 * most that much shorter than the truth; with many SAs a due IKE timer costs one pass per `minGap`.
 */
import { millis, type Duration, type Instant } from '../base/index.js';
import type { EspSaLike } from './esp-offload.js';

/** The IKE core's side of it (IkeResponder, IkeInitiator). */
export interface ActivitySink {
  /** Traffic from the peer arrived on the child SA with our inbound SPI. */
  noteActivity(now: Instant, inboundSpi: number): void;
  /** As noteActivity for many inbound SPIs at once (one pass over the IKE SAs). */
  noteActivityAll?(now: Instant, inboundSpis: ReadonlySet<number>): void;
}

/** Offloaded inbound SAs by SPI and their packet counts at the last read. */
export class OffloadLiveness {
  private readonly sas = new Map<number, { readonly sa: Pick<EspSaLike, 'counters'>; seen: number }>();
  private lastScan: Instant | undefined;

  /** At most one pass over the counters per `minGap` (default 1 s). */
  constructor(private readonly minGap: Duration = millis(1000)) {}

  /** An inbound SA now opened by the data plane. */
  add(spi: number, sa: Pick<EspSaLike, 'counters'>): void {
    this.sas.set(spi >>> 0, { sa, seen: sa.counters.packetsIn });
  }

  /** The SA is gone. */
  remove(spi: number): void {
    this.sas.delete(spi >>> 0);
  }

  /** Number of SAs watched. */
  get size(): number {
    return this.sas.size;
  }

  /** `scan` at `now` and tell `ike` about the SAs whose count grew (one batch when it takes one). */
  report(now: Instant, ike: ActivitySink): void {
    const grew = this.scan(now);
    if (grew.length === 0) return;
    if (ike.noteActivityAll) ike.noteActivityAll(now, new Set(grew));
    else for (const spi of grew) ike.noteActivity(now, spi);
  }

  /**
   * At `now`: the SPIs whose inbound packet count grew since the last read (empty when the last
   * pass was less than `minGap` ago or nothing is offloaded).
   */
  scan(now: Instant): number[] {
    if (this.sas.size === 0 || (this.lastScan !== undefined && now - this.lastScan < this.minGap)) return [];
    this.lastScan = now;
    const grew: number[] = [];
    for (const [spi, e] of this.sas) {
      const n = e.sa.counters.packetsIn;
      if (n !== e.seen) {
        e.seen = n;
        grew.push(spi);
      }
    }
    return grew;
  }
}
