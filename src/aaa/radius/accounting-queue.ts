/**
 * The accounting record queue: every record keeps its sequence number and waits here until a server
 * answered it (RFC 2866 §2: "the client ... MUST keep retransmitting"). Nothing is dropped while it
 * is below its bound. Order rules for sending:
 *  - the records of one session go one at a time, oldest first (Start before Interims before Stop);
 *  - Accounting-On/Off (RFC 2866 §5.1) are barriers: sent when everything before them is answered,
 *    and nothing after them is sent until they are;
 *  - in durable mode a record is sent only after the spool confirmed it written.
 * The queue also collects the spool's work (append new records, acknowledge delivered ones).
 */
import type { Instant } from '../../base/index.js';
import type { AccountingRecord, AccountingSeq, SpooledRecord, SpoolWork } from './types.js';

/** One queued record. `S` is the client's server type. */
export interface AcctEntry<S> {
  readonly seq: AccountingSeq;
  readonly record: AccountingRecord;
  state: 'waiting' | 'in-flight' | 'done';
  /** Not before this instant (set when every server failed it in one round). */
  retryAt: Instant | undefined;
  /** Servers that failed this record in the current round. */
  readonly tried: Set<S>;
}

const isBarrier = (r: AccountingRecord): boolean => r.status === 'accounting-on' || r.status === 'accounting-off';

/** Ordered records, their send rules and the spool work. */
export class AccountingQueue<S> {
  private entries: AcctEntry<S>[] = [];
  private head = 0;
  private nextSeq = 1;
  private committedUpTo = 0;
  private queued = 0;
  private inFlight = 0;
  private started = false;
  private readonly toAppend: SpooledRecord[] = [];
  private readonly toAck: AccountingSeq[] = [];

  constructor(
    private readonly durable: boolean,
    private readonly maxQueued: number,
  ) {}

  /** Records not yet answered. */
  get depth(): number {
    return this.queued;
  }

  /** Records in flight. */
  get sending(): number {
    return this.inFlight;
  }

  /** Records handed to the spool but not confirmed written (durable mode). */
  get uncommitted(): number {
    return Math.max(0, this.nextSeq - 1 - this.committedUpTo);
  }

  /** Queue a new record; undefined when the queue is at its bound. */
  append(record: AccountingRecord): AcctEntry<S> | undefined {
    if (this.queued >= this.maxQueued) return undefined;
    this.started = true;
    const seq = this.nextSeq++ as AccountingSeq;
    const e: AcctEntry<S> = { seq, record, state: 'waiting', retryAt: undefined, tried: new Set() };
    this.entries.push(e);
    this.queued++;
    this.toAppend.push({ seq, record });
    return e;
  }

  /** Records from the spool of an earlier run, in order; they are on disk already. Must come first. */
  restore(records: readonly SpooledRecord[]): number {
    if (this.started) throw new Error('AccountingQueue.restore after records were queued');
    const sorted = [...records].sort((a, b) => a.seq - b.seq);
    let n = 0;
    for (const r of sorted) {
      if (r.seq < this.nextSeq) continue;
      this.entries.push({ seq: r.seq, record: r.record, state: 'waiting', retryAt: undefined, tried: new Set() });
      this.queued++;
      this.nextSeq = r.seq + 1;
      this.committedUpTo = r.seq;
      n++;
    }
    return n;
  }

  /** The spool wrote everything up to `seq`. */
  committed(seq: AccountingSeq): void {
    if (seq > this.committedUpTo) this.committedUpTo = seq;
  }

  /** An entry went out. */
  markInFlight(e: AcctEntry<S>): void {
    if (e.state === 'waiting') {
      e.state = 'in-flight';
      this.inFlight++;
    }
  }

  /** An entry came back unanswered this round (deferred): it waits again. */
  markWaiting(e: AcctEntry<S>, retryAt: Instant | undefined): void {
    if (e.state === 'in-flight') this.inFlight--;
    if (e.state !== 'done') e.state = 'waiting';
    e.retryAt = retryAt;
  }

  /** A server answered the entry. */
  complete(e: AcctEntry<S>): void {
    if (e.state === 'done') return;
    if (e.state === 'in-flight') this.inFlight--;
    e.state = 'done';
    this.queued--;
    this.toAck.push(e.seq);
    while (this.head < this.entries.length && (this.entries[this.head] as AcctEntry<S>).state === 'done') this.head++;
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * The entries that may be sent now, oldest first, at most `room` of them (`scanLimit` bounds the
   * work per call); also the earliest `retryAt` among the deferred ones that block nothing else.
   */
  sendable(now: Instant, room: number, scanLimit = 8192): { readonly entries: AcctEntry<S>[]; readonly nextRetryAt: Instant | undefined } {
    const out: AcctEntry<S>[] = [];
    const blocked = new Set<string>();
    let nextRetryAt: Instant | undefined;
    let earlierOpen = false;
    const end = Math.min(this.entries.length, this.head + scanLimit);
    for (let i = this.head; i < end && out.length < room; i++) {
      const e = this.entries[i] as AcctEntry<S>;
      if (e.state === 'done') continue;
      // Sequence numbers grow: past the first record the spool has not confirmed, none is sendable.
      if (this.durable && e.seq > this.committedUpTo) break;
      const barrier = isBarrier(e.record);
      if (barrier && earlierOpen) break;
      const sid = e.record.sessionId;
      if (e.state === 'in-flight' || blocked.has(sid)) {
        blocked.add(sid);
        earlierOpen = true;
        if (barrier) break;
        continue;
      }
      const due = e.retryAt === undefined || e.retryAt <= now;
      if (!due && (nextRetryAt === undefined || (e.retryAt as Instant) < nextRetryAt)) nextRetryAt = e.retryAt;
      if (due) out.push(e);
      blocked.add(sid);
      earlierOpen = true;
      if (barrier) break;
    }
    return { entries: out, nextRetryAt };
  }

  /** The spool's next work item: appends first (in order), then acknowledgements. */
  pollSpool(): SpoolWork | undefined {
    if (this.toAppend.length > 0) return { kind: 'append', records: this.toAppend.splice(0) };
    if (this.toAck.length > 0) return { kind: 'ack', seqs: this.toAck.splice(0) };
    return undefined;
  }
}
