/**
 * `[[l2tpv3_static]]` in the daemon: each entry opened as a `StaticPseudowire` (src/io: its TAP, and
 * its UDP or raw IP-115 socket) at start and closed at stop, the `show status` view (ids, addresses,
 * ports, encapsulation, cookie sizes but never their values, counters each way and every drop), and
 * the counters for the metrics. A static pseudowire has no control connection: nothing here changes
 * state after start.
 */
import { runIp, StaticPseudowire, type StaticPseudowireSettings } from '../io/index.js';
import type { L2tpv3StaticSection } from './config/types.js';
import type { Logger } from './logger.js';

/** Drops of one static pseudowire, by reason. */
export interface L2tpv3StaticDrops {
  /** Cookie absent or different (RFC 3931 §4.5). */
  readonly wrongCookie: number;
  /** Shorter than the header, cookie, sublayer and an Ethernet header. */
  readonly tooShort: number;
  /** `seq` recv/both: no sequence number, or one at or before the last (§4.6). */
  readonly sequence: number;
  /** A Session ID other than ours (§4.5). */
  readonly unknownSession: number;
  /** Bad L2TPv3 header, control messages, or not L2TPv3 at all. */
  readonly badHeader: number;
  /** From an address (or UDP port) other than `remote` / `udp_dport`. */
  readonly foreignSource: number;
  /** Frames the TAP did not take. */
  readonly tapWrite: number;
  /** Frames from the TAP too short to send, and send failures. */
  readonly send: number;
}

/** One static pseudowire in `show status`. */
export interface L2tpv3StaticView {
  readonly name: string;
  readonly tap: string;
  readonly encap: 'udp' | 'ip';
  readonly localAddress: string;
  readonly remoteAddress: string;
  /** UDP ports (encap udp only). */
  readonly localPort?: number;
  readonly remotePort?: number;
  readonly tunnelId: number;
  readonly peerTunnelId: number;
  readonly sessionId: number;
  readonly peerSessionId: number;
  /** Cookie sizes in bytes (0, 4 or 8): the one we send and the one we require. */
  readonly cookieLength: number;
  readonly peerCookieLength: number;
  readonly l2specType: 'none' | 'default';
  readonly seq: 'none' | 'send' | 'recv' | 'both';
  readonly rxPackets: number;
  readonly rxOctets: number;
  readonly txPackets: number;
  readonly txOctets: number;
  readonly drops: L2tpv3StaticDrops;
}

/** The settings of the io shell for one validated entry. */
export function staticSettingsOf(c: L2tpv3StaticSection): StaticPseudowireSettings {
  return {
    encap: c.encap,
    local: c.local,
    remote: c.remote,
    udpSourcePort: c.udpSport,
    udpDestinationPort: c.udpDport,
    tunnelId: c.tunnelId,
    peerTunnelId: c.peerTunnelId,
    sessionId: c.sessionId,
    peerSessionId: c.peerSessionId,
    ...(c.cookie !== undefined ? { cookie: c.cookie } : {}),
    ...(c.peerCookie !== undefined ? { peerCookie: c.peerCookie } : {}),
    l2specType: c.l2specType,
    seq: c.seq,
    pwType: c.pwType === 'ethernet-vlan' ? 'eth-vlan' : 'eth',
    ...(c.tap !== undefined ? { tapName: c.tap } : {}),
    tapMtu: c.mtu,
    ...(c.mssClamp !== undefined ? { mssClamp: c.mssClamp } : {}),
  };
}

const cookieLength = (hex: string | undefined): number => (hex === undefined ? 0 : hex.length / 2);

/** Every `[[l2tpv3_static]]` of the daemon. */
export class L2tpv3StaticShell {
  private constructor(private readonly pws: readonly { readonly config: L2tpv3StaticSection; readonly spw: StaticPseudowire }[]) {}

  /** Open every pseudowire; on a failure the ones already open are closed and the error thrown. */
  static async open(configs: readonly L2tpv3StaticSection[], log: Logger, fastPath = false): Promise<L2tpv3StaticShell> {
    const pws: { config: L2tpv3StaticSection; spw: StaticPseudowire }[] = [];
    try {
      for (const c of configs) {
        const r = await StaticPseudowire.open(staticSettingsOf(c), { fastPath, onError: (e) => log.warn({ pseudowire: c.name, err: e.message }, `[L2TPv3 static] ${c.name}: ${e.message}`) });
        if (!r.ok) throw new Error(`[[l2tpv3_static]] ${c.name}: ${r.error.join('; ')}`);
        pws.push({ config: c, spw: r.value });
        if (fastPath && r.value.fastPathError !== undefined) log.info({ pseudowire: c.name, reason: r.value.fastPathError }, `[L2TPv3 static] ${c.name}: data in JavaScript (${r.value.fastPathError})`);
        if (c.bridge !== undefined) await runIp(['link', 'set', 'dev', r.value.tap.name, 'master', c.bridge]);
        const ports = c.encap === 'udp' ? ` udp ${c.udpSport} -> ${c.udpDport}` : ' ip';
        log.info(
          { pseudowire: c.name, tap: r.value.tap.name, local: c.local, remote: c.remote, encap: c.encap, sessionId: c.sessionId, peerSessionId: c.peerSessionId },
          `[L2TPv3 static] ${c.name}: ${r.value.tap.name} <-> ${c.local} -> ${c.remote}${ports}, session ${c.sessionId} / peer ${c.peerSessionId}`,
        );
      }
    } catch (e) {
      for (const p of pws) p.spw.close();
      throw e;
    }
    return new L2tpv3StaticShell(pws);
  }

  /** `show status`: one entry per pseudowire, in config order. */
  view(): L2tpv3StaticView[] {
    return this.pws.map(({ config: c, spw }) => {
      const s = spw.status();
      const pw = s.pseudowire;
      const t = s.transport;
      return {
        name: c.name,
        tap: s.tap,
        encap: c.encap,
        localAddress: c.local,
        remoteAddress: c.remote,
        ...(c.encap === 'udp' ? { localPort: c.udpSport, remotePort: c.udpDport } : {}),
        tunnelId: c.tunnelId,
        peerTunnelId: c.peerTunnelId,
        sessionId: c.sessionId,
        peerSessionId: c.peerSessionId,
        cookieLength: cookieLength(c.cookie),
        peerCookieLength: cookieLength(c.peerCookie),
        l2specType: c.l2specType,
        seq: c.seq,
        rxPackets: pw.rxPackets,
        rxOctets: pw.rxOctets,
        txPackets: pw.txPackets,
        txOctets: pw.txOctets,
        drops: {
          wrongCookie: pw.drops.wrongCookie,
          tooShort: pw.drops.tooShort,
          sequence: pw.drops.unsequenced + pw.drops.outOfOrder,
          unknownSession: s.demux.unknownSession,
          badHeader: s.demux.badHeader + s.demux.control + s.demux.notV3,
          foreignSource: t.foreignSource,
          tapWrite: t.tapWriteErrors,
          send: pw.txDropped + t.sendErrors,
        },
      };
    });
  }

  /** Close every TAP and socket; idempotent. */
  close(): void {
    for (const p of this.pws) p.spw.close();
  }
}
