/**
 * Typed values of ISAKMP (RFC 2408) messages as used by IKEv1 (RFC 2409) with the IPsec DOI
 * (RFC 2407) and NAT-T (RFC 3947). The codec in `codec.ts` maps bytes <-> these values; the IKE
 * core (`src/ipsec`) only ever sees these.
 */

/** RFC 2408 §3.1 fixed ISAKMP header (28 bytes). */
export interface IsakmpHeader {
  /** 8 bytes. */ readonly icookie: Uint8Array;
  /** 8 bytes (all zero in the first message). */ readonly rcookie: Uint8Array;
  /** Type of the first payload. */ readonly nextPayload: number;
  /** Major (high nibble) and minor (low nibble) version; 0x10 for IKEv1. */ readonly version: number;
  readonly exchangeType: number;
  readonly flags: number;
  readonly messageId: number;
  /** Total message length including the header. */ readonly length: number;
}

/** RFC 2408 §3.3 data attribute: TV (AF=1, 16-bit value) or TLV (AF=0, variable value). */
export type SaAttribute =
  | { readonly type: number; readonly tv: true; readonly value: number }
  | { readonly type: number; readonly tv: false; readonly value: Uint8Array };

/** RFC 2408 §3.6 transform payload. */
export interface Transform {
  readonly number: number;
  readonly id: number;
  readonly attributes: readonly SaAttribute[];
}

/** RFC 2408 §3.5 proposal payload. */
export interface Proposal {
  readonly number: number;
  readonly protocolId: number;
  readonly spi: Uint8Array;
  readonly transforms: readonly Transform[];
}

/** RFC 2408 §3.4 + RFC 2407 §4.6.1 SA payload (IPsec DOI, 4-byte situation). */
export interface SaPayload {
  readonly kind: 'sa';
  readonly doi: number;
  readonly situation: number;
  readonly proposals: readonly Proposal[];
}
/** RFC 2408 §3.7 key exchange payload. */
export interface KePayload { readonly kind: 'ke'; readonly data: Uint8Array }
/** RFC 2407 §4.6.2 IPsec DOI identification payload. */
export interface IdPayload {
  readonly kind: 'id';
  readonly idType: number;
  readonly protocolId: number;
  readonly port: number;
  readonly data: Uint8Array;
}
/** RFC 2408 §3.11 hash payload. */
export interface HashPayload { readonly kind: 'hash'; readonly data: Uint8Array }
/** RFC 2408 §3.12 signature payload. */
export interface SigPayload { readonly kind: 'sig'; readonly data: Uint8Array }
/** RFC 2408 §3.13 nonce payload. */
export interface NoncePayload { readonly kind: 'nonce'; readonly data: Uint8Array }
/** RFC 2408 §3.14 notification payload. */
export interface NotifyPayload {
  readonly kind: 'n';
  readonly doi: number;
  readonly protocolId: number;
  readonly notifyType: number;
  readonly spi: Uint8Array;
  readonly data: Uint8Array;
}
/** RFC 2408 §3.15 delete payload (all SPIs have the same size). */
export interface DeletePayload {
  readonly kind: 'd';
  readonly doi: number;
  readonly protocolId: number;
  readonly spiSize: number;
  readonly spis: readonly Uint8Array[];
}
/** RFC 2408 §3.16 vendor id payload. */
export interface VidPayload { readonly kind: 'vid'; readonly data: Uint8Array }
/** RFC 3947 §3.2 NAT-D payload (type 20, or 130 for the drafts). */
export interface NatDPayload { readonly kind: 'nat-d'; readonly type: 20 | 130; readonly data: Uint8Array }
/** RFC 3947 §5.2 NAT-OA payload (type 21, or 131 for the drafts). */
export interface NatOaPayload {
  readonly kind: 'nat-oa';
  readonly type: 21 | 131;
  readonly idType: number;
  /** 4 bytes (ID_IPV4_ADDR) or 16 bytes (ID_IPV6_ADDR). */ readonly address: Uint8Array;
}
/** Any other payload (CERT, CR, private use ...), kept opaque. */
export interface RawPayloadValue { readonly kind: 'raw'; readonly type: number; readonly data: Uint8Array }

/** Every payload value the codec knows. */
export type IkePayload =
  | SaPayload
  | KePayload
  | IdPayload
  | HashPayload
  | SigPayload
  | NoncePayload
  | NotifyPayload
  | DeletePayload
  | VidPayload
  | NatDPayload
  | NatOaPayload
  | RawPayloadValue;

/** A payload as found in a chain: its type, its body (after the 4-byte generic header), its offset. */
export interface RawPayload {
  readonly type: number;
  readonly body: Uint8Array;
  /** Offset of the generic header inside the buffer given to the chain parser. */
  readonly offset: number;
}

/** A parsed message: cleartext payloads, or the still-encrypted body (E flag, RFC 2408 §3.1). */
export type IsakmpMessage =
  | { readonly header: IsakmpHeader; readonly encrypted: false; readonly payloads: readonly IkePayload[]; readonly raws: readonly RawPayload[] }
  | { readonly header: IsakmpHeader; readonly encrypted: true; readonly body: Uint8Array };

/** Why bytes did not parse; maps to RFC 2408 §3.14.1 notify types (PAYLOAD-MALFORMED etc.). */
export type IkeWireError =
  | { readonly kind: 'truncated'; readonly where: string; readonly need: number; readonly have: number }
  | { readonly kind: 'bad-length'; readonly where: string; readonly detail: string }
  | { readonly kind: 'bad-version'; readonly version: number }
  | { readonly kind: 'unsupported-doi'; readonly doi: number }
  | { readonly kind: 'bad-payload'; readonly payloadType: number; readonly detail: string };
