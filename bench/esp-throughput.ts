// ESP packets per second per core (RFC 4303 transport mode, 1400-byte payloads) for our `EspSa`,
// as a ratio to node:crypto's RAW rate for the same primitive measured in the same run.
//
// RAW = the minimal per-packet node:crypto loop with no ESP framing: createCipheriv (+ setAAD) /
// update / final (+ getAuthTag for GCM, + createHmac over the ciphertext for CBC), on the same
// number of plaintext bytes the ESP path encrypts (payload + padding + trailer), with a fixed IV
// and one preallocated input buffer. Decrypt: createDecipheriv (+ setAAD, setAuthTag) / update /
// final, for CBC the HMAC verification (digest + timingSafeEqual) first, as ESP does, cycling over
// as many distinct ciphertexts as OURS cycles packets (same cache footprint).
// OURS = `EspSa.encryptv(l2tp, 17, udpHeader)` — the data path's call (src/gate/l2tp-gate.ts): the
// 8-byte UDP header and the rest of the payload staged together, returned as header | ciphertext | ICV
// segments that the sockets send gathered — / `EspSa.decrypt(packet)`, including header, IV choice,
// padding, sequence numbers, anti-replay window, padding check and counters.
//
// Within each round RAW and OURS alternate in 25 ms slices (same process, same core), so machine
// noise hits both alike; the table shows the round with the best raw rate and the ratio within it,
// the median ratio over all rounds, and the "paired ratio": the median over every pair of adjacent
// slices (~100 samples per row), which bursts of load from other tenants move least. The target
// (>= 0.80) is judged on the paired ratio. Single-threaded: one core.
// Run: npx tsx bench/esp-throughput.ts [--seconds=0.5] [--rounds=5] [--payload=1400]
import {
  createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject,
} from 'node:crypto';
import { EspSa, type EspEncryption, type EspIntegrity, type EspSaParams } from '../src/ipsec/esp.js';
import { cryptoRandom } from '../src/io/random.js';
import { machineLines } from './lib/machine.js';
import { fmtNum, formatTable, numArg } from './lib/table.js';

const SECONDS = numArg('seconds', 0.5);
const ROUNDS = Math.max(1, numArg('rounds', 5));
const PAYLOAD = numArg('payload', 1400);
/** Packets per decrypt batch (each batch gets a fresh inbound SA: the replay window forbids reuse). */
const BATCH = 2048;


interface Suite {
  readonly name: string;
  readonly encryption: EspEncryption;
  readonly keyBytes: number;
  readonly integrity: EspIntegrity;
  /** node:crypto names for the raw loop. */
  readonly cipher: string;
  readonly hash: string | undefined;
  readonly icv: number;
  readonly block: number;
}

const SUITES: readonly Suite[] = [
  { name: 'AES-128-GCM-16', encryption: 'aes-gcm-16', keyBytes: 16 + 4, integrity: 'none', cipher: 'aes-128-gcm', hash: undefined, icv: 16, block: 4 },
  { name: 'AES-128-CBC + HMAC-SHA1-96', encryption: 'aes-cbc', keyBytes: 16, integrity: 'hmac-sha1-96', cipher: 'aes-128-cbc', hash: 'sha1', icv: 12, block: 16 },
  { name: 'AES-256-CBC + HMAC-SHA256-128', encryption: 'aes-cbc', keyBytes: 32, integrity: 'hmac-sha256-128', cipher: 'aes-256-cbc', hash: 'sha256', icv: 16, block: 16 },
];

/** Packets and nanoseconds accumulated by one loop. */
interface Tally {
  packets: number;
  ns: number;
}

/** Run `step` in chunks for `ms` milliseconds, adding to `t`; returns this slice's packets/s. */
function slice(step: (n: number) => void, ms: number, t: Tally): number {
  const chunk = 128;
  const t0 = process.hrtime.bigint();
  const limit = BigInt(Math.round(ms * 1e6));
  let dt = 0n;
  let n = 0;
  do {
    step(chunk);
    n += chunk;
    dt = process.hrtime.bigint() - t0;
  } while (dt < limit);
  t.packets += n;
  t.ns += Number(dt);
  return (n * 1e9) / Number(dt);
}

/**
 * One round: RAW and OURS alternate in 25 ms slices for `SECONDS` each, so load from other
 * processes on this shared machine hits both sides alike. Returns packets/s of each, and the
 * ratio ours/raw of every pair of adjacent slices (the paired samples, same conditions).
 */
function round(raw: (n: number) => void, ours: (n: number) => void): { raw: number; ours: number; pairs: number[] } {
  const a: Tally = { packets: 0, ns: 0 };
  const b: Tally = { packets: 0, ns: 0 };
  const slices = Math.max(2, Math.round((SECONDS * 1000) / 25));
  const pairs: number[] = [];
  for (let i = 0; i < slices; i++) {
    if (i % 2 === 0) {
      const r = slice(raw, 25, a);
      pairs.push(slice(ours, 25, b) / r);
    } else {
      const o = slice(ours, 25, b);
      pairs.push(o / slice(raw, 25, a));
    }
  }
  return { raw: (a.packets * 1e9) / a.ns, ours: (b.packets * 1e9) / b.ns, pairs };
}

function params(s: Suite, spi: number, key: Uint8Array, mac: Uint8Array): EspSaParams {
  return { spi, encryption: s.encryption, encryptionKey: key, integrity: s.integrity, integrityKey: mac };
}

/** The four loops (raw/ours x encrypt/decrypt) of one suite. */
function loops(s: Suite): { rawEnc: (n: number) => void; oursEnc: (n: number) => void; rawDec: (n: number) => void; oursDec: (n: number) => void } {
  const keyAll = randomBytes(s.keyBytes);
  const macBytes = randomBytes(s.hash === 'sha1' ? 20 : s.hash === 'sha256' ? 32 : 0);
  const aesKey: KeyObject = createSecretKey(s.encryption === 'aes-gcm-16' ? keyAll.subarray(0, s.keyBytes - 4) : keyAll);
  const macKey: KeyObject | undefined = s.hash ? createSecretKey(macBytes) : undefined;
  const payload = randomBytes(PAYLOAD);
  // The plaintext the ESP path encrypts: payload + padding + pad length + next header.
  const ptLen = Math.ceil((PAYLOAD + 2) / s.block) * s.block;
  const plain = randomBytes(ptLen);
  const iv = randomBytes(s.encryption === 'aes-gcm-16' ? 12 : 16);
  const aad = randomBytes(8);
  let sink = 0;
  const rawEnc = (n: number): void => {
    for (let i = 0; i < n; i++) {
      if (s.hash === undefined) {
        const c = createCipheriv(s.cipher as 'aes-128-gcm', aesKey, iv);
        c.setAAD(aad);
        const a = c.update(plain);
        const b = c.final();
        sink += a.length + b.length + c.getAuthTag().length;
      } else {
        const c = createCipheriv(s.cipher, aesKey, iv).setAutoPadding(false);
        const a = c.update(plain);
        const b = c.final();
        const m = createHmac(s.hash, macKey as KeyObject).update(a).digest();
        sink += a.length + b.length + m.length;
      }
    }
  };
  // Raw decrypt input: BATCH distinct valid ciphertexts (+ tag / MAC) of the same size, cycled
  // like OURS cycles its packets (same memory footprint, so cache effects hit both alike).
  const rawCts: { iv: Buffer; ct: Buffer; tag: Buffer }[] = [];
  for (let i = 0; i < BATCH; i++) {
    const ivI = randomBytes(iv.length);
    if (s.hash === undefined) {
      const c = createCipheriv(s.cipher as 'aes-128-gcm', aesKey, ivI, { authTagLength: 16 });
      c.setAAD(aad);
      const ct = Buffer.concat([c.update(plain), c.final()]);
      rawCts.push({ iv: ivI, ct, tag: c.getAuthTag() });
    } else {
      const c = createCipheriv(s.cipher, aesKey, ivI).setAutoPadding(false);
      const ct = Buffer.concat([c.update(plain), c.final()]);
      rawCts.push({ iv: ivI, ct, tag: createHmac(s.hash, macKey as KeyObject).update(ct).digest().subarray(0, s.icv) });
    }
  }
  let rawNext = 0;
  const rawDec = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const x = rawCts[rawNext] as { iv: Buffer; ct: Buffer; tag: Buffer };
      rawNext = (rawNext + 1) % BATCH;
      if (s.hash === undefined) {
        const d = createDecipheriv(s.cipher as 'aes-128-gcm', aesKey, x.iv);
        d.setAAD(aad);
        d.setAuthTag(x.tag);
        const a = d.update(x.ct);
        const b = d.final();
        sink += a.length + b.length;
      } else {
        const m = createHmac(s.hash, macKey as KeyObject).update(x.ct).digest();
        if (!timingSafeEqual(m.subarray(0, s.icv), x.tag)) throw new Error('raw MAC');
        const d = createDecipheriv(s.cipher, aesKey, x.iv).setAutoPadding(false);
        const a = d.update(x.ct);
        const b = d.final();
        sink += a.length + b.length;
      }
    }
  };
  let tx = new EspSa(params(s, 0x1001, keyAll, macBytes), cryptoRandom);
  const udpHeader = payload.subarray(0, 8);
  const l2tp = payload.subarray(8);
  const oursEnc = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const r = tx.encryptv(l2tp, 17, udpHeader);
      if (!r.ok) {
        tx = new EspSa(params(s, 0x1001, keyAll, macBytes), cryptoRandom);
        continue;
      }
      sink += r.value[0].length + r.value[1].length + r.value[2].length;
    }
  };
  // A batch of consecutive packets; each pass over it uses a fresh inbound SA (anti-replay).
  const batchTx = new EspSa(params(s, 0x2002, keyAll, macBytes), cryptoRandom);
  const batch: Uint8Array[] = [];
  for (let i = 0; i < BATCH; i++) {
    const r = batchTx.encrypt(payload);
    if (!r.ok) throw new Error('encrypt failed');
    batch.push(r.value);
  }
  let rx = new EspSa(params(s, 0x2002, keyAll, macBytes), cryptoRandom);
  let next = 0;
  const oursDec = (n: number): void => {
    for (let i = 0; i < n; i++) {
      if (next === BATCH) {
        rx = new EspSa(params(s, 0x2002, keyAll, macBytes), cryptoRandom);
        next = 0;
      }
      const r = rx.decrypt(batch[next++] as Uint8Array);
      if (!r.ok) throw new Error(`decrypt failed: ${r.error.kind}`);
      sink += r.value.payload.length;
    }
  };
  void sink;
  return { rawEnc, oursEnc, rawDec, oursDec };
}

interface Row {
  readonly suite: string;
  readonly dir: 'encrypt' | 'decrypt';
  ours: number;
  raw: number;
  readonly oursRounds: number[];
  readonly rawRounds: number[];
  /** ours/raw of every adjacent pair of 25 ms slices, over all rounds. */
  readonly pairs: number[];
}

function median(values: readonly number[]): number {
  const xs = [...values].sort((a, b) => a - b);
  const m = xs.length >> 1;
  return xs.length % 2 === 1 ? (xs[m] ?? 0) : ((xs[m - 1] ?? 0) + (xs[m] ?? 0)) / 2;
}

/** Median over rounds of ours/raw (each round's two sides ran interleaved). */
function medianRatio(r: Row): number {
  return median(r.oursRounds.map((o, i) => o / (r.rawRounds[i] ?? 1)));
}

/** Median of the paired-slice ratios: the estimate least moved by bursts of load on a shared host. */
function pairedRatio(r: Row): number {
  return median(r.pairs);
}

function main(): void {
  console.log(machineLines().join('\n'));
  console.log(`payload ${PAYLOAD} bytes, ${ROUNDS} rounds x ${SECONDS} s per side (25 ms slices, alternating)\n`);
  const rows: Row[] = [];
  for (const s of SUITES) {
    const l = loops(s);
    // Warm-up (JIT, OpenSSL tables).
    for (const f of [l.rawEnc, l.oursEnc, l.rawDec, l.oursDec]) f(2000);
    const enc: Row = { suite: s.name, dir: 'encrypt', ours: 0, raw: 0, oursRounds: [], rawRounds: [], pairs: [] };
    const dec: Row = { suite: s.name, dir: 'decrypt', ours: 0, raw: 0, oursRounds: [], rawRounds: [], pairs: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const [row, raw, ours] of [[enc, l.rawEnc, l.oursEnc], [dec, l.rawDec, l.oursDec]] as const) {
        const x = round(raw, ours);
        row.rawRounds.push(x.raw);
        row.oursRounds.push(x.ours);
        row.pairs.push(...x.pairs);
      }
    }
    for (const row of [enc, dec]) {
      // The round with the best raw rate was the least disturbed one; both sides come from it.
      const best = row.rawRounds.indexOf(Math.max(...row.rawRounds));
      row.raw = row.rawRounds[best] ?? 0;
      row.ours = row.oursRounds[best] ?? 0;
      rows.push(row);
    }
  }
  const table = formatTable(
    ['algorithm', 'direction', 'ours pkt/s', 'raw pkt/s', 'ratio', 'median ratio', 'paired ratio', 'ours Mbit/s', 'raw Mbit/s'],
    rows.map((r) => [
      r.suite, r.dir, fmtNum(r.ours), fmtNum(r.raw), (r.ours / r.raw).toFixed(2), medianRatio(r).toFixed(2), pairedRatio(r).toFixed(2),
      fmtNum((r.ours * PAYLOAD * 8) / 1e6), fmtNum((r.raw * PAYLOAD * 8) / 1e6),
    ]),
    ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
  console.log(table);
  const worst = Math.min(...rows.map(pairedRatio));
  const worstRounds = Math.min(...rows.map(medianRatio));
  console.log(
    `\nMbit/s counts ${PAYLOAD}-byte payloads (not ESP overhead). Worst paired ratio ${worst.toFixed(2)} (target >= 0.80): ${worst >= 0.8 ? 'met' : 'NOT met'}; ` +
      `worst per-round median ${worstRounds.toFixed(2)}.`,
  );
  console.log('\nPer-round pkt/s (raw / ours):');
  for (const r of rows) console.log(`  ${r.suite} ${r.dir}: ${r.rawRounds.map((x, i) => `${fmtNum(x)}/${fmtNum(r.oursRounds[i])}`).join('  ')}`);
}

main();
