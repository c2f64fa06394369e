/**
 * The AgentX subagent (RFC 2741) that serves the L2TP-MIB (l2tp-mib.ts) through a master agent such
 * as net-snmp's snmpd (`master agentx`). I/O only: the npm `net-snmp` subagent speaks AgentX; this
 * shell connects (a Unix socket path or host:port), registers the tables, rebuilds the rows from the
 * tunnel views when a request arrives and the rows are older than `cacheMs` (in chunks that yield:
 * the request waits, the loop does not), and reconnects after
 * `reconnectSeconds` when the master is unreachable or goes away (logged once per outage).
 */
import { createRequire } from 'node:module';
import type { TunnelView } from '../control-protocol.js';
import type { Logger } from '../logger.js';
import { TurnSlicer } from '../turn-slicer.js';
import { L2TP_MIB_OID, mibSnapshot, SESSION_STATS_TABLE, TUNNEL_CONFIG_TABLE, TUNNEL_STATS_TABLE, type MibSnapshot, type MibTable, type MibType, type MibValue } from './l2tp-mib.js';

/** The part of npm `net-snmp` used here (it ships no types). */
interface NetSnmp {
  readonly ObjectType: Readonly<Record<string, number>>;
  readonly AgentXPdu: { writeOctetString: (buffer: AgentxBuffer, value: string | Uint8Array) => void };
  readonly MaxAccess: Readonly<Record<string, number>>;
  readonly MibProviderType: Readonly<Record<string, number>>;
  createSubagent(o: { master: string; masterPort: number | string; description: string; timeout: number }): Subagent;
  createMib(): Mib;
}
interface Mib {
  registerProvider(p: Provider): void;
  addTableRow(table: string, row: unknown[]): void;
}
interface Subagent {
  mib: Mib;
  readonly socket: { on(ev: 'data', f: (b: Buffer) => void): void; removeAllListeners(ev: 'data'): void; destroy(): void };
  onMsg(pdu: Buffer): void;
  on(ev: 'error', f: (e: Error) => void): void;
  on(ev: 'close', f: () => void): void;
  open(cb: (e: Error | null) => void): void;
  close(cb: (e: Error | null) => void): void;
  registerProvider(p: Provider, cb: (e: Error | null) => void): void;
}
interface Provider {
  name: string;
  type: number;
  oid: string;
  maxAccess: number;
  tableColumns: { number: number; name: string; type: number; maxAccess: number }[];
  tableIndex: { columnName: string; foreign?: string }[];
}

/** The part of npm `smart-buffer`'s SmartBuffer that net-snmp's AgentX encoder writes into. */
export interface AgentxBuffer {
  writeUInt32BE(v: number): unknown;
  writeBuffer(b: Buffer): unknown;
  writeUInt8(v: number): unknown;
}

const snmp = createRequire(import.meta.url)('net-snmp') as NetSnmp;

/**
 * An AgentX Octet String (RFC 2741 §5.3): a 4-octet length, the octets, padding to a multiple of 4.
 * net-snmp's own writer takes the length in UTF-16 code units and then writes the string as UTF-8,
 * so any octet >= 0x80 (a protocol version, a UTF-8 user name) made the length wrong and the rest
 * of the PDU unreadable; this writer counts and writes octets, from a Buffer or a UTF-8 string.
 */
export function writeAgentxOctetString(buffer: AgentxBuffer, value: string | Uint8Array): void {
  const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  buffer.writeUInt32BE(b.length);
  buffer.writeBuffer(b);
  for (let i = 0; i < (4 - (b.length % 4)) % 4; i++) buffer.writeUInt8(0);
}
snmp.AgentXPdu.writeOctetString = writeAgentxOctetString;

/** `[snmp]` as the subagent needs it. */
export interface SubagentOptions {
  /** The master's AgentX address: a Unix socket path (`/var/agentx/master`, `unix:/path`) or `host:port` (`tcp:` optional). */
  readonly agentx: string;
  readonly reconnectSeconds: number;
  /** Rows are rebuilt for a request when older than this. */
  readonly cacheMs: number;
}

/** The AgentX header (RFC 2741 §6.1): 20 octets, payload_length at 16, byte order by flag 0x10 (NETWORK_BYTE_ORDER). */
const AGENTX_HEADER = 20;

/**
 * Split a stream into whole AgentX PDUs (net-snmp decodes one PDU per socket read: two answers in
 * one read would lose the second). Returns the PDUs and the incomplete rest.
 */
export function splitAgentxPdus(buf: Buffer): { readonly pdus: Buffer[]; readonly rest: Buffer } {
  const pdus: Buffer[] = [];
  let at = 0;
  while (buf.length - at >= AGENTX_HEADER) {
    const big = ((buf[at + 2] ?? 0) & 0x10) !== 0;
    const len = big ? buf.readUInt32BE(at + 16) : buf.readUInt32LE(at + 16);
    if (buf.length - at < AGENTX_HEADER + len) break;
    pdus.push(buf.subarray(at, at + AGENTX_HEADER + len));
    at += AGENTX_HEADER + len;
  }
  return { pdus, rest: buf.subarray(at) };
}

/** Where to connect: a socket path, or a host and TCP port. */
export function agentxAddress(s: string): { readonly master: string; readonly masterPort: number | string } {
  const x = s.replace(/^unix:/, '');
  if (x.startsWith('/')) return { master: 'localhost', masterPort: x };
  const m = /^(?:tcp:)?(.+):(\d{1,5})$/.exec(x);
  return m === null ? { master: 'localhost', masterPort: x } : { master: (m[1] ?? '').replace(/^\[(.*)\]$/, '$1'), masterPort: Number(m[2]) };
}

const TYPES: Record<MibType, string> = { Integer32: 'Integer', Unsigned32: 'Gauge', Gauge32: 'Gauge', Counter32: 'Counter', OctetString: 'OctetString' };
const typeOf = (t: MibType): number => snmp.ObjectType[TYPES[t]] ?? 2;
const access = (a: string): number => snmp.MaxAccess[a] ?? 0;
/** Octets go to net-snmp as a Buffer (written as they are by writeAgentxOctetString), numbers and strings as they are. */
const cell = (v: MibValue): unknown => (v instanceof Uint8Array ? Buffer.from(v) : v);

/** A net-snmp table provider for `table`; `foreign` = the table whose index it shares (AUGMENTS-like). */
function provider<R>(table: MibTable<R>, foreign?: string): Provider {
  const indexCols = foreign === undefined ? table.indexColumns.map((c) => ({ number: c.number, name: c.name, type: typeOf('Integer32'), maxAccess: access('not-accessible') })) : [];
  return {
    name: table.name,
    type: snmp.MibProviderType['Table'] ?? 2,
    oid: `${table.oid}.1`,
    maxAccess: access('not-accessible'),
    tableColumns: [...indexCols, ...table.columns.map((c) => ({ number: c.number, name: c.name, type: typeOf(c.type), maxAccess: access('read-only') }))],
    tableIndex: table.indexColumns.map((c) => (foreign === undefined ? { columnName: c.name } : { columnName: c.name, foreign })),
  };
}

/** The three providers, config table first (the stats table borrows its index). */
const providers = (): Provider[] => [provider(TUNNEL_CONFIG_TABLE), provider(TUNNEL_STATS_TABLE, TUNNEL_CONFIG_TABLE.name), provider(SESSION_STATS_TABLE)];

/** A MIB holding `snap`'s rows. */
/** MIB rows added between two turns of the event loop (a walk at 100k sessions builds 100k rows). */
export const MIB_ROW_CHUNK = 2000;

/**
 * The net-snmp MIB of `snap`, built in slices of at most `chunk` rows (and `TurnSlicer`'s time
 * budget) with an event-loop turn between them (issue 15 item 2: the rows of 100k sessions never
 * stall the loop in one turn).
 */
export async function buildMibYielding(snap: MibSnapshot, chunk = MIB_ROW_CHUNK): Promise<Mib> {
  const mib = snmp.createMib();
  for (const p of providers()) mib.registerProvider(p);
  const slicer = new TurnSlicer(chunk);
  for (const r of snap.tunnels) {
    mib.addTableRow(TUNNEL_CONFIG_TABLE.name, [r.ifIndex, ...TUNNEL_CONFIG_TABLE.columns.map((c) => cell(c.value(r)))]);
    mib.addTableRow(TUNNEL_STATS_TABLE.name, [r.ifIndex, ...TUNNEL_STATS_TABLE.columns.map((c) => cell(c.value(r)))]);
    const turn = slicer.step();
    if (turn !== undefined) await turn;
  }
  for (const r of snap.sessions) {
    mib.addTableRow(SESSION_STATS_TABLE.name, [...SESSION_STATS_TABLE.index(r), ...SESSION_STATS_TABLE.columns.map((c) => cell(c.value(r)))]);
    const turn = slicer.step();
    if (turn !== undefined) await turn;
  }
  return mib;
}

export class L2tpSubagent {
  private agent: Subagent | undefined;
  private builtAt = -Infinity;
  private closed = false;
  private down = true;
  private retry: NodeJS.Timeout | undefined;
  /** Rows rebuilt (for tests and `show status`). */
  refreshes = 0;
  /** The background rebuild under way, if any. */
  private building: Promise<void> | undefined;
  /** Requests waiting for a rebuild, and the chain that answers them in order. */
  private queued = 0;
  private waiting: Promise<void> = Promise.resolve();

  constructor(
    private readonly o: SubagentOptions,
    private readonly log: Logger,
    private readonly views: () => readonly TunnelView[] | Promise<readonly TunnelView[]>,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Connect (again); failures are logged and retried. */
  start(): void {
    if (this.closed) return;
    const where = agentxAddress(this.o.agentx);
    const sa = snmp.createSubagent({ ...where, description: 'l2tpkit l2tpd L2TP-MIB (RFC 3371)', timeout: 0 });
    this.agent = sa;
    let lastError: Error | undefined;
    sa.on('error', (e) => {
      lastError = e;
    });
    sa.on('close', () => {
      if (this.agent === sa) this.lost(lastError);
    });
    // Our own framing in front of net-snmp's decoder: one onMsg per whole PDU, rows fresh before each.
    sa.socket.removeAllListeners('data');
    let pending: Buffer = Buffer.alloc(0);
    sa.socket.on('data', (b) => {
      const { pdus, rest } = splitAgentxPdus(pending.length === 0 ? b : Buffer.concat([pending, b]));
      pending = Buffer.from(rest);
      for (const pdu of pdus) this.serve(sa, pdu);
    });
    sa.open((e) => {
      if (e !== null) return;
      this.register(sa);
    });
  }

  /** Register the tables one after the other (each answer before the next request). */
  private register(sa: Subagent, list: readonly Provider[] = providers()): void {
    const [p, ...rest] = list;
    if (p === undefined) {
      this.refresh(sa, true);
      this.down = false;
      this.warned = false;
      this.log.info({ agentx: this.o.agentx, oid: L2TP_MIB_OID }, `SNMP: AgentX subagent registered the L2TP-MIB (${L2TP_MIB_OID}) with the master at ${this.o.agentx}`);
      return;
    }
    sa.registerProvider(p, (e) => {
      if (e === null) {
        this.register(sa, rest);
        return;
      }
      this.log.error({ agentx: this.o.agentx, table: p.name, err: e.message }, `SNMP: the AgentX master at ${this.o.agentx} refused ${p.name}: ${e.message}`);
    });
  }

  /**
   * Rebuild the rows when older than cacheMs (or now, `force`) without blocking the loop: the views
   * and the rows are built in chunks that yield; requests that arrive meanwhile wait for the new rows
   * (in order), datagrams and timers keep running.
   */
  private refresh(sa: Subagent, force: boolean): void {
    const now = this.clock();
    if (this.building !== undefined || (!force && now - this.builtAt < this.o.cacheMs)) return;
    this.building = this.rebuild(sa).finally(() => {
      this.building = undefined;
    });
  }

  private async rebuild(sa: Subagent): Promise<void> {
    try {
      const mib = await buildMibYielding(mibSnapshot(await this.views()));
      sa.mib = mib;
      this.builtAt = this.clock();
      this.refreshes++;
    } catch (e) {
      this.log.error({ err: e instanceof Error ? e.message : String(e) }, 'SNMP: building the L2TP-MIB rows failed');
    }
  }

  /** Answer `pdu` with rows at most cacheMs old: now, or after the rebuild under way (requests stay in order). */
  private serve(sa: Subagent, pdu: Buffer): void {
    this.refresh(sa, false);
    const b = this.building;
    if (b === undefined && this.queued === 0) {
      sa.onMsg(pdu);
      return;
    }
    this.queued++;
    this.waiting = this.waiting
      .then(() => b)
      .then(() => {
        this.queued--;
        sa.onMsg(pdu);
      })
      .catch((e: unknown) => {
        this.log.error({ err: e instanceof Error ? e.message : String(e) }, 'SNMP: answering a request failed');
      });
  }

  private lost(e: Error | undefined): void {
    this.agent = undefined;
    if (this.closed) return;
    const why = e?.message ?? 'connection closed';
    if (!this.down) this.log.warn({ agentx: this.o.agentx, err: why }, `SNMP: lost the AgentX master at ${this.o.agentx} (${why}); reconnecting every ${this.o.reconnectSeconds}s`);
    else this.logUnreachable(why);
    this.down = true;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.start();
    }, this.o.reconnectSeconds * 1000);
    this.retry.unref();
  }

  private warned = false;
  private logUnreachable(why: string): void {
    if (this.warned) return;
    this.warned = true;
    this.log.warn({ agentx: this.o.agentx, err: why }, `SNMP: AgentX master agent unreachable at ${this.o.agentx} (${why}): is snmpd running with "master agentx" and agentXSocket ${this.o.agentx}? retrying every ${this.o.reconnectSeconds}s`);
  }

  /** Whether the subagent is registered with a master now. */
  get registered(): boolean {
    return !this.down && this.agent !== undefined;
  }

  /** Close the session (a Close PDU when connected) and stop reconnecting. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retry !== undefined) clearTimeout(this.retry);
    const sa = this.agent;
    this.agent = undefined;
    if (sa === undefined) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 500);
      if (this.down) {
        clearTimeout(t);
        resolve();
        return;
      }
      sa.close(() => {
        clearTimeout(t);
        resolve();
      });
    });
    sa.socket.destroy();
  }
}
