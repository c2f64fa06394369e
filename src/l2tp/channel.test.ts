import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Duration, Instant } from '../base/time.js';
import type { ChannelTuning } from './api.js';
import { ReliableChannel, seqAdd, seqLt } from './channel.js';

const at = (ms: number): Instant => ms as Instant;
const tuning = (over: Partial<ChannelTuning> = {}): ChannelTuning => ({
  receiveWindow: 4,
  retransmitInitial: 1000 as Duration,
  retransmitCap: 16000 as Duration,
  retriesEstablished: 6,
  retriesNotEstablished: 3,
  ackDelay: 100 as Duration,
  helloInterval: 60000 as Duration,
  helloMissCount: 3,
  ...over,
});

interface Sent {
  ns: number;
  nr: number;
  body: string | undefined;
  re: boolean;
}

function make(over: Partial<ChannelTuning> = {}): { ch: ReliableChannel<string>; sent: Sent[]; retx: number[] } {
  const sent: Sent[] = [];
  const retx: number[] = [];
  const ch = new ReliableChannel<string>(
    tuning(over),
    { transmit: (ns, nr, body, re) => sent.push({ ns, nr, body, re }) },
    (_ns, _attempt, nextIn) => retx.push(nextIn),
  );
  return { ch, sent, retx };
}

test('seqLt and seqAdd wrap modulo 2^16 (§5.8)', () => {
  const cases: [number, number, boolean][] = [
    [0, 1, true],
    [1, 0, false],
    [65535, 0, true],
    [0, 65535, false],
    [65000, 100, true],
    [100, 65000, false],
    [5, 5, false],
  ];
  for (const [a, b, want] of cases) assert.equal(seqLt(a, b), want, `${a} < ${b}`);
  assert.equal(seqAdd(65535, 1), 0);
});

/** Drive the timers at exact instants and record when retransmissions happen. */
function schedule(established: boolean): { times: number[]; failedAt: number; ch: ReliableChannel<string>; retx: number[] } {
  const { ch, sent, retx } = make();
  ch.established = established;
  ch.send(at(0), 'm0');
  const times: number[] = [];
  let failedAt = -1;
  for (let guard = 0; guard < 20; guard++) {
    const due = ch.pollAt();
    assert.ok(due !== undefined);
    // Nothing happens 1 ms before the deadline.
    const before = sent.length;
    assert.equal(ch.handleTimeout(at(due - 1)), 'ok');
    assert.equal(sent.length, before, `nothing at ${due - 1}`);
    const r = ch.handleTimeout(at(due));
    if (r === 'failed') {
      failedAt = due;
      break;
    }
    assert.equal(sent.length, before + 1);
    assert.equal(sent.at(-1)?.re, true);
    times.push(due);
  }
  return { times, failedAt, ch, retx };
}

test('retransmission schedule, established: 1, +2, +4, +8, +16, +16, then failure after the 6th', () => {
  const { times, failedAt, retx } = schedule(true);
  assert.deepEqual(times, [1000, 3000, 7000, 15000, 31000, 47000]);
  assert.deepEqual(retx, [2000, 4000, 8000, 16000, 16000, 16000]);
  assert.equal(failedAt, 63000);
});

test('retransmission schedule, not established: separate (smaller) retry count', () => {
  const { times, failedAt } = schedule(false);
  assert.deepEqual(times, [1000, 3000, 7000]);
  assert.equal(failedAt, 15000);
});

test('retransmission: SSTHRESH = max(CWND/2,1), CWND = 1 (Appendix A)', () => {
  const { ch } = make();
  ch.setPeerWindow(8);
  ch.cwnd = 6;
  ch.send(at(0), 'a');
  ch.handleTimeout(at(1000));
  assert.equal(ch.cwnd, 1);
  assert.equal(ch.ssthresh, 3);
});

test('an ack stops retransmission', () => {
  const { ch, sent } = make();
  ch.send(at(0), 'a');
  ch.receive(at(500), 0, 1, undefined, () => assert.fail('zlb delivers nothing'));
  assert.equal(ch.inFlight, 0);
  assert.equal(ch.pollAt(), undefined);
  ch.handleTimeout(at(5000));
  assert.equal(sent.length, 1);
});

test('slow start then congestion avoidance; never more than min(CWND, peer RWS) in flight', () => {
  const { ch, sent } = make();
  ch.setPeerWindow(4);
  for (let i = 0; i < 12; i++) ch.send(at(0), `m${i}`);
  assert.equal(sent.length, 1, 'CWND starts at 1');
  ch.receive(at(10), 0, 1, undefined, () => {});
  assert.equal(ch.cwnd, 2);
  assert.equal(sent.length, 3);
  ch.receive(at(20), 0, 3, undefined, () => {});
  assert.equal(ch.cwnd, 4, 'slow start: +1 per ack up to SSTHRESH');
  assert.equal(ch.inFlight, 4);
  assert.equal(sent.length, 7);
  // Above SSTHRESH growth is +1 per CWND acks and capped at the peer's window.
  ch.receive(at(30), 0, 7, undefined, () => {});
  assert.equal(ch.cwnd, 4);
  assert.equal(ch.inFlight, 4);
});

test('peer window absent → 4 (§4.4.3)', () => {
  const { ch } = make();
  ch.setPeerWindow(undefined);
  assert.equal(ch.peerWindow, 4);
});

test('in-order delivery, reorder queue, duplicates acked but not re-delivered', () => {
  const { ch, sent } = make();
  const got: string[] = [];
  const deliver = (m: string): void => {
    got.push(m);
  };
  assert.equal(ch.receive(at(0), 1, 0, 'b', deliver), 'queued');
  assert.equal(ch.receive(at(0), 2, 0, 'c', deliver), 'queued');
  assert.deepEqual(got, []);
  assert.equal(ch.receive(at(1), 0, 0, 'a', deliver), 'delivered');
  assert.deepEqual(got, ['a', 'b', 'c']);
  assert.equal(ch.nr, 3);
  assert.equal(ch.receive(at(2), 1, 0, 'b', deliver), 'duplicate');
  assert.deepEqual(got, ['a', 'b', 'c']);
  assert.equal(ch.stats.duplicates, 1);
  // Beyond our window (4): dropped.
  assert.equal(ch.receive(at(3), 3 + 4, 0, 'x', deliver), 'out-of-window');
  // The ZLB ack comes after ackDelay, carrying Nr=3.
  assert.equal(ch.pollAt(), 100);
  ch.handleTimeout(at(99));
  assert.equal(sent.length, 0);
  ch.handleTimeout(at(100));
  assert.deepEqual(sent, [{ ns: 0, nr: 3, body: undefined, re: false }]);
});

test('a message sent before the ack delay piggybacks Nr and cancels the ZLB', () => {
  const { ch, sent } = make();
  ch.receive(at(0), 0, 0, 'req', () => ch.send(at(0), 'reply'));
  assert.deepEqual(sent, [{ ns: 0, nr: 1, body: 'reply', re: false }]);
  assert.equal(ch.ackPending, false);
  ch.handleTimeout(at(100));
  assert.equal(sent.length, 1);
});

test('sequence numbers wrap at 2^16 on both sides', () => {
  const { ch, sent } = make();
  const got: string[] = [];
  // Push our Ns and the peer's Ns to the wrap point.
  for (let i = 0; i < 65535; i++) {
    ch.send(at(i), 'x');
    ch.receive(at(i), i, (i + 1) & 0xffff, 'y', () => {});
  }
  assert.equal(ch.ns, 65535);
  assert.equal(ch.nr, 65535);
  ch.send(at(70000), 'last');
  assert.equal(sent.at(-1)?.ns, 65535);
  ch.receive(at(70000), 65535, 0, 'p', (m) => got.push(m));
  ch.receive(at(70000), 0, 0, 'q', (m) => got.push(m));
  assert.deepEqual(got, ['p', 'q']);
  assert.equal(ch.nr, 1);
  assert.equal(ch.inFlight, 0, 'Nr=0 acknowledged Ns 65535');
  ch.send(at(70001), 'after');
  assert.equal(sent.at(-1)?.ns, 0);
});
