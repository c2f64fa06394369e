/**
 * access/pppoe: the PPPoE access concentrator core (RFC 2516 discovery + session demultiplexing),
 * sans-I/O. Contract: the shell feeds every frame of the interface (AF_PACKET, `src/io/packet-socket`)
 * to `handleFrame(now, frame)`, sends `pollTransmit()`, arms one timer at `pollAt()`, maps
 * `pollEvent()` to sessions: on `session-up` it binds the session's `FrameSink` (PPP frames in) and
 * frames PPP out with `sendSession()`; `close()` ends a session with a PADT.
 */
export { PppoeAccessConcentrator, PPPOE_HEADROOM, PPPOE_DEFAULT_PAYLOAD } from './concentrator.js';
export { DROP_REASONS } from './types.js';
export type { FrameSink, PppoeAcConfig, PppoeAcEvent, PppoeAcCounters, PppoeSessionInfo, DropReason, SessionDownCause } from './types.js';
export { CookieJar, COOKIE_LENGTH } from './cookie.js';
export { TokenBucket, KeyedTokenBuckets, type Rate } from '../../base/index.js';
