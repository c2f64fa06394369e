/**
 * Real-peer interop: our RADIUS client core (src/aaa/radius, driven by the src/io shell in its own
 * process inside a namespace) against FreeRADIUS 3.2 (Debian), two instances in two namespaces:
 *  - PAP, CHAP-MD5 (RFC 1994 response from src/ppp/auth) and MS-CHAPv2 users accepted; the
 *    MS-CHAP2-Success authenticator response equals what src/ppp/auth computes (RFC 2759 §8.7), the
 *    MPPE keys decrypt to the RFC 3079 keys (RFC 2548 §2.4.2); wrong passwords rejected with the Reply-Message (and
 *    MS-CHAP-Error E=691);
 *  - reply attributes typed: Framed-IP-Address, Framed-Pool, Session-Timeout, Idle-Timeout, MTU,
 *    routes, IPv6 prefixes, MS DNS, Class, and RFC 2868 tunnel attributes of two tags from `files`;
 *  - tshark (with the shared secret) decrypts our User-Password and validates every Response
 *    Authenticator; the capture has no malformed frame;
 *  - Blast-RADIUS: against a FreeRADIUS that sends no Message-Authenticator the Accept is dropped and
 *    counted (default), accepted only with the per-server knob off;
 *  - accounting Start / Interim / Stop land in FreeRADIUS's detail file with our values (Gigawords,
 *    Terminate-Cause, Class echo, tunnel attributes) and one stable Acct-Unique-Session-Id;
 *  - failover: primary stopped -> the secondary answers (auth and accounting);
 *  - both stopped while 100 sessions' Start/Interim/Stop are produced, our process SIGKILLed in the
 *    middle and restarted on its spool, then FreeRADIUS started: every record arrives exactly once
 *    and in order per session.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { chapMd5Response, generateAuthenticatorResponse, generateNtResponse, hashNtPasswordHash, ntPasswordHash } from '../../src/ppp/auth/mschapv2-crypto.js';
import type { AccountingRecord, RadiusAuthAnswer, RadiusServerConfig } from '../../src/aaa/radius/types.js';
import { TERMINATE_CAUSE } from '../../src/wire/radius/index.js';
import { analyzeCapture, createTopology, describeReport, ensureDebianPackages, makeWorkDir, removeWorkDir, requireRoot, run, startCapture, type Capture, type Topology } from './lib/index.js';
import { startFreeRadius, type FreeRadius, type FreeRadiusOptions } from './lib/freeradius.js';
import { startRadiusChild, type RadiusChild } from './lib/radius-peer.js';

const PACKAGES = ['freeradius', 'freeradius-utils', 'tshark', 'iproute2'] as const;
const SECRET = 'interop-radius-s3cret';
const TEXT = new TextEncoder();

const USERS: FreeRadiusOptions['users'] = [
  {
    name: 'papuser',
    password: 'pap-pass',
    framedIpAddress: '100.64.9.9',
    replyItems: [
      'Session-Timeout = 3600',
      'Class = 0x6c32746b69742d636c617373',
      'Reply-Message = "welcome papuser"',
      'Tunnel-Type:1 = L2TP',
      'Tunnel-Medium-Type:1 = IPv4',
      'Tunnel-Server-Endpoint:1 = "192.0.2.1"',
      'Tunnel-Password:1 = "tunsecret"',
      'Tunnel-Assignment-Id:1 = "lns-a"',
      'Tunnel-Preference:1 = 1',
      'Tunnel-Type:2 = L2TP',
      'Tunnel-Medium-Type:2 = IPv4',
      'Tunnel-Server-Endpoint:2 = "192.0.2.2"',
      'Tunnel-Preference:2 = 2',
      'Tunnel-Client-Auth-Id:2 = "lac-b"',
    ],
  },
  {
    name: 'chapuser',
    password: 'chap-pass',
    replyItems: [
      'Framed-Pool = "gold"',
      'Idle-Timeout = 600',
      'Acct-Interim-Interval = 300',
      'Framed-MTU = 1400',
      'Framed-Route = "198.51.100.0/24 0.0.0.0 1"',
      'Framed-IPv6-Prefix = 2001:db8:1::/64',
      'Delegated-IPv6-Prefix = 2001:db8:100::/56',
      'MS-Primary-DNS-Server = 203.0.113.53',
      'MS-Secondary-DNS-Server = 203.0.113.54',
    ],
  },
  { name: 'msuser', password: 'ms-pass', framedIpAddress: '100.64.9.10' },
];

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

/** RFC 3079 §3.4 MPPE keys of MS-CHAPv2 (GetMasterKey, GetAsymmetricStartKey), server side. */
function mppeKeys(password: string, ntResponse: Uint8Array): { send: string; recv: string } {
  const sha1 = (...p: Uint8Array[]): Uint8Array => {
    const h = createHash('sha1');
    for (const x of p) h.update(x);
    return new Uint8Array(h.digest());
  };
  const master = sha1(hashNtPasswordHash(ntPasswordHash(password)), ntResponse, TEXT.encode('This is the MPPE Master Key')).subarray(0, 16);
  const magic2 = TEXT.encode('On the client side, this is the send key; on the server side, it is the receive key.');
  const magic3 = TEXT.encode('On the client side, this is the receive key; on the server side, it is the send key.');
  const start = (magic: Uint8Array): string => hex(sha1(master, new Uint8Array(40), magic, new Uint8Array(40).fill(0xf2)).subarray(0, 16));
  return { send: start(magic3), recv: start(magic2) };
}

describe('our RADIUS client core against FreeRADIUS 3.2', () => {
  let topo: Topology | undefined;
  let work = '';
  let rad1: FreeRadius | undefined;
  let rad2: FreeRadius | undefined;
  let cap: Capture | undefined;
  let main: RadiusChild | undefined;
  const others: RadiusChild[] = [];
  let radOpts: (n: 1 | 2, ma: boolean) => FreeRadiusOptions = () => {
    throw new Error('not set up');
  };
  let servers: (o?: Partial<RadiusServerConfig>) => { auth: RadiusServerConfig[]; acct: RadiusServerConfig[] } = () => ({ auth: [], acct: [] });

  before(async () => {
    requireRoot();
    await ensureDebianPackages(PACKAGES);
    topo = await createTopology(['nas', 'rad1', 'rad2'], 63);
    work = makeWorkDir('radius-client');
    const nas = topo.node('nas');
    const t = topo;
    radOpts = (n, ma) => ({
      ns: t.node(`rad${n}`).ns,
      dir: join(work, `freeradius${n}`),
      clients: [{ address: nas.address, secret: SECRET }],
      users: USERS,
      messageAuthenticatorInReplies: ma,
      rejectReplyMessage: `Access denied by rad${n}`,
    });
    cap = await startCapture(topo.bridgeNs, topo.bridgeIface, join(work, 'radius.pcap'), { filter: 'udp port 1812 or udp port 1813', maxSeconds: 400 });
    rad1 = await startFreeRadius(radOpts(1, true));
    // The secondary starts as a stock 3.2.1: no Message-Authenticator in its answers.
    rad2 = await startFreeRadius(radOpts(2, false));
    servers = (o = {}) => ({
      auth: [
        // FreeRADIUS delays every Access-Reject by 1 s (reject_delay): the auth timeout must be longer.
        { name: 'rad1', address: t.node('rad1').address, secret: SECRET, timeoutMs: 1500, retries: 1, deadTimeMs: 3000, priority: 1, ...o },
        { name: 'rad2', address: t.node('rad2').address, secret: SECRET, timeoutMs: 1500, retries: 1, deadTimeMs: 3000, priority: 2, ...o },
      ],
      acct: [
        { name: 'acct1', address: t.node('rad1').address, secret: SECRET, timeoutMs: 500, retries: 1, deadTimeMs: 3000, priority: 1, ...o },
        { name: 'acct2', address: t.node('rad2').address, secret: SECRET, timeoutMs: 500, retries: 1, deadTimeMs: 3000, priority: 2, ...o },
      ],
    });
    const s = servers();
    main = await startRadiusChild(nas.ns, work, 'main', { authServers: s.auth, accountingServers: s.acct, nas: { ipAddress: nas.address, identifier: 'l2tpkit-interop' }, spool: join(work, 'acct.spool'), retryIntervalMs: 1000 });
  });

  after(async () => {
    for (const c of others.splice(0)) await c.kill();
    await main?.kill();
    await rad1?.stop();
    await rad2?.stop();
    await cap?.stop();
    await topo?.destroy();
    if (work) removeWorkDir(work);
  });

  const child = (): RadiusChild => {
    assert.ok(main !== undefined);
    return main;
  };
  const accept = (a: RadiusAuthAnswer): Extract<RadiusAuthAnswer, { kind: 'accept' }> => {
    assert.equal(a.kind, 'accept', JSON.stringify(a));
    return a;
  };

  test('PAP: accepted with Framed-IP-Address, Session-Timeout, Class and RFC 2868 tunnels of two tags', async () => {
    const mark = rad1?.mark() ?? -1;
    const a = accept(await child().auth({ username: 'papuser', credentials: { method: 'pap', password: 'pap-pass' }, session: { nasPort: 7, acctSessionId: 'auth-1' } }));
    assert.equal(a.server, 'rad1');
    const r = a.reply;
    assert.equal(r.framedIpAddress, '100.64.9.9');
    assert.equal(r.sessionTimeout, 3600);
    assert.deepEqual(r.classes.map((c) => Buffer.from(c).toString()), ['l2tkit-class']);
    assert.deepEqual(r.replyMessages, ['welcome papuser']);
    assert.deepEqual(r.tunnels, [
      { tag: 1, type: 3, mediumType: 1, serverEndpoint: '192.0.2.1', password: 'tunsecret', assignmentId: 'lns-a', preference: 1 },
      { tag: 2, type: 3, mediumType: 1, serverEndpoint: '192.0.2.2', preference: 2, clientAuthId: 'lac-b' },
    ]);
    const seen = await rad1?.waitReply('papuser', 'Access-Accept', 5000, mark);
    assert.equal(seen?.pap, true);
    // Our request carried a Message-Authenticator (FreeRADIUS prints what it received).
    assert.match(rad1?.proc.output() ?? '', /\(\d+\)\s+Message-Authenticator = 0x[0-9a-f]{32}/);
  });

  test('CHAP-MD5: accepted, with Framed-Pool, timeouts, MTU, routes, IPv6 prefixes and MS DNS', async () => {
    const challenge = Uint8Array.from({ length: 16 }, (_, i) => 0x40 + i);
    const response = chapMd5Response(0x22, TEXT.encode('chap-pass'), challenge);
    const r = accept(await child().auth({ username: 'chapuser', credentials: { method: 'chap-md5', identifier: 0x22, challenge, response } })).reply;
    assert.equal(r.framedPool, 'gold');
    assert.deepEqual([r.idleTimeout, r.acctInterimInterval, r.framedMtu], [600, 300, 1400]);
    assert.deepEqual(r.framedRoutes, ['198.51.100.0/24 0.0.0.0 1']);
    assert.deepEqual(r.framedIpv6Prefixes.map((p) => [hex(p.prefix), p.length]), [['20010db8000100000000000000000000', 64]]);
    assert.deepEqual([hex(r.delegatedIpv6Prefix?.prefix), r.delegatedIpv6Prefix?.length], ['20010db8010000000000000000000000', 56]);
    assert.deepEqual(r.dnsServers, ['203.0.113.53', '203.0.113.54']);
    const bad = await child().auth({ username: 'chapuser', credentials: { method: 'chap-md5', identifier: 0x23, challenge, response: chapMd5Response(0x23, TEXT.encode('nope'), challenge) } });
    assert.equal(bad.kind, 'reject');
  });

  test('MS-CHAPv2: accepted; MS-CHAP2-Success verifies with src/ppp/auth; MPPE keys decrypt; a wrong password gets E=691', async () => {
    const authChallenge = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);
    const peerChallenge = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
    const nt = generateNtResponse(authChallenge, peerChallenge, 'msuser', 'ms-pass');
    const a = accept(await child().auth({ username: 'msuser', credentials: { method: 'mschapv2', identifier: 5, authenticatorChallenge: authChallenge, peerChallenge, ntResponse: nt } }));
    const s = a.reply.msChap2Success;
    assert.ok(s !== undefined);
    assert.equal(s.ident, 5);
    assert.equal(hex(s.authenticatorResponse), hex(generateAuthenticatorResponse('ms-pass', nt, peerChallenge, authChallenge, 'msuser')));
    assert.equal(a.reply.framedIpAddress, '100.64.9.10');
    // The decrypted MS-MPPE-Send/Recv-Key (RFC 2548 §2.4.2-3) are the RFC 3079 keys of this exchange.
    assert.deepEqual({ send: hex(a.reply.mppeKeys?.send), recv: hex(a.reply.mppeKeys?.recv) }, mppeKeys('ms-pass', nt));
    const wrong = generateNtResponse(authChallenge, peerChallenge, 'msuser', 'not-it');
    const r = await child().auth({ username: 'msuser', credentials: { method: 'mschapv2', identifier: 6, authenticatorChallenge: authChallenge, peerChallenge, ntResponse: wrong } });
    assert.ok(r.kind === 'reject', JSON.stringify(r));
    assert.equal(r.reply.msChapError?.code, 691);
    assert.ok(r.reply.replyMessages.includes('Access denied by rad1'));
  });

  test('PAP with a wrong password: Access-Reject with the Reply-Message', async () => {
    const r = await child().auth({ username: 'papuser', credentials: { method: 'pap', password: 'wrong' } });
    assert.ok(r.kind === 'reject' && r.reason === 'rejected', JSON.stringify(r));
    assert.ok(r.reply.replyMessages.includes('Access denied by rad1'), JSON.stringify(r.reply.replyMessages));
  });

  test('Blast-RADIUS default: answers without Message-Authenticator (stock 3.2.1) are dropped and counted; the knob accepts them', async () => {
    assert.ok(topo !== undefined);
    const only2 = (o: Partial<RadiusServerConfig>): RadiusServerConfig[] => servers(o).auth.filter((s) => s.name === 'rad2');
    const strict = await startRadiusChild(topo.node('nas').ns, work, 'strict', { authServers: only2({}), accountingServers: [], nas: { identifier: 'strict' } });
    others.push(strict);
    const a = await strict.auth({ username: 'papuser', credentials: { method: 'pap', password: 'pap-pass' } });
    assert.deepEqual(a, { kind: 'timeout', servers: ['rad2'] });
    const snap = (await strict.snapshot()).snapshot.servers[0];
    assert.equal(snap?.stats.missingMessageAuthenticators, 2, 'first send and one retransmission, both answered without it');
    assert.ok((rad2?.requests().filter((q) => q.user === 'papuser' && q.reply === 'Access-Accept').length ?? 0) >= 1, 'FreeRADIUS did accept');
    const lax = await startRadiusChild(topo.node('nas').ns, work, 'lax', { authServers: only2({ requireMessageAuthenticator: false }), accountingServers: [], nas: { identifier: 'lax' } });
    others.push(lax);
    accept(await lax.auth({ username: 'papuser', credentials: { method: 'pap', password: 'pap-pass' } }));
    // From here on rad2 answers with a Message-Authenticator, for the failover tests.
    await rad2?.stop();
    rad2 = await startFreeRadius(radOpts(2, true));
  });

  test('accounting Start / Interim / Stop land in the detail file with our values', async () => {
    const base = Date.now();
    const common = { sessionId: 'acct-0001', username: 'papuser', framedIpAddress: '100.64.9.9', classes: [TEXT.encode('l2tkit-class')], session: { nasPort: 7, nasPortId: 'l2tp/7', callingStationId: '203.0.113.7', tunnel: [{ tag: 1, type: 3, mediumType: 1, clientEndpoint: '203.0.113.7', serverEndpoint: '198.18.63.1', assignmentId: 'lac-7' }] } } as const;
    const recs: AccountingRecord[] = [
      { ...common, status: 'start', timestamp: base },
      { ...common, status: 'interim-update', timestamp: base + 1000, sessionTime: 60, counters: { inputOctets: 5_000_000_123, outputOctets: 77, inputPackets: 4000, outputPackets: 50 } },
      { ...common, status: 'stop', timestamp: base + 2000, sessionTime: 120, counters: { inputOctets: 2 ** 32 * 2 + 9, outputOctets: 99, inputPackets: 4100, outputPackets: 60 }, terminateCause: TERMINATE_CAUSE.IdleTimeout },
    ];
    for (const r of recs) assert.equal((await child().acct(r)).ok, true);
    await child().wait('three deliveries', () => child().messages.filter((m) => m.event?.type === 'accounting-delivered' && m.event.record.sessionId === 'acct-0001').length === 3, 10_000);
    const d = (rad1?.detail() ?? []).filter((x) => x.get('Acct-Session-Id') === 'acct-0001');
    assert.deepEqual(d.map((x) => x.get('Acct-Status-Type')), ['Start', 'Interim-Update', 'Stop']);
    const [start, interim, stop] = d;
    assert.equal(start?.get('NAS-Identifier'), 'l2tpkit-interop');
    assert.equal(start?.get('Framed-IP-Address'), '100.64.9.9');
    assert.equal(start?.get('Class'), `0x${hex(TEXT.encode('l2tkit-class'))}`);
    assert.equal(start?.get('Tunnel-Type:1'), 'L2TP');
    assert.equal(start?.get('Tunnel-Assignment-Id:1'), 'lac-7');
    assert.equal(start?.get('NAS-Port-Type'), 'Virtual');
    assert.equal(start?.get('Event-Timestamp')?.length !== 0, true);
    assert.equal(interim?.get('Acct-Input-Octets'), String(5_000_000_123 % 2 ** 32));
    assert.equal(interim?.get('Acct-Input-Gigawords'), '1');
    assert.equal(interim?.get('Acct-Session-Time'), '60');
    assert.equal(stop?.get('Acct-Input-Gigawords'), '2');
    assert.equal(stop?.get('Acct-Input-Octets'), '9');
    assert.equal(stop?.get('Acct-Output-Packets'), '60');
    assert.equal(stop?.get('Acct-Terminate-Cause'), 'Idle-Timeout');
    assert.equal(stop?.get('Acct-Delay-Time'), '0');
    const unique = new Set(d.map((x) => x.get('Acct-Unique-Session-Id')));
    assert.equal(unique.size, 1, 'one stable Acct-Unique-Session-Id for the session');
  });

  test('failover: primary stopped -> the secondary answers authentication and accounting', async () => {
    await rad1?.stop();
    const a = accept(await child().auth({ username: 'papuser', credentials: { method: 'pap', password: 'pap-pass' } }));
    assert.equal(a.server, 'rad2');
    assert.ok(child().messages.some((m) => m.event?.type === 'server-down' && m.event.server === 'rad1'));
    assert.equal((await child().acct({ status: 'start', sessionId: 'fo-1', timestamp: Date.now(), username: 'papuser' })).ok, true);
    await child().wait('delivery via acct2', (m) => m.event?.type === 'accounting-delivered' && m.event.record.sessionId === 'fo-1' && m.event.server === 'acct2', 15_000);
    assert.deepEqual((rad2?.detail() ?? []).filter((x) => x.get('Acct-Session-Id') === 'fo-1').map((x) => x.get('Acct-Status-Type')), ['Start']);
    await child().flush();
  });

  test('both down while 100 sessions account, our process killed and restarted on its spool: every record once, in order', async () => {
    assert.ok(topo !== undefined);
    await rad2?.stop();
    const produced: string[] = [];
    const send = async (c: RadiusChild, i: number): Promise<void> => {
      const sid = `out-${String(i).padStart(3, '0')}`;
      const t0 = Date.now();
      for (const [status, time] of [['start', 0], ['interim-update', 30], ['stop', 60]] as const) {
        const r = await c.acct({ status, sessionId: sid, timestamp: t0, username: 'papuser', sessionTime: time, ...(status === 'stop' ? { terminateCause: TERMINATE_CAUSE.UserRequest } : {}) });
        assert.equal(r.ok, true);
        produced.push(`${sid}:${status}`);
      }
    };
    const firstAt = Date.now();
    for (let i = 0; i < 50; i++) await send(child(), i);
    await child().flush();
    const before = (await child().snapshot()).snapshot.accountingQueued;
    assert.equal(before, 150, 'nothing delivered while both are down');
    // A crash: SIGKILL, then a new process on the same spool.
    await child().kill();
    const s = servers();
    main = await startRadiusChild(topo.node('nas').ns, work, 'main2', { authServers: s.auth, accountingServers: s.acct, nas: { ipAddress: topo.node('nas').address, identifier: 'l2tpkit-interop' }, spool: join(work, 'acct.spool'), retryIntervalMs: 1000 });
    assert.equal(main.restored, 150);
    for (let i = 50; i < 100; i++) await send(child(), i);
    await child().flush();
    // The outage lasts at least 3 s from the first record, so the first records are sent >= 2 s late
    // whatever the machine's speed (a fast run delivered everything within a second: delay 0).
    await new Promise((r) => setTimeout(r, Math.max(0, firstAt + 3000 - Date.now())));
    // Only the primary comes back, so every record lands in one detail file in arrival order.
    rad1 = await startFreeRadius(radOpts(1, true));
    const deadline = Date.now() + 90_000;
    for (;;) {
      const q = (await child().snapshot()).snapshot.accountingQueued;
      if (q === 0) break;
      assert.ok(Date.now() < deadline, `still ${q} records queued`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const d = (rad1.detail() ?? []).filter((x) => x.get('Acct-Session-Id')?.startsWith('out-') === true);
    const got = d.map((x) => `${x.get('Acct-Session-Id') ?? ''}:${(x.get('Acct-Status-Type') ?? '').toLowerCase()}`);
    assert.equal(got.length, 300, 'none missing, none duplicated');
    assert.deepEqual([...got].sort(), [...produced].sort());
    for (let i = 0; i < 100; i += 7) {
      const sid = `out-${String(i).padStart(3, '0')}`;
      assert.deepEqual(got.filter((g) => g.startsWith(`${sid}:`)), [`${sid}:start`, `${sid}:interim-update`, `${sid}:stop`], sid);
    }
    const delays = d.map((x) => Number(x.get('Acct-Delay-Time')));
    assert.ok(Math.max(...delays) >= 2, `records sent late say so in Acct-Delay-Time (max ${Math.max(...delays)})`);
    await child().flush();
    assert.equal((await child().snapshot()).spoolPending, 0, 'every record acknowledged in the spool');
  });

  test('capture: tshark decrypts our User-Password and validates every Response Authenticator; no malformed frame', async () => {
    await cap?.stop();
    assert.ok(cap !== undefined);
    const opts = ['-o', `radius.shared_secret:${SECRET}`, '-o', 'radius.validate_authenticator:TRUE'];
    const rep = await analyzeCapture(cap.file, opts);
    assert.equal(rep.malformed, 0, describeReport(rep));
    assert.equal(rep.errors, 0, describeReport(rep));
    const f = await run('tshark', ['-r', cap.file, ...opts, '-Y', 'radius', '-T', 'fields', '-e', 'radius.code', '-e', 'radius.User_Password', '-e', 'radius.authenticator.invalid', '-e', 'frame.number', '-e', 'radius.id', '-e', 'udp.srcport', '-e', 'udp.dstport', '-e', 'radius.authenticator'], { timeoutMs: 60_000 });
    const rows = f.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.ok(rows.some((r) => r[0] === '1' && r[1] === 'pap-pass'), 'tshark decrypted our PAP password');
    assert.ok(rows.some((r) => r[0] === '1' && r[1] === 'wrong'));
    // tshark checks a response against the LAST request with its Identifier. A retransmitted
    // Accounting-Request takes a new Identifier (new Acct-Delay-Time), the server answers every copy,
    // and after 256 Identifiers one is reused: a late answer to an old copy then looks invalid to tshark
    // (our client drops it: it matches the Identifier's current authenticator). Only an invalid answer
    // whose Identifier carried a single request on that port pair is a real defect.
    const requests = new Map<string, Set<string>>();
    for (const r of rows) if (r[0] === '1' || r[0] === '4' || r[0] === '12') {
      const k = `${r[5]}>${r[6]}#${r[4]}`;
      requests.set(k, (requests.get(k) ?? new Set()).add(r[7] ?? ''));
    }
    const invalid = rows.filter((r) => r[2] === '1');
    const real = invalid.filter((r) => (requests.get(`${r[6]}>${r[5]}#${r[4]}`)?.size ?? 0) < 2);
    if (invalid.length > 0) process.stderr.write(`# ${invalid.length} answer(s) tshark could not validate, all to reused Identifiers but ${real.length}\n`);
    assert.equal(real.length, 0, `no invalid Response Authenticator: ${real.slice(0, 12).map((r) => `frame ${r[3]} code ${r[0]} id ${r[4]} ${r[5]}->${r[6]}`).join('; ')}`);
  });
});
