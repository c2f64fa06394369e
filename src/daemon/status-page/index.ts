/**
 * status-page: a small read-only web page served by l2tpd on `[status] listen` (off by default,
 * loopback unless `allow_remote`): tunnels, sessions with user/address/uptime/counters, IPsec SAs
 * and live packet/byte rates. Bounded JSON views (views.ts), the token check (token.ts), the
 * embedded page (page.ts) and the node:http shell (server.ts). docs/STATUS.md describes it.
 */
export { startStatusPage, handleStatusRequest, type StatusPage, type StatusPageOptions, type StatusPageSource } from './server.js';
export { authorized, cookieValue, generateStatusToken, presentedCredential, sameSecret, STATUS_COOKIE, type Presented } from './token.js';
export {
  HISTORY_SAMPLES, pageParams, pageTunnels, statusPageView, trafficTotals, TrafficHistory,
  type StatusPageInputs, type StatusPageView, type TrafficSample, type TunnelRow,
} from './views.js';
export { daemonStatusSource } from './daemon-source.js';
