/**
 * MS-CHAPv2 formats carried inside CHAP packets (RFC 2759).
 *
 * Response Value (§4), Value-Size = 49:
 *  +--------------------------------+
 *  | Peer-Challenge      16 octets  |
 *  | Reserved (zero)      8 octets  |
 *  | NT-Response         24 octets  |
 *  | Flags (zero)         1 octet   |
 *  +--------------------------------+
 *
 * Success Message (§5): "S=<auth_string> M=<message>", auth_string = 40 upper-case hex digits.
 * Failure Message (§6): "E=eeeeeeeeee R=r C=cccccccccccccccccccccccccccccccc V=vvvvvvvvvv M=<msg>".
 */
import { err, fromHex, ok, type Result, toHex } from '../../base/index.js';
import { type PppWireError, truncated } from './errors.js';

/** RFC 2759 §4 Response Value length. */
export const MSCHAPV2_RESPONSE_LENGTH = 49;

/** RFC 2759 §4 Response Value. */
export interface MsChapV2Response {
  readonly peerChallenge: Uint8Array;
  readonly ntResponse: Uint8Array;
  readonly flags: number;
}

/** Parse a 49-octet Response Value (the Reserved octets are ignored, §4: "MUST be zero"). */
export function parseMsChapV2Response(v: Uint8Array): Result<MsChapV2Response, PppWireError> {
  if (v.length < MSCHAPV2_RESPONSE_LENGTH) return err(truncated('ms-chapv2 response', MSCHAPV2_RESPONSE_LENGTH, v.length));
  if (v.length > MSCHAPV2_RESPONSE_LENGTH) return err({ kind: 'bad-length', what: 'ms-chapv2 response', length: v.length });
  return ok({ peerChallenge: v.subarray(0, 16), ntResponse: v.subarray(24, 48), flags: v[48] ?? 0 });
}

/** Write a Response Value into a fresh 49-octet array. */
export function encodeMsChapV2Response(r: MsChapV2Response): Uint8Array {
  if (r.peerChallenge.length !== 16 || r.ntResponse.length !== 24) throw new RangeError('ms-chapv2 response field sizes');
  const out = new Uint8Array(MSCHAPV2_RESPONSE_LENGTH);
  out.set(r.peerChallenge, 0);
  out.set(r.ntResponse, 24);
  out[48] = r.flags & 0xff;
  return out;
}

/** RFC 2759 §5 Success Message. */
export interface MsChapV2Success {
  /** The 20-octet AuthenticatorResponse. */
  readonly authenticatorResponse: Uint8Array;
  readonly message: string;
}

const latin1 = (b: Uint8Array): string => String.fromCharCode(...b);
const fromLatin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** Parse "S=<40 hex> M=<msg>" (the " M=" part is optional: some servers omit it). */
export function parseMsChapV2Success(msg: Uint8Array): Result<MsChapV2Success, PppWireError> {
  const s = latin1(msg);
  if (s.length < 42) return err(truncated('ms-chapv2 success', 42, s.length));
  if (!s.startsWith('S=') || !/^[0-9A-Fa-f]{40}$/.test(s.slice(2, 42)))
    return err({ kind: 'bad-value', what: 'ms-chapv2 success', detail: 'no S=<40 hex>' });
  const rest = s.slice(42);
  let message = '';
  if (rest.startsWith(' M=')) message = rest.slice(3);
  else if (rest.length > 0) return err({ kind: 'bad-value', what: 'ms-chapv2 success', detail: 'junk after auth string' });
  return ok({ authenticatorResponse: fromHex(s.slice(2, 42)), message });
}

/** Emit a Success message with upper-case hex (§5). */
export function encodeMsChapV2Success(s: MsChapV2Success): Uint8Array {
  return fromLatin1(`S=${toHex(s.authenticatorResponse).toUpperCase()} M=${s.message}`);
}

/** RFC 2759 §6 Failure Message. */
export interface MsChapV2Failure {
  /** E=: 646 restricted logon hours, 647 account disabled, 648 password expired, 649 no dial-in permission, 691 authentication failure, 709 changing password. */
  readonly error: number;
  /** R=1 when a retry is allowed. */
  readonly retry: boolean;
  /** C=: a new 16-octet Authenticator Challenge, if present. */
  readonly challenge?: Uint8Array;
  /** V=: the password-change protocol version (3). */
  readonly version?: number;
  readonly message: string;
}

/** Parse a Failure message; fields before " M=" are space separated `X=value` tokens. */
export function parseMsChapV2Failure(msg: Uint8Array): Result<MsChapV2Failure, PppWireError> {
  const s = latin1(msg);
  const mAt = s.indexOf('M=');
  const head = (mAt >= 0 ? s.slice(0, mAt) : s).trim();
  const message = mAt >= 0 ? s.slice(mAt + 2) : '';
  let error: number | undefined;
  let retry = false;
  let challenge: Uint8Array | undefined;
  let version: number | undefined;
  for (const tok of head.split(' ')) {
    if (tok === '') continue;
    const key = tok.slice(0, 2);
    const val = tok.slice(2);
    if (key === 'E=' && /^\d{1,10}$/.test(val)) error = Number(val);
    else if (key === 'R=' && /^[01]$/.test(val)) retry = val === '1';
    else if (key === 'C=' && /^[0-9A-Fa-f]{32}$/.test(val)) challenge = fromHex(val);
    else if (key === 'V=' && /^\d{1,10}$/.test(val)) version = Number(val);
    else return err({ kind: 'bad-value', what: 'ms-chapv2 failure', detail: `token ${JSON.stringify(tok)}` });
  }
  if (error === undefined) return err({ kind: 'bad-value', what: 'ms-chapv2 failure', detail: 'no E=' });
  return ok({
    error,
    retry,
    message,
    ...(challenge !== undefined ? { challenge } : {}),
    ...(version !== undefined ? { version } : {}),
  });
}

/** Emit a Failure message, e.g. "E=691 R=0 C=<32 hex> V=3 M=Authentication failure". */
export function encodeMsChapV2Failure(f: MsChapV2Failure): Uint8Array {
  let s = `E=${f.error} R=${f.retry ? 1 : 0}`;
  if (f.challenge !== undefined) s += ` C=${toHex(f.challenge).toUpperCase()}`;
  if (f.version !== undefined) s += ` V=${f.version}`;
  s += ` M=${f.message}`;
  return fromLatin1(s);
}
