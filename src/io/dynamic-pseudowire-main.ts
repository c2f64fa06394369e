/**
 * Runner for dynamic L2TPv3 pseudowires, used by the interop tests next to the daemon's
 * [[l2tpv3.pseudowire]] sections: `node dist/src/io/dynamic-pseudowire-main.js '<DynamicRunnerConfig JSON>'`.
 * Prints `READY {"taps":{...}}` once running, `EVENT {...}` per engine event (bytes as hex, control
 * messages left out), `STATS {...}` (DynamicPseudowireStatus) on SIGUSR1 and before exiting on
 * SIGTERM/SIGINT, `ERROR text` for socket/TAP errors. Exit 2 on bad settings, 1 when the system
 * refuses the TAP or the socket.
 */
import { parseIpv4, type Duration } from '../base/index.js';
import { defaultTuning, isV3ProfileName, resolveV3Profile, type V3ConnectionSettings, type V3EngineConfig } from '../l2tp/index.js';
import { DynamicPseudowires } from './dynamic-pseudowire.js';

/** The runner's JSON settings. */
export interface DynamicRunnerConfig {
  readonly local: string;
  readonly port?: number;
  readonly hostName: string;
  /** Router ID as a dotted quad (default: `local`). */
  readonly routerId?: string;
  readonly secret?: string;
  readonly messageDigest?: 'md5' | 'sha1' | 'none';
  readonly challenge?: boolean;
  readonly profile?: string;
  /** UDP (default) or IP protocol 115. */
  readonly encapsulation?: 'udp' | 'ip';
  /** Override of the profile's cookie length (the cookie we assign). */
  readonly cookieLength?: 0 | 4 | 8;
  readonly helloInterval?: number;
  readonly helloMissCount?: number;
  readonly retransmitInitial?: number;
  readonly retries?: number;
  /** Responder: accept peers with these identities (empty: any). */
  readonly accept?: boolean;
  readonly allowedPeers?: readonly { readonly hostName?: string; readonly routerId?: string }[];
  /** Initiator: dial this peer always-on. */
  readonly dial?: { readonly address: string; readonly port?: number };
  readonly backoffInitial?: number;
  readonly backoffMax?: number;
  readonly pseudowires: readonly { readonly remoteEndId: string; readonly tap?: string; readonly bridge?: string; readonly mssClamp?: number }[];
}

/** Runner settings to the shell's options; a string on bad input. */
export function runnerOptions(c: DynamicRunnerConfig): { engine: V3EngineConfig; dials: Parameters<typeof DynamicPseudowires.open>[0]['dials'] } | string {
  const profileName = c.profile ?? 'linux';
  if (!isV3ProfileName(profileName)) return `unknown profile ${profileName}`;
  const pr = resolveV3Profile(profileName, c.cookieLength !== undefined ? { pseudowire: { cookieLength: c.cookieLength } } : {});
  if (!pr.ok) return pr.error;
  const p = pr.value;
  const routerId = parseIpv4(c.routerId ?? c.local);
  if (routerId === undefined) return 'routerId must be an IPv4 address';
  const tuning = {
    ...defaultTuning(),
    helloInterval: (c.helloInterval ?? p.helloInterval) as Duration,
    helloMissCount: c.helloMissCount ?? p.helloMissCount,
    ...(c.retransmitInitial !== undefined ? { retransmitInitial: c.retransmitInitial as Duration } : {}),
    ...(c.retries !== undefined ? { retriesEstablished: c.retries, retriesNotEstablished: c.retries } : {}),
  };
  const digest = c.messageDigest === 'none' ? undefined : (c.messageDigest ?? p.messageDigest);
  const allowed = [];
  for (const a of c.allowedPeers ?? []) {
    const rid = a.routerId !== undefined ? parseIpv4(a.routerId) : undefined;
    if (a.routerId !== undefined && rid === undefined) return `bad allowed routerId ${a.routerId}`;
    allowed.push({ ...(a.hostName !== undefined ? { hostName: a.hostName } : {}), ...(rid !== undefined ? { routerId: rid } : {}) });
  }
  const settings: V3ConnectionSettings = {
    hostName: c.hostName,
    routerId,
    vendorName: 'l2tpkit',
    ...(c.secret !== undefined ? { secret: new TextEncoder().encode(c.secret) } : {}),
    ...(c.secret !== undefined && digest !== undefined ? { messageDigest: digest } : {}),
    ...(c.secret !== undefined ? { challenge: c.challenge ?? p.challenge } : {}),
    allowedPeers: allowed,
    pwCapabilities: p.pwTypes,
    tuning,
  };
  const engine: V3EngineConfig = {
    encapsulation: c.encapsulation ?? 'udp',
    acceptConnections: c.accept === true,
    accept: settings,
    acceptPseudowires: { remoteEndIds: c.pseudowires.map((x) => x.remoteEndId), cookieLength: p.pseudowire.cookieLength, pwTypes: p.pwTypes, sequencing: p.pseudowire.sequencing },
  };
  const dials =
    c.dial === undefined
      ? []
      : [
          {
            peer: { address: c.dial.address, port: c.encapsulation === 'ip' ? 0 : (c.dial.port ?? p.udpPort), family: 4 as const },
            settings,
            sessions: c.pseudowires.map((x) => ({ remoteEndId: x.remoteEndId, pseudowire: p.pseudowire })),
            backoffInitial: (c.backoffInitial ?? 1000) as Duration,
            backoffMax: (c.backoffMax ?? 60_000) as Duration,
          },
        ];
  return { engine, dials };
}

const hexify = (_k: string, v: unknown): unknown => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : typeof v === 'bigint' ? v.toString() : v);

async function main(): Promise<number> {
  const arg = process.argv[2];
  if (arg === undefined) {
    console.error('usage: dynamic-pseudowire-main CONFIG_JSON');
    return 2;
  }
  const c = JSON.parse(arg) as DynamicRunnerConfig;
  const o = runnerOptions(c);
  if (typeof o === 'string') {
    console.error(`bad settings: ${o}`);
    return 2;
  }
  const shell = await DynamicPseudowires.open({
    engine: o.engine,
    dials: o.dials ?? [],
    local: c.local,
    port: c.port ?? 1701,
    taps: c.pseudowires.map((x) => ({ remoteEndId: x.remoteEndId, ...(x.tap !== undefined ? { name: x.tap } : {}), ...(x.bridge !== undefined ? { bridge: x.bridge } : {}), ...(x.mssClamp !== undefined ? { mssClamp: x.mssClamp } : {}) })),
    onEvent: (e) => {
      if (e.type !== 'v3-control') console.log(`EVENT ${JSON.stringify(e, hexify)}`);
    },
    onError: (e) => console.log(`ERROR ${e.message}`),
  });
  const stats = (): void => console.log(`STATS ${JSON.stringify(shell.status(), hexify)}`);
  process.on('SIGUSR1', stats);
  const stop = (): void => {
    stats();
    void shell.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  console.log(`READY ${JSON.stringify({ taps: shell.tapNames() })}`);
  return new Promise<number>(() => undefined);
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`dynamic-pseudowire-main: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
