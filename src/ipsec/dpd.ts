/**
 * Dead Peer Detection (RFC 3706) of one IKE SA, for both roles: when to probe, the sequence
 * numbers of a probe round, when the peer counts as dead, and the round that sends R-U-THERE or
 * reports `dpd-failed` (the core then fires its `dpd-dead` event).
 */
import { addDuration, earliest, millis, type Duration, type Instant } from '../base/index.js';
import type { Endpoint } from './addr.js';
import type { IkeOutput } from './ike-exchange.js';
import { dpdPayload } from './informational.js';
import type { IkePayload } from '../wire/ike/index.js';

/** RFC 3706 timing: idle interval before R-U-THERE, and how long without R-U-THERE-ACK means dead. */
export interface DpdTiming {
  readonly interval: Duration;
  readonly timeout: Duration;
}

/** DPD of one IKE SA (probing only while the caller says it applies). */
export class DpdState {
  private heardAt: Instant;
  private seq: number;
  /** First R-U-THERE sequence number of the outstanding probe round. */
  private firstSeq = 0;
  private pendingSince: Instant | undefined;
  private nextSend: Instant | undefined;

  /** `seq` is the random start of the sequence numbers (RFC 3706 §7). */
  constructor(now: Instant, seq: number) {
    this.heardAt = now;
    this.seq = seq;
  }

  /** An authenticated IKE message from the peer: restart the idle interval. */
  heard(now: Instant): void {
    this.heardAt = now;
  }

  /** Traffic on one of the child SAs: the peer is alive, an outstanding probe round ends. */
  alive(now: Instant): void {
    this.heardAt = now;
    this.pendingSince = undefined;
  }

  /** RFC 3706 §6.1: an ACK for any number of the outstanding round counts; others are replays. */
  ack(seq: number): void {
    if (this.pendingSince !== undefined && seq >= this.firstSeq && seq <= this.seq) this.pendingSince = undefined;
  }

  /** When `tick` has work: the next probe, or the end of the timeout. */
  due(t: DpdTiming): Instant {
    if (this.pendingSince !== undefined) return earliest(this.nextSend, addDuration(this.pendingSince, t.timeout)) ?? this.pendingSince;
    return addDuration(this.heardAt, t.interval);
  }

  /**
   * At `now`: undefined when nothing is due, 'dead' when no ACK came within the timeout (RFC 3706
   * §5.5), else the sequence number of the R-U-THERE to send now. Every R-U-THERE (also a
   * retransmission) carries the next number (§6.1); probes repeat every timeout/5 (at least 1 s).
   */
  tick(now: Instant, t: DpdTiming): 'dead' | number | undefined {
    if (this.due(t) > now) return undefined;
    if (this.pendingSince !== undefined && addDuration(this.pendingSince, t.timeout) <= now) return 'dead';
    this.seq = (this.seq + 1) & 0x7fffffff;
    if (this.pendingSince === undefined) {
      this.pendingSince = now;
      this.firstSeq = this.seq;
    }
    this.nextSend = addDuration(now, millis(Math.max(1000, Math.floor(t.timeout / 5))));
    return this.seq;
  }
}

/**
 * One DPD round at `now` on an IKE SA whose peer does DPD: send the R-U-THERE `tick` asks for, or,
 * when the peer is dead (RFC 3706 §5.5: no acknowledgement within the timeout), report
 * `dpd-failed` and return 'dead' for the caller's FSM.
 */
export function runDpd(
  now: Instant, t: DpdTiming, out: IkeOutput,
  sa: { readonly id: number; readonly remote: Endpoint; readonly icookie: Uint8Array; readonly rcookie: Uint8Array; readonly dpd: DpdState },
  send: (payloads: readonly IkePayload[]) => void,
): 'dead' | undefined {
  const r = sa.dpd.tick(now, t);
  if (r === 'dead') {
    out.emit({ type: 'dpd-failed', ikeSaId: sa.id, remote: sa.remote });
    return 'dead';
  }
  if (r !== undefined) send([dpdPayload(sa, 'r-u-there', r)]);
  return undefined;
}
