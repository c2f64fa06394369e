import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Authenticator, verifyLocally } from './authenticator.js';
import { AuthPeer } from './peer.js';
import type { AuthOutcome, AuthRequest } from './types.js';
import { seededRandom } from '../../base/random.js';
import { instant, seconds } from '../../base/time.js';
import { PppProtocol } from '../../wire/ppp/frame.js';
import { parseChapPacket } from '../../wire/ppp/chap.js';
import { fromHex } from '../../base/index.js';

const users = { lookup: (u: string) => (u === 'User' ? { password: 'clientPass' } : undefined) };

function pair(method: 'pap' | 'chap-md5' | 'mschapv2', password = 'clientPass') {
  const toPeer: Uint8Array[] = [];
  const toAuth: Uint8Array[] = [];
  const done: { a?: AuthOutcome; p?: AuthOutcome } = {};
  const a = new Authenticator(method, { verifier: users, random: seededRandom(1), name: 'lns', restartTimer: seconds(3), maxChallenges: 3 }, {
    send: (_p, i) => toPeer.push(i),
    request: () => {},
    done: (o) => (done.a = o),
  });
  const p = new AuthPeer(method, { username: 'User', password, random: seededRandom(2), restartTimer: seconds(3), maxRequests: 3 }, {
    send: (_p, i) => toAuth.push(i),
    done: (o) => (done.p = o),
  });
  const proto = method === 'pap' ? PppProtocol.PAP : PppProtocol.CHAP;
  const run = (): void => {
    for (let i = 0; i < 10; i++) {
      const x = toPeer.shift();
      if (x !== undefined) p.receive(instant(0), proto, x);
      const y = toAuth.shift();
      if (y !== undefined) a.receive(instant(0), proto, y);
      if (x === undefined && y === undefined) return;
    }
  };
  return { a, p, run, done, toPeer, toAuth, proto };
}

for (const m of ['pap', 'chap-md5', 'mschapv2'] as const) {
  test(`auth ${m}: success both ways; wrong password fails`, () => {
    const ok = pair(m);
    ok.a.start(instant(0));
    ok.p.start(instant(0));
    ok.run();
    assert.equal(ok.done.a?.ok, true);
    assert.equal(ok.done.a?.username, 'User');
    assert.equal(ok.done.p?.ok, true);
    const bad = pair(m, 'wrong');
    bad.a.start(instant(0));
    bad.p.start(instant(0));
    bad.run();
    assert.equal(bad.done.a?.ok, false);
    assert.equal(bad.done.p?.ok, false);
    assert.equal(bad.done.p?.reason, 'failure-received');
  });
}

test('auth chap: Challenge retransmitted every 3 s with a new Identifier, gives up after maxChallenges', () => {
  const x = pair('chap-md5');
  x.a.start(instant(0));
  assert.equal(x.a.pollAt(), 3000);
  x.a.handleTimeout(instant(2999));
  assert.equal(x.toPeer.length, 1);
  x.a.handleTimeout(instant(3000));
  x.a.handleTimeout(instant(6000));
  assert.equal(x.toPeer.length, 3);
  const ids = x.toPeer.map((b) => b[1]);
  assert.equal(new Set(ids).size, 3);
  x.a.handleTimeout(instant(9000));
  assert.deepEqual(x.done.a, { ok: false, method: 'chap-md5', username: '', reason: 'timeout' });
});

test('auth chap: duplicate Response after Success gets Success again (RFC 1994 §4.2)', () => {
  const x = pair('chap-md5');
  x.a.start(instant(0));
  const ch = x.toPeer.shift();
  assert.ok(ch);
  x.p.receive(instant(0), x.proto, ch);
  const resp = x.toAuth.shift();
  assert.ok(resp);
  x.a.receive(instant(0), x.proto, resp);
  x.a.receive(instant(0), x.proto, resp);
  assert.equal(x.toPeer.length, 2);
  assert.deepEqual(x.toPeer[0], x.toPeer[1]);
  const s = parseChapPacket(x.toPeer[0] ?? new Uint8Array());
  assert.ok(s.ok && s.value.code === 3);
});

test('auth mschapv2: peer rejects a Success with a wrong authenticator response', () => {
  const x = pair('mschapv2');
  x.a.start(instant(0));
  const ch = x.toPeer.shift();
  assert.ok(ch);
  x.p.receive(instant(0), x.proto, ch);
  const id = ch[1] ?? 0;
  const fake = new TextEncoder().encode('S=0000000000000000000000000000000000000000 M=ok');
  const pkt = new Uint8Array(4 + fake.length);
  pkt.set([3, id, 0, pkt.length]);
  pkt.set(fake, 4);
  x.p.receive(instant(0), x.proto, pkt);
  assert.equal(x.done.p?.reason, 'bad-authenticator-response');
});

test('auth: external decision via request event (RFC 2759 §9.2 material)', () => {
  const reqs: AuthRequest[] = [];
  let out: AuthOutcome | undefined;
  const sent: Uint8Array[] = [];
  const a = new Authenticator('mschapv2', { random: seededRandom(1), name: 'lns', restartTimer: seconds(3), maxChallenges: 3 }, {
    send: (_p, i) => sent.push(i),
    request: (r) => reqs.push(r),
    done: (o) => (out = o),
  });
  a.startProxy(instant(0), {
    identifier: 9,
    challenge: fromHex('5B5D7C7D7B3F2F3E3C2C602132262628'),
    name: 'User',
    response: fromHex('21402324255E262A28295F2B3A337C7E' + '0000000000000000' + '82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF' + '00'),
  });
  assert.equal(reqs.length, 1);
  const r = reqs[0];
  assert.ok(r?.method === 'mschapv2');
  // The local verifier agrees with the RFC vector; feed its decision back as if from RADIUS.
  const d = verifyLocally(r, users);
  assert.ok(d.ok && d.authenticatorResponse !== undefined);
  a.decide(instant(0), d);
  assert.equal(out?.ok, true);
  const msg = new TextDecoder().decode(sent[0]?.subarray(4));
  assert.equal(msg, 'S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Access granted');
});
