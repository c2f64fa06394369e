/**
 * access: remote-access PPP over L2TP, sans-I/O. `AccessServer` is the LNS (one authenticator
 * PppLink per L2TP session, one shared TUN, IPv4 pool, a /64 per session for IPv6);
 * `AccessClient` is dial-out (our LAC runs PPP as the peer and hands IP to a local TUN);
 * `Dialer` decides when a LAC tunnel is dialled, redialled and hung up (and follows its IPsec flow).
 * `aaa/` is the RADIUS side of the LNS: auth routing, authorization, accounting records, timers, the
 * RFC 5176 session table.
 * Contract: the shell forwards `L2tpEngine` events and TUN packets in, sends `pollTransmit()`,
 * binds its TUN device as a `TunWriter` (or writes `pollTunWrite()`), arms one timer at `pollAt()`
 * and maps `pollEvent()` to logs/metrics. Inbound data is the fast path: each session binds a data
 * sink on the engine, so frames reach the PPP link and the TUN writer without events. The same server
 * terminates PPPoE sessions (BRAS): the shell opens each with `openLower(now, pppoeLower(...))` and
 * ends it with `lowerGone` on the client's PADT; both lower layers implement `SessionLower` (lower.ts).
 * No clock, timers, sockets or files in here; time is passed in as `now`.
 */
export { AccessServer, ACCESS_SERVER_DEFAULTS, LOWER_TUNNEL } from './server.js';
export { l2tpLower, pppoeLower } from './lower.js';
export { LacSwitch } from './lac-switch.js';
export type { LacSwitchConfig, LacSwitchEvent, RouteAnswer, SwitchCall, SwitchEngine } from './lac-switch.js';
export { LacSelect } from './lac-select.js';
export type { Authorization, LacSelectConfig, LacSelectEvent, SelectEngine } from './lac-select.js';
export type { SessionLower, LowerClose, PppoeLowerInfo, PppoeSessions } from './lower.js';
export type { AccessServerConfig, AccessEngine, AccessEvent, AccessCounters, AccessSessionInfo, AccessStats } from './server.js';
export { AccessClient } from './client.js';
export { TunQueue, type TunWriter } from './tun-writer.js';
export type { AccessClientConfig, AccessClientEvent, AccessClientInfo, AccessClientState } from './client.js';
export { UserTable, AddressBook, SessionAddressPool } from './directory.js';
export type { UserDirectory, AddressFailure, AddressHint, HeldLease, LeaseObserver } from './directory.js';
export {
  AccessAaa, NO_AUTHORIZATION, TERMINATE_CAUSES, authorizationFromReply, firstStep, l2tpTerminateCause, localAnswer, nextStep, parseFramedRoute, resultFromRadius, terminateCause,
} from './aaa/index.js';
export type {
  AaaExpiry, AaaSessionView, AccessAaaConfig, AccessAuthResult, AuthBackendName, AuthChainConfig, AuthFallback, AuthSource, BackendAnswer, CallInfo, ChainStep,
  Ipv6Route, LiveCounters, SessionAuthorization, TunnelServerIdentity,
} from './aaa/index.js';
export { cdnFor } from './disconnect.js';
export type { AccessEndReason } from './disconnect.js';
export { Ipv6PrefixPool } from './ipv6.js';
export { Dialer, DIALER_TABLE, DEFAULT_REDIAL_BACKOFF } from './dialer.js';
export type { DialerConfig, DialerEvent, DialerInfo, DialerInput, DialerState, RedialBackoff } from './dialer.js';
export { PppoeAccessConcentrator, PPPOE_HEADROOM, PPPOE_DEFAULT_PAYLOAD, CookieJar, TokenBucket, KeyedTokenBuckets } from './pppoe/index.js';
export type { FrameSink, PppoeAcConfig, PppoeAcEvent, PppoeAcCounters, PppoeSessionInfo, DropReason, SessionDownCause, Rate } from './pppoe/index.js';
export { TunnelSelector, resolveDomain, splitRealm, resolveProfile, resolveRadius, MAX_DESTINATIONS, MAX_LEVELS, TUNNEL_TYPE_L2TP, TUNNEL_MEDIUM_IPV4 } from './selection/index.js';
export type {
  SelectRequest, SelectorConfig, SelectorConfigError, Selection, Choice, ChosenDestination, Failover, SelectorEvent, DestinationInfo, TunnelInfo,
  TunnelKey, SessionTicket, TunnelFailure, RejectReason, DomainMap, DomainMapEntry, DomainTarget, DomainResolution, TunnelProfile, TunnelDestination,
  LoadBalancing, RadiusTunnelGroup, ProfileError, ResolvedDestination, ResolvedPlan,
} from './selection/index.js';
export { fastPathEntry, pppHeader4, addFastCounters, foldTakenRows, TAKEN_ROW, offloadKeepalive, withdrawKeepalive } from './fast-path.js';
export type { FastPathTable, FastPathSession, FastPathCounters, FastPathSource, KeepaliveHolder } from './fast-path.js';
