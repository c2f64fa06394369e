/**
 * Test-side local termination for PPPoE sessions: each `session-up` of the access concentrator gets
 * one authenticator `PppLink` (src/ppp/link.ts, used unchanged) bound as the session's FrameSink.
 * PPP frames go without Address/Control (RFC 2516 §7), the link's timers run on the port's
 * TimerDriver, ICMP echo requests to our address are answered (so a real client can ping through
 * the session), and when the link goes down the session is closed with a PADT after `lingerMs`
 * (a client that sends its own PADT first wins). Not a product: the access server's PPPoE lower
 * layer is the integrator's job; this proves the AC core can carry a full PPP session.
 */
import { seededRandom } from '../../src/base/random.js';
import { seconds, type Instant } from '../../src/base/time.js';
import type { PppoeAcEvent } from '../../src/access/pppoe/types.js';
import { PPPOE_HEADROOM } from '../../src/access/pppoe/concentrator.js';
import { PppLink, type LinkDownReason } from '../../src/ppp/link.js';
import type { TimerDriver } from '../../src/io/timer-driver.js';
import { echoReplyFor } from '../lib/tun-packets.js';
import type { MacAddress } from '../../src/wire/pppoe/mac.js';

/** What the terminator needs of the AC port. */
export interface SessionPort {
  sendPpp(sessionId: number, ppp: Uint8Array, headroomFree?: boolean): boolean;
  closeSession(sessionId: number, detail?: string): boolean;
}

/** One terminated session, kept after it ended. */
export interface TerminatedSession {
  readonly sessionId: number;
  readonly mac: MacAddress;
  readonly up: Extract<PppoeAcEvent, { type: 'session-up' }>;
  readonly link: PppLink;
  /** LCP Configure-Requests received before LCP opened (copies, starting at the Protocol field). */
  readonly lcpConfReqs: Uint8Array[];
  address: string | undefined;
  username: string | undefined;
  authMethod: string | undefined;
  echoesAnswered: number;
  linkDown: LinkDownReason | undefined;
  sessionDown: Extract<PppoeAcEvent, { type: 'session-down' }> | undefined;
}

/** Options of {@link PppTerminator}. */
export interface TerminatorOptions {
  readonly users: Readonly<Record<string, string>>;
  /** Our IPCP address. */
  readonly localAddress: string;
  /** Peer addresses handed out in order and given back when a session ends. */
  readonly pool: readonly string[];
  readonly lingerMs: number;
  readonly now: () => Instant;
}

/** Terminates PPP for every session of one AC port. */
export class PppTerminator {
  /** Every session seen, by session id (the last one with that id). */
  readonly sessions = new Map<number, TerminatedSession>();
  private readonly free: string[];
  private readonly random = seededRandom(0x2516);
  private port: SessionPort | undefined;

  constructor(
    private readonly opts: TerminatorOptions,
    private readonly timers: TimerDriver,
  ) {
    this.free = [...opts.pool];
  }

  /** Addresses not leased. */
  get freeAddresses(): readonly string[] {
    return this.free;
  }

  /** The port to send on (set once it is open). */
  attach(port: SessionPort): void {
    this.port = port;
  }

  /** Feed every AC event here. */
  onEvent(e: PppoeAcEvent, bindSink: (sessionId: number, deliver: (frame: Uint8Array) => void) => boolean): void {
    if (e.type === 'session-up') this.start(e, bindSink);
    else {
      const s = this.sessions.get(e.sessionId);
      if (s === undefined) return;
      s.sessionDown = e;
      if (s.linkDown === undefined) s.link.lowerDown(this.opts.now());
      this.flush(s);
    }
  }

  private start(e: Extract<PppoeAcEvent, { type: 'session-up' }>, bindSink: (sessionId: number, deliver: (frame: Uint8Array) => void) => boolean): void {
    const users = this.opts.users;
    const free = this.free;
    const link = new PppLink({
      role: 'authenticator',
      random: this.random,
      mru: e.maxPayload,
      auth: ['chap-md5', 'pap'],
      verifier: { lookup: (u) => (users[u] === undefined ? undefined : { password: users[u] }) },
      pool: { allocate: () => free.shift(), release: (a) => void free.push(a) },
      ipcp: { localAddress: this.opts.localAddress },
      ipv6cp: false,
      addressControl: false,
      echoInterval: seconds(10),
    });
    const s: TerminatedSession = {
      sessionId: e.sessionId, mac: e.mac, up: e, link, lcpConfReqs: [], address: undefined, username: undefined, authMethod: undefined,
      echoesAnswered: 0, linkDown: undefined, sessionDown: undefined,
    };
    this.sessions.set(e.sessionId, s);
    bindSink(e.sessionId, (frame) => this.receive(s, frame));
    this.timers.add(link, () => this.flush(s));
    link.open(this.opts.now());
    this.flush(s);
  }

  private receive(s: TerminatedSession, frame: Uint8Array): void {
    // RFC 1661 §5.1: Configure-Request is LCP code 1.
    if (frame[0] === 0xc0 && frame[1] === 0x21 && frame[2] === 1 && s.link.lcpState !== 'Opened') s.lcpConfReqs.push(Uint8Array.from(frame));
    const ip = s.link.handleFrame(this.opts.now(), frame);
    if (ip !== undefined && ip.version === 4) this.answerPing(s, ip.packet);
    this.flush(s);
    this.timers.touch(s.link);
  }

  /** RFC 792: an echo request to our address gets its reply back through the session. */
  private answerPing(s: TerminatedSession, p: Uint8Array): void {
    const ihl = ((p[0] ?? 0) & 0x0f) * 4;
    const dst = `${p[16]}.${p[17]}.${p[18]}.${p[19]}`;
    if (p[9] !== 1 || p[ihl] !== 8 || dst !== this.opts.localAddress) return;
    const reply = echoReplyFor(p);
    const room = new Uint8Array(PPPOE_HEADROOM + 2 + reply.length);
    room.set(reply, PPPOE_HEADROOM + 2);
    const framed = s.link.sendIp(room.subarray(PPPOE_HEADROOM + 2), 4, PPPOE_HEADROOM);
    if (framed !== undefined && this.port?.sendPpp(s.sessionId, framed, true) === true) s.echoesAnswered++;
  }

  private flush(s: TerminatedSession): void {
    for (let f = s.link.pollTransmit(); f !== undefined; f = s.link.pollTransmit()) this.port?.sendPpp(s.sessionId, f);
    for (let e = s.link.pollEvent(); e !== undefined; e = s.link.pollEvent()) {
      if (e.type === 'ip-up') s.address = e.peer;
      if (e.type === 'auth-success') {
        s.username = e.username;
        s.authMethod = e.method;
      }
      if (e.type === 'link-down' && s.linkDown === undefined) {
        s.linkDown = e.reason;
        this.timers.remove(s.link);
        if (s.sessionDown === undefined) {
          setTimeout(() => {
            if (s.sessionDown === undefined) this.port?.closeSession(s.sessionId, `PPP ended: ${e.reason}`);
          }, this.opts.lingerMs).unref();
        }
      }
    }
  }
}
