/**
 * The state of one IKE SA (RFC 2409 §5) in either role: what both keep (cookies, endpoints, the
 * phase-1 key schedule, NAT-D verdict, the last message for duplicates and its retransmission,
 * lifetime, DPD, NAT keepalives, Quick Mode exchanges by Message ID), and what each role adds.
 */
import type { Instant } from '../base/index.js';
import { encodePayloadChain, type SaPayload } from '../wire/ike/index.js';
import type { Endpoint } from './addr.js';
import type { DhKeyPair } from './dh.js';
import type { DpdState } from './dpd.js';
import type { Phase1Keys } from './ike-crypto.js';
import type { Retransmit } from './ike-exchange.js';
import type { IkeIdentity, NatVariant } from './ike-types.js';
import type { InitiatorQuickExchange } from './initiator-quick-mode.js';
import type { SkeyidSet } from './keys.js';
import type { PeerVendorIds } from './natt.js';
import type { Phase1Choice } from './proposals.js';
import type { MainModeState } from './responder-fsm.js';
import type { ResponderChild, ResponderQuickExchange } from './responder-quick-mode.js';

/** What both roles keep of an IKE SA; `Q` is the role's Quick Mode exchange. */
export interface IkeSaState<Q> {
  readonly id: number;
  readonly icookie: Uint8Array;
  rcookie: Uint8Array;
  /** Current IKE endpoints (after a float to NAT-T: the 4500 ports). */
  local: Endpoint;
  remote: Endpoint;
  choice: Phase1Choice | undefined;
  /** SAi_b: the body of the initiator's SA payload (HASH_I/HASH_R cover it). */
  readonly saiB: Uint8Array;
  /** The DH public values, g^xi always the initiator's (RFC 2409 §5). */
  gxi: Uint8Array;
  gxr: Uint8Array;
  ni: Uint8Array;
  nr: Uint8Array;
  keys: SkeyidSet | undefined;
  encKey: Uint8Array;
  /** Running phase-1 IV; after Main Mode the last phase-1 CBC block (RFC 2409 App. B). */
  iv: Uint8Array;
  localBehindNat: boolean;
  remoteBehindNat: boolean;
  /** The peer's last message and our answer to it (RFC 2408 §5 duplicates), and its retransmission. */
  lastIn: Uint8Array | undefined;
  lastOut: Uint8Array | undefined;
  rtx: Retransmit | undefined;
  expiresAt: Instant | undefined;
  keepaliveAt: Instant | undefined;
  readonly dpd: DpdState;
  readonly quick: Map<number, Q>;
}

/** An IKE SA past the DH exchange: it has phase-1 keys and can protect messages. */
export type Keyed<T> = T & Phase1Keys;

/** Whether `sa` has its phase-1 keys. */
export const keyed = <T extends IkeSaState<unknown>>(sa: T): sa is Keyed<T> => sa.keys !== undefined && sa.choice !== undefined;

/** Whether `sa` has its phase-1 transform (from MM1 on the responder, MM2 on the initiator). */
export const chosen = <T extends IkeSaState<unknown>>(sa: T): sa is T & { choice: Phase1Choice } => sa.choice !== undefined;

const EMPTY = new Uint8Array(0);

/** One responder IKE SA. */
export interface ResponderSa extends IkeSaState<ResponderQuickExchange> {
  state: MainModeState;
  /** Chosen from MM1 on. */
  choice: Phase1Choice;
  /** NAT-T flavour, DPD and the Microsoft vendor ids of MM1. */
  readonly vendor: PeerVendorIds;
  readonly situation: number;
  peerId: IkeIdentity | undefined;
  readonly children: ResponderChild[];
}

/** What MM1 fixes of a new responder IKE SA. */
export type ResponderSaStart = Pick<ResponderSa, 'id' | 'icookie' | 'rcookie' | 'local' | 'remote' | 'vendor' | 'choice' | 'saiB' | 'situation' | 'dpd'>;

/** A new responder IKE SA in `mm-start`, before MM1 is answered. */
export function newResponderSa(s: ResponderSaStart): ResponderSa {
  // One literal with every field (no spreads): the records keep one fast shape on the hot path.
  return {
    id: s.id, icookie: s.icookie, rcookie: s.rcookie, local: s.local, remote: s.remote, choice: s.choice, saiB: s.saiB,
    gxi: EMPTY, gxr: EMPTY, ni: EMPTY, nr: EMPTY, keys: undefined, encKey: EMPTY, iv: EMPTY, localBehindNat: false, remoteBehindNat: false,
    lastIn: undefined, lastOut: undefined, rtx: undefined, expiresAt: undefined, keepaliveAt: undefined, dpd: s.dpd, quick: new Map(),
    state: 'mm-start', vendor: s.vendor, situation: s.situation, peerId: undefined, children: [],
  };
}

/** The initiator's IKE SA of one Main Mode (a re-authentication makes a new one). */
export interface InitiatorSa extends IkeSaState<InitiatorQuickExchange> {
  /** Our MM1 SA payload (absent only in the placeholder before the first connect). */
  readonly offered: SaPayload | undefined;
  /** What the server's vendor ids said: NAT-T flavour (none when we disabled it) and DPD. */
  natt: NatVariant;
  peerDpd: boolean;
  dh: DhKeyPair | undefined;
  /** When to re-authenticate (a new Main Mode before expiry). */
  reauthAt: Instant | undefined;
}

/** What MM1 fixes of a new initiator IKE SA. */
export type InitiatorSaStart = Pick<InitiatorSa, 'id' | 'icookie' | 'local' | 'remote' | 'dpd'> & { readonly offered?: SaPayload };

/** A new initiator IKE SA before MM2. */
export function newInitiatorSa(s: InitiatorSaStart): InitiatorSa {
  return {
    id: s.id, icookie: s.icookie, rcookie: new Uint8Array(8), local: s.local, remote: s.remote, choice: undefined,
    // HASH_I covers SAi_b, the SA payload body (RFC 2409 §5).
    saiB: s.offered ? encodePayloadChain([s.offered]).subarray(4).slice() : EMPTY,
    gxi: EMPTY, gxr: EMPTY, ni: EMPTY, nr: EMPTY, keys: undefined, encKey: EMPTY, iv: EMPTY, localBehindNat: false, remoteBehindNat: false,
    lastIn: undefined, lastOut: undefined, rtx: undefined, expiresAt: undefined, keepaliveAt: undefined, dpd: s.dpd, quick: new Map(),
    offered: s.offered, natt: 'none', peerDpd: false, dh: undefined, reauthAt: undefined,
  };
}
