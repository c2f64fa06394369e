/**
 * Helpers for the tests of our LNS with RADIUS (radius-lns-vm, radius-failover): FreeRADIUS's
 * `radclient` for Disconnect/CoA, the accounting records of the detail files grouped by
 * Acct-Session-Id in arrival order, and our daemon's logout / accounting log lines.
 */
import { run } from './host.js';
import type { DetailRecord } from './freeradius.js';
import type { LogLine } from './l2tpd.js';

/** radclient in namespace `ns` to `target` (ADDRESS:PORT): its output (-x prints what it sent and got). */
export async function radclient(ns: string, target: string, kind: 'disconnect' | 'coa', secret: string, attrs: readonly string[]): Promise<string> {
  const r = await run('ip', ['netns', 'exec', ns, 'radclient', '-x', '-r', '1', '-t', '2', target, kind, secret], { input: `${attrs.join('\n')}\n`, check: false, timeoutMs: 20_000 });
  return r.stdout + r.stderr;
}

/** Detail records by Acct-Session-Id, each list in file order (Accounting-On/-Off under their own id). */
export function detailBySession(records: readonly DetailRecord[]): Map<string, DetailRecord[]> {
  const out = new Map<string, DetailRecord[]>();
  for (const r of records) {
    const id = r.get('Acct-Session-Id') ?? '';
    out.set(id, [...(out.get(id) ?? []), r]);
  }
  return out;
}

/** The status sequence of one session's records, e.g. ["Start", "Interim-Update", "Stop"]. */
export const statuses = (rs: readonly DetailRecord[]): string[] => rs.map((r) => r.get('Acct-Status-Type') ?? '?');

/** The octets and packets of a record (Gigawords folded in), as our logout line names them. */
export function detailCounters(r: DetailRecord): { rxOctets: number; txOctets: number; rxPackets: number; txPackets: number } {
  const n = (k: string): number => Number(r.get(k) ?? '0');
  return {
    rxOctets: n('Acct-Input-Octets') + n('Acct-Input-Gigawords') * 2 ** 32,
    txOctets: n('Acct-Output-Octets') + n('Acct-Output-Gigawords') * 2 ** 32,
    rxPackets: n('Acct-Input-Packets'),
    txPackets: n('Acct-Output-Packets'),
  };
}

/** Our daemon's last "logged out" line for `user` (the data-path counters of that session). */
export function logoutOf(lines: readonly LogLine[], user: string): { rxOctets: number; txOctets: number; rxPackets: number; txPackets: number; time: number } | undefined {
  const l = [...lines].reverse().find((x) => x.raw['user'] === user && typeof x.raw['rxOctets'] === 'number' && / logged out /.test(x.msg));
  if (l === undefined) return undefined;
  const n = (k: string): number => Number(l.raw[k]);
  return { rxOctets: n('rxOctets'), txOctets: n('txOctets'), rxPackets: n('rxPackets'), txPackets: n('txPackets'), time: Date.parse(String(l.raw['time'])) };
}

/** The accounting records our daemon queued (debug lines "RADIUS accounting STATUS queued for ID (seq N)"), in order. */
export function queuedRecords(lines: readonly LogLine[]): { status: string; acctSessionId: string; seq: number }[] {
  return lines
    .filter((l) => /^RADIUS accounting \S+ queued for /.test(l.msg))
    .map((l) => ({ status: String(l.raw['acct']), acctSessionId: String(l.raw['acctSessionId']), seq: Number(l.raw['seq']) }));
}

/** FreeRADIUS's Acct-Status-Type names for ours. */
export const STATUS_NAME: Readonly<Record<string, string>> = {
  start: 'Start',
  'interim-update': 'Interim-Update',
  stop: 'Stop',
  'accounting-on': 'Accounting-On',
  'accounting-off': 'Accounting-Off',
};
