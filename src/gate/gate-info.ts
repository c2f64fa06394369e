/** What the L2TP/IPsec gate reports for show commands: flows, their ESP SA pairs, IKE SAs. */
import type { Endpoint, EspCounters, EspEncapsulation, EspEncryption, EspIntegrity, IkeAlgorithms, IkeIdentity, NatState } from '../ipsec/index.js';

/** One ESP SA pair of a flow, for show commands. */
export interface EspSaInfo {
  readonly inboundSpi: number;
  readonly outboundSpi: number;
  readonly ikeSaId: number;
  readonly encryption: EspEncryption;
  /** Cipher key size in bits (128/256 for AES, 192 for 3DES). */
  readonly keyBits: number;
  readonly integrity: EspIntegrity;
  readonly encapsulation: EspEncapsulation;
  readonly lifetimeSeconds: number;
  readonly ageSeconds: number;
  readonly inbound: Readonly<EspCounters>;
  readonly outbound: Readonly<EspCounters>;
}

/** One IPsec flow (one client), for show commands. */
export interface IpsecFlowInfo {
  readonly via: string;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly encapsulation: EspEncapsulation;
  readonly innerPort: number;
  readonly tunnels: readonly number[];
  readonly sas: readonly EspSaInfo[];
}

/** One IKE SA as last reported, for show commands. */
export interface IkeSaInfo {
  readonly ikeSaId: number;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly peerId: IkeIdentity;
  readonly algorithms: IkeAlgorithms;
  readonly natT: NatState;
  readonly ageSeconds: number;
}

