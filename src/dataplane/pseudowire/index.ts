/**
 * dataplane/pseudowire: the L2TPv3 Ethernet pseudowire data plane (RFC 3931 §4.5-§4.6, RFC 4719),
 * sans-I/O. `EthernetPseudowire` encapsulates frames (in place when there is headroom, else one copy)
 * and decapsulates data messages (views, no copy), with per-direction cookies, the default
 * sublayer, sequencing and MSS clamping; `PseudowireDemux` finds the session by Session ID. Counters
 * are plain numbers; drops are counted by reason and never delivered.
 */
export {
  EthernetPseudowire,
  type EthernetPwTypeNumber,
  type PseudowireCounters,
  type PseudowireDrops,
  type PseudowireSettings,
} from './pseudowire.js';
export { PseudowireDemux, type DemuxCounters, type DemuxOutcome } from './demux.js';
export {
  clampEthernetMss,
  ethernetPayload,
  l2tpHeaderLength,
  mssForPseudowire,
  pseudowireOverhead,
  ETHERNET_HEADER,
  type PseudowireFraming,
} from './ethernet.js';
