/**
 * ESP header (RFC 4303 §2) and ESP-in-UDP framing on port 4500 (RFC 3948 §2): the non-ESP marker
 * in front of IKE messages and the one-byte NAT-keepalive.
 */
import { err, ok, type Result } from '../../base/index.js';

/*
 * RFC 4303 §2.1 ESP packet
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               Security Parameters Index (SPI)                 |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      Sequence Number                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |       IV (if any) | Payload Data* (variable)                  |
 * ~                                                               ~
 * |               |     Padding (0-255 bytes)                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |  Pad Length   | Next Header   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Integrity Check Value-ICV   (variable)                |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

/** SPI + sequence number. */
export const ESP_HEADER_LENGTH = 8;

/** The cleartext ESP header. */
export interface EspHeader {
  readonly spi: number;
  readonly seq: number;
}

/** Why an ESP header or UDP-4500 payload did not parse. */
export type EspWireError =
  | { readonly kind: 'truncated'; readonly need: number; readonly have: number }
  | { readonly kind: 'zero-spi' };

/** Parse the 8-byte header; SPI 0 is reserved (RFC 4303 §2.1). */
export function parseEspHeader(buf: Uint8Array): Result<EspHeader, EspWireError> {
  if (buf.length < ESP_HEADER_LENGTH) return err({ kind: 'truncated', need: ESP_HEADER_LENGTH, have: buf.length });
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const spi = v.getUint32(0);
  if (spi === 0) return err({ kind: 'zero-spi' });
  return ok({ spi, seq: v.getUint32(4) });
}

/** Write the 8-byte header at `off`. */
export function emitEspHeader(h: EspHeader, buf: Uint8Array, off = 0): number {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  v.setUint32(off, h.spi >>> 0);
  v.setUint32(off + 4, h.seq >>> 0);
  return ESP_HEADER_LENGTH;
}

/*
 * RFC 3948 §2.2 IKE header format for port 4500
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        Source Port            |      Destination Port         |
 * |           Length              |           Checksum            |
 * |                    Non-ESP Marker (4 zero bytes)              |
 * ~                    IKE header [RFC4306]                       ~
 *
 * RFC 3948 §2.3 NAT-Keepalive: a UDP payload of exactly one byte 0xFF.
 */

/** Length of the RFC 3948 non-ESP marker. */
export const NON_ESP_MARKER_LENGTH = 4;
/** RFC 3948 §2.3 NAT-keepalive payload. */
export const NAT_KEEPALIVE: Uint8Array = Uint8Array.of(0xff);

/** What a UDP payload received on port 4500 is (RFC 3948 §2). */
export type Udp4500Payload =
  | { readonly kind: 'keepalive' }
  | { readonly kind: 'ike'; readonly ike: Uint8Array }
  | { readonly kind: 'esp'; readonly spi: number; readonly packet: Uint8Array }
  | { readonly kind: 'invalid'; readonly reason: string };

/** Classify a UDP-4500 payload: keepalive, IKE behind the non-ESP marker, or ESP (no copy). */
export function classifyUdp4500(p: Uint8Array): Udp4500Payload {
  if (p.length === 1 && p[0] === 0xff) return { kind: 'keepalive' };
  if (p.length < 4) return { kind: 'invalid', reason: 'shorter than 4 bytes' };
  const spi = (((p[0] ?? 0) << 24) | ((p[1] ?? 0) << 16) | ((p[2] ?? 0) << 8) | (p[3] ?? 0)) >>> 0;
  if (spi === 0) return { kind: 'ike', ike: p.subarray(NON_ESP_MARKER_LENGTH) };
  if (p.length < ESP_HEADER_LENGTH) return { kind: 'invalid', reason: 'ESP shorter than 8 bytes' };
  return { kind: 'esp', spi, packet: p };
}

/** Prefix an IKE message with the non-ESP marker for sending on port 4500. */
export function frameIkeFor4500(ike: Uint8Array): Uint8Array {
  const out = new Uint8Array(NON_ESP_MARKER_LENGTH + ike.length);
  out.set(ike, NON_ESP_MARKER_LENGTH);
  return out;
}
