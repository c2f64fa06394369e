/**
 * One direction of an ESP security association (RFC 4303) in transport mode: encrypt/decrypt,
 * sequence numbers, anti-replay, padding checks and per-SA counters. Ciphers: AES-CBC (RFC 3602)
 * and 3DES-CBC (RFC 2451) with HMAC-SHA1-96 (RFC 2404) / HMAC-SHA2 (RFC 4868), and AES-GCM with a
 * 16-byte ICV and 8-byte IV (RFC 4106); 'hmac-sha256-96' is the old 96-bit truncation of HMAC-SHA-256
 * some Android peers use. Key objects are created once per SA.
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { err, ok, type Result } from '../base/result.js';
import type { RandomSource } from '../base/random.js';
import { ESP_HEADER_LENGTH, emitEspHeader, parseEspHeader } from '../wire/esp/codec.js';
import { ReplayWindow } from './replay.js';

/** ESP encryption transforms we implement. */
export type EspEncryption = 'aes-cbc' | 'aes-gcm-16' | '3des-cbc';
/** ESP integrity transforms (none for GCM, which authenticates itself). */
export type EspIntegrity = 'hmac-sha1-96' | 'hmac-sha256-128' | 'hmac-sha256-96' | 'hmac-sha384-192' | 'hmac-sha512-256' | 'none';

/** RFC 4303 §2.6 / RFC 5996-style protocol numbers used as Next Header. */
export const NEXT_HEADER_UDP = 17;
/** RFC 4303 §2.6: "no next header" dummy packets (TFC) carry 59 and are discarded. */
export const NEXT_HEADER_NONE = 59;

/** Keys and algorithms of one SA direction (as derived from KEYMAT, RFC 2409 §5.5). */
export interface EspSaParams {
  readonly spi: number;
  readonly encryption: EspEncryption;
  /** Cipher key; for AES-GCM the 4-byte salt follows the key (RFC 4106 §8.1). */
  readonly encryptionKey: Uint8Array;
  readonly integrity: EspIntegrity;
  readonly integrityKey: Uint8Array;
  /** Anti-replay window size in packets (default 128; 0 disables replay checking). */
  readonly replayWindow?: number;
}

/** Why a packet was refused. */
export type EspError =
  | { readonly kind: 'malformed'; readonly detail: string }
  | { readonly kind: 'wrong-spi'; readonly spi: number }
  | { readonly kind: 'replay'; readonly seq: number; readonly verdict: 'duplicate' | 'too-old' | 'zero' }
  | { readonly kind: 'icv-mismatch'; readonly seq: number }
  | { readonly kind: 'bad-padding'; readonly seq: number }
  | { readonly kind: 'seq-exhausted' };

/** A decrypted packet. `payload` is a view into a fresh buffer, `nextHeader` 59 means discard. */
export interface EspPlain {
  readonly seq: number;
  readonly nextHeader: number;
  readonly payload: Uint8Array;
}

/** Per-SA counters (mirrored into metrics by the daemon). */
export interface EspCounters {
  packetsOut: number;
  bytesOut: number;
  packetsIn: number;
  bytesIn: number;
  replayDrops: number;
  authFailures: number;
  malformed: number;
  padErrors: number;
}

const INTEG: Record<Exclude<EspIntegrity, 'none'>, { hash: string; icv: number; keyLen: number }> = {
  'hmac-sha1-96': { hash: 'sha1', icv: 12, keyLen: 20 },
  'hmac-sha256-128': { hash: 'sha256', icv: 16, keyLen: 32 },
  // Pre-RFC 4868 truncation (draft-ietf-ipsec-ciph-sha-256-00) still used by older Android/Linux peers.
  'hmac-sha256-96': { hash: 'sha256', icv: 12, keyLen: 32 },
  'hmac-sha384-192': { hash: 'sha384', icv: 24, keyLen: 48 },
  'hmac-sha512-256': { hash: 'sha512', icv: 32, keyLen: 64 },
};

/** Integrity key length in bytes for KEYMAT sizing (RFC 2404, RFC 4868 §2.1). */
export const integrityKeyLength = (i: EspIntegrity): number => (i === 'none' ? 0 : INTEG[i].keyLen);
/** Encryption KEYMAT length in bytes for a cipher and key size in bits (GCM adds the 4-byte salt). */
export const encryptionKeymatLength = (e: EspEncryption, keyBits: number): number =>
  e === '3des-cbc' ? 24 : keyBits / 8 + (e === 'aes-gcm-16' ? 4 : 0);

/** One direction of an ESP SA. Use separate objects for inbound and outbound. */
export class EspSa {
  readonly spi: number;
  readonly encryption: EspEncryption;
  readonly integrity: EspIntegrity;
  /** Counters for this SA. */
  readonly counters: EspCounters = { packetsOut: 0, bytesOut: 0, packetsIn: 0, bytesIn: 0, replayDrops: 0, authFailures: 0, malformed: 0, padErrors: 0 };
  private readonly cipherName: string;
  private readonly key: KeyObject;
  private readonly salt: Uint8Array;
  private readonly macKey: KeyObject | undefined;
  private readonly macHash: string;
  private readonly icvLen: number;
  private readonly ivLen: number;
  private readonly blockSize: number;
  private readonly replay: ReplayWindow | undefined;
  private seqOut = 0;
  private readonly nonce = Buffer.alloc(12);
  private readonly aad = Buffer.alloc(8);

  /** Throws only on programmer errors (wrong key sizes). */
  constructor(p: EspSaParams, private readonly random: RandomSource) {
    this.spi = p.spi >>> 0;
    this.encryption = p.encryption;
    this.integrity = p.integrity;
    let keyBytes = p.encryptionKey;
    if (p.encryption === 'aes-gcm-16') {
      if (p.integrity !== 'none') throw new Error('AES-GCM takes no separate integrity transform');
      if (![20, 28, 36].includes(keyBytes.length)) throw new Error('AES-GCM key must be 16/24/32 bytes + 4 salt');
      this.salt = keyBytes.slice(keyBytes.length - 4);
      keyBytes = keyBytes.subarray(0, keyBytes.length - 4);
      this.cipherName = `aes-${keyBytes.length * 8}-gcm`;
      this.ivLen = 8;
      this.blockSize = 4; // RFC 4106 §3: 4-byte alignment only
      this.icvLen = 16;
      this.nonce.set(this.salt, 0);
    } else {
      this.salt = new Uint8Array(0);
      if (p.encryption === '3des-cbc') {
        if (keyBytes.length !== 24) throw new Error('3DES key must be 24 bytes');
        this.cipherName = 'des-ede3-cbc';
        this.ivLen = 8;
        this.blockSize = 8;
      } else {
        if (![16, 24, 32].includes(keyBytes.length)) throw new Error('AES key must be 16/24/32 bytes');
        this.cipherName = `aes-${keyBytes.length * 8}-cbc`;
        this.ivLen = 16;
        this.blockSize = 16;
      }
      if (p.integrity === 'none') throw new Error('CBC without integrity is not allowed');
      this.icvLen = INTEG[p.integrity].icv;
      this.macHash = INTEG[p.integrity].hash;
      this.macKey = createSecretKey(p.integrityKey);
    }
    this.macHash ??= '';
    this.key = createSecretKey(keyBytes);
    this.replay = p.replayWindow === 0 ? undefined : new ReplayWindow(p.replayWindow ?? 128);
  }

  /** Last sequence number sent. */
  get lastSeqOut(): number {
    return this.seqOut;
  }

  /** Highest sequence number accepted inbound. */
  get lastSeqIn(): number {
    return this.replay?.top ?? 0;
  }

  /** Bytes of ESP overhead for a payload of `n` bytes. */
  packetLength(n: number): number {
    const padded = Math.ceil((n + 2) / this.blockSize) * this.blockSize;
    return ESP_HEADER_LENGTH + this.ivLen + padded + this.icvLen;
  }

  /**
   * Encrypt one transport-mode payload (e.g. the UDP header + L2TP datagram, next header 17).
   * RFC 4303 §3.3.3: the 32-bit counter never cycles; at 2^32-1 the SA must be rekeyed.
   */
  encrypt(payload: Uint8Array, nextHeader = NEXT_HEADER_UDP): Result<Uint8Array, EspError> {
    if (this.seqOut >= 0xffffffff) return err({ kind: 'seq-exhausted' });
    const seq = ++this.seqOut;
    const total = this.packetLength(payload.length);
    const ctStart = ESP_HEADER_LENGTH + this.ivLen;
    const ctLen = total - ctStart - this.icvLen;
    const padLen = ctLen - payload.length - 2;
    const out = Buffer.allocUnsafe(total);
    emitEspHeader({ spi: this.spi, seq }, out, 0);
    // RFC 4303 §2.4: default padding is 1, 2, 3, ...
    const trailer = Buffer.allocUnsafe(padLen + 2);
    for (let i = 0; i < padLen; i++) trailer[i] = i + 1;
    trailer[padLen] = padLen;
    trailer[padLen + 1] = nextHeader;
    let o = ctStart;
    if (this.encryption === 'aes-gcm-16') {
      // RFC 4106 §3.1: the IV must be unique per key; the sequence number is (SA counter never cycles).
      out.writeUInt32BE(0, ESP_HEADER_LENGTH);
      out.writeUInt32BE(seq, ESP_HEADER_LENGTH + 4);
      out.copy(this.nonce, 4, ESP_HEADER_LENGTH, ctStart);
      const c = createCipheriv(this.cipherName as 'aes-128-gcm', this.key, this.nonce, { authTagLength: 16 });
      // RFC 4106 §5: AAD = SPI | 32-bit sequence number.
      c.setAAD(out.subarray(0, ESP_HEADER_LENGTH));
      o += c.update(payload).copy(out, o);
      o += c.update(trailer).copy(out, o);
      o += c.final().copy(out, o);
      c.getAuthTag().copy(out, o);
    } else {
      const iv = this.random.bytes(this.ivLen);
      out.set(iv, ESP_HEADER_LENGTH);
      const c = createCipheriv(this.cipherName, this.key, iv);
      c.setAutoPadding(false);
      o += c.update(payload).copy(out, o);
      o += c.update(trailer).copy(out, o);
      o += c.final().copy(out, o);
      // RFC 4303 §2.8 / RFC 2404: ICV over SPI..Next Header, truncated.
      const mac = createHmac(this.macHash, this.macKey as KeyObject).update(out.subarray(0, o)).digest();
      mac.copy(out, o, 0, this.icvLen);
    }
    this.counters.packetsOut++;
    this.counters.bytesOut += payload.length;
    return ok(out);
  }

  /** Verify and decrypt one ESP packet (RFC 4303 §3.4: replay check, ICV, decrypt, padding). */
  decrypt(packet: Uint8Array): Result<EspPlain, EspError> {
    const h = parseEspHeader(packet);
    if (!h.ok) return this.malformed('short header');
    const { spi, seq } = h.value;
    if (spi !== this.spi) return err({ kind: 'wrong-spi', spi });
    const ctStart = ESP_HEADER_LENGTH + this.ivLen;
    const ctLen = packet.length - ctStart - this.icvLen;
    if (ctLen < Math.max(this.blockSize, 4) || ctLen % this.blockSize !== 0) return this.malformed(`ciphertext length ${ctLen}`);
    // RFC 4303 §3.4.3: cheap replay check before the ICV.
    if (this.replay) {
      const v = this.replay.check(seq);
      if (v !== 'ok') {
        this.counters.replayDrops++;
        return err({ kind: 'replay', seq, verdict: v });
      }
    }
    const icvStart = packet.length - this.icvLen;
    let plain: Buffer;
    if (this.encryption === 'aes-gcm-16') {
      const nonce = Buffer.allocUnsafe(12);
      nonce.set(this.salt, 0);
      nonce.set(packet.subarray(ESP_HEADER_LENGTH, ctStart), 4);
      const d = createDecipheriv(this.cipherName as 'aes-128-gcm', this.key, nonce, { authTagLength: 16 });
      d.setAAD(packet.subarray(0, ESP_HEADER_LENGTH));
      d.setAuthTag(packet.subarray(icvStart));
      const a = d.update(packet.subarray(ctStart, icvStart));
      try {
        const b = d.final();
        plain = b.length === 0 ? a : Buffer.concat([a, b]);
      } catch {
        this.counters.authFailures++;
        return err({ kind: 'icv-mismatch', seq });
      }
    } else {
      const mac = createHmac(this.macHash, this.macKey as KeyObject).update(packet.subarray(0, icvStart)).digest();
      if (!timingSafeEqual(mac.subarray(0, this.icvLen), packet.subarray(icvStart))) {
        this.counters.authFailures++;
        return err({ kind: 'icv-mismatch', seq });
      }
      const d = createDecipheriv(this.cipherName, this.key, packet.subarray(ESP_HEADER_LENGTH, ctStart));
      d.setAutoPadding(false);
      const a = d.update(packet.subarray(ctStart, icvStart));
      const b = d.final();
      plain = b.length === 0 ? a : Buffer.concat([a, b]);
    }
    const padLen = plain[plain.length - 2] ?? 0;
    const nextHeader = plain[plain.length - 1] ?? 0;
    const dataLen = plain.length - 2 - padLen;
    // RFC 4303 §2.4: the receiver checks the default 1, 2, 3 ... padding.
    let padOk = dataLen >= 0;
    for (let i = 0; padOk && i < padLen; i++) if (plain[dataLen + i] !== i + 1) padOk = false;
    if (!padOk) {
      this.counters.padErrors++;
      return err({ kind: 'bad-padding', seq });
    }
    // RFC 4303 §3.4.3: the window moves only for authenticated packets.
    this.replay?.update(seq);
    this.counters.packetsIn++;
    this.counters.bytesIn += dataLen;
    return ok({ seq, nextHeader, payload: plain.subarray(0, dataLen) });
  }

  private malformed(detail: string): Result<never, EspError> {
    this.counters.malformed++;
    return err({ kind: 'malformed', detail });
  }
}
