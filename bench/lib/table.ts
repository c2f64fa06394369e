/**
 * Plain-text tables and number formatting for benchmark output (printed numbers, not pass/fail).
 */

/** Column alignment: numbers right, text left. */
export type Align = 'left' | 'right';

/** Render rows under a header as a Markdown-compatible pipe table with padded columns. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], align?: readonly Align[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (s: string, i: number): string => {
    const w = widths[i] ?? s.length;
    return (align?.[i] ?? 'left') === 'right' ? s.padStart(w) : s.padEnd(w);
  };
  const line = (cells: readonly string[]): string => `| ${headers.map((_, i) => cell(cells[i] ?? '', i)).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => ((align?.[i] ?? 'left') === 'right' ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/** A rate or count with thousands separators and `digits` decimals; '-' for undefined/NaN. */
export function fmtNum(v: number | undefined, digits = 0): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Bytes as "12,345 B" or with KiB/MiB for large values. */
export function fmtBytes(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a >= 10 * 1024 * 1024) return `${fmtNum(v / (1024 * 1024), 1)} MiB`;
  if (a >= 10 * 1024) return `${fmtNum(v / 1024, 1)} KiB`;
  return `${fmtNum(v)} B`;
}

/** The ratio a/b formatted as "1.23x", or '-' when either side is missing. */
export function fmtRatio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '-';
  return `${(a / b).toFixed(2)}x`;
}

/** The p-th percentile (0..100) of a list of numbers (nearest rank), undefined when empty. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((x, y) => x - y);
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank];
}

/** Read `--name=value` as a number from argv (or the default). */
export function numArg(name: string, dflt: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  if (a === undefined) return dflt;
  const v = Number(a.slice(name.length + 3));
  return Number.isFinite(v) ? v : dflt;
}

/** True when `--name` (a bare flag) is on argv. */
export function flagArg(name: string): boolean {
  return process.argv.includes(`--${name}`);
}
