import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, formatConfigError } from './config.js';

test('[ipsec] with a psk: defaults (require_ipsec on, 500/4500, raw ESP, DPD 30/120 s)', () => {
  const r = parseConfig('[[listen]]\naddress = "192.0.2.1"\n[ipsec]\npsk = "correct horse"\n');
  assert.ok(r.ok);
  const c = r.value.ipsec;
  assert.ok(c);
  assert.equal(c.psk, 'correct horse');
  assert.equal(c.requireIpsec, true);
  assert.deepEqual([c.ikePort, c.nattPort, c.rawEsp, c.dpdInterval, c.dpdTimeout, c.childLifetime], [500, 4500, true, 30_000, 120_000, 28800]);
  const plain = parseConfig('[[listen]]\naddress = "192.0.2.1"\n');
  assert.ok(plain.ok && plain.value.ipsec === undefined);
});

test('[[ipsec.peer]] psks and require_ipsec = false; enabled = false turns it off', () => {
  const r = parseConfig('[ipsec]\nrequire_ipsec = false\n[[ipsec.peer]]\naddress = "198.51.100.7"\npsk = "peer secret"\n');
  assert.ok(r.ok);
  assert.deepEqual(r.value.ipsec?.peers, [{ address: '198.51.100.7', psk: 'peer secret' }]);
  assert.equal(r.value.ipsec?.requireIpsec, false);
  const off = parseConfig('[ipsec]\nenabled = false\n');
  assert.ok(off.ok && off.value.ipsec === undefined);
});

test('[ipsec] errors carry key and line', () => {
  const r = parseConfig('[ipsec]\npsk = "short"\nnatt_port = 500\ndpd_timout = 3\n');
  assert.ok(!r.ok);
  const msgs = r.error.map(formatConfigError);
  assert.ok(msgs.some((m) => /line 2: ipsec\.psk: a pre-shared key needs at least 8 characters/.test(m)), msgs.join('\n'));
  assert.ok(msgs.some((m) => /line 3: ipsec\.natt_port: must differ from ike_port/.test(m)), msgs.join('\n'));
  assert.ok(msgs.some((m) => /line 4: ipsec\.dpd_timout: unknown key \(did you mean "dpd_timeout"\?\)/.test(m)), msgs.join('\n'));
  const none = parseConfig('[ipsec]\n');
  assert.ok(!none.ok && none.error.some((e) => e.key === 'ipsec' && /needs "psk"/.test(e.message)));
  const v6 = parseConfig('[[listen]]\naddress = "::1"\n[ipsec]\npsk = "12345678"\n');
  assert.ok(!v6.ok && v6.error.some((e) => /IPv4 \[\[listen\]\]/.test(e.message)));
});
