/**
 * The LAC tunnel selection part of the l2tpd.toml schema (issue 14 item 4, src/access/selection):
 * `[tunnel_select]` (our socket and identity, the default target, RADIUS tunnel attributes, the
 * settings of destinations that only RADIUS names), `[[tunnel_select.domain]]` (realm -> profile,
 * local termination or reject), `[[tunnel_select.profile]]` (load balancing, failover, dead time,
 * sessions per tunnel, secret) and `[[tunnel_select.destination]]` (one LNS of a profile: address,
 * preference, max sessions). `[[pppoe]] tunnel_select = true` switches an AC's sessions through it.
 */
import { seconds as secondsOf } from '../../base/index.js';
import { key, table } from './table.js';
import { bool, int, ipAddress, oneOf, optional, optText, port, seconds, secondsOrNever, text } from './values.js';

const BALANCING = oneOf<'round-robin' | 'weighted'>(['round-robin', 'weighted'], 'expected "round-robin" or "weighted"');

/** Settings a profile gives its destinations (and `[tunnel_select]` gives RADIUS-only destinations). */
const PROFILE_SETTINGS = {
  loadBalancing: key('load_balancing', BALANCING, 'round-robin', 'how a destination is picked among the live ones of one preference level: in turn, or weighted by max_sessions (lowest (sessions + 1) / max_sessions)'),
  failoverWithinPreference: key('failover_within_preference', bool, false, 'after a failure try the other destinations of the same preference before the next preference'),
  deadTime: key('dead_time', seconds(1, 86400), secondsOf(300), 'a destination whose tunnel failed (SCCRQ timeout, StopCCN) is skipped this long'),
  maxSessionsPerTunnel: key('max_sessions_per_tunnel', optional(int(1, 65535)), undefined, 'sessions per tunnel; one more opens another tunnel to the same destination; none = unlimited'),
  secret: key('secret', optText, undefined, 'tunnel secret (RFC 2661 §4.4.3) unless the destination or the Access-Accept (Tunnel-Password) gives one; none = no tunnel auth', { secret: true }),
  hostName: key('host_name', optText, undefined, 'our Host Name in SCCRQ unless the destination or Tunnel-Client-Auth-ID gives one', { computed: '[tunnel_select] host_name' }),
};

/** `[tunnel_select]`. */
export const TUNNEL_SELECT = table({
  path: 'tunnel_select',
  array: false,
  doc: 'LAC tunnel selection for [[pppoe]] tunnel_select = true: the realm of user@realm (domain map) or the tagged RFC 2868 tunnel attributes of the RADIUS Access-Accept pick the LNS; preference levels, load balancing, failover, dead destinations, tunnel sharing. On when present.',
  enabled: key('enabled', bool, true, 'false = off'),
  children: ['domain', 'profile', 'destination'],
  rows: {
    localAddress: key('local_address', ipAddress, '0.0.0.0', 'source address of the tunnels (one UDP socket, any port)'),
    hostName: key('host_name', optText, undefined, 'our Host Name AVP in SCCRQ', { computed: 'l2tp.host_name' }),
    default: key('default', text, 'reject', 'where a user without a matching [[tunnel_select.domain]] (or without a realm) goes: "reject", "local" (the access server terminates it: needs [ppp]) or a profile name'),
    delimiter: key('realm_delimiter', text, '@', 'the realm is what follows the last occurrence of this'),
    radius: key('radius', bool, false, 'send an Access-Request ([radius]) for every subscriber: a reject disconnects, tagged tunnel attributes of the Accept (Tunnel-Type 3, Tunnel-Medium-Type 1, Server-Endpoint, Password, Preference, Assignment-Id, Client-/Server-Auth-ID) replace the profile\'s destinations; no answer = the domain map'),
    sccrqRetries: key('sccrq_retries', int(1, 100), 3, 'SCCRQ retransmissions (from l2tp.retransmit_initial, doubling) before a destination counts as dead and the calls fail over: 3 = after 1 + 2 + 4 + 8 = 15 s, well before a subscriber\'s PAP/CHAP gives up (pppd: 30 s)'),
    idleDisconnect: key('idle_disconnect', secondsOrNever(86400), secondsOf(60), 'close a tunnel this long after its last session ended (0 = keep it)'),
    loadBalancing: PROFILE_SETTINGS.loadBalancing,
    failoverWithinPreference: PROFILE_SETTINGS.failoverWithinPreference,
    deadTime: PROFILE_SETTINGS.deadTime,
    maxSessionsPerTunnel: PROFILE_SETTINGS.maxSessionsPerTunnel,
    secret: PROFILE_SETTINGS.secret,
  },
});

/** `[[tunnel_select.domain]]`. */
export const TUNNEL_SELECT_DOMAIN = table({
  path: 'tunnel_select.domain',
  array: true,
  doc: 'One domain map row: users of this realm go to a profile, are terminated here, or are rejected.',
  rows: {
    realm: key('realm', text, '', 'the realm (case-insensitive)', { required: 'missing key "realm"' }),
    target: key('target', text, '', '"local", "reject" or the name of a [[tunnel_select.profile]]', { required: 'missing key "target" ("local", "reject" or a profile name)' }),
    stripRealm: key('strip_realm', bool, false, 'hand the LNS (proxy authentication) or the local authenticator only "user", not "user@realm"'),
  },
});

/** `[[tunnel_select.profile]]`. */
export const TUNNEL_SELECT_PROFILE = table({
  path: 'tunnel_select.profile',
  array: true,
  doc: 'A tunnel profile: its destinations are the [[tunnel_select.destination]] entries that name it (1 to 31, on at most 8 preference values).',
  rows: {
    name: key('name', text, '', 'the name domain rows use', { required: 'missing key "name"' }),
    ...PROFILE_SETTINGS,
  },
});

/** `[[tunnel_select.destination]]`. */
export const TUNNEL_SELECT_DESTINATION = table({
  path: 'tunnel_select.destination',
  array: true,
  doc: 'One LNS of a profile.',
  rows: {
    profile: key('profile', text, '', 'the [[tunnel_select.profile]] it belongs to', { required: 'missing key "profile"' }),
    address: key('address', ipAddress, '', 'the LNS address (IPv4)', { required: 'missing key "address"' }),
    port: key('port', port(1), 1701, 'the LNS UDP port'),
    preference: key('preference', int(0, 0xffffff), 0, 'lower is preferred (RFC 2868 §3.8); distinct values are the levels'),
    maxSessions: key('max_sessions', optional(int(1, 1_000_000)), undefined, 'most sessions here; also the weight of weighted load balancing; none = unlimited (weight 1)'),
    secret: key('secret', optText, undefined, 'tunnel secret of this LNS', { secret: true, computed: 'the profile\'s' }),
    hostName: key('host_name', optText, undefined, 'our Host Name towards this LNS', { computed: 'the profile\'s' }),
    remoteHostName: key('remote_host_name', optText, undefined, 'the Host Name this LNS must answer with (SCCRP); none = any'),
    assignmentId: key('assignment_id', optText, undefined, 'Tunnel-Assignment-Id (RFC 2868 §3.7): sessions with the same id share a tunnel'),
  },
});
