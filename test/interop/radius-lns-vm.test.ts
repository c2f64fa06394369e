/**
 * Real peers for our LNS with RADIUS (issue 13, "what it must show" a, b, c): the Linux client in the
 * Debian guest (xl2tpd + pppd, kernel data path) dials our daemon five times in one boot, and every
 * login is decided by FreeRADIUS 3.2 (Debian) in its own namespace:
 *  1. PAP user with Framed-IP-Address and Class: up with exactly that address, ping, hangs up;
 *  2. CHAP with a wrong password: rejected, pppd prints FreeRADIUS's Reply-Message, our log has it;
 *  3. CHAP user with Framed-Pool "gold" and Acct-Interim-Interval: an address out of the named pool,
 *     Interim-Updates arrive, then radclient's CoA-Request sets Session-Timeout = 3 and the session
 *     ends 3 s later (CoA-ACK);
 *  4. MS-CHAPv2 user (pppd verifies the MS-CHAP2-Success FreeRADIUS computed) with
 *     MS-Primary-DNS-Server: pppd gets that DNS; radclient: a wrong secret and an unlisted address
 *     get no answer, an unknown session NAK 503, a Disconnect-Request by User-Name an ACK; pppd sees
 *     the LCP Terminate and xl2tpd the CDN;
 *  5. PAP user with Session-Timeout = 20: the LNS ends the session 20 s after the accept.
 * FreeRADIUS's detail file then must hold, per session, Start, the Interims and Stop with octets and
 * packets equal to our data-path counters (the daemon's logout line) and the right
 * Acct-Terminate-Cause (User-Request, Session-Timeout, Admin-Reset, Session-Timeout), Class echoed,
 * and Accounting-On first and Accounting-Off after our stop.
 *
 * Topology (netns only): guest 198.18.0.10 and, on the same bridge, SEG-lns 198.18.0.1 (our l2tpd,
 * TUN l2tp0 100.64.0.1/24, lan0 203.0.113.1/24), SEG-rad 198.18.0.3 (FreeRADIUS, radclient),
 * SEG-oth 198.18.0.5 (radclient from an address that is no DAE client); SEG-lan 203.0.113.10
 * routes the pools back via 203.0.113.1.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  daemonPaths, ensureDebianPackages, ip, ipIn, makeWorkDir, parseLogLines, removeWorkDir, requireRoot, run, sysctlIn, spawnIn, tail, trackNamespace, untrackNamespace, waitUntil,
  type ManagedProcess,
} from './lib/index.js';
import { startFreeRadius, type FreeRadius } from './lib/freeradius.js';
import { detailBySession, detailCounters, logoutOf, radclient, statuses } from './lib/radius-lns.js';
import { ensureImage, startGuest, type GuestHandle } from './vm/guest.js';
import { createSegment, type Segment } from './vm/segment.js';
import { DNS, GUEST_IP, LAN_GW, LAN_HOST, LNS_IP, LNS_PPP, POOL } from './vm/plan.js';

const RAD_IP = '198.18.0.3';
const OTHER_IP = '198.18.0.5';
const SECRET = 'radius-vm-s3cret';
const DAE_SECRET = 'dae-vm-s3cret';
const GOLD = '100.64.8.0/24';
const MS_DNS = '203.0.113.77';
const REJECT_MESSAGE = 'Access denied by lab RADIUS';
const CLASS_HEX = '6c32746b69742d766d';
const GUEST_TIMEOUT_SEC = 420;

/** The plan: user, password, PPP method, what must happen. */
const PLAN = [
  { user: 'rpap', pass: 'pap-Pass-1', auth: 'pap', mode: 'ok' },
  { user: 'rchap', pass: 'wrong-Pass-0', auth: 'chap', mode: 'reject' },
  { user: 'rchap', pass: 'chap-Pass-2', auth: 'chap', mode: 'held' },
  { user: 'rms', pass: 'ms-Pass-3', auth: 'mschapv2', mode: 'held' },
  { user: 'rst', pass: 'st-Pass-4', auth: 'pap', mode: 'held' },
] as const;

let work = '';
let seg: Segment | undefined;
let lanNs: string | undefined;
let daemon: ManagedProcess | undefined;
let rad: FreeRadius | undefined;
let guest: GuestHandle | undefined;
let failed = true;

before(async () => {
  requireRoot();
  await ensureDebianPackages(['freeradius', 'freeradius-utils', 'iproute2']);
}, { timeout: 1_800_000 });

before(async () => {
  await ensureImage({ onLine: (l) => process.stderr.write(`image: ${l}\n`) });
}, { timeout: 2_400_000 });

after(async () => {
  guest?.kill();
  if (guest) await guest.done;
  await daemon?.stop(5000);
  await rad?.stop();
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
    if (failed) process.stderr.write(`radius-lns-vm: artefacts kept in ${work}\n`);
    else removeWorkDir(work);
  }
});

/** The segment, the LAN behind the LNS, FreeRADIUS; returns the namespaces. */
async function topology(): Promise<{ lnsNs: string; radNs: string; othNs: string }> {
  seg = createSegment();
  trackNamespace(seg.netns);
  const lnsNs = seg.addPeer('lns', `${LNS_IP}/24`);
  const radNs = seg.addPeer('rad', `${RAD_IP}/24`);
  const othNs = seg.addPeer('oth', `${OTHER_IP}/24`);
  for (const n of [lnsNs, radNs, othNs]) trackNamespace(n);
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
  for (const p of [POOL, GOLD]) ipIn(lanNs, ['route', 'add', p, 'via', LAN_GW]);
  rad = await startFreeRadius({
    ns: radNs,
    dir: join(work, 'freeradius'),
    clients: [{ address: LNS_IP, secret: SECRET }],
    messageAuthenticatorInReplies: true,
    rejectReplyMessage: REJECT_MESSAGE,
    lifetimeMs: 480_000,
    users: [
      { name: 'rpap', password: 'pap-Pass-1', framedIpAddress: '100.64.0.77', replyItems: [`Class = 0x${CLASS_HEX}`] },
      { name: 'rchap', password: 'chap-Pass-2', replyItems: ['Framed-Pool = "gold"', 'Acct-Interim-Interval = 3'] },
      { name: 'rms', password: 'ms-Pass-3', replyItems: [`MS-Primary-DNS-Server = ${MS_DNS}`] },
      { name: 'rst', password: 'st-Pass-4', replyItems: ['Session-Timeout = 20'] },
    ],
  });
  return { lnsNs, radNs, othNs };
}

/** Our l2tpd in `ns` with [radius] toward FreeRADIUS and [radius.dae] for radclient. */
function startDaemon(ns: string): { d: ManagedProcess; socket: string } {
  const { root, l2tpd } = daemonPaths();
  assert.ok(existsSync(join(root, 'dist', 'src', 'daemon', 'l2tpd-main.js')), 'dist/ is missing: run npm run build first');
  const socket = join(work, 'l2tpd.sock');
  const configFile = join(work, 'l2tpd.toml');
  writeFileSync(
    configFile,
    [
      '[daemon]', `control_socket = ${JSON.stringify(socket)}`, 'log_level = "debug"', `state_dir = ${JSON.stringify(join(work, 'state'))}`, '',
      '[l2tp]', 'host_name = "l2tpkit-lns"', '',
      '[[listen]]', `address = "${LNS_IP}"`, 'port = 1701', '',
      '[ipsec]', 'enabled = false', '',
      '[ppp]', 'allow_insecure = true', 'auth = ["chap", "mschapv2", "pap"]', 'mru = 1400', 'echo_interval = 10',
      `dns = [${DNS.map((x) => `"${x}"`).join(', ')}]`, '',
      '[pool]', `ipv4 = "${POOL}"`, `local_address = "${LNS_PPP}"`, '',
      '[[pool.named]]', 'name = "gold"', `ipv4 = "${GOLD}"`, '',
      '[tun]', 'name = "l2tp0"', 'mtu = 1400', '',
      '[radius]', 'interim_minimum = 2', '',
      '[[radius.server]]', 'name = "lab-radius"', `address = "${RAD_IP}"`, `secret = "${SECRET}"`, 'timeout = 2', '',
      '[radius.dae]', `listen = "${LNS_IP}:3799"`, '',
      '[[radius.dae.client]]', 'name = "lab-radius"', `address = "${RAD_IP}"`, `secret = "${DAE_SECRET}"`, '',
    ].join('\n'),
  );
  const d = spawnIn(ns, process.execPath, [l2tpd, '--config', configFile, '--socket', socket, '--debug'], { name: `l2tpd@${ns}`, lifetimeMs: 480_000, logFile: join(work, 'l2tpd.log'), cwd: root });
  return { d, socket };
}

test('Linux xl2tpd + pppd against our LNS with FreeRADIUS: PAP/CHAP/MS-CHAPv2 via RADIUS, reject, Framed-IP/Pool, timeouts, accounting, DAE', { timeout: 560_000 }, async (t) => {
  const t0 = Date.now();
  work = makeWorkDir('radius-lns-vm');
  const { lnsNs, radNs, othNs } = await topology();
  const { d, socket } = startDaemon(lnsNs);
  daemon = d;
  const { l2tpctl } = daemonPaths();
  const ctl = async (...a: string[]): Promise<unknown> => JSON.parse((await run(process.execPath, [l2tpctl, '--socket', socket, ...a, '--json'], { timeoutMs: 15_000 })).stdout) as unknown;
  const dlog = (n = 60): string => tail(d.output(), n);
  const logs = (): ReturnType<typeof parseLogLines> => parseLogLines(d.output());
  await waitUntil('l2tpd control socket', async () => {
    if (!d.running()) throw new Error(`l2tpd exited at start:\n${dlog()}`);
    if (!existsSync(socket)) return undefined;
    return await ctl('show', 'status').then(() => true, () => undefined);
  }, 20_000, () => dlog());
  const sessions = async (): Promise<{ username?: string; address?: string; acctSessionId?: string }[]> => (await ctl('show', 'sessions')) as { username?: string; address?: string; acctSessionId?: string }[];
  const dae = (kind: 'disconnect' | 'coa', attrs: string[], o: { ns?: string; secret?: string } = {}): Promise<string> => radclient(o.ns ?? radNs, `${LNS_IP}:3799`, kind, o.secret ?? DAE_SECRET, attrs);

  const outDir = join(work, 'guest');
  mkdirSync(outDir, { recursive: true });
  guest = startGuest({
    test: 'radius-client',
    env: { SERVER: LNS_IP, PLAN: PLAN.map((p) => `${p.user}:${p.pass}:${p.auth}:${p.mode}`).join(','), TARGET: LAN_HOST, HOLD_TMO: '40', SYNC_TMO: '90', UP_TMO: '40' },
    network: { netns: seg?.netns ?? '', ip: `${GUEST_IP}/24` },
    timeoutSec: GUEST_TIMEOUT_SEC,
    outDir,
  });
  const g = guest;
  const problems: string[] = [];
  const check = async (what: string, f: () => Promise<void> | void): Promise<void> => {
    try {
      await f();
    } catch (e) {
      problems.push(`${what}: ${(e as Error).message}`);
    }
  };
  const acctIds = new Map<number, string>();
  const marks: Record<string, number> = {};

  for (const [i, p] of PLAN.entries()) {
    const n = i + 1;
    const first = await g.waitForLine(new RegExp(`^SYNC: (up|rejected|down) ${n} `), n === 1 ? 200 : 100);
    if (first === undefined) {
      problems.push(`cycle ${n} (${p.user}/${p.auth}): the guest never reached the session`);
      break;
    }
    if (p.mode === 'reject') {
      await check(`cycle ${n} reject`, () => {
        assert.match(first, /^SYNC: rejected /, first);
        assert.ok(first.includes(REJECT_MESSAGE), `pppd shows FreeRADIUS's Reply-Message: ${first}`);
        const l = logs().find((x) => x.raw['user'] === p.user && x.raw['replyMessage'] === REJECT_MESSAGE);
        assert.ok(l !== undefined, `our log names the Reply-Message\n${dlog()}`);
        assert.match(l.msg, /RADIUS lab-radius rejected rchap: "Access denied by lab RADIUS"/);
      });
    } else {
      await check(`cycle ${n} up`, async () => {
        assert.match(first, /^SYNC: up /, first);
        const [, , , addr, dnsField] = first.trim().split(/\s+/);
        const s = (await sessions()).find((x) => x.username === p.user);
        assert.ok(s?.acctSessionId !== undefined, `session of ${p.user} with an Acct-Session-Id`);
        acctIds.set(n, s.acctSessionId);
        assert.equal(s.address, addr);
        if (p.user === 'rpap') assert.equal(addr, '100.64.0.77', 'Framed-IP-Address');
        if (p.user === 'rchap') assert.match(addr ?? '', /^100\.64\.8\.\d+$/, 'Framed-Pool "gold"');
        if (p.user === 'rms') assert.equal(dnsField, `dns=${MS_DNS}`, 'MS-Primary-DNS-Server into IPCP');
        marks[`up${n}`] = Date.now();
      });
      const id = acctIds.get(n) ?? '';
      if (p.user === 'rchap') {
        await check('cycle 3 interims + CoA', async () => {
          await waitUntil('two Interim-Updates for rchap', () => ((detailBySession(rad?.detail() ?? []).get(id) ?? []).filter((r) => r.get('Acct-Status-Type') === 'Interim-Update').length >= 2 ? true : undefined), 30_000);
          const out = await dae('coa', [`Acct-Session-Id = "${id}"`, 'Session-Timeout = 3', `Event-Timestamp = ${Math.floor(Date.now() / 1000)}`]);
          assert.match(out, /Received CoA-ACK/, out);
          marks['coa'] = Date.now();
        });
      }
      if (p.user === 'rms') {
        await check('cycle 4 DAE', async () => {
          assert.match(await dae('disconnect', [`Acct-Session-Id = "${id}"`], { secret: 'not-the-secret' }), /No reply from server/, 'a wrong secret is ignored');
          assert.match(await dae('disconnect', [`Acct-Session-Id = "${id}"`], { ns: othNs }), /No reply from server/, 'an unlisted address is ignored');
          const unknown = await dae('disconnect', ['Acct-Session-Id = "no-such-session"']);
          assert.match(unknown, /Received Disconnect-NAK/, unknown);
          assert.match(unknown, /Error-Cause = Session-Context-Not-Found/, unknown);
          const out = await dae('disconnect', ['User-Name = "rms"', 'Message-Authenticator = 0x00']);
          assert.match(out, /Received Disconnect-ACK/, out);
        });
      }
      writeFileSync(join(outDir, `SYNC-up-${n}`), '');
      if (p.mode === 'held') {
        const ended = await g.waitForLine(new RegExp(`^SYNC: ended ${n} `), 60);
        await check(`cycle ${n} ended by the LNS`, () => {
          assert.ok(ended !== undefined, 'the LNS ended the session');
          assert.match(ended, /lcp=yes/, `pppd saw our LCP Terminate-Request: ${ended}`);
          if (p.user === 'rms') assert.match(ended, /cdn=yes/, `xl2tpd saw our CDN: ${ended}`);
        });
      }
    }
    const down = await g.waitForLine(new RegExp(`^SYNC: down ${n}$`), 90);
    if (down === undefined) problems.push(`cycle ${n}: no SYNC down line`);
    writeFileSync(join(outDir, `SYNC-down-${n}`), '');
  }

  const res = await g.done;
  guest = undefined;
  t.diagnostic(`guest: boot ${String(res.bootSec)} s, wall ${res.wallSec.toFixed(1)} s`);
  const detail = res.results.at(-1)?.detail ?? 'no RESULT line';
  const guestTail = `--- guest log (tail):\n${tail(res.log, 100)}\n--- l2tpd (tail):\n${dlog(80)}\n--- FreeRADIUS:\n${rad?.logTail(40) ?? ''}`;
  assert.deepEqual(problems, [], `checks failed:\n${problems.join('\n')}\n${guestTail}`);
  assert.equal(res.status, 'PASS', `guest: ${detail}\n${guestTail}`);

  // ---- timers: Session-Timeout from the Access-Accept (20 s) and from the CoA (3 s), by our log.
  const lines = logs();
  const expiredAt = (user: string): number | undefined => {
    const acc = lines.find((l) => l.raw['user'] === user && / accepted by RADIUS/.test(l.msg));
    const sess = acc === undefined ? undefined : lines.find((l) => l.raw['tunnel'] === acc.raw['tunnel'] && l.raw['session'] === acc.raw['session'] && / Session-Timeout reached/.test(l.msg));
    return sess === undefined || acc === undefined ? undefined : Date.parse(String(sess.raw['time'])) - Date.parse(String(acc.raw['time']));
  };
  const rst = expiredAt('rst');
  assert.ok(rst !== undefined && rst >= 20_000 && rst <= 21_500, `Session-Timeout 20 s from the accept: ${rst} ms`);
  const coaEnd = lines.find((l) => / Session-Timeout reached/.test(l.msg) && Date.parse(String(l.raw['time'])) >= (marks['coa'] ?? Infinity) - 1000);
  const afterCoa = coaEnd === undefined ? undefined : Date.parse(String(coaEnd.raw['time'])) - (marks['coa'] ?? 0);
  assert.ok(afterCoa !== undefined && afterCoa >= 2000 && afterCoa <= 4500, `CoA Session-Timeout 3 s: ended ${afterCoa} ms after the CoA-ACK`);

  // ---- accounting in FreeRADIUS's detail file, after our stop (Accounting-Off).
  await d.stop(8000);
  daemon = undefined;
  const records = rad?.detail() ?? [];
  const byId = detailBySession(records);
  const all = records.map((r) => r.get('Acct-Status-Type'));
  assert.equal(all[0], 'Accounting-On', `first record: ${all.join(',')}`);
  assert.equal(all.at(-1), 'Accounting-Off', `last record: ${all.join(',')}`);
  const want: readonly [number, string, string][] = [
    [1, 'rpap', 'User-Request'],
    [3, 'rchap', 'Session-Timeout'],
    [4, 'rms', 'Admin-Reset'],
    [5, 'rst', 'Session-Timeout'],
  ];
  const report: string[] = [];
  for (const [n, user, cause] of want) {
    const id = acctIds.get(n) ?? '';
    const rs = byId.get(id) ?? [];
    const st = statuses(rs);
    report.push(`${user} ${id}: ${st.join(' ')}`);
    assert.equal(st[0], 'Start', `${user}: ${st.join(',')}`);
    assert.equal(st.at(-1), 'Stop', `${user}: ${st.join(',')}`);
    assert.ok(st.slice(1, -1).every((x) => x === 'Interim-Update'), `${user}: ${st.join(',')}`);
    if (user === 'rchap') assert.ok(st.length >= 4, `rchap has at least two Interim-Updates: ${st.join(',')}`);
    const stop = rs.at(-1);
    assert.ok(stop !== undefined);
    assert.equal(stop.get('Acct-Terminate-Cause'), cause, `${user} Acct-Terminate-Cause`);
    assert.equal(stop.get('User-Name'), user);
    const ours = logoutOf(lines, user);
    assert.ok(ours !== undefined, `our logout line for ${user}`);
    const theirs = detailCounters(stop);
    assert.deepEqual(theirs, { rxOctets: ours.rxOctets, txOctets: ours.txOctets, rxPackets: ours.rxPackets, txPackets: ours.txPackets }, `${user}: Stop counters = our data-path counters`);
    assert.ok(theirs.rxPackets >= 3 && theirs.txPackets >= 3, `${user}: the pings are counted: ${JSON.stringify(theirs)}`);
    assert.equal(stop.get('Framed-IP-Address') !== undefined, true);
    assert.equal(stop.get('NAS-Port-Type'), 'Virtual');
    assert.equal(stop.get('Tunnel-Type:0') ?? stop.get('Tunnel-Type'), 'L2TP');
    if (user === 'rpap') assert.equal(stop.get('Class'), `0x${CLASS_HEX}`, 'Class echoed');
    report.push(`  Stop: cause ${cause}, in ${theirs.rxOctets} octets / ${theirs.rxPackets} packets, out ${theirs.txOctets} / ${theirs.txPackets}, time ${stop.get('Acct-Session-Time') ?? '?'} s`);
  }
  t.diagnostic(report.join('\n'));
  const acctReq = (rad?.requests() ?? []).filter((r) => r.type === 'Access-Request');
  t.diagnostic(`FreeRADIUS: ${acctReq.length} Access-Requests, ${records.length} accounting records; wall ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  failed = false;
});
