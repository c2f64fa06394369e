import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipv4Pool, Ipv4PoolSet, parseUsersFile } from '../aaa/index.js';
import { AddressBook, SessionAddressPool, UserTable } from './directory.js';
import { cdnFor } from './disconnect.js';
import { parseIpv4, parseIpv4Prefix } from '../base/index.js';

function book(prefix: string, text: string): { book: AddressBook; users: UserTable } {
  const p = parseIpv4Prefix(prefix);
  const u = parseUsersFile(text);
  assert.ok(p.ok && u.ok);
  const users = new UserTable(u.value);
  return { book: new AddressBook(new Ipv4Pool(p.value, [parseIpv4('100.64.0.1') ?? 0]), users), users };
}

test('SessionAddressPool: one lease per session, static addresses in and outside the pool', () => {
  const { book: b, users } = book('100.64.0.0/29', 'alice a\nbob b 100.64.0.5\neve e 198.18.9.9');
  const s1 = new SessionAddressPool(b, '1/1');
  assert.equal(s1.allocate('alice'), '100.64.0.2');
  assert.equal(s1.allocate('alice'), '100.64.0.2', 'same session keeps its lease');
  const s2 = new SessionAddressPool(b, '1/2');
  assert.equal(s2.allocate('bob'), '100.64.0.5');
  const s3 = new SessionAddressPool(b, '1/3');
  assert.equal(s3.allocate('bob'), undefined);
  assert.equal(s3.failure, 'static-in-use');
  const s4 = new SessionAddressPool(b, '1/4');
  assert.equal(s4.allocate('eve'), '198.18.9.9');
  const s5 = new SessionAddressPool(b, '1/5');
  assert.equal(s5.allocate('eve'), undefined);
  assert.equal(b.inUse, 3);
  s4.release('198.18.9.9');
  s2.releaseAll();
  s1.releaseAll();
  s1.releaseAll();
  assert.equal(b.inUse, 0);
  // A reload replaces users without touching leases.
  const next = parseUsersFile('zed z');
  assert.ok(next.ok);
  users.replace(next.value);
  assert.equal(users.lookup('alice'), undefined);
  assert.equal(users.lookup('zed')?.password, 'z');
});

test('SessionAddressPool reports exhaustion', () => {
  const { book: b } = book('100.64.0.0/30', 'alice a');
  assert.equal(new SessionAddressPool(b, 'x').allocate('alice'), '100.64.0.2');
  const y = new SessionAddressPool(b, 'y');
  assert.equal(y.allocate('alice'), undefined);
  assert.equal(y.failure, 'pool-exhausted');
});

test('cdnFor maps endings to CDN result codes and RFC 3145 causes', () => {
  assert.deepEqual(cdnFor('pool-exhausted').result.result, 4);
  // Result 2 says "see the error code": never with error 0 ("no general error"), RFC 2661 §4.4.2.
  assert.deepEqual(cdnFor('auth-failed', 'mschapv2').result, { result: 2, error: 6, message: 'authentication failed' });
  assert.deepEqual(cdnFor('lcp-timeout').result, { result: 2, error: 6, message: 'LCP failed to converge' });
  assert.equal(cdnFor('auth-failed', 'pap').causes?.pppDisconnectCause?.protocol, 0xc023);
  assert.equal(cdnFor('auth-failed', 'mschapv2').causes?.pppDisconnectCause?.code, 16);
  assert.equal(cdnFor('echo-timeout').causes?.pppDisconnectCause?.code, 8);
  assert.equal(cdnFor('peer-terminated').causes?.pppDisconnectCause?.direction, 1);
  assert.equal(cdnFor('l2tp-closed').causes, undefined);
});

test('AddressBook with named pools: hinted address (in a pool or outside), named pool, unknown pool; release by owner', () => {
  const p = (s: string) => {
    const r = parseIpv4Prefix(s);
    assert.ok(r.ok);
    return r.value;
  };
  const u = parseUsersFile('alice a 100.64.0.9');
  assert.ok(u.ok);
  const pools = new Ipv4PoolSet(new Ipv4Pool(p('100.64.0.0/29'), [parseIpv4('100.64.0.1') ?? 0]), new Map([['gold', new Ipv4Pool(p('100.64.8.0/30'))]]));
  const b = new AddressBook(pools, new UserTable(u.value));
  assert.equal(pools.capacity, 5 + 2);
  const g = new SessionAddressPool(b, 'g');
  g.hint = { pool: 'gold' };
  assert.equal(g.allocate('alice'), '100.64.8.1', 'the pool hint wins over the users file static address');
  const g2 = new SessionAddressPool(b, 'g2');
  g2.hint = { pool: 'gold' };
  assert.equal(g2.allocate(undefined), '100.64.8.2');
  const g3 = new SessionAddressPool(b, 'g3');
  g3.hint = { pool: 'gold' };
  assert.equal(g3.allocate(undefined), undefined);
  assert.equal(g3.failure, 'pool-exhausted');
  const x = new SessionAddressPool(b, 'x');
  x.hint = { pool: 'platinum' };
  assert.equal(x.allocate(undefined), undefined);
  assert.equal(x.failure, 'unknown-pool');
  const f = new SessionAddressPool(b, 'f');
  f.hint = { address: parseIpv4('100.64.8.2') ?? 0 };
  assert.equal(f.allocate(undefined), undefined, 'a framed address in a pool, leased to another session');
  assert.equal(f.failure, 'static-in-use');
  const o = new SessionAddressPool(b, 'o');
  o.hint = { address: parseIpv4('198.51.100.7') ?? 0 };
  assert.equal(o.allocate(undefined), '198.51.100.7');
  assert.equal(b.isOutside(parseIpv4('198.51.100.7') ?? 0), true);
  assert.equal(b.inUse, 3);
  for (const s of [g, g2, o]) s.releaseAll();
  assert.equal(b.inUse, 0);
  assert.equal(pools.named('gold')?.inUse, 0);
  assert.deepEqual(pools.names, ['gold']);
});

test('AddressBook: held addresses go to nobody but their user, the observer sees every lease, release and hold end', () => {
  const p = parseIpv4Prefix('100.64.0.0/29'); // .1 reserved: .2-.6 leasable
  const u = parseUsersFile('alice a\nbob b\ncarol c\ndave d 100.64.0.3');
  assert.ok(p.ok && u.ok);
  const log: string[] = [];
  const b = new AddressBook(new Ipv4Pool(p.value, [parseIpv4('100.64.0.1') ?? 0]), new UserTable(u.value), {
    leased: (o, a, n) => log.push(`L ${o} ${a & 0xff} ${n ?? '-'}`),
    released: (o, a) => log.push(`R ${o} ${a & 0xff}`),
    unheld: (a) => log.push(`U ${a & 0xff}`),
  });
  const ip = (s: string): number => parseIpv4(s) ?? -1;
  assert.equal(b.hold({ address: ip('100.64.0.2'), username: 'alice' }), true);
  assert.equal(b.hold({ address: ip('100.64.0.3'), username: 'bob' }), true);
  assert.equal(b.hold({ address: ip('100.64.0.3'), username: 'bob' }), false, 'already held');
  assert.equal(b.hold({ address: ip('198.18.0.1'), username: 'bob' }), false, 'outside every pool');
  assert.equal(b.held, 2);
  assert.equal(b.inUse, 2);
  // carol gets neither held address; dave's static address is held for bob: refused.
  const carol = new SessionAddressPool(b, '1/1');
  assert.equal(carol.allocate('carol'), '100.64.0.4');
  const dave = new SessionAddressPool(b, '1/2');
  assert.equal(dave.allocate('dave'), undefined);
  assert.equal(dave.failure, 'static-in-use');
  // alice takes hers back.
  const alice = new SessionAddressPool(b, '1/3');
  assert.equal(alice.allocate('alice'), '100.64.0.2');
  assert.equal(b.held, 1);
  // The pool fills without the held .3: .5, .6, then exhausted.
  const others = ['2/1', '2/2', '2/3'].map((o) => new SessionAddressPool(b, o));
  assert.deepEqual(others.map((s, i) => s.allocate(`x${i}`)), ['100.64.0.5', '100.64.0.6', undefined]);
  // bob's hold runs out: .3 is free for anybody.
  assert.equal(b.unhold(ip('100.64.0.3')), true);
  assert.equal(b.unhold(ip('100.64.0.3')), false);
  assert.equal(others[2]?.allocate('x2'), '100.64.0.3');
  carol.releaseAll();
  alice.releaseAll();
  assert.deepEqual(log, ['L 1/1 4 carol', 'U 2', 'L 1/3 2 alice', 'L 2/1 5 x0', 'L 2/2 6 x1', 'U 3', 'L 2/3 3 x2', 'R 1/1 4', 'R 1/3 2']);
  assert.equal(b.held, 0);
  assert.equal(b.inUse, 3);
});

test('no local pool ([pool] local = false: an empty /32 around the LNS address): only the authorization gives addresses', () => {
  const { book: b } = book('100.64.0.1/32', 'alice a\nbob b 100.64.5.5');
  assert.equal(b.pool.capacity, 0);
  const none = new SessionAddressPool(b, '1/1');
  assert.equal(none.allocate('alice'), undefined, 'no Framed-IP-Address and nothing to lease from');
  assert.equal(none.failure, 'no-address');
  assert.deepEqual(cdnFor('no-address').result, { result: 4, message: 'no address from RADIUS and no local pool' });
  const f = new SessionAddressPool(b, '1/2');
  f.hint = { address: parseIpv4('100.64.77.9') ?? 0 };
  assert.equal(f.allocate('alice'), '100.64.77.9', 'the Access-Accept address, outside every pool (it gets a /32 route)');
  assert.equal(b.isOutside(parseIpv4('100.64.77.9') ?? 0), true);
  const twice = new SessionAddressPool(b, '1/3');
  twice.hint = { address: parseIpv4('100.64.77.9') ?? 0 };
  assert.equal(twice.allocate('bob'), undefined, 'the same address to a second live session is refused');
  assert.equal(twice.failure, 'static-in-use');
  const own = new SessionAddressPool(b, '1/4');
  own.hint = { address: parseIpv4('100.64.0.1') ?? 0 };
  assert.equal(own.allocate('bob'), undefined, "the LNS's own address is never a client's");
  assert.equal(own.failure, 'static-in-use');
  f.releaseAll();
  assert.equal(twice.allocate('bob'), '100.64.77.9', 'free again after the first session ended');
});
