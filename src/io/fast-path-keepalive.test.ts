// LCP keepalive offload in the native fast path (issue 15) with real packets (needs root; FAILS
// otherwise, like fast-path.test.ts): a TUN with two queues moved into namespace k15-ka-<pid>
// (100.64.91.1/24), the addon's UDP socket with two data threads and a stand-in LAC socket on
// 127.0.0.1. Our side's PPP link (a real PppLink, LCP negotiated in memory with a peer link) hands
// its keepalive to the addon with a 1 s interval and sends no Echo-Request itself from then on. The
// LAC socket answers the data thread's Echo-Requests (ids + 1, our magic; its replies never reach
// JS), gets a native Echo-Reply to its own Echo-Request (same id and data, our magic, RFC 1661 §5.8),
// keeps the session alive with data frames while it does not answer, and once silent the addon
// reports the session dead after `failure` unanswered requests: the link ends with echo-timeout.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { instant, type Instant, millis, seededRandom } from '../base/index.js';
import { PppLink, type PppEvent } from '../ppp/index.js';
import type { NativeFastPath } from './native.js';
import type { NativeUdpSocket } from './native-udp.js';
import type { TunDevice } from './tun.js';
import { echoReplyFor, ICMP_ECHO_REQUEST, writeIcmpEcho } from '../../test/lib/tun-packets.js';
import { waitFor } from '../../test/lib/l2tpd-process.js';
import { closeFastPathRig, openFastPathRig, type FastPathRig } from '../../test/lib/fast-path-rig.js';

const NETNS = `k15-ka-${process.pid}`;
const IFNAME = `k15ka${process.pid.toString(36)}`;
const LNS = '100.64.91.1';
const CLIENT = '100.64.91.2';
const CLIENT_N = 0x64405b02;
const OUR_T = 21;
const OUR_S = 33;
/** L2TP data header with the LAC's ids (5, 7) + PPP IPv4; LCP frames carry ff 03 c0 21. */
const HDR = [0x00, 0x02, 0x00, 0x05, 0x00, 0x07, 0xff, 0x03, 0x00, 0x21];
const PEER_MAGIC = 0x5eed5eed;
const INTERVAL = 1000;
const FAILURE = 3;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const now = (): Instant => instant(Math.floor(performance.now()));

/** test/lib's waitFor, failing with what was awaited. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  assert.ok(await waitFor(cond, ms), `timed out waiting for ${what}`);
}

/** An L2TP data message to our session carrying `ppp` (a PPP frame with address/control). */
const l2tp = (ppp: readonly number[] | Uint8Array): Buffer => Buffer.from([0x00, 0x02, 0, OUR_T, 0, OUR_S, ...ppp]);

/** An LCP packet (RFC 1661 §5.8 Echo) in a PPP frame: code, id, magic, data. */
function lcpEcho(code: number, id: number, magic: number, data: readonly number[] = []): number[] {
  const len = 8 + data.length;
  return [0xff, 0x03, 0xc0, 0x21, code, id, len >> 8, len & 0xff, magic >>> 24, (magic >>> 16) & 0xff, (magic >>> 8) & 0xff, magic & 0xff, ...data];
}

/** What the LAC socket received: an LCP Echo of ours, parsed. */
interface Echo {
  readonly at: number;
  readonly code: number;
  readonly id: number;
  readonly magic: number;
  readonly data: number[];
}

function parseEcho(m: Buffer): Echo | undefined {
  if (m.length < 18 || m.readUInt16BE(0) !== 0x0002 || m.readUInt16BE(2) !== 5 || m.readUInt16BE(4) !== 7) return undefined;
  if (m[6] !== 0xff || m[7] !== 0x03 || m.readUInt16BE(8) !== 0xc021) return undefined;
  const len = m.readUInt16BE(12);
  return { at: Date.now(), code: m[10]!, id: m[11]!, magic: m.readUInt32BE(14), data: [...m.subarray(18, 10 + len)] };
}

/** Our LNS-side link with LCP Opened (negotiated in memory with a peer link; no auth, no NCP). */
function openedLink(): PppLink {
  const cfg = { ipcp: false, ipv6cp: false, auth: [] } as const;
  const a = new PppLink({ ...cfg, role: 'authenticator', random: seededRandom(15), echoInterval: millis(INTERVAL), echoFailure: FAILURE, echoJitter: 0 });
  const b = new PppLink({ ...cfg, role: 'peer', random: seededRandom(16), echoInterval: millis(0) });
  const t = now();
  a.open(t);
  b.open(t);
  for (let guard = 0; guard < 100; guard++) {
    let moved = false;
    for (let f = a.pollTransmit(); f !== undefined; f = a.pollTransmit(), moved = true) b.handleFrame(t, f);
    for (let f = b.pollTransmit(); f !== undefined; f = b.pollTransmit(), moved = true) a.handleFrame(t, f);
    if (!moved) break;
  }
  assert.equal(a.lcpState, 'Opened');
  for (let e = a.pollEvent(); e !== undefined; e = a.pollEvent());
  return a;
}

describe('LCP keepalive offload on the data threads (root, namespace k15-ka-*)', { timeout: 60_000 }, () => {
  let tun: TunDevice;
  let sock: NativeUdpSocket;
  let lac: Socket;
  let fp: NativeFastPath;
  let rig: FastPathRig | undefined;
  let link: PppLink;
  let linkTimer: NodeJS.Timeout | undefined;
  const jsUdp: Buffer[] = [];
  const echoes: Echo[] = [];
  const other: Buffer[] = [];
  const dead: number[][] = [];
  const linkEvents: PppEvent[] = [];
  /** LCP frames the JS link wanted to send (Echo-Requests would be code 9). */
  const jsLcp: number[] = [];
  let answer = true;

  before(async () => {
    rig = await openFastPathRig({
      netns: NETNS, ifname: IFNAME, lnsAddress: LNS, threads: 2, onJs: (d) => jsUdp.push(d),
      onLac: (m) => {
        const e = parseEcho(m);
        if (e === undefined) return void other.push(m);
        echoes.push(e);
        if (e.code === 9 && answer) lac.send(l2tp(lcpEcho(10, e.id, PEER_MAGIC)), sock.local.port, '127.0.0.1');
      },
    });
    ({ tun, sock, lac, fp } = rig);
    assert.equal(fp.start(sock.openSiblings(2), tun.takeQueues()), 2);
    assert.equal(fp.stats().udpSteering, 'cbpf-session', 'per-session steering (the keepalive needs it)');
    assert.equal(fp.add(OUR_T, OUR_S, 0x7f000001, lac.address().port, CLIENT_N, 1400, 0, Uint8Array.from(HDR)), true);
    fp.keepaliveListener?.((r) => dead.push([...r]));
    link = openedLink();
    // The link's own timers run on the real clock, as the daemon's timer driver would run them.
    linkTimer = setInterval(() => {
      link.handleTimeout(now());
      for (let f = link.pollTransmit(); f !== undefined; f = link.pollTransmit()) if (f[2] === 0xc0 && f[3] === 0x21) jsLcp.push(f[4] ?? 0);
      for (let e = link.pollEvent(); e !== undefined; e = link.pollEvent()) linkEvents.push(e);
    }, 50);
  });

  after(async () => {
    if (linkTimer !== undefined) clearInterval(linkTimer);
    fp?.keepaliveListener?.(null);
    await closeFastPathRig(rig, NETNS);
  });

  const send = (b: Buffer): Promise<void> => new Promise((r) => lac.send(b, sock.local.port, '127.0.0.1', () => r()));
  const counters = (): number[] => fp.keepaliveCounters?.(OUR_T, OUR_S) ?? [];

  it('the link hands its keepalive over; the data thread sends Echo-Requests with our magic, answered ones keep it up', async () => {
    assert.equal(typeof fp.keepalive, 'function', 'this addon has the keepalive offload');
    const k = link.offloadEcho(now());
    assert.ok(k !== undefined, 'LCP Opened with keepalive on');
    assert.equal(link.pollAt(), undefined, 'no JS keepalive timer once offloaded');
    assert.equal(fp.keepalive?.(OUR_T, OUR_S, k.magic, k.interval, k.failure, k.jitter, k.adaptive, 0, k.addressControl, k.misses, k.outstanding, k.echoId), true);
    assert.equal(fp.keepalive?.(OUR_T, 99, k.magic, k.interval, k.failure, k.jitter, k.adaptive, 0, true, 0, false, 0), false, 'an unknown session');
    await until(() => echoes.filter((e) => e.code === 9).length >= 4, 8000, 'four native Echo-Requests');
    const reqs = echoes.filter((e) => e.code === 9);
    for (const e of reqs) assert.equal(e.magic, k.magic, 'our Magic-Number');
    assert.deepEqual(reqs.map((e) => e.id).slice(0, 4), [1, 2, 3, 4].map((i) => (k.echoId + i) & 0xff), 'identifiers increment');
    const gaps = reqs.slice(1).map((e, i) => e.at - reqs[i]!.at);
    console.log(`# native Echo-Request gaps (ms): ${gaps.join(', ')}`);
    // The first one leaves when the lane's thread next wakes (up to its idle poll); each next one is re-armed from its own due time.
    for (const g of gaps.slice(1)) assert.ok(g >= 700 && g <= 1400, `one interval apart: ${g} ms`);
    await sleep(200);
    const [sent, replied, , misses] = counters();
    assert.ok((sent ?? 0) >= 4 && (replied ?? 0) >= 3, `native counters sent ${sent} replied ${replied}`);
    assert.equal(misses, 0);
    assert.equal(dead.length, 0);
    assert.equal(jsLcp.length, 0, 'the JS automaton sent no LCP at all (no Echo-Request)');
    assert.equal(jsUdp.length, 0, 'no Echo-Reply reached JS');
    assert.equal(fp.keepaliveStats?.().echoSent, sent);
  });

  it('the peer\'s own Echo-Request gets a native Echo-Reply (same id and data, our magic); a looped reply is not counted', async () => {
    const magic = link.lcpInfo.ourMagic;
    const before = echoes.length;
    await send(l2tp(lcpEcho(9, 0x77, PEER_MAGIC, [1, 2, 3, 4, 5])));
    await until(() => echoes.slice(before).some((e) => e.code === 10), 3000, 'the native Echo-Reply');
    const rep = echoes.slice(before).find((e) => e.code === 10);
    assert.deepEqual(rep && { id: rep.id, magic: rep.magic, data: rep.data }, { id: 0x77, magic, data: [1, 2, 3, 4, 5] });
    const replied = counters()[1] ?? 0;
    await send(l2tp(lcpEcho(10, 0x01, magic)));
    await sleep(100);
    assert.equal(counters()[1], replied, 'a reply with our own magic (looped back) is not a reply');
    assert.equal(counters()[2], 1, 'answered one peer request');
    assert.equal(jsUdp.length, 0, 'nothing of it reached JS');
  });

  it('a peer that does not answer but sends data stays alive (adaptive: no Echo-Request needed)', async () => {
    answer = false;
    await sleep(INTERVAL + 200); // an Echo-Request in flight at the switch goes unanswered
    const start = echoes.filter((e) => e.code === 9).length;
    const b = Buffer.alloc(84);
    for (let i = 0; i < 14; i++) {
      writeIcmpEcho(b, 0, 84, ICMP_ECHO_REQUEST, CLIENT, LNS, 0x4242, i);
      await send(l2tp([0xff, 0x03, 0x00, 0x21, ...b]));
      await sleep(250);
    }
    assert.ok(echoReplyFor(b).length > 0);
    const during = echoes.filter((e) => e.code === 9).length - start;
    assert.ok(during <= 1, `Echo-Requests while data flowed: ${during}`);
    assert.equal(dead.length, 0, 'not reported dead');
    assert.equal(counters()[3], 0, 'no miss counted');
    assert.ok((fp.counters(OUR_T, OUR_S)?.[0] ?? 0) >= 14, 'the data went natively to the TUN');
  });

  it('a silent peer: after `failure` unanswered Echo-Requests the addon reports it and the link ends with echo-timeout', async () => {
    const t0 = Date.now();
    const start = echoes.filter((e) => e.code === 9).length;
    await until(() => dead.length > 0, 10_000, 'the dead report');
    const elapsed = Date.now() - t0;
    const sentSilent = echoes.filter((e) => e.code === 9).length - start;
    console.log(`# dead report after ${elapsed} ms of silence, ${sentSilent} unanswered Echo-Requests`);
    assert.deepEqual(dead[0], [OUR_T, OUR_S, FAILURE]);
    assert.ok(elapsed >= (FAILURE - 1) * INTERVAL, `not before (failure-1) intervals: ${elapsed} ms`);
    assert.equal(sentSilent, FAILURE, 'exactly `failure` requests went unanswered');
    assert.equal(fp.keepaliveStats?.().echoDead, 1);
    link.offloadedEcho(dead[0]?.[2] ?? 0, now());
    await until(() => linkEvents.some((e) => e.type === 'link-down') || jsLcp.includes(5), 3000, 'the link closing');
    assert.ok(jsLcp.includes(5), 'LCP Terminate-Request sent (RFC 1661 §5.5)');
    await sleep(2 * INTERVAL);
    assert.equal(echoes.filter((e) => e.code === 9).length - start, FAILURE, 'no Echo-Request after the report');
    // The link's Terminate-Request goes unanswered too: it gives up after Max-Terminate with echo-timeout.
    await until(() => linkEvents.some((e) => e.type === 'link-down'), 30_000, 'link-down');
    const down = linkEvents.find((e) => e.type === 'link-down');
    assert.equal(down?.type === 'link-down' ? down.reason : undefined, 'echo-timeout');
    assert.ok(other.length >= 14, 'the ICMP echo replies came back as L2TP data natively');
  });
});
