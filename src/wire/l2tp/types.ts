/**
 * Typed values of L2TPv2 messages (RFC 2661). This file is the contract between the codec
 * (`parse*` / `emit*` in this folder) and the control plane (`src/l2tp`). Cores only ever see these
 * well-formed values; raw bytes stay in the codec.
 */
import type { RandomSource } from '../../base/index.js';

/** A 16-bit tunnel id (0 = "not yet assigned" in SCCRQ / StopCCN before SCCRP). */
export type TunnelId = number & { readonly __brand: 'TunnelId' };
/** A 16-bit session id (0 = control messages that are not session-scoped). */
export type SessionId = number & { readonly __brand: 'SessionId' };
/** Brand a number as a TunnelId. */
export const tunnelId = (n: number): TunnelId => n as TunnelId;
/** Brand a number as a SessionId. */
export const sessionId = (n: number): SessionId => n as SessionId;

/** RFC 2661 §3.2 Message Type AVP values. */
export const MessageType = {
  SCCRQ: 1,
  SCCRP: 2,
  SCCCN: 3,
  StopCCN: 4,
  HELLO: 6,
  OCRQ: 7,
  OCRP: 8,
  OCCN: 9,
  ICRQ: 10,
  ICRP: 11,
  ICCN: 12,
  CDN: 14,
  WEN: 15,
  SLI: 16,
} as const;
/** A known message type number. */
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** RFC 2661 §4.4.2 Result Code AVP (and error code / message). */
export interface ResultCode {
  readonly result: number;
  readonly error?: number;
  readonly message?: string;
}

/** RFC 2661 §4.4.5 Q.931 Cause Code AVP. */
export interface Q931Cause {
  readonly cause: number;
  readonly msg: number;
  readonly advisory?: string;
}

/** RFC 2661 §4.4.6 Call Errors AVP. */
export interface CallErrors {
  readonly crcErrors: number;
  readonly framingErrors: number;
  readonly hardwareOverruns: number;
  readonly bufferOverruns: number;
  readonly timeoutErrors: number;
  readonly alignmentErrors: number;
}

/** RFC 2661 §4.4.6 ACCM AVP. */
export interface Accm {
  readonly send: number;
  readonly recv: number;
}

/** RFC 3145 PPP Disconnect Cause Code AVP (attribute 46). */
export interface PppDisconnectCause {
  readonly code: number;
  readonly protocol: number;
  readonly direction: number;
  readonly message?: string;
}

/** An AVP that the registry does not know (vendor-specific or future). Only M=0 ones reach a core. */
export interface UnknownAvp {
  readonly vendorId: number;
  readonly attribute: number;
  readonly mandatory: boolean;
  readonly hidden: boolean;
  readonly value: Uint8Array;
}

/**
 * Every AVP of RFC 2661 §4.4 (+ RFC 3145 attr 46) as an optional typed field.
 * The Message Type AVP is lifted into `ControlMessage.type`; Random Vector (36) is consumed by
 * the codec for hidden AVPs and never appears here.
 */
export interface ControlAvps {
  /** 1 */ readonly resultCode?: ResultCode;
  /** 2: version 1, revision 0 for RFC 2661. */ readonly protocolVersion?: { readonly version: number; readonly revision: number };
  /** 3: bit 0 sync, bit 1 async (bit values 1 and 2). */ readonly framingCapabilities?: number;
  /** 4: bit 0 digital, bit 1 analog. */ readonly bearerCapabilities?: number;
  /** 5: 8 bytes. */ readonly tieBreaker?: Uint8Array;
  /** 6 */ readonly firmwareRevision?: number;
  /** 7 */ readonly hostName?: string;
  /** 8 */ readonly vendorName?: string;
  /** 9 */ readonly assignedTunnelId?: TunnelId;
  /** 10 */ readonly receiveWindowSize?: number;
  /** 11 */ readonly challenge?: Uint8Array;
  /** 12 */ readonly q931Cause?: Q931Cause;
  /** 13: 16 bytes. */ readonly challengeResponse?: Uint8Array;
  /** 14 */ readonly assignedSessionId?: SessionId;
  /** 15 */ readonly callSerialNumber?: number;
  /** 16 */ readonly minimumBps?: number;
  /** 17 */ readonly maximumBps?: number;
  /** 18 */ readonly bearerType?: number;
  /** 19 */ readonly framingType?: number;
  /** 21 */ readonly calledNumber?: string;
  /** 22 */ readonly callingNumber?: string;
  /** 23 */ readonly subAddress?: string;
  /** 24 */ readonly txConnectSpeed?: number;
  /** 25 */ readonly physicalChannelId?: number;
  /** 26 */ readonly initialReceivedLcpConfReq?: Uint8Array;
  /** 27 */ readonly lastSentLcpConfReq?: Uint8Array;
  /** 28 */ readonly lastReceivedLcpConfReq?: Uint8Array;
  /** 29 */ readonly proxyAuthenType?: number;
  /** 30 */ readonly proxyAuthenName?: string;
  /** 31 */ readonly proxyAuthenChallenge?: Uint8Array;
  /** 32 */ readonly proxyAuthenId?: number;
  /** 33 */ readonly proxyAuthenResponse?: Uint8Array;
  /** 34 */ readonly callErrors?: CallErrors;
  /** 35 */ readonly accm?: Accm;
  /** 37 */ readonly privateGroupId?: Uint8Array;
  /** 38 */ readonly rxConnectSpeed?: number;
  /** 39: presence only. */ readonly sequencingRequired?: true;
  /** 46 (RFC 3145) */ readonly pppDisconnectCause?: PppDisconnectCause;
  /** M=0 AVPs we do not know; kept for counters and debug logs. */
  readonly unknown?: readonly UnknownAvp[];
}

/** The keys of ControlAvps that are real AVPs (not `unknown`). */
export type AvpName = Exclude<keyof ControlAvps, 'unknown'>;

/** RFC 2661 §3.1 header fields common to control and data messages. */
export interface L2tpHeader {
  /** true = control message (T bit). */
  readonly isControl: boolean;
  readonly tunnelId: TunnelId;
  readonly sessionId: SessionId;
  /** Present when the S bit (data) is set; always present on control. */
  readonly ns?: number;
  readonly nr?: number;
  /** P bit (data only). */
  readonly priority?: boolean;
  /** Offset Size when the O bit is set (data only). */
  readonly offsetSize?: number;
  /** Total header length in bytes (where the payload / AVPs start). */
  readonly headerLength: number;
  /** Length field when the L bit is set (always on control); else the datagram length. */
  readonly length: number;
}

/**
 * A parsed control message. A ZLB (zero-length body, §5.8) has `type === undefined` and no AVPs.
 */
export interface ControlMessage {
  readonly tunnelId: TunnelId;
  readonly sessionId: SessionId;
  readonly ns: number;
  readonly nr: number;
  readonly type: MessageType | undefined;
  readonly avps: ControlAvps;
}

/** A parsed data message (PPP frame in `payload`, a view into the datagram, not a copy). */
export interface DataMessage {
  readonly tunnelId: TunnelId;
  readonly sessionId: SessionId;
  readonly ns?: number;
  readonly nr?: number;
  readonly priority: boolean;
  readonly payload: Uint8Array;
}

/**
 * Everything that can be wrong with a datagram. The control plane maps each kind to the
 * protocol's answer (§4.2: unknown mandatory AVP → StopCCN/CDN result 2 error 8, etc).
 */
export type WireError =
  | { readonly kind: 'truncated'; readonly need: number; readonly have: number }
  | { readonly kind: 'bad-version'; readonly version: number }
  | { readonly kind: 'bad-length'; readonly field: 'header' | 'avp' | 'offset'; readonly detail: string }
  | { readonly kind: 'bad-flags'; readonly detail: string }
  | { readonly kind: 'offset-too-large'; readonly offsetSize: number; readonly max: number }
  | { readonly kind: 'first-avp-not-message-type' }
  | { readonly kind: 'unknown-message-type'; readonly messageType: number; readonly mandatory: boolean }
  | { readonly kind: 'unknown-mandatory-avp'; readonly vendorId: number; readonly attribute: number }
  | { readonly kind: 'bad-avp-value'; readonly attribute: number; readonly detail: string }
  | { readonly kind: 'duplicate-avp'; readonly attribute: number }
  | { readonly kind: 'missing-avp'; readonly messageType: MessageType; readonly attribute: number; readonly name: AvpName }
  /** §4.4.3 / §4.4.4: the Assigned Tunnel ID (SCCRQ, SCCRP) or Assigned Session ID (ICRQ, ICRP, OCRQ, OCRP) is 0. */
  | { readonly kind: 'zero-assigned-id'; readonly messageType: MessageType; readonly attribute: number; readonly name: AssignedIdName }
  | { readonly kind: 'hidden-without-secret'; readonly attribute: number }
  | { readonly kind: 'hidden-without-random-vector'; readonly attribute: number }
  | { readonly kind: 'bad-hidden'; readonly attribute: number; readonly detail: string };

/** The two Assigned ID AVPs a refusal is addressed with (§3.1: the header carries the recipient's id). */
export type AssignedIdName = 'assignedTunnelId' | 'assignedSessionId';

/**
 * Options for emitting a control message. Hiding (§4.3) needs the shared secret and randomness for
 * the Random Vector and padding; the codec has no randomness of its own, so the caller passes its
 * injected source (the engine's `RandomSource`, a seeded one in tests). Without `hide`, nothing
 * random is drawn and `random` is not needed.
 */
export type EmitControlOptions =
  | { readonly secret?: Uint8Array; readonly hide?: undefined; readonly random?: RandomSource }
  | {
      /** Tunnel shared secret. */
      readonly secret: Uint8Array;
      /** AVPs to send with the H bit (§4.3). A Random Vector AVP is inserted before the first one. */
      readonly hide: ReadonlySet<AvpName>;
      /** Random Vector and hidden-AVP padding bytes. */
      readonly random: RandomSource;
    };

/** Options for parsing a control message body. */
export interface ParseControlOptions {
  /** Tunnel shared secret, needed to reveal hidden AVPs. */
  readonly secret?: Uint8Array;
}

/** Options for parsing data messages. */
export interface ParseDataOptions {
  /** Largest Offset Size accepted (§3.1 offset pad); larger ones are dropped and counted. */
  readonly maxOffset: number;
}

/** An AVP of a refused message that was framed correctly but whose value could not be decoded. */
export interface UnreadableAvp {
  readonly attribute: number;
  readonly mandatory: boolean;
  readonly hidden: boolean;
  /** Why (bad-avp-value, duplicate-avp, bad-hidden, hidden-without-secret, ...). */
  readonly error: WireError;
}

/**
 * What `parseControl` could read of a message it refused. The codec keeps reading after an AVP it
 * cannot accept (an unknown M=1 AVP, a bad value, a duplicate, a hidden AVP it cannot reveal) as long
 * as the AVP framing holds, so a refusal can be addressed to the peer (§3.1: the header Tunnel /
 * Session ID is that of the intended recipient, i.e. the peer's Assigned Tunnel / Session ID) and the
 * refused message logged with its AVPs (`formatRefused`).
 */
export interface PartialControl {
  /** The Message Type AVP value (possibly an unknown type). */
  readonly messageType: number;
  /** The peer's Assigned Tunnel ID AVP, when present and decoded (may be 0: see `zero-assigned-id`). */
  readonly assignedTunnelId?: TunnelId;
  /** The peer's Assigned Session ID AVP, when present and decoded (may be 0). */
  readonly assignedSessionId?: SessionId;
  /**
   * Every AVP that decoded, first occurrence wins. `avps.unknown` holds every unknown AVP, M=1 ones
   * included here (they are the reason for an `unknown-mandatory-avp` refusal).
   */
  readonly avps: ControlAvps;
  /** Framed AVPs whose value could not be decoded, in wire order. */
  readonly unreadable: readonly UnreadableAvp[];
  /** false when the AVP framing broke (`bad-length`): AVPs after that point were not read. */
  readonly complete: boolean;
}

/**
 * Why `parseControl` rejected a datagram. `error` is the first problem in wire order (Message Type
 * problems first, then AVPs, then the §6 spec checks: `missing-avp`, `zero-assigned-id`).
 * `header` is filled whenever the §3.1 header parsed (so the control plane can still ack the message
 * via Ns, whatever the error: e.g. a StopCCN without its §6.4 Result Code), `messageType` and
 * `partial` whenever the Message Type AVP was read (so it can answer StopCCN or CDN result 2 error 8
 * for an unknown M=1 AVP, §4.2, addressed to the peer's assigned id).
 */
export interface ControlParseFailure {
  readonly error: WireError;
  readonly header?: L2tpHeader;
  readonly messageType?: number;
  readonly partial?: PartialControl;
}

/** Fields the data plane writes into reserved headroom in front of a PPP frame (§3.1). */
export interface DataHeaderFields {
  readonly tunnelId: number;
  readonly sessionId: number;
  /** Set (with `nr`) to send the S bit and the Ns/Nr fields. */
  readonly ns?: number;
  /** Nr (reserved on data messages, §3.1); written as 0 when `ns` is set and this is absent. */
  readonly nr?: number;
  /** P bit. */
  readonly priority?: boolean;
  /** Set to send the O bit, Offset Size and that many zero pad bytes. */
  readonly offsetSize?: number;
  /** Send the L bit and the Length field. */
  readonly withLength?: boolean;
}
