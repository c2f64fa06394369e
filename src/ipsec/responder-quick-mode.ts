/**
 * The responder's Quick Mode (RFC 2409 §5.5) on one established IKE SA: QM1 is judged here (HASH(1),
 * ESP proposal, PFS, L2TP/IPsec selectors of RFC 3193 §4), then the row of `QUICK_MODE_TABLE`
 * (responder-fsm.ts) answers QM2, refuses with a protected notify, or installs the child SA on QM3.
 * The exchanges live on the IKE SA (one per Message ID); `IkeResponder` owns everything else.
 */
import { addDuration, type Duration, type Instant, type RandomSource, seconds } from '../base/index.js';
import { ExchangeType, type IkePayload, type IsakmpHeader, NotifyType, ProtocolId } from '../wire/ike/index.js';
import type { Endpoint } from './addr.js';
import { generateDh } from './dh.js';
import type { DpdState } from './dpd.js';
import { openHashed, phase2IvOf, sealHashed, type Phase1Keys } from './ike-crypto.js';
import { armRetransmit, equalBytes, freshSpi, runExchangeTimers, type IkeOutput, type Retransmit } from './ike-exchange.js';
import type { ChildSaUp, IkeDatagram } from './ike-types.js';
import { notifyPayload } from './informational.js';
import { qmHash1, qmHash2, qmHash3 } from './keys.js';
import { type PeerVendorIds, readNatOa } from './natt.js';
import { selectPhase2, type IkePolicy } from './proposals.js';
import { childSaKeys, l2tpSelectors, qm2Payloads, readQuickMode } from './quick-mode.js';
import { quickModeTransition, type QuickModeAction, type QuickModeEvent, type QuickModeState } from './responder-fsm.js';

/** An installed child SA of a responder IKE SA. */
export interface ResponderChild {
  readonly inboundSpi: number;
  readonly outboundSpi: number;
  readonly expiresAt: Instant;
}

/** A child SA negotiated by QM2, installed when QM3 arrives. */
type PendingChild = Omit<ChildSaUp, 'type' | 'local' | 'remote'>;

/** One responder Quick Mode exchange (one Message ID). */
export interface ResponderQuickExchange {
  readonly mid: number;
  state: QuickModeState;
  iv: Uint8Array;
  readonly lastIn: Uint8Array;
  lastOut: Uint8Array | undefined;
  rtx: Retransmit | undefined;
  readonly ni: Uint8Array;
  nr: Uint8Array;
  pending: PendingChild | undefined;
}

/** What Quick Mode reads and writes of an established responder IKE SA. */
export interface ResponderQuickSa extends Phase1Keys {
  readonly id: number;
  local: Endpoint;
  remote: Endpoint;
  readonly vendor: PeerVendorIds;
  readonly localBehindNat: boolean;
  readonly remoteBehindNat: boolean;
  readonly quick: Map<number, ResponderQuickExchange>;
  readonly children: ResponderChild[];
  readonly dpd: DpdState;
}

/** What Quick Mode needs of the responder. */
export interface ResponderQuickHost {
  readonly out: IkeOutput;
  readonly random: RandomSource;
  /** Our inbound SPIs in use or reserved (unique across all IKE SAs). */
  readonly spis: Set<number>;
  readonly rtxInitial: Duration;
  readonly rtxMax: number;
  readonly l2tpPort: number;
  /** Accept protocol-115 selectors too (L2TPv3 over IP). */
  readonly l2tpIp: boolean;
  policyFor(remote: Endpoint): IkePolicy;
  /** A protected informational exchange on `sa` (RFC 2409 §5.7). */
  sendInformational(sa: ResponderQuickSa, payloads: readonly IkePayload[]): void;
  /** RFC 3947 §4: an authenticated message came from `d`; move the IKE SA there if it moved. */
  updateEndpoints(sa: ResponderQuickSa, d: IkeDatagram): void;
}

/** What a received message hands to its row's actions. */
interface QmInput {
  readonly d?: IkeDatagram;
  /** QM2 payloads after HASH(2). */
  readonly reply?: readonly IkePayload[];
  /** The SPI a refusal notify names. */
  readonly spi?: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/** The responder's Quick Mode exchanges (state lives on each IKE SA). */
export class ResponderQuickMode {
  constructor(private readonly host: ResponderQuickHost) {}

  /** A Quick Mode message for `sa`: a duplicate (answered from the last response), QM3, or a new QM1. */
  handle(now: Instant, sa: ResponderQuickSa, d: IkeDatagram, data: Uint8Array, h: IsakmpHeader, body: Uint8Array): void {
    const ex = sa.quick.get(h.messageId);
    if (ex) {
      if (equalBytes(ex.lastIn, data)) {
        if (ex.lastOut) this.host.out.send(d.local, d.remote, ex.lastOut);
        return;
      }
      if (ex.state === 'qm-r1-sent') this.handleQm3(now, sa, ex, d, h, body);
      return;
    }
    if (h.messageId === 0) return;
    this.handleQm1(now, sa, d, data, h, body);
  }

  /** Whether `spi` is our inbound SPI of an exchange that has sent QM2 but not seen QM3. */
  expects(sa: { readonly quick: Map<number, ResponderQuickExchange> }, spi: number): boolean {
    for (const ex of sa.quick.values()) if (ex.state === 'qm-r1-sent' && ex.pending?.inbound.spi === spi) return true;
    return false;
  }

  /** The SPIs reserved by exchanges that never finished (released when their IKE SA goes). */
  reservedSpis(sa: { readonly quick: Map<number, ResponderQuickExchange> }): number[] {
    return [...sa.quick.values()].flatMap((ex) => (ex.state !== 'qm-done' && ex.pending ? [ex.pending.inbound.spi] : []));
  }

  /** Retransmit QM2 or give up (RFC 2408 §5); keep up to 32 finished exchanges answerable. */
  handleTimeout(now: Instant, sa: ResponderQuickSa): void {
    const gaveUp = (): void => this.host.out.failed(sa.id, sa.remote, 'timeout');
    runExchangeTimers(sa.quick, now, this.host.rtxMax, 32, (ex, event) => this.step(now, sa, ex, event), gaveUp);
  }

  private handleQm1(now: Instant, sa: ResponderQuickSa, d: IkeDatagram, data: Uint8Array, h: IsakmpHeader, body: Uint8Array): void {
    const { out } = this.host;
    const mid = h.messageId;
    const p = openHashed(sa, phase2IvOf(sa, mid), h, body);
    if (!p.ok) {
      out.failed(sa.id, d.remote, 'malformed');
      return;
    }
    if (!equalBytes(p.value.hash, qmHash1(sa.choice.hash, sa.keys.a, mid, p.value.after))) {
      out.failed(sa.id, d.remote, 'bad-hash', NotifyType.INVALID_HASH_INFORMATION);
      return;
    }
    const q = readQuickMode(p.value.opened.payloads);
    const ex: ResponderQuickExchange = { mid, state: 'qm-start', iv: p.value.opened.nextIv, lastIn: data, lastOut: undefined, rtx: undefined, ni: q.nonce ?? EMPTY, nr: EMPTY, pending: undefined };
    sa.quick.set(mid, ex);
    this.host.updateEndpoints(sa, d);
    sa.dpd.heard(now);
    if (!q.sa || ex.ni.length < 8 || (q.ids.length !== 0 && q.ids.length !== 2)) {
      out.failed(sa.id, d.remote, 'malformed', NotifyType.PAYLOAD_MALFORMED);
      this.step(now, sa, ex, 'bad-qm1');
      return;
    }
    const nat = sa.localBehindNat || sa.remoteBehindNat;
    const choice = selectPhase2(q.sa, this.host.policyFor(sa.remote), { detected: nat, negotiated: sa.vendor.natt !== 'none' });
    if (!choice || (choice.pfsGroup !== undefined && !q.ke)) {
      this.step(now, sa, ex, 'no-proposal', { spi: q.sa.proposals[0]?.spi ?? EMPTY });
      out.failed(sa.id, d.remote, 'no-proposal', NotifyType.NO_PROPOSAL_CHOSEN);
      return;
    }
    const sel = l2tpSelectors({ local: sa.local, remote: sa.remote, nat, localBehindNat: sa.localBehindNat, l2tpPort: this.host.l2tpPort, l2tpIp: this.host.l2tpIp }, q.ids);
    if (!sel) {
      this.step(now, sa, ex, 'bad-id', { spi: choice.proposal.spi });
      out.failed(sa.id, d.remote, 'invalid-id', NotifyType.INVALID_ID_INFORMATION);
      return;
    }
    let gxy: Uint8Array | undefined;
    let ourKe: Uint8Array | undefined;
    if (choice.pfsGroup !== undefined && q.ke) {
      const dh = generateDh(choice.pfsGroup, this.host.random);
      const s = dh.computeShared(q.ke);
      if (!s.ok) {
        this.step(now, sa, ex, 'bad-qm1');
        out.failed(sa.id, d.remote, 'bad-ke', NotifyType.INVALID_KEY_INFORMATION);
        return;
      }
      gxy = s.value;
      ourKe = dh.publicValue;
    }
    const spis = this.host.spis;
    const ourSpi = freshSpi(this.host.random, (spi) => spis.has(spi));
    spis.add(ourSpi);
    ex.nr = this.host.random.bytes(32);
    const natOa = q.natOa && choice.encapsulation === 'udp-transport'
      ? { variant: sa.vendor.natt === 'rfc3947' ? 'rfc3947' as const : 'draft' as const, initiator: sa.remote.address, responder: sa.local.address }
      : undefined;
    this.step(now, sa, ex, 'recv-qm1', { d, reply: qm2Payloads({ offer: q.sa, choice, spi: ourSpi, nonce: ex.nr, ke: ourKe, ids: q.ids, natOa }) });
    const kb = choice.lifetimeKilobytes;
    ex.pending = {
      ikeSaId: sa.id,
      ...childSaKeys({ hash: sa.choice.hash, skeyidD: sa.keys.d, choice, ni: ex.ni, nr: ex.nr, gxy, inboundSpi: ourSpi, outboundSpi: choice.peerSpi, kilobytes: kb }),
      encapsulation: choice.encapsulation,
      localSelector: sel.local,
      remoteSelector: sel.remote,
      natOa: readNatOa(p.value.opened.payloads),
      pfsGroup: choice.pfsGroup,
      lifetimeSeconds: choice.lifetimeSeconds,
      ...(kb !== undefined ? { lifetimeKilobytes: kb } : {}),
    };
  }

  private handleQm3(now: Instant, sa: ResponderQuickSa, ex: ResponderQuickExchange, d: IkeDatagram, h: IsakmpHeader, body: Uint8Array): void {
    const o = openHashed(sa, ex.iv, h, body);
    if (!o.ok || !equalBytes(o.value.hash, qmHash3(sa.choice.hash, sa.keys.a, ex.mid, ex.ni, ex.nr))) {
      this.host.out.failed(sa.id, d.remote, 'bad-hash', NotifyType.INVALID_HASH_INFORMATION);
      return;
    }
    if (ex.pending) this.step(now, sa, ex, 'recv-qm3', { d });
  }

  /** Run one Quick Mode step: look up the row, enter the new state, run its actions. */
  private step(now: Instant, sa: ResponderQuickSa, ex: ResponderQuickExchange, event: QuickModeEvent, input: QmInput = {}): void {
    const row = quickModeTransition(ex.state, event);
    if (row === undefined) return;
    ex.state = row.to;
    for (const action of row.actions) this.act(now, sa, ex, action, input);
  }

  private act(now: Instant, sa: ResponderQuickSa, ex: ResponderQuickExchange, action: QuickModeAction, input: QmInput): void {
    const { out } = this.host;
    switch (action) {
      case 'send-qm2': {
        if (!input.d || !input.reply) return;
        const mac = (after: Uint8Array): Uint8Array => qmHash2(sa.choice.hash, sa.keys.a, ex.mid, ex.ni, after);
        const sealed = sealHashed(sa, ex.iv, ExchangeType.QUICK_MODE, ex.mid, input.reply, mac);
        ex.iv = sealed.nextIv;
        ex.lastOut = out.frame(input.d.local, sealed.bytes);
        ex.rtx = armRetransmit(now, this.host.rtxInitial);
        out.send(input.d.local, input.d.remote, ex.lastOut);
        return;
      }
      case 'notify-no-proposal-chosen':
      case 'notify-invalid-id': {
        const type = action === 'notify-invalid-id' ? NotifyType.INVALID_ID_INFORMATION : NotifyType.NO_PROPOSAL_CHOSEN;
        this.host.sendInformational(sa, [notifyPayload(type, ProtocolId.ESP, input.spi ?? EMPTY)]);
        return;
      }
      case 'install-child': {
        const pending = ex.pending;
        ex.rtx = undefined;
        if (!pending) return;
        if (input.d) this.host.updateEndpoints(sa, input.d);
        sa.dpd.heard(now);
        sa.children.push({ inboundSpi: pending.inbound.spi, outboundSpi: pending.outbound.spi, expiresAt: addDuration(now, seconds(pending.lifetimeSeconds)) });
        out.emit({ type: 'child-sa-up', ...pending, local: sa.local, remote: sa.remote });
        return;
      }
      case 'resend':
        out.resend(now, sa, ex);
        return;
      case 'forget':
        ex.rtx = undefined;
        this.host.spis.delete(ex.pending?.inbound.spi ?? 0);
        return;
    }
  }
}
