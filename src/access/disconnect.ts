/**
 * How a PPP ending is told to the LAC: the CDN Result Code (RFC 2661 §4.4.2) and the PPP
 * Disconnect Cause Code AVP 46 (RFC 3145 §3.3). Direction: 0 global, 1 at the peer, 2 at us.
 */
import type { LinkDownReason } from '../ppp/index.js';
import type { CdnCauses } from '../l2tp/index.js';
import type { ResultCode } from '../wire/l2tp/index.js';

/** Why an access session ended, beyond the PPP link-down reasons. */
export type AccessEndReason =
  | LinkDownReason
  | 'pool-exhausted'
  | 'static-in-use'
  | 'unknown-pool'
  /** No local pool and the authorization named no address (docs/SCALE-OUT.md). */
  | 'no-address'
  | 'address-mismatch'
  | 'auth-timeout'
  | 'l2tp-closed'
  /** The PPPoE client ended its session with a PADT (RFC 2516 §5.5). */
  | 'padt-received'
  /** RADIUS Session-Timeout / Idle-Timeout (RFC 2865 §5.27-28), also after a CoA (RFC 5176). */
  | 'session-timeout'
  | 'idle-timeout'
  /** The daemon is shutting down. */
  | 'admin-reboot';

/** RFC 2661 §4.4.2 general error code 6: "a generic vendor-specific error occurred". */
const GENERIC_VENDOR_ERROR = 6;

/** PPP protocol numbers used in AVP 46. */
const LCP = 0xc021;
const PAP = 0xc023;
const CHAP = 0xc223;
const IPCP = 0x8021;

/** RFC 3145 §3.3 code, protocol, direction per ending. */
const CAUSES: Readonly<Record<Exclude<AccessEndReason, 'l2tp-closed' | 'lower-down' | 'padt-received'>, readonly [number, number, number, string]>> = {
  'admin-close': [1, LCP, 2, 'administrative disconnect'],
  'peer-terminated': [3, LCP, 1, 'LCP Terminate-Request received'],
  'lcp-timeout': [5, LCP, 2, 'LCP failed to converge'],
  'lcp-rejected': [5, LCP, 1, 'LCP rejected by peer'],
  'echo-timeout': [8, LCP, 1, 'LCP keepalive timeout'],
  'auth-failed': [16, CHAP, 1, 'authentication failed'],
  'auth-timeout': [13, CHAP, 1, 'authentication timed out'],
  'auth-protocol-refused': [15, LCP, 1, 'no acceptable authentication protocol'],
  loopback: [7, LCP, 0, 'magic number error (looped-back link)'],
  'no-network-protocols': [3, IPCP, 2, 'no network protocol left'],
  'pool-exhausted': [0, IPCP, 2, 'address pool exhausted'],
  'static-in-use': [0, IPCP, 2, 'static address in use by another session'],
  'address-mismatch': [0, IPCP, 2, 'IPCP agreed an address that was not leased'],
  'unknown-pool': [0, IPCP, 2, 'no address pool of the name RADIUS gave'],
  'no-address': [0, IPCP, 2, 'no address from RADIUS and no local pool'],
  'session-timeout': [1, LCP, 2, 'session timeout'],
  'idle-timeout': [1, LCP, 2, 'idle timeout'],
  'admin-reboot': [1, LCP, 2, 'LNS shutting down'],
};

/**
 * CDN result for each ending (§4.4.2: 3 administrative, 4 temporary lack of facilities, else 2
 * "the reason is in the error code" with general error 6, a vendor-specific error: the PPP failure
 * itself is told by the Disconnect Cause AVP 46, RFC 3145 §3.3).
 */
export function cdnFor(reason: AccessEndReason, authMethod?: 'pap' | 'chap-md5' | 'mschapv2'): { readonly result: ResultCode; readonly causes?: CdnCauses } {
  if (reason === 'l2tp-closed' || reason === 'lower-down' || reason === 'padt-received') return { result: { result: 1 } };
  const [code, proto, direction, message] = CAUSES[reason];
  const protocol = (reason === 'auth-failed' || reason === 'auth-timeout') && authMethod === 'pap' ? PAP : proto;
  const causes: CdnCauses = { pppDisconnectCause: { code, protocol, direction, message } };
  if (reason === 'pool-exhausted' || reason === 'no-address') return { result: { result: 4, message }, causes };
  if (reason === 'admin-close' || reason === 'peer-terminated' || reason === 'no-network-protocols' || reason === 'session-timeout' || reason === 'idle-timeout' || reason === 'admin-reboot') {
    return { result: { result: 3 }, causes };
  }
  return { result: { result: 2, error: GENERIC_VENDOR_ERROR, message }, causes };
}
