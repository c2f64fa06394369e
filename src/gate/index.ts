/**
 * gate: L2TP/IPsec (RFC 3193) as a composition of src/ipsec and src/l2tp, above both — the only
 * folder that joins those two cores. `IpsecL2tpGate` owns an IKE core, the ESP SAs it negotiates and
 * an L2TP engine, and is driven like every core: `handleUdp` / `handleRawEsp` / `handleDatagram`,
 * `handleTimeout`, `pollAt`, `pollTransmit` (outer packets and clear L2TP), `pollEvent` (gate and L2TP
 * events). In front of the engine it offers `L2tpControlApi`; decrypted data reaches the session
 * sinks directly, and `sealTransmit` encrypts outbound data without a queue. `V3IpsecGate` does the
 * same for an L2TPv3 shell (UDP or IP protocol 115 in transport-mode ESP) without owning its engine:
 * it opens and seals the shell's datagrams. No I/O in here.
 */
export {
  IpsecL2tpGate,
  outerBytes,
  type IkeCore,
  type OuterPacket,
  type OuterData,
  type GateTransmit,
  type GateEvent,
  type IpsecGateEvent,
  type IpsecGateCounters,
  type IpsecGateOptions,
  type IpsecFlowInfo,
  type EspSaInfo,
  type IkeSaInfo,
} from './l2tp-gate.js';
export type { EspOffload, EspOffloadFlow, EspSaLike } from './esp-offload.js';
export { V3IpsecGate, IP_PROTO_L2TPV3, type V3IpsecGateOptions, type V3IpsecCounters, type V3Inner, type V3FlowInfo } from './v3-gate.js';
