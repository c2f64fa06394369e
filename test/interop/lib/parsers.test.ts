/**
 * The harness's pure parts, on recorded text (no root needed): xl2tpd 1.3.18 debug log, tshark 4.0
 * `-z expert` output, l2tpctl JSON, and the generated configurations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpertSummary } from './capture.js';
import { parseLogLines, parseShownTunnels, renderL2tpdConfig } from './l2tpd.js';
import { is, parseXl2tpdLog, renderXl2tpdConf } from './xl2tpd.js';

// Recorded from xl2tpd 1.3.18 (Debian 12) as LNS: tunnel + call up, then the LAC's CDN and StopCCN.
const LNS_LOG = `xl2tpd[6986]: Listening on IP address 198.18.77.2, port 1701
xl2tpd[6986]: network_thread: recv packet from 198.18.77.1, size = 151, tunnel = 0, call = 0 ref=0 refhim=0
xl2tpd[6986]: message_type_avp: message type 1 (Start-Control-Connection-Request)
xl2tpd[6986]: hostname_avp: peer reports hostname 'xl2tpd-lac'
xl2tpd[6986]: challenge_avp: challenge avp found
xl2tpd[6986]: network_thread: recv packet from 198.18.77.1, size = 64, tunnel = 30624, call = 0 ref=0 refhim=0
xl2tpd[6986]: message_type_avp: message type 3 (Start-Control-Connection-Connected)
xl2tpd[6986]: chalresp_avp: Challenge reply found
xl2tpd[6986]: Connection established to 198.18.77.1, 1701.  Local: 30624, Remote: 62214 (ref=0/0).  LNS session is 'default'
xl2tpd[6986]: Call established with 198.18.77.1, PID: 7084, Local: 46206, Remote: 63592, Serial: 1
xl2tpd[6986]: network_thread: recv packet from 198.18.77.1, size = 68, tunnel = 30624, call = 46206 ref=0 refhim=0
xl2tpd[6986]: message_type_avp: message type 14 (Call-Disconnect-Notify)
xl2tpd[6986]: result_code_avp: peer closing for reason 1 (General request to clear control connection), error = 0 (Goodbye!)
xl2tpd[6986]: control_finish: Connection closed to 198.18.77.1, serial 1 (Goodbye!)
xl2tpd[6986]: network_thread: recv packet from 198.18.77.1, size = 68, tunnel = 30624, call = 0 ref=0 refhim=0
xl2tpd[6986]: message_type_avp: message type 4 (Stop-Control-Connection-Notification)
xl2tpd[6986]: result_code_avp: peer closing for reason 1 (General request to clear control connection), error = 0 (Goodbye!)
xl2tpd[6986]: control_finish: Connection closed to 198.18.77.1, port 1701 (Goodbye!), Local: 30624, Remote: 62214
xl2tpd[6986]: build_fdset: closing down tunnel 30624
`;

// Recorded from the LAC side of the same run, plus a failed authentication from another run.
const LAC_LOG = `xl2tpd[6987]: Connection established to 198.18.77.2, 1701.  Local: 62214, Remote: 30624 (ref=0/0).
xl2tpd[6987]: Call established with 198.18.77.2, Local: 63592, Remote: 46206, Serial: 1 (ref=0/0)
xl2tpd[6987]: call_close: Call 63592 to 198.18.77.2 disconnected
xl2tpd[6987]: Connection 30624 closed to 198.18.77.2, port 1701 (Goodbye!)
xl2tpd[24920]: control_finish: Invalid authentication for host 'l2tpkit-lns'
xl2tpd[24920]: Connection 47079 closed to 198.18.43.1, port 1701 (Invalid challenge authentication)
`;

test('parseXl2tpdLog: LNS view of a full exchange', () => {
  const ev = parseXl2tpdLog(LNS_LOG);
  assert.deepEqual(ev.find(is('listening')), { type: 'listening', address: '198.18.77.2', port: 1701 });
  assert.equal(ev.find(is('peer-hostname'))?.hostname, 'xl2tpd-lac');
  assert.ok(ev.some(is('challenge-found')) && ev.some(is('challenge-reply-found')));
  assert.deepEqual(ev.find(is('tunnel-established')), { type: 'tunnel-established', peer: '198.18.77.1', localTunnel: 30624, remoteTunnel: 62214 });
  assert.deepEqual(ev.find(is('call-established')), { type: 'call-established', peer: '198.18.77.1', localCall: 46206, remoteCall: 63592, serial: 1 });
  const rx = ev.filter(is('received'));
  assert.deepEqual(rx.map((r) => r.messageType), [1, 3, 14, 4]);
  const cdn = rx[2];
  assert.ok(cdn);
  assert.equal(cdn.tunnel, 30624);
  assert.equal(cdn.call, 46206);
  assert.equal(cdn.resultCode, 1);
  assert.equal(cdn.errorCode, 0);
  assert.equal(cdn.errorMessage, 'Goodbye!');
  assert.equal(rx[3]?.resultCode, 1);
  assert.deepEqual(ev.find(is('call-closed-by-peer')), { type: 'call-closed-by-peer', peer: '198.18.77.1', serial: 1, message: 'Goodbye!' });
  assert.deepEqual(ev.find(is('tunnel-closed-by-peer')), { type: 'tunnel-closed-by-peer', peer: '198.18.77.1', message: 'Goodbye!', localTunnel: 30624, remoteTunnel: 62214 });
  assert.deepEqual(ev.find(is('tunnel-destroyed')), { type: 'tunnel-destroyed', localTunnel: 30624 });
  assert.ok(!ev.some(is('auth-failed')));
});

test('parseXl2tpdLog: LAC view, local hang-up and disconnect, auth failure', () => {
  const ev = parseXl2tpdLog(LAC_LOG);
  assert.deepEqual(ev.find(is('call-established')), { type: 'call-established', peer: '198.18.77.2', localCall: 63592, remoteCall: 46206, serial: 1 });
  assert.deepEqual(ev.find(is('call-closed-locally')), { type: 'call-closed-locally', localCall: 63592 });
  assert.deepEqual(ev.filter(is('tunnel-closed-locally')).map((e) => e.remoteTunnel), [30624, 47079]);
  assert.equal(ev.filter(is('auth-failed')).length, 2);
});

test('parseExpertSummary: tshark 4.0 -z expert output', () => {
  const text = `
Errors (5)
=============
   Frequency      Group           Protocol  Summary
           4  Malformed               L2TP  Malformed Packet (Exception occurred)
           1   Protocol               L2TP  AVP length must be >= 6, got 4

Warns (1)
=============
   Frequency      Group           Protocol  Summary
           1   Protocol               L2TP  Vendor-Specific AVP data

Notes (2)
=============
   Frequency      Group           Protocol  Summary
           2   Sequence                UDP  something noted
`;
  const c = parseExpertSummary(text);
  assert.equal(c.errors, 5);
  assert.equal(c.warnings, 1);
  assert.deepEqual(c.messages, [
    'ERROR 4 Malformed L2TP Malformed Packet (Exception occurred)',
    'ERROR 1 Protocol L2TP AVP length must be >= 6, got 4',
    'WARN 1 Protocol L2TP Vendor-Specific AVP data',
  ]);
  assert.deepEqual(parseExpertSummary(''), { errors: 0, warnings: 0, messages: [] });
});

test('parseShownTunnels: validates l2tpctl JSON', () => {
  const ts = parseShownTunnels(
    JSON.stringify([
      {
        localTunnelId: 3, remoteTunnelId: 9, state: 'established', peer: { address: '198.18.43.2', port: 1701, family: 4 },
        remoteHostName: 'xl2tpd-lac', ns: 4, nr: 5, sessions: [{ localSessionId: 5, remoteSessionId: 7, state: 'established' }],
      },
    ]),
  );
  assert.deepEqual(ts, [
    { localTunnelId: 3, remoteTunnelId: 9, state: 'established', peerAddress: '198.18.43.2', remoteHostName: 'xl2tpd-lac', sessions: [{ localSessionId: 5, remoteSessionId: 7, state: 'established' }] },
  ]);
  assert.throws(() => parseShownTunnels('not json'), /did not print JSON/);
  assert.throws(() => parseShownTunnels('{}'), /not an array/);
  assert.throws(() => parseShownTunnels('[{"localTunnelId":"x"}]'), /localTunnelId/);
});

test('parseLogLines: JSON lines and plain lines', () => {
  const l = parseLogLines('{"level":30,"msg":"tunnel 3 established"}\nplain text\n\n');
  assert.equal(l.length, 2);
  assert.equal(l[0]?.msg, 'tunnel 3 established');
  assert.equal(l[0]?.level, 30);
  assert.equal(l[1]?.msg, 'plain text');
});

test('renderL2tpdConfig and renderXl2tpdConf', () => {
  const toml = renderL2tpdConfig(
    {
      ns: 'n', dir: '/d', hostName: 'h', listen: [{ address: '198.18.43.1', secret: 's"q', hideAvps: true }],
      lacs: [{ name: 'x', lns: '198.18.43.2', sessions: 1, redial: false }],
    },
    '/d/sock',
  );
  assert.match(toml, /^\[\[listen\]\]\naddress = "198\.18\.43\.1"\nport = 1701\nsecret = "s\\"q"\nhide_avps = true$/m);
  assert.match(toml, /^\[\[lac\]\]\nname = "x"\nlns = "198\.18\.43\.2"\nport = 1701\nsessions = 1\nredial = false$/m);
  assert.match(toml, /^control_socket = "\/d\/sock"$/m);
  assert.match(toml, /^\[ppp\]\nenabled = false\n\n\[ipsec\]\nenabled = false$/m, 'a plain L2TP LNS says so');
  const conf = renderXl2tpdConf({
    ns: 'n', dir: '/x', listenAddress: '198.18.43.2', lns: { hostname: 'L', challenge: true },
    lacs: [{ name: 'us', lns: '198.18.43.1', hostname: 'C', hiddenBit: true }],
  });
  assert.match(conf, /\[lns default\][^[]*challenge = yes/);
  assert.match(conf, /\[lac us\][^[]*lns = 198\.18\.43\.1[^[]*hidden bit = yes/);
  assert.match(conf, /auth file = \/x\/l2tp-secrets/);
});
