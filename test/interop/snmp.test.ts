/**
 * Real-peer test (d): net-snmp's snmpd (Debian `snmpd`) as the AgentX master agent, our l2tpd's
 * subagent serving the L2TP-MIB (RFC 3371), read with Debian's `snmpwalk`.
 *
 *   lac netns (198.18.95.1)           lns netns (198.18.95.2)                     srv netns
 *   load child: 2 tunnels,   L2TP    l2tpd ([snmp] agentx = DIR/agentx.sock)  veth 203.0.113.10
 *   6 PPP sessions (CHAP)   ------>  snmpd: master agentx, udp 127.0.0.1:16195 ------ (ping target)
 *                                    snmpwalk -v2c 127.0.0.1:16195 1.3.6.1.2.1.10.95
 *
 * 1. l2tpd starts before snmpd: it logs that the master agent is unreachable; snmpd starts and the
 *    subagent registers (reconnect).
 * 2. After the sessions are up (and a few pings through two of them): every cell of the walk equals
 *    what `l2tpctl show tunnels --json` says (row counts, ids, states, control counters, Ns/Nr, user
 *    names), and the tunnels' payload counters equal their sessions' sums (fast path included).
 * 3. show destinations / sessions user / summary; clear statistics resets the show counters but not
 *    the SNMP counters; snmpd restarted: the subagent comes back by itself.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTopology, ensureDebianPackages, makeWorkDir, removeWorkDir, repoRoot, requireRoot, run, spawnIn, tail, trackNamespace, untrackNamespace, waitUntil, type ManagedProcess, type Topology } from './lib/index.js';
import { plumbServerBehindLns, startAccessLns, startLoadChild, writeUsers, type LoadChild } from '../../bench/lib/ppp-lns.js';
import type { DialResult, PingResult } from '../../bench/lib/ppp-load.js';
import type { DestinationView, SessionView, StatusView, SummaryView, TunnelView } from '../../src/daemon/control-protocol.js';
import { mibSnapshot, mibWalk, type MibCell } from '../../src/daemon/snmp/l2tp-mib.js';

const TUNNELS = 2;
const SESSIONS = 6;
const POOL = '100.64.0.0/24';
const SNMP_PORT = 16195;
const COMMUNITY = 'jun-ro';
const L2TP_MIB = '1.3.6.1.2.1.10.95';
const LIFETIME_MS = 170_000;

let topo: Topology | undefined;
let srvNs: string | undefined;
let dir = '';
let lnsNs = '';
let lns: ManagedProcess | undefined;
let snmpd: ManagedProcess | undefined;
let load: LoadChild | undefined;
let socket = '';
let agentx = '';

const daemonLog = (): string => tail(lns?.output() ?? '', 30);
const count = (text: string, re: RegExp): number => text.split('\n').filter((l) => re.test(l)).length;
/** A waitUntil probe: the daemon log has `n` lines matching `re`. */
const logged = (re: RegExp, n = 1) => (): Promise<true | undefined> => Promise.resolve(count(lns?.output() ?? '', re) >= n ? true : undefined);

/** snmpd as AgentX master in the LNS namespace (config and persistent state in the work dir). */
function startSnmpd(): ManagedProcess {
  const conf = join(dir, 'jun-snmpd.conf');
  writeFileSync(conf, ['master agentx', `agentXSocket ${agentx}`, `agentaddress udp:127.0.0.1:${SNMP_PORT}`, `rocommunity ${COMMUNITY} 127.0.0.1`, ''].join('\n'));
  const persist = join(dir, 'snmp-persist');
  mkdirSync(persist, { recursive: true });
  return spawnIn(lnsNs, '/usr/sbin/snmpd', ['-f', '-Lo', '-C', '-c', conf, '-m', '', '-I', '-smux'], {
    name: 'snmpd',
    lifetimeMs: LIFETIME_MS,
    logFile: join(dir, 'snmpd.log'),
    env: { SNMP_PERSISTENT_DIR: persist, MIBS: '' },
  });
}

/** `snmpwalk -On` of the L2TP-MIB, parsed: numeric OID (no dot first) -> value text. */
async function walk(): Promise<Map<string, string>> {
  const r = await run('ip', ['netns', 'exec', lnsNs, 'snmpwalk', '-v2c', '-c', COMMUNITY, '-On', '-Oe', '-m', '', '-r', '2', '-t', '3', `127.0.0.1:${SNMP_PORT}`, L2TP_MIB], { timeoutMs: 30_000, env: { MIBS: '' } });
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^\.(\S+) = (.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) out.set(m[1], m[2]);
  }
  return out;
}

/** A cell as snmpwalk prints it (`-Oe`: enumerations as numbers). */
function printed(c: MibCell): string {
  if (c.type === 'OctetString') {
    const v = c.value;
    if (v instanceof Uint8Array) return `Hex-STRING: ${[...v].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ')} `;
    return v === '' ? '""' : `STRING: "${String(v)}"`;
  }
  const kind = c.type === 'Counter32' ? 'Counter32' : c.type === 'Integer32' ? 'INTEGER' : 'Gauge32';
  return `${kind}: ${String(c.value)}`;
}

const l2tpctl = async <T>(...words: string[]): Promise<T> =>
  JSON.parse((await run(process.execPath, [join(repoRoot(), 'bin', 'l2tpctl.js'), '--socket', socket, ...words, '--json'], { timeoutMs: 30_000 })).stdout) as T;

before(async () => {
  requireRoot();
  await ensureDebianPackages(['snmpd', 'snmp']);
  dir = makeWorkDir('jun-snmp');
  agentx = join(dir, 'agentx.sock');
  topo = await createTopology(['lac', 'lns'], 95, 'jun');
  lnsNs = topo.node('lns').ns;
  await run('ip', ['-n', lnsNs, 'link', 'set', 'lo', 'up']);
  srvNs = `${topo.prefix}-srv`;
  trackNamespace(srvNs);
  await run('ip', ['netns', 'add', srvNs]);
  await plumbServerBehindLns(lnsNs, srvNs, POOL);
  const usersFile = join(dir, 'users');
  writeUsers(usersFile, SESSIONS);
  socket = join(dir, 'l2tpd.sock');
  const d = await startAccessLns(
    lnsNs,
    dir,
    { socket, listen: topo.node('lns').address, pool: POOL, localAddress: '100.64.0.1', usersFile, tunName: 'jun0', auth: ['chap'], echoInterval: 0, logLevel: 'info', extra: `[snmp]\nagentx = ${JSON.stringify(agentx)}\nreconnect_seconds = 1\ncache_ms = 0\n` },
    LIFETIME_MS,
  );
  lns = d.proc;
  load = await startLoadChild(topo.node('lac').ns, LIFETIME_MS, repoRoot());
  await load.request({ cmd: 'open', address: topo.node('lac').address, tuning: { helloInterval: 0 } }, 10_000);
});

after(async () => {
  await load?.stop().catch(() => undefined);
  await lns?.stop(5000);
  await snmpd?.stop(3000);
  await topo?.destroy();
  if (srvNs !== undefined) {
    await run('ip', ['netns', 'del', srvNs], { check: false, timeoutMs: 10_000 });
    untrackNamespace(srvNs);
  }
  if (dir !== '') removeWorkDir(dir);
});

/** The walk and the views taken around it; retried while the control counters moved in between. */
async function consistentWalk(): Promise<{ cells: Map<string, string>; views: TunnelView[] }> {
  for (let i = 0; ; i++) {
    const before1 = await l2tpctl<TunnelView[]>('show', 'tunnels');
    const cells = await walk();
    const after1 = await l2tpctl<TunnelView[]>('show', 'tunnels');
    const strip = (v: TunnelView[]): string => JSON.stringify(v.map((t) => [t.localTunnelId, t.ns, t.nr, t.counters.controlRx, t.counters.controlTx, t.counters.zlbRx, t.counters.zlbTx, t.sessions.length]));
    if (strip(before1) === strip(after1) || i === 4) return { cells, views: after1 };
  }
}

test('snmpwalk of the L2TP-MIB through snmpd (AgentX) matches l2tpctl show; clear statistics; reconnect', { timeout: 150_000 }, async () => {
  const client = load;
  assert.ok(client !== undefined);
  // 1. No master yet: one clear line, then registration once snmpd is up.
  await waitUntil('the "master agent unreachable" line', logged(/AgentX master agent unreachable at/), 15_000, daemonLog);
  snmpd = startSnmpd();
  await waitUntil('snmpd AgentX socket', () => Promise.resolve(existsSync(agentx) ? true : undefined), 15_000, () => tail(snmpd?.output() ?? '', 20));
  await waitUntil('the subagent registered', logged(/AgentX subagent registered the L2TP-MIB/), 15_000, daemonLog);

  // 2. Sessions up, a little traffic through two of them.
  const dial = await client.request<DialResult>({ cmd: 'dial', peer: topo?.node('lns').address, port: 1701, tunnels: TUNNELS, sessions: SESSIONS, window: SESSIONS, timeoutMs: 40_000 }, 50_000);
  assert.equal(dial.up, SESSIONS, `sessions up: ${dial.up}; ${dial.failures.join('; ')}\n${daemonLog()}`);
  const pings = await client.request<PingResult[]>({ cmd: 'ping', indexes: [0, 3], dst: '203.0.113.10', count: 3, timeoutMs: 15_000 }, 20_000);
  for (const p of pings) assert.equal(p.received, 3, `echo replies through session ${p.index}`);

  const { cells, views } = await consistentWalk();
  const sessions = views.flatMap((t) => t.sessions);
  assert.equal(views.length, TUNNELS);
  assert.equal(sessions.length, SESSIONS);
  const under = (prefix: string): string[] => [...cells.keys()].filter((k) => k.startsWith(prefix));
  assert.equal(under(`${L2TP_MIB}.1.5.1.1.`).length, TUNNELS, 'one l2tpTunnelStatsTable row per tunnel');
  assert.equal(under(`${L2TP_MIB}.1.7.1.6.`).length, SESSIONS, 'one l2tpSessionStatsTable row per session');
  for (const t of views) {
    const c = (col: number): string | undefined => cells.get(`${L2TP_MIB}.1.5.1.${col}.${t.localTunnelId}`);
    assert.equal(c(1), `INTEGER: ${t.localTunnelId}`);
    assert.equal(c(2), `INTEGER: ${t.remoteTunnelId}`);
    assert.equal(c(3), 'INTEGER: 3', 'tunnelEstablished');
    assert.equal(c(12), `Counter32: ${t.counters.controlRx}`, 'l2tpTunnelStatsControlRxPkts');
    assert.equal(c(16), `Counter32: ${t.counters.controlTx}`, 'l2tpTunnelStatsControlTxPkts');
    assert.ok(t.counters.controlRx >= 3 && t.counters.controlTx >= 2, 'SCCRQ/SCCCN/ICRQ/ICCN... counted');
    assert.equal(c(26), `Gauge32: ${t.sessions.length}`, 'l2tpTunnelStatsActiveSessions');
    // The tunnel's payload is its sessions' sum (engine counters + fast path share).
    const sum = t.sessions.reduce((a, s) => ({ rx: a.rx + s.rxPackets, tx: a.tx + s.txPackets }), { rx: 0, tx: 0 });
    assert.deepEqual({ rx: t.data.rxPackets, tx: t.data.txPackets }, sum, `tunnel ${t.localTunnelId} payload = sum of its sessions`);
    assert.ok(t.data.rxPackets > 0 && t.data.txPackets > 0);
  }
  for (const s of sessions) {
    const c = (col: number): string | undefined => cells.get(`${L2TP_MIB}.1.7.1.${col}.${s.localTunnelId}.${s.localSessionId}`);
    assert.equal(c(5), `STRING: "${s.username ?? ''}"`);
    assert.equal(c(6), 'INTEGER: 3', 'sessionEstablished');
    assert.equal(c(7), 'INTEGER: 2', 'lnsIncoming');
    assert.equal(c(19), 'INTEGER: 3', 'pppChap');
  }
  // Every cell, as the sans-I/O mapping computes it from the same views.
  const want = mibWalk(mibSnapshot(views));
  assert.deepEqual([...cells.keys()], want.map((c) => c.oid), 'the walk has exactly the cells (and order) of the mapping');
  for (const c of want) assert.equal(cells.get(c.oid), printed(c), c.oid);
  const pinged = pings.map((p) => p.address);
  const carried = sessions.filter((s) => pinged.includes(s.address));
  // The echoes went through the native fast path (when it runs): the tunnels' payload includes it.
  const st = await l2tpctl<StatusView>('show', 'status');
  const fast = (st.fastPath?.udpFast ?? 0) + (st.fastPath?.tunFast ?? 0);
  const share = views.reduce((a, t) => a + (t.data.rxPackets - t.counters.dataRxPackets) + (t.data.txPackets - t.counters.dataTxPackets), 0);
  if (st.fastPath !== undefined && fast > 0) assert.ok(share > 0, `fast path forwarded ${fast} packets: the tunnels' payload must hold a fast-path share beyond the engine counters`);
  process.stderr.write(
    `# snmpwalk: ${cells.size} cells, ${TUNNELS} tunnel rows, ${SESSIONS} session rows; pinged sessions rx/tx packets ${carried.map((s) => `${s.rxPackets}/${s.txPackets}`).join(', ')}; fast path ${st.fastPath === undefined ? 'off' : `${fast} packets`}, fast-path share in tunnel payload ${share}\n`,
  );

  // 3. Junos-style views.
  const dest = await l2tpctl<DestinationView[]>('show', 'destinations');
  assert.deepEqual(dest.map((x) => [x.remoteAddress, x.tunnels, x.sessions]), [[topo?.node('lac').address, TUNNELS, SESSIONS]]);
  const one = await l2tpctl<SessionView[]>('show', 'sessions', 'user', 'u3');
  assert.deepEqual(one.map((s) => s.username), ['u3']);
  const byTunnel = await l2tpctl<TunnelView[]>('show', 'tunnels', 'tunnel', String(views[0]?.localTunnelId));
  assert.equal(byTunnel.length, 1);
  const sum = await l2tpctl<SummaryView>('show', 'summary');
  assert.deepEqual([sum.destinations, sum.tunnels, sum.sessions], [1, TUNNELS, SESSIONS]);
  assert.ok((sum.payloadSinceStart?.rxPackets ?? 0) >= sum.data.rxPackets && sum.data.rxPackets > 0);

  await l2tpctl('clear', 'statistics');
  const cleared = await l2tpctl<TunnelView[]>('show', 'tunnels');
  for (const t of cleared) {
    assert.deepEqual(t.data, { rxPackets: 0, rxOctets: 0, txPackets: 0, txOctets: 0 }, 'show restarts at 0 (no traffic since)');
    assert.equal(t.counters.controlRx, 0);
  }
  const afterClear = await walk();
  for (const t of views) assert.equal(afterClear.get(`${L2TP_MIB}.1.5.1.12.${t.localTunnelId}`), `Counter32: ${t.counters.controlRx}`, 'SNMP counters are not cleared');

  // snmpd restarted: the subagent reconnects by itself.
  await snmpd.stop(3000);
  await waitUntil('the subagent to notice', logged(/lost the AgentX master/), 15_000, daemonLog);
  snmpd = startSnmpd();
  await waitUntil('re-registration', logged(/AgentX subagent registered the L2TP-MIB/, 2), 20_000, daemonLog);
  const again = await walk();
  assert.equal([...again.keys()].filter((k) => k.startsWith(`${L2TP_MIB}.1.7.1.6.`)).length, SESSIONS, 'rows served again after the master restarted');

  assert.ok(lns?.running());
  const errors = (lns?.output() ?? '').split('\n').filter((l) => /"level":(50|60)/.test(l));
  assert.deepEqual(errors, [], 'no error lines in the daemon log');
});
