/**
 * The surface both IKEv1 roles share (`IkeResponder`, `IkeInitiator`): datagrams in and out, the
 * typed events (STYLE §10) and the one way to drive a core (STYLE §1, docs/ARCHITECTURE.md).
 */
import type { Duration, Instant, Timed } from '../base/index.js';
import type { DpdTiming } from './dpd.js';
import type { Endpoint } from './addr.js';
import type { EspSaParams } from './esp.js';
import type { EspEncapsulation } from './proposals.js';

/** A UDP datagram in or out: `data` is the UDP payload exactly as on the wire. */
export interface IkeDatagram {
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly data: Uint8Array;
}

/** An IKE identity (RFC 2407 §4.6.2.1 type + data). */
export interface IkeIdentity {
  readonly idType: number;
  readonly data: Uint8Array;
}

/** A Quick Mode traffic selector taken from IDci / IDcr (RFC 2409 §5.5). */
export interface TrafficSelector {
  readonly address: string;
  readonly protocol: number;
  readonly port: number;
}

/** Negotiated IKE SA algorithms. */
export interface IkeAlgorithms {
  readonly encryption: string;
  readonly hash: string;
  readonly group: number;
  readonly lifetimeSeconds: number;
}

/** NAT-T flavour agreed in Main Mode by vendor ids (RFC 3947 §3.1, or the -02/-02\n/-03 drafts). */
export type NatVariant = 'rfc3947' | 'draft' | 'none';

/** NAT-T result of Main Mode (RFC 3947 §3). */
export interface NatState {
  readonly variant: NatVariant;
  /** A NAT sits in front of us (our NAT-D did not match). */
  readonly localBehindNat: boolean;
  /** A NAT sits in front of the peer. */
  readonly remoteBehindNat: boolean;
}

/** Why an SA went away. */
export type DeleteReason = 'peer-delete' | 'expired' | 'dpd' | 'local' | 'initial-contact' | 'ike-sa-gone' | 'half-open-timeout' | 'peer-error';

/** Why an exchange failed. */
export type FailReason =
  | 'aggressive-mode-refused'
  | 'no-proposal'
  | 'no-psk'
  | 'bad-ke'
  | 'auth-failed'
  | 'malformed'
  | 'bad-hash'
  | 'invalid-id'
  | 'timeout'
  | 'too-many-half-open'
  | 'peer-notify'
  /** The peer offers no NAT-T while ESP can only travel in UDP here (no raw ESP socket). */
  | 'no-nat-t';

/** A child SA came up (Quick Mode done): both directions' ESP keys and where ESP goes. */
export interface ChildSaUp {
  readonly type: 'child-sa-up';
  readonly ikeSaId: number;
  /** Keys for the SA we receive on (our SPI). */
  readonly inbound: EspSaParams;
  /** Keys for the SA we send on (the peer's SPI). */
  readonly outbound: EspSaParams;
  readonly encapsulation: EspEncapsulation;
  /** Current UDP endpoints; with 'udp-transport', ESP goes in UDP between these. */
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly localSelector: TrafficSelector;
  readonly remoteSelector: TrafficSelector;
  /** RFC 3947 §5.2 original addresses, when the initiator sent NAT-OA. */
  readonly natOa: { readonly initiator?: string; readonly responder?: string };
  readonly pfsGroup: number | undefined;
  readonly lifetimeSeconds: number;
  /** RFC 2407 §4.5 byte lifetime (kilobytes) of each direction; the ESP params carry it as `byteLimits`. */
  readonly lifetimeKilobytes?: number;
}

/** Main Mode is done: the IKE SA is up. */
export interface IkeSaUp {
  readonly type: 'ike-sa-up';
  readonly ikeSaId: number;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly peerId: IkeIdentity;
  readonly algorithms: IkeAlgorithms;
  readonly natT: NatState;
  /** 'windows' when MM1 carried the MS NT5 ISAKMPOAKLEY vendor id. */
  readonly peerVendor?: 'windows';
}

/** Typed events (STYLE §10); the daemon maps them to logs and metrics. */
export type IkeEvent =
  | IkeSaUp
  | ChildSaUp
  | { readonly type: 'sa-deleted'; readonly ikeSaId: number; readonly kind: 'ike' | 'child'; readonly inboundSpi?: number; readonly outboundSpi?: number; readonly reason: DeleteReason }
  | { readonly type: 'dpd-failed'; readonly ikeSaId: number; readonly remote: Endpoint }
  | { readonly type: 'endpoints-changed'; readonly ikeSaId: number; readonly local: Endpoint; readonly remote: Endpoint; readonly inboundSpis: readonly number[] }
  | { readonly type: 'initial-contact'; readonly ikeSaId: number; readonly remote: Endpoint; readonly peerId: IkeIdentity }
  /** IKEv1 re-authentication: the child SAs of IKE SA `fromIkeSaId` now belong to `ikeSaId`. */
  | { readonly type: 'children-adopted'; readonly ikeSaId: number; readonly fromIkeSaId: number; readonly inboundSpis: readonly number[] }
  | { readonly type: 'exchange-failed'; readonly ikeSaId: number | undefined; readonly remote: Endpoint; readonly reason: FailReason; readonly notify?: number };

/** Timers both roles take; durations in the base time units. */
export interface IkeTimers {
  /**
   * RFC 2408 §5: first retransmission interval (doubles) and the number of retransmissions before
   * giving up (defaults 2 s; responder 4, initiator 5).
   */
  readonly retransmit?: { readonly initial: Duration; readonly max: number };
  /** RFC 3706 DPD: idle interval before R-U-THERE, and how long without R-U-THERE-ACK means dead. */
  readonly dpd?: DpdTiming;
  /** RFC 3948 §4: NAT-keepalive interval when we are the one behind a NAT (responder: none unless set; initiator: 20 s). */
  readonly natKeepalive?: Duration;
}

/**
 * How every IKE core is driven (the project's one style, docs/ARCHITECTURE.md "Sans-I/O cores"):
 * feed input with `handle`, run due timers with `handleTimeout`, ask `pollAt` when to come back,
 * and after each call drain `pollTransmit` (one datagram, or undefined when none is left) and
 * `pollEvent` (one event, or undefined), oldest first.
 */
export interface IkeDrive extends Timed {
  /** Feed one UDP datagram received on our IKE port or our NAT-T port. */
  handle(now: Instant, d: IkeDatagram): void;
  /** The next datagram to send verbatim (IKE on the NAT-T port already carries the non-ESP marker). */
  pollTransmit(): IkeDatagram | undefined;
  /** The next event, oldest first. */
  pollEvent(): IkeEvent | undefined;
}
