/**
 * Sans-I/O IKEv1 responder for L2TP/IPsec: Main Mode with pre-shared keys (RFC 2409 §5), Quick Mode
 * for transport-mode ESP protecting UDP 1701 (§5.5), NAT-T (RFC 3947 and the -02/-02\n/-03 drafts),
 * informational exchanges (delete, INITIAL-CONTACT), DPD (RFC 3706). Aggressive Mode is refused.
 *
 * Driven like every core (`IkeDrive`): `handle(now, datagram)` / `handleTimeout(now)` / `pollAt()`,
 * then drain `pollTransmit()` (UDP payloads ready to send, including the RFC 3948 non-ESP marker on
 * the NAT-T port) and `pollEvent()`. Each message is judged here; the state tables in
 * `responder-fsm.ts` name what follows. Duplicate requests are answered from the last response,
 * never re-processed.
 */
import { addDuration, type Duration, earliest, type Instant, millis, type RandomSource, seconds, toHex } from '../base/index.js';
import { encodeIsakmp, ExchangeType, type IdPayload, type IkePayload, type IsakmpHeader, type IsakmpMessage, NotifyType, PayloadType, ProtocolId, type SaPayload, VendorIds } from '../wire/ike/index.js';
import { sameEndpoint, type Endpoint } from './addr.js';
import { generateDh } from './dh.js';
import { DpdState, runDpd } from './dpd.js';
import { IkeOutput, addressIdentity, armRetransmit, equalBytes, freshMessageId, receiveIke, retransmitDue } from './ike-exchange.js';
import type { DeleteReason, IkeDatagram, IkeDrive, IkeEvent, IkeIdentity, IkeTimers } from './ike-types.js';
import { applyInformational, deleteEspPayload, deleteIkePayload, notifyPayload, openInformational, sealInformational } from './informational.js';
import { authHash, ikeSaUp, keyPhase1, openAuthenticated, readKeNonce, sealAuthenticated, type MainModeInput } from './main-mode.js';
import { judgeNatD, natDPayloads, natDsOf, readVendorIds, vidPayload } from './natt.js';
import { DEFAULT_POLICY, selectPhase1, type IkePolicy } from './proposals.js';
import { MAIN_MODE_DROP_REASON, mainModeTransition, type MainModeAction, type MainModeEvent, type MainModeState } from './responder-fsm.js';
import { ResponderQuickMode, type ResponderChild, type ResponderQuickSa } from './responder-quick-mode.js';
import { acceptedSa } from './sa-payloads.js';
import { keyed, newResponderSa, type Keyed, type ResponderSa } from './ike-sa.js';

/** Responder configuration; durations in the base time units. */
export interface IkeResponderConfig extends IkeTimers {
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
  /** Also accept child SAs for IP protocol 115 (L2TPv3 over IP, RFC 3931 §4.1.1; ports 0). */
  readonly l2tpIp?: boolean;
  readonly maxHalfOpen?: number;
  /**
   * True while ESP can only be carried in UDP (no raw ESP socket): the NAT-D answer pretends a NAT
   * in front of the initiator (its hash is random, as SoftEther does), so a NAT-T initiator floats
   * to 4500 and proposes UDP-encapsulated transport (RFC 3947 §3.2, §5.1); plain transport mode is
   * then refused in Quick Mode, and an initiator without NAT-T in Main Mode message 1.
   */
  readonly udpEncapsulationOnly?: () => boolean;
}

/** An unencrypted ISAKMP message. */
type ClearMessage = Extract<IsakmpMessage, { readonly encrypted: false }>;

const EMPTY = new Uint8Array(0);
const saKey = (icookie: Uint8Array, rcookie: Uint8Array): string => toHex(icookie) + toHex(rcookie);
const mmHeader = (sa: ResponderSa): Omit<IsakmpHeader, 'length' | 'nextPayload' | 'version'> => ({
  icookie: sa.icookie, rcookie: sa.rcookie, exchangeType: ExchangeType.IDENTITY_PROTECTION, flags: 0, messageId: 0,
});

/** The IKEv1 responder for all peers of one daemon (one instance per listening address set). */
export class IkeResponder implements IkeDrive {
  private readonly policy: IkePolicy;
  private readonly nattPort: number;
  private readonly l2tpPort: number;
  private readonly rtxInitial: Duration;
  private readonly rtxMax: number;
  private readonly out: IkeOutput;
  private readonly sas = new Map<string, ResponderSa>();
  private readonly halfOpen = new Map<string, ResponderSa>();
  private readonly spis = new Set<number>();
  private readonly quickMode: ResponderQuickMode;
  private nextId = 1;

  /** `random` supplies cookies, nonces, SPIs, message ids and DH private values. */
  constructor(private readonly config: IkeResponderConfig, private readonly random: RandomSource) {
    this.policy = config.policy ?? DEFAULT_POLICY;
    this.nattPort = config.nattPort ?? 4500;
    this.l2tpPort = config.l2tpPort ?? 1701;
    this.rtxInitial = config.retransmit?.initial ?? millis(2000);
    this.rtxMax = config.retransmit?.max ?? 4;
    this.out = new IkeOutput(this.nattPort);
    this.quickMode = new ResponderQuickMode({
      out: this.out, random, spis: this.spis, rtxInitial: this.rtxInitial, rtxMax: this.rtxMax, l2tpPort: this.l2tpPort, l2tpIp: config.l2tpIp === true,
      policyFor: (remote) => config.policyFor?.(remote) ?? this.policy,
      sendInformational: (sa, payloads) => this.sealInformational(sa, payloads),
      updateEndpoints: (sa, d) => this.updateEndpoints(sa, d),
    });
  }

  /** The next datagram to send, or undefined. */
  pollTransmit(): IkeDatagram | undefined {
    return this.out.pollTransmit();
  }

  /** The next event, or undefined. */
  pollEvent(): IkeEvent | undefined {
    return this.out.pollEvent();
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
    for (const sa of this.sas.values()) if (sa.children.some((c) => c.inboundSpi === inboundSpi)) sa.dpd.alive(now);
  }

  /** As noteActivity for a set of inbound SPIs (e.g. the data plane's counters that grew), in one pass. */
  noteActivityAll(now: Instant, inboundSpis: ReadonlySet<number>): void {
    for (const sa of this.sas.values()) if (sa.children.some((c) => inboundSpis.has(c.inboundSpi))) sa.dpd.alive(now);
  }

  /** Delete an IKE SA and its child SAs, informing the peer (RFC 2408 §3.15). */
  deleteIkeSa(now: Instant, ikeSaId: number): void {
    for (const sa of this.sas.values()) if (sa.id === ikeSaId) this.mm(now, sa, 'local-delete');
  }

  /** Delete one child SA by our inbound SPI, informing the peer. */
  deleteChildSa(now: Instant, inboundSpi: number): void {
    this.removeChild(inboundSpi, 'local');
    void now;
  }

  /** Whether `spi` is one of our inbound SPIs from a Quick Mode that has sent QM2 but not seen QM3. */
  expectsInboundSpi(spi: number): boolean {
    for (const sa of this.sas.values()) if (this.quickMode.expects(sa, spi)) return true;
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

  // ---------------------------------------------------------------- input

  /** Feed one UDP datagram received on port 500 or the NAT-T port. */
  handle(now: Instant, d: IkeDatagram): void {
    const rx = receiveIke(d, this.nattPort);
    if (rx === undefined) return; // ESP and keepalives on 4500 are not ours
    if (!rx.message.ok) {
      this.out.failed(undefined, d.remote, 'malformed');
      return;
    }
    const m = rx.message.value;
    const data = rx.data;
    const h = m.header;
    if (h.rcookie.every((x) => x === 0)) {
      this.handleFirst(now, d, data, h, m.encrypted ? undefined : m);
      return;
    }
    const sa = this.sas.get(saKey(h.icookie, h.rcookie));
    if (!sa || sa.state === 'deleted') return;
    if (h.exchangeType === ExchangeType.IDENTITY_PROTECTION && h.messageId === 0) {
      // RFC 2408 §5: a retransmitted request is answered with our last response, never re-processed.
      if (sa.lastIn && equalBytes(sa.lastIn, data)) {
        if (sa.lastOut) this.out.send(d.local, d.remote, sa.lastOut);
        return;
      }
      if (sa.state === 'mm-r1-sent' && !m.encrypted) this.handleMm3(now, sa, d, data, m.payloads);
      else if (sa.state === 'mm-r2-sent' && m.encrypted) this.handleMm5(now, sa, d, data, h, m.body);
      return;
    }
    if (h.exchangeType === ExchangeType.QUICK_MODE && m.encrypted && sa.state === 'established' && keyed(sa)) {
      this.quickMode.handle(now, sa, d, data, h, m.body);
    } else if (h.exchangeType === ExchangeType.INFORMATIONAL) {
      if (!m.encrypted) this.handleClearNotify(now, sa, d, m.payloads);
      else if (sa.state === 'established' && keyed(sa)) this.handleInformational(now, sa, d, h, m.body);
    }
  }

  private handleFirst(now: Instant, d: IkeDatagram, data: Uint8Array, h: IsakmpHeader, m: ClearMessage | undefined): void {
    if (h.exchangeType === ExchangeType.AGGRESSIVE) {
      // RFC 2409 §5.4 allows refusing Aggressive Mode (PSK + AM leaks an offline-crackable hash).
      this.sendClearNotify(d, h.icookie, NotifyType.NO_PROPOSAL_CHOSEN);
      this.out.failed(undefined, d.remote, 'aggressive-mode-refused', NotifyType.NO_PROPOSAL_CHOSEN);
      return;
    }
    if (h.exchangeType !== ExchangeType.IDENTITY_PROTECTION || h.messageId !== 0 || !m) return;
    const key = `${d.remote.address}|${d.remote.port}|${toHex(h.icookie)}`;
    const old = this.halfOpen.get(key);
    if (old) {
      if (old.lastIn && equalBytes(old.lastIn, data) && old.lastOut) this.out.send(d.local, d.remote, old.lastOut);
      return;
    }
    if (this.halfOpen.size >= (this.config.maxHalfOpen ?? 1000)) {
      this.out.failed(undefined, d.remote, 'too-many-half-open');
      return;
    }
    this.handleMm1(now, d, data, h, m, key);
  }

  // ---------------------------------------------------------------- Main Mode

  private handleMm1(now: Instant, d: IkeDatagram, data: Uint8Array, h: IsakmpHeader, m: ClearMessage, key: string): void {
    const offer = m.payloads.find((p): p is SaPayload => p.kind === 'sa');
    const choice = offer ? selectPhase1(offer, this.config.policyFor?.(d.remote) ?? this.policy) : undefined;
    if (!offer || !choice) {
      this.sendClearNotify(d, h.icookie, NotifyType.NO_PROPOSAL_CHOSEN);
      this.out.failed(undefined, d.remote, 'no-proposal', NotifyType.NO_PROPOSAL_CHOSEN);
      return;
    }
    const vendor = readVendorIds(m.payloads);
    if (vendor.natt === 'none' && this.config.udpEncapsulationOnly?.() === true) {
      // No NAT-T: its ESP would be IP protocol 50, which this host cannot send or receive now.
      this.sendClearNotify(d, h.icookie, NotifyType.NO_PROPOSAL_CHOSEN);
      this.out.failed(undefined, d.remote, 'no-nat-t', NotifyType.NO_PROPOSAL_CHOSEN);
      return;
    }
    const rawSa = m.raws.find((r) => r.type === PayloadType.SA);
    let rcookie = this.random.bytes(8);
    while (rcookie.every((x) => x === 0) || this.sas.has(saKey(h.icookie, rcookie))) rcookie = this.random.bytes(8);
    const sa = newResponderSa({
      id: this.nextId++, icookie: h.icookie, rcookie, local: d.local, remote: d.remote, vendor, choice,
      saiB: rawSa ? rawSa.body.slice() : EMPTY, situation: offer.situation, dpd: new DpdState(now, this.random.u32() & 0x7fffffff),
    });
    this.sas.set(saKey(sa.icookie, sa.rcookie), sa);
    this.halfOpen.set(key, sa);
    this.mm(now, sa, 'recv-mm1', { d, data });
  }

  private handleMm3(now: Instant, sa: ResponderSa, d: IkeDatagram, data: Uint8Array, ps: readonly IkePayload[]): void {
    const kn = readKeNonce(ps);
    if (!kn) {
      this.out.failed(sa.id, d.remote, 'malformed');
      return;
    }
    const psk = this.config.psk(d.remote, d.local);
    if (!psk) {
      this.out.failed(sa.id, d.remote, 'no-psk');
      this.mm(now, sa, 'no-psk');
      return;
    }
    const dh = generateDh(sa.choice.group, this.random);
    const shared = dh.computeShared(kn.ke);
    if (!shared.ok) {
      this.out.failed(sa.id, d.remote, 'bad-ke');
      return;
    }
    sa.gxi = kn.ke;
    sa.gxr = dh.publicValue;
    sa.ni = kn.nonce;
    sa.nr = this.random.bytes(32);
    keyPhase1(sa, psk, shared.value);
    const natds = natDsOf(ps);
    if (sa.vendor.natt !== 'none' && natds.length >= 2) {
      const v = judgeNatD(sa.choice.hash, sa, natds, d.local, d.remote);
      sa.localBehindNat = v.localBehindNat;
      sa.remoteBehindNat = v.remoteBehindNat;
    }
    this.mm(now, sa, 'recv-mm3', { d, data });
  }

  private handleMm5(now: Instant, sa: ResponderSa, d: IkeDatagram, data: Uint8Array, h: IsakmpHeader, body: Uint8Array): void {
    if (!keyed(sa)) return;
    const a = openAuthenticated(sa.choice, sa.encKey, sa.iv, h.nextPayload, body, authHash(sa, 'initiator'));
    if (!a) {
      this.out.failed(sa.id, d.remote, 'auth-failed', NotifyType.AUTHENTICATION_FAILED);
      this.mm(now, sa, 'auth-failed');
      return;
    }
    sa.iv = a.nextIv;
    sa.local = d.local;
    sa.remote = d.remote; // RFC 3947 §4: the initiator may have floated to 4500
    sa.peerId = { idType: a.id.idType, data: a.id.data };
    this.mm(now, sa, 'recv-mm5', { d, data, id: a.id });
    // RFC 2407 §4.6.3.3 INITIAL-CONTACT, or Windows' equivalent vendor id in MM1 (MS Vid-Initial-Contact).
    if (sa.vendor.msInitialContact || a.payloads.some((p) => p.kind === 'n' && p.notifyType === NotifyType.INITIAL_CONTACT)) this.mm(now, sa, 'recv-initial-contact');
  }

  /** Run one Main Mode step (responder-fsm.ts): look up the row, enter the new state, run its actions. */
  private mm(now: Instant, sa: ResponderSa, event: MainModeEvent, input?: MainModeInput): boolean {
    const row = mainModeTransition(sa.state, event);
    if (row === undefined) return false;
    sa.state = row.to;
    for (const action of row.actions) this.mmAction(now, sa, action, event, input);
    return true;
  }

  private mmAction(now: Instant, sa: ResponderSa, action: MainModeAction, event: MainModeEvent, input: MainModeInput | undefined): void {
    switch (action) {
      case 'send-mm2': {
        const reply: IkePayload[] = [acceptedSa(sa.situation, sa.choice.proposal, sa.choice.transform)];
        if (sa.vendor.nattVid !== undefined) reply.push(vidPayload(sa.vendor.nattVid));
        reply.push(vidPayload(VendorIds.DPD));
        if (input) this.respond(now, sa, input, encodeIsakmp(mmHeader(sa), reply));
        return;
      }
      case 'send-mm4': {
        const reply: IkePayload[] = [{ kind: 'ke', data: sa.gxr }, { kind: 'nonce', data: sa.nr }];
        if (input && sa.vendor.natt !== 'none') reply.push(...this.natDs(sa, input.d));
        if (input) this.respond(now, sa, input, encodeIsakmp(mmHeader(sa), reply));
        return;
      }
      case 'send-mm6':
        this.sendMm6(now, sa, input);
        return;
      case 'ike-sa-up':
        this.ikeSaUp(now, sa);
        return;
      case 'resend':
        this.out.resend(now, sa, sa);
        return;
      case 'initial-contact':
        this.initialContact(now, sa);
        return;
      case 'send-delete-children':
        for (const c of sa.children) this.sendInformational(sa, [deleteEspPayload(c.inboundSpi)]);
        return;
      case 'send-delete-ike':
        this.sendInformational(sa, [deleteIkePayload(sa)]);
        return;
      case 'adopt-children':
        this.adoptChildren(sa);
        return;
      case 'drop':
        this.dropIkeSa(sa, MAIN_MODE_DROP_REASON[event] ?? 'local');
        return;
    }
  }

  /**
   * MM4's NAT-D pair (RFC 3947 §3.2: the initiator as we see it, then us). Without raw ESP the
   * first one is random: the initiator finds itself "behind a NAT" and uses ESP in UDP 4500, and
   * we hold this SA to UDP encapsulation as if it were.
   */
  private natDs(sa: ResponderSa, d: IkeDatagram): IkePayload[] {
    const natt = sa.vendor.natt;
    if (natt === 'none') return [];
    const pair = natDPayloads(sa.choice.hash, sa, natt, d.remote, d.local);
    const first = pair[0];
    if (this.config.udpEncapsulationOnly?.() !== true || first?.kind !== 'nat-d') return pair;
    sa.remoteBehindNat = true;
    return [{ ...first, data: this.random.bytes(first.data.length) }, ...pair.slice(1)];
  }

  /** MM6: HDR*, IDir, HASH_R; retransmitted MM5s are answered from `lastOut`, so no timer. */
  private sendMm6(now: Instant, sa: ResponderSa, input: MainModeInput | undefined): void {
    if (!keyed(sa) || !input?.id) return;
    const lid = addressIdentity(input.d.local.address, this.config.localId);
    const idr: IdPayload = { kind: 'id', idType: lid.idType, protocolId: input.id.protocolId, port: input.id.port, data: lid.data };
    const sealed = sealAuthenticated(sa.choice, sa, idr, authHash(sa, 'responder'));
    sa.iv = sealed.nextIv;
    this.respond(now, sa, input, sealed.bytes);
    sa.rtx = undefined;
  }

  /** Main Mode done: no longer half-open; lifetime, NAT keepalives, DPD; report it. */
  private ikeSaUp(now: Instant, sa: ResponderSa): void {
    this.halfOpen.delete(`${sa.remote.address}|${sa.remote.port}|${toHex(sa.icookie)}`);
    for (const [k, v] of this.halfOpen) if (v === sa) this.halfOpen.delete(k);
    sa.expiresAt = addDuration(now, seconds(sa.choice.lifetimeSeconds));
    sa.dpd.heard(now);
    if (sa.localBehindNat && this.config.natKeepalive !== undefined) sa.keepaliveAt = addDuration(now, this.config.natKeepalive);
    if (sa.peerId) this.out.emit({ ...ikeSaUp(sa, sa.peerId, sa.vendor.natt), ...(sa.vendor.msNt5 ? { peerVendor: 'windows' as const } : {}) });
  }

  /** RFC 2407 §4.6.3.3: the peer rebooted; forget older SAs with the same peer and identity. */
  private initialContact(now: Instant, sa: ResponderSa): void {
    const peerId = sa.peerId;
    if (!peerId) return;
    this.out.emit({ type: 'initial-contact', ikeSaId: sa.id, remote: sa.remote, peerId });
    for (const other of [...this.sas.values()]) {
      if (other === sa || other.state !== 'established' || other.remote.address !== sa.remote.address) continue;
      if (!other.peerId || other.peerId.idType !== peerId.idType || !equalBytes(other.peerId.data, peerId.data)) continue;
      this.mm(now, other, 'initial-contact-replaced');
    }
  }

  // ---------------------------------------------------------------- informational

  private handleInformational(now: Instant, sa: Keyed<ResponderSa>, d: IkeDatagram, h: IsakmpHeader, body: Uint8Array): void {
    // RFC 2409 §5.7: informational exchanges are protected by HASH(1).
    const info = openInformational(sa, h, body);
    if (!info.ok) {
      this.out.failed(sa.id, d.remote, 'bad-hash', NotifyType.INVALID_HASH_INFORMATION);
      return;
    }
    sa.dpd.heard(now);
    this.updateEndpoints(sa, d);
    applyInformational(info.value, sa, {
      send: (payloads) => this.sealInformational(sa, payloads),
      initialContact: () => this.mm(now, sa, 'recv-initial-contact'),
      error: (notifyType) => this.out.failed(sa.id, d.remote, 'peer-notify', notifyType),
      deleteIke: () => this.mm(now, sa, 'recv-delete'),
      children: sa.children,
      childDeleted: (c) => this.endChild(sa, c, 'peer-delete', false),
    });
  }

  private handleClearNotify(now: Instant, sa: ResponderSa, d: IkeDatagram, ps: readonly IkePayload[]): void {
    if (sa.state === 'established') return; // after phase 1, only protected notifies count
    const n = ps.find((p) => p.kind === 'n');
    if (!n || n.kind !== 'n' || n.notifyType >= 8192) return;
    this.out.failed(sa.id, d.remote, 'peer-notify', n.notifyType);
    this.mm(now, sa, 'recv-error-notify');
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

  private dpdDue(sa: ResponderSa): Instant | undefined {
    const dpd = this.config.dpd;
    return dpd && sa.state === 'established' && sa.vendor.dpd ? sa.dpd.due(dpd) : undefined;
  }

  /** Run retransmissions, lifetimes, DPD and NAT keepalives due at `now`. */
  handleTimeout(now: Instant): void {
    for (const sa of [...this.sas.values()]) {
      const rtx = retransmitDue(sa.rtx, now, this.rtxMax);
      if (rtx === 'give-up') {
        this.out.failed(sa.id, sa.remote, 'timeout');
        this.mm(now, sa, 'give-up');
        continue;
      }
      if (rtx === 'resend') this.mm(now, sa, 'retransmit-timeout');
      if (keyed(sa)) this.quickMode.handleTimeout(now, sa);
      for (const ch of [...sa.children]) if (ch.expiresAt <= now) this.endChild(sa, ch, 'expired', true);
      if (sa.expiresAt !== undefined && sa.expiresAt <= now && sa.state === 'established') {
        this.mm(now, sa, 'lifetime-expired');
        continue;
      }
      this.runDpd(now, sa);
      if (sa.keepaliveAt !== undefined && sa.keepaliveAt <= now && this.config.natKeepalive !== undefined) {
        // RFC 3948 §2.3: one 0xFF byte, from the NAT-T port.
        this.out.send(sa.local, sa.remote, Uint8Array.of(0xff));
        sa.keepaliveAt = addDuration(now, this.config.natKeepalive);
      }
    }
  }

  private runDpd(now: Instant, sa: ResponderSa): void {
    const dpd = this.config.dpd;
    if (!dpd || sa.state !== 'established' || !sa.vendor.dpd) return;
    if (runDpd(now, dpd, this.out, sa, (payloads) => this.sendInformational(sa, payloads)) === 'dead') this.mm(now, sa, 'dpd-dead');
  }

  // ---------------------------------------------------------------- helpers

  /**
   * RFC 3947 §4 / RFC 3948 §3: after an authenticated message from a new address or port (NAT
   * rebinding), move the IKE SA there and tell the data plane where its ESP-in-UDP now goes.
   */
  private updateEndpoints(sa: Pick<ResponderSa, 'id' | 'local' | 'remote' | 'children'>, d: IkeDatagram): void {
    if (sameEndpoint(sa.local, d.local) && sameEndpoint(sa.remote, d.remote)) return;
    sa.local = d.local;
    sa.remote = d.remote;
    this.out.emit({ type: 'endpoints-changed', ikeSaId: sa.id, local: d.local, remote: d.remote, inboundSpis: sa.children.map((c) => c.inboundSpi) });
  }

  /** Remove the child SA with our inbound SPI, send D(ESP) while its IKE SA is up, report why. */
  private removeChild(inboundSpi: number, reason: 'local' | 'expired'): void {
    for (const sa of this.sas.values()) {
      const c = sa.children.find((x) => x.inboundSpi === inboundSpi);
      if (c) this.endChild(sa, c, reason, true);
    }
  }

  /** A child SA ends: out of the list, D(ESP) when `tell` and the IKE SA is up, `sa-deleted`. */
  private endChild(sa: ResponderSa, c: ResponderChild, reason: DeleteReason, tell: boolean): void {
    sa.children.splice(sa.children.indexOf(c), 1);
    if (tell && sa.state === 'established') this.sendInformational(sa, [deleteEspPayload(c.inboundSpi)]);
    this.spis.delete(c.inboundSpi);
    this.out.childDeleted(sa.id, c, reason);
  }

  /**
   * IKEv1 re-authentication (strongSwan at ikelifetime, Windows at its Main Mode lifetime): the
   * peer brings up a new IKE SA with a fresh Main Mode (no INITIAL-CONTACT), keeps using its IPsec
   * SAs and then deletes the old IKE SA. Phase-2 SAs do not live and die with the phase-1 SA that
   * negotiated them (RFC 2409 §5.5 lifetimes are per SA; MS-IKEE §3.8.4.1: QM SAs are deleted
   * only by their own expiry or a delete), so when an IKE SA goes away by the peer's delete or its
   * lifetime while a newer established IKE SA with the same peer (endpoint and ID) exists, its
   * child SAs move to that one (their expiry, deletes and DPD then run through it) instead of
   * being deleted.
   */
  private adoptChildren(sa: ResponderSa): void {
    const id = sa.peerId;
    if (sa.children.length === 0 || id === undefined) return;
    let heir: ResponderSa | undefined;
    for (const o of this.sas.values()) {
      if (o === sa || o.state !== 'established' || !sameEndpoint(o.remote, sa.remote) || o.peerId === undefined) continue;
      if (o.peerId.idType !== id.idType || !equalBytes(o.peerId.data, id.data)) continue;
      if (heir === undefined || o.id > heir.id) heir = o;
    }
    if (heir === undefined) return;
    const moved = sa.children.splice(0);
    heir.children.push(...moved);
    this.out.emit({ type: 'children-adopted', ikeSaId: heir.id, fromIkeSaId: sa.id, inboundSpis: moved.map((c) => c.inboundSpi) });
  }

  private dropIkeSa(sa: ResponderSa, reason: DeleteReason): void {
    for (const c of sa.children.splice(0)) {
      this.spis.delete(c.inboundSpi);
      this.out.childDeleted(sa.id, c, reason === 'local' ? 'local' : 'ike-sa-gone');
    }
    for (const spi of this.quickMode.reservedSpis(sa)) this.spis.delete(spi);
    this.sas.delete(saKey(sa.icookie, sa.rcookie));
    for (const [k, v] of this.halfOpen) if (v === sa) this.halfOpen.delete(k);
    sa.rtx = undefined;
    this.out.ikeDeleted(sa.id, reason);
  }

  /** Send a phase-1 response, remember it for duplicates and arm retransmission. */
  private respond(now: Instant, sa: ResponderSa, input: MainModeInput, bytes: Uint8Array): void {
    const d = input.d;
    sa.lastIn = input.data;
    sa.lastOut = this.out.frame(d.local, bytes);
    sa.rtx = armRetransmit(now, this.rtxInitial);
    sa.local = sameEndpoint(sa.local, d.local) ? sa.local : d.local;
    sa.remote = sameEndpoint(sa.remote, d.remote) ? sa.remote : d.remote;
    this.out.send(d.local, d.remote, sa.lastOut);
  }

  /** An unprotected notify (before phase-1 keys exist), RFC 2408 §5.3. */
  private sendClearNotify(d: IkeDatagram, icookie: Uint8Array, type: number): void {
    const n = notifyPayload(type, ProtocolId.ISAKMP, EMPTY);
    const bytes = encodeIsakmp({ icookie, rcookie: new Uint8Array(8), exchangeType: ExchangeType.INFORMATIONAL, flags: 0, messageId: 0 }, [n]);
    this.out.send(d.local, d.remote, this.out.frame(d.local, bytes));
  }

  /** A protected informational exchange (RFC 2409 §5.7): HDR*, HASH(1), N/D; none before MM3. */
  private sendInformational(sa: ResponderSa, payloads: readonly IkePayload[]): void {
    if (keyed(sa)) this.sealInformational(sa, payloads);
  }

  private sealInformational(sa: ResponderQuickSa, payloads: readonly IkePayload[]): void {
    const mid = freshMessageId(this.random, (m) => sa.quick.has(m));
    this.out.send(sa.local, sa.remote, this.out.frame(sa.local, sealInformational(sa, mid, payloads)));
  }
}
