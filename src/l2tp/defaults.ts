/**
 * Defaults and fixed result codes of the L2TPv2 control plane: the reliable-delivery tuning (§5.8,
 * Appendix A), tunnel settings, the StopCCN / CDN result codes the engine sends (§4.4.2), and the
 * length of a full retransmission cycle (how long a closed tunnel lingers, §5.7).
 */
import type { Duration } from '../base/index.js';
import type { ResultCode } from '../wire/l2tp/index.js';
import type { ChannelTuning, TunnelSettings } from './api.js';

/** StopCCN / CDN result codes used by the engine (§4.4.2). */
export const Results = {
  /** StopCCN 1: general request to clear the control connection. */
  stopClear: { result: 1 },
  /** StopCCN 2 / CDN 2 + error 8: unknown mandatory AVP (§4.2). */
  unknownMandatoryAvp: { result: 2, error: 8, message: 'unknown mandatory AVP' },
  /** StopCCN 2 / CDN 2 + error 3: an Assigned Tunnel / Session ID of 0 (§4.4.3, §4.4.4: non-zero). */
  zeroAssignedId: { result: 2, error: 3, message: 'assigned id 0' },
  /** StopCCN 1 on giving up (§5.8 retries exhausted, §6.5 keepalive): no code fits better than a general clear. */
  giveUp: { result: 1, message: 'no answer from the peer' },
  /** StopCCN 4: requester not authorized. */
  notAuthorized: { result: 4 },
  /** StopCCN 7: finite state machine error. */
  fsmError: { result: 7 },
  /** CDN 3: administrative reasons. */
  cdnAdmin: { result: 3 },
  /** CDN 2: error code indicates the problem. */
  cdnGeneral: { result: 2, error: 0 },
} as const satisfies Record<string, ResultCode>;

/** Default reliable-delivery tuning (§5.8, Appendix A). */
export function defaultTuning(): ChannelTuning {
  return {
    receiveWindow: 16,
    retransmitInitial: 1000 as Duration,
    retransmitCap: 16000 as Duration,
    retriesEstablished: 5,
    retriesNotEstablished: 5,
    ackDelay: 100 as Duration,
    helloInterval: 60000 as Duration,
    helloMissCount: 3,
  };
}

/** Default tunnel settings with the given Host Name (no secret, any peer accepted). */
export function defaultTunnelSettings(hostName: string): TunnelSettings {
  return { hostName, vendorName: 'l2tpkit', maxOffset: 64, dataSequencing: false, tuning: defaultTuning() };
}

/** A full retransmission cycle (1 + 2 + 4 + ...), how long a closed tunnel lingers (§5.7). */
export function fullCycle(t: ChannelTuning): number {
  let total = 0;
  const retries = Math.max(t.retriesEstablished, t.retriesNotEstablished);
  for (let i = 0; i <= retries; i++) total += Math.min(t.retransmitInitial * 2 ** Math.min(i, 30), t.retransmitCap);
  return total;
}
