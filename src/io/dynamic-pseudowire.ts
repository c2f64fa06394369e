/**
 * Dynamic L2TPv3 Ethernet pseudowires over UDP or IP protocol 115: one socket shared by control and
 * data (so a NAT keeps one binding for both), the sans-I/O `L2tpV3Engine` for the control connections, and the
 * pseudowire data plane (`EthernetPseudowire` + `PseudowireDemux`) bound to a TAP per Remote End ID.
 * The TAPs exist for the life of the shell (the user bridges them once); a session that comes up
 * binds a pseudowire to its TAP, one that ends unbinds it. Data is sent to the session's connection
 * peer as the engine knows it now (NAT-learned from authenticated control traffic) and accepted only
 * from there. With `ipsec` (v3-ipsec.ts) every datagram, control and data, leaves in transport-mode
 * ESP and only what arrives in ESP reaches the engine (clear L2TPv3 refused unless allowed).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { parseIpv4, type Instant } from '../base/index.js';
import { EthernetPseudowire, PseudowireDemux, type DemuxCounters, type PseudowireCounters, type PseudowireDrops } from '../dataplane/pseudowire/index.js';
import { L2tpV3Engine, type L2tpV3Event, type PeerAddress, type V3ConnectionInfo, type V3ControlDrops, type V3DialSpec, type V3EngineConfig } from '../l2tp/index.js';
import { now as clockNow } from './clock.js';
import { IPPROTO_L2TP, RawIpSocket, type RawPacketBatch } from './raw-socket.js';
import { cryptoRandom } from './random.js';
import { TimerDriver } from './timer-driver.js';
import { V3Ipsec, type V3IpsecSettings } from './v3-ipsec.js';
import type { V3FlowInfo, V3Inner, V3IpsecCounters } from '../gate/index.js';
import { runIp, TunDevice, type PacketBatch } from './tun.js';
import { NativeUdpSocket } from './native-udp.js';
import { fastPathForcedOff, V3FastAttach } from './v3-fast-path.js';

/** One attachment circuit: the TAP of a Remote End ID. */
export interface PseudowireTap {
  /** Remote End ID (§5.4.4) this TAP carries. */
  readonly remoteEndId: string;
  /** TAP name (kernel chooses when absent). */
  readonly name?: string;
  /** Linux bridge to enslave the TAP to (e.g. the LAN bridge). */
  readonly bridge?: string;
  readonly mtu?: number;
  /** Clamp the MSS of TCP SYNs crossing the pseudowire. */
  readonly mssClamp?: number;
}

/** How the shell runs. */
export interface DynamicPseudowireOptions {
  readonly engine: V3EngineConfig;
  /** Local IPv4 address and UDP port (1701). */
  readonly local: string;
  readonly port: number;
  /** Always-on dials (the initiator role). */
  readonly dials?: readonly V3DialSpec[];
  readonly taps: readonly PseudowireTap[];
  /** Every engine event (logs, tests). */
  readonly onEvent?: (e: L2tpV3Event) => void;
  readonly onError?: (e: Error) => void;
  /** Injected clock (default the monotonic clock). */
  readonly now?: () => Instant;
  /** How often the TAPs' admin / carrier state is looked at for Set-Link-Info (ms, default 1000; 0 = never). */
  readonly circuitPollMs?: number;
  /** L2TPv3 over IPsec: IKEv1 and transport-mode ESP around every datagram. */
  readonly ipsec?: V3IpsecSettings;
  /**
   * Move the data frames of established pseudowires in the addon (v3-fast-path.ts; default false): UDP
   * then runs on the addon's socket. Not with IPsec; sequencing and the MSS clamp stay in JS.
   */
  readonly fastPath?: boolean;
}

/** IFF_UP in /sys/class/net/NAME/flags. */
const IFF_UP = 0x1;

/** A TAP is an active attachment circuit when it is admin up and has carrier; undefined when unreadable. */
export function tapActive(name: string): boolean | undefined {
  let flags: number;
  try {
    flags = Number.parseInt(readFileSync(`/sys/class/net/${name}/flags`, 'utf8').trim(), 16);
  } catch {
    return undefined;
  }
  if ((flags & IFF_UP) === 0) return false;
  try {
    return readFileSync(`/sys/class/net/${name}/carrier`, 'utf8').trim() === '1';
  } catch {
    return false; // EINVAL while the device is down
  }
}

/** Transport counters. */
export interface DynamicTransportCounters {
  rxDatagrams: number;
  txDatagrams: number;
  /** Data messages from an address other than the session's peer. */
  foreignData: number;
  sendErrors: number;
  tapWriteErrors: number;
  /** TAP frames with no session up (dropped). */
  noSession: number;
}

/** One session's data counters for show commands. */
export interface DynamicSessionStatus {
  readonly tap: string;
  readonly remoteEndId: string;
  readonly localSessionId: number;
  readonly counters: PseudowireCounters;
}

/** Everything `show status` needs. */
export interface DynamicPseudowireStatus {
  readonly connections: readonly V3ConnectionInfo[];
  readonly sessions: readonly DynamicSessionStatus[];
  readonly demux: DemuxCounters;
  readonly transport: DynamicTransportCounters;
  /** Bad control input since start (engine and every connection). */
  readonly control: V3ControlDrops;
  /** Data drops of every session since start, ended sessions included. */
  readonly sessionDrops: PseudowireDrops;
  /** With IPsec: the gate's counters and the ESP flows. */
  readonly ipsec?: { readonly counters: V3IpsecCounters; readonly flows: readonly V3FlowInfo[] };
}

const addPwDrops = (t: PseudowireDrops, d: Readonly<PseudowireDrops>): void => {
  t.wrongCookie += d.wrongCookie;
  t.tooShort += d.tooShort;
  t.unsequenced += d.unsequenced;
  t.outOfOrder += d.outOfOrder;
};

interface Circuit {
  readonly spec: PseudowireTap;
  readonly tap: TunDevice;
  pw: EthernetPseudowire | undefined;
}

/** The running shell; create with {@link DynamicPseudowires.open}. */
export class DynamicPseudowires {
  readonly engine: L2tpV3Engine;
  readonly demux: PseudowireDemux;
  readonly transport: DynamicTransportCounters = { rxDatagrams: 0, txDatagrams: 0, foreignData: 0, sendErrors: 0, tapWriteErrors: 0, noSession: 0 };
  private readonly circuits = new Map<string, Circuit>();
  /** Data drops of sessions that ended. */
  private readonly retiredDrops: PseudowireDrops = { wrongCookie: 0, tooShort: 0, unsequenced: 0, outOfOrder: 0 };
  private readonly timers: TimerDriver;
  private readonly now: () => Instant;
  private udp: Socket | undefined;
  private nudp: NativeUdpSocket | undefined;
  private fast: V3FastAttach | undefined;
  /** Why the fast path asked for does not run (undefined when it runs or was not asked for). */
  fastPathError: string | undefined;
  private raw: RawIpSocket | undefined;
  private sec: V3Ipsec | undefined;
  private closed = false;
  private circuitPoll: ReturnType<typeof setInterval> | undefined;

  private constructor(private readonly options: DynamicPseudowireOptions) {
    this.now = options.now ?? clockNow;
    this.engine = new L2tpV3Engine(options.engine, { random: cryptoRandom });
    this.demux = new PseudowireDemux(options.engine.encapsulation);
    this.timers = new TimerDriver({ now: this.now, onError: (e) => this.error(e) });
  }

  /** Open the TAPs and the socket, start the dialers. Throws when the system refuses a TAP or the bind. */
  static async open(options: DynamicPseudowireOptions): Promise<DynamicPseudowires> {
    const s = new DynamicPseudowires(options);
    try {
      for (const t of options.taps) await s.openTap(t);
      const fast = options.fastPath === true && !fastPathForcedOff() && options.ipsec === undefined;
      if (options.engine.encapsulation === 'ip') s.openRaw();
      else if (fast) s.openNativeUdp();
      else await s.openUdp();
      if (options.ipsec !== undefined) await s.openIpsec(options.ipsec);
      if (fast) s.attachFast();
      else if (options.fastPath === true) s.fastPathError = options.ipsec !== undefined ? 'IPsec runs in JavaScript' : 'L2TPKIT_FAST_PATH=off';
    } catch (e) {
      void s.close();
      throw e;
    }
    s.timers.add(s.engine, () => s.flush());
    const at = s.now();
    s.pollCircuits();
    for (const d of options.dials ?? []) s.engine.dial(at, d);
    s.flush();
    const every = options.circuitPollMs ?? 1000;
    if (every > 0) s.circuitPoll = setInterval(() => s.pollCircuits(), every).unref();
    return s;
  }

  /** TAP admin / carrier state -> the engine, which sends SLI on a change (RFC 3931 §3.4.3). */
  private pollCircuits(): void {
    if (this.closed) return;
    const at = this.now();
    for (const [id, c] of this.circuits) {
      const active = tapActive(c.tap.name);
      if (active !== undefined) this.engine.setCircuitStatus(at, id, active);
    }
    this.flush();
  }

  private async openTap(t: PseudowireTap): Promise<void> {
    const tap = TunDevice.open({ mode: 'tap', ...(t.name !== undefined ? { name: t.name } : {}), maxPackets: 64 });
    const c: Circuit = { spec: t, tap, pw: undefined };
    this.circuits.set(t.remoteEndId, c);
    await tap.configure({ mtu: t.mtu ?? 1500, up: true });
    if (t.bridge !== undefined) await runIp(['link', 'set', 'dev', tap.name, 'master', t.bridge]);
    tap.onError((e) => this.error(e)).onPackets((b) => this.fromTap(c, b));
  }

  private async openIpsec(settings: V3IpsecSettings): Promise<void> {
    this.sec = await V3Ipsec.open({
      settings,
      address: this.options.local,
      encapsulation: this.options.engine.encapsulation,
      port: this.options.port,
      now: this.now,
      timers: this.timers,
      onInner: (i: V3Inner) => this.fromPeer(i.data, i.from),
      onError: (e) => this.error(e),
    });
  }

  /** The IPsec sockets, when `ipsec` is on. */
  get ipsec(): V3Ipsec | undefined {
    return this.sec;
  }

  private async openUdp(): Promise<void> {
    const sock = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(this.options.port, this.options.local, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.on('message', (msg, rinfo) => this.fromUdp(msg, rinfo));
    sock.on('error', (e) => this.error(e));
    this.udp = sock;
  }

  private openNativeUdp(): void {
    const sock = NativeUdpSocket.open(this.options.local, this.options.port);
    sock.onError((e) => this.error(e)).onDatagram((msg, address, port) => this.fromClear(msg, { address, port, family: 4 }));
    this.nudp = sock;
  }

  private attachFast(): void {
    const net = this.nudp ?? this.raw;
    if (net === undefined) return;
    const a = V3FastAttach.open(net, this.options.engine.encapsulation);
    if (a.ok) this.fast = a.value;
    else this.fastPathError = a.error;
  }

  /** Program an established pseudowire into the fast path (not with sequencing or the MSS clamp). */
  private installFast(c: Circuit, pw: EthernetPseudowire, b: Extract<L2tpV3Event, { type: 'v3-session-established' }>['binding']): void {
    const peer = this.engine.sessionPeer(pw.localSessionId);
    if (this.fast === undefined || peer === undefined || b.sendSequence === true || b.requireSequence === true || c.spec.mssClamp !== undefined) return;
    const pr = { localSessionId: pw.localSessionId, peerSessionId: b.peerSessionId, rxCookie: b.rxCookie, txCookie: b.txCookie, sublayer: b.sublayer === 'default' };
    this.fast.install({ ...pr, peerAddress: parseIpv4(peer.address) ?? 0, peerPort: peer.port }, c.tap);
  }

  /** Fold the fast path's counts of `pw` into its counters, then take it out of the fast path. */
  private removeFast(pw: EthernetPseudowire): void {
    if (this.fast === undefined) return;
    this.fast.foldInto(pw.localSessionId, pw.counters, this.transport);
    this.fast.remove(pw.localSessionId);
  }

  /** IP protocol 115 (§4.1.1): control (Session ID 0) and data on one raw socket; peers have port 0. */
  private openRaw(): void {
    const raw = RawIpSocket.open({ protocol: IPPROTO_L2TP, bindAddress: this.options.local, maxPacketSize: 9216 });
    raw.onError((e) => this.error(e)).onPackets((b) => this.fromRaw(b));
    this.raw = raw;
  }

  private fromRaw(batch: RawPacketBatch): void {
    for (let i = 0; i < batch.count; i++) this.fromClear(batch.payload(i), { address: batch.sourceAddress(i), port: 0, family: 4 });
  }

  private error(e: unknown): void {
    this.options.onError?.(e instanceof Error ? e : new Error(String(e)));
  }

  /** Send what the engine queued, bind / unbind pseudowires from its events. */
  private flush(): void {
    for (let t = this.engine.pollTransmit(); t !== undefined; t = this.engine.pollTransmit()) this.send(t.data, t.to);
    for (let e = this.engine.pollEvent(); e !== undefined; e = this.engine.pollEvent()) {
      if (e.type === 'v3-session-established') this.bind(e);
      else if (e.type === 'v3-session-closed') this.unbind(e.session);
      this.options.onEvent?.(e);
    }
    this.timers.touch(this.engine);
  }

  private bind(e: Extract<L2tpV3Event, { type: 'v3-session-established' }>): void {
    const c = this.circuits.get(e.remoteEndId);
    if (c === undefined) {
      // No attachment circuit for it: end the session rather than black-hole it.
      this.engine.closeSession(this.now(), e.connection, e.session, { result: 2, error: 6, message: 'no attachment circuit' });
      return;
    }
    if (c.pw !== undefined) {
      this.removeFast(c.pw);
      addPwDrops(this.retiredDrops, c.pw.counters.drops);
      this.demux.remove(c.pw.localSessionId);
    }
    const mss = c.spec.mssClamp;
    c.pw = new EthernetPseudowire({ ...e.binding, ...(mss !== undefined ? { mssClamp: mss } : {}) });
    this.demux.add(c.pw);
    this.installFast(c, c.pw, e.binding);
  }

  private unbind(session: number): void {
    for (const c of this.circuits.values()) {
      if (c.pw?.localSessionId !== session) continue;
      this.removeFast(c.pw);
      addPwDrops(this.retiredDrops, c.pw.counters.drops);
      this.demux.remove(session);
      c.pw = undefined;
    }
  }

  private fromUdp(msg: Buffer, rinfo: RemoteInfo): void {
    this.fromClear(msg, { address: rinfo.address, port: rinfo.port, family: 4 });
  }

  /** From the clear UDP / IP-115 socket: with IPsec required, refused (counted, reported once). */
  private fromClear(msg: Uint8Array, from: PeerAddress): void {
    if (this.sec !== undefined && !this.sec.admitClear(from)) return;
    this.fromPeer(msg, from);
  }

  private fromPeer(msg: Uint8Array, from: PeerAddress): void {
    this.transport.rxDatagrams++;
    const o = this.demux.receive(msg);
    if (o.kind === 'control') {
      this.engine.handleDatagram(this.now(), msg, from);
      this.flush();
      return;
    }
    if (o.kind !== 'frame') return;
    const peer = this.engine.sessionPeer(o.pseudowire.localSessionId);
    if (peer === undefined || peer.address !== from.address || peer.port !== from.port) {
      this.transport.foreignData++;
      return;
    }
    for (const c of this.circuits.values()) {
      if (c.pw !== o.pseudowire) continue;
      try {
        if (!c.tap.write(o.frame)) this.transport.tapWriteErrors++;
      } catch {
        this.transport.tapWriteErrors++;
      }
    }
  }

  private fromTap(c: Circuit, batch: PacketBatch): void {
    const pw = c.pw;
    if (pw === undefined) {
      this.transport.noSession += batch.count;
      return;
    }
    const peer = this.engine.sessionPeer(pw.localSessionId);
    if (peer === undefined) return;
    const hl = pw.headerLength;
    for (let i = 0; i < batch.count; i++) {
      const off = batch.offset(i);
      const len = batch.length(i);
      const out = Buffer.allocUnsafe(hl + len);
      batch.buffer.copy(out, hl, off, off + len);
      const d = pw.encapsulate(out, hl, len);
      if (d !== undefined) this.send(d, peer);
    }
  }

  private send(d: Uint8Array, to: PeerAddress): void {
    const t = this.transport;
    try {
      if (this.sec !== undefined) {
        // Sealed for the peer's SA, or dropped (counted by the gate as txNoFlow): never in the clear.
        if (this.sec.send(d, to)) t.txDatagrams++;
        return;
      }
      if (this.raw !== undefined) {
        if (this.raw.sendToNumber(d, parseIpv4(to.address) ?? 0)) t.txDatagrams++;
        else t.sendErrors++;
        return;
      }
      if (this.nudp !== undefined) {
        this.nudp.send(d, to.port, to.address, () => t.sendErrors++);
        t.txDatagrams++;
        return;
      }
      if (this.udp === undefined) return;
      this.udp.send(d, to.port, to.address, (e) => {
        if (e !== null) t.sendErrors++;
      });
      t.txDatagrams++;
    } catch (e) {
      t.sendErrors++;
      this.error(e);
    }
  }

  /** Send and dispatch what the engine queued after a call from outside (clear commands). */
  flushNow(): void {
    this.flush();
  }

  /** The native fast path's global counters, undefined when it does not run. */
  fastStats(): ReturnType<V3FastAttach['stats']> | undefined {
    return this.fast?.stats();
  }

  /** What the fast path counted for one pseudowire since it was installed (not yet folded into `status`). */
  fastCounters(localSessionId: number): ReturnType<V3FastAttach['counters']> {
    return this.fast?.counters(localSessionId);
  }

  /** TAP names by Remote End ID. */
  tapNames(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, c] of this.circuits) out[k] = c.tap.name;
    return out;
  }

  status(): DynamicPseudowireStatus {
    const sessions: DynamicSessionStatus[] = [];
    const sessionDrops = { ...this.retiredDrops };
    for (const c of this.circuits.values()) {
      if (c.pw === undefined) continue;
      this.fast?.foldInto(c.pw.localSessionId, c.pw.counters, this.transport);
      sessions.push({ tap: c.tap.name, remoteEndId: c.spec.remoteEndId, localSessionId: c.pw.localSessionId, counters: c.pw.counters });
      addPwDrops(sessionDrops, c.pw.counters.drops);
    }
    const sec = this.sec;
    return {
      connections: this.engine.connections(), sessions, demux: this.demux.counters, transport: this.transport, control: this.engine.controlDrops(), sessionDrops,
      ...(sec !== undefined ? { ipsec: { counters: { ...sec.gate.counters }, flows: sec.gate.flowInfo(this.now()) } } : {}),
    };
  }

  /** Close every connection (StopCCN goes out), then the socket and TAPs; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.circuitPoll !== undefined) clearInterval(this.circuitPoll);
    const at = this.now();
    for (const c of this.engine.connections()) this.engine.closeConnection(at, c.localId, { result: 6 });
    for (let t = this.engine.pollTransmit(); t !== undefined; t = this.engine.pollTransmit()) this.send(t.data, t.to);
    this.timers.close();
    await new Promise((r) => setTimeout(r, 50));
    this.fast?.close();
    for (const c of this.circuits.values()) c.tap.close();
    this.nudp?.close();
    await this.sec?.close();
    this.raw?.close();
    try {
      this.udp?.close();
    } catch {
      // already closed
    }
  }
}
