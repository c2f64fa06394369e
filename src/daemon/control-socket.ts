/**
 * The control socket: a unix-domain server in l2tpd and a one-shot client for l2tpctl, speaking
 * newline-delimited JSON (control-protocol.ts).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmod, chown, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { err, ok, type Result } from '../base/index.js';
import { parseControlRequest, type ControlRequest, type ControlResponse } from './control-protocol.js';
import { TurnSlicer } from './turn-slicer.js';

/** Longest accepted request line. */
const MAX_LINE = 64 * 1024;

/** Answers one request. */
export type ControlHandler = (request: ControlRequest) => ControlResponse | Promise<ControlResponse>;

/** Who may connect: the socket file's mode and group (the kernel checks them at connect). */
export interface ControlServerAccess {
  /** File mode (default 0o600: root only). */
  readonly mode?: number;
  /** Group id to give the socket (with mode 0o660: its members may connect). */
  readonly gid?: number;
}

/**
 * Listen on `path` (its directory is created 0755 when missing: /run/l2tpd without systemd). A
 * stale socket file (nobody answering) is removed first; a live one is an error ("another l2tpd is
 * running"). The mode and group are set before the first request can be answered.
 */
export async function startControlServer(path: string, handler: ControlHandler, access: ControlServerAccess = {}): Promise<Server> {
  if (await isAlive(path)) throw new Error(`control socket ${path} is in use (is another l2tpd running?)`);
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await unlink(path).catch(() => undefined);
  const server = createServer((conn) => {
    serveConnection(conn, handler);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  try {
    if (access.gid !== undefined) await chown(path, process.getuid?.() ?? 0, access.gid);
    await chmod(path, access.mode ?? 0o600);
  } catch (e) {
    server.close();
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new Error(`control socket ${path}: cannot set its ${access.gid !== undefined ? 'group' : 'mode'} (${code}${code === 'EPERM' ? ': without CAP_CHOWN the daemon must be a member of that group, e.g. SupplementaryGroups= in the unit' : ''})`);
  }
  return server;
}

/** Close the server and remove its socket file. */
export async function stopControlServer(server: Server, path: string): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  await unlink(path).catch(() => undefined);
}

function serveConnection(conn: Socket, handler: ControlHandler): void {
  let buf = '';
  let queue = Promise.resolve();
  conn.setEncoding('utf8');
  conn.on('error', () => undefined);
  conn.on('data', (chunk: string) => {
    buf += chunk;
    if (buf.length > MAX_LINE && !buf.includes('\n')) {
      conn.end(`${JSON.stringify({ ok: false, error: 'request too long' })}\n`);
      buf = '';
      return;
    }
    for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line === '') continue;
      // Answer in order even when a handler is asynchronous.
      queue = queue.then(async () => {
        const res = await answer(line, handler);
        if (!conn.destroyed) await writeResponse(conn, res);
      });
    }
  });
}

/**
 * A `result` array made in pieces (`show sessions` at 100k): {@link writeResponse} writes each piece
 * as it comes (the bytes of `JSON.stringify` of the whole array), so the answer is never held whole.
 */
export class StreamedArray {
  constructor(readonly pieces: () => AsyncIterable<readonly unknown[]>) {}

  /** Every element (tests, in-process callers). */
  async collect(): Promise<unknown[]> {
    const out: unknown[] = [];
    for await (const p of this.pieces()) for (const x of p) out.push(x);
    return out;
  }
}

/** Array elements serialised between two turns of the event loop (a `show sessions` answer at 100k sessions is ~40 MB of JSON). */
export const RESPONSE_CHUNK = 1000;

/**
 * Write `res` as one JSON line. A long `result` array is serialised `chunk` elements at a time with a
 * `setImmediate` turn between (and waiting for 'drain' when the socket buffers are full), so one
 * answer never stalls the loop for seconds; the bytes are those of `JSON.stringify(res)`.
 */
export async function writeResponse(conn: Pick<Socket, 'write' | 'once' | 'destroyed'>, res: ControlResponse, chunk = RESPONSE_CHUNK): Promise<void> {
  const keys = Object.keys(res);
  const result: unknown = res.ok ? res.result : undefined;
  if (result instanceof StreamedArray) return writeStreamed(conn, result, chunk);
  if (!Array.isArray(result) || result.length <= chunk || keys.length !== 2 || keys[0] !== 'ok' || keys[1] !== 'result') {
    conn.write(`${JSON.stringify(res)}\n`);
    return;
  }
  const w = new ArrayWriter(conn, chunk);
  w.begin();
  await w.items(result);
  w.end();
}

/** A {@link StreamedArray} answer: its pieces written as they come; an error before the first piece is an error answer, one after it ends the connection. */
async function writeStreamed(conn: Pick<Socket, 'write' | 'once' | 'destroyed'>, result: StreamedArray, chunk: number): Promise<void> {
  const it = result.pieces()[Symbol.asyncIterator]();
  let next: IteratorResult<readonly unknown[]>;
  try {
    next = await it.next();
  } catch (e) {
    conn.write(`${JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e) })}\n`);
    return;
  }
  const w = new ArrayWriter(conn, chunk);
  w.begin();
  try {
    while (next.done !== true) {
      if (!(await w.items(next.value))) {
        await it.return?.();
        return;
      }
      next = await it.next();
    }
  } catch {
    (conn as Partial<Pick<Socket, 'destroy'>>).destroy?.();
    return;
  }
  w.end();
}

/** Writes `{"ok":true,"result":[...]}` element by element: a quarter chunk serialised at a time, a turn of the loop after `chunk` items or SLICE_BUDGET_MS, 'drain' awaited. */
class ArrayWriter {
  private first = true;
  private readonly slicer: TurnSlicer;
  private readonly piece: number;

  constructor(
    private readonly conn: Pick<Socket, 'write' | 'once' | 'destroyed'>,
    chunk: number,
  ) {
    this.slicer = new TurnSlicer(chunk);
    this.piece = Math.max(1, Math.floor(chunk / 4));
  }

  begin(): void {
    this.conn.write('{"ok":true,"result":[');
  }

  /** Write `items`; false when the connection went away. */
  async items(items: readonly unknown[]): Promise<boolean> {
    const { conn, piece } = this;
    for (let i = 0; i < items.length; i += piece) {
      const part = JSON.stringify(items.slice(i, i + piece));
      const full = !conn.write(`${this.first ? '' : ','}${part.slice(1, -1)}`);
      this.first = false;
      if (conn.destroyed) return false;
      if (full) {
        await new Promise<void>((resolve) => {
          conn.once('drain', () => resolve());
          conn.once('close', () => resolve());
        });
        continue;
      }
      const turn = this.slicer.step(Math.min(piece, items.length - i));
      if (turn !== undefined) await turn;
    }
    return !conn.destroyed;
  }

  end(): void {
    this.conn.write(']}\n');
  }
}

async function answer(line: string, handler: ControlHandler): Promise<ControlResponse> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { ok: false, error: 'request is not JSON' };
  }
  const req = parseControlRequest(v);
  if (!req.ok) return { ok: false, error: req.error };
  try {
    return await handler(req.value);
  } catch (e) {
    return { ok: false, error: `internal error: ${e instanceof Error ? e.message : String(e)}` };
  }
}

async function isAlive(path: string): Promise<boolean> {
  const r = await controlRequest(path, { cmd: 'ping' }, 1000);
  return r.ok;
}

/** Why a request could not be made. */
export interface ControlClientError {
  /** 'connect': no daemon at that path; 'protocol': bad or no answer. */
  readonly kind: 'connect' | 'protocol';
  readonly message: string;
  /** The errno code of a failed connect (`EACCES`, `ENOENT`, `ECONNREFUSED`). */
  readonly code?: string;
}

/** Send one request and wait for its response line. Never throws. */
export async function controlRequest(path: string, request: ControlRequest, timeoutMs = 5000): Promise<Result<ControlResponse, ControlClientError>> {
  return new Promise((resolve) => {
    let connected = false;
    let done = false;
    const finish = (r: Result<ControlResponse, ControlClientError>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const sock = createConnection(path, () => {
      connected = true;
      sock.write(`${JSON.stringify(request)}\n`);
    });
    const timer = setTimeout(() => {
      finish(err({ kind: connected ? 'protocol' : 'connect', message: `no answer on ${path} within ${timeoutMs} ms` }));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('error', (e: NodeJS.ErrnoException) => {
      finish(err({ kind: connected ? 'protocol' : 'connect', message: `cannot connect to ${path}: ${e.code ?? e.message}`, ...(e.code !== undefined ? { code: e.code } : {}) }));
    });
    // The answer arrives in many chunks (40 MB for `show sessions` of 100k): look for the newline in
    // each new chunk only, and join the chunks once (a `buf += chunk` then `indexOf` is quadratic).
    const parts: string[] = [];
    sock.on('data', (chunk: string) => {
      const j = chunk.indexOf('\n');
      if (j === -1) {
        parts.push(chunk);
        return;
      }
      parts.push(chunk.slice(0, j));
      const line = parts.join('');
      parts.length = 0;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        finish(err({ kind: 'protocol', message: 'daemon sent a line that is not JSON' }));
        return;
      }
      if (typeof v === 'object' && v !== null && 'ok' in v) finish(ok(v as ControlResponse));
      else finish(err({ kind: 'protocol', message: 'daemon sent an unexpected answer' }));
    });
    sock.on('close', () => {
      finish(err({ kind: connected ? 'protocol' : 'connect', message: `connection to ${path} closed without an answer` }));
    });
  });
}
