import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instant } from '../../base/index.js';
import type { TunnelInfo } from '../../l2tp/index.js';
import type { UdpEndpoint } from '../../io/index.js';
import type { ViewSources } from '../views.js';
import { daemonStatusSource } from './daemon-source.js';
import { countTurns } from '../../../test/lib/turns.js';

const TUNNELS = 200;
const PER_TUNNEL = 500;

/** 200 tunnels x 500 sessions behind an engine with per-tunnel access (tunnelIds / tunnelInfo), counting whole snapshots. */
function sources(): { src: ViewSources; fullSnapshots: () => number } {
  const tunnels = new Map<number, TunnelInfo>();
  for (let t = 1; t <= TUNNELS; t++) {
    const sessions = Array.from({ length: PER_TUNNEL }, (_, i) => ({
      localSessionId: i + 1, remoteSessionId: i + 1, state: 'established', direction: 'incoming', role: 'lns', callSerialNumber: i,
      rxPackets: 1, rxOctets: 10, txPackets: 2, txOctets: 20, establishedAt: 0,
    }));
    tunnels.set(t, {
      localTunnelId: t, remoteTunnelId: t, state: 'established', originator: false, peer: { address: '198.18.0.2', port: 1701, family: 4 },
      ns: 0, nr: 0, peerReceiveWindow: 4, establishedAt: 0, counters: {}, sessions,
    } as unknown as TunnelInfo);
  }
  let full = 0;
  const engine = { tunnels: () => (full++, [...tunnels.values()]), tunnelIds: () => [...tunnels.keys()], tunnelInfo: (id: number) => tunnels.get(id) };
  const endpoint = { engine, local: { address: '198.18.0.1', port: 1701 } } as unknown as UdpEndpoint;
  return { src: { endpoints: [endpoint], lacs: [], access: undefined, ipsec: undefined }, fullSnapshots: () => full };
}

test('status page over 100k sessions: the view is built tunnel by tunnel with event-loop turns between, totals and the page as before', async () => {
  const { src, fullSnapshots } = sources();
  const source = daemonStatusSource({ version: 't', startedAt: 0 as Instant, now: () => 5000 as Instant, sources: () => src });
  const loop = countTurns();
  const v = await source.view(3, 10);
  const turns = loop.stop();
  assert.equal(fullSnapshots(), 0, 'no snapshot of every tunnel in one turn');
  assert.ok(turns >= (TUNNELS * PER_TUNNEL) / 2000 / 2, `event-loop turns during the view: ${turns}`);
  assert.deepEqual(v.totals, { tunnels: TUNNELS, sessions: TUNNELS * PER_TUNNEL, ikeSas: 0, espSas: 0 });
  assert.deepEqual(v.tunnels.map((t) => t.localTunnelId), [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  assert.equal(v.tunnels[0]?.sessionCount, PER_TUNNEL);
  assert.deepEqual(v.sessions.map((s) => s.localSessionId), [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  assert.deepEqual(v.history.at(-1), { t: 5000, rxPackets: TUNNELS * PER_TUNNEL, rxOctets: TUNNELS * PER_TUNNEL * 10, txPackets: TUNNELS * PER_TUNNEL * 2, txOctets: TUNNELS * PER_TUNNEL * 20 });
});
