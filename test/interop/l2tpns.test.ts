/**
 * Real-peer interop, client mode: our daemon as LAC + PPP client (`[[lac]] ppp = true`) dials l2tpns
 * 2.4 (Debian; userspace LNS with tun0) which authenticates against FreeRADIUS 3.2 (Debian):
 *  - user `lab`: L2TP tunnel + session (RFC 2661), LCP, CHAP-MD5 (RFC 1994) accepted by FreeRADIUS
 *    (its log shows the Access-Request with CHAP-Password and the Access-Accept), IPCP (RFC 1332)
 *    address from l2tpns' pool 100.64.1.0/24 and DNS (RFC 1877), ping from the netns holding our TUN
 *    to l2tpns' tun address 198.51.100.1 through the session, LCP echoes from l2tpns answered during
 *    a hold; `l2tpctl clear tunnel` sends StopCCN and l2tpns logs the tunnel and session going away;
 *  - user `labfix`, with tunnel authentication (our Challenge, l2tpns' Challenge Response) and hidden
 *    AVPs (§4.3): the Framed-IP-Address from RADIUS (100.64.9.9) is exactly what IPCP gives us;
 *    `clear session` (CDN) then `clear tunnel`;
 *  - a wrong password: Access-Reject, l2tpns clears the call (CDN), we never get an address;
 *  - l2tpns shutting down (SIGQUIT) while we are up: we ack its StopCCN at once, PPP goes down;
 *  - the whole run is captured on the bridge (L2TP incl. PPP in data messages, RADIUS) and must have
 *    zero malformed frames and zero error expert items in tshark.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  analyzeCapture, createTopology, describeReport, ensureDebianPackages, formatMessages, listL2tpMessages, makeWorkDir,
  removeWorkDir, requireRoot, run, startCapture, startL2tpd, tail, trackNamespace, untrackNamespace, waitUntil,
  sleep, type Capture, type L2tpd, type ShownTunnel, type Topology,
} from './lib/index.js';
import { startFreeRadius, type FreeRadius } from './lib/freeradius.js';
import { startL2tpns, type L2tpns } from './lib/l2tpns.js';

/** Debian packages this file needs. */
const PACKAGES = ['l2tpns', 'freeradius', 'freeradius-utils', 'tshark', 'iproute2', 'iputils-ping', 'util-linux'] as const;
const RADIUS_SECRET = 'interop-radius-s3cret';
/** l2tpns' l2tp_secret: only used when the LAC sends a Challenge AVP (the labfix case). */
const L2TP_SECRET = 'interop-tunnel-s3cret';
const TUN_ADDRESS = '198.51.100.1';
const POOL = '100.64.1.0/24';
const DNS = ['203.0.113.53', '203.0.113.54'] as const;

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
      dns: DNS,
      l2tpSecret: L2TP_SECRET,
      // LCP Echo-Request after 2 idle seconds (default 10), so a short hold exercises our replies.
      echoTimeout: 2,
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

  const esc = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  /** Starts our daemon as LAC + PPP client for `user` (TUN `l2tpc0` in the client namespace). */
  const startClient = async (user: string, password: string, label: string, tunnel: { secret?: string; hideAvps?: boolean } = {}): Promise<L2tpd> => {
    assert.ok(topo);
    const lac = topo.node('lac');
    const us = await startL2tpd({
      ns: lac.ns,
      dir: join(work, `l2tpd-${label}`),
      hostName: 'l2tpkit-client',
      lacs: [{ name: 'l2tpns', lns: topo.node('lns').address, localAddress: lac.address, ...tunnel, ppp: { username: user, password, tun: 'l2tpc0', tunNetns: cliNs } }],
    });
    clients.push(us);
    return us;
  };
  const stopClient = async (us: L2tpd): Promise<void> => {
    await us.stop();
    const i = clients.indexOf(us);
    if (i >= 0) clients.splice(i, 1);
  };

  /** Waits for the L2TP tunnel + session, then for PPP up with an IPv4 address (LCP, CHAP, IPCP). */
  const waitPppUp = async (us: L2tpd): Promise<{ t: ShownTunnel; address: string }> => {
    const t = await us.waitTunnels(
      'tunnel and session established',
      (ts) => ts.find((tt) => tt.state === 'established' && tt.sessions.some((x) => x.state === 'established')),
      20_000,
    );
    assert.equal(t.remoteHostName, 'l2tpns-interop', 'Host Name AVP of l2tpns');
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
    // The TUN in the client namespace carries the address, peer = l2tpns' tun address.
    const address = s.address ?? '';
    await waitUntil(
      'address on our TUN',
      async () => {
        const r = await run('ip', ['-n', cliNs, '-4', '-o', 'addr', 'show', 'dev', 'l2tpc0'], { check: false });
        return r.stdout.includes(`inet ${address} peer ${TUN_ADDRESS}`) ? true : undefined;
      },
      5000,
      () => logs(us),
    );
    return { t, address };
  };

  /** ICMP echo from the client namespace to l2tpns' tun0 address, through the session. */
  const pingLns = async (us: L2tpd): Promise<void> => {
    const ping = await run('ip', ['netns', 'exec', cliNs, 'ping', '-n', '-c', '3', '-i', '0.3', '-W', '3', TUN_ADDRESS], { check: false, timeoutMs: 20_000 });
    assert.equal(ping.code, 0, `ping ${TUN_ADDRESS} from our TUN namespace failed:\n${ping.stdout}${ping.stderr}\n${logs(us)}`);
    assert.match(ping.stdout, /3 packets transmitted, 3 received/);
  };

  /**
   * Dials as `user`, checks PPP/RADIUS/l2tpns, pings l2tpns, optionally stays up for `holdMs` (LCP
   * echoes from l2tpns must be answered), then tears down with `clear session` (CDN) and/or
   * `clear tunnel` (StopCCN) and checks that l2tpns logged it. Returns our IPCP address.
   */
  const dialPingClear = async (
    user: string,
    label: string,
    opts: { holdMs?: number; clearSessionFirst?: boolean; tunnel?: { secret?: string; hideAvps?: boolean } } = {},
  ): Promise<string> => {
    assert.ok(topo && lns && radius);
    const lac = topo.node('lac');
    const radMark = radius.mark();
    const lnsMark = lns.mark();
    const us = await startClient(user, 'labpass', label, opts.tunnel);
    try {
      const { t, address } = await waitPppUp(us);
      if (opts.tunnel?.secret !== undefined) {
        // Tunnel authentication (§4.4.3, §5.1.1): we sent a Challenge, l2tpns answered it correctly
        // (else we would have refused the SCCRP with StopCCN).
        assert.ok(!us.log().some((l) => /authentication error/.test(l.msg)), `no tunnel authentication error\n${logs(us)}`);
        assert.doesNotMatch(lns.log().slice(lnsMark), /[Ii]nvalid|[Hh]idden.*(error|fail)|[Bb]ad AVP/, `l2tpns accepted our AVPs\n${logs(us)}`);
      }
      // FreeRADIUS saw CHAP for this user from l2tpns and accepted it.
      const req = await radius.waitReply(user, 'Access-Accept', 10_000, radMark);
      assert.ok(req.chap, `the Access-Request for ${user} carried CHAP-Password (CHAP-MD5 end to end)\n${radius.logTail(40)}`);
      assert.equal(req.from, topo.node('lns').address, 'the request came from l2tpns');
      assert.ok(!radius.requests().some((r) => r.number > radMark && r.reply === 'Access-Reject'), `no Access-Reject\n${radius.logTail(40)}`);
      // DNS servers from l2tpns' IPCP Nak (RFC 1877).
      const up = us.log().find((l) => /PPP up, address/.test(l.msg));
      assert.deepEqual(up?.raw['dns'], [...DNS], `DNS from IPCP\n${logs(us)}`);
      await pingLns(us);
      // l2tpns' side of the story: CHAP login, login with this address from our LAC.
      await lns.waitLog(new RegExp(`CHAP login ${esc(user)}\\b`), 5000, lnsMark);
      await lns.waitLog(new RegExp(`Login by ${esc(user)} at ${esc(address)} from ${esc(lac.address)}`), 5000, lnsMark);
      if (opts.holdMs !== undefined) {
        // l2tpns sends LCP Echo-Requests after echo_timeout idle seconds and drops the session if
        // they go unanswered: still up (and still passing data) after several intervals.
        await sleep(opts.holdMs);
        const still = parseSessions(await us.ctl(['show', 'sessions', '--json']));
        assert.ok(still.some((x) => x.localTunnelId === t.localTunnelId && x.address === address), `still up after ${opts.holdMs} ms\n${logs(us)}`);
        await pingLns(us);
        assert.doesNotMatch(lns.log().slice(lnsMark), /No response to LCP ECHO|Kill session/i, `l2tpns kept the session\n${logs(us)}`);
      }
      if (opts.clearSessionFirst === true) {
        // CDN from us (§5.7): the session ends, the tunnel stays.
        const sess = t.sessions.find((x) => x.state === 'established');
        assert.ok(sess);
        await us.ctl(['clear', 'session', `${t.localTunnelId}/${sess.localSessionId}`]);
        await lns.waitLog(/Received CDN/, 10_000, lnsMark);
        await lns.waitLog(new RegExp(`Shutting down session ${sess.remoteSessionId}\\b`), 10_000, lnsMark);
        await us.waitTunnels(
          'session gone, tunnel still established',
          (ts) => (ts.some((tt) => tt.localTunnelId === t.localTunnelId && tt.state === 'established' && !tt.sessions.some((x) => x.state === 'established')) ? true : undefined),
          10_000,
        );
        await waitUntil('address removed from our TUN', async () => {
          const r = await run('ip', ['-n', cliNs, '-4', '-o', 'addr', 'show', 'dev', 'l2tpc0'], { check: false });
          return r.stdout.includes(address) ? undefined : true;
        }, 5000, () => logs(us));
      }
      // Tear down: StopCCN from us (§5.7); l2tpns logs the tunnel (and its session) going away. Our
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
      results.push(`${label}: user ${user} got ${address}; ping ${TUN_ADDRESS} ok; l2tpns: "${closed[0]}"`);
      return address;
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${logs(us)}`);
    } finally {
      await stopClient(us);
    }
  };

  test('user lab: CHAP via RADIUS, address from the l2tpns pool, ping, LCP echoes answered, clear tunnel', async () => {
    const address = await dialPingClear('lab', 'lab', { holdMs: 5000 });
    assert.ok(inPrefix(address, POOL), `${address} is in l2tpns' pool ${POOL}`);
  });

  test('user labfix, tunnel auth + hidden AVPs: Framed-IP-Address from RADIUS is what IPCP gives us; clear session, then tunnel', async () => {
    const address = await dialPingClear('labfix', 'labfix', { clearSessionFirst: true, tunnel: { secret: L2TP_SECRET, hideAvps: true } });
    assert.equal(address, '100.64.9.9');
  });

  test('wrong password: Access-Reject, l2tpns ends the call with a CDN, we never get an address', async () => {
    assert.ok(lns && radius);
    const radMark = radius.mark();
    const lnsMark = lns.mark();
    const us = await startClient('lab', 'not-the-password', 'badpass');
    try {
      await radius.waitReply('lab', 'Access-Reject', 20_000, radMark);
      // l2tpns 2.4 sends no CHAP Failure on a RADIUS reject: it logs it and clears the call (CDN).
      await lns.waitLog(/Authentication rejected for lab/, 10_000, lnsMark);
      await us.waitLog(/RECV CDN/, 10_000);
      await us.waitLog(/PPP down \(l2tp-closed, by peer\)/, 10_000);
      await us.waitTunnels(
        'no established session',
        (ts) => (ts.some((tt) => tt.sessions.some((x) => x.state === 'established')) ? undefined : true),
        10_000,
      );
      assert.ok(!us.log().some((l) => /PPP up, address/.test(l.msg)), `PPP never came up\n${logs(us)}`);
      const sessions = parseSessions(await us.ctl(['show', 'sessions', '--json']));
      assert.ok(!sessions.some((x) => x.address !== undefined && /^\d/.test(x.address)), `no address: ${JSON.stringify(sessions)}`);
      results.push('badpass: Access-Reject -> l2tpns CDN -> our PPP down, no address');
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${logs(us)}`);
    } finally {
      await stopClient(us);
    }
  });

  /** Our local tunnel id of the tunnel that was up when l2tpns shut down (checked in the capture). */
  let shutdownTunnel: number | undefined;

  test('l2tpns shuts down (SIGQUIT) with our client up: we ack its StopCCN, PPP goes down', async () => {
    assert.ok(lns);
    const us = await startClient('lab', 'labpass', 'lns-shutdown');
    try {
      const { t, address } = await waitPppUp(us);
      shutdownTunnel = t.localTunnelId;
      // SIGQUIT: StopCCN (result 6) on every tunnel l2tpns still remembers. It also retries StopCCN
      // on the earlier tunnels whose LACs are gone, so it does not exit by itself: stop() kills it.
      await lns.stop(3000);
      await us.waitLog(new RegExp(`TUNNEL\\[${t.localTunnelId}\\] RECV StopCCN`), 10_000);
      await us.waitLog(/PPP down \(l2tp-closed, by peer\)/, 10_000);
      await us.waitTunnels('no established tunnel', (ts) => (ts.some((tt) => tt.state === 'established') ? undefined : true), 10_000);
      await waitUntil('address removed from our TUN', async () => {
        const r = await run('ip', ['-n', cliNs, '-4', '-o', 'addr', 'show', 'dev', 'l2tpc0'], { check: false });
        return r.stdout.includes(address) ? undefined : true;
      }, 5000, () => logs(us));
      results.push(`lns-shutdown: StopCCN from l2tpns on tunnel ${t.localTunnelId} -> our PPP down, address removed`);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${logs(us)}`);
    } finally {
      await stopClient(us);
    }
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
    for (const name of ['SCCRQ', 'SCCRP', 'SCCCN', 'ICRQ', 'ICRP', 'ICCN', 'CDN', 'StopCCN']) {
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
    // LCP keepalive (RFC 1661 §5.8): l2tpns' Echo-Requests were each answered by us with the same Identifier.
    const lcp = await run('tshark', ['-n', '-r', cap.file, '-Y', 'lcp && (ppp.code == 9 || ppp.code == 10)', '-T', 'fields', '-E', 'occurrence=l', '-e', 'ip.src', '-e', 'ppp.code', '-e', 'ppp.identifier'], { timeoutMs: 60_000 });
    const lcpRows = lcp.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => l.split('\t'));
    assert.ok(topo);
    const lnsAddr = topo.node('lns').address;
    const lacAddr = topo.node('lac').address;
    const echoReqs = lcpRows.filter(([src, code]) => src === lnsAddr && code === '9');
    assert.ok(echoReqs.length >= 1, `l2tpns sent LCP Echo-Requests during the hold\n${lcp.stdout}`);
    for (const [, , id] of echoReqs) {
      assert.ok(lcpRows.some(([src, code, rid]) => src === lacAddr && code === '10' && rid === id), `our Echo-Reply to l2tpns' Echo-Request id ${String(id)}\n${lcp.stdout}`);
    }
    results.push(`LCP echo: ${echoReqs.length} requests from l2tpns, all answered`);
    // The labfix run: our Challenge (AVP 11) in SCCRQ, l2tpns' Challenge Response (AVP 13) in SCCRP,
    // and our session AVPs hidden (H bit, Random Vector AVP 36 before them, RFC 2661 §4.3) — and
    // l2tpns still established the session, so it decoded them.
    const chal = msgs.find((m) => m.src === lacAddr && m.name === 'SCCRQ' && m.avpTypes.includes(11));
    assert.ok(chal, `our SCCRQ with a Challenge AVP\n${formatMessages(msgs)}`);
    const resp = msgs.find((m) => m.src === lnsAddr && m.name === 'SCCRP' && m.avpTypes.includes(13));
    assert.ok(resp, `l2tpns' SCCRP with a Challenge Response AVP\n${formatMessages(msgs)}`);
    const hid = msgs.filter((m) => m.src === lacAddr && m.hiddenAvps > 0);
    assert.ok(hid.length > 0 && hid.every((m) => m.avpTypes.includes(36)), `our hidden AVPs with Random Vector\n${formatMessages(msgs)}`);
    results.push(`tunnel auth: Challenge in frame ${chal.frame}, Challenge Response in frame ${resp.frame}; ${hid.length} of our messages with hidden AVPs (${[...new Set(hid.map((m) => m.name))].join(', ')})`);
    // l2tpns' shutdown StopCCN on the tunnel that was up was acknowledged at once (§5.8): sent once,
    // never retransmitted, and a later message from us carries Nr past its Ns.
    if (shutdownTunnel !== undefined) {
      const stops = msgs.filter((m) => m.src === lnsAddr && m.name === 'StopCCN' && m.tunnelId === shutdownTunnel);
      assert.equal(stops.length, 1, `one StopCCN from l2tpns on tunnel ${shutdownTunnel} (no retransmission)\n${formatMessages(msgs)}`);
      const stop = stops[0];
      assert.ok(stop?.ns !== undefined);
      assert.ok(
        msgs.some((m) => m.frame > stop.frame && m.src === lacAddr && m.nr === ((stop.ns ?? 0) + 1) % 65536),
        `our ack of l2tpns' StopCCN\n${formatMessages(msgs)}`,
      );
    }
  });
});
