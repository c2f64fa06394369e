/**
 * Input generators shared by the unit robustness test and `test/fuzz/fuzz.ts`: random bytes, random
 * bytes behind a plausible L2TPv2 header, and mutations of the valid vectors (bit flips, byte sets,
 * truncation, extension, Length / AVP-length rewrites, AVP splicing).
 */
import { seededRandom, type RandomSource } from '../../src/base/random.js';
import { emitControl } from '../../src/wire/l2tp/control.js';
import { MessageType, sessionId, tunnelId, type AvpName } from '../../src/wire/l2tp/types.js';
import { CONTROL_VECTORS, DATA_VECTORS } from '../vectors/l2tp-v2.js';

/** The secret the fuzzers parse with, so mutations of HIDDEN_SEED exercise the §4.3 reveal path. */
export const FUZZ_SECRET = new TextEncoder().encode('fuzz-secret');
/** An ICRQ with hidden AVPs of 2 to 60 octets (several MD5 blocks), hidden with FUZZ_SECRET. */
const HIDDEN_SEED = emitControl(
  {
    tunnelId: tunnelId(3),
    sessionId: sessionId(0),
    ns: 1,
    nr: 1,
    type: MessageType.ICRQ,
    avps: { assignedSessionId: sessionId(9), callSerialNumber: 5, callingNumber: 'a calling number longer than one MD5 block', calledNumber: '0'.repeat(60), subAddress: 'x' },
  },
  { secret: FUZZ_SECRET, hide: new Set<AvpName>(['assignedSessionId', 'callingNumber', 'calledNumber', 'subAddress']), random: seededRandom(10) },
);

const SEEDS: readonly Uint8Array[] = [...CONTROL_VECTORS.map((v) => v.bytes), HIDDEN_SEED, HIDDEN_SEED, ...DATA_VECTORS.map((v) => v.bytes)];
const FLAG_WORDS = [0xc802, 0x4002, 0x0002, 0x4b02, 0x0802, 0x4a02, 0xc803, 0xc002, 0xca02];

/** Random bytes of length 0..maxLen. */
export function randomBytes(r: RandomSource, maxLen: number): Uint8Array {
  return r.bytes(r.u32() % (maxLen + 1));
}

/** Random bytes behind a plausible header word and (often) a matching Length. */
export function randomFramed(r: RandomSource, maxLen: number): Uint8Array {
  const b = r.bytes(2 + (r.u32() % (maxLen + 1)));
  const flags = FLAG_WORDS[r.u32() % FLAG_WORDS.length] ?? 0xc802;
  b[0] = flags >> 8;
  b[1] = flags & 0xff;
  if (b.length >= 4 && r.u32() % 4 !== 0) {
    b[2] = b.length >> 8;
    b[3] = b.length & 0xff;
  }
  // plausible AVP headers after a control header
  if ((flags & 0x8000) !== 0) {
    for (let at = 12; at + 6 <= b.length; ) {
      const len = 6 + (r.u32() % 12);
      const flagsHi = [0x80, 0x00, 0xc0, 0x40][r.u32() % 4] ?? 0x80;
      b[at] = flagsHi | (len >> 8);
      b[at + 1] = len & 0xff;
      if (r.u32() % 3 !== 0) {
        b[at + 2] = 0;
        b[at + 3] = 0;
      }
      b[at + 4] = 0;
      b[at + 5] = at === 12 ? 0 : r.u32() % 48;
      at += len;
    }
  }
  return b;
}

/** A mutated copy of one of the valid vectors. */
export function mutateVector(r: RandomSource): Uint8Array {
  const seed = SEEDS[r.u32() % SEEDS.length] ?? new Uint8Array(0);
  let b: Uint8Array = seed.slice();
  const rounds = 1 + (r.u32() % 4);
  for (let i = 0; i < rounds; i++) {
    const op = r.u32() % 8;
    const pos = b.length === 0 ? 0 : r.u32() % b.length;
    switch (op) {
      case 0: // flip a bit
        if (b.length > 0) b[pos] = (b[pos] ?? 0) ^ (1 << (r.u32() % 8));
        break;
      case 1: // set a byte
        if (b.length > 0) b[pos] = r.u32() & 0xff;
        break;
      case 2: // truncate
        b = b.subarray(0, pos);
        break;
      case 3: {
        // extend with random bytes
        const ext = r.bytes(1 + (r.u32() % 16));
        const n = new Uint8Array(b.length + ext.length);
        n.set(b);
        n.set(ext, b.length);
        b = n;
        break;
      }
      case 4: // rewrite the Length field to match
        if (b.length >= 4) {
          b[2] = b.length >> 8;
          b[3] = b.length & 0xff;
        }
        break;
      case 5: // rewrite a 16-bit word near an AVP boundary with a small number
        if (b.length >= 2) {
          const p = pos & ~1;
          b[p] = r.u32() % 2 === 0 ? 0x80 : 0x00;
          b[p + 1] = r.u32() % 24;
        }
        break;
      case 6: {
        // splice the tail of another vector
        const other = SEEDS[r.u32() % SEEDS.length] ?? new Uint8Array(0);
        const from = other.length === 0 ? 0 : r.u32() % other.length;
        const n = new Uint8Array(pos + other.length - from);
        n.set(b.subarray(0, pos));
        n.set(other.subarray(from), pos);
        b = n;
        break;
      }
      default: // set the H bit on some AVP-looking word
        if (b.length > 12) {
          const p = 12 + ((r.u32() % (b.length - 12)) & ~1);
          b[p] = (b[p] ?? 0) | 0x40;
        }
    }
  }
  return b;
}
