import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instant, type Instant } from '../base/time.js';
import { Pump, type PolledCore } from './pump.js';
import { TimerDriver, type TimerScheduler } from './timer-driver.js';

/** A virtual host timer (one at a time, like TimerDriver's). */
class Sched implements TimerScheduler {
  t = 0;
  pending: { at: number; cb: () => void } | undefined;
  set(cb: () => void, delayMs: number): unknown {
    this.pending = { at: this.t + delayMs, cb };
    return this.pending;
  }
  clear(h: unknown): void {
    if (this.pending === h) this.pending = undefined;
  }
  now = (): Instant => instant(this.t);
  advance(to: number): void {
    while (this.pending !== undefined && this.pending.at <= to) {
      const p = this.pending;
      this.pending = undefined;
      this.t = p.at;
      p.cb();
    }
    this.t = to;
  }
}

/** A core that queues what it is told to, with one timer that emits a tick event. */
class Core implements PolledCore<string, string> {
  readonly tx: string[] = [];
  readonly ev: string[] = [];
  deadline: Instant | undefined;
  handleTimeout(now: Instant): void {
    if (this.deadline !== undefined && now >= this.deadline) {
      this.deadline = undefined;
      this.ev.push(`tick@${now}`);
    }
  }
  pollAt(): Instant | undefined {
    return this.deadline;
  }
  pollTransmit(): string | undefined {
    return this.tx.shift();
  }
  pollEvent(): string | undefined {
    return this.ev.shift();
  }
}

function setup(maxDrain?: number): { s: Sched; timers: TimerDriver; core: Core; sent: string[]; seen: string[]; pump: Pump<string, string> } {
  const s = new Sched();
  const timers = new TimerDriver({ now: s.now, scheduler: s });
  const core = new Core();
  const sent: string[] = [];
  const seen: string[] = [];
  const pump = new Pump(core, { clock: { now: s.now }, timers, transmit: (t) => sent.push(t), event: (e) => seen.push(e), ...(maxDrain !== undefined ? { maxDrain } : {}) });
  return { s, timers, core, sent, seen, pump };
}

test('run feeds the core with the current instant, then drains transmits and events and arms its timer', () => {
  const { s, core, sent, seen, pump } = setup();
  s.t = 5;
  const r = pump.run((now) => {
    core.tx.push('a', 'b');
    core.ev.push('e1');
    core.deadline = instant(now + 10);
    return now;
  });
  assert.equal(r, 5);
  assert.deepEqual(sent, ['a', 'b']);
  assert.deepEqual(seen, ['e1']);
  assert.equal(s.pending?.at, 15, 'the shared timer is armed for the core');
  s.advance(14);
  assert.deepEqual(seen, ['e1'], 'not before its instant');
  s.advance(15);
  assert.deepEqual(seen, ['e1', 'tick@15'], 'the timeout ran and was drained');
});

test('a drain asked for from inside a drain (an event handler feeding the core) is folded into the running one', () => {
  const s = new Sched();
  const core = new Core();
  const sent: string[] = [];
  let fed = false;
  const p2 = new Pump(core, {
    clock: { now: s.now },
    timers: new TimerDriver({ now: s.now, scheduler: s }),
    transmit: (t) => sent.push(t),
    event: () => {
      if (fed) return;
      fed = true;
      core.tx.push('reply');
      p2.drain(); // re-entrant
    },
  });
  core.ev.push('rx');
  p2.drain();
  assert.deepEqual(sent, ['reply'], 'the reply queued by the handler went out in the same drain');
});

test('bounded per turn: the rest goes out on the next turn; chained pumps are drained after; kick defers', async () => {
  const { core, sent, pump } = setup(3);
  const chained: string[] = [];
  const undo = pump.chain({ drain: () => chained.push('after') });
  for (let i = 0; i < 8; i++) core.tx.push(`t${i}`);
  pump.drain();
  assert.deepEqual(sent, ['t0', 't1', 't2']);
  assert.deepEqual(chained, ['after']);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent, ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7']);
  undo();
  const n = chained.length;
  core.tx.push('k');
  pump.kick();
  pump.kick();
  assert.equal(sent.length, 8, 'kick drains later, not now');
  await Promise.resolve();
  assert.deepEqual(sent.slice(8), ['k']);
  assert.equal(chained.length, n, 'an undone chain is not drained any more');
});

test('a throwing callback is reported, the drain goes on; close stops the timer', () => {
  const s = new Sched();
  const timers = new TimerDriver({ now: s.now, scheduler: s });
  const core = new Core();
  const errors: Error[] = [];
  const sent: string[] = [];
  const pump = new Pump(core, {
    clock: { now: s.now },
    timers,
    transmit: (t) => {
      if (t === 'bad') throw new Error('send failed');
      sent.push(t);
    },
    event: () => undefined,
    onError: (e) => errors.push(e),
  });
  core.tx.push('bad', 'good');
  pump.drain();
  assert.deepEqual(sent, ['good']);
  assert.deepEqual(errors.map((e) => e.message), ['send failed']);
  core.deadline = instant(100);
  pump.drain();
  assert.equal(s.pending?.at, 100);
  pump.close();
  assert.equal(s.pending, undefined, 'no timer left for a closed pump');
  core.tx.push('late');
  pump.drain();
  assert.deepEqual(sent, ['good']);
});
