/**
 * Compare two V8 heap snapshots (node:v8 writeHeapSnapshot) by node type and name: count and
 * self size added between them, per `perN` items (e.g. sessions). Used to see what an idle PPP
 * session holds (bench/ppp-memory.ts --heap-snapshot=DIR).
 * Run: node dist/bench/lib/heap-diff.js BASE.heapsnapshot AFTER.heapsnapshot N [TOP]
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: readonly string[]; readonly node_types: readonly (readonly string[] | string)[] } };
  readonly nodes: readonly number[];
  readonly strings: readonly string[];
}

/** Count and self size per "type:name". */
export function tally(path: string): Tally {
  const s = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const f = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0] as readonly string[];
  const width = f.length;
  const iType = f.indexOf('type');
  const iName = f.indexOf('name');
  const iSize = f.indexOf('self_size');
  const out = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType] as number] ?? '?';
    let name = s.strings[s.nodes[i + iName] as number] ?? '?';
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '';
    if (type === 'code' || type === 'hidden') name = name.slice(0, 40);
    const k = `${type}:${name}`;
    const e = out.get(k) ?? { count: 0, size: 0 };
    e.count++;
    e.size += s.nodes[i + iSize] as number;
    out.set(k, e);
  }
  return out;
}

/** A count and self size per key, as `tally` and heap-retainers' `retainerTally` return. */
export type Tally = Map<string, { count: number; size: number }>;

/**
 * The CLI of both snapshot tools: BASE AFTER N [TOP] from argv, AFTER's tally minus BASE's per N items,
 * the TOP biggest rows printed (`name` in the usage line).
 */
export function printTallyDiff(name: string, tallyOf: (path: string) => Tally, defaultTop: number): void {
  const [a, b, nArg, topArg] = process.argv.slice(2);
  if (a === undefined || b === undefined) {
    console.error(`usage: ${name} BASE AFTER N [TOP]`);
    process.exit(2);
  }
  const n = Number(nArg ?? 1);
  const before = tallyOf(a);
  const after = tallyOf(b);
  const rows: { k: string; count: number; size: number }[] = [];
  for (const [k, v] of after) {
    const o = before.get(k) ?? { count: 0, size: 0 };
    rows.push({ k, count: (v.count - o.count) / n, size: (v.size - o.size) / n });
  }
  rows.sort((x, y) => y.size - x.size);
  const total = rows.reduce((t, r) => t + r.size, 0);
  console.log(`per item (N = ${n}): ${total.toFixed(0)} B self size in all`);
  for (const r of rows.slice(0, Number(topArg ?? defaultTop))) console.log(`${r.size.toFixed(1).padStart(8)} B ${r.count.toFixed(2).padStart(7)} x  ${r.k}`);
}

if (process.argv[1]?.endsWith('heap-diff.js') === true) printTallyDiff('heap-diff', tally, 40);
