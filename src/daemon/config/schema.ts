/**
 * The l2tpd.toml schema as data: one row per key (TOML key, value type, default, doc), one spec
 * per table. Defaults come from the cores' exported defaults (`defaultTuning()`,
 * `defaultTunnelSettings()`, `ACCESS_SERVER_DEFAULTS`, `DEFAULT_POLICY`, `L2TP_PORT`) so a
 * default lives in one place. docs/CONFIG.md's key reference is generated from this table
 * (reference.ts) and a test keeps the two equal.
 *
 * Adding a section (`[[radius.server]]`, `[[pseudowire]]`): write its `table({...})` here, add it to
 * `SCHEMA`, read and build it in parse.ts (cross-field rules there), regenerate the docs.
 */
import { parseIpv4Prefix, seconds as secondsOf } from '../../base/index.js';
import { ACCESS_SERVER_DEFAULTS } from '../../access/index.js';
import { DEFAULT_POLICY } from '../../ipsec/index.js';
import { DEFAULT_ADMISSION, defaultTuning, defaultTunnelSettings } from '../../l2tp/index.js';
import { L2TP_PORT } from '../../io/index.js';
import { key, table, type TableSpec } from './table.js';
import { POOL_NAMED, RADIUS, RADIUS_DAE, RADIUS_DAE_CLIENT, RADIUS_SERVER } from './schema-radius.js';
import { PPPOE } from './schema-pppoe.js';
import { L2TPV3, L2TPV3_PSEUDOWIRE } from './schema-l2tpv3.js';
import { L2TPV3_STATIC } from './schema-l2tpv3-static.js';
import { SNMP } from './schema-snmp.js';
import { TUNNEL_SELECT, TUNNEL_SELECT_DESTINATION, TUNNEL_SELECT_DOMAIN, TUNNEL_SELECT_PROFILE } from './schema-selection.js';
import {
  bool, distinctOf, espProposals, ifName, ikeProposals, int, ipAddress, ipv4Address, ipv4List, ipv4Pool, ipv4Text, optional, oneOf,
  optHostPort, optIpAddress, optIpv6Prefix, optNetns, optText, port, psk, seconds, secondsOrNever, statusToken, text, textList, anyText,
} from './values.js';

/** Default control socket path (inside the unit's RuntimeDirectory=l2tpd; l2tpd creates the directory otherwise). */
export const DEFAULT_CONTROL_SOCKET = '/run/l2tpd/l2tpd.sock';

/** Default L2TP socket buffers (issue 15: the 208 KiB kernel default overflows with the echo replies of 100k sessions). */
export const DEFAULT_UDP_BUFFER = 4 * 1024 * 1024;

/** Default TUN txqueuelen. */
export const DEFAULT_TUN_TXQUEUELEN = 10_000;

/** Default state directory (the unit's StateDirectory=l2tpd): generated credentials, the default users file. */
export const DEFAULT_STATE_DIR = '/var/lib/l2tpd';

/** The read-only socket next to a control socket: `/run/l2tpd/l2tpd.sock` -> `/run/l2tpd/l2tpd-show.sock`. */
export const showSocketFor = (control: string): string => `${control.replace(/\.sock$/, '')}-show.sock`;

/** Accepted `log_level` values. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** PPP authentication protocol names accepted in `[ppp] auth` (chap = CHAP-MD5). */
export type PppAuthName = 'mschapv2' | 'chap' | 'pap';

/** IKE ports (RFC 2408 §2.5.2: 500; RFC 3947 §4: NAT-T on 4500). */
const IKE_PORT = 500;
const NATT_PORT = 4500;
/** RFC 3706 DPD: R-U-THERE after 30 s of silence, the peer is dead after 120 s (daemon policy). */
const DPD_INTERVAL = secondsOf(30);
/** Longer than a client's HELLO (60 s) + retransmission give-up (~31 s), so its tunnel is gone by then. */
const LEASE_HOLD = secondsOf(120);
const DPD_TIMEOUT = secondsOf(120);

const TUNING = defaultTuning();
const TUNNEL = defaultTunnelSettings('l2tpkit');
const CONFIG_AUTH: Readonly<Record<string, PppAuthName>> = { mschapv2: 'mschapv2', 'chap-md5': 'chap', pap: 'pap' };
const DEFAULT_POOL = parseIpv4Prefix('100.64.0.0/24');
if (!DEFAULT_POOL.ok) throw new Error('the default pool must parse');

/** `[daemon]`. */
export const DAEMON = table({
  path: 'daemon',
  array: false,
  doc: 'The process: control socket, logging, metrics, privileges.',
  rows: {
    controlSocket: key('control_socket', text, DEFAULT_CONTROL_SOCKET, 'unix socket l2tpctl talks to (`l2tpd`/`l2tpctl --socket PATH` overrides)'),
    logLevel: key('log_level', oneOf<LogLevel>(['info', 'debug', 'warn', 'error'], 'expected "info", "debug", "warn" or "error"'), 'info', 'debug = one line per control message with its AVPs (Yamaha "l2tp syslog on")'),
    metricsListen: key('metrics_listen', optHostPort, undefined, 'Prometheus `/metrics` on this address, e.g. "127.0.0.1:9101" or "[::1]:9101"'),
    user: key('user', optText, undefined, 'drop to this user (and its group) once the TUN and the sockets are open; see "Remote access (PPP)" in docs/CONFIG.md'),
    stateDir: key('state_dir', text, DEFAULT_STATE_DIR, 'generated credentials (credentials.json: the PSK, which login was generated) and the default users file, created 0700 (`l2tpd --state-dir` overrides)'),
    controlGroup: key('control_group', optText, undefined, 'group that may use control_socket (mode 0660: every l2tpctl command, credentials included); "" = root only (0600)'),
    showGroup: key('show_group', optText, undefined, 'group of the read-only show_socket (mode 0660: `l2tpctl show ...` only); "" = no such socket'),
    showSocket: key('show_socket', optText, undefined, 'the read-only socket for show_group', { computed: 'control_socket with "-show.sock"' }),
    udpReceiveBuffer: key('udp_receive_buffer', int(0, 1 << 30), DEFAULT_UDP_BUFFER, 'SO_RCVBUF of every L2TP socket in bytes (capped by net.core.rmem_max; the size got is logged); 0 = kernel default'),
    udpSendBuffer: key('udp_send_buffer', int(0, 1 << 30), DEFAULT_UDP_BUFFER, 'SO_SNDBUF of every L2TP socket in bytes (capped by net.core.wmem_max); 0 = kernel default'),
  },
});

/** `[l2tp]`: defaults for every tunnel (RFC 2661 §5.8 reliable delivery, §6.5 HELLO). */
export const L2TP = table({
  path: 'l2tp',
  array: false,
  doc: 'Defaults for every tunnel (RFC 2661 §5.8 reliable delivery, §6.5 HELLO).',
  rows: {
    hostName: key('host_name', text, TUNNEL.hostName, 'our Host Name AVP'),
    vendorName: key('vendor_name', optText, TUNNEL.vendorName, 'our Vendor Name AVP; "" = not sent'),
    receiveWindow: key('receive_window', int(1, 65535), TUNING.receiveWindow, 'our Receive Window Size AVP'),
    retransmitInitial: key('retransmit_initial', seconds(0.05, 60), TUNING.retransmitInitial, 'first retransmission interval (minimum-retransmission-interval), doubled per retry'),
    retransmitCap: key('retransmit_cap', seconds(0.05, 3600), TUNING.retransmitCap, 'longest retransmission interval; not less than retransmit_initial'),
    retriesEstablished: key('retries_established', int(1, 100), TUNING.retriesEstablished, 'retransmissions before an established tunnel is torn down'),
    retriesNotEstablished: key('retries_not_established', int(1, 100), TUNING.retriesNotEstablished, 'retransmissions before a tunnel being set up gives up'),
    helloInterval: key('hello_interval', seconds(0, 86400), TUNING.helloInterval, 'HELLO after this much silence; 0 = off (Yamaha: keepalive use on 60 3)'),
    helloMissCount: key('hello_miss_count', int(1, 100), TUNING.helloMissCount, 'HELLO intervals without an answer that end the tunnel (the HELLO is retransmitted meanwhile; then one StopCCN)'),
    idleDisconnect: key('idle_disconnect', secondsOrNever(86400 * 365), undefined, 'close a tunnel this long after its last session'),
    maxOffset: key('max_offset', int(0, 65535), TUNNEL.maxOffset, 'largest data-message Offset Size accepted'),
    dataSequencing: key('data_sequencing', bool, TUNNEL.dataSequencing, 'ask for sequence numbers on data messages (Sequencing Required AVP)'),
  },
  children: ['admission'],
});

/** `[l2tp.admission]`: the SCCRQ flood defence of every listener (src/l2tp AdmissionLimits). */
export const L2TP_ADMISSION = table({
  path: 'l2tp.admission',
  array: false,
  doc: 'Limits on new tunnels, per listener: a tunnel is half-open from the SCCRQ we answer until the SCCCN; an SCCRQ beyond a limit gets no answer (the LAC retransmits it later), so a flood cannot turn us into an amplifier.',
  rows: {
    maxHalfOpen: key('max_half_open', int(1, 65535), DEFAULT_ADMISSION.maxHalfOpen, 'half-open tunnels at once, all peers'),
    maxHalfOpenPerPeer: key('max_half_open_per_peer', int(1, 65535), DEFAULT_ADMISSION.maxHalfOpenPerPeer, 'half-open tunnels at once from one address (any port)'),
    sccrqRate: key('sccrq_rate', int(1, 1_000_000), DEFAULT_ADMISSION.sccrqRate.perSecond, 'new tunnels per second, all peers (token bucket)'),
    sccrqBurst: key('sccrq_burst', int(1, 1_000_000), DEFAULT_ADMISSION.sccrqRate.burst, 'new tunnels accepted at once before sccrq_rate applies'),
  },
});

/** `[[listen]]`: LNS sockets. */
export const LISTEN = table({
  path: 'listen',
  array: true,
  doc: 'LNS listeners (see "Listeners" for the default when there is none).',
  rows: {
    address: key('address', ipAddress, '0.0.0.0', 'IP literal to bind; its family picks udp4 / udp6'),
    port: key('port', port(0), L2TP_PORT, 'UDP port'),
    secret: key('secret', optText, undefined, 'tunnel authentication (RFC 2661 §4.4.3) and hidden AVPs; "" = none', { secret: true }),
    hideAvps: key('hide_avps', bool, false, 'hide AVPs we send (needs a secret)'),
    allowedHosts: key('allowed_hosts', textList, [], 'remote Host Names accepted; empty = any'),
  },
});

/** `[[lac]]`: tunnels we originate. */
export const LAC = table({
  path: 'lac',
  array: true,
  doc: 'Tunnels we originate (see "LAC tunnels").',
  rows: {
    name: key('name', text, '', 'unique name (logs, `l2tpctl dial|hangup NAME`)', { computed: '"lac0", "lac1", ...' }),
    lns: key('lns', ipAddress, '', 'address of the LNS (an IP literal)', { required: 'missing key "lns" (the address of the LNS)' }),
    port: key('port', port(1), L2TP_PORT, "the LNS's UDP port (inside ESP with ipsec = true)"),
    localAddress: key('local_address', optIpAddress, undefined, 'bind address of this tunnel\'s socket (and our IKE address)'),
    secret: key('secret', optText, undefined, 'tunnel authentication and hidden AVPs; "" = none', { secret: true }),
    hideAvps: key('hide_avps', bool, false, 'hide AVPs we send (needs a secret)'),
    sessions: key('sessions', int(0, 1000), 1, 'incoming calls (ICRQ) placed once the tunnel is up'),
    redial: key('redial', bool, true, 'always-on: redial after a loss (1 s doubling to 60 s)'),
  },
  groups: {
    ppp: {
      switch: key('ppp', bool, false, 'client mode: run PPP as the peer and put IP on a local TUN (needs sessions = 1)'),
      rows: {
        username: key('username', text, '', 'our PPP login', { required: 'ppp = true needs "username" (and "password")' }),
        password: key('password', anyText, '', 'our PPP password', { secret: true }),
        tun: key('tun', ifName, '', 'local TUN name', { computed: '"l2tpc<index>"' }),
        tunNetns: key('tun_netns', optNetns, undefined, 'move that TUN into this network namespace first'),
      },
    },
    ipsec: {
      switch: key('ipsec', bool, false, 'L2TP/IPsec client: IKEv1 + ESP to the LNS first, L2TP inside (IPv4 lns only)'),
      rows: {
        psk: key('psk', psk, '', "the server's pre-shared key", { required: 'ipsec = true needs "psk" (the pre-shared key of the L2TP/IPsec server)', secret: true }),
        ikeProposals: key('ike_proposals', ikeProposals, undefined, 'IKE suites we offer, every combination in order (see "Proposals")', { computed: 'built-in offers' }),
        espProposals: key('esp_proposals', espProposals, undefined, 'ESP suites we offer; a group = PFS with it (one group only)', { computed: 'built-in offers' }),
        sha256_96: key('sha256_96', bool, false, '96-bit HMAC-SHA-256 ICVs (a server with the Android quirk)'),
        forceEncapsulation: key('force_encapsulation', bool, false, 'ESP in UDP 4500 even without a NAT (strongSwan forceencaps)'),
        ikePort: key('ike_port', port(0), IKE_PORT, 'our IKE port; must not collide with [ipsec]'),
        nattPort: key('natt_port', port(0), NATT_PORT, 'our NAT-T port'),
        lnsIkePort: key('lns_ike_port', port(1), IKE_PORT, "the server's IKE port"),
        lnsNattPort: key('lns_natt_port', port(1), NATT_PORT, "the server's NAT-T port"),
        rawEsp: key('raw_esp', bool, true, 'raw ESP socket (IP protocol 50, CAP_NET_RAW) when there is no NAT'),
        dpdInterval: key('dpd_interval', seconds(0, 3600), DPD_INTERVAL, 'RFC 3706 DPD towards the server; 0 = off'),
        dpdTimeout: key('dpd_timeout', seconds(1, 3600), DPD_TIMEOUT, 'the server is dead after this much silence'),
        ikeLifetime: key('ike_lifetime', int(30, 86400), 28800, 'IKE SA lifetime we propose (seconds); re-authenticated at 90 %'),
        childLifetime: key('child_lifetime', int(30, 86400), 3600, 'ESP SA lifetime we propose (seconds); rekeyed at 90 %'),
      },
    },
  },
});

/** `[ppp]`: remote-access PPP termination on the first listener. */
export const PPP = table({
  path: 'ppp',
  array: false,
  doc: 'Remote access: PPP terminated on the first [[listen]]; on for every LNS (any listener) unless `enabled = false`.',
  enabled: key('enabled', bool, true, 'false = no PPP termination: the LNS carries plain L2TP sessions'),
  rows: {
    auth: key(
      'auth',
      distinctOf<PppAuthName>(['mschapv2', 'chap', 'pap'], 'expected a list of distinct "mschapv2", "chap", "pap" (empty = no authentication)'),
      ACCESS_SERVER_DEFAULTS.auth.map((a) => CONFIG_AUTH[a] ?? 'pap'),
      'demanded, in order ("chap" = CHAP-MD5); [] = none',
    ),
    mru: key('mru', int(576, 16384), ACCESS_SERVER_DEFAULTS.mru, 'MRU we announce (LCP)'),
    echoInterval: key('echo_interval', seconds(0, 3600), ACCESS_SERVER_DEFAULTS.echoInterval, 'LCP echo interval; 0 = off'),
    echoFailure: key('echo_failure', int(1, 100), ACCESS_SERVER_DEFAULTS.echoFailure, 'unanswered echoes that end the session'),
    echoRate: key('echo_rate', int(0, 1_000_000), ACCESS_SERVER_DEFAULTS.echoRate, 'most LCP Echo-Requests per second over all sessions (more wait for the next 10 ms window); 0 = unpaced'),
    dns: key('dns', optional(ipv4List), undefined, 'IPCP DNS servers (RFC 1877), at most 2 used; [] = none', { computed: "the host's IPv4 resolvers in /etc/resolv.conf (loopback stubs skipped)" }),
    nbns: key('nbns', ipv4List, [], 'IPCP NBNS (WINS) servers'),
    forceLcpRenegotiation: key('force_lcp_renegotiation', bool, false, "ignore the LAC's proxy LCP / authentication AVPs and negotiate afresh"),
    allowInsecure: key('allow_insecure', bool, false, 'accept PAP/CHAP/MS-CHAPv2 logins over L2TP outside IPsec on a non-loopback listener (refused otherwise: see "Secure defaults")'),
  },
});

/** `[pool]`: client addresses. */
export const POOL = table({
  path: 'pool',
  array: false,
  doc: 'Client addresses.',
  children: ['named'],
  rows: {
    ipv4Pool: key('ipv4', ipv4Pool, DEFAULT_POOL.value, 'client addresses; network, broadcast and local_address are never given out'),
    local: key('local', bool, true, 'false = no local pool (a stateless node, docs/SCALE-OUT.md): every address comes from the RADIUS Access-Accept (Framed-IP-Address, e.g. FreeRADIUS sqlippool) and gets a /32 on the TUN; a session whose Accept names none is refused (no-address); needs local_address, no ipv4'),
    localAddress: key('local_address', optional(ipv4Address), undefined, "the LNS's PPP address; inside ipv4", { computed: 'the first host of ipv4' }),
    ipv6Prefix: key('ipv6_prefix', optIpv6Prefix, undefined, 'IPV6CP + Router Advertisement with one /64 per session, e.g. "2001:db8:100::/56"'),
    leaseHold: key(
      'lease_hold',
      seconds(0, 86400),
      LEASE_HOLD,
      'after a crash (no clean stop), the leases in state_dir/leases.journal stay held this long for their users (a live client may still use its address); 0 = no journal',
    ),
  },
});

/** `[users]`. */
export const USERS = table({
  path: 'users',
  array: false,
  doc: 'Who may log in.',
  rows: {
    usersFile: key('file', optText, undefined, '"username password [static-ipv4]" per line, re-read on SIGHUP and after `l2tpctl user add`', { computed: 'state_dir/users, created with one generated login' }),
  },
});

/** `[tun]`. */
export const TUN = table({
  path: 'tun',
  array: false,
  doc: 'The one TUN every session shares.',
  rows: {
    tunName: key('name', ifName, 'l2tp0', 'interface name'),
    mtu: key('mtu', optional(int(576, 16384)), undefined, "MTU; packets above a client's MRU get ICMP too-big or are fragmented", { computed: 'ppp.mru' }),
    mssClamp: key('mss_clamp', bool, ACCESS_SERVER_DEFAULTS.mssClamp, 'clamp TCP MSS on SYNs both ways to the session MTU'),
    txqueuelen: key('txqueuelen', int(0, 1_000_000), DEFAULT_TUN_TXQUEUELEN, 'transmit queue of the TUN in packets (the kernel default of 500 drops bursts toward clients); 0 = leave as is'),
    tunNetns: key('netns', optNetns, undefined, 'move the TUN into this network namespace before configuring it'),
    hostRoutes: key('host_routes', bool, false, 'a /32 route on the TUN for every session, also inside the pool (for FRR redistribute kernel, docs/SCALE-OUT.md); addresses outside every pool always get one'),
    routeProtocol: key('route_protocol', optional(int(1, 255)), undefined, 'the kernel route protocol number (ip route ... proto N) of the per-session routes, so a routing daemon can tell them apart', { computed: 'ip\'s default ("boot")' }),
  },
});

/** `[ipsec]`: L2TP/IPsec on the first IPv4 listener. */
export const IPSEC = table({
  path: 'ipsec',
  array: false,
  doc: 'L2TP/IPsec (IKEv1 PSK, transport-mode ESP) on the first IPv4 [[listen]]; on for every LNS unless `enabled = false`.',
  enabled: key('enabled', bool, true, 'false = no IPsec: L2TP in the clear (PPP logins then need a loopback listener or [ppp] allow_insecure)'),
  children: ['peer'],
  rows: {
    psk: key('psk', optional(psk), undefined, 'pre-shared key for any client without a [[ipsec.peer]] entry', { secret: true, computed: 'generated once and kept in state_dir/credentials.json (none when [[ipsec.peer]] entries are given)' }),
    requireIpsec: key('require_ipsec', bool, true, 'refuse (count, log once per peer) L2TP that arrives outside IPsec'),
    localAddress: key('local_address', optional(ipv4Text), undefined, 'our address as clients see it (NAT-D, IDs); set it when the listener is 0.0.0.0 on a host with several addresses', { computed: 'the listener address' }),
    ikePort: key('ike_port', port(0), IKE_PORT, 'IKE port'),
    nattPort: key('natt_port', port(0), NATT_PORT, 'NAT-T port; differs from ike_port'),
    rawEsp: key('raw_esp', bool, true, 'raw ESP socket (CAP_NET_RAW); without it only clients behind a NAT (ESP in UDP 4500) work'),
    ikeLifetime: key('ike_lifetime', int(60, 86400 * 7), DEFAULT_POLICY.phase1.maxLifetimeSeconds, 'upper bound (seconds) on the IKE SA lifetime a client proposes'),
    childLifetime: key('child_lifetime', int(60, 86400), DEFAULT_POLICY.phase2.maxLifetimeSeconds, 'upper bound (seconds) on the ESP SA lifetime a client proposes'),
    childLifetimeKb: key('child_lifetime_kb', int(0, 2 ** 31 - 1), 0, 'upper bound (kilobytes, RFC 2407 life type 2) on ESP SA volume, also when the client proposes none; 0 = none'),
    dpdInterval: key('dpd_interval', seconds(0, 3600), DPD_INTERVAL, 'RFC 3706 dead-peer detection; 0 = off'),
    dpdTimeout: key('dpd_timeout', seconds(1, 3600), DPD_TIMEOUT, 'a client is dead after this much silence'),
    closeGrace: key('close_grace', seconds(0, 3600), secondsOf(5), "between a client's last L2TP tunnel closing and deleting its ESP SA"),
    ikeProposals: key('ike_proposals', ikeProposals, undefined, 'accepted IKE (phase 1) suites (see "Proposals")', { computed: 'built-in policy' }),
    espProposals: key('esp_proposals', espProposals, undefined, 'accepted ESP (phase 2) suites', { computed: 'built-in policy' }),
    sha256_96: key('sha256_96', bool, false, 'HMAC-SHA-256 ESP ICV truncated to 96 bits for every client (Android quirk)'),
  },
});

/** `[[ipsec.peer]]`: a PSK per client address (Main Mode picks the key by address). */
export const IPSEC_PEER = table({
  path: 'ipsec.peer',
  array: true,
  doc: 'A pre-shared key for one client address (Main Mode chooses the key by address).',
  rows: {
    address: key('address', ipv4Text, '0.0.0.0', 'the client as we see it', { required: 'missing key "address"' }),
    psk: key('psk', psk, '', "that client's pre-shared key", { required: 'missing key "psk"', secret: true }),
    sha256_96: key('sha256_96', bool, false, 'the Android SHA-256/96 quirk for this client only', { computed: '[ipsec] sha256_96' }),
  },
});

/** `[status]`: the read-only status web page (src/daemon/status-page/). */
export const STATUS = table({
  path: 'status',
  array: false,
  doc: 'A read-only status web page: tunnels, sessions, IPsec SAs and live rates (docs/STATUS.md). Off unless `listen` is set.',
  rows: {
    listen: key('listen', optHostPort, undefined, 'serve the page on this address, e.g. "127.0.0.1:8080"; "" = off'),
    token: key('token', optional(statusToken), undefined, 'the token that opens the page (16+ characters); none = a random one per start, shown by `l2tpctl status-page`', { secret: true }),
    allowRemote: key('allow_remote', bool, false, 'allow a listen address other than loopback (the page shows user names and addresses and has no TLS)'),
    maxRows: key('max_rows', int(10, 10000), 200, 'at most this many tunnels and sessions in one JSON answer (the totals always count all)'),
  },
});

/** `[dataplane]`: how data packets move (issue 16). */
export const DATAPLANE = table({
  path: 'dataplane',
  array: false,
  doc: 'The data plane of the LNS: the native fast path of the addon, or every packet through JavaScript.',
  rows: {
    fastPath: key('fast_path', bool, true, 'forward plain IPv4 and IPv6 (the session /64) data of established L2TPv2 sessions (UDP <-> TUN) in the native addon; control, LCP/NCP, link-local IPv6, sequenced data and anything unusual still go through JavaScript. The same switch moves the Ethernet frames of `[[l2tpv3_static]]` and `[l2tpv3]` (not over IPsec) pseudowires without sequencing or MSS clamp (TAP <-> UDP / IP) into the addon. Off, or when the addon cannot do it (logged at start), every packet takes the JavaScript path; L2TPKIT_FAST_PATH=off in the environment forces it off'),
    fastPathEsp: key('fast_path_esp', bool, true, 'with fast_path and [ipsec]: ESP-in-UDP (NAT-T) data of established L2TP/IPsec sessions is opened and sealed in the addon too (AES-GCM-16, AES-CBC with HMAC-SHA1-96 / HMAC-SHA256-128; raw ESP, 3DES, other MACs and SAs with a kilobyte lifetime stay in JavaScript); an offloaded SA keeps its one sequence counter and replay window in the addon, and JavaScript\'s own ESP on it goes through the addon. Off: ESP stays in JavaScript (and IPsec sessions are not offloaded)'),
    keepaliveOffload: key('keepalive_offload', bool, true, 'with fast_path and data threads: the LCP keepalive (Echo-Request every [ppp] echo_interval, adaptive, jittered; RFC 1661 §5.8) of a session installed in the fast path runs on its data thread, which also answers the peer\'s Echo-Requests and consumes the Echo-Replies; after echo_failure unanswered requests JavaScript ends the session as its own echo-timeout does. Off, or without data threads: the JavaScript keepalive runs for every session'),
    threads: key('threads', int(0, 16), 0, 'data threads of the fast path: each has its own SO_REUSEPORT socket on the first listener and its own queue of the multi-queue TUN, sessions are pinned to one by Session ID (UDP, classic BPF) and by destination (TUN, eBPF steering); the JavaScript thread keeps control and exceptions. 0 = one per core (os.availableParallelism(), at most 16); when the threads cannot start (logged), the data moves on the JavaScript thread. A thread\'s TUN writes go in batches through io_uring (its reads too with L2TPKIT_TUN_IO=io_uring) and runs of a session\'s equal-size datagrams out as UDP GSO; L2TPKIT_TUN_IO=syscall and L2TPKIT_UDP_GSO=off in the environment force one write() per packet and one datagram per message (a kernel that refuses either falls back by itself: status fastPath.tunIo / udpGso)'),
  },
});

/** Every table, in file and docs order. */
export const SCHEMA: readonly TableSpec[] = [
  DAEMON, L2TP, L2TP_ADMISSION, LISTEN, LAC, PPP, POOL, POOL_NAMED, USERS, TUN, PPPOE, IPSEC, IPSEC_PEER, STATUS, DATAPLANE, RADIUS, RADIUS_SERVER, RADIUS_DAE, RADIUS_DAE_CLIENT, L2TPV3, L2TPV3_PSEUDOWIRE, L2TPV3_STATIC, SNMP,
  TUNNEL_SELECT, TUNNEL_SELECT_DOMAIN, TUNNEL_SELECT_PROFILE, TUNNEL_SELECT_DESTINATION,
];

export { POOL_NAMED, RADIUS, RADIUS_DAE, RADIUS_DAE_CLIENT, RADIUS_SERVER } from './schema-radius.js';
export { PPPOE, PPPOE_COOKIE_FILE } from './schema-pppoe.js';
export { L2TPV3, L2TPV3_PSEUDOWIRE } from './schema-l2tpv3.js';
export { L2TPV3_STATIC } from './schema-l2tpv3-static.js';
export { TUNNEL_SELECT, TUNNEL_SELECT_DESTINATION, TUNNEL_SELECT_DOMAIN, TUNNEL_SELECT_PROFILE } from './schema-selection.js';
