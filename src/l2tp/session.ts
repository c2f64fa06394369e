/**
 * The sessions (calls) of one L2TPv2 control connection (RFC 2661 §6.6–§6.15, §7.3–§7.5), sans-I/O:
 * incoming and outgoing calls in both roles, driven by the table in session-fsm.ts, with the CDN
 * causes, proxy LCP / authentication AVPs and the ICCN-before-PPP ordering. Each session owns its
 * data channel (data.ts). The control connection (tunnel.ts) numbers and sends what is queued here.
 */
import type { Instant } from '../base/index.js';
import {
  MessageType,
  sessionId as asSessionId,
  type ControlAvps,
  type ControlMessage,
  type ResultCode,
  type SessionId,
  type TunnelId,
} from '../wire/l2tp/index.js';
import { PROXY_AVPS, type CallDirection, type CdnCauses, type CloseReason, type L2tpEvent, type SessionInfo, type SessionRequest, type SessionState, type TunnelSettings } from './api.js';
import type { ConnectionHost, Mutable } from './connection.js';
import { DataChannel, type DataOwner } from './data.js';
import { Results } from './defaults.js';
import { sessionTransition, type SessionFsmEvent } from './session-fsm.js';

/** Framing capabilities / type we offer: synchronous and asynchronous (§4.4.3 bits 0 and 1). */
export const FRAMING_SYNC_ASYNC = 3;
/** Connect speed we report in ICCN/OCCN (no real bearer). */
const CONNECT_SPEED = 100_000_000;

/** An outgoing control message before numbering and encoding. */
export interface OutMsg {
  readonly sessionId: SessionId;
  readonly type: MessageType;
  readonly avps: ControlAvps;
  /** Our session an ICCN/OCCN completes: its `session-established` waits until the message leaves. */
  readonly completes?: Session;
}

/** Context of one FSM step: why, and what to put into StopCCN / CDN. */
export interface StepContext {
  readonly by: 'local' | 'peer';
  readonly cause: string;
  readonly result?: ResultCode;
  readonly causes?: CdnCauses;
}

/** What the sessions need from their control connection. */
export interface CallOwner extends DataOwner {
  readonly localId: TunnelId;
  readonly settings: TunnelSettings;
  readonly host: ConnectionHost;
  /** Queue a control message on the connection's reliable channel. */
  sendControl(now: Instant, m: OutMsg): void;
  /** The set of calls changed: `busy` = at least one call exists (cancels the idle timer), else none left. */
  callsChanged(now: Instant, busy: boolean): void;
}

/** One session (call) on a tunnel. */
export class Session {
  remoteId: SessionId = asSessionId(0);
  state: SessionState = 'idle';
  callSerialNumber = 0;
  establishedAt: Instant | undefined;
  request: SessionRequest | undefined;
  proxy: SessionRequest['proxy'] | undefined;
  callingNumber: string | undefined;
  calledNumber: string | undefined;
  /**
   * Our ICCN/OCCN for this session is queued but not yet sent (the peer's window is full): report the
   * session as established only once it leaves, or PPP frames would overtake it and be dropped.
   */
  connectPending = false;
  /** The session is up but its `session-established` event waits for the ICCN/OCCN to leave. */
  upWhenSent = false;
  /** Data messages of this session (sequencing, counters, sink). */
  data: DataChannel;

  /** A session with our id `localId`; `originator` = we sent the ICRQ / OCRQ. */
  constructor(
    readonly localId: SessionId,
    readonly direction: CallDirection,
    readonly originator: boolean,
    owner: DataOwner,
    sequencing: boolean,
  ) {
    this.data = new DataChannel(owner, sequencing);
  }

  /** A read-only snapshot. */
  info(): SessionInfo {
    const d = this.data;
    const info: Mutable<SessionInfo> = {
      localSessionId: this.localId,
      remoteSessionId: this.remoteId,
      state: this.state,
      direction: this.direction,
      role: (this.direction === 'incoming') === this.originator ? 'lac' : 'lns',
      callSerialNumber: this.callSerialNumber,
      rxPackets: d.rxPackets,
      rxOctets: d.rxOctets,
      txPackets: d.txPackets,
      txOctets: d.txOctets,
    };
    if (this.establishedAt !== undefined) info.establishedAt = this.establishedAt;
    if (this.callingNumber !== undefined) info.callingNumber = this.callingNumber;
    if (this.calledNumber !== undefined) info.calledNumber = this.calledNumber;
    return info;
  }
}

/** The calls of one control connection: creation, session-scoped messages, FSM steps. */
export class SessionTable {
  private readonly byId = new Map<number, Session>();

  /** The calls of `owner`. */
  constructor(private readonly owner: CallOwner) {}

  /** Number of sessions. */
  get size(): number {
    return this.byId.size;
  }

  /** A session by our id. */
  get(id: number): Session | undefined {
    return this.byId.get(id);
  }

  /** Every session. */
  values(): IterableIterator<Session> {
    return this.byId.values();
  }

  /** Our end of a new call on this connection; it waits in `wait-tunnel` until the tunnel is up (§7.4.1, §7.5.2). */
  open(now: Instant, request: SessionRequest): Session {
    const s = this.create(now, request.direction, true);
    s.request = request;
    if (request.callingNumber !== undefined) s.callingNumber = request.callingNumber;
    if (request.calledNumber !== undefined) s.calledNumber = request.calledNumber;
    s.callSerialNumber = this.owner.host.nextCallSerial();
    this.emit({ type: 'session-connecting', tunnel: this.owner.localId, session: s.localId, direction: s.direction });
    this.step(now, s, 'call-request', { by: 'local', cause: 'open' });
    return s;
  }

  /** Take over calls waiting for a tunnel that lost the §4.4.3 tie breaker (their data now counts here). */
  adopt(sessions: readonly Session[]): void {
    for (const s of sessions) {
      s.data = new DataChannel(this.owner, s.data.sequencing);
      this.byId.set(s.localId, s);
    }
  }

  /** A free session id of this connection (never 0). */
  allocId(): SessionId {
    for (;;) {
      const id = this.owner.host.random.u32() & 0xffff;
      if (id !== 0 && !this.byId.has(id)) return asSessionId(id);
    }
  }

  /** Session-scoped control messages on an established connection (§6.6–§6.15). */
  receive(now: Instant, msg: ControlMessage): void {
    const a = msg.avps;
    switch (msg.type) {
      case MessageType.ICRQ:
      case MessageType.OCRQ:
        this.onCallRequest(now, msg);
        return;
      case MessageType.ICRP:
      case MessageType.OCRP: {
        const s = this.byId.get(msg.sessionId);
        if (s === undefined) return;
        if (a.assignedSessionId !== undefined) s.remoteId = a.assignedSessionId;
        this.rx(now, s, msg.type === MessageType.ICRP ? 'rx-icrp-acceptable' : 'rx-ocrp-acceptable');
        return;
      }
      case MessageType.ICCN:
      case MessageType.OCCN: {
        const s = this.byId.get(msg.sessionId);
        if (s === undefined) return;
        if (a.sequencingRequired === true) s.data.sequencing = true;
        if (msg.type === MessageType.ICCN) s.proxy = pickProxy(a);
        this.rx(now, s, msg.type === MessageType.ICCN ? 'rx-iccn-acceptable' : 'rx-occn-acceptable');
        return;
      }
      case MessageType.CDN:
        this.onCdn(now, msg);
        return;
      case MessageType.WEN:
        this.emit({ type: 'wen', tunnel: this.owner.localId, session: msg.sessionId, avps: a });
        return;
      case MessageType.SLI:
        this.emit({ type: 'sli', tunnel: this.owner.localId, session: msg.sessionId, avps: a });
        return;
      default:
        return;
    }
  }

  /**
   * §4.2: a session-scoped message with an unknown M=1 AVP clears only its session; one for a session
   * we do not know yet (ICRQ/OCRQ) is answered with a CDN (only when `established`). §3.1: the CDN is
   * addressed to the peer's Assigned Session ID (`assigned`, read from the refused message) when we
   * have none for it yet — an ICRP refused before we learnt the peer's id, or an ICRQ.
   */
  refuse(now: Instant, session: number, result: ResultCode, established: boolean, assigned: SessionId | undefined): void {
    const s = this.byId.get(session);
    if (s !== undefined) {
      if (s.remoteId === 0 && assigned !== undefined) s.remoteId = assigned;
      this.step(now, s, 'local-close', { by: 'local', cause: 'bad-message', result });
    } else if (established) {
      const avps: ControlAvps = { resultCode: result, assignedSessionId: this.allocId() };
      this.owner.sendControl(now, { sessionId: assigned ?? asSessionId(0), type: MessageType.CDN, avps });
    }
  }

  /** Send CDN for a session (§7.4 "Local close request"). False when there is no such session. */
  close(now: Instant, session: number, result: ResultCode, causes?: CdnCauses): boolean {
    const s = this.byId.get(session);
    if (s === undefined) return false;
    this.step(now, s, 'local-close', causes === undefined ? { by: 'local', cause: 'admin', result } : { by: 'local', cause: 'admin', result, causes });
    return true;
  }

  /** §7.2.1 "send tunnel-open event to waiting sessions". */
  tunnelOpen(now: Instant): void {
    for (const s of this.byId.values()) {
      if (s.state !== 'wait-tunnel') continue;
      this.step(now, s, s.direction === 'incoming' ? 'tunnel-open-incoming' : 'tunnel-open-outgoing', { by: 'local', cause: 'tunnel-open' });
    }
  }

  /**
   * §7.2.1 "Clean up": every call ends with the tunnel; with `migrate` (tie-breaker loss) calls still
   * waiting for the tunnel are moved there instead, for the winner's tunnel to adopt.
   */
  tunnelDown(now: Instant, ctx: StepContext, migrate: Session[] | undefined): void {
    for (const s of [...this.byId.values()]) {
      if (migrate !== undefined && s.state === 'wait-tunnel') {
        this.byId.delete(s.localId);
        migrate.push(s);
        continue;
      }
      this.step(now, s, 'tunnel-down', ctx);
    }
  }

  /** The ICCN/OCCN of `s` has left: from here on PPP frames cannot overtake it (§7.3 ordering). */
  connectSent(s: Session): void {
    if (!s.connectPending) return;
    s.connectPending = false;
    if (s.upWhenSent && this.byId.get(s.localId) === s) {
      s.upWhenSent = false;
      this.emitUp(s);
    }
  }

  // ---------------------------------------------------------------- FSM

  /** ICRQ / OCRQ: a new call from the peer (§6.6, §6.7), accepted or refused by configuration. */
  private onCallRequest(now: Instant, msg: ControlMessage): void {
    const a = msg.avps;
    const incoming = msg.type === MessageType.ICRQ;
    const s = this.create(now, incoming ? 'incoming' : 'outgoing', false);
    s.remoteId = a.assignedSessionId ?? asSessionId(0);
    s.callSerialNumber = a.callSerialNumber ?? 0;
    if (a.callingNumber !== undefined) s.callingNumber = a.callingNumber;
    if (a.calledNumber !== undefined) s.calledNumber = a.calledNumber;
    this.emit({ type: 'session-connecting', tunnel: this.owner.localId, session: s.localId, direction: s.direction });
    const cfg = this.owner.host.config;
    const accept = incoming ? cfg.acceptIncomingCalls : cfg.acceptOutgoingCalls;
    const ev: SessionFsmEvent = incoming
      ? accept
        ? 'rx-icrq-acceptable'
        : 'rx-icrq-not-acceptable'
      : accept
        ? 'rx-ocrq-acceptable'
        : 'rx-ocrq-not-acceptable';
    this.step(now, s, ev, { by: accept ? 'peer' : 'local', cause: accept ? 'call' : 'rejected', result: Results.cdnAdmin });
    // §7.5.1: there is no real bearer to dial; the call "answers" at once.
    if (!incoming && accept && s.state === 'wait-cs-answer') this.step(now, s, 'bearer-answer', { by: 'local', cause: 'answer' });
  }

  /** CDN (§6.15): by our session id, or by the peer's Assigned Session ID when addressed to 0. */
  private onCdn(now: Instant, msg: ControlMessage): void {
    const a = msg.avps;
    let s = this.byId.get(msg.sessionId);
    if (s === undefined && a.assignedSessionId !== undefined) {
      for (const c of this.byId.values()) if (c.remoteId === a.assignedSessionId) s = c;
    }
    if (s === undefined) return;
    const causes: Mutable<CdnCauses> = {};
    if (a.q931Cause !== undefined) causes.q931Cause = a.q931Cause;
    if (a.pppDisconnectCause !== undefined) causes.pppDisconnectCause = a.pppDisconnectCause;
    this.step(now, s, 'rx-cdn', { by: 'peer', cause: 'cdn', result: a.resultCode ?? { result: 0 }, causes });
  }

  /** A received session message: its row, or CDN when it is out of sequence (§7.4 "Send CDN"). */
  private rx(now: Instant, s: Session, event: SessionFsmEvent): void {
    if (sessionTransition(s.state, event) !== undefined) {
      this.step(now, s, event, { by: 'peer', cause: 'call' });
    } else {
      this.step(now, s, 'rx-unexpected', { by: 'local', cause: 'fsm', result: { result: 2, error: 0, message: 'unexpected message' } });
    }
  }

  /** Run one session FSM step (session-fsm.ts): enter the row's state, execute its actions. */
  step(now: Instant, s: Session, event: SessionFsmEvent, ctx: StepContext): void {
    const row = sessionTransition(s.state, event);
    if (row === undefined) return;
    s.state = row.to;
    const o = this.owner;
    for (const action of row.actions) {
      switch (action) {
        case 'open-tunnel':
          break; // the session already sits on its tunnel; tunnelOpen() kicks it
        case 'send-icrq':
        case 'send-ocrq':
          this.sendCallRequest(now, s, action === 'send-icrq' ? MessageType.ICRQ : MessageType.OCRQ);
          break;
        case 'send-icrp':
        case 'send-ocrp':
          o.sendControl(now, { sessionId: s.remoteId, type: action === 'send-icrp' ? MessageType.ICRP : MessageType.OCRP, avps: { assignedSessionId: s.localId } });
          break;
        case 'send-iccn':
        case 'send-occn':
          this.sendConnected(now, s, action === 'send-iccn' ? MessageType.ICCN : MessageType.OCCN);
          break;
        case 'send-cdn': {
          const avps: Mutable<ControlAvps> = { resultCode: ctx.result ?? Results.cdnAdmin, assignedSessionId: s.localId };
          if (ctx.causes?.q931Cause !== undefined) avps.q931Cause = ctx.causes.q931Cause;
          if (ctx.causes?.pppDisconnectCause !== undefined) avps.pppDisconnectCause = ctx.causes.pppDisconnectCause;
          o.sendControl(now, { sessionId: s.remoteId, type: MessageType.CDN, avps });
          break;
        }
        case 'session-up':
          s.establishedAt = now;
          s.data.release(now); // frames that overtook the peer's ICCN/OCCN (a sink bound before it came up)
          o.callsChanged(now, true);
          if (s.connectPending) s.upWhenSent = true;
          else this.emitUp(s);
          break;
        case 'cleanup': {
          this.byId.delete(s.localId);
          const reason: Mutable<CloseReason> = { by: ctx.by, result: ctx.result ?? { result: 0 }, cause: ctx.cause };
          if (ctx.causes !== undefined) reason.cdnCauses = ctx.causes;
          this.emit({ type: 'session-closed', tunnel: o.localId, session: s.localId, reason });
          if (this.byId.size === 0) o.callsChanged(now, false);
          break;
        }
      }
    }
  }

  private create(now: Instant, direction: CallDirection, originator: boolean): Session {
    const s = new Session(this.allocId(), direction, originator, this.owner, this.owner.settings.dataSequencing);
    this.byId.set(s.localId, s);
    this.owner.callsChanged(now, true);
    return s;
  }

  /** ICRQ (§6.6) or OCRQ (§6.7) for one of our calls. */
  private sendCallRequest(now: Instant, s: Session, type: MessageType): void {
    const r = s.request;
    const avps: Mutable<ControlAvps> = { assignedSessionId: s.localId, callSerialNumber: s.callSerialNumber };
    if (type === MessageType.ICRQ) {
      avps.bearerType = 0;
      if (r?.callingNumber !== undefined) avps.callingNumber = r.callingNumber;
      if (r?.calledNumber !== undefined) avps.calledNumber = r.calledNumber;
    } else {
      // §6.7: OCRQ must carry Min/Max BPS, Bearer Type, Framing Type and Called Number.
      avps.minimumBps = 0;
      avps.maximumBps = CONNECT_SPEED;
      avps.bearerType = 0;
      avps.framingType = FRAMING_SYNC_ASYNC;
      avps.calledNumber = r?.calledNumber ?? '';
      if (r?.callingNumber !== undefined) avps.callingNumber = r.callingNumber;
    }
    this.owner.sendControl(now, { sessionId: asSessionId(0), type, avps });
  }

  /** ICCN (§6.12) or OCCN (§6.9); the session is reported up only once it has left. */
  private sendConnected(now: Instant, s: Session, type: MessageType): void {
    const speed = s.request?.connectSpeed;
    const avps: Mutable<ControlAvps> = { txConnectSpeed: speed?.tx ?? CONNECT_SPEED, framingType: 1, ...(speed?.rx !== undefined ? { rxConnectSpeed: speed.rx } : {}) };
    if (this.owner.settings.dataSequencing) {
      avps.sequencingRequired = true;
      s.data.sequencing = true;
    }
    if (type === MessageType.ICCN && s.request?.proxy !== undefined) Object.assign(avps, s.request.proxy);
    s.connectPending = true;
    this.owner.sendControl(now, { sessionId: s.remoteId, type, avps, completes: s });
  }

  /** Report a session as established (with the proxy AVPs the LNS received in ICCN). */
  private emitUp(s: Session): void {
    const ev: Mutable<Extract<L2tpEvent, { type: 'session-established' }>> = {
      type: 'session-established',
      tunnel: this.owner.localId,
      session: s.localId,
      remoteSession: s.remoteId,
    };
    if (s.proxy !== undefined) ev.proxy = s.proxy;
    if (s.callingNumber !== undefined) ev.callingNumber = s.callingNumber;
    if (s.calledNumber !== undefined) ev.calledNumber = s.calledNumber;
    this.emit(ev);
  }

  private emit(e: L2tpEvent): void {
    this.owner.host.event(e);
  }
}

/** The proxy LCP / authentication AVPs of an ICCN (§6.12), if any. */
function pickProxy(a: ControlAvps): SessionRequest['proxy'] | undefined {
  const out: Mutable<NonNullable<SessionRequest['proxy']>> = {};
  let any = false;
  for (const k of PROXY_AVPS) {
    if (a[k] !== undefined) {
      (out as Record<string, unknown>)[k] = a[k];
      any = true;
    }
  }
  return any ? out : undefined;
}
