/**
 * The TUN side of the data fast path: where the access layer hands IP packets for the kernel. The I/O
 * shell binds its TUN device (src/io) here, so an inbound packet goes UDP -> engine -> session sink ->
 * PPP link -> dataplane -> this writer without a queue or an event; without one the packets wait in a
 * queue for `pollTunWrite()` (tests, simulations).
 */
import { Fifo } from '../base/index.js';

/** Takes one IP packet for the TUN device. Synchronous and never throws (the shell counts failures). */
export interface TunWriter {
  writePacket(packet: Uint8Array): void;
}

/** A `TunWriter` that keeps the packets for a later `poll()`. */
export class TunQueue implements TunWriter {
  private readonly q = new Fifo<Uint8Array>();

  /** Queue a packet. */
  writePacket(packet: Uint8Array): void {
    this.q.push(packet);
  }

  /** The oldest queued packet, or undefined. */
  poll(): Uint8Array | undefined {
    return this.q.shift();
  }
}
