/**
 * Standalone fuzz loop for the L2TPv2 codecs, then the PPP, IKE and ESP parsers (`npm run fuzz` -> node dist/test/fuzz/fuzz.js [count] [seed]).
 * Feeds random bytes, framed random bytes and mutated vectors to parseHeader / parseData /
 * parseControl (with and without a secret) and checks that a parsed control message re-emits to the
 * same value. Exits 1 on the first throw or broken invariant, printing the input as hex.
 */
import { isDeepStrictEqual } from 'node:util';
import { randomInt } from 'node:crypto';
import { seededRandom } from '../../src/base/random.js';
import { emitControl, parseControl, parseData, parseHeader } from '../../src/wire/l2tp/index.js';
import { mutateVector, randomBytes, randomFramed } from './l2tp-mutate.js';
import { OTHER_PARSERS, fuzzOtherParsers } from './other-parsers.js';

const count = Number.parseInt(process.argv[2] ?? '1000000', 10);
const seed = process.argv[3] !== undefined ? Number.parseInt(process.argv[3], 10) : randomInt(0, 2 ** 31);
if (!Number.isFinite(count) || count <= 0 || !Number.isFinite(seed)) {
  console.error('usage: fuzz.js [count] [seed]');
  process.exit(2);
}
const secret = new TextEncoder().encode('fuzz-secret');
const r = seededRandom(seed);
console.log(`l2tp fuzz: ${count} inputs, seed ${seed}`);

let parsedControl = 0;
let parsedData = 0;
const started = process.hrtime.bigint();
for (let i = 0; i < count; i++) {
  const kind = i % 3;
  const b = kind === 0 ? randomBytes(r, 64) : kind === 1 ? randomFramed(r, 120) : mutateVector(r);
  try {
    parseHeader(b);
    if (parseData(b, { maxOffset: r.u32() % 128 }).ok) parsedData++;
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
  if ((i + 1) % 250_000 === 0) console.log(`  ${i + 1} inputs, ${parsedControl} control / ${parsedData} data parsed`);
}
const ms = Number(process.hrtime.bigint() - started) / 1e6;
console.log(`ok: ${count} inputs in ${ms.toFixed(0)} ms, ${parsedControl} control / ${parsedData} data messages parsed`);

const otherCount = Math.ceil(count / 4);
const t2 = process.hrtime.bigint();
const bad = fuzzOtherParsers(r, otherCount);
if (bad !== undefined) {
  console.error(`FAIL: ${bad.name} threw (seed ${seed}) on ${Buffer.from(bad.input).toString('hex')}`);
  console.error(bad.error);
  process.exit(1);
}
const ms2 = Number(process.hrtime.bigint() - t2) / 1e6;
console.log(`ok: ${otherCount} inputs x ${OTHER_PARSERS.length} PPP/IKE/ESP parsers in ${ms2.toFixed(0)} ms, none threw`);
