/**
 * A reader for FreeRADIUS-format dictionary files (the `dictionary.*` files of FreeRADIUS 3, see
 * its `man 5 dictionary`), for vendor attributes beyond the built-in rows. Pure: the caller hands in
 * the text and resolves `$INCLUDE`s (the daemon reads files; tests pass strings).
 *
 * Understood: `VENDOR name id [format=1,1]`, `BEGIN-VENDOR name` / `END-VENDOR name`,
 * `ATTRIBUTE name number type [flags] [vendor]` with flags `has_tag`, `encrypt=1|2`,
 * `VALUE attribute name number`, `$INCLUDE file`. Data types without a codec here (tlv, ether,
 * abinary, combo-ip, ...) become opaque octets; "extended" numbers (`241.1`) are skipped with a note.
 */
import type { AttributeDef, Encryption, TagRule } from './dictionary.js';
import type { RadiusValueType } from './values.js';

/** What one dictionary text (and its includes) defines. */
export interface FreeRadiusDictionary {
  readonly vendors: readonly { readonly id: number; readonly name: string }[];
  readonly attributes: readonly AttributeDef[];
  /** Lines that were not understood or skipped, with the reason (never fatal). */
  readonly notes: readonly { readonly file: string; readonly line: number; readonly text: string; readonly reason: string }[];
}

/** FreeRADIUS data type names -> ours. */
const TYPES: Readonly<Record<string, RadiusValueType>> = {
  string: 'text',
  octets: 'octets',
  integer: 'integer',
  uint32: 'integer',
  signed: 'integer',
  date: 'date',
  ipaddr: 'ipaddr',
  ipv6addr: 'ipv6addr',
  ipv6prefix: 'ipv6prefix',
  ifid: 'ifid',
  integer64: 'integer64',
  byte: 'byte',
  uint8: 'byte',
  short: 'short',
  uint16: 'short',
};

interface State {
  readonly vendors: Map<string, number>;
  readonly vendorList: { id: number; name: string }[];
  readonly attrs: Map<string, { def: AttributeDef; values: Record<number, string> }>;
  readonly order: string[];
  readonly notes: { file: string; line: number; text: string; reason: string }[];
  vendor: number;
}

/**
 * Parse `text` (named `file` in notes). `include(name, from)` returns the text of an included file
 * or undefined (noted); includes nest at most 8 deep. Later definitions replace earlier ones.
 */
export function parseFreeRadiusDictionary(text: string, file = 'dictionary', include?: (name: string, from: string) => string | undefined): FreeRadiusDictionary {
  const st: State = { vendors: new Map(), vendorList: [], attrs: new Map(), order: [], notes: [], vendor: 0 };
  parseInto(st, text, file, include, 0);
  const attributes = st.order.map((k) => {
    const e = st.attrs.get(k) as { def: AttributeDef; values: Record<number, string> };
    return Object.keys(e.values).length > 0 ? { ...e.def, values: e.values } : e.def;
  });
  return { vendors: st.vendorList, attributes, notes: st.notes };
}

function parseInto(st: State, text: string, file: string, include: ((name: string, from: string) => string | undefined) | undefined, depth: number): void {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const f = line.split(/\s+/);
    const note = (reason: string): void => {
      st.notes.push({ file, line: i + 1, text: raw.trim(), reason });
    };
    switch (f[0]) {
      case '$INCLUDE':
      case '$INCLUDE-':
        if (depth >= 8) note('includes nest too deep');
        else {
          const sub = f[1] === undefined ? undefined : include?.(f[1], file);
          if (sub === undefined) {
            if (f[0] === '$INCLUDE') note('include not available');
          } else parseInto(st, sub, f[1] ?? '', include, depth + 1);
        }
        break;
      case 'VENDOR':
        vendorLine(st, f, note);
        break;
      case 'BEGIN-VENDOR': {
        const id = st.vendors.get(f[1] ?? '');
        if (id === undefined) note('unknown vendor');
        else st.vendor = id;
        break;
      }
      case 'END-VENDOR':
        st.vendor = 0;
        break;
      case 'ATTRIBUTE':
        attributeLine(st, f, note);
        break;
      case 'VALUE':
        valueLine(st, f, note);
        break;
      default:
        note('directive not supported');
    }
  }
}

function vendorLine(st: State, f: readonly string[], note: (r: string) => void): void {
  const name = f[1];
  const id = Number(f[2]);
  if (name === undefined || !Number.isInteger(id) || id <= 0 || id > 0xffffffff) {
    note('bad VENDOR line');
    return;
  }
  const fmt = f.slice(3).find((x) => x.startsWith('format='));
  // Only the RFC 2865 §5.26 recommended layout (1-octet type, 1-octet length) is split into sub-attributes.
  if (fmt !== undefined && !/^format=1,1(,c)?$/.test(fmt)) note(`vendor ${name}: ${fmt} is kept as opaque Vendor-Specific`);
  st.vendors.set(name, id);
  st.vendorList.push({ id, name });
}

function attributeLine(st: State, f: readonly string[], note: (r: string) => void): void {
  const [, name, num, typeText, ...rest] = f;
  if (name === undefined || num === undefined || typeText === undefined) {
    note('bad ATTRIBUTE line');
    return;
  }
  if (!/^\d+$/.test(num)) {
    note('extended / nested attribute numbers are not supported');
    return;
  }
  const type = Number(num);
  // "ATTRIBUTE name number type vendor" (old style) names the vendor in a fifth field.
  let vendor = st.vendor;
  const flags: string[] = [];
  for (const r of rest) {
    const v = st.vendors.get(r);
    if (v !== undefined) vendor = v;
    else flags.push(...r.split(','));
  }
  if (type > 255 && vendor === 0) {
    note('IETF attribute number above 255');
    return;
  }
  const sized = /^octets\[(\d+)\]$/.exec(typeText);
  const valueType = sized !== null ? 'octets' : TYPES[typeText];
  if (valueType === undefined) note(`type ${typeText} read as opaque octets`);
  const encrypt: Encryption = flags.includes('encrypt=1') ? 'user-password' : flags.includes('encrypt=2') ? 'salted' : 'none';
  if (flags.includes('encrypt=3')) note('Ascend-Send-Secret encryption not supported: kept encrypted');
  const vt = valueType ?? 'octets';
  const tag: TagRule = !flags.includes('has_tag') ? 'none' : encrypt === 'salted' ? 'always' : vt === 'integer' ? 'integer' : 'optional';
  const size = sized !== null ? { min: Number(sized[1]), max: Number(sized[1]) } : undefined;
  const def: AttributeDef = {
    name,
    vendor,
    type,
    valueType: vt,
    tag,
    encrypt,
    ...(size !== undefined ? { size } : {}),
    secret: encrypt !== 'none',
    reference: `FreeRADIUS dictionary${vendor !== 0 ? ` (vendor ${vendor})` : ''}`,
  };
  const key = name.toLowerCase();
  if (!st.attrs.has(key)) st.order.push(key);
  st.attrs.set(key, { def, values: st.attrs.get(key)?.values ?? {} });
}

function valueLine(st: State, f: readonly string[], note: (r: string) => void): void {
  const [, attr, name, num] = f;
  const e = attr === undefined ? undefined : st.attrs.get(attr.toLowerCase());
  const n = num === undefined ? NaN : num.startsWith('0x') ? parseInt(num, 16) : Number(num);
  if (e === undefined || name === undefined || !Number.isFinite(n)) {
    note('VALUE for an unknown attribute or bad number');
    return;
  }
  e.values[n] = name;
}
