import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readRepoFile } from '../../test/lib/repo.js';
import { FSM_EVENTS, FSM_STATES, FSM_TABLE, type FsmAction } from './option-fsm.js';

test('option-fsm: code table equals the RFC 1661 §4.1 table transcribed in docs/ppp-fsm.md', () => {
  const md = readRepoFile('docs/ppp-fsm.md');
  const body = md.split('<!-- fsm-table:start -->')[1]?.split('<!-- fsm-table:end -->')[0];
  assert.ok(body !== undefined);
  const rows = body
    .split('\n')
    .filter((l) => l.startsWith('|') && !l.startsWith('|---') && !l.startsWith('| Event'))
    .map((l) => l.split('|').slice(1, -1).map((s) => s.trim()));
  assert.deepEqual(rows.map((r) => r[0]), [...FSM_EVENTS]);
  let cells = 0;
  for (const row of rows) {
    const event = row[0] as (typeof FSM_EVENTS)[number];
    assert.equal(row.length, 11, `row ${event}`);
    for (let s = 0; s < 10; s++) {
      const cell = row[s + 1] ?? '';
      const code = FSM_TABLE[event][s];
      const where = `${event} in ${FSM_STATES[s]}`;
      cells++;
      if (cell === '-') {
        assert.equal(code, null, where);
        continue;
      }
      const m = /^(?:([a-z,]+)\/)?(\d)([rxp]?)$/.exec(cell);
      assert.ok(m, `unparsable cell ${JSON.stringify(cell)} at ${where}`);
      assert.ok(code, where);
      const actions = m[1] === undefined ? [] : (m[1].split(',') as FsmAction[]);
      assert.deepEqual([...code.actions], actions, where);
      assert.equal(code.next, FSM_STATES[Number(m[2])], where);
      assert.equal(code.note ?? '', m[3], where);
    }
  }
  assert.equal(cells, 160);
});
