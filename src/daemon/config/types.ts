/**
 * The typed configuration the daemon runs on: each section is the values its schema rows parse
 * into (schema.ts), plus what the section builder computes (parse.ts). Addresses, prefixes and
 * durations arrive typed; nothing downstream parses a string again.
 */
import type { Duration, Ipv4Prefix } from '../../base/index.js';
import type { DhGroupNumber, InitiatorProposals } from '../../ipsec/index.js';
import type { AdmissionLimits } from '../../l2tp/index.js';
import type { ValuesOf } from './table.js';
import type { SNMP } from './schema-snmp.js';
import type { DAEMON, IPSEC, L2TP, LAC, LISTEN, POOL, PPP, STATUS, DATAPLANE, TUN, USERS } from './schema.js';
import type { NasIdentity } from '../../aaa/radius/index.js';
import type { RADIUS, RADIUS_DAE, RADIUS_DAE_CLIENT, RADIUS_SERVER } from './schema-radius.js';
import type { PPPOE } from './schema-pppoe.js';
import type { SelectorConfig } from '../../access/selection/index.js';
import type { L2TPV3, L2TPV3_PSEUDOWIRE } from './schema-l2tpv3.js';
import type { L2TPV3_STATIC } from './schema-l2tpv3-static.js';
import type { V3PseudowireParams } from '../../l2tp/index.js';

export type { LogLevel, PppAuthName } from './schema.js';

/** One configuration problem. `key` is a path like `lac[0].lns` ('' for syntax errors). */
export interface ConfigError {
  readonly key: string;
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

/** `[daemon]`. */
export type DaemonSection = ValuesOf<typeof DAEMON.rows>;

/** `[l2tp]`: defaults for every tunnel; `ackDelay` (not in the file) is 100 ms, kept below retransmit_initial. */
export type TunnelDefaults = ValuesOf<typeof L2TP.rows> & { readonly ackDelay: Duration };

/** One `[[listen]]`: a UDP socket that accepts tunnels (LNS). */
export type ListenConfig = ValuesOf<typeof LISTEN.rows>;

/** `[[lac]] ppp = true`: the dial-out client (src/access AccessClient). */
export type LacPppConfig = ValuesOf<typeof LAC.groups.ppp.rows>;

/** `[[lac]] ipsec = true`: our IKEv1 initiator towards an L2TP/IPsec server. */
export type LacIpsecConfig = Omit<ValuesOf<typeof LAC.groups.ipsec.rows>, 'ikeProposals' | 'espProposals' | 'sha256_96'> & {
  /** What we offer, in order (from `ike_proposals` / `esp_proposals` / `sha256_96`, else the built-in offers). */
  readonly proposals: InitiatorProposals;
  /** Quick Mode PFS group (from a group in `esp_proposals`); undefined = no PFS. */
  readonly pfsGroup: DhGroupNumber | undefined;
};

/** One `[[lac]]`: a tunnel we originate. */
export type LacConfig = ValuesOf<typeof LAC.rows> & {
  /** Client mode: PPP as the peer on the session, IP on a local TUN. */
  readonly ppp: LacPppConfig | undefined;
  /** `ipsec = true`: IKEv1 + transport-mode ESP to the LNS first, L2TP inside it (RFC 3193). */
  readonly ipsec?: LacIpsecConfig;
};

type AccessValues = ValuesOf<typeof PPP.rows> & ValuesOf<typeof POOL.rows> & ValuesOf<typeof USERS.rows> & ValuesOf<typeof TUN.rows>;

/**
 * `[ppp]`, `[pool]`, `[users]`, `[tun]`: remote-access PPP termination on the first listener.
 * `dns` undefined = the host's resolvers and `usersFile` undefined = the default users file in the
 * state directory; the setup (src/daemon/setup) resolves both before the start.
 */
export type AccessSection = Omit<AccessValues, 'localAddress' | 'mtu'> & {
  /** The LNS's PPP address, host-order IPv4 (default: the first host of the pool). */
  readonly localAddress: number;
  /** The TUN MTU (default: `mru`). */
  readonly mtu: number;
  /** `[[pool.named]]`: pools RADIUS Framed-Pool picks by name. */
  readonly namedPools?: ReadonlyMap<string, Ipv4Prefix>;
};

/** One `[[radius.server]]` (its name computed when not given). */
export type RadiusServerSection = ValuesOf<typeof RADIUS_SERVER.rows>;

/** One `[[radius.dae.client]]`. */
export type RadiusDaeClientSection = ValuesOf<typeof RADIUS_DAE_CLIENT.rows>;

/** `[radius.dae]`. */
export type RadiusDaeSection = ValuesOf<typeof RADIUS_DAE.rows> & { readonly clients: readonly RadiusDaeClientSection[] };

/** `[radius]`: the RADIUS client of the LNS, its servers and the DAE server. */
export type RadiusSection = Omit<ValuesOf<typeof RADIUS.rows>, 'nasIdentifier' | 'nasIpAddress' | 'nasIpv6Address' | 'spool'> & {
  /** NAS-IP-Address / NAS-IPv6-Address / NAS-Identifier, computed defaults applied. */
  readonly nas: NasIdentity;
  /** The spool path; undefined = `radius-accounting.spool` in the state directory; null = memory only. */
  readonly spool: string | null | undefined;
  readonly servers: readonly RadiusServerSection[];
  readonly dae: RadiusDaeSection | undefined;
};

/** `[[ipsec.peer]]`: a pre-shared key for one client address. */
export interface IpsecPeerConfig {
  readonly address: string;
  readonly psk: string;
  /** The Android SHA-256/96 quirk for this client; absent = `[ipsec] sha256_96`. */
  readonly sha256_96?: boolean;
}

/** `[ipsec]`: L2TP/IPsec (IKEv1 Main Mode PSK + transport-mode ESP) on the first IPv4 listener. */
export type IpsecSection = ValuesOf<typeof IPSEC.rows> & {
  readonly peers: readonly IpsecPeerConfig[];
  /**
   * No `psk` and no `[[ipsec.peer]]`: the PSK is generated once and kept in the state file
   * (src/daemon/setup); `psk` stays undefined until the setup fills it in.
   */
  readonly pskGenerated?: boolean;
};

/** `[status]`: the status page; absent = off (no `listen`). */
export type StatusSection = Omit<ValuesOf<typeof STATUS.rows>, 'listen'> & { readonly listen: { readonly host: string; readonly port: number } };

/** `[snmp]`: on with `agentx`. */
export type SnmpSection = Omit<ValuesOf<typeof SNMP.rows>, 'agentx'> & { readonly agentx: string };

/** `[dataplane]`. */
export type DataplaneSection = ValuesOf<typeof DATAPLANE.rows>;

/** The whole validated configuration. */
export interface DaemonConfig {
  readonly daemon: DaemonSection;
  readonly l2tp: TunnelDefaults;
  /** `[l2tp.admission]`: new-tunnel limits of every listener; absent = the engine's defaults. */
  readonly admission?: AdmissionLimits;
  readonly listen: readonly ListenConfig[];
  readonly lac: readonly LacConfig[];
  /** Remote-access PPP on the listeners; undefined = plain L2TP (no PPP termination, no TUN). */
  readonly access: AccessSection | undefined;
  /** L2TP/IPsec on the first IPv4 listener; absent = off. */
  readonly ipsec?: IpsecSection;
  /** RADIUS for the LNS's PPP; absent = off. */
  readonly radius?: RadiusSection;
  /** The status page; absent = off. */
  readonly status?: StatusSection;
  /** The AgentX subagent (L2TP-MIB); absent = off. */
  readonly snmp?: SnmpSection;
  /** The data plane; absent = the defaults (fast path on). */
  readonly dataplane?: DataplaneSection;
  /** `[[pppoe]]`: PPPoE access concentrators terminated by the access server (BRAS); [] = none. */
  readonly pppoe: readonly PppoeSection[];
  /** Dynamic L2TPv3 pseudowires; absent = off. */
  readonly l2tpv3?: L2tpv3Section;
  /** `[[l2tpv3_static]]`: static L2TPv3 pseudowires (no control connection); absent or [] = none. */
  readonly l2tpv3Static?: readonly L2tpv3StaticSection[];
  /** LAC tunnel selection for `[[pppoe]] tunnel_select = true`; absent = off. */
  readonly tunnelSelect?: TunnelSelectSection;
}

/** `[tunnel_select]`: the selector's configuration (src/access/selection) and the LAC socket. */
export interface TunnelSelectSection {
  readonly localAddress: string;
  readonly hostName: string;
  /** Ask `[radius]` for every subscriber (RFC 2868 tunnel attributes). */
  readonly radius: boolean;
  readonly idleDisconnect?: Duration;
  /** SCCRQ retransmissions before a destination is dead. */
  readonly sccrqRetries: number;
  readonly selector: SelectorConfig;
}

/** One `[[l2tpv3.pseudowire]]` with the profile's defaults filled in. */
export type L2tpv3PseudowireSection = Omit<ValuesOf<typeof L2TPV3_PSEUDOWIRE.rows>, 'remoteEndId' | 'cookieLength' | 'sublayer' | 'sequencing' | 'pwType'> & {
  readonly remoteEndId: string;
  readonly pseudowire: V3PseudowireParams;
};

/** `[l2tpv3]`: dynamic L2TPv3 pseudowires; absent = off. */
export interface L2tpv3Section {
  readonly listen: { readonly host: string; readonly port: number };
  readonly encapsulation: 'udp' | 'ip';
  readonly hostName: string;
  readonly routerId: string;
  readonly profile: string;
  readonly secret?: string;
  readonly messageDigest?: 'md5' | 'sha1';
  readonly challenge: boolean;
  readonly keepaliveInterval: Duration;
  readonly keepaliveCount: number;
  readonly redialInitial: Duration;
  readonly redialMax: Duration;
  readonly disconnectTime?: Duration;
  readonly pwTypes: readonly (4 | 5)[];
  readonly pseudowires: readonly L2tpv3PseudowireSection[];
  /** `ipsec = true`: L2TPv3 over IPsec. */
  readonly ipsec?: L2tpv3IpsecSection;
}

/** One `[[l2tpv3_static]]`, as written (Linux `ip l2tp` names). */
export type L2tpv3StaticSection = ValuesOf<typeof L2TPV3_STATIC.rows>;

/** `[l2tpv3] ipsec = true` and its keys. */
export type L2tpv3IpsecSection = ValuesOf<typeof L2TPV3.groups.ipsec.rows>;

/** One `[[pppoe]]`: `serviceNames` [] = any; `cookieSecret` undefined = the key file in the state directory. */
export type PppoeSection = ValuesOf<typeof PPPOE.rows>;
