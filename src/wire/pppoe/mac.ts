/**
 * IEEE 802 MAC addresses as numbers: 48 bits fit a double exactly, so a MAC keys a Map or joins a
 * session key without allocating a string per frame. Text form `aa:bb:cc:dd:ee:ff`.
 */

/** A 48-bit MAC address (0 .. 2^48-1). */
export type MacAddress = number & { readonly __brand: 'MacAddress' };

const TWO32 = 0x1_0000_0000;

/** The Ethernet broadcast address ff:ff:ff:ff:ff:ff. */
export const BROADCAST_MAC = 0xffff_ffff_ffff as MacAddress;

/** Read 6 bytes at `o` (the caller has checked bounds). */
export function readMac(b: Uint8Array, o: number): MacAddress {
  const hi = ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
  const lo = (((b[o + 2] ?? 0) << 24) | ((b[o + 3] ?? 0) << 16) | ((b[o + 4] ?? 0) << 8) | (b[o + 5] ?? 0)) >>> 0;
  return (hi * TWO32 + lo) as MacAddress;
}

/** Write `mac` as 6 bytes at `o`. */
export function writeMac(b: Uint8Array, o: number, mac: MacAddress): void {
  const hi = Math.floor(mac / TWO32);
  const lo = mac % TWO32;
  b[o] = (hi >>> 8) & 0xff;
  b[o + 1] = hi & 0xff;
  b[o + 2] = (lo >>> 24) & 0xff;
  b[o + 3] = (lo >>> 16) & 0xff;
  b[o + 4] = (lo >>> 8) & 0xff;
  b[o + 5] = lo & 0xff;
}

/** The 6 bytes of `mac`. */
export function macBytes(mac: MacAddress): Uint8Array {
  const out = new Uint8Array(6);
  writeMac(out, 0, mac);
  return out;
}

/** A MAC from a number, or undefined when it is not a 48-bit integer. */
export function macFromNumber(n: number): MacAddress | undefined {
  return Number.isInteger(n) && n >= 0 && n <= BROADCAST_MAC ? (n as MacAddress) : undefined;
}

/** `aa:bb:cc:dd:ee:ff`. */
export function formatMac(mac: MacAddress): string {
  const b = macBytes(mac);
  let s = '';
  for (let i = 0; i < 6; i++) s += (i === 0 ? '' : ':') + (b[i] ?? 0).toString(16).padStart(2, '0');
  return s;
}

/** Parse `aa:bb:cc:dd:ee:ff` (or `-` separated); undefined when malformed. */
export function parseMac(text: string): MacAddress | undefined {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) return undefined;
  const b = Uint8Array.from(parts.map((p) => parseInt(p, 16)));
  return readMac(b, 0);
}

/** IEEE 802 §8.2: the I/G bit (least significant bit of the first octet) marks group addresses. */
export function isGroupMac(mac: MacAddress): boolean {
  return Math.floor(mac / 0x100_0000_0000) % 2 === 1;
}
