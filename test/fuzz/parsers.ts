/**
 * Every parser of the project in one table, and the property each must hold for any input
 * (issue 10, STYLE §5): it returns (never throws), it leaves its input bytes unchanged, and it gives
 * the same answer whether the bytes arrive as a `Uint8Array`, a Node `Buffer` (whose `slice()` is a
 * view), or a `Buffer` view at an odd offset into a larger pooled buffer (as a receive path hands
 * them over). The bytes around such a view are checked too (a write past the view's end is caught).
 *
 * Used by the unit test (`parsers.test.ts`, a few thousand inputs per parser) and by `npm run fuzz`.
 * Not here, on purpose: `clampMss` (it rewrites the TCP MSS option in place by design) and the
 * stateful cores (PPP link, engines), which are driven by the simulation tests.
 */
import { isDeepStrictEqual } from 'node:util';
import { seededRandom, type RandomSource } from '../../src/base/random.js';
import { parseControl, parseData, parseHeader } from '../../src/wire/l2tp/index.js';
import { parseHeaderWithView } from '../../src/wire/l2tp/header.js';
import { parseV3Control, parseV3ControlHeader, parseV3DataHeader } from '../../src/wire/l2tpv3/index.js';
import {
  decodeTags, parseAccessLine, parseDiscoveryFrame, parseDiscoveryPacket, parseEthernet, parsePppoeFrame, parseSessionFrame, parseTagList,
} from '../../src/wire/pppoe/index.js';
import { readKeNonce } from '../../src/ipsec/main-mode.js';
import { readNatOa, readVendorIds } from '../../src/ipsec/natt.js';
import { readQuickMode } from '../../src/ipsec/quick-mode.js';
import { readResponderLifetime } from '../../src/ipsec/proposals.js';
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
import { decodeAttributes, parseIsakmp, parseIsakmpHeader, parsePayloadChain, parsePayloads } from '../../src/wire/ike/index.js';
import { classifyUdp4500, parseEspHeader } from '../../src/wire/esp/index.js';
import { ipv4Destination, ipv6Destination64, tooBig4, tooBig6 } from '../../src/dataplane/index.js';
import { parseAuthOption } from '../../src/ppp/lcp.js';
import { EspSa } from '../../src/ipsec/esp.js';
import { ikeCipher, openBody } from '../../src/ipsec/ike-crypto.js';
import { FUZZ_SECRET, mutateVector, randomBytes, randomFramed } from './l2tp-mutate.js';
import {
  checkAuthenticators, decodeAttributes as decodeRadiusAttributes, parseAttributes, parseMsChap2Response, parseMsChap2Success, parseMsChapError, parseRadiusPacket,
} from '../../src/wire/radius/index.js';
import { decodeReply, decodeSpooledRecord } from '../../src/aaa/radius/index.js';
import { icmpv6Type, ipVersion, ipv4Source, ipv6Source64, parseRouterAdvertisement } from '../../src/wire/ip/index.js';

const RADIUS_SECRET = new TextEncoder().encode('fuzz-radius-secret');
const RADIUS_CRYPTO = { secret: RADIUS_SECRET, requestAuthenticator: new Uint8Array(16).fill(9) };
/** Decode a RADIUS packet's attributes (User-Password / Tunnel-Password / MPPE keys decrypted) and its typed reply. */
function radiusDecode(b: Uint8Array): unknown {
  const p = parseRadiusPacket(b);
  if (!p.ok) return p;
  return { attrs: decodeRadiusAttributes(p.value, RADIUS_CRYPTO), reply: decodeReply(p.value, RADIUS_CRYPTO) };
}

/** IKE payloads (a chain starting with HASH) and what the IPsec cores read out of them. */
function ikeReaders(b: Uint8Array): unknown {
  const r = parsePayloads(8, b);
  if (!r.ok) return r;
  const ps = r.value.payloads;
  const lifetimes = ps.map((p) => (p.kind === 'n' ? readResponderLifetime(p) : undefined));
  return { keNonce: readKeNonce(ps), natOa: readNatOa(ps), quick: readQuickMode(ps), vendor: readVendorIds(ps), lifetimes };
}

/** A PPPoE tag list and its typed tags. */
function pppoeTags(b: Uint8Array): unknown {
  const r = parseTagList(b);
  return r.ok ? decodeTags(r.value) : r;
}

/** How inputs for a parser are made. */
export type InputKind = 'l2tp' | 'generic' | 'ip' | 'esp' | 'pppoe' | 'l2tpv3';

/** One parser under test. */
export interface ParserCase {
  readonly name: string;
  readonly kind: InputKind;
  readonly parse: (b: Uint8Array) => unknown;
}

const ESP_SPI = 0x0a0b0c0d;
const key = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
/** Inbound SAs with replay checking off, so random packets reach the ICV check / decryption. */
const espCbc = new EspSa({ spi: ESP_SPI, encryption: 'aes-cbc', encryptionKey: key(16, 1), integrity: 'hmac-sha1-96', integrityKey: key(20, 2), replayWindow: 0 }, seededRandom(1));
const espGcm = new EspSa({ spi: ESP_SPI, encryption: 'aes-gcm-16', encryptionKey: key(20, 3), integrity: 'none', integrityKey: new Uint8Array(0), replayWindow: 0 }, seededRandom(2));
const ike3des = ikeCipher(5, undefined);
const ikeAes = ikeCipher(7, 128);
if (ike3des === undefined || ikeAes === undefined) throw new Error('IKE ciphers');

/** Every parser, by name. */
export const PARSERS: readonly ParserCase[] = [
  // L2TPv2 (src/wire/l2tp)
  { name: 'l2tp header', kind: 'l2tp', parse: parseHeader },
  { name: 'l2tp data', kind: 'l2tp', parse: (b) => parseData(b, { maxOffset: 64 }) },
  { name: 'l2tp control', kind: 'l2tp', parse: (b) => parseControl(b) },
  { name: 'l2tp control (secret: hidden AVPs)', kind: 'l2tp', parse: (b) => parseControl(b, { secret: FUZZ_SECRET }) },
  { name: 'l2tp header (DataView)', kind: 'l2tp', parse: (b) => parseHeaderWithView(b, new DataView(b.buffer, b.byteOffset, b.byteLength)) },
  // L2TPv3 (src/wire/l2tpv3), UDP and IP encapsulation
  { name: 'l2tpv3 control header (udp)', kind: 'l2tpv3', parse: (b) => parseV3ControlHeader(b, 'udp') },
  { name: 'l2tpv3 control header (ip)', kind: 'l2tpv3', parse: (b) => parseV3ControlHeader(b, 'ip') },
  { name: 'l2tpv3 data header (udp)', kind: 'l2tpv3', parse: (b) => parseV3DataHeader(b, 'udp') },
  { name: 'l2tpv3 data header (ip)', kind: 'l2tpv3', parse: (b) => parseV3DataHeader(b, 'ip') },
  { name: 'l2tpv3 control (udp)', kind: 'l2tpv3', parse: (b) => parseV3Control(b, { encapsulation: 'udp' }) },
  { name: 'l2tpv3 control (ip, secret: hidden AVPs)', kind: 'l2tpv3', parse: (b) => parseV3Control(b, { encapsulation: 'ip', secret: FUZZ_SECRET }) },
  // PPPoE (src/wire/pppoe)
  { name: 'ethernet', kind: 'pppoe', parse: parseEthernet },
  { name: 'pppoe frame', kind: 'pppoe', parse: parsePppoeFrame },
  { name: 'pppoe discovery frame', kind: 'pppoe', parse: parseDiscoveryFrame },
  { name: 'pppoe session frame', kind: 'pppoe', parse: parseSessionFrame },
  { name: 'pppoe discovery packet', kind: 'pppoe', parse: (b) => parseDiscoveryPacket(b.subarray(Math.min(b.length, 14))) },
  { name: 'pppoe tags', kind: 'pppoe', parse: (b) => pppoeTags(b.subarray(Math.min(b.length, 20))) },
  { name: 'bbf access line (TR-101)', kind: 'generic', parse: parseAccessLine },
  // PPP (src/wire/ppp, src/ppp)
  { name: 'ppp frame', kind: 'generic', parse: parsePppFrame },
  { name: 'lcp packet', kind: 'generic', parse: (b) => parseCpPacket(b, true) },
  { name: 'ncp packet', kind: 'generic', parse: (b) => parseCpPacket(b, false) },
  { name: 'cp options', kind: 'generic', parse: parseCpOptions },
  { name: 'lcp auth option', kind: 'generic', parse: parseAuthOption },
  { name: 'pap', kind: 'generic', parse: parsePapPacket },
  { name: 'chap', kind: 'generic', parse: parseChapPacket },
  { name: 'mschapv2 response', kind: 'generic', parse: parseMsChapV2Response },
  { name: 'mschapv2 success', kind: 'generic', parse: parseMsChapV2Success },
  { name: 'mschapv2 failure', kind: 'generic', parse: parseMsChapV2Failure },
  // IKEv1 (src/wire/ike, src/ipsec)
  { name: 'isakmp header', kind: 'generic', parse: parseIsakmpHeader },
  { name: 'isakmp', kind: 'generic', parse: parseIsakmp },
  { name: 'ike payload chain (SA first)', kind: 'generic', parse: (b) => parsePayloadChain(1, b) },
  { name: 'ike payloads (hash first)', kind: 'generic', parse: (b) => parsePayloads(8, b) },
  { name: 'ike attribute list', kind: 'generic', parse: decodeAttributes },
  { name: 'ike payload readers (KE/nonce, NAT-OA, quick mode, vendor ids, lifetimes)', kind: 'generic', parse: ikeReaders },
  { name: 'ike encrypted body (3DES)', kind: 'generic', parse: (b) => openBody(ike3des, key(24, 4), key(8, 5), 8, b) },
  { name: 'ike encrypted body (AES)', kind: 'generic', parse: (b) => openBody(ikeAes, key(16, 6), key(16, 7), 1, b) },
  // ESP (src/wire/esp, src/ipsec)
  { name: 'esp header', kind: 'esp', parse: parseEspHeader },
  { name: 'udp 4500 classify', kind: 'esp', parse: classifyUdp4500 },
  { name: 'esp decrypt (AES-CBC + HMAC-SHA1)', kind: 'esp', parse: (b) => espCbc.decrypt(b) },
  { name: 'esp decrypt (AES-GCM)', kind: 'esp', parse: (b) => espGcm.decrypt(b) },
  // IP packets from the TUN / PPP (src/dataplane, src/access)
  { name: 'ipv4 too big (ICMP / fragments)', kind: 'ip', parse: (b) => tooBig4(b, 68 + (b.length % 1400), 0x64400001) },
  { name: 'ipv6 packet too big', kind: 'ip', parse: (b) => tooBig6(b, 1280, new Uint8Array(16).fill(0x20)) },
  { name: 'ipv4 destination', kind: 'ip', parse: (b) => ipv4Destination(b) },
  { name: 'ipv6 destination /64', kind: 'ip', parse: (b) => ipv6Destination64(b) },
  { name: 'ip version', kind: 'ip', parse: ipVersion },
  { name: 'ipv4 source', kind: 'ip', parse: ipv4Source },
  { name: 'ipv6 source /64', kind: 'ip', parse: ipv6Source64 },
  { name: 'icmpv6 type', kind: 'ip', parse: icmpv6Type },
  { name: 'router advertisement', kind: 'ip', parse: parseRouterAdvertisement },
  // RADIUS (src/wire/radius, src/aaa/radius)
  { name: 'radius packet', kind: 'generic', parse: parseRadiusPacket },
  { name: 'radius attribute list', kind: 'generic', parse: (b) => parseAttributes(b, Math.min(b.length, 20), b.length) },
  { name: 'radius authenticators (request)', kind: 'generic', parse: (b) => checkAuthenticators(b, RADIUS_SECRET) },
  { name: 'radius authenticators (response)', kind: 'generic', parse: (b) => checkAuthenticators(b, RADIUS_SECRET, RADIUS_CRYPTO.requestAuthenticator) },
  { name: 'radius attributes + typed reply', kind: 'generic', parse: radiusDecode },
  { name: 'ms-chap2-response (RADIUS)', kind: 'generic', parse: parseMsChap2Response },
  { name: 'ms-chap2-success (RADIUS)', kind: 'generic', parse: parseMsChap2Success },
  { name: 'ms-chap-error (RADIUS)', kind: 'generic', parse: parseMsChapError },
  { name: 'radius spool line', kind: 'generic', parse: (b) => decodeSpooledRecord(Buffer.from(b).toString('latin1')) },
];

/** Random bytes biased towards self-consistent length fields (PPP CP: 2..3, ISAKMP: 24..27). */
function genericInput(r: RandomSource, i: number): Uint8Array {
  const len = r.u32() % (i % 2 === 0 ? 48 : 400);
  const b = r.bytes(len);
  if (i % 4 === 1 && len >= 4) {
    b[2] = (len >> 8) & 0xff;
    b[3] = len & 0xff;
  }
  if (i % 4 === 3 && len >= 28) {
    b.fill(0, 24, 26);
    b[26] = (len >> 8) & 0xff;
    b[27] = len & 0xff;
  }
  return b;
}

/** An IPv4 or IPv6 header-ish packet: version nibble, lengths, ICMP / ICMPv6 / TCP / UDP protocols. */
function ipInput(r: RandomSource, i: number): Uint8Array {
  const v6 = i % 2 === 1;
  const len = (v6 ? 40 : 20) + (r.u32() % 200) - (i % 7 === 0 ? 30 : 0);
  const b = r.bytes(Math.max(0, len));
  if (b.length < 8) return b;
  const proto = [1, 6, 17, 58, 44][r.u32() % 5] ?? 1;
  if (v6) {
    b[0] = 0x60 | (b[0] ?? 0 & 0x0f);
    b[4] = ((b.length - 40) >> 8) & 0xff;
    b[5] = (b.length - 40) & 0xff;
    b[6] = proto;
    if (b.length > 40 && r.u32() % 2 === 0) b[40] = [134, 133, 128, 2][r.u32() % 4] ?? 134; // RA, RS, echo, too big
  } else {
    b[0] = 0x45;
    b[2] = (b.length >> 8) & 0xff;
    b[3] = b.length & 0xff;
    if (b.length > 9) b[9] = proto;
  }
  return b;
}

/** An ESP packet for the fuzz SAs' SPI (sometimes another SPI, a keepalive or a non-ESP marker). */
function espInput(r: RandomSource, i: number): Uint8Array {
  const b = r.bytes(r.u32() % 160);
  if (i % 5 === 0 || b.length < 8) return b;
  b[0] = ESP_SPI >>> 24;
  b[1] = (ESP_SPI >>> 16) & 0xff;
  b[2] = (ESP_SPI >>> 8) & 0xff;
  b[3] = ESP_SPI & 0xff;
  return b;
}

/** An Ethernet frame with a PPPoE discovery/session header and TLV tags (consistent lengths, mostly). */
function pppoeInput(r: RandomSource, i: number): Uint8Array {
  const tags: number[] = [];
  for (let n = r.u32() % 6; n > 0; n--) {
    const t = [0x0101, 0x0102, 0x0103, 0x0104, 0x0105, 0x0110, 0x0201, 0x0202, 0x0203, r.u32() & 0xffff][r.u32() % 10] ?? 0;
    const len = r.u32() % 24;
    tags.push(t >> 8, t & 0xff, len >> 8, len & 0xff, ...r.bytes(len));
  }
  const payload = i % 5 === 0 ? [...r.bytes(r.u32() % 40)] : tags;
  const code = [0x09, 0x07, 0x19, 0x65, 0xa7, 0x00, r.u32() & 0xff][r.u32() % 7] ?? 0;
  const len = i % 7 === 3 ? r.u32() & 0xffff : payload.length;
  const ether = i % 2 === 0 ? 0x8863 : 0x8864;
  const b = Uint8Array.from([...r.bytes(12), ether >> 8, ether & 0xff, i % 11 === 5 ? r.u32() & 0xff : 0x11, code, ...r.bytes(2), len >> 8, len & 0xff, ...payload]);
  return i % 13 === 7 ? b.subarray(0, r.u32() % (b.length + 1)) : b;
}

/** An L2TPv3 control or data message over UDP or IP: T/L bits and version 3, lengths consistent, mostly. */
function l2tpv3Input(r: RandomSource, i: number): Uint8Array {
  const b = r.bytes(r.u32() % 140);
  const at = i % 2 === 0 ? 0 : 4; // IP: a 32-bit zero Session ID first
  if (at === 4 && b.length >= 4) b.fill(0, 0, 4);
  if (i % 3 !== 2 && b.length >= at + 12) {
    b[at] = 0xc8;
    b[at + 1] = 0x03;
    b[at + 2] = ((b.length - at) >> 8) & 0xff;
    b[at + 3] = (b.length - at) & 0xff;
    // Message Type AVP (M=1, length 8, vendor 0, type 0) first, sometimes.
    if (i % 4 === 1 && b.length >= at + 20) b.set([0x80, 0x08, 0, 0, 0, 0, 0, r.u32() % 24], at + 12);
  }
  return b;
}

/** One input of the given kind. */
export function inputFor(kind: InputKind, r: RandomSource, i: number): Uint8Array {
  switch (kind) {
    case 'l2tp':
      return i % 3 === 0 ? randomBytes(r, 64) : i % 3 === 1 ? randomFramed(r, 120) : mutateVector(r);
    case 'generic':
      return genericInput(r, i);
    case 'ip':
      return ipInput(r, i);
    case 'esp':
      return espInput(r, i);
    case 'pppoe':
      return pppoeInput(r, i);
    case 'l2tpv3':
      return l2tpv3Input(r, i);
  }
}

/** The same bytes as a Uint8Array, a Buffer, and a Buffer view at an odd offset into a pooled buffer. */
export function inputForms(bytes: Uint8Array): { readonly forms: ReadonlyArray<readonly [string, Uint8Array]>; readonly pool: Buffer } {
  const pool = Buffer.alloc(bytes.length + 64, 0xa5);
  pool.set(bytes, 31);
  return {
    forms: [
      ['Uint8Array', Uint8Array.from(bytes)],
      ['Buffer', Buffer.from(bytes)],
      ['Buffer view at offset 31', pool.subarray(31, 31 + bytes.length)],
    ],
    pool,
  };
}

/** A parse result with typed arrays as hex, so answers from different buffer kinds compare equal. */
function normalize(v: unknown): unknown {
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  if (typeof v === 'bigint') return `bigint:${v}`;
  if (Array.isArray(v)) return v.map(normalize);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = normalize(x);
    return out;
  }
  return v;
}

/** Why one input broke the property, or undefined. */
export function checkParser(p: ParserCase, bytes: Uint8Array): string | undefined {
  const want = Buffer.from(bytes).toString('hex');
  const { forms, pool } = inputForms(bytes);
  const poolBefore = pool.toString('hex');
  let first: unknown;
  for (const [form, input] of forms) {
    let out: unknown;
    try {
      out = normalize(p.parse(input));
    } catch (e) {
      return `${p.name} threw on a ${form}: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('hex') !== want) return `${p.name} changed its ${form} input`;
    if (form === 'Uint8Array') first = out;
    else if (!isDeepStrictEqual(out, first)) return `${p.name} answered differently for a ${form} than for a Uint8Array`;
  }
  if (pool.toString('hex') !== poolBefore) return `${p.name} wrote outside its Buffer view`;
  return undefined;
}

/** Run `count` inputs through every parser; the first broken property, with its input, or undefined. */
export function fuzzParsers(r: RandomSource, count: number, only?: (p: ParserCase) => boolean): { readonly problem: string; readonly input: Uint8Array } | undefined {
  for (const p of PARSERS) {
    if (only !== undefined && !only(p)) continue;
    for (let i = 0; i < count; i++) {
      const input = inputFor(p.kind, r, i);
      const problem = checkParser(p, input);
      if (problem !== undefined) return { problem, input };
    }
  }
  return undefined;
}
