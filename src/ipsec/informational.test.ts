import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { seededRandom } from '../base/random.js';
import { instant, seconds } from '../base/time.js';
import { parseIsakmp } from '../wire/ike/codec.js';
import { NotifyType, ProtocolId } from '../wire/ike/constants.js';
import { DpdState } from './dpd.js';
import type { Phase1Keys } from './ike-crypto.js';
import { cookiePair, spiBytes } from './ike-exchange.js';
import {
  applyInformational, deleteEspPayload, deleteIkePayload, dpdPayload, notifyPayload, openInformational, sealInformational, type InformationalItem,
} from './informational.js';
import { selectPhase1 } from './proposals.js';
import { offeredPolicy, phase1OfferSa, type InitiatorProposals } from './sa-payloads.js';

const OFFERS: InitiatorProposals = { phase1: [{ encryption: 'aes256', hash: 'sha256', group: 14 }], phase2: [{ encryption: 'aes128-gcm16' }] };

/** An IKE SA's phase-1 protection with seeded keys (AES-256-CBC, SHA-256). */
function phase1(seed: number): Phase1Keys {
  const r = seededRandom(seed);
  const choice = selectPhase1(phase1OfferSa(OFFERS.phase1, 28800), offeredPolicy(OFFERS, undefined));
  assert.ok(choice);
  return { icookie: r.bytes(8), rcookie: r.bytes(8), choice, keys: { skeyid: r.bytes(32), d: r.bytes(32), a: r.bytes(32), e: r.bytes(32) }, encKey: r.bytes(32), iv: r.bytes(16) };
}

/** Seal `payloads` and open the result again: the items, or why not. */
function roundTrip(p: Phase1Keys, mid: number, bytes: Uint8Array): ReturnType<typeof openInformational> {
  const m = parseIsakmp(bytes);
  assert.ok(m.ok && m.value.encrypted, 'an encrypted ISAKMP message');
  if (!m.ok || !m.value.encrypted) throw new Error('unreachable');
  assert.equal(m.value.header.messageId, mid);
  return openInformational(p, m.value.header, m.value.body);
}

test('RFC 2409 §5.7: HDR*, HASH(1), N/D seals and opens into items in message order', () => {
  const p = phase1(1);
  const mid = 0x1234abcd;
  const bytes = sealInformational(p, mid, [
    dpdPayload(p, 'r-u-there', 9),
    dpdPayload(p, 'ack', Uint8Array.of(0, 0, 0, 7)),
    notifyPayload(NotifyType.INITIAL_CONTACT, ProtocolId.ISAKMP, cookiePair(p)),
    notifyPayload(NotifyType.NO_PROPOSAL_CHOSEN, ProtocolId.ESP, spiBytes(0xc0ffee01)),
    notifyPayload(NotifyType.INVALID_ID_INFORMATION, ProtocolId.ESP, new Uint8Array(0)),
    deleteEspPayload(0x11223344),
    deleteIkePayload(p),
    deleteEspPayload(0x55667788),
  ]);
  const r = roundTrip(p, mid, bytes);
  assert.ok(r.ok);
  const expected: InformationalItem[] = [
    { kind: 'r-u-there', seq: Uint8Array.of(0, 0, 0, 9) },
    { kind: 'r-u-there-ack', seq: 7 },
    { kind: 'initial-contact' },
    { kind: 'error', notifyType: NotifyType.NO_PROPOSAL_CHOSEN, spi: 0xc0ffee01 },
    { kind: 'error', notifyType: NotifyType.INVALID_ID_INFORMATION, spi: undefined },
    { kind: 'delete-esp', spis: [0x11223344] },
    { kind: 'delete-ike' },
  ];
  assert.deepEqual(r.value, expected, 'nothing after D(ISAKMP) is read');
});

test('a D(ISAKMP) of other cookies, a status notify, or a short R-U-THERE are no items', () => {
  const p = phase1(2);
  const other = phase1(3);
  const r = roundTrip(p, 5, sealInformational(p, 5, [
    deleteIkePayload(other),
    notifyPayload(24577, ProtocolId.ISAKMP, new Uint8Array(0)),
    notifyPayload(NotifyType.R_U_THERE, ProtocolId.ISAKMP, cookiePair(p), Uint8Array.of(1, 2)),
  ]));
  assert.deepEqual(r, { ok: true, value: [] });
});

test('a wrong key, a flipped bit or another IKE SA: bad-hash or undecryptable, never a throw', () => {
  const p = phase1(4);
  const bytes = sealInformational(p, 77, [deleteEspPayload(1000)]);
  const m = parseIsakmp(bytes);
  assert.ok(m.ok && m.value.encrypted);
  if (!m.ok || !m.value.encrypted) return;
  const h = m.value.header;
  assert.equal(openInformational({ ...p, keys: { ...p.keys, a: new Uint8Array(32) } }, h, m.value.body).ok, false, 'SKEYID_a differs');
  const flipped = m.value.body.slice();
  flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
  assert.equal(openInformational(p, h, flipped).ok, false);
  assert.deepEqual(openInformational(p, h, m.value.body.subarray(0, 15)), { ok: false, error: 'undecryptable' });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (body, asBuffer) => {
      const input = asBuffer ? Buffer.from(body) : body;
      const copy = Uint8Array.from(input);
      const r = openInformational(p, h, input);
      assert.ok(!r.ok || Array.isArray(r.value));
      assert.deepEqual(Uint8Array.from(input), copy, 'input not mutated');
    }),
    { numRuns: 300 },
  );
});

test('applyInformational: ACKs R-U-THERE with the same bytes, ends the DPD round, matches D(ESP) by either SPI, stops at D(ISAKMP)', () => {
  const p = phase1(5);
  const sa = { ...p, dpd: new DpdState(instant(0), 41) };
  const sent: unknown[][] = [];
  const calls: string[] = [];
  const children = [{ inboundSpi: 0x1000, outboundSpi: 0x2000 }, { inboundSpi: 0x3000, outboundSpi: 0x4000 }];
  const t = { interval: seconds(30), timeout: seconds(10) };
  assert.equal(sa.dpd.tick(instant(30_000), t), 42);
  applyInformational(
    [
      { kind: 'r-u-there', seq: Uint8Array.of(0, 0, 1, 0) },
      { kind: 'r-u-there-ack', seq: 42 },
      { kind: 'delete-esp', spis: [0x4000, 0x9999, 0x1000] },
      { kind: 'error', notifyType: 14, spi: 5 },
      { kind: 'initial-contact' },
      { kind: 'delete-ike' },
      { kind: 'error', notifyType: 18, spi: undefined },
    ],
    sa,
    {
      send: (ps) => sent.push([...ps]),
      initialContact: () => calls.push('ic'),
      error: (n, spi) => calls.push(`error ${n} ${String(spi)}`),
      deleteIke: () => calls.push('delete-ike'),
      children,
      childDeleted: (c) => calls.push(`child ${c.inboundSpi.toString(16)}`),
    },
  );
  assert.deepEqual(sent, [[dpdPayload(p, 'ack', Uint8Array.of(0, 0, 1, 0))]]);
  assert.equal(sa.dpd.due(t), instant(30_000), 'the probe round ended: next probe one interval after lastHeard');
  assert.deepEqual(calls, ['child 3000', 'child 1000', 'error 14 5', 'ic', 'delete-ike']);
});
