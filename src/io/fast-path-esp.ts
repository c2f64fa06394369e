/**
 * ESP in the native fast path (issue 16 item 3), the gate's `EspOffload` over the addon's FastPath
 * (native/esp.cc). When a child SA comes up in a flow the data plane can run — ESP in UDP 4500 to an
 * IPv4 peer, AES-GCM-16 or AES-CBC with HMAC-SHA1-96 / HMAC-SHA256-128, no byte lifetime — both
 * directions are programmed into the addon and the gate gets `NativeEspSa`s back: from then on the
 * addon holds the SA's only sequence counter and replay window, and the gate's own ESP on it (control
 * messages, LCP, every packet the addon hands over) is sealed and opened there (espSeal / espOpen).
 * Sessions of the flow are bound to it when the access server installs them, so their data moves
 * NAT-T socket <-> TUN without JavaScript and never leaves in the clear.
 */
import { err, ok, parseIpv4, type Result } from '../base/index.js';
import type { EspOffload, EspOffloadFlow, EspSaLike } from '../gate/index.js';
import type { EspCounters, EspError, EspPlain, EspSaParams, EspSegments } from '../ipsec/index.js';
import { EspVerdict, type NativeFastPath } from './native.js';

const CIPHER = { 'aes-gcm-16': 0, 'aes-cbc': 1 } as const;
const INTEG = { none: 0, 'hmac-sha1-96': 1, 'hmac-sha256-128': 2 } as const;

/** The addon's cipher and integrity numbers for `p`, or why it stays in JS. */
function nativeAlgorithms(p: EspSaParams): Result<{ cipher: number; integ: number }, string> {
  const cipher = p.encryption === 'aes-gcm-16' || p.encryption === 'aes-cbc' ? CIPHER[p.encryption] : undefined;
  const integ = p.integrity === 'none' || p.integrity === 'hmac-sha1-96' || p.integrity === 'hmac-sha256-128' ? INTEG[p.integrity] : undefined;
  if (cipher === undefined || integ === undefined) return err(`${p.encryption}/${p.integrity}`);
  if (p.byteLimits !== undefined) return err('a byte lifetime (counted in JS)');
  if ((p.replayWindow ?? 128) > 1024) return err('a replay window above 1024');
  return ok({ cipher, integ });
}

const seqOf = (p: Uint8Array): number => ((((p[4] ?? 0) << 24) | ((p[5] ?? 0) << 16) | ((p[6] ?? 0) << 8) | (p[7] ?? 0)) >>> 0);

/** An addon verdict as the `EspError` EspSa would have returned. */
function espErrorOf(v: number, packet: Uint8Array | undefined): EspError {
  const seq = packet === undefined ? 0 : seqOf(packet);
  switch (v) {
    case EspVerdict.duplicate:
      return { kind: 'replay', seq, verdict: 'duplicate' };
    case EspVerdict.tooOld:
      return { kind: 'replay', seq, verdict: 'too-old' };
    case EspVerdict.zero:
      return { kind: 'replay', seq, verdict: 'zero' };
    case EspVerdict.icv:
      return { kind: 'icv-mismatch', seq };
    case EspVerdict.padding:
      return { kind: 'bad-padding', seq };
    case EspVerdict.seqExhausted:
      return { kind: 'seq-exhausted' };
    case EspVerdict.unknownSpi:
      return { kind: 'wrong-spi', spi: packet === undefined || packet.length < 4 ? 0 : ((((packet[0] ?? 0) << 24) | ((packet[1] ?? 0) << 16) | ((packet[2] ?? 0) << 8) | (packet[3] ?? 0)) >>> 0) };
    default:
      return { kind: 'malformed', detail: `native verdict ${v}` };
  }
}

/** One direction of an offloaded SA: its state lives in the addon; this object seals / opens there. */
export class NativeEspSa implements EspSaLike {
  readonly spi: number;
  readonly encryption: EspSaParams['encryption'];
  readonly integrity: EspSaParams['integrity'];
  private readonly ivLen: number;
  private readonly icvLen: number;
  private last: EspCounters = { packetsOut: 0, bytesOut: 0, packetsIn: 0, bytesIn: 0, replayDrops: 0, authFailures: 0, malformed: 0, padErrors: 0 };

  constructor(
    private readonly fp: NativeFastPath,
    p: EspSaParams,
    private readonly inbound: boolean,
  ) {
    this.spi = p.spi >>> 0;
    this.encryption = p.encryption;
    this.integrity = p.integrity;
    this.ivLen = p.encryption === 'aes-gcm-16' ? 8 : 16;
    this.icvLen = p.encryption === 'aes-gcm-16' || p.integrity === 'hmac-sha256-128' ? 16 : 12;
  }

  /** The addon's counters (the last read once the SA is gone there). */
  get counters(): EspCounters {
    const a = this.fp.espCounters(this.spi, this.inbound);
    if (a === undefined) return this.last;
    const [packets = 0, octets = 0, replayDrops = 0, authFailures = 0, malformed = 0, padErrors = 0] = a;
    this.last = this.inbound
      ? { packetsOut: 0, bytesOut: 0, packetsIn: packets, bytesIn: octets, replayDrops, authFailures, malformed, padErrors }
      : { packetsOut: packets, bytesOut: octets, packetsIn: 0, bytesIn: 0, replayDrops: 0, authFailures: 0, malformed: 0, padErrors: 0 };
    return this.last;
  }

  /** As EspSa.encryptv, sealed by the addon with the SA's one sequence counter; segments are views of one packet. */
  encryptv(payload: Uint8Array, nextHeader = 17, prefix?: Uint8Array): Result<EspSegments, EspError> {
    const r = this.fp.espSeal(this.spi, nextHeader, prefix === undefined ? [payload] : [prefix, payload]);
    if (typeof r === 'number') return err(espErrorOf(r, undefined));
    const head = 8 + this.ivLen;
    const body = Buffer.from(r.buffer, r.byteOffset + head, r.length - head - this.icvLen);
    const icv = Buffer.from(r.buffer, r.byteOffset + r.length - this.icvLen, this.icvLen);
    return ok([r.subarray(0, head), body, icv]);
  }

  /** As EspSa.decrypt: replay check, ICV, decrypt and window in the addon (refusals counted there). */
  decrypt(packet: Uint8Array): Result<EspPlain, EspError> {
    const r = this.fp.espOpen(this.spi, packet);
    if (typeof r === 'number') return err(espErrorOf(r, packet));
    const [seq, nextHeader, payload] = r;
    return ok({ seq, nextHeader, payload });
  }

  /** Offloaded SAs carry no byte lifetime (those stay in JS). */
  takeLifetimeEvent(): undefined {
    return undefined;
  }
}

/** The gate's EspOffload over one addon FastPath whose role-2 port is the NAT-T socket. */
export class NativeEspOffload implements EspOffload {
  private readonly ids = new Map<string, number>();
  private nextId = 1;
  /** Why the last pair offered stayed in JS (for the log), undefined after one was taken. */
  lastRefusal: string | undefined;

  constructor(private readonly fp: NativeFastPath) {}

  /** The addon's flow id of `via`, undefined when the flow is not offloaded. */
  flowIdOf(via: string): number | undefined {
    return this.ids.get(via);
  }

  install(flow: EspOffloadFlow, inbound: EspSaParams, outbound: EspSaParams): { readonly inbound: EspSaLike; readonly outbound: EspSaLike } | undefined {
    const a = nativeAlgorithms(inbound);
    const b = nativeAlgorithms(outbound);
    const addr = parseIpv4(flow.remote.address);
    const why = flow.encapsulation !== 'udp-transport' ? 'raw ESP (IP protocol 50)' : addr === undefined ? 'an IPv6 peer' : !a.ok ? a.error : !b.ok ? b.error : undefined;
    if (why !== undefined || !a.ok || !b.ok) {
      this.lastRefusal = why;
      return undefined;
    }
    let id = this.ids.get(flow.via);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(flow.via, id);
      this.fp.espFlow(id, 0, addr ?? 0, flow.remote.port, flow.innerPort, flow.l2tpPort);
    }
    try {
      this.fp.espAddSa(inbound.spi >>> 0, true, a.value.cipher, inbound.encryptionKey, a.value.integ, inbound.integrityKey, inbound.replayWindow ?? 128, id);
      this.fp.espAddSa(outbound.spi >>> 0, false, b.value.cipher, outbound.encryptionKey, b.value.integ, outbound.integrityKey, 0, id);
    } catch (e) {
      this.remove(inbound.spi, outbound.spi);
      this.lastRefusal = e instanceof Error ? e.message : String(e);
      return undefined;
    }
    this.lastRefusal = undefined;
    this.updateFlow(flow);
    return { inbound: new NativeEspSa(this.fp, inbound, true), outbound: new NativeEspSa(this.fp, outbound, false) };
  }

  updateFlow(flow: EspOffloadFlow): void {
    const id = this.ids.get(flow.via);
    const addr = parseIpv4(flow.remote.address);
    if (id === undefined) return;
    // Another encapsulation or address family: nothing moves natively for the flow any more.
    const out = flow.encapsulation === 'udp-transport' && addr !== undefined ? (flow.outboundSpi ?? 0) : 0;
    this.fp.espFlow(id, out >>> 0, addr ?? 0, flow.remote.port, flow.innerPort, flow.l2tpPort);
  }

  remove(inboundSpi: number, outboundSpi: number): void {
    this.fp.espRemoveSa(inboundSpi >>> 0, true);
    this.fp.espRemoveSa(outboundSpi >>> 0, false);
  }

  removeFlow(via: string): void {
    const id = this.ids.get(via);
    if (id === undefined) return;
    this.ids.delete(via);
    this.fp.espRemoveFlow(id);
  }
}
