/**
 * The accounting spool on a real file: replay of unacknowledged records in order after a reopen,
 * a torn last line skipped and counted, compaction, the size bound with its clear error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccountingSeq, SpooledRecord } from '../aaa/radius/types.js';
import { RadiusSpool, RadiusSpoolFullError } from './radius-spool.js';

const rec = (seq: number, sessionId = `s${seq}`): SpooledRecord => ({
  seq: seq as AccountingSeq,
  record: { status: 'interim-update', sessionId, timestamp: 1_700_000_000_000 + seq, classes: [Uint8Array.of(seq & 0xff)], counters: { inputOctets: seq, outputOctets: 2 * seq, inputPackets: 1, outputPackets: 2 } },
});

function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'l2k-spool-'));
  return f(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('records not acknowledged come back in order after reopen; acknowledged ones do not', () =>
  withDir(async (dir) => {
    const path = join(dir, 'acct.spool');
    const a = await RadiusSpool.open({ path });
    assert.deepEqual(a.records, []);
    await a.spool.append([rec(1), rec(2), rec(3)]);
    await a.spool.append([rec(4)]);
    await a.spool.acknowledge([2 as AccountingSeq, 4 as AccountingSeq]);
    assert.equal(a.spool.pending, 2);
    await a.spool.close();
    const b = await RadiusSpool.open({ path });
    assert.deepEqual(b.records, [rec(1), rec(3)]);
    assert.equal(b.damaged, 0);
    // Reopening compacted the file: only the two pending records are left.
    assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 2);
    await b.spool.close();
  }));

test('a torn last line (crash mid-write) and a damaged line are skipped and counted', () =>
  withDir(async (dir) => {
    const path = join(dir, 'acct.spool');
    const a = await RadiusSpool.open({ path });
    await a.spool.append([rec(1), rec(2)]);
    await a.spool.close();
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n');
    // Flip one character of the first record's JSON: its checksum no longer fits.
    lines[0] = (lines[0] as string).replace('"s1"', '"s9"');
    rmSync(path);
    appendFileSync(path, `${lines.join('\n')}R 0123abcd {"seq":3,"rec`);
    const b = await RadiusSpool.open({ path });
    assert.deepEqual(b.records, [rec(2)]);
    assert.equal(b.damaged, 2);
    await b.spool.close();
  }));

test('bounded size: compaction first, then RadiusSpoolFullError with a clear message; nothing half-written', () =>
  withDir(async (dir) => {
    const path = join(dir, 'acct.spool');
    const a = await RadiusSpool.open({ path, maxBytes: 2000, fsync: false });
    let seq = 1;
    // Fill, acknowledge everything, keep appending: compaction makes room again and again.
    for (let round = 0; round < 5; round++) {
      const batch = [rec(seq++), rec(seq++), rec(seq++)];
      await a.spool.append(batch);
      await a.spool.acknowledge(batch.map((r) => r.seq));
    }
    assert.ok(statSync(path).size <= 2000);
    // Now keep them pending until the file is full.
    let err: unknown;
    try {
      for (let i = 0; i < 100; i++) await a.spool.append([rec(seq++)]);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof RadiusSpoolFullError);
    assert.match(err.message, /spool full: \d+ of 2000 octets in use by \d+ unanswered records/);
    const size = statSync(path).size;
    assert.ok(size <= 2000);
    await a.spool.close();
    const b = await RadiusSpool.open({ path, maxBytes: 2000 });
    assert.equal(b.damaged, 0);
    assert.equal(b.records.length, err.pending);
    await b.spool.close();
  }));
