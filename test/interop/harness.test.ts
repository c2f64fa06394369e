/**
 * Self-check of the interop harness, independent of our daemon: xl2tpd LAC against xl2tpd LNS (with
 * tunnel authentication both ways), a hand-encoded Node UDP probe against the xl2tpd LNS, and a proof
 * that the capture verdict really flags a malformed L2TP packet.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  INTEROP_PACKAGES, analyzeCapture, createTopology, describeReport, ensureDebianPackages, formatMessages, is,
  isClean, listL2tpMessages, makeWorkDir, removeWorkDir, requireRoot, run, startCapture, startXl2tpd,
  type Topology, type Xl2tpd,
} from './lib/index.js';

const SECRET = 'harness-s3cret';

/** Command line that runs the probe (compiled .js, or the .ts source under tsx). */
function probeCommand(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const js = join(here, 'lib', 'udp-probe.js');
  if (existsSync(js)) return [process.execPath, js];
  return [process.execPath, '--import', 'tsx', join(here, 'lib', 'udp-probe.ts')];
}

describe('interop harness self-check (xl2tpd <-> xl2tpd, Node probe)', () => {
  let topo: Topology | undefined;
  let work = '';
  const started: Xl2tpd[] = [];

  before(async () => {
    requireRoot();
    await ensureDebianPackages(INTEROP_PACKAGES);
    topo = await createTopology(['lac', 'lns'], 41);
    work = makeWorkDir('harness');
  });

  after(async () => {
    for (const x of started) await x.stop();
    await topo?.destroy();
    if (work) removeWorkDir(work);
  });

  test('xl2tpd LAC -> xl2tpd LNS, tunnel auth both ways: established, CDN, StopCCN, clean capture', async () => {
    assert.ok(topo);
    const lacN = topo.node('lac');
    const lnsN = topo.node('lns');
    const cap = await startCapture(topo.bridgeNs, topo.bridgeIface, join(work, 'xl2tpd-pair.pcap'), { maxSeconds: 120 });
    const lns = await startXl2tpd({
      ns: lnsN.ns, dir: join(work, 'lns'), listenAddress: lnsN.address, secret: SECRET,
      lns: { hostname: 'xl2tpd-lns', challenge: true },
    });
    started.push(lns);
    const lac = await startXl2tpd({
      ns: lacN.ns, dir: join(work, 'lac'), listenAddress: lacN.address, secret: SECRET,
      lacs: [{ name: 'peer', lns: lnsN.address, hostname: 'xl2tpd-lac', challenge: true, hiddenBit: true }],
    });
    started.push(lac);

    await lac.dial('peer');
    const lacCall = await lac.waitEvent('call established', is('call-established'), 10_000);
    const lnsCall = await lns.waitEvent('call established', is('call-established'), 10_000);
    assert.equal(lnsCall.remoteCall, lacCall.localCall);
    assert.equal(lacCall.remoteCall, lnsCall.localCall);
    const lnsTun = lns.events().find(is('tunnel-established'));
    assert.ok(lnsTun, 'LNS logged the tunnel as established');
    // Tunnel authentication in both directions: each side saw a Challenge and a Challenge Response.
    for (const [name, x] of [['lac', lac], ['lns', lns]] as const) {
      assert.ok(x.events().some(is('challenge-found')), `${name} saw a Challenge AVP`);
      assert.ok(x.events().some(is('challenge-reply-found')), `${name} saw a Challenge Response AVP`);
      assert.ok(!x.events().some(is('auth-failed')), `${name} reported no auth failure`);
    }
    assert.equal(lns.events().find(is('peer-hostname'))?.hostname, 'xl2tpd-lac');

    // The call stays up (stand-in pppd): no CDN within a second.
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(!lns.events().some((e) => e.type === 'received' && e.messageType === 14), 'no early CDN');

    await lac.hangup(lacCall.localCall);
    const cdn = await lns.waitEvent('CDN received', (e): e is Extract<typeof e, { type: 'received' }> => e.type === 'received' && e.messageType === 14, 10_000);
    assert.equal(cdn.call, lnsCall.localCall);
    assert.equal(cdn.resultCode, 1);
    await lns.waitEvent('call closed by peer', is('call-closed-by-peer'), 5000);

    await lac.disconnect('peer');
    const stop = await lns.waitEvent('StopCCN received', (e): e is Extract<typeof e, { type: 'received' }> => e.type === 'received' && e.messageType === 4, 10_000);
    assert.equal(stop.resultCode, 1);
    await lns.waitEvent('tunnel closed by peer', is('tunnel-closed-by-peer'), 5000);
    await lac.waitEvent('tunnel destroyed', is('tunnel-destroyed'), 10_000);

    await cap.stop();
    const report = await analyzeCapture(cap.file);
    const msgs = await listL2tpMessages(cap.file);
    // The exchange, in order, by sender (ZLBs, HELLOs and retransmissions may come in between).
    const want: ReadonlyArray<readonly [string, string]> = [
      [lacN.address, 'SCCRQ'], [lnsN.address, 'SCCRP'], [lacN.address, 'SCCCN'], [lacN.address, 'ICRQ'],
      [lnsN.address, 'ICRP'], [lacN.address, 'ICCN'], [lacN.address, 'CDN'], [lacN.address, 'StopCCN'],
    ];
    let i = 0;
    for (const m of msgs) if (i < want.length && m.src === want[i]?.[0] && m.name === want[i]?.[1]) i += 1;
    assert.equal(i, want.length, formatMessages(msgs));
    // xl2tpd's "hidden bit" only adds a Random Vector AVP (36); it hides nothing itself.
    assert.ok(msgs.some((m) => m.src === lacN.address && m.avpTypes.includes(36)), 'LAC sent a Random Vector AVP');
    assert.ok(isClean(report), describeReport(report));
    console.log(describeReport(report));
  });

  test('Node UDP probe: SCCRQ -> SCCRP from xl2tpd LNS, StopCCN acked', async () => {
    assert.ok(topo);
    const lacN = topo.node('lac');
    const lnsN = topo.node('lns');
    const cap = await startCapture(topo.bridgeNs, topo.bridgeIface, join(work, 'probe.pcap'), { maxSeconds: 60 });
    const lns = await startXl2tpd({ ns: lnsN.ns, dir: join(work, 'lns-probe'), listenAddress: lnsN.address, lns: { hostname: 'xl2tpd-lns' } });
    started.push(lns);
    const [node, ...args] = probeCommand() as [string, ...string[]];
    const r = await run('ip', ['netns', 'exec', lacN.ns, node, ...args, '--to', lnsN.address], { timeoutMs: 20_000, check: false });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    assert.equal(r.code, 0, `probe failed: ${r.stdout}${r.stderr}\n${lns.logTail()}`);
    const res = JSON.parse(line) as { sccrp: { hostName: string | null; avpTypes: number[] }; stopccnAcked: boolean };
    assert.equal(res.sccrp.hostName, 'xl2tpd-lns');
    assert.ok(res.stopccnAcked);
    await lns.waitEvent('StopCCN from probe', (e): e is Extract<typeof e, { type: 'received' }> => e.type === 'received' && e.messageType === 4, 5000);
    await lns.stop();
    await cap.stop();
    const report = await analyzeCapture(cap.file);
    assert.ok(isClean(report), describeReport(report));
    console.log(describeReport(report));
  });

  test('the capture verdict flags a malformed L2TP packet', async () => {
    assert.ok(topo);
    const lacN = topo.node('lac');
    const lnsN = topo.node('lns');
    const cap = await startCapture(topo.bridgeNs, topo.bridgeIface, join(work, 'malformed.pcap'), { maxSeconds: 60 });
    const [node, ...args] = probeCommand() as [string, ...string[]];
    await run('ip', ['netns', 'exec', lacN.ns, node, ...args, '--to', lnsN.address, '--mode', 'malformed'], { timeoutMs: 20_000 });
    await cap.stop();
    const report = await analyzeCapture(cap.file);
    assert.equal(report.packets, 1, report.listing);
    assert.equal(report.malformed, 1, describeReport(report));
    assert.ok(report.errors >= 1, describeReport(report));
    assert.ok(report.messages.some((m) => /Malformed/.test(m)), report.messages.join('\n'));
    assert.ok(!isClean(report));
  });
});
