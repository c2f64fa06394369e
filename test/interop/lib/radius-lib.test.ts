/**
 * The RADIUS harness helpers' pure parts on recorded text (FreeRADIUS 3.2.1 detail file, the Debian
 * default site) and the child protocol's JSON; no root needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adaptDefaultSite, parseDetailFile } from './freeradius.js';
import { fromWire, toWire } from './radius-json.js';

/** Two records as FreeRADIUS 3.2.1's detail module wrote them (shortened). */
const DETAIL = `Wed Dec  2 17:21:05 2026
	Acct-Status-Type = Start
	Acct-Session-Id = "acct-0001"
	User-Name = "papuser"
	Class = 0x6c32746b69742d636c617373
	Tunnel-Type:1 = L2TP
	Reply-Message = "say \\"hi\\""
	Acct-Unique-Session-Id = "4c1d5f2f5ea7d3dd6c1b8e0a3b9f1e55"
	Timestamp = 1796232065

Wed Dec  2 17:21:06 2026
	Acct-Status-Type = Stop
	Acct-Session-Id = "acct-0001"
	Class = 0x01
	Class = 0x02

`;

test('parseDetailFile: blocks, quoted and bare values, repeated and tagged attributes', () => {
  const d = parseDetailFile(DETAIL, 'x/detail-20261202');
  assert.equal(d.length, 2);
  assert.equal(d[0]?.get('Acct-Status-Type'), 'Start');
  assert.equal(d[0]?.get('Acct-Session-Id'), 'acct-0001');
  assert.equal(d[0]?.get('Tunnel-Type:1'), 'L2TP');
  assert.equal(d[0]?.get('Reply-Message'), 'say "hi"');
  assert.equal(d[0]?.file, 'x/detail-20261202');
  assert.deepEqual(d[1]?.attributes.get('Class'), ['0x01', '0x02']);
});

test('adaptDefaultSite: Message-Authenticator in post-auth and REJECT, Reply-Message in REJECT', () => {
  const site = 'authorize {\n}\npost-auth {\n\tif (x) {\n\t}\n\tPost-Auth-Type REJECT {\n\t\tattr_filter.access_reject\n\t}\n}\n';
  const out = adaptDefaultSite(site, { messageAuthenticatorInReplies: true, rejectReplyMessage: 'no "way"' });
  assert.match(out, /^post-auth \{\n\tupdate reply \{\n\t\t&Message-Authenticator := 0x00\n\t\}\n/m);
  assert.match(out, /\tPost-Auth-Type REJECT \{\n\t\tupdate reply \{\n\t\t\t&Message-Authenticator := 0x00\n\t\t\t&Reply-Message := "no \\"way\\""\n\t\t\}\n\t\tattr_filter/);
  assert.equal(adaptDefaultSite(site, {}), site);
});

test('child protocol JSON: octet strings survive nested in arrays and objects', () => {
  const v = { a: Uint8Array.of(1, 2), b: [{ c: Uint8Array.of(255) }], d: 'x', e: 3 };
  assert.deepEqual(fromWire(JSON.parse(JSON.stringify(toWire(v)))), v);
});
