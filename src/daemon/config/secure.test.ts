/**
 * Secure defaults (issue 11 #1): PPP logins over L2TP outside IPsec on a non-loopback listener are
 * refused with a message that explains why and names the key and its line; allow_insecure lets
 * them through with a warning; what is allowed but weak is a warning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, formatConfigError } from './parse.js';
import { configWarnings, isLoopbackAddress } from './secure.js';
import type { DaemonConfig } from './types.js';

const refused = (src: string): string[] => {
  const r = parseConfig(src);
  assert.equal(r.ok, false, `expected a refusal:\n${src}`);
  return r.ok ? [] : r.error.map(formatConfigError);
};
const accepted = (src: string): DaemonConfig => {
  const r = parseConfig(src);
  assert.ok(r.ok, r.ok ? '' : r.error.map(formatConfigError).join('\n'));
  return r.value;
};

test('PPP logins outside IPsec on a network listener are refused, with the reason and the fix', () => {
  // IPsec turned off on 0.0.0.0 (the old meaning of a file with only [users]).
  const off = refused('[users]\nfile = "/etc/l2tpd/users"\n[ipsec]\nenabled = false\n');
  assert.equal(off.length, 1, off.join('\n'));
  const m = off[0] ?? '';
  assert.match(m, /^config: line 4: ipsec\.enabled: refused: MS-CHAPv2\/CHAP-MD5 logins would cross the network outside IPsec on 0\.0\.0\.0:1701 \(IPsec is off\)/);
  assert.match(m, /PAP sends the password as it is/);
  assert.match(m, /crack the password offline/);
  assert.match(m, /\[ppp\] allow_insecure = true/);
  // require_ipsec = false lets clear L2TP in: the same logins, the same refusal, at that key.
  const clear = refused('[[listen]]\naddress = "192.0.2.1"\n[ipsec]\npsk = "correct horse"\nrequire_ipsec = false\n[ppp]\nauth = ["pap"]\n');
  assert.ok(clear.some((x) => /line 5: ipsec\.require_ipsec: refused: PAP logins .* \(require_ipsec = false accepts L2TP outside IPsec\)/.test(x)), clear.join('\n'));
  // PPP runs on the first listener; IPsec on the first IPv4 one: an IPv6 first listener is clear L2TP.
  const v6 = refused('[[listen]]\naddress = "2001:db8::1"\n[[listen]]\naddress = "192.0.2.1"\n');
  assert.ok(v6.some((x) => /line 2: listen\[0\]\.address: refused: .* on \[2001:db8::1\]:1701 \(IPsec runs on the first IPv4 listener/.test(x)), v6.join('\n'));
});

test('what is not refused: IPsec on (default), loopback listeners, no PPP, no authentication, allow_insecure', () => {
  for (const src of [
    '',
    '[users]\nfile = "/etc/l2tpd/users"\n',
    '[[listen]]\naddress = "192.0.2.1"\n[ipsec]\npsk = "correct horse"\n',
    '[[listen]]\naddress = "127.0.0.1"\n[ipsec]\nenabled = false\n',
    '[[listen]]\naddress = "::1"\n[ipsec]\nenabled = false\n',
    '[[listen]]\naddress = "192.0.2.1"\n[ipsec]\nenabled = false\n[ppp]\nenabled = false\n',
  ]) {
    const c = accepted(src);
    assert.deepEqual(configWarnings(c), [], `${JSON.stringify(src)}: no warning`);
  }
  const insecure = accepted('[[listen]]\naddress = "192.0.2.1"\n[ipsec]\nenabled = false\n[ppp]\nallow_insecure = true\n');
  assert.deepEqual(configWarnings(insecure).map((w) => w.key), ['ppp.allow_insecure']);
  assert.match(configWarnings(insecure)[0]?.message ?? '', /cross the network outside IPsec on 192\.0\.2\.1:1701 \(IPsec is off; allowed by \[ppp\] allow_insecure = true\)/);
  const noAuth = accepted('[[listen]]\naddress = "192.0.2.1"\n[ipsec]\nenabled = false\n[ppp]\nauth = []\n');
  assert.deepEqual(configWarnings(noAuth).map((w) => w.key), ['ppp.auth']);
  const twoListeners = accepted('[[listen]]\naddress = "192.0.2.1"\n[[listen]]\naddress = "192.0.2.2"\n');
  assert.deepEqual(configWarnings(twoListeners).map((w) => w.key), ['listen']);
  const noRaw = accepted('[ipsec]\nraw_esp = false\n');
  assert.deepEqual(configWarnings(noRaw).map((w) => w.key), ['ipsec.raw_esp']);
});

test('loopback literals', () => {
  for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopbackAddress(a), true, a);
  for (const a of ['0.0.0.0', '::', '192.0.2.1', '128.0.0.1', '2001:db8::1', 'localhost']) assert.equal(isLoopbackAddress(a), false, a);
});
