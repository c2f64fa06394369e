/**
 * RADIUS cryptography, all MD5 based as the RFCs define it (node:crypto):
 *  - User-Password hiding (RFC 2865 §5.2), also used for MS-CHAP-MPPE-Keys (RFC 2548 §2.4.1);
 *  - salt encryption of Tunnel-Password (RFC 2868 §3.5) and MS-MPPE-Send/Recv-Key (RFC 2548 §2.4.2-3);
 *  - Request Authenticators of Accounting-, Disconnect- and CoA-Request (RFC 2866 §3, RFC 5176 §3.5);
 *  - Response Authenticators (RFC 2865 §3);
 *  - Message-Authenticator, HMAC-MD5 over the packet (RFC 3579 §3.2; Blast-RADIUS, CVE-2024-3596).
 * Every function works on octets; none keeps or changes its inputs. Comparisons are constant time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { err, ok, type Result } from '../../base/index.js';
import {
  ATTR_MESSAGE_AUTHENTICATOR,
  RADIUS_AUTHENTICATOR_LENGTH,
  RADIUS_CODE,
} from './constants.js';
import type { RadiusWireError } from './errors.js';
import { checkRadiusPacket, encodeRadiusPacket, findAttributeOffset, radiusLengthOf, type RadiusAttribute, type RadiusPacket } from './packet.js';

const md5 = (...parts: readonly Uint8Array[]): Uint8Array => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/** Constant-time equality of two octet strings (false when the lengths differ). */
export function octetsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** RFC 2865 §5.2: the password is at most 128 octets. */
export const USER_PASSWORD_MAX = 128;

/**
 * RFC 2865 §5.2 hiding: pad to a multiple of 16 with zeros; c(1) = p(1) xor MD5(S + RA),
 * c(i) = p(i) xor MD5(S + c(i-1)). An empty password still takes one block.
 */
export function hideUserPassword(password: Uint8Array, secret: Uint8Array, authenticator: Uint8Array): Result<Uint8Array, RadiusWireError> {
  if (password.length > USER_PASSWORD_MAX) return err({ kind: 'too-long', what: 'User-Password', length: password.length, max: USER_PASSWORD_MAX });
  const n = Math.max(16, Math.ceil(password.length / 16) * 16);
  const out = new Uint8Array(n);
  out.set(password);
  xorChain(out, 0, secret, authenticator, 'encrypt');
  return ok(out);
}

/** RFC 2865 §5.2 in reverse; trailing zero padding is removed. */
export function unhideUserPassword(hidden: Uint8Array, secret: Uint8Array, authenticator: Uint8Array): Result<Uint8Array, RadiusWireError> {
  const plain = unhideUserPasswordRaw(hidden, secret, authenticator);
  if (!plain.ok) return plain;
  let end = plain.value.length;
  while (end > 0 && plain.value[end - 1] === 0) end--;
  return ok(plain.value.subarray(0, end));
}

/** RFC 2865 §5.2 in reverse, padding kept (for fixed-size values such as MS-CHAP-MPPE-Keys). */
export function unhideUserPasswordRaw(hidden: Uint8Array, secret: Uint8Array, authenticator: Uint8Array): Result<Uint8Array, RadiusWireError> {
  if (hidden.length < 16 || hidden.length % 16 !== 0 || hidden.length > USER_PASSWORD_MAX) {
    return err({ kind: 'bad-value', attribute: 'User-Password', detail: `hidden length ${hidden.length} is not a multiple of 16 in 16..128` });
  }
  const out = new Uint8Array(hidden);
  xorChain(out, 0, secret, authenticator, 'decrypt');
  return ok(out);
}

/**
 * The MD5 chain shared by §5.2 and RFC 2868 §3.5: `buf[from..]` is xored block by block with
 * b(1) = MD5(S + first), b(i) = MD5(S + c(i-1)), where c is the ciphertext block.
 */
function xorChain(buf: Uint8Array, from: number, secret: Uint8Array, first: Uint8Array, dir: 'encrypt' | 'decrypt'): void {
  let prev = first;
  for (let o = from; o < buf.length; o += 16) {
    const b = md5(secret, prev);
    const cipher = dir === 'decrypt' ? buf.slice(o, o + 16) : undefined;
    for (let i = 0; i < 16; i++) buf[o + i] = (buf[o + i] as number) ^ (b[i] as number);
    prev = cipher ?? buf.subarray(o, o + 16);
  }
}

/**
 * RFC 2868 §3.5 / RFC 2548 §2.4.2 salt encryption. The plaintext is Data-Length(1) + data + zero
 * padding to a multiple of 16; b(1) = MD5(S + R + A) with R the Request Authenticator of the
 * Access-Request and A the 2-octet salt (its high bit MUST be set, and unique per packet, which the
 * caller guarantees). Returns Salt(2) + ciphertext (the Tunnel-Password tag is not included).
 */
export function saltEncrypt(data: Uint8Array, salt: number, secret: Uint8Array, requestAuthenticator: Uint8Array): Result<Uint8Array, RadiusWireError> {
  if ((salt & 0x8000) === 0 || salt > 0xffff || salt < 0) return err({ kind: 'bad-value', attribute: 'salt', detail: 'salt needs its high bit set (RFC 2868 §3.5)' });
  if (data.length > 239) return err({ kind: 'too-long', what: 'salt-encrypted value', length: data.length, max: 239 });
  const blocks = Math.ceil((data.length + 1) / 16);
  const out = new Uint8Array(2 + blocks * 16);
  out[0] = salt >>> 8;
  out[1] = salt & 0xff;
  out[2] = data.length;
  out.set(data, 3);
  xorChain(out, 2, secret, concat2(requestAuthenticator, out.subarray(0, 2)), 'encrypt');
  return ok(out);
}

/** RFC 2868 §3.5 in reverse: Salt(2) + ciphertext -> the data (the Data-Length prefix honoured). */
export function saltDecrypt(value: Uint8Array, secret: Uint8Array, requestAuthenticator: Uint8Array): Result<Uint8Array, RadiusWireError> {
  if (value.length < 18 || (value.length - 2) % 16 !== 0) {
    return err({ kind: 'bad-value', attribute: 'salt-encrypted', detail: `length ${value.length} is not 2 + a multiple of 16` });
  }
  if (((value[0] as number) & 0x80) === 0) return err({ kind: 'bad-value', attribute: 'salt-encrypted', detail: 'salt high bit clear' });
  const out = new Uint8Array(value);
  xorChain(out, 2, secret, concat2(requestAuthenticator, value.subarray(0, 2)), 'decrypt');
  const n = out[2] as number;
  if (n > out.length - 3) return err({ kind: 'bad-value', attribute: 'salt-encrypted', detail: `Data-Length ${n} exceeds the value` });
  return ok(out.slice(3, 3 + n));
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Codes whose Request Authenticator is MD5 over the packet (RFC 2866 §3, RFC 5176 §3.5). */
export function hasComputedRequestAuthenticator(code: number): boolean {
  return code === RADIUS_CODE.AccountingRequest || code === RADIUS_CODE.DisconnectRequest || code === RADIUS_CODE.CoaRequest;
}

/** Codes that answer a request (their authenticator is a Response Authenticator, RFC 2865 §3). */
export function isResponseCode(code: number): boolean {
  return (
    code === RADIUS_CODE.AccessAccept ||
    code === RADIUS_CODE.AccessReject ||
    code === RADIUS_CODE.AccessChallenge ||
    code === RADIUS_CODE.AccountingResponse ||
    code === RADIUS_CODE.DisconnectAck ||
    code === RADIUS_CODE.DisconnectNak ||
    code === RADIUS_CODE.CoaAck ||
    code === RADIUS_CODE.CoaNak
  );
}

/**
 * Finish an emitted packet in place (`buf` holds exactly one packet, attributes final):
 *  1. the authenticator field is set to what the hashes are taken over — `authenticator` for an
 *     Access-Request / Status-Server (random) and for a response (the request's), zeros otherwise;
 *  2. a Message-Authenticator attribute present in `buf` is computed over that (RFC 3579 §3.2);
 *  3. an Accounting-/Disconnect-/CoA-Request gets MD5(packet + secret) as Request Authenticator,
 *     a response MD5(Code+ID+Length+RequestAuth+Attributes+Secret) (RFC 2865 §3, RFC 2866 §3).
 */
export function signRadiusPacket(buf: Uint8Array, secret: Uint8Array, authenticator: Uint8Array | undefined): void {
  const code = buf[0] as number;
  const computed = hasComputedRequestAuthenticator(code);
  if (computed) buf.fill(0, 4, 4 + RADIUS_AUTHENTICATOR_LENGTH);
  else {
    if (authenticator?.length !== RADIUS_AUTHENTICATOR_LENGTH) throw new RangeError('a 16-octet authenticator is needed for this code');
    buf.set(authenticator, 4);
  }
  const ma = findAttributeOffset(buf, ATTR_MESSAGE_AUTHENTICATOR);
  if (ma >= 0) {
    if (buf[ma + 1] !== 18) throw new RangeError('Message-Authenticator must be 18 octets long');
    buf.fill(0, ma + 2, ma + 18);
    buf.set(new Uint8Array(createHmac('md5', secret).update(buf).digest()), ma + 2);
  }
  if (computed || isResponseCode(code)) buf.set(md5(buf, secret), 4);
}

/** What checking a received packet's authenticators found. */
export interface AuthenticatorCheck {
  /** The Request/Response Authenticator verifies (always true for Access-Request/Status-Server). */
  readonly authenticatorOk: boolean;
  /** A Message-Authenticator attribute is present. */
  readonly messageAuthenticatorPresent: boolean;
  /** It is present, 16 octets and verifies. */
  readonly messageAuthenticatorOk: boolean;
}

/**
 * Check a received packet (`buf`, one datagram; padding after Length ignored):
 *  - a response against the Request Authenticator of our request (`requestAuthenticator`);
 *  - an Accounting-/Disconnect-/CoA-Request against zeros (pass undefined);
 *  - an Access-Request / Status-Server: only its Message-Authenticator can be checked.
 * Nothing is thrown; a malformed header yields all false.
 */
export function checkAuthenticators(buf: Uint8Array, secret: Uint8Array, requestAuthenticator?: Uint8Array): AuthenticatorCheck {
  const len = radiusLengthOf(buf);
  if (!len.ok) return { authenticatorOk: false, messageAuthenticatorPresent: false, messageAuthenticatorOk: false };
  const copy = new Uint8Array(buf.subarray(0, len.value));
  const code = copy[0] as number;
  const received = copy.slice(4, 4 + RADIUS_AUTHENTICATOR_LENGTH);
  let basis: Uint8Array | undefined;
  if (hasComputedRequestAuthenticator(code)) basis = new Uint8Array(RADIUS_AUTHENTICATOR_LENGTH);
  else if (isResponseCode(code)) basis = requestAuthenticator;
  let authenticatorOk = true;
  if (basis !== undefined) {
    if (basis.length !== RADIUS_AUTHENTICATOR_LENGTH) return { authenticatorOk: false, messageAuthenticatorPresent: false, messageAuthenticatorOk: false };
    copy.set(basis, 4);
    authenticatorOk = octetsEqual(md5(copy, secret), received);
  } else if (isResponseCode(code)) {
    authenticatorOk = false;
  }
  const ma = findAttributeOffset(copy, ATTR_MESSAGE_AUTHENTICATOR, len.value);
  if (ma < 0) return { authenticatorOk, messageAuthenticatorPresent: false, messageAuthenticatorOk: false };
  if (copy[ma + 1] !== 18 || ma + 18 > copy.length) return { authenticatorOk, messageAuthenticatorPresent: true, messageAuthenticatorOk: false };
  const got = copy.slice(ma + 2, ma + 18);
  copy.fill(0, ma + 2, ma + 18);
  const want = new Uint8Array(createHmac('md5', secret).update(copy).digest());
  return { authenticatorOk, messageAuthenticatorPresent: true, messageAuthenticatorOk: octetsEqual(want, got) };
}

/** RFC 2865 §5.3 / RFC 1994 §4.1: CHAP-Password = Ident + MD5(Ident + password + challenge) (for tests and servers). */
export function chapPassword(ident: number, password: Uint8Array, challenge: Uint8Array): Uint8Array {
  const out = new Uint8Array(17);
  out[0] = ident & 0xff;
  out.set(md5(Uint8Array.of(ident & 0xff), password, challenge), 1);
  return out;
}

/** A packet to encode and sign (attributes already encoded, see `encodeAttribute`). */
export interface OutgoingRadiusPacket {
  readonly code: number;
  readonly identifier: number;
  readonly attributes: readonly RadiusAttribute[];
  /**
   * Add a Message-Authenticator (RFC 3579 §3.2) as the first attribute, where the Blast-RADIUS
   * guidance (draft-ietf-radext-deprecating-radius, CVE-2024-3596) wants it.
   */
  readonly messageAuthenticator?: boolean;
}

/**
 * Encode and sign a packet: `authenticator` is the random Request Authenticator of an
 * Access-Request / Status-Server, or the request's authenticator for a response; undefined for
 * Accounting-/Disconnect-/CoA-Request (computed). Errors: too long, bad values.
 */
export function encodeSignedPacket(p: OutgoingRadiusPacket, secret: Uint8Array, authenticator?: Uint8Array): Result<Uint8Array, RadiusWireError> {
  const attributes = p.messageAuthenticator === true ? [{ type: ATTR_MESSAGE_AUTHENTICATOR, vendor: 0, value: new Uint8Array(16) }, ...p.attributes] : p.attributes;
  const packet: RadiusPacket = { code: p.code, identifier: p.identifier, authenticator: new Uint8Array(RADIUS_AUTHENTICATOR_LENGTH), attributes };
  const bad = checkRadiusPacket(packet);
  if (bad !== undefined) return err(bad);
  if (!hasComputedRequestAuthenticator(p.code) && authenticator?.length !== RADIUS_AUTHENTICATOR_LENGTH) {
    return err({ kind: 'bad-length', what: 'authenticator', length: authenticator?.length ?? 0 });
  }
  const buf = encodeRadiusPacket(packet);
  signRadiusPacket(buf, secret, authenticator);
  return ok(buf);
}
