/**
 * Acct-Terminate-Cause (RFC 2866 §5.10) of a session's Stop record, from why it really ended: the
 * PPP / access ending, and for an L2TP ending who closed it and how (RFC 2661 §4.4.2 CDN / StopCCN
 * result codes, our own retransmission or HELLO timeout). One table row per ending.
 */
import { TERMINATE_CAUSE, type TerminateCause } from '../../wire/radius/index.js';
import type { CloseReason } from '../../l2tp/index.js';
import type { AccessEndReason } from '../disconnect.js';

const C = TERMINATE_CAUSE;

/** RFC 2866 §5.10 cause per access ending (L2TP endings are decided below). */
export const TERMINATE_CAUSES: Readonly<Record<Exclude<AccessEndReason, 'l2tp-closed'>, TerminateCause>> = {
  /** l2tpctl clear, RFC 5176 Disconnect-Request: "Admin Reset". */
  'admin-close': C.AdminReset,
  'admin-reboot': C.AdminReboot,
  /** The client sent LCP Terminate-Request: "User Request". */
  'peer-terminated': C.UserRequest,
  /** The client closed its last NCP. */
  'no-network-protocols': C.UserRequest,
  /** LCP keepalive failed, or the lower layer vanished: "Lost Carrier". */
  'echo-timeout': C.LostCarrier,
  'lower-down': C.LostCarrier,
  /** The PPPoE client's PADT (RFC 2516 §5.5): it hung up. */
  'padt-received': C.UserRequest,
  'lcp-timeout': C.LostCarrier,
  'lcp-rejected': C.UserError,
  'auth-failed': C.UserError,
  'auth-timeout': C.UserError,
  'auth-protocol-refused': C.UserError,
  loopback: C.PortError,
  'pool-exhausted': C.ServiceUnavailable,
  'static-in-use': C.ServiceUnavailable,
  'unknown-pool': C.ServiceUnavailable,
  'no-address': C.ServiceUnavailable,
  'address-mismatch': C.NasError,
  'session-timeout': C.SessionTimeout,
  'idle-timeout': C.IdleTimeout,
};

/**
 * The cause for an L2TP ending. By the peer: a CDN with Result Code 1 ("loss of carrier") is Lost
 * Carrier, any other CDN User Request (the LAC hung up for its subscriber), a StopCCN Lost Service.
 * By us: our retransmission or HELLO timeout is Lost Carrier, an administrative close Admin Reset,
 * a protocol error NAS Error.
 */
export function l2tpTerminateCause(r: CloseReason): TerminateCause {
  if (r.by === 'peer') {
    if (r.cause === 'cdn') return r.result.result === 1 ? C.LostCarrier : C.UserRequest;
    return C.LostService;
  }
  if (r.cause === 'retransmit-timeout' || r.cause === 'hello-timeout') return C.LostCarrier;
  if (r.cause === 'admin' || r.cause === 'idle') return C.AdminReset;
  return C.NasError;
}

/** The Stop record's cause; `shuttingDown` makes our own L2TP closes (StopCCN at shutdown) Admin Reboot. */
export function terminateCause(reason: AccessEndReason, l2tp: CloseReason | undefined, shuttingDown: boolean): TerminateCause {
  if (reason === 'l2tp-closed') {
    if (l2tp === undefined) return C.LostCarrier;
    return shuttingDown && l2tp.by === 'local' ? C.AdminReboot : l2tpTerminateCause(l2tp);
  }
  return TERMINATE_CAUSES[reason];
}
