/**
 * A minimal scripted IKEv1 Main Mode + Quick Mode initiator for tests and simulations (not a
 * production initiator: no timers, no policy). It builds each message from the codecs and the key
 * schedule and checks every response, so a two-party run cross-checks the responder.
 */
import assert from 'node:assert/strict';
import { attr, encodeIsakmp, encodePayloadChain, parseIsakmp } from '../../src/wire/ike/codec.js';
import { DOI_IPSEC, EncapMode, ExchangeType, IdType, Ike1Attr, Ipsec2Attr, KEY_IKE, NotifyType, PayloadType, ProtocolId, SIT_IDENTITY_ONLY, VendorIds } from '../../src/wire/ike/constants.js';
import type { IkePayload, SaAttribute } from '../../src/wire/ike/types.js';
import { classifyUdp4500, frameIkeFor4500 } from '../../src/wire/esp/codec.js';
import type { RandomSource } from '../../src/base/random.js';
import { type Endpoint } from '../../src/ipsec/addr.js';
import { generateDh, type DhGroupNumber, type DhKeyPair } from '../../src/ipsec/dh.js';
import { chainWithHash, ikeCipher, natDHash, openBody, sealMessage, type IkeCipher } from '../../src/ipsec/ike-crypto.js';
import {
  deriveSkeyids, encryptionKey, hashI, hashR, keymat, phase1Iv, phase2Iv, qmHash1, qmHash2, qmHash3, skeyidPsk, type IkeHashName, type SkeyidSet,
} from '../../src/ipsec/keys.js';
import { encryptionKeymatLength, integrityKeyLength, type EspEncryption, type EspIntegrity, type EspSaParams } from '../../src/ipsec/esp.js';
import { ipToBytes } from '../../src/base/index.js';

/** What the scripted initiator proposes and how it presents itself. */
export interface TestInitiatorOptions {
  readonly psk: Uint8Array;
  /** Address/port the initiator believes it has (NAT-D, IDci). */
  readonly privateEndpoint: Endpoint;
  readonly natt: 'rfc3947' | 'draft' | 'none';
  readonly p1?: { readonly encr: number; readonly keyBits?: number; readonly hash: number; readonly hashName: IkeHashName; readonly group: DhGroupNumber };
  readonly esp?: { readonly transformId: number; readonly keyBits?: number; readonly auth?: number; readonly encryption: EspEncryption; readonly integrity: EspIntegrity };
  readonly pfsGroup?: DhGroupNumber;
  readonly udpEncap?: boolean;
  readonly initialContact?: boolean;
  /** Present as Windows: MS NT5 and MS Vid-Initial-Contact vendor ids in MM1 (and no INITIAL-CONTACT notify). */
  readonly windowsVids?: boolean;
  readonly clientPort?: number;
}

/** Scripted initiator; call the steps in order, feeding responder output back in. */
export class TestInitiator {
  readonly icookie: Uint8Array;
  rcookie: Uint8Array = new Uint8Array(8);
  private readonly o: Required<Pick<TestInitiatorOptions, 'p1' | 'esp'>> & TestInitiatorOptions;
  private readonly cipher: IkeCipher;
  private saiB: Uint8Array = new Uint8Array(0);
  private dh: DhKeyPair | undefined;
  private ni: Uint8Array;
  private nr: Uint8Array = new Uint8Array(0);
  private gxr: Uint8Array = new Uint8Array(0);
  keys: SkeyidSet | undefined;
  private encKey: Uint8Array = new Uint8Array(0);
  /** Running phase-1 IV (after MM6: the last phase-1 block). */
  iv: Uint8Array = new Uint8Array(0);
  private qm: { mid: number; iv: Uint8Array; ni: Uint8Array; nr: Uint8Array; spi: number; peerSpi: number; dh: DhKeyPair | undefined; gxy: Uint8Array | undefined } = {
    mid: 0, iv: new Uint8Array(0), ni: new Uint8Array(0), nr: new Uint8Array(0), spi: 0, peerSpi: 0, dh: undefined, gxy: undefined,
  };
  /** ESP keys from the initiator's point of view once Quick Mode completed. */
  esp: { inbound: EspSaParams; outbound: EspSaParams } | undefined;

  constructor(opts: TestInitiatorOptions, private readonly random: RandomSource) {
    this.o = {
      p1: { encr: 7, keyBits: 256, hash: 2, hashName: 'sha1', group: 14 },
      esp: { transformId: 12, keyBits: 128, auth: 2, encryption: 'aes-cbc', integrity: 'hmac-sha1-96' },
      ...opts,
    };
    this.icookie = random.bytes(8);
    this.ni = random.bytes(32);
    const c = ikeCipher(this.o.p1.encr, this.o.p1.keyBits);
    assert.ok(c);
    this.cipher = c;
  }

  private get h(): IkeHashName {
    return this.o.p1.hashName;
  }

  private hdr(exchangeType: number, messageId: number): { icookie: Uint8Array; rcookie: Uint8Array; exchangeType: number; flags: number; messageId: number } {
    return { icookie: this.icookie, rcookie: this.rcookie, exchangeType, flags: 0, messageId };
  }

  /** Strip the non-ESP marker when the datagram came on 4500. */
  static unframe(data: Uint8Array, port: number): Uint8Array {
    if (port !== 4500) return data;
    const c = classifyUdp4500(data);
    assert.equal(c.kind, 'ike');
    return c.kind === 'ike' ? c.ike : data;
  }

  /** Frame for 4500 when needed. */
  static frame(data: Uint8Array, port: number): Uint8Array {
    return port === 4500 ? frameIkeFor4500(data) : data;
  }

  /** HDR, SA, VID (RFC 2409 §5). */
  mm1(exchangeType: number = ExchangeType.IDENTITY_PROTECTION): Uint8Array {
    const a: SaAttribute[] = [attr(Ike1Attr.ENCRYPTION_ALGORITHM, this.o.p1.encr)];
    if (this.o.p1.keyBits !== undefined) a.push(attr(Ike1Attr.KEY_LENGTH, this.o.p1.keyBits));
    a.push(attr(Ike1Attr.HASH_ALGORITHM, this.o.p1.hash), attr(Ike1Attr.AUTHENTICATION_METHOD, 1), attr(Ike1Attr.GROUP_DESCRIPTION, this.o.p1.group));
    a.push(attr(Ike1Attr.LIFE_TYPE, 1), attr(Ike1Attr.LIFE_DURATION, 28800));
    const sa: IkePayload = { kind: 'sa', doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY, proposals: [{ number: 1, protocolId: ProtocolId.ISAKMP, spi: new Uint8Array(0), transforms: [{ number: 1, id: KEY_IKE, attributes: a }] }] };
    this.saiB = encodePayloadChain([sa]).subarray(4);
    const ps: IkePayload[] = [sa];
    if (this.o.natt === 'rfc3947') ps.push({ kind: 'vid', data: Buffer.from(VendorIds.RFC3947, 'hex') });
    if (this.o.natt === 'draft') ps.push({ kind: 'vid', data: Buffer.from(VendorIds.NATT_DRAFT_02N, 'hex') });
    ps.push({ kind: 'vid', data: Buffer.from(VendorIds.DPD, 'hex') });
    if (this.o.windowsVids === true) {
      ps.push({ kind: 'vid', data: Buffer.from(`${VendorIds.MS_NT5_PREFIX}00000009`, 'hex') });
      ps.push({ kind: 'vid', data: Buffer.from(VendorIds.MS_NEGOTIATION_DISCOVERY, 'hex') });
      ps.push({ kind: 'vid', data: Buffer.from(VendorIds.MS_INITIAL_CONTACT, 'hex') });
    }
    return encodeIsakmp(this.hdr(exchangeType, 0), ps);
  }

  /** Check MM2 and learn the responder cookie. */
  onMm2(data: Uint8Array): IkePayload[] {
    const m = parseIsakmp(data);
    assert.ok(m.ok && !m.value.encrypted, 'MM2 parses');
    if (!m.ok || m.value.encrypted) return [];
    this.rcookie = m.value.header.rcookie;
    const sa = m.value.payloads[0];
    assert.ok(sa && sa.kind === 'sa' && sa.proposals.length === 1 && sa.proposals[0]?.transforms.length === 1, 'one chosen transform');
    return [...m.value.payloads];
  }

  /** HDR, KE, Ni, NAT-D, NAT-D: `responderSeen` is where we send to. */
  mm3(responder: Endpoint): Uint8Array {
    this.dh = generateDh(this.o.p1.group, this.random);
    const ps: IkePayload[] = [{ kind: 'ke', data: this.dh.publicValue }, { kind: 'nonce', data: this.ni }];
    if (this.o.natt !== 'none') {
      const type: 20 | 130 = this.o.natt === 'rfc3947' ? 20 : 130;
      ps.push({ kind: 'nat-d', type, data: natDHash(this.h, this.icookie, this.rcookie, responder) });
      ps.push({ kind: 'nat-d', type, data: natDHash(this.h, this.icookie, this.rcookie, this.o.privateEndpoint) });
    }
    return encodeIsakmp(this.hdr(ExchangeType.IDENTITY_PROTECTION, 0), ps);
  }

  /** Check MM4; derive SKEYID*. Returns the NAT-D payloads. */
  onMm4(data: Uint8Array): IkePayload[] {
    const m = parseIsakmp(data);
    assert.ok(m.ok && !m.value.encrypted, 'MM4 parses');
    if (!m.ok || m.value.encrypted || !this.dh) return [];
    const ke = m.value.payloads.find((p) => p.kind === 'ke');
    const nr = m.value.payloads.find((p) => p.kind === 'nonce');
    assert.ok(ke && ke.kind === 'ke' && nr && nr.kind === 'nonce');
    this.gxr = ke.data;
    this.nr = nr.data;
    const s = this.dh.computeShared(ke.data);
    assert.ok(s.ok);
    if (!s.ok) return [];
    this.keys = deriveSkeyids(this.h, skeyidPsk(this.h, this.o.psk, this.ni, this.nr), s.value, this.icookie, this.rcookie);
    this.encKey = encryptionKey(this.h, this.keys.e, this.cipher.keyLen);
    this.iv = phase1Iv(this.h, this.dh.publicValue, this.gxr, this.cipher.blockSize);
    return m.value.payloads.filter((p) => p.kind === 'nat-d');
  }

  /** HDR*, IDii, HASH_I [, N(INITIAL-CONTACT)]. */
  mm5(): Uint8Array {
    assert.ok(this.keys && this.dh);
    const id: IkePayload = { kind: 'id', idType: IdType.IPV4_ADDR, protocolId: 17, port: 500, data: ipToBytes(this.o.privateEndpoint.address) ?? new Uint8Array(4) };
    const idB = encodePayloadChain([id]).subarray(4);
    const hi = hashI(this.h, this.keys.skeyid, this.dh.publicValue, this.gxr, this.icookie, this.rcookie, this.saiB, idB);
    const ps: IkePayload[] = [id, { kind: 'hash', data: hi }];
    if (this.o.initialContact) ps.push({ kind: 'n', doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, notifyType: NotifyType.INITIAL_CONTACT, spi: new Uint8Array([...this.icookie, ...this.rcookie]), data: new Uint8Array(0) });
    const s = sealMessage(this.cipher, this.encKey, this.iv, this.hdr(ExchangeType.IDENTITY_PROTECTION, 0), PayloadType.ID, encodePayloadChain(ps));
    this.iv = s.nextIv;
    return s.bytes;
  }

  /** Decrypt MM6 and verify HASH_R. */
  onMm6(data: Uint8Array): void {
    assert.ok(this.keys && this.dh);
    const m = parseIsakmp(data);
    assert.ok(m.ok && m.value.encrypted, 'MM6 encrypted');
    if (!m.ok || !m.value.encrypted) return;
    const o = openBody(this.cipher, this.encKey, this.iv, m.value.header.nextPayload, m.value.body);
    assert.ok(o.ok, 'MM6 opens');
    if (!o.ok) return;
    const idRaw = o.value.raws.find((r) => r.type === PayloadType.ID);
    const hp = o.value.payloads.find((p) => p.kind === 'hash');
    assert.ok(idRaw && hp && hp.kind === 'hash');
    const expect = hashR(this.h, this.keys.skeyid, this.dh.publicValue, this.gxr, this.icookie, this.rcookie, this.saiB, idRaw.body);
    assert.deepEqual(hp.data, expect, 'HASH_R verifies');
    this.iv = o.value.nextIv;
  }

  /** HDR*, HASH(1), SA, Ni, [KE], IDci, IDcr, [NAT-OAi, NAT-OAr]. */
  qm1(responderAddress: string, opts: { readonly l2tpPort?: number; readonly withIds?: boolean } = {}): Uint8Array {
    assert.ok(this.keys);
    const keys = this.keys;
    this.qm.mid = (this.random.u32() | 1) >>> 0;
    this.qm.ni = this.random.bytes(32);
    this.qm.spi = (this.random.u32() | 0x1000) >>> 0;
    this.qm.iv = phase2Iv(this.h, this.iv, this.qm.mid, this.cipher.blockSize);
    const e = this.o.esp;
    const a: SaAttribute[] = [attr(Ipsec2Attr.SA_LIFE_TYPE, 1), attr(Ipsec2Attr.SA_LIFE_DURATION, 3600)];
    const mode = this.o.udpEncap ? (this.o.natt === 'draft' ? EncapMode.UDP_TRANSPORT_DRAFT : EncapMode.UDP_TRANSPORT) : EncapMode.TRANSPORT;
    a.push(attr(Ipsec2Attr.ENCAPSULATION_MODE, mode));
    if (e.auth !== undefined) a.push(attr(Ipsec2Attr.AUTH_ALGORITHM, e.auth));
    if (e.keyBits !== undefined) a.push(attr(Ipsec2Attr.KEY_LENGTH, e.keyBits));
    if (this.o.pfsGroup !== undefined) a.push(attr(Ipsec2Attr.GROUP_DESCRIPTION, this.o.pfsGroup));
    const spi = new Uint8Array(4);
    new DataView(spi.buffer).setUint32(0, this.qm.spi);
    const ps: IkePayload[] = [
      { kind: 'sa', doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY, proposals: [{ number: 1, protocolId: ProtocolId.ESP, spi, transforms: [{ number: 1, id: e.transformId, attributes: a }] }] },
      { kind: 'nonce', data: this.qm.ni },
    ];
    if (this.o.pfsGroup !== undefined) {
      this.qm.dh = generateDh(this.o.pfsGroup, this.random);
      ps.push({ kind: 'ke', data: this.qm.dh.publicValue });
    }
    if (opts.withIds !== false) {
      ps.push({ kind: 'id', idType: IdType.IPV4_ADDR, protocolId: 17, port: this.o.clientPort ?? 1701, data: ipToBytes(this.o.privateEndpoint.address) ?? new Uint8Array(4) });
      ps.push({ kind: 'id', idType: IdType.IPV4_ADDR, protocolId: 17, port: opts.l2tpPort ?? 1701, data: ipToBytes(responderAddress) ?? new Uint8Array(4) });
    }
    if (this.o.udpEncap) {
      const type: 21 | 131 = this.o.natt === 'draft' ? 131 : 21;
      ps.push({ kind: 'nat-oa', type, idType: IdType.IPV4_ADDR, address: ipToBytes(this.o.privateEndpoint.address) ?? new Uint8Array(4) });
      ps.push({ kind: 'nat-oa', type, idType: IdType.IPV4_ADDR, address: ipToBytes(responderAddress) ?? new Uint8Array(4) });
    }
    const { first, chain } = chainWithHash(ps, (after) => qmHash1(this.h, keys.a, this.qm.mid, after));
    const s = sealMessage(this.cipher, this.encKey, this.qm.iv, this.hdr(ExchangeType.QUICK_MODE, this.qm.mid), first, chain);
    this.qm.iv = s.nextIv;
    return s.bytes;
  }

  /** Decrypt QM2, verify HASH(2), derive KEYMAT for both directions. */
  onQm2(data: Uint8Array): IkePayload[] {
    assert.ok(this.keys);
    const keys = this.keys;
    const m = parseIsakmp(data);
    assert.ok(m.ok && m.value.encrypted && m.value.header.exchangeType === ExchangeType.QUICK_MODE, 'QM2');
    if (!m.ok || !m.value.encrypted) return [];
    const o = openBody(this.cipher, this.encKey, this.qm.iv, m.value.header.nextPayload, m.value.body);
    assert.ok(o.ok);
    if (!o.ok) return [];
    this.qm.iv = o.value.nextIv;
    const hp = o.value.payloads[0];
    const second = o.value.raws[1];
    assert.ok(hp && hp.kind === 'hash' && second);
    const after = o.value.plain.subarray(second.offset, o.value.chainEnd);
    assert.deepEqual(hp.data, qmHash2(this.h, keys.a, this.qm.mid, this.qm.ni, after), 'HASH(2) verifies');
    const sa = o.value.payloads.find((p) => p.kind === 'sa');
    const nr = o.value.payloads.find((p) => p.kind === 'nonce');
    assert.ok(sa && sa.kind === 'sa' && nr && nr.kind === 'nonce');
    const spiB = sa.proposals[0]?.spi ?? new Uint8Array(4);
    this.qm.peerSpi = new DataView(spiB.buffer, spiB.byteOffset, 4).getUint32(0);
    this.qm.nr = nr.data;
    if (this.qm.dh) {
      const ke = o.value.payloads.find((p) => p.kind === 'ke');
      assert.ok(ke && ke.kind === 'ke');
      const s = this.qm.dh.computeShared(ke.data);
      assert.ok(s.ok);
      if (s.ok) this.qm.gxy = s.value;
    }
    const e = this.o.esp;
    const encLen = encryptionKeymatLength(e.encryption, e.keyBits ?? 192);
    const intLen = integrityKeyLength(e.integrity);
    const km = (spi: number): Uint8Array => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, spi);
      return keymat(this.h, keys.d, ProtocolId.ESP, b, this.qm.ni, this.qm.nr, encLen + intLen, this.qm.gxy);
    };
    const p = (spi: number): EspSaParams => {
      const k = km(spi);
      return { spi, encryption: e.encryption, encryptionKey: k.slice(0, encLen), integrity: e.integrity, integrityKey: k.slice(encLen) };
    };
    this.esp = { inbound: p(this.qm.spi), outbound: p(this.qm.peerSpi) };
    return [...o.value.payloads];
  }

  /** HDR*, HASH(3). */
  qm3(): Uint8Array {
    assert.ok(this.keys);
    const h3 = qmHash3(this.h, this.keys.a, this.qm.mid, this.qm.ni, this.qm.nr);
    const s = sealMessage(this.cipher, this.encKey, this.qm.iv, this.hdr(ExchangeType.QUICK_MODE, this.qm.mid), PayloadType.HASH, encodePayloadChain([{ kind: 'hash', data: h3 }]));
    this.qm.iv = s.nextIv;
    return s.bytes;
  }

  /** A protected informational exchange carrying `ps`. */
  informational(ps: readonly IkePayload[], mid = (this.random.u32() | 1) >>> 0): Uint8Array {
    assert.ok(this.keys);
    const keys = this.keys;
    const { first, chain } = chainWithHash(ps, (after) => qmHash1(this.h, keys.a, mid, after));
    return sealMessage(this.cipher, this.encKey, phase2Iv(this.h, this.iv, mid, this.cipher.blockSize), this.hdr(ExchangeType.INFORMATIONAL, mid), first, chain).bytes;
  }

  /** Decrypt a protected informational exchange from the responder and verify its HASH(1). */
  openInformational(data: Uint8Array): IkePayload[] {
    assert.ok(this.keys);
    const m = parseIsakmp(data);
    assert.ok(m.ok && m.value.encrypted && m.value.header.exchangeType === ExchangeType.INFORMATIONAL, 'informational');
    if (!m.ok || !m.value.encrypted) return [];
    const mid = m.value.header.messageId;
    const o = openBody(this.cipher, this.encKey, phase2Iv(this.h, this.iv, mid, this.cipher.blockSize), m.value.header.nextPayload, m.value.body);
    assert.ok(o.ok);
    if (!o.ok) return [];
    const hp = o.value.payloads[0];
    const second = o.value.raws[1];
    assert.ok(hp && hp.kind === 'hash' && second);
    assert.deepEqual(hp.data, qmHash1(this.h, this.keys.a, mid, o.value.plain.subarray(second.offset, o.value.chainEnd)), 'informational HASH(1)');
    return [...o.value.payloads.slice(1)];
  }
}
