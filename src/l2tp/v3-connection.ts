/**
 * One L2TPv3 control connection (RFC 3931 §3.3, §4.2-§4.4, §7.2), the sibling of the v2 `Tunnel`: the
 * same reliable channel (channel.ts, §4.2 = RFC 2661 §5.8) and the same control connection FSM table
 * (tunnel-fsm.ts, §7.2 keeps RFC 2661's states and events). What is v3 here:
 *
 * - the 32-bit Control Connection ID and the Router ID / Pseudowire Capabilities of SCCRQ/SCCRP (§6.1);
 * - Control Message Authentication (§4.3, §5.4.1): nonces in SCCRQ/SCCRP and a Message Digest on
 *   every message (HMAC-MD5 or HMAC-SHA-1); ZLBs are then replaced by the explicit ACK (§6.15);
 * - the RFC 2661-style Challenge / Challenge Response "tunnel auth" of some vendors;
 * - §5.2: a message with an unknown M=1 AVP clears only its session (CDN) when it is a session message;
 * - NAT (seed 004): the peer's address and port move only with authenticated control traffic, i.e. a
 *   message whose Message Digest verified and that the channel had not seen yet. Without a digest
 *   nothing after the handshake is authenticated, so the address learned from the SCCRQ/SCCRP stays.
 */
import { constantTimeEqual, type Instant, type RandomSource } from '../base/index.js';
import {
  controlConnectionId,
  digestSharedKey,
  DigestType,
  emitV3Control,
  parseV3Control,
  V3MessageType,
  v3SessionId,
  type CircuitErrors,
  type CircuitStatus,
  type ControlConnectionId,
  type V3Authentication,
  type V3ControlAvps,
  type V3ControlMessage,
  type V3ControlParseFailure,
  type V3ResultCode,
  type V3SessionId,
} from '../wire/l2tpv3/index.js';
import type { PeerAddress, Transmit } from './api.js';
import { ReliableChannel, seqLt, seqDiff } from './channel.js';
import type { Mutable } from './connection.js';
import { fullCycle } from './defaults.js';
import { challengeResponse } from './handshake.js';
import { tunnelTransition, type TunnelFsmEvent } from './tunnel-fsm.js';
import type { L2tpV3Event, V3AcceptPseudowires, V3CallType, V3CloseReason, V3ConnectionCounters, V3ConnectionInfo, V3ConnectionSettings, V3ConnectionState, V3PseudowireParams } from './v3-api.js';
import { callOfRequest, V3CdnResults, V3Session, type V3SessionOwner } from './v3-session.js';

/** StopCCN result codes we send (§5.4.2). */
export const V3StopResults = {
  clear: { result: 1 },
  unknownMandatory: { result: 2, error: 8, message: 'unknown mandatory AVP' },
  notAuthorized: { result: 4, message: 'not authorized' },
  fsm: { result: 7 },
  shuttingDown: { result: 6 },
} as const satisfies Record<string, V3ResultCode>;

const NONCE_LENGTH = 16;
const CHALLENGE_LENGTH = 16;

/** What the engine lends a connection. */
export interface V3ConnectionHost {
  readonly random: RandomSource;
  readonly encapsulation: 'udp' | 'ip';
  readonly acceptPseudowires: V3AcceptPseudowires;
  transmit(t: Transmit): void;
  event(e: L2tpV3Event): void;
  /** Our attachment circuit of a Remote End ID is up (§5.4.5 Circuit Status A bit). */
  circuitActive(remoteEndId: string): boolean;
  /** A fresh non-zero Session ID unique in the engine (the data plane demultiplexes by it). */
  allocSessionId(): V3SessionId;
  /** Session index of the engine (data → connection). */
  sessionAdded(c: V3Connection, s: V3SessionId): void;
  sessionRemoved(s: V3SessionId): void;
  released(c: V3Connection): void;
  /** The connection was cleaned up (§7.2); it may still linger to acknowledge a StopCCN. */
  connectionDown(now: Instant, c: V3Connection): void;
}

/** A control message body on the channel (a session message names its session for the CDN path). */
interface OutMsg {
  readonly type: V3MessageType;
  readonly avps: V3ControlAvps;
}
/** A received, in-order body: a message, or one the codec refused with its §5.2 scope. */
type InMsg = { readonly kind: 'ok'; readonly msg: V3ControlMessage } | { readonly kind: 'refused'; readonly failure: V3ControlParseFailure };

interface StepContext {
  readonly by: 'local' | 'peer';
  readonly cause: string;
  readonly result?: V3ResultCode;
}

const newCounters = (): V3ConnectionCounters => ({
  controlRx: 0,
  controlTx: 0,
  retransmits: 0,
  duplicates: 0,
  outOfWindow: 0,
  acksTx: 0,
  acksRx: 0,
  authFailures: 0,
  peerMoves: 0,
  foreignSource: 0,
  unknownAvpsIgnored: 0,
  unknownSession: 0,
  malformed: 0,
  sliRx: 0,
  wenRx: 0,
});

const samePeer = (a: PeerAddress, b: PeerAddress): boolean => a.address === b.address && a.port === b.port && a.via === b.via;

/** One control connection; see the file comment. */
export class V3Connection implements V3SessionOwner {
  remoteId: ControlConnectionId = controlConnectionId(0);
  state: V3ConnectionState = 'idle';
  fsm: 'idle' | 'wait-ctl-reply' | 'wait-ctl-conn' | 'established' = 'idle';
  readonly channel: ReliableChannel<OutMsg, InMsg>;
  readonly counters = newCounters();
  readonly sessions = new Map<number, V3Session>();
  remoteHostName: string | undefined;
  remoteRouterId: number | undefined;
  remoteVendorName: string | undefined;
  establishedAt: Instant | undefined;
  /** SCCRQ duplicate key in the engine (responder). */
  sccrqKey: string | undefined;
  private readonly localNonce: Uint8Array | undefined;
  private remoteNonce: Uint8Array | undefined;
  private readonly digestKey: Uint8Array | undefined;
  private ourChallenge: Uint8Array | undefined;
  private peerChallenge: Uint8Array | undefined;
  private lastRxAt: Instant;
  private helloAt: Instant | undefined;
  private helloSent = false;
  private helloMisses = 0;
  private idleAt: Instant | undefined;
  private lingerUntil: Instant | undefined;
  private sentStopCcn = false;
  private closeReason: V3CloseReason | undefined;
  private serial = 0;

  constructor(
    readonly host: V3ConnectionHost,
    readonly localId: ControlConnectionId,
    now: Instant,
    public peer: PeerAddress,
    readonly settings: V3ConnectionSettings,
    readonly originator: boolean,
  ) {
    this.lastRxAt = now;
    const s = settings;
    if (s.messageDigest !== undefined && s.secret !== undefined) {
      this.digestKey = digestSharedKey(s.secret);
      this.localNonce = host.random.bytes(NONCE_LENGTH);
    }
    this.channel = new ReliableChannel<OutMsg, InMsg>(
      s.tuning,
      { transmit: (ns, nr, body) => this.encode(ns, nr, body) },
      (ns, attempt, nextIn) => host.event({ type: 'v3-retransmit', connection: localId, ns, attempt, nextIn }),
    );
  }

  get released(): boolean {
    return this.state === 'closed';
  }
  get random(): RandomSource {
    return this.host.random;
  }
  get encapsulation(): 'udp' | 'ip' {
    return this.host.encapsulation;
  }
  get acceptPseudowires(): V3AcceptPseudowires {
    return this.host.acceptPseudowires;
  }

  /** §4.3 keys of this connection from our view, or undefined without Message Digest. */
  auth(): V3Authentication | undefined {
    if (this.digestKey === undefined || this.localNonce === undefined) return undefined;
    const a: Mutable<V3Authentication> = {
      sharedKeys: [this.digestKey],
      localNonce: this.localNonce,
      digestType: this.settings.messageDigest === 'sha1' ? DigestType.hmacSha1 : DigestType.hmacMd5,
    };
    if (this.remoteNonce !== undefined) a.remoteNonce = this.remoteNonce;
    return a;
  }

  // ---------------------------------------------------------------- receive

  /** A control datagram addressed to our Control Connection ID. */
  receiveControl(now: Instant, datagram: Uint8Array, from: PeerAddress): void {
    const auth = this.auth();
    const secret = this.settings.secret;
    const pr = parseV3Control(datagram, { encapsulation: this.host.encapsulation, ...(secret !== undefined ? { secret } : {}), ...(auth !== undefined ? { auth } : {}) });
    if (pr.ok) {
      this.deliver(now, { kind: 'ok', msg: pr.value }, pr.value.ns, pr.value.nr, from, auth !== undefined);
      return;
    }
    const f = pr.error;
    if (!f.authenticated) {
      // §4.3: nothing of a message whose digest failed may be used, not even its Nr.
      this.counters.authFailures++;
      this.host.event({ type: 'v3-auth-failed', connection: this.localId, peer: from, detail: f.error.kind });
      return;
    }
    if (f.header === undefined) {
      this.host.event({ type: 'v3-bad-datagram', peer: from, detail: f.error.kind });
      return;
    }
    this.deliver(now, { kind: 'refused', failure: f }, f.header.ns, f.header.nr, from, auth !== undefined);
  }

  /** SCCRQ handed over by the engine (already parsed and digest-checked). */
  acceptSccrq(now: Instant, msg: V3ControlMessage, from: PeerAddress): void {
    this.deliver(now, { kind: 'ok', msg }, msg.ns, msg.nr, from, this.digestKey !== undefined);
  }

  /** Feed the channel; move the peer only for an authenticated message the channel has not seen (NAT rule). */
  private deliver(now: Instant, input: InMsg, ns: number, nr: number, from: PeerAddress, authenticated: boolean): void {
    const type = input.kind === 'ok' ? input.msg.type : input.failure.messageType;
    const consumes = type !== undefined && type !== V3MessageType.ACK;
    if (!samePeer(this.peer, from)) {
      const fresh = consumes && !seqLt(ns, this.channel.nr) && seqDiff(this.channel.nr, ns) < this.settings.tuning.receiveWindow;
      if (authenticated && fresh) {
        this.counters.peerMoves++;
        this.host.event({ type: 'v3-peer-moved', connection: this.localId, from: this.peer, to: from });
        this.peer = from;
      } else if (this.fsm !== 'idle') {
        // Unauthenticated (or replayed) traffic from elsewhere never moves the peer and is not used.
        this.counters.foreignSource++;
        return;
      }
    }
    this.counters.controlRx++;
    this.lastRxAt = now;
    this.helloMisses = 0;
    this.helloSent = false;
    if (input.kind === 'ok') {
      this.host.event({ type: 'v3-control', direction: 'rx', connection: this.localId, peer: from, ns, nr, messageType: input.msg.type, avps: input.msg.avps });
    }
    if (!consumes) this.counters.acksRx++;
    this.channel.receive(now, ns, nr, consumes ? input : undefined, (m) => this.dispatch(now, m));
    this.syncCounters();
  }

  /** One in-order message. */
  private dispatch(now: Instant, input: InMsg): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    if (input.kind === 'refused') return this.refused(now, input.failure);
    const msg = input.msg;
    for (const u of msg.avps.unknown ?? []) {
      void u;
      this.counters.unknownAvpsIgnored++;
    }
    switch (msg.type) {
      case V3MessageType.SCCRQ:
        return this.onSccrq(now, msg);
      case V3MessageType.SCCRP:
        return this.onSccrp(now, msg);
      case V3MessageType.SCCCN:
        return this.onScccn(now, msg);
      case V3MessageType.StopCCN:
        this.step(now, 'rx-stopccn', { by: 'peer', cause: 'stopccn', result: msg.avps.resultCode ?? { result: 0 } });
        return;
      case V3MessageType.HELLO:
        return; // §6.5: acknowledged by the channel only.
      case V3MessageType.ICRQ:
      case V3MessageType.OCRQ:
        // §3.4.1 / §3.4.2: a call request is valid only on an established connection.
        if (this.fsm !== 'established') return void this.step(now, 'admin-close', { by: 'local', cause: 'fsm', result: V3StopResults.fsm });
        return this.onRequest(now, msg, callOfRequest(msg.type) ?? 'incoming');
      default: {
        const s = this.sessions.get(msg.avps.remoteSessionId ?? 0);
        if (s === undefined) {
          this.counters.unknownSession++;
          return;
        }
        if (msg.type === V3MessageType.SLI) this.counters.sliRx++;
        if (msg.type === V3MessageType.WEN) this.counters.wenRx++;
        s.receive(now, msg);
      }
    }
  }

  /** §5.2: an unknown M=1 AVP (or bad value) clears the session of a session message, else the connection. */
  private refused(now: Instant, f: V3ControlParseFailure): void {
    this.counters.malformed++;
    if (f.error.kind === 'unknown-message-type' && !f.error.mandatory) return;
    if (f.scope === 'session') {
      const s = this.sessions.get(f.ids.remoteSessionId ?? 0);
      if (s !== undefined) {
        s.refuse(now, V3CdnResults.unknownMandatory);
        return;
      }
      // An ICRQ / OCRQ we cannot read: answer a CDN to the peer's session, keep the connection (§5.2).
      if (callOfRequest(f.messageType as V3MessageType) !== undefined && f.ids.localSessionId !== undefined) {
        this.sendSession(now, V3MessageType.CDN, { resultCode: V3CdnResults.unknownMandatory, localSessionId: v3SessionId(0), remoteSessionId: f.ids.localSessionId });
      }
      return;
    }
    this.step(now, 'admin-close', { by: 'local', cause: 'bad-message', result: V3StopResults.unknownMandatory });
  }

  private onSccrq(now: Instant, msg: V3ControlMessage): void {
    if (this.fsm !== 'idle') return void this.step(now, 'rx-sccrq', { by: 'local', cause: 'fsm', result: V3StopResults.fsm });
    this.learn(msg);
    const a = msg.avps;
    const s = this.settings;
    let refusal: string | undefined;
    if (!this.identityAllowed()) refusal = 'not-authorized';
    else if (this.digestKey !== undefined && a.nonce === undefined) refusal = 'no-nonce';
    else if (s.challenge === true && (a.challenge === undefined || s.secret === undefined)) refusal = 'no-challenge';
    else if (!(a.pwCapabilities ?? []).some((t) => s.pwCapabilities.includes(t))) refusal = 'no-common-pw-type';
    if (refusal !== undefined) {
      if (refusal !== 'no-common-pw-type') this.host.event({ type: 'v3-auth-failed', connection: this.localId, peer: this.peer, detail: refusal });
      return void this.step(now, 'rx-sccrq-not-acceptable', { by: 'local', cause: refusal, result: V3StopResults.notAuthorized });
    }
    this.remoteNonce = a.nonce;
    this.peerChallenge = a.challenge;
    this.step(now, 'rx-sccrq-acceptable', { by: 'peer', cause: 'sccrq' });
  }

  private onSccrp(now: Instant, msg: V3ControlMessage): void {
    if (this.fsm !== 'wait-ctl-reply') return void this.step(now, 'rx-sccrp', { by: 'local', cause: 'fsm', result: V3StopResults.fsm });
    this.learn(msg);
    const a = msg.avps;
    const bad = this.judgeResponse(a.challengeResponse, V3MessageType.SCCRP) ?? (this.digestKey !== undefined && a.nonce === undefined ? 'no-nonce' : undefined);
    if (bad !== undefined) {
      this.host.event({ type: 'v3-auth-failed', connection: this.localId, peer: this.peer, detail: bad });
      return void this.step(now, 'rx-sccrp-not-acceptable', { by: 'local', cause: 'auth-failed', result: V3StopResults.notAuthorized });
    }
    this.remoteNonce = a.nonce;
    this.peerChallenge = a.challenge;
    this.step(now, 'rx-sccrp-acceptable', { by: 'peer', cause: 'sccrp' });
  }

  private onScccn(now: Instant, msg: V3ControlMessage): void {
    if (this.fsm !== 'wait-ctl-conn') return void this.step(now, 'rx-scccn', { by: 'local', cause: 'fsm', result: V3StopResults.fsm });
    const bad = this.judgeResponse(msg.avps.challengeResponse, V3MessageType.SCCCN);
    if (bad !== undefined) {
      this.host.event({ type: 'v3-auth-failed', connection: this.localId, peer: this.peer, detail: bad });
      return void this.step(now, 'rx-scccn-not-acceptable', { by: 'local', cause: 'auth-failed', result: V3StopResults.notAuthorized });
    }
    this.step(now, 'rx-scccn-acceptable', { by: 'peer', cause: 'scccn' });
  }

  /** The answer to our Challenge (RFC 2661 §4.4.3): MD5(message type + secret + challenge). */
  private judgeResponse(response: Uint8Array | undefined, type: number): string | undefined {
    const ours = this.ourChallenge;
    if (ours === undefined) return undefined;
    const secret = this.settings.secret;
    if (response === undefined || secret === undefined) return 'no-challenge-response';
    return constantTimeEqual(response, challengeResponse(type, secret, ours)) ? undefined : 'bad-challenge-response';
  }

  private identityAllowed(): boolean {
    const allowed = this.settings.allowedPeers;
    if (allowed === undefined || allowed.length === 0) return true;
    return allowed.some((p) => (p.hostName === undefined || p.hostName === this.remoteHostName) && (p.routerId === undefined || p.routerId === this.remoteRouterId));
  }

  private learn(msg: V3ControlMessage): void {
    const a = msg.avps;
    this.remoteId = a.assignedConnectionId ?? controlConnectionId(0);
    this.remoteHostName = a.hostName;
    this.remoteRouterId = a.routerId;
    this.remoteVendorName = a.vendorName;
    this.channel.setPeerWindow(a.receiveWindowSize);
  }

  private onRequest(now: Instant, msg: V3ControlMessage, call: V3CallType): void {
    const s = new V3Session(this, this.host.allocSessionId(), false, '', call);
    this.addSession(s);
    s.receiveRequest(now, msg);
  }

  private addSession(s: V3Session): void {
    this.sessions.set(s.localId, s);
    this.host.sessionAdded(this, s.localId);
    this.idleAt = undefined;
  }

  // ---------------------------------------------------------------- FSM (tunnel-fsm.ts rows, §7.2)

  /** One control connection FSM step: look up the row, enter the state, run its actions. */
  step(now: Instant, event: TunnelFsmEvent, ctx: StepContext): boolean {
    if (this.state === 'closing' || this.state === 'closed') return false;
    const row = tunnelTransition(this.fsm, event);
    if (row === undefined) return false;
    this.fsm = row.to;
    if (row.to !== 'idle') this.state = row.to;
    for (const action of row.actions) {
      switch (action) {
        case 'send-sccrq':
          this.ourChallenge = this.settings.challenge === true ? this.host.random.bytes(CHALLENGE_LENGTH) : undefined;
          this.channel.send(now, { type: V3MessageType.SCCRQ, avps: this.sccAvps(undefined) });
          break;
        case 'send-sccrp':
          this.ourChallenge = this.settings.challenge === true ? this.host.random.bytes(CHALLENGE_LENGTH) : undefined;
          this.channel.send(now, { type: V3MessageType.SCCRP, avps: this.sccAvps(V3MessageType.SCCRP) });
          break;
        case 'send-scccn': {
          const a: Mutable<V3ControlAvps> = {};
          const secret = this.settings.secret;
          if (this.peerChallenge !== undefined && secret !== undefined) a.challengeResponse = challengeResponse(V3MessageType.SCCCN, secret, this.peerChallenge);
          this.channel.send(now, { type: V3MessageType.SCCCN, avps: a });
          break;
        }
        case 'send-stopccn':
          this.sentStopCcn = true;
          // §6.4: Assigned Control Connection ID once we sent SCCRQ/SCCRP.
          this.channel.send(now, { type: V3MessageType.StopCCN, avps: { assignedConnectionId: this.localId, resultCode: ctx.result ?? V3StopResults.clear } }, true);
          break;
        case 'tunnel-open':
          this.open(now);
          break;
        case 'cleanup':
          this.cleanup(now, ctx);
          break;
        default:
          break; // tie-breaker actions: v3 crossing SCCRQs are separate connections.
      }
    }
    return true;
  }

  /** SCCRQ / SCCRP AVPs (§6.1, §6.2); `answer` = the type whose Challenge Response we include. */
  private sccAvps(answer: number | undefined): V3ControlAvps {
    const s = this.settings;
    const a: Mutable<V3ControlAvps> = {
      hostName: s.hostName,
      routerId: s.routerId >>> 0,
      assignedConnectionId: this.localId,
      pwCapabilities: s.pwCapabilities,
      receiveWindowSize: s.tuning.receiveWindow,
    };
    if (s.vendorName !== undefined) a.vendorName = s.vendorName;
    if (this.localNonce !== undefined) a.nonce = this.localNonce;
    if (this.ourChallenge !== undefined) a.challenge = this.ourChallenge;
    if (answer !== undefined && this.peerChallenge !== undefined && s.secret !== undefined) a.challengeResponse = challengeResponse(answer, s.secret, this.peerChallenge);
    return a;
  }

  /** §7.2 "send tunnel-open event to waiting sessions". */
  private open(now: Instant): void {
    if (this.establishedAt === undefined) {
      this.establishedAt = now;
      this.channel.established = true;
      const interval = this.settings.tuning.helloInterval;
      this.helloAt = interval > 0 ? ((now + interval) as Instant) : undefined;
      const ev: Mutable<Extract<L2tpV3Event, { type: 'v3-established' }>> = { type: 'v3-established', connection: this.localId, remoteConnection: this.remoteId, peer: this.peer };
      if (this.remoteHostName !== undefined) ev.remoteHostName = this.remoteHostName;
      if (this.remoteRouterId !== undefined) ev.remoteRouterId = this.remoteRouterId;
      this.host.event(ev);
      if (this.sessions.size === 0) this.armIdle(now);
    }
    for (const s of [...this.sessions.values()]) s.connectionOpen(now);
  }

  /** §7.2 "Clean up": sessions end without CDN; linger after a StopCCN (§5.7). */
  private cleanup(now: Instant, ctx: StepContext): void {
    const reason: V3CloseReason = { by: ctx.by, result: ctx.result ?? { result: 0 }, cause: ctx.cause };
    this.closeReason = reason;
    for (const s of [...this.sessions.values()]) s.connectionDown(now, { by: ctx.by, cause: 'connection-closed', result: reason.result });
    this.helloAt = undefined;
    this.idleAt = undefined;
    this.host.connectionDown(now, this);
    if (ctx.cause === 'stopccn') this.channel.abandon();
    if (ctx.cause === 'stopccn' || this.sentStopCcn) {
      this.state = 'closing';
      this.lingerUntil = (now + fullCycle(this.settings.tuning)) as Instant;
    } else {
      this.finishClose();
    }
  }

  private finishClose(): void {
    if (this.state === 'closed') return;
    if (this.channel.ackPending && this.digestKey === undefined) this.channel.ackNow();
    this.state = 'closed';
    this.channel.abandon();
    this.host.released(this);
    this.host.event({ type: 'v3-closed', connection: this.localId, reason: this.closeReason ?? { by: 'local', result: { result: 0 }, cause: 'closed' } });
  }

  // ---------------------------------------------------------------- timers

  /** Channel timers, linger, HELLO keepalive, idle disconnect. */
  handleTimeout(now: Instant): void {
    if (this.channel.handleTimeout(now) === 'failed') {
      this.syncCounters();
      this.step(now, 'retransmit-timeout', { by: 'local', cause: 'retransmit-timeout', result: { result: 2, error: 0 } });
      if (this.state === 'closing') this.finishClose();
      return;
    }
    this.syncCounters();
    if (this.state === 'closing') {
      if (this.lingerUntil !== undefined && this.lingerUntil <= now) this.finishClose();
      return;
    }
    if (this.helloAt !== undefined && this.helloAt <= now) this.helloTimer(now);
    if (this.idleAt !== undefined && this.idleAt <= now) {
      this.idleAt = undefined;
      this.step(now, 'idle-timeout', { by: 'local', cause: 'idle', result: V3StopResults.clear });
    }
  }

  pollAt(): Instant | undefined {
    let at = this.channel.pollAt();
    const cand = (t: Instant | undefined): void => {
      if (t !== undefined && (at === undefined || t < at)) at = t;
    };
    if (this.state === 'closing') cand(this.lingerUntil);
    else if (this.state !== 'closed') {
      cand(this.helloAt);
      cand(this.idleAt);
    }
    return at;
  }

  /** §6.5 keepalive: HELLO after an interval of silence; `helloMissCount` silent intervals end the connection. */
  private helloTimer(now: Instant): void {
    const t = this.settings.tuning;
    const due = (this.lastRxAt + t.helloInterval) as Instant;
    if (!this.helloSent && due > now) {
      this.helloAt = due;
      return;
    }
    if (this.helloSent) {
      this.helloMisses++;
      const remaining = t.helloMissCount - this.helloMisses;
      this.host.event({ type: 'v3-keepalive-countdown', connection: this.localId, remaining: Math.max(remaining, 0) });
      if (remaining <= 0) {
        this.host.event({ type: 'v3-keepalive-expired', connection: this.localId });
        this.step(now, 'hello-timeout', { by: 'local', cause: 'hello-timeout', result: V3StopResults.clear });
        return;
      }
    }
    if (this.channel.idle) this.channel.send(now, { type: V3MessageType.HELLO, avps: {} });
    this.helloSent = true;
    this.helloAt = (now + t.helloInterval) as Instant;
  }

  private armIdle(now: Instant): void {
    const d = this.settings.idleDisconnect;
    if (d !== undefined && d > 0 && this.fsm === 'established') this.idleAt = (now + d) as Instant;
  }

  // ---------------------------------------------------------------- local requests

  /** Open the connection (originator). */
  open0(now: Instant): void {
    this.step(now, 'local-open', { by: 'local', cause: 'open' });
  }

  /** Place a session (ICRQ or OCRQ once established). */
  openSession(now: Instant, remoteEndId: string, params: V3PseudowireParams, call: V3CallType = 'incoming'): V3SessionId | undefined {
    if (this.state === 'closing' || this.state === 'closed') return undefined;
    const s = new V3Session(this, this.host.allocSessionId(), true, remoteEndId, call);
    this.addSession(s);
    this.serial = (this.serial + 1) >>> 0;
    s.request(now, params, this.serial, this.fsm === 'established');
    return s.localId;
  }

  closeSession(now: Instant, session: V3SessionId, result: V3ResultCode): void {
    this.sessions.get(session)?.close(now, result);
  }

  close(now: Instant, result: V3ResultCode): void {
    if (this.fsm === 'idle' && this.state !== 'closing' && this.state !== 'closed') {
      this.closeReason = { by: 'local', cause: 'admin', result };
      this.finishClose();
      return;
    }
    this.step(now, 'admin-close', { by: 'local', cause: 'admin', result });
  }

  // ---------------------------------------------------------------- V3SessionOwner

  sendSession(now: Instant, type: V3MessageType, avps: V3ControlAvps): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.channel.send(now, { type, avps });
  }

  sessionUp(now: Instant, s: V3Session): void {
    void now;
    const binding = s.binding;
    if (binding === undefined) return;
    this.host.event({ type: 'v3-session-established', connection: this.localId, session: s.localId, peer: this.peer, remoteEndId: s.remoteEndId, binding });
  }

  sessionGone(now: Instant, s: V3Session, reason: V3CloseReason): void {
    this.sessions.delete(s.localId);
    this.host.sessionRemoved(s.localId);
    this.host.event({ type: 'v3-session-closed', connection: this.localId, session: s.localId, reason });
    if (this.sessions.size === 0) this.armIdle(now);
  }

  circuitChanged(s: V3Session, status: CircuitStatus): void {
    this.host.event({ type: 'v3-circuit-status', connection: this.localId, session: s.localId, remoteEndId: s.remoteEndId, status });
  }

  wanError(s: V3Session, errors: CircuitErrors): void {
    this.host.event({ type: 'v3-wan-error', connection: this.localId, session: s.localId, remoteEndId: s.remoteEndId, errors });
  }

  circuitActive(remoteEndId: string): boolean {
    return this.host.circuitActive(remoteEndId);
  }

  /** The engine's circuit state of `remoteEndId` changed: SLI on its sessions (§3.4.3). */
  circuitUpdate(now: Instant, remoteEndId: string): void {
    for (const s of this.sessions.values()) if (s.remoteEndId === remoteEndId) s.circuitUpdate(now);
  }

  // ---------------------------------------------------------------- channel sink

  /** Number, encode and queue a message; a bare ack is a ZLB, or the explicit ACK with a digest (§6.15). */
  private encode(ns: number, nr: number, body: OutMsg | undefined): void {
    const auth = this.auth();
    const type = body?.type ?? (auth !== undefined ? V3MessageType.ACK : undefined);
    const avps = body?.avps ?? {};
    const msg: V3ControlMessage = { connectionId: this.remoteId, ns, nr, type, avps };
    const secret = this.settings.secret;
    const data = emitV3Control(msg, {
      encapsulation: this.host.encapsulation,
      ...(secret !== undefined ? { secret } : {}),
      ...(auth !== undefined ? { auth } : {}),
      random: (n) => this.host.random.bytes(n),
    });
    if (body === undefined) this.counters.acksTx++;
    this.counters.controlTx++;
    this.host.event({ type: 'v3-control', direction: 'tx', connection: this.localId, peer: this.peer, ns, nr, messageType: type, avps });
    this.host.transmit({ to: this.peer, data });
  }

  private syncCounters(): void {
    const st = this.channel.stats;
    this.counters.retransmits = st.retransmits;
    this.counters.duplicates = st.duplicates;
    this.counters.outOfWindow = st.outOfWindow;
  }

  /** A snapshot for show commands. */
  info(): V3ConnectionInfo {
    const i: Mutable<V3ConnectionInfo> = {
      localId: this.localId,
      remoteId: this.remoteId,
      state: this.state,
      peer: this.peer,
      originator: this.originator,
      ns: this.channel.ns,
      nr: this.channel.nr,
      counters: this.counters,
      sessions: [...this.sessions.values()].map((s) => s.info()),
    };
    if (this.remoteHostName !== undefined) i.remoteHostName = this.remoteHostName;
    if (this.remoteRouterId !== undefined) i.remoteRouterId = this.remoteRouterId;
    if (this.remoteVendorName !== undefined) i.remoteVendorName = this.remoteVendorName;
    if (this.establishedAt !== undefined) i.establishedAt = this.establishedAt;
    return i;
  }
}
