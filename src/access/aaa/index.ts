/**
 * access/aaa: authentication routing (users file and RADIUS in a configured order), the session
 * authorization from RADIUS reply attributes, accounting records with exact data-path counters,
 * Session-/Idle-Timeout and interim timers, Acct-Terminate-Cause from the real ending, and the
 * RFC 5176 session table. Sans-I/O: the access server drives it; the daemon talks to RADIUS.
 */
export { AccessAaa, type AaaExpiry, type AaaSessionView, type CallInfo, type LiveCounters } from './session-aaa.js';
export { authorizationFromReply, parseFramedRoute, resultFromRadius } from './authorization.js';
export { firstStep, localAnswer, nextStep, type AuthBackendName, type AuthChainConfig, type AuthFallback, type BackendAnswer, type ChainStep } from './auth-chain.js';
export { TERMINATE_CAUSES, l2tpTerminateCause, terminateCause } from './terminate-cause.js';
export { NO_AUTHORIZATION } from './types.js';
export type { AccessAaaConfig, AccessAuthResult, AuthSource, Ipv6Route, SessionAuthorization, TunnelServerIdentity } from './types.js';
