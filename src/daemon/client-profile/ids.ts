/**
 * Stable identifiers for generated profiles: RFC 4122 §4.3 name-based (SHA-1, version 5) UUIDs
 * over server + user + purpose, so generating the same profile again yields the same UUIDs and a
 * re-import replaces the old connection instead of adding a second one. Apple's PayloadIdentifier
 * is reverse-DNS text built from the same names.
 */
import { createHash } from 'node:crypto';
import type { ProfileIds } from './types.js';

/** Our namespace UUID for client profiles (a fixed random value). */
export const PROFILE_NAMESPACE = '7f3c2b1e-5d4a-4c6b-9e8f-0a1b2c3d4e5f';

/** RFC 4122 §4.3: a version-5 UUID of `name` in `namespace`. */
export function uuidV5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replaceAll('-', ''), 'hex');
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest();
  const b = h.subarray(0, 16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x50; // version 5 (§4.1.3)
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80; // variant 10 (§4.1.1)
  const x = b.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`.toUpperCase();
}

/** Identifiers derived from the server and the user. */
export function stableIds(server: string, username: string): ProfileIds {
  return { uuid: (purpose) => uuidV5(PROFILE_NAMESPACE, `${server.toLowerCase()}\n${username}\n${purpose}`) };
}

/** A reverse-DNS-safe label: letters, digits and '-' only (Apple PayloadIdentifier parts). */
export function identifierLabel(s: string): string {
  const t = s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return t === '' ? 'x' : t;
}
