// The long event-loop turns of a V8 .cpuprofile (node --cpu-prof): runs of samples without an
// `(idle)` sample between them that last more than --min ms (default 20), each with the functions
// most of its samples were inside (inclusive share, deepest last), so a stall is named by its
// caller chain. `node dist/bench/lib/long-turns.js FILE [--min=MS] [--top=N] [--from=S] [--to=S]`. Used for issue 15
// (bench/scale-100k --cpu-prof: which turns of `show sessions` and the scrapes stall the loop).
// A sample's time includes any time the process was not scheduled (2 shared cores): read the
// durations as upper bounds.
import { readFileSync } from 'node:fs';

import type { CallFrame, Profile, ProfileNode } from './cpu-profile.js';

/** One busy run: start (µs from the profile's start), length, and the sampled node ids. */
export interface Turn {
  readonly startUs: number;
  readonly us: number;
  readonly nodes: readonly number[];
}

const label = (f: CallFrame): string => `${f.functionName === '' ? '(anonymous)' : f.functionName} ${f.url.replace(/^.*\/(dist|node:)/, '$1')}:${f.lineNumber + 1}`;

/** The busy runs of `p` longer than `minUs`. */
export function longTurns(p: Profile, isIdle: (id: number) => boolean, minUs: number): Turn[] {
  const out: Turn[] = [];
  let t = 0;
  let cur: { startUs: number; us: number; nodes: number[] } | undefined;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    const id = p.samples[i] ?? 0;
    const dt = p.timeDeltas[i + 1] ?? 0;
    if (isIdle(id)) {
      if (cur !== undefined && cur.us >= minUs) out.push(cur);
      cur = undefined;
      continue;
    }
    cur ??= { startUs: t, us: 0, nodes: [] };
    cur.us += dt;
    cur.nodes.push(id);
  }
  if (cur !== undefined && cur.us >= minUs) out.push(cur);
  return out;
}

function main(): void {
  const file = process.argv[2];
  if (file === undefined) {
    console.log('usage: long-turns FILE [--min=MS] [--top=N] [--from=S] [--to=S]');
    return;
  }
  const arg = (k: string, d: number): number => Number(process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3) ?? d);
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const from = arg('from', 0) * 1e6;
  const to = arg('to', Infinity) * 1e6;
  const turns = longTurns(p, (id) => byId.get(id)?.callFrame.functionName === '(idle)', arg('min', 20) * 1000).filter((x) => x.startUs >= from && x.startUs < to);
  const top = arg('top', 6);
  console.log(`${turns.length} turns >= ${arg('min', 20)} ms in ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s`);
  for (const turn of turns) {
    // Inclusive count per function (once per sample) and its depth.
    const inc = new Map<string, { n: number; depth: number }>();
    for (const leaf of turn.nodes) {
      const chain: string[] = [];
      for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
        const n = byId.get(id);
        if (n !== undefined) chain.push(label(n.callFrame));
      }
      chain.reverse();
      const seen = new Set<string>();
      chain.forEach((l, depth) => {
        if (seen.has(l)) return;
        seen.add(l);
        const e = inc.get(l) ?? { n: 0, depth };
        e.n++;
        inc.set(l, e);
      });
    }
    const rows = [...inc.entries()].filter(([l, e]) => e.n >= turn.nodes.length * 0.2 && !l.startsWith('(root)')).sort((a, b) => a[1].depth - b[1].depth);
    const shown = process.argv.includes('--all') ? rows.slice(-top) : rows.filter(([l]) => l.includes('dist/src') || l.startsWith('(garbage')).slice(-top);
    console.log(`\n${(turn.startUs / 1e6).toFixed(2)} s: ${(turn.us / 1000).toFixed(0)} ms`);
    for (const [l, e] of shown.length > 0 ? shown : rows.slice(-top)) console.log(`  ${((e.n / turn.nodes.length) * 100).toFixed(0).padStart(3)} %  ${l}`);
  }
}

if (process.argv[1]?.endsWith('long-turns.js') === true) main();
