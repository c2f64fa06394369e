/**
 * Random-input loop for the non-L2TP parsers (PPP, IKE, ESP, the data plane's too-big handling): each must return a Result for any
 * bytes and never throw. Used by fuzz.ts after the L2TP loop.
 */
import type { RandomSource } from '../../src/base/random.js';
import {
  parseChapPacket,
  parseCpOptions,
  parseCpPacket,
  parseMsChapV2Failure,
  parseMsChapV2Response,
  parseMsChapV2Success,
  parsePapPacket,
  parsePppFrame,
} from '../../src/wire/ppp/index.js';
import { decodeAttributes, parseIsakmp, parseIsakmpHeader } from '../../src/wire/ike/index.js';
import { tooBig4, tooBig6 } from '../../src/dataplane/index.js';
import { classifyUdp4500, parseEspHeader } from '../../src/wire/esp/index.js';

/** Every parser under test, by name. */
export const OTHER_PARSERS: ReadonlyArray<readonly [string, (b: Uint8Array) => unknown]> = [
  ['ppp frame', parsePppFrame],
  ['lcp packet', (b) => parseCpPacket(b, true)],
  ['ncp packet', (b) => parseCpPacket(b, false)],
  ['cp options', parseCpOptions],
  ['pap', parsePapPacket],
  ['chap', parseChapPacket],
  ['mschapv2 response', parseMsChapV2Response],
  ['mschapv2 success', parseMsChapV2Success],
  ['mschapv2 failure', parseMsChapV2Failure],
  ['isakmp header', parseIsakmpHeader],
  ['isakmp', parseIsakmp],
  ['esp header', parseEspHeader],
  ['udp 4500', classifyUdp4500],
  ['ike attribute list', decodeAttributes],
  ['ipv4 too big (ICMP / fragments)', (b) => tooBig4(b, 68 + (b.length % 1400), 0x64400001)],
  ['ipv6 packet too big', (b) => tooBig6(b, 1280, new Uint8Array(16).fill(0x20))],
];

/** Random bytes, biased towards plausible lengths and header-like prefixes. */
function input(r: RandomSource, i: number): Uint8Array {
  const len = r.u32() % (i % 2 === 0 ? 48 : 400);
  const b = r.bytes(len);
  // Half of the time write a self-consistent length field at the common offsets (PPP CP: 2..3,
  // ISAKMP: 24..27) so parsers get past their first check.
  if (i % 4 === 1 && len >= 4) {
    b[2] = (len >> 8) & 0xff;
    b[3] = len & 0xff;
  }
  if (i % 4 === 3 && len >= 28) {
    b[24] = 0;
    b[25] = 0;
    b[26] = (len >> 8) & 0xff;
    b[27] = len & 0xff;
  }
  return b;
}

/** Run `count` inputs through every parser; returns the failing parser name and input on a throw. */
export function fuzzOtherParsers(r: RandomSource, count: number): { readonly name: string; readonly input: Uint8Array; readonly error: unknown } | undefined {
  for (let i = 0; i < count; i++) {
    const b = input(r, i);
    for (const [name, parse] of OTHER_PARSERS) {
      try {
        parse(b);
      } catch (error) {
        return { name, input: b, error };
      }
    }
  }
  return undefined;
}
