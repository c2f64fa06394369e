/**
 * The smaller messages of issue 11 ("Why" #9) and the show commands' new columns: a wrong PSK
 * carries a hint, bind errors say what to do, a flow going down names its tunnels without a stray
 * dash, a refusal by the LNS is not a logout "by peer", `show status` has an IPsec line and
 * `show sessions` the authentication method; IKE debug lines carry no key material.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from './logger.js';
import { logIpsecEvent, withoutKeys } from './ipsec-shell.js';
import { hintFor, startupHint } from './startup-hints.js';
import { logoutWords } from './access-shell.js';
import { formatSessions, formatStatus } from './control-format.js';
import type { SessionView, StatusView } from './control-protocol.js';
import { avpLines } from './event-log.js';
import { MessageType } from '../wire/l2tp/index.js';

function collect(): { log: ReturnType<typeof createLogger>; msgs: () => { msg: string; level: number }[] } {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', format: 'json', sink: { write: (l) => lines.push(l) } });
  return { log, msgs: () => lines.map((l) => JSON.parse(l) as { msg: string; level: number }) };
}

const remote = { address: '198.51.100.7', port: 500 };

test('IKE failures carry a hint: a wrong PSK shows up as Main Mode message 5 failing authentication', () => {
  const { log, msgs } = collect();
  logIpsecEvent(log, { type: 'ike', event: { type: 'exchange-failed', ikeSaId: 3, remote, reason: 'auth-failed', notify: 24 } });
  logIpsecEvent(log, { type: 'ike', event: { type: 'exchange-failed', ikeSaId: undefined, remote, reason: 'no-nat-t', notify: 14 } });
  const [a, b] = msgs();
  assert.equal(a?.msg, 'ipsec: exchange with 198.51.100.7 failed: auth-failed (pre-shared key mismatch? Main Mode message 5/6 did not decrypt or authenticate with our key)');
  assert.match(b?.msg ?? '', /failed: no-nat-t \(the client offers no NAT-T and raw ESP is unavailable here: give l2tpd CAP_NET_RAW\)$/);
});

test('a flow that goes down names its L2TP tunnels, or says there were none (no stray dash)', () => {
  const { log, msgs } = collect();
  logIpsecEvent(log, { type: 'flow-down', via: 'ipsec:1', remote, tunnelsClosed: [] });
  logIpsecEvent(log, { type: 'flow-down', via: 'ipsec:2', remote, tunnelsClosed: [7, 9] });
  assert.deepEqual(msgs().map((m) => m.msg), ['ipsec: ipsec:1 down (no L2TP tunnel in it)', 'ipsec: ipsec:2 down, closing L2TP tunnel(s) 7, 9']);
});

test('IKE debug lines carry no key material; the Proxy Authen Response AVP (a PAP password) is not logged', () => {
  const key = Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
  const sa = { spi: 0x1234, encryption: 'aes-cbc', encryptionKey: key, integrity: 'hmac-sha1-96', integrityKey: key };
  const shown = JSON.stringify(withoutKeys({ type: 'child-sa-up', ikeSaId: 1, inbound: sa, outbound: sa }));
  assert.ok(!shown.includes('222') && !shown.includes('"0":'), shown);
  assert.match(shown, /"spi":4660/);
  assert.match(shown, /"encryptionKey":"\[not logged\]"/);
  const lines = avpLines({ proxyAuthenType: 3, proxyAuthenName: 'alice', proxyAuthenResponse: new TextEncoder().encode('wonderland') }, MessageType.ICCN);
  assert.ok(!lines.join('\n').includes('776f6e6465726c616e64') && !lines.join('\n').includes('wonderland'), lines.join('\n'));
  assert.ok(lines.includes('Proxy Authen Response: (10 bytes, not logged)'), lines.join('\n'));
  // pino's redaction is the second line of defence for fields named like secrets.
  const { log, msgs } = collect();
  log.info({ password: 'p1', user: { psk: 'p2' }, secret: 'p3' }, 'x');
  assert.deepEqual(Object.keys(msgs()[0] ?? {}).filter((k) => k !== 'time'), ['level', 'user', 'msg']);
});

test('bind errors say what to do', () => {
  assert.match(hintFor({ code: 'EACCES', syscall: 'bind', address: '0.0.0.0', port: 500 }) ?? '', /port 500 needs root or CAP_NET_BIND_SERVICE/);
  assert.match(hintFor({ code: 'EADDRINUSE', syscall: 'bind', address: '0.0.0.0', port: 4500 }) ?? '', /0\.0\.0\.0:4500 is already in use \(another l2tpd, or strongSwan \(charon\), libreswan \(pluto\), racoon\?\); see who: ss -ulpn 'sport = :4500'/);
  assert.match(hintFor({ code: 'EADDRINUSE', syscall: 'bind', address: '0.0.0.0', port: 1701 }) ?? '', /xl2tpd/);
  assert.match(hintFor({ code: 'EADDRNOTAVAIL', syscall: 'bind', address: '192.0.2.9', port: 1701 }) ?? '', /192\.0\.2\.9 is not an address of this host/);
  assert.match(hintFor({ code: 'EACCES', syscall: 'mkdir', path: '/run/l2tpd' }) ?? '', /no permission to create \/run\/l2tpd \(run as root, or --socket PATH/);
  assert.equal(hintFor({ code: 'ENOENT' }), undefined);
  const e = Object.assign(new Error('bind EACCES 0.0.0.0:500'), { code: 'EACCES', syscall: 'bind', address: '0.0.0.0', port: 500 });
  const h = startupHint(e);
  assert.equal(h.message, 'bind EACCES 0.0.0.0:500: binding port 500 needs root or CAP_NET_BIND_SERVICE (contrib/l2tpd.service grants it)');
  assert.equal((h as Error & { code?: string }).code, 'EACCES');
});

test('a refusal by the LNS is "rejected by us", not a logout by the peer; logouts say who ended them', () => {
  assert.deepEqual(logoutWords({ username: 'alice', reason: 'auth-failed', by: 'peer', loggedIn: false }), { text: 'alice rejected by us (auth-failed)', by: 'local' });
  assert.deepEqual(logoutWords({ username: undefined, reason: 'pool-exhausted', by: 'local', loggedIn: false }), { text: '- rejected by us (pool-exhausted)', by: 'local' });
  assert.deepEqual(logoutWords({ username: 'bob', reason: 'peer-terminated', by: 'peer', loggedIn: true }), { text: 'bob logged out (peer-terminated, by the client)', by: 'peer' });
  assert.deepEqual(logoutWords({ username: 'bob', reason: 'admin-close', by: 'local', loggedIn: true }), { text: 'bob logged out (admin-close, by us)', by: 'local' });
});

test('show sessions has the authentication method; show status an IPsec line', () => {
  const s: SessionView = {
    localTunnelId: 1, localSessionId: 2, remoteSessionId: 3, state: 'established', direction: 'incoming', role: 'lns', callSerialNumber: 1,
    rxPackets: 0, rxOctets: 0, txPackets: 0, txOctets: 0, pppPhase: 'network', username: 'alice', authMethod: 'mschapv2', address: '100.64.0.2',
  };
  const table = formatSessions([s]).split('\n');
  assert.match(table[0] ?? '', /USER +AUTH +ADDRESS/);
  assert.match(table[1] ?? '', /alice +mschapv2 +100\.64\.0\.2/);
  const st: StatusView = {
    version: '0.1.0', pid: 1, uptimeSeconds: 5, listeners: [], lacs: [], tunnels: [],
    ipsec: { listener: { address: '192.0.2.1', ikePort: 500, nattPort: 4500, rawEsp: false, requireIpsec: true }, ikeSas: 2, espSas: 2, espRaw: 0, espUdp: 2, drops: 1 },
  };
  assert.match(
    formatStatus(st),
    /^IPsec on 192\.0\.2\.1 \(IKE 500, NAT-T 4500, raw ESP off: UDP encapsulation only, L2TP only inside IPsec\): 2 IKE SA\(s\), 2 ESP SA pair\(s\) \(0 raw, 2 UDP\), 1 drop\(s\) \(l2tpctl show ipsec\)$/m,
  );
});
