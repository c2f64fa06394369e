/** `show destinations` with the tunnel selector's state, its text table, and the selection metrics. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seconds, type Instant } from '../base/index.js';
import { TunnelSelector } from '../access/index.js';
import type { SelectionDestinationView, TunnelView } from './control-protocol.js';
import { ZERO_DATA } from './data-ledger.js';
import { handleOps } from './control-ops-api.js';
import { createLogger } from './logger.js';
import { DaemonMetrics } from './metrics.js';
import { formatDestinations } from './ops-format.js';
import { withSelection } from './ops-views.js';

const LAC = '192.0.2.1';
const tunnel = (id: number, peer: string): TunnelView => ({
  localTunnelId: id, remoteTunnelId: id + 1000, state: 'established', role: 'lac', localAddress: LAC, localPort: 40000, remoteAddress: peer, remotePort: 1701, ns: 1, nr: 2, peerReceiveWindow: 4,
  counters: { controlRx: 3, controlTx: 4, retransmits: 0, duplicates: 0, outOfWindow: 0, zlbTx: 0, zlbRx: 0, unknownAvpsIgnored: 0, dataRxPackets: 0, dataRxOctets: 0, dataTxPackets: 0, dataTxOctets: 0, dataDropped: 0 },
  data: ZERO_DATA, sessions: [],
});

const dest = (address: string, o: Partial<SelectionDestinationView> = {}): SelectionDestinationView => ({ address, port: 1701, state: 'alive', sessions: 0, tunnels: 0, failures: 0, profiles: [{ source: 'isp', preference: 1, level: 0, weight: 1 }], ...o });

test('selector destinations: every configured one (not yet used too) with its profiles, levels and weights; a failure kept with its cause', () => {
  const made = TunnelSelector.create({
    domainMap: { entries: [{ realm: 'isp.example', target: { kind: 'tunnel', profile: 'isp' } }, { realm: 'b.example', target: { kind: 'tunnel', profile: 'b' } }] },
    profiles: {
      isp: { destinations: [{ address: '198.51.100.1', preference: 10 }, { address: '198.51.100.2', preference: 20, maxSessions: 50 }], deadTime: seconds(60) },
      b: { destinations: [{ address: '198.51.100.2', preference: 1 }] },
    },
  });
  assert.ok(made.ok);
  const s = made.value;
  const t0 = 1_000 as Instant;
  const before = s.destinations(t0);
  assert.deepEqual(before.map((d) => [d.address, d.state, d.sessions, d.profiles.map((p) => `${p.source}:${p.preference}/${p.level}/${p.weight}`).join(',')]), [
    ['198.51.100.1', 'alive', 0, 'isp:10/0/1'],
    ['198.51.100.2', 'alive', 0, 'isp:20/1/50,b:1/0/1'],
  ]);
  const sel = s.select(t0, { username: 'u@isp.example' });
  assert.ok(sel.kind === 'tunnel');
  const moved = s.tunnelFailed(t0, sel.choice.tunnel, 'stopccn');
  assert.equal(moved[0]?.next?.destination.address, '198.51.100.2');
  const after = s.destinations((t0 + 5_000) as Instant);
  assert.deepEqual(after[0], { address: '198.51.100.1', port: 1701, state: 'dead', deadUntil: t0 + 60_000, sessions: 0, tunnels: 0, failures: 1, lastFailure: { cause: 'stopccn', at: t0 }, profiles: [{ source: 'isp', preference: 10, level: 0, weight: 1 }] });
  assert.equal(after[1]?.sessions, 1);
  assert.equal(after[1]?.tunnels, 1);
  assert.equal(s.destinations((t0 + 60_000) as Instant)[0]?.state, 'alive', 'dead time over');
});

test('show destinations: live peers get their selection state; a destination without a tunnel gets its own row; filters apply', () => {
  const rows = [{ localAddress: LAC, remoteAddress: '198.51.100.2', remotePorts: [1701], tunnels: 1, tunnelsEstablished: 1, sessions: 1, sessionsEstablished: 1, remoteHostNames: [], data: ZERO_DATA, controlRx: 3, controlTx: 4 }];
  const sel = { localAddress: LAC, destinations: [dest('198.51.100.1', { state: 'dead', deadForSeconds: 55, failures: 1, lastFailure: { cause: 'stopccn', secondsAgo: 5 } }), dest('198.51.100.2', { sessions: 1, tunnels: 1 })] };
  const all = withSelection(rows, sel, undefined);
  assert.deepEqual(all.map((r) => [r.remoteAddress, r.tunnels, r.selection?.state]), [['198.51.100.2', 1, 'alive'], ['198.51.100.1', 0, 'dead']]);
  assert.deepEqual(withSelection([], sel, { peerGateway: '198.51.100.1' }).map((r) => r.remoteAddress), ['198.51.100.1']);
  assert.deepEqual(withSelection([], sel, { user: 'alice' }), [], 'a user filter keeps only rows with tunnels');
  assert.deepEqual(withSelection([], sel, { localGateway: '192.0.2.99' }), []);
  assert.deepEqual(withSelection(rows, undefined, undefined), rows, 'no [tunnel_select]: unchanged');
  const text = formatDestinations(all);
  assert.match(text, /Tunnel selection:/);
  assert.match(text, /198\.51\.100\.1:1701 +dead +55s +isp:1\/0\/1 +0 +0 +1 +stopccn 5s ago/);
  assert.match(text, /198\.51\.100\.2:1701 +alive +- +isp:1\/0\/1 +1 +1 +0 +-/);
});

test('handleOps show-destinations merges the selection; metrics count outcomes, failovers, dead marks and per-destination state', async () => {
  const log = createLogger({ level: 'error', format: 'json', sink: { write: () => undefined } });
  const sel = { localAddress: LAC, destinations: [dest('198.51.100.1', { state: 'dead', deadForSeconds: 10 }), dest('198.51.100.2', { sessions: 2, tunnels: 1 })] };
  const r = await handleOps({ log, tunnels: () => [], tunnelViews: () => [tunnel(5, '198.51.100.2')], selection: () => sel }, { cmd: 'show-destinations' });
  assert.ok(r.ok);
  const shown = r.result as { remoteAddress: string; selection?: SelectionDestinationView }[];
  assert.deepEqual(shown.map((x) => `${x.remoteAddress} ${x.selection?.state ?? '-'}`), ['198.51.100.2 alive', '198.51.100.1 dead']);
  const m = new DaemonMetrics(() => undefined);
  m.addSelection(() => ({ counters: { outcomes: { tunnel: 3, local: 1, 'domain-rejected': 2 }, failovers: { stopccn: 1 }, deadMarks: { stopccn: 1, 'sccrq-timeout': 2 } }, destinations: sel.destinations }));
  const text = await m.text();
  assert.match(text, /^l2tp_lac_selections_total\{outcome="tunnel"\} 3$/m);
  assert.match(text, /^l2tp_lac_selections_total\{outcome="domain-rejected"\} 2$/m);
  assert.match(text, /^l2tp_lac_failovers_total\{cause="stopccn"\} 1$/m);
  assert.match(text, /^l2tp_lac_destination_dead_total\{cause="sccrq-timeout"\} 2$/m);
  assert.match(text, /^l2tp_lac_destination_up\{destination="198.51.100.1:1701"\} 0$/m);
  assert.match(text, /^l2tp_lac_destination_sessions\{destination="198.51.100.2:1701"\} 2$/m);
});
