/**
 * Real-peer interop, client mode: our daemon as LAC + PPP client (`[[lac]] ppp = true`) dials l2tpns
 * 2.4 (Debian; userspace LNS with tun0) which authenticates against FreeRADIUS 3.2 (Debian):
 *  - user `lab`: L2TP tunnel + session established (RFC 2661), LCP, CHAP-MD5 (RFC 1994) accepted by
 *    FreeRADIUS (its log shows the Access-Request with CHAP-Password and the Access-Accept), IPCP
 *    (RFC 1332) address from l2tpns' pool 100.64.1.0/24, then ping from the netns holding our TUN
 *    to l2tpns' tun address 198.51.100.1 through the session; `l2tpctl clear tunnel` sends StopCCN
 *    and l2tpns logs the tunnel going away;
 *  - user `labfix`: the Framed-IP-Address from RADIUS (100.64.9.9) is exactly what IPCP gives us;
 *  - the whole run is captured on the bridge (L2TP incl. PPP in data messages, RADIUS) and must have
 *    zero malformed frames and zero error expert items in tshark.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  analyzeCapture, createTopology, describeReport, ensureDebianPackages, formatMessages, listL2tpMessages, makeWorkDir,
  removeWorkDir, requireRoot, run, startCapture, startL2tpd, tail, trackNamespace, untrackNamespace, waitUntil,
  type Capture, type L2tpd, type Topology,
} from './lib/index.js';
import { startFreeRadius, type FreeRadius } from './lib/freeradius.js';
import { startL2tpns, type L2tpns } from './lib/l2tpns.js';

/** Debian packages this file needs. */
const PACKAGES = ['l2tpns', 'freeradius', 'freeradius-utils', 'tshark', 'iproute2', 'iputils-ping', 'util-linux'] as const;
const RADIUS_SECRET = 'interop-radius-s3cret';
const TUN_ADDRESS = '198.51.100.1';
const POOL = '100.64.1.0/24';

/** A session as `l2tpctl show sessions --json` prints it (the fields used here). */
interface SessionView {
  readonly localTunnelId: number;
  readonly localSessionId: number;
  readonly state: string;
  readonly pppPhase?: string;
  readonly username?: string;
  readonly address?: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses `show sessions --json` (an array of session objects) without trusting its shape. */
function parseSessions(text: string): SessionView[] {
  const v: unknown = JSON.parse(text);
  if (!Array.isArray(v)) throw new Error(`show sessions --json is not an array: ${tail(text, 10)}`);
  return v.filter(isObj).map((s) => ({
    localTunnelId: Number(s['localTunnelId']),
    localSessionId: Number(s['localSessionId']),
    state: String(s['state']),
    ...(typeof s['pppPhase'] === 'string' ? { pppPhase: s['pppPhase'] } : {}),
    ...(typeof s['username'] === 'string' ? { username: s['username'] } : {}),
    ...(typeof s['address'] === 'string' ? { address: s['address'] } : {}),
  }));
}

/** True when dotted-quad `a` lies in `cidr`. */
function inPrefix(a: string, cidr: string): boolean {
  const toInt = (s: string): number => s.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
  const [net = '', len = '32'] = cidr.split('/');
  const bits = Number(len);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return /^\d+\.\d+\.\d+\.\d+$/.test(a) && ((toInt(a) & mask) >>> 0) === ((toInt(net) & mask) >>> 0);
}

describe('our LAC + PPP client dials l2tpns (Debian) with FreeRADIUS', () => {
  let topo: Topology | undefined;
  let cliNs = '';
  let work = '';
  let radius: FreeRadius | undefined;
  let lns: L2tpns | undefined;
  let cap: Capture | undefined;
  const clients: L2tpd[] = [];
  const results: string[] = [];

  before(async () => {
    requireRoot();
    await ensureDebianPackages(PACKAGES);
    topo = await createTopology(['lns', 'rad', 'lac'], 46);
    // Our client's TUN lives in its own namespace: the only way out of it is the PPP session.
    cliNs = `${topo.prefix}-cli`;
    trackNamespace(cliNs);
    await run('ip', ['netns', 'add', cliNs]);
    await run('ip', ['netns', 'exec', cliNs, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    await run('ip', ['-n', cliNs, 'link', 'set', 'lo', 'up']);
    work = makeWorkDir('l2tpns');
    cap = await startCapture(topo.bridgeNs, topo.bridgeIface, join(work, 'l2tpns.pcap'), { filter: 'udp port 1701 or udp port 1812', maxSeconds: 200 });
    const rad = topo.node('rad');
    const lnsNode = topo.node('lns');
    radius = await startFreeRadius({ ns: rad.ns, dir: join(work, 'freeradius'), clients: [{ address: lnsNode.address, secret: RADIUS_SECRET }] });
    lns = await startL2tpns({
      ns: lnsNode.ns,
      dir: join(work, 'l2tpns'),
      bindAddress: lnsNode.address,
      radius: { address: rad.address, secret: RADIUS_SECRET },
      tunAddress: TUN_ADDRESS,
      pool: [POOL],
    });
  });

  after(async () => {
    for (const c of clients.splice(0)) await c.stop();
    await lns?.stop();
    await radius?.stop();
    await cap?.stop();
    if (cliNs) {
      await run('ip', ['netns', 'del', cliNs], { check: false });
      untrackNamespace(cliNs);
    }
    await topo?.destroy();
    if (work) removeWorkDir(work);
    for (const r of results) console.log(r);
  });

  const logs = (us: L2tpd | undefined): string =>
    `-- our log:\n${us?.logTail(40) ?? ''}\n-- l2tpns log:\n${lns?.logTail(40) ?? ''}\n-- FreeRADIUS:\n${radius?.logTail(20) ?? ''}`;

  /** Dials as `user`, waits for PPP up, pings l2tpns' tun address, clears the tunnel; returns our address. */
  const dialPingClear = async (user: string, label: string): Promise<string> => {
    assert.ok(topo && lns && radius);
    const lac = topo.node('lac');
    const radMark = radius.mark();
    const lnsMark = lns.mark();
    const us = await startL2tpd({
      ns: lac.ns,
      dir: join(work, `l2tpd-${label}`),
      hostName: 'l2tpkit-client',
      lacs: [{ name: 'l2tpns', lns: topo.node('lns').address, localAddress: lac.address, ppp: { username: user, password: 'labpass', tun: 'l2tpc0', tunNetns: cliNs } }],
    });
    clients.push(us);
    try {
      // L2TP tunnel + session.
      const t = await us.waitTunnels(
        'tunnel and session established',
        (ts) => ts.find((tt) => tt.state === 'established' && tt.sessions.some((s) => s.state === 'established')),
        20_000,
      );
      assert.equal(t.remoteHostName, 'l2tpns-interop', 'Host Name AVP of l2tpns');
      // PPP up with an address (LCP, CHAP via RADIUS, IPCP).
      let last: SessionView[] = [];
      const s = await waitUntil(
        'PPP up with an IPv4 address',
        async () => {
          last = parseSessions(await us.ctl(['show', 'sessions', '--json']));
          return last.find((x) => x.localTunnelId === t.localTunnelId && x.address !== undefined && /^\d+\.\d+\.\d+\.\d+$/.test(x.address));
        },
        20_000,
        () => `last show sessions: ${JSON.stringify(last)}\n${logs(us)}`,
      );
      const address = s.address ?? '';
      // FreeRADIUS saw CHAP for this user from l2tpns and accepted it.
      const req = await radius.waitReply(user, 'Access-Accept', 10_000, radMark);
      assert.ok(req.chap, `the Access-Request for ${user} carried CHAP-Password (CHAP-MD5 end to end)\n${radius.logTail(40)}`);
      assert.equal(req.from, topo.node('lns').address, 'the request came from l2tpns');
      assert.ok(!radius.requests().some((r) => r.number > radMark && r.reply === 'Access-Reject'), `no Access-Reject\n${radius.logTail(40)}`);
      // The TUN in the client namespace carries the address, peer = l2tpns' tun address.
      const addr = await waitUntil(
        'address on our TUN',
        async () => {
          const r = await run('ip', ['-n', cliNs, '-4', '-o', 'addr', 'show', 'dev', 'l2tpc0'], { check: false });
          return r.stdout.includes(`inet ${address} peer ${TUN_ADDRESS}`) ? r.stdout : undefined;
        },
        5000,
        () => logs(us),
      );
      assert.ok(addr);
      // Data through the session: ICMP echo to l2tpns' tun0 address, answered by its kernel.
      const ping = await run('ip', ['netns', 'exec', cliNs, 'ping', '-n', '-c', '3', '-i', '0.3', '-W', '3', TUN_ADDRESS], { check: false, timeoutMs: 20_000 });
      assert.equal(ping.code, 0, `ping ${TUN_ADDRESS} from our TUN namespace failed:\n${ping.stdout}${ping.stderr}\n${logs(us)}`);
      assert.match(ping.stdout, /3 packets transmitted, 3 received/);
      // l2tpns' side of the story: CHAP login, RADIUS accept, login with this address from our LAC.
      const esc = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      await lns.waitLog(new RegExp(`CHAP login ${esc(user)}\\b`), 5000, lnsMark);
      await lns.waitLog(new RegExp(`Login by ${esc(user)} at ${esc(address)} from ${esc(lac.address)}`), 5000, lnsMark);
      // Tear down: StopCCN from us (§5.7); l2tpns logs the tunnel and its session going away. Our
      // tunnel lingers in 'closing' for a retransmission cycle by design, so wait for "not established".
      await us.ctl(['clear', 'tunnel', String(t.localTunnelId)]);
      await us.waitTunnels(
        'tunnel no longer established',
        (ts) => (ts.some((tt) => tt.localTunnelId === t.localTunnelId && tt.state === 'established') ? undefined : true),
        10_000,
      );
      await lns.waitLog(/Received StopCCN/, 10_000, lnsMark);
      const closed = await lns.waitLog(new RegExp(`Shutting down tunnel ${t.remoteTunnelId}\\b.*`), 10_000, lnsMark);
      await lns.waitLog(/Shutting down session \d+/, 10_000, lnsMark);
      results.push(`${label}: user ${user} got ${address}; ping ${TUN_ADDRESS} 3/3; l2tpns: "${closed[0]}"`);
      return address;
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${logs(us)}`);
    } finally {
      await us.stop();
      clients.splice(clients.indexOf(us), 1);
    }
  };

  test('user lab: CHAP via RADIUS, address from the l2tpns pool, ping l2tpns, clear tunnel', async () => {
    const address = await dialPingClear('lab', 'lab');
    assert.ok(inPrefix(address, POOL), `${address} is in l2tpns' pool ${POOL}`);
  });

  test('user labfix: Framed-IP-Address from RADIUS is what IPCP gives us', async () => {
    const address = await dialPingClear('labfix', 'labfix');
    assert.equal(address, '100.64.9.9');
  });

  test('capture: 0 malformed frames and 0 error expert items', async () => {
    assert.ok(cap && lns);
    await lns.stop();
    await cap.stop();
    const report = await analyzeCapture(cap.file);
    const msgs = await listL2tpMessages(cap.file);
    results.push(describeReport(report).split('\n')[0] ?? '');
    assert.equal(report.malformed, 0, describeReport(report));
    assert.equal(report.errors, 0, describeReport(report));
    for (const name of ['SCCRQ', 'SCCRP', 'SCCCN', 'ICRQ', 'ICRP', 'ICCN', 'StopCCN']) {
      assert.ok(msgs.some((m) => m.name === name), `${name} on the wire\n${formatMessages(msgs)}`);
    }
    assert.ok(msgs.filter((m) => m.name === 'DATA').length >= 10, `PPP in L2TP data messages\n${formatMessages(msgs)}`);
    // The pings really went through the sessions: ICMP echo request/reply inside PPP inside L2TP data.
    const icmp = await run('tshark', ['-n', '-r', cap.file, '-Y', 'l2tp && ppp && icmp', '-T', 'fields', '-E', 'occurrence=l', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'icmp.type'], { timeoutMs: 60_000 });
    const rows = icmp.stdout.split('\n').filter((l) => l.trim() !== '');
    const requests = rows.filter((l) => l.endsWith('\t8') && l.includes(`\t${TUN_ADDRESS}\t`)).length;
    const replies = rows.filter((l) => l.startsWith(`${TUN_ADDRESS}\t`) && l.endsWith('\t0')).length;
    assert.ok(requests >= 6 && replies >= 6, `ICMP echo in L2TP/PPP: ${requests} requests, ${replies} replies\n${icmp.stdout}`);
    results.push(`ICMP through the sessions: ${requests} echo requests, ${replies} replies`);
  });
});
