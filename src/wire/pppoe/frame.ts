/**
 * PPPoE packets (RFC 2516 §4) inside Ethernet frames: the discovery stage (EtherType 0x8863,
 * typed tags checked against the §5 rules) and the session stage (EtherType 0x8864, CODE 0x00,
 * the PPP frame as a view starting at the PPP Protocol field, §7).
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  VER  | TYPE  |      CODE     |          SESSION_ID           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            LENGTH             |           payload             ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * VER and TYPE MUST be 0x1. LENGTH counts the payload only; bytes after it are Ethernet padding
 * and ignored.
 */
import { err, ok, put16, type Result, u16 } from '../../base/index.js';
import { type PppoeWireError, truncated } from './errors.js';
import { EtherType, emitEthernet, ethernetHeaderLength, ethernetHeaderLengthFor, parseEthernet, type EthernetHeader } from './ethernet.js';
import { BROADCAST_MAC, isGroupMac } from './mac.js';
import { DISCOVERY_SPECS, PppoeCode, checkDiscoverySpec, isDiscoveryCode, type DiscoveryCode } from './messages.js';
import { decodeTags, emitPlannedTags, parseTagList, plannedLength, planTags, type DiscoveryTags } from './tags.js';

/** VER | TYPE | CODE | SESSION_ID | LENGTH. */
export const PPPOE_HEADER_LENGTH = 6;
/** RFC 2516 §4: VER = 1, TYPE = 1. */
const VER_TYPE = 0x11;

/** A discovery packet (PPPoE header + tags). */
export interface DiscoveryPacket {
  readonly code: DiscoveryCode;
  readonly sessionId: number;
  readonly tags: DiscoveryTags;
}

/** A discovery packet in its Ethernet frame. */
export interface DiscoveryFrame {
  readonly ethernet: EthernetHeader;
  readonly packet: DiscoveryPacket;
}

/** A session-stage frame; `payload` (a view) starts at the PPP Protocol field (§7). */
export interface SessionFrame {
  readonly ethernet: EthernetHeader;
  readonly sessionId: number;
  readonly payload: Uint8Array;
}

/** Either stage, by EtherType. */
export type PppoeFrame = ({ readonly stage: 'discovery' } & DiscoveryFrame) | ({ readonly stage: 'session' } & SessionFrame);

interface Header {
  readonly code: number;
  readonly sessionId: number;
  readonly payload: Uint8Array;
}

function parseHeader(b: Uint8Array): Result<Header, PppoeWireError> {
  if (b.length < PPPOE_HEADER_LENGTH) return err(truncated('PPPoE header', PPPOE_HEADER_LENGTH, b.length));
  const vt = b[0] ?? 0;
  if (vt !== VER_TYPE) return err({ kind: 'bad-version', version: vt >>> 4, type: vt & 0x0f });
  const length = u16(b, 4);
  if (PPPOE_HEADER_LENGTH + length > b.length) return err(truncated('PPPoE payload', PPPOE_HEADER_LENGTH + length, b.length));
  return ok({ code: b[1] ?? 0, sessionId: u16(b, 2), payload: b.subarray(PPPOE_HEADER_LENGTH, PPPOE_HEADER_LENGTH + length) });
}

/** Parse a discovery packet (from the PPPoE header on) and check it against its §5 rule. */
export function parseDiscoveryPacket(b: Uint8Array): Result<DiscoveryPacket, PppoeWireError> {
  const h = parseHeader(b);
  if (!h.ok) return h;
  const { code, sessionId, payload } = h.value;
  if (!isDiscoveryCode(code)) return err({ kind: 'bad-code', code, ethertype: EtherType.pppoeDiscovery });
  const raw = parseTagList(payload);
  if (!raw.ok) return raw;
  const tags = decodeTags(raw.value);
  if (!tags.ok) return tags;
  const c = checkDiscoverySpec(code, sessionId, tags.value, PPPOE_HEADER_LENGTH + payload.length);
  if (!c.ok) return c;
  return ok({ code, sessionId, tags: tags.value });
}

/** §5: PADI goes to the broadcast address, every other discovery packet to a unicast address. */
function checkDestination(eth: EthernetHeader, code: DiscoveryCode): Result<void, PppoeWireError> {
  const spec = DISCOVERY_SPECS[code];
  if (spec.destination === 'broadcast' && eth.destination !== BROADCAST_MAC) {
    return err({ kind: 'bad-destination', code, detail: `${spec.name} not sent to the broadcast address` });
  }
  if (spec.destination === 'unicast' && isGroupMac(eth.destination)) {
    return err({ kind: 'bad-destination', code, detail: `${spec.name} sent to a group address` });
  }
  // Appendix/§3: the source is always a unicast station address.
  if (isGroupMac(eth.source)) return err({ kind: 'bad-destination', code, detail: 'group source address' });
  return ok(undefined);
}

/** Parse an Ethernet frame of either PPPoE stage. Never throws; never modifies `buf`. */
export function parsePppoeFrame(buf: Uint8Array): Result<PppoeFrame, PppoeWireError> {
  const e = parseEthernet(buf);
  if (!e.ok) return e;
  const { header: ethernet, payloadOffset } = e.value;
  const body = buf.subarray(payloadOffset);
  if (ethernet.ethertype === EtherType.pppoeDiscovery) {
    const p = parseDiscoveryPacket(body);
    if (!p.ok) return p;
    const d = checkDestination(ethernet, p.value.code);
    if (!d.ok) return d;
    return ok({ stage: 'discovery', ethernet, packet: p.value });
  }
  if (ethernet.ethertype === EtherType.pppoeSession) {
    const h = parseHeader(body);
    if (!h.ok) return h;
    if (h.value.code !== PppoeCode.session) return err({ kind: 'bad-code', code: h.value.code, ethertype: EtherType.pppoeSession });
    return ok({ stage: 'session', ethernet, sessionId: h.value.sessionId, payload: h.value.payload });
  }
  return err({ kind: 'bad-ethertype', ethertype: ethernet.ethertype });
}

/** Parse a discovery frame (EtherType 0x8863 only). */
export function parseDiscoveryFrame(buf: Uint8Array): Result<DiscoveryFrame, PppoeWireError> {
  const f = parsePppoeFrame(buf);
  if (!f.ok) return f;
  if (f.value.stage !== 'discovery') return err({ kind: 'bad-ethertype', ethertype: f.value.ethernet.ethertype });
  return ok({ ethernet: f.value.ethernet, packet: f.value.packet });
}

/** Parse a session frame (EtherType 0x8864 only). */
export function parseSessionFrame(buf: Uint8Array): Result<SessionFrame, PppoeWireError> {
  const f = parsePppoeFrame(buf);
  if (!f.ok) return f;
  if (f.value.stage !== 'session') return err({ kind: 'bad-ethertype', ethertype: f.value.ethernet.ethertype });
  return ok({ ethernet: f.value.ethernet, sessionId: f.value.sessionId, payload: f.value.payload });
}

function writeHeader(out: Uint8Array, at: number, code: number, sessionId: number, length: number): void {
  if (length > 0xffff) throw new RangeError(`PPPoE payload of ${length} bytes`);
  out[at] = VER_TYPE;
  out[at + 1] = code;
  put16(out, at + 2, sessionId);
  put16(out, at + 4, length);
}

/** Bytes of the Ethernet frame `encodeDiscoveryFrame` produces. */
export function discoveryFrameLength(f: DiscoveryFrame): number {
  return ethernetHeaderLength(f.ethernet) + PPPOE_HEADER_LENGTH + plannedLength(planTags(f.packet.tags));
}

/**
 * Write the frame at `out[offset]` (EtherType forced to 0x8863); returns bytes written
 * (= discoveryFrameLength). Throws RangeError for values that cannot be encoded.
 */
export function emitDiscoveryFrame(f: DiscoveryFrame, out: Uint8Array, offset = 0): number {
  const plan = planTags(f.packet.tags);
  let o = offset + emitEthernet(f.ethernet, out, offset, EtherType.pppoeDiscovery);
  writeHeader(out, o, f.packet.code, f.packet.sessionId, plannedLength(plan));
  o += PPPOE_HEADER_LENGTH;
  return o + emitPlannedTags(plan, out, o) - offset;
}

/** Allocate and emit a discovery frame. */
export function encodeDiscoveryFrame(f: DiscoveryFrame): Uint8Array {
  const plan = planTags(f.packet.tags);
  const len = plannedLength(plan);
  const out = new Uint8Array(ethernetHeaderLength(f.ethernet) + PPPOE_HEADER_LENGTH + len);
  const o = emitEthernet(f.ethernet, out, 0, EtherType.pppoeDiscovery);
  writeHeader(out, o, f.packet.code, f.packet.sessionId, len);
  emitPlannedTags(plan, out, o + PPPOE_HEADER_LENGTH);
  return out;
}

/** Ethernet + PPPoE header bytes in front of a session payload with `vlanCount` tags. */
export const sessionHeaderLength = (vlanCount: number): number => ethernetHeaderLengthFor(vlanCount) + PPPOE_HEADER_LENGTH;

/**
 * Write the Ethernet + PPPoE session header at `out[offset]` for a payload of `payloadLength` bytes
 * that follows it (EtherType forced to 0x8864, CODE 0x00); returns the header length.
 */
export function writeSessionHeader(out: Uint8Array, offset: number, ethernet: EthernetHeader, sessionId: number, payloadLength: number): number {
  const o = offset + emitEthernet(ethernet, out, offset, EtherType.pppoeSession);
  writeHeader(out, o, PppoeCode.session, sessionId, payloadLength);
  return o + PPPOE_HEADER_LENGTH - offset;
}

/** Allocate a session frame carrying a copy of `payload`. */
export function encodeSessionFrame(f: SessionFrame): Uint8Array {
  const h = sessionHeaderLength(f.ethernet.vlans.length);
  const out = new Uint8Array(h + f.payload.length);
  writeSessionHeader(out, 0, f.ethernet, f.sessionId, f.payload.length);
  out.set(f.payload, h);
  return out;
}
