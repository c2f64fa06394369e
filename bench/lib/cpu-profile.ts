// Self and inclusive time per function of a V8 .cpuprofile (node --cpu-prof), optionally only
// the samples of a window: `node dist/bench/lib/cpu-profile.js FILE [--from=S] [--to=S] [--top=N]`
// with S in seconds from the start of the profile (negative: from its end). Used to find where the
// idle LNS spends its CPU in bench/scale-100k (--cpu-prof).
import { readFileSync } from 'node:fs';

export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
export interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
export interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Per-function microseconds: self and inclusive (each function counted once per sample). */
export interface FunctionTime {
  readonly name: string;
  self: number;
  total: number;
}

const label = (f: CallFrame): string => `${f.functionName === '' ? '(anonymous)' : f.functionName} ${f.url.replace(/^.*\/(dist|node:)/, '$1')}:${f.lineNumber + 1}`;

/** Times per function over the samples in [fromUs, toUs) (microseconds from the profile's start). */
export function functionTimes(p: Profile, fromUs: number, toUs: number): { readonly times: FunctionTime[]; readonly sampledUs: number } {
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const times = new Map<string, FunctionTime>();
  const get = (name: string): FunctionTime => {
    let t = times.get(name);
    if (t === undefined) times.set(name, (t = { name, self: 0, total: 0 }));
    return t;
  };
  let t = 0;
  let sampledUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    const dt = p.timeDeltas[i + 1] ?? 0;
    if (t < fromUs || t >= toUs) continue;
    sampledUs += dt;
    let id: number | undefined = p.samples[i];
    const node = id === undefined ? undefined : byId.get(id);
    if (node === undefined) continue;
    get(label(node.callFrame)).self += dt;
    const seen = new Set<string>();
    while (id !== undefined) {
      const n = byId.get(id);
      if (n === undefined) break;
      const l = label(n.callFrame);
      if (!seen.has(l)) {
        seen.add(l);
        get(l).total += dt;
      }
      id = parent.get(id);
    }
  }
  return { times: [...times.values()], sampledUs };
}

function main(): void {
  const file = process.argv[2];
  if (file === undefined) {
    console.log('usage: cpu-profile FILE [--from=S] [--to=S] [--top=N]');
    return;
  }
  const arg = (k: string): number | undefined => {
    const v = process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
    return v === undefined ? undefined : Number(v);
  };
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const len = p.endTime - p.startTime;
  const at = (s: number | undefined, dflt: number): number => (s === undefined ? dflt : s < 0 ? len + s * 1e6 : s * 1e6);
  const from = at(arg('from'), 0);
  const to = at(arg('to'), len);
  const top = arg('top') ?? 30;
  const { times, sampledUs } = functionTimes(p, from, to);
  const wall = to - from;
  const idle = times.find((x) => x.name.startsWith('(idle)'))?.self ?? 0;
  console.log(`window ${(from / 1e6).toFixed(1)}-${(to / 1e6).toFixed(1)} s of ${(len / 1e6).toFixed(1)} s; busy ${(((sampledUs - idle) / wall) * 100).toFixed(1)} % of one core`);
  const pct = (us: number): string => `${((us / wall) * 100).toFixed(2)} %`.padStart(8);
  console.log('--- self');
  for (const x of [...times].sort((a, b) => b.self - a.self).slice(0, top)) console.log(`${pct(x.self)}  ${x.name}`);
  console.log('--- inclusive');
  for (const x of [...times].sort((a, b) => b.total - a.total).slice(0, top)) console.log(`${pct(x.total)}  ${x.name}`);
}

if (process.argv[1]?.endsWith('cpu-profile.js') === true) main();
