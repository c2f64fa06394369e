/**
 * Value types of the config schema: each turns one TOML value into a typed value (or the error
 * message shown with the key and line) and back into TOML text (docs/CONFIG.md defaults,
 * `--print-config`). Values are parsed once here; the cores take them as they are.
 */
import { type Duration, err, formatIpv4, formatIpv4Prefix, formatIpv6Prefix, type Ipv4Prefix, type Ipv6Prefix, ok, parseIpv4, parseIpv4Prefix, parseIpv6Prefix, type Result, seconds as secondsOf } from '../../base/index.js';
import { isIP } from 'node:net';
import { parseEspProposal, parseIkeProposal, parseProposalList, type Phase1Suite, type Phase2Suite } from '../../ipsec/index.js';

/** How one TOML value is read and written. Method syntax: a `ValueType<string>` is a `ValueType<unknown>`. */
export interface ValueType<T> {
  /** The type as docs/CONFIG.md names it ("integer 1..65535", "seconds", "IPv4 prefix"). */
  readonly name: string;
  /** TOML value -> typed value, or the error message. */
  parse(v: unknown): Result<T, string>;
  /** Typed value -> TOML text; undefined = the value has no TOML form (write no key). */
  format(v: T): string | undefined;
}

const str = (s: string): string => JSON.stringify(s);
const list = (xs: readonly string[]): string => `[${xs.map(str).join(', ')}]`;
const num = (n: number): string => String(n);
const isStrList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x): x is string => typeof x === 'string');

/** A non-empty string. */
export const text: ValueType<string> = {
  name: 'string',
  parse: (v) => (typeof v !== 'string' ? err('expected a string') : v.length === 0 ? err('must not be empty') : ok(v)),
  format: str,
};

/** A string; "" = not set. */
export const optText: ValueType<string | undefined> = {
  name: 'string ("" = none)',
  parse: (v) => (typeof v !== 'string' ? err('expected a string') : ok(v === '' ? undefined : v)),
  format: (v) => str(v ?? ''),
};

/** true / false. */
export const bool: ValueType<boolean> = {
  name: 'boolean',
  parse: (v) => (typeof v === 'boolean' ? ok(v) : err('expected true or false')),
  format: String,
};

/** An integer in min..max. */
export function int(min: number, max: number): ValueType<number> {
  return {
    name: `integer ${min}..${max}`,
    parse: (v) =>
      typeof v !== 'number' || !Number.isInteger(v) ? err('expected an integer') : v < min || v > max ? err(`must be between ${min} and ${max}`) : ok(v),
    format: num,
  };
}

/** A UDP port; `min` 0 allows "any free port". */
export const port = (min: 0 | 1): ValueType<number> => ({ ...int(min, 65535), name: min === 0 ? 'UDP port (0 = any free port)' : 'UDP port' });

function secondsIn(min: number, max: number, v: unknown): Result<number, string> {
  if (typeof v !== 'number' || !Number.isFinite(v)) return err('expected a number');
  return v < min || v > max ? err(`must be between ${min} and ${max}`) : ok(v);
}

/** Seconds (fractions allowed) in min..max, as a Duration. */
export function seconds(min: number, max: number): ValueType<Duration> {
  return {
    name: `seconds ${min}..${max}`,
    parse: (v) => {
      const r = secondsIn(min, max, v);
      return r.ok ? ok(secondsOf(r.value)) : r;
    },
    format: (d) => num(d / 1000),
  };
}

/** Seconds in 0..max where 0 means never (undefined). */
export function secondsOrNever(max: number): ValueType<Duration | undefined> {
  return {
    name: `seconds 0..${max} (0 = never)`,
    parse: (v) => {
      const r = secondsIn(0, max, v);
      return r.ok ? ok(r.value === 0 ? undefined : secondsOf(r.value)) : r;
    },
    format: (d) => num((d ?? 0) / 1000),
  };
}

/** An IPv4 or IPv6 literal (its family picks udp4 / udp6). */
export const ipAddress: ValueType<string> = {
  name: 'IP address',
  parse: (v) => (typeof v === 'string' && isIP(v) !== 0 ? ok(v) : err('expected an IPv4 or IPv6 address')),
  format: str,
};

/** An IP literal or "" (none). */
export const optIpAddress: ValueType<string | undefined> = {
  name: 'IP address ("" = any)',
  parse: (v) => (v === '' ? ok(undefined) : typeof v === 'string' && isIP(v) !== 0 ? ok(v) : err('expected an IPv4 or IPv6 address (or "")')),
  format: (v) => str(v ?? ''),
};

/** A dotted-quad IPv4 address kept as text (socket addresses, PSK lookup by peer address). */
export const ipv4Text: ValueType<string> = {
  name: 'IPv4 address',
  parse: (v) => (typeof v === 'string' && parseIpv4(v) !== undefined ? ok(v) : err('expected an IPv4 address')),
  format: str,
};

/** A dotted-quad IPv4 address as a host-order number (what the cores compute with). */
export const ipv4Address: ValueType<number> = {
  name: 'IPv4 address',
  parse: (v) => {
    const a = typeof v === 'string' ? parseIpv4(v) : undefined;
    return a !== undefined ? ok(a) : err('expected an IPv4 address');
  },
  format: (a) => str(formatIpv4(a)),
};

/** A list of IPv4 addresses (IPCP DNS / NBNS, RFC 1877). */
export const ipv4List: ValueType<readonly string[]> = {
  name: 'list of IPv4 addresses',
  parse: (v) => (isStrList(v) && v.every((x) => parseIpv4(x) !== undefined) ? ok(v) : err('expected an array of IPv4 addresses')),
  format: list,
};

/** A list of strings. */
export const textList: ValueType<readonly string[]> = {
  name: 'list of strings',
  parse: (v) => (isStrList(v) ? ok(v) : err('expected an array of strings')),
  format: list,
};


/** An address pool prefix: /30 or shorter (network, LNS and at least one client). */
export const ipv4Pool: ValueType<Ipv4Prefix> = {
  name: 'IPv4 prefix',
  parse: (v) => {
    if (typeof v !== 'string') return err('expected a string like "100.64.0.0/24"');
    const r = parseIpv4Prefix(v);
    if (!r.ok) return err(r.error);
    return r.value.length > 30 ? err('prefix must be /30 or shorter (network, LNS and at least one client)') : ok(r.value);
  },
  format: (p) => str(formatIpv4Prefix(p)),
};

/** An IPv6 prefix of /64 or shorter, or "" (off). */
export const optIpv6Prefix: ValueType<Ipv6Prefix | undefined> = {
  name: 'IPv6 prefix ("" = off)',
  parse: (v) => {
    if (v === '') return ok(undefined);
    if (typeof v !== 'string') return err('expected a string like "2001:db8:100::/56"');
    const r = parseIpv6Prefix(v);
    return r.ok ? ok(r.value) : err(r.error);
  },
  format: (p) => str(p === undefined ? '' : formatIpv6Prefix(p)),
};

/** `ADDRESS:PORT` (IPv6 in brackets) or "" (off). */
export const optHostPort: ValueType<{ readonly host: string; readonly port: number } | undefined> = {
  name: '"ADDRESS:PORT" ("" = off)',
  parse: (v) => {
    if (typeof v !== 'string') return err('expected a string');
    if (v === '') return ok(undefined);
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(v);
    const host = m?.[1] ?? m?.[2];
    const p = Number(m?.[3]);
    if (host === undefined || isIP(host) === 0 || !(p >= 0 && p <= 65535)) return err('expected "ADDRESS:PORT" (e.g. "127.0.0.1:9101" or "[::1]:9101") or ""');
    return ok({ host, port: p });
  },
  format: (v) => str(v === undefined ? '' : v.host.includes(':') ? `[${v.host}]:${v.port}` : `${v.host}:${v.port}`),
};

/** One of a fixed set of strings; `message` lists them as the error says. */
export function oneOf<T extends string>(values: readonly T[], message: string): ValueType<T> {
  return {
    name: values.map(str).join(' | '),
    parse: (v) => (typeof v === 'string' && (values as readonly string[]).includes(v) ? ok(v as T) : err(message)),
    format: str,
  };
}

/** A list of distinct names out of `values` (empty allowed). */
export function distinctOf<T extends string>(values: readonly T[], message: string): ValueType<readonly T[]> {
  return {
    name: `list of ${values.map(str).join(', ')}`,
    parse: (v) =>
      isStrList(v) && v.every((x): x is T => (values as readonly string[]).includes(x)) && new Set(v).size === v.length ? ok(v) : err(message),
    format: list,
  };
}

/** A pre-shared key: at least 8 characters (a secret: masked by print-config). */
export const psk: ValueType<string> = {
  name: 'string, 8+ characters',
  parse: (v) => (typeof v !== 'string' ? err('expected a string') : v.length < 8 ? err('a pre-shared key needs at least 8 characters') : ok(v)),
  format: str,
};

/** The status page token: 16..256 printable ASCII characters without blanks (it travels in a header, a URL and a cookie). */
export const statusToken: ValueType<string> = {
  name: 'string, 16+ characters',
  parse: (v) => (typeof v !== 'string' ? err('expected a string') : /^[\x21-\x7e]{16,256}$/.test(v) ? ok(v) : err('a status token needs 16-256 printable characters without blanks')),
  format: str,
};

/** Linux interface names: 1..15 characters, no '/', ':' or whitespace. */
export const ifName: ValueType<string> = {
  name: 'interface name',
  parse: (v) => (typeof v === 'string' && /^[A-Za-z0-9_.-]{1,15}$/.test(v) ? ok(v) : err('expected an interface name (1-15 of A-Z a-z 0-9 _ . -)')),
  format: str,
};

/** A network namespace name or "" (none). */
export const optNetns: ValueType<string | undefined> = {
  name: 'netns name ("" = none)',
  parse: (v) => (v === '' ? ok(undefined) : typeof v === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(v) ? ok(v) : err('expected a network namespace name')),
  format: (v) => str(v ?? ''),
};

/** RFC 2409 App. A / RFC 5903 group names, as strongSwan spells them (src/ipsec/proposal-names.ts). */
const GROUP_NAMES: Readonly<Record<number, string>> = { 2: 'modp1024', 5: 'modp1536', 14: 'modp2048', 19: 'ecp256', 20: 'ecp384' };
const ESP_INTEGRITY_NAMES: Readonly<Record<string, string>> = { 'hmac-sha1-96': 'sha1', 'hmac-sha256-128': 'sha256', 'hmac-sha384-192': 'sha384', 'hmac-sha512-256': 'sha512' };

/** A list of proposal names parsed by `one`; errors name the entry (`entry 2: "aes256": ...`). */
function proposalList<T>(v: unknown, one: (name: string) => Result<T, string>, example: string): Result<readonly T[], string> {
  if (!isStrList(v)) return err(`expected an array of strings like ${example}`);
  const r = parseProposalList(v, one);
  return r.ok ? ok(r.value) : err(`entry ${r.error.index + 1}: ${r.error.message}`);
}

/** `ike_proposals`: strongSwan names, every combination accepted; undefined = the built-in policy. */
export const ikeProposals: ValueType<readonly Phase1Suite[] | undefined> = {
  name: 'list of IKE proposal names',
  parse: (v) => proposalList(v, parseIkeProposal, '"aes256-sha256-modp2048"'),
  format: (v) => (v === undefined ? undefined : list(v.map((s) => [...s.encryption, ...s.hash, ...s.groups.map((g) => GROUP_NAMES[g] ?? `group${g}`)].join('-')))),
};

/** `esp_proposals`: strongSwan names; a group = PFS; undefined = the built-in policy. */
export const espProposals: ValueType<readonly Phase2Suite[] | undefined> = {
  name: 'list of ESP proposal names',
  parse: (v) => proposalList(v, parseEspProposal, '"aes128gcm16" or "aes256-sha1"'),
  format: (v) =>
    v === undefined
      ? undefined
      : list(
          v.map((s) =>
            [
              ...s.encryption.map((e) => e.replace('-gcm16', 'gcm16').replace('-cbc', '')),
              ...s.integrity.map((i) => ESP_INTEGRITY_NAMES[i] ?? i),
              ...s.pfsGroups.map((g) => GROUP_NAMES[g] ?? `group${g}`),
            ].join('-'),
          ),
        ),
};

/** Any string, "" included (a password may be empty). */
export const anyText: ValueType<string> = {
  name: 'string',
  parse: (v) => (typeof v === 'string' ? ok(v) : err('expected a string')),
  format: str,
};

/** `t`, with no value when the key is absent (the default is computed, or there is none). */
export function optional<T>(t: ValueType<T>): ValueType<T | undefined> {
  return {
    name: t.name,
    parse: (v) => t.parse(v),
    format: (v) => (v === undefined ? undefined : t.format(v)),
  };
}

/** An IPv6 address kept as text, or "" (none). */
export const optIpv6Text: ValueType<string | undefined> = {
  name: 'IPv6 address ("" = none)',
  parse: (v) => (v === '' ? ok(undefined) : typeof v === 'string' && isIP(v) === 6 ? ok(v) : err('expected an IPv6 address (or "")')),
  format: (v) => str(v ?? ''),
};

/** An IPv4 address, an IPv4 prefix ("198.51.100.0/24") or an IPv6 address: a source allow-list entry. */
export const ipOrIpv4Prefix: ValueType<string> = {
  name: 'IP address or IPv4 prefix',
  parse: (v) => {
    if (typeof v !== 'string') return err('expected a string like "198.51.100.7" or "198.51.100.0/24"');
    if (isIP(v) !== 0) return ok(v);
    const r = parseIpv4Prefix(v);
    return r.ok ? ok(v) : err(`expected an IP address or an IPv4 prefix: ${r.error}`);
  },
  format: str,
};

/** A UDP listen address `ADDRESS:PORT` (IPv6 in brackets). */
export const hostPort: ValueType<{ readonly host: string; readonly port: number }> = {
  name: '"ADDRESS:PORT"',
  parse: (v) => {
    const r = optHostPort.parse(v);
    if (!r.ok) return r;
    return r.value === undefined ? err('expected "ADDRESS:PORT", e.g. "0.0.0.0:3799"') : ok(r.value);
  },
  format: (v) => optHostPort.format(v),
};

/** A shared secret: at least one character (a secret: masked by print-config). */
export const sharedSecret: ValueType<string> = {
  name: 'string, not empty',
  parse: (v) => (typeof v !== 'string' ? err('expected a string') : v.length === 0 ? err('a shared secret must not be empty') : ok(v)),
  format: str,
};
