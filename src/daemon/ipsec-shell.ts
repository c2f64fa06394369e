/**
 * `[ipsec]` in the daemon: builds the IKE responder from the config, opens the L2TP/IPsec listener
 * (src/io/ipsec-transport.ts) in place of a plain UDP endpoint, and maps IPsec events to log lines.
 */
import type { Logger } from './logger.js';
import type { RandomSource } from '../base/random.js';
import { seconds } from '../base/time.js';
import type { L2tpEngineApi, L2tpEvent } from '../l2tp/api.js';
import { DEFAULT_POLICY, IkeResponder, type IpsecGateEvent } from '../ipsec/index.js';
import { openIpsecL2tp, type IpsecL2tp } from '../io/ipsec-transport.js';
import type { Clock } from '../io/clock.js';
import type { TimerDriver } from '../io/timer-driver.js';
import type { UdpEndpoint } from '../io/udp-endpoint.js';
import type { IpsecSection, ListenConfig } from './config.js';

/** Open the L2TP/IPsec listener for `listen` with the `[ipsec]` settings. */
export async function openIpsecListener(o: {
  readonly ipsec: IpsecSection;
  readonly listen: ListenConfig;
  readonly engine: L2tpEngineApi;
  readonly log: Logger;
  readonly clock: Clock;
  readonly timers: TimerDriver;
  readonly random: RandomSource;
  readonly onL2tpEvent: (e: L2tpEvent, ep: UdpEndpoint) => void;
}): Promise<IpsecL2tp> {
  const c = o.ipsec;
  const enc = new TextEncoder();
  const byPeer = new Map(c.peers.map((p) => [p.address, enc.encode(p.psk)]));
  const fallback = c.psk === undefined ? undefined : enc.encode(c.psk);
  const io = await openIpsecL2tp({
    engine: o.engine,
    ike: (l) =>
      new IkeResponder(
        {
          psk: (remote) => byPeer.get(remote.address) ?? fallback,
          nattPort: l.nattPort,
          policy: {
            phase1: { ...DEFAULT_POLICY.phase1, maxLifetimeSeconds: c.ikeLifetime },
            phase2: { ...DEFAULT_POLICY.phase2, maxLifetimeSeconds: c.childLifetime },
          },
          ...(c.dpdInterval > 0 ? { dpd: { interval: c.dpdInterval, timeout: c.dpdTimeout } } : {}),
          natKeepalive: seconds(20),
        },
        o.random,
      ),
    address: o.listen.address,
    ...(c.localAddress !== undefined ? { localAddress: c.localAddress } : {}),
    ikePort: c.ikePort,
    nattPort: c.nattPort,
    l2tpPort: o.listen.port,
    rawEsp: c.rawEsp,
    requireIpsec: c.requireIpsec,
    closeGrace: c.closeGrace,
    clock: o.clock,
    timers: o.timers,
    random: o.random,
    onL2tpEvent: o.onL2tpEvent,
    onIpsecEvent: (e) => logIpsecEvent(o.log, e),
    onError: (e) => o.log.warn({ err: e.message }, `ipsec: ${e.message}`),
  });
  o.log.info(
    { ike: io.local.ikePort, natt: io.local.nattPort, rawEsp: io.rawEsp, localAddress: io.local.address, requireIpsec: c.requireIpsec },
    `L2TP/IPsec on ${io.local.address} (IKE ${io.local.ikePort}, NAT-T ${io.local.nattPort}, raw ESP ${io.rawEsp ? 'on' : 'off'}, L2TP ${c.requireIpsec ? 'only inside IPsec' : 'also in the clear'})`,
  );
  return io;
}

/** One log line per IPsec event (IKE debug details at debug level). */
export function logIpsecEvent(log: Logger, e: IpsecGateEvent): void {
  switch (e.type) {
    case 'flow-up':
      log.info({ via: e.via, remote: e.remote, encapsulation: e.encapsulation }, `ipsec: ${e.via} up from ${e.remote.address}:${e.remote.port} (${e.encapsulation})`);
      return;
    case 'flow-down':
      log.info({ via: e.via, tunnels: e.tunnelsClosed }, `ipsec: ${e.via} down, closing L2TP tunnel(s) ${e.tunnelsClosed.join(',') || '-'}`);
      return;
    case 'sa-switched':
      log.info({ via: e.via, spiIn: e.inboundSpi.toString(16), spiOut: e.outboundSpi.toString(16) }, `ipsec: ${e.via} rekeyed`);
      return;
    case 'clear-l2tp-refused':
      log.warn({ peer: e.peer }, `ipsec: L2TP from ${e.peer.address}:${e.peer.port} outside IPsec refused (require_ipsec)`);
      return;
    case 'l2tp-closed-deleting-sa':
      log.info({ via: e.via }, `ipsec: ${e.via} L2TP closed, deleting SA`);
      return;
    case 'ike': {
      const x = e.event;
      if (x.type === 'ike-sa-up') log.info({ ikeSa: x.ikeSaId, remote: x.remote, alg: x.algorithms, natT: x.natT }, `ipsec: IKE SA ${x.ikeSaId} up with ${x.remote.address}:${x.remote.port}`);
      else if (x.type === 'exchange-failed') log.warn({ ikeSa: x.ikeSaId, remote: x.remote, reason: x.reason, notify: x.notify }, `ipsec: exchange with ${x.remote.address} failed: ${x.reason}`);
      else if (x.type === 'dpd-failed') log.warn({ ikeSa: x.ikeSaId, remote: x.remote }, `ipsec: DPD: ${x.remote.address} is dead`);
      else log.debug({ ike: x }, `ipsec: ${x.type}`);
      return;
    }
  }
}
