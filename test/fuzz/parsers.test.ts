import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../src/base/random.js';
import { PARSERS, checkParser, inputFor } from './parsers.js';

/** Inputs per parser here; `npm run fuzz` runs many more. */
const PER_PARSER = 2_000;

for (const [i, p] of PARSERS.entries()) {
  test(`${p.name}: ${PER_PARSER} random inputs as Uint8Array, Buffer and Buffer view never throw, never change the input, same answer`, () => {
    const r = seededRandom(0x10_0000 + i);
    for (let n = 0; n < PER_PARSER; n++) {
      const input = inputFor(p.kind, r, n);
      const problem = checkParser(p, input);
      assert.equal(problem, undefined, `${problem ?? ''} on ${Buffer.from(input).toString('hex')}`);
    }
  });
}

test('the property catches a parser that writes to its input, aliases it or throws', () => {
  const input = Uint8Array.of(1, 2, 3, 4);
  assert.match(checkParser({ name: 'writer', kind: 'generic', parse: (b) => b.fill(0, 0, 1) }, input) ?? '', /changed its Uint8Array input/);
  assert.match(checkParser({ name: 'thrower', kind: 'generic', parse: () => { throw new Error('x'); } }, input) ?? '', /threw/);
  // Buffer#slice is a view: a "copy" made with it and then written to changes a Buffer input only.
  const sliceThenXor = (b: Uint8Array): Uint8Array => {
    const c = b.slice();
    c[0] = (c[0] ?? 0) ^ 0xff;
    return c;
  };
  assert.match(checkParser({ name: 'slice', kind: 'generic', parse: sliceThenXor }, input) ?? '', /changed its Buffer input/);
  // A write just past the end of the pooled view (offset 31; Node's own pool offsets are 8-aligned).
  const pastEnd = (b: Uint8Array): void => {
    if (b.byteOffset === 31) new Uint8Array(b.buffer, b.byteOffset + b.byteLength, 1).fill(9);
  };
  assert.match(checkParser({ name: 'past-end', kind: 'generic', parse: pastEnd }, input) ?? '', /outside its Buffer view/);
  assert.equal(checkParser({ name: 'reader', kind: 'generic', parse: (b) => b[0] }, input), undefined);
});
