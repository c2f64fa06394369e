/**
 * A remote-access load client: our `L2tpEngine` as the LAC on one UDP socket (io shell:
 * UdpEndpoint + TimerDriver), a few tunnels to one LNS, and one `AccessClient` (PPP peer: LCP,
 * CHAP/PAP/MS-CHAPv2, IPCP) per session, dialed with a bounded number in flight. A session counts
 * as up at the client's `up` event (IPCP opened, address known). Used by test/interop/lns-scale
 * (through bench/lib/ppp-load-child.ts) and the bench/ppp-* benchmarks.
 *
 * Events are routed to clients by (tunnel, session) in a map, so the cost per event does not grow
 * with the number of sessions. Data frames reach each client through its engine data sink (no
 * events); a client that got one is marked and flushed after the endpoint's drain (`dirtyOnData`),
 * and its IP packets go straight to the call's `onPacket`. IP packets are built by hand (IPv4 + ICMP echo / UDP).
 */
import { performance } from 'node:perf_hooks';
import { L2tpEngine, defaultTunnelSettings, defaultTuning, type ChannelTuning, type L2tpEvent, type PeerAddress, type TunnelSettings } from '../../src/l2tp/index.js';
import { AccessClient, type AccessClientEvent, type AccessEngine } from '../../src/access/index.js';
import type { AuthProtocol } from '../../src/ppp/index.js';
import { UdpEndpoint } from '../../src/io/udp-endpoint.js';
import { TimerDriver } from '../../src/io/timer-driver.js';
import { systemClock } from '../../src/io/clock.js';
import { cryptoRandom } from '../../src/io/random.js';
import type { SessionId, TunnelId } from '../../src/wire/l2tp/types.js';
import { percentile } from './table.js';

/** Options of a load client. */
export interface PppLoadOptions {
  /** Local address to bind (ephemeral port unless `port`). */
  readonly address: string;
  readonly port?: number;
  readonly hostName?: string;
  /** Control-channel tuning overrides (e.g. a short retransmit cycle for quick teardown). */
  readonly tuning?: Partial<ChannelTuning>;
  /** PPP authentication protocols the clients accept (default chap-md5). */
  readonly auth?: readonly AuthProtocol[];
  /** The addon's UDP socket (src/io/native-udp.ts) instead of node:dgram: its fd can be lent to a C tool (bench/data-plane.ts). */
  readonly native?: boolean;
}

/** Credentials of session `i`. */
export type UserOf = (i: number) => { readonly username: string; readonly password: string };

/** One dialed session. */
interface Call {
  readonly index: number;
  readonly tunnel: TunnelId;
  readonly session: SessionId;
  readonly client: AccessClient;
  readonly startedAt: number;
  upAt: number | undefined;
  downAt: number | undefined;
  address: string | undefined;
  downReason: string | undefined;
  removeTimer: () => void;
  /** Packets the LNS sent to this session (after PPP decapsulation). */
  onPacket: ((pkt: Uint8Array) => void) | undefined;
}

/** Outcome of one dial run. */
export interface DialResult {
  readonly attempted: number;
  readonly up: number;
  readonly failed: number;
  /** First open to last `up`. */
  readonly seconds: number;
  readonly timedOut: boolean;
  /** Set-up latency percentiles (ms), ICRQ queued to IPCP up. */
  readonly p50: number | undefined;
  readonly p99: number | undefined;
  /** Address per session index (undefined when that session never came up). */
  readonly addresses: readonly (string | undefined)[];
  /** A few failure reasons, for messages. */
  readonly failures: readonly string[];
}

/** Outcome of echo probes on one session. */
export interface PingResult {
  readonly index: number;
  readonly address: string | undefined;
  readonly sent: number;
  readonly received: number;
}

const key = (t: number, s: number): number => t * 0x10000 + s;

/**
 * `engine` for an access core whose data sink calls `mark` after each frame: a shell with many
 * clients flushes only those that got data (their PPP may have answered), not all of them.
 */
export function dirtyOnData(engine: AccessEngine, mark: () => void): AccessEngine {
  return {
    sendData: (now, t, s, frame, headroomFree) => engine.sendData(now, t, s, frame, headroomFree),
    closeSession: (now, t, s, result, causes) => engine.closeSession(now, t, s, result, causes),
    bindSession: (now, t, s, sink) =>
      engine.bindSession(now, t, s, sink === undefined ? undefined : { handleData: (at, f) => {
        sink.handleData(at, f);
        mark();
      } }),
  };
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The Internet checksum (RFC 1071) of `b[from..to)`. */
export function inetChecksum(b: Uint8Array, from = 0, to = b.length): number {
  let sum = 0;
  for (let i = from; i + 1 < to; i += 2) sum += ((b[i] as number) << 8) | (b[i + 1] as number);
  if ((to - from) % 2 === 1) sum += (b[to - 1] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Dotted quad to 4 bytes. */
function quad(a: string): number[] {
  const p = a.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new RangeError(`bad IPv4 address ${a}`);
  return p;
}

/** An IPv4 header (RFC 791, 20 bytes, DF set, TTL 64) for `proto` with `payload` bytes after it. */
function ipv4(src: string, dst: string, proto: number, payload: number, id: number): Uint8Array {
  const total = 20 + payload;
  const b = new Uint8Array(total);
  b.set([0x45, 0, total >> 8, total & 0xff, (id >> 8) & 0xff, id & 0xff, 0x40, 0, 64, proto, 0, 0], 0);
  b.set(quad(src), 12);
  b.set(quad(dst), 16);
  const c = inetChecksum(b, 0, 20);
  b[10] = c >> 8;
  b[11] = c & 0xff;
  return b;
}

/** An ICMP echo request (RFC 792 type 8) of `size` total IP bytes. */
export function icmpEcho(src: string, dst: string, ident: number, seq: number, size = 84): Uint8Array {
  const b = ipv4(src, dst, 1, size - 20, seq);
  b.set([8, 0, 0, 0, ident >> 8, ident & 0xff, seq >> 8, seq & 0xff], 20);
  for (let i = 28; i < size; i++) b[i] = i & 0xff;
  const c = inetChecksum(b, 20, size);
  b[22] = c >> 8;
  b[23] = c & 0xff;
  return b;
}

/** An ICMP echo reply (type 0) for `ident`, or undefined. Returns the sequence number. */
export function parseEchoReply(pkt: Uint8Array, ident: number): number | undefined {
  if (pkt.length < 28 || pkt[0] !== 0x45 || pkt[9] !== 1 || pkt[20] !== 0) return undefined;
  if ((((pkt[24] as number) << 8) | (pkt[25] as number)) !== ident) return undefined;
  return ((pkt[26] as number) << 8) | (pkt[27] as number);
}

/** A UDP datagram (RFC 768, checksum 0 = none) of `size` total IP bytes. */
export function udpPacket(src: string, dst: string, sport: number, dport: number, size: number): Uint8Array {
  const b = ipv4(src, dst, 17, size - 20, 1);
  const ulen = size - 20;
  b.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, ulen >> 8, ulen & 0xff, 0, 0], 20);
  return b;
}

/** The LAC side of the remote-access load. */
export class PppLoad {
  private readonly calls = new Map<number, Call>();
  private readonly byIndex: Call[] = [];
  private readonly tunnelWait = new Map<number, (ok: boolean) => void>();
  private readonly established = new Set<number>();
  /** Calls whose client got data frames since the last flush. */
  private readonly dirty = new Set<Call>();
  private drainQueued = false;
  private settled: (() => void) | undefined;
  /** Called once per call of the running `dial` when it comes up or fails. */
  private onSettle: ((c: Call) => void) | undefined;
  /** Clients that reported `down`. */
  downCount = 0;

  private constructor(
    readonly endpoint: UdpEndpoint,
    readonly timers: TimerDriver,
    readonly settings: TunnelSettings,
    private readonly auth: readonly AuthProtocol[],
  ) {}

  /** Bind the LAC socket. */
  static async open(o: PppLoadOptions): Promise<PppLoad> {
    const base = defaultTunnelSettings(o.hostName ?? 'ppp-load');
    const settings: TunnelSettings = { ...base, tuning: { ...defaultTuning(), ...o.tuning } };
    const engine = new L2tpEngine({ acceptTunnels: false, accept: settings, acceptIncomingCalls: false, acceptOutgoingCalls: false }, { random: cryptoRandom });
    const timers = new TimerDriver({ now: systemClock.now, unref: true });
    const box: { load?: PppLoad } = {};
    const endpoint = await UdpEndpoint.open({
      engine,
      address: o.address,
      port: o.port ?? 0,
      ...(o.native === true ? { socket: 'native' as const } : {}),
      clock: systemClock,
      timers,
      onEvent: (e) => box.load?.onEvent(e),
      onError: (e) => {
        process.stderr.write(`ppp-load socket error: ${e.message}\n`);
      },
    });
    const load = new PppLoad(endpoint, timers, settings, o.auth ?? ['chap-md5']);
    box.load = load;
    endpoint.follow({ drain: () => load.flushDirty() });
    return load;
  }

  /**
   * Open `n` tunnels to `peer` one after another (l2tpns 2.4 takes a second SCCRQ from the same
   * address and port while one is opening for a duplicate), each established before the next; rejects
   * after `timeoutMs` in all.
   */
  async openTunnels(peer: PeerAddress, n: number, timeoutMs: number): Promise<TunnelId[]> {
    const ids: TunnelId[] = [];
    const deadline = performance.now() + timeoutMs;
    for (let i = 0; i < n; i++) {
      const id = this.endpoint.run((now, engine) => engine.openTunnel(now, peer, this.settings));
      ids.push(id);
      if (this.established.has(id)) continue;
      const wait = new Promise<boolean>((r) => this.tunnelWait.set(id, r));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), Math.max(0, deadline - performance.now()))));
      const ok = await Promise.race([wait, timeout]);
      clearTimeout(timer);
      if (!ok) throw new Error(`tunnel ${i + 1} of ${n} to ${peer.address}:${peer.port} did not come up within ${timeoutMs} ms`);
    }
    return ids;
  }

  /**
   * Dial `count` sessions spread round-robin over `tunnels`, at most `window` negotiating at once;
   * resolves when all are up or failed, or at `timeoutMs`.
   */
  async dial(tunnels: readonly TunnelId[], count: number, window: number, timeoutMs: number, user: UserOf): Promise<DialResult> {
    const first = this.byIndex.length;
    const t0 = performance.now();
    let next = 0;
    let inflight = 0;
    let lastUp = t0;
    const failures: string[] = [];
    const deadline = t0 + timeoutMs;
    const startMore = (): void => {
      while (inflight < window && next < count) {
        const i = first + next;
        const tunnel = tunnels[next % tunnels.length] as TunnelId;
        next++;
        const ok = this.start(i, tunnel, user(i));
        if (ok) inflight++;
        else failures.push(`session ${i}: openSession failed`);
      }
    };
    const done = (): boolean => next >= count && inflight === 0;
    this.onSettle = (c: Call): void => {
      inflight--;
      if (c.upAt !== undefined) lastUp = Math.max(lastUp, c.upAt);
      else if (failures.length < 10) failures.push(`session ${c.index}: ${c.downReason ?? 'down'}`);
      startMore();
      if (done()) this.settled?.();
    };
    const finished = new Promise<void>((r) => (this.settled = r));
    startMore();
    if (!done()) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([finished, new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, deadline - performance.now()))))]);
      clearTimeout(timer);
    }
    this.onSettle = undefined;
    this.settled = undefined;
    const mine = this.byIndex.slice(first, first + count);
    const lat = mine.filter((c) => c.upAt !== undefined).map((c) => (c.upAt as number) - c.startedAt);
    const up = lat.length;
    return {
      attempted: count,
      up,
      failed: mine.filter((c) => c.upAt === undefined && c.downAt !== undefined).length + (count - mine.length),
      seconds: (lastUp - t0) / 1000,
      timedOut: !done(),
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      addresses: Array.from({ length: count }, (_, k) => mine[k]?.address),
      failures,
    };
  }

  /** Open session `i` on `tunnel` with a PPP client. */
  private start(i: number, tunnel: TunnelId, cred: { readonly username: string; readonly password: string }): boolean {
    const session = this.endpoint.run((now, engine) => engine.openSession(now, tunnel, { direction: 'incoming' }));
    if (session === undefined) return false;
    const box: { call?: Call } = {};
    const engine = dirtyOnData(this.endpoint.engine, () => {
      if (box.call !== undefined) this.dirty.add(box.call);
    });
    const client = new AccessClient(engine, {
      tun: { writePacket: (p) => box.call?.onPacket?.(p) },
      random: cryptoRandom,
      tunnel,
      session,
      username: cred.username,
      password: cred.password,
      auth: this.auth,
      ipv6: false,
      requestDns: false,
    });
    const call: Call = {
      index: i,
      tunnel,
      session,
      client,
      startedAt: performance.now(),
      upAt: undefined,
      downAt: undefined,
      address: undefined,
      downReason: undefined,
      removeTimer: () => undefined,
      onPacket: undefined,
    };
    box.call = call;
    call.removeTimer = this.timers.add(client, () => {
      this.flush(call);
    });
    this.calls.set(key(tunnel, session), call);
    this.byIndex[i] = call;
    return true;
  }

  private onEvent(e: L2tpEvent): void {
    const now = systemClock.now();
    switch (e.type) {
      case 'tunnel-established':
        this.established.add(e.tunnel);
        this.tunnelWait.get(e.tunnel)?.(true);
        this.tunnelWait.delete(e.tunnel);
        return;
      case 'tunnel-closed':
        this.established.delete(e.tunnel);
        this.tunnelWait.get(e.tunnel)?.(false);
        this.tunnelWait.delete(e.tunnel);
        for (const c of this.calls.values()) {
          if (c.tunnel !== e.tunnel) continue;
          c.client.handleL2tpEvent(now, e);
          this.flush(c);
        }
        return;
      case 'session-established':
      case 'session-closed': {
        const c = this.calls.get(key(e.tunnel, e.session));
        if (c === undefined) return;
        c.client.handleL2tpEvent(now, e);
        this.flush(c);
        return;
      }
      default:
        return;
    }
  }

  /** Flush the clients that got data frames while the endpoint handled datagrams. */
  private flushDirty(): void {
    if (this.dirty.size === 0) return;
    const calls = [...this.dirty];
    this.dirty.clear();
    for (const c of calls) this.flush(c);
  }

  /** Send what the client queued, deliver its packets and events, re-arm its timer. */
  private flush(c: Call): void {
    for (let t = c.client.pollTransmit(); t !== undefined; t = c.client.pollTransmit()) this.endpoint.send(t);
    for (let p = c.client.pollTunWrite(); p !== undefined; p = c.client.pollTunWrite()) c.onPacket?.(p);
    for (let e = c.client.pollEvent(); e !== undefined; e = c.client.pollEvent()) this.onClientEvent(c, e);
    this.timers.touch(c.client);
    if (!this.drainQueued) {
      // closeSession (CDN) queues control messages in the engine: send them after this turn.
      this.drainQueued = true;
      queueMicrotask(() => {
        this.drainQueued = false;
        this.endpoint.drain();
      });
    }
  }

  private onClientEvent(c: Call, e: AccessClientEvent): void {
    if (e.type === 'up') {
      if (c.upAt !== undefined) return;
      c.upAt = performance.now();
      c.address = e.address;
      this.onSettle?.(c);
    } else if (e.type === 'down') {
      if (c.downAt !== undefined) return;
      c.downAt = performance.now();
      c.downReason = `${e.reason} by ${e.by}${e.l2tp !== undefined ? ` (l2tp ${e.l2tp.cause})` : ''}`;
      this.downCount++;
      c.removeTimer();
      this.calls.delete(key(c.tunnel, c.session));
      if (c.upAt === undefined) this.onSettle?.(c);
    }
  }

  /** Sessions dialed so far (by index). */
  get size(): number {
    return this.byIndex.length;
  }

  /** The address of session `i` (after `up`). */
  addressOf(i: number): string | undefined {
    return this.byIndex[i]?.address;
  }

  /** The LNS's tunnel and session ids of session `i` (what its data messages to the LNS carry). */
  remoteIds(i: number): { tunnel: number; session: number } | undefined {
    const c = this.byIndex[i];
    if (c === undefined) return undefined;
    const t = this.endpoint.engine.tunnels(systemClock.now()).find((x) => x.localTunnelId === c.tunnel);
    const s = t?.sessions.find((x) => x.localSessionId === c.session);
    return t === undefined || s === undefined ? undefined : { tunnel: t.remoteTunnelId, session: s.remoteSessionId };
  }

  /** Indexes of the sessions that are up now. */
  upIndexes(): number[] {
    return this.byIndex.filter((c) => c.upAt !== undefined && c.downAt === undefined).map((c) => c.index);
  }

  /** Receive the packets the LNS sends to session `i` (replaces any previous handler). */
  onPacket(i: number, fn: ((pkt: Uint8Array) => void) | undefined): void {
    const c = this.byIndex[i];
    if (c !== undefined) c.onPacket = fn;
  }

  /** Send one IP packet from session `i`'s PPP link. Returns false when it could not be sent. */
  sendIp(i: number, pkt: Uint8Array): boolean {
    const c = this.byIndex[i];
    if (c === undefined || c.downAt !== undefined) return false;
    const ok = c.client.handleTunPacket(systemClock.now(), pkt);
    for (let t = c.client.pollTransmit(); t !== undefined; t = c.client.pollTransmit()) this.endpoint.send(t);
    return ok;
  }

  /**
   * ICMP echo from each session in `indexes` (from its own address) to `dst`, `count` each, one at
   * a time per session; waits up to `timeoutMs` for the replies to come back through the session.
   */
  async ping(indexes: readonly number[], dst: string, count: number, timeoutMs: number): Promise<PingResult[]> {
    const results = indexes.map((index) => ({ index, address: this.addressOf(index), sent: 0, received: 0 }));
    const deadline = performance.now() + timeoutMs;
    await Promise.all(
      results.map(async (r, k) => {
        if (r.address === undefined) return;
        const ident = 0x4c00 + k;
        for (let seq = 1; seq <= count && performance.now() < deadline; seq++) {
          let got = false;
          this.onPacket(r.index, (p) => {
            if (parseEchoReply(p, ident) === seq) got = true;
          });
          // Retry a lost request (ARP on the far side may drop the very first one) up to 3 times.
          for (let attempt = 0; attempt < 3 && !got && performance.now() < deadline; attempt++) {
            if (this.sendIp(r.index, icmpEcho(r.address, dst, ident, seq))) r.sent++;
            const until = Math.min(deadline, performance.now() + 1000);
            while (!got && performance.now() < until) await sleep(5);
          }
          if (got) r.received++;
        }
        this.onPacket(r.index, undefined);
      }),
    );
    return results;
  }

  /**
   * Hang up every session that is not down, or the first `limit` by index (LCP Terminate-Request,
   * then CDN); waits up to `timeoutMs` for them to be down.
   */
  async hangupAll(timeoutMs: number, limit = Infinity): Promise<{ down: number; left: number }> {
    const now = systemClock.now();
    const chosen = [...this.calls.values()].sort((a, b) => a.index - b.index).slice(0, limit);
    for (const c of chosen) {
      c.client.close(now);
      this.flush(c);
    }
    this.endpoint.drain();
    const deadline = performance.now() + timeoutMs;
    while (chosen.some((c) => this.calls.get(key(c.tunnel, c.session)) === c) && performance.now() < deadline) await sleep(20);
    return { down: this.downCount, left: this.calls.size };
  }

  /** StopCCN on every tunnel still open; waits until none is established (up to `timeoutMs`). */
  async closeTunnels(timeoutMs: number): Promise<number> {
    this.endpoint.run((now, engine) => {
      for (const t of engine.tunnels(now)) if (t.state !== 'closing' && t.state !== 'closed') engine.closeTunnel(now, t.localTunnelId, { result: 1, message: 'load done' });
    });
    const deadline = performance.now() + timeoutMs;
    const open = (): number => this.endpoint.engine.tunnels(this.endpoint.now()).filter((t) => t.state !== 'closing' && t.state !== 'closed').length;
    while (open() > 0 && performance.now() < deadline) await sleep(20);
    return open();
  }

  /** Close the socket and the timers (tunnels still lingering are dropped). */
  async close(): Promise<void> {
    for (const c of this.calls.values()) c.removeTimer();
    this.calls.clear();
    await this.endpoint.close();
    this.timers.close();
  }
}
