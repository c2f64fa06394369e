/**
 * A `DaemonConfig` written back as TOML through the schema rows: every key of every section with
 * its effective value, secrets masked unless asked otherwise. Parsing the unmasked text gives the
 * same configuration again (schema.test.ts checks the round trip), which is what an
 * `l2tpd --print-config` shows.
 */
import { isDeepStrictEqual } from 'node:util';
import { DEFAULT_INITIATOR_PROPOSALS, type InitiatorProposals } from '../../ipsec/index.js';
import { DAEMON, IPSEC, IPSEC_PEER, L2TP, L2TP_ADMISSION, LAC, LISTEN, POOL, PPP, STATUS, TUN, USERS } from './schema.js';
import { SNMP } from './schema-snmp.js';
import { L2TPV3_STATIC } from './schema-l2tpv3-static.js';
import { POOL_NAMED, RADIUS, RADIUS_DAE, RADIUS_DAE_CLIENT, RADIUS_SERVER } from './schema-radius.js';
import type { KeyRow, Rows, TableSpec } from './table.js';
import type { DaemonConfig, LacIpsecConfig } from './types.js';
import { formatIpv6 } from '../../base/index.js';

/** How secrets are written. */
export interface PrintOptions {
  /** Write secrets as they are (default: masked as "********"). */
  readonly secrets?: 'mask' | 'show';
}

/** The mask written in place of a secret. */
export const SECRET_MASK = '"********"';

type Values = Readonly<Record<string, unknown>>;

/** `key = value`, or nothing when the value has no TOML form (an absent optional key). */
function rowLine(r: KeyRow<unknown>, v: unknown, o: PrintOptions): string[] {
  const text = r.type.format(v);
  if (text === undefined) return [];
  if (r.secret === true && v !== undefined && o.secrets !== 'show') return [`${r.key} = ${SECRET_MASK}`];
  return [`${r.key} = ${text}`];
}

function rowLines(rows: Rows, values: object, o: PrintOptions, skip: readonly string[] = []): string[] {
  const v = values as Values;
  return Object.entries(rows)
    .filter(([field]) => !skip.includes(field))
    .flatMap(([field, r]) => rowLine(r, v[field], o));
}

function header(spec: TableSpec): string {
  return spec.array ? `[[${spec.path}]]` : `[${spec.path}]`;
}

const GROUPS: Readonly<Record<number, string>> = { 2: 'modp1024', 5: 'modp1536', 14: 'modp2048', 19: 'ecp256', 20: 'ecp384' };
const INTEGRITY: Readonly<Record<string, string>> = { 'hmac-sha1-96': 'sha1', 'hmac-sha256-128': 'sha256', 'hmac-sha256-96': 'sha256', 'hmac-sha384-192': 'sha384', 'hmac-sha512-256': 'sha512' };

/** `[[lac]] ipsec = true` offers as proposal names (one name per offer, in order). */
function offerLines(x: LacIpsecConfig): string[] {
  const p: InitiatorProposals = x.proposals;
  if (isDeepStrictEqual(p, DEFAULT_INITIATOR_PROPOSALS) && x.pfsGroup === undefined) return [];
  const q = (s: string): string => JSON.stringify(s);
  const ike = p.phase1.map((o) => q(`${o.encryption}-${o.hash}-${GROUPS[o.group] ?? o.group}`));
  const pfs = x.pfsGroup !== undefined ? `-${GROUPS[x.pfsGroup] ?? x.pfsGroup}` : '';
  const esp = p.phase2.map((o) => q(`${o.encryption.replace('-gcm16', 'gcm16').replace('-cbc', '')}${o.integrity !== undefined && !o.encryption.endsWith('gcm16') ? `-${INTEGRITY[o.integrity] ?? o.integrity}` : ''}${pfs}`));
  const sha96 = p.phase2.some((o) => o.integrity === 'hmac-sha256-96');
  return [`ike_proposals = [${ike.join(', ')}]`, `esp_proposals = [${esp.join(', ')}]`, ...(sha96 ? ['sha256_96 = true'] : [])];
}

/** `[radius]` and its servers and DAE clients (NAS identity and spool written as the effective values). */
function radiusLines(c: DaemonConfig, o: PrintOptions): string[] {
  const r = c.radius;
  if (r === undefined) return [];
  const ipv6 = r.nas.ipv6Address;
  const values = {
    ...r,
    nasIdentifier: r.nas.identifier,
    nasIpAddress: r.nas.ipAddress,
    nasIpv6Address: ipv6 === undefined ? undefined : formatIpv6(ipv6),
    spool: r.spool ?? undefined,
  };
  // The spool row: absent = the default in the state directory, "" = memory only.
  const out = ['', header(RADIUS), ...rowLines(RADIUS.rows, values, o, r.spool === undefined ? ['spool'] : [])];
  for (const s of r.servers) out.push('', header(RADIUS_SERVER), ...rowLines(RADIUS_SERVER.rows, s, o));
  if (r.dae !== undefined) {
    out.push('', header(RADIUS_DAE), ...rowLines(RADIUS_DAE.rows, r.dae, o));
    for (const cl of r.dae.clients) out.push('', header(RADIUS_DAE_CLIENT), ...rowLines(RADIUS_DAE_CLIENT.rows, cl, o));
  }
  return out;
}

/** The whole effective configuration as TOML. */
export function printConfig(c: DaemonConfig, o: PrintOptions = {}): string {
  // Top-level keys come before the first header (TOML puts them in the table above otherwise).
  const out: string[] = [...(c.listen.length === 0 ? ['listen = []', ''] : []), header(DAEMON), ...rowLines(DAEMON.rows, c.daemon, o), '', header(L2TP), ...rowLines(L2TP.rows, c.l2tp, o)];
  const adm = c.admission;
  if (adm !== undefined) {
    const v = { maxHalfOpen: adm.maxHalfOpen, maxHalfOpenPerPeer: adm.maxHalfOpenPerPeer, sccrqRate: adm.sccrqRate.perSecond, sccrqBurst: adm.sccrqRate.burst };
    out.push('', header(L2TP_ADMISSION), ...rowLines(L2TP_ADMISSION.rows, v, o));
  }
  for (const l of c.listen) out.push('', header(LISTEN), ...rowLines(LISTEN.rows, l, o));
  for (const l of c.lac) {
    out.push('', header(LAC), ...rowLines(LAC.rows, l, o));
    out.push(...rowLine(LAC.groups.ppp.switch, l.ppp !== undefined, o));
    if (l.ppp !== undefined) out.push(...rowLines(LAC.groups.ppp.rows, l.ppp, o));
    out.push(...rowLine(LAC.groups.ipsec.switch, l.ipsec !== undefined, o));
    if (l.ipsec !== undefined) out.push(...rowLines(LAC.groups.ipsec.rows, l.ipsec, o, ['ikeProposals', 'espProposals', 'sha256_96']), ...offerLines(l.ipsec));
  }
  const a = c.access;
  if (a === undefined) out.push('', header(PPP), 'enabled = false');
  else {
    out.push('', header(PPP), 'enabled = true', ...rowLines(PPP.rows, a, o));
    for (const spec of [POOL, USERS, TUN]) out.push('', header(spec), ...rowLines(spec.rows, a, o));
    for (const [name, ipv4] of a.namedPools ?? []) out.push('', header(POOL_NAMED), ...rowLines(POOL_NAMED.rows, { name, ipv4 }, o));
  }
  out.push(...radiusLines(c, o));
  const x = c.ipsec;
  // IPsec is on by default for an LNS: off has to be written.
  if (x === undefined) out.push('', header(IPSEC), 'enabled = false');
  else {
    out.push('', header(IPSEC), 'enabled = true', ...rowLines(IPSEC.rows, x, o));
    for (const p of x.peers) out.push('', header(IPSEC_PEER), ...rowLines(IPSEC_PEER.rows, p, o, p.sha256_96 === undefined ? ['sha256_96'] : []));
  }
  if (c.status !== undefined) out.push('', header(STATUS), ...rowLines(STATUS.rows, c.status, o));
  if (c.snmp !== undefined) out.push('', header(SNMP), ...rowLines(SNMP.rows, c.snmp, o));
  for (const s of c.l2tpv3Static ?? []) out.push('', header(L2TPV3_STATIC), ...rowLines(L2TPV3_STATIC.rows, s, o, s.encap === 'ip' ? ['udpSport', 'udpDport'] : []));
  return `${out.join('\n')}\n`;
}
