/**
 * Typed values of L2TPv3 messages (RFC 3931, RFC 4719 for Ethernet pseudowires). The contract between
 * the v3 codec (`parse*` / `emit*` in this folder) and the v3 control connection and data plane: cores
 * only ever see these well-formed values; raw bytes stay in the codec.
 */

/** A 32-bit Control Connection ID (§3.2.1; 0 = "not yet assigned" before SCCRP). */
export type ControlConnectionId = number & { readonly __brand: 'ControlConnectionId' };
/** A 32-bit L2TPv3 Session ID (§4.1; 0 is reserved for control messages over IP). */
export type V3SessionId = number & { readonly __brand: 'V3SessionId' };
/** Brand a number as a ControlConnectionId. */
export const controlConnectionId = (n: number): ControlConnectionId => (n >>> 0) as ControlConnectionId;
/** Brand a number as a V3SessionId. */
export const v3SessionId = (n: number): V3SessionId => (n >>> 0) as V3SessionId;

/** How L2TPv3 is carried: directly over IP protocol 115 (§4.1.1) or over UDP (§4.1.2). */
export type V3Encapsulation = 'ip' | 'udp';

/** RFC 3931 §3.1 Message Type AVP values (20 = Explicit Acknowledgement, §6.15). */
export const V3MessageType = {
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
  ACK: 20,
} as const;
/** A known v3 message type number. */
export type V3MessageType = (typeof V3MessageType)[keyof typeof V3MessageType];

/** RFC 3931 §10.6 / RFC 4719 §7 pseudowire types this project carries. */
export const PwType = {
  /** RFC 4719: Ethernet VLAN (802.1Q tagged frames, tag may be rewritten). */
  EthernetVlan: 0x0004,
  /** RFC 4719: Ethernet (port mode, frames as they are). */
  Ethernet: 0x0005,
} as const;
/** An Ethernet pseudowire type. */
export type EthernetPwType = (typeof PwType)[keyof typeof PwType];

/** §5.4.4 L2-Specific Sublayer Type values. */
export const L2SpecificSublayerType = { none: 0, default: 1 } as const;
/** §5.4.4 Data Sequencing levels. */
export const DataSequencingLevel = { none: 0, nonIp: 1, all: 2 } as const;
/** §5.4.1 Message Digest: Digest Type values. */
export const DigestType = { hmacMd5: 0, hmacSha1: 1 } as const;
/** A Digest Type value. */
export type DigestType = (typeof DigestType)[keyof typeof DigestType];

/** §5.4.2 Result Code AVP (and error code / message). */
export interface V3ResultCode {
  readonly result: number;
  readonly error?: number;
  readonly message?: string;
}

/** RFC 2661 §4.4.4 Q.931 Cause Code AVP (reused by some v3 peers). */
export interface V3Q931Cause {
  readonly cause: number;
  readonly msg: number;
  readonly advisory?: string;
}

/** §5.4.5 Circuit Errors AVP (WEN). */
export interface CircuitErrors {
  readonly hardwareOverruns: number;
  readonly bufferOverruns: number;
  readonly timeoutErrors: number;
  readonly alignmentErrors: number;
}

/** §5.4.5 Circuit Status AVP: A (active) and N (new) bits. */
export interface CircuitStatus {
  readonly active: boolean;
  readonly new: boolean;
}

/** An AVP the registry does not know (vendor-specific, future, Extended Vendor ID 58). Only M=0 ones reach a core. */
export interface V3UnknownAvp {
  readonly vendorId: number;
  readonly attribute: number;
  readonly mandatory: boolean;
  readonly hidden: boolean;
  readonly value: Uint8Array;
}

/**
 * A known AVP with M=0 whose value did not decode (§7.1: "the AVP MUST be ignored", e.g. a 4-byte
 * Rx Connect Speed). Kept raw for the debug log and re-emitted as received.
 */
export interface V3MalformedAvp {
  readonly attribute: number;
  readonly detail: string;
  readonly hidden: boolean;
  readonly value: Uint8Array;
}

/**
 * Every AVP of RFC 3931 §5.4 (plus the RFC 2661 AVPs v3 peers reuse) as an optional typed field.
 * The Message Type AVP is lifted into `V3ControlMessage.type`; Random Vector (36) and Message
 * Digest (59) are consumed by the codec.
 */
export interface V3ControlAvps {
  /** 1 (§5.4.2) */ readonly resultCode?: V3ResultCode;
  /** 5 (§5.4.3 / §5.4.4): Control Connection or Session Tie Breaker, 8 bytes. */ readonly tieBreaker?: Uint8Array;
  /** 6 (RFC 2661 §4.4.3) */ readonly firmwareRevision?: number;
  /** 7 (§5.4.3) */ readonly hostName?: string;
  /** 8 (§5.4.3) */ readonly vendorName?: string;
  /** 10 (§5.4.3) */ readonly receiveWindowSize?: number;
  /** 11 (RFC 2661 §4.4.3, "tunnel auth" of some vendors) */ readonly challenge?: Uint8Array;
  /** 12 (RFC 2661 §4.4.4) */ readonly q931Cause?: V3Q931Cause;
  /** 13 (RFC 2661 §4.4.3): 16 bytes. */ readonly challengeResponse?: Uint8Array;
  /** 15 (§5.4.4 Serial Number, v2's Call Serial Number) */ readonly serialNumber?: number;
  /** 21 (RFC 2661 §4.4.4) */ readonly calledNumber?: string;
  /** 22 (RFC 2661 §4.4.4) */ readonly callingNumber?: string;
  /** 23 (RFC 2661 §4.4.4) */ readonly subAddress?: string;
  /** 25 (§5.4.4) */ readonly physicalChannelId?: number;
  /** 34 (§5.4.5) */ readonly circuitErrors?: CircuitErrors;
  /** 60 (§5.4.3) */ readonly routerId?: number;
  /** 61 (§5.4.3): non-zero. */ readonly assignedConnectionId?: ControlConnectionId;
  /** 62 (§5.4.3): at least one PW type. */ readonly pwCapabilities?: readonly number[];
  /** 63 (§5.4.4): non-zero. */ readonly localSessionId?: V3SessionId;
  /** 64 (§5.4.4): 0 before the peer's Local Session ID is known. */ readonly remoteSessionId?: V3SessionId;
  /** 65 (§5.4.4): 0, 4 or 8 bytes. */ readonly assignedCookie?: Uint8Array;
  /** 66 (§5.4.4): arbitrary octets. */ readonly remoteEndId?: Uint8Array;
  /** 68 (§5.4.4) */ readonly pwType?: number;
  /** 69 (§5.4.4) */ readonly l2SpecificSublayer?: number;
  /** 70 (§5.4.4) */ readonly dataSequencing?: number;
  /** 71 (§5.4.5) */ readonly circuitStatus?: CircuitStatus;
  /** 72 (§5.4.3) */ readonly preferredLanguage?: string;
  /** 73 (§5.4.1) Control Message Authentication Nonce. */ readonly nonce?: Uint8Array;
  /** 74 (§5.4.4): 64-bit bps. */ readonly txConnectSpeed?: bigint;
  /** 75 (§5.4.4): 64-bit bps. */ readonly rxConnectSpeed?: bigint;
  /** M=0 AVPs we do not know; kept for counters and debug logs. */
  readonly unknown?: readonly V3UnknownAvp[];
  /** Known M=0 AVPs with a malformed value, ignored (§7.1). */
  readonly malformed?: readonly V3MalformedAvp[];
}

/** The keys of V3ControlAvps that are real AVPs. */
export type V3AvpName = Exclude<keyof V3ControlAvps, 'unknown' | 'malformed'>;

/** §3.2.1 control message header fields. */
export interface V3ControlHeader {
  readonly connectionId: ControlConnectionId;
  readonly ns: number;
  readonly nr: number;
  /** Length field: bytes from the T bit to the end of the message. */
  readonly length: number;
  /** Where the control header starts in the datagram (4 over IP: after the zero Session ID). */
  readonly offset: number;
}

/**
 * A parsed control message. A ZLB (§6.15: header only) has `type === undefined` and no AVPs.
 * `digest` says whether a Message Digest AVP was present and how it was checked (§4.3).
 */
export interface V3ControlMessage {
  readonly connectionId: ControlConnectionId;
  readonly ns: number;
  readonly nr: number;
  readonly type: V3MessageType | undefined;
  readonly avps: V3ControlAvps;
  /** Digest Type of the first Message Digest AVP, if any. */
  readonly digestType?: DigestType;
}

/**
 * Everything that can be wrong with a v3 datagram. The control connection maps each kind to the
 * protocol's answer (§5.2: unknown M=1 AVP -> CDN or StopCCN result 2 error 8; §7.1 malformed).
 */
export type V3WireError =
  | { readonly kind: 'truncated'; readonly need: number; readonly have: number }
  | { readonly kind: 'bad-version'; readonly version: number }
  | { readonly kind: 'bad-length'; readonly field: 'header' | 'avp'; readonly detail: string }
  | { readonly kind: 'bad-flags'; readonly detail: string }
  | { readonly kind: 'not-control'; readonly sessionId: number }
  | { readonly kind: 'first-avp-not-message-type' }
  | { readonly kind: 'unknown-message-type'; readonly messageType: number; readonly mandatory: boolean }
  | { readonly kind: 'unknown-mandatory-avp'; readonly vendorId: number; readonly attribute: number }
  | { readonly kind: 'bad-avp-value'; readonly attribute: number; readonly detail: string }
  | { readonly kind: 'duplicate-avp'; readonly attribute: number }
  | { readonly kind: 'missing-avp'; readonly messageType: V3MessageType; readonly attribute: number; readonly name: V3AvpName }
  | { readonly kind: 'hidden-without-secret'; readonly attribute: number }
  | { readonly kind: 'hidden-without-random-vector'; readonly attribute: number }
  | { readonly kind: 'bad-hidden'; readonly attribute: number; readonly detail: string }
  | { readonly kind: 'bad-digest-position'; readonly detail: string }
  | { readonly kind: 'missing-digest' }
  | { readonly kind: 'bad-digest'; readonly digestType: number }
  | { readonly kind: 'zlb-with-authentication' };

/** Ids a failed control message still carried, so an answer can be addressed (§5.2, §5.4.3, §5.4.4). */
export interface V3AddressIds {
  /** Assigned Control Connection ID AVP (the sender's id for this connection). */
  readonly assignedConnectionId?: ControlConnectionId;
  /** Local Session ID AVP (the sender's session id). */
  readonly localSessionId?: V3SessionId;
  /** Remote Session ID AVP (our session id, as the sender knows it). */
  readonly remoteSessionId?: V3SessionId;
}

/**
 * Why `parseV3Control` rejected a datagram. `header` is set whenever the §3.2.1 header parsed (so the
 * reliable channel can still ack by Ns), `messageType` whenever the Message Type AVP was read, `ids`
 * with whatever id AVPs could be decoded, and `scope` tells the control connection what to clear
 * (§5.2: a session message clears only that session with a CDN; a connection message, the connection).
 * `authenticated` is false when the digest did not verify: nothing of such a message may be used.
 */
export interface V3ControlParseFailure {
  readonly error: V3WireError;
  readonly header?: V3ControlHeader;
  readonly messageType?: number;
  readonly ids: V3AddressIds;
  readonly scope: 'session' | 'connection' | 'none';
  readonly authenticated: boolean;
}

/** Keys for Control Message Authentication (§4.3, §5.4.1), from one control connection's view. */
export interface V3Authentication {
  /** Derived shared keys, `digestSharedKey(secret)` (two during a secret switchover). */
  readonly sharedKeys: readonly Uint8Array[];
  /** This LCCE's nonce (sent in its SCCRQ or SCCRP). */
  readonly localNonce?: Uint8Array;
  /** The peer's nonce; on receive, taken from the message itself when absent (SCCRP). */
  readonly remoteNonce?: Uint8Array;
  /** Digest Type we send (default HMAC-MD5, which §5.4.1 makes mandatory to support). */
  readonly digestType?: DigestType;
}

/** Options for parsing a v3 control message. */
export interface ParseV3ControlOptions {
  /** Carried over IP (32-bit zero Session ID first) or UDP. */
  readonly encapsulation: V3Encapsulation;
  /** Shared secret: needed to reveal hidden AVPs (§5.3). */
  readonly secret?: Uint8Array;
  /** When set, every message must carry a valid Message Digest (§4.3); ZLBs are refused. */
  readonly auth?: V3Authentication;
}

/** Options for emitting a v3 control message. */
export interface EmitV3ControlOptions {
  readonly encapsulation: V3Encapsulation;
  /** Shared secret, needed when any AVP is hidden. */
  readonly secret?: Uint8Array;
  /** AVPs to send with the H bit (§5.3); one Random Vector AVP precedes the first. */
  readonly hide?: ReadonlySet<V3AvpName>;
  /** Random bytes for the Random Vector and hidden-AVP padding (injected for determinism). */
  readonly random?: (n: number) => Uint8Array;
  /** Add Message Digest AVP(s) right after the Message Type AVP (§5.4.1). */
  readonly auth?: V3Authentication;
  /** Add an integrity-only Message Digest (§4.3: empty secret and nonces) when `auth` is absent. */
  readonly integrityDigest?: boolean;
}
