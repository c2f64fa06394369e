import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './parse.js';
import { formatConfigError } from '../config.js';

const BASE = `[[pppoe]]
interface = "eth1"
tunnel_select = true

[tunnel_select]
default = "reject"

[[tunnel_select.domain]]
realm = "isp-a.example"
target = "a"
strip_realm = true

[[tunnel_select.profile]]
name = "a"
load_balancing = "weighted"
dead_time = 60

[[tunnel_select.destination]]
profile = "a"
address = "192.0.2.1"
preference = 1
max_sessions = 300

[[tunnel_select.destination]]
profile = "a"
address = "192.0.2.2"
preference = 2
`;

test('tunnel_select: a domain row, a profile with two levels -> the selector config', () => {
  const r = parseConfig(BASE);
  assert.ok(r.ok, r.ok ? '' : r.error.map(formatConfigError).join('\n'));
  const s = r.value.tunnelSelect;
  assert.ok(s !== undefined);
  assert.deepEqual(s.selector.domainMap.entries, [{ realm: 'isp-a.example', target: { kind: 'tunnel', profile: 'a' }, stripRealm: true }]);
  assert.deepEqual(s.selector.domainMap.default, { kind: 'reject' });
  const p = s.selector.profiles['a'];
  assert.equal(p?.loadBalancing, 'weighted');
  assert.equal(p?.deadTime, 60_000);
  assert.deepEqual(p?.destinations.map((d) => `${d.address}/${d.preference ?? 0}/${d.maxSessions ?? '-'}`), ['192.0.2.1/1/300', '192.0.2.2/2/-']);
  assert.equal(s.sccrqRetries, 3);
  assert.equal(r.value.pppoe[0]?.tunnelSelect, true);
});

const errorCases = [
  { name: 'unknown profile in a domain row', edit: (t: string) => t.replace('target = "a"', 'target = "b"'), want: 'line 10: tunnel_select.domain[0].target: no [[tunnel_select.profile]] named "b"' },
  { name: 'destination of no profile', edit: (t: string) => t.replace('profile = "a"\naddress = "192.0.2.2"', 'profile = "x"\naddress = "192.0.2.2"'), want: 'line 25: tunnel_select.destination[1].profile: no [[tunnel_select.profile]] named "x"' },
  { name: 'bad load balancing', edit: (t: string) => t.replace('"weighted"', '"random"'), want: 'line 15: tunnel_select.profile[0].load_balancing: expected "round-robin" or "weighted"' },
  { name: 'a realm mapped twice', edit: (t: string) => t.replace('[[tunnel_select.profile]]', '[[tunnel_select.domain]]\nrealm = "ISP-A.example"\ntarget = "reject"\n\n[[tunnel_select.profile]]'), want: 'line 14: tunnel_select.domain[1].realm: realm "ISP-A.example" is mapped twice' },
  { name: 'radius without [radius]', edit: (t: string) => t.replace('default = "reject"', 'default = "reject"\nradius = true'), want: 'line 7: tunnel_select.radius: needs a [radius] section' },
  { name: 'a 9th preference value', edit: (t: string) => t + Array.from({ length: 7 }, (_, i) => `\n[[tunnel_select.destination]]\nprofile = "a"\naddress = "192.0.2.${10 + i}"\npreference = ${10 + i}\n`).join(''), want: 'line 14: tunnel_select.profile[0].name: profile "a" has 9 distinct preference values; at most 8' },
  { name: 'pppoe tunnel_select without the section', edit: (t: string) => t.slice(0, t.indexOf('[tunnel_select]')), want: 'line 3: pppoe[0].tunnel_select: needs a [tunnel_select] section' },
];
for (const c of errorCases) {
  test(`tunnel_select config error: ${c.name}`, () => {
    const r = parseConfig(c.edit(BASE));
    assert.ok(!r.ok, 'refused');
    const text = r.error.map(formatConfigError).join('\n');
    assert.ok(text.includes(c.want), text);
  });
}
