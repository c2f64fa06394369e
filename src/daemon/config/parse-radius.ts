/**
 * The builders of `[radius]` (with `[[radius.server]]`, `[radius.dae]`, `[[radius.dae.client]]`)
 * and `[[pool.named]]`: computed defaults (server names, NAS identity, spool path) and the
 * cross-field rules (RADIUS needs PPP and a server for each use, unique names, pools that do not
 * overlap). Every problem goes to `fail(key, message)`; nothing throws.
 */
import { isIP } from 'node:net';
import { POOL_NAMED, RADIUS, RADIUS_DAE, RADIUS_DAE_CLIENT, RADIUS_SERVER } from './schema-radius.js';
import type { ReadTable, TableReader, TomlTable } from './table.js';
import type { AccessSection, ListenConfig, RadiusDaeSection, RadiusSection, RadiusServerSection } from './types.js';
import { formatIpv4Prefix, ipv4PrefixesOverlap, parseIpv6, type Ipv4Prefix } from '../../base/index.js';

type Fail = (key: string, message: string) => void;

/** `[[pool.named]]` inside `[pool]`: names unique, prefixes overlapping neither `[pool] ipv4` nor each other. */
export function buildNamedPools(r: TableReader, poolToml: TomlTable, defaultPool: Ipv4Prefix, fail: Fail): Map<string, Ipv4Prefix> {
  const out = new Map<string, Ipv4Prefix>();
  const seen: { name: string; prefix: Ipv4Prefix }[] = [{ name: '[pool] ipv4', prefix: defaultPool }];
  for (const t of r.array(POOL_NAMED, poolToml)) {
    const { name, ipv4 } = t.values;
    if (!t.given.has('name') || !t.given.has('ipv4')) continue;
    if (out.has(name)) fail(`${t.path}.name`, `duplicate pool name "${name}"`);
    const clash = seen.find((s) => ipv4PrefixesOverlap(s.prefix, ipv4));
    if (clash !== undefined) fail(`${t.path}.ipv4`, `${formatIpv4Prefix(ipv4)} overlaps ${clash.name === '[pool] ipv4' ? clash.name : `pool "${clash.name}"`} (${formatIpv4Prefix(clash.prefix)})`);
    seen.push({ name, prefix: ipv4 });
    out.set(name, ipv4);
  }
  return out;
}

/** Server names: the address, with the port when two servers share an address. */
function buildServers(ts: readonly ReadTable<typeof RADIUS_SERVER.rows, typeof RADIUS_SERVER.groups>[], parentMa: boolean, fail: Fail): RadiusServerSection[] {
  const byAddress = new Map<string, number>();
  for (const t of ts) byAddress.set(t.values.address, (byAddress.get(t.values.address) ?? 0) + 1);
  const names = new Map<string, string>();
  return ts.map((t) => {
    const v = t.values;
    const name = v.name !== '' ? v.name : (byAddress.get(v.address) ?? 0) > 1 ? `${v.address}:${v.authPort}` : v.address;
    const other = names.get(name);
    if (other !== undefined) fail(`${t.path}.name`, `duplicate server name "${name}" (also ${other})`);
    names.set(name, t.path);
    if (v.role.length === 0) fail(`${t.path}.role`, 'a server needs at least one role ("auth", "acct")');
    if (v.sourceAddress !== undefined && v.address !== '' && isIP(v.sourceAddress) !== isIP(v.address)) fail(`${t.path}.source_address`, `address family differs from address (${v.address})`);
    return { ...v, name, requireMessageAuthenticator: t.given.has('require_message_authenticator') ? v.requireMessageAuthenticator : parentMa };
  });
}

function buildDae(r: TableReader, radiusToml: TomlTable, fail: Fail): RadiusDaeSection | undefined {
  const t = r.section(RADIUS_DAE, radiusToml);
  const clients = r.array(RADIUS_DAE_CLIENT, t.toml).map((c) => ({ ...c.values, name: c.values.name !== '' ? c.values.name : c.values.address }));
  if (!t.present || !t.enabled) return undefined;
  if (clients.length === 0) fail('radius.dae', 'needs at least one [[radius.dae.client]] (with its address and secret): requests from anyone else are dropped');
  return { ...t.values, clients };
}

/**
 * `[radius]`: on when present (`enabled = false` turns it off). Needs PPP termination, an "auth"
 * server when auth_order has "radius"; accounting is on when any server has the "acct" role.
 */
export function buildRadius(r: TableReader, doc: TomlTable, ctx: { readonly access: AccessSection | undefined; readonly lacRadius?: boolean; readonly listen: readonly ListenConfig[]; readonly hostName: string }, fail: Fail): RadiusSection | undefined {
  const t = r.section(RADIUS, doc);
  const servers = buildServers(r.array(RADIUS_SERVER, t.toml), t.values.requireMessageAuthenticator, fail);
  const dae = buildDae(r, t.toml, fail);
  if (!t.present || !t.enabled) return undefined;
  const v = t.values;
  if (ctx.access === undefined && ctx.lacRadius !== true) fail('radius', 'RADIUS serves PPP logins: it needs remote access ([ppp], [pool], [users] or [tun]) or [tunnel_select] radius = true');
  if (v.authOrder.length === 0) fail('radius.auth_order', 'needs "radius", "local" or both');
  if (v.authOrder.includes('radius') && !servers.some((s) => s.role.includes('auth'))) fail('radius', 'auth_order has "radius" but no [[radius.server]] has role "auth"');
  if (servers.length === 0) fail('radius', 'needs at least one [[radius.server]] (address and secret)');
  const first = ctx.listen[0]?.address;
  const nasIp = v.nasIpAddress ?? (first !== undefined && isIP(first) === 4 && first !== '0.0.0.0' ? first : undefined);
  const ipv6 = v.nasIpv6Address !== undefined ? parseIpv6(v.nasIpv6Address) : undefined;
  const { nasIdentifier: _id, nasIpAddress: _ip, nasIpv6Address: _ip6, spool: _spool, ...rest } = v;
  return {
    ...rest,
    nas: { identifier: v.nasIdentifier ?? ctx.hostName, ...(nasIp !== undefined ? { ipAddress: nasIp } : {}), ...(ipv6 !== undefined ? { ipv6Address: ipv6 } : {}) },
    spool: t.given.has('spool') ? (v.spool ?? null) : undefined,
    servers,
    dae,
  };
}
