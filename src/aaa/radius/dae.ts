/**
 * Dynamic Authorization server core (RFC 5176): Disconnect-Request and CoA-Request from configured
 * clients only, answered with ACK / NAK and the RFC's Error-Cause values (§3.5). Sans-I/O, driven
 * like every core (`handleDatagram`, `handleTimeout`, `pollAt`, `pollTransmit`, `pollEvent`); the
 * sessions are found and acted on through a {@link DaeSessionTable} the access layer implements.
 *
 * Order of checks: source address in the allow-list, a well-formed header, a Request code, the
 * Request Authenticator under the client's secret (§3.5), the Message-Authenticator when present
 * (or required), the Event-Timestamp window (§3.5) — failing any of these the packet is silently
 * discarded and counted. A repeat of an answered request (same source, Identifier and
 * authenticator, within the duplicate window) gets the same answer again, never a second action.
 * Then NAS identification (403), session identification (401/402/407), the supported attributes
 * (401, 405) and the session lookup (503) decide between NAK and the action + ACK.
 *
 * Supported: sessions identified by Acct-Session-Id, User-Name, Framed-IP-Address and NAS-Port (all
 * present ones must match); CoA changes Session-Timeout, Idle-Timeout and Acct-Interim-Interval.
 * Everything else a request asks is refused with NAK 401 (Unsupported Attribute); CoA with
 * Service-Type Authorize-Only with NAK 405 (Unsupported Service).
 */
import { addDuration, Fifo, formatIpv4, type Instant, millis, parseIpv4, toHex } from '../../base/index.js';
import {
  ERROR_CAUSE,
  RADIUS_ATTR,
  RADIUS_CODE,
  SERVICE_TYPE,
  checkAuthenticators,
  decodeAttributes,
  encodeAttribute,
  encodeSignedPacket,
  octetsEqual,
  parseRadiusPacket,
  radiusLengthOf,
  type AttributeDef,
  type DecodedAttribute,
  type ErrorCause,
  type RadiusAttribute,
  type RadiusPacket,
} from '../../wire/radius/index.js';
import type { NasIdentity } from './types.js';

/** Defaults of `DaeServerOptions`: RFC 5176 §3.5 suggests a 300 s Event-Timestamp window. */
export const DAE_DEFAULTS = { eventTimestampWindowSec: 300, requireEventTimestamp: false, duplicateWindowMs: 30_000 } as const;

/** One client allowed to send Disconnect/CoA (RFC 5176 §3). */
export interface DaeClientConfig {
  readonly name: string;
  /** IPv4 address, IPv4 CIDR prefix (`198.51.100.0/24`) or exact IPv6 address. */
  readonly address: string;
  readonly secret: string | Uint8Array;
  /** Silently discard requests without a Message-Authenticator (default false). */
  readonly requireMessageAuthenticator?: boolean;
}

/** The session-identification attributes we support (RFC 5176 §3). */
export interface DaeSessionIdentity {
  readonly acctSessionId?: string;
  readonly userName?: string;
  readonly framedIpAddress?: string;
  readonly nasPort?: number;
}

/** What a CoA-Request may change now. */
export interface CoaChanges {
  readonly sessionTimeout?: number;
  readonly idleTimeout?: number;
  readonly acctInterimInterval?: number;
}

/** The outcome of one action on one session. */
export type DaeActionResult = { readonly ok: true } | { readonly ok: false; readonly errorCause: ErrorCause };

/** Implemented by the access layer: find sessions, end them, change them. `S` is its session handle. */
export interface DaeSessionTable<S> {
  /** Every session matching all given attributes. */
  find(identity: DaeSessionIdentity): readonly S[];
  /** End the session (CDN, accounting Stop with Admin-Reset: the access layer's business). */
  disconnect(now: Instant, session: S): DaeActionResult;
  /** Apply CoA changes. */
  change(now: Instant, session: S, changes: CoaChanges): DaeActionResult;
}

/** Options of a DaeServer. */
export interface DaeServerOptions<S> {
  readonly clients: readonly DaeClientConfig[];
  readonly sessions: DaeSessionTable<S>;
  /** Our identity; NAS-IP-Address / NAS-IPv6-Address / NAS-Identifier in a request must match it (403). */
  readonly nas: NasIdentity;
  /** Wall-clock unix milliseconds at monotonic `now` (Event-Timestamp window). */
  readonly wallClock: (now: Instant) => number;
  /** RFC 5176 §3.5 replay window for Event-Timestamp (seconds, default 300). */
  readonly eventTimestampWindowSec?: number;
  /** Discard requests without Event-Timestamp (default false). */
  readonly requireEventTimestamp?: boolean;
  /** How long an answer is kept for duplicates (ms, default 30000). */
  readonly duplicateWindowMs?: number;
  /** Most answers kept for duplicate detection (default 4096). */
  readonly duplicateCacheSize?: number;
}

/** Why a request was silently discarded. */
export type DaeDropReason =
  | 'unknown-client'
  | 'malformed'
  | 'unexpected-code'
  | 'bad-authenticator'
  | 'bad-message-authenticator'
  | 'missing-message-authenticator'
  | 'stale-event-timestamp'
  | 'missing-event-timestamp';

/** What the DAE server did. */
export type DaeEvent =
  | { readonly type: 'dropped'; readonly client: string | undefined; readonly from: string; readonly reason: DaeDropReason }
  | { readonly type: 'duplicate'; readonly client: string; readonly identifier: number }
  | {
      readonly type: 'answered';
      readonly client: string;
      readonly request: 'disconnect' | 'coa';
      readonly ack: boolean;
      readonly errorCause: ErrorCause | undefined;
      readonly identity: DaeSessionIdentity;
      readonly sessions: number;
      readonly changes?: CoaChanges;
    };

/** Counters of one DAE client. */
export interface DaeClientStats {
  requests: number;
  disconnectAcks: number;
  disconnectNaks: number;
  coaAcks: number;
  coaNaks: number;
  duplicates: number;
  dropped: number;
}

/** A reply datagram. */
export interface DaeTransmit {
  readonly to: { readonly address: string; readonly port: number };
  readonly data: Uint8Array;
}

interface Client {
  readonly config: DaeClientConfig;
  readonly secret: Uint8Array;
  readonly match: (address: string) => boolean;
  readonly stats: DaeClientStats;
}

/** An address matcher for an IPv4 address, an IPv4 CIDR prefix or an exact IPv6 address. */
function addressMatcher(spec: string): (address: string) => boolean {
  const [net, len] = spec.split('/');
  const n = parseIpv4(net ?? '');
  if (n === undefined) {
    const want = spec.toLowerCase();
    return (a) => a.toLowerCase() === want;
  }
  const bits = len === undefined ? 32 : Number(len);
  const mask = bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
  return (a) => {
    const x = parseIpv4(a.startsWith('::ffff:') ? a.slice(7) : a);
    return x !== undefined && ((x & mask) >>> 0) === ((n & mask) >>> 0);
  };
}

/** Attributes a request may carry besides the changes (RFC 5176 §3 tables), by type. */
const IDENTITY: readonly AttributeDef[] = [RADIUS_ATTR.AcctSessionId, RADIUS_ATTR.UserName, RADIUS_ATTR.FramedIpAddress, RADIUS_ATTR.NasPort];
const UNSUPPORTED_IDENTITY: readonly AttributeDef[] = [
  RADIUS_ATTR.CallingStationId,
  RADIUS_ATTR.CalledStationId,
  RADIUS_ATTR.AcctMultiSessionId,
  RADIUS_ATTR.NasPortId,
  RADIUS_ATTR.ChargeableUserIdentity,
  RADIUS_ATTR.FramedInterfaceId,
  RADIUS_ATTR.FramedIpv6Prefix,
];
const NAS_ID: readonly AttributeDef[] = [RADIUS_ATTR.NasIpAddress, RADIUS_ATTR.NasIpv6Address, RADIUS_ATTR.NasIdentifier];
const ALWAYS_OK: readonly AttributeDef[] = [RADIUS_ATTR.EventTimestamp, RADIUS_ATTR.MessageAuthenticator, RADIUS_ATTR.ProxyState, RADIUS_ATTR.State];
const COA_CHANGES: readonly AttributeDef[] = [RADIUS_ATTR.SessionTimeout, RADIUS_ATTR.IdleTimeout, RADIUS_ATTR.AcctInterimInterval];

/** The decision on one request (before the answer is encoded). */
interface Verdict {
  readonly errorCause: ErrorCause | undefined;
  readonly identity: DaeSessionIdentity;
  readonly sessions: number;
  readonly changes?: CoaChanges;
}

/** The Dynamic Authorization server core. */
export class DaeServer<S> {
  private readonly clients: Client[];
  private readonly cache = new Map<string, { readonly data: Uint8Array; readonly expires: Instant }>();
  private readonly transmits = new Fifo<DaeTransmit>();
  private readonly events = new Fifo<DaeEvent>();
  /** Requests from addresses that are no client. */
  unknownClients = 0;

  constructor(private readonly o: DaeServerOptions<S>) {
    const enc = new TextEncoder();
    this.clients = o.clients.map((c) => ({
      config: c,
      secret: typeof c.secret === 'string' ? enc.encode(c.secret) : new Uint8Array(c.secret),
      match: addressMatcher(c.address),
      stats: { requests: 0, disconnectAcks: 0, disconnectNaks: 0, coaAcks: 0, coaNaks: 0, duplicates: 0, dropped: 0 },
    }));
  }

  /** Counters per client name. */
  stats(): ReadonlyMap<string, Readonly<DaeClientStats>> {
    return new Map(this.clients.map((c) => [c.config.name, { ...c.stats }]));
  }

  /** Next answer to send. */
  pollTransmit(): DaeTransmit | undefined {
    return this.transmits.shift();
  }

  /** Next event. */
  pollEvent(): DaeEvent | undefined {
    return this.events.shift();
  }

  /** When the oldest cached answer expires. */
  pollAt(): Instant | undefined {
    for (const v of this.cache.values()) return v.expires;
    return undefined;
  }

  /** Forget expired answers. */
  handleTimeout(now: Instant): void {
    for (const [k, v] of this.cache) {
      if (v.expires > now) break;
      this.cache.delete(k);
    }
  }

  /** A datagram to UDP 3799. */
  handleDatagram(now: Instant, data: Uint8Array, from: { readonly address: string; readonly port: number }): void {
    const c = this.clients.find((x) => x.match(from.address));
    if (c === undefined) {
      this.unknownClients++;
      return this.drop(undefined, from, 'unknown-client');
    }
    if (!radiusLengthOf(data).ok) return this.drop(c, from, 'malformed');
    const code = data[0] as number;
    if (code !== RADIUS_CODE.DisconnectRequest && code !== RADIUS_CODE.CoaRequest) return this.drop(c, from, 'unexpected-code');
    const check = checkAuthenticators(data, c.secret);
    if (!check.authenticatorOk) return this.drop(c, from, 'bad-authenticator');
    if (check.messageAuthenticatorPresent && !check.messageAuthenticatorOk) return this.drop(c, from, 'bad-message-authenticator');
    if (!check.messageAuthenticatorPresent && c.config.requireMessageAuthenticator === true) return this.drop(c, from, 'missing-message-authenticator');
    const key = `${from.address}|${from.port}|${data[1] as number}|${toHex(data.subarray(4, 20))}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      c.stats.duplicates++;
      this.events.push({ type: 'duplicate', client: c.config.name, identifier: data[1] as number });
      this.transmits.push({ to: from, data: cached.data });
      return;
    }
    const p = parseRadiusPacket(data);
    if (!p.ok) return this.drop(c, from, 'malformed');
    const decoded = decodeAttributes(p.value);
    const ts = decoded.attributes.find((a) => a.def === RADIUS_ATTR.EventTimestamp)?.value as number | undefined;
    if (ts === undefined && this.o.requireEventTimestamp === true) return this.drop(c, from, 'missing-event-timestamp');
    // RFC 5176 §3.5: outside the window (default 300 s) the request is silently discarded.
    if (ts !== undefined && Math.abs(this.o.wallClock(now) / 1000 - ts) > (this.o.eventTimestampWindowSec ?? DAE_DEFAULTS.eventTimestampWindowSec)) return this.drop(c, from, 'stale-event-timestamp');
    c.stats.requests++;
    const coa = code === RADIUS_CODE.CoaRequest;
    const verdict = decoded.malformed.length > 0 ? { errorCause: ERROR_CAUSE.InvalidAttributeValue, identity: {}, sessions: 0 } : this.decide(now, coa, decoded.attributes, decoded.unknown.length > 0);
    const answer = this.encodeAnswer(c, p.value, coa, verdict, check.messageAuthenticatorPresent);
    this.remember(now, key, answer);
    this.transmits.push({ to: from, data: answer });
    const ack = verdict.errorCause === undefined;
    const counter = coa ? (ack ? 'coaAcks' : 'coaNaks') : ack ? 'disconnectAcks' : 'disconnectNaks';
    c.stats[counter]++;
    this.events.push({
      type: 'answered',
      client: c.config.name,
      request: coa ? 'coa' : 'disconnect',
      ack,
      errorCause: verdict.errorCause,
      identity: verdict.identity,
      sessions: verdict.sessions,
      ...(verdict.changes !== undefined ? { changes: verdict.changes } : {}),
    });
  }

  private drop(c: Client | undefined, from: { readonly address: string }, reason: DaeDropReason): void {
    if (c !== undefined) c.stats.dropped++;
    this.events.push({ type: 'dropped', client: c?.config.name, from: from.address, reason });
  }

  /** NAS identification, session identification, supported attributes, lookup, action (RFC 5176 §3). */
  private decide(now: Instant, coa: boolean, attrs: readonly DecodedAttribute[], hasUnknown: boolean): Verdict {
    const nak = (errorCause: ErrorCause, identity: DaeSessionIdentity = {}): Verdict => ({ errorCause, identity, sessions: 0 });
    if (!this.nasMatches(attrs)) return nak(ERROR_CAUSE.NasIdentificationMismatch);
    const value = <T>(def: AttributeDef<T>): T | undefined => attrs.find((a) => a.def === def)?.value as T | undefined;
    const ip = value(RADIUS_ATTR.FramedIpAddress);
    const identity: DaeSessionIdentity = {
      ...(value(RADIUS_ATTR.AcctSessionId) !== undefined ? { acctSessionId: value(RADIUS_ATTR.AcctSessionId) as string } : {}),
      ...(value(RADIUS_ATTR.UserName) !== undefined ? { userName: value(RADIUS_ATTR.UserName) as string } : {}),
      ...(ip !== undefined ? { framedIpAddress: formatIpv4(ip) } : {}),
      ...(value(RADIUS_ATTR.NasPort) !== undefined ? { nasPort: value(RADIUS_ATTR.NasPort) as number } : {}),
    };
    const allowed = new Set<AttributeDef>([...IDENTITY, ...NAS_ID, ...ALWAYS_OK, ...(coa ? COA_CHANGES : [])]);
    if (coa && value(RADIUS_ATTR.ServiceType) === SERVICE_TYPE.AuthorizeOnly) return nak(ERROR_CAUSE.UnsupportedService, identity);
    if (hasUnknown || attrs.some((a) => !allowed.has(a.def))) return nak(ERROR_CAUSE.UnsupportedAttribute, identity);
    if (Object.keys(identity).length === 0) {
      // RFC 5176 §3: identification we do not support is 401; none at all is 402.
      return nak(attrs.some((a) => UNSUPPORTED_IDENTITY.includes(a.def)) ? ERROR_CAUSE.UnsupportedAttribute : ERROR_CAUSE.MissingAttribute, identity);
    }
    const sessions = this.o.sessions.find(identity);
    if (sessions.length === 0) return nak(ERROR_CAUSE.SessionContextNotFound, identity);
    const changes: CoaChanges = {
      ...(value(RADIUS_ATTR.SessionTimeout) !== undefined ? { sessionTimeout: value(RADIUS_ATTR.SessionTimeout) as number } : {}),
      ...(value(RADIUS_ATTR.IdleTimeout) !== undefined ? { idleTimeout: value(RADIUS_ATTR.IdleTimeout) as number } : {}),
      ...(value(RADIUS_ATTR.AcctInterimInterval) !== undefined ? { acctInterimInterval: value(RADIUS_ATTR.AcctInterimInterval) as number } : {}),
    };
    let failure: ErrorCause | undefined;
    for (const s of sessions) {
      const r = coa ? this.o.sessions.change(now, s, changes) : this.o.sessions.disconnect(now, s);
      if (!r.ok) failure ??= r.errorCause;
    }
    return { errorCause: failure, identity, sessions: sessions.length, ...(coa ? { changes } : {}) };
  }

  /** RFC 5176 §3: NAS-IP-Address / NAS-IPv6-Address / NAS-Identifier, when present, name us. */
  private nasMatches(attrs: readonly DecodedAttribute[]): boolean {
    const nas = this.o.nas;
    for (const a of attrs) {
      if (a.def === RADIUS_ATTR.NasIpAddress && (nas.ipAddress === undefined || parseIpv4(nas.ipAddress) !== a.value)) return false;
      if (a.def === RADIUS_ATTR.NasIdentifier && nas.identifier !== a.value) return false;
      if (a.def === RADIUS_ATTR.NasIpv6Address && (nas.ipv6Address === undefined || !octetsEqual(nas.ipv6Address, a.value as Uint8Array))) return false;
    }
    return true;
  }

  /** ACK or NAK (+ Error-Cause), Proxy-State copied in order (RFC 5176 §3), signed over the request's authenticator. */
  private encodeAnswer(c: Client, req: RadiusPacket, coa: boolean, v: Verdict, withMa: boolean): Uint8Array {
    const ack = v.errorCause === undefined;
    const code = coa ? (ack ? RADIUS_CODE.CoaAck : RADIUS_CODE.CoaNak) : ack ? RADIUS_CODE.DisconnectAck : RADIUS_CODE.DisconnectNak;
    const attributes: RadiusAttribute[] = [];
    if (v.errorCause !== undefined) {
      const e = encodeAttribute(RADIUS_ATTR.ErrorCause, v.errorCause);
      if (e.ok) attributes.push(e.value);
    }
    for (const a of req.attributes) if (a.vendor === 0 && a.type === RADIUS_ATTR.ProxyState.type) attributes.push(a);
    const out = encodeSignedPacket({ code, identifier: req.identifier, attributes, messageAuthenticator: withMa || c.config.requireMessageAuthenticator === true }, c.secret, req.authenticator);
    // Proxy-States came from a packet that fit in 4096 octets, so the answer fits too.
    return out.ok ? out.value : new Uint8Array(0);
  }

  private remember(now: Instant, key: string, data: Uint8Array): void {
    const max = this.o.duplicateCacheSize ?? 4096;
    while (this.cache.size >= max) {
      const first = this.cache.keys().next();
      if (first.done === true) break;
      this.cache.delete(first.value);
    }
    this.cache.set(key, { data, expires: addDuration(now, millis(this.o.duplicateWindowMs ?? 30_000)) });
  }
}
