/**
 * l2tpd configuration: TOML (docs/CONFIG.md) parsed with smol-toml and validated into a typed
 * `DaemonConfig` with defaults. Every problem is a typed `ConfigError` naming the key path
 * (`lac[0].lns`) and, when it can be found, the line; unknown keys are errors with a suggestion.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { parse, TomlError } from 'smol-toml';
import { err, ok, type Result } from '../base/result.js';
import { millis, seconds, type Duration } from '../base/time.js';
import { formatIpv4, parseIpv4, parseIpv4Prefix } from '../aaa/index.js';
import { parseIpv6Prefix } from '../access/index.js';
import { randomInt } from 'node:crypto';
import {
  DEFAULT_INITIATOR_PROPOSALS, offersFromSuites, parseEspProposal, parseIkeProposal, parseProposalList,
  type DhGroupNumber, type InitiatorProposals, type Phase1Suite, type Phase2Suite,
} from '../ipsec/index.js';

/** One configuration problem. `key` is a path like `lac[0].lns` ('' for syntax errors). */
export interface ConfigError {
  readonly key: string;
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

/** `[l2tp]`: defaults for every tunnel. */
export interface TunnelDefaults {
  readonly hostName: string;
  /** Vendor Name AVP; undefined = not sent. */
  readonly vendorName: string | undefined;
  readonly receiveWindow: number;
  readonly retransmitInitial: Duration;
  readonly retransmitCap: Duration;
  readonly retriesEstablished: number;
  readonly retriesNotEstablished: number;
  /** Delayed-ack timer (not in the file: 100 ms, kept below retransmitInitial). */
  readonly ackDelay: Duration;
  /** 0 = no HELLO. */
  readonly helloInterval: Duration;
  readonly helloMissCount: number;
  /** undefined = never. */
  readonly idleDisconnect: Duration | undefined;
  readonly maxOffset: number;
  readonly dataSequencing: boolean;
}

/** One `[[listen]]`: a UDP socket that accepts tunnels (LNS). */
export interface ListenConfig {
  readonly address: string;
  /** 0 = any free port. */
  readonly port: number;
  /** Tunnel secret; undefined = no tunnel authentication. */
  readonly secret: string | undefined;
  readonly hideAvps: boolean;
  /** Remote host names accepted; empty = any. */
  readonly allowedHosts: readonly string[];
}

/** One `[[lac]]`: a tunnel we originate. */
export interface LacConfig {
  readonly name: string;
  readonly lns: string;
  readonly port: number;
  /** Bind address for this tunnel's socket; undefined = any. */
  readonly localAddress: string | undefined;
  readonly secret: string | undefined;
  readonly hideAvps: boolean;
  /** ICRQs placed once the tunnel is established. */
  readonly sessions: number;
  readonly redial: boolean;
  /** Client mode: run PPP as the peer on the session and attach it to a local TUN (needs sessions = 1). */
  readonly ppp: LacPppConfig | undefined;
  /** `ipsec = true`: bring up IKEv1 + transport-mode ESP to the LNS first, L2TP inside it (RFC 3193). */
  readonly ipsec?: LacIpsecConfig;
}

/** `[[lac]] ipsec = true`: our IKEv1 initiator towards an L2TP/IPsec server. */
export interface LacIpsecConfig {
  readonly psk: string;
  /** What we offer, in order (from `ike_proposals` / `esp_proposals`, else the built-in offers). */
  readonly proposals: InitiatorProposals;
  /** Quick Mode PFS group (from a group in `esp_proposals`); undefined = no PFS. */
  readonly pfsGroup: DhGroupNumber | undefined;
  /** ESP in UDP 4500 even without a NAT (strongSwan `forceencaps`). */
  readonly forceEncapsulation: boolean;
  /** Our IKE / NAT-T ports (0 = any free port) and the server's. */
  readonly ikePort: number;
  readonly nattPort: number;
  readonly lnsIkePort: number;
  readonly lnsNattPort: number;
  /** Open a raw IP-protocol-50 socket for ESP when there is no NAT (needs CAP_NET_RAW). */
  readonly rawEsp: boolean;
  /** RFC 3706 DPD: R-U-THERE after this much silence (0 = off), peer dead after `dpdTimeout`. */
  readonly dpdInterval: Duration;
  readonly dpdTimeout: Duration;
  /** Proposed lifetimes in seconds; we re-authenticate the IKE SA and rekey the ESP SA at 90 %. */
  readonly ikeLifetime: number;
  readonly childLifetime: number;
}

/** `[[lac]] ppp = true`: the dial-out client (src/access AccessClient). */
export interface LacPppConfig {
  readonly username: string;
  readonly password: string;
  /** Local TUN device name. */
  readonly tun: string;
  /** Move that TUN into this network namespace before configuring it (tests, VRF-like setups). */
  readonly tunNetns: string | undefined;
}

/** PPP authentication protocol names accepted in `[ppp] auth`. */
export type PppAuthName = 'mschapv2' | 'chap' | 'pap';

/** `[ppp]`, `[pool]`, `[users]`, `[tun]`: remote-access PPP termination on the listeners. */
export interface AccessSection {
  /** Demanded, in preference order (config names; chap = CHAP-MD5). */
  readonly auth: readonly PppAuthName[];
  readonly mru: number;
  /** 0 = no LCP echo. */
  readonly echoInterval: Duration;
  readonly echoFailure: number;
  readonly dns: readonly string[];
  readonly nbns: readonly string[];
  readonly forceLcpRenegotiation: boolean;
  /** `[pool] ipv4` (CIDR), `local_address` (the LNS's PPP address), `ipv6_prefix` (optional, /64 per session). */
  readonly ipv4Pool: string;
  readonly localAddress: string;
  readonly ipv6Prefix: string | undefined;
  /** `[users] file`; undefined = one generated user printed at start. */
  readonly usersFile: string | undefined;
  /** `[tun]`. */
  readonly tunName: string;
  readonly mtu: number;
  readonly mssClamp: boolean;
  readonly tunNetns: string | undefined;
}

/** `[daemon]`. */
export interface DaemonSection {
  readonly controlSocket: string;
  readonly logLevel: LogLevel;
  /** Prometheus endpoint; undefined = off. */
  readonly metricsListen: { readonly host: string; readonly port: number } | undefined;
  /** Drop privileges to this user (and its group) after opening the TUN and sockets; undefined = stay. */
  readonly user: string | undefined;
}

/** `[[ipsec.peer]]`: a pre-shared key for one client address (Main Mode picks the PSK by address). */
export interface IpsecPeerConfig {
  readonly address: string;
  readonly psk: string;
  /** Android quirk for this client: HMAC-SHA-256 ESP ICV truncated to 96 bits; absent = `[ipsec] sha256_96`. */
  readonly sha256_96?: boolean;
}

/** `[ipsec]`: L2TP/IPsec (IKEv1 Main Mode PSK + transport-mode ESP) on the first IPv4 listener. */
export interface IpsecSection {
  /** The PSK for any peer without a `[[ipsec.peer]]` entry; undefined = only listed peers. */
  readonly psk: string | undefined;
  readonly peers: readonly IpsecPeerConfig[];
  /** Refuse L2TP outside IPsec (default true). */
  readonly requireIpsec: boolean;
  /** Our address as clients see it (NAT-D, IDs) when the listener is bound to 0.0.0.0. */
  readonly localAddress: string | undefined;
  readonly ikePort: number;
  readonly nattPort: number;
  /** Open a raw IP-protocol-50 socket for clients not behind a NAT (default true). */
  readonly rawEsp: boolean;
  /** Upper bounds on what a client may propose (seconds). */
  readonly ikeLifetime: number;
  readonly childLifetime: number;
  /** Upper bound on a client's phase-2 lifetime in kilobytes (0 = none); also applied when it proposes none. */
  readonly childLifetimeKb: number;
  /** RFC 3706 DPD; interval 0 = off. */
  readonly dpdInterval: Duration;
  readonly dpdTimeout: Duration;
  /** Delay before the child SA of a flow whose L2TP tunnel closed is deleted. */
  readonly closeGrace: Duration;
  /** `ike_proposals` / `esp_proposals`; undefined = the built-in policy (DEFAULT_POLICY). */
  readonly ikeProposals: readonly Phase1Suite[] | undefined;
  readonly espProposals: readonly Phase2Suite[] | undefined;
  /** HMAC-SHA-256 ESP ICV truncated to 96 bits for every client (per-peer override in `[[ipsec.peer]]`). */
  readonly sha256_96: boolean;
  /** True when the PSK was generated for the no-config default (the banner prints it). */
  readonly pskGenerated?: boolean;
}

/** Accepted `log_level` values. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** The whole validated configuration. */
export interface DaemonConfig {
  readonly daemon: DaemonSection;
  readonly l2tp: TunnelDefaults;
  readonly listen: readonly ListenConfig[];
  readonly lac: readonly LacConfig[];
  /** Remote-access PPP on the listeners; undefined = plain L2TP (no PPP termination, no TUN). */
  readonly access: AccessSection | undefined;
  /** L2TP/IPsec on the first IPv4 listener; absent = off. */
  readonly ipsec?: IpsecSection;
}

/** Default control socket path. */
export const DEFAULT_CONTROL_SOCKET = '/run/l2tpd.sock';

// ---------------------------------------------------------------------------------------------
// Field checkers: each turns an unknown TOML value into a typed one or an error message.

type Check<T> = (v: unknown) => Result<T, string>;
type Table = Record<string, unknown>;

const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

const nonEmpty: Check<string> = (v) =>
  typeof v !== 'string' ? err('expected a string') : v.length === 0 ? err('must not be empty') : ok(v);
const bool: Check<boolean> = (v) => (typeof v === 'boolean' ? ok(v) : err('expected true or false'));
const int =
  (min: number, max: number): Check<number> =>
  (v) =>
    typeof v !== 'number' || !Number.isInteger(v)
      ? err('expected an integer')
      : v < min || v > max
        ? err(`must be between ${min} and ${max}`)
        : ok(v);
const num =
  (min: number, max: number): Check<number> =>
  (v) =>
    typeof v !== 'number' || !Number.isFinite(v)
      ? err('expected a number')
      : v < min || v > max
        ? err(`must be between ${min} and ${max}`)
        : ok(v);
const ip: Check<string> = (v) => (typeof v === 'string' && isIP(v) !== 0 ? ok(v) : err('expected an IPv4 or IPv6 address'));
const ipOrEmpty: Check<string | undefined> = (v) =>
  v === '' ? ok(undefined) : typeof v === 'string' && isIP(v) !== 0 ? ok(v) : err('expected an IPv4 or IPv6 address (or "")');
const optString: Check<string | undefined> = (v) => (typeof v !== 'string' ? err('expected a string') : ok(v === '' ? undefined : v));
const strList: Check<readonly string[]> = (v) =>
  Array.isArray(v) && v.every((x): x is string => typeof x === 'string') ? ok(v) : err('expected an array of strings');
const logLevel: Check<LogLevel> = (v) =>
  v === 'info' || v === 'debug' || v === 'warn' || v === 'error' ? ok(v) : err('expected "info", "debug", "warn" or "error"');
const hostPort: Check<{ host: string; port: number } | undefined> = (v) => {
  if (typeof v !== 'string') return err('expected a string');
  if (v === '') return ok(undefined);
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(v);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || isIP(host) === 0 || !(port >= 0 && port <= 65535)) {
    return err('expected "ADDRESS:PORT" (e.g. "127.0.0.1:9101" or "[::1]:9101") or ""');
  }
  return ok({ host, port });
};

const ipv4Addr: Check<string> = (v) => (typeof v === 'string' && parseIpv4(v) !== undefined ? ok(v) : err('expected an IPv4 address'));
const ipv4List: Check<readonly string[]> = (v) =>
  Array.isArray(v) && v.every((x): x is string => typeof x === 'string' && parseIpv4(x) !== undefined) ? ok(v) : err('expected an array of IPv4 addresses');
const ipv4Prefix: Check<string> = (v) => {
  if (typeof v !== 'string') return err('expected a string like "100.64.0.0/24"');
  const r = parseIpv4Prefix(v);
  if (!r.ok) return err(r.error);
  return r.value.length > 30 ? err('prefix must be /30 or shorter (network, LNS and at least one client)') : ok(v);
};
const ipv6PrefixCheck: Check<string | undefined> = (v) => {
  if (v === '') return ok(undefined);
  if (typeof v !== 'string') return err('expected a string like "2001:db8:100::/56"');
  const r = parseIpv6Prefix(v);
  return r.ok ? ok(v) : err(r.error);
};
/** `ike_proposals` / `esp_proposals`: strongSwan names (src/ipsec/proposal-names.ts), errors name the entry. */
const ikeProposals: Check<readonly Phase1Suite[] | undefined> = (v) => {
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) return err('expected an array of strings like "aes256-sha256-modp2048"');
  const r = parseProposalList(v, parseIkeProposal);
  return r.ok ? ok(r.value) : err(`entry ${r.error.index + 1}: ${r.error.message}`);
};
const espProposals: Check<readonly Phase2Suite[] | undefined> = (v) => {
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) return err('expected an array of strings like "aes128gcm16" or "aes256-sha1"');
  const r = parseProposalList(v, parseEspProposal);
  return r.ok ? ok(r.value) : err(`entry ${r.error.index + 1}: ${r.error.message}`);
};
const pskCheck: Check<string | undefined> = (v) =>
  typeof v !== 'string' ? err('expected a string') : v.length < 8 ? err('a pre-shared key needs at least 8 characters') : ok(v);

const AUTH_NAMES: readonly PppAuthName[] = ['mschapv2', 'chap', 'pap'];
const authList: Check<readonly PppAuthName[]> = (v) =>
  Array.isArray(v) && v.every((x): x is PppAuthName => typeof x === 'string' && (AUTH_NAMES as readonly string[]).includes(x)) && new Set(v).size === v.length
    ? ok(v)
    : err('expected a list of distinct "mschapv2", "chap", "pap" (empty = no authentication)');
/** Linux interface names: 1..15 characters, no '/', ':' or whitespace. */
const ifName: Check<string> = (v) => (typeof v === 'string' && /^[A-Za-z0-9_.-]{1,15}$/.test(v) ? ok(v) : err('expected an interface name (1-15 of A-Z a-z 0-9 _ . -)'));
const netnsName: Check<string | undefined> = (v) =>
  v === '' ? ok(undefined) : typeof v === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(v) ? ok(v) : err('expected a network namespace name');
/** The first host address of a valid prefix ("100.64.0.0/24" -> "100.64.0.1"). */
function firstHost(prefix: string): string {
  const r = parseIpv4Prefix(prefix);
  return r.ok ? formatIpv4(r.value.length >= 31 ? r.value.network : r.value.network + 1) : '100.64.0.1';
}

/** True for an IPv4 literal. */
const ipFamily4 = (a: string): boolean => isIP(a) === 4;

/** The keys each table accepts (for unknown-key errors and suggestions). */
const KEYS = {
  top: ['daemon', 'l2tp', 'listen', 'lac', 'ppp', 'pool', 'users', 'tun', 'ipsec'],
  ipsec: [
    'enabled', 'psk', 'peer', 'require_ipsec', 'local_address', 'ike_port', 'natt_port', 'raw_esp', 'ike_lifetime', 'child_lifetime', 'child_lifetime_kb',
    'dpd_interval', 'dpd_timeout', 'close_grace', 'ike_proposals', 'esp_proposals', 'sha256_96',
  ],
  ipsecPeer: ['address', 'psk', 'sha256_96'],
  daemon: ['control_socket', 'log_level', 'metrics_listen', 'user'],
  ppp: ['enabled', 'auth', 'mru', 'echo_interval', 'echo_failure', 'dns', 'nbns', 'force_lcp_renegotiation'],
  pool: ['ipv4', 'local_address', 'ipv6_prefix'],
  users: ['file'],
  tun: ['name', 'mtu', 'mss_clamp', 'netns'],
  l2tp: [
    'host_name',
    'vendor_name',
    'receive_window',
    'retransmit_initial',
    'retransmit_cap',
    'retries_established',
    'retries_not_established',
    'hello_interval',
    'hello_miss_count',
    'idle_disconnect',
    'max_offset',
    'data_sequencing',
  ],
  listen: ['address', 'port', 'secret', 'hide_avps', 'allowed_hosts'],
  lac: [
    'name', 'lns', 'port', 'local_address', 'secret', 'hide_avps', 'sessions', 'redial', 'ppp', 'username', 'password', 'tun', 'tun_netns',
    'ipsec', 'psk', 'ike_proposals', 'esp_proposals', 'sha256_96', 'force_encapsulation', 'ike_port', 'natt_port', 'lns_ike_port', 'lns_natt_port', 'raw_esp', 'dpd_interval', 'dpd_timeout', 'ike_lifetime', 'child_lifetime',
  ],
} as const;

// ---------------------------------------------------------------------------------------------

/** Parse and validate a TOML document. Never throws. */
export function parseConfig(source: string): Result<DaemonConfig, readonly ConfigError[]> {
  let doc: Table;
  try {
    doc = parse(source);
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split('\n')[0] ?? e.message;
      return err([{ key: '', line: e.line, column: e.column, message: `syntax error: ${first}` }]);
    }
    return err([{ key: '', message: `syntax error: ${String(e)}` }]);
  }
  const lines = locateKeys(source);
  const errors: ConfigError[] = [];
  const fail = (key: string, message: string): void => {
    const line = lineOf(lines, key);
    errors.push(line === undefined ? { key, message } : { key, line, message });
  };

  /** Read one field of `table` at `path`, falling back to `def` when absent. */
  function field<T>(table: Table, path: string, key: string, check: Check<T>, def: T): T {
    if (!(key in table)) return def;
    const r = check(table[key]);
    if (r.ok) return r.value;
    fail(`${path}${key}`, r.error);
    return def;
  }
  function unknownKeys(table: Table, path: string, known: readonly string[]): void {
    for (const k of Object.keys(table)) {
      if (known.includes(k)) continue;
      const s = suggest(k, known);
      fail(`${path}${k}`, s === undefined ? 'unknown key' : `unknown key (did you mean "${s}"?)`);
    }
  }
  function section(key: string): Table {
    const v = doc[key];
    if (v === undefined) return {};
    if (isTable(v)) return v;
    fail(key, `expected a table ([${key}])`);
    return {};
  }
  function arrayOfTables(key: string): Table[] {
    const v = doc[key];
    if (v === undefined) return [];
    if (Array.isArray(v) && v.every(isTable)) return v;
    fail(key, `expected an array of tables ([[${key}]])`);
    return [];
  }

  unknownKeys(doc, '', KEYS.top);

  const d = section('daemon');
  unknownKeys(d, 'daemon.', KEYS.daemon);
  const daemon: DaemonSection = {
    controlSocket: field(d, 'daemon.', 'control_socket', nonEmpty, DEFAULT_CONTROL_SOCKET),
    logLevel: field(d, 'daemon.', 'log_level', logLevel, 'info'),
    metricsListen: field(d, 'daemon.', 'metrics_listen', hostPort, undefined),
    user: field(d, 'daemon.', 'user', optString, undefined),
  };

  const t = section('l2tp');
  unknownKeys(t, 'l2tp.', KEYS.l2tp);
  const P = 'l2tp.';
  const retransmitInitial = field(t, P, 'retransmit_initial', num(0.05, 60), 1);
  const retransmitCap = field(t, P, 'retransmit_cap', num(0.05, 3600), 16);
  if (retransmitCap < retransmitInitial) fail('l2tp.retransmit_cap', 'must not be less than retransmit_initial');
  const idle = field(t, P, 'idle_disconnect', num(0, 86400 * 365), 0);
  const l2tp: TunnelDefaults = {
    hostName: field(t, P, 'host_name', nonEmpty, 'l2tpkit'),
    vendorName: field(t, P, 'vendor_name', optString, 'l2tpkit'),
    receiveWindow: field(t, P, 'receive_window', int(1, 65535), 16),
    retransmitInitial: seconds(retransmitInitial),
    retransmitCap: seconds(retransmitCap),
    retriesEstablished: field(t, P, 'retries_established', int(1, 100), 5),
    retriesNotEstablished: field(t, P, 'retries_not_established', int(1, 100), 5),
    ackDelay: millis(Math.min(100, (retransmitInitial * 1000) / 4)),
    helloInterval: seconds(field(t, P, 'hello_interval', num(0, 86400), 60)),
    helloMissCount: field(t, P, 'hello_miss_count', int(1, 100), 3),
    idleDisconnect: idle === 0 ? undefined : seconds(idle),
    maxOffset: field(t, P, 'max_offset', int(0, 65535), 64),
    dataSequencing: field(t, P, 'data_sequencing', bool, false),
  };

  const listenTables = arrayOfTables('listen');
  const listen: ListenConfig[] = listenTables.map((lt, i) => {
    const p = `listen[${i}].`;
    unknownKeys(lt, p, KEYS.listen);
    const c: ListenConfig = {
      address: field(lt, p, 'address', ip, '0.0.0.0'),
      port: field(lt, p, 'port', int(0, 65535), 1701),
      secret: field(lt, p, 'secret', optString, undefined),
      hideAvps: field(lt, p, 'hide_avps', bool, false),
      allowedHosts: field(lt, p, 'allowed_hosts', strList, []),
    };
    if (c.hideAvps && c.secret === undefined) fail(`${p}hide_avps`, 'needs a secret (hidden AVPs are encrypted with it)');
    return c;
  });
  const seenListen = new Map<string, number>();
  listen.forEach((l, i) => {
    const k = `${l.address}|${l.port}`;
    const j = seenListen.get(k);
    if (j !== undefined && l.port !== 0) fail(`listen[${i}].port`, `same address and port as listen[${j}]`);
    seenListen.set(k, i);
  });

  const lacTables = arrayOfTables('lac');
  const names = new Map<string, number>();
  const lac: LacConfig[] = lacTables.map((lt, i) => {
    const p = `lac[${i}].`;
    unknownKeys(lt, p, KEYS.lac);
    if (!('lns' in lt)) fail(`lac[${i}]`, 'missing key "lns" (the address of the LNS)');
    const c: LacConfig = {
      name: field(lt, p, 'name', nonEmpty, `lac${i}`),
      lns: field(lt, p, 'lns', ip, ''),
      port: field(lt, p, 'port', int(1, 65535), 1701),
      localAddress: field(lt, p, 'local_address', ipOrEmpty, undefined),
      secret: field(lt, p, 'secret', optString, undefined),
      hideAvps: field(lt, p, 'hide_avps', bool, false),
      sessions: field(lt, p, 'sessions', int(0, 1000), 1),
      redial: field(lt, p, 'redial', bool, true),
      ppp: undefined,
    };
    if (field(lt, p, 'ppp', bool, false)) {
      const username = field(lt, p, 'username', nonEmpty, '');
      const password = field(lt, p, 'password', optString, undefined) ?? '';
      if (!('username' in lt)) fail(`lac[${i}]`, 'ppp = true needs "username" (and "password")');
      if (c.sessions !== 1) fail(`${p}sessions`, 'ppp = true drives exactly one session (sessions = 1)');
      (c as { ppp: LacPppConfig | undefined }).ppp = {
        username,
        password,
        tun: field(lt, p, 'tun', ifName, `l2tpc${i}`),
        tunNetns: field(lt, p, 'tun_netns', netnsName, undefined),
      };
    } else {
      for (const k of ['username', 'password', 'tun', 'tun_netns']) if (k in lt) fail(`${p}${k}`, 'only used with ppp = true');
    }
    const ipsecKeys = ['psk', 'ike_proposals', 'esp_proposals', 'sha256_96', 'force_encapsulation', 'ike_port', 'natt_port', 'lns_ike_port', 'lns_natt_port', 'raw_esp', 'dpd_interval', 'dpd_timeout', 'ike_lifetime', 'child_lifetime'];
    if (field(lt, p, 'ipsec', bool, false)) {
      if (!('psk' in lt)) fail(`lac[${i}]`, 'ipsec = true needs "psk" (the pre-shared key of the L2TP/IPsec server)');
      if (c.lns !== '' && !ipFamily4(c.lns)) fail(`${p}lns`, 'ipsec = true needs an IPv4 LNS address');
      const sha96 = field(lt, p, 'sha256_96', bool, false);
      const p1 = field(lt, p, 'ike_proposals', ikeProposals, undefined);
      const p2 = field(lt, p, 'esp_proposals', espProposals, undefined);
      let proposals: InitiatorProposals = DEFAULT_INITIATOR_PROPOSALS;
      let pfsGroup: DhGroupNumber | undefined;
      if (p1 !== undefined || p2 !== undefined || sha96) {
        const o = offersFromSuites(
          p1 ?? DEFAULT_INITIATOR_PROPOSALS.phase1.map((x) => ({ encryption: [x.encryption], hash: [x.hash], groups: [x.group] })),
          p2 ?? DEFAULT_INITIATOR_PROPOSALS.phase2.map((x) => ({ encryption: [x.encryption], integrity: x.integrity ? [x.integrity] : [], pfsGroups: [] })),
          sha96,
        );
        if (o.ok) {
          proposals = o.value.proposals;
          pfsGroup = o.value.pfsGroup;
        } else {
          fail(`${p}${p2 !== undefined && /ESP|PFS/.test(o.error) ? 'esp_proposals' : 'ike_proposals'}`, o.error);
        }
      }
      (c as { ipsec?: LacIpsecConfig }).ipsec = {
        psk: field(lt, p, 'psk', pskCheck, undefined) ?? '',
        proposals,
        pfsGroup,
        forceEncapsulation: field(lt, p, 'force_encapsulation', bool, false),
        ikePort: field(lt, p, 'ike_port', int(0, 65535), 500),
        nattPort: field(lt, p, 'natt_port', int(0, 65535), 4500),
        lnsIkePort: field(lt, p, 'lns_ike_port', int(1, 65535), 500),
        lnsNattPort: field(lt, p, 'lns_natt_port', int(1, 65535), 4500),
        rawEsp: field(lt, p, 'raw_esp', bool, true),
        dpdInterval: seconds(field(lt, p, 'dpd_interval', num(0, 3600), 30)),
        dpdTimeout: seconds(field(lt, p, 'dpd_timeout', num(1, 3600), 120)),
        ikeLifetime: field(lt, p, 'ike_lifetime', int(30, 86400), 28800),
        childLifetime: field(lt, p, 'child_lifetime', int(30, 86400), 3600),
      };
    } else {
      for (const k of ipsecKeys) if (k in lt) fail(`${p}${k}`, 'only used with ipsec = true');
    }
    if (c.hideAvps && c.secret === undefined) fail(`${p}hide_avps`, 'needs a secret (hidden AVPs are encrypted with it)');
    if (c.localAddress !== undefined && c.lns !== '' && isIP(c.localAddress) !== isIP(c.lns)) {
      fail(`${p}local_address`, `address family differs from lns (${c.lns})`);
    }
    const j = names.get(c.name);
    if (j !== undefined) fail(`${p}name`, `duplicate name "${c.name}" (also lac[${j}])`);
    names.set(c.name, i);
    return c;
  });

  // No [[listen]] and no [[lac]]: the documented default, one LNS on 0.0.0.0:1701 accepting any LAC.
  const effectiveListen: readonly ListenConfig[] =
    doc['listen'] === undefined && lac.length === 0
      ? [{ address: '0.0.0.0', port: 1701, secret: undefined, hideAvps: false, allowedHosts: [] }]
      : listen;

  if (daemon.user !== undefined && lac.some((l) => l.ppp !== undefined)) {
    fail('daemon.user', 'cannot drop privileges with [[lac]] ppp = true (client mode runs "ip" when PPP comes up)');
  }

  // Remote access: on when any of its tables is present ([ppp] enabled = false turns it off).
  const ppp = section('ppp');
  const pool = section('pool');
  const usersT = section('users');
  const tun = section('tun');
  unknownKeys(ppp, 'ppp.', KEYS.ppp);
  unknownKeys(pool, 'pool.', KEYS.pool);
  unknownKeys(usersT, 'users.', KEYS.users);
  unknownKeys(tun, 'tun.', KEYS.tun);
  const wanted = ['ppp', 'pool', 'users', 'tun'].some((k) => doc[k] !== undefined) && field(ppp, 'ppp.', 'enabled', bool, true);
  const ipv4Pool = field(pool, 'pool.', 'ipv4', ipv4Prefix, '100.64.0.0/24');
  const mru = field(ppp, 'ppp.', 'mru', int(576, 16384), 1400);
  const access: AccessSection = {
    auth: field(ppp, 'ppp.', 'auth', authList, ['mschapv2', 'chap']),
    mru,
    echoInterval: seconds(field(ppp, 'ppp.', 'echo_interval', num(0, 3600), 30)),
    echoFailure: field(ppp, 'ppp.', 'echo_failure', int(1, 100), 3),
    dns: field(ppp, 'ppp.', 'dns', ipv4List, []),
    nbns: field(ppp, 'ppp.', 'nbns', ipv4List, []),
    forceLcpRenegotiation: field(ppp, 'ppp.', 'force_lcp_renegotiation', bool, false),
    ipv4Pool,
    localAddress: field(pool, 'pool.', 'local_address', ipv4Addr, firstHost(ipv4Pool)),
    ipv6Prefix: field(pool, 'pool.', 'ipv6_prefix', ipv6PrefixCheck, undefined),
    usersFile: field(usersT, 'users.', 'file', optString, undefined),
    tunName: field(tun, 'tun.', 'name', ifName, 'l2tp0'),
    mtu: field(tun, 'tun.', 'mtu', int(576, 16384), mru),
    mssClamp: field(tun, 'tun.', 'mss_clamp', bool, true),
    tunNetns: field(tun, 'tun.', 'netns', netnsName, undefined),
  };
  {
    const pr = parseIpv4Prefix(access.ipv4Pool);
    const la = parseIpv4(access.localAddress);
    if (pr.ok && la !== undefined && pr.value.length < 31) {
      const mask = pr.value.length === 0 ? 0 : (0xffffffff << (32 - pr.value.length)) >>> 0;
      if (((la & mask) >>> 0) !== pr.value.network) fail('pool.local_address', `must be inside pool.ipv4 (${access.ipv4Pool}) so the TUN route covers the pool`);
    }
  }

  // [ipsec]: on when the table is present (enabled = false turns it off).
  let ipsec: IpsecSection | undefined;
  const ips = section('ipsec');
  unknownKeys(ips, 'ipsec.', KEYS.ipsec);
  if (doc['ipsec'] !== undefined && field(ips, 'ipsec.', 'enabled', bool, true)) {
    const peerTables = ((): Table[] => {
      const v = ips['peer'];
      if (v === undefined) return [];
      if (Array.isArray(v) && v.every(isTable)) return v;
      fail('ipsec.peer', 'expected an array of tables ([[ipsec.peer]])');
      return [];
    })();
    const peers: IpsecPeerConfig[] = peerTables.map((pt, i) => {
      const p = `ipsec.peer[${i}].`;
      unknownKeys(pt, p, KEYS.ipsecPeer);
      if (!('address' in pt)) fail(`ipsec.peer[${i}]`, 'missing key "address"');
      if (!('psk' in pt)) fail(`ipsec.peer[${i}]`, 'missing key "psk"');
      const sha96 = field(pt, p, 'sha256_96', bool, false);
      return {
        address: field(pt, p, 'address', ipv4Addr, '0.0.0.0'),
        psk: field(pt, p, 'psk', pskCheck, undefined) ?? '',
        ...('sha256_96' in pt ? { sha256_96: sha96 } : {}),
      };
    });
    const psk = field(ips, 'ipsec.', 'psk', pskCheck, undefined);
    if (psk === undefined && peers.length === 0 && !('psk' in ips)) fail('ipsec', 'needs "psk" (or [[ipsec.peer]] entries with their own psk)');
    const dpdInterval = field(ips, 'ipsec.', 'dpd_interval', num(0, 3600), 30);
    ipsec = {
      psk,
      peers,
      requireIpsec: field(ips, 'ipsec.', 'require_ipsec', bool, true),
      localAddress: field(ips, 'ipsec.', 'local_address', ipv4Addr, '') || undefined,
      ikePort: field(ips, 'ipsec.', 'ike_port', int(0, 65535), 500),
      nattPort: field(ips, 'ipsec.', 'natt_port', int(0, 65535), 4500),
      rawEsp: field(ips, 'ipsec.', 'raw_esp', bool, true),
      ikeLifetime: field(ips, 'ipsec.', 'ike_lifetime', int(60, 86400 * 7), 86400),
      childLifetime: field(ips, 'ipsec.', 'child_lifetime', int(60, 86400), 28800),
      childLifetimeKb: field(ips, 'ipsec.', 'child_lifetime_kb', int(0, 2 ** 31 - 1), 0),
      dpdInterval: seconds(dpdInterval),
      dpdTimeout: seconds(field(ips, 'ipsec.', 'dpd_timeout', num(1, 3600), 120)),
      closeGrace: seconds(field(ips, 'ipsec.', 'close_grace', num(0, 3600), 5)),
      ikeProposals: field(ips, 'ipsec.', 'ike_proposals', ikeProposals, undefined),
      espProposals: field(ips, 'ipsec.', 'esp_proposals', espProposals, undefined),
      sha256_96: field(ips, 'ipsec.', 'sha256_96', bool, false),
    };
    if (ipsec.ikePort !== 0 && ipsec.ikePort === ipsec.nattPort) fail('ipsec.natt_port', 'must differ from ike_port');
    if (!effectiveListen.some((l) => ipFamily4(l.address))) fail('ipsec', 'needs an IPv4 [[listen]] (IPsec runs on the first IPv4 listener)');
  }

  // IKE sockets of [ipsec] and of every `ipsec = true` LAC must not collide (same port, overlapping address).
  {
    const taken: { who: string; address: string; port: number }[] = [];
    const ipsecListen = effectiveListen.find((l) => ipFamily4(l.address));
    if (ipsec && ipsecListen) {
      taken.push({ who: '[ipsec]', address: ipsecListen.address, port: ipsec.ikePort }, { who: '[ipsec]', address: ipsecListen.address, port: ipsec.nattPort });
    }
    lac.forEach((l, i) => {
      const x = l.ipsec;
      if (x === undefined) return;
      const address = l.localAddress ?? '0.0.0.0';
      for (const [key, port] of [['ike_port', x.ikePort], ['natt_port', x.nattPort]] as const) {
        const clash = port === 0 ? undefined : taken.find((t) => t.port === port && (t.address === address || t.address === '0.0.0.0' || address === '0.0.0.0'));
        if (clash) fail(`lac[${i}].${key}`, `UDP port ${port} is already used by ${clash.who} (set ${key} = 0 for any free port)`);
        taken.push({ who: `lac[${i}]`, address, port });
      }
    });
  }

  if (errors.length > 0) {
    errors.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    return err(errors);
  }
  return ok({ daemon, l2tp, listen: effectiveListen, lac, access: wanted ? access : undefined, ...(ipsec ? { ipsec } : {}) });
}

/** A random pre-shared key: 20 characters without look-alikes (about 110 bits), easy to type on a phone. */
export function generatePsk(pick: (n: number) => number = randomInt): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  let out = '';
  for (let i = 0; i < 20; i++) out += alphabet[pick(alphabet.length)] ?? 'x';
  return out;
}

/**
 * The configuration used when there is no config file: a ready L2TP/IPsec remote-access LNS on
 * 0.0.0.0 (UDP 500/4500/1701 + raw ESP, a generated PSK, L2TP only inside IPsec; pool
 * 100.64.0.0/24, LNS address 100.64.0.1, TUN l2tp0, one generated user). The banner prints the
 * PSK and the login.
 */
export function defaultConfig(psk: string = generatePsk()): DaemonConfig {
  const r = parseConfig(`[ppp]\n[ipsec]\npsk = ${JSON.stringify(psk)}\n`);
  if (!r.ok || r.value.ipsec === undefined) throw new Error('the default configuration must be valid');
  return { ...r.value, ipsec: { ...r.value.ipsec, pskGenerated: true } };
}

/** Read and validate a config file. A file that cannot be read is a ConfigError too. */
export async function loadConfigFile(path: string): Promise<Result<DaemonConfig, readonly ConfigError[]>> {
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    return err([{ key: '', message: `cannot read ${path}: ${code}` }]);
  }
  return parseConfig(source);
}

/** `config: line 12: lac[0].lns: expected an IPv4 or IPv6 address`. */
export function formatConfigError(e: ConfigError): string {
  const where = e.line === undefined ? '' : e.column === undefined ? `line ${e.line}: ` : `line ${e.line}, column ${e.column}: `;
  const key = e.key === '' ? '' : `${e.key}: `;
  return `config: ${where}${key}${e.message}`;
}

// ---------------------------------------------------------------------------------------------
// Key locations. smol-toml gives no positions for values, so scan the text: track the current
// table header ([t] or the n-th [[t]]) and record `path -> line` for every `key =` line.

/** Map every key path in the source (`daemon.log_level`, `lac[1].lns`, `lac[1]`) to its 1-based line. */
export function locateKeys(source: string): Map<string, number> {
  const out = new Map<string, number>();
  const arrayCounts = new Map<string, number>();
  let prefix = '';
  let inMultiline: '"""' | "'''" | undefined;
  const lines = source.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    if (inMultiline !== undefined) {
      if (countOf(line, inMultiline) % 2 === 1) inMultiline = undefined;
      return;
    }
    let m = /^\[\[\s*([^\]]+?)\s*\]\]/.exec(line);
    if (m?.[1] !== undefined) {
      const name = normalizeKey(m[1]);
      const n = arrayCounts.get(name) ?? 0;
      arrayCounts.set(name, n + 1);
      prefix = `${name}[${n}]`;
      if (!out.has(prefix)) out.set(prefix, lineNo);
      if (!out.has(name)) out.set(name, lineNo);
      return;
    }
    m = /^\[\s*([^\]]+?)\s*\]/.exec(line);
    if (m?.[1] !== undefined) {
      prefix = normalizeKey(m[1]);
      if (!out.has(prefix)) out.set(prefix, lineNo);
      return;
    }
    m = /^((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=(.*)$/.exec(line);
    if (m?.[1] !== undefined) {
      const key = normalizeKey(m[1]);
      // Record `a.b.c` and its prefixes `a.b`, `a` (dotted keys define implicit tables).
      const parts = key.split('.');
      for (let n = parts.length; n >= 1; n--) {
        const sub = parts.slice(0, n).join('.');
        const path = prefix === '' ? sub : `${prefix}.${sub}`;
        if (!out.has(path)) out.set(path, lineNo);
      }
      const rest = m[2] ?? '';
      for (const q of ['"""', "'''"] as const) {
        if (countOf(rest, q) % 2 === 1) inMultiline = q;
      }
    }
  });
  return out;
}

/** The line of `key`, or of its nearest located parent (`lac[0].port` -> `lac[0]` -> `lac`). */
function lineOf(lines: Map<string, number>, key: string): number | undefined {
  let k = key;
  for (;;) {
    const l = lines.get(k);
    if (l !== undefined) return l;
    const cut = Math.max(k.lastIndexOf('.'), k.lastIndexOf('['));
    if (cut <= 0) return undefined;
    k = k.slice(0, cut);
  }
}

function normalizeKey(k: string): string {
  return k
    .split('.')
    .map((p) => p.trim().replace(/^["']|["']$/g, ''))
    .join('.');
}

function countOf(s: string, needle: string): number {
  let n = 0;
  for (let i = s.indexOf(needle); i !== -1; i = s.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** The closest known key when it is plausibly a typo (edit distance <= max(2, len/3)). */
export function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, sub));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
