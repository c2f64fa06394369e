/**
 * The static L2TPv3 part of the l2tpd.toml schema: `[[l2tpv3_static]]`, one Ethernet pseudowire
 * without a control connection (RFC 3931 §4 data messages only, RFC 4719 Ethernet), the keys named
 * and defaulted as Linux `ip l2tp add tunnel ... session ...` (l2tp_eth) names them, so one end can
 * be a Linux kernel. Each entry has its own TAP and its own socket (UDP, or a raw IP-protocol-115
 * socket); docs/L2TPV3.md "Static pseudowires vs ip l2tp" maps every key to the far end's.
 */
import { err, ok } from '../../base/index.js';
import { key, table } from './table.js';
import { int, ipv4Text, oneOf, optional, optText, port, text, type ValueType } from './values.js';

/** The L2TPv3 UDP port Linux `ip l2tp` defaults to (udp_sport / udp_dport). */
const V3_UDP_PORT = 1701;

/** §4.1: a cookie is 0, 4 or 8 bytes; written as 8 or 16 hex digits ("" = none), as `ip l2tp ... cookie`. */
export const cookieHex: ValueType<string | undefined> = {
  name: 'hex string of 8 or 16 digits ("" = none)',
  parse: (v) => {
    if (typeof v !== 'string') return err('expected a string of hex digits');
    if (v === '') return ok(undefined);
    if (!/^[0-9a-fA-F]*$/.test(v)) return err('expected hex digits (0-9, a-f)');
    if (v.length !== 8 && v.length !== 16) return err(`a cookie is 4 or 8 bytes (8 or 16 hex digits), got ${v.length} digit(s) (§4.1)`);
    return ok(v.toLowerCase());
  },
  format: (v) => JSON.stringify(v ?? ''),
};

/** A 32-bit L2TPv3 Tunnel or Session ID (0 is reserved, §4.1 / §5.4.4). */
const id32 = int(1, 0xffffffff);

/** `[[l2tpv3_static]]`. */
export const L2TPV3_STATIC = table({
  path: 'l2tpv3_static',
  array: true,
  doc: 'A static L2TPv3 Ethernet pseudowire (no control connection, no HELLO), the counterpart of Linux `ip l2tp add tunnel` + `ip l2tp add session`: its own TAP and its own socket (UDP, or raw IP protocol 115). Mirror every value at the far end (our `local` is its `remote`, our `session_id` its `peer_session_id`, our `cookie` its `peer_cookie`).',
  rows: {
    name: key('name', text, '', 'unique name (logs, show status, metrics)', { required: 'missing key "name" (the pseudowire name)' }),
    tap: key('tap', optText, undefined, 'TAP device name (`ip l2tp add session name`)', { computed: 'chosen by the kernel' }),
    bridge: key('bridge', optText, undefined, 'Linux bridge the TAP joins'),
    mtu: key('mtu', int(576, 9000), 1500, 'TAP MTU (the outer packet fragments above the path MTU minus the overhead)'),
    encap: key('encap', oneOf<'udp' | 'ip'>(['udp', 'ip'], 'expected "udp" or "ip"'), 'udp', '`encap`: UDP (§4.1.2.1) or IP protocol 115 (§4.1.1.1, a raw socket, CAP_NET_RAW)'),
    local: key('local', ipv4Text, '0.0.0.0', '`local`: our IPv4 address (bound)', { required: 'missing key "local" (our IPv4 address)' }),
    remote: key('remote', ipv4Text, '0.0.0.0', "`remote`: the peer's IPv4 address; datagrams from any other source are dropped", { required: 'missing key "remote" (the peer\'s IPv4 address)' }),
    udpSport: key('udp_sport', port(1), V3_UDP_PORT, '`udp_sport`: our UDP port (encap "udp")'),
    udpDport: key('udp_dport', port(1), V3_UDP_PORT, "`udp_dport`: the peer's UDP port; datagrams from another port are dropped (encap \"udp\")"),
    tunnelId: key('tunnel_id', id32, 0, '`tunnel_id` (not on the wire for data messages; shown)', { required: 'missing key "tunnel_id"' }),
    peerTunnelId: key('peer_tunnel_id', id32, 0, '`peer_tunnel_id` (shown)', { required: 'missing key "peer_tunnel_id"' }),
    sessionId: key('session_id', id32, 0, '`session_id`: ours, carried by the data we receive', { required: 'missing key "session_id"' }),
    peerSessionId: key('peer_session_id', id32, 0, '`peer_session_id`: the peer\'s, carried by the data we send', { required: 'missing key "peer_session_id"' }),
    cookie: key('cookie', cookieHex, undefined, '`cookie`: the cookie we send (the peer\'s `peer_cookie`); guards against blind insertion (§8.2), so print-config masks it', { secret: true }),
    peerCookie: key('peer_cookie', cookieHex, undefined, '`peer_cookie`: the cookie we require on every data message (the peer\'s `cookie`)', { secret: true }),
    l2specType: key('l2spec_type', oneOf<'none' | 'default'>(['none', 'default'], 'expected "none" or "default"'), 'default', '`l2spec_type`: the L2-Specific Sublayer (§4.6), as Linux'),
    seq: key('seq', oneOf<'none' | 'send' | 'recv' | 'both'>(['none', 'send', 'recv', 'both'], 'expected "none", "send", "recv" or "both"'), 'none', '`seq`: send sequence numbers, require them, or both (needs l2spec_type "default")'),
    pwType: key('pw_type', oneOf<'ethernet' | 'ethernet-vlan'>(['ethernet', 'ethernet-vlan'], 'expected "ethernet" or "ethernet-vlan"'), 'ethernet', 'RFC 4719 PW type: 5 Ethernet (port), 4 Ethernet VLAN (both carry the frame as it is)'),
    mssClamp: key('mss_clamp', optional(int(536, 9000)), undefined, 'clamp the MSS of TCP SYNs crossing the pseudowire'),
  },
});
