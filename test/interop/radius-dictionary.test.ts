/**
 * Our built-in attribute rows against FreeRADIUS's own dictionaries (Debian package freeradius,
 * /usr/share/freeradius): every row exists there with the same number and name, a compatible data
 * type, the same RFC 2868 tag rule and the same encryption — read with our FreeRADIUS dictionary
 * reader, so the reader is checked on the real files too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_ATTRIBUTES, parseFreeRadiusDictionary, type AttributeDef } from '../../src/wire/radius/index.js';
import { ensureDebianPackages, requireRoot } from './lib/index.js';

const DIR = '/usr/share/freeradius';
const FILES = ['rfc2865', 'rfc2866', 'rfc2867', 'rfc2868', 'rfc2869', 'rfc3162', 'rfc3576', 'rfc4372', 'rfc4818', 'rfc5176', 'rfc6911', 'microsoft'];

/**
 * Where we deliberately differ on the data type: MS-CHAP-Error / -Domain start with a binary Ident
 * octet (RFC 2548 §2.1.1, §2.1.5); ARAP-Security-Data and Configuration-Token are RFC 2869 "String",
 * i.e. octets (RFC 8044 §3.5). FreeRADIUS reads all four as text.
 */
const TYPE_EXCEPTIONS = new Set(['MS-CHAP-Error', 'MS-CHAP-Domain', 'ARAP-Security-Data', 'Configuration-Token']);

test('built-in rows agree with FreeRADIUS 3.2 dictionaries (number, name, type, tag, encryption)', async () => {
  requireRoot();
  await ensureDebianPackages(['freeradius-common']);
  assert.ok(existsSync(join(DIR, 'dictionary.rfc2865')), `${DIR} missing`);
  const theirs = new Map<string, AttributeDef>();
  let notes = 0;
  for (const f of FILES) {
    const d = parseFreeRadiusDictionary(readFileSync(join(DIR, `dictionary.${f}`), 'utf8'), f);
    notes += d.notes.length;
    for (const a of d.attributes) theirs.set(`${a.vendor}:${a.type}`, a);
  }
  const problems: string[] = [];
  for (const ours of BUILTIN_ATTRIBUTES) {
    const fr = theirs.get(`${ours.vendor}:${ours.type}`);
    if (fr === undefined) {
      problems.push(`${ours.name}: not in FreeRADIUS`);
      continue;
    }
    // FreeRADIUS lists aliases under the same number (MS-MPPE-Encryption-Type/-Types); the last one wins here.
    if (fr.name.toLowerCase() !== ours.name.toLowerCase() && ours.name !== 'MS-MPPE-Encryption-Types') problems.push(`${ours.vendor}:${ours.type}: ${ours.name} vs ${fr.name}`);
    if (fr.valueType !== ours.valueType && !TYPE_EXCEPTIONS.has(ours.name)) problems.push(`${ours.name}: type ${ours.valueType} vs ${fr.valueType}`);
    if (fr.tag !== ours.tag) problems.push(`${ours.name}: tag ${ours.tag} vs ${fr.tag}`);
    if (fr.encrypt !== ours.encrypt) problems.push(`${ours.name}: encrypt ${ours.encrypt} vs ${fr.encrypt}`);
  }
  assert.deepEqual(problems, []);
  console.log(`# ${BUILTIN_ATTRIBUTES.length} built-in rows checked against ${theirs.size} FreeRADIUS rows (${notes} reader notes)`);
});
