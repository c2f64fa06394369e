import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lcp, DEFAULT_LCP, authOptionData, parseAuthOption, type LcpFatal } from './lcp.js';
import { Ipcp } from './ipcp.js';
import { Ipv6cp, linkLocalAddress } from './ipv6cp.js';
import { seededRandom } from '../base/random.js';
import type { CpOption } from '../wire/ppp/cp.js';
import { fromHex, ipv4Bytes, toHex } from '../base/index.js';

const opt = (type: number, hex: string): CpOption => ({ type, data: fromHex(hex) });

function lcp(role: 'authenticator' | 'peer', auth: ('pap' | 'chap-md5' | 'mschapv2')[]) {
  const fatal: LcpFatal[] = [];
  const l = new Lcp({ ...DEFAULT_LCP, role, auth }, seededRandom(5), { send: () => {}, echoMissed: () => {}, fatal: (r) => fatal.push(r) });
  return { l, fatal };
}

test('lcp: auth option data round-trips (C023, C223 05, C223 81)', () => {
  assert.equal(toHex(authOptionData('pap')), 'c023');
  assert.equal(toHex(authOptionData('chap-md5')), 'c22305');
  assert.equal(toHex(authOptionData('mschapv2')), 'c22381');
  for (const p of ['pap', 'chap-md5', 'mschapv2'] as const) assert.equal(parseAuthOption(authOptionData(p)), p);
  assert.equal(parseAuthOption(fromHex('c22380')), undefined); // MS-CHAPv1 not spoken
});

test('lcp: authenticator request and Nak walk through the preference order', () => {
  const { l, fatal } = lcp('authenticator', ['mschapv2', 'chap-md5', 'pap']);
  const req = l.buildRequest();
  assert.deepEqual(req.map((o) => o.type), [1, 3, 5]);
  assert.equal(toHex(req[0]?.data ?? new Uint8Array()), '0578'); // MRU 1400
  assert.equal(toHex(req[1]?.data ?? new Uint8Array()), 'c22381');
  // Peer Naks with something we do not speak: next in our list (chap-md5).
  l.applyNak([opt(3, 'c22380')]);
  assert.equal(toHex(l.buildRequest()[1]?.data ?? new Uint8Array()), 'c22305');
  // Peer Naks suggesting PAP, which we allow: take it.
  l.applyNak([opt(3, 'c023')]);
  assert.equal(toHex(l.buildRequest()[1]?.data ?? new Uint8Array()), 'c023');
  assert.deepEqual(fatal, []);
  l.applyNak([opt(3, 'c22380')]);
  assert.deepEqual(fatal, ['auth-protocol-refused']);
});

test('lcp: judgements — MRU floor, magic zero/equal Nak, unknown Reject, auth as peer', () => {
  const { l } = lcp('peer', ['chap-md5']);
  assert.deepEqual(l.judge(opt(1, '0040')), { verdict: 'nak', data: fromHex('0080') });
  assert.deepEqual(l.judge(opt(1, '05dc')), { verdict: 'ack' });
  assert.equal(l.judge(opt(5, '00000000')).verdict, 'nak');
  const ourMagic = l.buildRequest().find((o) => o.type === 5)?.data;
  assert.ok(ourMagic);
  const v = l.judge({ type: 5, data: ourMagic });
  assert.equal(v.verdict, 'nak');
  assert.equal(l.judge(opt(13, '06')).verdict, 'reject'); // Callback
  assert.equal(l.judge(opt(17, '05dc')).verdict, 'reject'); // MRRU
  assert.deepEqual(l.judge(opt(3, 'c22305')), { verdict: 'ack' });
  assert.deepEqual(l.judge(opt(3, 'c22381')), { verdict: 'nak', data: fromHex('c22305') });
  // The LNS never authenticates itself.
  assert.deepEqual(lcp('authenticator', ['pap']).l.judge(opt(3, 'c023')), { verdict: 'reject' });
  // PFC / ACFC accepted; recorded on applyPeerAck.
  l.applyPeerAck([opt(1, '05dc'), opt(7, ''), opt(8, ''), opt(5, 'abcdef01')]);
  assert.equal(l.state.peerMru, 1500);
  assert.equal(l.state.peerPfc, true);
  assert.equal(l.state.peerAcfc, true);
  assert.equal(l.state.peerMagic, 0xabcdef01);
});

test('lcp: Reject of the auth option is fatal for the authenticator', () => {
  const { l, fatal } = lcp('authenticator', ['pap']);
  l.applyReject([opt(3, 'c023')]);
  assert.deepEqual(fatal, ['auth-protocol-refused']);
});

test('ipcp (authenticator): Nak 0.0.0.0 and wrong addresses, DNS/NBNS Nak-to-configured, Reject VJ', () => {
  const ip = new Ipcp({ role: 'authenticator', localAddress: '100.64.0.1', dns: ['192.0.2.53'], nbns: ['192.0.2.137'] });
  ip.peerAddress = '100.64.0.10';
  assert.deepEqual(ip.judge(opt(3, '00000000')), { verdict: 'nak', data: ipv4Bytes('100.64.0.10') });
  assert.deepEqual(ip.judge(opt(3, 'c0000201')), { verdict: 'nak', data: ipv4Bytes('100.64.0.10') });
  assert.deepEqual(ip.judge({ type: 3, data: ipv4Bytes('100.64.0.10') ?? new Uint8Array() }), { verdict: 'ack' });
  assert.deepEqual(ip.judge(opt(129, '00000000')), { verdict: 'nak', data: ipv4Bytes('192.0.2.53') });
  assert.deepEqual(ip.judge(opt(130, '00000000')), { verdict: 'nak', data: ipv4Bytes('192.0.2.137') });
  assert.deepEqual(ip.judge(opt(131, '00000000')), { verdict: 'reject' }); // no secondary DNS configured
  assert.deepEqual(ip.judge(opt(2, '002d0f01')), { verdict: 'reject' }); // VJ compression
  assert.deepEqual(ip.judge(opt(1, '0000000000000000')), { verdict: 'reject' }); // IP-Addresses
  // A request with no IP-Address gets one appended to the Nak.
  assert.deepEqual(ip.missing([]), [{ type: 3, data: ipv4Bytes('100.64.0.10') }]);
  assert.deepEqual(ip.buildRequest(), [{ type: 3, data: ipv4Bytes('100.64.0.1') }]);
});

test('ipcp (authenticator): the acked peer address is the assigned one (its string kept), else what the peer acked', () => {
  const ip = new Ipcp({ role: 'authenticator', localAddress: '100.64.0.1' });
  const assigned = ['100.64.', '0.10'].join(''); // a string of its own, as the pool makes it
  ip.peerAddress = assigned;
  ip.applyPeerAck([{ type: 3, data: ipv4Bytes('100.64.0.10') ?? new Uint8Array() }]);
  assert.equal(ip.result.peer, '100.64.0.10');
  assert.equal(ip.result.peer, ip.peerAddress);
  ip.applyPeerAck([{ type: 3, data: ipv4Bytes('100.64.0.11') ?? new Uint8Array() }]);
  assert.equal(ip.result.peer, '100.64.0.11');
  ip.applyPeerAck([]);
  assert.equal(ip.result.peer, '0.0.0.0');
});

test('ipcp (peer): asks 0.0.0.0 + DNS, accepts Naks, stops asking after Reject', () => {
  const ip = new Ipcp({ role: 'peer', localAddress: '0.0.0.0' });
  assert.deepEqual(ip.buildRequest().map((o) => [o.type, toHex(o.data)]), [
    [3, '00000000'],
    [129, '00000000'],
    [131, '00000000'],
  ]);
  ip.applyNak([opt(3, '6440000a'), opt(129, 'c0000235')]);
  ip.applyReject([opt(131, '00000000')]);
  assert.deepEqual(ip.buildRequest().map((o) => [o.type, toHex(o.data)]), [
    [3, '6440000a'],
    [129, 'c0000235'],
  ]);
  ip.applyAck(ip.buildRequest());
  ip.applyPeerAck([opt(3, '64400001')]);
  assert.deepEqual(ip.result, { local: '100.64.0.10', peer: '100.64.0.1', dns: ['192.0.2.53'], nbns: [] });
  assert.equal(ip.judge(opt(3, '00000000')).verdict, 'reject');
});

test('ipv6cp: Nak on zero and on collision, adopt suggestions, Reject compression', () => {
  const ours = fromHex('0200000000000001');
  const v6 = new Ipv6cp(seededRandom(7), ours);
  const z = v6.judge(opt(1, '0000000000000000'));
  assert.ok(z.verdict === 'nak' && toHex(z.data) !== '0000000000000000' && toHex(z.data) !== toHex(ours));
  const c = v6.judge({ type: 1, data: ours });
  assert.ok(c.verdict === 'nak' && toHex(c.data) !== toHex(ours));
  assert.deepEqual(v6.judge(opt(1, '0200000000000002')), { verdict: 'ack' });
  assert.deepEqual(v6.judge(opt(2, '004f')), { verdict: 'reject' });
  v6.applyPeerAck([opt(1, '0200000000000002')]);
  v6.applyNak([opt(1, '1111111111111111')]);
  assert.equal(toHex(v6.buildRequest()[0]?.data ?? new Uint8Array()), '1111111111111111');
  // A Nak suggesting the peer's own identifier is not taken.
  v6.applyNak([opt(1, '0200000000000002')]);
  assert.notEqual(toHex(v6.buildRequest()[0]?.data ?? new Uint8Array()), '0200000000000002');
  assert.equal(linkLocalAddress(fromHex('0200000000000001')), 'fe80::200:0:0:1');
});

