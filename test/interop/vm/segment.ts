/**
 * A private L2 segment for guest tests: a network namespace holding a bridge, optionally with an
 * address on the bridge itself (so processes run in that namespace talk to the guests directly)
 * and extra peer namespaces joined by veth pairs. Addresses must come from 198.18.0.0/15.
 * IPv6 is disabled everywhere so the bridge carries only IPv4 (plus ARP).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** A created segment; call destroy() (idempotent) when done. */
export interface Segment {
  /** Namespace holding the bridge. */
  readonly netns: string;
  /** The bridge's name inside `netns`. */
  readonly bridge: string;
  /** Address on the bridge (with prefix) if one was given. */
  readonly bridgeIp: string | undefined;
  /** Namespaces added by addPeer, in order. */
  readonly peers: readonly string[];
  /** Creates namespace `<netns>-<suffix>` with `eth0` = `ip` (with prefix) bridged onto the segment. */
  addPeer(suffix: string, ip: string): string;
  /** Command line prefix running a program inside `ns` (default the bridge namespace). */
  exec(ns?: string): string[];
  /** Deletes the peer namespaces and the bridge namespace (processes in them must be gone). */
  destroy(): void;
}

/** Creates a segment `l2kvm-<random>` (or `name`) with bridge `br0`. Needs root. */
export function createSegment(opts: { name?: string; bridgeIp?: string } = {}): Segment {
  const netns = opts.name ?? `l2kvm-${randomBytes(3).toString('hex')}`;
  const bridge = 'br0';
  const peers: string[] = [];
  ip(['netns', 'add', netns]);
  try {
    sysctlV6Off(netns);
    ip(['-n', netns, 'link', 'set', 'lo', 'up']);
    ip(['-n', netns, 'link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    ip(['-n', netns, 'link', 'set', bridge, 'up']);
    if (opts.bridgeIp !== undefined) ip(['-n', netns, 'addr', 'add', opts.bridgeIp, 'dev', bridge]);
  } catch (e) {
    spawnSync('ip', ['netns', 'del', netns], { stdio: 'ignore' });
    throw e;
  }
  let destroyed = false;
  return {
    netns,
    bridge,
    bridgeIp: opts.bridgeIp,
    peers,
    exec: (ns = netns) => ['ip', 'netns', 'exec', ns],
    addPeer(suffix, addr) {
      const ns = `${netns}-${suffix}`;
      const n = peers.length;
      const outer = `${netns.slice(-6)}p${n}`;
      ip(['netns', 'add', ns]);
      peers.push(ns);
      sysctlV6Off(ns);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', netns, 'link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      ip(['-n', netns, 'link', 'set', outer, 'master', bridge, 'up']);
      ip(['-n', ns, 'addr', 'add', addr, 'dev', 'eth0']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      return ns;
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const ns of [...peers, netns]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 10_000 });
    },
  };
}

function sysctlV6Off(ns: string): void {
  spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'], {
    stdio: 'ignore',
  });
}

function ip(args: readonly string[]): void {
  const r = spawnSync('ip', [...args], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${(r.stderr ?? '').trim()}`);
}
