/**
 * ISAKMP / IKEv1 / IPsec DOI numbers as data (RFC 2408 §3, RFC 2407 §4, RFC 2409 App. A,
 * RFC 3947, RFC 3706, RFC 4106, RFC 4868). `as const` objects, never enums.
 */

/** RFC 2408 §3.1 Next Payload types (+ RFC 3947 NAT-D/NAT-OA, draft NAT-T 130/131). */
export const PayloadType = {
  NONE: 0,
  SA: 1,
  P: 2,
  T: 3,
  KE: 4,
  ID: 5,
  CERT: 6,
  CR: 7,
  HASH: 8,
  SIG: 9,
  NONCE: 10,
  N: 11,
  D: 12,
  VID: 13,
  /** RFC 3947 §3.2 */
  NAT_D: 20,
  /** RFC 3947 §5.2 */
  NAT_OA: 21,
  /** draft-ietf-ipsec-nat-t-ike-02/03 private-use NAT-D. */
  NAT_D_DRAFT: 130,
  /** draft-ietf-ipsec-nat-t-ike-02/03 private-use NAT-OA. */
  NAT_OA_DRAFT: 131,
} as const;
/** A next-payload type number. */
export type PayloadTypeNumber = number;

/** RFC 2408 §3.1 Exchange types (+ RFC 2409 §9: 32 Quick Mode, 33 New Group Mode). */
export const ExchangeType = {
  BASE: 1,
  IDENTITY_PROTECTION: 2,
  AUTH_ONLY: 3,
  AGGRESSIVE: 4,
  INFORMATIONAL: 5,
  TRANSACTION: 6,
  QUICK_MODE: 32,
  NEW_GROUP_MODE: 33,
} as const;

/** RFC 2408 §3.1 header flags. */
export const IsakmpFlags = { ENCRYPTION: 0x01, COMMIT: 0x02, AUTH_ONLY: 0x04 } as const;

/** RFC 2408 §3.14.1 notify message types (+ RFC 2407 §4.6.3 status, RFC 3706 DPD). */
export const NotifyType = {
  INVALID_PAYLOAD_TYPE: 1,
  DOI_NOT_SUPPORTED: 2,
  SITUATION_NOT_SUPPORTED: 3,
  INVALID_COOKIE: 4,
  INVALID_MAJOR_VERSION: 5,
  INVALID_MINOR_VERSION: 6,
  INVALID_EXCHANGE_TYPE: 7,
  INVALID_FLAGS: 8,
  INVALID_MESSAGE_ID: 9,
  INVALID_PROTOCOL_ID: 10,
  INVALID_SPI: 11,
  INVALID_TRANSFORM_ID: 12,
  ATTRIBUTES_NOT_SUPPORTED: 13,
  NO_PROPOSAL_CHOSEN: 14,
  BAD_PROPOSAL_SYNTAX: 15,
  PAYLOAD_MALFORMED: 16,
  INVALID_KEY_INFORMATION: 17,
  INVALID_ID_INFORMATION: 18,
  INVALID_HASH_INFORMATION: 23,
  AUTHENTICATION_FAILED: 24,
  /** RFC 2407 §4.6.3.1 */
  RESPONDER_LIFETIME: 24576,
  /** RFC 2407 §4.6.3.2 */
  REPLAY_STATUS: 24577,
  /** RFC 2407 §4.6.3.3 */
  INITIAL_CONTACT: 24578,
  /** RFC 3706 §5 */
  R_U_THERE: 36136,
  /** RFC 3706 §5 */
  R_U_THERE_ACK: 36137,
} as const;

/** RFC 2407 §4.4.1 / RFC 2408 §3.4 protocol ids. */
export const ProtocolId = { ISAKMP: 1, AH: 2, ESP: 3, IPCOMP: 4 } as const;

/** RFC 2407 §2 the IPsec DOI, and §4.2 SIT_IDENTITY_ONLY. */
export const DOI_IPSEC = 1;
/** RFC 2407 §4.2 */
export const SIT_IDENTITY_ONLY = 1;
/** RFC 2407 §4.4.2 KEY_IKE transform id for the ISAKMP protocol. */
export const KEY_IKE = 1;

/** RFC 2407 §4.6.2.1 identification types. */
export const IdType = {
  IPV4_ADDR: 1,
  FQDN: 2,
  USER_FQDN: 3,
  IPV4_ADDR_SUBNET: 4,
  IPV6_ADDR: 5,
  IPV6_ADDR_SUBNET: 6,
  IPV4_ADDR_RANGE: 7,
  IPV6_ADDR_RANGE: 8,
  DER_ASN1_DN: 9,
  DER_ASN1_GN: 10,
  KEY_ID: 11,
} as const;

/** RFC 2409 Appendix A phase-1 attribute classes. */
export const Ike1Attr = {
  ENCRYPTION_ALGORITHM: 1,
  HASH_ALGORITHM: 2,
  AUTHENTICATION_METHOD: 3,
  GROUP_DESCRIPTION: 4,
  LIFE_TYPE: 11,
  LIFE_DURATION: 12,
  KEY_LENGTH: 14,
} as const;

/** RFC 2409 Appendix A encryption algorithm values (AES from RFC 3602 / IANA). */
export const Ike1Encr = { DES_CBC: 1, TRIPLE_DES_CBC: 5, AES_CBC: 7 } as const;
/** RFC 2409 Appendix A hash algorithm values (SHA2 from RFC 4868 / IANA). */
export const Ike1Hash = { MD5: 1, SHA1: 2, SHA2_256: 4, SHA2_384: 5, SHA2_512: 6 } as const;
/** RFC 2409 Appendix A authentication method values. */
export const Ike1Auth = { PSK: 1, DSS: 2, RSA_SIG: 3 } as const;
/** RFC 2409 §6 / RFC 3526 / RFC 5903 group numbers. */
export const DhGroup = { MODP_1024: 2, MODP_1536: 5, MODP_2048: 14, ECP_256: 19, ECP_384: 20 } as const;
/** RFC 2409 Appendix A / RFC 2407 §4.5 life types. */
export const LifeType = { SECONDS: 1, KILOBYTES: 2 } as const;

/** RFC 2407 §4.5 IPsec (phase-2) SA attribute classes. */
export const Ipsec2Attr = {
  SA_LIFE_TYPE: 1,
  SA_LIFE_DURATION: 2,
  GROUP_DESCRIPTION: 3,
  ENCAPSULATION_MODE: 4,
  AUTH_ALGORITHM: 5,
  KEY_LENGTH: 6,
} as const;

/** RFC 2407 §4.5 + RFC 3947 §5.1 + draft-ietf-ipsec-nat-t-ike-02/03 encapsulation modes. */
export const EncapMode = {
  TUNNEL: 1,
  TRANSPORT: 2,
  UDP_TUNNEL: 3,
  UDP_TRANSPORT: 4,
  UDP_TUNNEL_DRAFT: 61443,
  UDP_TRANSPORT_DRAFT: 61444,
} as const;

/** RFC 2407 §4.4.4 ESP transform ids (+ RFC 4106 GCM). */
export const EspTransformId = { DES: 2, TRIPLE_DES: 3, NULL: 11, AES_CBC: 12, AES_GCM_8: 18, AES_GCM_12: 19, AES_GCM_16: 20 } as const;
/** RFC 2407 §4.5 authentication algorithm values (+ RFC 4868 SHA2). */
export const EspAuth = { HMAC_MD5: 1, HMAC_SHA1: 2, HMAC_SHA2_256: 5, HMAC_SHA2_384: 6, HMAC_SHA2_512: 7 } as const;

/** Well-known vendor ID payload contents (hex of MD5 of the names). */
export const VendorIds = {
  /** RFC 3947 §3.1: MD5("RFC 3947"). */
  RFC3947: '4a131c81070358455c5728f20e95452f',
  /** MD5("draft-ietf-ipsec-nat-t-ike-02"). */
  NATT_DRAFT_02: 'cd60464335df21f87cfdb2fc68b6a448',
  /** MD5("draft-ietf-ipsec-nat-t-ike-02\n") — sent by Windows and macOS/iOS. */
  NATT_DRAFT_02N: '90cb80913ebb696e086381b5ec427b1f',
  /** MD5("draft-ietf-ipsec-nat-t-ike-03"). */
  NATT_DRAFT_03: '7d9419a65310ca6f2c179d9215529d56',
  /** RFC 3706 §4 DPD vendor id (version 1.0). */
  DPD: 'afcad71368a1f1c96b8696fc77570100',
  /** Microsoft "MS NT5 ISAKMPOAKLEY" + a 4-byte version (Windows); a prefix. */
  MS_NT5_PREFIX: '1e2b516905991c7d7c96fcbfb587e461',
  /** Microsoft "Vid-Initial-Contact": Windows says INITIAL-CONTACT with this VID instead of the notify. */
  MS_INITIAL_CONTACT: '26244d38eddb61b3172a36e3d0cfb819',
  /** Microsoft "MS-Negotiation Discovery Capable" (informational only). */
  MS_NEGOTIATION_DISCOVERY: 'fb1de3cdf341b7ea16b7e5be0855f120',
} as const;
