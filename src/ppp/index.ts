/**
 * ppp: the sans-I/O PPP core of l2tpkit (RFC 1661 LCP and its automaton, RFC 1332/1877 IPCP,
 * RFC 5072 IPV6CP, RFC 1334 PAP, RFC 1994 CHAP, RFC 2759 MS-CHAPv2).
 * Contract: `PppLink` takes PPP frames and `now`, gives frames to send and typed events; it never
 * reads a clock, sets a timer or touches a socket. Authentication decisions come from an injected
 * `AuthVerifier` or, without one, through `auth-request` events answered by `authResult()`.
 * Addresses come from an injected `AddressPool`.
 */
export { PppLink } from './link.js';
export type { PppLinkConfig, PppLinkOwn, PppEvent, PppPhase, LinkDownReason, ProxyLcp, IpPacket } from './link.js';
export type { AuthProtocol, LcpKeepalive, LcpState } from './lcp.js';
export { DEFAULT_LCP } from './lcp.js';
export type { AddressPool, IpcpResult } from './ipcp.js';
export type { AuthVerifier, AuthRequest, AuthDecision } from './auth/types.js';
export { verifyLocally } from './auth/authenticator.js';
export type { FsmConfig, FsmState } from './option-fsm.js';
export { linkLocalAddress } from './ipv6cp.js';
