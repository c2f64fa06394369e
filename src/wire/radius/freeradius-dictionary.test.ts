/**
 * The FreeRADIUS dictionary reader on excerpts in FreeRADIUS 3.2's own syntax (the full Debian
 * files are compared with our built-in rows in test/interop/radius-dictionary.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinDictionary, decodeAttributes, encodeAttribute, encodeRadiusPacket, parseFreeRadiusDictionary, parseRadiusPacket } from './index.js';

/** Shaped like /usr/share/freeradius/dictionary.roaringpenguin and dictionary.rfc2868. */
const VENDOR_TEXT = `# -*- text -*-
VENDOR		Roaring-Penguin			10055

BEGIN-VENDOR	Roaring-Penguin
ATTRIBUTE	RP-Upstream-Speed-Limit			1	integer
ATTRIBUTE	RP-Downstream-Speed-Limit		2	integer
ATTRIBUTE	RP-HURL					3	string
ATTRIBUTE	RP-Motm					4	string
ATTRIBUTE	RP-Max-Sessions-Per-User		5	integer
ATTRIBUTE	RP-Secret				6	octets[4] encrypt=1
END-VENDOR	Roaring-Penguin
$INCLUDE dictionary.tunnel
`;
const TUNNEL_TEXT = `ATTRIBUTE	Tunnel-Type				64	integer	has_tag
ATTRIBUTE	Tunnel-Password				69	string	has_tag,encrypt=2
ATTRIBUTE	Tunnel-Server-Endpoint			67	string	has_tag
VALUE	Tunnel-Type			L2TP			3
ATTRIBUTE	Something-Extended			241.1	integer
ATTRIBUTE	Weird					42	tlv
FLAGS	internal
`;

test('VENDOR / BEGIN-VENDOR / ATTRIBUTE / VALUE / $INCLUDE and flags', () => {
  const d = parseFreeRadiusDictionary(VENDOR_TEXT, 'dictionary.rp', (name) => (name === 'dictionary.tunnel' ? TUNNEL_TEXT : undefined));
  assert.deepEqual(d.vendors, [{ id: 10055, name: 'Roaring-Penguin' }]);
  const by = new Map(d.attributes.map((a) => [a.name, a]));
  assert.equal(by.get('RP-Upstream-Speed-Limit')?.vendor, 10055);
  assert.equal(by.get('RP-HURL')?.valueType, 'text');
  assert.equal(by.get('RP-Secret')?.encrypt, 'user-password');
  assert.deepEqual(by.get('RP-Secret')?.size, { min: 4, max: 4 });
  assert.equal(by.get('Tunnel-Type')?.vendor, 0);
  assert.equal(by.get('Tunnel-Type')?.tag, 'integer');
  assert.equal(by.get('Tunnel-Type')?.values?.[3], 'L2TP');
  assert.equal(by.get('Tunnel-Password')?.tag, 'always');
  assert.equal(by.get('Tunnel-Password')?.encrypt, 'salted');
  assert.equal(by.get('Tunnel-Server-Endpoint')?.tag, 'optional');
  assert.equal(by.get('Weird')?.valueType, 'octets');
  assert.deepEqual(
    d.notes.map((n) => [n.file, n.line, n.reason]),
    [
      ['dictionary.tunnel', 5, 'extended / nested attribute numbers are not supported'],
      ['dictionary.tunnel', 6, 'type tlv read as opaque octets'],
      ['dictionary.tunnel', 7, 'directive not supported'],
    ],
  );
});

test('rows read from a file decode vendor attributes of a real packet shape', () => {
  const dict = builtinDictionary();
  dict.add(parseFreeRadiusDictionary(VENDOR_TEXT).attributes);
  const row = dict.byName('rp-upstream-speed-limit');
  assert.ok(row !== undefined);
  const a = encodeAttribute(row, 2048);
  assert.ok(a.ok);
  const bytes = encodeRadiusPacket({ code: 2, identifier: 1, authenticator: new Uint8Array(16), attributes: [a.value] });
  // Type 26, Length 12, Vendor-Id 10055 (0x2747), Vendor-Type 1, Vendor-Length 6, 2048.
  assert.equal(Buffer.from(bytes.subarray(20)).toString('hex'), '1a0c0000274701060000' + '0800');
  const p = parseRadiusPacket(bytes);
  assert.ok(p.ok);
  const d = decodeAttributes(p.value, undefined, dict);
  assert.equal(d.attributes[0]?.def.name, 'RP-Upstream-Speed-Limit');
  assert.equal(d.attributes[0]?.value, 2048);
});

test('missing includes, unknown vendors and bad lines are notes, never throws', () => {
  const d = parseFreeRadiusDictionary('$INCLUDE nowhere\n$INCLUDE- optional\nBEGIN-VENDOR Nobody\nATTRIBUTE\nVALUE X Y 1\nVENDOR V x\n');
  assert.deepEqual(
    d.notes.map((n) => n.reason),
    ['include not available', 'unknown vendor', 'bad ATTRIBUTE line', 'VALUE for an unknown attribute or bad number', 'bad VENDOR line'],
  );
  let deep = '';
  const self = (): string => deep;
  deep = '$INCLUDE again\n';
  assert.ok(parseFreeRadiusDictionary(deep, 'loop', self).notes.some((n) => n.reason === 'includes nest too deep'));
});
