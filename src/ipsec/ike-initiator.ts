/**
 * Sans-I/O IKEv1 initiator for an L2TP/IPsec client (LAC dial-out): Main Mode with a pre-shared key
 * (RFC 2409 §5), Quick Mode for one transport-mode ESP SA protecting UDP 1701 (§5.5, RFC 3193 §4),
 * NAT-T with the float to port 4500 (RFC 3947) and NAT-keepalives (RFC 3948 §4), DPD (RFC 3706),
 * delete (RFC 2408 §3.15), initiator-driven child SA rekeying (make before break) and IKE SA
 * re-authentication.
 *
 * One instance talks to one server. Driven like the responder (`IkeDrive`): `connect(now)`, then
 * `handle(now, datagram)` / `handleTimeout(now)` / `pollAt()`; send what `pollTransmit()` gives
 * verbatim (IKE on the NAT-T port already carries the RFC 3948 non-ESP marker) and act on
 * `pollEvent()` — the same `IkeEvent` union as `IkeResponder`, so the ESP glue serves both roles.
 * Each message is judged here; the state tables in `initiator-fsm.ts` name what follows.
 */
import { addDuration, type Duration, earliest, instant, type Instant, millis, type RandomSource, seconds } from '../base/index.js';
import { DOI_IPSEC, encodeIsakmp, ExchangeType, type IdPayload, type IkePayload, type IsakmpHeader, NotifyType, ProtocolId, type SaPayload, VendorIds } from '../wire/ike/index.js';
import { sameEndpoint, type Endpoint } from './addr.js';
import { generateDh, type DhGroupNumber } from './dh.js';
import { DpdState, runDpd } from './dpd.js';
import {
  IkeOutput, addressIdentity, armRetransmit, cookiePair, equalBytes, freshMessageId, receiveIke, retransmitDue,
} from './ike-exchange.js';
import type { DeleteReason, IkeDatagram, IkeDrive, IkeEvent, IkeIdentity, IkeTimers } from './ike-types.js';
import {
  MAIN_MODE_INIT_DROP_REASON, mainModeInitTransition, type MainModeInitAction, type MainModeInitEvent, type MainModeInitState,
} from './initiator-fsm.js';
import { InitiatorQuickMode, type InitiatorChild } from './initiator-quick-mode.js';
import type { SelectorProtocol } from './quick-mode.js';
import { chosen, keyed, newInitiatorSa, type InitiatorSa, type Keyed } from './ike-sa.js';
import { applyInformational, deleteEspPayload, deleteIkePayload, openInformational, sealInformational } from './informational.js';
import { hashLength } from './keys.js';
import { authHash, ikeSaUp, keyPhase1, openAuthenticated, readKeNonce, sealAuthenticated, type MainModeInput } from './main-mode.js';
import { judgeNatD, natDPayloads, natDsOf, natVid, readVendorIds, vidPayload } from './natt.js';
import { selectPhase1, type IkePolicy } from './proposals.js';
import {
  DEFAULT_INITIATOR_PROPOSALS, offeredPolicy, phase1OfferSa, sameTransform, type InitiatorProposals,
} from './sa-payloads.js';

/** Initiator configuration; durations in the base time units. */
export interface IkeInitiatorConfig extends IkeTimers {
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
  /** The protocol of the Quick Mode IDs: 17 (UDP, default) or 115 (L2TPv3 over IP, ports 0). */
  readonly selectorProtocol?: SelectorProtocol;
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
}

/** The IKEv1 initiator for one server. */
export class IkeInitiator implements IkeDrive {
  private readonly proposals: InitiatorProposals;
  private readonly phase1Policy: IkePolicy;
  private readonly natT: 'rfc3947' | 'draft' | 'none';
  private readonly localNattPort: number;
  private readonly remoteNattPort: number;
  private readonly rtxInitial: Duration;
  private readonly rtxMax: number;
  private readonly out: IkeOutput;
  private readonly quickMode: InitiatorQuickMode;
  private nextId = 1;
  private st: MainModeInitState = 'mm-idle';
  /** The IKE SA of the current (or last) Main Mode. */
  private sa: InitiatorSa;
  /** The IKE SA being replaced during a re-authentication: deleted under its own keys once the new one is up. */
  private previous: Keyed<InitiatorSa> | undefined;
  /** Child SAs, oldest first; they outlive an IKE SA that is re-authenticated. */
  private readonly children: InitiatorChild[] = [];

  /** `random` supplies cookies, nonces, SPIs, message ids and DH private values. */
  constructor(private readonly config: IkeInitiatorConfig, private readonly random: RandomSource) {
    this.proposals = config.proposals ?? DEFAULT_INITIATOR_PROPOSALS;
    if (this.proposals.phase1.length === 0 || this.proposals.phase2.length === 0) throw new Error('IkeInitiator needs at least one proposal per phase');
    this.phase1Policy = offeredPolicy(this.proposals, undefined);
    this.natT = config.natT ?? 'rfc3947';
    this.localNattPort = config.localNattPort ?? 4500;
    this.remoteNattPort = config.remoteNattPort ?? 4500;
    this.rtxInitial = config.retransmit?.initial ?? millis(2000);
    this.rtxMax = config.retransmit?.max ?? 5;
    this.out = new IkeOutput(this.localNattPort);
    this.sa = newInitiatorSa({ id: 0, icookie: new Uint8Array(8), local: config.local, remote: config.remote, dpd: new DpdState(instant(0), 0) });
    this.quickMode = new InitiatorQuickMode({
      out: this.out, random, rtxInitial: this.rtxInitial, rtxMax: this.rtxMax, children: this.children,
      settings: {
        offers: this.proposals.phase2,
        offered: offeredPolicy(this.proposals, config.pfsGroup),
        pfsGroup: config.pfsGroup,
        lifetimeSeconds: config.childLifetimeSeconds ?? 3600,
        lifetimeKilobytes: config.childLifetimeKilobytes,
        rekeyFraction: config.rekeyFraction ?? 0.9,
        rekeyOverlap: config.rekeyOverlap ?? millis(2000),
        idci: { address: config.local.address, port: config.l2tpPort ?? 1701 },
        idcr: { address: config.remote.address, port: config.remoteL2tpPort ?? 1701 },
        protocol: config.selectorProtocol ?? 17,
      },
    });
  }

  /** Main Mode state of the current IKE SA. */
  get state(): MainModeInitState {
    return this.st;
  }

  /** Id of the current IKE SA (0 before the first connect). */
  get ikeSaId(): number {
    return this.sa.id;
  }

  /** Current IKE endpoints (after a float to NAT-T: the 4500 ports). */
  get endpoints(): { readonly local: Endpoint; readonly remote: Endpoint } {
    return { local: this.sa.local, remote: this.sa.remote };
  }

  /** Inbound/outbound SPIs of the installed child SAs, oldest first. */
  get childSpis(): readonly { readonly inbound: number; readonly outbound: number }[] {
    return this.children.map((c) => ({ inbound: c.inboundSpi, outbound: c.outboundSpi }));
  }

  /** The next datagram to send, or undefined. */
  pollTransmit(): IkeDatagram | undefined {
    return this.out.pollTransmit();
  }

  /** The next event, or undefined. */
  pollEvent(): IkeEvent | undefined {
    return this.out.pollEvent();
  }

  /** Tell DPD that ESP from the server arrived (`inboundSpi` is accepted for symmetry with the responder). */
  noteActivity(now: Instant, inboundSpi?: number): void {
    void inboundSpi;
    this.sa.dpd.alive(now);
  }

  /** As noteActivity for a set of inbound SPIs (one IKE SA here: any one is traffic). */
  noteActivityAll(now: Instant, inboundSpis: ReadonlySet<number>): void {
    if (inboundSpis.size > 0) this.sa.dpd.alive(now);
  }

  /** Start Main Mode (RFC 2409 §5): HDR, SA, VID. No-op unless idle or deleted. */
  connect(now: Instant): void {
    this.mm(now, 'connect');
  }

  /** Start a Quick Mode for a new child SA (first one, or a rekey of `replaces`). */
  startChild(now: Instant, replaces?: number): void {
    const sa = this.sa;
    if (this.st === 'established' && keyed(sa)) this.quickMode.start(now, sa, replaces);
  }

  /** Delete everything (RFC 2408 §3.15): D(ESP) for each child, then D(ISAKMP). */
  close(now: Instant): void {
    this.mm(now, 'local-delete');
  }

  /** Delete one child SA by our inbound SPI, informing the server. */
  deleteChildSa(now: Instant, inboundSpi: number): void {
    const c = this.children.find((x) => x.inboundSpi === inboundSpi);
    if (c) this.endChild(c, 'local');
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
      this.endChild(c, 'expired');
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
    const rx = receiveIke(d, this.localNattPort);
    if (rx === undefined || !rx.message.ok) return; // ESP and keepalives on 4500 belong to the data plane
    const m = rx.message.value;
    const data = rx.data;
    const h = m.header;
    const sa = this.sa;
    if (!equalBytes(h.icookie, sa.icookie) || this.st === 'mm-idle' || this.st === 'deleted') return;
    if (h.exchangeType === ExchangeType.IDENTITY_PROTECTION && h.messageId === 0) {
      // RFC 2408 §5: the responder retransmits its last message when ours got lost; resend ours.
      if (sa.lastIn && equalBytes(sa.lastIn, data)) {
        if (sa.lastOut && this.st !== 'established') this.out.send(sa.local, sa.remote, sa.lastOut);
        return;
      }
      if (this.st === 'mm-i1-sent' && !m.encrypted) this.onMm2(now, d, data, h, m.payloads);
      else if (this.st === 'mm-i2-sent' && !m.encrypted && equalBytes(h.rcookie, sa.rcookie)) this.onMm4(now, d, data, m.payloads);
      else if (this.st === 'mm-i3-sent' && m.encrypted && equalBytes(h.rcookie, sa.rcookie)) this.onMm6(now, d, data, h.nextPayload, m.body);
      return;
    }
    if (!equalBytes(h.rcookie, sa.rcookie) && !(h.exchangeType === ExchangeType.INFORMATIONAL && h.rcookie.every((x) => x === 0))) return;
    if (h.exchangeType === ExchangeType.QUICK_MODE && this.st === 'established' && m.encrypted) {
      if (keyed(sa)) this.quickMode.handle(now, sa, data, h, m.body);
    } else if (h.exchangeType === ExchangeType.INFORMATIONAL) {
      if (m.encrypted && this.st === 'established') this.onInformational(now, d, h, m.body);
      else if (!m.encrypted && this.st !== 'established') {
        // RFC 2408 §5.3: an unprotected error notify before phase 1 completes.
        const n = m.payloads.find((p) => p.kind === 'n');
        if (n && n.kind === 'n' && n.notifyType < 8192) {
          this.out.failed(sa.id, sa.remote, 'peer-notify', n.notifyType);
          this.mm(now, 'recv-error-notify');
        }
      }
    }
  }

  private onMm2(now: Instant, d: IkeDatagram, data: Uint8Array, h: IsakmpHeader, ps: readonly IkePayload[]): void {
    const sa = this.sa;
    const offer = ps.find((p): p is SaPayload => p.kind === 'sa');
    const t = offer?.proposals[0]?.transforms[0];
    const offered = sa.offered?.proposals[0]?.transforms ?? [];
    // RFC 2409 §5: the responder returns exactly one of our transforms, unchanged.
    const choice = offer && t && offered.some((o) => sameTransform(o, t)) ? selectPhase1(offer, this.phase1Policy) : undefined;
    if (!choice || h.rcookie.every((x) => x === 0)) {
      this.out.failed(sa.id, sa.remote, 'no-proposal');
      this.mm(now, 'no-proposal');
      return;
    }
    const vendor = readVendorIds(ps);
    sa.natt = this.natT === 'none' ? 'none' : vendor.natt;
    sa.peerDpd = vendor.dpd;
    sa.choice = choice;
    sa.rcookie = h.rcookie.slice();
    this.mm(now, 'recv-mm2', { d, data });
  }

  private onMm4(now: Instant, d: IkeDatagram, data: Uint8Array, ps: readonly IkePayload[]): void {
    const sa = this.sa;
    const dh = sa.dh;
    const kn = readKeNonce(ps);
    if (!chosen(sa) || !dh || !kn) {
      this.out.failed(sa.id, sa.remote, 'malformed');
      return;
    }
    const shared = dh.computeShared(kn.ke);
    if (!shared.ok) {
      this.out.failed(sa.id, sa.remote, 'bad-ke');
      return;
    }
    sa.gxr = kn.ke;
    sa.nr = kn.nonce;
    keyPhase1(sa, this.config.psk, shared.value);
    if (sa.natt !== 'none') {
      const natds = natDsOf(ps);
      if (natds.length > 0) {
        // RFC 3947 §3.2: the responder's first NAT-D is us as it saw us; the others are its own.
        const v = judgeNatD(sa.choice.hash, sa, natds, this.config.local, this.config.remote);
        sa.localBehindNat = v.localBehindNat;
        sa.remoteBehindNat = v.remoteBehindNat;
      }
      if (this.config.forceEncapsulation) sa.localBehindNat = true;
      if (sa.localBehindNat || sa.remoteBehindNat) {
        // RFC 3947 §4: float to the NAT-T port before sending the ID payload.
        sa.local = { address: this.config.local.address, port: this.localNattPort };
        sa.remote = { address: this.config.remote.address, port: this.remoteNattPort };
      }
    }
    this.mm(now, 'recv-mm4', { d, data });
  }

  private onMm6(now: Instant, d: IkeDatagram, data: Uint8Array, firstPayload: number, body: Uint8Array): void {
    const sa = this.sa;
    if (!keyed(sa)) return;
    const a = openAuthenticated(sa.choice, sa.encKey, sa.iv, firstPayload, body, authHash(sa, 'responder'));
    if (!a) {
      // RFC 2409 §5: a wrong PSK on either side shows up as a HASH_R mismatch (or garbage).
      this.out.failed(sa.id, sa.remote, 'auth-failed', NotifyType.AUTHENTICATION_FAILED);
      this.mm(now, 'auth-failed');
      return;
    }
    sa.iv = a.nextIv;
    sa.lastIn = data;
    sa.rtx = undefined;
    sa.remote = d.remote;
    this.mm(now, 'recv-mm6', { d, data, id: a.id });
  }

  private onInformational(now: Instant, d: IkeDatagram, h: IsakmpHeader, body: Uint8Array): void {
    const sa = this.sa;
    if (!keyed(sa)) return;
    // RFC 2409 §5.7: informational exchanges are protected by HASH(1).
    const info = openInformational(sa, h, body);
    if (!info.ok) {
      if (info.error === 'bad-hash') this.out.failed(sa.id, sa.remote, 'bad-hash', NotifyType.INVALID_HASH_INFORMATION);
      return;
    }
    sa.dpd.heard(now);
    if (!sameEndpoint(d.remote, sa.remote)) {
      sa.remote = d.remote;
      this.out.emit({ type: 'endpoints-changed', ikeSaId: sa.id, local: sa.local, remote: sa.remote, inboundSpis: this.children.map((x) => x.inboundSpi) });
    }
    applyInformational(info.value, sa, {
      send: (payloads) => this.sendInformational(sa, payloads),
      initialContact: () => undefined,
      error: (notifyType, spi) => {
        // RFC 2408 §5.3: an error about one of our Quick Modes (matched by our SPI in the notify).
        this.out.failed(sa.id, sa.remote, 'peer-notify', notifyType);
        this.quickMode.refused(now, sa, spi);
      },
      deleteIke: () => this.mm(now, 'recv-delete'),
      children: this.children,
      childDeleted: (c) => this.endChild(c, 'peer-delete', false),
    });
  }

  // ---------------------------------------------------------------- Main Mode steps

  /** Run one Main Mode step (initiator-fsm.ts): look up the row, enter the new state, run its actions. */
  private mm(now: Instant, event: MainModeInitEvent, input?: MainModeInput): void {
    const row = mainModeInitTransition(this.st, event);
    if (row === undefined) return;
    this.st = row.to;
    for (const action of row.actions) this.mmAction(now, action, event, input);
  }

  private mmAction(now: Instant, action: MainModeInitAction, event: MainModeInitEvent, input: MainModeInput | undefined): void {
    const sa = this.sa;
    switch (action) {
      case 'keep-previous':
        this.previous = keyed(sa) ? sa : undefined;
        return;
      case 'send-mm1':
        this.sendMm1(now);
        return;
      case 'send-mm3':
        if (input) this.sendMm3(now, input);
        return;
      case 'send-mm5':
        if (input) this.sendMm5(now, input);
        return;
      case 'ike-sa-up':
        if (input?.id) this.ikeSaUp(now, input.id);
        return;
      case 'delete-previous':
        this.deletePrevious();
        return;
      case 'start-child':
        if (this.children.length === 0 && this.config.autoChild !== false) this.startChild(now);
        return;
      case 'resend':
        this.out.resend(now, sa, sa);
        return;
      case 'send-delete-children':
        for (const c of this.children) this.sendInformational(sa, [deleteEspPayload(c.inboundSpi)]);
        return;
      case 'send-delete-ike':
        this.sendInformational(sa, [deleteIkePayload(sa)]);
        return;
      case 'drop':
        this.drop(MAIN_MODE_INIT_DROP_REASON[event] ?? 'local');
        return;
    }
  }

  /** MM1 on a new IKE SA (new cookies): HDR, SA (our transforms in preference order), VID(NAT-T), VID(DPD). */
  private sendMm1(now: Instant): void {
    let icookie = this.random.bytes(8);
    while (icookie.every((x) => x === 0)) icookie = this.random.bytes(8);
    const offered = phase1OfferSa(this.proposals.phase1, this.config.ikeLifetimeSeconds ?? 28800);
    this.sa = newInitiatorSa({ id: this.nextId++, icookie, local: this.config.local, remote: this.config.remote, dpd: new DpdState(now, this.random.u32() & 0x7fffffff), offered });
    const ps: IkePayload[] = [offered];
    if (this.natT !== 'none') ps.push(vidPayload(natVid(this.natT)));
    ps.push(vidPayload(VendorIds.DPD));
    this.sendPhase1(now, encodeIsakmp(this.mmHeader(), ps));
  }

  /** MM3: HDR, KE, Ni [, NAT-D(server as we address it), NAT-D(us)] (RFC 2409 §5, RFC 3947 §3.2). */
  private sendMm3(now: Instant, input: MainModeInput): void {
    const sa = this.sa;
    const c = sa.choice;
    if (!c) return;
    sa.dh = generateDh(c.group, this.random);
    sa.gxi = sa.dh.publicValue;
    sa.ni = this.random.bytes(32);
    const reply: IkePayload[] = [{ kind: 'ke', data: sa.gxi }, { kind: 'nonce', data: sa.ni }];
    if (sa.natt !== 'none') {
      // strongSwan `forceencaps`: a random NAT-D for us makes the server see a NAT.
      const mine = this.config.forceEncapsulation ? this.random.bytes(hashLength(c.hash)) : sa.local;
      reply.push(...natDPayloads(c.hash, sa, sa.natt, input.d.remote, mine));
    }
    sa.lastIn = input.data;
    this.sendPhase1(now, encodeIsakmp(this.mmHeader(), reply));
  }

  /** MM5: HDR*, IDii, HASH_I [, N(INITIAL-CONTACT)] — not on a re-authentication, which keeps the children. */
  private sendMm5(now: Instant, input: MainModeInput): void {
    const sa = this.sa;
    if (!keyed(sa)) return;
    const lid = addressIdentity(this.config.local.address, this.config.localId);
    // RFC 2409 §5: IDii for PSK Main Mode; protocol/port per RFC 2407 §4.6.2 (0/0 or UDP/500).
    const id: IdPayload = { kind: 'id', idType: lid.idType, protocolId: 17, port: 500, data: lid.data };
    const extra: IkePayload[] = [];
    if (this.config.initialContact !== false && this.previous === undefined) {
      extra.push({ kind: 'n', doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, notifyType: NotifyType.INITIAL_CONTACT, spi: cookiePair(sa), data: new Uint8Array(0) });
    }
    const s = sealAuthenticated(sa.choice, sa, id, authHash(sa, 'initiator'), extra);
    sa.iv = s.nextIv;
    sa.lastIn = input.data;
    this.sendPhase1(now, s.bytes);
  }

  /** Main Mode done: lifetime, re-authentication, NAT keepalives, DPD; report it. */
  private ikeSaUp(now: Instant, id: IdPayload): void {
    const sa = this.sa;
    if (!chosen(sa)) return;
    const c = sa.choice;
    sa.expiresAt = addDuration(now, seconds(c.lifetimeSeconds));
    sa.dpd.heard(now);
    if (sa.localBehindNat) sa.keepaliveAt = addDuration(now, this.config.natKeepalive ?? seconds(20));
    this.out.emit(ikeSaUp(sa, { idType: id.idType, data: id.data }, sa.natt));
    const frac = this.config.ikeReauthFraction ?? 0.9;
    sa.reauthAt = frac > 0 ? addDuration(now, millis(Math.floor(c.lifetimeSeconds * 1000 * frac))) : undefined;
  }

  /** Re-authenticated: the children move to this IKE SA, the old one is deleted under its own keys. */
  private deletePrevious(): void {
    const prev = this.previous;
    if (prev === undefined) return;
    this.previous = undefined;
    if (this.children.length > 0) this.out.emit({ type: 'children-adopted', ikeSaId: this.sa.id, fromIkeSaId: prev.id, inboundSpis: this.children.map((x) => x.inboundSpi) });
    this.sendInformational(prev, [deleteIkePayload(prev)]);
    this.out.ikeDeleted(prev.id, 'local');
  }

  // ---------------------------------------------------------------- timers

  /** Earliest instant `handleTimeout` has work. */
  pollAt(): Instant | undefined {
    if (this.st === 'mm-idle' || this.st === 'deleted') return undefined;
    const sa = this.sa;
    let t = sa.rtx?.at;
    t = earliest(t, sa.expiresAt);
    if (this.st === 'established') t = earliest(t, sa.reauthAt);
    t = earliest(t, sa.keepaliveAt);
    t = earliest(t, this.dpdDue());
    for (const ex of sa.quick.values()) t = earliest(t, ex.rtx?.at);
    for (const c of this.children) {
      t = earliest(t, c.expiresAt);
      t = earliest(t, c.rekeyAt);
      t = earliest(t, c.deleteAt);
    }
    return t;
  }

  private dpdDue(): Instant | undefined {
    const dpd = this.config.dpd;
    return dpd && this.st === 'established' && this.sa.peerDpd ? this.sa.dpd.due(dpd) : undefined;
  }

  /** Run retransmissions, rekeys, lifetimes, DPD and NAT keepalives due at `now`. */
  handleTimeout(now: Instant): void {
    const sa = this.sa;
    const rtx = retransmitDue(sa.rtx, now, this.rtxMax);
    if (rtx === 'give-up') {
      this.out.failed(sa.id, sa.remote, 'timeout');
      this.mm(now, 'give-up');
      return;
    }
    if (rtx === 'resend') this.mm(now, 'retransmit-timeout');
    if (this.st !== 'established' || !keyed(sa)) return;
    this.quickMode.handleTimeout(now, sa);
    for (const c of [...this.children]) {
      if (c.expiresAt <= now || (c.deleteAt !== undefined && c.deleteAt <= now)) {
        this.endChild(c, c.expiresAt <= now ? 'expired' : 'local');
      } else if (c.rekeyAt !== undefined && c.rekeyAt <= now) {
        // Initiator-driven rekey (the server never rekeys first): a new Quick Mode, make before break.
        c.rekeyAt = undefined;
        this.startChild(now, c.inboundSpi);
      }
    }
    if (sa.reauthAt !== undefined && sa.reauthAt <= now && (sa.expiresAt === undefined || sa.expiresAt > now)) {
      // Not while a Quick Mode is in flight on this SA: try again a second later.
      if (!this.quickMode.busy(sa)) {
        this.mm(now, 'reauth');
        return;
      }
      sa.reauthAt = addDuration(now, seconds(1));
    }
    if (sa.expiresAt !== undefined && sa.expiresAt <= now) {
      this.mm(now, 'lifetime-expired');
      return;
    }
    this.runDpd(now, sa);
    if (sa.keepaliveAt !== undefined && sa.keepaliveAt <= now) {
      // RFC 3948 §2.3: one 0xFF byte from the NAT-T port keeps the NAT mapping alive.
      this.out.send(sa.local, sa.remote, Uint8Array.of(0xff));
      sa.keepaliveAt = addDuration(now, this.config.natKeepalive ?? seconds(20));
    }
  }

  private runDpd(now: Instant, sa: Keyed<InitiatorSa>): void {
    const dpd = this.config.dpd;
    if (!dpd || !sa.peerDpd) return;
    if (runDpd(now, dpd, this.out, sa, (payloads) => this.sendInformational(sa, payloads)) === 'dead') this.mm(now, 'dpd-dead');
  }

  // ---------------------------------------------------------------- helpers

  private mmHeader(): Omit<IsakmpHeader, 'length' | 'nextPayload' | 'version'> {
    return { icookie: this.sa.icookie, rcookie: this.sa.rcookie, exchangeType: ExchangeType.IDENTITY_PROTECTION, flags: 0, messageId: 0 };
  }

  /** A child SA ends: out of the list, D(ESP) when `tell` and the IKE SA is up, `sa-deleted`. */
  private endChild(c: InitiatorChild, reason: DeleteReason, tell = true): void {
    this.children.splice(this.children.indexOf(c), 1);
    if (tell && this.st === 'established') this.sendInformational(this.sa, [deleteEspPayload(c.inboundSpi)]);
    this.out.childDeleted(this.sa.id, c, reason);
  }

  private drop(reason: DeleteReason): void {
    const sa = this.sa;
    for (const c of this.children.splice(0)) this.out.childDeleted(sa.id, c, reason === 'local' ? 'local' : 'ike-sa-gone');
    sa.quick.clear();
    sa.rtx = undefined;
    sa.keepaliveAt = undefined;
    sa.expiresAt = undefined;
    sa.reauthAt = undefined;
    this.previous = undefined;
    this.out.ikeDeleted(sa.id, reason);
  }

  /** Send a Main Mode message, remember it and arm its retransmission. */
  private sendPhase1(now: Instant, bytes: Uint8Array): void {
    const sa = this.sa;
    sa.lastOut = this.out.frame(sa.local, bytes);
    sa.rtx = armRetransmit(now, this.rtxInitial);
    this.out.send(sa.local, sa.remote, sa.lastOut);
  }

  /**
   * A protected informational exchange (RFC 2409 §5.7): HDR*, HASH(1), N/D — on the current IKE SA,
   * or on the one a re-authentication replaces (under its keys, to the current endpoints).
   */
  private sendInformational(on: InitiatorSa, payloads: readonly IkePayload[]): void {
    if (!keyed(on)) return;
    const mid = freshMessageId(this.random, (m) => this.sa.quick.has(m));
    const cur = this.sa;
    this.out.send(cur.local, cur.remote, this.out.frame(cur.local, sealInformational(on, mid, payloads)));
  }
}
