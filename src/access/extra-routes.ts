/**
 * Routes a session gets beyond its own address and /64: RADIUS Framed-Route prefixes (RFC 2865
 * §5.22) and the Delegated-IPv6-Prefix (RFC 4818) point at the session in the TUN-side route table,
 * their sources pass the session's ingress filter, and the kernel must send them (and addresses
 * outside every pool) into the TUN: those prefixes are returned as text for the shell's `ip route`.
 */
import type { SessionRoutes } from '../dataplane/index.js';
import type { Ipv6Route } from './aaa/index.js';
import { formatIpv4, formatIpv6, ipv4InPrefix, prefix64Bytes, type Ipv4Prefix } from '../base/index.js';

/** The extra routes one session holds. */
export interface SessionExtras {
  readonly v4: readonly Ipv4Prefix[];
  readonly v6: readonly Ipv6Route[];
  /** Prefixes handed to the kernel (removed again at the end). */
  readonly kernel: readonly string[];
}

/** What holds a session's extras (the session record): the add and remove functions replace `extras`. */
export interface ExtrasHolder {
  extras: SessionExtras;
}

const NONE: readonly never[] = Object.freeze([]);
const NO_EXTRAS: SessionExtras = Object.freeze({ v4: NONE, v6: NONE, kernel: NONE });

/** Nothing extra: one shared frozen record (no object per idle session); the add functions replace it. */
export const noExtras = (): SessionExtras => NO_EXTRAS;

const text4 = (p: Ipv4Prefix): string => `${formatIpv4(p.network)}/${p.length}`;
const text6 = (p: Ipv6Route): string => `${formatIpv6(prefix64Bytes(p.network64))}/${p.length}`;

/**
 * Install IPv4 prefix routes toward `target`; `hostRoute` = the kernel needs a /32 for the session
 * address too (it is in no pool, or every session is announced by a routing daemon). Returns new kernel prefixes.
 */
export function addIpv4Extras<T>(routes: SessionRoutes<T>, h: ExtrasHolder, target: T, prefixes: readonly Ipv4Prefix[], address: number, hostRoute: boolean): string[] {
  const kernel: string[] = hostRoute ? [`${formatIpv4(address)}/32`] : [];
  for (const p of prefixes) {
    routes.addIpv4Prefix(p.network, p.length, target);
    kernel.push(text4(p));
  }
  // Nothing added: the shared empty record stays (no object or arrays per idle session).
  const x = h.extras;
  if (prefixes.length > 0 || kernel.length > 0) h.extras = { v4: prefixes.length > 0 ? [...x.v4, ...prefixes] : x.v4, v6: x.v6, kernel: kernel.length > 0 ? [...x.kernel, ...kernel] : x.kernel };
  return kernel;
}

/** Install IPv6 prefix routes (and a /64 outside the configured prefix) toward `target`. Returns new kernel prefixes. */
export function addIpv6Extras<T>(routes: SessionRoutes<T>, h: ExtrasHolder, target: T, prefixes: readonly Ipv6Route[], own64Outside: bigint | undefined): string[] {
  const kernel: string[] = own64Outside !== undefined ? [text6({ network64: own64Outside, length: 64 })] : [];
  for (const p of prefixes) {
    routes.addIpv6Route(p.network64, p.length, target);
    kernel.push(text6(p));
  }
  const x = h.extras;
  if (prefixes.length > 0 || kernel.length > 0) h.extras = { v4: x.v4, v6: prefixes.length > 0 ? [...x.v6, ...prefixes] : x.v6, kernel: kernel.length > 0 ? [...x.kernel, ...kernel] : x.kernel };
  return kernel;
}

/** Remove every extra route; returns the kernel prefixes to withdraw. */
export function removeExtras<T>(routes: SessionRoutes<T>, h: ExtrasHolder): readonly string[] {
  const x = h.extras;
  for (const p of x.v4) routes.removeIpv4Prefix(p.network, p.length);
  for (const p of x.v6) routes.removeIpv6Route(p.network64, p.length);
  h.extras = NO_EXTRAS;
  return x.kernel;
}

/** Ingress filter (BCP 38): an IPv4 source inside one of the session's routed prefixes. */
export function inExtras4(x: SessionExtras, source: number): boolean {
  for (const p of x.v4) if (ipv4InPrefix(source, p)) return true;
  return false;
}

/** Ingress filter: an IPv6 source (upper 64 bits) inside one of the session's routed prefixes. */
export function inExtras6(x: SessionExtras, source64: bigint): boolean {
  for (const p of x.v6) {
    const mask = p.length === 0 ? 0n : ((1n << BigInt(p.length)) - 1n) << BigInt(64 - p.length);
    if ((source64 & mask) === p.network64) return true;
  }
  return false;
}
