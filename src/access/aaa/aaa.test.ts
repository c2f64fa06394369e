import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RadiusAuthAnswer, RadiusReply } from '../../aaa/radius/index.js';
import { TERMINATE_CAUSE } from '../../wire/radius/index.js';
import { UserTable } from '../directory.js';
import { authorizationFromReply, parseFramedRoute, resultFromRadius } from './authorization.js';
import { firstStep, localAnswer, nextStep, type AuthChainConfig } from './auth-chain.js';
import { TERMINATE_CAUSES, l2tpTerminateCause, terminateCause } from './terminate-cause.js';
import { parseIpv4, parseIpv6 } from '../../base/index.js';

const reply = (over: Partial<RadiusReply> = {}): RadiusReply => ({
  framedRoutes: [],
  framedIpv6Prefixes: [],
  framedIpv6Routes: [],
  classes: [],
  dnsServers: [],
  nbnsServers: [],
  ipv6DnsServers: [],
  filterIds: [],
  replyMessages: [],
  tunnels: [],
  attributes: [],
  unknown: [],
  ...over,
});
const v6 = (s: string): Uint8Array => {
  const a = parseIpv6(s);
  assert.ok(a !== undefined);
  return a;
};

test('authorizationFromReply: every honoured reply attribute, typed; the rest named in ignored', () => {
  const a = authorizationFromReply(
    reply({
      framedIpAddress: '100.64.9.9',
      framedIpNetmask: '255.255.255.255',
      framedPool: 'gold',
      framedRoutes: ['198.51.100.0/24 0.0.0.0 1', '203.0.113.7', '192.0.2.0/24 192.0.2.1 1', 'junk'],
      framedIpv6Prefixes: [{ length: 64, prefix: v6('2001:db8:1::') }],
      delegatedIpv6Prefix: { length: 56, prefix: v6('2001:db8:100::') },
      framedMtu: 1400,
      sessionTimeout: 3600,
      idleTimeout: 0,
      acctInterimInterval: 300,
      classes: [Uint8Array.of(9)],
      dnsServers: ['203.0.113.53', '203.0.113.54', '203.0.113.55'],
      nbnsServers: ['203.0.113.137'],
      filterIds: ['std.in'],
    }),
  );
  assert.equal(a.framedAddress, parseIpv4('100.64.9.9'));
  assert.equal(a.framedPool, 'gold');
  assert.deepEqual(a.routes, [
    { network: parseIpv4('198.51.100.0'), length: 24 },
    { network: parseIpv4('203.0.113.7'), length: 32 },
  ]);
  assert.equal(a.ipv6Prefix64, 0x20010db800010000n);
  assert.deepEqual(a.delegatedPrefix, { network64: 0x20010db801000000n, length: 56 });
  assert.equal(a.mtu, 1400);
  assert.equal(a.sessionTimeout, 3_600_000);
  assert.equal(a.idleTimeout, undefined, 'Idle-Timeout 0 = none');
  assert.equal(a.interimInterval, 300_000);
  assert.deepEqual(a.dns, ['203.0.113.53', '203.0.113.54'], 'IPCP carries two DNS servers');
  assert.deepEqual(a.nbns, ['203.0.113.137']);
  assert.equal(a.ignored.length, 3, a.ignored.join('; '));
  assert.ok(a.ignored.some((x) => x.includes('192.0.2.1')));
  assert.ok(a.ignored.some((x) => x.includes('Filter-Id')));
  const b = authorizationFromReply(reply({ framedIpv6Prefixes: [{ length: 48, prefix: v6('2001:db8::') }], delegatedIpv6Prefix: { length: 72, prefix: v6('2001:db8::') }, framedMtu: 100 }));
  assert.equal(b.ipv6Prefix64, undefined);
  assert.equal(b.delegatedPrefix, undefined);
  assert.equal(b.mtu, undefined);
  assert.equal(b.ignored.length, 3);
});

test('parseFramedRoute: RFC 2865 §5.22 forms', () => {
  assert.deepEqual(parseFramedRoute('198.51.100.0/24'), { ok: true, prefix: { network: parseIpv4('198.51.100.0'), length: 24 } });
  assert.deepEqual(parseFramedRoute('198.51.100.0/24 100.64.0.9 1', parseIpv4('100.64.0.9')), { ok: true, prefix: { network: parseIpv4('198.51.100.0'), length: 24 } });
  assert.equal(parseFramedRoute('198.51.100.1/24').ok, false, 'host bits');
  assert.equal(parseFramedRoute('').ok, false);
});

const accept = (r: RadiusReply): RadiusAuthAnswer => ({ kind: 'accept', server: 'rad1', reply: r });

test('resultFromRadius: accept, MS-CHAP2-Success to the peer, reject with Reply-Message / MS-CHAP-Error, timeout', () => {
  const ar = new Uint8Array(20).fill(7);
  const ms = resultFromRadius(accept(reply({ msChap2Success: { ident: 1, authenticatorResponse: ar, message: 'S=0707 M=hello' }, dnsServers: ['203.0.113.53'] })), 'mschapv2');
  assert.ok(ms?.decision.ok === true);
  assert.deepEqual(ms.decision.authenticatorResponse, ar);
  assert.equal(ms.decision.message, 'hello');
  assert.deepEqual(ms.decision.dns, ['203.0.113.53']);
  assert.equal(ms.source, 'radius');
  assert.equal(ms.server, 'rad1');
  const noSuccess = resultFromRadius(accept(reply()), 'mschapv2');
  assert.equal(noSuccess?.decision.ok, false, 'an MS-CHAPv2 accept the peer cannot verify fails');
  const pap = resultFromRadius(accept(reply({ replyMessages: ['welcome'] })), 'pap');
  assert.deepEqual(pap?.decision, { ok: true, message: 'welcome' });
  const rej = resultFromRadius({ kind: 'reject', server: 'rad1', reason: 'rejected', reply: reply({ replyMessages: ['Access denied by rad1'] }) }, 'chap-md5');
  assert.deepEqual(rej?.decision, { ok: false, message: 'Access denied by rad1' });
  assert.equal(rej?.authorization, undefined);
  const msRej = resultFromRadius({ kind: 'reject', server: 'rad1', reason: 'rejected', reply: reply({ msChapError: { ident: 1, code: 691, message: 'E=691 R=0 C=00 V=3 M=bad password' } }) }, 'mschapv2');
  assert.deepEqual(msRej?.decision, { ok: false, message: 'bad password', error: 691 });
  assert.equal(resultFromRadius({ kind: 'timeout', servers: ['rad1'] }, 'pap'), undefined);
  assert.equal(resultFromRadius({ kind: 'challenge', server: 'rad1', reply: reply() }, 'pap')?.decision.ok, false);
});

test('auth chain: radius,local falls back on timeout (and on reject only when configured); unknown local user falls through', () => {
  const users = new UserTable(new Map([['alice', { username: 'alice', password: 'pw' }]]));
  const okLocal = localAnswer({ method: 'pap', username: 'alice', password: 'pw' }, users);
  const badLocal = localAnswer({ method: 'pap', username: 'alice', password: 'no' }, users);
  const unknown = localAnswer({ method: 'pap', username: 'zed', password: 'x' }, users);
  assert.equal(okLocal.kind === 'decided' && okLocal.result.decision.ok, true);
  assert.equal(badLocal.kind === 'decided' && badLocal.result.decision.ok, false);
  assert.equal(unknown.kind, 'no-answer');
  const rl: AuthChainConfig = { order: ['radius', 'local'], fallbackOn: ['timeout'] };
  assert.deepEqual(firstStep(rl), { next: 'radius', index: 0, tried: [] });
  const afterTimeout = nextStep(rl, 0, { kind: 'no-answer', why: 'no server answered' });
  assert.ok('next' in afterTimeout && afterTimeout.next === 'local' && afterTimeout.index === 1);
  const rejected = { kind: 'decided', result: { decision: { ok: false }, source: 'radius' } } as const;
  assert.ok('done' in nextStep(rl, 0, rejected), 'a reject is final by default');
  assert.ok('next' in nextStep({ ...rl, fallbackOn: ['timeout', 'reject'] }, 0, rejected));
  const final = nextStep({ order: ['radius'], fallbackOn: ['timeout'] }, 0, { kind: 'no-answer', why: 'no server answered' });
  assert.ok('done' in final && final.done.decision.ok === false && final.tried.length === 1);
  const lr = nextStep({ order: ['local', 'radius'], fallbackOn: [] }, 0, unknown);
  assert.ok('next' in lr && lr.next === 'radius', 'an unknown local user is asked of RADIUS');
});

test('Acct-Terminate-Cause from the real ending (RFC 2866 §5.10)', () => {
  const C = TERMINATE_CAUSE;
  assert.equal(terminateCause('peer-terminated', undefined, false), C.UserRequest);
  assert.equal(terminateCause('echo-timeout', undefined, false), C.LostCarrier);
  assert.equal(terminateCause('admin-close', undefined, false), C.AdminReset);
  assert.equal(terminateCause('session-timeout', undefined, true), C.SessionTimeout);
  assert.equal(terminateCause('idle-timeout', undefined, false), C.IdleTimeout);
  const cdn = (result: number) => ({ by: 'peer', cause: 'cdn', result: { result } }) as const;
  assert.equal(terminateCause('l2tp-closed', cdn(1), false), C.LostCarrier);
  assert.equal(terminateCause('l2tp-closed', cdn(3), false), C.UserRequest);
  assert.equal(terminateCause('l2tp-closed', { by: 'peer', cause: 'stopccn', result: { result: 1 } }, false), C.LostService);
  assert.equal(l2tpTerminateCause({ by: 'local', cause: 'hello-timeout', result: { result: 1 } }), C.LostCarrier);
  assert.equal(l2tpTerminateCause({ by: 'local', cause: 'admin', result: { result: 1 } }), C.AdminReset);
  assert.equal(terminateCause('l2tp-closed', { by: 'local', cause: 'admin', result: { result: 6 } }, true), C.AdminReboot);
  assert.equal(terminateCause('l2tp-closed', cdn(3), true), C.UserRequest, 'a peer ending during our shutdown stays the peer\'s');
  for (const v of Object.values(TERMINATE_CAUSES)) assert.ok(Object.values(C).includes(v));
});
