/**
 * Standalone fuzz loop (`npm run fuzz` -> node dist/test/fuzz/fuzz.js [count] [seed]).
 * 1. L2TPv2: random bytes, framed random bytes and mutated vectors through parseHeader / parseData /
 *    parseControl (with and without a secret); a parsed control message must re-emit to the same value.
 * 2. Every parser of the project (parsers.ts: L2TP, PPP, IKE, ESP, IP / too-big / RA), each input as a
 *    Uint8Array, a Buffer and a Buffer view into a larger buffer: never throws, never changes its
 *    input, same answer for every buffer kind.
 * Exits 1 on the first broken property, printing the input as hex and the seed to replay it.
 */
import { isDeepStrictEqual } from 'node:util';
import { randomInt } from 'node:crypto';
import { seededRandom } from '../../src/base/random.js';
import { emitControl, parseControl } from '../../src/wire/l2tp/index.js';
import { mutateVector, randomBytes, randomFramed } from './l2tp-mutate.js';
import { PARSERS, checkParser, fuzzParsers } from './parsers.js';

const count = Number.parseInt(process.argv[2] ?? '1000000', 10);
const seed = process.argv[3] !== undefined ? Number.parseInt(process.argv[3], 10) : randomInt(0, 2 ** 31);
if (!Number.isFinite(count) || count <= 0 || !Number.isFinite(seed)) {
  console.error('usage: fuzz.js [count] [seed]');
  process.exit(2);
}
const secret = new TextEncoder().encode('fuzz-secret');
const r = seededRandom(seed);
const l2tp = PARSERS.filter((p) => p.kind === 'l2tp');
console.log(`fuzz: ${count} L2TP inputs, then ${Math.ceil(count / 8)} per parser for ${PARSERS.length} parsers, seed ${seed}`);

let parsedControl = 0;
const started = process.hrtime.bigint();
for (let i = 0; i < count; i++) {
  const kind = i % 3;
  const b = kind === 0 ? randomBytes(r, 64) : kind === 1 ? randomFramed(r, 120) : mutateVector(r);
  try {
    for (const p of l2tp) {
      const problem = checkParser(p, b);
      if (problem !== undefined) throw new Error(problem);
    }
    const c = parseControl(b, (i & 4) === 0 ? { secret } : undefined);
    if (c.ok) {
      parsedControl++;
      const again = parseControl(emitControl(c.value));
      if (!again.ok || !isDeepStrictEqual(again.value, c.value)) throw new Error('emit/parse round trip changed the message');
    }
  } catch (e) {
    console.error(`FAIL at input ${i} (seed ${seed}): ${Buffer.from(b).toString('hex')}`);
    console.error(e);
    process.exit(1);
  }
  if ((i + 1) % 250_000 === 0) console.log(`  ${i + 1} inputs, ${parsedControl} control messages parsed`);
}
const ms = Number(process.hrtime.bigint() - started) / 1e6;
console.log(`ok: ${count} L2TP inputs x 3 buffer kinds in ${ms.toFixed(0)} ms, ${parsedControl} control messages parsed and re-emitted`);

const perParser = Math.ceil(count / 8);
const t2 = process.hrtime.bigint();
const bad = fuzzParsers(r, perParser);
if (bad !== undefined) {
  console.error(`FAIL (seed ${seed}): ${bad.problem} on ${Buffer.from(bad.input).toString('hex')}`);
  process.exit(1);
}
const ms2 = Number(process.hrtime.bigint() - t2) / 1e6;
console.log(`ok: ${perParser} inputs x ${PARSERS.length} parsers x 3 buffer kinds in ${ms2.toFixed(0)} ms: none threw, none changed its input, same answers`);
