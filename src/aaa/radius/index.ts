/**
 * aaa/radius: the RADIUS client core (authentication RFC 2865, accounting RFC 2866 with an ordered
 * record queue and a spool interface, failover, dead-time, Status-Server RFC 5997) and the Dynamic
 * Authorization server core (RFC 5176). Sans-I/O: the shells in src/io drive them with sockets,
 * timers and the on-disk spool; the access layer turns answers into PPP decisions.
 */
export { RadiusClient, type RadiusClientOptions } from './client.js';
export { RADIUS_SERVER_DEFAULTS } from './servers.js';
export {
  DAE_DEFAULTS,
  DaeServer,
  type CoaChanges,
  type DaeActionResult,
  type DaeClientConfig,
  type DaeClientStats,
  type DaeDropReason,
  type DaeEvent,
  type DaeServerOptions,
  type DaeSessionIdentity,
  type DaeSessionTable,
  type DaeTransmit,
} from './dae.js';
export { decodeReply } from './reply.js';
export { accessRequestAttributes, accountingRequestAttributes, splitGigawords, ACCT_STATUS_NUMBER } from './request.js';
export { encodeSpooledRecord, decodeSpooledRecord, interimDelayMs } from './record-codec.js';
export type * from './types.js';
