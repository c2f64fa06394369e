/**
 * PPPoE discovery tags (RFC 2516 Appendix A, RFC 4638 §4 for PPP-Max-Payload) as registry rows,
 * and the two codec levels: the raw tag list (type + value views, byte-exact) and the typed
 * {@link DiscoveryTags} built from the rows.
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          TAG_TYPE             |        TAG_LENGTH             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          TAG_VALUE ...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Unknown TAG_TYPEs are kept in `unknown` and otherwise ignored ("Unknown TAG_TYPEs MUST be ignored
 * unless otherwise specified", Appendix A). A tag that may appear once and appears twice is a
 * `duplicate-tag` error: its echo would be ambiguous.
 */
import { err, ok, put16, type Result, u16 } from '../../base/index.js';
import { type PppoeWireError, truncated } from './errors.js';
import { BBF_VENDOR_ID, accessLineLength, emitAccessLine, parseAccessLine, type AccessLine } from './bbf.js';
import { bytesCodec, copyBytes, stringCodec, uintCodec, type ValueCodec } from './tag-codecs.js';

/** TAG_TYPE values (RFC 2516 Appendix A, RFC 4638 §4). */
export const TagType = {
  endOfList: 0x0000,
  serviceName: 0x0101,
  acName: 0x0102,
  hostUniq: 0x0103,
  acCookie: 0x0104,
  vendorSpecific: 0x0105,
  relaySessionId: 0x0110,
  pppMaxPayload: 0x0120,
  serviceNameError: 0x0201,
  acSystemError: 0x0202,
  genericError: 0x0203,
} as const;

/** One tag as it appears on the wire (`value` is a view into the frame). */
export interface RawTag {
  readonly type: number;
  readonly value: Uint8Array;
}

/** A Vendor-Specific tag of a vendor without a registry entry. */
export interface VendorSpecificTag {
  /** The first four octets: 0 followed by the vendor's 24-bit SMI enterprise code. */
  readonly vendorId: number;
  readonly data: Uint8Array;
}

/** The typed tags of a discovery packet; absent keys = tag absent. */
export interface DiscoveryTags {
  /** Service-Name tags in order ('' = any service, Appendix A). */
  readonly serviceNames?: readonly string[];
  readonly acName?: string;
  readonly hostUniq?: Uint8Array;
  readonly acCookie?: Uint8Array;
  /** The Broadband Forum Vendor-Specific tag (vendor 3561, TR-101 §3.9.3). */
  readonly accessLine?: AccessLine;
  /** Vendor-Specific tags of other vendors, in order. */
  readonly vendorSpecific?: readonly VendorSpecificTag[];
  readonly relaySessionId?: Uint8Array;
  /** RFC 4638 §4: the largest PPP payload the sender can carry. */
  readonly pppMaxPayload?: number;
  readonly serviceNameError?: string;
  readonly acSystemError?: string;
  readonly genericError?: string;
  /** Tags with a TAG_TYPE not in the registry, in order (copied). */
  readonly unknown?: readonly RawTag[];
}

/** Keys of single-valued registry tags. */
type SingleKey = 'acName' | 'hostUniq' | 'acCookie' | 'relaySessionId' | 'pppMaxPayload' | 'serviceNameError' | 'acSystemError' | 'genericError';

/** One registry row: TAG_TYPE, RFC name, section, whether it may repeat, and its value codec. */
export interface TagRow {
  readonly type: number;
  readonly title: string;
  readonly section: string;
  /** How the value lands in {@link DiscoveryTags}. */
  readonly slot: 'serviceNames' | 'vendor' | 'end' | SingleKey;
  readonly repeatable: boolean;
  readonly codec: ValueCodec<unknown>;
}

const nameCodec = stringCodec({ strictUtf8: true });
const textCodec = stringCodec({ strictUtf8: false });
const vendorCodec: ValueCodec<VendorSpecificTag> = {
  parse(v) {
    if (v.length < 4) return err(`length ${v.length} < 4 (vendor id)`);
    return ok({ vendorId: ((v[0] ?? 0) * 0x100_0000 + ((v[1] ?? 0) << 16) + ((v[2] ?? 0) << 8) + (v[3] ?? 0)), data: copyBytes(v.subarray(4)) });
  },
  length: (x) => 4 + x.data.length,
  emit(x, out, at) {
    uintCodec(4).emit(x.vendorId, out, at);
    out.set(x.data, at + 4);
  },
};
const endCodec: ValueCodec<true> = {
  parse: (v) => (v.length === 0 ? ok(true) : err(`End-Of-List with length ${v.length}`)),
  length: () => 0,
  emit: () => undefined,
};

/** RFC 2516 Appendix A (+ RFC 4638 §4), one row per TAG_TYPE in emit order. */
export const TAG_REGISTRY: readonly TagRow[] = [
  { type: TagType.serviceName, title: 'Service-Name', section: 'RFC 2516 A', slot: 'serviceNames', repeatable: true, codec: nameCodec },
  { type: TagType.acName, title: 'AC-Name', section: 'RFC 2516 A', slot: 'acName', repeatable: false, codec: nameCodec },
  { type: TagType.hostUniq, title: 'Host-Uniq', section: 'RFC 2516 A', slot: 'hostUniq', repeatable: false, codec: bytesCodec() },
  { type: TagType.pppMaxPayload, title: 'PPP-Max-Payload', section: 'RFC 4638 §4', slot: 'pppMaxPayload', repeatable: false, codec: uintCodec(2) },
  { type: TagType.acCookie, title: 'AC-Cookie', section: 'RFC 2516 A', slot: 'acCookie', repeatable: false, codec: bytesCodec() },
  { type: TagType.relaySessionId, title: 'Relay-Session-Id', section: 'RFC 2516 A', slot: 'relaySessionId', repeatable: false, codec: bytesCodec() },
  { type: TagType.vendorSpecific, title: 'Vendor-Specific', section: 'RFC 2516 A', slot: 'vendor', repeatable: true, codec: vendorCodec },
  { type: TagType.serviceNameError, title: 'Service-Name-Error', section: 'RFC 2516 A', slot: 'serviceNameError', repeatable: false, codec: textCodec },
  { type: TagType.acSystemError, title: 'AC-System-Error', section: 'RFC 2516 A', slot: 'acSystemError', repeatable: false, codec: textCodec },
  { type: TagType.genericError, title: 'Generic-Error', section: 'RFC 2516 A', slot: 'genericError', repeatable: false, codec: textCodec },
  { type: TagType.endOfList, title: 'End-Of-List', section: 'RFC 2516 A', slot: 'end', repeatable: true, codec: endCodec },
];

/** Registry rows by TAG_TYPE. */
export const TAG_BY_TYPE: ReadonlyMap<number, TagRow> = new Map(TAG_REGISTRY.map((r) => [r.type, r]));

/** RFC name of a TAG_TYPE (`0x0abc` when unknown). */
export const tagTitle = (type: number): string => TAG_BY_TYPE.get(type)?.title ?? `0x${type.toString(16).padStart(4, '0')}`;

/** TAG_TYPE + TAG_LENGTH. */
export const TAG_HEADER_LENGTH = 4;

/**
 * Split a discovery payload into tags (views). Parsing stops after an End-Of-List tag, whose
 * length MUST be zero (Appendix A); bytes after it are ignored. A tag running past the payload is
 * `truncated`.
 */
export function parseTagList(payload: Uint8Array): Result<RawTag[], PppoeWireError> {
  const tags: RawTag[] = [];
  let o = 0;
  while (o < payload.length) {
    if (o + TAG_HEADER_LENGTH > payload.length) return err(truncated('tag header', o + TAG_HEADER_LENGTH, payload.length));
    const type = u16(payload, o);
    const len = u16(payload, o + 2);
    if (o + TAG_HEADER_LENGTH + len > payload.length) return err(truncated(`${tagTitle(type)} tag`, o + TAG_HEADER_LENGTH + len, payload.length));
    tags.push({ type, value: payload.subarray(o + TAG_HEADER_LENGTH, o + TAG_HEADER_LENGTH + len) });
    o += TAG_HEADER_LENGTH + len;
    if (type === TagType.endOfList) {
      if (len !== 0) return err({ kind: 'bad-tag', tag: type, detail: `End-Of-List with length ${len}` });
      break;
    }
  }
  return ok(tags);
}

/** Bytes of a raw tag list. */
export const tagListLength = (tags: readonly RawTag[]): number => tags.reduce((n, t) => n + TAG_HEADER_LENGTH + t.value.length, 0);

/** Write raw tags at `out[at]`; returns bytes written. Throws RangeError on a value over 65535 bytes. */
export function emitTagList(tags: readonly RawTag[], out: Uint8Array, at: number): number {
  let o = at;
  for (const t of tags) {
    if (t.value.length > 0xffff) throw new RangeError(`tag 0x${t.type.toString(16)} value of ${t.value.length} bytes`);
    put16(out, o, t.type);
    put16(out, o + 2, t.value.length);
    out.set(t.value, o + TAG_HEADER_LENGTH);
    o += TAG_HEADER_LENGTH + t.value.length;
  }
  return o - at;
}

/** Build the typed tags from a raw list through the registry. Values are copied. */
export function decodeTags(raw: readonly RawTag[]): Result<DiscoveryTags, PppoeWireError> {
  const out: Record<string, unknown> = {};
  const serviceNames: string[] = [];
  const vendors: VendorSpecificTag[] = [];
  const unknown: RawTag[] = [];
  for (const t of raw) {
    const row = TAG_BY_TYPE.get(t.type);
    if (row === undefined) {
      unknown.push({ type: t.type, value: copyBytes(t.value) });
      continue;
    }
    const p = row.codec.parse(t.value);
    if (!p.ok) return err({ kind: 'bad-tag', tag: t.type, detail: p.error });
    switch (row.slot) {
      case 'end':
        break;
      case 'serviceNames':
        serviceNames.push(p.value as string);
        break;
      case 'vendor': {
        const v = p.value as VendorSpecificTag;
        if (v.vendorId !== BBF_VENDOR_ID) {
          vendors.push(v);
          break;
        }
        // TR-101 §3.9.3: one Broadband Forum tag per packet.
        if (out['accessLine'] !== undefined) return err({ kind: 'duplicate-tag', tag: t.type });
        const a = parseAccessLine(v.data);
        if (!a.ok) return err({ kind: 'bad-tag', tag: t.type, detail: `Broadband Forum: ${a.error}` });
        out['accessLine'] = a.value;
        break;
      }
      default:
        if (out[row.slot] !== undefined) return err({ kind: 'duplicate-tag', tag: t.type });
        out[row.slot] = p.value;
    }
  }
  if (serviceNames.length > 0) out['serviceNames'] = serviceNames;
  if (vendors.length > 0) out['vendorSpecific'] = vendors;
  if (unknown.length > 0) out['unknown'] = unknown;
  // Every key was set from the registry row whose codec produces that key's type.
  return ok(out as DiscoveryTags);
}

/** One typed tag ready to emit: its TAG_TYPE, value codec and value (nothing encoded yet). */
export interface PlannedTag {
  readonly type: number;
  readonly codec: ValueCodec<unknown>;
  readonly value: unknown;
  /** TAG_VALUE bytes. */
  readonly length: number;
}

/** An unknown tag's bytes as they came. */
const RAW = bytesCodec();

/** The Broadband Forum Vendor-Specific value: vendor id 3561, then the sub-options. */
const accessLineCodec: ValueCodec<AccessLine> = {
  parse: () => err('not parsed here'),
  length: (a) => 4 + accessLineLength(a),
  emit(a, out, at) {
    uintCodec(4).emit(BBF_VENDOR_ID, out, at);
    emitAccessLine(a, out, at + 4);
  },
};

/** The typed tags in registry order (Broadband Forum tag first among vendors, unknown last). */
export function planTags(tags: DiscoveryTags): PlannedTag[] {
  const plan: PlannedTag[] = [];
  const add = <T>(type: number, codec: ValueCodec<T>, value: T): void => void plan.push({ type, codec, value, length: codec.length(value) });
  for (const row of TAG_REGISTRY) {
    switch (row.slot) {
      case 'end':
        break;
      case 'serviceNames':
        for (const s of tags.serviceNames ?? []) add(row.type, row.codec, s);
        break;
      case 'vendor':
        if (tags.accessLine !== undefined) add(row.type, accessLineCodec, tags.accessLine);
        for (const v of tags.vendorSpecific ?? []) add(row.type, vendorCodec, v);
        break;
      default: {
        const x = tags[row.slot];
        if (x !== undefined) add(row.type, row.codec, x);
      }
    }
  }
  for (const u of tags.unknown ?? []) add(u.type, RAW, u.value);
  return plan;
}

/** Bytes of a planned tag list. */
export const plannedLength = (plan: readonly PlannedTag[]): number => plan.reduce((n, t) => n + TAG_HEADER_LENGTH + t.length, 0);

/** Write planned tags at `out[at]`; returns bytes written. Throws RangeError on a value over 65535 bytes. */
export function emitPlannedTags(plan: readonly PlannedTag[], out: Uint8Array, at: number): number {
  let o = at;
  for (const t of plan) {
    if (t.length > 0xffff) throw new RangeError(`tag 0x${t.type.toString(16)} value of ${t.length} bytes`);
    put16(out, o, t.type);
    put16(out, o + 2, t.length);
    t.codec.emit(t.value, out, o + TAG_HEADER_LENGTH);
    o += TAG_HEADER_LENGTH + t.length;
  }
  return o - at;
}

/** The typed tags as raw tags (each value encoded on its own), in {@link planTags} order. */
export function encodeTags(tags: DiscoveryTags): RawTag[] {
  return planTags(tags).map((t) => {
    const value = new Uint8Array(t.length);
    t.codec.emit(t.value, value, 0);
    return { type: t.type, value };
  });
}
