/**
 * `[l2tp.admission]`: the SCCRQ flood limits of every listener (src/l2tp AdmissionLimits) — the
 * defaults are the engine's, given keys override them, unknown keys and out-of-range values are
 * refused, and `--print-config` writes the table back so that it parses to the same values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_ADMISSION } from '../../l2tp/index.js';
import { parseConfig, printConfig } from '../config.js';

const BASE = '[[listen]]\naddress = "127.0.0.1"\n[ipsec]\nenabled = false\n';

test('[l2tp.admission]: defaults from the engine, keys override, print-config round-trips', () => {
  const d = parseConfig(BASE);
  assert.ok(d.ok);
  assert.deepStrictEqual(d.value.admission, DEFAULT_ADMISSION);
  const r = parseConfig(`[l2tp.admission]\nmax_half_open = 50\nmax_half_open_per_peer = 4\nsccrq_rate = 10\nsccrq_burst = 20\n${BASE}`);
  assert.ok(r.ok, JSON.stringify(r.ok ? '' : r.error));
  const want = { maxHalfOpen: 50, maxHalfOpenPerPeer: 4, sccrqRate: { perSecond: 10, burst: 20 } };
  assert.deepStrictEqual(r.value.admission, want);
  const again = parseConfig(printConfig(r.value));
  assert.ok(again.ok, JSON.stringify(again.ok ? '' : again.error));
  assert.deepStrictEqual(again.value.admission, want);
});

test('[l2tp.admission]: unknown keys and values out of range are refused with their key', () => {
  const r = parseConfig(`[l2tp.admission]\nmax_half_open = 0\nsccrq_rat = 5\n${BASE}`);
  assert.ok(!r.ok);
  assert.deepStrictEqual(r.error.map((e) => e.key).sort(), ['l2tp.admission.max_half_open', 'l2tp.admission.sccrq_rat']);
});
