/**
 * l2tpd.toml -> `DaemonConfig`: smol-toml parses the text, the reader checks every table against
 * its schema rows (schema.ts), and the section builders below add computed defaults and the
 * cross-field rules. Every problem is a `ConfigError` naming the key path (`lac[0].lns`) and its
 * line, all of them at once, sorted by line. Never throws.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { parse, TomlError } from 'smol-toml';
import { err, formatIpv4, formatIpv4Prefix, type Ipv4Prefix, millis, ok, type Result } from '../../base/index.js';
import { DEFAULT_INITIATOR_PROPOSALS, offersFromSuites, type DhGroupNumber, type InitiatorProposals } from '../../ipsec/index.js';
import { defaultTuning } from '../../l2tp/index.js';
import { lineOf, locateKeys } from './locate.js';
import { SNMP } from './schema-snmp.js';
import { DAEMON, IPSEC, IPSEC_PEER, L2TP, L2TP_ADMISSION, LAC, LISTEN, POOL, PPP, PPPOE, SCHEMA, STATUS, DATAPLANE, TUN, USERS } from './schema.js';
import { TableReader, defaultsOf, isTable, type ReadTable, type TomlTable } from './table.js';
import type { AccessSection, ConfigError, DaemonConfig, IpsecSection, LacConfig, LacIpsecConfig, ListenConfig, PppoeSection, StatusSection, TunnelDefaults } from './types.js';
import { buildNamedPools, buildRadius } from './parse-radius.js';
import { buildL2tpv3 } from './parse-l2tpv3.js';
import { buildL2tpv3Static } from './parse-l2tpv3-static.js';
import { buildTunnelSelect } from './parse-selection.js';
import { checkExposure } from './secure.js';

type Fail = (key: string, message: string) => void;

/** Parse and validate a TOML document. Never throws. */
export function parseConfig(source: string): Result<DaemonConfig, readonly ConfigError[]> {
  let doc: TomlTable;
  try {
    doc = parse(source);
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split('\n')[0] ?? e.message;
      return err([{ key: '', line: e.line, column: e.column, message: `syntax error: ${first}` }]);
    }
    return err([{ key: '', message: `syntax error: ${String(e)}` }]);
  }
  const lines = locateKeys(source);
  const errors: ConfigError[] = [];
  const fail: Fail = (key, message) => {
    const line = lineOf(lines, key);
    errors.push(line === undefined ? { key, message } : { key, line, message });
  };
  const r = new TableReader(fail);
  r.unknownKeys(doc, '', SCHEMA.filter((s) => !s.path.includes('.')).map((s) => s.path));

  const daemon = r.section(DAEMON, doc).values;
  const l2tpTable = r.section(L2TP, doc);
  const l2tp = buildL2tp(l2tpTable, fail);
  const adm = r.section(L2TP_ADMISSION, l2tpTable.toml).values;
  const admission = { maxHalfOpen: adm.maxHalfOpen, maxHalfOpenPerPeer: adm.maxHalfOpenPerPeer, sccrqRate: { perSecond: adm.sccrqRate, burst: adm.sccrqBurst } };
  const listen = buildListen(r.array(LISTEN, doc), fail);
  const lac = r.array(LAC, doc).map((t) => buildLac(t, fail));
  checkLacs(lac, fail);
  // No [[listen]] and no [[lac]]: the documented default, one LNS on 0.0.0.0:1701 accepting any LAC.
  // With [l2tpv3] or [[l2tpv3_static]] (their own sockets) there is no default v2 listener either.
  const effectiveListen: readonly ListenConfig[] = doc['listen'] === undefined && lac.length === 0 && doc['l2tpv3'] === undefined && doc['l2tpv3_static'] === undefined ? [defaultsOf(LISTEN.rows)] : listen;
  if (daemon.user !== undefined && lac.some((l) => l.ppp !== undefined)) {
    fail('daemon.user', 'cannot drop privileges with [[lac]] ppp = true (client mode runs "ip" when PPP comes up)');
  }
  const poolTable = r.section(POOL, doc);
  const pv = poolTable.values;
  const namedPools = buildNamedPools(r, poolTable.toml, pv.local ? pv.ipv4Pool : { network: pv.localAddress ?? 0, length: 32 }, fail);
  const access = buildAccess(r.section(PPP, doc), poolTable, r.section(USERS, doc), r.section(TUN, doc), effectiveListen, namedPools, fail);
  const lacRadius = isTable(doc['tunnel_select']) && doc['tunnel_select']['radius'] === true;
  const radius = buildRadius(r, doc, { access, lacRadius, listen: effectiveListen, hostName: l2tp.hostName }, fail);
  const tunnelSelect = buildTunnelSelect(r, doc, { hostName: l2tp.hostName, access: access !== undefined, radius: radius?.servers.some((s) => s.role.includes('auth')) === true }, fail);
  const ipsecTable = r.section(IPSEC, doc);
  const ipsec = buildIpsec(ipsecTable, r.array(IPSEC_PEER, ipsecTable.toml), effectiveListen, fail);
  checkIkePorts(ipsec, effectiveListen, lac, fail);
  checkExposure({ listen: effectiveListen, access, ipsec }, fail);
  const status = buildStatus(r.section(STATUS, doc), fail);
  const { agentx, ...snmpRest } = r.section(SNMP, doc).values;
  const dataplane = r.section(DATAPLANE, doc).values;
  const pppoe = buildPppoe(r.array(PPPOE, doc), access, lac, tunnelSelect !== undefined, fail);
  const l2tpv3 = buildL2tpv3(r, doc, { listen: effectiveListen, hostName: l2tp.hostName }, fail);
  const l2tpv3Static = buildL2tpv3Static(r, doc, { listen: effectiveListen, l2tpv3 }, fail);
  const v3Ike = l2tpv3?.ipsec?.ikePort;
  if (v3Ike !== undefined && v3Ike !== 0 && (ipsec?.ikePort === v3Ike || lac.some((l) => l.ipsec?.ikePort === v3Ike))) {
    fail('l2tpv3.ike_port', `IKE port ${v3Ike} is also used by [ipsec] or an IPsec [[lac]]: give [l2tpv3] another ike_port / natt_port`);
  }

  if (errors.length > 0) {
    errors.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    return err(errors);
  }
  return ok({ daemon, l2tp, admission, listen: effectiveListen, lac, access, pppoe, ...(ipsec ? { ipsec } : {}), ...(status ? { status } : {}), ...(agentx !== undefined && agentx !== '' ? { snmp: { ...snmpRest, agentx } } : {}), ...(radius !== undefined ? { radius } : {}), dataplane, ...(l2tpv3 !== undefined ? { l2tpv3 } : {}), ...(l2tpv3Static.length > 0 ? { l2tpv3Static } : {}), ...(tunnelSelect !== undefined ? { tunnelSelect } : {}) });
}

/** `[[pppoe]]`: needs PPP termination (the access server runs its sessions); one AC per interface and VLAN. */
function buildPppoe(ts: readonly ReadTable<typeof PPPOE.rows, typeof PPPOE.groups>[], access: AccessSection | undefined, lacs: readonly LacConfig[], select: boolean, fail: Fail): PppoeSection[] {
  const seen = new Map<string, number>();
  return ts.map((t) => {
    const v = t.values;
    const lac = v.lac === undefined ? undefined : lacs.find((l) => l.name === v.lac);
    if (v.lac !== undefined && lac === undefined) fail(`${t.path}.lac`, `no [[lac]] named "${v.lac}"`);
    if (lac?.ppp !== undefined) fail(`${t.path}.lac`, `[[lac]] "${lac.name}" runs its own PPP (ppp = true); a switching LAC carries the subscribers' (ppp = false, sessions = 0)`);
    if (v.tunnelSelect && v.lac !== undefined) fail(`${t.path}.tunnel_select`, 'either lac = "NAME" (one tunnel) or tunnel_select = true (per subscriber), not both');
    if (v.tunnelSelect && !select) fail(`${t.path}.tunnel_select`, 'needs a [tunnel_select] section (domain map, profiles, destinations)');
    if (v.lac === undefined && !v.tunnelSelect && access === undefined) fail(t.path, 'PPPoE sessions are terminated by the access server: it needs PPP termination ([ppp] enabled and a [[listen]]), or set lac = "NAME" to switch them into a tunnel');
    const k = `${v.netns ?? ''}|${v.interface}|${v.vlan ?? 0}`;
    const j = seen.get(k);
    if (j !== undefined) fail(`${t.path}.interface`, `same interface and VLAN as pppoe[${j}]`);
    seen.set(k, t.index);
    return v;
  });
}

/** `[l2tp]`: the delayed-ack timer stays below the first retransmission (§5.8). */
function buildL2tp(t: ReadTable<typeof L2TP.rows, typeof L2TP.groups>, fail: Fail): TunnelDefaults {
  const v = t.values;
  if (v.retransmitCap < v.retransmitInitial) fail('l2tp.retransmit_cap', 'must not be less than retransmit_initial');
  return { ...v, ackDelay: millis(Math.min(defaultTuning().ackDelay, v.retransmitInitial / 4)) };
}

function buildListen(ts: readonly ReadTable<typeof LISTEN.rows, typeof LISTEN.groups>[], fail: Fail): ListenConfig[] {
  const seen = new Map<string, number>();
  return ts.map((t) => {
    const v = t.values;
    if (v.hideAvps && v.secret === undefined) fail(`${t.path}.hide_avps`, 'needs a secret (hidden AVPs are encrypted with it)');
    const k = `${v.address}|${v.port}`;
    const j = seen.get(k);
    if (j !== undefined && v.port !== 0) fail(`${t.path}.port`, `same address and port as listen[${j}]`);
    seen.set(k, t.index);
    return v;
  });
}

/** One `[[lac]]` with its `ppp` / `ipsec` groups. */
function buildLac(t: ReadTable<typeof LAC.rows, typeof LAC.groups>, fail: Fail): LacConfig {
  const v = t.values;
  const p = t.path;
  const name = v.name === '' ? `lac${t.index}` : v.name;
  const g = t.groups.ppp;
  const ppp = g === undefined ? undefined : { ...g, tun: g.tun === '' ? `l2tpc${t.index}` : g.tun };
  if (ppp !== undefined && v.sessions !== 1) fail(`${p}.sessions`, 'ppp = true drives exactly one session (sessions = 1)');
  const ipsec = t.groups.ipsec === undefined ? undefined : buildLacIpsec(t, fail);
  if (v.hideAvps && v.secret === undefined) fail(`${p}.hide_avps`, 'needs a secret (hidden AVPs are encrypted with it)');
  if (v.localAddress !== undefined && v.lns !== '' && isIP(v.localAddress) !== isIP(v.lns)) fail(`${p}.local_address`, `address family differs from lns (${v.lns})`);
  return { ...v, name, ppp, ...(ipsec !== undefined ? { ipsec } : {}) };
}

/** `[[lac]] ipsec = true`: what we offer, from the proposal names (or the built-in offers). */
function buildLacIpsec(t: ReadTable<typeof LAC.rows, typeof LAC.groups>, fail: Fail): LacIpsecConfig | undefined {
  const g = t.groups.ipsec;
  if (g === undefined) return undefined;
  const p = t.path;
  if (t.values.lns !== '' && isIP(t.values.lns) !== 4) fail(`${p}.lns`, 'ipsec = true needs an IPv4 LNS address');
  const { ikeProposals: p1, espProposals: p2, sha256_96: sha96, ...rest } = g;
  let proposals: InitiatorProposals = DEFAULT_INITIATOR_PROPOSALS;
  let pfsGroup: DhGroupNumber | undefined;
  if (p1 !== undefined || p2 !== undefined || sha96) {
    const o = offersFromSuites(
      p1 ?? DEFAULT_INITIATOR_PROPOSALS.phase1.map((x) => ({ encryption: [x.encryption], hash: [x.hash], groups: [x.group] })),
      p2 ?? DEFAULT_INITIATOR_PROPOSALS.phase2.map((x) => ({ encryption: [x.encryption], integrity: x.integrity ? [x.integrity] : [], pfsGroups: [] })),
      sha96,
    );
    if (o.ok) {
      proposals = o.value.proposals;
      pfsGroup = o.value.pfsGroup;
    } else {
      fail(`${p}.${p2 !== undefined && /ESP|PFS/.test(o.error) ? 'esp_proposals' : 'ike_proposals'}`, o.error);
    }
  }
  return { ...rest, proposals, pfsGroup };
}

function checkLacs(lacs: readonly LacConfig[], fail: Fail): void {
  const names = new Map<string, number>();
  lacs.forEach((c, i) => {
    const j = names.get(c.name);
    if (j !== undefined) fail(`lac[${i}].name`, `duplicate name "${c.name}" (also lac[${j}])`);
    names.set(c.name, i);
  });
}

/** The first host address of a prefix ("100.64.0.0/24" -> 100.64.0.1). */
const firstHost = (p: Ipv4Prefix): number => (p.length >= 31 ? p.network : p.network + 1);

/**
 * Remote access: on for every LNS (at least one listener) unless `[ppp] enabled = false`, the same
 * secure default as no config at all. Without a listener there is nothing to terminate PPP on.
 */
function buildAccess(
  ppp: ReadTable<typeof PPP.rows, typeof PPP.groups>,
  pool: ReadTable<typeof POOL.rows, typeof POOL.groups>,
  users: ReadTable<typeof USERS.rows, typeof USERS.groups>,
  tun: ReadTable<typeof TUN.rows, typeof TUN.groups>,
  listen: readonly ListenConfig[],
  namedPools: ReadonlyMap<string, Ipv4Prefix>,
  fail: Fail,
): AccessSection | undefined {
  const local = pool.values.local;
  if (!local && pool.values.localAddress === undefined) fail('pool.local', 'local = false (no local pool) needs local_address: the LNS\'s own PPP address');
  if (!local && pool.given.has('ipv4')) fail('pool.ipv4', 'local = false: there is no local pool (remove ipv4, or set local = true)');
  // No local pool: an empty /32 pool around the LNS's own address, so only RADIUS gives addresses.
  const prefix = local ? pool.values.ipv4Pool : { network: pool.values.localAddress ?? 0, length: 32 };
  const localAddress = pool.values.localAddress ?? firstHost(prefix);
  if (local && prefix.length < 31) {
    const mask = prefix.length === 0 ? 0 : (0xffffffff << (32 - prefix.length)) >>> 0;
    if (((localAddress & mask) >>> 0) !== prefix.network) fail('pool.local_address', `must be inside pool.ipv4 (${formatIpv4Prefix(prefix)}) so the TUN route covers the pool`);
  }
  if (!ppp.enabled) return undefined;
  if (listen.length === 0) {
    const given = [ppp, pool, users, tun].find((t) => t.present);
    if (given !== undefined) fail(given.path, 'PPP is terminated on the first [[listen]] and there is none (remove this table, or add a [[listen]])');
    return undefined;
  }
  return { ...ppp.values, ...pool.values, ...users.values, ...tun.values, ipv4Pool: prefix, localAddress, mtu: tun.values.mtu ?? ppp.values.mru, ...(namedPools.size > 0 ? { namedPools } : {}) };
}

/**
 * `[ipsec]`: on for every LNS unless `enabled = false` (and when the table is given). Without a
 * `psk` and without `[[ipsec.peer]]` keys the PSK is generated once and kept in the state file.
 */
function buildIpsec(
  t: ReadTable<typeof IPSEC.rows, typeof IPSEC.groups>,
  peerTables: readonly ReadTable<typeof IPSEC_PEER.rows, typeof IPSEC_PEER.groups>[],
  listen: readonly ListenConfig[],
  fail: Fail,
): IpsecSection | undefined {
  if (!t.enabled || (!t.present && listen.length === 0)) return undefined;
  const v = t.values;
  const peers = peerTables.map((pt) => ({
    address: pt.values.address,
    psk: pt.values.psk,
    ...(pt.given.has('sha256_96') ? { sha256_96: pt.values.sha256_96 } : {}),
  }));
  if (v.ikePort !== 0 && v.ikePort === v.nattPort) fail('ipsec.natt_port', 'must differ from ike_port');
  if (!listen.some((l) => isIP(l.address) === 4)) {
    fail(
      'ipsec',
      t.present
        ? 'needs an IPv4 [[listen]] (IPsec runs on the first IPv4 listener)'
        : 'IPsec is on by default for an LNS and needs an IPv4 [[listen]] (IKEv1 L2TP/IPsec runs on IPv4): add one, or set [ipsec] enabled = false for plain L2TP',
    );
  }
  const pskGenerated = v.psk === undefined && peers.length === 0;
  return { ...v, peers, ...(pskGenerated ? { pskGenerated } : {}) };
}

/** IKE sockets of [ipsec] and of every `ipsec = true` LAC must not collide (same port, overlapping address). */
function checkIkePorts(ipsec: IpsecSection | undefined, listen: readonly ListenConfig[], lacs: readonly LacConfig[], fail: Fail): void {
  const taken: { who: string; address: string; port: number }[] = [];
  const ipsecListen = listen.find((l) => isIP(l.address) === 4);
  if (ipsec && ipsecListen) {
    taken.push({ who: '[ipsec]', address: ipsecListen.address, port: ipsec.ikePort }, { who: '[ipsec]', address: ipsecListen.address, port: ipsec.nattPort });
  }
  lacs.forEach((l, i) => {
    const x = l.ipsec;
    if (x === undefined) return;
    const address = l.localAddress ?? '0.0.0.0';
    for (const [k, port] of [['ike_port', x.ikePort], ['natt_port', x.nattPort]] as const) {
      const clash = port === 0 ? undefined : taken.find((t) => t.port === port && (t.address === address || t.address === '0.0.0.0' || address === '0.0.0.0'));
      if (clash) fail(`lac[${i}].${k}`, `UDP port ${port} is already used by ${clash.who} (set ${k} = 0 for any free port)`);
      taken.push({ who: `lac[${i}]`, address, port });
    }
  });
}

/** Loopback: 127.0.0.0/8, ::1 (and ::ffff:127.x). */
const isLoopback = (host: string): boolean => /^127\./.test(host) || host === '::1' || /^::ffff:127\./i.test(host);

/** `[status]`: on with `listen`; a non-loopback address only with `allow_remote` (the page has no TLS). */
function buildStatus(t: ReadTable<typeof STATUS.rows, typeof STATUS.groups>, fail: Fail): StatusSection | undefined {
  const { listen, ...rest } = t.values;
  if (listen === undefined) return undefined;
  if (!isLoopback(listen.host) && !rest.allowRemote) {
    fail('status.listen', `${listen.host} is not a loopback address: the page shows user names and addresses over plain HTTP; set allow_remote = true to serve it there anyway (behind a TLS proxy), or use 127.0.0.1 and an SSH tunnel`);
  }
  return { ...rest, listen };
}

/**
 * The configuration used when there is no config file: the same as an empty file — a ready
 * L2TP/IPsec remote-access LNS on 0.0.0.0 (UDP 500/4500/1701 + raw ESP, L2TP only inside IPsec;
 * pool 100.64.0.0/24, LNS address 100.64.0.1, TUN l2tp0). The PSK and the login are generated once
 * and kept in the state directory (src/daemon/setup); `psk` fixes the PSK instead (tests).
 */
export function defaultConfig(psk?: string): DaemonConfig {
  const r = parseConfig(psk === undefined ? '' : `[ipsec]\npsk = ${JSON.stringify(psk)}\n`);
  if (!r.ok || r.value.ipsec === undefined || r.value.access === undefined) throw new Error('the default configuration must be valid');
  return r.value;
}

/** Read and validate a config file. A file that cannot be read is a ConfigError too. */
export async function loadConfigFile(path: string): Promise<Result<DaemonConfig, readonly ConfigError[]>> {
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    return err([{ key: '', message: `cannot read ${path}: ${code}` }]);
  }
  return parseConfig(source);
}

/** `config: line 12: lac[0].lns: expected an IPv4 or IPv6 address`. */
export function formatConfigError(e: ConfigError): string {
  const where = e.line === undefined ? '' : e.column === undefined ? `line ${e.line}: ` : `line ${e.line}, column ${e.column}: `;
  const key = e.key === '' ? '' : `${e.key}: `;
  return `config: ${where}${key}${e.message}`;
}

/** Text of an IPv4 address number (banner, check-config). */
export { formatIpv4 };
