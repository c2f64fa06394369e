/**
 * The status page in a real browser with a real client: headless Chromium (Debian `chromium`,
 * driven by playwright-core) opens our daemon's status page while a Linux L2TP/IPsec client —
 * strongSwan + xl2tpd + pppd in the qemu/TCG guest (guest/l2tp-ipsec-client.sh with SYNC=yes) —
 * holds a session up.
 *
 * Checks: without a token and with a wrong one the page is refused (401, no script served); with
 * the URL `l2tpctl status-page` prints it loads, trades the token for a cookie (the address bar
 * loses it), lists the guest's session (user, IPCP address, uptime, counters), its tunnel and
 * its ESP SA, and while pings flow from the LNS to the guest the chart gets points and shows a
 * non-zero rate. The screenshot is saved to docs/status-page.png (and into the work directory).
 *
 * Topology (netns only, 198.18.0.0/24 and the 100.64.0.0/24 pool):
 *   guest 198.18.0.10 --tap-- [br0 in SEG] --veth-- SEG-lns: eth0 198.18.0.1, our l2tpd with
 *   [status] listen = "127.0.0.1:8089", TUN l2tp0 100.64.0.1/24; Chromium runs in SEG-lns too
 *   (through `ip netns exec`), so the page stays on that namespace's loopback.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import {
  daemonPaths, ensureDebianPackages, makeWorkDir, removeWorkDir, repoRoot, requireRoot, run, spawnIn, tail, trackNamespace, untrackNamespace,
  waitUntil, type ManagedProcess,
} from './lib/index.js';
import { ensureImage, startGuest, type GuestHandle } from './vm/guest.js';
import { createSegment, type Segment } from './vm/segment.js';
import { GUEST_IP, LNS_IP, LNS_PPP, PASS, POOL, USER } from './vm/plan.js';

const PSK = 'l2kit-status-psk-4711';
const STATUS_PORT = 8089;
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The few DOM members the page-side functions use (this project compiles without the DOM library). */
interface PageElement {
  readonly textContent: string | null;
  readonly dataset: Readonly<Record<string, string | undefined>>;
  querySelectorAll(selector: string): Iterable<PageElement>;
}
declare const document: { querySelectorAll(selector: string): Iterable<PageElement>; getElementById(id: string): PageElement | null };

let work = '';
let seg: Segment | undefined;
let daemon: ManagedProcess | undefined;
let guest: GuestHandle | undefined;
let browser: Browser | undefined;
let pinger: ManagedProcess | undefined;
let failed = true;

before(async () => {
  requireRoot();
  await ensureDebianPackages(['iproute2', 'iputils-ping', 'chromium']);
}, { timeout: 1_800_000 });

before(async () => {
  await ensureImage({ onLine: (l) => process.stderr.write(`image: ${l}\n`) });
}, { timeout: 2_400_000 });

after(async () => {
  await browser?.close().catch(() => undefined);
  await pinger?.stop(1000);
  guest?.kill();
  if (guest) await guest.done;
  await daemon?.stop(3000);
  if (seg) {
    const names = [...seg.peers, seg.netns];
    seg.destroy();
    names.forEach(untrackNamespace);
  }
  if (work !== '') {
    if (failed) process.stderr.write(`status-page-vm: artefacts kept in ${work}\n`);
    else removeWorkDir(work);
  }
});

test('status page in headless Chromium: token refused/accepted, a live L2TP/IPsec session from the guest, the chart gets points; screenshot', { timeout: 480_000 }, async () => {
  work = makeWorkDir('status-page-vm');
  seg = createSegment();
  trackNamespace(seg.netns);
  const lnsNs = seg.addPeer('lns', `${LNS_IP}/24`);
  trackNamespace(lnsNs);

  // ---- our daemon with [status] on the namespace's loopback
  const { root, l2tpd, l2tpctl } = daemonPaths();
  assert.ok(existsSync(join(root, 'dist', 'src', 'daemon', 'l2tpd-main.js')), 'dist/ is missing: run npm run build first');
  const socket = join(work, 'l2tpd.sock');
  const usersFile = join(work, 'users');
  const configFile = join(work, 'l2tpd.toml');
  writeFileSync(usersFile, `${USER} ${PASS}\n`, { mode: 0o600 });
  writeFileSync(configFile, [
    '[daemon]', `control_socket = ${JSON.stringify(socket)}`, `state_dir = ${JSON.stringify(join(work, 'state'))}`, '',
    '[[listen]]', `address = "${LNS_IP}"`, 'port = 1701', '',
    '[ipsec]', `psk = "${PSK}"`, `local_address = "${LNS_IP}"`, '',
    '[ppp]', 'auth = ["mschapv2"]', 'echo_interval = 10', 'dns = ["203.0.113.53"]', '',
    '[pool]', `ipv4 = "${POOL}"`, `local_address = "${LNS_PPP}"`, '',
    '[users]', `file = ${JSON.stringify(usersFile)}`, '',
    '[status]', `listen = "127.0.0.1:${STATUS_PORT}"`, '',
  ].join('\n'));
  daemon = spawnIn(lnsNs, process.execPath, [l2tpd, '--config', configFile, '--socket', socket], { name: `l2tpd@${lnsNs}`, lifetimeMs: 490_000, logFile: join(work, 'l2tpd.log'), cwd: root });
  const d = daemon;
  const dlog = (): string => tail(d.output(), 40);
  await waitUntil('l2tpd control socket', async () => {
    if (!d.running()) throw new Error(`l2tpd exited at start:\n${dlog()}`);
    if (!existsSync(socket)) return undefined;
    return run(process.execPath, [l2tpctl, '--socket', socket, 'show', 'status'], { timeoutMs: 10_000 }).then(() => true, () => undefined);
  }, 20_000, dlog);
  const urlLine = (await run(process.execPath, [l2tpctl, '--socket', socket, 'status-page'], { timeoutMs: 10_000 })).stdout.trim();
  const m = /^(http:\/\/127\.0\.0\.1:\d+)\/\?token=([A-Za-z0-9_-]+)$/.exec(urlLine);
  assert.ok(m !== null, `l2tpctl status-page: ${urlLine}`);
  const [, base = '', token = ''] = m;

  // ---- Chromium inside the LNS namespace (a wrapper the launcher runs instead of the binary)
  const wrapper = join(work, 'chromium-in-netns.sh');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${lnsNs} ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  browser = await chromium.launch({ executablePath: wrapper, args: CHROMIUM_ARGS, timeout: 60_000 });
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
  const page = await ctx.newPage();

  // ---- no token, wrong token
  const none = await page.goto(`${base}/`);
  assert.equal(none?.status(), 401, 'no token: 401');
  assert.ok(!(await page.content()).includes('app.js'), 'no page without the token');
  const wrong = await page.goto(`${base}/?token=not-the-token-0123456789`);
  assert.equal(wrong?.status(), 401, 'wrong token: 401');
  assert.equal((await ctx.cookies()).length, 0, 'no cookie for a wrong token');

  // ---- the guest connects and holds its session (SYNC)
  const outDir = join(work, 'guest');
  mkdirSync(outDir, { recursive: true });
  guest = startGuest({
    test: 'l2tp-ipsec-client',
    env: { SERVER: LNS_IP, PSK, USER, PASS, AUTH: 'mschapv2', POOL, DNS: 'any', PINGS: '3', UP_TMO: '60', IKE: 'aes256-sha1-modp2048', ESP: 'aes128-sha1', SYNC: 'yes', SYNC_TMO: '200' },
    network: { netns: seg.netns, ip: `${GUEST_IP}/24` },
    timeoutSec: 420,
    outDir,
  });
  const up = await guest.waitForLine(/^SYNC: (up|down) 1 /, 240);
  assert.ok(up?.startsWith('SYNC: up') === true, `the guest's session never came up:\n${dlog()}`);
  const clientAddr = up.trim().split(/\s+/)[4] ?? '';
  assert.match(clientAddr, /^100\.64\.0\.\d+$/, up);

  try {
    // ---- the page with the token: cookie, token gone from the URL, live rows
    const ok = await page.goto(`${base}/?token=${encodeURIComponent(token)}`);
    assert.equal(ok?.status(), 200);
    assert.equal(new URL(page.url()).search, '', 'the token leaves the address bar');
    const cookies = await ctx.cookies();
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0]?.httpOnly, true);
    assert.notEqual(cookies[0]?.value, token, 'the cookie is not the token');
    // Traffic the chart can show: 1000-byte pings LNS -> guest, 5 a second.
    pinger = spawnIn(lnsNs, 'ping', ['-c', '400', '-i', '0.2', '-s', '1000', '-W', '1', clientAddr], { name: 'ping', lifetimeMs: 100_000, logFile: join(work, 'ping.log') });
    // Functions, not strings: the page's CSP (script-src 'self') forbids eval, which string predicates need.
    const cells = (sel: string): Promise<string[][]> =>
      page.evaluate((q) => [...document.querySelectorAll(`${q} tbody tr`)].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')), sel);
    await page.waitForFunction((u) => [...document.querySelectorAll('#sessions tbody tr')].some((tr) => (tr.textContent ?? '').includes(u)), USER, { timeout: 20_000 });
    const row = await cells('#sessions');
    const mine = row.find((r) => r[1] === USER);
    assert.ok(mine !== undefined, JSON.stringify(row));
    assert.equal(mine[2], clientAddr, 'the session row shows the guest\'s IPCP address');
    assert.match(mine[3] ?? '', /^(network|opened|established)/, `PPP phase: ${mine[3] ?? ''}`);
    assert.match(mine[4] ?? '', /^\d+[smh]/, 'uptime');
    await page.waitForFunction(() => Number(document.getElementById('chart')?.dataset['points'] ?? '0') >= 40, undefined, { timeout: 80_000, polling: 500 });
    await page.waitForFunction(() => /in [1-9][0-9.]* [kM]?b\/s/.test(document.getElementById('rates')?.textContent ?? ''), undefined, { timeout: 20_000, polling: 500 });
    const esp = (await cells('#esp')).flat();
    assert.ok(esp.some((t) => t.startsWith(GUEST_IP)), `ESP SA row for the guest: ${esp.join(' | ')}`);
    const tunnels = (await cells('#tunnels')).flat();
    assert.ok(tunnels.some((t) => t.startsWith(`${GUEST_IP}:`)), `tunnel row for the guest: ${tunnels.join(' | ')}`);
    const summary = await page.textContent('#summary');
    assert.match(summary ?? '', /1 tunnel\(s\), 1 session\(s\), 1 ESP SA\(s\)/);
    const shot = join(work, 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    copyFileSync(shot, join(repoRoot(), 'docs', 'status-page.png'));
    process.stderr.write(`status-page-vm: screenshot ${shot} -> docs/status-page.png; session ${USER} ${clientAddr}; ${summary ?? ''}\n`);
  } finally {
    writeFileSync(join(outDir, 'SYNC-up-1'), '');
  }
  const down = await guest.waitForLine(/^SYNC: down 1 /, 120);
  if (down !== undefined) writeFileSync(join(outDir, 'SYNC-down-1'), '');
  const res = await guest.done;
  assert.equal(res.status, 'PASS', `guest: ${res.results.map((r) => `${r.status} ${r.name} ${r.detail}`).join('; ') || 'no RESULT line'}\n${tail(res.log, 40)}`);
  failed = false;
});
