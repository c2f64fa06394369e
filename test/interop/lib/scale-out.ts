/**
 * One stateless LNS node of the scale-out test (docs/SCALE-OUT.md, examples/scale-out-node.toml):
 * our l2tpd with no local pool (every address from the RADIUS Access-Accept), RADIUS accounting,
 * a /32 with protocol number `ROUTE_PROTOCOL` on its TUN per session, and the FRR policy that
 * announces exactly those routes to the core.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tail, waitUntil } from './host.js';
import { spawnIn, type ManagedProcess } from './process.js';
import { controlRequest } from '../../../bench/lib/ppp-lns.js';

/** `[tun] route_protocol` of the nodes: the per-session routes are `proto 200` in the kernel. */
export const ROUTE_PROTOCOL = 200;

/** What differs between nodes. */
export interface NodeSettings {
  readonly name: string;
  readonly dir: string;
  readonly listen: string;
  /** The LNS's own PPP address (outside the central pool). */
  readonly localAddress: string;
  readonly radius: string;
  readonly secret: string;
}

/** The node's l2tpd.toml (the same text as examples/scale-out-node.toml, with the test's addresses). */
export function renderNodeConfig(n: NodeSettings, socket: string): string {
  const q = (s: string): string => JSON.stringify(s);
  return [
    '[daemon]',
    `control_socket = ${q(socket)}`,
    'log_level = "info"',
    `state_dir = ${q(join(n.dir, 'state'))}`,
    '',
    '[l2tp]',
    `host_name = ${q(n.name)}`,
    'hello_interval = 0',
    'retransmit_initial = 0.5',
    'retransmit_cap = 2',
    '',
    '[[listen]]',
    `address = ${q(n.listen)}`,
    '',
    '[ipsec]',
    'enabled = false',
    '',
    '[ppp]',
    'allow_insecure = true',
    'auth = ["chap"]',
    '',
    '# No local pool: the address comes from the Access-Accept (FreeRADIUS sqlippool).',
    '[pool]',
    'local = false',
    `local_address = ${q(n.localAddress)}`,
    '',
    '[users]',
    `file = ${q(join(n.dir, 'users'))}`,
    '',
    '[tun]',
    'name = "l2tp0"',
    `route_protocol = ${ROUTE_PROTOCOL}`,
    '',
    '[radius]',
    'auth_order = ["radius"]',
    '',
    '[[radius.server]]',
    `address = ${q(n.radius)}`,
    `secret = ${q(n.secret)}`,
    'timeout = 3',
    'retries = 3',
    '',
  ].join('\n');
}

/** FRR policy on the nodes and the core: only host routes out of the subscriber range. */
export const SUBSCRIBER_POLICY: readonly string[] = [
  'ip prefix-list SUBSCRIBERS seq 5 permit 100.64.0.0/10 ge 32',
  '!',
  'route-map SUBSCRIBERS permit 10',
  ' match ip address prefix-list SUBSCRIBERS',
  '!',
  'route-map NOTHING deny 10',
];

/** A running node daemon. */
export interface LnsNode {
  readonly proc: ManagedProcess;
  readonly socket: string;
  control<T>(req: Readonly<Record<string, unknown>>, timeoutMs?: number): Promise<T>;
  logTail(n?: number): string;
}

/** Writes the config (and an empty users file) and starts l2tpd in `ns`; resolves once its control socket answers. */
export async function startNode(ns: string, n: NodeSettings, lifetimeMs: number): Promise<LnsNode> {
  const socket = join(n.dir, 'l2tpd.sock');
  const config = join(n.dir, 'l2tpd.toml');
  writeFileSync(config, renderNodeConfig(n, socket));
  writeFileSync(join(n.dir, 'users'), '');
  const root = repoRoot();
  const proc = spawnIn(ns, process.execPath, [join(root, 'bin', 'l2tpd.js'), '--config', config, '--socket', socket], { name: `l2tpd@${n.name}`, lifetimeMs, logFile: join(n.dir, 'l2tpd.log'), cwd: root });
  const logTail = (k = 30): string => tail(proc.output(), k);
  await waitUntil(
    `l2tpd ${n.name} control socket`,
    async () => {
      if (!proc.running()) throw new Error(`l2tpd ${n.name} exited at start:\n${logTail()}`);
      return (await controlRequest(socket, { cmd: 'ping' }, 2000).catch(() => undefined)) === 'pong' ? true : undefined;
    },
    20_000,
    logTail,
  );
  return { proc, socket, control: async <T>(req: Readonly<Record<string, unknown>>, timeoutMs = 15_000) => (await controlRequest(socket, req, timeoutMs)) as T, logTail };
}
