/**
 * NetworkManager itself reads our keyfiles: libnm's keyfile reader (`NM.keyfile_read`, through
 * GObject introspection: Debian gir1.2-nm-1.0 + python3-gi, no NetworkManager daemon needed) loads
 * each `l2tpctl client-profile --format nmconnection` output, normalizes and verifies the
 * connection, and hands back the VPN service type, data items and secrets, which must equal what
 * we meant to write — also for values with blanks, backslashes, quotes and non-ASCII text.
 *
 * Why not nmcli in the guest: the guest image would need network-manager and
 * network-manager-l2tp (a system D-Bus, NetworkManager and the plugin's service) — a rebuild of
 * the shared image for every suite and a second IPsec stack in it; libnm's reader is the same
 * code `nmcli connection load` runs on the file. The plugin's key names and types are checked by
 * src/daemon/client-profile/client-profile.test.ts against its valid_properties table.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPackages, requireRoot, run } from './lib/index.js';
import { clientProfile, nmKeyfileSections, stableIds, type ClientProfileInput } from '../../src/daemon/client-profile/index.js';

const READER = `
import json, sys, gi
gi.require_version('NM', '1.0')
from gi.repository import NM, GLib
kf = GLib.KeyFile()
kf.load_from_file(sys.argv[1], GLib.KeyFileFlags.NONE)
c = NM.keyfile_read(kf, '/etc/NetworkManager/system-connections', NM.KeyfileHandlerFlags.NONE, None, None)
c.normalize()
c.verify()
vpn = c.get_setting_vpn()
ip4 = c.get_setting_ip4_config()
print(json.dumps({
  'id': c.get_id(), 'uuid': c.get_uuid(), 'type': c.get_connection_type(), 'autoconnect': c.get_setting_connection().get_autoconnect(),
  'service': vpn.get_service_type(),
  'data': {k: vpn.get_data_item(k) for k in vpn.get_data_keys()},
  'secrets': {k: vpn.get_secret(k) for k in vpn.get_secret_keys()},
  'ipv4': {'method': ip4.get_method(), 'never_default': ip4.get_never_default()},
}))
`;

const BASE: ClientProfileInput = { name: 'l2tpkit vpn.example.net', server: 'vpn.example.net', psk: 'server-psk-1234', username: 'alice', password: 'wonderland', auth: ['mschapv2'], mru: 1400, fullTunnel: true };
const CASES: readonly ClientProfileInput[] = [
  BASE,
  { ...BASE, name: '  Büro VPN \\ "quoted" #1', psk: ' lead and trail ', password: 'p\\w "q" ; # =', username: 'bob.smith', auth: ['chap', 'pap'], mru: 1280, fullTunnel: false },
  (({ password: _p, ...rest }) => ({ ...rest, server: '198.51.100.7' }))(BASE),
];

before(async () => {
  requireRoot();
  await ensureDebianPackages(['gir1.2-nm-1.0', 'python3-gi']);
}, { timeout: 600_000 });

test('libnm reads every generated keyfile: it verifies, and service type, data and secrets are exactly ours', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'l2k-nmkf-'));
  try {
    const script = join(dir, 'read.py');
    writeFileSync(script, READER);
    for (const [i, input] of CASES.entries()) {
      const r = clientProfile('nmconnection', input);
      assert.ok(r.ok, r.ok ? '' : r.error);
      const file = join(dir, `case${i}.nmconnection`);
      writeFileSync(file, r.value.text, { mode: r.value.mode });
      // Debian's python3 (python3-gi lives there), not whatever python3 comes first on PATH.
      const out = await run('/usr/bin/python3', [script, file], { timeoutMs: 30_000 });
      const got = JSON.parse(out.stdout) as {
        id: string; uuid: string; type: string; autoconnect: boolean; service: string;
        data: Record<string, string>; secrets: Record<string, string>; ipv4: { method: string; never_default: boolean };
      };
      const sections = new Map(nmKeyfileSections(input, stableIds(input.server, input.username)).map((s) => [s.name, new Map(s.entries)]));
      assert.equal(got.id, input.name, `case ${i}: id`);
      assert.equal(got.uuid, sections.get('connection')?.get('uuid'));
      assert.equal(got.type, 'vpn');
      assert.equal(got.autoconnect, false);
      assert.equal(got.service, 'org.freedesktop.NetworkManager.l2tp');
      const wantData = Object.fromEntries([...(sections.get('vpn') ?? new Map<string, string>())].filter(([k]) => k !== 'service-type'));
      assert.deepEqual(got.data, wantData, `case ${i}: data items`);
      assert.deepEqual(got.secrets, Object.fromEntries(sections.get('vpn-secrets') ?? []), `case ${i}: secrets`);
      assert.equal(got.secrets['ipsec-psk'], input.psk);
      assert.equal(got.secrets['password'], input.password);
      assert.deepEqual(got.ipv4, { method: 'auto', never_default: !input.fullTunnel });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
