/**
 * RADIUS numbers: packet codes, header sizes, ports and the enumerated attribute values we use by
 * name (RFC 2865, 2866, 2868, 2869, 3576/5176, 5997). Everything here is a plain `as const` table.
 */

/** RFC 2865 §3 / RFC 2866 §3 / RFC 5176 §3 / RFC 5997 §2: the Code field. */
export const RADIUS_CODE = {
  AccessRequest: 1,
  AccessAccept: 2,
  AccessReject: 3,
  AccountingRequest: 4,
  AccountingResponse: 5,
  AccessChallenge: 11,
  StatusServer: 12,
  StatusClient: 13,
  DisconnectRequest: 40,
  DisconnectAck: 41,
  DisconnectNak: 42,
  CoaRequest: 43,
  CoaAck: 44,
  CoaNak: 45,
} as const;

/** A RADIUS packet code (any byte; the known ones are in {@link RADIUS_CODE}). */
export type RadiusCode = number;

/** Names of the known codes, for logs. */
export const RADIUS_CODE_NAME: Readonly<Record<number, string>> = {
  1: 'Access-Request',
  2: 'Access-Accept',
  3: 'Access-Reject',
  4: 'Accounting-Request',
  5: 'Accounting-Response',
  11: 'Access-Challenge',
  12: 'Status-Server',
  13: 'Status-Client',
  40: 'Disconnect-Request',
  41: 'Disconnect-ACK',
  42: 'Disconnect-NAK',
  43: 'CoA-Request',
  44: 'CoA-ACK',
  45: 'CoA-NAK',
};

/** RFC 2865 §3: Code(1) Identifier(1) Length(2) Authenticator(16). */
export const RADIUS_HEADER_LENGTH = 20;
/** RFC 2865 §3: "The maximum length is 4096." */
export const RADIUS_MAX_PACKET_LENGTH = 4096;
/** RFC 2865 §5: an attribute's Length is one octet, so a value holds at most 253 octets. */
export const RADIUS_MAX_VALUE_LENGTH = 253;
/** RFC 2865 §5.26: Type(1) Length(1) Vendor-Id(4) Vendor-Type(1) Vendor-Length(1) leaves 247 octets. */
export const RADIUS_MAX_VSA_VALUE_LENGTH = 247;
/** RFC 2865 §3: the Authenticator field. */
export const RADIUS_AUTHENTICATOR_LENGTH = 16;
/** RFC 2865 §5.26 Vendor-Specific. */
export const ATTR_VENDOR_SPECIFIC = 26;
/** RFC 3579 §3.2 Message-Authenticator (HMAC-MD5, 16 octets). */
export const ATTR_MESSAGE_AUTHENTICATOR = 80;
/** SMI Private Enterprise Code of Microsoft (RFC 2548 §2). */
export const VENDOR_MICROSOFT = 311;

/** IANA ports: RFC 2865 §3 (1812), RFC 2866 §3 (1813), RFC 5176 §3 (3799). */
export const RADIUS_PORT = { auth: 1812, acct: 1813, dae: 3799 } as const;

/** RFC 2865 §5.6 Service-Type values. */
export const SERVICE_TYPE = {
  Login: 1,
  Framed: 2,
  CallbackLogin: 3,
  CallbackFramed: 4,
  Outbound: 5,
  Administrative: 6,
  NasPrompt: 7,
  AuthenticateOnly: 8,
  CallbackNasPrompt: 9,
  CallCheck: 10,
  CallbackAdministrative: 11,
  /** RFC 5176 §3.2: "Authorize Only" (CoA without credentials). */
  AuthorizeOnly: 17,
} as const;

/** RFC 2865 §5.7 Framed-Protocol values. */
export const FRAMED_PROTOCOL = { Ppp: 1, Slip: 2, Arap: 3, Gandalf: 4, Xylogics: 5, X75: 6 } as const;

/** RFC 2865 §5.41 NAS-Port-Type values (the ones a LAC/LNS uses, plus the classic ones). */
export const NAS_PORT_TYPE = {
  Async: 0,
  Sync: 1,
  IsdnSync: 2,
  IsdnAsyncV120: 3,
  IsdnAsyncV110: 4,
  Virtual: 5,
  Piafs: 6,
  HdlcClearChannel: 7,
  X25: 8,
  X75: 9,
  G3Fax: 10,
  Sdsl: 11,
  AdslCap: 12,
  AdslDmt: 13,
  Idsl: 14,
  Ethernet: 15,
  Xdsl: 16,
  Cable: 17,
  WirelessOther: 18,
  Wireless80211: 19,
} as const;

/** RFC 2866 §5.1 Acct-Status-Type values (+ RFC 2867 §4.1 tunnel values). */
export const ACCT_STATUS_TYPE = {
  Start: 1,
  Stop: 2,
  InterimUpdate: 3,
  AccountingOn: 7,
  AccountingOff: 8,
  TunnelStart: 9,
  TunnelStop: 10,
  TunnelReject: 11,
  TunnelLinkStart: 12,
  TunnelLinkStop: 13,
  TunnelLinkReject: 14,
} as const;

/** RFC 2866 §5.6 Acct-Authentic values. */
export const ACCT_AUTHENTIC = { Radius: 1, Local: 2, Remote: 3 } as const;

/** RFC 2866 §5.10 Acct-Terminate-Cause values (all 18 of them). */
export const TERMINATE_CAUSE = {
  UserRequest: 1,
  LostCarrier: 2,
  LostService: 3,
  IdleTimeout: 4,
  SessionTimeout: 5,
  AdminReset: 6,
  AdminReboot: 7,
  PortError: 8,
  NasError: 9,
  NasRequest: 10,
  NasReboot: 11,
  PortUnneeded: 12,
  PortPreempted: 13,
  PortSuspended: 14,
  ServiceUnavailable: 15,
  Callback: 16,
  UserError: 17,
  HostRequest: 18,
} as const;

/** One of the RFC 2866 §5.10 Acct-Terminate-Cause values. */
export type TerminateCause = (typeof TERMINATE_CAUSE)[keyof typeof TERMINATE_CAUSE];

/** RFC 2868 §3.1 Tunnel-Type values (RFC 2868 lists 1-12; 3 is L2TP). */
export const TUNNEL_TYPE = {
  Pptp: 1,
  L2f: 2,
  L2tp: 3,
  Atmp: 4,
  Vtp: 5,
  Ah: 6,
  IpIp: 7,
  MinIpIp: 8,
  Esp: 9,
  Gre: 10,
  Dvs: 11,
  IpInIp: 12,
} as const;

/** RFC 2868 §3.2 Tunnel-Medium-Type values (the "Address Family Numbers"; IPv4 = 1, IPv6 = 2). */
export const TUNNEL_MEDIUM_TYPE = { Ipv4: 1, Ipv6: 2, Nsap: 3, Hdlc: 4, Bbn1822: 5, Ieee802: 6, E163: 7, E164: 8, F69: 9, X121: 10, Ipx: 11, Appletalk: 12, DecnetIv: 13, BanyanVines: 14, E164Nsap: 15 } as const;

/** RFC 5176 §3.5 Error-Cause values. */
export const ERROR_CAUSE = {
  ResidualSessionContextRemoved: 201,
  InvalidEapPacket: 202,
  UnsupportedAttribute: 401,
  MissingAttribute: 402,
  NasIdentificationMismatch: 403,
  InvalidRequest: 404,
  UnsupportedService: 405,
  UnsupportedExtension: 406,
  InvalidAttributeValue: 407,
  AdministrativelyProhibited: 501,
  RequestNotRoutable: 502,
  SessionContextNotFound: 503,
  SessionContextNotRemovable: 504,
  OtherProxyProcessingError: 505,
  ResourcesUnavailable: 506,
  RequestInitiated: 507,
  MultipleSessionSelectionUnsupported: 508,
} as const;

/** One of the RFC 5176 §3.5 Error-Cause values. */
export type ErrorCause = (typeof ERROR_CAUSE)[keyof typeof ERROR_CAUSE];

/** RFC 2548 §2.4.4-5 MS-MPPE-Encryption-Policy / -Types values. */
export const MS_MPPE = {
  policy: { EncryptionAllowed: 1, EncryptionRequired: 2 },
  types: { Rc4_40: 2, Rc4_128: 4, Rc4_40or128: 6 },
} as const;
