/**
 * Closed-loop packet rate: keep up to `window` packets in flight, count receptions over `seconds`
 * after a 300 ms warm-up (a window that stalls for 50 ms is reset, its packets counted as lost).
 */
import { performance } from 'node:perf_hooks';

/** One measurement. */
export interface Measured {
  readonly sent: number;
  readonly received: number;
  readonly seconds: number;
}

/** Packets per second of a measurement. */
export const pps = (m: Measured | undefined): number | undefined => (m === undefined ? undefined : m.received / m.seconds);

/** Called when the measured interval starts and ends (e.g. to read a process's CPU time). */
export interface Interval {
  start(): void;
  end(): void;
}

/**
 * Send with `send` (false = not now) while fewer than `window` are in flight; `hook(onReceive)` wires
 * the receive side; `interval` (optional) is told when the measured interval starts and ends.
 */
export async function windowed(send: () => boolean, hook: (onReceive: () => void) => void, window: number, seconds: number, interval?: Interval): Promise<Measured> {
  let inflight = 0;
  let sent = 0;
  let received = 0;
  let running = true;
  const refill = (): void => {
    while (running && inflight < window) {
      if (!send()) break;
      inflight++;
      sent++;
    }
  };
  hook(() => {
    received++;
    if (inflight > 0) inflight--;
    if (inflight <= window - 16) refill();
  });
  let seen = -1;
  const stall = setInterval(() => {
    if (received === seen) {
      inflight = 0;
      refill();
    }
    seen = received;
  }, 50);
  refill();
  await new Promise((r) => setTimeout(r, 300));
  const s0 = sent;
  const r0 = received;
  interval?.start();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const out = { sent: sent - s0, received: received - r0, seconds: (performance.now() - t0) / 1000 };
  interval?.end();
  running = false;
  clearInterval(stall);
  await new Promise((r) => setTimeout(r, 100));
  return out;
}
