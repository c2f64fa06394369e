/**
 * The RADIUS client core on a virtual clock, accounting side (RFC 2866): record attributes and
 * Gigawords, Acct-Delay-Time on retries with a new Identifier and authenticator, late answers to an
 * old Identifier, per-session order, Accounting-On/Off barriers, outages with deferral, the
 * durable spool protocol and replay after a restart — nothing lost, nothing duplicated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../base/random.js';
import { instant, type Instant } from '../../base/time.js';
import { RADIUS_ATTR, RADIUS_CODE, TERMINATE_CAUSE, attributeValue, type DecodedAttribute } from '../../wire/radius/index.js';
import type { RadiusClient, RadiusClientOptions } from './client.js';
import { decodeSpooledRecord, encodeSpooledRecord, interimDelayMs } from './record-codec.js';
import { answer, drainAll, seeRequest, takeEvents, takeTransmits, testClient, TEST_EPOCH } from '../../../test/lib/radius-client.js';
import type { AccountingRecord, AccountingSeq, RadiusServerConfig, RadiusTransmit, SpooledRecord, SpoolWork } from './types.js';

const SECRET = 'acct-secret';
const secret = new TextEncoder().encode(SECRET);
const EPOCH = TEST_EPOCH;
const t = (ms: number): Instant => instant(ms);
const server = (name: string, address: string, extra: Partial<RadiusServerConfig> = {}): RadiusServerConfig => ({ name, address, secret: SECRET, timeoutMs: 1000, retries: 2, deadTimeMs: 10_000, ...extra });

function client(o: Partial<RadiusClientOptions> = {}): RadiusClient {
  return testClient({
    seed: 7,
    accountingServers: [server('acct1', '192.0.2.1')],
    ...o,
  });
}

const drain = drainAll;
const sent = takeTransmits;
const events = takeEvents;
const attrsOf = (x: RadiusTransmit): readonly DecodedAttribute[] => seeRequest(x.data, secret).decoded.attributes;
const from = (address: string): { address: string; port: number } => ({ address, port: 1813 });
/** Answer every pending transmit from its server; returns what was answered. */
function answerAll(c: RadiusClient, now: Instant, txs: readonly RadiusTransmit[]): void {
  for (const x of txs) c.handleDatagram(now, answer(seeRequest(x.data, secret).packet, secret, RADIUS_CODE.AccountingResponse, [], { messageAuthenticator: false }), { address: x.to.address, port: x.to.port });
}
const rec = (sessionId: string, status: AccountingRecord['status'], at: number, extra: Partial<AccountingRecord> = {}): AccountingRecord => ({ status, sessionId, timestamp: EPOCH + at, username: 'alice', ...extra });
const keyOf = (x: RadiusTransmit): string => {
  const a = attrsOf(x);
  return `${attributeValue(a, RADIUS_ATTR.AcctSessionId) ?? ''}:${attributeValue(a, RADIUS_ATTR.AcctStatusType) ?? ''}:${attributeValue(a, RADIUS_ATTR.AcctSessionTime) ?? ''}`;
};

test('Stop record: counters with Gigawords (RFC 2869 §5.1), session time, Terminate-Cause, Class echo, Event-Timestamp', () => {
  const c = client();
  const r = c.account(t(0), rec('s1', 'stop', -3000, { counters: { inputOctets: 2 ** 32 + 5, outputOctets: 7, inputPackets: 11, outputPackets: 13 }, sessionTime: 3600, terminateCause: TERMINATE_CAUSE.IdleTimeout, classes: [Uint8Array.of(9, 9)], framedIpAddress: '100.64.0.5' }));
  assert.ok(r.ok);
  const [x] = sent(c);
  assert.ok(x !== undefined);
  const seen = seeRequest(x.data, secret);
  assert.equal(seen.packet.code, RADIUS_CODE.AccountingRequest);
  assert.equal(seen.check.authenticatorOk, true, 'RFC 2866 §3 Request Authenticator');
  const a = seen.decoded.attributes;
  assert.equal(attributeValue(a, RADIUS_ATTR.AcctStatusType), 2);
  assert.equal(attributeValue(a, RADIUS_ATTR.AcctInputOctets), 5);
  assert.equal(attributeValue(a, RADIUS_ATTR.AcctInputGigawords), 1);
  assert.equal(attributeValue(a, RADIUS_ATTR.AcctOutputOctets), 7);
  assert.equal(attributeValue(a, RADIUS_ATTR.AcctOutputGigawords), 0);
  assert.equal(attributeValue(a, RADIUS_ATTR.AcctInputPackets), 11);
  assert.equal(attributeValue(a, RADIUS_ATTR.AcctSessionTime), 3600);
  assert.equal(attributeValue(a, RADIUS_ATTR.AcctTerminateCause), TERMINATE_CAUSE.IdleTimeout);
  assert.deepEqual(attributeValue(a, RADIUS_ATTR.Class), Uint8Array.of(9, 9));
  assert.equal(attributeValue(a, RADIUS_ATTR.FramedIpAddress), 0x64400005);
  assert.equal(attributeValue(a, RADIUS_ATTR.EventTimestamp), Math.floor((EPOCH - 3000) / 1000));
  assert.equal(attributeValue(a, RADIUS_ATTR.AcctDelayTime), 3);
  // Records that cannot be encoded are refused up front.
  assert.equal(c.account(t(0), rec('s2', 'start', 0, { username: 'x'.repeat(300) })).ok, false);
  assert.equal(c.account(t(0), rec('s2', 'start', 0, { framedIpAddress: 'not-an-ip' })).ok, false);
});

test('retries carry the new Acct-Delay-Time under a new Identifier (RFC 2866 §5.2); a late answer to the first still completes it', () => {
  const c = client();
  c.account(t(0), rec('s1', 'start', 0));
  const [a] = sent(c);
  c.handleTimeout(t(1000));
  c.handleTimeout(t(2000));
  const retries = sent(c);
  assert.equal(retries.length, 2);
  const b = retries.at(-1);
  assert.ok(a !== undefined && b !== undefined);
  const pa = seeRequest(a.data, secret).packet;
  const pb = seeRequest(b.data, secret).packet;
  assert.notEqual(pa.identifier, pb.identifier);
  assert.notDeepEqual(pa.authenticator, pb.authenticator);
  assert.equal(attributeValue(attrsOf(a), RADIUS_ATTR.AcctDelayTime), 0);
  assert.equal(attributeValue(attrsOf(b), RADIUS_ATTR.AcctDelayTime), 2);
  assert.equal(c.snapshot().servers[0]?.pending, 3, 'three Identifiers held by one record');
  // The answer to the first transmission arrives late: it is this record's answer.
  c.handleDatagram(t(2100), answer(pa, secret, RADIUS_CODE.AccountingResponse, [], { messageAuthenticator: false }), from('192.0.2.1'));
  const ev = events(c);
  assert.deepEqual(ev.map((e) => e.type), ['accounting-delivered']);
  assert.equal(c.snapshot().servers[0]?.pending, 0);
  assert.deepEqual(drain(() => c.pollSpool()), [
    { kind: 'append', records: [{ seq: 1, record: rec('s1', 'start', 0) }] },
    { kind: 'ack', seqs: [1] },
  ]);
});

test('one session\'s records go one at a time and in order; other sessions go in parallel', () => {
  const c = client();
  c.account(t(0), rec('A', 'start', 0));
  c.account(t(0), rec('A', 'interim-update', 0, { sessionTime: 60 }));
  c.account(t(0), rec('B', 'start', 0));
  c.account(t(0), rec('A', 'stop', 0, { sessionTime: 120 }));
  c.account(t(0), rec('B', 'stop', 0, { sessionTime: 5 }));
  const order: string[] = [];
  for (let round = 0; round < 5; round++) {
    const txs = sent(c);
    order.push(txs.map(keyOf).join(' '));
    answerAll(c, t(round + 1), txs);
  }
  assert.deepEqual(order, ['A:1: B:1:', 'A:3:60 B:2:5', 'A:2:120', '', '']);
});

test('Accounting-On is a barrier: sent when everything before it is answered, nothing after it before it is answered', () => {
  const c = client();
  c.account(t(0), rec('A', 'start', 0));
  c.account(t(0), { status: 'accounting-on', sessionId: 'on-1', timestamp: EPOCH });
  c.account(t(0), rec('B', 'start', 0));
  const r1 = sent(c);
  assert.deepEqual(r1.map(keyOf), ['A:1:']);
  answerAll(c, t(1), r1);
  const r2 = sent(c);
  assert.deepEqual(r2.map(keyOf), ['on-1:7:']);
  assert.equal(attributeValue(attrsOf(r2[0] as RadiusTransmit), RADIUS_ATTR.NasPortType), undefined, 'On/Off carry no session attributes');
  answerAll(c, t(2), r2);
  assert.deepEqual(sent(c).map(keyOf), ['B:1:']);
});

test('outage: both servers down while records are produced; every record arrives once and in order when one returns', () => {
  const c = client({ accountingServers: [server('p', '192.0.2.1', { retries: 1 }), server('s', '192.0.2.2', { retries: 1, priority: 2 })], accounting: { retryIntervalMs: 2000, maxInFlight: 4 } });
  const produced: string[] = [];
  let now = 0;
  const seenAt = new Map<string, number>();
  const delivered: string[] = [];
  for (let i = 0; i < 12; i++) {
    const sid = `S${i % 3}`;
    const status = i < 3 ? 'start' : i >= 9 ? 'stop' : 'interim-update';
    c.account(t(now), rec(sid, status, now, { sessionTime: i }));
    produced.push(`${sid}:${status}:${i}`);
    // Nothing answers for the first 25 s.
    for (let k = 0; k < 20; k++) {
      now += 100;
      c.handleTimeout(t(now));
      sent(c);
    }
  }
  assert.ok(events(c).some((e) => e.type === 'accounting-deferred'));
  assert.equal(c.snapshot().accountingQueued, 12);
  // Server s is back: answer whatever reaches it from now on.
  for (let k = 0; k < 400 && c.snapshot().accountingQueued > 0; k++) {
    now += 100;
    c.handleTimeout(t(now));
    for (const x of sent(c)) {
      if (x.server !== 's') continue;
      const key = keyOf(x);
      seenAt.set(key, (seenAt.get(key) ?? 0) + 1);
      answerAll(c, t(now), [x]);
    }
    for (const e of events(c)) if (e.type === 'accounting-delivered') delivered.push(`${e.record.sessionId}:${e.record.status}:${e.record.sessionTime ?? ''}`);
  }
  assert.equal(c.snapshot().accountingQueued, 0);
  assert.deepEqual([...delivered].sort(), [...produced].sort(), 'none missing, none extra');
  assert.equal(new Set(delivered).size, delivered.length, 'none duplicated');
  for (const sid of ['S0', 'S1', 'S2']) {
    const mine = delivered.filter((d) => d.startsWith(`${sid}:`));
    assert.deepEqual(mine, produced.filter((d) => d.startsWith(`${sid}:`)), `order of ${sid}`);
  }
  assert.ok([...seenAt.values()].every((n) => n === 1), 'each record answered once by the returning server');
});

test('durable mode: a record is sent only after the spool confirmed it; replay after a restart keeps order and sequence numbers', () => {
  const c = client({ accounting: { durable: true } });
  const s1 = c.account(t(0), rec('A', 'start', 0));
  const s2 = c.account(t(0), rec('A', 'interim-update', 0, { sessionTime: 30 }));
  assert.ok(s1.ok && s2.ok);
  assert.equal(sent(c).length, 0, 'not before the spool wrote it');
  const work = drain(() => c.pollSpool());
  assert.deepEqual(work.map((w) => w.kind), ['append']);
  assert.equal(c.snapshot().spoolUncommitted, 2);
  c.spoolCommitted(t(1), s2.value);
  const txs = sent(c);
  assert.deepEqual(txs.map(keyOf), ['A:1:']);
  answerAll(c, t(2), txs);
  assert.deepEqual(drain(() => c.pollSpool()), [{ kind: 'ack', seqs: [1] }]);

  // "Restart": a new client gets the unacknowledged records back from the spool.
  const pending: SpooledRecord[] = (work[0] as Extract<SpoolWork, { kind: 'append' }>).records.filter((r) => r.seq !== 1);
  const lines = pending.map(encodeSpooledRecord);
  const restored = lines.map((l) => {
    const d = decodeSpooledRecord(l);
    assert.ok(d.ok);
    return d.value;
  });
  const c2 = client({ accounting: { durable: true } });
  assert.equal(c2.restoreAccounting(t(0), restored), 1);
  const again = sent(c2);
  assert.deepEqual(again.map(keyOf), ['A:3:30']);
  // Acct-Delay-Time counts from the original event.
  assert.equal(attributeValue(attrsOf(again[0] as RadiusTransmit), RADIUS_ATTR.AcctDelayTime), 0);
  const s3 = c2.account(t(0), rec('B', 'start', 0));
  assert.ok(s3.ok && s3.value === (3 as AccountingSeq), 'sequence numbers continue after the restored ones');
  assert.throws(() => c2.restoreAccounting(t(0), restored));
});

test('queue bound: beyond maxQueued a record is refused with queue-full', () => {
  const c = client({ accounting: { maxQueued: 2 } });
  assert.ok(c.account(t(0), rec('A', 'start', 0)).ok);
  assert.ok(c.account(t(0), rec('B', 'start', 0)).ok);
  const r = c.account(t(0), rec('C', 'start', 0));
  assert.ok(!r.ok && r.error.kind === 'queue-full');
});

test('spool lines: round trip with octet strings; damaged lines are typed errors', () => {
  const r: SpooledRecord = { seq: 5 as AccountingSeq, record: rec('A', 'stop', 0, { classes: [Uint8Array.of(0, 255)], framedIpv6Prefix: { length: 64, prefix: new Uint8Array(16).fill(1) }, terminateCause: TERMINATE_CAUSE.LostCarrier }) };
  const d = decodeSpooledRecord(encodeSpooledRecord(r));
  assert.ok(d.ok);
  assert.deepEqual(d.value, r);
  for (const bad of ['', '{', '{"seq":0,"record":{}}', '{"seq":1,"record":{"status":"x","sessionId":"a","timestamp":1}}', '{"seq":1,"record":{"status":"stop","sessionId":"a","timestamp":1,"terminateCause":99}}']) {
    assert.equal(decodeSpooledRecord(bad).ok, false, bad);
  }
});

test('interim jitter: spread within ±10 % of the interval, at least 60 s', () => {
  const r = seededRandom(1);
  const xs = Array.from({ length: 2000 }, () => interimDelayMs(300_000, r));
  assert.ok(Math.min(...xs) >= 270_000 && Math.max(...xs) <= 330_000);
  assert.ok(Math.max(...xs) - Math.min(...xs) > 50_000, 'actually spread');
  assert.equal(interimDelayMs(10_000, r, 0), 10_000);
  assert.ok(interimDelayMs(61_000, r) >= 60_000);
});
