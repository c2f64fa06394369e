/**
 * The I/O shell of the RADIUS client core: UDP sockets (one per source address and family, bound
 * to an ephemeral port on first use), the shared timer driver, and the accounting spool. Datagrams
 * in become `core.handleDatagram`; after every input the core's transmits go out, its events go to
 * the callback, spool work is written (one batch at a time, fsync per batch) and the timer re-armed.
 *
 * A small local pump (socket -> core -> drain) rather than the generic one being written for the
 * L2TP engine; it can move onto that once it lands.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Instant } from '../base/index.js';
import type { AccountingRecord, RadiusAuthAnswer, RadiusAuthRequest, RadiusClient, RadiusClientEvent, RadiusRequestId, SpoolWork } from '../aaa/radius/index.js';
import type { Clock } from './clock.js';
import { RadiusSpoolFullError, type RadiusSpool } from './radius-spool.js';
import type { TimerDriver } from './timer-driver.js';

/** Options of a RadiusClientShell. */
export interface RadiusClientShellOptions {
  readonly core: RadiusClient;
  readonly clock: Clock;
  readonly timers: TimerDriver;
  /** Every core event, in order. */
  readonly onEvent?: (e: RadiusClientEvent) => void;
  /** Socket, send and spool errors (a full spool is a RadiusSpoolFullError). */
  readonly onError?: (e: Error) => void;
  /** The durable spool (the core should run with `accounting.durable: true`). */
  readonly spool?: RadiusSpool;
}

/** Counters of the shell. */
export interface RadiusShellStats {
  rxDatagrams: number;
  txDatagrams: number;
  sendErrors: number;
  spoolBatches: number;
  spoolErrors: number;
}

/** Drives one RadiusClient with real sockets, timers and the spool. */
export class RadiusClientShell {
  readonly stats: RadiusShellStats = { rxDatagrams: 0, txDatagrams: 0, sendErrors: 0, spoolBatches: 0, spoolErrors: 0 };
  private readonly sockets = new Map<string, Socket>();
  private readonly waiting = new Map<RadiusRequestId, (a: RadiusAuthAnswer) => void>();
  private readonly removeTimer: () => void;
  private spoolBusy: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly o: RadiusClientShellOptions) {
    this.removeTimer = o.timers.add(o.core, () => {
      this.drain();
    });
  }

  /** Run an operation on the core with the current instant, then drain. */
  run<T>(op: (now: Instant, core: RadiusClient) => T): T {
    try {
      return op(this.o.clock.now(), this.o.core);
    } finally {
      this.drain();
    }
  }

  /** Authenticate; resolves with the answer (events still go to `onEvent`). */
  authenticate(request: RadiusAuthRequest): Promise<RadiusAuthAnswer> {
    return new Promise((resolve) => {
      // Register before draining: an error answer is an event of this very call.
      const id = this.o.core.authenticate(this.o.clock.now(), request);
      this.waiting.set(id, resolve);
      this.drain();
    });
  }

  /** Queue an accounting record (see `RadiusClient.account`). */
  account(record: AccountingRecord): ReturnType<RadiusClient['account']> {
    return this.run((now, core) => core.account(now, record));
  }

  /** Send what the core queued, deliver its events, start spool work, re-arm the timer. */
  drain(): void {
    if (this.closed) return;
    const core = this.o.core;
    for (let t = core.pollTransmit(); t !== undefined; t = core.pollTransmit()) this.send(t.to, t.from, t.data);
    for (let e = core.pollEvent(); e !== undefined; e = core.pollEvent()) {
      if (e.type === 'auth-answer') {
        const w = this.waiting.get(e.request);
        if (w !== undefined) {
          this.waiting.delete(e.request);
          w(e.answer);
        }
      }
      this.o.onEvent?.(e);
    }
    this.pumpSpool();
    this.o.timers.touch(core);
  }

  /** Wait for the spool to finish what it is writing, then close the sockets (the spool stays open). */
  async close(): Promise<void> {
    while (this.spoolBusy !== undefined) await this.spoolBusy;
    this.closed = true;
    this.removeTimer();
    await Promise.all([...this.sockets.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.sockets.clear();
  }

  /** Wait until the spool has written everything polled so far. */
  async flushSpool(): Promise<void> {
    while (this.spoolBusy !== undefined) await this.spoolBusy;
  }

  private socketFor(toAddress: string, from: string | undefined): Socket {
    const family = isIP(toAddress) === 6 ? 6 : 4;
    const key = `${family}|${from ?? ''}`;
    let s = this.sockets.get(key);
    if (s === undefined) {
      const sock = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
      sock.on('message', (msg, rinfo) => {
        if (this.closed) return;
        this.stats.rxDatagrams++;
        this.o.core.handleDatagram(this.o.clock.now(), msg, { address: rinfo.address, port: rinfo.port });
        this.drain();
      });
      sock.on('error', (e) => this.o.onError?.(e));
      // Sends before the bind completes are queued by dgram.
      sock.bind(0, from);
      this.sockets.set(key, sock);
      s = sock;
    }
    return s;
  }

  private send(to: { readonly address: string; readonly port: number }, from: string | undefined, data: Uint8Array): void {
    this.stats.txDatagrams++;
    try {
      this.socketFor(to.address, from).send(data, to.port, to.address, (e) => {
        if (e !== null) {
          this.stats.sendErrors++;
          this.o.onError?.(e);
        }
      });
    } catch (e) {
      this.stats.sendErrors++;
      this.o.onError?.(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Take the core's spool work one item at a time: appends are confirmed to the core when written. */
  private pumpSpool(): void {
    if (this.spoolBusy !== undefined || this.closed) return;
    const work = this.o.core.pollSpool();
    if (work === undefined) return;
    this.spoolBusy = this.doSpool(work).finally(() => {
      this.spoolBusy = undefined;
      this.drain();
    });
  }

  private async doSpool(w: SpoolWork): Promise<void> {
    const spool = this.o.spool;
    try {
      if (spool !== undefined) {
        if (w.kind === 'append') await spool.append(w.records);
        else await spool.acknowledge(w.seqs);
        this.stats.spoolBatches++;
      }
    } catch (e) {
      // A full or failing spool must not stop accounting: the records stay queued in memory and
      // are still sent; the error is reported loudly.
      this.stats.spoolErrors++;
      this.o.onError?.(e instanceof RadiusSpoolFullError ? e : new Error(`RADIUS spool: ${String(e)}`));
    }
    if (w.kind === 'append') {
      const last = w.records[w.records.length - 1];
      if (last !== undefined) this.o.core.spoolCommitted(this.o.clock.now(), last.seq);
    }
  }
}
