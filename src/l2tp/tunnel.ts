/**
 * One L2TPv2 control connection (RFC 2661 §7.2): its reliable channel (channel.ts, §5.8), its FSM
 * (tunnel-fsm.ts), its handshake (handshake.ts), keepalive and idle timers, and its sessions
 * (session.ts). It implements the `ControlConnection` interface the engine demultiplexes to; an
 * L2TPv3 control connection is meant to be a sibling class of this one.
 */
import type { Instant } from '../base/index.js';
import { AVP_REGISTRY, type AvpName, type ControlMessage, emitControl, type L2tpHeader, type L2tpHeaderView, messageSpec, type PartialControl, MessageType, parseControl, type ResultCode, type SessionId, sessionId as asSessionId, type TunnelId, tunnelId as asTunnelId, type WireError } from '../wire/l2tp/index.js';
import type {
  CdnCauses,
  CloseReason,
  L2tpEvent,
  PeerAddress,
  SessionDataSink,
  SessionRequest,
  Transmit,
  TunnelCounters,
  TunnelInfo,
  TunnelSettings,
  TunnelState,
} from './api.js';
import { ReliableChannel } from './channel.js';
import type { ConnectionHost, ControlConnection, Mutable } from './connection.js';
import { Results, fullCycle } from './defaults.js';
import { NO_SECRET, judgeHost, judgeResponse, judgeVersion, learnPeer, scccnAvps, sccrpAvps, sccrqAvps, type Refusal } from './handshake.js';
import { SessionTable, type OutMsg, type Session, type StepContext } from './session.js';
import { tunnelTransition, type TunnelFsmEvent, type TunnelFsmState } from './tunnel-fsm.js';
import { describeWireError } from './wire-errors.js';

/** A received control message, or one the codec refused but whose Ns must still be consumed (§4.2). */
export type InMsg =
  | { readonly kind: 'ok'; readonly msg: ControlMessage }
  | {
      readonly kind: 'refused';
      readonly header: L2tpHeader;
      readonly messageType: number | undefined;
      readonly error: WireError;
      /** What the codec could read (the peer's Assigned Tunnel / Session ID among it), to address the answer (§3.1). */
      readonly partial: PartialControl | undefined;
    };

/** Context of one tunnel FSM step: a session step's context plus the tie-breaker hand-over. */
export interface TunnelStepContext extends StepContext {
  readonly msg?: ControlMessage;
  readonly from?: PeerAddress;
  readonly migrate?: Session[];
}

/** What a v2 tunnel needs from the engine beyond every connection's host. */
export interface TunnelHost extends ConnectionHost {
  /** §7.2.1 "requeue-sccrq": accept the winner's SCCRQ as in idle state; its tunnel adopts `migrate`. */
  acceptSccrq(now: Instant, msg: ControlMessage, from: PeerAddress, migrate: readonly Session[]): void;
  /** Keep the index of originators in wait-ctl-reply by peer address (§4.4.3 tie breaker). */
  trackOpening(t: Tunnel, opening: boolean): void;
  /** A half-open responder tunnel was established or ended (admission budget). */
  halfOpenEnded(t: Tunnel): void;
}

/**
 * AVPs hidden in tunnel messages (SCCRQ/SCCRP/SCCCN/StopCCN/HELLO) when `hideAvps` is set: only the
 * sensitive ones, because a peer that looks its secret up by host name needs the rest in the clear.
 */
const HIDE_SET_TUNNEL: ReadonlySet<AvpName> = new Set<AvpName>([
  'callingNumber',
  'calledNumber',
  'subAddress',
  'proxyAuthenName',
  'proxyAuthenChallenge',
  'proxyAuthenId',
  'proxyAuthenResponse',
  'initialReceivedLcpConfReq',
  'lastSentLcpConfReq',
  'lastReceivedLcpConfReq',
]);
/**
 * AVPs hidden in session-scoped messages (ICRQ…SLI) when `hideAvps` is set: every AVP that §4.4
 * allows to be hidden — the tunnel and its secret are settled by then.
 */
const HIDE_SET_SESSION: ReadonlySet<AvpName> = new Set<AvpName>(AVP_REGISTRY.filter((r) => r.hidable).map((r) => r.name));

/** Errors the control plane answers instead of dropping (§4.2). */
const isAnswerable = (e: WireError): boolean => e.kind === 'unknown-mandatory-avp' || e.kind === 'unknown-message-type' || e.kind === 'zero-assigned-id';

/**
 * A StopCCN that lacks its §6.4 Result Code is still a StopCCN: acknowledge it and close (the peer
 * is leaving whatever it forgot to say why), read as result 0 ("reserved", i.e. none given).
 */
function stopCcnWithoutResult(header: L2tpHeader, e: WireError, partial: PartialControl | undefined): ControlMessage | undefined {
  if (e.kind !== 'missing-avp' || e.messageType !== MessageType.StopCCN || e.name !== 'resultCode' || partial === undefined) return undefined;
  return { tunnelId: header.tunnelId, sessionId: header.sessionId, ns: header.ns ?? 0, nr: header.nr ?? 0, type: MessageType.StopCCN, avps: partial.avps };
}

/** Message types that belong to a session (§4.2: an unknown M=1 AVP there clears only the session). */
const isSessionScoped = (messageType: number | undefined, header: L2tpHeader): boolean => {
  if (header.sessionId !== 0) return true;
  if (messageType === undefined) return false;
  return messageSpec(messageType)?.sessionScoped ?? false;
};

const newCounters = (): TunnelCounters => ({
  controlRx: 0,
  controlTx: 0,
  retransmits: 0,
  duplicates: 0,
  outOfWindow: 0,
  zlbTx: 0,
  zlbRx: 0,
  unknownAvpsIgnored: 0,
  dataRxPackets: 0,
  dataRxOctets: 0,
  dataTxPackets: 0,
  dataTxOctets: 0,
  dataDropped: 0,
});

/**
 * Messages acked by a ZLB at once (§5.8): nothing is sent in reply to them, so no message of ours
 * would carry the ack soon. HELLO (§6.5: the peer measures liveness), SCCCN / ICCN / OCCN (the last
 * message of a set-up: while it is unacked it holds a slot of the peer's window, and a LAC whose
 * window is full queues its next ICCN while its first PPP frame overtakes it), CDN, StopCCN (§5.7: the
 * peer retransmits it until acknowledged).
 */
const ACK_AT_ONCE: ReadonlySet<MessageType> = new Set([MessageType.HELLO, MessageType.SCCCN, MessageType.ICCN, MessageType.OCCN, MessageType.CDN, MessageType.StopCCN]);

/** One L2TPv2 tunnel (control connection). */
export class Tunnel implements ControlConnection<L2tpHeaderView> {
  remoteId: TunnelId = asTunnelId(0);
  state: TunnelState = 'idle';
  fsm: TunnelFsmState = 'idle';
  readonly channel: ReliableChannel<OutMsg, InMsg>;
  readonly counters: TunnelCounters = newCounters();
  readonly calls: SessionTable;
  tieBreaker: Uint8Array | undefined;
  ourChallenge: Uint8Array | undefined;
  peerChallenge: Uint8Array | undefined;
  remoteHostName: string | undefined;
  remoteVendorName: string | undefined;
  protocolVersion: string | undefined;
  establishedAt: Instant | undefined;
  /** Key of the SCCRQ that created this tunnel (`address|port|assigned id`), for duplicates. */
  sccrqKey: string | undefined;
  /** Key under which this tunnel sits in the tie-breaker index (peer address at SCCRQ time). */
  openingKey: string | undefined;
  /** Key under which this responder tunnel counts as half-open (engine admission budget). */
  halfOpenKey: string | undefined;
  private lastRxAt: Instant;
  private helloAt: Instant | undefined;
  private helloSent = false;
  private helloMisses = 0;
  /** Per-tunnel HELLO phase in [0, 0.1) of the interval, so tunnels heard in one turn do not HELLO in one turn. */
  private readonly helloSkew: number;
  private idleAt: Instant | undefined;
  private lingerUntil: Instant | undefined;
  private sentStopCcn = false;
  private closeReason: CloseReason | undefined;

  /** A tunnel in `idle` with our id `localId`; `originator` = we send the SCCRQ. */
  constructor(
    readonly host: TunnelHost,
    readonly localId: TunnelId,
    now: Instant,
    public peer: PeerAddress,
    readonly settings: TunnelSettings,
    readonly originator: boolean,
  ) {
    this.lastRxAt = now;
    this.helloSkew = ((host.random.u32() >>> 0) / 0x1_0000_0000) * 0.1;
    this.calls = new SessionTable(this);
    this.channel = new ReliableChannel<OutMsg, InMsg>(
      settings.tuning,
      { transmit: (ns, nr, body) => this.encode(ns, nr, body) },
      (ns, attempt, nextIn) => host.event({ type: 'retransmit', tunnel: localId, ns, attempt, nextIn }),
      // §6.5: a HELLO is retransmitted until the keepalive gives up (helloMissCount intervals).
      (m) => m.type === MessageType.HELLO,
    );
  }

  /** True once closed for good. */
  get released(): boolean {
    return this.state === 'closed';
  }

  // ---------------------------------------------------------------- ControlConnection

  /** A control message for this tunnel: refused from another channel; parsed with our secret (§4.4.3). */
  receiveControl(now: Instant, datagram: Uint8Array, view: L2tpHeaderView, from: PeerAddress): void {
    if (this.peer.via !== from.via) {
      // A tunnel set up inside an IPsec flow accepts nothing from outside it (and vice versa).
      this.host.event({ type: 'bad-datagram', peer: from, detail: `control message for tunnel ${view.tunnelId} from another channel` });
      return;
    }
    const secret = this.settings.secret;
    const pr = parseControl(datagram, secret === undefined ? {} : { secret });
    if (pr.ok) {
      this.deliver(now, { kind: 'ok', msg: pr.value }, from);
      return;
    }
    const f = pr.error;
    const stop = f.header === undefined ? undefined : stopCcnWithoutResult(f.header, f.error, f.partial);
    if (stop !== undefined) this.deliver(now, { kind: 'ok', msg: stop }, from);
    else if (f.header !== undefined && isAnswerable(f.error)) {
      this.deliver(now, { kind: 'refused', header: f.header, messageType: f.messageType, error: f.error, partial: f.partial }, from);
    } else this.host.event({ type: 'bad-datagram', peer: from, detail: describeWireError(f.error) });
  }

  /** §3.1 data message for one of our sessions: the fast path (see data.ts). */
  receiveData(now: Instant, view: L2tpHeaderView, from: PeerAddress): void {
    const s = this.calls.get(view.sessionId);
    // A session waiting for the peer's ICCN/OCCN is up at the peer, whose first PPP frames may
    // overtake that message (another path: a data thread's socket, a reordering network): they are
    // held (bounded) for the sink, not dropped, so PPP does not wait for a restart timer.
    const early = s?.state === 'wait-connect';
    if (this.peer.via !== from.via || s === undefined || (s.state !== 'established' && !early)) {
      this.counters.dataDropped++;
      return;
    }
    // §6.5: data from the peer is liveness too; the HELLO waits for a silent interval.
    this.lastRxAt = now;
    s.data.receive(now, view, early);
  }

  /** Timers: channel (acks, retransmits), linger, HELLO, idle disconnect. */
  handleTimeout(now: Instant): void {
    const r = this.channel.handleTimeout(now);
    this.syncCounters();
    if (r === 'failed') {
      if (this.state === 'closing') {
        this.finishClose();
        return;
      }
      const tuning = this.settings.tuning;
      const retries = this.channel.established ? tuning.retriesEstablished : tuning.retriesNotEstablished;
      this.host.event({ type: 'state-timer-expired', tunnel: this.localId, state: this.state, retries });
      this.step(now, 'retransmit-timeout', { by: 'local', cause: 'retransmit-timeout', result: Results.giveUp });
      return;
    }
    if (this.state === 'closing') {
      if (this.lingerUntil !== undefined && this.lingerUntil <= now) this.finishClose();
      return;
    }
    if (this.state !== 'established') return;
    if (this.helloAt !== undefined && this.helloAt <= now) this.helloTimer(now);
    if (this.state === 'established' && this.idleAt !== undefined && this.idleAt <= now) {
      this.idleAt = undefined;
      this.step(now, 'idle-timeout', { by: 'local', cause: 'idle', result: Results.stopClear });
    }
  }

  /** The earliest of the channel's, linger, HELLO and idle deadlines. */
  pollAt(): Instant | undefined {
    if (this.state === 'closed') return undefined;
    let at = this.channel.pollAt();
    const cand = (x: Instant | undefined): void => {
      if (x !== undefined && (at === undefined || x < at)) at = x;
    };
    if (this.state === 'closing') cand(this.lingerUntil);
    else if (this.state === 'established') {
      cand(this.helloAt);
      cand(this.idleAt);
    }
    return at;
  }

  /** Place a call (§7.4.1, §7.5.2); kicks it at once when the tunnel is up. */
  openSession(now: Instant, request: SessionRequest): SessionId | undefined {
    if (this.state === 'closing' || this.state === 'closed') return undefined;
    const s = this.calls.open(now, request);
    if (this.state === 'established') this.step(now, 'local-open', { by: 'local', cause: 'new-call' });
    return s.localId;
  }

  /** Send CDN for a session (§7.4 "Local close request"). */
  closeSession(now: Instant, session: SessionId, result: ResultCode, causes?: CdnCauses): void {
    this.calls.close(now, session, result, causes);
  }

  /** §7.2.1 "Administrative Tunnel Close": StopCCN and clear every session. */
  close(now: Instant, result: ResultCode): void {
    this.step(now, 'admin-close', { by: 'local', cause: 'admin', result });
  }

  /** Encapsulate a PPP frame (§3.1) for an established session of an established tunnel. */
  sendData(session: SessionId, frame: Uint8Array, headroomFree: boolean): Transmit | undefined {
    const s = this.calls.get(session);
    if (s === undefined || s.state !== 'established' || this.state !== 'established') return undefined;
    return { to: this.peer, data: s.data.encapsulate(this.remoteId, s.remoteId, frame, headroomFree) };
  }

  /** Bind a session's data sink (any state: frames flow once it is established). */
  bindSession(now: Instant, session: SessionId, sink: SessionDataSink | undefined): boolean {
    const s = this.calls.get(session);
    if (s === undefined) return false;
    s.data.bind(now, sink);
    return true;
  }

  /** A snapshot for show commands. */
  info(): TunnelInfo {
    this.syncCounters();
    const info: Mutable<TunnelInfo> = {
      localTunnelId: this.localId,
      remoteTunnelId: this.remoteId,
      state: this.state,
      peer: this.peer,
      ns: this.channel.ns,
      nr: this.channel.nr,
      peerReceiveWindow: this.channel.peerWindow,
      congestionWindow: this.channel.cwnd,
      originator: this.originator,
      counters: { ...this.counters },
      sessions: [...this.calls.values()].map((s) => s.info()),
    };
    if (this.remoteHostName !== undefined) info.remoteHostName = this.remoteHostName;
    if (this.remoteVendorName !== undefined) info.remoteVendorName = this.remoteVendorName;
    if (this.protocolVersion !== undefined) info.protocolVersion = this.protocolVersion;
    if (this.establishedAt !== undefined) info.establishedAt = this.establishedAt;
    return info;
  }

  // ---------------------------------------------------------------- receive

  /** Feed a control message to the channel, then dispatch what it delivers in order. */
  deliver(now: Instant, input: InMsg, from: PeerAddress): void {
    const header = input.kind === 'ok' ? input.msg : input.header;
    const ns = header.ns ?? 0;
    const nr = header.nr ?? 0;
    // NAT: answer to the address and port the peer last used.
    // A new IPsec flow (`via`) for the same tunnel is the same rule: answer where it came from.
    if (this.peer.address !== from.address || this.peer.port !== from.port || this.peer.via !== from.via) this.peer = from;
    this.counters.controlRx++;
    this.lastRxAt = now;
    this.helloMisses = 0;
    this.helloSent = false;
    const messageType = input.kind === 'ok' ? input.msg.type : (input.messageType as MessageType | undefined);
    if (input.kind === 'ok') this.host.event({ type: 'control-rx', tunnel: this.localId, peer: from, ns, nr, messageType, avps: input.msg.avps });
    else this.host.event({ type: 'control-rx', tunnel: this.localId, peer: from, ns, nr, messageType, avps: input.partial?.avps ?? {}, refused: input.partial === undefined ? { error: input.error, unreadable: [], complete: false } : { error: input.error, unreadable: input.partial.unreadable, complete: input.partial.complete } });
    const body = input.kind === 'ok' && input.msg.type === undefined ? undefined : input;
    this.channel.receive(now, ns, nr, body, (m) => this.dispatch(now, m));
    // §5.8: a message no reply answers (a HELLO, §6.5; the last of a set-up or a clearing) is acked
    // at once: the delayed ack would only hold the peer's window (its next ICRQ, SLI...) for nothing.
    if (messageType !== undefined && ACK_AT_ONCE.has(messageType) && this.channel.ackPending) this.channel.ackNow();
    this.syncCounters();
  }

  /** Handle one in-order control message. */
  private dispatch(now: Instant, input: InMsg): void {
    if (this.state === 'closed') return;
    if (input.kind === 'refused') {
      this.refused(now, input);
      return;
    }
    const msg = input.msg;
    if (msg.avps.unknown !== undefined) {
      for (const u of msg.avps.unknown) {
        this.counters.unknownAvpsIgnored++;
        this.host.event({ type: 'unknown-avp-ignored', tunnel: this.localId, attribute: u.attribute, vendorId: u.vendorId });
      }
    }
    // §5.7: a lingering tunnel only acknowledges (done by the channel).
    if (this.state === 'closing') return;
    switch (msg.type) {
      case MessageType.SCCRQ:
        this.onSccrq(now, msg);
        return;
      case MessageType.SCCRP:
        this.onSccrp(now, msg);
        return;
      case MessageType.SCCCN:
        this.onScccn(now, msg);
        return;
      case MessageType.StopCCN:
        // §5.7 / §3.1: the ZLB that acknowledges it goes to the peer's Assigned Tunnel ID, also when the
        // StopCCN answers our SCCRQ (we have no remote id yet: an ack to tunnel 0 is ignored by the peer).
        if (this.remoteId === 0 && msg.avps.assignedTunnelId !== undefined) this.remoteId = msg.avps.assignedTunnelId;
        this.step(now, 'rx-stopccn', { by: 'peer', cause: 'stopccn', result: msg.avps.resultCode ?? { result: 0 } });
        return;
      case MessageType.HELLO:
        return; // §6.5: acknowledged by the channel, nothing else.
      case undefined:
        return;
      default:
        // §7.2.1: no calls before the control connection is up.
        if (this.state !== 'established') this.step(now, 'admin-close', { by: 'local', cause: 'fsm', result: Results.fsmError });
        else this.calls.receive(now, msg);
    }
  }

  /** §4.2: a message with an unknown M=1 AVP (or unknown mandatory type) clears its session or tunnel. */
  private refused(now: Instant, input: Extract<InMsg, { kind: 'refused' }>): void {
    if (this.state === 'closing') return;
    if (input.error.kind === 'unknown-message-type' && !input.error.mandatory) return;
    const result = input.error.kind === 'zero-assigned-id' ? Results.zeroAssignedId : Results.unknownMandatoryAvp;
    const p = input.partial;
    if (isSessionScoped(input.messageType, input.header)) {
      this.calls.refuse(now, input.header.sessionId, result, this.state === 'established', p?.assignedSessionId);
      return;
    }
    // §3.1: the StopCCN goes to the peer's Assigned Tunnel ID, read from the refused SCCRQ / SCCRP.
    if (this.remoteId === 0 && p?.assignedTunnelId !== undefined) this.remoteId = p.assignedTunnelId;
    this.step(now, this.fsm === 'idle' ? 'rx-sccrq-not-acceptable' : 'admin-close', { by: 'local', cause: 'bad-message', result });
  }

  /** SCCRQ on an existing tunnel object: the idle tunnel judges it (§7.2.1). */
  private onSccrq(now: Instant, msg: ControlMessage): void {
    if (this.fsm !== 'idle') {
      this.step(now, 'rx-sccrq', { by: 'local', cause: 'fsm', result: Results.fsmError });
      return;
    }
    const a = msg.avps;
    this.learn(msg);
    const verdict = judgeVersion(a) ?? judgeHost(this, a) ?? (a.challenge !== undefined && this.settings.secret === undefined ? NO_SECRET : undefined);
    if (verdict !== undefined) return this.refuse(now, 'rx-sccrq-not-acceptable', verdict);
    if (a.challenge !== undefined) this.peerChallenge = a.challenge;
    this.step(now, 'rx-sccrq-acceptable', { by: 'peer', cause: 'sccrq' });
  }

  /** SCCRP in wait-ctl-reply: version, host, and the answer to our challenge (§4.4.3, §6.2). */
  private onSccrp(now: Instant, msg: ControlMessage): void {
    if (this.fsm !== 'wait-ctl-reply') {
      this.step(now, 'rx-sccrp', { by: 'local', cause: 'fsm', result: Results.fsmError });
      return;
    }
    const a = msg.avps;
    this.learn(msg);
    const verdict =
      judgeVersion(a) ?? judgeHost(this, a) ?? judgeResponse(this, a, MessageType.SCCRP) ?? (a.challenge !== undefined && this.settings.secret === undefined ? NO_SECRET : undefined);
    if (verdict !== undefined) return this.refuse(now, 'rx-sccrp-not-acceptable', verdict);
    if (a.challenge !== undefined) this.peerChallenge = a.challenge;
    this.step(now, 'rx-sccrp-acceptable', { by: 'peer', cause: 'sccrp' });
  }

  /** SCCCN in wait-ctl-conn: the answer to our SCCRP challenge (§4.4.3, §6.3). */
  private onScccn(now: Instant, msg: ControlMessage): void {
    if (this.fsm !== 'wait-ctl-conn') {
      this.step(now, 'rx-scccn', { by: 'local', cause: 'fsm', result: Results.fsmError });
      return;
    }
    const verdict = judgeResponse(this, msg.avps, MessageType.SCCCN);
    if (verdict !== undefined) return this.refuse(now, 'rx-scccn-not-acceptable', verdict);
    this.step(now, 'rx-scccn-acceptable', { by: 'peer', cause: 'scccn' });
  }

  /** The peer's tunnel id, identity and window from SCCRQ/SCCRP. */
  private learn(msg: ControlMessage): void {
    this.remoteId = msg.avps.assignedTunnelId ?? asTunnelId(0);
    this.channel.setPeerWindow(learnPeer(this, msg.avps));
  }

  /** A handshake message not acceptable: report an authentication failure, then the FSM row. */
  private refuse(now: Instant, event: TunnelFsmEvent, r: Refusal): void {
    if (r.authFailed !== undefined) this.host.event({ type: 'tunnel-auth-failed', tunnel: this.localId, peer: this.peer, detail: r.authFailed });
    this.step(now, event, { by: 'local', cause: r.cause, result: r.result });
  }

  // ---------------------------------------------------------------- tunnel FSM

  /** Run one tunnel FSM step: look up the row, enter the new state, execute its actions. */
  step(now: Instant, event: TunnelFsmEvent, ctx: TunnelStepContext): boolean {
    if (this.state === 'closing' || this.state === 'closed') return false;
    const row = tunnelTransition(this.fsm, event);
    if (row === undefined) return false;
    this.fsm = row.to;
    if (row.to !== 'idle') this.state = row.to;
    if (this.originator) this.host.trackOpening(this, row.to === 'wait-ctl-reply');
    for (const action of row.actions) {
      switch (action) {
        case 'send-sccrq':
          this.sendControl(now, { sessionId: asSessionId(0), type: MessageType.SCCRQ, avps: sccrqAvps(this, this.host.random) });
          break;
        case 'send-sccrp':
          this.sendControl(now, { sessionId: asSessionId(0), type: MessageType.SCCRP, avps: sccrpAvps(this, this.host.random) });
          break;
        case 'send-scccn':
          this.sendControl(now, { sessionId: asSessionId(0), type: MessageType.SCCCN, avps: scccnAvps(this) });
          break;
        case 'send-last-stopccn':
          // §5.8 give-up: the peer stopped answering; drop what it never acked and tell it once.
          this.channel.abandon();
          this.channel.sendOnce({ sessionId: asSessionId(0), type: MessageType.StopCCN, avps: { assignedTunnelId: this.localId, resultCode: ctx.result ?? Results.stopClear } });
          break;
        case 'send-stopccn':
          this.sentStopCcn = true;
          this.channel.send(now, { sessionId: asSessionId(0), type: MessageType.StopCCN, avps: { assignedTunnelId: this.localId, resultCode: ctx.result ?? Results.stopClear } }, true);
          break;
        case 'tunnel-open':
          this.tunnelOpen(now);
          break;
        case 'cleanup':
          this.cleanup(now, ctx);
          break;
        case 'requeue-sccrq':
          // §7.2.1: the loser cleans up and handles the winner's SCCRQ as in idle state.
          if (ctx.msg !== undefined && ctx.from !== undefined) this.host.acceptSccrq(now, ctx.msg, ctx.from, ctx.migrate ?? []);
          break;
        case 'discard-sccrq':
          break;
      }
    }
    return true;
  }

  /** §7.2.1 "send tunnel-open event to waiting sessions". */
  private tunnelOpen(now: Instant): void {
    if (this.establishedAt === undefined) {
      this.host.halfOpenEnded(this);
      this.establishedAt = now;
      this.channel.established = true;
      const interval = this.settings.tuning.helloInterval;
      this.helloAt = interval > 0 ? ((now + interval * (1 - this.helloSkew)) as Instant) : undefined;
      const ev: Mutable<Extract<L2tpEvent, { type: 'tunnel-established' }>> = { type: 'tunnel-established', tunnel: this.localId, remoteTunnel: this.remoteId, peer: this.peer };
      if (this.remoteHostName !== undefined) ev.remoteHostName = this.remoteHostName;
      this.host.event(ev);
      if (this.calls.size === 0) this.armIdle(now);
    }
    this.calls.tunnelOpen(now);
  }

  /** §7.2.1 "Clean up": clear sessions; linger in `closing` if a StopCCN was exchanged (§5.7). */
  private cleanup(now: Instant, ctx: TunnelStepContext): void {
    const reason: CloseReason = { by: ctx.by, result: ctx.result ?? { result: 0 }, cause: ctx.cause };
    this.closeReason = reason;
    this.host.event({ type: 'tunnel-closing', tunnel: this.localId, reason });
    // §7.2.1 tie-breaker loss: calls waiting for the tunnel move to the winner's tunnel.
    this.calls.tunnelDown(now, { by: ctx.by, cause: 'tunnel-closed', result: reason.result }, ctx.migrate);
    this.helloAt = undefined;
    this.idleAt = undefined;
    if (ctx.cause === 'stopccn') {
      // Received StopCCN: drop our pending messages, keep acking duplicates for a full cycle.
      this.channel.abandon();
      this.state = 'closing';
      this.lingerUntil = (now + fullCycle(this.settings.tuning)) as Instant;
    } else if (this.sentStopCcn) {
      this.state = 'closing';
      this.lingerUntil = (now + fullCycle(this.settings.tuning)) as Instant;
    } else {
      this.finishClose();
    }
  }

  /** Release the tunnel for good. */
  private finishClose(): void {
    if (this.state === 'closed') return;
    if (this.originator) this.host.trackOpening(this, false);
    this.host.halfOpenEnded(this);
    this.channel.ackNow();
    this.state = 'closed';
    this.channel.abandon();
    this.host.released(this);
    this.host.event({ type: 'tunnel-closed', tunnel: this.localId, reason: this.closeReason ?? { by: 'local', result: { result: 0 }, cause: 'closed' } });
  }

  /** §6.5 keepalive: HELLO after helloInterval of silence; helloMissCount silent cycles end the tunnel. */
  private helloTimer(now: Instant): void {
    const interval = this.settings.tuning.helloInterval;
    const due = (this.lastRxAt + interval * (1 - this.helloSkew)) as Instant;
    if (!this.helloSent && due > now) {
      this.helloAt = due; // traffic since the timer was armed: push it out lazily
      return;
    }
    if (this.helloSent) {
      this.helloMisses++;
      const remaining = this.settings.tuning.helloMissCount - this.helloMisses;
      this.host.event({ type: 'keepalive-countdown', tunnel: this.localId, remaining: Math.max(remaining, 0) });
      if (remaining <= 0) {
        this.host.event({ type: 'keepalive-expired', tunnel: this.localId });
        this.step(now, 'hello-timeout', { by: 'local', cause: 'hello-timeout', result: Results.giveUp });
        return;
      }
    }
    if (this.channel.idle) this.sendControl(now, { sessionId: asSessionId(0), type: MessageType.HELLO, avps: {} });
    this.helloSent = true;
    // Re-armed from its own due time (whole intervals skipped after a stall), not from `now`.
    const at = (this.helloAt ?? now) + interval;
    this.helloAt = (at > now ? at : at + Math.ceil((now - at + 1) / interval) * interval) as Instant;
  }

  private armIdle(now: Instant): void {
    const d = this.settings.idleDisconnect;
    if (d !== undefined && d > 0 && this.state === 'established') this.idleAt = (now + d) as Instant;
  }

  // ---------------------------------------------------------------- CallOwner and channel sink

  /** Queue a message on the reliable channel. */
  sendControl(now: Instant, m: OutMsg): void {
    this.channel.send(now, m);
  }

  /** Calls came or went: a call cancels the idle timer; the last one gone arms it. */
  callsChanged(now: Instant, busy: boolean): void {
    if (busy) this.idleAt = undefined;
    else this.armIdle(now);
  }

  /** Channel sink: number, encode and queue a control message or ZLB. */
  private encode(ns: number, nr: number, body: OutMsg | undefined): void {
    const msg: ControlMessage = { tunnelId: this.remoteId, sessionId: body?.sessionId ?? asSessionId(0), ns, nr, type: body?.type, avps: body?.avps ?? {} };
    const secret = this.settings.secret;
    const hide =
      secret !== undefined && this.settings.hideAvps === true ? (messageSpec(msg.type ?? 0)?.sessionScoped === true ? HIDE_SET_SESSION : HIDE_SET_TUNNEL) : undefined;
    const data = emitControl(msg, secret === undefined ? {} : hide === undefined ? { secret } : { secret, hide, random: this.host.random });
    this.counters.controlTx++;
    this.host.event({ type: 'control-tx', tunnel: this.localId, peer: this.peer, ns, nr, messageType: msg.type, avps: msg.avps });
    this.host.transmit({ to: this.peer, data });
    const done = body?.completes;
    if (done !== undefined) this.calls.connectSent(done);
  }

  /** Copy channel statistics into the tunnel counters. */
  private syncCounters(): void {
    const st = this.channel.stats;
    const c = this.counters;
    c.retransmits = st.retransmits;
    c.duplicates = st.duplicates;
    c.outOfWindow = st.outOfWindow;
    c.zlbTx = st.zlbTx;
    c.zlbRx = st.zlbRx;
  }
}
