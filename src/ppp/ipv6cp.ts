/**
 * IPV6CP option judgements (RFC 5072 §4): Interface-Identifier (1). IPv6-Compression-Protocol (2)
 * and anything unknown are Configure-Rejected.
 */
import { bytesEqual, type RandomSource, toHex } from '../base/index.js';
import type { CpOption } from '../wire/ppp/index.js';
import type { OptionHandler, OptionVerdict } from './option-fsm.js';

/** IPV6CP option types. */
export const Ipv6cpOption = { InterfaceIdentifier: 1, IPv6Compression: 2 } as const;

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

/** "fe80::xxxx:xxxx:xxxx:xxxx" for an 8-octet interface identifier. */
export function linkLocalAddress(iid: Uint8Array): string {
  const h = toHex(iid).padStart(16, '0');
  const groups = [h.slice(0, 4), h.slice(4, 8), h.slice(8, 12), h.slice(12, 16)].map((g) => g.replace(/^0{1,3}/, ''));
  return `fe80::${groups.join(':')}`;
}

/** The IPV6CP option judge for one session. */
export class Ipv6cp implements OptionHandler {
  private ours: Uint8Array;
  private peers = new Uint8Array(8);
  private sendIid = true;

  /** `localInterfaceId` is used when given (8 octets, non-zero), else a random one. */
  constructor(
    private readonly random: RandomSource,
    localInterfaceId?: Uint8Array,
  ) {
    this.ours = localInterfaceId !== undefined && localInterfaceId.length === 8 && !isZero(localInterfaceId) ? localInterfaceId : this.fresh();
  }

  /** Our and the peer's agreed identifiers. */
  get result(): { readonly localInterfaceId: Uint8Array; readonly peerInterfaceId: Uint8Array } {
    return { localInterfaceId: this.ours, peerInterfaceId: this.peers };
  }

  /** A random non-zero identifier different from `avoid` (RFC 5072 §4.1). */
  private fresh(avoid?: Uint8Array): Uint8Array {
    for (;;) {
      const b = this.random.bytes(8);
      if (!isZero(b) && (avoid === undefined || !bytesEqual(b, avoid))) return b;
    }
  }

  /** We send our Interface-Identifier. */
  buildRequest(): readonly CpOption[] {
    return this.sendIid ? [{ type: Ipv6cpOption.InterfaceIdentifier, data: this.ours }] : [];
  }

  /** RFC 5072 §4.1: Nak a zero identifier or one equal to ours with a fresh unique suggestion. */
  judge(o: CpOption): OptionVerdict {
    if (o.type !== Ipv6cpOption.InterfaceIdentifier || o.data.length !== 8) return { verdict: 'reject' };
    if (isZero(o.data) || bytesEqual(o.data, this.ours)) return { verdict: 'nak', data: this.fresh(this.ours) };
    return { verdict: 'ack' };
  }

  /** Our request was acked. */
  applyAck(sent: readonly CpOption[]): void {
    const o = sent.find((x) => x.type === Ipv6cpOption.InterfaceIdentifier);
    if (o !== undefined) this.ours = o.data;
  }

  /** §4.1: take the suggested identifier unless it is zero or the peer's; else choose again. */
  applyNak(options: readonly CpOption[]): void {
    const o = options.find((x) => x.type === Ipv6cpOption.InterfaceIdentifier);
    if (o === undefined || o.data.length !== 8) return;
    this.ours = isZero(o.data) || bytesEqual(o.data, this.peers) ? this.fresh(this.peers) : o.data.slice();
  }

  /** The peer will not take an identifier from us: it must then send its own. */
  applyReject(options: readonly CpOption[]): void {
    if (options.some((x) => x.type === Ipv6cpOption.InterfaceIdentifier)) this.sendIid = false;
  }

  /** Record the peer's identifier. */
  applyPeerAck(options: readonly CpOption[]): void {
    const o = options.find((x) => x.type === Ipv6cpOption.InterfaceIdentifier);
    if (o !== undefined) this.peers = o.data.slice();
  }
}
