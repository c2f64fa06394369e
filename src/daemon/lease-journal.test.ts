import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIpv4, parseIpv4 } from '../base/index.js';
import fc from 'fast-check';
import { holdsAfterRestart, journalLine, LeaseJournal, liveLines, replayJournal } from './lease-journal.js';

const ip = (s: string): number => parseIpv4(s) ?? -1;

test('replayJournal: leases, releases by the same owner only, holds and their ends; torn and bad lines skipped', () => {
  const text = [
    'L 100.64.0.2 1/1 alice 1000',
    'L 100.64.0.3 1/2 b%20o%20b 1001',
    'L 100.64.0.4 1/3 - 1002',
    'R 100.64.0.3 9/9', // not its owner: stays
    'R 100.64.0.4 1/3',
    'H 100.64.0.9 carol 5000',
    'H 100.64.0.10 dave 5000',
    'U 100.64.0.10',
    'X what',
    'L 100.64.0.5 1/4 eve', // torn: too short
  ].join('\n');
  const { entries, bad } = replayJournal(text);
  assert.equal(bad, 2);
  assert.deepEqual([...entries.keys()].sort(), [ip('100.64.0.2'), ip('100.64.0.3'), ip('100.64.0.9')].sort());
  assert.deepEqual(entries.get(ip('100.64.0.3')), { kind: 'leased', address: ip('100.64.0.3'), owner: '1/2', username: 'b o b', at: 1001 });
  // A start at 4000 with a 60 s hold: the open leases until 64000, carol's earlier hold until 5000.
  const holds = holdsAfterRestart(entries, 4000, 60_000);
  assert.deepEqual(holds, [
    { address: ip('100.64.0.9'), username: 'carol', until: 5000 },
    { address: ip('100.64.0.2'), username: 'alice', until: 64_000 },
    { address: ip('100.64.0.3'), username: 'b o b', until: 64_000 },
  ]);
  // At 6000 carol's hold is over.
  assert.equal(holdsAfterRestart(entries, 6000, 60_000).length, 2);
});

test('LeaseJournal: a crash leaves the open leases in the file; the next start holds them and rewrites the file with holds only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lease-journal-'));
  try {
    const path = join(dir, 'leases.journal');
    let now = 10_000;
    const errors: Error[] = [];
    const first = LeaseJournal.open(path, 120_000, () => now, (e) => errors.push(e));
    assert.deepEqual(first.holds, []);
    const j = first.journal;
    j.leased('1/1', ip('100.64.0.2'), 'alice');
    j.leased('1/2', ip('100.64.0.3'), 'bob');
    j.leased('1/3', ip('100.64.0.4'), undefined);
    now += 5;
    j.released('1/2', ip('100.64.0.3'));
    assert.equal(j.entries().size, 2);
    // kill -9: no close(); a torn line at the end.
    writeFileSync(path, `${readFileSync(path, 'utf8')}L 100.64.0.7 1/`, { flag: 'w' });
    now = 20_000;
    const second = LeaseJournal.open(path, 120_000, () => now, (e) => errors.push(e));
    assert.equal(second.bad, 1);
    assert.deepEqual(second.holds, [
      { address: ip('100.64.0.2'), username: 'alice', until: 140_000 },
      { address: ip('100.64.0.4'), username: undefined, until: 140_000 },
    ]);
    assert.equal(readFileSync(path, 'utf8'), 'H 100.64.0.2 alice 140000\nH 100.64.0.4 - 140000\n');
    // alice takes hers back; .4's hold ends; then a second crash inside the hold time keeps alice's new lease.
    second.journal.unheld(ip('100.64.0.2'));
    second.journal.leased('5/1', ip('100.64.0.2'), 'alice');
    second.journal.unheld(ip('100.64.0.4'));
    now = 30_000;
    const third = LeaseJournal.open(path, 120_000, () => now, (e) => errors.push(e));
    assert.deepEqual(third.holds, [{ address: ip('100.64.0.2'), username: 'alice', until: 150_000 }]);
    // A clean stop (everything released) leaves nothing to hold.
    third.journal.unheld(ip('100.64.0.2'));
    third.journal.close();
    const fourth = LeaseJournal.open(path, 120_000, () => now, (e) => errors.push(e));
    assert.deepEqual(fourth.holds, []);
    fourth.journal.close();
    assert.deepEqual(errors, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LeaseJournal: a compaction keeps the holds of the last start and the leases still open', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lease-journal-'));
  try {
    const path = join(dir, 'leases.journal');
    writeFileSync(path, 'L 100.64.2.1 1/1 carol 5\n');
    const { journal, holds } = LeaseJournal.open(path, 60_000, () => 100, () => undefined);
    assert.deepEqual(holds, [{ address: ip('100.64.2.1'), username: 'carol', until: 60_100 }]);
    journal.leased('2/2', ip('100.64.2.2'), 'dave');
    for (let i = 0; i < 10_001; i++) {
      journal.leased(`3/${i}`, ip('100.64.2.3'), undefined);
      journal.released(`3/${i}`, ip('100.64.2.3'));
    }
    const text = readFileSync(path, 'utf8');
    assert.ok(text.startsWith('H 100.64.2.1 carol 60100\nL 100.64.2.2 2/2 dave 100\n'), 'compacted: the hold and the open lease first');
    assert.deepEqual([...replayJournal(text).entries.keys()], [ip('100.64.2.1'), ip('100.64.2.2')]);
    assert.ok(text.split('\n').length < 2_000, 'compacted once past 20,000 lines');
    journal.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LeaseJournal: compacts itself as it grows (10,000 lease/release cycles keep the file small)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lease-journal-'));
  try {
    const path = join(dir, 'leases.journal');
    const { journal } = LeaseJournal.open(path, 60_000, () => 1, () => undefined);
    journal.leased('0/0', ip('100.64.1.1'), 'keep');
    for (let i = 0; i < 25_000; i++) {
      journal.leased(`1/${i}`, ip('100.64.0.2'), `u${i}`);
      journal.released(`1/${i}`, ip('100.64.0.2'));
    }
    const lines = readFileSync(path, 'utf8').split('\n').length;
    assert.ok(lines < 22_000, `${lines} lines`);
    const { entries } = replayJournal(readFileSync(path, 'utf8'));
    assert.deepEqual([...entries.keys()], [ip('100.64.1.1')]);
    // The compaction (a replay of the file: no entry per lease in memory) kept the lease as it was written.
    assert.deepEqual(entries.get(ip('100.64.1.1')), { kind: 'leased', address: ip('100.64.1.1'), owner: '0/0', username: 'keep', at: 1 });
    assert.deepEqual(journal.entries(), entries);
    // A release after the compaction still matches its lease; a release by another owner does not.
    journal.released('9/9', ip('100.64.1.1'));
    assert.equal(journal.entries().size, 1);
    journal.released('0/0', ip('100.64.1.1'));
    assert.equal(journal.entries().size, 0);
    journal.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('liveLines (the compaction) keeps what replayJournal keeps, as the same lines, in the same order', () => {
  const addr = fc.integer({ min: 0, max: 5 }).map((i) => ip(`100.64.0.${i + 1}`));
  const op = fc.oneof(
    fc.record({ k: fc.constant('L' as const), a: addr, o: fc.integer({ min: 0, max: 3 }), u: fc.option(fc.constantFrom('alice', 'b o b', 'c%d'), { nil: undefined }), t: fc.integer({ min: 0, max: 1e13 }) }),
    fc.record({ k: fc.constant('H' as const), a: addr, u: fc.option(fc.constantFrom('alice', 'eve'), { nil: undefined }), t: fc.integer({ min: 0, max: 1e13 }) }),
    fc.record({ k: fc.constant('R' as const), a: addr, o: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ k: fc.constant('U' as const), a: addr }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), fc.boolean(), (ops, torn) => {
      let text = ops
        .map((x) => {
          if (x.k === 'L') return journalLine({ kind: 'leased', address: x.a, owner: `1/${x.o}`, username: x.u, at: x.t });
          if (x.k === 'H') return journalLine({ kind: 'held', address: x.a, username: x.u, until: x.t });
          if (x.k === 'R') return `R ${formatIpv4(x.a)} 1/${x.o}\n`;
          return `U ${formatIpv4(x.a)}\n`;
        })
        .join('');
      if (torn) text += 'L 100.64.0.1 1/';
      const kept = liveLines(text);
      assert.deepEqual(kept, [...replayJournal(text).entries.values()].map(journalLine));
      assert.deepEqual(replayJournal(kept.join('')).entries, replayJournal(text).entries);
    }),
  );
});
