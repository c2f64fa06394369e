/**
 * Our RADIUS client core (and optionally the DAE server core) as a separate process, so the tests
 * can run it inside a network namespace and kill it in the middle: `ip netns exec NS node
 * radius-child.js CONFIG.json`. It listens for JSON-line commands on a Unix socket (the filesystem
 * is shared across namespaces) and writes every answer and event back as JSON lines.
 *
 * Commands: `{"id":1,"op":"auth","request":{...}}`, `{"id":2,"op":"acct","record":{...}}`,
 * `{"id":3,"op":"snapshot"}`, `{"id":4,"op":"flush"}`, `{"id":5,"op":"quit"}`.
 * Octet strings travel as `{"$hex": "..."}` both ways.
 */
import { createServer, type Socket } from 'node:net';
import { readFileSync, rmSync } from 'node:fs';
import { RadiusClient } from '../../../src/aaa/radius/client.js';
import { DaeServer, type CoaChanges, type DaeClientConfig, type DaeSessionIdentity } from '../../../src/aaa/radius/dae.js';
import type { NasIdentity, RadiusServerConfig } from '../../../src/aaa/radius/types.js';
import { systemClock } from '../../../src/io/clock.js';
import { cryptoRandom } from '../../../src/io/random.js';
import { RadiusClientShell } from '../../../src/io/radius-client-socket.js';
import { DaeSocket } from '../../../src/io/radius-dae-socket.js';
import { RadiusSpool } from '../../../src/io/radius-spool.js';
import { TimerDriver } from '../../../src/io/timer-driver.js';
import { fromWire, toWire } from './radius-json.js';

/** A fake session for the DAE session table. */
export interface ChildDaeSession {
  readonly acctSessionId: string;
  readonly userName: string;
  readonly framedIpAddress: string;
  readonly nasPort: number;
}

/** The child's configuration file. */
export interface RadiusChildConfig {
  /** Unix socket path for commands. */
  readonly control: string;
  readonly authServers: readonly RadiusServerConfig[];
  readonly accountingServers: readonly RadiusServerConfig[];
  readonly nas: NasIdentity;
  /** Durable accounting spool file (restored on start). */
  readonly spool?: string;
  readonly maxInFlight?: number;
  readonly retryIntervalMs?: number;
  readonly dae?: { readonly address: string; readonly port: number; readonly clients: readonly DaeClientConfig[]; readonly sessions: readonly ChildDaeSession[] };
}

async function main(): Promise<void> {
  const path = process.argv[2];
  if (path === undefined) throw new Error('usage: radius-child.js CONFIG.json');
  const cfg = fromWire(JSON.parse(readFileSync(path, 'utf8'))) as RadiusChildConfig;
  const peers = new Set<Socket>();
  const emit = (o: unknown): void => {
    const line = `${JSON.stringify(toWire(o))}\n`;
    for (const p of peers) p.write(line);
  };
  const timers = new TimerDriver({ now: systemClock.now });
  const opened = cfg.spool === undefined ? undefined : await RadiusSpool.open({ path: cfg.spool });
  const core = new RadiusClient({
    authServers: cfg.authServers,
    accountingServers: cfg.accountingServers,
    nas: cfg.nas,
    random: cryptoRandom,
    wallClock: () => Date.now(),
    accounting: { durable: opened !== undefined, maxInFlight: cfg.maxInFlight ?? 32, retryIntervalMs: cfg.retryIntervalMs ?? 1000 },
  });
  const shell = new RadiusClientShell({
    core,
    clock: systemClock,
    timers,
    ...(opened !== undefined ? { spool: opened.spool } : {}),
    onEvent: (event) => emit({ event }),
    onError: (e) => emit({ error: e.message }),
  });
  const restored = opened === undefined ? 0 : shell.run((now, c) => c.restoreAccounting(now, opened.records));

  let dae: DaeSocket<ChildDaeSession> | undefined;
  if (cfg.dae !== undefined) {
    const sessions = [...cfg.dae.sessions];
    const matches = (s: ChildDaeSession, q: DaeSessionIdentity): boolean =>
      (q.acctSessionId === undefined || q.acctSessionId === s.acctSessionId) &&
      (q.userName === undefined || q.userName === s.userName) &&
      (q.framedIpAddress === undefined || q.framedIpAddress === s.framedIpAddress) &&
      (q.nasPort === undefined || q.nasPort === s.nasPort);
    const daeCore = new DaeServer<ChildDaeSession>({
      clients: cfg.dae.clients,
      nas: cfg.nas,
      wallClock: () => Date.now(),
      sessions: {
        find: (q) => sessions.filter((s) => matches(s, q)),
        disconnect: (_now, s) => {
          sessions.splice(sessions.indexOf(s), 1);
          emit({ disconnected: s.acctSessionId });
          return { ok: true };
        },
        change: (_now, s, changes: CoaChanges) => {
          emit({ changed: s.acctSessionId, changes });
          return { ok: true };
        },
      },
    });
    dae = await DaeSocket.open({ core: daeCore, address: cfg.dae.address, port: cfg.dae.port, clock: systemClock, timers, onEvent: (daeEvent) => emit({ daeEvent }) });
  }

  const handle = async (cmd: { id: number; op: string; request?: never; record?: never }): Promise<unknown> => {
    switch (cmd.op) {
      case 'auth':
        return { answer: await shell.authenticate(cmd.request as never) };
      case 'acct':
        return { result: shell.account(cmd.record as never) };
      case 'snapshot':
        return { snapshot: core.snapshot(), shell: shell.stats, spoolPending: opened?.spool.pending };
      case 'flush':
        await shell.flushSpool();
        return {};
      case 'quit':
        await shell.close();
        await dae?.close();
        await opened?.spool.close();
        timers.close();
        setImmediate(() => process.exit(0));
        return {};
      default:
        return { error: `unknown op ${cmd.op}` };
    }
  };

  rmSync(cfg.control, { force: true });
  const server = createServer((sock) => {
    peers.add(sock);
    sock.on('close', () => peers.delete(sock));
    sock.on('error', () => peers.delete(sock));
    let buf = '';
    sock.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const cmd = fromWire(JSON.parse(line)) as { id: number; op: string };
        void handle(cmd).then((r) => sock.write(`${JSON.stringify(toWire({ reply: cmd.id, ...(r as object) }))}\n`));
      }
    });
  });
  await new Promise<void>((r) => server.listen(cfg.control, () => r()));
  process.stdout.write(`radius-child ready pid ${process.pid} restored ${restored}${dae !== undefined ? ` dae ${dae.local.address}:${dae.local.port}` : ''}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`radius-child failed: ${String(e)}\n`);
  process.exit(1);
});
