/**
 * Tagged Ethernet frames through TAPs for the daemon-level pseudowire tests: an AF_PACKET socket on one
 * TAP sends frames (EtherType 0x8863, a 16-bit tag in the payload), another counts the tags that come
 * out of the far TAP.
 */
import type { PacketSocket } from '../../src/io/packet-socket.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A 64-byte Ethernet frame with EtherType 0x8863 and `tag` at bytes 20-21. */
export function taggedFrame(tag: number): Uint8Array {
  const f = new Uint8Array(64);
  f.set([0x02, 0, 0, 0, 0, 0xbb, 0x02, 0, 0, 0, 0, 0xaa, 0x88, 0x63], 0);
  f[20] = tag >>> 8;
  f[21] = tag & 0xff;
  return f;
}

/** Send `count` tagged frames into `into` and count those that come out of `out` (waits at most 3 s). */
export async function forwardFrames(into: PacketSocket, out: PacketSocket, base: number, count: number): Promise<number> {
  const seen = new Set<number>();
  out.onPackets((b) => {
    for (let i = 0; i < b.count; i++) {
      const off = b.offset(i);
      if (b.length(i) >= 22 && b.buffer[off + 12] === 0x88 && b.buffer[off + 13] === 0x63) seen.add(((b.buffer[off + 20] ?? 0) << 8) | (b.buffer[off + 21] ?? 0));
    }
  });
  for (let i = 0; i < count; i++) {
    into.send(taggedFrame(base + i));
    await sleep(5);
  }
  const end = Date.now() + 3000;
  while (Date.now() < end && [...Array(count).keys()].some((i) => !seen.has(base + i))) await sleep(20);
  return [...Array(count).keys()].filter((i) => seen.has(base + i)).length;
}
