/**
 * The RADIUS part of the l2tpd.toml schema (RFC 2865 / 2866 client, RFC 5176 Dynamic Authorization
 * server) and the named address pools RADIUS Framed-Pool picks from. Defaults come from the cores
 * (`RADIUS_SERVER_DEFAULTS`, `DAE_DEFAULTS`, `RADIUS_PORT`).
 */
import { seconds as secondsOf } from '../../base/index.js';
import { DAE_DEFAULTS, RADIUS_SERVER_DEFAULTS } from '../../aaa/radius/index.js';
import { RADIUS_PORT } from '../../wire/radius/index.js';
import { key, table } from './table.js';
import {
  bool, distinctOf, hostPort, int, ipAddress, ipOrIpv4Prefix, ipv4Pool, optional, optIpAddress, optIpv6Text, optText, ipv4Text, port, seconds, sharedSecret, text,
} from './values.js';

/** Backends of `[radius] auth_order` ("local" = the users file). */
export type AuthOrderName = 'radius' | 'local';
/** `[radius] fallback`: when the next backend is asked. */
export type FallbackName = 'timeout' | 'reject';
/** `[[radius.server]] role`. */
export type RadiusRoleName = 'auth' | 'acct';

/** The accounting spool's file name in the state directory unless `spool` says otherwise. */
export const DEFAULT_RADIUS_SPOOL = 'radius-accounting.spool';

const D = RADIUS_SERVER_DEFAULTS;

/** `[radius]`: the RADIUS client (authentication, accounting) of the LNS. */
export const RADIUS = table({
  path: 'radius',
  array: false,
  doc: 'RADIUS for PPP on the LNS: authentication (RFC 2865), accounting (RFC 2866) with a durable spool, Dynamic Authorization (RFC 5176, [radius.dae]). On when present; needs [ppp] and at least one [[radius.server]].',
  enabled: key('enabled', bool, true, 'false = no RADIUS (the users file decides, no accounting)'),
  children: ['server', 'dae'],
  rows: {
    authOrder: key('auth_order', distinctOf<AuthOrderName>(['radius', 'local'], 'expected a list of distinct "radius", "local"'), ['radius'], 'who decides PPP logins, in order; "local" = the users file'),
    fallback: key(
      'fallback',
      distinctOf<FallbackName>(['timeout', 'reject'], 'expected a list of distinct "timeout", "reject"'),
      ['timeout'],
      'when the next of auth_order is asked: "timeout" = no RADIUS server answered (an unknown local user always falls through), "reject" = after a reject too',
    ),
    nasIdentifier: key('nas_identifier', optText, undefined, 'NAS-Identifier (RFC 2865 §5.32) in every request', { computed: 'l2tp.host_name' }),
    nasIpAddress: key('nas_ip_address', optional(ipv4Text), undefined, 'NAS-IP-Address (RFC 2865 §5.4); also what Disconnect/CoA requests must name', { computed: 'the first [[listen]] address unless 0.0.0.0' }),
    nasIpv6Address: key('nas_ipv6_address', optIpv6Text, undefined, 'NAS-IPv6-Address (RFC 3162 §2.1)'),
    interimInterval: key('interim_interval', seconds(0, 86400), secondsOf(0), 'Interim-Update interval when the Access-Accept has no Acct-Interim-Interval; 0 = none'),
    interimMinimum: key('interim_minimum', seconds(1, 86400), secondsOf(60), 'shorter intervals (also from RADIUS) are raised to this (RFC 2869 §5.16: not below 60 s)'),
    spool: key('spool', optText, undefined, 'durable accounting spool: records wait here (fsync per batch) until a server answers, also across restarts; "" = memory only', {
      computed: `"${DEFAULT_RADIUS_SPOOL}" in [daemon] state_dir`,
    }),
    spoolMaxMb: key('spool_max_mb', int(1, 4096), 64, 'largest spool file (MiB); when full, records stay queued in memory and an error is logged'),
    retryInterval: key('retry_interval', seconds(1, 3600), secondsOf(5), 'wait before a new round after every accounting server failed a record'),
    requireMessageAuthenticator: key(
      'require_message_authenticator',
      bool,
      D.requireMessageAuthenticator,
      'drop Access-Accept/-Reject/-Challenge without a valid Message-Authenticator (Blast-RADIUS, CVE-2024-3596); per server below',
    ),
  },
});

/** `[[radius.server]]`. */
export const RADIUS_SERVER = table({
  path: 'radius.server',
  array: true,
  doc: 'One RADIUS server; lower priority first, weighted among equals, failover after timeout x (retries + 1), skipped for dead_time.',
  rows: {
    name: key('name', text, '', 'unique name (logs, `l2tpctl show radius`, metrics)', { computed: '"ADDRESS" (with the port when two share an address)' }),
    address: key('address', ipAddress, '', 'IP literal of the server', { required: 'missing key "address" (the RADIUS server)' }),
    role: key('role', distinctOf<RadiusRoleName>(['auth', 'acct'], 'expected a list of distinct "auth", "acct"'), ['auth', 'acct'], '"auth" = Access-Request, "acct" = Accounting-Request'),
    secret: key('secret', sharedSecret, '', 'the shared secret (RFC 2865 §3)', { required: 'missing key "secret" (the RADIUS shared secret)', secret: true }),
    authPort: key('auth_port', port(1), RADIUS_PORT.auth, 'authentication port'),
    acctPort: key('acct_port', port(1), RADIUS_PORT.acct, 'accounting port'),
    timeout: key('timeout', seconds(0.1, 60), secondsOf(D.timeoutMs / 1000), 'wait for an answer before retransmitting'),
    retries: key('retries', int(0, 10), D.retries, 'retransmissions before failing over'),
    priority: key('priority', int(1, 255), D.priority, 'lower is preferred'),
    weight: key('weight', int(1, 1000), D.weight, 'share of requests among servers of the same priority'),
    deadTime: key('dead_time', seconds(0, 3600), secondsOf(D.deadTimeMs / 1000), 'a server that timed out is skipped this long; 0 = never marked dead'),
    sourceAddress: key('source_address', optIpAddress, undefined, 'send from this local address'),
    requireMessageAuthenticator: key('require_message_authenticator', bool, D.requireMessageAuthenticator, 'Blast-RADIUS rule for this server', { computed: '[radius] require_message_authenticator' }),
    statusServer: key('status_server', bool, D.statusServer, 'probe a dead server with Status-Server (RFC 5997) and revive it only when it answers'),
  },
});

/** `[radius.dae]`. */
export const RADIUS_DAE = table({
  path: 'radius.dae',
  array: false,
  doc: 'Dynamic Authorization (RFC 5176): Disconnect-Request and CoA-Request from the [[radius.dae.client]] entries only; everything else is dropped and counted.',
  enabled: key('enabled', bool, true, 'false = no DAE server'),
  children: ['client'],
  rows: {
    listen: key('listen', hostPort, { host: '0.0.0.0', port: RADIUS_PORT.dae }, 'UDP address and port to listen on'),
    eventTimestampWindow: key('event_timestamp_window', int(1, 86400), DAE_DEFAULTS.eventTimestampWindowSec, 'Event-Timestamp replay window in seconds (RFC 5176 §3.5)'),
    requireEventTimestamp: key('require_event_timestamp', bool, DAE_DEFAULTS.requireEventTimestamp, 'drop requests without an Event-Timestamp'),
  },
});

/** `[[radius.dae.client]]`. */
export const RADIUS_DAE_CLIENT = table({
  path: 'radius.dae.client',
  array: true,
  doc: 'A host allowed to send Disconnect/CoA requests.',
  rows: {
    name: key('name', text, '', 'name in logs and counters', { computed: '"ADDRESS"' }),
    address: key('address', ipOrIpv4Prefix, '', 'source address, IPv4 prefix or IPv6 address', { required: 'missing key "address" (the DAE client)' }),
    secret: key('secret', sharedSecret, '', "that client's shared secret", { required: 'missing key "secret" (the DAE client\'s shared secret)', secret: true }),
    requireMessageAuthenticator: key('require_message_authenticator', bool, false, 'drop its requests without a Message-Authenticator'),
  },
});

/** `[[pool.named]]`: pools RADIUS Framed-Pool picks by name. */
export const POOL_NAMED = table({
  path: 'pool.named',
  array: true,
  doc: 'A named IPv4 pool (RADIUS Framed-Pool, RFC 2869 §5.18); routed into the TUN at start; must not overlap [pool] ipv4 or another named pool.',
  rows: {
    name: key('name', text, '', 'the name Framed-Pool gives', { required: 'missing key "name" (the pool name Framed-Pool gives)' }),
    ipv4: key('ipv4', ipv4Pool, { network: 0, length: 30 }, 'the prefix', { required: 'missing key "ipv4" (the prefix of the named pool)' }),
  },
});
