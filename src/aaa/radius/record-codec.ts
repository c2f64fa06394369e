/**
 * Accounting records as spool lines (JSON with octet strings as hex) and back, validated field by
 * field: the spool file is input like any other and may be damaged. Also the interim schedule with
 * jitter, so that thousands of sessions started together do not send their interims together.
 */
import { err, ok, type RandomSource, type Result, toHex } from '../../base/index.js';
import { TERMINATE_CAUSE, type TerminateCause } from '../../wire/radius/index.js';
import type { AccountingRecord, AccountingSeq, AcctStatus, SpooledRecord } from './types.js';

const STATUSES: ReadonlySet<string> = new Set<AcctStatus>(['start', 'interim-update', 'stop', 'accounting-on', 'accounting-off']);
const CAUSES: ReadonlySet<number> = new Set(Object.values(TERMINATE_CAUSE));

/** JSON of a spooled record; Uint8Array values become `{"hex": "..."}`. */
export function encodeSpooledRecord(r: SpooledRecord): string {
  return JSON.stringify(r, (_k, v: unknown) => (v instanceof Uint8Array ? { hex: toHex(v) } : v));
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Octets from `{"hex": "..."}` (the only encoding `encodeSpooledRecord` writes). */
function octets(v: unknown): Uint8Array | undefined {
  if (!isObj(v) || typeof v['hex'] !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(v['hex'])) return undefined;
  const h = v['hex'];
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Revive octet strings everywhere in a parsed value (arrays and nested objects). */
function revive(v: unknown): unknown {
  const b = octets(v);
  if (b !== undefined) return b;
  if (Array.isArray(v)) return v.map(revive);
  if (isObj(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = revive(x);
    return out;
  }
  return v;
}

/** Parse a spool line back into a record, checking the fields the client relies on. */
export function decodeSpooledRecord(line: string): Result<SpooledRecord, string> {
  let v: unknown;
  try {
    v = revive(JSON.parse(line));
  } catch {
    return err('not JSON');
  }
  if (!isObj(v) || typeof v['seq'] !== 'number' || !Number.isSafeInteger(v['seq']) || v['seq'] <= 0) return err('bad seq');
  const r = v['record'];
  if (!isObj(r)) return err('no record');
  if (typeof r['status'] !== 'string' || !STATUSES.has(r['status'])) return err('bad status');
  if (typeof r['sessionId'] !== 'string') return err('bad sessionId');
  if (typeof r['timestamp'] !== 'number' || !Number.isFinite(r['timestamp'])) return err('bad timestamp');
  if (r['terminateCause'] !== undefined && (typeof r['terminateCause'] !== 'number' || !CAUSES.has(r['terminateCause']))) return err('bad terminateCause');
  if (r['classes'] !== undefined && (!Array.isArray(r['classes']) || !r['classes'].every((c) => c instanceof Uint8Array))) return err('bad classes');
  if (r['counters'] !== undefined) {
    const c = r['counters'];
    if (!isObj(c) || !['inputOctets', 'outputOctets', 'inputPackets', 'outputPackets'].every((k) => typeof c[k] === 'number')) return err('bad counters');
  }
  // The remaining optional fields are encoded as they are sent; the request builder checks them again.
  return ok({ seq: v['seq'] as AccountingSeq, record: r as unknown as AccountingRecord & { terminateCause?: TerminateCause } });
}

/**
 * Delay until the next Interim-Update: `intervalMs` with ±`jitter` (fraction, default 0.1) spread
 * evenly, never below 60 s unless the interval itself is shorter (RFC 2869 §2.1 recommends >= 60 s).
 */
export function interimDelayMs(intervalMs: number, random: RandomSource, jitter = 0.1): number {
  const j = Math.max(0, Math.min(0.5, jitter));
  const f = 1 - j + (2 * j * random.u32()) / 0x100000000;
  return Math.max(Math.min(intervalMs, 60_000), Math.round(intervalMs * f));
}
