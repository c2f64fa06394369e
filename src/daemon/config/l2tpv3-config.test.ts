/**
 * `[l2tpv3]` and `[[l2tpv3.pseudowire]]`: the profile's defaults filled in, overrides win, the
 * cross-field refusals, and the engine options the daemon derives (dials grouped by peer, accepted
 * pseudowires and identities).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatConfigError, parseConfig } from './parse.js';
import { l2tpv3EngineOptions } from '../l2tpv3-shell.js';

const PLAIN = '[ppp]\nenabled = false\n[ipsec]\nenabled = false\n';

function errors(src: string): string[] {
  const r = parseConfig(PLAIN + src);
  return r.ok ? [] : r.error.map(formatConfigError);
}

test('[l2tpv3]: profile defaults, overrides, computed router id and remote end id', () => {
  const r = parseConfig(`${PLAIN}[l2tpv3]\nlisten = "198.51.100.1:1701"\nprofile = "cisco"\nsecret = "s"\n[[l2tpv3.pseudowire]]\nname = "lan1"\npeer = "203.0.113.7:1701"\n[[l2tpv3.pseudowire]]\nname = "lan2"\nremote_end_id = "x2"\npeer = "203.0.113.7:1701"\nsublayer = "default"\nsequencing = true\ncookie_length = 8\n[[l2tpv3.pseudowire]]\nname = "in"\npeer_host_name = "branch"\n`);
  assert.ok(r.ok, r.ok ? '' : r.error.map(formatConfigError).join('\n'));
  const v = r.value.l2tpv3;
  assert.ok(v !== undefined);
  assert.equal(v.routerId, '198.51.100.1');
  assert.equal(v.messageDigest, 'md5');
  assert.equal(v.challenge, false);
  assert.equal(v.keepaliveInterval, 60_000);
  assert.deepEqual(v.pseudowires[0]?.pseudowire, { pwType: 5, cookieLength: 4, sublayer: 'none', sequencing: false });
  assert.deepEqual(v.pseudowires[1]?.pseudowire, { pwType: 5, cookieLength: 8, sublayer: 'default', sequencing: true });
  assert.equal(v.pseudowires[1]?.remoteEndId, 'x2');
  assert.equal(r.value.listen.length, 0, 'no default v2 listener next to [l2tpv3]');
  const o = l2tpv3EngineOptions(v);
  assert.equal(o.dials.length, 1, 'one connection per peer');
  assert.deepEqual(o.dials[0]?.sessions.map((s) => s.remoteEndId), ['lan1', 'x2']);
  assert.equal(o.engine.acceptConnections, true);
  assert.deepEqual(o.engine.acceptPseudowires.remoteEndIds, ['in']);
  assert.deepEqual(o.engine.accept.allowedPeers, [{ hostName: 'branch' }]);
  assert.equal(o.engine.accept.messageDigest, 'md5');
});

test('[l2tpv3]: yamaha is Challenge auth without digest, Ethernet only', () => {
  const r = parseConfig(`${PLAIN}[l2tpv3]\nlisten = "198.51.100.1:1701"\nprofile = "yamaha"\nsecret = "s"\n[[l2tpv3.pseudowire]]\nname = "lan1"\npeer = "203.0.113.7:1701"\n`);
  assert.ok(r.ok);
  assert.equal(r.value.l2tpv3?.messageDigest, undefined);
  assert.equal(r.value.l2tpv3?.challenge, true);
  assert.ok(errors(`[l2tpv3]\nlisten = "198.51.100.1:1701"\nprofile = "yamaha"\nsecret = "s"\n[[l2tpv3.pseudowire]]\nname = "v"\npeer = "203.0.113.7:1701"\npw_type = "ethernet-vlan"\n`).some((e) => e.includes('pw_type')));
});

test('[l2tpv3]: refusals', () => {
  const base = '[l2tpv3]\nlisten = "198.51.100.1:1701"\nsecret = "s"\n';
  const pw = '[[l2tpv3.pseudowire]]\nname = "a"\npeer = "203.0.113.7:1701"\n';
  assert.ok(errors(`[l2tpv3]\nlisten = "0.0.0.0:1701"\n${pw}`).some((e) => e.includes('router_id')));
  assert.ok(errors(`${base}${pw}cookie_length = 3\n`).some((e) => e.includes('0, 4 or 8')));
  assert.ok(errors(`${base}${pw}sublayer = "none"\nsequencing = true\n`).some((e) => e.includes('sublayer "default"')));
  assert.ok(errors(`${base}${pw}${pw}`).some((e) => e.includes('duplicate pseudowire name')));
  assert.ok(errors(`[l2tpv3]\nlisten = "198.51.100.1:1701"\n[[l2tpv3.pseudowire]]\nname = "open"\n`).some((e) => e.includes('accepts whoever dials')));
  assert.ok(errors(`[l2tpv3]\nlisten = "198.51.100.1:1701"\nchallenge = true\n${pw}`).some((e) => e.includes('needs a secret')));
  assert.ok(errors(base).some((e) => e.includes('at least one')));
  assert.ok(errors(`[[listen]]\naddress = "0.0.0.0"\n${base}${pw}`).some((e) => e.includes('also a [[listen]]')));
  assert.ok(errors(`${base}profile = "juniper"\n${pw}`).some((e) => e.includes('profile')));
});

test('[l2tpv3] ipsec = true: psk required, require_ipsec on by default, one IKE role, IPv4, no IKE port shared with [ipsec]', () => {
  const pw = '[[l2tpv3.pseudowire]]\nname = "a"\npeer = "203.0.113.7:1701"\n';
  const r = parseConfig(`${PLAIN}[l2tpv3]\nlisten = "198.51.100.1:1701"\nipsec = true\npsk = "0123456789"\n${pw}`);
  assert.ok(r.ok, r.ok ? '' : r.error.map(formatConfigError).join('\n'));
  const g = r.value.l2tpv3?.ipsec;
  assert.ok(g !== undefined);
  assert.deepEqual([g.requireIpsec, g.ikePort, g.nattPort, g.rawEsp, g.forceEncapsulation], [true, 500, 4500, true, false]);
  const plain = parseConfig(`${PLAIN}[l2tpv3]\nlisten = "198.51.100.1:1701"\n${pw}`);
  assert.ok(plain.ok && plain.value.l2tpv3?.ipsec === undefined, 'off unless ipsec = true');
  assert.ok(errors(`[l2tpv3]\nlisten = "198.51.100.1:1701"\nipsec = true\n${pw}`).some((e) => e.includes('psk')));
  assert.ok(errors(`[l2tpv3]\nlisten = "198.51.100.1:1701"\nipsec = true\npsk = "0123456789"\n${pw}[[l2tpv3.pseudowire]]\nname = "b"\npeer = "203.0.113.8:1701"\n`).some((e) => e.includes('dials one peer')));
  assert.ok(errors(`[l2tpv3]\nlisten = "198.51.100.1:1701"\nsecret = "s"\nipsec = true\npsk = "0123456789"\n${pw}[[l2tpv3.pseudowire]]\nname = "in"\n`).some((e) => e.includes('all dial')));
  const both = parseConfig(`[[listen]]\naddress = "192.0.2.1"\n[ipsec]\npsk = "0123456789"\n[ppp]\nenabled = false\n[l2tpv3]\nlisten = "198.51.100.1:1701"\nipsec = true\npsk = "0123456789"\n${pw}`);
  assert.ok(!both.ok && both.error.map(formatConfigError).some((e) => e.includes('ike_port')), both.ok ? 'accepted' : both.error.map(formatConfigError).join('\n'));
  const apart = parseConfig(`[[listen]]\naddress = "192.0.2.1"\n[ipsec]\npsk = "0123456789"\n[ppp]\nenabled = false\n[l2tpv3]\nlisten = "198.51.100.1:1701"\nipsec = true\npsk = "0123456789"\nike_port = 1500\nnatt_port = 5500\n${pw}`);
  assert.ok(apart.ok, apart.ok ? '' : apart.error.map(formatConfigError).join('\n'));
});
