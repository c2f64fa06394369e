/**
 * Real-peer test (a) of the remote-access LNS: a Linux L2TP client — xl2tpd + pppd with the kernel
 * L2TP/PPP data path, in a qemu/TCG guest running the Debian kernel (test/interop/vm) — dials our
 * daemon three times in one boot: CHAP-MD5, then MS-CHAPv2, then PAP (pppd refuses the other
 * methods, so the last two are reached through an LCP Configure-Nak of our Auth-Protocol).
 *
 * Each cycle (guest/l2tp-client.sh with SYNC=yes, one hand-shake with this file while the session is
 * up and one after the disconnect):
 *  - guest side: IPCP address inside our pool, primary/secondary DNS exactly ours (usepeerdns), three
 *    pings to a "LAN host" namespace behind our TUN answered, clean disconnect (LCP Terminate, CDN,
 *    StopCCN acknowledged);
 *  - our side while up: `l2tpctl show sessions --json` lists exactly one session, with the user and
 *    the guest's address, and the log has "logged in" with the expected auth method;
 *  - our side after the disconnect: no session is left in `show status --json`, the log has
 *    "logged out" for that address. (The control API does not expose pool usage; "address free" is
 *    checked as: no session holds it any more and the logout was processed — the pool's lease is
 *    released on that same path, src/access/server.ts `teardown`.)
 * The bridge capture must decode in tshark with 0 malformed frames and 0 error or warning expert items, and the
 * PPP inside the L2TP data messages must decode too (LCP, CHAP, PAP, IPCP and ICMP frames present).
 *
 * Topology (netns only, addresses from 198.18.0.0/15, 203.0.113.0/24, 100.64.0.0/10):
 *
 *   guest 198.18.0.10 --tap-- [br0 in SEG] --veth-- SEG-lns: eth0 198.18.0.1   our l2tpd, TUN l2tp0
 *                                                            100.64.0.1/24, lan0 203.0.113.1/24,
 *                                                            ip_forward=1
 *                                                   SEG-lan: eth0 203.0.113.10, route 100.64.0.0/24
 *                                                            via 203.0.113.1   (the ping target)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  analyzeCapture, daemonPaths, describeReport, ensureDebianPackages, ip, ipIn, makeWorkDir, parseLogLines, removeWorkDir,
  requireRoot, run, sysctlIn, spawnIn, startCapture, tail, trackNamespace, untrackNamespace, waitUntil,
  type Capture, type ManagedProcess,
} from './lib/index.js';
import { ensureImage, startGuest, type GuestHandle, type GuestRun } from './vm/guest.js';
import { createSegment, type Segment } from './vm/segment.js';
import { DNS, GUEST_IP, LAN_GW, LAN_HOST, LNS_IP, LNS_PPP, PASS, POOL, USER } from './vm/plan.js';

/** Guest AUTH names in cycle order, and the method our daemon logs for each. */
const CYCLES = [
  { auth: 'chap', method: 'chap-md5' },
  { auth: 'mschapv2', method: 'mschapv2' },
  { auth: 'pap', method: 'pap' },
] as const;
/** Host bound of the guest (boot + 3 cycles); the whole test stays under 5 minutes. */
const GUEST_TIMEOUT_SEC = 250;

/** One session of `l2tpctl show sessions --json` (fields used here). */
interface Sess {
  readonly localTunnelId: number;
  readonly localSessionId: number;
  readonly state: string;
  readonly username: string | undefined;
  readonly address: string | undefined;
  readonly pppPhase: string | undefined;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optStr = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function parseSessions(v: unknown): Sess[] {
  if (!Array.isArray(v)) throw new Error(`sessions JSON is not an array: ${JSON.stringify(v)}`);
  return v.map((s: unknown): Sess => {
    if (!isObj(s)) throw new Error(`session is not an object: ${JSON.stringify(s)}`);
    return {
      localTunnelId: Number(s['localTunnelId']),
      localSessionId: Number(s['localSessionId']),
      state: String(s['state']),
      username: optStr(s['username']),
      address: optStr(s['address']),
      pppPhase: optStr(s['pppPhase']),
    };
  });
}

/** `show status --json` reduced to its tunnels and their sessions. */
function parseStatus(v: unknown): { tunnels: { id: number; state: string; sessions: Sess[] }[] } {
  if (!isObj(v) || !Array.isArray(v['tunnels'])) throw new Error(`status JSON without tunnels: ${JSON.stringify(v)}`);
  return {
    tunnels: v['tunnels'].map((t: unknown) => {
      if (!isObj(t)) throw new Error('tunnel is not an object');
      return { id: Number(t['localTunnelId']), state: String(t['state']), sessions: parseSessions(t['sessions'] ?? []) };
    }),
  };
}


let work = '';
let seg: Segment | undefined;
let lanNs: string | undefined;
let daemon: ManagedProcess | undefined;
let capture: Capture | undefined;
let guest: GuestHandle | undefined;
let failed = true;

before(async () => {
  requireRoot();
  await ensureDebianPackages(['tshark', 'iproute2']);
}, { timeout: 1_800_000 });

before(async () => {
  await ensureImage({ onLine: (l) => process.stderr.write(`image: ${l}\n`) });
}, { timeout: 2_400_000 });

after(async () => {
  guest?.kill();
  if (guest) await guest.done;
  await capture?.stop().catch(() => undefined);
  await daemon?.stop(3000);
  if (lanNs !== undefined) {
    spawnSync('ip', ['netns', 'del', lanNs], { stdio: 'ignore', timeout: 10_000 });
    untrackNamespace(lanNs);
  }
  if (seg) {
    const names = [...seg.peers, seg.netns];
    seg.destroy();
    names.forEach(untrackNamespace);
  }
  if (work !== '') {
    if (failed) process.stderr.write(`lns-vm: artefacts kept in ${work}\n`);
    else removeWorkDir(work);
  }
});

test('Linux xl2tpd + pppd (Debian kernel, qemu guest) against our LNS: CHAP-MD5, MS-CHAPv2, PAP; pool, DNS, ping, clean disconnect', { timeout: 300_000 }, async (t) => {
  const t0 = Date.now();
  work = makeWorkDir('lns-vm');

  // ---- topology
  seg = createSegment();
  trackNamespace(seg.netns);
  const lnsNs = seg.addPeer('lns', `${LNS_IP}/24`);
  trackNamespace(lnsNs);
  sysctlIn(lnsNs, 'net.ipv4.ip_forward=1');
  lanNs = `${seg.netns}-lan`;
  trackNamespace(lanNs);
  ip(['netns', 'add', lanNs]);
  sysctlIn(lanNs, 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
  ipIn(lanNs, ['link', 'set', 'lo', 'up']);
  ip(['link', 'add', 'lan0', 'netns', lnsNs, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', lanNs]);
  ipIn(lnsNs, ['addr', 'add', `${LAN_GW}/24`, 'dev', 'lan0']);
  ipIn(lnsNs, ['link', 'set', 'lan0', 'up']);
  ipIn(lanNs, ['addr', 'add', `${LAN_HOST}/24`, 'dev', 'eth0']);
  ipIn(lanNs, ['link', 'set', 'eth0', 'up']);
  ipIn(lanNs, ['route', 'add', POOL, 'via', LAN_GW]);

  // ---- our daemon, inside the LNS namespace (its TUN is created there)
  const { root, l2tpd, l2tpctl } = daemonPaths();
  assert.ok(existsSync(join(root, 'dist', 'src', 'daemon', 'l2tpd-main.js')), 'dist/ is missing: run npm run build first');
  const socket = join(work, 'l2tpd.sock');
  const usersFile = join(work, 'users');
  const configFile = join(work, 'l2tpd.toml');
  writeFileSync(usersFile, `# test user\n${USER} ${PASS}\nother other-pass\n`, { mode: 0o600 });
  writeFileSync(
    configFile,
    [
      '[daemon]', `control_socket = ${JSON.stringify(socket)}`, 'log_level = "debug"', `state_dir = ${JSON.stringify(join(work, 'state'))}`, '',
      '[l2tp]', 'host_name = "l2tpkit-lns"', '',
      '[[listen]]', `address = "${LNS_IP}"`, 'port = 1701', '',
      // This suite tests PPP over plain L2TP (the guest's xl2tpd + pppd): say so explicitly.
      '[ipsec]', 'enabled = false', '',
      '[ppp]', 'allow_insecure = true', 'auth = ["chap", "mschapv2", "pap"]', 'mru = 1400', 'echo_interval = 10',
      `dns = [${DNS.map((d) => `"${d}"`).join(', ')}]`, '',
      '[pool]', `ipv4 = "${POOL}"`, `local_address = "${LNS_PPP}"`, '',
      '[users]', `file = ${JSON.stringify(usersFile)}`, '',
      '[tun]', 'name = "l2tp0"', 'mtu = 1400', '',
    ].join('\n'),
  );
  daemon = spawnIn(lnsNs, process.execPath, [l2tpd, '--config', configFile, '--socket', socket, '--debug'], {
    name: `l2tpd@${lnsNs}`,
    lifetimeMs: 320_000,
    logFile: join(work, 'l2tpd.log'),
    cwd: root,
  });
  const d = daemon;
  const ctl = async (...a: string[]): Promise<unknown> =>
    JSON.parse((await run(process.execPath, [l2tpctl, '--socket', socket, ...a, '--json'], { timeoutMs: 15_000 })).stdout) as unknown;
  const dlog = (n = 60): string => tail(d.output(), n);
  await waitUntil('l2tpd control socket', async () => {
    if (!d.running()) throw new Error(`l2tpd exited at start:\n${dlog()}`);
    if (!existsSync(socket)) return undefined;
    return (await ctl('show', 'status').then(() => true, () => undefined));
  }, 20_000, () => dlog());
  const tunAddr = spawnSync('ip', ['-n', lnsNs, '-4', '-o', 'addr', 'show', 'dev', 'l2tp0'], { encoding: 'utf8' }).stdout;
  assert.match(tunAddr, /inet 100\.64\.0\.1\/24/, `TUN l2tp0 in ${lnsNs} should carry ${LNS_PPP}/24:\n${tunAddr}`);

  // ---- capture everything L2TP on the segment
  capture = await startCapture(seg.netns, 'br0', join(work, 'bridge.pcap'), { filter: 'udp port 1701', maxSeconds: 290 });

  // ---- the guest: one boot, three cycles, hand-shakes through its output directory
  const outDir = join(work, 'guest');
  mkdirSync(outDir, { recursive: true });
  const tGuest = Date.now();
  guest = startGuest({
    test: 'l2tp-client',
    env: {
      SERVER: LNS_IP, USER, PASS, AUTH: CYCLES.map((c) => c.auth).join(','), POOL, DNS: DNS.join(','),
      TARGET: LAN_HOST, SYNC: 'yes', SYNC_TMO: '60', L2TP_HOSTNAME: 'l2kit-vm', UP_TMO: '40',
    },
    network: { netns: seg.netns, ip: `${GUEST_IP}/24` },
    timeoutSec: GUEST_TIMEOUT_SEC,
    outDir,
  });
  const g = guest;
  const problems: string[] = [];
  const logs = (): ReturnType<typeof parseLogLines> => parseLogLines(d.output());
  const timings: string[] = [];

  for (const [i, c] of CYCLES.entries()) {
    const n = i + 1;
    const tc = Date.now();
    const up = await g.waitForLine(new RegExp(`^SYNC: (up|down) ${n} `), n === 1 ? 150 : 90);
    if (up === undefined) {
      problems.push(`cycle ${n} (${c.auth}): the guest never reached the session (no SYNC line)`);
      break;
    }
    if (up.startsWith('SYNC: up')) {
      const addr = up.trim().split(/\s+/)[4] ?? '';
      timings.push(`${c.auth} up after ${((Date.now() - tc) / 1000).toFixed(1)} s`);
      try {
        const sessions = parseSessions(await ctl('show', 'sessions'));
        assert.equal(sessions.length, 1, `exactly one session while ${c.auth} is up: ${JSON.stringify(sessions)}`);
        const s = sessions[0];
        assert.equal(s?.username, USER, `session user (${c.auth})`);
        assert.equal(s?.address, addr, `session address = the guest's IPCP address (${c.auth})`);
        const login = logs().find((l) => / logged in, address /.test(l.msg) && l.raw['address'] === addr && l.raw['user'] === USER);
        assert.ok(login, `"logged in" for ${addr} in the daemon log\n${dlog()}`);
        assert.equal(login.raw['auth'], c.method, `auth method of cycle ${n}`);
      } catch (e) {
        problems.push(`cycle ${n} (${c.auth}) up: ${(e as Error).message}`);
      }
      writeFileSync(join(outDir, `SYNC-up-${n}`), '');
      const down = await g.waitForLine(new RegExp(`^SYNC: down ${n} `), 90);
      if (down === undefined) {
        problems.push(`cycle ${n} (${c.auth}): no SYNC down line`);
        break;
      }
      try {
        // The guest saw its tunnel closed (StopCCN acked): no session may be left on our side.
        await waitUntil(`no sessions after cycle ${n}`, async () => {
          const st = parseStatus(await ctl('show', 'status'));
          return st.tunnels.every((tt) => tt.sessions.length === 0) ? true : undefined;
        }, 10_000, () => dlog());
        const sessions = parseSessions(await ctl('show', 'sessions'));
        assert.deepEqual(sessions, [], 'show sessions empty after the disconnect');
        const logout = logs().find((l) => / logged out /.test(l.msg) && l.raw['address'] === addr);
        assert.ok(logout, `"logged out" for ${addr} in the daemon log\n${dlog()}`);
      } catch (e) {
        problems.push(`cycle ${n} (${c.auth}) down: ${(e as Error).message}`);
      }
      timings.push(`${c.auth} cycle ${((Date.now() - tc) / 1000).toFixed(1)} s`);
    } else {
      problems.push(`cycle ${n} (${c.auth}): the session never came up in the guest`);
    }
    writeFileSync(join(outDir, `SYNC-down-${n}`), '');
  }

  const res: GuestRun = await g.done;
  guest = undefined;
  t.diagnostic(`guest: boot-to-script ${String(res.bootSec)} s, guest wall ${res.wallSec.toFixed(1)} s; ${timings.join(', ')}`);
  const detail = res.results.at(-1)?.detail ?? 'no RESULT line';
  const guestTail = `--- guest log (tail):\n${tail(res.log, 80)}\n--- l2tpd (tail):\n${dlog(80)}`;
  assert.deepEqual(problems, [], `LNS-side checks failed:\n${problems.join('\n')}\n${guestTail}`);
  assert.equal(res.status, 'PASS', `guest: ${detail}\n${guestTail}`);
  assert.equal(res.timedOut, false, 'guest timed out');
  assert.match(detail, /cycles=3\/3/, detail);

  // ---- after the last StopCCN: no session at once; the tunnel itself is kept for one full
  // retransmission cycle (RFC 2661 §5.7: 1+2+4+8+16+16 = 47 s with the defaults) to ack a
  // retransmitted StopCCN, then it must be gone too — all three of them.
  const stNow = parseStatus(await ctl('show', 'status'));
  assert.ok(stNow.tunnels.every((tt) => tt.sessions.length === 0), `sessions left after the guest finished: ${JSON.stringify(stNow)}`);
  const tTunnels = Date.now();
  await waitUntil('no tunnels left', async () => {
    const st = parseStatus(await ctl('show', 'status'));
    return st.tunnels.length === 0 ? true : undefined;
  }, 60_000, () => dlog());
  const completes = logs().filter((l) => /^disconnect tunnel \d+ complete$/.test(l.msg)).length;
  assert.equal(completes, CYCLES.length, `"disconnect tunnel N complete" once per cycle\n${dlog()}`);
  timings.push(`last tunnel state released ${((Date.now() - tTunnels) / 1000).toFixed(1)} s after the guest finished`);
  assert.ok(d.running(), `l2tpd still running\n${dlog()}`);

  // ---- the wire: everything decodes, including the PPP inside the data messages
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
  const perProto: Record<string, number> = {};
  for (const p of ['lcp', 'chap', 'pap', 'ipcp', 'icmp']) perProto[p] = await count(`l2tp && ppp && ${p}`);
  t.diagnostic(`PPP in L2TP: ${JSON.stringify(perProto)}; warnings ${report.warnings}${report.messages.length ? `: ${report.messages.join('; ')}` : ''}`);
  for (const [p, k] of Object.entries(perProto)) assert.ok(k > 0, `no ${p.toUpperCase()} frames decoded inside L2TP`);

  await d.stop(5000);
  daemon = undefined;
  t.diagnostic(`${timings.at(-1) ?? ''}; wall ${((Date.now() - t0) / 1000).toFixed(1)} s (guest started after ${((tGuest - t0) / 1000).toFixed(1)} s)`);
  failed = false;
});
