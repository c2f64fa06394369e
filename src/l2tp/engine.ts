/**
 * The L2TPv2 control plane engine (RFC 2661): many tunnels and sessions behind one UDP listener,
 * sans-I/O. Datagrams and the current instant go in; datagrams, typed events and the next timer
 * instant come out. Tunnel and session behaviour follows the tables in tunnel-fsm.ts and
 * session-fsm.ts; reliable delivery is channel.ts.
 */
import { createHash } from 'node:crypto';
import type { RandomSource } from '../base/random.js';
import type { Duration, Instant } from '../base/time.js';
import {
  AVP_REGISTRY,
  dataHeaderLength,
  emitControl,
  messageSpec,
  parseControl,
  parseData,
  parseHeader,
  writeDataHeader,
} from '../wire/l2tp/index.js';
import {
  MessageType,
  sessionId as asSessionId,
  tunnelId as asTunnelId,
  type AvpName,
  type ControlAvps,
  type ControlMessage,
  type L2tpHeader,
  type ResultCode,
  type SessionId,
  type TunnelId,
  type WireError,
} from '../wire/l2tp/types.js';
import type {
  CallDirection,
  CdnCauses,
  ChannelTuning,
  CloseReason,
  EngineConfig,
  L2tpEngineApi,
  L2tpEvent,
  PeerAddress,
  SessionInfo,
  SessionRequest,
  SessionState,
  TunnelCounters,
  TunnelInfo,
  TunnelSettings,
  TunnelState,
  Transmit,
} from './api.js';
import { ReliableChannel, seqAdd, seqLt } from './channel.js';
import { DeadlineHeap, Fifo } from '../base/queue.js';
import { sessionTransition, type SessionFsmEvent } from './session-fsm.js';
import { tunnelTransition, type TunnelFsmEvent, type TunnelFsmState } from './tunnel-fsm.js';

/** An outgoing control message before numbering and encoding. */
interface OutMsg {
  readonly sessionId: SessionId;
  readonly type: MessageType;
  readonly avps: ControlAvps;
  /** Our session an ICCN/OCCN completes: its `session-established` waits until the message leaves. */
  readonly completes?: Session;
}

/** A received control message, or one the codec refused but whose Ns must still be consumed (§4.2). */
type InMsg =
  | { readonly kind: 'ok'; readonly msg: ControlMessage }
  | { readonly kind: 'refused'; readonly header: L2tpHeader; readonly messageType: number | undefined; readonly error: WireError };

/** One session (call) on a tunnel. */
interface Session {
  readonly localId: SessionId;
  remoteId: SessionId;
  state: SessionState;
  readonly direction: CallDirection;
  /** We sent the ICRQ / OCRQ. */
  readonly originator: boolean;
  callSerialNumber: number;
  establishedAt?: Instant | undefined;
  request?: SessionRequest;
  proxy?: SessionRequest['proxy'];
  callingNumber?: string;
  calledNumber?: string;
  /** S bit on data messages (§5.4: Sequencing Required, or our own setting). */
  sequencing: boolean;
  dataNs: number;
  dataNr: number;
  rxPackets: number;
  rxOctets: number;
  txPackets: number;
  txOctets: number;
  /**
   * Our ICCN/OCCN for this session is queued but not yet sent (the peer's window is full): report the
   * session as established only once it leaves, or PPP frames would overtake it and be dropped.
   */
  connectPending?: boolean;
  /** The session is up but its `session-established` event waits for the ICCN/OCCN to leave. */
  upWhenSent?: boolean;
}

/** Context of one FSM step: why, and what to put into StopCCN / CDN. */
interface StepContext {
  readonly by: 'local' | 'peer';
  readonly cause: string;
  readonly result?: ResultCode;
  readonly msg?: ControlMessage;
  readonly from?: PeerAddress;
  readonly causes?: CdnCauses;
  readonly migrate?: Session[];
}

/** One tunnel (control connection). */
interface Tunnel {
  readonly localId: TunnelId;
  remoteId: TunnelId;
  peer: PeerAddress;
  state: TunnelState;
  fsm: TunnelFsmState;
  readonly settings: TunnelSettings;
  readonly originator: boolean;
  readonly channel: ReliableChannel<OutMsg, InMsg>;
  readonly sessions: Map<number, Session>;
  readonly counters: TunnelCounters;
  tieBreaker?: Uint8Array;
  /** Challenge we sent; the peer's next message must answer it (§4.4.3). */
  ourChallenge?: Uint8Array | undefined;
  /** Challenge the peer sent; our next message answers it. */
  peerChallenge?: Uint8Array | undefined;
  remoteHostName?: string;
  remoteVendorName?: string;
  protocolVersion?: string;
  establishedAt?: Instant | undefined;
  /** Key of the SCCRQ that created this tunnel (`address|port|assigned id`), for duplicates. */
  sccrqKey?: string;
  lastRxAt: Instant;
  helloAt?: Instant | undefined;
  helloSent: boolean;
  helloMisses: number;
  idleAt?: Instant | undefined;
  lingerUntil?: Instant | undefined;
  sentStopCcn: boolean;
  closeReason?: CloseReason;
  /** Deadline currently in the heap for this tunnel. */
  scheduledAt?: Instant | undefined;
  /** Key under which this tunnel sits in the tie-breaker index (peer address at SCCRQ time). */
  openingKey?: string | undefined;
}

/** Framing capabilities we offer: synchronous and asynchronous (§4.4.3 bits 0 and 1). */
const FRAMING_SYNC_ASYNC = 3;
/** Connect speed we report in ICCN/OCCN (no real bearer). */
const CONNECT_SPEED = 100_000_000;
/** Tie Breaker length (§4.4.3). */
const TIE_BREAKER_LENGTH = 8;
/** Challenge length we send. */
const CHALLENGE_LENGTH = 16;
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

/** StopCCN / CDN result codes used by the engine (§4.4.2). */
export const Results = {
  /** StopCCN 1: general request to clear the control connection. */
  stopClear: { result: 1 },
  /** StopCCN 2 / CDN 2 + error 8: unknown mandatory AVP (§4.2). */
  unknownMandatoryAvp: { result: 2, error: 8, message: 'unknown mandatory AVP' },
  /** StopCCN 2 / CDN 2 + error 3: an Assigned Tunnel / Session ID of 0 (§4.4.3, §4.4.4: non-zero). */
  zeroAssignedId: { result: 2, error: 3, message: 'assigned id 0' },
  /** StopCCN 4: requester not authorized. */
  notAuthorized: { result: 4 },
  /** StopCCN 7: finite state machine error. */
  fsmError: { result: 7 },
  /** CDN 3: administrative reasons. */
  cdnAdmin: { result: 3 },
  /** CDN 2: error code indicates the problem. */
  cdnGeneral: { result: 2, error: 0 },
} as const satisfies Record<string, ResultCode>;

/** Default reliable-delivery tuning (§5.8, Appendix A). */
export function defaultTuning(): ChannelTuning {
  return {
    receiveWindow: 16,
    retransmitInitial: 1000 as Duration,
    retransmitCap: 16000 as Duration,
    retriesEstablished: 5,
    retriesNotEstablished: 5,
    ackDelay: 100 as Duration,
    helloInterval: 60000 as Duration,
    helloMissCount: 3,
  };
}

/** Default tunnel settings with the given Host Name (no secret, any peer accepted). */
export function defaultTunnelSettings(hostName: string): TunnelSettings {
  return { hostName, vendorName: 'l2tpkit', maxOffset: 64, dataSequencing: false, tuning: defaultTuning() };
}

/** §4.4.3 Challenge Response: MD5(Message Type of the response as one octet + secret + challenge). */
export function challengeResponse(messageType: number, secret: Uint8Array, challenge: Uint8Array): Uint8Array {
  const h = createHash('md5');
  h.update(Uint8Array.of(messageType & 0xff));
  h.update(secret);
  h.update(challenge);
  return new Uint8Array(h.digest());
}

const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] as number) ^ (b[i] as number);
  return d === 0;
};

/** Lexicographic comparison of two tie breakers (§4.4.3: the lower value wins). */
const compareBytes = (a: Uint8Array, b: Uint8Array): number => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
};

/** A full retransmission cycle (1 + 2 + 4 + ...), how long a closed tunnel lingers (§5.7). */
function fullCycle(t: ChannelTuning): number {
  let total = 0;
  const retries = Math.max(t.retriesEstablished, t.retriesNotEstablished);
  for (let i = 0; i <= retries; i++) total += Math.min(t.retransmitInitial * 2 ** Math.min(i, 30), t.retransmitCap);
  return total;
}

/** Peer identity: address, port and the channel (`via`, e.g. an IPsec flow) it used. */
const peerKey = (p: PeerAddress): string => `${p.address}|${p.port}|${p.via ?? ''}`;

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

/** Message types that belong to a session (§4.2: an unknown M=1 AVP there clears only the session). */
const isSessionScoped = (messageType: number | undefined, header: L2tpHeader): boolean => {
  if (header.sessionId !== 0) return true;
  if (messageType === undefined) return false;
  return messageSpec(messageType)?.sessionScoped ?? false;
};

/** The L2TPv2 engine: implements the shell-facing contract of api.ts. */
export class L2tpEngine implements L2tpEngineApi {
  private readonly tunnelsById = new Map<number, Tunnel>();
  /** SCCRQ duplicates: `address|port|their tunnel id` → tunnel. */
  private readonly sccrqIndex = new Map<string, Tunnel>();
  /** Originator tunnels in wait-ctl-reply by peer address, for the §4.4.3 tie breaker. */
  private readonly opening = new Map<string, Set<Tunnel>>();
  private readonly heap = new DeadlineHeap();
  private readonly transmits = new Fifo<Transmit>();
  private readonly events = new Fifo<L2tpEvent>();
  private readonly random: RandomSource;
  private callSerial = 0;

  /** Create an engine for one listener. */
  constructor(
    private readonly config: EngineConfig,
    deps: { readonly random: RandomSource },
  ) {
    this.random = deps.random;
    this.callSerial = deps.random.u32() & 0xffff;
  }

  // ---------------------------------------------------------------- shell surface

  /** Feed one received datagram. Never throws on bad input. */
  handleDatagram(now: Instant, data: Uint8Array, from: PeerAddress): void {
    const hr = parseHeader(data);
    if (!hr.ok) {
      this.badDatagram(from, hr.error);
      return;
    }
    const header = hr.value;
    if (!header.isControl) {
      this.handleDataMessage(now, data, header, from);
      return;
    }
    if (header.tunnelId === 0) {
      this.handleTunnelZero(now, data, from);
      return;
    }
    const t = this.tunnelsById.get(header.tunnelId);
    if (t === undefined) {
      this.events.push({ type: 'bad-datagram', peer: from, detail: `control message for unknown tunnel ${header.tunnelId}` });
      return;
    }
    if (t.peer.via !== from.via) {
      // A tunnel set up inside an IPsec flow accepts nothing from outside it (and vice versa).
      this.events.push({ type: 'bad-datagram', peer: from, detail: `control message for tunnel ${header.tunnelId} from another channel` });
      return;
    }
    const secret = t.settings.secret;
    const pr = parseControl(data, secret === undefined ? {} : { secret });
    if (pr.ok) {
      this.receiveControl(now, t, { kind: 'ok', msg: pr.value }, from);
    } else if (pr.error.header !== undefined && this.isAnswerable(pr.error.error)) {
      this.receiveControl(now, t, { kind: 'refused', header: pr.error.header, messageType: pr.error.messageType, error: pr.error.error }, from);
    } else {
      this.badDatagram(from, pr.error.error);
    }
    this.touch(t);
  }

  /** Run due timers of every tunnel. */
  handleTimeout(now: Instant): void {
    for (;;) {
      const at = this.heap.peekAt();
      const key = this.heap.peekKey();
      if (at === undefined || key === undefined || at > now) return;
      this.heap.pop();
      const t = this.tunnelsById.get(key);
      if (t === undefined || t.scheduledAt !== at) continue;
      t.scheduledAt = undefined;
      this.tunnelTimeout(now, t);
      this.touch(t);
    }
  }

  /** Earliest instant a timer is due (stale heap entries are discarded; no allocation). */
  pollAt(): Instant | undefined {
    for (;;) {
      const at = this.heap.peekAt();
      const key = this.heap.peekKey();
      if (at === undefined || key === undefined) return undefined;
      const t = this.tunnelsById.get(key);
      if (t !== undefined && t.scheduledAt === at) return at as Instant;
      this.heap.pop();
    }
  }

  /** Next datagram to send. */
  pollTransmit(): Transmit | undefined {
    return this.transmits.shift();
  }

  /** Next event. */
  pollEvent(): L2tpEvent | undefined {
    return this.events.shift();
  }

  /** Open a tunnel to `peer` (we are the originator, §7.2.1 "Local Open request"). */
  openTunnel(now: Instant, peer: PeerAddress, settings: TunnelSettings): TunnelId {
    const t = this.createTunnel(now, peer, settings, true);
    t.tieBreaker = this.random.bytes(TIE_BREAKER_LENGTH);
    this.events.push({ type: 'tunnel-connecting', tunnel: t.localId, peer, originator: true });
    this.step(now, t, 'local-open', { by: 'local', cause: 'open' });
    this.touch(t);
    return t.localId;
  }

  /** Place a call; it waits in wait-tunnel until the tunnel is established (§7.4.1, §7.5.2). */
  openSession(now: Instant, tunnel: TunnelId, request: SessionRequest): SessionId | undefined {
    const t = this.tunnelsById.get(tunnel);
    if (t === undefined || t.state === 'closing' || t.state === 'closed') return undefined;
    const s = this.createSession(t, request.direction, true);
    s.request = request;
    if (request.callingNumber !== undefined) s.callingNumber = request.callingNumber;
    if (request.calledNumber !== undefined) s.calledNumber = request.calledNumber;
    this.callSerial = (this.callSerial + 1) >>> 0;
    s.callSerialNumber = this.callSerial;
    this.events.push({ type: 'session-connecting', tunnel: t.localId, session: s.localId, direction: s.direction });
    this.sessionStep(now, t, s, 'call-request', { by: 'local', cause: 'open' });
    if (t.state === 'established') this.step(now, t, 'local-open', { by: 'local', cause: 'new-call' });
    this.touch(t);
    return s.localId;
  }

  /** Send CDN for a session (§7.4 "Local close request"). */
  closeSession(now: Instant, tunnel: TunnelId, session: SessionId, result: ResultCode, causes?: CdnCauses): void {
    const t = this.tunnelsById.get(tunnel);
    const s = t?.sessions.get(session);
    if (t === undefined || s === undefined) return;
    const ctx: StepContext = causes === undefined ? { by: 'local', cause: 'admin', result } : { by: 'local', cause: 'admin', result, causes };
    this.sessionStep(now, t, s, 'local-close', ctx);
    this.touch(t);
  }

  /** Send StopCCN and clear all sessions (§7.2.1 "Administrative Tunnel Close"). */
  closeTunnel(now: Instant, tunnel: TunnelId, result: ResultCode): void {
    const t = this.tunnelsById.get(tunnel);
    if (t === undefined) return;
    this.step(now, t, 'admin-close', { by: 'local', cause: 'admin', result });
    this.touch(t);
  }

  /** Encapsulate a PPP frame in a data message (§3.1) for an established session. */
  sendData(now: Instant, tunnel: TunnelId, session: SessionId, pppFrame: Uint8Array, headroomFree = false): Transmit | undefined {
    void now;
    const t = this.tunnelsById.get(tunnel);
    const s = t?.sessions.get(session);
    if (t === undefined || s === undefined || s.state !== 'established' || t.state !== 'established') return undefined;
    const sequenced = s.sequencing;
    const hl = dataHeaderLength({ sequenced });
    const total = hl + pppFrame.length;
    // Write the header into the caller's headroom when it gave it up, else copy once.
    const inPlace = headroomFree && pppFrame.byteOffset >= hl;
    const buf = inPlace ? new Uint8Array(pppFrame.buffer, pppFrame.byteOffset - hl, total) : new Uint8Array(total);
    if (sequenced) {
      writeDataHeader(buf, 0, { tunnelId: t.remoteId, sessionId: s.remoteId, ns: s.dataNs, nr: 0 }, total);
      s.dataNs = seqAdd(s.dataNs, 1);
    } else {
      writeDataHeader(buf, 0, { tunnelId: t.remoteId, sessionId: s.remoteId }, total);
    }
    if (!inPlace) buf.set(pppFrame, hl);
    s.txPackets++;
    s.txOctets += pppFrame.length;
    t.counters.dataTxPackets++;
    t.counters.dataTxOctets += pppFrame.length;
    return { to: t.peer, data: buf };
  }

  /** Snapshot of every tunnel. */
  tunnels(now: Instant): readonly TunnelInfo[] {
    void now;
    const out: TunnelInfo[] = [];
    for (const t of this.tunnelsById.values()) out.push(this.tunnelInfo(t));
    return out;
  }

  /** Number of tunnel objects alive (including lingering ones). */
  get tunnelCount(): number {
    return this.tunnelsById.size;
  }

  // ---------------------------------------------------------------- receive paths

  /** Errors the control plane answers instead of dropping (§4.2). */
  private isAnswerable(e: WireError): boolean {
    return e.kind === 'unknown-mandatory-avp' || e.kind === 'unknown-message-type' || e.kind === 'zero-assigned-id';
  }

  private badDatagram(from: PeerAddress, e: WireError): void {
    this.events.push({ type: 'bad-datagram', peer: from, detail: describeWireError(e) });
  }

  /** SCCRQ (tunnel id 0): new tunnel, retransmission of a known SCCRQ, or a crossing SCCRQ (§4.4.3). */
  private handleTunnelZero(now: Instant, data: Uint8Array, from: PeerAddress): void {
    const secret = this.config.accept.secret;
    const pr = parseControl(data, secret === undefined ? {} : { secret });
    if (!pr.ok) {
      this.badDatagram(from, pr.error.error);
      return;
    }
    const msg = pr.value;
    if (msg.type !== MessageType.SCCRQ || msg.avps.assignedTunnelId === undefined) {
      this.events.push({ type: 'bad-datagram', peer: from, detail: 'control message to tunnel 0 that is not an SCCRQ' });
      return;
    }
    const key = `${peerKey(from)}|${msg.avps.assignedTunnelId}`;
    const dup = this.sccrqIndex.get(key);
    if (dup !== undefined) {
      // A retransmitted SCCRQ: the channel sees Ns 0 again and re-acks it (§5.8).
      this.receiveControl(now, dup, { kind: 'ok', msg }, from);
      this.touch(dup);
      return;
    }
    // §4.4.3 tie breaker: an SCCRQ from a peer we are opening a tunnel to ourselves.
    for (const t of this.opening.get(`${from.address}|${from.via ?? ''}`) ?? []) {
      const ours = t.tieBreaker;
      const theirs = msg.avps.tieBreaker;
      if (ours === undefined && theirs === undefined) break; // two separate tunnels
      let verdict: TunnelFsmEvent;
      if (theirs === undefined) verdict = 'rx-sccrq-win-tie';
      else if (ours === undefined) verdict = 'rx-sccrq-lose-tie';
      else {
        const c = compareBytes(ours, theirs);
        verdict = c < 0 ? 'rx-sccrq-win-tie' : c > 0 ? 'rx-sccrq-lose-tie' : 'rx-sccrq-tie-equal';
      }
      // Only the loser hands its waiting calls over to the winner's tunnel.
      const base = { by: 'peer', cause: 'tie-breaker', msg, from } as const;
      this.step(now, t, verdict, verdict === 'rx-sccrq-lose-tie' ? { ...base, migrate: [] } : base);
      this.touch(t);
      return;
    }
    if (!this.config.acceptTunnels) {
      this.events.push({ type: 'tunnel-rejected', peer: from, detail: 'not accepting tunnels' });
      return;
    }
    this.acceptSccrq(now, msg, from, []);
  }

  /** Create a responder tunnel for an SCCRQ and run it through the FSM (§7.2.1 idle rows). */
  private acceptSccrq(now: Instant, msg: ControlMessage, from: PeerAddress, migrate: readonly Session[]): void {
    const t = this.createTunnel(now, from, this.config.accept, false);
    t.sccrqKey = `${peerKey(from)}|${msg.avps.assignedTunnelId ?? 0}`;
    this.sccrqIndex.set(t.sccrqKey, t);
    this.events.push({ type: 'tunnel-connecting', tunnel: t.localId, peer: from, originator: false });
    for (const s of migrate) t.sessions.set(s.localId, s);
    this.receiveControl(now, t, { kind: 'ok', msg }, from);
    this.touch(t);
  }

  /** Feed a control message to a tunnel's channel, then dispatch what it delivers in order. */
  private receiveControl(now: Instant, t: Tunnel, input: InMsg, from: PeerAddress): void {
    const header = input.kind === 'ok' ? input.msg : input.header;
    const ns = header.ns ?? 0;
    const nr = header.nr ?? 0;
    // NAT: answer to the address and port the peer last used.
    // A new IPsec flow (`via`) for the same tunnel is the same rule: answer where it came from.
    if (t.peer.address !== from.address || t.peer.port !== from.port || t.peer.via !== from.via) t.peer = from;
    t.counters.controlRx++;
    t.lastRxAt = now;
    t.helloMisses = 0;
    t.helloSent = false;
    const messageType = input.kind === 'ok' ? input.msg.type : (input.messageType as MessageType | undefined);
    const avps = input.kind === 'ok' ? input.msg.avps : {};
    this.events.push({ type: 'control-rx', tunnel: t.localId, peer: from, ns, nr, messageType, avps });
    const body = input.kind === 'ok' && input.msg.type === undefined ? undefined : input;
    t.channel.receive(now, ns, nr, body, (m) => this.dispatch(now, t, m));
    this.syncCounters(t);
  }

  /** Handle one in-order control message. */
  private dispatch(now: Instant, t: Tunnel, input: InMsg): void {
    if (t.state === 'closed') return;
    if (input.kind === 'refused') {
      this.refused(now, t, input);
      return;
    }
    const msg = input.msg;
    if (msg.avps.unknown !== undefined) {
      for (const u of msg.avps.unknown) {
        t.counters.unknownAvpsIgnored++;
        this.events.push({ type: 'unknown-avp-ignored', tunnel: t.localId, attribute: u.attribute, vendorId: u.vendorId });
      }
    }
    if (t.state === 'closing') {
      // §5.7: a lingering tunnel only acknowledges (done by the channel).
      return;
    }
    switch (msg.type) {
      case MessageType.SCCRQ:
        this.onSccrq(now, t, msg);
        return;
      case MessageType.SCCRP:
        this.onSccrp(now, t, msg);
        return;
      case MessageType.SCCCN:
        this.onScccn(now, t, msg);
        return;
      case MessageType.StopCCN:
        this.step(now, t, 'rx-stopccn', {
          by: 'peer',
          cause: 'stopccn',
          result: msg.avps.resultCode ?? { result: 0 },
        });
        return;
      case MessageType.HELLO:
        return; // §6.5: acknowledged by the channel, nothing else.
      case undefined:
        return;
      default:
        this.onSessionMessage(now, t, msg);
    }
  }

  /** §4.2: a message with an unknown M=1 AVP (or unknown mandatory type) clears its session or tunnel. */
  private refused(now: Instant, t: Tunnel, input: Extract<InMsg, { kind: 'refused' }>): void {
    if (t.state === 'closing') return;
    if (input.error.kind === 'unknown-message-type' && !input.error.mandatory) return;
    const result = input.error.kind === 'zero-assigned-id' ? Results.zeroAssignedId : Results.unknownMandatoryAvp;
    if (isSessionScoped(input.messageType, input.header)) {
      const s = t.sessions.get(input.header.sessionId);
      if (s !== undefined) {
        this.sessionStep(now, t, s, 'local-close', { by: 'local', cause: 'bad-message', result });
      } else if (t.state === 'established') {
        // A session we do not know yet (ICRQ/OCRQ): answer with a CDN addressed to session 0.
        const avps: ControlAvps = { resultCode: result, assignedSessionId: this.allocSessionId(t) };
        this.sendControl(now, t, { sessionId: asSessionId(0), type: MessageType.CDN, avps });
      }
      return;
    }
    this.step(now, t, 'admin-close', { by: 'local', cause: 'bad-message', result });
  }

  /** SCCRQ on an existing tunnel object: the idle tunnel judges it (§7.2.1). */
  private onSccrq(now: Instant, t: Tunnel, msg: ControlMessage): void {
    if (t.fsm !== 'idle') {
      this.step(now, t, 'rx-sccrq', { by: 'local', cause: 'fsm', result: Results.fsmError });
      return;
    }
    const a = msg.avps;
    t.remoteId = a.assignedTunnelId ?? asTunnelId(0);
    this.learnPeer(t, msg);
    const verdict = this.judgeVersion(a) ?? this.judgeHost(t, a);
    if (verdict !== undefined) {
      this.step(now, t, 'rx-sccrq-not-acceptable', { by: 'local', cause: verdict.cause, result: verdict.result });
      return;
    }
    if (a.challenge !== undefined) {
      if (t.settings.secret === undefined) {
        this.authFailed(t, 'peer sent a challenge but no secret is configured');
        this.step(now, t, 'rx-sccrq-not-acceptable', { by: 'local', cause: 'auth-failed', result: Results.notAuthorized });
        return;
      }
      t.peerChallenge = a.challenge;
    }
    this.step(now, t, 'rx-sccrq-acceptable', { by: 'peer', cause: 'sccrq' });
  }

  /** SCCRP in wait-ctl-reply: version, host, and the answer to our challenge (§4.4.3, §6.2). */
  private onSccrp(now: Instant, t: Tunnel, msg: ControlMessage): void {
    if (t.fsm !== 'wait-ctl-reply') {
      this.step(now, t, 'rx-sccrp', { by: 'local', cause: 'fsm', result: Results.fsmError });
      return;
    }
    const a = msg.avps;
    t.remoteId = a.assignedTunnelId ?? asTunnelId(0);
    this.learnPeer(t, msg);
    const verdict = this.judgeVersion(a) ?? this.judgeHost(t, a) ?? this.judgeResponse(t, a, MessageType.SCCRP);
    if (verdict === undefined && a.challenge !== undefined && t.settings.secret === undefined) {
      this.authFailed(t, 'peer sent a challenge but no secret is configured');
      this.step(now, t, 'rx-sccrp-not-acceptable', { by: 'local', cause: 'auth-failed', result: Results.notAuthorized });
      return;
    }
    if (verdict !== undefined) {
      this.step(now, t, 'rx-sccrp-not-acceptable', { by: 'local', cause: verdict.cause, result: verdict.result });
      return;
    }
    if (a.challenge !== undefined) t.peerChallenge = a.challenge;
    this.step(now, t, 'rx-sccrp-acceptable', { by: 'peer', cause: 'sccrp' });
  }

  /** SCCCN in wait-ctl-conn: the answer to our SCCRP challenge (§4.4.3, §6.3). */
  private onScccn(now: Instant, t: Tunnel, msg: ControlMessage): void {
    if (t.fsm !== 'wait-ctl-conn') {
      this.step(now, t, 'rx-scccn', { by: 'local', cause: 'fsm', result: Results.fsmError });
      return;
    }
    const verdict = this.judgeResponse(t, msg.avps, MessageType.SCCCN);
    if (verdict !== undefined) {
      this.step(now, t, 'rx-scccn-not-acceptable', { by: 'local', cause: verdict.cause, result: verdict.result });
      return;
    }
    this.step(now, t, 'rx-scccn-acceptable', { by: 'peer', cause: 'scccn' });
  }

  /** Remember the peer's identity and window from SCCRQ/SCCRP. */
  private learnPeer(t: Tunnel, msg: ControlMessage): void {
    const a = msg.avps;
    if (a.hostName !== undefined) t.remoteHostName = a.hostName;
    if (a.vendorName !== undefined) t.remoteVendorName = a.vendorName;
    if (a.protocolVersion !== undefined) t.protocolVersion = `${a.protocolVersion.version}.${a.protocolVersion.revision}`;
    t.channel.setPeerWindow(a.receiveWindowSize);
  }

  /** §4.4.3 Protocol Version must be 1.0; else StopCCN result 5, error = highest version supported. */
  private judgeVersion(a: ControlAvps): { cause: string; result: ResultCode } | undefined {
    const v = a.protocolVersion;
    if (v === undefined || (v.version === 1 && v.revision === 0)) return undefined;
    return {
      cause: 'bad-version',
      result: { result: 5, error: 0x0100, message: `protocol version ${v.version}.${v.revision} not supported; highest is 1.0` },
    };
  }

  /** Remote host name check (allowedHostNames; none configured = any). */
  private judgeHost(t: Tunnel, a: ControlAvps): { cause: string; result: ResultCode } | undefined {
    const allowed = t.settings.allowedHostNames;
    if (allowed === undefined || allowed.length === 0) return undefined;
    if (a.hostName !== undefined && allowed.includes(a.hostName)) return undefined;
    const detail = `host name ${JSON.stringify(a.hostName ?? '')} not allowed`;
    this.authFailed(t, detail);
    return { cause: 'auth-failed', result: { result: 4, error: 0, message: detail } };
  }

  /** Check the Challenge Response to the challenge we sent (§4.4.3). */
  private judgeResponse(t: Tunnel, a: ControlAvps, responseType: number): { cause: string; result: ResultCode } | undefined {
    const ours = t.ourChallenge;
    if (ours === undefined) return undefined;
    const secret = t.settings.secret as Uint8Array;
    const got = a.challengeResponse;
    let detail: string | undefined;
    if (got === undefined) detail = 'missing challenge response';
    else if (!bytesEqual(got, challengeResponse(responseType, secret, ours))) detail = 'wrong challenge response';
    if (detail === undefined) {
      t.ourChallenge = undefined;
      return undefined;
    }
    this.authFailed(t, detail);
    return { cause: 'auth-failed', result: { result: 4, error: 0, message: detail } };
  }

  private authFailed(t: Tunnel, detail: string): void {
    this.events.push({ type: 'tunnel-auth-failed', tunnel: t.localId, peer: t.peer, detail });
  }

  // ---------------------------------------------------------------- tunnel FSM

  /** Run one tunnel FSM step: look up the row, enter the new state, execute its actions. */
  private step(now: Instant, t: Tunnel, event: TunnelFsmEvent, ctx: StepContext): boolean {
    if (t.state === 'closing' || t.state === 'closed') return false;
    const row = tunnelTransition(t.fsm, event);
    if (row === undefined) return false;
    t.fsm = row.to;
    if (row.to !== 'idle') t.state = row.to;
    if (t.originator) this.trackOpening(t, row.to === 'wait-ctl-reply');
    for (const action of row.actions) {
      switch (action) {
        case 'send-sccrq':
          this.sendSccrq(now, t);
          break;
        case 'send-sccrp':
          this.sendSccrp(now, t);
          break;
        case 'send-scccn':
          this.sendScccn(now, t);
          break;
        case 'send-stopccn':
          this.sendStopCcn(now, t, ctx.result ?? Results.stopClear);
          break;
        case 'tunnel-open':
          this.tunnelOpen(now, t);
          break;
        case 'cleanup':
          this.cleanup(now, t, ctx);
          break;
        case 'requeue-sccrq':
          // §7.2.1: the loser cleans up and handles the winner's SCCRQ as in idle state.
          if (ctx.msg !== undefined && ctx.from !== undefined) this.acceptSccrq(now, ctx.msg, ctx.from, ctx.migrate ?? []);
          break;
        case 'discard-sccrq':
          break;
      }
    }
    return true;
  }

  /** The AVPs SCCRQ and SCCRP share (§6.1, §6.2): version, host and vendor, capabilities, our id, window. */
  private controlConnectionAvps(t: Tunnel): Mutable<ControlAvps> {
    const s = t.settings;
    const avps: Mutable<ControlAvps> = {
      protocolVersion: { version: 1, revision: 0 },
      hostName: s.hostName,
      framingCapabilities: FRAMING_SYNC_ASYNC,
      bearerCapabilities: 0,
      firmwareRevision: 0x0100,
      assignedTunnelId: t.localId,
      receiveWindowSize: s.tuning.receiveWindow,
    };
    if (s.vendorName !== undefined) avps.vendorName = s.vendorName;
    return avps;
  }

  private sendSccrq(now: Instant, t: Tunnel): void {
    const s = t.settings;
    const avps = this.controlConnectionAvps(t);
    if (t.tieBreaker !== undefined) avps.tieBreaker = t.tieBreaker;
    if (s.secret !== undefined) {
      t.ourChallenge = this.random.bytes(CHALLENGE_LENGTH);
      avps.challenge = t.ourChallenge;
    }
    this.sendControl(now, t, { sessionId: asSessionId(0), type: MessageType.SCCRQ, avps });
  }

  private sendSccrp(now: Instant, t: Tunnel): void {
    const s = t.settings;
    const avps = this.controlConnectionAvps(t);
    if (s.secret !== undefined) {
      if (t.peerChallenge !== undefined) {
        avps.challengeResponse = challengeResponse(MessageType.SCCRP, s.secret, t.peerChallenge);
        t.peerChallenge = undefined;
      }
      t.ourChallenge = this.random.bytes(CHALLENGE_LENGTH);
      avps.challenge = t.ourChallenge;
    }
    this.sendControl(now, t, { sessionId: asSessionId(0), type: MessageType.SCCRP, avps });
  }

  private sendScccn(now: Instant, t: Tunnel): void {
    const avps: Mutable<ControlAvps> = {};
    const secret = t.settings.secret;
    if (secret !== undefined && t.peerChallenge !== undefined) {
      avps.challengeResponse = challengeResponse(MessageType.SCCCN, secret, t.peerChallenge);
      t.peerChallenge = undefined;
    }
    this.sendControl(now, t, { sessionId: asSessionId(0), type: MessageType.SCCCN, avps });
  }

  private sendStopCcn(now: Instant, t: Tunnel, result: ResultCode): void {
    t.sentStopCcn = true;
    t.channel.send(
      now,
      { sessionId: asSessionId(0), type: MessageType.StopCCN, avps: { assignedTunnelId: t.localId, resultCode: result } },
      true,
    );
  }

  /** §7.2.1 "send tunnel-open event to waiting sessions". */
  private tunnelOpen(now: Instant, t: Tunnel): void {
    if (t.establishedAt === undefined) {
      t.establishedAt = now;
      t.channel.established = true;
      this.armHello(t, now);
      const ev: Mutable<Extract<L2tpEvent, { type: 'tunnel-established' }>> = {
        type: 'tunnel-established',
        tunnel: t.localId,
        remoteTunnel: t.remoteId,
        peer: t.peer,
      };
      if (t.remoteHostName !== undefined) ev.remoteHostName = t.remoteHostName;
      this.events.push(ev);
      if (t.sessions.size === 0) this.armIdle(t, now);
    }
    for (const s of t.sessions.values()) {
      if (s.state !== 'wait-tunnel') continue;
      this.sessionStep(now, t, s, s.direction === 'incoming' ? 'tunnel-open-incoming' : 'tunnel-open-outgoing', {
        by: 'local',
        cause: 'tunnel-open',
      });
    }
  }

  /** §7.2.1 "Clean up": clear sessions; linger in `closing` if a StopCCN was exchanged (§5.7). */
  private cleanup(now: Instant, t: Tunnel, ctx: StepContext): void {
    const reason: CloseReason = { by: ctx.by, result: ctx.result ?? { result: 0 }, cause: ctx.cause };
    t.closeReason = reason;
    this.events.push({ type: 'tunnel-closing', tunnel: t.localId, reason });
    for (const s of [...t.sessions.values()]) {
      if (ctx.migrate !== undefined && s.state === 'wait-tunnel') {
        // §7.2.1 tie-breaker loss: calls waiting for the tunnel move to the winner's tunnel.
        t.sessions.delete(s.localId);
        ctx.migrate.push(s);
        continue;
      }
      this.sessionStep(now, t, s, 'tunnel-down', { by: ctx.by, cause: 'tunnel-closed', result: reason.result });
    }
    t.helloAt = undefined;
    t.idleAt = undefined;
    if (ctx.cause === 'stopccn') {
      // Received StopCCN: drop our pending messages, keep acking duplicates for a full cycle.
      t.channel.abandon();
      t.state = 'closing';
      t.lingerUntil = (now + fullCycle(t.settings.tuning)) as Instant;
    } else if (t.sentStopCcn) {
      t.state = 'closing';
      t.lingerUntil = (now + fullCycle(t.settings.tuning)) as Instant;
    } else {
      this.finishClose(t);
    }
  }

  /** Keep the opening index in step with wait-ctl-reply originators. */
  private trackOpening(t: Tunnel, opening: boolean): void {
    if (opening) {
      const key = (t.openingKey ??= `${t.peer.address}|${t.peer.via ?? ''}`);
      let set = this.opening.get(key);
      if (set === undefined) this.opening.set(key, (set = new Set()));
      set.add(t);
      return;
    }
    const key = t.openingKey;
    if (key === undefined) return;
    t.openingKey = undefined;
    const set = this.opening.get(key);
    if (set === undefined) return;
    set.delete(t);
    if (set.size === 0) this.opening.delete(key);
  }

  /** Release a tunnel for good. */
  private finishClose(t: Tunnel): void {
    if (t.state === 'closed') return;
    if (t.originator) this.trackOpening(t, false);
    t.channel.ackNow();
    t.state = 'closed';
    t.channel.abandon();
    this.tunnelsById.delete(t.localId);
    if (t.sccrqKey !== undefined && this.sccrqIndex.get(t.sccrqKey) === t) this.sccrqIndex.delete(t.sccrqKey);
    this.events.push({
      type: 'tunnel-closed',
      tunnel: t.localId,
      reason: t.closeReason ?? { by: 'local', result: { result: 0 }, cause: 'closed' },
    });
  }

  /** Timers of one tunnel: channel (acks, retransmits), linger, HELLO, idle disconnect. */
  private tunnelTimeout(now: Instant, t: Tunnel): void {
    const r = t.channel.handleTimeout(now);
    this.syncCounters(t);
    if (r === 'failed') {
      if (t.state === 'closing') {
        this.finishClose(t);
        return;
      }
      const retries = t.channel.established ? t.settings.tuning.retriesEstablished : t.settings.tuning.retriesNotEstablished;
      this.events.push({ type: 'state-timer-expired', tunnel: t.localId, state: t.state, retries });
      this.step(now, t, 'retransmit-timeout', { by: 'local', cause: 'retransmit-timeout', result: { result: 2, error: 0 } });
      return;
    }
    if (t.state === 'closing') {
      if (t.lingerUntil !== undefined && t.lingerUntil <= now) this.finishClose(t);
      return;
    }
    if (t.state !== 'established') return;
    if (t.helloAt !== undefined && t.helloAt <= now) this.helloTimer(now, t);
    if (t.state === 'established' && t.idleAt !== undefined && t.idleAt <= now) {
      t.idleAt = undefined;
      this.step(now, t, 'idle-timeout', { by: 'local', cause: 'idle', result: Results.stopClear });
    }
  }

  /** §6.5 keepalive: HELLO after helloInterval of silence; helloMissCount silent cycles end the tunnel. */
  private helloTimer(now: Instant, t: Tunnel): void {
    const interval = t.settings.tuning.helloInterval;
    const due = (t.lastRxAt + interval) as Instant;
    if (!t.helloSent && due > now) {
      t.helloAt = due; // traffic since the timer was armed: push it out lazily
      return;
    }
    if (t.helloSent) {
      t.helloMisses++;
      const remaining = t.settings.tuning.helloMissCount - t.helloMisses;
      this.events.push({ type: 'keepalive-countdown', tunnel: t.localId, remaining: Math.max(remaining, 0) });
      if (remaining <= 0) {
        this.events.push({ type: 'keepalive-expired', tunnel: t.localId });
        this.step(now, t, 'hello-timeout', { by: 'local', cause: 'hello-timeout', result: Results.stopClear });
        return;
      }
    }
    if (t.channel.idle) this.sendControl(now, t, { sessionId: asSessionId(0), type: MessageType.HELLO, avps: {} });
    t.helloSent = true;
    t.helloAt = (now + interval) as Instant;
  }

  private armHello(t: Tunnel, now: Instant): void {
    const interval = t.settings.tuning.helloInterval;
    t.helloAt = interval > 0 ? ((now + interval) as Instant) : undefined;
  }

  private armIdle(t: Tunnel, now: Instant): void {
    const d = t.settings.idleDisconnect;
    if (d !== undefined && d > 0 && t.state === 'established') t.idleAt = (now + d) as Instant;
  }

  // ---------------------------------------------------------------- sessions

  /** Session-scoped control messages (§6.6–§6.15). */
  private onSessionMessage(now: Instant, t: Tunnel, msg: ControlMessage): void {
    if (t.state !== 'established') {
      // §7.2.1: no calls before the control connection is up.
      this.step(now, t, 'admin-close', { by: 'local', cause: 'fsm', result: Results.fsmError });
      return;
    }
    const a = msg.avps;
    switch (msg.type) {
      case MessageType.ICRQ:
      case MessageType.OCRQ: {
        const incoming = msg.type === MessageType.ICRQ;
        const s = this.createSession(t, incoming ? 'incoming' : 'outgoing', false);
        s.remoteId = a.assignedSessionId ?? asSessionId(0);
        s.callSerialNumber = a.callSerialNumber ?? 0;
        if (a.callingNumber !== undefined) s.callingNumber = a.callingNumber;
        if (a.calledNumber !== undefined) s.calledNumber = a.calledNumber;
        this.events.push({ type: 'session-connecting', tunnel: t.localId, session: s.localId, direction: s.direction });
        const accept = incoming ? this.config.acceptIncomingCalls : this.config.acceptOutgoingCalls;
        const ev: SessionFsmEvent = incoming
          ? accept
            ? 'rx-icrq-acceptable'
            : 'rx-icrq-not-acceptable'
          : accept
            ? 'rx-ocrq-acceptable'
            : 'rx-ocrq-not-acceptable';
        this.sessionStep(now, t, s, ev, { by: accept ? 'peer' : 'local', cause: accept ? 'call' : 'rejected', result: Results.cdnAdmin });
        // §7.5.1: there is no real bearer to dial; the call "answers" at once.
        if (!incoming && accept && s.state === 'wait-cs-answer') {
          this.sessionStep(now, t, s, 'bearer-answer', { by: 'local', cause: 'answer' });
        }
        return;
      }
      case MessageType.ICRP:
      case MessageType.OCRP: {
        const s = t.sessions.get(msg.sessionId);
        if (s === undefined) return;
        if (a.assignedSessionId !== undefined) s.remoteId = a.assignedSessionId;
        this.sessionRx(now, t, s, msg.type === MessageType.ICRP ? 'rx-icrp-acceptable' : 'rx-ocrp-acceptable');
        return;
      }
      case MessageType.ICCN:
      case MessageType.OCCN: {
        const s = t.sessions.get(msg.sessionId);
        if (s === undefined) return;
        if (a.sequencingRequired === true) s.sequencing = true;
        if (msg.type === MessageType.ICCN) s.proxy = pickProxy(a);
        this.sessionRx(now, t, s, msg.type === MessageType.ICCN ? 'rx-iccn-acceptable' : 'rx-occn-acceptable');
        return;
      }
      case MessageType.CDN: {
        let s = t.sessions.get(msg.sessionId);
        if (s === undefined && a.assignedSessionId !== undefined) {
          for (const c of t.sessions.values()) if (c.remoteId === a.assignedSessionId) s = c;
        }
        if (s === undefined) return;
        const causes: Mutable<CdnCauses> = {};
        if (a.q931Cause !== undefined) causes.q931Cause = a.q931Cause;
        if (a.pppDisconnectCause !== undefined) causes.pppDisconnectCause = a.pppDisconnectCause;
        const ctx: StepContext = { by: 'peer', cause: 'cdn', result: a.resultCode ?? { result: 0 }, causes };
        this.sessionStep(now, t, s, 'rx-cdn', ctx);
        return;
      }
      case MessageType.WEN:
        this.events.push({ type: 'wen', tunnel: t.localId, session: msg.sessionId, avps: a });
        return;
      case MessageType.SLI:
        this.events.push({ type: 'sli', tunnel: t.localId, session: msg.sessionId, avps: a });
        return;
      default:
        return;
    }
  }

  /** A received session message: its row, or CDN when it is out of sequence (§7.4 "Send CDN"). */
  private sessionRx(now: Instant, t: Tunnel, s: Session, event: SessionFsmEvent): void {
    if (sessionTransition(s.state, event) !== undefined) {
      this.sessionStep(now, t, s, event, { by: 'peer', cause: 'call' });
    } else {
      this.sessionStep(now, t, s, 'rx-unexpected', { by: 'local', cause: 'fsm', result: { result: 2, error: 0, message: 'unexpected message' } });
    }
  }

  /** Run one session FSM step (session-fsm.ts). */
  private sessionStep(now: Instant, t: Tunnel, s: Session, event: SessionFsmEvent, ctx: StepContext): void {
    const row = sessionTransition(s.state, event);
    if (row === undefined) return;
    s.state = row.to;
    for (const action of row.actions) {
      switch (action) {
        case 'open-tunnel':
          break; // the session already sits on its tunnel; tunnelOpen() kicks it
        case 'send-icrq':
        case 'send-ocrq':
          this.sendCallRequest(now, t, s, action === 'send-icrq' ? MessageType.ICRQ : MessageType.OCRQ);
          break;
        case 'send-icrp':
        case 'send-ocrp':
          this.sendControl(now, t, {
            sessionId: s.remoteId,
            type: action === 'send-icrp' ? MessageType.ICRP : MessageType.OCRP,
            avps: { assignedSessionId: s.localId },
          });
          break;
        case 'send-iccn':
        case 'send-occn':
          this.sendConnected(now, t, s, action === 'send-iccn' ? MessageType.ICCN : MessageType.OCCN);
          break;
        case 'send-cdn': {
          const avps: Mutable<ControlAvps> = { resultCode: ctx.result ?? Results.cdnAdmin, assignedSessionId: s.localId };
          if (ctx.causes?.q931Cause !== undefined) avps.q931Cause = ctx.causes.q931Cause;
          if (ctx.causes?.pppDisconnectCause !== undefined) avps.pppDisconnectCause = ctx.causes.pppDisconnectCause;
          this.sendControl(now, t, { sessionId: s.remoteId, type: MessageType.CDN, avps });
          break;
        }
        case 'session-up': {
          s.establishedAt = now;
          t.idleAt = undefined;
          if (s.connectPending === true) s.upWhenSent = true;
          else this.emitSessionUp(t, s);
          break;
        }
        case 'cleanup': {
          t.sessions.delete(s.localId);
          const reason: Mutable<CloseReason> = { by: ctx.by, result: ctx.result ?? { result: 0 }, cause: ctx.cause };
          if (ctx.causes !== undefined) reason.cdnCauses = ctx.causes;
          this.events.push({ type: 'session-closed', tunnel: t.localId, session: s.localId, reason });
          if (t.sessions.size === 0) this.armIdle(t, now);
          break;
        }
      }
    }
  }

  private sendCallRequest(now: Instant, t: Tunnel, s: Session, type: MessageType): void {
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
    this.sendControl(now, t, { sessionId: asSessionId(0), type, avps });
  }

  private sendConnected(now: Instant, t: Tunnel, s: Session, type: MessageType): void {
    const avps: Mutable<ControlAvps> = { txConnectSpeed: CONNECT_SPEED, framingType: 1 };
    if (t.settings.dataSequencing) {
      avps.sequencingRequired = true;
      s.sequencing = true;
    }
    if (type === MessageType.ICCN && s.request?.proxy !== undefined) Object.assign(avps, s.request.proxy);
    s.connectPending = true;
    this.sendControl(now, t, { sessionId: s.remoteId, type, avps, completes: s });
  }

  // ---------------------------------------------------------------- data messages

  /** §3.1 data message: demux by (tunnel, session), optional sequencing, offset bounds. */
  private handleDataMessage(now: Instant, data: Uint8Array, header: L2tpHeader, from: PeerAddress): void {
    void now;
    const t = this.tunnelsById.get(header.tunnelId);
    if (t === undefined) return;
    if (t.peer.via !== from.via) {
      t.counters.dataDropped++;
      return;
    }
    const dr = parseData(data, { maxOffset: t.settings.maxOffset });
    if (!dr.ok) {
      t.counters.dataDropped++;
      return;
    }
    const m = dr.value;
    const s = t.sessions.get(m.sessionId);
    if (s === undefined || s.state !== 'established') {
      t.counters.dataDropped++;
      return;
    }
    if (m.ns !== undefined) {
      // §5.4: drop data messages that arrive late (Ns before the expected one).
      if (seqLt(m.ns, s.dataNr)) {
        t.counters.dataDropped++;
        return;
      }
      s.dataNr = seqAdd(m.ns, 1);
    }
    s.rxPackets++;
    s.rxOctets += m.payload.length;
    t.counters.dataRxPackets++;
    t.counters.dataRxOctets += m.payload.length;
    this.events.push({ type: 'session-data', tunnel: t.localId, session: s.localId, payload: m.payload });
  }

  // ---------------------------------------------------------------- plumbing

  private createTunnel(now: Instant, peer: PeerAddress, settings: TunnelSettings, originator: boolean): Tunnel {
    const localId = this.allocTunnelId();
    const counters = newCounters();
    // The channel is created below with a sink that needs the tunnel; bind through a holder.
    const holder: { t?: Tunnel } = {};
    const channel = new ReliableChannel<OutMsg, InMsg>(
      settings.tuning,
      { transmit: (ns, nr, body, re) => this.encode(holder.t as Tunnel, ns, nr, body, re) },
      (ns, attempt, nextIn) => this.events.push({ type: 'retransmit', tunnel: localId, ns, attempt, nextIn }),
    );
    const t: Tunnel = {
      localId,
      remoteId: asTunnelId(0),
      peer,
      state: 'idle',
      fsm: 'idle',
      settings,
      originator,
      channel,
      sessions: new Map(),
      counters,
      lastRxAt: now,
      helloSent: false,
      helloMisses: 0,
      sentStopCcn: false,
    };
    holder.t = t;
    this.tunnelsById.set(localId, t);
    return t;
  }

  private allocTunnelId(): TunnelId {
    for (;;) {
      const id = this.random.u32() & 0xffff;
      if (id !== 0 && !this.tunnelsById.has(id)) return asTunnelId(id);
    }
  }

  private allocSessionId(t: Tunnel): SessionId {
    for (;;) {
      const id = this.random.u32() & 0xffff;
      if (id !== 0 && !t.sessions.has(id)) return asSessionId(id);
    }
  }

  private createSession(t: Tunnel, direction: CallDirection, originator: boolean): Session {
    const s: Session = {
      localId: this.allocSessionId(t),
      remoteId: asSessionId(0),
      state: 'idle',
      direction,
      originator,
      callSerialNumber: 0,
      sequencing: t.settings.dataSequencing,
      dataNs: 0,
      dataNr: 0,
      rxPackets: 0,
      rxOctets: 0,
      txPackets: 0,
      txOctets: 0,
    };
    t.sessions.set(s.localId, s);
    t.idleAt = undefined;
    return s;
  }

  /** Queue a message on the tunnel's reliable channel. */
  private sendControl(now: Instant, t: Tunnel, m: OutMsg): void {
    t.channel.send(now, m);
  }

  /** Report a session as established (with the proxy AVPs the LNS received in ICCN). */
  private emitSessionUp(t: Tunnel, s: Session): void {
    const ev: Mutable<Extract<L2tpEvent, { type: 'session-established' }>> = {
      type: 'session-established',
      tunnel: t.localId,
      session: s.localId,
      remoteSession: s.remoteId,
    };
    if (s.proxy !== undefined) ev.proxy = s.proxy;
    this.events.push(ev);
  }

  /** Channel sink: number, encode and queue a control message or ZLB. */
  private encode(t: Tunnel, ns: number, nr: number, body: OutMsg | undefined, retransmission: boolean): void {
    void retransmission;
    const msg: ControlMessage = {
      tunnelId: t.remoteId,
      sessionId: body?.sessionId ?? asSessionId(0),
      ns,
      nr,
      type: body?.type,
      avps: body?.avps ?? {},
    };
    const secret = t.settings.secret;
    const hide =
      secret !== undefined && t.settings.hideAvps === true
        ? messageSpec(msg.type ?? 0)?.sessionScoped === true
          ? HIDE_SET_SESSION
          : HIDE_SET_TUNNEL
        : undefined;
    const data = emitControl(
      msg,
      secret === undefined ? {} : hide === undefined ? { secret } : { secret, hide, random: this.random },
    );
    t.counters.controlTx++;
    this.events.push({ type: 'control-tx', tunnel: t.localId, peer: t.peer, ns, nr, messageType: msg.type, avps: msg.avps });
    this.transmits.push({ to: t.peer, data });
    const done = body?.completes;
    if (done !== undefined && done.connectPending === true) {
      // The ICCN/OCCN has left: from here on PPP frames cannot overtake it (§7.3 ordering).
      done.connectPending = false;
      if (done.upWhenSent === true && t.sessions.get(done.localId) === done) {
        done.upWhenSent = false;
        this.emitSessionUp(t, done);
      }
    }
  }

  /** Copy channel statistics into the tunnel counters. */
  private syncCounters(t: Tunnel): void {
    const st = t.channel.stats;
    t.counters.retransmits = st.retransmits;
    t.counters.duplicates = st.duplicates;
    t.counters.outOfWindow = st.outOfWindow;
    t.counters.zlbTx = st.zlbTx;
    t.counters.zlbRx = st.zlbRx;
  }

  /** Recompute a tunnel's next deadline and push it into the heap when it changed. */
  private touch(t: Tunnel): void {
    if (t.state === 'closed') return;
    let at = t.channel.pollAt();
    const cand = (x: Instant | undefined): void => {
      if (x !== undefined && (at === undefined || x < at)) at = x;
    };
    if (t.state === 'closing') cand(t.lingerUntil);
    else if (t.state === 'established') {
      cand(t.helloAt);
      cand(t.idleAt);
    }
    if (at === t.scheduledAt) return;
    t.scheduledAt = at;
    if (at !== undefined) this.heap.push(at, t.localId);
    // Compact when stale entries dominate.
    if (this.heap.size > 4 * this.tunnelsById.size + 1024) this.rebuildHeap();
  }

  private rebuildHeap(): void {
    this.heap.clear();
    for (const t of this.tunnelsById.values()) if (t.scheduledAt !== undefined) this.heap.push(t.scheduledAt, t.localId);
  }

  private tunnelInfo(t: Tunnel): TunnelInfo {
    this.syncCounters(t);
    const sessions: SessionInfo[] = [];
    for (const s of t.sessions.values()) {
      const info: Mutable<SessionInfo> = {
        localSessionId: s.localId,
        remoteSessionId: s.remoteId,
        state: s.state,
        direction: s.direction,
        role: (s.direction === 'incoming') === s.originator ? 'lac' : 'lns',
        callSerialNumber: s.callSerialNumber,
        rxPackets: s.rxPackets,
        rxOctets: s.rxOctets,
        txPackets: s.txPackets,
        txOctets: s.txOctets,
      };
      if (s.establishedAt !== undefined) info.establishedAt = s.establishedAt;
      if (s.callingNumber !== undefined) info.callingNumber = s.callingNumber;
      if (s.calledNumber !== undefined) info.calledNumber = s.calledNumber;
      sessions.push(info);
    }
    const info: Mutable<TunnelInfo> = {
      localTunnelId: t.localId,
      remoteTunnelId: t.remoteId,
      state: t.state,
      peer: t.peer,
      ns: t.channel.ns,
      nr: t.channel.nr,
      peerReceiveWindow: t.channel.peerWindow,
      congestionWindow: t.channel.cwnd,
      originator: t.originator,
      counters: { ...t.counters },
      sessions,
    };
    if (t.remoteHostName !== undefined) info.remoteHostName = t.remoteHostName;
    if (t.remoteVendorName !== undefined) info.remoteVendorName = t.remoteVendorName;
    if (t.protocolVersion !== undefined) info.protocolVersion = t.protocolVersion;
    if (t.establishedAt !== undefined) info.establishedAt = t.establishedAt;
    return info;
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The proxy LCP / authentication AVPs of an ICCN (§6.12), if any. */
function pickProxy(a: ControlAvps): SessionRequest['proxy'] | undefined {
  const out: Mutable<NonNullable<SessionRequest['proxy']>> = {};
  let any = false;
  const keys = [
    'initialReceivedLcpConfReq',
    'lastSentLcpConfReq',
    'lastReceivedLcpConfReq',
    'proxyAuthenType',
    'proxyAuthenName',
    'proxyAuthenChallenge',
    'proxyAuthenId',
    'proxyAuthenResponse',
  ] as const;
  for (const k of keys) {
    if (a[k] !== undefined) {
      (out as Record<string, unknown>)[k] = a[k];
      any = true;
    }
  }
  return any ? out : undefined;
}

/** One-line text for a WireError (bad-datagram events). */
export function describeWireError(e: WireError): string {
  switch (e.kind) {
    case 'truncated':
      return `truncated: need ${e.need} bytes, have ${e.have}`;
    case 'bad-version':
      return `bad version ${e.version}`;
    case 'bad-length':
      return `bad ${e.field} length: ${e.detail}`;
    case 'bad-flags':
      return `bad flags: ${e.detail}`;
    case 'offset-too-large':
      return `offset ${e.offsetSize} larger than ${e.max}`;
    case 'first-avp-not-message-type':
      return 'first AVP is not Message Type';
    case 'unknown-message-type':
      return `unknown message type ${e.messageType}`;
    case 'unknown-mandatory-avp':
      return `unknown mandatory AVP ${e.vendorId}:${e.attribute}`;
    case 'bad-avp-value':
      return `bad value in AVP ${e.attribute}: ${e.detail}`;
    case 'duplicate-avp':
      return `duplicate AVP ${e.attribute}`;
    case 'missing-avp':
      return `message type ${e.messageType} lacks AVP ${e.name} (${e.attribute})`;
    case 'zero-assigned-id':
      return `message type ${e.messageType} has ${e.name} (${e.attribute}) 0`;
    case 'hidden-without-secret':
      return `hidden AVP ${e.attribute} but no secret`;
    case 'hidden-without-random-vector':
      return `hidden AVP ${e.attribute} without Random Vector`;
    case 'bad-hidden':
      return `bad hidden AVP ${e.attribute}: ${e.detail}`;
  }
}
