/**
 * l2tp: the sans-I/O L2TPv2 control plane (RFC 2661). Contract: api.ts. The shell feeds datagrams
 * and instants to `L2tpEngine`, sends what `pollTransmit` returns, arms one timer at `pollAt`, and
 * maps `pollEvent` events to logs and metrics. No I/O, no clock, no timers in here.
 */
export type * from './api.js';
export { DATA_HEADROOM } from './api.js';
export { L2tpEngine, defaultTuning, defaultTunnelSettings, challengeResponse, describeWireError, Results } from './engine.js';
export { ReliableChannel, seqAdd, seqLt, seqDiff, DEFAULT_PEER_WINDOW } from './channel.js';
export type { ChannelSink, ReceiveVerdict, ChannelTimeout } from './channel.js';
export { TUNNEL_TRANSITIONS, TUNNEL_RFC_TRANSITIONS, TUNNEL_LOCAL_TRANSITIONS, tunnelTransition } from './tunnel-fsm.js';
export type { TunnelFsmState, TunnelFsmEvent, TunnelFsmAction, TunnelTransition } from './tunnel-fsm.js';
export { SESSION_TRANSITIONS, sessionTransition } from './session-fsm.js';
export type { SessionFsmEvent, SessionFsmAction, SessionTransition } from './session-fsm.js';
