import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig, parseConfig, formatConfigError } from './config.js';
import { policyFromSuites } from '../ipsec/proposal-names.js';

test('[ipsec] with a psk: defaults (require_ipsec on, 500/4500, raw ESP, DPD 30/120 s)', () => {
  const r = parseConfig('[[listen]]\naddress = "192.0.2.1"\n[ipsec]\npsk = "correct horse"\n');
  assert.ok(r.ok);
  const c = r.value.ipsec;
  assert.ok(c);
  assert.equal(c.psk, 'correct horse');
  assert.equal(c.requireIpsec, true);
  assert.deepEqual([c.ikePort, c.nattPort, c.rawEsp, c.dpdInterval, c.dpdTimeout, c.childLifetime], [500, 4500, true, 30_000, 120_000, 28800]);
  // A listener without [ipsec] is L2TP/IPsec too (the secure default), with a generated PSK.
  const plain = parseConfig('[[listen]]\naddress = "192.0.2.1"\n');
  assert.ok(plain.ok && plain.value.ipsec !== undefined && plain.value.ipsec.pskGenerated === true && plain.value.ipsec.psk === undefined);
  const off = parseConfig('[[listen]]\naddress = "192.0.2.1"\n[ipsec]\nenabled = false\n[ppp]\nenabled = false\n');
  assert.ok(off.ok && off.value.ipsec === undefined);
});

test('[[ipsec.peer]] psks and require_ipsec = false; enabled = false turns it off', () => {
  const r = parseConfig('[ipsec]\nrequire_ipsec = false\n[[ipsec.peer]]\naddress = "198.51.100.7"\npsk = "peer secret"\n[ppp]\nallow_insecure = true\n');
  assert.ok(r.ok, r.ok ? '' : r.error.map(formatConfigError).join('\n'));
  assert.deepEqual(r.value.ipsec?.peers, [{ address: '198.51.100.7', psk: 'peer secret' }]);
  assert.equal(r.value.ipsec?.requireIpsec, false);
  assert.equal(r.value.ipsec?.pskGenerated, undefined, 'only the listed peers: no generated PSK');
  const off = parseConfig('[ipsec]\nenabled = false\n[[listen]]\naddress = "127.0.0.1"\n');
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
  assert.ok(none.ok && none.value.ipsec?.pskGenerated === true, 'no psk: generated (src/daemon/setup keeps it)');
  const v6 = parseConfig('[[listen]]\naddress = "::1"\n[ipsec]\npsk = "12345678"\n');
  assert.ok(!v6.ok && v6.error.some((e) => /IPv4 \[\[listen\]\]/.test(e.message)));
  // On by default, so an IPv6-only LNS has to say it wants plain L2TP.
  const v6default = parseConfig('[[listen]]\naddress = "::"\n');
  assert.ok(!v6default.ok && v6default.error.some((e) => e.key === 'ipsec' && /on by default .* set \[ipsec\] enabled = false/.test(e.message)));
});

test('[ipsec] ike_proposals / esp_proposals / sha256_96 (global and per peer)', () => {
  const r = parseConfig(
    '[ipsec]\npsk = "correct horse"\nike_proposals = ["aes256-sha256-modp2048", "3des-sha1-modp1024"]\nesp_proposals = ["aes128gcm16", "aes256-sha1"]\n' +
      '[[ipsec.peer]]\naddress = "198.51.100.7"\npsk = "android phone"\nsha256_96 = true\n',
  );
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  const c = r.value.ipsec;
  assert.deepEqual(c?.ikeProposals, [{ encryption: ['aes256'], hash: ['sha256'], groups: [14] }, { encryption: ['3des'], hash: ['sha1'], groups: [2] }]);
  assert.deepEqual(c?.espProposals?.map((x) => x.encryption), [['aes128-gcm16'], ['aes256-cbc']]);
  assert.equal(c?.sha256_96, false);
  assert.deepEqual(c?.peers, [{ address: '198.51.100.7', psk: 'android phone', sha256_96: true }]);
  const d = parseConfig('[ipsec]\npsk = "correct horse"\n');
  assert.ok(d.ok && d.value.ipsec?.ikeProposals === undefined && d.value.ipsec?.espProposals === undefined);
});

test('proposal errors name the key, the line and the entry', () => {
  const r = parseConfig('[ipsec]\npsk = "correct horse"\nike_proposals = ["aes256-sha256-modp2048", "aes256-md5-modp2048"]\nesp_proposals = ["aes256"]\n');
  assert.ok(!r.ok);
  const msgs = r.error.map(formatConfigError);
  assert.ok(msgs.some((m) => /line 3: ipsec\.ike_proposals: entry 2: "aes256-md5-modp2048": unknown algorithm "md5"/.test(m)), msgs.join('\n'));
  assert.ok(msgs.some((m) => /line 4: ipsec\.esp_proposals: entry 1: "aes256": a CBC cipher needs an integrity algorithm/.test(m)), msgs.join('\n'));
  const t = parseConfig('[ipsec]\npsk = "correct horse"\nesp_proposals = "aes128gcm16"\n');
  assert.ok(!t.ok && t.error.some((e) => e.key === 'ipsec.esp_proposals' && /array of strings/.test(e.message)));
});

test('[[lac]] ipsec = true: psk, offers from proposals, ports; errors for missing psk, IPv6, clashes, stray keys', () => {
  const r = parseConfig(
    'listen = []\n[[lac]]\nlns = "198.18.0.4"\nipsec = true\npsk = "server secret"\nike_proposals = ["aes128-sha1-modp2048"]\nesp_proposals = ["aes128-sha256-modp2048"]\nsha256_96 = true\nforce_encapsulation = true\n',
  );
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  const x = r.value.lac[0]?.ipsec;
  assert.ok(x);
  assert.equal(x.psk, 'server secret');
  assert.deepEqual(x.proposals.phase1, [{ encryption: 'aes128', hash: 'sha1', group: 14 }]);
  assert.deepEqual(x.proposals.phase2, [{ encryption: 'aes128-cbc', integrity: 'hmac-sha256-96' }]);
  assert.equal(x.pfsGroup, 14);
  assert.deepEqual([x.forceEncapsulation, x.ikePort, x.nattPort, x.lnsIkePort, x.lnsNattPort, x.rawEsp], [true, 500, 4500, 500, 4500, true]);
  const plain = parseConfig('listen = []\n[[lac]]\nlns = "198.18.0.4"\nipsec = true\npsk = "server secret"\n');
  assert.ok(plain.ok && (plain.value.lac[0]?.ipsec?.proposals.phase1.length ?? 0) > 0);
  assert.ok(plain.ok);
  assert.deepEqual([plain.value.lac[0]?.ipsec?.dpdInterval, plain.value.lac[0]?.ipsec?.dpdTimeout], [30_000, 120_000], 'DPD defaults 30 s / 120 s');
  assert.deepEqual([plain.value.lac[0]?.ipsec?.ikeLifetime, plain.value.lac[0]?.ipsec?.childLifetime], [28800, 3600], 'lifetime defaults');
  const life = parseConfig('listen = []\n[[lac]]\nlns = "198.18.0.4"\nipsec = true\npsk = "server secret"\nike_lifetime = 600\nchild_lifetime = 10\n');
  assert.ok(!life.ok && life.error.map(formatConfigError).some((m) => /line 7: lac\[0\]\.child_lifetime/.test(m)), 'child_lifetime below 30 s refused');
  const dpd = parseConfig('listen = []\n[[lac]]\nlns = "198.18.0.4"\nipsec = true\npsk = "server secret"\ndpd_interval = 0\ndpd_timeout = 15\n');
  assert.ok(dpd.ok && dpd.value.lac[0]?.ipsec?.dpdInterval === 0 && dpd.value.lac[0].ipsec.dpdTimeout === 15_000);
  const dpdBad = parseConfig('listen = []\n[[lac]]\nlns = "198.18.0.4"\nipsec = true\npsk = "server secret"\ndpd_timeout = 0\n');
  assert.ok(!dpdBad.ok && dpdBad.error.map(formatConfigError).some((m) => /line 6: lac\[0\]\.dpd_timeout/.test(m)));

  const bad = parseConfig(
    '[[listen]]\naddress = "0.0.0.0"\n[ipsec]\npsk = "correct horse"\n[[lac]]\nlns = "2001:db8::1"\nipsec = true\n[[lac]]\nlns = "198.18.0.4"\nipsec = true\npsk = "server secret"\n[[lac]]\nlns = "198.18.0.5"\npsk = "stray"\ndpd_interval = 5\n',
  );
  assert.ok(!bad.ok);
  const msgs = bad.error.map(formatConfigError);
  assert.ok(msgs.some((m) => /lac\[0\]: ipsec = true needs "psk"/.test(m)), msgs.join('\n'));
  assert.ok(msgs.some((m) => /lac\[0\]\.lns: ipsec = true needs an IPv4/.test(m)), msgs.join('\n'));
  assert.ok(msgs.some((m) => /lac\[1\]\.ike_port: UDP port 500 is already used by \[ipsec\]/.test(m)), msgs.join('\n'));
  assert.ok(msgs.some((m) => /line 14: lac\[2\]\.psk: only used with ipsec = true/.test(m)), msgs.join('\n'));
  assert.ok(msgs.some((m) => /line 15: lac\[2\]\.dpd_interval: only used with ipsec = true/.test(m)), msgs.join('\n'));
});

test('no-config default: L2TP/IPsec with a generated PSK, L2TP only inside IPsec', () => {
  const c = defaultConfig();
  assert.ok(c.ipsec);
  // The key itself comes from the state directory (src/daemon/setup), not from the parse.
  assert.equal(c.ipsec.pskGenerated, true);
  assert.equal(c.ipsec.psk, undefined);
  assert.equal(c.ipsec.requireIpsec, true);
  assert.equal(defaultConfig('fixed psk value').ipsec?.psk, 'fixed psk value');
  assert.ok(c.access);
  assert.deepEqual(c.listen.map((l) => `${l.address}:${l.port}`), ['0.0.0.0:1701']);
});

test('[ipsec] child_lifetime_kb caps the ESP volume in the responder policy', () => {
  const r = parseConfig('[[listen]]\naddress = "192.0.2.1"\n[ipsec]\npsk = "correct horse"\nchild_lifetime_kb = 4096\n');
  assert.ok(r.ok, r.ok ? '' : r.error.map(formatConfigError).join('\n'));
  assert.equal(r.value.ipsec?.childLifetimeKb, 4096);
  const p = policyFromSuites(undefined, undefined, { ikeLifetimeSeconds: 86400, childLifetimeSeconds: 28800, childLifetimeKilobytes: 4096 });
  assert.equal(p.phase2.maxLifetimeKilobytes, 4096);
  const bad = parseConfig('[ipsec]\npsk = "correct horse"\nchild_lifetime_kb = -1\n');
  assert.ok(!bad.ok && bad.error.some((e) => e.key === 'ipsec.child_lifetime_kb' && e.line === 3), bad.ok ? '' : bad.error.map(formatConfigError).join('\n'));
  const dflt = parseConfig('[ipsec]\npsk = "correct horse"\n');
  assert.ok(dflt.ok && dflt.value.ipsec?.childLifetimeKb === 0);
});
