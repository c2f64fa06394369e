/**
 * Real peer: the Linux kernel's static L2TPv3 Ethernet pseudowire (iproute2 `ip l2tp`, l2tp_eth) in the
 * Debian guest <-> our static pseudowire (src/io/static-pseudowire.ts, run by its temporary runner).
 *
 *   guest: [netns lan 192.0.2.10/24] - br-lan - l2tpeth0 ==L2TPv3== eth0 198.18.0.10
 *      |  tap on br0 in netns v3-<pid>-sw (our end 198.18.0.1 on br0)
 *   host: our runner in v3-<pid>-sw: TAP - brlan - veth - [netns v3-<pid>-lan 192.0.2.20/24]
 *
 * One boot for the whole matrix: the guest script (vm/guest/l2tpv3-static-matrix.sh) reconfigures
 * `ip l2tp` per case from files we write on the 9p share. Per case: ARP + ping both ways, a 1472-byte
 * ping with DF (a 1514-byte frame, so the outer packet is fragmented), counters on both sides, and
 * the capture checked per direction with tshark's L2TPv3 prefs (cookie size and sublayer differ per
 * direction): 0 malformed, 0 error/warning expert items, ARP and ICMP decoded inside, fragments seen.
 * Needs root; FAILS (never skips) without it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import type { StaticPseudowireSettings, StaticPseudowireStatus } from '../../src/io/static-pseudowire.js';
import { analyzeCapture, describeReport, isClean, startCapture } from './lib/capture.js';
import { ensureDebianPackages, requireRoot, run, tail } from './lib/host.js';
import { ipIn, sysctlIn } from './lib/netns.js';
import { spawnIn, type ManagedProcess } from './lib/process.js';
import { ensureImage, startGuest, type GuestHandle } from './vm/guest.js';
import { createSegment } from './vm/segment.js';

const OUR = '198.18.0.1';
const GUEST = '198.18.0.10';
const GUEST_LAN = '192.0.2.10';
const HOST_LAN = '192.0.2.20';
const RUNNER = fileURLToPath(new URL('../../src/io/static-pseudowire-main.js', import.meta.url));

/** One case, from the guest's (Linux's) view. */
interface Case {
  readonly encap: 'udp' | 'ip';
  readonly tid: number;
  readonly ptid: number;
  readonly sid: number;
  readonly psid: number;
  /** Cookie the guest sends / expects ('none' or hex). */
  readonly cookie: string;
  readonly peerCookie: string;
  readonly l2spec: 'none' | 'default';
  readonly seq: 'none' | 'both';
  readonly sport?: number;
  readonly dport?: number;
}

/** UDP and IP; cookies 0/4/8 each way with different values; sublayer none and default; sequencing. */
const CASES: readonly Case[] = [
  { encap: 'udp', tid: 1000, ptid: 2000, sid: 3000, psid: 4000, cookie: 'none', peerCookie: 'none', l2spec: 'default', seq: 'none' },
  { encap: 'udp', tid: 1001, ptid: 2001, sid: 3001, psid: 4001, cookie: 'a1b2c3d4', peerCookie: '0102030405060708', l2spec: 'none', seq: 'none' },
  { encap: 'udp', tid: 1002, ptid: 2002, sid: 3002, psid: 4002, cookie: '1122334455667788', peerCookie: 'cafef00d', l2spec: 'default', seq: 'none', sport: 5000, dport: 6000 },
  { encap: 'ip', tid: 1003, ptid: 2003, sid: 3003, psid: 4003, cookie: 'none', peerCookie: 'none', l2spec: 'none', seq: 'none' },
  { encap: 'ip', tid: 1004, ptid: 2004, sid: 3004, psid: 4004, cookie: 'deadbeef', peerCookie: '8877665544332211', l2spec: 'default', seq: 'both' },
  { encap: 'ip', tid: 1005, ptid: 2005, sid: 3005, psid: 4005, cookie: '0011223344556677', peerCookie: 'f00dcafe', l2spec: 'none', seq: 'none' },
  { encap: 'udp', tid: 1006, ptid: 2006, sid: 3006, psid: 4006, cookie: 'aaaaaaaaaaaaaaaa', peerCookie: 'bbbbbbbbbbbbbbbb', l2spec: 'default', seq: 'both' },
];

/** Our settings for a case: everything mirrored. */
function ours(c: Case): StaticPseudowireSettings {
  return {
    encap: c.encap,
    local: OUR,
    remote: GUEST,
    ...(c.encap === 'udp' ? { udpSourcePort: c.dport ?? 1701, udpDestinationPort: c.sport ?? 1701 } : {}),
    tunnelId: c.ptid,
    peerTunnelId: c.tid,
    sessionId: c.psid,
    peerSessionId: c.sid,
    ...(c.peerCookie !== 'none' ? { cookie: c.peerCookie } : {}),
    ...(c.cookie !== 'none' ? { peerCookie: c.cookie } : {}),
    l2specType: c.l2spec,
    seq: c.seq,
    tapName: 'v3tap0',
  };
}

const cookiePref = (hexCookie: string): string => (hexCookie === 'none' ? 'None' : hexCookie.length === 8 ? '4 Byte Cookie' : '8 Byte Cookie');

/** tshark options to decode one direction (the cookie and sublayer are not in the packet, §4.1). */
function tsharkPrefs(c: Case, cookie: string): string[] {
  const opts = ['-o', `l2tp.cookie_size:${cookiePref(cookie)}`, '-o', `l2tp.l2_specific:${c.l2spec === 'default' ? 'Default L2-Specific' : 'None'}`, '-d', 'l2tp.pw_type==0,eth'];
  for (const p of [c.sport, c.dport]) if (p !== undefined && p !== 1701) opts.push('-d', `udp.port==${p},l2tp`);
  return opts;
}

/** Count the frames of a capture matching a display filter. */
async function count(file: string, prefs: readonly string[], filter: string): Promise<number> {
  const r = await run('tshark', ['-n', '-r', file, ...prefs, '-Y', filter], { timeoutMs: 60_000 });
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

/** Check one direction of a case's capture; returns a description for the failure message. */
async function checkDirection(file: string, dir: string, src: string, c: Case, cookie: string): Promise<string> {
  const part = `${file}.${dir}.pcap`;
  await run('tshark', ['-n', '-r', file, '-Y', `ip.src==${src}`, '-w', part], { timeoutMs: 60_000 });
  const prefs = tsharkPrefs(c, cookie);
  const rep = await analyzeCapture(part, prefs);
  assert.ok(isClean(rep), describeReport(rep));
  assert.ok((await count(part, prefs, 'l2tp && arp')) > 0, `${dir}: no ARP decoded inside L2TPv3\n${rep.listing}`);
  assert.ok((await count(part, prefs, 'l2tp && icmp')) > 0, `${dir}: no ICMP decoded inside L2TPv3`);
  const frags = await count(part, [], 'ip.flags.mf == 1');
  assert.ok(frags > 0, `${dir}: the 1472-byte pings should fragment the outer packet`);
  return `${dir} ${rep.packets} packets clean, ${frags} first fragments`;
}

/** Start our runner for a case; resolves once it forwards. */
async function startRunner(ns: string, c: Case, log: string, mode: 'fast' | 'js'): Promise<ManagedProcess> {
  const p = spawnIn(ns, process.execPath, [RUNNER, JSON.stringify(ours(c)), mode], { name: 'static-pseudowire-main', lifetimeMs: 300_000, logFile: log });
  await p.waitForOutput(/^READY /m, 15_000);
  ipIn(ns, ['link', 'set', 'v3tap0', 'master', 'brlan', 'up']);
  return p;
}

/** Ask the runner for its counters (SIGUSR1 -> one STATS line). */
async function statsOf(p: ManagedProcess): Promise<StaticPseudowireStatus> {
  const mark = p.mark();
  process.kill(p.pid, 'SIGUSR1');
  const m = await p.waitForOutput(/^STATS (.*)$/m, 10_000, mark);
  return JSON.parse(m[1] ?? '{}') as StaticPseudowireStatus;
}

/**
 * A burst of malformed v3 data messages at our UDP port from a foreign source in the segment
 * namespace (bad lengths, bogus Session IDs, wrong cookies): they must be counted, never bridged.
 */
const JUNK = `const s=require('dgram').createSocket('udp4');let n=0;const go=()=>{for(let i=0;i<50;i++){const k=n%3;
const b=k===0?Buffer.alloc(n%7):Buffer.from('00030000'+(k===1?'deadbeef':'00000fa0')+'ffffffff00000000'+'ff'.repeat(20),'hex');
s.send(b,1701,'${OUR}');n++;}if(n<300)setTimeout(go,5);else setTimeout(()=>s.close(),100);};go();`;

/** Build the host side: a LAN namespace behind bridge `brlan`, where our TAP will be added. */
async function hostLan(segNs: string, lanNs: string): Promise<void> {
  ipIn(segNs, ['link', 'add', 'brlan', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  ipIn(segNs, ['link', 'set', 'brlan', 'up']);
  await run('ip', ['netns', 'add', lanNs]);
  sysctlIn(lanNs, 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
  ipIn(segNs, ['link', 'add', 'v3lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', lanNs]);
  ipIn(segNs, ['link', 'set', 'v3lan0', 'master', 'brlan', 'up']);
  ipIn(lanNs, ['addr', 'add', `${HOST_LAN}/24`, 'dev', 'eth0']);
  ipIn(lanNs, ['link', 'set', 'eth0', 'up']);
  ipIn(lanNs, ['link', 'set', 'lo', 'up']);
}

it('Linux kernel static L2TPv3 (ip l2tp, l2tp_eth) <-> our static pseudowire: UDP/IP x cookies x sublayer', { timeout: 1_800_000 }, async (t) => {
  requireRoot();
  await ensureDebianPackages(['tshark', 'iproute2', 'iputils-ping']);
  await ensureImage({ onLine: (l) => t.diagnostic(l) });
  const tag = process.pid;
  const seg = createSegment({ name: `v3-${tag}-sw`, bridgeIp: `${OUR}/24` });
  const lanNs = `v3-${tag}-lan`;
  const outDir = mkdtempSync(join(tmpdir(), 'l2kit-v3-static-'));
  let runner: ManagedProcess | undefined;
  let guest: GuestHandle | undefined;
  let ok = false;
  const consoleTail = (): string => tail(readFileSync(join(outDir, 'console.log'), 'utf8'), 60);
  try {
    await hostLan(seg.netns, lanNs);
    guest = startGuest({
      test: 'l2tpv3-static-matrix',
      env: { CASES: String(CASES.length), PEER: OUR, LANIP: `${GUEST_LAN}/24`, HOSTLAN: HOST_LAN, CASE_TMO: '150' },
      network: { netns: seg.netns, ip: `${GUEST}/24` },
      outDir,
      timeoutSec: 1500,
    });
    for (const [i, c] of CASES.entries()) {
      const n = i + 1;
      // Both data paths against the kernel, alternating per encapsulation so UDP and IP (protocol 115) each run
      // natively (sequencing stays in JS) and in JS: UDP cases 1, 3, 7 and IP cases 4, 6 fast, the others JS only.
      const mode = (i % 2 === 0) === (c.encap === 'udp') ? 'fast' : 'js';
      const label = `case ${n} ${c.encap} cookies ${c.cookie}/${c.peerCookie} l2spec ${c.l2spec} seq ${c.seq} ${mode}`;
      runner = await startRunner(seg.netns, c, join(outDir, `runner-${n}.log`), mode);
      const cap = await startCapture(seg.netns, 'br0', join(outDir, `case-${n}.pcap`), { filter: `host ${GUEST}`, maxSeconds: 240 });
      const body = [`ENCAP=${c.encap}`, `TID=${c.tid}`, `PTID=${c.ptid}`, `SID=${c.sid}`, `PSID=${c.psid}`, `COOKIE=${c.cookie}`, `PEER_COOKIE=${c.peerCookie}`];
      body.push(`L2SPEC=${c.l2spec}`, `SEQ=${c.seq}`, `SPORT=${c.sport ?? 1701}`, `DPORT=${c.dport ?? 1701}`);
      writeFileSync(join(outDir, `CASE-${n}`), `${body.join('\n')}\n`);
      const up = await guest.waitForLine(new RegExp(`^CASE-UP: ${n} `), 240);
      assert.match(up ?? '', /ok$/, `${label}: guest did not bring the session up\n${consoleTail()}`);
      const ping = await run('ip', ['netns', 'exec', lanNs, 'ping', '-c', '3', '-i', '0.3', '-W', '3', '-w', '40', GUEST_LAN], { check: false, timeoutMs: 60_000 });
      const big = await run('ip', ['netns', 'exec', lanNs, 'ping', '-M', 'do', '-s', '1472', '-c', '2', '-i', '0.5', '-W', '3', '-w', '30', GUEST_LAN], { check: false, timeoutMs: 60_000 });
      let junk = 0;
      if (n === 1) {
        // Bad input while the pseudowire is up: counted, and it keeps forwarding (checked below).
        await run('ip', ['netns', 'exec', seg.netns, process.execPath, '-e', JUNK], { timeoutMs: 30_000 });
        const after = await run('ip', ['netns', 'exec', lanNs, 'ping', '-c', '2', '-i', '0.3', '-W', '3', GUEST_LAN], { check: false, timeoutMs: 30_000 });
        assert.equal(after.code, 0, `${label}: no forwarding after the junk burst\n${after.stdout}`);
        junk = 300;
      }
      const gping = await guest.waitForLine(new RegExp(`^CASE-PING: ${n} `), 120);
      const st = await statsOf(runner);
      writeFileSync(join(outDir, `CASE-${n}-DONE`), '');
      const end = await guest.waitForLine(new RegExp(`^CASE-END: ${n} `), 120);
      await cap.stop();
      await runner.stop();
      runner = undefined;
      t.diagnostic(`${label}: host ping ${ping.stdout.match(/\d+ received/)?.[0] ?? '?'}, 1472 ${big.stdout.match(/\d+ received/)?.[0] ?? '?'}; ${gping ?? 'no guest ping'}; ${end ?? 'no end'}`);
      t.diagnostic(`${label}: ours rx ${st.pseudowire.rxPackets} tx ${st.pseudowire.txPackets} drops ${JSON.stringify(st.pseudowire.drops)} seq ${st.pseudowire.sequencedReceived} native ${JSON.stringify(st.fast ?? null)}`);
      if (mode === 'fast' && c.seq === 'none') assert.ok((st.fast?.rxPackets ?? 0) > 0 && (st.fast?.txPackets ?? 0) > 0, `${label}: the native fast path carried no frame`);
      if (mode === 'js') assert.equal(st.fast, undefined);
      assert.equal(ping.code, 0, `${label}: ping ${GUEST_LAN} failed\n${ping.stdout}${ping.stderr}`);
      assert.equal(big.code, 0, `${label}: 1472-byte ping failed\n${big.stdout}${big.stderr}`);
      assert.match(gping ?? '', / ok /, `${label}: guest ping to ${HOST_LAN} failed`);
      assert.match(end ?? '', / ok$/, `${label}: guest reported ${end ?? 'nothing'}`);
      assert.deepStrictEqual(st.pseudowire.drops, { wrongCookie: 0, tooShort: 0, unsequenced: 0, outOfOrder: 0 });
      assert.equal(st.demux.unknownSession, 0);
      assert.equal(st.transport.foreignSource, junk, `${label}: junk datagrams counted as foreign`);
      if (c.seq === 'both') assert.ok(st.pseudowire.sequencedReceived >= 5, `${label}: the kernel should sequence`);
      const dirs = [
        await checkDirection(cap.file, 'from-linux', GUEST, c, c.cookie),
        await checkDirection(cap.file, 'from-us', OUR, c, c.peerCookie),
      ];
      t.diagnostic(`${label}: tshark ${dirs.join('; ')}`);
    }
    const res = await guest.done;
    assert.equal(res.status, 'PASS', `${res.results.at(-1)?.detail ?? 'no RESULT'}\n${res.log.slice(-3000)}`);
    t.diagnostic(`guest boot ${String(res.bootSec)} s, wall ${res.wallSec.toFixed(0)} s for ${CASES.length} cases`);
    ok = true;
  } finally {
    if (runner !== undefined) await runner.stop();
    if (!ok && guest !== undefined) {
      guest.kill();
      await guest.done;
    }
    await run('ip', ['netns', 'del', lanNs], { check: false });
    seg.destroy();
    if (ok && process.env['L2K_KEEP_ARTIFACTS'] !== '1') rmSync(outDir, { recursive: true, force: true });
    else t.diagnostic(`artifacts in ${outDir}`);
  }
});
