/**
 * Parent side of `radius-child.ts`: starts our RADIUS client (and DAE server) core in a namespace
 * as its own process, sends it commands over its Unix socket and collects its events.
 */
import { connect, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RadiusClientSnapshot, RadiusAuthAnswer, RadiusAuthRequest, AccountingRecord, RadiusClientEvent } from '../../../src/aaa/radius/types.js';
import type { DaeEvent } from '../../../src/aaa/radius/dae.js';
import { tail, waitUntil } from './host.js';
import { spawnIn, type ManagedProcess } from './process.js';
import type { RadiusChildConfig } from './radius-child.js';
import { fromWire, toWire } from './radius-json.js';

/** One line the child wrote (an event, a reply, a DAE event, a session change, an error). */
export interface ChildMessage {
  readonly event?: RadiusClientEvent;
  readonly daeEvent?: DaeEvent;
  readonly disconnected?: string;
  readonly changed?: string;
  readonly changes?: Record<string, number>;
  readonly error?: string;
  readonly reply?: number;
  readonly [k: string]: unknown;
}

/** A running child. */
export interface RadiusChild {
  readonly proc: ManagedProcess;
  /** Records restored from the spool at start. */
  readonly restored: number;
  /** Every message so far, in order. */
  readonly messages: ChildMessage[];
  auth(request: RadiusAuthRequest): Promise<RadiusAuthAnswer>;
  acct(record: AccountingRecord): Promise<{ ok: boolean; value?: number; error?: unknown }>;
  snapshot(): Promise<{ snapshot: RadiusClientSnapshot; spoolPending?: number }>;
  flush(): Promise<void>;
  /** Waits for a message satisfying `pred`. */
  wait(what: string, pred: (m: ChildMessage) => boolean, timeoutMs: number): Promise<ChildMessage>;
  /** A clean exit (closes sockets and the spool). */
  quit(): Promise<void>;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
}

/** Starts the child in `ns` with `config` (written to `dir/name.json`). */
export async function startRadiusChild(ns: string, dir: string, name: string, config: Omit<RadiusChildConfig, 'control'>): Promise<RadiusChild> {
  const control = join(dir, `${name}.sock`);
  const cfgPath = join(dir, `${name}.json`);
  writeFileSync(cfgPath, JSON.stringify(toWire({ ...config, control })), { mode: 0o600 });
  const script = join(dirname(fileURLToPath(import.meta.url)), 'radius-child.js');
  const proc = spawnIn(ns, process.execPath, [script, cfgPath], { name: `radius-child ${name}@${ns}`, lifetimeMs: 600_000, logFile: join(dir, `${name}.log`) });
  const ready = await proc.waitForOutput(/radius-child ready pid \d+ restored (\d+)/, 20_000);
  const sock: Socket = await new Promise((resolve, reject) => {
    const s = connect(control, () => resolve(s));
    s.once('error', reject);
  });
  const messages: ChildMessage[] = [];
  const pending = new Map<number, (m: ChildMessage) => void>();
  let buf = '';
  sock.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const m = fromWire(JSON.parse(buf.slice(0, i))) as ChildMessage;
      buf = buf.slice(i + 1);
      messages.push(m);
      if (m.reply !== undefined) {
        pending.get(m.reply)?.(m);
        pending.delete(m.reply);
      }
    }
  });
  sock.on('error', () => undefined);
  let next = 1;
  const call = (op: string, extra: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<ChildMessage> =>
    new Promise((resolve, reject) => {
      const id = next++;
      const t = setTimeout(() => reject(new Error(`radius-child ${name}: no reply to ${op}\n${tail(proc.output(), 20)}`)), timeoutMs);
      pending.set(id, (m) => {
        clearTimeout(t);
        resolve(m);
      });
      sock.write(`${JSON.stringify(toWire({ id, op, ...extra }))}\n`);
    });
  return {
    proc,
    restored: Number(ready[1]),
    messages,
    auth: async (request) => (await call('auth', { request })).answer as RadiusAuthAnswer,
    acct: async (record) => (await call('acct', { record })).result as { ok: boolean },
    snapshot: async () => (await call('snapshot')) as unknown as { snapshot: RadiusClientSnapshot; spoolPending?: number },
    flush: async () => {
      await call('flush');
    },
    wait: (what, pred, timeoutMs) => waitUntil(`radius-child ${name}: ${what}`, () => messages.find(pred), timeoutMs, () => tail(proc.output(), 20)),
    quit: async () => {
      if (!proc.running()) return;
      await call('quit', {}, 10_000).catch(() => undefined);
      sock.destroy();
      await proc.stop(3000);
    },
    kill: async () => {
      sock.destroy();
      if (proc.running()) process.kill(proc.pid, 'SIGKILL');
      await proc.exited;
    },
  };
}
