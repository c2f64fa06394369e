/**
 * Dial-out ("client mode"): our LAC places a call and runs PPP itself as the peer (RFC 1661
 * §3.2, RFC 1334/1994/2759 peer side), so the session's IP traffic lands on a local TUN device.
 * IPv4 comes from IPCP; IPv6 from IPV6CP link-locals plus the prefix of the LNS's Router
 * Advertisement (RFC 4862 §5.5.3: prefix + our interface identifier).
 *
 * Sans-I/O, one object per L2TP session: create it right after `engine.openSession`, forward
 * every engine event to `handleL2tpEvent`, local TUN packets to `handleTunPacket`, send
 * `pollTransmit()`, bind the TUN as `tun` (or write `pollTunWrite()`), and call `handleTimeout` at
 * `pollAt()`. At `session-established` the client binds its data sink on the engine: inbound frames
 * go engine -> PPP link -> `tun` with no event (the same fast path as the LNS, access/server.ts).
 */
import { addressInPrefix64, type Duration, formatIpv6, type Instant, type RandomSource, type Timed } from '../base/index.js';
import { type CloseReason, DATA_HEADROOM, type L2tpEvent, type Transmit } from '../l2tp/index.js';
import type { SessionId, TunnelId } from '../wire/l2tp/index.js';
import { type AuthProtocol, type FsmConfig, linkLocalAddress, type PppEvent, PppLink } from '../ppp/index.js';
import { clampMss, mssForMtu } from '../dataplane/index.js';
import { cdnFor, type AccessEndReason } from './disconnect.js';
import type { AccessCounters, AccessEngine } from './server.js';
import { TunQueue, type TunWriter } from './tun-writer.js';
import { ipVersion, parseRouterAdvertisement } from '../wire/ip/index.js';

/** Client settings. */
export interface AccessClientConfig {
  readonly random: RandomSource;
  /** The session this client drives (from `engine.openSession`). */
  readonly tunnel: TunnelId;
  readonly session: SessionId;
  readonly username: string;
  readonly password: string;
  /** Authentication protocols we accept (default mschapv2, chap-md5, pap). */
  readonly auth?: readonly AuthProtocol[];
  /** MRU we announce (default 1400). */
  readonly mru?: number;
  readonly echoInterval?: Duration;
  readonly echoFailure?: number;
  /** Negotiate IPV6CP (default true). */
  readonly ipv6?: boolean;
  /** Ask for DNS servers (RFC 1877; default true). */
  readonly requestDns?: boolean;
  /** Clamp TCP MSS on SYNs both ways (default true). */
  readonly mssClamp?: boolean;
  /** Local TUN MTU cap for the clamp. */
  readonly mtu?: number;
  readonly fsm?: Partial<FsmConfig>;
  /** The local TUN device's writer (the shell's); default: a queue read with `pollTunWrite()`. */
  readonly tun?: TunWriter;
}

/** Where the client is. */
export type AccessClientState = 'waiting' | 'negotiating' | 'up' | 'down';

/** Typed events for the daemon. */
export type AccessClientEvent =
  | { readonly type: 'ppp-start' }
  | { readonly type: 'up'; readonly address: string; readonly peer: string; readonly dns: readonly string[]; readonly mtu: number }
  | { readonly type: 'ipv6-up'; readonly linkLocal: string; readonly peerLinkLocal: string }
  | { readonly type: 'ipv6-address'; readonly address: string; readonly prefix: string; readonly mtu: number | undefined }
  | { readonly type: 'ip-down' | 'ipv6-down' }
  | { readonly type: 'auth-failure'; readonly method: AuthProtocol; readonly reason: string }
  | { readonly type: 'down'; readonly reason: AccessEndReason; readonly by: 'local' | 'peer'; readonly l2tp?: CloseReason }
  | { readonly type: 'ppp'; readonly event: PppEvent };

/** What IPCP / RA gave us. */
export interface AccessClientInfo {
  readonly state: AccessClientState;
  readonly address?: string;
  readonly peer?: string;
  readonly dns: readonly string[];
  readonly ipv6Address?: string;
  readonly ipv6LinkLocal?: string;
  readonly counters: Readonly<AccessCounters>;
}

/** One PPP peer on one LAC session. */
export class AccessClient implements Timed {
  private readonly link: PppLink;
  private st: AccessClientState = 'waiting';
  private readonly tx: Transmit[] = [];
  private readonly tun: TunWriter;
  private readonly tunQueue: TunQueue | undefined;
  private readonly events: AccessClientEvent[] = [];
  private readonly counters: AccessCounters = { rxPackets: 0, rxOctets: 0, txPackets: 0, txOctets: 0, dropped: 0 };
  private ipv4Up = false;
  private ipv6Up = false;
  private address: string | undefined;
  private peer: string | undefined;
  private dns: readonly string[] = [];
  private iid: Uint8Array | undefined;
  private v6Address: string | undefined;
  private mss4 = 0;
  private mss6 = 0;
  private endReason: AccessEndReason | undefined;
  private l2tpGone: CloseReason | undefined;

  /** A client for `cfg.session` on `engine`. */
  constructor(
    private readonly engine: AccessEngine,
    private readonly cfg: AccessClientConfig,
  ) {
    this.link = new PppLink({
      role: 'peer',
      random: cfg.random,
      credentials: { username: cfg.username, password: cfg.password },
      ipcp: { requestDns: cfg.requestDns ?? true },
      ipv6cp: cfg.ipv6 === false ? false : {},
      ...(cfg.auth !== undefined ? { auth: cfg.auth } : {}),
      ...(cfg.mru !== undefined ? { mru: cfg.mru } : {}),
      ...(cfg.echoInterval !== undefined ? { echoInterval: cfg.echoInterval } : {}),
      ...(cfg.echoFailure !== undefined ? { echoFailure: cfg.echoFailure } : {}),
      ...(cfg.fsm !== undefined ? { fsm: cfg.fsm } : {}),
    });
    this.tunQueue = cfg.tun === undefined ? new TunQueue() : undefined;
    this.tun = cfg.tun ?? (this.tunQueue as TunQueue);
  }

  /** Current state. */
  get state(): AccessClientState {
    return this.st;
  }

  /** Addresses and counters. */
  get info(): AccessClientInfo {
    return {
      state: this.st,
      ...(this.address !== undefined ? { address: this.address } : {}),
      ...(this.peer !== undefined ? { peer: this.peer } : {}),
      dns: this.dns,
      ...(this.v6Address !== undefined ? { ipv6Address: this.v6Address } : {}),
      ...(this.iid !== undefined ? { ipv6LinkLocal: linkLocalAddress(this.iid) } : {}),
      counters: { ...this.counters },
    };
  }

  /** Feed one engine event; other sessions' events are ignored. */
  handleL2tpEvent(now: Instant, ev: L2tpEvent): void {
    if (this.st === 'down') return;
    const mine = (ev.type === 'tunnel-closed' && ev.tunnel === this.cfg.tunnel) || ('session' in ev && ev.tunnel === this.cfg.tunnel && ev.session === this.cfg.session);
    if (!mine) return;
    switch (ev.type) {
      case 'session-established':
        if (this.st !== 'waiting') return;
        this.st = 'negotiating';
        this.events.push({ type: 'ppp-start' });
        this.link.open(now);
        this.pump(now);
        // The data fast path: this session's PPP frames now come straight from the engine.
        this.engine.bindSession(now, this.cfg.tunnel, this.cfg.session, { handleData: (at, frame) => this.fromSession(at, frame) });
        return;
      case 'session-closed':
      case 'tunnel-closed':
        this.l2tpGone = ev.reason;
        if (this.st === 'waiting') {
          this.st = 'down';
          this.events.push({ type: 'down', reason: 'l2tp-closed', by: ev.reason.by, l2tp: ev.reason });
          return;
        }
        this.link.lowerDown(now);
        break;
      default:
        return;
    }
    this.pump(now);
  }

  /** One packet from the local TUN. Returns whether it was sent into the session. */
  handleTunPacket(now: Instant, pkt: Uint8Array): boolean {
    const v = ipVersion(pkt);
    if (v === undefined || (v === 4 ? !this.ipv4Up : !this.ipv6Up)) {
      this.counters.dropped++;
      return false;
    }
    if (this.cfg.mssClamp !== false) clampMss(pkt, 0, pkt.length, v === 4 ? this.mss4 : this.mss6);
    const frame = this.link.sendIp(pkt, v, DATA_HEADROOM);
    const t = frame === undefined ? undefined : this.engine.sendData(now, this.cfg.tunnel, this.cfg.session, frame, true);
    if (t === undefined) {
      this.counters.dropped++;
      return false;
    }
    this.counters.txPackets++;
    this.counters.txOctets += pkt.length;
    this.tx.push(t);
    return true;
  }

  /** Hang up: LCP Terminate-Request, then CDN. */
  close(now: Instant): void {
    if (this.st === 'down') return;
    this.endReason ??= 'admin-close';
    if (this.st === 'waiting') {
      this.st = 'down';
      const cdn = cdnFor('admin-close');
      this.engine.closeSession(now, this.cfg.tunnel, this.cfg.session, cdn.result, cdn.causes);
      this.events.push({ type: 'down', reason: 'admin-close', by: 'local' });
      return;
    }
    this.link.close(now, 'admin-close');
    this.pump(now);
  }

  /** Next UDP datagram to send. */
  pollTransmit(): Transmit | undefined {
    return this.tx.shift();
  }
  /** Next IP packet for the local TUN (only without a `tun` writer in the config). */
  pollTunWrite(): Uint8Array | undefined {
    return this.tunQueue?.poll();
  }
  /** Next event. */
  pollEvent(): AccessClientEvent | undefined {
    return this.events.shift();
  }
  /** Earliest PPP timer. */
  pollAt(): Instant | undefined {
    return this.st === 'negotiating' || this.st === 'up' ? this.link.pollAt() : undefined;
  }
  /** Run due PPP timers. */
  handleTimeout(now: Instant): void {
    if (this.st !== 'negotiating' && this.st !== 'up') return;
    this.link.handleTimeout(now);
    this.pump(now);
  }

  /** One PPP frame of our session (the engine's data sink): IP to the TUN, control to the link. */
  private fromSession(now: Instant, frame: Uint8Array): void {
    if (this.st === 'down') return;
    const ip = this.link.handleFrame(now, frame);
    // An IP packet changes no PPP state: only control frames need the link drained.
    if (ip !== undefined) this.fromServer(ip.version, ip.packet);
    else this.pump(now);
  }

  private pump(now: Instant): void {
    for (let f = this.link.pollTransmit(); f !== undefined; f = this.link.pollTransmit()) {
      if (this.l2tpGone !== undefined) continue;
      const t = this.engine.sendData(now, this.cfg.tunnel, this.cfg.session, f);
      if (t !== undefined) this.tx.push(t);
    }
    for (let e = this.link.pollEvent(); e !== undefined; e = this.link.pollEvent()) {
      this.events.push({ type: 'ppp', event: e });
      this.onPppEvent(now, e);
    }
  }

  private onPppEvent(now: Instant, e: PppEvent): void {
    switch (e.type) {
      case 'lcp-up': {
        const mtu = Math.min(e.lcp.ourMru, e.lcp.peerMru, this.cfg.mtu ?? Infinity);
        this.mss4 = mssForMtu(mtu, 4);
        this.mss6 = mssForMtu(mtu, 6);
        break;
      }
      case 'auth-failure':
        this.endReason ??= e.reason === 'timeout' ? 'auth-timeout' : 'auth-failed';
        this.events.push({ type: 'auth-failure', method: e.method, reason: e.reason });
        break;
      case 'ip-up':
        this.ipv4Up = true;
        this.st = 'up';
        this.address = e.local;
        this.peer = e.peer;
        this.dns = e.dns;
        this.events.push({ type: 'up', address: e.local, peer: e.peer, dns: e.dns, mtu: Math.min(this.link.lcpInfo.peerMru, this.cfg.mtu ?? Infinity) });
        break;
      case 'ip-down':
        this.ipv4Up = false;
        this.events.push({ type: 'ip-down' });
        break;
      case 'ipv6-up':
        this.ipv6Up = true;
        this.st = 'up';
        this.iid = e.localInterfaceId;
        this.events.push({ type: 'ipv6-up', linkLocal: linkLocalAddress(e.localInterfaceId), peerLinkLocal: linkLocalAddress(e.peerInterfaceId) });
        break;
      case 'ipv6-down':
        this.ipv6Up = false;
        this.v6Address = undefined;
        this.events.push({ type: 'ipv6-down' });
        break;
      case 'link-down': {
        this.endReason ??= e.reason === 'lower-down' ? 'l2tp-closed' : e.reason;
        this.ipv4Up = false;
        this.ipv6Up = false;
        this.st = 'down';
        if (this.l2tpGone === undefined) {
          const cdn = cdnFor(this.endReason);
          this.engine.closeSession(now, this.cfg.tunnel, this.cfg.session, cdn.result, cdn.causes);
        }
        const by = this.l2tpGone?.by ?? (this.endReason === 'admin-close' ? 'local' : 'peer');
        this.events.push({ type: 'down', reason: this.endReason, by, ...(this.l2tpGone !== undefined ? { l2tp: this.l2tpGone } : {}) });
        break;
      }
      default:
        break;
    }
  }

  /** A packet from the LNS: RAs configure our global address (RFC 4862 §5.5.3), the rest goes to the TUN. */
  private fromServer(version: 4 | 6, pkt: Uint8Array): void {
    if (version === 6) {
      const ra = parseRouterAdvertisement(pkt);
      if (ra !== undefined) {
        this.learnPrefix(ra.prefixes, ra.mtu);
        return;
      }
    }
    if (this.cfg.mssClamp !== false) clampMss(pkt, 0, pkt.length, version === 4 ? this.mss4 : this.mss6);
    this.counters.rxPackets++;
    this.counters.rxOctets += pkt.length;
    this.tun.writePacket(pkt);
  }

  private learnPrefix(prefixes: readonly { readonly prefix: Uint8Array; readonly length: number; readonly autonomous: boolean; readonly validLifetime: number }[], mtu: number | undefined): void {
    const iid = this.iid;
    if (iid === undefined) return;
    // §5.5.3: only autonomous /64s (64 + 64-bit interface identifier) with a non-zero lifetime.
    const p = prefixes.find((x) => x.autonomous && x.length === 64 && x.validLifetime > 0);
    if (p === undefined) return;
    const address = formatIpv6(addressInPrefix64(p.prefix, iid));
    if (address === this.v6Address) return;
    this.v6Address = address;
    const net = new Uint8Array(16);
    net.set(p.prefix.subarray(0, 8), 0);
    this.events.push({ type: 'ipv6-address', address, prefix: `${formatIpv6(net)}/64`, mtu });
  }
}
