/**
 * Retainers of what a heap grew by: every node of AFTER is attributed to its first strong retainer as
 * "retainer-name.edge -> type:name", counted and summed by self size, minus the same tally of BASE,
 * per `perN` items. Shows which field of which object holds the bytes of an idle session (names of
 * Map/array slots collapse to `[]`). Companion of bench/lib/heap-diff.ts.
 * Run: node dist/bench/lib/heap-retainers.js BASE.heapsnapshot AFTER.heapsnapshot N [TOP]
 */
import { readFileSync } from 'node:fs';
import { printTallyDiff, type Tally } from './heap-diff.js';

interface Snapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: readonly string[]; readonly node_types: readonly (readonly string[] | string)[]; readonly edge_fields: readonly string[]; readonly edge_types: readonly (readonly string[] | string)[] } };
  readonly nodes: readonly number[];
  readonly edges: readonly number[];
  readonly strings: readonly string[];
}

/** A node's key: type and constructor / name (strings and code collapsed). */
function nodeKey(type: string, name: string): string {
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number') return type;
  if (type === 'code' || type === 'hidden' || type === 'array') return `${type}:${name.slice(0, 40)}`;
  return `${type}:${name}`;
}

/** Count and self size per "retainer.edge -> node". */
export function retainerTally(path: string): Tally {
  const s = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const m = s.snapshot.meta;
  const nf = m.node_fields;
  const ef = m.edge_fields;
  const nTypes = m.node_types[0] as readonly string[];
  const eTypes = m.edge_types[0] as readonly string[];
  const W = nf.length;
  const EW = ef.length;
  const [iType, iName, iSize, iEdges] = [nf.indexOf('type'), nf.indexOf('name'), nf.indexOf('self_size'), nf.indexOf('edge_count')];
  const [eType, eName, eTo] = [ef.indexOf('type'), ef.indexOf('name_or_index'), ef.indexOf('to_node')];
  const count = s.nodes.length / W;
  const parent = new Int32Array(count).fill(-1);
  const parentEdge = new Array<string>(count);
  let e = 0;
  for (let n = 0; n < count; n++) {
    const edges = s.nodes[n * W + iEdges] as number;
    const pType = nTypes[s.nodes[n * W + iType] as number] ?? '?';
    for (let k = 0; k < edges; k++, e += EW) {
      const et = eTypes[s.edges[e + eType] as number] ?? '?';
      if (et === 'weak' || et === 'shortcut') continue;
      const child = (s.edges[e + eTo] as number) / W;
      if (parent[child] !== -1 || pType === 'synthetic') continue;
      parent[child] = n;
      const nm = s.edges[e + eName] as number;
      // Internal edges of a Map's table are named by index: collapse them like elements.
      const edgeName = et === 'element' || et === 'hidden' ? '[]' : (s.strings[nm] ?? '?');
      parentEdge[child] = /^\d+$/.test(edgeName) ? '[]' : edgeName;
    }
  }
  const out = new Map<string, { count: number; size: number }>();
  const keyOf = (n: number): string => nodeKey(nTypes[s.nodes[n * W + iType] as number] ?? '?', s.strings[s.nodes[n * W + iName] as number] ?? '?');
  for (let n = 0; n < count; n++) {
    const p = parent[n] as number;
    const k = `${p < 0 ? '(root)' : keyOf(p)}.${parentEdge[n] ?? ''} -> ${keyOf(n)}`;
    const v = out.get(k) ?? { count: 0, size: 0 };
    v.count++;
    v.size += s.nodes[n * W + iSize] as number;
    out.set(k, v);
  }
  return out;
}

if (process.argv[1]?.endsWith('heap-retainers.js') === true) printTallyDiff('heap-retainers', retainerTally, 60);
