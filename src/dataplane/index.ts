/**
 * dataplane: per-packet work between the TUN device and PPP sessions — routing by destination
 * address, TCP MSS clamping, and what to do with packets larger than the link (ICMP / fragments). Pure functions over byte buffers; the shell owns the devices.
 */
export { clampMss, mssForMtu } from './mss.js';
export { SessionRoutes, ipv4Destination, ipv6Destination64 } from './routes.js';
export { IcmpRateLimiter, tooBig4, tooBig6, type TooBig } from './too-big.js';
export * from './pseudowire/index.js';
