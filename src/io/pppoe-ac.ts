/**
 * The I/O shell of one PPPoE access concentrator: a {@link PacketSocket} on the interface, the sans-I/O
 * `PppoeAccessConcentrator` fed with every received batch, its transmits sent, its events handed to
 * the owner and its timer kept on a TimerDriver. The owner binds a session's sink on `session-up`
 * (`port.ac.bindSink`) and sends PPP with `sendPpp`.
 */
import type { Instant, RandomSource } from '../base/index.js';
import { PppoeAccessConcentrator, type FrameSink, type PppoeAcConfig, type PppoeAcEvent } from '../access/pppoe/index.js';
import { systemClock, type Clock } from './clock.js';
import type { NativeIoError } from './native.js';
import { PacketSocket, type PacketSocketOptions } from './packet-socket.js';
import { cryptoRandom } from './random.js';
import { TimerDriver } from './timer-driver.js';

/** RFC 2516 §7, RFC 4638 §2: the PPPoE header (6) and the PPP Protocol field (2) leave MTU - 8 for the PPP payload. */
const PPPOE_OVERHEAD = 8;

/** Options for {@link PppoeAcPort.open}. */
export interface PppoeAcPortOptions {
  readonly socket: PacketSocketOptions;
  /** AC settings; `mac` is the interface's, `maxPayload` defaults to its MTU - 8, `random` to the CSPRNG. */
  readonly ac: Omit<PppoeAcConfig, 'mac' | 'random' | 'maxPayload'> & { readonly maxPayload?: number; readonly random?: RandomSource };
  /** What happened (sessions up/down): bind sinks here. */
  readonly onEvent: (e: PppoeAcEvent) => void;
  /**
   * After every received batch (session frames went to their sinks without an event): the owner drains
   * the cores those sinks fed, so their events go out and their timers are re-armed now.
   */
  readonly afterBatch?: () => void;
  /** A shared timer driver (default: one of its own). */
  readonly timers?: TimerDriver;
  readonly clock?: Clock;
  /** Send or receive failures (default: thrown asynchronously). */
  readonly onError?: (e: NativeIoError) => void;
}

/** One AC on one interface. */
export class PppoeAcPort {
  /** The core. */
  readonly ac: PppoeAccessConcentrator;
  /** Frames the kernel refused (queue full). */
  sendDrops = 0;
  private readonly clock: Clock;
  private readonly timers: TimerDriver;
  private readonly ownTimers: boolean;
  private readonly removeTimer: () => void;
  private flushing = false;

  private constructor(
    readonly socket: PacketSocket,
    private readonly opts: PppoeAcPortOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.ownTimers = opts.timers === undefined;
    this.timers = opts.timers ?? new TimerDriver({ now: this.clock.now });
    const { random, maxPayload, ...ac } = opts.ac;
    this.ac = new PppoeAccessConcentrator(
      { ...ac, mac: socket.mac, random: random ?? cryptoRandom, maxPayload: maxPayload ?? socket.mtu - PPPOE_OVERHEAD },
      this.clock.now(),
    );
    this.removeTimer = this.timers.add(this.ac, () => this.flush());
    socket.onError((e) => this.fail(e));
    socket.onPackets((batch) => {
      const now: Instant = this.clock.now();
      for (let i = 0; i < batch.count; i++) this.ac.handleFrame(now, batch.packet(i));
      this.flush();
      this.timers.touch(this.ac);
      opts.afterBatch?.();
    });
  }

  /** Open the interface and start answering discovery. Throws like {@link PacketSocket.open}. */
  static open(opts: PppoeAcPortOptions): PppoeAcPort {
    return new PppoeAcPort(PacketSocket.open(opts.socket), opts);
  }

  private fail(e: NativeIoError): void {
    if (this.opts.onError === undefined) throw e;
    this.opts.onError(e);
  }

  private transmit(frame: Uint8Array): void {
    try {
      if (!this.socket.send(frame)) this.sendDrops++;
    } catch (e: unknown) {
      this.fail(e as NativeIoError);
    }
  }

  /** Send what the core queued and hand over its events (events may queue more; loop until quiet). */
  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (;;) {
        const f = this.ac.pollTransmit();
        if (f !== undefined) {
          this.transmit(f);
          continue;
        }
        const e = this.ac.pollEvent();
        if (e === undefined) break;
        this.opts.onEvent(e);
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Frame and send one PPP frame of a session (see `sendSession` for `headroomFree`); false if not sent. */
  sendPpp(sessionId: number, ppp: Uint8Array, headroomFree = false): boolean {
    const f = this.ac.sendSession(sessionId, ppp, headroomFree);
    if (f === undefined) return false;
    this.transmit(f);
    return true;
  }

  /** Bind a session's sink once (frames that came before it are delivered now). */
  bindSink(sessionId: number, sink: FrameSink, now: Instant): boolean {
    return this.ac.bindSink(sessionId, sink, now);
  }

  /** End a session with a PADT. */
  closeSession(sessionId: number, detail?: string): boolean {
    const r = this.ac.close(sessionId, detail);
    this.flush();
    return r;
  }

  /** PADT to every session, then close the socket and the timer. */
  shutdown(detail?: string): void {
    if (this.socket.closed) return;
    this.ac.shutdown(detail);
    this.flush();
    this.removeTimer();
    if (this.ownTimers) this.timers.close();
    this.socket.close();
  }
}
