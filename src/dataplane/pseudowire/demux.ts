/**
 * Demultiplexing of received L2TPv3 data messages to pseudowires by Session ID (RFC 3931 §4.5: the
 * Session ID alone gives the context; the cookie is then a plain value match in that context). Over
 * UDP the Ver field and T bit are looked at first (§4.1.2.1): v3 control messages and L2TPv2 are
 * handed back to the caller, not bridged. Unknown sessions and bad headers are dropped and counted.
 */
import { classifyUdp, parseV3DataHeader } from '../../wire/l2tpv3/index.js';
import type { EthernetPseudowire } from './pseudowire.js';

/** What a received datagram turned out to be. */
export type DemuxOutcome =
  | { readonly kind: 'frame'; readonly pseudowire: EthernetPseudowire; readonly frame: Uint8Array }
  | { readonly kind: 'control' }
  | { readonly kind: 'dropped'; readonly reason: 'bad-header' | 'unknown-session' | 'session' | 'not-v3' };

/** Counters of datagrams that reached no pseudowire. */
export interface DemuxCounters {
  /** Data messages for a Session ID we do not have (§4.5: "MUST be dropped"). */
  unknownSession: number;
  /** Too short, wrong Ver or flags. */
  badHeader: number;
  /** Control messages (T=1 over UDP, Session ID 0 over IP), handed to the caller. */
  control: number;
  /** Not L2TPv3 at all (e.g. L2TPv2 on the same port). */
  notV3: number;
}

/** All pseudowires of one transport (one UDP socket or one raw IP socket). */
export class PseudowireDemux {
  readonly counters: DemuxCounters = { unknownSession: 0, badHeader: 0, control: 0, notV3: 0 };
  private readonly sessions = new Map<number, EthernetPseudowire>();

  constructor(readonly encapsulation: 'ip' | 'udp') {}

  /** Add a pseudowire; throws RangeError if its Session ID is taken or its encapsulation differs. */
  add(pw: EthernetPseudowire): void {
    if (pw.settings.encapsulation !== this.encapsulation) throw new RangeError(`pseudowire is ${pw.settings.encapsulation}, demux is ${this.encapsulation}`);
    if (this.sessions.has(pw.localSessionId)) throw new RangeError(`session ${pw.localSessionId} exists`);
    this.sessions.set(pw.localSessionId, pw);
  }

  /** Remove the pseudowire with this local Session ID. */
  remove(localSessionId: number): boolean {
    return this.sessions.delete(localSessionId);
  }

  /** The pseudowire for a local Session ID. */
  get(localSessionId: number): EthernetPseudowire | undefined {
    return this.sessions.get(localSessionId);
  }

  /** Number of pseudowires. */
  get size(): number {
    return this.sessions.size;
  }

  /** Demultiplex one UDP payload or IP payload (never throws; the frame is a view of `datagram`). */
  receive(datagram: Uint8Array): DemuxOutcome {
    const c = this.counters;
    if (this.encapsulation === 'udp') {
      const k = classifyUdp(datagram);
      if (k === 'v3-control') {
        c.control++;
        return { kind: 'control' };
      }
      if (k !== 'v3-data') {
        if (k === 'v2') c.notV3++;
        else c.badHeader++;
        return { kind: 'dropped', reason: k === 'v2' ? 'not-v3' : 'bad-header' };
      }
    } else if (datagram.length >= 4 && datagram[0] === 0 && datagram[1] === 0 && datagram[2] === 0 && datagram[3] === 0) {
      // §4.1.1.2: Session ID 0 marks a control message over IP.
      c.control++;
      return { kind: 'control' };
    }
    const h = parseV3DataHeader(datagram, this.encapsulation);
    if (!h.ok) {
      c.badHeader++;
      return { kind: 'dropped', reason: 'bad-header' };
    }
    const pw = this.sessions.get(h.value.sessionId);
    if (pw === undefined) {
      c.unknownSession++;
      return { kind: 'dropped', reason: 'unknown-session' };
    }
    const frame = pw.decapsulate(datagram, h.value.cookieOffset);
    if (frame === undefined) return { kind: 'dropped', reason: 'session' };
    return { kind: 'frame', pseudowire: pw, frame };
  }
}
