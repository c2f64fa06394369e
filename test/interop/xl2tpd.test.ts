/**
 * Real-peer interop of the L2TPv2 control plane (RFC 2661) against xl2tpd 1.3.x (Debian):
 *  - xl2tpd LAC -> our LNS: tunnel and session established on both sides, then xl2tpd hangs the call
 *    up (CDN, seen and acked by us) and drops the tunnel (StopCCN, seen and acked by us);
 *  - our LAC -> xl2tpd LNS: established on both sides, then `l2tpctl clear session` (xl2tpd logs the
 *    CDN) and `l2tpctl clear tunnel` (xl2tpd logs the StopCCN);
 *  - both once plain, once with tunnel authentication in both directions (Challenge / Challenge
 *    Response AVPs, §4.4.3 and §5.1.1), once with hidden AVPs (§4.3), plus a wrong secret in each
 *    direction (tunnel refused on both sides);
 *  - every run is captured on the bridge and must decode in tshark with zero malformed packets and zero
 *    error/warning expert items.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  INTEROP_PACKAGES, analyzeCapture, createTopology, describeReport, ensureDebianPackages, formatMessages, is,
  isClean, listL2tpMessages, makeWorkDir, removeWorkDir, requireRoot, sleep, startCapture, startL2tpd, startXl2tpd,
  type Capture, type CaptureReport, type CapturedMessage, type L2tpd, type ShownTunnel, type Topology, type Xl2tpd,
  type Xl2tpdEvent,
} from './lib/index.js';

/** One configuration of a run. */
interface Variant {
  readonly label: string;
  /** Shared tunnel secret on both sides; undefined = no tunnel authentication. */
  readonly secret?: string;
  /** Hidden AVPs on: our `hide_avps = true`, xl2tpd `hidden bit = yes`. */
  readonly hide: boolean;
  /** Our `[l2tp] vendor_name` (default: the daemon's). */
  readonly vendorName?: string;
}

const VARIANTS: readonly Variant[] = [
  { label: 'plain', hide: false },
  { label: 'tunnel auth both ways', secret: 'interop-s3cret', hide: false },
  { label: 'hidden AVPs', secret: 'interop-h1dden', hide: true },
  // Issue 10: hidden AVPs with tunnel authentication and a 200-octet Vendor Name (label short: the
  // control socket path lives under the run directory and must stay under 108 bytes).
  { label: 'long vendor, hidden, auth', secret: 'interop-l0ng-vendor', hide: true, vendorName: `l2tpkit interop ${'0123456789abcdef'.repeat(12)}`.slice(0, 200) },
];

/** AVP attribute types used in assertions (RFC 2661 §4.4). */
const AVP = { vendorName: 8, challenge: 11, challengeResponse: 13, randomVector: 36 } as const;

type Received = Extract<Xl2tpdEvent, { type: 'received' }>;
const received = (messageType: number) => (e: Xl2tpdEvent): e is Received => e.type === 'received' && e.messageType === messageType;

/** Asserts that `expected` ([sender, name] pairs) occur in this order among the non-ZLB/HELLO messages. */
function assertOrdered(msgs: readonly CapturedMessage[], expected: ReadonlyArray<readonly [string, string]>): CapturedMessage[] {
  const found: CapturedMessage[] = [];
  let i = 0;
  for (const m of msgs) {
    const want = expected[i];
    if (want && m.src === want[0] && m.name === want[1]) {
      found.push(m);
      i += 1;
    }
  }
  assert.equal(i, expected.length, `expected ${expected.map(([s, n]) => `${s}:${n}`).join(' ')} in order; capture:\n${formatMessages(msgs)}`);
  return found;
}

/** Asserts that `sender` acknowledged `msg` (a later message from it with Nr past msg's Ns, §5.8). */
function assertAcked(msgs: readonly CapturedMessage[], msg: CapturedMessage, sender: string): void {
  const ack = msgs.find((m) => m.frame > msg.frame && m.src === sender && m.nr !== undefined && msg.ns !== undefined && m.nr === ((msg.ns + 1) & 0xffff));
  assert.ok(ack, `${msg.name} (frame ${msg.frame}, ns ${String(msg.ns)}) was not acknowledged by ${sender}:\n${formatMessages(msgs)}`);
}

/** The tunnel-authentication evidence on the wire (§5.1.1): Challenge and Challenge Response from both sides. */
function assertTunnelAuthBothWays(msgs: readonly CapturedMessage[], a: string, b: string): void {
  for (const side of [a, b]) {
    const sent = msgs.filter((m) => m.src === side);
    assert.ok(sent.some((m) => m.avpTypes.includes(AVP.challenge)), `${side} sent a Challenge AVP\n${formatMessages(msgs)}`);
    assert.ok(sent.some((m) => m.avpTypes.includes(AVP.challengeResponse)), `${side} sent a Challenge Response AVP\n${formatMessages(msgs)}`);
  }
}

/** With hide_avps on, at least one of our AVPs carries the H bit and a Random Vector precedes it (§4.3). */
function assertWeHid(msgs: readonly CapturedMessage[], us: string): void {
  const hidden = msgs.filter((m) => m.src === us && m.hiddenAvps > 0);
  assert.ok(
    hidden.length > 0,
    `hide_avps = true, but none of our AVPs had the H bit set in this flow (which AVPs does the engine hide?)\n${formatMessages(msgs)}`,
  );
  for (const m of hidden) assert.ok(m.avpTypes.includes(AVP.randomVector), `frame ${m.frame}: hidden AVP without a Random Vector AVP`);
}

describe('L2TPv2 interop with xl2tpd (Debian)', () => {
  let topo: Topology | undefined;
  let work = '';
  let runNo = 0;
  const running: Array<{ stop(): Promise<void> }> = [];
  const results: string[] = [];

  before(async () => {
    requireRoot();
    await ensureDebianPackages(INTEROP_PACKAGES);
    topo = await createTopology(['us', 'peer'], 43);
    work = makeWorkDir('xl2tpd');
  });

  after(async () => {
    for (const p of running.splice(0)) await p.stop();
    await topo?.destroy();
    if (work) removeWorkDir(work);
    for (const r of results) console.log(r);
  });

  /** Starts what a run needs, in order, remembering everything for teardown. */
  const track = <T extends { stop(): Promise<void> }>(p: T): T => {
    running.push(p);
    return p;
  };
  const stopAll = async (): Promise<void> => {
    for (const p of running.splice(0).reverse()) await p.stop();
  };
  const newRun = async (label: string): Promise<{ dir: string; cap: Capture }> => {
    assert.ok(topo);
    await stopAll(); // leftovers of a failed run
    runNo += 1;
    const dir = join(work, `${String(runNo).padStart(2, '0')}-${label.replace(/[^a-z0-9]+/gi, '-')}`);
    const cap = track(await startCapture(topo.bridgeNs, topo.bridgeIface, `${dir}.pcap`, { maxSeconds: 120 }));
    return { dir, cap };
  };
  /** Stops everything, judges the capture and records the numbers. */
  const finish = async (label: string, cap: Capture): Promise<{ report: CaptureReport; msgs: CapturedMessage[] }> => {
    await stopAll();
    const report = await analyzeCapture(cap.file);
    const msgs = await listL2tpMessages(cap.file);
    results.push(`${label}: ${describeReport(report).split('\n')[0] ?? ''}`);
    return { report, msgs };
  };
  const describeBoth = (us: L2tpd, x: Xl2tpd): string => `-- our log:\n${us.logTail(30)}\n-- xl2tpd log:\n${x.logTail(30)}`;

  for (const v of VARIANTS) {
    test(`xl2tpd LAC -> our LNS (${v.label}): established both sides, CDN and StopCCN seen by us`, async () => {
      assert.ok(topo);
      const usN = topo.node('us');
      const peerN = topo.node('peer');
      const label = `xl2tpd-lac-to-our-lns ${v.label}`;
      const { dir, cap } = await newRun(label);
      const us = track(await startL2tpd({
        ns: usN.ns, dir: join(dir, 'l2tpd'), hostName: 'l2tpkit-lns', ...(v.vendorName !== undefined ? { vendorName: v.vendorName } : {}),
        listen: [{ address: usN.address, ...(v.secret !== undefined ? { secret: v.secret } : {}), hideAvps: v.hide }],
      }));
      const x = track(await startXl2tpd({
        ns: peerN.ns, dir: join(dir, 'xl2tpd'), listenAddress: peerN.address,
        ...(v.secret !== undefined ? { secret: v.secret } : {}),
        lacs: [{ name: 'us', lns: usN.address, hostname: 'xl2tpd-lac', challenge: v.secret !== undefined, hiddenBit: v.hide }],
      }));

      await x.dial('us');
      const xCall = await x.waitEvent('call established', is('call-established'), 15_000);
      const xTun = x.events().find(is('tunnel-established'));
      assert.ok(xTun, 'xl2tpd logged the tunnel as established');
      const t = await us.waitTunnels(
        'tunnel and session established',
        (ts) => ts.find((tt) => tt.state === 'established' && tt.sessions.some((s) => s.state === 'established')),
        15_000,
      );
      assert.equal(t.remoteTunnelId, xTun.localTunnel, 'our remote tunnel id is xl2tpd\'s local one');
      assert.equal(t.localTunnelId, xTun.remoteTunnel, 'xl2tpd\'s remote tunnel id is our local one');
      assert.equal(t.remoteHostName, 'xl2tpd-lac');
      const s = t.sessions.find((ss) => ss.state === 'established');
      assert.ok(s);
      assert.equal(s.remoteSessionId, xCall.localCall);
      assert.equal(s.localSessionId, xCall.remoteCall);
      assert.ok(!x.events().some(is('auth-failed')), describeBoth(us, x));
      assert.ok(!x.events().some(is('hidden-avp-error')), describeBoth(us, x));

      // Stays up: nobody tears anything down by itself.
      await sleep(1000);
      const still = (await us.tunnels()).find((tt) => tt.localTunnelId === t.localTunnelId);
      assert.equal(still?.sessions.find((ss) => ss.localSessionId === s.localSessionId)?.state, 'established');

      // xl2tpd hangs the call up -> CDN; we drop the session, the tunnel stays.
      await x.hangup(xCall.localCall);
      await us.waitTunnels(
        'session closed after CDN',
        (ts) => {
          const tt = ts.find((u) => u.localTunnelId === t.localTunnelId);
          return tt && tt.state === 'established' && !tt.sessions.some((ss) => ss.localSessionId === s.localSessionId && ss.state === 'established') ? true : undefined;
        },
        10_000,
      );
      // xl2tpd drops the tunnel -> StopCCN; our tunnel goes away.
      await x.disconnect('us');
      await us.waitTunnels('tunnel closed after StopCCN', (ts) => (ts.some((u) => u.localTunnelId === t.localTunnelId && u.state === 'established') ? undefined : true), 10_000);
      await x.waitEvent('tunnel destroyed', is('tunnel-destroyed'), 10_000);

      const { report, msgs } = await finish(label, cap);
      const [, , , , , , cdn, stop] = assertOrdered(msgs, [
        [peerN.address, 'SCCRQ'], [usN.address, 'SCCRP'], [peerN.address, 'SCCCN'],
        [peerN.address, 'ICRQ'], [usN.address, 'ICRP'], [peerN.address, 'ICCN'],
        [peerN.address, 'CDN'], [peerN.address, 'StopCCN'],
      ]);
      assert.ok(cdn && stop);
      assertAcked(msgs, cdn, usN.address);
      assertAcked(msgs, stop, usN.address);
      if (v.secret !== undefined) assertTunnelAuthBothWays(msgs, usN.address, peerN.address);
      if (v.hide) {
        assertWeHid(msgs, usN.address);
      }
      if (v.vendorName !== undefined) assert.ok(msgs.some((m) => m.src === usN.address && m.name === 'SCCRP' && m.avpTypes.includes(AVP.vendorName)), 'our SCCRP carries the long Vendor Name');
      assert.ok(isClean(report), describeReport(report));
    });

    test(`our LAC -> xl2tpd LNS (${v.label}): established both sides, clear session / clear tunnel seen by xl2tpd`, async () => {
      assert.ok(topo);
      const usN = topo.node('us');
      const peerN = topo.node('peer');
      const label = `our-lac-to-xl2tpd-lns ${v.label}`;
      const { dir, cap } = await newRun(label);
      const x = track(await startXl2tpd({
        ns: peerN.ns, dir: join(dir, 'xl2tpd'), listenAddress: peerN.address,
        ...(v.secret !== undefined ? { secret: v.secret } : {}),
        lns: { hostname: 'xl2tpd-lns', challenge: v.secret !== undefined, hiddenBit: v.hide },
      }));
      const us = track(await startL2tpd({
        ns: usN.ns, dir: join(dir, 'l2tpd'), hostName: 'l2tpkit-lac', ...(v.vendorName !== undefined ? { vendorName: v.vendorName } : {}),
        listen: [{ address: usN.address }],
        lacs: [{ name: 'xl2tpd', lns: peerN.address, ...(v.secret !== undefined ? { secret: v.secret } : {}), hideAvps: v.hide, sessions: 1, redial: false }],
      }));

      const xCall = await x.waitEvent('call established', is('call-established'), 15_000).catch((e: unknown) => {
        throw new Error(`${(e as Error).message}\n${describeBoth(us, x)}`);
      });
      const xTun = x.events().find(is('tunnel-established'));
      assert.ok(xTun);
      const t: ShownTunnel = await us.waitTunnels(
        'tunnel and session established',
        (ts) => ts.find((tt) => tt.state === 'established' && tt.sessions.some((s) => s.state === 'established')),
        15_000,
      );
      assert.equal(t.remoteTunnelId, xTun.localTunnel);
      assert.equal(t.localTunnelId, xTun.remoteTunnel);
      assert.equal(t.remoteHostName, 'xl2tpd-lns');
      const s = t.sessions.find((ss) => ss.state === 'established');
      assert.ok(s);
      assert.equal(s.remoteSessionId, xCall.localCall);
      assert.equal(s.localSessionId, xCall.remoteCall);
      assert.equal(x.events().find(is('peer-hostname'))?.hostname, 'l2tpkit-lac');
      assert.ok(!x.events().some(is('auth-failed')), describeBoth(us, x));
      assert.ok(!x.events().some(is('hidden-avp-error')), describeBoth(us, x));

      await sleep(1000);
      assert.ok(!x.events().some(received(14)), `no CDN before we clear the session\n${describeBoth(us, x)}`);

      const from = x.events().length;
      await us.ctl(['clear', 'session', `${t.localTunnelId}/${s.localSessionId}`]);
      const cdn = await x.waitEvent('CDN from us', received(14), 10_000, from);
      assert.equal(cdn.call, xCall.localCall, 'CDN addressed to xl2tpd\'s call id');
      assert.ok(cdn.resultCode !== undefined && cdn.resultCode >= 1 && cdn.resultCode <= 11, `CDN result code ${String(cdn.resultCode)}`);
      await x.waitEvent('call closed by peer', is('call-closed-by-peer'), 5000, from);
      await us.waitTunnels(
        'session gone',
        (ts) => {
          const tt = ts.find((u) => u.localTunnelId === t.localTunnelId);
          return tt && !tt.sessions.some((ss) => ss.localSessionId === s.localSessionId && ss.state === 'established') ? true : undefined;
        },
        10_000,
      );

      const from2 = x.events().length;
      await us.ctl(['clear', 'tunnel', String(t.localTunnelId)]);
      const stop = await x.waitEvent('StopCCN from us', received(4), 10_000, from2);
      assert.ok(stop.resultCode !== undefined && stop.resultCode >= 1 && stop.resultCode <= 7, `StopCCN result code ${String(stop.resultCode)}`);
      await x.waitEvent('tunnel closed by peer', is('tunnel-closed-by-peer'), 5000, from2);
      await us.waitTunnels('tunnel gone', (ts) => (ts.some((u) => u.localTunnelId === t.localTunnelId && u.state === 'established') ? undefined : true), 10_000);

      const { report, msgs } = await finish(label, cap);
      const found = assertOrdered(msgs, [
        [usN.address, 'SCCRQ'], [peerN.address, 'SCCRP'], [usN.address, 'SCCCN'],
        [usN.address, 'ICRQ'], [peerN.address, 'ICRP'], [usN.address, 'ICCN'],
        [usN.address, 'CDN'], [usN.address, 'StopCCN'],
      ]);
      for (const m of found.slice(6)) assertAcked(msgs, m, peerN.address);
      if (v.secret !== undefined) assertTunnelAuthBothWays(msgs, usN.address, peerN.address);
      if (v.hide) {
        assertWeHid(msgs, usN.address);
      }
      if (v.vendorName !== undefined) assert.ok(msgs.some((m) => m.src === usN.address && m.name === 'SCCRQ' && m.avpTypes.includes(AVP.vendorName)), 'our SCCRQ carries the long Vendor Name');
      assert.ok(isClean(report), describeReport(report));
    });
  }

  test('wrong secret, xl2tpd LAC -> our LNS: tunnel refused on both sides', async () => {
    assert.ok(topo);
    const usN = topo.node('us');
    const peerN = topo.node('peer');
    const label = 'wrong-secret xl2tpd-lac-to-our-lns';
    const { dir, cap } = await newRun(label);
    const us = track(await startL2tpd({ ns: usN.ns, dir: join(dir, 'l2tpd'), hostName: 'l2tpkit-lns', listen: [{ address: usN.address, secret: 'ours-differs' }] }));
    const x = track(await startXl2tpd({
      ns: peerN.ns, dir: join(dir, 'xl2tpd'), listenAddress: peerN.address, secret: 'theirs-differs',
      lacs: [{ name: 'us', lns: usN.address, hostname: 'xl2tpd-lac', challenge: true }],
    }));
    await x.dial('us');
    await x.waitEvent('authentication failure', is('auth-failed'), 10_000).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${describeBoth(us, x)}`);
    });
    await sleep(1500);
    assert.ok(!x.events().some(is('tunnel-established')), `xl2tpd must not establish\n${x.logTail()}`);
    assert.ok(!(await us.tunnels()).some((t) => t.state === 'established'), `we must not establish\n${us.logTail()}`);
    const { report, msgs } = await finish(label, cap);
    assert.ok(!msgs.some((m) => m.name === 'SCCCN' || m.name === 'ICRQ'), formatMessages(msgs));
    assert.ok(isClean(report), describeReport(report));
  });

  test('wrong secret, only our LNS challenges: we refuse xl2tpd\'s SCCCN, xl2tpd sees our StopCCN', async () => {
    assert.ok(topo);
    const usN = topo.node('us');
    const peerN = topo.node('peer');
    const label = 'wrong-secret our-lns-challenges';
    const { dir, cap } = await newRun(label);
    const us = track(await startL2tpd({ ns: usN.ns, dir: join(dir, 'l2tpd'), hostName: 'l2tpkit-lns', listen: [{ address: usN.address, secret: 'ours-differs' }] }));
    // xl2tpd does not challenge us, but answers our Challenge (in SCCCN) with its own, different secret.
    const x = track(await startXl2tpd({
      ns: peerN.ns, dir: join(dir, 'xl2tpd'), listenAddress: peerN.address, secret: 'theirs-differs',
      lacs: [{ name: 'us', lns: usN.address, hostname: 'xl2tpd-lac', challenge: false }],
    }));
    await x.dial('us');
    const stop = await x.waitEvent('StopCCN from us', received(4), 15_000).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${describeBoth(us, x)}`);
    });
    await x.waitEvent('tunnel closed by peer', is('tunnel-closed-by-peer'), 5000);
    await sleep(1000);
    assert.ok(!(await us.tunnels()).some((t) => t.state === 'established'), `we must not establish\n${us.logTail()}`);
    assert.ok(!x.events().some(is('call-established')), `no call may come up\n${x.logTail()}`);
    const { report, msgs } = await finish(`${label} (StopCCN result ${String(stop.resultCode)})`, cap);
    assertOrdered(msgs, [[peerN.address, 'SCCRQ'], [usN.address, 'SCCRP'], [peerN.address, 'SCCCN'], [usN.address, 'StopCCN']]);
    assert.ok(!msgs.some((m) => m.src === usN.address && m.name === 'ICRP'), formatMessages(msgs));
    assert.ok(isClean(report), describeReport(report));
  });

  test('wrong secret, our LAC -> xl2tpd LNS: tunnel refused on both sides', async () => {
    assert.ok(topo);
    const usN = topo.node('us');
    const peerN = topo.node('peer');
    const label = 'wrong-secret our-lac-to-xl2tpd-lns';
    const { dir, cap } = await newRun(label);
    const x = track(await startXl2tpd({
      ns: peerN.ns, dir: join(dir, 'xl2tpd'), listenAddress: peerN.address, secret: 'theirs-differs',
      lns: { hostname: 'xl2tpd-lns', challenge: true },
    }));
    const us = track(await startL2tpd({
      ns: usN.ns, dir: join(dir, 'l2tpd'), hostName: 'l2tpkit-lac', listen: [{ address: usN.address }],
      lacs: [{ name: 'xl2tpd', lns: peerN.address, secret: 'ours-differs', sessions: 1, redial: false }],
    }));
    // We find xl2tpd's Challenge Response wrong and close with StopCCN; xl2tpd never sees an SCCCN.
    await x.waitEvent('StopCCN from us', received(4), 15_000).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${describeBoth(us, x)}`);
    });
    await sleep(1000);
    assert.ok(!x.events().some(is('tunnel-established')), `xl2tpd must not establish\n${x.logTail()}`);
    assert.ok(!(await us.tunnels()).some((t) => t.state === 'established'), `we must not establish\n${us.logTail()}`);
    const { report, msgs } = await finish(label, cap);
    assert.ok(!msgs.some((m) => m.name === 'SCCCN' || m.name === 'ICRQ'), formatMessages(msgs));
    const stop = msgs.find((m) => m.src === usN.address && m.name === 'StopCCN');
    assert.ok(stop, formatMessages(msgs));
    assert.ok(isClean(report), describeReport(report));
  });
});
