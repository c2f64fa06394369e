/**
 * Child SA byte lifetimes (RFC 2407 §4.5 SA Life Type 2 = kilobytes; RFC 4301 §4.4.2.1 soft/hard)
 * on a virtual clock: parsing and capping in proposal selection, the IKE cores' reaction to the
 * soft (initiator rekeys) and hard (delete notify, event) limits. The whole path through
 * `IpsecL2tpGate`, where the ESP SAs count the bytes, is tested in src/gate/byte-lifetime.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attr } from '../wire/ike/codec.js';
import { DOI_IPSEC, EncapMode, EspAuth, EspTransformId, Ipsec2Attr, LifeType, ProtocolId, SIT_IDENTITY_ONLY } from '../wire/ike/constants.js';
import type { SaAttribute, SaPayload } from '../wire/ike/types.js';
import { addDuration, instant, seconds, type Instant } from '../base/time.js';
import { seededRandom } from '../base/random.js';
import { DEFAULT_POLICY, phase2LifetimeKilobytes, readResponderLifetime, responderLifetimeNotify, selectPhase2, type IkePolicy } from './proposals.js';
import { IkeInitiator, type IkeInitiatorConfig } from './ike-initiator.js';
import { IkeResponder, type IkeResponderConfig } from './ike-responder.js';
import type { IkeEvent } from './ike-types.js';
import { EspSa } from './esp.js';
import { drain } from '../../test/lib/drain.js';

const PSK = new TextEncoder().encode('byte lifetime psk');
const SERVER = '192.0.2.1';
const CLIENT = '198.51.100.7';
const T0 = instant(7_000_000);

type ChildUp = Extract<IkeEvent, { type: 'child-sa-up' }>;
type Deleted = Extract<IkeEvent, { type: 'sa-deleted' }>;

/** An ESP SA payload with one AES-CBC/SHA1 transform carrying the given attributes. */
function espSa(extra: SaAttribute[]): SaPayload {
  const attributes = [...extra, attr(Ipsec2Attr.ENCAPSULATION_MODE, EncapMode.TRANSPORT), attr(Ipsec2Attr.AUTH_ALGORITHM, EspAuth.HMAC_SHA1), attr(Ipsec2Attr.KEY_LENGTH, 128)];
  return {
    kind: 'sa', doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY,
    proposals: [{ number: 1, protocolId: ProtocolId.ESP, spi: Uint8Array.of(0, 0, 0x12, 0x34), transforms: [{ number: 1, id: EspTransformId.AES_CBC, attributes }] }],
  };
}
const life = (type: number, value: number): SaAttribute[] => [attr(Ipsec2Attr.SA_LIFE_TYPE, type), attr(Ipsec2Attr.SA_LIFE_DURATION, value)];
const NO_NAT = { detected: false, negotiated: false };
const withMaxKb = (kb: number | undefined): IkePolicy => ({ ...DEFAULT_POLICY, phase2: { ...DEFAULT_POLICY.phase2, ...(kb !== undefined ? { maxLifetimeKilobytes: kb } : {}) } });

test('RFC 2407 §4.5: kilobyte lifetime parsed from its own (type, duration) pair, capped by policy', () => {
  // seconds pair then kilobytes pair (what strongSwan/Windows send), a TLV value above 65535
  const both = selectPhase2(espSa([...life(LifeType.SECONDS, 3600), ...life(LifeType.KILOBYTES, 250_000)]), withMaxKb(undefined), NO_NAT);
  assert.equal(both?.lifetimeSeconds, 3600);
  assert.equal(both?.lifetimeKilobytes, 250_000);
  // kilobytes first, then seconds
  const rev = selectPhase2(espSa([...life(LifeType.KILOBYTES, 4608000), ...life(LifeType.SECONDS, 1200)]), withMaxKb(undefined), NO_NAT);
  assert.equal(rev?.lifetimeSeconds, 1200);
  assert.equal(rev?.lifetimeKilobytes, 4608000);
  // capped by the policy maximum
  const capped = selectPhase2(espSa(life(LifeType.KILOBYTES, 250_000)), withMaxKb(100_000), NO_NAT);
  assert.equal(capped?.lifetimeKilobytes, 100_000);
  assert.equal(capped?.lifetimeSeconds, 28800, 'RFC 2407 §4.5 default seconds when only kilobytes are given');
  // a smaller proposal wins over the maximum
  assert.equal(selectPhase2(espSa(life(LifeType.KILOBYTES, 500)), withMaxKb(100_000), NO_NAT)?.lifetimeKilobytes, 500);
  // none proposed: none, or the policy maximum when one is configured
  assert.equal(selectPhase2(espSa(life(LifeType.SECONDS, 3600)), withMaxKb(undefined), NO_NAT)?.lifetimeKilobytes, undefined);
  assert.equal(selectPhase2(espSa(life(LifeType.SECONDS, 3600)), withMaxKb(64), NO_NAT)?.lifetimeKilobytes, 64);
  // a duration without a preceding kilobytes type is not a byte lifetime; 0 counts as unset
  assert.equal(phase2LifetimeKilobytes({ number: 1, id: 12, attributes: [attr(Ipsec2Attr.SA_LIFE_DURATION, 77)] }, undefined), undefined);
  assert.equal(phase2LifetimeKilobytes({ number: 1, id: 12, attributes: life(LifeType.KILOBYTES, 0) }, undefined), undefined);
});

/** Initiator and responder over an in-memory path (no NAT), virtual clock. */
class Net {
  readonly init: IkeInitiator;
  readonly resp: IkeResponder;
  readonly iev: IkeEvent[] = [];
  readonly rev: IkeEvent[] = [];
  now: Instant = T0;

  constructor(icfg: Partial<IkeInitiatorConfig>, rcfg: Partial<IkeResponderConfig>) {
    this.init = new IkeInitiator({ psk: PSK, local: { address: CLIENT, port: 500 }, remote: { address: SERVER, port: 500 }, ...icfg }, seededRandom(5));
    this.resp = new IkeResponder({ psk: () => PSK, ...rcfg }, seededRandom(6));
  }

  pump(): void {
    for (let i = 0; i < 50; i++) {
      const a = drain(() => this.init.pollTransmit());
      const b = drain(() => this.resp.pollTransmit());
      this.iev.push(...drain(() => this.init.pollEvent()));
      this.rev.push(...drain(() => this.resp.pollEvent()));
      if (a.length === 0 && b.length === 0) return;
      for (const d of a) this.resp.handle(this.now, { local: d.remote, remote: d.local, data: d.data });
      for (const d of b) this.init.handle(this.now, { local: d.remote, remote: d.local, data: d.data });
    }
    throw new Error('no quiescence');
  }

  advance(t: Instant): void {
    for (;;) {
      const next = [this.init.pollAt(), this.resp.pollAt()].filter((x): x is Instant => x !== undefined && x <= t).sort((x, y) => x - y)[0];
      if (next === undefined) break;
      this.now = next;
      this.init.handleTimeout(next);
      this.resp.handleTimeout(next);
      this.pump();
    }
    this.now = t;
  }

  ups(side: 'i' | 'r'): ChildUp[] {
    return (side === 'i' ? this.iev : this.rev).filter((e): e is ChildUp => e.type === 'child-sa-up');
  }

  deleted(side: 'i' | 'r'): Deleted[] {
    return (side === 'i' ? this.iev : this.rev).filter((e): e is Deleted => e.type === 'sa-deleted' && e.kind === 'child');
  }
}

test('negotiation: the responder caps the client\'s kilobytes; both ends install the same byte limits', () => {
  const net = new Net({ childLifetimeKilobytes: 64 }, { policy: withMaxKb(32) });
  net.init.connect(net.now);
  net.pump();
  const [i] = net.ups('i');
  const [r] = net.ups('r');
  assert.ok(i && r);
  assert.equal(r.lifetimeKilobytes, 32, 'responder: min(proposed 64, policy 32)');
  assert.deepEqual(r.inbound.byteLimits, { soft: Math.floor(32 * 1024 * 0.9), hard: 32 * 1024 });
  assert.deepEqual(r.outbound.byteLimits, r.inbound.byteLimits);
  // The responder echoes the accepted transform (64 KB) and announces its 32 KB in a
  // RESPONDER-LIFETIME notify (RFC 2407 §4.6.3.1), which the initiator adopts: both ends agree.
  assert.equal(i.lifetimeKilobytes, 32);
  assert.equal(i.inbound.byteLimits?.hard, 32 * 1024);
  assert.equal(i.lifetimeSeconds, 3600, 'seconds untouched (not shortened)');
  // Without any kilobyte lifetime nothing is limited.
  const free = new Net({}, {});
  free.init.connect(free.now);
  free.pump();
  assert.equal(free.ups('r')[0]?.inbound.byteLimits, undefined);
  assert.equal(free.ups('i')[0]?.lifetimeKilobytes, undefined);
});

test('RESPONDER-LIFETIME (RFC 2407 §4.6.3.1): sent only when the responder shortened a lifetime; the initiator adopts the shorter one', () => {
  // Seconds: the client proposes 3600 s, the server allows 600 s.
  const short = new Net({ childLifetimeSeconds: 3600 }, { policy: { ...DEFAULT_POLICY, phase2: { ...DEFAULT_POLICY.phase2, maxLifetimeSeconds: 600 } } });
  short.init.connect(short.now);
  short.pump();
  assert.equal(short.ups('r')[0]?.lifetimeSeconds, 600);
  assert.equal(short.ups('i')[0]?.lifetimeSeconds, 600, 'initiator adopted the notified 600 s');
  // Nothing shortened: no notify, the proposal stands.
  const same = new Net({ childLifetimeSeconds: 1200 }, {});
  same.init.connect(same.now);
  same.pump();
  assert.deepEqual([same.ups('i')[0]?.lifetimeSeconds, same.ups('r')[0]?.lifetimeSeconds], [1200, 1200]);
  // The payload itself: built from a choice, read back; absent when not shorter.
  const proposed = espSa([...life(LifeType.SECONDS, 3600), ...life(LifeType.KILOBYTES, 5000)]);
  const capped = selectPhase2(proposed, { ...withMaxKb(1000), phase2: { ...withMaxKb(1000).phase2, maxLifetimeSeconds: 900 } }, NO_NAT);
  assert.ok(capped);
  const n = responderLifetimeNotify(capped, Uint8Array.of(0, 0, 0x43, 0x21));
  assert.ok(n);
  assert.deepEqual([n.doi, n.protocolId, n.notifyType, [...n.spi]], [DOI_IPSEC, ProtocolId.ESP, 24576, [0, 0, 0x43, 0x21]]);
  assert.deepEqual(readResponderLifetime(n), { seconds: 900, kilobytes: 1000 });
  const open = selectPhase2(proposed, withMaxKb(undefined), NO_NAT);
  assert.ok(open);
  assert.equal(responderLifetimeNotify(open, Uint8Array.of(0, 0, 1, 0)), undefined);
  // Garbage notification data is ignored, not thrown.
  assert.equal(readResponderLifetime({ ...n, data: Uint8Array.of(0, 2, 0, 9) }), undefined);
  assert.equal(readResponderLifetime({ ...n, notifyType: 24578 }), undefined);
});

test('soft limit: the initiator rekeys at once (make before break); hard limit: delete notify and event', () => {
  const net = new Net({ childLifetimeKilobytes: 16, rekeyFraction: 0.75, childLifetimeSeconds: 3600 }, {});
  net.init.connect(net.now);
  net.pump();
  const first = net.ups('i')[0];
  assert.ok(first);
  assert.deepEqual(first.outbound.byteLimits, { soft: 12 * 1024, hard: 16 * 1024 });
  // Count bytes the way the data plane does: the client's outbound ESP SA.
  const tx = new EspSa(first.outbound, seededRandom(1));
  const rx = new EspSa(net.ups('r')[0]?.inbound ?? first.outbound, seededRandom(2));
  let soft: string | undefined;
  let sent = 0;
  net.now = addDuration(T0, seconds(10));
  while (soft === undefined) {
    const p = tx.encrypt(new Uint8Array(1000));
    assert.ok(p.ok);
    if (p.ok) assert.ok(rx.decrypt(p.value).ok);
    sent += 1000;
    soft = tx.takeLifetimeEvent();
  }
  assert.equal(soft, 'soft');
  assert.equal(sent, 13_000, 'first packet at or past 12 KiB');
  // The responder counted the same bytes but uses its own default soft fraction (0.9 x 16 KiB).
  assert.equal(rx.bytesProcessed, 13_000);
  assert.equal(rx.takeLifetimeEvent(), undefined);
  net.resp.byteLifetimeReached(net.now, first.outbound.spi, 'soft');
  net.pump();
  assert.equal(net.ups('i').length, 1, 'the responder never rekeys first');
  net.init.byteLifetimeReached(net.now, first.inbound.spi, 'soft');
  net.pump();
  assert.equal(net.ups('i').length, 2, 'rekeyed long before the 3240 s time-based rekey');
  assert.equal(net.ups('r').length, 2);
  // A second soft report (the other direction) does not start another Quick Mode.
  net.init.byteLifetimeReached(net.now, first.inbound.spi, 'soft');
  net.pump();
  assert.equal(net.ups('i').length, 2);
  // Make before break: the old SA goes after the overlap (2 s), as a local delete.
  net.advance(addDuration(net.now, seconds(3)));
  assert.deepEqual(net.deleted('i').map((d) => [d.inboundSpi, d.reason]), [[first.inbound.spi, 'local']]);
  assert.deepEqual(net.deleted('r').map((d) => d.outboundSpi), [first.inbound.spi], 'the server dropped it on our delete');
  // Hard limit reached on the server's inbound SA of the new child: delete notify + event.
  const second = net.ups('r')[1];
  assert.ok(second);
  net.resp.byteLifetimeReached(net.now, second.inbound.spi, 'hard');
  net.pump();
  assert.deepEqual(net.deleted('r').slice(1).map((d) => [d.inboundSpi, d.reason]), [[second.inbound.spi, 'expired']]);
  assert.deepEqual(net.deleted('i').slice(1).map((d) => [d.outboundSpi, d.reason]), [[second.inbound.spi, 'peer-delete']]);
  assert.deepEqual(net.init.childSpis, []);
  // Hard on the initiator side expires its child the same way (after a new Quick Mode).
  net.init.startChild(net.now);
  net.pump();
  const third = net.ups('i')[2];
  assert.ok(third);
  net.init.byteLifetimeReached(net.now, third.inbound.spi, 'hard');
  net.pump();
  assert.deepEqual(net.deleted('i').slice(2).map((d) => [d.inboundSpi, d.reason]), [[third.inbound.spi, 'expired']]);
  assert.equal(net.deleted('r').slice(2)[0]?.reason, 'peer-delete');
  // Unknown SPIs are ignored.
  net.init.byteLifetimeReached(net.now, 0xdead, 'hard');
  net.resp.byteLifetimeReached(net.now, 0xdead, 'hard');
  net.pump();
  assert.equal(net.deleted('i').length + net.deleted('r').length, 6);
});

test('initiator re-authentication before IKE expiry: new Main Mode, children kept and adopted on both ends, old IKE SA deleted, child rekeys go on', () => {
  // IKE SA 100 s (re-auth at 90 s), child SA 60 s (rekey at 54 s): the two interleave.
  const net = new Net({ ikeLifetimeSeconds: 100, childLifetimeSeconds: 60 }, {});
  net.init.connect(net.now);
  net.pump();
  assert.equal(net.ups('i').length, 1);
  const ikeUps = (side: 'i' | 'r'): number[] => (side === 'i' ? net.iev : net.rev).filter((e) => e.type === 'ike-sa-up').map((e) => e.ikeSaId);
  const ikeDeleted = (side: 'i' | 'r'): [number, string][] =>
    (side === 'i' ? net.iev : net.rev).flatMap((e) => (e.type === 'sa-deleted' && e.kind === 'ike' ? [[e.ikeSaId, e.reason] as [number, string]] : []));
  const adopted = (side: 'i' | 'r'): Extract<IkeEvent, { type: 'children-adopted' }>[] =>
    (side === 'i' ? net.iev : net.rev).filter((e): e is Extract<IkeEvent, { type: 'children-adopted' }> => e.type === 'children-adopted');
  /** Child SAs alive on a side: up minus deleted. */
  const alive = (side: 'i' | 'r'): number => net.ups(side).length - net.deleted(side).length;
  for (let t = 1; t <= 400; t++) {
    net.advance(addDuration(T0, seconds(t)));
    assert.ok(alive('i') >= 1 && alive('r') >= 1, `a child SA at every second (t=${t})`);
  }
  // Four re-authentications in 400 s (at 90, 180, 270, 360): a new IKE SA each, the old one deleted by us.
  assert.deepEqual(ikeUps('i'), [1, 2, 3, 4, 5]);
  assert.deepEqual(ikeDeleted('i'), [[1, 'local'], [2, 'local'], [3, 'local'], [4, 'local']]);
  assert.equal(ikeUps('r').length, 5);
  assert.deepEqual(ikeDeleted('r').map(([, r]) => r), ['peer-delete', 'peer-delete', 'peer-delete', 'peer-delete']);
  assert.equal(net.resp.ikeSaCount, 1);
  assert.deepEqual(adopted('i').map((a) => [a.fromIkeSaId, a.ikeSaId]), [[1, 2], [2, 3], [3, 4], [4, 5]]);
  assert.equal(adopted('r').length, 4, 'the responder adopted the children each time');
  // No child SA was lost to a re-authentication: every child deletion is a rekey's or an expiry's.
  for (const side of ['i', 'r'] as const) {
    assert.deepEqual(net.deleted(side).filter((d) => d.reason === 'ike-sa-gone'), [], `${side}: no child died with its IKE SA`);
  }
  // Child rekeys went on across them (60 s lifetime, rekey at 54 s: about 7 in 400 s).
  assert.ok(net.ups('i').length >= 7, `child rekeys: ${net.ups('i').length}`);
  // With re-authentication off, the IKE SA and its children end at expiry (the LAC redials).
  const off = new Net({ ikeLifetimeSeconds: 100, childLifetimeSeconds: 60, ikeReauthFraction: 0 }, {});
  off.init.connect(off.now);
  off.pump();
  off.advance(addDuration(T0, seconds(101)));
  assert.deepEqual(off.iev.flatMap((e) => (e.type === 'sa-deleted' && e.kind === 'ike' ? [e.reason] : [])), ['expired']);
});
