/**
 * Protected informational exchanges of IKEv1 (RFC 2409 §5.7: HDR*, HASH(1), N/D) for both roles:
 * sealing one, opening one into typed items (notify, delete, DPD), and the payloads we send —
 * delete (RFC 2408 §3.15), notify (§3.14), R-U-THERE / R-U-THERE-ACK (RFC 3706 §5).
 */
import { err, ok, type Result } from '../base/index.js';
import { DOI_IPSEC, ExchangeType, type IkePayload, type IsakmpHeader, NotifyType, ProtocolId } from '../wire/ike/index.js';
import { openHashed, phase2IvOf, sealHashed, type Phase1Keys } from './ike-crypto.js';
import { cookiePair, equalBytes, readU32, spiBytes } from './ike-exchange.js';
import type { DpdState } from './dpd.js';
import { qmHash1 } from './keys.js';

/** A notify payload (RFC 2408 §3.14). */
export const notifyPayload = (notifyType: number, protocolId: number, spi: Uint8Array, data: Uint8Array = new Uint8Array(0)): IkePayload => ({
  kind: 'n', doi: DOI_IPSEC, protocolId, notifyType, spi, data,
});

/** D(ISAKMP) of the IKE SA with these cookies (RFC 2408 §3.15: SPI = CKY-I | CKY-R). */
export const deleteIkePayload = (sa: { readonly icookie: Uint8Array; readonly rcookie: Uint8Array }): IkePayload => ({
  kind: 'd', doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, spiSize: 16, spis: [cookiePair(sa)],
});

/** D(ESP) of one SA, named by the SPI we receive on (RFC 2408 §3.15). */
export const deleteEspPayload = (inboundSpi: number): IkePayload => ({
  kind: 'd', doi: DOI_IPSEC, protocolId: ProtocolId.ESP, spiSize: 4, spis: [spiBytes(inboundSpi)],
});

/** RFC 3706 §5: R-U-THERE (`seq` a number) or R-U-THERE-ACK (`seq` echoed bytes) on the ISAKMP SA. */
export const dpdPayload = (sa: { readonly icookie: Uint8Array; readonly rcookie: Uint8Array }, type: 'r-u-there' | 'ack', seq: number | Uint8Array): IkePayload =>
  notifyPayload(type === 'ack' ? NotifyType.R_U_THERE_ACK : NotifyType.R_U_THERE, ProtocolId.ISAKMP, cookiePair(sa), typeof seq === 'number' ? spiBytes(seq) : seq);

/** HDR*, HASH(1), payloads with Message ID `mid` (RFC 2409 §5.7). */
export function sealInformational(p: Phase1Keys, mid: number, payloads: readonly IkePayload[]): Uint8Array {
  return sealHashed(p, phase2IvOf(p, mid), ExchangeType.INFORMATIONAL, mid, payloads, (after) => qmHash1(p.choice.hash, p.keys.a, mid, after)).bytes;
}

/** One thing a verified informational exchange said, in message order. */
export type InformationalItem =
  /** RFC 3706 §5.3: answer with the same sequence bytes. */
  | { readonly kind: 'r-u-there'; readonly seq: Uint8Array }
  | { readonly kind: 'r-u-there-ack'; readonly seq: number }
  /** RFC 2407 §4.6.3.3. */
  | { readonly kind: 'initial-contact' }
  /** An error notify (types below 8192, RFC 2408 §3.14.1); `spi` when it names a 4-byte SPI. */
  | { readonly kind: 'error'; readonly notifyType: number; readonly spi: number | undefined }
  /** D(ISAKMP) of this very IKE SA; nothing after it is read. */
  | { readonly kind: 'delete-ike' }
  /** D(ESP) with these SPIs (either end's, RFC 2408 §3.15). */
  | { readonly kind: 'delete-esp'; readonly spis: readonly number[] };

/** Why an informational exchange was not read: it did not decrypt/parse, or HASH(1) is wrong or missing. */
export type InformationalError = 'undecryptable' | 'bad-hash';

/** Decrypt and verify HASH(1) (RFC 2409 §5.7), then read the notify and delete payloads in order. */
export function openInformational(p: Phase1Keys, h: IsakmpHeader, body: Uint8Array): Result<InformationalItem[], InformationalError> {
  const o = openHashed(p, phase2IvOf(p, h.messageId), h, body);
  if (!o.ok) return err(o.error === 'undecryptable' ? 'undecryptable' : 'bad-hash');
  if (!equalBytes(o.value.hash, qmHash1(p.choice.hash, p.keys.a, h.messageId, o.value.after))) return err('bad-hash');
  const items: InformationalItem[] = [];
  for (const x of o.value.opened.payloads) {
    if (x.kind === 'n') {
      if (x.notifyType === NotifyType.R_U_THERE && x.data.length === 4) items.push({ kind: 'r-u-there', seq: x.data });
      else if (x.notifyType === NotifyType.R_U_THERE_ACK && x.data.length === 4) items.push({ kind: 'r-u-there-ack', seq: readU32(x.data) });
      else if (x.notifyType === NotifyType.INITIAL_CONTACT) items.push({ kind: 'initial-contact' });
      else if (x.notifyType < 8192) items.push({ kind: 'error', notifyType: x.notifyType, spi: x.spi.length === 4 ? readU32(x.spi) : undefined });
    } else if (x.kind === 'd') {
      if (x.protocolId === ProtocolId.ISAKMP) {
        if (x.spis.some((s) => s.length === 16 && equalBytes(s.subarray(0, 8), p.icookie) && equalBytes(s.subarray(8), p.rcookie))) {
          items.push({ kind: 'delete-ike' });
          break;
        }
      } else if (x.protocolId === ProtocolId.ESP && x.spiSize === 4) {
        items.push({ kind: 'delete-esp', spis: x.spis.map(readU32) });
      }
    }
  }
  return ok(items);
}

/** What a role does with the items of a verified informational exchange that differ between roles. */
export interface InformationalRole<C extends { readonly inboundSpi: number; readonly outboundSpi: number }> {
  /** Send protected informational payloads on the IKE SA (the R-U-THERE-ACK). */
  send(payloads: readonly IkePayload[]): void;
  /** RFC 2407 §4.6.3.3 INITIAL-CONTACT. */
  initialContact(): void;
  /** An error notify (RFC 2408 §3.14.1) naming `spi` when it carries a 4-byte SPI. */
  error(notifyType: number, spi: number | undefined): void;
  /** D(ISAKMP) of this IKE SA; nothing after it is acted on. */
  deleteIke(): void;
  /** The child SAs a D(ESP) may name, and what to do with each one it names. */
  readonly children: readonly C[];
  childDeleted(c: C): void;
}

/**
 * Act on the items in message order: RFC 3706 §5.3 R-U-THERE is answered with the same sequence
 * number and an ACK ends the probe round; a D(ESP) SPI may be either end's (RFC 2408 §3.15), so it
 * matches a child by its inbound or its outbound SPI. The rest is the role's.
 */
export function applyInformational<C extends { readonly inboundSpi: number; readonly outboundSpi: number }>(
  items: readonly InformationalItem[], sa: { readonly icookie: Uint8Array; readonly rcookie: Uint8Array; readonly dpd: DpdState }, role: InformationalRole<C>,
): void {
  for (const x of items) {
    switch (x.kind) {
      case 'r-u-there':
        role.send([dpdPayload(sa, 'ack', x.seq)]);
        break;
      case 'r-u-there-ack':
        sa.dpd.ack(x.seq);
        break;
      case 'initial-contact':
        role.initialContact();
        break;
      case 'error':
        role.error(x.notifyType, x.spi);
        break;
      case 'delete-ike':
        role.deleteIke();
        return;
      case 'delete-esp':
        for (const spi of x.spis) {
          const c = role.children.find((ch) => ch.outboundSpi === spi || ch.inboundSpi === spi);
          if (c) role.childDeleted(c);
        }
        break;
    }
  }
}
