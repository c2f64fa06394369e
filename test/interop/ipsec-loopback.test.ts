/**
 * L2TP/IPsec over real sockets on 127.0.0.1: our IKE initiator + LAC engine -> our IKE responder +
 * LNS engine, both through `openIpsecL2tp` (UDP IKE/NAT-T sockets, raw ESP when available, the
 * clear L2TP socket with require_ipsec). Non-standard ports so nothing else on the host is touched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { seededRandom } from '../../src/base/random.js';
import { L2tpEngine, defaultTunnelSettings, type L2tpEvent } from '../../src/l2tp/index.js';
import { IkeInitiator } from '../../src/ipsec/ike-initiator.js';
import { IkeResponder } from '../../src/ipsec/ike-responder.js';
import type { IpsecGateEvent } from '../../src/gate/index.js';
import { openIpsecL2tp, type IpsecL2tp } from '../../src/io/ipsec-transport.js';
import type { UdpEndpoint } from '../../src/io/udp-endpoint.js';
import { systemClock } from '../../src/io/clock.js';
import { TimerDriver } from '../../src/io/timer-driver.js';
import { cryptoRandom } from '../../src/io/random.js';
import type { TunnelId, SessionId } from '../../src/wire/l2tp/types.js';

const PSK = new TextEncoder().encode('loopback psk');
const LO = '127.0.0.1';

/** Wait until `pred` holds (polling every 10 ms) or fail after `ms`. */
async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Side {
  io: IpsecL2tp;
  l2tp: L2tpEvent[];
  ipsec: IpsecGateEvent[];
  errors: Error[];
  /** PPP frames received through the session's data sink (decrypted ESP -> engine -> sink). */
  frames: number;
}

/** Record an L2TP event; a session that comes up gets a counting data sink (data messages are not events). */
function onL2tp(side: Side, e: L2tpEvent, ep: UdpEndpoint): void {
  side.l2tp.push(e);
  if (e.type === 'session-established') ep.engine.bindSession(ep.now(), e.tunnel, e.session, { handleData: () => void side.frames++ });
}

async function run(forceEncapsulation: boolean): Promise<{ server: Side; client: Side; raw: boolean }> {
  const timers = new TimerDriver({ now: systemClock.now, unref: true });
  const mk = (): Side => ({ io: undefined as unknown as IpsecL2tp, l2tp: [], ipsec: [], errors: [], frames: 0 });
  const server = mk();
  const client = mk();
  server.io = await openIpsecL2tp({
    engine: new L2tpEngine({ acceptTunnels: true, accept: defaultTunnelSettings('lns'), acceptIncomingCalls: true, acceptOutgoingCalls: true }, { random: cryptoRandom }),
    ike: (l) => new IkeResponder({ psk: () => PSK, nattPort: l.nattPort }, cryptoRandom),
    address: LO, ikePort: 0, nattPort: 0, l2tpPort: 0,
    clock: systemClock, timers, random: cryptoRandom,
    onL2tpEvent: (e, ep) => onL2tp(server, e, ep),
    onIpsecEvent: (e) => server.ipsec.push(e),
    onError: (e) => server.errors.push(e),
  });
  let initiator: IkeInitiator | undefined;
  const sl = server.io.local;
  client.io = await openIpsecL2tp({
    engine: new L2tpEngine({ acceptTunnels: false, accept: defaultTunnelSettings('lac'), acceptIncomingCalls: true, acceptOutgoingCalls: true }, { random: seededRandom(5) }),
    ike: (l) => (initiator = new IkeInitiator({
      psk: PSK, local: { address: l.address, port: l.ikePort }, localNattPort: l.nattPort,
      remote: { address: LO, port: sl.ikePort }, remoteNattPort: sl.nattPort, forceEncapsulation,
    }, cryptoRandom)),
    address: LO, ikePort: 0, nattPort: 0, l2tpPort: 0,
    clock: systemClock, timers, random: cryptoRandom,
    onL2tpEvent: (e, ep) => onL2tp(client, e, ep),
    onIpsecEvent: (e) => client.ipsec.push(e),
    onError: (e) => client.errors.push(e),
  });
  assert.ok(initiator);
  const raw = server.io.rawEsp && client.io.rawEsp;
  const init = initiator;
  client.io.endpoint.run((now) => {
    init.connect(now);
    client.io.gate.flushIke(now);
  });
  await until(() => client.ipsec.some((e) => e.type === 'flow-up'), 5000, 'IPsec flow up');
  const up = client.ipsec.find((e): e is Extract<IpsecGateEvent, { type: 'flow-up' }> => e.type === 'flow-up');
  assert.ok(up);
  const peer = client.io.gate.peerFor(up.via);
  assert.ok(peer);
  let tunnel: TunnelId | undefined;
  let session: SessionId | undefined;
  client.io.endpoint.run((now, eng) => {
    tunnel = eng.openTunnel(now, peer, defaultTunnelSettings('lac'));
    session = eng.openSession(now, tunnel, { direction: 'incoming' });
  });
  await until(() => server.l2tp.some((e) => e.type === 'session-established') && client.l2tp.some((e) => e.type === 'session-established'), 5000, 'session up');
  const frames = 50;
  for (let i = 0; i < frames; i++) {
    const t = client.io.endpoint.run((now, eng) => (tunnel !== undefined && session !== undefined ? eng.sendData(now, tunnel, session, new TextEncoder().encode(`ppp ${i}`)) : undefined));
    assert.ok(t);
    client.io.endpoint.send(t);
  }
  await until(() => server.frames === frames, 5000, 'data through ESP');
  return { server, client, raw };
}

test('initiator -> responder over 127.0.0.1, ESP in UDP (forced encapsulation): tunnel, session, 50 frames', async () => {
  const { server, client } = await run(true);
  try {
    const flows = server.io.gate.flowInfo(systemClock.now());
    assert.equal(flows.length, 1);
    assert.equal(flows[0]?.encapsulation, 'udp-transport');
    assert.equal(flows[0]?.remote.port, client.io.local.nattPort);
    assert.equal(client.io.endpoint.stats.txDatagrams, 0, 'nothing left through the clear L2TP socket');
    assert.ok(server.io.stats.espUdpRx >= 54);
    assert.deepEqual(server.errors.filter((e) => !/raw ESP/.test(e.message)), []);
  } finally {
    await client.io.close();
    await server.io.close();
  }
});

test('initiator -> responder over 127.0.0.1 with raw ESP (IP protocol 50) when no NAT', async (t) => {
  const { server, client, raw } = await run(false).catch((e: unknown) => {
    throw e;
  });
  try {
    if (!raw) {
      t.skip('raw ESP socket unavailable (needs the native addon and CAP_NET_RAW)');
      return;
    }
    const flows = server.io.gate.flowInfo(systemClock.now());
    assert.equal(flows[0]?.encapsulation, 'transport');
    assert.ok(server.io.stats.espRawRx >= 54);
    assert.ok(client.io.stats.espRawTx >= 54);
  } finally {
    await client.io.close();
    await server.io.close();
  }
});

test('clear L2TP to the IPsec listener is refused (require_ipsec)', async () => {
  const timers = new TimerDriver({ now: systemClock.now, unref: true });
  const events: L2tpEvent[] = [];
  const io = await openIpsecL2tp({
    engine: new L2tpEngine({ acceptTunnels: true, accept: defaultTunnelSettings('lns'), acceptIncomingCalls: true, acceptOutgoingCalls: true }, { random: cryptoRandom }),
    ike: (l) => new IkeResponder({ psk: () => PSK, nattPort: l.nattPort }, cryptoRandom),
    address: LO, ikePort: 0, nattPort: 0, l2tpPort: 0, rawEsp: false,
    clock: systemClock, timers, random: cryptoRandom,
    onL2tpEvent: (e) => events.push(e),
  });
  try {
    const probe = new L2tpEngine({ acceptTunnels: false, accept: defaultTunnelSettings('x'), acceptIncomingCalls: true, acceptOutgoingCalls: true }, { random: cryptoRandom });
    probe.openTunnel(systemClock.now(), { address: LO, port: io.local.l2tpPort, family: 4 }, defaultTunnelSettings('x'));
    const sccrq = probe.pollTransmit();
    assert.ok(sccrq);
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.send(sccrq.data, io.local.l2tpPort, LO, () => r()));
    await until(() => io.gate.counters.clearRefused === 1, 2000, 'refusal');
    s.close();
    assert.ok(events.some((e) => e.type === 'tunnel-rejected' && /outside IPsec/.test(e.detail)));
    assert.equal(io.gate.tunnels(systemClock.now()).length, 0);
  } finally {
    await io.close();
  }
});
