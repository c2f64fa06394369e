/**
 * Sans-I/O IKEv1 initiator for an L2TP/IPsec client (LAC dial-out): Main Mode with a pre-shared key
 * (RFC 2409 §5), Quick Mode for one transport-mode ESP SA protecting UDP 1701 (§5.5, RFC 3193 §4),
 * NAT-T with the float to port 4500 (RFC 3947) and NAT-keepalives (RFC 3948 §4), DPD (RFC 3706),
 * delete (RFC 2408 §3.15) and initiator-driven child SA rekeying (make before break).
 *
 * One instance talks to one server. Drive it like the responder: `connect(now)`, then
 * `handle(now, datagram)` / `handleTimeout(now)` / `pollAt()`; send `takeDatagrams()` verbatim (IKE
 * on the NAT-T port already carries the RFC 3948 non-ESP marker) and act on `takeEvents()` — the
 * same `IkeEvent` union as `IkeResponder`, so the ESP glue serves both roles.
 */
import { timingSafeEqual } from 'node:crypto';
import { addDuration, earliest, millis, seconds, type Duration, type Instant, type Timed } from '../base/time.js';
import type { RandomSource } from '../base/random.js';
import { attr, encodeIsakmp, encodePayloadChain, parseIsakmp } from '../wire/ike/codec.js';
import {
  DOI_IPSEC, EncapMode, EspAuth, EspTransformId, ExchangeType, IdType, Ike1Attr, Ike1Auth, Ike1Encr, Ike1Hash, Ipsec2Attr, KEY_IKE, LifeType,
  NotifyType, PayloadType, ProtocolId, SIT_IDENTITY_ONLY, VendorIds,
} from '../wire/ike/constants.js';
import type { IkePayload, IsakmpHeader, SaAttribute, SaPayload, Transform } from '../wire/ike/types.js';
import { classifyUdp4500, frameIkeFor4500 } from '../wire/esp/codec.js';
import { bytesToIp, ipToBytes, sameEndpoint, type Endpoint } from './addr.js';
import { generateDh, type DhGroupNumber, type DhKeyPair } from './dh.js';
import { chainWithHash, natDHash, openBody, sealMessage } from './ike-crypto.js';
import {
  deriveSkeyids, encryptionKey, hashI, hashLength, hashR, keymat, phase1Iv, phase2Iv, qmHash1, qmHash2, qmHash3, skeyidPsk, type IkeHashName, type SkeyidSet,
} from './keys.js';
import { readResponderLifetime, selectPhase1, selectPhase2, type IkePolicy, type Phase2Lifetimes, type Phase1Choice, type Phase1Encryption, type Phase2Choice, type Phase2Encryption } from './proposals.js';
import { byteLimitsFromKilobytes, encryptionKeymatLength, integrityKeyLength, type EspIntegrity, type EspSaParams } from './esp.js';
import { nextState } from './fsm.js';
import {
  MAIN_MODE_INIT_TABLE, QUICK_MODE_INIT_TABLE, type MainModeInitEvent, type MainModeInitState, type QuickModeInitEvent, type QuickModeInitState,
} from './initiator-fsm.js';
import type { DeleteReason, FailReason, IkeDatagram, IkeEvent, IkeIdentity, NatState } from './ike-responder.js';

/** One phase-1 transform we offer. */
export interface Phase1Offer {
  readonly encryption: Phase1Encryption;
  readonly hash: IkeHashName;
  readonly group: DhGroupNumber;
}

/** One ESP transform we offer (integrity is ignored for GCM). */
export interface Phase2Offer {
  readonly encryption: Phase2Encryption;
  readonly integrity?: Exclude<EspIntegrity, 'none'>;
}

/** What the initiator proposes, in order of preference. */
export interface InitiatorProposals {
  readonly phase1: readonly Phase1Offer[];
  readonly phase2: readonly Phase2Offer[];
}

/** Proposals accepted by Windows, macOS, strongSwan and libreswan L2TP/IPsec servers. */
export const DEFAULT_INITIATOR_PROPOSALS: InitiatorProposals = {
  phase1: [
    { encryption: 'aes256', hash: 'sha256', group: 14 },
    { encryption: 'aes128', hash: 'sha1', group: 14 },
    { encryption: 'aes256', hash: 'sha1', group: 2 },
    { encryption: '3des', hash: 'sha1', group: 2 },
  ],
  phase2: [
    { encryption: 'aes256-cbc', integrity: 'hmac-sha1-96' },
    { encryption: 'aes128-cbc', integrity: 'hmac-sha1-96' },
    { encryption: 'aes128-gcm16' },
    { encryption: '3des-cbc', integrity: 'hmac-sha1-96' },
  ],
};

/** Initiator configuration; durations in the base time units. */
export interface IkeInitiatorConfig {
  readonly psk: Uint8Array;
  /** Our IKE endpoint (the port-500 socket) with the real local address: NAT-D, IDii and IDci use it. */
  readonly local: Endpoint;
  /** The server's IKE endpoint (port 500). */
  readonly remote: Endpoint;
  /** Our NAT-T port (default 4500). */
  readonly localNattPort?: number;
  /** The server's NAT-T port (default 4500). */
  readonly remoteNattPort?: number;
  readonly proposals?: InitiatorProposals;
  /** NAT-T flavour to announce (default RFC 3947); 'none' disables NAT-T. */
  readonly natT?: 'rfc3947' | 'draft' | 'none';
  /** Pretend to be behind a NAT so ESP goes in UDP 4500 (strongSwan `forceencaps`). */
  readonly forceEncapsulation?: boolean;
  /** IDii; default ID_IPV4_ADDR of `local.address`. */
  readonly localId?: IkeIdentity;
  /** Our L2TP port in IDci (default 1701) and the server's in IDcr (default 1701). */
  readonly l2tpPort?: number;
  readonly remoteL2tpPort?: number;
  /** Proposed lifetimes (defaults 28800 s IKE, 3600 s ESP). */
  readonly ikeLifetimeSeconds?: number;
  readonly childLifetimeSeconds?: number;
  /** Proposed child SA byte lifetime in kilobytes (RFC 2407 §4.5 life type 2); none by default. */
  readonly childLifetimeKilobytes?: number;
  /** Rekey the child SA at this fraction of its lifetime, in time and in bytes (default 0.9). */
  readonly rekeyFraction?: number;
  /**
   * Re-authenticate the IKE SA (a new Main Mode, children kept, then D(ISAKMP) of the old one) at
   * this fraction of its lifetime (default 0.9); 0 = never (the SA and its children end at expiry).
   */
  readonly ikeReauthFraction?: number;
  /** How long the replaced child SA stays usable after a rekey before we delete it (default 2 s). */
  readonly rekeyOverlap?: Duration;
  /** Quick Mode PFS group (none by default, like Windows). */
  readonly pfsGroup?: DhGroupNumber;
  /** Send INITIAL-CONTACT in MM5 (default true). */
  readonly initialContact?: boolean;
  /** Start Quick Mode as soon as Main Mode completes (default true). */
  readonly autoChild?: boolean;
  readonly retransmit?: { readonly initial: Duration; readonly max: number };
  /** RFC 3706: idle interval before R-U-THERE and how long without an ACK means dead. */
  readonly dpd?: { readonly interval: Duration; readonly timeout: Duration };
  /** RFC 3948 §4 NAT-keepalive interval when we are behind a NAT (default 20 s). */
  readonly natKeepalive?: Duration;
}

interface Child {
  readonly inboundSpi: number;
  readonly outboundSpi: number;
  readonly lifetimeSeconds: number;
  readonly expiresAt: Instant;
  rekeyAt: Instant | undefined;
  /** Set once replaced by a newer child: we delete it then. */
  deleteAt: Instant | undefined;
}

/** What a protected informational exchange needs of an IKE SA (RFC 2409 §5.7). */
interface PhaseOneContext {
  readonly id: number;
  readonly icookie: Uint8Array;
  readonly rcookie: Uint8Array;
  readonly choice: Phase1Choice;
  readonly keys: SkeyidSet;
  readonly encKey: Uint8Array;
  readonly iv: Uint8Array;
}

interface Retransmit {
  at: Instant;
  interval: Duration;
  count: number;
}

interface QuickExchange {
  readonly mid: number;
  state: QuickModeInitState;
  iv: Uint8Array;
  readonly ni: Uint8Array;
  readonly spi: number;
  readonly dh: DhKeyPair | undefined;
  readonly encap: number;
  lastIn: Uint8Array | undefined;
  lastOut: Uint8Array;
  rtx: Retransmit | undefined;
  /** Inbound SPI of the child this exchange replaces (rekey). */
  readonly replaces: number | undefined;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && timingSafeEqual(a, b);
const u32 = (b: Uint8Array): number => (b.length >= 4 ? new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0) : 0);
const be32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
};

const P1_ENCR: Record<Phase1Encryption, { id: number; bits?: number }> = {
  aes128: { id: Ike1Encr.AES_CBC, bits: 128 },
  aes256: { id: Ike1Encr.AES_CBC, bits: 256 },
  '3des': { id: Ike1Encr.TRIPLE_DES_CBC },
};
const P1_HASH: Record<IkeHashName, number> = {
  md5: Ike1Hash.MD5, sha1: Ike1Hash.SHA1, sha256: Ike1Hash.SHA2_256, sha384: Ike1Hash.SHA2_384, sha512: Ike1Hash.SHA2_512,
};
const P2_ENCR: Record<Phase2Encryption, { id: number; bits?: number; gcm: boolean }> = {
  'aes128-cbc': { id: EspTransformId.AES_CBC, bits: 128, gcm: false },
  'aes256-cbc': { id: EspTransformId.AES_CBC, bits: 256, gcm: false },
  'aes128-gcm16': { id: EspTransformId.AES_GCM_16, bits: 128, gcm: true },
  'aes256-gcm16': { id: EspTransformId.AES_GCM_16, bits: 256, gcm: true },
  '3des-cbc': { id: EspTransformId.TRIPLE_DES, gcm: false },
};
const P2_AUTH: Record<Exclude<EspIntegrity, 'none'>, number> = {
  'hmac-sha1-96': EspAuth.HMAC_SHA1,
  'hmac-sha256-128': EspAuth.HMAC_SHA2_256,
  // Same transform on the wire; only the ICV length differs (per-peer quirk).
  'hmac-sha256-96': EspAuth.HMAC_SHA2_256,
  'hmac-sha384-192': EspAuth.HMAC_SHA2_384,
  'hmac-sha512-256': EspAuth.HMAC_SHA2_512,
};

/** The policy that accepts exactly the algorithms we offered (to validate the responder's choice). */
function policyOf(p: InitiatorProposals, pfs: DhGroupNumber | undefined): IkePolicy {
  const uniq = <T>(xs: readonly T[]): T[] => [...new Set(xs)];
  const integ = p.phase2.flatMap((o) => (o.integrity ? [o.integrity] : []));
  return {
    phase1: {
      encryption: uniq(p.phase1.map((o) => o.encryption)),
      hash: uniq(p.phase1.map((o) => o.hash)),
      groups: uniq(p.phase1.map((o) => o.group)),
      maxLifetimeSeconds: 0x7fffffff,
    },
    phase2: {
      encryption: uniq(p.phase2.map((o) => o.encryption)),
      integrity: uniq(integ.map((i) => (i === 'hmac-sha256-96' ? 'hmac-sha256-128' : i))),
      pfsGroups: pfs === undefined ? [] : [pfs],
      maxLifetimeSeconds: 0x7fffffff,
      ...(integ.includes('hmac-sha256-96') ? { sha256Truncation: 96 as const } : {}),
    },
  };
}

/** Same attribute list (order-insensitive), to recognise our own transform in the reply. */
function sameTransform(a: Transform, b: Transform): boolean {
  if (a.id !== b.id || a.attributes.length !== b.attributes.length) return false;
  const key = (x: SaAttribute): string => `${x.type}:${x.tv ? x.value : hex(x.value)}`;
  const ka = a.attributes.map(key).sort();
  const kb = b.attributes.map(key).sort();
  return ka.every((k, i) => k === kb[i]);
}

/** The IKEv1 initiator for one server. */
export class IkeInitiator implements Timed {
  private readonly proposals: InitiatorProposals;
  private readonly natT: 'rfc3947' | 'draft' | 'none';
  private readonly localNattPort: number;
  private readonly remoteNattPort: number;
  private readonly rtxInitial: Duration;
  private readonly rtxMax: number;
  private out: IkeDatagram[] = [];
  private events: IkeEvent[] = [];
  private nextId = 1;

  // --- the current IKE SA
  private st: MainModeInitState = 'mm-idle';
  private id = 0;
  private icookie: Uint8Array = new Uint8Array(8);
  private rcookie: Uint8Array = new Uint8Array(8);
  private local: Endpoint;
  private remote: Endpoint;
  private saiB: Uint8Array = new Uint8Array(0);
  private offered: SaPayload | undefined;
  private choice: Phase1Choice | undefined;
  private peerNatt: NatState['variant'] = 'none';
  private peerDpd = false;
  private dh: DhKeyPair | undefined;
  private gxr: Uint8Array = new Uint8Array(0);
  private ni: Uint8Array = new Uint8Array(0);
  private nr: Uint8Array = new Uint8Array(0);
  private keys: SkeyidSet | undefined;
  private encKey: Uint8Array = new Uint8Array(0);
  private iv: Uint8Array = new Uint8Array(0);
  private localBehindNat = false;
  private remoteBehindNat = false;
  private lastIn: Uint8Array | undefined;
  private lastOut: Uint8Array | undefined;
  private rtx: Retransmit | undefined;
  private expiresAt: Instant | undefined;
  private readonly quick = new Map<number, QuickExchange>();
  private children: Child[] = [];
  private lastHeard: Instant | undefined;
  private dpdSeq = 0;
  private dpdFirstSeq = 0;
  private dpdPendingSince: Instant | undefined;
  private dpdNextSend: Instant | undefined;
  private keepaliveAt: Instant | undefined;
  /** When to re-authenticate the established IKE SA. */
  private reauthAt: Instant | undefined;
  /** The IKE SA being replaced during a re-authentication: enough to delete it under its own keys. */
  private previous: PhaseOneContext | undefined;

  /** `random` supplies cookies, nonces, SPIs, message ids and DH private values. */
  constructor(private readonly config: IkeInitiatorConfig, private readonly random: RandomSource) {
    this.proposals = config.proposals ?? DEFAULT_INITIATOR_PROPOSALS;
    this.natT = config.natT ?? 'rfc3947';
    this.localNattPort = config.localNattPort ?? 4500;
    this.remoteNattPort = config.remoteNattPort ?? 4500;
    this.rtxInitial = config.retransmit?.initial ?? millis(2000);
    this.rtxMax = config.retransmit?.max ?? 5;
    this.local = config.local;
    this.remote = config.remote;
    if (this.proposals.phase1.length === 0 || this.proposals.phase2.length === 0) throw new Error('IkeInitiator needs at least one proposal per phase');
  }

  /** Main Mode state of the current IKE SA. */
  get state(): MainModeInitState {
    return this.st;
  }

  /** Id of the current IKE SA (0 before the first connect). */
  get ikeSaId(): number {
    return this.id;
  }

  /** Current IKE endpoints (after a float to NAT-T: the 4500 ports). */
  get endpoints(): { readonly local: Endpoint; readonly remote: Endpoint } {
    return { local: this.local, remote: this.remote };
  }

  /** Inbound/outbound SPIs of the installed child SAs, oldest first. */
  get childSpis(): readonly { readonly inbound: number; readonly outbound: number }[] {
    return this.children.map((c) => ({ inbound: c.inboundSpi, outbound: c.outboundSpi }));
  }

  /** Datagrams to send, oldest first (clears the queue). */
  takeDatagrams(): IkeDatagram[] {
    const o = this.out;
    this.out = [];
    return o;
  }

  /** Events since the last call (clears the queue). */
  takeEvents(): IkeEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  /** Tell DPD that ESP from the server arrived (`inboundSpi` is accepted for symmetry with the responder). */
  noteActivity(now: Instant, inboundSpi?: number): void {
    void inboundSpi;
    this.lastHeard = now;
    this.dpdPendingSince = undefined;
  }

  /** Start Main Mode (RFC 2409 §5): HDR, SA, VID. No-op unless idle or deleted. */
  connect(now: Instant): void {
    if (!this.fire('connect')) return;
    this.previous = undefined;
    this.children = [];
    this.sendMm1(now);
  }

  /**
   * Re-authentication before the IKE SA expires (make before break): remember the current IKE SA
   * (to delete it once the new one is up), start a fresh Main Mode with new cookies, keep the child
   * SAs — their ESP keeps flowing meanwhile. See `onMm6` for the hand-over.
   */
  private reauth(now: Instant): void {
    const c = this.choice;
    const keys = this.keys;
    if (!c || !keys || !this.fire('reauth')) return;
    this.previous = { id: this.id, icookie: this.icookie, rcookie: this.rcookie, choice: c, keys, encKey: this.encKey, iv: this.iv };
    this.sendMm1(now);
  }

  /** New cookies and a fresh Main Mode message 1 (the state was set by the caller's FSM event). */
  private sendMm1(now: Instant): void {
    this.id = this.nextId++;
    this.icookie = this.random.bytes(8);
    while (this.icookie.every((x) => x === 0)) this.icookie = this.random.bytes(8);
    this.rcookie = new Uint8Array(8);
    this.local = this.config.local;
    this.remote = this.config.remote;
    this.choice = undefined;
    this.keys = undefined;
    this.localBehindNat = false;
    this.remoteBehindNat = false;
    this.expiresAt = undefined;
    this.reauthAt = undefined;
    this.quick.clear();
    this.lastIn = undefined;
    this.keepaliveAt = undefined;
    this.dpdPendingSince = undefined;
    this.dpdSeq = this.random.u32() & 0x7fffffff;
    const life = this.config.ikeLifetimeSeconds ?? 28800;
    const transforms: Transform[] = this.proposals.phase1.map((o, i) => {
      const e = P1_ENCR[o.encryption];
      const a: SaAttribute[] = [attr(Ike1Attr.ENCRYPTION_ALGORITHM, e.id)];
      if (e.bits !== undefined) a.push(attr(Ike1Attr.KEY_LENGTH, e.bits));
      a.push(attr(Ike1Attr.HASH_ALGORITHM, P1_HASH[o.hash]), attr(Ike1Attr.AUTHENTICATION_METHOD, Ike1Auth.PSK), attr(Ike1Attr.GROUP_DESCRIPTION, o.group));
      a.push(attr(Ike1Attr.LIFE_TYPE, LifeType.SECONDS), attr(Ike1Attr.LIFE_DURATION, life));
      return { number: i + 1, id: KEY_IKE, attributes: a };
    });
    const sa: SaPayload = { kind: 'sa', doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY, proposals: [{ number: 1, protocolId: ProtocolId.ISAKMP, spi: new Uint8Array(0), transforms }] };
    this.offered = sa;
    // HASH_I covers SAi_b, the SA payload body (RFC 2409 §5).
    this.saiB = encodePayloadChain([sa]).subarray(4).slice();
    const ps: IkePayload[] = [sa];
    if (this.natT === 'rfc3947') ps.push({ kind: 'vid', data: Buffer.from(VendorIds.RFC3947, 'hex') });
    if (this.natT === 'draft') ps.push({ kind: 'vid', data: Buffer.from(VendorIds.NATT_DRAFT_02N, 'hex') });
    ps.push({ kind: 'vid', data: Buffer.from(VendorIds.DPD, 'hex') });
    this.sendPhase1(now, encodeIsakmp(this.hdr(ExchangeType.IDENTITY_PROTECTION, 0), ps));
    this.lastHeard = now;
  }

  /** Start a Quick Mode for a new child SA (first one, or a rekey of `replaces`). */
  startChild(now: Instant, replaces?: number): void {
    const c = this.choice;
    const keys = this.keys;
    if (this.st !== 'established' || !c || !keys) return;
    let mid = 0;
    while (mid === 0 || this.quick.has(mid)) mid = this.random.u32() >>> 0;
    let spi = 0;
    while (spi < 0x100 || this.children.some((x) => x.inboundSpi === spi)) spi = this.random.u32() >>> 0;
    const ni = this.random.bytes(32);
    const udp = this.localBehindNat || this.remoteBehindNat;
    const encap = udp ? (this.peerNatt === 'draft' ? EncapMode.UDP_TRANSPORT_DRAFT : EncapMode.UDP_TRANSPORT) : EncapMode.TRANSPORT;
    const life = this.config.childLifetimeSeconds ?? 3600;
    const lifeKb = this.config.childLifetimeKilobytes;
    const pfs = this.config.pfsGroup;
    const transforms: Transform[] = this.proposals.phase2.map((o, i) => {
      const e = P2_ENCR[o.encryption];
      const a: SaAttribute[] = [attr(Ipsec2Attr.SA_LIFE_TYPE, LifeType.SECONDS), attr(Ipsec2Attr.SA_LIFE_DURATION, life)];
      // RFC 2407 §4.5: a second (type, duration) pair for the byte lifetime.
      if (lifeKb !== undefined) a.push(attr(Ipsec2Attr.SA_LIFE_TYPE, LifeType.KILOBYTES), attr(Ipsec2Attr.SA_LIFE_DURATION, lifeKb));
      a.push(attr(Ipsec2Attr.ENCAPSULATION_MODE, encap));
      if (!e.gcm) a.push(attr(Ipsec2Attr.AUTH_ALGORITHM, P2_AUTH[o.integrity ?? 'hmac-sha1-96']));
      if (e.bits !== undefined) a.push(attr(Ipsec2Attr.KEY_LENGTH, e.bits));
      if (pfs !== undefined) a.push(attr(Ipsec2Attr.GROUP_DESCRIPTION, pfs));
      return { number: i + 1, id: e.id, attributes: a };
    });
    const dh = pfs === undefined ? undefined : generateDh(pfs, this.random);
    const ps: IkePayload[] = [
      { kind: 'sa', doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY, proposals: [{ number: 1, protocolId: ProtocolId.ESP, spi: be32(spi), transforms }] },
      { kind: 'nonce', data: ni },
    ];
    if (dh) ps.push({ kind: 'ke', data: dh.publicValue });
    // RFC 3193 §4 / RFC 2409 §5.5: IDci our host, UDP, our L2TP port; IDcr the server, UDP 1701.
    const lip = ipToBytes(this.config.local.address) ?? new Uint8Array(4);
    const rip = ipToBytes(this.config.remote.address) ?? new Uint8Array(4);
    const idt = (b: Uint8Array): number => (b.length === 16 ? IdType.IPV6_ADDR : IdType.IPV4_ADDR);
    ps.push({ kind: 'id', idType: idt(lip), protocolId: 17, port: this.config.l2tpPort ?? 1701, data: lip });
    ps.push({ kind: 'id', idType: idt(rip), protocolId: 17, port: this.config.remoteL2tpPort ?? 1701, data: rip });
    if (udp) {
      // RFC 3947 §5.2: in transport mode both original addresses are sent.
      const type: 21 | 131 = this.peerNatt === 'draft' ? 131 : 21;
      ps.push({ kind: 'nat-oa', type, idType: idt(lip), address: lip }, { kind: 'nat-oa', type, idType: idt(rip), address: rip });
    }
    const { first, chain } = chainWithHash(ps, (after) => qmHash1(c.hash, keys.a, mid, after));
    const sealed = sealMessage(c.cipher, this.encKey, phase2Iv(c.hash, this.iv, mid, c.cipher.blockSize), this.hdr(ExchangeType.QUICK_MODE, mid), first, chain);
    const ex: QuickExchange = {
      mid, state: 'qm-idle', iv: sealed.nextIv, ni, spi, dh, encap, lastIn: undefined, lastOut: this.frame(sealed.bytes),
      rtx: { at: addDuration(now, this.rtxInitial), interval: this.rtxInitial, count: 0 }, replaces,
    };
    this.qmFire(ex, 'start');
    this.quick.set(mid, ex);
    this.sendRaw(ex.lastOut);
  }

  /** Delete everything (RFC 2408 §3.15): D(ESP) for each child, then D(ISAKMP). */
  close(now: Instant): void {
    const established = this.st === 'established';
    if (!this.fire('local-delete')) return;
    if (established) {
      for (const c of this.children) this.sendDelete(ProtocolId.ESP, 4, [be32(c.inboundSpi)]);
      this.sendDelete(ProtocolId.ISAKMP, 16, [new Uint8Array([...this.icookie, ...this.rcookie])]);
    }
    this.drop('local', now);
  }

  /** Delete one child SA by our inbound SPI, informing the server. */
  deleteChildSa(now: Instant, inboundSpi: number): void {
    const c = this.children.find((x) => x.inboundSpi === inboundSpi);
    if (!c) return;
    this.children = this.children.filter((x) => x !== c);
    if (this.st === 'established') this.sendDelete(ProtocolId.ESP, 4, [be32(c.inboundSpi)]);
    this.childGone(c, 'local');
    void now;
  }

  /**
   * The data plane saw a child SA (by our inbound SPI) cross its byte lifetime (RFC 2407 §4.5).
   * Soft: start the rekey Quick Mode now (make before break), unless one already runs. Hard:
   * RFC 4301 §4.4.2.1, delete the SA with a delete notify and an `sa-deleted` event ('expired').
   */
  byteLifetimeReached(now: Instant, inboundSpi: number, level: 'soft' | 'hard'): void {
    const c = this.children.find((x) => x.inboundSpi === inboundSpi);
    if (!c) return;
    if (level === 'hard') {
      this.children = this.children.filter((x) => x !== c);
      if (this.st === 'established') this.sendDelete(ProtocolId.ESP, 4, [be32(c.inboundSpi)]);
      this.childGone(c, 'expired');
      return;
    }
    // rekeyAt is cleared once a rekey started (by time or bytes); deleteAt is set once replaced.
    if (c.rekeyAt === undefined || c.deleteAt !== undefined) return;
    c.rekeyAt = undefined;
    this.startChild(now, c.inboundSpi);
  }

  // ---------------------------------------------------------------- input

  /** Feed one UDP datagram received on our IKE port or our NAT-T port. */
  handle(now: Instant, d: IkeDatagram): void {
    let data = d.data;
    if (d.local.port === this.localNattPort) {
      const c = classifyUdp4500(data);
      if (c.kind !== 'ike') return; // ESP and keepalives belong to the data plane
      data = c.ike;
    }
    const m = parseIsakmp(data);
    if (!m.ok) return;
    const h = m.value.header;
    if (!equalBytes(h.icookie, this.icookie) || this.st === 'mm-idle' || this.st === 'deleted') return;
    if (h.exchangeType === ExchangeType.IDENTITY_PROTECTION && h.messageId === 0) {
      // RFC 2408 §5: the responder retransmits its last message when ours got lost; resend ours.
      if (this.lastIn && equalBytes(this.lastIn, data)) {
        if (this.lastOut && this.st !== 'established') this.sendRaw(this.lastOut);
        return;
      }
      if (this.st === 'mm-i1-sent' && !m.value.encrypted) this.onMm2(now, d, data, h, m.value.payloads);
      else if (this.st === 'mm-i2-sent' && !m.value.encrypted && equalBytes(h.rcookie, this.rcookie)) this.onMm4(now, data, m.value.payloads);
      else if (this.st === 'mm-i3-sent' && m.value.encrypted && equalBytes(h.rcookie, this.rcookie)) this.onMm6(now, d, data, h.nextPayload, m.value.body);
      return;
    }
    if (!equalBytes(h.rcookie, this.rcookie) && !(h.exchangeType === ExchangeType.INFORMATIONAL && h.rcookie.every((x) => x === 0))) return;
    if (h.exchangeType === ExchangeType.QUICK_MODE && this.st === 'established' && m.value.encrypted) {
      this.onQm2(now, d, data, h, m.value.body);
    } else if (h.exchangeType === ExchangeType.INFORMATIONAL) {
      if (m.value.encrypted && this.st === 'established') this.onInformational(now, d, h, m.value.body);
      else if (!m.value.encrypted && this.st !== 'established') {
        // RFC 2408 §5.3: an unprotected error notify before phase 1 completes.
        const n = m.value.payloads.find((p) => p.kind === 'n');
        if (n && n.kind === 'n' && n.notifyType < 8192) {
          this.fail('peer-notify', n.notifyType);
          if (this.fire('recv-error-notify')) this.drop('peer-error', now);
        }
      }
    }
  }

  private onMm2(now: Instant, d: IkeDatagram, data: Uint8Array, h: IsakmpHeader, ps: readonly IkePayload[]): void {
    const sa = ps.find((p): p is SaPayload => p.kind === 'sa');
    const t = sa?.proposals[0]?.transforms[0];
    const offered = this.offered?.proposals[0]?.transforms ?? [];
    // RFC 2409 §5: the responder returns exactly one of our transforms, unchanged.
    const choice = sa && t && offered.some((o) => sameTransform(o, t)) ? selectPhase1(sa, policyOf(this.proposals, undefined)) : undefined;
    if (!choice || h.rcookie.every((x) => x === 0)) {
      this.fail('no-proposal');
      if (this.fire('no-proposal')) this.drop('peer-error', now);
      return;
    }
    const vids = new Set(ps.filter((p) => p.kind === 'vid').map((p) => hex((p as { data: Uint8Array }).data)));
    this.peerNatt = this.natT === 'none' ? 'none' : vids.has(VendorIds.RFC3947) ? 'rfc3947'
      : [VendorIds.NATT_DRAFT_02, VendorIds.NATT_DRAFT_02N, VendorIds.NATT_DRAFT_03].some((v) => vids.has(v)) ? 'draft' : 'none';
    this.peerDpd = vids.has(VendorIds.DPD);
    this.choice = choice;
    this.rcookie = h.rcookie.slice();
    this.fire('recv-mm2');
    this.dh = generateDh(choice.group, this.random);
    this.ni = this.random.bytes(32);
    const reply: IkePayload[] = [{ kind: 'ke', data: this.dh.publicValue }, { kind: 'nonce', data: this.ni }];
    if (this.peerNatt !== 'none') {
      // RFC 3947 §3.2: first NAT-D is the destination as we see it, then our own address(es).
      const type: 20 | 130 = this.peerNatt === 'rfc3947' ? 20 : 130;
      const mine = this.config.forceEncapsulation ? this.random.bytes(hashLength(choice.hash)) : natDHash(choice.hash, this.icookie, this.rcookie, this.local);
      reply.push({ kind: 'nat-d', type, data: natDHash(choice.hash, this.icookie, this.rcookie, d.remote) }, { kind: 'nat-d', type, data: mine });
    }
    this.lastIn = data;
    this.sendPhase1(now, encodeIsakmp(this.hdr(ExchangeType.IDENTITY_PROTECTION, 0), reply));
  }

  private onMm4(now: Instant, data: Uint8Array, ps: readonly IkePayload[]): void {
    const c = this.choice;
    const dh = this.dh;
    const ke = ps.find((p) => p.kind === 'ke');
    const nonce = ps.find((p) => p.kind === 'nonce');
    if (!c || !dh || !ke || ke.kind !== 'ke' || !nonce || nonce.kind !== 'nonce' || nonce.data.length < 8 || nonce.data.length > 256) {
      this.fail('malformed');
      return;
    }
    const shared = dh.computeShared(ke.data);
    if (!shared.ok) {
      this.fail('bad-ke');
      return;
    }
    this.fire('recv-mm4');
    this.gxr = ke.data;
    this.nr = nonce.data;
    this.keys = deriveSkeyids(c.hash, skeyidPsk(c.hash, this.config.psk, this.ni, this.nr), shared.value, this.icookie, this.rcookie);
    this.encKey = encryptionKey(c.hash, this.keys.e, c.cipher.keyLen);
    this.iv = phase1Iv(c.hash, dh.publicValue, this.gxr, c.cipher.blockSize);
    if (this.peerNatt !== 'none') {
      const natds = ps.filter((p) => p.kind === 'nat-d');
      const first = natds[0];
      if (first && first.kind === 'nat-d') {
        // RFC 3947 §3.2: the responder's first NAT-D is us as it saw us; the others are its own.
        this.localBehindNat = !equalBytes(first.data, natDHash(c.hash, this.icookie, this.rcookie, this.config.local));
        const theirs = natDHash(c.hash, this.icookie, this.rcookie, this.config.remote);
        this.remoteBehindNat = !natds.slice(1).some((n) => n.kind === 'nat-d' && equalBytes(n.data, theirs));
      }
      if (this.config.forceEncapsulation) this.localBehindNat = true;
      if (this.localBehindNat || this.remoteBehindNat) {
        // RFC 3947 §4: float to the NAT-T port before sending the ID payload.
        this.local = { address: this.config.local.address, port: this.localNattPort };
        this.remote = { address: this.config.remote.address, port: this.remoteNattPort };
      }
    }
    const lip = ipToBytes(this.config.local.address) ?? new Uint8Array(4);
    const lid = this.config.localId ?? { idType: lip.length === 16 ? IdType.IPV6_ADDR : IdType.IPV4_ADDR, data: lip };
    // RFC 2409 §5: IDii for PSK Main Mode; protocol/port per RFC 2407 §4.6.2 (0/0 or UDP/500).
    const id: IkePayload = { kind: 'id', idType: lid.idType, protocolId: 17, port: 500, data: lid.data };
    const idB = encodePayloadChain([id]).subarray(4);
    const hi = hashI(c.hash, this.keys.skeyid, dh.publicValue, this.gxr, this.icookie, this.rcookie, this.saiB, idB);
    const body: IkePayload[] = [id, { kind: 'hash', data: hi }];
    // Not on a re-authentication: INITIAL-CONTACT would make the server drop the SAs we keep.
    if (this.config.initialContact !== false && this.previous === undefined) {
      body.push({ kind: 'n', doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, notifyType: NotifyType.INITIAL_CONTACT, spi: new Uint8Array([...this.icookie, ...this.rcookie]), data: new Uint8Array(0) });
    }
    const s = sealMessage(c.cipher, this.encKey, this.iv, this.hdr(ExchangeType.IDENTITY_PROTECTION, 0), PayloadType.ID, encodePayloadChain(body));
    this.iv = s.nextIv;
    this.lastIn = data;
    this.sendPhase1(now, s.bytes);
  }

  private onMm6(now: Instant, d: IkeDatagram, data: Uint8Array, firstPayload: number, body: Uint8Array): void {
    const c = this.choice;
    const keys = this.keys;
    const dh = this.dh;
    if (!c || !keys || !dh) return;
    const o = openBody(c.cipher, this.encKey, this.iv, firstPayload, body);
    const idRaw = o.ok ? o.value.raws.find((r) => r.type === PayloadType.ID) : undefined;
    const id = o.ok ? o.value.payloads.find((p) => p.kind === 'id') : undefined;
    const hp = o.ok ? o.value.payloads.find((p) => p.kind === 'hash') : undefined;
    const expect = idRaw ? hashR(c.hash, keys.skeyid, dh.publicValue, this.gxr, this.icookie, this.rcookie, this.saiB, idRaw.body) : undefined;
    if (!o.ok || !hp || hp.kind !== 'hash' || !expect || !equalBytes(hp.data, expect) || !id || id.kind !== 'id') {
      // RFC 2409 §5: a wrong PSK on either side shows up as a HASH_R mismatch (or garbage).
      this.fail('auth-failed', NotifyType.AUTHENTICATION_FAILED);
      if (this.fire('auth-failed')) this.drop('peer-error', now);
      return;
    }
    this.fire('recv-mm6');
    this.iv = o.value.nextIv;
    this.lastIn = data;
    this.rtx = undefined;
    this.remote = d.remote;
    this.expiresAt = addDuration(now, seconds(c.lifetimeSeconds));
    this.lastHeard = now;
    if (this.localBehindNat) this.keepaliveAt = addDuration(now, this.config.natKeepalive ?? seconds(20));
    this.events.push({
      type: 'ike-sa-up',
      ikeSaId: this.id,
      local: this.local,
      remote: this.remote,
      peerId: { idType: id.idType, data: id.data },
      algorithms: { encryption: c.cipher.name, hash: c.hash, group: c.group, lifetimeSeconds: c.lifetimeSeconds },
      natT: { variant: this.peerNatt, localBehindNat: this.localBehindNat, remoteBehindNat: this.remoteBehindNat },
    });
    const frac = this.config.ikeReauthFraction ?? 0.9;
    this.reauthAt = frac > 0 ? addDuration(now, millis(Math.floor(c.lifetimeSeconds * 1000 * frac))) : undefined;
    const prev = this.previous;
    if (prev !== undefined) {
      // Re-authenticated: the children move to this IKE SA, the old one is deleted under its keys.
      this.previous = undefined;
      if (this.children.length > 0) this.events.push({ type: 'children-adopted', ikeSaId: this.id, fromIkeSaId: prev.id, inboundSpis: this.children.map((x) => x.inboundSpi) });
      this.sendDelete(ProtocolId.ISAKMP, 16, [new Uint8Array([...prev.icookie, ...prev.rcookie])], prev);
      this.events.push({ type: 'sa-deleted', ikeSaId: prev.id, kind: 'ike', reason: 'local' });
      if (this.children.length > 0) return;
    }
    if (this.config.autoChild !== false) this.startChild(now);
  }

  private onQm2(now: Instant, d: IkeDatagram, data: Uint8Array, h: IsakmpHeader, body: Uint8Array): void {
    const c = this.choice;
    const keys = this.keys;
    const ex = this.quick.get(h.messageId);
    if (!c || !keys || !ex) return;
    if (ex.state === 'qm-done') {
      // The responder did not get QM3 and retransmitted QM2 (RFC 2408 §5).
      if (ex.lastIn && equalBytes(ex.lastIn, data)) this.sendRaw(ex.lastOut);
      return;
    }
    if (ex.state !== 'qm-i1-sent') return;
    const o = openBody(c.cipher, this.encKey, ex.iv, h.nextPayload, body);
    if (!o.ok) return;
    const hp = o.value.payloads[0];
    const second = o.value.raws[1];
    if (!hp || hp.kind !== 'hash' || !second) return;
    const after = o.value.plain.subarray(second.offset, o.value.chainEnd);
    // RFC 2409 §5.5 HASH(2) = prf(SKEYID_a, M-ID | Ni_b | <payloads after HASH>).
    if (!equalBytes(hp.data, qmHash2(c.hash, keys.a, ex.mid, ex.ni, after))) {
      this.fail('bad-hash', NotifyType.INVALID_HASH_INFORMATION);
      return;
    }
    const ps = o.value.payloads;
    const sa = ps.find((p): p is SaPayload => p.kind === 'sa');
    const nr = ps.find((p) => p.kind === 'nonce');
    const ke = ps.find((p) => p.kind === 'ke');
    const udp = ex.encap !== EncapMode.TRANSPORT;
    const choice: Phase2Choice | undefined = sa
      ? selectPhase2(sa, policyOf(this.proposals, this.config.pfsGroup), { detected: udp, negotiated: this.peerNatt !== 'none' })
      : undefined;
    const chosenMode = choice ? (choice.encapsulation === 'udp-transport') : !udp;
    let gxy: Uint8Array | undefined;
    if (choice && this.config.pfsGroup !== undefined) {
      const s = ke && ke.kind === 'ke' && ex.dh ? ex.dh.computeShared(ke.data) : undefined;
      gxy = s && s.ok ? s.value : undefined;
    }
    if (!choice || !nr || nr.kind !== 'nonce' || nr.data.length < 8 || chosenMode !== udp || choice.peerSpi < 0x100 || (this.config.pfsGroup !== undefined && !gxy)) {
      this.qmFire(ex, 'bad-qm2');
      ex.rtx = undefined;
      this.fail('no-proposal', NotifyType.NO_PROPOSAL_CHOSEN);
      return;
    }
    const h3 = qmHash3(c.hash, keys.a, ex.mid, ex.ni, nr.data);
    const sealed = sealMessage(c.cipher, this.encKey, o.value.nextIv, this.hdr(ExchangeType.QUICK_MODE, ex.mid), PayloadType.HASH, encodePayloadChain([{ kind: 'hash', data: h3 }]));
    this.qmFire(ex, 'recv-qm2');
    ex.iv = sealed.nextIv;
    ex.rtx = undefined;
    ex.lastIn = data;
    ex.lastOut = this.frame(sealed.bytes);
    this.sendRaw(ex.lastOut);
    // RFC 2409 §5.5: KEYMAT per direction with the receiving side's SPI; encryption key first.
    const encLen = encryptionKeymatLength(choice.encryption, choice.keyBits);
    const intLen = integrityKeyLength(choice.integrity);
    // RFC 2407 §4.6.3.1: a RESPONDER-LIFETIME notify lowers the lifetimes the echoed transform carries.
    let told: Partial<Phase2Lifetimes> = {};
    for (const p of ps) if (p.kind === 'n') told = readResponderLifetime(p) ?? told;
    // RFC 2407 §4.5: the responder may lower our byte lifetime; we never accept a longer one.
    const kbs = [choice.lifetimeKilobytes, this.config.childLifetimeKilobytes, told.kilobytes].filter((x): x is number => x !== undefined && x > 0);
    const lifeKb = kbs.length > 0 ? Math.min(...kbs) : undefined;
    const params = (spi: number): EspSaParams => {
      const k = keymat(c.hash, keys.d, ProtocolId.ESP, be32(spi), ex.ni, nr.data, encLen + intLen, gxy);
      return {
        spi, encryption: choice.encryption, encryptionKey: k.slice(0, encLen), integrity: choice.integrity, integrityKey: k.slice(encLen),
        ...(lifeKb !== undefined ? { byteLimits: byteLimitsFromKilobytes(lifeKb, this.config.rekeyFraction ?? 0.9) } : {}),
      };
    };
    const life = Math.min(choice.lifetimeSeconds, this.config.childLifetimeSeconds ?? 3600, told.seconds ?? Infinity);
    const child: Child = {
      inboundSpi: ex.spi,
      outboundSpi: choice.peerSpi,
      lifetimeSeconds: life,
      expiresAt: addDuration(now, seconds(life)),
      rekeyAt: addDuration(now, millis(Math.floor(life * 1000 * (this.config.rekeyFraction ?? 0.9)))),
      deleteAt: undefined,
    };
    const oas = ps.filter((p) => p.kind === 'nat-oa');
    const oa = (i: number): string | undefined => {
      const x = oas[i];
      return x && x.kind === 'nat-oa' ? bytesToIp(x.address) : undefined;
    };
    const oaI = oa(0);
    const oaR = oa(1);
    this.children.push(child);
    this.lastHeard = now;
    void d;
    const rPort = this.config.remoteL2tpPort ?? 1701;
    this.events.push({
      type: 'child-sa-up',
      ikeSaId: this.id,
      inbound: params(ex.spi),
      outbound: params(choice.peerSpi),
      encapsulation: choice.encapsulation,
      local: this.local,
      remote: this.remote,
      localSelector: { address: this.config.local.address, protocol: 17, port: this.config.l2tpPort ?? 1701 },
      remoteSelector: { address: this.config.remote.address, protocol: 17, port: rPort },
      natOa: { ...(oaI !== undefined ? { initiator: oaI } : {}), ...(oaR !== undefined ? { responder: oaR } : {}) },
      pfsGroup: choice.pfsGroup,
      lifetimeSeconds: life,
      ...(lifeKb !== undefined ? { lifetimeKilobytes: lifeKb } : {}),
    });
    if (ex.replaces !== undefined) {
      const old = this.children.find((x) => x.inboundSpi === ex.replaces);
      if (old) old.deleteAt = addDuration(now, this.config.rekeyOverlap ?? millis(2000));
    }
  }

  private onInformational(now: Instant, d: IkeDatagram, h: IsakmpHeader, body: Uint8Array): void {
    const c = this.choice;
    const keys = this.keys;
    if (!c || !keys) return;
    const o = openBody(c.cipher, this.encKey, phase2Iv(c.hash, this.iv, h.messageId, c.cipher.blockSize), h.nextPayload, body);
    if (!o.ok) return;
    const hp = o.value.payloads[0];
    const second = o.value.raws[1];
    const after = second ? o.value.plain.subarray(second.offset, o.value.chainEnd) : new Uint8Array(0);
    // RFC 2409 §5.7: informational exchanges are protected by HASH(1).
    if (!hp || hp.kind !== 'hash' || !equalBytes(hp.data, qmHash1(c.hash, keys.a, h.messageId, after))) {
      this.fail('bad-hash', NotifyType.INVALID_HASH_INFORMATION);
      return;
    }
    this.lastHeard = now;
    if (!sameEndpoint(d.remote, this.remote)) {
      this.remote = d.remote;
      this.events.push({ type: 'endpoints-changed', ikeSaId: this.id, local: this.local, remote: this.remote, inboundSpis: this.children.map((x) => x.inboundSpi) });
    }
    for (const x of o.value.payloads.slice(1)) {
      if (x.kind === 'n') {
        if (x.notifyType === NotifyType.R_U_THERE && x.data.length === 4) {
          // RFC 3706 §5.3: answer with the same sequence number.
          this.sendInformational([{ kind: 'n', doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, notifyType: NotifyType.R_U_THERE_ACK, spi: new Uint8Array([...this.icookie, ...this.rcookie]), data: x.data }]);
        } else if (x.notifyType === NotifyType.R_U_THERE_ACK && x.data.length === 4) {
          const seq = u32(x.data);
          if (this.dpdPendingSince !== undefined && seq >= this.dpdFirstSeq && seq <= this.dpdSeq) this.dpdPendingSince = undefined;
        } else if (x.notifyType < 8192) {
          // RFC 2408 §5.3: an error about one of our Quick Modes (matched by our SPI in the notify).
          this.fail('peer-notify', x.notifyType);
          const spi = x.spi.length === 4 ? u32(x.spi) : undefined;
          for (const ex of this.quick.values()) {
            if (ex.state === 'qm-i1-sent' && (spi === undefined || spi === ex.spi)) {
              this.qmFire(ex, 'recv-notify');
              ex.rtx = undefined;
            }
          }
        }
      } else if (x.kind === 'd') {
        if (x.protocolId === ProtocolId.ISAKMP) {
          if (x.spis.some((s) => s.length === 16 && equalBytes(s.subarray(0, 8), this.icookie) && equalBytes(s.subarray(8), this.rcookie))) {
            if (this.fire('recv-delete')) this.drop('peer-delete', now);
            return;
          }
        } else if (x.protocolId === ProtocolId.ESP && x.spiSize === 4) {
          for (const s of x.spis) {
            const spi = u32(s);
            // RFC 2408 §3.15: the SPI may be either end's; match both.
            const ch = this.children.find((y) => y.outboundSpi === spi || y.inboundSpi === spi);
            if (!ch) continue;
            this.children = this.children.filter((y) => y !== ch);
            this.childGone(ch, 'peer-delete');
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- timers

  /** Earliest instant `handleTimeout` has work. */
  pollAt(): Instant | undefined {
    if (this.st === 'mm-idle' || this.st === 'deleted') return undefined;
    let t = this.rtx?.at;
    t = earliest(t, this.expiresAt);
    if (this.st === 'established') t = earliest(t, this.reauthAt);
    t = earliest(t, this.keepaliveAt);
    t = earliest(t, this.dpdDue());
    for (const ex of this.quick.values()) t = earliest(t, ex.rtx?.at);
    for (const c of this.children) {
      t = earliest(t, c.expiresAt);
      t = earliest(t, c.rekeyAt);
      t = earliest(t, c.deleteAt);
    }
    return t;
  }

  private dpdDue(): Instant | undefined {
    const dpd = this.config.dpd;
    if (!dpd || this.st !== 'established' || !this.peerDpd || this.lastHeard === undefined) return undefined;
    if (this.dpdPendingSince !== undefined) return earliest(this.dpdNextSend, addDuration(this.dpdPendingSince, dpd.timeout));
    return addDuration(this.lastHeard, dpd.interval);
  }

  /** Run retransmissions, rekeys, lifetimes, DPD and NAT keepalives due at `now`. */
  handleTimeout(now: Instant): void {
    if (this.rtx && this.rtx.at <= now) {
      if (this.rtx.count >= this.rtxMax) {
        this.fail('timeout');
        if (this.fire('give-up')) this.drop('half-open-timeout', now);
        return;
      }
      if (this.fire('retransmit-timeout') && this.lastOut) this.sendRaw(this.lastOut);
      this.rtx.count++;
      this.rtx.interval = millis(this.rtx.interval * 2);
      this.rtx.at = addDuration(now, this.rtx.interval);
    }
    if (this.st !== 'established') return;
    for (const ex of [...this.quick.values()]) {
      if (!ex.rtx || ex.rtx.at > now) continue;
      if (ex.rtx.count >= this.rtxMax) {
        this.qmFire(ex, 'give-up');
        ex.rtx = undefined;
        this.fail('timeout');
        continue;
      }
      if (this.qmFire(ex, 'retransmit-timeout')) this.sendRaw(ex.lastOut);
      ex.rtx.count++;
      ex.rtx.interval = millis(ex.rtx.interval * 2);
      ex.rtx.at = addDuration(now, ex.rtx.interval);
    }
    if (this.quick.size > 16) for (const [mid, ex] of this.quick) if (ex.state === 'qm-done' || ex.state === 'qm-failed') this.quick.delete(mid);
    for (const c of [...this.children]) {
      if (c.expiresAt <= now || (c.deleteAt !== undefined && c.deleteAt <= now)) {
        this.children = this.children.filter((x) => x !== c);
        this.sendDelete(ProtocolId.ESP, 4, [be32(c.inboundSpi)]);
        this.childGone(c, c.expiresAt <= now ? 'expired' : 'local');
      } else if (c.rekeyAt !== undefined && c.rekeyAt <= now) {
        // Initiator-driven rekey (the server never rekeys first): a new Quick Mode, make before break.
        c.rekeyAt = undefined;
        this.startChild(now, c.inboundSpi);
      }
    }
    if (this.reauthAt !== undefined && this.reauthAt <= now && (this.expiresAt === undefined || this.expiresAt > now)) {
      // Not while a Quick Mode is in flight on this SA: try again a second later.
      const busy = [...this.quick.values()].some((ex) => ex.state !== 'qm-done' && ex.state !== 'qm-failed');
      if (!busy) {
        this.reauth(now);
        return;
      }
      this.reauthAt = addDuration(now, seconds(1));
    }
    if (this.expiresAt !== undefined && this.expiresAt <= now) {
      for (const c of this.children) this.sendDelete(ProtocolId.ESP, 4, [be32(c.inboundSpi)]);
      this.sendDelete(ProtocolId.ISAKMP, 16, [new Uint8Array([...this.icookie, ...this.rcookie])]);
      if (this.fire('lifetime-expired')) this.drop('expired', now);
      return;
    }
    this.runDpd(now);
    if (this.keepaliveAt !== undefined && this.keepaliveAt <= now) {
      // RFC 3948 §2.3: one 0xFF byte from the NAT-T port keeps the NAT mapping alive.
      this.out.push({ local: this.local, remote: this.remote, data: Uint8Array.of(0xff) });
      this.keepaliveAt = addDuration(now, this.config.natKeepalive ?? seconds(20));
    }
  }

  private runDpd(now: Instant): void {
    const dpd = this.config.dpd;
    const due = this.dpdDue();
    if (!dpd || due === undefined || due > now) return;
    if (this.dpdPendingSince !== undefined && addDuration(this.dpdPendingSince, dpd.timeout) <= now) {
      // RFC 3706 §5.5: no acknowledgement within the timeout: the peer is dead.
      this.events.push({ type: 'dpd-failed', ikeSaId: this.id, remote: this.remote });
      if (this.fire('dpd-dead')) this.drop('dpd', now);
      return;
    }
    this.dpdSeq = (this.dpdSeq + 1) & 0x7fffffff;
    if (this.dpdPendingSince === undefined) {
      this.dpdPendingSince = now;
      this.dpdFirstSeq = this.dpdSeq;
    }
    this.sendInformational([{ kind: 'n', doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, notifyType: NotifyType.R_U_THERE, spi: new Uint8Array([...this.icookie, ...this.rcookie]), data: be32(this.dpdSeq) }]);
    this.dpdNextSend = addDuration(now, millis(Math.max(1000, Math.floor(dpd.timeout / 5))));
  }

  // ---------------------------------------------------------------- helpers

  private hdr(exchangeType: number, messageId: number): Omit<IsakmpHeader, 'length' | 'nextPayload' | 'version'> {
    return { icookie: this.icookie, rcookie: this.rcookie, exchangeType, flags: 0, messageId };
  }

  private fire(e: MainModeInitEvent): boolean {
    const to = nextState(MAIN_MODE_INIT_TABLE, this.st, e);
    if (to === undefined) return false;
    this.st = to;
    return true;
  }

  private qmFire(ex: QuickExchange, e: QuickModeInitEvent): boolean {
    const to = nextState(QUICK_MODE_INIT_TABLE, ex.state, e);
    if (to === undefined) return false;
    ex.state = to;
    return true;
  }

  private fail(reason: FailReason, notify?: number): void {
    this.events.push({ type: 'exchange-failed', ikeSaId: this.id, remote: this.remote, reason, ...(notify !== undefined ? { notify } : {}) });
  }

  private childGone(c: Child, reason: DeleteReason): void {
    this.events.push({ type: 'sa-deleted', ikeSaId: this.id, kind: 'child', inboundSpi: c.inboundSpi, outboundSpi: c.outboundSpi, reason });
  }

  private drop(reason: DeleteReason, now: Instant): void {
    for (const c of this.children) this.childGone(c, reason === 'local' ? 'local' : 'ike-sa-gone');
    this.children = [];
    this.quick.clear();
    this.rtx = undefined;
    this.keepaliveAt = undefined;
    this.expiresAt = undefined;
    this.reauthAt = undefined;
    this.previous = undefined;
    this.st = 'deleted';
    this.events.push({ type: 'sa-deleted', ikeSaId: this.id, kind: 'ike', reason });
    void now;
  }

  private frame(bytes: Uint8Array): Uint8Array {
    return this.local.port === this.localNattPort ? frameIkeFor4500(bytes) : bytes;
  }

  private sendRaw(data: Uint8Array): void {
    this.out.push({ local: this.local, remote: this.remote, data });
  }

  /** Send a Main Mode message, remember it and arm its retransmission. */
  private sendPhase1(now: Instant, bytes: Uint8Array): void {
    this.lastOut = this.frame(bytes);
    this.rtx = { at: addDuration(now, this.rtxInitial), interval: this.rtxInitial, count: 0 };
    this.sendRaw(this.lastOut);
  }

  /**
   * A protected informational exchange (RFC 2409 §5.7): HDR*, HASH(1), N/D — on the current IKE SA,
   * or on `ctx` (the IKE SA a re-authentication replaces).
   */
  private sendInformational(payloads: readonly IkePayload[], ctx?: PhaseOneContext): void {
    const c = ctx?.choice ?? this.choice;
    const keys = ctx?.keys ?? this.keys;
    if (!c || !keys) return;
    let mid = 0;
    while (mid === 0 || this.quick.has(mid)) mid = this.random.u32() >>> 0;
    const { first, chain } = chainWithHash(payloads, (after) => qmHash1(c.hash, keys.a, mid, after));
    const hdr = ctx === undefined ? this.hdr(ExchangeType.INFORMATIONAL, mid) : { icookie: ctx.icookie, rcookie: ctx.rcookie, exchangeType: ExchangeType.INFORMATIONAL, flags: 0, messageId: mid };
    const sealed = sealMessage(c.cipher, ctx?.encKey ?? this.encKey, phase2Iv(c.hash, ctx?.iv ?? this.iv, mid, c.cipher.blockSize), hdr, first, chain);
    this.sendRaw(this.frame(sealed.bytes));
  }

  /** D(protocol, SPIs) on the current IKE SA, or on `ctx` (see {@link IkeInitiator.sendInformational}). */
  private sendDelete(protocolId: number, spiSize: number, spis: Uint8Array[], ctx?: PhaseOneContext): void {
    this.sendInformational([{ kind: 'd', doi: DOI_IPSEC, protocolId, spiSize, spis }], ctx);
  }
}
