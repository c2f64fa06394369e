/**
 * The layer under one PPP session of the access server: an L2TP session of the engine (the LNS,
 * RFC 2661) or a PPPoE session of an access concentrator (BRAS, RFC 2516). `AccessServer` runs the
 * same PPP link, leases, routes and AAA over either; only framing, the inbound sink and how the
 * peer is told about the end differ, and those live behind {@link SessionLower}.
 */
import type { Instant } from '../base/index.js';
import { DATA_HEADROOM, type CdnCauses, type SessionDataSink, type Transmit } from '../l2tp/index.js';
import type { ResultCode, SessionId, TunnelId } from '../wire/l2tp/index.js';
import { PPPOE_DEFAULT_PAYLOAD, PPPOE_HEADROOM, type FrameSink } from './pppoe/index.js';
import type { AccessEngine } from './server-types.js';

/** How the end of a session is told to the peer: the CDN fields (L2TP) or their words (PPPoE PADT Generic-Error). */
export interface LowerClose {
  readonly result: ResultCode;
  readonly causes?: CdnCauses;
}

/** What `show sessions` tells about a PPPoE lower layer. */
export interface PppoeLowerInfo {
  readonly kind: 'pppoe';
  /** The `[[pppoe]]` interface. */
  readonly interface: string;
  /** The client's MAC, "aa:bb:cc:dd:ee:ff". */
  readonly mac: string;
  /** RFC 2516 SESSION_ID. */
  readonly sessionId: number;
  readonly serviceName: string;
  readonly vlan?: number;
  /** TR-101 Agent-Circuit-Id. */
  readonly circuitId?: string;
}

/** The lower layer of one PPP session. */
export interface SessionLower {
  /** Free bytes to leave in front of an outbound frame for the lower layer's header. */
  readonly headroom: number;
  /** Whether PPP frames carry Address/Control 0xff 0x03 (L2TP: RFC 2661 §5.3 yes; PPPoE: RFC 2516 §7 no). */
  readonly addressControl: boolean;
  /** Largest MRU the lower layer carries (PPPoE: 1492 or the RFC 4638 value), undefined = no bound. */
  readonly maxMru: number | undefined;
  /** Show-command details (PPPoE); undefined for L2TP (the tunnel view has them). */
  readonly info: PppoeLowerInfo | undefined;
  /** Send one PPP frame (from Protocol, or from 0xff 0x03). `headroomFree`: `headroom` bytes before it are ours. False = not sent. */
  send(now: Instant, frame: Uint8Array, headroomFree: boolean): boolean;
  /** PPP ended here: tell the peer (CDN with the PPP Disconnect Cause, or PADT). */
  close(now: Instant, how: LowerClose): void;
  /**
   * Bind the inbound sink once: every PPP frame of the session is handed to its `handleData`, a view
   * valid during the call (an object, not a closure: the L2TP engine keeps it as the session's sink).
   */
  bind(now: Instant, sink: SessionDataSink): void;
}

/** An L2TP session of the engine: frames as data messages, the end as a CDN; datagrams go to `tx`. */
export function l2tpLower(engine: AccessEngine, tunnel: TunnelId, session: SessionId, tx: { push(t: Transmit): unknown }): SessionLower {
  return new L2tpLower(engine, tunnel, session, tx);
}

/** {@link l2tpLower}: prototype methods, no closures per session (issue 15: bytes per idle session). */
class L2tpLower implements SessionLower {
  // The same for every L2TP session: prototype getters, not four fields per session (32 B, issue 15).
  get headroom(): number {
    return DATA_HEADROOM;
  }
  get addressControl(): boolean {
    return true;
  }
  get maxMru(): undefined {
    return undefined;
  }
  get info(): undefined {
    return undefined;
  }
  constructor(
    private readonly engine: AccessEngine,
    private readonly tunnel: TunnelId,
    private readonly session: SessionId,
    private readonly tx: { push(t: Transmit): unknown },
  ) {}
  send(now: Instant, frame: Uint8Array, headroomFree: boolean): boolean {
    const t = this.engine.sendData(now, this.tunnel, this.session, frame, headroomFree);
    if (t === undefined) return false;
    this.tx.push(t);
    return true;
  }
  close(now: Instant, how: Parameters<SessionLower['close']>[1]): void {
    this.engine.closeSession(now, this.tunnel, this.session, how.result, how.causes);
  }
  bind(now: Instant, sink: Parameters<SessionLower['bind']>[1]): void {
    this.engine.bindSession(now, this.tunnel, this.session, sink);
  }
}

/** The part of a PPPoE access concentrator (core or its I/O port) one session's lower layer uses. */
export interface PppoeSessions {
  /** Frame and send one PPP frame (from its Protocol field); false if not sent. */
  sendPpp(sessionId: number, ppp: Uint8Array, headroomFree: boolean): boolean;
  /** End the session with a PADT (Generic-Error = `detail`). */
  closeSession(sessionId: number, detail?: string): boolean;
  /** Bind the session's sink once (frames queued before it are delivered at once). */
  bindSink(sessionId: number, sink: FrameSink, now: Instant): boolean;
}

/** A PPPoE session (RFC 2516 §6) of `ac`: no Address/Control, the end as a PADT telling the PPP cause. */
export function pppoeLower(ac: PppoeSessions, info: PppoeLowerInfo, maxPayload = PPPOE_DEFAULT_PAYLOAD): SessionLower {
  const sid = info.sessionId;
  return {
    headroom: PPPOE_HEADROOM,
    addressControl: false,
    maxMru: maxPayload,
    info,
    send: (_now, frame, headroomFree) => ac.sendPpp(sid, frame, headroomFree),
    close(_now, how) {
      ac.closeSession(sid, how.causes?.pppDisconnectCause?.message ?? how.result.message);
    },
    bind(now, sink) {
      ac.bindSink(sid, { deliver: (frame, at) => sink.handleData(at, frame) }, now);
    },
  };
}
