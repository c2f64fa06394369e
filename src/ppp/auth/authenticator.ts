/**
 * The authenticator side (LNS) of PAP (RFC 1334 §2), CHAP-MD5 (RFC 1994) and MS-CHAPv2
 * (RFC 2759). Sans-I/O: packets go out through `AuthOutput`, time comes in as `now`.
 */
import { addDuration, bytesEqual, type Duration, type Instant, type RandomSource } from '../../base/index.js';
import { ChapCode, encodeChapPacket, encodeMsChapV2Failure, encodeMsChapV2Success, encodePapPacket, PapCode, parseChapPacket, parseMsChapV2Response, parsePapPacket, PppProtocol } from '../../wire/ppp/index.js';
import type { AuthProtocol } from '../lcp.js';
import { chapMd5Response, generateNtResponse, generateAuthenticatorResponse } from './mschapv2-crypto.js';
import type { AuthDecision, AuthOutput, AuthRequest, AuthVerifier } from './types.js';

/** Authenticator settings. */
export interface AuthenticatorOptions {
  /** Local user table; absent = every request goes out as an `AuthRequest` for an external decision. */
  readonly verifier?: AuthVerifier | undefined;
  readonly random: RandomSource;
  /** Our CHAP Name. */
  readonly name: string;
  /** Challenge retransmission interval and count (RFC 1994 §4.1); PAP waits interval x count. */
  readonly restartTimer: Duration;
  readonly maxChallenges: number;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

type Phase = 'idle' | 'waiting' | 'pending' | 'success' | 'failure';

/** No challenge outstanding (shared: a finished exchange keeps no per-session bytes). */
const NO_CHALLENGE = new Uint8Array(0);

/** One authentication exchange, authenticator side. */
export class Authenticator {
  private phase: Phase = 'idle';
  private id = 0;
  private challenge: Uint8Array = NO_CHALLENGE;
  private tries = 0;
  private timer: Instant | undefined;
  private pendingReq: AuthRequest | undefined;
  /** The decision sent (a retransmitted request gets its reply again). */
  private lastDecision: AuthDecision | undefined;

  /** `method` is what LCP agreed. */
  constructor(
    readonly method: AuthProtocol,
    private readonly opts: AuthenticatorOptions,
    private readonly out: AuthOutput,
  ) {}

  /** True once a decision was sent. */
  get finished(): boolean {
    return this.phase === 'success' || this.phase === 'failure';
  }

  /** Begin: CHAP sends its Challenge; PAP waits for Authenticate-Request. */
  start(now: Instant): void {
    this.phase = 'waiting';
    this.tries = 0;
    if (this.method === 'pap') this.timer = addDuration(now, (this.opts.restartTimer * this.opts.maxChallenges) as Duration);
    else this.sendChallenge(now);
  }

  /**
   * L2TP proxy authentication (RFC 2661 §4.4.5): the LAC already collected the response. For CHAP
   * `response` is the Response Value, for PAP the password.
   */
  startProxy(now: Instant, p: { identifier: number; challenge: Uint8Array; name: string; response: Uint8Array }): void {
    this.phase = 'waiting';
    this.id = p.identifier & 0xff;
    this.challenge = p.challenge;
    if (this.method === 'pap') this.consider(now, { method: 'pap', username: p.name, password: dec(p.response) });
    else this.chapResponse(now, p.identifier & 0xff, p.response, p.name);
  }

  private sendChallenge(now: Instant): void {
    // RFC 1994 §4.1: a new Identifier (and here a new value) for every Challenge sent.
    this.id = this.opts.random.u32() & 0xff;
    this.challenge = this.opts.random.bytes(16);
    this.tries++;
    this.timer = addDuration(now, this.opts.restartTimer);
    this.out.send(PppProtocol.CHAP, encodeChapPacket({ code: ChapCode.Challenge, identifier: this.id, value: this.challenge, name: enc(this.opts.name) }));
  }

  /** Next retransmission / give-up instant. */
  pollAt(): Instant | undefined {
    return this.timer;
  }

  /** Retransmit the Challenge or give up. */
  handleTimeout(now: Instant): void {
    if (this.timer === undefined || now < this.timer) return;
    this.timer = undefined;
    if (this.phase !== 'waiting') return;
    if (this.method !== 'pap' && this.tries < this.opts.maxChallenges) return this.sendChallenge(now);
    this.phase = 'failure';
    this.out.done({ ok: false, method: this.method, username: '', reason: 'timeout' }, now);
  }

  /** A PAP or CHAP packet from the peer. Malformed ones are silently discarded. */
  receive(now: Instant, protocol: number, info: Uint8Array): void {
    if (protocol === PppProtocol.PAP && this.method === 'pap') {
      const r = parsePapPacket(info);
      if (!r.ok || r.value.code !== PapCode.AuthenticateRequest) return;
      const p = r.value;
      // RFC 1334 §2.2.1: a retransmitted request after our reply gets the same reply again.
      if (this.finished) return this.resend(protocol, p.identifier);
      if (this.phase !== 'waiting') return;
      this.id = p.identifier;
      this.consider(now, { method: 'pap', username: dec(p.peerId), password: dec(p.password) });
    } else if (protocol === PppProtocol.CHAP && this.method !== 'pap') {
      const r = parseChapPacket(info);
      if (!r.ok || r.value.code !== ChapCode.Response || !('value' in r.value)) return;
      const p = r.value;
      // RFC 1994 §4.2: a Response for an old Identifier is discarded; after Success, resend Success.
      if (this.finished) return this.resend(protocol, p.identifier);
      if (this.phase !== 'waiting' || p.identifier !== this.id) return;
      this.chapResponse(now, p.identifier, p.value, dec(p.name));
    }
  }

  private chapResponse(now: Instant, identifier: number, value: Uint8Array, username: string): void {
    if (this.method === 'chap-md5') {
      this.consider(now, { method: 'chap-md5', username, identifier, challenge: this.challenge, response: value });
      return;
    }
    const v = parseMsChapV2Response(value);
    if (!v.ok) {
      this.finish(now, username, { ok: false, message: 'malformed response' });
      return;
    }
    this.consider(now, {
      method: 'mschapv2',
      username,
      identifier,
      authenticatorChallenge: this.challenge,
      peerChallenge: v.value.peerChallenge.slice(),
      ntResponse: v.value.ntResponse.slice(),
    });
  }

  private resend(protocol: number, identifier: number): void {
    if (this.lastDecision === undefined || identifier !== this.id) return;
    const r = this.reply(this.lastDecision);
    if (r.protocol === protocol) this.out.send(protocol, r.info);
  }

  private consider(now: Instant, req: AuthRequest): void {
    this.timer = undefined;
    if (this.opts.verifier === undefined) {
      this.phase = 'pending';
      this.pendingReq = req;
      this.out.request(req);
      return;
    }
    this.finish(now, req.username, verifyLocally(req, this.opts.verifier));
  }

  /** The external decision for the pending request (ignored if none is pending). */
  decide(now: Instant, d: AuthDecision): void {
    if (this.phase !== 'pending' || this.pendingReq === undefined) return;
    const req = this.pendingReq;
    this.pendingReq = undefined;
    this.finish(now, req.username, d);
  }

  private finish(now: Instant, username: string, d: AuthDecision): void {
    this.timer = undefined;
    const { ok, protocol, info } = this.reply(d);
    this.phase = ok ? 'success' : 'failure';
    // A retransmitted request gets the same reply again (RFC 1994 §4.2), encoded anew from the
    // decision: an idle session keeps no packet bytes. After a Success the challenge is done with
    // (a Failure keeps it: the MS-CHAPv2 Failure message carries it).
    this.lastDecision = d;
    if (ok) this.challenge = NO_CHALLENGE;
    this.out.send(protocol, info);
    const granted = d.ok
      ? { ...(d.framedAddress !== undefined ? { framedAddress: d.framedAddress } : {}), ...(d.dns !== undefined ? { dns: d.dns } : {}), ...(d.nbns !== undefined ? { nbns: d.nbns } : {}) }
      : {};
    this.out.done({ ok, method: this.method, username, reason: ok ? 'verified' : 'rejected', ...granted }, now);
  }

  /** The PAP/CHAP packet that answers the current exchange with decision `d`. */
  private reply(d: AuthDecision): { ok: boolean; protocol: number; info: Uint8Array } {
    let ok = d.ok;
    if (this.method === 'pap') {
      const message = enc(d.message ?? (ok ? 'Login ok' : 'Login incorrect'));
      return { ok, protocol: PppProtocol.PAP, info: encodePapPacket({ code: ok ? PapCode.AuthenticateAck : PapCode.AuthenticateNak, identifier: this.id, message }) };
    }
    if (this.method === 'chap-md5') {
      const message = enc(d.message ?? (ok ? 'Access granted' : 'Access denied'));
      return { ok, protocol: PppProtocol.CHAP, info: encodeChapPacket({ code: ok ? ChapCode.Success : ChapCode.Failure, identifier: this.id, message }) };
    }
    const ar = d.ok ? d.authenticatorResponse : undefined;
    // RFC 2759 §5: Success must carry the AuthenticatorResponse; without one we cannot succeed.
    if (ok && (ar === undefined || ar.length !== 20)) ok = false;
    const info =
      ok && ar !== undefined
        ? encodeChapPacket({ code: ChapCode.Success, identifier: this.id, message: encodeMsChapV2Success({ authenticatorResponse: ar, message: d.message ?? 'Access granted' }) })
        : encodeChapPacket({
            code: ChapCode.Failure,
            identifier: this.id,
            // RFC 2759 §6: "E=691 R=0 C=<challenge> V=3 M=..." (no retry: we end the link).
            message: encodeMsChapV2Failure({
              error: d.ok ? 691 : (d.error ?? 691),
              retry: false,
              challenge: this.challenge.length === 16 ? this.challenge : new Uint8Array(16),
              version: 3,
              message: d.message ?? 'Authentication failure',
            }),
          });
    return { ok, protocol: PppProtocol.CHAP, info };
  }
}

const ACCEPT: AuthDecision = Object.freeze({ ok: true });
const REJECT: AuthDecision = Object.freeze({ ok: false });

/** Check a request against the local user table. */
export function verifyLocally(req: AuthRequest, v: AuthVerifier): AuthDecision {
  const pw = v.lookup(req.username)?.password;
  if (pw === undefined) return REJECT;
  switch (req.method) {
    case 'pap':
      return req.password === pw ? ACCEPT : REJECT;
    case 'chap-md5':
      return bytesEqual(chapMd5Response(req.identifier, enc(pw), req.challenge), req.response) ? ACCEPT : REJECT;
    case 'mschapv2': {
      const expect = generateNtResponse(req.authenticatorChallenge, req.peerChallenge, req.username, pw);
      if (!bytesEqual(expect, req.ntResponse)) return REJECT;
      return { ok: true, authenticatorResponse: generateAuthenticatorResponse(pw, req.ntResponse, req.peerChallenge, req.authenticatorChallenge, req.username) };
    }
  }
}
