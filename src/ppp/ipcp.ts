/**
 * IPCP option judgements (RFC 1332, RFC 1877). Options: IP-Address (3), Primary/Secondary DNS
 * (129/131), Primary/Secondary NBNS (130/132). IP-Compression-Protocol (2, Van Jacobson) and
 * IP-Addresses (1, deprecated) are Configure-Rejected, as is anything unknown.
 */
import { ipv4Bytes, ipv4String } from '../base/index.js';
import type { CpOption } from '../wire/ppp/index.js';
import type { OptionHandler, OptionVerdict } from './option-fsm.js';

/** IPCP option types. */
export const IpcpOption = { IPAddresses: 1, IPCompression: 2, IPAddress: 3, PrimaryDns: 129, PrimaryNbns: 130, SecondaryDns: 131, SecondaryNbns: 132 } as const;

/** Hands out peer addresses (the LNS pool; injected, so RADIUS Framed-IP or a DHCP-like pool can plug in). */
export interface AddressPool {
  /** An address for this user, or undefined when exhausted. */
  allocate(username: string | undefined): string | undefined;
  /** Give an address back when the session ends. */
  release(address: string): void;
}

/** IPCP settings. */
export interface IpcpConfig {
  readonly role: 'authenticator' | 'peer';
  /** authenticator: our address (sent in IP-Address). peer: the address to ask for (default 0.0.0.0). */
  readonly localAddress: string;
  /** authenticator: DNS / NBNS servers given to the peer (RFC 1877). */
  readonly dns?: readonly string[];
  readonly nbns?: readonly string[];
  /** peer: ask for DNS servers (default true). */
  readonly requestDns?: boolean;
}

/** What IPCP agreed. */
export interface IpcpResult {
  readonly local: string;
  readonly peer: string;
  readonly dns: readonly string[];
  readonly nbns: readonly string[];
}

const ZERO = '0.0.0.0';
const SERVER_OPTS: readonly [number, 'dns' | 'nbns', number][] = [
  [IpcpOption.PrimaryDns, 'dns', 0],
  [IpcpOption.SecondaryDns, 'dns', 1],
  [IpcpOption.PrimaryNbns, 'nbns', 0],
  [IpcpOption.SecondaryNbns, 'nbns', 1],
];

/** The IPCP option judge for one session. */
export class Ipcp implements OptionHandler {
  /** authenticator: the address this peer must use (set before Open). */
  peerAddress: string | undefined;
  private local: string;
  private agreedPeer = ZERO;
  /** Option types the peer rejected (created on the first Configure-Reject: most sessions see none). */
  private rejected: Set<number> | undefined;
  /** peer: the RFC 1877 options we ask for and their values (none as authenticator). */
  private readonly want: Map<number, string> | undefined;
  /** Per-session DNS / NBNS servers (authenticator), replacing `cfg.dns` / `cfg.nbns`. */
  private servers: { readonly dns: readonly string[] | undefined; readonly nbns: readonly string[] | undefined } | undefined;

  /** Create with its config. */
  constructor(readonly cfg: IpcpConfig) {
    this.local = cfg.localAddress;
    this.want =
      cfg.role === 'peer' && cfg.requestDns !== false
        ? new Map([
            [IpcpOption.PrimaryDns, ZERO],
            [IpcpOption.SecondaryDns, ZERO],
          ])
        : undefined;
  }

  /** authenticator: give this session other DNS / NBNS servers (undefined keeps the configured ones); call before Open. */
  setServers(dns: readonly string[] | undefined, nbns: readonly string[] | undefined): void {
    this.servers = { dns: dns ?? this.cfg.dns, nbns: nbns ?? this.cfg.nbns };
  }

  private serverList(kind: 'dns' | 'nbns'): readonly string[] | undefined {
    return this.servers !== undefined ? this.servers[kind] : this.cfg[kind];
  }

  /** The agreed addresses. */
  get result(): IpcpResult {
    if (this.cfg.role === 'authenticator')
      return { local: this.local, peer: this.agreedPeer, dns: [...(this.serverList('dns') ?? [])], nbns: [...(this.serverList('nbns') ?? [])] };
    const dns = [this.want?.get(IpcpOption.PrimaryDns), this.want?.get(IpcpOption.SecondaryDns)].filter((x): x is string => x !== undefined && x !== ZERO);
    return { local: this.local, peer: this.agreedPeer, dns, nbns: [] };
  }

  /** RFC 1332 §3.3: we send IP-Address (0.0.0.0 as peer: "please assign"); RFC 1877 DNS as peer. */
  buildRequest(): readonly CpOption[] {
    const o: CpOption[] = [];
    if (this.rejected?.has(IpcpOption.IPAddress) !== true) o.push({ type: IpcpOption.IPAddress, data: ipv4Bytes(this.local) ?? new Uint8Array(4) });
    for (const [type, value] of this.want ?? []) if (this.rejected?.has(type) !== true) o.push({ type, data: ipv4Bytes(value) ?? new Uint8Array(4) });
    return o;
  }

  /** Judge one option of the peer's request. */
  judge(o: CpOption): OptionVerdict {
    if (o.type === IpcpOption.IPAddress) {
      if (o.data.length !== 4) return { verdict: 'reject' };
      const asked = ipv4String(o.data);
      if (this.cfg.role === 'peer') return asked === ZERO ? { verdict: 'reject' } : { verdict: 'ack' };
      // RFC 1332 §3.3: 0.0.0.0 (or a wrong address) gets a Nak carrying the address to use.
      if (this.peerAddress === undefined) return asked === ZERO ? { verdict: 'reject' } : { verdict: 'ack' };
      return asked === this.peerAddress ? { verdict: 'ack' } : { verdict: 'nak', data: ipv4Bytes(this.peerAddress) ?? new Uint8Array(4) };
    }
    if (this.cfg.role === 'authenticator') {
      const server = SERVER_OPTS.find(([t]) => t === o.type);
      if (server !== undefined && o.data.length === 4) {
        const value = this.serverList(server[1])?.[server[2]];
        // RFC 1877 §1: Nak with the configured server; Reject when we have none.
        if (value === undefined) return { verdict: 'reject' };
        return ipv4String(o.data) === value ? { verdict: 'ack' } : { verdict: 'nak', data: ipv4Bytes(value) ?? new Uint8Array(4) };
      }
    }
    return { verdict: 'reject' };
  }

  /** authenticator: prompt a peer that sent no IP-Address (RFC 1661 §5.3 lets a Nak add options). */
  missing(received: readonly CpOption[]): readonly CpOption[] {
    if (this.cfg.role !== 'authenticator' || this.peerAddress === undefined) return [];
    if (received.some((o) => o.type === IpcpOption.IPAddress)) return [];
    return [{ type: IpcpOption.IPAddress, data: ipv4Bytes(this.peerAddress) ?? new Uint8Array(4) }];
  }

  /** Our request was acked. */
  applyAck(sent: readonly CpOption[]): void {
    for (const o of sent) {
      if (o.type !== IpcpOption.IPAddress) continue;
      // Keep the configured (shared) string when the Ack repeats it: no copy per session.
      const v = ipv4String(o.data);
      if (v !== this.local) this.local = v;
    }
  }

  /** Adopt Nak'd values (peer: the assigned address and DNS servers). */
  applyNak(options: readonly CpOption[]): void {
    for (const o of options) {
      if (o.data.length !== 4) continue;
      if (o.type === IpcpOption.IPAddress) {
        if (this.cfg.role === 'peer') this.local = ipv4String(o.data);
      } else if (this.want?.has(o.type) === true) this.want.set(o.type, ipv4String(o.data));
    }
  }

  /** Stop requesting rejected options. */
  applyReject(options: readonly CpOption[]): void {
    for (const o of options) (this.rejected ??= new Set()).add(o.type);
  }

  /** Record the peer's acked address. */
  applyPeerAck(options: readonly CpOption[]): void {
    const a = options.find((o) => o.type === IpcpOption.IPAddress);
    const v = a === undefined ? ZERO : ipv4String(a.data);
    // The address we assigned (the usual case) keeps its string: no second copy per session.
    this.agreedPeer = v === this.peerAddress ? this.peerAddress : v;
  }
}
