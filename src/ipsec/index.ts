/**
 * ipsec: the sans-I/O IKEv1 responder and initiator and ESP (RFC 2409, RFC 3947/3948, RFC 3706,
 * RFC 4303, RFC 4106). Contract: no sockets, no clock, no timers — time comes in as `now`,
 * randomness as a RandomSource. The shell feeds UDP payloads from ports 500/4500 to
 * `IkeResponder.handle`, sends `takeDatagrams()`, arms one timer for `pollAt()`, and builds one
 * `EspSa` per direction from each `child-sa-up` event — or lets `IpsecL2tpGate` (src/gate, the
 * composition above this folder and src/l2tp) do all of that around an L2TP engine.
 */
export {
  IkeResponder,
  type IkeResponderConfig,
  type IkeDatagram,
  type IkeEvent,
  type IkeIdentity,
  type IkeAlgorithms,
  type NatState,
  type TrafficSelector,
  type DeleteReason,
  type FailReason,
} from './ike-responder.js';
export { DEFAULT_POLICY, type IkePolicy, type Phase1Encryption, type Phase2Encryption, type Phase1Suite, type Phase2Suite, type EspEncapsulation } from './proposals.js';
export {
  parseIkeProposal,
  parseEspProposal,
  parseProposalList,
  policyFromSuites,
  offersFromSuites,
  DEFAULT_IKE_PROPOSAL_NAMES,
  DEFAULT_ESP_PROPOSAL_NAMES,
} from './proposal-names.js';
export {
  EspSa,
  NEXT_HEADER_UDP,
  NEXT_HEADER_NONE,
  type EspSaParams,
  type EspEncryption,
  type EspIntegrity,
  type EspError,
  type EspPlain,
  type EspCounters,
  byteLimitsFromKilobytes,
  type EspByteLimits,
  type EspLifetimeState,
} from './esp.js';
export { ReplayWindow, type ReplayVerdict } from './replay.js';
export type { Endpoint } from './addr.js';
export type { DhGroupNumber } from './dh.js';
export type { MainModeState, QuickModeState } from './fsm.js';
export {
  IkeInitiator,
  DEFAULT_INITIATOR_PROPOSALS,
  type IkeInitiatorConfig,
  type InitiatorProposals,
  type Phase1Offer,
  type Phase2Offer,
} from './ike-initiator.js';
export { MAIN_MODE_INIT_TABLE, QUICK_MODE_INIT_TABLE, type MainModeInitState, type QuickModeInitState } from './initiator-fsm.js';
