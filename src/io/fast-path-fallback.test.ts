// FastPathAttach.open never throws: where the addon's fast path cannot attach it says why, and the
// caller (src/daemon/access-shell.ts) keeps the JavaScript path. No root needed: both refusals come
// before the TUN is touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { L2tpEngine, defaultTunnelSettings } from '../l2tp/index.js';
import { seededRandom } from '../base/random.js';
import { FastPathAttach } from './fast-path.js';
import { systemClock } from './clock.js';
import { TimerDriver } from './timer-driver.js';
import { UdpEndpoint } from './udp-endpoint.js';
import { tryLoadNative } from './native.js';
import type { TunDevice } from './tun.js';

const engine = (): L2tpEngine =>
  new L2tpEngine({ acceptTunnels: true, accept: defaultTunnelSettings('t'), acceptIncomingCalls: true, acceptOutgoingCalls: true }, { random: seededRandom(1) });
/** Never reached by the refusals below (they come before the TUN is used). */
const noTun = { mode: 'tun', name: 'none' } as unknown as TunDevice;

test('a node:dgram listener: no fast path, the reason names the listener', async () => {
  const timers = new TimerDriver({ now: systemClock.now, unref: true });
  const ep = await UdpEndpoint.open({ engine: engine(), address: '127.0.0.1', port: 0, clock: systemClock, timers, onEvent: () => undefined });
  try {
    const r = FastPathAttach.open(ep, noTun);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error, tryLoadNative().ok ? /127\.0\.0\.1:\d+ is not on the native UDP socket/ : /native addon unavailable/);
  } finally {
    await ep.close();
  }
});

test('a native listener and a TAP device: refused with the reason', { skip: !tryLoadNative().ok ? 'native addon not built' : false }, async () => {
  const timers = new TimerDriver({ now: systemClock.now, unref: true });
  const ep = await UdpEndpoint.open({ engine: engine(), address: '127.0.0.1', port: 0, socket: 'native', clock: systemClock, timers, onEvent: () => undefined });
  try {
    assert.ok(ep.nativeSocket !== undefined, 'the addon socket');
    const r = FastPathAttach.open(ep, { mode: 'tap', name: 'tap9' } as unknown as TunDevice);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error, /tap9 is a TAP device/);
  } finally {
    await ep.close();
  }
});

test('the native UDP endpoint is IPv4 only', async () => {
  const timers = new TimerDriver({ now: systemClock.now, unref: true });
  await assert.rejects(UdpEndpoint.open({ engine: engine(), address: '::1', port: 0, socket: 'native', clock: systemClock, timers, onEvent: () => undefined }), /IPv4 only/);
});
