/**
 * l2tp: the sans-I/O L2TPv2 control plane (RFC 2661). Contract: api.ts. The shell feeds datagrams
 * and instants to `L2tpEngine`, sends what `pollTransmit` returns, arms one timer at `pollAt`, and
 * maps `pollEvent` events to logs and metrics. Data messages are not events: the layer above binds a
 * `SessionDataSink` per session (`bindSession`) and gets its PPP frames directly. No I/O, no clock, no
 * timers in here. Inside: engine.ts demultiplexes to control connections (connection.ts; tunnel.ts is
 * the v2 one), each with its sessions (session.ts) and their data channels (data.ts).
 */
export type * from './api.js';
export { DATA_HEADROOM, DATA_BACKLOG, DEFAULT_ADMISSION, PROXY_AVPS } from './api.js';
export { L2tpEngine } from './engine.js';
export { defaultTuning, defaultTunnelSettings, Results } from './defaults.js';
export { challengeResponse } from './handshake.js';
export { describeWireError } from './wire-errors.js';
export type { ControlConnection, ConnectionHost } from './connection.js';
export { ReliableChannel, seqAdd, seqLt, seqDiff, DEFAULT_PEER_WINDOW } from './channel.js';
export type { ChannelSink, ReceiveVerdict, ChannelTimeout } from './channel.js';
export { TUNNEL_TRANSITIONS, TUNNEL_RFC_TRANSITIONS, TUNNEL_LOCAL_TRANSITIONS, tunnelTransition } from './tunnel-fsm.js';
export type { TunnelFsmState, TunnelFsmEvent, TunnelFsmAction, TunnelTransition } from './tunnel-fsm.js';
export { SESSION_TRANSITIONS, sessionTransition } from './session-fsm.js';
export type { SessionFsmEvent, SessionFsmAction, SessionTransition } from './session-fsm.js';
export type * from './v3-api.js';
export { L2tpV3Engine } from './v3-engine.js';
export { V3StopResults } from './v3-connection.js';
export { V3CdnResults } from './v3-session.js';
export { V3_PEER_PROFILES, resolveV3Profile, isV3ProfileName } from './v3-profiles.js';
export type { V3PeerProfile, V3ProfileName, V3ProfileOverrides } from './v3-profiles.js';
