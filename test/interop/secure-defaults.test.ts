/**
 * Secure and obvious by default (issue 11), proven with a real Linux L2TP/IPsec client: strongSwan
 * 5.9 (IKEv1 Main Mode PSK, kernel XFRM) + xl2tpd + pppd in the qemu/TCG guest, not behind a NAT,
 * connects three times in ONE boot (guest/l2tp-ipsec-runs.sh) while our daemon is restarted
 * between the connections with one state directory:
 *
 *  1. a config file with only `[users] file = ...` (what the first-run output used to suggest, and
 *     which used to switch IPsec off): L2TP/IPsec with a generated PSK, raw ESP (IP protocol 50);
 *  2. no config file at all, run with exactly the capabilities of contrib/l2tpd.service (setpriv:
 *     CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE; bounding = ambient = effective, checked in
 *     /proc): the same PSK as run 1 (state file), a generated login, raw ESP;
 *  3. the same without CAP_NET_RAW: no raw ESP socket, one degraded-mode line, the NAT-D answer
 *     makes strongSwan use ESP in UDP 4500 although nothing is translated, and the connection
 *     works; PSK and login are the ones of run 2 (restart with the same state-file credentials).
 *
 * Every run: MS-CHAPv2 login, an address from the default pool, DNS servers by IPCP equal to the
 * daemon's default — the host's resolvers from /etc/resolv.conf (a private mount namespace shows
 * the daemon a resolv.conf naming the stub 127.0.0.53 and two reachable servers: the stub is
 * skipped) — in the pppd log and /etc/ppp/resolv.conf, pings to the LNS address, clean disconnect.
 * The capture holds raw ESP and ESP in UDP, no L2TP outside ESP, 0 malformed and 0 error items.
 *
 * Topology (netns only): guest 198.18.0.10 --tap-- [br0 in SEG] --veth-- SEG-lns 198.18.0.1 (our l2tpd).
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  analyzeCapture, daemonPaths, describeReport, ensureDebianPackages, makeWorkDir, parseLogLines, removeWorkDir, requireRoot, run,
  spawnIn, startCapture, tail, trackNamespace, untrackNamespace, waitUntil, type Capture, type LogLine, type ManagedProcess,
} from './lib/index.js';
import { ensureImage, startGuest, type GuestHandle } from './vm/guest.js';
import { createSegment, type Segment } from './vm/segment.js';
import { DNS, GUEST_IP, LNS_IP, PASS, USER } from './vm/plan.js';
import { setprivArgs, unitCapabilities } from '../lib/l2tpd-process.js';

/** The defaults the runs rely on (no [pool] in any config). */
const DEFAULT_POOL = '100.64.0.0/24';
const DEFAULT_LNS_PPP = '100.64.0.1';
const UNIT = readFileSync(join(daemonPaths().root, 'contrib', 'l2tpd.service'), 'utf8');
const CAPTURE_FILTER = 'udp port 500 or udp port 4500 or udp port 1701 or ip proto 50';

let work = '';
let seg: Segment | undefined;
let lnsNs = '';
let failed = false;
const live: { daemon?: ManagedProcess | undefined; capture?: Capture | undefined; guest?: GuestHandle | undefined } = {};

/** One restart of our daemon. */
interface RunPlan {
  readonly name: string;
  /** The config file's text; undefined = no config file. */
  readonly config: string | undefined;
  /** Capabilities of the unit to leave out (undefined = full root, not under setpriv). */
  readonly drop: readonly string[] | undefined;
  /** What the guest must report (`encap=` of l2tp-ipsec-client.sh) and our flow-up must say. */
  readonly encap: 'raw' | 'udp4500';
}

const RUNS: readonly RunPlan[] = [
  { name: 'users-only-config', config: '[users]\nfile = "USERS"\n', drop: undefined, encap: 'raw' },
  { name: 'unit-capabilities', config: undefined, drop: [], encap: 'raw' },
  { name: 'unit-capabilities-without-net-raw', config: undefined, drop: ['CAP_NET_RAW'], encap: 'udp4500' },
];

/** The capability bits of the unit's names (linux/capability.h). */
const CAP_BITS: Readonly<Record<string, number>> = { CAP_NET_BIND_SERVICE: 10, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13 };

/** Start our daemon for `plan` in the LNS namespace, behind a private resolv.conf; resolves once it serves. */
async function startDaemon(plan: RunPlan, i: number, stateDir: string): Promise<{ proc: ManagedProcess; socket: string; lines: () => LogLine[] }> {
  const { root, l2tpd } = daemonPaths();
  const dir = join(work, `run${i + 1}`);
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'l2tpd.sock');
  const args = [l2tpd, '--socket', socket, '--state-dir', stateDir, '--debug', '--log-format', 'json'];
  if (plan.config !== undefined) {
    const cfg = join(dir, 'l2tpd.toml');
    writeFileSync(cfg, plan.config.replace('USERS', join(work, 'users')));
    args.push('--config', cfg);
  }
  // The host's resolvers as the daemon sees them: a stub (skipped) and two servers.
  const resolv = join(work, 'resolv.conf');
  const wrap = plan.drop === undefined ? [process.execPath] : [...setprivArgs(UNIT, plan.drop), process.execPath];
  const proc = spawnIn(lnsNs, 'sh', ['-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv, ...wrap, ...args], {
    name: `l2tpd-${plan.name}@${lnsNs}`, lifetimeMs: 600_000, logFile: join(dir, 'l2tpd.log'), cwd: root,
  });
  live.daemon = proc;
  const lines = (): LogLine[] => parseLogLines(proc.output());
  await waitUntil(`l2tpd (${plan.name}) started`, () => {
    if (!proc.running()) throw new Error(`l2tpd exited at start:\n${tail(proc.output(), 40)}`);
    return lines().find((l) => / started, mode LNS/.test(l.msg)) !== undefined ? true : undefined;
  }, 20_000, () => tail(proc.output(), 40));
  return { proc, socket, lines };
}

async function ctl(socket: string, ...a: string[]): Promise<unknown> {
  const r = await run(process.execPath, [daemonPaths().l2tpctl, '--socket', socket, ...a, '--json'], { timeoutMs: 15_000 });
  return JSON.parse(r.stdout) as unknown;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

async function countFrames(file: string, filter: string): Promise<number> {
  const r = await run('tshark', ['-n', '-r', file, '-Y', filter], { timeoutMs: 60_000 });
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

before(async () => {
  requireRoot();
  await ensureDebianPackages(['tshark', 'iproute2', 'util-linux']);
}, { timeout: 1_800_000 });

before(async () => {
  await ensureImage({ onLine: (l) => process.stderr.write(`image: ${l}\n`) });
}, { timeout: 2_400_000 });

before(() => {
  work = makeWorkDir('secure-defaults');
  seg = createSegment();
  trackNamespace(seg.netns);
  lnsNs = seg.addPeer('lns', `${LNS_IP}/24`);
  trackNamespace(lnsNs);
  writeFileSync(join(work, 'users'), `${USER} ${PASS}\n`, { mode: 0o600 });
  writeFileSync(join(work, 'resolv.conf'), `# as systemd-resolved writes it, plus two servers\nnameserver 127.0.0.53\nnameserver ${DNS[0]}\nnameserver ${DNS[1]}\noptions edns0\n`);
});

after(async () => {
  const g = live.guest;
  if (g) {
    g.kill();
    await g.done;
  }
  await live.capture?.stop().catch(() => undefined);
  await live.daemon?.stop(5000);
  if (seg) {
    const names = [...seg.peers, seg.netns];
    seg.destroy();
    names.forEach(untrackNamespace);
  }
  if (work !== '') {
    if (failed) process.stderr.write(`secure-defaults: artefacts kept in ${work}\n`);
    else removeWorkDir(work);
  }
});

/** Checks of one run on our side; returns the problems found. */
async function checkRun(plan: RunPlan, d: { socket: string; lines: () => LogLine[] }, guestLines: readonly string[], end: string): Promise<string[]> {
  const problems: string[] = [];
  const p = (m: string): void => {
    problems.push(`${plan.name}: ${m}`);
  };
  if (!/ PASS l2tp-ipsec-client /.test(end)) p(`guest run failed: ${end}`);
  const encap = /\bencap=(\S+)/.exec(end)?.[1];
  if (encap !== plan.encap) p(`strongSwan used ${encap ?? '?'} ESP, expected ${plan.encap}`);
  const dnsLine = guestLines.find((l) => /DNS from IPCP: /.test(l)) ?? '';
  if (!dnsLine.includes(`DNS from IPCP: ${DNS[0]},${DNS[1]};`) || !dnsLine.includes(`nameserver ${DNS[0]} nameserver ${DNS[1]}`)) p(`DNS by IPCP (pppd log, /etc/ppp/resolv.conf): ${dnsLine.trim()}`);
  const lines = d.lines();
  const note = lines.find((l) => /^DNS for clients: /.test(l.msg));
  if (note?.msg !== `DNS for clients: ${DNS[0]}, ${DNS[1]} (the host's resolvers in /etc/resolv.conf)`) p(`our DNS note: ${note?.msg ?? 'missing'}`);
  const flow = lines.find((l) => /^ipsec: ipsec:\d+ up from /.test(l.msg));
  const want = plan.encap === 'raw' ? 'transport' : 'udp-transport';
  if (flow?.raw['encapsulation'] !== want) p(`our flow ${flow?.msg ?? 'missing'} (expected ${want})`);
  const ikeUp = lines.find((l) => /^ipsec: IKE SA \d+ up/.test(l.msg));
  const nat = isObj(ikeUp?.raw['natT']) ? ikeUp.raw['natT'] : {};
  if (nat['localBehindNat'] !== false) p(`NAT-D: we are not behind a NAT: ${JSON.stringify(nat)}`);
  const login = lines.find((l) => / logged in, address /.test(l.msg));
  if (login?.raw['auth'] !== 'mschapv2' || typeof login.raw['address'] !== 'string' || !String(login.raw['address']).startsWith('100.64.0.')) p(`login: ${login?.msg ?? 'missing'}`);
  const degraded = lines.filter((l) => l.level === 40 && /raw ESP/.test(l.msg));
  if (plan.encap === 'udp4500' ? degraded.length !== 1 : degraded.length !== 0) p(`degraded-mode lines: ${JSON.stringify(degraded.map((l) => l.msg))}`);
  if (plan.drop !== undefined) {
    const st = await ctl(d.socket, 'show', 'status');
    const pid = isObj(st) ? Number(st['pid']) : 0;
    const proc = readFileSync(`/proc/${pid}/status`, 'utf8');
    const want = unitCapabilities(UNIT, 'AmbientCapabilities').filter((c) => !(plan.drop ?? []).includes(c)).reduce((m, c) => m | (1n << BigInt(CAP_BITS[c] ?? 63)), 0n);
    for (const k of ['CapEff', 'CapBnd', 'CapAmb']) {
      const have = BigInt(`0x${new RegExp(`^${k}:\\s*([0-9a-f]+)$`, 'm').exec(proc)?.[1] ?? '0'}`);
      if (have !== want) p(`${k} ${have.toString(16)} != the unit's ${want.toString(16)}`);
    }
  }
  const secrets = JSON.stringify(await ctl(d.socket, 'credentials'));
  const c = JSON.parse(secrets) as { psk?: string; login?: { password: string } };
  for (const s of [c.psk, c.login?.password, PASS]) if (s !== undefined && lines.some((l) => JSON.stringify(l.raw).includes(s))) p('a secret is in the log');
  return problems;
}

test('secure defaults with strongSwan + xl2tpd + pppd: [users]-only config over IPsec; the unit\'s capabilities with and without CAP_NET_RAW; restarts keep the state-file credentials; DNS by IPCP each time', { timeout: 1_200_000 }, async (t: TestContext) => {
  const t0 = Date.now();
  const stateDir = join(work, 'state');
  const outDir = join(work, 'guest');
  mkdirSync(outDir, { recursive: true });
  const cap = await startCapture(seg?.netns ?? '', 'br0', join(work, 'secure-defaults.pcap'), { filter: CAPTURE_FILTER, maxSeconds: 1000 });
  live.capture = cap;
  const consoleLines: string[] = [];
  const g = startGuest({
    test: 'l2tp-ipsec-runs',
    env: { RUNS: String(RUNS.length), SERVER: LNS_IP, AUTH: 'mschapv2', POOL: DEFAULT_POOL, PINGS: '3', UP_TMO: '45', GO_TMO: '240' },
    network: { netns: seg?.netns ?? '', ip: `${GUEST_IP}/24` },
    timeoutSec: 1100,
    outDir,
    onConsoleLine: (l) => consoleLines.push(l),
  });
  live.guest = g;
  const problems: string[] = [];
  let firstPsk: string | undefined;
  let generated: { username: string; password: string } | undefined;
  try {
    for (const [i, plan] of RUNS.entries()) {
      const n = i + 1;
      const d = await startDaemon(plan, i, stateDir);
      const creds = await ctl(d.socket, 'credentials');
      assert.ok(isObj(creds) && typeof creds['psk'] === 'string', `a generated PSK: ${JSON.stringify(creds)}`);
      const psk = creds['psk'];
      const login = isObj(creds['login']) ? { username: String(creds['login']['username']), password: String(creds['login']['password']) } : undefined;
      // Run 1 generates the PSK; every restart keeps it. Run 2 (no users file) generates the login; run 3 keeps it.
      if (i === 0) {
        firstPsk = psk;
        assert.equal(login, undefined, 'a configured users file: no generated login');
      } else {
        assert.equal(psk, firstPsk, `${plan.name}: the PSK of the state file survives the restart`);
        assert.ok(login !== undefined, `${plan.name}: the generated login`);
        if (generated === undefined) generated = login;
        else assert.deepEqual(login, generated, `${plan.name}: the generated login survives the restart`);
      }
      const user = login ?? { username: USER, password: PASS };
      t.diagnostic(`run ${n} (${plan.name}): daemon up after ${((Date.now() - t0) / 1000).toFixed(1)} s, login ${user.username}`);
      writeFileSync(join(outDir, `run-${n}.env`), `PSK=${psk}\nUSER=${user.username}\nPASS=${user.password}\nDNS=${DNS[0]},${DNS[1]}\nFORCEENCAPS=no\nTARGET=${DEFAULT_LNS_PPP}\n`);
      const from = consoleLines.length;
      writeFileSync(join(outDir, `GO-${n}`), '');
      const end = await g.waitForLine(new RegExp(`^RUN-END: ${n} `), 400);
      t.diagnostic(`run ${n}: ${end?.trim() ?? 'no RUN-END'}`);
      if (end === undefined) {
        problems.push(`${plan.name}: no RUN-END from the guest`);
        break;
      }
      problems.push(...(await checkRun(plan, d, consoleLines.slice(from), end)));
      const st = await d.proc.stop(5000);
      if (st.code !== 0) problems.push(`${plan.name}: l2tpd exited ${JSON.stringify(st)}`);
      live.daemon = undefined;
      if (!existsSync(join(stateDir, 'credentials.json'))) problems.push('no state file');
    }
    const res = await g.done;
    live.guest = undefined;
    t.diagnostic(`guest: boot-to-script ${String(res.bootSec)} s, wall ${res.wallSec.toFixed(1)} s: ${res.results.at(-1)?.detail ?? ''}`);
    assert.deepEqual(problems, [], `${problems.join('\n')}\n--- guest (tail):\n${tail(res.log, 120)}\n--- artefacts: ${work}`);
    assert.equal(res.status, 'PASS', `guest: ${res.results.at(-1)?.detail ?? 'no RESULT'}\n${tail(res.log, 120)}`);
    live.capture = undefined;
    await cap.stop();
    const report = await analyzeCapture(cap.file);
    const espRaw = await countFrames(cap.file, 'esp && !udp');
    const espUdp = await countFrames(cap.file, 'esp && udp.port == 4500');
    const clear = await countFrames(cap.file, 'udp.port == 1701 || l2tp');
    t.diagnostic(`${describeReport(report).split('\n')[0] ?? ''}; raw ESP ${espRaw}, ESP in UDP ${espUdp}, clear L2TP ${clear}`);
    assert.equal(report.malformed, 0, describeReport(report));
    assert.equal(report.errors, 0, describeReport(report));
    assert.equal(clear, 0, 'no L2TP outside ESP');
    assert.ok(espRaw > 0, 'raw ESP (runs 1 and 2)');
    assert.ok(espUdp > 0, 'ESP in UDP 4500 (run 3, forced without CAP_NET_RAW)');
    t.diagnostic(`wall ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (e) {
    failed = true;
    throw e;
  }
});
