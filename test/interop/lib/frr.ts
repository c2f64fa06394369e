/**
 * FRR 8 (Debian `frr`) as a BGP speaker in a network namespace: `zebra` and `bgpd` in the foreground
 * with a config, pid files, the zserv socket and the vty sockets all in a directory of their own
 * (never /etc/frr, never the system service); they run as the `frr` user (FRR's default, whose vty
 * group is compiled in), so that directory is theirs. `vtysh --vty_socket DIR` reads their state.
 * Both daemons are `ip netns exec` children (which execs): their PIDs are the daemons' own.
 */
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tail, waitUntil } from './host.js';
import { spawnIn, type ManagedProcess } from './process.js';

/** Where the Debian package puts the daemons. */
export const FRR_DIR = '/usr/lib/frr';

/** One BGP neighbour of a speaker. */
export interface BgpNeighbor {
  readonly address: string;
  readonly remoteAs: number;
  /** Route-map names for the IPv4 unicast family. */
  readonly routeMapIn: string;
  readonly routeMapOut: string;
}

/** What {@link renderBgpdConf} writes. */
export interface BgpdConfig {
  readonly hostname: string;
  readonly as: number;
  readonly routerId: string;
  readonly neighbors: readonly BgpNeighbor[];
  /** Keepalive / hold time (s): short ones make a dead peer's routes go quickly. */
  readonly keepalive: number;
  readonly hold: number;
  /** `redistribute kernel route-map NAME` (the routes l2tpd installs on its TUN). */
  readonly redistributeKernel?: string;
  /** Prefix lists and route maps, verbatim (before `router bgp`). */
  readonly policy: readonly string[];
}

/** bgpd.conf text (exported for the docs and tests). */
export function renderBgpdConf(c: BgpdConfig): string {
  const out = [`hostname ${c.hostname}`, 'log stdout informational', '!', ...c.policy, '!', `router bgp ${c.as}`, ` bgp router-id ${c.routerId}`, ' bgp log-neighbor-changes', ` timers bgp ${c.keepalive} ${c.hold}`];
  for (const n of c.neighbors) {
    out.push(` neighbor ${n.address} remote-as ${n.remoteAs}`, ` neighbor ${n.address} timers ${c.keepalive} ${c.hold}`, ` neighbor ${n.address} timers connect 1`, ` neighbor ${n.address} advertisement-interval 0`);
  }
  out.push(' !', ' address-family ipv4 unicast');
  if (c.redistributeKernel !== undefined) out.push(`  redistribute kernel route-map ${c.redistributeKernel}`);
  for (const n of c.neighbors) out.push(`  neighbor ${n.address} route-map ${n.routeMapIn} in`, `  neighbor ${n.address} route-map ${n.routeMapOut} out`);
  out.push(' exit-address-family', '!', '');
  return out.join('\n');
}

/** One path of `show ip bgp json`, reduced to what the tests compare. */
export interface BgpPath {
  readonly prefix: string;
  /** The best path's next hop. */
  readonly nextHop: string;
}

/** Parses `vtysh -c 'show ip bgp json'`: the best path of every prefix (exported for tests). */
export function parseBgpTable(text: string): BgpPath[] {
  const v = JSON.parse(text) as { routes?: Record<string, { bestpath?: boolean; nexthops?: { ip?: string }[] }[]> };
  const out: BgpPath[] = [];
  for (const [prefix, paths] of Object.entries(v.routes ?? {})) {
    const best = paths.find((p) => p.bestpath === true) ?? paths[0];
    out.push({ prefix, nextHop: best?.nexthops?.[0]?.ip ?? '' });
  }
  return out.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}

/** A running zebra + bgpd pair. */
export interface FrrSpeaker {
  readonly dir: string;
  readonly zebra: ManagedProcess;
  readonly bgpd: ManagedProcess;
  /** `vtysh -c CMD` against these daemons; returns stdout. */
  vtysh(cmd: string): Promise<string>;
  /** `show ip bgp json`, best paths. */
  bgpTable(): Promise<BgpPath[]>;
  /** Waits until the session with `peer` is Established. */
  waitEstablished(peer: string, timeoutMs: number): Promise<void>;
  logTail(n?: number): string;
  /** SIGKILL both (a node that dies). */
  kill(): void;
  /** SIGTERM, SIGKILL after a grace period; removes the directory. */
  stop(): Promise<void>;
}

/** Options of {@link startFrr}. */
export interface FrrOptions {
  readonly ns: string;
  readonly bgpd: BgpdConfig;
  readonly lifetimeMs?: number;
}

/** Writes the configs into a fresh directory owned by `frr` and starts zebra, then bgpd. */
export async function startFrr(o: FrrOptions): Promise<FrrSpeaker> {
  const uid = Number((await run('id', ['-u', 'frr'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'frr'])).stdout.trim());
  const dir = mkdtempSync(`/tmp/l2k-clu-frr-${o.bgpd.hostname}-`);
  writeFileSync(join(dir, 'zebra.conf'), `hostname ${o.bgpd.hostname}\nlog stdout informational\n`);
  writeFileSync(join(dir, 'bgpd.conf'), renderBgpdConf(o.bgpd));
  for (const f of ['', 'zebra.conf', 'bgpd.conf']) chownSync(join(dir, f), uid, gid);
  const zserv = join(dir, 'zserv.api');
  const common = ['-z', zserv, '--vty_socket', dir, '-P', '0'];
  const lifetimeMs = o.lifetimeMs ?? 300_000;
  const zebra = spawnIn(o.ns, join(FRR_DIR, 'zebra'), ['-f', join(dir, 'zebra.conf'), '-i', join(dir, 'zebra.pid'), ...common], { name: `zebra@${o.bgpd.hostname}`, lifetimeMs, logFile: join(dir, 'zebra.log') });
  // FRR 8 prints no "starting" line at `log stdout informational`: a daemon is up once its vty socket exists.
  const up = async (p: ManagedProcess, socket: string): Promise<void> => {
    try {
      await waitUntil(`${p.name} vty socket`, () => (existsSync(join(dir, socket)) ? true : p.running() ? undefined : false), 15_000, () => tail(p.output(), 20), 100);
    } catch (e) {
      if (p.running()) process.kill(p.pid, 'SIGKILL');
      throw e;
    }
    if (!p.running()) throw new Error(`${p.name} exited during start-up:\n${tail(p.output(), 20)}`);
  };
  await up(zebra, 'zebra.vty');
  const bgpd = spawnIn(o.ns, join(FRR_DIR, 'bgpd'), ['-f', join(dir, 'bgpd.conf'), '-i', join(dir, 'bgpd.pid'), ...common, '-p', '179'], { name: `bgpd@${o.bgpd.hostname}`, lifetimeMs, logFile: join(dir, 'bgpd.log') });
  try {
    await up(bgpd, 'bgpd.vty');
  } catch (e) {
    if (zebra.running()) process.kill(zebra.pid, 'SIGKILL');
    throw e;
  }
  const vtysh = async (cmd: string): Promise<string> => (await run('ip', ['netns', 'exec', o.ns, 'vtysh', '--vty_socket', dir, '-c', cmd], { timeoutMs: 15_000 })).stdout;
  const logTail = (n = 20): string => `zebra:\n${tail(zebra.output(), n)}\nbgpd:\n${tail(bgpd.output(), n)}`;
  return {
    dir,
    zebra,
    bgpd,
    vtysh,
    bgpTable: async () => parseBgpTable(await vtysh('show ip bgp json')),
    async waitEstablished(peer: string, timeoutMs: number): Promise<void> {
      let last = '';
      await waitUntil(
        `BGP session ${o.bgpd.hostname} <-> ${peer} Established`,
        async () => {
          const v = JSON.parse((last = await vtysh(`show ip bgp neighbors ${peer} json`))) as Record<string, { bgpState?: string }>;
          return v[peer]?.bgpState === 'Established' ? true : undefined;
        },
        timeoutMs,
        () => `last: ${last.slice(0, 400)}\n${logTail()}`,
        250,
      );
    },
    logTail,
    kill(): void {
      for (const p of [bgpd, zebra]) {
        if (!p.running()) continue;
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    },
    async stop(): Promise<void> {
      await bgpd.stop(3000);
      await zebra.stop(3000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
