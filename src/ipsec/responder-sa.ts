/**
 * The state of one responder IKE SA (RFC 2409 §5): what Main Mode established, its Quick Mode
 * exchanges and child SAs, DPD and timers. `IkeResponder` keeps them by cookie pair.
 */
import type { Instant } from '../base/time.js';
import type { Endpoint } from './addr.js';
import type { DpdState } from './dpd.js';
import type { Phase1Keys } from './ike-crypto.js';
import type { Retransmit } from './ike-exchange.js';
import type { IkeIdentity } from './ike-types.js';
import type { SkeyidSet } from './keys.js';
import type { PeerVendorIds } from './natt.js';
import type { Phase1Choice } from './proposals.js';
import type { MainModeState } from './responder-fsm.js';
import type { ResponderChild, ResponderQuickExchange } from './responder-quick-mode.js';

/** One responder IKE SA. */
export interface ResponderSa {
  readonly id: number;
  state: MainModeState;
  readonly icookie: Uint8Array;
  readonly rcookie: Uint8Array;
  local: Endpoint;
  remote: Endpoint;
  /** NAT-T flavour, DPD and the Microsoft vendor ids of MM1. */
  readonly vendor: PeerVendorIds;
  readonly choice: Phase1Choice;
  /** SAi_b: the body of the initiator's SA payload (HASH_I/HASH_R cover it). */
  readonly saiB: Uint8Array;
  readonly situation: number;
  gxi: Uint8Array;
  gxr: Uint8Array;
  ni: Uint8Array;
  nr: Uint8Array;
  keys: SkeyidSet | undefined;
  encKey: Uint8Array;
  /** Running phase-1 IV; after MM6 the last phase-1 CBC block (RFC 2409 App. B). */
  iv: Uint8Array;
  localBehindNat: boolean;
  remoteBehindNat: boolean;
  peerId: IkeIdentity | undefined;
  /** The last request and our answer to it (RFC 2408 §5 duplicates), and its retransmission. */
  lastIn: Uint8Array | undefined;
  lastOut: Uint8Array | undefined;
  rtx: Retransmit | undefined;
  expiresAt: Instant | undefined;
  readonly quick: Map<number, ResponderQuickExchange>;
  readonly children: ResponderChild[];
  readonly dpd: DpdState;
  keepaliveAt: Instant | undefined;
}

/** A responder IKE SA past MM3: it has phase-1 keys and can protect messages. */
export type KeyedResponderSa = ResponderSa & Phase1Keys;

/** Whether `sa` has its phase-1 keys. */
export const keyed = (sa: ResponderSa): sa is KeyedResponderSa => sa.keys !== undefined;

/** What MM1 fixes of a new IKE SA. */
export type ResponderSaStart = Pick<ResponderSa, 'id' | 'icookie' | 'rcookie' | 'local' | 'remote' | 'vendor' | 'choice' | 'saiB' | 'situation' | 'dpd'>;

const EMPTY = new Uint8Array(0);

/** A new IKE SA in `mm-start`, before MM1 is answered. */
export function newResponderSa(s: ResponderSaStart): ResponderSa {
  return {
    ...s, state: 'mm-start', gxi: EMPTY, gxr: EMPTY, ni: EMPTY, nr: EMPTY, keys: undefined, encKey: EMPTY, iv: EMPTY,
    localBehindNat: false, remoteBehindNat: false, peerId: undefined, lastIn: undefined, lastOut: undefined, rtx: undefined,
    expiresAt: undefined, quick: new Map(), children: [], keepaliveAt: undefined,
  };
}
