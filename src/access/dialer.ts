/**
 * The LAC dialer: when a `[[lac]]` tunnel is dialled, kept up, redialled with backoff and hung
 * up, and how it follows its IPsec flow (RFC 3193 §4: the ESP SA first, L2TP only inside it).
 * Sans-I/O on the virtual clock (STYLE §1): the shell feeds tunnel and flow events with
 * `handle(now, input)`, calls `handleTimeout(now)` at `pollAt()`, and carries out the requests it
 * drains with `pollEvent()` (open a tunnel, place the calls, bring up or delete the IPsec SAs).
 *
 * Requests are never carried out inside `handle`: while any are queued `pollAt()` is the instant of
 * the input, so the one timer driver runs the shell's drain after the call that produced the input
 * has returned (a flow-up arrives while the IPsec gate is still installing the SA; opening the
 * tunnel from inside that call would re-enter the gate). A later input drops requests it made stale.
 *
 * Redial schedule (`redial = true`, "always-on"): the first redial 1 s after a loss, then 2, 4, 8,
 * 16, 32 s, then every 60 s; an established tunnel resets it, and so does an administrative dial.
 */
import { addDuration, millis, seconds, type Duration, type Instant, type Timed } from '../base/index.js';
import type { TunnelId } from '../wire/l2tp/index.js';

/** Where a dialer stands. */
export type DialerState = 'stopped' | 'ipsec-connecting' | 'connecting' | 'established' | 'waiting-redial';

/** Redial backoff: the first delay, doubled after every failed attempt up to `max`. */
export interface RedialBackoff {
  readonly initial: Duration;
  readonly max: Duration;
}

/** The documented schedule: 1 s doubling to 60 s. */
export const DEFAULT_REDIAL_BACKOFF: RedialBackoff = { initial: seconds(1), max: seconds(60) };

/** Settings of one dialer (one `[[lac]]`). */
export interface DialerConfig {
  /** Keep the tunnel up ("always-on"): redial after every loss; false = one attempt per dial. */
  readonly redial: boolean;
  /** The tunnel runs inside an IPsec flow that must be up before the SCCRQ (RFC 3193 §4). */
  readonly ipsec: boolean;
  /** Calls (ICRQ) to place once the tunnel is established. */
  readonly sessions: number;
  /** Default {@link DEFAULT_REDIAL_BACKOFF}. */
  readonly backoff?: RedialBackoff;
}

/** What the shell tells the dialer. */
export type DialerInput =
  /** Administrative dial (start-up, `l2tpctl dial`): dial now, backoff reset. */
  | { readonly type: 'dial' }
  /** Administrative hang-up (`l2tpctl hangup`): StopCCN and no redial until the next dial. */
  | { readonly type: 'hangup' }
  /** The shell opened the tunnel the last `open-tunnel` asked for; `tunnel` is its local id. */
  | { readonly type: 'tunnel-opened'; readonly tunnel: TunnelId }
  /** The engine's `tunnel-established` / `tunnel-closed` (any tunnel; others are ignored). */
  | { readonly type: 'tunnel-up'; readonly tunnel: TunnelId }
  | { readonly type: 'tunnel-down'; readonly tunnel: TunnelId }
  /** The IPsec gate's `flow-up` / `flow-down` for this LAC's server. */
  | { readonly type: 'flow-up'; readonly via: string }
  | { readonly type: 'flow-down'; readonly via: string }
  /** The IKE SA is gone (deleted, expired, Main Mode failed). */
  | { readonly type: 'ike-down' }
  /** A Quick Mode was refused or timed out on a live IKE SA: start over with a fresh IKE SA. */
  | { readonly type: 'ike-refused' }
  /** Daemon shutdown: stop for good, ask for nothing (the shell closes tunnels and SAs itself). */
  | { readonly type: 'shutdown' };

/** Requests for the shell and notices for the log, drained with `pollEvent()`. */
export type DialerEvent =
  /** Bring the IPsec flow up: Main Mode, or only a Quick Mode when the IKE SA is still up. */
  | { readonly type: 'request-flow' }
  /** Open the tunnel (inside flow `via` when set); answer with `tunnel-opened`. */
  | { readonly type: 'open-tunnel'; readonly via: string | undefined }
  /** Place `count` incoming calls (ICRQ) on the established tunnel. */
  | { readonly type: 'open-sessions'; readonly tunnel: TunnelId; readonly count: number }
  /** StopCCN for the tunnel (hang-up). */
  | { readonly type: 'close-tunnel'; readonly tunnel: TunnelId }
  /** Delete the IPsec SAs (D(ESP), D(ISAKMP)). */
  | { readonly type: 'close-ike' }
  /** A redial is due `after` from now (attempt n since the last established tunnel). */
  | { readonly type: 'redial-scheduled'; readonly after: Duration; readonly attempt: number }
  /** The state changed. */
  | { readonly type: 'state'; readonly from: DialerState; readonly to: DialerState };

/** Conditions a row may require (all must hold). */
type Guard = 'own-tunnel' | 'own-flow' | 'ipsec' | 'no-flow' | 'redial' | 'no-redial';

/** Steps a row runs, in order. */
type Step =
  | 'reset-backoff'
  | 'request-flow'
  | 'open-tunnel'
  | 'note-tunnel'
  | 'forget-tunnel'
  | 'open-sessions'
  | 'close-tunnel'
  | 'note-flow'
  | 'clear-flow'
  | 'close-ike'
  | 'schedule-redial'
  | 'halt';

/** One row: in `from`, on `on`, when every guard holds, go to `to` running `steps`. */
interface DialerRow {
  readonly from: readonly DialerState[];
  readonly on: DialerInput['type'] | 'redial-due';
  readonly when?: readonly Guard[];
  readonly to: DialerState | 'same';
  readonly steps: readonly Step[];
}

const ALL: readonly DialerState[] = ['stopped', 'ipsec-connecting', 'connecting', 'established', 'waiting-redial'];
const UP: readonly DialerState[] = ['connecting', 'established'];

/**
 * The dialer table; the first matching row wins, an input no row matches changes nothing.
 * RFC 3193 §4: with IPsec the flow comes first and the tunnel is opened in it; losing the flow
 * loses the tunnel (the gate closes it), so a flow-down counts as a tunnel loss.
 */
export const DIALER_TABLE: readonly DialerRow[] = [
  // Dial: administrative (backoff reset) or the redial timer.
  { from: ['stopped', 'waiting-redial'], on: 'dial', when: ['ipsec', 'no-flow'], to: 'ipsec-connecting', steps: ['reset-backoff', 'request-flow'] },
  { from: ['stopped', 'waiting-redial'], on: 'dial', to: 'connecting', steps: ['reset-backoff', 'open-tunnel'] },
  { from: ['waiting-redial'], on: 'redial-due', when: ['ipsec', 'no-flow'], to: 'ipsec-connecting', steps: ['request-flow'] },
  { from: ['waiting-redial'], on: 'redial-due', to: 'connecting', steps: ['open-tunnel'] },
  // The tunnel: opened, established (§7.2 SCCCN sent/received), closed.
  { from: ['connecting'], on: 'tunnel-opened', to: 'same', steps: ['note-tunnel'] },
  { from: ['connecting'], on: 'tunnel-up', when: ['own-tunnel'], to: 'established', steps: ['reset-backoff', 'open-sessions'] },
  { from: UP, on: 'tunnel-down', when: ['own-tunnel', 'redial'], to: 'waiting-redial', steps: ['forget-tunnel', 'schedule-redial'] },
  { from: UP, on: 'tunnel-down', when: ['own-tunnel', 'no-redial'], to: 'stopped', steps: ['forget-tunnel', 'close-ike'] },
  // The IPsec flow (RFC 3193 §4).
  { from: ['ipsec-connecting'], on: 'flow-up', to: 'connecting', steps: ['note-flow', 'open-tunnel'] },
  { from: ALL, on: 'flow-up', to: 'same', steps: ['note-flow'] },
  { from: UP, on: 'flow-down', when: ['own-flow', 'redial'], to: 'waiting-redial', steps: ['clear-flow', 'forget-tunnel', 'schedule-redial'] },
  { from: UP, on: 'flow-down', when: ['own-flow', 'no-redial'], to: 'stopped', steps: ['clear-flow', 'forget-tunnel', 'close-ike'] },
  // Hung up: the ESP SA went after the gate's grace; the IKE SA goes with it.
  { from: ['stopped'], on: 'flow-down', when: ['own-flow'], to: 'same', steps: ['clear-flow', 'close-ike'] },
  { from: ALL, on: 'flow-down', when: ['own-flow'], to: 'same', steps: ['clear-flow'] },
  { from: ['ipsec-connecting'], on: 'ike-down', when: ['no-flow', 'redial'], to: 'waiting-redial', steps: ['schedule-redial'] },
  { from: ['ipsec-connecting'], on: 'ike-down', when: ['no-flow', 'no-redial'], to: 'stopped', steps: [] },
  { from: ['ipsec-connecting'], on: 'ike-refused', when: ['no-flow'], to: 'same', steps: ['close-ike'] },
  // Administrative hang-up: StopCCN now; without a tunnel the SAs go at once.
  { from: UP, on: 'hangup', to: 'stopped', steps: ['close-tunnel', 'forget-tunnel'] },
  { from: ['ipsec-connecting', 'waiting-redial'], on: 'hangup', to: 'stopped', steps: ['close-ike'] },
  { from: ALL, on: 'shutdown', to: 'stopped', steps: ['forget-tunnel', 'halt'] },
];

/** A read-only view for show commands. */
export interface DialerInfo {
  readonly state: DialerState;
  readonly tunnel: TunnelId | undefined;
  readonly via: string | undefined;
  readonly redialAt: Instant | undefined;
  /** Redials since the last established tunnel. */
  readonly attempts: number;
}

/** One LAC's dial/redial automaton. */
export class Dialer implements Timed {
  private st: DialerState = 'stopped';
  private tunnelId: TunnelId | undefined;
  private via: string | undefined;
  private redialAt: Instant | undefined;
  private delay: Duration;
  private attempts = 0;
  private halted = false;
  /** The instant of the input that queued the oldest pending event (pollAt while events wait). */
  private pendingSince: Instant | undefined;
  private readonly events: DialerEvent[] = [];
  private readonly backoff: RedialBackoff;

  /** A stopped dialer; nothing happens until `dial`. */
  constructor(private readonly config: DialerConfig) {
    this.backoff = config.backoff ?? DEFAULT_REDIAL_BACKOFF;
    this.delay = this.backoff.initial;
  }

  /** The current state. */
  get state(): DialerState {
    return this.st;
  }

  /** The local id of the tunnel this dialer opened (until it is closed). */
  get tunnel(): TunnelId | undefined {
    return this.tunnelId;
  }

  /** State, tunnel, flow and the next redial. */
  info(): DialerInfo {
    return { state: this.st, tunnel: this.tunnelId, via: this.via, redialAt: this.redialAt, attempts: this.attempts };
  }

  /** Feed one input (see {@link DIALER_TABLE}). */
  handle(now: Instant, input: DialerInput): void {
    this.step(now, input.type, input);
  }

  /** The redial timer. */
  handleTimeout(now: Instant): void {
    if (this.redialAt !== undefined && this.redialAt <= now) this.step(now, 'redial-due', undefined);
  }

  /** Now-ish while requests wait to be drained, else the next redial. */
  pollAt(): Instant | undefined {
    return this.pendingSince ?? this.redialAt;
  }

  /** The next request or notice. */
  pollEvent(): DialerEvent | undefined {
    const e = this.events.shift();
    if (this.events.length === 0) this.pendingSince = undefined;
    return e;
  }

  private step(now: Instant, on: DialerRow['on'], input: DialerInput | undefined): void {
    if (this.halted) return;
    const row = DIALER_TABLE.find((r) => r.on === on && r.from.includes(this.st) && (r.when ?? []).every((g) => this.holds(g, input)));
    if (row === undefined) return;
    const from = this.st;
    if (row.to !== 'same') this.st = row.to;
    if (this.st !== 'waiting-redial') this.redialAt = undefined;
    for (const s of row.steps) this.run(now, s, input);
    this.prune();
    if (this.st !== from) this.emit(now, { type: 'state', from, to: this.st });
  }

  /** Drop queued requests a later input made stale (a flow-down before the tunnel was opened...). */
  private prune(): void {
    const keep = (e: DialerEvent): boolean => {
      switch (e.type) {
        case 'request-flow':
          return this.st === 'ipsec-connecting';
        case 'open-tunnel':
          return this.st === 'connecting' && this.tunnelId === undefined && e.via === this.via;
        case 'open-sessions':
          return this.st === 'established' && e.tunnel === this.tunnelId;
        default:
          return true;
      }
    };
    if (this.events.every(keep)) return;
    const kept = this.events.filter(keep);
    this.events.length = 0;
    this.events.push(...kept);
    if (kept.length === 0) this.pendingSince = undefined;
  }

  private holds(g: Guard, input: DialerInput | undefined): boolean {
    switch (g) {
      case 'own-tunnel':
        return input !== undefined && 'tunnel' in input && this.tunnelId !== undefined && input.tunnel === this.tunnelId;
      case 'own-flow':
        return input !== undefined && 'via' in input && this.via !== undefined && input.via === this.via;
      case 'ipsec':
        return this.config.ipsec;
      case 'no-flow':
        return this.via === undefined;
      case 'redial':
        return this.config.redial;
      case 'no-redial':
        return !this.config.redial;
    }
  }

  private run(now: Instant, s: Step, input: DialerInput | undefined): void {
    switch (s) {
      case 'reset-backoff':
        this.delay = this.backoff.initial;
        this.attempts = 0;
        return;
      case 'request-flow':
        this.emit(now, { type: 'request-flow' });
        return;
      case 'open-tunnel':
        this.tunnelId = undefined;
        this.emit(now, { type: 'open-tunnel', via: this.via });
        return;
      case 'note-tunnel':
        if (input?.type === 'tunnel-opened') this.tunnelId = input.tunnel;
        return;
      case 'forget-tunnel':
        this.tunnelId = undefined;
        return;
      case 'open-sessions':
        if (this.tunnelId !== undefined && this.config.sessions > 0) this.emit(now, { type: 'open-sessions', tunnel: this.tunnelId, count: this.config.sessions });
        return;
      case 'close-tunnel':
        if (this.tunnelId !== undefined) this.emit(now, { type: 'close-tunnel', tunnel: this.tunnelId });
        return;
      case 'note-flow':
        if (input?.type === 'flow-up') this.via = input.via;
        return;
      case 'clear-flow':
        this.via = undefined;
        return;
      case 'close-ike':
        if (this.config.ipsec) this.emit(now, { type: 'close-ike' });
        return;
      case 'schedule-redial':
        this.attempts++;
        this.redialAt = addDuration(now, this.delay);
        this.emit(now, { type: 'redial-scheduled', after: this.delay, attempt: this.attempts });
        this.delay = millis(Math.min(this.delay * 2, this.backoff.max));
        return;
      case 'halt':
        this.halted = true;
        this.redialAt = undefined;
        return;
    }
  }

  private emit(now: Instant, e: DialerEvent): void {
    this.events.push(e);
    this.pendingSince ??= now;
  }
}
