/**
 * Endpoints and textual IP addresses <-> bytes, without node:net (cores do no I/O).
 */

/** A UDP endpoint as the I/O shell reports it. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** Parse a dotted IPv4 or RFC 4291 §2.2 IPv6 text address into 4 or 16 bytes. */
export function ipToBytes(a: string): Uint8Array | undefined {
  if (a.includes('.') && !a.includes(':')) {
    const parts = a.split('.');
    if (parts.length !== 4) return undefined;
    const out = new Uint8Array(4);
    for (let i = 0; i < 4; i++) {
      const p = parts[i] ?? '';
      if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
      out[i] = Number(p);
    }
    return out;
  }
  if (!a.includes(':')) return undefined;
  let s = a;
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4?.[1]) {
    const b = ipToBytes(v4[1]);
    if (!b) return undefined;
    const w1 = (((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16);
    const w2 = (((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16);
    s = `${s.slice(0, s.length - v4[1].length)}${w1}:${w2}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const words = (x: string): number[] | undefined => {
    if (x === '') return [];
    const ws = x.split(':');
    const out: number[] = [];
    for (const w of ws) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(w)) return undefined;
      out.push(parseInt(w, 16));
    }
    return out;
  };
  const head = words(halves[0] ?? '');
  const rest = halves.length === 2 ? words(halves[1] ?? '') : [];
  if (!head || !rest) return undefined;
  const all = [...head, ...rest];
  const fill = 8 - all.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined;
  const full = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...rest];
  const out = new Uint8Array(16);
  full.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** 4 or 16 bytes back to text (IPv6 without zero compression). */
export function bytesToIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  const ws: string[] = [];
  for (let i = 0; i + 1 < b.length; i += 2) ws.push((((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16));
  return ws.join(':');
}

/** Same address and port. */
export const sameEndpoint = (a: Endpoint, b: Endpoint): boolean => a.address === b.address && a.port === b.port;
