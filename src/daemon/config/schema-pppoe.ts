/**
 * The PPPoE part of the l2tpd.toml schema: `[[pppoe]]`, one access concentrator (RFC 2516) per
 * Ethernet interface (or VLAN of it) whose sessions the LNS's access server terminates locally
 * (BRAS mode: the pool, users file / RADIUS and TUN of `[ppp]`). Defaults are the AC core's.
 */
import { seconds as secondsOf } from '../../base/index.js';
import { key, table } from './table.js';
import { bool, ifName, int, optional, optNetns, optText, seconds, text, textList } from './values.js';

/** The AC-Cookie key's file name in the state directory unless `cookie_secret` is set. */
export const PPPOE_COOKIE_FILE = 'pppoe-cookie.key';

/** `[[pppoe]]`. */
export const PPPOE = table({
  path: 'pppoe',
  array: true,
  doc: 'PPPoE access concentrators (RFC 2516) whose sessions are terminated here like L2TP sessions (BRAS mode; needs PPP termination: [ppp] and a [[listen]]).',
  rows: {
    interface: key('interface', ifName, '', 'the Ethernet interface (AF_PACKET, ethertypes 0x8863/0x8864; needs CAP_NET_RAW)', { required: 'missing key "interface" (the Ethernet interface PPPoE clients are on)' }),
    netns: key('netns', optNetns, undefined, 'open the interface inside this network namespace'),
    vlan: key('vlan', optional(int(1, 4094)), undefined, '802.1Q VLAN id this AC serves; none = untagged frames'),
    acName: key('ac_name', text, 'l2tpkit', 'AC-Name in PADO'),
    serviceNames: key('service_names', textList, [], 'Service-Names offered (a PADI for another is not answered); [] = any name'),
    cookieSecret: key('cookie_secret', optText, undefined, 'key of the AC-Cookie HMAC (a PADR without our cookie is dropped)', {
      secret: true,
      computed: `32 random bytes generated once into "${PPPOE_COOKIE_FILE}" in [daemon] state_dir`,
    }),
    cookieRotation: key('cookie_rotation', seconds(10, 86400), secondsOf(300), 'a cookie is valid for one to two of these'),
    maxPayload: key('max_payload', optional(int(1280, 9000)), undefined, 'RFC 4638 PPP-Max-Payload we agree to up to', { computed: 'the interface MTU - 8' }),
    maxSessions: key('max_sessions', int(1, 65534), 65534, 'sessions on this interface'),
    maxSessionsPerMac: key('max_sessions_per_mac', int(1, 65534), 4, 'sessions per client MAC'),
    discoveryRate: key('discovery_rate', int(1, 1_000_000), 500, 'PADI + PADR per second from all clients (burst twice that)'),
    lac: key('lac', optText, undefined, 'LAC switching: LCP and CHAP/PAP with the subscriber here, then the call goes with proxy LCP/authentication AVPs into the tunnel of this [[lac]] (its name); "" = terminate locally'),
    tunnelSelect: key('tunnel_select', bool, false, 'LAC switching into the tunnel [tunnel_select] picks per subscriber (domain map, RADIUS tunnel attributes, failover); instead of lac'),
    discoveryRatePerMac: key('discovery_rate_per_mac', int(1, 10_000), 2, 'PADI + PADR per second from one MAC (burst 8)'),
  },
});
