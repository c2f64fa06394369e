/**
 * A userspace UDP impairment proxy on real sockets: clients (LACs) send to its front socket, it
 * forwards to one target (an LNS) from one back socket per client address (so the target sees a
 * distinct source per client, as through a NAT), and sends the answers back to the client. Each
 * direction runs its own seeded `ImpairmentCore` (loss, reordering, duplication, delay, blackout),
 * with counters. One timer drives every scheduled delivery (a heap, earliest first; ties in order).
 * Bind it on loopback or on an address inside namespaces the caller created (198.18.0.0/15).
 */
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { statRandom } from './random.js';
import { ImpairmentCore, type ImpairmentConfig, type ImpairmentCounters } from './core.js';

/** A UDP address. */
export interface UdpAddress {
  readonly address: string;
  readonly port: number;
}

/** How to build a proxy. */
export interface ImpairProxyOptions {
  /** The front address the clients send to (port 0 = ephemeral). */
  readonly listen: UdpAddress;
  /** The server every client flow is forwarded to. */
  readonly target: UdpAddress;
  /** Local address of the back sockets (default: the listen address). */
  readonly backAddress?: string;
  /** Client → target impairments. */
  readonly up?: ImpairmentConfig;
  /** Target → client impairments. */
  readonly down?: ImpairmentConfig;
  /** Seed of both directions' random streams (up uses seed, down seed + 1). */
  readonly seed: number;
  /** Most client flows (back sockets) at once; datagrams from further clients are dropped. */
  readonly maxFlows?: number;
}

/** Counters of the whole proxy. */
export interface ImpairProxyCounters {
  readonly up: Readonly<ImpairmentCounters>;
  readonly down: Readonly<ImpairmentCounters>;
  readonly flows: number;
  /** Datagrams from clients beyond `maxFlows`. */
  readonly flowsRefused: number;
  readonly sendErrors: number;
}

/** One scheduled send. */
interface Pending {
  readonly at: number;
  readonly seq: number;
  readonly data: Uint8Array;
  readonly sock: Socket;
  readonly to: UdpAddress;
}

/** A binary min-heap of pending sends by (at, seq). */
class SendHeap {
  private readonly items: Pending[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Pending | undefined {
    return this.items[0];
  }
  private less(i: number, j: number): boolean {
    const a = this.items[i] as Pending;
    const b = this.items[j] as Pending;
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
  private swap(i: number, j: number): void {
    const t = this.items[i] as Pending;
    this.items[i] = this.items[j] as Pending;
    this.items[j] = t;
  }
  push(p: Pending): void {
    this.items.push(p);
    for (let i = this.items.length - 1; i > 0; ) {
      const up = (i - 1) >> 1;
      if (!this.less(i, up)) break;
      this.swap(i, up);
      i = up;
    }
  }
  pop(): Pending | undefined {
    const top = this.items[0];
    const last = this.items.pop();
    if (top === undefined || last === undefined || this.items.length === 0) return top;
    this.items[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.items.length && this.less(l, m)) m = l;
      if (r < this.items.length && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}

const bind = (sock: Socket, address: string, port: number): Promise<void> =>
  new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, address, () => {
      sock.off('error', reject);
      resolve();
    });
  });

/** The proxy. */
export class UdpImpairProxy {
  private readonly up: ImpairmentCore;
  private readonly down: ImpairmentCore;
  private readonly flows = new Map<string, { readonly sock: Socket; readonly ready: Promise<void>; bound?: boolean }>();
  private readonly heap = new SendHeap();
  private readonly t0 = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private seq = 0;
  private flowsRefused = 0;
  private sendErrors = 0;
  private closed = false;

  private constructor(
    private readonly front: Socket,
    private readonly o: ImpairProxyOptions,
  ) {
    this.up = new ImpairmentCore(o.up ?? {}, statRandom(o.seed));
    this.down = new ImpairmentCore(o.down ?? {}, statRandom(o.seed + 1));
    front.on('message', (msg, rinfo) => this.fromClient(msg, { address: rinfo.address, port: rinfo.port }));
    front.on('error', () => this.sendErrors++);
  }

  /** Bind the front socket and start forwarding. */
  static async open(o: ImpairProxyOptions): Promise<UdpImpairProxy> {
    const front = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    await bind(front, o.listen.address, o.listen.port);
    return new UdpImpairProxy(front, o);
  }

  /** Where clients send. */
  get address(): UdpAddress {
    const a = this.front.address();
    return { address: a.address, port: a.port };
  }

  /** Milliseconds since the proxy opened (the clock of the blackout window). */
  now(): number {
    return performance.now() - this.t0;
  }

  /** Black out both directions for `ms` from now. */
  blackout(ms: number): void {
    const now = this.now();
    this.up.setBlackout(now, now + ms);
    this.down.setBlackout(now, now + ms);
  }

  /** A snapshot of the counters. */
  counters(): ImpairProxyCounters {
    return { up: { ...this.up.counters }, down: { ...this.down.counters }, flows: this.flows.size, flowsRefused: this.flowsRefused, sendErrors: this.sendErrors };
  }

  private fromClient(msg: Buffer, from: UdpAddress): void {
    const key = `${from.address}:${from.port}`;
    let flow = this.flows.get(key);
    if (flow === undefined) {
      if (this.flows.size >= (this.o.maxFlows ?? 4096)) {
        this.flowsRefused++;
        return;
      }
      const sock = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
      sock.on('message', (m) => this.schedule(this.down, m, this.front, from));
      sock.on('error', () => this.sendErrors++);
      // Datagrams that arrive while the back socket binds wait for it, in order.
      flow = { sock, ready: bind(sock, this.o.backAddress ?? this.o.listen.address, 0) };
      this.flows.set(key, flow);
    }
    const f = flow;
    if (f.bound === true) this.schedule(this.up, msg, f.sock, this.o.target);
    else {
      void f.ready.then(
        () => {
          f.bound = true;
          this.schedule(this.up, msg, f.sock, this.o.target);
        },
        () => this.sendErrors++,
      );
    }
  }

  private schedule(core: ImpairmentCore, msg: Buffer, sock: Socket, to: UdpAddress): void {
    if (this.closed) return;
    const now = this.now();
    for (const d of core.decide(now, msg)) this.heap.push({ at: d.at, seq: this.seq++, data: d.data, sock, to });
    this.drain();
  }

  /** Send everything due, then arm the one timer for the next. */
  private drain(): void {
    const now = this.now();
    for (let p = this.heap.peek(); p !== undefined && p.at <= now; p = this.heap.peek()) {
      this.heap.pop();
      p.sock.send(p.data, p.to.port, p.to.address, (e) => {
        if (e) this.sendErrors++;
      });
    }
    const next = this.heap.peek();
    if (next === undefined || this.closed) return;
    if (this.timer !== undefined && this.timerAt <= next.at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = next.at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.drain();
      },
      Math.max(0, next.at - now),
    );
  }

  /** Stop forwarding and close every socket (pending deliveries are dropped). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const socks = [this.front, ...[...this.flows.values()].map((f) => f.sock)];
    await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.flows.clear();
  }
}
