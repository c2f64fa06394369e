/**
 * The lease journal (`[pool] lease_hold`, issue 10): every IPv4 lease and release of the LNS is
 * appended to `leases.journal` in the state directory, so a daemon that restarts after a crash
 * (`kill -9`, power loss: no StopCCN reached the clients) knows which addresses clients of the
 * previous run may still be using, and holds them for `lease_hold` — for their own user only — instead
 * of handing one to somebody else. A clean stop releases every lease (each release is journalled).
 *
 * One record per line (addresses dotted, user names URI-encoded, `-` = none, times in Unix ms):
 *
 *   L <address> <owner> <user> <at>     leased to session <owner> ("tunnel/session")
 *   R <address> <owner>                 released by that session
 *   H <address> <user> <until>          held for <user> until <until> (written when the file is compacted)
 *   U <address>                         the hold ended (ran out, or the user took the address back)
 *
 * A torn last line (the process died mid-write) is ignored. At start the journal is replayed, the
 * leases still open become holds until now + lease_hold, and the file is rewritten with the holds only
 * (a temporary file renamed over it); it is compacted the same way when it grows. The journal keeps
 * no entry per lease in memory (issue 15: ~120 B per session): the file is the record, and a compaction
 * reads it back and writes the lines a replay would keep (`liveLines`).
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { formatIpv4, parseIpv4 } from '../base/index.js';
import type { HeldLease, LeaseObserver } from '../access/index.js';

/** The journal's file name in the state directory. */
export const LEASE_JOURNAL_FILE = 'leases.journal';

/** One address's state after a replay. */
export type JournalEntry =
  | { readonly kind: 'leased'; readonly address: number; readonly owner: string; readonly username: string | undefined; readonly at: number }
  | { readonly kind: 'held'; readonly address: number; readonly username: string | undefined; readonly until: number };

/** A hold with its end (Unix ms). */
export interface TimedHold extends HeldLease {
  readonly until: number;
}

const enc = (u: string | undefined): string => (u === undefined ? '-' : encodeURIComponent(u));
const dec = (s: string): string | undefined => {
  if (s === '-') return undefined;
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
};

/** The journal line of `e`. */
export function journalLine(e: JournalEntry): string {
  const a = formatIpv4(e.address);
  return e.kind === 'leased' ? `L ${a} ${e.owner} ${enc(e.username)} ${e.at}\n` : `H ${a} ${enc(e.username)} ${e.until}\n`;
}

/** Replay journal text: what each address is at the end; `bad` counts lines that were skipped. */
export function replayJournal(text: string): { entries: Map<number, JournalEntry>; bad: number } {
  const entries = new Map<number, JournalEntry>();
  let bad = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const f = line.split(' ');
    const address = parseIpv4(f[1] ?? '');
    const t = Number(f[4] ?? f[3]);
    if (address === undefined) {
      bad++;
      continue;
    }
    const cur = entries.get(address);
    if (f[0] === 'L' && f.length === 5 && f[2] !== undefined && Number.isFinite(t)) entries.set(address, { kind: 'leased', address, owner: f[2], username: dec(f[3] ?? '-'), at: t });
    else if (f[0] === 'H' && f.length === 4 && Number.isFinite(t)) entries.set(address, { kind: 'held', address, username: dec(f[2] ?? '-'), until: t });
    else if (f[0] === 'R' && f.length === 3) {
      if (cur?.kind === 'leased' && cur.owner === f[2]) entries.delete(address);
    } else if (f[0] === 'U' && f.length === 2) {
      if (cur?.kind === 'held') entries.delete(address);
    } else bad++;
  }
  return { entries, bad };
}

/**
 * The holds a daemon starting at `now` keeps: leases still open (their client may be alive) until
 * `now + holdMs`, and holds of an earlier restart that have not run out.
 */
export function holdsAfterRestart(entries: ReadonlyMap<number, JournalEntry>, now: number, holdMs: number): TimedHold[] {
  const out: TimedHold[] = [];
  for (const e of entries.values()) {
    const until = e.kind === 'leased' ? now + holdMs : e.until;
    if (until > now) out.push({ address: e.address, username: e.username, until });
  }
  return out.sort((a, b) => a.until - b.until || a.address - b.address);
}

/**
 * The lines of journal text this process wrote (every line whole and canonical: `journalLine`, `R`, `U`)
 * that a replay keeps, as the lines themselves: the compaction of a running journal. Same result as
 * {@link replayJournal} on such text (a property test holds them together), without decoding every field
 * (about a third of its CPU at 100,000 leases).
 */
export function liveLines(text: string): string[] {
  const live = new Map<string, string>();
  for (let i = 0; i < text.length; ) {
    const end = text.indexOf('\n', i);
    if (end < 0) break; // a torn last line (a write cut short): a replay skips it too
    const line = text.slice(i, end + 1);
    i = end + 1;
    const sp = line.indexOf(' ', 2);
    const address = line.slice(2, sp < 0 ? -1 : sp);
    const kind = line[0];
    if (kind === 'L' || kind === 'H') live.set(address, line);
    else if (kind === 'R') {
      const cur = live.get(address);
      // `L <address> <owner> ...` released by `R <address> <owner>`.
      if (cur?.[0] === 'L' && cur.startsWith(line.slice(0, -1).replace('R', 'L') + ' ')) live.delete(address);
    } else if (kind === 'U' && live.get(address)?.[0] === 'H') live.delete(address);
  }
  return [...live.values()];
}

/** Compact when the file holds this many lines more than there are live entries. */
const COMPACT_SLACK = 20_000;

/** The open journal: a `LeaseObserver` that appends a line per lease, release and hold end. */
export class LeaseJournal implements LeaseObserver {
  private fd: number | undefined;
  /** Lines in the file, and how many of them are live (leases and holds; the address book reports each release and hold end once). */
  private lines = 0;
  private live = 0;
  /** Write errors (the journal goes on in memory; the daemon logs the first). */
  errors = 0;

  private constructor(
    readonly path: string,
    private readonly wallClock: () => number,
    private readonly onError: (e: Error) => void,
  ) {}

  /**
   * Replay `path` (absent = empty), rewrite it with the holds a start at `wallClock()` keeps, and
   * open it for appending. Throws when the file cannot be written.
   */
  static open(path: string, holdMs: number, wallClock: () => number, onError: (e: Error) => void): { journal: LeaseJournal; holds: TimedHold[]; bad: number } {
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    const { entries, bad } = replayJournal(text);
    const holds = holdsAfterRestart(entries, wallClock(), holdMs);
    const j = new LeaseJournal(path, wallClock, onError);
    j.rewrite(holds.map((h) => journalLine({ kind: 'held', ...h })));
    return { journal: j, holds, bad };
  }

  /** Addresses leased or held now: the file replayed. */
  entries(): ReadonlyMap<number, JournalEntry> {
    return replayJournal(readFileSync(this.path, 'utf8')).entries;
  }

  leased(owner: string, address: number, username: string | undefined): void {
    this.live++;
    this.append(journalLine({ kind: 'leased', address, owner, username, at: this.wallClock() }));
  }

  released(owner: string, address: number): void {
    this.live = Math.max(0, this.live - 1);
    this.append(`R ${formatIpv4(address)} ${owner}\n`);
  }

  unheld(address: number): void {
    this.live = Math.max(0, this.live - 1);
    this.append(`U ${formatIpv4(address)}\n`);
  }

  /** Close the file (what was written stays). */
  close(): void {
    if (this.fd === undefined) return;
    try {
      fsyncSync(this.fd);
    } catch {
      // closing anyway
    }
    closeSync(this.fd);
    this.fd = undefined;
  }

  private append(line: string): void {
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, line);
      this.lines++;
      if (this.lines > this.live + COMPACT_SLACK) this.rewrite(liveLines(readFileSync(this.path, 'utf8')));
    } catch (e) {
      if (this.errors++ === 0) this.onError(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Write `live` (the lines of what is leased or held) to a new file, rename it over the journal, and append to it from now on. */
  private rewrite(live: readonly string[]): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, live.join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = openSync(this.path, 'a', 0o600);
    this.lines = live.length;
    this.live = live.length;
  }
}
