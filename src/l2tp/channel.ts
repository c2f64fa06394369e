/**
 * The reliable control channel of one tunnel (RFC 2661 §5.8 and Appendix A), sans-I/O.
 *
 * It numbers outgoing control messages (Ns), acknowledges received ones (Nr), delivers them in
 * order exactly once, retransmits with exponential backoff and runs slow start / congestion
 * avoidance. It never sees bytes: the owner encodes `ChannelSink.transmit` calls into datagrams.
 */
import type { Duration, Instant } from '../base/index.js';
import type { ChannelTuning } from './api.js';

/** Sequence numbers are 16 bits and wrap (§5.8). */
const SEQ_MOD = 0x10000;
/** Half the sequence space: the comparison horizon (RFC 1982 serial arithmetic). */
const SEQ_HALF = 0x8000;
/** Receive Window Size assumed when the peer sends no AVP 10 (§4.4.3). */
export const DEFAULT_PEER_WINDOW = 4;

/** `a + n` modulo 2^16. */
export const seqAdd = (a: number, n: number): number => (a + n) & 0xffff;
/** True when `a` precedes `b` in 16-bit serial arithmetic (§5.8 "modulo 2^16"). */
export const seqLt = (a: number, b: number): boolean => a !== b && ((b - a + SEQ_MOD) & 0xffff) < SEQ_HALF;
/** `b - a` modulo 2^16 (distance forward from a to b). */
export const seqDiff = (a: number, b: number): number => (b - a + SEQ_MOD) & 0xffff;

/** What the channel asks its owner to put on the wire. */
export interface ChannelSink<M> {
  /** Send `body` (or a ZLB ack when undefined) with these sequence numbers. */
  transmit(ns: number, nr: number, body: M | undefined, retransmission: boolean): void;
}

/** Result of feeding one received message to the channel. */
export type ReceiveVerdict = 'delivered' | 'queued' | 'duplicate' | 'out-of-window' | 'zlb';

/** One message we sent and the peer has not acknowledged yet. */
interface Unacked<M> {
  readonly ns: number;
  readonly body: M;
  /** Retransmissions done so far. */
  attempt: number;
  /** Retransmitted at the cap until acknowledged: its owner decides when to give up (HELLO, §6.5). */
  readonly persistent: boolean;
  /** When the retransmission timer of this message fires. */
  deadline: Instant;
}

/** Outcome of `handleTimeout`: `failed` once a message ran out of retries (§5.8 → tunnel teardown). */
export type ChannelTimeout = 'ok' | 'failed';

/**
 * The reliable delivery state of one control connection.
 * `M` is the outgoing message body (unencoded), `R` the received one.
 */
export class ReliableChannel<M, R = M> {
  /** Ns of the next new message we send. */
  private nextNs = 0;
  /** Nr: Ns we expect next from the peer. */
  private expected = 0;
  /** Sent and not yet acknowledged, in Ns order. */
  private readonly unacked: Unacked<M>[] = [];
  /** Waiting for window space, not yet numbered. */
  private readonly pending: M[] = [];
  /** Out-of-order messages received, keyed by Ns, bounded by our window (§5.8). */
  private readonly reorder = new Map<number, R>();
  /** When a delayed ZLB ack is due, or undefined. */
  private ackAt: Instant | undefined;
  /** Peer's Receive Window Size (AVP 10, default 4). */
  peerWindow = DEFAULT_PEER_WINDOW;
  /** Appendix A congestion window. */
  cwnd = 1;
  /** Appendix A slow-start threshold. */
  ssthresh = DEFAULT_PEER_WINDOW;
  /** Acks counted during congestion avoidance. */
  private caAcks = 0;
  /** Selects the retry budget (§5.8: separate counts before/after establishment). */
  established = false;
  /** Counters for show commands. */
  readonly stats = { retransmits: 0, duplicates: 0, outOfWindow: 0, zlbTx: 0, zlbRx: 0 };

  /**
   * Create a channel with tuning and a sink for outgoing messages. `persistent` marks messages whose
   * retransmissions never run out (the owner's own timer ends the connection instead: the keepalive
   * counts unanswered HELLO intervals, so the retry budget must not end it first).
   */
  constructor(
    private readonly tuning: ChannelTuning,
    private readonly sink: ChannelSink<M>,
    private readonly onRetransmit?: (ns: number, attempt: number, nextIn: Duration) => void,
    private readonly persistent?: (m: M) => boolean,
  ) {}

  /** Ns of the next new message. */
  get ns(): number {
    return this.nextNs;
  }
  /** Current Nr. */
  get nr(): number {
    return this.expected;
  }
  /** Number of messages sent and not acknowledged. */
  get inFlight(): number {
    return this.unacked.length;
  }
  /** True when nothing is queued or unacknowledged. */
  get idle(): boolean {
    return this.unacked.length === 0 && this.pending.length === 0;
  }
  /** True when a delayed ack is still owed. */
  get ackPending(): boolean {
    return this.ackAt !== undefined;
  }

  /** Set the peer's window from its Receive Window Size AVP (absent → 4, §4.4.3). */
  setPeerWindow(rws: number | undefined): void {
    this.peerWindow = rws === undefined || rws < 1 ? DEFAULT_PEER_WINDOW : rws;
    this.ssthresh = this.peerWindow;
    if (this.cwnd > this.peerWindow) this.cwnd = this.peerWindow;
  }

  /**
   * Queue a message for reliable delivery and transmit what the window allows. `urgent` (StopCCN)
   * ignores CWND and is limited only by the peer's window, so a teardown is not stuck behind
   * messages a dead peer never acknowledges.
   */
  send(now: Instant, body: M, urgent = false): void {
    this.pending.push(body);
    this.flush(now, urgent);
  }

  /** Transmit queued messages while fewer than min(CWND, peer RWS) are unacknowledged (Appendix A). */
  flush(now: Instant, urgent = false): void {
    const limit = urgent ? this.peerWindow : Math.min(this.cwnd, this.peerWindow);
    while (this.pending.length > 0 && this.unacked.length < limit) {
      const body = this.pending.shift() as M;
      const entry: Unacked<M> = {
        ns: this.nextNs,
        body,
        attempt: 0,
        persistent: this.persistent?.(body) ?? false,
        deadline: (now + this.tuning.retransmitInitial) as Instant,
      };
      this.nextNs = seqAdd(this.nextNs, 1);
      this.unacked.push(entry);
      // The message piggybacks Nr: any delayed ZLB is now redundant (§5.8).
      this.ackAt = undefined;
      this.sink.transmit(entry.ns, this.expected, body, false);
    }
  }

  /**
   * Feed a received control message (body undefined = ZLB). Returns the verdict and pushes
   * in-order bodies, possibly several after a gap is filled, to `deliver`.
   */
  receive(now: Instant, ns: number, nr: number, body: R | undefined, deliver: (m: R) => void): ReceiveVerdict {
    this.processAck(now, nr);
    if (body === undefined) {
      // §5.8: a ZLB only acknowledges; it does not consume a sequence number.
      this.stats.zlbRx++;
      return 'zlb';
    }
    if (ns === this.expected) {
      this.expected = seqAdd(this.expected, 1);
      this.scheduleAck(now);
      deliver(body);
      // Drain the reorder queue now that the gap is filled.
      for (let next = this.reorder.get(this.expected); next !== undefined; next = this.reorder.get(this.expected)) {
        this.reorder.delete(this.expected);
        this.expected = seqAdd(this.expected, 1);
        deliver(next);
      }
      return 'delivered';
    }
    if (seqLt(ns, this.expected)) {
      // §5.8: a duplicate must be acknowledged again (our ack was lost) but not re-delivered.
      this.stats.duplicates++;
      this.scheduleAck(now);
      return 'duplicate';
    }
    if (seqDiff(this.expected, ns) < this.tuning.receiveWindow) {
      if (!this.reorder.has(ns)) this.reorder.set(ns, body);
      this.scheduleAck(now);
      return 'queued';
    }
    this.stats.outOfWindow++;
    return 'out-of-window';
  }

  /** Drop acknowledged messages (everything before `nr`) and grow CWND (Appendix A). */
  private processAck(now: Instant, nr: number): void {
    const first = this.unacked[0];
    if (first === undefined) return;
    // Only accept an Nr in (oldest unacked, nextNs]; anything else acknowledges nothing we sent.
    const acked = seqDiff(first.ns, nr);
    if (acked === 0 || acked > this.unacked.length) return;
    this.unacked.splice(0, acked);
    for (let i = 0; i < acked; i++) this.growWindow();
    this.flush(now);
  }

  /** Appendix A: +1 per ack below SSTHRESH, then +1 per CWND acks; never above the peer's RWS. */
  private growWindow(): void {
    if (this.cwnd < this.ssthresh) {
      this.cwnd++;
    } else {
      this.caAcks++;
      if (this.caAcks >= this.cwnd) {
        this.caAcks = 0;
        this.cwnd++;
      }
    }
    if (this.cwnd > this.peerWindow) this.cwnd = this.peerWindow;
  }

  /** Arm the delayed ZLB ack unless one is already armed. */
  private scheduleAck(now: Instant): void {
    if (this.ackAt === undefined) this.ackAt = (now + this.tuning.ackDelay) as Instant;
  }

  /**
   * Send `body` once with the next Ns, never retransmitted (a last StopCCN to a peer that stopped
   * answering: its Ns follows what we sent, which a peer whose acks were lost has received).
   */
  sendOnce(body: M): void {
    const ns = this.nextNs;
    this.nextNs = seqAdd(ns, 1);
    this.ackAt = undefined;
    this.sink.transmit(ns, this.expected, body, false);
  }

  /** Send a ZLB now if an ack is owed (used before releasing a closed tunnel). */
  ackNow(): void {
    if (this.ackAt === undefined) return;
    this.ackAt = undefined;
    this.stats.zlbTx++;
    this.sink.transmit(this.nextNs, this.expected, undefined, false);
  }

  /** Earliest instant a timer of this channel is due. */
  pollAt(): Instant | undefined {
    let at = this.ackAt;
    const first = this.unacked[0];
    if (first !== undefined) {
      for (const u of this.unacked) if (at === undefined || u.deadline < at) at = u.deadline;
    }
    return at;
  }

  /** Retries allowed in the current phase. */
  private get retryBudget(): number {
    return this.established ? this.tuning.retriesEstablished : this.tuning.retriesNotEstablished;
  }

  /** Backoff for the given attempt: initial × 2^attempt, capped (§5.8). */
  private backoff(attempt: number): Duration {
    const d = this.tuning.retransmitInitial * 2 ** Math.min(attempt, 30);
    return (d > this.tuning.retransmitCap ? this.tuning.retransmitCap : d) as Duration;
  }

  /** Run due timers: send delayed acks, retransmit timed-out messages, or report failure. */
  handleTimeout(now: Instant): ChannelTimeout {
    if (this.ackAt !== undefined && this.ackAt <= now) this.ackNow();
    for (const u of this.unacked) {
      if (u.deadline > now) continue;
      if (u.attempt >= this.retryBudget && !u.persistent) return 'failed';
      u.attempt++;
      const nextIn = this.backoff(u.attempt);
      u.deadline = (now + nextIn) as Instant;
      // Appendix A: on retransmission SSTHRESH = max(CWND/2, 1) and CWND = 1.
      this.ssthresh = Math.max(Math.floor(this.cwnd / 2), 1);
      this.cwnd = 1;
      this.caAcks = 0;
      this.stats.retransmits++;
      this.ackAt = undefined;
      this.onRetransmit?.(u.ns, u.attempt, nextIn);
      this.sink.transmit(u.ns, this.expected, u.body, true);
    }
    return 'ok';
  }

  /** Forget everything queued (tunnel torn down). Keeps Ns/Nr so late duplicates are still acked. */
  abandon(): void {
    this.unacked.length = 0;
    this.pending.length = 0;
    this.reorder.clear();
  }
}
