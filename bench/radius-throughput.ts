// RADIUS client throughput against FreeRADIUS 3.2 (Debian, threaded `-f`, detail file on): our
// client core (src/aaa/radius) driven by its io shell in this process vs FreeRADIUS's own
// `radclient` as the baseline, same server, same path, same window, interleaved rounds.
//   accounting : --count Interim-Update records of --sessions sessions, --window in flight;
//                ours with the in-memory queue and with the durable spool (fsync per batch);
//                radclient -p WINDOW from a file of the same records
//   auth       : --count PAP Access-Requests (with Message-Authenticator), --window in flight
// FreeRADIUS runs in namespace rad-bench-<pid> (198.18.212.2) behind a veth; we are 198.18.212.1.
// Rate = requests answered / (first send .. last answer). Medians and ranges over --rounds.
// Needs root. Run: npx tsx bench/radius-throughput.ts [--count=4000] [--sessions=1000] [--window=32] [--rounds=3]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RadiusClient } from '../src/aaa/radius/client.js';
import type { AccountingRecord } from '../src/aaa/radius/types.js';
import { systemClock } from '../src/io/clock.js';
import { cryptoRandom } from '../src/io/random.js';
import { RadiusClientShell } from '../src/io/radius-client-socket.js';
import { RadiusSpool } from '../src/io/radius-spool.js';
import { TimerDriver } from '../src/io/timer-driver.js';
import { startFreeRadius, type FreeRadiusUser } from '../test/interop/lib/freeradius.js';
import { run as runCmd, waitUntil } from '../test/interop/lib/host.js';
import { spawnIn, type ManagedProcess } from '../test/interop/lib/process.js';
import { cleanupAll, trackDir, watchdog } from './lib/cleanup.js';
import { machineLines } from './lib/machine.js';
import { createVethNetns, deleteNetns, isRoot } from './lib/netns.js';
import { fmtNum, fmtRatio, formatTable, numArg, percentile } from './lib/table.js';

const COUNT = Math.max(100, numArg('count', 4000));
const SESSIONS = Math.max(1, numArg('sessions', 1000));
const WINDOW = Math.max(1, numArg('window', 32));
const ROUNDS = Math.max(1, numArg('rounds', 3));
const HOST = '198.18.212.1';
const SERVER = '198.18.212.2';
const SECRET = 'bench-radius-s3cret';
const tag = process.pid.toString(36);
const NS = `rad-bench-${tag}`;
const USERS = 200;

type Case = 'acct ours (memory)' | 'acct ours (spool)' | 'acct radclient' | 'auth ours' | 'auth radclient';

function makeClient(durable: boolean): RadiusClient {
  const srv = { address: SERVER, secret: SECRET, timeoutMs: 3000, retries: 3 };
  return new RadiusClient({
    authServers: [{ name: 'auth', ...srv }],
    accountingServers: [{ name: 'acct', ...srv }],
    nas: { ipAddress: HOST, identifier: 'bench' },
    random: cryptoRandom,
    wallClock: () => Date.now(),
    accounting: { maxInFlight: WINDOW, durable, maxQueued: COUNT * 2 },
  });
}

const interim = (i: number, base: number): AccountingRecord => ({
  status: 'interim-update',
  sessionId: `bench-${i % SESSIONS}`,
  timestamp: base,
  username: `u${i % USERS}`,
  sessionTime: Math.floor(i / SESSIONS) * 60,
  counters: { inputOctets: i * 1000, outputOctets: i * 2000, inputPackets: i, outputPackets: 2 * i },
  session: { nasPort: i % SESSIONS },
});

/** Our accounting: COUNT records queued at once, WINDOW in flight; seconds until the last answer. */
async function oursAcct(dir: string, durable: boolean): Promise<number> {
  const timers = new TimerDriver({ now: systemClock.now });
  const opened = durable ? await RadiusSpool.open({ path: join(dir, `spool-${Date.now()}`) }) : undefined;
  let delivered = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));
  const shell = new RadiusClientShell({
    core: makeClient(durable),
    clock: systemClock,
    timers,
    ...(opened !== undefined ? { spool: opened.spool } : {}),
    onEvent: (e) => {
      if (e.type === 'accounting-delivered' && ++delivered === COUNT) done();
    },
  });
  const base = Date.now();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < COUNT; i++) if (!shell.account(interim(i, base)).ok) throw new Error('record refused');
  await finished;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await shell.close();
  await opened?.spool.close();
  timers.close();
  return s;
}

/** Our authentication: COUNT PAP requests, at most WINDOW outstanding. */
async function oursAuth(): Promise<number> {
  const timers = new TimerDriver({ now: systemClock.now });
  const shell = new RadiusClientShell({ core: makeClient(false), clock: systemClock, timers });
  let next = 0;
  let accepted = 0;
  const t0 = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < COUNT) {
      const i = next++;
      const a = await shell.authenticate({ username: `u${i % USERS}`, credentials: { method: 'pap', password: `p${i % USERS}` } });
      if (a.kind === 'accept') accepted++;
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (accepted !== COUNT) throw new Error(`only ${accepted} of ${COUNT} accepted`);
  await shell.close();
  timers.close();
  return s;
}

/** radclient -p WINDOW over a file of COUNT requests; seconds of the whole run. */
async function radclient(file: string, kind: 'auth' | 'acct'): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await runCmd('radclient', ['-q', '-p', String(WINDOW), '-r', '3', '-t', '3', '-f', file, `${SERVER}:${kind === 'auth' ? 1812 : 1813}`, kind, SECRET], { check: false, timeoutMs: 300_000 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.code !== 0) throw new Error(`radclient exit ${String(r.code)}: ${(r.stderr || r.stdout).slice(-300)}`);
  return s;
}

function writeRequestFiles(dir: string): { auth: string; acct: string } {
  const base = Math.floor(Date.now() / 1000);
  const acct: string[] = [];
  const auth: string[] = [];
  for (let i = 0; i < COUNT; i++) {
    const octets = i * 1000;
    acct.push(
      [
        'Acct-Status-Type = Interim-Update',
        `Acct-Session-Id = "bench-${i % SESSIONS}"`,
        `User-Name = "u${i % USERS}"`,
        `NAS-IP-Address = ${HOST}`,
        'NAS-Identifier = "bench"',
        `NAS-Port = ${i % SESSIONS}`,
        'NAS-Port-Type = Virtual',
        'Service-Type = Framed-User',
        'Framed-Protocol = PPP',
        `Acct-Input-Octets = ${octets % 2 ** 32}`,
        `Acct-Output-Octets = ${(2 * octets) % 2 ** 32}`,
        'Acct-Input-Gigawords = 0',
        'Acct-Output-Gigawords = 0',
        `Acct-Input-Packets = ${i}`,
        `Acct-Output-Packets = ${2 * i}`,
        `Acct-Session-Time = ${Math.floor(i / SESSIONS) * 60}`,
        `Event-Timestamp = ${base}`,
        'Acct-Delay-Time = 0',
      ].join('\n'),
    );
    auth.push(`User-Name = "u${i % USERS}"\nUser-Password = "p${i % USERS}"\nMessage-Authenticator = 0x00`);
  }
  const files = { auth: join(dir, 'auth.txt'), acct: join(dir, 'acct.txt') };
  writeFileSync(files.acct, `${acct.join('\n\n')}\n`);
  writeFileSync(files.auth, `${auth.join('\n\n')}\n`);
  return files;
}

async function startServer(dir: string, procs: ManagedProcess[]): Promise<void> {
  const users: FreeRadiusUser[] = Array.from({ length: USERS }, (_, i) => ({ name: `u${i}`, password: `p${i}` }));
  const rad = await startFreeRadius({ ns: NS, dir: join(dir, 'freeradius'), clients: [{ address: HOST, secret: SECRET }], users, messageAuthenticatorInReplies: true, lifetimeMs: 900_000 });
  // Same configuration in the normal threaded mode (the harness starts -X, single-threaded).
  await rad.stop();
  const fr = spawnIn(NS, 'freeradius', ['-f', '-d', rad.raddb], { name: 'freeradius -f', lifetimeMs: 900_000 });
  procs.push(fr);
  await waitUntil('FreeRADIUS on UDP 1812/1813', async () => {
    if (!fr.running()) throw new Error(`freeradius -f exited: ${fr.output().slice(-500)}`);
    const ss = (await runCmd('ip', ['netns', 'exec', NS, 'ss', '-Hluna'])).stdout;
    return /:1812\b/.test(ss) && /:1813\b/.test(ss) ? true : undefined;
  }, 20_000);
}

async function main(): Promise<void> {
  watchdog(900_000, 'radius-throughput took too long');
  console.log(`RADIUS client throughput vs FreeRADIUS 3.2 (${COUNT} requests per round, window ${WINDOW}, ${ROUNDS} rounds)`);
  for (const l of machineLines()) console.log(l);
  if (!isRoot()) {
    console.log('\nskipped: needs root (network namespace, veth). Run as root.');
    console.log('summary: radius-throughput skipped (not root)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'l2k-radbench-'));
  trackDir(dir);
  await createVethNetns(NS, `rb${tag}h`.slice(0, 15), 'eth0', HOST, SERVER);
  const procs: ManagedProcess[] = [];
  try {
    await startServer(dir, procs);
    const files = writeRequestFiles(dir);
    const rates = new Map<Case, number[]>();
    const add = (c: Case, seconds: number): void => void rates.set(c, [...(rates.get(c) ?? []), COUNT / seconds]);
    // Warm-up (JIT, FreeRADIUS's threads and detail files): not counted.
    await oursAcct(dir, false);
    await oursAuth();
    for (let r = 0; r < ROUNDS; r++) {
      add('acct ours (memory)', await oursAcct(dir, false));
      add('acct radclient', await radclient(files.acct, 'acct'));
      add('acct ours (spool)', await oursAcct(dir, true));
      add('auth ours', await oursAuth());
      add('auth radclient', await radclient(files.auth, 'auth'));
    }
    const med = (c: Case): number | undefined => percentile(rates.get(c) ?? [], 50);
    const row = (c: Case, base: Case): string[] => {
      const xs = rates.get(c) ?? [];
      return [c, fmtNum(med(c)), `${fmtNum(Math.min(...xs))}..${fmtNum(Math.max(...xs))}`, fmtRatio(med(c), med(base))];
    };
    console.log('');
    console.log(
      formatTable(
        ['case', 'median req/s', 'range', 'vs radclient'],
        [row('acct ours (memory)', 'acct radclient'), row('acct ours (spool)', 'acct radclient'), row('acct radclient', 'acct radclient'), row('auth ours', 'auth radclient'), row('auth radclient', 'auth radclient')],
        ['left', 'right', 'right', 'right'],
      ),
    );
    console.log(`summary: radius interims/s ours ${fmtNum(med('acct ours (memory)'))} (spool ${fmtNum(med('acct ours (spool)'))}) vs radclient ${fmtNum(med('acct radclient'))}; Access-Request round trips/s ours ${fmtNum(med('auth ours'))} vs radclient ${fmtNum(med('auth radclient'))}`);
  } finally {
    for (const p of procs) await p.stop(2000);
    await deleteNetns(NS);
    cleanupAll();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  cleanupAll();
  process.exit(1);
});
