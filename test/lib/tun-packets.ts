/**
 * Helpers for TUN tests and benchmarks: IPv4/ICMP/UDP packet builders, network namespaces and the
 * root precondition. Not used by the daemon.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { runIp } from '../../src/io/tun.js';
import { internetChecksum } from '../../src/base/index.js';

export { internetChecksum };

/** Dotted-quad to four bytes. */
function addrBytes(a: string): number[] {
  const p = a.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new TypeError(`bad IPv4 ${a}`);
  return p;
}

/**
 * Write a 20-byte IPv4 header (RFC 791 §3.1) at `off` for a datagram of `totalLength` bytes.
 *   0                   1                   2                   3
 *   |Version|  IHL  |Type of Service|          Total Length         |
 *   |         Identification        |Flags|      Fragment Offset    |
 *   |  Time to Live |    Protocol   |         Header Checksum       |
 *   |                       Source Address                          |
 *   |                    Destination Address                        |
 */
export function writeIpv4Header(
  buf: Buffer,
  off: number,
  totalLength: number,
  protocol: number,
  src: string,
  dst: string,
  id = 0,
): void {
  buf[off] = 0x45; // version 4, IHL 5
  buf[off + 1] = 0;
  buf.writeUInt16BE(totalLength, off + 2);
  buf.writeUInt16BE(id & 0xffff, off + 4);
  buf.writeUInt16BE(0x4000, off + 6); // DF
  buf[off + 8] = 64;
  buf[off + 9] = protocol;
  buf.writeUInt16BE(0, off + 10);
  buf.set(addrBytes(src), off + 12);
  buf.set(addrBytes(dst), off + 16);
  buf.writeUInt16BE(internetChecksum(buf, off, off + 20), off + 10);
}

/** ICMP echo types (RFC 792). */
export const ICMP_ECHO_REPLY = 0;
/** ICMP echo request type (RFC 792). */
export const ICMP_ECHO_REQUEST = 8;

/** An IPv4 ICMP echo (request or reply) of `totalLength` bytes written at `off` of `buf`. */
export function writeIcmpEcho(
  buf: Buffer,
  off: number,
  totalLength: number,
  type: number,
  src: string,
  dst: string,
  ident: number,
  seq: number,
): void {
  writeIpv4Header(buf, off, totalLength, 1, src, dst, seq);
  const icmp = off + 20;
  buf[icmp] = type;
  buf[icmp + 1] = 0;
  buf.writeUInt16BE(0, icmp + 2);
  buf.writeUInt16BE(ident, icmp + 4);
  buf.writeUInt16BE(seq, icmp + 6);
  for (let i = icmp + 8; i < off + totalLength; i++) buf[i] = i & 0xff;
  buf.writeUInt16BE(internetChecksum(buf, icmp, off + totalLength), icmp + 2);
}

/** An IPv4 UDP datagram of `totalLength` bytes (checksum 0 = none, RFC 768) written at `off`. */
export function writeUdp(
  buf: Buffer,
  off: number,
  totalLength: number,
  src: string,
  dst: string,
  srcPort: number,
  dstPort: number,
  id = 0,
): void {
  writeIpv4Header(buf, off, totalLength, 17, src, dst, id);
  const u = off + 20;
  buf.writeUInt16BE(srcPort, u);
  buf.writeUInt16BE(dstPort, u + 2);
  buf.writeUInt16BE(totalLength - 20, u + 4);
  buf.writeUInt16BE(0, u + 6);
}

/** Turn an IPv4 ICMP echo request (a copy) into the matching echo reply. */
export function echoReplyFor(request: Uint8Array): Buffer {
  const p = Buffer.from(request);
  const ihl = ((p[0] ?? 0) & 0x0f) * 4;
  const dst = Buffer.from(p.subarray(16, 20)); // swap source and destination
  p.copyWithin(16, 12, 16);
  p.set(dst, 12);
  p[8] = 64;
  p.writeUInt16BE(0, 10);
  p.writeUInt16BE(internetChecksum(p, 0, ihl), 10);
  p[ihl] = ICMP_ECHO_REPLY;
  p.writeUInt16BE(0, ihl + 2);
  p.writeUInt16BE(internetChecksum(p, ihl, p.length), ihl + 2);
  return p;
}

/** Fail (never skip) unless this process can create TUN devices: CI runs as root. */
export function requireTunPrivileges(): void {
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0) {
    throw new Error(`TUN/raw-socket tests need root (uid 0) for CAP_NET_ADMIN/CAP_NET_RAW; running as uid ${uid}`);
  }
  if (!existsSync('/dev/net/tun')) throw new Error('/dev/net/tun is missing: load the tun module (modprobe tun)');
}

/** Create network namespace `name` with loopback up. */
export async function createNetns(name: string): Promise<void> {
  await runIp(['netns', 'add', name]);
  await runIp(['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Delete network namespace `name`, ignoring "does not exist". */
export async function deleteNetns(name: string): Promise<void> {
  try {
    await runIp(['netns', 'del', name]);
  } catch {
    // already gone
  }
}

/** Result of {@link execInNetns}. */
export interface ExecResult {
  /** Exit code (null if killed). */
  readonly code: number | null;
  /** Standard output. */
  readonly stdout: string;
  /** Standard error. */
  readonly stderr: string;
}

/** Run `cmd args` inside `netns` (`ip netns exec`) without a shell; never rejects. */
export function execInNetns(netns: string, cmd: string, args: readonly string[], timeoutMs = 15_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', netns, cmd, ...args], { timeout: timeoutMs, encoding: 'utf8' }, (e, stdout, stderr) => {
      const code = e === null ? 0 : typeof e.code === 'number' ? e.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}
