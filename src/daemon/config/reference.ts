/**
 * docs/CONFIG.md's key reference, generated from the schema table: one markdown table per TOML
 * table, one line per key (type, default, meaning). config-schema.test.ts checks that the file
 * holds exactly this text between the markers, so a key cannot be added, renamed or re-defaulted
 * without the docs following.
 */
import type { KeyRow, TableSpec } from './table.js';
import { SCHEMA } from './schema.js';

/** The markers around the generated part of docs/CONFIG.md. */
export const REFERENCE_BEGIN = '<!-- BEGIN config reference: generated from src/daemon/config/schema.ts -->';
export const REFERENCE_END = '<!-- END config reference -->';

const cell = (s: string): string => s.replaceAll('|', '\\|');
const code = (s: string): string => `\`${s}\``;

/** The default column of a row. */
function defaultText(r: KeyRow<unknown>): string {
  if (r.required !== undefined) return 'required';
  if (r.computed !== undefined) return cell(r.computed);
  const text = r.type.format(r.default);
  return text === undefined || (r.secret === true && r.default === undefined) ? 'none' : code(cell(text));
}

function line(r: KeyRow<unknown>, note = ''): string {
  return `| ${code(r.key)} | ${cell(r.type.name)} | ${defaultText(r)} | ${note}${cell(r.doc)}${r.secret === true ? ' (secret: never printed)' : ''} |`;
}

/** The reference section for one table. */
export function tableReference(spec: TableSpec): string {
  const head = spec.array ? `[[${spec.path}]]` : `[${spec.path}]`;
  const out = [`### \`${head}\``, '', spec.doc, '', '| key | type | default | meaning |', '|---|---|---|---|'];
  if (spec.enabled !== undefined) out.push(line(spec.enabled));
  for (const r of Object.values(spec.rows)) out.push(line(r));
  for (const g of Object.values(spec.groups)) {
    out.push(line(g.switch));
    for (const r of Object.values(g.rows)) out.push(line(r, `with ${code(`${g.switch.key} = true`)}: `));
  }
  return out.join('\n');
}

/** The whole generated reference, markers included. */
export function configReference(schema: readonly TableSpec[] = SCHEMA): string {
  return [REFERENCE_BEGIN, '', ...schema.flatMap((s) => [tableReference(s), '']), REFERENCE_END].join('\n');
}
