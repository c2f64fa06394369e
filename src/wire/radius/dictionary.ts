/**
 * The RADIUS attribute dictionary as data: one row per attribute with its vendor, type, name, data
 * type, RFC 2868 §3 tag rule, encryption and RFC section (like the L2TP AVP registry). IETF rows
 * cover RFC 2865, 2866, 2867, 2868, 2869, 3162, 4372, 4818, 5176 and 6911; the Microsoft rows
 * (vendor 311) are RFC 2548's. More vendors come from FreeRADIUS dictionary files
 * (`freeradius-dictionary.ts`) into a {@link RadiusDictionary}.
 */
import {
  ACCT_AUTHENTIC,
  ACCT_STATUS_TYPE,
  ERROR_CAUSE,
  FRAMED_PROTOCOL,
  NAS_PORT_TYPE,
  SERVICE_TYPE,
  TERMINATE_CAUSE,
  TUNNEL_MEDIUM_TYPE,
  TUNNEL_TYPE,
  VENDOR_MICROSOFT,
} from './constants.js';
import type { RadiusValueType, RadiusValueTypes } from './values.js';

/**
 * RFC 2868 §3 tag rules: `optional` — strings whose first octet 0x01-0x1F is a tag (else no tag);
 * `integer` — the first of four octets is the tag (0x00-0x1F), the value is 24 bits; `always` —
 * Tunnel-Password, whose tag octet is always there (§3.5).
 */
export type TagRule = 'none' | 'optional' | 'integer' | 'always';

/** How a value is encrypted: RFC 2865 §5.2 (`user-password`) or RFC 2868 §3.5 salt (`salted`). */
export type Encryption = 'none' | 'user-password' | 'salted';

/** One dictionary row; `T` is the TypeScript type of its value (phantom, for typed access). */
export interface AttributeDef<T = unknown> {
  readonly name: string;
  /** 0 for IETF, else the vendor's Private Enterprise Code. */
  readonly vendor: number;
  /** Attribute Type, or Vendor-Type for a vendor attribute. */
  readonly type: number;
  readonly valueType: RadiusValueType;
  readonly tag: TagRule;
  readonly encrypt: Encryption;
  /** Allowed plain value sizes in octets (inclusive), when the RFC fixes them. */
  readonly size?: { readonly min: number; readonly max: number };
  /** Names of enumerated values, for logs. */
  readonly values?: Readonly<Record<number, string>>;
  /** The value is a credential or key: logs show `<hidden>`. */
  readonly secret: boolean;
  /** RFC and section. */
  readonly reference: string;
  /** Phantom field carrying `T`; never set. */
  readonly __type?: T;
}

interface RowOptions {
  readonly tag?: TagRule;
  readonly encrypt?: Encryption;
  readonly size?: { readonly min: number; readonly max: number };
  readonly values?: Readonly<Record<string, number>>;
  readonly secret?: boolean;
}

/** Invert an `as const` name -> number table for the `values` of a row. */
function valueNames(table: Readonly<Record<string, number>>): Record<number, string> {
  const out: Record<number, string> = {};
  for (const [k, v] of Object.entries(table)) out[v] = k;
  return out;
}

/** Build a row; the value type is inferred from `valueType`. */
export function attributeRow<K extends RadiusValueType>(
  vendor: number,
  type: number,
  name: string,
  valueType: K,
  reference: string,
  o: RowOptions = {},
): AttributeDef<RadiusValueTypes[K]> {
  return {
    name,
    vendor,
    type,
    valueType,
    tag: o.tag ?? 'none',
    encrypt: o.encrypt ?? 'none',
    ...(o.size !== undefined ? { size: o.size } : {}),
    ...(o.values !== undefined ? { values: valueNames(o.values) } : {}),
    secret: o.secret ?? (o.encrypt !== undefined && o.encrypt !== 'none'),
    reference,
  };
}

const ietf = <K extends RadiusValueType>(type: number, name: string, vt: K, ref: string, o?: RowOptions): AttributeDef<RadiusValueTypes[K]> =>
  attributeRow(0, type, name, vt, ref, o);
const ms = <K extends RadiusValueType>(type: number, name: string, vt: K, ref: string, o?: RowOptions): AttributeDef<RadiusValueTypes[K]> =>
  attributeRow(VENDOR_MICROSOFT, type, name, vt, `RFC 2548 ${ref}`, o);

const exactly = (n: number): { min: number; max: number } => ({ min: n, max: n });

/** IETF attributes by a TypeScript-friendly key (typed access: `RADIUS_ATTR.FramedIpAddress`). */
export const RADIUS_ATTR = {
  UserName: ietf(1, 'User-Name', 'text', 'RFC 2865 §5.1'),
  UserPassword: ietf(2, 'User-Password', 'text', 'RFC 2865 §5.2', { encrypt: 'user-password' }),
  ChapPassword: ietf(3, 'CHAP-Password', 'octets', 'RFC 2865 §5.3', { size: exactly(17), secret: true }),
  NasIpAddress: ietf(4, 'NAS-IP-Address', 'ipaddr', 'RFC 2865 §5.4'),
  NasPort: ietf(5, 'NAS-Port', 'integer', 'RFC 2865 §5.5'),
  ServiceType: ietf(6, 'Service-Type', 'integer', 'RFC 2865 §5.6', { values: SERVICE_TYPE }),
  FramedProtocol: ietf(7, 'Framed-Protocol', 'integer', 'RFC 2865 §5.7', { values: FRAMED_PROTOCOL }),
  FramedIpAddress: ietf(8, 'Framed-IP-Address', 'ipaddr', 'RFC 2865 §5.8'),
  FramedIpNetmask: ietf(9, 'Framed-IP-Netmask', 'ipaddr', 'RFC 2865 §5.9'),
  FramedRouting: ietf(10, 'Framed-Routing', 'integer', 'RFC 2865 §5.10'),
  FilterId: ietf(11, 'Filter-Id', 'text', 'RFC 2865 §5.11'),
  FramedMtu: ietf(12, 'Framed-MTU', 'integer', 'RFC 2865 §5.12'),
  FramedCompression: ietf(13, 'Framed-Compression', 'integer', 'RFC 2865 §5.13'),
  LoginIpHost: ietf(14, 'Login-IP-Host', 'ipaddr', 'RFC 2865 §5.14'),
  LoginService: ietf(15, 'Login-Service', 'integer', 'RFC 2865 §5.15'),
  LoginTcpPort: ietf(16, 'Login-TCP-Port', 'integer', 'RFC 2865 §5.16'),
  ReplyMessage: ietf(18, 'Reply-Message', 'text', 'RFC 2865 §5.18'),
  CallbackNumber: ietf(19, 'Callback-Number', 'text', 'RFC 2865 §5.19'),
  CallbackId: ietf(20, 'Callback-Id', 'text', 'RFC 2865 §5.20'),
  FramedRoute: ietf(22, 'Framed-Route', 'text', 'RFC 2865 §5.22'),
  FramedIpxNetwork: ietf(23, 'Framed-IPX-Network', 'ipaddr', 'RFC 2865 §5.23'),
  State: ietf(24, 'State', 'octets', 'RFC 2865 §5.24'),
  Class: ietf(25, 'Class', 'octets', 'RFC 2865 §5.25'),
  SessionTimeout: ietf(27, 'Session-Timeout', 'integer', 'RFC 2865 §5.27'),
  IdleTimeout: ietf(28, 'Idle-Timeout', 'integer', 'RFC 2865 §5.28'),
  TerminationAction: ietf(29, 'Termination-Action', 'integer', 'RFC 2865 §5.29'),
  CalledStationId: ietf(30, 'Called-Station-Id', 'text', 'RFC 2865 §5.30'),
  CallingStationId: ietf(31, 'Calling-Station-Id', 'text', 'RFC 2865 §5.31'),
  NasIdentifier: ietf(32, 'NAS-Identifier', 'text', 'RFC 2865 §5.32'),
  ProxyState: ietf(33, 'Proxy-State', 'octets', 'RFC 2865 §5.33'),
  LoginLatService: ietf(34, 'Login-LAT-Service', 'text', 'RFC 2865 §5.34'),
  LoginLatNode: ietf(35, 'Login-LAT-Node', 'text', 'RFC 2865 §5.35'),
  LoginLatGroup: ietf(36, 'Login-LAT-Group', 'octets', 'RFC 2865 §5.36'),
  FramedAppleTalkLink: ietf(37, 'Framed-AppleTalk-Link', 'integer', 'RFC 2865 §5.37'),
  FramedAppleTalkNetwork: ietf(38, 'Framed-AppleTalk-Network', 'integer', 'RFC 2865 §5.38'),
  FramedAppleTalkZone: ietf(39, 'Framed-AppleTalk-Zone', 'text', 'RFC 2865 §5.39'),
  AcctStatusType: ietf(40, 'Acct-Status-Type', 'integer', 'RFC 2866 §5.1', { values: ACCT_STATUS_TYPE }),
  AcctDelayTime: ietf(41, 'Acct-Delay-Time', 'integer', 'RFC 2866 §5.2'),
  AcctInputOctets: ietf(42, 'Acct-Input-Octets', 'integer', 'RFC 2866 §5.3'),
  AcctOutputOctets: ietf(43, 'Acct-Output-Octets', 'integer', 'RFC 2866 §5.4'),
  AcctSessionId: ietf(44, 'Acct-Session-Id', 'text', 'RFC 2866 §5.5'),
  AcctAuthentic: ietf(45, 'Acct-Authentic', 'integer', 'RFC 2866 §5.6', { values: ACCT_AUTHENTIC }),
  AcctSessionTime: ietf(46, 'Acct-Session-Time', 'integer', 'RFC 2866 §5.7'),
  AcctInputPackets: ietf(47, 'Acct-Input-Packets', 'integer', 'RFC 2866 §5.8'),
  AcctOutputPackets: ietf(48, 'Acct-Output-Packets', 'integer', 'RFC 2866 §5.9'),
  AcctTerminateCause: ietf(49, 'Acct-Terminate-Cause', 'integer', 'RFC 2866 §5.10', { values: TERMINATE_CAUSE }),
  AcctMultiSessionId: ietf(50, 'Acct-Multi-Session-Id', 'text', 'RFC 2866 §5.11'),
  AcctLinkCount: ietf(51, 'Acct-Link-Count', 'integer', 'RFC 2866 §5.12'),
  AcctInputGigawords: ietf(52, 'Acct-Input-Gigawords', 'integer', 'RFC 2869 §5.1'),
  AcctOutputGigawords: ietf(53, 'Acct-Output-Gigawords', 'integer', 'RFC 2869 §5.2'),
  EventTimestamp: ietf(55, 'Event-Timestamp', 'date', 'RFC 2869 §5.3'),
  ChapChallenge: ietf(60, 'CHAP-Challenge', 'octets', 'RFC 2865 §5.40'),
  NasPortType: ietf(61, 'NAS-Port-Type', 'integer', 'RFC 2865 §5.41', { values: NAS_PORT_TYPE }),
  PortLimit: ietf(62, 'Port-Limit', 'integer', 'RFC 2865 §5.42'),
  LoginLatPort: ietf(63, 'Login-LAT-Port', 'text', 'RFC 2865 §5.43'),
  TunnelType: ietf(64, 'Tunnel-Type', 'integer', 'RFC 2868 §3.1', { tag: 'integer', values: TUNNEL_TYPE }),
  TunnelMediumType: ietf(65, 'Tunnel-Medium-Type', 'integer', 'RFC 2868 §3.2', { tag: 'integer', values: TUNNEL_MEDIUM_TYPE }),
  TunnelClientEndpoint: ietf(66, 'Tunnel-Client-Endpoint', 'text', 'RFC 2868 §3.3', { tag: 'optional' }),
  TunnelServerEndpoint: ietf(67, 'Tunnel-Server-Endpoint', 'text', 'RFC 2868 §3.4', { tag: 'optional' }),
  AcctTunnelConnection: ietf(68, 'Acct-Tunnel-Connection', 'text', 'RFC 2867 §4.1'),
  TunnelPassword: ietf(69, 'Tunnel-Password', 'text', 'RFC 2868 §3.5', { tag: 'always', encrypt: 'salted' }),
  ArapPassword: ietf(70, 'ARAP-Password', 'octets', 'RFC 2869 §5.4', { size: exactly(16), secret: true }),
  ArapFeatures: ietf(71, 'ARAP-Features', 'octets', 'RFC 2869 §5.5', { size: exactly(14) }),
  ArapZoneAccess: ietf(72, 'ARAP-Zone-Access', 'integer', 'RFC 2869 §5.6'),
  ArapSecurity: ietf(73, 'ARAP-Security', 'integer', 'RFC 2869 §5.7'),
  ArapSecurityData: ietf(74, 'ARAP-Security-Data', 'octets', 'RFC 2869 §5.8'),
  PasswordRetry: ietf(75, 'Password-Retry', 'integer', 'RFC 2869 §5.9'),
  Prompt: ietf(76, 'Prompt', 'integer', 'RFC 2869 §5.10'),
  ConnectInfo: ietf(77, 'Connect-Info', 'text', 'RFC 2869 §5.11'),
  ConfigurationToken: ietf(78, 'Configuration-Token', 'octets', 'RFC 2869 §5.12'),
  EapMessage: ietf(79, 'EAP-Message', 'octets', 'RFC 3579 §3.1'),
  MessageAuthenticator: ietf(80, 'Message-Authenticator', 'octets', 'RFC 3579 §3.2', { size: exactly(16) }),
  TunnelPrivateGroupId: ietf(81, 'Tunnel-Private-Group-ID', 'text', 'RFC 2868 §3.6', { tag: 'optional' }),
  TunnelAssignmentId: ietf(82, 'Tunnel-Assignment-ID', 'text', 'RFC 2868 §3.7', { tag: 'optional' }),
  TunnelPreference: ietf(83, 'Tunnel-Preference', 'integer', 'RFC 2868 §3.8', { tag: 'integer' }),
  ArapChallengeResponse: ietf(84, 'ARAP-Challenge-Response', 'octets', 'RFC 2869 §5.15', { size: exactly(8) }),
  AcctInterimInterval: ietf(85, 'Acct-Interim-Interval', 'integer', 'RFC 2869 §5.16'),
  AcctTunnelPacketsLost: ietf(86, 'Acct-Tunnel-Packets-Lost', 'integer', 'RFC 2867 §4.2'),
  NasPortId: ietf(87, 'NAS-Port-Id', 'text', 'RFC 2869 §5.17'),
  FramedPool: ietf(88, 'Framed-Pool', 'text', 'RFC 2869 §5.18'),
  ChargeableUserIdentity: ietf(89, 'Chargeable-User-Identity', 'octets', 'RFC 4372 §2'),
  TunnelClientAuthId: ietf(90, 'Tunnel-Client-Auth-ID', 'text', 'RFC 2868 §3.9', { tag: 'optional' }),
  TunnelServerAuthId: ietf(91, 'Tunnel-Server-Auth-ID', 'text', 'RFC 2868 §3.10', { tag: 'optional' }),
  NasIpv6Address: ietf(95, 'NAS-IPv6-Address', 'ipv6addr', 'RFC 3162 §2.1'),
  FramedInterfaceId: ietf(96, 'Framed-Interface-Id', 'ifid', 'RFC 3162 §2.2'),
  FramedIpv6Prefix: ietf(97, 'Framed-IPv6-Prefix', 'ipv6prefix', 'RFC 3162 §2.3'),
  LoginIpv6Host: ietf(98, 'Login-IPv6-Host', 'ipv6addr', 'RFC 3162 §2.4'),
  FramedIpv6Route: ietf(99, 'Framed-IPv6-Route', 'text', 'RFC 3162 §2.5'),
  FramedIpv6Pool: ietf(100, 'Framed-IPv6-Pool', 'text', 'RFC 3162 §2.6'),
  ErrorCause: ietf(101, 'Error-Cause', 'integer', 'RFC 5176 §3.5', { values: ERROR_CAUSE }),
  DelegatedIpv6Prefix: ietf(123, 'Delegated-IPv6-Prefix', 'ipv6prefix', 'RFC 4818 §3'),
  FramedIpv6Address: ietf(168, 'Framed-IPv6-Address', 'ipv6addr', 'RFC 6911 §3.1'),
  DnsServerIpv6Address: ietf(169, 'DNS-Server-IPv6-Address', 'ipv6addr', 'RFC 6911 §3.2'),
} as const;

/** Microsoft vendor attributes (RFC 2548), vendor 311. */
export const MS_ATTR = {
  ChapResponse: ms(1, 'MS-CHAP-Response', 'octets', '§2.3.2 (v1)', { size: exactly(50), secret: true }),
  ChapError: ms(2, 'MS-CHAP-Error', 'octets', '§2.1.5'),
  ChapCpw1: ms(3, 'MS-CHAP-CPW-1', 'octets', '§2.1.3', { secret: true }),
  ChapCpw2: ms(4, 'MS-CHAP-CPW-2', 'octets', '§2.1.4', { secret: true }),
  ChapLmEncPw: ms(5, 'MS-CHAP-LM-Enc-PW', 'octets', '§2.1.6', { secret: true }),
  ChapNtEncPw: ms(6, 'MS-CHAP-NT-Enc-PW', 'octets', '§2.1.7', { secret: true }),
  MppeEncryptionPolicy: ms(7, 'MS-MPPE-Encryption-Policy', 'integer', '§2.4.4'),
  MppeEncryptionTypes: ms(8, 'MS-MPPE-Encryption-Types', 'integer', '§2.4.5'),
  RasVendor: ms(9, 'MS-RAS-Vendor', 'integer', '§2.2.1'),
  ChapDomain: ms(10, 'MS-CHAP-Domain', 'octets', '§2.1.1'),
  ChapChallenge: ms(11, 'MS-CHAP-Challenge', 'octets', '§2.1.2'),
  ChapMppeKeys: ms(12, 'MS-CHAP-MPPE-Keys', 'octets', '§2.4.1', { encrypt: 'user-password', size: exactly(24) }),
  BapUsage: ms(13, 'MS-BAP-Usage', 'integer', '§2.2.2'),
  LinkUtilizationThreshold: ms(14, 'MS-Link-Utilization-Threshold', 'integer', '§2.2.3'),
  LinkDropTimeLimit: ms(15, 'MS-Link-Drop-Time-Limit', 'integer', '§2.2.4'),
  MppeSendKey: ms(16, 'MS-MPPE-Send-Key', 'octets', '§2.4.2', { encrypt: 'salted' }),
  MppeRecvKey: ms(17, 'MS-MPPE-Recv-Key', 'octets', '§2.4.3', { encrypt: 'salted' }),
  RasVersion: ms(18, 'MS-RAS-Version', 'text', '§2.2.5'),
  OldArapPassword: ms(19, 'MS-Old-ARAP-Password', 'octets', '§2.1.8', { secret: true }),
  NewArapPassword: ms(20, 'MS-New-ARAP-Password', 'octets', '§2.1.9', { secret: true }),
  ArapPasswordChangeReason: ms(21, 'MS-ARAP-PW-Change-Reason', 'integer', '§2.1.10'),
  Filter: ms(22, 'MS-Filter', 'octets', '§2.2.6'),
  AcctAuthType: ms(23, 'MS-Acct-Auth-Type', 'integer', '§2.2.7'),
  AcctEapType: ms(24, 'MS-Acct-EAP-Type', 'integer', '§2.2.8'),
  Chap2Response: ms(25, 'MS-CHAP2-Response', 'octets', '§2.3.2', { size: exactly(50), secret: true }),
  Chap2Success: ms(26, 'MS-CHAP2-Success', 'octets', '§2.3.3'),
  Chap2Cpw: ms(27, 'MS-CHAP2-CPW', 'octets', '§2.3.4', { secret: true }),
  PrimaryDnsServer: ms(28, 'MS-Primary-DNS-Server', 'ipaddr', '§2.2.9'),
  SecondaryDnsServer: ms(29, 'MS-Secondary-DNS-Server', 'ipaddr', '§2.2.10'),
  PrimaryNbnsServer: ms(30, 'MS-Primary-NBNS-Server', 'ipaddr', '§2.2.11'),
  SecondaryNbnsServer: ms(31, 'MS-Secondary-NBNS-Server', 'ipaddr', '§2.2.12'),
} as const;

/** A dictionary: rows by (vendor, type) and by name; extendable with rows read from files. */
export class RadiusDictionary {
  private readonly byCode = new Map<number, AttributeDef>();
  private readonly byNameMap = new Map<string, AttributeDef>();
  private readonly vendors = new Map<number, string>();

  /** A dictionary holding `rows` (later rows with the same vendor/type replace earlier ones). */
  constructor(rows: Iterable<AttributeDef> = [], vendors: Iterable<readonly [number, string]> = []) {
    for (const [id, name] of vendors) this.vendors.set(id, name);
    this.add(rows);
  }

  /** Add or replace rows. */
  add(rows: Iterable<AttributeDef>): void {
    for (const r of rows) {
      this.byCode.set(codeKey(r.vendor, r.type), r);
      this.byNameMap.set(r.name.toLowerCase(), r);
    }
  }

  /** Name a vendor (for logs). */
  addVendor(id: number, name: string): void {
    this.vendors.set(id, name);
  }

  /** The row for vendor/type, or undefined. */
  lookup(vendor: number, type: number): AttributeDef | undefined {
    return this.byCode.get(codeKey(vendor, type));
  }

  /** The row with this name (case-insensitive), or undefined. */
  byName(name: string): AttributeDef | undefined {
    return this.byNameMap.get(name.toLowerCase());
  }

  /** A vendor's name, or undefined. */
  vendorName(id: number): string | undefined {
    return this.vendors.get(id);
  }

  /** Every row. */
  rows(): IterableIterator<AttributeDef> {
    return this.byCode.values();
  }
}

const codeKey = (vendor: number, type: number): number => vendor * 256 + type;

/** The built-in rows: every IETF row above and the Microsoft rows. */
export const BUILTIN_ATTRIBUTES: readonly AttributeDef[] = [...Object.values(RADIUS_ATTR), ...Object.values(MS_ATTR)];

/** A fresh dictionary with the built-in rows (extend it with `add`). */
export function builtinDictionary(): RadiusDictionary {
  return new RadiusDictionary(BUILTIN_ATTRIBUTES, [[VENDOR_MICROSOFT, 'Microsoft']]);
}

/** The shared read-only built-in dictionary. */
export const RADIUS_DICTIONARY: RadiusDictionary = builtinDictionary();
