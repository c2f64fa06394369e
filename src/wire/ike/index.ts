/**
 * wire/ike: ISAKMP/IKEv1 codecs (RFC 2408, RFC 2407 IPsec DOI, RFC 2409, RFC 3947 NAT-T).
 * Contract: parse* never throws and returns Result<_, IkeWireError>; emit* writes exactly the
 * computed length. Encrypted bodies are left to src/ipsec, which decrypts and calls parsePayloads.
 */
export * from './constants.js';
export type * from './types.js';
export {
  ISAKMP_HEADER_LENGTH,
  GENERIC_HEADER_LENGTH,
  parseIsakmpHeader,
  emitIsakmpHeader,
  parsePayloadChain,
  decodePayload,
  parsePayloads,
  payloadTypeOf,
  payloadLength,
  emitPayload,
  payloadChainLength,
  emitPayloadChain,
  encodePayloadChain,
  isakmpMessageLength,
  encodeIsakmp,
  emitIsakmp,
  parseIsakmp,
  attr,
  attrValue,
  encodeAttributes,
  decodeAttributes,
  type HeaderFields,
} from './codec.js';
