import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readRepoFile } from '../../test/lib/repo.js';
import { row, transitionIndex, type Transition } from './fsm.js';
import { MAIN_MODE_DROP_REASON, MAIN_MODE_TABLE, QUICK_MODE_TABLE, mainModeTransition, quickModeTransition } from './responder-fsm.js';
import {
  MAIN_MODE_INIT_DROP_REASON, MAIN_MODE_INIT_TABLE, QUICK_MODE_INIT_TABLE, mainModeInitTransition, quickModeInitTransition,
} from './initiator-fsm.js';

const md = readRepoFile('docs/ipsec-ike.md');

/** The rows of the table between `<!-- table:name -->` and `<!-- /table -->`, cells without backticks. */
function docRows(name: string): string[][] {
  const sec = md.split(`<!-- table:${name} -->`)[1]?.split('<!-- /table -->')[0];
  assert.ok(sec !== undefined, `docs/ipsec-ike.md has a table ${name}`);
  return sec
    .split('\n')
    .filter((l) => /^\| `/.test(l))
    .map((l) => l.split('|').slice(1, -1).map((x) => x.trim().replace(/`/g, '')));
}

/** The code table as doc cells: from, event, actions (comma-separated, — for none), to, reference. */
const cells = (t: readonly Transition<string, string, string>[]): string[][] =>
  t.map((r) => [r.from, r.event, r.actions.length === 0 ? '—' : r.actions.join(', '), r.to, r.rfc]);

/** Every doc row equals its code row cell by cell, in the same order. */
function same(name: string, t: readonly Transition<string, string, string>[]): void {
  const doc = docRows(name);
  const code = cells(t);
  assert.equal(doc.length, code.length, `${name}: row count`);
  code.forEach((c, i) => assert.deepEqual(doc[i], c, `${name}: row ${i + 1} (${c[0]} / ${c[1]})`));
}

test('FSM tables match docs/ipsec-ike.md', () => {
  same('main-mode', MAIN_MODE_TABLE);
  same('quick-mode', QUICK_MODE_TABLE);
});

test('initiator state tables match docs/ipsec-ike.md', () => {
  same('main-mode-initiator', MAIN_MODE_INIT_TABLE);
  same('quick-mode-initiator', QUICK_MODE_INIT_TABLE);
});

test('the sa-deleted reason of every drop row is documented, and every drop row has one', () => {
  for (const [name, table, reasons] of [
    ['drop-reason', MAIN_MODE_TABLE, MAIN_MODE_DROP_REASON],
    ['drop-reason-initiator', MAIN_MODE_INIT_TABLE, MAIN_MODE_INIT_DROP_REASON],
  ] as const) {
    const events = [...new Set(table.filter((r) => r.actions.includes('drop')).map((r) => r.event))];
    assert.deepEqual(docRows(name), events.map((e) => [e, (reasons as Readonly<Record<string, string>>)[e] ?? 'missing']), name);
  }
});

test('lookups find each row by (state, event); other pairs are not valid', () => {
  for (const r of MAIN_MODE_TABLE) assert.equal(mainModeTransition(r.from, r.event), r);
  for (const r of QUICK_MODE_TABLE) assert.equal(quickModeTransition(r.from, r.event), r);
  for (const r of MAIN_MODE_INIT_TABLE) assert.equal(mainModeInitTransition(r.from, r.event), r);
  for (const r of QUICK_MODE_INIT_TABLE) assert.equal(quickModeInitTransition(r.from, r.event), r);
  assert.equal(mainModeTransition('established', 'recv-mm1'), undefined, 'a late MM1 on an established SA is ignored');
  assert.equal(mainModeTransition('deleted', 'local-delete'), undefined);
  assert.equal(quickModeInitTransition('qm-done', 'recv-qm2'), undefined, 'a duplicate QM2 never reaches the table');
  assert.throws(() => transitionIndex('t', [row('a', 'e', [], 'b', 'x'), row('a', 'e', ['z'], 'a', 'y')]), /duplicate transition a\|e/);
});
