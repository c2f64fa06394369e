/**
 * Our dynamic L2TPv3 initiator behind a NAT (iptables MASQUERADE to a port range) -> our responder
 * that has no peer address configured (seed 004's topology), both run by the dynamic-pseudowire
 * runner (src/io/dynamic-pseudowire-main.ts), each TAP bridged with a LAN namespace:
 *
 *   [cv-lana 192.0.2.1] - brlan - TAP  initiator 100.64.0.2  [cv-priv]
 *                                         |  100.64.0.0/24
 *                                      [cv-nat]  MASQUERADE -> 198.51.100.2:40000-40100
 *                                         |  198.51.100.0/24
 *   [cv-lanb 192.0.2.2] - brlan - TAP  responder 198.51.100.1  [cv-pub]
 *
 * Checks: tunnel auth (Message Digest + Challenge) and session up; the responder learned the NAT's
 * address and port; ping (and a 1472-byte ping) between the two LANs; keepalive loss detected when the
 * NAT drops everything, and the always-on redial brings it back; redial after the responder restarts;
 * a wrong secret refused (no connection, auth failure logged); the capture at the responder clean in
 * tshark (0 malformed, 0 error/warning expert items) with the per-direction cookie prefs.
 * Needs root; FAILS (never skips) without it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import type { DynamicRunnerConfig } from '../../src/io/dynamic-pseudowire-main.js';
import type { DynamicPseudowireStatus } from '../../src/io/dynamic-pseudowire.js';
import { analyzeCapture, describeReport, isClean, startCapture } from './lib/capture.js';
import { ensureDebianPackages, requireRoot, run } from './lib/host.js';
import { ipIn, sysctlIn } from './lib/netns.js';
import { spawnIn, trackNamespace, untrackNamespace, type ManagedProcess } from './lib/process.js';

const RUNNER = fileURLToPath(new URL('../../src/io/dynamic-pseudowire-main.js', import.meta.url));
const PUB = '198.51.100.1';
const NAT_OUT = '198.51.100.2';
const NAT_IN = '100.64.0.1';
const PRIV = '100.64.0.2';
const LAN_A = '192.0.2.1';
const LAN_B = '192.0.2.2';
const SECRET = 'nat-test-secret';

function base(over: Partial<DynamicRunnerConfig>): DynamicRunnerConfig {
  return {
    local: PRIV,
    hostName: 'branch',
    secret: SECRET,
    messageDigest: 'md5',
    challenge: true,
    profile: 'linux',
    helloInterval: 1500,
    helloMissCount: 3,
    retransmitInitial: 500,
    retries: 4,
    backoffInitial: 500,
    backoffMax: 3000,
    pseudowires: [{ remoteEndId: 'lan1', tap: 'cvtap0', bridge: 'brlan' }],
    ...over,
  };
}

const INITIATOR = base({ dial: { address: PUB }, cookieLength: 8 });
const RESPONDER = base({ local: PUB, hostName: 'public', accept: true, allowedPeers: [{ hostName: 'branch', routerId: PRIV }], cookieLength: 4 });

async function nsAdd(ns: string): Promise<void> {
  await run('ip', ['netns', 'add', ns]);
  trackNamespace(ns);
  sysctlIn(ns, 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
  ipIn(ns, ['link', 'set', 'lo', 'up']);
}

/** A veth pair between two namespaces with addresses (created inside them, never in the host). */
function link(a: string, ifa: string, addrA: string | undefined, b: string, ifb: string, addrB: string | undefined): void {
  ipIn(a, ['link', 'add', ifa, 'type', 'veth', 'peer', 'name', ifb, 'netns', b]);
  if (addrA !== undefined) ipIn(a, ['addr', 'add', addrA, 'dev', ifa]);
  if (addrB !== undefined) ipIn(b, ['addr', 'add', addrB, 'dev', ifb]);
  ipIn(a, ['link', 'set', ifa, 'up']);
  ipIn(b, ['link', 'set', ifb, 'up']);
}

/** A LAN namespace on a bridge `brlan` in `site` (where the runner's TAP will join it). */
function lan(site: string, lanNs: string, addr: string): void {
  ipIn(site, ['link', 'add', 'brlan', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  ipIn(site, ['link', 'set', 'brlan', 'up']);
  link(site, 'cvlan0', undefined, lanNs, 'eth0', `${addr}/24`);
  ipIn(site, ['link', 'set', 'cvlan0', 'master', 'brlan']);
}

async function start(ns: string, cfg: DynamicRunnerConfig, log: string, name: string): Promise<ManagedProcess> {
  const p = spawnIn(ns, process.execPath, [RUNNER, JSON.stringify(cfg)], { name, lifetimeMs: 240_000, logFile: log });
  await p.waitForOutput(/^READY /m, 15_000);
  return p;
}

async function statsOf(p: ManagedProcess): Promise<DynamicPseudowireStatus> {
  const mark = p.mark();
  process.kill(p.pid, 'SIGUSR1');
  const m = await p.waitForOutput(/^STATS (.*)$/m, 10_000, mark);
  return JSON.parse(m[1] ?? '{}') as DynamicPseudowireStatus;
}

const ping = (ns: string, to: string, extra: readonly string[] = []): Promise<{ code: number | null; stdout: string }> =>
  run('ip', ['netns', 'exec', ns, 'ping', '-c', '3', '-i', '0.3', '-W', '2', '-w', '20', ...extra, to], { check: false, timeoutMs: 30_000 });

const tshark = async (file: string, args: readonly string[]): Promise<string> => (await run('tshark', ['-n', '-r', file, ...args], { timeoutMs: 60_000 })).stdout;

/**
 * tshark keeps the first SCCRQ/SCCRP nonces of a UDP conversation for good (packet-l2tp.c
 * store_cma_nonce: only when none is stored), so after a redial on the same NAT mapping it would
 * verify the new connection's digests with the old nonces. Each control connection is therefore
 * checked in a file of its own (by its two Control Connection IDs), with the shared secret so tshark
 * verifies every digest; the data messages in one file per direction with that direction's cookie.
 * Of the connections never answered, those of the wrong secret must be flagged "Incorrect Digest" by
 * tshark, and only that.
 */
async function checkCapture(file: string, outDir: string): Promise<string[]> {
  const secret = ['-o', `l2tp.shared_secret:${SECRET}`];
  const rows = (await tshark(file, ['-Y', 'l2tp.avp.message_type==1 || l2tp.avp.message_type==2', '-T', 'fields', '-e', 'l2tp.avp.message_type', '-e', 'l2tp.ccid', '-e', 'l2tp.avp.assigned_control_conn_id']))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split('\t'));
  const conns = new Map<string, string | undefined>();
  for (const [type, ccid, assigned] of rows) {
    if (type === '1' && assigned !== undefined && !conns.has(assigned)) conns.set(assigned, undefined);
    // tshark prints the header's ccid in hex and the AVP in decimal.
    const header = ccid === undefined ? '' : String(Number.parseInt(ccid, 16));
    if (type === '2' && assigned !== undefined && conns.has(header)) conns.set(header, assigned);
  }
  const out: string[] = [];
  let answered = 0;
  let refused = 0;
  for (const [i, r] of conns) {
    const part = join(outDir, `conn-${i}.pcap`);
    const filter = r === undefined ? `l2tp.avp.assigned_control_conn_id == ${i}` : `l2tp.ccid == ${i} || l2tp.ccid == ${r} || l2tp.avp.assigned_control_conn_id == ${i}`;
    await run('tshark', ['-n', '-r', file, '-Y', filter, '-w', part], { timeoutMs: 60_000 });
    const rep = await analyzeCapture(part, secret);
    if (r !== undefined) {
      answered++;
      assert.ok(isClean(rep), describeReport(rep));
    } else {
      // Unanswered: sent while the responder was down or the NAT dropped (clean), or with the wrong secret.
      assert.equal(rep.malformed, 0, describeReport(rep));
      assert.ok(rep.errors === 0 && rep.messages.every((m) => m.includes('Incorrect Digest')), describeReport(rep));
      if (rep.warnings > 0) refused++;
    }
    out.push(`connection ${i}/${r ?? '-'}: ${rep.packets} control packets, ${rep.warnings} digest warnings`);
  }
  assert.ok(answered >= 3 && refused >= 1, `connections answered ${answered}, refused ${refused}`);
  for (const [src, cookie] of [
    [NAT_OUT, '4 Byte Cookie'],
    [PUB, '8 Byte Cookie'],
  ] as const) {
    const part = join(outDir, `data-from-${src}.pcap`);
    await run('tshark', ['-n', '-r', file, '-Y', `ip.src==${src} && !l2tp.ccid`, '-w', part], { timeoutMs: 60_000 });
    const prefs = ['-o', `l2tp.cookie_size:${cookie}`, '-o', 'l2tp.l2_specific:Default L2-Specific', '-d', 'l2tp.pw_type==0,eth'];
    const rep = await analyzeCapture(part, prefs);
    assert.ok(isClean(rep), describeReport(rep));
    const icmp = await tshark(part, [...prefs, '-Y', 'l2tp && icmp']);
    assert.ok(icmp.trim() !== '', `data from ${src}: no ICMP decoded inside L2TPv3`);
    out.push(`data from ${src}: ${rep.packets} packets clean`);
  }
  return out;
}

const SESSION_UP = /^EVENT \{"type":"v3-session-established".*$/m;

it('L2TPv3 dynamic initiator behind MASQUERADE -> responder with no peer: auth, session, ping, keepalive, redial, wrong secret', { timeout: 300_000 }, async (t) => {
  requireRoot();
  await ensureDebianPackages(['tshark', 'iproute2', 'iputils-ping', 'iptables']);
  const tag = process.pid % 100000;
  const ns = { pub: `cv-${tag}-pub`, nat: `cv-${tag}-nat`, priv: `cv-${tag}-priv`, lana: `cv-${tag}-lana`, lanb: `cv-${tag}-lanb` };
  const outDir = mkdtempSync(join(tmpdir(), 'l2kit-v3-nat-'));
  const procs: ManagedProcess[] = [];
  let ok = false;
  try {
    for (const n of Object.values(ns)) await nsAdd(n);
    link(ns.priv, 'cvw0', `${PRIV}/24`, ns.nat, 'cvw1', `${NAT_IN}/24`);
    link(ns.nat, 'cvw2', `${NAT_OUT}/24`, ns.pub, 'cvw3', `${PUB}/24`);
    // The private side reaches the public net only through the NAT (a /24 route, no default route).
    ipIn(ns.priv, ['route', 'add', '198.51.100.0/24', 'via', NAT_IN]);
    sysctlIn(ns.nat, 'net.ipv4.ip_forward=1');
    await run('ip', ['netns', 'exec', ns.nat, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'cvw2', '-p', 'udp', '-j', 'MASQUERADE', '--to-ports', '40000-40100']);
    lan(ns.priv, ns.lana, LAN_A);
    lan(ns.pub, ns.lanb, LAN_B);
    const cap = await startCapture(ns.pub, 'cvw3', join(outDir, 'wan.pcap'), { filter: 'udp port 1701', maxSeconds: 200 });

    // 1. Tunnel auth and session up; the responder learned the NAT's address and port.
    let resp = await start(ns.pub, RESPONDER, join(outDir, 'responder.log'), 'responder');
    procs.push(resp);
    let init = await start(ns.priv, INITIATOR, join(outDir, 'initiator.log'), 'initiator');
    procs.push(init);
    await init.waitForOutput(SESSION_UP, 20_000);
    await resp.waitForOutput(SESSION_UP, 5_000);
    const st = await statsOf(resp);
    const peer = st.connections[0]?.peer;
    assert.equal(peer?.address, NAT_OUT, 'the responder learned the NAT address');
    assert.ok((peer?.port ?? 0) >= 40000 && (peer?.port ?? 0) <= 40100, `the NAT port was learned: ${JSON.stringify(peer)}`);
    assert.equal(st.connections[0]?.remoteHostName, 'branch');

    // 2. Ping between the two LANs across the bridged TAPs, also with full-size frames.
    const p1 = await ping(ns.lana, LAN_B);
    assert.equal(p1.code, 0, `ping A -> B\n${p1.stdout}`);
    const p2 = await ping(ns.lanb, LAN_A, ['-M', 'do', '-s', '1472']);
    assert.equal(p2.code, 0, `1472-byte ping B -> A\n${p2.stdout}`);
    const after = await statsOf(resp);
    const sess = after.sessions[0];
    assert.ok(sess !== undefined && sess.counters.rxPackets >= 6 && sess.counters.txPackets >= 6, JSON.stringify(sess));
    assert.deepEqual(sess.counters.drops, { wrongCookie: 0, tooShort: 0, unsequenced: 0, outOfOrder: 0 });
    t.diagnostic(`ping ok; responder session rx ${sess.counters.rxPackets} tx ${sess.counters.txPackets}, peer ${JSON.stringify(peer)}`);

    // 3. Keepalive loss: the NAT drops everything; both ends notice, then always-on brings it back.
    const mi = init.mark();
    const mr = resp.mark();
    await run('ip', ['netns', 'exec', ns.nat, 'iptables', '-I', 'FORWARD', '-j', 'DROP']);
    const cut = Date.now();
    await init.waitForOutput(/"type":"v3-keepalive-expired"/, 20_000, mi);
    await resp.waitForOutput(/"type":"v3-keepalive-expired"/, 20_000, mr);
    t.diagnostic(`keepalive loss detected after ${Date.now() - cut} ms (interval 1.5 s x 3)`);
    await init.waitForOutput(/"type":"v3-redial"/, 10_000, mi);
    await run('ip', ['netns', 'exec', ns.nat, 'iptables', '-D', 'FORWARD', '-j', 'DROP']);
    await init.waitForOutput(SESSION_UP, 30_000, mi);
    const p3 = await ping(ns.lana, LAN_B);
    assert.equal(p3.code, 0, `ping after the NAT came back\n${p3.stdout}`);

    // 4. The responder restarts: the initiator redials and the session comes back.
    const m2 = init.mark();
    await resp.stop();
    await init.waitForOutput(/"type":"v3-redial"/, 20_000, m2);
    resp = await start(ns.pub, RESPONDER, join(outDir, 'responder-2.log'), 'responder-2');
    procs.push(resp);
    await init.waitForOutput(SESSION_UP, 30_000, m2);
    await resp.waitForOutput(SESSION_UP, 10_000);
    const p4 = await ping(ns.lana, LAN_B);
    assert.equal(p4.code, 0, `ping after the responder restart\n${p4.stdout}`);
    t.diagnostic('redial after responder restart ok');

    // 5. A wrong secret is refused: no connection at the responder, an auth failure reported.
    await init.stop();
    const m3 = resp.mark();
    init = await start(ns.priv, { ...INITIATOR, secret: 'wrong-secret' }, join(outDir, 'initiator-wrong.log'), 'initiator-wrong');
    procs.push(init);
    await resp.waitForOutput(/"type":"v3-auth-failed"/, 15_000, m3);
    await new Promise((r) => setTimeout(r, 4000));
    assert.doesNotMatch(resp.output().slice(m3), /"type":"v3-established"/, 'the wrong secret got a connection');
    assert.doesNotMatch(init.output(), /"type":"v3-established"/);
    const stw = await statsOf(resp);
    assert.ok(stw.connections.every((c) => c.state !== 'established'), JSON.stringify(stw.connections));
    await init.stop();
    await resp.stop();
    await cap.stop();

    // 6. The capture at the responder: clean in tshark, which checks every Message Digest itself.
    for (const line of await checkCapture(cap.file, outDir)) t.diagnostic(line);
    ok = true;
  } finally {
    for (const p of procs) if (p.running()) await p.stop();
    for (const n of Object.values(ns)) {
      await run('ip', ['netns', 'del', n], { check: false });
      untrackNamespace(n);
    }
    if (ok && process.env['L2K_KEEP_ARTIFACTS'] !== '1') rmSync(outDir, { recursive: true, force: true });
    else t.diagnostic(`artifacts in ${outDir}`);
  }
});

it('L2TPv3 dynamic over IP protocol 115 (raw sockets, no NAT): Message Digest auth, session up, ping, tshark clean', { timeout: 120_000 }, async (t) => {
  requireRoot();
  const tag = process.pid % 100000;
  const ns = { pub: `cv-${tag}-ipub`, priv: `cv-${tag}-ipriv`, lana: `cv-${tag}-ilana`, lanb: `cv-${tag}-ilanb` };
  const outDir = mkdtempSync(join(tmpdir(), 'l2kit-v3-ip-'));
  const procs: ManagedProcess[] = [];
  let ok = false;
  try {
    for (const n of Object.values(ns)) await nsAdd(n);
    link(ns.priv, 'cvw0', '198.51.100.2/24', ns.pub, 'cvw1', `${PUB}/24`);
    lan(ns.priv, ns.lana, LAN_A);
    lan(ns.pub, ns.lanb, LAN_B);
    const cap = await startCapture(ns.pub, 'cvw1', join(outDir, 'ip.pcap'), { filter: 'ip proto 115', maxSeconds: 90 });
    const ip = { encapsulation: 'ip' as const, challenge: false };
    const resp = await start(ns.pub, { ...RESPONDER, ...ip, allowedPeers: [{ hostName: 'branch' }] }, join(outDir, 'responder.log'), 'responder-ip');
    procs.push(resp);
    const init = await start(ns.priv, { ...INITIATOR, ...ip, local: '198.51.100.2' }, join(outDir, 'initiator.log'), 'initiator-ip');
    procs.push(init);
    await init.waitForOutput(SESSION_UP, 20_000);
    await resp.waitForOutput(SESSION_UP, 5_000);
    const p1 = await ping(ns.lana, LAN_B);
    assert.equal(p1.code, 0, `ping over IP encapsulation\n${p1.stdout}`);
    const p2 = await ping(ns.lanb, LAN_A, ['-M', 'do', '-s', '1472']);
    assert.equal(p2.code, 0, `1472-byte ping over IP encapsulation\n${p2.stdout}`);
    const st = await statsOf(resp);
    assert.equal(st.connections[0]?.peer.port, 0);
    await init.stop();
    await resp.stop();
    await cap.stop();
    const secret = ['-o', `l2tp.shared_secret:${SECRET}`];
    const control = join(outDir, 'ip-control.pcap');
    await run('tshark', ['-n', '-r', cap.file, '-Y', 'l2tp.ccid', '-w', control], { timeoutMs: 60_000 });
    const rc = await analyzeCapture(control, secret);
    assert.ok(isClean(rc) && rc.packets >= 6, describeReport(rc));
    for (const [src, cookie] of [
      ['198.51.100.2', '4 Byte Cookie'],
      [PUB, '8 Byte Cookie'],
    ] as const) {
      const part = join(outDir, `ip-data-${src}.pcap`);
      await run('tshark', ['-n', '-r', cap.file, '-Y', `ip.src==${src} && !l2tp.ccid`, '-w', part], { timeoutMs: 60_000 });
      const prefs = ['-o', `l2tp.cookie_size:${cookie}`, '-o', 'l2tp.l2_specific:Default L2-Specific', '-d', 'l2tp.pw_type==0,eth'];
      const rep = await analyzeCapture(part, prefs);
      assert.ok(isClean(rep), describeReport(rep));
      assert.ok((await tshark(part, [...prefs, '-Y', 'l2tp && icmp'])).trim() !== '', `IP data from ${src}: no ICMP inside`);
    }
    t.diagnostic(`IP encapsulation: ${rc.packets} control packets clean with digests verified by tshark; data clean both ways`);
    ok = true;
  } finally {
    for (const p of procs) if (p.running()) await p.stop();
    for (const n of Object.values(ns)) {
      await run('ip', ['netns', 'del', n], { check: false });
      untrackNamespace(n);
    }
    if (ok && process.env['L2K_KEEP_ARTIFACTS'] !== '1') rmSync(outDir, { recursive: true, force: true });
    else t.diagnostic(`artifacts in ${outDir}`);
  }
});
