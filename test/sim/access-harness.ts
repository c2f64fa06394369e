/**
 * A two-host simulation for the access layer: a LAC engine running `AccessClient`s and an LNS
 * engine running an `AccessServer`, over an in-memory link on a virtual clock. The "TUN devices"
 * are arrays of written packets. Data frames reach the server and clients through the sinks they
 * bind on the engines (no events), inside `handleDatagram`.
 */
import { seededRandom } from '../../src/base/random.js';
import { instant, seconds, type Instant } from '../../src/base/time.js';
import { L2tpEngine, defaultTunnelSettings, defaultTuning, type L2tpEvent, type PeerAddress, type TunnelSettings } from '../../src/l2tp/index.js';
import type { SessionId, TunnelId } from '../../src/wire/l2tp/types.js';
import { AccessClient, AccessServer, UserTable, type AccessClientConfig, type AccessClientEvent, type AccessEvent, type AccessServerConfig } from '../../src/access/index.js';
import { parseUsersFile } from '../../src/aaa/index.js';
import { parseIpv4, parseIpv4Prefix } from '../../src/base/index.js';

/** One client with what it saw. */
export interface SimClient {
  readonly client: AccessClient;
  readonly tunnel: TunnelId;
  readonly session: SessionId;
  readonly events: AccessClientEvent[];
  readonly tun: Uint8Array[];
}

interface InFlight {
  readonly at: number;
  readonly seq: number;
  readonly from: PeerAddress;
  readonly to: PeerAddress;
  readonly data: Uint8Array;
}

/** Tunnel settings with quick HELLOs for the keepalive tests. */
export function simSettings(host: string, hello = 60): TunnelSettings {
  return { ...defaultTunnelSettings(host), tuning: { ...defaultTuning(), helloInterval: seconds(hello) } };
}

/** Users of the tests: `alice` (dynamic), `bob` (static 100.64.0.200), `u0..u1999`. */
export function simUsers(extra = 0): UserTable {
  const lines = ['alice wonderland', 'bob builder 100.64.0.200', '"carol space" "pass word"'];
  for (let i = 0; i < extra; i++) lines.push(`u${i} p${i}`);
  const r = parseUsersFile(lines.join('\n'));
  if (!r.ok) throw new Error('users');
  return new UserTable(r.value);
}

/** Default LNS configuration for the tests. */
export function simServerConfig(over: Partial<AccessServerConfig> = {}): AccessServerConfig {
  const pool = parseIpv4Prefix('100.64.0.0/24');
  if (!pool.ok) throw new Error('pool');
  return { random: seededRandom(77), users: simUsers(), ipv4Pool: pool.value, localAddress: parseIpv4('100.64.0.1') ?? 0, dns: ['198.18.0.53', '198.18.0.54'], ...over };
}

/** The network, both hosts and the clock. */
export class AccessNet {
  now = 0;
  readonly lacAddr: PeerAddress = { address: '198.18.0.1', port: 1701, family: 4 };
  readonly lnsAddr: PeerAddress = { address: '198.18.0.2', port: 1701, family: 4 };
  readonly lac: L2tpEngine;
  readonly lns: L2tpEngine;
  readonly server: AccessServer;
  readonly clients = new Map<string, SimClient>();
  readonly serverEvents: AccessEvent[] = [];
  readonly lacEvents: L2tpEvent[] = [];
  readonly lnsEvents: L2tpEvent[] = [];
  readonly serverTun: Uint8Array[] = [];
  /** Return false to drop a datagram. */
  filter: ((from: PeerAddress, data: Uint8Array, to: PeerAddress) => boolean) | undefined;
  /** Largest number of IPv4 leases seen at any instant. */
  maxLeases = 0;
  /** Record PPP-level events (off for big runs). */
  verbose = true;
  /** Called with every server event as it is drained (e.g. a RADIUS stand-in answering `auth-request`). */
  onServerEvent: ((e: AccessEvent) => void) | undefined;
  /** Called with every LAC engine event (e.g. a LAC switch on the LAC engine). */
  onLacEvent: ((e: L2tpEvent) => void) | undefined;
  /** Called at the end of every drain round (more cores on the LAC host). */
  afterDrain: (() => void) | undefined;
  /** More timed cores whose timers the clock fires. */
  readonly timers: { pollAt(): Instant | undefined; handleTimeout(n: Instant): void }[] = [];
  private inflight: InFlight[] = [];
  private seq = 0;

  /** Build both hosts; the LNS runs `serverCfg`. */
  constructor(serverCfg: AccessServerConfig = simServerConfig(), hello = 60) {
    const mk = (host: string, seed: number): L2tpEngine =>
      new L2tpEngine({ acceptTunnels: true, accept: simSettings(host, hello), acceptIncomingCalls: true, acceptOutgoingCalls: true }, { random: seededRandom(seed) });
    this.lac = mk('lac', 1);
    this.lns = mk('lns', 2);
    this.server = new AccessServer(this.lns, serverCfg);
  }

  /** The current instant. */
  get at(): Instant {
    return instant(this.now);
  }

  /** Open a tunnel from the LAC. */
  openTunnel(hello = 60): TunnelId {
    return this.lac.openTunnel(this.at, this.lnsAddr, simSettings('lac', hello));
  }

  /** Place a call on `tunnel` and attach a PPP client to it. */
  dial(tunnel: TunnelId, cfg: Omit<AccessClientConfig, 'tunnel' | 'session' | 'random'>, seed = 5): SimClient {
    const session = this.lac.openSession(this.at, tunnel, { direction: 'incoming' });
    if (session === undefined) throw new Error('openSession failed');
    const client = new AccessClient(this.lac, { ...cfg, tunnel, session, random: seededRandom(seed) });
    const c: SimClient = { client, tunnel, session, events: [], tun: [] };
    this.clients.set(`${tunnel}/${session}`, c);
    return c;
  }

  /** Move everything queued anywhere until quiet. */
  drain(): void {
    for (let moved = true; moved; ) {
      moved = false;
      for (let tx = this.lac.pollTransmit(); tx !== undefined; tx = this.lac.pollTransmit(), moved = true) this.send(this.lacAddr, tx.to, tx.data);
      for (let tx = this.lns.pollTransmit(); tx !== undefined; tx = this.lns.pollTransmit(), moved = true) this.send(this.lnsAddr, tx.to, tx.data);
      for (let ev = this.lac.pollEvent(); ev !== undefined; ev = this.lac.pollEvent(), moved = true) {
        this.lacEvents.push(ev);
        this.onLacEvent?.(ev);
        if (ev.type === 'tunnel-closed') {
          for (const c of this.clients.values()) if (c.tunnel === ev.tunnel) c.client.handleL2tpEvent(this.at, ev);
        } else if ('session' in ev) this.clients.get(`${ev.tunnel}/${ev.session}`)?.client.handleL2tpEvent(this.at, ev);
      }
      for (let ev = this.lns.pollEvent(); ev !== undefined; ev = this.lns.pollEvent(), moved = true) {
        this.lnsEvents.push(ev);
        this.server.handleL2tpEvent(this.at, ev);
      }
      for (let tx = this.server.pollTransmit(); tx !== undefined; tx = this.server.pollTransmit(), moved = true) this.send(this.lnsAddr, tx.to, tx.data);
      for (let p = this.server.pollTunWrite(); p !== undefined; p = this.server.pollTunWrite(), moved = true) this.serverTun.push(p.slice());
      for (let e = this.server.pollEvent(); e !== undefined; e = this.server.pollEvent(), moved = true) {
        if (this.verbose || e.type !== 'ppp') this.serverEvents.push(e);
        this.onServerEvent?.(e);
      }
      for (const c of this.clients.values()) {
        for (let tx = c.client.pollTransmit(); tx !== undefined; tx = c.client.pollTransmit(), moved = true) this.send(this.lacAddr, tx.to, tx.data);
        for (let p = c.client.pollTunWrite(); p !== undefined; p = c.client.pollTunWrite(), moved = true) c.tun.push(p.slice());
        for (let e = c.client.pollEvent(); e !== undefined; e = c.client.pollEvent(), moved = true) if (this.verbose || e.type !== 'ppp') c.events.push(e);
      }
      this.maxLeases = Math.max(this.maxLeases, this.server.stats().ipv4InUse);
      if (this.afterDrain !== undefined) {
        const before = this.inflight.length;
        this.afterDrain();
        if (this.inflight.length !== before) moved = true;
      }
    }
  }

  /** Put a datagram on the link (a core of one host that is not in this harness). */
  inject(from: PeerAddress, to: PeerAddress, data: Uint8Array): void {
    this.send(from, to, data);
  }

  private send(from: PeerAddress, to: PeerAddress, data: Uint8Array): void {
    if (this.filter !== undefined && !this.filter(from, data, to)) return;
    this.inflight.push({ at: this.now + 1, seq: this.seq++, from, to, data: data.slice() });
  }

  /** Earliest timer of anything. */
  private nextAt(): number | undefined {
    let best: number | undefined;
    const take = (t: number | undefined): void => {
      if (t !== undefined && (best === undefined || t < best)) best = t;
    };
    for (const f of this.inflight) take(f.at);
    take(this.lac.pollAt());
    take(this.lns.pollAt());
    take(this.server.pollAt());
    for (const c of this.clients.values()) take(c.client.pollAt());
    for (const t of this.timers) take(t.pollAt());
    return best;
  }

  /** Advance the clock by `ms`, delivering datagrams and firing timers in order. */
  advance(ms: number): void {
    const until = this.now + ms;
    this.drain();
    for (;;) {
      const next = this.nextAt();
      if (next === undefined || next > until) break;
      this.now = Math.max(this.now, next);
      const due = this.inflight.filter((f) => f.at <= this.now).sort((a, b) => a.at - b.at || a.seq - b.seq);
      if (due.length > 0) this.inflight = this.inflight.filter((f) => f.at > this.now);
      for (const f of due) {
        const engine = f.to.address === this.lnsAddr.address ? this.lns : this.lac;
        engine.handleDatagram(this.at, f.data, f.from);
        this.drain();
      }
      const now = this.now;
      const fire = (t: { pollAt(): Instant | undefined; handleTimeout(n: Instant): void }): void => {
        const a = t.pollAt();
        if (a !== undefined && a <= now) t.handleTimeout(this.at);
      };
      fire(this.lac);
      fire(this.lns);
      fire(this.server);
      for (const c of this.clients.values()) fire(c.client);
      for (const t of this.timers) fire(t);
      this.drain();
    }
    this.now = Math.max(this.now, until);
  }

  /** Server events of one type. */
  serverOf<T extends AccessEvent['type']>(type: T): Extract<AccessEvent, { type: T }>[] {
    return this.serverEvents.filter((e): e is Extract<AccessEvent, { type: T }> => e.type === type);
  }

  /** Sessions the LNS engine still has. */
  lnsSessionCount(): number {
    return this.lns.tunnels(this.at).reduce((n, t) => n + t.sessions.length, 0);
  }
}

/** Client events of one type. */
export function clientOf<T extends AccessClientEvent['type']>(c: SimClient, type: T): Extract<AccessClientEvent, { type: T }>[] {
  return c.events.filter((e): e is Extract<AccessClientEvent, { type: T }> => e.type === type);
}
