/**
 * The initiator's Quick Mode (RFC 2409 §5.5, RFC 3193 §4) on its established IKE SA: QM1 offers one
 * transport-mode ESP SA for UDP 1701 (a first child or a rekey, make before break), QM2 is judged
 * here (HASH(2), the chosen transform and mode must be ours, PFS), then the row of
 * `QUICK_MODE_INIT_TABLE` (initiator-fsm.ts) sends QM3 and installs the child SA.
 */
import { addDuration, type Duration, type Instant, millis, type RandomSource, seconds } from '../base/index.js';
import { EncapMode, ExchangeType, type IkePayload, type IsakmpHeader, NotifyType } from '../wire/ike/index.js';
import type { Endpoint } from './addr.js';
import { generateDh, type DhGroupNumber, type DhKeyPair } from './dh.js';
import type { DpdState } from './dpd.js';
import { openHashed, phase2IvOf, sealHashed, type Phase1Keys } from './ike-crypto.js';
import { armRetransmit, equalBytes, freshMessageId, freshSpi, runExchangeTimers, type IkeOutput, type Retransmit } from './ike-exchange.js';
import type { NatVariant } from './ike-types.js';
import { quickModeInitTransition, type QuickModeInitAction, type QuickModeInitEvent, type QuickModeInitState } from './initiator-fsm.js';
import { qmHash1, qmHash2, qmHash3 } from './keys.js';
import { readNatOa } from './natt.js';
import { readResponderLifetime, selectPhase2, type IkePolicy, type Phase2Choice, type Phase2Lifetimes } from './proposals.js';
import { childSaKeys, qm1Payloads, readQuickMode, type SelectorProtocol } from './quick-mode.js';
import type { Phase2Offer } from './sa-payloads.js';

/** An installed child SA of the initiator (kept across IKE re-authentication). */
export interface InitiatorChild {
  readonly inboundSpi: number;
  readonly outboundSpi: number;
  readonly lifetimeSeconds: number;
  readonly expiresAt: Instant;
  rekeyAt: Instant | undefined;
  /** Set once replaced by a newer child: we delete it then. */
  deleteAt: Instant | undefined;
}

/** One initiator Quick Mode exchange (one Message ID). */
export interface InitiatorQuickExchange {
  readonly mid: number;
  state: QuickModeInitState;
  iv: Uint8Array;
  readonly ni: Uint8Array;
  readonly spi: number;
  readonly dh: DhKeyPair | undefined;
  /** RFC 2407 §4.5 / RFC 3947 §5.1 encapsulation mode we offered. */
  readonly encap: number;
  lastIn: Uint8Array | undefined;
  lastOut: Uint8Array;
  rtx: Retransmit | undefined;
  /** Inbound SPI of the child this exchange replaces (rekey). */
  readonly replaces: number | undefined;
}

/** What Quick Mode reads of the initiator's established IKE SA. */
export interface InitiatorQuickSa extends Phase1Keys {
  readonly id: number;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly natt: NatVariant;
  readonly localBehindNat: boolean;
  readonly remoteBehindNat: boolean;
  readonly quick: Map<number, InitiatorQuickExchange>;
  readonly dpd: DpdState;
}

/** The initiator's Quick Mode settings (resolved defaults of `IkeInitiatorConfig`). */
export interface InitiatorQuickSettings {
  readonly offers: readonly Phase2Offer[];
  /** The policy that accepts exactly what we offered. */
  readonly offered: IkePolicy;
  readonly pfsGroup: DhGroupNumber | undefined;
  readonly lifetimeSeconds: number;
  readonly lifetimeKilobytes: number | undefined;
  readonly rekeyFraction: number;
  readonly rekeyOverlap: Duration;
  /** IDci: our address and L2TP port; IDcr: the server's (RFC 3193 §4). */
  readonly idci: Endpoint;
  readonly idcr: Endpoint;
  /** The protocol of IDci/IDcr: 17 (UDP, default) or 115 (L2TPv3 over IP). */
  readonly protocol: SelectorProtocol;
}

/** What Quick Mode needs of the initiator. */
export interface InitiatorQuickHost {
  readonly out: IkeOutput;
  readonly random: RandomSource;
  readonly rtxInitial: Duration;
  readonly rtxMax: number;
  readonly settings: InitiatorQuickSettings;
  /** The child SAs, oldest first (mutated in place). */
  readonly children: InitiatorChild[];
}

/** What a judged QM2 hands to its row's actions. */
interface Qm2Input {
  readonly data: Uint8Array;
  /** The IV after QM2 (its last cipher block). */
  readonly iv: Uint8Array;
  readonly nr: Uint8Array;
  readonly choice: Phase2Choice;
  readonly gxy: Uint8Array | undefined;
  readonly payloads: readonly IkePayload[];
}

/** The initiator's Quick Mode exchanges (state lives on the IKE SA). */
export class InitiatorQuickMode {
  constructor(private readonly host: InitiatorQuickHost) {}

  /** Start a Quick Mode for a new child SA (the first one, or a rekey of `replaces`). */
  start(now: Instant, sa: InitiatorQuickSa, replaces?: number): void {
    const { random, settings: s, children } = this.host;
    const mid = freshMessageId(random, (m) => sa.quick.has(m));
    const spi = freshSpi(random, (x) => children.some((c) => c.inboundSpi === x));
    const ni = random.bytes(32);
    const udp = sa.localBehindNat || sa.remoteBehindNat;
    const encap = udp ? (sa.natt === 'draft' ? EncapMode.UDP_TRANSPORT_DRAFT : EncapMode.UDP_TRANSPORT) : EncapMode.TRANSPORT;
    const dh = s.pfsGroup === undefined ? undefined : generateDh(s.pfsGroup, random);
    const ex: InitiatorQuickExchange = { mid, state: 'qm-idle', iv: new Uint8Array(0), ni, spi, dh, encap, lastIn: undefined, lastOut: new Uint8Array(0), rtx: undefined, replaces };
    sa.quick.set(mid, ex);
    this.step(now, sa, ex, 'start');
  }

  /** Whether a Quick Mode is still in flight (no re-authentication meanwhile). */
  busy(sa: { readonly quick: Map<number, InitiatorQuickExchange> }): boolean {
    return [...sa.quick.values()].some((ex) => ex.state !== 'qm-done' && ex.state !== 'qm-failed');
  }

  /** RFC 2408 §5.3: the server refused a Quick Mode of ours (matched by our SPI in the notify, or all). */
  refused(now: Instant, sa: InitiatorQuickSa, spi: number | undefined): void {
    for (const ex of sa.quick.values()) if (ex.state === 'qm-i1-sent' && (spi === undefined || spi === ex.spi)) this.step(now, sa, ex, 'recv-notify');
  }

  /** QM2 (or a retransmitted one after QM3, answered with QM3 again, RFC 2408 §5). */
  handle(now: Instant, sa: InitiatorQuickSa, data: Uint8Array, h: IsakmpHeader, body: Uint8Array): void {
    const ex = sa.quick.get(h.messageId);
    if (!ex) return;
    if (ex.state === 'qm-done') {
      if (ex.lastIn && equalBytes(ex.lastIn, data)) this.host.out.send(sa.local, sa.remote, ex.lastOut);
      return;
    }
    if (ex.state !== 'qm-i1-sent') return;
    const o = openHashed(sa, ex.iv, h, body);
    if (!o.ok || o.value.opened.raws.length < 2) return;
    // RFC 2409 §5.5 HASH(2) = prf(SKEYID_a, M-ID | Ni_b | <payloads after HASH>).
    if (!equalBytes(o.value.hash, qmHash2(sa.choice.hash, sa.keys.a, ex.mid, ex.ni, o.value.after))) {
      this.host.out.failed(sa.id, sa.remote, 'bad-hash', NotifyType.INVALID_HASH_INFORMATION);
      return;
    }
    const ps = o.value.opened.payloads;
    const q = readQuickMode(ps);
    const pfs = this.host.settings.pfsGroup;
    const udp = ex.encap !== EncapMode.TRANSPORT;
    const choice = q.sa ? selectPhase2(q.sa, this.host.settings.offered, { detected: udp, negotiated: sa.natt !== 'none' }) : undefined;
    const chosenMode = choice ? choice.encapsulation === 'udp-transport' : !udp;
    let gxy: Uint8Array | undefined;
    if (choice && pfs !== undefined) {
      const s = q.ke && ex.dh ? ex.dh.computeShared(q.ke) : undefined;
      gxy = s && s.ok ? s.value : undefined;
    }
    if (!choice || !q.nonce || q.nonce.length < 8 || chosenMode !== udp || choice.peerSpi < 0x100 || (pfs !== undefined && !gxy)) {
      this.step(now, sa, ex, 'bad-qm2');
      this.host.out.failed(sa.id, sa.remote, 'no-proposal', NotifyType.NO_PROPOSAL_CHOSEN);
      return;
    }
    this.step(now, sa, ex, 'recv-qm2', { data, iv: o.value.opened.nextIv, nr: q.nonce, choice, gxy, payloads: ps });
  }

  /** Retransmit QM1 or give up (RFC 2408 §5); keep up to 16 finished exchanges answerable. */
  handleTimeout(now: Instant, sa: InitiatorQuickSa): void {
    const gaveUp = (): void => this.host.out.failed(sa.id, sa.remote, 'timeout');
    runExchangeTimers(sa.quick, now, this.host.rtxMax, 16, (ex, event) => this.step(now, sa, ex, event), gaveUp);
  }

  /** Run one Quick Mode step: look up the row, enter the new state, run its actions. */
  private step(now: Instant, sa: InitiatorQuickSa, ex: InitiatorQuickExchange, event: QuickModeInitEvent, input?: Qm2Input): void {
    const row = quickModeInitTransition(ex.state, event);
    if (row === undefined) return;
    ex.state = row.to;
    for (const action of row.actions) this.act(now, sa, ex, action, input);
  }

  private act(now: Instant, sa: InitiatorQuickSa, ex: InitiatorQuickExchange, action: QuickModeInitAction, input: Qm2Input | undefined): void {
    const { out } = this.host;
    switch (action) {
      case 'send-qm1':
        this.sendQm1(now, sa, ex);
        return;
      case 'send-qm3': {
        if (!input) return;
        const h3 = qmHash3(sa.choice.hash, sa.keys.a, ex.mid, ex.ni, input.nr);
        const sealed = sealHashed(sa, input.iv, ExchangeType.QUICK_MODE, ex.mid, [], () => h3);
        ex.iv = sealed.nextIv;
        ex.rtx = undefined;
        ex.lastIn = input.data;
        ex.lastOut = out.frame(sa.local, sealed.bytes);
        out.send(sa.local, sa.remote, ex.lastOut);
        return;
      }
      case 'install-child':
        if (input) this.installChild(now, sa, ex, input);
        return;
      case 'resend':
        out.resend(now, sa, ex);
        return;
      case 'forget':
        ex.rtx = undefined;
        return;
    }
  }

  /** QM1: HDR*, HASH(1), SA, Ni, [KE], IDci, IDcr, [NAT-OAi, NAT-OAr]; retransmitted until QM2. */
  private sendQm1(now: Instant, sa: InitiatorQuickSa, ex: InitiatorQuickExchange): void {
    const s = this.host.settings;
    const udp = sa.localBehindNat || sa.remoteBehindNat;
    const ps = qm1Payloads({
      offers: s.offers, spi: ex.spi, encapsulation: ex.encap, lifetimeSeconds: s.lifetimeSeconds, lifetimeKilobytes: s.lifetimeKilobytes, pfsGroup: s.pfsGroup,
      nonce: ex.ni, ke: ex.dh?.publicValue, local: s.idci, remote: s.idcr, protocol: s.protocol,
      // RFC 3947 §5.2: in transport mode both original addresses are sent.
      natOa: udp ? (sa.natt === 'draft' ? 'draft' : 'rfc3947') : undefined,
    });
    const sealed = sealHashed(sa, phase2IvOf(sa, ex.mid), ExchangeType.QUICK_MODE, ex.mid, ps, (after) => qmHash1(sa.choice.hash, sa.keys.a, ex.mid, after));
    ex.iv = sealed.nextIv;
    ex.lastOut = this.host.out.frame(sa.local, sealed.bytes);
    ex.rtx = armRetransmit(now, this.host.rtxInitial);
    this.host.out.send(sa.local, sa.remote, ex.lastOut);
  }

  /** KEYMAT, lifetimes (ours, the server's choice and its RESPONDER-LIFETIME), the child, `child-sa-up`. */
  private installChild(now: Instant, sa: InitiatorQuickSa, ex: InitiatorQuickExchange, q: Qm2Input): void {
    const s = this.host.settings;
    const choice = q.choice;
    // RFC 2407 §4.6.3.1: a RESPONDER-LIFETIME notify lowers the lifetimes the echoed transform carries.
    let told: Partial<Phase2Lifetimes> = {};
    for (const p of q.payloads) if (p.kind === 'n') told = readResponderLifetime(p) ?? told;
    // RFC 2407 §4.5: the responder may lower our byte lifetime; we never accept a longer one.
    const kbs = [choice.lifetimeKilobytes, s.lifetimeKilobytes, told.kilobytes].filter((x): x is number => x !== undefined && x > 0);
    const lifeKb = kbs.length > 0 ? Math.min(...kbs) : undefined;
    const keys = childSaKeys({
      hash: sa.choice.hash, skeyidD: sa.keys.d, choice, ni: ex.ni, nr: q.nr, gxy: q.gxy, inboundSpi: ex.spi, outboundSpi: choice.peerSpi,
      kilobytes: lifeKb, softFraction: s.rekeyFraction,
    });
    const life = Math.min(choice.lifetimeSeconds, s.lifetimeSeconds, told.seconds ?? Infinity);
    const children = this.host.children;
    children.push({
      inboundSpi: ex.spi,
      outboundSpi: choice.peerSpi,
      lifetimeSeconds: life,
      expiresAt: addDuration(now, seconds(life)),
      rekeyAt: addDuration(now, millis(Math.floor(life * 1000 * s.rekeyFraction))),
      deleteAt: undefined,
    });
    sa.dpd.heard(now);
    this.host.out.emit({
      type: 'child-sa-up',
      ikeSaId: sa.id,
      ...keys,
      encapsulation: choice.encapsulation,
      local: sa.local,
      remote: sa.remote,
      localSelector: { address: s.idci.address, protocol: s.protocol, port: s.protocol === 17 ? s.idci.port : 0 },
      remoteSelector: { address: s.idcr.address, protocol: s.protocol, port: s.protocol === 17 ? s.idcr.port : 0 },
      natOa: readNatOa(q.payloads),
      pfsGroup: choice.pfsGroup,
      lifetimeSeconds: life,
      ...(lifeKb !== undefined ? { lifetimeKilobytes: lifeKb } : {}),
    });
    if (ex.replaces !== undefined) {
      const old = children.find((x) => x.inboundSpi === ex.replaces);
      if (old) old.deleteAt = addDuration(now, s.rekeyOverlap);
    }
  }
}
