/**
 * Text output of the Junos-style show commands (`show destinations`, `show summary`); `--json`
 * prints the views themselves (control-ops.ts).
 */
import type { DestinationView, SelectionDestinationView, SummaryView } from './control-protocol.js';
import { table } from './control-format.js';

/** `show destinations`: one line per (local address, peer). */
export function formatDestinations(rows: readonly DestinationView[]): string {
  if (rows.length === 0) return 'no destinations';
  const out = [['LOCAL', 'PEER', 'PORTS', 'HOSTNAME', 'TUNNELS', 'UP', 'SESSIONS', 'UP', 'RX-PKTS', 'RX-OCTETS', 'TX-PKTS', 'TX-OCTETS']];
  for (const d of rows) {
    out.push([
      d.localAddress,
      d.remoteAddress,
      d.remotePorts.join(','),
      d.remoteHostNames.join(',') || '-',
      String(d.tunnels),
      String(d.tunnelsEstablished),
      String(d.sessions),
      String(d.sessionsEstablished),
      String(d.data.rxPackets),
      String(d.data.rxOctets),
      String(d.data.txPackets),
      String(d.data.txOctets),
    ]);
  }
  const sel = rows.flatMap((d) => (d.selection === undefined ? [] : [d.selection]));
  if (sel.length === 0) return table(out);
  return `${table(out)}\n\nTunnel selection:\n${formatSelection(sel)}`;
}

/** The selector's view of its destinations: state, dead time left, preferences, load, last failure. */
function formatSelection(rows: readonly SelectionDestinationView[]): string {
  const out = [['DESTINATION', 'STATE', 'DEAD-FOR', 'PROFILE:PREF/LEVEL/WEIGHT', 'SESSIONS', 'TUNNELS', 'FAILURES', 'LAST-FAILURE']];
  for (const d of rows) {
    out.push([
      `${d.address}:${d.port}`,
      d.state,
      d.deadForSeconds === undefined ? '-' : `${d.deadForSeconds}s`,
      d.profiles.map((p) => `${p.source}:${p.preference}/${p.level}/${p.weight}`).join(',') || 'radius',
      String(d.sessions),
      String(d.tunnels),
      String(d.failures),
      d.lastFailure === undefined ? '-' : `${d.lastFailure.cause} ${d.lastFailure.secondsAgo}s ago`,
    ]);
  }
  return table(out);
}

const byState = (m: Readonly<Record<string, number>>): string => {
  const parts = Object.entries(m).map(([k, v]) => `${k} ${v}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
};

/** `show summary`. */
export function formatSummary(s: SummaryView): string {
  const lines = [
    `Destinations: ${s.destinations}`,
    `Tunnels: ${s.tunnels}${byState(s.tunnelsByState)}`,
    `Sessions: ${s.sessions}${byState(s.sessionsByState)}${s.pppoeSessions > 0 ? `, PPPoE sessions: ${s.pppoeSessions}` : ''}`,
    `Control messages: rx ${s.controlRx}, tx ${s.controlTx}`,
    `Payload (tunnels up now${s.clearedSecondsAgo !== undefined ? `, since clear statistics ${s.clearedSecondsAgo}s ago` : ''}): rx ${s.data.rxPackets} packets / ${s.data.rxOctets} octets, tx ${s.data.txPackets} packets / ${s.data.txOctets} octets`,
  ];
  const p = s.payloadSinceStart;
  if (p !== undefined) lines.push(`Payload since start (closed tunnels included): rx ${p.rxPackets} packets / ${p.rxOctets} octets, tx ${p.txPackets} packets / ${p.txOctets} octets`);
  return lines.join('\n');
}
