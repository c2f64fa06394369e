/**
 * The extra source addresses of the selecting LAC (lac-select-shell.ts): a Tunnel-Client-Endpoint
 * (RFC 2868 §3.3) or a destination's `local_address` other than the `[tunnel_select] local_address`
 * socket's gets its own UDP socket, opened on demand, bound to `address:0` (an ephemeral port, like
 * the default socket) and kept until the daemon stops. The engine stays one: a tunnel from such a
 * source has the peer `via = "src:<address>"` (PeerAddress), so its transmits reach `route` (the
 * default endpoint's hook for `via`) and leave from that socket, and what the socket receives enters
 * the engine with the same `via` (the same peer). An address the host does not have (bind fails:
 * EADDRNOTAVAIL) is logged once per attempt window and the tunnel leaves from the default socket.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { PeerAddress, Transmit } from '../l2tp/index.js';
import { ipFamily, peerFromRemoteInfo } from '../io/index.js';
import type { Logger } from './logger.js';

/** The `via` prefix of tunnels bound to an extra source address. */
const VIA_PREFIX = 'src:';
/** A source that could not be bound is tried again after this long (an address added later). */
const RETRY_MS = 60_000;

/** The `via` of a tunnel leaving from `address`. */
export function sourceVia(address: string): string {
  return `${VIA_PREFIX}${address}`;
}

/**
 * The source address a destination's `localAddress` asks for, or undefined for the default socket:
 * none asked, the default socket's own address, or the wildcard.
 */
export function extraSource(localAddress: string | undefined, defaultAddress: string): string | undefined {
  if (localAddress === undefined || localAddress === '' || localAddress === defaultAddress) return undefined;
  if (localAddress === '0.0.0.0') return undefined;
  return localAddress;
}

/** Options of the source sockets. */
export interface LacSourcesOptions {
  readonly log: Logger;
  /** Milliseconds now (retry window of failed binds). */
  readonly now: () => number;
  /** A datagram one of the sockets received (the shell feeds it to the engine and drains). */
  readonly receive: (data: Uint8Array, from: PeerAddress) => void;
  /** The default socket's address (for the log lines). */
  readonly defaultAddress: string;
}

type Slot = { readonly kind: 'open'; readonly socket: Socket; readonly port: number } | { readonly kind: 'failed'; readonly at: number; readonly error: string };

/** The extra UDP sockets, one per source address. */
export class LacSources {
  private readonly slots = new Map<string, Slot>();
  private readonly opening = new Map<string, Promise<boolean>>();
  private closed = false;

  constructor(private readonly o: LacSourcesOptions) {}

  /** True when a socket on `address` is open (a tunnel may use `sourceVia(address)`). */
  usable(address: string): boolean {
    return this.slots.get(address)?.kind === 'open';
  }

  /** The bound port of the socket on `address` (tests, logs). */
  port(address: string): number | undefined {
    const s = this.slots.get(address);
    return s?.kind === 'open' ? s.port : undefined;
  }

  /** Open the socket on `address` unless it is open (or failed within the retry window); true when usable. */
  async ensure(address: string): Promise<boolean> {
    const s = this.slots.get(address);
    if (s?.kind === 'open') return true;
    if (s?.kind === 'failed' && this.o.now() - s.at < RETRY_MS) return false;
    const pending = this.opening.get(address);
    if (pending !== undefined) return pending;
    const p = this.bind(address).finally(() => this.opening.delete(address));
    this.opening.set(address, p);
    return p;
  }

  /** The route hook of the default endpoint: transmits whose `via` is one of ours go out of its socket. */
  route(t: Transmit): boolean {
    const via = t.to.via;
    if (via === undefined || !via.startsWith(VIA_PREFIX)) return false;
    const s = this.slots.get(via.slice(VIA_PREFIX.length));
    if (s?.kind !== 'open' || this.closed) return false;
    s.socket.send(t.data, t.to.port, t.to.address, (e) => {
      if (e !== null) this.o.log.warn({ source: via.slice(VIA_PREFIX.length), to: t.to.address, err: e.message }, `LAC: send from ${via.slice(VIA_PREFIX.length)} to ${t.to.address} failed: ${e.message}`);
    });
    return true;
  }

  /** Close every socket. */
  async close(): Promise<void> {
    this.closed = true;
    const open = [...this.slots.values()].flatMap((s) => (s.kind === 'open' ? [s.socket] : []));
    this.slots.clear();
    await Promise.all(open.map((sock) => new Promise<void>((resolve) => sock.close(() => resolve()))));
  }

  private async bind(address: string): Promise<boolean> {
    const family = ipFamily(address);
    if (family !== 4) {
      this.fail(address, family === undefined ? 'not an IP address' : 'not IPv4 (the LAC tunnels are IPv4)');
      return false;
    }
    const socket = createSocket({ type: 'udp4' });
    const error = await new Promise<Error | undefined>((resolve) => {
      const onError = (e: Error): void => resolve(e);
      socket.once('error', onError);
      socket.bind(0, address, () => {
        socket.off('error', onError);
        resolve(undefined);
      });
    });
    if (error !== undefined || this.closed) {
      socket.close();
      if (error !== undefined) this.fail(address, error.message);
      return false;
    }
    const via = sourceVia(address);
    socket.on('message', (msg, rinfo) => {
      if (!this.closed) this.o.receive(msg, { ...peerFromRemoteInfo(rinfo), via });
    });
    socket.on('error', (e) => {
      this.o.log.warn({ source: address, err: e.message }, `LAC: socket on source ${address}: ${e.message}`);
    });
    const port = socket.address().port;
    this.slots.set(address, { kind: 'open', socket, port });
    this.o.log.info({ source: address, port }, `LAC: tunnels with Tunnel-Client-Endpoint / local_address ${address} leave from ${address}:${port}`);
    return true;
  }

  private fail(address: string, error: string): void {
    this.slots.set(address, { kind: 'failed', at: this.o.now(), error });
    this.o.log.error(
      { source: address, err: error, fallback: this.o.defaultAddress },
      `LAC: cannot use source address ${address} (Tunnel-Client-Endpoint / local_address): ${error}; its tunnels leave from the default ${this.o.defaultAddress} ([tunnel_select] local_address) — is the address configured on this host?`,
    );
  }
}
