/**
 * client-profile: ready-made client configurations for one user of an L2TP/IPsec server — an Apple
 * `.mobileconfig` (macOS, iOS), a Windows PowerShell script (Add-VpnConnection) and a
 * NetworkManager keyfile (NetworkManager-l2tp). Pure: text in, text out, no I/O; `l2tpctl
 * client-profile` (l2tpctl-cli.ts) is the shell that gathers the inputs and writes the file.
 */
import { err, ok, type Result } from '../../base/index.js';
import { stableIds } from './ids.js';
import { mobileconfig } from './mobileconfig.js';
import { nmKeyfile } from './nm-keyfile.js';
import { powershellProfile, type PowershellOptions } from './powershell.js';
import type { ClientProfileInput, ProfileFile, ProfileIds } from './types.js';

export type { ClientProfileInput, ProfileFile, ProfileIds, WindowsNatRule } from './types.js';
export { stableIds, uuidV5 } from './ids.js';
export { emitPlist, mobileconfig, mobileconfigPlist, xmlEscape } from './mobileconfig.js';
export { powershellScript, psQuote, WINDOWS_AUTH, POLICY_AGENT_KEY } from './powershell.js';
export { emitKeyfile, keyfileEscape, nmKeyfile, nmKeyfileSections, NM_L2TP_SERVICE, NM_IKE_PROPOSALS, NM_ESP_PROPOSALS } from './nm-keyfile.js';

/** The formats `l2tpctl client-profile --format` knows. */
export const PROFILE_FORMATS = ['mobileconfig', 'powershell', 'nmconnection'] as const;
/** One of {@link PROFILE_FORMATS}. */
export type ProfileFormat = (typeof PROFILE_FORMATS)[number];

/** A host name or an IPv4 literal (what every one of the three clients accepts as the server). */
const SERVER_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/** Why an input cannot become a profile, or undefined when it can. */
export function checkProfileInput(p: ClientProfileInput): string | undefined {
  if (!SERVER_RE.test(p.server)) return `server "${p.server}": expected a host name or an IPv4 address (as clients reach the server)`;
  if (p.server === '0.0.0.0' || p.server.startsWith('127.')) return `server "${p.server}" is not an address clients can reach: give --server HOST`;
  for (const [what, v] of [['name', p.name], ['user', p.username], ['password', p.password ?? ''], ['pre-shared key', p.psk]] as const) {
    if (CONTROL_RE.test(v)) return `the ${what} contains a control character`;
  }
  if (p.name.trim() === '') return 'the connection name is empty';
  if (p.username === '') return 'the user name is empty';
  if (p.psk === '') return 'the pre-shared key is empty (is IPsec on?)';
  if (p.auth.length === 0) return 'the server demands no PPP authentication; built-in clients always log in: set [ppp] auth';
  return undefined;
}

/** Generate one profile. */
export function clientProfile(
  format: ProfileFormat,
  p: ClientProfileInput,
  opts: PowershellOptions & { readonly ids?: ProfileIds } = {},
): Result<ProfileFile, string> {
  const bad = checkProfileInput(p);
  if (bad !== undefined) return err(bad);
  const ids = opts.ids ?? stableIds(p.server, p.username);
  switch (format) {
    case 'mobileconfig':
      return ok(mobileconfig(p, ids));
    case 'powershell':
      return ok(powershellProfile(p, opts));
    case 'nmconnection':
      return ok(nmKeyfile(p, ids));
  }
}
