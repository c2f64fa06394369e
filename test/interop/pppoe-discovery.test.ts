/**
 * Real PPPoE clients against our access concentrator: pppd 2.4.9 with the kernel rp-pppoe.so plugin
 * and pppd with the userspace rp-pppoe 3.15 client (`pty "pppoe"`), in the Debian guest (qemu/TCG,
 * test/interop/vm/guest/pppoe-ac-client.sh), one boot for all cases. On the host side: our AF_PACKET
 * socket (src/io/packet-socket.ts) inside a namespace bridged to the guest's tap, the discovery core
 * (src/access/pppoe) through its io shell (src/io/pppoe-ac.ts), and PPP terminated by our unchanged
 * PppLink bound as each session's FrameSink (test/interop/pppoe-terminator.ts).
 *
 *  0. pppoe-discovery -U: our PADO decodes in rp-pppoe (AC-Name, services, cookie).
 *  1. kernel plugin, PAP, mtu 1500 on a 1508-byte link: PADI/PADO/PADR/PADS with PPP-Max-Payload 1500
 *     (RFC 4638), the client's LCP Configure-Requests reach the session sink, IPCP gives an address
 *     from our pool, pings are answered; meanwhile forged discovery from a second station: a PADR with
 *     a forged cookie, a PADR with a valid cookie from another MAC, a PADT with the guest's session id
 *     from another MAC, a PADT from the guest's MAC with another session id, a truncated frame -> all
 *     dropped and counted, the guest's session survives (it pings again). Hang-up: LCP Terminate, the
 *     plugin sends no PADT (pppd 2.4.9 closed its discovery socket after PADS), so our AC ends the
 *     session with a PADT (session-down `closed`), and the address is free again.
 *  2. userspace client, CHAP-MD5, 1492: the same, but the client's own PADT ends the session
 *     (session-down `padt-received`).
 * tshark on the bridge capture: every discovery code present, no PADS to the forger, 0 malformed
 * frames and 0 error/warning expert items once the forger's deliberately truncated PADRs are taken
 * out (and those are checked to be the only malformed frames).
 *
 *   guest 198.18.0.10 --tap-- [br0 in SEG] --veth-- SEG-ac: eth0 (mtu 1508)  our AC (AF_PACKET via setns)
 *                                           --veth-- SEG-x:  eth0             the forger (AF_PACKET)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  analyzeCapture, describeReport, ensureDebianPackages, ipIn, isClean, makeWorkDir, removeWorkDir, requireRoot, run, sleep, trackNamespace, untrackNamespace,
  type Capture,
} from './lib/index.js';
import { startCapture } from './lib/capture.js';
import { ensureImage, startGuest, type GuestHandle } from './vm/guest.js';
import { createSegment, type Segment } from './vm/segment.js';
import { PppTerminator } from './pppoe-terminator.js';
import { now } from '../../src/io/clock.js';
import { TimerDriver } from '../../src/io/timer-driver.js';
import { PacketSocket } from '../../src/io/packet-socket.js';
import { PppoeAcPort } from '../../src/io/pppoe-ac.js';
import type { PppoeAcEvent } from '../../src/access/pppoe/types.js';
import {
  BROADCAST_MAC, EtherType, PppoeCode, encodeDiscoveryFrame, formatMac, parseDiscoveryFrame, parseMac, type DiscoveryTags, type MacAddress,
} from '../../src/wire/pppoe/index.js';

const AC_NAME = 'l2tpkit-ac';
const USER = 'pppoe-user';
const PASS = 'pppoe-Secret-3';
const GUEST_MAC = '52:54:00:50:0e:01';
const LOCAL = '100.64.20.1';
const POOL = Array.from({ length: 10 }, (_, i) => `100.64.20.${10 + i}`);
const CYCLES = [
  { mode: 'kernel', auth: 'pap', method: 'pap', mtu: 1500, padt: 'ac', cause: 'closed' },
  { mode: 'user', auth: 'chap', method: 'chap-md5', mtu: 1492, padt: 'client', cause: 'padt-received' },
] as const;

let work = '';
let seg: Segment | undefined;
let capture: Capture | undefined;
let guest: GuestHandle | undefined;
let port: PppoeAcPort | undefined;
let forger: PacketSocket | undefined;
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
  port?.shutdown();
  forger?.close();
  await capture?.stop().catch(() => undefined);
  if (seg) {
    const names = [...seg.peers, seg.netns];
    seg.destroy();
    names.forEach(untrackNamespace);
  }
  if (work !== '') {
    if (failed) process.stderr.write(`pppoe-discovery: artefacts kept in ${work}\n`);
    else removeWorkDir(work);
  }
});

/** The second station: sends forged discovery and records what the AC answers it. */
class Forger {
  readonly got: Uint8Array[] = [];
  constructor(readonly sock: PacketSocket) {
    sock.onPackets((b) => {
      for (let i = 0; i < b.count; i++) this.got.push(b.copy(i));
    });
  }
  send(code: number, tags: DiscoveryTags, opts: { src?: MacAddress; dst: MacAddress; sid?: number }): void {
    const f = encodeDiscoveryFrame({
      ethernet: { destination: opts.dst, source: opts.src ?? this.sock.mac, vlans: [], ethertype: EtherType.pppoeDiscovery },
      packet: { code: code as 0x09, sessionId: opts.sid ?? 0, tags },
    });
    assert.equal(this.sock.send(f), true);
  }
  /** Discovery packets received with `code` since `from`. */
  codes(code: number, from = 0): number {
    return this.got.slice(from).filter((f) => {
      const r = parseDiscoveryFrame(f);
      return r.ok && r.value.packet.code === code;
    }).length;
  }
}

/** Forged discovery while the guest's session `sid` is up; returns problems found. */
async function forge(f: Forger, ac: PppoeAcPort, sid: number, guestMac: MacAddress): Promise<string[]> {
  const problems: string[] = [];
  const acMac = ac.socket.mac;
  const before = ac.ac.counters.dropped;
  const mark = f.got.length;
  f.send(PppoeCode.PADI, { serviceNames: [''], hostUniq: Uint8Array.of(0xf0, 0x0d) }, { dst: BROADCAST_MAC });
  const deadline = Date.now() + 3000;
  let cookie: Uint8Array | undefined;
  while (cookie === undefined && Date.now() < deadline) {
    await sleep(50);
    for (const g of f.got.slice(mark)) {
      const r = parseDiscoveryFrame(g);
      if (r.ok && r.value.packet.code === PppoeCode.PADO) cookie = r.value.packet.tags.acCookie;
    }
  }
  if (cookie === undefined) return ['the forger got no PADO'];
  const forged = Uint8Array.from(cookie);
  forged[3] = (forged[3] ?? 0) ^ 0x40;
  f.send(PppoeCode.PADR, { serviceNames: [''], acCookie: forged }, { dst: acMac });
  f.send(PppoeCode.PADR, { serviceNames: [''], acCookie: cookie }, { dst: acMac, src: parseMac('02:00:00:00:77:77') as MacAddress });
  f.send(PppoeCode.PADT, {}, { dst: acMac, sid });
  f.send(PppoeCode.PADT, {}, { dst: acMac, src: guestMac, sid: sid === 0xfffe ? 1 : sid + 1 });
  assert.equal(f.sock.send(encodeDiscoveryFrame({ ethernet: { destination: acMac, source: f.sock.mac, vlans: [], ethertype: EtherType.pppoeDiscovery }, packet: { code: PppoeCode.PADR, sessionId: 0, tags: { serviceNames: [''] } } }).subarray(0, 22)), true);
  await sleep(1500);
  const d = ac.ac.counters.dropped;
  const delta = (k: keyof typeof d): number => d[k] - before[k];
  if (delta('bad-cookie') !== 2) problems.push(`bad-cookie drops ${delta('bad-cookie')}, want 2`);
  if (delta('spoofed-padt') !== 1) problems.push(`spoofed-padt drops ${delta('spoofed-padt')}, want 1`);
  if (delta('unknown-session') !== 1) problems.push(`unknown-session drops ${delta('unknown-session')}, want 1`);
  if (delta('malformed') !== 1) problems.push(`malformed drops ${delta('malformed')}, want 1`);
  if (f.codes(PppoeCode.PADS, mark) !== 0) problems.push('the forger got a PADS');
  if (ac.ac.session(sid) === undefined) problems.push(`the guest's session ${sid} was ended by a forgery`);
  return problems;
}

test('pppd rp-pppoe plugin and rp-pppoe userspace client against our AC: discovery, LCP in the session, IPCP, forged discovery dropped, PADT both ways, clean capture', { timeout: 420_000 }, async () => {
  work = makeWorkDir('pppoe-discovery');
  seg = createSegment();
  trackNamespace(seg.netns);
  const acNs = seg.addPeer('ac', '198.18.0.1/24');
  const xNs = seg.addPeer('x', '198.18.0.2/24');
  trackNamespace(acNs);
  trackNamespace(xNs);
  // RFC 4638: a 1508-byte link carries 1500-byte PPP payloads (the pings stay small: the tap is 1500).
  ipIn(acNs, ['link', 'set', 'eth0', 'mtu', '1508']);
  ipIn(seg.netns, ['link', 'set', `${seg.netns.slice(-6)}p0`, 'mtu', '1508']);
  capture = await startCapture(seg.netns, 'br0', join(work, 'bridge.pcap'), { filter: 'pppoed or pppoes', maxSeconds: 400 });

  const timers = new TimerDriver({ now });
  const term = new PppTerminator({ users: { [USER]: PASS }, localAddress: LOCAL, pool: POOL, lingerMs: 2500, now }, timers);
  const events: PppoeAcEvent[] = [];
  port = PppoeAcPort.open({
    socket: { interface: 'eth0', netns: acNs },
    ac: { acName: AC_NAME, serviceNames: ['isp-a', 'isp-b'] },
    timers,
    onEvent: (e) => {
      events.push(e);
      term.onEvent(e, (sid, deliver) => port?.ac.bindSink(sid, { deliver }, now()) ?? false);
    },
  });
  const ac = port;
  term.attach(ac);
  assert.equal(ac.socket.mtu, 1508);
  const f = new Forger(PacketSocket.open({ interface: 'eth0', netns: xNs }));
  forger = f.sock;
  const guestMac = parseMac(GUEST_MAC) as MacAddress;

  const outDir = join(work, 'guest');
  mkdirSync(outDir, { recursive: true });
  guest = startGuest({
    test: 'pppoe-ac-client',
    env: { AC: AC_NAME, USER, PASS, CYCLES: CYCLES.map((c) => `${c.mode}:${c.auth}:${c.mtu}`).join(','), POOL: '100.64.20.0/24', SYNC_TMO: '60', UP_TMO: '45' },
    network: { netns: seg.netns, ip: '198.18.0.10/24', mac: GUEST_MAC },
    timeoutSec: 380,
    outDir,
  });
  const g = guest;
  const problems: string[] = [];

  const disc = await g.waitForLine(/^DISCOVERY: /, 200);
  if (disc === undefined) problems.push('the guest never ran pppoe-discovery');
  else {
    if (!disc.includes(`ac=${AC_NAME} `)) problems.push(`pppoe-discovery saw another AC: ${disc}`);
    if (!/services=[^ ]*isp-a,isp-b/.test(disc)) problems.push(`pppoe-discovery services: ${disc}`);
    if (!disc.endsWith('cookie=yes')) problems.push(`pppoe-discovery saw no cookie: ${disc}`);
  }

  for (const [i, c] of CYCLES.entries()) {
    const n = i + 1;
    const up = await g.waitForLine(new RegExp(`^SYNC: up ${n} `), 150);
    if (up === undefined) {
      problems.push(`cycle ${n} (${c.mode}): the guest's PPP never came up`);
      break;
    }
    const [, , , , addr, mtu] = up.split(' ');
    const upEv = events.filter((e): e is Extract<PppoeAcEvent, { type: 'session-up' }> => e.type === 'session-up' && e.mac === guestMac).at(-1);
    const s = upEv === undefined ? undefined : term.sessions.get(upEv.sessionId);
    if (upEv === undefined || s === undefined) {
      problems.push(`cycle ${n}: no session-up for ${GUEST_MAC}`);
      break;
    }
    const sid = upEv.sessionId;
    const want = c.mtu > 1492 ? 1500 : 1492;
    if (upEv.maxPayload !== want) problems.push(`cycle ${n}: session maxPayload ${upEv.maxPayload}, want ${want}`);
    if (mtu !== String(c.mtu)) problems.push(`cycle ${n}: guest ppp MTU ${mtu}, want ${c.mtu}`);
    if (upEv.serviceName !== 'isp-a') problems.push(`cycle ${n}: service ${upEv.serviceName}`);
    if (s.lcpConfReqs.length === 0) problems.push(`cycle ${n}: no LCP Configure-Request reached the session sink`);
    // RFC 1661 §6.4: pppd always sends a Magic-Number (type 5, length 6) in its Configure-Request.
    else if (!hasOption(s.lcpConfReqs[0] ?? new Uint8Array(), 5)) problems.push(`cycle ${n}: the first LCP Configure-Request has no Magic-Number`);
    if (s.address !== addr) problems.push(`cycle ${n}: our IPCP gave ${String(s.address)}, the guest has ${addr}`);
    if (s.username !== USER || s.authMethod !== c.method) problems.push(`cycle ${n}: auth ${String(s.authMethod)} as ${String(s.username)}`);
    if (s.echoesAnswered < 3) problems.push(`cycle ${n}: ${s.echoesAnswered} pings answered`);
    problems.push(...(await forge(f, ac, sid, guestMac)).map((p) => `cycle ${n}: ${p}`));
    writeFileSync(join(outDir, `SYNC-up-${n}`), '');

    const down = await g.waitForLine(new RegExp(`^SYNC: down ${n} `), 90);
    if (down === undefined) {
      problems.push(`cycle ${n}: no SYNC down line`);
      break;
    }
    const end = Date.now() + 10_000;
    while (s.sessionDown === undefined && Date.now() < end) await sleep(100);
    if (!down.endsWith(`padt=${c.padt}`)) problems.push(`cycle ${n}: ${down} (want padt=${c.padt})`);
    if (s.sessionDown?.cause !== c.cause) problems.push(`cycle ${n}: session-down ${JSON.stringify(s.sessionDown)}, want cause ${c.cause}`);
    if (s.linkDown !== 'peer-terminated') problems.push(`cycle ${n}: PPP ended with ${String(s.linkDown)}`);
    if (addr !== undefined && !term.freeAddresses.includes(addr)) problems.push(`cycle ${n}: ${addr} not back in the pool`);
    writeFileSync(join(outDir, `SYNC-down-${n}`), '');
  }

  const r = await g.done;
  if (!r.ok) problems.push(`guest: ${r.status}${r.timedOut ? ' (timed out)' : ''}\n${r.log.split('\n').slice(-40).join('\n')}`);
  process.stderr.write(`pppoe-discovery: guest ${r.status} boot ${String(r.bootSec)} s wall ${r.wallSec.toFixed(0)} s; AC counters ${JSON.stringify(ac.ac.counters)}\n`);
  ac.shutdown();
  timers.close();
  await capture.stop();

  // The forger's truncated PADRs (one per cycle) are malformed on purpose: exactly those, nothing else.
  const acMac = formatMac(ac.socket.mac);
  const fmac = formatMac(f.sock.mac);
  const injected = `eth.src == ${fmac} && frame.len == 22`;
  const malformed = (await run('tshark', ['-n', '-r', capture.file, '-Y', '_ws.malformed', '-T', 'fields', '-e', 'eth.src', '-e', 'frame.len'], { timeoutMs: 60_000 })).stdout.split('\n').filter((l) => l !== '');
  if (malformed.length !== CYCLES.length || malformed.some((l) => l !== `${fmac}\t22`)) problems.push(`malformed frames other than the ${CYCLES.length} injected ones: ${malformed.join('; ')}`);
  const judged = join(work, 'judged.pcap');
  await run('tshark', ['-n', '-r', capture.file, '-Y', `!(${injected})`, '-F', 'pcap', '-w', judged], { timeoutMs: 60_000 });
  const report = await analyzeCapture(judged);
  if (!isClean(report)) problems.push(describeReport(report));
  const rows = (await run('tshark', ['-n', '-r', capture.file, '-Y', 'pppoed', '-T', 'fields', '-E', 'separator=|', '-e', 'eth.src', '-e', 'eth.dst', '-e', 'pppoe.code'], { timeoutMs: 60_000 })).stdout
    .split('\n').filter((l) => l !== '').map((l) => l.split('|'));
  const seen = (src: string, code: number): number => rows.filter((x) => x[0] === src && Number(x[2]) === code).length;
  for (const [src, code, what] of [[GUEST_MAC, 0x09, 'PADI'], [acMac, 0x07, 'PADO'], [GUEST_MAC, 0x19, 'PADR'], [acMac, 0x65, 'PADS'], [acMac, 0xa7, 'PADT from us'], [GUEST_MAC, 0xa7, 'PADT from the client'], [fmac, 0x19, 'forged PADR']] as const) {
    if (seen(src, code) === 0) problems.push(`capture: no ${what}`);
  }
  if (rows.some((x) => x[1] === fmac && Number(x[2]) === 0x65)) problems.push('capture: a PADS went to the forger');
  const lcp = (await run('tshark', ['-n', '-r', capture.file, '-Y', `pppoes && lcp && ppp.code == 1 && eth.src == ${GUEST_MAC}`], { timeoutMs: 60_000 })).stdout.split('\n').filter((l) => l !== '').length;
  if (lcp === 0) problems.push('capture: no LCP Configure-Request from the guest in a session');
  process.stderr.write(`pppoe-discovery: ${report.packets} frames, ${rows.length} discovery, ${lcp} LCP Configure-Requests from the guest\n`);

  assert.deepStrictEqual(problems, []);
  failed = false;
});

/** True when an LCP packet (Protocol field first) carries option `type`. */
function hasOption(frame: Uint8Array, type: number): boolean {
  let o = 6; // protocol (2) + code, id, length (4)
  while (o + 2 <= frame.length) {
    if (frame[o] === type) return true;
    o += Math.max(2, frame[o + 1] ?? 2);
  }
  return false;
}
