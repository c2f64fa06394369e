/** docs/RADIUS.md lists exactly the built-in rows, with the same type, data type and tag/encryption. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readRepoFile } from '../../../test/lib/repo.js';
import { BUILTIN_ATTRIBUTES } from './index.js';

test('docs/RADIUS.md attribute table equals the dictionary rows', () => {
  const md = readRepoFile('docs/RADIUS.md');
  const docRows = md
    .split('\n')
    .filter((l) => /^\| (311\/)?\d+ \|/.test(l))
    .map((l) => l.split('|').slice(1, 5).map((c) => c.trim()).join(' | '));
  const codeRows = BUILTIN_ATTRIBUTES.map((r) => {
    const flags = [r.tag !== 'none' ? `tag ${r.tag}` : '', r.encrypt !== 'none' ? r.encrypt : ''].filter((x) => x !== '').join(', ');
    return [r.vendor === 0 ? String(r.type) : `${r.vendor}/${r.type}`, r.name, r.valueType, flags].join(' | ');
  });
  assert.deepEqual(docRows, codeRows);
});
