/**
 * BRAS mode: one `[[pppoe]]` access concentrator (src/io/pppoe-ac.ts on the interface) whose
 * sessions the LNS's access server terminates locally. Each `session-up` opens a PPP session on
 * the server over a PPPoE lower layer (`pppoeLower`: frames without Address/Control, PADT at the
 * end); the client's PADT ends it there (`lowerGone`: the lease is freed, nothing is sent back).
 */
import { LOWER_TUNNEL, pppoeLower, type PppoeAcCounters, type PppoeAcEvent, type PppoeLowerInfo, type PppoeSessions, type SessionLower } from '../access/index.js';
import type { SessionId } from '../wire/l2tp/index.js';
import { formatMac } from '../wire/pppoe/index.js';
import { type Clock, NativeIoError, NativeUnavailableError, PppoeAcPort, type TimerDriver } from '../io/index.js';
import type { PppoeSection } from './config.js';
import type { LnsAccess } from './access-shell.js';
import type { Logger } from './logger.js';

/** Where the sessions of an AC go: terminated by the access server, or switched into a tunnel (lac-switch-shell.ts). */
export interface PppoeTarget {
  /** What the log calls a session there. */
  readonly what: string;
  /** A session came up on `lower`: its handle there, or undefined when refused. `speed`: TR-101 actual data rates in bits/s. */
  open(lower: SessionLower, callingNumber: string, speed?: { readonly tx: number; readonly rx?: number }): number | undefined;
  /** The client's PADT (or our shutdown) ended the session. */
  gone(handle: number): void;
  /** Session frames were delivered (without events): drain the core they fed. */
  afterFrames(): void;
}

/** BRAS: the access server terminates the sessions (tunnel 0, `openLower` / `lowerGone`). */
export function terminateLocally(access: LnsAccess): PppoeTarget {
  return {
    what: 'PPP',
    open: (lower, callingNumber) => access.run((now, server) => server.openLower(now, lower, { callingNumber })),
    gone: (id) => {
      access.run((now, server) => server.lowerGone(now, LOWER_TUNNEL, id as SessionId));
    },
    afterFrames: () => {
      access.run(() => undefined);
    },
  };
}

/** Options of one `[[pppoe]]`. */
export interface PppoeShellOptions {
  readonly config: PppoeSection;
  /** Where the sessions go. */
  readonly target: PppoeTarget;
  readonly log: Logger;
  readonly clock: Clock;
  readonly timers: TimerDriver;
}

/** A burst of twice the rate for all clients; 8 frames per MAC (the AC core's defaults). */
const PER_MAC_BURST = 8;

/** Where an AF_PACKET socket cannot be opened: what to do about it. */
function openError(c: PppoeSection, e: unknown): Error {
  const where = `[[pppoe]] interface ${c.interface}${c.netns !== undefined ? ` (netns ${c.netns})` : ''}`;
  if (e instanceof NativeUnavailableError) return new Error(`cannot open ${where}: the native addon is not built (${e.message}); run "npm ci" or "node native/build.mjs"`);
  if (e instanceof NativeIoError) {
    const hint =
      e.code === 'ENODEV' || e.code === 'ENOENT'
        ? 'no such interface'
        : e.code === 'EPERM' || e.code === 'EACCES'
          ? 'AF_PACKET needs root or CAP_NET_RAW (and CAP_SYS_ADMIN for netns)'
          : e.message;
    return new Error(`cannot open ${where}: ${hint}`);
  }
  return e instanceof Error ? e : new Error(String(e));
}

/** One PPPoE AC terminated by the access server. */
export class PppoeShell {
  private readonly port: PppoeAcPort;
  /** AC SESSION_ID -> the session's handle at the target. */
  private readonly sessions = new Map<number, number>();

  private constructor(
    private readonly opts: PppoeShellOptions,
    open: (onEvent: (e: PppoeAcEvent) => void) => PppoeAcPort,
  ) {
    this.port = open((e) => {
      this.onAcEvent(e);
    });
  }

  /** Open the interface and answer discovery. Throws with a message that says what to do. */
  static open(opts: PppoeShellOptions): PppoeShell {
    const c = opts.config;
    return new PppoeShell(opts, (onEvent) => {
      try {
        return PppoeAcPort.open({
          socket: { interface: c.interface, ...(c.netns !== undefined ? { netns: c.netns } : {}) },
          ac: {
            acName: c.acName,
            serviceNames: c.serviceNames.length === 0 ? 'any' : c.serviceNames,
            ...(c.vlan !== undefined ? { vlan: c.vlan } : {}),
            ...(c.maxPayload !== undefined ? { maxPayload: c.maxPayload } : {}),
            ...(c.cookieSecret !== undefined ? { cookieSecret: new TextEncoder().encode(c.cookieSecret) } : {}),
            cookieRotation: c.cookieRotation,
            maxSessions: c.maxSessions,
            maxSessionsPerMac: c.maxSessionsPerMac,
            discoveryRate: { perSecond: c.discoveryRate, burst: 2 * c.discoveryRate },
            discoveryRatePerMac: { perSecond: c.discoveryRatePerMac, burst: Math.max(PER_MAC_BURST, c.discoveryRatePerMac) },
          },
          onEvent,
          afterBatch: () => {
            opts.target.afterFrames();
          },
          timers: opts.timers,
          clock: opts.clock,
          onError: (e) => {
            opts.log.warn({ pppoe: c.interface, err: e.message }, `PPPoE ${c.interface}: ${e.message}`);
          },
        });
      } catch (e) {
        throw openError(c, e);
      }
    });
  }

  /** The interface name. */
  get interfaceName(): string {
    return this.opts.config.interface;
  }

  /** The AC's counters (discovery, drops by reason, session frames). */
  counters(): PppoeAcCounters {
    return this.port.ac.counters;
  }

  /** PPPoE sessions on this interface. */
  get sessionCount(): number {
    return this.port.ac.sessionCount;
  }

  /** PADT to every session and close the socket (daemon stop). */
  close(): void {
    this.port.shutdown('l2tpd shutting down');
    this.sessions.clear();
  }

  private onAcEvent(e: PppoeAcEvent): void {
    const { log, config: c, target } = this.opts;
    const mac = formatMac(e.mac);
    if (e.type === 'session-up') {
      const info: PppoeLowerInfo = {
        kind: 'pppoe', interface: c.interface, mac, sessionId: e.sessionId, serviceName: e.serviceName,
        ...(e.vlan !== undefined ? { vlan: e.vlan } : {}), ...(e.circuitId !== undefined ? { circuitId: e.circuitId } : {}),
      };
      const lower = pppoeLower(this.portSessions(), info, e.maxPayload);
      // TR-101 §3.9.3 actual data rates are in kbit/s: downstream = what we send (Tx), upstream = Rx.
      const down = e.accessLine?.actualDataRateDownstream;
      const up = e.accessLine?.actualDataRateUpstream;
      const speed = down !== undefined ? { tx: down * 1000, ...(up !== undefined ? { rx: up * 1000 } : {}) } : undefined;
      const id = target.open(lower, e.circuitId ?? mac, speed);
      log.info({ pppoe: c.interface, mac, sid: e.sessionId, service: e.serviceName, session: id }, `PPPoE ${c.interface}: session ${e.sessionId} up for ${mac}${e.serviceName !== '' ? ` (service "${e.serviceName}")` : ''} -> ${target.what} ${id ?? 'refused'}`);
      if (id === undefined) this.port.closeSession(e.sessionId, 'no session available');
      else this.sessions.set(e.sessionId, id);
      return;
    }
    const id = this.sessions.get(e.sessionId);
    this.sessions.delete(e.sessionId);
    log.info({ pppoe: c.interface, mac, sid: e.sessionId, cause: e.cause, detail: e.detail }, `PPPoE ${c.interface}: session ${e.sessionId} of ${mac} down (${e.cause}${e.detail !== undefined ? `: ${e.detail}` : ''})`);
    // 'closed' is our own PADT: the server ended PPP and knows already.
    if (id !== undefined && e.cause !== 'closed') target.gone(id);
  }

  /** The port as the lower layers see it. */
  private portSessions(): PppoeSessions {
    const p = this.port;
    return {
      sendPpp: (sid, ppp, headroomFree) => p.sendPpp(sid, ppp, headroomFree),
      closeSession: (sid, detail) => p.closeSession(sid, detail),
      bindSink: (sid, sink, now) => p.bindSink(sid, sink, now),
    };
  }
}
