/**
 * A PPPoE access concentrator's discovery stage and session demultiplexer (RFC 2516 §5, §6), sans-I/O:
 * feed it every Ethernet frame of the interface with `handleFrame(now, frame)`, send what
 * `pollTransmit()` returns, arm one timer at `pollAt()`, drain `pollEvent()`.
 *
 *  - PADI -> PADO (§5.2) with AC-Name, the requested Service-Name plus the others offered, Host-Uniq
 *    and Relay-Session-Id echoed, an AC-Cookie, PPP-Max-Payload when both sides can (RFC 4638 §4);
 *    a PADI for a service we do not offer gets no answer (§5.2).
 *  - PADR with a valid cookie -> PADS with a unique SESSION_ID and a `session-up` event (§5.4);
 *    an unknown service -> PADS with Service-Name-Error, a session limit -> PADS with AC-System-Error
 *    (both SESSION_ID 0); no or a wrong cookie -> dropped and counted.
 *  - PADT (§5.5) ends the session only when SESSION_ID, source MAC and VLAN all match it.
 *  - Session frames (§6) go, by SESSION_ID with the source MAC checked, to the session's FrameSink.
 * PADI and PADR share a token bucket for all clients and one per client MAC. Nothing is ever answered
 * to a malformed frame; every drop is counted by reason.
 */
import { earliest, Fifo, type Instant, KeyedTokenBuckets, put16, seconds, type Timed, TokenBucket, toHex, u16 } from '../../base/index.js';
import { type AccessLine, type DiscoveryCode, type DiscoveryFrame, type DiscoveryTags, encodeDiscoveryFrame, type EthernetHeader, EtherType, isVlanTpid, type MacAddress, parseDiscoveryFrame, PPPOE_HEADER_LENGTH, PppoeCode, readMac, sessionHeaderLength, type VlanTag, writeSessionHeader } from '../../wire/pppoe/index.js';
import { CookieJar } from './cookie.js';
import { DROP_REASONS, type DropReason, type FrameSink, type PppoeAcConfig, type PppoeAcCounters, type PppoeAcEvent, type PppoeSessionInfo, type SessionDownCause } from './types.js';

/** Bytes to keep free in front of an outbound PPP frame for Ethernet + two VLAN tags + PPPoE header. */
export const PPPOE_HEADROOM = sessionHeaderLength(2);
/** RFC 2516 §7: without RFC 4638 the MRU "MUST NOT be negotiated to a larger size than 1492". */
export const PPPOE_DEFAULT_PAYLOAD = 1492;
const SWEEP_EVERY = seconds(10);

interface Session {
  readonly mac: MacAddress;
  readonly sessionId: number;
  readonly vlan: number | undefined;
  readonly serviceName: string;
  readonly hostUniq: Uint8Array | undefined;
  readonly relaySessionId: Uint8Array | undefined;
  readonly accessLine: AccessLine | undefined;
  readonly maxPayload: number;
  readonly since: Instant;
  /** Host-Uniq | Relay-Session-Id | Service-Name of the PADR, to recognise a repeated PADR. */
  readonly fingerprint: string;
  /** The PADS we sent, resent for a repeated PADR. */
  readonly pads: Uint8Array;
  readonly reply: EthernetHeader;
  /** Ethernet + PPPoE session header with LENGTH 0, copied in front of outbound frames. */
  readonly header: Uint8Array;
  sink: FrameSink | undefined;
  pending: Uint8Array[];
  used: boolean;
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
const hexOf = (b: Uint8Array | undefined): string => (b === undefined ? '-' : toHex(b));

/** One access concentrator instance (one interface, or one VLAN of it). */
export class PppoeAccessConcentrator implements Timed {
  private readonly cookies: CookieJar;
  private readonly globalBucket: TokenBucket;
  private readonly macBuckets: KeyedTokenBuckets;
  private readonly bySid = new Map<number, Session>();
  private readonly byMac = new Map<number, Session[]>();
  private readonly tx = new Fifo<Uint8Array>();
  private readonly events = new Fifo<PppoeAcEvent>();
  private readonly c: Mutable<Omit<PppoeAcCounters, 'dropped' | 'malformed'>>;
  private readonly drops: Record<DropReason, number>;
  private readonly malformedKinds: Record<string, number> = {};
  private nextSweep: Instant;
  private readonly maxSessions: number;
  private readonly maxPerMac: number;
  private readonly pendingMax: number;
  private readonly ourPayload: number;

  constructor(
    readonly cfg: PppoeAcConfig,
    now: Instant,
  ) {
    this.cookies = new CookieJar(cfg.random, cfg.cookieRotation ?? seconds(300), now, cfg.cookieSecret);
    this.globalBucket = new TokenBucket(cfg.discoveryRate ?? { perSecond: 500, burst: 1000 }, now);
    this.macBuckets = new KeyedTokenBuckets(cfg.discoveryRatePerMac ?? { perSecond: 2, burst: 8 }, 100_000);
    this.maxSessions = Math.min(cfg.maxSessions ?? 0xfffe, 0xfffe);
    this.maxPerMac = cfg.maxSessionsPerMac ?? 4;
    this.pendingMax = cfg.pendingFrames ?? 16;
    this.ourPayload = cfg.maxPayload ?? PPPOE_DEFAULT_PAYLOAD;
    this.nextSweep = (now + SWEEP_EVERY) as Instant;
    this.c = { padiReceived: 0, padoSent: 0, padrReceived: 0, padsSent: 0, padsRefused: 0, padrRepeated: 0, padtReceived: 0, padtSent: 0, sessionFramesIn: 0, sessionBytesIn: 0, sessionFramesOut: 0, sessionBytesOut: 0 };
    this.drops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  }

  // ------------------------------------------------------------------ driving

  /** The next instant `handleTimeout` wants to run (cookie rotation, idle bucket sweep). */
  pollAt(): Instant | undefined {
    return earliest(this.cookies.pollAt(), this.nextSweep);
  }

  /** Rotate the cookie secret and sweep idle per-MAC buckets when due. */
  handleTimeout(now: Instant): void {
    this.cookies.handleTimeout(now);
    if (now >= this.nextSweep) {
      this.macBuckets.sweep(now);
      this.nextSweep = (now + SWEEP_EVERY) as Instant;
    }
  }

  /** The next Ethernet frame to send, or undefined. */
  pollTransmit(): Uint8Array | undefined {
    return this.tx.shift();
  }

  /** The next event, or undefined. */
  pollEvent(): PppoeAcEvent | undefined {
    return this.events.shift();
  }

  /** One received Ethernet frame (a view; never kept beyond the call except as a copy). */
  handleFrame(now: Instant, frame: Uint8Array): void {
    if (frame.length < 14) return this.malformed('truncated');
    // Walk the tags by hand: session frames are the data path and must not allocate.
    let o = 12;
    let type = u16(frame, o);
    let vid: number | undefined;
    for (let n = 0; isVlanTpid(type) && n < 2; n++) {
      if (frame.length < o + 6) return this.malformed('truncated');
      vid = u16(frame, o + 2) & 0x0fff;
      o += 4;
      type = u16(frame, o);
    }
    if (type === EtherType.pppoeSession) return this.handleSessionFrame(now, frame, o + 2, vid);
    if (type !== EtherType.pppoeDiscovery) return this.malformed(isVlanTpid(type) ? 'too-many-vlans' : 'bad-ethertype');
    const f = parseDiscoveryFrame(frame);
    if (!f.ok) return this.malformed(f.error.kind);
    if (vid !== this.cfg.vlan) return this.drop('other-vlan');
    switch (f.value.packet.code) {
      case PppoeCode.PADI:
        return this.handlePadi(now, f.value);
      case PppoeCode.PADR:
        return this.handlePadr(now, f.value);
      case PppoeCode.PADT:
        return this.handlePadt(f.value);
      default:
        // PADO/PADS are an AC's own packets: another AC on the segment, or a reflection.
        return this.drop('unexpected-code');
    }
  }

  // ------------------------------------------------------------------ discovery

  private allowDiscovery(now: Instant, mac: MacAddress): boolean {
    if (this.globalBucket.take(now) && this.macBuckets.take(now, mac)) return true;
    this.drop('rate-limited');
    return false;
  }

  /** The service to grant for a requested Service-Name ('' = any, Appendix A), or undefined. */
  private service(requested: string): string | undefined {
    const offered = this.cfg.serviceNames;
    if (offered === 'any' || requested === '') return requested === '' && offered !== 'any' ? (offered[0] ?? '') : requested;
    return offered.includes(requested) ? requested : undefined;
  }

  /** RFC 4638 §4: the payload to agree to (and put in PADO/PADS), or undefined for the 1492 default. */
  private agreedPayload(tags: DiscoveryTags): number | undefined {
    const asked = tags.pppMaxPayload;
    if (asked === undefined || asked <= PPPOE_DEFAULT_PAYLOAD || this.ourPayload <= PPPOE_DEFAULT_PAYLOAD) return undefined;
    return Math.min(asked, this.ourPayload);
  }

  private send(to: EthernetHeader, code: DiscoveryCode, sessionId: number, tags: DiscoveryTags): Uint8Array {
    const out = encodeDiscoveryFrame({ ethernet: to, packet: { code, sessionId, tags } });
    this.tx.push(out);
    return out;
  }

  private replyHeader(f: DiscoveryFrame): EthernetHeader {
    return { destination: f.ethernet.source, source: this.cfg.mac, vlans: f.ethernet.vlans, ethertype: EtherType.pppoeDiscovery };
  }

  /** §5.1 / §5.2. */
  private handlePadi(now: Instant, f: DiscoveryFrame): void {
    this.c.padiReceived++;
    const client = f.ethernet.source;
    if (!this.allowDiscovery(now, client)) return;
    const t = f.packet.tags;
    const requested = t.serviceNames?.[0] ?? '';
    if (this.service(requested) === undefined) return this.drop('service-unavailable');
    const offered = this.cfg.serviceNames === 'any' ? [] : this.cfg.serviceNames.filter((s) => s !== requested);
    const payload = this.agreedPayload(t);
    this.send(this.replyHeader(f), PppoeCode.PADO, 0, {
      serviceNames: [requested, ...offered],
      acName: this.cfg.acName,
      ...(t.hostUniq !== undefined ? { hostUniq: t.hostUniq } : {}),
      ...(payload !== undefined ? { pppMaxPayload: payload } : {}),
      acCookie: this.cookies.issue(client, this.cfg.vlan ?? 0),
      ...(t.relaySessionId !== undefined ? { relaySessionId: t.relaySessionId } : {}),
    });
    this.c.padoSent++;
  }

  private refusePadr(f: DiscoveryFrame, tags: DiscoveryTags): void {
    const t = f.packet.tags;
    this.send(this.replyHeader(f), PppoeCode.PADS, 0, {
      ...tags,
      ...(t.hostUniq !== undefined ? { hostUniq: t.hostUniq } : {}),
      ...(t.relaySessionId !== undefined ? { relaySessionId: t.relaySessionId } : {}),
    });
    this.c.padsRefused++;
  }

  /** §5.3 / §5.4. */
  private handlePadr(now: Instant, f: DiscoveryFrame): void {
    this.c.padrReceived++;
    const client = f.ethernet.source;
    if (f.ethernet.destination !== this.cfg.mac) return this.drop('not-for-us');
    if (!this.allowDiscovery(now, client)) return;
    const t = f.packet.tags;
    if (!this.cookies.verify(t.acCookie, client, this.cfg.vlan ?? 0)) return this.drop('bad-cookie');
    const requested = t.serviceNames?.[0] ?? '';
    const service = this.service(requested);
    if (service === undefined) {
      this.drop('service-unavailable');
      return this.refusePadr(f, { serviceNames: [requested], serviceNameError: `service "${requested}" not offered` });
    }
    const fingerprint = `${hexOf(t.hostUniq)}|${hexOf(t.relaySessionId)}|${requested}`;
    const mine = this.byMac.get(client) ?? [];
    // A repeated PADR (our PADS was lost) for a session the client never used: the same PADS again.
    const repeat = mine.find((s) => !s.used && s.fingerprint === fingerprint);
    if (repeat !== undefined) {
      this.c.padrRepeated++;
      this.tx.push(repeat.pads);
      return;
    }
    const sessionId = mine.length < this.maxPerMac && this.bySid.size < this.maxSessions ? this.allocateSessionId() : undefined;
    if (sessionId === undefined) {
      this.drop('session-limit');
      return this.refusePadr(f, { serviceNames: [requested], acSystemError: 'session limit reached' });
    }
    this.createSession(now, f, sessionId, service, fingerprint);
  }

  private createSession(now: Instant, f: DiscoveryFrame, sessionId: number, service: string, fingerprint: string): void {
    const t = f.packet.tags;
    const client = f.ethernet.source;
    const agreed = this.agreedPayload(t);
    const reply = this.replyHeader(f);
    const pads = this.send(reply, PppoeCode.PADS, sessionId, {
      serviceNames: [service],
      ...(t.hostUniq !== undefined ? { hostUniq: t.hostUniq } : {}),
      ...(agreed !== undefined ? { pppMaxPayload: agreed } : {}),
      ...(t.relaySessionId !== undefined ? { relaySessionId: t.relaySessionId } : {}),
    });
    this.c.padsSent++;
    const header = new Uint8Array(sessionHeaderLength(reply.vlans.length));
    writeSessionHeader(header, 0, reply, sessionId, 0);
    const s: Session = {
      mac: client, sessionId, vlan: this.cfg.vlan, serviceName: service, hostUniq: t.hostUniq, relaySessionId: t.relaySessionId,
      accessLine: t.accessLine, maxPayload: agreed ?? PPPOE_DEFAULT_PAYLOAD, since: now, fingerprint, pads, reply, header,
      sink: undefined, pending: [], used: false, framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0,
    };
    this.bySid.set(sessionId, s);
    const list = this.byMac.get(client);
    if (list === undefined) this.byMac.set(client, [s]);
    else list.push(s);
    this.events.push({
      type: 'session-up', mac: client, sessionId, vlan: s.vlan, serviceName: service, hostUniq: s.hostUniq, relaySessionId: s.relaySessionId,
      circuitId: s.accessLine?.circuitId, remoteId: s.accessLine?.remoteId, accessLine: s.accessLine, maxPayload: s.maxPayload,
    });
  }

  /** A free SESSION_ID in 0x0001..0xfffe (§4: 0xffff reserved), random so ids are not guessable. */
  private allocateSessionId(): number | undefined {
    for (let i = 0; i < 16; i++) {
      const id = 1 + (this.cfg.random.u32() % 0xfffe);
      if (!this.bySid.has(id)) return id;
    }
    const start = 1 + (this.cfg.random.u32() % 0xfffe);
    for (let i = 0; i < 0xfffe; i++) {
      const id = 1 + ((start - 1 + i) % 0xfffe);
      if (!this.bySid.has(id)) return id;
    }
    return undefined;
  }

  /** §5.5: only the station that owns the session can end it. */
  private handlePadt(f: DiscoveryFrame): void {
    this.c.padtReceived++;
    if (f.ethernet.destination !== this.cfg.mac) return this.drop('not-for-us');
    const s = this.bySid.get(f.packet.sessionId);
    if (s === undefined) return this.drop('unknown-session');
    if (s.mac !== f.ethernet.source) return this.drop('spoofed-padt');
    this.end(s, 'padt-received', f.packet.tags.genericError);
  }

  // ------------------------------------------------------------------ sessions

  /** §6: one session-stage frame; the PPP frame starts after the 6-octet header at `o`. */
  private handleSessionFrame(now: Instant, frame: Uint8Array, o: number, vid: number | undefined): void {
    if (frame.length < o + PPPOE_HEADER_LENGTH) return this.malformed('truncated');
    if (frame[o] !== 0x11) return this.malformed('bad-version');
    if (frame[o + 1] !== PppoeCode.session) return this.malformed('bad-code');
    const len = u16(frame, o + 4);
    if (frame.length < o + PPPOE_HEADER_LENGTH + len) return this.malformed('truncated');
    if (vid !== this.cfg.vlan) return this.drop('other-vlan');
    if (readMac(frame, 0) !== this.cfg.mac) return this.drop('not-for-us');
    const sid = u16(frame, o + 2);
    const src = readMac(frame, 6);
    const s = this.bySid.get(sid);
    if (s === undefined) return this.unknownSession(now, frame, sid, src);
    if (s.mac !== src) return this.drop('spoofed-session-frame');
    const ppp = frame.subarray(o + PPPOE_HEADER_LENGTH, o + PPPOE_HEADER_LENGTH + len);
    s.used = true;
    s.framesIn++;
    s.bytesIn += len;
    this.c.sessionFramesIn++;
    this.c.sessionBytesIn += len;
    if (s.sink !== undefined) return s.sink.deliver(ppp, now);
    if (s.pending.length >= this.pendingMax) return this.drop('no-sink');
    s.pending.push(new Uint8Array(ppp));
  }

  /**
   * Session traffic for a session we do not have (e.g. after a restart): a PADT to its source tells
   * the client to start over; rate limited like discovery so it cannot be used to amplify.
   */
  private unknownSession(now: Instant, frame: Uint8Array, sid: number, src: MacAddress): void {
    this.drop('unknown-session');
    if (sid === 0 || sid === 0xffff || !this.allowDiscovery(now, src)) return;
    const vlans: VlanTag[] = [];
    for (let o = 12; isVlanTpid(u16(frame, o)) && vlans.length < 2; o += 4) {
      const tci = u16(frame, o + 2);
      vlans.push({ tpid: u16(frame, o), pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff });
    }
    this.send({ destination: src, source: this.cfg.mac, vlans, ethertype: EtherType.pppoeDiscovery }, PppoeCode.PADT, sid, { genericError: 'session unknown' });
    this.c.padtSent++;
  }

  /** Bind the session's data sink (once); frames that arrived before are delivered now. */
  bindSink(sessionId: number, sink: FrameSink, now: Instant): boolean {
    const s = this.bySid.get(sessionId);
    if (s === undefined || s.sink !== undefined) return false;
    s.sink = sink;
    const pending = s.pending;
    s.pending = [];
    for (const f of pending) sink.deliver(f, now);
    return true;
  }

  /**
   * Frame one PPP frame (starting at its Protocol field) for a session: the Ethernet frame to send,
   * or undefined for an unknown session or a frame whose information field exceeds the session's
   * payload (counted). With
   * `headroomFree` the caller gives up {@link PPPOE_HEADROOM} bytes of `ppp.buffer` in front of `ppp`
   * and the header is written there (no copy of the payload).
   */
  sendSession(sessionId: number, ppp: Uint8Array, headroomFree = false): Uint8Array | undefined {
    const s = this.bySid.get(sessionId);
    if (s === undefined) return undefined;
    // maxPayload is the MRU (RFC 4638 §2): the PPP information field, after the 2-octet Protocol.
    if (ppp.length > s.maxPayload + 2) {
      this.drop('too-long');
      return undefined;
    }
    const h = s.header.length;
    const out = headroomFree && ppp.byteOffset >= h ? new Uint8Array(ppp.buffer, ppp.byteOffset - h, h + ppp.length) : new Uint8Array(h + ppp.length);
    out.set(s.header, 0);
    put16(out, h - 2, ppp.length);
    if (out.buffer !== ppp.buffer || out.byteOffset + h !== ppp.byteOffset) out.set(ppp, h);
    s.framesOut++;
    s.bytesOut += ppp.length;
    this.c.sessionFramesOut++;
    this.c.sessionBytesOut += ppp.length;
    return out;
  }

  private end(s: Session, cause: SessionDownCause, detail?: string): void {
    this.bySid.delete(s.sessionId);
    const list = this.byMac.get(s.mac);
    const rest = list?.filter((x) => x !== s) ?? [];
    if (rest.length === 0) this.byMac.delete(s.mac);
    else this.byMac.set(s.mac, rest);
    this.events.push({ type: 'session-down', mac: s.mac, sessionId: s.sessionId, cause, ...(detail !== undefined ? { detail } : {}) });
  }

  private sendPadt(s: Session, detail: string | undefined): void {
    this.send(s.reply, PppoeCode.PADT, s.sessionId, {
      ...(s.hostUniq !== undefined ? { hostUniq: s.hostUniq } : {}),
      ...(s.relaySessionId !== undefined ? { relaySessionId: s.relaySessionId } : {}),
      ...(detail !== undefined ? { genericError: detail } : {}),
    });
    this.c.padtSent++;
  }

  /** End a session from our side (its PPP ended, admin clear): PADT to the client, `session-down`. */
  close(sessionId: number, detail?: string): boolean {
    const s = this.bySid.get(sessionId);
    if (s === undefined) return false;
    this.sendPadt(s, detail);
    this.end(s, 'closed', detail);
    return true;
  }

  /** End every session with a PADT (daemon stop). */
  shutdown(detail = 'AC shutting down'): void {
    for (const s of [...this.bySid.values()]) {
      this.sendPadt(s, detail);
      this.end(s, 'shutdown', detail);
    }
  }

  // ------------------------------------------------------------------ observability

  private drop(r: DropReason): void {
    this.drops[r]++;
  }

  private malformed(kind: string): void {
    this.drops.malformed++;
    this.malformedKinds[kind] = (this.malformedKinds[kind] ?? 0) + 1;
  }

  /** Counters since creation (a snapshot). */
  get counters(): PppoeAcCounters {
    return { ...this.c, dropped: { ...this.drops }, malformed: { ...this.malformedKinds } };
  }

  /** Sessions in this instance. */
  get sessionCount(): number {
    return this.bySid.size;
  }

  /** One session, or undefined. */
  session(sessionId: number): PppoeSessionInfo | undefined {
    const s = this.bySid.get(sessionId);
    return s === undefined ? undefined : info(s);
  }

  /** Every session, by SESSION_ID. */
  sessions(): PppoeSessionInfo[] {
    return [...this.bySid.values()].sort((a, b) => a.sessionId - b.sessionId).map(info);
  }
}

function info(s: Session): PppoeSessionInfo {
  return {
    mac: s.mac, sessionId: s.sessionId, vlan: s.vlan, serviceName: s.serviceName, circuitId: s.accessLine?.circuitId, remoteId: s.accessLine?.remoteId,
    maxPayload: s.maxPayload, since: s.since, framesIn: s.framesIn, bytesIn: s.bytesIn, framesOut: s.framesOut, bytesOut: s.bytesOut, sinkBound: s.sink !== undefined,
  };
}
