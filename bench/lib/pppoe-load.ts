/**
 * A PPPoE load client (bench and interop): N subscribers behind one Ethernet interface of a
 * namespace, on our own codecs (src/wire/pppoe) and our PPP (`PppLink`, peer role, PAP or CHAP) over
 * an AF_PACKET socket of the native addon (src/io/packet-socket.ts). Every subscriber uses the
 * interface MAC and its own Host-Uniq (RFC 2516 §5: echoed by the AC, so PADO/PADS are matched to
 * it); session frames are matched by SESSION_ID. PADI is repeated every 2 s until a PADO comes, PADR
 * likewise until a PADS. One 10 ms tick runs every PPP timer. `dial` resolves when every subscriber
 * has IPCP up or has failed (or at the deadline); `hangup` sends each session a PADT.
 */
import { instant, type Instant } from '../../src/base/index.js';
import { seededRandom } from '../../src/base/random.js';
import { PacketSocket } from '../../src/io/index.js';
import { PppLink, type AuthProtocol } from '../../src/ppp/index.js';
import { BROADCAST_MAC, EtherType, PppoeCode, encodeDiscoveryFrame, encodeSessionFrame, parsePppoeFrame, type DiscoveryTags, type MacAddress } from '../../src/wire/pppoe/index.js';

/** One subscriber. */
interface Sub {
  readonly index: number;
  readonly username: string;
  readonly password: string;
  readonly hostUniq: Uint8Array;
  phase: 'padi' | 'padr' | 'ppp' | 'up' | 'failed';
  ac: MacAddress | undefined;
  cookie: Uint8Array | undefined;
  sid: number;
  link: PppLink | undefined;
  sentAt: number;
  startedAt: number;
  upAt: number;
  address: string | undefined;
  why: string | undefined;
}

/** What one `dial` did. */
export interface PppoeDialResult {
  readonly up: number;
  readonly failed: number;
  /** From the first PADI to the last ip-up (ms). */
  readonly elapsedMs: number;
  /** Set-up times (PADI -> IPCP up), ms, sorted. */
  readonly setupMs: readonly number[];
  /** Addresses the subscribers got, in subscriber order (undefined = none). */
  readonly addresses: readonly (string | undefined)[];
  /** Why the failed ones failed. */
  readonly failures: readonly string[];
}

/** Options of {@link PppoeLoad.open}. */
export interface PppoeLoadOptions {
  readonly netns: string;
  readonly interface: string;
  readonly auth?: AuthProtocol;
}

const now = (): Instant => instant(Math.floor(performance.now()));
const RETRY_MS = 2000;

/** The load client. */
export class PppoeLoad {
  private readonly subs: Sub[] = [];
  private readonly bySid = new Map<number, Sub>();
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly sock: PacketSocket,
    private readonly opts: PppoeLoadOptions,
  ) {
    sock.onPackets((batch) => {
      for (let i = 0; i < batch.count; i++) this.frame(batch.packet(i));
    });
    this.timer = setInterval(() => {
      this.tick();
    }, 10);
  }

  /** Open the interface of the namespace (needs root). */
  static open(o: PppoeLoadOptions): PppoeLoad {
    return new PppoeLoad(PacketSocket.open({ interface: o.interface, netns: o.netns, maxPackets: 256 }), o);
  }

  /** Start `count` subscribers (`user(i)` gives the credentials) and wait until all are up or failed. */
  async dial(count: number, user: (i: number) => { readonly username: string; readonly password: string }, timeoutMs: number, concurrency = 20): Promise<PppoeDialResult> {
    const first = this.subs.length;
    const start = performance.now();
    const pending: Sub[] = [];
    for (let i = 0; i < count; i++) {
      const u = user(first + i);
      const hu = new Uint8Array(8);
      new DataView(hu.buffer).setUint32(0, 0x5e1ec700);
      new DataView(hu.buffer).setUint32(4, first + i);
      pending.push({ index: first + i, ...u, hostUniq: hu, phase: 'padi', ac: undefined, cookie: undefined, sid: 0, link: undefined, sentAt: 0, startedAt: 0, upAt: 0, address: undefined, why: undefined });
    }
    const mine = [...pending];
    const deadline = start + timeoutMs;
    while (performance.now() < deadline) {
      const active = mine.filter((s) => s.phase === 'padi' || s.phase === 'padr' || s.phase === 'ppp').length - pending.length;
      for (let k = active; k < concurrency && pending.length > 0; k++) {
        const s = pending.shift();
        if (s === undefined) break;
        this.subs.push(s);
        s.startedAt = performance.now();
        this.padi(s);
      }
      if (pending.length === 0 && mine.every((s) => s.phase === 'up' || s.phase === 'failed')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const s of mine) if (s.phase !== 'up' && s.phase !== 'failed') this.fail(s, `timeout in ${s.phase}`);
    const up = mine.filter((s) => s.phase === 'up');
    return {
      up: up.length,
      failed: mine.length - up.length,
      elapsedMs: Math.round((up.length > 0 ? Math.max(...up.map((s) => s.upAt)) : performance.now()) - start),
      setupMs: up.map((s) => Math.round(s.upAt - s.startedAt)).sort((a, b) => a - b),
      addresses: mine.map((s) => s.address),
      failures: mine.filter((s) => s.phase === 'failed').map((s) => `${s.username}: ${s.why ?? '?'}`),
    };
  }

  /** IPv4 packets received on up sessions (not handed to PPP). */
  ipReceived = 0;

  /**
   * Send `perSession` IPv4/UDP packets (`size` octets of IP) on every up session to `dst`, in
   * batches of `batch` frames a tick (the socket queue may drop: the count of frames the kernel took is returned).
   */
  async sendIp(dst: string, perSession: number, size = 100, batch = 256): Promise<number> {
    const up = this.subs.filter((s) => s.phase === 'up' && s.address !== undefined && s.ac !== undefined);
    const d = dst.split('.').map(Number);
    let sent = 0;
    const frames: Uint8Array[] = [];
    for (const s of up) {
      const src = (s.address ?? '0.0.0.0').split('.').map(Number);
      const ip = new Uint8Array(size);
      ip.set([0x45, 0, size >> 8, size & 0xff, 0, 0, 0x40, 0, 64, 17, 0, 0, ...src, ...d, 0x9c, 0x40, 0x9c, 0x40, (size - 20) >> 8, (size - 20) & 0xff, 0, 0]);
      let sum = 0;
      for (let i = 0; i < 20; i += 2) sum += ((ip[i] ?? 0) << 8) | (ip[i + 1] ?? 0);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      ip[10] = (~sum >> 8) & 0xff;
      ip[11] = ~sum & 0xff;
      const ppp = new Uint8Array(2 + size);
      ppp.set([0x00, 0x21]);
      ppp.set(ip, 2);
      frames.push(encodeSessionFrame({ ethernet: { destination: s.ac as MacAddress, source: this.sock.mac, vlans: [], ethertype: EtherType.pppoeSession }, sessionId: s.sid, payload: ppp }));
    }
    if (frames.length === 0) return 0;
    for (let k = 0; k < perSession * frames.length; ) {
      for (let j = 0; j < batch && k < perSession * frames.length; j++, k++) if (this.sock.send(frames[k % frames.length] ?? new Uint8Array())) sent++;
      await new Promise((r) => setImmediate(r));
    }
    return sent;
  }

  /** The addresses of the up sessions. */
  upAddresses(): string[] {
    return this.subs.flatMap((s) => (s.phase === 'up' && s.address !== undefined ? [s.address] : []));
  }

  /** Subscribers with IPCP up. */
  get upCount(): number {
    return this.subs.filter((s) => s.phase === 'up').length;
  }

  /** PADT for every session (the AC ends them), then forget them. */
  hangup(): void {
    for (const s of this.subs) if (s.sid !== 0 && s.ac !== undefined && s.phase !== 'failed') this.discovery(PppoeCode.PADT, s.ac, {}, s.sid);
    this.subs.length = 0;
    this.bySid.clear();
  }

  /** Stop the tick and close the socket. */
  close(): void {
    clearInterval(this.timer);
    this.sock.close();
  }

  private discovery(code: number, to: MacAddress, tags: DiscoveryTags, sid = 0): void {
    this.sock.send(encodeDiscoveryFrame({ ethernet: { destination: to, source: this.sock.mac, vlans: [], ethertype: EtherType.pppoeDiscovery }, packet: { code: code as 0x09, sessionId: sid, tags } }));
  }

  private padi(s: Sub): void {
    s.sentAt = performance.now();
    this.discovery(PppoeCode.PADI, BROADCAST_MAC, { serviceNames: [''], hostUniq: s.hostUniq });
  }

  private padr(s: Sub): void {
    if (s.ac === undefined) return;
    s.sentAt = performance.now();
    this.discovery(PppoeCode.PADR, s.ac, { serviceNames: [''], hostUniq: s.hostUniq, ...(s.cookie !== undefined ? { acCookie: s.cookie } : {}) });
  }

  private fail(s: Sub, why: string): void {
    if (s.phase === 'failed') return;
    s.phase = 'failed';
    s.why = why;
    s.link = undefined;
    this.bySid.delete(s.sid);
  }

  private bySubUniq(hu: Uint8Array | undefined): Sub | undefined {
    if (hu?.length !== 8) return undefined;
    const v = new DataView(hu.buffer, hu.byteOffset, 8);
    if (v.getUint32(0) !== 0x5e1ec700) return undefined;
    const i = v.getUint32(4);
    return this.subs.find((s) => s.index === i);
  }

  private frame(buf: Uint8Array): void {
    const f = parsePppoeFrame(buf);
    if (!f.ok) return;
    if (f.value.stage === 'session') {
      const s = this.bySid.get(f.value.sessionId);
      if (s?.link === undefined) return;
      const pl = f.value.payload;
      // IPv4 data (PPP protocol 0x0021) is only counted: the relay benchmark's downstream packets.
      if (s.phase === 'up' && pl[0] === 0x00 && pl[1] === 0x21) {
        this.ipReceived++;
        return;
      }
      s.link.handleFrame(now(), f.value.payload);
      this.flush(s);
      return;
    }
    const p = f.value.packet;
    const s = this.bySubUniq(p.tags.hostUniq);
    if (s === undefined) return;
    if (p.code === PppoeCode.PADO && s.phase === 'padi') {
      s.ac = f.value.ethernet.source;
      s.cookie = p.tags.acCookie;
      s.phase = 'padr';
      this.padr(s);
    } else if (p.code === PppoeCode.PADS && s.phase === 'padr') {
      if (p.sessionId === 0) return this.fail(s, 'PADS refused');
      s.sid = p.sessionId;
      s.phase = 'ppp';
      this.bySid.set(s.sid, s);
      s.link = new PppLink({ role: 'peer', random: seededRandom(0x5e1 + s.index), credentials: { username: s.username, password: s.password }, auth: [this.opts.auth ?? 'pap'], ipcp: {}, ipv6cp: false, addressControl: false, mru: 1492 });
      s.link.open(now());
      this.flush(s);
    } else if (p.code === PppoeCode.PADT && p.sessionId === s.sid) this.fail(s, `PADT${p.tags.genericError !== undefined ? ` (${p.tags.genericError})` : ''}`);
  }

  /** Send what the link queued, read its events. */
  private flush(s: Sub): void {
    const link = s.link;
    if (link === undefined || s.ac === undefined) return;
    for (let f = link.pollTransmit(); f !== undefined; f = link.pollTransmit()) {
      this.sock.send(encodeSessionFrame({ ethernet: { destination: s.ac, source: this.sock.mac, vlans: [], ethertype: EtherType.pppoeSession }, sessionId: s.sid, payload: f }));
    }
    for (let e = link.pollEvent(); e !== undefined; e = link.pollEvent()) {
      if (e.type === 'ip-up' && s.phase === 'ppp') {
        s.phase = 'up';
        s.upAt = performance.now();
        s.address = e.local;
      } else if (e.type === 'link-down') this.fail(s, `PPP down (${e.reason})`);
    }
  }

  private tick(): void {
    const t = performance.now();
    for (const s of this.subs) {
      if ((s.phase === 'padi' || s.phase === 'padr') && t - s.sentAt > RETRY_MS) {
        if (s.phase === 'padi') this.padi(s);
        else this.padr(s);
      }
      const at = s.link?.pollAt();
      if (at !== undefined && at <= t) {
        s.link?.handleTimeout(now());
        this.flush(s);
      }
    }
  }
}
