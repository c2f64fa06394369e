/**
 * `[snmp]` of l2tpd.toml: the AgentX subagent (src/daemon/snmp/) that serves the L2TP-MIB (RFC 3371)
 * through a master agent such as net-snmp's snmpd. Off unless `agentx` is set.
 */
import { key, table } from './table.js';
import { int, optText } from './values.js';

/** `[snmp]`. */
export const SNMP = table({
  path: 'snmp',
  array: false,
  doc: 'SNMP: an AgentX subagent (RFC 2741) serving the L2TP-MIB (RFC 3371, 1.3.6.1.2.1.10.95) through a master agent (snmpd with `master agentx`; docs/OPERATIONS.md). Off unless `agentx` is set.',
  rows: {
    agentx: key('agentx', optText, undefined, 'the master agent\'s AgentX socket: a Unix socket path ("/var/agentx/master", snmpd\'s default) or "host:port" (TCP, e.g. "127.0.0.1:705"); "" = off'),
    reconnectSeconds: key('reconnect_seconds', int(1, 3600), 10, 'retry this often while the master agent is unreachable (logged once per outage)'),
    cacheMs: key('cache_ms', int(0, 60000), 1000, 'a request rebuilds the MIB rows from the tunnels when they are older than this (a walk sees one consistent set); the rebuild yields to the event loop every 2,000 rows and requests wait for it (at 100k sessions several seconds: give snmpd\'s `agentXTimeout` room)'),
  },
});
