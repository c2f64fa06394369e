/**
 * Sans-I/O IKEv1 responder for L2TP/IPsec: Main Mode with pre-shared keys (RFC 2409 §5), Quick Mode
 * for transport-mode ESP protecting UDP 1701 (§5.5), NAT-T (RFC 3947 and the -02/-02\n/-03 drafts),
 * informational exchanges (delete, INITIAL-CONTACT), DPD (RFC 3706). Aggressive Mode is refused.
 *
 * Drive it with `handle(now, datagram)` / `handleTimeout(now)`; collect `takeDatagrams()` (UDP
 * payloads ready to send, including the RFC 3948 non-ESP marker on the NAT-T port) and
 * `takeEvents()`. Duplicate requests are answered from the last response, never re-processed.
 */
import { timingSafeEqual } from 'node:crypto';
import { addDuration, millis, seconds, type Duration, type Instant, type Timed, earliest } from '../base/time.js';
import type { RandomSource } from '../base/random.js';
import { encodeIsakmp, encodePayloadChain, parseIsakmp } from '../wire/ike/codec.js';
import { DOI_IPSEC, ExchangeType, IdType, NotifyType, PayloadType, ProtocolId, VendorIds } from '../wire/ike/constants.js';
import type { IdPayload, IkePayload, IsakmpHeader, NatDPayload, SaPayload } from '../wire/ike/types.js';
import { classifyUdp4500, frameIkeFor4500 } from '../wire/esp/codec.js';
import { bytesToIp, ipToBytes, sameEndpoint, type Endpoint } from './addr.js';
import { generateDh, type DhKeyPair } from './dh.js';
import { chainWithHash, natDHash, openBody, sealMessage, type OpenedBody } from './ike-crypto.js';
import {
  deriveSkeyids, encryptionKey, hashI, hashR, keymat, phase1Iv, phase2Iv, qmHash1, qmHash2, qmHash3, skeyidPsk, type SkeyidSet,
} from './keys.js';
import { DEFAULT_POLICY, responderLifetimeNotify, selectPhase1, selectPhase2, type EspEncapsulation, type IkePolicy, type Phase1Choice } from './proposals.js';
import { byteLimitsFromKilobytes, encryptionKeymatLength, integrityKeyLength, type EspSaParams } from './esp.js';
import { MAIN_MODE_TABLE, QUICK_MODE_TABLE, nextState, type MainModeEvent, type MainModeState, type QuickModeEvent, type QuickModeState } from './fsm.js';

/** A UDP datagram in or out: `data` is the UDP payload exactly as on the wire. */
export interface IkeDatagram {
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly data: Uint8Array;
}

/** An IKE identity (RFC 2407 §4.6.2.1 type + data). */
export interface IkeIdentity {
  readonly idType: number;
  readonly data: Uint8Array;
}

/** A Quick Mode traffic selector taken from IDci / IDcr (RFC 2409 §5.5). */
export interface TrafficSelector {
  readonly address: string;
  readonly protocol: number;
  readonly port: number;
}

/** Negotiated IKE SA algorithms. */
export interface IkeAlgorithms {
  readonly encryption: string;
  readonly hash: string;
  readonly group: number;
  readonly lifetimeSeconds: number;
}

/** Typed events (STYLE §10); the daemon maps them to logs and metrics. */
export type IkeEvent =
  | {
      readonly type: 'ike-sa-up';
      readonly ikeSaId: number;
      readonly local: Endpoint;
      readonly remote: Endpoint;
      readonly peerId: IkeIdentity;
      readonly algorithms: IkeAlgorithms;
      readonly natT: NatState;
      /** 'windows' when MM1 carried the MS NT5 ISAKMPOAKLEY vendor id. */
      readonly peerVendor?: 'windows';
    }
  | {
      readonly type: 'child-sa-up';
      readonly ikeSaId: number;
      /** Keys for the SA we receive on (our SPI). */ readonly inbound: EspSaParams;
      /** Keys for the SA we send on (the initiator's SPI). */ readonly outbound: EspSaParams;
      readonly encapsulation: EspEncapsulation;
      /** Current UDP endpoints; with 'udp-transport', ESP goes in UDP between these. */
      readonly local: Endpoint;
      readonly remote: Endpoint;
      readonly localSelector: TrafficSelector;
      readonly remoteSelector: TrafficSelector;
      /** RFC 3947 §5.2 original addresses, when the initiator sent NAT-OA. */
      readonly natOa: { readonly initiator?: string; readonly responder?: string };
      readonly pfsGroup: number | undefined;
      readonly lifetimeSeconds: number;
      /** RFC 2407 §4.5 byte lifetime (kilobytes) of each direction; the ESP params carry it as `byteLimits`. */
      readonly lifetimeKilobytes?: number;
    }
  | { readonly type: 'sa-deleted'; readonly ikeSaId: number; readonly kind: 'ike' | 'child'; readonly inboundSpi?: number; readonly outboundSpi?: number; readonly reason: DeleteReason }
  | { readonly type: 'dpd-failed'; readonly ikeSaId: number; readonly remote: Endpoint }
  | { readonly type: 'endpoints-changed'; readonly ikeSaId: number; readonly local: Endpoint; readonly remote: Endpoint; readonly inboundSpis: readonly number[] }
  | { readonly type: 'initial-contact'; readonly ikeSaId: number; readonly remote: Endpoint; readonly peerId: IkeIdentity }
  /** IKEv1 re-authentication: the child SAs of IKE SA `fromIkeSaId` now belong to `ikeSaId`. */
  | { readonly type: 'children-adopted'; readonly ikeSaId: number; readonly fromIkeSaId: number; readonly inboundSpis: readonly number[] }
  | { readonly type: 'exchange-failed'; readonly ikeSaId: number | undefined; readonly remote: Endpoint; readonly reason: FailReason; readonly notify?: number };

/** Why an SA went away. */
export type DeleteReason = 'peer-delete' | 'expired' | 'dpd' | 'local' | 'initial-contact' | 'ike-sa-gone' | 'half-open-timeout' | 'peer-error';
/** Why an exchange failed. */
export type FailReason =
  | 'aggressive-mode-refused'
  | 'no-proposal'
  | 'no-psk'
  | 'bad-ke'
  | 'auth-failed'
  | 'malformed'
  | 'bad-hash'
  | 'invalid-id'
  | 'timeout'
  | 'too-many-half-open'
  | 'peer-notify';

/** NAT-T result of Main Mode (RFC 3947 §3). */
export interface NatState {
  readonly variant: 'rfc3947' | 'draft' | 'none';
  /** A NAT sits in front of us (our NAT-D did not match). */
  readonly localBehindNat: boolean;
  /** A NAT sits in front of the peer. */
  readonly remoteBehindNat: boolean;
}

/** Responder configuration; durations in the base time units. */
export interface IkeResponderConfig {
  /** RFC 2409 §5.4: in Main Mode the PSK can only be chosen by the peer's address. */
  readonly psk: (remote: Endpoint, local: Endpoint) => Uint8Array | undefined;
  readonly policy?: IkePolicy;
  /** A per-peer policy (by the peer's IKE endpoint), e.g. the Android SHA-256/96 quirk; undefined = `policy`. */
  readonly policyFor?: (remote: Endpoint) => IkePolicy | undefined;
  /** Our IDir; defaults to ID_IPV4_ADDR/ID_IPV6_ADDR of the local address. */
  readonly localId?: IkeIdentity;
  /** RFC 3948 NAT-T port (4500). */
  readonly nattPort?: number;
  /** The L2TP port the child SAs protect (1701). */
  readonly l2tpPort?: number;
  /** First retransmission interval (doubles), and the number of retransmissions before giving up. */
  readonly retransmit?: { readonly initial: Duration; readonly max: number };
  /** RFC 3706 DPD: idle interval before R-U-THERE, and how long without R-U-THERE-ACK means dead. */
  readonly dpd?: { readonly interval: Duration; readonly timeout: Duration };
  /** RFC 3948 §4: NAT-keepalive interval when we are the one behind a NAT. */
  readonly natKeepalive?: Duration;
  readonly maxHalfOpen?: number;
}

interface Child {
  readonly inboundSpi: number;
  readonly outboundSpi: number;
  readonly expiresAt: Instant;
}

interface Retransmit {
  at: Instant;
  interval: Duration;
  count: number;
}

interface QuickExchange {
  readonly mid: number;
  state: QuickModeState;
  iv: Uint8Array;
  lastIn: Uint8Array;
  lastOut: Uint8Array | undefined;
  rtx: Retransmit | undefined;
  ni: Uint8Array;
  nr: Uint8Array;
  pending: Omit<Extract<IkeEvent, { type: 'child-sa-up' }>, 'type' | 'local' | 'remote'> | undefined;
  done: boolean;
}

interface IkeSa {
  readonly id: number;
  state: MainModeState;
  readonly icookie: Uint8Array;
  readonly rcookie: Uint8Array;
  local: Endpoint;
  remote: Endpoint;
  natt: NatState['variant'];
  peerDpd: boolean;
  /** MM1 carried Microsoft vendor ids: NT5 (a Windows peer) and Vid-Initial-Contact (= INITIAL-CONTACT). */
  msNt5: boolean;
  msInitialContact: boolean;
  choice: Phase1Choice | undefined;
  saiB: Uint8Array;
  situation: number;
  dh: DhKeyPair | undefined;
  gxi: Uint8Array;
  gxr: Uint8Array;
  ni: Uint8Array;
  nr: Uint8Array;
  keys: SkeyidSet | undefined;
  encKey: Uint8Array;
  /** Running phase-1 IV; after MM6 the last phase-1 CBC block (RFC 2409 App. B). */
  iv: Uint8Array;
  localBehindNat: boolean;
  remoteBehindNat: boolean;
  peerId: IkeIdentity | undefined;
  lastIn: Uint8Array | undefined;
  lastOut: Uint8Array | undefined;
  rtx: Retransmit | undefined;
  expiresAt: Instant | undefined;
  readonly quick: Map<number, QuickExchange>;
  readonly children: Child[];
  lastHeard: Instant;
  dpdSeq: number;
  /** First R-U-THERE sequence number of the outstanding probe round. */
  dpdFirstSeq: number;
  dpdPendingSince: Instant | undefined;
  dpdNextSend: Instant | undefined;
  keepaliveAt: Instant | undefined;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && timingSafeEqual(a, b);
const u32 = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
const be32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
};
const NATT_DRAFTS = new Set<string>([VendorIds.NATT_DRAFT_02, VendorIds.NATT_DRAFT_02N, VendorIds.NATT_DRAFT_03]);

/** The IKEv1 responder for all peers of one daemon (one instance per listening address set). */
export class IkeResponder implements Timed {
  private readonly policy: IkePolicy;
  private readonly nattPort: number;
  private readonly l2tpPort: number;
  private readonly rtxInitial: Duration;
  private readonly rtxMax: number;
  private readonly sas = new Map<string, IkeSa>();
  private readonly halfOpen = new Map<string, IkeSa>();
  private readonly spis = new Set<number>();
  private nextId = 1;
  private out: IkeDatagram[] = [];
  private events: IkeEvent[] = [];

  /** `random` supplies cookies, nonces, SPIs, message ids and DH private values. */
  constructor(private readonly config: IkeResponderConfig, private readonly random: RandomSource) {
    this.policy = config.policy ?? DEFAULT_POLICY;
    this.nattPort = config.nattPort ?? 4500;
    this.l2tpPort = config.l2tpPort ?? 1701;
    this.rtxInitial = config.retransmit?.initial ?? millis(2000);
    this.rtxMax = config.retransmit?.max ?? 4;
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

  /** Number of IKE SAs in any state (for show commands and tests). */
  get ikeSaCount(): number {
    return this.sas.size;
  }

  /** State of an IKE SA by id (tests, show commands). */
  ikeSaState(id: number): MainModeState | undefined {
    for (const sa of this.sas.values()) if (sa.id === id) return sa.state;
    return undefined;
  }

  /** Tell DPD that traffic from the peer arrived (e.g. ESP on one of its child SAs). */
  noteActivity(now: Instant, inboundSpi: number): void {
    for (const sa of this.sas.values()) {
      if (sa.children.some((c) => c.inboundSpi === inboundSpi)) {
        sa.lastHeard = now;
        sa.dpdPendingSince = undefined;
      }
    }
  }

  /** Delete an IKE SA and its child SAs, informing the peer (RFC 2408 §3.15). */
  deleteIkeSa(now: Instant, ikeSaId: number): void {
    for (const sa of this.sas.values()) {
      if (sa.id !== ikeSaId || !this.fire(sa, 'local-delete')) continue;
      for (const c of sa.children) this.sendDelete(sa, ProtocolId.ESP, 4, [be32(c.inboundSpi)]);
      this.sendDelete(sa, ProtocolId.ISAKMP, 16, [new Uint8Array([...sa.icookie, ...sa.rcookie])]);
      this.dropIkeSa(sa, 'local', now);
    }
  }

  /** Delete one child SA by our inbound SPI, informing the peer. */
  deleteChildSa(now: Instant, inboundSpi: number): void {
    this.removeChild(inboundSpi, 'local');
    void now;
  }

  /** Whether `spi` is one of our inbound SPIs from a Quick Mode that has sent QM2 but not seen QM3. */
  expectsInboundSpi(spi: number): boolean {
    for (const sa of this.sas.values()) {
      for (const ex of sa.quick.values()) if (!ex.done && ex.pending?.inbound.spi === spi) return true;
    }
    return false;
  }

  /**
   * The data plane saw a child SA (by our inbound SPI) cross its byte lifetime (RFC 2407 §4.5).
   * Soft: nothing — the initiator rekeys, the server never rekeys first. Hard: RFC 4301 §4.4.2.1,
   * the SA is deleted with a delete notify and an `sa-deleted` event (reason 'expired').
   */
  byteLifetimeReached(now: Instant, inboundSpi: number, level: 'soft' | 'hard'): void {
    if (level !== 'hard') return;
    this.removeChild(inboundSpi, 'expired');
    void now;
  }

  /** Remove the child SA with our inbound SPI, send D(ESP) while its IKE SA is up, report why. */
  private removeChild(inboundSpi: number, reason: 'local' | 'expired'): void {
    for (const sa of this.sas.values()) {
      const i = sa.children.findIndex((c) => c.inboundSpi === inboundSpi);
      const c = sa.children[i];
      if (!c) continue;
      sa.children.splice(i, 1);
      if (sa.state === 'established') this.sendDelete(sa, ProtocolId.ESP, 4, [be32(c.inboundSpi)]);
      this.childGone(sa, c, reason);
    }
  }

  // ---------------------------------------------------------------- input

  /** Feed one UDP datagram received on port 500 or the NAT-T port. */
  handle(now: Instant, d: IkeDatagram): void {
    let data = d.data;
    if (d.local.port === this.nattPort) {
      // RFC 3948 §2.2: on 4500 IKE follows a non-ESP marker; ESP and keepalives are not ours.
      const c = classifyUdp4500(data);
      if (c.kind !== 'ike') return;
      data = c.ike;
    }
    const m = parseIsakmp(data);
    if (!m.ok) {
      this.fail(undefined, d.remote, 'malformed');
      return;
    }
    const h = m.value.header;
    if (h.rcookie.every((x) => x === 0)) {
      this.handleFirst(now, d, data, h, m.value.encrypted ? undefined : m.value.payloads);
      return;
    }
    const sa = this.sas.get(hex(h.icookie) + hex(h.rcookie));
    if (!sa || sa.state === 'deleted') return;
    if (h.exchangeType === ExchangeType.IDENTITY_PROTECTION && h.messageId === 0) {
      // RFC 2408 §5: a retransmitted request is answered with our last response, never re-processed.
      if (sa.lastIn && equalBytes(sa.lastIn, data)) {
        if (sa.lastOut) this.sendRaw(d.local, d.remote, sa.lastOut);
        return;
      }
      if (sa.state === 'mm-r1-sent' && !m.value.encrypted) this.handleMm3(now, sa, d, data, m.value.payloads);
      else if (sa.state === 'mm-r2-sent' && m.value.encrypted) this.handleMm5(now, sa, d, data, h, m.value.body);
      return;
    }
    if (h.exchangeType === ExchangeType.QUICK_MODE && sa.state === 'established' && m.value.encrypted) {
      this.handleQuick(now, sa, d, data, h, m.value.body);
      return;
    }
    if (h.exchangeType === ExchangeType.INFORMATIONAL) {
      if (m.value.encrypted && sa.state === 'established') this.handleInformational(now, sa, d, h, m.value.body);
      else if (!m.value.encrypted) this.handleClearNotify(now, sa, d, m.value.payloads);
    }
  }

  private handleFirst(now: Instant, d: IkeDatagram, data: Uint8Array, h: IsakmpHeader, payloads: readonly IkePayload[] | undefined): void {
    if (h.exchangeType === ExchangeType.AGGRESSIVE) {
      // RFC 2409 §5.4 allows refusing Aggressive Mode (PSK + AM leaks an offline-crackable hash).
      this.sendClearNotify(d, h.icookie, NotifyType.NO_PROPOSAL_CHOSEN);
      this.fail(undefined, d.remote, 'aggressive-mode-refused', NotifyType.NO_PROPOSAL_CHOSEN);
      return;
    }
    if (h.exchangeType !== ExchangeType.IDENTITY_PROTECTION || h.messageId !== 0 || !payloads) return;
    const key = `${d.remote.address}|${d.remote.port}|${hex(h.icookie)}`;
    const old = this.halfOpen.get(key);
    if (old) {
      if (old.lastIn && equalBytes(old.lastIn, data) && old.lastOut) this.sendRaw(d.local, d.remote, old.lastOut);
      return;
    }
    if (this.halfOpen.size >= (this.config.maxHalfOpen ?? 1000)) {
      this.fail(undefined, d.remote, 'too-many-half-open');
      return;
    }
    this.handleMm1(now, d, data, h, payloads, key);
  }

  // ---------------------------------------------------------------- Main Mode

  private handleMm1(now: Instant, d: IkeDatagram, data: Uint8Array, h: IsakmpHeader, ps: readonly IkePayload[], key: string): void {
    const sa = ps.find((p): p is SaPayload => p.kind === 'sa');
    const choice = sa ? selectPhase1(sa, this.config.policyFor?.(d.remote) ?? this.policy) : undefined;
    if (!sa || !choice) {
      this.sendClearNotify(d, h.icookie, NotifyType.NO_PROPOSAL_CHOSEN);
      this.fail(undefined, d.remote, 'no-proposal', NotifyType.NO_PROPOSAL_CHOSEN);
      return;
    }
    const m = parseIsakmp(data);
    const rawSa = m.ok && !m.value.encrypted ? m.value.raws.find((r) => r.type === PayloadType.SA) : undefined;
    const vids = new Set(ps.filter((p) => p.kind === 'vid').map((p) => hex((p as { data: Uint8Array }).data)));
    const natt: NatState['variant'] = vids.has(VendorIds.RFC3947) ? 'rfc3947' : [...vids].some((v) => NATT_DRAFTS.has(v)) ? 'draft' : 'none';
    let rcookie = this.random.bytes(8);
    while (rcookie.every((x) => x === 0) || this.sas.has(hex(h.icookie) + hex(rcookie))) rcookie = this.random.bytes(8);
    const ike: IkeSa = {
      id: this.nextId++,
      state: 'mm-start',
      icookie: h.icookie,
      rcookie,
      local: d.local,
      remote: d.remote,
      natt,
      peerDpd: vids.has(VendorIds.DPD),
      msNt5: [...vids].some((v) => v.startsWith(VendorIds.MS_NT5_PREFIX)),
      msInitialContact: vids.has(VendorIds.MS_INITIAL_CONTACT),
      choice,
      saiB: rawSa ? rawSa.body.slice() : new Uint8Array(0),
      situation: sa.situation,
      dh: undefined,
      gxi: new Uint8Array(0),
      gxr: new Uint8Array(0),
      ni: new Uint8Array(0),
      nr: new Uint8Array(0),
      keys: undefined,
      encKey: new Uint8Array(0),
      iv: new Uint8Array(0),
      localBehindNat: false,
      remoteBehindNat: false,
      peerId: undefined,
      lastIn: undefined,
      lastOut: undefined,
      rtx: undefined,
      expiresAt: undefined,
      quick: new Map(),
      children: [],
      lastHeard: now,
      dpdSeq: this.random.u32() & 0x7fffffff,
      dpdFirstSeq: 0,
      dpdPendingSince: undefined,
      dpdNextSend: undefined,
      keepaliveAt: undefined,
    };
    this.fire(ike, 'recv-mm1');
    this.sas.set(hex(ike.icookie) + hex(ike.rcookie), ike);
    this.halfOpen.set(key, ike);
    const reply: IkePayload[] = [
      { kind: 'sa', doi: DOI_IPSEC, situation: sa.situation, proposals: [{ ...choice.proposal, transforms: [choice.transform] }] },
    ];
    if (natt === 'rfc3947') reply.push({ kind: 'vid', data: Buffer.from(VendorIds.RFC3947, 'hex') });
    else if (natt === 'draft') {
      const v = [VendorIds.NATT_DRAFT_02N, VendorIds.NATT_DRAFT_03, VendorIds.NATT_DRAFT_02].find((x) => vids.has(x)) ?? VendorIds.NATT_DRAFT_02N;
      reply.push({ kind: 'vid', data: Buffer.from(v, 'hex') });
    }
    reply.push({ kind: 'vid', data: Buffer.from(VendorIds.DPD, 'hex') });
    const bytes = encodeIsakmp({ icookie: ike.icookie, rcookie: ike.rcookie, exchangeType: ExchangeType.IDENTITY_PROTECTION, flags: 0, messageId: 0 }, reply);
    this.respond(now, ike, d, data, bytes);
  }

  private handleMm3(now: Instant, sa: IkeSa, d: IkeDatagram, data: Uint8Array, ps: readonly IkePayload[]): void {
    const choice = sa.choice;
    const ke = ps.find((p) => p.kind === 'ke');
    const nonce = ps.find((p) => p.kind === 'nonce');
    if (!choice || !ke || ke.kind !== 'ke' || !nonce || nonce.kind !== 'nonce' || nonce.data.length < 8 || nonce.data.length > 256) {
      this.fail(sa.id, d.remote, 'malformed');
      return;
    }
    const psk = this.config.psk(d.remote, d.local);
    if (!psk) {
      this.fail(sa.id, d.remote, 'no-psk');
      this.fire(sa, 'give-up');
      this.dropIkeSa(sa, 'half-open-timeout', now);
      return;
    }
    const dh = generateDh(choice.group, this.random);
    const shared = dh.computeShared(ke.data);
    if (!shared.ok) {
      this.fail(sa.id, d.remote, 'bad-ke');
      return;
    }
    this.fire(sa, 'recv-mm3');
    sa.dh = dh;
    sa.gxi = ke.data;
    sa.gxr = dh.publicValue;
    sa.ni = nonce.data;
    sa.nr = this.random.bytes(32);
    const hh = choice.hash;
    sa.keys = deriveSkeyids(hh, skeyidPsk(hh, psk, sa.ni, sa.nr), shared.value, sa.icookie, sa.rcookie);
    sa.encKey = encryptionKey(hh, sa.keys.e, choice.cipher.keyLen);
    sa.iv = phase1Iv(hh, sa.gxi, sa.gxr, choice.cipher.blockSize);
    const reply: IkePayload[] = [
      { kind: 'ke', data: sa.gxr },
      { kind: 'nonce', data: sa.nr },
    ];
    if (sa.natt !== 'none') {
      // RFC 3947 §3.2: first NAT-D is the destination (as the sender sees it), the rest local ones.
      const natds = ps.filter((p): p is NatDPayload => p.kind === 'nat-d');
      const type: 20 | 130 = sa.natt === 'rfc3947' ? 20 : 130;
      const mine = natDHash(hh, sa.icookie, sa.rcookie, d.local);
      const theirs = natDHash(hh, sa.icookie, sa.rcookie, d.remote);
      if (natds.length >= 2) {
        sa.localBehindNat = !equalBytes(natds[0]?.data ?? new Uint8Array(0), mine);
        sa.remoteBehindNat = !natds.slice(1).some((n) => equalBytes(n.data, theirs));
      }
      reply.push({ kind: 'nat-d', type, data: theirs }, { kind: 'nat-d', type, data: mine });
    }
    const bytes = encodeIsakmp({ icookie: sa.icookie, rcookie: sa.rcookie, exchangeType: ExchangeType.IDENTITY_PROTECTION, flags: 0, messageId: 0 }, reply);
    this.respond(now, sa, d, data, bytes);
  }

  private handleMm5(now: Instant, sa: IkeSa, d: IkeDatagram, data: Uint8Array, h: IsakmpHeader, body: Uint8Array): void {
    const choice = sa.choice;
    const keys = sa.keys;
    if (!choice || !keys) return;
    const o = openBody(choice.cipher, sa.encKey, sa.iv, h.nextPayload, body);
    const id = o.ok ? o.value.payloads.find((p): p is IdPayload => p.kind === 'id') : undefined;
    const hp = o.ok ? o.value.payloads.find((p) => p.kind === 'hash') : undefined;
    const idRaw = o.ok ? o.value.raws.find((r) => r.type === PayloadType.ID) : undefined;
    // With a wrong PSK the decryption yields garbage: malformed and bad hash are both auth failures.
    const expect = idRaw ? hashI(choice.hash, keys.skeyid, sa.gxi, sa.gxr, sa.icookie, sa.rcookie, sa.saiB, idRaw.body) : undefined;
    if (!o.ok || !id || !hp || hp.kind !== 'hash' || !expect || !equalBytes(hp.data, expect)) {
      this.fail(sa.id, d.remote, 'auth-failed', NotifyType.AUTHENTICATION_FAILED);
      this.fire(sa, 'auth-failed');
      this.dropIkeSa(sa, 'half-open-timeout', now);
      return;
    }
    this.fire(sa, 'recv-mm5');
    sa.iv = o.value.nextIv;
    sa.local = d.local;
    sa.remote = d.remote; // RFC 3947 §4: the initiator may have floated to 4500
    sa.peerId = { idType: id.idType, data: id.data };
    const localIp = ipToBytes(d.local.address) ?? new Uint8Array(4);
    const lid = this.config.localId ?? { idType: localIp.length === 16 ? IdType.IPV6_ADDR : IdType.IPV4_ADDR, data: localIp };
    const idr: IdPayload = { kind: 'id', idType: lid.idType, protocolId: id.protocolId, port: id.port, data: lid.data };
    const idrB = encodePayloadChain([idr]).subarray(4);
    const hashR_ = hashR(choice.hash, keys.skeyid, sa.gxi, sa.gxr, sa.icookie, sa.rcookie, sa.saiB, idrB);
    const chain = encodePayloadChain([idr, { kind: 'hash', data: hashR_ }]);
    const sealed = sealMessage(choice.cipher, sa.encKey, sa.iv, { icookie: sa.icookie, rcookie: sa.rcookie, exchangeType: ExchangeType.IDENTITY_PROTECTION, flags: 0, messageId: 0 }, PayloadType.ID, chain);
    sa.iv = sealed.nextIv;
    this.respond(now, sa, d, data, sealed.bytes);
    sa.rtx = undefined; // RFC 2409: the initiator retransmits MM5; we answer from lastOut
    this.halfOpen.delete(`${sa.remote.address}|${sa.remote.port}|${hex(sa.icookie)}`);
    for (const [k, v] of this.halfOpen) if (v === sa) this.halfOpen.delete(k);
    sa.expiresAt = addDuration(now, seconds(choice.lifetimeSeconds));
    sa.lastHeard = now;
    if (sa.localBehindNat && this.config.natKeepalive !== undefined) sa.keepaliveAt = addDuration(now, this.config.natKeepalive);
    this.events.push({
      type: 'ike-sa-up',
      ikeSaId: sa.id,
      local: sa.local,
      remote: sa.remote,
      peerId: sa.peerId,
      algorithms: { encryption: choice.cipher.name, hash: choice.hash, group: choice.group, lifetimeSeconds: choice.lifetimeSeconds },
      natT: { variant: sa.natt, localBehindNat: sa.localBehindNat, remoteBehindNat: sa.remoteBehindNat },
      ...(sa.msNt5 ? { peerVendor: 'windows' as const } : {}),
    });
    // RFC 2407 §4.6.3.3 INITIAL-CONTACT, or Windows' equivalent vendor id in MM1 (MS Vid-Initial-Contact).
    if (sa.msInitialContact || o.value.payloads.some((p) => p.kind === 'n' && p.notifyType === NotifyType.INITIAL_CONTACT)) this.initialContact(now, sa);
  }

  /** RFC 2407 §4.6.3.3: the peer rebooted; forget older SAs with the same peer and identity. */
  private initialContact(now: Instant, sa: IkeSa): void {
    const peerId = sa.peerId;
    if (!peerId) return;
    this.events.push({ type: 'initial-contact', ikeSaId: sa.id, remote: sa.remote, peerId });
    for (const other of [...this.sas.values()]) {
      if (other === sa || other.state !== 'established' || other.remote.address !== sa.remote.address) continue;
      if (!other.peerId || other.peerId.idType !== peerId.idType || !equalBytes(other.peerId.data, peerId.data)) continue;
      if (this.fire(other, 'initial-contact-replaced')) this.dropIkeSa(other, 'initial-contact', now);
    }
  }

  // ---------------------------------------------------------------- Quick Mode

  private qmIv(sa: IkeSa, mid: number): Uint8Array {
    const c = sa.choice;
    return c ? phase2Iv(c.hash, sa.iv, mid, c.cipher.blockSize) : new Uint8Array(0);
  }

  private handleQuick(now: Instant, sa: IkeSa, d: IkeDatagram, data: Uint8Array, h: IsakmpHeader, body: Uint8Array): void {
    const ex = sa.quick.get(h.messageId);
    if (ex) {
      if (equalBytes(ex.lastIn, data)) {
        if (ex.lastOut) this.sendRaw(d.local, d.remote, ex.lastOut);
        return;
      }
      if (ex.state === 'qm-r1-sent') this.handleQm3(now, sa, ex, d, h, body);
      return;
    }
    if (h.messageId === 0) return;
    this.handleQm1(now, sa, d, data, h, body);
  }

  /** Verify HASH(1)-style protection: first payload HASH over everything after it up to the padding. */
  private openProtected(sa: IkeSa, iv: Uint8Array, h: IsakmpHeader, body: Uint8Array): { o: OpenedBody; hash: Uint8Array; after: Uint8Array } | undefined {
    const c = sa.choice;
    if (!c) return undefined;
    const o = openBody(c.cipher, sa.encKey, iv, h.nextPayload, body);
    if (!o.ok) return undefined;
    const first = o.value.payloads[0];
    if (!first || first.kind !== 'hash') return undefined;
    const second = o.value.raws[1];
    const after = second ? o.value.plain.subarray(second.offset, o.value.chainEnd) : new Uint8Array(0);
    return { o: o.value, hash: first.data, after };
  }

  private handleQm1(now: Instant, sa: IkeSa, d: IkeDatagram, data: Uint8Array, h: IsakmpHeader, body: Uint8Array): void {
    const c = sa.choice;
    const keys = sa.keys;
    if (!c || !keys) return;
    const mid = h.messageId;
    const p = this.openProtected(sa, this.qmIv(sa, mid), h, body);
    if (!p) {
      this.fail(sa.id, d.remote, 'malformed');
      return;
    }
    if (!equalBytes(p.hash, qmHash1(c.hash, keys.a, mid, p.after))) {
      this.fail(sa.id, d.remote, 'bad-hash', NotifyType.INVALID_HASH_INFORMATION);
      return;
    }
    const ps = p.o.payloads;
    const saP = ps.find((x): x is SaPayload => x.kind === 'sa');
    const ni = ps.find((x) => x.kind === 'nonce');
    const ke = ps.find((x) => x.kind === 'ke');
    const ids = ps.filter((x): x is IdPayload => x.kind === 'id');
    const oas = ps.filter((x) => x.kind === 'nat-oa');
    const ex: QuickExchange = {
      mid, state: 'qm-start', iv: p.o.nextIv, lastIn: data, lastOut: undefined, rtx: undefined,
      ni: ni && ni.kind === 'nonce' ? ni.data : new Uint8Array(0), nr: new Uint8Array(0), pending: undefined, done: false,
    };
    sa.quick.set(mid, ex);
    this.updateEndpoints(sa, d);
    sa.lastHeard = now;
    if (!saP || ex.ni.length < 8 || (ids.length !== 0 && ids.length !== 2)) {
      this.fail(sa.id, d.remote, 'malformed', NotifyType.PAYLOAD_MALFORMED);
      this.qmFire(ex, 'no-proposal');
      return;
    }
    const natDetected = sa.localBehindNat || sa.remoteBehindNat;
    const choice = selectPhase2(saP, this.config.policyFor?.(sa.remote) ?? this.policy, { detected: natDetected, negotiated: sa.natt !== 'none' });
    if (!choice || (choice.pfsGroup !== undefined && (!ke || ke.kind !== 'ke'))) {
      this.qmFire(ex, 'no-proposal');
      this.sendNotify(sa, NotifyType.NO_PROPOSAL_CHOSEN, ProtocolId.ESP, saP.proposals[0]?.spi ?? new Uint8Array(0));
      this.fail(sa.id, d.remote, 'no-proposal', NotifyType.NO_PROPOSAL_CHOSEN);
      return;
    }
    const sel = this.checkSelectors(sa, ids, natDetected);
    if (!sel) {
      this.qmFire(ex, 'bad-id');
      this.sendNotify(sa, NotifyType.INVALID_ID_INFORMATION, ProtocolId.ESP, choice.proposal.spi);
      this.fail(sa.id, d.remote, 'invalid-id', NotifyType.INVALID_ID_INFORMATION);
      return;
    }
    let gxyQm: Uint8Array | undefined;
    let ourKe: Uint8Array | undefined;
    if (choice.pfsGroup !== undefined && ke && ke.kind === 'ke') {
      const dh = generateDh(choice.pfsGroup, this.random);
      const s = dh.computeShared(ke.data);
      if (!s.ok) {
        this.qmFire(ex, 'no-proposal');
        this.fail(sa.id, d.remote, 'bad-ke', NotifyType.INVALID_KEY_INFORMATION);
        return;
      }
      gxyQm = s.value;
      ourKe = dh.publicValue;
    }
    let ourSpi = 0;
    while (ourSpi < 0x100 || this.spis.has(ourSpi)) ourSpi = this.random.u32() >>> 0; // RFC 4303 §2.1: 1-255 reserved
    this.spis.add(ourSpi);
    ex.nr = this.random.bytes(32);
    const reply: IkePayload[] = [
      { kind: 'sa', doi: DOI_IPSEC, situation: saP.situation, proposals: [{ ...choice.proposal, spi: be32(ourSpi), transforms: [choice.transform] }] },
      { kind: 'nonce', data: ex.nr },
    ];
    if (ourKe) reply.push({ kind: 'ke', data: ourKe });
    reply.push(...ids);
    // RFC 3947 §5.2: in transport mode both original addresses are exchanged.
    if (oas.length > 0 && choice.encapsulation === 'udp-transport') {
      const type: 21 | 131 = sa.natt === 'rfc3947' ? 21 : 131;
      for (const ep of [sa.remote, sa.local]) {
        const b = ipToBytes(ep.address) ?? new Uint8Array(4);
        reply.push({ kind: 'nat-oa', type, idType: b.length === 16 ? IdType.IPV6_ADDR : IdType.IPV4_ADDR, address: b });
      }
    }
    // RFC 2407 §4.6.3.1: say so when our policy shortened the lifetime the initiator proposed.
    const lifeNotify = responderLifetimeNotify(choice, be32(ourSpi));
    if (lifeNotify) reply.push(lifeNotify);
    const { first, chain } = chainWithHash(reply, (after) => qmHash2(c.hash, keys.a, mid, ex.ni, after));
    const sealed = sealMessage(c.cipher, sa.encKey, ex.iv, { icookie: sa.icookie, rcookie: sa.rcookie, exchangeType: ExchangeType.QUICK_MODE, flags: 0, messageId: mid }, first, chain);
    ex.iv = sealed.nextIv;
    this.qmFire(ex, 'recv-qm1');
    ex.lastOut = this.frame(d.local, sealed.bytes);
    ex.rtx = { at: addDuration(now, this.rtxInitial), interval: this.rtxInitial, count: 0 };
    this.sendRaw(d.local, d.remote, ex.lastOut);
    // RFC 2409 §5.5: KEYMAT per direction with the receiving side's SPI; encryption key first.
    const encLen = encryptionKeymatLength(choice.encryption, choice.keyBits);
    const intLen = integrityKeyLength(choice.integrity);
    const km = (spi: number): Uint8Array => keymat(c.hash, keys.d, ProtocolId.ESP, be32(spi), ex.ni, ex.nr, encLen + intLen, gxyQm);
    const kin = km(ourSpi);
    const kout = km(choice.peerSpi);
    const kb = choice.lifetimeKilobytes;
    const params = (spi: number, k: Uint8Array): EspSaParams => ({
      spi, encryption: choice.encryption, encryptionKey: k.slice(0, encLen), integrity: choice.integrity, integrityKey: k.slice(encLen),
      ...(kb !== undefined ? { byteLimits: byteLimitsFromKilobytes(kb) } : {}),
    });
    const oaI = oas[0];
    const oaR = oas[1];
    ex.pending = {
      ikeSaId: sa.id,
      inbound: params(ourSpi, kin),
      outbound: params(choice.peerSpi, kout),
      encapsulation: choice.encapsulation,
      localSelector: sel.local,
      remoteSelector: sel.remote,
      natOa: {
        ...(oaI && oaI.kind === 'nat-oa' ? { initiator: bytesToIp(oaI.address) } : {}),
        ...(oaR && oaR.kind === 'nat-oa' ? { responder: bytesToIp(oaR.address) } : {}),
      },
      pfsGroup: choice.pfsGroup,
      lifetimeSeconds: choice.lifetimeSeconds,
      ...(kb !== undefined ? { lifetimeKilobytes: kb } : {}),
    };
  }

  /**
   * L2TP/IPsec selectors (RFC 3193 §4): IDci a single host (the client, any UDP port — clients
   * behind NAT use ephemeral ports), IDcr our address, UDP port 1701 or 0. Without IDs the IKE
   * addresses are implied (RFC 2409 §5.5).
   */
  private checkSelectors(sa: IkeSa, ids: readonly IdPayload[], nat: boolean): { local: TrafficSelector; remote: TrafficSelector } | undefined {
    if (ids.length === 0) {
      return { remote: { address: sa.remote.address, protocol: 0, port: 0 }, local: { address: sa.local.address, protocol: 0, port: 0 } };
    }
    const [ci, cr] = ids;
    if (!ci || !cr) return undefined;
    const host = (id: IdPayload): string | undefined => {
      if (id.idType === IdType.IPV4_ADDR && id.data.length === 4) return bytesToIp(id.data);
      if (id.idType === IdType.IPV6_ADDR && id.data.length === 16) return bytesToIp(id.data);
      if (id.idType === IdType.IPV4_ADDR_SUBNET && id.data.length === 8 && id.data.subarray(4).every((x) => x === 0xff)) return bytesToIp(id.data.subarray(0, 4));
      return undefined;
    };
    const ca = host(ci);
    const ra = host(cr);
    if (!ca || !ra) return undefined;
    if (ci.protocolId !== 0 && ci.protocolId !== 17) return undefined;
    if (cr.protocolId !== ci.protocolId) return undefined;
    if (cr.port !== 0 && cr.port !== this.l2tpPort) return undefined;
    const norm = (a: string): string => bytesToIp(ipToBytes(a) ?? new Uint8Array(0));
    if (!nat && ca !== norm(sa.remote.address)) return undefined;
    if (!sa.localBehindNat && !nat && ra !== norm(sa.local.address)) return undefined;
    return { remote: { address: ca, protocol: ci.protocolId, port: ci.port }, local: { address: ra, protocol: cr.protocolId, port: cr.port } };
  }

  private handleQm3(now: Instant, sa: IkeSa, ex: QuickExchange, d: IkeDatagram, h: IsakmpHeader, body: Uint8Array): void {
    const c = sa.choice;
    const keys = sa.keys;
    if (!c || !keys) return;
    const o = openBody(c.cipher, sa.encKey, ex.iv, h.nextPayload, body);
    const hp = o.ok ? o.value.payloads[0] : undefined;
    if (!o.ok || !hp || hp.kind !== 'hash' || !equalBytes(hp.data, qmHash3(c.hash, keys.a, ex.mid, ex.ni, ex.nr))) {
      this.fail(sa.id, d.remote, 'bad-hash', NotifyType.INVALID_HASH_INFORMATION);
      return;
    }
    const pending = ex.pending;
    if (!pending || !this.qmFire(ex, 'recv-qm3')) return;
    ex.rtx = undefined;
    ex.done = true;
    this.updateEndpoints(sa, d);
    sa.lastHeard = now;
    sa.children.push({ inboundSpi: pending.inbound.spi, outboundSpi: pending.outbound.spi, expiresAt: addDuration(now, seconds(pending.lifetimeSeconds)) });
    this.events.push({ type: 'child-sa-up', ...pending, local: sa.local, remote: sa.remote });
  }

  // ---------------------------------------------------------------- informational

  private handleInformational(now: Instant, sa: IkeSa, d: IkeDatagram, h: IsakmpHeader, body: Uint8Array): void {
    const c = sa.choice;
    const keys = sa.keys;
    if (!c || !keys) return;
    const p = this.openProtected(sa, this.qmIv(sa, h.messageId), h, body);
    // RFC 2409 §5.7: informational exchanges are protected by HASH(1).
    if (!p || !equalBytes(p.hash, qmHash1(c.hash, keys.a, h.messageId, p.after))) {
      this.fail(sa.id, d.remote, 'bad-hash', NotifyType.INVALID_HASH_INFORMATION);
      return;
    }
    sa.lastHeard = now;
    this.updateEndpoints(sa, d);
    for (const x of p.o.payloads) {
      if (x.kind === 'n') {
        if (x.notifyType === NotifyType.R_U_THERE && x.data.length === 4) {
          // RFC 3706 §5.3: answer with the same sequence number.
          this.sendNotify(sa, NotifyType.R_U_THERE_ACK, ProtocolId.ISAKMP, new Uint8Array([...sa.icookie, ...sa.rcookie]), x.data);
        } else if (x.notifyType === NotifyType.R_U_THERE_ACK && x.data.length === 4) {
          const seq = u32(x.data);
          if (sa.dpdPendingSince !== undefined && seq >= sa.dpdFirstSeq && seq <= sa.dpdSeq) sa.dpdPendingSince = undefined;
        } else if (x.notifyType === NotifyType.INITIAL_CONTACT) {
          this.initialContact(now, sa);
        } else if (x.notifyType < 8192) {
          this.fail(sa.id, d.remote, 'peer-notify', x.notifyType);
        }
      } else if (x.kind === 'd') {
        if (x.protocolId === ProtocolId.ISAKMP) {
          if (x.spis.some((s) => s.length === 16 && equalBytes(s.subarray(0, 8), sa.icookie) && equalBytes(s.subarray(8), sa.rcookie))) {
            if (this.fire(sa, 'recv-delete')) {
              this.adoptChildren(sa);
              this.dropIkeSa(sa, 'peer-delete', now);
            }
            return;
          }
        } else if (x.protocolId === ProtocolId.ESP && x.spiSize === 4) {
          for (const s of x.spis) {
            const spi = u32(s);
            // RFC 2408 §3.15: the SPI may be either end's; match both.
            const i = sa.children.findIndex((ch) => ch.outboundSpi === spi || ch.inboundSpi === spi);
            const ch = sa.children[i];
            if (!ch) continue;
            sa.children.splice(i, 1);
            this.childGone(sa, ch, 'peer-delete');
          }
        }
      }
    }
  }

  private handleClearNotify(now: Instant, sa: IkeSa, d: IkeDatagram, ps: readonly IkePayload[]): void {
    if (sa.state === 'established') return; // after phase 1, only protected notifies count
    const n = ps.find((p) => p.kind === 'n');
    if (!n || n.kind !== 'n' || n.notifyType >= 8192) return;
    this.fail(sa.id, d.remote, 'peer-notify', n.notifyType);
    if (this.fire(sa, 'recv-error-notify')) this.dropIkeSa(sa, 'peer-error', now);
  }

  // ---------------------------------------------------------------- timers

  /** Earliest instant any SA needs `handleTimeout`. */
  pollAt(): Instant | undefined {
    let t: Instant | undefined;
    for (const sa of this.sas.values()) {
      t = earliest(t, sa.rtx?.at);
      t = earliest(t, sa.expiresAt);
      t = earliest(t, sa.keepaliveAt);
      t = earliest(t, this.dpdDue(sa));
      for (const ex of sa.quick.values()) t = earliest(t, ex.rtx?.at);
      for (const ch of sa.children) t = earliest(t, ch.expiresAt);
    }
    return t;
  }

  private dpdDue(sa: IkeSa): Instant | undefined {
    const dpd = this.config.dpd;
    if (!dpd || sa.state !== 'established' || !sa.peerDpd) return undefined;
    if (sa.dpdPendingSince !== undefined) return earliest(sa.dpdNextSend, addDuration(sa.dpdPendingSince, dpd.timeout));
    return addDuration(sa.lastHeard, dpd.interval);
  }

  /** Run retransmissions, lifetimes, DPD and NAT keepalives due at `now`. */
  handleTimeout(now: Instant): void {
    for (const sa of [...this.sas.values()]) {
      if (sa.rtx && sa.rtx.at <= now) {
        if (sa.rtx.count >= this.rtxMax) {
          this.fail(sa.id, sa.remote, 'timeout');
          if (this.fire(sa, 'give-up')) this.dropIkeSa(sa, 'half-open-timeout', now);
          continue;
        }
        if (this.fire(sa, 'retransmit-timeout') && sa.lastOut) this.sendRaw(sa.local, sa.remote, sa.lastOut);
        sa.rtx.count++;
        sa.rtx.interval = millis(sa.rtx.interval * 2);
        sa.rtx.at = addDuration(now, sa.rtx.interval);
      }
      for (const ex of [...sa.quick.values()]) {
        if (!ex.rtx || ex.rtx.at > now) continue;
        if (ex.rtx.count >= this.rtxMax) {
          this.qmFire(ex, 'give-up');
          ex.rtx = undefined;
          this.spis.delete(ex.pending?.inbound.spi ?? 0);
          this.fail(sa.id, sa.remote, 'timeout');
          continue;
        }
        if (this.qmFire(ex, 'retransmit-timeout') && ex.lastOut) this.sendRaw(sa.local, sa.remote, ex.lastOut);
        ex.rtx.count++;
        ex.rtx.interval = millis(ex.rtx.interval * 2);
        ex.rtx.at = addDuration(now, ex.rtx.interval);
      }
      // Forget finished exchanges after a while (keeps retransmitted QM3/QM1 answerable for 60 s).
      if (sa.quick.size > 32) for (const [mid, ex] of sa.quick) if (ex.done || ex.state === 'qm-failed') sa.quick.delete(mid);
      for (const ch of [...sa.children]) {
        if (ch.expiresAt > now) continue;
        sa.children.splice(sa.children.indexOf(ch), 1);
        if (sa.state === 'established') this.sendDelete(sa, ProtocolId.ESP, 4, [be32(ch.inboundSpi)]);
        this.childGone(sa, ch, 'expired');
      }
      if (sa.expiresAt !== undefined && sa.expiresAt <= now && sa.state === 'established') {
        this.sendDelete(sa, ProtocolId.ISAKMP, 16, [new Uint8Array([...sa.icookie, ...sa.rcookie])]);
        if (this.fire(sa, 'lifetime-expired')) {
          this.adoptChildren(sa);
          this.dropIkeSa(sa, 'expired', now);
        }
        continue;
      }
      this.runDpd(now, sa);
      if (sa.keepaliveAt !== undefined && sa.keepaliveAt <= now && this.config.natKeepalive !== undefined) {
        // RFC 3948 §2.3: one 0xFF byte, from the NAT-T port.
        this.out.push({ local: sa.local, remote: sa.remote, data: Uint8Array.of(0xff) });
        sa.keepaliveAt = addDuration(now, this.config.natKeepalive);
      }
    }
  }

  private runDpd(now: Instant, sa: IkeSa): void {
    const dpd = this.config.dpd;
    const due = this.dpdDue(sa);
    if (!dpd || due === undefined || due > now) return;
    if (sa.dpdPendingSince !== undefined && addDuration(sa.dpdPendingSince, dpd.timeout) <= now) {
      // RFC 3706 §5.5: no acknowledgement within the timeout: the peer is dead.
      this.events.push({ type: 'dpd-failed', ikeSaId: sa.id, remote: sa.remote });
      if (this.fire(sa, 'dpd-dead')) this.dropIkeSa(sa, 'dpd', now);
      return;
    }
    // RFC 3706 §6.1: sequence numbers protect against replayed ACKs; every R-U-THERE (also a
    // retransmission) carries the next number and an ACK for any number of this round counts.
    sa.dpdSeq = (sa.dpdSeq + 1) & 0x7fffffff;
    if (sa.dpdPendingSince === undefined) {
      sa.dpdPendingSince = now;
      sa.dpdFirstSeq = sa.dpdSeq;
    }
    this.sendNotify(sa, NotifyType.R_U_THERE, ProtocolId.ISAKMP, new Uint8Array([...sa.icookie, ...sa.rcookie]), be32(sa.dpdSeq));
    sa.dpdNextSend = addDuration(now, millis(Math.max(1000, Math.floor(dpd.timeout / 5))));
  }

  // ---------------------------------------------------------------- helpers

  /**
   * RFC 3947 §4 / RFC 3948 §3: after an authenticated message from a new address or port (NAT
   * rebinding), move the IKE SA there and tell the data plane where its ESP-in-UDP now goes.
   */
  private updateEndpoints(sa: IkeSa, d: IkeDatagram): void {
    if (sameEndpoint(sa.local, d.local) && sameEndpoint(sa.remote, d.remote)) return;
    sa.local = d.local;
    sa.remote = d.remote;
    this.events.push({ type: 'endpoints-changed', ikeSaId: sa.id, local: d.local, remote: d.remote, inboundSpis: sa.children.map((c) => c.inboundSpi) });
  }

  private fire(sa: IkeSa, e: MainModeEvent): boolean {
    const to = nextState(MAIN_MODE_TABLE, sa.state, e);
    if (to === undefined) return false;
    sa.state = to;
    return true;
  }

  private qmFire(ex: QuickExchange, e: QuickModeEvent): boolean {
    const to = nextState(QUICK_MODE_TABLE, ex.state, e);
    if (to === undefined) return false;
    ex.state = to;
    return true;
  }

  private fail(ikeSaId: number | undefined, remote: Endpoint, reason: FailReason, notify?: number): void {
    this.events.push({ type: 'exchange-failed', ikeSaId, remote, reason, ...(notify !== undefined ? { notify } : {}) });
  }

  private childGone(sa: IkeSa, c: Child, reason: DeleteReason): void {
    this.spis.delete(c.inboundSpi);
    this.events.push({ type: 'sa-deleted', ikeSaId: sa.id, kind: 'child', inboundSpi: c.inboundSpi, outboundSpi: c.outboundSpi, reason });
  }

  /**
   * IKEv1 re-authentication (strongSwan at ikelifetime, Windows at its Main Mode lifetime): the
   * peer brings up a new IKE SA with a fresh Main Mode (no INITIAL-CONTACT), keeps using its IPsec
   * SAs and then deletes the old IKE SA. Phase-2 SAs do not live and die with the phase-1 SA that
   * negotiated them (RFC 2409 §5.5 lifetimes are per SA; MS-IKEE §3.8.4.1: QM SAs are deleted
   * only by their own expiry or a delete), so when an IKE SA goes away by the peer's delete or its
   * lifetime while a newer established IKE SA with the same peer (endpoint and ID) exists, its
   * child SAs move to that one (their expiry, deletes and DPD then run through it) instead of
   * being deleted. Returns true when children were adopted.
   */
  private adoptChildren(sa: IkeSa): boolean {
    const id = sa.peerId;
    if (sa.children.length === 0 || id === undefined) return false;
    let heir: IkeSa | undefined;
    for (const o of this.sas.values()) {
      if (o === sa || o.state !== 'established' || !sameEndpoint(o.remote, sa.remote) || o.peerId === undefined) continue;
      if (o.peerId.idType !== id.idType || !equalBytes(o.peerId.data, id.data)) continue;
      if (heir === undefined || o.id > heir.id) heir = o;
    }
    if (heir === undefined) return false;
    const moved = sa.children.splice(0);
    heir.children.push(...moved);
    this.events.push({ type: 'children-adopted', ikeSaId: heir.id, fromIkeSaId: sa.id, inboundSpis: moved.map((c) => c.inboundSpi) });
    return true;
  }

  private dropIkeSa(sa: IkeSa, reason: DeleteReason, now: Instant): void {
    for (const c of sa.children.splice(0)) this.childGone(sa, c, reason === 'local' ? 'local' : 'ike-sa-gone');
    for (const ex of sa.quick.values()) if (!ex.done && ex.pending) this.spis.delete(ex.pending.inbound.spi);
    this.sas.delete(hex(sa.icookie) + hex(sa.rcookie));
    for (const [k, v] of this.halfOpen) if (v === sa) this.halfOpen.delete(k);
    sa.state = 'deleted';
    sa.rtx = undefined;
    this.events.push({ type: 'sa-deleted', ikeSaId: sa.id, kind: 'ike', reason });
    void now;
  }

  private frame(local: Endpoint, bytes: Uint8Array): Uint8Array {
    return local.port === this.nattPort ? frameIkeFor4500(bytes) : bytes;
  }

  private sendRaw(local: Endpoint, remote: Endpoint, data: Uint8Array): void {
    this.out.push({ local, remote, data });
  }

  /** Send a phase-1 response, remember it for duplicates and arm retransmission. */
  private respond(now: Instant, sa: IkeSa, d: IkeDatagram, request: Uint8Array, bytes: Uint8Array): void {
    sa.lastIn = request;
    sa.lastOut = this.frame(d.local, bytes);
    sa.rtx = { at: addDuration(now, this.rtxInitial), interval: this.rtxInitial, count: 0 };
    sa.local = sameEndpoint(sa.local, d.local) ? sa.local : d.local;
    sa.remote = sameEndpoint(sa.remote, d.remote) ? sa.remote : d.remote;
    this.sendRaw(d.local, d.remote, sa.lastOut);
  }

  /** An unprotected notify (before phase-1 keys exist), RFC 2408 §5.3. */
  private sendClearNotify(d: IkeDatagram, icookie: Uint8Array, type: number): void {
    const n: IkePayload = { kind: 'n', doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, notifyType: type, spi: new Uint8Array(0), data: new Uint8Array(0) };
    const bytes = encodeIsakmp({ icookie, rcookie: new Uint8Array(8), exchangeType: ExchangeType.INFORMATIONAL, flags: 0, messageId: 0 }, [n]);
    this.sendRaw(d.local, d.remote, this.frame(d.local, bytes));
  }

  /** A protected informational exchange (RFC 2409 §5.7): HDR*, HASH(1), N/D. */
  private sendInformational(sa: IkeSa, payloads: readonly IkePayload[]): void {
    const c = sa.choice;
    const keys = sa.keys;
    if (!c || !keys) return;
    let mid = 0;
    while (mid === 0 || sa.quick.has(mid)) mid = this.random.u32() >>> 0;
    const { first, chain } = chainWithHash(payloads, (after) => qmHash1(c.hash, keys.a, mid, after));
    const sealed = sealMessage(c.cipher, sa.encKey, this.qmIv(sa, mid), { icookie: sa.icookie, rcookie: sa.rcookie, exchangeType: ExchangeType.INFORMATIONAL, flags: 0, messageId: mid }, first, chain);
    this.sendRaw(sa.local, sa.remote, this.frame(sa.local, sealed.bytes));
  }

  private sendNotify(sa: IkeSa, type: number, protocolId: number, spi: Uint8Array, data: Uint8Array = new Uint8Array(0)): void {
    this.sendInformational(sa, [{ kind: 'n', doi: DOI_IPSEC, protocolId, notifyType: type, spi, data }]);
  }

  private sendDelete(sa: IkeSa, protocolId: number, spiSize: number, spis: Uint8Array[]): void {
    this.sendInformational(sa, [{ kind: 'd', doi: DOI_IPSEC, protocolId, spiSize, spis }]);
  }
}
