/**
 * The Broadband Forum (ex DSL Forum, IANA enterprise 3561) Vendor-Specific tag that a PPPoE
 * Intermediate Agent on the access node adds to PADI and PADR (TR-101 §3.9.3): access loop
 * identification and characteristics, forwarded to RADIUS as the DSL Forum VSAs of RFC 4679 §4
 * (whose attribute numbers equal the sub-option types).
 *
 *   Vendor-Specific TAG_VALUE (RFC 2516 Appendix A):
 *  +--------+--------+--------+--------+--------+--------+----------------
 *  |  0x00  |  vendor id 3561 (0x000de9) | type   | length | value ...     (sub-options
 *  +--------+--------+--------+--------+--------+--------+----------------  repeat to the end)
 */
import { err, ok, type Result } from '../../base/index.js';
import { copyBytes, stringCodec, uintCodec, emptyCodec, type ValueCodec } from './tag-codecs.js';

/** IANA Private Enterprise Number of the Broadband Forum (ADSL Forum). */
export const BBF_VENDOR_ID = 3561;

/** TR-101 §3.9.3 Access-Loop-Encapsulation (RFC 4679 §4, attribute 144): three octets. */
export interface AccessLoopEncapsulation {
  /** 0 = ATM AAL5, 1 = Ethernet. */
  readonly dataLink: number;
  /** 0 NA, 1 untagged Ethernet, 2 single-tagged Ethernet. */
  readonly encaps1: number;
  /** 0 NA, 1 PPPoA LLC, 2 PPPoA null, 3 IPoA LLC, 4 IPoA null, 5 Ethernet over AAL5 LLC with FCS, ... */
  readonly encaps2: number;
}

/** A sub-option this registry does not know (kept so that the tag re-emits unchanged). */
export interface UnknownSubOption {
  readonly type: number;
  readonly value: Uint8Array;
}

/** Access line identification and characteristics; rates in kbit/s, delays in ms (TR-101 §3.9.3). */
export interface AccessLine {
  readonly circuitId?: string;
  readonly remoteId?: string;
  readonly actualDataRateUpstream?: number;
  readonly actualDataRateDownstream?: number;
  readonly minimumDataRateUpstream?: number;
  readonly minimumDataRateDownstream?: number;
  readonly attainableDataRateUpstream?: number;
  readonly attainableDataRateDownstream?: number;
  readonly maximumDataRateUpstream?: number;
  readonly maximumDataRateDownstream?: number;
  readonly minimumDataRateUpstreamLowPower?: number;
  readonly minimumDataRateDownstreamLowPower?: number;
  readonly maximumInterleavingDelayUpstream?: number;
  readonly actualInterleavingDelayUpstream?: number;
  readonly maximumInterleavingDelayDownstream?: number;
  readonly actualInterleavingDelayDownstream?: number;
  readonly accessLoopEncapsulation?: AccessLoopEncapsulation;
  readonly iwfSession?: true;
  /** Sub-options not in {@link BBF_SUBOPTIONS}, in order. */
  readonly unknown?: readonly UnknownSubOption[];
}

/** Keys of the known sub-options. */
export type AccessLineKey = Exclude<keyof AccessLine, 'unknown'>;

/** One sub-option row: type, AccessLine key, TR-101 name, RFC 4679 RADIUS attribute, value codec. */
export interface SubOptionRow {
  readonly type: number;
  readonly key: AccessLineKey;
  readonly title: string;
  /** RFC 4679 §4 DSL Forum VSA number (vendor 3561). */
  readonly radiusAttribute: number;
  readonly codec: ValueCodec<unknown>;
}

const loopEncapCodec: ValueCodec<AccessLoopEncapsulation> = {
  parse: (v) => (v.length === 3 ? ok({ dataLink: v[0] ?? 0, encaps1: v[1] ?? 0, encaps2: v[2] ?? 0 }) : err(`length ${v.length}, want 3`)),
  length: () => 3,
  emit(x, out, at) {
    out[at] = x.dataLink;
    out[at + 1] = x.encaps1;
    out[at + 2] = x.encaps2;
  },
};

const idCodec = stringCodec({ strictUtf8: false, min: 1, max: 63 });
const u32 = uintCodec(4);

function row<K extends AccessLineKey>(type: number, key: K, title: string, codec: ValueCodec<NonNullable<AccessLine[K]>>): SubOptionRow {
  return { type, key, title, radiusAttribute: type, codec };
}

/** TR-101 §3.9.3 sub-options, in emit order (RFC 4679 §4 gives the same numbers to the RADIUS VSAs). */
export const BBF_SUBOPTIONS: readonly SubOptionRow[] = [
  row(0x01, 'circuitId', 'Agent-Circuit-Id', idCodec),
  row(0x02, 'remoteId', 'Agent-Remote-Id', idCodec),
  row(0x81, 'actualDataRateUpstream', 'Actual-Data-Rate-Upstream', u32),
  row(0x82, 'actualDataRateDownstream', 'Actual-Data-Rate-Downstream', u32),
  row(0x83, 'minimumDataRateUpstream', 'Minimum-Data-Rate-Upstream', u32),
  row(0x84, 'minimumDataRateDownstream', 'Minimum-Data-Rate-Downstream', u32),
  row(0x85, 'attainableDataRateUpstream', 'Attainable-Data-Rate-Upstream', u32),
  row(0x86, 'attainableDataRateDownstream', 'Attainable-Data-Rate-Downstream', u32),
  row(0x87, 'maximumDataRateUpstream', 'Maximum-Data-Rate-Upstream', u32),
  row(0x88, 'maximumDataRateDownstream', 'Maximum-Data-Rate-Downstream', u32),
  row(0x89, 'minimumDataRateUpstreamLowPower', 'Minimum-Data-Rate-Upstream-Low-Power', u32),
  row(0x8a, 'minimumDataRateDownstreamLowPower', 'Minimum-Data-Rate-Downstream-Low-Power', u32),
  row(0x8b, 'maximumInterleavingDelayUpstream', 'Maximum-Interleaving-Delay-Upstream', u32),
  row(0x8c, 'actualInterleavingDelayUpstream', 'Actual-Interleaving-Delay-Upstream', u32),
  row(0x8d, 'maximumInterleavingDelayDownstream', 'Maximum-Interleaving-Delay-Downstream', u32),
  row(0x8e, 'actualInterleavingDelayDownstream', 'Actual-Interleaving-Delay-Downstream', u32),
  row(0x90, 'accessLoopEncapsulation', 'Access-Loop-Encapsulation', loopEncapCodec),
  row(0xfe, 'iwfSession', 'IWF-Session', emptyCodec),
];

/** Sub-option rows by type. */
export const BBF_SUBOPTION_BY_TYPE: ReadonlyMap<number, SubOptionRow> = new Map(BBF_SUBOPTIONS.map((r) => [r.type, r]));

/** Parse the sub-options after the 4-byte vendor id. Never throws; the error is a detail string. */
export function parseAccessLine(v: Uint8Array): Result<AccessLine, string> {
  const out: Record<string, unknown> = {};
  const unknown: UnknownSubOption[] = [];
  let o = 0;
  while (o < v.length) {
    if (o + 2 > v.length) return err(`sub-option header truncated at ${o}`);
    const type = v[o] ?? 0;
    const len = v[o + 1] ?? 0;
    if (o + 2 + len > v.length) return err(`sub-option 0x${type.toString(16)} length ${len} runs past the tag`);
    const value = v.subarray(o + 2, o + 2 + len);
    const r = BBF_SUBOPTION_BY_TYPE.get(type);
    if (r === undefined) unknown.push({ type, value: copyBytes(value) });
    else {
      if (r.key in out) return err(`sub-option ${r.title} twice`);
      const p = r.codec.parse(value);
      if (!p.ok) return err(`${r.title}: ${p.error}`);
      out[r.key] = p.value;
    }
    o += 2 + len;
  }
  if (unknown.length > 0) out['unknown'] = unknown;
  // Built key by key from the registry rows, whose codecs are typed per key.
  return ok(out as AccessLine);
}

/** Bytes of the sub-options `emitAccessLine` writes (without the vendor id). */
export function accessLineLength(a: AccessLine): number {
  let n = 0;
  for (const r of BBF_SUBOPTIONS) {
    const x = a[r.key];
    if (x !== undefined) n += 2 + r.codec.length(x);
  }
  for (const u of a.unknown ?? []) n += 2 + u.value.length;
  return n;
}

/** Write the sub-options at `out[at]` in registry order, unknown ones last; returns bytes written. */
export function emitAccessLine(a: AccessLine, out: Uint8Array, at: number): number {
  let o = at;
  const put = (type: number, len: number): void => {
    if (len > 0xff) throw new RangeError(`BBF sub-option 0x${type.toString(16)} value of ${len} bytes (max 255)`);
    out[o] = type;
    out[o + 1] = len;
    o += 2;
  };
  for (const r of BBF_SUBOPTIONS) {
    const x = a[r.key];
    if (x === undefined) continue;
    const len = r.codec.length(x);
    put(r.type, len);
    r.codec.emit(x, out, o);
    o += len;
  }
  for (const u of a.unknown ?? []) {
    put(u.type, u.value.length);
    out.set(u.value, o);
    o += u.value.length;
  }
  return o - at;
}
