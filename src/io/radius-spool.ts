/**
 * The on-disk accounting spool: an append-only file of lines, one per record or acknowledgement,
 * each with a checksum, written and fsync'ed per batch. After a restart `open` reads it back and
 * returns every record never acknowledged, in sequence order, for `RadiusClient.restoreAccounting`.
 *
 *   R <sha1-8> {"seq":12,"record":{...}}      a record (JSON, octet strings as {"hex": ...})
 *   A <sha1-8> 12,13,17                        records answered by a server
 *
 * A torn last line (crash during a write) or a damaged line fails its checksum and is skipped and
 * counted. The file is bounded (`maxBytes`): when a batch would not fit, the file is first compacted
 * (rewritten with only the pending records: temp file, fsync, rename, fsync of the directory); if
 * it still does not fit, `append` throws {@link RadiusSpoolFullError} and nothing is written.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type AccountingSeq, decodeSpooledRecord, encodeSpooledRecord, type SpooledRecord } from '../aaa/radius/index.js';

/** Options of a spool. */
export interface RadiusSpoolOptions {
  /** The spool file (created if missing). */
  readonly path: string;
  /** Largest file size in octets (default 64 MiB). */
  readonly maxBytes?: number;
  /** fsync after every batch (default true; tests of throughput may turn it off). */
  readonly fsync?: boolean;
}

/** What `open` found. */
export interface RadiusSpoolContents {
  readonly spool: RadiusSpool;
  /** Records never acknowledged, by sequence number. */
  readonly records: readonly SpooledRecord[];
  /** Lines skipped because their checksum or content was bad. */
  readonly damaged: number;
}

/** The spool is full even after compaction. */
export class RadiusSpoolFullError extends Error {
  constructor(
    readonly bytes: number,
    readonly maxBytes: number,
    readonly pending: number,
  ) {
    super(`RADIUS accounting spool full: ${bytes} of ${maxBytes} octets in use by ${pending} unanswered records`);
    this.name = 'RadiusSpoolFullError';
  }
}

const sum = (text: string): string => createHash('sha1').update(text).digest('hex').slice(0, 8);
const line = (kind: 'R' | 'A', body: string): string => `${kind} ${sum(body)} ${body}\n`;

/** Parse the spool text: pending records by seq, and how many lines were damaged. */
export function parseSpool(text: string): { readonly pending: Map<number, { record: SpooledRecord; size: number }>; readonly damaged: number } {
  const pending = new Map<number, { record: SpooledRecord; size: number }>();
  const acked = new Set<number>();
  let damaged = 0;
  for (const l of text.split('\n')) {
    if (l === '') continue;
    const m = /^([RA]) ([0-9a-f]{8}) (.*)$/.exec(l);
    if (m === null || sum(m[3] as string) !== m[2]) {
      damaged++;
      continue;
    }
    const body = m[3] as string;
    if (m[1] === 'A') {
      for (const s of body.split(',')) if (/^\d+$/.test(s)) acked.add(Number(s));
      continue;
    }
    const r = decodeSpooledRecord(body);
    if (!r.ok) {
      damaged++;
      continue;
    }
    pending.set(r.value.seq, { record: r.value, size: Buffer.byteLength(l) + 1 });
  }
  for (const s of acked) pending.delete(s);
  return { pending, damaged };
}

/** An open spool. Calls must not overlap (the shell runs them one after another). */
export class RadiusSpool {
  private readonly maxBytes: number;
  private readonly sync: boolean;
  private fh: FileHandle;
  private bytes: number;
  /** Live octets: lines of records not yet acknowledged. */
  private live: number;
  private readonly sizes: Map<number, number>;

  private constructor(
    private readonly path: string,
    o: RadiusSpoolOptions,
    fh: FileHandle,
    bytes: number,
    sizes: Map<number, number>,
  ) {
    this.maxBytes = o.maxBytes ?? 64 * 1024 * 1024;
    this.sync = o.fsync ?? true;
    this.fh = fh;
    this.bytes = bytes;
    this.sizes = sizes;
    this.live = [...sizes.values()].reduce((a, b) => a + b, 0);
  }

  /** Open (or create) the spool, read what an earlier run left, and compact it. */
  static async open(o: RadiusSpoolOptions): Promise<RadiusSpoolContents> {
    let text = '';
    try {
      text = await readFile(o.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const { pending, damaged } = parseSpool(text);
    const records = [...pending.values()].map((p) => p.record).sort((a, b) => a.seq - b.seq);
    const sizes = new Map<number, number>();
    const body = records
      .map((r) => {
        const l = line('R', encodeSpooledRecord(r));
        sizes.set(r.seq, Buffer.byteLength(l));
        return l;
      })
      .join('');
    rewrite(o.path, body);
    const fh = await open(o.path, 'a');
    return { spool: new RadiusSpool(o.path, o, fh, Buffer.byteLength(body), sizes), records, damaged };
  }

  /** Octets in the file. */
  get size(): number {
    return this.bytes;
  }

  /** Records written and not yet acknowledged. */
  get pending(): number {
    return this.sizes.size;
  }

  /** Append a batch of records (one write, one fsync); throws RadiusSpoolFullError when it cannot fit. */
  async append(records: readonly SpooledRecord[]): Promise<void> {
    if (records.length === 0) return;
    const lines = records.map((r) => line('R', encodeSpooledRecord(r)));
    const add = lines.reduce((n, l) => n + Buffer.byteLength(l), 0);
    if (this.bytes + add > this.maxBytes) await this.compact();
    if (this.bytes + add > this.maxBytes) throw new RadiusSpoolFullError(this.bytes, this.maxBytes, this.sizes.size);
    await this.write(lines.join(''));
    records.forEach((r, i) => {
      const n = Buffer.byteLength(lines[i] as string);
      this.sizes.set(r.seq, n);
      this.live += n;
    });
  }

  /** Record that these records were answered (one write, one fsync); compacts when mostly dead. */
  async acknowledge(seqs: readonly AccountingSeq[]): Promise<void> {
    const known = seqs.filter((s) => this.sizes.has(s));
    if (known.length === 0) return;
    for (const s of known) {
      this.live -= this.sizes.get(s) ?? 0;
      this.sizes.delete(s);
    }
    const l = line('A', known.join(','));
    if (this.bytes + Buffer.byteLength(l) > this.maxBytes) {
      await this.compact();
      return;
    }
    await this.write(l);
    if (this.bytes > 1024 * 1024 && this.live * 4 < this.bytes) await this.compact();
  }

  /** Rewrite the file with only the pending records (crash-safe: temp file, fsync, rename). */
  async compact(): Promise<void> {
    const text = await readFile(this.path, 'utf8');
    const { pending } = parseSpool(text);
    for (const s of [...pending.keys()]) if (!this.sizes.has(s)) pending.delete(s);
    const body = [...pending.values()]
      .sort((a, b) => a.record.seq - b.record.seq)
      .map((p) => line('R', encodeSpooledRecord(p.record)))
      .join('');
    await this.fh.close();
    rewrite(this.path, body);
    this.fh = await open(this.path, 'a');
    this.bytes = Buffer.byteLength(body);
    this.live = this.bytes;
  }

  /** Close the file. */
  async close(): Promise<void> {
    await this.fh.close();
  }

  private async write(text: string): Promise<void> {
    await this.fh.write(text);
    if (this.sync) await this.fh.sync();
    this.bytes += Buffer.byteLength(text);
  }
}

/** Replace `path` by `body` atomically: write a temp file, fsync it, rename it over, fsync the directory. */
function rewrite(path: string, body: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, body);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
