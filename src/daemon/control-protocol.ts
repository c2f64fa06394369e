/**
 * The l2tpctl <-> l2tpd control protocol: one JSON object per line on a unix socket, one response
 * line per request line. Views are plain JSON (ids as numbers, times as uptimes in seconds).
 */
import { err, ok, type Result } from '../base/index.js';
import type { TunnelCounters } from '../l2tp/index.js';
import type { RotateWhat } from './setup/index.js';
import type { L2tpv3View } from './l2tpv3-shell.js';
import type { L2tpv3StaticView } from './l2tpv3-static-shell.js';
import type { DataCounters } from './data-ledger.js';
import { isOpsCommand, OPS_READ_ONLY, parseOpsRequest, parseShowFilter, type OpsRequest, type ShowFilter } from './control-ops.js';

export type { DestinationView, OpsRequest, SelectionDestinationView, ShowFilter, SummaryView } from './control-ops.js';

export type { CredentialsView } from './setup/index.js';

/** A request line. */
export type ControlRequest =
  | { readonly cmd: 'ping' }
  /** `filter`: only what matches (control-ops.ts); absent = everything. */
  | { readonly cmd: 'show-tunnels'; readonly filter?: ShowFilter }
  | { readonly cmd: 'show-sessions'; readonly filter?: ShowFilter }
  | OpsRequest
  | { readonly cmd: 'status' }
  | { readonly cmd: 'show-ipsec' }
  | { readonly cmd: 'clear-tunnel'; readonly tunnel: number }
  /** `tunnel` omitted = the session id must be unique across tunnels. */
  | { readonly cmd: 'clear-session'; readonly tunnel?: number; readonly session: number }
  /** Dial a `[[lac]]` now (also after a hang-up, or while it waits for a redial). */
  | { readonly cmd: 'dial'; readonly lac: string }
  /** Hang a `[[lac]]` up (StopCCN, IPsec SAs deleted) and keep it down until the next dial. */
  | { readonly cmd: 'hangup'; readonly lac: string }
  /**
   * The secrets a client profile needs (PSK, a user's password) and the PPP settings it must match.
   * Reveals secrets: control socket only, never the read-only show socket (l2tpctl client-profile).
   */
  | { readonly cmd: 'client-credentials'; readonly user?: string }
  /** The status page's address and token (reveals the token, like client-credentials). */
  | { readonly cmd: 'status-page' }
  /** The generated credentials (PSK, login) and where they are kept (secrets: not on the show socket). */
  | { readonly cmd: 'credentials' }
  /** Replace the generated PSK and/or the generated login's password. */
  | { readonly cmd: 'rotate-credentials'; readonly what: RotateWhat }
  /** Add a login to the users file (password generated when absent) and reload the users. */
  | { readonly cmd: 'user-add'; readonly username: string; readonly password?: string }
  /** RADIUS servers, accounting queue and spool, DAE clients. */
  | { readonly cmd: 'show-radius' };

/** Requests the read-only show socket answers (`[daemon] show_group`); everything else needs the control socket. */
export const READ_ONLY_COMMANDS: ReadonlySet<string> = new Set(['ping', 'show-tunnels', 'show-sessions', 'status', 'show-ipsec', 'show-radius', ...OPS_READ_ONLY]);

/** `client-credentials`: what `l2tpctl client-profile` builds a profile from. */
export interface ClientCredentialsView {
  /** The IPsec pre-shared key for clients without a per-address key; absent when IPsec is off. */
  readonly psk?: string;
  readonly username: string;
  /** Absent for a user without a stored password (not the case for a users file). */
  readonly password?: string;
  /** `[ppp] auth`, in order. */
  readonly auth: readonly string[];
  readonly mru: number;
  /** `[ipsec] local_address` (or the listener address) when it is a specific address. */
  readonly serverAddress?: string;
}

/** `status-page`: where the page is and the token that opens it. */
export interface StatusPageInfo {
  readonly url: string;
  readonly token: string;
}

/** One session as shown by l2tpctl. */
export interface SessionView {
  readonly localTunnelId: number;
  readonly localSessionId: number;
  readonly remoteSessionId: number;
  readonly state: string;
  readonly direction: string;
  readonly role: string;
  readonly callSerialNumber: number;
  readonly uptimeSeconds?: number;
  readonly rxPackets: number;
  readonly rxOctets: number;
  readonly txPackets: number;
  readonly txOctets: number;
  readonly callingNumber?: string;
  readonly calledNumber?: string;
  /** PPP (remote access / client mode): phase, authenticated user, assigned addresses. */
  readonly pppPhase?: string;
  readonly username?: string;
  /** How the user authenticated (`mschapv2`, `chap-md5`, `pap`; absent = not yet or none). */
  readonly authMethod?: string;
  readonly address?: string;
  readonly ipv6Prefix?: string;
  /** RADIUS Acct-Session-Id (with [radius]). */
  readonly acctSessionId?: string;
  /** A PPPoE session terminated here (BRAS, tunnel 0): interface, client MAC, SESSION_ID, service. */
  readonly pppoe?: { readonly interface: string; readonly mac: string; readonly sessionId: number; readonly serviceName: string; readonly vlan?: number };
  /** Remote access: unanswered LCP Echo-Requests in a row right now (absent = none). */
  readonly echoMisses?: number;
}

/** One tunnel as shown by l2tpctl (Yamaha "show status l2tp" fields). */
export interface TunnelView {
  readonly localTunnelId: number;
  readonly remoteTunnelId: number;
  readonly state: string;
  /** 'lac' when we originated the tunnel, else 'lns'. */
  readonly role: 'lac' | 'lns';
  /** The [[lac]] name that opened it, if any. */
  readonly lac?: string;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly remoteHostName?: string;
  readonly remoteVendorName?: string;
  readonly protocolVersion?: string;
  readonly ns: number;
  readonly nr: number;
  readonly peerReceiveWindow: number;
  readonly uptimeSeconds?: number;
  readonly counters: Readonly<TunnelCounters>;
  /**
   * Payload packets/octets each way (jnxL2tpTunnelStatsData*): the engine's data counters plus the
   * native fast path's share of the sessions, never decreasing (data-ledger.ts).
   */
  readonly data: DataCounters;
  readonly sessions: readonly SessionView[];
}

/** A listener or LAC line of `status`. */
export interface StatusView {
  readonly version: string;
  readonly pid: number;
  readonly uptimeSeconds: number;
  readonly listeners: readonly { readonly address: string; readonly port: number; readonly auth: boolean }[];
  readonly lacs: readonly { readonly name: string; readonly lns: string; readonly port: number; readonly state: string; readonly tunnel?: number }[];
  readonly tunnels: readonly TunnelView[];
  /** Remote access: PPP sessions terminated here and IPv4 addresses leased out of the pool. */
  readonly pool?: {
    readonly sessions: number;
    readonly inUse: number;
    readonly capacity: number;
    /** Of `inUse`: addresses held for clients of the previous run (`[pool] lease_hold`). */
    readonly held?: number;
    /** Host routes into the TUN for the sessions. */
    readonly routes?: number;
  };
  /** Remote access: packets from the TUN above a client's MRU (ICMP sent, fragmented, rate-limited, dropped). */
  readonly tooBig?: { readonly icmpSent: number; readonly fragmented: number; readonly rateLimited: number; readonly dropped: number };
  /**
   * Remote access with `[dataplane] fast_path` on: the native fast path's counters (sessions installed,
   * packets forwarded natively / handed to JS per direction, errors); absent = every packet through JS.
   */
  readonly fastPath?: {
    readonly sessions: number; readonly udpFast: number; readonly udpToJs: number; readonly tunFast: number; readonly tunToJs: number;
    readonly tunWriteErrors: number; readonly sendErrors: number; readonly mssClamped: number; readonly badSource: number; readonly tooBig: number;
    /** With `[dataplane] fast_path_esp` and `[ipsec]`: ESP datagrams opened / sealed natively, handed to JS (and why), SAs held. */
    readonly esp?: {
      readonly espInFast: number; readonly espInToJs: number; readonly espReplayToJs: number; readonly espIcvToJs: number; readonly espUnknownSpiToJs: number;
      readonly espOutFast: number; readonly espOutToJs: number; readonly espSendErrors: number; readonly inboundSas: number; readonly outboundSas: number; readonly flows: number;
    };
    /** With `[dataplane] keepalive_offload` and data threads: LCP keepalives run natively, their Echo counters since start. */
    readonly keepalive?: { readonly sessions: number; readonly missing: number; readonly echoSent: number; readonly echoReplied: number; readonly echoAnswered: number; readonly echoMisses: number; readonly echoDead: number };
  };
  /** Driven sans-I/O cores (engines, PPP, redialer) with a timer pending. */
  readonly timers?: number;
  /**
   * The process's memory (bytes, `process.memoryUsage()`); started with `node --expose-gc` (tests and
   * the soak), garbage is collected first, so `heapUsed` is the live heap.
   */
  readonly memory?: { readonly heapUsed: number; readonly rss: number; readonly external: number; readonly arrayBuffers: number };
  /** The `[ipsec]` listener and every IPsec LAC, summed. */
  readonly ipsec?: IpsecSummaryView;
  /** Loss the kernel counted (socket buffers, the TUN queue): what the daemon's own counters cannot see. */
  readonly kernel?: KernelDropsView;
  /** Remote access: LCP keepalive misses (loss seen before a subscriber is logged out). */
  readonly echo?: { readonly misses: number; readonly missing: number; readonly timeouts: number };
  /** `[l2tpv3]`: dynamic L2TPv3 pseudowires (Yamaha `show status l2tp` fields). */
  readonly l2tpv3?: L2tpv3View;
  /** `[[l2tpv3_static]]`: static L2TPv3 pseudowires (cookie sizes, never their values). */
  readonly l2tpv3Static?: readonly L2tpv3StaticView[];
}

/** `show status`: kernel-side buffers and drops (issue 15 item 3). */
export interface KernelDropsView {
  /** Each L2TP socket: buffer sizes the kernel reports, datagrams it dropped for us, bytes queued now. */
  readonly sockets: readonly { readonly address: string; readonly port: number; readonly receiveBuffer: number; readonly sendBuffer: number; readonly drops?: number; readonly rxQueue?: number }[];
  /** UDP errors of the whole network namespace (/proc/net/snmp: every socket, not only ours). */
  readonly udp?: { readonly rcvbufErrors: number; readonly sndbufErrors: number; readonly inErrors: number };
  /** The TUN's queue (/sys/class/net/<tun>: tx_dropped = packets toward clients the queue had no room for). */
  readonly tun?: { readonly name: string; readonly txqueuelen?: number; readonly txDropped: number; readonly rxDropped: number };
}

/** `show status`: IPsec at a glance. */
export interface IpsecSummaryView {
  /** The responder's IKE / NAT-T ports (absent = no [ipsec] listener). */
  readonly listener?: { readonly address: string; readonly ikePort: number; readonly nattPort: number; readonly rawEsp: boolean; readonly requireIpsec: boolean };
  readonly ikeSas: number;
  readonly espSas: number;
  /** ESP SA pairs by encapsulation. */
  readonly espRaw: number;
  readonly espUdp: number;
  /** Gate drops and refusals since start (sum of the `show ipsec` counters). */
  readonly drops: number;
}

/** One IKE SA of `show ipsec` (ours as responder on the [ipsec] listener, or a LAC's initiator). */
export interface IkeSaView {
  readonly role: 'responder' | 'initiator';
  /** The [[lac]] name for an initiator. */
  readonly lac?: string;
  readonly ikeSaId: number;
  /** `established`, or the Main Mode state of an initiator still negotiating. */
  readonly state: string;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The peer's IKE identity (address, FQDN, or hex). */
  readonly peerId?: string;
  /** strongSwan-style names: `aes256`, `sha256`, `modp2048`. */
  readonly encryption?: string;
  readonly hash?: string;
  readonly group?: string;
  readonly lifetimeSeconds?: number;
  readonly lifetimeLeftSeconds?: number;
  readonly ageSeconds?: number;
  /** NAT-T flavour and NAT-D result (RFC 3947). */
  readonly natT?: string;
  readonly natLocal?: boolean;
  readonly natRemote?: boolean;
}

/** One ESP SA pair of `show ipsec`. */
export interface EspSaView {
  readonly role: 'responder' | 'initiator';
  readonly lac?: string;
  /** The IPsec flow (`ipsec:1`) the L2TP peer is reached through. */
  readonly flow: string;
  readonly ikeSaId: number;
  /** SPIs as 8 hex digits. */
  readonly spiIn: string;
  readonly spiOut: string;
  /** `aes128-cbc`, `aes256-gcm16`, `3des-cbc`. */
  readonly encryption: string;
  /** `hmac-sha1-96`, `hmac-sha256-128`, `hmac-sha256-96`, or `none` (GCM). */
  readonly integrity: string;
  /** `udp` (ESP in UDP, RFC 3948) or `raw` (IP protocol 50). */
  readonly encapsulation: 'udp' | 'raw';
  readonly localAddress: string;
  readonly remoteAddress: string;
  /** NAT-T ports with `udp`. */
  readonly localPort?: number;
  readonly remotePort?: number;
  /** The peer's inner L2TP UDP port. */
  readonly innerPort: number;
  readonly tunnels: readonly number[];
  readonly lifetimeSeconds: number;
  readonly lifetimeLeftSeconds: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly packetsIn: number;
  readonly packetsOut: number;
  readonly replayDrops: number;
  readonly authFailures: number;
}

/** `show ipsec`. */
export interface IpsecView {
  readonly ikeSas: readonly IkeSaView[];
  readonly espSas: readonly EspSaView[];
  /** Drops and refusals at the IPsec gates (listener and LACs summed), since start. */
  readonly counters: IpsecCountersView;
}

/** `show ipsec` gate counters (src/gate/l2tp-gate.ts `IpsecGateCounters`). */
export interface IpsecCountersView {
  /** L2TP datagrams that arrived in the clear at a listener that requires IPsec. */
  readonly clearL2tpRefused: number;
  /** ESP packets for an SPI we do not know. */
  readonly espUnknownSpi: number;
  /** ESP packets dropped by an SA (replay, ICV, padding, malformed, lifetime). */
  readonly espDropped: number;
  /** Decrypted packets that were not UDP to our L2TP port. */
  readonly innerNotL2tp: number;
  /** L2TP to send into a flow that no longer exists. */
  readonly txNoFlow: number;
  /** L2TP not sent because the outbound SA refused (sequence numbers or byte lifetime exhausted). */
  readonly txEncryptFailed: number;
}

/** One RADIUS server (one row per role) of `show radius`. */
export interface RadiusServerView {
  readonly name: string;
  readonly role: 'auth' | 'acct';
  readonly address: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
  readonly state: 'alive' | 'dead';
  /** Seconds until a dead server is tried again. */
  readonly deadForSeconds?: number;
  readonly pending: number;
  readonly requests: number;
  readonly retransmissions: number;
  readonly accepts: number;
  readonly rejects: number;
  readonly challenges: number;
  readonly accountingResponses: number;
  readonly timeouts: number;
  /** Answers dropped: malformed, bad (Message-)Authenticator, missing Message-Authenticator, unexpected code, unmatched. */
  readonly dropped: number;
  readonly lastRttMs?: number;
  readonly smoothedRttMs?: number;
}

/** One DAE client of `show radius`. */
export interface DaeClientView {
  readonly name: string;
  readonly address: string;
  readonly requests: number;
  readonly disconnectAcks: number;
  readonly disconnectNaks: number;
  readonly coaAcks: number;
  readonly coaNaks: number;
  readonly duplicates: number;
  readonly dropped: number;
}

/** `show radius`. */
export interface RadiusView {
  readonly servers: readonly RadiusServerView[];
  readonly pendingAuth: number;
  readonly accounting: {
    /** Records not yet answered by a server (in memory). */
    readonly queued: number;
    readonly inFlight: number;
    /** Records waiting in the on-disk spool (written, not answered), and its size. */
    readonly spoolDepth: number;
    readonly spoolBytes: number;
    readonly spoolPath?: string;
    readonly spoolErrors: number;
  };
  /** Datagrams from addresses that are no server of ours. */
  readonly unknownSource: number;
  readonly dae?: { readonly listen: string; readonly clients: readonly DaeClientView[]; readonly unknownClients: number };
}

/** A response line. */
export type ControlResponse =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A tunnel or session id: 16-bit for L2TPv2, 32-bit for L2TPv3 (RFC 3931 §3.2.1, §4.1). */
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

/** Validate a decoded request line. Never throws. */
export function parseControlRequest(v: unknown): Result<ControlRequest, string> {
  if (!isRecord(v) || typeof v['cmd'] !== 'string') return err('expected {"cmd": ...}');
  if (isOpsCommand(v['cmd'])) return parseOpsRequest(v);
  switch (v['cmd']) {
    case 'show-tunnels':
    case 'show-sessions': {
      const f = parseShowFilter(v['filter']);
      if (!f.ok) return f;
      return ok(f.value === undefined ? { cmd: v['cmd'] } : { cmd: v['cmd'], filter: f.value });
    }
    case 'ping':
    case 'status':
    case 'show-ipsec':
    case 'show-radius':
      return ok({ cmd: v['cmd'] });
    case 'clear-tunnel':
      return isId(v['tunnel']) ? ok({ cmd: 'clear-tunnel', tunnel: v['tunnel'] }) : err('clear-tunnel needs "tunnel" (0..4294967295)');
    case 'clear-session': {
      const session = v['session'];
      const tunnel = v['tunnel'];
      if (!isId(session)) return err('clear-session needs "session" (0..4294967295)');
      if (tunnel === undefined) return ok({ cmd: 'clear-session', session });
      return isId(tunnel) ? ok({ cmd: 'clear-session', tunnel, session }) : err('"tunnel" must be 0..4294967295');
    }
    case 'dial':
    case 'hangup': {
      const lac = v['lac'];
      return typeof lac === 'string' && lac.length > 0 && lac.length <= 256 ? ok({ cmd: v['cmd'], lac }) : err(`${v['cmd']} needs "lac" (a [[lac]] name)`);
    }
    case 'client-credentials': {
      const user = v['user'];
      if (user === undefined) return ok({ cmd: 'client-credentials' });
      return typeof user === 'string' && user.length > 0 && user.length <= 256 ? ok({ cmd: 'client-credentials', user }) : err('"user" must be a user name');
    }
    case 'status-page':
      return ok({ cmd: 'status-page' });
    case 'credentials':
      return ok({ cmd: 'credentials' });
    case 'rotate-credentials': {
      const what = v['what'];
      return what === 'psk' || what === 'password' || what === 'all' ? ok({ cmd: 'rotate-credentials', what }) : err('rotate-credentials needs "what": "psk", "password" or "all"');
    }
    case 'user-add': {
      const username = v['username'];
      const password = v['password'];
      if (typeof username !== 'string' || username.length === 0 || username.length > 64) return err('user-add needs "username" (1-64 characters)');
      if (password === undefined) return ok({ cmd: 'user-add', username });
      return typeof password === 'string' && password.length > 0 && password.length <= 256 ? ok({ cmd: 'user-add', username, password }) : err('"password" must be 1-256 characters');
    }
    default:
      return err(`unknown command "${v['cmd']}"`);
  }
}
