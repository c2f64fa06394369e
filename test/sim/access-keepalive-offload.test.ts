/**
 * LCP keepalive offload (issue 15), the JS side on the virtual clock: at ip-up an installed session's
 * keepalive goes to a table that takes it (the link's own echo timer stops: no Echo-Request from the
 * LNS for many intervals), stays in JS when the table refuses, and the table's dead report ends the
 * session exactly as the JS echo-timeout does (same reason, same CDN, same counters). The misses the
 * table counts are shown where the JS ones are (snapshot, stats). `Lcp.offload/resume` at exact instants.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type FastPathCounters, type FastPathSession, type FastPathTable, withdrawKeepalive } from '../../src/access/index.js';
import type { SessionId, TunnelId } from '../../src/wire/l2tp/types.js';
import { instant, seededRandom, type Instant } from '../../src/base/index.js';
import { DEFAULT_LCP, Lcp, type LcpKeepalive } from '../../src/ppp/lcp.js';
import { AccessNet, clientOf, simServerConfig } from './access-harness.js';

/** A table that takes (or refuses) keepalives and lets the test set what "native" counted. */
class KeepaliveTable implements FastPathTable {
  readonly installed = new Map<string, FastPathSession>();
  readonly keepalives = new Map<string, LcpKeepalive>();
  misses = 0;
  totals = { misses: 0, missing: 0 };
  constructor(private readonly takes: boolean) {}
  install(e: FastPathSession): boolean {
    this.installed.set(`${e.tunnel}/${e.session}`, e);
    return true;
  }
  remove(t: TunnelId, s: SessionId): FastPathCounters | undefined {
    this.keepalives.delete(`${t}/${s}`);
    return this.installed.delete(`${t}/${s}`) ? { rxPackets: 0, rxOctets: 0, txPackets: 0, txOctets: 0 } : undefined;
  }
  take(t: TunnelId, s: SessionId): FastPathCounters | undefined {
    return this.installed.has(`${t}/${s}`) ? { rxPackets: 0, rxOctets: 0, txPackets: 0, txOctets: 0 } : undefined;
  }
  keepalive(t: TunnelId, s: SessionId, k: LcpKeepalive): boolean {
    if (!this.takes || !this.installed.has(`${t}/${s}`)) return false;
    this.keepalives.set(`${t}/${s}`, k);
    return true;
  }
  keepaliveMisses(t: TunnelId, s: SessionId): number | undefined {
    return this.keepalives.has(`${t}/${s}`) ? this.misses : undefined;
  }
  keepaliveTotals(): { misses: number; missing: number } {
    return this.totals;
  }
}

/** RFC 2661 §3.1 data message carrying an LCP Echo-Request (code 9)? */
function isEchoRequest(d: Uint8Array): boolean {
  const flags = ((d[0] ?? 0) << 8) | (d[1] ?? 0);
  if ((flags & 0x8000) !== 0) return false;
  let off = 2 + ((flags & 0x4000) !== 0 ? 2 : 0) + 4 + ((flags & 0x0800) !== 0 ? 4 : 0);
  if ((flags & 0x0200) !== 0) off += 2 + (((d[off] ?? 0) << 8) | (d[off + 1] ?? 0));
  if (d[off] === 0xff && d[off + 1] === 0x03) off += 2;
  return d[off] === 0xc0 && d[off + 1] === 0x21 && d[off + 2] === 9;
}

function upWith(table: KeepaliveTable): { net: AccessNet; lnsEchoes: () => number; key: string } {
  const net = new AccessNet(simServerConfig({ fastPath: table }));
  let echoes = 0;
  net.filter = (from, data) => {
    if (from.address === net.lnsAddr.address && isEchoRequest(data)) echoes++;
    return true;
  };
  const t = net.openTunnel();
  const c = net.dial(t, { username: 'alice', password: 'wonderland' });
  net.advance(5000);
  assert.ok(clientOf(c, 'up')[0]?.address !== undefined, 'PPP came up');
  assert.equal(table.installed.size, 1);
  return { net, lnsEchoes: () => echoes, key: [...table.installed.keys()][0] ?? '' };
}

test('a table that takes the keepalive: the link programs it at ip-up and sends no Echo-Request itself', () => {
  const table = new KeepaliveTable(true);
  const { net, lnsEchoes, key } = upWith(table);
  const k = table.keepalives.get(key);
  assert.ok(k !== undefined, 'programmed at ip-up');
  assert.equal(k.interval, DEFAULT_LCP.echoInterval);
  assert.equal(k.failure, DEFAULT_LCP.echoFailure);
  assert.equal(k.adaptive, true);
  assert.equal(k.addressControl, true);
  assert.ok(k.magic !== 0, 'our negotiated Magic-Number');
  assert.ok(k.firstDue >= 0 && k.firstDue <= DEFAULT_LCP.echoInterval, `first due ${k.firstDue}`);
  assert.equal(k.misses, 0);
  net.advance(10 * DEFAULT_LCP.echoInterval);
  assert.equal(lnsEchoes(), 0, 'the JS automaton sent no Echo-Request in 10 intervals');
  assert.equal(net.server.stats().sessions, 1, 'the session stays up');
  assert.equal(net.server.stats().echoTimeouts, 0);
});

test('a table that refuses the keepalive: the JS keepalive runs as before', () => {
  const table = new KeepaliveTable(false);
  const { net, lnsEchoes } = upWith(table);
  net.advance(3 * DEFAULT_LCP.echoInterval);
  assert.ok(lnsEchoes() >= 2, `JS Echo-Requests: ${lnsEchoes()}`);
  assert.equal(net.server.stats().sessions, 1);
});

test('the table\'s dead report ends the session as the JS echo-timeout does', () => {
  const table = new KeepaliveTable(true);
  const { net, key } = upWith(table);
  const [tunnel, session] = key.split('/').map(Number) as [number, number];
  table.misses = 2;
  table.totals = { misses: 5, missing: 1 };
  assert.equal(net.server.snapshot()[0]?.echoMisses, 2, 'the table\'s misses are shown where the JS ones are');
  assert.equal(net.server.stats().echoMisses, 5);
  assert.equal(net.server.stats().echoMissing, 1);
  net.server.keepaliveDead(net.at, 4242, 1, 3);
  assert.equal(net.server.stats().sessions, 1, 'a report for an unknown session changes nothing');
  net.server.keepaliveDead(net.at, tunnel, session, 3);
  net.advance(10_000);
  const out = net.serverOf('logout')[0];
  assert.equal(out?.reason, 'echo-timeout');
  assert.equal(out?.by, 'local');
  assert.equal(net.server.stats().sessions, 0);
  assert.equal(net.server.stats().echoTimeouts, 1, 'counted as an echo-timeout');
  assert.equal(table.installed.size, 0, 'removed from the table');
});

test('Lcp.offload hands over where the schedule stands and stops the timer; resume starts a fresh one', () => {
  const sent: number[] = [];
  let now = 0;
  const lcp = new Lcp({ ...DEFAULT_LCP, role: 'authenticator', auth: [] }, seededRandom(3), { send: () => void sent.push(now), echoMissed: () => undefined, fatal: () => undefined });
  lcp.opened(instant(0));
  const due = lcp.pollAt() as Instant;
  assert.ok(due >= 15_000 && due <= 30_000, `first due ${due}`);
  now = 1000;
  const k = lcp.offload(instant(1000), false);
  assert.equal(k?.firstDue, due - 1000);
  assert.equal(k?.addressControl, false);
  assert.equal(lcp.pollAt(), undefined, 'no timer while offloaded');
  assert.equal(lcp.offload(instant(1000), false), undefined, 'offloaded once');
  lcp.handleTimeout(instant(100_000));
  assert.equal(sent.length, 0, 'no Echo-Request while offloaded');
  lcp.noteOffloadedMisses(2);
  assert.equal(lcp.misses, 2, 'the data plane\'s misses shown');
  now = 200_000;
  lcp.resume(instant(200_000));
  const again = lcp.pollAt() as Instant;
  assert.ok(again >= 227_000 && again <= 230_000, `fresh due ${again}`);
  assert.equal(lcp.misses, 0);
  lcp.handleTimeout(again);
  assert.equal(sent.length, 1, 'the JS keepalive runs again');
});

test('withdrawKeepalive resumes the link only when its keepalive was offloaded', () => {
  const calls: string[] = [];
  const link = { offloadEcho: () => undefined, resumeEcho: () => void calls.push('resume'), offloadedEcho: () => undefined };
  const s = { tunnel: 1 as TunnelId, session: 2 as SessionId, link, echoOffloaded: false };
  withdrawKeepalive(s, instant(5));
  assert.deepEqual(calls, []);
  s.echoOffloaded = true;
  withdrawKeepalive(s, instant(5));
  assert.deepEqual(calls, ['resume']);
  assert.equal(s.echoOffloaded, false);
});
