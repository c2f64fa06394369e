/**
 * The status page's access check: a bearer token (config `[status] token`, or one generated per
 * start), presented as `Authorization: Bearer TOKEN`, or once as `?token=TOKEN` which the server
 * answers with a cookie (HttpOnly, SameSite=Strict) holding an HMAC of the token, not the token.
 * Comparisons are constant-time over SHA-256 digests (equal lengths whatever was presented).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The cookie's name. */
export const STATUS_COOKIE = 'l2tpkit_status';

/** A fresh token: 24 random bytes, base64url (32 characters, 192 bits). */
export function generateStatusToken(): string {
  return randomBytes(24).toString('base64url');
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time equality of two strings (through their SHA-256 digests). */
export function sameSecret(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The cookie value for `token` (what the browser keeps instead of the token). */
export function cookieValue(token: string): string {
  return createHmac('sha256', token).update('l2tpkit status page cookie v1').digest('base64url');
}

/** How a request presented its credentials. */
export type Presented =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer' | 'query' | 'cookie'; readonly value: string };

/** Pick the credential from a request (header first, then the query, then the cookie). */
export function presentedCredential(headers: { readonly authorization?: string | undefined; readonly cookie?: string | undefined }, query: URLSearchParams): Presented {
  const auth = headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m?.[1] !== undefined ? { kind: 'bearer', value: m[1] } : { kind: 'bearer', value: '' };
  }
  const q = query.get('token');
  if (q !== null) return { kind: 'query', value: q };
  for (const part of (headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === STATUS_COOKIE) return { kind: 'cookie', value: v.join('=') };
  }
  return { kind: 'none' };
}

/** True when the presented credential opens the page. */
export function authorized(p: Presented, token: string): boolean {
  switch (p.kind) {
    case 'none':
      return false;
    case 'bearer':
    case 'query':
      return sameSecret(p.value, token);
    case 'cookie':
      return sameSecret(p.value, cookieValue(token));
  }
}
