/**
 * The builder of `[l2tpv3]` and its `[[l2tpv3.pseudowire]]` entries: the profile's defaults filled
 * in, computed names and Router ID, and the cross-field rules (unique names and Remote End IDs, a
 * cookie of 0, 4 or 8 bytes, sequencing only with the default sublayer, tunnel auth needs a secret,
 * a listen address that no [[listen]] uses, a responder pseudowire needs an identity to match, and
 * with `ipsec = true` one IKE role towards IPv4 peers).
 * Every problem goes to `fail(key, message)`; nothing throws.
 */
import { isIP } from 'node:net';
import { parseIpv4 } from '../../base/index.js';
import { resolveV3Profile } from '../../l2tp/index.js';
import { L2TPV3, L2TPV3_PSEUDOWIRE } from './schema-l2tpv3.js';
import type { TableReader, TomlTable } from './table.js';
import type { L2tpv3IpsecSection, L2tpv3PseudowireSection, L2tpv3Section, ListenConfig } from './types.js';

type Fail = (key: string, message: string) => void;

/** `[l2tpv3]`: on when present; undefined when absent or `enabled = false`. */
export function buildL2tpv3(r: TableReader, doc: TomlTable, ctx: { readonly listen: readonly ListenConfig[]; readonly hostName: string }, fail: Fail): L2tpv3Section | undefined {
  const t = r.section(L2TPV3, doc);
  const pws = r.array(L2TPV3_PSEUDOWIRE, t.toml);
  if (!t.present || !t.enabled) return undefined;
  const v = t.values;
  const prof = resolveV3Profile(v.profile);
  if (!prof.ok) {
    fail('l2tpv3.profile', prof.error);
    return undefined;
  }
  const p = prof.value;
  if (ctx.listen.some((l) => l.port === v.listen.port && (l.address === v.listen.host || l.address === '0.0.0.0' || v.listen.host === '0.0.0.0'))) {
    fail('l2tpv3.listen', `${v.listen.host}:${v.listen.port} is also a [[listen]] address (v3 has its own socket: give one of them another port)`);
  }
  const routerId = v.routerId ?? (v.listen.host !== '0.0.0.0' && parseIpv4(v.listen.host) !== undefined ? v.listen.host : undefined);
  if (routerId === undefined) fail('l2tpv3.router_id', 'needed when listen is 0.0.0.0 (our Router ID AVP, a dotted quad)');
  const encapsulation = v.encapsulation ?? p.encapsulations[0] ?? 'udp';
  if (!p.encapsulations.includes(encapsulation)) fail('l2tpv3.encapsulation', `profile ${p.name} speaks only ${p.encapsulations.join(', ')}`);
  const digest = v.messageDigest ?? p.messageDigest ?? 'none';
  const challenge = v.challenge ?? p.challenge;
  if (v.secret === undefined && v.messageDigest !== undefined && v.messageDigest !== 'none') fail('l2tpv3.message_digest', 'needs a secret');
  if (v.secret === undefined && v.challenge === true) fail('l2tpv3.challenge', 'needs a secret');
  const names = new Set<string>();
  const ends = new Set<string>();
  const pseudowires: L2tpv3PseudowireSection[] = [];
  for (const pt of pws) {
    const w = pt.values;
    if (names.has(w.name)) fail(`${pt.path}.name`, `duplicate pseudowire name "${w.name}"`);
    names.add(w.name);
    const remoteEndId = w.remoteEndId ?? w.name;
    if (ends.has(remoteEndId)) fail(`${pt.path}.remote_end_id`, `duplicate Remote End ID "${remoteEndId}"`);
    ends.add(remoteEndId);
    const cookie = w.cookieLength ?? p.pseudowire.cookieLength;
    if (cookie !== 0 && cookie !== 4 && cookie !== 8) fail(`${pt.path}.cookie_length`, 'a cookie is 0, 4 or 8 bytes (§4.1)');
    const sublayer = w.sublayer ?? p.pseudowire.sublayer;
    const sequencing = w.sequencing ?? p.pseudowire.sequencing;
    if (sequencing && sublayer === 'none') fail(`${pt.path}.sequencing`, 'needs sublayer "default" (the sequence number lives there, §4.6)');
    const pwType: 4 | 5 = w.pwType === 'ethernet-vlan' ? 4 : 5;
    if (!p.pwTypes.includes(pwType)) fail(`${pt.path}.pw_type`, `profile ${p.name} carries only ${p.pwTypes.map((x) => (x === 5 ? 'ethernet' : 'ethernet-vlan')).join(', ')}`);
    if (w.peer === undefined && w.peerHostName === undefined && w.peerRouterId === undefined && v.secret === undefined) {
      fail(`${pt.path}.peer_host_name`, 'a pseudowire without peer accepts whoever dials: give peer_host_name / peer_router_id, or a [l2tpv3] secret');
    }
    const { remoteEndId: _r, cookieLength: _c, sublayer: _s, sequencing: _q, pwType: _p, ...rest } = w;
    pseudowires.push({ ...rest, remoteEndId, pseudowire: { pwType, cookieLength: cookie === 4 || cookie === 8 ? cookie : 0, sublayer, sequencing } });
  }
  if (pseudowires.length === 0) fail('l2tpv3', 'needs at least one [[l2tpv3.pseudowire]]');
  const ipsec = t.groups.ipsec;
  if (ipsec !== undefined) checkV3Ipsec(ipsec, v.listen.host, pseudowires, fail);
  return {
    listen: v.listen,
    encapsulation,
    hostName: v.hostName ?? ctx.hostName,
    routerId: routerId ?? '0.0.0.0',
    profile: v.profile,
    ...(v.secret !== undefined ? { secret: v.secret } : {}),
    ...(v.secret !== undefined && digest !== 'none' ? { messageDigest: digest } : {}),
    challenge: v.secret !== undefined && challenge,
    keepaliveInterval: v.keepaliveInterval ?? p.helloInterval,
    keepaliveCount: v.keepaliveCount ?? p.helloMissCount,
    redialInitial: v.redialInitial,
    redialMax: v.redialMax < v.redialInitial ? v.redialInitial : v.redialMax,
    ...(v.disconnectTime !== undefined ? { disconnectTime: v.disconnectTime } : {}),
    pwTypes: p.pwTypes,
    pseudowires,
    ...(ipsec !== undefined ? { ipsec } : {}),
  };
}

/**
 * `ipsec = true`: one IKE role per daemon — the initiator towards one peer (all dialed pseudowires
 * go to it), or the responder for peers that dial us; IKEv1 here is IPv4 only.
 */
function checkV3Ipsec(g: L2tpv3IpsecSection, host: string, pws: readonly L2tpv3PseudowireSection[], fail: Fail): void {
  if (g.ikePort !== 0 && g.ikePort === g.nattPort) fail('l2tpv3.natt_port', 'must differ from ike_port');
  if (isIP(host) !== 4) fail('l2tpv3.listen', 'ipsec = true needs an IPv4 listen address');
  const peers = new Set(pws.flatMap((w) => (w.peer !== undefined ? [w.peer.host] : [])));
  if (peers.size > 1) fail('l2tpv3.ipsec', `the IPsec initiator dials one peer; the pseudowires name ${[...peers].join(', ')}`);
  if (peers.size > 0 && pws.some((w) => w.peer === undefined)) fail('l2tpv3.ipsec', 'with ipsec = true the pseudowires either all dial (initiator) or all accept (responder)');
  for (const a of peers) if (isIP(a) !== 4) fail('l2tpv3.ipsec', `peer ${a} is not an IPv4 address (IKEv1 L2TPv3/IPsec runs on IPv4)`);
}
