/**
 * Static L2TPv3 Ethernet pseudowires (no control connection, no HELLO), compatible with Linux
 * `ip l2tp add tunnel ... session ...` (l2tp_eth): a TAP device from the addon bridged by the user,
 * and a UDP socket or a raw IP-protocol-115 socket toward the peer, driving the sans-I/O
 * `EthernetPseudowire` core. Frames from the TAP are copied once into a buffer with headroom and the
 * L2TP header written in front; received data messages are demultiplexed by Session ID and the
 * frame view is written to the TAP. Only datagrams from the configured peer are accepted.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { err, ok, parseIpv4, type Result } from '../base/index.js';
import { EthernetPseudowire, PseudowireDemux, type PseudowireCounters, type PseudowireSettings, type DemuxCounters } from '../dataplane/pseudowire/index.js';
import { IPPROTO_L2TP, RawIpSocket, type RawPacketBatch } from './raw-socket.js';
import { TunDevice, type PacketBatch, type TunStats } from './tun.js';
import { NativeUdpSocket } from './native-udp.js';
import { fastPathForcedOff, V3FastAttach, type V3FastCounters } from './v3-fast-path.js';

/**
 * One static pseudowire, with Linux `ip l2tp` names: `ip l2tp add tunnel tunnel_id T peer_tunnel_id PT
 * encap udp|ip local L remote R udp_sport S udp_dport D` + `ip l2tp add session session_id SID
 * peer_session_id PSID cookie C peer_cookie PC l2spec_type none|default seq none|send|recv|both`.
 */
export interface StaticPseudowireSettings {
  /** `encap`: UDP (default port 1701) or IP protocol 115. */
  readonly encap: 'udp' | 'ip';
  /** `local`: our IPv4 address (bound). */
  readonly local: string;
  /** `remote`: the peer's IPv4 address; datagrams from any other source are dropped. */
  readonly remote: string;
  /** `udp_sport`: our UDP port (default 1701). */
  readonly udpSourcePort?: number;
  /** `udp_dport`: the peer's UDP port (default 1701). */
  readonly udpDestinationPort?: number;
  /** `tunnel_id` / `peer_tunnel_id`: not on the wire for data (v3 data carry only the Session ID); kept for show commands. */
  readonly tunnelId: number;
  readonly peerTunnelId: number;
  /** `session_id`: ours, carried by the data we receive. */
  readonly sessionId: number;
  /** `peer_session_id`: the peer's, carried by the data we send. */
  readonly peerSessionId: number;
  /** `cookie`: the cookie we send, 8 or 16 hex digits (none when absent). */
  readonly cookie?: string;
  /** `peer_cookie`: the cookie we require on receive, 8 or 16 hex digits. */
  readonly peerCookie?: string;
  /** `l2spec_type` (default 'default', as Linux). */
  readonly l2specType?: 'none' | 'default';
  /** `seq` (default 'none'). */
  readonly seq?: 'none' | 'send' | 'recv' | 'both';
  /** RFC 4719 PW type: 'eth' (5, default) or 'eth-vlan' (4). */
  readonly pwType?: 'eth' | 'eth-vlan';
  /** TAP device name (kernel chooses when absent) and MTU (default 1500). */
  readonly tapName?: string;
  readonly tapMtu?: number;
  /** Clamp the MSS of TCP SYNs crossing the pseudowire (Yamaha `ip tunnel tcp mss limit`). */
  readonly mssClamp?: number;
}

const COOKIE_RE = /^(?:[0-9a-fA-F]{8}|[0-9a-fA-F]{16})$/;

function cookieBytes(c: string | undefined): Uint8Array {
  return c === undefined ? new Uint8Array(0) : Uint8Array.from(Buffer.from(c, 'hex'));
}

const isId = (v: number, max = 0xffffffff): boolean => Number.isInteger(v) && v >= 1 && v <= max;
const isPort = (v: number | undefined): boolean => v === undefined || (Number.isInteger(v) && v >= 1 && v <= 65535);

/** Check settings; returns every problem (empty = fine). */
export function checkStaticPseudowireSettings(s: StaticPseudowireSettings): string[] {
  const p: string[] = [];
  if (s.encap !== 'udp' && s.encap !== 'ip') p.push(`encap must be udp or ip, got ${String(s.encap)}`);
  if (parseIpv4(s.local) === undefined) p.push(`local is not an IPv4 address: ${s.local}`);
  if (parseIpv4(s.remote) === undefined) p.push(`remote is not an IPv4 address: ${s.remote}`);
  if (!isPort(s.udpSourcePort) || !isPort(s.udpDestinationPort)) p.push('udp ports must be 1..65535');
  for (const [k, v] of [['tunnel_id', s.tunnelId], ['peer_tunnel_id', s.peerTunnelId], ['session_id', s.sessionId], ['peer_session_id', s.peerSessionId]] as const) {
    if (!isId(v)) p.push(`${k} must be 1..4294967295, got ${v}`);
  }
  for (const [k, v] of [['cookie', s.cookie], ['peer_cookie', s.peerCookie]] as const) {
    if (v !== undefined && !COOKIE_RE.test(v)) p.push(`${k} must be 8 or 16 hex digits`);
  }
  if ((s.seq ?? 'none') !== 'none' && s.l2specType === 'none') p.push('seq needs l2spec_type default');
  if (s.tapMtu !== undefined && !(Number.isInteger(s.tapMtu) && s.tapMtu >= 68 && s.tapMtu <= 65535)) p.push('tap MTU must be 68..65535');
  return p;
}

/** The core's settings for static settings (after `checkStaticPseudowireSettings`). */
export function pseudowireSettingsOf(s: StaticPseudowireSettings): PseudowireSettings {
  const seq = s.seq ?? 'none';
  return {
    encapsulation: s.encap,
    pwType: s.pwType === 'eth-vlan' ? 4 : 5,
    localSessionId: s.sessionId,
    peerSessionId: s.peerSessionId,
    txCookie: cookieBytes(s.cookie),
    rxCookie: cookieBytes(s.peerCookie),
    sublayer: s.l2specType ?? 'default',
    sendSequence: seq === 'send' || seq === 'both',
    requireSequence: seq === 'recv' || seq === 'both',
    ...(s.mssClamp !== undefined ? { mssClamp: s.mssClamp } : {}),
  };
}

/** How {@link StaticPseudowire.open} runs. */
export interface StaticPseudowireOptions {
  /** Socket, TAP and send errors (default: ignored; they are also counted). */
  readonly onError?: (e: Error) => void;
  /** Set the TAP's MTU and bring it up here (default true; false when the caller moves it to a netns first). */
  readonly configureTap?: boolean;
  /**
   * Move the data frames in the addon (v3-fast-path.ts; default false): UDP then runs on the addon's
   * socket. Sequencing (`seq` other than none) and the MSS clamp stay in JS; so does everything when
   * the addon cannot (`fastPathError` says why) or L2TPKIT_FAST_PATH=off.
   */
  readonly fastPath?: boolean;
}

/** Transport counters of a static pseudowire. */
export interface StaticTransportCounters {
  rxDatagrams: number;
  txDatagrams: number;
  /** Datagrams from an address (or UDP port) other than the configured peer. */
  foreignSource: number;
  /** Send failures (queue full, errors). */
  sendErrors: number;
  /** Frames the TAP did not take. */
  tapWriteErrors: number;
}

/** Everything a show command needs. */
export interface StaticPseudowireStatus {
  readonly tap: string;
  readonly settings: StaticPseudowireSettings;
  readonly pseudowire: PseudowireCounters;
  readonly demux: DemuxCounters;
  readonly transport: StaticTransportCounters;
  readonly tapStats: TunStats;
  /** The native fast path's totals (already folded into `pseudowire` and `transport`), when it runs. */
  readonly fast?: V3FastCounters;
}

/** A running static pseudowire; create with {@link StaticPseudowire.open}. */
export class StaticPseudowire {
  readonly pseudowire: EthernetPseudowire;
  readonly demux: PseudowireDemux;
  readonly transport: StaticTransportCounters = { rxDatagrams: 0, txDatagrams: 0, foreignSource: 0, sendErrors: 0, tapWriteErrors: 0 };
  private readonly remoteNumber: number;
  private readonly dport: number;
  private udp: Socket | undefined;
  private nudp: NativeUdpSocket | undefined;
  private fast: V3FastAttach | undefined;
  /** Why the fast path asked for does not run (undefined when it runs or was not asked for). */
  fastPathError: string | undefined;
  private raw: RawIpSocket | undefined;
  /** Send scratch for the raw socket (sendto is synchronous, so one buffer serves every frame). */
  private scratch: Buffer = Buffer.alloc(0);
  private closed = false;

  private constructor(
    readonly settings: StaticPseudowireSettings,
    readonly tap: TunDevice,
    private readonly onError: (e: Error) => void,
  ) {
    this.pseudowire = new EthernetPseudowire(pseudowireSettingsOf(settings));
    this.demux = new PseudowireDemux(settings.encap);
    this.demux.add(this.pseudowire);
    this.remoteNumber = parseIpv4(settings.remote) ?? 0;
    this.dport = settings.udpDestinationPort ?? 1701;
  }

  /**
   * Open the TAP and the socket and start forwarding. Returns an error list for bad settings; throws
   * (NativeIoError, socket errors) when the system refuses the TAP, bind or raw socket.
   */
  static async open(settings: StaticPseudowireSettings, options: StaticPseudowireOptions = {}): Promise<Result<StaticPseudowire, string[]>> {
    const problems = checkStaticPseudowireSettings(settings);
    if (problems.length > 0) return err(problems);
    const onError = options.onError ?? ((): void => undefined);
    const tap = TunDevice.open({ mode: 'tap', ...(settings.tapName !== undefined ? { name: settings.tapName } : {}), maxPackets: 64 });
    const spw = new StaticPseudowire(settings, tap, onError);
    try {
      if (options.configureTap !== false) await tap.configure({ mtu: settings.tapMtu ?? 1500, up: true });
      const fast = options.fastPath === true && !fastPathForcedOff();
      if (settings.encap === 'udp' && fast) spw.openNativeUdp();
      else if (settings.encap === 'udp') await spw.openUdp();
      else spw.openRaw();
      if (fast) spw.attachFast();
    } catch (e) {
      spw.close();
      throw e;
    }
    tap.onError((e) => onError(e)).onPackets((b) => spw.fromTap(b));
    return ok(spw);
  }

  private async openUdp(): Promise<void> {
    const sock = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(this.settings.udpSourcePort ?? 1701, this.settings.local, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.on('message', (msg, rinfo) => this.fromUdp(msg, rinfo));
    sock.on('error', (e) => this.onError(e));
    this.udp = sock;
  }

  private openNativeUdp(): void {
    const sock = NativeUdpSocket.open(this.settings.local, this.settings.udpSourcePort ?? 1701);
    sock.onError((e) => this.onError(e)).onDatagram((msg, address, port) => this.fromUdp(msg, { address, port }));
    this.nudp = sock;
  }

  /** Program the native fast path (not for sequencing or the MSS clamp: those stay in JS). */
  private attachFast(): void {
    const s = this.settings;
    if ((s.seq ?? 'none') !== 'none' || s.mssClamp !== undefined) {
      this.fastPathError = 'sequencing and the MSS clamp run in JavaScript';
      return;
    }
    const net = this.nudp ?? this.raw;
    if (net === undefined) return;
    const a = V3FastAttach.open(net, s.encap);
    if (!a.ok) {
      this.fastPathError = a.error;
      return;
    }
    const p = pseudowireSettingsOf(s);
    a.value.install({ localSessionId: s.sessionId, peerSessionId: s.peerSessionId, rxCookie: p.rxCookie, txCookie: p.txCookie, sublayer: p.sublayer === 'default', peerAddress: this.remoteNumber, peerPort: this.dport }, this.tap);
    this.fast = a.value;
  }

  private openRaw(): void {
    const raw = RawIpSocket.open({ protocol: IPPROTO_L2TP, bindAddress: this.settings.local, maxPacketSize: 9216 });
    raw.onError((e) => this.onError(e)).onPackets((b) => this.fromRaw(b));
    this.raw = raw;
    this.scratch = Buffer.alloc(this.pseudowire.headerLength + 65536);
  }

  /** TAP frames -> the peer: one copy into a buffer with headroom, header written in place. */
  private fromTap(batch: PacketBatch): void {
    const hl = this.pseudowire.headerLength;
    for (let i = 0; i < batch.count; i++) {
      const off = batch.offset(i);
      const len = batch.length(i);
      // UDP sends complete later: each frame gets its own buffer; raw sendto is synchronous.
      const out = this.raw !== undefined ? this.scratch : Buffer.allocUnsafe(hl + len);
      batch.buffer.copy(out, hl, off, off + len);
      const d = this.pseudowire.encapsulate(out, hl, len);
      if (d !== undefined) this.send(d);
    }
  }

  private send(d: Uint8Array): void {
    const t = this.transport;
    try {
      if (this.nudp !== undefined) {
        this.nudp.send(d, this.dport, this.settings.remote, () => t.sendErrors++);
        t.txDatagrams++;
      } else if (this.udp !== undefined) {
        this.udp.send(d, this.dport, this.settings.remote, (e) => {
          if (e !== null) t.sendErrors++;
        });
        t.txDatagrams++;
      } else if (this.raw !== undefined) {
        if (this.raw.sendToNumber(d, this.remoteNumber)) t.txDatagrams++;
        else t.sendErrors++;
      }
    } catch (e) {
      t.sendErrors++;
      this.onError(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private fromUdp(msg: Buffer, rinfo: Pick<RemoteInfo, 'address' | 'port'>): void {
    this.transport.rxDatagrams++;
    if (rinfo.address !== this.settings.remote || rinfo.port !== this.dport) {
      this.transport.foreignSource++;
      return;
    }
    this.deliver(msg);
  }

  private fromRaw(batch: RawPacketBatch): void {
    for (let i = 0; i < batch.count; i++) {
      this.transport.rxDatagrams++;
      if (batch.sourceNumber(i) !== this.remoteNumber) {
        this.transport.foreignSource++;
        continue;
      }
      this.deliver(batch.payload(i));
    }
  }

  private deliver(datagram: Uint8Array): void {
    const o = this.demux.receive(datagram);
    if (o.kind !== 'frame') return;
    try {
      if (!this.tap.write(o.frame)) this.transport.tapWriteErrors++;
    } catch {
      this.transport.tapWriteErrors++;
    }
  }

  /** Counters and settings, for show commands and tests. */
  status(): StaticPseudowireStatus {
    const f = this.fast?.counters(this.settings.sessionId);
    const pw = this.pseudowire.counters;
    const t = this.transport;
    return {
      tap: this.tap.name,
      settings: this.settings,
      pseudowire: f === undefined ? pw : { ...pw, rxPackets: pw.rxPackets + f.rxPackets, rxOctets: pw.rxOctets + f.rxOctets, txPackets: pw.txPackets + f.txPackets, txOctets: pw.txOctets + f.txOctets },
      demux: this.demux.counters,
      transport: f === undefined ? t : { ...t, rxDatagrams: t.rxDatagrams + f.rxPackets + f.tapWriteErrors, txDatagrams: t.txDatagrams + f.txPackets, sendErrors: t.sendErrors + f.sendErrors, tapWriteErrors: t.tapWriteErrors + f.tapWriteErrors },
      tapStats: this.tap.stats,
      ...(f !== undefined ? { fast: f } : {}),
    };
  }

  /** The native fast path's global counters, when it runs (tests, benches). */
  fastStats(): ReturnType<V3FastAttach['stats']> | undefined {
    return this.fast?.stats();
  }

  /** Stop forwarding and close the TAP and the socket; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.fast?.close();
    this.tap.close();
    this.nudp?.close();
    this.raw?.close();
    try {
      this.udp?.close();
    } catch {
      // already closed
    }
  }
}
