/**
 * Real-peer test (b) of LAC switching: pppd with the userspace rp-pppoe client in the Debian guest
 * dials PPPoE as `lab@isp-a.example` to our l2tpd PROCESS (`[[pppoe]] lac = "isp-a"`), which does LCP
 * and CHAP with the subscriber, places the call on its tunnel to l2tpns (Debian) with the proxy LCP
 * and proxy authentication AVPs, and relays PPP; l2tpns checks the user against FreeRADIUS and
 * terminates PPP: the address comes from l2tpns' pool, the guest pings l2tpns' tun address through
 * both hops. Hang-up: a PADT on the segment and a CDN on the tunnel (from us with the PPP Disconnect
 * Cause AVP 46 when the client's PADT came first, else from l2tpns followed by our PADT).
 * The bridge capture (PPPoE, L2TP with the PPP inside, RADIUS; `pppoes` last in the filter: tcpdump
 * applies what follows it to the PPPoE payload) decodes with 0 malformed frames and
 * 0 error expert items; the ICCN carries AVPs 26-33.
 *
 *   guest --tap-- [br0 in SEG] --veth-- SEG-lac: eth0 198.18.0.1  our l2tpd (AC on eth0 + LAC)
 *                              --veth-- SEG-lns: eth0 198.18.0.2  l2tpns (tun0 198.51.100.1, pool 100.64.1.0/24)
 *                              --veth-- SEG-rad: eth0 198.18.0.3  FreeRADIUS
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  analyzeCapture, daemonPaths, describeReport, ensureDebianPackages, makeWorkDir, parseLogLines, removeWorkDir, requireRoot, run, spawnIn, startCapture,
  tail, trackNamespace, untrackNamespace, waitUntil, type Capture, type ManagedProcess,
} from './lib/index.js';
import { startFreeRadius, type FreeRadius } from './lib/freeradius.js';
import { startL2tpns, type L2tpns } from './lib/l2tpns.js';
import { ensureImage, startGuest, type GuestHandle, type GuestRun } from './vm/guest.js';
import { createSegment, type Segment } from './vm/segment.js';

const AC_NAME = 'l2tpkit-lac';
const USER = 'lab@isp-a.example';
const PASS = 'lab-Secret-9';
const GUEST_MAC = '52:54:00:50:0e:08';
const LAC_IP = '198.18.0.1';
const LNS_IP = '198.18.0.2';
const RAD_IP = '198.18.0.3';
const RADIUS_SECRET = 'interop-radius-s3cret';
const TUN_ADDRESS = '198.51.100.1';
const POOL = '100.64.1.0/24';

let work = '';
let seg: Segment | undefined;
let daemon: ManagedProcess | undefined;
let lns: L2tpns | undefined;
let radius: FreeRadius | undefined;
let capture: Capture | undefined;
let guest: GuestHandle | undefined;
let failed = true;

before(async () => {
  requireRoot();
  await ensureDebianPackages(['l2tpns', 'freeradius', 'tshark', 'iproute2', 'util-linux']);
}, { timeout: 1_800_000 });

before(async () => {
  await ensureImage({ onLine: (l) => process.stderr.write(`image: ${l}\n`) });
}, { timeout: 2_400_000 });

after(async () => {
  guest?.kill();
  if (guest) await guest.done;
  await capture?.stop().catch(() => undefined);
  await daemon?.stop(3000);
  await lns?.stop();
  await radius?.stop();
  if (seg) {
    const names = [...seg.peers, seg.netns];
    seg.destroy();
    names.forEach(untrackNamespace);
  }
  if (work !== '') {
    if (failed) process.stderr.write(`pppoe-lac-l2tpns-vm: artefacts kept in ${work}\n`);
    else removeWorkDir(work);
  }
});

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

test('pppd (rp-pppoe) in the guest -> our LAC switch -> l2tpns + FreeRADIUS: proxy LCP/auth, address from l2tpns, ping through both hops, PADT and CDN at hang-up, clean capture', { timeout: 420_000 }, async (t) => {
  work = makeWorkDir('pppoe-lac-l2tpns-vm');
  seg = createSegment({ name: `celac-ce${randomBytes(2).toString('hex')}` });
  trackNamespace(seg.netns);
  const lacNs = seg.addPeer('lac', `${LAC_IP}/24`);
  const lnsNs = seg.addPeer('lns', `${LNS_IP}/24`);
  const radNs = seg.addPeer('rad', `${RAD_IP}/24`);
  for (const ns of [lacNs, lnsNs, radNs]) trackNamespace(ns);
  capture = await startCapture(seg.netns, 'br0', join(work, 'bridge.pcap'), { filter: 'udp port 1701 or udp port 1812 or pppoed or pppoes', maxSeconds: 380 });
  radius = await startFreeRadius({ ns: radNs, dir: join(work, 'freeradius'), clients: [{ address: LNS_IP, secret: RADIUS_SECRET }], users: [{ name: USER, password: PASS }] });
  lns = await startL2tpns({ ns: lnsNs, dir: join(work, 'l2tpns'), bindAddress: LNS_IP, radius: { address: RAD_IP, secret: RADIUS_SECRET }, tunAddress: TUN_ADDRESS, pool: [POOL] });

  const { root, l2tpd, l2tpctl } = daemonPaths();
  assert.ok(existsSync(join(root, 'dist', 'src', 'daemon', 'l2tpd-main.js')), 'dist/ is missing: run npm run build first');
  const socket = join(work, 'l2tpd.sock');
  const config = join(work, 'l2tpd.toml');
  writeFileSync(config, [
    'listen = []', '',
    '[daemon]', `control_socket = ${JSON.stringify(socket)}`, 'log_level = "debug"', `state_dir = ${JSON.stringify(join(work, 'state'))}`, '',
    '[l2tp]', 'host_name = "l2tpkit-lac"', '',
    '[[lac]]', 'name = "isp-a"', `lns = "${LNS_IP}"`, `local_address = "${LAC_IP}"`, 'sessions = 0', '',
    '[[pppoe]]', 'interface = "eth0"', `ac_name = "${AC_NAME}"`, 'service_names = ["isp-a"]', 'lac = "isp-a"', '',
  ].join('\n'));
  daemon = spawnIn(lacNs, process.execPath, [l2tpd, '--config', config, '--socket', socket, '--debug'], { name: `l2tpd@${lacNs}`, lifetimeMs: 400_000, logFile: join(work, 'l2tpd.log'), cwd: root });
  const d = daemon;
  const dlog = (n = 60): string => tail(d.output(), n);
  const ctl = async (...a: string[]): Promise<unknown> => JSON.parse((await run(process.execPath, [l2tpctl, '--socket', socket, ...a, '--json'], { timeoutMs: 15_000 })).stdout) as unknown;
  const tunnels = async (): Promise<Record<string, unknown>[]> => {
    const v = await ctl('show', 'tunnels');
    return Array.isArray(v) ? v.filter(isObj) : [];
  };
  await waitUntil('our tunnel to l2tpns established', async () => {
    if (!d.running()) throw new Error(`l2tpd exited:\n${dlog()}`);
    if (!existsSync(socket)) return undefined;
    const ts = await tunnels().catch(() => []);
    return ts.some((x) => x['state'] === 'established') ? true : undefined;
  }, 30_000, () => `${dlog()}\n-- l2tpns:\n${lns?.logTail(30) ?? ''}`);

  const outDir = join(work, 'guest');
  mkdirSync(outDir, { recursive: true });
  guest = startGuest({
    test: 'pppoe-ac-client',
    env: { AC: AC_NAME, USER, PASS, CYCLES: 'user:chap:1492', POOL, SYNC_TMO: '60', UP_TMO: '60' },
    network: { netns: seg.netns, ip: '198.18.0.10/24', mac: GUEST_MAC },
    timeoutSec: 300,
    outDir,
  });
  const g = guest;
  const problems: string[] = [];
  const logs = (): ReturnType<typeof parseLogLines> => parseLogLines(d.output());
  let padt = '';
  const up = await g.waitForLine(/^SYNC: up 1 /, 220);
  if (up === undefined) problems.push('the guest never came up');
  else {
    const addr = up.trim().split(/\s+/)[4] ?? '';
    try {
      assert.ok(addr.startsWith('100.64.1.'), `address ${addr} from l2tpns' pool ${POOL}`);
      assert.ok(logs().some((l) => / switched into tunnel /.test(l.msg) && l.raw['user'] === USER), `"switched" in our log\n${dlog()}`);
      const ts = await tunnels();
      const sessions = ts.flatMap((x) => (Array.isArray(x['sessions']) ? x['sessions'].filter(isObj) : []));
      assert.equal(sessions.filter((s) => s['state'] === 'established').length, 1, `one switched session: ${JSON.stringify(ts)}`);
    } catch (e) {
      problems.push(`up: ${(e as Error).message}`);
    }
    writeFileSync(join(outDir, 'SYNC-up-1'), '');
    const down = await g.waitForLine(/^SYNC: down 1 /, 90);
    if (down === undefined) problems.push('no SYNC down line');
    else padt = down.trim().split('padt=')[1] ?? '';
    if (padt !== 'client' && padt !== 'ac') problems.push(`no PADT at hang-up (${down ?? ''})`);
    try {
      await waitUntil('the switched session gone', async () => ((await tunnels()).every((x) => !Array.isArray(x['sessions']) || x['sessions'].length === 0) ? true : undefined), 15_000, () => dlog());
      assert.ok(logs().some((l) => /: call of .* ended by /.test(l.msg)), `"ended" in our log\n${dlog()}`);
    } catch (e) {
      problems.push(`down: ${(e as Error).message}`);
    }
    writeFileSync(join(outDir, 'SYNC-down-1'), '');
  }
  const res: GuestRun = await g.done;
  guest = undefined;
  const detail = res.results.at(-1)?.detail ?? 'no RESULT';
  t.diagnostic(`guest: boot ${String(res.bootSec)} s, wall ${res.wallSec.toFixed(1)} s; ${detail}`);
  const more = `--- guest (tail):\n${tail(res.log, 60)}\n--- l2tpd (tail):\n${dlog(60)}\n--- l2tpns:\n${lns.logTail(40)}\n--- FreeRADIUS:\n${radius.logTail(20)}`;
  assert.deepEqual(problems, [], `${problems.join('\n')}\n${more}`);
  assert.equal(res.status, 'PASS', `guest: ${detail}\n${more}`);

  await capture.stop();
  const report = await analyzeCapture(capture.file);
  capture = undefined;
  t.diagnostic(describeReport(report).split('\n')[0] ?? '');
  assert.equal(report.malformed, 0, describeReport(report));
  assert.equal(report.errors, 0, describeReport(report));
  const count = async (filter: string): Promise<number> =>
    (await run('tshark', ['-n', '-r', report.file, '-Y', filter], { timeoutMs: 60_000 })).stdout.split('\n').filter((l) => l.trim() !== '').length;
  const seen: Record<string, number> = {};
  for (const [name, f] of [
    ['PADT', 'pppoed && pppoe.code == 0xa7'],
    ['ICCN with proxy LCP (27/28) and proxy auth (29-33)', `ip.src == ${LAC_IP} && l2tp.avp.message_type == 12 && l2tp.avp.type == 28 && l2tp.avp.type == 33`],
    ['CDN', 'l2tp.avp.message_type == 14'],
    [`CDN with AVP 46 from us`, `ip.src == ${LAC_IP} && l2tp.avp.message_type == 14 && l2tp.avp.type == 46`],
    ['ICMP in L2TP', 'l2tp && icmp'],
    ['ICMP in PPPoE', 'pppoes && icmp'],
  ] as const) seen[name] = await count(f);
  t.diagnostic(`capture: ${JSON.stringify(seen)} (padt=${padt})`);
  for (const [k, v] of Object.entries(seen)) {
    if (k.startsWith('CDN with AVP 46') && padt !== 'client') continue;
    assert.ok(v > 0, `no ${k} in the capture`);
  }
  failed = false;
});
