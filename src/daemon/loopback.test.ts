/**
 * Loopback tests with the real engine: an LNS daemon and a LAC daemon in-process on 127.0.0.1
 * (random ports), driven and observed only through the control socket and l2tpctl.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daemonConfig as config } from '../../test/lib/daemon-config.js';
import { millis } from '../base/time.js';
import { Daemon } from './daemon.js';
import { createL2tpEngine } from './engine-factory.js';
import { createLogger } from './logger.js';
import { runL2tpctl } from './l2tpctl-cli.js';
import type { TunnelView } from './control-protocol.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


/** Short timers so that StopCCN linger (a full retransmission cycle) ends in ~1.4 s. */
const FAST = `retransmit_initial = 0.2
retransmit_cap = 0.4
retries_established = 3
retries_not_established = 3
`;

/** An LNS that only carries L2TP: PPP and IPsec are on by default and must be turned off explicitly. */
const PLAIN_LNS = '[ppp]\nenabled = false\n[ipsec]\nenabled = false\n';

/** Run l2tpctl in-process; returns exit code and captured output. */
async function ctl(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runL2tpctl(argv, {
    out: (t) => (out += `${t}\n`),
    err: (t) => (err += `${t}\n`),
  });
  return { code, out, err };
}

async function showTunnels(sock: string): Promise<TunnelView[]> {
  const r = await ctl('--socket', sock, 'show', 'tunnels', '--json');
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as TunnelView[];
}

/** Poll until `pred` holds (or fail after `ms`). */
async function until<T>(what: string, ms: number, probe: () => Promise<T>, pred: (v: T) => boolean): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await probe();
    if (pred(last)) return last;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

const established = (ts: TunnelView[]): boolean =>
  ts.length === 1 && ts[0]?.state === 'established' && ts[0].sessions.length === 1 && ts[0].sessions[0]?.state === 'established';

interface Pair {
  lns: Daemon;
  lac: Daemon;
  lnsSock: string;
  lacSock: string;
  lnsPort: number;
  dir: string;
  logs: string[];
  stop(): Promise<void>;
}

/** Start an LNS daemon and a LAC daemon pointing at it; wait until tunnel + session are established. */
async function startPair(lacExtra = '', redial = false): Promise<Pair> {
  const dir = await mkdtemp(join(tmpdir(), 'l2tpd-test-'));
  const logs: string[] = [];
  const log = createLogger({ level: 'info', format: 'json', sink: { write: (l) => logs.push(l) } });
  const lnsSock = join(dir, 'lns.sock');
  const lacSock = join(dir, 'lac.sock');
  const lns = await Daemon.start({
    config: config(`[l2tp]\nhost_name = "lns-test"\n${FAST}\n[[listen]]\naddress = "127.0.0.1"\nport = 0\n${PLAIN_LNS}`),
    log: log.child({ d: 'lns' }),
    createEngine: createL2tpEngine,
    controlSocket: lnsSock,
  });
  const lnsPort = lns.listenerAddresses[0]?.port ?? 0;
  const lac = await Daemon.start({
    config: config(
      `[l2tp]\nhost_name = "lac-test"\n${FAST}${lacExtra}\n[[lac]]\nname = "t1"\nlns = "127.0.0.1"\nport = ${lnsPort}\nlocal_address = "127.0.0.1"\nsessions = 1\nredial = ${redial}\n`,
    ),
    log: log.child({ d: 'lac' }),
    createEngine: createL2tpEngine,
    controlSocket: lacSock,
    redialInitial: millis(200),
  });
  const stop = async (): Promise<void> => {
    await Promise.all([lac.shutdown(500), lns.shutdown(500)]);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await until('LAC tunnel+session established', 5000, () => showTunnels(lacSock), established);
    await until('LNS tunnel+session established', 5000, () => showTunnels(lnsSock), established);
  } catch (e) {
    await stop();
    throw e;
  }
  return { lns, lac, lnsSock, lacSock, lnsPort, dir, logs, stop };
}

test('LAC <-> LNS over loopback: established, shown, cleared on both ends', { timeout: 15000 }, async () => {
  const p = await startPair();
  try {
    const [lacT] = await showTunnels(p.lacSock);
    const [lnsT] = await showTunnels(p.lnsSock);
    assert.ok(lacT !== undefined && lnsT !== undefined);
    assert.equal(lacT.role, 'lac');
    assert.equal(lacT.lac, 't1');
    assert.equal(lnsT.role, 'lns');
    assert.equal(lacT.remoteTunnelId, lnsT.localTunnelId);
    assert.equal(lnsT.remoteTunnelId, lacT.localTunnelId);
    assert.equal(lacT.remoteHostName, 'lns-test');
    assert.equal(lnsT.remoteHostName, 'lac-test');
    assert.equal(lacT.sessions[0]?.remoteSessionId, lnsT.sessions[0]?.localSessionId);

    // Human outputs answer too.
    const status = await ctl('--socket', p.lnsSock, 'show', 'status');
    assert.equal(status.code, 0);
    assert.match(status.out, new RegExp(`TUNNEL\\[${lnsT.localTunnelId}\\]:`));
    assert.match(status.out, /Remote host name: +lac-test/);
    const sessions = await ctl('--socket', p.lacSock, 'show', 'sessions');
    assert.match(sessions.out, /established/);

    // The Yamaha-worded logs were emitted.
    const msgs = p.logs.map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.ok(msgs.includes(`TUNNEL[${lnsT.localTunnelId}] connected from 127.0.0.1`));
    assert.ok(msgs.includes(`tunnel ${lnsT.localTunnelId} established`));
    assert.ok(msgs.includes(`session ${lacT.sessions[0]?.localSessionId} established`));

    // Errors: unknown tunnel -> 1, no daemon -> 2.
    assert.equal((await ctl('--socket', p.lnsSock, 'clear', 'tunnel', String((lnsT.localTunnelId + 1) % 65536))).code, 1);
    const nosock = await ctl('--socket', join(p.dir, 'none.sock'), 'show', 'tunnels');
    assert.equal(nosock.code, 2);
    assert.match(nosock.err, /none\.sock/);

    // Clear the session (CDN) by its unique id on the LNS; the tunnel stays up on both ends.
    const lnsSession = lnsT.sessions[0]?.localSessionId ?? -1;
    const cs = await ctl('--socket', p.lnsSock, 'clear', 'session', String(lnsSession));
    assert.equal(cs.code, 0, cs.err);
    assert.equal(cs.out, `cleared session ${lnsT.localTunnelId}/${lnsSession}\n`);
    const noSessions = (ts: TunnelView[]): boolean => ts.length === 1 && ts[0]?.state === 'established' && ts[0].sessions.every((x) => x.state === 'closed');
    await until('LAC drops the session', 3000, () => showTunnels(p.lacSock), noSessions);
    await until('LNS drops the session', 3000, () => showTunnels(p.lnsSock), noSessions);
    assert.equal((await ctl('--socket', p.lnsSock, 'clear', 'session', `${lnsT.localTunnelId}/${lnsSession}`)).code, 1);

    // Clear from the LNS side: StopCCN; both ends drop the tunnel.
    const cleared = await ctl('--socket', p.lnsSock, 'clear', 'tunnel', String(lnsT.localTunnelId));
    assert.equal(cleared.code, 0, cleared.err);
    const gone = (id: number) => (ts: TunnelView[]) => !ts.some((t) => t.localTunnelId === id && t.state !== 'closing' && t.state !== 'closed');
    await until('LAC drops the tunnel', 3000, () => showTunnels(p.lacSock), gone(lacT.localTunnelId));
    await until('LNS drops the tunnel', 3000, () => showTunnels(p.lnsSock), gone(lnsT.localTunnelId));
    // After the StopCCN linger (one short retransmission cycle) both are gone entirely.
    await until('both forget it', 5000, async () => [...(await showTunnels(p.lacSock)), ...(await showTunnels(p.lnsSock))], (ts) => ts.length === 0);
    const msgs2 = p.logs.map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.ok(msgs2.includes(`disconnect tunnel ${lacT.localTunnelId} complete`));
    assert.ok(msgs2.includes(`disconnect session ${lacT.sessions[0]?.localSessionId} complete`));
  } finally {
    await p.stop();
  }
});

/** Malformed datagrams of every kind, aimed at a live tunnel's ids where it matters. */
function malformed(tunnelId: number, sessionId: number, seed: number): Buffer[] {
  let s = seed >>> 0 || 1;
  const rnd = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
  const out: Buffer[] = [];
  // Control header (T L S, ver 2) with a valid shape, used as a base for bad lengths.
  const ctrl = (len: number, tid: number, total: number): Buffer => {
    const b = Buffer.alloc(total);
    b.writeUInt16BE(0xc802, 0);
    b.writeUInt16BE(len, 2);
    b.writeUInt16BE(tid, 4);
    return b;
  };
  for (let i = 0; i < 12; i++) out.push(ctrl(12, tunnelId, 12).subarray(0, i)); // every truncated prefix
  out.push(ctrl(0xffff, tunnelId, 12)); // Length beyond the datagram
  out.push(ctrl(4, tunnelId, 12)); // Length shorter than the header
  out.push(ctrl(13, tunnelId, 13)); // a 1-byte AVP fragment
  const badAvp = ctrl(20, 0, 20);
  badAvp.writeUInt16BE(0x8000 | 3, 12); // M bit, AVP length 3 (< 6)
  out.push(badAvp);
  const hugeAvp = ctrl(20, 0, 20);
  hugeAvp.writeUInt16BE(0x8000 | 0x3ff, 12); // AVP length past the end
  out.push(hugeAvp);
  const v3 = ctrl(12, tunnelId, 12);
  v3.writeUInt16BE(0xc803, 0); // version 3
  out.push(v3);
  const noL = ctrl(12, tunnelId, 12);
  noL.writeUInt16BE(0x8802, 0); // control without the L bit
  out.push(noL);
  // Data messages for the live session with huge / past-the-end offsets and bad lengths.
  for (const off of [0xffff, 0x8000, 1000, 65]) {
    const d = Buffer.alloc(16);
    d.writeUInt16BE(0x0202, 0); // O bit, ver 2
    d.writeUInt16BE(tunnelId, 2);
    d.writeUInt16BE(sessionId, 4);
    d.writeUInt16BE(off, 6);
    out.push(d);
  }
  const dl = Buffer.alloc(10);
  dl.writeUInt16BE(0x4002, 0); // L bit
  dl.writeUInt16BE(0xfff0, 2);
  dl.writeUInt16BE(tunnelId, 4);
  dl.writeUInt16BE(sessionId, 6);
  out.push(dl);
  // Random bytes, with and without a plausible first word.
  for (let i = 0; i < 300; i++) out.push(bytes(1 + Math.floor(rnd() * 200)));
  for (let i = 0; i < 300; i++) {
    const b = bytes(6 + Math.floor(rnd() * 60));
    b.writeUInt16BE(rnd() < 0.5 ? 0xc802 : 0x0002 | (Math.floor(rnd() * 16) << 12), 0);
    if (rnd() < 0.5) b.writeUInt16BE(0, 4); // tunnel 0 (SCCRQ path) for control
    out.push(b);
  }
  return out;
}

test('a burst of malformed datagrams does not hurt the daemon or the tunnel', { timeout: 15000 }, async () => {
  const p = await startPair('hello_interval = 0.5\n');
  const sender = createSocket('udp4');
  try {
    const [lnsT] = await showTunnels(p.lnsSock);
    const [lacT] = await showTunnels(p.lacSock);
    assert.ok(lnsT !== undefined && lacT !== undefined);
    await new Promise<void>((r) => sender.bind(0, '127.0.0.1', r));
    const lacPort = lnsT.remotePort;
    let sent = 0;
    for (let round = 0; round < 3; round++) {
      for (const d of malformed(lnsT.localTunnelId, lnsT.sessions[0]?.localSessionId ?? 0, 1 + round)) {
        sender.send(d, p.lnsPort, '127.0.0.1');
        sent++;
      }
      for (const d of malformed(lacT.localTunnelId, lacT.sessions[0]?.localSessionId ?? 0, 100 + round)) {
        sender.send(d, lacPort, '127.0.0.1');
        sent++;
      }
      await sleep(50);
    }
    assert.ok(sent > 1000);
    // Both daemons still answer, the tunnel and session are still up.
    assert.ok(established(await showTunnels(p.lnsSock)));
    assert.ok(established(await showTunnels(p.lacSock)));
    // HELLOs still flow and are acked: the LAC's control counters move on.
    const before = (await showTunnels(p.lacSock))[0];
    assert.ok(before !== undefined);
    await until(
      'HELLO/ack exchange after the burst',
      5000,
      async () => (await showTunnels(p.lacSock))[0],
      (t) => t !== undefined && t.state === 'established' && t.counters.controlTx > before.counters.controlTx && t.nr + t.counters.zlbRx > before.nr + before.counters.zlbRx,
    );
    assert.ok(established(await showTunnels(p.lnsSock)));
    const metrics = await p.lns.metrics.text();
    const bad = /l2tp_bad_datagrams_total (\d+)/.exec(metrics);
    assert.ok(bad !== null && Number(bad[1]) > 100, `bad datagrams counted: ${bad?.[1]}`);
    const status = await ctl('--socket', p.lnsSock, 'show', 'status');
    assert.equal(status.code, 0);
  } finally {
    sender.close();
    await p.stop();
  }
});

test('a LAC with redial = true dials again after the LNS clears its tunnel; LNS shutdown sends StopCCN', { timeout: 15000 }, async () => {
  const p = await startPair('', true);
  try {
    const [first] = await showTunnels(p.lacSock);
    const [lnsT] = await showTunnels(p.lnsSock);
    assert.ok(first !== undefined && lnsT !== undefined);
    assert.equal((await ctl('--socket', p.lnsSock, 'clear', 'tunnel', String(lnsT.localTunnelId))).code, 0);
    // The old tunnel lingers (closing) for one short retransmission cycle, then the LAC redials.
    const again = await until(
      'a new established tunnel from the LAC',
      8000,
      () => showTunnels(p.lacSock),
      (ts) => ts.some((t) => t.localTunnelId !== first.localTunnelId && t.state === 'established' && t.sessions.some((s) => s.state === 'established')),
    );
    assert.ok(again.length >= 1);
    const st = await ctl('--socket', p.lacSock, 'show', 'status', '--json');
    const lacs = (JSON.parse(st.out) as { lacs: { name: string; state: string }[] }).lacs;
    assert.deepEqual(lacs.map((l) => [l.name, l.state]), [['t1', 'established']]);

    // LNS shutdown: StopCCN reaches the LAC, and the LNS does not wait the full 2 s for the ack.
    const t0 = Date.now();
    await p.lns.shutdown(2000);
    assert.ok(Date.now() - t0 < 1500, `shutdown took ${Date.now() - t0} ms`);
    await until('LAC sees the StopCCN', 3000, () => showTunnels(p.lacSock), (ts) => !ts.some((t) => t.state === 'established'));
    const msgs = p.logs.map((l) => JSON.parse(l) as { msg: string; d?: string; resultMessage?: string });
    assert.ok(msgs.some((m) => m.d === 'lac' && m.msg.startsWith('disconnecting tunnel') && m.resultMessage === 'administrative shutdown'));
  } finally {
    await p.stop();
  }
});

test('l2tpctl hangup keeps an always-on LAC down; dial brings it back; unknown names are errors', { timeout: 15000 }, async () => {
  const p = await startPair('', true);
  try {
    const [first] = await showTunnels(p.lacSock);
    assert.ok(first !== undefined);
    const lacState = async (): Promise<string | undefined> => {
      const r = await ctl('--socket', p.lacSock, 'show', 'status', '--json');
      return (JSON.parse(r.out) as { lacs: { state: string }[] }).lacs[0]?.state;
    };
    const h = await ctl('--socket', p.lacSock, 'hangup', 't1');
    assert.equal(h.code, 0, h.err);
    assert.equal(h.out, 'hung up LAC t1 (was established, now stopped)\n');
    await until('the LNS sees the StopCCN', 3000, () => showTunnels(p.lnsSock), (ts) => !ts.some((t) => t.state === 'established'));
    // Longer than the redial backoff (200 ms) and the StopCCN linger (1.4 s): still down.
    await sleep(1800);
    assert.equal(await lacState(), 'stopped');
    assert.ok(!(await showTunnels(p.lacSock)).some((t) => t.state === 'established'));
    const msgs = p.logs.map((l) => JSON.parse(l) as { msg: string; d?: string; resultMessage?: string });
    assert.ok(msgs.some((m) => m.d === 'lns' && m.msg.startsWith('disconnecting tunnel') && m.resultMessage === 'administrative hangup'));

    const d = await ctl('--socket', p.lacSock, 'dial', 't1');
    assert.equal(d.code, 0, d.err);
    assert.match(d.out, /^dialing LAC t1 \(was stopped, now connecting\)\n$/);
    await until('a new tunnel after dial', 5000, () => showTunnels(p.lacSock), (ts) => ts.some((t) => t.localTunnelId !== first.localTunnelId && t.state === 'established' && t.sessions.some((s) => s.state === 'established')));
    assert.equal(await lacState(), 'established');

    const bad = await ctl('--socket', p.lacSock, 'dial', 'nope');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /no such LAC "nope" \(configured: t1\)/);
    const none = await ctl('--socket', p.lnsSock, 'hangup', 't1');
    assert.equal(none.code, 1);
    assert.match(none.err, /no \[\[lac\]\] configured/);
  } finally {
    await p.stop();
  }
});

test('redial = false: after the LNS clears the tunnel the LAC stays down until l2tpctl dial redials it', { timeout: 15000 }, async () => {
  const p = await startPair('', false);
  try {
    const [first] = await showTunnels(p.lacSock);
    const [lnsT] = await showTunnels(p.lnsSock);
    assert.ok(first !== undefined && lnsT !== undefined);
    const lacState = async (): Promise<string | undefined> => {
      const r = await ctl('--socket', p.lacSock, 'show', 'status', '--json');
      return (JSON.parse(r.out) as { lacs: { state: string }[] }).lacs[0]?.state;
    };
    assert.equal((await ctl('--socket', p.lnsSock, 'clear', 'tunnel', String(lnsT.localTunnelId))).code, 0);
    await until('the LAC sees the StopCCN', 3000, () => showTunnels(p.lacSock), (ts) => !ts.some((t) => t.state === 'established'));
    // The cleared tunnel lingers one (short) retransmission cycle, then the dialer stops for good.
    await until('the dialer stops', 5000, lacState, (st) => st === 'stopped');
    await sleep(600); // longer than the redial backoff (200 ms)
    assert.equal(await lacState(), 'stopped', 'no redial without redial = true');
    assert.ok(!(await showTunnels(p.lacSock)).some((t) => t.state === 'established'));
    const d = await ctl('--socket', p.lacSock, 'dial', 't1');
    assert.equal(d.code, 0, d.err);
    assert.match(d.out, /^dialing LAC t1 \(was stopped, now connecting\)\n$/);
    await until('a new tunnel after dial', 5000, () => showTunnels(p.lacSock), (ts) => ts.some((t) => t.localTunnelId !== first.localTunnelId && t.state === 'established' && t.sessions.some((s) => s.state === 'established')));
    assert.equal(await lacState(), 'established');
  } finally {
    await p.stop();
  }
});

test('a LAC whose LNS does not answer gives up after the retries and redials with backoff', { timeout: 15000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'l2tpd-test-'));
  const logs: string[] = [];
  const log = createLogger({ level: 'info', format: 'json', sink: { write: (l) => logs.push(l) } });
  // A bound socket that never answers stands in for a dead LNS.
  const dead = createSocket('udp4');
  await new Promise<void>((r) => dead.bind(0, '127.0.0.1', r));
  let sccrqs = 0;
  dead.on('message', () => sccrqs++);
  const sock = join(dir, 'lac.sock');
  const lac = await Daemon.start({
    config: config(
      `[l2tp]\nretransmit_initial = 0.1\nretransmit_cap = 0.1\nretries_not_established = 2\n[[lac]]\nname = "dead"\nlns = "127.0.0.1"\nport = ${dead.address().port}\n`,
    ),
    log,
    createEngine: createL2tpEngine,
    controlSocket: sock,
    redialInitial: millis(100),
  });
  try {
    const lacState = async (): Promise<string | undefined> => {
      const r = await ctl('--socket', sock, 'show', 'status', '--json');
      return (JSON.parse(r.out) as { lacs: { state: string }[] }).lacs[0]?.state;
    };
    await until('a redial is scheduled', 5000, lacState, (st) => st === 'waiting-redial');
    await until('the second attempt sends SCCRQs again', 5000, () => Promise.resolve(sccrqs), (n) => n >= 5);
    const msgs = logs.map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.ok(msgs.some((m) => /^state timer expired tunnel \d+ \(state wait-ctl-reply, retries 2\)$/.test(m)), msgs.join('\n'));
    assert.ok(msgs.some((m) => m.startsWith('LAC dead: redial in')));
  } finally {
    await lac.shutdown(200);
    dead.close();
    await rm(dir, { recursive: true, force: true });
  }
});
