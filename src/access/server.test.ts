import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../base/random.js';
import { instant, millis } from '../base/time.js';
import { parseUsersFile } from '../aaa/index.js';
import { sessionId, tunnelId, type SessionId, type TunnelId } from '../wire/l2tp/types.js';
import type { SessionDataSink, Transmit } from '../l2tp/api.js';
import { AccessServer, UserTable, type AccessEngine } from './index.js';
import { parseIpv4, parseIpv4Prefix } from '../base/index.js';

/** An engine stand-in that records the PPP frames the server hands to L2TP, and the data sinks it binds. */
class RecordingEngine implements AccessEngine {
  readonly frames: { at: number; frame: Uint8Array }[] = [];
  readonly sinks = new Map<string, SessionDataSink>();
  sendData(now: number, _t: TunnelId, _s: SessionId, frame: Uint8Array): Transmit {
    this.frames.push({ at: now, frame: frame.slice() });
    return { to: { address: '198.18.0.1', port: 1701, family: 4 }, data: frame };
  }
  closeSession(): void {}
  bindSession(_now: number, t: TunnelId, s: SessionId, sink: SessionDataSink | undefined): boolean {
    if (sink === undefined) this.sinks.delete(`${t}/${s}`);
    else this.sinks.set(`${t}/${s}`, sink);
    return true;
  }
  /** A data message of session `t/s` arriving: its frame goes to the bound sink (the fast path). */
  deliver(now: number, t: TunnelId, s: SessionId, frame: Uint8Array): void {
    const sink = this.sinks.get(`${t}/${s}`);
    assert.ok(sink, `a data sink is bound for ${t}/${s}`);
    sink.handleData(instant(now), frame);
  }
}

function server(engine: RecordingEngine): AccessServer {
  const users = parseUsersFile('alice wonderland');
  const pool = parseIpv4Prefix('100.64.0.0/24');
  assert.ok(users.ok && pool.ok);
  return new AccessServer(engine, { random: seededRandom(5), users: new UserTable(users.value), ipv4Pool: pool.value, localAddress: parseIpv4('100.64.0.1') ?? 0 });
}

const T = tunnelId(7);
const S = sessionId(9);
const established = { type: 'session-established', tunnel: T, session: S, remoteSession: sessionId(3) } as const;
/** LCP Configure-Request (id 1) with only a Magic-Number, as pppd sends first: ff 03 c0 21 01 01 00 0a 05 06 ... */
const clientConfReq = Uint8Array.from([0xff, 0x03, 0xc0, 0x21, 0x01, 0x01, 0x00, 0x0a, 0x05, 0x06, 0x12, 0x34, 0x56, 0x78]);
/** LCP code of a recorded frame (after ff 03 c0 21). */
const lcpCode = (f: Uint8Array): number | undefined => (f[2] === 0xc0 && f[3] === 0x21 ? f[4] : undefined);

test('LCP waits for the client: nothing is sent before its first frame or the 1 s start delay', () => {
  const e = new RecordingEngine();
  const srv = server(e);
  srv.handleL2tpEvent(instant(0), established);
  assert.equal(e.frames.length, 0, 'no Configure-Request right after ICCN');
  assert.equal(srv.pollAt(), 1000, 'the start delay is the next timer');
  srv.handleTimeout(instant(999));
  assert.equal(e.frames.length, 0, 'nothing at 999 ms');
  srv.handleTimeout(instant(1000));
  assert.deepEqual(e.frames.map((f) => [f.at, lcpCode(f.frame)]), [[1000, 1]], 'our Configure-Request at 1 s');
});

test('the client\'s first Configure-Request opens LCP at once: our request and our Ack go out together', () => {
  const e = new RecordingEngine();
  const srv = server(e);
  srv.handleL2tpEvent(instant(0), established);
  e.deliver(40, T, S, clientConfReq);
  assert.deepEqual(
    e.frames.map((f) => [f.at, lcpCode(f.frame)]),
    [
      [40, 1],
      [40, 2],
    ],
    'Configure-Request and Configure-Ack at 40 ms',
  );
  srv.handleTimeout(instant(1000));
  assert.equal(e.frames.filter((f) => f.at === 1000).length, 0, 'no second start at the old delay');
});

test('lcpStartDelay 0 keeps the immediate start', () => {
  const e = new RecordingEngine();
  const users = parseUsersFile('alice wonderland');
  const pool = parseIpv4Prefix('100.64.0.0/24');
  assert.ok(users.ok && pool.ok);
  const srv = new AccessServer(e, { random: seededRandom(5), users: new UserTable(users.value), ipv4Pool: pool.value, localAddress: parseIpv4('100.64.0.1') ?? 0, lcpStartDelay: millis(0) });
  srv.handleL2tpEvent(instant(0), established);
  assert.deepEqual(e.frames.map((f) => [f.at, lcpCode(f.frame)]), [[0, 1]]);
});
