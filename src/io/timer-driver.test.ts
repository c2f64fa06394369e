import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instant, type Instant, type Timed } from '../base/time.js';
import { TimerDriver, type TimerScheduler } from './timer-driver.js';

/** A virtual host timer: records what is armed, and `advance` fires it like the event loop would. */
class FakeScheduler implements TimerScheduler {
  t = 0;
  pending: { id: number; at: number; cb: () => void } | undefined;
  sets = 0;
  clears = 0;
  unrefs = 0;
  private nextId = 1;
  set(cb: () => void, delayMs: number): unknown {
    assert.equal(this.pending, undefined, 'only one host timer may be armed');
    this.sets++;
    const id = this.nextId++;
    this.pending = { id, at: this.t + delayMs, cb };
    return id;
  }
  clear(handle: unknown): void {
    if (this.pending?.id === handle) this.pending = undefined;
    this.clears++;
  }
  unref(): void {
    this.unrefs++;
  }
  now = (): Instant => instant(this.t);
  /** Move time to `to`, firing the host timer each time it is due. */
  advance(to: number): void {
    for (let guard = 0; guard < 1000; guard++) {
      const p = this.pending;
      if (p === undefined || p.at > to) break;
      this.t = Math.max(this.t, p.at);
      this.pending = undefined;
      p.cb();
    }
    this.t = to;
  }
}

/** A core with a list of deadlines; records when handleTimeout ran. */
class FakeCore implements Timed {
  readonly fired: number[] = [];
  constructor(public deadlines: number[]) {}
  pollAt(): Instant | undefined {
    const d = this.deadlines[0];
    return d === undefined ? undefined : instant(d);
  }
  handleTimeout(now: Instant): void {
    while (this.deadlines[0] !== undefined && this.deadlines[0] <= now) {
      this.deadlines.shift();
      this.fired.push(now);
    }
  }
}

test('arms one host timer for the earliest of many cores', () => {
  const s = new FakeScheduler();
  const d = new TimerDriver({ now: s.now, scheduler: s });
  const a = new FakeCore([100, 300]);
  const b = new FakeCore([50]);
  const c = new FakeCore([]);
  d.add(a);
  d.add(b);
  d.add(c);
  assert.equal(d.armedAt, 50);
  assert.equal(s.pending?.at, 50);
  s.advance(49);
  assert.deepEqual(b.fired, []);
  s.advance(50);
  assert.deepEqual(b.fired, [50]);
  assert.deepEqual(a.fired, []);
  assert.equal(d.armedAt, 100);
  s.advance(1000);
  assert.deepEqual(a.fired, [100, 300]);
  assert.equal(d.armedAt, undefined);
  assert.equal(s.pending, undefined);
  assert.equal(d.wakeups, 3);
});

test('only due cores are called, and the after-hook runs right after handleTimeout', () => {
  const s = new FakeScheduler();
  const d = new TimerDriver({ now: s.now, scheduler: s });
  const calls: string[] = [];
  const b = new FakeCore([10]);
  let aDeadline: number | undefined = 10;
  const a2: Timed = {
    pollAt: () => (aDeadline === undefined ? undefined : instant(aDeadline)),
    handleTimeout: (now) => {
      calls.push(`a2@${now}`);
      aDeadline = undefined;
    },
  };
  d.add(b, () => calls.push('after-b'));
  d.add(a2, () => calls.push('after-a2'));
  const far: Timed = { pollAt: () => instant(5000), handleTimeout: () => calls.push('far') };
  d.add(far);
  s.advance(10);
  assert.deepEqual(calls, ['after-b', 'a2@10', 'after-a2']);
  assert.equal(d.armedAt, 5000);
});

test('touch re-arms when input moves a core deadline earlier or later', () => {
  const s = new FakeScheduler();
  const d = new TimerDriver({ now: s.now, scheduler: s });
  const core = new FakeCore([1000]);
  d.add(core);
  assert.equal(d.armedAt, 1000);
  core.deadlines = [200];
  // Without touch the driver still trusts its cached deadline.
  assert.equal(d.armedAt, 1000);
  d.touch(core);
  assert.equal(d.armedAt, 200);
  const setsBefore = s.sets;
  d.touch(core); // unchanged deadline: no re-arm
  assert.equal(s.sets, setsBefore);
  core.deadlines = [];
  d.touch(core);
  assert.equal(d.armedAt, undefined);
  assert.equal(s.pending, undefined);
});

test('a deadline moved later keeps the armed host timer; its early wake-up runs nothing and arms the new one', () => {
  const s = new FakeScheduler();
  const d = new TimerDriver({ now: s.now, scheduler: s });
  const core = new FakeCore([100]);
  d.add(core);
  assert.equal(s.sets, 1);
  for (let i = 1; i <= 20; i++) {
    core.deadlines = [100 + i * 10];
    d.touch(core);
  }
  assert.equal(s.sets, 1, 'no re-arm per later deadline');
  assert.equal(s.clears, 0);
  assert.equal(d.armedAt, 100);
  s.advance(100);
  assert.deepEqual(core.fired, [], 'nothing runs before its deadline');
  assert.equal(d.armedAt, 300);
  s.advance(299);
  assert.deepEqual(core.fired, []);
  s.advance(300);
  assert.deepEqual(core.fired, [300]);
  assert.equal(d.armedAt, undefined);
});

test('a deadline already in the past fires with delay 0', () => {
  const s = new FakeScheduler();
  s.t = 500;
  const d = new TimerDriver({ now: s.now, scheduler: s });
  const core = new FakeCore([100]);
  d.add(core);
  assert.equal(s.pending?.at, 500);
  s.advance(500);
  assert.deepEqual(core.fired, [500]);
});

test('remove and close disarm; unref is applied when asked', () => {
  const s = new FakeScheduler();
  const d = new TimerDriver({ now: s.now, scheduler: s, unref: true });
  const a = new FakeCore([10]);
  const removeA = d.add(a);
  assert.equal(s.unrefs, 1);
  removeA();
  assert.equal(d.size, 0);
  assert.equal(s.pending, undefined);
  const b = new FakeCore([20]);
  d.add(b);
  d.close();
  assert.equal(s.pending, undefined);
  d.fire();
  assert.deepEqual(b.fired, []);
});

test('a throwing core is reported and does not stop the others', () => {
  const s = new FakeScheduler();
  const errors: unknown[] = [];
  const d = new TimerDriver({ now: s.now, scheduler: s, onError: (e) => errors.push(e) });
  let armed = true;
  const bad: Timed = {
    pollAt: () => (armed ? instant(5) : undefined),
    handleTimeout: () => {
      armed = false;
      throw new Error('boom');
    },
  };
  const good = new FakeCore([5]);
  d.add(bad);
  d.add(good);
  s.advance(5);
  assert.equal(errors.length, 1);
  assert.deepEqual(good.fired, [5]);
});

test('a core added from a hook during a wake-up is armed afterwards', () => {
  const s = new FakeScheduler();
  const d = new TimerDriver({ now: s.now, scheduler: s });
  const late = new FakeCore([40]);
  d.add(new FakeCore([10]), () => d.add(late));
  s.advance(10);
  assert.equal(d.armedAt, 40);
  s.advance(40);
  assert.deepEqual(late.fired, [40]);
});

test('thousands of cores: one host timer, each core fired exactly at its deadline', () => {
  const s = new FakeScheduler();
  const d = new TimerDriver({ now: s.now, scheduler: s });
  const cores: FakeCore[] = [];
  for (let i = 0; i < 2000; i++) {
    const c = new FakeCore([1 + ((i * 7919) % 1000)]);
    cores.push(c);
    d.add(c);
  }
  s.advance(2000);
  for (const c of cores) assert.equal(c.fired.length, 1);
  assert.ok(d.wakeups <= 1000);
});

test('the real node scheduler fires a core (smoke)', async () => {
  const { now } = await import('./clock.js');
  const d = new TimerDriver({ now });
  const start = now();
  await new Promise<void>((resolve) => {
    d.add({
      pollAt: () => instant(start + 15),
      handleTimeout: (t) => {
        assert.ok(t >= start + 14);
        d.close();
        resolve();
      },
    });
  });
});

test('coalesceMs: the deadlines of one window run in one wake-up at its end, never early, at most one window late', () => {
  const s = new FakeScheduler();
  const d = new TimerDriver({ now: s.now, scheduler: s, coalesceMs: 10 });
  // 1,000 deadlines 1 ms apart (an echo cohort in the access server's heap).
  const deadlines = Array.from({ length: 1000 }, (_, i) => 1001 + i);
  const core = new FakeCore([...deadlines]);
  d.add(core);
  assert.equal(d.armedAt, 1010, 'armed for the end of the window holding 1001');
  s.advance(3000);
  assert.equal(core.fired.length, 1000);
  for (let i = 0; i < deadlines.length; i++) {
    const due = deadlines[i] ?? 0;
    const ran = core.fired[i] ?? 0;
    assert.ok(ran >= due && ran - due < 10, `deadline ${due} ran at ${ran}`);
  }
  // 1,000 ms of deadlines in 10 ms windows: 100 wake-ups (one per window, 1001..2000 spans windows 1010..2000).
  assert.equal(d.wakeups, 100);
  const s2 = new FakeScheduler();
  const plain = new TimerDriver({ now: s2.now, scheduler: s2 });
  plain.add(new FakeCore([1001]));
  assert.equal(plain.armedAt, 1001, 'without coalesceMs the exact deadline');
});
