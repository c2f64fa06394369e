/**
 * The PPP load client (bench/lib/ppp-load.ts) as a child process, so it can run inside a network
 * namespace (`ip netns exec NS node ppp-load-child.js`). One JSON request per stdin line, one JSON
 * response per stdout line (`{"ok":true,"result":...}` or `{"ok":false,"error":"..."}`), in order:
 *
 *   {"cmd":"open","address":"198.18.0.1","tuning":{...}}
 *   {"cmd":"dial","peer":"198.18.0.2","port":1701,"tunnels":4,"sessions":1000,"window":64,
 *    "timeoutMs":120000,"userPrefix":"u","password":"p"}      -> DialResult (user i = userPrefix+i, password+i)
 *   {"cmd":"ping","indexes":[0,50],"dst":"203.0.113.10","count":3,"timeoutMs":20000}  -> PingResult[]
 *   {"cmd":"hangup","timeoutMs":60000}                       -> { down, left }
 *   {"cmd":"close-tunnels","timeoutMs":20000}                -> { open }
 *   {"cmd":"ids","index":0}                                  -> { tunnel, session } (the LNS's ids), { fd }
 *   {"cmd":"lend","argv":["taskset","-c","1","dpgen","count","fd:3",...],"timeoutMs":10000}
 *        with {"cmd":"open","native":true}: pause our socket, run argv with the socket as its fd 3, resume;
 *        -> { code, stdout } (bench/data-plane.ts: the C generator speaks as the session)
 *   {"cmd":"exit"}
 *
 * Exits when stdin closes, on SIGTERM, or after 10 minutes.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PppLoad } from './ppp-load.js';
import type { ChannelTuning } from '../../src/l2tp/index.js';
import { millis } from '../../src/base/time.js';

type Req = Record<string, unknown>;
let load: PppLoad | undefined;

const num = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const str = (v: unknown, d: string): string => (typeof v === 'string' ? v : d);

/** Tuning from JSON numbers (milliseconds for durations). */
function tuningOf(v: unknown): Partial<ChannelTuning> {
  if (typeof v !== 'object' || v === null) return {};
  const o = v as Record<string, unknown>;
  const out: { -readonly [K in keyof ChannelTuning]?: ChannelTuning[K] } = {};
  if (typeof o['retransmitInitial'] === 'number') out.retransmitInitial = millis(o['retransmitInitial']);
  if (typeof o['retransmitCap'] === 'number') out.retransmitCap = millis(o['retransmitCap']);
  if (typeof o['helloInterval'] === 'number') out.helloInterval = millis(o['helloInterval']);
  if (typeof o['receiveWindow'] === 'number') out.receiveWindow = o['receiveWindow'];
  return out;
}

async function handle(r: Req): Promise<unknown> {
  switch (r['cmd']) {
    case 'open':
      load = await PppLoad.open({ address: str(r['address'], '0.0.0.0'), tuning: tuningOf(r['tuning']), native: r['native'] === true });
      return { local: load.endpoint.label };
    case 'dial': {
      if (load === undefined) throw new Error('open first');
      const peer = { address: str(r['peer'], '127.0.0.1'), port: num(r['port'], 1701), family: 4 as const };
      const timeoutMs = num(r['timeoutMs'], 120_000);
      const tunnels = await load.openTunnels(peer, num(r['tunnels'], 1), Math.min(timeoutMs, 30_000));
      const prefix = str(r['userPrefix'], 'u');
      const pw = str(r['password'], 'p');
      return load.dial(tunnels, num(r['sessions'], 1), num(r['window'], 32), timeoutMs, (i) => ({ username: `${prefix}${i}`, password: `${pw}${i}` }));
    }
    case 'ping': {
      if (load === undefined) throw new Error('open first');
      const idx = Array.isArray(r['indexes']) ? r['indexes'].filter((x): x is number => typeof x === 'number') : [];
      return load.ping(idx, str(r['dst'], '203.0.113.10'), num(r['count'], 3), num(r['timeoutMs'], 20_000));
    }
    case 'hangup':
      if (load === undefined) throw new Error('open first');
      return load.hangupAll(num(r['timeoutMs'], 60_000), num(r['count'], Infinity));
    case 'close-tunnels':
      if (load === undefined) throw new Error('open first');
      return { open: await load.closeTunnels(num(r['timeoutMs'], 20_000)) };
    case 'ids': {
      if (load === undefined) throw new Error('open first');
      const ids = load.remoteIds(num(r['index'], 0));
      if (ids === undefined) throw new Error('no such session');
      return { ...ids, port: load.endpoint.local.port };
    }
    case 'lend':
      return lend(r);
    case 'exit':
      await load?.close();
      setImmediate(() => process.exit(0));
      return 'bye';
    default:
      throw new Error(`unknown cmd ${String(r['cmd'])}`);
  }
}

/** Run a C tool with our (paused) native socket as its fd 3. */
async function lend(r: Req): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const sock = load?.endpoint.nativeSocket;
  if (sock === undefined) throw new Error('open with native: true first');
  const argv = Array.isArray(r['argv']) ? r['argv'].filter((x): x is string => typeof x === 'string') : [];
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('argv');
  sock.pause();
  try {
    return await new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe', sock.fd] });
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const t = setTimeout(() => child.kill('SIGKILL'), num(r['timeoutMs'], 20_000));
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(t);
        resolve({ code, stdout, stderr });
      });
    });
  } finally {
    sock.resume();
  }
}

let chain: Promise<void> = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  chain = chain.then(async () => {
    let out: unknown;
    try {
      const req: unknown = JSON.parse(line);
      if (typeof req !== 'object' || req === null) throw new Error('expected an object');
      out = { ok: true, result: await handle(req as Req) };
    } catch (e) {
      out = { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    process.stdout.write(`${JSON.stringify(out)}\n`);
  });
});
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
setTimeout(() => process.exit(3), 600_000).unref();
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
