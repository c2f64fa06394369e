import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instant, seconds, type Instant } from '../../base/time.js';
import {
  TunnelSelector,
  resolveDomain,
  resolveProfile,
  type Choice,
  type DomainMap,
  type RadiusTunnelGroup,
  type Selection,
  type SelectorConfig,
  type TunnelDestination,
  type TunnelProfile,
} from './index.js';

const T0 = instant(5_000);
const at = (s: number): Instant => instant(T0 + s * 1000);

function selector(profiles: Record<string, TunnelProfile>, map: Partial<DomainMap> = {}, extra: Partial<SelectorConfig> = {}): TunnelSelector {
  const r = TunnelSelector.create({ domainMap: { entries: [{ realm: 'isp-a.example', target: { kind: 'tunnel', profile: 'a' } }], ...map }, profiles, ...extra });
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.error));
  return r.value;
}

function tunnel(s: Selection): Extract<Selection, { kind: 'tunnel' }> {
  assert.equal(s.kind, 'tunnel', JSON.stringify(s));
  if (s.kind !== 'tunnel') throw new Error('unreachable');
  return s;
}

const dest = (address: string, preference: number, more: Partial<TunnelDestination> = {}): TunnelDestination => ({ address, preference, ...more });
const where = (c: Choice | undefined): string | undefined => c?.destination.address;

// ---------------------------------------------------------------- domain map

const MAP: DomainMap = {
  entries: [
    { realm: 'isp-a.example', target: { kind: 'tunnel', profile: 'a' } },
    { realm: 'isp-b.example', target: { kind: 'tunnel', profile: 'a' }, stripRealm: true },
    { realm: 'local.example', target: { kind: 'local' }, stripRealm: true },
    { realm: 'blocked.example', target: { kind: 'reject' } },
  ],
  default: { kind: 'local' },
};
const domainCases = [
  { user: 'alice@isp-a.example', kind: 'tunnel', realm: 'isp-a.example', name: 'alice@isp-a.example' },
  { user: 'bob@ISP-B.Example', kind: 'tunnel', realm: 'isp-b.example', name: 'bob' },
  { user: 'carol@local.example', kind: 'local', realm: 'local.example', name: 'carol' },
  { user: 'dave@blocked.example', kind: 'reject', realm: 'blocked.example', name: 'dave@blocked.example' },
  { user: 'erin@nowhere.example', kind: 'local', realm: 'nowhere.example', name: 'erin@nowhere.example' },
  { user: 'frank', kind: 'local', realm: undefined, name: 'frank' },
  { user: 'trailing@', kind: 'local', realm: undefined, name: 'trailing@' },
  { user: 'a@b@isp-b.example', kind: 'tunnel', realm: 'isp-b.example', name: 'a@b' },
] as const;
for (const c of domainCases) {
  test(`domain map: ${c.user} -> ${c.kind}`, () => {
    const r = resolveDomain(MAP, c.user);
    assert.equal(r.target.kind, c.kind);
    assert.equal(r.realm, c.realm);
    assert.equal(r.username, c.name);
  });
}

test('domain map: a custom delimiter and a reject default; an unknown profile rejects', () => {
  assert.equal(resolveDomain({ entries: [{ realm: 'x', target: { kind: 'local' } }], delimiter: '%', default: { kind: 'reject' } }, 'u%X').target.kind, 'local');
  assert.equal(resolveDomain({ entries: [], default: { kind: 'reject' } }, 'u@y').target.kind, 'reject');
  const s = selector({ a: { destinations: [dest('198.51.100.1', 1)] } }, {
    entries: [{ realm: 'z', target: { kind: 'tunnel', profile: 'missing' } }, { realm: 'isp-a.example', target: { kind: 'tunnel', profile: 'a' } }],
  });
  assert.deepStrictEqual(s.select(T0, { username: 'u@z' }), { kind: 'reject', reason: 'unknown-profile', realm: 'z' });
  assert.deepStrictEqual(s.select(T0, { username: 'u@isp-a.example' }).kind, 'tunnel');
});

// ---------------------------------------------------------------- levels and load balancing

test('levels: the preferred level only, round-robin inside it', () => {
  const s = selector({ a: { destinations: [dest('198.51.100.3', 2), dest('198.51.100.1', 1), dest('198.51.100.2', 1)] } });
  const got = Array.from({ length: 6 }, () => where(tunnel(s.select(T0, { username: 'u@isp-a.example' })).choice));
  assert.deepStrictEqual(got, ['198.51.100.1', '198.51.100.2', '198.51.100.1', '198.51.100.2', '198.51.100.1', '198.51.100.2']);
});

const weightCases = [
  { name: '3:1 over 400', weights: [300, 100], sessions: 400, split: [300, 100] },
  { name: '3:1 over 200', weights: [300, 100], sessions: 200, split: [150, 50] },
  { name: '1:1:2 over 100', weights: [25, 25, 50], sessions: 100, split: [25, 25, 50] },
  { name: '5:3 over 80 (caps not reached)', weights: [500, 300], sessions: 80, split: [50, 30] },
];
for (const c of weightCases) {
  test(`weighted by max sessions: ${c.name}`, () => {
    const dests = c.weights.map((w, i) => dest(`198.51.100.${i + 1}`, 1, { maxSessions: w }));
    const s = selector({ a: { destinations: dests, loadBalancing: 'weighted' } });
    const count = new Map<string, number>();
    for (let i = 0; i < c.sessions; i++) {
      const a = where(tunnel(s.select(T0, { username: `u${i}@isp-a.example` })).choice) ?? '';
      count.set(a, (count.get(a) ?? 0) + 1);
    }
    assert.deepStrictEqual(dests.map((d) => count.get(d.address) ?? 0), c.split);
  });
}

test('weighted: a full destination is skipped, all full rejects; a release frees a slot', () => {
  const s = selector({ a: { destinations: [dest('198.51.100.1', 1, { maxSessions: 2 }), dest('198.51.100.2', 2, { maxSessions: 1 })], loadBalancing: 'weighted' } });
  const t = [0, 1, 2].map(() => tunnel(s.select(T0, { username: 'u@isp-a.example' })));
  assert.deepStrictEqual(t.map((x) => where(x.choice)), ['198.51.100.1', '198.51.100.1', '198.51.100.2']);
  assert.deepStrictEqual(s.select(T0, { username: 'u@isp-a.example' }), { kind: 'reject', reason: 'all-destinations-full', realm: 'isp-a.example' });
  s.release(t[0]?.ticket ?? (0 as never));
  assert.equal(where(tunnel(s.select(T0, { username: 'u@isp-a.example' })).choice), '198.51.100.1');
});

// ---------------------------------------------------------------- failover and dead destinations

const failoverCases = [
  { name: 'SCCRQ timeout -> next level', within: false, cause: 'sccrq-timeout', path: ['198.51.100.1', '198.51.100.3', '198.51.100.4', undefined] },
  { name: 'StopCCN -> next level', within: false, cause: 'stopccn', path: ['198.51.100.1', '198.51.100.3', '198.51.100.4', undefined] },
  { name: 'failover within the preference first', within: true, cause: 'sccrq-timeout', path: ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4', undefined] },
] as const;
for (const c of failoverCases) {
  test(`failover: ${c.name}`, () => {
    const s = selector({ a: { destinations: [dest('198.51.100.1', 1), dest('198.51.100.2', 1), dest('198.51.100.3', 5), dest('198.51.100.4', 9)], failoverWithinPreference: c.within } });
    const first = tunnel(s.select(T0, { username: 'u@isp-a.example' }));
    const path: (string | undefined)[] = [where(first.choice)];
    let choice: Choice | undefined = first.choice;
    while (choice !== undefined) {
      const f = s.tunnelFailed(T0, choice.tunnel, c.cause);
      assert.equal(f.length, 1);
      assert.equal(f[0]?.ticket, first.ticket);
      choice = f[0]?.next;
      path.push(where(choice));
    }
    assert.deepStrictEqual(path, c.path);
    const dead = s.destinations(T0).filter((d) => d.state === 'dead').map((d) => d.address).sort();
    assert.deepStrictEqual(dead, c.path.filter((p) => p !== undefined).sort());
  });
}

test('dead destination: skipped by new sessions until its dead time ends (exact instants), then used again', () => {
  const s = selector({ a: { destinations: [dest('198.51.100.1', 1), dest('198.51.100.2', 2)], deadTime: seconds(60) } });
  const a = tunnel(s.select(T0, { username: 'u@isp-a.example' }));
  assert.equal(where(a.choice), '198.51.100.1');
  assert.equal(where(s.tunnelFailed(T0, a.choice.tunnel, 'sccrq-timeout')[0]?.next), '198.51.100.2');
  assert.deepStrictEqual(s.pollEvent(), { type: 'destination-dead', address: '198.51.100.1', port: 1701, until: at(60), cause: 'sccrq-timeout' });
  assert.equal(s.pollAt(), at(60));
  assert.equal(where(tunnel(s.select(at(59.999), { username: 'v@isp-a.example' })).choice), '198.51.100.2', 'still dead at deadUntil - 1 ms');
  assert.equal(where(tunnel(s.select(at(60), { username: 'w@isp-a.example' })).choice), '198.51.100.1', 'alive at deadUntil');
  s.handleTimeout(at(60));
  assert.deepStrictEqual(s.pollEvent(), { type: 'destination-alive', address: '198.51.100.1', port: 1701 });
  assert.equal(s.pollAt(), undefined);
});

test('a destination that comes up again is alive at once (tunnelUp clears the dead time)', () => {
  const s = selector({ a: { destinations: [dest('198.51.100.1', 1), dest('198.51.100.2', 2)] } });
  const a = tunnel(s.select(T0, { username: 'u@isp-a.example' }));
  s.tunnelFailed(T0, a.choice.tunnel, 'stopccn');
  // Only dead destinations left for this one: it is tried anyway, and it answers.
  const one = selector({ a: { destinations: [dest('198.51.100.9', 1)] } });
  const x = tunnel(one.select(T0, { username: 'u@isp-a.example' }));
  assert.equal(one.tunnelFailed(T0, x.choice.tunnel, 'sccrq-timeout')[0]?.next, undefined, 'one destination: exhausted');
  const y = tunnel(one.select(at(1), { username: 'u@isp-a.example' }));
  assert.equal(where(y.choice), '198.51.100.9', 'last resort: the dead one');
  one.tunnelUp(at(2), y.choice.tunnel);
  assert.equal(one.destinations(at(2))[0]?.state, 'alive');
  assert.equal(one.pollEvent()?.type, 'destination-dead');
  assert.equal(one.pollEvent()?.type, 'destination-alive');
});

test('all destinations dead: the one whose dead time ends first is tried', () => {
  const s = selector({ a: { destinations: [dest('198.51.100.1', 1), dest('198.51.100.2', 2)], deadTime: seconds(100) } });
  const a = tunnel(s.select(T0, { username: 'u@isp-a.example' }));
  const f = s.tunnelFailed(T0, a.choice.tunnel, 'sccrq-timeout');
  s.tunnelFailed(at(10), f[0]?.next?.tunnel ?? (0 as never), 'sccrq-timeout');
  assert.equal(where(tunnel(s.select(at(20), { username: 'v@isp-a.example' })).choice), '198.51.100.1', '.1 is back at 100 s, .2 at 110 s');
});

// ---------------------------------------------------------------- RADIUS override

const groups = (...g: RadiusTunnelGroup[]): RadiusTunnelGroup[] => g;
const L2TP = { tunnelType: 3, mediumType: 1 } as const;

test('RADIUS tunnel groups override the profile: preference, password, Client-Auth-ID, Server-Auth-ID, Client-Endpoint, Assignment-Id', () => {
  const s = selector({ a: { destinations: [dest('198.51.100.1', 1)], secret: 'profile-secret', localHostname: 'lac-1', failoverWithinPreference: true } });
  const r = tunnel(
    s.select(T0, {
      username: 'u@isp-a.example',
      radius: groups(
        { tag: 1, ...L2TP, serverEndpoint: '203.0.113.1', preference: 10 },
        { tag: 2, ...L2TP, serverEndpoint: '203.0.113.2', preference: 5, password: 'radius-secret', clientAuthId: 'lac-r', serverAuthId: 'lns-2', clientEndpoint: '198.18.0.1', assignmentId: 'grp-7' },
        { tag: 3, tunnelType: 1, mediumType: 1, serverEndpoint: '203.0.113.3', preference: 0 },
        { tag: 4, ...L2TP, preference: 0 },
      ),
    }),
  );
  assert.equal(r.choice.source, 'radius');
  assert.deepStrictEqual(r.choice.destination, {
    address: '203.0.113.2', port: 1701, preference: 5, level: 0, secret: 'radius-secret', localHostname: 'lac-r', remoteHostname: 'lns-2', localAddress: '198.18.0.1', assignmentId: 'grp-7',
  });
  const next = s.tunnelFailed(T0, r.choice.tunnel, 'sccrq-timeout')[0]?.next;
  assert.deepStrictEqual(next?.destination, { address: '203.0.113.1', port: 1701, preference: 10, level: 1, secret: 'profile-secret', localHostname: 'lac-1', remoteHostname: undefined, localAddress: undefined, assignmentId: undefined });
});

test('RADIUS: the preferred endpoint is dead -> the session lands on the other; equal preferences share round-robin', () => {
  const s = selector({ a: { destinations: [dest('198.51.100.1', 1)] } });
  const two = groups({ tag: 1, ...L2TP, serverEndpoint: '203.0.113.1', preference: 1 }, { tag: 2, ...L2TP, serverEndpoint: '203.0.113.2', preference: 2 });
  const first = tunnel(s.select(T0, { username: 'u@isp-a.example', radius: two }));
  assert.equal(where(s.tunnelFailed(T0, first.choice.tunnel, 'sccrq-timeout')[0]?.next), '203.0.113.2');
  assert.equal(where(tunnel(s.select(at(1), { username: 'v@isp-a.example', radius: two })).choice), '203.0.113.2');
  const equal = groups({ tag: 1, ...L2TP, serverEndpoint: '203.0.113.5' }, { tag: 2, ...L2TP, serverEndpoint: '203.0.113.6' });
  const split = new Map<string, number>();
  for (let i = 0; i < 100; i++) {
    const a = where(tunnel(s.select(T0, { username: `u${i}@x`, radius: equal })).choice) ?? '';
    split.set(a, (split.get(a) ?? 0) + 1);
  }
  assert.deepStrictEqual([...split.entries()].sort(), [['203.0.113.5', 50], ['203.0.113.6', 50]]);
});

test('RADIUS without a usable group falls back to the domain map; with one it tunnels even a local realm', () => {
  const s = selector({ a: { destinations: [dest('198.51.100.1', 1)] } }, { default: { kind: 'local' } });
  assert.equal(where(tunnel(s.select(T0, { username: 'u@isp-a.example', radius: groups({ tag: 1, tunnelType: 1, serverEndpoint: '203.0.113.9' }) })).choice), '198.51.100.1');
  assert.equal(s.select(T0, { username: 'u@else', radius: [] }).kind, 'local');
  assert.equal(where(tunnel(s.select(T0, { username: 'u@else', radius: groups({ tag: 0, ...L2TP, serverEndpoint: '203.0.113.9' }) })).choice), '203.0.113.9');
});

// ---------------------------------------------------------------- tunnel sharing and limits

test('Tunnel-Assignment-Id: the same id shares a tunnel, another id gets its own tunnel to the same LNS', () => {
  const s = selector({ a: { destinations: [dest('198.51.100.1', 1)] } });
  const r = (id: string | undefined, u: string): Choice =>
    tunnel(s.select(T0, { username: u, radius: groups({ tag: 1, ...L2TP, serverEndpoint: '203.0.113.1', ...(id !== undefined ? { assignmentId: id } : {}) }) })).choice;
  const a1 = r('red', 'a');
  const a2 = r('red', 'b');
  const b1 = r('blue', 'c');
  const n1 = r(undefined, 'd');
  const n2 = r(undefined, 'e');
  assert.equal(a1.newTunnel, true);
  assert.deepStrictEqual([a2.tunnel, a2.newTunnel], [a1.tunnel, false]);
  assert.notEqual(b1.tunnel, a1.tunnel);
  assert.equal(b1.newTunnel, true);
  assert.deepStrictEqual([n2.tunnel, n2.newTunnel], [n1.tunnel, false]);
  assert.deepStrictEqual(s.tunnelList().map((t) => [t.assignmentId, t.sessions]), [['red', 2], ['blue', 1], [undefined, 2]]);
});

test('Tunnel-Assignment-Id sharing also needs the same Tunnel-Client-Endpoint (source address)', () => {
  const s = selector({ a: { destinations: [dest('198.51.100.1', 1)] } });
  const r = (src: string | undefined, u: string): Choice =>
    tunnel(s.select(T0, { username: u, radius: groups({ tag: 1, ...L2TP, serverEndpoint: '203.0.113.1', assignmentId: 'red', ...(src !== undefined ? { clientEndpoint: src } : {}) }) })).choice;
  const a1 = r('198.18.150.5', 'a');
  const a2 = r('198.18.150.5', 'b');
  const b1 = r('198.18.150.1', 'c');
  const n1 = r(undefined, 'd');
  assert.deepStrictEqual([a1.newTunnel, a1.destination.localAddress], [true, '198.18.150.5']);
  assert.deepStrictEqual([a2.tunnel, a2.newTunnel], [a1.tunnel, false]);
  assert.deepStrictEqual([b1.newTunnel, b1.destination.localAddress], [true, '198.18.150.1']);
  assert.deepStrictEqual([n1.newTunnel, n1.destination.localAddress], [true, undefined]);
  assert.equal(new Set([a1.tunnel, b1.tunnel, n1.tunnel]).size, 3);
  assert.deepStrictEqual(s.tunnelList().map((t) => [t.assignmentId, t.sessions]), [['red', 2], ['red', 1], ['red', 1]]);
});

test('sessions-per-tunnel limit: a new tunnel to the same destination, the old one refills after a release', () => {
  const s = selector({ a: { destinations: [dest('198.51.100.1', 1)], maxSessionsPerTunnel: 2 } });
  const t = [0, 1, 2, 3, 4].map((i) => tunnel(s.select(T0, { username: `u${i}@isp-a.example` })));
  const keys = t.map((x) => x.choice.tunnel);
  assert.equal(keys[0], keys[1]);
  assert.notEqual(keys[2], keys[0]);
  assert.equal(keys[3], keys[2]);
  assert.notEqual(keys[4], keys[2]);
  assert.deepStrictEqual(t.map((x) => x.choice.newTunnel), [true, false, true, false, true]);
  s.release(t[0]?.ticket ?? (0 as never));
  const again = tunnel(s.select(T0, { username: 'v@isp-a.example' }));
  assert.deepStrictEqual([again.choice.tunnel, again.choice.newTunnel], [keys[0], false]);
  assert.equal(s.destinations(T0)[0]?.sessions, 5);
  assert.equal(s.destinations(T0)[0]?.tunnels, 3);
});

test('a tunnel that goes down ends its tickets; an up tunnel is preferred for sharing over a connecting one', () => {
  const s = selector({ a: { destinations: [dest('198.51.100.1', 1)], maxSessionsPerTunnel: 1 } });
  const a = tunnel(s.select(T0, { username: 'a@isp-a.example' }));
  const b = tunnel(s.select(T0, { username: 'b@isp-a.example' }));
  s.tunnelUp(T0, b.choice.tunnel);
  s.release(a.ticket);
  s.release(b.ticket);
  const c = tunnel(s.select(T0, { username: 'c@isp-a.example' }));
  assert.equal(c.choice.tunnel, b.choice.tunnel, 'the established tunnel');
  s.confirm(c.ticket);
  assert.deepStrictEqual(s.tunnelDown(T0, c.choice.tunnel), [c.ticket]);
  assert.deepStrictEqual(s.tunnelFailed(T0, c.choice.tunnel, 'stopccn'), [], 'already gone');
  assert.equal(s.destinations(T0)[0]?.sessions, 0);
});

// ---------------------------------------------------------------- profile validation

test('profiles: up to 31 destinations on up to 8 levels; typed errors beyond', () => {
  const many = (n: number, levels: number): TunnelProfile => ({ destinations: Array.from({ length: n }, (_, i) => dest(`198.51.100.${i + 1}`, i % levels)) });
  assert.ok(resolveProfile('p', many(31, 8)).ok);
  assert.deepStrictEqual(resolveProfile('p', many(32, 8)), { ok: false, error: { kind: 'too-many-destinations', count: 32 } });
  assert.deepStrictEqual(resolveProfile('p', many(9, 9)), { ok: false, error: { kind: 'too-many-levels', count: 9 } });
  assert.deepStrictEqual(resolveProfile('p', { destinations: [] }), { ok: false, error: { kind: 'no-destinations' } });
  assert.deepStrictEqual(resolveProfile('p', { destinations: [dest('x', 1, { port: 0 })] }), { ok: false, error: { kind: 'bad-destination', index: 0, detail: 'port 0' } });
  assert.deepStrictEqual(TunnelSelector.create({ domainMap: { entries: [] }, profiles: { bad: many(32, 1) } }), { ok: false, error: { profile: 'bad', error: { kind: 'too-many-destinations', count: 32 } } });
  const r = resolveProfile('p', many(31, 8));
  assert.ok(r.ok);
  assert.deepStrictEqual([...new Set(r.value.destinations.map((d) => d.level))], [0, 1, 2, 3, 4, 5, 6, 7]);
});
