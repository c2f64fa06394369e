/**
 * The L2TP-MIB (RFC 3371, `transmission 95` = 1.3.6.1.2.1.10.95) as data: the tables and columns we
 * serve, each column's SNMP type and how its value comes from the `l2tpctl show tunnels` view.
 * Sans-I/O: rows and instance OIDs are computed here and tested against a fake view; agentx.ts
 * only hands them to the AgentX subagent.
 *
 * Only columns we can fill truthfully are served (a manager gets noSuchObject for the others):
 * no ifTable exists for our tunnels, so the tunnel ifIndex (the tables' index, RFC 3371 §3.1.2.1)
 * is the local Tunnel ID, and columns about interfaces, domains or configuration we do not have
 * (l2tpSessionStatsIfIndex, bearer/framing, speeds) are left out.
 */
import type { SessionView, TunnelView } from '../control-protocol.js';

/** 1.3.6.1.2.1.10.95: l2tp MODULE-IDENTITY ::= { transmission 95 }. */
export const L2TP_MIB_OID = '1.3.6.1.2.1.10.95';
/** l2tpObjects ::= { l2tp 1 }. */
const OBJECTS = `${L2TP_MIB_OID}.1`;

/** SMIv2 base types used by the columns. */
export type MibType = 'Integer32' | 'Unsigned32' | 'Counter32' | 'Gauge32' | 'OctetString';
/** A cell value: integers, or octets (strings as UTF-8). */
export type MibValue = number | string | Uint8Array;

/** One served column (its number is the sub-identifier under the entry). */
export interface MibColumn<R> {
  readonly number: number;
  readonly name: string;
  readonly type: MibType;
  value(row: R): MibValue;
}

/** One table: its OID, its index (sub-identifiers of a row), its served columns. */
export interface MibTable<R> {
  readonly name: string;
  /** The table's OID (`...Table`); rows live under `${oid}.1` (`...Entry`). */
  readonly oid: string;
  /** The index objects (not-accessible columns of this table, or of the table it shares the index with). */
  readonly indexColumns: readonly { readonly name: string; readonly number: number }[];
  index(row: R): readonly number[];
  readonly columns: readonly MibColumn<R>[];
}

/** A tunnel row: its view and its ifIndex. */
export interface TunnelRow {
  readonly ifIndex: number;
  readonly t: TunnelView;
}

/** A session row: its tunnel's ifIndex and the session view. */
export interface SessionRow {
  readonly tunnelIfIndex: number;
  readonly s: SessionView;
}

/** Counter32 wraps at 2^32 (RFC 2578 §7.1.6); Gauge32 / Unsigned32 stick at 2^32-1 (§7.1.7). */
export const counter32 = (n: number): number => ((n % 0x100000000) + 0x100000000) % 0x100000000;
const gauge32 = (n: number): number => Math.min(Math.max(0, Math.floor(n)), 0xffffffff);

/** l2tpTunnelStatsState: tunnelIdle(1), tunnelConnecting(2), tunnelEstablished(3), tunnelDisconnecting(4). */
export function tunnelState(state: string): number {
  if (state === 'established') return 3;
  if (state === 'idle') return 1;
  if (state === 'closing' || state === 'closed') return 4;
  return 2;
}

/** l2tpSessionStatsState: sessionIdle(1), sessionConnecting(2), sessionEstablished(3), sessionDisconnecting(4). */
export function sessionState(state: string): number {
  if (state === 'established') return 3;
  if (state === 'idle') return 1;
  if (state === 'closed') return 4;
  return 2;
}

/** l2tpSessionStatsCallType: lacIncoming(1), lnsIncoming(2), lacOutgoing(3), lnsOutgoing(4). */
export function callType(s: Pick<SessionView, 'role' | 'direction'>): number {
  const lac = s.role === 'lac';
  return s.direction === 'outgoing' ? (lac ? 3 : 4) : lac ? 1 : 2;
}

/** l2tpSessionStatsAuthMethod: none(1), text(2), pppChap(3), pppPap(4), pppEap(5), pppMsChapV1(6), pppMsChapV2(7), other(8). */
export function authMethod(m: string | undefined): number {
  if (m === undefined) return 1;
  if (m === 'pap') return 4;
  if (m === 'chap-md5' || m === 'chap') return 3;
  if (m === 'mschapv2') return 7;
  if (m === 'mschap' || m === 'mschapv1') return 6;
  if (m === 'eap') return 5;
  return 8;
}

/** l2tpTunnelStatsRemoteProtocolVer: OCTET STRING (SIZE(2)), version then revision ("1.0" -> 01 00). */
export function protocolVersionOctets(v: string | undefined): Uint8Array {
  const m = /^(\d+)\.(\d+)$/.exec(v ?? '');
  return m === null ? Uint8Array.of(0, 0) : Uint8Array.of(Number(m[1]) & 0xff, Number(m[2]) & 0xff);
}

/** l2tpTunnelConfigTable (l2tpObjects 4), INDEX { l2tpTunnelConfigIfIndex }. */
export const TUNNEL_CONFIG_TABLE: MibTable<TunnelRow> = {
  name: 'l2tpTunnelConfigTable',
  oid: `${OBJECTS}.4`,
  indexColumns: [{ name: 'l2tpTunnelConfigIfIndex', number: 1 }],
  index: (r) => [r.ifIndex],
  // l2tpTunnelConfigTransport: other(1), none(2), udpIp(3), frameRelay(4), atm(5).
  columns: [{ number: 13, name: 'l2tpTunnelConfigTransport', type: 'Integer32', value: () => 3 }],
};

/** l2tpTunnelStatsTable (l2tpObjects 5), INDEX { l2tpTunnelConfigIfIndex }: status and control counters. */
export const TUNNEL_STATS_TABLE: MibTable<TunnelRow> = {
  name: 'l2tpTunnelStatsTable',
  oid: `${OBJECTS}.5`,
  indexColumns: [{ name: 'l2tpTunnelConfigIfIndex', number: 1 }],
  index: (r) => [r.ifIndex],
  columns: [
    { number: 1, name: 'l2tpTunnelStatsLocalTID', type: 'Integer32', value: (r) => r.t.localTunnelId },
    { number: 2, name: 'l2tpTunnelStatsRemoteTID', type: 'Integer32', value: (r) => r.t.remoteTunnelId },
    { number: 3, name: 'l2tpTunnelStatsState', type: 'Integer32', value: (r) => tunnelState(r.t.state) },
    // locally(1) when we sent the SCCRQ (LAC role), remotely(2) otherwise.
    { number: 4, name: 'l2tpTunnelStatsInitiated', type: 'Integer32', value: (r) => (r.t.role === 'lac' ? 1 : 2) },
    { number: 5, name: 'l2tpTunnelStatsRemoteHostName', type: 'OctetString', value: (r) => r.t.remoteHostName ?? '' },
    { number: 6, name: 'l2tpTunnelStatsRemoteVendorName', type: 'OctetString', value: (r) => r.t.remoteVendorName ?? '' },
    { number: 8, name: 'l2tpTunnelStatsRemoteProtocolVer', type: 'OctetString', value: (r) => protocolVersionOctets(r.t.protocolVersion) },
    { number: 12, name: 'l2tpTunnelStatsControlRxPkts', type: 'Counter32', value: (r) => counter32(r.t.counters.controlRx) },
    { number: 13, name: 'l2tpTunnelStatsControlRxZLB', type: 'Counter32', value: (r) => counter32(r.t.counters.zlbRx) },
    { number: 15, name: 'l2tpTunnelStatsControlOutOfWin', type: 'Counter32', value: (r) => counter32(r.t.counters.outOfWindow) },
    { number: 16, name: 'l2tpTunnelStatsControlTxPkts', type: 'Counter32', value: (r) => counter32(r.t.counters.controlTx) },
    { number: 17, name: 'l2tpTunnelStatsControlTxZLB', type: 'Counter32', value: (r) => counter32(r.t.counters.zlbTx) },
    // Each expiry of the retransmission timer (§5.8) is one acknowledgement timeout.
    { number: 18, name: 'l2tpTunnelStatsControlAckTO', type: 'Counter32', value: (r) => counter32(r.t.counters.retransmits) },
    { number: 19, name: 'l2tpTunnelStatsCurrentRemoteRWS', type: 'Gauge32', value: (r) => gauge32(r.t.peerReceiveWindow) },
    // Ns we send next and Nr we expect next (§5.8).
    { number: 20, name: 'l2tpTunnelStatsTxSeq', type: 'Integer32', value: (r) => r.t.ns },
    { number: 22, name: 'l2tpTunnelStatsRxSeq', type: 'Integer32', value: (r) => r.t.nr },
    { number: 26, name: 'l2tpTunnelStatsActiveSessions', type: 'Gauge32', value: (r) => r.t.sessions.filter((s) => s.state === 'established').length },
  ],
};

/** l2tpSessionStatsTable (l2tpObjects 7), INDEX { l2tpSessionStatsTunnelIfIndex, l2tpSessionStatsLocalSID }. */
export const SESSION_STATS_TABLE: MibTable<SessionRow> = {
  name: 'l2tpSessionStatsTable',
  oid: `${OBJECTS}.7`,
  indexColumns: [
    { name: 'l2tpSessionStatsTunnelIfIndex', number: 1 },
    { name: 'l2tpSessionStatsLocalSID', number: 3 },
  ],
  index: (r) => [r.tunnelIfIndex, r.s.localSessionId],
  columns: [
    { number: 4, name: 'l2tpSessionStatsRemoteSID', type: 'Integer32', value: (r) => r.s.remoteSessionId },
    { number: 5, name: 'l2tpSessionStatsUserName', type: 'OctetString', value: (r) => r.s.username ?? '' },
    { number: 6, name: 'l2tpSessionStatsState', type: 'Integer32', value: (r) => sessionState(r.s.state) },
    { number: 7, name: 'l2tpSessionStatsCallType', type: 'Integer32', value: (r) => callType(r.s) },
    { number: 8, name: 'l2tpSessionStatsCallSerialNumber', type: 'Unsigned32', value: (r) => gauge32(r.s.callSerialNumber) },
    { number: 14, name: 'l2tpSessionStatsDNIS', type: 'OctetString', value: (r) => r.s.calledNumber ?? '' },
    { number: 15, name: 'l2tpSessionStatsCLID', type: 'OctetString', value: (r) => r.s.callingNumber ?? '' },
    { number: 19, name: 'l2tpSessionStatsAuthMethod', type: 'Integer32', value: (r) => authMethod(r.s.authMethod) },
  ],
};

/** The rows of every served table at one instant. */
export interface MibSnapshot {
  readonly tunnels: readonly TunnelRow[];
  readonly sessions: readonly SessionRow[];
  /** Tunnels left out: an L2TPv3 id beyond Integer32 / ifIndex range, or a Tunnel ID another listener uses too. */
  readonly skipped: number;
}

/** ifIndex is 1..2147483647 (InterfaceIndex, RFC 2863); Tunnel ID 0 never names a tunnel. */
const IF_INDEX_MAX = 0x7fffffff;

/** The rows from the tunnel views (L2TPv2 tunnels; ids unique per daemon, else the first listener's wins). */
export function mibSnapshot(views: readonly TunnelView[]): MibSnapshot {
  const tunnels: TunnelRow[] = [];
  const sessions: SessionRow[] = [];
  const used = new Set<number>();
  let skipped = 0;
  for (const t of views) {
    const ifIndex = t.localTunnelId;
    if (ifIndex < 1 || ifIndex > IF_INDEX_MAX || used.has(ifIndex)) {
      skipped++;
      continue;
    }
    used.add(ifIndex);
    tunnels.push({ ifIndex, t });
    for (const s of t.sessions) if (s.localSessionId >= 1 && s.localSessionId <= IF_INDEX_MAX) sessions.push({ tunnelIfIndex: ifIndex, s });
  }
  tunnels.sort((a, b) => a.ifIndex - b.ifIndex);
  sessions.sort((a, b) => a.tunnelIfIndex - b.tunnelIfIndex || a.s.localSessionId - b.s.localSessionId);
  return { tunnels, sessions, skipped };
}

/** The OID of one cell: table.1.column.index... */
export const instanceOid = <R>(table: MibTable<R>, column: number, index: readonly number[]): string => [table.oid, 1, column, ...index].join('.');

/** One cell as a manager sees it. */
export interface MibCell {
  readonly oid: string;
  readonly type: MibType;
  readonly value: MibValue;
}

/** Compare two OIDs sub-identifier by sub-identifier (the order GetNext walks, RFC 3416 §4.2.2). */
export function compareOids(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** Every cell of one table, in walk order (column by column, rows by index). */
function tableCells<R>(table: MibTable<R>, rows: readonly R[]): MibCell[] {
  const out: MibCell[] = [];
  for (const c of table.columns) for (const r of rows) out.push({ oid: instanceOid(table, c.number, table.index(r)), type: c.type, value: c.value(r) });
  return out.sort((a, b) => compareOids(a.oid, b.oid));
}

/** What `snmpwalk 1.3.6.1.2.1.10.95` returns for `snap`, in order. */
export function mibWalk(snap: MibSnapshot): MibCell[] {
  return [...tableCells(TUNNEL_CONFIG_TABLE, snap.tunnels), ...tableCells(TUNNEL_STATS_TABLE, snap.tunnels), ...tableCells(SESSION_STATS_TABLE, snap.sessions)];
}
