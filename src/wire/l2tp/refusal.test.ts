/**
 * What parseControl reports about a message it refuses (`ControlParseFailure.partial`): the AVPs it
 * could read, so the control plane can address StopCCN / CDN to the peer's Assigned Tunnel / Session
 * ID (RFC 2661 §3.1: the header ID is that of the intended recipient) and log the refused message.
 * Before, the codec stopped at the first bad AVP and an Assigned ID after it was never read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../base/random.js';
import { CONTROL_VECTORS, hex } from '../../../test/vectors/l2tp-v2.js';
import {
  MESSAGE_SPECS,
  MessageType,
  emitControl,
  formatRefused,
  parseControl,
  sessionId,
  tunnelId,
  type AvpName,
  type ControlAvps,
  type ControlMessage,
  type ControlParseFailure,
} from './index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function refuse(buf: Uint8Array, secret?: Uint8Array): ControlParseFailure {
  const r = parseControl(buf, secret === undefined ? undefined : { secret });
  assert.equal(r.ok, false, 'expected a refusal');
  if (r.ok) throw new Error('unreachable');
  return r.error;
}

/** The AVP boundaries of an emitted control message, after the Message Type AVP. */
function boundaries(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let at = 20; at <= b.length; ) {
    out.push(at);
    if (at === b.length) break;
    at += (((b[at] ?? 0) << 8) | (b[at + 1] ?? 0)) & 0x3ff;
  }
  return out;
}

/** `b` with `avp` inserted at byte `at` and the header Length fixed. */
function insertAt(b: Uint8Array, at: number, avp: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length + avp.length);
  out.set(b.subarray(0, at));
  out.set(avp, at);
  out.set(b.subarray(at), at + avp.length);
  out[2] = out.length >> 8;
  out[3] = out.length & 0xff;
  return out;
}

// Unknown M=1 AVP: vendor 9 (not IETF), attribute 77, 3 value octets.
const UNKNOWN_M1 = hex('8009 0009 004d 010203');
const UNKNOWN_M1_VALUE = { vendorId: 9, attribute: 77, mandatory: true, hidden: false, value: hex('010203') };

const msg = (type: MessageType, avps: ControlAvps, t = 5, s = 0): ControlMessage => ({ tunnelId: tunnelId(t), sessionId: sessionId(s), ns: 2, nr: 3, type, avps });
const SCCRQ = msg(MessageType.SCCRQ, { protocolVersion: { version: 1, revision: 0 }, framingCapabilities: 3, hostName: 'peer-lac', assignedTunnelId: tunnelId(0x4321) }, 0);
const SCCRP = msg(MessageType.SCCRP, { protocolVersion: { version: 1, revision: 0 }, framingCapabilities: 3, hostName: 'peer-lns', assignedTunnelId: tunnelId(0x4321) });
const ICRQ = msg(MessageType.ICRQ, { assignedSessionId: sessionId(0x0abc), callSerialNumber: 99 });
const ICRP = msg(MessageType.ICRP, { assignedSessionId: sessionId(0x0abc) }, 5, 17);
const OCRP = msg(MessageType.OCRP, { assignedSessionId: sessionId(0x0abc) }, 5, 17);

for (const [name, m, id] of [
  ['SCCRQ', SCCRQ, 'assignedTunnelId'],
  ['SCCRP', SCCRP, 'assignedTunnelId'],
  ['ICRQ', ICRQ, 'assignedSessionId'],
  ['ICRP', ICRP, 'assignedSessionId'],
] as const) {
  test(`${name} with an unknown M=1 AVP before its valid ${id}: the refusal reports the Assigned ID and every AVP read`, () => {
    const wire = emitControl(m);
    // Right after the Message Type AVP, i.e. before every other AVP (the defect of issue 10 item 1).
    const f = refuse(insertAt(wire, 20, UNKNOWN_M1));
    assert.deepStrictEqual(f.error, { kind: 'unknown-mandatory-avp', vendorId: 9, attribute: 77 });
    assert.equal(f.messageType, m.type);
    assert.equal(f.header?.ns, 2);
    assert.equal(f.header?.nr, 3);
    assert.ok(f.partial !== undefined);
    assert.equal(f.partial.messageType, m.type);
    assert.equal(f.partial[id], m.avps[id]);
    assert.deepStrictEqual(f.partial.avps, { ...m.avps, unknown: [UNKNOWN_M1_VALUE] });
    assert.deepStrictEqual(f.partial.unreadable, []);
    assert.equal(f.partial.complete, true);
    const lines = formatRefused(f);
    assert.ok(lines.includes(id === 'assignedTunnelId' ? 'Assigned Tunnel ID: 17185' : 'Assigned Session ID: 2748'), lines.join('\n'));
    assert.ok(lines.includes('Unknown AVP vendor 9 attribute 77 M: 0x010203 (3 bytes)'), lines.join('\n'));
  });
}

test('every vector: an unknown M=1 AVP at any AVP boundary still yields every other AVP in partial', () => {
  let cases = 0;
  for (const v of CONTROL_VECTORS) {
    if (v.value.type === undefined) continue;
    const wire = emitControl(v.value);
    for (const at of boundaries(wire)) {
      const f = refuse(insertAt(wire, at, UNKNOWN_M1));
      assert.equal(f.error.kind, 'unknown-mandatory-avp', `${v.name} at ${at}`);
      const { unknown, ...known } = v.value.avps;
      const { unknown: gotUnknown, ...gotKnown } = f.partial?.avps ?? {};
      assert.deepStrictEqual(gotKnown, known, `${v.name} at ${at}`);
      // The inserted M=1 AVP is listed with the vector's own unknown AVPs, in wire order.
      assert.deepStrictEqual(
        gotUnknown?.filter((u) => u.mandatory),
        [UNKNOWN_M1_VALUE],
      );
      assert.equal(gotUnknown?.length, (unknown?.length ?? 0) + 1);
      cases++;
    }
  }
  assert.ok(cases > 60, `${cases} cases`);
});

test('a hidden Assigned Session ID after an unknown M=1 AVP is revealed into partial', () => {
  const secret = enc('s3cret');
  const wire = emitControl(ICRQ, { secret, hide: new Set<AvpName>(['assignedSessionId']), random: seededRandom(7) });
  const f = refuse(insertAt(wire, 20, UNKNOWN_M1), secret);
  assert.equal(f.error.kind, 'unknown-mandatory-avp');
  assert.equal(f.partial?.assignedSessionId, 0x0abc);
  // Without the secret the hidden AVP is listed as unreadable and the first error is still the M=1 AVP.
  const g = refuse(insertAt(wire, 20, UNKNOWN_M1));
  assert.equal(g.error.kind, 'unknown-mandatory-avp');
  assert.equal(g.partial?.assignedSessionId, undefined);
  assert.deepStrictEqual(g.partial?.unreadable, [{ attribute: 14, mandatory: true, hidden: true, error: { kind: 'hidden-without-secret', attribute: 14 } }]);
  assert.ok(formatRefused(g).includes('Assigned Session ID M H: unreadable (hidden AVP 14 but no shared secret)'));
});

test('a bad value or a duplicate before the Assigned ID: first error reported, the AVP listed unreadable, the ID read', () => {
  const badSerial = hex('8009 0000 000f 0102 03'); // Call Serial Number of 3 octets
  const f = refuse(insertAt(emitControl(ICRQ), 20, badSerial));
  assert.equal(f.error.kind, 'bad-avp-value');
  assert.equal(f.partial?.assignedSessionId, 0x0abc);
  assert.equal(f.partial?.avps.callSerialNumber, 99);
  assert.deepStrictEqual(f.partial?.unreadable.map((u) => u.attribute), [15]);
  // duplicate: the first occurrence wins
  const dup = hex('8008 0000 000e 0001');
  const d = refuse(insertAt(emitControl(ICRP), boundaries(emitControl(ICRP)).at(-1) ?? 0, dup));
  assert.deepStrictEqual(d.error, { kind: 'duplicate-avp', attribute: 14 });
  assert.equal(d.partial?.assignedSessionId, 0x0abc);
});

test('broken AVP framing ends the scan: complete false, what came before is kept', () => {
  const wire = emitControl(SCCRP);
  const tail = hex('8002 0000'); // 4 octets: not even an AVP header
  const f = refuse(insertAt(wire, wire.length, tail));
  assert.equal(f.error.kind, 'bad-length');
  assert.equal(f.partial?.complete, false);
  assert.equal(f.partial?.assignedTunnelId, 0x4321);
  assert.ok(formatRefused(f).at(-1)?.startsWith('(AVP framing broken'));
  // Framing broken before the Assigned Tunnel ID: it was not read.
  const g = refuse(insertAt(wire, 20, hex('8003 0000 0007')));
  assert.equal(g.error.kind, 'bad-length');
  assert.equal(g.partial?.assignedTunnelId, undefined);
});

test('an unknown message type still reports its AVPs', () => {
  const wire = emitControl(ICRQ);
  wire[19] = 99; // Message Type 99
  const f = refuse(wire);
  assert.deepStrictEqual(f.error, { kind: 'unknown-message-type', messageType: 99, mandatory: true });
  assert.equal(f.partial?.messageType, 99);
  assert.equal(f.partial?.assignedSessionId, 0x0abc);
  assert.ok(formatRefused(f).includes('Assigned Session ID: 2748'));
});

for (const [name, m, id, attribute] of [
  ['SCCRQ', SCCRQ, 'assignedTunnelId', 9],
  ['SCCRP', SCCRP, 'assignedTunnelId', 9],
  ['ICRQ', ICRQ, 'assignedSessionId', 14],
  ['ICRP', ICRP, 'assignedSessionId', 14],
  ['OCRP', OCRP, 'assignedSessionId', 14],
] as const) {
  test(`${name} with ${id} 0 is refused (§4.4.3 / §4.4.4: non-zero), with what was read`, () => {
    const f = refuse(emitControl({ ...m, avps: { ...m.avps, [id]: 0 } }));
    assert.deepStrictEqual(f.error, { kind: 'zero-assigned-id', messageType: m.type, attribute, name: id });
    assert.equal(f.header?.ns, 2);
    assert.equal(f.partial?.[id], 0);
    assert.deepStrictEqual(f.partial?.avps, { ...m.avps, [id]: 0 });
  });
}

test('non-zero rule is data: exactly SCCRQ, SCCRP (tunnel) and OCRQ, OCRP, ICRQ, ICRP (session)', () => {
  const rows = Object.values(MESSAGE_SPECS)
    .filter((s) => s.nonZero !== undefined)
    .map((s) => `${s.name}:${(s.nonZero ?? []).join(',')}`)
    .sort();
  assert.deepStrictEqual(rows, ['ICRP:assignedSessionId', 'ICRQ:assignedSessionId', 'OCRP:assignedSessionId', 'OCRQ:assignedSessionId', 'SCCRP:assignedTunnelId', 'SCCRQ:assignedTunnelId']);
  // StopCCN and CDN may name id 0 (a peer clearing before it assigned one): accepted.
  const stop = parseControl(emitControl(msg(MessageType.StopCCN, { assignedTunnelId: tunnelId(0), resultCode: { result: 1 } })));
  assert.ok(stop.ok);
  const cdn = parseControl(emitControl(msg(MessageType.CDN, { assignedSessionId: sessionId(0), resultCode: { result: 3 } }, 5, 9)));
  assert.ok(cdn.ok);
});

test('StopCCN without its Result Code (§6.4 must-AVP): missing-avp, with the header to ack and the peer tunnel id', () => {
  const f = refuse(emitControl(msg(MessageType.StopCCN, { assignedTunnelId: tunnelId(0x4321) })));
  assert.deepStrictEqual(f.error, { kind: 'missing-avp', messageType: MessageType.StopCCN, attribute: 1, name: 'resultCode' });
  assert.equal(f.header?.ns, 2, 'Ns to consume and ack (§5.8)');
  assert.equal(f.header?.tunnelId, 5);
  assert.equal(f.partial?.assignedTunnelId, 0x4321);
  assert.equal(f.partial?.complete, true);
});

test('a message that parses carries no partial and keeps the M=0 unknown AVPs only', () => {
  const r = parseControl(insertAt(emitControl(ICRQ), 20, hex('0009 0009 004d 010203')));
  assert.ok(r.ok);
  assert.deepStrictEqual(r.value.avps.unknown, [{ ...UNKNOWN_M1_VALUE, mandatory: false }]);
  // header errors: no partial
  const h = refuse(hex('c802 000c 0001'));
  assert.equal(h.partial, undefined);
  assert.deepStrictEqual(formatRefused(h), []);
});
