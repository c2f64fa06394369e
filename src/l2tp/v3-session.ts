/**
 * One L2TPv3 session (pseudowire) of a control connection: the incoming-call exchange of RFC 3931
 * §3.4.1 / §7.3-§7.4 (ICRQ -> ICRP -> ICCN), CDN and SLI, driven by the same session FSM table as v2
 * (session-fsm.ts: RFC 3931 §7 keeps the shape of RFC 2661 §7.4). What is v3 here: 32-bit Session IDs
 * (§5.4.4 Local / Remote Session ID), the Assigned Cookie chosen per direction, Pseudowire Type,
 * Remote End ID, L2-Specific Sublayer and Data Sequencing, and Circuit Status (§5.4.5). When the
 * session is up it announces its `V3PseudowireBinding` for the data plane.
 */
import type { Instant, RandomSource } from '../base/index.js';
import {
  DataSequencingLevel,
  L2SpecificSublayerType,
  V3MessageType,
  v3SessionId,
  type CircuitStatus,
  type V3ControlAvps,
  type V3ControlMessage,
  type V3ResultCode,
  type V3SessionId,
} from '../wire/l2tpv3/index.js';
import type { Mutable } from './connection.js';
import { sessionTransition, type SessionFsmAction, type SessionFsmEvent } from './session-fsm.js';
import type { V3AcceptPseudowires, V3CloseReason, V3PseudowireBinding, V3PseudowireParams, V3SessionInfo, V3SessionState } from './v3-api.js';

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
}

const text = new TextEncoder();
const untext = new TextDecoder();
const sublayerOf = (n: number | undefined): 'none' | 'default' | undefined =>
  n === undefined || n === L2SpecificSublayerType.none ? 'none' : n === L2SpecificSublayerType.default ? 'default' : undefined;
const sublayerNumber = (s: 'none' | 'default'): number => (s === 'default' ? L2SpecificSublayerType.default : L2SpecificSublayerType.none);
const ACTIVE: CircuitStatus = { active: true, new: true };

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
  establishedAt: Instant | undefined;
  binding: V3PseudowireBinding | undefined;
  private serial = 0;

  constructor(
    private readonly owner: V3SessionOwner,
    readonly localId: V3SessionId,
    readonly originator: boolean,
    public remoteEndId: string,
  ) {}

  /** Originator: we place the call; ICRQ goes out once the connection is open. */
  request(now: Instant, params: V3PseudowireParams, serial: number, connectionOpen: boolean): void {
    this.params = params;
    this.serial = serial;
    this.rxCookie = this.owner.random.bytes(params.cookieLength);
    this.step(now, 'call-request', { by: 'local', cause: 'open' });
    if (connectionOpen) this.connectionOpen(now);
  }

  /** The connection reached established (§7.2 "tunnel-open" to waiting sessions). */
  connectionOpen(now: Instant): void {
    if (this.state === 'wait-tunnel') this.step(now, 'tunnel-open-incoming', { by: 'local', cause: 'open' });
  }

  /** Responder: judge an ICRQ (§6.6) and answer ICRP or CDN. */
  receiveIcrq(now: Instant, msg: V3ControlMessage): void {
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
      this.step(now, 'rx-icrq-not-acceptable', { by: 'local', cause: 'not-acceptable', result: refusal ?? V3CdnResults.notAcceptable });
      return;
    }
    const own = Object.hasOwn(acc.byRemoteEndId ?? {}, this.remoteEndId) ? acc.byRemoteEndId?.[this.remoteEndId] : undefined;
    const cookieLength = own?.cookieLength ?? acc.cookieLength;
    const sequencing = (own?.sequencing ?? acc.sequencing) && sub === 'default';
    this.params = { pwType: a.pwType, cookieLength, sublayer: sub, sequencing };
    this.txCookie = a.assignedCookie ?? new Uint8Array(0);
    this.peerWantsSequence = (a.dataSequencing ?? 0) !== DataSequencingLevel.none;
    this.rxCookie = this.owner.random.bytes(cookieLength);
    this.step(now, 'rx-icrq-acceptable', { by: 'peer', cause: 'icrq' });
  }

  /** A session message in order for this session (§7.4). */
  receive(now: Instant, msg: V3ControlMessage): void {
    const a = msg.avps;
    switch (msg.type) {
      case V3MessageType.ICRP: {
        if (this.state !== 'wait-reply') return this.unexpected(now);
        this.remoteId = a.localSessionId ?? v3SessionId(0);
        this.txCookie = a.assignedCookie ?? new Uint8Array(0);
        this.circuitRemote = a.circuitStatus;
        this.peerWantsSequence = (a.dataSequencing ?? 0) !== DataSequencingLevel.none;
        const sub = sublayerOf(a.l2SpecificSublayer);
        // §5.4.4: the responder may not change the sublayer we proposed.
        const ok = this.remoteId !== 0 && sub === this.params?.sublayer && !(this.peerWantsSequence && sub === 'none');
        this.step(now, ok ? 'rx-icrp-acceptable' : 'rx-icrp-not-acceptable', { by: 'local', cause: ok ? 'icrp' : 'not-acceptable', result: V3CdnResults.notAcceptable });
        return;
      }
      case V3MessageType.ICCN:
        if (this.state !== 'wait-connect') return this.unexpected(now);
        if (a.circuitStatus !== undefined) this.circuitRemote = a.circuitStatus;
        this.step(now, 'rx-iccn-acceptable', { by: 'peer', cause: 'iccn' });
        return;
      case V3MessageType.CDN:
        this.step(now, 'rx-cdn', { by: 'peer', cause: 'cdn', result: a.resultCode ?? { result: 0 } });
        return;
      case V3MessageType.SLI:
        // §6.14: Set-Link-Info carries the peer's Circuit Status.
        if (a.circuitStatus !== undefined) {
          this.circuitRemote = a.circuitStatus;
          this.owner.circuitChanged(this, a.circuitStatus);
        }
        return;
      case V3MessageType.WEN:
        return; // §6.13: informational only.
      default:
        this.unexpected(now);
    }
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
    this.state = row.to as V3SessionState;
    for (const action of row.actions) this.act(now, action, ctx);
  }

  private act(now: Instant, action: SessionFsmAction, ctx: { by: 'local' | 'peer'; cause: string; result?: V3ResultCode }): void {
    switch (action) {
      case 'send-icrq':
        this.owner.sendSession(now, V3MessageType.ICRQ, this.icrqAvps());
        return;
      case 'send-icrp':
        this.owner.sendSession(now, V3MessageType.ICRP, this.replyAvps(true));
        return;
      case 'send-iccn':
        this.owner.sendSession(now, V3MessageType.ICCN, this.replyAvps(false));
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
        return; // open-tunnel: the connection opens itself; OCRQ actions are not used by v3 incoming calls.
    }
  }

  private icrqAvps(): V3ControlAvps {
    const p = this.params as V3PseudowireParams;
    const a: Mutable<V3ControlAvps> = {
      localSessionId: this.localId,
      remoteSessionId: v3SessionId(0),
      serialNumber: this.serial,
      pwType: p.pwType,
      remoteEndId: text.encode(this.remoteEndId),
      circuitStatus: ACTIVE,
      l2SpecificSublayer: sublayerNumber(p.sublayer),
      dataSequencing: p.sequencing ? DataSequencingLevel.all : DataSequencingLevel.none,
    };
    if (this.rxCookie.length > 0) a.assignedCookie = this.rxCookie;
    return a;
  }

  /** ICRP (with cookie, sequencing) or ICCN. */
  private replyAvps(icrp: boolean): V3ControlAvps {
    const p = this.params as V3PseudowireParams;
    const a: Mutable<V3ControlAvps> = { localSessionId: this.localId, remoteSessionId: this.remoteId, circuitStatus: ACTIVE, l2SpecificSublayer: sublayerNumber(p.sublayer) };
    if (icrp) {
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
      circuitLocal: ACTIVE,
    };
    if (this.circuitRemote !== undefined) i.circuitRemote = this.circuitRemote;
    if (this.binding !== undefined) i.binding = this.binding;
    if (this.establishedAt !== undefined) i.establishedAt = this.establishedAt;
    return i;
  }
}
