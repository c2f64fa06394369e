/**
 * dataplane: per-packet work between the TUN device and PPP sessions — routing by destination
 * address and TCP MSS clamping. Pure functions over byte buffers; the shell owns the devices.
 */
export { clampMss, mssForMtu } from './mss.js';
export { SessionRoutes, ipv4Destination, ipv6Destination64 } from './routes.js';
