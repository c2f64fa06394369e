/**
 * Network-namespace helpers for benchmarks: one namespace joined to the root namespace by a veth
 * pair with a /30 from 198.18.0.0/15 (RFC 2544 benchmarking space). Creation registers the
 * namespace with the cleanup registry first, so every exit path deletes it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { trackNetns, untrackNetns } from './cleanup.js';

/** The root-namespace veth end of each namespace made here (deleted before the namespace). */
const hostLinks = new Map<string, string>();

/** A namespace with one veth to the root namespace. */
export interface VethNetns {
  /** Namespace name. */
  readonly name: string;
  /** veth end in the root namespace. */
  readonly hostIf: string;
  /** veth end inside the namespace. */
  readonly nsIf: string;
  /** Address of the root-namespace end. */
  readonly hostAddress: string;
  /** Address of the namespace end. */
  readonly nsAddress: string;
}

/** Run a command, resolving stdout; rejects with stderr on failure or after `timeoutMs`. */
export function run(cmd: string, args: readonly string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** True when running as root (uid 0). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** The absolute path of an executable on PATH (or in /usr/sbin, /sbin), undefined when absent. */
export function which(cmd: string): string | undefined {
  try {
    const out = execFileSync('sh', ['-c', `PATH="$PATH:/usr/sbin:/sbin" command -v ${cmd}`], { encoding: 'utf8', timeout: 5000 });
    const p = out.trim();
    return p === '' ? undefined : p;
  } catch {
    return undefined;
  }
}

/**
 * Create namespace `name` and a veth pair `hostIf` (root ns, `hostAddress`/30) <-> `nsIf`
 * (in `name`, `nsAddress`/30), both up, loopback up in the namespace, IPv6 off on the pair.
 */
export async function createVethNetns(name: string, hostIf: string, nsIf: string, hostAddress: string, nsAddress: string): Promise<VethNetns> {
  trackNetns(name);
  hostLinks.set(name, hostIf);
  await run('ip', ['netns', 'add', name]);
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  await run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf, 'netns', name]);
  await run('sysctl', ['-qw', `net.ipv6.conf.${hostIf}.disable_ipv6=1`]).catch(() => '');
  await run('ip', ['netns', 'exec', name, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']).catch(() => '');
  await run('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', hostIf]);
  await run('ip', ['link', 'set', hostIf, 'up']);
  await run('ip', ['-n', name, 'addr', 'add', `${nsAddress}/30`, 'dev', nsIf]);
  await run('ip', ['-n', name, 'link', 'set', nsIf, 'up']);
  return { name, hostIf, nsIf, hostAddress, nsAddress };
}

/** Delete a namespace (its veth pair goes with it). Processes inside must be stopped first. */
export async function deleteNetns(name: string): Promise<void> {
  // The pair first, synchronously: a veth left to the namespace's teardown lingers a moment in the
  // root namespace, and the next run's pair of the same name then fails with "File exists".
  const hostIf = hostLinks.get(name);
  if (hostIf !== undefined) await run('ip', ['link', 'del', hostIf]).catch(() => '');
  hostLinks.delete(name);
  await run('ip', ['netns', 'del', name]).catch(() => '');
  untrackNetns(name);
}
