/**
 * Exchange plumbing both IKEv1 roles share: the output queues behind `pollTransmit`/`pollEvent`,
 * RFC 3948 framing on the NAT-T port, retransmission timers (RFC 2408 §5), fresh message ids and
 * SPIs, and small byte helpers.
 */
import { addDuration, type Duration, Fifo, type Instant, ipToBytes, millis, put32, type RandomSource, type Result, u32 } from '../base/index.js';
import { timingSafeEqual } from 'node:crypto';
import { IdType, type IkeWireError, type IsakmpMessage, parseIsakmp } from '../wire/ike/index.js';
import { classifyUdp4500, frameIkeFor4500 } from '../wire/esp/index.js';
import { type Endpoint } from './addr.js';
import type { DeleteReason, FailReason, IkeDatagram, IkeEvent, IkeIdentity } from './ike-types.js';

/** Constant-time equality of two byte strings (hashes, cookies). */
export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && timingSafeEqual(a, b);

/** A 4-byte SPI (RFC 2408 §3.15 / RFC 4303 §2.1) from its number. */
export function spiBytes(spi: number): Uint8Array {
  const b = new Uint8Array(4);
  put32(b, 0, spi);
  return b;
}

/** The number of a 4-byte SPI or sequence number. */
export const readU32 = (b: Uint8Array): number => u32(b, 0);

/** CKY-I | CKY-R: the SPI of an ISAKMP SA in notify and delete payloads (RFC 2408 §3.14, §3.15). */
export const cookiePair = (sa: { readonly icookie: Uint8Array; readonly rcookie: Uint8Array }): Uint8Array => {
  const b = new Uint8Array(16);
  b.set(sa.icookie, 0);
  b.set(sa.rcookie, 8);
  return b;
};

/** A fresh non-zero Message ID not used by another exchange of the IKE SA (RFC 2408 §3.1). */
export function freshMessageId(random: RandomSource, taken: (mid: number) => boolean): number {
  let mid = 0;
  while (mid === 0 || taken(mid)) mid = random.u32() >>> 0;
  return mid;
}

/** A fresh inbound SPI; RFC 4303 §2.1: the values 1-255 are reserved. */
export function freshSpi(random: RandomSource, taken: (spi: number) => boolean): number {
  let spi = 0;
  while (spi < 0x100 || taken(spi)) spi = random.u32() >>> 0;
  return spi;
}

/** Our identity: the configured one, or ID_IPV4_ADDR / ID_IPV6_ADDR of `address` (RFC 2407 §4.6.2.1). */
export function addressIdentity(address: string, configured?: IkeIdentity): IkeIdentity {
  if (configured !== undefined) return configured;
  const ip = ipToBytes(address) ?? new Uint8Array(4);
  return { idType: ip.length === 16 ? IdType.IPV6_ADDR : IdType.IPV4_ADDR, data: ip };
}

/** An IKE message received on port 500 or the NAT-T port: its bytes (marker stripped) and the parse. */
export interface ReceivedIke {
  readonly data: Uint8Array;
  readonly message: Result<IsakmpMessage, IkeWireError>;
}

/**
 * RFC 3948 §2.2: on the NAT-T port IKE follows a non-ESP marker; ESP and keepalives there are the
 * data plane's (undefined). Elsewhere the datagram is IKE as it is.
 */
export function receiveIke(d: IkeDatagram, nattPort: number): ReceivedIke | undefined {
  let data = d.data;
  if (d.local.port === nattPort) {
    const c = classifyUdp4500(data);
    if (c.kind !== 'ike') return undefined;
    data = c.ike;
  }
  return { data, message: parseIsakmp(data) };
}

/** A retransmission timer (RFC 2408 §5): first interval, doubling on every resend. */
export interface Retransmit {
  at: Instant;
  interval: Duration;
  count: number;
}

/** A timer armed `initial` after `now`. */
export const armRetransmit = (now: Instant, initial: Duration): Retransmit => ({ at: addDuration(now, initial), interval: initial, count: 0 });

/** What a retransmission timer wants at `now`: nothing, one more resend, or giving up after `max`. */
export function retransmitDue(r: Retransmit | undefined, now: Instant, max: number): 'idle' | 'resend' | 'give-up' {
  if (r === undefined || r.at > now) return 'idle';
  return r.count >= max ? 'give-up' : 'resend';
}

/** Count a resend and double the interval. */
export function backOff(r: Retransmit, now: Instant): void {
  r.count++;
  r.interval = millis(r.interval * 2);
  r.at = addDuration(now, r.interval);
}

/**
 * The retransmission timers of a set of Quick Mode exchanges (both roles): `fire` gets
 * 'retransmit-timeout' or 'give-up' for each exchange that is due. Finished exchanges are forgotten
 * once there are more than `keep` (until then a retransmitted last message is still answered).
 */
export function runExchangeTimers<X extends { readonly rtx: Retransmit | undefined; readonly state: string }>(
  exchanges: Map<number, X>, now: Instant, max: number, keep: number, fire: (x: X, event: 'retransmit-timeout' | 'give-up') => void, gaveUp: () => void,
): void {
  for (const x of [...exchanges.values()]) {
    const due = retransmitDue(x.rtx, now, max);
    if (due === 'give-up') {
      fire(x, 'give-up');
      gaveUp();
    } else if (due === 'resend') {
      fire(x, 'retransmit-timeout');
    }
  }
  if (exchanges.size > keep) for (const [mid, x] of exchanges) if (x.state === 'qm-done' || x.state === 'qm-failed') exchanges.delete(mid);
}

/** The output of one IKE core: datagrams and events, drained one at a time (oldest first). */
export class IkeOutput {
  private readonly datagrams = new Fifo<IkeDatagram>();
  private readonly events = new Fifo<IkeEvent>();

  /** `nattPort` is our NAT-T port: IKE sent from it gets the non-ESP marker. */
  constructor(private readonly nattPort: number) {}

  /** The next datagram to send, or undefined. */
  pollTransmit(): IkeDatagram | undefined {
    return this.datagrams.shift();
  }

  /** The next event, or undefined. */
  pollEvent(): IkeEvent | undefined {
    return this.events.shift();
  }

  /** RFC 3948 §2.2: the bytes of an IKE message as sent from `local`. */
  frame(local: Endpoint, message: Uint8Array): Uint8Array {
    return local.port === this.nattPort ? frameIkeFor4500(message) : message;
  }

  /** Queue a datagram exactly as given (already framed, or a NAT-keepalive). */
  send(local: Endpoint, remote: Endpoint, data: Uint8Array): void {
    this.datagrams.push({ local, remote, data });
  }

  /** RFC 2408 §5: send our last message of an exchange again (to `on`'s endpoints) and back its timer off. */
  resend(now: Instant, on: { readonly local: Endpoint; readonly remote: Endpoint }, x: { readonly lastOut: Uint8Array | undefined; readonly rtx: Retransmit | undefined }): void {
    if (x.lastOut) this.send(on.local, on.remote, x.lastOut);
    if (x.rtx) backOff(x.rtx, now);
  }

  /** Queue an event. */
  emit(e: IkeEvent): void {
    this.events.push(e);
  }

  /** Report a refused or failed exchange. */
  failed(ikeSaId: number | undefined, remote: Endpoint, reason: FailReason, notify?: number): void {
    this.events.push({ type: 'exchange-failed', ikeSaId, remote, reason, ...(notify !== undefined ? { notify } : {}) });
  }

  /** Report a child SA gone. */
  childDeleted(ikeSaId: number, c: { readonly inboundSpi: number; readonly outboundSpi: number }, reason: DeleteReason): void {
    this.events.push({ type: 'sa-deleted', ikeSaId, kind: 'child', inboundSpi: c.inboundSpi, outboundSpi: c.outboundSpi, reason });
  }

  /** Report an IKE SA gone. */
  ikeDeleted(ikeSaId: number, reason: DeleteReason): void {
    this.events.push({ type: 'sa-deleted', ikeSaId, kind: 'ike', reason });
  }
}
