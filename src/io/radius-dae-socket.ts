/**
 * The I/O shell of the Dynamic Authorization server core (RFC 5176): one UDP socket (default port
 * 3799) feeding `DaeServer.handleDatagram`; answers go back to the address and port the request
 * came from; the duplicate cache expires on the shared timer driver.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { DaeEvent, DaeServer } from '../aaa/radius/index.js';
import { RADIUS_PORT } from '../wire/radius/index.js';
import type { Clock } from './clock.js';
import type { TimerDriver } from './timer-driver.js';

/** Options of a DaeSocket. */
export interface DaeSocketOptions<S> {
  readonly core: DaeServer<S>;
  /** Local address to bind (IPv4 or IPv6 literal). */
  readonly address: string;
  /** UDP port (default 3799; 0 = any). */
  readonly port?: number;
  readonly clock: Clock;
  readonly timers: TimerDriver;
  readonly onEvent?: (e: DaeEvent) => void;
  readonly onError?: (e: Error) => void;
}

/** A bound DAE socket. */
export class DaeSocket<S> {
  private readonly removeTimer: () => void;
  private closed = false;

  private constructor(
    private readonly o: DaeSocketOptions<S>,
    private readonly socket: Socket,
    /** The bound address and port. */
    readonly local: { readonly address: string; readonly port: number },
  ) {
    this.removeTimer = o.timers.add(o.core, () => {
      this.drain();
    });
    socket.on('message', (msg, rinfo) => {
      if (this.closed) return;
      o.core.handleDatagram(o.clock.now(), msg, { address: rinfo.address, port: rinfo.port });
      this.drain();
    });
    socket.on('error', (e) => o.onError?.(e));
  }

  /** Bind and start serving. */
  static async open<S>(o: DaeSocketOptions<S>): Promise<DaeSocket<S>> {
    const family = isIP(o.address);
    if (family === 0) throw new Error(`not an IP address: ${o.address}`);
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(o.port ?? RADIUS_PORT.dae, o.address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const a = socket.address();
    return new DaeSocket(o, socket, { address: a.address, port: a.port });
  }

  /** Send answers, deliver events, re-arm the timer. */
  drain(): void {
    if (this.closed) return;
    const core = this.o.core;
    for (let t = core.pollTransmit(); t !== undefined; t = core.pollTransmit()) {
      this.socket.send(t.data, t.to.port, t.to.address, (e) => {
        if (e !== null) this.o.onError?.(e);
      });
    }
    for (let e = core.pollEvent(); e !== undefined; e = core.pollEvent()) this.o.onEvent?.(e);
    this.o.timers.touch(core);
  }

  /** Stop serving. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.removeTimer();
    await new Promise<void>((r) => this.socket.close(() => r()));
  }
}
