/**
 * The daemon's pino logger: JSON lines by default, or a small built-in "pretty" formatter
 * (`HH:MM:SS.mmm INFO  message key=value`, with AVP lines indented below their message).
 */
import pino from 'pino';

/** The logger type used across the daemon. */
export type Logger = pino.Logger;

/** Output format of the log. */
export type LogFormat = 'json' | 'pretty';

/** Options of createLogger. */
export interface LoggerOptions {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly format: LogFormat;
  /** Where lines go (default stdout). Tests pass a collector. */
  readonly sink?: { write(line: string): void };
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'avps']);

/** Turn one pino JSON line into the pretty form; non-JSON input is passed through. */
export function prettyLine(json: string): string {
  let o: unknown;
  try {
    o = JSON.parse(json);
  } catch {
    return json;
  }
  if (typeof o !== 'object' || o === null) return json;
  const rec = o as Record<string, unknown>;
  const time = typeof rec['time'] === 'string' ? rec['time'].slice(11, 23) : '';
  const level = (typeof rec['level'] === 'number' ? LEVEL_NAMES[rec['level']] : undefined) ?? String(rec['level']);
  const msg = typeof rec['msg'] === 'string' ? rec['msg'] : '';
  const fields = Object.entries(rec)
    .filter(([k]) => !HIDDEN_FIELDS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  let line = `${time} ${level.padEnd(5)} ${msg}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}\n`;
  const avps = rec['avps'];
  if (Array.isArray(avps)) for (const a of avps) line += `${' '.repeat(time.length + 7)}  ${String(a)}\n`;
  return line;
}

/** Field names that are never written. */
const REDACTED = ['password', 'psk', 'secret', '*.password', '*.psk', '*.secret'];

/** Create the daemon logger. */
export function createLogger(options: LoggerOptions): Logger {
  const sink = options.sink ?? {
    write: (s: string): void => {
      process.stdout.write(s);
    },
  };
  const stream =
    options.format === 'pretty'
      ? {
          write: (s: string): void => {
            sink.write(prettyLine(s));
          },
        }
      : sink;
  // Defence in depth: secrets are never passed as log fields (banner.ts, ipsec-shell.ts withoutKeys,
  // event-log.ts avpLines); should one slip in under a usual name, it is removed here.
  return pino({ level: options.level, base: null, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACTED, remove: true } }, stream);
}
