import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instant } from '../base/index.js';
import type { TunnelInfo } from '../l2tp/index.js';
import type { TunnelView } from './control-protocol.js';
import type { UdpEndpoint } from '../io/index.js';
import { handleControl, type ControlTarget } from './control-api.js';
import { RESPONSE_CHUNK, StreamedArray, writeResponse } from './control-socket.js';
import { statusView, tunnelViews, tunnelViewsStream, tunnelViewsYielding, VIEW_CHUNK, type StatusExtras, type ViewSources } from './views.js';
import { countTurns } from '../../test/lib/turns.js';
import { nextTurn } from './turn-slicer.js';

const SESSIONS = 100_000;
const PER_TUNNEL = 10;

/** An engine holding 10k tunnels of 10 established sessions each (views only read these fields). */
function sources(): ViewSources {
  const tunnels: TunnelInfo[] = [];
  for (let t = 0; t < SESSIONS / PER_TUNNEL; t++) {
    const sessions = Array.from({ length: PER_TUNNEL }, (_, i) => ({
      localSessionId: i + 1, remoteSessionId: i + 1, state: 'established', direction: 'incoming', role: 'lns', callSerialNumber: t * PER_TUNNEL + i,
      rxPackets: 0, rxOctets: 0, txPackets: 0, txOctets: 0, establishedAt: 0,
    }));
    tunnels.push({
      localTunnelId: t + 1, remoteTunnelId: t + 1, state: 'established', originator: false, peer: { address: '198.18.0.2', port: 1701, family: 4 },
      ns: 0, nr: 0, peerReceiveWindow: 4, establishedAt: 0, counters: {}, sessions,
    } as unknown as TunnelInfo);
  }
  const endpoint = { engine: { tunnels: () => tunnels }, local: { address: '198.18.0.1', port: 1701 } } as unknown as UdpEndpoint;
  return { endpoints: [endpoint], lacs: [], access: undefined, ipsec: undefined };
}

test('show sessions over 100k sessions yields to the event loop between chunks, same result as the one-shot view', async () => {
  const src = sources();
  const now = 1000 as Instant;
  const loop = countTurns();
  const target = { tunnelViews: () => tunnelViews(now, src), tunnelViewsYielding: () => tunnelViewsYielding(now, src) } as unknown as ControlTarget;
  const r = await handleControl(target, { cmd: 'show-sessions' });
  const turns = loop.stop();
  assert.ok(r.ok);
  assert.equal((r.result as unknown[]).length, SESSIONS);
  // Other work (here a setImmediate loop; in the daemon: datagrams, timers) ran while the views were built.
  const chunks = Math.floor((SESSIONS + SESSIONS / PER_TUNNEL) / VIEW_CHUNK);
  assert.ok(turns >= chunks / 2, `event-loop turns during the view: ${turns}, chunks ${chunks}`);
  assert.deepEqual(r.result, tunnelViews(now, src).flatMap((v) => v.sessions));
});

test('show status over 100k sessions yields to the event loop too, same tunnels as the one-shot status', async () => {
  const src = sources();
  const now = 1000 as Instant;
  const extras: StatusExtras = { version: 't', startedAt: 0 as Instant, listeners: [], timers: 0, requireIpsec: false };
  const loop = countTurns();
  const target = {
    status: () => statusView(now, src, extras),
    statusYielding: async () => statusView(now, src, extras, await tunnelViewsYielding(now, src)),
  } as unknown as ControlTarget;
  const r = await handleControl(target, { cmd: 'status' });
  const turns = loop.stop();
  assert.ok(r.ok);
  const v = r.result as ReturnType<typeof statusView>;
  assert.equal(v.tunnels.length, SESSIONS / PER_TUNNEL);
  const chunks = Math.floor((SESSIONS + SESSIONS / PER_TUNNEL) / VIEW_CHUNK);
  assert.ok(turns >= chunks / 2, `event-loop turns during the status: ${turns}, chunks ${chunks}`);
  assert.deepEqual(v.tunnels, statusView(now, src, extras).tunnels);
});

test('a show-sessions answer of 100k sessions is written in chunks with event-loop turns between, same bytes as JSON.stringify', async () => {
  const src = sources();
  const res = { ok: true as const, result: tunnelViews(1000 as Instant, src).flatMap((v) => v.sessions) };
  const parts: string[] = [];
  const conn = { destroyed: false, write: (s: string): boolean => (parts.push(s), true), once: () => conn };
  const loop = countTurns();
  await writeResponse(conn as unknown as Parameters<typeof writeResponse>[0], res);
  const turns = loop.stop();
  assert.equal(parts.join(''), `${JSON.stringify(res)}\n`);
  assert.ok(turns >= SESSIONS / RESPONSE_CHUNK / 2, `event-loop turns while writing: ${turns}`);
  const small = { ok: true as const, result: [1, 2] };
  parts.length = 0;
  await writeResponse(conn as unknown as Parameters<typeof writeResponse>[0], small);
  assert.deepEqual(parts, [`${JSON.stringify(small)}\n`]);
});

test('show sessions streams: each piece of views is written before the next is built (never 100k views held), same bytes as JSON.stringify', async () => {
  const src = sources();
  const now = 1000 as Instant;
  let produced = 0;
  let written = 0;
  let held = 0;
  async function* counted(): AsyncGenerator<TunnelView[]> {
    for await (const piece of tunnelViewsStream(now, src)) {
      produced += piece.reduce((n, t) => n + t.sessions.length, 0);
      held = Math.max(held, produced - written);
      yield piece;
    }
  }
  const target = { tunnelViews: () => tunnelViews(now, src), tunnelViewsStream: counted } as unknown as ControlTarget;
  const r = await handleControl(target, { cmd: 'show-sessions' });
  assert.ok(r.ok && r.result instanceof StreamedArray, 'a streamed answer');
  const parts: string[] = [];
  const conn = {
    destroyed: false,
    write: (x: string): boolean => {
      parts.push(x);
      written += x.split('"localSessionId"').length - 1;
      return true;
    },
    once: () => conn,
  };
  const loop = countTurns();
  await writeResponse(conn as unknown as Parameters<typeof writeResponse>[0], r);
  const turns = loop.stop();
  assert.equal(parts.join(''), `${JSON.stringify({ ok: true, result: tunnelViews(now, src).flatMap((v) => v.sessions) })}\n`);
  assert.equal(written, SESSIONS);
  assert.ok(held <= VIEW_CHUNK + PER_TUNNEL, `session views held at once: ${held} (a slice is ${VIEW_CHUNK})`);
  assert.ok(turns >= SESSIONS / VIEW_CHUNK / 2, `event-loop turns while streaming: ${turns}`);
  // An error before the first piece is an error answer; the collected array equals the one-shot view.
  parts.length = 0;
  const failing = new StreamedArray(async function* () {
    await nextTurn();
    if (parts.length === 0) throw new Error('no views');
    yield [];
  });
  await writeResponse(conn as unknown as Parameters<typeof writeResponse>[0], { ok: true, result: failing });
  assert.deepEqual(parts, [`${JSON.stringify({ ok: false, error: 'no views' })}\n`]);
  assert.deepEqual(await new StreamedArray(() => tunnelViewsStream(now, src)).collect(), tunnelViews(now, src));
});
