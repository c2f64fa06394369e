/** `l2tpctl show radius` as text: servers (one row per role), accounting queue and spool, DAE clients. */
import type { RadiusView } from './control-protocol.js';
import { table } from './control-format.js';

const ms = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(1));

/** The table text of `show radius`. */
export function formatRadius(v: RadiusView): string {
  const head = ['SERVER', 'ROLE', 'ADDRESS', 'PRIO', 'STATE', 'REQUESTS', 'ACCEPTS', 'REJECTS', 'ACCT-RESP', 'TIMEOUTS', 'RETRANS', 'DROPPED', 'RTT ms', 'PENDING'];
  const rows = v.servers.map((s) => [
    s.name,
    s.role,
    `${s.address.includes(':') ? `[${s.address}]` : s.address}:${s.port}`,
    String(s.priority),
    s.state === 'dead' ? `dead ${s.deadForSeconds ?? 0}s` : 'alive',
    String(s.requests),
    s.role === 'auth' ? String(s.accepts) : '-',
    s.role === 'auth' ? String(s.rejects) : '-',
    s.role === 'acct' ? String(s.accountingResponses) : '-',
    String(s.timeouts),
    String(s.retransmissions),
    String(s.dropped),
    ms(s.smoothedRttMs),
    String(s.pending),
  ]);
  const a = v.accounting;
  const out = [
    table([head, ...rows]),
    '',
    `accounting: ${a.queued} queued, ${a.inFlight} in flight; spool ${a.spoolPath ?? 'off (memory only)'}: ${a.spoolDepth} record(s), ${a.spoolBytes} octets${a.spoolErrors > 0 ? `, ${a.spoolErrors} error(s)` : ''}`,
    `authentications pending: ${v.pendingAuth}; datagrams from unknown sources: ${v.unknownSource}`,
  ];
  const d = v.dae;
  if (d !== undefined) {
    out.push('', `DAE on ${d.listen} (requests from unknown addresses dropped: ${d.unknownClients})`);
    out.push(
      table([
        ['CLIENT', 'ADDRESS', 'REQUESTS', 'DISC-ACK', 'DISC-NAK', 'COA-ACK', 'COA-NAK', 'DUPLICATES', 'DROPPED'],
        ...d.clients.map((c) => [c.name, c.address, String(c.requests), String(c.disconnectAcks), String(c.disconnectNaks), String(c.coaAcks), String(c.coaNaks), String(c.duplicates), String(c.dropped)]),
      ]),
    );
  }
  return out.join('\n');
}
