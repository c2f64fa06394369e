/**
 * The builder of `[tunnel_select]` with its domain rows, profiles and destinations: each profile's
 * destinations gathered from the `[[tunnel_select.destination]]` entries naming it and checked by
 * the selector's own rules (1..31 destinations on at most 8 preference values, RFC 2868 §3.8 order),
 * targets that name a profile, `local` only with PPP termination, `radius = true` only with
 * `[radius]`. Every problem goes to `fail(key, message)` naming the key; nothing throws.
 */
import { isIP } from 'node:net';
import type { Duration } from '../../base/index.js';
import { MAX_DESTINATIONS, MAX_LEVELS, resolveProfile, type DomainMapEntry, type DomainTarget, type SelectorConfig, type TunnelDestination, type TunnelProfile } from '../../access/selection/index.js';
import { TUNNEL_SELECT, TUNNEL_SELECT_DESTINATION, TUNNEL_SELECT_DOMAIN, TUNNEL_SELECT_PROFILE } from './schema-selection.js';
import type { TableReader, TomlTable } from './table.js';
import type { TunnelSelectSection } from './types.js';

type Fail = (key: string, message: string) => void;

/** The shared profile settings without `undefined` values (exactOptionalPropertyTypes). */
function settings(v: { loadBalancing: 'round-robin' | 'weighted'; failoverWithinPreference: boolean; deadTime: Duration; maxSessionsPerTunnel: number | undefined; secret: string | undefined; hostName: string | undefined }): Omit<TunnelProfile, 'destinations'> {
  return {
    loadBalancing: v.loadBalancing,
    failoverWithinPreference: v.failoverWithinPreference,
    deadTime: v.deadTime,
    ...(v.maxSessionsPerTunnel !== undefined ? { maxSessionsPerTunnel: v.maxSessionsPerTunnel } : {}),
    ...(v.secret !== undefined && v.secret !== '' ? { secret: v.secret } : {}),
    ...(v.hostName !== undefined ? { localHostname: v.hostName } : {}),
  };
}

function target(text: string, profiles: ReadonlySet<string>, where: string, fail: Fail): DomainTarget {
  if (text === 'local') return { kind: 'local' };
  if (text === 'reject') return { kind: 'reject' };
  if (!profiles.has(text)) fail(where, `no [[tunnel_select.profile]] named "${text}" (or "local", "reject")`);
  return { kind: 'tunnel', profile: text };
}

/** `[tunnel_select]`: undefined when absent or `enabled = false`. */
export function buildTunnelSelect(r: TableReader, doc: TomlTable, ctx: { readonly hostName: string; readonly access: boolean; readonly radius: boolean }, fail: Fail): TunnelSelectSection | undefined {
  const t = r.section(TUNNEL_SELECT, doc);
  const domains = r.array(TUNNEL_SELECT_DOMAIN, t.toml);
  const profs = r.array(TUNNEL_SELECT_PROFILE, t.toml);
  const dests = r.array(TUNNEL_SELECT_DESTINATION, t.toml);
  if (!t.present || !t.enabled) return undefined;
  const v = t.values;
  if (isIP(v.localAddress) !== 4) fail('tunnel_select.local_address', 'the tunnels run over IPv4 (RFC 2868 Tunnel-Medium-Type 1): give an IPv4 address');
  if (v.radius && !ctx.radius) fail('tunnel_select.radius', 'needs a [radius] section with an "auth" server');
  const names = new Set<string>();
  for (const p of profs) {
    if (names.has(p.values.name)) fail(`${p.path}.name`, `duplicate profile name "${p.values.name}"`);
    names.add(p.values.name);
  }
  const byProfile = new Map<string, { dest: TunnelDestination; path: string }[]>();
  for (const d of dests) {
    const w = d.values;
    if (!names.has(w.profile)) fail(`${d.path}.profile`, `no [[tunnel_select.profile]] named "${w.profile}"`);
    if (w.address !== '' && isIP(w.address) !== 4) fail(`${d.path}.address`, 'an IPv4 address (the tunnel socket is IPv4)');
    const dest: TunnelDestination = {
      address: w.address,
      port: w.port,
      preference: w.preference,
      ...(w.maxSessions !== undefined ? { maxSessions: w.maxSessions } : {}),
      ...(w.secret !== undefined && w.secret !== '' ? { secret: w.secret } : {}),
      ...(w.hostName !== undefined ? { localHostname: w.hostName } : {}),
      ...(w.remoteHostName !== undefined ? { remoteHostname: w.remoteHostName } : {}),
      ...(w.assignmentId !== undefined ? { assignmentId: w.assignmentId } : {}),
    };
    const list = byProfile.get(w.profile) ?? [];
    list.push({ dest, path: d.path });
    byProfile.set(w.profile, list);
  }
  const profiles: Record<string, TunnelProfile> = {};
  for (const p of profs) {
    const list = byProfile.get(p.values.name) ?? [];
    const prof: TunnelProfile = { ...settings({ ...p.values, hostName: p.values.hostName ?? v.hostName }), destinations: list.map((x) => x.dest) };
    const ok = resolveProfile(p.values.name, prof);
    if (!ok.ok) {
      const e = ok.error;
      if (e.kind === 'no-destinations') fail(p.path, `profile "${p.values.name}" has no [[tunnel_select.destination]] (profile = "${p.values.name}")`);
      else if (e.kind === 'too-many-destinations') fail(list[MAX_DESTINATIONS]?.path ?? p.path, `profile "${p.values.name}" has ${e.count} destinations; at most ${MAX_DESTINATIONS}`);
      else if (e.kind === 'too-many-levels') fail(`${p.path}.name`, `profile "${p.values.name}" has ${e.count} distinct preference values; at most ${MAX_LEVELS}`);
      else fail(list[e.index]?.path ?? p.path, e.detail);
    }
    profiles[p.values.name] = prof;
  }
  const entries: DomainMapEntry[] = [];
  const realms = new Set<string>();
  for (const d of domains) {
    const w = d.values;
    const realm = w.realm.toLowerCase();
    if (realms.has(realm)) fail(`${d.path}.realm`, `realm "${w.realm}" is mapped twice`);
    realms.add(realm);
    const tg = target(w.target, names, `${d.path}.target`, fail);
    if (tg.kind === 'local' && !ctx.access) fail(`${d.path}.target`, '"local" needs PPP termination here ([ppp] and a [[listen]])');
    entries.push({ realm, target: tg, stripRealm: w.stripRealm });
  }
  const def = target(v.default, names, 'tunnel_select.default', fail);
  if (def.kind === 'local' && !ctx.access) fail('tunnel_select.default', '"local" needs PPP termination here ([ppp] and a [[listen]])');
  if (v.delimiter === '') fail('tunnel_select.realm_delimiter', 'must not be empty');
  const selector: SelectorConfig = {
    domainMap: { entries, default: def, delimiter: v.delimiter },
    profiles,
    radiusDefaults: settings({ ...v, hostName: v.hostName }),
  };
  return {
    localAddress: v.localAddress,
    hostName: v.hostName ?? ctx.hostName,
    radius: v.radius,
    sccrqRetries: v.sccrqRetries,
    ...(v.idleDisconnect !== undefined ? { idleDisconnect: v.idleDisconnect } : {}),
    selector,
  };
}
