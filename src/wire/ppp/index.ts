/**
 * wire/ppp: codecs for PPP frames and the packets of LCP/IPCP/IPV6CP, PAP, CHAP and MS-CHAPv2.
 * Contract: every `parseX` returns a Result and never throws on any input; every `emitX` writes
 * exactly `xLength` bytes. No state, no I/O.
 */
export * from './errors.js';
export * from './frame.js';
export * from './cp.js';
export * from './pap.js';
export * from './chap.js';
export * from './mschapv2.js';
export { bytesEqual, concat, fromHex, toHex } from '../../base/index.js';
export { put16, put32, u16, u32 } from '../../base/index.js';
