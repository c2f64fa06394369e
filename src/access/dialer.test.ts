import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instant, millis, seconds, type Instant } from '../base/index.js';
import type { TunnelId } from '../wire/l2tp/index.js';
import { DEFAULT_REDIAL_BACKOFF, DIALER_TABLE, Dialer, type DialerConfig, type DialerEvent, type DialerInput, type DialerState } from './dialer.js';

const T = (n: number): TunnelId => n as TunnelId;

/** Drain every request and notice except state changes (those are checked through `state`). */
function drain(d: Dialer): DialerEvent[] {
  const out: DialerEvent[] = [];
  for (let e = d.pollEvent(); e !== undefined; e = d.pollEvent()) if (e.type !== 'state') out.push(e);
  return out;
}

/** One scripted step: at `at` ms feed `input` (or only run the timer), then expect `events` and `state`. */
interface Step {
  readonly at: number;
  readonly input?: DialerInput;
  readonly events: readonly DialerEvent[];
  readonly state: DialerState;
}

function play(config: DialerConfig, steps: readonly Step[]): void {
  const d = new Dialer(config);
  for (const [i, s] of steps.entries()) {
    const now = instant(s.at);
    if (s.input !== undefined) d.handle(now, s.input);
    d.handleTimeout(now);
    assert.deepEqual(drain(d), s.events, `step ${i} (${s.at} ms, ${s.input?.type ?? 'timer'}): events`);
    assert.equal(d.state, s.state, `step ${i} (${s.at} ms, ${s.input?.type ?? 'timer'}): state`);
  }
}

const plain: DialerConfig = { redial: true, ipsec: false, sessions: 2 };
const once: DialerConfig = { redial: false, ipsec: false, sessions: 1 };
const ipsec: DialerConfig = { redial: true, ipsec: true, sessions: 1 };
const ipsecOnce: DialerConfig = { redial: false, ipsec: true, sessions: 1 };

const CASES: readonly { readonly name: string; readonly config: DialerConfig; readonly steps: readonly Step[] }[] = [
  {
    name: 'dial, tunnel up, calls placed; other tunnels on a shared socket are ignored',
    config: plain,
    steps: [
      { at: 0, input: { type: 'dial' }, events: [{ type: 'open-tunnel', via: undefined }], state: 'connecting' },
      { at: 1, input: { type: 'tunnel-opened', tunnel: T(7) }, events: [], state: 'connecting' },
      { at: 5, input: { type: 'tunnel-up', tunnel: T(8) }, events: [], state: 'connecting' },
      { at: 9, input: { type: 'tunnel-up', tunnel: T(7) }, events: [{ type: 'open-sessions', tunnel: T(7), count: 2 }], state: 'established' },
      { at: 20, input: { type: 'tunnel-down', tunnel: T(8) }, events: [], state: 'established' },
      { at: 21, input: { type: 'dial' }, events: [], state: 'established' },
    ],
  },
  {
    name: 'always-on: a lost tunnel is redialled at exactly 1 s, not before; established resets the backoff',
    config: plain,
    steps: [
      { at: 0, input: { type: 'dial' }, events: [{ type: 'open-tunnel', via: undefined }], state: 'connecting' },
      { at: 0, input: { type: 'tunnel-opened', tunnel: T(1) }, events: [], state: 'connecting' },
      { at: 10, input: { type: 'tunnel-down', tunnel: T(1) }, events: [{ type: 'redial-scheduled', after: seconds(1), attempt: 1 }], state: 'waiting-redial' },
      { at: 1009, events: [], state: 'waiting-redial' },
      { at: 1010, events: [{ type: 'open-tunnel', via: undefined }], state: 'connecting' },
      { at: 1010, input: { type: 'tunnel-opened', tunnel: T(2) }, events: [], state: 'connecting' },
      { at: 1500, input: { type: 'tunnel-down', tunnel: T(2) }, events: [{ type: 'redial-scheduled', after: seconds(2), attempt: 2 }], state: 'waiting-redial' },
      { at: 3499, events: [], state: 'waiting-redial' },
      { at: 3500, events: [{ type: 'open-tunnel', via: undefined }], state: 'connecting' },
      { at: 3500, input: { type: 'tunnel-opened', tunnel: T(3) }, events: [], state: 'connecting' },
      { at: 3600, input: { type: 'tunnel-up', tunnel: T(3) }, events: [{ type: 'open-sessions', tunnel: T(3), count: 2 }], state: 'established' },
      { at: 9000, input: { type: 'tunnel-down', tunnel: T(3) }, events: [{ type: 'redial-scheduled', after: seconds(1), attempt: 1 }], state: 'waiting-redial' },
    ],
  },
  {
    name: 'redial = false: one attempt; a loss stops the dialer until the next dial',
    config: once,
    steps: [
      { at: 0, input: { type: 'dial' }, events: [{ type: 'open-tunnel', via: undefined }], state: 'connecting' },
      { at: 0, input: { type: 'tunnel-opened', tunnel: T(4) }, events: [], state: 'connecting' },
      { at: 50, input: { type: 'tunnel-down', tunnel: T(4) }, events: [], state: 'stopped' },
      { at: 100_000, events: [], state: 'stopped' },
      { at: 100_001, input: { type: 'dial' }, events: [{ type: 'open-tunnel', via: undefined }], state: 'connecting' },
    ],
  },
  {
    name: 'hang-up: StopCCN, no redial after the tunnel closes; dial brings it back',
    config: plain,
    steps: [
      { at: 0, input: { type: 'dial' }, events: [{ type: 'open-tunnel', via: undefined }], state: 'connecting' },
      { at: 0, input: { type: 'tunnel-opened', tunnel: T(5) }, events: [], state: 'connecting' },
      { at: 10, input: { type: 'tunnel-up', tunnel: T(5) }, events: [{ type: 'open-sessions', tunnel: T(5), count: 2 }], state: 'established' },
      { at: 20, input: { type: 'hangup' }, events: [{ type: 'close-tunnel', tunnel: T(5) }], state: 'stopped' },
      { at: 30, input: { type: 'tunnel-down', tunnel: T(5) }, events: [], state: 'stopped' },
      { at: 60_000, events: [], state: 'stopped' },
      { at: 60_001, input: { type: 'hangup' }, events: [], state: 'stopped' },
      { at: 60_002, input: { type: 'dial' }, events: [{ type: 'open-tunnel', via: undefined }], state: 'connecting' },
    ],
  },
  {
    name: 'hang-up while waiting for a redial cancels it; dial during the wait dials at once',
    config: plain,
    steps: [
      { at: 0, input: { type: 'dial' }, events: [{ type: 'open-tunnel', via: undefined }], state: 'connecting' },
      { at: 0, input: { type: 'tunnel-opened', tunnel: T(6) }, events: [], state: 'connecting' },
      { at: 5, input: { type: 'tunnel-down', tunnel: T(6) }, events: [{ type: 'redial-scheduled', after: seconds(1), attempt: 1 }], state: 'waiting-redial' },
      { at: 6, input: { type: 'dial' }, events: [{ type: 'open-tunnel', via: undefined }], state: 'connecting' },
      { at: 6, input: { type: 'tunnel-opened', tunnel: T(7) }, events: [], state: 'connecting' },
      { at: 7, input: { type: 'tunnel-down', tunnel: T(7) }, events: [{ type: 'redial-scheduled', after: seconds(1), attempt: 1 }], state: 'waiting-redial' },
      { at: 8, input: { type: 'hangup' }, events: [], state: 'stopped' },
      { at: 2000, events: [], state: 'stopped' },
    ],
  },
  {
    name: 'IPsec: the flow first, the tunnel inside it; SA loss redials through a new Quick Mode',
    config: ipsec,
    steps: [
      { at: 0, input: { type: 'dial' }, events: [{ type: 'request-flow' }], state: 'ipsec-connecting' },
      { at: 40, input: { type: 'flow-up', via: 'ipsec:1' }, events: [{ type: 'open-tunnel', via: 'ipsec:1' }], state: 'connecting' },
      { at: 40, input: { type: 'tunnel-opened', tunnel: T(9) }, events: [], state: 'connecting' },
      { at: 60, input: { type: 'tunnel-up', tunnel: T(9) }, events: [{ type: 'open-sessions', tunnel: T(9), count: 1 }], state: 'established' },
      { at: 70, input: { type: 'flow-down', via: 'ipsec:7' }, events: [], state: 'established' },
      // ESP SA deleted / expired / DPD: the gate closed the tunnel; redial without waiting for the StopCCN linger.
      { at: 100, input: { type: 'flow-down', via: 'ipsec:1' }, events: [{ type: 'redial-scheduled', after: seconds(1), attempt: 1 }], state: 'waiting-redial' },
      { at: 200, input: { type: 'tunnel-down', tunnel: T(9) }, events: [], state: 'waiting-redial' },
      { at: 1100, events: [{ type: 'request-flow' }], state: 'ipsec-connecting' },
      { at: 1150, input: { type: 'flow-up', via: 'ipsec:2' }, events: [{ type: 'open-tunnel', via: 'ipsec:2' }], state: 'connecting' },
    ],
  },
  {
    name: 'IPsec: a flow that is still up when the redial is due is reused (no new Quick Mode)',
    config: ipsec,
    steps: [
      { at: 0, input: { type: 'dial' }, events: [{ type: 'request-flow' }], state: 'ipsec-connecting' },
      { at: 1, input: { type: 'flow-up', via: 'ipsec:1' }, events: [{ type: 'open-tunnel', via: 'ipsec:1' }], state: 'connecting' },
      { at: 1, input: { type: 'tunnel-opened', tunnel: T(3) }, events: [], state: 'connecting' },
      { at: 9, input: { type: 'tunnel-down', tunnel: T(3) }, events: [{ type: 'redial-scheduled', after: seconds(1), attempt: 1 }], state: 'waiting-redial' },
      { at: 1009, events: [{ type: 'open-tunnel', via: 'ipsec:1' }], state: 'connecting' },
    ],
  },
  {
    name: 'IPsec: Main Mode failing (IKE SA gone before any flow) redials with backoff; a refused Quick Mode restarts IKE',
    config: ipsec,
    steps: [
      { at: 0, input: { type: 'dial' }, events: [{ type: 'request-flow' }], state: 'ipsec-connecting' },
      { at: 30_000, input: { type: 'ike-down' }, events: [{ type: 'redial-scheduled', after: seconds(1), attempt: 1 }], state: 'waiting-redial' },
      { at: 31_000, events: [{ type: 'request-flow' }], state: 'ipsec-connecting' },
      { at: 31_500, input: { type: 'ike-refused' }, events: [{ type: 'close-ike' }], state: 'ipsec-connecting' },
      { at: 31_500, input: { type: 'ike-down' }, events: [{ type: 'redial-scheduled', after: seconds(2), attempt: 2 }], state: 'waiting-redial' },
      { at: 33_499, events: [], state: 'waiting-redial' },
      { at: 33_500, events: [{ type: 'request-flow' }], state: 'ipsec-connecting' },
    ],
  },
  {
    name: 'IPsec without redial: a lost tunnel deletes the SAs; losing the flow stops too',
    config: ipsecOnce,
    steps: [
      { at: 0, input: { type: 'dial' }, events: [{ type: 'request-flow' }], state: 'ipsec-connecting' },
      { at: 1, input: { type: 'flow-up', via: 'ipsec:1' }, events: [{ type: 'open-tunnel', via: 'ipsec:1' }], state: 'connecting' },
      { at: 1, input: { type: 'tunnel-opened', tunnel: T(2) }, events: [], state: 'connecting' },
      { at: 5, input: { type: 'tunnel-up', tunnel: T(2) }, events: [{ type: 'open-sessions', tunnel: T(2), count: 1 }], state: 'established' },
      { at: 50, input: { type: 'tunnel-down', tunnel: T(2) }, events: [{ type: 'close-ike' }], state: 'stopped' },
      { at: 51, input: { type: 'flow-down', via: 'ipsec:1' }, events: [{ type: 'close-ike' }], state: 'stopped' },
      { at: 60, input: { type: 'dial' }, events: [{ type: 'request-flow' }], state: 'ipsec-connecting' },
      { at: 70, input: { type: 'ike-down' }, events: [], state: 'stopped' },
    ],
  },
  {
    name: 'IPsec hang-up: StopCCN inside the flow, the IKE SA goes when the ESP SA does',
    config: ipsec,
    steps: [
      { at: 0, input: { type: 'dial' }, events: [{ type: 'request-flow' }], state: 'ipsec-connecting' },
      { at: 1, input: { type: 'flow-up', via: 'ipsec:1' }, events: [{ type: 'open-tunnel', via: 'ipsec:1' }], state: 'connecting' },
      { at: 1, input: { type: 'tunnel-opened', tunnel: T(4) }, events: [], state: 'connecting' },
      { at: 3, input: { type: 'tunnel-up', tunnel: T(4) }, events: [{ type: 'open-sessions', tunnel: T(4), count: 1 }], state: 'established' },
      { at: 10, input: { type: 'hangup' }, events: [{ type: 'close-tunnel', tunnel: T(4) }], state: 'stopped' },
      { at: 5010, input: { type: 'flow-down', via: 'ipsec:1' }, events: [{ type: 'close-ike' }], state: 'stopped' },
      { at: 6000, input: { type: 'dial' }, events: [{ type: 'request-flow' }], state: 'ipsec-connecting' },
      { at: 6001, input: { type: 'hangup' }, events: [{ type: 'close-ike' }], state: 'stopped' },
    ],
  },
  {
    name: 'shutdown halts: no request and no redial afterwards',
    config: plain,
    steps: [
      { at: 0, input: { type: 'dial' }, events: [{ type: 'open-tunnel', via: undefined }], state: 'connecting' },
      { at: 0, input: { type: 'tunnel-opened', tunnel: T(1) }, events: [], state: 'connecting' },
      { at: 1, input: { type: 'tunnel-down', tunnel: T(1) }, events: [{ type: 'redial-scheduled', after: seconds(1), attempt: 1 }], state: 'waiting-redial' },
      { at: 2, input: { type: 'shutdown' }, events: [], state: 'stopped' },
      { at: 5000, events: [], state: 'stopped' },
      { at: 5001, input: { type: 'dial' }, events: [], state: 'stopped' },
    ],
  },
];

for (const c of CASES) test(`dialer: ${c.name}`, () => play(c.config, c.steps));

test('dialer: the documented redial schedule 1, 2, 4, 8, 16, 32, 60, 60 s (exact instants)', () => {
  const d = new Dialer(plain);
  let now = instant(0);
  let id = 100;
  d.handle(now, { type: 'dial' });
  const delays: number[] = [];
  for (let i = 0; i < 8; i++) {
    drain(d);
    d.handle(now, { type: 'tunnel-opened', tunnel: T(++id) });
    d.handle(now, { type: 'tunnel-down', tunnel: T(id) });
    drain(d);
    const at = d.pollAt();
    assert.ok(at !== undefined);
    delays.push(at - now);
    d.handleTimeout(instant(at - 1));
    assert.equal(d.state, 'waiting-redial', `attempt ${i + 1}: not before ${at}`);
    now = at;
    d.handleTimeout(now);
    assert.equal(d.state, 'connecting', `attempt ${i + 1}: at ${at}`);
  }
  assert.deepEqual(delays, [1, 2, 4, 8, 16, 32, 60, 60].map((s) => s * 1000));
  assert.deepEqual(DEFAULT_REDIAL_BACKOFF, { initial: seconds(1), max: seconds(60) });
});

test('dialer: a custom backoff (the daemon tests use 200 ms)', () => {
  play({ ...plain, backoff: { initial: millis(200), max: millis(500) } }, [
    { at: 0, input: { type: 'dial' }, events: [{ type: 'open-tunnel', via: undefined }], state: 'connecting' },
    { at: 0, input: { type: 'tunnel-opened', tunnel: T(1) }, events: [], state: 'connecting' },
    { at: 0, input: { type: 'tunnel-down', tunnel: T(1) }, events: [{ type: 'redial-scheduled', after: millis(200), attempt: 1 }], state: 'waiting-redial' },
    { at: 200, events: [{ type: 'open-tunnel', via: undefined }], state: 'connecting' },
    { at: 200, input: { type: 'tunnel-opened', tunnel: T(2) }, events: [], state: 'connecting' },
    { at: 200, input: { type: 'tunnel-down', tunnel: T(2) }, events: [{ type: 'redial-scheduled', after: millis(400), attempt: 2 }], state: 'waiting-redial' },
    { at: 600, events: [{ type: 'open-tunnel', via: undefined }], state: 'connecting' },
    { at: 600, input: { type: 'tunnel-opened', tunnel: T(3) }, events: [], state: 'connecting' },
    { at: 600, input: { type: 'tunnel-down', tunnel: T(3) }, events: [{ type: 'redial-scheduled', after: millis(500), attempt: 3 }], state: 'waiting-redial' },
  ]);
});

test('dialer: pollAt is the input instant while requests wait (the driver runs the shell after the call), then the redial', () => {
  const d = new Dialer(plain);
  assert.equal(d.pollAt(), undefined);
  d.handle(instant(42), { type: 'dial' });
  assert.equal(d.pollAt(), 42);
  assert.deepEqual(d.pollEvent(), { type: 'open-tunnel', via: undefined });
  assert.equal(d.pollAt(), 42, 'still the state notice queued');
  assert.deepEqual(d.pollEvent(), { type: 'state', from: 'stopped', to: 'connecting' });
  assert.equal(d.pollAt(), undefined);
  d.handle(instant(50), { type: 'tunnel-opened', tunnel: T(3) });
  d.handle(instant(60), { type: 'tunnel-down', tunnel: T(3) });
  assert.equal(d.pollAt(), 60);
  drain(d);
  assert.equal(d.pollAt(), 1060 as Instant);
  assert.deepEqual(d.info(), { state: 'waiting-redial', tunnel: undefined, via: undefined, redialAt: 1060, attempts: 1 });
});

test('dialer: an input that arrives before the shell drained a request drops it when it is stale', () => {
  const d = new Dialer(ipsec);
  d.handle(instant(0), { type: 'dial' });
  d.handle(instant(1), { type: 'ike-down' });
  assert.deepEqual(drain(d), [{ type: 'redial-scheduled', after: seconds(1), attempt: 1 }], 'no request-flow left');
  d.handleTimeout(instant(1001));
  d.handle(instant(1002), { type: 'flow-up', via: 'ipsec:4' });
  d.handle(instant(1003), { type: 'flow-down', via: 'ipsec:4' });
  assert.deepEqual(drain(d), [{ type: 'redial-scheduled', after: seconds(2), attempt: 2 }], 'neither request-flow nor open-tunnel left');
  assert.equal(d.pollAt(), 3003);
});

test('dialer table: rows are reachable and consistent', () => {
  const states: readonly DialerState[] = ['stopped', 'ipsec-connecting', 'connecting', 'established', 'waiting-redial'];
  for (const [i, r] of DIALER_TABLE.entries()) {
    assert.ok(r.from.length > 0 && r.from.every((s) => states.includes(s)), `row ${i}: from`);
    // A row is shadowed when an earlier row with the same input matches every state and a subset of its guards.
    const shadow = DIALER_TABLE.slice(0, i).find((p) => p.on === r.on && r.from.every((s) => p.from.includes(s)) && (p.when ?? []).every((g) => (r.when ?? []).includes(g)));
    assert.equal(shadow, undefined, `row ${i} (${r.on} from ${r.from.join('|')}) is shadowed by an earlier row`);
  }
});
