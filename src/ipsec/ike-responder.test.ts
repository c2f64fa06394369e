import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IkeResponder, type IkeResponderConfig } from './ike-responder.js';
import type { IkeDatagram, IkeEvent } from './ike-types.js';
import { TestInitiator, type TestInitiatorOptions } from '../../test/lib/ike-test-initiator.js';
import { EspSa } from './esp.js';
import { instant, millis, seconds, type Instant } from '../base/time.js';
import { seededRandom } from '../base/random.js';
import { parseIsakmp } from '../wire/ike/codec.js';
import { ExchangeType, NotifyType, ProtocolId } from '../wire/ike/constants.js';
import type { Endpoint } from './addr.js';
import { drain } from '../../test/lib/drain.js';

const PSK = new TextEncoder().encode('correct horse battery staple');
const R500: Endpoint = { address: '192.0.2.1', port: 500 };
const R4500: Endpoint = { address: '192.0.2.1', port: 4500 };
const T0 = instant(1_000_000);

interface Party {
  resp: IkeResponder;
  init: TestInitiator;
  events: IkeEvent[];
  /** Deliver initiator bytes to the responder; return the single datagram answered (asserted). */
  send(now: Instant, from: Endpoint, to: Endpoint, data: Uint8Array): IkeDatagram;
  /** Deliver without expecting an answer; returns all datagrams produced. */
  deliver(now: Instant, from: Endpoint, to: Endpoint, data: Uint8Array): IkeDatagram[];
}

function party(opts: Partial<TestInitiatorOptions> & { privateEndpoint: Endpoint }, cfg: Partial<IkeResponderConfig> = {}, seed = 7): Party {
  const resp = new IkeResponder({ psk: () => PSK, ...cfg }, seededRandom(seed));
  const init = new TestInitiator({ psk: PSK, natt: 'rfc3947', ...opts }, seededRandom(seed + 100));
  const events: IkeEvent[] = [];
  const deliver = (now: Instant, from: Endpoint, to: Endpoint, data: Uint8Array): IkeDatagram[] => {
    resp.handle(now, { local: to, remote: from, data: TestInitiator.frame(data, to.port) });
    events.push(...drain(() => resp.pollEvent()));
    return drain(() => resp.pollTransmit());
  };
  return {
    resp,
    init,
    events,
    deliver,
    send(now, from, to, data) {
      const out = deliver(now, from, to, data);
      assert.equal(out.length, 1, `one answer (events: ${JSON.stringify(events.map((e) => e.type))})`);
      const d = out[0];
      assert.ok(d);
      assert.deepEqual(d.remote, from, 'answer goes back where the request came from');
      assert.deepEqual(d.local, to);
      return { ...d, data: TestInitiator.unframe(d.data, to.port) };
    },
  };
}

/** Main Mode + Quick Mode; `nat` puts the initiator behind a NAPT that floats to 4500. */
function handshake(p: Party, nat: { p500: Endpoint; p4500: Endpoint } | undefined, qmOpts: { withIds?: boolean } = {}): void {
  const c500 = nat ? nat.p500 : { address: '198.51.100.7', port: 500 };
  const cLate = nat ? nat.p4500 : c500;
  const rLate = nat ? R4500 : R500;
  p.init.onMm2(p.send(T0, c500, R500, p.init.mm1()).data);
  const natds = p.init.onMm4(p.send(T0, c500, R500, p.init.mm3(R500)).data);
  if (p.init['o'].natt !== 'none') assert.equal(natds.length, 2);
  p.init.onMm6(p.send(T0, cLate, rLate, p.init.mm5()).data);
  p.init.onQm2(p.send(T0, cLate, rLate, p.init.qm1('192.0.2.1', qmOpts)).data);
  assert.equal(p.deliver(T0, cLate, rLate, p.init.qm3()).length, 0, 'QM3 needs no answer');
}

function childUp(p: Party): Extract<IkeEvent, { type: 'child-sa-up' }> {
  const e = p.events.find((x): x is Extract<IkeEvent, { type: 'child-sa-up' }> => x.type === 'child-sa-up');
  assert.ok(e, 'child-sa-up emitted');
  return e;
}

function espRoundTrip(p: Party): void {
  const c = childUp(p);
  const ik = p.init.esp;
  assert.ok(ik);
  // Identical keys on both sides, crossed directions.
  assert.deepEqual(c.inbound, ik.outbound);
  assert.deepEqual(c.outbound, ik.inbound);
  const clientTx = new EspSa(ik.outbound, seededRandom(1));
  const serverRx = new EspSa(c.inbound, seededRandom(2));
  const serverTx = new EspSa(c.outbound, seededRandom(3));
  const clientRx = new EspSa(ik.inbound, seededRandom(4));
  const l2tp = Uint8Array.from([0x06, 0xa5, 0x06, 0xa5, 0, 12, 0, 0, 0xc8, 2, 0, 4]);
  for (let i = 0; i < 3; i++) {
    const up = clientTx.encrypt(l2tp);
    assert.ok(up.ok);
    if (!up.ok) return;
    const got = serverRx.decrypt(up.value);
    assert.ok(got.ok && Buffer.from(got.value.payload).equals(Buffer.from(l2tp)) && got.value.nextHeader === 17);
    const down = serverTx.encrypt(l2tp);
    assert.ok(down.ok);
    if (down.ok) assert.ok(clientRx.decrypt(down.value).ok);
  }
}

test('two-party Main Mode + Quick Mode without NAT: identical ESP keys, ESP round trip', () => {
  const p = party({ privateEndpoint: { address: '198.51.100.7', port: 500 } });
  handshake(p, undefined);
  const types = p.events.map((e) => e.type);
  assert.deepEqual(types, ['ike-sa-up', 'child-sa-up']);
  const up = p.events[0];
  assert.ok(up && up.type === 'ike-sa-up');
  assert.deepEqual(up.natT, { variant: 'rfc3947', localBehindNat: false, remoteBehindNat: false });
  assert.equal(up.algorithms.encryption, 'aes-256-cbc');
  const c = childUp(p);
  assert.equal(c.encapsulation, 'transport');
  assert.deepEqual(c.remoteSelector, { address: '198.51.100.7', protocol: 17, port: 1701 });
  assert.deepEqual(c.localSelector, { address: '192.0.2.1', protocol: 17, port: 1701 });
  assert.equal(c.lifetimeSeconds, 3600);
  espRoundTrip(p);
});

test('suites: 3DES/SHA1/MODP1024, AES128/SHA256/ECP256 + AES-GCM-16 with PFS, AES256/SHA512/MODP1536', () => {
  const cases: Partial<TestInitiatorOptions>[] = [
    { p1: { encr: 5, hash: 2, hashName: 'sha1', group: 2 }, esp: { transformId: 3, auth: 2, encryption: '3des-cbc', integrity: 'hmac-sha1-96' } },
    { p1: { encr: 7, keyBits: 128, hash: 4, hashName: 'sha256', group: 19 }, esp: { transformId: 20, keyBits: 256, encryption: 'aes-gcm-16', integrity: 'none' }, pfsGroup: 19 },
    { p1: { encr: 7, keyBits: 256, hash: 6, hashName: 'sha512', group: 5 }, esp: { transformId: 12, keyBits: 256, auth: 5, encryption: 'aes-cbc', integrity: 'hmac-sha256-128' }, pfsGroup: 20 },
    { p1: { encr: 7, keyBits: 256, hash: 5, hashName: 'sha384', group: 20 }, esp: { transformId: 20, keyBits: 128, encryption: 'aes-gcm-16', integrity: 'none' } },
  ];
  for (const [i, c] of cases.entries()) {
    const p = party({ privateEndpoint: { address: '198.51.100.7', port: 500 }, natt: 'none', ...c }, {}, 20 + i);
    handshake(p, undefined);
    espRoundTrip(p);
    const ch = childUp(p);
    assert.equal(ch.pfsGroup, c.pfsGroup);
  }
});

test('NAT-T (RFC 3947): NAT-D detects the NAT, float to 4500, UDP-encapsulated transport, NAT-OA', () => {
  const nat = { p500: { address: '203.0.113.9', port: 40000 }, p4500: { address: '203.0.113.9', port: 40001 } };
  const p = party({ privateEndpoint: { address: '100.64.0.2', port: 500 }, udpEncap: true, clientPort: 1701 });
  handshake(p, nat);
  const up = p.events.find((e) => e.type === 'ike-sa-up');
  assert.ok(up && up.type === 'ike-sa-up');
  assert.deepEqual(up.natT, { variant: 'rfc3947', localBehindNat: false, remoteBehindNat: true });
  assert.deepEqual(up.remote, nat.p4500, 'IKE SA floated to the 4500 mapping');
  const c = childUp(p);
  assert.equal(c.encapsulation, 'udp-transport');
  assert.deepEqual(c.remote, nat.p4500);
  assert.deepEqual(c.local, R4500);
  assert.deepEqual(c.natOa, { initiator: '100.64.0.2', responder: '192.0.2.1' });
  assert.equal(c.remoteSelector.address, '100.64.0.2');
  espRoundTrip(p);
});

test('NAT-T drafts (Windows/macOS -02\\n VID): NAT-D 130, NAT-OA 131, encapsulation 61444', () => {
  const nat = { p500: { address: '203.0.113.9', port: 41000 }, p4500: { address: '203.0.113.9', port: 41001 } };
  const p = party({ privateEndpoint: { address: '100.64.0.3', port: 500 }, natt: 'draft', udpEncap: true, clientPort: 53211 });
  handshake(p, nat);
  const c = childUp(p);
  assert.equal(c.encapsulation, 'udp-transport');
  assert.equal(c.remoteSelector.port, 53211, 'ephemeral client port accepted');
  espRoundTrip(p);
});

test('Quick Mode without IDs implies the IKE addresses (RFC 2409 §5.5)', () => {
  const p = party({ privateEndpoint: { address: '198.51.100.7', port: 500 }, natt: 'none' });
  handshake(p, undefined, { withIds: false });
  assert.deepEqual(childUp(p).remoteSelector, { address: '198.51.100.7', protocol: 0, port: 0 });
});

test('Aggressive Mode is refused with NO-PROPOSAL-CHOSEN', () => {
  const p = party({ privateEndpoint: { address: '198.51.100.7', port: 500 } });
  const d = p.send(T0, { address: '198.51.100.7', port: 500 }, R500, p.init.mm1(ExchangeType.AGGRESSIVE));
  const m = parseIsakmp(d.data);
  assert.ok(m.ok && !m.value.encrypted && m.value.header.exchangeType === ExchangeType.INFORMATIONAL);
  if (m.ok && !m.value.encrypted) {
    const n = m.value.payloads[0];
    assert.ok(n && n.kind === 'n' && n.notifyType === NotifyType.NO_PROPOSAL_CHOSEN);
  }
  assert.equal(p.resp.ikeSaCount, 0);
  assert.ok(p.events.some((e) => e.type === 'exchange-failed' && e.reason === 'aggressive-mode-refused'));
});

test('unacceptable phase-1 proposal (DES) gets NO-PROPOSAL-CHOSEN', () => {
  const p = party({ privateEndpoint: { address: '198.51.100.7', port: 500 }, p1: { encr: 7, keyBits: 256, hash: 1, hashName: 'md5', group: 14 } });
  const d = p.send(T0, { address: '198.51.100.7', port: 500 }, R500, p.init.mm1());
  const m = parseIsakmp(d.data);
  assert.ok(m.ok && m.value.header.exchangeType === ExchangeType.INFORMATIONAL);
  assert.ok(p.events.some((e) => e.type === 'exchange-failed' && e.reason === 'no-proposal'));
});

test('duplicates are answered from the last response and never re-processed', () => {
  const p = party({ privateEndpoint: { address: '198.51.100.7', port: 500 }, natt: 'none' });
  const c = { address: '198.51.100.7', port: 500 };
  const mm1 = p.init.mm1();
  const a1 = p.send(T0, c, R500, mm1);
  const a1b = p.send(T0, c, R500, mm1);
  assert.deepEqual(a1b.data, a1.data);
  assert.equal(p.resp.ikeSaCount, 1);
  p.init.onMm2(a1.data);
  const mm3 = p.init.mm3(R500);
  const a3 = p.send(T0, c, R500, mm3);
  assert.deepEqual(p.send(T0, c, R500, mm3).data, a3.data, 'MM3 duplicate: same KE/Nr, no new DH');
  p.init.onMm4(a3.data);
  const mm5 = p.init.mm5();
  const a5 = p.send(T0, c, R500, mm5);
  assert.deepEqual(p.send(T0, c, R500, mm5).data, a5.data);
  p.init.onMm6(a5.data);
  const qm1 = p.init.qm1('192.0.2.1');
  const q2 = p.send(T0, c, R500, qm1);
  assert.deepEqual(p.send(T0, c, R500, qm1).data, q2.data);
  p.init.onQm2(q2.data);
  // Between QM2 and QM3 our new inbound SPI is expected (the gate holds early ESP on it), after QM3 no longer.
  const ourSpi = p.init.esp?.outbound.spi ?? 0;
  assert.equal(p.resp.expectsInboundSpi(ourSpi), true);
  assert.equal(p.resp.expectsInboundSpi(ourSpi ^ 1), false);
  const qm3 = p.init.qm3();
  assert.equal(p.deliver(T0, c, R500, qm3).length, 0);
  assert.equal(p.resp.expectsInboundSpi(ourSpi), false);
  assert.equal(p.deliver(T0, c, R500, qm3).length, 0);
  assert.deepEqual(p.events.map((e) => e.type), ['ike-sa-up', 'child-sa-up']);
});

test('retransmission on a virtual clock: 2 s doubling, give up after 4 retries', () => {
  const p = party({ privateEndpoint: { address: '198.51.100.7', port: 500 } });
  const c = { address: '198.51.100.7', port: 500 };
  const mm2 = p.send(T0, c, R500, p.init.mm1());
  assert.equal(p.resp.pollAt(), T0 + 2000);
  p.resp.handleTimeout(instant(T0 + 1999));
  assert.equal(drain(() => p.resp.pollTransmit()).length, 0, 'nothing at RTO-1');
  let t = T0 + 2000;
  for (const gap of [2000, 4000, 8000, 16000]) {
    assert.equal(p.resp.pollAt(), t);
    p.resp.handleTimeout(instant(t));
    const out = drain(() => p.resp.pollTransmit());
    assert.equal(out.length, 1, `retransmit at ${t - T0}`);
    assert.deepEqual(out[0]?.data, mm2.data);
    t += gap * 2;
  }
  assert.equal(p.resp.pollAt(), T0 + 2000 + 4000 + 8000 + 16000 + 32000);
  p.resp.handleTimeout(instant(T0 + 62000));
  assert.equal(drain(() => p.resp.pollTransmit()).length, 0);
  const ev = drain(() => p.resp.pollEvent());
  assert.ok(ev.some((e) => e.type === 'exchange-failed' && e.reason === 'timeout'));
  assert.ok(ev.some((e) => e.type === 'sa-deleted' && e.kind === 'ike' && e.reason === 'half-open-timeout'));
  assert.equal(p.resp.ikeSaCount, 0);
  assert.equal(p.resp.pollAt(), undefined);
});

test('wrong PSK: MM5 fails authentication, the half-open SA is dropped', () => {
  const resp = new IkeResponder({ psk: () => new TextEncoder().encode('other') }, seededRandom(1));
  const init = new TestInitiator({ psk: PSK, natt: 'none', privateEndpoint: { address: '198.51.100.7', port: 500 } }, seededRandom(2));
  const c = { address: '198.51.100.7', port: 500 };
  const go = (data: Uint8Array): Uint8Array => {
    resp.handle(T0, { local: R500, remote: c, data });
    return drain(() => resp.pollTransmit())[0]?.data ?? new Uint8Array(0);
  };
  init.onMm2(go(init.mm1()));
  init.onMm4(go(init.mm3(R500)));
  go(init.mm5());
  const ev = drain(() => resp.pollEvent());
  assert.ok(ev.some((e) => e.type === 'exchange-failed' && e.reason === 'auth-failed'));
  assert.equal(resp.ikeSaCount, 0);
});

test('Quick Mode for a port other than 1701 gets INVALID-ID-INFORMATION', () => {
  const p = party({ privateEndpoint: { address: '198.51.100.7', port: 500 }, natt: 'none' });
  const c = { address: '198.51.100.7', port: 500 };
  p.init.onMm2(p.send(T0, c, R500, p.init.mm1()).data);
  p.init.onMm4(p.send(T0, c, R500, p.init.mm3(R500)).data);
  p.init.onMm6(p.send(T0, c, R500, p.init.mm5()).data);
  const d = p.send(T0, c, R500, p.init.qm1('192.0.2.1', { l2tpPort: 80 }));
  const ps = p.init.openInformational(d.data);
  assert.ok(ps.some((x) => x.kind === 'n' && x.notifyType === NotifyType.INVALID_ID_INFORMATION));
  assert.ok(p.events.some((e) => e.type === 'exchange-failed' && e.reason === 'invalid-id'));
});

test('DPD: R-U-THERE answered; our probes on idle; dpd-failed after the timeout', () => {
  const p = party({ privateEndpoint: { address: '198.51.100.7', port: 500 }, natt: 'none' }, { dpd: { interval: seconds(30), timeout: seconds(20) } });
  handshake(p, undefined);
  const c = { address: '198.51.100.7', port: 500 };
  const cookies = new Uint8Array([...p.init.icookie, ...p.init.rcookie]);
  const ack = p.send(T0, c, R500, p.init.informational([{ kind: 'n', doi: 1, protocolId: 1, notifyType: NotifyType.R_U_THERE, spi: cookies, data: Uint8Array.of(0, 0, 0, 9) }]));
  const ps = p.init.openInformational(ack.data);
  const n = ps[0];
  assert.ok(n && n.kind === 'n' && n.notifyType === NotifyType.R_U_THERE_ACK);
  if (n && n.kind === 'n') assert.deepEqual(n.data, Uint8Array.of(0, 0, 0, 9));
  // idle: the responder probes at lastHeard + 30 s
  assert.equal(p.resp.pollAt(), T0 + 30000);
  p.resp.handleTimeout(instant(T0 + 29999));
  assert.equal(drain(() => p.resp.pollTransmit()).length, 0);
  p.resp.handleTimeout(instant(T0 + 30000));
  const probe = drain(() => p.resp.pollTransmit());
  assert.equal(probe.length, 1);
  const pr = p.init.openInformational(probe[0]?.data ?? new Uint8Array(0))[0];
  assert.ok(pr && pr.kind === 'n' && pr.notifyType === NotifyType.R_U_THERE);
  // answer it: DPD goes quiet until the next idle interval
  if (pr && pr.kind === 'n') {
    p.deliver(instant(T0 + 31000), c, R500, p.init.informational([{ kind: 'n', doi: 1, protocolId: 1, notifyType: NotifyType.R_U_THERE_ACK, spi: cookies, data: pr.data }]));
  }
  assert.equal(p.resp.pollAt(), T0 + 61000);
  // now stay silent: probes, then dpd-failed 20 s after the first probe
  let t = T0 + 61000;
  while (t < T0 + 81000) {
    p.resp.handleTimeout(instant(t));
    drain(() => p.resp.pollTransmit());
    t = p.resp.pollAt() ?? t + 1;
  }
  assert.equal(t, T0 + 81000);
  p.resp.handleTimeout(instant(t));
  const ev = drain(() => p.resp.pollEvent());
  assert.ok(ev.some((e) => e.type === 'dpd-failed'));
  assert.ok(ev.some((e) => e.type === 'sa-deleted' && e.kind === 'child' && e.reason === 'ike-sa-gone'));
  assert.ok(ev.some((e) => e.type === 'sa-deleted' && e.kind === 'ike' && e.reason === 'dpd'));
  assert.equal(p.resp.ikeSaCount, 0);
});

test('peer delete of the ESP SA then the ISAKMP SA (Windows disconnect order)', () => {
  const p = party({ privateEndpoint: { address: '198.51.100.7', port: 500 }, natt: 'none' });
  handshake(p, undefined);
  const c = { address: '198.51.100.7', port: 500 };
  const ik = p.init.esp;
  assert.ok(ik);
  const spi = new Uint8Array(4);
  new DataView(spi.buffer).setUint32(0, ik.inbound.spi);
  p.deliver(T0, c, R500, p.init.informational([{ kind: 'd', doi: 1, protocolId: ProtocolId.ESP, spiSize: 4, spis: [spi] }]));
  const del = p.events.filter((e) => e.type === 'sa-deleted');
  assert.equal(del.length, 1);
  assert.ok(del[0]?.type === 'sa-deleted' && del[0].kind === 'child' && del[0].reason === 'peer-delete');
  p.deliver(T0, c, R500, p.init.informational([{ kind: 'd', doi: 1, protocolId: ProtocolId.ISAKMP, spiSize: 16, spis: [new Uint8Array([...p.init.icookie, ...p.init.rcookie])] }]));
  assert.ok(p.events.some((e) => e.type === 'sa-deleted' && e.kind === 'ike' && e.reason === 'peer-delete'));
  assert.equal(p.resp.ikeSaCount, 0);
});

test('informational with a bad HASH(1) is ignored', () => {
  const p = party({ privateEndpoint: { address: '198.51.100.7', port: 500 }, natt: 'none' });
  handshake(p, undefined);
  const msg = p.init.informational([{ kind: 'd', doi: 1, protocolId: ProtocolId.ISAKMP, spiSize: 16, spis: [new Uint8Array([...p.init.icookie, ...p.init.rcookie])] }]);
  msg[msg.length - 1] = (msg[msg.length - 1] ?? 0) ^ 1; // corrupt the last cipher block
  p.deliver(T0, { address: '198.51.100.7', port: 500 }, R500, msg);
  assert.equal(p.resp.ikeSaCount, 1);
  assert.ok(p.events.some((e) => e.type === 'exchange-failed' && e.reason === 'bad-hash'));
});

test('child lifetime expiry sends D(ESP); IKE lifetime expiry sends D(ISAKMP)', () => {
  const p = party({ privateEndpoint: { address: '198.51.100.7', port: 500 }, natt: 'none' });
  handshake(p, undefined);
  assert.equal(p.resp.pollAt(), T0 + 3600 * 1000);
  p.resp.handleTimeout(instant(T0 + 3600 * 1000));
  const d = drain(() => p.resp.pollTransmit());
  assert.equal(d.length, 1);
  const ps = p.init.openInformational(d[0]?.data ?? new Uint8Array(0));
  assert.ok(ps[0]?.kind === 'd' && ps[0].protocolId === ProtocolId.ESP);
  assert.ok(drain(() => p.resp.pollEvent()).some((e) => e.type === 'sa-deleted' && e.kind === 'child' && e.reason === 'expired'));
  assert.equal(p.resp.pollAt(), T0 + 28800 * 1000);
  p.resp.handleTimeout(instant(T0 + 28800 * 1000));
  const d2 = drain(() => p.resp.pollTransmit());
  const ps2 = p.init.openInformational(d2[0]?.data ?? new Uint8Array(0));
  assert.ok(ps2[0]?.kind === 'd' && ps2[0].protocolId === ProtocolId.ISAKMP);
  assert.equal(p.resp.ikeSaCount, 0);
});

test('INITIAL-CONTACT replaces the older IKE SA of the same peer (RFC 2407 §4.6.3.3)', () => {
  const resp = new IkeResponder({ psk: () => PSK }, seededRandom(9));
  const c = { address: '198.51.100.7', port: 500 };
  const run = (seed: number, ic: boolean): void => {
    const init = new TestInitiator({ psk: PSK, natt: 'none', privateEndpoint: c, initialContact: ic }, seededRandom(seed));
    const go = (data: Uint8Array): Uint8Array => {
      resp.handle(T0, { local: R500, remote: c, data });
      return drain(() => resp.pollTransmit())[0]?.data ?? new Uint8Array(0);
    };
    init.onMm2(go(init.mm1()));
    init.onMm4(go(init.mm3(R500)));
    init.onMm6(go(init.mm5()));
  };
  run(1, false);
  assert.equal(resp.ikeSaCount, 1);
  run(2, true);
  const ev = drain(() => resp.pollEvent());
  assert.ok(ev.some((e) => e.type === 'initial-contact'));
  assert.ok(ev.some((e) => e.type === 'sa-deleted' && e.reason === 'initial-contact'));
  assert.equal(resp.ikeSaCount, 1);
});

test('re-authentication: a new Main Mode without INITIAL-CONTACT, then D(ISAKMP) of the old IKE SA keeps its child SAs (strongSwan IKEv1 reauth)', () => {
  const p = party({ privateEndpoint: { address: '198.51.100.7', port: 500 }, natt: 'none' });
  const c = { address: '198.51.100.7', port: 500 };
  handshake(p, undefined);
  const child = childUp(p);
  // The same peer authenticates again (strongSwan: "reauthenticating IKE_SA", adopting its CHILD_SAs).
  const init2 = new TestInitiator({ psk: PSK, natt: 'none', privateEndpoint: c, initialContact: false }, seededRandom(555));
  init2.onMm2(p.send(T0, c, R500, init2.mm1()).data);
  init2.onMm4(p.send(T0, c, R500, init2.mm3(R500)).data);
  init2.onMm6(p.send(T0, c, R500, init2.mm5()).data);
  const ups = p.events.filter((e): e is Extract<IkeEvent, { type: 'ike-sa-up' }> => e.type === 'ike-sa-up');
  assert.equal(ups.length, 2);
  const [old, fresh] = ups;
  assert.ok(old && fresh);
  // ... then deletes the old IKE SA only.
  p.deliver(T0, c, R500, p.init.informational([{ kind: 'd', doi: 1, protocolId: ProtocolId.ISAKMP, spiSize: 16, spis: [new Uint8Array([...p.init.icookie, ...p.init.rcookie])] }]));
  const dels = p.events.filter((e) => e.type === 'sa-deleted');
  assert.deepEqual(dels.map((e) => e.type === 'sa-deleted' && [e.kind, e.ikeSaId, e.reason]), [['ike', old.ikeSaId, 'peer-delete']], 'the child SA lives on');
  assert.equal(p.resp.ikeSaCount, 1);
  // ... and says so, so that the gate and `show ipsec` name the new owner.
  assert.deepEqual(
    p.events.filter((e) => e.type === 'children-adopted'),
    [{ type: 'children-adopted', ikeSaId: fresh.ikeSaId, fromIkeSaId: old.ikeSaId, inboundSpis: [child.inbound.spi] }],
  );
  // The child now belongs to the new IKE SA: its expiry and deletes run through it.
  assert.equal(p.resp.pollAt(), T0 + 3600 * 1000, 'the child expiry is still scheduled');
  p.resp.deleteIkeSa(T0, fresh.ikeSaId);
  const ev = drain(() => p.resp.pollEvent());
  assert.ok(ev.some((e) => e.type === 'sa-deleted' && e.kind === 'child' && e.ikeSaId === fresh.ikeSaId && e.inboundSpi === child.inbound.spi && e.reason === 'local'));
  const out = drain(() => p.resp.pollTransmit());
  const ps = out.map((d) => init2.openInformational(d.data)[0]);
  assert.ok(ps.some((x) => x?.kind === 'd' && x.protocolId === ProtocolId.ESP), 'D(ESP) for the adopted child under the new IKE SA');
});

test('D(ISAKMP) without a newer IKE SA of that peer still takes the child SAs with it', () => {
  const p = party({ privateEndpoint: { address: '198.51.100.7', port: 500 }, natt: 'none' });
  handshake(p, undefined);
  p.deliver(T0, { address: '198.51.100.7', port: 500 }, R500, p.init.informational([{ kind: 'd', doi: 1, protocolId: ProtocolId.ISAKMP, spiSize: 16, spis: [new Uint8Array([...p.init.icookie, ...p.init.rcookie])] }]));
  assert.ok(p.events.some((e) => e.type === 'sa-deleted' && e.kind === 'child' && e.reason === 'ike-sa-gone'));
  assert.equal(p.resp.ikeSaCount, 0);
});

test('NAT keepalives when we are the one behind a NAT (RFC 3948 §4)', () => {
  // The initiator sends NAT-D hashes for a responder address that differs from our local one.
  const p = party({ privateEndpoint: { address: '198.51.100.7', port: 500 } }, { natKeepalive: seconds(20) });
  const c = { address: '198.51.100.7', port: 500 };
  p.init.onMm2(p.send(T0, c, R500, p.init.mm1()).data);
  p.init.onMm4(p.send(T0, c, R500, p.init.mm3({ address: '203.0.113.77', port: 500 })).data);
  p.init.onMm6(p.send(T0, { address: '198.51.100.7', port: 4500 }, R4500, p.init.mm5()).data);
  const up = p.events.find((e) => e.type === 'ike-sa-up');
  assert.ok(up && up.type === 'ike-sa-up' && up.natT.localBehindNat);
  assert.equal(p.resp.pollAt(), T0 + 20000);
  p.resp.handleTimeout(instant(T0 + 20000));
  const ka = drain(() => p.resp.pollTransmit());
  assert.equal(ka.length, 1);
  assert.deepEqual(ka[0]?.data, Uint8Array.of(0xff));
  assert.deepEqual(ka[0]?.local, R4500);
});

test('random datagrams never throw and create nothing', () => {
  const resp = new IkeResponder({ psk: () => PSK }, seededRandom(3));
  const r = seededRandom(99);
  for (let i = 0; i < 500; i++) {
    const n = r.u32() % 200;
    const data = r.bytes(n);
    resp.handle(T0, { local: i % 2 ? R500 : R4500, remote: { address: '198.51.100.9', port: 500 }, data });
  }
  assert.equal(resp.ikeSaCount, 0);
  resp.handleTimeout(instant(T0 + 1000));
  void millis;
});


test('NAT rebinding: an authenticated message from a new port moves the SA (endpoints-changed)', () => {
  const nat = { p500: { address: '203.0.113.9', port: 40000 }, p4500: { address: '203.0.113.9', port: 40001 } };
  const p = party({ privateEndpoint: { address: '100.64.0.2', port: 500 }, udpEncap: true });
  handshake(p, nat);
  const moved = { address: '203.0.113.9', port: 50001 };
  const cookies = new Uint8Array([...p.init.icookie, ...p.init.rcookie]);
  p.send(T0, moved, R4500, p.init.informational([{ kind: 'n', doi: 1, protocolId: 1, notifyType: NotifyType.R_U_THERE, spi: cookies, data: Uint8Array.of(0, 0, 0, 1) }]));
  const ev = p.events.find((e) => e.type === 'endpoints-changed');
  assert.ok(ev && ev.type === 'endpoints-changed');
  assert.deepEqual(ev.remote, moved);
  assert.deepEqual(ev.inboundSpis, [childUp(p).inbound.spi]);
});

test('mutated protected messages never throw (fuzz against an established SA)', () => {
  const p = party({ privateEndpoint: { address: '198.51.100.7', port: 500 }, natt: 'none' });
  handshake(p, undefined);
  const c = { address: '198.51.100.7', port: 500 };
  const r = seededRandom(5);
  const cookies = new Uint8Array([...p.init.icookie, ...p.init.rcookie]);
  for (let i = 0; i < 300; i++) {
    const base = i % 2 ? p.init.qm1('192.0.2.1') : p.init.informational([{ kind: 'n', doi: 1, protocolId: 1, notifyType: NotifyType.R_U_THERE, spi: cookies, data: Uint8Array.of(0, 0, 0, 2) }]);
    const m = base.slice();
    const k = 1 + (r.u32() % 4);
    for (let j = 0; j < k; j++) {
      const at = 16 + (r.u32() % (m.length - 16)); // keep the cookies so the SA is found
      m[at] = r.u32() & 0xff;
    }
    p.deliver(T0, c, R500, r.u32() % 5 === 0 ? m.subarray(0, r.u32() % m.length) : m);
  }
  assert.equal(p.resp.ikeSaCount, 1);
});

test('Windows vendor ids: MS Vid-Initial-Contact in MM1 acts as INITIAL-CONTACT; the peer is reported as Windows', () => {
  const resp = new IkeResponder({ psk: () => PSK }, seededRandom(9));
  const c = { address: '198.51.100.8', port: 500 };
  const run = (seed: number, windowsVids: boolean): void => {
    const init = new TestInitiator({ psk: PSK, natt: 'draft', privateEndpoint: c, windowsVids }, seededRandom(seed));
    const go = (data: Uint8Array): Uint8Array => {
      resp.handle(T0, { local: R500, remote: c, data });
      return drain(() => resp.pollTransmit())[0]?.data ?? new Uint8Array(0);
    };
    init.onMm2(go(init.mm1()));
    init.onMm4(go(init.mm3(R500)));
    init.onMm6(go(init.mm5()));
  };
  run(1, false);
  const firstUp = drain(() => resp.pollEvent()).find((e) => e.type === 'ike-sa-up');
  assert.ok(firstUp?.type === 'ike-sa-up' && firstUp.peerVendor === undefined, 'a non-Windows peer is not reported as Windows');
  assert.equal(resp.ikeSaCount, 1);
  // A Windows client reconnecting (no INITIAL-CONTACT notify, only the MS vendor id) replaces its old SA.
  run(2, true);
  const ev = drain(() => resp.pollEvent());
  const up = ev.find((e) => e.type === 'ike-sa-up');
  assert.ok(up?.type === 'ike-sa-up' && up.peerVendor === 'windows');
  assert.ok(ev.some((e) => e.type === 'initial-contact'));
  assert.ok(ev.some((e) => e.type === 'sa-deleted' && e.reason === 'initial-contact'));
  assert.equal(resp.ikeSaCount, 1);
});

test('without raw ESP (udpEncapsulationOnly): the NAT-D answer pretends a NAT, the client floats to 4500 and gets UDP-encapsulated transport', () => {
  const client = { address: '198.51.100.7', port: 500 };
  const floated = { p500: client, p4500: { address: '198.51.100.7', port: 4500 } };
  // The same exchange with and without the flag (same seeds: same cookies): only NAT-D #1 differs.
  const natdsOf = (force: boolean): Uint8Array[] => {
    const p = party({ privateEndpoint: client, udpEncap: force }, force ? { udpEncapsulationOnly: () => true } : {});
    p.init.onMm2(p.send(T0, client, R500, p.init.mm1()).data);
    return p.init.onMm4(p.send(T0, client, R500, p.init.mm3(R500)).data).map((x) => (x.kind === 'nat-d' ? x.data : new Uint8Array(0)));
  };
  const [real0, real1] = natdsOf(false);
  const [fake0, fake1] = natdsOf(true);
  assert.ok(real0 && real1 && fake0 && fake1);
  assert.notDeepEqual(fake0, real0, 'NAT-D of the initiator is not its real hash: it sees itself behind a NAT');
  assert.equal(fake0.length, real0.length);
  assert.deepEqual(fake1, real1, 'our own NAT-D stays true (no server-side NAT: Windows needs no registry value)');
  // The whole exchange: ESP in UDP 4500 although nothing is translated.
  const p = party({ privateEndpoint: client, udpEncap: true, clientPort: 1701 }, { udpEncapsulationOnly: () => true });
  handshake(p, floated);
  const up = p.events.find((e) => e.type === 'ike-sa-up');
  assert.ok(up && up.type === 'ike-sa-up');
  assert.deepEqual(up.natT, { variant: 'rfc3947', localBehindNat: false, remoteBehindNat: true });
  const c = childUp(p);
  assert.equal(c.encapsulation, 'udp-transport');
  assert.deepEqual(c.remote, floated.p4500);
  espRoundTrip(p);
});

test('without raw ESP: plain transport mode is refused in Quick Mode, a client without NAT-T in Main Mode (no mode we cannot carry)', () => {
  const client = { address: '198.51.100.7', port: 500 };
  const p = party({ privateEndpoint: client, udpEncap: false }, { udpEncapsulationOnly: () => true });
  p.init.onMm2(p.send(T0, client, R500, p.init.mm1()).data);
  p.init.onMm4(p.send(T0, client, R500, p.init.mm3(R500)).data);
  p.init.onMm6(p.send(T0, client, R500, p.init.mm5()).data);
  p.deliver(T0, client, R500, p.init.qm1('192.0.2.1'));
  const failed = p.events.filter((e) => e.type === 'exchange-failed');
  assert.deepEqual(failed.map((e) => (e.type === 'exchange-failed' ? [e.reason, e.notify] : [])), [['no-proposal', NotifyType.NO_PROPOSAL_CHOSEN]]);
  assert.ok(!p.events.some((e) => e.type === 'child-sa-up'));
  const old = party({ privateEndpoint: client, natt: 'none' }, { udpEncapsulationOnly: () => true });
  const answer = old.send(T0, client, R500, old.init.mm1());
  const m = parseIsakmp(answer.data);
  assert.ok(m.ok && !m.value.encrypted && m.value.payloads.some((x) => x.kind === 'n' && x.notifyType === NotifyType.NO_PROPOSAL_CHOSEN));
  assert.deepEqual(old.events.map((e) => (e.type === 'exchange-failed' ? e.reason : e.type)), ['no-nat-t']);
  assert.equal(old.resp.ikeSaCount, 0);
});
