/**
 * NetworkManager keyfile (`/etc/NetworkManager/system-connections/NAME.nmconnection`, GLib key
 * file syntax) for the NetworkManager-l2tp VPN plugin: `[vpn] service-type =
 * org.freedesktop.NetworkManager.l2tp` with the plugin's data keys (names and types from its
 * `nm-service-defines.h` / `valid_properties`: gateway, user, ipsec-enabled, refuse-*, mru/mtu,
 * lcp-echo-*, ipsec-ike/-esp, *-flags) and the secrets (`password`, `ipsec-psk`) in
 * `[vpn-secrets]`. The IKE/ESP lists are strongSwan/libreswan syntax and all accepted by our
 * default responder policy (src/ipsec/proposals.ts DEFAULT_POLICY).
 */
import { identifierLabel } from './ids.js';
import type { ClientProfileInput, ProfileFile, ProfileIds } from './types.js';

/** The plugin's D-Bus service name = `vpn.service-type`. */
export const NM_L2TP_SERVICE = 'org.freedesktop.NetworkManager.l2tp';

/** Phase 1 suites offered (strongest first); each fits DEFAULT_POLICY.phase1 (aes256/aes128, sha256/sha1, modp2048). */
export const NM_IKE_PROPOSALS = 'aes256-sha2_256-modp2048,aes128-sha2_256-modp2048,aes256-sha1-modp2048,aes128-sha1-modp2048';
/** ESP suites offered; each fits DEFAULT_POLICY.phase2 (AES-CBC with HMAC-SHA-256-128 or HMAC-SHA1-96). */
export const NM_ESP_PROPOSALS = 'aes256-sha2_256,aes128-sha2_256,aes256-sha1,aes128-sha1';

/** One key file section: ordered key/value pairs. */
export interface KeyfileSection {
  readonly name: string;
  readonly entries: readonly (readonly [string, string])[];
}

/**
 * GLib key file value escaping (g_key_file_set_value): `\\`, `\n`, `\t`, `\r`, and a leading
 * space as `\s`, so every value stays on one line and keeps its leading blanks.
 */
export function keyfileEscape(v: string): string {
  const body = v.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('\t', '\\t').replaceAll('\r', '\\r');
  return body.startsWith(' ') ? `\\s${body.slice(1)}` : body;
}

/** Key file text of `sections`. */
export function emitKeyfile(sections: readonly KeyfileSection[]): string {
  return `${sections.map((s) => [`[${s.name}]`, ...s.entries.map(([k, v]) => `${k}=${keyfileEscape(v)}`)].join('\n')).join('\n\n')}\n`;
}

const yesNo = (b: boolean): string => (b ? 'yes' : 'no');

/** The connection's sections. */
export function nmKeyfileSections(p: ClientProfileInput, ids: ProfileIds): KeyfileSection[] {
  const has = (a: 'mschapv2' | 'chap' | 'pap'): boolean => p.auth.includes(a);
  const vpn: [string, string][] = [
    ['service-type', NM_L2TP_SERVICE],
    ['gateway', p.server],
    ['user-auth-type', 'password'],
    ['user', p.username],
    // 0 = stored in this file, 2 = not saved (asked at connect time): NMSettingSecretFlags.
    ['password-flags', p.password === undefined ? '2' : '0'],
    ['ipsec-enabled', 'yes'],
    ['machine-auth-type', 'psk'],
    ['ipsec-psk-flags', '0'],
    ['ipsec-ike', NM_IKE_PROPOSALS],
    ['ipsec-esp', NM_ESP_PROPOSALS],
    // PPP: refuse what the server does not demand (MS-CHAPv1 and EAP are never offered by l2tpd).
    ['refuse-eap', 'yes'],
    ['refuse-mschap', 'yes'],
    ['refuse-pap', yesNo(!has('pap'))],
    ['refuse-chap', yesNo(!has('chap'))],
    ['refuse-mschapv2', yesNo(!has('mschapv2'))],
    ['mru', String(p.mru)],
    ['mtu', String(p.mru)],
    ['lcp-echo-interval', '30'],
    ['lcp-echo-failure', '4'],
  ];
  const secrets: [string, string][] = [['ipsec-psk', p.psk]];
  if (p.password !== undefined) secrets.unshift(['password', p.password]);
  return [
    { name: 'connection', entries: [['id', p.name], ['uuid', ids.uuid('connection').toLowerCase()], ['type', 'vpn'], ['autoconnect', 'false']] },
    { name: 'vpn', entries: vpn },
    { name: 'vpn-secrets', entries: secrets },
    { name: 'ipv4', entries: [['method', 'auto'], ['never-default', p.fullTunnel ? 'false' : 'true']] },
    { name: 'ipv6', entries: [['method', 'ignore']] },
  ];
}

/** The `.nmconnection` file (NetworkManager ignores a keyfile that is not 0600 and root-owned). */
export function nmKeyfile(p: ClientProfileInput, ids: ProfileIds): ProfileFile {
  return { fileName: `${identifierLabel(p.name)}.nmconnection`, text: emitKeyfile(nmKeyfileSections(p, ids)), mode: 0o600 };
}
