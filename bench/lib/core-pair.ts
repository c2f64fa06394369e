/**
 * Sans-I/O data-path pairs for the L2TPv3 bench's core comparison: an established L2TPv2 session
 * between two `L2tpEngine`s and an established dynamic L2TPv3 pseudowire between two `L2tpV3Engine`s
 * (its binding handed to `EthernetPseudowire`s), both brought up by shuttling datagrams in memory on a
 * virtual clock. Per frame the bench then encapsulates on one side and feeds the datagram to the other.
 */
import { seededRandom } from '../../src/base/random.js';
import type { Instant } from '../../src/base/time.js';
import { EthernetPseudowire } from '../../src/dataplane/pseudowire/index.js';
import { defaultTunnelSettings, defaultTuning, L2tpEngine, L2tpV3Engine, type PeerAddress, type V3PseudowireBinding } from '../../src/l2tp/index.js';
import type { SessionId } from '../../src/wire/l2tp/types.js';

const A: PeerAddress = { address: '198.18.0.1', port: 1701, family: 4 };
const B: PeerAddress = { address: '198.18.0.2', port: 1701, family: 4 };

interface Polled {
  handleDatagram(now: Instant, d: Uint8Array, from: PeerAddress): void;
  handleTimeout(now: Instant): void;
  pollTransmit(): { to: PeerAddress; data: Uint8Array } | undefined;
}

/** Shuttle datagrams between two engines until quiet (bounded). */
function settle(a: Polled, b: Polled, now: Instant): void {
  for (let i = 0; i < 200; i++) {
    let moved = false;
    for (const [from, to, addr] of [[a, b, A], [b, a, B]] as const) {
      for (let t = from.pollTransmit(); t !== undefined; t = from.pollTransmit()) {
        to.handleDatagram(now, t.data, addr);
        moved = true;
      }
    }
    if (!moved) return;
  }
}

/** An established v2 session: `send(frame)` encapsulates at the LAC and delivers at the LNS; returns the delivered count. */
export function v2Pair(): { send(frame: Uint8Array): void; delivered(): number } {
  const now = 0 as Instant;
  const cfg = { acceptTunnels: true, accept: defaultTunnelSettings('lns'), acceptIncomingCalls: true, acceptOutgoingCalls: true };
  const lac = new L2tpEngine({ ...cfg, acceptTunnels: false, accept: defaultTunnelSettings('lac') }, { random: seededRandom(1) });
  const lns = new L2tpEngine(cfg, { random: seededRandom(2) });
  const tid = lac.openTunnel(now, B, defaultTunnelSettings('lac'));
  const sid = lac.openSession(now, tid, { direction: 'incoming' }) as SessionId;
  settle(lac, lns, now);
  let delivered = 0;
  const info = lns.tunnels(now)[0];
  const s = info?.sessions[0];
  if (info === undefined || s === undefined || s.state !== 'established') throw new Error('v2 session did not come up');
  lns.bindSession(now, info.localTunnelId, s.localSessionId, { handleData: () => void delivered++ });
  return {
    send(frame) {
      const t = lac.sendData(now, tid, sid, frame);
      if (t !== undefined) lns.handleDatagram(now, t.data, A);
    },
    delivered: () => delivered,
  };
}

/** An established dynamic v3 pseudowire (default sublayer, 4/8-byte cookies): encapsulate at A, demux-free decapsulate at B. */
export function v3Pair(): { send(frame: Uint8Array): void; delivered(): number } {
  const now = 0 as Instant;
  const base = { hostName: 'x', routerId: 1, pwCapabilities: [5], tuning: defaultTuning() };
  const acceptPseudowires = { cookieLength: 4 as const, pwTypes: [5 as const], sequencing: false };
  const a = new L2tpV3Engine({ encapsulation: 'udp', acceptConnections: false, accept: base, acceptPseudowires }, { random: seededRandom(3) });
  const b = new L2tpV3Engine({ encapsulation: 'udp', acceptConnections: true, accept: base, acceptPseudowires }, { random: seededRandom(4) });
  const c = a.openConnection(now, B, base);
  a.openSession(now, c, { remoteEndId: 'lan1', pseudowire: { pwType: 5, cookieLength: 8, sublayer: 'default', sequencing: false } });
  settle(a, b, now);
  const binding = (e: L2tpV3Engine): V3PseudowireBinding => {
    for (let ev = e.pollEvent(); ev !== undefined; ev = e.pollEvent()) if (ev.type === 'v3-session-established') return ev.binding;
    throw new Error('v3 session did not come up');
  };
  const tx = new EthernetPseudowire(binding(a));
  const rx = new EthernetPseudowire(binding(b));
  const hl = tx.headerLength;
  const off = 8; // UDP data header: 4 reserved + Session ID, cookie after
  let delivered = 0;
  return {
    send(frame) {
      const buf = new Uint8Array(hl + frame.length);
      buf.set(frame, hl);
      const d = tx.encapsulate(buf, hl, frame.length);
      if (d !== undefined && rx.decapsulate(d, off) !== undefined) delivered++;
    },
    delivered: () => delivered,
  };
}
