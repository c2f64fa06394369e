/**
 * The AAA part of the LNS, per session and sans-I/O: the session's RADIUS identity (Acct-Session-Id,
 * NAS-Port, the RFC 2868 attributes of the incoming tunnel, as Junos sends them), its timers
 * (Session-Timeout and Idle-Timeout RFC 2865 §5.27-28, Interim-Update RFC 2869 §5.16 with
 * jitter), its accounting records (RFC 2866 Start / Interim-Update / Stop, counters read from the
 * session's live data-path counters at the instant of the record, never per packet), and the
 * RFC 5176 session table (find, change) the Dynamic Authorization server acts on.
 *
 * The access server owns one instance and calls it at the points of a session's life (`open`,
 * `authorize`, `loggedIn`, `close`); the records come back as return values for its event queue.
 * Timers: one deadline heap keyed by session, `pollAt()` / `handleTimeout(now)` like every core.
 */
import { addDuration, DeadlineHeap, type Duration, earliest, formatIpv4, type Instant, parseIpv4, prefix64Bytes, type RandomSource, seconds } from '../../base/index.js';
import { interimDelayMs, type AccountingRecord, type AcctStatus, type CoaChanges, type DaeActionResult, type DaeSessionIdentity, type SessionAttributes } from '../../aaa/radius/index.js';
import { ACCT_AUTHENTIC, NAS_PORT_TYPE, TUNNEL_MEDIUM_TYPE, TUNNEL_TYPE } from '../../wire/radius/index.js';
import type { CloseReason, PeerAddress } from '../../l2tp/index.js';
import type { SessionId, TunnelId } from '../../wire/l2tp/index.js';
import type { AccessEndReason } from '../disconnect.js';
import { terminateCause } from './terminate-cause.js';
import { NO_AUTHORIZATION, type AccessAaaConfig, type AuthSource, type SessionAuthorization } from './types.js';

/** The live per-session counters the data path keeps (`AccessCounters`). */
export interface LiveCounters {
  readonly rxPackets: number;
  readonly rxOctets: number;
  readonly txPackets: number;
  readonly txOctets: number;
}

/** What the AAA part reads of a session at record time (the access server's session record). */
export interface AaaSessionView {
  readonly key: number;
  readonly tunnel: TunnelId;
  readonly session: SessionId;
  readonly counters: LiveCounters;
  readonly username: string | undefined;
  /** The IPv4 address IPCP agreed (kept after ip-down). */
  readonly lastIpv4: number | undefined;
  readonly prefix64: bigint | undefined;
  readonly loggedInAt: Instant | undefined;
}

/** The L2TP call a session came in on (tunnel-established / session-established events). */
export interface CallInfo {
  /** The LAC's address (Tunnel-Client-Endpoint). */
  readonly peer?: PeerAddress;
  /** The LAC's Host Name (Tunnel-Client-Auth-Id). */
  readonly remoteHostName?: string;
  readonly callingNumber?: string;
  readonly calledNumber?: string;
}

/** A session timer ran out. */
export interface AaaExpiry {
  readonly key: number;
  readonly reason: 'session-timeout' | 'idle-timeout';
}

interface State {
  readonly view: AaaSessionView;
  readonly acctSessionId: string;
  readonly attributes: SessionAttributes;
  authorization: SessionAuthorization;
  authentic: number | undefined;
  sessionDeadline: Instant | undefined;
  idleMs: Duration | undefined;
  idleCheckAt: Instant | undefined;
  lastActivity: Instant;
  lastPackets: number;
  interimMs: Duration | undefined;
  nextInterimAt: Instant | undefined;
  started: boolean;
  scheduled: Instant | undefined;
}

const DEFAULT_INTERIM_MINIMUM = seconds(60);
const packetsOf = (c: LiveCounters): number => c.rxPackets + c.txPackets;

/** The AAA part of one access server. */
export class AccessAaa {
  private readonly states = new Map<number, State>();
  private readonly byAcctId = new Map<string, State>();
  private readonly timers = new DeadlineHeap();
  private nextId = 1;

  constructor(
    private readonly cfg: AccessAaaConfig,
    private readonly random: RandomSource,
  ) {}

  /** A new session (L2TP session established): its Acct-Session-Id, NAS-Port and tunnel attributes. */
  open(now: Instant, view: AaaSessionView, call: CallInfo): void {
    const acctSessionId = `${this.cfg.sessionIdPrefix}${(this.nextId++).toString(16).padStart(8, '0')}`;
    const srv = this.cfg.tunnelServer;
    const peer = call.peer;
    const attributes: SessionAttributes = {
      // NAS-Port: tunnel and session id in one 32-bit number, unique while the session lives.
      nasPort: view.key >>> 0,
      nasPortId: `${view.tunnel}/${view.session}`,
      nasPortType: NAS_PORT_TYPE.Virtual,
      ...(call.callingNumber !== undefined && call.callingNumber !== '' ? { callingStationId: call.callingNumber } : {}),
      ...(call.calledNumber !== undefined && call.calledNumber !== '' ? { calledStationId: call.calledNumber } : {}),
      acctSessionId,
      // RFC 2868 §3 / RFC 2867 §4.1: the incoming tunnel (64, 65, 66, 67, 68, 82, 90, 91).
      tunnel: [
        {
          type: TUNNEL_TYPE.L2tp,
          mediumType: peer?.family === 6 ? TUNNEL_MEDIUM_TYPE.Ipv6 : TUNNEL_MEDIUM_TYPE.Ipv4,
          ...(peer !== undefined ? { clientEndpoint: peer.address } : {}),
          ...(srv?.endpoint !== undefined ? { serverEndpoint: srv.endpoint } : {}),
          connectionId: `${view.tunnel}/${view.session}`,
          assignmentId: String(view.tunnel),
          ...(call.remoteHostName !== undefined && call.remoteHostName !== '' ? { clientAuthId: call.remoteHostName } : {}),
          ...(srv?.hostName !== undefined ? { serverAuthId: srv.hostName } : {}),
        },
      ],
    };
    const st: State = {
      view,
      acctSessionId,
      attributes,
      authorization: NO_AUTHORIZATION,
      authentic: undefined,
      sessionDeadline: undefined,
      idleMs: undefined,
      idleCheckAt: undefined,
      lastActivity: now,
      lastPackets: 0,
      interimMs: undefined,
      nextInterimAt: undefined,
      started: false,
      scheduled: undefined,
    };
    this.states.set(view.key, st);
    this.byAcctId.set(acctSessionId, st);
  }

  /** The RADIUS attributes of a session (for its Access-Request). */
  attributes(key: number): SessionAttributes | undefined {
    return this.states.get(key)?.attributes;
  }

  /** The Acct-Session-Id of a session. */
  acctSessionId(key: number): string | undefined {
    return this.states.get(key)?.acctSessionId;
  }

  /** Authentication succeeded: keep the authorization, arm Session-Timeout and Idle-Timeout from now. */
  authorize(now: Instant, key: number, authorization: SessionAuthorization, source: AuthSource): void {
    const st = this.states.get(key);
    if (st === undefined) return;
    st.authorization = authorization;
    st.authentic = source === 'radius' ? ACCT_AUTHENTIC.Radius : ACCT_AUTHENTIC.Local;
    if (authorization.sessionTimeout !== undefined) st.sessionDeadline = addDuration(now, authorization.sessionTimeout);
    if (authorization.idleTimeout !== undefined) this.setIdle(now, st, authorization.idleTimeout);
    this.schedule(st);
  }

  /** The first NCP came up: the Start record (once), and the first Interim-Update armed. */
  loggedIn(now: Instant, key: number): AccountingRecord | undefined {
    const st = this.states.get(key);
    if (st === undefined || st.started || !this.cfg.accounting) return undefined;
    st.started = true;
    this.setInterim(now, st, st.authorization.interimInterval ?? this.cfg.interimInterval);
    this.schedule(st);
    return this.record(now, st, 'start');
  }

  /** The session is gone: its Stop record when a Start was sent; the session is forgotten. */
  close(now: Instant, key: number, reason: AccessEndReason, l2tp: CloseReason | undefined, shuttingDown: boolean): AccountingRecord | undefined {
    const st = this.states.get(key);
    if (st === undefined) return undefined;
    this.states.delete(key);
    this.byAcctId.delete(st.acctSessionId);
    st.scheduled = undefined;
    if (!st.started) return undefined;
    return this.record(now, st, 'stop', terminateCause(reason, l2tp, shuttingDown));
  }

  /** Sessions known (for tests and leak checks). */
  get size(): number {
    return this.states.size;
  }

  /** Earliest timer of any session. */
  pollAt(): Instant | undefined {
    for (;;) {
      const at = this.timers.peekAt();
      if (at === undefined) return undefined;
      const st = this.states.get(this.timers.peekKey() ?? -1);
      if (st !== undefined && st.scheduled === at) return at as Instant;
      this.timers.pop();
    }
  }

  /** Run due timers: Interim-Update records into `records`; returns the sessions whose time is up. */
  handleTimeout(now: Instant, records: AccountingRecord[]): AaaExpiry[] {
    const due: State[] = [];
    for (;;) {
      const at = this.timers.peekAt();
      if (at === undefined || at > now) break;
      const st = this.states.get(this.timers.peekKey() ?? -1);
      this.timers.pop();
      if (st === undefined || st.scheduled !== at) continue;
      st.scheduled = undefined;
      due.push(st);
    }
    const out: AaaExpiry[] = [];
    for (const st of due) {
      const expiry = this.expire(now, st);
      if (expiry !== undefined) out.push({ key: st.view.key, reason: expiry });
      if (st.nextInterimAt !== undefined && st.nextInterimAt <= now && st.started) {
        records.push(this.record(now, st, 'interim-update'));
        this.setInterim(now, st, st.interimMs);
      }
      this.schedule(st);
    }
    return out;
  }

  /** RFC 5176 §3: every session matching all the given identification attributes. */
  find(id: DaeSessionIdentity): number[] {
    const direct = id.acctSessionId !== undefined ? this.byAcctId.get(id.acctSessionId) : id.nasPort !== undefined ? this.states.get(id.nasPort | 0) : undefined; // NAS-Port = key >>> 0
    const pool = id.acctSessionId !== undefined || id.nasPort !== undefined ? (direct === undefined ? [] : [direct]) : [...this.states.values()];
    const ip = id.framedIpAddress !== undefined ? parseIpv4(id.framedIpAddress) : undefined;
    return pool
      .filter((st) => id.nasPort === undefined || st.view.key >>> 0 === id.nasPort)
      .filter((st) => id.userName === undefined || st.view.username === id.userName)
      .filter((st) => id.framedIpAddress === undefined || (ip !== undefined && st.view.lastIpv4 === ip))
      .map((st) => st.view.key);
  }

  /**
   * RFC 5176 CoA: a new Session-Timeout or Idle-Timeout counts from now (0 removes it); a new
   * Acct-Interim-Interval applies from now (0 stops interims).
   */
  change(now: Instant, key: number, c: CoaChanges): DaeActionResult {
    const st = this.states.get(key);
    if (st === undefined) return { ok: false, errorCause: 503 };
    if (c.sessionTimeout !== undefined) st.sessionDeadline = c.sessionTimeout > 0 ? addDuration(now, seconds(c.sessionTimeout)) : undefined;
    if (c.idleTimeout !== undefined) {
      if (c.idleTimeout > 0) this.setIdle(now, st, seconds(c.idleTimeout));
      else {
        st.idleMs = undefined;
        st.idleCheckAt = undefined;
      }
    }
    if (c.acctInterimInterval !== undefined) this.setInterim(now, st, c.acctInterimInterval > 0 ? seconds(c.acctInterimInterval) : undefined);
    this.schedule(st);
    return { ok: true };
  }

  private expire(now: Instant, st: State): AaaExpiry['reason'] | undefined {
    if (st.sessionDeadline !== undefined && st.sessionDeadline <= now) {
      st.sessionDeadline = undefined;
      return 'session-timeout';
    }
    if (st.idleMs === undefined || st.idleCheckAt === undefined || st.idleCheckAt > now) return undefined;
    // Activity is seen by the packet counters at each check: the idle time is known to one step.
    const packets = packetsOf(st.view.counters);
    if (packets !== st.lastPackets) {
      st.lastPackets = packets;
      st.lastActivity = now;
    }
    if (now - st.lastActivity >= st.idleMs) {
      st.idleMs = undefined;
      st.idleCheckAt = undefined;
      return 'idle-timeout';
    }
    st.idleCheckAt = earliest(addDuration(st.lastActivity, st.idleMs), addDuration(now, idleStep(st.idleMs)));
    return undefined;
  }

  private setIdle(now: Instant, st: State, idle: Duration): void {
    st.idleMs = idle;
    st.lastActivity = now;
    st.lastPackets = packetsOf(st.view.counters);
    st.idleCheckAt = addDuration(now, idleStep(idle));
  }

  private setInterim(now: Instant, st: State, interval: Duration | undefined): void {
    if (interval === undefined || interval <= 0 || !this.cfg.accounting) {
      st.interimMs = undefined;
      st.nextInterimAt = undefined;
      return;
    }
    const ms = Math.max(interval, this.cfg.interimMinimum ?? DEFAULT_INTERIM_MINIMUM) as Duration;
    st.interimMs = ms;
    st.nextInterimAt = addDuration(now, interimDelayMs(ms, this.random, this.cfg.interimJitter ?? 0.1) as Duration);
  }

  private schedule(st: State): void {
    if (!this.states.has(st.view.key)) return;
    const at = earliest(earliest(st.sessionDeadline, st.idleCheckAt), st.nextInterimAt);
    if (at === st.scheduled) return;
    st.scheduled = at;
    if (at !== undefined) this.timers.push(at, st.view.key);
  }

  /** One RFC 2866 record with the session's values at `now` (content fixed from here on). */
  private record(now: Instant, st: State, status: AcctStatus, cause?: AccountingRecord['terminateCause']): AccountingRecord {
    const v = st.view;
    const a = st.authorization;
    const c = v.counters;
    const withCounters = status !== 'start';
    const d = a.delegatedPrefix;
    return {
      status,
      sessionId: st.acctSessionId,
      timestamp: this.cfg.wallClock(now),
      ...(v.username !== undefined ? { username: v.username } : {}),
      session: st.attributes,
      ...(v.lastIpv4 !== undefined ? { framedIpAddress: formatIpv4(v.lastIpv4) } : {}),
      ...(v.prefix64 !== undefined ? { framedIpv6Prefix: { length: 64, prefix: prefix64Bytes(v.prefix64) } } : {}),
      ...(d !== undefined ? { delegatedIpv6Prefix: { length: d.length, prefix: prefix64Bytes(d.network64) } } : {}),
      ...(withCounters ? { counters: { inputOctets: c.rxOctets, outputOctets: c.txOctets, inputPackets: c.rxPackets, outputPackets: c.txPackets } } : {}),
      ...(withCounters && v.loggedInAt !== undefined ? { sessionTime: Math.floor((now - v.loggedInAt) / 1000) } : {}),
      ...(cause !== undefined ? { terminateCause: cause } : {}),
      ...(a.classes.length > 0 ? { classes: a.classes } : {}),
      ...(st.authentic !== undefined ? { authentic: st.authentic } : {}),
    };
  }
}

/** How often an idle session's counters are looked at: an eighth of the timeout, 1 s .. 60 s. */
function idleStep(idle: number): Duration {
  return Math.min(60_000, Math.max(1000, Math.floor(idle / 8))) as Duration;
}
