/**
 * The dynamic L2TPv3 part of the l2tpd.toml schema (RFC 3931 control connections carrying RFC 4719
 * Ethernet pseudowires bridged to TAPs): `[l2tpv3]` (the listener, our identity, tunnel auth,
 * keepalive, always-on backoff) and `[[l2tpv3.pseudowire]]` (one per pseudowire: its Remote End ID,
 * its peer, or none for the public side that learns the peer behind a NAT, its TAP and bridge, and
 * overrides of the peer profile). Defaults that differ per peer family come from the profile
 * (`V3_PEER_PROFILES`, src/l2tp/v3-profiles.ts).
 */
import { seconds as secondsOf } from '../../base/index.js';
import { V3_PEER_PROFILES } from '../../l2tp/index.js';
import { key, table } from './table.js';
import { bool, hostPort, int, ipv4Text, oneOf, optHostPort, optional, optText, port, psk, seconds, secondsOrNever, sharedSecret, text } from './values.js';

/** `[l2tpv3] profile`. */
export type V3ProfileKey = keyof typeof V3_PEER_PROFILES;
const PROFILES = Object.keys(V3_PEER_PROFILES) as V3ProfileKey[];

/** `[l2tpv3]`. */
export const L2TPV3 = table({
  path: 'l2tpv3',
  array: false,
  doc: 'Dynamic L2TPv3 Ethernet pseudowires (RFC 3931, RFC 4719) on their own UDP socket; on when present. Control and data share the socket, so a NAT keeps one binding for both.',
  enabled: key('enabled', bool, true, 'false = no L2TPv3'),
  children: ['pseudowire'],
  rows: {
    listen: key('listen', hostPort, { host: '0.0.0.0', port: 1701 }, 'UDP address and port (must differ from every [[listen]]; Yamaha peers need port 1701)'),
    encapsulation: key('encapsulation', optional(oneOf<'udp' | 'ip'>(['udp', 'ip'], 'expected "udp" or "ip"')), undefined, 'UDP (§4.1.2, through NATs) or IP protocol 115 (§4.1.1, a raw socket; the port of listen and peer is then unused)', {
      computed: 'the profile (linux, yamaha: udp; cisco: ip)',
    }),
    hostName: key('host_name', optText, undefined, 'our Host Name AVP (§5.4.3)', { computed: 'l2tp.host_name' }),
    routerId: key('router_id', optional(ipv4Text), undefined, 'our Router ID AVP (§5.4.3) as a dotted quad', { computed: 'the listen address; required when it is 0.0.0.0' }),
    profile: key('profile', oneOf<V3ProfileKey>(PROFILES, `expected one of ${PROFILES.join(', ')}`), 'linux', 'peer family whose defaults apply (cookie, sublayer, auth, keepalive); every field below overrides it'),
    secret: key('secret', optional(sharedSecret), undefined, 'shared secret of the tunnel authentication; none = no tunnel auth', { secret: true }),
    messageDigest: key('message_digest', optional(oneOf<'md5' | 'sha1' | 'none'>(['md5', 'sha1', 'none'], 'expected "md5", "sha1" or "none"')), undefined, 'Control Message Authentication (§4.3) on every message', {
      computed: 'the profile (linux, cisco: md5; yamaha: none)',
    }),
    challenge: key('challenge', optional(bool), undefined, 'the Challenge / Challenge Response tunnel auth of some vendors', { computed: 'the profile (yamaha: true)' }),
    keepaliveInterval: key('keepalive_interval', optional(seconds(1, 3600)), undefined, 'HELLO after this much silence (Yamaha `l2tp keepalive use on 60 3`: 60)', { computed: 'the profile (60 s)' }),
    keepaliveCount: key('keepalive_count', optional(int(1, 100)), undefined, 'unanswered HELLO intervals that end the connection (3)', { computed: 'the profile (3)' }),
    redialInitial: key('redial_initial', seconds(0.1, 3600), secondsOf(1), 'always-on: first redial delay after a connection ended (doubling)'),
    redialMax: key('redial_max', seconds(1, 86400), secondsOf(60), 'always-on: the longest redial delay'),
    disconnectTime: key('disconnect_time', secondsOrNever(86400), undefined, 'close a connection this long after its last session ended (Yamaha `l2tp tunnel disconnect time off` = never)'),
  },
  groups: {
    ipsec: {
      switch: key('ipsec', bool, false, 'L2TPv3 over IPsec (Yamaha RTX / Cisco L2TPv3/IPsec): IKEv1 + transport-mode ESP around all v3 traffic (UDP or IP protocol 115); IPv4 only'),
      rows: {
        psk: key('psk', psk, '', 'the pre-shared key (both ends; the responder uses it for every peer)', { required: 'ipsec = true needs "psk" (the IKE pre-shared key)', secret: true }),
        requireIpsec: key('require_ipsec', bool, true, 'refuse L2TPv3 that arrives outside IPsec (false only while migrating a peer)'),
        forceEncapsulation: key('force_encapsulation', bool, false, 'initiator: ESP in UDP 4500 even without a NAT'),
        rawEsp: key('raw_esp', bool, true, 'raw ESP socket (IP protocol 50, CAP_NET_RAW) when there is no NAT'),
        ikePort: key('ike_port', port(0), 500, 'our IKE port; must not collide with [ipsec] or an IPsec [[lac]]'),
        nattPort: key('natt_port', port(0), 4500, 'our NAT-T port'),
        peerIkePort: key('peer_ike_port', port(1), 500, "initiator: the peer's IKE port"),
        peerNattPort: key('peer_natt_port', port(1), 4500, "initiator: the peer's NAT-T port"),
      },
    },
  },
});

/** `[[l2tpv3.pseudowire]]`. */
export const L2TPV3_PSEUDOWIRE = table({
  path: 'l2tpv3.pseudowire',
  array: true,
  doc: 'One Ethernet pseudowire bridged to a TAP. With `peer` we dial it always-on; without, the peer dials us (the public side of a NAT): it is accepted when its host name / router id and the tunnel auth match, and its address is learned from authenticated control traffic only.',
  rows: {
    name: key('name', text, '', 'unique name (logs, show status, metrics)', { required: 'missing key "name" (the pseudowire name)' }),
    remoteEndId: key('remote_end_id', optText, undefined, 'Remote End ID AVP (§5.4.4) naming the pseudowire at both ends', { computed: 'name' }),
    peer: key('peer', optHostPort, undefined, '"ADDRESS:PORT" of the peer we dial; "" or absent = accept the peer instead'),
    peerHostName: key('peer_host_name', optText, undefined, 'accept (or expect) only a peer with this Host Name'),
    peerRouterId: key('peer_router_id', optional(ipv4Text), undefined, 'accept only a peer with this Router ID'),
    tap: key('tap', optText, undefined, 'TAP device name', { computed: 'chosen by the kernel' }),
    bridge: key('bridge', optText, undefined, 'Linux bridge the TAP joins (`bridge member bridge1 lan1 tunnel1`)'),
    mtu: key('mtu', int(576, 9000), 1500, 'TAP MTU; 1500-byte frames make the outer packet fragment (see "Overhead" above)'),
    cookieLength: key('cookie_length', optional(int(0, 8)), undefined, 'length of the cookie we assign (the peer sends it to us): 0, 4 or 8', { computed: 'the profile' }),
    sublayer: key('sublayer', optional(oneOf<'none' | 'default'>(['none', 'default'], 'expected "none" or "default"')), undefined, 'L2-Specific Sublayer we propose (§4.6)', { computed: 'the profile' }),
    sequencing: key('sequencing', optional(bool), undefined, 'ask the peer to sequence its data (needs sublayer "default")', { computed: 'the profile (false)' }),
    pwType: key('pw_type', oneOf<'ethernet' | 'ethernet-vlan'>(['ethernet', 'ethernet-vlan'], 'expected "ethernet" or "ethernet-vlan"'), 'ethernet', 'RFC 4719 PW type: 5 Ethernet (port), 4 Ethernet VLAN'),
    mssClamp: key('mss_clamp', optional(int(536, 9000)), undefined, 'clamp the MSS of TCP SYNs crossing the pseudowire (Yamaha `ip tunnel tcp mss limit`)'),
    call: key('call', oneOf<'incoming' | 'outgoing'>(['incoming', 'outgoing'], 'expected "incoming" or "outgoing"'), 'incoming', 'with `peer`: place the session as an incoming call (ICRQ, RFC 3931 §3.4.1) or an outgoing call (OCRQ, §3.4.2); both are always accepted'),
  },
});
