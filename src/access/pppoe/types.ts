/**
 * The contract of the PPPoE access concentrator core (`PppoeAccessConcentrator`): its settings, the
 * per-session data sink, typed events, counters and the session snapshot.
 */
import type { Duration, Instant, Rate, RandomSource } from '../../base/index.js';
import type { AccessLine, MacAddress } from '../../wire/pppoe/index.js';

/**
 * Where the PPP frames of one established session go, bound once per session (the same "bind a data
 * sink" shape as the L2TP sessions'). `frame` starts at the PPP Protocol field (RFC 2516 §7: no
 * Address/Control) and is a view valid only during the call: copy it to keep it.
 */
export interface FrameSink {
  deliver(frame: Uint8Array, now: Instant): void;
}

/** Settings of one AC instance (one interface, or one VLAN of it). */
export interface PppoeAcConfig {
  /** AC-Name in PADO (RFC 2516 §5.2). */
  readonly acName: string;
  /** Our MAC address: the source of everything we send; unicast discovery must be addressed to it. */
  readonly mac: MacAddress;
  /** Services offered: a list (a PADI asking for another is not answered, §5.2), or `any` name. */
  readonly serviceNames: readonly string[] | 'any';
  /** The VLAN this instance serves (inner VID); undefined = untagged frames only. */
  readonly vlan?: number;
  /**
   * RFC 4638: the largest PPP payload we carry (interface MTU - 8). Above 1492 we answer a client's
   * PPP-Max-Payload with min(its value, this); without one (or at 1492) sessions use 1492.
   */
  readonly maxPayload?: number;
  /** AC-Cookie master key (default: random secrets); see cookie.ts. */
  readonly cookieSecret?: Uint8Array;
  /** AC-Cookie secret rotation (default 5 min; a cookie verifies for one to two periods). */
  readonly cookieRotation?: Duration;
  /** PADI + PADR budget for all clients (default 500/s, burst 1000). */
  readonly discoveryRate?: Rate;
  /** PADI + PADR budget per client MAC (default 2/s, burst 8). */
  readonly discoveryRatePerMac?: Rate;
  /** Sessions per client MAC (default 4). */
  readonly maxSessionsPerMac?: number;
  /** Sessions in this instance (default and maximum 65534: ids 0x0001..0xfffe, §4). */
  readonly maxSessions?: number;
  /** Session frames kept for a session whose sink is not bound yet (default 16; more are dropped). */
  readonly pendingFrames?: number;
  readonly random: RandomSource;
}

/** Why a session ended. */
export type SessionDownCause =
  /** The client sent PADT (§5.5). */
  | 'padt-received'
  /** `close()` by the owner: we sent PADT. */
  | 'closed'
  /** `shutdown()`: every session ended with a PADT. */
  | 'shutdown';

/** What the core reports (STYLE §10). */
export type PppoeAcEvent =
  | {
      readonly type: 'session-up';
      readonly mac: MacAddress;
      readonly sessionId: number;
      readonly vlan: number | undefined;
      readonly serviceName: string;
      readonly hostUniq: Uint8Array | undefined;
      readonly relaySessionId: Uint8Array | undefined;
      /** TR-101 Agent-Circuit-Id / Agent-Remote-Id from the PADR (or its PADI), for NAS-Port-Id and RFC 4679. */
      readonly circuitId: string | undefined;
      readonly remoteId: string | undefined;
      readonly accessLine: AccessLine | undefined;
      /** The PPP payload (MRU) this session carries: 1492, or the RFC 4638 value agreed in PADS. */
      readonly maxPayload: number;
    }
  | { readonly type: 'session-down'; readonly mac: MacAddress; readonly sessionId: number; readonly cause: SessionDownCause; readonly detail?: string };

/** Why a frame was dropped (counters; each is also a reason nothing was sent). */
export const DROP_REASONS = [
  'malformed', 'other-vlan', 'not-for-us', 'unexpected-code', 'rate-limited', 'service-unavailable', 'bad-cookie',
  'session-limit', 'spoofed-padt', 'unknown-session', 'spoofed-session-frame', 'no-sink', 'too-long',
] as const;
/** One of {@link DROP_REASONS}. */
export type DropReason = (typeof DROP_REASONS)[number];

/** Counters since the instance was created. */
export interface PppoeAcCounters {
  readonly padiReceived: number;
  readonly padoSent: number;
  readonly padrReceived: number;
  readonly padsSent: number;
  /** PADS with Service-Name-Error or AC-System-Error (SESSION_ID 0). */
  readonly padsRefused: number;
  /** A PADR repeated for a session not yet used: the same PADS sent again. */
  readonly padrRepeated: number;
  readonly padtReceived: number;
  readonly padtSent: number;
  readonly sessionFramesIn: number;
  readonly sessionBytesIn: number;
  readonly sessionFramesOut: number;
  readonly sessionBytesOut: number;
  /** Drops by reason. */
  readonly dropped: Readonly<Record<DropReason, number>>;
  /** Malformed frames by wire error kind. */
  readonly malformed: Readonly<Record<string, number>>;
}

/** One session for show commands. */
export interface PppoeSessionInfo {
  readonly mac: MacAddress;
  readonly sessionId: number;
  readonly vlan: number | undefined;
  readonly serviceName: string;
  readonly circuitId: string | undefined;
  readonly remoteId: string | undefined;
  readonly maxPayload: number;
  readonly since: Instant;
  readonly framesIn: number;
  readonly bytesIn: number;
  readonly framesOut: number;
  readonly bytesOut: number;
  readonly sinkBound: boolean;
}
