/**
 * `[[l2tpv3_static]]`: the `ip l2tp` keys and defaults, the refusals with key and line (cookie
 * length, duplicate session ids on one local address and encapsulation, port clashes with
 * [[listen]], [l2tpv3] and each other, sequencing without the sublayer), and print-config masking
 * the cookies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatConfigError, parseConfig } from './parse.js';
import { printConfig } from './print.js';

const PLAIN = '[ppp]\nenabled = false\n[ipsec]\nenabled = false\n';

/** One static pseudowire; `extra` lines are appended to its table. */
const PW = (name: string, session: number, extra = ''): string =>
  `[[l2tpv3_static]]\nname = "${name}"\nlocal = "192.0.2.1"\nremote = "192.0.2.2"\ntunnel_id = 10\npeer_tunnel_id = 20\nsession_id = ${session}\npeer_session_id = ${session + 1}\n${extra}`;

function errors(src: string): string[] {
  const r = parseConfig(PLAIN + src);
  return r.ok ? [] : r.error.map(formatConfigError);
}

test('[[l2tpv3_static]]: Linux ip l2tp defaults (udp 1701/1701, l2spec default, seq none, no cookie), no default v2 listener', () => {
  const r = parseConfig(PLAIN + PW('lan1', 3000, 'cookie = "A1B2C3D4"\npeer_cookie = "0102030405060708"\ntap = "l2tpeth0"\n'));
  assert.ok(r.ok, r.ok ? '' : r.error.map(formatConfigError).join('\n'));
  const s = r.value.l2tpv3Static?.[0];
  assert.ok(s !== undefined);
  assert.deepEqual(
    [s.encap, s.udpSport, s.udpDport, s.l2specType, s.seq, s.mtu, s.pwType, s.tap, s.cookie, s.peerCookie, s.tunnelId, s.peerTunnelId, s.sessionId, s.peerSessionId],
    ['udp', 1701, 1701, 'default', 'none', 1500, 'ethernet', 'l2tpeth0', 'a1b2c3d4', '0102030405060708', 10, 20, 3000, 3001],
  );
  assert.equal(r.value.listen.length, 0, 'no default v2 listener next to [[l2tpv3_static]]');
  const none = parseConfig(PLAIN);
  assert.ok(none.ok && none.value.l2tpv3Static === undefined, 'absent = none');
});

test('[[l2tpv3_static]]: a cookie is 8 or 16 hex digits; the error names the key and its line', () => {
  const e = errors(PW('lan1', 3000, 'cookie = "a1b2c3"\n') + PW('lan2', 4000, 'peer_cookie = "zz000000"\nudp_sport = 1702\n'));
  assert.equal(e.length, 2, e.join('\n'));
  assert.match(e[0] ?? '', /^config: line 13: l2tpv3_static\[0\]\.cookie: a cookie is 4 or 8 bytes \(8 or 16 hex digits\), got 6/);
  assert.match(e[1] ?? '', /^config: line 22: l2tpv3_static\[1\]\.peer_cookie: expected hex digits/);
});

test('[[l2tpv3_static]]: the same session_id twice on one local address and encap is refused; another encap is fine', () => {
  const dup = errors(PW('lan1', 3000, 'encap = "ip"\n') + PW('lan2', 3000, 'encap = "ip"\n'));
  assert.equal(dup.length, 1, dup.join('\n'));
  assert.match(dup[0] ?? '', /^config: line 20: l2tpv3_static\[1\]\.session_id: session_id 3000 is also used by l2tpv3_static\[0\] on 192\.0\.2\.1 \(encap ip\)/);
  assert.deepEqual(errors(PW('lan1', 3000, 'encap = "ip"\n') + PW('lan2', 3000, 'udp_sport = 1702\n')), []);
  const udp = errors(PW('lan1', 3000, 'udp_sport = 1702\n') + PW('lan2', 3000, 'udp_sport = 1703\n'));
  assert.match(udp.join('\n'), /l2tpv3_static\[1\]\.session_id: session_id 3000 is also used/);
});

test('[[l2tpv3_static]]: UDP port clashes with another static pseudowire, a [[listen]] and [l2tpv3]', () => {
  const twice = errors(PW('lan1', 3000) + PW('lan2', 4000));
  assert.equal(twice.length, 1, twice.join('\n'));
  assert.match(twice[0] ?? '', /line \d+: l2tpv3_static\[1\]\.udp_sport: 192\.0\.2\.1:1701 is also the socket of l2tpv3_static\[0\]/);
  const listen = errors(`[[listen]]\naddress = "0.0.0.0"\nport = 1701\n${PW('lan1', 3000)}`);
  assert.equal(listen.length, 1, listen.join('\n'));
  assert.match(listen[0] ?? '', /l2tpv3_static\[0\]\.udp_sport: 192\.0\.2\.1:1701 is also a \[\[listen\]\] address \(0\.0\.0\.0:1701\)/);
  const v3 = errors(`[l2tpv3]\nlisten = "192.0.2.1:1701"\n[[l2tpv3.pseudowire]]\nname = "d"\npeer = "192.0.2.9:1701"\n${PW('lan1', 3000)}`);
  assert.equal(v3.length, 1, v3.join('\n'));
  assert.match(v3[0] ?? '', /l2tpv3_static\[0\]\.udp_sport: .*also the \[l2tpv3\] listen address/);
  assert.deepEqual(errors(`[[listen]]\naddress = "0.0.0.0"\nport = 1701\n${PW('lan1', 3000, 'encap = "ip"\n')}`), [], 'IP encap has no port');
});

test('[[l2tpv3_static]]: duplicate names and TAPs, seq without the sublayer, no peer, ports with encap ip, missing ids', () => {
  const e = errors(PW('lan1', 3000, 'tap = "t0"\n') + PW('lan1', 4000, 'tap = "t0"\nudp_sport = 1702\nl2spec_type = "none"\nseq = "both"\n') + '[[l2tpv3_static]]\nname = "x"\nlocal = "192.0.2.1"\nremote = "0.0.0.0"\nencap = "ip"\nudp_dport = 9\n');
  const text = e.join('\n');
  assert.match(text, /l2tpv3_static\[1\]\.name: duplicate name "lan1" \(also l2tpv3_static\[0\]\)/);
  assert.match(text, /l2tpv3_static\[1\]\.tap: TAP "t0" is also used by l2tpv3_static\[0\]/);
  assert.match(text, /l2tpv3_static\[1\]\.seq: needs l2spec_type "default"/);
  assert.match(text, /l2tpv3_static\[2\]\.remote: must be the peer's address/);
  assert.match(text, /l2tpv3_static\[2\]\.udp_dport: only used with encap = "udp"/);
  for (const k of ['tunnel_id', 'peer_tunnel_id', 'session_id', 'peer_session_id']) assert.match(text, new RegExp(`l2tpv3_static\\[2\\]: missing key "${k}"`));
});

test('[[l2tpv3_static]]: print-config masks both cookies; shown, it parses back to the same pseudowire', () => {
  const r = parseConfig(PLAIN + PW('lan1', 3000, 'cookie = "a1b2c3d4"\npeer_cookie = "0102030405060708"\nencap = "ip"\nmss_clamp = 1360\n'));
  assert.ok(r.ok);
  const masked = printConfig(r.value);
  assert.ok(!masked.includes('a1b2c3d4') && !masked.includes('0102030405060708'), masked);
  assert.match(masked, /^\[\[l2tpv3_static\]\]\nname = "lan1"$/m);
  assert.match(masked, /^cookie = "\*{8}"$/m);
  const again = parseConfig(printConfig(r.value, { secrets: 'show' }));
  assert.ok(again.ok, again.ok ? '' : again.error.map(formatConfigError).join('\n'));
  assert.deepEqual(again.value.l2tpv3Static, r.value.l2tpv3Static);
});
