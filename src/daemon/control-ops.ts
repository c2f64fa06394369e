/**
 * Junos-style operations on the control protocol (issue 14 item 5): `show destinations | tunnels |
 * sessions | summary` with filters, `clear destination` and `clear statistics`. Request and view
 * types and the request validation; control-protocol.ts routes these commands here.
 */
import { err, ok, type Result } from '../base/index.js';
import type { DataCounters } from './data-ledger.js';

/** What a show command keeps (Junos: `local-gateway`, `peer-gateway`, `user`, `tunnel-id`); all must match. */
export interface ShowFilter {
  /** Our address of the tunnel (the listener's). */
  readonly localGateway?: string;
  /** The peer's address. */
  readonly peerGateway?: string;
  /** A PPP user name (sessions of that user, tunnels that carry one). */
  readonly user?: string;
  /** Our tunnel id. */
  readonly tunnel?: number;
}

/** The requests of this module. */
export type OpsRequest =
  | { readonly cmd: 'show-destinations'; readonly filter?: ShowFilter }
  | { readonly cmd: 'show-summary' }
  /** StopCCN to every tunnel with this peer (optionally only from one local address). */
  | { readonly cmd: 'clear-destination'; readonly peer: string; readonly localGateway?: string }
  /** Restart the counters `show` prints (metrics and SNMP keep counting). */
  | { readonly cmd: 'clear-statistics' };

/** Commands of this module the read-only socket answers. */
export const OPS_READ_ONLY = ['show-destinations', 'show-summary'] as const;

/** One peer (Junos `show services l2tp destination`): our address, the peer's, what runs between. */
export interface DestinationView {
  readonly localAddress: string;
  readonly remoteAddress: string;
  /** The peer's UDP ports in use (usually one: 1701 or a NAT port). */
  readonly remotePorts: readonly number[];
  readonly tunnels: number;
  readonly tunnelsEstablished: number;
  readonly sessions: number;
  readonly sessionsEstablished: number;
  /** Host names the peer announced. */
  readonly remoteHostNames: readonly string[];
  /** Payload of its tunnels, summed. */
  readonly data: DataCounters;
  readonly controlRx: number;
  readonly controlTx: number;
  /** What the LAC's tunnel selection ([tunnel_select]) knows of this peer; absent = not a selection destination. */
  readonly selection?: SelectionDestinationView;
}

/** One destination of `[tunnel_select]` as its selector sees it (configured in a profile, or named by RADIUS). */
export interface SelectionDestinationView {
  readonly address: string;
  readonly port: number;
  /** dead = skipped for new sessions until its dead time ends. */
  readonly state: 'alive' | 'dead';
  /** Seconds of dead time left (dead only). */
  readonly deadForSeconds?: number;
  /** Sessions the selector placed there now, and its tunnels (connecting or up). */
  readonly sessions: number;
  readonly tunnels: number;
  /** Tunnels that failed to come up there since start. */
  readonly failures: number;
  /** The last of them: `sccrq-timeout`, `stopccn` or `unreachable`, and how long ago. */
  readonly lastFailure?: { readonly cause: string; readonly secondsAgo: number };
  /** The profiles listing it (`radius` rows have none): preference, level (0 = preferred), weight. */
  readonly profiles: readonly { readonly source: string; readonly preference: number; readonly level: number; readonly weight: number; readonly maxSessions?: number }[];
}

/** `show summary` (Junos `show services l2tp summary`). */
export interface SummaryView {
  readonly destinations: number;
  readonly tunnels: number;
  readonly tunnelsByState: Readonly<Record<string, number>>;
  readonly sessions: number;
  readonly sessionsByState: Readonly<Record<string, number>>;
  /** PPPoE sessions terminated here (BRAS, no tunnel). */
  readonly pppoeSessions: number;
  /** Payload of the tunnels up now (since `clear statistics` when it ran). */
  readonly data: DataCounters;
  /** Payload of every tunnel since start, closed ones included (never cleared; = the metrics). */
  readonly payloadSinceStart?: DataCounters;
  readonly controlRx: number;
  readonly controlTx: number;
  /** Seconds since `clear statistics`, absent = never cleared. */
  readonly clearedSecondsAgo?: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isAddress = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 64 && /^[0-9a-fA-F.:]+$/.test(v);

/** Validate a `filter` object (absent = everything). */
export function parseShowFilter(v: unknown): Result<ShowFilter | undefined, string> {
  if (v === undefined) return ok(undefined);
  if (!isRecord(v)) return err('"filter" must be an object');
  const out: { localGateway?: string; peerGateway?: string; user?: string; tunnel?: number } = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === 'localGateway' || k === 'peerGateway') {
      if (!isAddress(x)) return err(`filter "${k}" must be an IP address`);
      out[k] = x;
    } else if (k === 'user') {
      if (typeof x !== 'string' || x.length === 0 || x.length > 256) return err('filter "user" must be a user name');
      out.user = x;
    } else if (k === 'tunnel') {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 0xffffffff) return err('filter "tunnel" must be 0..4294967295');
      out.tunnel = x;
    } else {
      return err(`unknown filter "${k}" (localGateway, peerGateway, user, tunnel)`);
    }
  }
  return ok(out);
}

/** Validate one of this module's requests (`cmd` already known to be one of them). */
export function parseOpsRequest(v: Record<string, unknown>): Result<OpsRequest, string> {
  switch (v['cmd']) {
    case 'show-destinations': {
      const f = parseShowFilter(v['filter']);
      if (!f.ok) return f;
      return ok(f.value === undefined ? { cmd: 'show-destinations' } : { cmd: 'show-destinations', filter: f.value });
    }
    case 'show-summary':
      return ok({ cmd: 'show-summary' });
    case 'clear-statistics':
      return ok({ cmd: 'clear-statistics' });
    case 'clear-destination': {
      const peer = v['peer'];
      const local = v['localGateway'];
      if (!isAddress(peer)) return err('clear-destination needs "peer" (the peer\'s IP address)');
      if (local === undefined) return ok({ cmd: 'clear-destination', peer });
      return isAddress(local) ? ok({ cmd: 'clear-destination', peer, localGateway: local }) : err('"localGateway" must be an IP address');
    }
    default:
      return err(`unknown command "${String(v['cmd'])}"`);
  }
}

/** Whether `cmd` is one of this module's commands. */
export const isOpsCommand = (cmd: string): cmd is OpsRequest['cmd'] =>
  cmd === 'show-destinations' || cmd === 'show-summary' || cmd === 'clear-destination' || cmd === 'clear-statistics';
