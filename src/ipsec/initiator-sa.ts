/**
 * The state of the initiator's IKE SA (RFC 2409 §5): one per Main Mode — a re-authentication makes
 * a new one and keeps the old one only to delete it under its own keys.
 */
import type { Instant } from '../base/time.js';
import { encodePayloadChain } from '../wire/ike/codec.js';
import type { SaPayload } from '../wire/ike/types.js';
import type { Endpoint } from './addr.js';
import type { DhKeyPair } from './dh.js';
import type { DpdState } from './dpd.js';
import type { Phase1Keys } from './ike-crypto.js';
import type { Retransmit } from './ike-exchange.js';
import type { NatVariant } from './ike-types.js';
import type { InitiatorQuickExchange } from './initiator-quick-mode.js';
import type { SkeyidSet } from './keys.js';
import type { Phase1Choice } from './proposals.js';

/** The initiator's IKE SA of one Main Mode. */
export interface InitiatorSa {
  readonly id: number;
  readonly icookie: Uint8Array;
  rcookie: Uint8Array;
  /** Current IKE endpoints (after a float to NAT-T: the 4500 ports). */
  local: Endpoint;
  remote: Endpoint;
  /** Our MM1 SA payload, and SAi_b (its body, which HASH_I/HASH_R cover). */
  readonly offered: SaPayload | undefined;
  readonly saiB: Uint8Array;
  choice: Phase1Choice | undefined;
  /** What the server's vendor ids said: NAT-T flavour (none when we disabled it) and DPD. */
  natt: NatVariant;
  peerDpd: boolean;
  dh: DhKeyPair | undefined;
  gxr: Uint8Array;
  ni: Uint8Array;
  nr: Uint8Array;
  keys: SkeyidSet | undefined;
  encKey: Uint8Array;
  /** Running phase-1 IV; after MM6 the last phase-1 CBC block (RFC 2409 App. B). */
  iv: Uint8Array;
  localBehindNat: boolean;
  remoteBehindNat: boolean;
  /** The server's last message and ours (RFC 2408 §5 duplicates), and our retransmission. */
  lastIn: Uint8Array | undefined;
  lastOut: Uint8Array | undefined;
  rtx: Retransmit | undefined;
  expiresAt: Instant | undefined;
  /** When to re-authenticate (a new Main Mode before expiry). */
  reauthAt: Instant | undefined;
  keepaliveAt: Instant | undefined;
  readonly dpd: DpdState;
  readonly quick: Map<number, InitiatorQuickExchange>;
}

/** The initiator's IKE SA past MM4: it has phase-1 keys and can protect messages. */
export type KeyedInitiatorSa = InitiatorSa & Phase1Keys;

/** Whether `sa` has its phase-1 keys. */
export const keyedInitiatorSa = (sa: InitiatorSa): sa is KeyedInitiatorSa => sa.keys !== undefined && sa.choice !== undefined;

/** What MM1 fixes of a new IKE SA. */
export type InitiatorSaStart = Pick<InitiatorSa, 'id' | 'icookie' | 'local' | 'remote' | 'dpd'> & { readonly offered?: SaPayload };

const EMPTY = new Uint8Array(0);

/** A new IKE SA before MM2 (`offered` absent only for the placeholder before the first connect). */
export function newInitiatorSa(s: InitiatorSaStart): InitiatorSa {
  return {
    ...s, rcookie: new Uint8Array(8), offered: s.offered,
    // HASH_I covers SAi_b, the SA payload body (RFC 2409 §5).
    saiB: s.offered ? encodePayloadChain([s.offered]).subarray(4).slice() : EMPTY,
    choice: undefined, natt: 'none', peerDpd: false, dh: undefined, gxr: EMPTY, ni: EMPTY, nr: EMPTY, keys: undefined, encKey: EMPTY, iv: EMPTY,
    localBehindNat: false, remoteBehindNat: false, lastIn: undefined, lastOut: undefined, rtx: undefined, expiresAt: undefined,
    reauthAt: undefined, keepaliveAt: undefined, quick: new Map(),
  };
}
