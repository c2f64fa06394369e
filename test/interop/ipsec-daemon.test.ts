/**
 * l2tpd with `[ipsec]` on 127.0.0.1 (ports picked by the kernel, read from the start log), dialled by
 * our IKE initiator + LAC engine through src/io: IKE, ESP in UDP, L2TP tunnel and session up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/daemon/config.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { createL2tpEngine } from '../../src/daemon/engine-factory.js';
import { createLogger } from '../../src/daemon/logger.js';
import { L2tpEngine, defaultTunnelSettings, type L2tpEvent } from '../../src/l2tp/index.js';
import { IkeInitiator } from '../../src/ipsec/ike-initiator.js';
import type { IpsecGateEvent } from '../../src/gate/index.js';
import { openIpsecL2tp } from '../../src/io/ipsec-transport.js';
import { systemClock } from '../../src/io/clock.js';
import { TimerDriver } from '../../src/io/timer-driver.js';
import { cryptoRandom } from '../../src/io/random.js';

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('l2tpd [ipsec]: our initiator gets IKE + ESP-in-UDP and an L2TP session through it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'l2tpkit-ipsec-'));
  const logs: string[] = [];
  const log = createLogger({ level: 'debug', format: 'json', sink: { write: (l) => logs.push(l) } });
  const cfg = parseConfig('[[listen]]\naddress = "127.0.0.1"\nport = 0\n[ipsec]\npsk = "daemon test psk"\nike_port = 0\nnatt_port = 0\nraw_esp = false\n[ppp]\nenabled = false\n');
  assert.ok(cfg.ok, JSON.stringify(cfg));
  const d = await Daemon.start({ config: cfg.value, log, createEngine: createL2tpEngine, controlSocket: join(dir, 'c.sock') });
  const timers = new TimerDriver({ now: systemClock.now, unref: true });
  const l2tp: L2tpEvent[] = [];
  const ipsec: IpsecGateEvent[] = [];
  let client: Awaited<ReturnType<typeof openIpsecL2tp>> | undefined;
  try {
    const line = logs.map((l) => JSON.parse(l) as { ike?: number; natt?: number }).find((l) => l.ike !== undefined);
    assert.ok(line?.ike && line.natt, 'start log names the IKE ports');
    const { ike, natt } = line as { ike: number; natt: number };
    let init: IkeInitiator | undefined;
    client = await openIpsecL2tp({
      engine: new L2tpEngine({ acceptTunnels: false, accept: defaultTunnelSettings('lac'), acceptIncomingCalls: true, acceptOutgoingCalls: true }, { random: cryptoRandom }),
      ike: (l) => (init = new IkeInitiator({
        psk: new TextEncoder().encode('daemon test psk'), local: { address: l.address, port: l.ikePort }, localNattPort: l.nattPort,
        remote: { address: '127.0.0.1', port: ike }, remoteNattPort: natt, forceEncapsulation: true,
      }, cryptoRandom)),
      address: '127.0.0.1', ikePort: 0, nattPort: 0, l2tpPort: 0, rawEsp: false,
      clock: systemClock, timers, random: cryptoRandom,
      onL2tpEvent: (e) => l2tp.push(e), onIpsecEvent: (e) => ipsec.push(e),
    });
    const c = client;
    c.endpoint.run((now) => {
      init?.connect(now);
      c.gate.flushIke(now);
    });
    await until(() => ipsec.some((e) => e.type === 'flow-up'), 5000, 'flow up');
    const up = ipsec.find((e): e is Extract<IpsecGateEvent, { type: 'flow-up' }> => e.type === 'flow-up');
    const peer = up && c.gate.peerFor(up.via);
    assert.ok(peer);
    c.endpoint.run((now, eng) => {
      const t = eng.openTunnel(now, peer, defaultTunnelSettings('lac'));
      eng.openSession(now, t, { direction: 'incoming' });
    });
    await until(() => l2tp.some((e) => e.type === 'session-established'), 5000, 'session up');
    assert.ok(logs.some((l) => /IKE SA 1 up/.test(l)));
    assert.ok(logs.some((l) => /ipsec: ipsec:1 up/.test(l)));
  } finally {
    await client?.close();
    await d.shutdown(200);
    await rm(dir, { recursive: true, force: true });
  }
});
