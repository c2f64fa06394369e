import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instant } from '../base/index.js';
import { DATA_HEADROOM, type Transmit } from '../l2tp/index.js';
import type { SessionId, TunnelId } from '../wire/l2tp/index.js';
import { l2tpLower } from './lower.js';
import type { AccessEngine } from './server-types.js';

test('l2tpLower: the L2TP constants (headroom, Address/Control, no MRU bound, no show info) without fields per session; frames and the end go to the engine', () => {
  const sent: { tunnel: number; session: number; frame: Uint8Array; headroomFree: boolean }[] = [];
  const closed: number[] = [];
  const bound: number[] = [];
  const datagram = {} as Transmit;
  const engine: AccessEngine = {
    sendData: (_now, tunnel, session, frame, headroomFree) => {
      sent.push({ tunnel, session, frame, headroomFree: headroomFree === true });
      return session === 7 ? datagram : undefined;
    },
    closeSession: (_now, _tunnel, session) => {
      closed.push(session);
    },
    bindSession: (_now, _tunnel, session) => {
      bound.push(session);
      return true;
    },
  };
  const tx: Transmit[] = [];
  const lower = l2tpLower(engine, 3 as TunnelId, 7 as SessionId, tx);
  const other = l2tpLower(engine, 3 as TunnelId, 8 as SessionId, tx);
  assert.equal(lower.headroom, DATA_HEADROOM);
  assert.equal(lower.addressControl, true);
  assert.equal(lower.maxMru, undefined);
  assert.equal(lower.info, undefined);
  assert.deepEqual(Object.keys(lower).filter((k) => ['headroom', 'addressControl', 'maxMru', 'info'].includes(k)), [], 'prototype getters, no own fields');
  const now = 0 as Instant;
  const frame = Uint8Array.of(0xc0, 0x21);
  assert.equal(lower.send(now, frame, true), true);
  assert.deepEqual(tx, [datagram]);
  assert.equal(other.send(now, frame, false), false, 'the engine refused: nothing queued');
  assert.equal(tx.length, 1);
  assert.deepEqual(sent.map((s) => [s.tunnel, s.session, s.headroomFree]), [[3, 7, true], [3, 8, false]]);
  lower.bind(now, { handleData: () => undefined });
  lower.close(now, { result: { result: 3 } });
  assert.deepEqual([bound, closed], [[7], [7]]);
});
