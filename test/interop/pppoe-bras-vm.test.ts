/**
 * Real-peer test (a) of BRAS mode: pppd in the Debian guest (qemu/TCG) dials PPPoE to our l2tpd
 * PROCESS, which terminates the sessions locally with the same access server as L2TP sessions
 * (`[[pppoe]]` in its config: the AC on the namespace's eth0, PPP, the pool, the users file, the TUN).
 * One boot, two cycles (test/interop/vm/guest/pppoe-ac-client.sh):
 *   1. pppd 2.4.9 with the kernel rp-pppoe.so plugin, PAP: it sends no PADT at hang-up (its discovery
 *      socket is closed after PADS), so our PADT follows its LCP Terminate-Request;
 *   2. pppd with the userspace rp-pppoe client (`pty "pppoe"`), CHAP-MD5: the client's own PADT ends
 *      the session on our side.
 * Each cycle: IPCP address from our pool (`show status`: 1 address in use while up, 0 after), the guest pings our PPP address (client -> PPPoE -> PPP -> TUN -> kernel and back),
 * the host pings the guest from the daemon's namespace (kernel -> TUN -> PPP -> PPPoE -> guest and back),
 * `l2tpctl show sessions --json` lists exactly that PPPoE session (interface, MAC, user, address),
 * the log has "logged in"; after the hang-up a PADT was seen by the guest (from us or from it as
 * expected), no session is left, `show status` has 0 addresses in use and the log has the logout.
 * The bridge capture (PPPoE discovery and session) decodes in tshark with 0 malformed frames and 0
 * error/warning expert items; PADI/PADO/PADR/PADS/PADT, LCP, PAP, CHAP, IPCP and ICMP are present.
 *
 *   guest 198.18.0.10 --tap-- [br0 in SEG] --veth-- SEG-bras: eth0 (our AC, AF_PACKET), TUN bras0
 *                                                   100.64.20.1/24, l2tpd on 127.0.0.1:1701
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  analyzeCapture, daemonPaths, describeReport, ensureDebianPackages, makeWorkDir, parseLogLines, removeWorkDir, requireRoot, run, spawnIn, startCapture,
  tail, trackNamespace, untrackNamespace, waitUntil, type Capture, type ManagedProcess,
} from './lib/index.js';
import { ensureImage, startGuest, type GuestHandle, type GuestRun } from './vm/guest.js';
import { createSegment, type Segment } from './vm/segment.js';

const AC_NAME = 'l2tpkit-bras';
const USER = 'bras-user';
const PASS = 'bras-Secret-7';
const GUEST_MAC = '52:54:00:50:0e:07';
const LOCAL = '100.64.20.1';
const POOL = '100.64.20.0/24';
const CYCLES = [
  { mode: 'kernel', auth: 'pap', method: 'pap', padt: 'ac' },
  { mode: 'user', auth: 'chap', method: 'chap-md5', padt: 'client' },
] as const;
const GUEST_TIMEOUT_SEC = 300;

let work = '';
let seg: Segment | undefined;
let daemon: ManagedProcess | undefined;
let capture: Capture | undefined;
let guest: GuestHandle | undefined;
let failed = true;

before(async () => {
  requireRoot();
  await ensureDebianPackages(['tshark', 'iproute2', 'iputils-ping']);
}, { timeout: 1_800_000 });

before(async () => {
  await ensureImage({ onLine: (l) => process.stderr.write(`image: ${l}\n`) });
}, { timeout: 2_400_000 });

after(async () => {
  guest?.kill();
  if (guest) await guest.done;
  await capture?.stop().catch(() => undefined);
  await daemon?.stop(3000);
  if (seg) {
    const names = [...seg.peers, seg.netns];
    seg.destroy();
    names.forEach(untrackNamespace);
  }
  if (work !== '') {
    if (failed) process.stderr.write(`pppoe-bras-vm: artefacts kept in ${work}\n`);
    else removeWorkDir(work);
  }
});

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One session of `show sessions --json`, the fields checked here. */
interface Shown {
  readonly tunnel: number;
  readonly direction: string;
  readonly username: unknown;
  readonly address: unknown;
  readonly pppoe: Record<string, unknown> | undefined;
}

function sessionsOf(v: unknown): Shown[] {
  if (!Array.isArray(v)) throw new Error(`sessions JSON is not an array: ${JSON.stringify(v)}`);
  return v.map((s: unknown) => {
    if (!isObj(s)) throw new Error('session is not an object');
    const p = s['pppoe'];
    return { tunnel: Number(s['localTunnelId']), direction: String(s['direction']), username: s['username'], address: s['address'], pppoe: isObj(p) ? p : undefined };
  });
}

/** `plain`: the AC terminates every session; `select`: `[tunnel_select]` maps the realm `local.example` to local termination (the LAC hands the session to the access server). */
type Variant = 'plain' | 'select';
const SELECT_REALM = 'local.example';

function configText(work: string, socket: string, users: string, variant: Variant): string {
  const select = variant === 'select'
    ? ['tunnel_select = true', '', '[tunnel_select]', 'local_address = "127.0.0.1"', 'default = "reject"', '', '[[tunnel_select.domain]]', `realm = "${SELECT_REALM}"`, 'target = "local"', '',
      '[[tunnel_select.profile]]', 'name = "unused"', '', '[[tunnel_select.destination]]', 'profile = "unused"', 'address = "192.0.2.99"', '']
    : [''];
  return [
    '[daemon]', `control_socket = ${JSON.stringify(socket)}`, 'log_level = "debug"', `state_dir = ${JSON.stringify(join(work, 'state'))}`, '',
    // PPP termination runs on a listener; no LAC reaches this loopback one.
    '[[listen]]', 'address = "127.0.0.1"', '',
    '[ipsec]', 'enabled = false', '',
    '[[pppoe]]', 'interface = "eth0"', `ac_name = "${AC_NAME}"`, 'service_names = ["isp-a", "isp-b"]', ...select,
    '[ppp]', 'auth = ["pap", "chap"]', 'mru = 1492', 'echo_interval = 10', 'dns = []', '',
    '[pool]', `ipv4 = "${POOL}"`, `local_address = "${LOCAL}"`, '',
    '[users]', `file = ${JSON.stringify(users)}`, '',
    '[tun]', 'name = "bras0"', '',
  ].join('\n');
}

test('pppd (rp-pppoe plugin and userspace client) in the guest -> our l2tpd terminating PPPoE locally: pool address, ping both ways, PADT, address free again, clean capture', { timeout: 420_000 }, async (t) => {
  await brasRun(t, 'plain');
});

test(`pppd dialling user@${SELECT_REALM} -> our LAC ([tunnel_select] domain map: local) hands the session to the access server: pool address, ping both ways, PADT, address free again, clean capture`, { timeout: 420_000 }, async (t) => {
  await brasRun(t, 'select');
});

/** One boot of the guest against our daemon in `variant`. */
async function brasRun(t: TestContext, variant: Variant): Promise<void> {
  failed = true;
  const user = variant === 'select' ? `${USER}@${SELECT_REALM}` : USER;
  work = makeWorkDir('pppoe-bras-vm');
  seg = createSegment({ name: `cebras-ce${randomBytes(2).toString('hex')}` });
  trackNamespace(seg.netns);
  const brasNs = seg.addPeer('b', '198.18.0.1/24');
  trackNamespace(brasNs);

  const { root, l2tpd, l2tpctl } = daemonPaths();
  assert.ok(existsSync(join(root, 'dist', 'src', 'daemon', 'l2tpd-main.js')), 'dist/ is missing: run npm run build first');
  const socket = join(work, 'l2tpd.sock');
  const users = join(work, 'users');
  const config = join(work, 'l2tpd.toml');
  writeFileSync(users, `${user} ${PASS}\n`, { mode: 0o600 });
  writeFileSync(config, configText(work, socket, users, variant));
  daemon = spawnIn(brasNs, process.execPath, [l2tpd, '--config', config, '--socket', socket, '--debug'], { name: `l2tpd@${brasNs}`, lifetimeMs: 400_000, logFile: join(work, 'l2tpd.log'), cwd: root });
  const d = daemon;
  const dlog = (n = 60): string => tail(d.output(), n);
  const ctl = async (...a: string[]): Promise<unknown> => JSON.parse((await run(process.execPath, [l2tpctl, '--socket', socket, ...a, '--json'], { timeoutMs: 15_000 })).stdout) as unknown;
  await waitUntil('l2tpd control socket', async () => {
    if (!d.running()) throw new Error(`l2tpd exited at start:\n${dlog()}`);
    return existsSync(socket) ? await ctl('show', 'status').then(() => true, () => undefined) : undefined;
  }, 20_000, () => dlog());
  const logs = (): ReturnType<typeof parseLogLines> => parseLogLines(d.output());
  assert.ok(logs().some((l) => /PPPoE access concentrator "l2tpkit-bras" on eth0/.test(l.msg)), `the AC is announced\n${dlog()}`);
  assert.ok(existsSync(join(work, 'state', 'pppoe-cookie.key')), 'the AC-Cookie key was generated into the state directory');
  capture = await startCapture(seg.netns, 'br0', join(work, 'bridge.pcap'), { filter: 'pppoed or pppoes', maxSeconds: 380 });

  const outDir = join(work, 'guest');
  mkdirSync(outDir, { recursive: true });
  guest = startGuest({
    test: 'pppoe-ac-client',
    env: { AC: AC_NAME, USER: user, PASS, CYCLES: CYCLES.map((c) => `${c.mode}:${c.auth}:1492`).join(','), POOL, SYNC_TMO: '60', UP_TMO: '45' },
    network: { netns: seg.netns, ip: '198.18.0.10/24', mac: GUEST_MAC },
    timeoutSec: GUEST_TIMEOUT_SEC,
    outDir,
  });
  const g = guest;
  const problems: string[] = [];
  const addresses: string[] = [];

  for (const [i, c] of CYCLES.entries()) {
    const n = i + 1;
    const up = await g.waitForLine(new RegExp(`^SYNC: up ${n} `), n === 1 ? 200 : 90);
    if (up === undefined) {
      problems.push(`cycle ${n} (${c.mode}/${c.auth}): the guest's PPP never came up`);
      break;
    }
    const addr = up.trim().split(/\s+/)[4] ?? '';
    addresses.push(addr);
    try {
      const ss = sessionsOf(await ctl('show', 'sessions'));
      assert.equal(ss.length, 1, `one session while cycle ${n} is up: ${JSON.stringify(ss)}`);
      const s = ss[0];
      assert.equal(s?.tunnel, 0, 'a PPPoE session is on tunnel 0');
      assert.equal(s?.direction, 'pppoe');
      assert.equal(s?.username, user);
      assert.equal(s?.address, addr, "the session's address is the guest's");
      assert.equal(s?.pppoe?.['interface'], 'eth0');
      assert.equal(s?.pppoe?.['mac'], GUEST_MAC);
      assert.equal(s?.pppoe?.['serviceName'], 'isp-a');
      const st = await ctl('show', 'status');
      assert.equal(isObj(st) && isObj(st['pool']) ? st['pool']['inUse'] : undefined, 1, 'one address in use while up');
      const login = logs().find((l) => / logged in, address /.test(l.msg) && l.raw['address'] === addr);
      assert.ok(login, `"logged in" for ${addr}\n${dlog()}`);
      assert.equal(login.raw['auth'], c.method);
      // Host -> guest through the TUN and the PPPoE session.
      const ping = await run('ip', ['netns', 'exec', brasNs, 'ping', '-c', '3', '-W', '2', addr], { timeoutMs: 20_000 }).catch((e: unknown) => ({ stdout: String(e) }));
      assert.match(ping.stdout, / 3 received/, `ping from the daemon's namespace to ${addr}: ${ping.stdout}`);
    } catch (e) {
      problems.push(`cycle ${n} up: ${(e as Error).message}`);
    }
    writeFileSync(join(outDir, `SYNC-up-${n}`), '');
    const down = await g.waitForLine(new RegExp(`^SYNC: down ${n} `), 90);
    if (down === undefined) {
      problems.push(`cycle ${n}: no SYNC down line`);
      break;
    }
    if (!down.trim().endsWith(`padt=${c.padt}`)) problems.push(`cycle ${n}: ${down.trim()} (want padt=${c.padt})`);
    try {
      await waitUntil(`no session after cycle ${n}`, async () => (sessionsOf(await ctl('show', 'sessions')).length === 0 ? true : undefined), 10_000, () => dlog());
      const st = await ctl('show', 'status');
      const pool = isObj(st) && isObj(st['pool']) ? st['pool'] : undefined;
      assert.equal(pool?.['inUse'], 0, `no address in use after cycle ${n}: ${JSON.stringify(pool)}`);
      const logout = logs().find((l) => / (logged out|disconnected) /.test(l.msg) && l.raw['address'] === addr);
      assert.ok(logout, `logout for ${addr}\n${dlog()}`);
    } catch (e) {
      problems.push(`cycle ${n} down: ${(e as Error).message}`);
    }
    writeFileSync(join(outDir, `SYNC-down-${n}`), '');
  }
  if (addresses.length !== CYCLES.length || addresses.some((a) => !a.startsWith('100.64.20.') || a === LOCAL)) problems.push(`addresses ${addresses.join(', ')}: not from the pool ${POOL}`);

  const res: GuestRun = await g.done;
  guest = undefined;
  t.diagnostic(`guest: boot ${String(res.bootSec)} s, wall ${res.wallSec.toFixed(1)} s; ${res.results.at(-1)?.detail ?? 'no RESULT'}`);
  const guestTail = `--- guest log (tail):\n${tail(res.log, 80)}\n--- l2tpd (tail):\n${dlog(80)}`;
  assert.deepEqual(problems, [], `BRAS-side checks failed:\n${problems.join('\n')}\n${guestTail}`);
  assert.equal(res.status, 'PASS', `guest: ${res.results.at(-1)?.detail ?? ''}\n${guestTail}`);
  assert.ok(d.running(), `l2tpd still running\n${dlog()}`);

  await capture.stop();
  const report = await analyzeCapture(capture.file);
  capture = undefined;
  t.diagnostic(describeReport(report).split('\n')[0] ?? '');
  assert.ok(report.packets > 0, 'capture is empty');
  assert.equal(report.malformed, 0, describeReport(report));
  assert.equal(report.errors, 0, describeReport(report));
  assert.equal(report.warnings, 0, describeReport(report));
  const count = async (filter: string): Promise<number> =>
    (await run('tshark', ['-n', '-r', report.file, '-Y', filter], { timeoutMs: 60_000 })).stdout.split('\n').filter((l) => l.trim() !== '').length;
  const seen: Record<string, number> = {};
  for (const [name, f] of [['PADI', 'pppoed && pppoe.code == 0x09'], ['PADO', 'pppoed && pppoe.code == 0x07'], ['PADR', 'pppoed && pppoe.code == 0x19'], ['PADS', 'pppoed && pppoe.code == 0x65'], ['PADT', 'pppoed && pppoe.code == 0xa7'],
    ['LCP', 'pppoes && lcp'], ['PAP', 'pppoes && pap'], ['CHAP', 'pppoes && chap'], ['IPCP', 'pppoes && ipcp'], ['ICMP', 'pppoes && icmp']] as const) seen[name] = await count(f);
  t.diagnostic(`capture: ${JSON.stringify(seen)}`);
  for (const [k, v] of Object.entries(seen)) assert.ok(v > 0, `no ${k} in the capture`);
  if (variant === 'select') assert.ok(logs().some((l) => l.msg.startsWith(`LAC: ${user} terminated locally`)), `the LAC handed ${user} over to local termination\n${dlog()}`);
  await d.stop(5000);
  daemon = undefined;
  finish();
  failed = false;
}

/** Stop and remove what one run made (the next run starts clean). */
function finish(): void {
  if (seg) {
    const names = [...seg.peers, seg.netns];
    seg.destroy();
    names.forEach(untrackNamespace);
    seg = undefined;
  }
  removeWorkDir(work);
  work = '';
}
