/**
 * Structured values of the Microsoft MS-CHAP attributes (RFC 2548 §2.3): MS-CHAP2-Response (what a
 * NAS sends for an MS-CHAPv2 peer), MS-CHAP2-Success (the server's authenticator response that goes
 * back to the peer in the CHAP Success, RFC 2759 §5) and MS-CHAP-Error (RFC 2548 §2.1.5).
 */
import { err, ok, type Result } from '../../base/index.js';

/** RFC 2548 §2.3.2 MS-CHAP2-Response: Ident(1) Flags(1) Peer-Challenge(16) Reserved(8) Response(24). */
export interface MsChap2Response {
  readonly ident: number;
  readonly flags: number;
  readonly peerChallenge: Uint8Array;
  readonly ntResponse: Uint8Array;
}

/** The 50 octets of an MS-CHAP2-Response value. */
export function encodeMsChap2Response(r: MsChap2Response): Result<Uint8Array, string> {
  if (r.peerChallenge.length !== 16) return err('Peer-Challenge must be 16 octets');
  if (r.ntResponse.length !== 24) return err('NT-Response must be 24 octets');
  const out = new Uint8Array(50);
  out[0] = r.ident & 0xff;
  out[1] = r.flags & 0xff;
  out.set(r.peerChallenge, 2);
  out.set(r.ntResponse, 26);
  return ok(out);
}

/** Parse an MS-CHAP2-Response value. */
export function parseMsChap2Response(v: Uint8Array): Result<MsChap2Response, string> {
  if (v.length !== 50) return err(`length ${v.length}, want 50`);
  return ok({ ident: v[0] as number, flags: v[1] as number, peerChallenge: v.slice(2, 18), ntResponse: v.slice(26, 50) });
}

/** RFC 2548 §2.3.3 MS-CHAP2-Success: Ident(1) + "S=" + 40 hex digits (RFC 2759 §5), maybe " M=...". */
export interface MsChap2Success {
  readonly ident: number;
  /** The 20-octet authenticator response (RFC 2759 §8.7). */
  readonly authenticatorResponse: Uint8Array;
  /** The whole text after the ident octet ("S=... [M=...]"), to pass on to the peer verbatim. */
  readonly message: string;
}

const ascii = new TextDecoder('latin1');

/** Parse an MS-CHAP2-Success value. */
export function parseMsChap2Success(v: Uint8Array): Result<MsChap2Success, string> {
  if (v.length < 43) return err(`length ${v.length}, want at least 43`);
  const message = ascii.decode(v.subarray(1));
  const m = /^S=([0-9A-Fa-f]{40})/.exec(message);
  if (m === null) return err('no S=<40 hex digits>');
  const hex = m[1] as string;
  const authenticatorResponse = new Uint8Array(20);
  for (let i = 0; i < 20; i++) authenticatorResponse[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return ok({ ident: v[0] as number, authenticatorResponse, message });
}

/** RFC 2548 §2.1.5 MS-CHAP-Error: Ident(1) + "E=eeeeeeeeee R=r C=cccc V=vvvvvvvvvv M=<msg>" (RFC 2759 §6). */
export interface MsChapError {
  readonly ident: number;
  /** The error code (E=, e.g. 691 authentication failure), when present. */
  readonly code: number | undefined;
  /** The whole text after the ident octet. */
  readonly message: string;
}

/** Parse an MS-CHAP-Error value. */
export function parseMsChapError(v: Uint8Array): Result<MsChapError, string> {
  if (v.length < 1) return err('empty');
  const message = ascii.decode(v.subarray(1));
  const m = /(?:^|\s)E=(\d+)/.exec(message);
  return ok({ ident: v[0] as number, code: m !== null ? Number(m[1]) : undefined, message });
}
