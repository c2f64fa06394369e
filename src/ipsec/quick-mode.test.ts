import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodePayloadChain, parsePayloads } from '../wire/ike/codec.js';
import { EncapMode, IdType, PayloadType, VendorIds } from '../wire/ike/constants.js';
import type { IdPayload, IkePayload } from '../wire/ike/types.js';
import { judgeNatD, natDPayloads, natDsOf, natOaPayloads, readNatOa, readVendorIds, vidPayload } from './natt.js';
import { DEFAULT_POLICY, selectPhase1, selectPhase2 } from './proposals.js';
import { childSaKeys, l2tpSelectors, qm1Payloads, qm2Payloads, readQuickMode, type SelectorContext } from './quick-mode.js';
import { acceptedSa, offeredPolicy, phase1OfferSa, phase2OfferSa, sameTransform, DEFAULT_INITIATOR_PROPOSALS } from './sa-payloads.js';

const id = (idType: number, data: number[], port = 1701, protocolId = 17): IdPayload => ({ kind: 'id', idType, protocolId, port, data: Uint8Array.from(data) });
const CTX: SelectorContext = {
  local: { address: '192.0.2.1', port: 500 }, remote: { address: '198.51.100.7', port: 500 }, nat: false, localBehindNat: false, l2tpPort: 1701,
};

test('RFC 3193 §4 selectors: a host IDci (any UDP port), IDcr our address on 1701 or 0; no IDs mean the IKE addresses', () => {
  const ci = id(IdType.IPV4_ADDR, [198, 51, 100, 7], 53211);
  assert.deepEqual(l2tpSelectors(CTX, [ci, id(IdType.IPV4_ADDR, [192, 0, 2, 1])]), {
    remote: { address: '198.51.100.7', protocol: 17, port: 53211 }, local: { address: '192.0.2.1', protocol: 17, port: 1701 },
  });
  assert.ok(l2tpSelectors(CTX, [ci, id(IdType.IPV4_ADDR, [192, 0, 2, 1], 0)]), 'port 0');
  assert.ok(l2tpSelectors(CTX, [ci, id(IdType.IPV4_ADDR_SUBNET, [192, 0, 2, 1, 255, 255, 255, 255])]), 'a /32 subnet is a host');
  assert.equal(l2tpSelectors(CTX, [ci, id(IdType.IPV4_ADDR, [192, 0, 2, 1], 80)]), undefined, 'not L2TP');
  assert.equal(l2tpSelectors(CTX, [ci, id(IdType.IPV4_ADDR_SUBNET, [192, 0, 2, 0, 255, 255, 255, 0])]), undefined, 'a /24 is no host');
  assert.equal(l2tpSelectors(CTX, [id(IdType.IPV4_ADDR, [198, 51, 100, 7], 1701, 6), id(IdType.IPV4_ADDR, [192, 0, 2, 1], 1701, 6)]), undefined, 'TCP');
  assert.equal(l2tpSelectors(CTX, [ci, id(IdType.IPV4_ADDR, [192, 0, 2, 1], 1701, 0)]), undefined, 'protocols differ');
  assert.equal(l2tpSelectors(CTX, [id(IdType.IPV4_ADDR, [198, 51, 100, 8]), id(IdType.IPV4_ADDR, [192, 0, 2, 1])]), undefined, 'another client address without NAT');
  assert.ok(l2tpSelectors({ ...CTX, nat: true }, [id(IdType.IPV4_ADDR, [100, 64, 0, 2]), id(IdType.IPV4_ADDR, [10, 1, 1, 1])]), 'behind a NAT the inner addresses are private');
  assert.deepEqual(l2tpSelectors(CTX, []), { remote: { address: '198.51.100.7', protocol: 0, port: 0 }, local: { address: '192.0.2.1', protocol: 0, port: 0 } });
  assert.equal(l2tpSelectors(CTX, [ci]), undefined);
});

test('L2TPv3 over IP (RFC 3931 §4.1.1): protocol-115 selectors with ports 0 only when l2tpIp is on; QM1 IDs carry 115 and port 0', () => {
  const ci = id(IdType.IPV4_ADDR, [198, 51, 100, 7], 0, 115);
  const cr = id(IdType.IPV4_ADDR, [192, 0, 2, 1], 0, 115);
  assert.equal(l2tpSelectors(CTX, [ci, cr]), undefined, 'off by default (an L2TPv2 LNS protects UDP 1701 only)');
  assert.deepEqual(l2tpSelectors({ ...CTX, l2tpIp: true }, [ci, cr]), {
    remote: { address: '198.51.100.7', protocol: 115, port: 0 }, local: { address: '192.0.2.1', protocol: 115, port: 0 },
  });
  assert.equal(l2tpSelectors({ ...CTX, l2tpIp: true }, [ci, id(IdType.IPV4_ADDR, [192, 0, 2, 1], 1701, 115)]), undefined, 'IP protocol 115 has no port');
  assert.ok(l2tpSelectors({ ...CTX, l2tpIp: true }, [id(IdType.IPV4_ADDR, [198, 51, 100, 7], 1701), id(IdType.IPV4_ADDR, [192, 0, 2, 1])]), 'UDP 1701 still accepted');
  const qm1 = qm1Payloads({
    offers: DEFAULT_INITIATOR_PROPOSALS.phase2, spi: 1, encapsulation: EncapMode.TRANSPORT, lifetimeSeconds: 3600, lifetimeKilobytes: undefined, pfsGroup: undefined,
    nonce: new Uint8Array(16), ke: undefined, local: { address: '198.51.100.7', port: 1701 }, remote: { address: '192.0.2.1', port: 1701 }, protocol: 115, natOa: undefined,
  });
  const ids = qm1.filter((x): x is IdPayload => x.kind === 'id');
  assert.deepEqual(ids.map((x) => [x.protocolId, x.port]), [[115, 0], [115, 0]]);
});

test('QM1 from our offers is accepted by the default responder policy; QM2 echoes the choice with our SPI and IDs', () => {
  const offers = DEFAULT_INITIATOR_PROPOSALS.phase2;
  const local = { address: '100.64.0.2', port: 1701 };
  const remote = { address: '192.0.2.1', port: 1701 };
  const qm1 = qm1Payloads({
    offers, spi: 0xabcd0001, encapsulation: EncapMode.UDP_TRANSPORT, lifetimeSeconds: 3600, lifetimeKilobytes: 250_000, pfsGroup: undefined,
    nonce: new Uint8Array(32).fill(1), ke: undefined, local, remote, natOa: 'rfc3947',
  });
  // Through the wire codec and back, as the responder sees it.
  const parsed = parsePayloads(PayloadType.SA, encodePayloadChain(qm1));
  assert.ok(parsed.ok);
  if (!parsed.ok) return;
  const q = readQuickMode(parsed.value.payloads);
  assert.ok(q.sa && q.nonce?.length === 32 && q.ke === undefined && q.natOa);
  assert.deepEqual(q.ids.map((x) => [x.port, x.protocolId]), [[1701, 17], [1701, 17]]);
  assert.deepEqual(readNatOa(parsed.value.payloads), { initiator: '100.64.0.2', responder: '192.0.2.1' });
  if (!q.sa) return;
  const choice = selectPhase2(q.sa, DEFAULT_POLICY, { detected: true, negotiated: true });
  assert.ok(choice);
  if (!choice) return;
  assert.equal(choice.encapsulation, 'udp-transport');
  assert.equal(choice.peerSpi, 0xabcd0001);
  assert.equal(choice.lifetimeKilobytes, 250_000);
  const qm2 = qm2Payloads({ offer: q.sa, choice, spi: 0x5000, nonce: new Uint8Array(16), ke: undefined, ids: q.ids, natOa: undefined });
  const sa = qm2[0];
  assert.ok(sa?.kind === 'sa');
  if (sa?.kind !== 'sa') return;
  assert.deepEqual(sa.proposals[0]?.spi, Uint8Array.of(0, 0, 0x50, 0));
  assert.equal(sa.proposals[0]?.transforms.length, 1);
  assert.ok(sameTransform(sa.proposals[0]?.transforms[0] ?? { number: 0, id: 0, attributes: [] }, choice.transform), 'the accepted transform, unchanged (RFC 2408 §4.2)');
  assert.deepEqual(qm2.map((p) => p.kind), ['sa', 'nonce', 'id', 'id'], 'no NAT-OA, no lifetime notify when nothing was shortened');
  // The initiator's policy of what it offered accepts the echo.
  assert.ok(selectPhase2(sa, offeredPolicy(DEFAULT_INITIATOR_PROPOSALS, undefined), { detected: true, negotiated: true }));
});

test('KEYMAT: the two directions are crossed copies of each other between initiator and responder', () => {
  const sa = phase2OfferSa([{ encryption: 'aes128-cbc', integrity: 'hmac-sha1-96' }], { spi: 0x1111, encapsulation: EncapMode.TRANSPORT, lifetimeSeconds: 600, lifetimeKilobytes: 1000, pfsGroup: undefined });
  const choice = selectPhase2(sa, DEFAULT_POLICY, { detected: false, negotiated: false });
  assert.ok(choice);
  if (!choice) return;
  const base = { hash: 'sha1' as const, skeyidD: new Uint8Array(20).fill(3), choice, ni: new Uint8Array(16).fill(4), nr: new Uint8Array(16).fill(5), gxy: undefined, kilobytes: 1000 };
  const r = childSaKeys({ ...base, inboundSpi: 0x2222, outboundSpi: 0x1111 });
  const i = childSaKeys({ ...base, inboundSpi: 0x1111, outboundSpi: 0x2222, softFraction: 0.5 });
  assert.deepEqual(r.inbound.encryptionKey, i.outbound.encryptionKey);
  assert.deepEqual(r.outbound.integrityKey, i.inbound.integrityKey);
  assert.equal(r.inbound.encryptionKey.length, 16);
  assert.equal(r.inbound.integrityKey.length, 20);
  assert.notDeepEqual(r.inbound.encryptionKey, r.outbound.encryptionKey);
  assert.deepEqual(r.inbound.byteLimits, { soft: 921_600, hard: 1_024_000 });
  assert.deepEqual(i.inbound.byteLimits, { soft: 512_000, hard: 1_024_000 });
});

test('phase-1 offer SA: every transform selectable; sameTransform ignores attribute order', () => {
  const sa = phase1OfferSa(DEFAULT_INITIATOR_PROPOSALS.phase1, 3600);
  const t = sa.proposals[0]?.transforms ?? [];
  assert.equal(t.length, 4);
  for (const x of t) {
    const one = acceptedSa(sa.situation, sa.proposals[0] ?? { number: 1, protocolId: 1, spi: new Uint8Array(0), transforms: [] }, x);
    assert.ok(selectPhase1(one, offeredPolicy(DEFAULT_INITIATOR_PROPOSALS, undefined))?.lifetimeSeconds === 3600);
    assert.ok(sameTransform(x, { ...x, attributes: [...x.attributes].reverse() }));
    assert.ok(!sameTransform(x, { ...x, attributes: x.attributes.slice(1) }));
  }
});

test('vendor ids: RFC 3947 wins over drafts; -02\\n preferred among drafts; DPD and the Microsoft ids', () => {
  const v = (...ids: string[]): IkePayload[] => ids.map(vidPayload);
  assert.equal(readVendorIds(v(VendorIds.NATT_DRAFT_02, VendorIds.RFC3947)).natt, 'rfc3947');
  const d = readVendorIds(v(VendorIds.NATT_DRAFT_02, VendorIds.NATT_DRAFT_03, VendorIds.NATT_DRAFT_02N, VendorIds.DPD));
  assert.deepEqual([d.natt, d.nattVid, d.dpd, d.msNt5], ['draft', VendorIds.NATT_DRAFT_02N, true, false]);
  assert.equal(readVendorIds(v(VendorIds.NATT_DRAFT_03)).nattVid, VendorIds.NATT_DRAFT_03);
  const w = readVendorIds(v(`${VendorIds.MS_NT5_PREFIX}00000009`, VendorIds.MS_INITIAL_CONTACT));
  assert.deepEqual([w.natt, w.nattVid, w.msNt5, w.msInitialContact], ['none', undefined, true, true]);
});

test('RFC 3947 §3.2: NAT-D payloads and their verdict from both sides; NAT-OA round trip', () => {
  const sa = { icookie: new Uint8Array(8).fill(1), rcookie: new Uint8Array(8).fill(2) };
  const client = { address: '100.64.0.2', port: 500 };
  const mapped = { address: '203.0.113.9', port: 40000 };
  const server = { address: '192.0.2.1', port: 500 };
  // The client sends NAT-D(server), NAT-D(itself as it knows itself); the server sees the mapping.
  const fromClient = natDsOf(natDPayloads('sha256', sa, 'rfc3947', server, client));
  assert.deepEqual(judgeNatD('sha256', sa, fromClient, server, mapped), { localBehindNat: false, remoteBehindNat: true });
  assert.deepEqual(judgeNatD('sha256', sa, fromClient, server, client), { localBehindNat: false, remoteBehindNat: false });
  const fromServer = natDsOf(natDPayloads('sha256', sa, 'draft', mapped, server));
  assert.ok(fromServer.every((n) => n.type === 130));
  assert.deepEqual(judgeNatD('sha256', sa, fromServer, client, server), { localBehindNat: true, remoteBehindNat: false });
  const oa = natOaPayloads('draft', '100.64.0.2', '2001:db8::1');
  assert.ok(oa.every((p) => p.kind === 'nat-oa' && p.type === 131));
  assert.deepEqual(readNatOa(oa), { initiator: '100.64.0.2', responder: '2001:db8:0:0:0:0:0:1' });
});

test('readQuickMode never throws on random payload lists from the codec', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(1, 5, 10, 21, 131), (body, first) => {
      const r = parsePayloads(first, Buffer.from(body));
      if (r.ok) readQuickMode(r.value.payloads);
    }),
    { numRuns: 300 },
  );
});
