/**
 * Kernel-side loss the daemon cannot see in its own counters (issue 15 item 3): a UDP socket's
 * `drops` and receive queue from /proc/net/udp{,6}, the host's UDP RcvbufErrors / SndbufErrors /
 * InErrors from /proc/net/snmp{,6}, and a network device's tx/rx drops from
 * /sys/class/net/<dev>/statistics. The parsers are pure (text in, numbers out); the readers are
 * small synchronous reads of procfs (values of the caller's network namespace) that return
 * undefined when a file is missing (not Linux, no permission), never throw.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { parseIpv4, parseIpv6 } from '../base/index.js';

/** One row of /proc/net/udp: our socket's kernel-side view. */
export interface UdpSocketRow {
  readonly localPort: number;
  /** The bound address as /proc prints it: 8 (IPv4) or 32 (IPv6) hex digits, each 32-bit word in host order. */
  readonly localHex: string;
  /** Bytes waiting in the receive queue. */
  readonly rxQueue: number;
  readonly inode: number;
  /** Datagrams the kernel dropped for this socket (a full receive buffer, mostly). */
  readonly drops: number;
}

/**
 * Parse /proc/net/udp or /proc/net/udp6. Columns: sl local_address rem_address st
 * tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops.
 */
export function parseProcNetUdp(text: string): UdpSocketRow[] {
  const rows: UdpSocketRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    const local = f[1] ?? '';
    const queues = (f[4] ?? '').split(':');
    const localPort = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    const rxQueue = parseInt(queues[1] ?? '', 16);
    const inode = Number(f[9]);
    const drops = Number(f[12]);
    if ([localPort, rxQueue, inode, drops].some((n) => !Number.isFinite(n))) continue;
    rows.push({ localPort, localHex: local.slice(0, local.lastIndexOf(':')).toUpperCase(), rxQueue, inode, drops });
  }
  return rows;
}

/** The host's UDP error counters (one network namespace). */
export interface UdpSnmp {
  readonly inErrors: number;
  readonly rcvbufErrors: number;
  readonly sndbufErrors: number;
}

/** Parse the `Udp:` header/value line pair of /proc/net/snmp. */
export function parseSnmpUdp(text: string): UdpSnmp | undefined {
  const lines = text.split('\n').filter((l) => l.startsWith('Udp: '));
  const names = lines[0]?.split(/\s+/).slice(1);
  const values = lines[1]?.split(/\s+/).slice(1).map(Number);
  if (names === undefined || values === undefined) return undefined;
  const get = (n: string): number => values[names.indexOf(n)] ?? 0;
  return { inErrors: get('InErrors'), rcvbufErrors: get('RcvbufErrors'), sndbufErrors: get('SndbufErrors') };
}

/** Parse /proc/net/snmp6 (`Name value` per line) into the same counters for UDP over IPv6. */
export function parseSnmp6Udp(text: string): UdpSnmp | undefined {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k !== undefined && v !== undefined) m.set(k, Number(v));
  }
  if (!m.has('Udp6InErrors')) return undefined;
  return { inErrors: m.get('Udp6InErrors') ?? 0, rcvbufErrors: m.get('Udp6RcvbufErrors') ?? 0, sndbufErrors: m.get('Udp6SndbufErrors') ?? 0 };
}

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** Inodes of the sockets this process holds (`socket:[N]` links in /proc/self/fd). */
export function ownSocketInodes(): Set<number> {
  const out = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m !== null) out.add(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/**
 * The /proc hex form of an address (IPv4 dotted or IPv6 text), to match rows of one bound address:
 * each 32-bit word in the host's (little-endian) byte order, as the kernel prints `sk->sk_rcv_saddr`.
 */
export function procHexOf(family: 4 | 6, address: string): string | undefined {
  const bytes = family === 4 ? ipv4Bytes(address) : parseIpv6(address);
  if (bytes === undefined) return undefined;
  let hex = '';
  for (let w = 0; w < bytes.length; w += 4) {
    for (let i = 3; i >= 0; i--) hex += (bytes[w + i] ?? 0).toString(16).padStart(2, '0');
  }
  return hex.toUpperCase();
}

function ipv4Bytes(address: string): Uint8Array | undefined {
  const n = parseIpv4(address);
  return n === undefined ? undefined : Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/**
 * Our UDP socket bound to `port` (family 4 or 6): the rows whose inodes this process holds, summed —
 * the native data threads open SO_REUSEPORT siblings on the same address and port, and the kernel
 * spreads datagrams (and drops) over all of them. With `address`, only the rows bound to it (another
 * endpoint of ours may hold the same port on another address). `sockets` = how many rows were summed.
 */
export function readUdpSocket(family: 4 | 6, port: number, own: ReadonlySet<number> = ownSocketInodes(), address?: string): (UdpSocketRow & { readonly sockets: number }) | undefined {
  const text = readText(family === 6 ? '/proc/net/udp6' : '/proc/net/udp');
  if (text === undefined) return undefined;
  return sumOwnRows(parseProcNetUdp(text), port, own, address === undefined ? undefined : procHexOf(family, address));
}

/** The rows of `port` (and of the address `hex`, when given) whose inodes are in `own`, summed. */
export function sumOwnRows(rows: readonly UdpSocketRow[], port: number, own: ReadonlySet<number>, hex?: string): (UdpSocketRow & { readonly sockets: number }) | undefined {
  let sum: (UdpSocketRow & { sockets: number }) | undefined;
  for (const r of rows) {
    if (r.localPort !== port || !own.has(r.inode) || (hex !== undefined && r.localHex !== hex)) continue;
    sum = sum === undefined ? { ...r, sockets: 1 } : { ...sum, rxQueue: sum.rxQueue + r.rxQueue, drops: sum.drops + r.drops, sockets: sum.sockets + 1 };
  }
  return sum;
}

/** The host's UDP counters for one family. */
export function readUdpSnmp(family: 4 | 6): UdpSnmp | undefined {
  const text = readText(family === 6 ? '/proc/net/snmp6' : '/proc/net/snmp');
  if (text === undefined) return undefined;
  return family === 6 ? parseSnmp6Udp(text) : parseSnmpUdp(text);
}

/** A network device's queue drops (the TUN: tx_dropped = packets the txqueue had no room for). */
export interface DeviceDrops {
  readonly txDropped: number;
  readonly rxDropped: number;
  readonly txqueuelen: number | undefined;
}

/** /sys/class/net/<name>/statistics/{tx,rx}_dropped and tx_queue_len; undefined if the device is not visible here. */
export function readDeviceDrops(name: string): DeviceDrops | undefined {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) return undefined;
  const base = `/sys/class/net/${name}`;
  const tx = readText(`${base}/statistics/tx_dropped`);
  const rx = readText(`${base}/statistics/rx_dropped`);
  if (tx === undefined || rx === undefined) return undefined;
  const q = readText(`${base}/tx_queue_len`);
  return { txDropped: Number(tx.trim()), rxDropped: Number(rx.trim()), txqueuelen: q === undefined ? undefined : Number(q.trim()) };
}
