/**
 * The Dynamic Authorization server core (RFC 5176) against a fake session table: allow-list and
 * secrets, ACK / NAK with Error-Cause (§3.5), Proxy-State echo, Event-Timestamp window, duplicate
 * detection (same answer, one action), the supported CoA attributes, and the radclient capture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { instant, type Instant } from '../../base/time.js';
import {
  ERROR_CAUSE,
  RADIUS_ATTR,
  RADIUS_CODE,
  attributeValue,
  checkAuthenticators,
  decodeAttributes,
  encodeAttribute,
  encodeSignedPacket,
  parseRadiusPacket,
  type AttributeDef,
  type RadiusAttribute,
} from '../../wire/radius/index.js';
import { DaeServer, type CoaChanges, type DaeSessionIdentity, type DaeSessionTable } from './dae.js';

const SECRET = 'daesecret';
const secret = new TextEncoder().encode(SECRET);
const EPOCH = 1_700_000_000_000;
const t = (ms: number): Instant => instant(ms);

interface FakeSession {
  readonly id: string;
  readonly user: string;
  readonly ip: string;
  readonly port: number;
}

/** A session table that records what was done. */
class FakeTable implements DaeSessionTable<FakeSession> {
  readonly sessions: FakeSession[] = [
    { id: '0000000a', user: 'lab', ip: '100.64.9.9', port: 7 },
    { id: '0000000b', user: 'lab', ip: '100.64.9.10', port: 8 },
    { id: '0000000c', user: 'eve', ip: '100.64.9.11', port: 9 },
  ];
  readonly disconnected: string[] = [];
  readonly changed: { id: string; changes: CoaChanges }[] = [];
  find(q: DaeSessionIdentity): readonly FakeSession[] {
    return this.sessions.filter(
      (s) =>
        (q.acctSessionId === undefined || q.acctSessionId === s.id) &&
        (q.userName === undefined || q.userName === s.user) &&
        (q.framedIpAddress === undefined || q.framedIpAddress === s.ip) &&
        (q.nasPort === undefined || q.nasPort === s.port),
    );
  }
  disconnect(_now: Instant, s: FakeSession): { ok: true } {
    this.disconnected.push(s.id);
    return { ok: true };
  }
  change(_now: Instant, s: FakeSession, changes: CoaChanges): { ok: true } {
    this.changed.push({ id: s.id, changes });
    return { ok: true };
  }
}

function setup(extra: { requireEventTimestamp?: boolean; requireMessageAuthenticator?: boolean } = {}): { dae: DaeServer<FakeSession>; table: FakeTable } {
  const table = new FakeTable();
  const dae = new DaeServer<FakeSession>({
    clients: [
      { name: 'radius1', address: '198.51.100.0/24', secret: SECRET, ...(extra.requireMessageAuthenticator !== undefined ? { requireMessageAuthenticator: extra.requireMessageAuthenticator } : {}) },
      { name: 'v6', address: '2001:db8::53', secret: 'other' },
    ],
    sessions: table,
    nas: { ipAddress: '192.0.2.10', identifier: 'lns1' },
    wallClock: (now) => EPOCH + now,
    ...(extra.requireEventTimestamp !== undefined ? { requireEventTimestamp: extra.requireEventTimestamp } : {}),
  });
  return { dae, table };
}

const a = <T>(def: AttributeDef<T>, v: T): RadiusAttribute => {
  const r = encodeAttribute(def, v);
  assert.ok(r.ok);
  return r.value;
};
let nextId = 1;
function request(code: number, attrs: readonly RadiusAttribute[], opts: { secret?: Uint8Array; ma?: boolean; id?: number } = {}): Uint8Array {
  const r = encodeSignedPacket({ code, identifier: opts.id ?? nextId++ & 0xff, attributes: attrs, messageAuthenticator: opts.ma ?? false }, opts.secret ?? secret);
  assert.ok(r.ok);
  return r.value;
}
const FROM = { address: '198.51.100.7', port: 40000 };

/** The single answer of the last request: code, Error-Cause, authenticators checked against the request. */
function reply(dae: DaeServer<FakeSession>, req: Uint8Array): { code: number; cause: number | undefined; proxyStates: number } {
  const tx = dae.pollTransmit();
  assert.ok(tx !== undefined, 'an answer');
  assert.equal(dae.pollTransmit(), undefined);
  assert.deepEqual(tx.to, FROM);
  const p = parseRadiusPacket(tx.data);
  assert.ok(p.ok);
  assert.equal(p.value.identifier, req[1]);
  assert.equal(checkAuthenticators(tx.data, secret, req.subarray(4, 20)).authenticatorOk, true);
  const d = decodeAttributes(p.value);
  return { code: p.value.code, cause: attributeValue(d.attributes, RADIUS_ATTR.ErrorCause), proxyStates: p.value.attributes.filter((x) => x.type === 33).length };
}

test('Disconnect-Request by Acct-Session-Id: ACK, the session is disconnected; unknown session: NAK 503', () => {
  const { dae, table } = setup();
  const req = request(RADIUS_CODE.DisconnectRequest, [a(RADIUS_ATTR.AcctSessionId, '0000000a')]);
  dae.handleDatagram(t(0), req, FROM);
  assert.deepEqual(reply(dae, req), { code: RADIUS_CODE.DisconnectAck, cause: undefined, proxyStates: 0 });
  assert.deepEqual(table.disconnected, ['0000000a']);
  const ev = dae.pollEvent();
  assert.ok(ev?.type === 'answered' && ev.ack && ev.sessions === 1 && ev.request === 'disconnect');
  const unknown = request(RADIUS_CODE.DisconnectRequest, [a(RADIUS_ATTR.AcctSessionId, 'nope')]);
  dae.handleDatagram(t(1), unknown, FROM);
  assert.deepEqual(reply(dae, unknown), { code: RADIUS_CODE.DisconnectNak, cause: ERROR_CAUSE.SessionContextNotFound, proxyStates: 0 });
  assert.deepEqual(table.disconnected, ['0000000a']);
  assert.deepEqual(dae.stats().get('radius1'), { requests: 2, disconnectAcks: 1, disconnectNaks: 1, coaAcks: 0, coaNaks: 0, duplicates: 0, dropped: 0 });
});

test('identification: User-Name matches two sessions (both disconnected); all present attributes must match', () => {
  const { dae, table } = setup();
  const both = request(RADIUS_CODE.DisconnectRequest, [a(RADIUS_ATTR.UserName, 'lab')]);
  dae.handleDatagram(t(0), both, FROM);
  assert.equal(reply(dae, both).code, RADIUS_CODE.DisconnectAck);
  assert.deepEqual(table.disconnected, ['0000000a', '0000000b']);
  const mismatch = request(RADIUS_CODE.DisconnectRequest, [a(RADIUS_ATTR.UserName, 'eve'), a(RADIUS_ATTR.FramedIpAddress, 0x64400909)]);
  dae.handleDatagram(t(1), mismatch, FROM);
  assert.equal(reply(dae, mismatch).cause, ERROR_CAUSE.SessionContextNotFound);
  const byPortIp = request(RADIUS_CODE.DisconnectRequest, [a(RADIUS_ATTR.NasPort, 9), a(RADIUS_ATTR.FramedIpAddress, 0x6440090b)]);
  dae.handleDatagram(t(2), byPortIp, FROM);
  assert.equal(reply(dae, byPortIp).code, RADIUS_CODE.DisconnectAck);
  assert.deepEqual(table.disconnected.at(-1), '0000000c');
});

test('CoA-Request: Session-Timeout, Idle-Timeout, Acct-Interim-Interval applied; anything else NAK 401; Authorize-Only NAK 405', () => {
  const { dae, table } = setup();
  const coa = request(RADIUS_CODE.CoaRequest, [a(RADIUS_ATTR.AcctSessionId, '0000000a'), a(RADIUS_ATTR.SessionTimeout, 120), a(RADIUS_ATTR.IdleTimeout, 30), a(RADIUS_ATTR.AcctInterimInterval, 600)]);
  dae.handleDatagram(t(0), coa, FROM);
  assert.equal(reply(dae, coa).code, RADIUS_CODE.CoaAck);
  assert.deepEqual(table.changed, [{ id: '0000000a', changes: { sessionTimeout: 120, idleTimeout: 30, acctInterimInterval: 600 } }]);
  const filter = request(RADIUS_CODE.CoaRequest, [a(RADIUS_ATTR.AcctSessionId, '0000000a'), a(RADIUS_ATTR.FilterId, 'gold')]);
  dae.handleDatagram(t(1), filter, FROM);
  assert.deepEqual(reply(dae, filter), { code: RADIUS_CODE.CoaNak, cause: ERROR_CAUSE.UnsupportedAttribute, proxyStates: 0 });
  const authOnly = request(RADIUS_CODE.CoaRequest, [a(RADIUS_ATTR.AcctSessionId, '0000000a'), a(RADIUS_ATTR.ServiceType, 17)]);
  dae.handleDatagram(t(2), authOnly, FROM);
  assert.equal(reply(dae, authOnly).cause, ERROR_CAUSE.UnsupportedService);
  // Session-Timeout in a Disconnect-Request is not a change we do: 401.
  const disWithChange = request(RADIUS_CODE.DisconnectRequest, [a(RADIUS_ATTR.AcctSessionId, '0000000a'), a(RADIUS_ATTR.SessionTimeout, 1)]);
  dae.handleDatagram(t(3), disWithChange, FROM);
  assert.equal(reply(dae, disWithChange).cause, ERROR_CAUSE.UnsupportedAttribute);
  assert.equal(table.changed.length, 1);
  assert.deepEqual(table.disconnected, []);
});

test('missing / unsupported identification (402 / 401), NAS mismatch (403), malformed value (407), Proxy-State echoed in order', () => {
  const { dae } = setup();
  const cases: [RadiusAttribute[], number][] = [
    [[a(RADIUS_ATTR.EventTimestamp, Math.floor(EPOCH / 1000))], ERROR_CAUSE.MissingAttribute],
    [[a(RADIUS_ATTR.CallingStationId, '203.0.113.1')], ERROR_CAUSE.UnsupportedAttribute],
    [[a(RADIUS_ATTR.AcctSessionId, '0000000a'), a(RADIUS_ATTR.NasIpAddress, 0xc0000299)], ERROR_CAUSE.NasIdentificationMismatch],
    [[a(RADIUS_ATTR.AcctSessionId, '0000000a'), a(RADIUS_ATTR.NasIdentifier, 'other-lns')], ERROR_CAUSE.NasIdentificationMismatch],
    [[{ type: RADIUS_ATTR.NasPort.type, vendor: 0, value: Uint8Array.of(1, 2) }], ERROR_CAUSE.InvalidAttributeValue],
    [[a(RADIUS_ATTR.AcctSessionId, 'x'), { type: 1, vendor: 9, value: Uint8Array.of(1) }], ERROR_CAUSE.UnsupportedAttribute],
  ];
  for (const [attrs, cause] of cases) {
    const req = request(RADIUS_CODE.DisconnectRequest, attrs);
    dae.handleDatagram(t(0), req, FROM);
    assert.equal(reply(dae, req).cause, cause, JSON.stringify(attrs.map((x) => x.type)));
  }
  const ok = request(RADIUS_CODE.DisconnectRequest, [a(RADIUS_ATTR.ProxyState, Uint8Array.of(1)), a(RADIUS_ATTR.AcctSessionId, '0000000c'), a(RADIUS_ATTR.NasIpAddress, 0xc000020a), a(RADIUS_ATTR.ProxyState, Uint8Array.of(2))]);
  dae.handleDatagram(t(0), ok, FROM);
  const tx = dae.pollTransmit();
  assert.ok(tx !== undefined);
  const p = parseRadiusPacket(tx.data);
  assert.ok(p.ok && p.value.code === RADIUS_CODE.DisconnectAck);
  assert.deepEqual(p.value.attributes.filter((x) => x.type === 33).map((x) => [...x.value]), [[1], [2]]);
});

test('silently discarded and counted: unlisted source, wrong secret, bad or missing Message-Authenticator, other codes, stale Event-Timestamp', () => {
  const { dae, table } = setup({ requireMessageAuthenticator: false });
  const good = [a(RADIUS_ATTR.AcctSessionId, '0000000a')];
  dae.handleDatagram(t(0), request(RADIUS_CODE.DisconnectRequest, good), { address: '203.0.113.5', port: 1 });
  dae.handleDatagram(t(0), request(RADIUS_CODE.DisconnectRequest, good, { secret: new TextEncoder().encode('wrong') }), FROM);
  const badMa = request(RADIUS_CODE.DisconnectRequest, good, { ma: true });
  badMa[badMa.length - 1] = (badMa[badMa.length - 1] as number) ^ 1;
  // Re-compute the Request Authenticator over the damaged packet, so only the Message-Authenticator is wrong.
  badMa.fill(0, 4, 20);
  badMa.set(createHash('md5').update(badMa).update(secret).digest(), 4);
  dae.handleDatagram(t(0), badMa, FROM);
  dae.handleDatagram(t(0), request(RADIUS_CODE.AccountingRequest, good), FROM);
  dae.handleDatagram(t(0), request(RADIUS_CODE.DisconnectRequest, [...good, a(RADIUS_ATTR.EventTimestamp, Math.floor(EPOCH / 1000) - 301)]), FROM);
  dae.handleDatagram(t(0), Uint8Array.of(40, 1, 0), FROM);
  assert.equal(dae.pollTransmit(), undefined);
  assert.deepEqual(table.disconnected, []);
  const reasons: string[] = [];
  for (let e = dae.pollEvent(); e !== undefined; e = dae.pollEvent()) if (e.type === 'dropped') reasons.push(e.reason);
  assert.deepEqual(reasons, ['unknown-client', 'bad-authenticator', 'bad-message-authenticator', 'unexpected-code', 'stale-event-timestamp', 'malformed']);
  assert.equal(dae.unknownClients, 1);
  assert.equal(dae.stats().get('radius1')?.dropped, 5);
  // Inside the window is fine; a required Message-Authenticator / Event-Timestamp missing is dropped.
  const fresh = request(RADIUS_CODE.DisconnectRequest, [...good, a(RADIUS_ATTR.EventTimestamp, Math.floor(EPOCH / 1000) - 299)]);
  dae.handleDatagram(t(0), fresh, FROM);
  assert.equal(reply(dae, fresh).code, RADIUS_CODE.DisconnectAck);
  const strict = setup({ requireMessageAuthenticator: true, requireEventTimestamp: true });
  strict.dae.handleDatagram(t(0), request(RADIUS_CODE.DisconnectRequest, good), FROM);
  strict.dae.handleDatagram(t(0), request(RADIUS_CODE.DisconnectRequest, good, { ma: true }), FROM);
  const r: string[] = [];
  for (let e = strict.dae.pollEvent(); e !== undefined; e = strict.dae.pollEvent()) if (e.type === 'dropped') r.push(e.reason);
  assert.deepEqual(r, ['missing-message-authenticator', 'missing-event-timestamp']);
});

test('duplicates: the same request again gets the same answer and no second action; after the window it is new', () => {
  const { dae, table } = setup();
  const req = request(RADIUS_CODE.DisconnectRequest, [a(RADIUS_ATTR.AcctSessionId, '0000000a')], { ma: true });
  dae.handleDatagram(t(0), req, FROM);
  const first = dae.pollTransmit();
  dae.handleDatagram(t(1000), req, FROM);
  const second = dae.pollTransmit();
  assert.ok(first !== undefined && second !== undefined);
  assert.deepEqual(second.data, first.data);
  assert.deepEqual(table.disconnected, ['0000000a']);
  assert.equal(dae.stats().get('radius1')?.duplicates, 1);
  // The answer carries a valid Message-Authenticator because the request had one.
  assert.equal(checkAuthenticators(first.data, secret, req.subarray(4, 20)).messageAuthenticatorOk, true);
  assert.equal(dae.pollAt(), t(30_000));
  dae.handleTimeout(t(30_000));
  assert.equal(dae.pollAt(), undefined);
  dae.handleDatagram(t(30_001), req, FROM);
  assert.ok(dae.pollTransmit() !== undefined);
  assert.deepEqual(table.disconnected, ['0000000a', '0000000a']);
});

test('radclient\'s captured CoA-Request (Event-Timestamp 1700000000) is answered CoA-ACK with Session-Timeout 120', () => {
  const { dae, table } = setup();
  const coa = Uint8Array.from(Buffer.from('2b04002f2958dcad5e6be09723f50ad944ccb7a72c0a303030303030306101056c61621b060000007837066553f100', 'hex'));
  dae.handleDatagram(t(0), coa, FROM);
  assert.equal(reply(dae, coa).code, RADIUS_CODE.CoaAck);
  assert.deepEqual(table.changed, [{ id: '0000000a', changes: { sessionTimeout: 120 } }]);
});
