/**
 * LAC switching (RFC 2661 §4.4.5, the Juniper MX LAC's behaviour): a subscriber's PPP arrives on a
 * lower layer (a PPPoE session), LCP and authentication are done here on the LNS's behalf, then an
 * incoming call (ICRQ/ICCN) carries the proxy LCP AVPs 26-28 and the proxy authentication AVPs 29-33
 * to the LNS the shell chose (domain map / RADIUS tunnel selection), and from then on PPP frames are
 * relayed between the lower layer and the L2TP session without being terminated (an LNS that
 * renegotiates LCP talks to the subscriber directly).
 *
 *   subscriber --PPPoE-- [lower] --> PppLink (LCP, PAP/CHAP challenge) --auth-request--> route()
 *        --> openSession(ICRQ, proxy AVPs) --session-established--> relay both ways
 *   PADT (lowerGone)           -> CDN, PPP Disconnect Cause AVP 46 code 0 (RFC 3145 §3.3)
 *   CDN / StopCCN from the LNS -> the lower layer closes (PADT)
 *
 * Sans-I/O: the shell feeds L2TP events (`handleL2tpEvent`), opens sessions with `open(now, lower)`,
 * reports a vanished lower layer with `lowerGone`, runs `handleTimeout` at `pollAt()`, sends
 * `pollTransmit()` on the engine's socket and drains `pollEvent()`. Data never makes an event: both directions go through sinks bound once.
 */
import { type Instant, type RandomSource, type Timed, earliest } from '../base/index.js';
import { DATA_HEADROOM, type CloseReason, type L2tpControlApi, type L2tpEvent, type SessionRequest, type Transmit } from '../l2tp/index.js';
import type { SessionId, TunnelId } from '../wire/l2tp/index.js';
import { type AuthProtocol, type AuthRequest, type FsmConfig, PppLink } from '../ppp/index.js';
import type { SessionLower } from './lower.js';

/** The part of the L2TP engine the switch drives. */
export type SwitchEngine = Pick<L2tpControlApi, 'openSession' | 'closeSession' | 'sendData' | 'bindSession'>;

/** What the shell's routing decision sees. */
export interface SwitchCall {
  /** The call's key (as `open` returned it): `routed` and `failover` name it. */
  readonly key: number;
  readonly username: string;
  /** Calling Number for the ICRQ (the TR-101 circuit id or the client MAC). */
  readonly callingNumber?: string;
  /** The subscriber's captured authentication (for a RADIUS Access-Request at the LAC). */
  readonly auth: AuthRequest;
}

/**
 * Where a call goes: a tunnel (optionally with the name the LNS gets, e.g. without `@realm`),
 * undefined = refused (the subscriber is disconnected), `pending` = the answer comes later through
 * `routed` (RADIUS), `release` = the shell takes the subscriber's lower layer over (local
 * termination): the call ends here without touching it.
 */
export type RouteAnswer = TunnelId | undefined | 'pending' | 'release' | { readonly tunnel: TunnelId; readonly username: string };

/** Settings of the switch. */
export interface LacSwitchConfig {
  readonly random: RandomSource;
  /** Demanded from the subscriber, in order (default CHAP-MD5, then PAP: the methods RFC 2661 can proxy). */
  readonly auth?: readonly AuthProtocol[];
  /** MRU we announce to the subscriber (capped by the lower layer's). */
  readonly mru?: number;
  /** CHAP Name. */
  readonly name?: string;
  readonly fsm?: Partial<FsmConfig>;
  /** The tunnel this user's call goes to (see {@link RouteAnswer}). */
  readonly route: (call: SwitchCall, now: Instant) => RouteAnswer;
  /**
   * The tunnel of a call still waiting for its ICRQ/ICCN is closing before the session was
   * established (SCCRQ timeout, StopCCN, ...): the tunnel to place the call on instead, or undefined
   * to end it. Absent: the call ends with the tunnel.
   */
  readonly failover?: (key: number, tunnel: TunnelId, reason: CloseReason, now: Instant) => TunnelId | undefined;
  /**
   * Where subscriber -> LNS data messages go: the shell's socket, written at once (the data fast path:
   * these frames arrive from the lower layer's socket, outside any drain of this core); default: a
   * queue read with `pollTransmit()`.
   */
  readonly transmit?: (t: Transmit) => void;
  /** Frames of the subscriber kept while the ICRQ/ICCN is under way (default 16). */
  readonly pendingFrames?: number;
}

/** Switch events (STYLE §10). */
export type LacSwitchEvent =
  | { readonly type: 'auth-captured'; readonly key: number; readonly username: string; readonly method: AuthProtocol }
  | { readonly type: 'call-placed'; readonly key: number; readonly tunnel: TunnelId; readonly session: SessionId; readonly username: string }
  | { readonly type: 'switched'; readonly key: number; readonly tunnel: TunnelId; readonly session: SessionId; readonly username: string }
  | {
      readonly type: 'ended';
      readonly key: number;
      readonly username: string | undefined;
      readonly tunnel: TunnelId | undefined;
      readonly session: SessionId | undefined;
      /** Who ended it and why. */
      readonly by: 'subscriber' | 'lns' | 'local';
      readonly cause: string;
    };

type Phase = 'ppp' | 'routing' | 'calling' | 'relay';

interface Call {
  readonly key: number;
  readonly lower: SessionLower;
  readonly callingNumber: string | undefined;
  readonly connectSpeed: SessionRequest['connectSpeed'];
  phase: Phase;
  link: PppLink | undefined;
  /** LCP Configure-Request option bodies (RFC 2661 §4.4.5 AVPs 26-28). */
  initialReceived: Uint8Array | undefined;
  lastReceived: Uint8Array | undefined;
  lastSent: Uint8Array | undefined;
  /** Identifier of the subscriber's last PAP Authenticate-Request (Proxy Authen ID, so the LNS's Ack matches it). */
  papId: number;
  username: string | undefined;
  tunnel: TunnelId | undefined;
  session: SessionId | undefined;
  pending: Uint8Array[];
  /** The ICRQ/ICCN request (kept for a failover to another tunnel). */
  request: SessionRequest | undefined;
}

const LCP = 0xc021;
const PAP = 0xc023;
const CONF_REQ = 1;
/** RFC 2661 §4.4.5 Proxy Authen Type. */
const PROXY_CHAP = 2;
const PROXY_PAP = 3;
const PROXY_NONE = 4;
/** RFC 3145 §3.3: direction 1 = at the peer (the subscriber hung up), code 0 = no information (the seed). */
const PADT_CAUSE = { code: 0, protocol: 0, direction: 1, message: 'PPPoE PADT from the subscriber' } as const;

/** PPP frame (from Protocol or from ff 03) -> [protocol, offset of the information field]. */
function protocolOf(f: Uint8Array): [number, number] {
  const o = f[0] === 0xff && f[1] === 0x03 ? 2 : 0;
  return [((f[o] ?? 0) << 8) | (f[o + 1] ?? 0), o + 2];
}

/** The options of an LCP Configure-Request frame, or undefined. */
function confReqOptions(f: Uint8Array): Uint8Array | undefined {
  const [proto, o] = protocolOf(f);
  if (proto !== LCP || f[o] !== CONF_REQ || f.length < o + 4) return undefined;
  const len = ((f[o + 2] ?? 0) << 8) | (f[o + 3] ?? 0);
  // A copy: `f` may be a Node Buffer (AF_PACKET batch), whose slice() is a view that the next batch overwrites.
  return Uint8Array.from(f.subarray(o + 4, Math.min(f.length, o + len)));
}

/** RFC 2661 §4.4.5 AVPs 29-33 from the subscriber's authentication (MS-CHAPv2 cannot be proxied: type 4 "none"). */
function proxyAuth(r: AuthRequest, papId: number): NonNullable<SessionRequest['proxy']> {
  switch (r.method) {
    case 'pap':
      return { proxyAuthenType: PROXY_PAP, proxyAuthenName: r.username, proxyAuthenResponse: new TextEncoder().encode(r.password), proxyAuthenId: papId };
    case 'chap-md5':
      return { proxyAuthenType: PROXY_CHAP, proxyAuthenName: r.username, proxyAuthenChallenge: r.challenge, proxyAuthenId: r.identifier, proxyAuthenResponse: r.response };
    default:
      return { proxyAuthenType: PROXY_NONE, proxyAuthenName: r.username };
  }
}

/** The LAC switch over one L2TP engine. */
export class LacSwitch implements Timed {
  private readonly calls = new Map<number, Call>();
  /** (tunnel, session) -> call key. */
  private readonly byL2tp = new Map<number, number>();
  private readonly events: LacSwitchEvent[] = [];
  /** L2TP data messages to send on the engine's socket. */
  private readonly tx: Transmit[] = [];
  private nextKey = 1;

  constructor(
    private readonly engine: SwitchEngine,
    private readonly cfg: LacSwitchConfig,
  ) {}

  /**
   * A subscriber session came up on `lower`: LCP and authentication start. `connectSpeed` (bits/s,
   * e.g. the TR-101 actual data rates) goes into the ICCN. Returns its key.
   */
  open(now: Instant, lower: SessionLower, callingNumber?: string, connectSpeed?: SessionRequest['connectSpeed']): number {
    const key = this.nextKey++;
    const c = this.cfg;
    const mru = c.mru ?? 1492;
    const link = new PppLink({
      role: 'authenticator',
      random: c.random,
      auth: c.auth ?? ['chap-md5', 'pap'],
      mru: lower.maxMru !== undefined ? Math.min(mru, lower.maxMru) : mru,
      addressControl: lower.addressControl,
      ipcp: false,
      ipv6cp: false,
      ...(c.name !== undefined ? { name: c.name } : {}),
      ...(c.fsm !== undefined ? { fsm: c.fsm } : {}),
    });
    const call: Call = {
      key, lower, callingNumber, connectSpeed, phase: 'ppp', link, initialReceived: undefined, lastReceived: undefined, lastSent: undefined,
      papId: 0, username: undefined, tunnel: undefined, session: undefined, pending: [], request: undefined,
    };
    this.calls.set(key, call);
    lower.bind(now, { handleData: (at, frame) => this.fromSubscriber(at, call, frame) });
    if (this.calls.has(key) && call.phase === 'ppp') {
      link.open(now);
      this.pump(now, call);
    }
    return key;
  }

  /** The lower layer vanished (the subscriber's PADT): CDN with AVP 46 when a call was placed. */
  lowerGone(now: Instant, key: number): boolean {
    const call = this.calls.get(key);
    if (call === undefined) return false;
    if (call.tunnel !== undefined && call.session !== undefined) {
      this.engine.closeSession(now, call.tunnel, call.session, { result: 1, message: 'subscriber hung up (PADT)' }, { pppDisconnectCause: PADT_CAUSE });
    }
    call.link?.lowerDown(now);
    this.end(call, 'subscriber', 'padt-received');
    return true;
  }

  /** One L2TP engine event; events of other sessions are ignored. */
  handleL2tpEvent(now: Instant, ev: L2tpEvent): void {
    if (ev.type === 'session-established') {
      const call = this.calls.get(this.byL2tp.get(l2tpKey(ev.tunnel, ev.session)) ?? -1);
      if (call === undefined || call.phase !== 'calling') return;
      call.phase = 'relay';
      this.engine.bindSession(now, ev.tunnel, ev.session, { handleData: (at, frame) => this.fromLns(at, call, frame) });
      this.events.push({ type: 'switched', key: call.key, tunnel: ev.tunnel, session: ev.session, username: call.username ?? '' });
      const pending = call.pending;
      call.pending = [];
      for (const f of pending) this.toLns(now, call, f);
    } else if (ev.type === 'session-closed') {
      const call = this.calls.get(this.byL2tp.get(l2tpKey(ev.tunnel, ev.session)) ?? -1);
      if (call === undefined) return;
      call.lower.close(now, { result: ev.reason.result });
      this.end(call, ev.reason.by === 'peer' ? 'lns' : 'local', ev.reason.cause);
    } else if (ev.type === 'tunnel-closing') {
      this.tunnelClosing(now, ev.tunnel, ev.reason);
    } else if (ev.type === 'tunnel-closed') {
      for (const call of [...this.calls.values()]) {
        if (call.tunnel !== ev.tunnel) continue;
        call.lower.close(now, { result: ev.reason.result });
        this.end(call, ev.reason.by === 'peer' ? 'lns' : 'local', `tunnel ${ev.reason.cause}`);
      }
    }
  }

  /** Earliest timer of the PPP links still negotiating with their subscriber. */
  pollAt(): Instant | undefined {
    let at: Instant | undefined;
    for (const c of this.calls.values()) if (c.phase === 'ppp') at = earliest(at, c.link?.pollAt());
    return at;
  }

  /** Run the due PPP timers. */
  handleTimeout(now: Instant): void {
    for (const c of [...this.calls.values()]) {
      const at = c.phase === 'ppp' ? c.link?.pollAt() : undefined;
      if (at === undefined || at > now) continue;
      c.link?.handleTimeout(now);
      this.pump(now, c);
    }
  }

  /** Next L2TP data message (subscriber -> LNS) to send. */
  pollTransmit(): Transmit | undefined {
    return this.tx.shift();
  }

  /** Next event. */
  pollEvent(): LacSwitchEvent | undefined {
    return this.events.shift();
  }

  /** Calls in progress or switched. */
  get size(): number {
    return this.calls.size;
  }

  /** One call's state (tests, show commands). */
  call(key: number): { readonly phase: Phase; readonly username: string | undefined; readonly tunnel: TunnelId | undefined; readonly session: SessionId | undefined } | undefined {
    const c = this.calls.get(key);
    return c === undefined ? undefined : { phase: c.phase, username: c.username, tunnel: c.tunnel, session: c.session };
  }

  // ------------------------------------------------------------------ internals

  private fromSubscriber(now: Instant, call: Call, frame: Uint8Array): void {
    if (!this.calls.has(call.key)) return;
    if (call.phase === 'relay') return this.toLns(now, call, frame);
    if (call.phase === 'calling' || call.phase === 'routing') {
      if (call.pending.length < (this.cfg.pendingFrames ?? 16)) call.pending.push(Uint8Array.from(frame));
      return;
    }
    const opts = confReqOptions(frame);
    if (opts !== undefined) {
      call.initialReceived ??= opts;
      call.lastReceived = opts;
    }
    const [proto, o] = protocolOf(frame);
    if (proto === PAP && frame[o] === 1) call.papId = frame[o + 1] ?? 0;
    call.link?.handleFrame(now, frame);
    this.pump(now, call);
  }

  /** A subscriber frame into the L2TP session, with Address/Control (RFC 2661 §5.3) in front. */
  private toLns(now: Instant, call: Call, frame: Uint8Array): void {
    if (call.tunnel === undefined || call.session === undefined) return;
    // One copy into a buffer with the L2TP header's room in front (the lower layer's view is not ours to keep).
    const ac = frame[0] === 0xff && frame[1] === 0x03 ? 0 : 2;
    const buf = new Uint8Array(DATA_HEADROOM + ac + frame.length);
    const out = buf.subarray(DATA_HEADROOM);
    if (ac === 2) {
      out[0] = 0xff;
      out[1] = 0x03;
    }
    out.set(frame, ac);
    const t = this.engine.sendData(now, call.tunnel, call.session, out, true);
    if (t === undefined) return;
    if (this.cfg.transmit !== undefined) this.cfg.transmit(t);
    else this.tx.push(t);
  }

  /** An LNS frame to the subscriber: without Address/Control when the lower layer has none (RFC 2516 §7). */
  private fromLns(now: Instant, call: Call, frame: Uint8Array): void {
    const f = !call.lower.addressControl && frame[0] === 0xff && frame[1] === 0x03 ? frame.subarray(2) : frame;
    call.lower.send(now, f, false);
  }

  /** Drain the link: frames to the subscriber (recording our Configure-Requests), events. */
  private pump(now: Instant, call: Call): void {
    const link = call.link;
    if (link === undefined) return;
    for (let f = link.pollTransmit(); f !== undefined; f = link.pollTransmit()) {
      const opts = confReqOptions(f);
      if (opts !== undefined) call.lastSent = opts;
      call.lower.send(now, f, false);
    }
    for (let e = link.pollEvent(); e !== undefined; e = link.pollEvent()) {
      if (e.type === 'auth-request') return this.placeCall(now, call, e.request);
      if (e.type === 'link-down') {
        call.lower.close(now, { result: { result: 2, message: `PPP with the subscriber failed (${e.reason})` } });
        return this.end(call, e.reason === 'peer-terminated' ? 'subscriber' : 'local', e.reason);
      }
    }
  }

  /** Authentication captured: route it, place the call with the proxy AVPs; the link's work is done. */
  private placeCall(now: Instant, call: Call, r: AuthRequest): void {
    call.username = r.username;
    call.link = undefined;
    call.phase = 'routing';
    this.events.push({ type: 'auth-captured', key: call.key, username: r.username, method: r.method });
    const proxy: NonNullable<SessionRequest['proxy']> = {
      ...(call.initialReceived !== undefined ? { initialReceivedLcpConfReq: call.initialReceived } : {}),
      ...(call.lastSent !== undefined ? { lastSentLcpConfReq: call.lastSent } : {}),
      ...(call.lastReceived !== undefined ? { lastReceivedLcpConfReq: call.lastReceived } : {}),
      ...proxyAuth(r, call.papId),
    };
    call.request = {
      direction: 'incoming',
      proxy,
      ...(call.callingNumber !== undefined ? { callingNumber: call.callingNumber } : {}),
      ...(call.connectSpeed !== undefined ? { connectSpeed: call.connectSpeed } : {}),
    };
    const answer = this.cfg.route({ key: call.key, username: r.username, auth: r, ...(call.callingNumber !== undefined ? { callingNumber: call.callingNumber } : {}) }, now);
    if (answer !== 'pending') this.routed(now, call.key, answer);
  }

  /**
   * The routing answer of a call (`route` said `pending`, or at once): place it, refuse it (the
   * subscriber is disconnected with `why`), or release it to the shell. False for no such call.
   */
  routed(now: Instant, key: number, answer: Exclude<RouteAnswer, 'pending'>, why = 'no tunnel for this user'): boolean {
    const call = this.calls.get(key);
    if (call?.phase !== 'routing' || call.request === undefined) return false;
    if (answer === 'release') {
      this.end(call, 'local', 'released');
      return true;
    }
    const tunnel = typeof answer === 'object' ? answer.tunnel : answer;
    if (typeof answer === 'object' && call.request.proxy?.proxyAuthenName !== undefined) {
      call.request = { ...call.request, proxy: { ...call.request.proxy, proxyAuthenName: answer.username } };
    }
    call.phase = 'calling';
    if (tunnel === undefined || !this.dial(now, call, tunnel)) {
      call.lower.close(now, { result: { result: 2, message: tunnel === undefined ? why : 'the tunnel refused the call' } });
      this.end(call, 'local', tunnel === undefined ? 'no-route' : 'call-refused');
    }
    return true;
  }

  /** ICRQ on `tunnel` (queued by the engine until the tunnel is up). */
  private dial(now: Instant, call: Call, tunnel: TunnelId): boolean {
    const request = call.request;
    const session = request === undefined ? undefined : this.engine.openSession(now, tunnel, request);
    if (session === undefined) return false;
    call.tunnel = tunnel;
    call.session = session;
    this.byL2tp.set(l2tpKey(tunnel, session), call.key);
    this.events.push({ type: 'call-placed', key: call.key, tunnel, session, username: call.username ?? '' });
    return true;
  }

  /** A tunnel is going down: its calls not yet established fail over (when the shell says where). */
  private tunnelClosing(now: Instant, tunnel: TunnelId, reason: CloseReason): void {
    const failover = this.cfg.failover;
    if (failover === undefined) return;
    for (const call of [...this.calls.values()]) {
      if (call.tunnel !== tunnel || call.phase !== 'calling' || call.session === undefined) continue;
      this.byL2tp.delete(l2tpKey(tunnel, call.session));
      call.tunnel = undefined;
      call.session = undefined;
      const next = failover(call.key, tunnel, reason, now);
      if (next !== undefined && this.dial(now, call, next)) continue;
      call.lower.close(now, { result: { result: 2, message: `no LNS reachable (${reason.cause})` } });
      this.end(call, 'local', `tunnel ${reason.cause}`);
    }
  }

  private end(call: Call, by: 'subscriber' | 'lns' | 'local', cause: string): void {
    if (!this.calls.delete(call.key)) return;
    if (call.tunnel !== undefined && call.session !== undefined) this.byL2tp.delete(l2tpKey(call.tunnel, call.session));
    call.link = undefined;
    call.pending = [];
    this.events.push({ type: 'ended', key: call.key, username: call.username, tunnel: call.tunnel, session: call.session, by, cause });
  }
}

const l2tpKey = (t: number, s: number): number => t * 0x10000 + s;
