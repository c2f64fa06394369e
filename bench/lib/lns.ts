/**
 * Our LNS for the set-up benchmarks: an `L2tpEngine` accepting tunnels and incoming calls on a
 * UDP socket, driven by the io shell; it only counts events (no PPP behind the sessions).
 */
import { L2tpEngine, defaultTunnelSettings, type ChannelTuning } from '../../src/l2tp/index.js';
import { UdpEndpoint } from '../../src/io/udp-endpoint.js';
import { TimerDriver } from '../../src/io/timer-driver.js';
import { systemClock } from '../../src/io/clock.js';
import { cryptoRandom } from '../../src/io/random.js';

/** Event counts of an LNS. */
export interface LnsCounts {
  tunnelsEstablished: number;
  sessionsEstablished: number;
  tunnelsClosed: number;
  sessionsClosed: number;
  /** Control-message retransmissions (RFC 2661 §5.8) by this LNS. */
  retransmits: number;
}

/** A running LNS. */
export interface BenchLns {
  readonly endpoint: UdpEndpoint;
  readonly counts: LnsCounts;
  /** Close socket and timers. */
  close(): Promise<void>;
}

/** Start our LNS on `address:port` (port 0 = ephemeral) with default settings and tuning. */
export async function startLns(address: string, port: number, hostName = 'l2tpkit-lns', tuning: Partial<ChannelTuning> = {}): Promise<BenchLns> {
  const base = defaultTunnelSettings(hostName);
  const settings = { ...base, tuning: { ...base.tuning, ...tuning } };
  const engine = new L2tpEngine(
    { acceptTunnels: true, accept: settings, acceptIncomingCalls: true, acceptOutgoingCalls: true },
    { random: cryptoRandom },
  );
  const timers = new TimerDriver({ now: systemClock.now, unref: true });
  const counts: LnsCounts = { tunnelsEstablished: 0, sessionsEstablished: 0, tunnelsClosed: 0, sessionsClosed: 0, retransmits: 0 };
  const endpoint = await UdpEndpoint.open({
    engine,
    address,
    port,
    clock: systemClock,
    timers,
    onEvent: (e) => {
      if (e.type === 'tunnel-established') counts.tunnelsEstablished++;
      else if (e.type === 'session-established') counts.sessionsEstablished++;
      else if (e.type === 'tunnel-closed') counts.tunnelsClosed++;
      else if (e.type === 'session-closed') counts.sessionsClosed++;
      else if (e.type === 'retransmit') counts.retransmits++;
    },
  });
  return {
    endpoint,
    counts,
    close: async () => {
      await endpoint.close();
      timers.close();
    },
  };
}
