/**
 * access/selection: where a LAC sends a subscriber (RFC 2868 tunnel attributes, domain maps, tunnel
 * profiles with preference levels, load balancing, failover, dead destinations, tunnel sharing by
 * Tunnel-Assignment-Id, sessions-per-tunnel limits), sans-I/O on the injected clock. Contract: the
 * shell asks `select(now, {username, radius})`, opens or reuses the chosen tunnel, reports
 * `tunnelUp` / `tunnelFailed` (and follows the returned failovers) / `tunnelDown`, `confirm`s and
 * `release`s sessions, arms one timer at `pollAt()` and drains `pollEvent()`.
 */
export { TunnelSelector, type SelectRequest, type SelectorConfigError } from './selector.js';
export { resolveDomain, splitRealm, type DomainResolution } from './domain-map.js';
export { resolveProfile, resolveRadius, MAX_DESTINATIONS, MAX_LEVELS, L2TP_PORT, type ProfileError, type ResolvedDestination, type ResolvedPlan } from './profile.js';
export * from './types.js';
