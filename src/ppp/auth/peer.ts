/**
 * The peer side (client) of PAP (RFC 1334 §2.1), CHAP-MD5 (RFC 1994 §4) and MS-CHAPv2
 * (RFC 2759 §4-§6, including the check of the authenticator's "S=" response).
 */
import { addDuration, bytesEqual, type Duration, type Instant, type RandomSource } from '../../base/index.js';
import { ChapCode, encodeChapPacket, encodeMsChapV2Response, encodePapPacket, PapCode, parseChapPacket, parseMsChapV2Success, parsePapPacket, PppProtocol } from '../../wire/ppp/index.js';
import type { AuthProtocol } from '../lcp.js';
import { chapMd5Response, generateNtResponse, generateAuthenticatorResponse } from './mschapv2-crypto.js';
import type { AuthOutput } from './types.js';

/** Peer settings. */
export interface AuthPeerOptions {
  readonly username: string;
  readonly password: string;
  readonly random: RandomSource;
  /** PAP retransmission interval and count; CHAP waits interval x count for the exchange. */
  readonly restartTimer: Duration;
  readonly maxRequests: number;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** One authentication exchange, peer side. */
export class AuthPeer {
  private done = false;
  private id = 0;
  private tries = 0;
  private timer: Instant | undefined;
  private mschap: { authChallenge: Uint8Array; peerChallenge: Uint8Array; ntResponse: Uint8Array } | undefined;

  /** `method` is what LCP agreed. */
  constructor(
    readonly method: AuthProtocol,
    private readonly opts: AuthPeerOptions,
    private readonly out: Omit<AuthOutput, 'request'>,
  ) {}

  /** Begin: PAP sends Authenticate-Request; CHAP waits for a Challenge. */
  start(now: Instant): void {
    if (this.method === 'pap') {
      this.id = this.opts.random.u32() & 0xff;
      this.sendPap(now);
    } else this.timer = addDuration(now, (this.opts.restartTimer * this.opts.maxRequests) as Duration);
  }

  private sendPap(now: Instant): void {
    this.tries++;
    this.timer = addDuration(now, this.opts.restartTimer);
    this.out.send(
      PppProtocol.PAP,
      encodePapPacket({ code: PapCode.AuthenticateRequest, identifier: this.id, peerId: enc(this.opts.username), password: enc(this.opts.password) }),
    );
  }

  /** Next retransmission / give-up instant. */
  pollAt(): Instant | undefined {
    return this.timer;
  }

  /** Retransmit (PAP, RFC 1334 §2.2.1) or give up. */
  handleTimeout(now: Instant): void {
    if (this.timer === undefined || now < this.timer || this.done) return;
    this.timer = undefined;
    if (this.method === 'pap' && this.tries < this.opts.maxRequests) return this.sendPap(now);
    this.finish(now, false, 'timeout');
  }

  private finish(now: Instant, ok: boolean, reason: string): void {
    this.done = true;
    this.timer = undefined;
    this.out.done({ ok, method: this.method, username: this.opts.username, reason }, now);
  }

  /** A PAP or CHAP packet from the authenticator. */
  receive(now: Instant, protocol: number, info: Uint8Array): void {
    if (this.done) return;
    if (protocol === PppProtocol.PAP && this.method === 'pap') {
      const r = parsePapPacket(info);
      if (!r.ok || r.value.code === PapCode.AuthenticateRequest || r.value.identifier !== this.id) return;
      this.finish(now, r.value.code === PapCode.AuthenticateAck, r.value.code === PapCode.AuthenticateAck ? 'verified' : 'failure-received');
      return;
    }
    if (protocol !== PppProtocol.CHAP || this.method === 'pap') return;
    const r = parseChapPacket(info);
    if (!r.ok) return;
    const p = r.value;
    if (p.code === ChapCode.Challenge && 'value' in p) {
      this.id = p.identifier;
      let value: Uint8Array;
      if (this.method === 'chap-md5') value = chapMd5Response(p.identifier, enc(this.opts.password), p.value);
      else {
        // RFC 2759 §4: a 16-octet Authenticator Challenge; we add our Peer-Challenge.
        if (p.value.length !== 16) return;
        const peerChallenge = this.opts.random.bytes(16);
        const ntResponse = generateNtResponse(p.value, peerChallenge, this.opts.username, this.opts.password);
        this.mschap = { authChallenge: p.value.slice(), peerChallenge, ntResponse };
        value = encodeMsChapV2Response({ peerChallenge, ntResponse, flags: 0 });
      }
      this.out.send(PppProtocol.CHAP, encodeChapPacket({ code: ChapCode.Response, identifier: p.identifier, value, name: enc(this.opts.username) }));
      return;
    }
    if ((p.code === ChapCode.Success || p.code === ChapCode.Failure) && 'message' in p) {
      if (p.identifier !== this.id) return;
      if (p.code === ChapCode.Failure) return this.finish(now, false, 'failure-received');
      if (this.method === 'mschapv2') {
        // RFC 2759 §5: check the authenticator knows the password too.
        const s = parseMsChapV2Success(p.message);
        const m = this.mschap;
        if (!s.ok || m === undefined) return this.finish(now, false, 'bad-authenticator-response');
        const expect = generateAuthenticatorResponse(this.opts.password, m.ntResponse, m.peerChallenge, m.authChallenge, this.opts.username);
        if (!bytesEqual(expect, s.value.authenticatorResponse)) return this.finish(now, false, 'bad-authenticator-response');
      }
      this.finish(now, true, 'verified');
    }
  }
}
