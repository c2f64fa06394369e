import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseUsersFile } from './users.js';

test('users file: comments, quotes, static addresses', () => {
  const r = parseUsersFile(['# users', 'alice s3cret', '  bob "pass word" 100.64.0.9  # fixed', '', 'carol "q\\"x"'].join('\n'));
  assert.ok(r.ok);
  assert.deepEqual(r.value.get('alice'), { username: 'alice', password: 's3cret' });
  assert.deepEqual(r.value.get('bob'), { username: 'bob', password: 'pass word', staticAddress: 0x64400009 });
  assert.equal(r.value.get('carol')?.password, 'q"x');
});

test('users file: every bad line is reported with its number', () => {
  const r = parseUsersFile(['alice', 'bob pw 300.1.1.1', 'carol "open', 'dave a b c', 'eve x', 'eve y'].join('\n'));
  assert.ok(!r.ok);
  assert.deepEqual(
    r.error.map((e) => e.line),
    [1, 2, 3, 4, 6],
  );
  assert.match(r.error[4]?.message ?? '', /duplicate user "eve"/);
});

test('users file parser never throws', () => {
  fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => {
    parseUsersFile(s);
  }), { numRuns: 2000 });
});
