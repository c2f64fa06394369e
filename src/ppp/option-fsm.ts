/**
 * The one generic option-negotiation automaton of RFC 1661 §4, shared by LCP, IPCP and IPV6CP
 * (STYLE §7). All ten states, all sixteen events, the thirteen actions, the Restart timer and the
 * Max-Terminate / Max-Configure / Max-Failure counters (§4.6). Protocols only judge options through
 * `OptionHandler`; this file owns sequencing, identifiers, retransmission and the state table.
 * Sans-I/O: time comes in as `now`, packets go out through `FsmOutput.send`.
 */
import { addDuration, bytesEqual, type Duration, type Instant, seconds } from '../base/index.js';
import { type CpOption, type CpPacket, CpCode } from '../wire/ppp/index.js';

/** RFC 1661 §4.2 states, in the RFC's numbering order 0..9. */
export const FSM_STATES = ['Initial', 'Starting', 'Closed', 'Stopped', 'Closing', 'Stopping', 'Req-Sent', 'Ack-Rcvd', 'Ack-Sent', 'Opened'] as const;
/** An automaton state. */
export type FsmState = (typeof FSM_STATES)[number];

/** RFC 1661 §4.3 events, in the RFC's row order. */
export const FSM_EVENTS = ['Up', 'Down', 'Open', 'Close', 'TO+', 'TO-', 'RCR+', 'RCR-', 'RCA', 'RCN', 'RTR', 'RTA', 'RUC', 'RXJ+', 'RXJ-', 'RXR'] as const;
/** An automaton event. */
export type FsmEvent = (typeof FSM_EVENTS)[number];

/** RFC 1661 §4.4 actions. */
export type FsmAction = 'tlu' | 'tld' | 'tls' | 'tlf' | 'irc' | 'zrc' | 'scr' | 'sca' | 'scn' | 'str' | 'sta' | 'scj' | 'ser';

/** One cell of the table: actions then the new state; `note` is the RFC footnote letter (r, x, p). */
export interface FsmTransition {
  readonly actions: readonly FsmAction[];
  readonly next: FsmState;
  readonly note?: 'r' | 'x' | 'p';
}

const c = (next: FsmState, actions: readonly FsmAction[] = [], note?: 'r' | 'x' | 'p'): FsmTransition =>
  note === undefined ? { actions, next } : { actions, next, note };
/** '-' in the RFC: an illegal transition, ignored. */
const X = null;

/**
 * RFC 1661 §4.1 state transition table, one row per event as in the RFC, columns in state order
 * Initial, Starting, Closed, Stopped, Closing, Stopping, Req-Sent, Ack-Rcvd, Ack-Sent, Opened.
 * Checked cell by cell against docs/ppp-fsm.md by option-fsm-doc.test.ts.
 */
export const FSM_TABLE: Readonly<Record<FsmEvent, readonly (FsmTransition | null)[]>> = {
  Up: [c('Closed'), c('Req-Sent', ['irc', 'scr']), X, X, X, X, X, X, X, X],
  Down: [X, X, c('Initial'), c('Starting', ['tls']), c('Initial'), c('Starting'), c('Starting'), c('Starting'), c('Starting'), c('Starting', ['tld'])],
  Open: [c('Starting', ['tls']), c('Starting'), c('Req-Sent', ['irc', 'scr']), c('Stopped', [], 'r'), c('Stopping', [], 'r'), c('Stopping', [], 'r'), c('Req-Sent'), c('Ack-Rcvd'), c('Ack-Sent'), c('Opened', [], 'r')],
  Close: [c('Initial'), c('Initial', ['tlf']), c('Closed'), c('Closed'), c('Closing'), c('Closing'), c('Closing', ['irc', 'str']), c('Closing', ['irc', 'str']), c('Closing', ['irc', 'str']), c('Closing', ['tld', 'irc', 'str'])],
  'TO+': [X, X, X, X, c('Closing', ['str']), c('Stopping', ['str']), c('Req-Sent', ['scr']), c('Req-Sent', ['scr']), c('Ack-Sent', ['scr']), X],
  'TO-': [X, X, X, X, c('Closed', ['tlf']), c('Stopped', ['tlf']), c('Stopped', ['tlf'], 'p'), c('Stopped', ['tlf'], 'p'), c('Stopped', ['tlf'], 'p'), X],
  'RCR+': [X, X, c('Closed', ['sta']), c('Ack-Sent', ['irc', 'scr', 'sca']), c('Closing'), c('Stopping'), c('Ack-Sent', ['sca']), c('Opened', ['sca', 'tlu']), c('Ack-Sent', ['sca']), c('Ack-Sent', ['tld', 'scr', 'sca'])],
  'RCR-': [X, X, c('Closed', ['sta']), c('Req-Sent', ['irc', 'scr', 'scn']), c('Closing'), c('Stopping'), c('Req-Sent', ['scn']), c('Ack-Rcvd', ['scn']), c('Req-Sent', ['scn']), c('Req-Sent', ['tld', 'scr', 'scn'])],
  RCA: [X, X, c('Closed', ['sta']), c('Stopped', ['sta']), c('Closing'), c('Stopping'), c('Ack-Rcvd', ['irc']), c('Req-Sent', ['scr'], 'x'), c('Opened', ['irc', 'tlu']), c('Req-Sent', ['tld', 'scr'], 'x')],
  RCN: [X, X, c('Closed', ['sta']), c('Stopped', ['sta']), c('Closing'), c('Stopping'), c('Req-Sent', ['irc', 'scr']), c('Req-Sent', ['scr'], 'x'), c('Ack-Sent', ['irc', 'scr']), c('Req-Sent', ['tld', 'scr'], 'x')],
  RTR: [X, X, c('Closed', ['sta']), c('Stopped', ['sta']), c('Closing', ['sta']), c('Stopping', ['sta']), c('Req-Sent', ['sta']), c('Req-Sent', ['sta']), c('Req-Sent', ['sta']), c('Stopping', ['tld', 'zrc', 'sta'])],
  RTA: [X, X, c('Closed'), c('Stopped'), c('Closed', ['tlf']), c('Stopped', ['tlf']), c('Req-Sent'), c('Req-Sent'), c('Ack-Sent'), c('Req-Sent', ['tld', 'scr'])],
  RUC: [X, X, c('Closed', ['scj']), c('Stopped', ['scj']), c('Closing', ['scj']), c('Stopping', ['scj']), c('Req-Sent', ['scj']), c('Ack-Rcvd', ['scj']), c('Ack-Sent', ['scj']), c('Opened', ['scj'])],
  'RXJ+': [X, X, c('Closed'), c('Stopped'), c('Closing'), c('Stopping'), c('Req-Sent'), c('Req-Sent'), c('Ack-Sent'), c('Opened')],
  'RXJ-': [X, X, c('Closed', ['tlf']), c('Stopped', ['tlf']), c('Closed', ['tlf']), c('Stopped', ['tlf']), c('Stopped', ['tlf']), c('Stopped', ['tlf']), c('Stopped', ['tlf']), c('Stopping', ['tld', 'irc', 'str'])],
  RXR: [X, X, c('Closed'), c('Stopped'), c('Closing'), c('Stopping'), c('Req-Sent'), c('Ack-Rcvd'), c('Ack-Sent'), c('Opened', ['ser'])],
};

/** Look a cell up. */
export function fsmTransition(state: FsmState, event: FsmEvent): FsmTransition | null {
  return FSM_TABLE[event][FSM_STATES.indexOf(state)] ?? null;
}

/** A protocol's judgement of one option the peer requested (RFC 1661 §5.2-§5.4). */
export type OptionVerdict =
  | { readonly verdict: 'ack' }
  | { readonly verdict: 'nak'; readonly data: Uint8Array }
  | { readonly verdict: 'reject' };

/** What LCP / IPCP / IPV6CP supply: option judgements only. */
export interface OptionHandler {
  /** Options for our next Configure-Request. */
  buildRequest(): readonly CpOption[];
  /** Judge one option of the peer's Configure-Request. Must not change state (it may be re-run). */
  judge(option: CpOption, all: readonly CpOption[]): OptionVerdict;
  /** Options not in the request that we want the peer to add (appended to a Nak, RFC 1661 §5.3). */
  missing?(received: readonly CpOption[]): readonly CpOption[];
  /** The peer acknowledged our request `sent` (RCA). */
  applyAck(sent: readonly CpOption[]): void;
  /** The peer Nak'd these options of our request: adjust the next `buildRequest`. */
  applyNak(options: readonly CpOption[]): void;
  /** The peer rejected these options: stop requesting them. */
  applyReject(options: readonly CpOption[]): void;
  /** We sent a Configure-Ack for the peer's options: record its settings. */
  applyPeerAck(options: readonly CpOption[]): void;
  /** A Code-Reject of `code`: true = catastrophic (RXJ-). Default: codes 1..7 (RFC 1661 §5.6). */
  isCatastrophicReject?(code: number): boolean;
  /** Build the answer for an RXR packet in Opened (`ser`: Echo-Reply for an Echo-Request). */
  echoReply?(p: CpPacket): CpPacket | undefined;
}

/** Layer signals of RFC 1661 §4.4 that the owner acts on. */
export type LayerSignal = 'tlu' | 'tld' | 'tls' | 'tlf';

/** Where the automaton puts its output. */
export interface FsmOutput {
  /** Send a packet of this control protocol; `from` is the automaton's name (one output may serve several). */
  send(p: CpPacket, from: string): void;
  /** This-Layer-Up / -Down / -Started / -Finished of the automaton named `from`. */
  layer(signal: LayerSignal, now: Instant, from: string): void;
}

/** RFC 1661 §4.6 counters and timer. */
export interface FsmConfig {
  /** Restart timer (default 3 s). */
  readonly restartTimer: Duration;
  /** Max-Terminate (default 2). */
  readonly maxTerminate: number;
  /** Max-Configure (default 10). */
  readonly maxConfigure: number;
  /** Max-Failure (default 5): further Naks become Rejects. */
  readonly maxFailure: number;
}

/** RFC 1661 §4.6 defaults. */
export const DEFAULT_FSM_CONFIG: FsmConfig = { restartTimer: seconds(3), maxTerminate: 2, maxConfigure: 10, maxFailure: 5 };

/** A record of one transition, for tests and debug logs. */
export interface FsmStep {
  readonly event: FsmEvent;
  readonly from: FsmState;
  readonly to: FsmState;
  readonly actions: readonly FsmAction[];
}

const defaultCatastrophic = (code: number): boolean => code >= 1 && code <= 7;

/** What `forceOpened` does (L2TP proxy LCP): straight to Opened. */
const FORCED_ACTIONS: readonly FsmAction[] = ['tlu'];

/** Merged configs by the caller's partial config: every link of one server shares one object. */
const MERGED = new WeakMap<Partial<FsmConfig>, FsmConfig>();
function fsmConfig(cfg: Partial<FsmConfig> | undefined): FsmConfig {
  if (cfg === undefined) return DEFAULT_FSM_CONFIG;
  let m = MERGED.get(cfg);
  if (m === undefined) MERGED.set(cfg, (m = { ...DEFAULT_FSM_CONFIG, ...cfg }));
  return m;
}

/** The generic automaton. */
export class OptionFsm {
  private st: FsmState = 'Initial';
  private restartCount = 0;
  private failures = 0;
  private timer: Instant | undefined;
  private nextId = 1;
  private lastRequest: { readonly id: number; readonly options: readonly CpOption[] } | undefined;
  private readonly cfg: FsmConfig;
  // The last transition taken, as two fields (an object per step was ~56 B on every idle link).
  private lastEvent: FsmEvent | undefined;
  private lastFrom: FsmState = 'Initial';
  private lastForced = false;

  /** `name` is for diagnostics only. */
  constructor(
    readonly name: string,
    private readonly handler: OptionHandler,
    private readonly out: FsmOutput,
    cfg?: Partial<FsmConfig>,
  ) {
    this.cfg = fsmConfig(cfg);
  }

  /** The last transition taken (for diagnostics and link-down reasons). */
  get lastStep(): FsmStep | undefined {
    const event = this.lastEvent;
    if (event === undefined) return undefined;
    const actions = this.lastForced ? FORCED_ACTIONS : (fsmTransition(this.lastFrom, event)?.actions ?? []);
    return { event, from: this.lastFrom, to: this.st, actions };
  }

  private step(event: FsmEvent, from: FsmState, forced: boolean): void {
    this.lastEvent = event;
    this.lastFrom = from;
    this.lastForced = forced;
  }

  /** Current state. */
  get state(): FsmState {
    return this.st;
  }

  /** When the Restart timer fires, if running. */
  pollAt(): Instant | undefined {
    return this.timer;
  }

  /** Restart timer expiry: TO+ while the counter is positive, else TO- (RFC 1661 §4.3). */
  handleTimeout(now: Instant): void {
    if (this.timer === undefined || now < this.timer) return;
    this.timer = undefined;
    this.run(now, this.restartCount > 0 ? 'TO+' : 'TO-', {});
  }

  /** Lower layer is Up. */
  up(now: Instant): void {
    this.run(now, 'Up', {});
  }
  /** Lower layer is Down. */
  down(now: Instant): void {
    this.run(now, 'Down', {});
  }
  /** Administrative Open. */
  open(now: Instant): void {
    this.run(now, 'Open', {});
  }
  /** Administrative Close. */
  close(now: Instant): void {
    this.run(now, 'Close', {});
  }
  /** Our protocol was Protocol-Rejected by the peer (RFC 1661 §5.7: RXJ-). */
  protocolRejected(now: Instant): void {
    this.run(now, 'RXJ-', {});
  }

  /**
   * Jump straight to Opened with already-agreed options (L2TP proxy LCP, RFC 2661 §4.4.5): runs
   * applyAck/applyPeerAck and tlu, as if the negotiation had just completed.
   */
  forceOpened(now: Instant, ours: readonly CpOption[], peers: readonly CpOption[]): void {
    this.handler.applyAck(ours);
    this.handler.applyPeerAck(peers);
    this.timer = undefined;
    this.step('RCA', this.st, true);
    this.st = 'Opened';
    this.out.layer('tlu', now, this.name);
  }

  /** Feed a received packet of this protocol; `raw` is the packet bytes (for Code-Reject). */
  receive(now: Instant, p: CpPacket, raw: Uint8Array): void {
    switch (p.kind) {
      case 'configure':
        if (p.code === CpCode.ConfigureRequest) return this.receiveRequest(now, p.identifier, p.options);
        // RFC 1661 §5.2-§5.4: a reply must match our last request's Identifier, else discard.
        if (this.lastRequest === undefined || p.identifier !== this.lastRequest.id) return;
        if (p.code === CpCode.ConfigureAck) {
          // §5.2: the Ack'd options must be exactly those we sent.
          if (!sameOptions(p.options, this.lastRequest.options)) return;
          const sent = this.lastRequest.options;
          this.lastRequest = undefined;
          if (this.st === 'Req-Sent' || this.st === 'Ack-Sent') this.handler.applyAck(sent);
          return this.run(now, 'RCA', { id: p.identifier });
        }
        this.lastRequest = undefined;
        if (this.st === 'Req-Sent' || this.st === 'Ack-Rcvd' || this.st === 'Ack-Sent' || this.st === 'Opened') {
          if (p.code === CpCode.ConfigureNak) this.handler.applyNak(p.options);
          else this.handler.applyReject(p.options);
        }
        return this.run(now, 'RCN', { id: p.identifier });
      case 'terminate':
        return this.run(now, p.code === CpCode.TerminateRequest ? 'RTR' : 'RTA', { id: p.identifier });
      case 'code-reject': {
        const rejected = p.rejected[0] ?? 0;
        const bad = (this.handler.isCatastrophicReject ?? defaultCatastrophic)(rejected);
        return this.run(now, bad ? 'RXJ-' : 'RXJ+', { id: p.identifier });
      }
      case 'protocol-reject':
        // The owner (LCP) routes Protocol-Reject; here it only counts as a permitted reject.
        return this.run(now, 'RXJ+', { id: p.identifier });
      case 'echo':
        return this.run(now, 'RXR', { id: p.identifier, packet: p });
      case 'unknown':
        return this.run(now, 'RUC', { id: p.identifier, raw });
    }
  }

  private receiveRequest(now: Instant, id: number, options: readonly CpOption[]): void {
    const rejects: CpOption[] = [];
    const naks: CpOption[] = [];
    for (const o of options) {
      const v = this.handler.judge(o, options);
      if (v.verdict === 'reject') rejects.push(o);
      else if (v.verdict === 'nak') naks.push({ type: o.type, data: v.data });
    }
    let reply: CpPacket;
    if (rejects.length === 0 && naks.length === 0) {
      const extra = this.handler.missing?.(options) ?? [];
      if (extra.length > 0 && this.failures < this.cfg.maxFailure) naks.push(...extra);
    }
    if (rejects.length > 0) reply = { kind: 'configure', code: CpCode.ConfigureReject, identifier: id, options: rejects };
    else if (naks.length > 0 && this.failures >= this.cfg.maxFailure) {
      // RFC 1661 §4.6 Max-Failure: convert Naks of received options into a Reject.
      const nakTypes = new Set(naks.map((n) => n.type));
      const conv = options.filter((o) => nakTypes.has(o.type));
      reply =
        conv.length > 0
          ? { kind: 'configure', code: CpCode.ConfigureReject, identifier: id, options: conv }
          : { kind: 'configure', code: CpCode.ConfigureAck, identifier: id, options };
    } else if (naks.length > 0) reply = { kind: 'configure', code: CpCode.ConfigureNak, identifier: id, options: naks };
    else reply = { kind: 'configure', code: CpCode.ConfigureAck, identifier: id, options };
    const good = reply.kind === 'configure' && reply.code === CpCode.ConfigureAck;
    this.run(now, good ? 'RCR+' : 'RCR-', { id, reply, options });
  }

  private run(
    now: Instant,
    event: FsmEvent,
    ctx: { id?: number; reply?: CpPacket; options?: readonly CpOption[]; packet?: CpPacket; raw?: Uint8Array },
  ): void {
    const t = fsmTransition(this.st, event);
    if (t === null) return; // RFC 1661 §4.1 '-': illegal event in this state; ignore.
    const from = this.st;
    this.step(event, from, false);
    // The restart counter is set for the action that follows irc (§4.4: Max-Terminate before str).
    const terminating = t.actions.includes('str');
    this.st = t.next;
    for (const a of t.actions) {
      switch (a) {
        case 'irc':
          this.restartCount = terminating ? this.cfg.maxTerminate : this.cfg.maxConfigure;
          this.failures = 0;
          break;
        case 'zrc':
          // §4.4 zrc: counter to zero; the timer still runs one period (Stopping, then TO-).
          this.restartCount = 0;
          this.timer = addDuration(now, this.cfg.restartTimer);
          break;
        case 'scr': {
          const options = this.handler.buildRequest();
          const id = this.allocId();
          this.lastRequest = { id, options };
          this.restartCount--;
          this.timer = addDuration(now, this.cfg.restartTimer);
          this.out.send({ kind: 'configure', code: CpCode.ConfigureRequest, identifier: id, options }, this.name);
          break;
        }
        case 'sca':
          if (ctx.reply !== undefined) {
            this.failures = 0;
            if (ctx.reply.kind === 'configure') this.handler.applyPeerAck(ctx.reply.options);
            this.out.send(ctx.reply, this.name);
          }
          break;
        case 'scn':
          if (ctx.reply !== undefined) {
            if (ctx.reply.kind === 'configure' && ctx.reply.code === CpCode.ConfigureNak) this.failures++;
            this.out.send(ctx.reply, this.name);
          }
          break;
        case 'str':
          this.restartCount--;
          this.timer = addDuration(now, this.cfg.restartTimer);
          this.out.send({ kind: 'terminate', code: CpCode.TerminateRequest, identifier: this.allocId(), data: new Uint8Array(0) }, this.name);
          break;
        case 'sta':
          this.out.send({ kind: 'terminate', code: CpCode.TerminateAck, identifier: ctx.id ?? this.allocId(), data: new Uint8Array(0) }, this.name);
          break;
        case 'scj':
          if (ctx.raw !== undefined)
            this.out.send({ kind: 'code-reject', code: CpCode.CodeReject, identifier: this.allocId(), rejected: ctx.raw }, this.name);
          break;
        case 'ser': {
          const reply = ctx.packet !== undefined ? this.handler.echoReply?.(ctx.packet) : undefined;
          if (reply !== undefined) this.out.send(reply, this.name);
          break;
        }
        case 'tlu':
        case 'tld':
        case 'tls':
        case 'tlf':
          this.out.layer(a, now, this.name);
          break;
      }
    }
    // §4.2: the Restart timer runs only in Closing, Stopping, Req-Sent, Ack-Rcvd and Ack-Sent.
    if (!timerStates.has(this.st)) this.timer = undefined;
  }

  private allocId(): number {
    const id = this.nextId;
    this.nextId = (this.nextId + 1) & 0xff;
    return id;
  }
}

const timerStates: ReadonlySet<FsmState> = new Set(['Closing', 'Stopping', 'Req-Sent', 'Ack-Rcvd', 'Ack-Sent']);

/** Option lists are equal in order, type and data. */
export function sameOptions(a: readonly CpOption[], b: readonly CpOption[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined || x.type !== y.type || !bytesEqual(x.data, y.data)) return false;
  }
  return true;
}
