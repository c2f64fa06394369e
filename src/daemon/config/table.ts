/**
 * The machinery of the config schema: a key row (TOML key, value type, default, doc), a table
 * spec (a `[table]` or `[[array]]` of rows, optional groups switched on by a boolean key), and the
 * reader that checks one TOML table against its spec: unknown keys (with a suggestion), each value
 * through its type, required keys, keys of a group that is off. Every problem goes to `fail(key,
 * message)` with the full key path (`lac[0].lns`); the reader never throws.
 */
import type { ValueType } from './values.js';
import { suggest } from './locate.js';

/** One key of the schema. */
export interface KeyRow<T> {
  /** The TOML key inside its table. */
  readonly key: string;
  readonly type: ValueType<T>;
  /** The value when the key is absent (a placeholder when `required`, see `computed`). */
  readonly default: T;
  /** What the key does (docs/CONFIG.md). */
  readonly doc: string;
  /** The default is computed when the section is built; this says from what (docs). */
  readonly computed?: string;
  /** Absent is an error at the table's path with this message. */
  readonly required?: string;
  /** Never shown: `--print-config` masks it, docs show no value. */
  readonly secret?: boolean;
}

/** Rows of a table, by the property name of the parsed value. */
export type Rows = Readonly<Record<string, KeyRow<unknown>>>;

/** The typed values a set of rows parses into. */
export type ValuesOf<R extends Rows> = { readonly [K in keyof R]: R[K] extends KeyRow<infer T> ? T : never };

/** Rows that apply only when the boolean key `switch` of the same table is true (`ppp = true`). */
export interface GroupSpec<R extends Rows = Rows> {
  readonly switch: KeyRow<boolean>;
  readonly rows: R;
}

/** Groups of a table, by name. */
export type Groups = Readonly<Record<string, GroupSpec>>;

/** One `[table]` or `[[array of tables]]`. */
export interface TableSpec<R extends Rows = Rows, G extends Groups = Groups> {
  /** Full dotted path: `daemon`, `lac`, `ipsec.peer`. */
  readonly path: string;
  /** `[[path]]` (any number) rather than `[path]`. */
  readonly array: boolean;
  /** What the table is for (docs/CONFIG.md). */
  readonly doc: string;
  /** `enabled = false` turns the section off (its presence turns it on). */
  readonly enabled?: KeyRow<boolean>;
  readonly rows: R;
  readonly groups: G;
  /** Tables nested in this one (`peer` in `[ipsec]`). */
  readonly children?: readonly string[];
}

/** A row; `extra` marks it computed, required or secret. */
export function key<T>(k: string, type: ValueType<T>, def: T, doc: string, extra: Pick<KeyRow<T>, 'computed' | 'required' | 'secret'> = {}): KeyRow<T> {
  return { key: k, type, default: def, doc, ...extra };
}

/** A table spec (groups default to none). */
export function table<R extends Rows, G extends Groups = Record<never, never>>(spec: Omit<TableSpec<R, G>, 'groups'> & { readonly groups?: G }): TableSpec<R, G> {
  return { ...spec, groups: spec.groups ?? ({} as G) };
}

/** Every row's default (what an empty table parses into). */
export function defaultsOf<R extends Rows>(rows: R): ValuesOf<R> {
  const out: Record<string, unknown> = {};
  for (const [field, r] of Object.entries(rows)) out[field] = r.default;
  return out as ValuesOf<R>;
}

/** A TOML table as smol-toml returns it. */
export type TomlTable = Record<string, unknown>;

/** True for a TOML table (not an array, date or scalar). */
export const isTable = (v: unknown): v is TomlTable => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** One table read against its spec. */
export interface ReadTable<R extends Rows, G extends Groups> {
  /** Where it is (`lac[1]`, `daemon`). */
  readonly path: string;
  /** The index in its array (0 for a plain table). */
  readonly index: number;
  /** The table is in the file. */
  readonly present: boolean;
  /** `enabled` (true when the spec has none). */
  readonly enabled: boolean;
  readonly values: ValuesOf<R>;
  /** Each group's values when its switch is on, else undefined. */
  readonly groups: { readonly [K in keyof G]: ValuesOf<G[K]['rows']> | undefined };
  /** The TOML keys given in the file. */
  readonly given: ReadonlySet<string>;
  /** The raw TOML table (for nested tables). */
  readonly toml: TomlTable;
}

/** Every key a table accepts. */
export function knownKeys(spec: TableSpec): string[] {
  const out: string[] = [];
  if (spec.enabled !== undefined) out.push(spec.enabled.key);
  for (const r of Object.values(spec.rows)) out.push(r.key);
  for (const g of Object.values(spec.groups)) out.push(g.switch.key, ...Object.values(g.rows).map((r) => r.key));
  out.push(...(spec.children ?? []));
  return out;
}

/** Checks TOML tables against specs, reporting through `fail`. */
export class TableReader {
  /** `fail(key, message)` records one problem (the caller adds the line). */
  constructor(private readonly fail: (key: string, message: string) => void) {}

  /** Unknown keys of `t` (at `path`, '' for the top level), with a suggestion when close. */
  unknownKeys(t: TomlTable, path: string, known: readonly string[]): void {
    for (const k of Object.keys(t)) {
      if (known.includes(k)) continue;
      const s = suggest(k, known);
      this.fail(path === '' ? k : `${path}.${k}`, s === undefined ? 'unknown key' : `unknown key (did you mean "${s}"?)`);
    }
  }

  /** A plain `[table]` inside `parent` (the document or an enclosing table). */
  section<R extends Rows, G extends Groups>(spec: TableSpec<R, G>, parent: TomlTable): ReadTable<R, G> {
    const name = spec.path.split('.').pop() ?? spec.path;
    const v = parent[name];
    let t: TomlTable = {};
    if (isTable(v)) t = v;
    else if (v !== undefined) this.fail(spec.path, `expected a table ([${spec.path}])`);
    return this.fields(spec, t, spec.path, 0, v !== undefined);
  }

  /** Every `[[table]]` inside `parent`. */
  array<R extends Rows, G extends Groups>(spec: TableSpec<R, G>, parent: TomlTable): ReadTable<R, G>[] {
    const name = spec.path.split('.').pop() ?? spec.path;
    const v = parent[name];
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every(isTable)) {
      this.fail(spec.path, `expected an array of tables ([[${spec.path}]])`);
      return [];
    }
    return v.map((t, i) => this.fields(spec, t, `${spec.path}[${i}]`, i, true));
  }

  private fields<R extends Rows, G extends Groups>(spec: TableSpec<R, G>, t: TomlTable, path: string, index: number, present: boolean): ReadTable<R, G> {
    this.unknownKeys(t, path, knownKeys(spec));
    const enabled = spec.enabled === undefined ? true : this.value(spec.enabled, t, path);
    const values = this.rows(spec.rows, t, path);
    const groups: Record<string, unknown> = {};
    for (const [name, g] of Object.entries(spec.groups)) {
      if (this.value(g.switch, t, path)) {
        groups[name] = this.rows(g.rows, t, path);
        continue;
      }
      groups[name] = undefined;
      for (const r of Object.values(g.rows)) if (r.key in t) this.fail(`${path}.${r.key}`, `only used with ${g.switch.key} = true`);
    }
    return {
      path,
      index,
      present,
      enabled,
      values,
      groups: groups as ReadTable<R, G>['groups'],
      given: new Set(Object.keys(t)),
      toml: t,
    };
  }

  private rows<R extends Rows>(rows: R, t: TomlTable, path: string): ValuesOf<R> {
    const out: Record<string, unknown> = {};
    for (const [field, r] of Object.entries(rows)) out[field] = this.value(r, t, path);
    return out as ValuesOf<R>;
  }

  private value<T>(r: KeyRow<T>, t: TomlTable, path: string): T {
    if (!(r.key in t)) {
      if (r.required !== undefined) this.fail(path, r.required);
      return r.default;
    }
    const v = r.type.parse(t[r.key]);
    if (v.ok) return v.value;
    this.fail(`${path}.${r.key}`, v.error);
    return r.default;
  }
}
