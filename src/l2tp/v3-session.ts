/**
 * One L2TPv3 session (pseudowire) of a control connection: the incoming call of RFC 3931 §3.4.1 /
 * §7.3 (ICRQ -> ICRP -> ICCN), the outgoing call of §3.4.2 / §7.4 (OCRQ -> OCRP -> OCCN: the
 * recipient connects its attachment circuit, `bearer-answer`, then confirms), CDN, Set-Link-Info
 * (§3.4.3) and WAN-Error-Notify, driven by the same session FSM table as v2 (session-fsm.ts: RFC 3931
 * §7 keeps the shape of RFC 2661 §7.4-§7.5). What is v3 here: 32-bit Session IDs (§5.4.4 Local /
 * Remote Session ID), the Assigned Cookie chosen per direction, Pseudowire Type, Remote End ID,
 * L2-Specific Sublayer and Data Sequencing, and Circuit Status (§5.4.5). When the session is up it
 * announces its `V3PseudowireBinding` for the data plane.
 *
 * Which message is valid is data too (`EXPECTED`): per call type, the reply the originator waits for
 * and the confirmation the recipient waits for; anything else in that state is `rx-unexpected`.
 */
import type { Instant, RandomSource } from '../base/index.js';
import {
  DataSequencingLevel,
  L2SpecificSublayerType,
  V3MessageType,
  v3SessionId,
  type CircuitErrors,
  type CircuitStatus,
  type V3ControlAvps,
  type V3ControlMessage,
  type V3ResultCode,
  type V3SessionId,
} from '../wire/l2tpv3/index.js';
import type { Mutable } from './connection.js';
import { sessionTransition, type SessionFsmAction, type SessionFsmEvent } from './session-fsm.js';
import type { V3AcceptPseudowires, V3CallType, V3CloseReason, V3PseudowireBinding, V3PseudowireParams, V3SessionInfo, V3SessionState } from './v3-api.js';

/** CDN result codes we send (§5.4.2). */
export const V3CdnResults = {
  /** 3: administrative reasons. */
  admin: { result: 3 },
  /** 2 + error 8: unknown mandatory AVP (§5.2). */
  unknownMandatory: { result: 2, error: 8, message: 'unknown mandatory AVP' },
  /** 2 + error 6: generic vendor error / not acceptable. */
  notAcceptable: { result: 2, error: 6, message: 'pseudowire parameters not acceptable' },
  /** 14 (RFC 3931 §5.4.2): Pseudowire type not supported. */
  pwTypeUnsupported: { result: 14, message: 'PW type not supported' },
  /** 16: Remote End ID unknown (we use 2/6 text). */
  unknownRemoteEnd: { result: 2, error: 6, message: 'unknown Remote End ID' },
  /** 2 + error 7 (FSM): message not valid in this state. */
  fsm: { result: 2, error: 7, message: 'message not valid in session state' },
} as const satisfies Record<string, V3ResultCode>;

/** What a session borrows from its control connection. */
export interface V3SessionOwner {
  readonly random: RandomSource;
  readonly encapsulation: 'udp' | 'ip';
  readonly acceptPseudowires: V3AcceptPseudowires;
  /** Queue a session message on the reliable channel. */
  sendSession(now: Instant, type: V3MessageType, avps: V3ControlAvps): void;
  /** The session is up / gone (events, counters, the connection's session index). */
  sessionUp(now: Instant, s: V3Session): void;
  sessionGone(now: Instant, s: V3Session, reason: V3CloseReason): void;
  /** Circuit status changed by the peer (SLI). */
  circuitChanged(s: V3Session, status: CircuitStatus): void;
  /** The peer reported circuit errors (WEN). */
  wanError(s: V3Session, errors: CircuitErrors): void;
  /** Our attachment circuit for a Remote End ID is up (TAP carrier / admin state). */
  circuitActive(remoteEndId: string): boolean;
}

/** Per call type (§3.4.1, §3.4.2): the request, the reply and the confirmation, and their FSM events. */
interface CallMessages {
  readonly request: V3MessageType;
  readonly reply: V3MessageType;
  readonly connect: V3MessageType;
  readonly tunnelOpen: SessionFsmEvent;
  readonly requestOk: SessionFsmEvent;
  readonly requestBad: SessionFsmEvent;
  readonly replyOk: SessionFsmEvent;
  readonly replyBad: SessionFsmEvent;
  readonly connectOk: SessionFsmEvent;
}

/** RFC 3931 §3.4.1 / §6.6-§6.8 incoming and §3.4.2 / §6.9-§6.11 outgoing calls, as data. */
export const V3_CALLS: Readonly<Record<V3CallType, CallMessages>> = {
  incoming: {
    request: V3MessageType.ICRQ,
    reply: V3MessageType.ICRP,
    connect: V3MessageType.ICCN,
    tunnelOpen: 'tunnel-open-incoming',
    requestOk: 'rx-icrq-acceptable',
    requestBad: 'rx-icrq-not-acceptable',
    replyOk: 'rx-icrp-acceptable',
    replyBad: 'rx-icrp-not-acceptable',
    connectOk: 'rx-iccn-acceptable',
  },
  outgoing: {
    request: V3MessageType.OCRQ,
    reply: V3MessageType.OCRP,
    connect: V3MessageType.OCCN,
    tunnelOpen: 'tunnel-open-outgoing',
    requestOk: 'rx-ocrq-acceptable',
    requestBad: 'rx-ocrq-not-acceptable',
    replyOk: 'rx-ocrp-acceptable',
    replyBad: 'rx-ocrp-not-acceptable',
    connectOk: 'rx-occn-acceptable',
  },
};

/** The call type a request message starts, or undefined. */
export const callOfRequest = (t: V3MessageType | undefined): V3CallType | undefined =>
  t === V3MessageType.ICRQ ? 'incoming' : t === V3MessageType.OCRQ ? 'outgoing' : undefined;

const text = new TextEncoder();
const untext = new TextDecoder();
const sublayerOf = (n: number | undefined): 'none' | 'default' | undefined =>
  n === undefined || n === L2SpecificSublayerType.none ? 'none' : n === L2SpecificSublayerType.default ? 'default' : undefined;
const sublayerNumber = (s: 'none' | 'default'): number => (s === 'default' ? L2SpecificSublayerType.default : L2SpecificSublayerType.none);

/** One session; see the file comment. */
export class V3Session {
  state: V3SessionState = 'idle';
  remoteId: V3SessionId = v3SessionId(0);
  /** Parameters: requested by us (originator) or settled from the ICRQ (responder). */
  params: V3PseudowireParams | undefined;
  /** Our Assigned Cookie (what we require). */
  rxCookie: Uint8Array = new Uint8Array(0);
  /** The peer's Assigned Cookie (what we send). */
  txCookie: Uint8Array = new Uint8Array(0);
  /** The peer asked us to sequence. */
  peerWantsSequence = false;
  circuitRemote: CircuitStatus | undefined;
  /** The A bit the peer last heard from us; undefined before the first Circuit Status went out (§5.4.5 N). */
  private announced: boolean | undefined;
  establishedAt: Instant | undefined;
  binding: V3PseudowireBinding | undefined;
  sliRx = 0;
  sliTx = 0;
  wenRx = 0;
  circuitErrors: CircuitErrors | undefined;
  private serial = 0;

  constructor(
    private readonly owner: V3SessionOwner,
    readonly localId: V3SessionId,
    readonly originator: boolean,
    public remoteEndId: string,
    readonly call: V3CallType = 'incoming',
  ) {}

  private get calls(): CallMessages {
    return V3_CALLS[this.call];
  }

  /** Originator: we place the call; ICRQ / OCRQ goes out once the connection is open. */
  request(now: Instant, params: V3PseudowireParams, serial: number, connectionOpen: boolean): void {
    this.params = params;
    this.serial = serial;
    this.rxCookie = this.owner.random.bytes(params.cookieLength);
    this.step(now, 'call-request', { by: 'local', cause: 'open' });
    if (connectionOpen) this.connectionOpen(now);
  }

  /** The connection reached established (§7.2 "tunnel-open" to waiting sessions). */
  connectionOpen(now: Instant): void {
    if (this.state === 'wait-tunnel') this.step(now, this.calls.tunnelOpen, { by: 'local', cause: 'open' });
  }

  /**
   * Recipient: judge an ICRQ (§6.6) or OCRQ (§6.9) and answer ICRP / OCRP or CDN. An accepted OCRQ
   * connects our attachment circuit at once (the TAP of its Remote End ID exists for the life of the
   * shell: RFC 3931 §3.4.2 "bearer answer"), so OCCN follows the OCRP.
   */
  receiveRequest(now: Instant, msg: V3ControlMessage): void {
    const calls = this.calls;
    const a = msg.avps;
    this.remoteId = a.localSessionId ?? v3SessionId(0);
    this.remoteEndId = a.remoteEndId !== undefined ? untext.decode(a.remoteEndId) : '';
    this.circuitRemote = a.circuitStatus;
    const acc = this.owner.acceptPseudowires;
    const sub = sublayerOf(a.l2SpecificSublayer);
    let refusal: V3ResultCode | undefined;
    if (a.pwType !== 4 && a.pwType !== 5) refusal = V3CdnResults.pwTypeUnsupported;
    else if (!acc.pwTypes.includes(a.pwType)) refusal = V3CdnResults.pwTypeUnsupported;
    else if (acc.remoteEndIds !== undefined && !acc.remoteEndIds.includes(this.remoteEndId)) refusal = V3CdnResults.unknownRemoteEnd;
    else if (sub === undefined) refusal = V3CdnResults.notAcceptable;
    else if ((a.dataSequencing ?? 0) !== DataSequencingLevel.none && sub === 'none') refusal = V3CdnResults.notAcceptable;
    if (refusal !== undefined || sub === undefined || (a.pwType !== 4 && a.pwType !== 5)) {
      this.step(now, calls.requestBad, { by: 'local', cause: 'not-acceptable', result: refusal ?? V3CdnResults.notAcceptable });
      return;
    }
    const own = Object.hasOwn(acc.byRemoteEndId ?? {}, this.remoteEndId) ? acc.byRemoteEndId?.[this.remoteEndId] : undefined;
    const cookieLength = own?.cookieLength ?? acc.cookieLength;
    const sequencing = (own?.sequencing ?? acc.sequencing) && sub === 'default';
    this.params = { pwType: a.pwType, cookieLength, sublayer: sub, sequencing };
    this.txCookie = a.assignedCookie ?? new Uint8Array(0);
    this.peerWantsSequence = (a.dataSequencing ?? 0) !== DataSequencingLevel.none;
    this.rxCookie = this.owner.random.bytes(cookieLength);
    this.step(now, calls.requestOk, { by: 'peer', cause: this.call === 'incoming' ? 'icrq' : 'ocrq' });
    // §7.4.2: the OCRQ recipient connects the call on its attachment circuit, then sends OCCN.
    if (this.state === 'wait-cs-answer') this.step(now, 'bearer-answer', { by: 'local', cause: 'answer' });
  }

  /** A session message in order for this session (§7.3, §7.4). */
  receive(now: Instant, msg: V3ControlMessage): void {
    const a = msg.avps;
    const calls = this.calls;
    switch (msg.type) {
      case calls.reply: {
        // §7.3.1 / §7.4.1: only the originator waits for ICRP / OCRP.
        if (!this.originator || this.state !== 'wait-reply') return this.unexpected(now);
        this.remoteId = a.localSessionId ?? v3SessionId(0);
        this.txCookie = a.assignedCookie ?? new Uint8Array(0);
        this.circuitRemote = a.circuitStatus;
        this.peerWantsSequence = (a.dataSequencing ?? 0) !== DataSequencingLevel.none;
        const sub = sublayerOf(a.l2SpecificSublayer);
        // §5.4.4: the responder may not change the sublayer we proposed.
        const ok = this.remoteId !== 0 && sub === this.params?.sublayer && !(this.peerWantsSequence && sub === 'none');
        this.step(now, ok ? calls.replyOk : calls.replyBad, { by: 'local', cause: ok ? 'reply' : 'not-acceptable', result: V3CdnResults.notAcceptable });
        // An OCRQ sender sends nothing after OCRP: a circuit change since the OCRQ goes as SLI.
        this.circuitUpdate(now);
        return;
      }
      case calls.connect:
        // §7.3.2: the ICRQ recipient waits for ICCN; §7.4.1: the OCRQ sender waits for OCCN.
        if (this.state !== 'wait-connect' || this.originator !== (this.call === 'outgoing')) return this.unexpected(now);
        if (a.circuitStatus !== undefined) this.circuitRemote = a.circuitStatus;
        this.step(now, calls.connectOk, { by: 'peer', cause: this.call === 'incoming' ? 'iccn' : 'occn' });
        return;
      case V3MessageType.CDN:
        this.step(now, 'rx-cdn', { by: 'peer', cause: 'cdn', result: a.resultCode ?? { result: 0 } });
        return;
      case V3MessageType.SLI:
        // §3.4.3 / §6.14: Set-Link-Info carries the peer's Circuit Status; valid in any live state.
        this.sliRx++;
        if (a.circuitStatus !== undefined) {
          this.circuitRemote = a.circuitStatus;
          this.owner.circuitChanged(this, a.circuitStatus);
        }
        return;
      case V3MessageType.WEN:
        // §6.13: informational only; counted and reported.
        this.wenRx++;
        if (a.circuitErrors !== undefined) {
          this.circuitErrors = a.circuitErrors;
          this.owner.wanError(this, a.circuitErrors);
        }
        return;
      default:
        this.unexpected(now);
    }
  }

  /**
   * Our attachment circuit may have changed (the owner knows its state): tell the peer with SLI
   * (§3.4.3) once it knows our session; before that, the next ICRQ/ICRP/ICCN (OCRQ/...) carries it.
   */
  circuitUpdate(now: Instant): void {
    const active = this.owner.circuitActive(this.remoteEndId);
    if (this.announced === undefined || this.announced === active || this.remoteId === 0 || this.state === 'closed') return;
    this.announced = active;
    this.sliTx++;
    // §5.4.5: N is for a new circuit; an SLI reports a change of an existing one.
    this.owner.sendSession(now, V3MessageType.SLI, { localSessionId: this.localId, remoteSessionId: this.remoteId, circuitStatus: { active, new: false } });
  }

  /** Send WAN-Error-Notify (§6.13) to the peer's session. */
  wanErrorNotify(now: Instant, errors: CircuitErrors): void {
    if (this.remoteId === 0 || this.state === 'closed') return;
    this.owner.sendSession(now, V3MessageType.WEN, { localSessionId: this.localId, remoteSessionId: this.remoteId, circuitErrors: errors });
  }

  /** Administrative close (CDN, §7.4 "local close request"). */
  close(now: Instant, result: V3ResultCode): void {
    this.step(now, 'local-close', { by: 'local', cause: 'admin', result });
  }

  /** The peer's message for this session could not be used (§5.2 unknown M=1 AVP): CDN, this session only. */
  refuse(now: Instant, result: V3ResultCode): void {
    this.step(now, 'rx-unexpected', { by: 'local', cause: 'bad-message', result });
  }

  /** The connection is gone: clean up without CDN (§5.7, StopCCN covers the sessions). */
  connectionDown(now: Instant, reason: V3CloseReason): void {
    this.step(now, 'tunnel-down', reason);
  }

  private unexpected(now: Instant): void {
    this.step(now, 'rx-unexpected', { by: 'local', cause: 'fsm', result: V3CdnResults.fsm });
  }

  /** One session FSM step (session-fsm.ts rows), then its actions. */
  step(now: Instant, event: SessionFsmEvent, ctx: { by: 'local' | 'peer'; cause: string; result?: V3ResultCode }): void {
    if (this.state === 'closed') return;
    const row = sessionTransition(this.state, event);
    if (row === undefined) return;
    this.state = row.to;
    for (const action of row.actions) this.act(now, action, ctx);
  }

  private act(now: Instant, action: SessionFsmAction, ctx: { by: 'local' | 'peer'; cause: string; result?: V3ResultCode }): void {
    switch (action) {
      case 'send-icrq':
      case 'send-ocrq':
        this.owner.sendSession(now, this.calls.request, this.requestAvps());
        return;
      case 'send-icrp':
      case 'send-ocrp':
        this.owner.sendSession(now, this.calls.reply, this.replyAvps(true));
        return;
      case 'send-iccn':
      case 'send-occn':
        this.owner.sendSession(now, this.calls.connect, this.replyAvps(false));
        return;
      case 'send-cdn':
        this.owner.sendSession(now, V3MessageType.CDN, { resultCode: ctx.result ?? V3CdnResults.admin, localSessionId: this.localId, remoteSessionId: this.remoteId });
        return;
      case 'session-up':
        this.up(now);
        return;
      case 'cleanup':
        this.owner.sessionGone(now, this, { by: ctx.by, cause: ctx.cause, result: ctx.result ?? { result: 0 } });
        return;
      default:
        return; // open-tunnel: the connection opens itself.
    }
  }

  /** Our Circuit Status for a message; N only on the first one (§5.4.5). */
  private circuitAvp(): CircuitStatus {
    const active = this.owner.circuitActive(this.remoteEndId);
    const status = { active, new: this.announced === undefined };
    this.announced = active;
    return status;
  }

  /** ICRQ (§6.6) / OCRQ (§6.9): the same AVPs. */
  private requestAvps(): V3ControlAvps {
    const p = this.params as V3PseudowireParams;
    const a: Mutable<V3ControlAvps> = {
      localSessionId: this.localId,
      remoteSessionId: v3SessionId(0),
      serialNumber: this.serial,
      pwType: p.pwType,
      remoteEndId: text.encode(this.remoteEndId),
      circuitStatus: this.circuitAvp(),
      l2SpecificSublayer: sublayerNumber(p.sublayer),
      dataSequencing: p.sequencing ? DataSequencingLevel.all : DataSequencingLevel.none,
    };
    if (this.rxCookie.length > 0) a.assignedCookie = this.rxCookie;
    return a;
  }

  /** ICRP / OCRP (with cookie, sequencing) or ICCN / OCCN. */
  private replyAvps(reply: boolean): V3ControlAvps {
    const p = this.params as V3PseudowireParams;
    const a: Mutable<V3ControlAvps> = { localSessionId: this.localId, remoteSessionId: this.remoteId, l2SpecificSublayer: sublayerNumber(p.sublayer) };
    // §6.7 / §6.10: Circuit Status is required in ICRP / OCRP; in ICCN / OCCN only when it changed.
    if (reply || this.announced !== this.owner.circuitActive(this.remoteEndId)) a.circuitStatus = this.circuitAvp();
    if (reply) {
      if (this.rxCookie.length > 0) a.assignedCookie = this.rxCookie;
      a.dataSequencing = p.sequencing ? DataSequencingLevel.all : DataSequencingLevel.none;
    }
    return a;
  }

  private up(now: Instant): void {
    const p = this.params as V3PseudowireParams;
    this.establishedAt = now;
    this.binding = {
      encapsulation: this.owner.encapsulation,
      pwType: p.pwType,
      localSessionId: this.localId,
      peerSessionId: this.remoteId,
      txCookie: this.txCookie,
      rxCookie: this.rxCookie,
      sublayer: p.sublayer,
      sendSequence: this.peerWantsSequence && p.sublayer === 'default',
      requireSequence: p.sequencing && p.sublayer === 'default',
    };
    this.owner.sessionUp(now, this);
  }

  /** A snapshot for show commands. */
  info(): V3SessionInfo {
    const i: Mutable<V3SessionInfo> = {
      localSessionId: this.localId,
      remoteSessionId: this.remoteId,
      state: this.state,
      remoteEndId: this.remoteEndId,
      originator: this.originator,
      call: this.call,
      circuitLocal: { active: this.owner.circuitActive(this.remoteEndId), new: this.announced === undefined },
      sliRx: this.sliRx,
      sliTx: this.sliTx,
      wenRx: this.wenRx,
    };
    if (this.circuitRemote !== undefined) i.circuitRemote = this.circuitRemote;
    if (this.circuitErrors !== undefined) i.circuitErrors = this.circuitErrors;
    if (this.binding !== undefined) i.binding = this.binding;
    if (this.establishedAt !== undefined) i.establishedAt = this.establishedAt;
    return i;
  }
}
