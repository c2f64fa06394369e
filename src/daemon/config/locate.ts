/**
 * Where keys are in the TOML text (smol-toml gives no positions for values), and typo suggestions
 * for unknown keys.
 */

// ---------------------------------------------------------------------------------------------
// Key locations. smol-toml gives no positions for values, so scan the text: track the current
// table header ([t] or the n-th [[t]]) and record `path -> line` for every `key =` line.

/** Map every key path in the source (`daemon.log_level`, `lac[1].lns`, `lac[1]`) to its 1-based line. */
export function locateKeys(source: string): Map<string, number> {
  const out = new Map<string, number>();
  const arrayCounts = new Map<string, number>();
  let prefix = '';
  let inMultiline: '"""' | "'''" | undefined;
  const lines = source.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    if (inMultiline !== undefined) {
      if (countOf(line, inMultiline) % 2 === 1) inMultiline = undefined;
      return;
    }
    let m = /^\[\[\s*([^\]]+?)\s*\]\]/.exec(line);
    if (m?.[1] !== undefined) {
      const name = normalizeKey(m[1]);
      const n = arrayCounts.get(name) ?? 0;
      arrayCounts.set(name, n + 1);
      prefix = `${name}[${n}]`;
      if (!out.has(prefix)) out.set(prefix, lineNo);
      if (!out.has(name)) out.set(name, lineNo);
      return;
    }
    m = /^\[\s*([^\]]+?)\s*\]/.exec(line);
    if (m?.[1] !== undefined) {
      prefix = normalizeKey(m[1]);
      if (!out.has(prefix)) out.set(prefix, lineNo);
      return;
    }
    m = /^((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=(.*)$/.exec(line);
    if (m?.[1] !== undefined) {
      const key = normalizeKey(m[1]);
      // Record `a.b.c` and its prefixes `a.b`, `a` (dotted keys define implicit tables).
      const parts = key.split('.');
      for (let n = parts.length; n >= 1; n--) {
        const sub = parts.slice(0, n).join('.');
        const path = prefix === '' ? sub : `${prefix}.${sub}`;
        if (!out.has(path)) out.set(path, lineNo);
      }
      const rest = m[2] ?? '';
      for (const q of ['"""', "'''"] as const) {
        if (countOf(rest, q) % 2 === 1) inMultiline = q;
      }
    }
  });
  return out;
}

/** The line of `key`, or of its nearest located parent (`lac[0].port` -> `lac[0]` -> `lac`). */
export function lineOf(lines: Map<string, number>, key: string): number | undefined {
  let k = key;
  for (;;) {
    const l = lines.get(k);
    if (l !== undefined) return l;
    const cut = Math.max(k.lastIndexOf('.'), k.lastIndexOf('['));
    if (cut <= 0) return undefined;
    k = k.slice(0, cut);
  }
}

function normalizeKey(k: string): string {
  return k
    .split('.')
    .map((p) => p.trim().replace(/^["']|["']$/g, ''))
    .join('.');
}

function countOf(s: string, needle: string): number {
  let n = 0;
  for (let i = s.indexOf(needle); i !== -1; i = s.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** The closest known key when it is plausibly a typo (edit distance <= max(2, len/3)). */
export function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, sub));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
