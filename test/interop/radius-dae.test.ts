/**
 * Real-peer interop, Dynamic Authorization (RFC 5176): FreeRADIUS's `radclient` (Debian
 * freeradius-utils) sends Disconnect-Request and CoA-Request to our DAE server core (src/aaa/radius
 * via src/io, its own process in a namespace) with a fake session table:
 *  - Disconnect by Acct-Session-Id: Disconnect-ACK, the session is gone (asked again: NAK 503);
 *  - CoA Session-Timeout by User-Name: CoA-ACK and the change reaches the table; CoA with
 *    Filter-Id: NAK 401; a NAS-IP-Address that is not ours: NAK 403;
 *  - with Message-Authenticator (radclient computes it): our answer carries a valid one;
 *  - wrong secret, and a client address not in the allow-list: no answer, dropped and counted;
 *  - tshark with the secret validates the Response Authenticator of every answer we sent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { analyzeCapture, createTopology, describeReport, ensureDebianPackages, makeWorkDir, removeWorkDir, requireRoot, run, startCapture, type Capture, type Topology } from './lib/index.js';
import { startRadiusChild, type RadiusChild } from './lib/radius-peer.js';

const PACKAGES = ['freeradius-utils', 'tshark', 'iproute2'] as const;
const SECRET = 'interop-dae-s3cret';

describe('radclient Disconnect / CoA against our DAE server core', () => {
  let topo: Topology | undefined;
  let work = '';
  let cap: Capture | undefined;
  let dae: RadiusChild | undefined;

  before(async () => {
    requireRoot();
    await ensureDebianPackages(PACKAGES);
    topo = await createTopology(['nas', 'rad', 'other'], 64);
    work = makeWorkDir('radius-dae');
    cap = await startCapture(topo.bridgeNs, topo.bridgeIface, join(work, 'dae.pcap'), { filter: 'udp port 3799', maxSeconds: 200 });
    const nas = topo.node('nas');
    dae = await startRadiusChild(nas.ns, work, 'dae', {
      authServers: [],
      accountingServers: [],
      nas: { ipAddress: nas.address, identifier: 'l2tpkit-dae' },
      dae: {
        address: nas.address,
        port: 3799,
        clients: [{ name: 'radius', address: topo.node('rad').address, secret: SECRET }],
        sessions: [
          { acctSessionId: 'sess-a', userName: 'alice', framedIpAddress: '100.64.0.10', nasPort: 10 },
          { acctSessionId: 'sess-b', userName: 'bob', framedIpAddress: '100.64.0.11', nasPort: 11 },
        ],
      },
    });
  });

  after(async () => {
    await dae?.kill();
    await cap?.stop();
    await topo?.destroy();
    if (work) removeWorkDir(work);
  });

  /** radclient from node `from` to our NAS: returns its output (-x prints what it got). */
  const radclient = async (from: 'rad' | 'other', kind: 'disconnect' | 'coa', attrs: readonly string[], secret = SECRET): Promise<string> => {
    assert.ok(topo !== undefined);
    const r = await run('ip', ['netns', 'exec', topo.node(from).ns, 'radclient', '-x', '-r', '1', '-t', '2', `${topo.node('nas').address}:3799`, kind, secret], { input: `${attrs.join('\n')}\n`, check: false, timeoutMs: 20_000 });
    return r.stdout + r.stderr;
  };
  const child = (): RadiusChild => {
    assert.ok(dae !== undefined);
    return dae;
  };

  test('Disconnect-Request by Acct-Session-Id: ACK and the session is disconnected; again: NAK 503', async () => {
    const out = await radclient('rad', 'disconnect', ['Acct-Session-Id = "sess-a"']);
    assert.match(out, /Received Disconnect-ACK/, out);
    await child().wait('sess-a disconnected', (m) => m.disconnected === 'sess-a', 5000);
    const again = await radclient('rad', 'disconnect', ['Acct-Session-Id = "sess-a"']);
    assert.match(again, /Received Disconnect-NAK/, again);
    assert.match(again, /Error-Cause = Session-Context-Not-Found/, again);
  });

  test('CoA-Request: Session-Timeout by User-Name is applied (ACK); Filter-Id is NAK 401; a foreign NAS-IP-Address NAK 403', async () => {
    const out = await radclient('rad', 'coa', ['User-Name = "bob"', 'Session-Timeout = 120', `Event-Timestamp = ${Math.floor(Date.now() / 1000)}`]);
    assert.match(out, /Received CoA-ACK/, out);
    const m = await child().wait('bob changed', (x) => x.changed === 'sess-b', 5000);
    assert.deepEqual(m.changes, { sessionTimeout: 120 });
    const filter = await radclient('rad', 'coa', ['User-Name = "bob"', 'Filter-Id = "gold"']);
    assert.match(filter, /Received CoA-NAK/, filter);
    assert.match(filter, /Error-Cause = Unsupported-Attribute/, filter);
    const foreign = await radclient('rad', 'disconnect', ['User-Name = "bob"', 'NAS-IP-Address = 192.0.2.99']);
    assert.match(foreign, /Received Disconnect-NAK/, foreign);
    assert.match(foreign, /Error-Cause = NAS-Identification-Mismatch/, foreign);
  });

  test('with a Message-Authenticator from radclient, our ACK carries a valid one', async () => {
    const out = await radclient('rad', 'disconnect', ['Framed-IP-Address = 100.64.0.11', 'NAS-Port = 11', 'Message-Authenticator = 0x00']);
    assert.match(out, /Received Disconnect-ACK/, out);
    assert.match(out, /Message-Authenticator = 0x[0-9a-f]{32}/, out);
    await child().wait('sess-b disconnected', (m) => m.disconnected === 'sess-b', 5000);
  });

  test('wrong secret and an unlisted client address: no answer, dropped and counted', async () => {
    const wrong = await radclient('rad', 'disconnect', ['Acct-Session-Id = "sess-x"'], 'not-the-secret');
    assert.match(wrong, /No reply from server/, wrong);
    const other = await radclient('other', 'disconnect', ['Acct-Session-Id = "sess-x"']);
    assert.match(other, /No reply from server/, other);
    const reasons = child().messages.flatMap((m) => (m.daeEvent?.type === 'dropped' ? [m.daeEvent.reason] : []));
    assert.ok(reasons.includes('bad-authenticator'), reasons.join());
    assert.ok(reasons.includes('unknown-client'), reasons.join());
  });

  test('capture: tshark validates every answer\'s Response Authenticator; no malformed frame', async () => {
    await cap?.stop();
    assert.ok(cap !== undefined);
    const opts = ['-o', `radius.shared_secret:${SECRET}`, '-o', 'radius.validate_authenticator:TRUE'];
    const rep = await analyzeCapture(cap.file, opts);
    assert.equal(rep.malformed, 0, describeReport(rep));
    const f = await run('tshark', ['-r', cap.file, ...opts, '-Y', 'radius.code == 41 or radius.code == 42 or radius.code == 44 or radius.code == 45', '-T', 'fields', '-e', 'radius.code', '-e', 'radius.authenticator.valid', '-e', 'radius.authenticator.invalid'], { timeoutMs: 60_000 });
    const rows = f.stdout.trim().split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
    assert.ok(rows.length >= 6, f.stdout);
    assert.equal(rows.filter((r) => r[2] === '1').length, 0, f.stdout);
    assert.equal(rows.filter((r) => r[1] === '1').length, rows.length, `every answer validated by tshark:\n${f.stdout}`);
  });
});
