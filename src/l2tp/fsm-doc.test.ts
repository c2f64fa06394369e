import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readRepoFile } from '../../test/lib/repo.js';
import { TUNNEL_LOCAL_TRANSITIONS, TUNNEL_RFC_TRANSITIONS } from './tunnel-fsm.js';
import { SESSION_TRANSITIONS } from './session-fsm.js';

/** Rows of the markdown table under the heading that starts with `heading`. */
function tableUnder(md: string, heading: string): string[][] {
  const lines = md.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`## ${heading}`));
  assert.ok(start >= 0, `heading ${heading}`);
  const rows: string[][] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i] ?? '';
    if (l.startsWith('## ')) break;
    if (!l.startsWith('|')) continue;
    const cells = l.split('|').slice(1, -1).map((c) => c.trim());
    if (cells[0] === 'From' || /^-+$/.test(cells[0] ?? '')) continue;
    rows.push(cells);
  }
  return rows;
}

const key = (from: string, event: string): string => `${from}|${event}`;

/** Compare a code table with a doc table cell by cell, keyed by (from, event). */
function compare(
  name: string,
  doc: string[][],
  code: readonly { from: string; event: string; actions: readonly string[]; to: string }[],
): void {
  const docMap = new Map<string, string[]>();
  for (const r of doc) {
    const k = key(r[0] ?? '', r[1] ?? '');
    assert.ok(!docMap.has(k), `${name}: doc row ${k} twice`);
    docMap.set(k, r);
  }
  assert.equal(code.length, doc.length, `${name}: row count`);
  for (const t of code) {
    const r = docMap.get(key(t.from, t.event));
    assert.ok(r !== undefined, `${name}: code row ${t.from} / ${t.event} missing from docs/l2tp-fsm.md`);
    const actions = r[2] === '—' ? [] : (r[2] ?? '').split(',').map((a) => a.trim());
    assert.deepEqual(actions, [...t.actions], `${name}: actions of ${t.from} / ${t.event}`);
    assert.equal(r[3], t.to, `${name}: new state of ${t.from} / ${t.event}`);
  }
}

const md = readRepoFile('docs/l2tp-fsm.md');

test('tunnel table matches the RFC 2661 §7.2.1 transcription', () => {
  compare('tunnel §7.2.1', tableUnder(md, 'Tunnel — RFC 2661'), TUNNEL_RFC_TRANSITIONS);
});

test('tunnel prose rules match the documented local table', () => {
  compare('tunnel local', tableUnder(md, 'Tunnel — rules'), TUNNEL_LOCAL_TRANSITIONS);
});

test('session table matches the §7.4/§7.5 transcription', () => {
  compare('session', tableUnder(md, 'Session —'), SESSION_TRANSITIONS);
});
