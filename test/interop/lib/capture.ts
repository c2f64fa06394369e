/**
 * tshark captures and their verdict. A capture runs inside a namespace on one interface (normally the
 * bridge of the topology, so it sees every peer) with a BPF filter, stops by itself after `maxSeconds`,
 * and is judged afterwards with tshark's own dissector: malformed frames (`-Y _ws.malformed`) and the
 * expert summary (`-q -z expert`, Errors and Warns sections).
 */
import { statSync } from 'node:fs';
import { run, tail } from './host.js';
import { spawnIn, type ManagedProcess } from './process.js';

/** A running capture. */
export interface Capture {
  readonly file: string;
  readonly proc: ManagedProcess;
  /** Lets in-flight packets land, stops tshark (SIGINT, it flushes the file) and waits for it. */
  stop(): Promise<void>;
}

/** Options for {@link startCapture}. */
export interface CaptureOptions {
  /** BPF capture filter (default `udp port 1701`). */
  readonly filter?: string;
  /** tshark stops by itself after this many seconds (default 300). */
  readonly maxSeconds?: number;
}

/** Starts `tshark -i iface -f filter -w file` in namespace `ns`; resolves once tshark is capturing. */
export async function startCapture(ns: string, iface: string, file: string, opts: CaptureOptions = {}): Promise<Capture> {
  const maxSeconds = opts.maxSeconds ?? 300;
  const proc = spawnIn(
    ns,
    'tshark',
    ['-i', iface, '-q', '-n', '-F', 'pcap', '-f', opts.filter ?? 'udp port 1701', '-a', `duration:${maxSeconds}`, '-w', file],
    { name: `tshark ${iface}@${ns}`, lifetimeMs: (maxSeconds + 30) * 1000 },
  );
  await proc.waitForOutput(/Capturing on/, 15_000);
  await waitForPcapHeader(proc, file, 15_000);
  return {
    file,
    proc,
    async stop(): Promise<void> {
      if (!proc.running()) return;
      await new Promise((r) => setTimeout(r, 400));
      try {
        process.kill(proc.pid, 'SIGINT');
      } catch {
        // already gone
      }
      const t = setTimeout(() => void proc.stop(1000), 5000);
      await proc.exited;
      clearTimeout(t);
    },
  };
}

/** pcap global header length: dumpcap writes it once the interface is open and the filter attached. */
const PCAP_HEADER_BYTES = 24;

/**
 * tshark prints "Capturing on" before it even starts dumpcap, so that line is no readiness signal (a CI
 * run lost the first five messages of an exchange to it). dumpcap writes the file's global header only
 * after the capture handle is activated with its BPF filter: wait for those bytes, then a short settle.
 */
async function waitForPcapHeader(proc: ManagedProcess, file: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let size = 0;
    try {
      size = statSync(file).size;
    } catch {
      // not created yet
    }
    if (size >= PCAP_HEADER_BYTES) break;
    if (!proc.running()) throw new Error(`tshark exited before capturing: ${tail(proc.output(), 10)}`);
    if (Date.now() > deadline) throw new Error(`tshark did not open ${file} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 150));
}

/** tshark's verdict on one capture file. */
export interface CaptureReport {
  readonly file: string;
  readonly packets: number;
  /** Frames matching `_ws.malformed`. */
  readonly malformed: number;
  /** Sum of the Errors section of `-z expert`. */
  readonly errors: number;
  /** Sum of the Warns section of `-z expert`. */
  readonly warnings: number;
  /** Error and warning item lines (`frequency group protocol summary`). */
  readonly messages: readonly string[];
  /** The whole `-z expert` output. */
  readonly expertSummary: string;
  /** One line per packet (`tshark -r file`). */
  readonly listing: string;
}

/** Expert-info counts parsed from `tshark -q -z expert` output. */
export interface ExpertCounts {
  readonly errors: number;
  readonly warnings: number;
  readonly messages: readonly string[];
}

/** Parses the `-z expert` text: section headers `Errors (N)` / `Warns (N)` and their item lines. */
export function parseExpertSummary(text: string): ExpertCounts {
  let errors = 0;
  let warnings = 0;
  const messages: string[] = [];
  let section: 'error' | 'warn' | 'other' | undefined;
  for (const line of text.split('\n')) {
    const h = /^(Errors|Warns|Notes|Chats|Comments)\s*\((\d+)\)/.exec(line);
    if (h) {
      section = h[1] === 'Errors' ? 'error' : h[1] === 'Warns' ? 'warn' : 'other';
      if (section === 'error') errors += Number(h[2]);
      if (section === 'warn') warnings += Number(h[2]);
      continue;
    }
    if ((section === 'error' || section === 'warn') && /^\s+\d+\s+\S/.test(line)) {
      messages.push(`${section === 'error' ? 'ERROR' : 'WARN'} ${line.trim().replace(/\s+/g, ' ')}`);
    }
  }
  return { errors, warnings, messages };
}

/** Runs tshark over a finished capture and counts malformed frames and error/warning expert items. */
export async function analyzeCapture(file: string, tsharkOpts: readonly string[] = []): Promise<CaptureReport> {
  const T = (args: readonly string[]): Promise<string> =>
    run('tshark', ['-n', '-r', file, ...tsharkOpts, ...args], { timeoutMs: 60_000 }).then((r) => r.stdout);
  const listing = await T([]);
  const malformedOut = await T(['-Y', '_ws.malformed']);
  const expertSummary = await T(['-q', '-z', 'expert']);
  const counts = parseExpertSummary(expertSummary);
  const lines = (s: string): number => s.split('\n').filter((l) => l.trim() !== '').length;
  return {
    file,
    packets: lines(listing),
    malformed: lines(malformedOut),
    errors: counts.errors,
    warnings: counts.warnings,
    messages: counts.messages,
    expertSummary,
    listing,
  };
}

/** True when the capture has no malformed frame and no error or warning expert item. */
export function isClean(r: CaptureReport): boolean {
  return r.malformed === 0 && r.errors === 0 && r.warnings === 0;
}

/** One-line verdict plus, when not clean, the expert summary and the packet listing. */
export function describeReport(r: CaptureReport): string {
  const head = `${r.file}: ${r.packets} packets, ${r.malformed} malformed, ${r.errors} error and ${r.warnings} warning expert items`;
  if (isClean(r)) return head;
  return `${head}\n-- tshark -q -z expert:\n${r.expertSummary.trim()}\n-- packets:\n${tail(r.listing, 60)}`;
}

/** RFC 2661 §3.2 message type numbers, as tshark prints them in `l2tp.avp.message_type`. */
export const MESSAGE_NAMES: Readonly<Record<number, string>> = {
  1: 'SCCRQ', 2: 'SCCRP', 3: 'SCCCN', 4: 'StopCCN', 6: 'HELLO', 7: 'OCRQ', 8: 'OCRP', 9: 'OCCN',
  10: 'ICRQ', 11: 'ICRP', 12: 'ICCN', 14: 'CDN', 15: 'WEN', 16: 'SLI',
};

/** One L2TP packet of a capture as decoded by tshark. */
export interface CapturedMessage {
  readonly frame: number;
  readonly src: string;
  readonly dst: string;
  /** Message name (`SCCRQ`, `CDN`, ...), `ZLB` for an empty control message, `DATA` for data. */
  readonly name: string;
  readonly tunnelId: number;
  readonly sessionId: number;
  readonly ns: number | undefined;
  readonly nr: number | undefined;
  /** Attribute types of the AVPs, in order. */
  readonly avpTypes: readonly number[];
  /** Number of AVPs with the H bit set. */
  readonly hiddenAvps: number;
  /** Result Code of a StopCCN/CDN, when tshark could read it. */
  readonly resultCode: number | undefined;
}

const num = (s: string | undefined): number | undefined => (s === undefined || s === '' ? undefined : Number(s.split(',')[0]));
const list = (s: string | undefined): string[] => (s === undefined || s === '' ? [] : s.split(','));

/** Lists the L2TP packets of a capture (tshark fields), for assertions on what went over the wire. */
export async function listL2tpMessages(file: string, tsharkOpts: readonly string[] = []): Promise<CapturedMessage[]> {
  const fields = [
    'frame.number', 'ip.src', 'ip.dst', 'l2tp.type', 'l2tp.tunnel', 'l2tp.session', 'l2tp.Ns', 'l2tp.Nr',
    'l2tp.avp.message_type', 'l2tp.avp.type', 'l2tp.avp.hidden', 'l2tp.result_code',
  ];
  const r = await run(
    'tshark',
    ['-n', '-r', file, ...tsharkOpts, '-Y', 'l2tp', '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,', ...fields.flatMap((f) => ['-e', f])],
    { timeoutMs: 60_000 },
  );
  const out: CapturedMessage[] = [];
  for (const line of r.stdout.split('\n')) {
    if (line.trim() === '') continue;
    const c = line.split('|');
    const isControl = c[3] === '1' || c[3] === 'True';
    const mt = num(c[8]);
    const name = !isControl ? 'DATA' : mt === undefined ? 'ZLB' : (MESSAGE_NAMES[mt] ?? `type${mt}`);
    out.push({
      frame: Number(c[0]),
      src: c[1] ?? '',
      dst: c[2] ?? '',
      name,
      tunnelId: num(c[4]) ?? 0,
      sessionId: num(c[5]) ?? 0,
      ns: num(c[6]),
      nr: num(c[7]),
      avpTypes: list(c[9]).map(Number),
      hiddenAvps: list(c[10]).filter((h) => h === '1' || h === 'True').length,
      resultCode: num(c[11]),
    });
  }
  return out;
}

/** Compact `src>dst NAME` listing of messages, for failure messages. */
export function formatMessages(msgs: readonly CapturedMessage[]): string {
  return msgs
    .map((m) => `#${m.frame} ${m.src}>${m.dst} ${m.name} t=${m.tunnelId} s=${m.sessionId} ns=${String(m.ns)} nr=${String(m.nr)}${m.hiddenAvps ? ` hidden=${m.hiddenAvps}` : ''}${m.resultCode !== undefined ? ` result=${m.resultCode}` : ''}`)
    .join('\n');
}
