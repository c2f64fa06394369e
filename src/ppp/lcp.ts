/**
 * LCP option judgements (RFC 1661 §6) plus the LCP-only packets around the automaton: Echo
 * keepalive (§5.8), Magic-Number loop detection (§6.4). The automaton itself is `OptionFsm`.
 * Options: MRU (1), ACCM (2, RFC 1662 §7.1; acked, meaningless over L2TP), Authentication-Protocol (3),
 * Magic-Number (5), PFC (7), ACFC (8). Everything else is Configure-Rejected.
 */
import { addDuration, type Duration, type Instant, put32, type RandomSource, seconds, type SendPacer, u16, u32 } from '../base/index.js';
import { ChapAlgorithm, CpCode, type CpOption, type CpPacket, PppProtocol } from '../wire/ppp/index.js';
import type { OptionHandler, OptionVerdict } from './option-fsm.js';

/** Authentication protocols we speak. */
export type AuthProtocol = 'pap' | 'chap-md5' | 'mschapv2';

/** LCP option types (RFC 1661 §6, RFC 1662 §7.1). */
export const LcpOption = { MRU: 1, ACCM: 2, AuthProtocol: 3, QualityProtocol: 4, MagicNumber: 5, PFC: 7, ACFC: 8 } as const;

/** RFC 1661 §6.2: Authentication-Protocol option data for each protocol. */
export function authOptionData(p: AuthProtocol): Uint8Array {
  switch (p) {
    case 'pap':
      return Uint8Array.of(0xc0, 0x23);
    case 'chap-md5':
      return Uint8Array.of(0xc2, 0x23, ChapAlgorithm.MD5);
    case 'mschapv2':
      return Uint8Array.of(0xc2, 0x23, ChapAlgorithm.MSCHAPv2);
  }
}

/** Decode Authentication-Protocol option data; undefined if we do not speak it. */
export function parseAuthOption(d: Uint8Array): AuthProtocol | undefined {
  if (d.length === 2 && u16(d, 0) === PppProtocol.PAP) return 'pap';
  if (d.length === 3 && u16(d, 0) === PppProtocol.CHAP) {
    if (d[2] === ChapAlgorithm.MD5) return 'chap-md5';
    if (d[2] === ChapAlgorithm.MSCHAPv2) return 'mschapv2';
  }
  return undefined;
}

/** LCP settings. */
export interface LcpConfig {
  /** authenticator: we demand the peer authenticates; peer: we authenticate when asked. */
  readonly role: 'authenticator' | 'peer';
  /** MRU we announce (default 1400). */
  readonly mru: number;
  /** authenticator: protocols we demand, most preferred first (empty = no auth); peer: protocols we accept. */
  readonly auth: readonly AuthProtocol[];
  /** Ask the peer for PFC / ACFC (default false). */
  readonly requestPfc: boolean;
  readonly requestAcfc: boolean;
  /** Echo-Request interval (0 = no keepalive) and how many unanswered ones end the link. */
  readonly echoInterval: Duration;
  readonly echoFailure: number;
  /**
   * Per-link jitter as a fraction of the interval: with j > 0 the first Echo-Request comes uniformly
   * in [interval·(1-max(j, 1/2)), interval] after This-Layer-Up (a dial burst of thousands of links
   * opened within seconds leaves spread over half an interval, not j of it), each next one
   * interval ± interval·j/2 after the previous due time, so links opened (or delayed) together
   * drift apart instead of marching. j = 0: exactly one interval, no random draw.
   */
  readonly echoJitter: number;
  /** pppd `lcp-echo-adaptive`: no Echo-Request when the peer sent anything since the last tick. */
  readonly echoAdaptive: boolean;
  /** Loop-back suspicions (§6.4) before giving up. */
  readonly loopbackFailures: number;
}

/** With jitter on, the first Echo-Request after This-Layer-Up falls in the last half of the interval at least. */
const FIRST_ECHO_SPREAD = 0.5;

/** Defaults of `LcpConfig` (role and auth aside). */
export const DEFAULT_LCP: Omit<LcpConfig, 'role' | 'auth'> = {
  mru: 1400,
  requestPfc: false,
  requestAcfc: false,
  echoInterval: seconds(30),
  echoFailure: 3,
  echoJitter: 0.1,
  echoAdaptive: true,
  loopbackFailures: 10,
};

/** What LCP agreed, in both directions. */
export interface LcpState {
  /** MRU we receive (the peer must not send bigger). */
  readonly ourMru: number;
  /** MRU the peer receives: we never send frames with more information octets. */
  readonly peerMru: number;
  /** authenticator: the protocol the peer agreed to use; peer: the one we agreed to. */
  readonly auth: AuthProtocol | undefined;
  readonly ourMagic: number;
  readonly peerMagic: number;
  /** The peer accepts compressed Protocol / Address-Control fields from us. */
  readonly peerPfc: boolean;
  readonly peerAcfc: boolean;
}

/** Why LCP wants the link closed. */
export type LcpFatal = 'auth-protocol-refused' | 'loopback' | 'echo-timeout';

/**
 * The keepalive as a data plane takes it over (issue 15, src/io/fast-path.ts): our Magic-Number, the
 * settings and where the schedule stands (the first due time relative to now, misses so far).
 */
export interface LcpKeepalive {
  readonly magic: number;
  readonly interval: Duration;
  readonly failure: number;
  readonly jitter: number;
  readonly adaptive: boolean;
  /** Milliseconds from now to the next keepalive tick (>= 0). */
  readonly firstDue: number;
  readonly misses: number;
  readonly outstanding: boolean;
  /** Identifier of the last Echo-Request sent (the next one is + 1). */
  readonly echoId: number;
  /** The link puts 0xff 0x03 in front of LCP frames (RFC 1662 §3.2; LCP is never compressed). */
  readonly addressControl: boolean;
}

/** Things LCP reports to the link. */
export interface LcpSink {
  /** Send an LCP packet outside the automaton (Echo-Request). */
  send(p: CpPacket): void;
  /** An Echo-Request went unanswered; `remaining` more misses end the link. */
  echoMissed(remaining: number): void;
  /** LCP cannot continue: the link must close. */
  fatal(reason: LcpFatal): void;
}

const u32bytes = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  put32(b, 0, v);
  return b;
};
const u16bytes = (v: number): Uint8Array => Uint8Array.of((v >>> 8) & 0xff, v & 0xff);

/** LCP's option judge and keepalive. */
export class Lcp implements OptionHandler {
  private wantMru: number | undefined;
  private authIdx = 0;
  private wantMagic = true;
  private magic: number;
  private wantPfc: boolean;
  private wantAcfc: boolean;
  private lastNakMagic: number | undefined;
  private loops = 0;
  private st: { -readonly [K in keyof LcpState]: LcpState[K] };
  /** When the keepalive timer fires (a paced echo may fire after its due time). */
  private echoAt: Instant | undefined;
  /** The keepalive's own schedule: each next due time is this one plus the interval (± jitter). */
  private echoDue: Instant | undefined;
  /** The pacer already booked the echo that `echoAt` fires. */
  private echoBooked = false;
  /** Something arrived from the peer since the last keepalive tick. */
  private heard = false;
  private echoOutstanding = false;
  private echoMisses = 0;
  private echoId = 0;
  /** The keepalive runs elsewhere (the native fast path): no timer here; misses as last reported from there. */
  private offloaded = false;

  /** `random` supplies Magic-Numbers and keepalive jitter; `pacer` (shared by many links) bounds echoes per window. */
  constructor(
    readonly cfg: LcpConfig,
    private readonly random: RandomSource,
    private readonly sink: LcpSink,
    private readonly pacer?: SendPacer,
  ) {
    this.wantMru = cfg.mru;
    this.wantPfc = cfg.requestPfc;
    this.wantAcfc = cfg.requestAcfc;
    this.magic = this.newMagic();
    this.st = { ourMru: 1500, peerMru: 1500, auth: undefined, ourMagic: 0, peerMagic: 0, peerPfc: false, peerAcfc: false };
  }

  /** The negotiated state (meaningful once LCP is Opened). */
  get state(): LcpState {
    return this.st;
  }

  private newMagic(): number {
    let m = 0;
    // §6.4: zero is not a valid Magic-Number.
    while (m === 0 || m === this.magic) m = this.random.u32() >>> 0;
    return m;
  }

  /** RFC 1661 §5.1: our Configure-Request options. */
  buildRequest(): readonly CpOption[] {
    const o: CpOption[] = [];
    if (this.wantMru !== undefined) o.push({ type: LcpOption.MRU, data: u16bytes(this.wantMru) });
    const auth = this.cfg.role === 'authenticator' ? this.cfg.auth[this.authIdx] : undefined;
    if (auth !== undefined) o.push({ type: LcpOption.AuthProtocol, data: authOptionData(auth) });
    if (this.wantMagic) o.push({ type: LcpOption.MagicNumber, data: u32bytes(this.magic) });
    if (this.wantPfc) o.push({ type: LcpOption.PFC, data: new Uint8Array(0) });
    if (this.wantAcfc) o.push({ type: LcpOption.ACFC, data: new Uint8Array(0) });
    return o;
  }

  /** RFC 1661 §6: judge one option of the peer's request. */
  judge(o: CpOption): OptionVerdict {
    switch (o.type) {
      case LcpOption.MRU:
        if (o.data.length !== 2) return { verdict: 'reject' };
        // Below the RFC 1661 §6.1 floor we would fragment control packets: suggest 128.
        return u16(o.data, 0) < 128 ? { verdict: 'nak', data: u16bytes(128) } : { verdict: 'ack' };
      case LcpOption.ACCM:
        return o.data.length === 4 ? { verdict: 'ack' } : { verdict: 'reject' };
      case LcpOption.AuthProtocol: {
        // The LNS never authenticates itself to the client.
        if (this.cfg.role === 'authenticator') return { verdict: 'reject' };
        const p = parseAuthOption(o.data);
        if (p !== undefined && this.cfg.auth.includes(p)) return { verdict: 'ack' };
        const first = this.cfg.auth[0];
        // §6.2: Nak with the protocol we would rather use.
        return first === undefined ? { verdict: 'reject' } : { verdict: 'nak', data: authOptionData(first) };
      }
      case LcpOption.MagicNumber: {
        if (o.data.length !== 4) return { verdict: 'reject' };
        const m = u32(o.data, 0);
        // §6.4: zero MUST be Nak'd; our own number means a possible loop-back: Nak with a new one.
        if (m === 0 || (this.wantMagic && m === this.magic)) return { verdict: 'nak', data: u32bytes(this.nakMagicValue()) };
        return { verdict: 'ack' };
      }
      case LcpOption.PFC:
      case LcpOption.ACFC:
        return o.data.length === 0 ? { verdict: 'ack' } : { verdict: 'reject' };
      default:
        return { verdict: 'reject' };
    }
  }

  private nakMagicValue(): number {
    // Remember what we Nak'd with: it coming back in a Nak of our own request means loop-back.
    this.noteLoop();
    this.lastNakMagic = this.newMagic();
    return this.lastNakMagic;
  }

  private noteLoop(): void {
    this.loops++;
    if (this.loops >= this.cfg.loopbackFailures) this.sink.fatal('loopback');
  }

  /** The peer acked our request. */
  applyAck(sent: readonly CpOption[]): void {
    this.st.ourMru = 1500;
    this.st.ourMagic = 0;
    if (this.cfg.role === 'authenticator') this.st.auth = undefined;
    for (const o of sent) {
      if (o.type === LcpOption.MRU) this.st.ourMru = u16(o.data, 0);
      else if (o.type === LcpOption.MagicNumber) this.st.ourMagic = u32(o.data, 0);
      else if (o.type === LcpOption.AuthProtocol && this.cfg.role === 'authenticator') this.st.auth = parseAuthOption(o.data);
    }
  }

  /** RFC 1661 §5.3: adopt or move on from Nak'd options. */
  applyNak(options: readonly CpOption[]): void {
    for (const o of options) {
      if (o.type === LcpOption.MRU && o.data.length === 2) {
        const v = u16(o.data, 0);
        if (v >= 128) this.wantMru = v;
      } else if (o.type === LcpOption.AuthProtocol && this.cfg.role === 'authenticator') {
        // Take the peer's suggestion if we allow it, else the next protocol in our preference order.
        const sug = parseAuthOption(o.data);
        const j = sug === undefined ? -1 : this.cfg.auth.indexOf(sug);
        this.authIdx = j >= 0 && j !== this.authIdx ? j : this.authIdx + 1;
        if (this.authIdx >= this.cfg.auth.length) this.sink.fatal('auth-protocol-refused');
      } else if (o.type === LcpOption.MagicNumber && o.data.length === 4) {
        // §6.4: a Nak carrying the value we last Nak'd with suggests a looped-back link.
        if (this.lastNakMagic !== undefined && u32(o.data, 0) === this.lastNakMagic) this.noteLoop();
        this.magic = this.newMagic();
      }
    }
  }

  /** Stop asking for rejected options; the authenticator cannot do without authentication. */
  applyReject(options: readonly CpOption[]): void {
    for (const o of options) {
      if (o.type === LcpOption.MRU) this.wantMru = undefined;
      else if (o.type === LcpOption.MagicNumber) this.wantMagic = false;
      else if (o.type === LcpOption.PFC) this.wantPfc = false;
      else if (o.type === LcpOption.ACFC) this.wantAcfc = false;
      else if (o.type === LcpOption.AuthProtocol && this.cfg.role === 'authenticator') this.sink.fatal('auth-protocol-refused');
    }
  }

  /** Record what the peer asked for and we acked. */
  applyPeerAck(options: readonly CpOption[]): void {
    this.st.peerMru = 1500;
    this.st.peerMagic = 0;
    this.st.peerPfc = false;
    this.st.peerAcfc = false;
    if (this.cfg.role === 'peer') this.st.auth = undefined;
    for (const o of options) {
      if (o.type === LcpOption.MRU) this.st.peerMru = u16(o.data, 0);
      else if (o.type === LcpOption.MagicNumber) this.st.peerMagic = u32(o.data, 0);
      else if (o.type === LcpOption.PFC) this.st.peerPfc = true;
      else if (o.type === LcpOption.ACFC) this.st.peerAcfc = true;
      else if (o.type === LcpOption.AuthProtocol && this.cfg.role === 'peer') this.st.auth = parseAuthOption(o.data);
    }
    // A clean request from a different magic clears loop suspicion.
    if (this.st.peerMagic !== this.magic) this.loops = 0;
  }

  /** Code-Reject of codes 1..7 is catastrophic; of 8..11 (Echo, Discard, Protocol-Reject) it is not (§5.6). */
  isCatastrophicReject(code: number): boolean {
    return code >= 1 && code <= 7;
  }

  /** `ser` (§5.8): answer Echo-Request with our Magic-Number; a request carrying our own is looped. */
  echoReply(p: CpPacket): CpPacket | undefined {
    if (p.kind !== 'echo' || p.code !== CpCode.EchoRequest) return undefined;
    if (this.st.ourMagic !== 0 && p.magic === this.st.ourMagic) return undefined;
    return { kind: 'echo', code: CpCode.EchoReply, identifier: p.identifier, magic: this.st.ourMagic, data: p.data };
  }

  /**
   * Proxy LCP (RFC 2661 §4.4.5): can we take the LAC's negotiation as ours? `ours` is what the LAC
   * sent the client (as if we had), `peers` what the client sent and the LAC acked.
   */
  acceptsProxy(ours: readonly CpOption[], peers: readonly CpOption[]): boolean {
    for (const o of peers) if (this.judge(o).verdict !== 'ack') return false;
    const auth = ours.find((o) => o.type === LcpOption.AuthProtocol);
    if (this.cfg.role === 'authenticator' && this.cfg.auth.length > 0) {
      const p = auth === undefined ? undefined : parseAuthOption(auth.data);
      if (p === undefined || !this.cfg.auth.includes(p)) return false;
    }
    for (const o of ours) {
      if (o.type === LcpOption.MRU && (o.data.length !== 2 || u16(o.data, 0) < 128)) return false;
      if (o.type === LcpOption.MagicNumber && (o.data.length !== 4 || u32(o.data, 0) === 0)) return false;
      if (!(Object.values(LcpOption) as number[]).includes(o.type) || o.type === LcpOption.QualityProtocol) return false;
    }
    return true;
  }

  /** Start keepalive on This-Layer-Up (the first Echo-Request jittered, see `echoJitter`). */
  opened(now: Instant): void {
    this.echoMisses = 0;
    this.echoOutstanding = false;
    this.echoBooked = false;
    this.heard = false;
    const iv = this.cfg.echoInterval;
    const spread = Math.max(this.cfg.echoJitter, FIRST_ECHO_SPREAD);
    this.echoDue = iv > 0 ? addDuration(now, (iv * (1 - spread * this.unit())) as Duration) : undefined;
    this.echoAt = this.echoDue;
  }

  /** Stop keepalive on This-Layer-Down. */
  closed(): void {
    this.echoAt = undefined;
    this.echoDue = undefined;
    this.offloaded = false;
  }

  /**
   * Hand the running keepalive to a data plane: what it needs to go on from where it stands, and
   * the timer here stops (`pollAt` undefined) until `resume`. Undefined when no keepalive runs.
   */
  offload(now: Instant, addressControl: boolean): LcpKeepalive | undefined {
    const due = this.echoDue;
    if (due === undefined || this.offloaded || this.cfg.echoInterval <= 0) return undefined;
    const k: LcpKeepalive = {
      magic: this.st.ourMagic,
      interval: this.cfg.echoInterval,
      failure: this.cfg.echoFailure,
      jitter: this.cfg.echoJitter,
      adaptive: this.cfg.echoAdaptive,
      firstDue: Math.max(0, due - now),
      misses: this.echoMisses,
      outstanding: this.echoOutstanding,
      echoId: this.echoId,
      addressControl,
    };
    this.offloaded = true;
    this.echoAt = undefined;
    this.echoDue = undefined;
    this.echoBooked = false;
    return k;
  }

  /** The data plane's keepalive stopped but the link stays up: ours runs again from a fresh due time. */
  resume(now: Instant): void {
    if (!this.offloaded) return;
    this.offloaded = false;
    this.opened(now);
  }

  /** Whether the keepalive runs in a data plane now. */
  get isOffloaded(): boolean {
    return this.offloaded;
  }

  /** Misses the data plane counted for this link (shown where ours are). */
  noteOffloadedMisses(n: number): void {
    if (this.offloaded) this.echoMisses = n;
  }

  /** Unanswered Echo-Requests in a row (0 once the peer is heard). */
  get misses(): number {
    return this.echoMisses;
  }

  /** A frame from the peer (data or control, not our own looped echo): the link is alive. */
  peerHeard(): void {
    this.heard = true;
  }

  /** An Echo-Reply arrived (in Opened): the peer is alive. */
  echoReplied(p: CpPacket): void {
    if (p.kind !== 'echo') return;
    // §6.4: a reply with our own Magic-Number is our request looped back; do not count it.
    if (this.st.ourMagic !== 0 && p.magic === this.st.ourMagic) return;
    this.echoOutstanding = false;
    this.echoMisses = 0;
  }

  /** Next keepalive instant. */
  pollAt(): Instant | undefined {
    return this.echoAt;
  }

  /**
   * Keepalive tick: a link that heard from the peer resets its misses (and, adaptive, sends
   * nothing); else the pacer may book the echo for a later window; else count a miss if the last
   * request is unanswered, then send the next one. Re-armed from the own due time, not `now`.
   */
  handleTimeout(now: Instant): void {
    if (this.echoAt === undefined || now < this.echoAt) return;
    const heard = this.heard;
    this.heard = false;
    if (heard) {
      this.echoOutstanding = false;
      this.echoMisses = 0;
      if (this.cfg.echoAdaptive) return this.rearm(now);
    }
    if (!this.echoBooked && this.pacer !== undefined) {
      const at = this.pacer.admit(now);
      if (at > now) {
        this.echoBooked = true;
        this.echoAt = at;
        return;
      }
    }
    this.echoBooked = false;
    if (this.echoOutstanding) {
      this.echoMisses++;
      const remaining = this.cfg.echoFailure - this.echoMisses;
      this.sink.echoMissed(remaining);
      if (remaining <= 0) {
        this.echoAt = undefined;
        this.echoDue = undefined;
        this.sink.fatal('echo-timeout');
        return;
      }
    }
    this.echoId = (this.echoId + 1) & 0xff;
    this.echoOutstanding = true;
    this.sink.send({ kind: 'echo', code: CpCode.EchoRequest, identifier: this.echoId, magic: this.st.ourMagic, data: new Uint8Array(0) });
    this.rearm(now);
  }

  /** Next due time = last due + interval ± jitter/2, skipping whole intervals missed in a stall. */
  private rearm(now: Instant): void {
    this.echoBooked = false;
    const iv = this.cfg.echoInterval;
    const base = this.echoDue ?? now;
    let next = base + iv + iv * this.cfg.echoJitter * (this.unit() - 0.5);
    if (next <= now) next += Math.ceil((now - next + 1) / iv) * iv;
    this.echoDue = next as Instant;
    this.echoAt = this.echoDue;
  }

  /** A uniform number in [0, 1) from the injected random source (0 without jitter, no draw). */
  private unit(): number {
    return this.cfg.echoJitter > 0 ? (this.random.u32() >>> 0) / 0x1_0000_0000 : 0;
  }
}
