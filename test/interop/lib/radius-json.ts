/** JSON for the RADIUS child protocol: octet strings as `{"$hex": "..."}`, bigints refused. */

/** Replace every Uint8Array by `{ $hex }` (deeply). */
export function toWire(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $hex: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map(toWire);
  if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), toWire(x)]));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toWire(x)]));
  return v;
}

/** The reverse of {@link toWire}. */
export function fromWire(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromWire);
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    if (typeof o['$hex'] === 'string' && Object.keys(o).length === 1) return Uint8Array.from(Buffer.from(o['$hex'], 'hex'));
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, fromWire(x)]));
  }
  return v;
}
