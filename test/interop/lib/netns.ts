/**
 * A throw-away network topology for one test file: one "switch" namespace holding bridge br0 and one
 * namespace per node, joined to the bridge by a veth pair (`eth0` inside the node). Names are unique
 * per run (`l2k-<pid>-<seq>-<node>`), addresses come from 198.18.0.0/15 only, IPv6 is disabled, no
 * namespace has a default route, and the veths are created directly inside their namespaces, so nothing
 * is ever added to the host's own namespace.
 */
import { spawnSync } from 'node:child_process';
import { run } from './host.js';
import { trackNamespace, untrackNamespace } from './process.js';

/** One node of the topology. */
export interface TopologyNode {
  /** Namespace name. */
  readonly ns: string;
  /** IPv4 address of `eth0` (in 198.18.0.0/15). */
  readonly address: string;
  /** Interface name inside the namespace. */
  readonly iface: 'eth0';
}

/** A running topology. `destroy()` removes every namespace (stop the processes inside first). */
export interface Topology {
  readonly prefix: string;
  /** The switch namespace; captures run here on `br0`. */
  readonly bridgeNs: string;
  readonly bridgeIface: 'br0';
  node(name: string): TopologyNode;
  destroy(): Promise<void>;
}

let seq = 0;

/**
 * Creates a bridge namespace and one namespace per node name, addresses 198.18.<subnet>.<1..n>/24;
 * names are `<namePrefix>-<pid>-<seq>-<node>`.
 */
export async function createTopology(nodeNames: readonly string[], subnet = 42, namePrefix = 'l2k'): Promise<Topology> {
  if (subnet < 0 || subnet > 255) throw new Error('subnet must be 0..255 (198.18.<subnet>.0/24)');
  if (!/^[a-z0-9]{1,8}$/.test(namePrefix)) throw new Error(`bad namespace prefix '${namePrefix}'`);
  seq += 1;
  // L2TPKIT_NETNS_PREFIX overrides the default prefix (several runs on one host keep apart).
  const prefix = `${namePrefix === 'l2k' ? (process.env['L2TPKIT_NETNS_PREFIX'] ?? 'l2k') : namePrefix}-${process.pid}-${seq}`;
  const bridgeNs = `${prefix}-sw`;
  const nodes = new Map<string, TopologyNode>();
  const created: string[] = [];
  const addNs = async (ns: string): Promise<void> => {
    trackNamespace(ns);
    await run('ip', ['netns', 'add', ns]);
    created.push(ns);
    // IPv4 only: no link-local/ND/MLD chatter in captures.
    await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  };
  const destroy = async (): Promise<void> => {
    for (const ns of created.reverse()) {
      await run('ip', ['netns', 'del', ns], { check: false, timeoutMs: 10_000 });
      untrackNamespace(ns);
    }
    created.length = 0;
  };
  try {
    await addNs(bridgeNs);
    await run('ip', ['-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    await run('ip', ['-n', bridgeNs, 'link', 'set', 'br0', 'up']);
    let host = 0;
    for (const name of nodeNames) {
      if (!/^[a-z0-9]{1,12}$/.test(name) || nodes.has(name)) throw new Error(`bad or duplicate node name '${name}'`);
      host += 1;
      const ns = `${prefix}-${name}`;
      await addNs(ns);
      const port = `v${host}`;
      // Both ends are created inside their namespaces: no interface name ever touches the host namespace.
      await run('ip', ['link', 'add', port, 'netns', bridgeNs, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await run('ip', ['-n', bridgeNs, 'link', 'set', port, 'master', 'br0', 'up']);
      const address = `198.18.${subnet}.${host}`;
      await run('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      nodes.set(name, { ns, address, iface: 'eth0' });
    }
  } catch (e) {
    await destroy();
    throw e;
  }
  return {
    prefix,
    bridgeNs,
    bridgeIface: 'br0',
    node(name: string): TopologyNode {
      const n = nodes.get(name);
      if (!n) throw new Error(`no node '${name}' in topology ${prefix}`);
      return n;
    },
    destroy,
  };
}

/** `ip -n NS ARGS` (bounded to 10 s); throws with ip's stderr when it fails. */
export function ipIn(ns: string, args: readonly string[]): void {
  const r = spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip -n ${ns} ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** `ip ARGS` in the root namespace (bounded to 10 s); throws with ip's stderr when it fails. */
export function ip(args: readonly string[]): void {
  const r = spawnSync('ip', [...args], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** `sysctl -qw K=V ...` inside namespace `ns`; throws when it fails. */
export function sysctlIn(ns: string, ...kv: string[]): void {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', ...kv], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`sysctl ${kv.join(' ')} in ${ns}: ${r.stderr.trim()}`);
}
