/**
 * The data channel of one session (RFC 2661 §3.1 data messages, §5.4 data sequencing), sans-I/O.
 *
 * Inbound it is the end of the data fast path: the engine checked the header once (`L2tpHeaderView`),
 * the tunnel found the session, and here the offset bound and the Ns check are applied, plain counters
 * are bumped and the PPP frame goes to the bound `SessionDataSink` — no event, no copy. Outbound it
 * writes the data header in front of a PPP frame, into the caller's headroom when it gives it up.
 */
import type { Instant } from '../base/index.js';
import { dataHeaderLength, type L2tpHeaderView, type SessionId, type TunnelId, writeDataHeader } from '../wire/l2tp/index.js';
import { DATA_BACKLOG, type SessionDataSink, type TunnelCounters } from './api.js';
import { seqAdd, seqLt } from './channel.js';

/** Largest frame held for a sink that is not bound yet (LCP / authentication frames are far smaller). */
const BACKLOG_FRAME_MAX = 2048;

/** What a data channel needs from its control connection: the tunnel-wide counters and offset bound. */
export interface DataOwner {
  readonly counters: TunnelCounters;
  readonly settings: { readonly maxOffset: number };
}

/** One session's data channel: sequencing state, counters, the bound sink. */
export class DataChannel {
  /** S bit on our data messages (§5.4: Sequencing Required from the peer, or our own setting). */
  sequencing: boolean;
  /** Ns of our next data message. */
  private ns = 0;
  /** The Ns we expect next from the peer (§5.4: older ones are dropped). */
  private nr = 0;
  rxPackets = 0;
  rxOctets = 0;
  txPackets = 0;
  txOctets = 0;
  private sink: SessionDataSink | undefined;
  /** Frames of an established session received before its sink was bound (copies, bounded). */
  private backlog: Uint8Array[] | undefined;

  /** A channel of a session of `owner`; `sequencing` is the tunnel's own setting. */
  constructor(
    private readonly owner: DataOwner,
    sequencing: boolean,
  ) {
    this.sequencing = sequencing;
  }

  /**
   * One inbound data message of this (established) session, header checked as `view`. Drops (and
   * counts in `dataDropped`) an Offset Size above `maxOffset` (seed 002) and, with sequencing, a
   * message whose Ns is before the expected one (§5.4); else counts it and hands the frame to the sink
   * (`hold`: keeps it for later, the session is not established yet; see `release`).
   */
  receive(now: Instant, view: L2tpHeaderView, hold = false): void {
    const c = this.owner.counters;
    if (view.offsetSize > this.owner.settings.maxOffset) {
      c.dataDropped++;
      return;
    }
    if (view.sequenced) {
      // §5.4: a data message that arrives late (Ns before the expected one) is dropped.
      if (seqLt(view.ns, this.nr)) {
        c.dataDropped++;
        return;
      }
      this.nr = seqAdd(view.ns, 1);
    }
    const frame = view.payload();
    this.rxPackets++;
    this.rxOctets += frame.length;
    c.dataRxPackets++;
    c.dataRxOctets += frame.length;
    const sink = this.sink;
    if (sink !== undefined && !hold) sink.handleData(now, frame);
    else this.hold(frame);
  }

  /** Bind (or unbind) the sink; frames held until now are delivered to it in order. */
  bind(now: Instant, sink: SessionDataSink | undefined): void {
    this.sink = sink;
    this.release(now);
  }

  /** Deliver the frames held so far to the bound sink, in order (the session just came up). */
  release(now: Instant): void {
    const sink = this.sink;
    const held = this.backlog;
    if (sink === undefined || held === undefined) return;
    this.backlog = undefined;
    for (const f of held) sink.handleData(now, f);
  }

  /**
   * The datagram for one outbound PPP frame (§3.1: no L, S iff sequencing, no offset). With
   * `headroomFree` and room in front of the frame the header is written there (no copy), else the
   * frame is copied once behind a new header.
   */
  encapsulate(tunnel: TunnelId, session: SessionId, frame: Uint8Array, headroomFree: boolean): Uint8Array {
    const sequenced = this.sequencing;
    const hl = dataHeaderLength({ sequenced });
    const total = hl + frame.length;
    const inPlace = headroomFree && frame.byteOffset >= hl;
    const buf = inPlace ? new Uint8Array(frame.buffer, frame.byteOffset - hl, total) : new Uint8Array(total);
    if (sequenced) {
      writeDataHeader(buf, 0, { tunnelId: tunnel, sessionId: session, ns: this.ns, nr: 0 }, total);
      this.ns = seqAdd(this.ns, 1);
    } else {
      writeDataHeader(buf, 0, { tunnelId: tunnel, sessionId: session }, total);
    }
    if (!inPlace) buf.set(frame, hl);
    this.txPackets++;
    this.txOctets += frame.length;
    this.owner.counters.dataTxPackets++;
    this.owner.counters.dataTxOctets += frame.length;
    return buf;
  }

  /** Keep a copy of a frame for the sink bound later ({@link DATA_BACKLOG} frames, small ones only). */
  private hold(frame: Uint8Array): void {
    const held = (this.backlog ??= []);
    if (held.length >= DATA_BACKLOG || frame.length > BACKLOG_FRAME_MAX) {
      this.owner.counters.dataDropped++;
      return;
    }
    held.push(Uint8Array.from(frame)); // a copy (a Buffer's slice() would be a view)
  }
}
