/**
 * One L2TPv3 Ethernet pseudowire (RFC 3931 §4.5, §4.6; RFC 4719), sans-I/O: Ethernet frames in from
 * the attachment circuit (a TAP) become L2TP data messages for the peer (`encapsulate`), data
 * messages for our Session ID become frames again (`decapsulate`). The cookie is chosen per direction
 * (0, 4 or 8 bytes each); the Default L2-Specific Sublayer is optional, with sequence numbers sent
 * and checked on demand. Frames with a wrong cookie, too short, or out of sequence are dropped and
 * counted, never delivered. Counters are plain numbers.
 */
import { clampEthernetMss, ETHERNET_HEADER, l2tpHeaderLength } from './ethernet.js';

/** An Ethernet PW type (RFC 4719): 5 Ethernet (port), 4 Ethernet VLAN. */
export type EthernetPwTypeNumber = 4 | 5;

/** Parameters of one pseudowire, named from this end's view. */
export interface PseudowireSettings {
  /** UDP (§4.1.2) or IP protocol 115 (§4.1.1). */
  readonly encapsulation: 'ip' | 'udp';
  /** RFC 4719 PW type (default 5, Ethernet). Both carry the frame as it is. */
  readonly pwType?: EthernetPwTypeNumber;
  /** Our Session ID: data messages we receive carry it (Linux `session_id`). Non-zero. */
  readonly localSessionId: number;
  /** The peer's Session ID: we send with it (Linux `peer_session_id`, §4.5). Non-zero. */
  readonly peerSessionId: number;
  /** Cookie we send (the peer's Assigned Cookie; Linux `cookie`): 0, 4 or 8 bytes. */
  readonly txCookie: Uint8Array;
  /** Cookie we require on receive (our Assigned Cookie; Linux `peer_cookie`): 0, 4 or 8 bytes. */
  readonly rxCookie: Uint8Array;
  /** L2-Specific Sublayer (§4.6): none, or the 4-byte default (Linux `l2spec_type`). */
  readonly sublayer: 'none' | 'default';
  /** Send S=1 and a sequence number (needs the default sublayer; Linux `seq send|both`). */
  readonly sendSequence?: boolean;
  /** Require in-order sequenced frames: unsequenced, old and duplicate ones are dropped (Linux `seq recv|both`). */
  readonly requireSequence?: boolean;
  /** Clamp the MSS of TCP SYNs crossing the pseudowire (both ways) to this value. */
  readonly mssClamp?: number;
}

/** Why a received data message was dropped. */
export interface PseudowireDrops {
  /** Cookie absent or different (§4.5: "MUST be dropped"). */
  wrongCookie: number;
  /** Shorter than session header + cookie + sublayer + an Ethernet header. */
  tooShort: number;
  /** `requireSequence` and S=0. */
  unsequenced: number;
  /** `requireSequence` and a sequence number at or before the last one (§4.6, Appendix C). */
  outOfOrder: number;
}

/** Per-session counters. */
export interface PseudowireCounters {
  /** Frames sent to the peer, and their Ethernet octets. */
  txPackets: number;
  txOctets: number;
  /** Frames from the attachment circuit that could not be sent (shorter than an Ethernet header). */
  txDropped: number;
  /** Frames delivered to the attachment circuit, and their Ethernet octets. */
  rxPackets: number;
  rxOctets: number;
  readonly drops: PseudowireDrops;
  /** Sequence numbers skipped by frames that arrived ahead (lost or still in flight). */
  sequenceGaps: number;
  /** Sequenced frames seen (with or without `requireSequence`). */
  sequencedReceived: number;
  /** Sequenced frames at or before the last sequence number (reordered or duplicated), dropped or not. */
  sequenceLate: number;
  /** TCP SYNs whose MSS was lowered. */
  mssClamped: number;
}

/** §4.6: sequence numbers are 24 bits; "less than or equal" spans the preceding 2^23 - 1 values. */
const SEQ_MOD = 0x1000000;
const SEQ_HALF = 0x800000;

function checkCookie(what: string, c: Uint8Array): void {
  if (c.length !== 0 && c.length !== 4 && c.length !== 8) throw new RangeError(`${what} must be 0, 4 or 8 bytes, got ${c.length}`);
}

function checkSessionId(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1 || v > 0xffffffff) throw new RangeError(`${what} must be 1..4294967295, got ${v}`);
}

/** One Ethernet pseudowire; see the file comment. Create one per session. */
export class EthernetPseudowire {
  /** Counters since creation. */
  readonly counters: PseudowireCounters = {
    txPackets: 0,
    txOctets: 0,
    txDropped: 0,
    rxPackets: 0,
    rxOctets: 0,
    drops: { wrongCookie: 0, tooShort: 0, unsequenced: 0, outOfOrder: 0 },
    sequenceGaps: 0,
    sequencedReceived: 0,
    sequenceLate: 0,
    mssClamped: 0,
  };
  /** Bytes this pseudowire writes in front of each frame (without UDP/IP). */
  readonly headerLength: number;
  /** Bytes it expects in front of each received frame. */
  readonly rxHeaderLength: number;
  readonly settings: PseudowireSettings;
  private readonly txHeader: Uint8Array;
  private readonly sublayerAt: number;
  private readonly rxSublayerAt: number;
  private nextTxSeq = 0;
  /** Next expected sequence number, -1 before the first sequenced frame. */
  private expectedRxSeq = -1;

  /** Throws RangeError on settings that cannot work (programmer or config error, checked earlier). */
  constructor(settings: PseudowireSettings) {
    checkSessionId('localSessionId', settings.localSessionId);
    checkSessionId('peerSessionId', settings.peerSessionId);
    checkCookie('txCookie', settings.txCookie);
    checkCookie('rxCookie', settings.rxCookie);
    if (settings.sublayer === 'none' && (settings.sendSequence === true || settings.requireSequence === true)) {
      // §5.4.4 Data Sequencing: sequencing needs a sublayer that carries sequence numbers.
      throw new RangeError('sequencing needs the default L2-Specific Sublayer');
    }
    this.settings = settings;
    const enc = settings.encapsulation;
    const sub = settings.sublayer;
    this.headerLength = l2tpHeaderLength({ encapsulation: enc, cookieLength: settings.txCookie.length, sublayer: sub }) - (enc === 'udp' ? 8 : 0);
    this.rxHeaderLength = l2tpHeaderLength({ encapsulation: enc, cookieLength: settings.rxCookie.length, sublayer: sub }) - (enc === 'udp' ? 8 : 0);
    // The fixed part of every outgoing header, copied in front of each frame (§4.1.1.1 / §4.1.2.1).
    const h = new Uint8Array(this.headerLength);
    let p = 0;
    if (enc === 'udp') {
      h[1] = 3; // T=0, Ver=3, Reserved 0
      p = 4;
    }
    h[p] = (settings.peerSessionId >>> 24) & 0xff;
    h[p + 1] = (settings.peerSessionId >>> 16) & 0xff;
    h[p + 2] = (settings.peerSessionId >>> 8) & 0xff;
    h[p + 3] = settings.peerSessionId & 0xff;
    h.set(settings.txCookie, p + 4);
    this.txHeader = h;
    this.sublayerAt = p + 4 + settings.txCookie.length;
    this.rxSublayerAt = p + 4 + settings.rxCookie.length;
  }

  /** Our Session ID (the demultiplexing key). */
  get localSessionId(): number {
    return this.settings.localSessionId;
  }

  /**
   * Encapsulate the frame at `buf[offset..offset+length)` for the peer. With at least `headerLength`
   * free bytes before `offset` the header is written there and a view is returned (no copy);
   * otherwise the frame is copied once into a new buffer. Returns the UDP payload (or IP payload),
   * or undefined for a frame shorter than an Ethernet header (counted in `txDropped`).
   */
  encapsulate(buf: Uint8Array, offset: number, length: number): Uint8Array | undefined {
    if (length < ETHERNET_HEADER || offset < 0 || offset + length > buf.length) {
      this.counters.txDropped++;
      return undefined;
    }
    const hl = this.headerLength;
    let out: Uint8Array;
    let at: number;
    if (offset >= hl) {
      out = buf;
      at = offset - hl;
    } else {
      out = new Uint8Array(hl + length);
      out.set(buf.subarray(offset, offset + length), hl);
      at = 0;
    }
    out.set(this.txHeader, at);
    if (this.settings.sublayer === 'default') this.writeSublayer(out, at + this.sublayerAt);
    const frameAt = at + hl;
    if (this.settings.mssClamp !== undefined && clampEthernetMss(out, frameAt, length, this.settings.mssClamp)) this.counters.mssClamped++;
    this.counters.txPackets++;
    this.counters.txOctets += length;
    return out.subarray(at, frameAt + length);
  }

  private writeSublayer(out: Uint8Array, at: number): void {
    if (this.settings.sendSequence !== true) {
      // §4.6: S=0, the sequence field is undefined; sent as zero.
      out[at] = 0;
      out[at + 1] = 0;
      out[at + 2] = 0;
      out[at + 3] = 0;
      return;
    }
    const s = this.nextTxSeq;
    this.nextTxSeq = (s + 1) % SEQ_MOD;
    out[at] = 0x40; // S bit
    out[at + 1] = (s >>> 16) & 0xff;
    out[at + 2] = (s >>> 8) & 0xff;
    out[at + 3] = s & 0xff;
  }

  /**
   * Decapsulate a data message already demultiplexed to this session: `cookieAt` is where the cookie
   * starts in `datagram` (after the session header). Returns the Ethernet frame as a view of
   * `datagram` (the MSS may be clamped in place), or undefined when the message is dropped (counted).
   */
  decapsulate(datagram: Uint8Array, cookieAt: number): Uint8Array | undefined {
    const c = this.counters;
    const rx = this.settings.rxCookie;
    const frameAt = cookieAt + rx.length + (this.settings.sublayer === 'default' ? 4 : 0);
    if (datagram.length < frameAt + ETHERNET_HEADER) {
      c.drops.tooShort++;
      return undefined;
    }
    for (let i = 0; i < rx.length; i++) {
      if (datagram[cookieAt + i] !== rx[i]) {
        c.drops.wrongCookie++;
        return undefined;
      }
    }
    if (this.settings.sublayer === 'default' && !this.acceptSequence(datagram, cookieAt + rx.length)) return undefined;
    const length = datagram.length - frameAt;
    if (this.settings.mssClamp !== undefined && clampEthernetMss(datagram, frameAt, length, this.settings.mssClamp)) c.mssClamped++;
    c.rxPackets++;
    c.rxOctets += length;
    return datagram.subarray(frameAt);
  }

  /** §4.6 / Appendix C sequence check of the default sublayer at `at`; false = drop (counted). */
  private acceptSequence(d: Uint8Array, at: number): boolean {
    const c = this.counters;
    const sequenced = ((d[at] ?? 0) & 0x40) !== 0;
    if (!sequenced) {
      if (this.settings.requireSequence !== true) return true;
      c.drops.unsequenced++;
      return false;
    }
    c.sequencedReceived++;
    const seq = (((d[at + 1] ?? 0) << 16) | ((d[at + 2] ?? 0) << 8) | (d[at + 3] ?? 0)) >>> 0;
    const expected = this.expectedRxSeq;
    if (expected >= 0) {
      const ahead = (seq - expected + SEQ_MOD) % SEQ_MOD;
      if (ahead >= SEQ_HALF) {
        // At or before the last received one (within the preceding 2^23 values): old or duplicate.
        c.sequenceLate++;
        if (this.settings.requireSequence === true) {
          c.drops.outOfOrder++;
          return false;
        }
        return true;
      }
      c.sequenceGaps += ahead;
    }
    this.expectedRxSeq = (seq + 1) % SEQ_MOD;
    return true;
  }
}
