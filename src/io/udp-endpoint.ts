/**
 * One UDP socket bound to one sans-I/O L2TP engine (or to the IPsec gate in front of it). A datagram
 * in becomes `handleDatagram(now, data, from)`; then the pump (pump.ts) sends the core's transmits
 * (each to the address/port the peer used, so NAT works), delivers its events, re-arms the shared
 * timer driver and drains the pumps chained behind it (`follow`). Data messages never become events:
 * they reach the session sinks inside `handleDatagram`. Socket errors are reported, never thrown.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { readUdpSocket, type UdpSocketRow } from './kernel-stats.js';
import { isIP } from 'node:net';
import type { Instant } from '../base/index.js';
import type { L2tpControlApi, L2tpEngineApi, L2tpEvent, PeerAddress, Transmit } from '../l2tp/index.js';
import type { Clock } from './clock.js';
import { type DatagramSocket, NativeUdpSocket } from './native-udp.js';
import { Pump, type Drainable } from './pump.js';
import type { TimerDriver } from './timer-driver.js';

/** The IANA L2TP port (RFC 2661 §8.1). */
export const L2TP_PORT = 1701;

/** What the socket feeds when a core sits in front of the engine: its datagram input and its control surface. */
export interface L2tpPort extends L2tpControlApi {
  handleDatagram(now: Instant, data: Uint8Array, from: PeerAddress): void;
}

/** The pump of a core in front of the engine (the IPsec gate's), as the endpoint uses it. */
export interface EndpointPump extends Drainable {
  run<R>(op: (now: Instant) => R): R;
  chain(next: Drainable): () => void;
  kick(): void;
  close(): void;
}

/** Options of a UdpEndpoint. */
export type UdpEndpointOptions = UdpEndpointCommon &
  (
    | {
        /** The engine this socket feeds and drains (its transmits go out of this socket). */
        readonly engine: L2tpEngineApi;
        /** Receives every engine event, in order. */
        readonly onEvent: (event: L2tpEvent, endpoint: UdpEndpoint) => void;
        readonly pump?: undefined;
      }
    | {
        /** A core in front of the engine (the IPsec gate): datagrams go to it; `pump` drains it. */
        readonly engine: L2tpPort;
        readonly pump: EndpointPump;
        readonly onEvent?: undefined;
      }
  );

/** Options every endpoint has. */
export interface UdpEndpointCommon {
  /** Local address to bind (IPv4 or IPv6 literal); its family picks udp4 or udp6. */
  readonly address: string;
  /** Local port (default 1701; 0 = any free port). */
  readonly port?: number;
  /**
   * 'dgram' (default): node:dgram. 'native': the addon's IPv4 socket (native-udp.ts), the one the data
   * fast path (fast-path.ts) attaches to; IPv4 only, throws NativeUnavailableError without the addon.
   */
  readonly socket?: 'dgram' | 'native';
  /** 'native' only: SO_REUSEPORT, so the fast path's data threads can bind the same port (fast-path.ts). */
  readonly reusePort?: boolean;
  readonly clock: Clock;
  readonly timers: TimerDriver;
  /** Socket and send errors (default: ignored). */
  readonly onError?: (error: Error, endpoint: UdpEndpoint) => void;
  /** Most transmits/events drained per turn before yielding to the event loop (default 1024). */
  readonly maxDrain?: number;
  /**
   * Transmits to a peer with `via` (e.g. an IPsec flow) go here and never out of this socket in the
   * clear; return false when nothing could take it (counted as a send error).
   */
  readonly route?: (t: Transmit) => boolean;
}

/** Datagram counters of one endpoint. */
export interface EndpointStats {
  rxDatagrams: number;
  rxOctets: number;
  txDatagrams: number;
  txOctets: number;
  sendErrors: number;
  /** Programmer errors caught at the engine boundary. */
  engineErrors: number;
}

/** A PeerAddress from a dgram RemoteInfo. */
export function peerFromRemoteInfo(r: RemoteInfo): PeerAddress {
  // Node 18.0-18.3 reported family as a number; later versions as 'IPv4' / 'IPv6'.
  const fam: unknown = r.family;
  const family = fam === 'IPv6' || fam === 6 ? 6 : 4;
  return { address: r.address, port: r.port, family };
}

/** The address family of an IP literal, or undefined when it is not one. */
export function ipFamily(address: string): 4 | 6 | undefined {
  const v = isIP(address);
  return v === 4 ? 4 : v === 6 ? 6 : undefined;
}

/** A bound UDP socket driving one engine. Create with `UdpEndpoint.open`. */
export class UdpEndpoint {
  /** Datagram counters. */
  readonly stats: EndpointStats = { rxDatagrams: 0, rxOctets: 0, txDatagrams: 0, txOctets: 0, sendErrors: 0, engineErrors: 0 };
  /** The L2TP control surface behind this socket (the engine, or the gate in front of it). */
  readonly engine: L2tpControlApi;
  /** 4 for udp4, 6 for udp6. */
  readonly family: 4 | 6;
  private readonly input: L2tpPort;
  private readonly pump: EndpointPump;
  private closed = false;
  private bound: { address: string; port: number } = { address: '', port: 0 };
  private labelText: string | undefined;

  private constructor(
    private readonly options: UdpEndpointOptions,
    private readonly socket: DatagramSocket,
    family: 4 | 6,
    /** The addon's socket when `socket: 'native'` (the fast path attaches to it). */
    readonly nativeSocket: NativeUdpSocket | undefined,
    /** The node:dgram socket when `socket: 'dgram'` (buffer sizes are set on it). */
    private readonly dgramSocket?: Socket,
  ) {
    this.engine = options.engine;
    this.input = options.engine;
    this.family = family;
    if (options.pump !== undefined) {
      this.pump = options.pump;
    } else {
      const onEvent = options.onEvent;
      this.pump = new Pump<Transmit, L2tpEvent>(options.engine, {
        clock: options.clock,
        timers: options.timers,
        transmit: (t) => {
          this.send(t);
        },
        event: (e) => {
          onEvent(e, this);
        },
        onError: (e) => {
          this.engineFailed(e);
        },
        ...(options.maxDrain !== undefined ? { maxDrain: options.maxDrain } : {}),
      });
    }
  }

  /** Bind a socket and start feeding the engine. Rejects if the address is not an IP literal or bind fails. */
  static async open(options: UdpEndpointOptions): Promise<UdpEndpoint> {
    const family = ipFamily(options.address);
    if (family === undefined) throw new Error(`not an IP address: ${options.address}`);
    if (options.socket === 'native') return UdpEndpoint.openNative(options, family);
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => {
        socket.close();
        reject(e);
      };
      socket.once('error', onError);
      socket.bind(options.port ?? L2TP_PORT, options.address, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    const a = socket.address();
    const wire: DatagramSocket = {
      local: { address: a.address, port: a.port },
      send: (data, port, address, onError) => {
        socket.send(data, port, address, (e) => {
          if (e !== null) onError(e);
        });
      },
      close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
    };
    const ep = new UdpEndpoint(options, wire, family, undefined, socket);
    ep.bound = wire.local;
    socket.on('message', (msg, rinfo) => {
      ep.receive(msg, peerFromRemoteInfo(rinfo));
    });
    socket.on('error', (e) => {
      ep.options.onError?.(e, ep);
    });
    return ep;
  }

  private static openNative(options: UdpEndpointOptions, family: 4 | 6): UdpEndpoint {
    if (family !== 4) throw new Error(`the native UDP socket is IPv4 only: ${options.address}`);
    const sock = NativeUdpSocket.open(options.address, options.port ?? L2TP_PORT, options.reusePort === true);
    const wire: DatagramSocket = {
      local: sock.local,
      send: (data, port, address, onError) => sock.send(data, port, address, onError),
      close: () => {
        sock.close();
        return Promise.resolve();
      },
    };
    const ep = new UdpEndpoint(options, wire, 4, sock);
    ep.bound = sock.local;
    sock.onDatagram((data, address, port) => ep.receive(data, { address, port, family: 4 }));
    sock.onError((e) => ep.options.onError?.(e, ep));
    return ep;
  }

  /**
   * Size the socket's kernel buffers (SO_RCVBUF / SO_SNDBUF; 0 = leave as is). The kernel caps
   * them at net.core.rmem_max / wmem_max and reports twice what it keeps for bookkeeping; the
   * result is what it reports now, and `error` says why a request failed.
   */
  setBuffers(receive: number, send: number): { readonly receive: number; readonly send: number; readonly error?: string } {
    let error: string | undefined;
    try {
      const socket = this.dgramSocket;
      if (socket !== undefined) {
        if (receive > 0) socket.setRecvBufferSize(receive);
        if (send > 0) socket.setSendBufferSize(send);
      } else {
        this.nativeSocket?.buffers(receive, send);
      }
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const got = this.bufferSizes();
    return error === undefined ? got : { ...got, error };
  }

  /** SO_RCVBUF / SO_SNDBUF as the kernel reports them now (0 once closed). */
  bufferSizes(): { readonly receive: number; readonly send: number } {
    if (this.closed) return { receive: 0, send: 0 };
    const socket = this.dgramSocket;
    if (socket !== undefined) return { receive: socket.getRecvBufferSize(), send: socket.getSendBufferSize() };
    return this.nativeSocket?.buffers() ?? { receive: 0, send: 0 };
  }

  /** The kernel's view of this socket and its data-thread siblings (drops, receive queue summed) from /proc/net/udp; undefined off Linux. */
  kernelSocket(own?: ReadonlySet<number>): UdpSocketRow | undefined {
    return this.closed ? undefined : readUdpSocket(this.family, this.bound.port, own, this.bound.address);
  }

  /** The bound local address and port. */
  get local(): { readonly address: string; readonly port: number } {
    return this.bound;
  }

  /** `address:port` (IPv6 in brackets), for logs (formatted once: every engine event is logged with it). */
  get label(): string {
    return (this.labelText ??= formatHostPort(this.bound.address, this.bound.port));
  }

  /** The current instant of this endpoint's clock. */
  now(): Instant {
    return this.options.clock.now();
  }

  /**
   * Run an operation on the engine (open/close a tunnel or session...) with the current instant,
   * then send what it queued, deliver its events and re-arm the timer.
   */
  run<T>(op: (now: Instant, engine: L2tpControlApi) => T): T {
    return this.pump.run((now) => op(now, this.engine));
  }

  /**
   * Drain `next` after every drain of this endpoint: a core fed by the engine's data sinks (the access
   * server, a dial-out client), whose output appears while the engine handles a datagram. Returns the undo.
   */
  follow(next: Drainable): () => void {
    return this.pump.chain(next);
  }

  /** Send a datagram the engine returned directly (e.g. from `sendData`). */
  send(t: Transmit): void {
    if (this.closed) return;
    if (t.to.via !== undefined) {
      if (this.options.route?.(t) !== true) this.stats.sendErrors++;
      return;
    }
    const data = t.data;
    this.stats.txDatagrams++;
    this.stats.txOctets += data.byteLength;
    try {
      this.socket.send(data, t.to.port, t.to.address, (e) => this.sendFailed(e));
    } catch (e) {
      // Synchronous throws: bad address family, socket closed.
      this.sendFailed(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Drain transmits and events (bounded per turn), then re-arm the timer. */
  drain(): void {
    if (this.closed) return;
    this.pump.drain();
  }

  /** Drain in a microtask (coalesced): after a core behind the engine queued control messages in it (CDN). */
  kick(): void {
    if (!this.closed) this.pump.kick();
  }

  /** Close the socket and stop the engine's timer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.pump.close();
    this.closed = true;
    await this.socket.close();
  }

  private receive(msg: Buffer, from: PeerAddress): void {
    if (this.closed) return;
    this.stats.rxDatagrams++;
    this.stats.rxOctets += msg.byteLength;
    try {
      this.input.handleDatagram(this.now(), msg, from);
    } catch (error) {
      this.engineFailed(error);
    }
    this.pump.drain();
  }

  private sendFailed(e: Error): void {
    this.stats.sendErrors++;
    this.options.onError?.(e, this);
  }

  private engineFailed(error: unknown): void {
    this.stats.engineErrors++;
    this.options.onError?.(error instanceof Error ? error : new Error(String(error)), this);
  }
}

/** `address:port`, with IPv6 addresses in brackets. */
export function formatHostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
