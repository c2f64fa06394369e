/**
 * ipsec: the sans-I/O IKEv1 responder and initiator and ESP (RFC 2409, RFC 3947/3948, RFC 3706,
 * RFC 4303, RFC 4106). Contract: no sockets, no clock, no timers — time comes in as `now`,
 * randomness as a RandomSource. Both IKE roles are driven the one way (`IkeDrive`): the shell feeds
 * UDP payloads from ports 500/4500 to `handle(now, d)`, runs `handleTimeout(now)` at `pollAt()`,
 * and after each call sends every `pollTransmit()` datagram and acts on every `pollEvent()`, building
 * one `EspSa` per direction from each `child-sa-up` — or lets `IpsecL2tpGate` (src/gate, the composition above this folder and src/l2tp) do all of
 * that around an L2TP engine (ESP <-> inner UDP 1701, flows as `PeerAddress.via`, linked SA/tunnel state).
 */
export type {
  IkeDrive,
  IkeTimers,
  IkeDatagram,
  IkeEvent,
  IkeSaUp,
  ChildSaUp,
  IkeIdentity,
  IkeAlgorithms,
  NatState,
  NatVariant,
  TrafficSelector,
  DeleteReason,
  FailReason,
} from './ike-types.js';
export { IkeResponder, type IkeResponderConfig } from './ike-responder.js';
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
  type EspSegments,
} from './esp.js';
export { ReplayWindow, type ReplayVerdict } from './replay.js';
export type { Endpoint } from './addr.js';
export type { DhGroupNumber } from './dh.js';
export { MAIN_MODE_TABLE, QUICK_MODE_TABLE, type MainModeState, type QuickModeState } from './responder-fsm.js';
export { IkeInitiator, type IkeInitiatorConfig } from './ike-initiator.js';
export { DEFAULT_INITIATOR_PROPOSALS, type InitiatorProposals, type Phase1Offer, type Phase2Offer } from './sa-payloads.js';
export { MAIN_MODE_INIT_TABLE, QUICK_MODE_INIT_TABLE, type MainModeInitState, type QuickModeInitState } from './initiator-fsm.js';
